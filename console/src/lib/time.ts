// The time range of every view: "from" and "to" in the URL, each either relative to now
// ("now", "now-15m", "now-2d") or absolute (unix milliseconds). Relative ranges are resolved
// again at each refresh.
import { useMemo } from 'preact/hooks';

import { useRefreshTick } from './refresh';
import { useLocation } from './router';

export const DEFAULT_FROM = 'now-1h';
export const DEFAULT_TO = 'now';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of a duration like "30s", "15m", "1h", "7d"; NaN when malformed. */
export function durationMs(s: string): number {
    const m = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(s.trim());
    return m ? Number(m[1]) * UNIT_MS[m[2]] : NaN;
}

/** Unix milliseconds of a range end ("now", "now-1h", or unix ms) at now; NaN when malformed. */
export function resolveTime(s: string, now: number): number {
    const t = s.trim();
    if (t === 'now') return now;
    if (t.startsWith('now-')) return now - durationMs(t.slice(4));
    return /^\d+$/.test(t) ? Number(t) : NaN;
}

export interface TimeRange {
    from: string; // as in the URL
    to: string;
    startMs: number; // resolved
    endMs: number;
    /** start and end in unix seconds, as the APIs take them */
    start: number;
    end: number;
    relative: boolean;
}

/** The range of from and to, resolved at now (defaults when malformed). */
export function rangeOf(from: string | null, to: string | null, now = Date.now()): TimeRange {
    let f = from || DEFAULT_FROM;
    let t = to || DEFAULT_TO;
    let startMs = resolveTime(f, now);
    let endMs = resolveTime(t, now);
    if (!(startMs < endMs)) {
        f = DEFAULT_FROM;
        t = DEFAULT_TO;
        startMs = resolveTime(f, now);
        endMs = now;
    }
    return { from: f, to: t, startMs, endMs, start: startMs / 1000, end: endMs / 1000, relative: f.startsWith('now') || t.startsWith('now') };
}

/**
 * The current URL's time range, resolved again only when from or to change, the
 * auto-refresh ticks, or again changes (a page's Run counter, say), so URLs built from it
 * stay the same between those.
 */
export function useTimeRange(again: unknown = 0): TimeRange {
    const { query } = useLocation();
    const from = query.get('from');
    const to = query.get('to');
    const tick = useRefreshTick();
    return useMemo(() => rangeOf(from, to), [from, to, tick, again]);
}

/** The range as the APIs take it: {start, end} in unix seconds (to the millisecond). */
export const apiRange = (r: TimeRange) => ({ start: r.start.toFixed(3), end: r.end.toFixed(3) });

/** A step for charts over the range: about points steps, rounded to a whole second. */
export function stepFor(r: TimeRange, points = 120): number {
    return Math.max(1, Math.round((r.endMs - r.startMs) / 1000 / points));
}

/** Quick ranges of the picker. */
export const QUICK_RANGES: Array<[string, string]> = [
    ['now-5m', 'Last 5 minutes'],
    ['now-15m', 'Last 15 minutes'],
    ['now-1h', 'Last 1 hour'],
    ['now-6h', 'Last 6 hours'],
    ['now-24h', 'Last 24 hours'],
    ['now-7d', 'Last 7 days'],
];

/** A human label of a range: the quick range's name, or its two ends. */
export function rangeLabel(r: TimeRange): string {
    if (r.to === 'now') {
        const q = QUICK_RANGES.find(([f]) => f === r.from);
        if (q) return q[1];
        if (r.from.startsWith('now-')) return `Last ${r.from.slice(4)}`;
    }
    return `${formatTime(r.startMs)} to ${formatTime(r.endMs)}`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local date and time, "2026-11-21 18:04:05". */
export function formatTime(ms: number): string {
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
