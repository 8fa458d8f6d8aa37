// Fetching from Osprey's own APIs, with errors that say what happened. Every JSON API answers
// errors as {"error": "..."} (Prometheus- and Loki-style ones as {"status": "error",
// "error": "..."}), which ApiError carries.
import { useEffect, useRef, useState } from 'preact/hooks';

import { useRefreshTick } from './refresh';
import { type TimeRange, apiRange } from './time';

export class ApiError extends Error {
    constructor(
        readonly status: number, // HTTP status, 0 when the server could not be reached
        message: string,
        readonly path: string,
    ) {
        super(message);
    }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

/** path with its query string (undefined, null and '' values left out). */
export function apiUrl(path: string, query: Query = {}): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const s = q.toString();
    return s ? `${path}?${s}` : path;
}

/** GETs path as JSON; throws ApiError on a network error, a non-2xx status or a bad body. */
export async function getJSON<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
    const url = apiUrl(path, query);
    let res: Response;
    try {
        res = await fetch(url, { signal, headers: { accept: 'application/json' } });
    } catch (e) {
        if ((e as Error).name === 'AbortError') throw e;
        throw new ApiError(0, `cannot reach the Osprey server (${(e as Error).message})`, url);
    }
    const text = await res.text();
    let body: unknown;
    try {
        body = text ? JSON.parse(text) : null;
    } catch {
        // Loki-style endpoints answer errors as plain text: that text is the message.
        throw new ApiError(res.status, res.ok ? `the server answered something that is not JSON` : text.trim().slice(0, 500) || `HTTP ${res.status}`, url);
    }
    const err = (body as { error?: string; status?: string } | null)?.error;
    if (!res.ok || (body as { status?: string } | null)?.status === 'error') throw new ApiError(res.status, err ?? `HTTP ${res.status}`, url);
    return body as T;
}

export interface Resource<T> {
    data: T | undefined;
    error: ApiError | undefined;
    loading: boolean; // a request is in flight (data may still hold the previous answer)
    reload: () => void;
}

/** Query parameters that only move a view in time: a new answer replaces the old in place. */
const TIME_PARAMS = new Set(['start', 'end', 'time', 'step']);

/** Whether a and b are the same view (path and parameters, times aside). */
function sameView(a: string | null, b: string | null): boolean {
    if (a === null || b === null) return a === b;
    const [pa, qa = ''] = a.split('?');
    const [pb, qb = ''] = b.split('?');
    const strip = (q: string) => [...new URLSearchParams(q)].filter(([k]) => !TIME_PARAMS.has(k)).map(([k, v]) => `${k}=${v}`).sort().join('&');
    return pa === pb && strip(qa) === strip(qb);
}

/**
 * Fetches path with query while the component lives, again whenever the URL built from them
 * changes or the auto-refresh ticks. Pass null as path to fetch nothing. While a new answer
 * is on its way, the old one stays when only the times moved (a refresh); another view
 * starts empty.
 */
export function useApi<T>(path: string | null, query: Query = {}): Resource<T> {
    const url = path === null ? null : apiUrl(path, query);
    const tick = useRefreshTick();
    const [nonce, setNonce] = useState(0);
    const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean; url: string | null }>({ loading: path !== null, url });
    const latest = useRef(0);
    useEffect(() => {
        if (url === null) return;
        const id = ++latest.current;
        const ctl = new AbortController();
        setState((s) => ({ ...s, loading: true, url }));
        getJSON<T>(url, {}, ctl.signal).then(
            (data) => id === latest.current && setState({ data, error: undefined, loading: false, url }),
            (e) => {
                if ((e as Error).name === 'AbortError' || id !== latest.current) return;
                setState((s) => ({ data: sameView(s.url, url) ? s.data : undefined, error: e instanceof ApiError ? e : new ApiError(0, String(e), url), loading: false, url }));
            },
        );
        return () => ctl.abort();
    }, [url, tick, nonce]);
    const sameUrl = state.url === url;
    const keep = sameUrl || sameView(state.url, url);
    return { data: keep ? state.data : undefined, error: sameUrl ? state.error : undefined, loading: url !== null && (state.loading || !sameUrl), reload: () => setNonce((n) => n + 1) };
}

/** useApi of path with query over the time range r (its start and end added, unix seconds). */
export function useRangeApi<T>(path: string | null, query: Query, r: TimeRange): Resource<T> {
    return useApi<T>(path, { ...query, ...apiRange(r) });
}
