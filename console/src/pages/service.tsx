// The Service page: one service's golden signals over the time range (GET /api/v1/overview),
// RED charts and its operations (PromQL on traces_span_metrics_*), its callers and callees
// (GET /api/v1/topology), its recent failed traces (trace search), its runtime metrics when
// it sends any, and its newest logs (GET /api/v1/logs).
import type { ComponentChildren } from 'preact';
import { useMemo } from 'preact/hooks';

import './services.css';

import { TimeChart } from '../components/chart';
import { Link } from '../components/link';
import { Empty, Loaded } from '../components/states';
import { Table } from '../components/table';
import type { Column } from '../components/table';
import { type Resource, useApi, useRangeApi } from '../lib/api';
import { formatMs, formatNumber, formatPercent, formatSeconds } from '../lib/format';
import { apiRange, formatTime, stepFor, useTimeRange } from '../lib/time';
import type { TimeRange } from '../lib/time';
import {
    CALLS,
    DURATION_BUCKET,
    ENTRY_KINDS,
    ERROR_STATUS,
    SOURCE_LABELS,
    labelText,
    promString,
    rangeWindow,
    rateWindow,
    regexEscape,
    sampleValue,
    serviceLogQuery,
    servicePath,
    tag,
    toChart,
    unixNanos,
    useInstant,
    useOverview,
    useRangeQuery,
    useTopology,
} from './svc/data';
import type { ChartData, PromMatrixSeries, TopoEdge, TopoNode } from './svc/data';
import { HealthBadges, healthRank } from './svc/health';
import type { TraceSummary } from './traces';

type Answer = Resource<{ data: { result: PromMatrixSeries[] } }>;

/** Zero as "0" rather than "0.00 µs" on an axis of durations. */
const formatDuration = (v: number) => (v === 0 ? '0' : formatSeconds(v));

// ---- figures ----

/** The overview's figures of the service, as a row of labelled numbers. */
function Stats({ name, r }: { name: string; r: TimeRange }) {
    const overview = useOverview(r);
    return (
        <Loaded r={overview} what="the service's figures">
            {(d) => {
                const s = d.services.find((x) => x.name === name);
                if (!s) return <Empty>{name} served no requests in this time range.</Empty>;
                const items: Array<[string, string]> = [
                    ['Requests/s', formatNumber(s.rate)],
                    ['Error rate', formatPercent(s.errorRate)],
                    ['p50', formatSeconds(s.p50)],
                    ['p95', formatSeconds(s.p95)],
                    ['p99', formatSeconds(s.p99)],
                    ['Calls', formatNumber(s.calls)],
                    ['Errors', formatNumber(s.errors)],
                ];
                return (
                    <dl class="stats" aria-label="Figures over the time range">
                        {items.map(([k, v]) => (
                            <div key={k}>
                                <dt>{k}</dt>
                                <dd>{v}</dd>
                            </div>
                        ))}
                    </dl>
                );
            }}
        </Loaded>
    );
}

// ---- operations ----

interface Operation {
    name: string;
    kind: string; // SPAN_KIND_*
    rate: number | null;
    errors: number | null; // per second
    errorRate: number | null;
    p95: number | null;
}

const ENTRY = ['SPAN_KIND_SERVER', 'SPAN_KIND_CONSUMER'];

/** Rate, errors, error rate and p95 per (span name, kind) over the whole range: one instant query. */
function operationsQuery(name: string, r: TimeRange): string {
    const sel = `service_name=${promString(name)}`;
    const w = rangeWindow(r);
    const by = 'span_name, span_kind';
    const calls = `sum by (${by}) (rate(${CALLS}{${sel}}[${w}]))`;
    const errors = `sum by (${by}) (rate(${CALLS}{${sel}, ${ERROR_STATUS}}[${w}]))`;
    return [
        tag(calls, 'figure', 'rate'),
        tag(errors, 'figure', 'errors'),
        tag(`${errors} / ${calls}`, 'figure', 'errorRate'),
        tag(`histogram_quantile(0.95, sum by (${by}, le) (rate(${DURATION_BUCKET}{${sel}}[${w}])))`, 'figure', 'p95'),
    ].join(' or ');
}

/** The service's operations, and whether it served requests (server or consumer spans) in the range. */
function useOperations(name: string, r: TimeRange) {
    const res = useInstant(operationsQuery(name, r), r);
    const ops = useMemo(() => {
        if (!res.data) return undefined;
        const rows = new Map<string, Operation>();
        for (const s of res.data.data.result) {
            const key = `${s.metric.span_kind}\u0000${s.metric.span_name}`;
            let op = rows.get(key);
            if (!op) rows.set(key, (op = { name: s.metric.span_name ?? '', kind: s.metric.span_kind ?? '', rate: null, errors: null, errorRate: null, p95: null }));
            const f = s.metric.figure as 'rate' | 'errors' | 'errorRate' | 'p95';
            op[f] = sampleValue(s.value[1]);
        }
        // A series of errors only exists once one failed: none means none.
        for (const op of rows.values()) {
            if (op.rate !== null && op.errors === null) op.errors = 0;
            if (op.rate && op.errorRate === null) op.errorRate = 0;
        }
        return [...rows.values()];
    }, [res.data]);
    const servesRequests = ops ? ops.some((o) => ENTRY.includes(o.kind) && (o.rate ?? 0) > 0) : undefined;
    return { res, ops, servesRequests };
}

const kindName = (k: string) => k.replace(/^SPAN_KIND_/, '').toLowerCase();

function operationColumns(service: string): Array<Column<Operation>> {
    return [
        {
            key: 'name',
            label: 'Operation',
            render: (o) => (
                <Link to="/traces" query={{ service, operation: o.name }} title={`Traces of ${o.name}`}>
                    {o.name || '(no name)'}
                </Link>
            ),
            sort: (o) => o.name,
        },
        { key: 'kind', label: 'Kind', render: (o) => kindName(o.kind), sort: (o) => o.kind },
        { key: 'rate', label: 'Calls/s', numeric: true, render: (o) => formatNumber(o.rate), sort: (o) => o.rate ?? NaN },
        { key: 'errors', label: 'Errors/s', numeric: true, render: (o) => formatNumber(o.errors), sort: (o) => o.errors ?? NaN },
        {
            key: 'errorRate',
            label: 'Error rate',
            numeric: true,
            render: (o) => <span class={o.errorRate ? 'error-text' : undefined}>{formatPercent(o.errorRate)}</span>,
            sort: (o) => o.errorRate ?? NaN,
        },
        { key: 'p95', label: 'p95', numeric: true, render: (o) => formatSeconds(o.p95), sort: (o) => o.p95 ?? NaN },
    ];
}

// ---- RED charts ----

/** A chart of a range query's series, in the order given by rank (by the tag label). */
function QueryChart({
    title,
    res,
    r,
    step,
    format,
    order = [],
    empty,
}: {
    title: string;
    res: Answer;
    r: TimeRange;
    step: number;
    format: (v: number) => string;
    order?: string[];
    empty: string;
}) {
    const data = useMemo(() => {
        if (!res.data) return undefined;
        const rank = (m: Record<string, string>) => order.indexOf(m.series ?? '');
        const result = [...res.data.data.result].sort((a, b) => rank(a.metric) - rank(b.metric));
        return toChart(result, r, step, (m) => m.series ?? title);
    }, [res.data]);
    return (
        <div class="card">
            <h3>{title}</h3>
            <Loaded r={res} what={title.toLowerCase()} isEmpty={(d) => d.data.result.length === 0} empty={empty}>
                {() => <TimeChart times={data!.times} series={data!.series} format={format} title={title} height={170} />}
            </Loaded>
        </div>
    );
}

/** Rate, error rate and latency of the service over the range, step by step. */
function RedCharts({ name, r, servesRequests, hasSpans }: { name: string; r: TimeRange; servesRequests: boolean | undefined; hasSpans: boolean }) {
    const step = stepFor(r);
    const w = rateWindow(step);
    // Wait for the operations to know which spans are the service's requests.
    const ready = servesRequests !== undefined;
    const sel = `service_name=${promString(name)}${servesRequests ? `, ${ENTRY_KINDS}` : ''}`;
    const calls = `sum(rate(${CALLS}{${sel}}[${w}]))`;
    const errors = `sum(rate(${CALLS}{${sel}, ${ERROR_STATUS}}[${w}]))`;
    const latency = (q: number) => `histogram_quantile(${q}, sum by (le) (rate(${DURATION_BUCKET}{${sel}}[${w}])))`;
    const rate = useRangeQuery(ready ? `${tag(calls, 'series', 'requests/s')} or ${tag(errors, 'series', 'errors/s')}` : null, r, step);
    const errorRate = useRangeQuery(ready ? `(${errors} or 0 * ${calls}) / ${calls}` : null, r, step);
    const lat = useRangeQuery(ready ? [tag(latency(0.5), 'series', 'p50'), tag(latency(0.95), 'series', 'p95'), tag(latency(0.99), 'series', 'p99')].join(' or ') : null, r, step);
    const empty = 'No calls in this time range.';
    return (
        <>
            <p class="muted hint">
                {servesRequests === false && hasSpans
                    ? `${name} served no requests (no server or consumer spans) in this range: the charts count all its spans.`
                    : 'Requests are the server and consumer spans of the service.'}{' '}
                Rates over {w} windows.
            </p>
            <div class="cards">
                <QueryChart title="Request rate" res={rate} r={r} step={step} format={formatNumber} order={['requests/s', 'errors/s']} empty={empty} />
                <QueryChart title="Error rate" res={errorRate} r={r} step={step} format={formatPercent} empty={empty} />
                <QueryChart title="Latency" res={lat} r={r} step={step} format={formatDuration} order={['p50', 'p95', 'p99']} empty={empty} />
            </div>
        </>
    );
}

// ---- dependencies ----

interface Dependency {
    edge: TopoEdge;
    peer: string; // the other end
    peerKind: TopoNode['kind'] | undefined;
}

function PeerName({ d }: { d: Dependency }) {
    if (d.peerKind === 'service') return <Link to={servicePath(d.peer)}>{d.peer}</Link>;
    return (
        <span title="Not instrumented: seen only from its callers' spans">
            {d.peer} <span class="muted">(virtual)</span>
        </span>
    );
}

const connectionName = (t: string) => ({ '': 'request', virtual_node: 'uninstrumented peer', database: 'database', messaging_system: 'messaging' })[t] ?? t;

function dependencyColumns(peerLabel: string): Array<Column<Dependency>> {
    return [
        { key: 'peer', label: peerLabel, render: (d) => <PeerName d={d} />, sort: (d) => d.peer },
        { key: 'type', label: 'Connection', render: (d) => connectionName(d.edge.connectionType), sort: (d) => d.edge.connectionType },
        { key: 'rate', label: 'Requests/s', numeric: true, render: (d) => formatNumber(d.edge.rate), sort: (d) => d.edge.rate ?? NaN },
        { key: 'errorRate', label: 'Error rate', numeric: true, render: (d) => formatPercent(d.edge.errorRate), sort: (d) => d.edge.errorRate ?? NaN },
        { key: 'p95', label: 'p95', numeric: true, render: (d) => formatSeconds(d.edge.p95), sort: (d) => d.edge.p95 ?? NaN },
        { key: 'health', label: 'Health', render: (d) => <HealthBadges health={d.edge.health} />, sort: (d) => healthRank(d.edge.health) },
    ];
}

/** Callers (edges where the service is the server) and callees (where it is the client). */
function Dependencies({ name, r }: { name: string; r: TimeRange }) {
    const topo = useTopology(r);
    return (
        <Loaded r={topo} what="dependencies">
            {(t) => {
                const kinds = new Map(t.nodes.map((n) => [n.id, n.kind]));
                const up = t.edges.filter((e) => e.server === name).map((e) => ({ edge: e, peer: e.client, peerKind: kinds.get(e.client) }));
                const down = t.edges.filter((e) => e.client === name).map((e) => ({ edge: e, peer: e.server, peerKind: kinds.get(e.server) }));
                const key = (d: Dependency) => `${d.peer}\u0000${d.edge.connectionType}`;
                return (
                    <div class="deps">
                        <div>
                            <h3 id="upstream-h">Upstream: who calls {name}</h3>
                            <Table id="up" caption={`Callers of ${name}`} columns={dependencyColumns('Caller')} rows={up} rowKey={key} defaultSort="-rate" empty="No callers in this time range." />
                        </div>
                        <div>
                            <h3 id="downstream-h">Downstream: what {name} calls</h3>
                            <Table id="down" caption={`Services ${name} calls`} columns={dependencyColumns('Callee')} rows={down} rowKey={key} defaultSort="-rate" empty="No calls to other services in this time range." />
                        </div>
                    </div>
                );
            }}
        </Loaded>
    );
}

// ---- recent errors ----

const ERROR_LIMIT = 10;

const ERROR_COLUMNS: Array<Column<TraceSummary>> = [
    { key: 'start', label: 'Start', render: (t) => formatTime(Number(t.startTimeUnixNano) / 1e6) },
    {
        key: 'trace',
        label: 'Trace',
        render: (t) => (
            <Link to={`/traces/${t.traceId}`}>
                {t.rootServiceName || 'unknown service'}: {t.rootSpanName || '(no name)'}
            </Link>
        ),
    },
    { key: 'duration', label: 'Duration', numeric: true, render: (t) => formatMs(Number(t.durationNanos) / 1e6) },
    { key: 'errors', label: 'Failed spans', numeric: true, render: (t) => `${formatNumber(t.errorCount)} of ${formatNumber(t.spanCount)}` },
    { key: 'id', label: 'Trace id', render: (t) => <code>{t.traceId.slice(0, 16)}…</code> },
];

/** The newest traces with a failed span of the service. */
function RecentErrors({ name, r }: { name: string; r: TimeRange }) {
    const query = { service: name, status: 'error', limit: ERROR_LIMIT };
    const res = useApi<{ traces: TraceSummary[] }>('/api/v1/traces', { ...query, start: unixNanos(r.startMs), end: unixNanos(r.endMs) });
    return (
        <Loaded r={res} what="failed traces" isEmpty={(d) => d.traces.length === 0} empty={`No failed span of ${name} in this time range.`}>
            {(d) => <Table id="errs" caption={`Newest traces with a failed span of ${name}`} columns={ERROR_COLUMNS} rows={d.traces} rowKey={(t) => t.traceId} />}
        </Loaded>
    );
}

// ---- runtime metrics ----

/** Families of process and language-runtime metrics, by name prefix. */
const RUNTIME_NAMES = '(process|runtime|jvm|go|dotnet|nodejs|v8js|python|cpython|rust)_.+';

/** Friendlier titles of common runtime metrics (OpenTelemetry and Prometheus client names). */
const RUNTIME_TITLES: Record<string, string> = {
    process_cpu_time_seconds_total: 'CPU (seconds per second)',
    process_cpu_seconds_total: 'CPU (seconds per second)',
    process_memory_usage_bytes: 'Resident memory',
    process_resident_memory_bytes: 'Resident memory',
    process_memory_virtual_bytes: 'Virtual memory',
    process_virtual_memory_bytes: 'Virtual memory',
    process_thread_count: 'Threads',
    process_threads: 'Threads',
    process_open_file_descriptor_count: 'Open file descriptors',
    process_open_fds: 'Open file descriptors',
};

const MAX_RUNTIME_CHARTS = 8;

interface RuntimeMetric {
    name: string;
    selector: string; // the label matchers that pick the service's series
    counter: boolean;
}

/** The selectors of a service's own series: by service_name, or by job ("namespace/name" or "name"). */
function runtimeSelectors(name: string) {
    return { byService: `service_name=${promString(name)}`, byJob: `job=~${promString(`(.+/)?${regexEscape(name)}`)}` };
}

/** The runtime metrics the service sent in the range (GET /api/v1/series). */
function useRuntimeMetrics(name: string, r: TimeRange) {
    const sel = runtimeSelectors(name);
    const q = new URLSearchParams();
    q.append('match[]', `{__name__=~${promString(RUNTIME_NAMES)}, ${sel.byJob}}`);
    q.append('match[]', `{__name__=~${promString(RUNTIME_NAMES)}, ${sel.byService}}`);
    const range = apiRange(r);
    q.set('start', range.start);
    q.set('end', range.end);
    const res = useApi<{ data: Array<Record<string, string>> }>(`/api/v1/series?${q}`);
    const metrics = useMemo(() => {
        if (!res.data) return undefined;
        const out = new Map<string, RuntimeMetric>();
        const names = new Set(res.data.data.map((s) => s.__name__ ?? ''));
        // Histograms' parts are left out (a _count or _sum is one when its _bucket exists).
        const histogramPart = (n: string) => /_(bucket|created)$/.test(n) || (/_(sum|count)$/.test(n) && names.has(n.replace(/_(sum|count)$/, '_bucket')));
        for (const s of res.data.data) {
            const n = s.__name__ ?? '';
            if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(n) || histogramPart(n)) continue;
            const byService = s.service_name === name;
            const prev = out.get(n);
            if (!prev || byService) out.set(n, { name: n, selector: byService ? sel.byService : sel.byJob, counter: n.endsWith('_total') });
        }
        return [...out.values()].sort((a, b) => a.name.localeCompare(b.name)).slice(0, MAX_RUNTIME_CHARTS);
    }, [res.data]);
    return { res, metrics };
}

function runtimeFormat(name: string): (v: number) => string {
    if (name.endsWith('_seconds')) return formatDuration;
    return formatNumber;
}

const BINARY_UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

/**
 * A chart of bytes in the binary unit of its largest value (the unit goes to the title, so
 * that the axis labels stay short).
 */
function inBinaryUnit(data: ChartData, title: string): { data: ChartData; title: string } {
    const max = Math.max(0, ...data.series.flatMap((s) => s.values.map((v) => Math.abs(v ?? 0))));
    const k = max >= 1 ? Math.min(BINARY_UNITS.length - 1, Math.floor(Math.log2(max) / 10)) : 0;
    const d = 1024 ** k;
    const series = data.series.map((s) => ({ ...s, values: s.values.map((v) => (v === null ? null : v / d)) }));
    return { data: { times: data.times, series }, title: `${title} (${BINARY_UNITS[k]})` };
}

/** One chart per runtime metric the service sent, all from one range query. */
function RuntimeCharts({ metrics, r }: { metrics: RuntimeMetric[]; r: TimeRange }) {
    const step = stepFor(r);
    const w = rateWindow(step);
    const drop = SOURCE_LABELS.join(', ');
    const query = metrics
        .map((m) => tag(`sum without (${drop}) (${m.counter ? `rate(${m.name}{${m.selector}}[${w}])` : `${m.name}{${m.selector}}`})`, 'metric_name', m.name))
        .join(' or ');
    const res = useRangeQuery(query, r, step);
    const charts = useMemo(() => {
        if (!res.data) return undefined;
        return metrics.map((m) => {
            const name = RUNTIME_TITLES[m.name] ?? (m.counter ? `${m.name} (per second)` : m.name);
            const series = res.data!.data.result.filter((s) => s.metric.metric_name === m.name).slice(0, 10);
            const data = toChart(series, r, step, (l) => labelText(l, name));
            return { m, ...(m.name.endsWith('_bytes') ? inBinaryUnit(data, name) : { data, title: name }) };
        });
    }, [res.data]);
    return (
        <Loaded r={res} what="runtime metrics">
            {() => (
                <div class="cards">
                    {charts!.map(({ m, title, data }) => (
                        <div class="card" key={m.name}>
                            <h3 title={m.name}>{title}</h3>
                            {data.series.length ? (
                                <TimeChart times={data.times} series={data.series} format={runtimeFormat(m.name)} title={title} height={150} />
                            ) : (
                                <Empty>No points of {m.name} in this time range.</Empty>
                            )}
                        </div>
                    ))}
                </div>
            )}
        </Loaded>
    );
}

function Runtime({ name, r }: { name: string; r: TimeRange }) {
    const { res, metrics } = useRuntimeMetrics(name, r);
    return (
        <Loaded r={res} what="runtime metrics" isEmpty={() => metrics!.length === 0} empty={`${name} sent no process or runtime metrics in this time range.`}>
            {() => <RuntimeCharts metrics={metrics!} r={r} />}
        </Loaded>
    );
}

// ---- logs ----

interface LogLine {
    time: string; // unix ns
    line: string;
    labels: Record<string, string>;
    traceId?: string;
    spanId?: string;
    trace?: 'present' | 'absent';
}

const LOG_LIMIT = 20;

/** The service's newest log lines, each linking to its trace when the store holds it. */
function Logs({ name, r }: { name: string; r: TimeRange }) {
    const res = useRangeApi<{ logs: LogLine[] }>('/api/v1/logs', { query: serviceLogQuery(name), limit: LOG_LIMIT, direction: 'backward' }, r);
    return (
        <Loaded r={res} what="logs" isEmpty={(d) => d.logs.length === 0} empty={`${name} sent no logs in this time range.`}>
            {(d) => (
                <ol class="log-lines" aria-label={`Newest logs of ${name}`}>
                    {d.logs.map((l, i) => {
                        const level = l.labels.detected_level || 'unknown';
                        return (
                            <li key={`${l.time}-${i}`}>
                                <time class="mono muted" dateTime={new Date(Number(l.time) / 1e6).toISOString()}>
                                    {formatTime(Number(l.time) / 1e6)}
                                </time>
                                <span class={`level level-${level}`}>{level}</span>
                                <span class="log-line mono" title={l.line}>
                                    {l.line || <span class="muted">(empty line)</span>}
                                </span>
                                {l.traceId && l.trace === 'present' ? (
                                    <Link to={`/traces/${l.traceId}`} query={{ spanId: l.spanId }} aria-label={`Trace of the log line at ${formatTime(Number(l.time) / 1e6)}`}>
                                        trace
                                    </Link>
                                ) : (
                                    <span />
                                )}
                            </li>
                        );
                    })}
                </ol>
            )}
        </Loaded>
    );
}

// ---- the page ----

function Section({ id, title, more, children }: { id: string; title: string; more?: ComponentChildren; children: ComponentChildren }) {
    return (
        <section aria-labelledby={id}>
            <div class="section-head">
                <h2 id={id}>{title}</h2>
                {more}
            </div>
            {children}
        </section>
    );
}

/** /services/:name */
export function ServicePage({ name }: { name: string }) {
    const r = useTimeRange();
    const { res: opsRes, ops, servesRequests } = useOperations(name, r);
    return (
        <div class="service-page">
            <div class="service-head">
                <h2>{name}</h2>
                <ul class="service-links">
                    <li>
                        <Link to="/traces" query={{ service: name }}>
                            Traces
                        </Link>
                    </li>
                    <li>
                        <Link to="/logs" query={{ query: serviceLogQuery(name) }}>
                            Logs
                        </Link>
                    </li>
                    <li>
                        <Link to="/topology">Topology</Link>
                    </li>
                    <li>
                        <Link to="/services">All services</Link>
                    </li>
                </ul>
            </div>
            <Stats name={name} r={r} />
            <Section id="red-h" title="Rate, errors and duration">
                <RedCharts name={name} r={r} servesRequests={opsRes.error ? true : servesRequests} hasSpans={(ops?.length ?? 0) > 0} />
            </Section>
            <Section id="ops-h" title="Operations">
                <Loaded r={opsRes} what="operations" isEmpty={() => ops!.length === 0} empty={`No spans of ${name} in this time range.`}>
                    {() => (
                        <Table
                            id="ops"
                            caption={`Operations of ${name}: rate, errors and p95 over the time range`}
                            columns={operationColumns(name)}
                            rows={ops!}
                            rowKey={(o) => `${o.kind}\u0000${o.name}`}
                            filterText={(o) => `${o.name} ${kindName(o.kind)}`}
                            defaultSort="-rate"
                        />
                    )}
                </Loaded>
            </Section>
            <Section id="deps-h" title="Dependencies">
                <Dependencies name={name} r={r} />
            </Section>
            <Section
                id="errors-h"
                title="Recent errors"
                more={
                    <Link to="/traces" query={{ service: name, status: 'error' }}>
                        All failed traces of {name}
                    </Link>
                }
            >
                <RecentErrors name={name} r={r} />
            </Section>
            <Section
                id="logs-h"
                title="Logs"
                more={
                    <Link to="/logs" query={{ query: serviceLogQuery(name) }}>
                        Open in Logs
                    </Link>
                }
            >
                <Logs name={name} r={r} />
            </Section>
            <Section id="runtime-h" title="Runtime">
                <Runtime name={name} r={r} />
            </Section>
        </div>
    );
}
