// A realistic multi-service AI workload built with the official OpenTelemetry JS SDK:
// gateway -> agent -> LLM chat calls (gen_ai.*), tool calls, a vector-DB client, an error
// with an exception event, links, several resources and scopes, attributes of every kind
// the SDK can carry, trace_state from a remote parent, span limits that drop data, and
// explicit nanosecond timestamps. It records what the SDK exported so tests can compare.
//
// As a program: node workload.mjs grpc|proto|json [endpoint] [--gzip]
// sends the workload once and prints the trace ids (endpoint defaults to the OTLP ports
// on 127.0.0.1).
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, createTraceState, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

import { captureDiag } from './lib/diag.mjs';
import { canonicalTraces } from './lib/otlp.mjs';

export const SCHEMA_URL = 'https://opentelemetry.io/schemas/1.37.0';
export const FIRST_TOKEN_EVENT = 'gen_ai.first_token';
export const EXPORTERS = ['grpc', 'proto', 'json'];

/** Attributes of every kind the SDK can send (set on the first gateway span). */
export const ATTRIBUTE_KINDS = {
    'osprey.test.string': 'plain',
    'osprey.test.empty_string': '',
    'osprey.test.unicode': 'naïve café — 你好 🚀',
    'osprey.test.escapes': 'quote " backslash \\ slash / newline \n tab \t cr \r ctrl \u0001 del \u007f',
    'osprey.test.long_string': 'x'.repeat(4000),
    'osprey.test.bool_true': true,
    'osprey.test.bool_false': false,
    'osprey.test.int': 42,
    'osprey.test.int_zero': 0,
    'osprey.test.int_negative': -7,
    'osprey.test.int_max_safe': Number.MAX_SAFE_INTEGER,
    'osprey.test.int_min_safe': Number.MIN_SAFE_INTEGER,
    'osprey.test.double': 3.14159,
    'osprey.test.double_negative': -0.001,
    'osprey.test.double_tiny': 5e-324,
    'osprey.test.double_large': 123456789.125,
    'osprey.test.double_small': 1.2345e-300,
    'osprey.test.double_third': 1 / 3,
    'osprey.test.string_array': ['alpha', 'beta', ''],
    'osprey.test.bool_array': [true, false, true],
    'osprey.test.int_array': [1, -2, 3, 0],
    'osprey.test.double_array': [0.5, -1.25, 2.5e-8],
    'osprey.test.empty_array': [],
    'osprey.test.mixed_array': [1, 'two', false, 2.5],
    'osprey.test.bytes': Uint8Array.from([0, 1, 2, 127, 128, 254, 255]),
    'osprey.test.map': { model: 'gpt-4o', nested: { depth: 2, ok: true }, list: [1, 'x'] },
    'osprey.test.empty_map': {},
    'osprey.test.null': null,
};

const MS = 1_000_000n;
const SEC = 1_000_000_000n;

/** A TimeInput (HrTime) for a nanosecond timestamp given as BigInt. */
const hr = (ns) => [Number(ns / SEC), Number(ns % SEC)];

/** Wraps an OTLP exporter and records each export's result and the spans it carried. */
class RecordingExporter {
    constructor(inner) {
        this.inner = inner;
        this.results = []; // {code, error, spans}
        this.exported = []; // spans acknowledged by the server
        this.pending = new Set(); // exports not yet answered
    }

    export(spans, done) {
        let settle;
        const p = new Promise((r) => {
            settle = r;
        });
        this.pending.add(p);
        this.inner.export(spans, (res) => {
            this.results.push({ code: res.code, error: res.error?.message, spans: spans.length });
            if (res.code === 0) this.exported.push(...spans);
            this.pending.delete(p);
            settle();
            done(res);
        });
    }

    /** Resolves when every export started so far has reported its result. */
    async settled() {
        while (this.pending.size) await Promise.all([...this.pending]);
    }

    forceFlush() {
        return this.inner.forceFlush?.() ?? Promise.resolve();
    }

    shutdown() {
        return this.inner.shutdown();
    }
}

/**
 * The OTLP exporter of one kind (grpc, proto = http/protobuf, json = http/json) for a server
 * given as {grpcAddr, otlpHttpUrl}.
 */
export function otlpExporter(kind, server, { gzip = false } = {}) {
    const common = { compression: gzip ? 'gzip' : 'none', timeoutMillis: 15000 };
    switch (kind) {
    case 'grpc': return new GrpcExporter({ ...common, url: `http://${server.grpcAddr}` });
    case 'proto': return new ProtoExporter({ ...common, url: `${server.otlpHttpUrl}/v1/traces` });
    case 'json': return new JsonExporter({ ...common, url: `${server.otlpHttpUrl}/v1/traces` });
    }
    throw new Error(`unknown exporter ${kind}`);
}

function commonResource(service, version, extra = {}) {
    return {
        'service.name': service,
        'service.version': version,
        'service.namespace': 'osprey-e2e',
        'service.instance.id': crypto.randomUUID(),
        'deployment.environment.name': 'e2e',
        'host.name': 'e2e-host-1',
        'process.pid': 4242,
        'telemetry.sdk.language': 'nodejs',
        'telemetry.sdk.name': 'opentelemetry',
        ...extra,
    };
}

/**
 * Creates all spans, exports them through `exporterFor(service)` (a SpanExporter, or null
 * for in-memory only), flushes and shuts the SDK down.
 *
 * Returns {
 *   spans: ReadableSpan[]          everything the SDK finished (in-memory exporter)
 *   acked: ReadableSpan[]          spans in exports that reported success
 *   exportResults: [{service, code, error, spans}]
 *   sentDoc: canonical OTLP/JSON of `spans`, as the SDK's own OTLP serializer writes it
 *   traces: {chat1, chat2, error, research, worker} -> trace id (hex)
 *   remoteParent: {traceId, spanId, traceState} of the worker trace's remote parent
 *   base: BigInt ns all timestamps are relative to
 *   diag: SDK warnings/errors logged during the run
 * }
 */
export async function runWorkload({ exporterFor = () => null, now = Date.now(), batchSize = 8 } = {}) {
    const diagLog = captureDiag();
    const diagStart = diagLog.length;
    // Ten minutes ago, with sub-millisecond digits so nanosecond precision is visible.
    const base = BigInt(now - 10 * 60 * 1000) * MS + 123_457n;
    const t = (ms, ns = 0) => hr(base + BigInt(Math.round(ms * 1000)) * 1000n + BigInt(ns));

    const providers = [];
    const memories = [];
    const recorders = [];
    function provider(resource, spanLimits) {
        const memory = new InMemorySpanExporter();
        const processors = [new SimpleSpanProcessor({ exporter: memory })];
        const inner = exporterFor(resource.attributes['service.name']);
        if (inner) {
            const rec = new RecordingExporter(inner);
            rec.service = resource.attributes['service.name'];
            recorders.push(rec);
            processors.push(new BatchSpanProcessor({ exporter: rec, maxExportBatchSize: batchSize, scheduledDelayMillis: 100 }));
        }
        const p = new TracerProvider({ resource, spanLimits, spanProcessors: processors });
        providers.push(p);
        memories.push(memory);
        return p;
    }
    function tracer(p, name, version, scopeAttributes, schemaUrl) {
        const tr = p.getTracer(name, version, schemaUrl ? { schemaUrl } : undefined);
        // The API has no way to pass scope attributes yet; the SDK's Tracer keeps its scope
        // in a public field that the OTLP serializer reads, attributes included.
        if (scopeAttributes) tr.instrumentationScope.attributes = scopeAttributes;
        return tr;
    }

    const gatewayP = provider(resourceFromAttributes(commonResource('ai-gateway', '1.4.2', {
        'k8s.pod.name': 'ai-gateway-7d9f8-x2kq',
        'osprey.test.resource_tags': ['edge', 'public'],
        'osprey.test.resource_canary': false,
    }), { schemaUrl: SCHEMA_URL }));
    const agentP = provider(resourceFromAttributes(commonResource('agent-orchestrator', '0.9.0', {
        'k8s.pod.name': 'agent-orchestrator-5c4b-zz81',
    }), { schemaUrl: SCHEMA_URL }));
    const ragP = provider(resourceFromAttributes(commonResource('rag-retriever', '2.3.0', {
        'osprey.test.resource_replicas': 3,
    })));
    const toolP = provider(resourceFromAttributes(commonResource('tool-runner', '1.0.0', {
        'osprey.test.resource_load': 0.75,
    })));
    const workerP = provider(resourceFromAttributes(commonResource('embedding-worker', '3.2.1', {
        'cloud.region': 'eu-west-1',
        'cloud.provider': 'aws',
    })), {
        attributeCountLimit: 40,
        eventCountLimit: 3,
        linkCountLimit: 2,
        attributePerEventCountLimit: 2,
        attributePerLinkCountLimit: 2,
    });

    const gw = tracer(gatewayP, 'osprey.e2e.gateway', '1.4.2', { 'scope.owner': 'platform', 'scope.weight': 2, 'scope.tags': ['http', 'edge'] }, SCHEMA_URL);
    const agent = tracer(agentP, 'osprey.e2e.agent', '0.9.0');
    const genai = tracer(agentP, 'osprey.e2e.genai-client', '2.0.0', { 'gen_ai.instrumentation': 'manual', 'scope.ratio': 0.5 });
    const rag = tracer(ragP, 'osprey.e2e.rag');
    const tools = tracer(toolP, 'osprey.e2e.tools', '1.0.0');
    const worker = tracer(workerP, 'osprey.e2e.worker', '3.2.1', { 'scope.queue': 'embed-requests' }, 'https://opentelemetry.io/schemas/1.30.0');

    // Context helpers: a child in the same service has a local parent; a call into another
    // service gets the parent as a remote span context, as a propagator would give it.
    const local = (parent) => trace.setSpan(ROOT_CONTEXT, parent);
    const remote = (parent) => trace.setSpanContext(ROOT_CONTEXT, { ...parent.spanContext(), isRemote: true });

    function chat(parentCtx, at, { model, provider: prov, responseModel, inTok, outTok, finish, conv, ttftMs, durMs, error }) {
        const s = genai.startSpan(`chat ${model}`, {
            kind: SpanKind.CLIENT,
            startTime: t(at, 11),
            attributes: {
                'gen_ai.operation.name': 'chat',
                'gen_ai.provider.name': prov,
                'gen_ai.request.model': model,
                'gen_ai.request.temperature': 0.2,
                'gen_ai.request.max_tokens': 1024,
                'gen_ai.conversation.id': conv,
                'server.address': prov === 'openai' ? 'api.openai.com' : 'api.anthropic.com',
                'server.port': 443,
            },
        }, parentCtx);
        s.addEvent('gen_ai.client.inference.operation.details', {
            'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Where is my order #1234?' }] }]),
            'gen_ai.system_instructions': 'You are a helpful support agent.',
        }, t(at + 1, 7));
        if (error) {
            const err = new Error(error.message);
            err.name = error.type;
            err.stack = `${error.type}: ${error.message}\n    at callModel (agent/llm.js:42:7)\n    at runAgent (agent/agent.js:88:15)`;
            s.recordException(err, t(at + durMs - 1, 3));
            s.setAttribute('error.type', error.type);
            s.setStatus({ code: SpanStatusCode.ERROR, message: error.status });
        } else {
            s.addEvent(FIRST_TOKEN_EVENT, { 'gen_ai.response.first_token_ms': ttftMs }, t(at + ttftMs, 999));
            s.setAttributes({
                'gen_ai.response.model': responseModel,
                'gen_ai.response.id': `resp-${crypto.randomBytes(6).toString('hex')}`,
                'gen_ai.response.finish_reasons': finish,
                'gen_ai.usage.input_tokens': inTok,
                'gen_ai.usage.output_tokens': outTok,
            });
        }
        s.end(t(at + durMs, 5));
        return s;
    }

    function toolCall(parentSpan, at, name, durMs) {
        const s = agent.startSpan(`execute_tool ${name}`, {
            kind: SpanKind.INTERNAL,
            startTime: t(at, 21),
            attributes: {
                'gen_ai.operation.name': 'execute_tool',
                'gen_ai.tool.name': name,
                'gen_ai.tool.type': 'function',
                'gen_ai.tool.call.id': `call_${crypto.randomBytes(4).toString('hex')}`,
            },
        }, local(parentSpan));
        const srv = tools.startSpan(`POST /tools/${name}`, {
            kind: SpanKind.SERVER,
            startTime: t(at + 2, 31),
            attributes: { 'http.request.method': 'POST', 'http.route': `/tools/${name}`, 'http.response.status_code': 200 },
        }, remote(s));
        srv.end(t(at + durMs - 2, 41));
        s.end(t(at + durMs, 51));
        return s;
    }

    function retrieve(parentSpan, at, durMs, topK) {
        const srv = rag.startSpan('POST /retrieve', {
            kind: SpanKind.SERVER,
            startTime: t(at, 61),
            attributes: { 'http.request.method': 'POST', 'http.route': '/retrieve', 'http.response.status_code': 200 },
        }, remote(parentSpan));
        const q = rag.startSpan('query product-docs', {
            kind: SpanKind.CLIENT,
            startTime: t(at + 3, 71),
            attributes: {
                'db.system.name': 'qdrant',
                'db.operation.name': 'query',
                'db.collection.name': 'product-docs',
                'db.query.text': `search top_k=${topK}`,
                'db.response.returned_rows': topK,
                'server.address': 'qdrant.internal',
                'server.port': 6333,
            },
        }, local(srv));
        q.addEvent('cache.miss', t(at + 4, 81));
        q.end(t(at + durMs - 3, 91));
        srv.end(t(at + durMs, 1));
        return srv;
    }

    function gateway(at, route, conv, extra = {}) {
        return gw.startSpan(`POST ${route}`, {
            kind: SpanKind.SERVER,
            startTime: t(at, 101),
            attributes: {
                'http.request.method': 'POST',
                'http.route': route,
                'url.path': route,
                'url.scheme': 'https',
                'server.address': 'api.example.test',
                'server.port': 443,
                'client.address': '203.0.113.7',
                'user_agent.original': 'osprey-e2e/1.0',
                'gen_ai.conversation.id': conv,
            },
            ...extra,
        }, ROOT_CONTEXT);
    }

    function invokeAgent(gwSpan, at, name, conv) {
        return agent.startSpan(`invoke_agent ${name}`, {
            kind: SpanKind.INTERNAL,
            startTime: t(at, 111),
            attributes: {
                'gen_ai.operation.name': 'invoke_agent',
                'gen_ai.agent.name': name,
                'gen_ai.agent.id': `agent-${name}`,
                'gen_ai.conversation.id': conv,
            },
        }, remote(gwSpan));
    }

    // T1: a chat turn with retrieval, a tool call and two LLM calls (0 s .. 2.5 s).
    const g1 = gateway(0, '/v1/chat', 'conv-0001');
    g1.setAttributes(ATTRIBUTE_KINDS);
    const a1 = invokeAgent(g1, 5, 'support-agent', 'conv-0001');
    retrieve(a1, 10, 120, 5);
    chat(local(a1), 140, { model: 'gpt-4o', provider: 'openai', responseModel: 'gpt-4o-2024-08-06', inTok: 1200, outTok: 87, finish: ['tool_calls'], conv: 'conv-0001', ttftMs: 350, durMs: 900 });
    toolCall(a1, 1050, 'get_order_status', 300);
    chat(local(a1), 1400, { model: 'gpt-4o', provider: 'openai', responseModel: 'gpt-4o-2024-08-06', inTok: 1450, outTok: 212, finish: ['stop'], conv: 'conv-0001', ttftMs: 280, durMs: 1000 });
    a1.end(t(2450, 121));
    g1.setAttribute('http.response.status_code', 200);
    g1.setStatus({ code: SpanStatusCode.OK });
    g1.end(t(2500, 131));

    // T2: the next turn of the same conversation, linked to the first (60 s .. 61.2 s).
    const g2 = gateway(60000, '/v1/chat', 'conv-0001', {
        links: [{ context: g1.spanContext(), attributes: { 'link.type': 'previous_turn', 'conversation.turn': 1 } }],
    });
    const a2 = invokeAgent(g2, 60005, 'support-agent', 'conv-0001');
    chat(local(a2), 60010, { model: 'claude-sonnet-4', provider: 'anthropic', responseModel: 'claude-sonnet-4-20250514', inTok: 900, outTok: 45, finish: ['end_turn'], conv: 'conv-0001', ttftMs: 410, durMs: 1100 });
    a2.end(t(61150, 141));
    g2.setAttribute('http.response.status_code', 200);
    g2.end(t(61200, 151));

    // T3: the model provider fails; the error surfaces at the gateway (120 s .. 120.8 s).
    const g3 = gateway(120000, '/v1/chat', 'conv-0002');
    const a3 = invokeAgent(g3, 120005, 'support-agent', 'conv-0002');
    const c3 = chat(local(a3), 120010, {
        model: 'gpt-4o', provider: 'openai', conv: 'conv-0002', durMs: 700,
        error: { type: 'RateLimitError', message: '429 Too Many Requests: rate limit exceeded for gpt-4o', status: 'rate limited by provider' },
    });
    a3.end(t(120750, 161));
    g3.setAttributes({ 'http.response.status_code': 502, 'error.type': '502' });
    g3.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream model unavailable' });
    g3.end(t(120800, 171));

    // T4: a slow research agent with several rounds of model and tool calls (180 s .. 192.5 s).
    const g4 = gateway(180000, '/v1/research', 'conv-0003');
    const a4 = invokeAgent(g4, 180010, 'research-agent', 'conv-0003');
    let at = 180020;
    for (const name of ['web_search', 'fetch_page', 'summarize']) {
        chat(local(a4), at, { model: 'gpt-4o-mini', provider: 'openai', responseModel: 'gpt-4o-mini-2024-07-18', inTok: 3000, outTok: 150, finish: ['tool_calls'], conv: 'conv-0003', ttftMs: 300, durMs: 1500 });
        toolCall(a4, at + 1600, name, 2000);
        at += 3700;
    }
    retrieve(a4, at, 400, 20);
    chat(local(a4), at + 450, { model: 'gpt-4o-mini', provider: 'openai', responseModel: 'gpt-4o-mini-2024-07-18', inTok: 8000, outTok: 900, finish: ['stop'], conv: 'conv-0003', ttftMs: 500, durMs: 900 });
    a4.end(t(192450, 181));
    g4.setAttribute('http.response.status_code', 200);
    g4.end(t(192500, 191));

    // T5: a queue consumer continuing a trace from an uninstrumented producer (remote parent
    // with trace_state), linking back to T1 and T3, with span limits that drop data
    // (300 s .. 300.9 s).
    const remoteParent = {
        traceId: crypto.randomBytes(16).toString('hex'),
        spanId: crypto.randomBytes(8).toString('hex'),
        traceFlags: TraceFlags.SAMPLED,
        isRemote: true,
        traceState: createTraceState('osprey=t61rcWkgMzE,vendor2=opaque-value'),
    };
    const consumer = worker.startSpan('process embed-requests', {
        kind: SpanKind.CONSUMER,
        startTime: t(300000, 201),
        attributes: {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'process',
            'messaging.destination.name': 'embed-requests',
            'messaging.batch.message_count': 2,
        },
        links: [
            { context: g1.spanContext(), attributes: { 'link.reason': 'requested_by', 'conversation.turn': 1 } },
            {
                context: { ...c3.spanContext(), isRemote: true, traceState: createTraceState('vendor=link-state') },
                attributes: { 'link.reason': 'retry_of' },
            },
        ],
    }, trace.setSpanContext(ROOT_CONTEXT, remoteParent));
    const emb = worker.startSpan('embeddings text-embedding-3-small', {
        kind: SpanKind.CLIENT,
        startTime: t(300010, 211),
        attributes: {
            'gen_ai.operation.name': 'embeddings',
            'gen_ai.provider.name': 'openai',
            'gen_ai.request.model': 'text-embedding-3-small',
            'gen_ai.usage.input_tokens': 512,
        },
    }, local(consumer));
    emb.end(t(300400, 221));
    const limited = worker.startSpan('osprey.limits', {
        kind: SpanKind.INTERNAL,
        startTime: t(300410, 231),
        links: [1, 2, 3, 4].map((i) => ({
            context: { traceId: crypto.randomBytes(16).toString('hex'), spanId: crypto.randomBytes(8).toString('hex'), traceFlags: i % 2 },
            attributes: { 'link.index': i, 'link.a': 'a', 'link.b': 'b' },
        })),
    }, local(consumer));
    for (let i = 0; i < 45; i++) limited.setAttribute(`osprey.limit.attr_${String(i).padStart(2, '0')}`, i);
    for (let i = 0; i < 5; i++) limited.addEvent(`limit.event.${i}`, { 'event.index': i, 'event.a': 'a', 'event.b': 'b', 'event.c': 'c' }, t(300420 + i, 241));
    limited.end(t(300500, 251));
    const prod = worker.startSpan('send embeddings-ready', {
        kind: SpanKind.PRODUCER,
        startTime: t(300600, 261),
        attributes: { 'messaging.system': 'kafka', 'messaging.operation.type': 'send', 'messaging.destination.name': 'embeddings-ready' },
    }, local(consumer));
    prod.end(t(300700, 271));
    consumer.end(t(300900, 281));

    // forceFlush() exports what is queued but does not wait for an export that a full batch
    // started earlier; settled() does.
    await Promise.all(providers.map((p) => p.forceFlush()));
    await Promise.all(recorders.map((r) => r.settled()));
    const spans = memories.flatMap((m) => [...m.getFinishedSpans()]);
    await Promise.all(providers.map((p) => p.shutdown()));
    const acked = recorders.flatMap((r) => r.exported);
    const exportResults = recorders.flatMap((r) => r.results.map((x) => ({ service: r.service, ...x })));

    const sentDoc = canonicalTraces(JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(spans)).toString('utf8')));
    return {
        spans,
        acked,
        exportResults,
        sentDoc,
        traces: {
            chat1: g1.spanContext().traceId,
            chat2: g2.spanContext().traceId,
            error: g3.spanContext().traceId,
            research: g4.spanContext().traceId,
            worker: remoteParent.traceId,
        },
        remoteParent: { traceId: remoteParent.traceId, spanId: remoteParent.spanId, traceState: remoteParent.traceState.serialize() },
        base,
        diag: diagLog.slice(diagStart),
    };
}

// ---------------------------------------------------------------- command line
if (process.argv[1] === fileURLToPath(import.meta.url)) {
    const [kind = 'proto', endpoint] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
    const gz = process.argv.includes('--gzip');
    const server = {
        grpcAddr: endpoint ?? '127.0.0.1:4317',
        otlpHttpUrl: endpoint ?? 'http://127.0.0.1:4318',
    };
    const w = await runWorkload({ exporterFor: () => otlpExporter(kind, server, { gzip: gz }) });
    for (const r of w.exportResults) if (r.code !== 0) console.error(`export failed (${r.service}): ${r.error}`);
    for (const line of w.diag) console.error(line);
    console.log(JSON.stringify({ spans: w.spans.length, acked: w.acked.length, traces: w.traces }, null, 2));
}
