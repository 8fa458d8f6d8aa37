// Prometheus remote write 1.0 for the tests: prometheus.WriteRequest encoded by hand (so
// malformed requests can be built too), snappy block compression, and a POST helper with
// the headers Prometheus itself sends.
//
// WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
// TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3; }
// Label        { string name = 1; string value = 2; }
// Sample       { double value = 1; int64 timestamp = 2; }          (timestamp in ms)
// Exemplar     { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
// MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
import SnappyJS from 'snappyjs';

import { request } from './http.mjs';
import { doubleField, fixed64Field, lenField, varintField } from './otlp.mjs';
import { SLOW } from './server.mjs';

/** The bits of a Prometheus staleness marker (a NaN that is not math.NaN()). */
export const STALE_NAN_BITS = 0x7ff0000000000002n;
/** Pass as a sample value to write a staleness marker with exactly those bits. */
export const STALE = Symbol('stale');

export const METRIC_TYPE = { unknown: 0, counter: 1, gauge: 2, summary: 3, histogram: 4, gaugehistogram: 5, info: 6, stateset: 7 };

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

/**
 * TimeSeries bytes. ts: {labels, samples: [{value, timestamp}] or [[timestamp, value]],
 * exemplars: [{labels, value, timestamp}]}. Labels are written in the order given (callers
 * sort them, or do not, on purpose).
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
