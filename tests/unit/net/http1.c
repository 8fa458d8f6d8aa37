/* Unit tests for net/http1: the incremental request parser and the response-head writer. */
#include "testutil.h"

#include "core/err.h"
#include "net/http1.h"

#define MAXREQ 4

typedef struct run {
    int rc;     /* last return code */
    int status; /* parser status after an error */
    int nheads, ndone;
    osp_http1_head heads[MAXREQ];
    char body[MAXREQ][512];
    size_t blen[MAXREQ];
    size_t consumed;
} run;

/* Feeds text to a fresh parser `step` bytes at a time (0 = all at once), the way a
 * connection does: unconsumed bytes stay in place and more are appended behind them. */
static void feed(const char *text, size_t step, size_t max_head, uint64_t max_body, run *r)
{
    static osp_http1_parser p;
    static char buf[1 << 16];
    size_t total = strlen(text);
    assert_true(total < sizeof buf);
    memcpy(buf, text, total);
    memset(r, 0, sizeof *r);
    osp_http1_init(&p, max_head, max_body);
    size_t avail = step ? 0 : total;
    for (;;) {
        enum osp_http1_event ev;
        size_t used;
        osp_str body;
        r->rc = osp_http1_parse(&p, buf + r->consumed, avail - r->consumed, &ev, &used, &body);
        if (r->rc) {
            r->status = p.status;
            return;
        }
        assert_true(used <= avail - r->consumed);
        r->consumed += used;
        if (ev == OSP_HTTP1_HEAD) {
            assert_true(r->nheads < MAXREQ);
            r->heads[r->nheads++] = p.head;
        } else if (ev == OSP_HTTP1_BODY) {
            int i = r->nheads - 1;
            assert_true(i >= 0 && r->blen[i] + body.n <= sizeof r->body[i]);
            assert_ptr_equal(body.p >= buf + r->consumed - used, 1);
            memcpy(r->body[i] + r->blen[i], body.p, body.n);
            r->blen[i] += body.n;
        } else if (ev == OSP_HTTP1_DONE) {
            r->ndone++;
        } else if (avail == total) {
            return;
        } else {
            avail = avail + step > total ? total : avail + step;
        }
    }
}

static void feed_all_steps(const char *text, run *expect)
{
    feed(text, 0, 8192, 1 << 20, expect);
    for (size_t step = 1; step < 40; step++) {
        run r;
        feed(text, step, 8192, 1 << 20, &r);
        assert_int_equal(r.rc, expect->rc);
        assert_int_equal(r.status, expect->status);
        assert_int_equal(r.nheads, expect->nheads);
        assert_int_equal(r.ndone, expect->ndone);
        for (int i = 0; i < r.nheads; i++) {
            assert_int_equal(r.blen[i], expect->blen[i]);
            assert_memory_equal(r.body[i], expect->body[i], r.blen[i]);
        }
    }
}

static int eqz(osp_str s, const char *z)
{
    return osp_str_eqz(s, z);
}

static osp_str hdr(const osp_http1_head *h, const char *name)
{
    for (size_t i = 0; i < h->nheaders; i++)
        if (eqz(h->headers[i].name, name))
            return h->headers[i].value;
    return OSP_STR_NULL;
}

static void test_simple_get(void **state)
{
    (void)state;
    run r;
    feed_all_steps("GET /api/v1/traces?service=a%20b&limit=5 HTTP/1.1\r\n"
                   "Host: example\r\n"
                   "X-Custom-Header:   padded value \t\r\n"
                   "\r\n",
                   &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.nheads, 1);
    assert_int_equal(r.ndone, 1);
    const osp_http1_head *h = &r.heads[0];
    assert_true(eqz(h->method, "GET"));
    assert_true(eqz(h->path, "/api/v1/traces"));
    assert_true(eqz(h->query, "service=a%20b&limit=5"));
    assert_int_equal(h->minor, 1);
    assert_true(h->keep_alive);
    assert_false(h->chunked);
    assert_int_equal(h->content_length, 0);
    assert_int_equal(h->nheaders, 2);
    assert_true(eqz(hdr(h, "x-custom-header"), "padded value"));
    assert_true(eqz(hdr(h, "host"), "example"));
}

static void test_pipelined(void **state)
{
    (void)state;
    run r;
    feed_all_steps("POST /v1/traces HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                   "GET /b HTTP/1.1\r\nHost: a\r\n\r\n"
                   "\r\n" /* a stray empty line between requests is ignored */
                   "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "3\r\nabc\r\n0\r\n\r\n"
                   "GET /d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                   &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.nheads, 4);
    assert_int_equal(r.ndone, 4);
    assert_true(eqz(r.heads[0].path, "/v1/traces"));
    assert_int_equal(r.blen[0], 5);
    assert_memory_equal(r.body[0], "hello", 5);
    assert_true(eqz(r.heads[1].path, "/b"));
    assert_int_equal(r.blen[1], 0);
    assert_true(r.heads[2].chunked);
    assert_int_equal(r.blen[2], 3);
    assert_memory_equal(r.body[2], "abc", 3);
    assert_true(eqz(r.heads[3].path, "/d"));
    assert_false(r.heads[3].keep_alive);
}

static void test_chunked_extensions_trailers(void **state)
{
    (void)state;
    run r;
    feed_all_steps("POST /x HTTP/1.1\r\nHost: a\r\ntransfer-encoding: Chunked\r\n\r\n"
                   "5;name=value\r\nhello\r\n"
                   "1 ; quoted=\"a;b\"\r\n \r\n"
                   "A\r\n0123456789\r\n"
                   "0;last\r\n"
                   "X-Trailer: one\r\n"
                   "Another: two\r\n"
                   "\r\n"
                   "GET /next HTTP/1.1\r\nHost: a\r\n\r\n",
                   &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.nheads, 2);
    assert_int_equal(r.ndone, 2);
    assert_int_equal(r.blen[0], 16);
    assert_memory_equal(r.body[0], "hello 0123456789", 16);
    assert_true(eqz(r.heads[1].path, "/next"));
}

static void test_bare_lf_accepted(void **state)
{
    (void)state;
    run r;
    feed_all_steps("POST /x HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n"
                   "2\nok\n0\nT: v\n\n",
                   &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.ndone, 1);
    assert_int_equal(r.blen[0], 2);
    assert_memory_equal(r.body[0], "ok", 2);
}

static void test_http10_and_connection(void **state)
{
    (void)state;
    run r;
    feed("GET / HTTP/1.0\r\n\r\n", 0, 8192, 100, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.heads[0].minor, 0);
    assert_false(r.heads[0].keep_alive);
    feed("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, 8192, 100, &r);
    assert_true(r.heads[0].keep_alive);
    feed("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, close\r\n\r\n", 0, 8192, 100, &r);
    assert_false(r.heads[0].keep_alive);
    /* Expect is ignored for HTTP/1.0. */
    feed("GET / HTTP/1.0\r\nExpect: something\r\n\r\n", 0, 8192, 100, &r);
    assert_int_equal(r.rc, 0);
    assert_false(r.heads[0].expect_continue);
}

static void test_target_forms(void **state)
{
    (void)state;
    run r;
    feed("GET http://example.com:80/p/q?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", 0, 8192, 10, &r);
    assert_int_equal(r.rc, 0);
    assert_true(eqz(r.heads[0].path, "/p/q"));
    assert_true(eqz(r.heads[0].query, "x=1"));
    feed("GET HTTPS://example.com?y=2 HTTP/1.1\r\nHost: a\r\n\r\n", 0, 8192, 10, &r);
    assert_true(eqz(r.heads[0].path, "/"));
    assert_true(eqz(r.heads[0].query, "y=2"));
    feed("GET http://example.com HTTP/1.1\r\nHost: a\r\n\r\n", 0, 8192, 10, &r);
    assert_true(eqz(r.heads[0].path, "/"));
    assert_int_equal(r.heads[0].query.n, 0);
    feed("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0, 8192, 10, &r);
    assert_true(eqz(r.heads[0].path, "*"));
    feed("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 0, 8192, 10, &r);
    assert_int_equal(r.rc, OSP_EPARSE);
    feed("GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", 0, 8192, 10, &r);
    assert_int_equal(r.rc, OSP_EPARSE);
}

static void test_expect_continue(void **state)
{
    (void)state;
    run r;
    feed("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi", 0,
         8192, 10, &r);
    assert_int_equal(r.rc, 0);
    assert_true(r.heads[0].expect_continue);
    assert_int_equal(r.blen[0], 2);
    feed("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 0, 8192, 10, &r);
    assert_int_equal(r.rc, OSP_EPARSE);
    assert_int_equal(r.status, 417);
}

static void test_body_left_and_busy(void **state)
{
    (void)state;
    osp_http1_parser p;
    char req[] = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123";
    enum osp_http1_event ev;
    size_t used;
    osp_str body;
    uint64_t left = 0;
    osp_http1_init(&p, 1024, 100);
    assert_false(osp_http1_busy(&p));
    assert_int_equal(osp_http1_parse(&p, req, 3, &ev, &used, &body), 0);
    assert_int_equal(ev, OSP_HTTP1_NEED_MORE);
    assert_int_equal(used, 0);
    assert_true(osp_http1_busy(&p));
    assert_false(osp_http1_body_left(&p, &left));
    assert_int_equal(osp_http1_parse(&p, req, sizeof req - 1, &ev, &used, &body), 0);
    assert_int_equal(ev, OSP_HTTP1_HEAD);
    assert_int_equal(p.head.len, used);
    assert_true(osp_http1_body_left(&p, &left));
    assert_int_equal(left, 10);
    size_t off = used;
    assert_int_equal(osp_http1_parse(&p, req + off, sizeof req - 1 - off, &ev, &used, &body), 0);
    assert_int_equal(ev, OSP_HTTP1_BODY);
    assert_int_equal(body.n, 4);
    assert_true(osp_http1_body_left(&p, &left));
    assert_int_equal(left, 6);
    assert_int_equal(osp_http1_parse(&p, req, 0, &ev, &used, &body), 0);
    assert_int_equal(ev, OSP_HTTP1_NEED_MORE);
    assert_int_equal(osp_http1_parse(&p, "456789", 6, &ev, &used, &body), 0);
    assert_int_equal(ev, OSP_HTTP1_BODY);
    assert_int_equal(osp_http1_parse(&p, req, 0, &ev, &used, &body), 0);
    assert_int_equal(ev, OSP_HTTP1_DONE);
    assert_false(osp_http1_busy(&p));
}

/* Parses text at once and expects an error with the given code and status; also checks
 * byte-by-byte feeding gives the same. */
static void expect_error(const char *text, int rc, int status)
{
    run r;
    feed(text, 0, 256, 1000, &r);
    if (r.rc != rc || r.status != status)
        fail_msg("%s: rc %d status %d, expected %d %d", text, r.rc, r.status, rc, status);
    feed(text, 1, 256, 1000, &r);
    if (r.rc != rc || r.status != status)
        fail_msg("%s (bytewise): rc %d status %d", text, r.rc, r.status);
}

static void test_request_line_errors(void **state)
{
    (void)state;
    expect_error("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", OSP_EPARSE, 400);
    expect_error(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", OSP_EPARSE, 400);
    expect_error("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", OSP_EPARSE, 400);
    expect_error("GET /\r\nHost: a\r\n\r\n", OSP_EPARSE, 400);
    expect_error("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", OSP_EPARSE, 400);
    expect_error("GET / http/1.1\r\nHost: a\r\n\r\n", OSP_EPARSE, 400);
    expect_error("GET / HTTP/2.0\r\nHost: a\r\n\r\n", OSP_EPARSE, 505);
    expect_error("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", OSP_EPARSE, 400);
    expect_error("GET\r\n\r\n", OSP_EPARSE, 400);
}

static void test_header_errors(void **state)
{
    (void)state;
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", OSP_EPARSE, 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nName : v\r\n\r\n", OSP_EPARSE, 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", OSP_EPARSE, 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nA: b\r\n folded\r\n\r\n", OSP_EPARSE, 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nA: b\x01\r\n\r\n", OSP_EPARSE, 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nA: b\rc\r\n\r\n", OSP_EPARSE, 400);
    expect_error("GET / HTTP/1.1\r\n\r\n", OSP_EPARSE, 400);                       /* no Host */
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", OSP_EPARSE, 400); /* two */
}

static void test_framing_errors(void **state)
{
    (void)state;
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", OSP_EPARSE, 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", OSP_EPARSE, 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", OSP_EPARSE, 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                 OSP_EPARSE, 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n",
                 OSP_EPARSE, 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                 OSP_EPARSE, 501);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n",
                 OSP_EPARSE, 501);
    expect_error("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", OSP_EPARSE, 400);
    /* Same length twice is fine. */
    run r;
    feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", 0, 256,
         10, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.ndone, 1);
}

static void test_size_limits(void **state)
{
    (void)state;
    /* A declared Content-Length past max_body is the server's to refuse once it has routed
     * the request (so the route can shape the error); the parser passes the head on. An
     * unparseable length is still a parse error. */
    run head;
    feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", 0, 256, 1000, &head);
    assert_int_equal(head.rc, 0);
    assert_int_equal(head.nheads, 1);
    feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 0, 256,
         1000, &head);
    assert_int_equal(head.rc, 0);
    assert_true(head.heads[0].content_length == UINT64_MAX); /* saturated, still refused */
    /* Head larger than max_head (256 here), complete or not. */
    char big[1024];
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: %0300d\r\n\r\n", 0);
    expect_error(big, OSP_ETOOBIG, 431);
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: %0300d", 0);
    expect_error(big, OSP_ETOOBIG, 431);
    /* A head of exactly max_head bytes is accepted. */
    run r;
    char exact[300];
    int pad = 256 - (int)strlen("GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n");
    snprintf(exact, sizeof exact, "GET / HTTP/1.1\r\nHost: a\r\nX: %0*d\r\n\r\n", pad, 0);
    assert_int_equal(strlen(exact), 256);
    feed(exact, 0, 256, 1000, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.ndone, 1);
    /* Too many header fields. */
    char many[8192] = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < OSP_HTTP1_MAX_HEADERS; i++)
        strcat(many, "a: b\r\n");
    strcat(many, "\r\n");
    feed(many, 0, 8192, 10, &r);
    assert_int_equal(r.rc, OSP_ETOOBIG);
    assert_int_equal(r.status, 431);
    /* Chunked bodies are counted after de-chunking. */
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n",
                 OSP_ETOOBIG, 413);
    feed("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
         "3\r\nabc\r\n3\r\nabc\r\n",
         0, 256, 5, &r);
    assert_int_equal(r.rc, OSP_ETOOBIG);
    assert_int_equal(r.status, 413);
}

static void test_chunk_errors(void **state)
{
    (void)state;
    const char *h = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    const char *bad[] = {
        "g\r\n",                 /* not hex */
        "\r\n",                  /* no size */
        ";ext\r\n",              /* extension without size */
        "3x\r\n",                /* junk after the size */
        "3\rX",                  /* CR not followed by LF */
        "3;a=\x01\r\n",          /* control character in an extension */
        "3\r\nabcX",             /* data not followed by CRLF */
        "3\r\nabc\rX",           /* data followed by CR only */
        "10000000000000000\r\n", /* size overflows 64 bits */
        "0\r\n bad\r\n\r\n",     /* folded trailer */
        "0\r\nnocolon\r\n\r\n",  /* trailer without ':' */
        "0\r\nA: \x01\r\n\r\n",  /* control character in a trailer */
        "0\r\nA: b\rX",          /* trailer CR not followed by LF */
        "0\r\n\rX",              /* final CR not followed by LF */
    };
    char text[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%s%s", h, bad[i]);
        expect_error(text, OSP_EPARSE, 400);
    }
    /* Extensions past the line limit. */
    static char longext[OSP_HTTP1_MAX_LINE + 200];
    int n = snprintf(longext, sizeof longext, "%s1;", h);
    memset(longext + n, 'a', OSP_HTTP1_MAX_LINE + 10);
    run r;
    feed(longext, 0, 256, 1000, &r);
    assert_int_equal(r.rc, OSP_EPARSE);
    /* Endless leading zeros in a size. */
    n = snprintf(longext, sizeof longext, "%s", h);
    memset(longext + n, '0', OSP_HTTP1_MAX_LINE + 10);
    longext[n + OSP_HTTP1_MAX_LINE + 10] = '\0';
    feed(longext, 0, 256, 1000, &r);
    assert_int_equal(r.rc, OSP_EPARSE);
    /* Trailers longer than max_head. */
    n = snprintf(longext, sizeof longext, "%s0\r\nA: ", h);
    memset(longext + n, 'v', 300);
    strcpy(longext + n + 300, "\r\n\r\n");
    feed(longext, 0, 256, 1000, &r);
    assert_int_equal(r.rc, OSP_ETOOBIG);
    assert_int_equal(r.status, 431);
}

static void test_error_is_sticky(void **state)
{
    (void)state;
    osp_http1_parser p;
    char bad[] = "BAD\r\n\r\n";
    enum osp_http1_event ev;
    size_t used;
    osp_str body;
    osp_http1_init(&p, 1024, 10);
    assert_int_equal(osp_http1_parse(&p, bad, sizeof bad - 1, &ev, &used, &body), OSP_EPARSE);
    char good[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_int_equal(osp_http1_parse(&p, good, sizeof good - 1, &ev, &used, &body), OSP_EPARSE);
    osp_http1_init(&p, 1024, 10);
    assert_int_equal(osp_http1_parse(&p, good, sizeof good - 1, &ev, &used, &body), 0);
    assert_int_equal(ev, OSP_HTTP1_HEAD);
}

static void test_write_head(void **state)
{
    (void)state;
    osp_http_response res = {.status = 404, .content_type = "application/json"};
    res.extra[0] = (osp_http_header){OSP_STR_LIT("retry-after"), OSP_STR_LIT("1")};
    res.nextra = 1;
    osp_buf out;
    osp_buf_init(&out, 0);
    assert_int_equal(osp_http1_write_head(&out, &res, 12, 1, 1), 0);
    const char *want = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                       "Content-Length: 12\r\nretry-after: 1\r\n\r\n";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    osp_buf_reset(&out);
    res = (osp_http_response){.status = 299};
    assert_int_equal(osp_http1_write_head(&out, &res, 0, 0, 1), 0);
    want = "HTTP/1.1 299 Unknown\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    osp_buf_reset(&out);
    assert_int_equal(osp_http1_write_head(&out, &res, 0, 1, 0), 0);
    assert_non_null(memmem(out.data, out.len, "Connection: keep-alive\r\n", 24));
    osp_buf_reset(&out);
    res.status = 204;
    assert_int_equal(osp_http1_write_head(&out, &res, 0, 1, 1), 0);
    assert_null(memmem(out.data, out.len, "Content-Length", 14));
    assert_false(osp_http1_body_allowed(304));
    assert_false(osp_http1_body_allowed(101));
    assert_true(osp_http1_body_allowed(200));
    osp_buf_cleanup(&out);
    osp_buf_init(&out, 10);
    assert_int_equal(osp_http1_write_head(&out, &res, 0, 1, 1), OSP_ETOOBIG);
    osp_buf_cleanup(&out);
    assert_string_equal(osp_http1_reason(413), "Content Too Large");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_chunked_extensions_trailers),
        cmocka_unit_test(test_bare_lf_accepted),
        cmocka_unit_test(test_http10_and_connection),
        cmocka_unit_test(test_target_forms),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_body_left_and_busy),
        cmocka_unit_test(test_request_line_errors),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_framing_errors),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_chunk_errors),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_write_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
