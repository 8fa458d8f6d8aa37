// The PromQL oracle's machinery: reads corpus.txt, expands it into instant and range runs at
// times taken from the data set, sends them to a Prometheus-API server, and compares two
// servers' answers into a short, readable list of differences.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { promApi } from '../lib/prometheus.mjs';
import { batches, isHistogram } from './dataset.mjs';
import { writeOrThrow } from '../lib/remote_write.mjs';

export const CORPUS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus.txt');

/** Instant evaluation times, seconds relative to the data set (see corpus.txt). */
export const INSTANT_TIMES = [
    (ds) => ds.start / 1000 + 1800,
    (ds) => ds.start / 1000 + 3600 + 7.5,
    (ds) => ds.end / 1000,
    (ds) => ds.end / 1000 + 240,
    (ds) => ds.end / 1000 + 420,
];
/** Range windows: [start, end, step] in seconds. */
export const RANGE_WINDOWS = [
    (ds) => [ds.start / 1000 + 600, ds.end / 1000 + 360, 60],
    (ds) => [ds.start / 1000 + 3000.5, ds.start / 1000 + 4200.5, 17],
];

const ERROR_TYPES = new Set(['bad_data', 'execution', 'timeout', 'canceled', 'internal', 'unavailable', 'not_found']);

/**
 * Parses corpus text into [{line, query, instantError, rangeError, maybeError, instant,
 * range, ordered}]. Throws naming the line of an unknown option.
 */
export function parseCorpus(text) {
    const out = [];
    text.split('\n').forEach((raw, i) => {
        if (/^\s*(#|$)/.test(raw)) return;
        const at = raw.indexOf('  #!');
        const query = (at >= 0 ? raw.slice(0, at) : raw).trimEnd();
        const q = { line: i + 1, query, instantError: null, rangeError: null, maybeError: null, instant: true, range: true, ordered: false, ulp: 0 };
        for (const opt of at >= 0 ? raw.slice(at + 4).trim().split(/\s+/) : []) {
            const [k, v] = opt.split('=');
            if (k === 'ulp') {
                q.ulp = Number(v);
                if (!(q.ulp > 0)) throw new Error(`corpus.txt:${i + 1}: ulp needs a positive count`);
                continue;
            }
            if (v !== undefined && !ERROR_TYPES.has(v)) throw new Error(`corpus.txt:${i + 1}: unknown error type ${v}`);
            if (k === 'error') q.instantError = q.rangeError = v;
            else if (k === 'instant-error') q.instantError = v;
            else if (k === 'range-error') q.rangeError = v;
            else if (k === 'maybe-error') q.maybeError = v;
            else if (k === 'instant') q.range = false;
            else if (k === 'range') q.instant = false;
            else if (k === 'ordered') q.ordered = true;
            else throw new Error(`corpus.txt:${i + 1}: unknown option ${opt}`);
        }
        out.push(q);
    });
    return out;
}

export function loadCorpus(file = CORPUS) {
    return parseCorpus(fs.readFileSync(file, 'utf8'));
}

/** Replaces {{start}}, {{end}}, {{start+N}}, {{end-N}} with Unix seconds. */
export function expand(query, ds) {
    return query.replace(/\{\{(start|end)([+-]\d+(?:\.\d+)?)?\}\}/g, (_, which, delta) => {
        const base = (which === 'start' ? ds.start : ds.end) / 1000;
        return String(Math.round((base + Number(delta ?? 0)) * 1000) / 1000);
    });
}

/** True when series order is part of the answer: sort/sort_desc/topk/bottomk at the top of an instant query. */
export function isOrdered(q) {
    return q.ordered || /^\s*\(*\s*(sort|sort_desc|topk|bottomk)\s*\(/i.test(q.query);
}

/** Every run of the corpus: [{q, kind: 'instant'|'range', params, expectError, label}]. */
export function runsOf(corpus, ds) {
    const runs = [];
    for (const q of corpus) {
        const query = expand(q.query, ds);
        if (q.instant) {
            for (const t of INSTANT_TIMES) {
                const time = t(ds);
                runs.push({ q, kind: 'instant', params: { query, time }, expectError: q.instantError, maybeError: q.maybeError, label: `instant @${time}` });
            }
        }
        if (q.range) {
            for (const w of RANGE_WINDOWS) {
                const [start, end, step] = w(ds);
                runs.push({ q, kind: 'range', params: { query, start, end, step }, expectError: q.rangeError, maybeError: q.maybeError, label: `range ${start}..${end} step ${step}` });
            }
        }
    }
    return runs;
}

/**
 * Sends one run: instant queries by GET, range queries by POST (form-encoded), so both
 * methods are covered. Resolves {status, json, text}.
 */
export function send(base, run) {
    return run.kind === 'instant'
        ? promApi(base, '/api/v1/query', run.params, 'GET')
        : promApi(base, '/api/v1/query_range', run.params, 'POST');
}

/** Runs fn over items with `width` in flight. */
export async function pool(items, width, fn) {
    const out = new Array(items.length);
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i], i);
        }
    }));
    return out;
}

/** Loads the data set into a server by remote write, in time order. */
export async function loadDataset(writeUrl, ds) {
    for (const b of batches(ds)) await writeOrThrow(writeUrl, b);
}

const labelKey = (m) => JSON.stringify(Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * A native histogram of the API as one token without spaces:
 * "h{count,sum|rule,lower,upper,count|...}", one "|" part per bucket in the order given.
 */
const histStr = (h) => `h{${h.count},${h.sum}${(h.buckets ?? []).map((b) => `|${b.join(',')}`).join('')}}`;
/** A point "t:value": a float [t, "v"] or a histogram [t, {count, sum, buckets}]. */
const pointStr = (p) => `${p[0]}:${typeof p[1] === 'object' && p[1] !== null ? histStr(p[1]) : p[1]}`;

/** The points of a matrix series, floats and histograms together in time order. */
function seriesPoints(s) {
    const pts = [...(s.values ?? []), ...(s.histograms ?? [])];
    return pts.sort((x, y) => x[0] - y[0]).map(pointStr);
}

/**
 * A comparable form of a response: {status, errorType} for errors, {resultType, rows} for
 * successes, where rows are strings (labels + points) sorted unless `ordered`; for ordered
 * answers `order` keeps the sequence of values as returned (ties may come in any order).
 */
export function normalize(r, ordered) {
    const j = r.json;
    if (!j || typeof j !== 'object') return { status: r.status, body: `not JSON: ${String(r.text).slice(0, 200)}` };
    if (j.status !== 'success') return { status: r.status, errorType: j.errorType ?? null };
    const d = j.data ?? {};
    const t = d.resultType;
    let rows;
    let order = null;
    if (t === 'scalar' || t === 'string') rows = [pointStr(d.result ?? [])];
    else if (t === 'vector') {
        rows = (d.result ?? []).map((s) => `${labelKey(s.metric)} ${pointStr(s.value ?? s.histogram ?? [])}`);
        if (ordered) order = (d.result ?? []).map((s) => pointStr(s.value ?? s.histogram ?? []));
    } else if (t === 'matrix') rows = (d.result ?? []).map((s) => `${labelKey(s.metric)} ${seriesPoints(s).join(' ')}`);
    else rows = [JSON.stringify(d.result)];
    return { status: r.status, resultType: t, rows: [...rows].sort(), order };
}

/** The size of one unit in the last place of x's magnitude. */
function ulpOf(x) {
    const a = Math.abs(x);
    return a < 2.2250738585072014e-308 ? 5e-324 : 2 ** (Math.floor(Math.log2(a)) - 52);
}

/** Floats (as strings) equal, or both finite and within ulp units in the last place. */
function closeFloats(a, b, ulp) {
    if (a === b) return true;
    const x = Number(a);
    const y = Number(b);
    return ulp > 0 && Number.isFinite(x) && Number.isFinite(y) && Math.abs(x - y) <= ulp * ulpOf(Math.max(Math.abs(x), Math.abs(y)));
}

/**
 * Histogram tokens (histStr) alike: count, sum, bucket rules and bucket counts exact, the
 * bucket bounds within boundsUlp units in the last place.
 */
function closeHistograms(ha, hb, boundsUlp) {
    const pa = ha.slice(2, -1).split('|');
    const pb = hb.slice(2, -1).split('|');
    if (pa.length !== pb.length || pa[0] !== pb[0]) return false;
    return pa.slice(1).every((x, i) => {
        const [ra, la, ua, ca] = x.split(',');
        const [rb, lb, ub, cb] = pb[i + 1].split(',');
        return ra === rb && ca === cb && closeFloats(la, lb, boundsUlp) && closeFloats(ua, ub, boundsUlp);
    });
}

/**
 * Points "t:v" equal, or float values within ulp units in the last place, or histograms
 * alike with bounds within boundsUlp.
 */
function closePoints(pa, pb, ulp, boundsUlp) {
    if (pa === pb) return true;
    const ia = pa.indexOf(':');
    const ib = pb.indexOf(':');
    if (pa.slice(0, ia) !== pb.slice(0, ib)) return false;
    const va = pa.slice(ia + 1);
    const vb = pb.slice(ib + 1);
    if (va.startsWith('h{') && vb.startsWith('h{')) return closeHistograms(va, vb, boundsUlp);
    return closeFloats(va, vb, ulp);
}

/** Rows (sorted) with the same labels and points within the tolerances. */
function closeRows(ra, rb, ulp, boundsUlp) {
    if (ra.length !== rb.length) return false;
    return ra.every((x, i) => {
        const pa = x.split(' ');
        const pb = rb[i].split(' ');
        return pa.length === pb.length && pa[0] === pb[0] && pa.slice(1).every((p, j) => closePoints(p, pb[j + 1], ulp, boundsUlp));
    });
}

/**
 * The first difference between two normalized answers, as a short string, or null. ulp > 0
 * lets float values and the bucket bounds of histograms differ by that many units in the
 * last place (results of libm functions; bounds at schemas above 0, which Prometheus takes
 * from a table and Osprey from exp2); boundsUlp does so for bucket bounds alone. Histogram
 * counts and sums are always compared exactly.
 */
export function diff(a, b, cap = 600, ulp = 0, boundsUlp = ulp) {
    const short = (s) => (s.length > cap ? `${s.slice(0, cap)}…` : s);
    if (a.errorType !== undefined || b.errorType !== undefined || a.body || b.body) {
        if (a.status === b.status && a.errorType === b.errorType && !a.body && !b.body) return null;
        return short(`prometheus ${JSON.stringify({ status: a.status, errorType: a.errorType, body: a.body, resultType: a.resultType, n: a.rows?.length })} osprey ${JSON.stringify({ status: b.status, errorType: b.errorType, body: b.body, resultType: b.resultType, n: b.rows?.length })}`);
    }
    if (a.resultType !== b.resultType) return `resultType ${a.resultType} vs ${b.resultType}`;
    if (a.order && b.order && a.order.join(' ') !== b.order.join(' ')) return short(`order of values: prometheus [${a.order.join(', ')}] osprey [${b.order.join(', ')}]`);
    if ((ulp > 0 || boundsUlp > 0) && closeRows(a.rows, b.rows, ulp, boundsUlp)) return null;
    const sa = new Set(a.rows);
    const sb = new Set(b.rows);
    const onlyA = a.rows.filter((x) => !sb.has(x));
    const onlyB = b.rows.filter((x) => !sa.has(x));
    if (!onlyA.length && !onlyB.length && a.rows.length === b.rows.length) return null;
    const lines = [`${a.rows.length} vs ${b.rows.length} series`];
    // Rows with the same labels on both sides: show where their points first differ.
    const labelsOf = (row) => row.slice(0, row.indexOf(' '));
    const byLabels = new Map(onlyB.map((x) => [labelsOf(x), x]));
    let shown = 0;
    const restA = [];
    for (const x of onlyA) {
        const y = byLabels.get(labelsOf(x));
        if (!y) {
            restA.push(x);
            continue;
        }
        byLabels.delete(labelsOf(x));
        if (shown++ >= 3) continue;
        const pa = x.split(' ').slice(1);
        const pb = y.split(' ').slice(1);
        let i = 0;
        while (i < pa.length && pa[i] === pb[i]) i++;
        lines.push(`  ~ ${short(labelsOf(x))}: ${pa.length} vs ${pb.length} points, first difference at #${i}: prometheus ${pa[i] ?? '(none)'} osprey ${pb[i] ?? '(none)'}`);
    }
    if (shown > 3) lines.push(`  ~ … ${shown - 3} more series with other points`);
    const restB = [...byLabels.values()];
    for (const x of restA.slice(0, 3)) lines.push(`  - prometheus ${short(x)}`);
    if (restA.length > 3) lines.push(`  - … ${restA.length - 3} more only in prometheus`);
    for (const x of restB.slice(0, 3)) lines.push(`  + osprey     ${short(x)}`);
    if (restB.length > 3) lines.push(`  + … ${restB.length - 3} more only in osprey`);
    return lines.join('\n');
}

/** Checks a Prometheus answer against the corpus's expectation; returns a problem string or null. */
export function checkExpectation(run, n) {
    if (run.expectError) {
        if (n.errorType === run.expectError) return null;
        return `expected errorType ${run.expectError}, got ${n.errorType ? `errorType ${n.errorType} (HTTP ${n.status})` : `success (${n.resultType})`}`;
    }
    if (run.maybeError && n.errorType === run.maybeError) return null;
    if (n.errorType !== undefined || n.body) return `expected success, got HTTP ${n.status} ${n.errorType ?? n.body}`;
    return null;
}

/**
 * A float as Prometheus 2.42 writes it in JSON: "NaN", "+Inf", "-Inf", "-0", plain decimals
 * for 1e-6 <= |v| < 1e21, and otherwise the shortest exponent form with at least two
 * exponent digits ("1e-07", "1.7976931348623157e+308").
 */
export function promFloat(v) {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return '+Inf';
    if (v === -Infinity) return '-Inf';
    if (Object.is(v, -0)) return '-0';
    const a = Math.abs(v);
    if (a === 0 || (a >= 1e-6 && a < 1e21)) return String(v);
    return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
}

/**
 * 2^(j / 2^schema) for 0 <= j < 2^schema, correctly rounded: the 53-bit m with
 * (m - 1/2)^(2^schema) <= 2^(j + 52 * 2^schema) < (m + 1/2)^(2^schema), found from
 * Math.pow's estimate with exact integer powers.
 */
const fracBounds = new Map();
function exactFracBound(schema, j) {
    const key = `${schema}/${j}`;
    if (fracBounds.has(key)) return fracBounds.get(key);
    const n = 2n ** BigInt(schema);
    const target = 2n ** (BigInt(j) + 53n * n); // (2m ± 1)^n against 2^(j + 52n) * 2^n
    let m = BigInt(Math.round(2 ** (j / 2 ** schema) * 2 ** 52));
    while ((2n * m + 1n) ** n <= target) m += 1n;
    while ((2n * m - 1n) ** n > target) m -= 1n;
    const v = Number(m) / 2 ** 52;
    fracBounds.set(key, v);
    return v;
}

/** The upper bound of bucket index idx at schema: 2^(idx * 2^-schema), correctly rounded. */
export function bucketBound(schema, idx) {
    if (schema <= 0) return 2 ** (idx * 2 ** -schema);
    const per = 2 ** schema;
    const j = ((idx % per) + per) % per;
    return exactFracBound(schema, j) * 2 ** ((idx - j) / per);
}

/**
 * The API's form of a data set histogram, {count, sum, buckets}: buckets with counts other
 * than 0 from the most negative up, each [rule, lower, upper, count] (rule 1: negative,
 * [lower, upper); 3: the zero bucket, closed, shown when its count is above 0; 0: positive,
 * (lower, upper]). A bucket that overlaps the zero bucket is shown cut at the zero
 * threshold, as Prometheus does.
 */
export function apiHistogram(h) {
    const zt = h.zeroThreshold ?? 0;
    const buckets = [];
    const side = (b, fn) => {
        let idx = 0;
        let k = 0;
        (b?.spans ?? []).forEach(([offset, length], n) => {
            idx = n === 0 ? offset : idx + offset;
            for (let x = 0; x < length; x++, idx++, k++) if (b.counts[k]) fn(idx, b.counts[k]);
        });
    };
    const neg = [];
    side(h.negative, (i, c) => neg.push([1, promFloat(-bucketBound(h.schema, i)), promFloat(Math.min(-bucketBound(h.schema, i - 1), -zt)), promFloat(c)]));
    buckets.push(...neg.reverse());
    if (h.zeroCount > 0) buckets.push([3, promFloat(-zt), promFloat(zt), promFloat(h.zeroCount)]);
    side(h.positive, (i, c) => buckets.push([0, promFloat(Math.max(bucketBound(h.schema, i - 1), zt)), promFloat(bucketBound(h.schema, i)), promFloat(c)]));
    return { count: promFloat(h.count), sum: promFloat(h.sum), ...(buckets.length ? { buckets } : {}) };
}

/** Whether a data set series has histograms at a schema above 0 (bounds from a table in Prometheus). */
export const hasFineSchema = (s) => s.samples.some(([, v]) => isHistogram(v) && v.schema > 0);

/**
 * The normalized answer a range selection of every series over the whole data set must
 * give (keep: which series to include), staleness markers left out.
 */
export function expectedRaw(ds, keep = () => true) {
    const rows = ds.series.filter(keep).map((s) => {
        const pts = s.samples.filter(([, v]) => typeof v === 'number' || (isHistogram(v) && typeof v.sum === 'number')).map(([t, v]) => pointStr([t / 1000, isHistogram(v) ? apiHistogram(v) : promFloat(v)]));
        return `${labelKey(Object.fromEntries(s.labels))} ${pts.join(' ')}`;
    });
    return { status: 200, resultType: 'matrix', rows: rows.sort(), order: null };
}

/** n (a normalize result) with only the rows of the series in ds that keep accepts. */
export function keepRows(n, ds, keep) {
    const keys = ds.series.filter(keep).map((s) => `${labelKey(Object.fromEntries(s.labels))} `);
    return { ...n, rows: (n.rows ?? []).filter((r) => keys.some((k) => r.startsWith(k))) };
}
