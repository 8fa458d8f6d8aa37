// The Logs page's Patterns tab: the templates mined from each service's lines
// (/api/v1/logs/patterns), with their counts over the range; a pattern opens the search for its
// lines.
import { Sparkline } from '../../components/chart';
import { Loaded } from '../../components/states';
import { type Column, Table } from '../../components/table';
import { useApi } from '../../lib/api';
import { formatNumber } from '../../lib/format';
import { setQuery, useLocation } from '../../lib/router';
import { formatNs, nsToMs } from './entries';
import { patternQuery } from './logql';

/** A template of /api/v1/logs/patterns. */
interface Pattern {
    id: string;
    service: string;
    pattern: string; // variables as <*>
    count: number; // lines in the range
    total: number; // lines in the last 24 hours
    firstSeen: string; // unix ns
    lastSeen: string;
    new: boolean; // first seen in the last ten minutes of the range
    counts: number[]; // per bucket from firstBucket
}

/** GET /api/v1/logs/patterns */
interface Patterns {
    bucketSeconds: number;
    firstBucket: string;
    other: number; // lines of services past the template cap
    patterns: Pattern[];
}

/** At most this many patterns are asked for. */
const PATTERN_LIMIT = 500;

const search = (p: Pattern) => setQuery({ query: patternQuery(p.service, p.pattern), tab: undefined, line: undefined }, false);

const COLUMNS: Array<Column<Pattern>> = [
    {
        key: 'pattern',
        label: 'Pattern',
        sort: (p) => p.pattern,
        render: (p) => (
            <button type="button" class="linklike mono pattern-text" onClick={() => search(p)} title="Search for the lines of this pattern">
                {p.pattern}
            </button>
        ),
    },
    { key: 'service', label: 'Service', sort: (p) => p.service, render: (p) => <span class="nowrap">{p.service}</span> },
    { key: 'count', label: 'Count', numeric: true, sort: (p) => p.count, render: (p) => formatNumber(p.count) },
    { key: 'total', label: 'Last 24 h', numeric: true, sort: (p) => p.total, render: (p) => formatNumber(p.total) },
    { key: 'trend', label: 'Trend', render: (p) => <Sparkline values={p.counts} label={`Lines per bucket of "${p.pattern}"`} /> },
    { key: 'first', label: 'First seen', sort: (p) => nsToMs(p.firstSeen), render: (p) => <span class="nowrap">{formatNs(p.firstSeen).slice(0, 19)}</span> },
    { key: 'last', label: 'Last seen', sort: (p) => nsToMs(p.lastSeen), render: (p) => <span class="nowrap">{formatNs(p.lastSeen).slice(0, 19)}</span> },
    {
        key: 'new',
        label: 'New',
        sort: (p) => (p.new ? 1 : 0),
        render: (p) => (p.new ? <span class="badge badge-new">new</span> : <span class="visually-hidden">no</span>),
    },
];

/** The tab; range as the APIs take it. */
export function PatternsTab({ range }: { range: { start: string; end: string } }) {
    const { query } = useLocation();
    const service = query.get('service') ?? '';
    const services = useApi<{ data: string[] }>('/loki/api/v1/label/service_name/values', range);
    const r = useApi<Patterns>('/api/v1/logs/patterns', { service, ...range, limit: PATTERN_LIMIT });
    return (
        <section class="logs-patterns" aria-label="Patterns">
            <div class="toolbar">
                <label>
                    Service
                    <select value={service} onChange={(e) => setQuery({ service: e.currentTarget.value })}>
                        <option value="">All services</option>
                        {service && !services.data?.data.includes(service) && <option value={service}>{service}</option>}
                        {(services.data?.data ?? []).map((s) => (
                            <option key={s} value={s}>
                                {s}
                            </option>
                        ))}
                    </select>
                </label>
                <p class="muted">Variable parts (numbers, ids, durations) show as &lt;*&gt;. Choose a pattern to search for its lines.</p>
            </div>
            <Loaded r={r} what="patterns" isEmpty={(d) => d.patterns.length === 0} empty="No patterns mined in this time range.">
                {(d) => (
                    <>
                        <Table
                            id="pat"
                            columns={COLUMNS}
                            rows={d.patterns}
                            rowKey={(p) => p.id}
                            filterText={(p) => `${p.pattern} ${p.service}`}
                            defaultSort="-count"
                            caption="Log patterns"
                        />
                        {d.other > 0 && <p class="muted">{formatNumber(d.other)} lines of services past the template cap are not in any pattern.</p>}
                    </>
                )}
            </Loaded>
        </section>
    );
}
