// `osprey demo` end to end: the demo fleet (libosprey in C services talking HTTP with W3C
// trace context) runs for its duration against a real Osprey over OTLP/HTTP and exits 0;
// then Osprey's query API must show every service, a chat trace that crosses gateway ->
// agent -> router -> mock LLM with the right parent/child links, GenAI attributes on the
// router's model calls, error spans, orders -> payments traces and the fleet's metrics.
// Finally a fleet without --duration must stop cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import { getJson } from './lib/http.mjs';
import { BIN, cleanExit, sanitizerFindings, SLOW, sleep, startServer } from './lib/server.mjs';

const SERVICES = ['agent-orchestrator', 'api-gateway', 'llm-server', 'model-router', 'orders', 'payments', 'tool-service', 'vector-store'];
const MODELS = ['gpt-4o-mini', 'claude-3-5-sonnet', 'gpt-4o'];
const FAST = ['--delay-scale', '0.1', '--errors', '0.3'];

const children = new Set();

/** Runs `osprey demo` with args; resolves {code, signal, stdout, stderr, findings}. */
function runDemo(args, onStart) {
    const env = {
        ...process.env,
        ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1:halt_on_error=1:abort_on_error=0',
        UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'print_stacktrace=1:halt_on_error=1',
    };
    const child = spawn(BIN, ['demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    children.add(child);
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => {
        err.push(d);
        onStart?.(Buffer.concat(err).toString('utf8'), child);
    });
    return new Promise((resolve) => {
        child.on('close', (code, signal) => {
            children.delete(child);
            const stderr = Buffer.concat(err).toString('utf8');
            resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr, findings: sanitizerFindings(stderr) });
        });
    });
}

/** Resolves with p, or rejects after ms. */
function within(p, ms, what) {
    let t;
    const timeout = new Promise((_, reject) => {
        t = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** The spans of an OTLP/JSON trace document, each with its service name and attributes as a map. */
function spansOf(doc) {
    const spans = [];
    for (const rs of doc.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
        for (const ss of rs.scopeSpans) {
            for (const s of ss.spans) {
                const attrs = Object.fromEntries((s.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]]));
                spans.push({ ...s, service, attrs });
            }
        }
    }
    return spans;
}

/** The chain of spans from s up to its root (s first). */
function ancestry(s, byId) {
    const chain = [s];
    while (chain.at(-1).parentSpanId) {
        const parent = byId.get(chain.at(-1).parentSpanId);
        assert.ok(parent, `span ${chain.at(-1).name} of ${chain.at(-1).service}: parent ${chain.at(-1).parentSpanId} missing`);
        chain.push(parent);
    }
    return chain;
}

/** The full traces of the newest matches of a search. */
async function tracesOf(server, query) {
    const { traces } = await getJson(`${server.apiUrl}/api/v1/traces?${query}`);
    const docs = [];
    for (const t of traces) docs.push({ id: t.traceId, spans: spansOf(await getJson(`${server.apiUrl}/api/v1/traces/${t.traceId}`)) });
    return docs;
}

/** Checks that every SERVER span with a parent hangs under a CLIENT span of another service. */
function assertHops(spans, byId) {
    for (const s of spans.filter((x) => x.kind === 2 && x.parentSpanId)) {
        const parent = byId.get(s.parentSpanId);
        assert.equal(parent.kind, 3, `${s.service} ${s.name}: parent ${parent.name} is not a CLIENT span`);
        assert.notEqual(parent.service, s.service, `${s.service} ${s.name}: parent from the same service`);
    }
}

describe('osprey demo', () => {
    let server;
    let run;

    before(async () => {
        server = await startServer({ name: 'demo' });
        run = await within(runDemo(['--endpoint', server.otlpHttpUrl, '--duration', '5s', '--rate', '5', ...FAST]), 90000 * SLOW, 'osprey demo --duration 5s');
    });

    after(async () => {
        for (const c of children) c.kill('SIGKILL');
        if (server) {
            const r = await server.stop();
            assert.ok(cleanExit(r), server.describeExit(r));
        }
    });

    test('runs for its duration, exits 0 and prints its summary', () => {
        assert.equal(run.code, 0, `exit ${run.code} ${run.signal}\n${run.stderr.slice(-3000)}`);
        assert.deepEqual(run.findings, []);
        const m = run.stdout.match(/^osprey demo: (\d+) requests, (\d+) errors, (\d+) shed; spans exported (\d+), dropped (\d+); logs exported (\d+), dropped (\d+)$/m);
        assert.ok(m, `no summary line in: ${run.stdout}`);
        const [requests, errors, , spansExported, spansDropped, logsExported] = m.slice(1).map(Number);
        assert.ok(requests > 0, 'no requests sent');
        assert.ok(errors < requests, `every request failed: ${run.stdout}`);
        assert.ok(spansExported > requests, `spans exported ${spansExported} for ${requests} requests`);
        assert.equal(spansDropped, 0);
        assert.ok(logsExported > 0);
    });

    test('every service of the fleet reports', async () => {
        const { services } = await getJson(`${server.apiUrl}/api/v1/services`);
        for (const s of SERVICES) assert.ok(services.includes(s), `${s} missing from ${services}`);
    });

    test('a chat trace crosses gateway -> agent -> router -> llm-server', async () => {
        const docs = await tracesOf(server, 'service=llm-server&operation=POST%20%2Fv1%2Fchat%2Fcompletions&limit=20');
        assert.ok(docs.length > 0, 'no trace reaches the llm-server');
        let checked = 0;
        for (const { id, spans } of docs) {
            const byId = new Map(spans.map((s) => [s.spanId, s]));
            for (const s of spans) assert.equal(s.traceId, id);
            assertHops(spans, byId);
            const llm = spans.find((s) => s.service === 'llm-server' && s.kind === 2);
            const chain = ancestry(llm, byId);
            // Each hop: the callee's SERVER span under the caller's CLIENT span.
            const services = chain.map((s) => s.service).filter((s, i, a) => s !== a[i - 1]);
            assert.deepEqual(services, ['llm-server', 'model-router', 'agent-orchestrator', 'api-gateway'], `trace ${id}`);
            const root = chain.at(-1);
            assert.deepEqual([root.service, root.name, root.kind], ['api-gateway', 'POST /chat', 2]);
            const call = chain[1];
            assert.equal(call.kind, 3);
            assert.match(call.name, /^chat /);
            assert.ok(chain.some((s) => s.service === 'agent-orchestrator' && s.name === 'invoke_agent support-agent'), `trace ${id}: no agent run span`);
            assert.ok(root.attrs['user.id']?.startsWith('user-'), `trace ${id}: gateway span without user.id (baggage)`);
            checked++;
        }
        assert.ok(checked > 0);
    });

    test('the model router records GenAI attributes on its model calls', async () => {
        const docs = await tracesOf(server, 'service=model-router&attr.gen_ai.operation.name=chat&status=unset&limit=10');
        const calls = docs.flatMap((d) => d.spans).filter((s) => s.service === 'model-router' && s.attrs['gen_ai.operation.name'] === 'chat' && !s.status?.code);
        assert.ok(calls.length > 0, 'no successful model call');
        for (const s of calls) {
            assert.equal(s.kind, 3);
            assert.ok(MODELS.includes(s.attrs['gen_ai.request.model']), s.attrs['gen_ai.request.model']);
            assert.equal(s.name, `chat ${s.attrs['gen_ai.request.model']}`);
            assert.ok(['openai', 'anthropic'].includes(s.attrs['gen_ai.provider.name']));
            assert.ok(Number(s.attrs['gen_ai.usage.input_tokens']) > 0, JSON.stringify(s.attrs));
            assert.ok(Number(s.attrs['gen_ai.usage.output_tokens']) > 0, JSON.stringify(s.attrs));
            assert.equal(s.attrs['gen_ai.response.model'], s.attrs['gen_ai.request.model']);
            assert.ok(s.attrs['gen_ai.conversation.id']?.startsWith('conv-'));
            assert.ok((s.events ?? []).some((e) => e.name === 'gen_ai.first_token'), `${s.name}: no first-token event`);
        }
    });

    test('injected faults show up as error spans', async () => {
        const docs = await tracesOf(server, 'status=error&limit=20');
        const errors = docs.flatMap((d) => d.spans).filter((s) => s.status?.code === 2);
        assert.ok(errors.length > 0, 'no span with status ERROR');
        for (const s of errors) assert.ok(s.attrs['error.type'] || s.status.message, `${s.service} ${s.name}: error without error.type`);
    });

    test('checkouts go orders -> payments', async () => {
        const docs = await tracesOf(server, 'service=payments&limit=10');
        assert.ok(docs.length > 0, 'no payments trace');
        for (const { id, spans } of docs) {
            const byId = new Map(spans.map((s) => [s.spanId, s]));
            assertHops(spans, byId);
            const charge = spans.find((s) => s.service === 'payments' && s.kind === 2);
            const services = ancestry(charge, byId).map((s) => s.service).filter((s, i, a) => s !== a[i - 1]);
            assert.deepEqual(services, ['payments', 'orders', 'api-gateway'], `trace ${id}`);
        }
    });

    test('the services export their metrics', async () => {
        for (const metric of ['http_server_request_duration_seconds_count', 'gen_ai_client_token_usage_count', 'process_memory_usage_bytes']) {
            const r = await getJson(`${server.apiUrl}/api/v1/query?query=${encodeURIComponent(metric)}`);
            assert.ok(r.data.result.length > 0, `no ${metric}`);
        }
    });

    test('stops cleanly on SIGTERM', async () => {
        let signalled = false;
        const done = runDemo(['--endpoint', server.otlpHttpUrl, '--rate', '2', ...FAST], (stderr, child) => {
            if (!signalled && stderr.includes('services on 127.0.0.1')) {
                signalled = true;
                sleep(1000).then(() => child.kill('SIGTERM'));
            }
        });
        const r = await within(done, 60000 * SLOW, 'osprey demo after SIGTERM');
        assert.ok(signalled, `the fleet never started:\n${r.stderr.slice(-2000)}`);
        assert.equal(r.code, 0, `exit ${r.code} ${r.signal}\n${r.stderr.slice(-3000)}`);
        assert.deepEqual(r.findings, []);
        assert.match(r.stdout, /^osprey demo: \d+ requests/m);
    });
});
