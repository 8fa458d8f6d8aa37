// Interoperability with a real Prometheus: (a) Prometheus scrapes itself and remote-writes
// to Osprey, and Osprey's query API returns the same series as Prometheus's own; (b) Osprey
// scrapes Prometheus's /metrics from a --config file, and records up, the scrape_* series
// and the scraped samples, with up 0 for a target that refuses connections.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { havePrometheus, promApi, prometheusVersion, startPrometheus } from './lib/prometheus.mjs';
import { freePort, SLOW, sleep, startServer, tempDir } from './lib/server.mjs';

const skip = !havePrometheus() && 'prometheus is not installed';

/** Polls fn() until it returns a truthy value or timeoutMs passes; returns the last value. */
async function eventually(fn, timeoutMs, everyMs = 500) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        try {
            last = await fn();
        } catch (e) {
            last = undefined;
            if (Date.now() >= deadline) throw e;
        }
        if (last || Date.now() >= deadline) return last;
        await sleep(everyMs);
    }
}

/** Instant query result [{metric, value:[t, "v"]}]; throws unless the answer is a success. */
async function instant(base, query, time) {
    const r = await promApi(base, '/api/v1/query', { query, ...(time === undefined ? {} : { time }) });
    if (r.status !== 200 || r.json?.status !== 'success') throw new Error(`${base} ${query}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    return r.json.data.result;
}

const key = (m) => JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

describe('Prometheus remote-writes to Osprey', { skip }, () => {
    let osprey;
    let prom;
    before(async () => {
        osprey = await startServer({ name: 'interop-rw-osprey' });
        prom = await startPrometheus({
            name: 'interop-rw-prometheus',
            config: [
                'global:',
                '  scrape_interval: 1s',
                '  evaluation_interval: 1s',
                'scrape_configs:',
                '  - job_name: prometheus',
                '    static_configs:',
                "      - targets: ['{{SELF}}']",
                'remote_write:',
                `  - url: ${osprey.apiUrl}/api/v1/write`,
                '    queue_config:',
                '      batch_send_deadline: 500ms',
                '      min_backoff: 100ms',
                '      max_backoff: 1s',
                '    metadata_config:',
                '      send_interval: 2s',
                '',
            ].join('\n'),
        });
    });
    after(async () => {
        await prom?.stop();
        await osprey?.kill();
    });

    test('up and prometheus_build_info arrive in Osprey with Prometheus\'s labels', { timeout: 120000 * SLOW }, async () => {
        const want = { __name__: 'up', instance: prom.addr, job: 'prometheus' };
        const up = await eventually(async () => (await instant(osprey.apiUrl, 'up')).find((s) => key(s.metric) === key(want)), 60000 * SLOW);
        assert.ok(up, `no up${JSON.stringify(want)} in Osprey within a minute; Osprey has: ${JSON.stringify(await instant(osprey.apiUrl, 'up').catch((e) => e.message))}\nprometheus log:\n${prom.logTail(15)}`);
        assert.equal(up.value[1], '1');
        const bi = await instant(osprey.apiUrl, 'prometheus_build_info');
        assert.equal(bi.length, 1, `prometheus_build_info: ${JSON.stringify(bi)}`);
        assert.equal(bi[0].metric.version, prometheusVersion());
        assert.equal(bi[0].metric.job, 'prometheus');
        assert.equal(bi[0].value[1], '1');
    });

    test('series and values match what Prometheus itself returns', { timeout: 120000 * SLOW }, async () => {
        // Let a few more scrapes flow, then compare at an instant a few seconds back so that
        // the remote write queue (500 ms batches) has delivered everything up to it.
        await sleep(4000);
        const at = Date.now() / 1000 - 3;
        await sleep(2000);
        const selectors = [
            'up',
            'prometheus_build_info',
            'scrape_samples_scraped',
            'scrape_series_added',
            'prometheus_tsdb_head_series',
            'go_goroutines',
            'prometheus_http_requests_total{handler="/-/ready"}',
            'prometheus_http_requests_total{handler="/metrics"}',
            'prometheus_target_interval_length_seconds{quantile="0.99"}',
            'prometheus_http_request_duration_seconds_bucket{handler="/metrics"}',
        ];
        const problems = [];
        for (const sel of selectors) {
            const p = await instant(prom.url, sel, at);
            const o = await instant(osprey.apiUrl, sel, at);
            if (p.length === 0) problems.push(`${sel}: Prometheus has no series`);
            const pk = p.map((s) => key(s.metric)).sort();
            const ok = o.map((s) => key(s.metric)).sort();
            if (JSON.stringify(pk) !== JSON.stringify(ok)) {
                problems.push(`${sel}: label sets differ\n  prometheus ${pk.join('\n             ')}\n  osprey     ${ok.join('\n             ')}`);
                continue;
            }
            // Each Osprey value must be one Prometheus scraped in the last few seconds (the
            // same one unless a scrape was still in the remote write queue).
            const recent = await instant(prom.url, `${sel}[6s]`, at);
            for (const s of o) {
                const mine = recent.find((r) => key(r.metric) === key(s.metric));
                const vals = (mine?.values ?? []).map((v) => v[1]);
                if (!vals.includes(s.value[1])) problems.push(`${sel} ${key(s.metric)}: osprey ${s.value[1]}, prometheus scraped ${vals.join(', ')} in the 6 s before`);
            }
        }
        assert.equal(problems.length, 0, problems.join('\n'));
    });

    test('Prometheus reports no failed remote write sends', async () => {
        // Failed: refused for good (4xx); retried: 5xx or connection errors. Neither should happen.
        for (const m of ['prometheus_remote_storage_samples_failed_total', 'prometheus_remote_storage_samples_retried_total', 'prometheus_remote_storage_metadata_failed_total']) {
            const r = await instant(prom.url, `sum(${m})`);
            assert.equal(r[0]?.value[1] ?? '0', '0', `${m}; prometheus log:\n${prom.logTail(10)}`);
        }
        const sent = await instant(prom.url, 'sum(prometheus_remote_storage_samples_total)');
        assert.ok(Number(sent[0]?.value[1]) > 100, `samples sent: ${JSON.stringify(sent)}`);
    });
});

describe('Osprey scrapes Prometheus', { skip }, () => {
    let osprey;
    let prom;
    let deadPort;
    before(async () => {
        prom = await startPrometheus({ name: 'interop-scrape-prometheus' });
        deadPort = await freePort(); // nothing listens there: connections are refused
        const dir = tempDir('osprey-e2e-scrapecfg-');
        const config = path.join(dir, 'osprey.yml');
        fs.writeFileSync(config, [
            'global:',
            '  scrape_interval: 1s',
            '  scrape_timeout: 1s',
            'scrape_configs:',
            '  - job_name: prometheus',
            '    static_configs:',
            `      - targets: ['${prom.addr}']`,
            '        labels:',
            '          env: e2e',
            '  - job_name: refused',
            '    static_configs:',
            `      - targets: ['127.0.0.1:${deadPort}']`,
            '',
        ].join('\n'));
        osprey = await startServer({ name: 'interop-scrape-osprey', args: ['--config', config] });
    });
    after(async () => {
        await osprey?.kill();
        await prom?.stop();
    });

    test('up is 1 for the Prometheus target, with job, instance and the target labels', { timeout: 60000 * SLOW }, async () => {
        const sel = `up{job="prometheus",instance="${prom.addr}"}`;
        const r = await eventually(async () => (await instant(osprey.apiUrl, sel))[0], 30000 * SLOW);
        assert.ok(r, `no ${sel} after 30 s:\n${osprey.stderrTail()}`);
        assert.deepEqual(r.metric, { __name__: 'up', env: 'e2e', instance: prom.addr, job: 'prometheus' });
        assert.equal(r.value[1], '1');
    });

    test('scrape_duration_seconds and scrape_samples_scraped are recorded', { timeout: 60000 * SLOW }, async () => {
        const base = `{job="prometheus",instance="${prom.addr}"}`;
        const dur = await eventually(async () => (await instant(osprey.apiUrl, `scrape_duration_seconds${base}`))[0], 30000 * SLOW);
        assert.ok(dur, 'scrape_duration_seconds');
        assert.ok(Number(dur.value[1]) > 0 && Number(dur.value[1]) < 1, `scrape_duration_seconds ${dur.value[1]}`);
        const n = (await instant(osprey.apiUrl, `scrape_samples_scraped${base}`))[0];
        assert.ok(n && Number(n.value[1]) > 100, `scrape_samples_scraped ${JSON.stringify(n)}`);
        // The scraped count is what the exposition had: compare with the series stored from it.
        const stored = await instant(osprey.apiUrl, `count({job="prometheus",instance="${prom.addr}",__name__!~"up|scrape_.*"})`);
        assert.ok(Number(stored[0]?.value[1]) >= Number(n.value[1]) * 0.9, `series stored ${JSON.stringify(stored)} vs scraped ${n.value[1]}`);
    });

    test('prometheus_build_info carries the running version', { timeout: 60000 * SLOW }, async () => {
        const bi = await eventually(async () => (await instant(osprey.apiUrl, `prometheus_build_info{instance="${prom.addr}"}`))[0], 30000 * SLOW);
        assert.ok(bi, 'prometheus_build_info');
        assert.equal(bi.metric.version, prometheusVersion());
        assert.equal(bi.metric.job, 'prometheus');
        assert.equal(bi.value[1], '1');
    });

    test('a target that refuses connections has up 0', { timeout: 60000 * SLOW }, async () => {
        const sel = `up{job="refused",instance="127.0.0.1:${deadPort}"}`;
        const r = await eventually(async () => (await instant(osprey.apiUrl, sel))[0], 30000 * SLOW);
        assert.ok(r, `no ${sel}`);
        assert.equal(r.value[1], '0');
        const n = (await instant(osprey.apiUrl, `scrape_samples_scraped{job="refused"}`))[0];
        assert.equal(n?.value[1], '0', `scrape_samples_scraped of the refused target: ${JSON.stringify(n)}`);
    });
});
