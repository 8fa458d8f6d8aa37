// Long tables page: a bare server gets 250 LLM calls of 250 users (OTLP/JSON), and the Users
// page must show them 100 rows at a time in the API's figures, sorted by cost (the default),
// with the page in the URL (it survives a reload), Previous and Next, and a new filter or sort
// starting again at the first page. What each page must hold is worked out from the API's
// answer for the same range.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { getJson } from '../e2e/lib/http.mjs';
import { postTraces } from '../e2e/lib/raw.mjs';
import { startServer, until } from '../e2e/lib/server.mjs';
import { chatCall, documentOf, str } from '../e2e/lib/genai-scale.mjs';
import { assertServesConsole, closeAll, launchChromium, openConsolePage } from './lib/harness.mjs';

const USERS = 250;
const PAGE_ROWS = 100; // PAGE_ROWS in console/src/components/table.tsx

/** One LLM call of user i (its tokens, so its cost, grow with i), ending around endMs. */
const call = (i, endMs) =>
    chatCall(i + 1, endMs - i * 100, { input: 100 + 7 * i, output: 10 + i, attributes: [str('user.id', `user-${String(i).padStart(3, '0')}`)] });

/** In the page: the Users table's first-column texts, and the pager's status. */
function usersShown() {
    const table = [...document.querySelectorAll('#main table')].find((t) => t.querySelector('caption')?.innerText === 'Usage per user');
    const ids = [...(table?.querySelectorAll('tbody tr') ?? [])].map((tr) => tr.cells[0].innerText.trim());
    return { ids, status: document.querySelector('#main nav.pager [role="status"]')?.innerText ?? null };
}

describe('paged tables', () => {
    let server;
    let browser;
    let range;

    before(async () => {
        server = await startServer({ name: 'console-tables' });
        await assertServesConsole(server.apiUrl);
        const endMs = Date.now() - 60000;
        const r = await postTraces(server.otlpHttpUrl, documentOf(Array.from({ length: USERS }, (_, i) => call(i, endMs))));
        assert.equal(r.status, 200, `POST /v1/traces: ${r.message}`);
        range = { from: endMs - 10 * 60000, to: Date.now() + 60000 };
        await until(
            `${USERS} users indexed`,
            async () => {
                const doc = await getJson(`${server.apiUrl}/api/v1/users?limit=1000&start=${range.from / 1000}&end=${range.to / 1000}`).catch(() => ({}));
                return { ok: doc.users?.length === USERS, users: doc.users?.length };
            },
            20000,
        );
        browser = await launchChromium();
    });

    after(() => closeAll(browser, server));

    test('the Users page shows 250 users 100 at a time, the page in the URL', async () => {
        const { users } = await getJson(`${server.apiUrl}/api/v1/users?limit=1000&start=${range.from / 1000}&end=${range.to / 1000}`);
        // The page's default order: cost, highest first (ties by id as the API lists them).
        const byCost = users.map((u, k) => ({ ...u, k })).sort((a, b) => b.cost - a.cost || a.k - b.k).map((u) => u.id);
        const cp = await openConsolePage(browser, server.apiUrl);
        const url = `/users?from=${range.from}&to=${range.to}`;
        const page = cp.page;
        const expectPage = async (n, why) => {
            const first = (n - 1) * PAGE_ROWS;
            const ids = byCost.slice(first, first + PAGE_ROWS);
            const status = `Rows ${first + 1}–${first + ids.length} of ${USERS} (page ${n} of ${Math.ceil(USERS / PAGE_ROWS)})`;
            await page.waitForFunction((s) => document.querySelector('#main nav.pager [role="status"]')?.innerText === s, status, { timeout: 10000 }).catch(() => {});
            assert.deepEqual(await page.evaluate(usersShown), { ids, status }, `${url}: ${why}`);
        };
        try {
            await cp.goto(url);
            await cp.waitReady('#main table tbody a[href^="/sessions?"]');
            await expectPage(1, 'the first page');
            const pager = page.getByRole('navigation', { name: 'Pages of Usage per user' });
            assert.equal(await pager.getByRole('button', { name: '← Previous' }).isDisabled(), true);
            await pager.getByRole('button', { name: 'Next →' }).click();
            await expectPage(2, 'after Next');
            assert.equal(cp.query().get('usersPage'), '2');
            await page.reload();
            await cp.waitReady('#main table tbody a[href^="/sessions?"]');
            await expectPage(2, 'page 2 reloaded');
            await pager.getByRole('button', { name: 'Next →' }).click();
            await expectPage(3, 'the last page');
            assert.equal(await pager.getByRole('button', { name: 'Next →' }).isDisabled(), true);
            // A filter starts again at the first page ('1' matches more than a page of ids).
            await page.getByLabel('Filter').fill('1');
            const matching = byCost.filter((id) => id.includes('1'));
            assert.ok(matching.length > PAGE_ROWS);
            const status = `Rows 1–${PAGE_ROWS} of ${matching.length} (page 1 of ${Math.ceil(matching.length / PAGE_ROWS)})`;
            await page.waitForFunction((s) => document.querySelector('#main nav.pager [role="status"]')?.innerText === s, status, { timeout: 10000 }).catch(() => {});
            assert.deepEqual(await page.evaluate(usersShown), { ids: matching.slice(0, PAGE_ROWS), status }, `${url}: filtered`);
            assert.equal(cp.query().get('usersPage'), null);
            await cp.assertClean(url);
        } finally {
            await cp.screenshot('users-paged').catch(() => {});
            await cp.close();
        }
    });
});
