// A deterministic (seeded) multi-service workload for the golden-signals test, built with the
// official OpenTelemetry JS SDK: a front door (web-gateway) whose SERVER spans call other
// services (CLIENT -> SERVER pairs, so service-graph edges form), a PostgreSQL database and
// LLM providers nobody instruments (CLIENT spans with db.system.name / gen_ai.provider.name /
// gen_ai.system), and LLM, tool and agent spans in each AI convention found in the wild:
// current OpenTelemetry gen_ai.* (streamed, with a gen_ai.first_token event), its deprecated
// names, OpenInference, Traceloop (OpenLLMetry), CloudWeGo Eino's APMPlus handler and
// Langfuse; some with cache reads and writes, some failing. Alongside the spans it keeps a
// ledger of every fact it put in them (durations, tokens, TTFT, ...) so a test can compute
// what the server must derive without asking the server.
//
// As a program: node genai-workload.mjs [otlp-http-url] sends the workload once.
import { fileURLToPath } from 'node:url';

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

import { prng } from './lib/prng.mjs';

/** Requests through the front door; LLM-only root traces of the two services without one. */
export const REQUESTS = 40;
export const EINO_RUNS = 6;
export const SELF_METERED_RUNS = 4;
/** Front-door traces whose web-gateway spans are sent DELAY_MS after the rest. */
export const DELAYED_TRACES = 4;
export const DELAY_MS = 2000;
/** The service that sends its own gen_ai.client.operation.duration histogram. */
export const SELF_METERED = 'self-metered';
/** Every service's resource: its name and these. */
const RESOURCE = { 'service.namespace': 'golden-e2e', 'deployment.environment.name': 'e2e' };
/** The job label OTLP metrics of a service get (namespace/name). */
export const jobOf = (service) => `${RESOURCE['service.namespace']}/${service}`;

const US = 1000n;
const MS = 1_000_000n;
const SEC = 1_000_000_000n;
const hr = (ns) => [Number(ns / SEC), Number(ns % SEC)];

const SPAN_KINDS = ['SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

/**
 * What the derivers see of a finished SDK span: {traceId, spanId, parentSpanId, service,
 * kind ("SPAN_KIND_SERVER"...), status ("STATUS_CODE_ERROR"...), durationS, attributes}.
 */
export function spanFacts(s) {
    const ns = (t) => BigInt(t[0]) * SEC + BigInt(t[1]);
    return {
        traceId: s.spanContext().traceId,
        spanId: s.spanContext().spanId,
        parentSpanId: s.parentSpanContext?.spanId ?? s.parentSpanId ?? '',
        name: s.name,
        service: s.resource.attributes['service.name'],
        kind: SPAN_KINDS[s.kind],
        status: STATUS_CODES[s.status.code],
        durationS: Number(ns(s.endTime) - ns(s.startTime)) / 1e9,
        attributes: s.attributes,
    };
}

/**
 * Builds the whole workload in memory (nothing is sent). now: the wall clock in ms; span
 * times lie in the five minutes before it.
 *
 * Returns {
 *   spans: ReadableSpan[]            every span, in creation order
 *   delayed: Set<ReadableSpan>       those to send DELAY_MS after the others
 *   calls: [ledger entry]            one per AI span the derivers must count (see aiCall)
 *   diagnose: {convention -> {traceId, spanId, expect: {field -> {status, attribute?, convention?, value?}}}}
 *   selfMeteredDurations: [{attributes, seconds}]  what the app's own histogram records
 * }
 */
export function buildWorkload({ now = Date.now(), seed = 20261121 } = {}) {
    const rand = prng(seed);
    const base = BigInt(now - 5 * 60 * 1000) * MS;
    /** An odd number of microseconds in [lo, hi) ms: never a whole millisecond (bucket bounds are). */
    const usIn = (lo, hi) => {
        const us = Math.floor(lo * 1000 + rand() * (hi - lo) * 1000);
        return us | 1;
    };
    const pick = (xs) => xs[Math.floor(rand() * xs.length)];
    const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
    const at = (us) => hr(base + BigInt(us) * US);

    const providers = [];
    const memories = [];
    const tracers = new Map();
    const tracerOf = (service) => {
        if (!tracers.has(service)) {
            const memory = new InMemorySpanExporter();
            const p = new TracerProvider({
                resource: resourceFromAttributes({ 'service.name': service, ...RESOURCE }),
                spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
            });
            providers.push(p);
            memories.push(memory);
            tracers.set(service, p.getTracer(`golden.e2e.${service}`, '1.0.0'));
        }
        return tracers.get(service);
    };
    const local = (parent) => trace.setSpan(ROOT_CONTEXT, parent);
    const remote = (parent) => trace.setSpanContext(ROOT_CONTEXT, { ...parent.spanContext(), isRemote: true });

    /** Starts a span of service at startUs (µs after base); end with finish(). */
    function open(service, name, kind, startUs, attributes, ctx = ROOT_CONTEXT) {
        const s = tracerOf(service).startSpan(name, { kind, startTime: at(startUs), attributes }, ctx);
        s.startUs = startUs;
        return s;
    }
    function finish(s, endUs, error) {
        if (error) s.setStatus({ code: SpanStatusCode.ERROR, message: error });
        s.end(at(endUs));
        s.endUs = endUs;
        return endUs;
    }

    const calls = [];
    const diagnose = {};
    const delayedSpans = [];

    /**
     * Records one AI span in the ledger: service, type (llm, embedding, tool, agent),
     * operation, provider, model, durationS, error (error type or null), tokens (input =
     * total input with cached tokens included; uncached = input less cache reads and
     * writes), ttftS and tpotS (null when none), streamed.
     */
    function aiCall(s, c) {
        const durationS = (s.endUs - s.startUs) / 1e6;
        const tok = { input: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0, ...c.tokens };
        const ttftS = c.ttftUs === undefined ? null : c.ttftUs / 1e6;
        const tpotS = c.streamed && ttftS !== null && tok.output >= 2 ? (durationS - ttftS) / (tok.output - 1) : null;
        calls.push({
            service: s.resource.attributes['service.name'],
            traceId: s.spanContext().traceId,
            spanId: s.spanContext().spanId,
            provider: '',
            model: '',
            error: null,
            streamed: false,
            ...c,
            tokens: { ...tok, uncached: tok.input - tok.cacheRead - tok.cacheWrite },
            hasTokens: c.tokens !== undefined,
            durationS,
            ttftS,
            tpotS,
        });
    }

    // ---- current OpenTelemetry gen_ai.* (chat-service -> openai, streamed)
    function otelChat(service, parent, startUs, { model, provider, fail, cacheRead = 0, reasoning = 0 }) {
        const attrs = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': provider, 'gen_ai.request.model': model, 'server.address': `api.${provider}.example` };
        const s = open(service, `chat ${model}`, SpanKind.CLIENT, startUs, attrs, local(parent));
        const durUs = usIn(800, 3000);
        if (fail) {
            s.setAttribute('error.type', fail);
            finish(s, startUs + durUs, 'rate limited');
            aiCall(s, { type: 'llm', op: 'chat', provider, model, error: fail });
            return s;
        }
        const input = int(300, 4000);
        const output = int(20, 600);
        const ttftUs = usIn(150, 600);
        s.addEvent('gen_ai.first_token', {}, at(startUs + ttftUs));
        s.setAttributes({
            'gen_ai.response.model': model,
            'gen_ai.usage.input_tokens': input,
            'gen_ai.usage.output_tokens': output,
            'gen_ai.response.finish_reasons': ['stop'],
            ...(cacheRead ? { 'gen_ai.usage.cache_read.input_tokens': cacheRead } : {}),
            ...(reasoning ? { 'gen_ai.usage.reasoning.output_tokens': reasoning } : {}),
        });
        finish(s, startUs + durUs);
        aiCall(s, { type: 'llm', op: 'chat', provider, model, streamed: true, ttftUs, tokens: { input, output, cacheRead, reasoning } });
        return s;
    }

    function otelEmbedding(service, parent, startUs) {
        const model = 'acme-embed-1';
        const input = int(50, 900);
        const s = open(service, `embeddings ${model}`, SpanKind.CLIENT, startUs, {
            'gen_ai.operation.name': 'embeddings',
            'gen_ai.provider.name': 'openai',
            'gen_ai.request.model': model,
            'gen_ai.usage.input_tokens': input,
        }, local(parent));
        finish(s, startUs + usIn(20, 120));
        aiCall(s, { type: 'embedding', op: 'embeddings', provider: 'openai', model, tokens: { input } });
        return s;
    }

    // ---- deprecated OpenTelemetry names (chat-service -> anthropic)
    function deprecatedChat(service, parent, startUs, withCacheWrite) {
        const model = 'acme-claude-mid';
        const input = int(1000, 3000);
        const output = int(20, 400);
        const cacheWrite = withCacheWrite ? int(100, 500) : 0;
        const s = open(service, `anthropic.messages ${model}`, SpanKind.CLIENT, startUs, {
            'gen_ai.system': 'anthropic',
            'gen_ai.request.model': model,
            'gen_ai.usage.prompt_tokens': input,
            'gen_ai.usage.completion_tokens': output,
            ...(cacheWrite ? { 'gen_ai.usage.cache_creation_input_tokens': cacheWrite } : {}),
            'gen_ai.prompt.0.role': 'user',
            'gen_ai.prompt.0.content': 'Summarize my last order',
            'gen_ai.completion.0.role': 'assistant',
            'gen_ai.completion.0.content': 'You ordered a kettle.',
            'gen_ai.completion.0.finish_reason': 'end_turn',
        }, local(parent));
        finish(s, startUs + usIn(600, 2000));
        aiCall(s, { type: 'llm', op: 'chat', provider: 'anthropic', model, tokens: { input, output, cacheWrite } });
        return s;
    }

    // ---- the front door and its downstream services
    function dbCall(service, parent, startUs) {
        const s = open(service, 'SELECT chat.messages', SpanKind.CLIENT, startUs, {
            'db.system.name': 'postgresql',
            'db.namespace': 'chat',
            'db.operation.name': 'SELECT',
            'server.address': 'pg.internal',
        }, local(parent));
        return finish(s, startUs + usIn(2, 30));
    }

    /** chat-service: a database read, then one OpenTelemetry call (current or deprecated names, or an embedding). */
    function chatService(srv, i) {
        let t = dbCall('chat-service', srv, srv.startUs + 2001) + 1001;
        let failed = null;
        const variant = i % 8;
        if (variant <= 2) {
            const fail = i % 5 === 4 ? 'RateLimitError' : null;
            const c = otelChat('chat-service', srv, t, {
                model: 'acme-gpt-large', provider: 'openai', fail,
                cacheRead: i % 3 === 0 ? int(100, 250) : 0, reasoning: i % 4 === 1 ? int(5, 15) : 0,
            });
            failed = fail && 'model call failed';
            if (variant === 0 && !diagnose.otel && !fail) diagnose.otel = otelExpect(c);
            t = c.endUs;
        } else if (variant === 3) {
            const c = deprecatedChat('chat-service', srv, t, i % 2 === 1);
            if (!diagnose['otel-deprecated']) diagnose['otel-deprecated'] = deprecatedExpect(c);
            t = c.endUs;
        } else {
            t = otelEmbedding('chat-service', srv, t).endUs;
        }
        return { endUs: t + 1001, failed };
    }

    // ---- OpenInference (agent-service): AGENT span with the session, LLM and TOOL children
    function agentService(srv, i) {
        const session = `oi-session-${i}`;
        const agent = open('agent-service', 'planner', SpanKind.INTERNAL, srv.startUs + 1001, {
            'openinference.span.kind': 'AGENT',
            'agent.name': 'planner',
            'session.id': session,
            'user.id': `user-${i % 3}`,
            'input.value': 'Plan my trip',
        }, local(srv));
        const model = 'acme-gpt-small';
        let t = agent.startUs + 1001;
        let first = null;
        for (let k = 0; k < 2; k++) {
            const fail = i === 12 && k === 1;
            const llm = open('agent-service', 'ChatCompletion', SpanKind.INTERNAL, t, {
                'openinference.span.kind': 'LLM',
                'llm.model_name': model,
                'llm.provider': 'openai',
                'input.value': '{"messages":[{"role":"user","content":"Plan my trip"}]}',
            }, local(agent));
            const durUs = usIn(300, 1500);
            if (fail) {
                llm.recordException({ name: 'APITimeoutError', message: 'Request timed out.' }, at(t + durUs - 11));
                finish(llm, t + durUs, 'timeout');
                aiCall(llm, { type: 'llm', op: 'chat', provider: 'openai', model, error: 'APITimeoutError' });
            } else {
                const input = int(200, 2000);
                const output = int(10, 300);
                const cacheRead = k === 0 ? int(50, 150) : 0;
                llm.setAttributes({
                    'llm.token_count.prompt': input,
                    'llm.token_count.completion': output,
                    'llm.token_count.total': input + output,
                    ...(cacheRead ? { 'llm.token_count.prompt_details.cache_read': cacheRead } : {}),
                    'output.value': 'Day 1: ...',
                });
                finish(llm, t + durUs);
                aiCall(llm, { type: 'llm', op: 'chat', provider: 'openai', model, tokens: { input, output, cacheRead } });
                first ??= llm;
            }
            t += durUs + 1001;
            const tool = open('agent-service', 'search_docs', SpanKind.INTERNAL, t, {
                'openinference.span.kind': 'TOOL',
                'tool.name': 'search_docs',
            }, local(agent));
            t = finish(tool, t + usIn(5, 80)) + 1001;
            aiCall(tool, { type: 'tool', op: 'execute_tool' });
        }
        finish(agent, t);
        aiCall(agent, { type: 'agent', op: 'invoke_agent' });
        if (!diagnose.openinference && first) diagnose.openinference = openInferenceExpect(first, session);
        return { endUs: t + 1001, failed: null };
    }

    // ---- Traceloop / OpenLLMetry (support-bot): a workflow with the association properties,
    // an Anthropic-style LLM call counting cache reads beside the input, and a tool
    function supportBot(srv, i) {
        const session = `tl-session-${i}`;
        const wf = open('support-bot', 'answer_ticket.workflow', SpanKind.INTERNAL, srv.startUs + 1001, {
            'traceloop.span.kind': 'workflow',
            'traceloop.entity.name': 'answer_ticket',
            'traceloop.workflow.name': 'answer_ticket',
            'traceloop.association.properties.session_id': session,
            'traceloop.association.properties.user_id': `user-${i % 3}`,
        }, local(srv));
        const model = 'acme-claude-mid';
        const input = int(50, 300);
        const cacheRead = int(1500, 4000); // larger than the input: counted beside it
        const output = int(30, 500);
        const llm = open('support-bot', 'anthropic.chat', SpanKind.CLIENT, wf.startUs + 1001, {
            'llm.request.type': 'chat',
            'gen_ai.system': 'anthropic',
            'gen_ai.request.model': model,
            'gen_ai.response.model': model,
            'llm.usage.prompt_tokens': input,
            'llm.usage.completion_tokens': output,
            'llm.usage.cache_read_input_tokens': cacheRead,
            'llm.is_streaming': true,
            'gen_ai.prompt.0.role': 'user',
            'gen_ai.prompt.0.content': 'Where is my parcel?',
        }, local(wf));
        finish(llm, llm.startUs + usIn(700, 2500));
        // No TTFT in this convention: streamed, but no TPOT.
        aiCall(llm, { type: 'llm', op: 'chat', provider: 'anthropic', model, streamed: true, tokens: { input: input + cacheRead, output, cacheRead } });
        const tool = open('support-bot', 'lookup_order.tool', SpanKind.INTERNAL, llm.endUs + 1001, {
            'traceloop.span.kind': 'tool',
            'traceloop.entity.name': 'lookup_order',
        }, local(wf));
        finish(tool, tool.startUs + usIn(3, 40));
        aiCall(tool, { type: 'tool', op: 'execute_tool' });
        finish(wf, tool.endUs + 1001);
        if (!diagnose.traceloop) diagnose.traceloop = traceloopExpect(llm, session);
        return { endUs: wf.endUs + 1001, failed: null };
    }

    // ---- Langfuse (notes-service): a generation with a completion start time
    function notesService(srv) {
        const model = 'acme-gpt-large';
        const input = int(100, 1500);
        const output = int(40, 400);
        const startUs = srv.startUs + 1001;
        const ttftUs = Math.ceil(startUs / 1000) * 1000 + int(200, 700) * 1000 - startUs; // completion start on a whole ms
        const completionStart = new Date(Number((base + BigInt(startUs + ttftUs) * US) / MS)).toISOString();
        const gen = open('notes-service', 'summarize-note', SpanKind.INTERNAL, startUs, {
            'langfuse.observation.type': 'generation',
            'langfuse.session.id': `lf-session-${startUs}`,
            'langfuse.user.id': 'user-lf',
            'langfuse.observation.completion_start_time': completionStart,
            'gen_ai.system': 'openai',
            'gen_ai.request.model': model,
            'gen_ai.request.stream': true,
            'gen_ai.usage.input_tokens': input,
            'gen_ai.usage.output_tokens': output,
        }, local(srv));
        finish(gen, startUs + ttftUs + usIn(300, 1500));
        aiCall(gen, { type: 'llm', op: 'chat', provider: 'openai', model, streamed: true, ttftUs, tokens: { input, output } });
        if (!diagnose.langfuse) diagnose.langfuse = langfuseExpect(gen, `lf-session-${startUs}`);
        return { endUs: gen.endUs + 1001, failed: null };
    }

    const DOWNSTREAM = [
        ['chat-service', '/chat', chatService], ['chat-service', '/chat', chatService], ['chat-service', '/chat', chatService],
        ['chat-service', '/chat', chatService], ['agent-service', '/agent', agentService], ['support-bot', '/ticket', supportBot],
        ['notes-service', '/notes', notesService], ['chat-service', '/chat', chatService],
    ];

    for (let i = 0; i < REQUESTS; i++) {
        const [svc, route, body] = DOWNSTREAM[i % 8];
        const t0 = i * 3_000_000 + 1;
        const gw = open('web-gateway', `POST /api${route}`, SpanKind.SERVER, t0, { 'http.request.method': 'POST', 'http.route': `/api${route}` });
        const cl = open('web-gateway', `POST ${route}`, SpanKind.CLIENT, t0 + 1001, { 'http.request.method': 'POST', 'server.address': `${svc}.internal`, 'url.full': `http://${svc}.internal${route}` }, local(gw));
        const srv = open(svc, `POST ${route}`, SpanKind.SERVER, t0 + 2001, { 'http.request.method': 'POST', 'http.route': route }, remote(cl));
        const r = body(srv, i);
        finish(srv, r.endUs, r.failed);
        finish(cl, r.endUs + 1001, r.failed);
        finish(gw, r.endUs + 2001 + usIn(0, 3), r.failed);
        if (i >= REQUESTS - DELAYED_TRACES) delayedSpans.push(gw, cl);
    }

    // ---- CloudWeGo Eino APMPlus (eino-agent): root agent spans carrying the session, streamed
    // chat_model calls with a time to first chunk, a tool; one call fails
    for (let r = 0; r < EINO_RUNS; r++) {
        const session = `eino-session-${r}`;
        const root = open('eino-agent', 'react_agent', SpanKind.INTERNAL, 150_000_000 + r * 2_000_000 + 1, {
            'gen_ai.span.kind': 'agent',
            'gen_ai.agent.name': 'react_agent',
            'gen_ai.session.id': session,
            'gen_ai.user.id': `eino-user-${r % 2}`,
        });
        let t = root.startUs + 1001;
        const model = 'acme-ark-pro';
        for (let k = 0; k < 2; k++) {
            const s = open('eino-agent', 'ChatModel', SpanKind.CLIENT, t, {
                'gen_ai.span.kind': 'chat_model',
                'gen_ai.system': 'deepseek',
                'gen_ai.request.model': model,
                'gen_ai.is_streaming': true,
            }, local(root));
            const durUs = usIn(500, 2500);
            if (r === 3 && k === 1) {
                s.setAttribute('error.type', 'context_length_exceeded');
                finish(s, t + durUs, 'context too long');
                aiCall(s, { type: 'llm', op: 'chat', provider: 'deepseek', model, streamed: true, error: 'context_length_exceeded' });
            } else {
                const input = int(500, 5000);
                const output = int(10, 800);
                const cacheRead = k === 1 ? int(100, 400) : 0;
                const ttftUs = usIn(100, 450);
                s.setAttributes({
                    'gen_ai.usage.input_tokens': input,
                    'gen_ai.usage.output_tokens': output,
                    ...(cacheRead ? { 'gen_ai.usage.cache_read.input_tokens': cacheRead } : {}),
                    'gen_ai.response.time_to_first_chunk': ttftUs / 1e6,
                });
                finish(s, t + durUs);
                aiCall(s, { type: 'llm', op: 'chat', provider: 'deepseek', model, streamed: true, ttftUs, tokens: { input, output, cacheRead } });
                if (!diagnose.eino) diagnose.eino = einoExpect(s, session);
            }
            t += durUs + 1001;
        }
        const tool = open('eino-agent', 'calculator', SpanKind.INTERNAL, t, { 'gen_ai.span.kind': 'tool', 'gen_ai.tool.name': 'calculator' }, local(root));
        t = finish(tool, t + usIn(1, 9)) + 1001;
        aiCall(tool, { type: 'tool', op: 'execute_tool' });
        finish(root, t);
        aiCall(root, { type: 'agent', op: 'invoke_agent' });
    }

    // ---- self-metered: plain OpenTelemetry calls from a service that also records its own
    // gen_ai.client.operation.duration histogram
    const selfMeteredDurations = [];
    for (let r = 0; r < SELF_METERED_RUNS; r++) {
        const root = open(SELF_METERED, 'summarize batch', SpanKind.INTERNAL, 200_000_000 + r * 3_000_000 + 1, { 'batch.size': 10 });
        const model = 'acme-mistral';
        const input = int(100, 900);
        const output = int(5, 90);
        const s = open(SELF_METERED, `chat ${model}`, SpanKind.CLIENT, root.startUs + 1001, {
            'gen_ai.operation.name': 'chat',
            'gen_ai.provider.name': 'mistral_ai',
            'gen_ai.request.model': model,
            'gen_ai.usage.input_tokens': input,
            'gen_ai.usage.output_tokens': output,
        }, local(root));
        finish(s, s.startUs + usIn(200, 900));
        aiCall(s, { type: 'llm', op: 'chat', provider: 'mistral_ai', model, tokens: { input, output } });
        finish(root, s.endUs + 1001);
        selfMeteredDurations.push({
            seconds: (s.endUs - s.startUs) / 1e6,
            attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'mistral_ai', 'gen_ai.request.model': model },
        });
    }

    const spans = memories.flatMap((m) => [...m.getFinishedSpans()]);
    return { spans, delayed: new Set(delayedSpans), calls, diagnose, selfMeteredDurations, providers };
}

// ---- what GET /api/v1/llm/diagnose must say about one span of each convention
const filled = (attribute, convention, value) => ({ status: 'filled', attribute, ...(convention ? { convention } : {}), ...(value === undefined ? {} : { value }) });
const ids = (s) => ({ traceId: s.spanContext().traceId, spanId: s.spanContext().spanId });

function otelExpect(s) {
    const a = s.attributes;
    return {
        ...ids(s),
        conventions: ['otel'],
        fields: {
            type: { status: 'filled', attribute: 'gen_ai.operation.name', value: 'llm' },
            provider: filled('gen_ai.provider.name', 'otel', 'openai'),
            request_model: filled('gen_ai.request.model', 'otel', a['gen_ai.request.model']),
            input_tokens: filled('gen_ai.usage.input_tokens', 'otel', a['gen_ai.usage.input_tokens']),
            output_tokens: filled('gen_ai.usage.output_tokens', 'otel', a['gen_ai.usage.output_tokens']),
            ttft: { status: 'filled', attribute: /first_token/ },
            tpot: { status: 'derived' },
            streaming: { status: 'derived' },
            session_id: { status: 'missing' },
        },
    };
}

function deprecatedExpect(s) {
    const a = s.attributes;
    return {
        ...ids(s),
        conventions: ['otel-deprecated'],
        fields: {
            type: { status: 'derived', value: 'llm' },
            provider: filled('gen_ai.system', 'otel-deprecated', 'anthropic'),
            request_model: filled('gen_ai.request.model', null, a['gen_ai.request.model']),
            input_tokens: filled('gen_ai.usage.prompt_tokens', 'otel-deprecated', a['gen_ai.usage.prompt_tokens']),
            output_tokens: filled('gen_ai.usage.completion_tokens', 'otel-deprecated', a['gen_ai.usage.completion_tokens']),
            tpot: { status: 'not_applicable' },
        },
    };
}

function openInferenceExpect(s, session) {
    const a = s.attributes;
    return {
        ...ids(s),
        conventions: ['openinference'],
        fields: {
            type: { status: 'filled', attribute: 'openinference.span.kind', value: 'llm' },
            provider: filled('llm.provider', 'openinference', 'openai'),
            request_model: filled('llm.model_name', 'openinference', a['llm.model_name']),
            input_tokens: filled('llm.token_count.prompt', 'openinference', a['llm.token_count.prompt']),
            output_tokens: filled('llm.token_count.completion', 'openinference', a['llm.token_count.completion']),
            cache_read_tokens: filled('llm.token_count.prompt_details.cache_read', 'openinference', a['llm.token_count.prompt_details.cache_read']),
            session_id: { status: 'inherited', value: session },
            user_id: { status: 'inherited' },
        },
    };
}

function traceloopExpect(s, session) {
    const a = s.attributes;
    return {
        ...ids(s),
        conventions: ['traceloop'],
        fields: {
            type: { status: 'filled', attribute: 'llm.request.type', value: 'llm' },
            provider: filled('gen_ai.system', null, 'anthropic'),
            output_tokens: filled('llm.usage.completion_tokens', 'traceloop', a['llm.usage.completion_tokens']),
            cache_read_tokens: filled('llm.usage.cache_read_input_tokens', 'traceloop', a['llm.usage.cache_read_input_tokens']),
            streaming: filled('llm.is_streaming', 'traceloop'),
            ttft: { status: 'missing' },
            tpot: { status: 'not_applicable' },
            session_id: { status: 'inherited', value: session },
        },
    };
}

function einoExpect(s, session) {
    const a = s.attributes;
    return {
        ...ids(s),
        conventions: ['eino'],
        fields: {
            type: { status: 'filled', attribute: 'gen_ai.span.kind', value: 'llm' },
            request_model: filled('gen_ai.request.model', null, a['gen_ai.request.model']),
            streaming: filled('gen_ai.is_streaming', 'eino'),
            ttft: { status: 'filled', attribute: 'gen_ai.response.time_to_first_chunk' },
            tpot: { status: 'derived' },
            session_id: { status: 'inherited', value: session },
            user_id: { status: 'inherited' },
        },
    };
}

function langfuseExpect(s, session) {
    return {
        ...ids(s),
        conventions: ['langfuse'],
        fields: {
            type: { status: 'derived', value: 'llm' },
            session_id: filled('langfuse.session.id', 'langfuse', session),
            user_id: filled('langfuse.user.id', 'langfuse', 'user-lf'),
            ttft: { status: 'filled', attribute: 'langfuse.observation.completion_start_time' },
            tpot: { status: 'derived' },
        },
    };
}

/** Exports spans in one OTLP/HTTP protobuf request per chunk; throws on a failed export. */
export async function exportSpans(otlpHttpUrl, spans, chunk = 150) {
    const exporter = new OTLPTraceExporter({ url: `${otlpHttpUrl}/v1/traces`, timeoutMillis: 15000 });
    for (let i = 0; i < spans.length; i += chunk) {
        const part = spans.slice(i, i + chunk);
        const res = await new Promise((resolve) => exporter.export(part, resolve));
        if (res.code !== 0) throw new Error(`span export failed: ${res.error?.message}`);
    }
    await exporter.shutdown();
}

/**
 * The self-metered service's own gen_ai.client.operation.duration histogram (seconds,
 * cumulative), exported once over OTLP/HTTP protobuf.
 */
export async function exportSelfMetrics(otlpHttpUrl, durations) {
    let result = null;
    const inner = new OTLPMetricExporter({ url: `${otlpHttpUrl}/v1/metrics`, timeoutMillis: 15000 });
    const exporter = {
        export: (m, done) => inner.export(m, (r) => {
            result ??= r;
            done(r);
        }),
        selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
        forceFlush: () => inner.forceFlush(),
        shutdown: () => inner.shutdown(),
    };
    const provider = new MeterProvider({
        resource: resourceFromAttributes({ 'service.name': SELF_METERED, ...RESOURCE }),
        readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3600_000 })],
    });
    const h = provider.getMeter('golden.e2e.self-metered').createHistogram('gen_ai.client.operation.duration', {
        unit: 's',
        advice: { explicitBucketBoundaries: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] },
    });
    for (const d of durations) h.record(d.seconds, d.attributes);
    await provider.forceFlush();
    await provider.shutdown();
    if (!result || result.code !== 0) throw new Error(`metric export failed: ${result?.error?.message ?? 'nothing exported'}`);
}

/**
 * Sends a built workload: the app's own metrics first (so the server knows the service
 * measures itself before its spans arrive), then every span but the delayed ones, then,
 * DELAY_MS later, the delayed ones.
 */
export async function sendWorkload(otlpHttpUrl, w) {
    await exportSelfMetrics(otlpHttpUrl, w.selfMeteredDurations);
    await exportSpans(otlpHttpUrl, w.spans.filter((s) => !w.delayed.has(s)));
    await new Promise((r) => setTimeout(r, DELAY_MS));
    await exportSpans(otlpHttpUrl, w.spans.filter((s) => w.delayed.has(s)));
    await Promise.all(w.providers.map((p) => p.shutdown()));
}

// ---------------------------------------------------------------- command line
if (process.argv[1] === fileURLToPath(import.meta.url)) {
    const url = process.argv[2] ?? 'http://127.0.0.1:4318';
    const w = buildWorkload();
    await sendWorkload(url, w);
    console.log(JSON.stringify({ spans: w.spans.length, aiCalls: w.calls.length, diagnose: Object.fromEntries(Object.entries(w.diagnose).map(([k, v]) => [k, v.traceId])) }, null, 2));
}
