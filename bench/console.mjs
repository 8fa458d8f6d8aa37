// The console's first render against a loaded server: each page of the console (the same list
// and ready selectors as the browser tests, tests/console/lib/pages.mjs) is opened REPS times in
// a fresh browser context (empty cache) in Debian's Chromium, and the time from the navigation's
// start until the page shows its data is measured, with the API calls it made on the way.
// bench/run.sh's console part starts the server, loads it (10 million spans by default, then a
// run of `osprey demo` for logs, metrics and sessions) and runs this; it prints a Markdown table.
//
// usage: node bench/console.mjs --url http://127.0.0.1:PORT [--reps 3] [--budget-ms 1000]
import { parseArgs } from 'node:util';

import { Console, findIds } from '../tests/console/lib/harness.mjs';
import { PAGES } from '../tests/console/lib/pages.mjs';

const { values: opt } = parseArgs({
    options: { url: { type: 'string' }, reps: { type: 'string', default: '3' }, 'budget-ms': { type: 'string', default: '1000' } },
});
if (!opt.url) {
    console.error('usage: node bench/console.mjs --url http://127.0.0.1:PORT [--reps 3] [--budget-ms 1000]');
    process.exit(2);
}
const REPS = Number(opt.reps);
const BUDGET_MS = Number(opt['budget-ms']);

/** In the page: the API calls made so far (count, bytes) and the slowest one's duration, ms. */
function apiTimings() {
    const calls = performance.getEntriesByType('resource').filter((e) => /\/(api|loki)\//.test(new URL(e.name).pathname));
    return {
        calls: calls.length,
        bytes: calls.reduce((n, e) => n + (e.encodedBodySize || 0), 0),
        slowest: calls.reduce((m, e) => Math.max(m, e.responseEnd - e.startTime), 0),
    };
}

/** One cold open of path: {readyMs, calls, bytes, slowest}, or {failed}. */
async function openOnce(c, page) {
    const cp = await c.open();
    try {
        await cp.goto(page.path(c.ids));
        const readyMs = await cp.waitReady(page.ready, 60000);
        return { readyMs, ...(await cp.page.evaluate(apiTimings)) };
    } catch (e) {
        return { failed: e.message.split('\n')[0] };
    } finally {
        await cp.close();
    }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main() {
    const c = new Console({ apiUrl: opt.url }, null);
    try {
        c.ids = await findIds(c);
        if (!c.ids) throw new Error(`${opt.url}: no service with calls, trace and session with turns to open`);
        console.log(`| page | first render, ms: median (min–max) of ${REPS} | under ${BUDGET_MS} ms | API calls | slowest call, ms | API bytes |`);
        console.log('|---|---|---|---|---|---|');
        let met = 0;
        for (const page of PAGES) {
            const runs = [];
            for (let k = 0; k < REPS; k++) runs.push(await openOnce(c, page));
            const failed = runs.find((r) => r.failed);
            if (failed) {
                console.log(`| ${page.name} | not measured: ${failed.failed} | – | – | – | – |`);
                continue;
            }
            const ready = runs.map((r) => r.readyMs);
            const worst = Math.max(...ready);
            met += worst < BUDGET_MS;
            const last = runs.at(-1);
            console.log(
                `| ${page.name} | ${median(ready).toFixed(0)} (${Math.min(...ready).toFixed(0)}–${worst.toFixed(0)}) | ` +
                    `${worst < BUDGET_MS ? 'yes' : '**no**'} | ${last.calls} | ${median(runs.map((r) => r.slowest)).toFixed(0)} | ` +
                    `${(last.bytes / 1024).toFixed(1)} KiB |`,
            );
        }
        console.log(`\n${met} of ${PAGES.length} pages rendered in under ${BUDGET_MS} ms in every run.`);
    } finally {
        await c.browser?.close().catch(() => {});
    }
}

await main();
