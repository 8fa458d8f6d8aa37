// The console tests' harness: an osprey (OSPREY_BIN, default bin/osprey) that serves the console
// at its --http-addr, filled by `osprey demo`; Debian's Chromium driven by playwright-core; and
// a page helper that records everything that went wrong on a page (console errors, uncaught
// exceptions, failed API calls) and saves screenshots to build/console-artifacts/.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { getJson, request } from '../../e2e/lib/http.mjs';
import { BIN, cleanExit, REPO, SLOW, sanitizerFindings, sleep, startServer } from '../../e2e/lib/server.mjs';

export { BIN, cleanExit, REPO, SLOW, sleep };

/** The browser: Debian's chromium package (scripts/deps.sh test installs it). */
export const CHROMIUM = process.env.OSPREY_CHROMIUM || '/usr/bin/chromium';
/** Where screenshots go. */
export const ARTIFACTS = path.resolve(REPO, process.env.OSPREY_CONSOLE_ARTIFACTS || 'build/console-artifacts');
/** How often the server writes derived series in these tests (the default 15 s is too slow). */
const DERIVE_INTERVAL_S = 1;
/**
 * How long the demo runs by default: long enough for errors, sessions and agent runs of every
 * kind, short enough that the checks which wait for it to end (Console.settled()) start soon.
 */
const DEMO_SECONDS = 12;
/** The browser window. */
export const VIEWPORT = { width: 1400, height: 900 };

const demos = new Set(); // `osprey demo` processes still running
process.on('exit', () => {
    for (const c of demos) {
        try {
            c.kill('SIGKILL');
        } catch {
            // already gone
        }
    }
});

/** Resolves with p, or rejects after ms. */
export function within(p, ms, what) {
    let t;
    const timeout = new Promise((_, reject) => {
        t = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/**
 * Runs `osprey demo` against endpoint for seconds. Returns {child, done}: done resolves with
 * {code, signal, stdout, stderr, findings} once it exited.
 */
export function runDemo(endpoint, seconds) {
    const args = ['demo', '--endpoint', endpoint, '--duration', `${seconds}s`, '--rate', '5', '--delay-scale', '0.2'];
    const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    demos.add(child);
    child.unref();
    child.stdout.unref();
    child.stderr.unref();
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const done = new Promise((resolve) => {
        child.on('close', (code, signal) => {
            demos.delete(child);
            const stderr = Buffer.concat(err).toString('utf8');
            resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr, findings: sanitizerFindings(stderr) });
        });
    });
    return { child, done };
}

/**
 * Fails unless the server answers the console at `/`: index.html with the app's mount point.
 * A binary built without the console (or an old one) answers 404 there.
 */
export async function assertServesConsole(baseUrl) {
    const r = await request(`${baseUrl}/`, { timeout: 5000 });
    const type = String(r.headers['content-type'] ?? '');
    assert.ok(
        r.status === 200 && type.startsWith('text/html') && r.text().includes('id="app"'),
        `${BIN} does not serve the console at ${baseUrl}/ (status ${r.status}, ${type || 'no content type'}): ` +
            `build it with make (the console is embedded at build time), or set OSPREY_BIN`,
    );
}

/**
 * The running system of a test file: server, demo, the ids of things to open, the browser.
 * Create with startConsole(); stop with stop() in after().
 */
export class Console {
    constructor(server, demo) {
        this.server = server;
        this.demo = demo;
        /** The console's origin, e.g. http://127.0.0.1:41234. */
        this.baseUrl = server.apiUrl;
        /** Ids found in the data: service (a service name), traceId, sessionId. */
        this.ids = {};
        this.browser = null;
        this.settledPromise = null;
        this.rangePromise = null;
        /** When the demo started (unix ms). */
        this.startedMs = Date.now();
    }

    /** GET of an API path (with its query string) on the server, as JSON. */
    api(pathAndQuery) {
        return getJson(`${this.baseUrl}${pathAndQuery}`);
    }

    /**
     * Waits until the demo has exited and the server has written the derived series of its
     * last spans, so that the APIs' numbers no longer change (for checks that compare a page's
     * numbers with the API's). Asserts the demo ran cleanly.
     */
    settled() {
        this.settledPromise ??= (async () => {
            const r = await within(this.demo.done, 120000 * SLOW, 'osprey demo');
            assert.equal(r.code, 0, `osprey demo exited ${r.code} ${r.signal}:\n${r.stderr.slice(-3000)}`);
            assert.deepEqual(r.findings, []);
            await sleep(3 * DERIVE_INTERVAL_S * 1000 * SLOW);
        })();
        return this.settledPromise;
    }

    /**
     * After settled(): an absolute time range {from, to} in unix milliseconds that holds all the
     * demo's data, from a minute before the demo started to the moment the numbers settled. The
     * same for every caller, so that a page opened with ?from=&to= and the test's own API calls
     * over it see the same data.
     */
    settledRange() {
        this.rangePromise ??= this.settled().then(() => ({ from: this.startedMs - 60000, to: Date.now() }));
        return this.rangePromise;
    }

    /** Launches the browser (once). */
    async launch() {
        this.browser ??= await launchChromium();
        return this.browser;
    }

    /**
     * A fresh browser context (empty storage, light colour scheme unless told) with one page
     * on the console, recording its problems. opts: colorScheme, viewport.
     */
    async open(opts = {}) {
        return openConsolePage(await this.launch(), this.baseUrl, opts);
    }

    /** Closes the browser, stops the demo and the server (which must exit cleanly). */
    async stop() {
        await this.browser?.close().catch(() => {});
        this.demo.child.kill('SIGTERM');
        await within(this.demo.done, 20000 * SLOW, 'osprey demo after SIGTERM').catch(() => this.demo.child.kill('SIGKILL'));
        return this.server.stop();
    }
}

/** Debian's Chromium, headless, driven by playwright-core. */
export async function launchChromium() {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: run scripts/deps.sh test (installs Debian's chromium)`);
    return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/**
 * A fresh context of browser (empty storage, light colour scheme unless told) with one page on
 * the console at baseUrl, recording its problems. opts: colorScheme, viewport.
 */
export async function openConsolePage(browser, baseUrl, opts = {}) {
    const context = await browser.newContext({ baseURL: baseUrl, viewport: opts.viewport ?? VIEWPORT, colorScheme: opts.colorScheme ?? 'light' });
    return new ConsolePage(context, await context.newPage(), baseUrl);
}

/** For a test file with a server of its own: closes browser and stops server (either may be unset), which must exit cleanly. */
export async function closeAll(browser, server) {
    await browser?.close().catch(() => {});
    if (!server) return;
    const r = await server.stop();
    assert.ok(cleanExit(r), server.describeExit(r));
}

/**
 * Starts osprey (with derived series every second), checks that it serves the console, runs
 * `osprey demo` for demoSeconds (default DEMO_SECONDS) and waits until the derived series, traces and
 * sessions exist; the demo keeps running (see Console.settled()). Fills ids with a service
 * that has calls, a trace of it and a session. opts: name (for the log file), demoSeconds.
 */
export async function startConsole(opts = {}) {
    const server = await startServer({ name: opts.name ?? 'console', args: ['--derive-interval', `${DERIVE_INTERVAL_S}s`] });
    let demo;
    try {
        await assertServesConsole(server.apiUrl);
        demo = runDemo(server.otlpHttpUrl, opts.demoSeconds ?? DEMO_SECONDS);
        const c = new Console(server, demo);
        await waitForData(c, 60000 * SLOW);
        return c;
    } catch (e) {
        demo?.child.kill('SIGKILL');
        await server.kill();
        throw e;
    }
}

/** Polls the APIs until the demo's data is there (at most timeoutMs); fills c.ids. */
async function waitForData(c, timeoutMs) {
    let exited = null;
    c.demo.done.then((r) => (exited = r));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (Date.now() > deadline) throw new Error(`no demo data (services with calls, a trace, a session with turns) after ${timeoutMs} ms`);
        if (exited && exited.code !== 0) throw new Error(`osprey demo exited ${exited.code} ${exited.signal}:\n${exited.stderr.slice(-3000)}`);
        const ids = await findIds(c).catch(() => null); // 503 (store busy) and the like: try again
        if (ids) {
            c.ids = ids;
            return;
        }
        await sleep(250);
    }
}

/** {service, traceId, sessionId} once the APIs have each, else null. */
export async function findIds(c) {
    const { services } = await c.api('/api/v1/overview');
    const busy = services.filter((s) => s.calls > 0).sort((a, b) => b.calls - a.calls);
    if (busy.length === 0) return null;
    const service = busy.find((s) => s.name === 'api-gateway')?.name ?? busy[0].name;
    const { traces } = await c.api(`/api/v1/traces?service=${encodeURIComponent(service)}&limit=1`);
    // A session with turns: one without (only a plain span carries its id) is in the list but
    // GET /api/v1/sessions/{id} answers 404 for it.
    const { sessions } = await c.api('/api/v1/sessions?limit=100');
    const session = sessions.find((s) => s.turns > 0);
    if (traces.length === 0 || !session) return null;
    return { service, traceId: traces[0].traceId, sessionId: session.id };
}

/** A file name for a test: its name in lower case, runs of other characters as '-'. */
export const slug = (name) =>
    name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '')
        .slice(0, 100);

/**
 * One browser page on the console and what went wrong on it since it opened (or since the last
 * clearProblems()): console errors, uncaught exceptions, and API calls that failed (HTTP status
 * 400 or more, or no answer; calls the page aborted itself do not count).
 */
export class ConsolePage {
    constructor(context, page, baseUrl) {
        this.context = context;
        this.page = page;
        this.baseUrl = baseUrl;
        this.clearProblems();
        page.on('console', (m) => {
            if (m.type() === 'error') this.consoleErrors.push(`${m.text()} (${m.location().url || 'no source'})`);
        });
        page.on('pageerror', (e) => this.pageErrors.push(e.stack || String(e)));
        page.on('response', (r) => {
            if (isApi(r.url()) && r.status() >= 400) this.failedRequests.push(`${r.request().method()} ${r.url()}: HTTP ${r.status()}`);
        });
        page.on('requestfailed', (r) => {
            const why = r.failure()?.errorText ?? 'failed';
            if (isApi(r.url()) && !/ERR_ABORTED/.test(why)) this.failedRequests.push(`${r.method()} ${r.url()}: ${why}`);
        });
    }

    clearProblems() {
        this.consoleErrors = [];
        this.pageErrors = [];
        this.failedRequests = [];
    }

    /** Opens a console path (with its query), e.g. '/traces?from=now-15m'. */
    async goto(pathAndQuery) {
        const r = await this.page.goto(pathAndQuery, { waitUntil: 'load' });
        assert.equal(r?.status(), 200, `GET ${pathAndQuery}: status ${r?.status()}`);
        const type = r.headers()['content-type'] ?? '';
        const what = type || 'no content type';
        assert.ok(type.startsWith('text/html'), `GET ${pathAndQuery}: the server answered ${what}, not the console (a server route takes this path?)`);
        return r;
    }

    /** The current URL's path and query, e.g. '/traces?from=now-15m'. */
    location() {
        const u = new URL(this.page.url());
        return u.pathname + u.search;
    }

    /** The current URL's query parameters. */
    query() {
        return new URL(this.page.url()).searchParams;
    }

    /**
     * Waits until the page shows ready (a selector), the heading is there and nothing in the
     * content is loading any more. Returns performance.now() at that moment: milliseconds
     * since the navigation started.
     */
    async waitReady(ready, timeout = 20000 * SLOW) {
        const h = await this.page.waitForFunction(
            (sel) => {
                const main = document.querySelector('#main');
                if (!main || !document.querySelector('h1') || !document.querySelector(sel)) return false;
                return main.querySelector('.state-loading') ? false : performance.now();
            },
            ready,
            { timeout, polling: 'raf' },
        ).catch(async (e) => {
            const loading = await this.page.locator('#main .state-loading').allInnerTexts().catch(() => []);
            const still = loading.length ? `; still showing: ${loading.join(' | ')}` : '';
            throw new Error(`${this.location()}: not ready (${ready}${still}): ${e.message}`);
        });
        return h.jsonValue();
    }

    /** The time picker's label, e.g. 'Last 15 minutes' (without its icon). */
    async rangeLabel() {
        return (await this.page.locator('[data-testid="timepicker"]').innerText()).replace(/^\W+/, '');
    }

    /**
     * Waits (at most 5 s) until the page has had no request in flight for half a second, so
     * that calls a page makes after it showed its data are checked too.
     */
    async settle() {
        await this.page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
    }

    /** The texts of the error states (.state-error) on the page. */
    errorStates() {
        return this.page.locator('.state-error').allInnerTexts();
    }

    /**
     * Asserts that nothing went wrong: no console error, no uncaught exception, no failed API
     * call, no error state shown. what names the page in the message.
     */
    async assertClean(what = this.location()) {
        const errorStates = await this.errorStates();
        const problems = [
            ...this.pageErrors.map((e) => `page error: ${e}`),
            ...this.consoleErrors.map((e) => `console error: ${e}`),
            ...this.failedRequests.map((e) => `failed API call: ${e}`),
            ...errorStates.map((e) => `error state shown: ${e}`),
        ];
        assert.deepEqual(problems, [], `${what}: ${problems.length} problem(s):\n${problems.join('\n')}`);
    }

    /** Saves a full-page screenshot as build/console-artifacts/<slug of name>.png; returns its path. */
    async screenshot(name) {
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        const file = path.join(ARTIFACTS, `${slug(name)}.png`);
        await this.page.screenshot({ path: file, fullPage: true });
        return file;
    }

    close() {
        return this.context.close();
    }
}

/** True for the server's APIs (what the console fetches), by path. */
function isApi(url) {
    try {
        const p = new URL(url).pathname;
        return /^\/(api|loki)\//.test(p) || p === '/metrics' || p === '/readyz';
    } catch {
        return false;
    }
}
