/* End-to-end tests of the network core: a real server on 127.0.0.1 driven over raw
 * sockets (HTTP/1.1) and with nghttp2's client (h2c, gRPC). */
#include "netutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include "core/err.h"
#include "core/metrics.h"
#include "net/http.h"

#define MAX_BODY (1024 * 1024)
#define MAX_INFLIGHT (3 * 1024 * 1024 / 2)
#define SHORT_MS 300

static osp_net *net;
static pthread_t loop_thread;
static uint16_t port;
static atomic_int slow_done;

/* ---- handlers ---- */

static void h_hello(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    res->content_type = "text/plain";
    osp_buf_puts(&res->body, "hello");
}

static void h_echo(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)ctx;
    res->content_type = "application/octet-stream";
    osp_buf_append_str(&res->body, req->body);
    char *len = osp_arena_alloc(req->arena, 24);
    int n = snprintf(len, 24, "%zu", req->body.n);
    osp_http_response_header(res, "x-body-len", osp_str_make(len, (size_t)n));
}

static void h_query(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)ctx;
    osp_str v;
    int rc = osp_http_query_get(req, "name", &v);
    if (rc < 0) {
        osp_http_response_error(res, 400, "bad query parameter");
        return;
    }
    osp_buf_printf(&res->body, "%d:%.*s:%.*s:%.*s", rc, OSP_STR_FMT(v),
                   OSP_STR_FMT(osp_http_header_get(req, "x-test")),
                   OSP_STR_FMT(osp_http_header_get(req, "host")));
}

static void h_prefix(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)ctx;
    osp_buf_append_str(&res->body, req->path);
}

static void h_slow(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    osp_buf_puts(&res->body, "slow");
    atomic_fetch_add(&slow_done, 1);
}

static void h_nocontent(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    res->status = 204;
}

static void h_grpc_echo(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)ctx;
    assert_int_equal(req->proto, OSP_PROTO_GRPC);
    osp_buf_append_str(&res->body, req->body);
}

static void h_grpc_fail(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    res->grpc_status = 3;
    res->grpc_message = OSP_STR_LIT("bad span: 100% wrong\n");
}

/* A route's own error format: "code=<grpc code> <message>" as text/plain. */
static void typed_error(const osp_http_request *req, osp_http_response *res, int grpc_code,
                        osp_str message)
{
    (void)req;
    res->content_type = "text/plain";
    osp_buf_printf(&res->body, "code=%d %.*s", grpc_code, OSP_STR_FMT(message));
}

static const osp_route routes[] = {
    {"GET", "/hello", h_hello, NULL, NULL, 0, 0, NULL},
    {"POST", "/echo", h_echo, NULL, NULL, 0, 0, NULL},
    {"PUT", "/echo", h_echo, NULL, NULL, 0, 0, NULL},
    {"GET", "/q", h_query, NULL, NULL, 0, 0, NULL},
    {"GET", "/prefix/*", h_prefix, NULL, NULL, 0, 0, NULL},
    {"POST", "/slow", h_slow, NULL, NULL, 0, 0, NULL},
    {"POST", "/nocontent", h_nocontent, NULL, NULL, 0, 0, NULL},
    {"POST", "/typed", h_echo, NULL, typed_error, 0, 0, NULL},
    {"POST", "/test.Echo/Call", h_grpc_echo, NULL, NULL, 0, 0, NULL},
    {"POST", "/test.Echo/Fail", h_grpc_fail, NULL, NULL, 0, 0, NULL},
    {"POST", "/snappy", h_echo, NULL, NULL, 1, 0, NULL},
};

static void start_server(void)
{
    osp_net_limits lim = {.max_body = MAX_BODY,
                          .max_header_bytes = 4096,
                          .max_inflight_bytes = MAX_INFLIGHT,
                          .header_timeout_ms = SHORT_MS,
                          .idle_timeout_ms = 5000,
                          .body_timeout_ms = SHORT_MS};
    assert_int_equal(osp_net_create(&lim, &net), 0);
    assert_int_equal(osp_net_listen(net, "127.0.0.1:0", routes, sizeof routes / sizeof routes[0]),
                     0);
    assert_int_equal(osp_net_port(net, 0, &port), 0);
    assert_int_not_equal(port, 0);
    assert_int_equal(osp_net_port(net, 1, &port), OSP_ENOTFOUND);
    osp_net_port(net, 0, &port);
    assert_int_equal(pthread_create(&loop_thread, NULL, net_test_run_loop, net), 0);
}

static void stop_server(void)
{
    osp_net_stop(net);
    pthread_join(loop_thread, NULL);
    osp_net_destroy(net);
    net = NULL;
}

static int setup(void **state)
{
    (void)state;
    start_server();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stop_server();
    return 0;
}

/* ---- raw sockets ---- */

static int connect_server(void)
{
    return net_test_connect(port);
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

typedef struct resp {
    int status;
    char head[2048];
    char body[64 * 1024];
    size_t body_len;
} resp;

/* Reads one response (head, then a Content-Length body) within timeout_ms, consuming
 * nothing past it. 1 read, 0 the connection closed first, -1 timed out. */
static int read_resp(int fd, resp *r, int timeout_ms)
{
    size_t have = 0, hl = 0, blen = 0;
    memset(r, 0, sizeof *r);
    for (;;) {
        if (hl && have == hl + blen) {
            r->status = atoi(r->head + 9);
            r->body_len = blen;
            return 1;
        }
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0)
            return -1;
        /* Byte by byte through the head, so nothing past it is consumed. */
        char *dst = hl ? r->body + (have - hl) : r->head + have;
        ssize_t n = recv(fd, dst, hl ? hl + blen - have : 1, 0);
        if (n <= 0)
            return 0;
        have += (size_t)n;
        if (!hl && have >= 4 && !memcmp(r->head + have - 4, "\r\n\r\n", 4)) {
            hl = have;
            const char *cl = strcasestr(r->head, "\r\nContent-Length: ");
            blen = cl && !strstr(r->head, " 100 Continue") ? strtoul(cl + 18, NULL, 10) : 0;
            assert_true(blen < sizeof r->body);
        }
        assert_true(hl || have < sizeof r->head - 1);
    }
}

/* 1 when the server closed the connection (EOF or reset) within timeout_ms. */
static int closed_by_server(int fd, int timeout_ms)
{
    char b[256];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0)
            return 0;
        ssize_t n = recv(fd, b, sizeof b, 0);
        if (n <= 0)
            return 1;
    }
}

static int exchange(const char *request, resp *r)
{
    int fd = connect_server();
    send_str(fd, request);
    int rc = read_resp(fd, r, 3000);
    close(fd);
    return rc;
}

static unsigned char *gzip_bytes(const void *in, size_t n, size_t *out_n)
{
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, n) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_n = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static double metric(const char *name, const char *labels)
{
    return osp_metric_value(osp_counter(name, "", labels));
}

/* ---- HTTP/1.1 ---- */

static void test_keep_alive_and_pipelining(void **state)
{
    (void)state;
    resp r;
    int fd = connect_server();
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: text/plain\r\n"));
    assert_null(strstr(r.head, "Connection:"));
    assert_int_equal(r.body_len, 5);
    assert_memory_equal(r.body, "hello", 5);
    /* Two pipelined requests in one write; answers come back in order. */
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                 "GET /q?name=a%20b+c HTTP/1.1\r\nHost: t\r\nX-Test: yes\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 3);
    assert_memory_equal(r.body, "abc", 3);
    assert_non_null(strstr(r.head, "x-body-len: 3\r\n"));
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "1:a b c:yes:t");
    /* Connection: close is honoured. */
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_non_null(strstr(r.head, "Connection: close\r\n"));
    assert_true(closed_by_server(fd, 3000));
    close(fd);
    /* HTTP/1.0 closes unless asked to keep alive. */
    assert_int_equal(exchange("GET /hello HTTP/1.0\r\n\r\n", &r), 1);
    assert_non_null(strstr(r.head, "Connection: close\r\n"));
    fd = connect_server();
    send_str(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_non_null(strstr(r.head, "Connection: keep-alive\r\n"));
    send_str(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 200);
    close(fd);
    assert_true(metric("osprey_http_requests_total", "protocol=\"http1\",code=\"200\"") >= 6);
}

static void test_chunked_and_continue(void **state)
{
    (void)state;
    resp r;
    assert_int_equal(exchange("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "4;ext=1\r\nspan\r\n1\r\ns\r\n0\r\nX-Trailer: t\r\n\r\n",
                              &r),
                     1);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 5);
    assert_memory_equal(r.body, "spans", 5);
    /* Expect: 100-continue gets the interim answer before the body is sent. */
    int fd = connect_server();
    send_str(fd,
             "PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 100);
    send_str(fd, "data");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "data", 4);
    close(fd);
}

static void test_large_body_direct_read(void **state)
{
    (void)state;
    size_t n = 700 * 1000;
    char *body = malloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + i % 26);
    int fd = connect_server();
    char head[128];
    snprintf(head, sizeof head, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", n);
    send_str(fd, head);
    /* The body arrives in pieces. */
    for (size_t off = 0; off < n; off += 100000)
        send_all(fd, body + off, off + 100000 > n ? n - off : 100000);
    /* The echo is larger than resp.body: read the head, then count the body. */
    char buf[65536];
    size_t got = 0, total = 0;
    char *hend = NULL;
    while (!hend) {
        ssize_t k = recv(fd, buf + got, sizeof buf - got, 0);
        assert_true(k > 0);
        got += (size_t)k;
        hend = memmem(buf, got, "\r\n\r\n", 4);
    }
    assert_int_equal(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17), 0);
    size_t hl = (size_t)(hend - buf) + 4;
    total = got - hl;
    int same = memcmp(buf + hl, body, total) == 0;
    while (total < n) {
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        assert_true(k > 0);
        same = same && memcmp(buf, body + total, (size_t)k) == 0;
        total += (size_t)k;
    }
    assert_int_equal(total, n);
    assert_true(same);
    close(fd);
    free(body);
}

static void test_gzip_bodies(void **state)
{
    (void)state;
    resp r;
    const char *plain = "{\"resourceSpans\":[]} compressed request body";
    size_t zn;
    unsigned char *z = gzip_bytes(plain, strlen(plain), &zn);
    int fd = connect_server();
    char head[256];
    snprintf(
        head, sizeof head,
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
        zn);
    send_str(fd, head);
    send_all(fd, z, zn);
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, strlen(plain));
    assert_memory_equal(r.body, plain, r.body_len);
    /* Corrupt data: 400, and the connection stays usable. */
    snprintf(
        head, sizeof head,
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\n");
    send_str(fd, head);
    send_str(fd, "not gzip!");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"error\":"));
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 200);
    close(fd);
    free(z);
    /* A bomb: small on the wire, past max_body once inflated. */
    size_t big = 4 * MAX_BODY;
    char *zeros = calloc(1, big);
    z = gzip_bytes(zeros, big, &zn);
    fd = connect_server();
    snprintf(
        head, sizeof head,
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
        zn);
    send_str(fd, head);
    send_all(fd, z, zn);
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "exceeds the limit of 1048576 bytes"));
    close(fd);
    free(z);
    free(zeros);
    /* Unsupported coding. */
    assert_int_equal(exchange("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Encoding: br\r\n"
                              "Content-Length: 0\r\n\r\n",
                              &r),
                     1);
    assert_int_equal(r.status, 415);
    assert_non_null(strstr(r.body, "unsupported content-encoding: br"));
    /* Snappy reaches only routes that decode it themselves, still compressed. */
    assert_int_equal(exchange("POST /snappy HTTP/1.1\r\nHost: t\r\nContent-Encoding: snappy\r\n"
                              "Content-Length: 3\r\n\r\nxyz",
                              &r),
                     1);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "xyz");
    assert_int_equal(exchange("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Encoding: snappy\r\n"
                              "Content-Length: 3\r\n\r\nxyz",
                              &r),
                     1);
    assert_int_equal(r.status, 415);
}

static void test_limits(void **state)
{
    (void)state;
    resp r;
    double too_large = metric("osprey_http_rejected_total", "reason=\"too_large\"");
    /* 413 from the declared length, before any body byte; then the connection closes. */
    int fd = connect_server();
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.head, "Content-Type: application/json\r\n"));
    assert_non_null(
        strstr(r.body, "{\"error\":\"request body exceeds the limit of 1048576 bytes\"}"));
    assert_true(closed_by_server(fd, 3000));
    close(fd);
    /* A length past 2^63 is refused the same way, not read. */
    fd = connect_server();
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 413);
    close(fd);
    /* A route with its own error format gets the same error in that format. */
    fd = connect_server();
    send_str(fd, "POST /typed HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.head, "Content-Type: text/plain\r\n"));
    assert_non_null(strstr(r.body, "code=8 request body exceeds the limit of 1048576 bytes"));
    close(fd);
    /* Chunked bodies are cut at the limit too. */
    fd = connect_server();
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 413);
    close(fd);
    /* Header too large. */
    char big[6000];
    snprintf(big, sizeof big, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: %05000d\r\n\r\n", 0);
    assert_int_equal(exchange(big, &r), 1);
    assert_int_equal(r.status, 431);
    assert_true(metric("osprey_http_rejected_total", "reason=\"too_large\"") >= too_large + 3);
    /* Overload: one request holds most of max_inflight_bytes; another is refused at once. */
    int hold = connect_server();
    send_str(hold, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n");
    resp probe;
    assert_int_equal(read_resp(hold, &probe, 100), -1); /* still waiting for the body */
    fd = connect_server();
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 600000\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.head, "retry-after: 1\r\n"));
    close(fd);
    close(hold);
    assert_true(metric("osprey_http_rejected_total", "reason=\"overloaded\"") >= 1);
    /* Once the first request is gone, requests pass again. */
    usleep(100 * 1000);
    fd = connect_server();
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nabcdef");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 200);
    close(fd);
}

static void test_routing(void **state)
{
    (void)state;
    resp r;
    assert_int_equal(exchange("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", &r), 1);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.head, "Content-Type: application/json\r\n"));
    assert_string_equal(r.body, "{\"error\":\"no such path: /nope\"}");
    assert_int_equal(exchange("DELETE /echo HTTP/1.1\r\nHost: t\r\n\r\n", &r), 1);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.head, "allow: POST, PUT\r\n"));
    assert_int_equal(exchange("GET /prefix/a/b?x=1 HTTP/1.1\r\nHost: t\r\n\r\n", &r), 1);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "/prefix/a/b");
    assert_int_equal(exchange("GET /prefix HTTP/1.1\r\nHost: t\r\n\r\n", &r), 1);
    assert_int_equal(r.status, 404);
    /* HEAD is served by the GET route, without the body. */
    int fd = connect_server();
    send_str(fd, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(buf, "Content-Length: 5\r\n"));
    assert_non_null(strstr(buf, "\r\n\r\n"));
    assert_int_equal(strlen(strstr(buf, "\r\n\r\n")), 4);
    close(fd);
    /* A 404 for a request with a body closes the connection (the body is not read). */
    fd = connect_server();
    send_str(fd, "POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 404);
    assert_true(closed_by_server(fd, 3000));
    close(fd);
    /* 204 carries neither a body nor a Content-Length. */
    fd = connect_server();
    send_str(fd, "POST /nocontent HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
                 "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 204);
    assert_null(strstr(r.head, "Content-Length"));
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 200);
    close(fd);
    /* Bad percent-encoding reaches the handler as OSP_EPARSE. */
    assert_int_equal(exchange("GET /q?name=%zz HTTP/1.1\r\nHost: t\r\n\r\n", &r), 1);
    assert_int_equal(r.status, 400);
}

static void test_malformed(void **state)
{
    (void)state;
    resp r;
    double bad = metric("osprey_http_rejected_total", "reason=\"bad_request\"");
    int fd = connect_server();
    send_str(fd, "GARBAGE\r\n\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.head, "Connection: close\r\n"));
    assert_true(closed_by_server(fd, 3000));
    close(fd);
    assert_int_equal(exchange("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "zz\r\n",
                              &r),
                     1);
    assert_int_equal(r.status, 400);
    assert_int_equal(exchange("GET / HTTP/3.0\r\n\r\n", &r), 1);
    assert_int_equal(r.status, 505);
    assert_true(metric("osprey_http_rejected_total", "reason=\"bad_request\"") >= bad + 3);
}

static void test_slow_clients(void **state)
{
    (void)state;
    resp r;
    double timeouts = metric("osprey_http_rejected_total", "reason=\"timeout\"");
    /* Head that never completes. */
    int fd = connect_server();
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\n");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 408);
    assert_true(closed_by_server(fd, 3000));
    close(fd);
    /* Body that stops. */
    fd = connect_server();
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789");
    assert_int_equal(read_resp(fd, &r, 3000), 1);
    assert_int_equal(r.status, 408);
    close(fd);
    /* A connection that never sends anything is closed after the header timeout. */
    fd = connect_server();
    assert_true(closed_by_server(fd, 3000));
    close(fd);
    /* Dribbling bytes does not extend the head's deadline. */
    fd = connect_server();
    const char *req =
        "GET /hello HTTP/1.1\r\nHost: t\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    int cut = 0;
    for (size_t i = 0; req[i] && !cut; i++) {
        if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1)
            break;
        usleep(25 * 1000);
        struct pollfd p = {fd, POLLIN, 0};
        cut = poll(&p, 1, 0) > 0;
    }
    assert_true(cut);
    close(fd);
    assert_true(metric("osprey_http_rejected_total", "reason=\"timeout\"") >= timeouts + 4);
}

static void test_abrupt_disconnect(void **state)
{
    (void)state;
    resp r;
    /* Mid-body. */
    int fd = connect_server();
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\npartial");
    usleep(50 * 1000);
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd); /* RST */
    /* While the handler runs: its response is dropped. */
    int before = atomic_load(&slow_done);
    fd = connect_server();
    send_str(fd, "POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    usleep(50 * 1000);
    close(fd);
    for (int i = 0; i < 100 && atomic_load(&slow_done) == before; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&slow_done), before + 1);
    usleep(50 * 1000);
    /* Mid-head, and pipelined junk after a complete request. */
    fd = connect_server();
    send_str(fd, "GET /hello HTTP/1.1\r\nHo");
    close(fd);
    fd = connect_server();
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /hel");
    close(fd);
    /* The server still answers. */
    assert_int_equal(exchange("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r), 1);
    assert_int_equal(r.status, 200);
}

/* ---- HTTP/2 and gRPC with nghttp2's client ---- */

typedef struct h2res {
    int status;
    char content_type[256];
    int grpc_status; /* -1 until seen */
    char grpc_message[256];
    char accept_encoding[256];
    int trailers_only; /* grpc-status came in the first HEADERS */
    int nheaders_frames;
    unsigned char data[8192];
    size_t ndata;
    int closed;
    uint32_t close_error;
} h2res;

typedef struct h2client {
    int fd;
    nghttp2_session *s;
    h2res *res;
    const unsigned char *body;
    size_t body_len, body_off;
} h2client;

static ssize_t h2c_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    (void)s;
    (void)flags;
    h2client *c = ud;
    send_all(c->fd, data, len);
    return (ssize_t)len;
}

static int h2c_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                      size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                      void *ud)
{
    (void)s;
    (void)flags;
    h2res *r = ((h2client *)ud)->res;
    char v[256];
    snprintf(v, sizeof v, "%.*s", (int)valuelen, (const char *)value);
    if (namelen == 7 && !memcmp(name, ":status", 7))
        r->status = atoi(v);
    else if (namelen == 12 && !memcmp(name, "content-type", 12))
        snprintf(r->content_type, sizeof r->content_type, "%s", v);
    else if (namelen == 11 && !memcmp(name, "grpc-status", 11)) {
        r->grpc_status = atoi(v);
        r->trailers_only = r->nheaders_frames == 0 && (f->hd.flags & NGHTTP2_FLAG_END_STREAM);
    } else if (namelen == 12 && !memcmp(name, "grpc-message", 12))
        snprintf(r->grpc_message, sizeof r->grpc_message, "%s", v);
    else if (namelen == 20 && !memcmp(name, "grpc-accept-encoding", 20))
        snprintf(r->accept_encoding, sizeof r->accept_encoding, "%s", v);
    return 0;
}

static int h2c_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    if (f->hd.type == NGHTTP2_HEADERS)
        ((h2client *)ud)->res->nheaders_frames++;
    return 0;
}

static int h2c_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                    void *ud)
{
    (void)s;
    (void)flags;
    (void)id;
    h2res *r = ((h2client *)ud)->res;
    assert_true(r->ndata + len <= sizeof r->data);
    memcpy(r->data + r->ndata, data, len);
    r->ndata += len;
    return 0;
}

static int h2c_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *ud)
{
    (void)s;
    (void)id;
    h2res *r = ((h2client *)ud)->res;
    r->closed = 1;
    r->close_error = error_code;
    return 0;
}

static ssize_t h2c_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                        uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)src;
    h2client *c = ud;
    size_t n = c->body_len - c->body_off;
    if (n > length)
        n = length;
    memcpy(buf, c->body + c->body_off, n);
    c->body_off += n;
    if (c->body_off == c->body_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static void h2c_open(h2client *c)
{
    nghttp2_session_callbacks *cb;
    memset(c, 0, sizeof *c);
    c->fd = connect_server();
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, h2c_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2c_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2c_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2c_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2c_close);
    assert_int_equal(nghttp2_session_client_new(&c->s, cb, c), 0);
    nghttp2_session_callbacks_del(cb);
    assert_int_equal(nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, NULL, 0), 0);
}

static void h2c_close_conn(h2client *c)
{
    nghttp2_session_del(c->s);
    close(c->fd);
}

#define NVS(n, v)                                                                                  \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE                 \
    }

/* Submits a request on an open client; returns its stream id. */
static int32_t h2c_submit(h2client *c, const char *method, const char *path, const char *ctype,
                          const char *encoding, const void *body, size_t body_len, h2res *res)
{
    memset(res, 0, sizeof *res);
    res->grpc_status = -1;
    c->res = res;
    c->body = body;
    c->body_len = body_len;
    c->body_off = 0;
    nghttp2_nv nva[8] = {NVS(":method", method), NVS(":scheme", "http"), NVS(":path", path),
                         NVS(":authority", "test")};
    size_t n = 4;
    if (ctype)
        nva[n++] = (nghttp2_nv)NVS("content-type", ctype);
    if (ctype && !strncmp(ctype, "application/grpc", 16))
        nva[n++] = (nghttp2_nv)NVS("te", "trailers");
    if (encoding)
        nva[n++] = (nghttp2_nv)NVS("grpc-encoding", encoding);
    nghttp2_data_provider prd = {.read_callback = h2c_body};
    int32_t id = nghttp2_submit_request(c->s, NULL, nva, n, body ? &prd : NULL, NULL);
    assert_true(id > 0);
    assert_int_equal(nghttp2_session_send(c->s), 0);
    return id;
}

static void h2c_wait(h2client *c, h2res *res);

/* One request on an open client; waits for its stream to close. */
static void h2c_request(h2client *c, const char *method, const char *path, const char *ctype,
                        const char *encoding, const void *body, size_t body_len, h2res *res)
{
    h2c_submit(c, method, path, ctype, encoding, body, body_len, res);
    h2c_wait(c, res);
}

/* Runs the client until the stream of res closed. */
static void h2c_wait(h2client *c, h2res *res)
{
    while (!res->closed) {
        assert_int_equal(nghttp2_session_send(c->s), 0);
        struct pollfd p = {c->fd, POLLIN, 0};
        assert_true(poll(&p, 1, 3000) > 0);
        unsigned char buf[16384];
        ssize_t k = recv(c->fd, buf, sizeof buf, 0);
        assert_true(k > 0);
        assert_int_equal(nghttp2_session_mem_recv(c->s, buf, (size_t)k), k);
    }
}

/* Length-Prefixed-Message. */
static size_t lpm(unsigned char *out, int flag, const void *msg, size_t n)
{
    out[0] = (unsigned char)flag;
    out[1] = (unsigned char)(n >> 24);
    out[2] = (unsigned char)(n >> 16);
    out[3] = (unsigned char)(n >> 8);
    out[4] = (unsigned char)n;
    memcpy(out + 5, msg, n);
    return n + 5;
}

static void test_h2_plain(void **state)
{
    (void)state;
    h2client c;
    h2res r;
    h2c_open(&c);
    h2c_request(&c, "GET", "/hello", NULL, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain");
    assert_int_equal(r.ndata, 5);
    assert_memory_equal(r.data, "hello", 5);
    /* Same connection, a POST with a body, and the query helpers. */
    h2c_request(&c, "POST", "/echo", "application/x-protobuf", NULL, "payload", 7, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.ndata, 7);
    assert_memory_equal(r.data, "payload", 7);
    h2c_request(&c, "GET", "/q?name=x%2By", NULL, NULL, NULL, 0, &r);
    assert_int_equal(r.ndata, 11);
    assert_memory_equal(r.data, "1:x+y::test", 11); /* :authority is the host */
    h2c_request(&c, "GET", "/missing", NULL, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    h2c_request(&c, "POST", "/nocontent", NULL, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.ndata, 0);
    h2c_close_conn(&c);
    assert_true(metric("osprey_http_requests_total", "protocol=\"http2\",code=\"200\"") >= 3);
}

static void test_grpc_unary(void **state)
{
    (void)state;
    h2client c;
    h2res r;
    unsigned char req[256];
    size_t n = lpm(req, 0,
                   "\x0a\x03"
                   "abc",
                   5);
    h2c_open(&c);
    h2c_request(&c, "POST", "/test.Echo/Call", "application/grpc", NULL, req, n, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/grpc");
    assert_int_equal(r.grpc_status, 0);
    assert_false(r.trailers_only);
    assert_int_equal(r.nheaders_frames, 2); /* headers, then trailers */
    assert_int_equal(r.ndata, n);
    assert_memory_equal(r.data, req, n);
    /* An empty message is still one message. */
    n = lpm(req, 0, "", 0);
    h2c_request(&c, "POST", "/test.Echo/Call", "application/grpc+proto", "identity", req, n, &r);
    assert_int_equal(r.grpc_status, 0);
    assert_int_equal(r.ndata, 5);
    assert_memory_equal(r.data, "\0\0\0\0\0", 5);
    /* Compressed message. */
    const char *msg = "a compressed export request";
    size_t zn;
    unsigned char *z = gzip_bytes(msg, strlen(msg), &zn);
    n = lpm(req, 1, z, zn);
    free(z);
    h2c_request(&c, "POST", "/test.Echo/Call", "application/grpc", "gzip", req, n, &r);
    assert_int_equal(r.grpc_status, 0);
    assert_int_equal(r.ndata, strlen(msg) + 5);
    assert_memory_equal(r.data + 5, msg, strlen(msg));
    assert_int_equal(r.data[0], 0); /* responses are never compressed */
    /* Handler error: Trailers-Only with a percent-encoded message. */
    n = lpm(req, 0, "", 0);
    h2c_request(&c, "POST", "/test.Echo/Fail", "application/grpc", NULL, req, n, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.grpc_status, 3);
    assert_true(r.trailers_only);
    assert_string_equal(r.grpc_message, "bad span: 100%25 wrong%0A");
    assert_int_equal(r.ndata, 0);
    h2c_close_conn(&c);
    assert_true(metric("osprey_http_requests_total", "protocol=\"grpc\",code=\"0\"") >= 3);
}

static void test_grpc_errors(void **state)
{
    (void)state;
    h2client c;
    h2res r;
    unsigned char req[64];
    size_t n = lpm(req, 0, "x", 1);
    h2c_open(&c);
    /* Unsupported grpc-encoding. */
    h2c_request(&c, "POST", "/test.Echo/Call", "application/grpc", "snappy", req, n, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.grpc_status, 12);
    assert_string_equal(r.accept_encoding, "gzip,identity");
    assert_non_null(strstr(r.grpc_message, "snappy"));
    /* Compressed flag without an encoding. */
    n = lpm(req, 1, "x", 1);
    h2c_request(&c, "POST", "/test.Echo/Call", "application/grpc", NULL, req, n, &r);
    assert_int_equal(r.grpc_status, 13);
    /* Corrupt compressed message. */
    h2c_request(&c, "POST", "/test.Echo/Call", "application/grpc", "gzip", req, n, &r);
    assert_int_equal(r.grpc_status, 13);
    /* Two messages, and none. */
    n = lpm(req, 0, "x", 1);
    n += lpm(req + n, 0, "y", 1);
    h2c_request(&c, "POST", "/test.Echo/Call", "application/grpc", NULL, req, n, &r);
    assert_int_equal(r.grpc_status, 12);
    h2c_request(&c, "POST", "/test.Echo/Call", "application/grpc", NULL, NULL, 0, &r);
    assert_int_equal(r.grpc_status, 12);
    /* Truncated. */
    n = lpm(req, 0, "xyz", 3);
    h2c_request(&c, "POST", "/test.Echo/Call", "application/grpc", NULL, req, n - 1, &r);
    assert_int_equal(r.grpc_status, 13);
    /* Unknown method. */
    h2c_request(&c, "POST", "/test.Echo/Nope", "application/grpc", NULL, req, n, &r);
    assert_int_equal(r.grpc_status, 12);
    assert_true(r.trailers_only);
    /* Too large: refused while the body is still arriving. */
    size_t big = MAX_BODY + 100;
    unsigned char *huge = calloc(1, big + 5);
    n = lpm(huge, 0, huge + 5, big);
    h2c_request(&c, "POST", "/test.Echo/Call", "application/grpc", NULL, huge, n, &r);
    assert_int_equal(r.grpc_status, 8);
    assert_non_null(strstr(r.grpc_message, "1048576"));
    /* A bomb: small compressed, past the limit inflated. */
    size_t zn;
    unsigned char *z = gzip_bytes(huge, big, &zn);
    n = lpm(huge, 1, z, zn);
    free(z);
    h2c_request(&c, "POST", "/test.Echo/Call", "application/grpc", "gzip", huge, n, &r);
    assert_int_equal(r.grpc_status, 8);
    free(huge);
    /* The connection still works. */
    n = lpm(req, 0, "ok", 2);
    h2c_request(&c, "POST", "/test.Echo/Call", "application/grpc", NULL, req, n, &r);
    assert_int_equal(r.grpc_status, 0);
    h2c_close_conn(&c);
}

static void test_h2_limits(void **state)
{
    (void)state;
    h2client c;
    h2res r;
    static char big[5000];
    memset(big, 'a', sizeof big - 1);
    h2c_open(&c);
    /* Header list past max_header_bytes. */
    nghttp2_nv nva[] = {NVS(":method", "GET"), NVS(":scheme", "http"), NVS(":path", "/hello"),
                        NVS(":authority", "t"), NVS("x-big", big)};
    memset(&r, 0, sizeof r);
    c.res = &r;
    assert_true(nghttp2_submit_request(c.s, NULL, nva, 5, NULL, NULL) > 0);
    h2c_wait(&c, &r);
    assert_int_equal(r.status, 431);
    /* Declared length past max_body: answered from the headers, before the body is in. */
    nghttp2_nv post[] = {NVS(":method", "POST"), NVS(":scheme", "http"), NVS(":path", "/echo"),
                         NVS(":authority", "t"), NVS("content-length", "2000000")};
    static unsigned char body[2000000];
    memset(&r, 0, sizeof r);
    c.body = body;
    c.body_len = sizeof body;
    c.body_off = 0;
    nghttp2_data_provider prd = {.read_callback = h2c_body};
    assert_true(nghttp2_submit_request(c.s, NULL, post, 5, &prd, NULL) > 0);
    h2c_wait(&c, &r);
    assert_int_equal(r.status, 413);
    /* Unsupported Content-Encoding on plain HTTP/2. */
    nghttp2_nv enc[] = {NVS(":method", "POST"), NVS(":scheme", "http"), NVS(":path", "/echo"),
                        NVS(":authority", "t"), NVS("content-encoding", "zstd")};
    memset(&r, 0, sizeof r);
    assert_true(nghttp2_submit_request(c.s, NULL, enc, 5, NULL, NULL) > 0);
    h2c_wait(&c, &r);
    assert_int_equal(r.status, 415);
    h2c_request(&c, "GET", "/hello", NULL, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    h2c_close_conn(&c);
}

static void wait_slow(int n)
{
    for (int i = 0; i < 200 && atomic_load(&slow_done) < n; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&slow_done), n);
}

static void test_h2_disconnects(void **state)
{
    (void)state;
    h2client c;
    h2res r, r2;
    int before = atomic_load(&slow_done);
    /* The connection goes away while a handler runs. */
    h2c_open(&c);
    h2c_submit(&c, "POST", "/slow", NULL, NULL, NULL, 0, &r);
    c.res = &r;
    usleep(50 * 1000);
    h2c_close_conn(&c);
    wait_slow(before + 1);
    /* The client cancels the stream while a handler runs; the connection goes on. */
    h2c_open(&c);
    int32_t id = h2c_submit(&c, "POST", "/slow", NULL, NULL, NULL, 0, &r);
    c.res = &r;
    usleep(50 * 1000);
    assert_int_equal(nghttp2_submit_rst_stream(c.s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL), 0);
    assert_int_equal(nghttp2_session_send(c.s), 0);
    h2c_request(&c, "GET", "/hello", NULL, NULL, NULL, 0, &r2);
    assert_int_equal(r2.status, 200);
    wait_slow(before + 2);
    h2c_request(&c, "GET", "/hello", NULL, NULL, NULL, 0, &r2);
    assert_int_equal(r2.status, 200);
    /* Mid-body. */
    static unsigned char body[200000];
    h2c_submit(&c, "POST", "/echo", NULL, NULL, body, sizeof body, &r);
    h2c_close_conn(&c);
    resp hr;
    assert_int_equal(exchange("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &hr), 1);
    assert_int_equal(hr.status, 200);
}

static void test_h2_garbage_after_preface(void **state)
{
    (void)state;
    resp r;
    int fd = connect_server();
    send_str(fd, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nthis is not a frame at all......");
    assert_true(closed_by_server(fd, 3000));
    close(fd);
    /* A partial preface then disconnect. */
    fd = connect_server();
    send_str(fd, "PRI * HTTP/2");
    close(fd);
    assert_int_equal(exchange("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r), 1);
    assert_int_equal(r.status, 200);
}

/* ---- lifecycle (own servers) ---- */

static void test_graceful_shutdown(void **state)
{
    (void)state;
    start_server();
    resp r;
    int idle = connect_server();
    send_str(idle, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(idle, &r, 3000), 1);
    int busy = connect_server();
    send_str(busy, "POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    usleep(100 * 1000);
    osp_net_stop(net);
    /* The idle connection is closed; the busy one gets its answer, then is closed. */
    assert_true(closed_by_server(idle, 3000));
    assert_int_equal(read_resp(busy, &r, 3000), 1);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "slow", 4);
    assert_non_null(strstr(r.head, "Connection: close\r\n"));
    assert_true(closed_by_server(busy, 3000));
    pthread_join(loop_thread, NULL);
    close(idle);
    close(busy);
    /* No longer accepting. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_not_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    osp_net_destroy(net);
}

static void test_sigterm_stops(void **state)
{
    (void)state;
    start_server();
    resp r;
    h2client c;
    h2res hr;
    h2c_open(&c);
    h2c_request(&c, "GET", "/hello", NULL, NULL, NULL, 0, &hr);
    assert_int_equal(hr.status, 200);
    assert_int_equal(exchange("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r), 1); /* loop runs */
    kill(getpid(), SIGTERM);
    /* The HTTP/2 client gets GOAWAY and the connection closes. */
    assert_true(closed_by_server(c.fd, 3000));
    h2c_close_conn(&c);
    pthread_join(loop_thread, NULL);
    osp_net_destroy(net);
}

static void test_listen_errors(void **state)
{
    (void)state;
    osp_net *n2;
    assert_int_equal(osp_net_create(NULL, &n2), 0);
    assert_int_equal(osp_net_listen(n2, "nonsense", routes, 1), OSP_EINVAL);
    assert_int_equal(osp_net_listen(n2, "127.0.0.1:99999", routes, 1), OSP_EINVAL);
    assert_int_equal(osp_net_listen(n2, "127.0.0.1:", routes, 1), OSP_EINVAL);
    assert_int_equal(osp_net_listen(n2, "::1:80", routes, 1), OSP_EINVAL);
    assert_int_equal(osp_net_listen(n2, "300.1.1.1:80", routes, 1), OSP_EINVAL);
    osp_route bad = {"GET", NULL, h_hello, NULL, NULL, 0, 0, NULL};
    assert_int_equal(osp_net_listen(n2, "127.0.0.1:0", &bad, 1), OSP_EINVAL);
    assert_int_equal(osp_net_listen(n2, "[::1]:0", routes, 1), 0);
    assert_int_equal(osp_net_listen(n2, "localhost:0", routes, 1), 0);
    uint16_t p;
    assert_int_equal(osp_net_port(n2, 0, &p), 0);
    /* The port is taken now. */
    char addr[32];
    snprintf(addr, sizeof addr, "[::1]:%u", p);
    assert_int_equal(osp_net_listen(n2, addr, routes, 1), OSP_EIO);
    /* Destroying a net that never ran. */
    osp_net_destroy(n2);
    /* Stop before run returns at once. */
    assert_int_equal(osp_net_create(NULL, &n2), 0);
    osp_net_stop(n2);
    assert_int_equal(osp_net_run(n2), 0);
    osp_net_destroy(n2);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_keep_alive_and_pipelining),
        cmocka_unit_test(test_chunked_and_continue),
        cmocka_unit_test(test_large_body_direct_read),
        cmocka_unit_test(test_gzip_bodies),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_slow_clients),
        cmocka_unit_test(test_abrupt_disconnect),
        cmocka_unit_test(test_h2_plain),
        cmocka_unit_test(test_grpc_unary),
        cmocka_unit_test(test_grpc_errors),
        cmocka_unit_test(test_h2_limits),
        cmocka_unit_test(test_h2_disconnects),
        cmocka_unit_test(test_h2_garbage_after_preface),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_graceful_shutdown),
        cmocka_unit_test(test_sigterm_stops),
        cmocka_unit_test(test_listen_errors),
    };
    int failed = cmocka_run_group_tests_name("shared server", shared, setup, teardown);
    failed += cmocka_run_group_tests_name("lifecycle", own, NULL, NULL);
    return failed;
}
