// The demo fleet checked against the golden-signal APIs: `osprey demo` exports to a tee proxy
// in this test that decodes every OTLP/HTTP trace and metric request (gzip'd or not: the demo is
// told to compress its traces) and forwards it unchanged to Osprey. From the spans and metrics
// the proxy saw, and only from them and the docs, the test works out RED per span group and per
// service, the service graph (client/server pairs within the 10 s pairing window of arrival
// time, virtual nodes for the clients left unpaired, "user" for root servers), the GenAI usage
// per model (calls, errors, tokens, cost from config/prices.yaml; TTFT from the histograms a
// service sends itself, else from the first-token event; streamed calls) and the sessions,
// users and turns of the demo's conversations; PromQL over the derived series and the JSON APIs
// (overview, topology, llm/models, llm/streaming, sessions, users) must say the same.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';

import { group, sum } from './lib/expect.mjs';
import { getJson, request } from './lib/http.mjs';
import { decodeExportResponse, decodeMetrics, decodeMetricsExportResponse, decodeTraces, plain } from './lib/otlp.mjs';
import { BIN, cleanExit, sanitizerFindings, SLOW, startServer, until } from './lib/server.mjs';

const PRICES_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../config/prices.yaml');
const DEMO_ARGS = ['--duration', '6s', '--rate', '3', '--delay-scale', '0.1', '--errors', '0.3'];
const DERIVE_INTERVAL_S = 1;
const PAIRING_WINDOW_MS = 10000; // OSP_SERVICEGRAPH_WINDOW_MS (src/analytics/servicegraph.h)
const WINDOW_SLACK_MS = 500; // proxy and server stamp arrivals a few ms apart

// ---- bucket bounds of the derived histograms (docs/golden-signals.md)
const SPAN_BUCKETS = [0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15];
const GRAPH_BUCKETS = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8];
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUSES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const [SERVER, CLIENT, PRODUCER, CONSUMER] = [2, 3, 4, 5];
const ERROR = 2;

const byStart = (a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0);
const seconds = (ns) => Number(ns) / 1e9;
const msSeconds = (ns) => Number(ns / 1000000n) / 1000; // unix seconds to the millisecond, as the session APIs give them

const close = (got, want, what, rel = 1e-9) => {
    if (want === null || Number.isNaN(want)) {
        assert.ok(got === null || Number.isNaN(got), `${what}: got ${got}, want none`);
        return;
    }
    assert.equal(typeof got, 'number', `${what}: got ${JSON.stringify(got)}, want ${want}`);
    assert.ok(Math.abs(got - want) <= Math.max(1e-9, rel * Math.abs(want)), `${what}: got ${got}, want ${want}`);
};

/** Cumulative classic buckets [{le, count}] (+Inf last) of values under bounds. */
const bucketsOf = (bounds, values) => [...bounds, Infinity].map((le) => ({ le, count: values.filter((v) => v <= le).length }));

/**
 * Buckets a and b added up as the golden-signal APIs add a group's series (hist_add in
 * src/analytics/golden.c): counts of the same bound summed, the other bounds kept as they are.
 */
function mergeBuckets(a, b) {
    const m = new Map(a.map((x) => [x.le, x.count]));
    for (const x of b) m.set(x.le, (m.get(x.le) ?? 0) + x.count);
    return [...m].map(([le, count]) => ({ le, count })).sort((x, y) => x.le - y.le);
}

/**
 * The q-quantile of cumulative buckets as the APIs interpolate it (osp_golden_quantile in
 * src/analytics/golden.c): the rank q * total (the largest count) falls in the first bucket
 * whose running largest count reaches it, linearly between that bucket's bounds; the last
 * finite bound past them; null without observations.
 */
function bucketQuantile(q, buckets) {
    const total = Math.max(0, ...buckets.map((b) => b.count));
    if (buckets.length < 2 || buckets.at(-1).le !== Infinity || total === 0) return null;
    const rank = q * total;
    let below = 0;
    let max = 0;
    for (let i = 0; i + 1 < buckets.length; i++) {
        max = Math.max(max, buckets[i].count);
        if (max >= rank) {
            if (i === 0 && buckets[0].le <= 0) return buckets[0].le;
            const lo = i ? buckets[i - 1].le : 0;
            return lo + (buckets[i].le - lo) * ((rank - below) / (max - below));
        }
        below = max;
    }
    return buckets.at(-2).le;
}

/** histogram_quantile(q) over classic buckets holding values (as tests/e2e/golden.test.mjs computes it). */
const histogramQuantile = (q, bounds, values) => bucketQuantile(q, bucketsOf(bounds, values));

// ---------------------------------------------------------------- the tee proxy and the demo

/** headers without the hop-by-hop ones a proxy does not pass on (the body is sent whole). */
const endToEnd = (headers) => Object.fromEntries(Object.entries(headers).filter(([k]) => !['connection', 'keep-alive', 'transfer-encoding'].includes(k)));

/** The OTLP document of an export body (gunzipped first when gzip'd) by decode, or {error}. */
function decodeExport(body, gzip, decode) {
    try {
        return { doc: decode(gzip ? zlib.gunzipSync(body) : body) };
    } catch (e) {
        return { error: e.message };
    }
}

// What the tee decodes: the OTLP/HTTP paths and their request decoders.
const TEE_DECODERS = { '/v1/traces': decodeTraces, '/v1/metrics': decodeMetrics };

/**
 * A tee in front of Osprey's OTLP/HTTP receiver on 127.0.0.1: every request is forwarded
 * with its exact body and end-to-end headers and answered with Osprey's status, headers and
 * body. POST /v1/traces and /v1/metrics bodies are also decoded and kept in `exports` and
 * `metricExports` as {arrivalMs, answeredMs (when Osprey's answer came), status, gzip, doc
 * or error, response}. Resolves {url, exports, metricExports, close()}.
 */
async function startTee(targetUrl) {
    const kept = { '/v1/traces': [], '/v1/metrics': [] };
    const srv = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', async () => {
            const body = Buffer.concat(chunks);
            const arrivalMs = Date.now();
            let up;
            try {
                up = await request(`${targetUrl}${req.url}`, { method: req.method, headers: endToEnd(req.headers), body, timeout: 30000 * SLOW });
            } catch (e) {
                res.writeHead(502, { 'content-type': 'text/plain' });
                res.end(`tee: ${e.message}`);
                return;
            }
            const answeredMs = Date.now();
            if (req.method === 'POST' && TEE_DECODERS[req.url]) {
                const gzip = req.headers['content-encoding'] === 'gzip';
                const doc = decodeExport(body, gzip, TEE_DECODERS[req.url]);
                kept[req.url].push({ arrivalMs, answeredMs, status: up.status, gzip, ...doc, response: up.body });
            }
            res.writeHead(up.status, { ...endToEnd(up.headers), 'content-length': up.body.length });
            res.end(up.body);
        });
    });
    await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${srv.address().port}`,
        exports: kept['/v1/traces'],
        metricExports: kept['/v1/metrics'],
        close: () => new Promise((resolve) => {
            srv.closeAllConnections();
            srv.close(resolve);
        }),
    };
}

/**
 * Runs `osprey demo` with args (traces gzip'd), killed after timeoutMs; resolves {code,
 * signal, stdout, stderr, findings}. The child is in children while it runs.
 */
function runDemo(args, children, timeoutMs) {
    const env = {
        ...process.env,
        OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
        ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1:halt_on_error=1:abort_on_error=0',
        UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'print_stacktrace=1:halt_on_error=1',
    };
    const child = spawn(BIN, ['demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    children.add(child);
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve) => {
        child.on('close', (code, signal) => {
            clearTimeout(timer);
            children.delete(child);
            const stderr = Buffer.concat(err).toString('utf8');
            resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr, findings: sanitizerFindings(stderr) });
        });
    });
}

/** The sum of Osprey's own metric `name` over its series (GET /metrics). */
async function selfMetric(server, name) {
    const text = (await request(`${server.apiUrl}/metrics`, { timeout: 10000 * SLOW })).text();
    let v = 0;
    for (const line of text.split('\n')) {
        const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)/.exec(line);
        if (m && m[1] === name) v += Number(m[3]);
    }
    return v;
}


// ---------------------------------------------------------------- spans as docs/genai.md reads them

// Span type, session and user ids: every row of docs/genai.md; provider, models and tokens: the
// otel rows only (the demo writes nothing else).
const TYPE_KEYS = [
    'gen_ai.operation.name', 'openinference.span.kind', 'traceloop.span.kind', 'gen_ai.span.kind', 'langfuse.observation.type', 'llm.request.type',
];
const TYPE_WORDS = {
    llm: ['chat', 'text_completion', 'generate_content', 'completion', 'llm', 'chat_model', 'chatmodel', 'model', 'generation', 'fetch_response'],
    embedding: ['embeddings', 'embedding', 'embedder'],
    tool: ['execute_tool', 'tool'],
    agent: ['invoke_agent', 'create_agent', 'agent', 'plan'],
    retriever: ['retrieval', 'retriever'],
    reranker: ['rerank', 'reranker'],
    workflow: ['invoke_workflow', 'workflow'],
    chain: ['chain', 'task', 'graph', 'prompt', 'chat_template', 'lambda'],
    guardrail: ['guardrail'],
    evaluator: ['evaluator'],
};
const SESSION_KEYS = [
    'gen_ai.conversation.id', 'session.id', 'gen_ai.session.id', 'langfuse.session.id',
    'traceloop.association.properties.session_id', 'traceloop.association.properties.conversation_id',
];
const USER_KEYS = ['user.id', 'gen_ai.user.id', 'langfuse.user.id', 'traceloop.association.properties.user_id', 'enduser.id'];

/** The first of keys whose value passes ok, or undefined. */
const firstOf = (attrs, keys, ok) => keys.map((k) => attrs[k]).find((v) => v !== undefined && ok(v));
const isName = (v) => typeof v === 'string' && v.length > 0;
const isCount = (v) => (typeof v === 'bigint' && v >= 0n) || (typeof v === 'string' && /^\d+$/.test(v))
    || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
const isId = (v) => (typeof v === 'string' && v.length > 0) || typeof v === 'bigint';

/**
 * The canonical GenAI fields of a span that the checks need: type, provider, models, token
 * counts, TTFT (first-token event, else gen_ai.response.time_to_first_chunk), streaming,
 * failure, and the span's own session and user ids.
 */
function genaiOf(s) {
    const a = s.attrs;
    let type = null;
    for (const k of TYPE_KEYS) {
        if (typeof a[k] !== 'string') continue;
        type = Object.keys(TYPE_WORDS).find((t) => TYPE_WORDS[t].includes(a[k].toLowerCase())) ?? null;
        if (type) break;
    }
    const requestModel = firstOf(a, ['gen_ai.request.model'], isName) ?? '';
    const responseModel = firstOf(a, ['gen_ai.response.model'], isName) ?? '';
    const input = firstOf(a, ['gen_ai.usage.input_tokens'], isCount);
    const output = firstOf(a, ['gen_ai.usage.output_tokens'], isCount);
    if (!type && (requestModel || responseModel || input !== undefined || output !== undefined)) type = 'llm';
    const durationNs = s.endNs - s.startNs;
    let ttftNs = null;
    const ev = s.events.find((e) => /first_token|first token|first_chunk/i.test(e.name) && e.timeNs >= s.startNs && e.timeNs <= s.endNs);
    if (ev) ttftNs = ev.timeNs - s.startNs;
    else if (typeof a['gen_ai.response.time_to_first_chunk'] === 'number' && a['gen_ai.response.time_to_first_chunk'] >= 0) {
        const ns = BigInt(Math.round(a['gen_ai.response.time_to_first_chunk'] * 1e9));
        if (ns <= durationNs) ttftNs = ns;
    }
    const stream = a['gen_ai.request.stream'];
    return {
        type: type ?? 'none',
        provider: (firstOf(a, ['gen_ai.provider.name', 'gen_ai.system'], isName) ?? '').toLowerCase(),
        requestModel,
        responseModel,
        model: requestModel || responseModel,
        inputTokens: input === undefined ? 0 : Number(input),
        outputTokens: output === undefined ? 0 : Number(output),
        ttftNs,
        streamed: typeof stream === 'boolean' ? stream : ttftNs !== null,
        error: s.status === ERROR,
        sessionId: String(firstOf(a, SESSION_KEYS, isId) ?? ''),
        userId: String(firstOf(a, USER_KEYS, isId) ?? ''),
    };
}

/** A serving engine's own (SERVER) span of a model call: the caller's span counts the call (docs/genai.md). */
const servesCall = (s) => s.kind === SERVER && (s.ai.type === 'llm' || s.ai.type === 'embedding');
const isModelCall = (s) => (s.ai.type === 'llm' || s.ai.type === 'embedding') && !servesCall(s);

/** One record per span of the exports Osprey accepted: service, ids, kind, status, times (ns), attributes, events, arrival and answer. */
function spansOf(exports) {
    const spans = [];
    for (const e of exports.filter((x) => x.status === 200 && x.doc)) {
        for (const rs of e.doc.resourceSpans ?? []) {
            const resource = Object.fromEntries((rs.resource?.attributes ?? []).map((kv) => [kv.key, plain(kv.value)]));
            for (const ss of rs.scopeSpans ?? []) {
                for (const x of ss.spans ?? []) {
                    const s = {
                        service: resource['service.name'] ?? 'unknown_service',
                        traceId: x.traceId,
                        spanId: x.spanId,
                        parentSpanId: x.parentSpanId ?? '',
                        name: x.name ?? '',
                        kind: x.kind ?? 0,
                        status: x.status?.code ?? 0,
                        startNs: BigInt(x.startTimeUnixNano ?? 0),
                        endNs: BigInt(x.endTimeUnixNano ?? 0),
                        attrs: Object.fromEntries((x.attributes ?? []).map((kv) => [kv.key, plain(kv.value)])),
                        events: (x.events ?? []).map((ev) => ({ name: ev.name ?? '', timeNs: BigInt(ev.timeUnixNano ?? 0) })),
                        arrivalMs: e.arrivalMs,
                        answeredMs: e.answeredMs,
                    };
                    s.durationS = seconds(s.endNs - s.startNs);
                    s.ai = genaiOf(s);
                    spans.push(s);
                }
            }
        }
    }
    return spans;
}

// ---------------------------------------------------------------- prices (docs/pricing.md)

/** The entries of a price file: the YAML subset config/prices.yaml is written in. */
function loadPrices(file) {
    const entries = [];
    let cur = null;
    for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
        const m = /^\s*(-\s+)?([a-z_]+):\s*(.*?)\s*$/.exec(raw.replace(/(^|\s+)#.*$/, ''));
        if (!m || m[2] === 'prices') continue;
        if (m[1]) entries.push((cur = {}));
        cur[m[2]] = m[3].replace(/^"(.*)"$/, '$1');
    }
    return entries.map((e) => ({
        model: e.model,
        provider: e.provider?.toLowerCase(),
        input: Number(e.input),
        output: Number(e.output),
        cacheRead: Number(e.cache_read ?? e.input),
        cacheWrite: Number(e.cache_write ?? e.input),
        effectiveMs: e.effective ? Date.parse(/^\d{4}-\d\d-\d\d$/.test(e.effective) ? `${e.effective}T00:00:00Z` : e.effective) : -Infinity,
    }));
}

/**
 * The entry pricing (provider, model) at tMs: among the entries in force whose pattern
 * matches (case-insensitively), an exact name before a pattern, a longer pattern before a
 * shorter one, the call's provider before no provider, then the latest; null when none.
 */
function priceOf(table, provider, model, tMs) {
    const matches = (pat) => new RegExp(`^${pat.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i').test(model);
    const fits = table.filter((p) => p.effectiveMs <= tMs && matches(p.model) && (!p.provider || !provider || p.provider === provider));
    const rank = (p) => [p.model.includes('*') ? 1 : 0, -p.model.replaceAll('*', '').length, p.provider ? 0 : 1, -p.effectiveMs];
    fits.sort((x, y) => {
        const [a, b] = [rank(x), rank(y)];
        const i = a.findIndex((v, k) => v !== b[k]);
        return i < 0 ? 0 : a[i] - b[i];
    });
    return fits[0] ?? null;
}

/** The cost in USD of one model call (no cached tokens in the demo), priced at tMs. */
function costOf(table, s, tMs) {
    const p = priceOf(table, s.ai.provider, s.ai.responseModel || s.ai.requestModel, tMs);
    return p ? (s.ai.inputTokens * p.input + s.ai.outputTokens * p.output) / 1e6 : 0;
}

// ---------------------------------------------------------------- what the APIs must say

/** RED: calls per (service, span name, kind, status), and per service its SERVER/CONSUMER spans (else all of them). */
function redOf(spans) {
    const calls = {};
    for (const s of spans) {
        const k = `${s.service}|${s.name}|${KINDS[s.kind]}|${STATUSES[s.status]}`;
        calls[k] = (calls[k] ?? 0) + 1;
    }
    const services = new Map();
    for (const [svc, ss] of group(spans, (s) => s.service)) {
        const entry = ss.filter((s) => s.kind === SERVER || s.kind === CONSUMER);
        services.set(svc, entry.length ? entry : ss);
    }
    return { calls, services };
}

// The attributes naming an uninstrumented peer, first found wins (src/analytics/servicegraph.h).
const PEER_ATTRS = [
    ['peer.service', 'virtual_node'], ['db.system.name', 'database'], ['db.system', 'database'], ['messaging.system', 'messaging_system'],
    ['gen_ai.provider.name', 'virtual_node'], ['gen_ai.system', 'virtual_node'], ['server.address', 'virtual_node'], ['net.peer.name', 'virtual_node'],
];

/**
 * The service graph, replaying the spans in arrival order: a CLIENT/PRODUCER span and a
 * SERVER/CONSUMER child of another service pair when the second arrives within the window of
 * the first; a client still waiting when its window ends is a request to the peer it names;
 * a root server is a request from "user". Returns {edges, slowPairs}: edges by
 * "client|server|connection_type" with count, failed and the server and client durations;
 * slowPairs counts the client/server pairs whose spans arrived about a window apart or more
 * (how a peer arriving after the window counts is no part of what this test checks).
 */
function serviceGraphOf(spans) {
    const edges = new Map();
    const edge = (client, server, type) => {
        const k = `${client}|${server}|${type}`;
        if (!edges.has(k)) edges.set(k, { client, server, type, count: 0, failed: 0, serverS: [], clientS: [] });
        return edges.get(k);
    };
    const waiting = new Map(); // `${role}|${trace}|${key span}` -> [span], oldest first
    const retire = (now) => {
        for (const [k, list] of waiting) {
            while (list.length && list[0].arrivalMs + PAIRING_WINDOW_MS <= now) {
                const c = list.shift();
                const peer = PEER_ATTRS.find(([attr]) => isName(c.attrs[attr]));
                if (k.startsWith('client|') && peer && c.attrs[peer[0]] !== c.service) {
                    const e = edge(c.service, c.attrs[peer[0]], peer[1]);
                    e.count++;
                    e.failed += c.status === ERROR ? 1 : 0;
                    e.clientS.push(c.durationS);
                }
            }
            if (!list.length) waiting.delete(k);
        }
    };
    for (const [arrivalMs, batch] of [...group(spans, (s) => s.arrivalMs)].sort((a, b) => a[0] - b[0])) {
        retire(arrivalMs);
        for (const s of batch) {
            const isClient = s.kind === CLIENT || s.kind === PRODUCER;
            const isServer = s.kind === SERVER || s.kind === CONSUMER;
            if (!isClient && !isServer) continue;
            if (isServer && !s.parentSpanId) {
                const e = edge('user', s.service, '');
                e.count++;
                e.failed += s.status === ERROR ? 1 : 0;
                e.serverS.push(s.durationS);
                continue;
            }
            const key = `${s.traceId}|${isClient ? s.spanId : s.parentSpanId}`;
            const peers = waiting.get(`${isClient ? 'server' : 'client'}|${key}`);
            if (peers?.length) {
                const p = peers.shift();
                if (!peers.length) waiting.delete(`${isClient ? 'server' : 'client'}|${key}`);
                const [c, sv] = isClient ? [s, p] : [p, s];
                if (c.service === sv.service) continue;
                const e = edge(c.service, sv.service, c.kind === PRODUCER || sv.kind === CONSUMER ? 'messaging_system' : '');
                e.count++;
                e.failed += c.status === ERROR || sv.status === ERROR ? 1 : 0;
                e.serverS.push(sv.durationS);
                e.clientS.push(c.durationS);
                continue;
            }
            const k = `${isClient ? 'client' : 'server'}|${key}`;
            if (!waiting.has(k)) waiting.set(k, []);
            waiting.get(k).push(s);
        }
    }
    retire(Infinity); // the flushes after the window
    const byId = new Map(spans.map((s) => [`${s.traceId}|${s.spanId}`, s]));
    const slowPairs = spans.filter((s) => {
        const c = (s.kind === SERVER || s.kind === CONSUMER) && byId.get(`${s.traceId}|${s.parentSpanId}`);
        return c && (c.kind === CLIENT || c.kind === PRODUCER) && Math.abs(s.arrivalMs - c.arrivalMs) > PAIRING_WINDOW_MS - WINDOW_SLACK_MS;
    }).length;
    return { edges, slowPairs };
}

/** LLM usage per (model, provider) of the model calls (LLM and embedding spans). */
function modelsOf(spans, prices, atMs) {
    const rows = new Map();
    for (const [k, cs] of group(spans.filter(isModelCall), (s) => `${s.ai.model}|${s.ai.provider}`)) {
        const ttft = cs.filter((s) => s.ai.ttftNs !== null).map((s) => seconds(s.ai.ttftNs));
        rows.set(k, {
            model: cs[0].ai.model,
            provider: cs[0].ai.provider,
            calls: cs.length,
            errors: cs.filter((s) => s.ai.error).length,
            inputTokens: sum(cs, (s) => s.ai.inputTokens),
            outputTokens: sum(cs, (s) => s.ai.outputTokens),
            cost: sum(cs, (s) => costOf(prices, s, atMs)),
            ttft,
            streamingShare: ttft.length / cs.length,
        });
    }
    return rows;
}

// The histograms an application may send in place of the derived TTFT (APP_TTFT in
// src/analytics/golden.c; the F_TTFT rows of app_metrics in src/analytics/genai_metrics.c),
// and their _count series under the Prometheus names the OTLP translation gives them.
const APP_TTFT_METRICS = [
    'gen_ai.server.time_to_first_token', 'gen_ai.client.operation.time_to_first_chunk', 'gen_ai.client.inference.time_to_first_chunk',
];
const APP_TTFT_COUNTS = '(gen_ai_server_time_to_first_token|gen_ai_client_(operation|inference)_time_to_first_chunk)_seconds_count';
const CUMULATIVE = 2; // AGGREGATION_TEMPORALITY_CUMULATIVE
const DERIVER_TYPES = ['llm', 'embedding', 'tool', 'agent']; // the AI spans the GenAI deriver reads
const APP_CHECK_EVERY_MS = 60000; // src/analytics/genai_metrics.c

const attrsOf = (kvs) => Object.fromEntries((kvs ?? []).map((kv) => [kv.key, plain(kv.value)]));
const streamKey = (who, model, provider) => `${who}|${model ?? ''}|${provider ?? ''}`;
const earliest = (a, b) => ({ arrivalMs: Math.min(a.arrivalMs, b.arrivalMs), answeredMs: Math.min(a.answeredMs, b.answeredMs) });

/** Cumulative buckets [{le, count}] (+Inf last) of an OTLP histogram point. */
function pointBuckets(p) {
    let cum = 0;
    return [...(p.explicitBounds ?? []), Infinity].map((le, i) => ({ le, count: (cum += Number(p.bucketCounts?.[i] ?? 0)) }));
}

/**
 * The histograms named in names that services sent themselves, from the metric exports
 * Osprey accepted: {streams, since}. streams: the last point of each stream (job, metric,
 * attributes) as {service, job, model, responseModel, provider, buckets}; since: per service,
 * when its first export carrying one arrived and was answered ({arrivalMs, answeredMs}).
 */
function appHistogramsOf(metricExports, names) {
    const streams = new Map();
    const since = new Map();
    for (const e of metricExports.filter((x) => x.status === 200 && x.doc)) {
        for (const rm of e.doc.resourceMetrics ?? []) {
            const resource = attrsOf(rm.resource?.attributes);
            const service = resource['service.name'] ?? 'unknown_service';
            const job = resource['service.namespace'] ? `${resource['service.namespace']}/${service}` : service;
            for (const m of (rm.scopeMetrics ?? []).flatMap((sm) => sm.metrics ?? [])) {
                if (!names.includes(m.name) || !m.histogram?.dataPoints?.length) continue;
                assert.equal(m.histogram.aggregationTemporality, CUMULATIVE, `${service} ${m.name}: the demo sends cumulative histograms`);
                since.set(service, earliest(since.get(service) ?? e, e));
                for (const p of m.histogram.dataPoints) {
                    const a = attrsOf(p.attributes);
                    const key = JSON.stringify([job, m.name, ...Object.entries(a).map(([k, v]) => `${k}=${v}`).sort()]);
                    const t = BigInt(p.timeUnixNano ?? 0);
                    if (streams.has(key) && streams.get(key).t > t) continue;
                    streams.set(key, {
                        service, job, t,
                        model: a['gen_ai.request.model'] ?? '',
                        responseModel: a['gen_ai.response.model'] ?? '',
                        provider: a['gen_ai.provider.name'] ?? '',
                        buckets: pointBuckets(p),
                    });
                }
            }
        }
    }
    return { streams: [...streams.values()], since };
}

/**
 * The TTFT buckets per "model|provider" that the APIs read (drop_derived_twins in
 * src/analytics/golden.c): the last buckets of the TTFT histograms a service sends itself
 * (app, from appHistogramsOf), and for the services that send none the first-token times of
 * their model calls in the derived buckets, added up per model.
 */
function ttftBucketsOf(spans, app) {
    const out = new Map();
    const add = (k, buckets) => out.set(k, out.has(k) ? mergeBuckets(out.get(k), buckets) : buckets);
    for (const h of app.streams.filter((x) => x.model || x.responseModel)) add(`${h.model || h.responseModel}|${h.provider}`, h.buckets);
    const derived = spans.filter((s) => isModelCall(s) && s.ai.ttftNs !== null && !app.since.has(s.service));
    for (const [k, cs] of group(derived, (s) => `${s.ai.model}|${s.ai.provider}`)) {
        add(k, bucketsOf(TTFT_BUCKETS, cs.map((s) => seconds(s.ai.ttftNs))));
    }
    return out;
}

/**
 * How many of its first-token times the deriver still wrote for a service that sends its own
 * TTFT histograms, since (when its first such export arrived and was answered; see
 * appHistogramsOf). The deriver asks the store what a service sends at the service's first AI
 * span and then at the first one a minute or more after the last asking
 * (src/analytics/genai_metrics.c): 'all' when an AI span of the service was answered before
 * that export arrived and none came a minute after the first; 'none' when the export was
 * answered before the first AI span arrived; 'some' (any number up to all) otherwise.
 */
function derivedTtftShare(spans, service, since) {
    const ai = spans.filter((s) => s.service === service && DERIVER_TYPES.includes(s.ai.type));
    const firstArrival = Math.min(...ai.map((s) => s.arrivalMs));
    if (!ai.length || since.answeredMs < firstArrival) return 'none';
    const firstAsked = Math.min(...ai.map((s) => s.answeredMs)); // at the latest
    const lastAnswered = Math.max(...ai.map((s) => s.answeredMs));
    return firstAsked < since.arrivalMs && lastAnswered < firstArrival + APP_CHECK_EVERY_MS ? 'all' : 'some';
}

/**
 * The innermost of a trace's records recs whose time strictly contains span s's (a later
 * start, or the same start and an earlier end, is further in), or undefined: the recorded
 * ancestor of a record whose parent span is not recorded (src/analytics/sessions.c
 * container_of).
 */
function containerOf(recs, s) {
    let best;
    for (const r of recs) {
        if (r === s || r.startNs > s.startNs || r.endNs < s.endNs || (r.startNs === s.startNs && r.endNs === s.endNs)) continue;
        if (!best || r.startNs > best.startNs || (r.startNs === best.startNs && r.endNs < best.endNs)) best = r;
    }
    return best;
}

/**
 * Sessions and users as docs/golden-signals.md resolves them, per trace: a record per AI span
 * or span with its own session or user id; its recorded parent is the record of its parent
 * span, else (a plain span between them, and not a root) the innermost record whose time
 * strictly contains its own; its session (user) is its own, else its nearest recorded
 * ancestor's, else its trace's earliest; a turn is an AI record with no AI record among its
 * ancestors, and the AI records below it are its calls. Returns maps by id of what the APIs
 * list: {sessions, users, turns} (turns: a session's turns in start order).
 */
function sessionsOf(spans, prices) {
    const records = [];
    for (const ts of group(spans, (s) => s.traceId).values()) {
        const recs = ts.filter((s) => (s.ai.type !== 'none' || s.ai.sessionId || s.ai.userId) && !servesCall(s)).sort(byStart);
        const byId = new Map(recs.map((s) => [s.spanId, s]));
        const isRoot = (s) => /^0*$/.test(s.parentSpanId);
        const parentOf = new Map(recs.map((s) => {
            const p = byId.get(s.parentSpanId);
            return [s, p && p !== s ? p : isRoot(s) ? undefined : containerOf(recs, s)];
        }));
        const traceSession = recs.find((r) => r.ai.sessionId)?.ai.sessionId ?? '';
        const traceUser = recs.find((r) => r.ai.userId)?.ai.userId ?? '';
        for (const s of recs) {
            const ancestors = [];
            for (let p = parentOf.get(s); p && ancestors.length < 256; p = parentOf.get(p)) ancestors.push(p);
            records.push({
                s,
                session: s.ai.sessionId || ancestors.find((p) => p.ai.sessionId)?.ai.sessionId || traceSession,
                user: s.ai.userId || ancestors.find((p) => p.ai.userId)?.ai.userId || traceUser,
                // the turn it belongs to: its topmost AI ancestor, or itself
                turnOf: [s, ...ancestors].filter((p) => p.ai.type !== 'none' && !servesCall(p)).at(-1) ?? null,
            });
        }
    }
    records.sort((a, b) => byStart(a.s, b.s));
    const figures = (rs) => {
        const llm = rs.filter((r) => isModelCall(r.s));
        return {
            traces: new Set(rs.map((r) => r.s.traceId)).size,
            inputTokens: sum(llm, (r) => r.s.ai.inputTokens),
            outputTokens: sum(llm, (r) => r.s.ai.outputTokens),
            cost: sum(llm, (r) => costOf(prices, r.s, Number(r.s.startNs / 1000000n))),
            errors: rs.filter((r) => r.s.ai.type !== 'none' && r.s.ai.error).length,
            firstSeen: msSeconds(rs.reduce((m, r) => (r.s.startNs < m ? r.s.startNs : m), rs[0].s.startNs)),
            lastSeen: msSeconds(rs.reduce((m, r) => (r.s.endNs > m ? r.s.endNs : m), rs[0].s.endNs)),
            llmCalls: llm.length,
        };
    };
    const sessions = new Map();
    const turns = new Map();
    for (const [id, rs] of group(records.filter((r) => r.session), (r) => r.session)) {
        const f = figures(rs);
        const own = rs.filter((r) => r.turnOf === r.s);
        sessions.set(id, {
            id,
            user: rs.find((r) => r.user)?.user ?? '',
            services: [...new Set(rs.map((r) => r.s.service))].sort(),
            turns: own.length,
            traces: f.traces,
            inputTokens: f.inputTokens,
            outputTokens: f.outputTokens,
            cost: f.cost,
            errors: f.errors,
            firstSeen: f.firstSeen,
            lastSeen: f.lastSeen,
        });
        if (!own.length) continue;
        turns.set(id, own.map((t) => {
            const calls = records.filter((r) => r.turnOf === t.s);
            const llm = calls.filter((r) => isModelCall(r.s));
            return {
                traceId: t.s.traceId,
                model: llm.length ? llm[0].s.ai.responseModel || llm[0].s.ai.requestModel : '',
                llmCalls: llm.length,
                inputTokens: sum(llm, (r) => r.s.ai.inputTokens),
                outputTokens: sum(llm, (r) => r.s.ai.outputTokens),
                errors: calls.filter((r) => r.s.ai.type !== 'none' && r.s.ai.error).length,
                toolCalls: calls.filter((r) => r.s.ai.type === 'tool').map((r) => ({ name: r.s.attrs['gen_ai.tool.name'] ?? r.s.name, error: r.s.ai.error })),
            };
        }));
    }
    const users = new Map();
    for (const [id, rs] of group(records.filter((r) => r.user), (r) => r.user)) {
        const f = figures(rs);
        users.set(id, { id, sessions: new Set(rs.filter((r) => r.session).map((r) => r.session)).size, ...f });
    }
    return { sessions, users, turns };
}

// ---------------------------------------------------------------- the tests

describe('the demo fleet against the golden-signal APIs', { timeout: 120000 * SLOW }, () => {
    const children = new Set();
    let server;
    let tee;
    let run;
    let spans;
    let prices;
    let range; // {start, end} unix seconds for the APIs
    let rangeS;

    const api = (p, params) => getJson(`${server.apiUrl}/api/v1/${p}?${new URLSearchParams({ ...range, ...params })}`);
    const promql = async (q) => {
        const body = await getJson(`${server.apiUrl}/api/v1/query?${new URLSearchParams({ query: q })}`);
        assert.equal(body.status, 'success', q);
        return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    };

    before(async () => {
        const startedAt = Math.floor(Date.now() / 1000) - 2;
        server = await startServer({ name: 'demo-golden', args: ['--derive-interval', `${DERIVE_INTERVAL_S}s`] });
        tee = await startTee(server.otlpHttpUrl);
        run = await runDemo(['--endpoint', tee.url, ...DEMO_ARGS], children, 60000 * SLOW);
        spans = spansOf(tee.exports);
        prices = loadPrices(PRICES_FILE);
        // Clients still waiting for a peer are retired at the first flush a pairing window
        // after they arrived (virtual-node edges); then one more flush writes what it counted,
        // and the AI call records of the last spans.
        if (run.code === 0) {
            await until('service graph pending spans retired', async () => {
                const pending = await selfMetric(server, 'osprey_servicegraph_pending_spans');
                return { ok: pending === 0, pending };
            }, PAIRING_WINDOW_MS + 30000 * SLOW);
            const flushes = await selfMetric(server, 'osprey_derive_flushes_total');
            await until('two more derive flushes', async () => {
                const n = await selfMetric(server, 'osprey_derive_flushes_total');
                return { ok: n >= flushes + 2, n };
            }, 10000 * SLOW);
        }
        const end = Math.ceil(Date.now() / 1000) + 1;
        range = { start: String(startedAt), end: String(end) };
        rangeS = end - startedAt;
    });

    after(async () => {
        for (const c of children) c.kill('SIGKILL');
        await tee?.close();
        if (server) {
            const r = await server.stop();
            assert.ok(cleanExit(r), server.describeExit(r));
        }
    });

    test('the demo ran, exported through the tee, and Osprey took every span and data point', () => {
        assert.equal(run.code, 0, `exit ${run.code} ${run.signal}\n${run.stderr.slice(-3000)}`);
        assert.deepEqual(run.findings, []);
        const m = /spans exported (\d+), dropped (\d+)/.exec(run.stdout);
        assert.ok(m, `no summary line in: ${run.stdout}`);
        assert.equal(Number(m[2]), 0, 'spans dropped by the demo');
        assert.ok(tee.exports.length > 0 && tee.exports.every((e) => e.gzip), 'trace exports come gzip\'d');
        for (const e of tee.exports) {
            assert.equal(e.error, undefined, 'the tee decodes every export');
            assert.equal(e.status, 200, `an export answered ${e.status}: ${e.response.toString('utf8').slice(0, 200)}`);
            assert.equal(Number(decodeExportResponse(e.response).partialSuccess?.rejectedSpans ?? 0), 0, 'spans rejected');
        }
        assert.equal(spans.length, Number(m[1]), 'the tee saw every span the demo exported');
        assert.ok(tee.metricExports.length > 0, 'metric exports');
        for (const e of tee.metricExports) {
            assert.equal(e.error, undefined, 'the tee decodes every metric export');
            assert.equal(e.status, 200, `a metric export answered ${e.status}: ${e.response.toString('utf8').slice(0, 200)}`);
            const rejected = decodeMetricsExportResponse(e.response).partialSuccess?.rejectedDataPoints ?? 0;
            assert.equal(Number(rejected), 0, 'data points rejected');
        }
        const services = new Set(spans.map((s) => s.service));
        assert.equal(services.size, 8, `services: ${[...services]}`);
        assert.ok(spans.some((s) => s.ai.error && isModelCall(s)) && spans.some((s) => s.ai.ttftNs !== null), 'failed and streamed model calls');
    });

    test('RED: calls per service, span, kind and status in PromQL; per service in the overview', async () => {
        const red = redOf(spans);
        const got = await promql('sum by (service_name, span_name, span_kind, status_code) (traces_span_metrics_calls_total)');
        const redKey = (m) => `${m.service_name}|${m.span_name}|${m.span_kind}|${m.status_code}`;
        const gotCalls = Object.fromEntries(got.map((r) => [redKey(r.metric), r.value]));
        assert.deepEqual(gotCalls, red.calls);
        const durations = await promql('sum by (service_name) (traces_span_metrics_duration_seconds_sum)');
        for (const r of durations) {
            const svc = r.metric.service_name;
            close(r.value, sum(spans.filter((s) => s.service === svc), (s) => s.durationS), `duration sum of ${svc}`, 1e-6);
        }

        const o = await api('overview');
        assert.deepEqual(o.services.map((s) => s.name), [...red.services.keys()].sort());
        for (const s of o.services) {
            const entry = red.services.get(s.name);
            const errors = entry.filter((x) => x.status === ERROR).length;
            assert.equal(s.calls, entry.length, `${s.name} calls`);
            assert.equal(s.errors, errors, `${s.name} errors`);
            close(s.rate, entry.length / rangeS, `${s.name} rate`);
            close(s.errorRate, errors / entry.length, `${s.name} errorRate`);
            for (const q of [50, 95, 99]) close(s[`p${q}`], histogramQuantile(q / 100, SPAN_BUCKETS, entry.map((x) => x.durationS)), `${s.name} p${q}`, 1e-6);
        }
    });

    test('service graph: pairs across services, virtual nodes and "user", in PromQL and the topology', async () => {
        const { edges, slowPairs } = serviceGraphOf(spans);
        assert.equal(slowPairs, 0, 'the spans of a request arrived about a pairing window apart or more: run the demo shorter');
        const key = (m) => `${m.client}|${m.server}|${m.connection_type ?? ''}`;
        const byEdge = async (family) => (await promql(`sum by (client, server, connection_type) (${family})`)).filter((r) => r.value);
        const total = Object.fromEntries((await byEdge('traces_service_graph_request_total')).map((r) => [key(r.metric), r.value]));
        assert.deepEqual(total, Object.fromEntries([...edges].map(([k, e]) => [k, e.count])));
        const failed = Object.fromEntries((await byEdge('traces_service_graph_request_failed_total')).map((r) => [key(r.metric), r.value]));
        assert.deepEqual(failed, Object.fromEntries([...edges].filter(([, e]) => e.failed).map(([k, e]) => [k, e.failed])));
        assert.ok([...edges.values()].some((e) => e.type === 'database'), 'the orders INSERT: a database node');

        const t = await api('topology');
        assert.deepEqual(t.edges.map((e) => `${e.client}|${e.server}|${e.connectionType ?? ''}`).sort(), [...edges.keys()].sort());
        for (const e of t.edges) {
            const want = edges.get(`${e.client}|${e.server}|${e.connectionType ?? ''}`);
            const what = `edge ${e.client} -> ${e.server}`;
            close(e.rate * rangeS, want.count, `${what} requests`, 1e-9);
            close(e.errorRate, want.failed / want.count, `${what} errorRate`);
            close(e.p95, histogramQuantile(0.95, GRAPH_BUCKETS, want.serverS.length ? want.serverS : want.clientS), `${what} p95`, 1e-6);
        }
        const services = new Set(spans.map((s) => s.service));
        const nodes = [...new Set([...edges.values()].flatMap((e) => [e.client, e.server]))].sort();
        assert.deepEqual(t.nodes.map((n) => n.id), nodes);
        for (const n of t.nodes) assert.equal(n.kind, services.has(n.id) ? 'service' : 'virtual', `node ${n.id}`);
    });

    test('GenAI: tokens, cost and TTFT per model; streamed calls', async () => {
        const want = modelsOf(spans, prices, Date.now());
        assert.ok(want.size > 0, 'model calls');
        // TTFT: the router's own gen_ai.client.operation.time_to_first_chunk for its models
        // (in its buckets), the first-token events of the other services' calls.
        const ttft = ttftBucketsOf(spans, appHistogramsOf(tee.metricExports, APP_TTFT_METRICS));
        const rows = (await api('llm/models', { groupBy: 'model' })).models;
        assert.deepEqual(rows.map((r) => `${r.key}|${r.provider ?? ''}`).sort(), [...want.keys()].sort());
        for (const r of rows) {
            const k = `${r.key}|${r.provider ?? ''}`;
            const w = want.get(k);
            const what = `${r.key} (${r.provider || 'no provider'})`;
            assert.equal(r.inputTokens, w.inputTokens, `${what} inputTokens`);
            assert.equal(r.outputTokens, w.outputTokens, `${what} outputTokens`);
            close(r.cost, w.cost, `${what} cost`);
            for (const q of [50, 95]) close(r[`ttftP${q}`], bucketQuantile(q / 100, ttft.get(k) ?? []), `${what} ttftP${q}`, 1e-6);
        }

        const o = await api('overview');
        assert.deepEqual(o.models.map((m) => `${m.model}|${m.provider ?? ''}`).sort(), [...want.keys()].sort(), 'fewer than ten models: all of them');
        for (const m of o.models) {
            const w = want.get(`${m.model}|${m.provider ?? ''}`);
            assert.deepEqual([m.inputTokens, m.outputTokens], [w.inputTokens, w.outputTokens], `overview ${m.model} tokens`);
            close(m.cost, w.cost, `overview ${m.model} cost`);
        }

        // Streamed: gen_ai.request.stream (the router's calls, rate-limited ones included).
        const streamedCalls = spans.filter((s) => s.ai.type === 'llm' && !servesCall(s) && s.ai.streamed);
        const streamed = group(streamedCalls, (s) => `${s.ai.provider}|${s.ai.responseModel || s.ai.requestModel}`);
        const st = (await api('llm/streaming')).models;
        assert.deepEqual(
            Object.fromEntries(st.map((r) => [`${r.provider}|${r.model}`, [r.streamedCalls, r.failedAfterFirstToken]])),
            Object.fromEntries([...streamed].map(([k, cs]) => [k, [cs.length, cs.filter((s) => s.ai.error && s.ai.ttftNs !== null).length]])),
        );
    });

    test('GenAI TTFT in PromQL: the router\'s own histograms as sent, derived series for the others', async (t) => {
        const app = appHistogramsOf(tee.metricExports, APP_TTFT_METRICS);
        assert.deepEqual([...app.since.keys()], ['model-router'], 'the services sending their own TTFT');
        const streamed = spans.filter((s) => isModelCall(s) && s.ai.ttftNs !== null);
        // What the router sent holds its spans' first-token times, in its own buckets.
        const sentBy = new Map();
        for (const h of app.streams) {
            const k = streamKey(h.service, h.model, h.provider);
            sentBy.set(k, sentBy.has(k) ? mergeBuckets(sentBy.get(k), h.buckets) : h.buckets);
        }
        for (const [k, buckets] of sentBy) {
            const times = streamed.filter((s) => streamKey(s.service, s.ai.requestModel, s.ai.provider) === k);
            assert.deepEqual(buckets, bucketsOf(buckets.slice(0, -1).map((b) => b.le), times.map((s) => seconds(s.ai.ttftNs))), `${k}: sent TTFT`);
        }
        const wantSent = {};
        for (const h of app.streams) {
            const k = streamKey(h.job, h.model, h.provider);
            wantSent[k] = (wantSent[k] ?? 0) + h.buckets.at(-1).count;
        }
        const byLabels = (rs, who) => Object.fromEntries(rs.map((r) => [
            streamKey(r.metric[who], r.metric.gen_ai_request_model, r.metric.gen_ai_provider_name), r.value,
        ]));
        const by = 'sum by (job, service_name, gen_ai_request_model, gen_ai_provider_name)';
        assert.deepEqual(byLabels(await promql(`${by} ({__name__=~"${APP_TTFT_COUNTS}", service_name=""})`), 'job'), wantSent);

        // Derived: every first-token time of the services that send no TTFT; of those that do,
        // the ones that came before the deriver saw their own (derivedTtftShare).
        const got = byLabels(await promql(`${by} (gen_ai_server_time_to_first_token_seconds_count{service_name!=""})`), 'service_name');
        const want = {};
        for (const [k, cs] of group(streamed, (s) => streamKey(s.service, s.ai.requestModel, s.ai.provider))) {
            const service = cs[0].service;
            const share = app.since.has(service) ? derivedTtftShare(spans, service, app.since.get(service)) : 'all';
            if (app.since.has(service)) t.diagnostic(`${k}: derived TTFT of ${share} of ${cs.length} calls`);
            if (share === 'all') want[k] = cs.length;
            if (share !== 'some') continue;
            assert.ok((got[k] ?? 0) <= cs.length, `${k}: derived TTFT count ${got[k]}, at most ${cs.length}`);
            delete got[k];
        }
        assert.deepEqual(got, want);
    });

    test('GenAI: calls, errors and streaming share per model, the self-metered router counted once', async () => {
        // The model router sends its own gen_ai.client.operation.duration and
        // time_to_first_chunk (libosprey): the APIs read those for its models, and the
        // derived series written before the deriver saw them are not counted as well.
        const want = modelsOf(spans, prices, Date.now());
        const rows = (await api('llm/models', { groupBy: 'model' })).models;
        const got = Object.fromEntries(rows.map((r) => [`${r.key}|${r.provider ?? ''}`, [r.calls, r.errors, r.streamingShare]]));
        const o = await api('overview');
        const gotOverview = Object.fromEntries(o.models.map((m) => [`${m.model}|${m.provider ?? ''}`, [m.calls, m.errors]]));
        assert.deepEqual(got, Object.fromEntries([...want].map(([k, w]) => [k, [w.calls, w.errors, w.streamingShare]])));
        assert.deepEqual(gotOverview, Object.fromEntries([...want].map(([k, w]) => [k, [w.calls, w.errors]])));
    });

    test('sessions and users: traces, tokens, cost and errors per conversation and user', async () => {
        const { sessions, users } = sessionsOf(spans, prices);
        const got = (await api('sessions', { limit: '1000' })).sessions;
        assert.deepEqual(got.map((s) => s.id).sort(), [...sessions.keys()].sort());
        for (let i = 1; i < got.length; i++) assert.ok(got[i - 1].lastSeen >= got[i].lastSeen, 'newest first');
        for (const s of got) {
            const w = sessions.get(s.id);
            const what = `session ${s.id}`;
            assert.deepEqual([s.user, s.services, s.traces], [w.user, w.services, w.traces], what);
            assert.deepEqual([s.inputTokens, s.outputTokens, s.errors], [w.inputTokens, w.outputTokens, w.errors], `${what} tokens, errors`);
            close(s.cost, w.cost, `${what} cost`);
            close(s.firstSeen, w.firstSeen, `${what} firstSeen`);
            close(s.lastSeen, w.lastSeen, `${what} lastSeen`);
        }

        const u = (await api('users', { limit: 1000 })).users;
        assert.deepEqual(u.map((x) => x.id).sort(), [...users.keys()].sort());
        for (let k = 1; k < u.length; k++) assert.ok(u[k - 1].lastSeen >= u[k].lastSeen, `users newest first: ${u[k - 1].id} before ${u[k].id}`);
        for (const x of u) {
            const w = users.get(x.id);
            const what = `user ${x.id}`;
            const counts = (y) => [y.sessions, y.traces, y.llmCalls, y.inputTokens, y.outputTokens, y.errors];
            assert.deepEqual(counts(x), counts(w), what);
            close(x.cost, w.cost, `${what} cost`);
            close(x.firstSeen, w.firstSeen, `${what} firstSeen`);
            close(x.lastSeen, w.lastSeen, `${what} lastSeen`);
        }
    });

    test('sessions: one turn per agent run, with the model calls made below it through other services', async () => {
        const { sessions, turns } = sessionsOf(spans, prices);
        assert.ok([...sessions.values()].some((s) => s.turns > 1), 'conversations of several turns');
        const got = Object.fromEntries((await api('sessions', { limit: '1000' })).sessions.map((s) => [s.id, s.turns]));
        const details = {};
        for (const id of turns.keys()) {
            const d = await getJson(`${server.apiUrl}/api/v1/sessions/${encodeURIComponent(id)}`);
            details[id] = d.turns.map((t) => ({
                traceId: t.traceId, model: t.model, llmCalls: t.llmCalls, inputTokens: t.inputTokens, outputTokens: t.outputTokens, errors: t.errors,
                toolCalls: t.toolCalls,
            }));
        }
        // The router's model calls have a plain parent (its HTTP server span): the agent run
        // whose time contains theirs is their turn.
        assert.deepEqual(got, Object.fromEntries([...sessions].map(([id, s]) => [id, s.turns])));
        assert.deepEqual(details, Object.fromEntries(turns));
    });
});
