// The console's number formats (console/src/lib/format.ts), written again for the tests, so that
// an API's figure can be compared with the text a page shows for it. Keep in step with format.ts.

/** A count or rate with at most 3 significant digits and a k/M/G suffix; '–' for none. */
export function formatNumber(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    const a = Math.abs(v);
    if (a >= 1e9) return `${(v / 1e9).toPrecision(3)}G`;
    if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
    if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
    if (Number.isInteger(v)) return String(v);
    return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2).replace(/\.?0+$/, '') : v.toPrecision(2);
}

/** Seconds as a duration: "850 µs", "12.3 ms", "1.25 s", "3m 20s"; '–' for none. */
export function formatSeconds(s) {
    if (s === null || s === undefined || Number.isNaN(s)) return '–';
    const a = Math.abs(s);
    if (a === 0) return '0';
    if (a < 1e-3) return `${(s * 1e6).toPrecision(3)} µs`;
    if (a < 1) return `${(s * 1e3).toPrecision(3)} ms`;
    if (a < 60) return `${s.toPrecision(3)} s`;
    const m = Math.floor(s / 60);
    return `${m}m ${Math.round(s - m * 60)}s`;
}

/** Milliseconds as a duration (formatSeconds). */
export const formatMs = (ms) => (ms === null || ms === undefined ? '–' : formatSeconds(ms / 1000));

/** A ratio as a percentage: "0.52%"; '–' for none. */
export function formatPercent(r) {
    if (r === null || r === undefined || Number.isNaN(r)) return '–';
    const p = r * 100;
    return `${p === 0 ? '0' : p < 0.01 ? '<0.01' : p < 10 ? p.toFixed(2) : p.toFixed(1)}%`;
}

/** US dollars: "$0.0042", "$12.30"; '–' for none. */
export function formatCost(usd) {
    if (usd === null || usd === undefined || Number.isNaN(usd)) return '–';
    if (usd === 0) return '$0';
    return usd < 0.01 ? `$${usd.toPrecision(2)}` : `$${usd.toFixed(2)}`;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** Unix milliseconds as local date and time, "2026-11-21 18:04:05" (lib/time.ts formatTime). */
export function formatTime(ms) {
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
