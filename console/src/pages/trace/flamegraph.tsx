// The Flame graph tab: the span tree by time on a canvas. A span is a bar under its parent's
// level, as wide as its duration, coloured by service; spans of one level that overlap in time
// get lanes of their own, so none hides another. Only the rows in view are drawn, so deep traces
// stay light. Hover shows the span's name and duration; a click selects it. Keyboard (the canvas
// is focusable): up goes to the parent, down to the first child, left and right to the siblings.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';

import { formatSeconds } from '../../lib/format';
import { useThemeColours } from '../../lib/theme';
import type { Span, TraceModel } from './model';
import { nsSeconds } from './model';

const ROW = 20; // px per lane
const THEME = ['bg', 'fg', 'error', 'border'] as const;

/** The lanes: each span's row, and the spans of each row by start time. */
interface Layout {
    rowOf: Int32Array;
    rows: number[][];
}

/** Lays spans out by depth; at each depth, overlapping spans take the first free lane. */
function layout(m: TraceModel): Layout {
    const byDepth: number[][] = [];
    for (const i of m.order) (byDepth[m.spans[i].depth] ??= []).push(i);
    const rowOf = new Int32Array(m.spans.length);
    const rows: number[][] = [];
    for (const level of byDepth) {
        if (!level) continue;
        level.sort((a, b) => m.spans[a].start - m.spans[b].start);
        const laneEnds: number[] = [];
        const base = rows.length;
        for (const i of level) {
            const s = m.spans[i];
            let lane = laneEnds.findIndex((end) => end <= s.start);
            if (lane < 0) {
                lane = laneEnds.length;
                laneEnds.push(0);
                rows.push([]);
            }
            laneEnds[lane] = Math.max(s.end, s.start + 1);
            rowOf[i] = base + lane;
            rows[base + lane].push(i);
        }
    }
    return { rowOf, rows };
}

interface Props {
    model: TraceModel;
    selected: number;
    colours: Map<string, string>;
    onSelect: (i: number) => void;
}

interface Hover {
    span: Span;
    x: number;
    y: number;
}

/** The flame graph of a trace. */
export function FlameGraph({ model, selected, colours, onSelect }: Props) {
    const lay = useMemo(() => layout(model), [model]);
    const scroller = useRef<HTMLDivElement>(null);
    const canvas = useRef<HTMLCanvasElement>(null);
    const [view, setView] = useState({ top: 0, width: 800, height: 400 });
    const [hover, setHover] = useState<Hover | null>(null);
    const theme = useThemeColours(THEME);
    const total = model.duration || 1;
    const fullHeight = lay.rows.length * ROW;

    useEffect(() => {
        const el = scroller.current;
        if (!el) return;
        const measure = () => setView((v) => ({ ...v, width: el.clientWidth, height: el.clientHeight }));
        measure();
        const ro = new ResizeObserver(measure);
        ro.observe(el);
        return () => ro.disconnect();
    }, []);

    // Bring the selected span's row into view.
    useEffect(() => {
        const el = scroller.current;
        if (!el || selected < 0) return;
        const y = lay.rowOf[selected] * ROW;
        if (y < el.scrollTop || y + ROW > el.scrollTop + el.clientHeight) el.scrollTop = Math.max(0, y - el.clientHeight / 2);
    }, [selected, lay]);

    const height = Math.min(view.height, fullHeight);
    useEffect(() => {
        const c = canvas.current;
        if (!c) return;
        const dpr = window.devicePixelRatio || 1;
        c.width = Math.round(view.width * dpr);
        c.height = Math.round(height * dpr);
        const ctx = c.getContext('2d');
        if (!ctx) return;
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        draw(ctx, model, lay, view.top, view.width, height, total, selected, colours, theme);
    }, [model, lay, view, height, selected, colours, theme]);

    const spanAt = (e: MouseEvent): Span | undefined => {
        const c = canvas.current;
        if (!c) return undefined;
        const r = c.getBoundingClientRect();
        const x = e.clientX - r.left;
        const row = Math.floor((e.clientY - r.top + view.top) / ROW);
        const t = (x / view.width) * total;
        const slack = (2 / view.width) * total; // 2 px, so that thin bars can be hit
        for (const i of lay.rows[row] ?? []) {
            const s = model.spans[i];
            if (s.start - slack <= t && t <= s.end + slack) return s;
        }
        return undefined;
    };
    const onMove = (e: MouseEvent) => {
        const s = spanAt(e);
        const box = scroller.current?.getBoundingClientRect();
        setHover(s && box ? { span: s, x: e.clientX - box.left, y: e.clientY - box.top } : null);
    };
    const onKeyDown = (e: KeyboardEvent) => {
        const s = selected >= 0 ? model.spans[selected] : undefined;
        const sib = s ? (s.parent >= 0 ? model.spans[s.parent].children : model.roots) : [];
        const k = s ? sib.indexOf(s.i) : -1;
        let next = -1;
        if (!s) next = model.roots[0] ?? -1;
        else if (e.key === 'ArrowUp') next = s.parent;
        else if (e.key === 'ArrowDown') next = s.children[0] ?? -1;
        else if (e.key === 'ArrowLeft') next = sib[k - 1] ?? -1;
        else if (e.key === 'ArrowRight') next = sib[k + 1] ?? -1;
        else if (e.key === 'Escape') onSelect(-1);
        else return;
        e.preventDefault();
        if (next >= 0) onSelect(next);
    };

    const sel = selected >= 0 ? model.spans[selected] : undefined;
    const nearRight = hover !== null && hover.x > view.width - 300; // the tooltip goes left of the pointer
    const label =
        `Flame graph of ${model.spans.length} spans. Arrow keys move the selection: up to the parent, down to the first child, ` +
        `left and right to the siblings.${sel ? ` Selected: ${sel.service} ${sel.name}.` : ''}`;
    return (
        <div class="flamegraph">
            <div
                ref={scroller}
                class="fg-scroller"
                onScroll={(e) => setView((v) => ({ ...v, top: (e.currentTarget as HTMLElement).scrollTop }))}
                onMouseLeave={() => setHover(null)}
            >
                <div class="fg-spacer" style={{ height: `${fullHeight}px` }}>
                    <canvas
                        ref={canvas}
                        class="fg-canvas"
                        style={{ width: `${view.width}px`, height: `${height}px` }}
                        role="img"
                        tabIndex={0}
                        aria-label={label}
                        onMouseMove={onMove}
                        onClick={(e) => {
                            const s = spanAt(e);
                            if (s) onSelect(s.i);
                        }}
                        onKeyDown={onKeyDown}
                        data-testid="flamegraph"
                    />
                </div>
            </div>
            {hover && (
                <div
                    class="fg-tooltip"
                    role="tooltip"
                    style={{ top: `${hover.y + 12}px`, ...(nearRight ? { right: `${view.width - hover.x + 12}px` } : { left: `${hover.x + 12}px` }) }}
                >
                    <strong>{hover.span.name}</strong>
                    <div>{hover.span.service || '(no service)'}</div>
                    <div>
                        {formatSeconds(nsSeconds(hover.span.duration))} <span class="muted">(self {formatSeconds(nsSeconds(hover.span.self))})</span>
                    </div>
                    {hover.span.error && <div class="error-text">Error{hover.span.statusMessage ? `: ${hover.span.statusMessage}` : ''}</div>}
                </div>
            )}
        </div>
    );
}

/** Draws the rows in view [top, top + height) of the layout. */
function draw(
    ctx: CanvasRenderingContext2D,
    m: TraceModel,
    lay: Layout,
    top: number,
    width: number,
    height: number,
    total: number,
    selected: number,
    colours: Map<string, string>,
    theme: Record<(typeof THEME)[number], string>,
) {
    ctx.fillStyle = theme.bg;
    ctx.fillRect(0, 0, width, height);
    ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    ctx.textBaseline = 'middle';
    const charW = ctx.measureText('abcdefghijklmnopqrstuvwxyz').width / 26 || 6.5;
    const scale = width / total;
    const firstRow = Math.floor(top / ROW);
    const lastRow = Math.min(lay.rows.length, Math.ceil((top + height) / ROW));
    let sel: { x: number; y: number; w: number } | null = null;
    for (let r = firstRow; r < lastRow; r++) {
        const y = r * ROW - top;
        for (const i of lay.rows[r]) {
            const s = m.spans[i];
            const x = s.start * scale;
            const w = Math.max(1, s.duration * scale);
            const c = colours.get(s.service) ?? theme.fg;
            ctx.globalAlpha = 0.3;
            ctx.fillStyle = c;
            ctx.fillRect(x, y + 1, w, ROW - 2);
            ctx.globalAlpha = 1;
            ctx.fillRect(x, y + 1, Math.min(3, w), ROW - 2);
            if (s.error) {
                ctx.fillStyle = theme.error;
                ctx.fillRect(x, y + ROW - 4, w, 3);
            }
            if (w > 24) {
                const room = Math.floor((w - 8) / charW);
                const label = s.name.length > room ? s.name.slice(0, Math.max(0, room - 1)) + '…' : s.name;
                if (room > 1) {
                    ctx.fillStyle = theme.fg;
                    ctx.fillText(label, x + 6, y + ROW / 2);
                }
            }
            if (i === selected) sel = { x, y, w };
        }
    }
    if (sel) {
        ctx.strokeStyle = theme.fg;
        ctx.lineWidth = 2;
        ctx.strokeRect(sel.x + 1, sel.y + 1, Math.max(1, sel.w - 2), ROW - 2);
    }
}
