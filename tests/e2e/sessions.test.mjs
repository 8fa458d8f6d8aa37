// Sessions, users, agents and streaming quality end to end: a seeded chat workload built with
// the OpenTelemetry JS SDK (sessions and users on each trace's root HTTP span, agent runs
// of LLM and tool calls below it, streamed calls with first-token and chunk events, some
// failing) is sent over several requests a derive interval apart, turns out of order and
// half the root spans last; every API is then compared with what this test works out from
// the spans it made, before and after a restart of the server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

import { exportSpans } from './genai-workload.mjs';
import { sum } from './lib/expect.mjs';
import { getJson } from './lib/http.mjs';
import { prng } from './lib/prng.mjs';
import { cleanExit, moveAiCallsBackADay, SLOW, sleep, startServer, tempDir } from './lib/server.mjs';

const PRICE = { input: 3, output: 15, cacheRead: 0.3 }; // USD per million tokens, model m-chat
const PRICES = 'prices:\n  - model: m-chat\n    provider: acme\n    input: 3\n    output: 15\n    cache_read: 0.3\n';
const SESSIONS = [['sess-a', 'ann'], ['sess-b', 'ann'], ['sess-c', 'bob'], ['sess-d', 'cyd'], ['sess-e', 'bob']];
const AGENTS = ['planner', 'critic'];
const TOOLS = ['search', 'calc'];
const STALL_MS = 300;
const MS = 1_000_000n;

const hr = (ns) => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
const secondsOf = (ns) => Number(ns / MS) / 1000; // unix seconds to the millisecond
const msOf = (ns) => Number(ns) / 1e6;
const nearestRank = (xs, q) => {
    if (!xs.length) return null;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.max(Math.ceil(q * s.length), 1) - 1];
};
const costOf = (c) => ((c.input - c.cacheRead) * PRICE.input + c.cacheRead * PRICE.cacheRead + c.output * PRICE.output) / 1e6;

/** The workload: spans (SDK ReadableSpans), a ledger of turns and their calls, and the
 *  order to send them in: [[spans of request 1], [request 2], ...]. */
function buildWorkload(now) {
    const rand = prng(20261122);
    const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
    const providers = [];
    const memory = new InMemorySpanExporter();
    const tracerOf = new Map();
    const tracer = (service) => {
        if (!tracerOf.has(service)) {
            const p = new TracerProvider({
                resource: resourceFromAttributes({ 'service.name': service }),
                spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
            });
            providers.push(p);
            tracerOf.set(service, p.getTracer('sessions.e2e'));
        }
        return tracerOf.get(service);
    };
    const open = (service, name, kind, startNs, attributes, parent) =>
        tracer(service).startSpan(name, { kind, startTime: hr(startNs), attributes }, parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT);
    const close = (span, endNs, error) => {
        if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
        span.end(hr(endNs));
    };

    /** An LLM call under parent from t; returns its ledger entry. */
    function llmCall(service, parent, t, { input = null, output = null }) {
        const c = { type: 'llm', service, start: t, input: int(50, 900), output: int(5, 200), cacheRead: 0, streamed: rand() < 0.6, ttft: null, maxGap: null, error: false, inputText: input, outputText: output };
        if (rand() < 0.4) c.cacheRead = int(1, c.input);
        const attrs = {
            'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'acme', 'gen_ai.request.model': 'm-chat', 'gen_ai.response.model': 'm-chat',
            'gen_ai.usage.input_tokens': c.input, 'gen_ai.usage.output_tokens': c.output, 'gen_ai.request.stream': c.streamed,
        };
        if (c.cacheRead) attrs['gen_ai.usage.cache_read.input_tokens'] = c.cacheRead;
        if (input) attrs['gen_ai.input.messages'] = input;
        if (output) attrs['gen_ai.output.messages'] = output;
        const s = open(service, 'chat m-chat', SpanKind.CLIENT, t, attrs, parent);
        let end = t + BigInt(int(80, 400)) * MS;
        if (c.streamed) {
            c.ttft = BigInt(int(20, 70)) * MS;
            s.addEvent('gen_ai.first_token', {}, hr(t + c.ttft));
            let at = t + c.ttft;
            c.maxGap = null;
            for (let k = int(0, 4); k > 0; k--) {
                const gap = BigInt(int(5, 600)) * MS;
                at += gap;
                c.maxGap = c.maxGap === null || gap > c.maxGap ? gap : c.maxGap;
                s.addEvent('gen_ai.content.chunk', {}, hr(at));
            }
            end = at + 10n * MS;
        }
        c.error = rand() < 0.15;
        close(s, end, c.error ? 'upstream reset' : null);
        c.end = end;
        return c;
    }

    function toolCall(parent, t) {
        const c = { type: 'tool', service: 'agent-svc', name: TOOLS[int(0, 1)], start: t, error: rand() < 0.4 };
        const s = open('agent-svc', `execute_tool ${c.name}`, SpanKind.INTERNAL, t, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': c.name }, parent);
        c.end = t + BigInt(int(3, 90)) * MS;
        close(s, c.end, c.error ? 'tool failed' : null);
        return c;
    }

    const turns = [];
    let t = BigInt(now - 10 * 60 * 1000) * MS;
    for (const [session, user] of SESSIONS) {
        for (let k = int(2, 5); k > 0; k--) {
            t += BigInt(int(200, 3000)) * MS;
            const root = open('chat-api', 'POST /chat', SpanKind.SERVER, t, { 'session.id': session, 'user.id': user, 'http.request.method': 'POST' });
            const turn = { session, user, calls: [], rootStart: t, traceId: root.spanContext().traceId };
            let at = t + 2n * MS;
            const input = JSON.stringify([{ role: 'user', content: `question ${turns.length}` }]);
            const output = JSON.stringify([{ role: 'assistant', content: `answer ${turns.length}` }]);
            if (rand() < 0.7) {
                turn.agent = AGENTS[int(0, 1)];
                const run = open('agent-svc', `invoke_agent ${turn.agent}`, SpanKind.INTERNAL, at, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': turn.agent }, root);
                turn.start = at;
                // The first step is an LLM call: it gets the input text, the last one the output.
                const kinds = Array.from({ length: int(1, 5) }, (_, i) => (i === 0 || rand() < 0.5 ? 'llm' : 'tool'));
                const lastLlm = kinds.lastIndexOf('llm');
                kinds.forEach((kind, i) => {
                    at += 1n * MS;
                    const texts = { input: i === 0 ? input : null, output: i === lastLlm ? output : null };
                    const c = kind === 'llm' ? llmCall('agent-svc', run, at, texts) : toolCall(run, at);
                    turn.calls.push(c);
                    at = c.end;
                });
                turn.end = at + 1n * MS;
                close(run, turn.end, null);
            } else {
                const c = llmCall('chat-api', root, at, { input, output });
                turn.calls.push(c);
                turn.start = c.start;
                turn.end = c.end;
                at = c.end;
            }
            turn.rootEnd = at + 3n * MS;
            close(root, turn.rootEnd, null);
            turns.push(turn);
        }
    }
    return { turns, spans: memory.getFinishedSpans(), providers };
}

/** Three requests: traces shuffled, half the root spans held back to the last. */
function requests(w) {
    const rand = prng(7);
    const byTrace = new Map();
    for (const s of w.spans) {
        const id = s.spanContext().traceId;
        if (!byTrace.has(id)) byTrace.set(id, []);
        byTrace.get(id).push(s);
    }
    const ids = [...byTrace.keys()].sort(() => rand() - 0.5);
    const out = [[], [], []];
    ids.forEach((id, i) => {
        for (const s of byTrace.get(id)) {
            const isRoot = !(s.parentSpanContext?.spanId ?? s.parentSpanId);
            out[isRoot && i % 2 ? 2 : i % 2].push(s);
        }
    });
    return out;
}

/** What each API must answer, from the ledger. */
function expectations(w) {
    const x = { sessions: [], details: new Map(), users: [], agents: [], streaming: [], byUser: [] };
    const llmsOf = (turns) => turns.flatMap((t) => t.calls.filter((c) => c.type === 'llm'));
    const aiErrors = (turns) => sum(turns, (t) => t.calls.filter((c) => c.error).length);
    for (const [session, user] of SESSIONS) {
        const ts = w.turns.filter((t) => t.session === session);
        const llms = llmsOf(ts);
        const first = ts.reduce((a, t) => (t.rootStart < a ? t.rootStart : a), ts[0].rootStart);
        const last = ts.reduce((a, t) => (t.rootEnd > a ? t.rootEnd : a), ts[0].rootEnd);
        x.sessions.push({
            id: session, user,
            services: [...new Set(['chat-api', ...ts.flatMap((t) => (t.agent ? ['agent-svc'] : []))])].sort(),
            turns: ts.length, traces: ts.length,
            inputTokens: sum(llms, (c) => c.input), outputTokens: sum(llms, (c) => c.output),
            cost: sum(llms, costOf), errors: aiErrors(ts),
            durationMs: msOf(last - first), firstSeen: secondsOf(first), lastSeen: secondsOf(last),
        });
        x.details.set(session, {
            id: session, user,
            turns: ts.map((t) => {
                const l = t.calls.filter((c) => c.type === 'llm');
                return {
                    traceId: t.traceId, start: secondsOf(t.start), durationMs: msOf(t.end - t.start),
                    model: l.length ? 'm-chat' : '',
                    inputTokens: sum(l, (c) => c.input), outputTokens: sum(l, (c) => c.output), cacheReadTokens: sum(l, (c) => c.cacheRead),
                    cost: sum(l, costOf), ttftMs: l.length && l[0].ttft !== null ? msOf(l[0].ttft) : null,
                    errors: t.calls.filter((c) => c.error).length,
                    input: l.length ? l[0].inputText ?? '' : '', output: l.length ? l[l.length - 1].outputText ?? '' : '',
                    llmCalls: l.length,
                    toolCalls: t.calls.filter((c) => c.type === 'tool').map((c) => ({ name: c.name, error: c.error })),
                };
            }),
        });
    }
    x.sessions.sort((a, b) => b.lastSeen - a.lastSeen);
    for (const user of [...new Set(SESSIONS.map(([, u]) => u))].sort()) {
        const ts = w.turns.filter((t) => t.user === user);
        const llms = llmsOf(ts);
        x.users.push({
            id: user, sessions: new Set(ts.map((t) => t.session)).size, traces: ts.length, llmCalls: llms.length,
            inputTokens: sum(llms, (c) => c.input), outputTokens: sum(llms, (c) => c.output), cost: sum(llms, costOf), errors: aiErrors(ts),
            firstSeen: secondsOf(ts.reduce((a, t) => (t.rootStart < a ? t.rootStart : a), ts[0].rootStart)),
            lastSeen: secondsOf(ts.reduce((a, t) => (t.rootEnd > a ? t.rootEnd : a), ts[0].rootEnd)),
        });
        x.byUser.push({
            key: user, calls: llms.length, errors: llms.filter((c) => c.error).length,
            inputTokens: sum(llms, (c) => c.input), outputTokens: sum(llms, (c) => c.output), cacheReadTokens: sum(llms, (c) => c.cacheRead),
            cost: sum(llms, costOf),
            latencyP95: nearestRank(llms.map((c) => Number(c.end - c.start) / 1e9), 0.95),
            ttftP95: nearestRank(llms.filter((c) => c.ttft !== null).map((c) => Number(c.ttft) / 1e9), 0.95),
            streamingShare: llms.filter((c) => c.ttft !== null).length / llms.length,
        });
    }
    x.users.sort((a, b) => b.lastSeen - a.lastSeen || (a.id < b.id ? -1 : 1)); // newest first, as the API lists them
    for (const name of [...AGENTS].sort()) {
        const runs = w.turns.filter((t) => t.agent === name);
        if (!runs.length) continue;
        const steps = runs.map((t) => t.calls);
        const tools = [...new Set(steps.flat().filter((c) => c.type === 'tool').map((c) => c.name))].sort();
        const counts = new Map();
        for (const s of steps) {
            const roles = ['user', ...s.map((c) => (c.type === 'llm' ? 'agent' : 'tool')), 'user'];
            for (let i = 1; i < roles.length; i++) counts.set(`${roles[i - 1]}>${roles[i]}`, (counts.get(`${roles[i - 1]}>${roles[i]}`) ?? 0) + 1);
        }
        const order = ['user', 'agent', 'tool'];
        x.agents.push({
            name, runs: runs.length, llmCallsPerRun: sum(steps, (s) => s.filter((c) => c.type === 'llm').length) / runs.length, errors: 0,
            tools: tools.map((tool) => {
                const cs = steps.flat().filter((c) => c.type === 'tool' && c.name === tool);
                return { name: tool, calls: cs.length, errors: cs.filter((c) => c.error).length, p95Ms: nearestRank(cs.map((c) => msOf(c.end - c.start)), 0.95) };
            }),
            transitions: [...counts].map(([k, count]) => ({ from: k.split('>')[0], to: k.split('>')[1], count }))
                .sort((a, b) => order.indexOf(a.from) - order.indexOf(b.from) || order.indexOf(a.to) - order.indexOf(b.to)),
        });
    }
    const streamed = llmsOf(w.turns).filter((c) => c.streamed);
    const failed = streamed.filter((c) => c.error).length;
    const gaps = streamed.filter((c) => c.maxGap !== null).map((c) => c.maxGap);
    x.streaming.push({
        provider: 'acme', model: 'm-chat', streamedCalls: streamed.length, failedAfterFirstToken: failed,
        failedAfterFirstTokenShare: failed / streamed.length,
        stalls: gaps.filter((g) => g > BigInt(STALL_MS) * MS).length,
        maxGapMs: gaps.length ? msOf(gaps.reduce((a, g) => (g > a ? g : a))) : null,
    });
    return x;
}

/** Deep comparison with numbers equal to within 1e-9 (relative) or 1e-6 (absolute). */
function near(got, want, where) {
    if (typeof want === 'number' && typeof got === 'number') {
        assert.ok(Math.abs(got - want) <= Math.max(1e-6, Math.abs(want) * 1e-9), `${where}: got ${got}, want ${want}`);
    } else if (Array.isArray(want)) {
        assert.ok(Array.isArray(got), `${where}: not an array`);
        assert.equal(got.length, want.length, `${where}: length`);
        want.forEach((w, i) => near(got[i], w, `${where}[${i}]`));
    } else if (want && typeof want === 'object') {
        for (const k of Object.keys(want)) near(got?.[k], want[k], `${where}.${k}`);
    } else {
        assert.equal(got, want, where);
    }
}

describe('sessions, users and agents end to end', { timeout: 120000 * SLOW }, () => {
    let server;
    let w;
    let x;
    let range;
    let dataDir;
    let pricesFile;

    const api = (p, status = 200) => getJson(`${server.apiUrl}/api/v1/${p}`, status);

    before(async () => {
        const dir = tempDir('osprey-sessions-');
        dataDir = path.join(dir, 'data');
        pricesFile = path.join(dir, 'prices.yaml');
        fs.writeFileSync(pricesFile, PRICES);
        const now = Date.now();
        w = buildWorkload(now);
        x = expectations(w);
        range = `start=${Math.floor(now / 1000) - 900}&end=${Math.ceil(now / 1000) + 60}`;
        server = await startServer({ name: 'sessions', dataDir, args: ['--derive-interval', '1s', '--prices', pricesFile] });
        for (const r of requests(w)) {
            await exportSpans(server.otlpHttpUrl, r, 40);
            await sleep(1500); // a derive flush between requests
        }
        const want = x.sessions.length;
        const deadline = Date.now() + 20000 * SLOW;
        for (;;) {
            const body = await api(`sessions?${range}`);
            const turns = sum(body.sessions, (s) => s.turns);
            if ((body.sessions.length === want && turns === w.turns.length) || Date.now() > deadline) break;
            await sleep(300);
        }
    });

    after(async () => {
        if (!server) return;
        const r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
    });

    const checkAll = async (what) => {
        near((await api(`sessions?${range}`)).sessions, x.sessions, `${what} sessions`);
        for (const [id, d] of x.details) near(await api(`sessions/${id}`), d, `${what} session ${id}`);
        near((await api(`users?${range}`)).users, x.users, `${what} users`);
        near((await api(`agents?${range}`)).agents, x.agents, `${what} agents`);
        near((await api(`llm/streaming?${range}&stallMs=${STALL_MS}`)).models, x.streaming, `${what} streaming`);
        near((await api(`llm/models?${range}&groupBy=user`)).models, x.byUser, `${what} usage by user`);
    };

    test('the workload covers what the APIs must handle', () => {
        const st = x.streaming[0];
        assert.ok(st.failedAfterFirstToken > 0 && st.stalls > 0 && st.stalls < st.streamedCalls, JSON.stringify(st));
        assert.equal(x.agents.length, AGENTS.length);
        assert.ok(x.agents.some((a) => a.tools.some((t) => t.errors > 0)), 'a failing tool call');
        assert.ok(w.turns.some((t) => !t.agent) && w.turns.some((t) => t.calls.length > 2), 'bare and multi-step turns');
        assert.ok(x.sessions.every((s) => s.turns > 1), 'sessions of several turns');
    });

    test('every API matches the spans sent, across requests and out of order', async () => {
        await checkAll('live');
    });

    test('filters: user, service, limit (sessions and users)', async () => {
        near((await api(`sessions?${range}&user=bob`)).sessions, x.sessions.filter((s) => s.user === 'bob'), 'user=bob');
        const withAgents = x.sessions.filter((s) => s.services.includes('agent-svc'));
        near((await api(`sessions?${range}&service=agent-svc`)).sessions, withAgents, 'service');
        near((await api(`sessions?${range}&limit=2`)).sessions, x.sessions.slice(0, 2), 'limit');
        near((await api(`users?${range}&limit=1`)).users, x.users.slice(0, 1), 'users limit');
    });

    test('bad parameters answer 400 naming them; an unknown session 404', async () => {
        for (const [p, name] of [[`sessions?${range}&limit=0`, 'limit'], ['sessions?start=soon', 'start'], ['users?end=x', 'end'], [`users?${range}&limit=1001`, 'limit'], [`llm/streaming?${range}&stallMs=-1`, 'stallMs']]) {
            const body = await api(p, 400);
            assert.match(body.error, new RegExp(name), `${p}: ${body.error}`);
        }
        const body = await api('sessions/no-such-session', 404);
        assert.match(body.error, /not found/);
    });

    test('the sessions survive a restart', async () => {
        const r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
        server = await startServer({ name: 'sessions-restarted', dataDir, args: ['--derive-interval', '1s', '--prices', pricesFile] });
        await checkAll('restarted');
    });

    test('a memory budget leaves the oldest day out of the lists and says from when they count', async () => {
        // The records written so far become yesterday's; under a one-byte budget they stay
        // (the newest day is always held) until today's records arrive.
        let r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
        moveAiCallsBackADay(dataDir);
        server = await startServer({ name: 'sessions-budget', dataDir, args: ['--derive-interval', '1s', '--prices', pricesFile, '--ai-index-memory', '1'] });
        const first = await api(`sessions?${range}`);
        assert.equal(first.indexedFrom, undefined);
        near(first.sessions, x.sessions, 'one day under the budget');

        // Days are those the records were written on: the moved records keep their times, so
        // the ranges asked for here start before today to reach the day left out.
        const midnight = Math.floor(Date.now() / 86400000) * 86400;
        const wide = `start=${midnight - 3600}&end=${Math.ceil(Date.now() / 1000) + 60}`;
        const resent = requests(w)[0];
        await exportSpans(server.otlpHttpUrl, resent, 40);
        const deadline = Date.now() + 20000 * SLOW;
        let body;
        do {
            await sleep(500);
            body = await api(`sessions?${wide}`);
        } while (body.indexedFrom === undefined && Date.now() < deadline);
        assert.equal(body.indexedFrom, midnight, JSON.stringify(body).slice(0, 300));
        const resentTraces = new Set(resent.map((span) => span.spanContext().traceId)).size;
        assert.ok(sum(body.sessions, (s) => s.traces) <= resentTraces, 'only the resent traces are listed');
        const fromMidnight = await api(`sessions?start=${midnight}&end=${midnight + 2 * 86400}`);
        assert.equal(fromMidnight.indexedFrom, undefined, 'a range within the index is whole');
        for (const list of ['users', 'agents', 'llm/streaming']) assert.equal((await api(`${list}?${wide}`)).indexedFrom, midnight, list);
        // A session's detail (all time) says so too, and a session not found says where to look.
        assert.equal((await api(`sessions/${body.sessions[0].id}`)).indexedFrom, midnight);
        const missing = await api('sessions/no-such-session', 404);
        assert.match(missing.error, /not found in the AI call index, which holds the records written from \d{4}-\d\d-\d\d \(UTC\) on \(--ai-index-memory\)/);
        r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
        server = await startServer({ name: 'sessions-unbudgeted', dataDir, args: ['--derive-interval', '1s', '--prices', pricesFile] });
        const all = await api(`sessions?${wide}`);
        assert.equal(all.indexedFrom, undefined, 'every day back without the budget');
        assert.ok(sum(all.sessions, (s) => s.traces) > resentTraces, 'the day left out is read again');
    });
});
