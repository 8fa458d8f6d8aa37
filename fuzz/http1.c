/* libFuzzer target for the HTTP/1.1 request parser: no crash, sane outputs, and the same
 * result whether the bytes arrive at once or in pieces. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http1.h"

#define MAX_EVENTS 4096

typedef struct trace {
    int rc, status;
    size_t nev;
    unsigned char ev[MAX_EVENTS];
    unsigned char *body; /* all body bytes in order */
    size_t nbody;
} trace;

static void check_head(const osp_http1_head *h, const char *data, size_t len, size_t max_head)
{
    assert(h->len <= len && h->len <= max_head);
    assert(h->method.n > 0 && h->method.p >= data && h->method.p + h->method.n <= data + len);
    assert(h->nheaders <= OSP_HTTP1_MAX_HEADERS);
    for (size_t i = 0; i < h->nheaders; i++) {
        osp_str n = h->headers[i].name;
        assert(n.n > 0);
        for (size_t k = 0; k < n.n; k++)
            assert(!(n.p[k] >= 'A' && n.p[k] <= 'Z'));
    }
}

/* Parses in[0..n) handing the parser `step` more bytes each time it needs more (0 = all
 * at once), keeping unconsumed bytes contiguous like a connection does. */
static void run(const uint8_t *in, size_t n, size_t step, size_t max_head, uint64_t max_body,
                trace *t)
{
    osp_http1_parser p;
    char *buf = malloc(n ? n : 1);
    memcpy(buf, in, n);
    memset(t, 0, offsetof(trace, body));
    t->nbody = 0;
    osp_http1_init(&p, max_head, max_body);
    size_t off = 0, avail = step ? 0 : n;
    for (;;) {
        enum osp_http1_event ev;
        size_t used;
        osp_str body;
        t->rc = osp_http1_parse(&p, buf + off, avail - off, &ev, &used, &body);
        if (t->rc) {
            t->status = p.status;
            assert(t->status >= 400 && t->status < 600);
            break;
        }
        assert(used <= avail - off);
        if (ev == OSP_HTTP1_HEAD)
            check_head(&p.head, buf + off, avail - off, max_head);
        if (ev == OSP_HTTP1_BODY) {
            assert(body.p >= buf + off && body.p + body.n <= buf + off + used && body.n > 0);
            memcpy(t->body + t->nbody, body.p, body.n);
            t->nbody += body.n;
        }
        off += used;
        if (ev != OSP_HTTP1_NEED_MORE) {
            if (t->nev == MAX_EVENTS)
                break;
            /* Body pieces split differently; record only where the body is. */
            if (ev != OSP_HTTP1_BODY || t->nev == 0 || t->ev[t->nev - 1] != OSP_HTTP1_BODY)
                t->ev[t->nev++] = (unsigned char)ev;
            continue;
        }
        if (avail == n)
            break;
        avail = avail + step > n ? n : avail + step;
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* First byte: the split size and the limits. */
    size_t step = (size_t)(data[0] & 15) + 1;
    size_t max_head = data[0] & 16 ? 64 : 8192;
    uint64_t max_body = data[0] & 32 ? 16 : 1 << 20;
    data++;
    size--;
    trace whole, pieces;
    whole.body = malloc(size + 1);
    pieces.body = malloc(size + 1);
    run(data, size, 0, max_head, max_body, &whole);
    run(data, size, step, max_head, max_body, &pieces);
    assert(whole.rc == pieces.rc && whole.status == pieces.status);
    assert(whole.nev == pieces.nev && !memcmp(whole.ev, pieces.ev, whole.nev));
    assert(whole.nbody == pieces.nbody && !memcmp(whole.body, pieces.body, whole.nbody));
    free(whole.body);
    free(pieces.body);
    return 0;
}
