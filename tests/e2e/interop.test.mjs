// Interop with the official OpenTelemetry JS SDK: each exporter (gRPC, HTTP/protobuf,
// HTTP/JSON) with gzip on and off sends the AI workload to a fresh server; every trace is
// fetched back through the native API and the Jaeger API and compared field by field with
// what the SDK sent; search, services and operations answer from the same data; the data
// survives a restart and the server exits cleanly.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { byTrace, compareJaegerTrace, compareTrace, diff, normalizeKind, normalizeSummary, serviceOf, traceSummary } from './lib/expect.mjs';
import { getJson, request } from './lib/http.mjs';
import { attrMap, flatten, formatProblems } from './lib/otlp.mjs';
import { parseProm } from './lib/prom.mjs';
import { cleanExit, startServer } from './lib/server.mjs';
import { EXPORTERS, FIRST_TOKEN_EVENT, otlpExporter, runWorkload } from './workload.mjs';

const SEC = 1_000_000_000n;
const fail = (problems, what) => assert.fail(`${what}: ${problems.length} problem(s)\n  ${problems.slice(0, 60).join('\n  ')}`);

/** Text of an attribute value the way attr.K=V search matches it. */
function valueText(av) {
    if (!av) return undefined;
    if ('stringValue' in av) return av.stringValue;
    if ('intValue' in av) return av.intValue;
    if ('boolValue' in av) return String(av.boolValue);
    if ('doubleValue' in av) return String(av.doubleValue);
    return undefined;
}

describe('workload self-check', () => {
    test('the workload covers every OTLP trace field and the SDK serializes it as expected', async () => {
        const w = await runWorkload();
        const recs = flatten(w.sentDoc);
        assert.equal(recs.length, w.spans.length, 'one canonical record per finished span');
        const has = (pred, what) => assert.ok(recs.some(pred), `workload lacks ${what}`);
        const kinds = new Set(recs.map((r) => r.span.kind));
        for (const k of [1, 2, 3, 4, 5]) assert.ok(kinds.has(k), `workload lacks span kind ${k}`);
        has((r) => r.span.status?.code === 1, 'a status OK span');
        has((r) => r.span.status?.code === 2 && r.span.status.message, 'an error span with a message');
        has((r) => r.span.events?.some((e) => e.name === 'exception' && attrMap(e.attributes).has('exception.stacktrace')), 'an exception event');
        has((r) => r.span.events?.some((e) => e.name === FIRST_TOKEN_EVENT), 'a first-token event');
        has((r) => r.span.links?.some((l) => l.attributes?.length && l.traceState), 'a link with attributes and trace_state');
        has((r) => r.span.traceState, 'a span with trace_state');
        has((r) => r.span.droppedAttributesCount > 0 && r.span.droppedEventsCount > 0 && r.span.droppedLinksCount > 0, 'dropped counts');
        has((r) => r.span.events?.some((e) => e.droppedAttributesCount > 0), 'an event with dropped attributes');
        has((r) => r.span.links?.some((l) => l.droppedAttributesCount > 0), 'a link with dropped attributes');
        has((r) => r.span.flags === 0x301, 'a span with a remote parent (flags 0x301)');
        has((r) => r.resource.schemaUrl, 'a resource schema url');
        has((r) => r.scope.schemaUrl && r.scope.attributes?.length && r.scope.version, 'a scope with version, attributes and schema url');
        has((r) => !r.scope.version, 'a scope without version');
        const kindsOfValues = new Set(recs.flatMap((r) => (r.span.attributes ?? []).map((kv) => Object.keys(kv.value)[0] ?? 'empty')));
        for (const k of ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue', 'empty']) {
            assert.ok(kindsOfValues.has(k), `workload lacks an attribute of kind ${k}`);
        }
        const chats = recs.filter((r) => attrMap(r.span.attributes).get('gen_ai.operation.name')?.stringValue === 'chat');
        assert.ok(chats.length >= 5, 'several chat spans');
        const fr = attrMap(chats.find((r) => !r.span.status)?.span.attributes).get('gen_ai.response.finish_reasons');
        assert.ok(fr?.arrayValue?.values?.length, 'gen_ai.response.finish_reasons is a string array');
        assert.deepEqual(w.diag.filter((l) => !/Dropp/.test(l)), [], 'no SDK warnings besides the intended drops');
    });
});

for (const kind of EXPORTERS) {
    for (const gz of [false, true]) {
        describe(`interop ${kind} gzip=${gz ? 'on' : 'off'}`, () => {
            let server;
            let w;
            let sent;
            let traces;
            let summaries;

            before(async () => {
                server = await startServer({ name: `interop-${kind}${gz ? '-gzip' : ''}` });
                w = await runWorkload({ exporterFor: () => otlpExporter(kind, server, { gzip: gz }) });
                sent = flatten(w.sentDoc);
                traces = byTrace(sent);
                summaries = new Map([...traces].map(([id, recs]) => [id, traceSummary(recs)]));
            });
            after(async () => {
                await server?.kill();
            });

            const api = (p) => `${server.apiUrl}${p}`;
            const q = (params) => new URLSearchParams(params).toString();

            test('every export succeeded and every span was acknowledged', () => {
                const failed = w.exportResults.filter((r) => r.code !== 0);
                assert.deepEqual(failed, [], `failed exports: ${JSON.stringify(failed)}\n${server.stderrTail()}`);
                assert.ok(w.exportResults.length >= 5, `expected several export requests, got ${w.exportResults.length}`);
                const acked = new Set(w.acked.map((s) => s.spanContext().spanId));
                const missing = w.spans.filter((s) => !acked.has(s.spanContext().spanId)).map((s) => s.name);
                assert.deepEqual(missing, [], 'spans finished but never acknowledged');
                const partial = w.diag.filter((l) => /partial success/i.test(l) || l.startsWith('error'));
                assert.deepEqual(partial, [], 'the server reported rejections or the exporter logged errors');
            });

            test('GET /api/v1/traces/{id} returns each trace exactly as sent', async () => {
                const problems = [];
                for (const [id, recs] of traces) {
                    const doc = await getJson(api(`/api/v1/traces/${id}`));
                    problems.push(...compareTrace(recs, doc).map((p) => `trace ${id}: ${p}`));
                }
                if (problems.length) fail(problems, 'traces differ from what was sent');
            });

            test('trace documents use the OTLP/JSON encoding (hex ids, int64 strings, defaults omitted)', async () => {
                const problems = [];
                for (const id of traces.keys()) {
                    const doc = await getJson(api(`/api/v1/traces/${id}`));
                    assert.ok(Array.isArray(doc.resourceSpans), 'document has resourceSpans');
                    problems.push(...formatProblems('ExportTraceServiceRequest', doc).map((p) => `trace ${id}: ${p}`));
                }
                if (problems.length) fail(problems, 'encoding problems');
            });

            test('an unknown trace id is 404 with an error body; a malformed id is 400', async () => {
                const r = await request(api(`/api/v1/traces/${crypto.randomBytes(16).toString('hex')}`));
                assert.equal(r.status, 404);
                assert.equal(typeof r.json().error, 'string');
                const bad = await request(api('/api/v1/traces/not-a-trace-id'));
                assert.equal(bad.status, 400, 'a malformed trace id');
                assert.match(bad.json().error ?? '', /trace.?id/i, 'the error names the trace id');
            });

            test('Jaeger /api/traces/{id} returns each trace with every representable field', async () => {
                const problems = [];
                for (const [id, recs] of traces) {
                    const j = await getJson(api(`/api/traces/${id}`));
                    assert.equal(j.data?.length, 1, `trace ${id}: data holds one trace`);
                    problems.push(...compareJaegerTrace(recs, j.data[0]).map((p) => `trace ${id}: ${p}`));
                }
                if (problems.length) fail(problems, 'Jaeger traces differ from what was sent');
                const r = await request(api(`/api/traces/${crypto.randomBytes(16).toString('hex')}`));
                assert.equal(r.status, 404, 'unknown trace id in the Jaeger API');
            });

            // ------------------------------------------------------------ search
            async function search(params) {
                const body = await getJson(api(`/api/v1/traces?${q({ limit: '100', ...params })}`));
                assert.ok(Array.isArray(body.traces), `search ${JSON.stringify(params)}: traces array`);
                return body.traces;
            }
            /** Trace ids whose spans satisfy pred (on at least one span). */
            const where = (pred) => [...traces].filter(([, recs]) => recs.some(pred)).map(([id]) => id).sort();
            async function expectSearch(params, expected) {
                const got = await search(params);
                const ids = got.map((t) => String(t.traceId).toLowerCase());
                assert.deepEqual([...ids].sort(), [...expected].sort(), `search ${JSON.stringify(params)}`);
                return got;
            }

            test('search results carry the right summary for every trace, newest first', async () => {
                const got = await search({});
                assert.deepEqual(got.map((t) => t.traceId).sort(), [...traces.keys()].sort(), 'unfiltered search returns every trace');
                const problems = [];
                for (const t of got) problems.push(...diff(summaries.get(t.traceId), normalizeSummary(t), `trace ${t.traceId}`));
                if (problems.length) fail(problems, 'summaries differ');
                const starts = got.map((t) => BigInt(t.startTimeUnixNano));
                for (let i = 1; i < starts.length; i++) assert.ok(starts[i - 1] >= starts[i], 'results are newest first');
                const two = await search({ limit: '2' });
                assert.deepEqual(two.map((t) => t.traceId), got.slice(0, 2).map((t) => t.traceId), 'limit=2 gives the two newest');
            });

            test('search by service and by operation', async () => {
                for (const svc of ['ai-gateway', 'agent-orchestrator', 'rag-retriever', 'tool-runner', 'embedding-worker']) {
                    const want = where((r) => serviceOf(r) === svc);
                    assert.ok(want.length > 0);
                    await expectSearch({ service: svc }, want);
                }
                await expectSearch({ service: 'ai-gateway', operation: 'POST /v1/research' }, [w.traces.research]);
                await expectSearch({ service: 'agent-orchestrator', operation: 'chat claude-sonnet-4' }, [w.traces.chat2]);
                await expectSearch({ operation: 'execute_tool get_order_status' }, [w.traces.chat1]);
                await expectSearch({ service: 'no-such-service' }, []);
            });

            test('search by duration, time range and status', async () => {
                // Durations: only the research trace (12.5 s) has a span or a whole trace
                // over 10 s, so span-level and trace-level readings agree.
                const durOf = (r) => BigInt(r.span.endTimeUnixNano) - BigInt(r.span.startTimeUnixNano);
                const longSpans = where((r) => durOf(r) >= 10n * SEC);
                const longTraces = [...summaries.values()].filter((s) => BigInt(s.durationNanos) >= 10n * SEC).map((s) => s.traceId);
                assert.deepEqual(longSpans, longTraces, 'test design: both readings of minDuration agree');
                await expectSearch({ minDuration: '10s' }, [w.traces.research]);
                await expectSearch({ minDuration: '10000ms', service: 'ai-gateway' }, [w.traces.research]);
                await expectSearch({ minDuration: '1h' }, []);
                // Root chat requests under 2 s: turn 2 (1.2 s) and the failed one (0.8 s).
                await expectSearch({ service: 'ai-gateway', operation: 'POST /v1/chat', maxDuration: '2s' }, [w.traces.chat2, w.traces.error]);
                await expectSearch({ service: 'ai-gateway', operation: 'POST /v1/chat', minDuration: '1.5s' }, [w.traces.chat1]);
                await expectSearch({ service: 'ai-gateway', minDuration: '1s', maxDuration: '1.5s' }, [w.traces.chat2]);

                // Time range: the research trace runs 180 s .. 192.5 s after base and no other
                // trace starts or ends within 170 s .. 200 s.
                const s = w.base + 170n * SEC;
                const e = w.base + 200n * SEC;
                await expectSearch({ start: String(s), end: String(e) }, [w.traces.research]);
                const iso = (ns) => new Date(Number(ns / 1_000_000n)).toISOString();
                await expectSearch({ start: iso(s), end: iso(e) }, [w.traces.research]);
                await expectSearch({ start: String(w.base + 250n * SEC) }, [w.traces.worker]);
                await expectSearch({ end: String(w.base + 30n * SEC) }, [w.traces.chat1]);

                await expectSearch({ status: 'error' }, where((r) => r.span.status?.code === 2));
                assert.deepEqual(where((r) => r.span.status?.code === 2), [w.traces.error]);
                const err = (await search({ status: 'error' }))[0];
                assert.equal(Number(err.errorCount), 2, 'the failed trace has two error spans');
            });

            test('search by span and resource attributes', async () => {
                const attrWhere = (k, v) => where((r) => valueText(attrMap(r.span.attributes).get(k)) === v || valueText(attrMap(r.resource.attributes).get(k)) === v);
                const cases = [
                    ['gen_ai.request.model', 'claude-sonnet-4'],
                    ['gen_ai.conversation.id', 'conv-0001'],
                    ['gen_ai.operation.name', 'embeddings'],
                    ['gen_ai.usage.output_tokens', '212'],
                    ['cloud.region', 'eu-west-1'],
                    ['service.version', '1.0.0'],
                    ['osprey.test.bool_true', 'true'],
                    ['db.system.name', 'qdrant'],
                ];
                for (const [k, v] of cases) {
                    const want = attrWhere(k, v);
                    assert.ok(want.length > 0, `test design: ${k}=${v} matches something`);
                    await expectSearch({ [`attr.${k}`]: v }, want);
                }
                // Two conditions must both hold (here on the same span, so either reading agrees).
                await expectSearch({ 'attr.gen_ai.provider.name': 'openai', 'attr.gen_ai.request.model': 'gpt-4o-mini' }, [w.traces.research]);
                await expectSearch({ 'attr.gen_ai.provider.name': 'anthropic', 'attr.gen_ai.request.model': 'gpt-4o' }, []);
                await expectSearch({ service: 'agent-orchestrator', 'attr.gen_ai.conversation.id': 'conv-0002' }, [w.traces.error]);
            });

            test('search rejects bad parameters with 400 naming the parameter', async () => {
                for (const [param, value] of [['minDuration', 'soon'], ['maxDuration', '-5x'], ['start', 'yesterday'], ['end', '12:00'], ['limit', 'many'], ['status', 'sideways']]) {
                    const r = await request(api(`/api/v1/traces?${q({ [param]: value })}`));
                    assert.equal(r.status, 400, `${param}=${value}: status`);
                    const msg = r.json().error;
                    assert.ok(typeof msg === 'string' && msg.includes(param), `${param}=${value}: error should name the parameter, got ${JSON.stringify(msg)}`);
                }
            });

            test('services and operations (native API)', async () => {
                const services = [...new Set(sent.map(serviceOf))].sort();
                const s = await getJson(api('/api/v1/services'));
                assert.deepEqual([...s.services].sort(), services);
                for (const svc of services) {
                    const want = [...new Set(sent.filter((r) => serviceOf(r) === svc).map((r) => `${r.span.name}|${normalizeKind(r.span.kind)}`))].sort();
                    const o = await getJson(api(`/api/v1/services/${encodeURIComponent(svc)}/operations`));
                    const got = o.operations.map((x) => `${x.name}|${normalizeKind(x.spanKind)}`).sort();
                    assert.deepEqual(got, want, `operations of ${svc}`);
                }
            });

            test('services, operations and search (Jaeger API)', async () => {
                const services = [...new Set(sent.map(serviceOf))].sort();
                const s = await getJson(api('/api/services'));
                assert.deepEqual([...s.data].sort(), services);
                for (const svc of services) {
                    const want = [...new Set(sent.filter((r) => serviceOf(r) === svc).map((r) => r.span.name))].sort();
                    const o = await getJson(api(`/api/services/${encodeURIComponent(svc)}/operations`));
                    assert.deepEqual([...o.data].sort(), want, `Jaeger operations of ${svc}`);
                }
                const us = (ns) => String(ns / 1000n);
                const window = { start: us(w.base - 60n * SEC), end: us(BigInt(Date.now() + 60000) * 1_000_000n), limit: '100' };
                const jsearch = async (params, { withWindow = true } = {}) => {
                    const body = await getJson(api(`/api/traces?${q({ ...(withWindow ? window : {}), ...params })}`));
                    assert.ok(Array.isArray(body.data), 'Jaeger search: data array');
                    for (const t of body.data) {
                        const id = String(t.traceID).padStart(32, '0');
                        assert.equal(t.spans.length, traces.get(id)?.length, `Jaeger search returns whole traces (${id})`);
                    }
                    return body.data.map((t) => String(t.traceID).padStart(32, '0')).sort();
                };
                assert.deepEqual(await jsearch({ service: 'ai-gateway' }), where((r) => serviceOf(r) === 'ai-gateway'));
                assert.deepEqual(await jsearch({ service: 'ai-gateway', operation: 'POST /v1/research' }), [w.traces.research]);
                assert.deepEqual(await jsearch({ service: 'agent-orchestrator', tags: JSON.stringify({ 'gen_ai.request.model': 'claude-sonnet-4' }) }), [w.traces.chat2]);
                assert.deepEqual(await jsearch({ service: 'ai-gateway', minDuration: '10s' }), [w.traces.research]);
                // Without start/end, as some clients send it: the lookback alone bounds the search.
                assert.deepEqual(await jsearch({ service: 'embedding-worker', lookback: '1h', limit: '20' }, { withWindow: false }), [w.traces.worker]);
            });

            test('GET /metrics is Prometheus text and counts the accepted spans', async () => {
                const r = await request(api('/metrics'));
                assert.equal(r.status, 200);
                assert.match(String(r.headers['content-type']), /^text\/plain/);
                const samples = parseProm(r.text());
                // Spans accepted, by whatever name: "accept" in the metric name or in a label
                // value (e.g. osprey_spans_total{protocol="grpc",result="accepted"}).
                const accepted = samples.filter((s) => /span/.test(s.name) && !/_bucket$|_sum$|_count$/.test(s.name) &&
                    (/accept/.test(s.name) || Object.values(s.labels).some((v) => /^accept/.test(v))));
                assert.ok(accepted.length > 0, `no accepted-spans metric among: ${[...new Set(samples.map((s) => s.name))].join(', ')}`);
                const total = accepted.reduce((a, s) => a + s.value, 0);
                assert.ok(total >= w.spans.length, `accepted spans ${total} < ${w.spans.length} sent`);
            });

            test('after a clean restart every trace is still there, exactly once', async () => {
                const r = await server.stop();
                assert.ok(cleanExit(r), `SIGTERM: ${server.describeExit(r)}`);
                server = await startServer({ name: `interop-${kind}${gz ? '-gzip' : ''}-restart`, dataDir: server.dataDir });
                const problems = [];
                for (const [id, recs] of traces) {
                    const doc = await getJson(api(`/api/v1/traces/${id}`));
                    problems.push(...compareTrace(recs, doc).map((p) => `trace ${id}: ${p}`));
                }
                if (problems.length) fail(problems, 'after restart');
                const got = await search({});
                assert.equal(got.length, traces.size, 'search sees each trace once after restart');
            });

            test('SIGTERM shuts the server down cleanly (exit 0, no sanitizer report)', async () => {
                const r = await server.stop();
                assert.ok(cleanExit(r), server.describeExit(r));
            });
        });
    }
}
