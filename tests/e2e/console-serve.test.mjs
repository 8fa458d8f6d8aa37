// The web console as the server serves it on --http-addr: index.html at / and for deep
// links (revalidated every time), the assets index.html loads (cached for good, gzip when
// the client accepts it, entity tags and 304), 404 for an unknown asset, 405 with Allow for
// other methods, HEAD; the APIs on the same listener answer exactly as before (their 404s
// and 405s included); and with --no-console every console path is a 404.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';

import { request } from './lib/http.mjs';
import { BIN, cleanExit, startServer } from './lib/server.mjs';

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** GET (or opts.method) of path on server's API listener. */
const fetchPath = (server, path, opts = {}) => request(`${server.apiUrl}${path}`, { timeout: 30000, ...opts });

/** The /assets/ paths index.html loads (scripts, styles, preloads). */
function assetPaths(html) {
    return [...new Set([...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]))];
}

/** The JSON error body {"error": "..."} the server answers for paths it does not route. */
function assertJsonError(r, status, what) {
    assert.equal(r.status, status, `${what}: status`);
    assert.match(String(r.headers['content-type']), /^application\/json/, `${what}: content type`);
    assert.equal(typeof r.json().error, 'string', `${what}: error message`);
}

describe('console served by osprey serve', () => {
    let server;
    let index; // the body of GET /
    let scripts; // /assets/*.js paths index.html loads
    let styles; // /assets/*.css paths

    before(async () => {
        server = await startServer({ name: 'console-serve' });
        const r = await fetchPath(server, '/');
        assert.equal(r.status, 200, `GET /: ${r.text().slice(0, 300)}`);
        index = r.text();
        const assets = assetPaths(index);
        scripts = assets.filter((p) => p.endsWith('.js'));
        styles = assets.filter((p) => p.endsWith('.css'));
    });

    after(async () => {
        const r = await server?.stop();
        if (r) assert.ok(cleanExit(r), server.describeExit(r));
    });

    test('GET / is index.html, revalidated on every load', async () => {
        const r = await fetchPath(server, '/');
        assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
        assert.equal(r.headers['cache-control'], 'no-cache');
        assert.equal(r.headers.vary, 'Accept-Encoding');
        assert.equal(r.headers['content-encoding'], undefined, 'not compressed unless asked');
        assert.match(r.headers.etag ?? '', /^"[0-9a-f]+"$/);
        assert.equal(Number(r.headers['content-length']), r.body.length);
        assert.match(index, /<div id="app"><\/div>/);
        assert.ok(scripts.length >= 1, `index.html loads a script: ${index}`);
        assert.ok(styles.length >= 1, `index.html loads a stylesheet: ${index}`);
        const same = await fetchPath(server, '/index.html');
        assert.equal(same.status, 200);
        assert.equal(same.text(), index);
    });

    test('deep links reload: any other page path is index.html too', async () => {
        for (const path of ['/traces/5b8efff798038103d269b633813fc60c', '/services?service=api&from=now-1h', '/llm/models/gpt-4o', '/assets', '/apis']) {
            const r = await fetchPath(server, path);
            assert.equal(r.status, 200, path);
            assert.equal(r.headers['content-type'], 'text/html; charset=utf-8', path);
            assert.equal(r.headers['cache-control'], 'no-cache', path);
            assert.equal(r.text(), index, path);
        }
    });

    test('assets: right type, cached for good, identical with and without gzip', async () => {
        for (const [path, type] of [...scripts.map((p) => [p, 'text/javascript; charset=utf-8']), ...styles.map((p) => [p, 'text/css; charset=utf-8'])]) {
            const plain = await fetchPath(server, path);
            assert.equal(plain.status, 200, path);
            assert.equal(plain.headers['content-type'], type, path);
            assert.equal(plain.headers['cache-control'], IMMUTABLE, path);
            assert.equal(plain.headers['content-encoding'], undefined, path);
            assert.equal(plain.headers.vary, 'Accept-Encoding', path);
            assert.equal(plain.headers['x-content-type-options'], 'nosniff', path);
            assert.equal(Number(plain.headers['content-length']), plain.body.length, path);
            assert.ok(plain.body.length > 0, path);

            const gz = await fetchPath(server, path, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
            assert.equal(gz.status, 200, path);
            assert.equal(gz.headers['content-encoding'], 'gzip', path);
            assert.equal(gz.headers['content-type'], type, path);
            assert.equal(gz.headers['cache-control'], IMMUTABLE, path);
            assert.equal(gz.headers.vary, 'Accept-Encoding', path);
            assert.equal(Number(gz.headers['content-length']), gz.body.length, path);
            assert.ok(gz.body.length < plain.body.length, `${path}: gzip is smaller`);
            assert.deepEqual(zlib.gunzipSync(gz.body), plain.body, `${path}: gzip inflates to the file`);
            assert.notEqual(gz.headers.etag, plain.headers.etag, `${path}: each representation has its own tag`);

            const refused = await fetchPath(server, path, { headers: { 'accept-encoding': 'gzip;q=0, br' } });
            assert.equal(refused.headers['content-encoding'], undefined, `${path}: gzip;q=0 refuses gzip`);
        }
    });

    test('entity tags: If-None-Match answers 304 without a body', async () => {
        const path = scripts[0];
        for (const enc of ['identity', 'gzip']) {
            const r = await fetchPath(server, path, { headers: { 'accept-encoding': enc } });
            const again = await fetchPath(server, path, { headers: { 'accept-encoding': enc, 'if-none-match': r.headers.etag } });
            assert.equal(again.status, 304, enc);
            assert.equal(again.body.length, 0, enc);
            assert.equal(again.headers.etag, r.headers.etag, enc);
            assert.equal(again.headers['cache-control'], IMMUTABLE, enc);
        }
        const page = await fetchPath(server, '/traces/abc');
        const reval = await fetchPath(server, '/traces/abc', { headers: { 'if-none-match': `W/${page.headers.etag}` } });
        assert.equal(reval.status, 304);
        const other = await fetchPath(server, path, { headers: { 'if-none-match': '"something-else"' } });
        assert.equal(other.status, 200);
    });

    test('HEAD: the GET head without the body', async () => {
        for (const [path, headers] of [['/', {}], ['/traces/abc', {}], [scripts[0], { 'accept-encoding': 'gzip' }]]) {
            const get = await fetchPath(server, path, { headers });
            const head = await fetchPath(server, path, { method: 'HEAD', headers });
            assert.equal(head.status, 200, path);
            assert.equal(head.body.length, 0, path);
            for (const h of ['content-type', 'content-length', 'cache-control', 'etag', 'content-encoding']) {
                assert.equal(head.headers[h], get.headers[h], `${path}: ${h}`);
            }
        }
    });

    test('an unknown asset is 404, never index.html', async () => {
        for (const path of ['/assets/index-00000000.js', '/assets/', '/assets/x/y.css', `${scripts[0]}.map`]) {
            const r = await fetchPath(server, path);
            assertJsonError(r, 404, path);
            assert.equal(r.headers['cache-control'], undefined, path);
        }
    });

    test('other methods on console paths: 405 with Allow', async () => {
        for (const [method, path] of [['POST', '/'], ['PUT', '/traces/abc'], ['DELETE', scripts[0]], ['PATCH', '/assets/nope.js']]) {
            const r = await fetchPath(server, path, { method, body: method === 'DELETE' ? undefined : '{}' });
            assertJsonError(r, 405, `${method} ${path}`);
            assert.equal(r.headers.allow, 'GET', `${method} ${path}`);
        }
    });

    test('the APIs on the same listener answer as before', async () => {
        for (const path of ['/readyz', '/healthz']) {
            assert.equal((await fetchPath(server, path)).status, 200, path);
        }
        const metrics = await fetchPath(server, '/metrics');
        assert.equal(metrics.status, 200);
        assert.match(String(metrics.headers['content-type']), /^text\/plain/);
        assert.match(metrics.text(), /^# (HELP|TYPE) /m);

        const q = await fetchPath(server, '/api/v1/query?query=1%2B1');
        assert.equal(q.status, 200);
        assert.deepEqual(q.json().data.result[1], '2');
        const post = await fetchPath(server, '/api/v1/query', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=2*3' });
        assert.equal(post.status, 200);
        assert.deepEqual(post.json().data.result[1], '6');
        const services = await fetchPath(server, '/api/v1/services');
        assert.equal(services.status, 200);
        assert.match(String(services.headers['content-type']), /^application\/json/);
        assert.equal((await fetchPath(server, '/api/services')).status, 200, 'Jaeger API');
        assert.equal((await fetchPath(server, '/loki/api/v1/labels')).status, 200, 'Loki API');

        // Unknown API paths stay JSON 404s, whatever the method; wrong methods stay 405s.
        for (const [method, path] of [['GET', '/api/v1/nope'], ['GET', '/api/nope'], ['POST', '/api/v1/nope'], ['GET', '/loki/nope'], ['GET', '/v1/traces'], ['GET', '/metrics/x'], ['GET', '/federate']]) {
            assertJsonError(await fetchPath(server, path, { method }), 404, `${method} ${path}`);
        }
        const wrong = await fetchPath(server, '/api/v1/traces', { method: 'DELETE' });
        assertJsonError(wrong, 405, 'DELETE /api/v1/traces');
        assert.equal(wrong.headers.allow, 'GET');
        const push = await fetchPath(server, '/loki/api/v1/push');
        assertJsonError(push, 405, 'GET /loki/api/v1/push');
        assert.equal(push.headers.allow, 'POST');
    });
});

describe('osprey serve --no-console', () => {
    let server;

    before(async () => {
        server = await startServer({ name: 'console-off', args: ['--no-console'] });
    });

    after(async () => {
        const r = await server?.stop();
        if (r) assert.ok(cleanExit(r), server.describeExit(r));
    });

    test('console paths are 404, the APIs still answer', async () => {
        for (const path of ['/', '/index.html', '/traces/abc', '/assets/index.js']) {
            assertJsonError(await fetchPath(server, path), 404, path);
        }
        assertJsonError(await fetchPath(server, '/', { method: 'POST', body: '{}' }), 404, 'POST /');
        assert.equal((await fetchPath(server, '/readyz')).status, 200);
        const q = await fetchPath(server, '/api/v1/query?query=1%2B1');
        assert.equal(q.status, 200);
        assert.deepEqual(q.json().data.result[1], '2');
    });

    test('--help documents the flag', () => {
        const help = execFileSync(BIN, ['serve', '--help'], { encoding: 'utf8' });
        assert.match(help, /--no-console\s+do not serve the web console/);
    });
});
