// The trace page's URL state: the tab, the selected span, the collapsed spans and the options
// of the tabs, all in the query string next to the time range.
import { setQuery } from '../../lib/router';

export type Tab = 'waterfall' | 'flame' | 'stats' | 'logs';
export const TABS: Array<[Tab, string]> = [
    ['waterfall', 'Waterfall'],
    ['flame', 'Flame graph'],
    ['stats', 'Statistics'],
    ['logs', 'Logs'],
];

/** The tab named by the query (the waterfall by default). */
export const tabOf = (q: URLSearchParams): Tab => (TABS.find(([t]) => t === q.get('tab'))?.[0] ?? 'waterfall');

/** The collapsed span ids ("collapsed=id,id"). */
export const collapsedOf = (q: URLSearchParams): Set<string> => new Set((q.get('collapsed') ?? '').split(',').filter(Boolean));

/** Writes the collapsed span ids. */
export const setCollapsed = (ids: Set<string>) => setQuery({ collapsed: [...ids].join(',') });

/** The current page's URL with some query parameters changed ('' or undefined removes one). */
export function hereWith(changes: Record<string, string | number | undefined | null>): string {
    const q = new URLSearchParams(window.location.search);
    for (const [k, v] of Object.entries(changes)) {
        if (v === undefined || v === null || v === '') q.delete(k);
        else q.set(k, String(v));
    }
    const s = q.toString();
    return window.location.pathname + (s ? `?${s}` : '');
}
