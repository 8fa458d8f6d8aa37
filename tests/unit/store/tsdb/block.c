/* Unit tests for block files (src/store/tsdb/block.c) and the incremental chunk stream. */
#include "testutil.h"

#include <time.h>
#include <xxhash.h>
#include <zstd.h>

#include "core/buf.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"
#include "model/series.h"
#include "histutil.h"
#include "store/tsdb/block.h"
#include "store/tsdb/chunk.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The stream decodes in place to what was appended, and finishes into the same bytes an
 * appender writes. */
static void test_stream(void **state)
{
    for (int shape = 0; shape < 4; shape++) {
        osp_chunk_stream s;
        osp_chunk_appender a;
        osp_buf x, y;
        osp_sample in[OSP_CHUNK_MAX_SAMPLES], got;
        osp_chunk_stream_init(&s);
        osp_chunk_appender_init(&a, 0, 0);
        osp_buf_init(&x, 0);
        osp_buf_init(&y, 0);
        uint32_t n = 0;
        int64_t t = -5000;
        double v = 0;
        for (;;) {
            t += shape == 3 ? (int64_t)(rnd() % 100000) + 1 : 15000 + (int64_t)(rnd() % 5);
            v = shape == 0 ? v + (double)(rnd() % 10) : shape == 1 ? (double)rnd() / 3.0 : 1.0;
            int rc = osp_chunk_stream_append(&s, t, v);
            if (rc == OSP_ETOOBIG)
                break;
            assert_int_equal(rc, 0);
            assert_int_equal(osp_chunk_stream_append(&s, t, v), OSP_EINVAL);
            assert_int_equal(osp_chunk_append(&a, t, v), 0);
            in[n++] = (osp_sample){t, v};
        }
        assert_true(n > 0 && n <= OSP_CHUNK_MAX_SAMPLES);
        osp_chunk_iter it;
        osp_chunk_iter_init_stream(&it, &s);
        for (uint32_t i = 0; i < n; i++) {
            assert_true(osp_chunk_iter_next(&it, &got));
            assert_int_equal(got.t_ms, in[i].t_ms);
            assert_memory_equal(&got.v, &in[i].v, sizeof got.v);
        }
        assert_false(osp_chunk_iter_next(&it, &got));
        assert_int_equal(osp_chunk_iter_err(&it), 0);
        assert_int_equal(osp_chunk_stream_finish(&s, &x), 0);
        assert_int_equal(osp_chunk_appender_finish(&a, &y), 0);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.data, y.data, x.len);
        assert_null(s.buf);
        osp_buf_cleanup(&x);
        osp_buf_cleanup(&y);
    }
}

static void write_block(const char *path, int nseries)
{
    osp_block_writer *w;
    osp_sample s[500];
    char v[16];
    assert_int_equal(osp_block_writer_create(path, &w), 0);
    for (int i = 0; i < nseries; i++) {
        snprintf(v, sizeof v, "%03d", i);
        osp_label l[2] = {{OSP_STR_LIT("__name__"), OSP_STR_LIT("m")},
                          {OSP_STR_LIT("i"), osp_str_c(v)}};
        for (int k = 0; k < 500; k++)
            s[k] = (osp_sample){1000 + k * 10, (double)(k * i)};
        assert_int_equal(osp_block_writer_add(w, l, 2, s, 100 + (size_t)i, NULL, 0), 0);
        assert_int_equal(osp_block_writer_add(w, l, 2, s, 0, NULL, 0), OSP_EINVAL);
    }
    uint64_t rep[1] = {9};
    assert_int_equal(osp_block_writer_finish(w, 77, 5, rep, 1, NULL), 0);
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    rewind(f);
    uint8_t *p = malloc(*size);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, *size, f), *size);
    fclose(f);
    return p;
}

static void spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Footer fields of a block image (README.md), as u64le indexes. */
enum {
    F_COFF = 0,
    F_CLEN = 1,
    F_CSUM = 2,
    F_YOFF = 3,
    F_YLEN = 4,
    F_YRAW = 6,
    F_NSYM = 7,
    F_SOFF = 8,
    F_SLEN = 9,
    F_SSUM = 10,
    F_SRAW = 11,
    F_NSERIES = 12,
    F_NREP = 18,
    F_NFIELDS = 19
};

static uint8_t *footer(uint8_t *p, size_t n)
{
    return p + n - OSP_BLOCK_FOOTER_LEN;
}

static uint64_t field(uint8_t *p, size_t n, int k)
{
    return osp_get_le64(footer(p, n) + 8 * k);
}

/* Sets footer field k and recomputes the checksum over the replaces and the footer. */
static void set_field(uint8_t *p, size_t n, int k, uint64_t v)
{
    uint8_t *f = footer(p, n);
    size_t rep = 8 * (size_t)field(p, n, F_NREP);
    osp_put_le64(f + 8 * k, v);
    osp_put_le64(f + 8 * F_NFIELDS, XXH64(f - rep, rep + 8 * F_NFIELDS, 0));
}

/* Replaces the series section of block image p (n bytes) by sec and fixes the footer:
 * a hostile file with valid checksums. Returns the new image (n updated). */
static uint8_t *with_series(uint8_t *p, size_t *n, const osp_buf *sec)
{
    uint64_t soff = field(p, *n, F_SOFF), slen = field(p, *n, F_SLEN);
    size_t tail = *n - (size_t)(soff + slen); /* replaces and footer */
    size_t m = (size_t)soff + sec->len + tail;
    uint8_t *q = malloc(m);
    assert_non_null(q);
    memcpy(q, p, (size_t)soff);
    memcpy(q + soff, sec->data, sec->len);
    memcpy(q + soff + sec->len, p + soff + slen, tail);
    set_field(q, m, F_SLEN, sec->len);
    set_field(q, m, F_SSUM, XXH64(sec->data, sec->len, 0));
    *n = m;
    return q;
}

/* Appends a frame header claiming raw bytes, then data compressed (or, zlen 0, nothing). */
static void put_frame(osp_buf *sec, uint64_t raw, const void *data, size_t len)
{
    uint8_t z[4096];
    size_t zlen = len ? ZSTD_compress(z, sizeof z, data, len, 1) : 0;
    assert_false(ZSTD_isError(zlen));
    assert_int_equal(osp_pb_put_varint(sec, raw), 0);
    assert_int_equal(osp_pb_put_varint(sec, zlen), 0);
    assert_int_equal(osp_buf_append(sec, z, zlen), 0);
}

static int open_image(const char *path, const uint8_t *p, size_t n)
{
    osp_block *b;
    spit(path, p, n);
    int rc = osp_block_open(path, &b);
    osp_block_close(rc ? NULL : b);
    return rc;
}

/* A block of format 01 (one series {__name__="up", job="node"}, two samples), written
 * by the previous writer: rejected as corrupt, so the engine quarantines it. */
static const uint8_t old_block[] = {
    0x4f, 0x53, 0x50, 0x54, 0x53, 0x42, 0x30, 0x31, 0x08, 0x01, 0x02, 0xd0, 0x0f, 0x98, 0x75, 0x81,
    0x00, 0x02, 0x08, 0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f, 0x02, 0x75, 0x70, 0x03, 0x6a,
    0x6f, 0x62, 0x04, 0x6e, 0x6f, 0x64, 0x65, 0xd0, 0x0f, 0x98, 0x75, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xf0, 0x3f, 0x02, 0x00, 0x09, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb0, 0x8b, 0x4e, 0xb1, 0x4c, 0xe2, 0x24, 0x1b, 0x11, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x25, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x81,
    0x81, 0xd7, 0xfe, 0x52, 0x0f, 0x18, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe8, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3e,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd7, 0x21,
    0xba, 0xfa, 0x1b, 0x99, 0xa9, 0x0e, 0x4f, 0x53, 0x50, 0x54, 0x53, 0x42, 0x30, 0x31};

static void test_block_old_format(void **state)
{
    char *dir = osp_test_tmpdir("block");
    char path[4096];
    snprintf(path, sizeof path, "%s/b.blk", dir);
    assert_int_equal(open_image(path, old_block, sizeof old_block), OSP_ECORRUPT);
    osp_test_rmdir(dir);
    free(dir);
}

/* Hostile sizes with valid checksums are refused before anything is allocated from them
 * (an allocation from one would fail with OSP_ENOMEM instead), and frames are checked. */
static void test_block_hostile(void **state)
{
    char *dir = osp_test_tmpdir("block");
    char path[4096];
    snprintf(path, sizeof path, "%s/b.blk", dir);
    write_block(path, 20);
    size_t n;
    uint8_t *p = slurp(path, &n);
    const struct {
        int k;
        uint64_t v;
    } bad[] = {{F_NSERIES, 1ull << 50},
               {F_NSERIES, 21},
               {F_NSYM, 1ull << 40},
               {F_YRAW, 1ull << 40},
               {F_YRAW, OSP_BLOCK_MAX_SYMBOL_BYTES},
               {F_SRAW, 1ull << 60},
               {F_SRAW, 1}};
    set_field(p, n, F_NSERIES, field(p, n, F_NSERIES)); /* the helper itself keeps it valid */
    assert_int_equal(open_image(path, p, n), 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t keep = field(p, n, bad[i].k);
        set_field(p, n, bad[i].k, bad[i].v);
        assert_int_equal(open_image(path, p, n), OSP_ECORRUPT);
        set_field(p, n, bad[i].k, keep);
    }
    assert_int_equal(open_image(path, p, n), 0);

    /* The series entries, decoded from the one frame the writer made. */
    uint64_t soff = field(p, n, F_SOFF), raw, zlen;
    osp_pb_reader r = osp_pb_reader_make(p + soff, (size_t)field(p, n, F_SLEN));
    assert_int_equal(osp_pb_read_varint(&r, &raw), 0);
    assert_int_equal(osp_pb_read_varint(&r, &zlen), 0);
    assert_int_equal(r.p + zlen, r.end);
    uint8_t e[4096];
    assert_true(raw < sizeof e);
    assert_int_equal(ZSTD_decompress(e, sizeof e, r.p, (size_t)zlen), raw);
    osp_buf sec;
    osp_buf_init(&sec, 0);
    for (int c = 0; c < 6; c++) {
        osp_buf_reset(&sec);
        if (c == 0) /* control: recompressed the same, accepted */
            put_frame(&sec, raw, e, (size_t)raw);
        else if (c == 1) /* a frame claiming more than OSP_BLOCK_FRAME_MAX */
            put_frame(&sec, 1ull << 40, e, (size_t)raw);
        else if (c == 2) { /* an entry crossing two frames */
            put_frame(&sec, 3, e, 3);
            put_frame(&sec, raw - 3, e + 3, (size_t)raw - 3);
        } else if (c == 3) /* a compressed length past the section */
            assert_int_equal(osp_pb_put_varint(&sec, raw) | osp_pb_put_varint(&sec, 1 << 20), 0);
        else if (c == 4) /* a frame whose content size disagrees with its header */
            put_frame(&sec, raw - 1, e, (size_t)raw);
        else /* an empty frame */
            put_frame(&sec, 0, NULL, 0);
        size_t m = n;
        uint8_t *q = with_series(p, &m, &sec);
        set_field(q, m, F_SRAW, c == 1 ? 1ull << 40 : raw);
        assert_int_equal(open_image(path, q, m), c == 0 ? 0 : OSP_ECORRUPT);
        free(q);
    }
    osp_buf_cleanup(&sec);
    free(p);
    osp_test_rmdir(dir);
    free(dir);
}

/* Long label values: the symbol table spans several frames, strings crossing them. */
static void test_block_frames(void **state)
{
    char *dir = osp_test_tmpdir("block");
    char path[4096], v[512];
    snprintf(path, sizeof path, "%s/b.blk", dir);
    osp_block_writer *w;
    osp_sample s = {1000, 1.5};
    assert_int_equal(osp_block_writer_create(path, &w), 0);
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        int len = snprintf(v, sizeof v, "%05d", i);
        memset(v + len, 'a' + i % 26, 100 + (size_t)(i % 300));
        v[len + 100 + i % 300] = 0;
        osp_label l[1] = {{OSP_STR_LIT("k"), osp_str_c(v)}};
        assert_int_equal(osp_block_writer_add(w, l, 1, &s, 1, NULL, 0), 0);
    }
    uint64_t bytes;
    assert_int_equal(osp_block_writer_finish(w, 0, 1, NULL, 0, &bytes), 0);
    osp_block *b;
    assert_int_equal(osp_block_open(path, &b), 0);
    assert_int_equal(osp_block_get_info(b)->nseries, N);
    for (int i = 0; i < N; i++) {
        osp_label l[OSP_BLOCK_MAX_LABELS];
        assert_int_equal(osp_block_series_labels(b, (size_t)i, l), 1);
        assert_int_equal(l[0].value.n, 5 + 100 + i % 300);
        assert_int_equal(l[0].value.p[l[0].value.n - 1], 'a' + i % 26);
    }
    osp_block_close(b);
    size_t n;
    uint8_t *p = slurp(path, &n);
    assert_true(field(p, n, F_YRAW) > 4 * OSP_BLOCK_FRAME_MAX);
    free(p);
    osp_test_rmdir(dir);
    free(dir);
}

static int count(void *ctx, int64_t t, double v)
{
    (void)t;
    (void)v;
    ++*(size_t *)ctx;
    return 0;
}

static void test_block_round_trip(void **state)
{
    char *dir = osp_test_tmpdir("block");
    char path[4096];
    snprintf(path, sizeof path, "%s/b.blk", dir);
    write_block(path, 20);
    osp_block *b;
    assert_int_equal(osp_block_open(path, &b), 0);
    const osp_block_info *bi = osp_block_get_info(b);
    assert_int_equal(bi->nseries, 20);
    assert_int_equal(bi->wal_lsn, 77);
    assert_int_equal(bi->age, 5);
    assert_int_equal(bi->nreplaces, 1);
    assert_int_equal(bi->replaces[0], 9);
    assert_int_equal(bi->mint, 1000);
    assert_int_equal(bi->maxt, 1000 + 118 * 10);
    for (size_t i = 0; i < 20; i++) {
        osp_label l[OSP_BLOCK_MAX_LABELS];
        char v[16];
        snprintf(v, sizeof v, "%03zu", i);
        assert_int_equal(osp_block_series_labels(b, i, l), 2);
        assert_true(osp_str_eq(l[0].name, OSP_STR_LIT("__name__")) &&
                    osp_str_eq(l[0].value, OSP_STR_LIT("m")) &&
                    osp_str_eq(l[1].name, OSP_STR_LIT("i")) &&
                    osp_str_eq(l[1].value, osp_str_c(v)));
        const osp_block_series *s = osp_block_get_series(b, i);
        assert_int_equal(s->nsamples, 100 + i);
        size_t n = 0;
        assert_int_equal(osp_block_series_samples(b, i, INT64_MIN, INT64_MAX, count, &n), 0);
        assert_int_equal(n, 100 + i);
        n = 0;
        assert_int_equal(osp_block_series_samples(b, i, 1005, 1100, count, &n), 0);
        assert_int_equal(n, 10);
    }
    osp_block_close(b);

    /* Any flipped byte, in every section, is caught by a checksum or a bound check. */
    size_t size;
    uint8_t *orig = slurp(path, &size);
    for (size_t off = 0; off < size; off++) {
        orig[off] ^= 0x10;
        spit(path, orig, size);
        orig[off] ^= 0x10;
        assert_int_equal(osp_block_open(path, &b), OSP_ECORRUPT);
    }
    free(orig);
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(osp_block_open(path, &b), OSP_ECORRUPT);
    osp_test_rmdir(dir);
    free(dir);
}

/* ---- histograms ------------------------------------------------------------------------- */

typedef struct hwalk {
    int64_t t[400];
    const osp_histogram *h[400];
    size_t n;
} hwalk;

static int take_h(void *ctx, int64_t t, const osp_histogram *h)
{
    hwalk *w = ctx;
    assert_true(w->n < 400);
    w->t[w->n] = t;
    w->h[w->n++] = h;
    return 0;
}

typedef struct fwalk {
    osp_sample s[400];
    size_t n;
} fwalk;

static int take_f(void *ctx, int64_t t, double v)
{
    fwalk *w = ctx;
    assert_true(w->n < 400);
    w->s[w->n++] = (osp_sample){t, v};
    return 0;
}

/* Four series: floats only (a), histograms only (b, 300 of them: three chunks at least,
 * the last one the stale marker), both interleaved with a histogram newest (c), both with a
 * float newest (d). */
static void write_hist_block(const char *path, osp_arena *a)
{
    osp_block_writer *w;
    osp_sample s[150];
    osp_hsample hs[300];
    osp_label l[2] = {{OSP_STR_LIT("__name__"), OSP_STR_LIT("h")}, {OSP_STR_LIT("s"), {0}}};
    assert_int_equal(osp_block_writer_create(path, &w), 0);
    l[1].value = OSP_STR_LIT("a");
    for (int k = 0; k < 10; k++)
        s[k] = (osp_sample){100 + k, k};
    assert_int_equal(osp_block_writer_add(w, l, 2, s, 10, NULL, 0), 0);
    l[1].value = OSP_STR_LIT("b");
    for (int k = 0; k < 300; k++)
        hs[k] = (osp_hsample){1000 + 15 * k, test_hist(a, k)};
    hs[299].h = test_stale_hist(a);
    assert_int_equal(osp_block_writer_add(w, l, 2, NULL, 0, hs, 300), 0);
    l[1].value = OSP_STR_LIT("c");
    for (int k = 0; k < 150; k++) {
        s[k] = (osp_sample){2 * k, 0.5 * k};
        hs[k] = (osp_hsample){2 * k + 1, test_hist(a, k)};
    }
    assert_int_equal(osp_block_writer_add(w, l, 2, s, 150, hs, 150), 0);
    l[1].value = OSP_STR_LIT("d");
    s[0] = (osp_sample){50, 7};
    hs[0] = (osp_hsample){40, test_hist(a, 3)};
    assert_int_equal(osp_block_writer_add(w, l, 2, s, 1, hs, 1), 0);
    assert_int_equal(osp_block_writer_finish(w, 3, 4, NULL, 0, NULL), 0);
}

static void test_block_histograms(void **state)
{
    char *dir = osp_test_tmpdir("block");
    char path[4096];
    osp_arena a, out;
    osp_block_writer *w;
    snprintf(path, sizeof path, "%s/b.blk", dir);
    osp_arena_init(&a, 0, 0);
    osp_arena_init(&out, 0, 0);
    /* Histograms must ascend. */
    osp_hsample bad[2] = {{40, test_hist(&a, 3)}, {40, test_hist(&a, 4)}};
    osp_label l[1] = {{OSP_STR_LIT("__name__"), OSP_STR_LIT("h")}};
    assert_int_equal(osp_block_writer_create(path, &w), 0);
    assert_int_equal(osp_block_writer_add(w, l, 1, NULL, 0, bad, 2), OSP_EINVAL);
    assert_int_equal(osp_block_writer_add(w, l, 1, NULL, 0, NULL, 0), OSP_EINVAL);
    osp_block_writer_abort(w);

    write_hist_block(path, &a);
    osp_block *b;
    assert_int_equal(osp_block_open(path, &b), 0);
    const osp_block_info *bi = osp_block_get_info(b);
    assert_int_equal(bi->nseries, 4);
    assert_int_equal(bi->nsamples, 10 + 300 + 300 + 2);
    assert_int_equal(bi->mint, 0);               /* c's first float */
    assert_int_equal(bi->maxt, 1000 + 15 * 299); /* b's last histogram */

    /* a: floats only */
    assert_null(osp_block_series_hist(b, 0));
    hwalk hw = {0};
    assert_int_equal(osp_block_series_hsamples(b, 0, INT64_MIN, INT64_MAX, &out, take_h, &hw), 0);
    assert_int_equal(hw.n, 0);

    /* b: histograms only, bit for bit, in three chunks or more */
    const osp_block_series *bs = osp_block_get_series(b, 1);
    const osp_block_hist *hb = osp_block_series_hist(b, 1);
    assert_non_null(hb);
    assert_int_equal(bs->nsamples, 0);
    assert_int_equal(bs->chunk_len, 0);
    assert_int_equal(bs->mint, 1000);
    assert_int_equal(bs->maxt, 1000 + 15 * 299);
    assert_int_equal(bs->last_v, 0);
    assert_int_equal(hb->series, 1);
    assert_int_equal(hb->nsamples, 300);
    assert_int_equal(hb->mint, 1000);
    assert_int_equal(hb->maxt, 1000 + 15 * 299);
    fwalk fw = {0};
    assert_int_equal(osp_block_series_samples(b, 1, INT64_MIN, INT64_MAX, take_f, &fw), 0);
    assert_int_equal(fw.n, 0);
    assert_int_equal(osp_block_series_hsamples(b, 1, INT64_MIN, INT64_MAX, &out, take_h, &hw), 0);
    assert_int_equal(hw.n, 300);
    for (int k = 0; k < 299; k++) {
        assert_int_equal(hw.t[k], 1000 + 15 * k);
        assert_true(osp_hist_equal(hw.h[k], test_hist(&a, k)));
    }
    assert_true(osp_hist_is_stale(hw.h[299]));
    /* a range: [1000 + 15 * 10, 1000 + 15 * 20] holds samples 10..20; undecoded, h is NULL */
    hw.n = 0;
    assert_int_equal(osp_block_series_hsamples(b, 1, 1150, 1300, NULL, take_h, &hw), 0);
    assert_int_equal(hw.n, 11);
    assert_int_equal(hw.t[0], 1150);
    assert_null(hw.h[0]);

    /* c: interleaved, the newest a histogram: last_v says nothing */
    bs = osp_block_get_series(b, 2);
    const osp_block_hist *hc = osp_block_series_hist(b, 2);
    assert_int_equal(bs->nsamples, 150);
    assert_int_equal(bs->mint, 0);
    assert_int_equal(bs->maxt, 299);
    assert_int_equal(bs->last_v, 0);
    assert_int_equal(hc->mint, 1);
    assert_int_equal(hc->maxt, 299);
    fw.n = hw.n = 0;
    assert_int_equal(osp_block_series_samples(b, 2, 10, 20, take_f, &fw), 0);
    assert_int_equal(osp_block_series_hsamples(b, 2, 10, 20, &out, take_h, &hw), 0);
    assert_int_equal(fw.n, 6); /* 10, 12, ..., 20 */
    assert_int_equal(hw.n, 5); /* 11, 13, ..., 19 */
    assert_true(fw.s[5].t_ms == 20 && fw.s[5].v == 5);
    assert_int_equal(hw.t[4], 19);
    assert_true(osp_hist_equal(hw.h[4], test_hist(&a, 9)));

    /* d: the newest a float, whose bits last_v keeps */
    bs = osp_block_get_series(b, 3);
    assert_int_equal(bs->maxt, 50);
    assert_int_equal(bs->mint, 40);
    assert_int_equal(bs->last_v, osp_pb_double_bits(7));
    assert_int_equal(osp_block_series_hist(b, 3)->maxt, 40);
    osp_block_close(b);

    /* Any flipped byte, in every section, is caught by a checksum or a bound check. */
    size_t size;
    uint8_t *orig = slurp(path, &size);
    for (size_t off = 0; off < size; off++) {
        orig[off] ^= 0x10;
        spit(path, orig, size);
        orig[off] ^= 0x10;
        assert_int_equal(osp_block_open(path, &b), OSP_ECORRUPT);
    }
    free(orig);
    osp_arena_cleanup(&a);
    osp_arena_cleanup(&out);
    osp_test_rmdir(dir);
    free(dir);
}

/* Corrupt histogram chunks behind a valid checksum (a file damaged before it was summed,
 * or a writer bug) are OSP_ECORRUPT when read, never a crash. */
static void test_block_hist_corrupt(void **state)
{
    char *dir = osp_test_tmpdir("block");
    char path[4096];
    osp_arena a;
    osp_block *b;
    osp_block_writer *w;
    osp_hsample hs[3];
    snprintf(path, sizeof path, "%s/b.blk", dir);
    osp_arena_init(&a, 0, 0);
    for (int k = 0; k < 3; k++)
        hs[k] = (osp_hsample){10 * k, test_hist(&a, 2 * k)};
    osp_label l[1] = {{OSP_STR_LIT("__name__"), OSP_STR_LIT("h")}};
    assert_int_equal(osp_block_writer_create(path, &w), 0);
    assert_int_equal(osp_block_writer_add(w, l, 1, NULL, 0, hs, 3), 0);
    assert_int_equal(osp_block_writer_finish(w, 0, 1, NULL, 0, NULL), 0);
    assert_int_equal(osp_block_open(path, &b), 0);
    uint64_t off = osp_block_series_hist(b, 0)->chunk_off;
    osp_block_close(b);
    size_t n;
    uint8_t *p = slurp(path, &n);
    /* The chunk: length varint (one byte), count, zigzag(t0) = 0, record length, record
     * (flags first). Each damage: the count 0; a count above what is there; a record whose
     * version is unknown; a record length past the chunk; a second timestamp not after the
     * first. */
    assert_true(p[off] < 0x80);
    uint8_t *c = p + off + 1, *rec = c + 3;
    const struct {
        uint8_t *at, v;
    } bad[] = {{c, 0}, {c, 4}, {rec, 0xe0}, {c + 2, 0x7f}, {rec + c[2], 0}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t keep = *bad[i].at;
        *bad[i].at = bad[i].v;
        set_field(p, n, F_CSUM, XXH64(p + field(p, n, F_COFF), (size_t)field(p, n, F_CLEN), 0));
        spit(path, p, n);
        *bad[i].at = keep;
        assert_int_equal(osp_block_open(path, &b), 0);
        hwalk hw = {0};
        assert_int_equal(osp_block_series_hsamples(b, 0, INT64_MIN, INT64_MAX, &a, take_h, &hw),
                         OSP_ECORRUPT);
        osp_block_close(b);
    }
    free(p);
    osp_arena_cleanup(&a);
    osp_test_rmdir(dir);
    free(dir);
}

/* A block of format 02 written by the previous release (tests/unit/store/tsdb/fixtures/
 * osptsb02.blk: old_metric{i="a"} with 150 samples at 1000 + 15000k of value k, two
 * chunks; old_metric{i="b"} with 0.5 at 1000, the stale marker at 2000, 2.5 at 3000)
 * opens and reads back. Paths are relative to the repository root, where make unit runs
 * the tests. */
static void test_block_format_02(void **state)
{
    osp_block *b;
    osp_label l[OSP_BLOCK_MAX_LABELS];
    fwalk fw = {0};
    assert_int_equal(osp_block_open("tests/unit/store/tsdb/fixtures/osptsb02.blk", &b), 0);
    const osp_block_info *bi = osp_block_get_info(b);
    assert_int_equal(bi->nseries, 2);
    assert_int_equal(bi->nsamples, 153);
    assert_int_equal(bi->mint, 1000);
    assert_int_equal(bi->maxt, 1000 + 149 * 15000);
    assert_int_equal(bi->age, 1);
    assert_int_equal(osp_block_series_labels(b, 0, l), 2);
    assert_true(osp_str_eqz(l[0].value, "old_metric") && osp_str_eqz(l[1].value, "a"));
    assert_int_equal(osp_block_series_samples(b, 0, INT64_MIN, INT64_MAX, take_f, &fw), 0);
    assert_int_equal(fw.n, 150);
    for (int k = 0; k < 150; k++)
        assert_true(fw.s[k].t_ms == 1000 + 15000 * k && fw.s[k].v == k);
    assert_int_equal(osp_block_get_series(b, 0)->last_v, osp_pb_double_bits(149));
    fw.n = 0;
    assert_int_equal(osp_block_series_samples(b, 1, INT64_MIN, INT64_MAX, take_f, &fw), 0);
    assert_int_equal(fw.n, 3);
    assert_true(fw.s[0].v == 0.5 && osp_is_stale_nan(fw.s[1].v) && fw.s[2].v == 2.5);
    assert_null(osp_block_series_hist(b, 0));
    assert_null(osp_block_series_hist(b, 1));
    hwalk hw = {0};
    assert_int_equal(osp_block_series_hsamples(b, 1, INT64_MIN, INT64_MAX, NULL, take_h, &hw), 0);
    assert_int_equal(hw.n, 0);
    osp_block_close(b);
}

/* ---- figure: bytes per sample for 100k realistic series -------------------------------- */

enum { FIG_SERIES = 100000, FIG_SAMPLES = 20, FIG_MAXL = 8 };

typedef struct fig_series {
    osp_label l[FIG_MAXL];
    size_t n;
    int kind; /* 0 counter, 1 gauge */
} fig_series;

static int fig_cmp(const void *a, const void *b)
{
    const fig_series *x = a, *y = b;
    return osp_labels_compare(x->l, x->n, y->l, y->n);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Interns a formatted string for the figure's label sets (leaked into pool). */
static osp_str fig_str(osp_buf *pool, const char *z)
{
    char *p = strdup(z);
    assert_non_null(p);
    assert_int_equal(osp_buf_append(pool, &p, sizeof p), 0);
    return osp_str_c(p);
}

static int noop(void *ctx, int64_t t, double v)
{
    (void)t;
    *(double *)ctx += v;
    return 0;
}

/* Prints bytes per sample and label bytes per series of a block holding 100k series with
 * realistic label sets (100 metric names, 150 instances, 2-4 more labels, le for
 * histograms), 20 samples each at 15 s with +-2 ms jitter; a figure, not an assertion. */
static void test_block_figure(void **state)
{
    static const char *pre[10] = {"node", "http", "process",   "go",   "container",
                                  "kube", "grpc", "apiserver", "etcd", "prometheus"};
    static const char *suf[10] = {"cpu_seconds_total",
                                  "memory_bytes",
                                  "requests_total",
                                  "errors_total",
                                  "open_fds",
                                  "network_receive_bytes_total",
                                  "network_transmit_bytes_total",
                                  "info",
                                  "up_seconds",
                                  "request_duration_seconds_bucket"};
    static const char *les[12] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                  "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
    static const char *methods[4] = {"GET", "POST", "PUT", "DELETE"};
    fig_series *fs = calloc(FIG_SERIES, sizeof *fs);
    assert_non_null(fs);
    osp_buf pool;
    osp_buf_init(&pool, 0);
    osp_str inst[150], name[100], job[10], cluster[3];
    char z[128];
    for (int i = 0; i < 150; i++) {
        snprintf(z, sizeof z, "10.%d.%d.%d:%d", i / 64, (i * 37) % 256, (i * 91) % 256,
                 i % 2 ? 9100 : 8080);
        inst[i] = fig_str(&pool, z);
    }
    for (int i = 0; i < 100; i++) {
        snprintf(z, sizeof z, "%s_%s", pre[i / 10], suf[i % 10]);
        name[i] = fig_str(&pool, z);
    }
    for (int i = 0; i < 10; i++)
        job[i] = fig_str(&pool, pre[i]);
    for (int i = 0; i < 3; i++) {
        snprintf(z, sizeof z, "prod-eu-%d", i);
        cluster[i] = fig_str(&pool, z);
    }
    size_t n = 0;
    for (int m = 0; m < 100 && n < FIG_SERIES; m++)
        for (int h = 0; h < 150 && n < FIG_SERIES; h++) {
            int hist = m % 10 == 9, nv = hist ? 12 : 7;
            for (int v = 0; v < nv && n < FIG_SERIES; v++) {
                fig_series *s = &fs[n++];
                osp_label *l = s->l;
                size_t k = 0;
                l[k++] = (osp_label){OSP_STR_LIT("__name__"), name[m]};
                l[k++] = (osp_label){OSP_STR_LIT("cluster"), cluster[h % 3]};
                if (m % 10 < 2) {
                    snprintf(z, sizeof z, "%d", v);
                    l[k++] = (osp_label){OSP_STR_LIT("cpu"), fig_str(&pool, z)};
                }
                if (hist || m % 10 == 2 || m % 10 == 3) {
                    snprintf(z, sizeof z, "/api/v%d/%s", m % 3 + 1, pre[(m + v) % 10]);
                    l[k++] = (osp_label){OSP_STR_LIT("handler"), fig_str(&pool, z)};
                }
                l[k++] = (osp_label){OSP_STR_LIT("instance"), inst[h]};
                l[k++] = (osp_label){OSP_STR_LIT("job"), job[m / 10]};
                if (hist)
                    l[k++] = (osp_label){OSP_STR_LIT("le"), osp_str_c(les[v])};
                else if (m % 10 >= 2)
                    l[k++] = (osp_label){OSP_STR_LIT("method"), osp_str_c(methods[v % 4])};
                if (!hist && m % 10 >= 2) {
                    snprintf(z, sizeof z, "%d", v < 4 ? 200 : 500 + v);
                    l[k++] = (osp_label){OSP_STR_LIT("status"), fig_str(&pool, z)};
                }
                s->n = k;
                s->kind = m % 10 == 1 || m % 10 == 4 || m % 10 == 8;
            }
        }
    qsort(fs, n, sizeof *fs, fig_cmp);
    char *dir = osp_test_tmpdir("blockfig");
    char path[4096];
    snprintf(path, sizeof path, "%s/b.blk", dir);
    osp_block_writer *w;
    osp_sample smp[FIG_SAMPLES];
    uint64_t labels = 0;
    int64_t t0 = 1700000000000;
    assert_int_equal(osp_block_writer_create(path, &w), 0);
    for (size_t i = 0; i < n; i++) {
        int64_t phase = (int64_t)(rnd() % 15000);
        double v = (double)(rnd() % 100000);
        for (int k = 0; k < FIG_SAMPLES; k++) {
            v = fs[i].kind ? (double)(rnd() % 1000000) / 1000.0 : v + (double)(rnd() % 40);
            smp[k] = (osp_sample){t0 + phase + k * 15000 + (int64_t)(rnd() % 5) - 2, v};
        }
        for (size_t j = 0; j < fs[i].n; j++)
            labels += fs[i].l[j].name.n + fs[i].l[j].value.n;
        assert_int_equal(osp_block_writer_add(w, fs[i].l, fs[i].n, smp, FIG_SAMPLES, NULL, 0), 0);
    }
    uint64_t bytes;
    assert_int_equal(osp_block_writer_finish(w, 0, 1, NULL, 0, &bytes), 0);
    double t1 = now_s();
    size_t mem0 = osp_mem_in_use();
    osp_block *b;
    assert_int_equal(osp_block_open(path, &b), 0);
    double t2 = now_s();
    size_t held = osp_mem_in_use() - mem0;
    uint64_t chunk_bytes = 0;
    osp_label l[OSP_BLOCK_MAX_LABELS];
    for (size_t i = 0; i < n; i++) {
        chunk_bytes += osp_block_get_series(b, i)->chunk_len;
        assert_int_equal(osp_block_series_labels(b, i, l), fs[i].n);
        assert_true(osp_labels_compare(l, fs[i].n, fs[i].l, fs[i].n) == 0);
    }
    double t3 = now_s(), sum = 0;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(osp_block_series_samples(b, i, INT64_MIN, INT64_MAX, noop, &sum), 0);
    double t4 = now_s();
    /* What zstd would make of the chunk section, in 64 KiB frames. */
    const osp_block_series *first = osp_block_get_series(b, 0);
    uint8_t *chunks = malloc(chunk_bytes), *zb = malloc(ZSTD_compressBound(65536));
    FILE *f = fopen(path, "rb");
    assert_true(chunks && zb && f);
    assert_int_equal(fseek(f, (long)first->chunk_off, SEEK_SET), 0);
    assert_int_equal(fread(chunks, 1, chunk_bytes, f), chunk_bytes);
    fclose(f);
    uint64_t zchunks = 0;
    for (uint64_t off = 0; off < chunk_bytes; off += 65536) {
        size_t len = chunk_bytes - off < 65536 ? (size_t)(chunk_bytes - off) : 65536;
        size_t r = ZSTD_compress(zb, ZSTD_compressBound(65536), chunks + off, len, 3);
        assert_false(ZSTD_isError(r));
        zchunks += r;
    }
    printf("block figure: %zu series, %d samples each: %.2f bytes/sample; labels and series "
           "entries %.1f bytes/series (raw label text %.1f); chunks %.2f bytes/sample "
           "(zstd -3 in 64 KiB frames would give %.2f)\n",
           n, FIG_SAMPLES, (double)bytes / (double)(n * FIG_SAMPLES),
           (double)(bytes - chunk_bytes) / (double)n, (double)labels / (double)n,
           (double)chunk_bytes / (double)(n * FIG_SAMPLES),
           (double)zchunks / (double)(n * FIG_SAMPLES));
    printf("block figure: open %.1f ms (holds %.1f bytes/series of heap), labels of every "
           "series %.1f ms, samples of every series %.1f ms (%.2f us/series)\n",
           (t2 - t1) * 1e3, (double)held / (double)n, (t3 - t2) * 1e3, (t4 - t3) * 1e3,
           (t4 - t3) * 1e6 / (double)n);
    osp_block_close(b);
    free(chunks);
    free(zb);
    for (size_t i = 0; i < pool.len / sizeof(char *); i++)
        free(((char **)pool.data)[i]);
    osp_buf_cleanup(&pool);
    free(fs);
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_block_round_trip),
        cmocka_unit_test(test_block_old_format),
        cmocka_unit_test(test_block_hostile),
        cmocka_unit_test(test_block_frames),
        cmocka_unit_test(test_block_histograms),
        cmocka_unit_test(test_block_hist_corrupt),
        cmocka_unit_test(test_block_format_02),
        cmocka_unit_test(test_block_figure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
