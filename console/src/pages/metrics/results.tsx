// The Metrics page's results: the Graph view (a range query, one line per series) and the Table
// view (an instant query at the end of the range: each series' labels and value).
import { useMemo } from 'preact/hooks';

import { type Series, TimeChart } from '../../components/chart';
import { Loaded } from '../../components/states';
import { type Column, Table } from '../../components/table';
import { useApi } from '../../lib/api';
import { formatNumber, formatSeconds } from '../../lib/format';
import { type TimeRange, apiRange, formatTime, stepFor } from '../../lib/time';

/** A native histogram sample's summary (buckets left out). */
interface Histogram {
    count: string;
    sum: string;
}

/** A series of a Prometheus matrix or vector. */
interface PromSeries {
    metric: Record<string, string>;
    values?: Array<[number, string]>;
    histograms?: Array<[number, Histogram]>;
    value?: [number, string];
    histogram?: [number, Histogram];
}

/** The "data" of /api/v1/query and /api/v1/query_range. */
type PromData =
    | { resultType: 'matrix' | 'vector'; result: PromSeries[] }
    | { resultType: 'scalar' | 'string'; result: [number, string] };

/** At most this many series are drawn. */
export const MAX_SERIES = 20;

/** A series' name as PromQL writes it: name{a="x", b="y"}. */
export function seriesName(metric: Record<string, string>): string {
    const { __name__: name = '', ...rest } = metric;
    const labels = Object.keys(rest)
        .sort()
        .map((k) => `${k}=${JSON.stringify(rest[k])}`);
    return labels.length || !name ? `${name}{${labels.join(', ')}}` : name;
}

/** A sample value as the API wrote it, formatted; non-finite values as written ("+Inf", "NaN"). */
function formatSample(v: string): string {
    const n = Number(v);
    return Number.isFinite(n) ? formatNumber(n) : v;
}

/** The times and series of a range query's matrix over the range's steps. */
function toChart(data: PromData, range: TimeRange, step: number): { times: number[]; series: Series[]; total: number; histogramsOnly: number } {
    const n = Math.floor((range.end - range.start) / step + 1e-9) + 1;
    const times = Array.from({ length: n }, (_, i) => range.start + i * step);
    if (data.resultType !== 'matrix') {
        const v = data.resultType === 'scalar' ? Number(data.result[1]) : null;
        return { times, series: v === null ? [] : [{ label: 'scalar', values: times.map(() => v) }], total: v === null ? 0 : 1, histogramsOnly: 0 };
    }
    const withFloats = data.result.filter((s) => s.values?.length);
    const series = withFloats.slice(0, MAX_SERIES).map((s) => {
        const values = new Array<number | null>(n).fill(null);
        for (const [t, v] of s.values!) {
            const i = Math.round((t - range.start) / step);
            if (i >= 0 && i < n) values[i] = Number(v);
        }
        return { label: seriesName(s.metric), values };
    });
    return { times, series, total: withFloats.length, histogramsOnly: data.result.length - withFloats.length };
}

/** The Graph view: /api/v1/query_range over the page's range, stepFor(range). */
export function GraphView({ query, range }: { query: string; range: TimeRange }) {
    const step = stepFor(range);
    const r = useApi<{ data: PromData }>('/api/v1/query_range', { query, ...apiRange(range), step });
    const chart = useMemo(() => (r.data ? toChart(r.data.data, range, step) : null), [r.data]);
    return (
        <Loaded r={r} what="the graph" isEmpty={() => !chart || (chart.total === 0 && chart.histogramsOnly === 0)} empty="The query returned no series in this time range.">
            {() =>
                chart && (
                    <>
                        <p class="muted">
                            {chart.total > MAX_SERIES ? `The first ${MAX_SERIES} of ${formatNumber(chart.total)} series` : `${formatNumber(chart.total)} series`},
                            one point every {formatSeconds(step)}.
                            {chart.histogramsOnly > 0 &&
                                ` ${formatNumber(chart.histogramsOnly)} series hold native histograms only: ` +
                                    'graph them through histogram_quantile(), histogram_count() or histogram_sum().'}
                        </p>
                        {chart.series.length > 0 && (
                            <TimeChart times={chart.times} series={chart.series} height={320} format={formatNumber} title={`Graph of ${query}`} />
                        )}
                    </>
                )
            }
        </Loaded>
    );
}

/** A row of the Table view. */
interface Row {
    key: string;
    name: string;
    value: string; // as the API wrote it
    num: number; // for sorting
    shown: string;
}

/** The rows of an instant query's answer. */
function toRows(data: PromData): Row[] {
    if (data.resultType === 'scalar' || data.resultType === 'string') {
        const v = data.result[1];
        return [{ key: 'scalar', name: data.resultType, value: v, num: Number(v), shown: data.resultType === 'scalar' ? formatSample(v) : v }];
    }
    return (data.result as PromSeries[]).map((s, i) => {
        const name = seriesName(s.metric);
        if (s.value) return { key: `${i}`, name, value: s.value[1], num: Number(s.value[1]), shown: formatSample(s.value[1]) };
        if (s.histogram) {
            const h = s.histogram[1];
            return { key: `${i}`, name, value: h.count, num: Number(h.count), shown: `histogram: count ${formatSample(h.count)}, sum ${formatSample(h.sum)}` };
        }
        const pts = s.values ?? [];
        const last = pts[pts.length - 1];
        const shown = pts
            .slice(-5)
            .map(([t, v]) => `${formatSample(v)} @ ${formatTime(t * 1000)}`)
            .join(', ');
        const what = `${pts.length} samples${pts.length > 5 ? ', the last 5' : ''}`;
        return { key: `${i}`, name, value: last?.[1] ?? '', num: last ? Number(last[1]) : NaN, shown: `${what}: ${shown}` };
    });
}

const COLUMNS: Array<Column<Row>> = [
    { key: 'series', label: 'Series', sort: (r) => r.name, render: (r) => <span class="mono series-name">{r.name}</span> },
    {
        key: 'value',
        label: 'Value',
        numeric: true,
        sort: (r) => r.num,
        render: (r) => <span title={r.value}>{r.shown}</span>,
    },
];

/** The Table view: /api/v1/query at the end of the page's range. */
export function TableView({ query, range }: { query: string; range: TimeRange }) {
    const time = apiRange(range).end;
    const r = useApi<{ data: PromData }>('/api/v1/query', { query, time });
    const rows = useMemo(() => (r.data ? toRows(r.data.data) : []), [r.data]);
    const type = r.data?.data.resultType;
    return (
        <Loaded r={r} what="the table" isEmpty={() => rows.length === 0} empty="The query returned no series at the end of this time range.">
            {() => (
                <>
                    <p class="muted">
                        {formatNumber(rows.length)} {type === 'matrix' ? 'range vectors' : type === 'vector' ? 'series' : 'result'} at {formatTime(range.endMs)}.
                    </p>
                    <Table id="mt" columns={COLUMNS} rows={rows} rowKey={(x) => x.key} filterText={(x) => x.name} caption={`Result of ${query}`} />
                </>
            )}
        </Loaded>
    );
}
