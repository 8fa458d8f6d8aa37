// Helpers of the scale tests (golden-scale.test.mjs): the built-in price table read from
// config/prices.yaml and looked up as docs/pricing.md says, OTLP attributes, seeded ids and
// shuffles, and OTLP/HTTP protobuf requests of many spans.
import fs from 'node:fs';
import path from 'node:path';

import { request } from './http.mjs';
import { decodeExportResponse, encodeTraces } from './otlp.mjs';
import { REPO, SLOW } from './server.mjs';

/** The price file compiled into the binary (docs/pricing.md, "The built-in table"). */
export const BUILTIN_PRICES = path.join(REPO, 'config/prices.yaml');

/**
 * The entries of a price file in the format of docs/pricing.md (the subset the built-in
 * file uses: one `- model:` line opening each entry, `key: value` lines, `#` comments), as
 * [{model, provider, input, output, cacheRead, cacheWrite, effectiveMs}] in USD per million
 * tokens; cache prices default to the input price, a missing date to all time.
 */
export function parsePrices(text) {
    const entries = [];
    for (const raw of text.split('\n')) {
        const line = raw.replace(/(^|\s)#.*$/, '').trimEnd();
        if (!line.trim() || line.trim() === 'prices:') continue;
        const m = /^\s*(- +)?([a-z_]+):\s*(.*)$/.exec(line);
        if (!m || (!m[1] && !entries.length)) throw new Error(`prices: cannot read line ${JSON.stringify(raw)}`);
        if (m[1]) entries.push({});
        entries.at(-1)[m[2]] = m[3].replace(/^"(.*)"$/, '$1');
    }
    return entries.map((e) => ({
        model: e.model,
        provider: e.provider,
        input: Number(e.input),
        output: Number(e.output),
        cacheRead: Number(e.cache_read ?? e.input),
        cacheWrite: Number(e.cache_write ?? e.input),
        effectiveMs: e.effective ? Date.parse(`${e.effective}T00:00:00Z`) : -Infinity,
    }));
}

/** The built-in price table. */
export const builtinPrices = () => parsePrices(fs.readFileSync(BUILTIN_PRICES, 'utf8'));

const globOf = (pattern) => new RegExp(`^${pattern.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');

/**
 * The entry that prices (provider, model) at atMs, by the rules of docs/pricing.md: among
 * the entries in force (effective not after atMs) whose model matches, an exact name before a
 * pattern and a longer pattern (characters other than '*') before a shorter one, then the
 * call's provider before no provider, then the latest effective date; a name with a '/'
 * that nothing matches is looked up by its last part. null when nothing prices it.
 */
export function priceOf(table, provider, model, atMs) {
    const rank = (e) => (e.model.includes('*') ? e.model.replace(/\*/g, '').length : Infinity);
    const inForce = (e) => e.effectiveMs <= atMs && (e.provider === undefined || !provider || e.provider === provider);
    const fits = table.filter((e) => inForce(e) && globOf(e.model).test(model));
    fits.sort((a, b) => rank(b) - rank(a) || (b.provider !== undefined) - (a.provider !== undefined) || b.effectiveMs - a.effectiveMs);
    if (fits.length) return fits[0];
    return model.includes('/') ? priceOf(table, provider, model.slice(model.lastIndexOf('/') + 1), atMs) : null;
}

/**
 * USD of token counts {input (cached included), cacheRead, cacheWrite, output} under price
 * entry p (docs/pricing.md, "How cached tokens are priced"); 0 without a price.
 */
export function costOf(p, t) {
    if (!p) return 0;
    const uncached = t.input - (t.cacheRead ?? 0) - (t.cacheWrite ?? 0);
    return (uncached * p.input + (t.cacheRead ?? 0) * p.cacheRead + (t.cacheWrite ?? 0) * p.cacheWrite + t.output * p.output) / 1e6;
}

// ---- OTLP/JSON attributes (canonical form: 64-bit integers as decimal strings)

export const str = (key, v) => ({ key, value: { stringValue: v } });
export const int = (key, v) => ({ key, value: { intValue: String(v) } });
export const bool = (key, v) => ({ key, value: { boolValue: v } });

export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 };
export const KIND_NAME = { 1: 'SPAN_KIND_INTERNAL', 2: 'SPAN_KIND_SERVER', 3: 'SPAN_KIND_CLIENT' };
export const STATUS_NAME = { 0: 'STATUS_CODE_UNSET', 1: 'STATUS_CODE_OK', 2: 'STATUS_CODE_ERROR' };

// ---- seeded ids and order

/** A generator of distinct non-zero random hex ids of `bytes` bytes from rand (a prng). */
export function idMaker(rand, bytes) {
    const seen = new Set();
    return () => {
        for (;;) {
            let id = '';
            for (let i = 0; i < bytes; i++) id += Math.floor(rand() * 256).toString(16).padStart(2, '0');
            if (!seen.has(id) && !/^0+$/.test(id)) {
                seen.add(id);
                return id;
            }
        }
    };
}

/** xs shuffled in place (Fisher-Yates) with rand; returns xs. */
export function shuffle(xs, rand) {
    for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
}

// ---- requests

/**
 * An item of documentOf: a 400-ms gpt-4o chat call of service chat-api ending at endMs, its
 * trace and span ids made of n, with these token counts and more attributes.
 */
export function chatCall(n, endMs, { input = 100, output = 10, attributes = [] } = {}) {
    const hex = (w) => n.toString(16).padStart(w, '0');
    const end = BigInt(endMs) * 1_000_000n;
    return {
        service: 'chat-api',
        span: {
            traceId: hex(32),
            spanId: hex(16),
            name: 'chat gpt-4o',
            kind: SPAN_KIND.CLIENT,
            startTimeUnixNano: String(end - 400_000_000n),
            endTimeUnixNano: String(end),
            attributes: [
                str('gen_ai.operation.name', 'chat'),
                str('gen_ai.provider.name', 'openai'),
                str('gen_ai.request.model', 'gpt-4o'),
                int('gen_ai.usage.input_tokens', input),
                int('gen_ai.usage.output_tokens', output),
                ...attributes,
            ],
            status: {},
        },
    };
}

/**
 * One ExportTraceServiceRequest document of items [{service, span}] (OTLP/JSON spans): one
 * resource per service, in order of first appearance, with one scope.
 */
export function documentOf(items, scope = { name: 'golden-scale', version: '1.0.0' }) {
    const byService = new Map();
    for (const { service, span } of items) {
        if (!byService.has(service)) byService.set(service, []);
        byService.get(service).push(span);
    }
    return {
        resourceSpans: [...byService].map(([service, spans]) => ({
            resource: { attributes: [str('service.name', service), str('deployment.environment.name', 'scale')] },
            scopeSpans: [{ scope, spans }],
        })),
    };
}

/** items cut into protobuf requests of at most perRequest spans each, in order. */
export function encodeRequests(items, perRequest) {
    const out = [];
    for (let i = 0; i < items.length; i += perRequest) out.push(encodeTraces(documentOf(items.slice(i, i + perRequest))));
    return out;
}

/** POSTs protobuf requests to /v1/traces one after another; throws unless each is accepted whole. */
export async function postRequests(otlpHttpUrl, bodies) {
    for (const [i, body] of bodies.entries()) {
        const r = await request(`${otlpHttpUrl}/v1/traces`, {
            method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body, timeout: 60000 * SLOW,
        });
        if (r.status !== 200) throw new Error(`request ${i}: status ${r.status}: ${r.text().slice(0, 300)}`);
        const rejected = decodeExportResponse(r.body).partialSuccess?.rejectedSpans;
        if (rejected && rejected !== '0') throw new Error(`request ${i}: ${rejected} spans rejected: ${r.text().slice(0, 300)}`);
    }
}

/** Runs f, prints how long it took under label (information only), returns its result. */
export async function timed(label, f) {
    const t0 = performance.now();
    const v = await f();
    console.log(`  [time] ${label}: ${(performance.now() - t0).toFixed(0)} ms`);
    return v;
}
