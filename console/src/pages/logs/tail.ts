// Live tail of a LogQL query over Loki's WebSocket (/loki/api/v1/tail): the server sends the
// entries since start, then once a second those that arrived; a refusal comes as a plain-text
// frame before the close.
import { useEffect, useState } from 'preact/hooks';

import { apiUrl } from '../../lib/api';
import { type LogEntry, type LokiStream, entriesOfStreams, mergeNewestFirst } from './entries';

/** At most this many tailed lines are kept (the oldest go first). */
export const TAIL_KEEP = 1000;

/** Where the connection is; message says why it closed or failed. */
export interface TailState {
    status: 'connecting' | 'open' | 'closed' | 'error';
    message?: string;
}

/** ws(s)://host/loki/api/v1/tail?... for the page's own origin. */
function tailUrl(query: string, startNs: string): string {
    const u = new URL(apiUrl('/loki/api/v1/tail', { query, start: startNs, limit: 100, delay_for: 1 }), window.location.href);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return u.toString();
}

/**
 * Tails query while it is not null: the lines received (newest first, at most TAIL_KEEP) and the
 * connection's state. A new query, or a new attempt, starts again with no lines; the socket is
 * closed when the query becomes null or the component goes away.
 */
export function useLiveTail(query: string | null, attempt: number): { entries: LogEntry[]; state: TailState } {
    const [entries, setEntries] = useState<LogEntry[]>([]);
    const [state, setState] = useState<TailState>({ status: 'closed' });
    useEffect(() => {
        setEntries([]);
        if (query === null) {
            setState({ status: 'closed' });
            return;
        }
        // From a few seconds back, so that lines exported in batches are not missed; the page
        // drops those it already shows.
        const startNs = `${Date.now() - 10_000}000000`;
        let ws: WebSocket;
        try {
            ws = new WebSocket(tailUrl(query, startNs));
        } catch (e) {
            setState({ status: 'error', message: (e as Error).message });
            return;
        }
        let refused = '';
        setState({ status: 'connecting' });
        ws.onopen = () => setState({ status: 'open' });
        ws.onmessage = (ev) => {
            let frame: { streams?: LokiStream[] } | null = null;
            try {
                frame = JSON.parse(String(ev.data));
            } catch {
                refused = String(ev.data).trim();
                return;
            }
            const got = entriesOfStreams(frame?.streams ?? []);
            if (got.length) setEntries((old) => mergeNewestFirst([got, old], TAIL_KEEP));
        };
        ws.onerror = () => setState({ status: 'error', message: refused || 'the connection failed' });
        ws.onclose = (ev) =>
            setState(
                refused
                    ? { status: 'error', message: refused }
                    : { status: 'closed', message: ev.wasClean ? 'the server closed the connection' : `the connection was lost (code ${ev.code})` },
            );
        return () => {
            ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
            ws.close();
        };
    }, [query, attempt]);
    return { entries, state };
}
