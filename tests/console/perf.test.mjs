// How heavy and how fast the console is. The bundle (every file of console/dist/assets, as the
// binary embeds it) must stay under 400 KB gzipped: that is asserted. The first render of each
// page (from the start of the navigation to the page's ready selector, in a fresh browser
// context, so with an empty cache) is only measured and printed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';

import { cleanExit, REPO, startConsole } from './lib/harness.mjs';
import { PAGES } from './lib/pages.mjs';

const ASSETS = path.join(REPO, 'console/dist/assets');
const BUDGET_BYTES = 400 * 1024;

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

test('bundle: every asset together is under 400 KB gzipped', () => {
    assert.ok(fs.existsSync(ASSETS), `${ASSETS} missing: build the console (make, or cd console && npx vite build)`);
    const rows = fs
        .readdirSync(ASSETS)
        .filter((f) => fs.statSync(path.join(ASSETS, f)).isFile())
        .sort()
        .map((f) => {
            const raw = fs.readFileSync(path.join(ASSETS, f));
            return { file: f, bytes: raw.length, gzip: zlib.gzipSync(raw, { level: 9 }).length };
        });
    assert.ok(rows.length > 0, `${ASSETS} is empty`);
    const total = rows.reduce((s, r) => s + r.gzip, 0);
    const width = Math.max(...rows.map((r) => r.file.length));
    console.log('console bundle (console/dist/assets):');
    for (const r of rows) console.log(`  ${r.file.padEnd(width)}  ${kb(r.bytes).padStart(10)}  ${kb(r.gzip).padStart(10)} gzipped`);
    const raw = rows.reduce((s, r) => s + r.bytes, 0);
    console.log(`  ${'total'.padEnd(width)}  ${kb(raw).padStart(10)}  ${kb(total).padStart(10)} gzipped (budget ${kb(BUDGET_BYTES)})`);
    assert.ok(total < BUDGET_BYTES, `the console's assets are ${kb(total)} gzipped, over the budget of ${kb(BUDGET_BYTES)}`);
});

describe('first render', () => {
    let c;

    before(async () => {
        c = await startConsole({ name: 'console-perf' });
    });

    after(async () => {
        if (!c) return;
        const r = await c.stop();
        assert.ok(cleanExit(r), c.server.describeExit(r));
    });

    test('each page: milliseconds from navigation start to ready (printed, not asserted)', async () => {
        const rows = [];
        for (const p of PAGES) {
            const url = p.path(c.ids);
            const cp = await c.open();
            let apiCalls = 0;
            cp.page.on('request', (r) => /^\/(api|loki)\//.test(new URL(r.url()).pathname) && apiCalls++);
            try {
                await cp.goto(url);
                const readyMs = await cp.waitReady(p.ready);
                const nav = await cp.page.evaluate(() => {
                    const n = performance.getEntriesByType('navigation')[0];
                    return { dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd };
                });
                rows.push({ name: p.name, readyMs, ...nav, apiCalls });
            } catch (e) {
                // Not timed; pages.test.mjs reports why.
                rows.push({ name: p.name, failed: e.message.split('\n')[0] });
            } finally {
                await cp.close();
            }
        }
        const width = Math.max(...rows.map((r) => r.name.length));
        const ms = (v) => v.toFixed(0).padStart(7);
        console.log('first render (ms since navigation start; fresh browser context, empty cache):');
        console.log(`  ${'page'.padEnd(width)}  ${'ready'.padStart(7)}  ${'DOM'.padStart(7)}  ${'load'.padStart(7)}  API calls`);
        for (const r of rows) {
            if (r.failed) console.log(`  ${r.name.padEnd(width)}  not measured: ${r.failed}`);
            else console.log(`  ${r.name.padEnd(width)}  ${ms(r.readyMs)}  ${ms(r.dcl)}  ${ms(r.load)}  ${r.apiCalls}`);
        }
    });
});
