// The Topology page: the service graph over the time range (GET /api/v1/topology) drawn in SVG
// with a layered layout (svc/graph-layout.ts): nodes sized by traffic, edges styled by health,
// the hot path highlighted; nodes open their service, edges the traces of their client. The
// same edges and nodes follow as tables.
import { useMemo, useState } from 'preact/hooks';
import { useTimeRange } from '../lib/time';

import './topology.css';

import { Link } from '../components/link';
import { Loaded } from '../components/states';
import { Table } from '../components/table';
import type { Column } from '../components/table';
import { formatNumber, formatPercent, formatSeconds } from '../lib/format';
import { globalQuery, href, navigate } from '../lib/router';
import { servicePath, useTopology } from './svc/data';
import type { Health, TopoEdge, TopoNode, Topology } from './svc/data';
import { layeredLayout } from './svc/graph-layout';
import type { GraphLayout, Point } from './svc/graph-layout';
import { HEALTH_TEXT, HealthBadges, healthRank, worstHealth } from './svc/health';

const MIN_R = 8;
const MAX_R = 24;
const LABEL_CHARS = 24;

/** The trace search for an edge: its client's spans, or its server's when the client is not a service (user, ...). */
function edgeTracesUrl(e: TopoEdge, kinds: Map<string, TopoNode['kind']>): string {
    const service = kinds.get(e.client) === 'service' ? e.client : e.server;
    return href('/traces', { ...globalQuery(), service });
}

const connectionName = (t: string) => ({ '': 'request', virtual_node: 'uninstrumented peer', database: 'database', messaging_system: 'messaging' })[t] ?? t;

const healthWords = (h: Health[]) => (h.length ? h : ['ok']).join(', ');

function edgeText(e: TopoEdge): string {
    return `${e.client} → ${e.server} (${connectionName(e.connectionType)}): ${formatNumber(e.rate)} requests/s, error rate ${formatPercent(e.errorRate)}, p95 ${formatSeconds(e.p95)}, ${healthWords(e.health)}`;
}

function nodeText(n: TopoNode): string {
    const kind = n.kind === 'virtual' ? 'virtual node, not instrumented' : 'service';
    return `${n.id} (${kind}): ${formatNumber(n.rate)} requests/s, error rate ${formatPercent(n.errorRate)}, p95 ${formatSeconds(n.p95)}, ${healthWords(n.health)}`;
}

/**
 * A node's name as drawn: cut to LABEL_CHARS, at the end of a word where one ends in its second
 * half, so that the words shown are words of the accessible name (nodeName).
 */
function shortLabel(s: string): string {
    if (s.length <= LABEL_CHARS) return s;
    const cut = s.slice(0, LABEL_CHARS - 1);
    const word = cut.search(/[^\p{L}\p{N}][\p{L}\p{N}]*$/u);
    return `${word >= LABEL_CHARS / 2 ? cut.slice(0, word) : cut}…`;
}

/** What a node shows under its name: its rate, and its health when not ok. */
function nodeSub(n: TopoNode): string {
    const flags = n.health.filter((f) => f !== 'ok');
    return `${formatNumber(n.rate)}/s${flags.length ? ` · ${flags.join(', ')}` : ''}`;
}

/**
 * A node's accessible name: first the words drawn (its name and nodeSub), so that the name holds
 * the visible label (WCAG 2.5.3, label in name), then its kind, error rate and p95.
 */
function nodeName(n: TopoNode): string {
    const kind = n.kind === 'virtual' ? 'virtual node, not instrumented' : 'service';
    const ok = n.health.every((f) => f === 'ok') ? ', ok' : '';
    return `${n.id} ${nodeSub(n)} (${kind}): error rate ${formatPercent(n.errorRate)}, p95 ${formatSeconds(n.p95)}${ok}`;
}

/** An SVG path through points with horizontal tangents, from just outside the first node to just outside the last. */
function edgePath(pts: Point[], r0: number, r1: number, offset: number): string {
    if (pts.length < 2) return '';
    const p = pts.map((q) => ({ x: q.x, y: q.y + offset }));
    const s0 = Math.sign(p[1].x - p[0].x) || 1;
    const s1 = Math.sign(p[p.length - 1].x - p[p.length - 2].x) || 1;
    p[0] = { x: p[0].x + s0 * r0, y: p[0].y };
    p[p.length - 1] = { x: p[p.length - 1].x - s1 * (r1 + 4), y: p[p.length - 1].y };
    let d = `M${p[0].x.toFixed(1)},${p[0].y.toFixed(1)}`;
    for (let i = 1; i < p.length; i++) {
        const a = p[i - 1];
        const b = p[i];
        const mx = (a.x + b.x) / 2;
        d += ` C${mx.toFixed(1)},${a.y.toFixed(1)} ${mx.toFixed(1)},${b.y.toFixed(1)} ${b.x.toFixed(1)},${b.y.toFixed(1)}`;
    }
    return d;
}

/** Follows an in-app link of the SVG without reloading the page (plain clicks only). */
function onSvgLink(e: MouseEvent, url: string) {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(url);
}

interface Drawn {
    layout: GraphLayout;
    radius: Map<string, number>;
    edgeWidth: number[];
    hot: Set<string>; // "client>server" of the hot path's edges
    hotNodes: Set<string>;
}

function draw(t: Topology): Drawn {
    const maxRate = Math.max(0, ...t.nodes.map((n) => n.rate ?? 0));
    const radius = new Map(t.nodes.map((n) => [n.id, MIN_R + (MAX_R - MIN_R) * (maxRate > 0 ? Math.sqrt((n.rate ?? 0) / maxRate) : 0)]));
    const maxEdge = Math.max(0, ...t.edges.map((e) => e.rate ?? 0));
    const edgeWidth = t.edges.map((e) => 1.5 + 3 * (maxEdge > 0 ? Math.sqrt((e.rate ?? 0) / maxEdge) : 0));
    const ids = [...t.nodes.map((n) => n.id)].sort((a, b) => a.localeCompare(b));
    const layout = layeredLayout(
        ids,
        t.edges.map((e) => [e.client, e.server]),
        { layerGap: 190, rowGap: 2 * MAX_R + 44, bendGap: 26, margin: 40 + MAX_R },
    );
    const hot = new Set<string>();
    for (let i = 0; i + 1 < t.hotPath.length; i++) hot.add(`${t.hotPath[i]}>${t.hotPath[i + 1]}`);
    return { layout, radius, edgeWidth, hot, hotNodes: new Set(t.hotPath) };
}

/** The graph as SVG; hovering or focusing a node or edge brings out its neighbourhood. */
function Graph({ t }: { t: Topology }) {
    const d = useMemo(() => draw(t), [t]);
    const [focus, setFocus] = useState<string | null>(null); // a node id, or "client>server"
    const kinds = new Map(t.nodes.map((n) => [n.id, n.kind]));
    const lit = (e: TopoEdge) => focus === null || focus === e.client || focus === e.server || focus === `${e.client}>${e.server}`;
    const litNode = (id: string) => focus === null || focus === id || t.edges.some((e) => lit(e) && (e.client === id || e.server === id));
    const { layout } = d;
    const hover = (key: string | null) => ({ onMouseEnter: () => setFocus(key), onMouseLeave: () => setFocus(null), onFocus: () => setFocus(key), onBlur: () => setFocus(null) });
    return (
        <div class="graph-scroll">
            <svg
                class="graph"
                width={layout.width}
                height={layout.height}
                viewBox={`0 0 ${layout.width} ${layout.height}`}
                role="group"
                aria-label={`Service graph: ${t.nodes.length} nodes, ${t.edges.length} edges`}
            >
                <defs>
                    {(['ok', 'busy', 'slow', 'failing'] as const).map((h) => (
                        <marker key={h} id={`arrow-${h}`} viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" markerUnits="userSpaceOnUse" orient="auto">
                            <path d="M0,0 L10,5 L0,10 z" class={`arrow-${h}`} />
                        </marker>
                    ))}
                </defs>
                <g class="edges">
                    {t.edges.map((e, i) => {
                        const key = `${e.client}>${e.server}`;
                        const pathD = edgePath(layout.edges[i], d.radius.get(e.client) ?? MIN_R, d.radius.get(e.server) ?? MIN_R, layout.reversed[i] ? 6 : 0);
                        const h = worstHealth(e.health);
                        const url = edgeTracesUrl(e, kinds);
                        return (
                            <a
                                key={`${key}>${e.connectionType}`}
                                href={url}
                                onClick={(ev: MouseEvent) => onSvgLink(ev, url)}
                                class={`edge health-${h}${d.hot.has(key) ? ' hot' : ''}${lit(e) ? '' : ' dim'}`}
                                aria-label={`${edgeText(e)}. Open its traces.`}
                                {...hover(key)}
                            >
                                <title>{`${edgeText(e)}\nClick for the traces of ${kinds.get(e.client) === 'service' ? e.client : e.server}.`}</title>
                                {d.hot.has(key) && <path d={pathD} class="hot-halo" stroke-width={d.edgeWidth[i] + 8} />}
                                <path d={pathD} class="line" stroke-width={d.edgeWidth[i]} marker-end={`url(#arrow-${h})`} />
                                <path d={pathD} class="hit" />
                            </a>
                        );
                    })}
                </g>
                <g class="nodes">
                    {t.nodes.map((n) => {
                        const p = layout.nodes.get(n.id);
                        if (!p) return null;
                        const r = d.radius.get(n.id) ?? MIN_R;
                        const h = worstHealth(n.health);
                        const flags = n.health.filter((f) => f !== 'ok');
                        const cls = `node ${n.kind} health-${h}${d.hotNodes.has(n.id) ? ' hot' : ''}${litNode(n.id) ? '' : ' dim'}`;
                        const body = (
                            <>
                                <title>{nodeText(n) + (n.kind === 'virtual' ? '\nNot instrumented: seen only from its callers, so it has no page.' : '\nClick for the service page.')}</title>
                                {d.hotNodes.has(n.id) && <circle cx={p.x} cy={p.y} r={r + 6} class="hot-halo" />}
                                {n.kind === 'virtual' ? (
                                    <rect x={p.x - r} y={p.y - r} width={2 * r} height={2 * r} rx={4} class="shape" />
                                ) : (
                                    <circle cx={p.x} cy={p.y} r={r} class="shape" />
                                )}
                                <text x={p.x} y={p.y + r + 18} class="label">
                                    {shortLabel(n.id)}
                                </text>
                                {/* Not drawn: keeps the name and the rate apart in the link's text (nodeName). */}
                                {' '}
                                <text x={p.x} y={p.y + r + 31} class={`sub${flags.length ? ' flagged' : ''}`}>
                                    {nodeSub(n)}
                                </text>
                            </>
                        );
                        if (n.kind === 'virtual')
                            return (
                                <g key={n.id} class={cls} role="img" aria-label={`${nodeName(n)}.`} {...hover(n.id)}>
                                    {body}
                                </g>
                            );
                        const url = href(servicePath(n.id), globalQuery());
                        return (
                            <a key={n.id} href={url} onClick={(ev: MouseEvent) => onSvgLink(ev, url)} class={cls} aria-label={`${nodeName(n)}. Open the service.`} {...hover(n.id)}>
                                {body}
                            </a>
                        );
                    })}
                </g>
            </svg>
        </div>
    );
}

const LINE_STYLE: Record<Health, string> = { ok: ' (solid)', busy: ' (dash-dot)', slow: ' (dotted)', failing: ' (dashed)' };

/** The key to the drawing, in words. */
function Legend() {
    const line = (cls: string) => (
        <svg width="36" height="12" aria-hidden="true">
            <line x1="2" y1="6" x2="34" y2="6" class={cls} />
        </svg>
    );
    return (
        <ul class="legend" aria-label="Legend">
            {(['ok', 'busy', 'slow', 'failing'] as const).map((h) => (
                <li key={h} title={HEALTH_TEXT[h]}>
                    <span class={`edge health-${h}`}>{line('line')}</span>
                    {HEALTH_TEXT[h].split(':')[0]}
                    {LINE_STYLE[h]}
                </li>
            ))}
            <li>
                <span class="edge hot">{line('hot-halo')}</span>
                hot path (most rate × p95)
            </li>
            <li>
                <svg width="16" height="16" aria-hidden="true" class="node service">
                    <circle cx="8" cy="8" r="6" class="shape" />
                </svg>
                service (size: requests/s)
            </li>
            <li>
                <svg width="16" height="16" aria-hidden="true" class="node virtual">
                    <rect x="2" y="2" width="12" height="12" rx="2" class="shape" />
                </svg>
                virtual node (database, LLM provider, user, …)
            </li>
        </ul>
    );
}

function NodeName({ id, kinds }: { id: string; kinds: Map<string, TopoNode['kind']> }) {
    return kinds.get(id) === 'service' ? (
        <Link to={servicePath(id)}>{id}</Link>
    ) : (
        <span>
            {id} <span class="muted">(virtual)</span>
        </span>
    );
}

function edgeColumns(kinds: Map<string, TopoNode['kind']>, hot: Set<string>): Array<Column<TopoEdge>> {
    return [
        { key: 'client', label: 'Client', render: (e) => <NodeName id={e.client} kinds={kinds} />, sort: (e) => e.client },
        { key: 'server', label: 'Server', render: (e) => <NodeName id={e.server} kinds={kinds} />, sort: (e) => e.server },
        { key: 'type', label: 'Connection', render: (e) => connectionName(e.connectionType), sort: (e) => e.connectionType },
        { key: 'rate', label: 'Requests/s', numeric: true, render: (e) => formatNumber(e.rate), sort: (e) => e.rate ?? NaN },
        { key: 'errorRate', label: 'Error rate', numeric: true, render: (e) => formatPercent(e.errorRate), sort: (e) => e.errorRate ?? NaN },
        { key: 'p95', label: 'p95', numeric: true, render: (e) => formatSeconds(e.p95), sort: (e) => e.p95 ?? NaN },
        { key: 'health', label: 'Health', render: (e) => <HealthBadges health={e.health} />, sort: (e) => healthRank(e.health) },
        { key: 'hot', label: 'Hot path', render: (e) => (hot.has(`${e.client}>${e.server}`) ? 'yes' : ''), sort: (e) => Number(hot.has(`${e.client}>${e.server}`)) },
        {
            key: 'traces',
            label: 'Traces',
            render: (e) => (
                <a href={edgeTracesUrl(e, kinds)} onClick={(ev) => onSvgLink(ev, edgeTracesUrl(e, kinds))}>
                    traces
                </a>
            ),
        },
    ];
}

const nodeColumns = (kinds: Map<string, TopoNode['kind']>): Array<Column<TopoNode>> => [
    { key: 'id', label: 'Node', render: (n) => <NodeName id={n.id} kinds={kinds} />, sort: (n) => n.id },
    { key: 'kind', label: 'Kind', render: (n) => n.kind, sort: (n) => n.kind },
    { key: 'rate', label: 'Requests/s', numeric: true, render: (n) => formatNumber(n.rate), sort: (n) => n.rate ?? NaN },
    { key: 'errorRate', label: 'Error rate', numeric: true, render: (n) => formatPercent(n.errorRate), sort: (n) => n.errorRate ?? NaN },
    { key: 'p95', label: 'p95', numeric: true, render: (n) => formatSeconds(n.p95), sort: (n) => n.p95 ?? NaN },
    { key: 'health', label: 'Health', render: (n) => <HealthBadges health={n.health} />, sort: (n) => healthRank(n.health) },
];

function HotPath({ t, kinds }: { t: Topology; kinds: Map<string, TopoNode['kind']> }) {
    if (t.hotPath.length === 0) return <p class="muted">No hot path: the graph has no root (a node that is never a server).</p>;
    return (
        <p class="hot-path">
            <strong>Hot path</strong> (the chain from a root with the most rate × p95, where time is spent):{' '}
            {t.hotPath.map((id, i) => (
                <span key={id}>
                    {i > 0 && ' → '}
                    <NodeName id={id} kinds={kinds} />
                </span>
            ))}
        </p>
    );
}

/** /topology */
export function TopologyPage() {
    const r = useTimeRange();
    const topo = useTopology(r);
    return (
        <div class="topology-page">
            <Loaded r={topo} what="the service graph" isEmpty={(t) => t.edges.length === 0} empty="No requests between services in this time range.">
                {(t) => {
                    const kinds = new Map(t.nodes.map((n) => [n.id, n.kind]));
                    const hot = new Set(t.hotPath.slice(1).map((id, i) => `${t.hotPath[i]}>${id}`));
                    return (
                        <>
                            <section aria-labelledby="graph-h">
                                <h2 id="graph-h" class="visually-hidden">
                                    Service graph
                                </h2>
                                <Legend />
                                <HotPath t={t} kinds={kinds} />
                                <Graph t={t} />
                            </section>
                            <section aria-labelledby="edges-h">
                                <h2 id="edges-h">Edges</h2>
                                <Table
                                    id="edges"
                                    caption="Requests between services: rate, error rate, p95 and health"
                                    columns={edgeColumns(kinds, hot)}
                                    rows={t.edges}
                                    rowKey={(e) => `${e.client}>${e.server}>${e.connectionType}`}
                                    filterText={(e) => `${e.client} ${e.server} ${connectionName(e.connectionType)} ${healthWords(e.health)}`}
                                    defaultSort="-rate"
                                />
                            </section>
                            <section aria-labelledby="nodes-h">
                                <h2 id="nodes-h">Nodes</h2>
                                <Table
                                    id="nodes"
                                    caption="Nodes of the graph: the requests each served"
                                    columns={nodeColumns(kinds)}
                                    rows={t.nodes}
                                    rowKey={(n) => n.id}
                                    filterText={(n) => `${n.id} ${n.kind} ${healthWords(n.health)}`}
                                    defaultSort="id"
                                />
                            </section>
                        </>
                    );
                }}
            </Loaded>
        </div>
    );
}
