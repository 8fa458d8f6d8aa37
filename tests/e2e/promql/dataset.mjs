// The PromQL oracle's data set: deterministic values (fixed seed) on timestamps anchored to
// a minute boundary shortly before now, written identically into Prometheus and Osprey by
// remote write in chronological batches.
//
// Two hours of 15 s scrapes with a per-job phase and per-sample jitter (up to ±400 ms).
// What is in it, and which queries it serves:
//   http_requests_total            counters, 3 api instances × method × code; resets
//   node_cpu_seconds_total         fractional counters, 2 node instances × cpu × mode
//   node_memory_free_bytes         large integer gauges
//   temperature_celsius            gauges with negative and fractional values
//   request_duration_seconds_*     classic histogram (_bucket with le incl. +Inf, _sum, _count), one reset
//   rpc_latency_seconds            summary (quantile series, _sum, _count)
//   flaky_gauge                    gaps of 10 and 12.5 minutes (longer than the 5m lookback)
//   ephemeral_workers              w1 ends with a staleness marker, w2 just stops, w3 starts late
//   special_values                 NaN, +Inf, -Inf, -0 and a mix
//   escape_test                    label values with backslashes, quotes, newlines, unicode
//   job:http_requests:rate5m       a recording-rule-style name with colons
//   instance_info, up              info-style series for on()/group_left, and up with a 0 spell
//   queue_length, build_version    small integers for count_values, changes, resets
//   bytes_processed_total          float counter that resets to a non-zero value
//   sparse_events_total            a sample every 10 minutes
// Native histograms (values are objects, see nativeHistogramSeries):
//   nh_request_seconds             counter histograms of 4 instances for aggregation, each with
//                                  its own schema and zero threshold: a (schema 0, a count
//                                  drop at slot 200), b (schema 1, a bucket drop with the
//                                  count equal at slot 300), c (schema 3, zero threshold 0,
//                                  coarsened to schema 1 at slot 240, back to 3 by a restart
//                                  at 400), d (a float histogram, schema -1, negative buckets)
//   nh_queue_size                  gauge histograms (hint GAUGE), integer (a) and float (b),
//                                  negative and positive buckets going up and down
// Float histograms sort after the integer ones of their metric: Prometheus 2.42 returns
// garbage for an integer histogram series read after a float histogram series in one range
// selection (its sample ring keeps the float histogram), so the corpus's range selections
// stay within one metric and the read-back test selects metric by metric.
//   nh_ephemeral                   ends with a histogram staleness marker at slot 240
//   nh_mixed                       floats, then histograms from slot 160, floats again from 320
//   request_duration_seconds       native histograms beside the classic _bucket/_sum/_count family
import { prng as rng } from '../lib/prng.mjs';
import { sortedLabels, STALE } from '../lib/remote_write.mjs';

export const STEP_MS = 15000;
export const SPAN_MS = 2 * 3600 * 1000;
const N = SPAN_MS / STEP_MS + 1; // samples per full series: 481

const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;

/** Whether a data set value is a native histogram (an object) rather than a float or STALE. */
export const isHistogram = (v) => typeof v === 'object' && v !== null;

/** The index of the bucket holding v > 0 at schema: the smallest i with v <= 2^(i * 2^-schema). */
function bucketIndex(schema, v) {
    return Math.ceil(Math.log2(v) * 2 ** schema);
}

/** Absolute counts by bucket index -> {spans, counts}; gaps of one bucket are kept inside a span as a 0. */
function sideOf(buckets) {
    const idx = [...buckets.keys()].sort((a, b) => a - b);
    const spans = [];
    const counts = [];
    let prev;
    for (const i of idx) {
        if (prev !== undefined && i - prev === 2) {
            counts.push(0);
            spans[spans.length - 1][1] += 1;
        }
        if (prev === undefined || i - prev > 2) spans.push([prev === undefined ? i : i - prev - 1, 0]);
        spans[spans.length - 1][1] += 1;
        counts.push(buckets.get(i));
        prev = i;
    }
    return { spans, counts };
}

/**
 * Observations accumulated into a native histogram as a client library keeps one: counts by
 * bucket index on each side, the zero bucket, count and sum. Values and weights are
 * multiples of powers of two, so every sum is exact whatever the order of additions.
 */
class Accumulator {
    constructor(schema, zeroThreshold) {
        this.schema = schema;
        this.zeroThreshold = zeroThreshold;
        this.reset();
    }

    reset() {
        this.pos = new Map();
        this.neg = new Map();
        this.zero = 0;
        this.count = 0;
        this.sum = 0;
    }

    observe(v, weight = 1) {
        this.count += weight;
        this.sum += v * weight;
        if (Math.abs(v) <= this.zeroThreshold) {
            this.zero += weight;
            return;
        }
        const side = v > 0 ? this.pos : this.neg;
        const i = bucketIndex(this.schema, Math.abs(v));
        side.set(i, (side.get(i) ?? 0) + weight);
    }

    /** Lowers the resolution to schema (< the current one), merging buckets as clients do. */
    coarsen(schema) {
        const merge = (m) => {
            const out = new Map();
            for (const [i, c] of m) {
                const j = Math.ceil(i / 2 ** (this.schema - schema));
                out.set(j, (out.get(j) ?? 0) + c);
            }
            return out;
        };
        this.pos = merge(this.pos);
        this.neg = merge(this.neg);
        this.schema = schema;
    }

    /** The histogram now, in remote_write.mjs's form (without t). */
    snapshot(extra = {}) {
        return { schema: this.schema, zeroThreshold: this.zeroThreshold, zeroCount: this.zero, count: this.count, sum: this.sum, positive: sideOf(this.pos), negative: sideOf(this.neg), ...extra };
    }
}

/** A histogram staleness marker: its sum has the stale NaN bits. */
const STALE_HISTOGRAM = { schema: 0, count: 0, sum: STALE };

/**
 * Adds the native histogram series (see the file's header) through add(labels, job, fn,
 * opts). Uses its own random sequence, so the float series stay as they were.
 */
function nativeHistogramSeries(add, apiInstances, seed) {
    const rand = rng(seed + 1000);
    const q64 = (v) => Math.round(v * 64) / 64; // observations: multiples of 1/64
    const latency = () => q64(Math.exp(rand() * 9 - 6)); // 0.0025 .. 20, log-uniform
    const counter = (acc, fn) => {
        const rows = [];
        for (let i = 0; i < N; i++) rows.push(fn(i) ?? acc.snapshot());
        return (i) => rows[i];
    };

    // a: schema 0; the first sample is empty; a restart (count drop) at slot 200.
    const a = new Accumulator(0, 0.001);
    add({ __name__: 'nh_request_seconds', job: 'nh', instance: 'a' }, 'nh', counter(a, (i) => {
        if (i === 200) a.reset();
        const n = i === 0 ? 0 : Math.floor(rand() * 5);
        for (let k = 0; k < n; k++) a.observe(rand() < 0.1 ? q64(rand() / 1024) : latency());
        return undefined;
    }));

    // b: schema 1 (bounds from Prometheus's table); at slot 300 one observation moves to a
    // lower bucket, count unchanged: a counter reset only the buckets show.
    const b = new Accumulator(1, 2 ** -128);
    add({ __name__: 'nh_request_seconds', job: 'nh', instance: 'b' }, 'nh', counter(b, (i) => {
        if (i === 300) {
            const hi = Math.max(...b.pos.keys());
            const lo = Math.min(...b.pos.keys());
            b.pos.set(hi, b.pos.get(hi) - 1);
            b.pos.set(lo, b.pos.get(lo) + 1);
            return b.snapshot();
        }
        const n = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < n; k++) b.observe(latency());
        return undefined;
    }));

    // c: schema 3 with zero threshold 0 (exact zeros in the zero bucket); coarsened to
    // schema 1 at slot 240; a restart at schema 3 at slot 400.
    const c = new Accumulator(3, 0);
    add({ __name__: 'nh_request_seconds', job: 'nh', instance: 'c' }, 'nh', counter(c, (i) => {
        if (i === 240) c.coarsen(1);
        if (i === 400) {
            c.reset();
            c.schema = 3;
        }
        const n = Math.floor(rand() * 4);
        for (let k = 0; k < n; k++) c.observe(rand() < 0.15 ? 0 : latency());
        return undefined;
    }));

    // d: a float histogram (weights 0.5 and 1.25), schema -1, negative observations too.
    const d = new Accumulator(-1, 0.01);
    add({ __name__: 'nh_request_seconds', job: 'nh', instance: 'd' }, 'nh', counter(d, () => {
        const n = Math.floor(rand() * 4);
        for (let k = 0; k < n; k++) d.observe(rand() < 0.3 ? -latency() : latency(), rand() < 0.5 ? 0.5 : 1.25);
        return d.snapshot({ float: true });
    }));

    // Gauge histograms: every sample a fresh distribution of queue sizes (-8 .. 56, never
    // 0, so no quantile falls into the zero bucket, where Prometheus's answer depends on
    // empty buckets its chunks add to a sample).
    for (const [instance, float] of [['a', false], ['b', true]]) {
        add({ __name__: 'nh_queue_size', job: 'nh', instance }, 'nh', () => {
            const g = new Accumulator(0, 0.5);
            const n = 3 + Math.floor(rand() * 8);
            for (let k = 0; k < n; k++) {
                const v = Math.floor(rand() * 64) - 8;
                g.observe(v >= 0 ? v + 1 : v, float ? 0.75 : 1);
            }
            return g.snapshot({ hint: 'gauge', float });
        });
    }

    const e = new Accumulator(0, 0.001);
    add({ __name__: 'nh_ephemeral', job: 'nh', instance: 'a' }, 'nh', counter(e, () => {
        e.observe(latency());
        return undefined;
    }), { to: 239, staleAt: 240, stale: STALE_HISTOGRAM });

    // A series of floats that becomes a histogram and then floats again.
    const m = new Accumulator(0, 0.001);
    add({ __name__: 'nh_mixed', job: 'nh' }, 'nh', (i) => {
        if (i < 160 || i >= 320) return i;
        m.observe(latency());
        return m.snapshot();
    });

    // The native form of the classic request_duration_seconds histogram.
    for (const instance of apiInstances.slice(0, 2)) {
        const r = new Accumulator(0, 2 ** -128);
        add({ __name__: 'request_duration_seconds', job: 'api', instance }, 'api', counter(r, () => {
            const n = Math.floor(rand() * 20);
            for (let k = 0; k < n; k++) r.observe(q64(rand() ** 3 * 6));
            return undefined;
        }));
    }
}

/**
 * Builds the data set. end: the last scrape slot in ms (default: the minute boundary at
 * least two minutes before now). Returns {start, end, series: [{labels, samples:
 * [[tMs, value|STALE|histogram]]}], metadata: [...]} with start = end - 2h (both in ms);
 * histograms are in remote_write.mjs's form without t (isHistogram tells them apart).
 */
export function makeDataset({ end = Math.floor(Date.now() / 60000) * 60000 - 120000, seed = 42 } = {}) {
    const start = end - SPAN_MS;
    const rand = rng(seed);
    const series = [];
    const phases = { api: 1234, node: 7001, batch: 11500, special: 0, rules: 3333, nh: 5555 };
    // Scrape time of slot i for a job: phase + jitter, always inside its own 15 s slot.
    const jitter = [];
    for (let i = 0; i < N; i++) jitter.push(Math.round((rand() - 0.5) * 800));
    const ts = (job, i) => start + (phases[job] ?? 0) + i * STEP_MS + jitter[i];
    const add = (labels, job, fn, { from = 0, to = N - 1, staleAt, stale = STALE } = {}) => {
        const samples = [];
        for (let i = from; i <= to; i++) {
            const v = fn(i);
            if (v !== undefined) samples.push([ts(job, i), v]);
        }
        if (staleAt !== undefined) samples.push([ts(job, staleAt), stale]);
        series.push({ labels, samples });
    };

    const apiInstances = ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080'];
    const nodeInstances = ['10.0.1.1:9100', '10.0.1.2:9100'];

    // http_requests_total: integer counters; 10.0.0.2 restarts at slot 200 (full reset),
    // POST/500 on 10.0.0.3 resets twice.
    for (const instance of apiInstances) {
        for (const method of ['GET', 'POST']) {
            for (const code of ['200', '500']) {
                const base = code === '200' ? (method === 'GET' ? 40 : 12) : 2;
                let c = Math.floor(rand() * 1000);
                const vals = [];
                for (let i = 0; i < N; i++) {
                    if (instance === '10.0.0.2:8080' && i === 200) c = 0;
                    if (instance === '10.0.0.3:8080' && method === 'POST' && code === '500' && (i === 100 || i === 330)) c = Math.floor(c / 10);
                    c += Math.floor(rand() * base * 2);
                    vals.push(c);
                }
                add({ __name__: 'http_requests_total', job: 'api', instance, method, code }, 'api', (i) => vals[i]);
            }
        }
    }

    // node_cpu_seconds_total: fractional counters.
    for (const instance of nodeInstances) {
        for (const cpu of ['0', '1']) {
            for (const mode of ['idle', 'user', 'system']) {
                let c = round(rand() * 5000, 2);
                const share = mode === 'idle' ? 12 : mode === 'user' ? 2.5 : 0.5;
                const vals = [];
                for (let i = 0; i < N; i++) {
                    c = round(c + rand() * share, 2);
                    vals.push(c);
                }
                add({ __name__: 'node_cpu_seconds_total', job: 'node', instance, cpu, mode }, 'node', (i) => vals[i]);
            }
        }
    }

    for (const instance of nodeInstances) {
        const baseMem = 8e9 + Math.floor(rand() * 1e9);
        add({ __name__: 'node_memory_free_bytes', job: 'node', instance }, 'node', () => baseMem + Math.floor(rand() * 4e8) * 4);
        for (const sensor of ['s1', 's2']) {
            const off = rand() * 10 - 5;
            add({ __name__: 'temperature_celsius', job: 'node', instance, sensor }, 'node', (i) => round(off + 15 * Math.sin(i / 40) + (rand() - 0.5) * 3, 2));
        }
    }

    // Classic histogram; 10.0.0.3 resets at slot 250.
    const les = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];
    for (const instance of apiInstances) {
        const counts = les.map(() => 0);
        let sum = 0;
        const rows = [];
        for (let i = 0; i < N; i++) {
            if (instance === '10.0.0.3:8080' && i === 250) {
                counts.fill(0);
                sum = 0;
            }
            const n = Math.floor(rand() * 20);
            for (let k = 0; k < n; k++) {
                const d = rand() ** 3 * 6; // mostly fast, a few slow
                sum = round(sum + d, 3);
                for (let b = 0; b < les.length; b++) if (les[b] === '+Inf' || d <= Number(les[b])) counts[b]++;
            }
            rows.push({ counts: [...counts], sum });
        }
        les.forEach((le, b) => add({ __name__: 'request_duration_seconds_bucket', job: 'api', instance, le }, 'api', (i) => rows[i].counts[b]));
        add({ __name__: 'request_duration_seconds_sum', job: 'api', instance }, 'api', (i) => rows[i].sum);
        add({ __name__: 'request_duration_seconds_count', job: 'api', instance }, 'api', (i) => rows[i].counts[les.length - 1]);
    }

    // Summary.
    for (const instance of apiInstances.slice(0, 2)) {
        for (const [q, scale] of [['0.5', 0.1], ['0.9', 0.4], ['0.99', 1.5]]) {
            add({ __name__: 'rpc_latency_seconds', job: 'api', instance, quantile: q }, 'api', () => round(scale * (0.8 + rand() * 0.4), 4));
        }
        let s = 0;
        let c = 0;
        const rows = [];
        for (let i = 0; i < N; i++) {
            const n = 1 + Math.floor(rand() * 30);
            c += n;
            s = round(s + n * (0.05 + rand() * 0.2), 3);
            rows.push([s, c]);
        }
        add({ __name__: 'rpc_latency_seconds_sum', job: 'api', instance }, 'api', (i) => rows[i][0]);
        add({ __name__: 'rpc_latency_seconds_count', job: 'api', instance }, 'api', (i) => rows[i][1]);
    }

    // Gaps longer than the lookback.
    add({ __name__: 'flaky_gauge', job: 'batch', instance: 'batch-0' }, 'batch', (i) => ((i >= 100 && i < 140) || (i >= 250 && i < 300) ? undefined : round(rand() * 100 - 20, 1)));
    add({ __name__: 'batch_last_success_timestamp_seconds', job: 'batch', instance: 'batch-0' }, 'batch', (i) => Math.floor((start + Math.floor(i / 20) * 20 * STEP_MS) / 1000));

    // Series that end: with a staleness marker, silently, and one that starts late.
    add({ __name__: 'ephemeral_workers', job: 'batch', instance: 'batch-0', worker: 'w1' }, 'batch', () => 1 + Math.floor(rand() * 5), { to: 239, staleAt: 240 });
    add({ __name__: 'ephemeral_workers', job: 'batch', instance: 'batch-0', worker: 'w2' }, 'batch', () => 1 + Math.floor(rand() * 5), { to: 359 });
    add({ __name__: 'ephemeral_workers', job: 'batch', instance: 'batch-0', worker: 'w3' }, 'batch', () => 1 + Math.floor(rand() * 5), { from: 300 });

    // Special float values.
    add({ __name__: 'special_values', job: 'special', kind: 'nan' }, 'special', () => NaN);
    add({ __name__: 'special_values', job: 'special', kind: 'inf' }, 'special', () => Infinity);
    add({ __name__: 'special_values', job: 'special', kind: 'neg_inf' }, 'special', () => -Infinity);
    add({ __name__: 'special_values', job: 'special', kind: 'neg_zero' }, 'special', () => -0);
    const mix = [1, NaN, Infinity, 2.5, -Infinity, -3, 0, 1e-300, 1.7976931348623157e308, 5e-324, 123456789.125];
    add({ __name__: 'special_values', job: 'special', kind: 'mixed' }, 'special', (i) => mix[i % mix.length]);

    add({ __name__: 'escape_test', job: 'special', path: 'C:\\dir\\file', quote: 'say "hi"', nl: 'line1\nline2', uni: 'ünïcødé ✓ 日本', tab: 'a\tb' }, 'special', (i) => i % 7);
    add({ __name__: 'escape_test', job: 'special', path: '/usr/lib', quote: "it's", nl: 'single', uni: 'ascii', tab: 'none' }, 'special', (i) => (i % 5) - 2);

    for (const instance of apiInstances) {
        add({ __name__: 'job:http_requests:rate5m', job: 'api', instance }, 'rules', () => round(rand() * 50, 3));
    }
    add({ __name__: 'job:http_requests:rate5m', job: 'api' }, 'rules', () => round(rand() * 150, 3));

    // Info-style series for matching, and up.
    const region = { '10.0.0.1:8080': 'eu', '10.0.0.2:8080': 'us', '10.0.0.3:8080': 'eu' };
    for (const instance of apiInstances) {
        add({ __name__: 'instance_info', job: 'api', instance, region: region[instance], version: instance.endsWith('3:8080') ? '1.3.0' : '1.2.0' }, 'api', () => 1);
        add({ __name__: 'up', job: 'api', instance }, 'api', (i) => (instance === '10.0.0.2:8080' && i >= 190 && i < 200 ? 0 : 1));
    }
    for (const instance of nodeInstances) add({ __name__: 'up', job: 'node', instance }, 'node', () => 1);
    add({ __name__: 'up', job: 'batch', instance: 'batch-0' }, 'batch', (i) => (i % 60 < 3 ? 0 : 1));

    for (const instance of apiInstances) {
        for (const queue of ['q1', 'q2']) add({ __name__: 'queue_length', job: 'api', instance, queue }, 'api', () => Math.floor(rand() * 4));
        add({ __name__: 'build_version', job: 'api', instance }, 'api', (i) => (i < 240 ? 3 : instance === '10.0.0.1:8080' ? 4 : 3));
    }

    let bp = 100.5;
    add({ __name__: 'bytes_processed_total', job: 'batch', instance: 'batch-0' }, 'batch', (i) => {
        if (i === 150) bp = 10.25; // a reset that does not go to zero
        bp = round(bp + rand() * 1000, 2);
        return bp;
    });
    add({ __name__: 'sparse_events_total', job: 'batch', instance: 'batch-0' }, 'batch', (i) => (i % 40 === 0 ? i / 40 : undefined));

    nativeHistogramSeries(add, apiInstances, seed);

    for (const s of series) s.labels = sortedLabels(s.labels);
    const metadata = [
        { type: 'counter', name: 'http_requests_total', help: 'HTTP requests.' },
        { type: 'counter', name: 'node_cpu_seconds_total', help: 'CPU time.', unit: 'seconds' },
        { type: 'gauge', name: 'node_memory_free_bytes', help: 'Free memory.', unit: 'bytes' },
        { type: 'gauge', name: 'temperature_celsius', help: 'Temperature.', unit: 'celsius' },
        { type: 'histogram', name: 'request_duration_seconds', help: 'Request duration.', unit: 'seconds' },
        { type: 'summary', name: 'rpc_latency_seconds', help: 'RPC latency.', unit: 'seconds' },
        { type: 'gauge', name: 'flaky_gauge', help: 'A gauge with gaps.' },
        { type: 'gauge', name: 'up', help: 'Target up.' },
        { type: 'histogram', name: 'nh_request_seconds', help: 'Requests (native histogram).', unit: 'seconds' },
        { type: 'gaugehistogram', name: 'nh_queue_size', help: 'Queue sizes (native gauge histogram).' },
    ];
    return { start, end, series, metadata };
}

/**
 * The data set cut into remote write requests of windowMs each, in time order: every
 * series appears in each window it has samples in. A window is cut again wherever a series
 * changes between floats and histograms, so that each request holds one kind per series
 * (receivers append a request's floats before its histograms). Returns [{series,
 * metadata}]; the metadata rides on the first request.
 */
export function batches(ds, windowMs = 10 * 60 * 1000) {
    const cuts = new Set();
    let w = ds.start - 60000;
    for (; w <= ds.end + STEP_MS; w += windowMs) cuts.add(w);
    cuts.add(w);
    for (const s of ds.series) {
        for (let i = 1; i < s.samples.length; i++) if (isHistogram(s.samples[i][1]) !== isHistogram(s.samples[i - 1][1])) cuts.add(s.samples[i][0]);
    }
    const bounds = [...cuts].sort((x, y) => x - y);
    const out = [];
    for (let k = 0; k + 1 < bounds.length; k++) {
        const series = [];
        for (const s of ds.series) {
            const inWindow = s.samples.filter(([t]) => t >= bounds[k] && t < bounds[k + 1]);
            if (!inWindow.length) continue;
            const samples = inWindow.filter(([, v]) => !isHistogram(v));
            const histograms = inWindow.filter(([, v]) => isHistogram(v)).map(([t, h]) => ({ t, ...h }));
            series.push({ labels: s.labels, samples, histograms });
        }
        if (series.length) out.push({ series, metadata: out.length === 0 ? ds.metadata : [] });
    }
    return out;
}

/** How many samples the data set has (staleness markers included). */
export const sampleCount = (ds) => ds.series.reduce((n, s) => n + s.samples.length, 0);
