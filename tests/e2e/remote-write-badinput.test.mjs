// Remote write bad input: corrupt snappy, malformed protobuf, invalid series and rejected
// samples each get 400 with a message naming the problem, while the valid series of the
// same request are stored; NaN and ±Inf are ordinary values; native histograms are stored
// and read back as written, inconsistent ones get 400 naming the series and the problem; a
// body past --max-request-size gets 413. The server stays up after every case and data
// written at the start is intact at the end. Where a real Prometheus (2.42, native
// histograms on) is installed, the native histogram cases are compared with its answers.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';

import { request } from './lib/http.mjs';
import { havePrometheus, promApi, startPrometheus } from './lib/prometheus.mjs';
import { lenField, tag, varint } from './lib/otlp.mjs';
import { encodeLabel, encodeTimeSeries, encodeWriteRequest, postWrite, snappy, sortedLabels, STALE } from './lib/remote_write.mjs';
import { SLOW, startServer } from './lib/server.mjs';

const MAX_BODY = 1024 * 1024;

let server;
let writeUrl;
const T0 = Date.now() - 10 * 60 * 1000; // samples are written from here on, 1 s apart
const known = { labels: sortedLabels({ __name__: 'rw_known', job: 'badinput', instance: 'i0' }), samples: [[T0, 1], [T0 + 1000, 2], [T0 + 2000, 3]] };

/** A valid series named `name` with samples at T0 + offsets (seconds). */
const good = (name, values = [1, 2, 3], extra = {}) => ({
    labels: sortedLabels({ __name__: name, job: 'badinput', ...extra }),
    samples: values.map((v, i) => [T0 + i * 1000, v]),
});

/** The instant value(s) of a selector at T0 + atSec: [{metric, value: "string"}]. */
async function valuesAt(selector, atSec = 10) {
    const r = await promApi(server.apiUrl, '/api/v1/query', { query: selector, time: (T0 + atSec * 1000) / 1000 });
    assert.equal(r.status, 200, `query ${selector}: ${r.text.slice(0, 300)}`);
    return r.json.data.result.map((s) => ({ metric: s.metric, value: s.value[1] }));
}

/** Raw samples of a selector over the test's window: "t:v" strings of the one series. */
async function samplesOf(selector) {
    const r = await promApi(server.apiUrl, '/api/v1/query', { query: `${selector}[15m]`, time: (T0 + 5 * 60 * 1000) / 1000 });
    assert.equal(r.status, 200, `query ${selector}: ${r.text.slice(0, 300)}`);
    assert.ok(r.json.data.result.length <= 1, `${selector}: more than one series: ${r.text.slice(0, 300)}`);
    return (r.json.data.result[0]?.values ?? []).map(([t, v]) => `${Math.round(t * 1000) - T0}:${v}`);
}

function expect400(r, re, what) {
    assert.equal(r.status, 400, `${what}: status (body: ${r.text.slice(0, 300)})`);
    assert.ok(r.text.length > 0, `${what}: the body must name the problem`);
    assert.match(r.text, re, `${what}: the message should name the problem`);
}

/** Sends [valid series] + one bad series (raw TimeSeries bytes); 400 naming the problem, the valid one stored. */
async function badSeriesWithGood(badBytes, re, what, goodName) {
    const ok = good(goodName);
    const body = snappy(encodeWriteRequest([ok, badBytes]));
    expect400(await postWrite(writeUrl, body), re, what);
    assert.deepEqual(await samplesOf(goodName), ['0:1', '1000:2', '2000:3'], `${what}: the valid series of the same request must be stored`);
}

before(async () => {
    server = await startServer({ name: 'rw-badinput', args: ['--max-request-size', String(MAX_BODY)] });
    writeUrl = `${server.apiUrl}/api/v1/write`;
    const r = await postWrite(writeUrl, { series: [known] });
    assert.equal(r.status, 204, `storing the known series: ${r.status} ${r.text}`);
});
after(async () => {
    await server?.kill();
});
afterEach(async () => {
    const r = await request(`${server.apiUrl}/healthz`, { timeout: 5000 * SLOW });
    assert.equal(r.status, 200, `server unhealthy after this case:\n${server.stderrTail()}`);
});

describe('remote write: undecodable bodies', () => {
    test('corrupt snappy -> 400', async () => {
        const z = snappy(encodeWriteRequest([good('rw_never_1')]));
        const corrupt = Buffer.from(z);
        for (let i = 2; i < corrupt.length; i += 3) corrupt[i] ^= 0xa5;
        expect400(await postWrite(writeUrl, corrupt), /snappy|decompress|corrupt|compress/i, 'corrupt snappy');
        expect400(await postWrite(writeUrl, Buffer.from('not snappy at all, just text')), /snappy|decompress|corrupt|compress/i, 'plain text');
        // An uncompressed protobuf where snappy is declared.
        expect400(await postWrite(writeUrl, encodeWriteRequest([good('rw_never_1')])), /snappy|decompress|corrupt|compress|decod|pars/i, 'uncompressed protobuf');
        assert.deepEqual(await samplesOf('rw_never_1'), [], 'nothing of an undecodable body is stored');
    });
    test('truncated protobuf -> 400', async () => {
        const full = encodeWriteRequest([good('rw_never_2'), good('rw_never_3')]);
        expect400(await postWrite(writeUrl, snappy(full.subarray(0, full.length - 7))), /trunc|length|end|short|eof|incomplete|past|beyond|bytes|decod|pars/i, 'truncated');
    });
    test('wrong wire type for a known field -> 400', async () => {
        // WriteRequest.timeseries (field 1) as a varint.
        expect400(await postWrite(writeUrl, snappy(Buffer.concat([tag(1, 0), varint(7)]))), /wire|type|field|decod|pars/i, 'timeseries as varint');
        // Sample.value (field 1, double) as a varint, inside an otherwise valid series.
        const sample = Buffer.concat([tag(1, 0), varint(5), tag(2, 0), varint(T0)]);
        const ts = Buffer.concat([encodeLabel('__name__', 'rw_never_4'), lenField(2, sample)]);
        expect400(await postWrite(writeUrl, snappy(lenField(1, ts))), /wire|type|field|decod|pars|value|sample/i, 'sample value as varint');
        assert.deepEqual(await samplesOf('rw_never_4'), []);
    });
    test('empty body and empty WriteRequest are accepted (204)', async () => {
        const r = await postWrite(writeUrl, snappy(Buffer.alloc(0)));
        assert.equal(r.status, 204, `empty WriteRequest: ${r.text}`);
    });
});

describe('remote write: invalid series (400, the valid series of the request stored)', () => {
    test('a series without __name__', async () => {
        await badSeriesWithGood(encodeTimeSeries({ labels: [['job', 'x']], samples: [[T0, 1]] }), /__name__|metric name|name/i, 'no __name__', 'rw_good_1');
    });
    test('an empty __name__', async () => {
        await badSeriesWithGood(encodeTimeSeries({ labels: [['__name__', ''], ['job', 'x']], samples: [[T0, 1]] }), /__name__|metric name|name|empty/i, 'empty __name__', 'rw_good_1b');
    });
    test('unsorted labels', async () => {
        await badSeriesWithGood(encodeTimeSeries({ labels: [['__name__', 'rw_bad_unsorted'], ['zone', 'a'], ['app', 'b']], samples: [[T0, 1]] }), /sort|order/i, 'unsorted', 'rw_good_2');
        assert.deepEqual(await samplesOf('rw_bad_unsorted'), []);
    });
    test('duplicate label names', async () => {
        await badSeriesWithGood(encodeTimeSeries({ labels: [['__name__', 'rw_bad_dup'], ['app', 'a'], ['app', 'b']], samples: [[T0, 1]] }), /duplicate|repeat|twice|sort|order/i, 'duplicate label', 'rw_good_3');
        assert.deepEqual(await samplesOf('rw_bad_dup'), []);
    });
    test('invalid label name', async () => {
        await badSeriesWithGood(encodeTimeSeries({ labels: [['0bad', 'x'], ['__name__', 'rw_bad_name']], samples: [[T0, 1]] }), /label name|invalid|0bad/i, 'label name starting with a digit', 'rw_good_4');
        await badSeriesWithGood(encodeTimeSeries({ labels: [['__name__', 'rw_bad_name2'], ['a-b', 'x']], samples: [[T0, 1]] }), /label name|invalid|a-b/i, 'label name with a dash', 'rw_good_4b');
        await badSeriesWithGood(encodeTimeSeries({ labels: [['__name__', 'rw bad metric']], samples: [[T0, 1]] }), /metric name|name|invalid/i, 'metric name with a space', 'rw_good_4c');
    });
    test('non-UTF-8 label value', async () => {
        await badSeriesWithGood(encodeTimeSeries({ labels: [['__name__', 'rw_bad_utf8'], ['v', Buffer.from([0x61, 0xff, 0xfe, 0x62])]], samples: [[T0, 1]] }), /utf-?8|invalid|encoding/i, 'invalid UTF-8', 'rw_good_5');
        assert.deepEqual(await samplesOf('rw_bad_utf8'), []);
    });
    test('a series with 200 labels', async () => {
        const labels = { __name__: 'rw_bad_many' };
        for (let i = 0; i < 199; i++) labels[`l${String(i).padStart(3, '0')}`] = 'v';
        await badSeriesWithGood(encodeTimeSeries({ labels: sortedLabels(labels), samples: [[T0, 1]] }), /labels|128|too many|limit/i, '200 labels', 'rw_good_6');
        assert.deepEqual(await samplesOf('rw_bad_many'), []);
    });
    test('a 20 KiB label value', async () => {
        await badSeriesWithGood(encodeTimeSeries({ labels: [['__name__', 'rw_bad_long'], ['v', 'x'.repeat(20 * 1024)]], samples: [[T0, 1]] }), /value|bytes|long|limit|16/i, '20 KiB value', 'rw_good_7');
        assert.deepEqual(await samplesOf('rw_bad_long'), []);
    });
    test('128 labels and a 16 KiB value are still accepted (204)', async () => {
        const labels = { __name__: 'rw_edge_many', job: 'badinput' };
        for (let i = 0; i < 126; i++) labels[`l${String(i).padStart(3, '0')}`] = 'v';
        const r = await postWrite(writeUrl, { series: [{ labels: sortedLabels(labels), samples: [[T0, 1]] }, { labels: sortedLabels({ __name__: 'rw_edge_long', v: 'y'.repeat(16 * 1024) }), samples: [[T0, 2]] }] });
        assert.equal(r.status, 204, `at the limits: ${r.text}`);
        assert.deepEqual(await samplesOf('rw_edge_many'), ['0:1']);
        assert.deepEqual(await samplesOf('rw_edge_long'), ['0:2']);
    });
});

describe('remote write: special values', () => {
    test('NaN, +Inf and -Inf are stored and read back as such', async () => {
        const r = await postWrite(writeUrl, { series: [good('rw_special', [NaN, Infinity, -Infinity, -0, 5e-324, 1.7976931348623157e308])] });
        assert.equal(r.status, 204, `special values: ${r.text}`);
        assert.deepEqual(await samplesOf('rw_special'), ['0:NaN', '1000:+Inf', '2000:-Inf', '3000:-0', '4000:5e-324', '5000:1.7976931348623157e+308']);
        const at = await valuesAt('rw_special', 1);
        assert.equal(at.length, 1);
        assert.equal(at[0].value, '+Inf');
    });
});

/** The histograms of a selector over the test's window: [{t (ms after T0), h: {count, sum, buckets}}] of the one series. */
async function histogramsOf(selector, base = server.apiUrl) {
    const r = await promApi(base, '/api/v1/query', { query: `${selector}[15m]`, time: (T0 + 5 * 60 * 1000) / 1000 });
    assert.equal(r.status, 200, `query ${selector}: ${r.text.slice(0, 300)}`);
    assert.ok(r.json.data.result.length <= 1, `${selector}: more than one series: ${r.text.slice(0, 300)}`);
    const s = r.json.data.result[0];
    assert.ok(!s?.values, `${selector}: float samples where only histograms were written: ${r.text.slice(0, 300)}`);
    return (s?.histograms ?? []).map(([t, h]) => ({ t: Math.round(t * 1000) - T0, h }));
}

/** A native histogram series named `name` (remote_write.mjs's form of each histogram, t in ms after T0). */
const hseries = (name, histograms) => ({
    labels: sortedLabels({ __name__: name, job: 'badinput' }),
    histograms: histograms.map((h) => ({ ...h, t: T0 + h.t })),
});

// Valid histograms and what the API must show for them: buckets with counts other than 0
// from the most negative up, [boundary rule, lower, upper, count] (1: [l, u), 3: the
// closed zero bucket, 0: (l, u]); counts as strings; no "buckets" when there are none.
const H_INT = { schema: 0, zeroThreshold: 0.001, zeroCount: 2, count: 11, sum: 12.5, positive: { spans: [[0, 2], [1, 1]], counts: [3, 4, 1] }, negative: { spans: [[1, 1]], counts: [1] } };
const H_INT_API = { count: '11', sum: '12.5', buckets: [[1, '-2', '-1', '1'], [3, '-0.001', '0.001', '2'], [0, '0.5', '1', '3'], [0, '1', '2', '4'], [0, '4', '8', '1']] };
const H_INT2 = { ...H_INT, count: 14, sum: 15, positive: { spans: [[0, 2], [1, 1]], counts: [5, 5, 1] } };
const H_INT2_API = { count: '14', sum: '15', buckets: [[1, '-2', '-1', '1'], [3, '-0.001', '0.001', '2'], [0, '0.5', '1', '5'], [0, '1', '2', '5'], [0, '4', '8', '1']] };
const H_FLOAT = { float: true, hint: 'gauge', schema: -1, zeroThreshold: 0, zeroCount: 0.5, count: 3.75, sum: 4.25, positive: { spans: [[-1, 3]], counts: [0.25, 0, 3] } };
const H_FLOAT_API = { count: '3.75', sum: '4.25', buckets: [[3, '-0', '0', '0.5'], [0, '0.0625', '0.25', '0.25'], [0, '1', '4', '3']] };
const H_EMPTY = { schema: 3, count: 0, sum: 0 };
const H_EMPTY_API = { count: '0', sum: '0' };

/** The valid histogram series: written together, then read back. */
const validHistograms = () => [
    hseries('rw_h_int', [{ t: 0, ...H_INT }, { t: 1000, ...H_INT2 }, { t: 2000, schema: 0, sum: STALE }]),
    hseries('rw_h_float', [{ t: 0, ...H_FLOAT }]),
    hseries('rw_h_empty', [{ t: 0, ...H_EMPTY }]),
];

/** Inconsistent histograms: [what, series name, histogram, what the message must say]. */
const badHistograms = [
    ['spans that do not match the buckets', 'rw_h_bad_spans', { ...H_INT, count: 9, positive: { spans: [[0, 3]], counts: [3, 4] } }, /spans?\b.*bucket/i],
    ['schema 9', 'rw_h_bad_schema', { ...H_INT, schema: 9 }, /schema 9/i],
    ['a negative bucket count', 'rw_h_bad_negative', { ...H_INT, count: 7, positive: { spans: [[0, 2], [1, 1]], counts: [3, -1, 1] } }, /negative/i],
    ['a count below the bucket total', 'rw_h_bad_count', { ...H_INT, count: 5 }, /count 5 .*(below|less|smaller)|(below|less|smaller).*count/i],
    ['custom buckets (schema -53)', 'rw_h_bad_custom', { schema: -53, count: 3, sum: 2, customValues: [0.1, 1, 10], positive: { spans: [[0, 2]], counts: [1, 2] } }, /-53|custom/i],
];

describe('remote write: native histograms', () => {
    test('valid integer, float, empty histograms and a histogram staleness marker are stored and read back as written', async () => {
        const r = await postWrite(writeUrl, { series: validHistograms() });
        assert.equal(r.status, 204, `valid histograms: ${r.text}`);
        assert.deepEqual(await histogramsOf('rw_h_int'), [{ t: 0, h: H_INT_API }, { t: 1000, h: H_INT2_API }], 'the staleness marker is not a sample');
        assert.deepEqual(await histogramsOf('rw_h_float'), [{ t: 0, h: H_FLOAT_API }]);
        assert.deepEqual(await histogramsOf('rw_h_empty'), [{ t: 0, h: H_EMPTY_API }]);
        // Instant queries: the latest histogram before the time, nothing after the marker.
        const at = async (q, sec) => (await promApi(server.apiUrl, '/api/v1/query', { query: q, time: (T0 + sec * 1000) / 1000 })).json.data.result;
        const latest = await at('rw_h_int', 1.5);
        assert.deepEqual(latest.map((x) => x.histogram), [[(T0 + 1500) / 1000, H_INT2_API]]);
        assert.ok(!('value' in latest[0]), 'a histogram sample has no float value');
        assert.deepEqual(await at('rw_h_int', 2.5), [], 'stale after the marker');
        assert.deepEqual((await at('histogram_count(rw_h_float)', 1)).map((x) => x.value[1]), ['3.75']);
    });
    test('a series of floats that continues with histograms keeps both', async () => {
        const name = 'rw_h_switch';
        assert.equal((await postWrite(writeUrl, { series: [good(name, [1, 2])] })).status, 204);
        assert.equal((await postWrite(writeUrl, { series: [hseries(name, [{ t: 2000, ...H_INT }])] })).status, 204);
        const r = await promApi(server.apiUrl, '/api/v1/query', { query: `${name}[15m]`, time: (T0 + 5 * 60 * 1000) / 1000 });
        const s = r.json.data.result[0];
        assert.deepEqual(s.values.map(([t, v]) => [Math.round(t * 1000) - T0, v]), [[0, '1'], [1000, '2']]);
        assert.deepEqual(s.histograms.map(([t, h]) => [Math.round(t * 1000) - T0, h]), [[2000, H_INT_API]]);
    });
    for (const [what, name, h, re] of badHistograms) {
        test(`${what}: 400 naming the series and the problem, the valid series stored`, async () => {
            const goodName = `${name}_good`;
            const ok = good(goodName);
            const r = await postWrite(writeUrl, { series: [ok, hseries(name, [{ t: 0, ...h }])] });
            expect400(r, re, what);
            assert.match(r.text, new RegExp(name), `${what}: the message should name the series`);
            assert.deepEqual(await samplesOf(goodName), ['0:1', '1000:2', '2000:3'], `${what}: the valid series of the same request must be stored`);
            assert.deepEqual(await histogramsOf(name), [], `${what}: nothing of the inconsistent series is stored`);
        });
    }
    test('a valid histogram series in the same request as an inconsistent one is stored', async () => {
        const r = await postWrite(writeUrl, { series: [hseries('rw_h_bad_schema2', [{ t: 0, ...H_INT, schema: -5 }]), hseries('rw_h_good2', [{ t: 0, ...H_INT }])] });
        expect400(r, /schema -5/i, 'schema -5');
        assert.deepEqual(await histogramsOf('rw_h_good2'), [{ t: 0, h: H_INT_API }]);
        assert.deepEqual(await histogramsOf('rw_h_bad_schema2'), []);
    });
});

// The same requests to Prometheus 2.42 with native histograms on. Valid histograms: both
// store them and answer the same JSON. Inconsistent spans, negative counts and a count
// below the bucket total: both refuse the request (2.42 answers 500, later versions 400,
// which Osprey answers; 2.42 also drops the valid series of that request). Schema 9 and
// -53: 2.42 stores them and then fails every query that reads them (a panic in its bucket
// iterator), so they are not compared.
describe('remote write: native histograms compared with Prometheus', { skip: !havePrometheus() && 'prometheus is not installed' }, () => {
    let prom;
    before(async () => {
        prom = await startPrometheus({ name: 'rw-badinput-prometheus', nativeHistograms: true });
    });
    after(async () => {
        await prom?.stop();
    });
    test('valid histograms read back the same from both', async () => {
        const r = await postWrite(`${prom.url}/api/v1/write`, { series: validHistograms() });
        assert.equal(r.status, 204, `prometheus: ${r.text}`);
        for (const name of ['rw_h_int', 'rw_h_float', 'rw_h_empty']) {
            const want = await histogramsOf(name, prom.url);
            assert.ok(want.length > 0, `prometheus stored ${name}`);
            assert.deepEqual(await histogramsOf(name), want, `${name}: osprey vs prometheus`);
        }
    });
    for (const [what, name, h] of badHistograms.filter(([, n]) => !/schema|custom/.test(n))) {
        test(`${what}: refused by both`, async () => {
            const r = await postWrite(`${prom.url}/api/v1/write`, { series: [hseries(name, [{ t: 0, ...h }])] });
            assert.ok(r.status >= 400, `prometheus accepted ${what}: ${r.status} ${r.text}`);
            const o = await postWrite(writeUrl, { series: [hseries(name, [{ t: 0, ...h }])] });
            assert.equal(o.status, 400, `osprey: ${o.status} ${o.text}`);
        });
    }
});

describe('remote write: rejected samples (400, the rest of the request stored)', () => {
    test('an out-of-order sample', async () => {
        // First the newer sample, then a request with an older one next to a valid series.
        assert.equal((await postWrite(writeUrl, { series: [good('rw_ooo', [1, 2, 3])] })).status, 204);
        const older = { labels: good('rw_ooo').labels, samples: [[T0 + 500, 9]] };
        const r = await postWrite(writeUrl, { series: [good('rw_good_8'), older] });
        expect400(r, /out.of.order|order|too old|older/i, 'out of order');
        assert.deepEqual(await samplesOf('rw_good_8'), ['0:1', '1000:2', '2000:3'], 'the valid series is stored');
        assert.deepEqual(await samplesOf('rw_ooo'), ['0:1', '1000:2', '2000:3'], 'the out-of-order sample is not');
    });
    test('an out-of-order sample inside one series: the in-order samples are kept', async () => {
        const s = { labels: good('rw_ooo2').labels, samples: [[T0, 1], [T0 + 2000, 3], [T0 + 1000, 2], [T0 + 3000, 4]] };
        expect400(await postWrite(writeUrl, { series: [s] }), /out.of.order|order|too old|older/i, 'out of order within a series');
        const got = await samplesOf('rw_ooo2');
        // The samples before the offending one are stored, it is not; whether the sender's
        // later samples are kept is the receiver's choice.
        assert.deepEqual(got.slice(0, 2), ['0:1', '2000:3'], `stored: ${got}`);
        assert.ok(!got.includes('1000:2'), `the out-of-order sample must not be stored: ${got}`);
    });
    test('a duplicate timestamp with another value', async () => {
        assert.equal((await postWrite(writeUrl, { series: [good('rw_dupts', [1, 2, 3])] })).status, 204);
        const clash = { labels: good('rw_dupts').labels, samples: [[T0 + 2000, 42]] };
        const r = await postWrite(writeUrl, { series: [clash, good('rw_good_9')] });
        expect400(r, /duplicate|same timestamp|timestamp|out.of.order/i, 'duplicate timestamp');
        assert.deepEqual(await samplesOf('rw_good_9'), ['0:1', '1000:2', '2000:3'], 'the valid series is stored');
        assert.deepEqual(await samplesOf('rw_dupts'), ['0:1', '1000:2', '2000:3'], 'the first value stays');
    });
    test('the same sample again (same timestamp, same value) is accepted', async () => {
        // Prometheus treats an exact resend as a no-op, so senders that retry are not refused.
        assert.equal((await postWrite(writeUrl, { series: [good('rw_resend', [7])] })).status, 204);
        const r = await postWrite(writeUrl, { series: [good('rw_resend', [7])] });
        assert.equal(r.status, 204, `exact resend: ${r.text}`);
        assert.deepEqual(await samplesOf('rw_resend'), ['0:7']);
    });
});

describe('remote write: size limit', () => {
    test('a body over --max-request-size -> 413', async () => {
        const body = crypto.randomBytes(MAX_BODY + 4096);
        const r = await postWrite(writeUrl, body);
        assert.equal(r.status, 413, `oversized: ${r.text.slice(0, 300)}`);
    });
    test('a request just under the limit is accepted', async () => {
        const series = [];
        for (let i = 0; i < 200; i++) series.push({ labels: sortedLabels({ __name__: 'rw_big', i: String(i).padStart(4, '0'), pad: crypto.randomBytes(1200).toString('hex') }), samples: [[T0, i]] });
        const raw = encodeWriteRequest(series);
        assert.ok(raw.length < MAX_BODY);
        const r = await postWrite(writeUrl, snappy(raw));
        assert.equal(r.status, 204, `under the limit: ${r.text.slice(0, 300)}`);
        assert.deepEqual((await valuesAt('count(rw_big)', 1))[0]?.value, '200');
    });
});

describe('after all of it', () => {
    test('the server answers and the known series is intact', async () => {
        assert.deepEqual(await samplesOf('rw_known'), ['0:1', '1000:2', '2000:3']);
        const r = await promApi(server.apiUrl, '/api/v1/query', { query: 'rw_known', time: (T0 + 2000) / 1000 });
        assert.equal(r.json?.data?.result?.[0]?.value?.[1], '3');
    });
});
