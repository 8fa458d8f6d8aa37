// The Logs page: a LogQL query (in the URL) with a label helper, a histogram of the matching
// lines over the range, the lines themselves (newest first, expandable, linked to their traces),
// a live tail over Loki's WebSocket, and a Patterns tab of the templates mined per service.
import { useEffect, useMemo, useState } from 'preact/hooks';

import { ErrorState, Loaded, Loading } from '../components/states';
import { useApi } from '../lib/api';
import { formatNumber } from '../lib/format';
import { setQuery, useLocation } from '../lib/router';
import { type TimeRange, apiRange, stepFor, useTimeRange } from '../lib/time';
import { type LogEntry, type NativeLogs, entryOf, mergeNewestFirst } from './logs/entries';
import { LabelHelper } from './logs/helper';
import { LogHistogram, type MatrixData } from './logs/histogram';
import { LogLines } from './logs/lines';
import { DEFAULT_QUERY, type MatchOp, addMatcher, histogramQuery } from './logs/logql';
import { PatternsTab } from './logs/patterns';
import { TAIL_KEEP, type TailState, useLiveTail } from './logs/tail';
import './logs.css';

/** Line limits offered (the API takes 1 to 5000). */
const LIMITS = [100, 500, 1000, 5000];

/** Bars of the histogram over the range. */
const HISTOGRAM_BARS = 60;

/** The query box: edits a draft, runs it on Enter (Shift+Enter for a new line) or Run. */
function QueryBar({ committed, labels, range, onRun }: { committed: string; labels: string[]; range: { start: string; end: string }; onRun: (q: string) => void }) {
    const [draft, setDraft] = useState(committed);
    useEffect(() => setDraft(committed), [committed]);
    const run = (q = draft) => onRun(q.trim() || DEFAULT_QUERY);
    const add = (name: string, op: MatchOp, value: string) => {
        const q = addMatcher(draft, name, op, value);
        setDraft(q);
        run(q);
    };
    return (
        <div class="logs-query">
            <form
                class="logs-query-row"
                onSubmit={(e) => {
                    e.preventDefault();
                    run();
                }}
            >
                <label class="visually-hidden" for="logql">
                    LogQL query
                </label>
                <textarea
                    id="logql"
                    class="mono"
                    rows={2}
                    spellcheck={false}
                    value={draft}
                    placeholder={DEFAULT_QUERY}
                    aria-describedby="logql-hint"
                    onInput={(e) => setDraft(e.currentTarget.value)}
                    onKeyDown={(e) => {
                        if (e.key === 'Enter' && !e.shiftKey) {
                            e.preventDefault();
                            run();
                        }
                    }}
                />
                <button type="submit" class="btn primary">
                    Run
                </button>
            </form>
            <p id="logql-hint" class="muted">
                A stream selector such as <code>{'{service_name="checkout"}'}</code>, then filters: <code>|= "text"</code>, <code>| json</code>,{' '}
                <code>| detected_level="error"</code>. Enter runs, Shift+Enter adds a line.
            </p>
            <LabelHelper labels={labels} range={range} onAdd={add} />
        </div>
    );
}

/** Where the live tail stands, in words. */
function TailStatus({ state, onRetry }: { state: TailState; onRetry: () => void }) {
    const text =
        state.status === 'open'
            ? 'Live: connected, new lines appear at the top'
            : state.status === 'connecting'
              ? 'Live: connecting…'
              : `Live tail stopped${state.message ? `: ${state.message}` : ''}`;
    return (
        <span class={`tail-status tail-${state.status}`} role="status">
            {text}
            {(state.status === 'error' || state.status === 'closed') && (
                <button type="button" class="btn" onClick={onRetry}>
                    Reconnect
                </button>
            )}
        </span>
    );
}

/** The Lines tab: histogram, toolbar (limit, live tail) and the lines. */
function LinesTab({ query, range, streamLabels }: { query: string; range: TimeRange; streamLabels: Set<string> }) {
    const { query: url } = useLocation();
    const limit = LIMITS.includes(Number(url.get('limit'))) ? Number(url.get('limit')) : LIMITS[0];
    const live = url.get('live') === '1';
    const selected = url.get('line');
    const [attempt, setAttempt] = useState(0);
    const api = apiRange(range);
    const step = stepFor(range, HISTOGRAM_BARS);
    const hist = useApi<{ data: MatrixData }>('/loki/api/v1/query_range', { query: histogramQuery(query, step), ...api, step });
    const lines = useApi<NativeLogs>('/api/v1/logs', { query, ...api, limit });
    const tail = useLiveTail(live ? query : null, attempt);
    const loaded = useMemo(() => (lines.data?.logs ?? []).map(entryOf), [lines.data]);
    const entries: LogEntry[] = useMemo(() => (live ? mergeNewestFirst([tail.entries, loaded], TAIL_KEEP + limit) : loaded), [live, tail.entries, loaded, limit]);
    return (
        <section aria-label="Lines">
            {!lines.error &&
                (hist.error ? (
                    <ErrorState error={hist.error} retry={hist.reload} />
                ) : hist.data ? (
                    <LogHistogram data={hist.data.data} start={range.start} end={range.end} step={step} />
                ) : (
                    <Loading what="the histogram" />
                ))}
            <div class="toolbar logs-toolbar">
                <label>
                    Lines
                    <select value={limit} onChange={(e) => setQuery({ limit: e.currentTarget.value === String(LIMITS[0]) ? undefined : e.currentTarget.value })}>
                        {LIMITS.map((n) => (
                            <option key={n} value={n}>
                                newest {n}
                            </option>
                        ))}
                    </select>
                </label>
                <button type="button" class={`btn${live ? ' primary' : ''}`} aria-pressed={live} onClick={() => setQuery({ live: live ? undefined : '1' })}>
                    {live ? '■ Stop live tail' : '▶ Live tail'}
                </button>
                {live && <TailStatus state={tail.state} onRetry={() => setAttempt((n) => n + 1)} />}
            </div>
            <Loaded
                r={lines}
                what="log lines"
                isEmpty={() => entries.length === 0}
                empty={live ? 'No lines yet: waiting for new ones.' : 'No lines match this query in this time range.'}
            >
                {() => (
                    <>
                        <p class="muted">
                            {formatNumber(entries.length)} lines, newest first
                            {live && tail.entries.length ? ` (${formatNumber(tail.entries.length)} from the live tail)` : ''}
                            {!live && loaded.length === limit ? ': the limit; narrow the query or raise the limit to see more' : ''}.
                        </p>
                        <LogLines entries={entries} streamLabels={streamLabels} selected={selected} caption={`Log lines of ${query}`} />
                    </>
                )}
            </Loaded>
        </section>
    );
}

export function LogsPage() {
    const { query: url } = useLocation();
    const [runs, setRuns] = useState(0);
    const range = useTimeRange(runs);
    const api = apiRange(range);
    const query = url.get('query') || DEFAULT_QUERY;
    const tab = url.get('tab') === 'patterns' ? 'patterns' : 'lines';
    const labels = useApi<{ data: string[] }>('/loki/api/v1/labels', api);
    const names = labels.data?.data ?? [];
    const streamLabels = useMemo(() => new Set(['service_name', ...names]), [labels.data]);
    const run = (q: string) => {
        setRuns((n) => n + 1);
        setQuery({ query: q === DEFAULT_QUERY ? undefined : q, tab: undefined, line: undefined }, false);
    };
    return (
        <div class="logs-page">
            <QueryBar committed={query} labels={names} range={api} onRun={run} />
            <div class="tabs" role="group" aria-label="View">
                <button type="button" class="btn" aria-pressed={tab === 'lines'} onClick={() => setQuery({ tab: undefined })}>
                    Lines
                </button>
                <button type="button" class="btn" aria-pressed={tab === 'patterns'} onClick={() => setQuery({ tab: 'patterns', live: undefined })}>
                    Patterns
                </button>
            </div>
            {tab === 'lines' ? <LinesTab query={query} range={range} streamLabels={streamLabels} /> : <PatternsTab range={api} />}
        </div>
    );
}
