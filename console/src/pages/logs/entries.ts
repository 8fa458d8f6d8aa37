// Log lines as the Logs page holds them, from the native search (/api/v1/logs) and from live
// tail frames (Loki's streams), with a stable key per line for the URL's selection.
import { formatTime } from '../../lib/time';

/** One line of /api/v1/logs. */
export interface NativeLog {
    time: string; // unix ns
    line: string;
    labels: Record<string, string>; // stream labels and structured metadata
    traceId?: string;
    spanId?: string;
    trace?: 'present' | 'absent'; // whether the store holds spans of traceId
}

/** GET /api/v1/logs */
export interface NativeLogs {
    logs: NativeLog[];
}

/** A stream of a Loki answer or tail frame: its labels and [unix ns, line] entries. */
export interface LokiStream {
    stream: Record<string, string>;
    values: Array<[string, string]>;
}

/** A line on the page. */
export interface LogEntry extends NativeLog {
    key: string; // time and a hash of service and line: stable across fetches
}

/** FNV-1a of s, as 8 hex digits. */
function hash(s: string): string {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) {
        h ^= s.charCodeAt(i);
        h = Math.imul(h, 0x01000193);
    }
    return (h >>> 0).toString(16).padStart(8, '0');
}

/** A NativeLog with its key. */
export const entryOf = (l: NativeLog): LogEntry => ({ ...l, key: `${l.time}-${hash(`${l.labels.service_name ?? ''}\n${l.line}`)}` });

/** The entries of Loki streams; trace fields from the trace_id and span_id labels. */
export function entriesOfStreams(streams: LokiStream[]): LogEntry[] {
    const out: LogEntry[] = [];
    for (const s of streams)
        for (const [time, line] of s.values)
            out.push(entryOf({ time, line, labels: s.stream, traceId: s.stream.trace_id || undefined, spanId: s.stream.span_id || undefined }));
    return out;
}

/** Orders unix-ns strings (same-length decimal strings compare as text). */
const cmpNs = (a: string, b: string) => (a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0);

/** Entries of all lists, newest first, each key once (the first list's copy wins); at most max. */
export function mergeNewestFirst(lists: LogEntry[][], max: number): LogEntry[] {
    const seen = new Set<string>();
    const out: LogEntry[] = [];
    for (const list of lists)
        for (const e of list)
            if (!seen.has(e.key)) {
                seen.add(e.key);
                out.push(e);
            }
    out.sort((a, b) => cmpNs(b.time, a.time));
    return out.length > max ? out.slice(0, max) : out;
}

/** Milliseconds of a unix-ns string. */
export const nsToMs = (ns: string) => Number(ns.length > 6 ? ns.slice(0, -6) : '0');

/** "2026-11-21 18:04:05.123" of a unix-ns string, local time. */
export function formatNs(ns: string): string {
    const ms = nsToMs(ns);
    return `${formatTime(ms)}.${String(ms % 1000).padStart(3, '0')}`;
}
