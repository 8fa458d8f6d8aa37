// A metrics workload built with the official OpenTelemetry JS metrics SDK: every instrument
// kind (Counter, UpDownCounter, Histogram with explicit buckets and, through a view, base-2
// exponential buckets, the synchronous Gauge, ObservableCounter, ObservableUpDownCounter,
// ObservableGauge), attributes of several types, units, two resources (one with
// service.namespace and service.instance.id, one with service.name alone), exported in
// rounds with cumulative or delta temporality. Every value is fixed in advance, so a test
// knows what each series must hold after each round; values are exact binary fractions, so
// sums do not depend on the order a server adds them in.
//
// As a program: node metrics-workload.mjs grpc|proto|json [endpoint] [--delta|--delta-all]
// sends the workload once and prints what each export answered.
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { ValueType } from '@opentelemetry/api';
import { OTLPMetricExporter as GrpcExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { AggregationTemporalityPreference, OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, AggregationType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

import { captureDiag } from './lib/diag.mjs';
import { canonicalMetrics } from './lib/otlp.mjs';
import { sleep } from './lib/server.mjs';

export const TRANSPORTS = ['grpc', 'proto', 'json'];
/** cumulative; delta as the exporter's preference gives it (UpDownCounters stay cumulative); delta-all: every instrument delta. */
export const TEMPORALITIES = ['cumulative', 'delta', 'delta-all'];
export const ROUNDS = 3;
export const SCOPE = { name: 'osprey.e2e.metrics', version: '1.2.0' };
export const DURATION_BOUNDS = [5, 10, 25, 50, 100, 250, 500, 1000];

/**
 * The instruments, with what each attribute set gets in each round (index 0 = round 1).
 * Synchronous instruments: a list of values recorded that round (empty: nothing recorded).
 * Observable instruments: the value the callback reports that round (null: not reported).
 * kind: counter | updowncounter | histogram | exphistogram | gauge | observablecounter |
 * observableupdowncounter | observablegauge. service: which resource's meter owns it.
 */
export const INSTRUMENTS = [
    {
        name: 'osprey.e2e.requests', kind: 'counter', unit: '{request}', description: 'Requests handled', service: 'checkout',
        series: [
            { attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'osprey.e2e.cached': true }, rounds: [[1, 2], [4], [2]] },
            { attributes: { 'http.request.method': 'POST', 'http.response.status_code': 200, 'osprey.e2e.cached': false }, rounds: [[2], [1], [3, 2]] },
            // Only in round 1: with delta temporality later rounds carry no point for it.
            { attributes: { 'http.request.method': 'GET', 'http.response.status_code': 500, 'osprey.e2e.cached': false }, rounds: [[1], [], []] },
        ],
    },
    {
        name: 'osprey.e2e.sent', kind: 'counter', unit: 'By', description: 'Bytes sent to peers', service: 'checkout', valueType: ValueType.DOUBLE,
        series: [
            { attributes: { 'net.peer.name': 'db-1', 'osprey.e2e.weight': 0.25 }, rounds: [[1024.5], [2048.25, 0.125], [512]] },
            { attributes: { 'net.peer.name': 'cache-1', 'osprey.e2e.weight': 1.5 }, rounds: [[64.125], [], [128]] },
        ],
    },
    {
        name: 'osprey.e2e.queue.depth', kind: 'updowncounter', unit: '{item}', description: 'Items waiting in a queue', service: 'checkout',
        series: [
            { attributes: { 'osprey-e2e.queue': 'ingest' }, rounds: [[5], [-2], [4, -1]] },
            { attributes: { 'osprey-e2e.queue': 'emails' }, rounds: [[1], [-4], []] },
        ],
    },
    {
        name: 'osprey.e2e.request.duration', kind: 'histogram', unit: 'ms', description: 'Time to answer a request', service: 'checkout',
        boundaries: DURATION_BOUNDS,
        series: [
            // 25 and 1000 sit exactly on a boundary (buckets are upper-inclusive); 1500 is past the last.
            { attributes: { 'http.route': '/api/orders' }, rounds: [[3.5, 7.25, 25], [12, 40.5, 180], [999.75, 1000, 1500]] },
            { attributes: { 'http.route': '/api/users' }, rounds: [[0.5], [], [260, 260.25]] },
        ],
    },
    {
        name: 'osprey.e2e.payload.size', kind: 'exphistogram', unit: 'By', description: 'Size of request payloads', service: 'checkout',
        series: [
            // No value is a power of two, so none sits on an exponential bucket boundary.
            { attributes: { 'osprey.e2e.direction': 'in' }, rounds: [[3, 17.5], [120.25, 700], [5000, 0.75, 33]] },
            { attributes: { 'osprey.e2e.direction': 'out' }, rounds: [[], [48.5], []] },
        ],
    },
    {
        name: 'osprey.e2e.cpu.utilization', kind: 'gauge', unit: '1', description: 'CPU busy fraction', service: 'checkout', valueType: ValueType.DOUBLE,
        series: [
            { attributes: { 'osprey.e2e.cpu': 0 }, rounds: [[0.25], [0.5, 0.625], [0.375]] },
            { attributes: { 'osprey.e2e.cpu': 1 }, rounds: [[0.75], [0.125], []] },
        ],
    },
    {
        name: 'osprey.e2e.process.cpu.time', kind: 'observablecounter', unit: 's', description: 'CPU time consumed', service: 'checkout', valueType: ValueType.DOUBLE,
        series: [
            { attributes: { 'osprey.e2e.cpu.mode': 'user' }, rounds: [1.5, 3.25, 5] },
            { attributes: { 'osprey.e2e.cpu.mode': 'system' }, rounds: [0.5, 0.75, 1.25] },
        ],
    },
    {
        name: 'osprey.e2e.memory.usage', kind: 'observableupdowncounter', unit: 'By', description: 'Memory in use', service: 'checkout',
        series: [
            { attributes: { 'osprey.e2e.memory.state': 'used' }, rounds: [1048576, 1572864, 1310720] },
            { attributes: { 'osprey.e2e.memory.state': 'free' }, rounds: [7340032, 6815744, 7077888] },
        ],
    },
    {
        name: 'osprey.e2e/pool-connections', kind: 'observablegauge', unit: '', description: 'Open connections per pool', service: 'checkout',
        series: [
            { attributes: { 'osprey.e2e.pool': 'primary', 'osprey.e2e.pool.max': 16 }, rounds: [4, 7, 2] },
            { attributes: { 'osprey.e2e.pool': 'replica', 'osprey.e2e.pool.max': 8 }, rounds: [1, null, 3] },
        ],
    },
    {
        name: 'osprey.e2e.jobs.processed', kind: 'counter', unit: '{job}', description: 'Jobs the worker finished', service: 'billing-worker',
        series: [
            { attributes: { 'osprey.e2e.job.type': 'invoice' }, rounds: [[3], [2], [5]] },
        ],
    },
];

const SYNC = new Set(['counter', 'updowncounter', 'histogram', 'exphistogram', 'gauge']);

/** The resources, by service.name; the instance id is fresh per run (see runMetricsWorkload). */
export function resourcesFor(instanceId = crypto.randomUUID()) {
    return {
        checkout: {
            'service.name': 'checkout',
            'service.namespace': 'osprey-e2e',
            'service.instance.id': instanceId,
            'service.version': '2.4.1',
            'deployment.environment.name': 'e2e',
            'host.name': 'e2e-host-1',
            'k8s.pod.name': 'checkout-6f7d9-x2kq',
            'process.pid': 4242,
            'osprey.e2e.canary': false,
            'osprey.e2e.load': 0.5,
        },
        // service.name alone: job is the name, there is no instance; host.name makes a target_info.
        'billing-worker': {
            'service.name': 'billing-worker',
            'host.name': 'e2e-host-2',
        },
    };
}

/**
 * The state each series holds after `round` rounds (1-based), as a server that stores OTLP
 * faithfully (deltas accumulated) must show it: for sums the total, for gauges and
 * observables the last value reported up to then (undefined when none yet), for histograms
 * {count, sum, values} with every value recorded so far.
 */
export function stateAfter(inst, series, round) {
    const upTo = series.rounds.slice(0, round);
    if (inst.kind === 'histogram' || inst.kind === 'exphistogram') {
        const values = upTo.flat();
        if (!values.length) return undefined;
        return { count: values.length, sum: values.reduce((a, b) => a + b, 0), values };
    }
    if (inst.kind === 'counter' || inst.kind === 'updowncounter') {
        const values = upTo.flat();
        return values.length ? values.reduce((a, b) => a + b, 0) : undefined;
    }
    const reported = upTo.map((r) => (Array.isArray(r) ? r.at(-1) : r)).filter((v) => v !== undefined && v !== null);
    return reported.at(-1);
}

/** Counts per explicit bucket (not cumulative; last = past the last bound) of a list of values. */
export function bucketCounts(values, bounds) {
    const counts = new Array(bounds.length + 1).fill(0);
    for (const v of values) {
        const i = bounds.findIndex((b) => v <= b);
        counts[i === -1 ? bounds.length : i]++;
    }
    return counts;
}

/**
 * The OTLP metric exporter of one kind (grpc, proto = http/protobuf, json = http/json) for a
 * server given as {grpcAddr, otlpHttpUrl}, with the given temporality preference.
 */
export function metricsExporter(kind, server, { temporality = 'cumulative', gzip = false } = {}) {
    const common = {
        compression: gzip ? 'gzip' : 'none',
        timeoutMillis: 15000,
        temporalityPreference: temporality === 'cumulative' ? AggregationTemporalityPreference.CUMULATIVE : AggregationTemporalityPreference.DELTA,
    };
    let e;
    switch (kind) {
    case 'grpc': e = new GrpcExporter({ ...common, url: `http://${server.grpcAddr}` }); break;
    case 'proto': e = new ProtoExporter({ ...common, url: `${server.otlpHttpUrl}/v1/metrics` }); break;
    case 'json': e = new JsonExporter({ ...common, url: `${server.otlpHttpUrl}/v1/metrics` }); break;
    default: throw new Error(`unknown exporter ${kind}`);
    }
    // The SDK has no preference that makes UpDownCounters delta; the reader asks the exporter.
    if (temporality === 'delta-all') e.selectAggregationTemporality = () => AggregationTemporality.DELTA;
    else if (!['cumulative', 'delta'].includes(temporality)) throw new Error(`unknown temporality ${temporality}`);
    return e;
}

/**
 * Wraps a PushMetricExporter: records each export's ResourceMetrics and result, and answers
 * the reader's temporality and aggregation questions as the wrapped exporter does.
 */
class RecordingExporter {
    constructor(inner) {
        this.inner = inner;
        this.exports = []; // {round, code, error, data: ResourceMetrics}
        this.round = 0;
    }
    export(metrics, done) {
        this.inner.export(metrics, (res) => {
            this.exports.push({ round: this.round, code: res.code, error: res.error?.message, data: metrics });
            done(res);
        });
    }
    selectAggregationTemporality(t) {
        return this.inner.selectAggregationTemporality(t);
    }
    selectAggregation(t) {
        return this.inner.selectAggregation?.(t) ?? { type: AggregationType.DEFAULT };
    }
    forceFlush() {
        return this.inner.forceFlush();
    }
    shutdown() {
        return this.inner.shutdown();
    }
}


/**
 * Runs the workload: for each round, records that round's values on the synchronous
 * instruments, sets what the observable callbacks report, and exports through
 * `exporterFor(service)` (a PushMetricExporter; null exports nothing but the SDK still
 * aggregates) with a forced flush; then shuts the providers down (one more export, which
 * changes no series' value).
 *
 * Returns {
 *   resources: {service -> resource attributes as sent}
 *   exports: [{service, round, code, error, doc}]   doc: canonical OTLP/JSON the SDK sent
 *   roundTimes: [ns BigInt]   the collection time of each round (time_unix_nano of its points)
 *   diag: SDK warnings/errors logged during the run
 * }
 */
export async function runMetricsWorkload({ exporterFor = () => null, rounds = ROUNDS, gapMs = 30, instanceId } = {}) {
    const diagLog = captureDiag();
    const diagStart = diagLog.length;
    const resources = resourcesFor(instanceId);
    let round = 0;

    const providers = new Map();
    const recorders = [];
    for (const [service, attrs] of Object.entries(resources)) {
        const inner = exporterFor(service);
        const readers = [];
        if (inner) {
            const rec = new RecordingExporter(inner);
            rec.service = service;
            recorders.push(rec);
            // Exports only when flushed: one export per round.
            readers.push(new PeriodicExportingMetricReader({ exporter: rec, exportIntervalMillis: 3600_000, exportTimeoutMillis: 20000 }));
        }
        providers.set(service, new MeterProvider({
            resource: resourceFromAttributes(attrs),
            readers,
            views: INSTRUMENTS.filter((i) => i.kind === 'exphistogram').map((i) => ({
                instrumentName: i.name,
                aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160, recordMinMax: true } },
            })),
        }));
    }

    const sync = [];
    for (const inst of INSTRUMENTS) {
        const meter = providers.get(inst.service).getMeter(SCOPE.name, SCOPE.version);
        const opts = { unit: inst.unit, description: inst.description, valueType: inst.valueType ?? ValueType.INT };
        if (inst.kind === 'histogram') opts.advice = { explicitBucketBoundaries: inst.boundaries };
        if (inst.kind === 'histogram' || inst.kind === 'exphistogram') opts.valueType = ValueType.DOUBLE;
        const observe = (res) => {
            for (const s of inst.series) {
                const v = s.rounds[round - 1];
                if (v !== null && v !== undefined) res.observe(v, s.attributes);
            }
        };
        switch (inst.kind) {
        case 'counter': sync.push([inst, meter.createCounter(inst.name, opts), 'add']); break;
        case 'updowncounter': sync.push([inst, meter.createUpDownCounter(inst.name, opts), 'add']); break;
        case 'histogram': case 'exphistogram': sync.push([inst, meter.createHistogram(inst.name, opts), 'record']); break;
        case 'gauge': sync.push([inst, meter.createGauge(inst.name, opts), 'record']); break;
        case 'observablecounter': meter.createObservableCounter(inst.name, opts).addCallback(observe); break;
        case 'observableupdowncounter': meter.createObservableUpDownCounter(inst.name, opts).addCallback(observe); break;
        case 'observablegauge': meter.createObservableGauge(inst.name, opts).addCallback(observe); break;
        default: throw new Error(`unknown instrument kind ${inst.kind}`);
        }
    }
    for (const [inst] of sync) if (!SYNC.has(inst.kind)) throw new Error(`${inst.name}: not synchronous`);

    for (round = 1; round <= rounds; round++) {
        for (const [inst, instrument, method] of sync) {
            for (const s of inst.series) for (const v of s.rounds[round - 1] ?? []) instrument[method](v, s.attributes);
        }
        for (const r of recorders) r.round = round;
        await Promise.all([...providers.values()].map((p) => p.forceFlush()));
        // Distinct millisecond timestamps for each round's points.
        await sleep(gapMs);
    }
    round = rounds; // the shutdown export reports the last round's observations again
    for (const r of recorders) r.round = rounds + 1;
    await Promise.all([...providers.values()].map((p) => p.shutdown()));

    const exports = recorders.flatMap((r) => r.exports.map((e) => ({
        service: r.service,
        round: e.round,
        code: e.code,
        error: e.error,
        doc: canonicalMetrics(JSON.parse(Buffer.from(JsonMetricsSerializer.serializeRequest(e.data)).toString('utf8'))),
        data: e.data,
    })));
    const roundTimes = [];
    for (let k = 1; k <= rounds; k++) {
        const e = exports.find((x) => x.round === k && x.service === 'checkout');
        const dp = e?.data.scopeMetrics[0]?.metrics[0]?.dataPoints[0];
        roundTimes.push(dp ? BigInt(dp.endTime[0]) * 1_000_000_000n + BigInt(dp.endTime[1]) : null);
    }
    return { resources, exports, roundTimes, diag: diagLog.slice(diagStart) };
}

// ---------------------------------------------------------------- command line
if (process.argv[1] === fileURLToPath(import.meta.url)) {
    const [kind = 'proto', endpoint] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
    const server = {
        grpcAddr: endpoint ?? '127.0.0.1:4317',
        otlpHttpUrl: endpoint ?? 'http://127.0.0.1:4318',
    };
    const temporality = process.argv.includes('--delta-all') ? 'delta-all' : process.argv.includes('--delta') ? 'delta' : 'cumulative';
    const w = await runMetricsWorkload({ exporterFor: () => metricsExporter(kind, server, { temporality }) });
    for (const e of w.exports) console.log(`${e.service} round ${e.round}: ${e.code === 0 ? 'ok' : `failed: ${e.error}`}`);
    for (const line of w.diag) console.error(line);
}
