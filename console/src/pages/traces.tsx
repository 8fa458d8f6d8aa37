// The Traces page (/traces): trace search (GET /api/v1/traces) over the time range, by
// service, operation, span duration, status and span attributes, with a scatter plot of the
// traces' durations over time and their list. Every filter is in the URL, with the API's own
// parameter names (attr.KEY=VALUE included), so a search is a link.
import { useMemo, useState } from 'preact/hooks';

import { Link } from '../components/link';
import { Loaded } from '../components/states';
import type { Column } from '../components/table';
import { Table } from '../components/table';
import type { Query } from '../lib/api';
import { useApi } from '../lib/api';
import { formatNumber, formatSeconds } from '../lib/format';
import { globalQuery, href, setQuery, useLocation } from '../lib/router';
import type { TimeRange } from '../lib/time';
import { formatTime, useTimeRange } from '../lib/time';
import type { Dot } from './trace/scatter';
import { Scatter, dotLabel } from './trace/scatter';

import './traces.css';

/** A trace summary of GET /api/v1/traces. */
export interface TraceSummary {
    traceId: string;
    rootServiceName: string;
    rootSpanName: string;
    startTimeUnixNano: string;
    durationNanos: string;
    spanCount: number;
    errorCount: number;
    services: string[];
}

/** The search's parameters, as in the URL and the API. */
interface Filters {
    service: string;
    operation: string;
    minDuration: string;
    maxDuration: string;
    status: string;
    limit: string;
    attrs: Array<[string, string]>;
}

const DEFAULT_LIMIT = 20;
const STATUSES: Array<[string, string]> = [
    ['', 'Any'],
    ['error', 'Error'],
    ['ok', 'Ok'],
    ['unset', 'Unset'],
];
/** Go durations, as the API takes them ("250ms", "1.5s", "1h30m", "0"). */
const DURATION_PATTERN = '\\s*(0|([0-9]+(\\.[0-9]+)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h))+\\s*';

const filtersOf = (q: URLSearchParams): Filters => ({
    service: q.get('service') ?? '',
    operation: q.get('operation') ?? '',
    minDuration: q.get('minDuration') ?? '',
    maxDuration: q.get('maxDuration') ?? '',
    status: q.get('status') ?? '',
    limit: q.get('limit') ?? '',
    attrs: [...q.entries()].filter(([k]) => k.startsWith('attr.') && k.length > 5).map(([k, v]) => [k.slice(5), v]),
});

/** Unix ms as the API's RFC 3339 time. */
const rfc3339 = (ms: number) => new Date(ms).toISOString();

/** The trace search page. */
export function TracesPage() {
    const { query } = useLocation();
    const range = useTimeRange();
    const f = filtersOf(query);
    const q: Query = {
        service: f.service,
        operation: f.operation,
        minDuration: f.minDuration,
        maxDuration: f.maxDuration,
        status: f.status,
        limit: f.limit || DEFAULT_LIMIT,
        start: rfc3339(range.startMs),
        end: rfc3339(range.endMs),
    };
    for (const [k, v] of f.attrs) q[`attr.${k}`] = v;
    const r = useApi<{ traces: TraceSummary[] }>('/api/v1/traces', q);
    // The form remounts (taking the URL's values again) when the URL's filters change.
    const formKey = JSON.stringify(f);
    return (
        <div class="traces-page">
            <SearchForm key={formKey} initial={f} />
            <Loaded r={r} what="traces" isEmpty={(d) => d.traces.length === 0} empty="No traces match this search in this time range.">
                {(d) => <Results traces={d.traces} range={range} limit={Number(f.limit) || DEFAULT_LIMIT} />}
            </Loaded>
        </div>
    );
}

/** The search form: edits a copy of the URL's filters, written to the URL on submit. */
function SearchForm({ initial }: { initial: Filters }) {
    const [f, setF] = useState<Filters>(initial);
    const services = useApi<{ services: string[] }>('/api/v1/services');
    const ops = useApi<{ operations: Array<{ name: string; spanKind: string }> }>(
        f.service ? `/api/v1/services/${encodeURIComponent(f.service)}/operations` : null,
    );
    const opNames = [...new Set((ops.data?.operations ?? []).map((o) => o.name))];
    const set = (changes: Partial<Filters>) => setF((x) => ({ ...x, ...changes }));
    /** Sets the key (part 0) or the value (part 1) of attribute filter k. */
    const setAttr = (k: number, part: 0 | 1, text: string) =>
        setF((x) => ({ ...x, attrs: x.attrs.map((a, i): [string, string] => (i !== k ? a : part === 0 ? [text, a[1]] : [a[0], text])) }));

    const submit = (e: Event) => {
        e.preventDefault();
        const changes: Record<string, string | undefined> = {
            service: f.service,
            operation: f.service ? f.operation : '',
            minDuration: f.minDuration.trim(),
            maxDuration: f.maxDuration.trim(),
            status: f.status,
            limit: f.limit && Number(f.limit) !== DEFAULT_LIMIT ? f.limit : undefined,
        };
        for (const k of new URLSearchParams(window.location.search).keys()) if (k.startsWith('attr.')) changes[k] = undefined;
        for (const [k, v] of f.attrs) if (k.trim()) changes[`attr.${k.trim()}`] = v;
        setQuery(changes, false);
    };
    const reset = () => {
        const changes: Record<string, undefined> = {};
        for (const k of ['service', 'operation', 'minDuration', 'maxDuration', 'status', 'limit']) changes[k] = undefined;
        for (const k of new URLSearchParams(window.location.search).keys()) if (k.startsWith('attr.')) changes[k] = undefined;
        setQuery(changes, false);
    };

    const serviceList = services.data?.services ?? [];
    return (
        <form class="trace-search" onSubmit={submit} aria-label="Trace search" data-testid="trace-search">
            <div class="toolbar">
                <label>
                    Service
                    <select value={f.service} onChange={(e) => set({ service: e.currentTarget.value, operation: '' })} name="service">
                        <option value="">{services.loading && !services.data ? 'Loading…' : 'Any service'}</option>
                        {f.service && !serviceList.includes(f.service) && <option value={f.service}>{f.service}</option>}
                        {serviceList.map((s) => (
                            <option key={s} value={s}>
                                {s}
                            </option>
                        ))}
                    </select>
                </label>
                <label>
                    Operation
                    <select value={f.operation} onChange={(e) => set({ operation: e.currentTarget.value })} disabled={!f.service} name="operation">
                        <option value="">{!f.service ? 'Pick a service first' : ops.loading && !ops.data ? 'Loading…' : 'Any operation'}</option>
                        {f.operation && !opNames.includes(f.operation) && <option value={f.operation}>{f.operation}</option>}
                        {opNames.map((o) => (
                            <option key={o} value={o}>
                                {o}
                            </option>
                        ))}
                    </select>
                </label>
                <label>
                    Min span duration
                    <input
                        type="text"
                        name="minDuration"
                        class="ts-duration"
                        value={f.minDuration}
                        placeholder="e.g. 250ms"
                        pattern={DURATION_PATTERN}
                        title="A duration: 250ms, 1.5s, 2m, 1h30m"
                        onInput={(e) => set({ minDuration: e.currentTarget.value })}
                    />
                </label>
                <label>
                    Max span duration
                    <input
                        type="text"
                        name="maxDuration"
                        class="ts-duration"
                        value={f.maxDuration}
                        placeholder="e.g. 2s"
                        pattern={DURATION_PATTERN}
                        title="A duration: 250ms, 1.5s, 2m, 1h30m"
                        onInput={(e) => set({ maxDuration: e.currentTarget.value })}
                    />
                </label>
                <label>
                    Status
                    <select value={f.status} onChange={(e) => set({ status: e.currentTarget.value })} name="status">
                        {STATUSES.map(([v, label]) => (
                            <option key={v} value={v}>
                                {label}
                            </option>
                        ))}
                    </select>
                </label>
                <label>
                    Limit
                    <input
                        type="number"
                        name="limit"
                        class="ts-limit"
                        min={1}
                        max={1000}
                        value={f.limit}
                        placeholder={String(DEFAULT_LIMIT)}
                        onInput={(e) => set({ limit: e.currentTarget.value })}
                    />
                </label>
            </div>
            <fieldset class="ts-attrs">
                <legend>Span attributes (all must hold on one span; a resource attribute counts too)</legend>
                {f.attrs.map(([k, v], i) => (
                    <div class="ts-attr" key={i}>
                        <label>
                            <span class="visually-hidden">Attribute {i + 1} key</span>
                            <input type="text" value={k} placeholder="key, e.g. http.route" onInput={(e) => setAttr(i, 0, e.currentTarget.value)} />
                        </label>
                        <span aria-hidden="true">=</span>
                        <label>
                            <span class="visually-hidden">Attribute {i + 1} value</span>
                            <input type="text" value={v} placeholder="value" onInput={(e) => setAttr(i, 1, e.currentTarget.value)} />
                        </label>
                        <button
                            type="button"
                            class="btn"
                            onClick={() => setF((x) => ({ ...x, attrs: x.attrs.filter((_, j) => j !== i) }))}
                            aria-label={`Remove attribute filter ${i + 1}`}
                        >
                            ✕
                        </button>
                    </div>
                ))}
                <button
                    type="button"
                    class="btn"
                    onClick={() => setF((x) => ({ ...x, attrs: [...x.attrs, ['', '']] }))}
                    disabled={f.attrs.length >= 32}
                >
                    + Attribute filter
                </button>
            </fieldset>
            <div class="ts-actions">
                <button type="submit" class="btn primary">
                    Search
                </button>
                <button type="button" class="btn" onClick={reset}>
                    Clear filters
                </button>
                <span class="muted">A trace matches when one of its spans meets every condition.</span>
            </div>
        </form>
    );
}

const traceHref = (id: string) => href(`/traces/${encodeURIComponent(id)}`, globalQuery());
const seconds = (t: TraceSummary) => Number(t.durationNanos) / 1e9;
const startMs = (t: TraceSummary) => Number(BigInt(t.startTimeUnixNano) / 1_000_000n);
const rootName = (t: TraceSummary) => `${t.rootServiceName || '(no service)'}: ${t.rootSpanName}`;

/** The scatter plot and the list of the found traces. */
function Results({ traces, range, limit }: { traces: TraceSummary[]; range: TimeRange; limit: number }) {
    const dots: Dot[] = useMemo(
        () =>
            traces.map((t) => ({
                traceId: t.traceId,
                href: traceHref(t.traceId),
                startMs: startMs(t),
                seconds: seconds(t),
                error: t.errorCount > 0,
                label: dotLabel(rootName(t), startMs(t), seconds(t), t.errorCount),
            })),
        [traces],
    );
    const columns: Array<Column<TraceSummary>> = [
        {
            key: 'start',
            label: 'Start',
            render: (t) => (
                <Link to={`/traces/${encodeURIComponent(t.traceId)}`} class="ts-start">
                    {formatTime(startMs(t))}
                </Link>
            ),
            sort: (t) => t.startTimeUnixNano.padStart(20, '0'),
        },
        {
            key: 'service',
            label: 'Root service',
            render: (t) => t.rootServiceName || <span class="muted">(no service)</span>,
            sort: (t) => t.rootServiceName,
        },
        { key: 'operation', label: 'Root operation', render: (t) => t.rootSpanName, sort: (t) => t.rootSpanName },
        { key: 'duration', label: 'Duration', render: (t) => formatSeconds(seconds(t)), sort: seconds, numeric: true },
        { key: 'spans', label: 'Spans', render: (t) => formatNumber(t.spanCount), sort: (t) => t.spanCount, numeric: true },
        {
            key: 'errors',
            label: 'Errors',
            render: (t) => <span class={t.errorCount ? 'error-text' : undefined}>{formatNumber(t.errorCount)}</span>,
            sort: (t) => t.errorCount,
            numeric: true,
        },
        {
            key: 'services',
            label: 'Services',
            render: (t) => <span class="ts-services">{t.services.join(', ')}</span>,
            sort: (t) => t.services.length,
        },
        { key: 'traceId', label: 'Trace id', render: (t) => <code>{t.traceId.slice(0, 16)}…</code>, sort: (t) => t.traceId },
    ];
    return (
        <>
            <section class="card" aria-label="Durations over time">
                <h2>Trace durations</h2>
                <Scatter dots={dots} fromMs={range.startMs} toMs={range.endMs} />
            </section>
            <section aria-label="Traces found">
                <p class="muted" role="status">
                    {formatNumber(traces.length)} trace{traces.length === 1 ? '' : 's'}
                    {traces.length >= limit ? `: the newest ${formatNumber(limit)} that match (the limit; raise it to see more)` : ''}.
                </p>
                <Table id="traces" columns={columns} rows={traces} rowKey={(t) => t.traceId} defaultSort="-start" caption="Traces found" />
            </section>
        </>
    );
}
