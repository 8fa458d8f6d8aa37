/* libFuzzer target: opening and reading arbitrary bytes as a time-series block file (formats
 * 03 and 02: zstd frames of a symbol table and of series entries, raw float and histogram
 * chunks) never crashes, and what opens reads back consistently: labels sorted, non-empty,
 * series in order, samples ascending, histograms valid and the same after an encode and
 * decode. Build with -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION so that checksums do not
 * stop mutated inputs before the decoders. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/buf.h"
#include "model/histogram.h"
#include "model/series.h"
#include "store/tsdb/block.h"

typedef struct walk {
    int64_t last;
    uint64_t n;
} walk;

static int on_sample(void *ctx, int64_t t_ms, double v)
{
    walk *w = ctx;
    (void)v;
    assert(w->n == 0 || t_ms > w->last); /* ascending is checked by the reader */
    w->last = t_ms;
    w->n++;
    return 0;
}

typedef struct hwalk {
    int64_t last;
    uint64_t n;
    osp_arena *arena; /* for the round trip */
} hwalk;

static int on_hsample(void *ctx, int64_t t_ms, const osp_histogram *h)
{
    hwalk *w = ctx;
    assert(w->n == 0 || t_ms > w->last);
    w->last = t_ms;
    w->n++;
    if (!h)
        return 0;
    assert(osp_hist_check(h) == NULL); /* the decoder refuses invalid histograms */
    osp_buf enc;
    osp_histogram back;
    osp_buf_init(&enc, 0);
    assert(osp_hist_encode(&enc, h) == 0);
    const uint8_t *p = (const uint8_t *)enc.data;
    assert(osp_hist_decode(&p, p + enc.len, w->arena, &back) == 0 && osp_hist_equal(h, &back));
    osp_buf_cleanup(&enc);
    return 0;
}

/* The histogram samples of series i (s), decoded and not. */
static void exercise_hist(const osp_block *b, size_t i, const osp_block_series *s)
{
    const osp_block_hist *hs = osp_block_series_hist(b, i);
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    hwalk all = {0, 0, &arena}, part = {0, 0, &arena};
    if (hs)
        assert(hs->series == i && hs->nsamples > 0 && hs->mint >= s->mint && hs->maxt <= s->maxt &&
               hs->mint <= hs->maxt);
    if (osp_block_series_hsamples(b, i, INT64_MIN, INT64_MAX, &arena, on_hsample, &all) == 0)
        assert(all.n == (hs ? hs->nsamples : 0));
    if (hs && hs->mint < hs->maxt)
        osp_block_series_hsamples(b, i, hs->mint + 1, hs->maxt - 1, NULL, on_hsample, &part);
    osp_arena_cleanup(&arena);
}

static void exercise(const osp_block *b)
{
    const osp_block_info *info = osp_block_get_info(b);
    osp_label l[OSP_BLOCK_MAX_LABELS], prev[OSP_BLOCK_MAX_LABELS];
    size_t nprev = 0;
    for (uint64_t i = 0; i < info->nseries && i < 64; i++) {
        const osp_block_series *s = osp_block_get_series(b, i);
        size_t n = osp_block_series_labels(b, i, l);
        assert(n == s->nlabels && n > 0);
        for (size_t j = 0; j < n; j++)
            assert(l[j].name.n && l[j].value.n &&
                   (!j || osp_str_cmp(l[j - 1].name, l[j].name) < 0));
        assert(!i || osp_labels_compare(prev, nprev, l, n) < 0);
        memcpy(prev, l, n * sizeof *l);
        nprev = n;
        walk all = {0}, part = {0};
        if (osp_block_series_samples(b, i, INT64_MIN, INT64_MAX, on_sample, &all) == 0)
            assert(all.n == s->nsamples);
        if (s->mint < s->maxt)
            osp_block_series_samples(b, i, s->mint + 1, s->maxt - 1, on_sample, &part);
        exercise_hist(b, i, s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    osp_block *b;
    if (fd < 0) {
        fd = memfd_create("block", 0);
        if (fd < 0)
            return 0;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    if (osp_block_open(path, &b) == 0) {
        exercise(b);
        osp_block_close(b);
    }
    return 0;
}
