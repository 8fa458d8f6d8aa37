// The Logs tab: the trace's log lines (GET /api/v1/traces/{id}/logs, or only the selected
// span's with spanId=), interleaved by time with the starts of the spans, each linking to its
// span in the waterfall.
import { useMemo, useState } from 'preact/hooks';

import { Empty, Loaded } from '../../components/states';
import { useApi } from '../../lib/api';
import { formatNumber, formatSeconds } from '../../lib/format';
import { onLinkClick, setQuery } from '../../lib/router';
import { formatTime } from '../../lib/time';
import type { Span, TraceModel } from './model';
import { nsSeconds, nsToMs } from './model';
import { hereWith } from './url';

/** One line of GET /api/v1/traces/{id}/logs. */
interface TraceLog {
    time: string; // unix ns
    line: string;
    labels: Record<string, string>;
    traceId?: string;
    spanId?: string;
}

/** The most lines asked for (the API's cap). */
const LOG_LIMIT = 5000;
const PAGE = 500; // rows rendered at first, and added by "Show more"

type Item = { t: number; log: TraceLog; span?: undefined } | { t: number; span: Span; log?: undefined };

interface Props {
    traceId: string;
    model: TraceModel;
    selected: number; // -1 for none
    onlySpan: boolean; // the selected span's logs only
    showStarts: boolean;
}

/** The logs of a trace, with span starts between them. */
export function TraceLogs({ traceId, model, selected, onlySpan, showStarts }: Props) {
    const span = onlySpan && selected >= 0 ? model.spans[selected] : undefined;
    const r = useApi<{ logs: TraceLog[] }>(`/api/v1/traces/${encodeURIComponent(traceId)}/logs`, { limit: LOG_LIMIT, spanId: span?.spanId });
    return (
        <div class="trace-logs" data-testid="trace-logs">
            <div class="toolbar">
                <label class="inline">
                    <input type="checkbox" checked={showStarts} onChange={(e) => setQuery({ starts: e.currentTarget.checked ? undefined : '0' })} />
                    Show span starts
                </label>
                <label class="inline">
                    <input
                        type="checkbox"
                        checked={onlySpan}
                        disabled={selected < 0}
                        onChange={(e) => setQuery({ spanLogs: e.currentTarget.checked ? '1' : undefined })}
                    />
                    Only the selected span{selected >= 0 ? ` (${model.spans[selected].name})` : ' (select one in the waterfall)'}
                </label>
            </div>
            <Loaded r={r} what="the trace's logs">
                {(d) => <LogList logs={d.logs} model={model} span={span} showStarts={showStarts} />}
            </Loaded>
        </div>
    );
}

function LogList({ logs, model, span, showStarts }: { logs: TraceLog[]; model: TraceModel; span: Span | undefined; showStarts: boolean }) {
    const [limit, setLimit] = useState(PAGE);
    const items = useMemo(() => {
        const out: Item[] = logs.map((log) => ({ t: relative(log.time, model.startUnixNano), log }));
        if (showStarts) for (const s of span ? [span] : model.spans) out.push({ t: s.start, span: s });
        // By time; at the same time a span's start comes before the lines logged in it.
        return out.sort((a, b) => a.t - b.t || (a.span ? 0 : 1) - (b.span ? 0 : 1));
    }, [logs, model, span, showStarts]);
    const none = span ? `No logs for span ${span.name} (${span.spanId}).` : 'No logs for this trace.';
    return (
        <>
            {logs.length === 0 ? (
                <Empty>
                    {none} Logs are linked to a {span ? 'span when they carry its span id' : 'trace when they carry its trace id'}.
                </Empty>
            ) : (
                <p class="muted" role="status">
                    {formatNumber(logs.length)} log line{logs.length === 1 ? '' : 's'}
                    {logs.length >= LOG_LIMIT ? ` (the newest ${LOG_LIMIT}; there may be more)` : ''}
                    {showStarts ? ', between the span starts.' : '.'}
                </p>
            )}
            {logs.length > 0 && (
                <table class="data tl-table">
                    <caption class="visually-hidden">The trace's logs and span starts by time</caption>
                    <thead>
                        <tr>
                            <th scope="col" class="num">
                                Offset
                            </th>
                            <th scope="col">Level</th>
                            <th scope="col">Service</th>
                            <th scope="col">Message</th>
                            <th scope="col">Span</th>
                        </tr>
                    </thead>
                    <tbody>
                        {items.slice(0, limit).map((it, k) =>
                            it.span ? <StartRow key={`s${it.span.i}`} span={it.span} /> : <LogRow key={k} log={it.log} t={it.t} model={model} />,
                        )}
                    </tbody>
                </table>
            )}
            {logs.length > 0 && items.length > limit && (
                <button type="button" class="btn" onClick={() => setLimit(limit + PAGE)}>
                    Show {Math.min(PAGE, items.length - limit)} more of {formatNumber(items.length - limit)}
                </button>
            )}
        </>
    );
}

/** ns of time (a unix-ns string) after t0. */
function relative(time: string, t0: bigint): number {
    try {
        return Number(BigInt(time) - t0);
    } catch {
        return 0;
    }
}

/** An offset from the trace's start: "+12.3 ms", "−1.20 s" (a line logged before the first span), "0". */
const offset = (ns: number) => (ns === 0 ? '0' : `${ns < 0 ? '−' : '+'}${formatSeconds(nsSeconds(Math.abs(ns)))}`);

const spanHref = (spanId: string) => hereWith({ tab: undefined, spanId, spanLogs: undefined });

function StartRow({ span: s }: { span: Span }) {
    return (
        <tr class="tl-start">
            <td class="num mono">{offset(s.start)}</td>
            <td class="muted">span</td>
            <td>{s.service || '(no service)'}</td>
            <td>
                <span aria-hidden="true">▶ </span>
                {s.name} <span class="muted">starts ({formatSeconds(nsSeconds(s.duration))})</span>
            </td>
            <td>
                <a href={spanHref(s.spanId)} onClick={onLinkClick} class="mono">
                    {s.spanId}
                </a>
            </td>
        </tr>
    );
}

function LogRow({ log, t, model }: { log: TraceLog; t: number; model: TraceModel }) {
    const level = log.labels.detected_level ?? log.labels.severity_text ?? '';
    const inTrace = log.spanId !== undefined && model.byId.has(log.spanId);
    return (
        <tr class="tl-log">
            <td class="num mono" title={formatTime(nsToMs(log.time))}>
                {offset(t)}
            </td>
            <td class={level === 'error' || level === 'fatal' ? 'error-text' : undefined}>{level}</td>
            <td>{log.labels.service_name ?? ''}</td>
            <td class="tl-line">{log.line}</td>
            <td>
                {log.spanId ? (
                    inTrace ? (
                        <a href={spanHref(log.spanId)} onClick={onLinkClick} class="mono">
                            {log.spanId}
                        </a>
                    ) : (
                        <span class="mono muted" title="This span is not in the trace">
                            {log.spanId}
                        </span>
                    )
                ) : (
                    <span class="muted">–</span>
                )}
            </td>
        </tr>
    );
}
