// PromQL oracle: a real Prometheus and Osprey get the same data set by remote write, then
// every query of promql/corpus.txt runs on both, as instant queries at several times and as
// range queries, and the answers must be identical: status and errorType, resultType,
// label sets, timestamps and values as strings. All differences are reported at once.
//
// OSPREY_ORACLE_PROM_ONLY=1 runs the Prometheus side alone and checks the corpus's own
// expectations (each query succeeds, or fails with the errorType noted in the corpus).
// OSPREY_ORACLE_SELFCHECK=1 puts a second Prometheus where Osprey would be: every query must
// then agree with itself, which checks that the corpus and the comparison are deterministic.
// OSPREY_ORACLE_FILTER=REGEX keeps only the queries matching it (for debugging).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { havePrometheus, promApi, startPrometheus } from './lib/prometheus.mjs';
import { SLOW, startServer } from './lib/server.mjs';
import { makeDataset } from './promql/dataset.mjs';
import { checkExpectation, diff, expectedRaw, hasFineSchema, isOrdered, keepRows, loadCorpus, loadDataset, normalize, pool, runsOf, send } from './promql/harness.mjs';

const PROM_ONLY = process.env.OSPREY_ORACLE_PROM_ONLY === '1';
const SELFCHECK = process.env.OSPREY_ORACLE_SELFCHECK === '1';
const FILTER = process.env.OSPREY_ORACLE_FILTER ? new RegExp(process.env.OSPREY_ORACLE_FILTER) : null;
const MAX_REPORTED = 150; // differences listed in a failure message
const MAX_MESSAGE = 60000; // characters

let prom;
let osprey; // the server under test: Osprey, or a second Prometheus for the self-check
let otherUrl; // its base URL
let ds;
let corpus;

/** One failure message listing problems ({where, what}), capped in count and size. */
function report(title, problems) {
    const lines = [`${problems.length} ${title}:`];
    let size = lines[0].length;
    for (const p of problems.slice(0, MAX_REPORTED)) {
        const s = `\n#${p.line} ${p.query}\n   ${p.where}: ${p.what.replaceAll('\n', '\n   ')}`;
        if (size + s.length > MAX_MESSAGE) break;
        lines.push(s);
        size += s.length;
    }
    if (lines.length - 1 < problems.length) lines.push(`\n… and ${problems.length - lines.length + 1} more`);
    return lines.join('');
}

describe('PromQL oracle (Prometheus vs Osprey)', { skip: !havePrometheus() && 'prometheus is not installed' }, () => {
    before(async () => {
        ds = makeDataset();
        corpus = loadCorpus().filter((q) => !FILTER || FILTER.test(q.query));
        prom = await startPrometheus({ name: 'oracle-prometheus', nativeHistograms: true });
        await loadDataset(`${prom.url}/api/v1/write`, ds);
        if (SELFCHECK) {
            osprey = await startPrometheus({ name: 'oracle-prometheus-2', nativeHistograms: true });
            otherUrl = osprey.url;
        } else if (!PROM_ONLY) {
            osprey = await startServer({ name: 'oracle-osprey' });
            otherUrl = osprey.apiUrl;
        }
        if (osprey) await loadDataset(`${otherUrl}/api/v1/write`, ds);
    });
    after(async () => {
        await prom?.stop();
        await osprey?.kill();
    });

    test('the data set reads back exactly as written (every sample of every series)', async () => {
        // A range selection over the whole span per metric name, evaluated after its end:
        // every sample but the staleness markers, with timestamps and values as written,
        // histograms with their buckets. (Per metric name, because Prometheus 2.42 garbles
        // integer histograms read after float histograms in one range selection.) Bucket
        // bounds at schemas above 0 may be one unit in the last place off the correctly
        // rounded 2^(i/2^schema) (Prometheus takes them from a table); everything else is exact.
        const names = [...new Set(ds.series.map((s) => Object.fromEntries(s.labels).__name__))];
        const exact = (s) => !hasFineSchema(s);
        const check = async (who, url) => {
            const rows = [];
            await pool(names, 4, async (name) => {
                const r = await promApi(url, '/api/v1/query', { query: `{__name__=${JSON.stringify(name)}}[3h]`, time: ds.end / 1000 + 60 });
                const n = normalize(r, false);
                assert.equal(n.status, 200, `${who}: ${name}: ${JSON.stringify(n).slice(0, 300)}`);
                rows.push(...n.rows);
            });
            const got = { status: 200, resultType: 'matrix', rows: rows.sort(), order: null };
            const d = diff(expectedRaw(ds, exact), keepRows(got, ds, exact));
            assert.equal(d, null, `${who} differs from the data set (- expected, + ${who}):\n${d}`);
            const f = diff(expectedRaw(ds, hasFineSchema), keepRows(got, ds, hasFineSchema), 600, 0, 1);
            assert.equal(f, null, `${who} differs from the data set in series at schemas above 0 (- expected, + ${who}):\n${f}`);
            assert.equal(got.rows.length, ds.series.length, `${who}: series other than the data set's`);
        };
        await check('prometheus', prom.url);
        if (osprey) await check('osprey', otherUrl);
    });

    test(`corpus: ${PROM_ONLY ? 'Prometheus meets the expectations noted in corpus.txt' : 'Osprey answers exactly like Prometheus'}`, { timeout: 600000 * SLOW }, async () => {
        const runs = runsOf(corpus, ds);
        const expectation = [];
        const mismatches = [];
        const failedQueries = new Set(); // corpus entries with at least one failed run in Prometheus
        let nonEmpty = 0;
        await pool(runs, 8, async (run) => {
            const ordered = run.kind === 'instant' && isOrdered(run.q);
            const pn = normalize(await send(prom.url, run), ordered);
            if (pn.rows?.length && !(pn.rows.length === 1 && pn.rows[0].endsWith(':'))) nonEmpty++;
            if (pn.errorType) failedQueries.add(run.q);
            const e = checkExpectation(run, pn);
            if (e) expectation.push({ line: run.q.line, query: run.params.query, where: run.label, what: e });
            if (osprey) {
                let on;
                try {
                    on = normalize(await send(otherUrl, run), ordered);
                } catch (err) {
                    on = { status: 0, body: `request failed: ${err.message}` };
                }
                const d = diff(pn, on, 600, run.q.ulp);
                if (d) mismatches.push({ line: run.q.line, query: run.params.query, where: run.label, what: d });
            }
        });
        for (const q of corpus.filter((x) => x.maybeError)) {
            if (!failedQueries.has(q)) expectation.push({ line: q.line, query: q.query, where: 'all runs', what: `maybe-error=${q.maybeError}, but no run failed` });
        }
        const byLine = (a, b) => a.line - b.line || (a.where < b.where ? -1 : 1);
        expectation.sort(byLine);
        mismatches.sort(byLine);
        // The corpus must exercise data, not only empty answers.
        assert.ok(nonEmpty > runs.length / 2, `only ${nonEmpty} of ${runs.length} runs returned data: is the data set loaded?`);
        const msgs = [];
        if (expectation.length) msgs.push(report(`runs where Prometheus did not meet corpus.txt's expectation (fix the corpus)`, expectation));
        if (mismatches.length) msgs.push(report(`of ${runs.length} runs where Osprey differs from Prometheus`, mismatches));
        assert.ok(msgs.length === 0, msgs.join('\n\n'));
    });

    // Query API parameters: bad ones get the same status and errorType on both sides.
    const apiCases = [
        ['instant without a query', '/api/v1/query', {}],
        ['instant with an empty query', '/api/v1/query', { query: '' }],
        ['instant with a bad time', '/api/v1/query', { query: 'up', time: 'yesterday' }],
        ['instant with an RFC 3339 time', '/api/v1/query', { query: 'vector(time())', time: '2020-01-02T03:04:05.678Z' }],
        ['instant with a negative timeout', '/api/v1/query', { query: 'up', time: '0', timeout: '-1s' }],
        ['range without start', '/api/v1/query_range', { query: 'up', end: '100', step: '10' }],
        ['range with end before start', '/api/v1/query_range', { query: 'up', start: '200', end: '100', step: '10' }],
        ['range with step 0', '/api/v1/query_range', { query: 'up', start: '100', end: '200', step: '0' }],
        ['range with a negative step', '/api/v1/query_range', { query: 'up', start: '100', end: '200', step: '-5' }],
        ['range with a bad step', '/api/v1/query_range', { query: 'up', start: '100', end: '200', step: 'x' }],
        ['range with a duration step', '/api/v1/query_range', { query: 'vector(time())', start: '100', end: '200', step: '30s' }],
        ['range with over 11000 points', '/api/v1/query_range', { query: 'up', start: '0', end: '12000', step: '1' }],
        ['range with a parse error', '/api/v1/query_range', { query: 'up[', start: '100', end: '200', step: '10' }],
        ['range of a range vector', '/api/v1/query_range', { query: 'up[5m]', start: '100', end: '200', step: '10' }],
        ['range with fractional start and step', '/api/v1/query_range', { query: 'vector(time())', start: '100.25', end: '101', step: '0.25' }],
    ];
    test('query API parameter handling matches Prometheus', { skip: PROM_ONLY && 'OSPREY_ORACLE_PROM_ONLY=1' }, async () => {
        const problems = [];
        for (const [what, p, params] of apiCases) {
            for (const method of ['GET', 'POST']) {
                const a = normalize(await promApi(prom.url, p, params, method), false);
                const b = normalize(await promApi(otherUrl, p, params, method), false);
                const d = diff(a, b);
                if (d) problems.push({ line: 0, query: `${what} ${JSON.stringify(params)}`, where: `${method} ${p}`, what: d });
            }
        }
        assert.ok(problems.length === 0, report('API cases differ', problems));
    });
});
