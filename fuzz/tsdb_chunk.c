/* Fuzz target: the float and histogram chunk codecs decode arbitrary bytes without
 * crashing, and samples taken from the input survive an encode/decode round trip bit for
 * bit.
 *
 * Input: (a) the whole input is iterated as a float chunk; (b) as a histogram chunk, whose
 * histograms that decode go into a new histogram chunk and must read back equal; (c) then it
 * is read as records of 16 bytes (8-byte timestamp step, 8-byte value bits) after a 2-byte
 * prefix that picks the sample and byte caps. Steps are made positive so timestamps
 * increase; samples a full chunk rejects start the next chunk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "model/histogram.h"
#include "store/tsdb/chunk.h"
#include "store/tsdb/hchunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXS 4096

static osp_sample in[MAXS];

static void check_chunk(const osp_buf *b, size_t from, size_t to)
{
    osp_chunk_iter it;
    osp_sample got;
    size_t k = from;
    osp_chunk_iter_init(&it, b->data, b->len);
    while (osp_chunk_iter_next(&it, &got)) {
        if (k >= to || got.t_ms != in[k].t_ms || memcmp(&got.v, &in[k].v, sizeof got.v) != 0)
            abort();
        k++;
    }
    if (osp_chunk_iter_err(&it) != 0 || k != to)
        abort();
}

/* (b): the input as a histogram chunk. */
static void hist_chunk(const uint8_t *copy, size_t size)
{
    osp_hchunk_iter it, back;
    osp_hchunk_writer w;
    osp_arena arena;
    osp_histogram h[OSP_HCHUNK_MAX_SAMPLES], got;
    int64_t t[OSP_HCHUNK_MAX_SAMPLES], bt;
    const uint8_t *rec;
    size_t len, n = 0;
    osp_arena_init(&arena, 0, 0);
    osp_hchunk_writer_init(&w);
    osp_hchunk_iter_init(&it, copy, size);
    while (osp_hchunk_iter_next(&it, &t[n], &rec, &len)) {
        int rc = osp_hchunk_decode(rec, len, &arena, &h[n]);
        if (rc != 0 && rc != OSP_ECORRUPT)
            abort();
        if (rc == 0 && osp_hchunk_writer_append(&w, t[n], rec, len) == 0)
            n++;
    }
    if (osp_hchunk_iter_err(&it) != 0 && osp_hchunk_iter_err(&it) != OSP_ECORRUPT)
        abort();
    osp_hchunk_iter_init(&back, w.b.data, w.b.len);
    for (size_t i = 0; i < n; i++)
        if (!osp_hchunk_iter_next(&back, &bt, &rec, &len) || bt != t[i] ||
            osp_hchunk_decode(rec, len, &arena, &got) != 0 || !osp_hist_equal(&got, &h[i]))
            abort();
    if (osp_hchunk_iter_next(&back, &bt, &rec, &len) || (n && osp_hchunk_iter_err(&back)))
        abort();
    osp_hchunk_writer_cleanup(&w);
    osp_arena_cleanup(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osp_chunk_iter it;
    osp_sample s;
    /* (a) arbitrary bytes as a chunk; copy so ASan catches any overread */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    osp_chunk_iter_init(&it, copy, size);
    while (osp_chunk_iter_next(&it, &s))
        ;
    int err = osp_chunk_iter_err(&it);
    if (err != 0 && err != OSP_ECORRUPT)
        abort();
    hist_chunk(copy, size); /* (b) */
    free(copy);

    /* (c) round trip */
    if (size < 2)
        return 0;
    uint32_t max_samples = data[0];
    size_t max_bytes = (size_t)data[1] * 16;
    data += 2;
    size -= 2;
    size_t n = 0;
    int64_t t = 0;
    for (; n < MAXS && size >= 16; n++, data += 16, size -= 16) {
        uint64_t step, vb;
        memcpy(&step, data, 8);
        memcpy(&vb, data + 8, 8);
        if (n == 0) {
            t = (int64_t)step;
        } else {
            uint64_t room = (uint64_t)INT64_MAX - (uint64_t)t; /* t + step <= INT64_MAX */
            if (room == 0)
                break;
            step = step % room + 1;
            t = (int64_t)((uint64_t)t + step);
        }
        in[n].t_ms = t;
        memcpy(&in[n].v, &vb, 8);
    }
    osp_chunk_appender a;
    osp_buf b;
    osp_chunk_appender_init(&a, max_samples, max_bytes);
    osp_buf_init(&b, 0);
    size_t first = 0;
    for (size_t i = 0; i <= n; i++) {
        int rc = i < n ? osp_chunk_append(&a, in[i].t_ms, in[i].v) : OSP_ETOOBIG;
        if (rc == 0)
            continue;
        if (rc != OSP_ETOOBIG || (osp_chunk_appender_count(&a) == 0 && i < n))
            abort();
        osp_buf_reset(&b);
        if (osp_chunk_appender_finish(&a, &b) != 0)
            abort();
        check_chunk(&b, first, i);
        first = i;
        if (i < n && osp_chunk_append(&a, in[i].t_ms, in[i].v) != 0)
            abort();
    }
    osp_buf_cleanup(&b);
    return 0;
}
