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
import { sortedLabels, STALE } from '../lib/remote_write.mjs';

export const STEP_MS = 15000;
export const SPAN_MS = 2 * 3600 * 1000;
const N = SPAN_MS / STEP_MS + 1; // samples per full series: 481

/** mulberry32: a small seeded PRNG, so the data set is the same on every run. */
function rng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;

/**
 * Builds the data set. end: the last scrape slot in ms (default: the minute boundary at
 * least two minutes before now). Returns {start, end, series: [{labels, samples:
 * [[tMs, value|STALE]]}], metadata: [...]} with start = end - 2h (both in ms).
 */
export function makeDataset({ end = Math.floor(Date.now() / 60000) * 60000 - 120000, seed = 42 } = {}) {
    const start = end - SPAN_MS;
    const rand = rng(seed);
    const series = [];
    const phases = { api: 1234, node: 7001, batch: 11500, special: 0, rules: 3333 };
    // Scrape time of slot i for a job: phase + jitter, always inside its own 15 s slot.
    const jitter = [];
    for (let i = 0; i < N; i++) jitter.push(Math.round((rand() - 0.5) * 800));
    const ts = (job, i) => start + (phases[job] ?? 0) + i * STEP_MS + jitter[i];
    const add = (labels, job, fn, { from = 0, to = N - 1, staleAt } = {}) => {
        const samples = [];
        for (let i = from; i <= to; i++) {
            const v = fn(i);
            if (v !== undefined) samples.push([ts(job, i), v]);
        }
        if (staleAt !== undefined) samples.push([ts(job, staleAt), STALE]);
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
    ];
    return { start, end, series, metadata };
}

/**
 * The data set cut into remote write requests of windowMs each, in time order: every
 * series appears in each window it has samples in. Returns [{series, metadata}]; the
 * metadata rides on the first request.
 */
export function batches(ds, windowMs = 10 * 60 * 1000) {
    const out = [];
    for (let w = ds.start - 60000; w <= ds.end + STEP_MS; w += windowMs) {
        const series = [];
        for (const s of ds.series) {
            const samples = s.samples.filter(([t]) => t >= w && t < w + windowMs);
            if (samples.length) series.push({ labels: s.labels, samples });
        }
        if (series.length) out.push({ series, metadata: out.length === 0 ? ds.metadata : [] });
    }
    return out;
}

/** How many samples the data set has (staleness markers included). */
export const sampleCount = (ds) => ds.series.reduce((n, s) => n + s.samples.length, 0);
