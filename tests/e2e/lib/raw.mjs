// Hand-built OTLP requests for tests that need to know exactly what each request carried,
// and the helpers to send them over OTLP/HTTP and read the answer.
import crypto from 'node:crypto';
import zlib from 'node:zlib';

import { request } from './http.mjs';
import { canonicalTraces, decodeExportResponse, decodeRpcStatus, encodeTraces, flatten } from './otlp.mjs';

export const hex = (n) => crypto.randomBytes(n).toString('hex');

/**
 * An OTLP/JSON request with one trace of `nSpans` spans (a root and its children) for
 * `service`. Returns {traceId, doc, records}: records are the canonical flattened spans
 * the API should give back.
 */
export function makeTrace({ service = 'e2e-raw', seq = 0, nSpans = 3, startNs = BigInt(Date.now() - 60000) * 1_000_000n } = {}) {
    const traceId = hex(16);
    const rootId = hex(8);
    const spans = [];
    for (let i = 0; i < nSpans; i++) {
        const s = startNs + BigInt(i) * 1_000_123n;
        spans.push({
            traceId,
            spanId: i === 0 ? rootId : hex(8),
            parentSpanId: i === 0 ? undefined : rootId,
            name: i === 0 ? `request ${seq % 7}` : `step ${i}`,
            kind: i === 0 ? 2 : 1,
            startTimeUnixNano: String(s),
            endTimeUnixNano: String(s + 5_000_321n - BigInt(i)),
            attributes: [
                { key: 'seq', value: { intValue: String(seq) } },
                { key: 'step', value: { intValue: String(i) } },
                { key: 'note', value: { stringValue: `request ${seq} span ${i}` } },
                { key: 'ok', value: { boolValue: i % 2 === 0 } },
            ],
            events: i === 1 ? [{ timeUnixNano: String(s + 1000n), name: 'checkpoint', attributes: [{ key: 'seq', value: { intValue: String(seq) } }] }] : undefined,
            status: i === nSpans - 1 && seq % 5 === 0 ? { code: 2, message: `failure ${seq}` } : undefined,
            flags: 257,
        });
    }
    const doc = {
        resourceSpans: [{
            resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }, { key: 'client.seq_group', value: { intValue: String(seq % 3) } }] },
            scopeSpans: [{ scope: { name: 'osprey.e2e.raw', version: '1' }, spans }],
        }],
    };
    return { traceId, doc, records: flatten(canonicalTraces(doc)) };
}

/**
 * POSTs an OTLP/JSON document to /v1/traces as JSON or protobuf (optionally gzipped).
 * Resolves {status, partial: {rejectedSpans, errorMessage}|null, message, raw}, where message
 * is the error text of a google.rpc.Status body (JSON or protobuf) for failures.
 */
export async function postTraces(baseUrl, docOrBody, { encoding = 'json', gzip: gz = false, agent, timeout = 15000, headers = {} } = {}) {
    let body = Buffer.isBuffer(docOrBody) ? docOrBody : encoding === 'json' ? Buffer.from(JSON.stringify(docOrBody)) : encodeTraces(docOrBody);
    const h = { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf', ...headers };
    if (gz) {
        body = zlib.gzipSync(body);
        h['content-encoding'] = 'gzip';
    }
    const r = await request(`${baseUrl}/v1/traces`, { method: 'POST', headers: h, body, agent, timeout });
    return { ...parseOtlpResponse(r), raw: r };
}

/** Reads an OTLP/HTTP response: partial success of a 200, or the Status message of an error. */
export function parseOtlpResponse(r) {
    const ct = String(r.headers['content-type'] ?? '');
    let partial = null;
    let message = '';
    try {
        if (r.status === 200) {
            if (/protobuf/.test(ct)) {
                const d = decodeExportResponse(r.body);
                if (d.partialSuccess) partial = { rejectedSpans: Number(d.partialSuccess.rejectedSpans ?? 0), errorMessage: d.partialSuccess.errorMessage ?? '' };
            } else if (r.body.length) {
                const d = JSON.parse(r.body.toString('utf8'));
                if (d.partialSuccess && Object.keys(d.partialSuccess).length) partial = { rejectedSpans: Number(d.partialSuccess.rejectedSpans ?? 0), errorMessage: d.partialSuccess.errorMessage ?? '' };
            }
        } else if (/protobuf/.test(ct)) {
            message = decodeRpcStatus(r.body).message ?? '';
        } else if (/json/.test(ct)) {
            const d = JSON.parse(r.body.toString('utf8'));
            message = d.message ?? d.error ?? '';
        } else {
            message = r.body.toString('utf8');
        }
    } catch (e) {
        message = `(unreadable ${ct} body: ${e.message}) ${r.body.toString('latin1').slice(0, 200)}`;
    }
    return { status: r.status, partial, message, contentType: ct };
}
