/* Unit tests for block files (src/store/tsdb/block.c) and the incremental chunk stream. */
#include "testutil.h"

#include "core/buf.h"
#include "core/err.h"
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
        assert_int_equal(osp_block_writer_add(w, l, 2, s, 100 + (size_t)i), 0);
        assert_int_equal(osp_block_writer_add(w, l, 2, s, 0), OSP_EINVAL);
    }
    uint64_t rep[1] = {9};
    assert_int_equal(osp_block_writer_finish(w, 77, 5, rep, 1, NULL), 0);
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
        assert_int_equal(osp_block_series_labels(b, i, l), 2);
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

    /* Any flipped byte is caught by a checksum or a bound check. */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    for (long off = 0; off < size; off += 7) {
        write_block(path, 20);
        f = fopen(path, "r+b");
        fseek(f, off, SEEK_SET);
        int c = fgetc(f);
        fseek(f, off, SEEK_SET);
        fputc(c ^ 0x10, f);
        fclose(f);
        assert_int_equal(osp_block_open(path, &b), OSP_ECORRUPT);
    }
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(osp_block_open(path, &b), OSP_ECORRUPT);
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_block_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
