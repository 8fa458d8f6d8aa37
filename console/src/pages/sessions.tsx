// The Sessions page: the conversations of the time range, newest first (GET /api/v1/sessions),
// filtered by user and service and limited in number as the URL says (user=, service=,
// limit=); each links to its conversation (/sessions/:id).
import { useEffect, useState } from 'preact/hooks';
import { useTimeRange } from '../lib/time';
import { useRangeApi } from '../lib/api';

import { Loaded } from '../components/states';
import { type Column, Table } from '../components/table';
import { formatCost, formatMs, formatNumber } from '../lib/format';
import { setQuery, useLocation } from '../lib/router';
import { ErrorCount, IndexedFrom, SessionLink, UserLink, When } from './ai/common';
import type { SessionSummary, Sessions } from './ai/types';

import './ai/ai.css';

const LIMITS = [100, 500, 1000];

const COLUMNS: Array<Column<SessionSummary>> = [
    { key: 'id', label: 'Session', render: (r) => <SessionLink id={r.id} />, sort: (r) => r.id },
    { key: 'user', label: 'User', render: (r) => <UserLink user={r.user} />, sort: (r) => r.user },
    {
        key: 'services',
        label: 'Services',
        render: (r) => (r.services.length ? <span class="wrap">{r.services.join(', ')}</span> : <span class="muted">–</span>),
        sort: (r) => r.services.join(','),
    },
    { key: 'turns', label: 'Turns', numeric: true, render: (r) => formatNumber(r.turns), sort: (r) => r.turns },
    { key: 'traces', label: 'Traces', numeric: true, render: (r) => formatNumber(r.traces), sort: (r) => r.traces },
    { key: 'inputTokens', label: 'Input tokens', numeric: true, render: (r) => formatNumber(r.inputTokens), sort: (r) => r.inputTokens },
    { key: 'outputTokens', label: 'Output tokens', numeric: true, render: (r) => formatNumber(r.outputTokens), sort: (r) => r.outputTokens },
    { key: 'cost', label: 'Cost', numeric: true, render: (r) => formatCost(r.cost), sort: (r) => r.cost },
    { key: 'errors', label: 'Errors', numeric: true, render: (r) => <ErrorCount n={r.errors} />, sort: (r) => r.errors },
    { key: 'durationMs', label: 'Duration', numeric: true, render: (r) => formatMs(r.durationMs), sort: (r) => r.durationMs ?? NaN },
    { key: 'firstSeen', label: 'First seen', render: (r) => <When s={r.firstSeen} />, sort: (r) => r.firstSeen },
    { key: 'lastSeen', label: 'Last seen', render: (r) => <When s={r.lastSeen} />, sort: (r) => r.lastSeen },
];

/** The user and service filters: typed here, applied to the URL on submit. */
function Filters({ user, service, limit }: { user: string; service: string; limit: number }) {
    const [u, setU] = useState(user);
    const [s, setS] = useState(service);
    useEffect(() => setU(user), [user]);
    useEffect(() => setS(service), [service]);
    const apply = (e: Event) => {
        e.preventDefault();
        setQuery({ user: u.trim(), service: s.trim() }, false);
    };
    return (
        <form class="toolbar" onSubmit={apply} aria-label="Session filters">
            <label>
                User
                <input type="text" value={u} placeholder="any user" autocomplete="off" onInput={(e) => setU(e.currentTarget.value)} />
            </label>
            <label>
                Service
                <input type="text" value={s} placeholder="any service" autocomplete="off" onInput={(e) => setS(e.currentTarget.value)} />
            </label>
            <label>
                At most
                <select value={limit} onChange={(e) => setQuery({ limit: e.currentTarget.value === '100' ? undefined : e.currentTarget.value })}>
                    {LIMITS.map((n) => (
                        <option key={n} value={n}>
                            {n} sessions
                        </option>
                    ))}
                </select>
            </label>
            <button type="submit" class="btn primary">
                Apply
            </button>
            {(user || service) && (
                <button type="button" class="btn" onClick={() => setQuery({ user: undefined, service: undefined }, false)}>
                    Clear filters
                </button>
            )}
        </form>
    );
}

export function SessionsPage() {
    const { query } = useLocation();
    const range = useTimeRange();
    const user = query.get('user') ?? '';
    const service = query.get('service') ?? '';
    const asked = Number(query.get('limit'));
    const limit = LIMITS.includes(asked) ? asked : 100;
    const r = useRangeApi<Sessions>('/api/v1/sessions', { user, service, limit }, range);
    const filtered = [user && `of user "${user}"`, service && `with a span of service "${service}"`].filter(Boolean).join(' ');
    return (
        <div class="sessions ai-page">
            <Filters user={user} service={service} limit={limit} />
            <IndexedFrom s={r.data?.indexedFrom} />
            <Loaded r={r} what="sessions" isEmpty={(d) => d.sessions.length === 0} empty={`No sessions${filtered ? ' ' + filtered : ''} in this time range.`}>
                {(d) => (
                    <>
                        <p class="muted" role="status">
                            {formatNumber(d.sessions.length)} {d.sessions.length === 1 ? 'session' : 'sessions'}
                            {filtered ? ` ${filtered}` : ''}
                            {d.sessions.length >= limit ? `, the ${limit} most recent` : ''}.
                        </p>
                        <Table
                            id="sess"
                            columns={COLUMNS}
                            rows={d.sessions}
                            rowKey={(x) => x.id}
                            filterText={(x) => `${x.id} ${x.user} ${x.services.join(' ')}`}
                            caption="Sessions, newest first"
                        />
                    </>
                )}
            </Loaded>
        </div>
    );
}
