// Logs end to end: the official OpenTelemetry JS logs SDK over gRPC, HTTP/protobuf and
// HTTP/JSON, inside spans of the JS trace SDK, read back field by field through a trace's
// logs; Loki push in both encodings and JSON lines; trace <-> log correlation both ways;
// log patterns on a generated log set with known templates; bad input; a restart.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { ROOT_CONTEXT, SeverityNumber, trace } from '@opentelemetry/api';
import { JsonLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

import { diff } from './lib/expect.mjs';
import { request } from './lib/http.mjs';
import { RecordingLogExporter, logsGet, lokiProto, lokiPush, openTail, otlpLogExporter, streamsOf } from './lib/logs.mjs';
import { canonicalLogs, decodeLogsExportResponse, encodeLogs, flattenLogs } from './lib/otlp.mjs';
import { cleanExit, startServer } from './lib/server.mjs';
import { EXPORTERS, otlpExporter } from './workload.mjs';

const MS = 1_000_000n;
const hex = (n) => crypto.randomBytes(n).toString('hex');

/** Every kind of body and attribute the SDK can send, inside and outside spans. */
async function runLogWorkload(server, kind) {
    const memory = new InMemoryLogRecordExporter();
    const recorder = new RecordingLogExporter(otlpLogExporter(kind, server));
    const resource = resourceFromAttributes({
        'service.name': `logs-${kind}`,
        'service.namespace': 'osprey-e2e',
        'deployment.environment.name': 'e2e',
        'host.name': 'e2e-host',
        'process.pid': 4242,
    });
    const loggerProvider = new LoggerProvider({
        resource,
        logRecordLimits: { attributeCountLimit: 6 },
        processors: [new SimpleLogRecordProcessor({ exporter: memory }), new SimpleLogRecordProcessor({ exporter: recorder })],
    });
    const tracerProvider = new TracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor({ exporter: otlpExporter(kind, server) })] });
    const logger = loggerProvider.getLogger('e2e.logs', '1.2.3', { schemaUrl: 'https://opentelemetry.io/schemas/1.37.0' });
    const tracer = tracerProvider.getTracer('e2e.logs');
    const base = BigInt(Date.now() - 5 * 60 * 1000) * MS + 4567n;
    const t = (ms) => {
        const ns = base + BigInt(ms) * MS;
        return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
    };
    const bodies = [
        'checkout started',
        { order: { id: 42, items: ['a', 'b'] }, ok: true },
        ['x', 7, 2.5, false],
        12345,
        3.25,
        true,
        new Uint8Array([0, 1, 2, 255]),
        '',
    ];
    const traced = [];
    for (let s = 0; s < 3; s++) {
        const span = tracer.startSpan(`op-${s}`, { startTime: t(s * 100) });
        const ctx = trace.setSpan(ROOT_CONTEXT, span);
        bodies.forEach((body, i) => logger.emit({
            context: ctx,
            timestamp: t(s * 100 + i + 1),
            observedTimestamp: t(s * 100 + i + 2),
            severityNumber: [SeverityNumber.INFO, SeverityNumber.WARN2, SeverityNumber.ERROR, SeverityNumber.DEBUG][i % 4],
            severityText: ['INFO', 'WARN2', 'ERROR', 'debug'][i % 4],
            body,
            eventName: i === 0 ? 'checkout.start' : undefined,
            attributes: {
                'http.route': '/checkout',
                attempt: i,
                ratio: 0.5,
                cached: i % 2 === 0,
                tags: ['p', 'q'],
                nested: { k: 'v' },
                ...(i === 1 ? { extra1: 1, extra2: 2, extra3: 3 } : {}),
            },
        }));
        span.end(t(s * 100 + 50));
        traced.push(span.spanContext().traceId);
    }
    logger.emit({ timestamp: t(900), severityNumber: SeverityNumber.FATAL, severityText: 'FATAL', body: 'no trace here' });
    logger.emit({ body: 'no timestamps at all' });
    await loggerProvider.forceFlush();
    await tracerProvider.forceFlush();
    const sent = memory.getFinishedLogRecords(); // shutdown empties the in-memory exporter
    await loggerProvider.shutdown();
    await tracerProvider.shutdown();
    const sentDoc = canonicalLogs(JSON.parse(Buffer.from(JsonLogsSerializer.serializeRequest(sent)).toString('utf8')));
    return { sent: flattenLogs(sentDoc), results: recorder.results, traced, service: `logs-${kind}` };
}

const key = (r) => `${r.log.timeUnixNano ?? ''}|${JSON.stringify(r.log.body ?? null)}|${r.log.spanId ?? ''}`;
const sortRecs = (recs) => [...recs].sort((a, b) => (key(a) < key(b) ? -1 : 1));

for (const kind of EXPORTERS) {
    describe(`logs interop ${kind}`, () => {
        let server;
        let w;

        before(async () => {
            server = await startServer({ name: `logs-${kind}` });
            try {
                w = await runLogWorkload(server, kind);
            } catch (e) {
                console.error(e);
                throw e;
            }
        });

        after(async () => {
            if (!server) return;
            const r = await server.stop();
            assert.ok(cleanExit(r), server.describeExit(r));
        });

        test('every export succeeds', () => {
            assert.ok(w.results.length > 0);
            assert.deepEqual(w.results.filter((r) => r.code !== 0).map((r) => String(r.error)), []);
            assert.ok(w.sent.some((r) => r.log.droppedAttributesCount > 0), 'the workload drops attributes');
        });

        test("a trace's logs come back with every field as sent", async () => {
            for (const traceId of w.traced) {
                const r = await logsGet(server, `/api/v1/traces/${traceId}/logs`, { format: 'otlp' });
                assert.equal(r.status, 200, r.text());
                const got = sortRecs(flattenLogs(canonicalLogs(r.json())));
                const want = sortRecs(w.sent.filter((x) => x.log.traceId === traceId));
                assert.equal(got.length, want.length);
                assert.deepEqual(diff(want, got), []);
            }
        });

        test("a trace's log lines say the trace is present; a span's logs are its own", async () => {
            const traceId = w.traced[1];
            const doc = (await logsGet(server, `/api/v1/traces/${traceId}/logs`)).json();
            assert.equal(doc.logs.length, 8);
            for (const l of doc.logs) {
                assert.equal(l.traceId, traceId);
                assert.equal(l.trace, 'present');
            }
            const times = doc.logs.map((l) => BigInt(l.time));
            assert.deepEqual(times, [...times].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)), 'newest first');
            const spanId = doc.logs[0].spanId;
            const one = (await logsGet(server, `/api/v1/traces/${traceId}/logs`, { spanId })).json();
            assert.equal(one.logs.length, 8);
            const none = (await logsGet(server, `/api/v1/traces/${traceId}/logs`, { spanId: '0123456789abcdef' })).json();
            assert.deepEqual(none.logs, []);
        });

        test('the Loki API finds the logs by service, with promoted labels and structured metadata', async () => {
            const r = await logsGet(server, '/loki/api/v1/query_range', { query: `{service_name="${w.service}"} |= "no trace"`, since: '1h' });
            assert.equal(r.status, 200, r.text());
            const streams = streamsOf(r.json());
            assert.equal(streams.length, 1);
            const { labels, values } = streams[0];
            assert.equal(values.length, 1);
            assert.equal(values[0][1], 'no trace here');
            assert.equal(labels.service_name, w.service);
            assert.equal(labels.service_namespace, 'osprey-e2e');
            assert.equal(labels.deployment_environment_name, 'e2e');
            assert.equal(labels.host_name, 'e2e-host', 'a resource attribute that is not promoted is metadata');
            assert.equal(labels.severity_text, 'FATAL');
            assert.equal(labels.detected_level, 'fatal');
            assert.equal(labels.trace_id, undefined);
            const streamLabels = (await logsGet(server, '/loki/api/v1/series', { 'match[]': `{service_name="${w.service}"}`, since: '1h' })).json();
            assert.deepEqual(streamLabels.data, [{ deployment_environment_name: 'e2e', service_name: w.service, service_namespace: 'osprey-e2e' }]);
        });

        test('a record without any time is filed at its arrival', async () => {
            const r = await logsGet(server, '/api/v1/logs', { query: `{service_name="${w.service}"} |= "no timestamps"`, since: '10m' });
            assert.equal(r.status, 200, r.text());
            const logs = r.json().logs;
            assert.equal(logs.length, 1);
            const age = BigInt(Date.now()) * MS - BigInt(logs[0].time);
            assert.ok(age >= 0n && age < 120_000n * MS, `filed ${age} ns ago`);
        });

        test('the logs and their patterns survive a restart', async () => {
            const before = (await logsGet(server, `/api/v1/traces/${w.traced[0]}/logs`, { format: 'otlp' })).json();
            const patternQuery = { service: `logs-${kind}`, since: '1h' };
            const patternsBefore = (await logsGet(server, '/api/v1/logs/patterns', patternQuery)).json();
            assert.ok(patternsBefore.patterns.length > 0, 'the workload made patterns');
            const stopped = await server.stop();
            assert.ok(cleanExit(stopped), server.describeExit(stopped));
            server = await startServer({ name: `logs-${kind}-restarted`, dataDir: server.dataDir });
            const afterDoc = (await logsGet(server, `/api/v1/traces/${w.traced[0]}/logs`, { format: 'otlp' })).json();
            assert.deepEqual(diff(sortRecs(flattenLogs(canonicalLogs(before))), sortRecs(flattenLogs(canonicalLogs(afterDoc)))), []);
            // The same templates, ids and counts (the bucket range is the same minute or one later).
            const patternsAfter = (await logsGet(server, '/api/v1/logs/patterns', patternQuery)).json();
            const summary = (doc) => doc.patterns.map((p) => [p.id, p.pattern, p.total, p.count, p.firstSeen, p.lastSeen]);
            assert.deepEqual(summary(patternsAfter), summary(patternsBefore));
        });
    });
}

describe('Loki push, JSON lines and bad input', () => {
    let server;
    const now = BigInt(Date.now()) * MS;
    const ts = (s) => (now - 60_000n * MS + BigInt(s) * 1000n * MS).toString();

    before(async () => {
        server = await startServer({ name: 'logs-push' });
    });

    after(async () => {
        if (!server) return;
        const r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
    });

    test('both push encodings store the same streams, labels and structured metadata', async () => {
        const streams = (job) => [
            { stream: { job, level: 'info', app: 'cart' }, values: [[ts(1), 'added item 7'], [ts(2), 'removed item 7', { user: 'ann', trace_id: 'abc' }]] },
            { stream: { job, level: 'error', app: 'cart' }, values: [[ts(3), 'checkout failed: timeout']] },
        ];
        for (const [kind, job] of [['json', 'push-json'], ['proto', 'push-proto']]) {
            const r = await lokiPush(server, streams(job), kind);
            assert.equal(r.status, 204, `${kind}: ${r.text()}`);
        }
        const answers = {};
        for (const job of ['push-json', 'push-proto']) {
            const r = await logsGet(server, '/loki/api/v1/query_range', { query: `{job="${job}"}`, since: '10m' });
            assert.equal(r.status, 200, r.text());
            answers[job] = streamsOf(r.json()).map((s) => ({ ...s, labels: { ...s.labels, job: undefined } }));
        }
        assert.deepEqual(diff(answers['push-json'], answers['push-proto']), []);
        const base = { app: 'cart', service_name: 'cart' };
        assert.deepEqual(answers['push-json'], [
            // detected_level: the stream's level label (Loki 3's level discovery)
            { labels: { ...base, job: undefined, level: 'error', detected_level: 'error' }, values: [[ts(3), 'checkout failed: timeout']] },
            { labels: { ...base, job: undefined, level: 'info', detected_level: 'info' }, values: [[ts(1), 'added item 7']] },
            { labels: { ...base, job: undefined, level: 'info', detected_level: 'info', trace_id: 'abc', user: 'ann' }, values: [[ts(2), 'removed item 7']] },
        ].map((s) => ({ ...s, labels: Object.fromEntries(Object.entries(s.labels).sort()) })).sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1)));
        const filtered = (await logsGet(server, '/loki/api/v1/query_range', { query: '{job="push-proto"} | user="ann"', since: '10m' })).json();
        assert.equal(filtered.data.result.length, 1, 'structured metadata filters like a label');
    });

    test('JSON lines are stored with their level, ids and service, and correlate to absent traces', async () => {
        const traceId = hex(16);
        const body = [
            JSON.stringify({ ts: Number(ts(4)) / 1e9, level: 'warn', msg: 'disk 91% full', service: 'jsonl-svc', trace_id: traceId, span_id: hex(8), disk: 'sda' }),
            JSON.stringify({ time: new Date(Number(BigInt(ts(5)) / MS)).toISOString(), level: 'error', message: { code: 7 }, service: 'jsonl-svc' }),
            '{"broken": ',
        ].join('\n');
        const r = await request(`${server.apiUrl}/api/v1/logs/jsonl`, { method: 'POST', body, timeout: 30000 });
        assert.equal(r.status, 200, r.text());
        const ack = r.json();
        assert.equal(ack.accepted, 2);
        assert.equal(ack.rejected, 1);
        assert.match(ack.error, /^line 3: /);
        const logs = (await logsGet(server, '/api/v1/logs', { query: '{service_name="jsonl-svc"}', since: '10m' })).json().logs;
        assert.equal(logs.length, 2);
        assert.equal(logs[0].line, '{"code":7}');
        assert.equal(logs[0].labels.detected_level, 'error');
        assert.equal(logs[1].line, 'disk 91% full');
        assert.equal(logs[1].labels.disk, 'sda');
        assert.equal(logs[1].traceId, traceId);
        assert.equal(logs[1].trace, 'absent', 'the trace was never sent');
        const byTrace = (await logsGet(server, `/api/v1/traces/${traceId}/logs`)).json();
        assert.equal(byTrace.logs.length, 1);
        assert.equal(byTrace.logs[0].line, 'disk 91% full');
    });

    test('bad input gets clear errors and keeps the valid rest', async () => {
        const push = (body, type = 'application/json') => request(`${server.apiUrl}/loki/api/v1/push`, { method: 'POST', body, headers: { 'content-type': type }, timeout: 30000 });
        const badTime = await push(JSON.stringify({ streams: [{ stream: { job: 'bad' }, values: [['12a', 'x'], [ts(6), 'kept line']] }] }));
        assert.equal(badTime.status, 400);
        assert.match(badTime.text(), /timestamp "12a"/);
        const huge = await push(JSON.stringify({ streams: [{ stream: { job: 'bad' }, values: [[ts(7), 'y'.repeat(300 * 1024)]] }] }));
        assert.equal(huge.status, 400);
        assert.match(huge.text(), /exceeds the limit of 262144 bytes/);
        const snappyBroken = await push(Buffer.from([0x0a, 0xf0, 0xff, 0xff, 0xff, 1, 2, 3]), 'application/x-protobuf');
        assert.equal(snappyBroken.status, 400);
        assert.match(snappyBroken.text(), /snappy/);
        const notJson = await push('{"streams": [');
        assert.equal(notJson.status, 400);
        const badUtf8 = lokiProto([{ stream: { job: 'bad' }, values: [[ts(8), 'ok'], [ts(12), Buffer.from([0x61, 0xff, 0x62])]] }]);
        const badLabels = await push(JSON.stringify({ streams: [{ stream: { 'bad-name': 'x' }, values: [[ts(9), 'z']] }] }));
        assert.equal(badLabels.status, 400);
        assert.match(badLabels.text(), /stream 0/);
        const utf8 = await push(badUtf8, 'application/x-protobuf');
        assert.equal(utf8.status, 400);
        assert.match(utf8.text(), /UTF-8/);
        const kept = (await logsGet(server, '/loki/api/v1/query_range', { query: '{job="bad"}', since: '10m' })).json();
        assert.deepEqual(kept.data.result.flatMap((s) => s.values.map((v) => v[1])).sort(), ['kept line', 'ok']);

        // OTLP: invalid UTF-8 in a body and a huge line are refused one by one, with partial success.
        const doc = {
            resourceLogs: [{
                resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otlp-bad' } }] },
                scopeLogs: [{ logRecords: [
                    { timeUnixNano: ts(10), body: { stringValue: 'fine' } },
                    { timeUnixNano: ts(11), body: { stringValue: 'z'.repeat(300 * 1024) } },
                ] }],
            }],
        };
        let pb = encodeLogs(doc);
        const marker = Buffer.from('fine');
        const at = pb.indexOf(marker);
        const invalid = Buffer.from(pb);
        invalid[at] = 0xff; // "fine" -> "\xffine": not UTF-8
        for (const [body, rejected, why] of [[pb, 1, /exceeds the limit/], [invalid, 2, /UTF-8|limit/]]) {
            const r = await request(`${server.otlpHttpUrl}/v1/logs`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' }, timeout: 30000 });
            assert.equal(r.status, 200);
            const ps = decodeLogsExportResponse(r.body).partialSuccess;
            assert.equal(Number(ps.rejectedLogRecords), rejected);
            assert.match(ps.errorMessage, why);
        }
        pb = null;
        const ok = (await logsGet(server, '/loki/api/v1/query_range', { query: '{service_name="otlp-bad"}', since: '10m' })).json();
        assert.deepEqual(ok.data.result.flatMap((s) => s.values.map((v) => v[1])), ['fine']);
        const health = await request(`${server.apiUrl}/readyz`);
        assert.equal(health.status, 200);
    });

    test('index stats and volumes give the streams, records and bytes of a selector, as Loki does', async () => {
        const line = (n, c) => c.repeat(n);
        const streams = [
            { stream: { job: 'vol', app: 'a', env: 'prod' }, values: [[ts(1), line(100, 'a')], [ts(2), line(50, 'b')]] },
            { stream: { job: 'vol', app: 'b', env: 'dev' }, values: [[ts(3), line(20, 'c')]] },
            { stream: { job: 'vol', app: 'b' }, values: [[ts(4), line(7, 'd')], [ts(5), line(3, 'e')]] },
            { stream: { job: 'other', app: 'a' }, values: [[ts(6), line(1000, 'f')]] },
        ];
        const r = await lokiPush(server, streams, 'json');
        assert.equal(r.status, 204, r.text());
        const get = async (path, params) => {
            const res = await logsGet(server, `/loki/api/v1/index/${path}`, { since: '10m', ...params });
            assert.equal(res.status, 200, `${path}: ${res.text()}`);
            return res.json();
        };
        assert.deepEqual(await get('stats', { query: '{job="vol"}' }), { streams: 3, chunks: 3, entries: 5, bytes: 180 });
        const volume = async (params) => (await get('volume', { query: '{job="vol", app=~".+"}', ...params })).data.result.map((s) => [s.metric, s.value[1]]);
        // by default the series of the names the selector uses, largest first
        assert.deepEqual(await volume({}), [[{ app: 'a', job: 'vol' }, '150'], [{ app: 'b', job: 'vol' }, '30']]);
        assert.deepEqual(await volume({ targetLabels: 'env' }), [[{ env: 'prod' }, '150'], [{ env: 'dev' }, '20'], [{}, '10']]);
        assert.deepEqual(await volume({ targetLabels: 'env,app', aggregateBy: 'labels' }), [[{ app: '' }, '180'], [{ env: '' }, '170']]);
        assert.deepEqual(await volume({ targetLabels: 'env', limit: '1' }), [[{ env: 'prod' }, '150']]);
        // per step: the point at t holds (t - step, t]; all of them add up to the total
        const range = (await get('volume_range', { query: '{job="vol"}', step: '60s' })).data;
        assert.equal(range.resultType, 'matrix');
        assert.equal(range.result.length, 1);
        assert.deepEqual(range.result[0].metric, { job: 'vol' });
        assert.equal(range.result[0].values.reduce((n, v) => n + Number(v[1]), 0), 180);
        for (const [params, why] of [[{}, /stream selector is required/], [{ query: 'rate({job="vol"}[1m])' }, /stream selector is expected/],
            [{ query: '{job="vol"}', aggregateBy: 'pods' }, /invalid aggregateBy "pods"/], [{ query: '{job="vol"}', limit: '-1' }, /limit must be a positive value/]]) {
            const res = await logsGet(server, '/loki/api/v1/index/volume', { since: '10m', ...params });
            assert.equal(res.status, 400, JSON.stringify(params));
            assert.match(res.text(), why);
        }
    });

    test('detected labels and fields: what Grafana Logs Drilldown filters by, as Loki finds them', async () => {
        const streams = [{ stream: { job: 'detect', app: 'shop' }, values: [
            [ts(1), JSON.stringify({ level: 'info', status: 200, took: '15ms', user: { id: 'u1' }, ok: true, size: '10KB', req: { 'user-agent': 'curl' } }), { trace_id: 'abc' }],
            [ts(2), 'method=GET status=500 took=2s user_id=u2'],
            [ts(3), 'plain text line'],
        ] }];
        const r = await lokiPush(server, streams, 'json');
        assert.equal(r.status, 204, r.text());
        const get = (path, params) => logsGet(server, `/loki/api/v1/${path}`, { since: '10m', ...params });
        const labels = await get('detected_labels', { query: '{job="detect"}' });
        assert.equal(labels.status, 200, labels.text());
        assert.deepEqual(labels.json(), { detectedLabels: [{ label: 'app', cardinality: 1 }, { label: 'job', cardinality: 1 }, { label: 'service_name', cardinality: 1 }] });
        const fields = await get('detected_fields', { query: '{job="detect"}' });
        assert.equal(fields.status, 200, fields.text());
        // JSON first, logfmt when a line is not JSON; nested keys joined, with the raw keys
        // as jsonPath; structured metadata without a parser; the type of the newest value;
        // stream labels left out
        assert.deepEqual(fields.json(), { fields: [
            // the levels Loki gives the lines (JSON's level, then no level word: unknown)
            { label: 'detected_level', type: 'string', cardinality: 2, parsers: null },
            { label: 'level', type: 'string', cardinality: 1, parsers: ['json'], jsonPath: ['level'] },
            { label: 'method', type: 'string', cardinality: 1, parsers: ['logfmt'] },
            { label: 'ok', type: 'boolean', cardinality: 1, parsers: ['json'], jsonPath: ['ok'] },
            { label: 'req_user_agent', type: 'string', cardinality: 1, parsers: ['json'], jsonPath: ['req', 'user-agent'] },
            { label: 'size', type: 'bytes', cardinality: 1, parsers: ['json'], jsonPath: ['size'] },
            { label: 'status', type: 'int', cardinality: 2, parsers: ['json', 'logfmt'], jsonPath: ['status'] },
            { label: 'took', type: 'duration', cardinality: 2, parsers: ['json', 'logfmt'], jsonPath: ['took'] },
            { label: 'trace_id', type: 'string', cardinality: 1, parsers: null },
            { label: 'user_id', type: 'string', cardinality: 2, parsers: ['json', 'logfmt'], jsonPath: ['user', 'id'] },
        ], limit: 1000 });
        // the limit keeps the fields found first, newest line first
        assert.deepEqual((await get('detected_fields', { query: '{job="detect"}', limit: '2' })).json().fields.map((f) => f.label), ['detected_level', 'method']);
        // a pipeline narrows the lines
        assert.deepEqual((await get('detected_fields', { query: '{job="detect"} |= "GET"' })).json().fields.map((f) => f.label), ['detected_level', 'method', 'status', 'took', 'user_id']);
        assert.deepEqual((await get('detected_field/status/values', { query: '{job="detect"}' })).json(), { limit: 1000, values: ['500', '200'] });
        assert.deepEqual((await get('detected_field/took/values', { query: '{job="detect"}', limit: '1' })).json(), { limit: 1, values: ['2s'] });
        // a parsed byte size in go-humanize's form, as Loki lists it
        assert.deepEqual((await get('detected_field/size/values', { query: '{job="detect"}' })).json(), { limit: 1000, values: ['10kB'] });
        assert.deepEqual((await get('detected_field/nope/values', { query: '{job="detect"}' })).json(), {});
        // a JSON key named as a stream label is found as job_extracted under its raw key; the
        // labels of the query's own parser count as parsed ones
        const more = await lokiPush(server, [{ stream: { job: 'detect2' }, values: [[ts(1), JSON.stringify({ job: 'other', size: '2048 KiB' })]] }], 'json');
        assert.equal(more.status, 204, more.text());
        const parsed = { query: '{job="detect2"} | json | size > 1KB' };
        assert.deepEqual((await get('detected_fields', parsed)).json(), { fields: [
            { label: 'detected_level', type: 'string', cardinality: 1, parsers: null },
            { label: 'job_extracted', type: 'string', cardinality: 1, parsers: ['json'], jsonPath: ['job'] },
            { label: 'size', type: 'bytes', cardinality: 1, parsers: ['json'], jsonPath: ['size'] },
        ], limit: 1000 });
        assert.deepEqual((await get('detected_field/size/values', parsed)).json(), { limit: 1000, values: ['2.1MB'] });
        assert.deepEqual((await get('detected_fields', { query: '{job="nothing-here"}' })).json(), {});
        for (const [path, params, status, why] of [
            ['detected_fields', {}, 400, /query parameter is missing/],
            ['detected_fields', { query: 'rate({job="detect"}[1m])' }, 400, /need a log query/],
            ['detected_fields', { query: '{job="detect"}', line_limit: '0' }, 400, /line_limit must be a positive value/],
            ['detected_field/status', { query: '{job="detect"}' }, 404, /not found/],
        ]) {
            const res = await get(path, params);
            assert.equal(res.status, status, `${path} ${JSON.stringify(params)}: ${res.text()}`);
            assert.match(res.text(), why);
        }
    });

    test('what Grafana asks of a Loki besides queries: formatting a query, Logs Drilldown limits', async () => {
        const fmt = await logsGet(server, '/loki/api/v1/format_query', { query: 'sum by(app)(rate({job="detect"}|="GET"|json[5m]))' });
        assert.equal(fmt.status, 200, fmt.text());
        assert.deepEqual(fmt.json(), { status: 'success', data: 'sum by (app) (rate({job="detect"} |= "GET" | json[5m]))' });
        const bad = await logsGet(server, '/loki/api/v1/format_query', { query: '{job="detect"' });
        assert.equal(bad.status, 400);
        assert.match(bad.text(), /parse error: offset 13: unexpected end of input/);
        const limits = await logsGet(server, '/loki/api/v1/drilldown-limits');
        assert.equal(limits.status, 200, limits.text());
        const doc = limits.json();
        // patterns are mined, levels and services found by Loki's rules, the default
        // retention of 7 days
        assert.equal(doc.pattern_ingester_enabled, true);
        assert.equal(doc.limits.discover_log_levels, true);
        assert.equal(doc.limits.volume_enabled, true);
        assert.equal(doc.limits.retention_period, '1w');
        assert.equal(doc.limits.max_entries_limit_per_query, 5000);
        assert.equal(doc.limits.log_level_fields[0], 'level');
        assert.ok(doc.limits.discover_service_name.includes('app'));
        assert.match(doc.version, /^\d+\.\d+\.\d+/);
    });

    test('log patterns find the templates of a noisy service', async () => {
        const users = ['ann', 'bob', 'cy', 'dee'];
        const values = [];
        for (let i = 0; i < 240; i++) {
            const k = i % 4;
            const line = k === 0 ? `user ${users[(i >> 2) % 4]}-${1000 + i} logged in from 10.0.${i % 7}.${i % 250}`
                : k === 1 ? `payment ${100000 + i} failed: card declined after ${i % 9 + 1}ms`
                    : k === 2 ? `GET /api/items/${i} 200 ${i * 3 % 97}ms`
                        : `cache miss for key session:${hex(4)}`;
            values.push([(BigInt(ts(20)) + BigInt(i) * 10n * MS).toString(), line]);
        }
        const r = await lokiPush(server, [{ stream: { app: 'noisy' }, values }], 'json');
        assert.equal(r.status, 204, r.text());
        const doc = (await logsGet(server, '/api/v1/logs/patterns', { service: 'noisy', since: '10m' })).json();
        const patterns = doc.patterns.map((p) => [p.pattern, p.count]).sort();
        assert.deepEqual(patterns, [
            ['GET <*> <*> <*>', 60], // numbers are masked: the status too
            ['cache miss for key <*>', 60],
            ['payment <*> failed: card declined after <*>', 60],
            ['user <*> logged in from <*>', 60],
        ].sort());
        const loki = (await logsGet(server, '/loki/api/v1/patterns', { query: '{service_name="noisy"}', since: '10m' })).json();
        assert.equal(loki.status, 'success');
        assert.ok(loki.data.some((p) => p.pattern === 'user <_> logged in from <_>' && p.samples.reduce((n, s) => n + s[1], 0) === 60));
    });

    test('live tail streams what arrives over a WebSocket until the client leaves', async () => {
        const start = (BigInt(Date.now()) * MS - 30_000n * MS).toString();
        const r1 = await lokiPush(server, [{ stream: { app: 'tailer' }, values: [[ts(30), 'before the tail']] }]);
        assert.equal(r1.status, 204);
        const tail = await openTail(server, `/loki/api/v1/tail?${new URLSearchParams({ query: '{app="tailer"} != "skip"', start: ts(0) })}`);
        const first = await tail.next();
        assert.deepEqual(first.streams.flatMap((s) => s.values.map((v) => v[1])), ['before the tail']);
        const now = BigInt(Date.now()) * MS;
        const r2 = await lokiPush(server, [{ stream: { app: 'tailer' }, values: [[(now - 2n * MS).toString(), 'skip me'], [now.toString(), 'live line']] }]);
        assert.equal(r2.status, 204);
        const second = await tail.next();
        assert.deepEqual(second.streams.flatMap((s) => s.values.map((v) => v[1])), ['live line']);
        assert.deepEqual(second.streams[0].stream, { app: 'tailer', detected_level: 'unknown', service_name: 'tailer' });
        await tail.close();
        assert.ok(start.length > 0);
        const health = await request(`${server.apiUrl}/readyz`);
        assert.equal(health.status, 200, 'the server serves on after the tail ends');
    });

    test('live tail categorizes labels when the upgrade asks, as Loki 3 does for Grafana', async () => {
        const now = BigInt(Date.now()) * MS;
        const values = [[(now - 20_000n * MS).toString(), 'level=warn msg="low stock" item=42', { user: 'u7' }]];
        assert.equal((await lokiPush(server, [{ stream: { app: 'cat-tail' }, values }])).status, 204);
        const path = `/loki/api/v1/tail?${new URLSearchParams({ query: '{app="cat-tail"} | logfmt | drop msg', start: ts(0) })}`;
        const tail = await openTail(server, path, { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' });
        const frame = await tail.next();
        await tail.close();
        assert.deepEqual(frame.encodingFlags, ['categorize-labels']);
        // the stream by its stream labels alone; the pushed metadata and what logfmt set beside the line
        assert.deepEqual(frame.streams, [{
            stream: { app: 'cat-tail', service_name: 'cat-tail' },
            values: [[values[0][0], values[0][1], { structuredMetadata: { detected_level: 'warn', user: 'u7' }, parsed: { item: '42', level: 'warn' } }]],
        }]);
        const plain = await openTail(server, path);
        const plainFrame = await plain.next();
        await plain.close();
        assert.equal(plainFrame.encodingFlags, undefined);
        assert.deepEqual(plainFrame.streams.map((s) => [s.stream, s.values]), [[
            { app: 'cat-tail', detected_level: 'warn', item: '42', level: 'warn', service_name: 'cat-tail', user: 'u7' }, [values[0].slice(0, 2)],
        ]]);
    });

    test('live tails run side by side, more than the worker pool holds, while queries are answered; past the cap one is refused', async () => {
        const MAX_TAILS = 16; // OSP_LOGS_MAX_TAILS
        const r1 = await lokiPush(server, [{ stream: { app: 'many-tails' }, values: [[ts(30), 'before the tails']] }]);
        assert.equal(r1.status, 204);
        const path = `/loki/api/v1/tail?${new URLSearchParams({ query: '{app="many-tails"}', start: ts(0) })}`;
        const tails = [];
        for (let i = 0; i < MAX_TAILS; i++) {
            const tail = await openTail(server, path);
            tails.push(tail);
            // Its first frame comes from its handler, which by then counts as running.
            assert.deepEqual((await tail.next()).streams.flatMap((s) => s.values.map((v) => v[1])), ['before the tails']);
        }
        const refused = await openTail(server, path);
        assert.deepEqual(await refused.next(), { text: `max concurrent tail requests limit exceeded, count > limit (${MAX_TAILS + 1} > ${MAX_TAILS})\n` });
        await refused.close();
        const q = await logsGet(server, '/loki/api/v1/query_range', { query: '{app="many-tails"}', since: '10m' });
        assert.equal(q.status, 200, 'queries are answered while every tail runs');
        assert.deepEqual(q.json().data.result.flatMap((s) => s.values.map((v) => v[1])), ['before the tails']);
        const r2 = await lokiPush(server, [{ stream: { app: 'many-tails' }, values: [[(BigInt(Date.now()) * MS).toString(), 'to every tail']] }]);
        assert.equal(r2.status, 204);
        for (const tail of tails)
            assert.deepEqual((await tail.next()).streams.flatMap((s) => s.values.map((v) => v[1])), ['to every tail']);
        await Promise.all(tails.map((t) => t.close()));
        const again = await openTail(server, path); // the slots are free again
        assert.ok((await again.next()).streams);
        await again.close();
    });
});
