// The Logs page's histogram: matching lines per step over the time range, stacked by level, from
// a count_over_time query on /loki/api/v1/query_range. Drawn as SVG bars; the legend names the
// levels and their counts, so colour is never the only cue.
import { formatNumber, formatSeconds } from '../../lib/format';
import { formatTime } from '../../lib/time';
import { type Level, normalLevel } from './logql';

/** A series of a Loki/Prometheus matrix. */
export interface MatrixSeries {
    metric: Record<string, string>;
    values: Array<[number, string]>;
}

/** The data of a metric query_range answer. */
export interface MatrixData {
    resultType: string;
    result: MatrixSeries[];
}

/** Bottom to top of a stack: the most severe first, so that errors stay visible. */
const STACK: Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'unknown'];

interface Props {
    data: MatrixData;
    start: number; // unix seconds of the range
    end: number;
    step: number; // seconds per bar
}

/** Counts per bar and level: counts[level][bar], over the bars start, start + step, ... end. */
function bucket(data: MatrixData, start: number, end: number, step: number) {
    const n = Math.floor((end - start) / step + 1e-9) + 1;
    const counts = new Map<Level, number[]>();
    for (const s of data.result) {
        const level = normalLevel(s.metric.detected_level);
        let row = counts.get(level);
        if (!row) counts.set(level, (row = new Array<number>(n).fill(0)));
        for (const [t, v] of s.values) {
            const i = Math.round((t - start) / step);
            if (i >= 0 && i < n) row[i] += Number(v);
        }
    }
    return { n, counts };
}

/** "18:04" (or "11-21 18:04" over more than a day) for an axis label. */
function tickLabel(ms: number, spanS: number): string {
    const t = formatTime(ms);
    return spanS > 86_400 ? t.slice(5, 16) : spanS > 600 ? t.slice(11, 16) : t.slice(11, 19);
}

export function LogHistogram({ data, start, end, step }: Props) {
    const { n, counts } = bucket(data, start, end, step);
    const levels = STACK.filter((l) => counts.has(l));
    const totals = Array.from({ length: n }, (_, i) => levels.reduce((a, l) => a + counts.get(l)![i], 0));
    const max = Math.max(1, ...totals);
    const all = totals.reduce((a, b) => a + b, 0);
    if (!all) return null; // the lines' empty state says there is nothing
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => tickLabel((start + f * (end - start)) * 1000, end - start));
    return (
        <figure class="logs-histogram">
            <figcaption>
                <span>
                    {formatNumber(all)} matching lines, per {formatSeconds(step)}
                </span>
                <ul class="logs-legend" aria-label="Lines by level">
                    {levels.map((l) => (
                        <li key={l}>
                            <span class={`swatch lvl-bg-${l}`} aria-hidden="true" /> {l} {formatNumber(counts.get(l)!.reduce((a, b) => a + b, 0))}
                        </li>
                    ))}
                </ul>
            </figcaption>
            <div class="logs-histogram-plot">
                <span class="logs-histogram-max muted">{formatNumber(max)}</span>
                <svg
                    viewBox={`0 0 ${n} 100`}
                    preserveAspectRatio="none"
                    role="img"
                    aria-label={`Histogram of ${formatNumber(all)} matching lines over the time range`}
                >
                    {totals.map((total, i) => {
                        if (!total) return null;
                        let y = 100;
                        const t = (start + i * step) * 1000;
                        return (
                            <g key={i}>
                                <title>
                                    {`${formatTime(t - step * 1000)} to ${formatTime(t)}: ${formatNumber(total)} lines` +
                                        levels.map((l) => (counts.get(l)![i] ? `, ${l} ${formatNumber(counts.get(l)![i])}` : '')).join('')}
                                </title>
                                {levels.map((l) => {
                                    const c = counts.get(l)![i];
                                    if (!c) return null;
                                    const h = (c / max) * 100;
                                    y -= h;
                                    return <rect key={l} class={`lvl-bg-${l}`} x={i + 0.1} width={0.8} y={y} height={h} />;
                                })}
                            </g>
                        );
                    })}
                </svg>
            </div>
            <div class="logs-histogram-axis muted" aria-hidden="true">
                {ticks.map((t, i) => (
                    <span key={i}>{t}</span>
                ))}
            </div>
        </figure>
    );
}
