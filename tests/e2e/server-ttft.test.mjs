// TTFT from a serving engine's metric: LLM spans that record no first token of their own
// (no event, no completion-start, no time_to_first_chunk) take it from the exemplars of a
// gen_ai.server.time_to_first_token histogram that name their trace, whether the metric
// comes before or after the spans: matched by span id, or by the exemplar's time falling
// within the call when it names the serving engine's own (child) span. The sessions API
// and the normalization diagnostic must both show it, with TPOT computed from it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { getJson, request } from './lib/http.mjs';
import { cleanExit, SLOW, sleep, startServer } from './lib/server.mjs';

const T0 = BigInt(Date.now() - 60000) * 1_000_000n; // a minute ago, in ns
const MS = 1_000_000n;
const TRACE = 'aa5ee5ee5ee5ee5ee5ee5ee5ee5ee501';
const attr = (key, v) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : typeof v === 'boolean' ? { boolValue: v } : { stringValue: v } });

/** An LLM chat span of the trace: id, start offset and duration in ms, output tokens. */
function chatSpan(spanId, startMs, durMs, outputTokens) {
    return {
        traceId: TRACE, spanId, parentSpanId: '0f0f0f0f0f0f0f0f', name: 'chat m-serve', kind: 3,
        startTimeUnixNano: String(T0 + BigInt(startMs) * MS), endTimeUnixNano: String(T0 + BigInt(startMs + durMs) * MS),
        attributes: [attr('gen_ai.operation.name', 'chat'), attr('gen_ai.provider.name', 'selfhosted'), attr('gen_ai.request.model', 'm-serve'),
            attr('gen_ai.usage.input_tokens', 10), attr('gen_ai.usage.output_tokens', outputTokens), attr('gen_ai.request.stream', true)],
    };
}

/** The trace: a root agent span with the session, and three streamed calls with no TTFT of their own. */
const TRACES = {
    resourceSpans: [{
        resource: { attributes: [attr('service.name', 'chat-app')] },
        scopeSpans: [{
            scope: { name: 'e2e' },
            spans: [
                { traceId: TRACE, spanId: '0f0f0f0f0f0f0f0f', name: 'invoke_agent helper', kind: 2, startTimeUnixNano: String(T0), endTimeUnixNano: String(T0 + 5000n * MS),
                    attributes: [attr('gen_ai.operation.name', 'invoke_agent'), attr('gen_ai.agent.name', 'helper'), attr('gen_ai.conversation.id', 'ttft-session')] },
                chatSpan('1111111111111111', 100, 1000, 11), // its own span id on the exemplar
                chatSpan('2222222222222222', 2000, 2000, 21), // the serving engine's child span on the exemplar
                chatSpan('3333333333333333', 4200, 500, 5), // no exemplar: no TTFT
            ],
        }],
    }],
};

/** The serving engine's TTFT histogram with one exemplar per measured request. */
function ttftMetric() {
    const exemplar = (spanId, atMs, seconds) => ({ timeUnixNano: String(T0 + BigInt(atMs) * MS), asDouble: seconds, traceId: TRACE, spanId });
    return {
        resourceMetrics: [{
            resource: { attributes: [attr('service.name', 'inference-server')] },
            scopeMetrics: [{
                scope: { name: 'engine' },
                metrics: [{
                    name: 'gen_ai.server.time_to_first_token', unit: 's',
                    histogram: {
                        aggregationTemporality: 2,
                        dataPoints: [{
                            startTimeUnixNano: String(T0), timeUnixNano: String(T0 + 5000n * MS), count: '2', sum: 0.65,
                            explicitBounds: [0.1, 0.5, 1], bucketCounts: ['0', '1', '1', '0'],
                            attributes: [attr('gen_ai.request.model', 'm-serve')],
                            exemplars: [exemplar('1111111111111111', 350, 0.25), exemplar('9999999999999999', 2450, 0.4)],
                        }],
                    },
                }],
            }],
        }],
    };
}

const post = (server, path, doc) => request(`${server.otlpHttpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });

/** What both orders of arrival must give: TTFT per call (ms), TPOT = (duration - TTFT) / (output - 1). */
const EXPECTED = [
    { ttftMs: 250, tpotMs: (1000 - 250) / 10 },
    { ttftMs: 400, tpotMs: (2000 - 400) / 20 },
    { ttftMs: null, tpotMs: null },
];

for (const order of ['metric after the spans', 'metric before the spans']) {
    describe(`server TTFT, ${order}`, () => {
        let server;
        before(async () => {
            server = await startServer({ name: `server-ttft-${order.split(' ')[1]}`, args: ['--derive-interval', '1s'] });
            const docs = [['/v1/traces', TRACES], ['/v1/metrics', ttftMetric()]];
            if (order.includes('before')) docs.reverse();
            for (const [path, doc] of docs) assert.equal((await post(server, path, doc)).status, 200);
        });
        after(async () => {
            const r = await server.stop();
            assert.ok(cleanExit(r), server.describeExit(r));
        });

        test('the diagnostic fills TTFT from the metric, and TPOT from it', async () => {
            const d = await getJson(`${server.apiUrl}/api/v1/llm/diagnose?traceId=${TRACE}`);
            const calls = d.spans.filter((s) => s.fields.type.value === 'llm').sort((a, b) => a.spanId.localeCompare(b.spanId));
            assert.equal(calls.length, 3, JSON.stringify(d));
            calls.forEach((c, i) => {
                const want = EXPECTED[i];
                if (want.ttftMs === null) {
                    assert.equal(c.fields.ttft.status, 'missing', JSON.stringify(c.fields.ttft));
                    return;
                }
                assert.deepEqual({ status: c.fields.ttft.status, attribute: c.fields.ttft.attribute }, { status: 'derived', attribute: 'gen_ai.server.time_to_first_token' });
                assert.ok(Math.abs(c.fields.ttft.value * 1000 - want.ttftMs) < 1e-6, JSON.stringify(c.fields.ttft));
                assert.ok(Math.abs(c.fields.tpot.value * 1000 - want.tpotMs) < 1e-6, JSON.stringify(c.fields.tpot));
            });
        });

        test('the session turn carries the TTFT of its first call', async () => {
            const url = `${server.apiUrl}/api/v1/sessions/ttft-session`;
            // the session index is written each derive interval
            for (const deadline = Date.now() + 10000 * SLOW; (await request(url)).status === 404 && Date.now() < deadline;) await sleep(200);
            const s = await getJson(url);
            assert.equal(s.turns.length, 1, JSON.stringify(s));
            assert.equal(s.turns[0].ttftMs, EXPECTED[0].ttftMs);
        });
    });
}
