// The Session page: one conversation (GET /api/v1/sessions/{id}, all of it whatever the time
// range), its turns in order, each a card with the captured input and output as plain text
// (collapsed when long; the open ones are listed in the URL's "open"), the model, tokens,
// cost, latency, time to first token, errors, tool calls and a link to the turn's trace.
import type { ComponentChildren } from 'preact';

import { Link } from '../components/link';
import { Loaded } from '../components/states';
import { useApi } from '../lib/api';
import { formatCost, formatMs, formatNumber } from '../lib/format';
import { ErrorCount, Facts, UserLink, When } from './ai/common';
import { CapturedText, useQuerySet } from './ai/text';
import type { SessionDetail, Turn } from './ai/types';

import './ai/ai.css';
import './session.css';

/** Sums of a field over the turns. */
const total = (turns: Turn[], f: (t: Turn) => number) => turns.reduce((s, t) => s + f(t), 0);

function Summary({ d }: { d: SessionDetail }) {
    const t = d.turns;
    const facts: Array<[string, ComponentChildren]> = [
        ['User', <UserLink user={d.user} />],
        ['Turns', formatNumber(t.length)],
        ['LLM calls', formatNumber(total(t, (x) => x.llmCalls))],
        ['Input tokens', formatNumber(total(t, (x) => x.inputTokens))],
        ['Output tokens', formatNumber(total(t, (x) => x.outputTokens))],
        ['Cost', formatCost(total(t, (x) => x.cost))],
        ['Errors', <ErrorCount n={total(t, (x) => x.errors)} />],
    ];
    return (
        <header class="session-head">
            <h2>
                Session <span class="mono">{d.id}</span>
            </h2>
            <Facts facts={facts} />
            <p class="muted">
                Every turn of the session, whatever the time range; totals add up its turns. <Link to="/sessions">All sessions</Link>
            </p>
        </header>
    );
}

function ToolCalls({ calls }: { calls: Turn['toolCalls'] }) {
    if (calls.length === 0) return null;
    return (
        <div class="tool-calls">
            <span class="label">Tool calls</span>
            <ul>
                {calls.map((c, i) => (
                    <li key={i} class={c.error ? 'chip failed' : 'chip'}>
                        {c.name || '(unnamed)'}
                        {c.error && <span class="error-text"> (failed)</span>}
                    </li>
                ))}
            </ul>
        </div>
    );
}

function TurnCard({ turn, n, open, toggle }: { turn: Turn; n: number; open: Set<string>; toggle: (id: string) => void }) {
    const facts: Array<[string, ComponentChildren]> = [
        ['Model', turn.model || <span class="muted">–</span>],
        ['Duration', formatMs(turn.durationMs)],
        ['TTFT', formatMs(turn.ttftMs)],
        ['Input tokens', formatNumber(turn.inputTokens)],
        ['Output tokens', formatNumber(turn.outputTokens)],
        ['Cache read', formatNumber(turn.cacheReadTokens)],
        ['Cost', formatCost(turn.cost)],
        ['LLM calls', formatNumber(turn.llmCalls)],
        ['Errors', <ErrorCount n={turn.errors} />],
    ];
    const titleId = `turn-${n}`;
    return (
        <li>
            <article class={`card turn${turn.errors ? ' has-errors' : ''}`} aria-labelledby={titleId}>
                <header class="turn-head">
                    <h3 id={titleId}>Turn {n}</h3>
                    <When s={turn.start} />
                    <Link to={`/traces/${encodeURIComponent(turn.traceId)}`} class="mono" title={`Trace ${turn.traceId}`}>
                        trace {turn.traceId.slice(0, 12)}…
                    </Link>
                    <Link to="/llm" query={{ traceId: turn.traceId }} title={`How the GenAI spans of trace ${turn.traceId} were read`}>
                        diagnose
                    </Link>
                </header>
                <Facts facts={facts} />
                <ToolCalls calls={turn.toolCalls} />
                {turn.input || turn.output ? (
                    <div class="exchange">
                        <CapturedText id={`turn-${n}-input`} label="Input" text={turn.input} open={open.has(`${n}i`)} onToggle={() => toggle(`${n}i`)} />
                        <CapturedText id={`turn-${n}-output`} label="Output" text={turn.output} open={open.has(`${n}o`)} onToggle={() => toggle(`${n}o`)} />
                    </div>
                ) : (
                    <p class="muted">No input or output text was captured for this turn.</p>
                )}
            </article>
        </li>
    );
}

export function SessionPage({ id }: { id: string }) {
    const r = useApi<SessionDetail>(`/api/v1/sessions/${encodeURIComponent(id)}`);
    const [open, toggle] = useQuerySet('open');
    return (
        <div class="session ai-page">
            <Loaded r={r} what={`session ${id}`} isEmpty={(d) => d.turns.length === 0} empty={`Session ${id} has no turns.`}>
                {(d) => (
                    <>
                        <Summary d={d} />
                        <ol class="turns" aria-label="Turns">
                            {d.turns.map((t, i) => (
                                <TurnCard key={i} turn={t} n={i + 1} open={open} toggle={toggle} />
                            ))}
                        </ol>
                    </>
                )}
            </Loaded>
        </div>
    );
}
