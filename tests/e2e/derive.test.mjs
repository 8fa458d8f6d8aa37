// Derived series smoke test: the server runs with --derive-interval 1s; two services
// instrumented with the OpenTelemetry JS SDK send a trace (shop's root server span calls
// payments), and the RED and service-graph series derived from it answer PromQL queries,
// with the trace's id as an exemplar. A server span sent after its client's pairing window
// still pairs. With --no-derive nothing is derived.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

import { getJson } from './lib/http.mjs';
import { cleanExit, SLOW, sleep, startServer } from './lib/server.mjs';

/**
 * Sends one trace: shop GET /checkout -> POST /pay (client) -> payments POST /pay (error);
 * payments' span waitMs after shop's.
 */
async function sendTrace(server, waitMs = 0) {
    const provider = (service) => new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': service }),
        spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${server.otlpHttpUrl}/v1/traces` }) })],
    });
    const shop = provider('shop');
    const payments = provider('payments');
    const root = shop.getTracer('e2e').startSpan('GET /checkout', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
    const call = shop.getTracer('e2e').startSpan('POST /pay', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, root));
    const serve = payments.getTracer('e2e').startSpan('POST /pay', { kind: SpanKind.SERVER }, trace.setSpan(ROOT_CONTEXT, call));
    serve.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
    call.end();
    root.end();
    await shop.forceFlush();
    await sleep(waitMs);
    serve.end();
    await payments.forceFlush();
    await Promise.all([shop.shutdown(), payments.shutdown()]);
    return root.spanContext().traceId;
}

/** The instant-query result of q. */
async function query(server, q) {
    const body = await getJson(`${server.apiUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    assert.equal(body.status, 'success', JSON.stringify(body));
    return body.data.result;
}

/** The one value of a scalar-valued vector query, polled until it has one. */
async function valueOf(server, q, timeoutMs = 10000 * SLOW) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const r = await query(server, q);
        if (r.length === 1) return Number(r[0].value[1]);
        if (Date.now() > deadline) throw new Error(`no result for ${q}: ${JSON.stringify(r)}`);
        await sleep(200);
    }
}

describe('derived series', () => {
    const servers = [];
    after(async () => {
        for (const s of servers) await s.stop();
    });

    test('RED and service-graph series from SDK spans, queryable in PromQL', async () => {
        const server = await startServer({ name: 'derive', args: ['--derive-interval', '1s'] });
        servers.push(server);
        const traceId = await sendTrace(server);

        assert.equal(await valueOf(server, 'sum(traces_span_metrics_calls_total)'), 3);
        assert.equal(await valueOf(server, 'traces_span_metrics_calls_total{service_name="payments",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_ERROR"}'), 1);
        assert.equal(await valueOf(server, 'traces_span_metrics_duration_seconds_count{service_name="shop",span_name="GET /checkout"}'), 1);
        assert.equal(await valueOf(server, 'traces_span_metrics_duration_seconds_bucket{service_name="shop",span_name="GET /checkout",le="+Inf"}'), 1);
        assert.equal(await valueOf(server, 'traces_service_graph_request_total{client="shop",server="payments"}'), 1);
        assert.equal(await valueOf(server, 'traces_service_graph_request_failed_total{client="shop",server="payments"}'), 1);
        assert.equal(await valueOf(server, 'traces_service_graph_request_total{client="user",server="shop"}'), 1);
        assert.equal(await valueOf(server, 'traces_service_graph_request_server_seconds_count{client="shop",server="payments"}'), 1);

        const now = Date.now() / 1000;
        const ex = await getJson(`${server.apiUrl}/api/v1/query_exemplars?query=traces_span_metrics_calls_total&start=${now - 600}&end=${now + 600}`);
        const ids = ex.data.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id));
        assert.ok(ids.includes(traceId), `exemplars ${JSON.stringify(ex.data)} lack ${traceId}`);

        const r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
    });

    test('a server span arriving after the pairing window still pairs with its client', async () => {
        const server = await startServer({ name: 'derive-late', args: ['--derive-interval', '1s'] });
        servers.push(server);
        await sendTrace(server, 11000); /* the window is 10 s of arrival time */
        assert.equal(await valueOf(server, 'traces_service_graph_request_total{client="shop",server="payments"}'), 1);
        assert.equal(await valueOf(server, 'traces_service_graph_request_failed_total{client="shop",server="payments"}'), 1);
        const self = await (await fetch(`${server.apiUrl}/metrics`)).text();
        assert.match(self, /^osprey_servicegraph_late_pairs_total 1$/m);
        const r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
    });

    test('--no-derive derives nothing', async () => {
        const server = await startServer({ name: 'no-derive', args: ['--no-derive', '--derive-interval', '1s'] });
        servers.push(server);
        await sendTrace(server);
        await sleep(2500 * SLOW);
        assert.deepEqual(await query(server, 'traces_span_metrics_calls_total'), []);
        const r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
    });
});
