// The Logs page's lines: newest first, with time, level (a word and a colour), stream labels and
// message; a line expands to show every label and its structured metadata, and a line that
// carries a trace id links to the trace.
import { Component } from 'preact';
import { useState } from 'preact/hooks';

import { Link } from '../../components/link';
import { formatNumber } from '../../lib/format';
import { setQuery } from '../../lib/router';
import { type LogEntry, formatNs } from './entries';
import { levelOf } from './logql';

interface Props {
    entries: LogEntry[];
    streamLabels: Set<string>; // names of stream labels; every other label is structured metadata
    selected: string | null; // key of the expanded line
    caption: string;
}

/** The trace of a line as a link, or as text when the store holds none of its spans. */
function TraceRef({ e, short }: { e: LogEntry; short?: boolean }) {
    if (!e.traceId) return null;
    const id = short ? `${e.traceId.slice(0, 8)}…` : e.traceId;
    if (e.trace === 'absent')
        return (
            <span class="log-trace muted" title="No span of this trace is stored">
                trace {id} (not stored)
            </span>
        );
    return (
        <Link class="log-trace" to={`/traces/${encodeURIComponent(e.traceId)}`} query={{ spanId: e.spanId }} title={`Trace ${e.traceId}`}>
            trace {id}
        </Link>
    );
}

/** name = value pairs as a definition list; trace_id and span_id link to the trace. */
function LabelList({ e, names }: { e: LogEntry; names: string[] }) {
    return (
        <dl class="log-labels">
            {names.map((k) => (
                <div key={k}>
                    <dt>{k}</dt>
                    <dd class="mono">
                        {(k === 'trace_id' || k === 'span_id') && e.traceId && e.trace !== 'absent' ? (
                            <Link to={`/traces/${encodeURIComponent(e.traceId)}`} query={{ spanId: e.spanId }}>
                                {e.labels[k]}
                            </Link>
                        ) : (
                            e.labels[k]
                        )}
                    </dd>
                </div>
            ))}
        </dl>
    );
}

/** Everything about one line: the whole message, its stream labels and structured metadata. */
function LineDetail({ e, streamLabels }: { e: LogEntry; streamLabels: Set<string> }) {
    const names = Object.keys(e.labels).sort();
    const stream = names.filter((k) => streamLabels.has(k));
    const meta = names.filter((k) => !streamLabels.has(k));
    return (
        <div class="log-detail-body">
            <pre class="log-full">{e.line || '(empty line)'}</pre>
            <p class="muted">
                {formatNs(e.time)} · unix ns {e.time} <TraceRef e={e} />
            </p>
            <div class="log-detail-cols">
                <section>
                    <h3>Stream labels</h3>
                    {stream.length ? <LabelList e={e} names={stream} /> : <p class="muted">None.</p>}
                </section>
                <section>
                    <h3>Structured metadata</h3>
                    {meta.length ? <LabelList e={e} names={meta} /> : <p class="muted">None.</p>}
                </section>
            </div>
        </div>
    );
}

/** The stream labels of a line shown in its row: service_name first. */
function rowLabels(e: LogEntry, streamLabels: Set<string>): Array<[string, string]> {
    const out = Object.entries(e.labels).filter(([k, v]) => v && streamLabels.has(k) && k !== 'service_name');
    out.sort(([a], [b]) => a.localeCompare(b));
    return e.labels.service_name ? [['service_name', e.labels.service_name], ...out] : out;
}

interface RowProps {
    e: LogEntry;
    open: boolean;
    streamLabels: Set<string>;
}

/**
 * One line's row, and its details below it when open. Rendered again only when its props change,
 * so that a live tail's new lines do not redraw the thousands already shown.
 */
class LogRow extends Component<RowProps> {
    shouldComponentUpdate(next: RowProps) {
        return next.e !== this.props.e || next.open !== this.props.open || next.streamLabels !== this.props.streamLabels;
    }

    render() {
        return <LogRowView {...this.props} />;
    }
}

function LogRowView({ e, open, streamLabels }: RowProps) {
    const level = levelOf(e.labels);
    const time = formatNs(e.time);
    const detailId = `log-detail-${e.key}`;
    return (
        <>
            <tr class={`log-row lvl-row-${level}${open ? ' open' : ''}`}>
                <td>
                    <button
                        type="button"
                        class="log-expand"
                        aria-expanded={open}
                        aria-controls={open ? detailId : undefined}
                        aria-label={`${open ? 'Hide' : 'Show'} all labels of the line at ${time}`}
                        onClick={() => setQuery({ line: open ? undefined : e.key })}
                    >
                        {open ? '▾' : '▸'}
                    </button>
                </td>
                <td class="mono nowrap">{time}</td>
                <td>
                    <span class={`lvl lvl-${level}`}>{level}</span>
                </td>
                <td class="log-chips">
                    {rowLabels(e, streamLabels).map(([k, v]) => (
                        <span key={k} class="chip" title={`${k}="${v}"`}>
                            {k === 'service_name' ? v : `${k}=${v}`}
                        </span>
                    ))}
                </td>
                <td class="log-msg">
                    <span class="mono">{e.line}</span> <TraceRef e={e} short />
                </td>
            </tr>
            {open && (
                <tr id={detailId} class="log-detail">
                    <td colSpan={5}>
                        <LineDetail e={e} streamLabels={streamLabels} />
                    </td>
                </tr>
            )}
        </>
    );
}

/** Rows drawn at first, and added by each "Show more": thousands of rows at once are slow to lay out. */
const PAGE = 500;

export function LogLines({ entries, streamLabels, selected, caption }: Props) {
    const [pages, setPages] = useState(1);
    const at = selected ? entries.findIndex((e) => e.key === selected) : -1;
    const shown = Math.max(pages * PAGE, at + 1);
    return (
        <>
            <table class="data log-lines">
                <caption class="visually-hidden">{caption}</caption>
                <colgroup>
                    <col class="col-expand" />
                    <col class="col-time" />
                    <col class="col-level" />
                    <col class="col-labels" />
                    <col />
                </colgroup>
                <thead>
                    <tr>
                        <th scope="col">
                            <span class="visually-hidden">Details</span>
                        </th>
                        <th scope="col">Time</th>
                        <th scope="col">Level</th>
                        <th scope="col">Labels</th>
                        <th scope="col">Message</th>
                    </tr>
                </thead>
                <tbody>
                    {entries.slice(0, shown).map((e) => (
                        <LogRow key={e.key} e={e} open={e.key === selected} streamLabels={streamLabels} />
                    ))}
                </tbody>
            </table>
            {entries.length > shown && (
                <p class="logs-more">
                    <span class="muted">
                        Showing {formatNumber(shown)} of {formatNumber(entries.length)} lines.
                    </span>{' '}
                    <button type="button" class="btn" onClick={() => setPages(Math.ceil(shown / PAGE) + 1)}>
                        Show {formatNumber(Math.min(PAGE, entries.length - shown))} more
                    </button>
                </p>
            )}
        </>
    );
}
