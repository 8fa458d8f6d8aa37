// Bad metrics input on /v1/metrics (protobuf and JSON) and the gRPC MetricsService: bodies
// that are not a message at all get 400 / INVALID_ARGUMENT naming the problem; a request
// whose points are partly invalid (histogram buckets that do not match their bounds, a NaN
// bound, an exponential histogram of scale -5, coarser than any native histogram, a point
// without a value, 300 attributes, a field of the wrong wire type) stores the
// valid points and answers partial_success with the number rejected and a message naming
// the first; a metric without data has no points to count: it is dropped, the rest stored;
// a JSON field of the wrong type (a NaN count among them) rejects that point or the whole
// body, naming the field; oversized bodies get 413 / RESOURCE_EXHAUSTED. The server answers
// /readyz after every case, and a series stored at the start is intact at the end and after
// a restart.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import { grpcCall, grpcFrame, request } from './lib/http.mjs';
import { decodeMetricsExportResponse, encode, encodeMetrics, lenField, tag, varint, varintField } from './lib/otlp.mjs';
import { parseOtlpResponse } from './lib/raw.mjs';
import { cleanExit, SLOW, startServer } from './lib/server.mjs';

const MAX_BODY = 1024 * 1024;
const GRPC = { INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8 };
const METRICS_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
const SERVICE = 'metrics-badinput';
const PB = { 'content-type': 'application/x-protobuf' };
const JSONCT = { 'content-type': 'application/json' };

let server;
let seq = 0;
const KNOWN = { name: 'mb_known_gauge', value: 42.5 };

// ---------------------------------------------------------------- building requests

const nowNs = () => String(BigInt(Date.now() - 2000) * 1_000_000n);
const str = (key, v) => ({ key, value: { stringValue: v } });
/** A fresh metric name for this run: mb_<what>_<n>. Legal Prometheus names, so gauges keep them. */
const fresh = (what) => `mb_${what}_${++seq}`;

/** A gauge with one point: the valid kind every case sends beside its bad points. */
const gauge = (name, value) => ({ name, gauge: { dataPoints: [{ timeUnixNano: nowNs(), asDouble: value, attributes: [str('case', name)] }] } });

/** A histogram point (OTLP/JSON shape) with the given bounds and counts. */
const histogram = (name, { bounds, counts, count, sum = 1.5 }) => ({
    name,
    histogram: {
        aggregationTemporality: 2,
        dataPoints: [{ startTimeUnixNano: nowNs(), timeUnixNano: nowNs(), count: count ?? String(counts.reduce((a, b) => a + Number(b), 0)), sum, bucketCounts: counts.map(String), explicitBounds: bounds }],
    },
});

/** An exponential histogram point (OTLP/JSON shape) at the given scale: 1 in the zero bucket, 2 in OTLP bucket 1. */
const expHistogram = (name, scale) => ({
    name,
    exponentialHistogram: {
        aggregationTemporality: 2,
        dataPoints: [{ startTimeUnixNano: nowNs(), timeUnixNano: nowNs(), count: '3', sum: 6, scale, zeroCount: '1', positive: { offset: 1, bucketCounts: ['2'] } }],
    },
});

const resource = { attributes: [str('service.name', SERVICE)] };
const scope = { name: 'osprey.e2e.metrics-badinput', version: '1' };

/** An OTLP/JSON request holding the given Metric objects. */
const docOf = (metrics) => ({ resourceMetrics: [{ resource, scopeMetrics: [{ scope, metrics }] }] });

/**
 * Protobuf request bytes from a list of Metric objects (encoded by the schema) and raw
 * Metric bytes (Buffers), for fields a normal encode cannot produce.
 */
function pbOf(metrics) {
    const m = metrics.map((x) => lenField(2, Buffer.isBuffer(x) ? x : encode('Metric', x)));
    return lenField(1, Buffer.concat([lenField(1, encode('Resource', resource)), lenField(2, Buffer.concat([lenField(1, encode('InstrumentationScope', scope)), ...m]))]));
}

/** Raw Metric bytes: a name and a gauge (field 5) holding one data point given as bytes. */
const rawGauge = (name, pointBytes) => Buffer.concat([lenField(1, Buffer.from(name)), lenField(5, lenField(1, pointBytes))]);
const fixed64 = (field, v) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return Buffer.concat([tag(field, 1), b]);
};

// ---------------------------------------------------------------- sending and reading

/** Reads an OTLP/HTTP metrics response: {status, partial: {rejected, errorMessage}|null, message, contentType}. */
function parseMetricsResponse(r) {
    const base = parseOtlpResponse(r); // message and content type of error bodies
    let partial = null;
    if (r.status === 200) {
        if (/protobuf/.test(base.contentType)) {
            const d = decodeMetricsExportResponse(r.body);
            if (d.partialSuccess) partial = { rejected: Number(d.partialSuccess.rejectedDataPoints ?? 0), errorMessage: d.partialSuccess.errorMessage ?? '' };
        } else if (r.body.length) {
            const d = JSON.parse(r.body.toString('utf8'));
            if (d.partialSuccess && Object.keys(d.partialSuccess).length) partial = { rejected: Number(d.partialSuccess.rejectedDataPoints ?? 0), errorMessage: d.partialSuccess.errorMessage ?? '' };
        }
    }
    return { status: r.status, partial, message: base.message, contentType: base.contentType };
}

async function post(body, headers) {
    const r = await request(`${server.otlpHttpUrl}/v1/metrics`, { method: 'POST', headers, body, timeout: 20000 * SLOW });
    return { ...parseMetricsResponse(r), requestType: String(headers['content-type'] ?? '') };
}

/** A gRPC Export call; the answer in the same shape as post()'s (status 200 for OK). */
async function grpcExport(body) {
    const r = await grpcCall(server.grpcAddr, grpcFrame(body), { path: METRICS_PATH, timeout: 20000 * SLOW });
    let partial = null;
    if (r.grpcStatus === 0) {
        assert.equal(r.messages.length, 1, 'one response message');
        const d = decodeMetricsExportResponse(r.messages[0]);
        if (d.partialSuccess) partial = { rejected: Number(d.partialSuccess.rejectedDataPoints ?? 0), errorMessage: d.partialSuccess.errorMessage ?? '' };
    }
    return { status: r.grpcStatus === 0 ? 200 : -r.grpcStatus, grpcStatus: r.grpcStatus, partial, message: r.grpcMessage };
}

/** The three ways in, each sending a request built from Metric objects (and raw Buffers where allowed). */
const TRANSPORTS = {
    protobuf: { send: (metrics) => post(pbOf(metrics), PB), raw: true },
    json: { send: (metrics) => post(JSON.stringify(docOf(metrics)), JSONCT), raw: false },
    grpc: { send: (metrics) => grpcExport(pbOf(metrics)), raw: true },
};

/** Instant query through the Prometheus API; the result vector. */
async function query(q) {
    const r = await request(`${server.apiUrl}/api/v1/query?${new URLSearchParams({ query: q })}`, { timeout: 20000 * SLOW });
    assert.equal(r.status, 200, `query ${q}: ${r.text().slice(0, 300)}`);
    const body = r.json();
    assert.equal(body.status, 'success', `query ${q}`);
    return body.data.result;
}

/** The gauge `name` is stored with `value` (job = the service, the case attribute as a label). */
async function expectStored(name, value, what) {
    const got = await query(`${name}{job="${SERVICE}"}`);
    assert.equal(got.length, 1, `${what}: the valid point ${name} must be stored (got ${got.length} series)`);
    assert.equal(Number(got[0].value[1]), value, `${what}: value of ${name}`);
    assert.equal(got[0].metric.case, name, `${what}: the attribute of ${name} is a label`);
}

/** Nothing named `name` or `name_<suffix>` is stored. */
async function expectAbsent(name, what) {
    const got = await query(`{__name__=~"${name}(_.+)?"}`);
    assert.deepEqual(got.map((r) => r.metric.__name__), [], `${what}: the rejected metric ${name} must not be stored`);
}

/**
 * 200 / OK with partial_success rejecting `n` points and a message matching `re` and naming
 * `firstBad` (the first rejected point's metric); the good gauges stored, the bad metrics not.
 */
async function expectPartial(r, n, re, { good = [], bad = [], firstBad }, what) {
    assert.equal(r.status, 200, `${what}: status ${r.status} (message: ${r.message})`);
    assert.ok(r.partial, `${what}: the response must carry partial_success`);
    assert.equal(r.partial.rejected, n, `${what}: rejected_data_points (message: ${r.partial.errorMessage})`);
    assert.match(r.partial.errorMessage, re, `${what}: error_message should name the problem`);
    if (firstBad) assert.ok(r.partial.errorMessage.includes(firstBad), `${what}: error_message should name the metric ${firstBad}: ${JSON.stringify(r.partial.errorMessage)}`);
    for (const g of good) await expectStored(g.name, g.value, what);
    for (const b of bad) await expectAbsent(b, what);
}

function expectError(r, status, re, what) {
    assert.equal(r.status, status, `${what}: status (message: ${r.message})`);
    for (const type of ['application/x-protobuf', 'application/json']) {
        if (r.requestType === type) assert.equal(r.contentType.split(';')[0], type, `${what}: the error body is in the request's encoding`);
    }
    assert.ok(r.message, `${what}: the error must carry a message`);
    assert.match(r.message, re, `${what}: the message should name the problem`);
}

function expectGrpcError(r, code, re, what) {
    assert.equal(r.grpcStatus, code, `${what}: grpc-status (message ${JSON.stringify(r.message)})`);
    assert.ok(r.message, `${what}: grpc-message must say what is wrong`);
    assert.match(r.message, re, `${what}: grpc-message`);
}

// ---------------------------------------------------------------- the cases

before(async () => {
    server = await startServer({ name: 'metrics-badinput', args: ['--max-request-size', String(MAX_BODY)] });
    const r = await post(encodeMetrics(docOf([gauge(KNOWN.name, KNOWN.value)])), PB);
    assert.equal(r.status, 200, `storing the known gauge: ${r.message}`);
    assert.equal(r.partial, null, 'the known gauge is not rejected');
});
after(async () => {
    await server?.kill();
});
afterEach(async () => {
    const r = await request(`${server.apiUrl}/readyz`, { timeout: 5000 * SLOW });
    assert.equal(r.status, 200, `server not ready after this case:\n${server.stderrTail()}`);
});

for (const [tname, t] of Object.entries(TRANSPORTS)) {
    describe(`partly invalid requests (${tname})`, () => {
        /** Sends good gauges around the bad metrics; returns the response and the good ones. */
        async function sendWithGood(badMetrics) {
            const good = [{ name: fresh(`${tname}_ok`), value: 1.25 }, { name: fresh(`${tname}_ok`), value: -3 }];
            const r = await t.send([gauge(good[0].name, good[0].value), ...badMetrics, gauge(good[1].name, good[1].value)]);
            return { r, good };
        }

        test('a histogram whose bucket_counts do not match its bounds', async () => {
            const bad = fresh(`${tname}_buckets`);
            const { r, good } = await sendWithGood([histogram(bad, { bounds: [1, 2, 3], counts: [1, 1, 1] })]);
            await expectPartial(r, 1, /bucket/i, { good, bad: [bad], firstBad: bad }, 'bucket_counts length');
        });

        test('a histogram with a NaN bound', async () => {
            const bad = fresh(`${tname}_nanbound`);
            // proto3 JSON writes NaN as the string "NaN"; the schema encoder writes the double.
            const bounds = tname === 'json' ? [1, 'NaN', 3] : [1, NaN, 3];
            const { r, good } = await sendWithGood([histogram(bad, { bounds, counts: [1, 1, 1, 1] })]);
            await expectPartial(r, 1, /bound|NaN/i, { good, bad: [bad], firstBad: bad }, 'NaN bound');
        });

        test('an exponential histogram of scale -5: no native histogram schema is that coarse', async () => {
            const bad = fresh(`${tname}_scale`);
            const { r, good } = await sendWithGood([expHistogram(bad, -5)]);
            await expectPartial(r, 1, /scale -5/, { good, bad: [bad], firstBad: bad }, 'scale -5');
        });

        test('a data point with no value', async () => {
            const bad = fresh(`${tname}_novalue`);
            const { r, good } = await sendWithGood([{ name: bad, gauge: { dataPoints: [{ timeUnixNano: nowNs(), attributes: [str('case', bad)] }] } }]);
            await expectPartial(r, 1, /value/i, { good, bad: [bad], firstBad: bad }, 'no value');
        });

        test('a metric of no known type (no data): not stored, the others are', async () => {
            const bad = fresh(`${tname}_nodata`);
            // Protobuf: a data field from some future version (13) that this server cannot know.
            const metric = t.raw ? Buffer.concat([lenField(1, Buffer.from(bad)), lenField(2, Buffer.from('what is this')), lenField(13, lenField(1, Buffer.from('future')))]) : { name: bad, description: 'what is this' };
            const { r, good } = await sendWithGood([metric]);
            // It has no data points, so none can be counted as rejected (OTLP: rejected 0 means
            // every point was accepted); a warning in error_message may name it.
            assert.equal(r.status, 200, `no data: status (message: ${r.message})`);
            assert.equal(r.partial?.rejected ?? 0, 0, 'no data: rejected_data_points');
            if (r.partial?.errorMessage) assert.ok(r.partial.errorMessage.includes(bad), `no data: a warning should name ${bad}: ${r.partial.errorMessage}`);
            for (const g of good) await expectStored(g.name, g.value, 'no data');
            await expectAbsent(bad, 'no data');
        });

        test('a point with 300 attributes is rejected, not stored and not a crash', async () => {
            const bad = fresh(`${tname}_attrs`);
            const attributes = Array.from({ length: 300 }, (_, i) => str(`attr.${String(i).padStart(3, '0')}`, `value-${i}`));
            const { r, good } = await sendWithGood([{ name: bad, gauge: { dataPoints: [{ timeUnixNano: nowNs(), asDouble: 1, attributes }] } }]);
            await expectPartial(r, 1, /attribute|label/i, { good, bad: [bad], firstBad: bad }, '300 attributes');
        });

        test('several bad points in one request are all counted; the message names the first', async () => {
            const bads = [fresh(`${tname}_multi`), fresh(`${tname}_multi`), fresh(`${tname}_multi`)];
            const { r, good } = await sendWithGood([
                histogram(bads[0], { bounds: [1], counts: [1, 2, 3] }),
                { name: bads[1], gauge: { dataPoints: [{ timeUnixNano: nowNs() }, { timeUnixNano: nowNs() }] } },
                histogram(bads[2], { bounds: [5, 1], counts: [1, 2, 3] }),
            ]);
            await expectPartial(r, 4, /bucket/i, { good, bad: bads, firstBad: bads[0] }, 'several bad points');
        });

        if (t.raw) {
            test('a data point field of the wrong wire type, and one that is malformed', async () => {
                const bad = [fresh(`${tname}_wire`), fresh(`${tname}_wire`)];
                const time = fixed64(3, nowNs());
                const { r, good } = await sendWithGood([
                    rawGauge(bad[0], Buffer.concat([time, varintField(4, 7)])), // as_double as a varint
                    rawGauge(bad[1], Buffer.concat([time, lenField(7, Buffer.from([0x0a, 0x01]))])), // an attribute whose key runs past its end
                ]);
                await expectPartial(r, 2, /wire|type|as_double|asDouble|value|field/i, { good, bad, firstBad: bad[0] }, 'wrong wire type in a point');
            });
        }

        test('an empty request is OK with nothing rejected', async () => {
            const r = await t.send([]);
            assert.equal(r.status, 200, r.message);
            assert.equal(r.partial, null);
        });
    });
}

describe('OTLP/HTTP JSON: fields of the wrong type', () => {
    const cases = [
        ['asDouble is not a number', (n) => ({ name: n, gauge: { dataPoints: [{ timeUnixNano: nowNs(), asDouble: 'many' }] } }), /asDouble|double|number/i],
        ['asInt is a boolean', (n) => ({ name: n, gauge: { dataPoints: [{ timeUnixNano: nowNs(), asInt: true }] } }), /asInt|int/i],
        ['count is NaN', (n) => histogram(n, { bounds: [1], counts: [1, 1], count: 'NaN' }), /count|NaN|integer/i],
        ['bucketCounts is not a list', (n) => ({ name: n, histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: nowNs(), count: '1', bucketCounts: '1', explicitBounds: [] }] } }), /bucketCounts|list|array/i],
        ['attributes is an object', (n) => ({ name: n, gauge: { dataPoints: [{ timeUnixNano: nowNs(), asDouble: 1, attributes: { k: 'v' } }] } }), /attributes|list|array/i],
        ['timeUnixNano is not an integer', (n) => ({ name: n, gauge: { dataPoints: [{ timeUnixNano: 'yesterday', asDouble: 1 }] } }), /timeUnixNano|time|integer/i],
    ];
    for (const [what, make, re] of cases) {
        test(`${what}: that point is rejected (the others stored), or the body (nothing stored)`, async () => {
            const bad = fresh('json_type');
            const good = [{ name: fresh('json_type_ok'), value: 7 }];
            const r = await post(JSON.stringify(docOf([make(bad), gauge(good[0].name, good[0].value)])), JSONCT);
            // A decoder may reject just that point (partial success) or, as protobuf's JSON
            // mapping does, the whole document (400); either way the message names the field.
            if (r.status === 200) {
                await expectPartial(r, 1, re, { good, bad: [bad], firstBad: bad }, what);
            } else {
                expectError(r, 400, re, what);
                await expectAbsent(good[0].name, `${what} (400)`);
                await expectAbsent(bad, `${what} (400)`);
            }
        });
    }
});

describe('bodies that are not a metrics request', () => {
    const full = () => encodeMetrics(docOf([gauge(fresh('trunc'), 1), gauge(fresh('trunc'), 2)]));
    const bodies = [
        ['truncated', () => {
            const b = full();
            return b.subarray(0, Math.floor(b.length / 2));
        }, /trunc|length|end|short|eof|incomplete|past|beyond|bytes/i],
        ['an invalid wire type', () => Buffer.concat([Buffer.from([0x0f]), Buffer.alloc(32, 0x41)]), /wire|type|invalid|decod|pars/i],
        ['resource_metrics as a varint', () => Buffer.concat([tag(1, 0), varint(5)]), /wire|type|field|resource/i],
        ['a length past the end', () => Buffer.concat([tag(1, 2), varint(1000), Buffer.alloc(10)]), /length|end|trunc|past|beyond|bytes/i],
    ];
    for (const [what, body, re] of bodies) {
        test(`protobuf, ${what} -> 400`, async () => {
            expectError(await post(body(), PB), 400, re, what);
        });
        test(`gRPC, ${what} -> INVALID_ARGUMENT`, async () => {
            expectGrpcError(await grpcExport(body()), GRPC.INVALID_ARGUMENT, re, what);
        });
    }
    test('malformed JSON -> 400', async () => {
        expectError(await post('{"resourceMetrics":[{"scopeMetrics":[', JSONCT), 400, /json|pars|unexpected|syntax|invalid|end|trunc/i, 'malformed JSON');
    });
    test('resourceMetrics that is not a list -> 400 naming it', async () => {
        expectError(await post('{"resourceMetrics":"not a list"}', JSONCT), 400, /resourceMetrics|array|list|expected/i, 'wrong shape');
    });
});

describe('size limits', () => {
    /** A valid request of about `bytes` bytes: many gauges. */
    const big = (bytes) => {
        const metrics = [];
        const pad = 'p'.repeat(1000);
        for (let i = 0; i * 1100 < bytes; i++) metrics.push({ name: `mb_big_${i}`, gauge: { dataPoints: [{ timeUnixNano: nowNs(), asDouble: i, attributes: [str('pad', pad)] }] } });
        return metrics;
    };
    test('protobuf body over --max-request-size -> 413', async () => {
        const body = encodeMetrics(docOf(big(MAX_BODY * 1.5)));
        assert.ok(body.length > MAX_BODY, 'test design: the body is over the limit');
        expectError(await post(body, PB), 413, /size|large|limit|exceed|max/i, 'oversized protobuf');
        await expectAbsent('mb_big_0', 'oversized protobuf');
    });
    test('JSON body over --max-request-size -> 413', async () => {
        expectError(await post(JSON.stringify(docOf(big(MAX_BODY * 1.2))), JSONCT), 413, /size|large|limit|exceed|max/i, 'oversized JSON');
    });
    test('gRPC message over --max-request-size -> RESOURCE_EXHAUSTED', async () => {
        expectGrpcError(await grpcExport(encodeMetrics(docOf(big(MAX_BODY * 1.5)))), GRPC.RESOURCE_EXHAUSTED, /size|large|limit|exceed|max/i, 'oversized gRPC');
        await expectAbsent('mb_big_0', 'oversized gRPC');
    });
});

describe('after all of it', () => {
    test('the gauge stored at the start is intact', async () => {
        await expectStored(KNOWN.name, KNOWN.value, 'known gauge');
    });
    test('SIGTERM shuts the server down cleanly, and the data survives a restart', async () => {
        const r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
        server = await startServer({ name: 'metrics-badinput-restarted', dataDir: server.dataDir, args: ['--max-request-size', String(MAX_BODY)] });
        await expectStored(KNOWN.name, KNOWN.value, 'known gauge after restart');
    });
});
