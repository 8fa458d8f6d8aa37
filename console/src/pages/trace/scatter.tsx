// The Traces page's scatter plot: each found trace a dot at its start time and duration,
// errors drawn as red diamonds; a dot is a link to its trace. SVG, sized to its container.
import { useEffect, useRef, useState } from 'preact/hooks';

import { formatSeconds } from '../../lib/format';
import { onLinkClick } from '../../lib/router';
import { formatTime } from '../../lib/time';

/** A dot: a trace summary reduced to what the plot needs. */
export interface Dot {
    traceId: string;
    href: string;
    startMs: number;
    seconds: number; // duration
    error: boolean;
    label: string; // the tooltip
}

const HEIGHT = 220;
const M = { top: 10, right: 16, bottom: 26, left: 64 };

/** "Nice" ticks between 0 and max: about n of them, at 1, 2, 2.5 or 5 times a power of ten. */
function niceTicks(max: number, n = 5): number[] {
    if (!(max > 0)) return [0];
    const raw = max / n;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((k) => k * p).find((s) => s >= raw) ?? raw;
    const out: number[] = [];
    for (let v = 0; v <= max * 1.0001; v += step) out.push(v);
    return out;
}

/** An SVG path of a diamond of radius r around (x, y): the error marker. */
const diamond = (x: number, y: number, r: number) => `M${x},${y - r}L${x + r},${y}L${x},${y + r}L${x - r},${y}Z`;

const pad = (n: number) => String(n).padStart(2, '0');

/** A time tick's label: the time of day, with the date when the span covers days. */
function timeTick(ms: number, long: boolean): string {
    const d = new Date(ms);
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return long ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}` : `${hm}:${pad(d.getSeconds())}`;
}

/** Durations of dots over [fromMs, toMs] (widened to the dots). */
export function Scatter({ dots, fromMs, toMs }: { dots: Dot[]; fromMs: number; toMs: number }) {
    const box = useRef<HTMLDivElement>(null);
    const [width, setWidth] = useState(800);
    useEffect(() => {
        const el = box.current;
        if (!el) return;
        setWidth(el.clientWidth);
        const ro = new ResizeObserver(() => setWidth(el.clientWidth));
        ro.observe(el);
        return () => ro.disconnect();
    }, []);
    let x0 = fromMs;
    let x1 = toMs;
    for (const d of dots) {
        x0 = Math.min(x0, d.startMs);
        x1 = Math.max(x1, d.startMs);
    }
    if (!(x1 > x0)) x1 = x0 + 1000;
    const maxY = Math.max(...dots.map((d) => d.seconds), 0) * 1.08 || 1e-3;
    const yTicks = niceTicks(maxY);
    const yTop = Math.max(maxY, yTicks[yTicks.length - 1]);
    const w = Math.max(200, width);
    const iw = w - M.left - M.right;
    const ih = HEIGHT - M.top - M.bottom;
    const x = (ms: number) => M.left + ((ms - x0) / (x1 - x0)) * iw;
    const y = (s: number) => M.top + ih - (s / yTop) * ih;
    const long = x1 - x0 > 86_400_000;
    const xTicks = Array.from({ length: 6 }, (_, k) => x0 + ((x1 - x0) * k) / 5);
    const errors = dots.filter((d) => d.error).length;
    return (
        <div ref={box} class="scatter" data-testid="traces-scatter">
            <svg
                width={w}
                height={HEIGHT}
                role="group"
                aria-label={`Duration of ${dots.length} traces over time, ${errors} with errors; each dot links to its trace`}
            >
                {yTicks.map((v) => (
                    <g key={v} class="sc-grid">
                        <line x1={M.left} x2={w - M.right} y1={y(v)} y2={y(v)} />
                        <text x={M.left - 6} y={y(v)} text-anchor="end" dominant-baseline="middle">
                            {v === 0 ? '0' : formatSeconds(v)}
                        </text>
                    </g>
                ))}
                {xTicks.map((t, k) => (
                    <text key={k} class="sc-axis" x={x(t)} y={HEIGHT - 8} text-anchor={k === 0 ? 'start' : k === 5 ? 'end' : 'middle'}>
                        {timeTick(t, long)}
                    </text>
                ))}
                {dots.map((d) => {
                    const cx = x(d.startMs);
                    const cy = y(d.seconds);
                    return (
                        <a key={d.traceId} href={d.href} onClick={onLinkClick} class={d.error ? 'sc-dot error' : 'sc-dot'} tabIndex={-1}>
                            <title>{d.label}</title>
                            {d.error ? <path d={diamond(cx, cy, 5.5)} /> : <circle cx={cx} cy={cy} r={4.5} />}
                        </a>
                    );
                })}
            </svg>
        </div>
    );
}

/** The tooltip of a dot. */
export const dotLabel = (what: string, startMs: number, seconds: number, errors: number) =>
    `${what}\n${formatTime(startMs)} · ${formatSeconds(seconds)}${errors ? ` · ${errors} error${errors === 1 ? '' : 's'}` : ''}`;
