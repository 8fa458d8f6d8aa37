// An agent's role transitions (GET /api/v1/agents: from -> to counts) drawn as a small state
// diagram in SVG: the roles in a row (user, agent, tool, then any other), an arrow per
// transition, curved above the row going right and below it going left, a loop over a node
// for a role that follows itself, each labelled with its count and thicker the more common.
import { formatNumber } from '../../lib/format';
import type { Transition } from './types';

const ORDER = ['user', 'agent', 'tool'];
const R = 26; // node radius
const GAP = 190; // between node centres
const PAD = 60;
const ARC = 48; // apex height of an arc between neighbours (grows with the distance)
const ARROW = 8; // room left at an edge's end for its arrowhead

interface Point {
    x: number;
    y: number;
}

/** The roles of transitions in display order: the known ones first, the rest by name. */
export function rolesOf(transitions: Transition[]): string[] {
    const seen = new Set<string>();
    for (const t of transitions) {
        seen.add(t.from);
        seen.add(t.to);
    }
    const known = ORDER.filter((r) => seen.has(r));
    const other = [...seen].filter((r) => !ORDER.includes(r)).sort();
    return [...known, ...other];
}

const unit = (dx: number, dy: number): Point => {
    const l = Math.hypot(dx, dy) || 1;
    return { x: dx / l, y: dy / l };
};
const f1 = (v: number) => v.toFixed(1);

/** The path of an edge between two different nodes, and where its label goes. */
function arc(a: Point, b: Point, distance: number, forward: boolean): { d: string; label: Point } {
    const h = ARC * Math.min(distance, 3) * (forward ? -1 : 1);
    const c = { x: (a.x + b.x) / 2, y: a.y + 2 * h }; // a quadratic's apex is half its control's height
    const u0 = unit(c.x - a.x, c.y - a.y);
    const u1 = unit(c.x - b.x, c.y - b.y);
    const p0 = { x: a.x + u0.x * R, y: a.y + u0.y * R };
    const p1 = { x: b.x + u1.x * (R + ARROW), y: b.y + u1.y * (R + ARROW) };
    return { d: `M${f1(p0.x)},${f1(p0.y)} Q${f1(c.x)},${f1(c.y)} ${f1(p1.x)},${f1(p1.y)}`, label: { x: c.x, y: a.y + h + (forward ? -7 : 17) } };
}

/** The path of a loop over a node, and where its label goes. */
function loop(n: Point): { d: string; label: Point } {
    const s = Math.sin(Math.PI / 7) * R;
    const c = Math.cos(Math.PI / 7) * R;
    const top = n.y - R - 52;
    return {
        d: `M${f1(n.x - s)},${f1(n.y - c)} C${f1(n.x - 34)},${f1(top)} ${f1(n.x + 34)},${f1(top)} ${f1(n.x + s + 2)},${f1(n.y - c - ARROW)}`,
        label: { x: n.x, y: top + 8 },
    };
}

/** The state diagram of transitions; labelled by name for assistive technology. */
export function TransitionDiagram({ transitions, name }: { transitions: Transition[]; name: string }) {
    const roles = rolesOf(transitions);
    const max = Math.max(1, ...transitions.map((t) => t.count));
    const width = PAD * 2 + GAP * Math.max(0, roles.length - 1);
    const loops = transitions.some((t) => t.from === t.to);
    const farthest = Math.max(1, ...transitions.map((t) => Math.abs(roles.indexOf(t.to) - roles.indexOf(t.from))));
    const above = Math.max(loops ? R + 62 : 0, ARC * Math.min(farthest, 3) + 16) + 8;
    const below = ARC * Math.min(farthest, 3) + 24;
    const y = above;
    const height = above + R + below;
    const pos = new Map(roles.map((r, i) => [r, { x: PAD + i * GAP, y }]));
    const summary = transitions.map((t) => `${t.from} to ${t.to}: ${t.count}`).join('; ');
    const markerId = `arrow-${name.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
    return (
        <svg class="flow" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={`Role transitions of ${name}: ${summary}`}>
            <defs>
                <marker id={markerId} viewBox="0 0 10 10" refX="1" refY="5" markerWidth="9" markerHeight="9" orient="auto" markerUnits="userSpaceOnUse">
                    <path d="M0,0 L10,5 L0,10 z" class="flow-arrowhead" />
                </marker>
            </defs>
            {transitions.map((t) => {
                const a = pos.get(t.from)!;
                const b = pos.get(t.to)!;
                const i = roles.indexOf(t.from);
                const j = roles.indexOf(t.to);
                const g = t.from === t.to ? loop(a) : arc(a, b, Math.abs(j - i), j > i);
                const w = 1.5 + 3.5 * (t.count / max);
                return (
                    <g key={`${t.from}>${t.to}`} class="flow-edge">
                        <path d={g.d} stroke-width={f1(w)} marker-end={`url(#${markerId})`} fill="none" />
                        <text x={f1(g.label.x)} y={f1(g.label.y)} text-anchor="middle" class="flow-count">
                            {formatNumber(t.count)}
                        </text>
                    </g>
                );
            })}
            {roles.map((r) => {
                const p = pos.get(r)!;
                return (
                    <g key={r} class={`flow-node role-${r.replace(/[^a-z_-]/gi, '')}`}>
                        <circle cx={p.x} cy={p.y} r={R} />
                        <text x={p.x} y={p.y + 4} text-anchor="middle">
                            {r}
                        </text>
                    </g>
                );
            })}
        </svg>
    );
}
