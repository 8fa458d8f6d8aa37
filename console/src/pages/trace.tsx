// The Trace page (/traces/:id): one trace from GET /api/v1/traces/{id} (OTLP/JSON), with a
// header summing it up and four tabs: Waterfall (the span tree on a time axis, the critical path
// and a details panel), Flame graph, Statistics per operation, and the trace's Logs. The tab,
// the selected span (spanId), the collapsed spans and the tabs' options live in the URL, so a
// link to /traces/:id?spanId=... opens with that span selected and scrolled to.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo } from 'preact/hooks';

import { Link } from '../components/link';
import { Empty, ErrorState, Loading } from '../components/states';
import { useApi } from '../lib/api';
import { formatNumber, formatSeconds } from '../lib/format';
import { setQuery, useLocation } from '../lib/router';
import { formatTime } from '../lib/time';
import { useServiceColours } from './trace/colours';
import { SpanDetails } from './trace/details';
import { FlameGraph } from './trace/flamegraph';
import { TraceLogs } from './trace/logs';
import type { TraceModel, TracesData } from './trace/model';
import { ancestors, buildModel, nsSeconds, nsToMs, visibleSpans } from './trace/model';
import { TraceStats } from './trace/stats';
import type { Tab } from './trace/url';
import { TABS, collapsedOf, setCollapsed, tabOf } from './trace/url';
import { Waterfall } from './trace/waterfall';

import './trace.css';

/** The page of trace id. */
export function TracePage({ id }: { id: string }) {
    const r = useApi<TracesData>(`/api/v1/traces/${encodeURIComponent(id)}`);
    let body: ComponentChildren;
    if (r.error?.status === 404)
        body = (
            <Empty>
                No trace with id <code>{id}</code>: none of its spans is stored (not sent yet, sampled out, or dropped by retention).{' '}
                <Link to="/traces">Search traces</Link>
            </Empty>
        );
    else if (r.error) body = <ErrorState error={r.error} retry={r.reload} />;
    else if (r.data === undefined) body = <Loading what="the trace" />;
    else body = <TraceView key={id} id={id} doc={r.data} />;
    return <div class="trace-page">{body}</div>;
}

/** A loaded trace: header, tabs and the current tab. */
function TraceView({ id, doc }: { id: string; doc: TracesData }) {
    const { query } = useLocation();
    const model = useMemo(() => buildModel(doc), [doc]);
    const colours = useServiceColours(model.services);
    const tab = tabOf(query);
    const spanId = query.get('spanId') ?? '';
    const selected = spanId ? (model.byId.get(spanId) ?? -1) : -1;
    const collapsedParam = query.get('collapsed') ?? '';
    const collapsed = useMemo(() => collapsedOf(query), [collapsedParam]);
    const rows = useMemo(() => visibleSpans(model, collapsed), [model, collapsed]);

    // A selected span hidden in a collapsed subtree (a deep link) gets its ancestors expanded.
    useEffect(() => {
        if (selected < 0) return;
        const hidden = ancestors(model, selected).filter((a) => collapsed.has(model.spans[a].spanId));
        if (!hidden.length) return;
        const next = new Set(collapsed);
        for (const a of hidden) next.delete(model.spans[a].spanId);
        setCollapsed(next);
    }, [model, selected]);

    const onSelect = useCallback((i: number) => setQuery({ spanId: i >= 0 ? model.spans[i].spanId : undefined, spanLogs: undefined }), [model]);
    const onToggle = (i: number, open: boolean) => {
        const s = model.spans[i];
        const next = new Set(collapsed);
        if (open) next.delete(s.spanId);
        else next.add(s.spanId);
        // Collapsing the subtree that holds the selection moves the selection to the collapsed span.
        const moveSelection = !open && selected >= 0 && ancestors(model, selected).includes(i);
        setQuery({ collapsed: [...next].join(','), ...(moveSelection ? { spanId: s.spanId } : {}) });
    };

    const withDetails = (tab === 'waterfall' || tab === 'flame') && selected >= 0;
    return (
        <>
            <TraceHeader id={id} model={model} />
            {spanId && selected < 0 && (
                <p class="trace-notice" role="status">
                    Span <code>{spanId}</code> is not in this trace.{' '}
                    <button type="button" class="linklike" onClick={() => onSelect(-1)}>
                        Clear the selection
                    </button>
                </p>
            )}
            <Tabs tab={tab} />
            <div
                id={`trace-panel-${tab}`}
                role="tabpanel"
                aria-labelledby={`trace-tab-${tab}`}
                class={`trace-panel${withDetails ? ' with-details' : ''}`}
            >
                <div class="trace-panel-main">
                    {(tab === 'waterfall' || tab === 'flame') && <Legend model={model} colours={colours} critical={tab === 'waterfall'} />}
                    {tab === 'waterfall' && (
                        <>
                            <WaterfallToolbar
                                model={model}
                                rows={rows.length}
                                collapsed={collapsed}
                                selected={selected}
                                showCritical={query.get('cp') !== '0'}
                            />
                            <Waterfall
                                model={model}
                                rows={rows}
                                selected={selected}
                                collapsed={collapsed}
                                colours={colours}
                                showCritical={query.get('cp') !== '0'}
                                onSelect={onSelect}
                                onToggle={onToggle}
                            />
                        </>
                    )}
                    {tab === 'flame' && <FlameGraph model={model} selected={selected} colours={colours} onSelect={onSelect} />}
                    {tab === 'stats' && <TraceStats model={model} colours={colours} />}
                    {tab === 'logs' && (
                        <TraceLogs
                            traceId={id}
                            model={model}
                            selected={selected}
                            onlySpan={query.get('spanLogs') === '1'}
                            showStarts={query.get('starts') !== '0'}
                        />
                    )}
                </div>
                {withDetails && <SpanDetails model={model} span={model.spans[selected]} onSelect={onSelect} />}
            </div>
        </>
    );
}

/** The trace's summary: id, root, start, duration, spans, services, errors. */
function TraceHeader({ id, model }: { id: string; model: TraceModel }) {
    const root = model.root >= 0 ? model.spans[model.root] : undefined;
    return (
        <section class="trace-header" aria-label="Trace summary" data-testid="trace-header">
            <div class="th-title">
                <Link to="/traces" class="th-back">
                    ← Traces
                </Link>
                <h2>
                    {root ? (
                        <>
                            <span class="muted">{root.service || '(no service)'}</span> {root.name}
                        </>
                    ) : (
                        'Trace'
                    )}
                </h2>
                {root?.missingParent && <span class="muted">(the root span has not arrived: this is the earliest span)</span>}
            </div>
            <dl class="th-facts">
                <Fact label="Trace id" testid="trace-id">
                    <code>{model.spans[0]?.traceId || id}</code>
                </Fact>
                <Fact label="Start">{formatTime(nsToMs(model.startUnixNano))}</Fact>
                <Fact label="Duration" testid="trace-duration">
                    {formatSeconds(nsSeconds(model.duration))}
                </Fact>
                <Fact label="Spans" testid="trace-spans">
                    {formatNumber(model.spans.length)}
                </Fact>
                <Fact label="Services" testid="trace-services">
                    <span title={model.services.join(', ')}>{formatNumber(model.services.length)}</span>
                </Fact>
                <Fact label="Errors" testid="trace-errors">
                    <span class={model.errors ? 'error-text' : undefined}>{formatNumber(model.errors)}</span>
                </Fact>
                <Fact label="Depth">{formatNumber(model.maxDepth + 1)}</Fact>
            </dl>
        </section>
    );
}

function Fact({ label, testid, children }: { label: string; testid?: string; children: ComponentChildren }) {
    return (
        <div class="th-fact" data-testid={testid}>
            <dt>{label}</dt>
            <dd>{children}</dd>
        </div>
    );
}

/** The tab bar (the tab is in the URL; arrow keys move between tabs). */
function Tabs({ tab }: { tab: Tab }) {
    const go = (t: Tab) => setQuery({ tab: t === 'waterfall' ? undefined : t }, false);
    const onKeyDown = (e: KeyboardEvent) => {
        const k = TABS.findIndex(([t]) => t === tab);
        const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
        if (!d) return;
        e.preventDefault();
        const next = TABS[(k + d + TABS.length) % TABS.length][0];
        go(next);
        window.setTimeout(() => document.getElementById(`trace-tab-${next}`)?.focus());
    };
    return (
        <div class="trace-tabs" role="tablist" aria-label="Trace views" onKeyDown={onKeyDown}>
            {TABS.map(([t, label]) => (
                <button
                    key={t}
                    type="button"
                    role="tab"
                    id={`trace-tab-${t}`}
                    aria-selected={t === tab}
                    aria-controls={`trace-panel-${t}`}
                    tabIndex={t === tab ? 0 : -1}
                    class={t === tab ? 'active' : undefined}
                    onClick={() => go(t)}
                >
                    {label}
                </button>
            ))}
        </div>
    );
}

/** Which colour is which service, and the markers. */
function Legend({ model, colours, critical }: { model: TraceModel; colours: Map<string, string>; critical: boolean }) {
    return (
        <ul class="trace-legend" aria-label="Legend">
            {model.services.map((s) => (
                <li key={s}>
                    <span class="wf-swatch" style={{ background: colours.get(s) }} aria-hidden="true" /> {s}
                </li>
            ))}
            {critical && (
                <li>
                    <span class="legend-critical" aria-hidden="true" /> critical path
                </li>
            )}
            <li>
                <span class="error-text" aria-hidden="true">
                    ⚠
                </span>{' '}
                error
            </li>
        </ul>
    );
}

/** The waterfall's options: the critical path on or off, expand all, collapse to the roots. */
function WaterfallToolbar(props: { model: TraceModel; rows: number; collapsed: Set<string>; selected: number; showCritical: boolean }) {
    const { model, rows, collapsed, selected, showCritical } = props;
    // Collapsing every root: the selection moves up to its root, which stays in view.
    const collapseRoots = () => {
        const ids = model.roots.filter((r) => model.spans[r].children.length).map((r) => model.spans[r].spanId);
        const root = selected >= 0 ? [selected, ...ancestors(model, selected)].pop()! : -1;
        setQuery({ collapsed: ids.join(','), spanId: root >= 0 ? model.spans[root].spanId : undefined });
    };
    return (
        <div class="toolbar wf-toolbar">
            <label class="inline">
                <input type="checkbox" checked={showCritical} onChange={(e) => setQuery({ cp: e.currentTarget.checked ? undefined : '0' })} />
                Highlight the critical path ({formatNumber(model.criticalSpans)} spans)
            </label>
            <button type="button" class="btn" disabled={collapsed.size === 0} onClick={() => setQuery({ collapsed: undefined })}>
                Expand all
            </button>
            <button type="button" class="btn" onClick={collapseRoots}>
                Collapse to the roots
            </button>
            <span class="muted">
                {formatNumber(rows)} of {formatNumber(model.spans.length)} spans shown · ↑↓ select, ←→ collapse and expand
            </span>
        </div>
    );
}
