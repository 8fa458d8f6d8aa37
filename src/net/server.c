/* The network core's loop: listeners, connections and their timeouts, HTTP/1 on the
 * wire, protocol detection and graceful shutdown. */
#include <arpa/inet.h>
#include <assert.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "net/h2.h"
#include "net/request.h"
#include "net/websocket.h"

#define DEFAULT_MAX_BODY ((size_t)64 << 20)
#define DEFAULT_MAX_HEADER ((size_t)64 << 10)
#define DEFAULT_MAX_INFLIGHT ((size_t)256 << 20)
#define DEFAULT_HEADER_MS 10000
#define DEFAULT_IDLE_MS 60000
#define DEFAULT_BODY_MS 30000
#define LISTEN_BACKLOG 511
#define LINGER_MS 2000       /* after the last response, wait this long for the client's FIN */
#define STOP_LINGER_MS 500   /* the same while shutting down */
#define GRACE_MS 10000       /* shutdown: connections still open after this are closed */
#define DIRECT_READ_MIN 4096 /* body reads go straight into the body buffer from this size */

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN (sizeof h2_preface - 1)

static void h1_input(osp__conn *c, char *data, size_t len);

/* ---- connections ---- */

static void on_timer(uv_timer_t *t);

void osp__conn_timer(osp__conn *c, enum osp__timer_kind kind, int restart)
{
    const osp_net_limits *lim = &c->net->lim;
    if (c->closing || (!restart && c->timer_kind == kind))
        return;
    c->timer_kind = kind;
    uint64_t ms;
    switch (kind) {
    case OSP__T_NONE:
        uv_timer_stop(&c->timer);
        return;
    case OSP__T_HEAD:
        ms = lim->header_timeout_ms;
        break;
    case OSP__T_BODY:
        ms = lim->body_timeout_ms;
        break;
    case OSP__T_LINGER:
        ms = c->net->stopping ? STOP_LINGER_MS : LINGER_MS;
        break;
    default:
        ms = lim->idle_timeout_ms;
        break;
    }
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void on_conn_closed(uv_handle_t *h)
{
    osp__conn *c = h->data;
    if (--c->nclosing)
        return;
    osp_net *net = c->net;
    assert(!c->reqs);
    if (c->prev)
        c->prev->next = c->next;
    else
        net->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    osp_buf_cleanup(&c->rbuf);
    osp_buf_cleanup(&c->wbuf);
    osp_free(c);
    if (net->stopping && !net->conns)
        uv_timer_stop(&net->grace);
}

void osp__conn_close(osp__conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->h2)
        osp__h2_free(c);
    if (c->ws)
        osp__ws_conn_gone(c);
    for (osp__req *r = c->reqs, *next; r; r = next) {
        next = r->next;
        if (r->state != OSP__REQ_WRITING) /* a pending write's callback frees it */
            osp__req_detach(r);
    }
    c->nclosing = 2;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    osp__conn *c = h->data;
    osp__req *r = c->cur;
    uint64_t left;
    (void)suggested;
    if (c->proto != OSP__CONN_H2 && !c->draining) {
        /* The rest of a body of known length goes straight into its buffer. */
        if (r && r->state == OSP__REQ_RECEIVING && c->rbuf.len == 0 &&
            osp_http1_body_left(&c->h1, &left)) {
            size_t room = r->body.cap - r->body.len;
            room = room < left ? room : (size_t)left;
            if (room >= DIRECT_READ_MIN) {
                *buf = uv_buf_init(r->body.data + r->body.len, room > UINT_MAX ? UINT_MAX : room);
                return;
            }
        }
        /* A partial head grows in place so it stays contiguous. */
        if (c->rbuf.len > 0 && osp_buf_reserve(&c->rbuf, OSP__READ_CHUNK) == 0) {
            *buf = uv_buf_init(c->rbuf.data + c->rbuf.len, (unsigned)(c->rbuf.cap - c->rbuf.len));
            return;
        }
    }
    *buf = uv_buf_init(c->net->rdbuf, OSP__READ_CHUNK);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void read_start(osp__conn *c)
{
    if (!c->reading && !c->closing && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = 1;
}

static void read_stop(osp__conn *c)
{
    if (c->reading && !c->closing)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    osp__conn *c = req->data;
    if (status < 0)
        osp__conn_close(c);
}

/* After a final response: send FIN, then discard input until the client closes (so it
 * reads the response rather than a reset), or the linger timer ends it. */
void osp__conn_drain(osp__conn *c)
{
    c->draining = 1;
    osp_buf_cleanup(&c->rbuf);
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown)) {
        osp__conn_close(c);
        return;
    }
    osp__conn_timer(c, OSP__T_LINGER, 1);
    read_start(c);
}

/* ---- HTTP/1 ---- */

static void h1_write_cb(uv_write_t *w, int status)
{
    osp__req *r = w->data;
    osp__conn *c = r->conn;
    int keep = r->keep_alive;
    osp__req_free(r);
    if (c->closing)
        return;
    if (status < 0) {
        osp__conn_close(c);
        return;
    }
    if (!keep) {
        osp__conn_drain(c);
        return;
    }
    read_start(c);
    h1_input(c, c->rbuf.data, c->rbuf.len); /* pipelined requests, or arms the idle timer */
}

int osp__h1_send(osp__req *r)
{
    osp__conn *c = r->conn;
    r->keep_alive = r->keep_alive && !c->net->stopping;
    osp_buf_reset(&r->out);
    if (osp_http1_write_head(&r->out, &r->res, r->res.body.len, r->keep_alive, r->minor))
        return OSP_ENOMEM;
    uv_buf_t bufs[2] = {uv_buf_init(r->out.data, (unsigned)r->out.len),
                        uv_buf_init(r->res.body.data, (unsigned)r->res.body.len)};
    unsigned n = r->res.body.len && !r->head_only && osp_http1_body_allowed(r->res.status) ? 2 : 1;
    r->wreq.data = r;
    if (uv_write(&r->wreq, (uv_stream_t *)&c->tcp, bufs, n, h1_write_cb))
        return OSP_EIO;
    r->state = OSP__REQ_WRITING;
    osp__conn_timer(c, OSP__T_WRITE, 1);
    return 0;
}

/* Answers c->cur now and closes the connection after it; input waits until then. */
static void h1_respond_close(osp__conn *c)
{
    read_stop(c);
    c->cur->keep_alive = 0;
    if (osp__req_respond(c->cur))
        osp__conn_close(c);
}

static void on_continue_written(uv_write_t *w, int status)
{
    (void)w;
    (void)status; /* a failed write shows up on the response */
}

/* Moves a slice of from[0..n) to the same place in its copy `to`; others stay. */
static osp_str rebase(osp_str s, const char *from, const char *to, size_t n)
{
    uintptr_t p = (uintptr_t)s.p, f = (uintptr_t)from;
    if (p >= f && p < f + n)
        s.p = to + (p - f);
    return s;
}

/* A head was parsed from `start`: the request is created with a copy of the head. */
static void h1_head(osp__conn *c, const char *start)
{
    const osp_http1_head *h = &c->h1.head;
    osp__req *r = osp__req_new(c, OSP_PROTO_HTTP1);
    char *copy = r ? osp_arena_memdup(&r->arena, start, h->len) : NULL;
    if (!copy) {
        osp__conn_close(c);
        return;
    }
    c->cur = r;
    r->pub.method = rebase(h->method, start, copy, h->len);
    r->pub.path = rebase(h->path, start, copy, h->len);
    r->pub.query = rebase(h->query, start, copy, h->len);
    for (size_t i = 0; i < h->nheaders; i++) {
        r->headers[i].name = rebase(h->headers[i].name, start, copy, h->len);
        r->headers[i].value = rebase(h->headers[i].value, start, copy, h->len);
    }
    r->pub.nheaders = h->nheaders;
    r->minor = h->minor;
    r->keep_alive = h->keep_alive;
    int has_body = h->chunked || h->content_length > 0;
    int64_t declared = h->content_length > INT64_MAX ? INT64_MAX : (int64_t)h->content_length;
    if (osp__req_start(r, h->chunked ? -1 : declared)) {
        if (has_body) /* answered before the body: the connection cannot be reused */
            h1_respond_close(c);
        return; /* without a body the answer goes out at DONE */
    }
    if (h->expect_continue && has_body) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_buf_t b = uv_buf_init((char *)cont, sizeof cont - 1);
        if (uv_write(&c->cont, (uv_stream_t *)&c->tcp, &b, 1, on_continue_written))
            osp__conn_close(c);
    }
}

static void h1_done(osp__conn *c)
{
    read_stop(c); /* one request at a time; pipelined bytes wait in rbuf */
    if (osp__req_dispatch(c->cur))
        osp__conn_close(c);
}

/* The parser refused the input: answer with its status and close. */
static void h1_bad_request(osp__conn *c)
{
    const osp_net_limits *lim = &c->net->lim;
    int status = c->h1.status;
    osp__req *r = c->cur;
    if (!r) {
        r = osp__req_new(c, OSP_PROTO_HTTP1);
        if (!r) {
            osp__conn_close(c);
            return;
        }
        c->cur = r;
    }
    if (status == 413)
        osp__req_fail(r, status, OSP__REJ_TOO_LARGE, "request body exceeds the limit of %zu bytes",
                      lim->max_body);
    else if (status == 431)
        osp__req_fail(r, status, OSP__REJ_TOO_LARGE,
                      "request header exceeds the limit of %zu bytes or %d fields",
                      lim->max_header_bytes, OSP_HTTP1_MAX_HEADERS);
    else if (status == 501)
        osp__req_fail(r, status, OSP__REJ_BAD_REQUEST, "unsupported transfer-encoding");
    else if (status == 505)
        osp__req_fail(r, status, OSP__REJ_BAD_REQUEST, "unsupported HTTP version");
    else if (status == 417)
        osp__req_fail(r, status, OSP__REJ_BAD_REQUEST, "unsupported expectation");
    else
        osp__req_fail(r, status, OSP__REJ_BAD_REQUEST, "malformed HTTP/1.1 request");
    h1_respond_close(c);
}

/* Timer for an HTTP/1 connection from its state. */
static void h1_timers(osp__conn *c)
{
    osp__req *r = c->cur;
    if (c->closing || c->draining)
        return;
    if (r && r->state == OSP__REQ_RECEIVING)
        osp__conn_timer(c, OSP__T_BODY, 1); /* gap between body bytes */
    else if (r && r->state == OSP__REQ_WORKING)
        osp__conn_timer(c, OSP__T_NONE, 1);
    else if (!r && (c->rbuf.len || osp_http1_busy(&c->h1)))
        osp__conn_timer(c, OSP__T_HEAD, 0); /* counts from the head's first byte */
    else if (!r)
        osp__conn_timer(c, OSP__T_IDLE, 0);
}

/* Runs the parser over data (either c->rbuf's bytes or freshly read ones) until it needs
 * more input or a request is being answered; what is left stays in c->rbuf. */
static void h1_input(osp__conn *c, char *data, size_t len)
{
    static char none[1];
    size_t off = 0;
    if (!data)
        data = none;
    while (!c->closing && !c->draining && (!c->cur || c->cur->state == OSP__REQ_RECEIVING)) {
        enum osp_http1_event ev;
        size_t used;
        osp_str body;
        if (osp_http1_parse(&c->h1, data + off, len - off, &ev, &used, &body)) {
            h1_bad_request(c);
            break;
        }
        off += used;
        if (ev == OSP_HTTP1_NEED_MORE)
            break;
        if (ev == OSP_HTTP1_HEAD)
            h1_head(c, data + off - c->h1.head.len);
        else if (ev == OSP_HTTP1_BODY && osp__req_body(c->cur, body))
            h1_respond_close(c);
        else if (ev == OSP_HTTP1_DONE)
            h1_done(c);
    }
    if (c->closing)
        return;
    if (c->ws) { /* upgraded: what follows the request are WebSocket frames */
        read_start(c);
        osp__ws_input(c, data + off, len - off);
        osp_buf_cleanup(&c->rbuf);
        return;
    }
    size_t rest = len - off;
    if (c->draining) {
        osp_buf_cleanup(&c->rbuf);
    } else if (data == c->rbuf.data) {
        if (off && rest)
            memmove(c->rbuf.data, data + off, rest);
        c->rbuf.len = rest;
    } else if (rest && osp_buf_append(&c->rbuf, data + off, rest)) {
        osp__conn_close(c);
        return;
    }
    if (c->rbuf.len == 0)
        osp_buf_cleanup(&c->rbuf); /* idle connections hold no buffer */
    h1_timers(c);
}

/* First bytes of a connection: the HTTP/2 preface, or else HTTP/1. */
static void detect(osp__conn *c, char *data, size_t len)
{
    size_t m = len < H2_PREFACE_LEN ? len : H2_PREFACE_LEN;
    if (memcmp(data, h2_preface, m) != 0) {
        c->proto = OSP__CONN_H1;
        h1_input(c, data, len);
        return;
    }
    if (len < H2_PREFACE_LEN) {
        if (data != c->rbuf.data && osp_buf_append(&c->rbuf, data, len))
            osp__conn_close(c);
        return;
    }
    if (osp__h2_start(c)) {
        osp__conn_close(c);
        return;
    }
    osp__h2_input(c, data, len);
    osp_buf_cleanup(&c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    osp__conn *c = s->data;
    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        if (c->cur && c->cur->state == OSP__REQ_RECEIVING)
            osp_debug("net", "client went away in the middle of a request: %s",
                      uv_strerror((int)nread));
        osp__conn_close(c);
        return;
    }
    if (c->draining)
        return;
    if (c->ws) {
        osp__ws_input(c, buf->base, (size_t)nread);
        return;
    }
    char *data = buf->base;
    size_t len = (size_t)nread;
    if (c->rbuf.data && data == c->rbuf.data + c->rbuf.len) {
        c->rbuf.len += len;
        data = c->rbuf.data;
        len = c->rbuf.len;
    } else if (data == c->net->rdbuf && c->rbuf.len > 0) {
        if (osp_buf_append(&c->rbuf, data, len)) {
            osp__conn_close(c);
            return;
        }
        data = c->rbuf.data;
        len = c->rbuf.len;
    }
    if (c->proto == OSP__CONN_H2)
        osp__h2_input(c, data, len);
    else if (c->proto == OSP__CONN_H1)
        h1_input(c, data, len);
    else
        detect(c, data, len);
}

static void on_timer(uv_timer_t *t)
{
    osp__conn *c = t->data;
    if (c->closing)
        return;
    if (c->proto == OSP__CONN_H2) {
        osp__h2_timeout(c);
        return;
    }
    if (c->timer_kind != OSP__T_HEAD && c->timer_kind != OSP__T_BODY) {
        osp__conn_close(c); /* idle, write stall, linger */
        return;
    }
    osp__net_reject(c->net, OSP__REJ_TIMEOUT);
    if (!c->cur && c->rbuf.len == 0 && !osp_http1_busy(&c->h1)) {
        osp__conn_close(c); /* never sent a byte */
        return;
    }
    osp__req *r = c->cur ? c->cur : osp__req_new(c, OSP_PROTO_HTTP1);
    if (!r) {
        osp__conn_close(c);
        return;
    }
    c->cur = r;
    osp__req_fail(r, 408, OSP__REJ_NONE, "request not received in time");
    h1_respond_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    osp__listener *l = server->data;
    osp_net *net = l->net;
    if (status < 0) {
        osp_warn("net", "accept failed: %s", uv_strerror(status));
        return;
    }
    osp__conn *c = osp_calloc(1, sizeof *c);
    if (!c) {
        osp_warn("net", "out of memory accepting a connection");
        return;
    }
    c->net = net;
    c->lst = l;
    uv_tcp_init(&net->loop, &c->tcp);
    uv_timer_init(&net->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    osp_http1_init(&c->h1, net->lim.max_header_bytes, net->lim.max_body);
    osp_buf_init(&c->rbuf, net->lim.max_header_bytes + OSP__READ_CHUNK);
    osp_buf_init(&c->wbuf, 0);
    c->next = net->conns;
    if (net->conns)
        net->conns->prev = c;
    net->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp)) {
        osp__conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    osp__conn_timer(c, OSP__T_HEAD, 1);
    read_start(c);
}

/* ---- the net ---- */

static void on_grace(uv_timer_t *t)
{
    osp_net *net = t->data;
    osp_warn("net", "shutdown: closing connections still open after %d ms", GRACE_MS);
    for (osp__conn *c = net->conns; c; c = c->next)
        osp__conn_close(c);
}

void osp_net_on_shutdown(osp_net *net, void (*fn)(void *ctx), void *ctx)
{
    net->on_shutdown = fn;
    net->on_shutdown_ctx = ctx;
}

/* Stop accepting; idle connections close now, busy ones after their response. */
static void begin_shutdown(osp_net *net)
{
    if (net->stopping)
        return;
    net->stopping = 1;
    osp_info("net", "shutting down: finishing requests in flight");
    if (net->on_shutdown)
        net->on_shutdown(net->on_shutdown_ctx);
    for (osp__listener *l = net->listeners; l; l = l->next)
        uv_close((uv_handle_t *)&l->tcp, NULL);
    if (net->signals_on) {
        uv_close((uv_handle_t *)&net->sigint, NULL);
        uv_close((uv_handle_t *)&net->sigterm, NULL);
        net->signals_on = 0;
    }
    uv_unref((uv_handle_t *)&net->async);
    for (osp__conn *c = net->conns; c; c = c->next) {
        if (c->closing || c->draining)
            continue;
        if (c->proto == OSP__CONN_H2)
            osp__h2_goaway(c);
        else if (c->ws)
            osp__ws_shutdown(c);
        else if (!c->cur && c->rbuf.len == 0 && !osp_http1_busy(&c->h1))
            osp__conn_close(c);
    }
    if (net->conns)
        uv_timer_start(&net->grace, on_grace, GRACE_MS, 0);
}

static void on_async(uv_async_t *a)
{
    begin_shutdown(a->data);
}

static void on_signal(uv_signal_t *s, int signum)
{
    osp_info("net", "received %s", strsignal(signum));
    begin_shutdown(s->data);
}

int osp_net_create(const osp_net_limits *limits, osp_net **out)
{
    int rc = OSP_ENOMEM, loop_ok = 0;
    osp_net *net = osp_calloc(1, sizeof *net);
    if (!net)
        return OSP_ENOMEM;
    if (limits)
        net->lim = *limits;
    osp_net_limits *lim = &net->lim;
    lim->max_body = lim->max_body ? lim->max_body : DEFAULT_MAX_BODY;
    lim->max_header_bytes = lim->max_header_bytes ? lim->max_header_bytes : DEFAULT_MAX_HEADER;
    lim->max_inflight_bytes =
        lim->max_inflight_bytes ? lim->max_inflight_bytes : DEFAULT_MAX_INFLIGHT;
    lim->header_timeout_ms = lim->header_timeout_ms ? lim->header_timeout_ms : DEFAULT_HEADER_MS;
    lim->idle_timeout_ms = lim->idle_timeout_ms ? lim->idle_timeout_ms : DEFAULT_IDLE_MS;
    lim->body_timeout_ms = lim->body_timeout_ms ? lim->body_timeout_ms : DEFAULT_BODY_MS;
    /* Read by libuv when its thread pool first starts. */
    setenv("UV_THREADPOOL_SIZE", "4", 0);
    net->rdbuf = osp_malloc(OSP__READ_CHUNK);
    if (!net->rdbuf || osp__h2_global_init(net))
        goto fail;
    rc = OSP_EIO;
    if (uv_loop_init(&net->loop))
        goto fail;
    loop_ok = 1;
    if (uv_async_init(&net->loop, &net->async, on_async))
        goto fail;
    net->async.data = net;
    uv_timer_init(&net->loop, &net->grace);
    net->grace.data = net;
    osp__net_metrics_init(net);
    *out = net;
    return 0;
fail:
    if (loop_ok) {
        uv_run(&net->loop, UV_RUN_DEFAULT);
        uv_loop_close(&net->loop);
    }
    if (net->h2cbs)
        osp__h2_global_cleanup(net);
    osp_free(net->rdbuf);
    osp_free(net);
    return rc;
}

/* "host:port", "[v6]:port"; an empty host or "*" is every IPv4 address. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1] || strlen(colon + 1) > 5)
        return OSP_EINVAL;
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535 || colon[1] < '0' || colon[1] > '9')
        return OSP_EINVAL;
    const char *h = addr;
    size_t hn = (size_t)(colon - addr);
    int v6 = 0;
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
        h++;
        hn -= 2;
        v6 = 1;
    }
    char host[INET6_ADDRSTRLEN];
    if (hn >= sizeof host || (!v6 && memchr(h, ':', hn)))
        return OSP_EINVAL;
    memcpy(host, h, hn);
    host[hn] = '\0';
    if (v6)
        return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) ? OSP_EINVAL : 0;
    if (hn == 0 || !strcmp(host, "*"))
        strcpy(host, "0.0.0.0");
    else if (!strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) ? OSP_EINVAL : 0;
}

/* One allocation holding the routes and their strings. */
static osp_route *copy_routes(const osp_route *routes, size_t n)
{
    size_t size = n * sizeof *routes;
    for (size_t i = 0; i < n; i++)
        size += strlen(routes[i].path) + 1 + (routes[i].method ? strlen(routes[i].method) + 1 : 0);
    osp_route *copy = osp_malloc(size ? size : 1);
    if (!copy)
        return NULL;
    char *strings = (char *)(copy + n);
    for (size_t i = 0; i < n; i++) {
        copy[i] = routes[i];
        size_t pn = strlen(routes[i].path) + 1;
        copy[i].path = memcpy(strings, routes[i].path, pn);
        strings += pn;
        if (routes[i].method) {
            size_t mn = strlen(routes[i].method) + 1;
            copy[i].method = memcpy(strings, routes[i].method, mn);
            strings += mn;
        }
    }
    return copy;
}

static void on_listener_failed(uv_handle_t *h)
{
    osp__listener *l = h->data;
    osp_free(l->routes);
    osp_free(l);
}

int osp_net_listen(osp_net *net, const char *addr, const osp_route *routes, size_t nroutes)
{
    struct sockaddr_storage ss;
    if (parse_addr(addr, &ss)) {
        osp_error("net", "bad listen address '%s' (want host:port or [v6]:port)", addr);
        return OSP_EINVAL;
    }
    for (size_t i = 0; i < nroutes; i++)
        if (!routes[i].path || !routes[i].handler)
            return OSP_EINVAL;
    osp__listener *l = osp_calloc(1, sizeof *l);
    osp_route *copy = l ? copy_routes(routes, nroutes) : NULL;
    if (!copy || uv_tcp_init(&net->loop, &l->tcp)) {
        osp_free(copy);
        osp_free(l);
        return OSP_ENOMEM;
    }
    l->net = net;
    l->routes = copy;
    l->nroutes = nroutes;
    l->tcp.data = l;
    int e = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
    if (!e)
        e = uv_listen((uv_stream_t *)&l->tcp, LISTEN_BACKLOG, on_connection);
    if (e) {
        osp_error("net", "cannot listen on %s: %s", addr, uv_strerror(e));
        uv_close((uv_handle_t *)&l->tcp, on_listener_failed);
        return OSP_EIO;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &blen) == 0)
        l->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    osp__listener **tail = &net->listeners;
    while (*tail)
        tail = &(*tail)->next;
    *tail = l;
    osp_info("net", "listening on %s (port %u)", addr, (unsigned)l->port);
    return 0;
}

int osp_net_port(const osp_net *net, size_t index, uint16_t *port)
{
    const osp__listener *l = net->listeners;
    for (; l && index; index--)
        l = l->next;
    if (!l)
        return OSP_ENOTFOUND;
    *port = l->port;
    return 0;
}

int osp_net_run(osp_net *net)
{
    if (atomic_load(&net->stop_requested)) {
        begin_shutdown(net);
    } else if (!net->stopping) {
        uv_signal_init(&net->loop, &net->sigint);
        uv_signal_init(&net->loop, &net->sigterm);
        net->sigint.data = net->sigterm.data = net;
        uv_signal_start(&net->sigint, on_signal, SIGINT);
        uv_signal_start(&net->sigterm, on_signal, SIGTERM);
        net->signals_on = 1;
    }
    uv_run(&net->loop, UV_RUN_DEFAULT);
    osp_info("net", "stopped");
    return 0;
}

void osp_net_stop(osp_net *net)
{
    atomic_store(&net->stop_requested, 1);
    uv_async_send(&net->async);
}

void osp_net_destroy(osp_net *net)
{
    if (!net)
        return;
    begin_shutdown(net);
    for (osp__conn *c = net->conns; c; c = c->next)
        osp__conn_close(c);
    uv_close((uv_handle_t *)&net->async, NULL);
    uv_close((uv_handle_t *)&net->grace, NULL);
    uv_run(&net->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&net->loop))
        osp_warn("net", "event loop still had handles at exit");
    for (osp__listener *l = net->listeners, *next; l; l = next) {
        next = l->next;
        osp_free(l->routes);
        osp_free(l);
    }
    osp__req_cache_clear(net);
    osp__h2_global_cleanup(net);
    osp_free(net->rdbuf);
    osp_free(net);
}
