// The console in a real browser, served by the osprey binary with the demo's data: every page
// loads without console errors, uncaught exceptions, failed API calls or error states, has its
// heading and leaves a screenshot in build/console-artifacts/; the frame around the pages
// (sidebar, header, time picker, auto-refresh, theme) works and keeps its state in the URL or
// in local storage across reloads. Page-specific checks go into lib/pages.mjs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanExit, startConsole } from './lib/harness.mjs';
import { NAV, PAGES } from './lib/pages.mjs';

describe('console pages', () => {
    let c;

    before(async () => {
        c = await startConsole({ name: 'console-pages' });
    });

    after(async () => {
        if (!c) return;
        const r = await c.stop();
        assert.ok(cleanExit(r), c.server.describeExit(r));
    });

    /** Runs fn with a fresh page; screenshots it under name (also when fn fails) and closes it. */
    async function withPage(name, fn, opts) {
        const cp = await c.open(opts);
        try {
            await fn(cp);
        } finally {
            await cp.screenshot(name).catch(() => {});
            await cp.close();
        }
    }

    for (const p of PAGES) {
        test(`${p.name}: loads with its heading, no errors and no error state`, async () => {
            await withPage(`page-${p.name}`, async (cp) => {
                const url = p.path(c.ids);
                await cp.goto(url);
                await cp.waitReady(p.ready);
                await cp.settle();
                assert.equal(await cp.page.locator('h1').innerText(), p.title, `${url}: heading`);
                assert.equal(await cp.page.title(), `${p.title} · Osprey`, `${url}: document title`);
                assert.equal(new URL(cp.page.url()).pathname, url, `${url}: the page moved to another path`);
                await cp.assertClean(url);
                if (p.check) {
                    await p.check(cp, c);
                    await cp.settle();
                    await cp.assertClean(url);
                }
            });
        });
    }

    test('/ goes to /services, keeping the query', async () => {
        await withPage('root', async (cp) => {
            await cp.goto('/?from=now-15m');
            await cp.page.waitForURL((u) => u.pathname === '/services' && u.search === '?from=now-15m');
            await cp.waitReady('#main > *');
            assert.equal(await cp.page.locator('h1').innerText(), 'Services');
            await cp.assertClean();
        });
    });

    test('frame: sidebar, heading and header controls', async () => {
        await withPage('frame', async (cp) => {
            await cp.goto('/services?from=now-15m');
            await cp.waitReady('#main > *');
            const page = cp.page;
            const nav = page.getByRole('navigation', { name: 'Main' });
            const links = nav.getByRole('link');
            assert.deepEqual(await links.allInnerTexts(), NAV.map(([, label]) => label));
            for (const [i, [to]] of NAV.entries()) {
                assert.equal(await links.nth(i).getAttribute('href'), `${to}?from=now-15m`, `sidebar link ${to} keeps the time range`);
            }
            assert.equal(await nav.locator('[aria-current="page"]').innerText(), 'Services');
            assert.equal(await page.locator('h1').innerText(), 'Services');
            assert.ok(await page.getByRole('link', { name: 'Skip to content' }).count(), 'no skip link');
            assert.ok(await page.getByRole('button', { name: 'Last 15 minutes' }).isVisible(), 'time picker button');
            assert.ok(await page.getByLabel('Auto-refresh').isVisible(), 'auto-refresh select');
            assert.ok(await page.getByRole('button', { name: /^Switch to (dark|light) theme$/ }).isVisible(), 'theme switch');
            await cp.assertClean();
        });
    });

    test('time picker: opens, and "Last 15 minutes" updates the URL and the label', async () => {
        await withPage('time-picker', async (cp) => {
            const page = cp.page;
            await cp.goto('/traces');
            await cp.waitReady('#main > *');
            const button = page.locator('[data-testid="timepicker"]');
            assert.equal(await cp.rangeLabel(), 'Last 1 hour', 'default range');
            await button.click();
            const dialog = page.getByRole('dialog', { name: 'Time range' });
            await dialog.waitFor();
            assert.equal(await button.getAttribute('aria-expanded'), 'true');
            await cp.screenshot('time-picker-open');
            await dialog.getByRole('button', { name: 'Last 15 minutes' }).click();
            await page.waitForURL((u) => u.searchParams.get('from') === 'now-15m');
            assert.equal(cp.query().get('to'), 'now');
            assert.equal(new URL(page.url()).pathname, '/traces');
            await dialog.waitFor({ state: 'detached' });
            assert.equal(await cp.rangeLabel(), 'Last 15 minutes');
            // A new history entry: Back returns to the previous range.
            await page.goBack();
            await page.waitForURL((u) => !u.searchParams.has('from'));
            assert.equal(await cp.rangeLabel(), 'Last 1 hour');
            await cp.waitReady('#main > *');
            await cp.assertClean();
        });
    });

    test('auto-refresh: choosing an interval puts it in the URL', async () => {
        await withPage('auto-refresh', async (cp) => {
            await cp.goto('/services?from=now-15m');
            await cp.waitReady('#main > *');
            await cp.page.getByLabel('Auto-refresh').selectOption('30s');
            await cp.page.waitForURL((u) => u.searchParams.get('refresh') === '30s');
            assert.equal(cp.query().get('from'), 'now-15m');
            await cp.page.getByLabel('Auto-refresh').selectOption('off');
            await cp.page.waitForURL((u) => !u.searchParams.has('refresh'));
            await cp.assertClean();
        });
    });

    test('sidebar: clicking through every page keeps the time range, without reloading', async () => {
        await withPage('sidebar', async (cp) => {
            const page = cp.page;
            await cp.goto('/services?from=now-15m');
            await cp.waitReady('#main > *');
            await page.evaluate(() => (window.__sameDocument = true));
            const nav = page.getByRole('navigation', { name: 'Main' });
            for (const [to, label] of [...NAV.slice(1), NAV[0]]) {
                await nav.getByRole('link', { name: label, exact: true }).click();
                await page.waitForURL((u) => u.pathname === to);
                assert.equal(cp.query().get('from'), 'now-15m', `${to}: time range lost`);
                await cp.waitReady('#main > *');
                assert.equal(await page.locator('h1').innerText(), label, `${to}: heading`);
                assert.equal(await nav.locator('[aria-current="page"]').innerText(), label, `${to}: current link`);
                assert.equal(await page.evaluate(() => window.__sameDocument), true, `${to}: the click reloaded the page`);
                await cp.assertClean(to);
            }
        });
    });

    test('keyboard: "g" then a letter goes to a page', async () => {
        await withPage('shortcuts', async (cp) => {
            await cp.goto('/services?from=now-15m');
            await cp.waitReady('#main > *');
            await cp.page.keyboard.press('g');
            await cp.page.keyboard.press('t');
            await cp.page.waitForURL((u) => u.pathname === '/traces' && u.searchParams.get('from') === 'now-15m');
            assert.equal(await cp.page.locator('h1').innerText(), 'Traces');
            await cp.assertClean();
        });
    });

    test('deep links: a reload shows the same page with the same query', async () => {
        await withPage('deep-link', async (cp) => {
            const service = encodeURIComponent(c.ids.service);
            for (const url of ['/traces?from=now-15m', `/traces/${c.ids.traceId}?from=now-15m`, `/services/${service}?from=now-15m&to=now`]) {
                await cp.goto(url);
                await cp.waitReady('#main > *');
                const heading = await cp.page.locator('h1').innerText();
                await cp.page.reload({ waitUntil: 'load' });
                assert.equal(cp.location(), url, 'the reload changed the URL');
                await cp.waitReady('#main > *');
                assert.equal(await cp.page.locator('h1').innerText(), heading, `${url}: heading after the reload`);
                assert.equal(await cp.rangeLabel(), 'Last 15 minutes', `${url}: time range`);
                await cp.assertClean(url);
            }
        });
    });

    test('theme: the switch changes data-theme and the choice survives a reload', async () => {
        await withPage('theme', async (cp) => {
            const page = cp.page;
            const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
            await cp.goto('/services');
            await cp.waitReady('#main > *');
            assert.equal(await theme(), 'light', 'the system colour scheme (light) by default');
            await page.getByRole('button', { name: 'Switch to dark theme' }).click();
            assert.equal(await theme(), 'dark');
            await page.reload({ waitUntil: 'load' });
            await cp.waitReady('#main > *');
            assert.equal(await theme(), 'dark', 'the theme after a reload');
            assert.ok(await page.getByRole('button', { name: 'Switch to light theme' }).isVisible());
            await cp.screenshot('theme-dark');
            await page.getByRole('button', { name: 'Switch to light theme' }).click();
            assert.equal(await theme(), 'light');
            await page.reload({ waitUntil: 'load' });
            assert.equal(await theme(), 'light', 'the theme after a second reload');
            await cp.assertClean();
        });
    });
});
