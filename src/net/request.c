/* Request lifecycle shared by HTTP/1 and HTTP/2: routing, limits and backpressure on the
 * loop thread, body decoding and the handler call on a worker, metrics on the way out. */
#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/err.h"
#include "core/gzip.h"
#include "core/log.h"
#include "core/mem.h"
#include "net/grpc.h"
#include "net/h2.h"
#include "net/request.h"
#include "net/websocket.h"

#define REQ_CACHE_MAX 64          /* freed requests kept for reuse */
#define REQ_KEEP_BUF (256 * 1024) /* buffers up to this capacity stay with a cached request */
#define REQ_ARENA_CHUNK (8 * 1024)

static const char *const proto_names[] = {"http1", "http2", "grpc"};

/* requests_total series, registered on first use per protocol and code. */
#define CODE_SLOTS 600
static _Atomic(osp_metric *) requests_total[3][CODE_SLOTS];

/* code: an HTTP status (200-599) or a gRPC status (0-16). */
static void count_request(enum osp_http_proto proto, int code)
{
    assert(code >= 0 && code < CODE_SLOTS);
    osp_metric *m = atomic_load_explicit(&requests_total[proto][code], memory_order_acquire);
    if (!m) {
        char labels[64];
        snprintf(labels, sizeof labels, "protocol=\"%s\",code=\"%d\"", proto_names[proto], code);
        m = osp_counter("osprey_http_requests_total", "Requests answered, by protocol and code.",
                        labels);
        atomic_store_explicit(&requests_total[proto][code], m, memory_order_release);
    }
    osp_counter_inc(m);
}

void osp__net_metrics_init(osp_net *net)
{
    static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    static const char *const reasons[] = {"too_large", "overloaded", "bad_request", "timeout"};
    char labels[64];
    net->m_inflight =
        osp_gauge("osprey_http_inflight_requests", "Requests received and not yet answered.", "");
    for (int p = 0; p < 3; p++) {
        snprintf(labels, sizeof labels, "protocol=\"%s\"", proto_names[p]);
        net->m_duration[p] = osp_metric_histogram("osprey_http_request_duration_seconds",
                                                  "Time from a request's head to its response.",
                                                  labels, bounds, sizeof bounds / sizeof bounds[0]);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(labels, sizeof labels, "reason=\"%s\"", reasons[i]);
        net->m_rejected[i] =
            osp_counter("osprey_http_rejected_total",
                        "Requests refused by the network core, by reason.", labels);
    }
}

void osp__net_reject(osp_net *net, enum osp__reject reason)
{
    if (reason != OSP__REJ_NONE)
        osp_counter_inc(net->m_rejected[reason]);
}

osp__req *osp__req_new(osp__conn *c, enum osp_http_proto proto)
{
    osp_net *net = c->net;
    osp__req *r = net->req_cache;
    if (r) {
        net->req_cache = r->next;
        net->ncache--;
    } else {
        r = osp_calloc(1, sizeof *r);
        if (!r)
            return NULL;
        osp_buf_init(&r->body, 0);
        osp_buf_init(&r->inflated, 0);
        osp_buf_init(&r->out, 0);
        osp_buf_init(&r->res.body, 0);
    }
    osp_buf_reset(&r->body);
    osp_buf_reset(&r->inflated);
    osp_buf_reset(&r->out);
    r->body.max = net->lim.max_body;
    r->inflated.max = net->lim.max_body;
    osp_arena_init(&r->arena, REQ_ARENA_CHUNK, 0);
    r->pub = (osp_http_request){.proto = proto, .headers = r->headers, .arena = &r->arena};
    osp_buf body = r->res.body;
    osp_buf_reset(&body);
    r->res = (osp_http_response){.status = 200, .body = body, .arena = &r->arena};
    r->net = net;
    r->conn = c;
    r->route = NULL;
    r->state = OSP__REQ_RECEIVING;
    r->coding = OSP__CODING_IDENTITY;
    r->grpc_encoding = OSP_STR_NULL;
    r->early = r->keep_alive = r->minor = r->head_only = r->upgrade = 0;
    r->ws = NULL;
    r->charged = r->hdr_bytes = r->out_off = 0;
    r->hdr_overflow = 0;
    r->stream_id = 0;
    r->t_start = uv_hrtime();
    r->prev = NULL;
    r->next = c->reqs;
    if (c->reqs)
        c->reqs->prev = r;
    c->reqs = r;
    osp_gauge_add(net->m_inflight, 1);
    return r;
}

static void unlink_req(osp__req *r)
{
    osp__conn *c = r->conn;
    if (!c)
        return;
    if (r->prev)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (c->cur == r)
        c->cur = NULL;
    r->conn = NULL;
    r->prev = r->next = NULL;
}

static void trim_buf(osp_buf *b)
{
    if (b->cap > REQ_KEEP_BUF)
        osp_buf_cleanup(b);
    osp_buf_reset(b);
}

static void destroy_req(osp__req *r)
{
    osp_buf_cleanup(&r->body);
    osp_buf_cleanup(&r->inflated);
    osp_buf_cleanup(&r->out);
    osp_buf_cleanup(&r->res.body);
    osp_free(r);
}

void osp__req_cache_clear(osp_net *net)
{
    while (net->req_cache) {
        osp__req *r = net->req_cache;
        net->req_cache = r->next;
        destroy_req(r);
    }
    net->ncache = 0;
}

void osp__req_free(osp__req *r)
{
    osp_net *net = r->net;
    unlink_req(r);
    net->inflight_bytes -= r->charged;
    r->charged = 0;
    osp_gauge_add(net->m_inflight, -1);
    osp_arena_cleanup(&r->arena);
    if (net->ncache < REQ_CACHE_MAX && !net->stopping) {
        trim_buf(&r->body);
        trim_buf(&r->inflated);
        trim_buf(&r->out);
        trim_buf(&r->res.body);
        r->next = net->req_cache;
        net->req_cache = r;
        net->ncache++;
        return;
    }
    destroy_req(r);
}

void osp__req_detach(osp__req *r)
{
    if (r->state == OSP__REQ_WORKING)
        unlink_req(r);
    else
        osp__req_free(r);
}

void osp__req_fail(osp__req *r, int status, enum osp__reject reason, const char *fmt, ...)
{
    osp_buf msg;
    osp_buf_init(&msg, 0);
    va_list ap;
    va_start(ap, fmt);
    int rc = osp_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    osp_http_response_error(&r->res, status, "%.*s", rc ? 0 : (int)msg.len,
                            msg.data ? msg.data : "");
    r->res.nextra = 0;
    if (r->pub.proto != OSP_PROTO_GRPC && r->route && r->route->error_body) {
        osp_buf_reset(&r->res.body);
        r->route->error_body(&r->pub, &r->res, osp_grpc_code_from_http(status),
                             rc ? OSP_STR_NULL : osp_buf_str(&msg));
    }
    osp_buf_cleanup(&msg);
    if (r->pub.proto == OSP_PROTO_GRPC) {
        r->res.grpc_status = osp_grpc_code_from_http(status);
        r->res.status = 200;
        r->res.content_type = NULL;
        osp_buf_reset(&r->res.body);
    } else if (status == 503) {
        osp_http_response_header(&r->res, "retry-after", OSP_STR_LIT("1"));
    }
    osp__net_reject(r->net, reason);
}

/* Exact path, or a prefix when the route's path ends with '*'. */
static int route_matches(const osp_route *rt, osp_str path)
{
    size_t n = strlen(rt->path);
    if (n && rt->path[n - 1] == '*')
        return osp_str_has_prefix(path, osp_str_make(rt->path, n - 1));
    return osp_str_eqz(path, rt->path);
}

/* Whether rt takes path in a pass of the routing: ordinary routes in pass 0, fallback
 * routes in pass 1 (only for paths no ordinary route matches). */
static int takes_path(const osp_route *rt, osp_str path, int pass)
{
    if ((rt->fallback != NULL) != pass || !route_matches(rt, path))
        return 0;
    return !pass || rt->fallback(path);
}

/* The pass whose routes own path: 0 when an ordinary route matches it, else 1. */
static int routing_pass(const osp__listener *l, osp_str path)
{
    for (size_t i = 0; i < l->nroutes; i++)
        if (takes_path(&l->routes[i], path, 0))
            return 0;
    return 1;
}

static const osp_route *find_route(const osp__listener *l, osp_str method, osp_str path,
                                   int *path_known)
{
    *path_known = 0;
    for (int pass = 0; pass < 2 && !*path_known; pass++) {
        for (size_t i = 0; i < l->nroutes; i++) {
            const osp_route *rt = &l->routes[i];
            if (!takes_path(rt, path, pass))
                continue;
            *path_known = 1;
            if (!rt->method || osp_str_eqz(method, rt->method))
                return rt;
        }
    }
    return NULL;
}

/* The Allow header value for path: the methods of every route that takes it. */
static osp_str allow_value(osp__req *r, const osp__listener *l, osp_str path)
{
    int pass = routing_pass(l, path);
    osp_buf b;
    osp_buf_init(&b, 1024);
    for (size_t i = 0; i < l->nroutes; i++) {
        const osp_route *rt = &l->routes[i];
        if (rt->method && takes_path(rt, path, pass)) {
            if (b.len)
                osp_buf_append(&b, ", ", 2);
            osp_buf_puts(&b, rt->method);
        }
    }
    osp_str v = osp_arena_strdup(&r->arena, osp_buf_str(&b));
    osp_buf_cleanup(&b);
    return v.p ? v : OSP_STR_NULL;
}

static int early(osp__req *r)
{
    r->early = 1;
    return 1;
}

/* Routing; answers 404/405 (gRPC: UNIMPLEMENTED) when no route takes the request. */
static int route_request(osp__req *r)
{
    const osp__listener *l = r->conn->lst;
    int known;
    r->route = find_route(l, r->pub.method, r->pub.path, &known);
    if (!r->route && osp_str_eqz(r->pub.method, "HEAD")) {
        r->route = find_route(l, OSP_STR_LIT("GET"), r->pub.path, &known);
        r->head_only = r->route != NULL;
    }
    if (r->route)
        return 0;
    if (!known) {
        osp__req_fail(r, 404, OSP__REJ_NONE, "no such path: %.*s", OSP_STR_FMT(r->pub.path));
        return early(r);
    }
    osp_str allow = allow_value(r, l, r->pub.path);
    osp__req_fail(r, 405, OSP__REJ_NONE, "method %.*s not allowed for %.*s",
                  OSP_STR_FMT(r->pub.method), OSP_STR_FMT(r->pub.path));
    if (r->pub.proto != OSP_PROTO_GRPC)
        osp_http_response_header(&r->res, "allow", allow);
    return early(r);
}

/* Content-Encoding for HTTP, grpc-encoding for gRPC. */
static int check_encoding(osp__req *r)
{
    if (r->pub.proto == OSP_PROTO_GRPC) {
        osp_str enc = osp_http_header_get(&r->pub, "grpc-encoding");
        if (!osp_grpc_encoding_ok(enc)) {
            osp__req_fail(r, 501, OSP__REJ_BAD_REQUEST, "unsupported grpc-encoding: %.*s",
                          OSP_STR_FMT(enc));
            r->res.grpc_status = OSP_GRPC_UNIMPLEMENTED;
            osp_http_response_header(&r->res, "grpc-accept-encoding",
                                     OSP_STR_LIT(OSP_GRPC_ACCEPT_ENCODING));
            return early(r);
        }
        r->grpc_encoding = enc;
        return 0;
    }
    osp_str ce = osp_http_header_get(&r->pub, "content-encoding");
    if (ce.n == 0 || osp_str_ieq(ce, OSP_STR_LIT("identity")))
        return 0;
    if (osp_str_ieq(ce, OSP_STR_LIT("gzip")) || osp_str_ieq(ce, OSP_STR_LIT("x-gzip")) ||
        osp_str_ieq(ce, OSP_STR_LIT("deflate"))) {
        r->coding = OSP__CODING_INFLATE;
        return 0;
    }
    if (r->route && r->route->snappy_body && osp_str_ieq(ce, OSP_STR_LIT("snappy")))
        return 0;
    osp__req_fail(r, 415, OSP__REJ_BAD_REQUEST,
                  "unsupported content-encoding: %.*s (supported: gzip, deflate, identity)",
                  OSP_STR_FMT(ce));
    return early(r);
}

/* Counts n more bytes against max_inflight_bytes; answers 503 / UNAVAILABLE past it. */
static int charge(osp__req *r, size_t n)
{
    osp_net *net = r->net;
    size_t max = net->lim.max_inflight_bytes;
    if (net->inflight_bytes > max || n > max - net->inflight_bytes) {
        osp__req_fail(r, 503, OSP__REJ_OVERLOADED,
                      "server overloaded: requests in flight exceed %zu bytes, retry later", max);
        return early(r);
    }
    net->inflight_bytes += n;
    r->charged += n;
    return 0;
}

static int too_large(osp__req *r)
{
    osp__req_fail(r, 413, OSP__REJ_TOO_LARGE, "request body exceeds the limit of %zu bytes",
                  r->net->lim.max_body);
    return early(r);
}

int osp__req_start(osp__req *r, int64_t content_length)
{
    osp_net *net = r->net;
    if (r->pub.proto == OSP_PROTO_HTTP2 &&
        osp_str_has_prefix(osp_http_header_get(&r->pub, "content-type"),
                           OSP_STR_LIT("application/grpc"))) {
        r->pub.proto = OSP_PROTO_GRPC;
        r->body.max = net->lim.max_body + OSP_GRPC_PREFIX;
    }
    if (r->hdr_overflow) {
        osp__req_fail(r, 431, OSP__REJ_TOO_LARGE,
                      "request header exceeds the limit of %zu bytes or %d fields",
                      net->lim.max_header_bytes, OSP__MAX_HEADERS);
        return early(r);
    }
    if (route_request(r) || osp__ws_check(r, content_length) || check_encoding(r))
        return 1;
    size_t len = content_length > 0 ? (size_t)content_length : 0;
    if (content_length > 0 && (uint64_t)content_length > r->body.max)
        return too_large(r);
    /* A declared length is counted (and reserved) up front. */
    if (charge(r, len))
        return 1;
    if (len && osp_buf_reserve(&r->body, len)) {
        osp__req_fail(r, 503, OSP__REJ_OVERLOADED, "out of memory, retry later");
        return early(r);
    }
    return 0;
}

int osp__req_body(osp__req *r, osp_str data)
{
    osp_buf *b = &r->body;
    if (b->data && data.p == b->data + b->len && data.n <= b->cap - b->len) {
        b->len += data.n; /* read straight into place */
    } else {
        int rc = osp_buf_append(b, data.p, data.n);
        if (rc == OSP_ETOOBIG)
            return too_large(r);
        if (rc) {
            osp__req_fail(r, 503, OSP__REJ_OVERLOADED, "out of memory, retry later");
            return early(r);
        }
    }
    return b->len > r->charged ? charge(r, b->len - r->charged) : 0;
}

/* Worker thread: undoes the encodings and runs the handler. Touches only the request. */
static void work_cb(uv_work_t *w)
{
    static __thread int named; /* libuv's pool threads are the request workers */
    if (!named) {
        pthread_setname_np(pthread_self(), "osp-request");
        named = 1;
    }
    osp__req *r = (osp__req *)((char *)w - offsetof(osp__req, work));
    size_t max = r->net->lim.max_body;
    osp_str body = osp_buf_str(&r->body);
    if (r->pub.proto == OSP_PROTO_GRPC) {
        osp_grpc_error err;
        int rc =
            osp_grpc_unary_message(body, r->grpc_encoding, max, &r->inflated, &r->pub.body, &err);
        if (rc == OSP_ETOOBIG)
            osp__req_fail(r, 413, OSP__REJ_TOO_LARGE,
                          "request message exceeds the limit of %zu bytes", max);
        else if (rc)
            osp__req_fail(r, 400, OSP__REJ_BAD_REQUEST, "%s", err.message);
        if (rc) {
            r->res.grpc_status = err.code;
            return;
        }
    } else if (r->coding == OSP__CODING_INFLATE && body.n > 0) {
        int rc = osp_gzip_inflate(body, max, &r->inflated);
        if (rc == OSP_ETOOBIG) {
            osp__req_fail(r, 413, OSP__REJ_TOO_LARGE,
                          "decompressed request body exceeds the limit of %zu bytes", max);
            return;
        }
        if (rc == OSP_ENOMEM) {
            osp__req_fail(r, 503, OSP__REJ_OVERLOADED, "out of memory, retry later");
            return;
        }
        if (rc) {
            osp__req_fail(r, 400, OSP__REJ_BAD_REQUEST,
                          "request body could not be decompressed: %s", osp_strerror(rc));
            return;
        }
        r->pub.body = osp_buf_str(&r->inflated);
    } else {
        r->pub.body = body;
    }
    r->route->handler(&r->pub, &r->res, r->route->ctx);
}

static void after_work_cb(uv_work_t *w, int status)
{
    osp__req *r = (osp__req *)((char *)w - offsetof(osp__req, work));
    osp__conn *c = r->conn;
    (void)status;
    if (r->ws) {
        count_request(r->pub.proto, 101);
        osp__ws_done(r);
        return;
    }
    if (!c) { /* the client went away meanwhile */
        osp__req_free(r);
        return;
    }
    if (osp__req_respond(r))
        osp__conn_close(c);
}

/* A WebSocket handler streams for as long as its client stays, so it runs on a thread of
 * its own instead of holding one of the few pool workers that answer every other request;
 * the loop learns it returned through ws_returned. */
static void *ws_thread(void *arg)
{
    osp__req *r = arg;
    work_cb(&r->work);
    uv_async_send(&r->ws_returned);
    return NULL;
}

static void ws_closed(uv_handle_t *h)
{
    osp__req *r = h->data;
    after_work_cb(&r->work, 0);
}

static void ws_returned(uv_async_t *a)
{
    uv_close((uv_handle_t *)a, ws_closed);
}

/* Starts r's handler on its own thread; without one the WebSocket is closed at once. */
static void start_ws_thread(osp__req *r)
{
    pthread_attr_t attr;
    pthread_t thread;
    if (uv_async_init(&r->net->loop, &r->ws_returned, ws_returned)) {
        osp_warn("net", "cannot start a WebSocket handler");
        osp__ws_done(r);
        return;
    }
    r->ws_returned.data = r;
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) ||
             pthread_create(&thread, &attr, ws_thread, r);
        pthread_attr_destroy(&attr);
    }
    if (rc) { /* as if the handler had returned at once */
        osp_warn("net", "cannot start a WebSocket handler thread");
        uv_close((uv_handle_t *)&r->ws_returned, ws_closed);
    }
}

int osp__req_dispatch(osp__req *r)
{
    if (r->early)
        return osp__req_respond(r);
    if (r->upgrade && osp__ws_start(r))
        return OSP_ENOMEM;
    r->state = OSP__REQ_WORKING;
    if (r->ws) {
        start_ws_thread(r);
        return 0;
    }
    int rc = uv_queue_work(&r->net->loop, &r->work, work_cb, after_work_cb);
    if (rc) {
        osp_warn("net", "cannot queue a request: %s", uv_strerror(rc));
        r->state = OSP__REQ_RECEIVING;
        osp__req_fail(r, 503, OSP__REJ_OVERLOADED, "server busy, retry later");
        return osp__req_respond(r);
    }
    return 0;
}

int osp__req_respond(osp__req *r)
{
    osp_http_response *res = &r->res;
    if (res->status < 200 || res->status > 599) {
        osp_warn("net", "handler for %.*s set invalid status %d", OSP_STR_FMT(r->pub.path),
                 res->status);
        res->status = 500;
    }
    int code = res->status;
    if (r->pub.proto == OSP_PROTO_GRPC) {
        if (res->grpc_status == 0 && res->status != 200)
            res->grpc_status = osp_grpc_code_from_http(res->status);
        if (res->grpc_status < 0 || res->grpc_status > 16)
            res->grpc_status = OSP_GRPC_UNKNOWN;
        code = res->grpc_status;
    }
    count_request(r->pub.proto, code);
    osp_histogram_observe(r->net->m_duration[r->pub.proto],
                          (double)(uv_hrtime() - r->t_start) / 1e9);
    r->state = OSP__REQ_RESPONDING;
    return r->conn->proto == OSP__CONN_H2 ? osp__h2_send(r) : osp__h1_send(r);
}
