// Durability: a client streams small requests (OTLP/HTTP protobuf, JSON, gzip, and gRPC,
// so it knows exactly which spans each success acknowledged) while the server is killed with SIGKILL; after
// a restart on the same data directory every acknowledged span is there exactly once, and
// nothing appears twice after a further restart. One run crashes while everything is still
// in the WAL, one after the server has flushed parts (so recovery crosses the WAL/part
// boundary), one with --fsync always.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { after, describe, test } from 'node:test';

import { compareTrace } from './lib/expect.mjs';
import { grpcCall, grpcFrame, request } from './lib/http.mjs';
import { decodeExportResponse, encodeTraces } from './lib/otlp.mjs';
import { parseProm } from './lib/prom.mjs';
import { makeTrace, postTraces } from './lib/raw.mjs';
import { cleanExit, sleep, SLOW, startServer, tempDir } from './lib/server.mjs';

const servers = [];
after(async () => {
    for (const s of servers) await s.kill();
});
async function start(opts) {
    const s = await startServer(opts);
    servers.push(s);
    return s;
}

/** Sends one request over the transport its sequence number picks; resolves true when acknowledged. */
async function send(server, tr, n, agent, session) {
    switch (n % 4) {
    case 3: {
        const r = await grpcCall(server.grpcAddr, grpcFrame(encodeTraces(tr.doc)), { session, timeout: 10000 * SLOW });
        const partial = r.messages[0] && decodeExportResponse(r.messages[0]).partialSuccess;
        return { ok: r.grpcStatus === 0 && !partial, status: `grpc ${r.grpcStatus}`, message: r.grpcMessage };
    }
    default: {
        const r = await postTraces(server.otlpHttpUrl, tr.doc, { encoding: n % 4 === 1 ? 'json' : 'protobuf', gzip: n % 4 === 2, agent, timeout: 10000 * SLOW });
        return { ok: r.status === 200 && !r.partial, status: r.status, message: r.message };
    }
    }
}

/**
 * Streams requests with `concurrency` keep-alive connections until stop() is called or
 * `untilAcked` requests were acknowledged. Each request is one trace of 3 spans, sent in
 * turn as OTLP/HTTP protobuf, JSON, gzipped protobuf and gRPC (one HTTP/2 connection).
 * Returns a controller whose done promise
 * resolves {acked, unknown, refused} lists of makeTrace() results: acked got 200 without
 * rejections; unknown failed at the connection level (may or may not be stored); refused got
 * another status (kept with it).
 */
function stream(server, { service, concurrency = 4, untilAcked = Infinity, seq0 = 0 }) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const session = http2.connect(`http://${server.grpcAddr}`);
    session.on('error', () => {}); // the kill breaks it; the streams report that
    const res = { acked: [], unknown: [], refused: [] };
    let stopped = false;
    let seq = seq0;
    let reached;
    const reachedP = new Promise((r) => {
        reached = r;
    });
    const worker = async () => {
        while (!stopped) {
            const n = seq++;
            const tr = makeTrace({ service, seq: n });
            try {
                const r = await send(server, tr, n, agent, session);
                if (r.ok) res.acked.push(tr);
                else {
                    res.refused.push({ ...tr, status: r.status, message: r.message, partial: r.partial });
                    if (res.refused.length >= 20) stopped = true; // broken server: stop, report
                }
            } catch {
                res.unknown.push(tr);
                if (server.exited) stopped = true;
            }
            if (res.acked.length >= untilAcked) reached();
        }
    };
    const done = Promise.all(Array.from({ length: concurrency }, worker)).then(() => {
        agent.destroy();
        session.destroy();
        reached(); // never leave a waiter hanging when the stream ends early
        return res;
    });
    return { reached: reachedP, done, stop: () => { stopped = true; }, res };
}

/** Fetches every trace; acked ones must match exactly, unknown ones may be absent but never duplicated. */
async function verify(server, { acked, unknown = [] }) {
    const problems = [];
    for (const tr of acked) {
        const r = await request(`${server.apiUrl}/api/v1/traces/${tr.traceId}`, { timeout: 30000 });
        if (r.status !== 200) {
            problems.push(`acknowledged trace ${tr.traceId}: status ${r.status}`);
            continue;
        }
        problems.push(...compareTrace(tr.records, r.json()).map((p) => `acknowledged trace ${tr.traceId}: ${p}`));
    }
    let stored = 0;
    for (const tr of unknown) {
        const r = await request(`${server.apiUrl}/api/v1/traces/${tr.traceId}`, { timeout: 30000 });
        if (r.status === 404) continue;
        if (r.status !== 200) {
            problems.push(`in-flight trace ${tr.traceId}: status ${r.status}`);
            continue;
        }
        stored++;
        // Whatever of it survived must be intact and unique; spans may be missing.
        const got = compareTrace(tr.records, r.json()).filter((p) => !/: missing$/.test(p));
        problems.push(...got.map((p) => `in-flight trace ${tr.traceId}: ${p}`));
    }
    return { problems, storedUnknown: stored };
}

const fmt = (problems) => `${problems.length} problem(s):\n  ${problems.slice(0, 40).join('\n  ')}`;

/** Waits until /metrics shows at least one part on disk; false if it never does within ms. */
async function waitForParts(server, ms) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
        try {
            const r = await request(`${server.apiUrl}/metrics`, { timeout: 5000 });
            const parts = parseProm(r.text()).filter((s) => /part/.test(s.name) && !/merge|_bucket|_sum|_count|bytes|seconds/.test(s.name));
            if (parts.some((s) => s.value > 0)) return true;
        } catch {
            // keep polling
        }
        await sleep(500);
    }
    return false;
}

async function crashRun(t, { fsync, flushFirst, acks = 300 }) {
    const dataDir = tempDir();
    // A small memtable makes the server flush parts after a few hundred requests.
    const args = ['--fsync', fsync, ...(flushFirst ? ['--memtable-size', '64KiB'] : [])];
    const service = `durability-${fsync}${flushFirst ? '-parts' : ''}`;
    let server = await start({ name: `durability-${service}`, dataDir, args });
    let before = { acked: [], unknown: [], refused: [] };
    if (flushFirst) {
        const s0 = stream(server, { service, untilAcked: 200 });
        await s0.reached;
        s0.stop();
        before = await s0.done;
        const flushed = await waitForParts(server, 25000);
        t.diagnostic(flushed ? 'parts observed in /metrics before the crash' : 'no part metric seen in 25 s; crashing anyway');
        if (!flushed) await sleep(2000);
    }
    const s1 = stream(server, { service, untilAcked: acks, seq0: 100000 });
    await s1.reached;
    // Kill while the client keeps sending: some requests are in flight right now.
    await server.kill();
    s1.stop();
    const during = await s1.done;
    const acked = [...before.acked, ...during.acked];
    const unknown = [...before.unknown, ...during.unknown];
    const refused = [...before.refused, ...during.refused];
    t.diagnostic(`acknowledged ${acked.length} requests, ${unknown.length} in flight at the kill, ${refused.length} refused`);
    assert.ok(during.acked.length >= acks, `the client got ${during.acked.length} acknowledgements before the kill, expected ${acks}`);
    for (const r of refused) assert.ok(r.status === 503 || r.status === 'grpc 14', `only backpressure (503 / UNAVAILABLE) may refuse valid requests: ${r.status} ${r.message}`);

    server = await start({ name: `durability-${service}-recovered`, dataDir, args });
    const v1 = await verify(server, { acked, unknown });
    t.diagnostic(`${v1.storedUnknown} of the in-flight requests were stored`);
    assert.deepEqual(v1.problems, [], `after kill -9 and restart: ${fmt(v1.problems)}`);

    // A second recovery (clean shutdown, start again) must not replay anything twice.
    const stopped = await server.stop();
    assert.ok(cleanExit(stopped), server.describeExit(stopped));
    server = await start({ name: `durability-${service}-again`, dataDir, args });
    const v2 = await verify(server, { acked, unknown });
    assert.deepEqual(v2.problems, [], `after a second restart: ${fmt(v2.problems)}`);
    const last = await server.stop();
    assert.ok(cleanExit(last), server.describeExit(last));
}

describe('durability', () => {
    test('a second server on the same data directory refuses to start, naming the lock', async () => {
        const dataDir = tempDir();
        const first = await startServer({ dataDir, name: 'lock-holder' });
        try {
            await assert.rejects(startServer({ dataDir, name: 'lock-second', readyTimeoutMs: 5000 * SLOW }), /exited before ready[^]*in use by another process/);
            const r = await request(`${first.apiUrl}/readyz`);
            assert.equal(r.status, 200, 'the first server keeps serving');
        } finally {
            assert.ok(cleanExit(await first.stop()), 'the first server exits cleanly');
        }
    });
    test('kill -9 while a client sends; --fsync interval; everything in the WAL', (t) => crashRun(t, { fsync: 'interval', flushFirst: false, acks: 1000 }));
    test('kill -9 after parts were flushed; recovery crosses the WAL/part boundary', (t) => crashRun(t, { fsync: 'interval', flushFirst: true }));
    test('kill -9 while a client sends; --fsync always', (t) => crashRun(t, { fsync: 'always', flushFirst: false }));
});
