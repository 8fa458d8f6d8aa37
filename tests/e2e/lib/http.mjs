// Small HTTP/1.1, raw-socket and gRPC (HTTP/2) clients for the tests: they return what the
// server really sent (status, headers, body bytes) and never retry.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';

/**
 * One HTTP/1.1 request. opts: method, headers, body (Buffer|string), timeout (ms), agent
 * (default: a new connection per request). Resolves {status, headers, body, text(), json()};
 * rejects on connection errors and timeouts.
 */
export function request(url, opts = {}) {
    return new Promise((resolve, reject) => {
        const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
        const headers = { ...(opts.headers ?? {}) };
        if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length' || h.toLowerCase() === 'transfer-encoding')) {
            headers['content-length'] = body.length;
        }
        const req = http.request(url, { method: opts.method ?? (body ? 'POST' : 'GET'), headers, agent: opts.agent ?? false }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const buf = Buffer.concat(chunks);
                resolve({
                    status: res.statusCode,
                    headers: res.headers,
                    body: buf,
                    text: () => buf.toString('utf8'),
                    json: () => {
                        try {
                            return JSON.parse(buf.toString('utf8'));
                        } catch (e) {
                            throw new Error(`response is not JSON (${e.message}): ${buf.toString('utf8').slice(0, 300)}`);
                        }
                    },
                });
            });
            res.on('error', reject);
        });
        req.on('error', reject);
        if (opts.timeout) {
            req.setTimeout(opts.timeout, () => req.destroy(new Error(`timeout after ${opts.timeout} ms: ${url}`)));
        }
        if (body !== undefined) req.end(body);
        else req.end();
    });
}

/** GET returning parsed JSON; throws with the body when the status is not the expected one. */
export async function getJson(url, expectStatus = 200) {
    const r = await request(url, { timeout: 30000 });
    if (r.status !== expectStatus) throw new Error(`GET ${url}: status ${r.status}, expected ${expectStatus}: ${r.text().slice(0, 500)}`);
    return r.json();
}

/**
 * Raw TCP exchange: connects, writes `data` (Buffer or array of Buffers/delays in ms),
 * then collects what the server sends until it closes or `waitMs` passes.
 * Resolves {data, closedByServer, ms}.
 */
export function rawExchange(port, chunks, { waitMs = 5000, endAfterWrite = false } = {}) {
    return new Promise((resolve) => {
        const t0 = Date.now();
        const sock = net.connect(port, '127.0.0.1');
        const got = [];
        let done = false;
        let closedByServer = false;
        const finish = () => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            sock.destroy();
            resolve({ data: Buffer.concat(got), closedByServer, ms: Date.now() - t0 });
        };
        const timer = setTimeout(finish, waitMs);
        sock.on('data', (d) => got.push(d));
        sock.on('end', () => {
            closedByServer = true;
            finish();
        });
        sock.on('close', () => {
            closedByServer = true;
            finish();
        });
        sock.on('error', () => {
            closedByServer = true;
            finish();
        });
        sock.on('connect', async () => {
            for (const c of [].concat(chunks)) {
                if (typeof c === 'number') await new Promise((r) => setTimeout(r, c));
                else if (!sock.destroyed) sock.write(c);
            }
            if (endAfterWrite && !sock.destroyed) sock.end();
        });
    });
}

/** Status code of a raw HTTP/1.1 response ("HTTP/1.1 408 ..."), or null. */
export function rawStatus(buf) {
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf.toString('latin1'));
    return m ? Number(m[1]) : null;
}

export const GRPC_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** gRPC length prefix: compressed flag + 4-byte big-endian length, then the message. */
export function grpcFrame(msg, { compressed = false, declaredLength } = {}) {
    const h = Buffer.alloc(5);
    h[0] = compressed ? 1 : 0;
    h.writeUInt32BE(declaredLength ?? msg.length, 1);
    return Buffer.concat([h, msg]);
}

/**
 * One raw gRPC unary call over h2c (node:http2, no gRPC library, so malformed calls can be
 * sent). body: the complete request bytes (frames included). Resolves {httpStatus, headers,
 * trailers, grpcStatus, grpcMessage, messages: [Buffer]} where grpc-status/-message come from
 * the trailers or, for a Trailers-Only response, the headers; grpcMessage is percent-decoded.
 * Rejects when the stream ends without any grpc-status (reset, connection lost).
 */
export function grpcCall(addr, body, { path = GRPC_EXPORT_PATH, headers = {}, session, timeout = 15000 } = {}) {
    return new Promise((resolve, reject) => {
        const own = !session;
        const s = session ?? http2.connect(`http://${addr}`);
        // A shared session's errors are its owner's to handle; they also fail this stream.
        if (own) s.on('error', reject);
        const req = s.request({
            ':method': 'POST',
            ':path': path,
            'content-type': 'application/grpc',
            te: 'trailers',
            ...headers,
        });
        let resHeaders = {};
        let trailers = {};
        const chunks = [];
        const timer = setTimeout(() => {
            req.close(http2.constants.NGHTTP2_CANCEL);
            if (own) s.close();
            reject(new Error(`gRPC call timed out after ${timeout} ms`));
        }, timeout);
        req.on('response', (h) => {
            resHeaders = h;
        });
        req.on('trailers', (t) => {
            trailers = t;
        });
        req.on('data', (d) => chunks.push(d));
        req.on('error', (e) => {
            clearTimeout(timer);
            if (own) s.close();
            reject(e);
        });
        req.on('close', () => {
            clearTimeout(timer);
            if (own) s.close();
            const raw = Buffer.concat(chunks);
            const messages = [];
            for (let p = 0; p + 5 <= raw.length;) {
                const n = raw.readUInt32BE(p + 1);
                messages.push(raw.subarray(p + 5, p + 5 + n));
                p += 5 + n;
            }
            const st = trailers['grpc-status'] ?? resHeaders['grpc-status'];
            if (st === undefined) {
                // No status at all: the stream or connection broke (reset, server gone).
                reject(new Error(`gRPC stream closed without a status (HTTP ${resHeaders[':status'] ?? 'none'}, rst code ${req.rstCode})`));
                return;
            }
            const msg = trailers['grpc-message'] ?? resHeaders['grpc-message'] ?? '';
            let grpcMessage = msg;
            try {
                grpcMessage = decodeURIComponent(msg);
            } catch {
                // leave it as sent
            }
            resolve({
                httpStatus: resHeaders[':status'],
                headers: resHeaders,
                trailers,
                grpcStatus: Number(st),
                grpcMessage,
                messages,
                rstCode: req.rstCode,
            });
        });
        req.end(body);
    });
}
