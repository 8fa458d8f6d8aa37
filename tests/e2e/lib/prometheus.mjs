// Starts and stops a real Prometheus (the reference the metrics tests compare Osprey with):
// a free port on 127.0.0.1, a temporary TSDB directory, a generated config file, readiness by
// GET /-/ready, its log in build/e2e-logs/, and a kill at process exit like lib/server.mjs.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { request } from './http.mjs';
import { freePort, REPO, SLOW, sleep, tempDir } from './server.mjs';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN || '/usr/bin/prometheus';
const LOG_DIR = path.resolve(REPO, process.env.OSPREY_E2E_LOGDIR || 'build/e2e-logs');

const live = new Set(); // Prometheus processes not yet reaped
process.on('exit', () => {
    for (const child of live) {
        try {
            child.kill('SIGKILL');
        } catch {
            // already gone
        }
    }
});

/** True when a Prometheus binary is installed (the dependency script installs one). */
export const havePrometheus = () => fs.existsSync(PROMETHEUS_BIN);

/** The installed Prometheus's version as its build_info reports it ("2.42.0+ds" for Debian's). */
export function prometheusVersion() {
    const out = spawnSyncText(PROMETHEUS_BIN, ['--version']);
    const m = /version (\S+)/.exec(out);
    if (!m) throw new Error(`cannot read the Prometheus version from: ${out.slice(0, 200)}`);
    return m[1];
}

function spawnSyncText(bin, args) {
    const r = spawnSync(bin, args, { encoding: 'utf8' });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

let serial = 0;

/**
 * Starts Prometheus and waits for /-/ready. opts: config (YAML text; the string
 * `{{SELF}}` is replaced by its own host:port, for self-scraping), args (extra flags),
 * nativeHistograms (true: --enable-feature=native-histograms, so remote write stores
 * native histograms and the API returns them), name (log file), readyTimeoutMs. Remote
 * write receiving and the lifecycle API are on. Returns a Prometheus.
 */
export async function startPrometheus(opts = {}) {
    if (!havePrometheus()) throw new Error(`${PROMETHEUS_BIN} not found: install the prometheus package (scripts/deps.sh) or set PROMETHEUS_BIN`);
    let lastErr;
    for (let attempt = 0; attempt < 3; attempt++) {
        const p = new Prometheus(opts);
        try {
            await p.start();
            return p;
        } catch (e) {
            lastErr = e;
            await p.kill().catch(() => {});
            if (!/address already in use|bind/i.test(p.log())) break;
        }
    }
    throw lastErr;
}

export class Prometheus {
    constructor(opts) {
        this.opts = opts;
        this.name = opts.name ?? 'prometheus';
        this.out = [];
        this.exited = null;
    }

    async start() {
        this.port = await freePort();
        this.addr = `127.0.0.1:${this.port}`;
        this.url = `http://${this.addr}`;
        this.dir = tempDir('osprey-e2e-prom-');
        this.configFile = path.join(this.dir, 'prometheus.yml');
        const config = (this.opts.config ?? 'global:\n  scrape_interval: 1m\n').replaceAll('{{SELF}}', this.addr);
        fs.writeFileSync(this.configFile, config);
        const args = [
            `--config.file=${this.configFile}`,
            `--storage.tsdb.path=${path.join(this.dir, 'data')}`,
            `--web.listen-address=${this.addr}`,
            '--web.enable-remote-write-receiver',
            '--web.enable-lifecycle',
            '--log.level=info',
            ...(this.opts.nativeHistograms ? ['--enable-feature=native-histograms'] : []),
            ...(this.opts.args ?? []),
        ];
        fs.mkdirSync(LOG_DIR, { recursive: true });
        this.logFile = path.join(LOG_DIR, `${this.name}-${process.pid}-${++serial}.log`);
        const log = fs.openSync(this.logFile, 'w');
        fs.writeSync(log, `$ ${PROMETHEUS_BIN} ${args.join(' ')}\n--- config\n${config}\n---\n`);
        const child = spawn(PROMETHEUS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir });
        this.child = child;
        live.add(child);
        child.unref();
        child.stdout.unref();
        child.stderr.unref();
        const onData = (d) => {
            this.out.push(d);
            fs.writeSync(log, d);
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        this.exitPromise = new Promise((resolve) => {
            child.on('exit', (code, signal) => {
                this.exited = { code, signal };
                live.delete(child);
            });
            child.on('close', () => {
                fs.closeSync(log);
                resolve(this.exited);
            });
        });
        child.on('error', (e) => this.out.push(Buffer.from(`spawn error: ${e.message}\n`)));
        const timeout = this.opts.readyTimeoutMs ?? 30000 * SLOW;
        const deadline = Date.now() + timeout;
        while (Date.now() < deadline) {
            if (this.exited) throw new Error(`prometheus exited before ready (${JSON.stringify(this.exited)}):\n${this.logTail()}`);
            try {
                const r = await request(`${this.url}/-/ready`, { timeout: 1000 });
                if (r.status === 200) return this;
            } catch {
                // not listening yet
            }
            await sleep(100);
        }
        throw new Error(`prometheus not ready on ${this.url} after ${timeout} ms:\n${this.logTail()}`);
    }

    log() {
        return Buffer.concat(this.out).toString('utf8');
    }

    logTail(lines = 30) {
        return this.log().split('\n').slice(-lines).join('\n');
    }

    /** SIGTERM, SIGKILL after timeoutMs; resolves when the process is gone. */
    async stop(timeoutMs = 10000 * SLOW) {
        if (!this.child) return;
        if (!this.exited) this.child.kill('SIGTERM');
        const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
        await this.exitPromise;
        clearTimeout(t);
    }

    async kill() {
        if (!this.child) return;
        if (!this.exited) this.child.kill('SIGKILL');
        const keepAlive = setInterval(() => {}, 1000);
        await this.exitPromise;
        clearInterval(keepAlive);
    }

    /** GET or POST (form-encoded) to an /api/v1 path; resolves {status, json} whatever the status. */
    api(apiPath, params = {}, method = 'GET') {
        return promApi(this.url, apiPath, params, method);
    }

    /** Instant query; returns the parsed response body (throws when it is not "success"). */
    async query(q, time) {
        return successData(await this.api('/api/v1/query', { query: q, ...(time === undefined ? {} : { time }) }), q);
    }

    /** Range query; returns data (throws when it is not "success"). */
    async queryRange(q, start, end, step) {
        return successData(await this.api('/api/v1/query_range', { query: q, start, end, step }), q);
    }
}

function successData(r, q) {
    if (r.status !== 200 || r.json?.status !== 'success') throw new Error(`query ${JSON.stringify(q)}: HTTP ${r.status}: ${JSON.stringify(r.json).slice(0, 500)}`);
    return r.json.data;
}

/**
 * One Prometheus-HTTP-API call against any base URL (Prometheus or Osprey). params: an
 * object (values converted with String(); arrays give repeated keys). method GET puts them
 * in the query string, POST sends them form-encoded. Resolves {status, json, text}; json is
 * null when the body is not JSON.
 */
export async function promApi(base, apiPath, params = {}, method = 'GET', timeout = 30000 * SLOW) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of [].concat(v)) form.append(k, String(x));
    const enc = form.toString();
    const r = method === 'GET'
        ? await request(`${base}${apiPath}${enc ? `?${enc}` : ''}`, { timeout })
        : await request(`${base}${apiPath}`, { method: 'POST', body: enc, headers: { 'content-type': 'application/x-www-form-urlencoded' }, timeout });
    let json = null;
    try {
        json = JSON.parse(r.text());
    } catch {
        // not JSON; callers look at text
    }
    return { status: r.status, json, text: r.text() };
}
