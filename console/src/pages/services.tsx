// The Services page: every service's rate, error rate and latency over the time range (GET
// /api/v1/overview) with a sparkline of its request rate (one PromQL range query), and the
// overview's busiest LLM models.
import { useMemo } from 'preact/hooks';
import { useTimeRange } from '../lib/time';

import './services.css';

import { Sparkline } from '../components/chart';
import { Link } from '../components/link';
import { ErrorState, Loaded } from '../components/states';
import { Table } from '../components/table';
import type { Column } from '../components/table';
import { formatCost, formatNumber, formatPercent, formatSeconds } from '../lib/format';
import { stepFor } from '../lib/time';
import type { TimeRange } from '../lib/time';
import { CALLS, ENTRY_KINDS, rateWindow, servicePath, toChart, useOverview, useRangeQuery } from './svc/data';
import type { ModelUsage, ServiceRed } from './svc/data';

/** Points of a sparkline over the range. */
const SPARK_POINTS = 60;

/**
 * Request rate per service, step by step: its server and consumer spans, or all its spans
 * when it has none of those (as the overview counts a service's calls).
 */
function sparkQuery(step: number): string {
    const w = rateWindow(step);
    return `sum by (service_name) (rate(${CALLS}{${ENTRY_KINDS}}[${w}])) or sum by (service_name) (rate(${CALLS}[${w}]))`;
}

/** Each service's request rate over r, by service name. */
function useSparklines(r: TimeRange) {
    const step = stepFor(r, SPARK_POINTS);
    const res = useRangeQuery(sparkQuery(step), r, step);
    const byService = useMemo(() => {
        const out = new Map<string, Array<number | null>>();
        if (!res.data) return out;
        const chart = toChart(res.data.data.result, r, step, (m) => m.service_name ?? '');
        for (const s of chart.series) out.set(s.label, s.values);
        return out;
    }, [res.data]);
    return { byService, error: res.error, loading: res.loading };
}

function servicesColumns(spark: Map<string, Array<number | null>>, sparkLoading: boolean): Array<Column<ServiceRed>> {
    return [
        {
            key: 'name',
            label: 'Service',
            render: (s) => <Link to={servicePath(s.name)}>{s.name}</Link>,
            sort: (s) => s.name,
        },
        { key: 'rate', label: 'Requests/s', numeric: true, render: (s) => formatNumber(s.rate), sort: (s) => s.rate ?? NaN },
        {
            key: 'errorRate',
            label: 'Error rate',
            numeric: true,
            render: (s) => <span class={s.errors > 0 ? 'error-text' : undefined}>{formatPercent(s.errorRate)}</span>,
            sort: (s) => s.errorRate ?? NaN,
        },
        { key: 'p50', label: 'p50', numeric: true, render: (s) => formatSeconds(s.p50), sort: (s) => s.p50 ?? NaN },
        { key: 'p95', label: 'p95', numeric: true, render: (s) => formatSeconds(s.p95), sort: (s) => s.p95 ?? NaN },
        { key: 'p99', label: 'p99', numeric: true, render: (s) => formatSeconds(s.p99), sort: (s) => s.p99 ?? NaN },
        { key: 'calls', label: 'Calls', numeric: true, render: (s) => formatNumber(s.calls), sort: (s) => s.calls },
        { key: 'errors', label: 'Errors', numeric: true, render: (s) => formatNumber(s.errors), sort: (s) => s.errors },
        {
            key: 'trend',
            label: 'Requests over the range',
            render: (s) =>
                sparkLoading && !spark.has(s.name) ? (
                    <span class="muted">…</span>
                ) : (
                    <Sparkline values={spark.get(s.name) ?? []} width={120} label={`Request rate of ${s.name} over the time range`} />
                ),
        },
    ];
}

const MODEL_COLUMNS: Array<Column<ModelUsage>> = [
    { key: 'model', label: 'Model', render: (m) => m.model || <span class="muted">unknown</span>, sort: (m) => m.model },
    { key: 'provider', label: 'Provider', render: (m) => m.provider || <span class="muted">unknown</span>, sort: (m) => m.provider },
    { key: 'calls', label: 'Calls', numeric: true, render: (m) => formatNumber(m.calls), sort: (m) => m.calls },
    { key: 'errors', label: 'Errors', numeric: true, render: (m) => formatNumber(m.errors), sort: (m) => m.errors },
    { key: 'cost', label: 'Cost', numeric: true, render: (m) => formatCost(m.cost), sort: (m) => m.cost ?? NaN },
    { key: 'in', label: 'Input tokens', numeric: true, render: (m) => formatNumber(m.inputTokens), sort: (m) => m.inputTokens },
    { key: 'out', label: 'Output tokens', numeric: true, render: (m) => formatNumber(m.outputTokens), sort: (m) => m.outputTokens },
];

/** /services: the table of services and the top models. */
export function ServicesPage() {
    const r = useTimeRange();
    const overview = useOverview(r);
    const spark = useSparklines(r);
    return (
        <div class="services-page">
            <section aria-labelledby="services-h">
                <h2 id="services-h">Services</h2>
                <p class="muted hint">
                    Requests are the spans a service served (server and consumer spans; all its spans when it has none). Rates are per second over
                    the time range.
                </p>
                {spark.error && <ErrorState error={spark.error} />}
                <Loaded r={overview} what="services" isEmpty={(d) => d.services.length === 0} empty="No service sent spans in this time range.">
                    {(d) => (
                        <Table
                            id="svc"
                            caption="Services with their request rate, error rate and latency over the time range"
                            columns={servicesColumns(spark.byService, spark.loading)}
                            rows={d.services}
                            rowKey={(s) => s.name}
                            filterText={(s) => s.name}
                            defaultSort="name"
                        />
                    )}
                </Loaded>
            </section>
            <section aria-labelledby="models-h">
                <h2 id="models-h">Top LLM models</h2>
                <Loaded r={overview} what="models" isEmpty={(d) => d.models.length === 0} empty="No LLM calls in this time range.">
                    {(d) => (
                        <div class="models-table">
                            <Table
                                id="models"
                                caption="The ten busiest LLM models: calls, errors, cost and tokens"
                                columns={MODEL_COLUMNS}
                                rows={d.models}
                                rowKey={(m) => `${m.provider}\u0000${m.model}`}
                                defaultSort="-calls"
                            />
                        </div>
                    )}
                </Loaded>
            </section>
        </div>
    );
}
