// What the query APIs should return for spans the tests sent, and comparisons that report
// every difference by path (so one failing run shows all that is wrong, not the first).
import { attrMap, canonicalTraces, flatten, plain } from './otlp.mjs';

/** Differences between two JSON-like values as "path: expected X, got Y" lines. */
export function diff(expected, actual, path = '$', out = []) {
    if (out.length > 200) return out;
    if (Object.is(expected, actual)) return out;
    const te = Array.isArray(expected) ? 'array' : typeof expected;
    const ta = Array.isArray(actual) ? 'array' : typeof actual;
    if (te !== ta || te !== 'object' && te !== 'array' || expected === null || actual === null) {
        const show = (v) => {
            const s = JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? `${x}n` : x));
            return s === undefined ? 'nothing' : s.length > 120 ? `${s.slice(0, 120)}...` : s;
        };
        out.push(`${path}: expected ${show(expected)}, got ${show(actual)}`);
        return out;
    }
    if (te === 'array') {
        if (expected.length !== actual.length) out.push(`${path}: expected ${expected.length} elements, got ${actual.length}`);
        for (let i = 0; i < Math.min(expected.length, actual.length); i++) diff(expected[i], actual[i], `${path}[${i}]`, out);
        return out;
    }
    for (const k of new Set([...Object.keys(expected), ...Object.keys(actual)])) diff(expected[k], actual[k], `${path}.${k}`, out);
    return out;
}

/** xs grouped by keyOf(x), in first-seen order: a Map from key to its elements. */
export function group(xs, keyOf) {
    const m = new Map();
    for (const x of xs) {
        const k = keyOf(x);
        if (!m.has(k)) m.set(k, []);
        m.get(k).push(x);
    }
    return m;
}

/** The sum of f(x) over xs. */
export const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);

export const serviceOf = (rec) => attrMap(rec.resource.attributes).get('service.name')?.stringValue ?? '';

/** Records (from flatten) grouped by trace id. */
export function byTrace(records) {
    const m = new Map();
    for (const r of records) {
        if (!m.has(r.span.traceId)) m.set(r.span.traceId, []);
        m.get(r.span.traceId).push(r);
    }
    return m;
}

/**
 * The search summary a trace's spans imply. The root is the earliest span without a parent,
 * or, when the root never arrived (every span has a parent), the earliest span.
 */
export function traceSummary(records) {
    const byStart = [...records].sort((a, b) => {
        const x = BigInt(a.span.startTimeUnixNano);
        const y = BigInt(b.span.startTimeUnixNano);
        return x < y ? -1 : x > y ? 1 : 0;
    });
    const root = byStart.find((r) => !r.span.parentSpanId) ?? byStart[0];
    const start = records.reduce((m, r) => (BigInt(r.span.startTimeUnixNano) < m ? BigInt(r.span.startTimeUnixNano) : m), BigInt(records[0].span.startTimeUnixNano));
    const end = records.reduce((m, r) => (BigInt(r.span.endTimeUnixNano) > m ? BigInt(r.span.endTimeUnixNano) : m), 0n);
    return {
        traceId: records[0].span.traceId,
        rootServiceName: serviceOf(root),
        rootSpanName: root.span.name,
        startTimeUnixNano: start.toString(),
        durationNanos: (end - start).toString(),
        spanCount: records.length,
        errorCount: records.filter((r) => r.span.status?.code === 2).length,
        services: [...new Set(records.map(serviceOf))].sort(),
    };
}

/** A search result entry brought to the form traceSummary() gives (numbers as strings). */
export function normalizeSummary(t) {
    return {
        traceId: String(t.traceId).toLowerCase(),
        rootServiceName: t.rootServiceName,
        rootSpanName: t.rootSpanName,
        startTimeUnixNano: t.startTimeUnixNano === undefined ? undefined : BigInt(t.startTimeUnixNano).toString(),
        durationNanos: t.durationNanos === undefined ? undefined : BigInt(t.durationNanos).toString(),
        spanCount: Number(t.spanCount),
        errorCount: Number(t.errorCount ?? 0),
        services: Array.isArray(t.services) ? [...t.services].sort() : t.services,
    };
}

/**
 * Compares the spans of one trace as sent (flattened canonical records) with a document
 * GET /api/v1/traces/{id} returned. Every span must come back exactly once, with its
 * resource (attributes, dropped count, schema url), scope (name, version, attributes,
 * dropped count, schema url) and every span field equal. Returns difference lines.
 */
export function compareTrace(sentRecords, receivedDoc) {
    const problems = [];
    const got = flatten(canonicalTraces(receivedDoc));
    const count = new Map();
    for (const r of got) count.set(r.span.spanId, (count.get(r.span.spanId) ?? 0) + 1);
    for (const [id, n] of count) if (n > 1) problems.push(`span ${id}: returned ${n} times`);
    const sentIds = new Set(sentRecords.map((r) => r.span.spanId));
    for (const r of got) if (!sentIds.has(r.span.spanId)) problems.push(`span ${r.span.spanId} (${r.span.name}): returned but never sent`);
    for (const exp of sentRecords) {
        const act = got.find((r) => r.span.spanId === exp.span.spanId);
        if (!act) {
            problems.push(`span ${exp.span.spanId} (${exp.span.name}): missing`);
            continue;
        }
        diff(exp, act, `span ${exp.span.spanId} (${exp.span.name})`, problems);
    }
    return problems;
}

// ---------------------------------------------------------------- Jaeger

const KIND_NAMES = { 1: 'internal', 2: 'server', 3: 'client', 4: 'producer', 5: 'consumer' };
const padId = (id, n) => String(id ?? '').toLowerCase().padStart(n, '0');

/** The JSON value a Jaeger "string" tag holds for an array or map attribute. */
function jsonPlain(av) {
    const v = plain(av);
    const conv = (x) => {
        if (typeof x === 'bigint') return Number(x);
        if (Buffer.isBuffer(x)) return x.toString('base64');
        if (Array.isArray(x)) return x.map(conv);
        if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, conv(y)]));
        return x;
    };
    return conv(v);
}

/** Checks that a Jaeger tag list holds the attribute (key, canonical AnyValue). */
function checkTag(tags, key, av, where, problems) {
    const tag = tags.find((t) => t.key === key);
    if (!tag) {
        problems.push(`${where}: tag ${key} missing`);
        return;
    }
    const bad = (what) => problems.push(`${where}: tag ${key}: ${what}, got ${JSON.stringify(tag).slice(0, 160)}`);
    if ('stringValue' in av) {
        if (tag.type !== 'string' || tag.value !== av.stringValue) bad(`expected string ${JSON.stringify(av.stringValue).slice(0, 60)}`);
    } else if ('boolValue' in av) {
        if (tag.type !== 'bool' || tag.value !== av.boolValue) bad(`expected bool ${av.boolValue}`);
    } else if ('intValue' in av) {
        if (tag.type !== 'int64' || String(tag.value) !== av.intValue) bad(`expected int64 ${av.intValue}`);
    } else if ('doubleValue' in av) {
        if (tag.type !== 'float64' || Number(tag.value) !== av.doubleValue) bad(`expected float64 ${av.doubleValue}`);
    } else if ('bytesValue' in av) {
        if (tag.type !== 'binary') bad('expected type binary');
    } else if ('arrayValue' in av || 'kvlistValue' in av) {
        let parsed;
        try {
            parsed = JSON.parse(tag.value);
        } catch {
            bad('expected a JSON string');
            return;
        }
        if (tag.type !== 'string' || diff(jsonPlain(av), parsed).length) bad(`expected string ${JSON.stringify(JSON.stringify(jsonPlain(av))).slice(0, 80)}`);
    }
}

/**
 * Compares one trace as sent with the Jaeger JSON trace object (data[0] of
 * /api/traces/{id}). The mapping follows the OpenTelemetry Collector's OTLP -> Jaeger
 * translation that Grafana's Jaeger data source expects:
 *  - traceID / spanID hex; operationName = span name;
 *  - references: CHILD_OF the parent, FOLLOWS_FROM each link;
 *  - startTime = start ns / 1000 (floored), duration = (end - start) / 1000 (floored; the
 *    difference of the floored microsecond times is accepted too);
 *  - tags: span attributes (string, bool, int64, float64, binary; arrays and maps as JSON
 *    strings), span.kind (server, client, producer, consumer), otel.status_code and
 *    otel.status_description, error=true for status ERROR, otel.scope.name/.version,
 *    w3c.tracestate;
 *  - logs: one per event, timestamp in microseconds, fields "event" = name plus the event
 *    attributes;
 *  - processes[processID]: serviceName = service.name, tags = the other resource attributes.
 * Returns difference lines.
 */
export function compareJaegerTrace(sentRecords, jt) {
    const problems = [];
    if (!jt || !Array.isArray(jt.spans)) return ['trace: no spans array'];
    if (padId(jt.traceID, 32) !== sentRecords[0].span.traceId) problems.push(`traceID: expected ${sentRecords[0].span.traceId}, got ${jt.traceID}`);
    if (jt.spans.length !== sentRecords.length) problems.push(`spans: expected ${sentRecords.length}, got ${jt.spans.length}`);
    for (const rec of sentRecords) {
        const s = rec.span;
        const where = `span ${s.spanId} (${s.name})`;
        const matches = jt.spans.filter((x) => padId(x.spanID, 16) === s.spanId);
        if (matches.length !== 1) {
            problems.push(`${where}: found ${matches.length} times`);
            continue;
        }
        const js = matches[0];
        if (padId(js.traceID, 32) !== s.traceId) problems.push(`${where}: traceID ${js.traceID}`);
        if (js.operationName !== s.name) problems.push(`${where}: operationName ${JSON.stringify(js.operationName)}`);
        const startNs = BigInt(s.startTimeUnixNano);
        const endNs = BigInt(s.endTimeUnixNano);
        const startUs = startNs / 1000n;
        if (String(js.startTime) !== String(startUs)) problems.push(`${where}: startTime expected ${startUs} µs, got ${js.startTime}`);
        const dur = [(endNs - startNs) / 1000n, endNs / 1000n - startUs].map(String);
        if (!dur.includes(String(js.duration))) problems.push(`${where}: duration expected ${dur[0]} µs, got ${js.duration}`);

        const refs = (js.references ?? []).map((r) => `${r.refType}:${padId(r.traceID, 32)}:${padId(r.spanID, 16)}`).sort();
        const wantRefs = [
            ...(s.parentSpanId ? [`CHILD_OF:${s.traceId}:${s.parentSpanId}`] : []),
            ...(s.links ?? []).map((l) => `FOLLOWS_FROM:${l.traceId}:${l.spanId}`),
        ].sort();
        if (diff(wantRefs, refs).length) problems.push(`${where}: references expected ${JSON.stringify(wantRefs)}, got ${JSON.stringify(refs)}`);

        const tags = js.tags ?? [];
        for (const kv of s.attributes ?? []) checkTag(tags, kv.key, kv.value, where, problems);
        const kindTag = tags.find((t) => t.key === 'span.kind');
        const kind = KIND_NAMES[s.kind ?? 0];
        if (kind && kind !== 'internal' && kindTag?.value !== kind) problems.push(`${where}: tag span.kind expected ${kind}, got ${JSON.stringify(kindTag?.value)}`);
        if (kind === 'internal' && kindTag && kindTag.value !== 'internal') problems.push(`${where}: tag span.kind ${JSON.stringify(kindTag.value)} on an internal span`);
        const code = s.status?.code ?? 0;
        const errTag = tags.find((t) => t.key === 'error');
        if (code === 2 && !(errTag && (errTag.value === true || errTag.value === 'true'))) problems.push(`${where}: status ERROR but no error=true tag`);
        if (code !== 2 && errTag && (errTag.value === true || errTag.value === 'true')) problems.push(`${where}: error=true tag on a span whose status is not ERROR`);
        if (code) {
            const want = code === 2 ? 'ERROR' : 'OK';
            const st = tags.find((t) => t.key === 'otel.status_code');
            if (st?.value !== want) problems.push(`${where}: tag otel.status_code expected ${want}, got ${JSON.stringify(st?.value)}`);
        }
        if (s.status?.message) {
            const d = tags.find((t) => t.key === 'otel.status_description');
            if (d?.value !== s.status.message) problems.push(`${where}: tag otel.status_description expected ${JSON.stringify(s.status.message)}, got ${JSON.stringify(d?.value)}`);
        }
        const scopeName = tags.find((t) => t.key === 'otel.scope.name' || t.key === 'otel.library.name');
        if (rec.scope.name && scopeName?.value !== rec.scope.name) problems.push(`${where}: tag otel.scope.name expected ${rec.scope.name}, got ${JSON.stringify(scopeName?.value)}`);
        const scopeVersion = tags.find((t) => t.key === 'otel.scope.version' || t.key === 'otel.library.version');
        if (rec.scope.version && scopeVersion?.value !== rec.scope.version) problems.push(`${where}: tag otel.scope.version expected ${rec.scope.version}, got ${JSON.stringify(scopeVersion?.value)}`);
        if (s.traceState) {
            const ts = tags.find((t) => t.key === 'w3c.tracestate');
            if (ts?.value !== s.traceState) problems.push(`${where}: tag w3c.tracestate expected ${s.traceState}, got ${JSON.stringify(ts?.value)}`);
        }

        const logs = js.logs ?? [];
        const events = s.events ?? [];
        if (logs.length !== events.length) problems.push(`${where}: expected ${events.length} logs, got ${logs.length}`);
        events.forEach((ev, i) => {
            const log = logs[i];
            if (!log) return;
            const us = (BigInt(ev.timeUnixNano) / 1000n).toString();
            if (String(log.timestamp) !== us) problems.push(`${where}: log ${i} timestamp expected ${us}, got ${log.timestamp}`);
            const fields = log.fields ?? [];
            const name = fields.find((f) => f.key === 'event');
            if (name?.value !== ev.name) problems.push(`${where}: log ${i} field event expected ${ev.name}, got ${JSON.stringify(name?.value)}`);
            for (const kv of ev.attributes ?? []) checkTag(fields, kv.key, kv.value, `${where} log ${i}`, problems);
        });

        const proc = jt.processes?.[js.processID];
        if (!proc) problems.push(`${where}: process ${js.processID} missing`);
        else {
            const svc = attrMap(rec.resource.attributes).get('service.name')?.stringValue;
            if (proc.serviceName !== svc) problems.push(`${where}: process serviceName expected ${svc}, got ${proc.serviceName}`);
            for (const kv of rec.resource.attributes ?? []) {
                if (kv.key !== 'service.name') checkTag(proc.tags ?? [], kv.key, kv.value, `${where} process`, problems);
            }
        }
    }
    return problems;
}

/** Spans-kind names the operations endpoint may use, brought to lowercase words. */
export function normalizeKind(k) {
    if (typeof k === 'number') return KIND_NAMES[k] ?? 'unspecified';
    return String(k ?? '').toLowerCase().replace(/^span_kind_/, '');
}
