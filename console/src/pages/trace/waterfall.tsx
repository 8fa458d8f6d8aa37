// The Waterfall tab: the span tree as rows (service and name, indented by depth) beside time
// bars on the trace's time axis, the critical path drawn under the bars and errors marked.
// Virtualized: rows have a fixed height and only those in view are rendered; while the view
// jumps (a fling or a scrollbar drag shows all-new rows each frame) they are drawn without
// their critical path, event marks and duration label, which come back once it rests. Keyboard: up and
// down move the selection, left collapses (or goes to the parent), right expands (or goes to the
// first child), Home/End/PageUp/PageDown jump, Escape clears the selection.
import { useEffect, useMemo, useRef } from 'preact/hooks';

import { formatSeconds } from '../../lib/format';
import type { Span, TraceModel } from './model';
import { nsSeconds } from './model';
import { useVirtualRows } from './virtual';

/** Row height, px (the CSS's .wf-row height must match). */
export const ROW_HEIGHT = 26;
const INDENT = 14; // px per depth level
const MAX_INDENT_LEVELS = 30; // deeper levels are drawn at this indent (their depth is in the tooltip)
const MAX_EVENT_MARKS = 20; // event ticks drawn per bar

interface Props {
    model: TraceModel;
    rows: number[]; // the spans shown, depth first (collapsed subtrees left out)
    selected: number; // span index, -1 for none
    collapsed: Set<string>;
    colours: Map<string, string>;
    showCritical: boolean;
    onSelect: (i: number) => void;
    onToggle: (i: number, open: boolean) => void;
}

/** The waterfall: a time axis, then the virtualized rows. */
export function Waterfall({ model, rows, selected, collapsed, colours, showCritical, onSelect, onToggle }: Props) {
    const scroller = useRef<HTMLDivElement>(null);
    const v = useVirtualRows(scroller, rows.length, ROW_HEIGHT);
    const posOf = useMemo(() => {
        const p = new Int32Array(model.spans.length).fill(-1);
        rows.forEach((s, k) => (p[s] = k));
        return p;
    }, [model, rows]);
    const pos = selected >= 0 ? posOf[selected] : -1;

    // Keep the selection in view; a selection the page opened with (a deep link) is centred.
    const centre = useRef(selected >= 0);
    useEffect(() => {
        if (pos < 0) return;
        v.reveal(pos, centre.current);
        centre.current = false;
    }, [pos]);

    const total = model.duration || 1;
    const go = (k: number) => rows.length && onSelect(rows[Math.max(0, Math.min(rows.length - 1, k))]);
    const onKeyDown = (e: KeyboardEvent) => {
        const page = Math.max(1, Math.floor(v.height / ROW_HEIGHT) - 1);
        const s = selected >= 0 ? model.spans[selected] : undefined;
        const open = s ? !collapsed.has(s.spanId) : false;
        switch (e.key) {
            case 'ArrowDown':
                go(pos < 0 ? 0 : pos + 1);
                break;
            case 'ArrowUp':
                go(pos < 0 ? 0 : pos - 1);
                break;
            case 'PageDown':
                go(pos < 0 ? 0 : pos + page);
                break;
            case 'PageUp':
                go(pos < 0 ? 0 : pos - page);
                break;
            case 'Home':
                go(0);
                break;
            case 'End':
                go(rows.length - 1);
                break;
            case 'ArrowRight':
                if (!s) go(0);
                else if (s.children.length && !open) onToggle(s.i, true);
                else if (s.children.length && pos >= 0) go(pos + 1);
                break;
            case 'ArrowLeft':
                if (!s) go(0);
                else if (s.children.length && open) onToggle(s.i, false);
                else if (s.parent >= 0) onSelect(s.parent);
                break;
            case 'Enter':
            case ' ':
                if (s && s.children.length) onToggle(s.i, !open);
                break;
            case 'Escape':
                onSelect(-1);
                break;
            default:
                return;
        }
        e.preventDefault();
    };

    return (
        <div class="waterfall">
            <TimeAxis duration={model.duration} />
            <div
                ref={scroller}
                class="wf-scroller"
                role="tree"
                aria-label={`Spans of the trace (${rows.length} shown of ${model.spans.length})`}
                aria-activedescendant={selected >= 0 && pos >= 0 ? rowId(model.spans[selected]) : undefined}
                tabIndex={0}
                onScroll={v.onScroll}
                onKeyDown={onKeyDown}
                data-testid="waterfall"
            >
                <div class="wf-rows" style={{ height: `${rows.length * ROW_HEIGHT}px` }}>
                    {v.slots().map(([slot, k]) => {
                        const s = model.spans[rows[k]];
                        return (
                            <Row
                                key={slot}
                                span={s}
                                model={model}
                                top={k * ROW_HEIGHT}
                                total={total}
                                colour={colours.get(s.service)}
                                selected={s.i === selected}
                                open={!collapsed.has(s.spanId)}
                                showCritical={showCritical}
                                lite={v.jumping}
                                onSelect={onSelect}
                                onToggle={onToggle}
                            />
                        );
                    })}
                </div>
            </div>
        </div>
    );
}

/** The DOM id of a span's row (for aria-activedescendant). */
const rowId = (s: Span) => `wf-row-${s.i}`;

const pct = (ns: number, total: number) => `${((ns / total) * 100).toFixed(4)}%`;

/** The time axis above the bars: five ticks over the trace's duration. */
function TimeAxis({ duration }: { duration: number }) {
    const ticks = [0, 0.25, 0.5, 0.75, 1];
    return (
        <div class="wf-axis" aria-hidden="true">
            <div class="wf-name wf-axis-label">Service · operation</div>
            <div class="wf-timeline">
                {ticks.map((t) => (
                    <span key={t} class={`wf-tick${t === 1 ? ' last' : ''}`} style={{ left: `${t * 100}%` }}>
                        {t === 0 ? '0' : formatSeconds(nsSeconds(duration * t))}
                    </span>
                ))}
            </div>
        </div>
    );
}

interface RowProps {
    span: Span;
    model: TraceModel;
    top: number;
    total: number;
    colour: string | undefined;
    selected: boolean;
    open: boolean;
    showCritical: boolean;
    lite: boolean; // while the view jumps: no critical path, event marks or duration label
    onSelect: (i: number) => void;
    onToggle: (i: number, open: boolean) => void;
}

/** One span's row: toggle, service and name, then its bar on the time axis. */
function Row({ span: s, model, top, total, colour, selected, open, showCritical, lite, onSelect, onToggle }: RowProps) {
    const hasKids = s.children.length > 0;
    const siblings = s.parent >= 0 ? model.spans[s.parent].children : model.roots;
    const left = s.start / total;
    const right = s.end / total;
    // The duration label: right of the bar, else (a bar ending near the edge) left of it, else inside its end.
    const labelAt =
        right < 0.85
            ? { left: `calc(${pct(s.end, total)} + 4px)` }
            : left > 0.15
              ? { right: `calc(${((1 - left) * 100).toFixed(4)}% + 4px)` }
              : { right: `calc(${((1 - right) * 100).toFixed(4)}% + 4px)` };
    // The tooltip is written when the pointer comes, not on every scroll step (an attribute
    // change restyles the row).
    const showTitle = (e: MouseEvent) =>
        ((e.currentTarget as HTMLElement).title = `${s.service || '(no service)'} · ${s.name} · ${formatSeconds(nsSeconds(s.duration))} at +${formatSeconds(
            nsSeconds(s.start),
        )}${s.error ? ' · error' : ''} · depth ${s.depth}`);
    return (
        <div
            id={rowId(s)}
            class={`wf-row${selected ? ' selected' : ''}${s.error ? ' error' : ''}${showCritical && s.critical.length ? ' critical' : ''}`}
            style={{ transform: `translateY(${top}px)` }}
            role="treeitem"
            aria-level={s.depth + 1}
            aria-setsize={siblings.length}
            aria-posinset={siblings.indexOf(s.i) + 1}
            aria-expanded={hasKids ? open : undefined}
            aria-selected={selected}
            onMouseEnter={showTitle}
            onClick={(e) => {
                // The toggle is part of the row (a tree item holds no controls of its own).
                if (hasKids && (e.target as HTMLElement).classList.contains('wf-toggle')) onToggle(s.i, !open);
                else onSelect(s.i);
            }}
            data-span-id={s.spanId}
        >
            <div class="wf-name" style={{ paddingLeft: `${4 + Math.min(s.depth, MAX_INDENT_LEVELS) * INDENT}px` }}>
                <span class="wf-toggle" aria-hidden="true" title={hasKids ? (open ? 'Collapse' : 'Expand') : undefined}>
                    {hasKids ? (open ? '▾' : '▸') : ''}
                </span>
                <span class="wf-swatch" style={{ background: colour }} aria-hidden="true" />
                {s.error && (
                    <span class="wf-error-mark" role="img" aria-label="error">
                        ⚠
                    </span>
                )}
                <span class="wf-service">{s.service || '(no service)'}</span>
                <span class="wf-op">{s.name}</span>
                {hasKids && !open && <span class="wf-hidden-count">+{s.children.length}</span>}
            </div>
            <div class="wf-timeline">
                <div class="wf-bar" style={{ left: pct(s.start, total), width: pct(s.duration, total), background: colour }} />
                {showCritical &&
                    !lite &&
                    s.critical.map(([a, b]) => <div key={a} class="wf-critical" style={{ left: pct(a, total), width: pct(b - a, total) }} />)}
                {!lite &&
                    s.events.slice(0, MAX_EVENT_MARKS).map((e, k) => (
                        <div key={k} class="wf-event" style={{ left: pct(Math.min(Math.max(e.at, 0), total), total) }} />
                    ))}
                {!lite && (
                    <span class="wf-duration" style={labelAt}>
                        {formatSeconds(nsSeconds(s.duration))}
                    </span>
                )}
            </div>
        </div>
    );
}
