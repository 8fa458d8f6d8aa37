// Bad input: malformed protobuf and JSON, wrong content types, oversized and
// over-decompressing bodies, slow and abandoned requests, broken gRPC framing. Each gets the
// right status and a message naming the problem; the server stays up after every case
// (GET /healthz), keeps serving other clients meanwhile, stores the valid part of a partly
// invalid request, and a trace stored at the start is intact at the end.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http2 from 'node:http2';
import { after, afterEach, before, describe, test } from 'node:test';
import zlib from 'node:zlib';

import { compareTrace } from './lib/expect.mjs';
import { GRPC_EXPORT_PATH, grpcCall, grpcFrame, rawExchange, rawStatus, request } from './lib/http.mjs';
import { decodeExportResponse, encode, encodeTraces, lenField, tag, varint } from './lib/otlp.mjs';
import { makeTrace, parseOtlpResponse, postTraces } from './lib/raw.mjs';
import { cleanExit, SLOW, startServer } from './lib/server.mjs';

const MAX_BODY = 1024 * 1024;
const HEADER_TIMEOUT_MS = 2000;
const GRPC = { INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12, INTERNAL: 13 };

let server;
let known; // a trace stored before the abuse starts

/** A valid span (OTLP/JSON shape) with fresh ids. */
function goodSpan(name = 'good') {
    const now = BigInt(Date.now() - 5000) * 1_000_000n;
    return { traceId: crypto.randomBytes(16).toString('hex'), spanId: crypto.randomBytes(8).toString('hex'), name, kind: 1, startTimeUnixNano: String(now), endTimeUnixNano: String(now + 1000n) };
}
/** One ResourceSpans/ScopeSpans wrapping the given span objects. */
const docOf = (spans, service = 'badinput') => ({
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ scope: { name: 'badinput' }, spans }] }],
});
/** Protobuf request bytes with raw Span bytes (for fields a normal encode cannot produce). */
const pbWithRawSpans = (spanBufs) => lenField(1, Buffer.concat([
    lenField(1, encode('Resource', { attributes: [{ key: 'service.name', value: { stringValue: 'badinput' } }] })),
    lenField(2, Buffer.concat([lenField(1, encode('InstrumentationScope', { name: 'badinput' })), ...spanBufs.map((s) => lenField(2, s))])),
]));

async function post(body, headers, opts = {}) {
    const r = await request(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers, body, timeout: 20000 * SLOW, ...opts });
    return { ...parseOtlpResponse(r), requestType: String(headers?.['content-type'] ?? '') };
}
const PB = { 'content-type': 'application/x-protobuf' };
const JSONCT = { 'content-type': 'application/json' };

function expectError(r, status, re, what) {
    assert.equal(r.status, status, `${what}: status (message: ${r.message})`);
    // OTLP/HTTP: every error body is a google.rpc.Status in the request's own encoding.
    for (const type of ['application/x-protobuf', 'application/json']) {
        if (r.requestType === type) assert.equal(r.contentType.split(';')[0], type, `${what}: error body content type`);
    }
    assert.ok(r.message && r.message.length > 0, `${what}: the error body must carry a message`);
    assert.match(r.message, re, `${what}: the message should name the problem`);
}

/** 200 with partial_success rejecting `n` spans and a message matching re; the good spans are stored, the bad ones not. */
async function expectPartial(r, n, re, good, bad, what) {
    assert.equal(r.status, 200, `${what}: status (message: ${r.message})`);
    assert.ok(r.partial, `${what}: response must carry partial_success`);
    assert.equal(r.partial.rejectedSpans, n, `${what}: rejected spans`);
    assert.match(r.partial.errorMessage, re, `${what}: error message`);
    for (const s of good) {
        const g = await request(`${server.apiUrl}/api/v1/traces/${s.traceId}`);
        assert.equal(g.status, 200, `${what}: the valid span ${s.name} must be stored`);
    }
    for (const id of bad) {
        const g = await request(`${server.apiUrl}/api/v1/traces/${id}`);
        assert.notEqual(g.status, 200, `${what}: the rejected span's trace ${id} must not be stored`);
    }
}

function nestedAnyValuePb(depth) {
    let inner = lenField(1, Buffer.from('leaf')); // AnyValue{string_value}
    for (let i = 0; i < depth; i++) inner = lenField(5, lenField(1, inner)); // AnyValue{array_value{values: inner}}
    return inner;
}
function nestedAnyValueJson(depth) {
    return `${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"leaf"}${']}}'.repeat(depth)}`;
}

before(async () => {
    server = await startServer({
        name: 'badinput',
        args: ['--max-request-size', String(MAX_BODY), '--header-timeout', `${HEADER_TIMEOUT_MS / 1000}s`, '--idle-timeout', '10s'],
    });
    known = makeTrace({ service: 'badinput-known', nSpans: 4 });
    const r = await postTraces(server.otlpHttpUrl, known.doc);
    assert.equal(r.status, 200, `storing the known trace: ${r.message}`);
});
after(async () => {
    await server?.kill();
});
afterEach(async () => {
    const r = await request(`${server.apiUrl}/healthz`, { timeout: 5000 * SLOW });
    assert.equal(r.status, 200, `server unhealthy after this case:\n${server.stderrTail()}`);
});

describe('OTLP/HTTP protobuf', () => {
    test('truncated body -> 400', async () => {
        const full = encodeTraces(docOf([goodSpan(), goodSpan()]));
        expectError(await post(full.subarray(0, Math.floor(full.length / 2)), PB), 400, /trunc|length|end|short|eof|incomplete|past|beyond|bytes/i, 'truncated');
    });
    test('bytes with an invalid wire type -> 400', async () => {
        // 0x0f: field 1, wire type 7 (does not exist), then random bytes.
        const body = Buffer.concat([Buffer.from([0x0f]), crypto.randomBytes(64)]);
        expectError(await post(body, PB), 400, /wire|type|invalid|decod|pars/i, 'invalid wire type');
    });
    test('resource_spans with the wrong wire type -> 400', async () => {
        expectError(await post(Buffer.concat([tag(1, 0), varint(5)]), PB), 400, /wire|type|field|resource/i, 'varint where a message belongs');
    });
    test('a length past the end -> 400', async () => {
        expectError(await post(Buffer.concat([tag(1, 2), varint(1000), Buffer.alloc(10)]), PB), 400, /length|end|trunc|past|beyond|bytes/i, 'length past end');
    });
    test('an over-long varint -> 400', async () => {
        expectError(await post(Buffer.concat([Buffer.from([0x08]), Buffer.alloc(11, 0xff)]), PB), 400, /varint|overflow|long|invalid|trunc|end/i, 'varint overflow');
    });
    test('random bytes never crash the server (200 or 400 each)', async () => {
        let seed = 12345;
        const rnd = () => {
            seed = (seed * 1103515245 + 12345) & 0x7fffffff;
            return seed;
        };
        for (let i = 0; i < 60; i++) {
            const body = Buffer.from(Array.from({ length: 1 + (rnd() % 300) }, () => rnd() & 0xff));
            const r = await post(body, PB);
            assert.ok(r.status === 200 || r.status === 400, `random body ${i}: status ${r.status}`);
        }
    });
    test('AnyValue nested 10000 levels: that span is rejected, the others stored', async () => {
        const good = goodSpan('good-beside-deep');
        const deep = goodSpan('deep');
        const deepSpan = Buffer.concat([encode('Span', deep), lenField(9, Buffer.concat([lenField(1, Buffer.from('deep.value')), lenField(2, nestedAnyValuePb(10000))]))]);
        const body = pbWithRawSpans([encode('Span', good), deepSpan]);
        await expectPartial(await post(body, PB), 1, /depth|nest|deep/i, [good], [deep.traceId], 'deep nesting (protobuf)');
    });
    test('invalid UTF-8 in a span name: that span is rejected, the others stored', async () => {
        const good = goodSpan('good-beside-utf8');
        const bad = { ...goodSpan(), name: Buffer.from([0x66, 0xff, 0xfe, 0x6f]) };
        const body = encodeTraces(docOf([good, bad]));
        await expectPartial(await post(body, PB), 1, /utf-?8/i, [good], [bad.traceId], 'invalid UTF-8 (protobuf)');
    });
    test('8-byte trace id and all-zero span id: partial success naming the field', async () => {
        const good = [goodSpan('good-1'), goodSpan('good-2')];
        const shortId = { ...goodSpan('short-trace-id'), traceId: '0102030405060708' };
        const zeroSpan = { ...goodSpan('zero-span-id'), spanId: Buffer.alloc(8) };
        const r = await post(encodeTraces(docOf([good[0], shortId, zeroSpan, good[1]])), PB);
        await expectPartial(r, 2, /trace.?id|span.?id/i, good, [zeroSpan.traceId], 'bad ids (protobuf)');
        assert.match(r.contentType, /protobuf/, 'the response to a protobuf request is protobuf');
    });
    test('an empty request is valid (200, nothing rejected)', async () => {
        const r = await post(Buffer.alloc(0), PB);
        assert.equal(r.status, 200);
        assert.equal(r.partial, null);
    });
});

describe('OTLP/HTTP JSON', () => {
    test('malformed JSON -> 400', async () => {
        expectError(await post('{"resourceSpans":[{"scopeSpans":[', JSONCT), 400, /json|pars|unexpected|syntax|invalid|end|trunc/i, 'malformed JSON');
    });
    test('JSON of the wrong shape -> 400 naming the field', async () => {
        expectError(await post('{"resourceSpans":"not a list"}', JSONCT), 400, /resourceSpans|array|list|expected/i, 'wrong shape');
    });
    test('a span with an 8-byte trace id among good ones -> 200 with partialSuccess.rejectedSpans', async () => {
        const good = [goodSpan('json-good-1'), goodSpan('json-good-2')];
        const bad = { ...goodSpan('json-short-id'), traceId: '0102030405060708' };
        const r = await post(JSON.stringify(docOf([good[0], bad, good[1]])), JSONCT);
        await expectPartial(r, 1, /trace.?id/i, good, [], 'short trace id (JSON)');
        assert.match(r.contentType, /json/, 'the response to a JSON request is JSON');
    });
    test('AnyValue nested 10000 levels -> a clear error, the server survives', async () => {
        const good = goodSpan('json-good-beside-deep');
        const deep = goodSpan('json-deep');
        const deepJson = JSON.stringify({ ...deep, attributes: [{ key: 'deep.value', value: '@@DEEP@@' }] }).replace('"@@DEEP@@"', nestedAnyValueJson(10000));
        const body = JSON.stringify(docOf([good])).replace(/\]\}\]\}\]\}$/, `,${deepJson}]}]}]}`);
        assert.ok(body.includes('"leaf"'), 'test design: the deep value is in the body');
        const r = await post(body, JSONCT);
        // Either the decoder rejects just that span (partial success) or the whole document
        // (400); both must say why.
        if (r.status === 200) await expectPartial(r, 1, /depth|nest|deep/i, [good], [deep.traceId], 'deep nesting (JSON)');
        else expectError(r, 400, /depth|nest|deep/i, 'deep nesting (JSON)');
    });
    test('invalid UTF-8 inside a JSON string -> a clear error', async () => {
        const good = goodSpan('json-good-beside-utf8');
        const bad = goodSpan('json-@@BAD@@');
        const text = JSON.stringify(docOf([good, bad]));
        const [pre, post2] = text.split('@@BAD@@');
        const r = await post(Buffer.concat([Buffer.from(pre), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(post2)]), JSONCT);
        if (r.status === 200) await expectPartial(r, 1, /utf-?8/i, [good], [bad.traceId], 'invalid UTF-8 (JSON)');
        else expectError(r, 400, /utf-?8/i, 'invalid UTF-8 (JSON)');
    });
    test('an empty object is valid (200, nothing rejected)', async () => {
        const r = await post('{}', JSONCT);
        assert.equal(r.status, 200);
        assert.equal(r.partial, null);
    });
});

describe('HTTP limits and protocol errors', () => {
    test('unsupported content type -> 415', async () => {
        expectError(await post('hello', { 'content-type': 'text/plain' }), 415, /content.?type|text\/plain|unsupported/i, 'text/plain');
        const none = await post(encodeTraces(docOf([goodSpan()])), {});
        assert.equal(none.status, 415, 'no content type');
    });
    test('body over --max-request-size (Content-Length) -> 413', async () => {
        const r = await post(Buffer.alloc(MAX_BODY * 2, 0x0a), PB);
        expectError(r, 413, /size|large|limit|exceed|max/i, 'oversized');
    });
    test('chunked body over --max-request-size -> 413', async () => {
        const r = await post(Buffer.alloc(MAX_BODY + 4096, 0x0a), { ...PB, 'transfer-encoding': 'chunked' });
        expectError(r, 413, /size|large|limit|exceed|max/i, 'oversized chunked');
    });
    test('gzip bomb (64 MiB of zeros in 64 KiB) -> 413', async () => {
        const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
        assert.ok(bomb.length < MAX_BODY, 'test design: the compressed body is under the limit');
        expectError(await post(bomb, { ...PB, 'content-encoding': 'gzip' }), 413, /size|large|limit|exceed|max|decompress/i, 'gzip bomb');
    });
    test('body that is not gzip with Content-Encoding: gzip -> 400', async () => {
        expectError(await post(encodeTraces(docOf([goodSpan()])), { ...PB, 'content-encoding': 'gzip' }), 400, /gzip|compress|inflate|decod|corrupt|header/i, 'bad gzip');
    });
    test('truncated gzip stream -> 400', async () => {
        const gz = zlib.gzipSync(encodeTraces(docOf([goodSpan(), goodSpan()])));
        expectError(await post(gz.subarray(0, gz.length - 12), { ...PB, 'content-encoding': 'gzip' }), 400, /gzip|compress|inflate|decod|trunc|end|corrupt/i, 'truncated gzip');
    });
    test('unknown path -> 404, wrong method -> 405 with Allow', async () => {
        const r = await request(`${server.otlpHttpUrl}/v1/tracez`, { method: 'POST', headers: PB, body: Buffer.alloc(0) });
        expectError(parseOtlpResponse(r), 404, /tracez|path|not found/i, 'unknown path');
        const m = await request(`${server.otlpHttpUrl}/v1/traces`, { method: 'GET' });
        expectError(parseOtlpResponse(m), 405, /method|GET/i, 'wrong method');
        assert.match(String(m.headers.allow ?? ''), /POST/, '405 carries Allow: POST');
    });
    test('oversized request head -> 431', async () => {
        const r = await request(`${server.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { ...PB, 'x-padding': 'a'.repeat(100 * 1024) }, body: Buffer.alloc(0) });
        expectError(parseOtlpResponse(r), 431, /header|large|limit|exceed/i, 'oversized head');
    });
    test('a stalled request head is timed out while other clients are served', async () => {
        const partial = 'POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty';
        const t0 = Date.now();
        const stalled = Array.from({ length: 5 }, () => rawExchange(server.ports.otlpHttp, Buffer.from(partial), { waitMs: HEADER_TIMEOUT_MS + 10000 * SLOW }));
        // Meanwhile, others get answers: all before the first stalled connection is closed.
        let servedAt = 0;
        for (let i = 0; i < 3; i++) {
            const tr = makeTrace({ service: 'badinput-meanwhile', seq: i });
            const r = await postTraces(server.otlpHttpUrl, tr.doc);
            assert.equal(r.status, 200, 'a normal request while others stall');
            servedAt = Date.now() - t0;
        }
        const results = await Promise.all(stalled);
        const firstClose = Math.min(...results.map((x) => x.ms));
        assert.ok(servedAt < firstClose, `normal requests finished at ${servedAt} ms, after a stalled one was closed at ${firstClose} ms`);
        for (const res of results) {
            assert.ok(res.closedByServer, 'the server closes a connection whose head never completes');
            assert.ok(res.ms >= HEADER_TIMEOUT_MS * 0.9, `closed after ${res.ms} ms, before the header timeout`);
            const st = rawStatus(res.data);
            assert.ok(st === null || st === 408, `answer to a stalled head: ${st}`);
        }
    });
    test('clients that disconnect mid-body leave the server unharmed', async () => {
        const head = (len) => `POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${len}\r\n\r\n`;
        for (let i = 0; i < 20; i++) {
            const body = encodeTraces(docOf([goodSpan(`abandoned-${i}`)]));
            await rawExchange(server.ports.otlpHttp, [Buffer.from(head(body.length + 50000)), body], { waitMs: 50 });
        }
        const gz = zlib.gzipSync(Buffer.alloc(100000));
        await rawExchange(server.ports.otlpHttp, [Buffer.from(head(gz.length).replace('\r\n\r\n', '\r\nContent-Encoding: gzip\r\n\r\n')), gz.subarray(0, 100)], { waitMs: 50 });
        const r = await postTraces(server.otlpHttpUrl, makeTrace({ service: 'badinput-after-abort' }).doc);
        assert.equal(r.status, 200);
    });
    test('non-HTTP bytes on the OTLP/HTTP port are refused at once', async () => {
        // The first bytes of a TLS ClientHello: 0x16 cannot start an HTTP method, so the
        // parser can refuse before the header timeout.
        const res = await rawExchange(server.ports.otlpHttp, Buffer.from('16030100a5010000a10303', 'hex'), { waitMs: HEADER_TIMEOUT_MS / 2 });
        const st = rawStatus(res.data);
        assert.ok(res.closedByServer, `connection still open after ${HEADER_TIMEOUT_MS / 2} ms (answer: ${st})`);
        assert.ok(st === null || st === 400, `status ${st}`);
    });
});

describe('OTLP gRPC', () => {
    const call = (body, opts) => grpcCall(server.grpcAddr, body, opts);
    const expectGrpcError = (r, codes, re, what) => {
        assert.ok(codes.includes(r.grpcStatus), `${what}: grpc-status ${r.grpcStatus} (message ${JSON.stringify(r.grpcMessage)}), expected ${codes.join(' or ')}`);
        assert.ok(r.grpcMessage, `${what}: grpc-message must say what is wrong`);
        assert.match(r.grpcMessage, re, `${what}: grpc-message`);
    };

    test('a valid export is OK', async () => {
        const tr = makeTrace({ service: 'badinput-grpc' });
        const r = await call(grpcFrame(encodeTraces(tr.doc)));
        assert.equal(r.grpcStatus, 0, r.grpcMessage);
        assert.equal(r.messages.length, 1, 'one response message');
        assert.equal(decodeExportResponse(r.messages[0]).partialSuccess, undefined);
        const g = await request(`${server.apiUrl}/api/v1/traces/${tr.traceId}`);
        assert.equal(g.status, 200);
    });
    test('an 8-byte trace id among good spans: OK with partial_success', async () => {
        const good = goodSpan('grpc-good');
        const r = await call(grpcFrame(encodeTraces(docOf([good, { ...goodSpan(), traceId: '0102030405060708' }]))));
        assert.equal(r.grpcStatus, 0, r.grpcMessage);
        const ps = decodeExportResponse(r.messages[0]).partialSuccess;
        assert.equal(ps?.rejectedSpans, '1');
        assert.match(ps?.errorMessage ?? '', /trace.?id/i);
    });
    test('an undecodable message -> INVALID_ARGUMENT', async () => {
        expectGrpcError(await call(grpcFrame(Buffer.concat([tag(1, 2), varint(1000), Buffer.alloc(10)]))), [GRPC.INVALID_ARGUMENT], /length|end|trunc|past|beyond|bytes|decod|pars/i, 'bad protobuf');
    });
    test('a frame shorter than its length prefix -> error', async () => {
        expectGrpcError(await call(grpcFrame(Buffer.alloc(10), { declaredLength: 100 })), [GRPC.INVALID_ARGUMENT, GRPC.INTERNAL], /frame|length|trunc|incomplete|short|end|message/i, 'short frame');
    });
    test('a body shorter than the 5-byte prefix -> error', async () => {
        expectGrpcError(await call(Buffer.from([0, 0, 0])), [GRPC.INVALID_ARGUMENT, GRPC.INTERNAL], /frame|length|trunc|incomplete|short|prefix|message/i, 'partial prefix');
    });
    test('compressed flag without grpc-encoding -> error', async () => {
        expectGrpcError(await call(grpcFrame(encodeTraces(docOf([goodSpan()])), { compressed: true })), [GRPC.INTERNAL, GRPC.INVALID_ARGUMENT], /compress|encoding/i, 'compressed without encoding');
    });
    test('unsupported grpc-encoding -> UNIMPLEMENTED', async () => {
        const r = await call(grpcFrame(Buffer.from('xxxx'), { compressed: true }), { headers: { 'grpc-encoding': 'snappy' } });
        expectGrpcError(r, [GRPC.UNIMPLEMENTED], /snappy|encoding|compress/i, 'snappy');
    });
    test('grpc-encoding gzip with a body that is not gzip -> error', async () => {
        const r = await call(grpcFrame(encodeTraces(docOf([goodSpan()])), { compressed: true }), { headers: { 'grpc-encoding': 'gzip' } });
        expectGrpcError(r, [GRPC.INTERNAL, GRPC.INVALID_ARGUMENT], /gzip|compress|inflate|decod|corrupt/i, 'bad gzip');
    });
    test('gzip bomb -> RESOURCE_EXHAUSTED', async () => {
        const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
        const r = await call(grpcFrame(bomb, { compressed: true }), { headers: { 'grpc-encoding': 'gzip' } });
        expectGrpcError(r, [GRPC.RESOURCE_EXHAUSTED], /size|large|limit|exceed|max/i, 'gzip bomb');
    });
    test('a message over --max-request-size -> RESOURCE_EXHAUSTED', async () => {
        const r = await call(grpcFrame(Buffer.alloc(MAX_BODY + 1024, 0x0a)));
        expectGrpcError(r, [GRPC.RESOURCE_EXHAUSTED], /size|large|limit|exceed|max/i, 'oversized');
    });
    test('an unknown method -> UNIMPLEMENTED', async () => {
        const r = await call(grpcFrame(Buffer.alloc(0)), { path: '/opentelemetry.proto.collector.trace.v1.TraceService/Nope' });
        assert.equal(r.grpcStatus, GRPC.UNIMPLEMENTED, r.grpcMessage);
    });
    test('errors leave the HTTP/2 connection usable; abandoned streams do no harm', async () => {
        const session = http2.connect(`http://${server.grpcAddr}`);
        try {
            await grpcCall(server.grpcAddr, grpcFrame(Buffer.from([0xff, 0xff])), { session });
            // A stream reset mid-message.
            const s = session.request({ ':method': 'POST', ':path': GRPC_EXPORT_PATH, 'content-type': 'application/grpc', te: 'trailers' });
            s.on('error', () => {});
            s.write(grpcFrame(Buffer.alloc(10), { declaredLength: 5000 }));
            s.close(http2.constants.NGHTTP2_CANCEL);
            const tr = makeTrace({ service: 'badinput-grpc-session' });
            const ok = await grpcCall(server.grpcAddr, grpcFrame(encodeTraces(tr.doc)), { session });
            assert.equal(ok.grpcStatus, 0, ok.grpcMessage);
        } finally {
            session.destroy();
        }
        // A whole connection dropped mid-stream.
        const s2 = http2.connect(`http://${server.grpcAddr}`);
        s2.on('error', () => {});
        const st = s2.request({ ':method': 'POST', ':path': GRPC_EXPORT_PATH, 'content-type': 'application/grpc', te: 'trailers' });
        st.on('error', () => {});
        st.write(grpcFrame(Buffer.alloc(100), { declaredLength: 100000 }));
        await new Promise((r) => setTimeout(r, 50));
        s2.destroy();
    });
    test('bytes that are not HTTP/2 on the gRPC port are refused', async () => {
        const res = await rawExchange(server.ports.grpc, Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n\x00\x00\x04\x08\x00'), { waitMs: 3000 * SLOW });
        assert.ok(res.closedByServer, 'the server closes a connection with a broken preface');
    });
});

describe('after all of it', () => {
    test('the trace stored at the start is intact and search still answers', async () => {
        const r = await request(`${server.apiUrl}/api/v1/traces/${known.traceId}`);
        assert.equal(r.status, 200);
        assert.deepEqual(compareTrace(known.records, r.json()), []);
        const s = await request(`${server.apiUrl}/api/v1/traces?service=badinput-known`);
        assert.equal(s.status, 200);
        assert.deepEqual(s.json().traces.map((t) => t.traceId), [known.traceId]);
    });
    test('SIGTERM shuts the server down cleanly, and the data survives a restart', async () => {
        const r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
        server = await startServer({ name: 'badinput-restarted', dataDir: server.dataDir });
        const g = await request(`${server.apiUrl}/api/v1/traces/${known.traceId}`);
        assert.equal(g.status, 200);
        assert.deepEqual(compareTrace(known.records, g.json()), []);
    });
});
