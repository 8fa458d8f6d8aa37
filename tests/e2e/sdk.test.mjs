// libosprey conformance: a C program built against the installed-layout library (its
// pkg-config file and shared library) records a trace, a log record and every metric kind,
// and exports them over OTLP/HTTP. What it sends is decoded by the OpenTelemetry JS
// project's generated protobuf decoders and by Osprey's own receiver, and every field must
// match what the program recorded.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

import { getJson } from './lib/http.mjs';
import { BIN, REPO, SLOW, sleep, startServer, tempDir } from './lib/server.mjs';

const require = createRequire(import.meta.url);
const { opentelemetry: otel } = require('otlp-protos/build/src/generated/root.js');
const pb = otel.proto.collector;

// The library next to the binary under test: bin/osprey is the release build.
const SDK_DIR = process.env.OSPREY_SDK_DIR ??
    (BIN === path.join(REPO, 'bin/osprey') ? path.join(REPO, 'build/release/sdk') : path.join(path.dirname(BIN), 'sdk'));
const SANITIZED = /(^|\/)asan(\/|$)/.test(BIN);

const T0 = 1700000000000000000n;
const MS = 1000000n;

/** Compiles the fixture with the library's pkg-config file; returns the program path. */
function buildFixture() {
    const out = path.join(tempDir('osprey-sdk-'), 'conformance');
    const env = { ...process.env, PKG_CONFIG_PATH: SDK_DIR };
    const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'osprey'], { env, encoding: 'utf8' }).trim().split(/\s+/);
    const san = SANITIZED ? ['-fsanitize=address,undefined'] : [];
    execFileSync('cc', ['-std=gnu17', '-Wall', '-Werror', ...san, '-o', out, path.join(REPO, 'tests/e2e/fixtures/sdk_conformance.c'), ...flags, `-Wl,-rpath,${SDK_DIR}`]);
    return out;
}

/** Runs the fixture against endpoint (asynchronously: the collector answers from this
 * process); returns the JSON it printed. */
async function runFixture(prog, endpoint) {
    const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' };
    const { stdout } = await promisify(execFile)(prog, [], { env, encoding: 'utf8', timeout: 60000 * SLOW });
    return JSON.parse(stdout);
}

/** A collector on 127.0.0.1 that keeps every request body by path. */
async function startCollector() {
    const got = { '/v1/traces': [], '/v1/metrics': [], '/v1/logs': [] };
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            let body = Buffer.concat(chunks);
            if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
            (got[req.url] ??= []).push({ headers: req.headers, body });
            res.writeHead(200, { 'content-type': 'application/x-protobuf' });
            res.end();
        });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    return { got, url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

const decode = (type, buf) => type.toObject(type.decode(buf), { longs: String, bytes: String, enums: Number, defaults: false });
const hex = (b64) => Buffer.from(b64 ?? '', 'base64').toString('hex');
const attrMap = (kvs = []) => Object.fromEntries(kvs.map((kv) => [kv.key, kv.value]));

/** Every span, log record and metric of the collected requests, with their resource. */
function collected(got) {
    const spans = [];
    for (const r of got['/v1/traces']) {
        for (const rs of decode(pb.trace.v1.ExportTraceServiceRequest, r.body).resourceSpans ?? [])
            for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ resource: attrMap(rs.resource?.attributes), scope: ss.scope, span: s });
    }
    const logs = [];
    for (const r of got['/v1/logs']) {
        for (const rl of decode(pb.logs.v1.ExportLogsServiceRequest, r.body).resourceLogs ?? [])
            for (const sl of rl.scopeLogs ?? []) for (const l of sl.logRecords ?? []) logs.push({ resource: attrMap(rl.resource?.attributes), scope: sl.scope, log: l });
    }
    // Cumulative metrics: the last export holds the totals.
    const lastMetrics = got['/v1/metrics'].at(-1);
    const metrics = {};
    if (lastMetrics) {
        for (const rm of decode(pb.metrics.v1.ExportMetricsServiceRequest, lastMetrics.body).resourceMetrics ?? [])
            for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) metrics[m.name] = { scope: sm.scope, metric: m };
    }
    return { spans, logs, metrics };
}

describe('libosprey conformance', () => {
    let prog;
    before(() => {
        prog = buildFixture();
    });

    test('what the exporter sends decodes with the OpenTelemetry protos, field for field', async () => {
        const collector = await startCollector();
        let rec;
        try {
            rec = await runFixture(prog, collector.url);
        } finally {
            await collector.close();
        }
        assert.equal(rec.flush, 0);
        assert.equal(rec.shutdown, 0);
        assert.equal(collector.got['/v1/traces'][0].headers['content-type'], 'application/x-protobuf');
        const { spans, logs, metrics } = collected(collector.got);

        assert.equal(spans.length, 2);
        const root = spans.find((s) => s.span.name === 'GET /checkout');
        const child = spans.find((s) => s.span.name === 'POST /charge');
        assert.ok(root && child);
        assert.equal(root.resource['service.name'].stringValue, 'sdk-conformance');
        assert.equal(root.resource['deployment.environment'].stringValue, 'conformance');
        assert.equal(root.resource['telemetry.sdk.name'].stringValue, 'osprey');
        assert.equal(root.resource['telemetry.sdk.language'].stringValue, 'c');
        assert.ok(root.resource['host.name'].stringValue.length > 0);
        assert.ok(Number(root.resource['process.pid'].intValue) > 0);
        assert.deepEqual(root.scope, { name: 'conformance', version: '1.2.3' });

        const r = root.span;
        assert.equal(hex(r.traceId), rec.trace_id);
        assert.equal(hex(r.spanId), rec.root_span_id);
        assert.equal(r.parentSpanId, undefined);
        assert.equal(r.kind, 2); // SERVER
        assert.equal(r.startTimeUnixNano, String(T0));
        assert.equal(r.endTimeUnixNano, String(T0 + 10n * MS));
        assert.equal((r.flags ?? 0) & 0xff, 1);
        const a = attrMap(r.attributes);
        assert.deepEqual(a['http.request.method'], { stringValue: 'GET' });
        assert.deepEqual(a['cache.hit'], { boolValue: false });
        assert.deepEqual(a['http.response.status_code'], { intValue: '200' });
        assert.deepEqual(a['load'], { doubleValue: 0.75 });
        assert.deepEqual(a['tags'], { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } });
        assert.deepEqual(a['flags'], { arrayValue: { values: [{ boolValue: true }, { boolValue: false }] } });
        assert.deepEqual(a['sizes'], { arrayValue: { values: [{ intValue: '1' }, { intValue: '-2' }, { intValue: '3' }] } });
        assert.deepEqual(a['ratios'], { arrayValue: { values: [{ doubleValue: 0.5 }, { doubleValue: 1.25 }] } });
        assert.equal(Object.keys(a).length, 8);
        // The detail event is recorded because the tracer is DETAILED; cache.miss with its time.
        const miss = r.events.find((e) => e.name === 'cache.miss');
        assert.equal(miss.timeUnixNano, String(T0 + MS));
        assert.deepEqual(attrMap(miss.attributes), { 'cache.key': { stringValue: 'cart:42' } });
        assert.equal(r.links.length, 1);
        assert.equal(hex(r.links[0].traceId), '0af7651916cd43dd8448eb211c80319c');
        assert.equal(hex(r.links[0].spanId), 'b7ad6b7169203331');
        assert.deepEqual(attrMap(r.links[0].attributes), { 'link.kind': { stringValue: 'follows' } });
        assert.equal(r.status.code, 1); // OK

        const c = child.span;
        assert.equal(hex(c.traceId), rec.trace_id);
        assert.equal(hex(c.spanId), rec.child_span_id);
        assert.equal(hex(c.parentSpanId), rec.root_span_id);
        assert.equal(c.kind, 3); // CLIENT
        assert.equal(c.startTimeUnixNano, String(T0 + 2n * MS));
        assert.equal(c.endTimeUnixNano, String(T0 + 7n * MS));
        assert.equal(c.status.code, 2); // ERROR
        assert.equal(c.status.message, 'card declined');
        assert.deepEqual(attrMap(c.attributes)['error.type'], { stringValue: 'CardDeclined' });
        const exc = c.events.find((e) => e.name === 'exception');
        assert.deepEqual(attrMap(exc.attributes)['exception.type'], { stringValue: 'CardDeclined' });
        assert.deepEqual(attrMap(exc.attributes)['exception.message'], { stringValue: 'card declined' });

        assert.equal(logs.length, 1);
        const l = logs[0].log;
        assert.equal(logs[0].resource['service.name'].stringValue, 'sdk-conformance');
        assert.equal(logs[0].scope.name, 'conformance');
        assert.equal(l.severityNumber, 13);
        assert.equal(l.severityText, 'WARN');
        assert.deepEqual(l.body, { stringValue: 'card declined for order 42' });
        assert.deepEqual(attrMap(l.attributes), { 'order.id': { intValue: '42' } });
        assert.equal(hex(l.traceId), rec.trace_id);
        assert.equal(hex(l.spanId), rec.child_span_id);
        assert.ok(BigInt(l.timeUnixNano) > 0n);
        assert.ok(BigInt(l.observedTimeUnixNano) > 0n);

        const orders = metrics['orders.placed'].metric;
        assert.equal(orders.unit, '{order}');
        assert.equal(orders.description, 'Orders placed');
        assert.equal(orders.sum.aggregationTemporality, 2); // CUMULATIVE
        assert.equal(orders.sum.isMonotonic, true);
        assert.equal(orders.sum.dataPoints.length, 1);
        assert.equal(orders.sum.dataPoints[0].asDouble, 5);
        assert.deepEqual(attrMap(orders.sum.dataPoints[0].attributes), { 'payment.method': { stringValue: 'card' } });
        assert.ok(BigInt(orders.sum.dataPoints[0].startTimeUnixNano) <= BigInt(orders.sum.dataPoints[0].timeUnixNano));
        const dur = metrics['checkout.duration'].metric.histogram;
        assert.equal(dur.aggregationTemporality, 2);
        const hp = dur.dataPoints[0];
        assert.equal(hp.count, '3');
        assert.equal(hp.sum, 2.55);
        assert.equal(hp.min, 0.05);
        assert.equal(hp.max, 2);
        assert.deepEqual(hp.explicitBounds, [0.1, 0.5, 1]);
        assert.deepEqual(hp.bucketCounts, ['1', '1', '0', '1']);
        const queue = metrics['queue.depth'].metric.sum;
        assert.equal(queue.isMonotonic ?? false, false);
        assert.equal(queue.dataPoints[0].asDouble, 3);
        assert.equal(metrics['cpu.temperature'].metric.gauge.dataPoints[0].asDouble, 61.5);
        assert.equal(metrics['cpu.temperature'].metric.unit, 'Cel');
    });

    // valgrind cannot run sanitizer builds; the ASan pass covers those instead.
    test('the examples build with pkg-config and run without leaks under valgrind', { skip: SANITIZED && 'ASan build' }, async () => {
        const out = tempDir('osprey-sdk-examples-');
        execFileSync('make', ['-s', '-C', path.join(REPO, 'sdk/examples'), `PKG_CONFIG_PATH=${SDK_DIR}`, `OUT=${out}`, 'CFLAGS=-O1 -g -Wall -Wextra -Werror']);
        const collector = await startCollector();
        try {
            for (const name of ['hello_trace', 'llm_call', 'metrics', 'logging']) {
                const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url };
                const args = ['--quiet', '--leak-check=full', '--errors-for-leak-kinds=definite,indirect', '--show-leak-kinds=definite,indirect', '--error-exitcode=99', path.join(out, name)];
                try {
                    await promisify(execFile)('valgrind', args, { env, timeout: 120000 });
                } catch (e) {
                    assert.fail(`${name} under valgrind exited ${e.code}:\n${e.stderr}`);
                }
            }
        } finally {
            await collector.close();
        }
        const { spans, logs } = collected(collector.got);
        const services = new Set(spans.map((s) => s.resource['service.name'].stringValue));
        assert.ok(services.has('hello-trace') && services.has('llm-example'), [...services].join());
        assert.ok(spans.some((s) => attrMap(s.span.attributes)['gen_ai.request.model']), 'the LLM example sent a GenAI span');
        assert.ok(logs.some((l) => l.resource['service.name'].stringValue === 'logging-example'));
        assert.ok(collector.got['/v1/metrics'].length > 0);
    });

    test("Osprey's receiver stores what the library sent", async () => {
        const server = await startServer({ name: 'sdk' });
        try {
            const rec = await runFixture(prog, server.otlpHttpUrl);
            let doc;
            for (let i = 0; i < 50 && !doc; i++) {
                try {
                    doc = await getJson(`${server.apiUrl}/api/v1/traces/${rec.trace_id}`);
                } catch {
                    await sleep(100);
                }
            }
            assert.ok(doc, 'trace stored');
            const spans = doc.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
            assert.deepEqual(spans.map((s) => s.name).sort(), ['GET /checkout', 'POST /charge']);
            const child = spans.find((s) => s.name === 'POST /charge');
            assert.equal(child.parentSpanId, rec.root_span_id);
            assert.equal(child.status.code, 2);
            assert.equal(doc.resourceSpans[0].resource.attributes.find((kv) => kv.key === 'service.name').value.stringValue, 'sdk-conformance');

            const logs = await getJson(`${server.apiUrl}/api/v1/traces/${rec.trace_id}/logs`);
            const lines = JSON.stringify(logs);
            assert.match(lines, /card declined for order 42/);
            assert.match(lines, new RegExp(rec.child_span_id));

            const q = await getJson(`${server.apiUrl}/api/v1/query?query=${encodeURIComponent('orders_placed_total')}`);
            assert.equal(q.status, 'success');
            assert.equal(q.data.result.length, 1);
            assert.equal(q.data.result[0].value[1], '5');
            assert.equal(q.data.result[0].metric.payment_method, 'card');
            const h = await getJson(`${server.apiUrl}/api/v1/query?query=${encodeURIComponent('checkout_duration_seconds_count')}`);
            assert.equal(h.data.result[0].value[1], '3');
        } finally {
            await server.stop();
        }
    });
});
