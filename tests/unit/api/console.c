/* Unit tests for api/console: the embedded table of the console's build (index.html and
 * the assets it loads, each with a gzip copy that inflates to it and entity tags), the 400 kB
 * budget of scripts and styles, the file lookup, the content types, the API path test,
 * Accept-Encoding parsing, the handler's answers (index for deep links, cache headers, gzip,
 * 304, 404) called with constructed requests, and the route as the network core serves it
 * next to API routes: a fallback that never takes an API path and leaves their 404s and 405s
 * as they were, with HEAD, and 405 with Allow for other methods. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "api/console.h"
#include "core/arena.h"
#include "core/gzip.h"

/* ---- the embedded table ---- */

/* The first embedded file under /assets/ whose path ends with ext, or NULL. */
static const osp_console_file *asset_with(const char *ext)
{
    for (size_t i = 0; i < osp__console_nfiles; i++) {
        const osp_console_file *f = &osp__console_files[i];
        size_t n = strlen(f->path), e = strlen(ext);
        if (!strncmp(f->path, "/assets/", 8) && n > e && !strcmp(f->path + n - e, ext))
            return f;
    }
    return NULL;
}

static void test_table(void **state)
{
    (void)state;
    assert_true(osp__console_nfiles >= 3);
    assert_non_null(asset_with(".js"));
    assert_non_null(asset_with(".css"));
    const osp_console_file *index = osp_console_find(OSP_STR_LIT("/index.html"));
    assert_non_null(index);
    assert_non_null(memmem(index->data, index->len, "<div id=\"app\">", 14));
    /* Every asset the page loads is embedded. */
    size_t nrefs = 0;
    for (const unsigned char *p = index->data, *end = index->data + index->len;
         (p = memmem(p, (size_t)(end - p), "\"/assets/", 9)) != NULL; nrefs++) {
        const unsigned char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
        assert_non_null(q);
        if (!osp_console_find(osp_str_make((const char *)p + 1, (size_t)(q - p - 1))))
            fail_msg("index.html loads %.*s, which is not embedded", (int)(q - p - 1), p + 1);
        p = q;
    }
    assert_true(nrefs >= 2);
    for (size_t i = 0; i < osp__console_nfiles; i++) {
        const osp_console_file *f = &osp__console_files[i];
        assert_int_equal(f->path[0], '/');
        if (i > 0)
            assert_true(strcmp(osp__console_files[i - 1].path, f->path) < 0);
        /* The gzip copy is a gzip stream of exactly the file. */
        assert_true(f->gz_len >= 18);
        assert_int_equal(f->gz[0], 0x1f);
        assert_int_equal(f->gz[1], 0x8b);
        osp_buf out;
        osp_buf_init(&out, 0);
        assert_int_equal(
            osp_gzip_inflate(osp_str_make((const char *)f->gz, f->gz_len), f->len, &out), 0);
        assert_int_equal(out.len, f->len);
        assert_memory_equal(out.data ? out.data : "", f->data, f->len);
        osp_buf_cleanup(&out);
        /* Quoted strong tags, the gzip copy's its own. */
        size_t n = strlen(f->etag);
        assert_true(n > 2 && f->etag[0] == '"' && f->etag[n - 1] == '"');
        assert_int_equal(strlen(f->etag_gz), n + 3);
        assert_memory_equal(f->etag_gz, f->etag, n - 1);
        assert_string_equal(f->etag_gz + n - 1, "-gz\"");
        assert_ptr_equal(osp_console_find(osp_str_c(f->path)), f);
    }
    /* Scripts and styles compress well: the budget counts gzip bytes. */
    assert_true(asset_with(".js")->gz_len < asset_with(".js")->len);
}

/* The console's budget: all its scripts and styles under 400 kB gzipped (as Vite counts). */
static void test_budget(void **state)
{
    (void)state;
    size_t total = 0;
    for (size_t i = 0; i < osp__console_nfiles; i++) {
        const char *type = osp_console_content_type(osp_str_c(osp__console_files[i].path));
        if (!strncmp(type, "text/javascript", 15) || !strncmp(type, "text/css", 8))
            total += osp__console_files[i].gz_len;
    }
    if (total >= 400000)
        fail_msg("the console's scripts and styles are %zu bytes gzipped, over the 400 kB budget",
                 total);
}

static void test_find(void **state)
{
    (void)state;
    assert_null(osp_console_find(OSP_STR_LIT("/")));
    assert_null(osp_console_find(OSP_STR_LIT("index.html")));
    assert_null(osp_console_find(OSP_STR_LIT("/index.htm")));
    assert_null(osp_console_find(OSP_STR_LIT("/index.html/")));
    assert_null(osp_console_find(OSP_STR_LIT("/INDEX.HTML")));
    assert_null(osp_console_find(OSP_STR_LIT("/assets/")));
    assert_null(osp_console_find(OSP_STR_LIT("/assets/nope.js")));
    assert_null(osp_console_find(OSP_STR_NULL));
    const osp_console_file *js = asset_with(".js");
    /* A prefix of a real path is no match. */
    assert_null(osp_console_find(osp_str_make(js->path, strlen(js->path) - 1)));
}

static void test_content_types(void **state)
{
    (void)state;
    static const struct {
        const char *path, *type;
    } cases[] = {
        {"/index.html", "text/html; charset=utf-8"},
        {"/assets/index-DJkwPHKR.js", "text/javascript; charset=utf-8"},
        {"/assets/x.mjs", "text/javascript; charset=utf-8"},
        {"/assets/INDEX.JS", "text/javascript; charset=utf-8"},
        {"/assets/index-1Ow6jx-q.css", "text/css; charset=utf-8"},
        {"/assets/a.js.map", "application/json"},
        {"/manifest.json", "application/json"},
        {"/site.webmanifest", "application/manifest+json"},
        {"/robots.txt", "text/plain; charset=utf-8"},
        {"/logo.svg", "image/svg+xml"},
        {"/a.png", "image/png"},
        {"/a.jpeg", "image/jpeg"},
        {"/a.jpg", "image/jpeg"},
        {"/favicon.ico", "image/x-icon"},
        {"/assets/f.woff2", "font/woff2"},
        {"/assets/f.woff", "font/woff"},
        {"/assets/m.wasm", "application/wasm"},
        {"/LICENSE", "application/octet-stream"},
        {"/a.", "application/octet-stream"},
        {"/dir.d/file", "application/octet-stream"},
        {"/a.unknown", "application/octet-stream"},
        {"", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(osp_console_content_type(osp_str_c(cases[i].path)), cases[i].type);
    for (size_t i = 0; i < osp__console_nfiles; i++) /* every embedded file has a known type */
        assert_string_not_equal(osp_console_content_type(osp_str_c(osp__console_files[i].path)),
                                "application/octet-stream");
}

static void test_api_paths(void **state)
{
    (void)state;
    static const char *const api[] = {
        "/api",    "/api/",      "/api/v1/query", "/api/traces/abc", "/loki/api/v1/push",
        "/loki",   "/v1/traces", "/v1",           "/metrics",        "/metrics/x",
        "/readyz", "/healthz",   "/federate",     "/api/v1/nope",
    };
    static const char *const console[] = {
        "/",
        "/index.html",
        "/assets/index.js",
        "/traces/abc",
        "/services",
        "/apis",
        "/api.json",
        "/lokix",
        "/v10",
        "/metricsx",
        "/readyzz",
        "/healthz2",
        "/federated",
        "",
        "/x/api/v1",
    };
    for (size_t i = 0; i < sizeof api / sizeof api[0]; i++)
        if (!osp_console_is_api_path(osp_str_c(api[i])))
            fail_msg("%s: not an API path", api[i]);
    for (size_t i = 0; i < sizeof console / sizeof console[0]; i++)
        if (osp_console_is_api_path(osp_str_c(console[i])))
            fail_msg("%s: taken for an API path", console[i]);
}

static void test_accept_encoding(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        int gzip;
    } cases[] = {
        {"gzip", 1},
        {"gzip, deflate, br, zstd", 1},
        {"br,gzip", 1},
        {"GZip", 1},
        {"x-gzip", 1},
        {"  gzip  ;  q=0.5 ", 1},
        {"gzip;q=1", 1},
        {"gzip;q=0.001", 1},
        {"*", 1},
        {"br, *;q=0.1", 1},
        {"", 0},
        {"deflate, br", 0},
        {"identity", 0},
        {"gzipx", 0},
        {"gzip;q=0", 0},
        {"gzip; q=0.000", 0},
        {"gzip;Q=0.0", 0},
        {"*;q=0", 0},
        {"gzip;q=0, *", 0}, /* the explicit refusal wins */
        {"*;q=0, gzip", 1},
        {",,gzip,,", 1},
        {";q=1", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (osp_console_accepts_gzip(osp_str_c(cases[i].value)) != cases[i].gzip)
            fail_msg("Accept-Encoding \"%s\": expected %d", cases[i].value, cases[i].gzip);
    assert_int_equal(osp_console_accepts_gzip(OSP_STR_NULL), 0);
}

/* ---- the handler, called directly ---- */

typedef struct reply {
    int status;
    const char *content_type;
    osp_buf body;
    osp_http_header extra[OSP_HTTP_MAX_EXTRA_HEADERS];
    size_t nextra;
} reply;

/* Value of a response header the handler added, or NULL (a static or table string). */
static const char *header(const reply *r, const char *name)
{
    static char value[256];
    for (size_t i = 0; i < r->nextra; i++)
        if (osp_str_eqz(r->extra[i].name, name)) {
            snprintf(value, sizeof value, "%.*s", OSP_STR_FMT(r->extra[i].value));
            return value;
        }
    return NULL;
}

/* Runs the console route's handler for GET path with up to two headers (name, value, ...,
 * NULL). The caller frees r->body. */
static reply call(const char *path, ...)
{
    osp_http_header headers[2];
    size_t nh = 0;
    va_list ap;
    va_start(ap, path);
    for (const char *name; nh < 2 && (name = va_arg(ap, const char *));) {
        headers[nh].name = osp_str_c(name);
        headers[nh++].value = osp_str_c(va_arg(ap, const char *));
    }
    va_end(ap);
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    osp_http_request req = {.proto = OSP_PROTO_HTTP1,
                            .method = OSP_STR_LIT("GET"),
                            .path = osp_str_c(path),
                            .headers = headers,
                            .nheaders = nh,
                            .arena = &arena};
    osp_http_response res = {.status = 200, .arena = &arena};
    osp_buf_init(&res.body, 0);
    osp_route route = osp_console_route();
    route.handler(&req, &res, route.ctx);
    osp_arena_cleanup(&arena);
    reply r = {.status = res.status, .content_type = res.content_type, .body = res.body};
    r.nextra = res.nextra;
    memcpy(r.extra, res.extra, sizeof r.extra);
    return r;
}

/* r is file f as the handler sends it: raw or gzip, with its cache policy. */
static void expect_file(reply *r, const osp_console_file *f, int gz, const char *cache)
{
    assert_int_equal(r->status, 200);
    assert_string_equal(r->content_type, osp_console_content_type(osp_str_c(f->path)));
    assert_string_equal(header(r, "cache-control"), cache);
    assert_string_equal(header(r, "vary"), "Accept-Encoding");
    assert_string_equal(header(r, "etag"), gz ? f->etag_gz : f->etag);
    assert_string_equal(header(r, "x-content-type-options"), "nosniff");
    if (gz) {
        assert_string_equal(header(r, "content-encoding"), "gzip");
        assert_int_equal(r->body.len, f->gz_len);
        assert_memory_equal(r->body.data, f->gz, f->gz_len);
    } else {
        assert_null(header(r, "content-encoding"));
        assert_int_equal(r->body.len, f->len);
        assert_memory_equal(r->body.data, f->data, f->len);
    }
    osp_buf_cleanup(&r->body);
}

/* GET path with If-None-Match inm answers 304 without a body, with etag and cache. */
static void expect_not_modified(const char *path, const char *inm, const char *accept,
                                const char *etag, const char *cache)
{
    reply r = call(path, "if-none-match", inm, "accept-encoding", accept, NULL);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body.len, 0);
    assert_string_equal(header(&r, "etag"), etag);
    assert_string_equal(header(&r, "cache-control"), cache);
    osp_buf_cleanup(&r.body);
}

static void test_handler(void **state)
{
    (void)state;
    const osp_console_file *index = osp_console_find(OSP_STR_LIT("/index.html"));
    const osp_console_file *js = asset_with(".js"), *css = asset_with(".css");
    const char *immutable = "public, max-age=31536000, immutable";
    reply r;

    /* index.html for / and every deep link, revalidated each time. */
    r = call("/", NULL);
    expect_file(&r, index, 0, "no-cache");
    r = call("/index.html", NULL);
    expect_file(&r, index, 0, "no-cache");
    r = call("/traces/5b8efff798038103d269b633813fc60c", NULL);
    expect_file(&r, index, 0, "no-cache");
    r = call("/services", "accept-encoding", "gzip, deflate, br", NULL);
    expect_file(&r, index, 1, "no-cache");
    r = call("/assets", NULL); /* not under /assets/: a page */
    expect_file(&r, index, 0, "no-cache");

    /* Assets: cached for good, gzip when accepted. */
    r = call(js->path, NULL);
    expect_file(&r, js, 0, immutable);
    r = call(js->path, "accept-encoding", "gzip", NULL);
    expect_file(&r, js, 1, immutable);
    r = call(js->path, "accept-encoding", "gzip;q=0, br", NULL);
    expect_file(&r, js, 0, immutable);
    r = call(css->path, "accept-encoding", "*", NULL);
    expect_file(&r, css, 1, immutable);

    /* An unknown asset is a 404, never the index. */
    static const char *const missing[] = {"/assets/", "/assets/index-00000000.js",
                                          "/assets/x/y.css"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        r = call(missing[i], NULL);
        assert_int_equal(r.status, 404);
        assert_string_equal(r.content_type, "application/json");
        assert_null(header(&r, "cache-control"));
        assert_non_null(memmem(r.body.data, r.body.len, missing[i], strlen(missing[i])));
        osp_buf_cleanup(&r.body);
    }

    /* Revalidation: the selected representation's tag, weak or not, or "*" gives 304. */
    char weak[128];
    snprintf(weak, sizeof weak, "\"other\", W/%s", js->etag_gz);
    expect_not_modified(js->path, js->etag, "identity", js->etag, immutable);
    expect_not_modified(js->path, js->etag_gz, "gzip", js->etag_gz, immutable);
    expect_not_modified(js->path, weak, "gzip", js->etag_gz, immutable);
    expect_not_modified(js->path, "*", "identity", js->etag, immutable);
    expect_not_modified("/deep/link", index->etag, "identity", index->etag, "no-cache");
    /* Another tag, or the raw copy's for the gzip copy, gets the file. */
    r = call(js->path, "if-none-match", "\"other\"", NULL);
    expect_file(&r, js, 0, immutable);
    r = call(js->path, "if-none-match", js->etag, "accept-encoding", "gzip", NULL);
    expect_file(&r, js, 1, immutable);
}

/* ---- the route in the network core ---- */

static void h_api(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)req;
    res->content_type = "text/plain";
    osp_buf_puts(&res->body, ctx);
}

static osp_net *net;
static pthread_t loop_thread;
static uint16_t port;

static void *run_loop(void *arg)
{
    osp_net_run(arg);
    return NULL;
}

static int start_net(void **state)
{
    (void)state;
    osp_route routes[] = {
        {.method = "GET", .path = "/api/v1/get", .handler = h_api, .ctx = "get"},
        {.method = NULL, .path = "/api/v1/any", .handler = h_api, .ctx = "any"},
        {.method = "POST", .path = "/api/v1/items/*", .handler = h_api, .ctx = "items"},
        {.method = "GET", .path = "/outside", .handler = h_api, .ctx = "outside"},
        osp_console_route(),
    };
    if (osp_net_create(NULL, &net) ||
        osp_net_listen(net, "127.0.0.1:0", routes, sizeof routes / sizeof routes[0]) ||
        osp_net_port(net, 0, &port) || pthread_create(&loop_thread, NULL, run_loop, net))
        return -1;
    return 0;
}

static int stop_net(void **state)
{
    (void)state;
    osp_net_stop(net);
    pthread_join(loop_thread, NULL);
    osp_net_destroy(net);
    return 0;
}

/* One HTTP/1.1 exchange on a fresh connection ("Connection: close"): the status, the head
 * (headers, lowercase as sent) and the body. */
typedef struct exchange_result {
    int status;
    char head[4096];
    char *body; /* malloc'd */
    size_t body_len;
} exchange_result;

static exchange_result exchange(const char *method, const char *path, const char *extra)
{
    exchange_result x = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[1024];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s\r\n",
                     method, path, extra ? extra : "");
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (ssize_t got; (got = recv(fd, buf + len, cap - len, 0)) > 0;) {
        len += (size_t)got;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    close(fd);
    char *end = memmem(buf, len, "\r\n\r\n", 4);
    assert_non_null(end);
    size_t hn = (size_t)(end - buf) + 2;
    assert_true(hn < sizeof x.head);
    memcpy(x.head, buf, hn);
    x.head[hn] = '\0';
    assert_int_equal(sscanf(x.head, "HTTP/1.1 %d", &x.status), 1);
    x.body_len = len - hn - 2;
    x.body = malloc(x.body_len + 1);
    memcpy(x.body, end + 4, x.body_len);
    x.body[x.body_len] = '\0';
    free(buf);
    return x;
}

/* exchange(), checking the status and that the head holds want (NULL: nothing). */
static void expect(const char *method, const char *path, const char *extra, int status,
                   const char *want)
{
    exchange_result x = exchange(method, path, extra);
    if (x.status != status || (want && !strstr(x.head, want)))
        fail_msg("%s %s: %d\n%s\nexpected %d with \"%s\"", method, path, x.status, x.head, status,
                 want ? want : "");
    free(x.body);
}

static void test_routing(void **state)
{
    (void)state;
    const osp_console_file *js = asset_with(".js");
    const osp_console_file *index = osp_console_find(OSP_STR_LIT("/index.html"));
    char want[128];

    /* The other routes answer as they would without the console. */
    expect("GET", "/api/v1/get", NULL, 200, NULL);
    expect("POST", "/api/v1/get", NULL, 405, "allow: GET\r\n");
    expect("DELETE", "/api/v1/any", NULL, 200, NULL);
    expect("GET", "/api/v1/items/1", NULL, 405, "allow: POST\r\n");
    expect("GET", "/api/v1/nope", NULL, 404, NULL);
    expect("POST", "/api/nope", NULL, 404, NULL);
    expect("GET", "/metrics", NULL, 404, NULL);
    expect("GET", "/loki/api/v1/labels", NULL, 404, NULL);
    expect("POST", "/outside", NULL, 405, "allow: GET\r\n"); /* not "GET, GET" */
    exchange_result x = exchange("GET", "/api/v1/nope", NULL);
    assert_string_equal(x.body, "{\"error\":\"no such path: /api/v1/nope\"}");
    free(x.body);

    /* Console paths. */
    snprintf(want, sizeof want, "Content-Length: %zu\r\n", index->len);
    expect("GET", "/", NULL, 200, want);
    expect("GET", "/traces/abc?start=1", NULL, 200, "cache-control: no-cache\r\n");
    expect("GET", js->path, NULL, 200, "cache-control: public, max-age=31536000, immutable\r\n");
    expect("GET", js->path, "Accept-Encoding: gzip\r\n", 200, "content-encoding: gzip\r\n");
    expect("GET", "/assets/nope.js", NULL, 404, NULL);
    expect("POST", "/", NULL, 405, "allow: GET\r\n");
    expect("DELETE", js->path, NULL, 405, "allow: GET\r\n");
    expect("PUT", "/traces/abc", NULL, 405, "allow: GET\r\n");

    /* HEAD: the GET's head, without the body. */
    x = exchange("HEAD", js->path, "Accept-Encoding: gzip\r\n");
    assert_int_equal(x.status, 200);
    snprintf(want, sizeof want, "Content-Length: %zu\r\n", js->gz_len);
    assert_non_null(strstr(x.head, want));
    assert_non_null(strstr(x.head, "Content-Type: text/javascript; charset=utf-8\r\n"));
    assert_int_equal(x.body_len, 0);
    free(x.body);

    /* GET returns the bytes themselves. */
    x = exchange("GET", js->path, NULL);
    assert_int_equal(x.body_len, js->len);
    assert_memory_equal(x.body, js->data, js->len);
    free(x.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_api_paths),
        cmocka_unit_test(test_accept_encoding),
        cmocka_unit_test(test_handler),
        cmocka_unit_test_setup_teardown(test_routing, start_net, stop_net),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
