/* libFuzzer target for the WebSocket frame reader: no crash, the same result whether the
 * bytes arrive at once or in pieces, and valid masked frames built from the input (with
 * osp_ws_frame_head) read back to the payloads they were built from. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "net/websocket.h"

/* What a reader reported: control events with their payloads in `log`, text and binary
 * payload bytes in `data` (pieces split differently, so only their bytes are compared). */
typedef struct trace {
    int rc, close_code;
    uint8_t *log, *data;
    size_t nlog, ndata;
} trace;

static void trace_init(trace *t, size_t cap)
{
    memset(t, 0, sizeof *t);
    t->log = malloc(cap);
    t->data = malloc(cap);
}

static void trace_free(trace *t)
{
    free(t->log);
    free(t->data);
}

/* Feeds in[0..n) `step` bytes at a time (0 = all at once) from a fresh copy. */
static void run(const uint8_t *in, size_t n, size_t step, uint64_t max_message, trace *t)
{
    osp_ws_reader r;
    uint8_t *buf = malloc(n ? n : 1);
    memcpy(buf, in, n);
    osp_ws_reader_init(&r, max_message);
    size_t off = 0;
    while (off < n) {
        size_t len = step && n - off > step ? step : n - off;
        enum osp_ws_event ev;
        size_t used;
        osp_str payload;
        t->rc = osp_ws_read(&r, buf + off, len, &ev, &used, &payload);
        if (t->rc) {
            assert(t->rc == OSP_EPARSE || t->rc == OSP_ETOOBIG);
            t->close_code = r.close_code;
            assert(t->close_code == 1002 || t->close_code == 1007 || t->close_code == 1009);
            break;
        }
        assert(used <= len && (used > 0 || len == 0));
        off += used;
        if (ev == OSP_WS_DATA) {
            assert(payload.n > 0 && (const uint8_t *)payload.p >= buf &&
                   payload.p + payload.n <= (const char *)buf + off);
            memcpy(t->data + t->ndata, payload.p, payload.n);
            t->ndata += payload.n;
        } else if (ev != OSP_WS_NEED_MORE) {
            assert(payload.n <= OSP_WS_MAX_CONTROL);
            t->log[t->nlog++] = (uint8_t)ev;
            if (payload.n)
                memcpy(t->log + t->nlog, payload.p, payload.n);
            t->nlog += payload.n;
            if (ev == OSP_WS_CLOSE)
                t->close_code = r.close_code;
        }
    }
    free(buf);
}

/* Builds valid masked client frames from in: per frame one byte picks the kind, FIN and
 * the payload length (payload bytes follow). Writes the frames to out and what a reader
 * must report to want. Returns the bytes written. */
static size_t build(const uint8_t *in, size_t n, uint8_t *out, trace *want)
{
    static const uint8_t key[4] = {0xa1, 0x5c, 0x07, 0xee};
    size_t o = 0;
    int in_message = 0;
    while (n) {
        uint8_t b = *in++;
        n--;
        size_t len = (size_t)(b >> 3) * 7; /* 0..217 */
        int control = (b & 3) == 3 || (b & 3) == 2;
        if (control && len > OSP_WS_MAX_CONTROL)
            len = OSP_WS_MAX_CONTROL;
        if (len > n)
            len = n;
        int op, fin = 1;
        if ((b & 3) == 3) {
            op = OSP_WS_OP_PING;
        } else if ((b & 3) == 2) {
            op = OSP_WS_OP_PONG;
        } else {
            op = in_message ? OSP_WS_OP_CONT : (b & 1) ? OSP_WS_OP_BINARY : OSP_WS_OP_TEXT;
            fin = (b & 4) != 0;
            in_message = !fin;
        }
        size_t hn = osp_ws_frame_head(out + o, op, len, key);
        if (!fin)
            out[o] &= 0x7f; /* osp_ws_frame_head writes final frames */
        o += hn;
        memcpy(out + o, in, len);
        osp_ws_mask(out + o, len, key, 0);
        o += len;
        if (control) {
            want->log[want->nlog++] = op == OSP_WS_OP_PING ? OSP_WS_PING : OSP_WS_PONG;
            memcpy(want->log + want->nlog, in, len);
            want->nlog += len;
        } else {
            memcpy(want->data + want->ndata, in, len);
            want->ndata += len;
        }
        in += len;
        n -= len;
    }
    /* A final Close 1000 without a reason. */
    static const uint8_t code[2] = {0x03, 0xe8};
    o += osp_ws_frame_head(out + o, OSP_WS_OP_CLOSE, 2, key);
    memcpy(out + o, code, 2);
    osp_ws_mask(out + o, 2, key, 0);
    o += 2;
    want->log[want->nlog++] = OSP_WS_CLOSE;
    want->close_code = 1000;
    return o;
}

static void same(const trace *a, const trace *b)
{
    assert(a->rc == b->rc && a->close_code == b->close_code);
    assert(a->nlog == b->nlog && !memcmp(a->log, b->log, a->nlog));
    assert(a->ndata == b->ndata && !memcmp(a->data, b->data, a->ndata));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* First byte: the split size, the message cap, raw bytes or built frames. */
    size_t step = (size_t)(data[0] & 15) + 1;
    uint64_t max_message = data[0] & 16 ? 64 : 1 << 20;
    int built = (data[0] & 32) != 0;
    data++;
    size--;
    size_t cap = 2 * size + 64 + (size + 1) * OSP_WS_MAX_HEAD;
    trace whole, pieces, want;
    trace_init(&whole, cap);
    trace_init(&pieces, cap);
    trace_init(&want, cap);
    uint8_t *in = (uint8_t *)data;
    if (built) {
        in = malloc(cap);
        size = build(data, size, in, &want);
        max_message = 1 << 20;
    }
    run(in, size, 0, max_message, &whole);
    run(in, size, step, max_message, &pieces);
    same(&whole, &pieces);
    if (built) {
        same(&whole, &want);
        free(in);
    }
    trace_free(&whole);
    trace_free(&pieces);
    trace_free(&want);
    return 0;
}
