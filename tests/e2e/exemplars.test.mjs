// Exemplars: a real Prometheus 2.42 with exemplar storage and Osprey receive the same
// remote-write requests with exemplars (in order, a duplicate, out-of-order ones, labels
// too long); /api/v1/query_exemplars must answer byte-for-byte the same JSON for a set of
// queries, and Osprey's answers survive a restart. Then OTLP: a hand-built OTLP/JSON
// request with exemplars on a sum and a histogram must come back with trace_id/span_id
// labels on the _total series and on the right _bucket series.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { request } from './lib/http.mjs';
import { havePrometheus, promApi, startPrometheus } from './lib/prometheus.mjs';
import { postWrite, sortedLabels } from './lib/remote_write.mjs';
import { cleanExit, SLOW, startServer } from './lib/server.mjs';

const skip = !havePrometheus() && 'prometheus is not installed';

const T0 = Math.floor(Date.now() / 60000) * 60000 - 600000; // a whole minute, ten minutes ago
const sec = (ms) => ms / 1000;

const series = (labels, samples, exemplars) => ({ labels: sortedLabels(labels), samples, exemplars });
const ex = (labels, value, timestamp) => ({ labels: sortedLabels(labels), value, timestamp });

/** The requests both receive, in order. */
const REQUESTS = [
    [
        series({ __name__: 'http_requests_total', job: 'api', instance: 'a' }, [[T0, 1], [T0 + 15000, 3]], [
            ex({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' }, 1, T0 + 123),
            ex({ trace_id: 'a3ce929d0e0e47364bf92f3577b34da6' }, 2, T0 + 15007),
        ]),
        series({ __name__: 'http_requests_total', job: 'api', instance: 'b' }, [[T0, 7]], [ex({}, 0.25, T0 + 1)]),
        series({ __name__: 'latency_seconds_bucket', job: 'api', le: '0.5' }, [[T0, 4]], [ex({ trace_id: 'ab' }, 0.3, T0 + 2)]),
        series({ __name__: 'latency_seconds_bucket', job: 'api', le: '+Inf' }, [[T0, 5]], [ex({ trace_id: 'cd', zone: 'z1' }, 12.5, T0 + 3)]),
    ],
    [
        // a duplicate (ignored), an out-of-order one, a new one, one with labels too long
        series({ __name__: 'http_requests_total', job: 'api', instance: 'a' }, [[T0 + 30000, 4]], [
            ex({ trace_id: 'a3ce929d0e0e47364bf92f3577b34da6' }, 2, T0 + 15007),
            ex({ trace_id: 'old' }, 9, T0 + 5),
            ex({ trace_id: 'new' }, 1e-7, T0 + 30000),
        ]),
        series({ __name__: 'http_requests_total', job: 'api', instance: 'b' }, [[T0 + 30000, 8]], [ex({ trace_id: 'x'.repeat(121) }, 1, T0 + 30001)]),
        series({ __name__: 'http_requests_total', job: 'api', instance: 'b' }, [], [ex({ trace_id: 'y'.repeat(120) }, -3, T0 + 30002)]),
    ],
];

/** query_exemplars calls compared between the two, as [params, method]. */
const QUERIES = [
    [{ query: 'http_requests_total', start: sec(T0 - 60000), end: sec(T0 + 60000) }],
    [{ query: 'http_requests_total{instance="a"}', start: sec(T0 + 10000), end: sec(T0 + 20000) }],
    [{ query: 'rate(http_requests_total{instance=~"a|b"}[5m])', start: sec(T0), end: sec(T0 + 15007) }],
    [{ query: 'sum by (le) (rate(latency_seconds_bucket[1m])) / on() group_left count(http_requests_total)', start: sec(T0 - 1000), end: sec(T0 + 60000) }],
    [{ query: 'histogram_quantile(0.9, latency_seconds_bucket) or http_requests_total{instance="b"}', start: sec(T0), end: sec(T0 + 60000) }, 'POST'],
    [{ query: 'http_requests_total', start: sec(T0 + 123), end: sec(T0 + 123) }],
    [{ query: 'nothing_here', start: sec(T0), end: sec(T0 + 60000) }],
    [{ query: '1 + 2', start: sec(T0), end: sec(T0 + 60000) }],
    [{ query: 'http_requests_total', start: sec(T0 + 60000), end: sec(T0) }],
    [{ query: 'http_requests_total{', start: sec(T0), end: sec(T0 + 60000) }],
];

async function exemplarsOf(base, params, method = 'GET') {
    const r = await promApi(base, '/api/v1/query_exemplars', params, method);
    return { status: r.status, body: r.text };
}

describe('query_exemplars matches Prometheus', { skip }, () => {
    let osprey;
    let prom;
    before(async () => {
        osprey = await startServer({ name: 'exemplars-osprey' });
        prom = await startPrometheus({ name: 'exemplars-prometheus', args: ['--enable-feature=exemplar-storage'] });
        for (const req of REQUESTS) {
            const p = await postWrite(`${prom.url}/api/v1/write`, { series: req });
            assert.equal(p.status, 204, `Prometheus: ${p.text}`);
            await postWrite(`${osprey.apiUrl}/api/v1/write`, { series: req });
        }
    });
    after(async () => {
        await prom?.stop();
        await osprey?.kill();
    });

    test('Osprey answers remote write as documented', async () => {
        const last = series({ __name__: 'http_requests_total', job: 'api', instance: 'a' }, [[T0 + 30000, 4]], [ex({ trace_id: 'new' }, 1e-7, T0 + 30000)]);
        const again = await postWrite(`${osprey.apiUrl}/api/v1/write`, { series: [last] });
        assert.equal(again.status, 204, `duplicates are no-ops: ${again.text}`);
        const bad = await postWrite(`${osprey.apiUrl}/api/v1/write`, { series: [REQUESTS[1][0]] });
        assert.equal(bad.status, 400);
        assert.match(bad.text, /out of order exemplar for series http_requests_total\{instance="a",job="api"\}/);
    });

    test('the same answers for every query', async () => {
        for (const [params, method] of QUERIES) {
            const want = await exemplarsOf(prom.url, params, method);
            const got = await exemplarsOf(osprey.apiUrl, params, method);
            const what = `${method ?? 'GET'} ${JSON.stringify(params)}`;
            assert.equal(got.status, want.status, `${what}: status; Prometheus ${want.body}, Osprey ${got.body}`);
            if (want.status < 300) assert.equal(got.body, want.body, what);
            else assert.equal(JSON.parse(got.body).errorType, JSON.parse(want.body).errorType, what);
        }
    });

    test('the exemplars survive a restart', { timeout: 60000 * SLOW }, async () => {
        const before = await exemplarsOf(osprey.apiUrl, QUERIES[0][0]);
        const stopped = await osprey.stop();
        assert.ok(cleanExit(stopped), osprey.describeExit(stopped));
        osprey = await startServer({ name: 'exemplars-osprey-restart', dataDir: osprey.dataDir });
        const after = await exemplarsOf(osprey.apiUrl, QUERIES[0][0]);
        assert.equal(after.body, before.body);
        assert.equal(JSON.parse(after.body).data.length, 2);
    });
});

// ---------------------------------------------------------------- OTLP

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';
const nanos = (ms) => `${BigInt(ms) * 1000000n}`;

function otlpDoc() {
    const exemplar = (value, ms, attrs = []) => ({ timeUnixNano: nanos(ms), asDouble: value, traceId: TRACE, spanId: SPAN, filteredAttributes: attrs });
    return {
        resourceMetrics: [{
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
            scopeMetrics: [{
                scope: { name: 'shop-meter' },
                metrics: [
                    {
                        name: 'orders',
                        sum: {
                            aggregationTemporality: 2,
                            isMonotonic: true,
                            dataPoints: [{ timeUnixNano: nanos(T0 + 1000), asInt: '5', exemplars: [exemplar(2, T0 + 900, [{ key: 'order.kind', value: { stringValue: 'web' } }])] }],
                        },
                    },
                    {
                        name: 'checkout.duration',
                        unit: 's',
                        histogram: {
                            aggregationTemporality: 2,
                            dataPoints: [{
                                timeUnixNano: nanos(T0 + 1000),
                                count: '3',
                                sum: 2.2,
                                bucketCounts: ['1', '1', '1'],
                                explicitBounds: [0.1, 1],
                                exemplars: [exemplar(0.05, T0 + 500), exemplar(0.6, T0 + 600), exemplar(1.5, T0 + 700)],
                            }],
                        },
                    },
                ],
            }],
        }],
    };
}

describe('OTLP exemplars', () => {
    let osprey;
    before(async () => {
        osprey = await startServer({ name: 'exemplars-otlp' });
    });
    after(async () => {
        const stopped = await osprey?.stop();
        assert.ok(cleanExit(stopped), osprey.describeExit(stopped));
    });

    test('sum and histogram exemplars come back on their series', async () => {
        const r = await request(`${osprey.otlpHttpUrl}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(otlpDoc()) });
        assert.equal(r.status, 200, r.text());
        const q = await promApi(osprey.apiUrl, '/api/v1/query_exemplars', { query: 'orders_total or checkout_duration_seconds_bucket', start: sec(T0), end: sec(T0 + 2000) });
        assert.equal(q.status, 200, q.text);
        const base = { job: 'shop', otel_scope_name: 'shop-meter' };
        const got = q.json.data.map((s) => ({ name: s.seriesLabels.__name__, le: s.seriesLabels.le, job: s.seriesLabels.job, scope: s.seriesLabels.otel_scope_name, exemplars: s.exemplars }));
        const ids = { trace_id: TRACE, span_id: SPAN };
        assert.deepEqual(got, [
            { name: 'checkout_duration_seconds_bucket', le: '+Inf', job: base.job, scope: base.otel_scope_name, exemplars: [{ labels: ids, value: '1.5', timestamp: sec(T0 + 700) }] },
            { name: 'checkout_duration_seconds_bucket', le: '0.1', job: base.job, scope: base.otel_scope_name, exemplars: [{ labels: ids, value: '0.05', timestamp: sec(T0 + 500) }] },
            { name: 'checkout_duration_seconds_bucket', le: '1', job: base.job, scope: base.otel_scope_name, exemplars: [{ labels: ids, value: '0.6', timestamp: sec(T0 + 600) }] },
            { name: 'orders_total', le: undefined, job: base.job, scope: base.otel_scope_name, exemplars: [{ labels: { order_kind: 'web', span_id: SPAN, trace_id: TRACE }, value: '2', timestamp: sec(T0 + 900) }] },
        ]);
    });
});
