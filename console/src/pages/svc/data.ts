// Data shared by the Services, Service and Topology pages: the shapes of the golden-signal
// APIs (docs/golden-signals.md), PromQL quoting and windows, the Prometheus query answers
// turned into chart series.
import { type Resource, useApi, useRangeApi } from '../../lib/api';
import type { TimeRange } from '../../lib/time';

/** RED figures of a service in GET /api/v1/overview. */
export interface ServiceRed {
    name: string;
    rate: number | null;
    errorRate: number | null;
    p50: number | null;
    p95: number | null;
    p99: number | null;
    calls: number;
    errors: number;
}

/** A model of the overview's top ten. */
export interface ModelUsage {
    provider: string;
    model: string;
    calls: number;
    errors: number;
    cost: number | null;
    inputTokens: number;
    outputTokens: number;
}

export interface Overview {
    services: ServiceRed[];
    models: ModelUsage[];
}

/** busy, slow, failing, or ok alone. */
export type Health = 'ok' | 'busy' | 'slow' | 'failing';

export interface TopoNode {
    id: string;
    kind: 'service' | 'virtual';
    rate: number | null;
    errorRate: number | null;
    p95: number | null;
    health: Health[];
}

export interface TopoEdge {
    client: string;
    server: string;
    connectionType: string; // '', 'virtual_node', 'database', 'messaging_system'
    rate: number | null;
    errorRate: number | null;
    p95: number | null;
    health: Health[];
}

export interface Topology {
    nodes: TopoNode[];
    edges: TopoEdge[];
    hotPath: string[];
}

/** The services' golden signals over r. */
export const useOverview = (r: TimeRange) => useRangeApi<Overview>('/api/v1/overview', {}, r);

/** The service graph over r. */
export const useTopology = (r: TimeRange) => useRangeApi<Topology>('/api/v1/topology', {}, r);

// ---- PromQL ----

/** A PromQL string literal of s (double-quoted, escaped). */
export const promString = (s: string) => JSON.stringify(s);

/** s with its RE2 metacharacters escaped, to match itself in a regex. */
export const regexEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The spans whose calls are a service's requests, as the overview counts them (server and consumer). */
export const ENTRY_KINDS = 'span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"';

export const CALLS = 'traces_span_metrics_calls_total';
export const DURATION_BUCKET = 'traces_span_metrics_duration_seconds_bucket';
export const ERROR_STATUS = 'status_code="STATUS_CODE_ERROR"';

/**
 * The rate() window of a chart with this step: two steps, and at least a minute, so that
 * every window holds several samples of the derived series (written every 15 s by default).
 */
export const rateWindow = (step: number) => `${Math.max(60, 2 * step)}s`;

/** The whole range as a PromQL duration, for instant queries over it. */
export const rangeWindow = (r: TimeRange) => `${Math.max(1, Math.round(r.end - r.start))}s`;

/** PromQL `label_replace(expr, label, value, "", "")`: tags every series of expr with label=value. */
export const tag = (expr: string, label: string, value: string) => `label_replace(${expr}, ${promString(label)}, ${promString(value)}, "", "")`;

export interface PromVectorSample {
    metric: Record<string, string>;
    value: [number, string];
}

export interface PromMatrixSeries {
    metric: Record<string, string>;
    values: Array<[number, string]>;
}

interface PromAnswer<T> {
    status: string;
    data: { resultType: string; result: T[] };
}

/** A Prometheus sample value as a number (NaN and ±Inf as null). */
export function sampleValue(s: string): number | null {
    const v = Number(s);
    return Number.isFinite(v) ? v : null;
}

/** An instant query at the end of r (null: none). */
export function useInstant(query: string | null, r: TimeRange): Resource<PromAnswer<PromVectorSample>> {
    const path = query === null ? null : '/api/v1/query';
    return useApi(path, { query: query ?? '', time: r.end.toFixed(3) });
}

/** A range query over r at step seconds (null: none). */
export function useRangeQuery(query: string | null, r: TimeRange, step: number): Resource<PromAnswer<PromMatrixSeries>> {
    return useRangeApi(query === null ? null : '/api/v1/query_range', { query: query ?? '', step }, r);
}

/** Series over common times, as TimeChart takes them. */
export interface ChartData {
    times: number[];
    series: Array<{ label: string; values: Array<number | null> }>;
}

/**
 * Aligns a matrix on the grid start + k × step (and any other time the answer holds), null
 * where a series has no point, each series labelled by label(metric).
 */
export function toChart(result: PromMatrixSeries[], r: TimeRange, step: number, label: (m: Record<string, string>) => string): ChartData {
    const key = (t: number) => Math.round(t * 1000);
    const grid = new Set<number>();
    const start = Number(r.start.toFixed(3));
    for (let t = start; t <= r.end + 1e-6; t += step) grid.add(key(t));
    for (const s of result) for (const [t] of s.values) grid.add(key(t));
    const keys = [...grid].sort((a, b) => a - b);
    const index = new Map(keys.map((k, i) => [k, i]));
    const series = result.map((s) => {
        const values: Array<number | null> = new Array(keys.length).fill(null);
        for (const [t, v] of s.values) values[index.get(key(t))!] = sampleValue(v);
        return { label: label(s.metric), values };
    });
    return { times: keys.map((k) => k / 1000), series };
}

/** Label names that say where a series came from rather than what it measures. */
export const SOURCE_LABELS = ['job', 'instance', 'service_name', 'service_namespace', 'service_instance_id', 'otel_scope_name', 'otel_scope_version'];

/** "k=v, k=v" of a label set without __name__ and the source labels; fallback when empty. */
export function labelText(m: Record<string, string>, fallback: string): string {
    const parts = Object.entries(m)
        .filter(([k]) => k !== '__name__' && !SOURCE_LABELS.includes(k) && k !== 'metric_name')
        .map(([k, v]) => `${k}=${v}`);
    return parts.length ? parts.join(', ') : fallback;
}

/** The service page's path of a service. */
export const servicePath = (name: string) => `/services/${encodeURIComponent(name)}`;

/** Unix nanoseconds (as the trace search takes them) of unix milliseconds, as an exact decimal string. */
export const unixNanos = (ms: number) => `${Math.floor(ms)}000000`;

/** A LogQL stream selector of a service's logs. */
export const serviceLogQuery = (name: string) => `{service_name=${promString(name)}}`;
