// Time-series charts on uPlot, coloured from the theme, resized with their container.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

import { cssVar, useThemeVersion } from '../lib/theme';

export interface Series {
    label: string;
    values: Array<number | null>; // one per time, null for a gap
}

interface Props {
    times: number[]; // unix seconds
    series: Series[];
    height?: number;
    format?: (v: number) => string; // y-axis and legend values
    title?: string; // also the chart's accessible name
}

/** The y axis' width: room for its longest label (about 7 px a character) and the ticks. */
const axisWidth = (_u: uPlot, values: string[] | null) => (values?.length ? Math.max(...values.map((v) => v.length)) * 7 + 18 : 40);

/** A line chart of several series over the same times. */
export function TimeChart({ times, series, height = 180, format = (v) => String(v), title }: Props) {
    const box = useRef<HTMLDivElement>(null);
    const theme = useThemeVersion(); // drawn again in the new theme's colours (axis text stays 4.5:1)
    useEffect(() => {
        const el = box.current;
        if (!el) return;
        const fg = cssVar('--fg-muted');
        const grid = cssVar('--border');
        const colours = [1, 2, 3, 4, 5].map((i) => cssVar(`--chart-${i}`));
        const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
        const opts: uPlot.Options = {
            width: el.clientWidth || 400,
            height,
            title,
            // x: at least 80 px between time labels, so that a narrow chart's labels never overlap
            axes: [{ ...axis, space: 80 }, { ...axis, values: (_u, vals) => vals.map((v) => (v === null ? '' : format(v))), size: axisWidth }],
            series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colours[i % colours.length], width: 1.5, value: (_u: uPlot, v: number | null) => (v === null ? '–' : format(v)) }))],
            scales: { x: { time: true } },
            legend: { show: series.length > 0 },
        };
        const plot = new uPlot(opts, [times, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
        const ro = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height }));
        ro.observe(el);
        return () => {
            ro.disconnect();
            plot.destroy();
        };
    }, [times, series, height, title, theme]);
    return <div ref={box} class="chart" role="img" aria-label={title ?? 'chart'} />;
}

/** A small inline line of values (no axes), for table cells. */
export function Sparkline({ values, width = 100, height = 24, label }: { values: Array<number | null>; width?: number; height?: number; label: string }) {
    const nums = values.filter((v): v is number => v !== null && Number.isFinite(v));
    if (nums.length < 2) return <span class="muted">–</span>;
    const max = Math.max(...nums);
    const min = Math.min(0, ...nums);
    const span = max - min || 1;
    const step = width / (values.length - 1);
    let d = '';
    values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) return;
        const y = height - 1 - ((v - min) / span) * (height - 2);
        d += `${d && values[i - 1] !== null ? 'L' : 'M'}${(i * step).toFixed(1)},${y.toFixed(1)}`;
    });
    return (
        <svg class="sparkline" width={width} height={height} role="img" aria-label={label}>
            <path d={d} fill="none" stroke="var(--chart-1)" stroke-width="1.5" />
        </svg>
    );
}
