// Golden signals at scale, end to end. One trace of 50,000 spans across five services (a
// gateway root, CLIENT -> SERVER calls between services, INTERNAL work, errors, a few hundred
// LLM calls in the current OTel gen_ai.* attributes, some streamed) goes to a server
// deriving every second, in 50 protobuf requests of shuffled spans (children before their
// parents, the two sides of a call in different requests); then the trace API must return
// every span as sent, and PromQL over the derived RED and service-graph series, the models
// API (priced from config/prices.yaml) and the overview must hold exactly what this test
// computes from the spans. Then one conversation of 10,000 turns (a trace each: an agent run
// carrying the session and user, an LLM call below it with tokens and message texts) arrives
// shuffled, and the session, user and agent APIs must hold every turn, in start order.
// How long ingest and each answer took is printed, never asserted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { diff, sum } from './lib/expect.mjs';
import {
    bool, builtinPrices, costOf, documentOf, encodeRequests, idMaker, int, KIND_NAME, postRequests, priceOf, shuffle, SPAN_KIND, STATUS_NAME, str, timed,
} from './lib/genai-scale.mjs';
import { request } from './lib/http.mjs';
import { canonicalTraces, flatten } from './lib/otlp.mjs';
import { promApi } from './lib/prometheus.mjs';
import { prng } from './lib/prng.mjs';
import { cleanExit, sleep, SLOW, startServer, until } from './lib/server.mjs';

const MS = 1_000_000n; // nanoseconds
const count = (m, k, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

/** got equals want to within a relative 1e-9 (sums of many prices, added in another order). */
function near(got, want, what) {
    assert.equal(typeof got, 'number', `${what}: got ${JSON.stringify(got)}, want ${want}`);
    assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${what}: got ${got}, want ${want}`);
}


/** GET returning parsed JSON, with a timeout for large answers on a slow (sanitized) server. */
async function getBig(url, status = 200) {
    const r = await request(url, { timeout: 60000 * SLOW });
    assert.equal(r.status, status, `GET ${url}: ${r.text().slice(0, 300)}`);
    return r.json();
}

/** An instant PromQL query at time t (unix seconds): [{metric, value}]. */
async function promql(server, query, t) {
    const r = await promApi(server.apiUrl, '/api/v1/query', { query, ...(t ? { time: t } : {}) });
    assert.equal(r.status, 200, `${query}: ${r.text.slice(0, 300)}`);
    assert.equal(r.json.status, 'success', query);
    return r.json.data.result.map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
}

/** A PromQL result as a Map from the labels named (joined with '|') to the value. */
const byLabels = (result, names) => new Map(result.map((x) => [names.map((n) => x.metric[n] ?? '').join('|'), x.value]));

/** Maps compared key by key, so a failure shows every difference. */
function sameMap(got, want, what) {
    const problems = diff(Object.fromEntries(want), Object.fromEntries(got));
    assert.deepEqual(problems, [], `${what}:\n${problems.join('\n')}`);
}

// ================================================================ one trace of 50,000 spans

const TRACE_SPANS = 50_000;
const LLM_SPANS = 300;
const SPANS_PER_REQUEST = 1000;
const SERVICES = ['gateway', 'orders', 'inventory', 'payments', 'assistant'];
const ROUTES = ['/items', '/quote', '/reserve'];
/** [provider, model]: all in the built-in price table. */
const MODELS = [
    ['openai', 'gpt-4o'], ['openai', 'gpt-4o-mini'], ['anthropic', 'claude-sonnet-4-5'], ['gcp.gemini', 'gemini-2.5-flash'], ['deepseek', 'deepseek-chat'],
];

/**
 * The trace: {traceId, items: [{service, span}] in creation order (parents first), llm:
 * [calls]}. A random recursive tree: each step hangs new spans under a random SERVER or
 * INTERNAL span already made: an INTERNAL span, or a CLIENT span with the SERVER span of
 * another service below it; then LLM_SPANS LLM calls (CLIENT spans naming their provider)
 * under random ones too.
 */
function buildTrace(nowMs) {
    const rand = prng(20261201);
    const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
    const pick = (xs) => xs[Math.floor(rand() * xs.length)];
    const spanId = idMaker(rand, 8);
    const traceId = idMaker(rand, 16)();
    const t0 = BigInt(nowMs - 120_000) * MS;
    const items = [];
    const hosts = []; // spans that get children
    const status = (errorShare, okShare) => {
        const r = rand();
        return r < errorShare ? { code: 2, message: 'failed' } : r < errorShare + okShare ? { code: 1 } : undefined;
    };
    const add = (service, parent, name, kind, attributes, st, extra = {}) => {
        const start = parent ? BigInt(parent.span.startTimeUnixNano) + BigInt(between(0, 40)) * MS + BigInt(between(0, 999_999)) : t0;
        const span = {
            traceId, spanId: spanId(), parentSpanId: parent?.span.spanId ?? '', name, kind,
            startTimeUnixNano: String(start), endTimeUnixNano: String(start + BigInt(between(1, 900)) * MS + BigInt(between(0, 999_999))),
            attributes, ...(st ? { status: st } : {}), ...extra,
        };
        const item = { service, span };
        items.push(item);
        return item;
    };

    hosts.push(add('gateway', null, 'POST /checkout', SPAN_KIND.SERVER, [str('http.request.method', 'POST'), str('http.route', '/checkout')], { code: 1 }));
    while (items.length < TRACE_SPANS - LLM_SPANS) {
        const parent = pick(hosts);
        if (rand() < 0.45 || items.length === TRACE_SPANS - LLM_SPANS - 1) {
            hosts.push(add(parent.service, parent, `work ${pick(ROUTES).slice(1)}`, SPAN_KIND.INTERNAL, [str('code.function.name', 'step')], status(0.02, 0)));
            continue;
        }
        const callee = pick(SERVICES.filter((s) => s !== parent.service));
        const route = pick(ROUTES);
        // The client names no peer (no server.address): it makes an edge only with its server.
        const client = add(parent.service, parent, `POST ${callee}`, SPAN_KIND.CLIENT, [str('http.request.method', 'POST')], status(0.01, 0.2));
        hosts.push(add(callee, client, `POST ${route}`, SPAN_KIND.SERVER, [str('http.request.method', 'POST'), str('http.route', route)], status(0.04, 0.3)));
    }
    const llm = [];
    while (llm.length < LLM_SPANS) {
        const parent = pick(hosts);
        const [provider, model] = pick(MODELS);
        const c = { service: parent.service, provider, model, error: rand() < 0.08, input: 0, output: 0, cacheRead: 0, streamed: false };
        const attributes = [str('gen_ai.operation.name', 'chat'), str('gen_ai.provider.name', provider), str('gen_ai.request.model', model)];
        if (rand() < 0.5) attributes.push(str('gen_ai.response.model', model));
        if (c.error) {
            attributes.push(str('error.type', 'rate_limit_exceeded'));
        } else {
            c.input = between(20, 20_000);
            c.output = between(1, 4_000);
            attributes.push(int('gen_ai.usage.input_tokens', c.input), int('gen_ai.usage.output_tokens', c.output));
            if (rand() < 0.3) {
                c.cacheRead = between(1, c.input);
                attributes.push(int('gen_ai.usage.cache_read.input_tokens', c.cacheRead));
            }
            c.streamed = rand() < 0.4;
        }
        const item = add(parent.service, parent, `chat ${model}`, SPAN_KIND.CLIENT, attributes, c.error ? { code: 2, message: 'rate limited' } : undefined);
        if (c.streamed) {
            const s = item.span;
            const start = BigInt(s.startTimeUnixNano);
            const ttft = BigInt(between(1, Number((BigInt(s.endTimeUnixNano) - start) / 1000n) - 1)) * 1000n;
            s.attributes.push(bool('gen_ai.request.stream', true));
            s.events = [{ timeUnixNano: String(start + ttft), name: 'gen_ai.first_token' }];
        }
        llm.push(c);
    }
    return { traceId, items, llm };
}

/** How shuffled the sending order is: spans sent before their parent, client/server pairs in different requests. */
function arrivalOf(order) {
    const at = new Map(order.map((item, i) => [item.span.spanId, i]));
    const byId = new Map(order.map((item) => [item.span.spanId, item]));
    let childFirst = 0;
    let splitPairs = 0;
    for (const [i, { service, span }] of order.entries()) {
        const p = byId.get(span.parentSpanId);
        if (!p) continue;
        childFirst += i < at.get(p.span.spanId) ? 1 : 0;
        const paired = span.kind === SPAN_KIND.SERVER && p.span.kind === SPAN_KIND.CLIENT && p.service !== service;
        splitPairs += paired && Math.floor(i / SPANS_PER_REQUEST) !== Math.floor(at.get(p.span.spanId) / SPANS_PER_REQUEST) ? 1 : 0;
    }
    return { childFirst, splitPairs };
}

/** What the derived series and APIs must say, from the trace alone. */
function traceExpectations(trace) {
    const spans = trace.items.map(({ service, span }) => ({ service, kind: span.kind, status: span.status?.code ?? 0, span }));
    const byId = new Map(spans.map((s) => [s.span.spanId, s]));
    const failed = (s) => s.status === 2;

    const red = new Map();
    for (const s of spans) count(red, `${s.service}|${KIND_NAME[s.kind]}|${STATUS_NAME[s.status]}`);

    // Edges: a SERVER span under a CLIENT span of another service; the root SERVER span
    // from "user"; LLM calls (CLIENT spans that never pair) to the provider they name.
    const edges = new Map();
    const failedEdges = new Map();
    const edge = (client, server, isFailed) => {
        count(edges, `${client}|${server}`);
        if (isFailed) count(failedEdges, `${client}|${server}`);
    };
    for (const s of spans) {
        if (s.kind !== SPAN_KIND.SERVER) continue;
        const p = byId.get(s.span.parentSpanId);
        if (!p) edge('user', s.service, failed(s));
        else if (p.kind === SPAN_KIND.CLIENT && p.service !== s.service) edge(p.service, s.service, failed(s) || failed(p));
    }
    const pairs = sum([...edges].filter(([k]) => !k.startsWith('user|')), ([, n]) => n);
    for (const c of trace.llm) edge(c.service, c.provider, c.error);

    // RED of a service: its SERVER spans (every service here serves some).
    const services = new Map();
    for (const svc of SERVICES) {
        const served = spans.filter((s) => s.service === svc && s.kind === SPAN_KIND.SERVER);
        assert.ok(served.length, `${svc} serves requests`);
        services.set(svc, { calls: served.length, errors: served.filter(failed).length });
    }

    const prices = builtinPrices();
    const models = new Map();
    for (const c of trace.llm) {
        if (!models.has(c.model)) models.set(c.model, { provider: c.provider, calls: 0, errors: 0, input: 0, output: 0, cacheRead: 0, streamed: 0 });
        const m = models.get(c.model);
        m.calls++;
        m.errors += c.error ? 1 : 0;
        m.input += c.input;
        m.output += c.output;
        m.cacheRead += c.cacheRead;
        m.streamed += c.streamed ? 1 : 0;
    }
    for (const [model, m] of models) {
        const p = priceOf(prices, m.provider, model, Date.now());
        assert.ok(p, `${model} is in the built-in price table`);
        m.cost = costOf(p, m);
    }
    return { red, edges, failedEdges, pairs, services, models };
}

describe('golden signals at scale: one trace of 50,000 spans', { timeout: 150000 * SLOW }, () => {
    let server;
    let trace;
    let x;
    let arrival;
    let range;

    before(async () => {
        const startedS = Math.floor(Date.now() / 1000) - 2;
        server = await startServer({ name: 'golden-scale-trace', args: ['--derive-interval', '1s'] });
        trace = buildTrace(Date.now());
        x = traceExpectations(trace);
        const order = shuffle([...trace.items], prng(7));
        arrival = arrivalOf(order);
        const bodies = encodeRequests(order, SPANS_PER_REQUEST);
        const mb = (sum(bodies, (b) => b.length) / 1e6).toFixed(1);
        await timed(`ingest: ${TRACE_SPANS} spans in ${bodies.length} protobuf requests (${mb} MB)`, () => postRequests(server.otlpHttpUrl, bodies));
        await timed('derived RED complete', () => until('derived RED', async () => {
            const r = await promql(server, 'sum(traces_span_metrics_calls_total)');
            return { ok: r[0]?.value === TRACE_SPANS, got: r[0]?.value };
        }, 30000 * SLOW));
        await sleep(1500); // one more flush, so every family holds the same spans
        const end = Math.ceil(Date.now() / 1000) + 1;
        range = { start: startedS, end };
    });

    after(async () => {
        if (!server) return;
        const r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
    });

    test('the workload: pairs, errors, streamed and failed LLM calls', () => {
        assert.equal(trace.items.length, TRACE_SPANS);
        assert.ok(x.pairs > 10_000, `pairs: ${x.pairs}`);
        assert.ok([...x.red.keys()].some((k) => k.endsWith('STATUS_CODE_ERROR')));
        for (const [model, m] of x.models) assert.ok(m.streamed > 0 && m.errors > 0 && m.cacheRead > 0, `${model}: ${JSON.stringify(m)}`);
        assert.ok(arrival.childFirst > 0.4 * (TRACE_SPANS - 1), `children sent before their parent: ${arrival.childFirst}`);
        assert.ok(arrival.splitPairs > 0.9 * x.pairs, `pairs split across requests: ${arrival.splitPairs} of ${x.pairs}`);
    });

    test('GET /api/v1/traces/{id} returns every span as sent', async () => {
        const r = await timed('GET /api/v1/traces/{id}', () => request(`${server.apiUrl}/api/v1/traces/${trace.traceId}`, { timeout: 60000 * SLOW }));
        assert.equal(r.status, 200, r.text().slice(0, 300));
        console.log(`  [size] trace document: ${(r.body.length / 1e6).toFixed(1)} MB`);
        const got = flatten(canonicalTraces(r.json()));
        assert.equal(got.length, TRACE_SPANS, 'spans returned');
        const sent = new Map(flatten(canonicalTraces(documentOf(trace.items))).map((rec) => [rec.span.spanId, rec]));
        const problems = [];
        const seen = new Set();
        for (const rec of got) {
            const want = sent.get(rec.span.spanId);
            if (!want) problems.push(`span ${rec.span.spanId}: returned but never sent`);
            else if (seen.has(rec.span.spanId)) problems.push(`span ${rec.span.spanId}: returned twice`);
            else diff(want, rec, `span ${rec.span.spanId}`, problems); // resource, scope and span
            seen.add(rec.span.spanId);
            if (problems.length > 20) break;
        }
        assert.deepEqual(problems, []);
    });

    test('trace search and the Jaeger API see the whole trace', async () => {
        const found = await timed('GET /api/v1/traces?service=gateway', () => getBig(`${server.apiUrl}/api/v1/traces?service=gateway&limit=5`));
        const t = found.traces.find((y) => y.traceId === trace.traceId);
        assert.ok(t, JSON.stringify(found).slice(0, 300));
        assert.deepEqual([t.rootServiceName, t.rootSpanName, t.spanCount, t.errorCount],
            ['gateway', 'POST /checkout', TRACE_SPANS, trace.items.filter((i) => i.span.status?.code === 2).length]);
        const j = await timed('GET /api/traces/{id} (Jaeger)', () => getBig(`${server.apiUrl}/api/traces/${trace.traceId}`));
        assert.equal(j.data[0].spans.length, TRACE_SPANS);
        assert.deepEqual([...new Set(Object.values(j.data[0].processes).map((p) => p.serviceName))].sort(), [...SERVICES].sort());
    });

    test('PromQL: calls by service, kind and status', async () => {
        const got = await timed('PromQL sum by (service_name, span_kind, status_code)',
            () => promql(server, 'sum by (service_name, span_kind, status_code) (traces_span_metrics_calls_total)', range.end));
        sameMap(byLabels(got, ['service_name', 'span_kind', 'status_code']), x.red, 'traces_span_metrics_calls_total');
    });

    test('PromQL: service-graph requests by client and server, calls paired across requests', async () => {
        // The LLM calls' edges to their providers come when their pairing window (10 s) ends.
        const total = sum([...x.edges.values()], (n) => n);
        await timed('service graph complete', () => until('service graph', async () => {
            const r = await promql(server, 'sum(traces_service_graph_request_total)');
            return { ok: r[0]?.value >= total, got: r[0]?.value, want: total };
        }, 30000 * SLOW));
        await sleep(1500); // the failed counters of the same flush
        const t = Math.ceil(Date.now() / 1000);
        const got = await timed('PromQL sum by (client, server)', () => promql(server, 'sum by (client, server) (traces_service_graph_request_total)', t));
        sameMap(byLabels(got, ['client', 'server']), x.edges, 'traces_service_graph_request_total');
        const failed = await promql(server, 'sum by (client, server) (traces_service_graph_request_failed_total)', t);
        sameMap(byLabels(failed, ['client', 'server']), x.failedEdges, 'traces_service_graph_request_failed_total');
    });

    test('GET /api/v1/llm/models?groupBy=model: calls, tokens and cost at the built-in prices', async () => {
        const url = `${server.apiUrl}/api/v1/llm/models?${new URLSearchParams({ ...range, groupBy: 'model' })}`;
        const body = await timed('GET /api/v1/llm/models?groupBy=model', () => getBig(url));
        assert.deepEqual(body.models.map((r) => r.key).sort(), [...x.models.keys()].sort());
        for (const r of body.models) {
            const m = x.models.get(r.key);
            assert.deepEqual([r.provider, r.calls, r.errors, r.inputTokens, r.outputTokens, r.cacheReadTokens, r.cacheWriteTokens],
                [m.provider, m.calls, m.errors, m.input, m.output, m.cacheRead, 0], r.key);
            near(r.cost, m.cost, `${r.key} cost`);
            near(r.streamingShare, m.streamed / m.calls, `${r.key} streamingShare`);
        }
    });

    test('GET /api/v1/overview: RED per service, the models', async () => {
        const o = await timed('GET /api/v1/overview', () => getBig(`${server.apiUrl}/api/v1/overview?${new URLSearchParams(range)}`));
        assert.deepEqual(o.services.map((s) => s.name), [...SERVICES].sort());
        for (const s of o.services) {
            const want = x.services.get(s.name);
            assert.deepEqual([s.calls, s.errors], [want.calls, want.errors], s.name);
            near(s.errorRate, want.errors / want.calls, `${s.name} errorRate`);
            near(s.rate, want.calls / (range.end - range.start), `${s.name} rate`);
        }
        assert.equal(o.models.length, x.models.size);
        for (const m of o.models) {
            const want = x.models.get(m.model);
            assert.deepEqual([m.provider, m.calls, m.errors, m.inputTokens, m.outputTokens],
                [want.provider, want.calls, want.errors, want.input, want.output], m.model);
            near(m.cost, want.cost, `${m.model} cost`);
        }
    });
});

// ================================================================ one session of 10,000 turns

const TURNS = 10_000;
const SESSION = 'conv-7f3a-scale';
const USER = 'user-0042';
const TURN_SPANS_PER_REQUEST = 1000;
const SESSION_MODELS = [['openai', 'gpt-4o-mini'], ['anthropic', 'claude-haiku-4-5'], ['gcp.gemini', 'gemini-2.5-flash']];
const MAX_TEXT = 4096; // bytes of a captured text kept (docs/golden-signals.md)

/** s cut to at most max UTF-8 bytes, never inside a character. */
function cutUtf8(s, max) {
    const b = Buffer.from(s, 'utf8');
    if (b.length <= max) return s;
    let n = max;
    while (n > 0 && (b[n] & 0xc0) === 0x80) n--;
    return b.subarray(0, n).toString('utf8');
}

/** An answer of more than MAX_TEXT bytes whose cut falls inside a multibyte character. */
function longAnswer(i) {
    for (let pad = ''; ; pad += '-') {
        const text = `Long answer ${i}${pad}: ${'détail €😀 '.repeat(400)}`;
        const answer = { role: 'assistant', parts: [{ type: 'text', content: text }], finish_reason: 'length' };
        if ((Buffer.from(JSON.stringify([answer]))[MAX_TEXT] & 0xc0) === 0x80) return answer;
    }
}

/** The AnyValue of a plain JSON value (strings, arrays, objects). */
const anyValue = (v) => (Array.isArray(v) ? { arrayValue: { values: v.map(anyValue) } }
    : typeof v === 'object' ? { kvlistValue: { values: Object.entries(v).map(([key, y]) => ({ key, value: anyValue(y) })) } }
    : { stringValue: v });

/**
 * The conversation: {items: [{service, span}], turns: [ledger]}. Turn i is a trace: an
 * invoke_agent span with the session and user ids, and a chat span below it with the
 * model, tokens and messages (a string of JSON; a structured value for some turns; texts
 * longer than MAX_TEXT with multibyte characters across the cut for others). Some are
 * streamed (a first-token event), some fail (the call, the run, or both).
 */
function buildSession(nowMs) {
    const rand = prng(424242);
    const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
    const traceIdOf = idMaker(rand, 16);
    const spanId = idMaker(rand, 8);
    const prices = builtinPrices();
    const items = [];
    const turns = [];
    let t = BigInt(nowMs - 45 * 60_000) * MS;
    for (let i = 0; i < TURNS; i++) {
        t += BigInt(between(150, 250)) * MS + BigInt(between(0, 999_999));
        const traceId = traceIdOf();
        const [provider, model] = SESSION_MODELS[between(0, SESSION_MODELS.length - 1)];
        const c = { provider, model, service: rand() < 0.3 ? 'llm-proxy' : 'assistant', error: rand() < 0.05, input: 0, output: 0, cacheRead: 0, ttft: null };
        const question = { role: 'user', parts: [{ type: 'text', content: `Turn ${i}: where is order ${between(1000, 9999)}?` }] };
        let answer = { role: 'assistant', parts: [{ type: 'text', content: `Order for turn ${i} ships in ${between(1, 9)} days.` }], finish_reason: 'stop' };
        if (i % 2500 === 1234) answer = longAnswer(i);
        const structured = i % 1000 === 7;
        c.inputText = JSON.stringify([question]);
        c.outputText = c.error ? '' : JSON.stringify([answer]);
        const attributes = [
            str('gen_ai.operation.name', 'chat'), str('gen_ai.provider.name', provider),
            str('gen_ai.request.model', model), str('gen_ai.response.model', model),
            structured ? { key: 'gen_ai.input.messages', value: anyValue([question]) } : str('gen_ai.input.messages', c.inputText),
        ];
        if (!c.error) {
            c.input = between(50, 3000);
            c.output = between(2, 800);
            if (rand() < 0.4) c.cacheRead = between(1, c.input);
            attributes.push(int('gen_ai.usage.input_tokens', c.input), int('gen_ai.usage.output_tokens', c.output),
                structured ? { key: 'gen_ai.output.messages', value: anyValue([answer]) } : str('gen_ai.output.messages', c.outputText));
            if (c.cacheRead) attributes.push(int('gen_ai.usage.cache_read.input_tokens', c.cacheRead));
        }
        const runStart = t;
        const callStart = runStart + BigInt(between(1, 5)) * MS;
        const callEnd = callStart + BigInt(between(80, 3000)) * MS + BigInt(between(0, 999_999));
        const streamed = !c.error && rand() < 0.5;
        const events = [];
        if (streamed) {
            c.ttft = BigInt(between(10, 70)) * MS + BigInt(between(0, 999_999));
            attributes.push(bool('gen_ai.request.stream', true));
            events.push({ timeUnixNano: String(callStart + c.ttft), name: 'gen_ai.first_token' });
        }
        const runEnd = callEnd + BigInt(between(1, 4)) * MS;
        const runFailed = rand() < 0.03;
        const runId = spanId();
        items.push({
            service: 'assistant',
            span: {
                traceId, spanId: runId, name: 'invoke_agent concierge', kind: SPAN_KIND.INTERNAL,
                startTimeUnixNano: String(runStart), endTimeUnixNano: String(runEnd),
                attributes: [
                    str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'concierge'),
                    str('gen_ai.conversation.id', SESSION), str('user.id', USER),
                ],
                ...(runFailed ? { status: { code: 2, message: 'agent gave up' } } : {}),
            },
        });
        items.push({
            service: c.service,
            span: {
                traceId, spanId: spanId(), parentSpanId: runId, name: `chat ${model}`, kind: SPAN_KIND.CLIENT,
                startTimeUnixNano: String(callStart), endTimeUnixNano: String(callEnd), attributes,
                ...(events.length ? { events } : {}), ...(c.error ? { status: { code: 2, message: 'upstream 529' } } : {}),
            },
        });
        c.cost = costOf(priceOf(prices, provider, model, Number(callStart / MS)), c);
        const errors = (c.error ? 1 : 0) + (runFailed ? 1 : 0);
        turns.push({ traceId, runStart, runEnd, callStart, callEnd, services: ['assistant', c.service], errors, runFailed, call: c });
    }
    return { items, turns };
}

const secondsOf = (ns) => Number(ns / MS) / 1000; // unix seconds to the millisecond
const msOf = (ns) => Number(ns) / 1e6;

/** What the session, user and agent APIs must say, from the ledger. */
function sessionExpectations(w) {
    const calls = w.turns.map((t) => t.call);
    const first = w.turns[0].runStart;
    const last = w.turns.reduce((a, t) => (t.runEnd > a ? t.runEnd : a), 0n);
    const totals = {
        inputTokens: sum(calls, (c) => c.input), outputTokens: sum(calls, (c) => c.output),
        cost: sum(calls, (c) => c.cost), errors: sum(w.turns, (t) => t.errors),
    };
    const session = {
        id: SESSION, user: USER, services: [...new Set(w.turns.flatMap((t) => t.services))].sort(), turns: TURNS, traces: TURNS, ...totals,
        durationMs: msOf(last - first), firstSeen: secondsOf(first), lastSeen: secondsOf(last),
    };
    const detail = w.turns.map((t) => ({
        traceId: t.traceId, start: secondsOf(t.runStart), durationMs: msOf(t.runEnd - t.runStart), model: t.call.model,
        inputTokens: t.call.input, outputTokens: t.call.output, cacheReadTokens: t.call.cacheRead, cost: t.call.cost,
        ttftMs: t.call.ttft === null ? null : msOf(t.call.ttft), errors: t.errors,
        input: cutUtf8(t.call.inputText, MAX_TEXT), output: cutUtf8(t.call.outputText, MAX_TEXT), llmCalls: 1, toolCalls: [],
    }));
    const user = { id: USER, sessions: 1, traces: TURNS, llmCalls: TURNS, ...totals, firstSeen: session.firstSeen, lastSeen: session.lastSeen };
    const failedRuns = w.turns.filter((t) => t.runFailed).length;
    const agent = {
        name: 'concierge', runs: TURNS, llmCallsPerRun: 1, errors: failedRuns, tools: [],
        transitions: [{ from: 'user', to: 'agent', count: TURNS }, { from: 'agent', to: 'user', count: TURNS }],
    };
    return { session, detail, user, agent };
}

/** Compares got with want field by field (numbers to a relative 1e-9); every difference in one message. */
function sameFields(got, want, what) {
    const problems = [];
    const walk = (g, wv, p) => {
        if (problems.length > 30) return;
        if (typeof wv === 'number' && typeof g === 'number') {
            if (Math.abs(g - wv) > 1e-9 * Math.max(1, Math.abs(wv))) problems.push(`${p}: got ${g}, want ${wv}`);
        } else if (wv && typeof wv === 'object') {
            if (!g || typeof g !== 'object' || Array.isArray(g) !== Array.isArray(wv)) problems.push(`${p}: got ${JSON.stringify(g)?.slice(0, 100)}`);
            else if (Array.isArray(wv) && g.length !== wv.length) problems.push(`${p}: ${g.length} elements, want ${wv.length}`);
            else for (const k of Object.keys(wv)) walk(g[k], wv[k], `${p}.${k}`);
        } else if (g !== wv) problems.push(`${p}: got ${JSON.stringify(g)?.slice(0, 100)}, want ${JSON.stringify(wv)?.slice(0, 100)}`);
    };
    walk(got, want, what);
    assert.deepEqual(problems, [], problems.join('\n'));
}

describe('golden signals at scale: one session of 10,000 turns', { timeout: 150000 * SLOW }, () => {
    let server;
    let w;
    let x;
    let range;
    /** GET /api/v1/p, timed (the label leaves the range out). */
    const api = (p, status = 200) => {
        const label = `GET /api/v1/${p.replace(/start=[^&]*&end=[^&]*&?/, '').replace(/[?&]$/, '')}`;
        return timed(label, () => getBig(`${server.apiUrl}/api/v1/${p}`, status));
    };

    before(async () => {
        const now = Date.now();
        server = await startServer({ name: 'golden-scale-session', args: ['--derive-interval', '1s'] });
        w = buildSession(now);
        x = sessionExpectations(w);
        range = `start=${Math.floor(now / 1000) - 3600}&end=${Math.ceil(now / 1000) + 60}`;
        // Turns in shuffled order, each span on its own: an LLM call often arrives before
        // its run, in another request.
        const bodies = encodeRequests(shuffle([...w.items], prng(99)), TURN_SPANS_PER_REQUEST);
        const mb = (sum(bodies, (b) => b.length) / 1e6).toFixed(1);
        const what = `ingest: ${TURNS} turns (${w.items.length} spans) in ${bodies.length} protobuf requests (${mb} MB)`;
        await timed(what, () => postRequests(server.otlpHttpUrl, bodies));
        await timed('session index complete', () => until('all turns indexed', async () => {
            // Tokens count only once an LLM call's run (and so its session) is indexed too.
            const body = await getBig(`${server.apiUrl}/api/v1/sessions?${range}`);
            const s = body.sessions.find((y) => y.id === SESSION);
            return { ok: s?.turns === TURNS && s.inputTokens === x.session.inputTokens, turns: s?.turns, sessions: body.sessions.length };
        }, 30000 * SLOW));
    });

    after(async () => {
        if (!server) return;
        const r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
    });

    test('the workload: streamed, failed, cached, structured and long turns', () => {
        const calls = w.turns.map((t) => t.call);
        assert.ok(calls.some((c) => c.ttft !== null) && calls.some((c) => c.error) && calls.some((c) => c.cacheRead));
        assert.ok(w.turns.some((t) => t.errors === 2) && w.turns.some((t) => t.runFailed && t.errors === 1));
        const long = w.turns.filter((t) => Buffer.byteLength(t.call.outputText) > MAX_TEXT);
        assert.ok(long.length > 0, 'texts over the cut');
        for (const t of long) assert.ok((Buffer.from(t.call.outputText)[MAX_TEXT] & 0xc0) === 0x80, 'the cut falls inside a character');
    });

    test('GET /api/v1/sessions: the one session with every turn, its tokens, cost, errors and user', async () => {
        const body = await api(`sessions?${range}`);
        sameFields(body.sessions, [x.session], 'sessions');
        sameFields((await api(`sessions?${range}&user=${USER}&limit=1000`)).sessions, [x.session], 'user filter');
        assert.deepEqual((await api(`sessions?${range}&user=someone-else`)).sessions, []);
        const bad = await api(`sessions?${range}&limit=1001`, 400); // the documented limit: 1 to 1000
        assert.match(bad.error, /limit/);
    });

    test('GET /api/v1/sessions/{id}: 10,000 turns in start order, with trace, model, tokens and texts', async () => {
        const r = await timed(`GET /api/v1/sessions/${SESSION}`, () => request(`${server.apiUrl}/api/v1/sessions/${SESSION}`, { timeout: 60000 * SLOW }));
        assert.equal(r.status, 200, r.text().slice(0, 300));
        console.log(`  [size] session document: ${(r.body.length / 1e6).toFixed(1)} MB`);
        const d = r.json();
        assert.deepEqual([d.id, d.user, d.turns.length], [SESSION, USER, TURNS]);
        // Documented: every turn, whatever the range, no paging.
        sameFields(d.turns, x.detail, 'turns');
        for (const i of [0, 7, 1234, 3734, 9999]) {
            assert.equal(d.turns[i].input, x.detail[i].input, `turn ${i} input`);
            assert.equal(d.turns[i].output, x.detail[i].output, `turn ${i} output`);
        }
        assert.equal(Buffer.byteLength(d.turns[1234].output), Buffer.byteLength(x.detail[1234].output));
        assert.ok(Buffer.byteLength(d.turns[1234].output) <= MAX_TEXT && Buffer.byteLength(d.turns[1234].output) > MAX_TEXT - 4);
        await api('sessions/no-such-conversation', 404);
    });

    test('GET /api/v1/users and /api/v1/agents: the user and the agent of the conversation', async () => {
        sameFields((await api(`users?${range}`)).users, [x.user], 'users');
        sameFields((await api(`agents?${range}`)).agents, [x.agent], 'agents');
        const byUser = (await api(`llm/models?${range}&groupBy=user`)).models;
        const calls = w.turns.map((t) => t.call);
        sameFields(byUser, [{
            key: USER, calls: TURNS, errors: calls.filter((c) => c.error).length, inputTokens: x.user.inputTokens, outputTokens: x.user.outputTokens,
            cacheReadTokens: sum(calls, (c) => c.cacheRead), cost: x.user.cost, streamingShare: calls.filter((c) => c.ttft !== null).length / TURNS,
        }], 'llm/models by user');
    });
});
