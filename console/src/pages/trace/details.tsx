// The selected span's details beside the waterfall and the flame graph: status, kind, times,
// ids (with a link to the span's logs), attributes, events, links, resource and scope, every
// field as the trace API gave it.
import type { ComponentChildren } from 'preact';

import { Link } from '../../components/link';
import { formatSeconds } from '../../lib/format';
import { onLinkClick } from '../../lib/router';
import { formatTime } from '../../lib/time';
import type { KeyValue, Span, TraceModel } from './model';
import { kindName, nsSeconds, nsToMs, statusName, valueText } from './model';
import { hereWith } from './url';

const dur = (ns: number) => formatSeconds(nsSeconds(ns));

/** The details panel of span s. */
export function SpanDetails({ model, span: s, onSelect }: { model: TraceModel; span: Span; onSelect: (i: number) => void }) {
    const parent = s.parent >= 0 ? model.spans[s.parent] : undefined;
    const critical = s.critical.reduce((t, [a, b]) => t + b - a, 0);
    return (
        <aside class="span-details" aria-label="Span details" data-testid="span-details">
            <header class="sd-head">
                <h2>
                    <span class="muted">{s.service || '(no service)'}</span> {s.name}
                </h2>
                <button type="button" class="btn" onClick={() => onSelect(-1)} aria-label="Close the span details">
                    ✕
                </button>
            </header>
            <dl class="sd-facts">
                <Fact label="Status">
                    <span class={s.error ? 'error-text' : undefined}>{statusName(s.statusCode)}</span>
                    {s.statusMessage && <span class={s.error ? 'error-text' : undefined}>: {s.statusMessage}</span>}
                </Fact>
                <Fact label="Kind">{kindName(s.kind)}</Fact>
                <Fact label="Duration">{dur(s.duration)}</Fact>
                <Fact label="Self time">{dur(s.self)}</Fact>
                <Fact label="Start">
                    {s.start === 0 ? 'at the start' : `+${dur(s.start)}`} <span class="muted">({formatTime(nsToMs(s.startUnixNano))})</span>
                </Fact>
                {critical > 0 && <Fact label="On the critical path">{dur(critical)}</Fact>}
                <Fact label="Children">{s.children.length}</Fact>
            </dl>
            <h3>Ids</h3>
            <dl class="sd-facts">
                <Fact label="Span id">
                    <code>{s.spanId}</code>{' '}
                    <a href={hereWith({ tab: 'logs', spanId: s.spanId, spanLogs: '1' })} onClick={onLinkClick} data-testid="span-logs-link">
                        Logs of this span
                    </a>
                </Fact>
                <Fact label="Parent span id">
                    {parent ? (
                        <button type="button" class="linklike mono" onClick={() => onSelect(parent.i)} title="Select the parent span">
                            {s.parentSpanId}
                        </button>
                    ) : s.parentSpanId ? (
                        <>
                            <code>{s.parentSpanId}</code> <span class="muted">(not in this trace)</span>
                        </>
                    ) : (
                        <span class="muted">none (a root span)</span>
                    )}
                </Fact>
                <Fact label="Trace id">
                    <code>{s.traceId}</code>
                </Fact>
                {s.traceState && (
                    <Fact label="Trace state">
                        <code>{s.traceState}</code>
                    </Fact>
                )}
                {s.flags !== 0 && (
                    <Fact label="Flags">
                        <code>0x{s.flags.toString(16).padStart(8, '0')}</code>
                    </Fact>
                )}
            </dl>
            <Attributes title="Attributes" attrs={s.attributes} dropped={s.droppedAttributesCount} />
            <section class="sd-section">
                <h3>Events ({s.events.length})</h3>
                {s.events.length === 0 ? (
                    <p class="muted">No events{s.droppedEventsCount ? ` (${s.droppedEventsCount} dropped)` : ''}.</p>
                ) : (
                    <ol class="sd-events">
                        {s.events.map((e, k) => (
                            <li key={k}>
                                <div>
                                    <span class="mono">+{dur(e.at - s.start)}</span> <strong>{e.name}</strong>
                                </div>
                                {e.attributes.length > 0 && <KvTable attrs={e.attributes} caption={`Attributes of event ${e.name}`} />}
                            </li>
                        ))}
                        {s.droppedEventsCount > 0 && <li class="muted">{s.droppedEventsCount} dropped</li>}
                    </ol>
                )}
            </section>
            <section class="sd-section">
                <h3>Links ({s.links.length})</h3>
                {s.links.length === 0 ? (
                    <p class="muted">No links{s.droppedLinksCount ? ` (${s.droppedLinksCount} dropped)` : ''}.</p>
                ) : (
                    <ul class="sd-links">
                        {s.links.map((l, k) => (
                            <li key={k}>
                                <Link to={`/traces/${encodeURIComponent(l.traceId)}`} query={{ spanId: l.spanId }}>
                                    <code>{l.traceId}</code> / <code>{l.spanId}</code>
                                </Link>
                                {l.attributes.length > 0 && <KvTable attrs={l.attributes} caption="Attributes of the link" />}
                            </li>
                        ))}
                    </ul>
                )}
            </section>
            <Attributes title="Resource" attrs={s.resource.attributes} dropped={s.resource.droppedAttributesCount} />
            <section class="sd-section">
                <h3>Scope</h3>
                {s.scope.name || s.scope.version ? (
                    <p>
                        <code>{s.scope.name || '(unnamed)'}</code> {s.scope.version && <span class="muted">{s.scope.version}</span>}
                    </p>
                ) : (
                    <p class="muted">No instrumentation scope.</p>
                )}
                {s.scope.attributes.length > 0 && <KvTable attrs={s.scope.attributes} caption="Scope attributes" />}
            </section>
        </aside>
    );
}

function Fact({ label, children }: { label: string; children: ComponentChildren }) {
    return (
        <>
            <dt>{label}</dt>
            <dd>{children}</dd>
        </>
    );
}

function Attributes({ title, attrs, dropped }: { title: string; attrs: KeyValue[]; dropped: number }) {
    return (
        <section class="sd-section">
            <h3>
                {title} ({attrs.length})
            </h3>
            {attrs.length === 0 ? <p class="muted">None.</p> : <KvTable attrs={attrs} caption={title} />}
            {dropped > 0 && <p class="muted">{dropped} dropped.</p>}
        </section>
    );
}

function KvTable({ attrs, caption }: { attrs: KeyValue[]; caption: string }) {
    return (
        <table class="data kv">
            <caption class="visually-hidden">{caption}</caption>
            <tbody>
                {attrs.map((a, k) => (
                    <tr key={k}>
                        <th scope="row">{a.key}</th>
                        <td>{valueText(a.value)}</td>
                    </tr>
                ))}
            </tbody>
        </table>
    );
}
