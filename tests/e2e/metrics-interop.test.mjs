// Metrics interop with the official OpenTelemetry JS metrics SDK: each exporter (gRPC,
// HTTP/protobuf, HTTP/JSON) with cumulative and delta temporality sends the metrics
// workload in rounds to a fresh server; the Prometheus HTTP API must then show every
// instrument under its translated name (OpenTelemetry's Prometheus compatibility rules)
// with job, instance and the sanitized attributes as labels, counters equal to what was
// added (deltas accumulated), histogram buckets, sums and counts, exponential histograms
// as one native histogram series each (the SDK's scale, above 8 brought down to 8; delta
// points added up at the coarsest scale sent) with exactly the buckets the values fall in,
// gauges' last values, the value after each round, target_info with the resource
// attributes, and the metadata (type, unit, help); the data survives a restart. A server
// started with --otlp-metric-names=utf8 keeps the names as sent.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { diff } from './lib/expect.mjs';
import { request } from './lib/http.mjs';
import { decodeMetrics, encodeMetrics, flattenMetrics } from './lib/otlp.mjs';
import { cleanExit, startServer } from './lib/server.mjs';
import { bucketCounts, INSTRUMENTS, metricsExporter, ROUNDS, runMetricsWorkload, SCOPE, stateAfter, TEMPORALITIES, TRANSPORTS } from './metrics-workload.mjs';

import { DeltaTemporalitySelector } from '@opentelemetry/exporter-metrics-otlp-http';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';

const fail = (problems, what) => assert.fail(`${what}: ${problems.length} problem(s)\n  ${problems.slice(0, 80).join('\n  ')}`);

// ---------------------------------------------------------------- OTLP -> Prometheus names

/** Prometheus metric type of an instrument kind. */
const PROM_TYPE = {
    counter: 'counter', observablecounter: 'counter',
    updowncounter: 'gauge', observableupdowncounter: 'gauge', gauge: 'gauge', observablegauge: 'gauge',
    histogram: 'histogram', exphistogram: 'histogram',
};
/** UCUM units the workload uses, as the compatibility spec spells them out. */
const UNIT_WORDS = { ms: 'milliseconds', s: 'seconds', By: 'bytes' };

/** The unit word a translated name ends with ('' for none): {annotations} dropped, 1 -> ratio for gauges. */
function unitWord(inst) {
    const u = inst.unit.replace(/\{[^}]*\}/g, '');
    if (u === '1') return PROM_TYPE[inst.kind] === 'gauge' ? 'ratio' : '';
    return UNIT_WORDS[u] ?? u;
}

/** The metric family name: sanitized, unit suffix, _total for monotonic sums; utf8 mode: as sent. */
function familyName(inst, utf8) {
    if (utf8) return inst.name;
    let n = inst.name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/__+/g, '_');
    const unit = unitWord(inst);
    if (unit && !n.endsWith(`_${unit}`)) n += `_${unit}`;
    if (PROM_TYPE[inst.kind] === 'counter') n += '_total';
    return n;
}

/** A label name for an attribute key (dots and other characters to underscores); utf8 mode: as sent. */
const labelName = (key, utf8) => (utf8 ? key : key.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^(\d)/, 'key_$1'));
/** A label value for an attribute value: strings as they are, numbers and booleans as text. */
const labelValue = (v) => (typeof v === 'string' ? v : String(v));

const IDENTIFYING = new Set(['service.name', 'service.namespace', 'service.instance.id']);

/** job and instance labels for a resource. */
function targetLabels(res) {
    const job = res['service.namespace'] ? `${res['service.namespace']}/${res['service.name']}` : res['service.name'];
    return res['service.instance.id'] ? { job, instance: res['service.instance.id'] } : { job };
}

function seriesLabels(res, attributes, utf8) {
    const l = { ...targetLabels(res) };
    for (const [k, v] of Object.entries(attributes)) l[labelName(k, utf8)] = labelValue(v);
    return l;
}

/** target_info labels: job, instance and every other resource attribute. */
function targetInfoLabels(res, utf8) {
    const l = { ...targetLabels(res) };
    for (const [k, v] of Object.entries(res)) if (!IDENTIFYING.has(k)) l[labelName(k, utf8)] = labelValue(v);
    return l;
}

/** le label values compared as numbers: "5", "5.0" and "5e+00" are one bucket. */
const normLe = (le) => (le === '+Inf' ? '+Inf' : String(Number(le)));

/** A label set as a stable key, leaving out __name__ and the instrumentation-scope labels. */
function key(metric) {
    const e = Object.entries(metric).filter(([k]) => k !== '__name__' && !k.startsWith('otel_scope_'));
    return JSON.stringify(e.map(([k, v]) => [k, k === 'le' ? normLe(v) : v]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The native histogram schema Osprey holds for an exponential histogram series after the
 * exports of rounds up to `round` (all of them when undefined): the scale of the last point
 * sent, or for delta points the smallest (the running total is kept at the coarsest),
 * brought down to 8 at most.
 */
function expSchema(w, inst, s, round) {
    const keys = Object.keys(s.attributes);
    const isSeries = (attributes = []) => {
        const got = Object.fromEntries(attributes.map((kv) => [kv.key, String(Object.values(kv.value)[0])]));
        return Object.keys(got).length === keys.length && keys.every((k) => got[k] === String(s.attributes[k]));
    };
    let schema;
    for (const e of w.exports.filter((x) => round === undefined || x.round <= round)) {
        for (const r of flattenMetrics(e.doc)) {
            if (r.kind !== 'exponentialHistogram' || r.metric.name !== inst.name || !isSeries(r.point.attributes)) continue;
            const scale = Math.min(r.point.scale ?? 0, 8);
            schema = r.temporality === 1 && schema !== undefined ? Math.min(schema, scale) : scale;
        }
    }
    return schema;
}

/**
 * The buckets Prometheus's API lists for positive values at a native histogram schema:
 * [0 (lower bound open), lower, upper, count] per populated bucket, ascending; a value v
 * is in the bucket i with 2^((i-1)/2^schema) < v <= 2^(i/2^schema).
 */
function nativeBuckets(values, schema) {
    const counts = new Map();
    for (const v of values) {
        const i = Math.ceil(Math.log2(v) * 2 ** schema);
        counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    return [...counts].sort(([a], [b]) => a - b).map(([i, n]) => [0, 2 ** ((i - 1) / 2 ** schema), 2 ** (i / 2 ** schema), n]);
}

/**
 * Every series the workload's state after `round` implies, as
 * {name -> Map(labelKey -> value)}; exponential histograms are returned apart in `exp`
 * ({name, labels, count, sum, schema, values}) for the native histogram checks.
 */
function expectedSeries(w, round, utf8, time) {
    const out = new Map();
    const exp = [];
    const put = (name, labels, value) => {
        if (!out.has(name)) out.set(name, new Map());
        out.get(name).set(key(labels), value);
    };
    for (const inst of INSTRUMENTS) {
        const res = w.resources[inst.service];
        const fam = familyName(inst, utf8);
        for (const s of inst.series) {
            const st = stateAfter(inst, s, round);
            if (st === undefined) continue;
            const labels = seriesLabels(res, s.attributes, utf8);
            if (inst.kind === 'histogram') {
                let acc = 0;
                const counts = bucketCounts(st.values, inst.boundaries);
                inst.boundaries.forEach((b, i) => {
                    acc += counts[i];
                    put(`${fam}_bucket`, { ...labels, le: String(b) }, acc);
                });
                put(`${fam}_bucket`, { ...labels, le: '+Inf' }, st.count);
                put(`${fam}_sum`, labels, st.sum);
                put(`${fam}_count`, labels, st.count);
            } else if (inst.kind === 'exphistogram') {
                exp.push({ name: fam, labels, values: st.values, count: st.count, sum: st.sum, schema: expSchema(w, inst, s, time === undefined ? undefined : round) });
            } else {
                put(fam, labels, st);
            }
        }
    }
    for (const [service, res] of Object.entries(w.resources)) {
        if (Object.keys(res).some((k) => !IDENTIFYING.has(k))) put('target_info', targetInfoLabels(res, utf8), 1);
    }
    return { series: out, exp };
}

// ---------------------------------------------------------------- Prometheus HTTP API

/** A PromQL selector for a metric name: plain when legal, else {__name__="name"} (Osprey's PromQL is 2.42's: no quoted {"name"} form). */
const selector = (name, matchers = '') => (/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name) ? `${name}{${matchers}}` : `{__name__="${name}"${matchers ? `,${matchers}` : ''}}`);

/** Seconds (as the API takes them) for a nanosecond time, plus an offset in ms. */
const secs = (ns, plusMs = 0) => ((Number(ns / 1_000_000n) + plusMs) / 1000).toFixed(3);

async function api(server, path, params) {
    const url = `${server.apiUrl}${path}?${new URLSearchParams(params)}`;
    const r = await request(url, { timeout: 30000 });
    let body;
    try {
        body = r.json();
    } catch (e) {
        assert.fail(`${path} ${JSON.stringify(params)}: ${e.message} (status ${r.status})`);
    }
    assert.equal(r.status, 200, `${path} ${JSON.stringify(params)}: status ${r.status}: ${r.text().slice(0, 400)}`);
    assert.equal(body.status, 'success', `${path} ${JSON.stringify(params)}: ${r.text().slice(0, 400)}`);
    assert.match(String(r.headers['content-type']), /^application\/json/, `${path}: content type`);
    return body.data;
}

async function instant(server, query, time) {
    const data = await api(server, '/api/v1/query', time === undefined ? { query } : { query, time });
    assert.equal(data.resultType, 'vector', `query ${query}: resultType`);
    for (const r of data.result) {
        const [t, v] = r.histogram ?? r.value ?? [];
        const ok = typeof t === 'number' && (r.histogram ? typeof v?.count === 'string' && typeof v.sum === 'string' && Array.isArray(v.buckets) : typeof v === 'string');
        assert.ok(ok && (r.histogram === undefined) !== (r.value === undefined), `query ${query}: sample shape ${JSON.stringify(r)}`);
    }
    return data.result;
}

/** Number of a Prometheus sample value string ("NaN", "+Inf" included). */
const num = (s) => (s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s));

/**
 * Compares what the API holds at `time` (undefined: now) with the workload's state after
 * `round`; returns difference lines. Each expected name is queried for the workload's jobs.
 */
async function compareState(server, w, round, { utf8 = false, time } = {}) {
    const problems = [];
    const { series, exp } = expectedSeries(w, round, utf8, time);
    const jobs = Object.values(w.resources).map((r) => targetLabels(r).job);
    const jobMatcher = `job=~"${jobs.map((j) => j.replace(/[.+*?()[\]{}|^$\\]/g, '\\\\$&')).join('|')}"`;
    for (const [name, want] of series) {
        const got = new Map();
        for (const r of await instant(server, selector(name, jobMatcher), time)) {
            if (r.metric.__name__ !== name) problems.push(`${name}: result named ${JSON.stringify(r.metric.__name__)}`);
            const k = key(r.metric);
            if (got.has(k)) problems.push(`${name}${k}: returned twice`);
            got.set(k, num(r.value[1]));
        }
        const toObj = (m) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
        diff(toObj(want), toObj(got), name, problems);
    }
    for (const e of exp) {
        const rows = (await instant(server, selector(e.name, jobMatcher), time)).filter((r) => key(r.metric) === key(e.labels));
        const where = `${e.name}${key(e.labels)}`;
        if (rows.length !== 1) {
            problems.push(`${where}: ${rows.length} series, expected one`);
            continue;
        }
        const h = rows[0].histogram?.[1];
        if (!h) {
            problems.push(`${where}: a float sample ${JSON.stringify(rows[0].value)}, not a native histogram`);
            continue;
        }
        if (num(h.count) !== e.count) problems.push(`${where}: count ${h.count}, expected ${e.count}`);
        if (num(h.sum) !== e.sum) problems.push(`${where}: sum ${h.sum}, expected ${e.sum}`);
        // The bounds as numbers, to within rounding (2^(k/2^schema) is irrational mostly).
        const want = nativeBuckets(e.values, e.schema);
        const got = h.buckets.map(([rule, lo, hi, n]) => [rule, num(lo), num(hi), num(n)]);
        const near = (a, b) => a === b || Math.abs(a - b) <= 1e-12 * Math.abs(b);
        const same = got.length === want.length && got.every((g, i) => g[0] === want[i][0] && near(g[1], want[i][1]) && near(g[2], want[i][2]) && g[3] === want[i][3]);
        if (!same) problems.push(`${where}: buckets ${JSON.stringify(h.buckets)}, expected (schema ${e.schema}) ${JSON.stringify(want)}`);
    }
    return problems;
}

/** Which instruments' series carry a given family name (utf8 or not). */
const instByFamily = (utf8) => new Map(INSTRUMENTS.map((i) => [familyName(i, utf8), i]));

// ---------------------------------------------------------------- self-check (no server)

describe('metrics workload self-check', () => {
    for (const temporality of TEMPORALITIES) {
        test(`the SDK exports what the workload says it recorded (${temporality})`, async () => {
            const memory = () => {
                const m = new InMemoryMetricExporter(temporality === 'cumulative' ? AggregationTemporality.CUMULATIVE : AggregationTemporality.DELTA);
                // As the OTLP exporters' delta preference: UpDownCounters stay cumulative.
                if (temporality === 'delta') m.selectAggregationTemporality = DeltaTemporalitySelector;
                return m;
            };
            const w = await runMetricsWorkload({ exporterFor: memory });
            assert.deepEqual(w.diag, [], 'no SDK warnings');
            assert.ok(w.roundTimes.every((t) => t !== null), 'every round exported');
            for (let i = 1; i < w.roundTimes.length; i++) assert.ok(w.roundTimes[i] - w.roundTimes[i - 1] >= 20_000_000n, 'rounds at least 20 ms apart');
            // Replay the exports the way a faithful server would (deltas added up, the last
            // cumulative point wins) and compare with stateAfter() round by round.
            const problems = [];
            const acc = new Map();
            const kindsSeen = new Set();
            const expScales = new Set();
            for (let round = 1; round <= ROUNDS; round++) {
                for (const e of w.exports.filter((x) => x.round === round)) {
                    for (const r of flattenMetrics(e.doc)) {
                        kindsSeen.add(`${r.kind}/${r.temporality}/${r.monotonic}`);
                        if (r.kind === 'exponentialHistogram') expScales.add(r.point.scale ?? 0);
                        const attrs = Object.fromEntries((r.point.attributes ?? []).map((kv) => [kv.key, kv.value]));
                        const k = `${r.metric.name} ${JSON.stringify(attrs)}`;
                        const delta = r.temporality === 1;
                        const prev = acc.get(k);
                        if (r.kind === 'histogram' || r.kind === 'exponentialHistogram') {
                            const cur = { count: Number(r.point.count), sum: r.point.sum, buckets: r.point.bucketCounts?.map(Number) };
                            if (delta && prev) acc.set(k, { count: prev.count + cur.count, sum: prev.sum + cur.sum, buckets: cur.buckets && prev.buckets.map((b, i) => b + cur.buckets[i]) });
                            else acc.set(k, cur);
                        } else {
                            const v = r.point.asDouble ?? Number(r.point.asInt ?? 0);
                            acc.set(k, delta && r.kind === 'sum' && prev !== undefined ? prev + v : v);
                        }
                    }
                }
                for (const inst of INSTRUMENTS) {
                    for (const s of inst.series) {
                        const st = stateAfter(inst, s, round);
                        const attrs = Object.fromEntries(Object.entries(s.attributes).map(([k, v]) => [k, typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v }]));
                        const got = acc.get(`${inst.name} ${JSON.stringify(attrs)}`);
                        let want = st;
                        if (inst.kind === 'histogram') want = st && { count: st.count, sum: st.sum, buckets: bucketCounts(st.values, inst.boundaries) };
                        if (inst.kind === 'exphistogram') want = st && { count: st.count, sum: st.sum };
                        const have = inst.kind === 'exphistogram' && got ? { count: got.count, sum: got.sum } : got;
                        diff(want, have, `round ${round} ${inst.name} ${JSON.stringify(s.attributes)}`, problems);
                    }
                }
            }
            if (problems.length) fail(problems, 'workload bookkeeping');
            const want = temporality === 'cumulative'
                ? ['sum/2/true', 'sum/2/false', 'histogram/2/false', 'exponentialHistogram/2/false', 'gauge/0/false']
                : temporality === 'delta'
                    ? ['sum/1/true', 'sum/2/false', 'histogram/1/false', 'exponentialHistogram/1/false', 'gauge/0/false']
                    : ['sum/1/true', 'sum/1/false', 'histogram/1/false', 'exponentialHistogram/1/false', 'gauge/0/false'];
            assert.deepEqual([...kindsSeen].sort(), want.sort(), 'metric kinds, temporalities and monotonicity sent');
            // The SDK changes scale as the range grows, from above 8 (which the server brings
            // down to 8) to below it.
            assert.ok(expScales.size > 1 && Math.max(...expScales) > 8 && Math.min(...expScales) < 8, `exponential histogram scales sent: ${[...expScales]}`);
        });
    }

    test('lib/otlp.mjs reads the SDK\'s protobuf exactly as the SDK\'s JSON says', async () => {
        const w = await runMetricsWorkload({ exporterFor: () => new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE) });
        for (const e of w.exports) {
            const pb = Buffer.from(ProtobufMetricsSerializer.serializeRequest(e.data));
            assert.deepEqual(decodeMetrics(pb), e.doc, `round ${e.round} ${e.service}: decode(SDK protobuf) = SDK JSON`);
            assert.deepEqual(decodeMetrics(encodeMetrics(e.doc)), e.doc, `round ${e.round} ${e.service}: encode/decode round trip`);
        }
        const res = w.exports.find((e) => e.service === 'checkout').doc.resourceMetrics[0];
        assert.deepEqual(res.scopeMetrics[0].scope, { name: SCOPE.name, version: SCOPE.version });
        assert.deepEqual(res.resource.attributes.map((kv) => kv.key).sort(), Object.keys(w.resources.checkout).sort(), 'the resource holds exactly the attributes given');
    });

    test('translated names follow the compatibility rules', () => {
        const names = Object.fromEntries(INSTRUMENTS.map((i) => [i.name, familyName(i, false)]));
        assert.deepEqual(names, {
            'osprey.e2e.requests': 'osprey_e2e_requests_total',
            'osprey.e2e.sent': 'osprey_e2e_sent_bytes_total',
            'osprey.e2e.queue.depth': 'osprey_e2e_queue_depth',
            'osprey.e2e.request.duration': 'osprey_e2e_request_duration_milliseconds',
            'osprey.e2e.payload.size': 'osprey_e2e_payload_size_bytes',
            'osprey.e2e.cpu.utilization': 'osprey_e2e_cpu_utilization_ratio',
            'osprey.e2e.process.cpu.time': 'osprey_e2e_process_cpu_time_seconds_total',
            'osprey.e2e.memory.usage': 'osprey_e2e_memory_usage_bytes',
            'osprey.e2e/pool-connections': 'osprey_e2e_pool_connections',
            'osprey.e2e.jobs.processed': 'osprey_e2e_jobs_processed_total',
        });
        assert.equal(labelName('osprey-e2e.queue', false), 'osprey_e2e_queue');
        assert.equal(labelName('http.response.status_code', false), 'http_response_status_code');
    });
});

// ---------------------------------------------------------------- against the server

/** The checks every server run makes; `ctx()` gives {server, w, utf8}. */
function serverChecks(ctx) {
    test('every export succeeded and nothing was rejected', () => {
        const { server, w } = ctx();
        const failed = w.exports.filter((e) => e.code !== 0).map((e) => ({ service: e.service, round: e.round, error: e.error }));
        assert.deepEqual(failed, [], `failed exports\n${server.stderrTail()}`);
        assert.ok(w.exports.filter((e) => e.service === 'checkout').length >= ROUNDS, 'one export per round at least');
        const partial = w.diag.filter((l) => /partial success/i.test(l) || l.startsWith('error'));
        assert.deepEqual(partial, [], 'the server reported rejections or the exporter logged errors');
    });

    test('/api/v1/query: every series has its translated name, labels and final value', async () => {
        const { server, w, utf8 } = ctx();
        const problems = await compareState(server, w, ROUNDS, { utf8 });
        if (problems.length) fail(problems, 'series differ from what was sent');
    });

    test('/api/v1/query with time=: the value after each round (deltas accumulated)', async () => {
        const { server, w, utf8 } = ctx();
        const problems = [];
        // 10 ms after a round's points: past any rounding of the time to milliseconds and
        // before the next round (>= 30 ms later).
        for (let round = 1; round <= ROUNDS; round++) {
            problems.push(...(await compareState(server, w, round, { utf8, time: secs(w.roundTimes[round - 1], 10) })).map((p) => `after round ${round}: ${p}`));
        }
        // Before the first round nothing existed.
        const before = await instant(server, selector(familyName(INSTRUMENTS[0], utf8)), secs(w.roundTimes[0], -10));
        if (before.length) problems.push(`before round 1: ${before.length} series already`);
        if (problems.length) fail(problems, 'values per round');
    });

    test('/api/v1/query_range: a counter steps up at each round and never goes down', async () => {
        const { server, w, utf8 } = ctx();
        const inst = INSTRUMENTS.find((i) => i.name === 'osprey.e2e.requests');
        const [first, last] = [w.roundTimes[0], w.roundTimes.at(-1)];
        const data = await api(server, '/api/v1/query_range', { query: selector(familyName(inst, utf8)), start: secs(first, -500), end: secs(last, 500), step: '0.005' });
        assert.equal(data.resultType, 'matrix');
        assert.equal(data.result.length, inst.series.length, 'one series per attribute set');
        const problems = [];
        for (const r of data.result) {
            const s = inst.series.find((x) => key(seriesLabels(w.resources.checkout, x.attributes, utf8)) === key(r.metric));
            if (!s) {
                problems.push(`unexpected series ${key(r.metric)}`);
                continue;
            }
            for (const [t, v] of r.values) {
                const ms = Math.round(t * 1000);
                const near = w.roundTimes.some((rt) => Math.abs(Number(rt / 1_000_000n) - ms) < 3);
                if (near) continue;
                const done = w.roundTimes.filter((rt) => Number(rt / 1_000_000n) <= ms).length;
                const want = done ? stateAfter(inst, s, done) : undefined;
                if (want === undefined) problems.push(`${key(r.metric)} at ${t}: a value (${v}) before its first point`);
                else if (num(v) !== want) problems.push(`${key(r.metric)} at ${t}: ${v}, expected ${want} (after round ${done})`);
            }
            const vals = r.values.map(([, v]) => num(v));
            for (let i = 1; i < vals.length; i++) if (vals[i] < vals[i - 1]) problems.push(`${key(r.metric)}: goes down at ${r.values[i][0]}`);
        }
        if (problems.length) fail(problems, 'range query');
    });

    test('/api/v1/series lists exactly the series the workload implies', async () => {
        const { server, w, utf8 } = ctx();
        const problems = [];
        for (const res of Object.values(w.resources)) {
            const { job } = targetLabels(res);
            const data = await api(server, '/api/v1/series', { 'match[]': `{job="${job}"}`, start: secs(w.roundTimes[0], -60000), end: secs(w.roundTimes.at(-1), 60000) });
            assert.ok(Array.isArray(data), '/api/v1/series data is a list');
            const { series, exp } = expectedSeries(w, ROUNDS, utf8);
            const want = new Set();
            for (const [name, m] of series) for (const k of m.keys()) if (JSON.parse(k).some(([l, v]) => l === 'job' && v === job)) want.add(`${name} ${k}`);
            for (const e of exp) if (e.labels.job === job) want.add(`${e.name} ${key(e.labels)}`);
            const got = new Set();
            for (const l of data) {
                if (typeof l.__name__ !== 'string') problems.push(`a series without __name__: ${JSON.stringify(l)}`);
                got.add(`${l.__name__} ${key(l)}`);
            }
            for (const x of want) if (!got.has(x)) problems.push(`job ${job}: missing ${x}`);
            for (const x of got) if (!want.has(x)) problems.push(`job ${job}: unexpected ${x}`);
        }
        if (problems.length) fail(problems, 'series');
    });

    test('target_info carries the resource attributes with job and instance', async () => {
        const { server, w, utf8 } = ctx();
        const got = await instant(server, 'target_info');
        const want = Object.values(w.resources).map((r) => key(targetInfoLabels(r, utf8))).sort();
        assert.deepEqual(got.map((r) => key(r.metric)).sort(), want);
        for (const r of got) assert.equal(r.value[1], '1', 'target_info value');
    });

    test('/api/v1/metadata: type, unit and help of every family', async () => {
        const { server, utf8 } = ctx();
        const data = await api(server, '/api/v1/metadata', {});
        assert.equal(typeof data, 'object');
        const problems = [];
        for (const [fam, inst] of instByFamily(utf8)) {
            // A counter's family may be listed with or without its _total (Prometheus text
            // format vs OpenMetrics); either is fine, one of them must be there.
            const names = PROM_TYPE[inst.kind] === 'counter' && !utf8 ? [fam, fam.replace(/_total$/, '')] : [fam];
            const name = names.find((n) => data[n]);
            if (!name) {
                problems.push(`${fam}: not in /api/v1/metadata`);
                continue;
            }
            const entries = data[name];
            if (!Array.isArray(entries) || entries.length !== 1) {
                problems.push(`${name}: expected one metadata entry, got ${JSON.stringify(entries)}`);
                continue;
            }
            const [m] = entries;
            if (m.type !== PROM_TYPE[inst.kind]) problems.push(`${name}: type ${m.type}, expected ${PROM_TYPE[inst.kind]}`);
            if (m.help !== inst.description) problems.push(`${name}: help ${JSON.stringify(m.help)}, expected ${JSON.stringify(inst.description)}`);
            // The Prometheus unit word the name got (the spec's conversion, "1" -> "ratio" for
            // gauges), also in utf8 mode where the name has no suffix.
            if (m.unit !== unitWord(inst)) problems.push(`${name}: unit ${JSON.stringify(m.unit)}, expected ${JSON.stringify(unitWord(inst))}`);
        }
        const one = await api(server, '/api/v1/metadata', { metric: familyName(INSTRUMENTS[3], utf8) });
        assert.deepEqual(Object.keys(one), [familyName(INSTRUMENTS[3], utf8)], '?metric= selects one family');
        if (problems.length) fail(problems, 'metadata');
    });
}

for (const transport of TRANSPORTS) {
    for (const temporality of TEMPORALITIES) {
        // Every-instrument delta once, over HTTP/protobuf, is enough.
        if (temporality === 'delta-all' && transport !== 'proto') continue;
        describe(`metrics interop ${transport} ${temporality}`, () => {
            let server;
            let w;
            before(async () => {
                server = await startServer({ name: `metrics-${transport}-${temporality}` });
                w = await runMetricsWorkload({ exporterFor: () => metricsExporter(transport, server, { temporality }) });
            });
            after(async () => {
                await server?.kill();
            });

            serverChecks(() => ({ server, w, utf8: false }));

            test('after a clean restart every series is still there with the same values', async () => {
                const r = await server.stop();
                assert.ok(cleanExit(r), `SIGTERM: ${server.describeExit(r)}`);
                server = await startServer({ name: `metrics-${transport}-${temporality}-restart`, dataDir: server.dataDir });
                const problems = await compareState(server, w, ROUNDS);
                for (let round = 1; round <= ROUNDS; round++) {
                    problems.push(...(await compareState(server, w, round, { time: secs(w.roundTimes[round - 1], 10) })).map((p) => `after round ${round}: ${p}`));
                }
                if (problems.length) fail(problems, 'after restart');
                const ti = await instant(server, 'target_info');
                assert.equal(ti.length, Object.keys(w.resources).length, 'target_info after restart');
            });

            test('SIGTERM shuts the server down cleanly (exit 0, no sanitizer report)', async () => {
                const r = await server.stop();
                assert.ok(cleanExit(r), server.describeExit(r));
            });
        });
    }
}

describe('metrics interop --otlp-metric-names=utf8', () => {
    let server;
    let w;
    before(async () => {
        server = await startServer({ name: 'metrics-utf8', args: ['--otlp-metric-names=utf8'] });
        w = await runMetricsWorkload({ exporterFor: () => metricsExporter('proto', server, { temporality: 'delta' }) });
    });
    after(async () => {
        await server?.kill();
    });

    serverChecks(() => ({ server, w, utf8: true }));

    test('{__name__="name.with.dots"} selects the series with the attribute names as sent; no translated name exists', async () => {
        const inst = INSTRUMENTS.find((i) => i.name === 'osprey.e2e.requests');
        const byName = await instant(server, '{__name__="osprey.e2e.requests"}');
        assert.equal(byName.length, inst.series.length);
        const post = byName.filter((r) => r.metric['http.request.method'] === 'POST');
        assert.deepEqual(post.map((r) => num(r.value[1])), [stateAfter(inst, inst.series[1], ROUNDS)], 'the label name kept as sent');
        const one = await instant(server, '{__name__="osprey.e2e.requests",job="osprey-e2e/checkout"}');
        assert.equal(one.length, inst.series.length, 'with a second matcher');
        for (const i of INSTRUMENTS) {
            const translated = familyName(i, false);
            const names = i.kind === 'histogram' ? [`${translated}_count`] : [translated];
            for (const n of names) assert.deepEqual(await instant(server, n), [], `${n} must not exist in utf8 mode`);
        }
    });

    test('SIGTERM shuts the server down cleanly, and the names survive a restart', async () => {
        let r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
        server = await startServer({ name: 'metrics-utf8-restart', dataDir: server.dataDir, args: ['--otlp-metric-names=utf8'] });
        const problems = await compareState(server, w, ROUNDS, { utf8: true });
        if (problems.length) fail(problems, 'after restart');
        r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
    });
});
