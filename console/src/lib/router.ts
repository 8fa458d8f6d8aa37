// A small router on the History API: the path picks the page, the query string holds the
// page's state (time range, filters, selection), so every view is a URL that survives a
// reload and can be shared. The server answers index.html for every console path.
import { useEffect, useState } from 'preact/hooks';

export type Params = Record<string, string>;

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((f) => f());
window.addEventListener('popstate', notify);

/** The current location: path and query parameters. */
export interface Location {
    path: string;
    query: URLSearchParams;
}

const current = (): Location => ({ path: window.location.pathname, query: new URLSearchParams(window.location.search) });

/** Re-renders the caller whenever the location changes; returns it. */
export function useLocation(): Location {
    const [loc, setLoc] = useState(current);
    useEffect(() => {
        const f = () => setLoc(current());
        listeners.add(f);
        f(); // a navigate() during the first render happened before this subscription
        return () => void listeners.delete(f);
    }, []);
    return loc;
}

/** Builds a URL of path with query parameters (empty and undefined values left out). */
export function href(path: string, query: Record<string, string | number | undefined | null> = {}): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const s = q.toString();
    return s ? `${path}?${s}` : path;
}

/** Goes to url (a new history entry, or replacing the current one). */
export function navigate(url: string, replace = false): void {
    if (url === window.location.pathname + window.location.search) return;
    if (replace) window.history.replaceState(null, '', url);
    else window.history.pushState(null, '', url);
    notify();
}

/** Sets (or with undefined/'' removes) query parameters of the current URL, keeping the others. */
export function setQuery(changes: Record<string, string | number | undefined | null>, replace = true): void {
    const q = new URLSearchParams(window.location.search);
    for (const [k, v] of Object.entries(changes)) {
        if (v === undefined || v === null || v === '') q.delete(k);
        else q.set(k, String(v));
    }
    const s = q.toString();
    navigate(window.location.pathname + (s ? `?${s}` : ''), replace);
}

/** Matches path against a pattern like "/traces/:id"; returns the decoded parameters or null. */
export function match(pattern: string, path: string): Params | null {
    const p = pattern.split('/').filter(Boolean);
    const s = path.split('/').filter(Boolean);
    if (p.length !== s.length) return null;
    const out: Params = {};
    for (let i = 0; i < p.length; i++) {
        if (p[i].startsWith(':')) out[p[i].slice(1)] = decodeURIComponent(s[i]);
        else if (p[i] !== s[i]) return null;
    }
    return out;
}

/** The query parameters to carry from page to page: the time range and refresh. */
export function globalQuery(): Record<string, string> {
    const q = new URLSearchParams(window.location.search);
    const out: Record<string, string> = {};
    for (const k of ['from', 'to', 'refresh']) {
        const v = q.get(k);
        if (v) out[k] = v;
    }
    return out;
}

/** An in-app link: plain clicks navigate without a reload; modified clicks open as usual. */
export function onLinkClick(e: MouseEvent): void {
    const a = e.currentTarget as Element | null; // an HTML or an SVG <a>
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.getAttribute('target')) return;
    e.preventDefault();
    navigate(a.getAttribute('href') ?? '/');
}
