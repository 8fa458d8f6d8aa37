// Accessibility of the console: axe-core (tests/console/package.json pins it) runs over the whole
// document of every page (lib/pages.mjs PAGES), in the light and the dark colour scheme, with the
// WCAG 2.0 and 2.1 level A and AA rules (colour contrast included), and once more on the extra
// content two pages show on demand: a span's details on the Trace page, an expanded line on the
// Logs page. Any violation fails the test, whose message names each rule broken, its impact, what
// it asks for and the first elements breaking it (with the colours measured, for contrast).
// axe does not look into <canvas> (uPlot's charts, the flame graph, the trace scatter): their
// colours come from the same theme variables (components/chart.tsx, pages/trace/colours.ts).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';

import { cleanExit, startConsole } from './lib/harness.mjs';
import { PAGES } from './lib/pages.mjs';

/** axe-core's browser bundle, injected into each page. */
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** The rules run: WCAG 2.0 and 2.1, levels A and AA (color-contrast is one of wcag2aa's). */
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
/** The colour schemes the browser reports; with empty storage the console follows it (components/timepicker.tsx). */
const SCHEMES = ['light', 'dark'];
/** Offending elements named per violation in a failure message. */
const TARGETS_SHOWN = 5;

/** Runs axe over the page's whole document; resolves with its violations. */
async function axeViolations(page) {
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
    return page.evaluate(
        (tags) =>
            window.axe
                .run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
                .then((r) => r.violations.map(({ id, impact, help, nodes }) => ({ id, impact, help, nodes: nodes.map(({ target, any }) => ({ target, data: any[0]?.data })) }))),
        TAGS,
    );
}

/** One offending element: its selector, and for a contrast failure the colours axe measured. */
function describeNode({ target, data }) {
    const where = target.map((t) => (Array.isArray(t) ? t.join(' >> ') : t)).join(' | ');
    if (data && typeof data === 'object' && data.fgColor) {
        const size = data.fontSize ? `, ${data.fontSize} ${data.fontWeight ?? ''}`.trimEnd() : '';
        return `${where}: ${data.fgColor} on ${data.bgColor}, ${data.contrastRatio}:1 (needs ${data.expectedContrastRatio}${size})`;
    }
    return where;
}

/** A failure message listing every violation. */
function report(what, violations) {
    const lines = [`${what}: ${violations.length} accessibility violation(s):`];
    for (const v of violations) {
        lines.push(`- ${v.id} (${v.impact}): ${v.help}; ${v.nodes.length} element(s)`);
        for (const n of v.nodes.slice(0, TARGETS_SHOWN)) lines.push(`    ${describeNode(n)}`);
        if (v.nodes.length > TARGETS_SHOWN) lines.push(`    ... and ${v.nodes.length - TARGETS_SHOWN} more`);
    }
    return lines.join('\n');
}

describe('console accessibility (axe-core, WCAG 2.1 A and AA)', () => {
    let c;

    before(async () => {
        c = await startConsole({ name: 'console-a11y' });
    });

    after(async () => {
        if (!c) return;
        const r = await c.stop();
        assert.ok(cleanExit(r), c.server.describeExit(r));
    });

    /**
     * Opens path in a fresh page in scheme, waits until it shows ready and its calls ended, runs
     * more(cp) (more to show), then axe; fails with the violations (a screenshot kept then).
     */
    async function check(name, scheme, path, ready, more) {
        const cp = await c.open({ colorScheme: scheme });
        let failed = true;
        try {
            await cp.goto(path);
            await cp.waitReady(ready);
            assert.equal(await cp.page.evaluate(() => document.documentElement.dataset.theme), scheme, `${path}: theme`);
            if (more) await more(cp);
            await cp.settle();
            const violations = await axeViolations(cp.page);
            assert.deepEqual(violations.map((v) => v.id), [], report(`${path} (${scheme})`, violations));
            await cp.assertClean(path);
            failed = false;
        } finally {
            if (failed) await cp.screenshot(`a11y-${name}-${scheme}`).catch(() => {});
            await cp.close();
        }
    }

    for (const scheme of SCHEMES) {
        for (const p of PAGES) {
            test(`${p.name} (${scheme})`, () => check(p.name, scheme, p.path(c.ids), p.ready));
        }

        const trace = PAGES.find((p) => p.name === 'trace');
        test(`trace with a span's details (${scheme})`, () =>
            check('trace-span', scheme, trace.path(c.ids), trace.ready, async (cp) => {
                await cp.page.locator('[data-testid="waterfall"] [role="treeitem"] .wf-op').first().click();
                await cp.page.getByTestId('span-details').waitFor();
            }));

        const logs = PAGES.find((p) => p.name === 'logs');
        test(`logs with a line expanded (${scheme})`, () =>
            check('logs-line', scheme, logs.path(c.ids), logs.ready, async (cp) => {
                const expand = cp.page.locator('#main table tbody button[aria-expanded]').first();
                await expand.click();
                await cp.page.waitForFunction(() => document.querySelector('#main table tbody button[aria-expanded="true"]') && document.querySelector('#main tr.log-detail'));
            }));
    }
});
