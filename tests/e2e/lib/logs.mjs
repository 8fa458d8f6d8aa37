// Log clients for the tests: the official OpenTelemetry JS logs SDK over the three OTLP
// transports, Loki push bodies (JSON, and protobuf with snappy), and the Loki and native
// query APIs.
import crypto from 'node:crypto';
import http from 'node:http';

import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';

import { request } from './http.mjs';
import { lenField, varintField } from './otlp.mjs';
import { snappy } from './remote_write.mjs';
import { SLOW } from './server.mjs';

/** The OTLP log exporter of one kind (grpc, proto = http/protobuf, json = http/json). */
export function otlpLogExporter(kind, server, { gzip = false } = {}) {
    const common = { compression: gzip ? 'gzip' : 'none', timeoutMillis: 15000 };
    switch (kind) {
    case 'grpc': return new GrpcLogExporter({ ...common, url: `http://${server.grpcAddr}` });
    case 'proto': return new ProtoLogExporter({ ...common, url: `${server.otlpHttpUrl}/v1/logs` });
    case 'json': return new JsonLogExporter({ ...common, url: `${server.otlpHttpUrl}/v1/logs` });
    }
    throw new Error(`unknown exporter ${kind}`);
}

/** Wraps a log exporter, keeping every export's result. */
export class RecordingLogExporter {
    constructor(inner) {
        this.inner = inner;
        this.results = [];
    }

    export(records, done) {
        this.inner.export(records, (res) => {
            this.results.push(res);
            done(res);
        });
    }

    forceFlush() {
        return this.inner.forceFlush?.() ?? Promise.resolve();
    }

    shutdown() {
        return this.inner.shutdown();
    }
}

/** A Loki JSON push body: streams as [{stream: {labels}, values: [[ns, line, metadata?]]}]. */
export const lokiJson = (streams) => JSON.stringify({ streams });

/** The same push as logproto.PushRequest, snappy-compressed (labels as a selector string). */
export function lokiProto(streams) {
    const label = (s) => `{${Object.entries(s).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
    const entry = ([ns, line, meta]) => {
        const t = BigInt(ns);
        const ts = Buffer.concat([varintField(1, t / 1_000_000_000n), varintField(2, t % 1_000_000_000n)]);
        const md = Object.entries(meta ?? {}).map(([k, v]) => lenField(3, Buffer.concat([lenField(1, Buffer.from(k)), lenField(2, Buffer.from(v))])));
        return lenField(2, Buffer.concat([lenField(1, ts), lenField(2, Buffer.from(line)), ...md]));
    };
    const body = Buffer.concat(streams.map((s) => lenField(1, Buffer.concat([lenField(1, Buffer.from(label(s.stream))), ...s.values.map(entry)]))));
    return snappy(body);
}

/** POSTs a Loki push (kind json or proto); resolves the response. */
export function lokiPush(server, streams, kind = 'json') {
    const body = kind === 'json' ? lokiJson(streams) : lokiProto(streams);
    const type = kind === 'json' ? 'application/json' : 'application/x-protobuf';
    return request(`${server.apiUrl}/loki/api/v1/push`, { method: 'POST', body, headers: { 'content-type': type }, timeout: 30000 * SLOW });
}

/** GET of a Loki or native query endpoint with parameters; resolves the response. */
export function logsGet(server, path, params = {}, headers = {}) {
    const qs = new URLSearchParams(params).toString();
    return request(`${server.apiUrl}${path}${qs ? `?${qs}` : ''}`, { timeout: 30000 * SLOW, headers });
}

/** A Loki query_range answer's streams as [{labels, values: [[ns, line]]}], sorted by labels. */
export function streamsOf(doc) {
    return doc.data.result.map((s) => ({ labels: s.stream, values: s.values })).sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
}

/**
 * A minimal WebSocket client (RFC 6455) for the live tail: opens `path` on the server's API
 * port (with `headers` added to the upgrade request) and collects the text frames it
 * receives. Resolves {frames, next(timeoutMs), close()} once the handshake is done; next()
 * resolves the next text frame (parsed JSON, or {text} for a frame that is not JSON: a
 * refusal's reason).
 */
export function openTail(server, path, headers = {}) {
    return new Promise((resolve, reject) => {
        const key = crypto.randomBytes(16).toString('base64');
        const req = http.request(`${server.apiUrl}${path}`, {
            headers: { ...headers, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13' },
        });
        req.on('response', (res) => reject(new Error(`no upgrade: status ${res.statusCode}`)));
        req.on('error', reject);
        req.on('upgrade', (res, socket, head) => {
            const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
            if (res.headers['sec-websocket-accept'] !== accept) return reject(new Error('bad Sec-WebSocket-Accept'));
            const frames = [];
            const waiters = [];
            let buf = Buffer.alloc(0);
            const onData = (d) => {
                buf = Buffer.concat([buf, d]);
                for (;;) {
                    if (buf.length < 2) return;
                    let len = buf[1] & 0x7f;
                    let off = 2;
                    if (len === 126) [len, off] = buf.length >= 4 ? [buf.readUInt16BE(2), 4] : [-1, 0];
                    else if (len === 127) [len, off] = buf.length >= 10 ? [Number(buf.readBigUInt64BE(2)), 10] : [-1, 0];
                    if (len < 0 || buf.length < off + len) return;
                    const opcode = buf[0] & 0x0f;
                    const payload = buf.subarray(off, off + len);
                    buf = buf.subarray(off + len);
                    if (opcode !== 1) continue;
                    const text = payload.toString('utf8');
                    let frame;
                    try {
                        frame = JSON.parse(text);
                    } catch {
                        frame = { text }; // a refusal: the reason as plain text
                    }
                    if (waiters.length) waiters.shift()(frame);
                    else frames.push(frame);
                }
            };
            socket.on('data', onData);
            onData(head); // bytes that came with the 101 response
            const next = (timeoutMs = 10000) => (frames.length ? Promise.resolve(frames.shift()) : new Promise((res2, rej2) => {
                const t = setTimeout(() => rej2(new Error('no tail frame in time')), timeoutMs);
                waiters.push((f) => {
                    clearTimeout(t);
                    res2(f);
                });
            }));
            const close = () => {
                const mask = crypto.randomBytes(4);
                const code = Buffer.from([0x03, 0xe8]).map((b, i) => b ^ mask[i]);
                socket.write(Buffer.concat([Buffer.from([0x88, 0x82]), mask, code]));
                return new Promise((done) => {
                    socket.on('close', done);
                    setTimeout(() => socket.destroy(), 2000);
                });
            };
            resolve({ frames, next, close });
        });
        req.end();
    });
}
