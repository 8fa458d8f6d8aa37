/* HTTP/2 cleartext with prior knowledge on nghttp2: each stream becomes a request; the
 * response (for gRPC: message plus trailers, or Trailers-Only) goes back on its stream. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "net/grpc.h"
#include "net/h2.h"
#include "net/request.h"

#define H2_MAX_STREAMS 100
#define H2_STREAM_WINDOW (1 << 20)
#define H2_CONN_WINDOW (16 << 20)
#define H2_WRITE_BATCH (64 * 1024) /* frames gathered into one write */
#define H2_WBUF_MAX (1 << 20)

#define NV(name, value, len)                                                                       \
    ((nghttp2_nv){(uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, (len),                  \
                  NGHTTP2_NV_FLAG_NONE})

static osp__req *stream_req(nghttp2_session *s, int32_t id)
{
    return nghttp2_session_get_stream_user_data(s, id);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    osp__conn *c = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    osp__req *r = osp__req_new(c, OSP_PROTO_HTTP2);
    if (!r)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* refuses this stream only */
    r->stream_id = f->hd.stream_id;
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, r);
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    osp__conn *c = ud;
    (void)flags;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers are ignored */
    osp__req *r = stream_req(s, f->hd.stream_id);
    if (!r || r->hdr_overflow)
        return 0;
    r->hdr_bytes += namelen + valuelen + 32; /* RFC 9113 header list size */
    if (r->hdr_bytes > c->net->lim.max_header_bytes ||
        (namelen && name[0] != ':' && r->pub.nheaders == OSP__MAX_HEADERS)) {
        r->hdr_overflow = 1;
        return 0;
    }
    osp_str n = osp_str_make((const char *)name, namelen);
    osp_str v = osp_arena_strdup(&r->arena, osp_str_make((const char *)value, valuelen));
    if (!v.p)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (namelen && name[0] == ':') {
        if (osp_str_eqz(n, ":method")) {
            r->pub.method = v;
        } else if (osp_str_eqz(n, ":authority") && r->pub.nheaders < OSP__MAX_HEADERS) {
            r->headers[r->pub.nheaders++] = (osp_http_header){OSP_STR_LIT("host"), v};
        } else if (osp_str_eqz(n, ":path")) {
            const char *q = memchr(v.p, '?', v.n);
            r->pub.path = osp_str_make(v.p, q ? (size_t)(q - v.p) : v.n);
            r->pub.query = q ? osp_str_make(q + 1, v.n - r->pub.path.n - 1) : OSP_STR_NULL;
        }
        return 0;
    }
    n = osp_arena_strdup(&r->arena, n);
    if (!n.p)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    r->headers[r->pub.nheaders++] = (osp_http_header){n, v};
    return 0;
}

/* Parses a content-length value; -1 when absent or not a plain number (nghttp2 has
 * already checked it against the DATA received). */
static int64_t content_length(const osp__req *r)
{
    osp_str v = osp_http_header_get(&r->pub, "content-length");
    int64_t n = 0;
    if (v.n == 0 || v.n > 18)
        return -1;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
        n = n * 10 + (v.p[i] - '0');
    }
    return n;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)ud;
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    osp__req *r = stream_req(s, f->hd.stream_id);
    if (!r || r->state != OSP__REQ_RECEIVING)
        return 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST &&
        osp__req_start(r, content_length(r)))
        return osp__req_respond(r) ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
    if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && osp__req_dispatch(r))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
    (void)flags;
    (void)ud;
    osp__req *r = stream_req(s, id);
    if (!r || r->state != OSP__REQ_RECEIVING)
        return 0; /* answered early: the rest is discarded */
    if (osp__req_body(r, osp_str_make((const char *)data, len)) && osp__req_respond(r))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *ud)
{
    (void)error_code;
    (void)ud;
    osp__req *r = stream_req(s, id);
    if (r)
        osp__req_detach(r);
    return 0;
}

/* A response that ends the stream before the request did: tell the client to stop
 * sending with RST_STREAM(NO_ERROR) (RFC 9113 section 8.1). */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)ud;
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        nghttp2_session_get_stream_remote_close(s, f->hd.stream_id) == 0)
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR);
    return 0;
}

/* grpc-status and, when there is one, the percent-encoded grpc-message. */
static size_t grpc_status_nv(osp__req *r, nghttp2_nv *nv)
{
    int len = snprintf(r->num[1], sizeof r->num[1], "%d", r->res.grpc_status);
    nv[0] = NV("grpc-status", r->num[1], (size_t)len);
    if (r->res.grpc_message.n == 0)
        return 1;
    osp_buf_reset(&r->out);
    if (osp_grpc_percent_encode(r->res.grpc_message, &r->out))
        return 1;
    nv[1] = NV("grpc-message", r->out.data, r->out.len);
    return 2;
}

static ssize_t data_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)ud;
    osp__req *r = src->ptr;
    int grpc = r->pub.proto == OSP_PROTO_GRPC;
    size_t plen = grpc ? OSP_GRPC_PREFIX : 0;
    size_t total = plen + r->res.body.len, n = 0;
    while (n < length && r->out_off < plen)
        buf[n++] = r->prefix[r->out_off++];
    if (n < length && r->out_off < total) {
        size_t k = total - r->out_off < length - n ? total - r->out_off : length - n;
        memcpy(buf + n, r->res.body.data + (r->out_off - plen), k);
        n += k;
        r->out_off += k;
    }
    if (r->out_off == total) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (grpc) {
            nghttp2_nv tr[2];
            size_t nt = grpc_status_nv(r, tr);
            if (nghttp2_submit_trailer(s, id, tr, nt) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)n;
}

int osp__h2_send(osp__req *r)
{
    osp__conn *c = r->conn;
    osp_http_response *res = &r->res;
    nghttp2_nv nva[5 + OSP_HTTP_MAX_EXTRA_HEADERS];
    size_t n = 0;
    nghttp2_data_provider prd = {.source.ptr = r, .read_callback = data_read};
    const nghttp2_data_provider *dp = NULL;
    r->out_off = 0;
    if (r->pub.proto == OSP_PROTO_GRPC) {
        nva[n++] = NV(":status", "200", 3);
        nva[n++] = NV("content-type", "application/grpc", 16);
    } else {
        int len = snprintf(r->num[0], sizeof r->num[0], "%d", res->status);
        nva[n++] = NV(":status", r->num[0], (size_t)len);
        if (res->content_type)
            nva[n++] = NV("content-type", res->content_type, strlen(res->content_type));
        if (osp_http1_body_allowed(res->status)) {
            len = snprintf(r->num[1], sizeof r->num[1], "%zu", res->body.len);
            nva[n++] = NV("content-length", r->num[1], (size_t)len);
            if (res->body.len && !r->head_only)
                dp = &prd;
        }
    }
    for (size_t i = 0; i < res->nextra && i < OSP_HTTP_MAX_EXTRA_HEADERS; i++)
        nva[n++] = (nghttp2_nv){(uint8_t *)res->extra[i].name.p, (uint8_t *)res->extra[i].value.p,
                                res->extra[i].name.n, res->extra[i].value.n, NGHTTP2_NV_FLAG_NONE};
    if (r->pub.proto == OSP_PROTO_GRPC) {
        if (res->grpc_status != 0) {
            n += grpc_status_nv(r, nva + n); /* Trailers-Only */
        } else {
            osp_grpc_prefix(res->body.len, r->prefix);
            dp = &prd;
        }
    }
    int rc = nghttp2_submit_response(c->h2, r->stream_id, nva, n, dp);
    if (rc) {
        osp_warn("net", "http2: cannot submit a response: %s", nghttp2_strerror(rc));
        return OSP_EIO;
    }
    osp__h2_flush(c);
    return 0;
}

/* Picks the timer from the streams: body gap while any receives, write stall while any
 * waits on the client, none while all are with handlers, idle when there are none. */
static void rearm(osp__conn *c)
{
    if (c->closing || c->timer_kind == OSP__T_LINGER)
        return;
    int receiving = 0, responding = 0;
    for (osp__req *r = c->reqs; r; r = r->next) {
        receiving |= r->state == OSP__REQ_RECEIVING;
        responding |= r->state == OSP__REQ_RESPONDING;
    }
    if (receiving)
        osp__conn_timer(c, OSP__T_BODY, 1);
    else if (responding)
        osp__conn_timer(c, OSP__T_WRITE, 1);
    else if (c->reqs)
        osp__conn_timer(c, OSP__T_NONE, 1);
    else
        osp__conn_timer(c, OSP__T_IDLE, 0);
}

static void write_cb(uv_write_t *w, int status)
{
    osp__conn *c = w->data;
    c->writing = 0;
    if (c->closing)
        return;
    if (status < 0) {
        osp__conn_close(c);
        return;
    }
    osp__h2_flush(c);
    rearm(c);
}

void osp__h2_flush(osp__conn *c)
{
    if (c->closing || c->writing || c->in_recv || !c->h2)
        return;
    osp_buf_reset(&c->wbuf);
    while (c->wbuf.len < H2_WRITE_BATCH) {
        const uint8_t *d;
        ssize_t n = nghttp2_session_mem_send(c->h2, &d);
        if (n < 0 || (n > 0 && osp_buf_append(&c->wbuf, d, (size_t)n))) {
            osp__conn_close(c);
            return;
        }
        if (n == 0)
            break;
    }
    if (c->wbuf.len == 0) {
        if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))
            osp__conn_close(c); /* GOAWAY exchanged and no streams left */
        return;
    }
    uv_buf_t b = uv_buf_init(c->wbuf.data, (unsigned)c->wbuf.len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, write_cb)) {
        osp__conn_close(c);
        return;
    }
    c->writing = 1;
}

void osp__h2_input(osp__conn *c, const char *data, size_t len)
{
    c->in_recv = 1;
    ssize_t n = nghttp2_session_mem_recv(c->h2, (const uint8_t *)data, len);
    c->in_recv = 0;
    if (n < 0) {
        osp_debug("net", "http2: closing a connection: %s", nghttp2_strerror((int)n));
        osp__conn_close(c);
        return;
    }
    osp__h2_flush(c);
    rearm(c);
}

int osp__h2_start(osp__conn *c)
{
    osp_net *net = c->net;
    if (nghttp2_session_server_new2(&c->h2, net->h2cbs, c, net->h2opt))
        return OSP_ENOMEM;
    c->proto = OSP__CONN_H2;
    osp_buf_init(&c->wbuf, H2_WBUF_MAX);
    uint32_t max_hdr =
        net->lim.max_header_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)net->lim.max_header_bytes;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, max_hdr},
    };
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) ||
        nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW))
        return OSP_ENOMEM;
    return 0;
}

void osp__h2_goaway(osp__conn *c)
{
    if (c->closing || !c->h2)
        return;
    nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->h2),
                          NGHTTP2_NO_ERROR, NULL, 0);
    osp__h2_flush(c);
}

void osp__h2_timeout(osp__conn *c)
{
    if (c->timer_kind == OSP__T_BODY)
        osp__net_reject(c->net, OSP__REJ_TIMEOUT);
    if (c->timer_kind != OSP__T_BODY && c->timer_kind != OSP__T_IDLE) {
        osp__conn_close(c);
        return;
    }
    nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
    osp__conn_timer(c, OSP__T_LINGER, 1);
    osp__h2_flush(c);
}

void osp__h2_free(osp__conn *c)
{
    nghttp2_session_del(c->h2);
    c->h2 = NULL;
}

int osp__h2_global_init(osp_net *net)
{
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs))
        return OSP_ENOMEM;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    if (nghttp2_option_new(&net->h2opt)) {
        nghttp2_session_callbacks_del(cbs);
        return OSP_ENOMEM;
    }
    net->h2cbs = cbs;
    return 0;
}

void osp__h2_global_cleanup(osp_net *net)
{
    nghttp2_session_callbacks_del(net->h2cbs);
    nghttp2_option_del(net->h2opt);
    net->h2cbs = NULL;
    net->h2opt = NULL;
}
