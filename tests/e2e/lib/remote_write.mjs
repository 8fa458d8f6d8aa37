// Prometheus remote write 1.0 for the tests: prometheus.WriteRequest encoded by hand (so
// malformed requests can be built too), snappy block compression, and a POST helper with
// the headers Prometheus itself sends.
//
// WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
// TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3;
//                repeated Histogram histograms = 4; }
// Label        { string name = 1; string value = 2; }
// Sample       { double value = 1; int64 timestamp = 2; }          (timestamp in ms)
// Exemplar     { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
// Histogram    { oneof count { uint64 count_int = 1; double count_float = 2; } double sum = 3;
//                sint32 schema = 4; double zero_threshold = 5;
//                oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
//                repeated BucketSpan negative_spans = 8; repeated sint64 negative_deltas = 9;
//                repeated double negative_counts = 10; repeated BucketSpan positive_spans = 11;
//                repeated sint64 positive_deltas = 12; repeated double positive_counts = 13;
//                ResetHint reset_hint = 14; int64 timestamp = 15; repeated double custom_values = 16; }
// BucketSpan   { sint32 offset = 1; uint32 length = 2; }
// MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
import SnappyJS from 'snappyjs';

import { request } from './http.mjs';
import { doubleField, fixed64Field, lenField, varint, varintField } from './otlp.mjs';
import { SLOW } from './server.mjs';

/** The bits of a Prometheus staleness marker (a NaN that is not math.NaN()). */
export const STALE_NAN_BITS = 0x7ff0000000000002n;
/** Pass as a sample value to write a staleness marker with exactly those bits. */
export const STALE = Symbol('stale');

export const METRIC_TYPE = { unknown: 0, counter: 1, gauge: 2, histogram: 3, gaugehistogram: 4, summary: 5, info: 6, stateset: 7 };
/** Histogram.ResetHint. */
export const RESET_HINT = { unknown: 0, reset: 1, not_reset: 2, gauge: 3 };

/** Raw protobuf string/bytes field; a Buffer is written as given (e.g. invalid UTF-8). */
const strField = (field, v) => lenField(field, Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8'));

/** Labels as written: an object {name: value} in its own key order, or [[name, value], ...]. */
function labelPairs(labels) {
    return Array.isArray(labels) ? labels : Object.entries(labels);
}

export function encodeLabel(name, value) {
    return lenField(1, Buffer.concat([strField(1, name), strField(2, value)]));
}

function encodeValue(field, v) {
    return v === STALE ? fixed64Field(field, STALE_NAN_BITS) : doubleField(field, v);
}

/** Sample {value, timestamp (ms)}; value may be a number or STALE. Sent even when zero. */
export function encodeSample(s) {
    return Buffer.concat([encodeValue(1, s.value), varintField(2, s.timestamp)]);
}

const zigzag = (n) => BigInt.asUintN(64, (BigInt(n) << 1n) ^ (BigInt(n) >> 63n));

/** Spans as [[offset, length], ...] or [{offset, length}, ...] -> [[offset, length], ...]. */
const spanPairs = (spans) => (spans ?? []).map((s) => (Array.isArray(s) ? s : [s.offset, s.length]));

/** Packed repeated sint64 deltas of absolute integer counts: the first vs 0, each next vs the previous. */
function packedDeltas(field, counts) {
    let prev = 0;
    return lenField(field, Buffer.concat(counts.map((c) => {
        const d = varint(zigzag(c - prev));
        prev = c;
        return d;
    })));
}

function packedDoubles(field, values) {
    const b = Buffer.alloc(8 * values.length);
    values.forEach((v, i) => b.writeDoubleLE(v, 8 * i));
    return lenField(field, b);
}

/**
 * Histogram bytes (a native histogram sample) from a friendly form: {t (ms), schema,
 * zeroThreshold, zeroCount, count, sum (a number or STALE), positive: {spans: [[offset,
 * length], ...], counts: [absolute counts]}, negative: {...}, hint: a RESET_HINT name or
 * number, float: true for a float histogram, customValues: [bounds] (schema -53)}.
 * Integer histograms (the default) send count_int, zero_count_int and the counts as
 * deltas; float histograms count_float, zero_count_float and absolute counts. The counts
 * need not agree with the spans or the count, so inconsistent histograms can be sent too.
 */
export function encodeHistogram(h) {
    const parts = [];
    const float = !!h.float;
    parts.push(float ? doubleField(2, h.count ?? 0) : varintField(1, h.count ?? 0));
    parts.push(encodeValue(3, h.sum ?? 0));
    if (h.schema) parts.push(varintField(4, zigzag(h.schema)));
    if (h.zeroThreshold) parts.push(doubleField(5, h.zeroThreshold));
    parts.push(float ? doubleField(7, h.zeroCount ?? 0) : varintField(6, h.zeroCount ?? 0));
    for (const [side, spansField, deltasField, countsField] of [['negative', 8, 9, 10], ['positive', 11, 12, 13]]) {
        const b = h[side];
        if (!b) continue;
        for (const [offset, length] of spanPairs(b.spans)) {
            parts.push(lenField(spansField, Buffer.concat([...(offset ? [varintField(1, zigzag(offset))] : []), ...(length ? [varintField(2, length)] : [])])));
        }
        if (b.counts?.length) parts.push(float ? packedDoubles(countsField, b.counts) : packedDeltas(deltasField, b.counts));
    }
    const hint = typeof h.hint === 'number' ? h.hint : RESET_HINT[h.hint ?? 'unknown'];
    if (hint) parts.push(varintField(14, hint));
    parts.push(varintField(15, h.t));
    if (h.customValues?.length) parts.push(packedDoubles(16, h.customValues));
    return Buffer.concat(parts);
}

/**
 * TimeSeries bytes. ts: {labels, samples: [{value, timestamp}] or [[timestamp, value]],
 * exemplars: [{labels, value, timestamp}], histograms: [encodeHistogram's form]}. Labels
 * are written in the order given (callers sort them, or do not, on purpose).
 */
export function encodeTimeSeries(ts) {
    const parts = labelPairs(ts.labels).map(([n, v]) => encodeLabel(n, v));
    for (const s of ts.samples ?? []) {
        const smp = Array.isArray(s) ? { timestamp: s[0], value: s[1] } : s;
        parts.push(lenField(2, encodeSample(smp)));
    }
    for (const e of ts.exemplars ?? []) {
        const ex = [...labelPairs(e.labels ?? {}).map(([n, v]) => encodeLabel(n, v)), encodeValue(2, e.value), varintField(3, e.timestamp)];
        parts.push(lenField(3, Buffer.concat(ex)));
    }
    for (const h of ts.histograms ?? []) parts.push(lenField(4, encodeHistogram(h)));
    return Buffer.concat(parts);
}

/** MetricMetadata bytes: {type: name from METRIC_TYPE or number, name, help, unit}. */
export function encodeMetadata(m) {
    const type = typeof m.type === 'number' ? m.type : METRIC_TYPE[m.type ?? 'unknown'];
    const parts = [];
    if (type) parts.push(varintField(1, type));
    parts.push(strField(2, m.name));
    if (m.help) parts.push(strField(4, m.help));
    if (m.unit) parts.push(strField(5, m.unit));
    return Buffer.concat(parts);
}

/** WriteRequest bytes (uncompressed) from [TimeSeries] and optional [MetricMetadata]. */
export function encodeWriteRequest(series, metadata = []) {
    return Buffer.concat([
        ...series.map((ts) => lenField(1, Buffer.isBuffer(ts) ? ts : encodeTimeSeries(ts))),
        ...metadata.map((m) => lenField(3, encodeMetadata(m))),
    ]);
}

/** Snappy block format (what remote write uses; not the framed stream format). */
export function snappy(buf) {
    return Buffer.from(SnappyJS.compress(buf));
}
export function unsnappy(buf) {
    return Buffer.from(SnappyJS.uncompress(buf));
}

export const REMOTE_WRITE_HEADERS = {
    'content-encoding': 'snappy',
    'content-type': 'application/x-protobuf',
    'user-agent': 'osprey-e2e-remote-write',
    'x-prometheus-remote-write-version': '0.1.0',
};

/**
 * POSTs a body to a remote write URL (e.g. `${apiUrl}/api/v1/write`). body: a Buffer sent
 * as is, or {series, metadata} encoded and compressed here. Resolves {status, text}.
 */
export async function postWrite(url, body, { headers = {}, timeout = 30000 * SLOW } = {}) {
    const bytes = Buffer.isBuffer(body) ? body : snappy(encodeWriteRequest(body.series ?? [], body.metadata ?? []));
    const r = await request(url, { method: 'POST', body: bytes, headers: { ...REMOTE_WRITE_HEADERS, ...headers }, timeout });
    return { status: r.status, text: r.text(), headers: r.headers };
}

/** Like postWrite, but throws unless the answer is 2xx. */
export async function writeOrThrow(url, body, opts) {
    const r = await postWrite(url, body, opts);
    if (r.status < 200 || r.status > 299) throw new Error(`remote write to ${url}: HTTP ${r.status}: ${r.text.slice(0, 500)}`);
    return r;
}

/** Labels sorted by name, as remote write requires: {name: value} -> [[name, value], ...]. */
export function sortedLabels(obj) {
    return Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
