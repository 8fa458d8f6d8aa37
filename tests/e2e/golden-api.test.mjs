// The golden-signal APIs over HTTP: hand-made cumulative series written by remote write
// under the derived metric names (src/analytics/derived.h), then every API's JSON checked
// against values worked out here from the samples sent (exact increases, Prometheus's
// histogram_quantile, prices from a file this test writes), their 400s and 404s, and
// per-user grouping (from the session index: empty here); and the diagnostic of a trace sent over OTLP/HTTP JSON.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { getJson, request } from './lib/http.mjs';
import { sortedLabels, writeOrThrow } from './lib/remote_write.mjs';
import { cleanExit, SLOW, startServer, tempDir } from './lib/server.mjs';

const T0 = Math.floor(Date.now() / 60000) * 60000 - 600000; // a whole minute, ten minutes ago
const START = T0 / 1000;
const END = START + 60;
const RANGE = `start=${START}&end=${END}`;

const PRICES = 'prices:\n  - model: m1\n    provider: acme\n    input: 3\n    output: 15\n';

const series = (labels, samples) => ({ labels: sortedLabels(labels), samples });
/** A classic histogram's bucket series: counts[le] = [[t, cumulative count], ...]. */
const buckets = (name, labels, counts) =>
    Object.entries(counts).map(([le, samples]) => series({ __name__: `${name}_bucket`, ...labels, le }, samples));

const CALLS = 'traces_span_metrics_calls_total';
const API = { service_name: 'api', span_name: 'GET /', span_kind: 'SPAN_KIND_SERVER' };
const M1 = { service_name: 'api', gen_ai_operation_name: 'chat', gen_ai_provider_name: 'acme', gen_ai_request_model: 'm1' };
const before0 = T0 - 15000;
const at60 = T0 + 60000;

const SERIES = [
    // api: 60 ok calls (baseline 100 before the window), 6 errors born inside it
    series({ __name__: CALLS, ...API, status_code: 'STATUS_CODE_UNSET' }, [[before0, 100], [T0 + 30000, 130], [at60, 160]]),
    series({ __name__: CALLS, ...API, status_code: 'STATUS_CODE_ERROR' }, [[T0 + 30000, 6]]),
    // its durations: 33 in (0, 0.1], 33 in (0.1, 0.5]
    ...buckets('traces_span_metrics_duration_seconds', { ...API, status_code: 'STATUS_CODE_UNSET' }, {
        '0.1': [[before0, 0], [at60, 33]],
        '0.5': [[before0, 0], [at60, 66]],
        '+Inf': [[before0, 0], [at60, 66]],
    }),
    // the graph: user -> api (60, 6 failed, all in (0.4, 0.8] server side), api -> openai (30,
    // client side only, all in (0, 0.4])
    series({ __name__: 'traces_service_graph_request_total', client: 'user', server: 'api' }, [[before0, 0], [at60, 60]]),
    series({ __name__: 'traces_service_graph_request_failed_total', client: 'user', server: 'api' }, [[before0, 0], [at60, 6]]),
    ...buckets('traces_service_graph_request_server_seconds', { client: 'user', server: 'api' }, {
        '0.4': [[before0, 0], [at60, 0]],
        '0.8': [[before0, 0], [at60, 60]],
        '+Inf': [[before0, 0], [at60, 60]],
    }),
    series({ __name__: 'traces_service_graph_request_total', client: 'api', server: 'openai', connection_type: 'virtual_node' }, [[before0, 0], [at60, 30]]),
    ...buckets('traces_service_graph_request_client_seconds', { client: 'api', server: 'openai', connection_type: 'virtual_node' }, {
        '0.4': [[before0, 0], [at60, 30]],
        '+Inf': [[before0, 0], [at60, 30]],
    }),
    // model m1: 12 calls (2 failed, all under 1 s), 1M input and 1000 output tokens
    ...buckets('gen_ai_client_operation_duration_seconds', M1, { '1': [[before0, 0], [at60, 10]], '+Inf': [[before0, 0], [at60, 10]] }),
    ...buckets('gen_ai_client_operation_duration_seconds', { ...M1, error_type: 'timeout' }, {
        '1': [[before0, 0], [at60, 2]],
        '+Inf': [[before0, 0], [at60, 2]],
    }),
    series({ __name__: 'gen_ai_client_tokens_total', ...M1, gen_ai_token_type: 'input' }, [[before0, 0], [at60, 1e6]]),
    series({ __name__: 'gen_ai_client_tokens_total', ...M1, gen_ai_token_type: 'output' }, [[before0, 0], [at60, 1000]]),
];

const near = (got, want, what) => assert.ok(Math.abs(got - want) < 1e-9, `${what}: got ${got}, want ${want}`);

describe('golden-signal APIs', { timeout: 90000 * SLOW }, () => {
    let server;
    const get = (p, status = 200) => getJson(`${server.apiUrl}/api/v1/${p}`, status);

    before(async () => {
        const dir = tempDir('osprey-golden-');
        fs.writeFileSync(path.join(dir, 'prices.yaml'), PRICES);
        server = await startServer({
            name: 'golden-api',
            args: ['--prices', path.join(dir, 'prices.yaml'), '--topology-busy-rps', '0.8', '--topology-slow-p95', '500ms'],
        });
        await writeOrThrow(`${server.apiUrl}/api/v1/write`, { series: SERIES });
    });

    after(async () => {
        const stopped = await server?.stop();
        if (stopped) assert.ok(cleanExit(stopped), server.describeExit(stopped));
    });

    test('overview: RED of the entry spans, models with cost', async () => {
        const o = await get(`overview?${RANGE}`);
        assert.equal(o.services.length, 1);
        const s = o.services[0];
        assert.equal(s.name, 'api');
        near(s.calls, 66, 'calls');
        near(s.errors, 6, 'errors');
        near(s.rate, 66 / 60, 'rate');
        near(s.errorRate, 6 / 66, 'errorRate');
        near(s.p50, 0.1, 'p50'); // rank 33 reaches the first bucket's count
        near(s.p95, 0.1 + (0.4 * (62.7 - 33)) / 33, 'p95');
        near(s.p99, 0.1 + (0.4 * (65.34 - 33)) / 33, 'p99');
        assert.equal(o.models.length, 1);
        const m = o.models[0];
        assert.deepEqual([m.provider, m.model, m.calls, m.errors, m.inputTokens, m.outputTokens], ['acme', 'm1', 12, 2, 1e6, 1000]);
        near(m.cost, 3 + 1000 * 15e-6, 'cost');
    });

    test('topology: nodes, edges, health and the hot path', async () => {
        const t = await get(`topology?${RANGE}`);
        assert.deepEqual(t.nodes.map((n) => [n.id, n.kind]), [['api', 'service'], ['openai', 'virtual'], ['user', 'virtual']]);
        const edge = (c, s) => t.edges.find((e) => e.client === c && e.server === s);
        const served = edge('user', 'api');
        near(served.rate, 1, 'rate');
        near(served.errorRate, 0.1, 'errorRate');
        near(served.p95, 0.78, 'p95');
        assert.equal(served.connectionType, '');
        assert.deepEqual(served.health, ['busy', 'slow', 'failing']);
        const llm = edge('api', 'openai');
        assert.equal(llm.connectionType, 'virtual_node');
        near(llm.p95, 0.38, 'client-side p95');
        assert.deepEqual(llm.health, ['ok']);
        assert.deepEqual(t.nodes[0].health, ['busy', 'slow', 'failing']);
        assert.deepEqual(t.hotPath, ['user', 'api', 'openai']);
    });

    test('llm/models by model, provider and service', async () => {
        const byModel = await get(`llm/models?${RANGE}&groupBy=model`);
        assert.equal(byModel.models.length, 1);
        const r = byModel.models[0];
        assert.equal(r.key, 'm1');
        assert.deepEqual([r.calls, r.errors, r.inputTokens, r.outputTokens, r.cacheReadTokens, r.cacheWriteTokens], [12, 2, 1e6, 1000, 0, 0]);
        near(r.cost, 3.015, 'cost');
        near(r.latencyP50, 0.5, 'latencyP50'); // rank 6 of 12, all in (0, 1]
        assert.equal(r.ttftP95, null);
        assert.equal(r.streamingShare, 0);
        assert.equal((await get(`llm/models?${RANGE}&groupBy=provider`)).models[0].key, 'acme');
        assert.equal((await get(`llm/models?${RANGE}&groupBy=service`)).models[0].key, 'api');
    });

    test('llm/timeseries: one point per step', async () => {
        const ts = await get(`llm/timeseries?${RANGE}&step=30s&metric=calls`);
        assert.equal(ts.step, 30);
        assert.deepEqual(ts.series, [{ key: 'm1', points: [[START + 30, 0], [END, 12]] }]);
        const cost = await get(`llm/timeseries?${RANGE}&step=60&metric=cost&groupBy=provider`);
        assert.equal(cost.series[0].key, 'acme');
        near(cost.series[0].points[0][1], 3.015, 'cost');
    });

    test('bad parameters answer 400 naming them; per-user grouping without AI calls is empty', async () => {
        const cases = [
            ['overview?start=yesterday', 'start'],
            [`overview?start=${END}&end=${START}`, 'end'],
            [`llm/models?${RANGE}&groupBy=team`, 'groupBy'],
            [`llm/timeseries?${RANGE}&metric=joy`, 'metric'],
            [`llm/timeseries?${RANGE}&step=0`, 'step'],
            [`llm/timeseries?${RANGE}&step=2m`, 'step'],
            ['llm/diagnose?traceId=xyz', 'traceId'],
            ['llm/diagnose', 'traceId'],
        ];
        for (const [p, name] of cases) {
            const body = await get(p, 400);
            assert.match(body.error, new RegExp(name), `${p}: ${body.error}`);
        }
        assert.deepEqual(await get(`llm/models?${RANGE}&groupBy=user`), { models: [] });
    });

    test('llm/diagnose: GenAI fields with the session inherited; 404 for an unknown trace', async () => {
        const traceId = '5b8efff798038103d269b633813fc60c';
        const now = BigInt(Date.now()) * 1000000n;
        const str = (key, v) => ({ key, value: { stringValue: v } });
        const span = (spanId, parentSpanId, name, attributes) => ({
            traceId, spanId, parentSpanId, name, kind: 3, attributes,
            startTimeUnixNano: String(now), endTimeUnixNano: String(now + 1000000000n),
        });
        const doc = {
            resourceSpans: [{
                resource: { attributes: [str('service.name', 'chat')] },
                scopeSpans: [{
                    spans: [
                        span('a1a1a1a1a1a1a1a1', '', 'POST /chat', [str('session.id', 'sess-1')]),
                        span('a2a2a2a2a2a2a2a2', 'a1a1a1a1a1a1a1a1', 'chat m1', [
                            str('gen_ai.operation.name', 'chat'),
                            str('gen_ai.provider.name', 'acme'),
                            str('gen_ai.request.model', 'm1'),
                        ]),
                    ],
                }],
            }],
        };
        const w = await request(`${server.otlpHttpUrl}/v1/traces`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc),
        });
        assert.equal(w.status, 200);
        const d = await get(`llm/diagnose?traceId=${traceId}`);
        assert.equal(d.traceId, traceId);
        assert.equal(typeof d.mappingVersion, 'string');
        const llm = d.spans.find((s) => s.spanId === 'a2a2a2a2a2a2a2a2');
        assert.ok(llm, JSON.stringify(d));
        assert.equal(llm.type, 'llm');
        assert.ok(llm.conventions.includes('otel'));
        assert.deepEqual(llm.fields.request_model, { status: 'filled', value: 'm1', attribute: 'gen_ai.request.model', convention: 'otel' });
        assert.equal(llm.fields.session_id.status, 'inherited');
        assert.equal(llm.fields.session_id.value, 'sess-1');
        assert.ok(d.spans.every((s) => s.type !== 'none'));
        const missing = await get('llm/diagnose?traceId=0123456789abcdef0123456789abcdef', 404);
        assert.match(missing.error, /not found/);
    });
});
