/* Fuzz target: the native histogram codec decodes arbitrary bytes without crashing or
 * reading past the end; every histogram it yields passes osp_hist_check and re-encodes to
 * bytes that decode to an equal histogram. The operations PromQL runs (bucket listing,
 * quantile, fraction, variance, arithmetic, reset detection) then run on each decoded
 * histogram and the one before it without crashing, and their results have consistent
 * layouts.
 *
 * Input: encodings one after another, decoded until one fails (at most 16). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "model/histogram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Spans cover exactly the buckets, later offsets are not negative, no bucket is empty. */
static void check_result(const osp_histogram *r)
{
    if (!r)
        abort(); /* the arena has no cap: only a real shortage could fail */
    const osp_hist_span *spans[2] = {r->pspans, r->nspans};
    const uint32_t nspans[2] = {r->npspans, r->nnspans}, nbuckets[2] = {r->npbuckets, r->nnbuckets};
    const double *buckets[2] = {r->pbuckets, r->nbuckets};
    for (int side = 0; side < 2; side++) {
        uint64_t total = 0;
        for (uint32_t i = 0; i < nspans[side]; i++) {
            if (spans[side][i].length == 0 || (i > 0 && spans[side][i].offset <= 0))
                abort(); /* adjacent spans are merged */
            total += spans[side][i].length;
        }
        if (total != nbuckets[side])
            abort();
        for (uint32_t i = 0; i < nbuckets[side]; i++)
            if (buckets[side][i] == 0)
                abort();
    }
}

/* Buckets listed are never empty, and there is one per bucket at most (plus the zero
 * bucket). Their order is not checked: buckets inside a wide zero bucket are cut at its
 * threshold, as Prometheus does, and then overlap it. */
static int walk_bucket(void *ctx, const osp_hist_bucket *b)
{
    size_t *n = ctx;
    if (b->count == 0)
        abort();
    (*n)++;
    return 0;
}

static void exercise(osp_arena *a, const osp_histogram *h, const osp_histogram *prev)
{
    size_t n = 0;
    if (osp_hist_each_bucket(h, walk_bucket, &n) != 0 ||
        n > (size_t)h->npbuckets + h->nnbuckets + 1)
        abort();
    (void)osp_hist_quantile(0.5, h);
    (void)osp_hist_quantile(0.99, h);
    (void)osp_hist_fraction(-1, h->sum, h);
    (void)osp_hist_stddev(h);
    (void)osp_hist_detect_reset(h, prev);
    check_result(osp_hist_add(a, h, prev));
    check_result(osp_hist_sub(a, prev, h));
    check_result(osp_hist_mul(a, h, h->zero_threshold));
    check_result(osp_hist_div(a, h, -3));
    /* the sum as an observation: its bucket holds it */
    if (h->sum > 0) {
        int32_t j = osp_hist_index(h->schema, h->sum);
        if (!(osp_hist_bound(h->schema, j - 1) < h->sum && h->sum <= osp_hist_bound(h->schema, j)))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so ASan catches any read past the end */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    osp_arena a;
    osp_buf b;
    osp_arena_init(&a, 0, 0);
    osp_buf_init(&b, 0);
    const uint8_t *p = copy, *end = copy + size;
    osp_histogram prev;
    bool have_prev = false;
    for (int n = 0; n < 16 && p < end; n++) {
        osp_histogram h, back;
        const uint8_t *start = p;
        int rc = osp_hist_decode(&p, end, &a, &h);
        if (rc == OSP_ECORRUPT)
            break;
        if (rc != 0 || p <= start || p > end || osp_hist_check(&h) != NULL)
            abort();
        osp_buf_reset(&b);
        if (osp_hist_encode(&b, &h) != 0)
            abort();
        const uint8_t *q = (const uint8_t *)b.data, *qend = q + b.len;
        if (osp_hist_decode(&q, qend, &a, &back) != 0 || q != qend || !osp_hist_equal(&h, &back))
            abort();
        /* the encoder is canonical: the same histogram gives the same bytes again */
        size_t len = b.len;
        if (osp_hist_encode(&b, &back) != 0 || b.len != 2 * len ||
            memcmp(b.data, b.data + len, len) != 0)
            abort();
        exercise(&a, &h, have_prev ? &prev : &h);
        prev = h;
        have_prev = true;
    }
    osp_buf_cleanup(&b);
    osp_arena_cleanup(&a);
    free(copy);
    return 0;
}
