// OTLP trace messages for the tests, driven by one schema: protobuf encode and decode, and a
// canonical form of OTLP/JSON documents that every comparison uses.
//
// Canonical form = the proto3 JSON mapping with OTLP's rules, written one way only:
// lowerCamelCase keys, ids as lowercase hex, 64-bit integers as decimal strings, enums as
// integers, bytes as padded standard base64, and every field that holds its default value
// left out (empty strings, zero numbers, empty lists), except the members of AnyValue's
// oneof, which are kept whatever their value ({"boolValue":false} is not {}).

// Field kinds: str, bytes (base64 in JSON), id (hex in JSON), u32/i32/enum (varint, JSON
// number), i64 (varint, JSON string), f64 (fixed64 integer, JSON string), x32 (fixed32,
// JSON number), dbl (double, JSON number), bool, and message names; for metrics also sf64
// (sfixed64, JSON string), u64 (uint64 varint, JSON string) and si32 (zigzag sint32, JSON
// number). Modes: rep (repeated), oneof (written and kept whatever its value), opt (proto3
// optional: written and kept whenever present, even when zero) and packed (a repeated
// scalar written as one length-delimited field; reading accepts packed and unpacked).
const S = {
    ExportTraceServiceRequest: [[1, 'resourceSpans', 'ResourceSpans', 'rep']],
    ResourceSpans: [
        [1, 'resource', 'Resource'],
        [2, 'scopeSpans', 'ScopeSpans', 'rep'],
        [3, 'schemaUrl', 'str'],
    ],
    Resource: [
        [1, 'attributes', 'KeyValue', 'rep'],
        [2, 'droppedAttributesCount', 'u32'],
    ],
    ScopeSpans: [
        [1, 'scope', 'InstrumentationScope'],
        [2, 'spans', 'Span', 'rep'],
        [3, 'schemaUrl', 'str'],
    ],
    InstrumentationScope: [
        [1, 'name', 'str'],
        [2, 'version', 'str'],
        [3, 'attributes', 'KeyValue', 'rep'],
        [4, 'droppedAttributesCount', 'u32'],
    ],
    Span: [
        [1, 'traceId', 'id'],
        [2, 'spanId', 'id'],
        [3, 'traceState', 'str'],
        [4, 'parentSpanId', 'id'],
        [16, 'flags', 'x32'],
        [5, 'name', 'str'],
        [6, 'kind', 'enum'],
        [7, 'startTimeUnixNano', 'f64'],
        [8, 'endTimeUnixNano', 'f64'],
        [9, 'attributes', 'KeyValue', 'rep'],
        [10, 'droppedAttributesCount', 'u32'],
        [11, 'events', 'Event', 'rep'],
        [12, 'droppedEventsCount', 'u32'],
        [13, 'links', 'Link', 'rep'],
        [14, 'droppedLinksCount', 'u32'],
        [15, 'status', 'Status'],
    ],
    Event: [
        [1, 'timeUnixNano', 'f64'],
        [2, 'name', 'str'],
        [3, 'attributes', 'KeyValue', 'rep'],
        [4, 'droppedAttributesCount', 'u32'],
    ],
    Link: [
        [1, 'traceId', 'id'],
        [2, 'spanId', 'id'],
        [3, 'traceState', 'str'],
        [4, 'attributes', 'KeyValue', 'rep'],
        [5, 'droppedAttributesCount', 'u32'],
        [6, 'flags', 'x32'],
    ],
    Status: [
        [2, 'message', 'str'],
        [3, 'code', 'enum'],
    ],
    KeyValue: [
        [1, 'key', 'str'],
        [2, 'value', 'AnyValue'],
    ],
    AnyValue: [
        [1, 'stringValue', 'str', 'oneof'],
        [2, 'boolValue', 'bool', 'oneof'],
        [3, 'intValue', 'i64', 'oneof'],
        [4, 'doubleValue', 'dbl', 'oneof'],
        [5, 'arrayValue', 'ArrayValue', 'oneof'],
        [6, 'kvlistValue', 'KeyValueList', 'oneof'],
        [7, 'bytesValue', 'bytes', 'oneof'],
    ],
    ArrayValue: [[1, 'values', 'AnyValue', 'rep']],
    KeyValueList: [[1, 'values', 'KeyValue', 'rep']],
    ExportTraceServiceResponse: [[1, 'partialSuccess', 'ExportTracePartialSuccess']],
    ExportTracePartialSuccess: [
        [1, 'rejectedSpans', 'i64'],
        [2, 'errorMessage', 'str'],
    ],
    RpcStatus: [
        [1, 'code', 'i32'],
        [2, 'message', 'str'],
    ],

    // Logs (opentelemetry/proto/logs/v1/logs.proto and the collector service).
    ExportLogsServiceRequest: [[1, 'resourceLogs', 'ResourceLogs', 'rep']],
    ResourceLogs: [
        [1, 'resource', 'Resource'],
        [2, 'scopeLogs', 'ScopeLogs', 'rep'],
        [3, 'schemaUrl', 'str'],
    ],
    ScopeLogs: [
        [1, 'scope', 'InstrumentationScope'],
        [2, 'logRecords', 'LogRecord', 'rep'],
        [3, 'schemaUrl', 'str'],
    ],
    LogRecord: [
        [1, 'timeUnixNano', 'f64'],
        [11, 'observedTimeUnixNano', 'f64'],
        [2, 'severityNumber', 'enum'],
        [3, 'severityText', 'str'],
        [5, 'body', 'AnyValue'],
        [6, 'attributes', 'KeyValue', 'rep'],
        [7, 'droppedAttributesCount', 'u32'],
        [8, 'flags', 'x32'],
        [9, 'traceId', 'id'],
        [10, 'spanId', 'id'],
        [12, 'eventName', 'str'],
    ],
    ExportLogsServiceResponse: [[1, 'partialSuccess', 'ExportLogsPartialSuccess']],
    ExportLogsPartialSuccess: [
        [1, 'rejectedLogRecords', 'i64'],
        [2, 'errorMessage', 'str'],
    ],

    // Metrics (opentelemetry/proto/metrics/v1/metrics.proto and the collector service).
    ExportMetricsServiceRequest: [[1, 'resourceMetrics', 'ResourceMetrics', 'rep']],
    ResourceMetrics: [
        [1, 'resource', 'Resource'],
        [2, 'scopeMetrics', 'ScopeMetrics', 'rep'],
        [3, 'schemaUrl', 'str'],
    ],
    ScopeMetrics: [
        [1, 'scope', 'InstrumentationScope'],
        [2, 'metrics', 'Metric', 'rep'],
        [3, 'schemaUrl', 'str'],
    ],
    Metric: [
        [1, 'name', 'str'],
        [2, 'description', 'str'],
        [3, 'unit', 'str'],
        [5, 'gauge', 'Gauge', 'oneof'],
        [7, 'sum', 'Sum', 'oneof'],
        [9, 'histogram', 'Histogram', 'oneof'],
        [10, 'exponentialHistogram', 'ExponentialHistogram', 'oneof'],
        [11, 'summary', 'Summary', 'oneof'],
        [12, 'metadata', 'KeyValue', 'rep'],
    ],
    Gauge: [[1, 'dataPoints', 'NumberDataPoint', 'rep']],
    Sum: [
        [1, 'dataPoints', 'NumberDataPoint', 'rep'],
        [2, 'aggregationTemporality', 'enum'],
        [3, 'isMonotonic', 'bool'],
    ],
    Histogram: [
        [1, 'dataPoints', 'HistogramDataPoint', 'rep'],
        [2, 'aggregationTemporality', 'enum'],
    ],
    ExponentialHistogram: [
        [1, 'dataPoints', 'ExponentialHistogramDataPoint', 'rep'],
        [2, 'aggregationTemporality', 'enum'],
    ],
    Summary: [[1, 'dataPoints', 'SummaryDataPoint', 'rep']],
    NumberDataPoint: [
        [2, 'startTimeUnixNano', 'f64'],
        [3, 'timeUnixNano', 'f64'],
        [4, 'asDouble', 'dbl', 'oneof'],
        [5, 'exemplars', 'Exemplar', 'rep'],
        [6, 'asInt', 'sf64', 'oneof'],
        [7, 'attributes', 'KeyValue', 'rep'],
        [8, 'flags', 'u32'],
    ],
    HistogramDataPoint: [
        [2, 'startTimeUnixNano', 'f64'],
        [3, 'timeUnixNano', 'f64'],
        [4, 'count', 'f64'],
        [5, 'sum', 'dbl', 'opt'],
        [6, 'bucketCounts', 'f64', 'packed'],
        [7, 'explicitBounds', 'dbl', 'packed'],
        [8, 'exemplars', 'Exemplar', 'rep'],
        [9, 'attributes', 'KeyValue', 'rep'],
        [10, 'flags', 'u32'],
        [11, 'min', 'dbl', 'opt'],
        [12, 'max', 'dbl', 'opt'],
    ],
    ExponentialHistogramDataPoint: [
        [1, 'attributes', 'KeyValue', 'rep'],
        [2, 'startTimeUnixNano', 'f64'],
        [3, 'timeUnixNano', 'f64'],
        [4, 'count', 'f64'],
        [5, 'sum', 'dbl', 'opt'],
        [6, 'scale', 'si32'],
        [7, 'zeroCount', 'f64'],
        [8, 'positive', 'Buckets'],
        [9, 'negative', 'Buckets'],
        [10, 'flags', 'u32'],
        [11, 'exemplars', 'Exemplar', 'rep'],
        [12, 'min', 'dbl', 'opt'],
        [13, 'max', 'dbl', 'opt'],
        [14, 'zeroThreshold', 'dbl'],
    ],
    Buckets: [
        [1, 'offset', 'si32'],
        [2, 'bucketCounts', 'u64', 'packed'],
    ],
    SummaryDataPoint: [
        [2, 'startTimeUnixNano', 'f64'],
        [3, 'timeUnixNano', 'f64'],
        [4, 'count', 'f64'],
        [5, 'sum', 'dbl'],
        [6, 'quantileValues', 'ValueAtQuantile', 'rep'],
        [7, 'attributes', 'KeyValue', 'rep'],
        [8, 'flags', 'u32'],
    ],
    ValueAtQuantile: [
        [1, 'quantile', 'dbl'],
        [2, 'value', 'dbl'],
    ],
    Exemplar: [
        [2, 'timeUnixNano', 'f64'],
        [3, 'asDouble', 'dbl', 'oneof'],
        [4, 'spanId', 'id'],
        [5, 'traceId', 'id'],
        [6, 'asInt', 'sf64', 'oneof'],
        [7, 'filteredAttributes', 'KeyValue', 'rep'],
    ],
    ExportMetricsServiceResponse: [[1, 'partialSuccess', 'ExportMetricsPartialSuccess']],
    ExportMetricsPartialSuccess: [
        [1, 'rejectedDataPoints', 'i64'],
        [2, 'errorMessage', 'str'],
    ],
};

const WIRE = { str: 2, bytes: 2, id: 2, u32: 0, i32: 0, enum: 0, i64: 0, bool: 0, f64: 1, dbl: 1, x32: 5, sf64: 1, u64: 0, si32: 0 };
const isMsg = (t) => !(t in WIRE);

// ---------------------------------------------------------------- protobuf writing

/** Varint of a non-negative or negative (two's complement, 10 bytes) integer. */
export function varint(v) {
    let n = BigInt.asUintN(64, BigInt(v));
    const out = [];
    do {
        let b = Number(n & 0x7fn);
        n >>= 7n;
        if (n) b |= 0x80;
        out.push(b);
    } while (n);
    return Buffer.from(out);
}
export const tag = (field, wire) => varint((field << 3) | wire);
export const lenField = (field, payload) => Buffer.concat([tag(field, 2), varint(payload.length), payload]);
export const varintField = (field, v) => Buffer.concat([tag(field, 0), varint(v)]);
export function fixed64Field(field, v) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)));
    return Buffer.concat([tag(field, 1), b]);
}
export function fixed32Field(field, v) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return Buffer.concat([tag(field, 5), b]);
}
export function doubleField(field, v) {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    return Buffer.concat([tag(field, 1), b]);
}

function isDefault(kind, v) {
    if (v === undefined || v === null) return true;
    switch (kind) {
    case 'str': case 'bytes': case 'id': return v === '' || (Buffer.isBuffer(v) && v.length === 0);
    case 'bool': return v === false;
    case 'i64': case 'f64': case 'sf64': case 'u64': return BigInt(v) === 0n;
    case 'dbl': return v === 0 && !Object.is(v, -0);
    default: return isMsg(kind) ? false : Number(v) === 0;
    }
}

const zigzag32 = (n) => ((n << 1) ^ (n >> 31)) >>> 0;

/** A packed repeated scalar: the elements' bytes without their tags, in one LEN field. */
function packedField(field, kind, list) {
    const body = Buffer.concat(list.map((v) => encodeScalar(1, kind, v).subarray(1))); // tag 1 is one byte
    return lenField(field, body);
}

function encodeScalar(field, kind, v) {
    switch (kind) {
    // A Buffer is written as given, so tests can send bytes a string cannot hold (invalid
    // UTF-8, ids of the wrong length).
    case 'str': return lenField(field, Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8'));
    case 'bytes': return lenField(field, Buffer.isBuffer(v) ? v : Buffer.from(v, 'base64'));
    case 'id': return lenField(field, Buffer.isBuffer(v) ? v : Buffer.from(v, 'hex'));
    case 'u32': case 'i32': case 'enum': return varintField(field, Number(v));
    case 'i64': return varintField(field, BigInt(v));
    case 'bool': return varintField(field, v ? 1 : 0);
    case 'f64': return fixed64Field(field, BigInt(v));
    case 'x32': return fixed32Field(field, Number(v));
    case 'dbl': return doubleField(field, Number(v));
    case 'sf64': return fixed64Field(field, BigInt(v));
    case 'u64': return varintField(field, BigInt(v));
    case 'si32': return varintField(field, zigzag32(Number(v)));
    }
    throw new Error(`unknown kind ${kind}`);
}

/**
 * Encodes an object in OTLP/JSON shape (hex ids; 64-bit values as strings or numbers) as
 * the protobuf message `type`. Fields holding defaults are left out, as proto3 does;
 * AnyValue members are always written.
 */
export function encode(type, obj) {
    const parts = [];
    for (const [field, name, kind, mode] of S[type]) {
        const v = obj?.[name];
        if (mode === 'rep') {
            for (const el of v ?? []) parts.push(isMsg(kind) ? lenField(field, encode(kind, el)) : encodeScalar(field, kind, el));
            continue;
        }
        if (mode === 'packed') {
            if (v?.length) parts.push(packedField(field, kind, v));
            continue;
        }
        if (v === undefined || v === null) continue;
        if (mode !== 'oneof' && mode !== 'opt' && isDefault(kind, v)) continue;
        parts.push(isMsg(kind) ? lenField(field, encode(kind, v)) : encodeScalar(field, kind, v));
    }
    return Buffer.concat(parts);
}

export const encodeTraces = (doc) => encode('ExportTraceServiceRequest', doc);

// ---------------------------------------------------------------- protobuf reading

class Reader {
    constructor(buf) {
        this.b = buf;
        this.p = 0;
    }
    varint() {
        let r = 0n;
        for (let s = 0n; s < 70n; s += 7n) {
            if (this.p >= this.b.length) throw new Error('varint past the end');
            const c = this.b[this.p++];
            r |= BigInt(c & 0x7f) << s;
            if (!(c & 0x80)) return r;
        }
        throw new Error('varint too long');
    }
    take(n) {
        if (this.p + n > this.b.length) throw new Error('length past the end');
        const s = this.b.subarray(this.p, this.p + n);
        this.p += n;
        return s;
    }
}

/** Decodes protobuf bytes of message `type` into canonical OTLP/JSON. Unknown fields are skipped. */
export function decode(type, buf) {
    const r = new Reader(buf);
    const out = {};
    const byNum = new Map(S[type].map((f) => [f[0], f]));
    while (r.p < r.b.length) {
        const key = r.varint();
        const field = Number(key >> 3n);
        const wire = Number(key & 7n);
        let raw;
        if (wire === 0) raw = r.varint();
        else if (wire === 1) raw = r.take(8);
        else if (wire === 2) raw = r.take(Number(r.varint()));
        else if (wire === 5) raw = r.take(4);
        else throw new Error(`wire type ${wire} in ${type}.${field}`);
        const f = byNum.get(field);
        if (!f) continue;
        const [, name, kind, mode] = f;
        let v;
        if (mode === 'packed' && wire === 2) {
            const el = new Reader(Buffer.from(raw));
            const list = (out[name] ??= []);
            while (el.p < el.b.length) {
                if (WIRE[kind] === 0) list.push(scalarOf(kind, el.varint()));
                else list.push(scalarOf(kind, el.take(WIRE[kind] === 1 ? 8 : 4)));
            }
            continue;
        }
        if (isMsg(kind)) v = decode(kind, raw);
        else if (kind === 'sf64' || kind === 'u64' || kind === 'si32') v = scalarOf(kind, raw);
        else {
            switch (kind) {
            case 'str': v = Buffer.from(raw).toString('utf8'); break;
            case 'bytes': v = Buffer.from(raw).toString('base64'); break;
            case 'id': v = Buffer.from(raw).toString('hex'); break;
            case 'u32': v = Number(BigInt.asUintN(32, raw)); break;
            case 'i32': case 'enum': v = Number(BigInt.asIntN(32, raw)); break;
            case 'i64': v = BigInt.asIntN(64, raw).toString(); break;
            case 'bool': v = raw !== 0n; break;
            case 'f64': v = Buffer.from(raw).readBigUInt64LE().toString(); break;
            case 'x32': v = Buffer.from(raw).readUInt32LE(); break;
            case 'dbl': v = Buffer.from(raw).readDoubleLE(); break;
            }
        }
        if (mode === 'rep' || mode === 'packed') (out[name] ??= []).push(v);
        else if (mode === 'oneof') {
            for (const g of S[type]) if (g[3] === 'oneof') delete out[g[1]];
            out[name] = v;
        } else out[name] = v;
    }
    return canonical(type, out);
}

/** Metric-only scalar kinds, and packed elements of any scalar kind, read from a varint or fixed-size slice. */
function scalarOf(kind, raw) {
    switch (kind) {
    case 'sf64': return Buffer.from(raw).readBigInt64LE().toString();
    case 'u64': return BigInt.asUintN(64, raw).toString();
    case 'si32': {
        const n = Number(BigInt.asUintN(32, raw));
        return (n >>> 1) ^ -(n & 1);
    }
    case 'f64': return Buffer.from(raw).readBigUInt64LE().toString();
    case 'dbl': return Buffer.from(raw).readDoubleLE();
    case 'x32': return Buffer.from(raw).readUInt32LE();
    case 'bool': return raw !== 0n;
    case 'u32': return Number(BigInt.asUintN(32, raw));
    case 'i32': case 'enum': return Number(BigInt.asIntN(32, raw));
    case 'i64': return BigInt.asIntN(64, raw).toString();
    }
    throw new Error(`kind ${kind} cannot be packed`);
}

export const decodeTraces = (buf) => decode('ExportTraceServiceRequest', buf);
export const decodeExportResponse = (buf) => decode('ExportTraceServiceResponse', buf);
export const decodeRpcStatus = (buf) => decode('RpcStatus', buf);

// ---------------------------------------------------------------- canonical JSON

function canonScalar(kind, v, path) {
    switch (kind) {
    case 'str': if (typeof v !== 'string') throw new Error(`${path}: expected a string`); return v;
    case 'id': if (typeof v !== 'string') throw new Error(`${path}: expected a hex id`); return v.toLowerCase();
    case 'bytes': return Buffer.from(String(v), 'base64').toString('base64');
    case 'bool': if (typeof v !== 'boolean') throw new Error(`${path}: expected a boolean`); return v;
    case 'i64': case 'f64': case 'sf64': case 'u64': return BigInt(v).toString();
    case 'dbl': if (typeof v === 'string') return Number(v); return v;
    default: return Number(v);
    }
}

/**
 * Canonical form of an OTLP/JSON object of message `type` (see the top of this file).
 * Keys the schema does not know are dropped; use formatProblems() to find them.
 */
export function canonical(type, obj) {
    const out = {};
    if (obj === null || typeof obj !== 'object') return out;
    for (const [, name, kind, mode] of S[type]) {
        const v = obj[name];
        if (v === undefined || v === null) continue;
        if (mode === 'rep' || mode === 'packed') {
            const list = v.map((el) => (isMsg(kind) ? canonical(kind, el) : canonScalar(kind, el, name)));
            if (list.length) out[name] = list;
        } else if (isMsg(kind)) {
            const m = canonical(kind, v);
            // A message that holds only defaults says nothing; an empty AnyValue member
            // (arrayValue {}, kvlistValue {}) is information and stays.
            if (mode === 'oneof' || Object.keys(m).length) out[name] = m;
        } else {
            const c = canonScalar(kind, v, name);
            if (mode === 'oneof' || mode === 'opt' || !isDefault(kind, c)) out[name] = c;
        }
    }
    // KeyValue.value: an empty AnyValue and an absent one mean the same (the empty value).
    if (type === 'KeyValue' && !out.value) out.value = {};
    return out;
}

export const canonicalTraces = (doc) => canonical('ExportTraceServiceRequest', doc);

/**
 * Strict checks of an OTLP/JSON document that Osprey produced, against the encoding its API
 * promises: camelCase keys the schema knows, hex ids of the right length, 64-bit integers
 * as strings, enums as integers, no default-valued fields outside AnyValue. Returns a list
 * of "path: problem" strings (empty when the document is clean).
 */
export function formatProblems(type, obj, path = '$', out = []) {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
        out.push(`${path}: expected an object`);
        return out;
    }
    const fields = new Map(S[type].map((f) => [f[1], f]));
    for (const [k, v] of Object.entries(obj)) {
        const f = fields.get(k);
        const p = `${path}.${k}`;
        if (!f) {
            out.push(`${p}: unknown field`);
            continue;
        }
        const [, , kind, mode] = f;
        const check = (el, ep) => {
            if (isMsg(kind)) return formatProblems(kind, el, ep, out);
            if (kind === 'id' && !/^[0-9a-f]*$/.test(el)) out.push(`${ep}: id is not lowercase hex: ${JSON.stringify(el)}`);
            if (kind === 'id' && k.toLowerCase().includes('trace') && el.length !== 32) out.push(`${ep}: trace id must be 32 hex digits`);
            if (kind === 'id' && k.toLowerCase().includes('span') && el.length !== 16) out.push(`${ep}: span id must be 16 hex digits`);
            if (['i64', 'f64', 'sf64', 'u64'].includes(kind) && !(typeof el === 'string' && /^-?\d+$/.test(el))) out.push(`${ep}: 64-bit integer must be a decimal string, got ${JSON.stringify(el)}`);
            if (['u32', 'i32', 'enum', 'x32', 'si32'].includes(kind) && !Number.isInteger(el)) out.push(`${ep}: expected an integer number, got ${JSON.stringify(el)}`);
            if (kind === 'dbl' && typeof el !== 'number' && !['NaN', 'Infinity', '-Infinity'].includes(el)) out.push(`${ep}: expected a number`);
            if (kind === 'bool' && typeof el !== 'boolean') out.push(`${ep}: expected a boolean`);
            if ((kind === 'str' || kind === 'bytes') && typeof el !== 'string') out.push(`${ep}: expected a string`);
            if (mode !== 'oneof' && mode !== 'opt' && mode !== 'rep' && mode !== 'packed' && !isMsg(kind)) {
                let dflt = false;
                try {
                    dflt = isDefault(kind, el);
                } catch {
                    // not a number at all; reported above
                }
                if (dflt) out.push(`${ep}: default value should be omitted`);
            }
        };
        if (mode === 'rep' || mode === 'packed') {
            if (!Array.isArray(v)) out.push(`${p}: expected a list`);
            else if (v.length === 0) out.push(`${p}: empty list should be omitted`);
            else v.forEach((el, i) => check(el, `${p}[${i}]`));
        } else check(v, p);
    }
    return out;
}

/**
 * Flattens a canonical traces document into one record per span:
 * {resource, scope, span} where resource and scope carry their schemaUrl from the
 * enclosing ResourceSpans / ScopeSpans. Returned in document order.
 */
export function flatten(doc) {
    const out = [];
    for (const rs of doc.resourceSpans ?? []) {
        const resource = { ...(rs.resource ?? {}) };
        if (rs.schemaUrl) resource.schemaUrl = rs.schemaUrl;
        for (const ss of rs.scopeSpans ?? []) {
            const scope = { ...(ss.scope ?? {}) };
            if (ss.schemaUrl) scope.schemaUrl = ss.schemaUrl;
            for (const span of ss.spans ?? []) out.push({ resource, scope, span });
        }
    }
    return out;
}

/** The plain JS value of a canonical AnyValue (ints as BigInt, bytes as Buffer). */
export function plain(av) {
    if ('stringValue' in av) return av.stringValue;
    if ('boolValue' in av) return av.boolValue;
    if ('intValue' in av) return BigInt(av.intValue);
    if ('doubleValue' in av) return av.doubleValue;
    if ('bytesValue' in av) return Buffer.from(av.bytesValue, 'base64');
    if ('arrayValue' in av) return (av.arrayValue.values ?? []).map(plain);
    if ('kvlistValue' in av) return Object.fromEntries((av.kvlistValue.values ?? []).map((kv) => [kv.key, plain(kv.value)]));
    return null;
}

/** Attribute list (canonical) as a Map key -> canonical AnyValue. */
export const attrMap = (attrs) => new Map((attrs ?? []).map((kv) => [kv.key, kv.value]));

// ---------------------------------------------------------------- metrics

export const encodeMetrics = (doc) => encode('ExportMetricsServiceRequest', doc);
export const decodeMetrics = (buf) => decode('ExportMetricsServiceRequest', buf);
export const canonicalMetrics = (doc) => canonical('ExportMetricsServiceRequest', doc);
export const decodeMetricsExportResponse = (buf) => decode('ExportMetricsServiceResponse', buf);

/** The kind of a canonical Metric: gauge, sum, histogram, exponentialHistogram, summary, or null (no data). */
export const metricKind = (m) => ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'].find((k) => k in m) ?? null;

/**
 * Flattens a canonical metrics document into one record per data point:
 * {resource, scope, metric, kind, point} where metric is the Metric without its data and
 * kind says which data it had (with temporality and monotonicity for sums). Document order.
 */
export function flattenMetrics(doc) {
    const out = [];
    for (const rm of doc.resourceMetrics ?? []) {
        const resource = { ...(rm.resource ?? {}) };
        if (rm.schemaUrl) resource.schemaUrl = rm.schemaUrl;
        for (const sm of rm.scopeMetrics ?? []) {
            const scope = { ...(sm.scope ?? {}) };
            if (sm.schemaUrl) scope.schemaUrl = sm.schemaUrl;
            for (const m of sm.metrics ?? []) {
                const kind = metricKind(m);
                const { gauge, sum, histogram, exponentialHistogram, summary, ...metric } = m;
                const data = m[kind] ?? {};
                for (const point of data.dataPoints ?? []) {
                    out.push({ resource, scope, metric, kind, temporality: data.aggregationTemporality ?? 0, monotonic: data.isMonotonic ?? false, point });
                }
            }
        }
    }
    return out;
}

// ---------------------------------------------------------------- logs

export const encodeLogs = (doc) => encode('ExportLogsServiceRequest', doc);
export const decodeLogs = (buf) => decode('ExportLogsServiceRequest', buf);
export const canonicalLogs = (doc) => canonical('ExportLogsServiceRequest', doc);
export const decodeLogsExportResponse = (buf) => decode('ExportLogsServiceResponse', buf);

/**
 * Flattens a canonical logs document into one record per log record: {resource, scope, log}
 * with the schemaUrls of the enclosing ResourceLogs / ScopeLogs. Document order.
 */
export function flattenLogs(doc) {
    const out = [];
    for (const rl of doc.resourceLogs ?? []) {
        const resource = { ...(rl.resource ?? {}) };
        if (rl.schemaUrl) resource.schemaUrl = rl.schemaUrl;
        for (const sl of rl.scopeLogs ?? []) {
            const scope = { ...(sl.scope ?? {}) };
            if (sl.schemaUrl) scope.schemaUrl = sl.schemaUrl;
            for (const log of sl.logRecords ?? []) out.push({ resource, scope, log });
        }
    }
    return out;
}
