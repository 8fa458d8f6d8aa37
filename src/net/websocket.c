/* WebSocket (RFC 6455): the frame codec, the opening handshake, and upgraded connections
 * (frames queued by a handler on its worker, written by the loop thread). */
#include "net/websocket.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <nettle/sha1.h>

#include "core/base64.h"
#include "core/cond.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "net/request.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_MAX_MESSAGE ((uint64_t)1 << 20) /* a client's message (discarded) past this -> 1009 */
#define WS_KEEP_BUF (256 * 1024)           /* a write buffer larger than this is freed after use */
#define WS_MAX_PENDING (OSP_WS_MAX_QUEUED + OSP_WS_MAX_FRAME + 4096) /* + handshake, control */

/* ---- frame codec ---- */

enum { S_HEAD, S_PAYLOAD, S_CLOSED, S_ERROR };

void osp_ws_reader_init(osp_ws_reader *r, uint64_t max_message)
{
    memset(r, 0, sizeof *r);
    r->max_message = max_message;
    r->state = S_HEAD;
}

static int fail(osp_ws_reader *r, int code)
{
    r->state = S_ERROR;
    r->close_code = code;
    return code == OSP_WS_CLOSE_TOO_BIG ? OSP_ETOOBIG : OSP_EPARSE;
}

static int is_control(int opcode)
{
    return (opcode & 0x8) != 0;
}

/* Length of the head whose first two bytes are h. */
static size_t head_len(const uint8_t *h)
{
    unsigned len7 = h[1] & 0x7f;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (h[1] & 0x80 ? 4 : 0);
}

/* Checks the first two bytes of a head: no extension was negotiated (RSV bits clear),
 * clients mask, control frames are short and final, fragments continue a message. */
static int check_start(osp_ws_reader *r)
{
    uint8_t b0 = r->head[0], b1 = r->head[1];
    int op = b0 & 0x0f;
    if ((b0 & 0x70) || !(b1 & 0x80))
        return fail(r, OSP_WS_CLOSE_PROTOCOL);
    if (is_control(op)) {
        if (op > OSP_WS_OP_PONG || !(b0 & 0x80) || (b1 & 0x7f) > OSP_WS_MAX_CONTROL)
            return fail(r, OSP_WS_CLOSE_PROTOCOL);
    } else if (op > OSP_WS_OP_BINARY || (op == OSP_WS_OP_CONT) != r->in_message) {
        return fail(r, OSP_WS_CLOSE_PROTOCOL);
    }
    return 0;
}

/* The whole head is in r->head: length, mask, and the message's running size. */
static int start_frame(osp_ws_reader *r)
{
    const uint8_t *h = r->head;
    unsigned len7 = h[1] & 0x7f;
    uint64_t len = len7;
    size_t at = 2;
    if (len7 == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        at = 4;
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | h[2 + i];
        at = 10;
        if (len >> 63)
            return fail(r, OSP_WS_CLOSE_PROTOCOL);
    }
    memcpy(r->mask, h + at, 4);
    r->opcode = h[0] & 0x0f;
    r->fin = h[0] >> 7;
    r->left = len;
    r->pos = 0;
    r->nctl = 0;
    r->nhead = 0;
    r->state = S_PAYLOAD;
    if (!is_control(r->opcode)) {
        uint64_t before = r->opcode == OSP_WS_OP_CONT ? r->message : 0;
        if (len > r->max_message - before)
            return fail(r, OSP_WS_CLOSE_TOO_BIG);
        r->message = before + len;
        r->in_message = !r->fin;
    }
    return 0;
}

/* 1 for a code a peer may send (1004-1006 and 1015 are reserved, 1016-2999 unassigned). */
static int close_code_valid(int code)
{
    return (code >= 1000 && code <= 1014 && (code < 1004 || code > 1006)) ||
           (code >= 3000 && code <= 4999);
}

/* A control frame's payload is complete in r->ctl. */
static int end_control(osp_ws_reader *r, enum osp_ws_event *ev, osp_str *payload)
{
    *payload = osp_str_make((const char *)r->ctl, r->nctl);
    r->state = S_HEAD;
    if (r->opcode != OSP_WS_OP_CLOSE) {
        *ev = r->opcode == OSP_WS_OP_PING ? OSP_WS_PING : OSP_WS_PONG;
        return 0;
    }
    r->close_code = OSP_WS_CLOSE_NO_STATUS;
    if (r->nctl == 1)
        return fail(r, OSP_WS_CLOSE_PROTOCOL);
    if (r->nctl >= 2) {
        int code = r->ctl[0] << 8 | r->ctl[1];
        if (!close_code_valid(code))
            return fail(r, OSP_WS_CLOSE_PROTOCOL);
        if (!osp_utf8_valid((const char *)r->ctl + 2, r->nctl - 2))
            return fail(r, OSP_WS_CLOSE_BAD_DATA);
        r->close_code = code;
        *payload = osp_str_make((const char *)r->ctl + 2, r->nctl - 2);
    }
    r->state = S_CLOSED;
    *ev = OSP_WS_CLOSE;
    return 0;
}

int osp_ws_read(osp_ws_reader *r, uint8_t *data, size_t len, enum osp_ws_event *ev, size_t *used,
                osp_str *payload)
{
    size_t off = 0;
    *ev = OSP_WS_NEED_MORE;
    *used = 0;
    *payload = OSP_STR_NULL;
    if (r->state == S_ERROR)
        return fail(r, r->close_code);
    if (r->state == S_CLOSED) {
        *used = len;
        return 0;
    }
    for (;;) {
        if (r->state == S_HEAD) {
            size_t need = r->nhead < 2 ? 2 : head_len(r->head);
            size_t n = need - r->nhead < len - off ? need - r->nhead : len - off;
            if (n)
                memcpy(r->head + r->nhead, data + off, n);
            r->nhead += n;
            off += n;
            *used = off;
            if (r->nhead < need)
                return 0;
            int rc = need == 2 ? check_start(r) : start_frame(r);
            if (rc)
                return rc;
            if (need == 2)
                continue; /* now the rest of the head */
            if (r->left == 0 && is_control(r->opcode))
                return end_control(r, ev, payload);
            if (r->left == 0) {
                r->state = S_HEAD; /* an empty data frame */
                continue;
            }
        }
        size_t n = r->left < len - off ? (size_t)r->left : len - off;
        if (n == 0)
            return 0;
        osp_ws_mask(data + off, n, r->mask, r->pos);
        r->pos += n;
        r->left -= n;
        *used = off + n;
        if (is_control(r->opcode)) {
            memcpy(r->ctl + r->nctl, data + off, n);
            r->nctl += n;
            return r->left ? 0 : end_control(r, ev, payload);
        }
        *payload = osp_str_make((const char *)data + off, n);
        *ev = OSP_WS_DATA;
        if (r->left == 0)
            r->state = S_HEAD;
        return 0;
    }
}

size_t osp_ws_frame_head(uint8_t out[OSP_WS_MAX_HEAD], enum osp_ws_opcode opcode, uint64_t len,
                         const uint8_t *mask)
{
    uint8_t masked = mask ? 0x80 : 0;
    size_t n = 2;
    out[0] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        out[1] = (uint8_t)(masked | len);
    } else if (len <= 0xffff) {
        out[1] = masked | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        n = 4;
    } else {
        out[1] = masked | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

void osp_ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t pos)
{
    for (size_t i = 0; i < n; i++)
        p[i] ^= mask[(pos + i) & 3];
}

/* ---- handshake ---- */

int osp_ws_key_valid(osp_str key)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (key.n != 24 || key.p[22] != '=' || key.p[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (!memchr(alphabet, key.p[i], sizeof alphabet - 1))
            return 0;
    return 1;
}

void osp_ws_accept(osp_str key, char out[OSP_WS_ACCEPT_LEN])
{
    struct sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_init(&ctx);
    sha1_update(&ctx, key.n, (const uint8_t *)key.p);
    sha1_update(&ctx, sizeof WS_GUID - 1, (const uint8_t *)WS_GUID);
    sha1_digest(&ctx, sizeof digest, digest);
    osp_base64_encode(digest, sizeof digest, out);
}

/* ---- upgraded connections ---- */

struct osp_ws {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast when queued falls or the WebSocket closes */
    atomic_int closed; /* set with mu held */
    osp_buf pending;   /* frames queued and not yet handed to the socket (mu) */
    size_t queued;     /* bytes pending or being written (mu) */
    uv_async_t async;  /* a worker asks the loop to write pending */
    /* Loop thread only. */
    osp__conn *conn; /* NULL once the connection went away */
    osp_buf wbuf;    /* the bytes being written */
    uv_write_t wreq;
    osp_ws_reader rd;
    int writing;    /* wreq in flight */
    int running;    /* the handler has not returned */
    int close_sent; /* a Close frame was queued: nothing follows it */
    int freeing;
};

/* mu held. */
static void mark_closed(osp_ws *ws)
{
    atomic_store(&ws->closed, 1);
    pthread_cond_broadcast(&ws->cv);
}

/* Appends a final frame to pending; mu held. 0, OSP_ENOMEM or OSP_ETOOBIG (pending unchanged). */
static int queue_frame(osp_ws *ws, enum osp_ws_opcode opcode, const void *p, size_t n)
{
    uint8_t head[OSP_WS_MAX_HEAD];
    size_t hn = osp_ws_frame_head(head, opcode, n, NULL);
    size_t was = ws->pending.len;
    int rc = osp_buf_append(&ws->pending, head, hn);
    if (rc == 0 && n)
        rc = osp_buf_append(&ws->pending, p, n);
    if (rc) {
        ws->pending.len = was;
        return rc;
    }
    ws->queued += hn + n;
    return 0;
}

int osp_ws_send_text(osp_ws *ws, osp_str text)
{
    if (text.n > OSP_WS_MAX_FRAME)
        return OSP_ETOOBIG;
    pthread_mutex_lock(&ws->mu);
    while (!atomic_load(&ws->closed) && ws->queued > 0 && ws->queued + text.n > OSP_WS_MAX_QUEUED)
        pthread_cond_wait(&ws->cv, &ws->mu);
    int rc =
        atomic_load(&ws->closed) ? OSP_ECLOSED : queue_frame(ws, OSP_WS_OP_TEXT, text.p, text.n);
    pthread_mutex_unlock(&ws->mu);
    if (rc == 0)
        uv_async_send(&ws->async);
    return rc;
}

int osp_ws_closed(osp_ws *ws)
{
    return atomic_load(&ws->closed);
}

int osp_ws_wait_closed(osp_ws *ws, uint32_t timeout_ms)
{
    uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000;
    pthread_mutex_lock(&ws->mu);
    for (;;) {
        uint64_t now = uv_hrtime();
        if (atomic_load(&ws->closed) || now >= deadline)
            break;
        osp_cond_wait_ms(&ws->cv, &ws->mu, (uint32_t)((deadline - now + 999999) / 1000000));
    }
    pthread_mutex_unlock(&ws->mu);
    return osp_ws_closed(ws);
}

static void on_freed(uv_handle_t *h)
{
    osp_ws *ws = h->data;
    osp_buf_cleanup(&ws->pending);
    osp_buf_cleanup(&ws->wbuf);
    pthread_cond_destroy(&ws->cv);
    pthread_mutex_destroy(&ws->mu);
    osp_free(ws);
}

/* Frees ws once the handler returned, the connection is gone and no write is pending. */
static void maybe_free(osp_ws *ws)
{
    if (ws->running || ws->conn || ws->writing || ws->freeing)
        return;
    ws->freeing = 1;
    uv_close((uv_handle_t *)&ws->async, on_freed);
}

static void flush(osp_ws *ws);

static void on_written(uv_write_t *w, int status)
{
    osp_ws *ws = w->data;
    ws->writing = 0;
    pthread_mutex_lock(&ws->mu);
    ws->queued -= ws->wbuf.len;
    pthread_cond_broadcast(&ws->cv);
    if (status < 0)
        mark_closed(ws);
    pthread_mutex_unlock(&ws->mu);
    if (ws->wbuf.cap > WS_KEEP_BUF)
        osp_buf_cleanup(&ws->wbuf);
    osp_buf_reset(&ws->wbuf);
    if (status < 0 && ws->conn)
        osp__conn_close(ws->conn);
    else
        flush(ws);
    maybe_free(ws);
}

/* Writes what is pending (one write at a time); once a Close was written, drains the
 * connection. A write that stalls past idle_timeout_ms closes it. */
static void flush(osp_ws *ws)
{
    osp__conn *c = ws->conn;
    if (ws->writing || !c || c->closing || c->draining)
        return;
    pthread_mutex_lock(&ws->mu);
    osp_buf t = ws->wbuf;
    ws->wbuf = ws->pending;
    ws->pending = t;
    pthread_mutex_unlock(&ws->mu);
    if (ws->wbuf.len == 0) {
        if (ws->close_sent)
            osp__conn_drain(c);
        else
            osp__conn_timer(c, OSP__T_NONE, 1); /* a healthy WebSocket has no timeout */
        return;
    }
    uv_buf_t b = uv_buf_init(ws->wbuf.data, (unsigned)ws->wbuf.len);
    ws->wreq.data = ws;
    if (uv_write(&ws->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written)) {
        osp__conn_close(c);
        return;
    }
    ws->writing = 1;
    osp__conn_timer(c, OSP__T_WRITE, 1);
}

static void on_async(uv_async_t *a)
{
    flush(a->data);
}

/* Queues a Close with code (the first time) and marks the WebSocket closed; the
 * connection drains once it was written. */
static void send_close(osp_ws *ws, int code)
{
    uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    if (ws->close_sent)
        return;
    ws->close_sent = 1;
    pthread_mutex_lock(&ws->mu);
    mark_closed(ws);
    queue_frame(ws, OSP_WS_OP_CLOSE, payload, sizeof payload); /* out of memory: just FIN */
    pthread_mutex_unlock(&ws->mu);
    flush(ws);
}

static void send_pong(osp_ws *ws, osp_str payload)
{
    pthread_mutex_lock(&ws->mu);
    if (ws->queued <= OSP_WS_MAX_QUEUED) /* a client that does not read gets no more */
        queue_frame(ws, OSP_WS_OP_PONG, payload.p, payload.n);
    pthread_mutex_unlock(&ws->mu);
    flush(ws);
}

void osp__ws_input(osp__conn *c, char *data, size_t len)
{
    osp_ws *ws = c->ws;
    while (len && !ws->close_sent && !c->closing) {
        enum osp_ws_event ev;
        size_t used;
        osp_str payload;
        if (osp_ws_read(&ws->rd, (uint8_t *)data, len, &ev, &used, &payload)) {
            osp_debug("net", "websocket protocol error: closing with %d", ws->rd.close_code);
            send_close(ws, ws->rd.close_code);
            return;
        }
        data += used;
        len -= used;
        if (ev == OSP_WS_PING)
            send_pong(ws, payload);
        else if (ev == OSP_WS_CLOSE)
            send_close(ws, ws->rd.close_code == OSP_WS_CLOSE_NO_STATUS ? OSP_WS_CLOSE_NORMAL
                                                                       : ws->rd.close_code);
        else if (ev == OSP_WS_NEED_MORE)
            break;
        /* Text and binary messages are discarded; Pongs ignored. */
    }
}

int osp__ws_check(osp__req *r, int64_t content_length)
{
    static const char *const websocket[] = {"websocket"};
    static const char *const upgrade[] = {"upgrade"};
    const osp_http_request *req = &r->pub;
    if (!r->route->websocket || req->proto != OSP_PROTO_HTTP1 || !osp_str_eqz(req->method, "GET") ||
        !osp_http1_list_flags(osp_http_header_get(req, "upgrade"), websocket, 1))
        return 0; /* a plain request */
    if (!osp_str_eqz(osp_http_header_get(req, "sec-websocket-version"), "13")) {
        osp__req_fail(r, 426, OSP__REJ_BAD_REQUEST, "unsupported WebSocket version (want 13)");
        osp_http_response_header(&r->res, "sec-websocket-version", OSP_STR_LIT("13"));
    } else if (r->minor != 1 || content_length != 0 ||
               !osp_http1_list_flags(osp_http_header_get(req, "connection"), upgrade, 1) ||
               !osp_ws_key_valid(osp_http_header_get(req, "sec-websocket-key"))) {
        osp__req_fail(r, 400, OSP__REJ_BAD_REQUEST, "malformed WebSocket handshake");
    } else if (r->net->stopping) {
        osp__req_fail(r, 503, OSP__REJ_NONE, "shutting down");
    } else {
        r->upgrade = 1;
        return 0;
    }
    r->early = 1;
    return 1;
}

int osp__ws_start(osp__req *r)
{
    osp__conn *c = r->conn;
    osp_ws *ws = osp_calloc(1, sizeof *ws);
    if (!ws)
        return OSP_ENOMEM;
    if (uv_async_init(&r->net->loop, &ws->async, on_async)) {
        osp_free(ws);
        return OSP_EIO;
    }
    ws->async.data = ws;
    pthread_mutex_init(&ws->mu, NULL);
    osp_cond_init_monotonic(&ws->cv);
    osp_buf_init(&ws->pending, WS_MAX_PENDING);
    osp_buf_init(&ws->wbuf, 0);
    osp_ws_reader_init(&ws->rd, WS_MAX_MESSAGE);
    char accept[OSP_WS_ACCEPT_LEN];
    osp_ws_accept(osp_http_header_get(&r->pub, "sec-websocket-key"), accept);
    if (osp_buf_printf(&ws->pending,
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %.*s\r\n\r\n",
                       OSP_WS_ACCEPT_LEN, accept)) {
        maybe_free(ws);
        return OSP_ENOMEM;
    }
    ws->queued = ws->pending.len;
    ws->conn = c;
    ws->running = 1;
    c->ws = r->ws = r->res.ws = ws;
    flush(ws);
    return 0;
}

void osp__ws_done(osp__req *r)
{
    osp_ws *ws = r->ws;
    int code = r->net->stopping ? OSP_WS_CLOSE_GOING_AWAY : OSP_WS_CLOSE_NORMAL;
    osp__req_free(r);
    ws->running = 0;
    if (ws->conn)
        send_close(ws, code);
    maybe_free(ws);
}

void osp__ws_shutdown(osp__conn *c)
{
    send_close(c->ws, OSP_WS_CLOSE_GOING_AWAY);
}

void osp__ws_conn_gone(osp__conn *c)
{
    osp_ws *ws = c->ws;
    c->ws = NULL;
    ws->conn = NULL;
    pthread_mutex_lock(&ws->mu);
    mark_closed(ws);
    pthread_mutex_unlock(&ws->mu);
    maybe_free(ws);
}
