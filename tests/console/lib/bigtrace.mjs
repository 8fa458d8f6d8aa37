// One big seeded trace for the console's scrolling test: a root request fanning out over eight
// services into a tree of 10,000 spans up to 12 levels deep, with errors, events and the usual
// attributes, as an OTLP/JSON document; and, worked out from the tree this file built (not from
// the server), what the Trace page must show of it.
import { bool, documentOf, idMaker, int, SPAN_KIND, str } from '../../e2e/lib/genai-scale.mjs';
import { prng } from '../../e2e/lib/prng.mjs';

/** The services, the root's first; each with the operations its spans are named after. */
const SERVICES = [
    ['api-gateway', ['POST /api/v1/reindex', 'GET /api/v1/items/{id}', 'auth check', 'route']],
    ['auth', ['ValidateToken', 'LoadPolicy', 'redis GET session']],
    ['catalog', ['GetItem', 'SELECT items', 'render description', 'cache lookup']],
    ['inventory', ['Reserve', 'SELECT stock', 'UPDATE stock']],
    ['pricing', ['Quote', 'load rules', 'apply discounts']],
    ['search', ['IndexDocument', 'tokenize', 'POST /_bulk']],
    ['storage', ['PutObject', 'GetObject', 'fsync']],
    ['notifications', ['Publish', 'kafka produce', 'render template']],
];
const US = 1000n;
/** The attributes of a SERVER span. */
const serverAttributes = (error) => [str('http.request.method', 'POST'), int('http.response.status_code', error ? 500 : 200)];
/** Deepest depth a span may have (the root is depth 0), so the page shows MAX_DEPTH + 1 levels. */
const MAX_DEPTH = 11;
/** A new span hangs under one of the last RECENT spans with probability P_RECENT (deeper trees), else under any. */
const RECENT = 40;
const P_RECENT = 0.7;

/** An exception event at time ns (unix) with message. */
const exception = (ns, message) => ({
    timeUnixNano: String(ns),
    name: 'exception',
    attributes: [str('exception.type', 'TimeoutError'), str('exception.message', message)],
});

/**
 * A seeded trace of nSpans spans ending about now. Returns
 * {traceId, doc, spans, order, last, services, errors, depth, durationNs}: doc is the OTLP/JSON
 * request; spans [{spanId, parent, service, name, depth, start, end, error, children}] in the
 * order built (start and end unix ns as BigInt; children in the order built, which is also their
 * order by start); order the span indices depth first as the waterfall lists them (children by
 * start); last the index of the waterfall's last row; services the distinct service names;
 * errors the spans with status ERROR; depth the levels (deepest depth + 1).
 */
export function bigTrace({ nSpans = 10000, seed = 20261201, endNs = BigInt(Date.now()) * 1_000_000n } = {}) {
    const rand = prng(seed);
    const pick = (xs) => xs[Math.floor(rand() * xs.length)];
    const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
    const spanId = idMaker(rand, 8);
    const traceId = idMaker(rand, 16)();

    // The tree: each new span hangs under a recent span (mostly) or any earlier one, moved up to
    // an ancestor the more likely the deeper that is (most spans sit halfway down), never below MAX_DEPTH.
    const spans = [{ parent: -1, service: 0, depth: 0, children: [] }];
    for (let i = 1; i < nSpans; i++) {
        let p = rand() < P_RECENT ? between(Math.max(0, i - RECENT), i - 1) : between(0, i - 1);
        while (spans[p].depth >= MAX_DEPTH || rand() < spans[p].depth / MAX_DEPTH) p = spans[p].parent;
        const callsOut = rand() < 0.3;
        const service = callsOut ? between(1, SERVICES.length - 1) : spans[p].service;
        spans.push({ parent: p, service, depth: spans[p].depth + 1, children: [], server: callsOut });
        spans[p].children.push(i);
    }

    // Durations bottom up (children come after their parent): a leaf does some work; a parent
    // runs its children one after another, some alongside the previous one, with gaps between.
    const rel = new Array(nSpans).fill(0n); // start relative to the parent's start
    const dur = new Array(nSpans).fill(0n);
    for (let i = nSpans - 1; i >= 0; i--) {
        const s = spans[i];
        if (!s.children.length) {
            dur[i] = BigInt(Math.floor(30 + 3000 * rand() ** 3)) * US;
            continue;
        }
        let cursor = BigInt(between(5, 200)) * US;
        let prev = -1n;
        for (const c of s.children) {
            const start = prev >= 0n && rand() < 0.25 ? prev + BigInt(between(1, 40)) * US : cursor;
            rel[c] = start;
            prev = start;
            const end = start + dur[c] + BigInt(between(1, 60)) * US;
            if (end > cursor) cursor = end;
        }
        dur[i] = cursor + BigInt(between(5, 300)) * US;
    }

    // Absolute times top down, ids, names, errors, and the OTLP spans.
    const items = [];
    let errors = 0;
    for (const [i, s] of spans.entries()) {
        const [service, ops] = SERVICES[s.service];
        s.spanId = spanId();
        s.start = i === 0 ? endNs - dur[0] : spans[s.parent].start + rel[i];
        s.end = s.start + dur[i];
        s.service = service;
        s.name = i === 0 ? ops[0] : pick(ops.slice(1));
        s.error = i > 0 && rand() < 0.02;
        if (s.error) errors++;
        const kind = i === 0 || s.server ? SPAN_KIND.SERVER : s.children.length ? SPAN_KIND.INTERNAL : SPAN_KIND.CLIENT;
        items.push({
            service,
            span: {
                traceId,
                spanId: s.spanId,
                parentSpanId: i === 0 ? undefined : spans[s.parent].spanId,
                name: s.name,
                kind,
                startTimeUnixNano: String(s.start),
                endTimeUnixNano: String(s.end),
                attributes: [
                    str('peer.service', SERVICES[between(0, SERVICES.length - 1)][0]),
                    int('batch.item', i),
                    bool('cache.hit', rand() < 0.5),
                    ...(kind === SPAN_KIND.SERVER ? serverAttributes(s.error) : []),
                ],
                events: s.error ? [exception(s.end - US, `item ${i} timed out`)] : undefined,
                status: s.error ? { code: 2, message: `item ${i} timed out` } : undefined,
                flags: 1,
            },
        });
    }

    // The waterfall's rows: depth first, children by start (the order they were built in).
    const order = [];
    const stack = [0];
    while (stack.length) {
        const i = stack.pop();
        order.push(i);
        for (let k = spans[i].children.length - 1; k >= 0; k--) stack.push(spans[i].children[k]);
    }
    let last = 0;
    while (spans[last].children.length) last = spans[last].children.at(-1);
    let first = spans[0].start;
    let end = spans[0].end;
    for (const s of spans) {
        if (s.start < first) first = s.start;
        if (s.end > end) end = s.end;
    }
    return {
        traceId,
        doc: documentOf(items, { name: 'osprey.console.bigtrace', version: '1' }),
        spans,
        order,
        last,
        services: [...new Set(spans.map((s) => s.service))].sort(),
        errors,
        depth: Math.max(...spans.map((s) => s.depth)) + 1,
        durationNs: end - first,
    };
}
