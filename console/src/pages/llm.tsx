// The LLM page: usage per model, provider, service or user (GET /api/v1/llm/models), the
// same over time (GET /api/v1/llm/timeseries), streaming quality per model
// (GET /api/v1/llm/streaming) and the GenAI diagnosis of one trace (GET /api/v1/llm/diagnose).
// The grouping, chart metric, stall threshold, sorts and the diagnosed trace are in the URL.
import type { ComponentChildren } from 'preact';
import { useTimeRange } from '../lib/time';
import { useRangeApi } from '../lib/api';
import { useMemo } from 'preact/hooks';

import { TimeChart } from '../components/chart';
import { Link } from '../components/link';
import { Loaded } from '../components/states';
import { type Column, Table } from '../components/table';
import { formatCost, formatMs, formatNumber, formatPercent, formatSeconds } from '../lib/format';
import { setQuery, useLocation } from '../lib/router';
import { stepFor } from '../lib/time';
import { ErrorCount, IndexedFrom, UserLink } from './ai/common';
import { DiagnoseBox } from './ai/diagnose';
import { Tabs } from './ai/tabs';
import type { GroupBy, LlmMetric, LlmModels, LlmStreaming, LlmTimeseries, LlmUsage, StreamingStats } from './ai/types';

import './ai/ai.css';
import './llm.css';

const GROUPS: Array<[GroupBy, string]> = [
    ['model', 'Model'],
    ['provider', 'Provider'],
    ['service', 'Service'],
    ['user', 'User'],
];

/** The chart metrics: label and how to show a value. */
const METRICS: Array<[LlmMetric, string, (v: number) => string]> = [
    ['calls', 'Calls', formatNumber],
    ['errors', 'Errors', formatNumber],
    ['tokens', 'Tokens (input + output)', formatNumber],
    ['cost', 'Cost', formatCost],
    ['latency_p95', 'Latency p95', formatSeconds],
    ['ttft_p95', 'Time to first token p95', formatSeconds],
    ['tpot_p95', 'Time per output token p95', formatSeconds],
];

const STALL_CHOICES = [250, 500, 1000, 2000, 5000];

const oneOf = <T extends string>(v: string | null, choices: Array<[T, ...unknown[]]>, def: T): T => (choices.some(([c]) => c === v) ? (v as T) : def);

/** Picks the usage grouping (a new history entry: Back returns to the previous tab). */
const chooseGroup = (g: GroupBy) => setQuery({ groupBy: g === 'model' ? undefined : g }, false);

export function LlmPage() {
    const { query } = useLocation();
    const groupBy = oneOf(query.get('groupBy'), GROUPS, 'model');
    return (
        <div class="llm ai-page">
            <section aria-labelledby="usage-title">
                <h2 id="usage-title">Usage</h2>
                <Tabs id="llm-group" label="Group LLM usage by" choices={GROUPS} value={groupBy} onChange={chooseGroup}>
                    <UsageTable groupBy={groupBy} />
                    <UsageChart groupBy={groupBy} />
                </Tabs>
            </section>
            <StreamingSection />
            <DiagnoseBox />
        </div>
    );
}

/** The first column of the usage table: a link where a page shows more about the key. */
function KeyCell({ row, groupBy }: { row: LlmUsage; groupBy: GroupBy }) {
    if (!row.key) return <span class="muted">(none)</span>;
    if (groupBy === 'service') return <Link to={`/services/${encodeURIComponent(row.key)}`}>{row.key}</Link>;
    if (groupBy === 'user') return <UserLink user={row.key} />;
    return <>{row.key}</>;
}

/** A latency in seconds, with the exact figure on hover. */
const seconds = (v: number | null) => <span title={v === null ? 'no observations' : `${v} s`}>{formatSeconds(v)}</span>;

function usageColumns(groupBy: GroupBy): Array<Column<LlmUsage>> {
    const label = GROUPS.find(([g]) => g === groupBy)![1];
    const num = (key: keyof LlmUsage, text: string, show: (v: number | null) => ComponentChildren = formatNumber): Column<LlmUsage> => ({
        key,
        label: text,
        numeric: true,
        render: (r) => show(r[key] as number | null),
        sort: (r) => (r[key] as number | null) ?? NaN,
    });
    const cols: Array<Column<LlmUsage>> = [{ key: 'key', label, render: (r) => <KeyCell row={r} groupBy={groupBy} />, sort: (r) => r.key }];
    if (groupBy === 'model') {
        cols.push({ key: 'provider', label: 'Provider', render: (r) => r.provider || <span class="muted">–</span>, sort: (r) => r.provider ?? '' });
    }
    cols.push(
        num('calls', 'Calls'),
        num('errors', 'Errors', (v) => <ErrorCount n={v ?? 0} />),
        num('inputTokens', 'Input tokens'),
        num('outputTokens', 'Output tokens'),
        num('cacheReadTokens', 'Cache read'),
        num('cacheWriteTokens', 'Cache write'),
        num('cost', 'Cost', formatCost),
        num('latencyP50', 'Latency p50', seconds),
        num('latencyP95', 'Latency p95', seconds),
        num('ttftP50', 'TTFT p50', seconds),
        num('ttftP95', 'TTFT p95', seconds),
        num('tpotP50', 'TPOT p50', seconds),
        num('tpotP95', 'TPOT p95', seconds),
        num('streamingShare', 'Streamed', formatPercent),
    );
    return cols;
}

const rowKey = (r: LlmUsage) => `${r.key}\u0000${r.provider ?? ''}`;

function UsageTable({ groupBy }: { groupBy: GroupBy }) {
    const range = useTimeRange();
    const r = useRangeApi<LlmModels>('/api/v1/llm/models', { groupBy }, range);
    const what = groupBy === 'user' ? 'LLM calls with a user id' : 'LLM calls';
    return (
        <Loaded r={r} what="LLM usage" isEmpty={(d) => d.models.length === 0} empty={`No ${what} in this time range.`}>
            {(d) => (
                <>
                    <Table
                        id="llm"
                        columns={usageColumns(groupBy)}
                        rows={d.models}
                        rowKey={rowKey}
                        filterText={(x) => `${x.key} ${x.provider ?? ''}`}
                        defaultSort="-calls"
                        caption={`LLM usage by ${groupBy}`}
                    />
                    <p class="note muted">
                        Input tokens include cached ones (cache read and cache write are parts of them). Latencies are per call; TTFT is the time to
                        the first token and TPOT the time per output token of streamed calls; Streamed is the share of calls with a TTFT.
                        {groupBy === 'user' && ' Per user, quantiles are exact over the calls.'}
                    </p>
                </>
            )}
        </Loaded>
    );
}

function UsageChart({ groupBy }: { groupBy: GroupBy }) {
    const { query } = useLocation();
    const range = useTimeRange();
    const metric = oneOf(query.get('metric'), METRICS, 'calls');
    const [, label, format] = METRICS.find(([m]) => m === metric)!;
    const name = label.toLowerCase();
    const by = groupBy === 'user' ? 'model' : groupBy;
    const r = useRangeApi<LlmTimeseries>('/api/v1/llm/timeseries', { groupBy: by, metric, step: stepFor(range) }, range);
    return (
        <div class="usage-chart">
            <div class="toolbar">
                <h3>Over time</h3>
                <label>
                    Metric
                    <select value={metric} onChange={(e) => setQuery({ metric: e.currentTarget.value === 'calls' ? undefined : e.currentTarget.value })}>
                        {METRICS.map(([m, text]) => (
                            <option key={m} value={m}>
                                {text}
                            </option>
                        ))}
                    </select>
                </label>
                {groupBy === 'user' && <span class="muted">Charts are by model: the time series are not kept per user.</span>}
            </div>
            <Loaded r={r} what={`${name} over time`} isEmpty={(d) => d.series.length === 0} empty={`No ${name} in this time range.`}>
                {(d) => <SeriesChart data={d} title={`${label} per ${by}`} format={format} />}
            </Loaded>
        </div>
    );
}

function SeriesChart({ data, title, format }: { data: LlmTimeseries; title: string; format: (v: number) => string }) {
    const times = useMemo(() => data.series[0]?.points.map((p) => p[0]) ?? [], [data]);
    const series = useMemo(() => data.series.map((s) => ({ label: s.key || '(none)', values: s.points.map((p) => p[1]) })), [data]);
    return (
        <figure class="chart-figure">
            <TimeChart times={times} series={series} format={format} title={title} height={220} />
            <figcaption class="muted">
                One point per {formatSeconds(data.step)}, each the figure over the step before it.
            </figcaption>
        </figure>
    );
}

const STREAM_COLUMNS: Array<Column<StreamingStats>> = [
    { key: 'provider', label: 'Provider', render: (r) => r.provider || <span class="muted">–</span>, sort: (r) => r.provider },
    { key: 'model', label: 'Model', render: (r) => r.model || <span class="muted">–</span>, sort: (r) => r.model },
    { key: 'streamedCalls', label: 'Streamed calls', numeric: true, render: (r) => formatNumber(r.streamedCalls), sort: (r) => r.streamedCalls },
    {
        key: 'failedAfterFirstToken',
        label: 'Failed after first token',
        numeric: true,
        render: (r) => <ErrorCount n={r.failedAfterFirstToken} />,
        sort: (r) => r.failedAfterFirstToken,
    },
    {
        key: 'failedShare',
        label: 'Share failed',
        numeric: true,
        render: (r) => formatPercent(r.failedAfterFirstTokenShare),
        sort: (r) => r.failedAfterFirstTokenShare ?? NaN,
    },
    { key: 'stalls', label: 'Calls with a stall', numeric: true, render: (r) => formatNumber(r.stalls), sort: (r) => r.stalls },
    { key: 'maxGapMs', label: 'Largest gap', numeric: true, render: (r) => formatMs(r.maxGapMs), sort: (r) => r.maxGapMs ?? NaN },
];

function StreamingSection() {
    const { query } = useLocation();
    const range = useTimeRange();
    const asked = Number(query.get('stallMs'));
    const stallMs = STALL_CHOICES.includes(asked) ? asked : 1000;
    const r = useRangeApi<LlmStreaming>('/api/v1/llm/streaming', { stallMs }, range);
    return (
        <section aria-labelledby="streaming-title">
            <h2 id="streaming-title">Streaming quality</h2>
            <div class="toolbar">
                <label>
                    A stall is a gap between chunks over
                    <select value={stallMs} onChange={(e) => setQuery({ stallMs: e.currentTarget.value === '1000' ? undefined : e.currentTarget.value })}>
                        {STALL_CHOICES.map((ms) => (
                            <option key={ms} value={ms}>
                                {formatMs(ms)}
                            </option>
                        ))}
                    </select>
                </label>
            </div>
            <IndexedFrom s={r.data?.indexedFrom} />
            <Loaded r={r} what="streaming quality" isEmpty={(d) => d.models.length === 0} empty="No streamed LLM calls in this time range.">
                {(d) => (
                    <>
                        <Table
                            id="stream"
                            columns={STREAM_COLUMNS}
                            rows={d.models}
                            rowKey={(x) => `${x.provider}\u0000${x.model}`}
                            defaultSort="-streamedCalls"
                            caption="Streaming quality per provider and model"
                        />
                        <p class="note muted">
                            Per provider and model of the streamed calls. A call failed after its first token when it failed and has a TTFT; chunks are the span
                            events named like "chunk" or "token", and the largest gap is "–" when no call had two of them.
                        </p>
                    </>
                )}
            </Loaded>
        </section>
    );
}
