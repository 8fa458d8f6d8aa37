// The Users page: AI usage per resolved user id over the time range (GET /api/v1/users, the
// USERS_SHOWN most recently active), each user linking to their sessions (/sessions?user=).
import { Loaded } from '../components/states';
import { useTimeRange } from '../lib/time';
import { useRangeApi } from '../lib/api';
import { type Column, Table } from '../components/table';
import { formatCost, formatNumber } from '../lib/format';
import { ErrorCount, IndexedFrom, UserLink, When } from './ai/common';
import type { UserUsage, Users } from './ai/types';

import './ai/ai.css';

/** Users asked for: the most recently active first (the API's limit at most). */
const USERS_SHOWN = 1000;

const COLUMNS: Array<Column<UserUsage>> = [
    { key: 'id', label: 'User', render: (r) => <UserLink user={r.id} />, sort: (r) => r.id },
    { key: 'sessions', label: 'Sessions', numeric: true, render: (r) => <UserLink user={r.id} label={formatNumber(r.sessions)} />, sort: (r) => r.sessions },
    { key: 'traces', label: 'Traces', numeric: true, render: (r) => formatNumber(r.traces), sort: (r) => r.traces },
    { key: 'llmCalls', label: 'LLM calls', numeric: true, render: (r) => formatNumber(r.llmCalls), sort: (r) => r.llmCalls },
    { key: 'inputTokens', label: 'Input tokens', numeric: true, render: (r) => formatNumber(r.inputTokens), sort: (r) => r.inputTokens },
    { key: 'outputTokens', label: 'Output tokens', numeric: true, render: (r) => formatNumber(r.outputTokens), sort: (r) => r.outputTokens },
    { key: 'cost', label: 'Cost', numeric: true, render: (r) => formatCost(r.cost), sort: (r) => r.cost },
    { key: 'errors', label: 'Errors', numeric: true, render: (r) => <ErrorCount n={r.errors} />, sort: (r) => r.errors },
    { key: 'firstSeen', label: 'First seen', render: (r) => <When s={r.firstSeen} />, sort: (r) => r.firstSeen },
    { key: 'lastSeen', label: 'Last seen', render: (r) => <When s={r.lastSeen} />, sort: (r) => r.lastSeen },
];

export function UsersPage() {
    const range = useTimeRange();
    const r = useRangeApi<Users>('/api/v1/users', { limit: USERS_SHOWN }, range);
    return (
        <div class="users ai-page">
            <IndexedFrom s={r.data?.indexedFrom} />
            <Loaded r={r} what="users" isEmpty={(d) => d.users.length === 0} empty="No spans with a user id in this time range.">
                {(d) => (
                    <>
                        <p class="muted" role="status">
                            {d.users.length < USERS_SHOWN
                                ? `${formatNumber(d.users.length)} ${d.users.length === 1 ? 'user' : 'users'} in this time range.`
                                : `The ${formatNumber(USERS_SHOWN)} most recently active users in this time range.`}{' '}
                            Errors count the AI spans that failed; tokens and cost count LLM and embedding calls.
                        </p>
                        <Table
                            id="users"
                            columns={COLUMNS}
                            rows={d.users}
                            rowKey={(x) => x.id}
                            filterText={(x) => x.id}
                            defaultSort="-cost"
                            caption="Usage per user"
                        />
                    </>
                )}
            </Loaded>
        </div>
    );
}
