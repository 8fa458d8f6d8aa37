// Scrolling a 10,000-span trace in the Trace page's waterfall. One seeded trace (lib/bigtrace.mjs:
// eight services, 12 levels, errors, events, attributes) is posted as OTLP/JSON to a bare server;
// the page must show its figures, keep only a few dozen rows in the DOM (virtualization), never
// show part of the view without rows, and, scrolled from top to bottom in 3 s, end on the trace's
// last span in depth-first order with every row whole again (rows are drawn lighter while the
// view jumps); collapsing and expanding by pointer and keyboard must show the
// rows the tree holds. All of it is worked out from the tree the test built. The frames of two
// scrolls (a fast wheel, then the whole trace in 3 s) are measured with Chromium's own tools
// (requestAnimationFrame timestamps in the page, the DevTools Protocol's Performance metrics and
// a Tracing session) and printed, never asserted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { getJson } from '../e2e/lib/http.mjs';
import { postTraces } from '../e2e/lib/raw.mjs';
import { startServer, until } from '../e2e/lib/server.mjs';
import { bigTrace } from './lib/bigtrace.mjs';
import { formatNumber, formatSeconds } from './lib/format.mjs';
import { assertServesConsole, closeAll, launchChromium, openConsolePage, SLOW } from './lib/harness.mjs';

const SPANS = 10000;
/** How long each measured scroll takes, ms. */
const SCROLL_MS = 3000;
/** The speed of the first scroll, px/s: a fast mouse wheel or trackpad fling. */
const FLING_PX_PER_S = 6000;
/** Rows the DOM may hold at any time: a virtualized list renders the view and some overscan. */
const MAX_DOM_ROWS = 500;
/** The waterfall's row height, px (ROW_HEIGHT in console/src/pages/trace/waterfall.tsx). */
const ROW_HEIGHT = 26;
/** One frame at 60 Hz, the rate headless Chromium's compositor asks for frames at. */
const FRAME_MS = 1000 / 60;
/**
 * Trace events of the frame pipeline counted in the scroll: the compositor's frame requests
 * (one per vsync), frames the page's main thread began, commits to the compositor and frames
 * drawn.
 */
const FRAME_EVENTS = ['BeginFrame', 'BeginMainThreadFrame', 'Commit', 'DrawFrame'];
const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline.frame'].join(',');

/** Nearest-rank quantile q of sorted numbers xs. */
const quantile = (xs, q) => xs[Math.max(Math.ceil(q * xs.length), 1) - 1];

/** The page's header facts: {label: text} of each <dt>/<dd> pair in the trace summary. */
function headerFacts(page) {
    return page.getByTestId('trace-header').evaluate((el) => {
        const pairs = [...el.querySelectorAll('dt')].map((dt) => [dt.innerText.trim(), dt.nextElementSibling?.innerText.trim() ?? '']);
        return Object.fromEntries(pairs);
    });
}

/** Performance.getMetrics as {name: value}. */
async function metrics(cdp) {
    const { metrics: m } = await cdp.send('Performance.getMetrics');
    return Object.fromEntries(m.map(({ name, value }) => [name, value]));
}

/**
 * Runs f while Chromium records a trace of TRACE_CATEGORIES; resolves {result, events} with
 * f's result and the trace events collected.
 */
async function traced(cdp, f) {
    const events = [];
    const onData = (e) => events.push(...e.value);
    cdp.on('Tracing.dataCollected', onData);
    await cdp.send('Tracing.start', { categories: TRACE_CATEGORIES, transferMode: 'ReportEvents' });
    let result;
    try {
        result = await f();
    } finally {
        const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
        await cdp.send('Tracing.end');
        await complete;
        cdp.off('Tracing.dataCollected', onData);
    }
    return { result, events };
}

/**
 * In the page: scrolls the waterfall from the top down by distance px (to the bottom when that is
 * less) over durationMs and records each animation frame until the end has been shown for three frames. The next scroll position is set
 * in a task after each frame (as a wheel or a scrollbar would, between frames), so each frame
 * shows the rows of its own position once the page kept up. Resolves {stamps (the frames'
 * requestAnimationFrame times), maxRows (the most rows in the DOM at a frame), uncovered (frames
 * whose view was not covered by rendered rows), longFrames (durations of long animation frames),
 * scrollTop, bottom}.
 */
function scrollAndMeasure({ durationMs, rowHeight, distance }) {
    const el = document.querySelector('[data-testid="waterfall"]');
    const rows = el.querySelector('.wf-rows');
    const [height, bottom] = [el.clientHeight, Math.min(distance, el.scrollHeight - el.clientHeight)];
    // Read without forcing a layout: the position set last, the rows' offsets from their styles.
    const yOf = (row) => Number(/translateY\((-?[\d.]+)px\)/.exec(row.style.transform)?.[1] ?? NaN);
    // Rows are recycled in place, so the DOM's order is not the rows' order: take their extent.
    const covered = (top) => {
        const ys = [...rows.children].map(yOf);
        return ys.length > 0 && Math.min(...ys) <= top && Math.max(...ys) + rowHeight >= top + height;
    };
    const longFrames = [];
    const observer = new PerformanceObserver((list) => longFrames.push(...list.getEntries().map((e) => e.duration)));
    try {
        observer.observe({ type: 'long-animation-frame' });
    } catch {
        // not supported: no long frames listed
    }
    const channel = new MessageChannel();
    let target = 0;
    let shown = el.scrollTop; // the position set last
    channel.port1.onmessage = () => {
        el.scrollTop = target;
        shown = target;
    };
    const stamps = [];
    let maxRows = 0;
    let uncovered = 0;
    let atBottom = 0;
    return new Promise((resolve) => {
        let t0 = null;
        const frame = (t) => {
            t0 ??= t;
            stamps.push(t);
            maxRows = Math.max(maxRows, rows.childElementCount);
            if (!covered(shown)) uncovered++;
            if (shown >= bottom && ++atBottom > 2) {
                observer.disconnect();
                channel.port1.close();
                resolve({ stamps, maxRows, uncovered, longFrames, scrollTop: el.scrollTop, bottom });
                return;
            }
            target = Math.round(Math.min(1, (t - t0) / durationMs) * bottom);
            channel.port2.postMessage(0);
            requestAnimationFrame(frame);
        };
        requestAnimationFrame(frame);
    });
}

/** In the page: the span ids of the waterfall's rows in the DOM, top to bottom as drawn. */
function rowIdsDrawn() {
    const rows = [...document.querySelectorAll('[data-testid="waterfall"] .wf-row')];
    return rows
        .map((row) => [row.getBoundingClientRect().top, row.dataset.spanId])
        .sort((a, b) => a[0] - b[0])
        .map(([, id]) => id);
}

/** In the page: whether the row of lastId lies wholly inside the scroller's view, and its service, name and duration. */
function rowsAtEnd(lastId) {
    const el = document.querySelector('[data-testid="waterfall"]');
    const view = el.getBoundingClientRect();
    const last = el.querySelector(`[data-span-id="${lastId}"]`);
    const r = last?.getBoundingClientRect();
    return {
        lastInView: !!r && r.height > 0 && r.top >= view.top - 0.5 && r.bottom <= view.bottom + 0.5,
        lastText: last ? ['.wf-service', '.wf-op', '.wf-duration'].map((sel) => last.querySelector(sel)?.innerText) : null,
    };
}

/** How many of FRAME_EVENTS the trace holds while the page's animation frames ran: {name: count}. */
function pipelineCounts(events) {
    const fired = events.filter((e) => e.name === 'FireAnimationFrame' && e.ph === 'X');
    const from = Math.min(...fired.map((e) => e.ts));
    const to = Math.max(...fired.map((e) => e.ts + (e.dur ?? 0)));
    const count = Object.fromEntries(FRAME_EVENTS.map((n) => [n, 0]));
    for (const e of events) {
        // Instant events and the opening half of async ones; each stage once per frame.
        if (e.name in count && ['I', 'X', 'b', 'B'].includes(e.ph) && e.ts >= from && e.ts <= to) count[e.name]++;
    }
    return count;
}

/**
 * The figures of one scroll as lines to print. m: scrollAndMeasure's result; before, after and
 * collected: Performance metrics before the scroll, after it and after a garbage collection;
 * events: the trace of the scroll.
 */
function report({ what, m, before, after, collected, events }) {
    const intervals = m.stamps.slice(1).map((t, k) => t - m.stamps[k]);
    const sorted = [...intervals].sort((a, b) => a - b);
    const ms = (v) => `${v.toFixed(1)} ms`;
    const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length;
    // Intervals are whole vsyncs give or take some jitter: one of n frames lasts n - 0.5 to n + 0.5 frames.
    const frames = intervals.map((v) => Math.max(1, Math.round(v / FRAME_MS)));
    const longer = (n) => frames.filter((f) => f > n).length;
    const dropped = frames.reduce((a, f) => a + f - 1, 0);
    const delta = (k) => after[k] - before[k];
    const c = pipelineCounts(events);
    const longest = m.longFrames.length ? `, longest ${ms(Math.max(...m.longFrames))}` : '';
    return [
        `${what}:`,
        `  frames rendered (requestAnimationFrame): ${m.stamps.length} in ${ms(m.stamps.at(-1) - m.stamps[0])}`,
        `  frame interval: mean ${ms(mean)}, p50 ${ms(quantile(sorted, 0.5))}, p95 ${ms(quantile(sorted, 0.95))}, max ${ms(sorted.at(-1))}`,
        `  intervals longer than ${ms(FRAME_MS)}: ${longer(1)}, longer than ${ms(2 * FRAME_MS)}: ${longer(2)}; frames dropped: ${dropped}`,
        `  Chromium's trace: ${c.BeginFrame} frames asked for (BeginFrame), ${c.BeginMainThreadFrame} begun by the page's main thread, ` +
            `${c.Commit} committed, ${c.DrawFrame} drawn (${c.BeginFrame - c.DrawFrame} not drawn)`,
        `  long animation frames (over 50 ms): ${m.longFrames.length}${longest}`,
        `  frames whose view was not covered by rendered rows: ${m.uncovered}`,
        `  main thread (Performance.getMetrics): script ${ms(delta('ScriptDuration') * 1000)}, ` +
            `style ${ms(delta('RecalcStyleDuration') * 1000)} (${delta('RecalcStyleCount')} times), ` +
            `layout ${ms(delta('LayoutDuration') * 1000)} (${delta('LayoutCount')} times), ` +
            `tasks ${ms(delta('TaskDuration') * 1000)} for ${ms(delta('ThreadTime') * 1000)} of CPU time`,
        `  DOM: at most ${m.maxRows} rows at a frame (of ${formatNumber(SPANS)} spans); ` +
            `${collected.Nodes} nodes after a garbage collection (${before.Nodes} before the scroll), ` +
            `JS heap ${(collected.JSHeapUsedSize / 2 ** 20).toFixed(1)} MiB`,
    ];
}

describe('scrolling a 10,000-span trace', () => {
    let server;
    let browser;
    let trace;

    before(async () => {
        trace = bigTrace({ nSpans: SPANS });
        server = await startServer({ name: 'console-scroll' });
        await assertServesConsole(server.apiUrl);
        const r = await postTraces(server.otlpHttpUrl, trace.doc, { timeout: 60000 * SLOW });
        assert.equal(r.status, 200, `POST /v1/traces: ${r.message}`);
        assert.equal(r.partial, null, 'POST /v1/traces: partial success');
        await until(
            `all ${SPANS} spans of trace ${trace.traceId} stored`,
            async () => {
                const doc = await getJson(`${server.apiUrl}/api/v1/traces/${trace.traceId}`).catch(() => ({}));
                const scopes = (doc.resourceSpans ?? []).flatMap((rs) => rs.scopeSpans ?? []);
                const n = scopes.reduce((k, ss) => k + (ss.spans?.length ?? 0), 0);
                return { ok: n === SPANS, spans: n };
            },
            20000 * SLOW,
        );
        browser = await launchChromium();
    });

    after(() => closeAll(browser, server));

    test('the waterfall keeps a few hundred rows in the DOM and scrolls to the last span (frame figures printed)', async () => {
        const cp = await openConsolePage(browser, server.apiUrl);
        const url = `/traces/${trace.traceId}`;
        try {
            await cp.goto(url);
            const readyMs = await cp.waitReady('#main [data-testid="waterfall"] .wf-row', 30000 * SLOW);
            const page = cp.page;

            // What the header and the tree say, against the trace as built.
            const shown = await headerFacts(page);
            assert.deepEqual(
                { Spans: shown.Spans, Services: shown.Services, Errors: shown.Errors, Depth: shown.Depth, Duration: shown.Duration },
                {
                    Spans: formatNumber(SPANS),
                    Services: formatNumber(trace.services.length),
                    Errors: formatNumber(trace.errors),
                    Depth: formatNumber(trace.depth),
                    Duration: formatSeconds(Number(trace.durationNs) / 1e9),
                },
                `${url}: header vs the trace sent`,
            );
            const scroller = page.getByTestId('waterfall');
            const label = `Spans of the trace (${SPANS} shown of ${SPANS})`;
            assert.equal(await scroller.getAttribute('aria-label'), label, `${url}: the tree's label`);
            const firstIds = await page.evaluate(rowIdsDrawn);
            assert.ok(firstIds.length > 0 && firstIds.length < MAX_DOM_ROWS, `${url}: ${firstIds.length} rows in the DOM before scrolling`);
            const idsOf = (order) => order.map((i) => trace.spans[i].spanId);
            assert.deepEqual(firstIds, idsOf(trace.order.slice(0, firstIds.length)), `${url}: the first rows, depth first`);

            // The scrolls, measured: a fling at wheel speed, then the whole trace in the same time
            // (a scrollbar dragged from top to bottom), where every frame shows rows all new.
            console.log(`the Trace page of a ${formatNumber(SPANS)}-span trace was ready ${readyMs.toFixed(0)} ms after navigation start`);
            const cdp = await cp.context.newCDPSession(page);
            await cdp.send('Performance.enable');
            const measure = async (what, distance) => {
                const before = await metrics(cdp);
                const scroll = () => page.evaluate(scrollAndMeasure, { durationMs: SCROLL_MS, rowHeight: ROW_HEIGHT, distance });
                const { result: m, events } = await traced(cdp, scroll);
                const after = await metrics(cdp);
                await cdp.send('HeapProfiler.collectGarbage');
                const collected = await metrics(cdp);
                for (const line of report({ what, m, before, after, collected, events })) console.log(line);
                assert.ok(m.maxRows < MAX_DOM_ROWS, `${url}: ${m.maxRows} rows in the DOM at one frame while scrolling`);
                assert.equal(m.uncovered, 0, `${url}: ${m.uncovered} frames showed part of the view with no rows`);
                return m;
            };
            const fling = (FLING_PX_PER_S * SCROLL_MS) / 1000;
            await measure(`scroll down ${formatNumber(fling)} px in ${SCROLL_MS} ms (${FLING_PX_PER_S} px/s, a fast wheel)`, fling);
            const m = await measure(`scroll from top to bottom (${formatNumber(SPANS * ROW_HEIGHT)} px) in ${SCROLL_MS} ms`, Infinity);

            // Virtualized all the way down, and at the bottom the trace's last span, in view.
            assert.equal(m.scrollTop, m.bottom, `${url}: the scroll did not reach the bottom`);
            const last = trace.spans[trace.last];
            const endIds = await page.evaluate(rowIdsDrawn);
            assert.ok(endIds.length < MAX_DOM_ROWS, `${url}: ${endIds.length} rows in the DOM at the bottom`);
            assert.deepEqual(endIds, idsOf(trace.order.slice(-endIds.length)), `${url}: the last rows, depth first`);
            // Rows drawn light while the view jumped (no duration labels) are whole again once it rests.
            const whole = () => {
                const rows = document.querySelectorAll('[data-testid="waterfall"] .wf-row');
                return rows.length > 0 && [...rows].every((r) => r.querySelector('.wf-duration'));
            };
            await page.waitForFunction(whole, null, { timeout: 5000 }).catch(() => {});
            assert.ok(await page.evaluate(whole), `${url}: rows still drawn light after the scroll ended`);
            const end = await page.evaluate(rowsAtEnd, last.spanId);
            const duration = formatSeconds(Number(last.end - last.start) / 1e9);
            assert.deepEqual(end.lastText, [last.service, last.name, duration], `${url}: the last row's service, name and duration`);
            assert.ok(end.lastInView, `${url}: the last span's row (${last.spanId}) is not wholly in view at the bottom`);
            await cp.assertClean(url);
        } finally {
            await cp.screenshot('scroll-10000-spans').catch(() => {});
            await cp.close();
        }
    });

    test('collapsing and expanding subtrees, by pointer and by keyboard, shows the rows the tree holds', async () => {
        const cp = await openConsolePage(browser, server.apiUrl);
        const url = `/traces/${trace.traceId}`;
        const size = (i) => 1 + trace.spans[i].children.reduce((n, c) => n + size(c), 0);
        try {
            await cp.goto(url);
            await cp.waitReady('#main [data-testid="waterfall"] .wf-row', 30000 * SLOW);
            const scroller = cp.page.getByTestId('waterfall');
            const shownRows = async (n, why) =>
                assert.equal(await scroller.getAttribute('aria-label'), `Spans of the trace (${n} shown of ${SPANS})`, `${url}: ${why}`);
            const row = (i) => scroller.locator(`[data-span-id="${trace.spans[i].spanId}"]`);

            // The root's first child with children of its own, collapsed with its toggle.
            const child = trace.spans[0].children.find((i) => trace.spans[i].children.length > 0);
            await row(child).locator('.wf-toggle').click();
            await shownRows(SPANS - size(child) + 1, `after collapsing span ${trace.spans[child].spanId}`);
            assert.equal(await row(child).getAttribute('aria-expanded'), 'false');
            assert.equal(await row(child).locator('.wf-hidden-count').innerText(), `+${trace.spans[child].children.length}`);

            // The root, selected and collapsed with the left arrow, then opened with the right one.
            await row(0).click();
            assert.equal(await row(0).getAttribute('aria-selected'), 'true');
            await scroller.press('ArrowLeft');
            await shownRows(1, 'after collapsing the root');
            await scroller.press('ArrowRight');
            await shownRows(SPANS - size(child) + 1, 'after opening the root again (its collapsed child stays so)');
            // Down to the collapsed child's row (the rows between are the root's earlier subtrees), opened with Enter.
            const before = trace.spans[0].children.slice(0, trace.spans[0].children.indexOf(child)).reduce((n, c) => n + size(c), 0);
            for (let k = 0; k <= before; k++) await scroller.press('ArrowDown');
            assert.equal(await row(child).getAttribute('aria-selected'), 'true', `${url}: the selection after ${before + 1} steps down`);
            await scroller.press('Enter');
            await shownRows(SPANS, 'after opening the child again');
            await cp.assertClean(url);
        } finally {
            await cp.close();
        }
    });
});
