// Starts and stops bin/osprey for the tests: free ports on 127.0.0.1, a temporary data
// directory, readiness by GET /readyz, stderr kept in build/e2e-logs/, and cleanup of
// everything started here when the test process exits, also after a failure.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { request } from './http.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.resolve(REPO, process.env.OSPREY_BIN || 'bin/osprey');
const LOG_DIR = path.resolve(REPO, process.env.OSPREY_E2E_LOGDIR || 'build/e2e-logs');
const KEEP = process.env.OSPREY_E2E_KEEP === '1';
/** Sanitizer builds are several times slower; timeouts scale with this. */
export const SLOW = Number(process.env.OSPREY_E2E_SLOW || (/(^|\/)(asan|ubsan|san)(\/|$)/.test(BIN) ? 3 : 1));

const live = new Set(); // child processes not yet reaped
const tmpDirs = new Set(); // data directories to remove at exit
process.on('exit', () => {
    for (const child of live) {
        try {
            child.kill('SIGKILL');
        } catch {
            // already gone
        }
    }
    if (!KEEP) for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

// Killed by a signal (Ctrl-C, a timeout): exit through the handler above, so the servers
// and temporary directories go too.
for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) process.once(sig, () => process.exit(128 + n));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls f() until it returns {ok: true, ...} and returns that; throws with the last answer after timeoutMs. */
export async function until(what, f, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
        last = await f();
        if (last.ok) return last;
        await sleep(200);
    }
    throw new Error(`${what}: not reached in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

/** A fresh temporary data directory, removed when the process exits (unless OSPREY_E2E_KEEP=1). */
export function tempDir(prefix = 'osprey-e2e-') {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    tmpDirs.add(d);
    return d;
}

/**
 * Files every AI call segment of a stopped server's dataDir under yesterday (UTC), as if
 * written then (src/store/aicalls/README.md: one directory per day of writing).
 */
export function moveAiCallsBackADay(dataDir) {
    const ymd = (ms) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
    const root = path.join(dataDir, 'aicalls');
    const yesterday = path.join(root, ymd(Date.now() - 86400000));
    fs.mkdirSync(yesterday, { recursive: true });
    for (const day of fs.readdirSync(root).filter((d) => /^\d{8}$/.test(d))) {
        const dir = path.join(root, day);
        if (dir === yesterday) continue;
        for (const f of fs.readdirSync(dir)) fs.renameSync(path.join(dir, f), path.join(yesterday, f));
        fs.rmdirSync(dir);
    }
}

let serial = 0;

/** Lines in a server's stderr that report a sanitizer finding (ASan, LSan, UBSan). */
export function sanitizerFindings(text) {
    return text.split('\n').filter((l) => /ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer/.test(l));
}

/**
 * Starts `osprey serve` on free ports and waits until GET /readyz answers 200.
 * opts: dataDir (default: a fresh temp dir), args (extra flags), name (for the log file),
 * readyTimeoutMs. Returns a Server.
 */
export async function startServer(opts = {}) {
    if (!fs.existsSync(BIN)) throw new Error(`server binary ${BIN} not found: run make (or set OSPREY_BIN)`);
    const dataDir = opts.dataDir ?? tempDir();
    let lastErr;
    for (let attempt = 0; attempt < 3; attempt++) {
        const s = new Server({ ...opts, dataDir });
        try {
            await s.start();
            return s;
        } catch (e) {
            lastErr = e;
            await s.kill().catch(() => {});
            // Another process may have taken a port between probing and binding: retry
            // with new ports, but only for that reason.
            if (!/address already in use|EADDRINUSE|bind/i.test(s.stderr())) break;
        }
    }
    throw lastErr;
}

export class Server {
    constructor(opts) {
        this.opts = opts;
        this.dataDir = opts.dataDir;
        this.name = opts.name ?? 'osprey';
        this.out = [];
        this.exited = null; // {code, signal} once the process is gone
    }

    async start() {
        const [grpc, otlpHttp, api] = [await freePort(), await freePort(), await freePort()];
        this.ports = { grpc, otlpHttp, api };
        this.grpcAddr = `127.0.0.1:${grpc}`;
        this.otlpHttpUrl = `http://127.0.0.1:${otlpHttp}`;
        this.apiUrl = `http://127.0.0.1:${api}`;
        const args = [
            'serve',
            '--data-dir', this.dataDir,
            '--otlp-grpc-addr', this.grpcAddr,
            '--otlp-http-addr', `127.0.0.1:${otlpHttp}`,
            '--http-addr', `127.0.0.1:${api}`,
            ...(this.opts.args ?? []),
        ];
        fs.mkdirSync(LOG_DIR, { recursive: true });
        this.logFile = path.join(LOG_DIR, `${this.name}-${process.pid}-${++serial}.log`);
        const log = fs.openSync(this.logFile, 'w');
        fs.writeSync(log, `$ ${BIN} ${args.join(' ')}\n`);
        const env = {
            ...process.env,
            ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1:halt_on_error=1:abort_on_error=0',
            UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'print_stacktrace=1:halt_on_error=1',
        };
        const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
        this.child = child;
        live.add(child);
        // A server must not keep the test process alive: when the tests are done (passed,
        // failed or forgotten to stop one), the process exits and its exit handler kills
        // whatever is still running. Waiting for a server holds a timer instead.
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
            // 'close' comes after the pipes are drained, so stderr is complete.
            child.on('close', () => {
                fs.closeSync(log);
                resolve(this.exited);
            });
        });
        child.on('error', (e) => this.out.push(Buffer.from(`spawn error: ${e.message}\n`)));
        const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 15000 * SLOW);
        while (Date.now() < deadline) {
            if (this.exited) throw new Error(`osprey exited before ready (${JSON.stringify(this.exited)}):\n${this.stderrTail()}`);
            try {
                const r = await request(`${this.apiUrl}/readyz`, { timeout: 1000 });
                if (r.status === 200) return this;
            } catch {
                // not listening yet
            }
            await sleep(50);
        }
        throw new Error(`osprey not ready on ${this.apiUrl} after ${this.opts.readyTimeoutMs ?? 15000 * SLOW} ms:\n${this.stderrTail()}`);
    }

    stderr() {
        return Buffer.concat(this.out).toString('utf8');
    }

    stderrTail(lines = 40) {
        return this.stderr().split('\n').slice(-lines).join('\n');
    }

    /**
     * SIGTERM, then waits for a clean exit. Returns {code, signal, timedOut, findings}:
     * findings lists sanitizer reports found in stderr. Escalates to SIGKILL after the
     * timeout (timedOut: true).
     */
    async stop(timeoutMs = 20000 * SLOW) {
        if (!this.child) return { code: null, signal: null, timedOut: false, findings: [] };
        if (!this.exited) this.child.kill('SIGTERM');
        let timedOut = false;
        const t = setTimeout(() => {
            timedOut = true;
            this.child.kill('SIGKILL');
        }, timeoutMs);
        const ex = await this.exitPromise;
        clearTimeout(t);
        return { ...ex, timedOut, findings: sanitizerFindings(this.stderr()) };
    }

    /** kill -9, and waits until the process is gone. */
    async kill() {
        if (!this.child) return;
        if (!this.exited) this.child.kill('SIGKILL');
        const keepAlive = setInterval(() => {}, 1000);
        await this.exitPromise;
        clearInterval(keepAlive);
    }

    /** A message for assertions: the result of stop() plus the log tail when it is not clean. */
    describeExit(r) {
        return `exit ${JSON.stringify({ code: r.code, signal: r.signal, timedOut: r.timedOut })}` +
            (r.findings?.length ? `\nsanitizer findings:\n${r.findings.join('\n')}` : '') +
            `\nlog ${this.logFile}:\n${this.stderrTail()}`;
    }
}

/** True when the stop() result is a clean exit: status 0 after SIGTERM, no sanitizer report. */
export const cleanExit = (r) => r.code === 0 && !r.timedOut && r.findings.length === 0;
