// Golden signals end to end: the seeded workload of genai-workload.mjs (a front door, service
// calls, a database and LLM providers nobody instruments, LLM/tool/agent spans in every AI
// convention) goes to a server deriving every second; then the derived series (PromQL) and
// every golden-signal API must hold exactly what the test computes on its own from what it
// sent: RED per service, the service graph (virtual nodes, a pair whose spans arrived 2 s
// apart), tokens, cost (from a price file the test writes), TTFT/TPOT, quantiles as
// histogram_quantile computes them from the derived buckets, the hot path, the diagnostic of
// one trace per convention; a price change reprices old data in the APIs but not the cost
// counter priced at ingest; and a service that sends its own GenAI duration metric gets no
// derived one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { buildWorkload, DELAYED_TRACES, jobOf, REQUESTS, SELF_METERED, sendWorkload, spanFacts } from './genai-workload.mjs';
import { group, sum } from './lib/expect.mjs';
import { request } from './lib/http.mjs';
import { promApi } from './lib/prometheus.mjs';
import { cleanExit, sleep, SLOW, startServer, tempDir, until } from './lib/server.mjs';

// ---- bucket bounds of the derived histograms (src/analytics/derived.h, derived.c)
const SPAN_BUCKETS = [0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15];
const GRAPH_BUCKETS = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8];
const GENAI_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];

// ---- topology thresholds passed to the server
const BUSY_RPS = 0.5;
const SLOW_P95_S = 0.8;
const FAILING_ERROR_RATE = 0.05;

// ---- prices (USD per million tokens) the test writes; acme-embed-1 has none
const PRICES = [
    { model: 'acme-gpt-large', provider: 'openai', input: 2.5, output: 10, cache_read: 1.25 },
    { model: 'acme-gpt-small', input: 0.15, output: 0.6 },
    { model: 'acme-claude-*', provider: 'anthropic', input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 },
    { model: 'acme-ark-pro', provider: 'deepseek', input: 0.27, output: 1.1, cache_read: 0.07 },
    { model: 'acme-mistral', input: 0.4, output: 2 },
];
/** The table after the change: a new output price for one model. */
const PRICES_CHANGED = PRICES.map((p) => (p.model === 'acme-gpt-small' ? { ...p, output: 2.4 } : p));
const CHANGED_MODEL = 'acme-gpt-small';

function pricesYaml(prices) {
    const lines = ['# golden e2e prices (USD per million tokens)', 'prices:'];
    for (const p of prices) {
        lines.push(`  - model: "${p.model}"`);
        for (const k of ['provider', 'input', 'output', 'cache_read', 'cache_write']) if (p[k] !== undefined) lines.push(`    ${k}: ${p[k]}`);
    }
    return `${lines.join('\n')}\n`;
}

/** The price of (provider, model) in table: an exact name before a pattern, a provider's entry before a generic one. */
function priceOf(table, provider, model) {
    const glob = (pat) => new RegExp(`^${pat.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    const fits = (p) => (p.provider === undefined || p.provider === provider) && glob(p.model).test(model);
    const rank = (p) => (p.model.includes('*') ? 2 : 0) + (p.provider === undefined ? 1 : 0);
    const p = table.filter(fits).sort((a, b) => rank(a) - rank(b))[0];
    if (!p) return null;
    return { input: p.input, output: p.output, cache_read: p.cache_read ?? p.input, cache_write: p.cache_write ?? p.input };
}

/** The cost of one call under table, by token type (uncached input, cache reads, cache writes, output). */
function costOf(table, c) {
    const p = priceOf(table, c.provider, c.model);
    if (!p || !c.hasTokens) return { input: 0, cache_read: 0, cache_write: 0, output: 0 };
    return {
        input: (c.tokens.uncached * p.input) / 1e6,
        cache_read: (c.tokens.cacheRead * p.cache_read) / 1e6,
        cache_write: (c.tokens.cacheWrite * p.cache_write) / 1e6,
        output: (c.tokens.output * p.output) / 1e6,
    };
}
const totalCost = (table, calls) => calls.reduce((a, c) => a + Object.values(costOf(table, c)).reduce((x, y) => x + y, 0), 0);

/**
 * histogram_quantile(q, ...) as Prometheus computes it over classic buckets holding values:
 * the rank q x count, the first bucket whose cumulative count reaches it, linear
 * interpolation inside it (from 0 in the first bucket), the highest finite bound in +Inf.
 */
function histogramQuantile(q, bounds, values) {
    if (!values.length) return NaN;
    const cum = bounds.map((b) => values.filter((v) => v <= b).length);
    const rank = q * values.length;
    const b = cum.findIndex((c) => c >= rank);
    if (b === -1) return bounds.at(-1);
    const start = b === 0 ? 0 : bounds[b - 1];
    const below = b === 0 ? 0 : cum[b - 1];
    return start + (bounds[b] - start) * ((rank - below) / (cum[b] - below));
}

/** Values on (or a rounding away from) a bucket bound would make the comparison depend on float noise. */
function assertOffBounds(what, values, bounds) {
    for (const v of values) for (const b of bounds) assert.ok(Math.abs(v - b) > 1e-7, `${what}: workload value ${v} is on bucket bound ${b}: change the seed`);
}

const close = (got, want, what, rel = 1e-6) => {
    if (want === null || Number.isNaN(want)) {
        assert.ok(got === null || Number.isNaN(got), `${what}: got ${got}, want none`);
        return;
    }
    assert.equal(typeof got, 'number', `${what}: got ${JSON.stringify(got)}, want ${want}`);
    assert.ok(Math.abs(got - want) <= rel * Math.max(1, Math.abs(want)), `${what}: got ${got}, want ${want}`);
};
const isClose = (a, b, rel = 1e-6) => typeof a === 'number' && Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));


/**
 * Everything the server must derive, computed from the workload alone: RED per span group,
 * service-graph edges (paired CLIENT/SERVER across services, expired clients to their peer,
 * root servers from "user"), and the model calls.
 */
function expectations(w) {
    const facts = w.spans.map(spanFacts);
    const red = group(facts, (f) => `${f.service}|${f.kind}|${f.status}`);

    const byId = new Map(facts.map((f) => [`${f.traceId}/${f.spanId}`, f]));
    const paired = new Set();
    const edges = new Map();
    const edge = (client, server, type) => {
        const k = `${client}|${server}|${type}`;
        if (!edges.has(k)) edges.set(k, { client, server, type, count: 0, failed: 0, serverS: [], clientS: [] });
        return edges.get(k);
    };
    for (const f of facts) {
        if (f.kind !== 'SPAN_KIND_SERVER' && f.kind !== 'SPAN_KIND_CONSUMER') continue;
        const p = f.parentSpanId && byId.get(`${f.traceId}/${f.parentSpanId}`);
        if (p && (p.kind === 'SPAN_KIND_CLIENT' || p.kind === 'SPAN_KIND_PRODUCER') && p.service !== f.service) {
            const e = edge(p.service, f.service, '');
            e.count++;
            e.failed += p.status === 'STATUS_CODE_ERROR' || f.status === 'STATUS_CODE_ERROR' ? 1 : 0;
            e.serverS.push(f.durationS);
            e.clientS.push(p.durationS);
            paired.add(p);
        } else if (!f.parentSpanId) {
            const e = edge('user', f.service, '');
            e.count++;
            e.failed += f.status === 'STATUS_CODE_ERROR' ? 1 : 0;
            e.serverS.push(f.durationS);
        }
    }
    for (const f of facts) {
        if (f.kind !== 'SPAN_KIND_CLIENT' || paired.has(f)) continue;
        const a = f.attributes;
        const peer = a['peer.service'] ? [a['peer.service'], 'virtual_node']
            : a['db.system.name'] ? [a['db.system.name'], 'database']
            : a['gen_ai.provider.name'] || a['gen_ai.system'] ? [a['gen_ai.provider.name'] ?? a['gen_ai.system'], 'virtual_node']
            : a['server.address'] ? [a['server.address'], 'virtual_node'] : null;
        if (!peer) continue;
        const e = edge(f.service, peer[0], peer[1]);
        e.count++;
        e.failed += f.status === 'STATUS_CODE_ERROR' ? 1 : 0;
        e.clientS.push(f.durationS);
    }

    // What the overview calls a service's RED: its SERVER and CONSUMER spans, or all its spans.
    const services = new Map();
    for (const [svc, fs_] of group(facts, (f) => f.service)) {
        const entry = fs_.filter((f) => f.kind === 'SPAN_KIND_SERVER' || f.kind === 'SPAN_KIND_CONSUMER');
        services.set(svc, entry.length ? entry : fs_);
    }

    const modelCalls = w.calls.filter((c) => c.type === 'llm' || c.type === 'embedding');
    return { facts, red, edges: [...edges.values()], services, modelCalls };
}

/** p95 of an edge as the topology computes it: server side, or the client side for an uninstrumented server. */
const edgeP95 = (e) => histogramQuantile(0.95, GRAPH_BUCKETS, e.serverS.length ? e.serverS : e.clientS);

/** The hot path: from a node that is nobody's server, the simple chain maximizing sum(rate x p95). */
function hotPath(edges, seconds) {
    const servers = new Set(edges.map((e) => e.server));
    const roots = [...new Set(edges.map((e) => e.client))].filter((n) => !servers.has(n));
    let best = { weight: -1, path: [] };
    const walk = (node, pathSoFar, weight) => {
        if (weight > best.weight) best = { weight, path: [...pathSoFar] };
        for (const e of edges.filter((x) => x.client === node && !pathSoFar.includes(x.server))) {
            walk(e.server, [...pathSoFar, e.server], weight + (e.count / seconds) * edgeP95(e));
        }
    };
    for (const r of roots) walk(r, [r], 0);
    return best.path;
}

/** The health flags of figures under the thresholds; null where a figure is too near its threshold to tell. */
function healthOf({ rate, p95, errorRate }) {
    const near = (v, t) => Math.abs(v - t) <= 0.1 * t;
    if (near(rate, BUSY_RPS) || near(p95, SLOW_P95_S) || near(errorRate, FAILING_ERROR_RATE)) return null;
    const flags = [];
    if (rate >= BUSY_RPS) flags.push('busy');
    if (p95 >= SLOW_P95_S) flags.push('slow');
    if (errorRate >= FAILING_ERROR_RATE) flags.push('failing');
    return flags.length ? flags : ['ok'];
}
const healthList = (h) => [].concat(h).sort();

/** One instant PromQL query's result as [{metric, value}]. */
async function promql(server, query) {
    const r = await promApi(server.apiUrl, '/api/v1/query', { query });
    assert.equal(r.status, 200, `${query}: ${r.text.slice(0, 300)}`);
    assert.equal(r.json.status, 'success', query);
    return r.json.data.result.map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
}

async function api(server, p, params, status = 200) {
    const r = await request(`${server.apiUrl}${p}?${new URLSearchParams(params)}`, { timeout: 30000 * SLOW });
    assert.equal(r.status, status, `GET ${p} ${JSON.stringify(params)}: ${r.text().slice(0, 500)}`);
    return r.json();
}

/** The rows of a /api/v1/llm/models answer. */
function rowsOf(body) {
    const rows = body.models;
    assert.ok(Array.isArray(rows), `rows in ${JSON.stringify(body).slice(0, 200)}`);
    return rows;
}


describe('golden signals end to end', { timeout: 150000 * SLOW }, () => {
    let server;
    let w;
    let x; // expectations
    let pricesFile;
    let range; // {start, end} seconds, for the APIs
    let seconds;

    before(async () => {
        const dir = tempDir('osprey-golden-');
        pricesFile = path.join(dir, 'prices.yaml');
        fs.writeFileSync(pricesFile, pricesYaml(PRICES));
        const startedAt = Math.floor(Date.now() / 1000) - 2;
        server = await startServer({
            name: 'golden',
            args: [
                '--derive-interval', '1s', '--prices', pricesFile,
                '--topology-busy-rps', String(BUSY_RPS), '--topology-slow-p95', `${SLOW_P95_S * 1000}ms`,
                '--topology-failing-error-rate', String(FAILING_ERROR_RATE),
            ],
        });
        w = buildWorkload();
        x = expectations(w);
        await sendWorkload(server.otlpHttpUrl, w);

        // Every span counted once, and every edge formed: virtual ones only after the
        // pairing window (10 s) lets their CLIENT spans expire.
        const wantEdges = sum(x.edges, (e) => e.count);
        await until('derived RED', async () => {
            const r = await promql(server, 'sum(traces_span_metrics_calls_total)');
            return { ok: r[0]?.value === w.spans.length, got: r[0]?.value, want: w.spans.length };
        }, 30000 * SLOW);
        await until('service graph', async () => {
            const r = await promql(server, 'sum(traces_service_graph_request_total)');
            return { ok: r[0]?.value >= wantEdges, got: r[0]?.value, want: wantEdges };
        }, 40000 * SLOW);
        await sleep(1500); // one more flush, so every family holds the same spans
        const end = Math.ceil(Date.now() / 1000) + 1;
        // A whole number of 10 s steps, starting before the server did.
        range = { start: end - Math.ceil((end - startedAt) / 10) * 10, end };
        seconds = range.end - range.start;
    });

    after(async () => {
        if (!server) return;
        const r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
    });

    test('the workload stays off bucket bounds', () => {
        const calls = w.calls;
        assertOffBounds('span durations', x.facts.map((f) => f.durationS), SPAN_BUCKETS);
        assertOffBounds('span durations', x.facts.map((f) => f.durationS), GRAPH_BUCKETS);
        assertOffBounds('GenAI durations', calls.map((c) => c.durationS), GENAI_DURATION_BUCKETS);
        assertOffBounds('TTFT', calls.filter((c) => c.ttftS !== null).map((c) => c.ttftS), TTFT_BUCKETS);
        assertOffBounds('TPOT', calls.filter((c) => c.tpotS !== null).map((c) => c.tpotS), TPOT_BUCKETS);
        for (const conv of ['otel', 'otel-deprecated', 'openinference', 'traceloop', 'eino', 'langfuse']) assert.ok(w.diagnose[conv], `a ${conv} span to diagnose`);
    });

    test('RED in PromQL: calls by service, kind and status; duration quantiles', async () => {
        const got = await promql(server, 'sum by (service_name, span_kind, status_code) (traces_span_metrics_calls_total)');
        const gotMap = Object.fromEntries(got.map((r) => [`${r.metric.service_name}|${r.metric.span_kind}|${r.metric.status_code}`, r.value]));
        const want = Object.fromEntries([...x.red].map(([k, v]) => [k, v.length]));
        assert.deepEqual(gotMap, want);

        for (const q of [0.5, 0.95, 0.99]) {
            const rows = await promql(server, `histogram_quantile(${q}, sum by (le, service_name) (traces_span_metrics_duration_seconds_bucket{span_kind="SPAN_KIND_SERVER"}))`);
            const servers = group(x.facts.filter((f) => f.kind === 'SPAN_KIND_SERVER'), (f) => f.service);
            assert.equal(rows.length, servers.size, `q=${q}: one row per service with SERVER spans`);
            for (const r of rows) {
                close(r.value, histogramQuantile(q, SPAN_BUCKETS, servers.get(r.metric.service_name).map((f) => f.durationS)), `p${q * 100} ${r.metric.service_name}`);
            }
        }
        const count = await promql(server, 'sum(traces_span_metrics_duration_seconds_count)');
        assert.equal(count[0].value, w.spans.length);
        const total = await promql(server, 'sum(traces_span_metrics_duration_seconds_sum)');
        close(total[0].value, sum(x.facts, (f) => f.durationS), 'duration sum');
    });

    test('service graph in PromQL: edges, failures, virtual nodes, a pair sent 2 s apart', async () => {
        const key = (m) => `${m.client}|${m.server}|${m.connection_type ?? ''}`;
        const total = Object.fromEntries((await promql(server, 'sum by (client, server, connection_type) (traces_service_graph_request_total)')).map((r) => [key(r.metric), r.value]));
        const failed = Object.fromEntries((await promql(server, 'sum by (client, server, connection_type) (traces_service_graph_request_failed_total)')).map((r) => [key(r.metric), r.value]));
        assert.deepEqual(total, Object.fromEntries(x.edges.map((e) => [`${e.client}|${e.server}|${e.type}`, e.count])));
        const wantFailed = Object.fromEntries(x.edges.filter((e) => e.failed).map((e) => [`${e.client}|${e.server}|${e.type}`, e.failed]));
        for (const [k, v] of Object.entries(failed)) if (v === 0) delete failed[k];
        assert.deepEqual(failed, wantFailed);
        // The web-gateway spans of the last traces arrived 2 s after their children: every
        // request must still have paired.
        const gwEdges = x.edges.filter((e) => e.client === 'web-gateway');
        assert.equal(sum(gwEdges, (e) => e.count), REQUESTS, `every request pairs, ${DELAYED_TRACES} of them sent 2 s apart`);

        for (const side of ['server', 'client']) {
            const rows = await promql(server, `histogram_quantile(0.95, sum by (le, client, server) (traces_service_graph_request_${side}_seconds_bucket))`);
            for (const r of rows) {
                const e = x.edges.find((y) => y.client === r.metric.client && y.server === r.metric.server);
                assert.ok(e, `unexpected edge ${JSON.stringify(r.metric)}`);
                const values = side === 'server' ? e.serverS : e.clientS;
                if (!values.length) continue; // a side nobody measured (a root's "user", an uninstrumented server)
                close(r.value, histogramQuantile(0.95, GRAPH_BUCKETS, values), `${side} p95 ${e.client}->${e.server}`);
            }
        }
    });

    test('GenAI in PromQL: tokens, ingest cost, durations, TTFT and TPOT quantiles, errors', async () => {
        const mc = x.modelCalls;
        const tokens = await promql(server, 'sum by (gen_ai_request_model, gen_ai_token_type) (gen_ai_client_tokens_total)');
        const gotTokens = Object.fromEntries(tokens.filter((r) => r.value !== 0).map((r) => [`${r.metric.gen_ai_request_model}|${r.metric.gen_ai_token_type}`, r.value]));
        const wantTokens = {};
        const TYPES = { input: 'uncached', cache_read: 'cacheRead', cache_write: 'cacheWrite', output: 'output', reasoning: 'reasoning' };
        for (const [model, cs] of group(mc.filter((c) => c.hasTokens), (c) => c.model)) {
            for (const [type, field] of Object.entries(TYPES)) {
                const v = sum(cs, (c) => c.tokens[field]);
                if (v) wantTokens[`${model}|${type}`] = v;
            }
        }
        assert.deepEqual(gotTokens, wantTokens);

        const cost = await promql(server, 'sum by (gen_ai_request_model) (gen_ai_client_cost_usd_total)');
        const gotCost = Object.fromEntries(cost.map((r) => [r.metric.gen_ai_request_model, r.value]));
        for (const [model, cs] of group(mc, (c) => c.model)) {
            const want = totalCost(PRICES, cs);
            if (want === 0) assert.ok(!gotCost[model], `${model} is unpriced: no cost, got ${gotCost[model]}`);
            else close(gotCost[model], want, `ingest cost of ${model}`);
        }

        // Durations: every LLM, embedding, tool and agent span, except for the service that
        // measures its own calls.
        const durCalls = w.calls.filter((c) => c.service !== SELF_METERED);
        const dur = await promql(server, 'sum by (service_name, gen_ai_operation_name) (gen_ai_client_operation_duration_seconds_count{service_name!=""})');
        assert.deepEqual(
            Object.fromEntries(dur.map((r) => [`${r.metric.service_name}|${r.metric.gen_ai_operation_name}`, r.value])),
            Object.fromEntries([...group(durCalls, (c) => `${c.service}|${c.op}`)].map(([k, v]) => [k, v.length])),
        );
        const durQ = await promql(server, 'histogram_quantile(0.95, sum by (le, gen_ai_request_model) (gen_ai_client_operation_duration_seconds_bucket{service_name!="", gen_ai_request_model!=""}))');
        for (const r of durQ) {
            const cs = durCalls.filter((c) => c.model === r.metric.gen_ai_request_model);
            close(r.value, histogramQuantile(0.95, GENAI_DURATION_BUCKETS, cs.map((c) => c.durationS)), `duration p95 of ${r.metric.gen_ai_request_model}`);
        }

        for (const [family, field, bounds] of [['gen_ai_server_time_to_first_token_seconds', 'ttftS', TTFT_BUCKETS], ['gen_ai_server_time_per_output_token_seconds', 'tpotS', TPOT_BUCKETS]]) {
            const byModel = group(mc.filter((c) => c[field] !== null), (c) => c.model);
            const counts = await promql(server, `sum by (gen_ai_request_model) (${family}_count)`);
            assert.deepEqual(Object.fromEntries(counts.map((r) => [r.metric.gen_ai_request_model, r.value])), Object.fromEntries([...byModel].map(([k, v]) => [k, v.length])), `${family} counts`);
            for (const q of [0.5, 0.95]) {
                const rows = await promql(server, `histogram_quantile(${q}, sum by (le, gen_ai_request_model) (${family}_bucket))`);
                for (const r of rows) close(r.value, histogramQuantile(q, bounds, byModel.get(r.metric.gen_ai_request_model).map((c) => c[field])), `${family} p${q * 100} ${r.metric.gen_ai_request_model}`);
            }
        }

        const errors = await promql(server, 'sum by (gen_ai_request_model, error_type) (gen_ai_client_errors_total)');
        assert.deepEqual(
            Object.fromEntries(errors.map((r) => [`${r.metric.gen_ai_request_model}|${r.metric.error_type}`, r.value])),
            Object.fromEntries([...group(w.calls.filter((c) => c.error), (c) => `${c.model}|${c.error}`)].map(([k, v]) => [k, v.length])),
        );
    });

    test('a service sending its own GenAI duration metric gets no derived one', async () => {
        const own = await promql(server, `gen_ai_client_operation_duration_seconds_count{job="${jobOf(SELF_METERED)}"}`);
        assert.ok(own.length > 0, 'the app-sent histogram is stored');
        assert.equal(own.reduce((a, r) => a + r.value, 0), w.selfMeteredDurations.length);
        const derived = await promql(server, `gen_ai_client_operation_duration_seconds_count{service_name="${SELF_METERED}"}`);
        assert.deepEqual(derived, [], 'no derived duration series for a service that measures itself');
        const toks = await promql(server, `sum(gen_ai_client_tokens_total{service_name="${SELF_METERED}"})`);
        assert.equal(toks[0]?.value, sum(w.calls.filter((c) => c.service === SELF_METERED), (c) => c.tokens.uncached + c.tokens.output), 'its token counters are still derived');
        const usage = await promql(server, `sum(gen_ai_client_token_usage_count{service_name="${SELF_METERED}"})`);
        assert.equal(usage[0]?.value, 2 * w.selfMeteredDurations.length, 'it did not send token usage: that one is derived (input and output)');
    });

    test('GET /api/v1/overview', async () => {
        const body = await api(server, '/api/v1/overview', range);
        const want = [...x.services].sort(([a], [b]) => (a < b ? -1 : 1));
        assert.deepEqual(body.services.map((s) => s.name).sort(), want.map(([n]) => n));
        for (const s of body.services) {
            const spans = x.services.get(s.name);
            const errs = spans.filter((f) => f.status === 'STATUS_CODE_ERROR').length;
            assert.equal(s.calls, spans.length, `${s.name} calls`);
            assert.equal(s.errors, errs, `${s.name} errors`);
            close(s.rate, spans.length / seconds, `${s.name} rate`);
            close(s.errorRate, errs / spans.length, `${s.name} errorRate`);
            for (const q of [50, 95, 99]) close(s[`p${q}`], histogramQuantile(q / 100, SPAN_BUCKETS, spans.map((f) => f.durationS)), `${s.name} p${q}`);
        }
        const models = group(x.modelCalls, (c) => `${c.provider}|${c.model}`);
        assert.ok(body.models.length <= 10);
        assert.deepEqual(body.models.map((m) => `${m.provider}|${m.model}`).sort(), [...models.keys()].sort());
        for (const m of body.models) {
            const cs = models.get(`${m.provider}|${m.model}`);
            const what = `overview model ${m.model}`;
            assert.equal(m.calls, cs.length, `${what} calls`);
            assert.equal(m.errors, cs.filter((c) => c.error).length, `${what} errors`);
            assert.equal(m.inputTokens, sum(cs, (c) => c.tokens.input), `${what} input tokens (cached included)`);
            assert.equal(m.outputTokens, sum(cs, (c) => c.tokens.output), `${what} output tokens`);
            close(m.cost, totalCost(PRICES, cs), `${what} cost`);
        }
        const order = body.models.map((m) => [m.calls, m.cost]);
        for (let i = 1; i < order.length; i++) assert.ok(order[i - 1][0] > order[i][0] || (order[i - 1][0] === order[i][0] && order[i - 1][1] >= order[i][1]), `models by calls then cost: ${JSON.stringify(order)}`);
    });

    test('GET /api/v1/topology: nodes, edges, virtual nodes, health, hot path', async () => {
        const body = await api(server, '/api/v1/topology', range);
        const services = new Set(x.facts.map((f) => f.service));
        const nodeIds = new Set(x.edges.flatMap((e) => [e.client, e.server]));
        assert.deepEqual(body.nodes.map((n) => n.id).sort(), [...nodeIds].sort());
        for (const n of body.nodes) {
            assert.equal(n.kind, services.has(n.id) ? 'service' : 'virtual', `node ${n.id} kind`);
            for (const h of healthList(n.health)) assert.ok(['ok', 'busy', 'slow', 'failing'].includes(h), `node ${n.id} health ${h}`);
        }
        assert.equal(body.edges.length, x.edges.length);
        for (const e of body.edges) {
            const want = x.edges.find((y) => y.client === e.client && y.server === e.server);
            assert.ok(want, `unexpected edge ${e.client}->${e.server}`);
            const what = `edge ${e.client}->${e.server}`;
            assert.equal(e.connectionType ?? '', want.type, `${what} connection type`);
            close(e.rate, want.count / seconds, `${what} rate`);
            close(e.errorRate, want.failed / want.count, `${what} errorRate`);
            close(e.p95, edgeP95(want), `${what} p95`);
            const h = healthOf({ rate: want.count / seconds, p95: edgeP95(want), errorRate: want.failed / want.count });
            if (h) assert.deepEqual(healthList(e.health), h.sort(), `${what} health`);
        }
        assert.deepEqual(body.hotPath, hotPath(x.edges, seconds));
        assert.deepEqual(body.hotPath.slice(0, 3), ['user', 'web-gateway', 'chat-service']);
    });

    test('GET /api/v1/llm/models by model, provider and service', async () => {
        const keyOf = { model: (c) => c.model, provider: (c) => c.provider, service: (c) => c.service };
        for (const groupBy of ['model', 'provider', 'service']) {
            const rows = rowsOf(await api(server, '/api/v1/llm/models', { ...range, groupBy }));
            const want = group(x.modelCalls, keyOf[groupBy]);
            assert.deepEqual(rows.map((r) => r.key).sort(), [...want.keys()].sort(), `groupBy=${groupBy} keys`);
            for (const r of rows) {
                const cs = want.get(r.key);
                const what = `groupBy=${groupBy} ${r.key}`;
                // The self-metered service's calls and latencies come from its own histogram.
                assert.equal(r.calls, cs.length, `${what} calls`);
                assert.equal(r.errors, cs.filter((c) => c.error).length, `${what} errors`);
                assert.equal(r.inputTokens, sum(cs, (c) => c.tokens.input), `${what} inputTokens`);
                assert.equal(r.outputTokens, sum(cs, (c) => c.tokens.output), `${what} outputTokens`);
                assert.equal(r.cacheReadTokens, sum(cs, (c) => c.tokens.cacheRead), `${what} cacheReadTokens`);
                assert.equal(r.cacheWriteTokens, sum(cs, (c) => c.tokens.cacheWrite), `${what} cacheWriteTokens`);
                close(r.cost, totalCost(PRICES, cs), `${what} cost`);
                for (const q of [50, 95]) {
                    close(r[`latencyP${q}`], histogramQuantile(q / 100, GENAI_DURATION_BUCKETS, cs.map((c) => c.durationS)), `${what} latencyP${q}`);
                    close(r[`ttftP${q}`], histogramQuantile(q / 100, TTFT_BUCKETS, cs.filter((c) => c.ttftS !== null).map((c) => c.ttftS)), `${what} ttftP${q}`);
                    close(r[`tpotP${q}`], histogramQuantile(q / 100, TPOT_BUCKETS, cs.filter((c) => c.tpotS !== null).map((c) => c.tpotS)), `${what} tpotP${q}`);
                }
                close(r.streamingShare, cs.filter((c) => c.ttftS !== null).length / cs.length, `${what} streamingShare`);
            }
        }
        const user = await request(`${server.apiUrl}/api/v1/llm/models?${new URLSearchParams({ ...range, groupBy: 'user' })}`);
        assert.equal(user.status, 200); // per-user figures: tests/e2e/sessions.test.mjs
        assert.ok(Array.isArray(user.json().models));
        const bad = await request(`${server.apiUrl}/api/v1/llm/models?${new URLSearchParams({ ...range, groupBy: 'colour' })}`);
        assert.equal(bad.status, 400);
        assert.match(bad.text(), /groupBy/);
    });

    test('GET /api/v1/llm/timeseries adds up to the totals', async () => {
        const step = 10;
        const byModel = group(x.modelCalls, (c) => c.model);
        for (const metric of ['calls', 'errors', 'tokens', 'cost']) {
            const body = await api(server, '/api/v1/llm/timeseries', { ...range, step: `${step}s`, metric, groupBy: 'model' });
            assert.equal(Number(body.step), step, `${metric}: step`);
            for (const s of body.series) {
                assert.equal(s.points.length, seconds / step, `${metric} ${s.key}: one point per step`);
                s.points.forEach(([t, ], k) => assert.equal(Number(t), range.start + (k + 1) * step, `${metric} ${s.key}: point ${k} at its step's end`));
            }
            const totals = Object.fromEntries(body.series.map((s) => [s.key, sum(s.points, ([, v]) => Number(v) || 0)]));
            for (const [model, cs] of byModel) {
                const want = metric === 'calls' ? cs.length
                    : metric === 'errors' ? cs.filter((c) => c.error).length
                    : metric === 'tokens' ? sum(cs, (c) => c.tokens.input + c.tokens.output)
                    : totalCost(PRICES, cs);
                if (want === 0) assert.ok(!totals[model], `${metric} ${model}: want 0, got ${totals[model]}`);
                else close(totals[model], want, `${metric} ${model}: sum of the points`);
            }
        }
        const p95 = await api(server, '/api/v1/llm/timeseries', { ...range, step: `${step}s`, metric: 'latency_p95', groupBy: 'provider' });
        assert.ok(p95.series.some((s) => s.points.some(([, v]) => typeof v === 'number' && v > 0)), 'some provider has a latency p95');
        for (const params of [{ ...range, step: '10s', metric: 'colour' }, { ...range, step: '-1s', metric: 'calls' }, { ...range, step: '10s', metric: 'calls', groupBy: 'colour' }]) {
            const r = await request(`${server.apiUrl}/api/v1/llm/timeseries?${new URLSearchParams(params)}`);
            assert.equal(r.status, 400, JSON.stringify(params));
        }
    });

    test('GET /api/v1/llm/diagnose: one trace per convention', async () => {
        for (const [conv, d] of Object.entries(w.diagnose)) {
            const body = await api(server, '/api/v1/llm/diagnose', { traceId: d.traceId });
            assert.equal(typeof body.mappingVersion, 'string');
            const spans = body.spans;
            assert.ok(Array.isArray(spans) && spans.length > 0, `${conv}: spans`);
            const s = spans.find((y) => y.spanId === d.spanId);
            assert.ok(s, `${conv}: span ${d.spanId} among ${spans.map((y) => y.spanId)}`);
            assert.equal(s.type, 'llm', `${conv}: type`);
            for (const c of d.conventions) assert.ok(s.conventions.includes(c), `${conv}: conventions ${s.conventions} include ${c}`);
            for (const [field, want] of Object.entries(d.fields)) {
                const got = s.fields[field];
                assert.ok(got, `${conv}: field ${field} in ${Object.keys(s.fields)}`);
                const what = `${conv} ${field}: ${JSON.stringify(got)}`;
                if (field === 'type') assert.ok(['filled', 'derived'].includes(got.status), what);
                else assert.equal(got.status, want.status, what);
                if (want.attribute instanceof RegExp) assert.match(got.attribute, want.attribute, what);
                else if (want.attribute) assert.equal(got.attribute, want.attribute, what);
                if (want.convention) assert.equal(got.convention, want.convention, what);
                if (want.value !== undefined) assert.equal(typeof want.value === 'number' ? Number(got.value) : got.value, want.value, what);
            }
        }
        // Only AI spans are listed: the web-gateway's HTTP spans of a traced request are not.
        const t = await api(server, '/api/v1/llm/diagnose', { traceId: w.diagnose.openinference.traceId });
        assert.ok(t.spans.every((s) => s.type !== 'none'));
        assert.deepEqual(t.spans.map((s) => s.type).sort(), ['agent', 'llm', 'llm', 'tool', 'tool']);
        await api(server, '/api/v1/llm/diagnose', { traceId: '0123456789abcdef0123456789abcdef' }, 404);
        await api(server, '/api/v1/llm/diagnose', { traceId: 'xyz' }, 400);
    });

    test('a price change reprices old data in the APIs, not the cost counter priced at ingest', async () => {
        const cs = x.modelCalls.filter((c) => c.model === CHANGED_MODEL);
        const before = await promql(server, `sum(gen_ai_client_cost_usd_total{gen_ai_request_model="${CHANGED_MODEL}"})`);
        close(before[0].value, totalCost(PRICES, cs), 'ingest cost before');
        fs.writeFileSync(pricesFile, pricesYaml(PRICES_CHANGED));
        await sleep(1500); // the table is re-read at most once a second
        const wantNew = totalCost(PRICES_CHANGED, cs);
        assert.ok(Math.abs(wantNew - totalCost(PRICES, cs)) > 1e-6, 'the change moves the cost');
        const row = await until('repriced models API', async () => {
            const r = rowsOf(await api(server, '/api/v1/llm/models', { ...range, groupBy: 'model' })).find((y) => y.key === CHANGED_MODEL);
            return { ok: isClose(r?.cost, wantNew), got: r?.cost, want: wantNew };
        }, 5000 * SLOW);
        close(row.got, wantNew, 'API cost after');
        const ov = await api(server, '/api/v1/overview', range);
        close(ov.models.find((m) => m.model === CHANGED_MODEL).cost, wantNew, 'overview cost after');
        const after = await promql(server, `sum(gen_ai_client_cost_usd_total{gen_ai_request_model="${CHANGED_MODEL}"})`);
        close(after[0].value, before[0].value, 'the ingest-time counter keeps the old price');
    });

    test('bad parameters answer 400 naming the parameter', async () => {
        for (const [p, params, name] of [
            ['/api/v1/overview', { start: 'yesterday', end: range.end }, 'start'],
            ['/api/v1/topology', { start: range.end, end: range.start }, 'start|end'],
            ['/api/v1/llm/models', { ...range, groupBy: 'nope' }, 'groupBy'],
        ]) {
            const r = await request(`${server.apiUrl}${p}?${new URLSearchParams(params)}`);
            assert.equal(r.status, 400, `${p} ${JSON.stringify(params)}`);
            assert.match(r.text(), new RegExp(name), `${p}: the error names ${name}`);
        }
    });
});
