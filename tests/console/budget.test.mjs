// The AI call index's memory budget in the console: a server whose records of an earlier day
// are past --ai-index-memory (the day's files moved back a day, then today's records pushing
// them out) says on the Users, Sessions, Agents and LLM pages from when their lists count
// (the API's indexedFrom), and says nothing over a range the index holds whole.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { getJson } from '../e2e/lib/http.mjs';
import { postTraces } from '../e2e/lib/raw.mjs';
import { cleanExit, moveAiCallsBackADay, startServer, until } from '../e2e/lib/server.mjs';
import { chatCall, documentOf, str } from '../e2e/lib/genai-scale.mjs';
import { assertServesConsole, closeAll, launchChromium, openConsolePage } from './lib/harness.mjs';

const DAY_MS = 86400000;

async function post(server, first, n) {
    const endMs = Date.now() - 1000;
    const calls = Array.from({ length: n }, (_, i) =>
        chatCall(first + i, endMs - i * 10, { attributes: [str('user.id', `user-${first + i}`), str('session.id', `sess-${first + i}`)] }),
    );
    const r = await postTraces(server.otlpHttpUrl, documentOf(calls));
    assert.equal(r.status, 200, `POST /v1/traces: ${r.message}`);
}

describe('the AI call index past its memory budget', () => {
    let server;
    let browser;
    let midnight; // unix seconds: where the index starts once yesterday is out
    let wide; // {from, to} in unix ms: a range reaching into yesterday

    before(async () => {
        server = await startServer({ name: 'console-budget', args: ['--derive-interval', '1s'] });
        await assertServesConsole(server.apiUrl);
        await post(server, 1, 3);
        const users = () => getJson(`${server.apiUrl}/api/v1/users?start=${Math.floor(Date.now() / 1000) - 600}&end=${Math.ceil(Date.now() / 1000) + 60}`);
        await until('3 users indexed', async () => ({ ok: (await users()).users.length === 3 }), 20000);
        const r = await server.stop();
        assert.ok(cleanExit(r), server.describeExit(r));
        moveAiCallsBackADay(server.dataDir);
        server = await startServer({ name: 'console-budget-1', dataDir: server.dataDir, args: ['--derive-interval', '1s', '--ai-index-memory', '1'] });
        await post(server, 100, 2);
        midnight = Math.floor(Date.now() / DAY_MS) * 86400;
        wide = { from: (midnight - 3600) * 1000, to: Date.now() + 60000 };
        await until(
            'yesterday out of the index',
            async () => {
                const doc = await getJson(`${server.apiUrl}/api/v1/users?start=${wide.from / 1000}&end=${wide.to / 1000}`);
                return { ok: doc.indexedFrom === midnight && doc.users.length === 2, doc };
            },
            20000,
        );
        browser = await launchChromium();
    });

    after(() => closeAll(browser, server));

    test('the AI pages say from when they count, over a range reaching past the index', async () => {
        const cp = await openConsolePage(browser, server.apiUrl);
        try {
            for (const page of ['users', 'sessions', 'agents', 'llm']) {
                const url = `/${page}?from=${wide.from}&to=${wide.to}`;
                await cp.goto(url);
                await cp.waitReady('#main .indexed-from');
                const note = cp.page.locator('#main .indexed-from');
                assert.equal(await note.count(), 1, url);
                assert.match(await note.innerText(), /^Counting AI calls from .+ on: older days are past the AI call index's memory budget/, url);
                assert.equal(await note.locator('time').getAttribute('datetime'), new Date(midnight * 1000).toISOString(), url);
                await cp.assertClean(url);
                await cp.screenshot(`ai-index-budget-${page}`);
            }
            const within = `/users?from=${midnight * 1000}&to=${wide.to}`;
            await cp.goto(within);
            await cp.waitReady('#main table tbody a[href^="/sessions?"]');
            assert.equal(await cp.page.locator('#main .indexed-from').count(), 0, `${within}: the range is whole`);
            await cp.assertClean(within);
        } finally {
            await cp.screenshot('ai-index-budget').catch(() => {});
            await cp.close();
        }
    });
});
