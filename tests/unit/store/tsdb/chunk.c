/* Unit tests for the sample chunk codec (src/store/tsdb/chunk.c). */
#include "testutil.h"

#include <math.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/tsdb/chunk.h"

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* Deterministic xorshift generator so runs are reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Encodes all n samples into chunks (as many as needed), decodes each and requires a
 * bit-exact match. Returns the total encoded size; *nchunks gets the chunk count. */
static size_t round_trip(const osp_sample *s, size_t n, size_t max_bytes, int *nchunks)
{
    osp_chunk_appender a;
    osp_buf out;
    size_t total = 0, next = 0;
    int chunks = 0;
    osp_chunk_appender_init(&a, 0, max_bytes);
    osp_buf_init(&out, 0);
    for (size_t i = 0; i <= n; i++) {
        int rc = i < n ? osp_chunk_append(&a, s[i].t_ms, s[i].v) : OSP_ETOOBIG;
        if (rc == 0)
            continue;
        assert_int_equal(rc, OSP_ETOOBIG);
        if (osp_chunk_appender_count(&a) == 0)
            break;
        size_t want = osp_chunk_appender_size(&a);
        osp_buf_reset(&out);
        assert_int_equal(osp_chunk_appender_finish(&a, &out), 0);
        assert_int_equal(out.len, want);
        assert_true(out.len <= (max_bytes ? max_bytes : OSP_CHUNK_DEFAULT_BYTES));
        total += out.len;
        chunks++;
        osp_chunk_iter it;
        osp_sample got;
        osp_chunk_iter_init(&it, out.data, out.len);
        while (osp_chunk_iter_next(&it, &got)) {
            assert_true(next < n);
            assert_int_equal(got.t_ms, s[next].t_ms);
            assert_int_equal(bits_of(got.v), bits_of(s[next].v));
            next++;
        }
        assert_int_equal(osp_chunk_iter_err(&it), 0);
        /* a batch read gives the same samples, in reads of any size */
        osp_sample batch[OSP_CHUNK_MAX_SAMPLES];
        size_t got_n = 0, step = 1 + (size_t)chunks % 7, k;
        osp_chunk_iter_init(&it, out.data, out.len);
        while ((k = osp_chunk_iter_read(&it, batch + got_n, step)) > 0)
            got_n += k;
        assert_int_equal(osp_chunk_iter_err(&it), 0);
        assert_int_equal(got_n, osp_chunk_iter_count(&it));
        for (size_t j = 0; j < got_n; j++) {
            assert_int_equal(batch[j].t_ms, s[next - got_n + j].t_ms);
            assert_int_equal(bits_of(batch[j].v), bits_of(s[next - got_n + j].v));
        }
        if (i < n)
            assert_int_equal(osp_chunk_append(&a, s[i].t_ms, s[i].v), 0);
    }
    assert_int_equal(next, n);
    osp_buf_cleanup(&out);
    if (nchunks)
        *nchunks = chunks;
    return total;
}

#define N 1200
static osp_sample S[N];

static void report(const char *name, size_t n)
{
    int chunks;
    size_t bytes = round_trip(S, n, 0, &chunks);
    printf("  %-40s %5zu samples %3d chunks %6zu bytes %.3f bytes/sample\n", name, n, chunks, bytes,
           (double)bytes / (double)n);
}

static void test_counter_regular(void **state)
{
    (void)state;
    double c = 1234567;
    for (int i = 0; i < N; i++) {
        S[i] = (osp_sample){1700000000000 + 15000 * (int64_t)i, c};
        c += 40 + (double)(rnd() % 20);
    }
    report("counter, regular 15 s scrape", N);
}

static void test_counter_jittered(void **state)
{
    (void)state;
    double c = 0;
    for (int i = 0; i < N; i++) {
        S[i] = (osp_sample){1700000000000 + 15000 * (int64_t)i + (int64_t)(rnd() % 7) - 3, c};
        c += (double)(rnd() % 100 < 70 ? rnd() % 5 : 0);
    }
    report("counter, 15 s scrape +-3 ms jitter", N);
}

static void test_counter_constant_rate(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++)
        S[i] = (osp_sample){1700000000000 + 15000 * (int64_t)i, 1000.0 + 60.0 * i};
    report("counter, constant rate", N);
}

static void test_gauge_noise(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++)
        S[i] = (osp_sample){1700000000000 + 15000 * (int64_t)i + (int64_t)(rnd() % 21) - 10,
                            0.5 + 0.1 * sin(i / 20.0) + (double)(rnd() % 1000) / 1e5};
    report("gauge, float with noise, jitter", N);
}

static void test_gauge_rounded(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++)
        S[i] = (osp_sample){1700000000000 + 15000 * (int64_t)i,
                            round((40.0 + 10 * sin(i / 30.0)) * 100) / 100};
    report("gauge, 2 decimals (cpu percent)", N);
}

static void test_gauge_integral(void **state)
{
    (void)state;
    double mem = 512e6;
    for (int i = 0; i < N; i++) {
        S[i] = (osp_sample){1700000000000 + 15000 * (int64_t)i, mem};
        mem += (double)(int64_t)(rnd() % 8192) * 4096.0 - 16e6;
    }
    report("gauge, integral bytes (memory)", N);
}

static void test_constant(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++)
        S[i] = (osp_sample){1700000000000 + 15000 * (int64_t)i, 1};
    report("constant (up == 1)", N);
    for (int i = 0; i < N; i++)
        S[i].v = 0.25;
    report("constant 0.25", N);
}

static void test_random_floats(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++)
        S[i] = (osp_sample){(int64_t)i * 1000, from_bits(rnd())};
    report("random bit patterns (worst case)", N);
}

static void test_special_values(void **state)
{
    (void)state;
    const uint64_t specials[] = {
        0x7ff0000000000002ull, /* Prometheus stale marker */
        0x7ff8000000000001ull,
        0xfff8000000000000ull,
        0x7ff0000000000000ull, /* +Inf */
        0xfff0000000000000ull, /* -Inf */
        0x8000000000000000ull, /* -0.0 */
        0,
        0x0000000000000001ull, /* smallest subnormal */
        0x7fefffffffffffffull, /* DBL_MAX */
    };
    int ns = (int)(sizeof specials / sizeof specials[0]);
    /* Specials alone, and sprinkled into an integral counter (int path with escapes). */
    for (int i = 0; i < 120; i++)
        S[i] = (osp_sample){(int64_t)i * 15000, from_bits(specials[i % ns])};
    round_trip(S, 120, 0, NULL);
    for (int i = 0; i < 120; i++)
        S[i] = (osp_sample){(int64_t)i * 15000,
                            i % 17 == 5 ? from_bits(specials[(i / 17) % ns]) : (double)(i * 3)};
    round_trip(S, 120, 0, NULL);
    /* Integers at the edge of exactness: +-2^53 take the integer path, beyond goes XOR. */
    const double edge[] = {
        9007199254740992.0, -9007199254740992.0, 9007199254740994.0, -1, 1e300, -0.0};
    for (int i = 0; i < 6; i++)
        S[i] = (osp_sample){i, edge[i]};
    round_trip(S, 6, 0, NULL);
}

static void test_timestamps(void **state)
{
    (void)state;
    /* Extremes: the full int64 range, negative times, huge gaps, 1 ms steps. */
    osp_sample s[] = {{INT64_MIN, 1}, {INT64_MIN + 1, 2}, {-5, 3},       {0, 4},
                      {1, 5},         {INT64_MAX - 1, 6}, {INT64_MAX, 7}};
    round_trip(s, 7, 0, NULL);
    osp_sample s2[] = {{INT64_MIN, 1}, {INT64_MAX, 2}};
    round_trip(s2, 2, 0, NULL);
    for (int i = 0; i < N; i++)
        S[i] = (osp_sample){-1000000000000 + (int64_t)(i * i) * 977 + (int64_t)(rnd() % 100000), i};
    /* keep them increasing */
    for (int i = 1; i < N; i++)
        if (S[i].t_ms <= S[i - 1].t_ms)
            S[i].t_ms = S[i - 1].t_ms + 1;
    round_trip(S, N, 0, NULL);
}

static void test_single_and_empty(void **state)
{
    (void)state;
    osp_sample one = {1700000000000, 42.5};
    assert_int_equal(round_trip(&one, 1, 0, NULL) > 0, 1);
    osp_chunk_appender a;
    osp_buf out;
    osp_chunk_iter it;
    osp_sample got;
    osp_chunk_appender_init(&a, 0, 0);
    osp_buf_init(&out, 0);
    assert_int_equal(osp_chunk_appender_finish(&a, &out), 0);
    osp_chunk_iter_init(&it, out.data, out.len);
    assert_int_equal(osp_chunk_iter_count(&it), 0);
    assert_false(osp_chunk_iter_next(&it, &got));
    assert_int_equal(osp_chunk_iter_err(&it), 0);
    osp_buf_cleanup(&out);
}

static void test_append_rules(void **state)
{
    (void)state;
    osp_chunk_appender a;
    osp_chunk_appender_init(&a, 3, 0);
    assert_int_equal(osp_chunk_append(&a, 100, 1), 0);
    assert_int_equal(osp_chunk_append(&a, 100, 2), OSP_EINVAL);
    assert_int_equal(osp_chunk_append(&a, 99, 2), OSP_EINVAL);
    assert_int_equal(osp_chunk_append(&a, 101, 2), 0);
    assert_int_equal(osp_chunk_append(&a, 102, 3), 0);
    assert_int_equal(osp_chunk_append(&a, 103, 4), OSP_ETOOBIG);
    assert_int_equal(osp_chunk_appender_count(&a), 3);
    /* byte cap: random doubles fill OSP_CHUNK_MIN_BYTES quickly */
    osp_chunk_appender_init(&a, 0, 1);
    int i = 0, rc;
    while ((rc = osp_chunk_append(&a, i, from_bits(rnd()))) == 0)
        i++;
    assert_int_equal(rc, OSP_ETOOBIG);
    assert_true(i >= 1);
    assert_true(osp_chunk_appender_size(&a) <= OSP_CHUNK_MIN_BYTES);
    /* output buffer cap: finish fails and leaves the appender intact */
    osp_buf small;
    osp_buf_init(&small, 4);
    assert_int_equal(osp_chunk_appender_finish(&a, &small), OSP_ETOOBIG);
    assert_int_equal(osp_chunk_appender_count(&a), (uint32_t)i);
    osp_buf_cleanup(&small);
}

/* The in-place stream encoder against the appender, up to and past the byte cap: a
 * refused sample leaves the stream as it was, and its chunk is the appender's bytes. */
/* A stream filled to its byte cap with samples whose timestamps cost more in V2's buckets
 * (delta-of-delta within 2^13) and random values still finishes into one chunk, which
 * reads back sample for sample. */
static void test_stream_finish_costlier_buckets(void **state)
{
    (void)state;
    osp_chunk_stream st;
    osp_chunk_stream_init(&st);
    int64_t t = 1700000000000;
    size_t n = 0;
    for (; n < OSP_CHUNK_MAX_SAMPLES; n++) {
        t += 15000 + (int64_t)(n % 2 ? 3000 : 0);
        S[n] = (osp_sample){t, from_bits(rnd())};
        if (osp_chunk_stream_append(&st, S[n].t_ms, S[n].v) == OSP_ETOOBIG)
            break;
    }
    assert_true(n > 2 && n < OSP_CHUNK_MAX_SAMPLES); /* the byte cap was reached */
    osp_buf out;
    osp_buf_init(&out, 0);
    assert_int_equal(osp_chunk_stream_finish(&st, &out), 0);
    osp_chunk_iter it;
    osp_sample got;
    size_t k = 0;
    osp_chunk_iter_init(&it, out.data, out.len);
    while (osp_chunk_iter_next(&it, &got)) {
        assert_int_equal(got.t_ms, S[k].t_ms);
        assert_int_equal(bits_of(got.v), bits_of(S[k].v));
        k++;
    }
    assert_int_equal(osp_chunk_iter_err(&it), 0);
    assert_int_equal(k, n);
    osp_buf_cleanup(&out);
}

static void test_stream_full(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        osp_chunk_stream s;
        osp_chunk_appender a;
        osp_chunk_stream_init(&s);
        osp_chunk_appender_init(&a, 0, 0);
        int64_t t = -5000;
        int rc, n = 0;
        for (;;) {
            t += kind == 1 ? (int64_t)(rnd() % 2000000) + 1 : 15000 + (int64_t)(rnd() % 3);
            double v = kind == 2 ? (double)(n % 7) : from_bits(rnd());
            if ((rc = osp_chunk_stream_append(&s, t, v)) != 0)
                break;
            assert_int_equal(osp_chunk_append(&a, t, v), 0);
            n++;
        }
        assert_int_equal(rc, OSP_ETOOBIG);
        assert_int_equal(s.n, (uint32_t)n);
        assert_true(osp_chunk_stream_heap(&s) >= (s.nbits + 7) / 8);
        for (uint32_t i = (s.nbits + 7) / 8; i < s.cap; i++)
            assert_int_equal(s.buf[i], 0); /* zero past the bits, as before the refusal */
        if (s.nbits % 8)
            assert_int_equal(s.buf[s.nbits / 8] & (0xff >> (s.nbits % 8)), 0);
        osp_buf x, y;
        osp_buf_init(&x, 0);
        osp_buf_init(&y, 0);
        assert_int_equal(osp_chunk_stream_finish(&s, &x), 0);
        assert_int_equal(osp_chunk_appender_finish(&a, &y), 0);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.data, y.data, x.len);
        assert_null(s.buf);
        osp_buf_cleanup(&x);
        osp_buf_cleanup(&y);
    }
}

/* Every truncation, every single-bit flip and a trailing byte of a real chunk must either
 * decode (flips can yield other valid chunks) or report OSP_ECORRUPT; ASan checks bounds. */
static void test_corrupt(void **state)
{
    (void)state;
    osp_chunk_appender a;
    osp_buf out;
    osp_chunk_iter it;
    osp_sample got;
    for (int enc = 0; enc < 3; enc++) {
        osp_chunk_appender_init(&a, 0, 0);
        for (int i = 0; i < 50; i++) {
            double v = enc == OSP_CHUNK_ENC_INT   ? (double)(i * 7)
                       : enc == OSP_CHUNK_ENC_DEC ? i * 0.37
                                                  : i * 0.123456789012345;
            assert_int_equal(osp_chunk_append(&a, 1700000000000 + 15000 * i + (i % 3), v), 0);
        }
        osp_buf_init(&out, 0);
        assert_int_equal(osp_chunk_appender_finish(&a, &out), 0);
        assert_int_equal((uint8_t)out.data[0], enc | OSP_CHUNK_V2);
        size_t n = out.len;
        for (size_t len = 0; len < n; len++) {
            uint8_t *copy = malloc(len ? len : 1); /* exact size so ASan sees overreads */
            memcpy(copy, out.data, len);
            osp_chunk_iter_init(&it, copy, len);
            int k = 0;
            while (osp_chunk_iter_next(&it, &got))
                k++;
            assert_int_equal(osp_chunk_iter_err(&it), OSP_ECORRUPT);
            assert_true(k < 50);
            /* a batch read stops at the same sample */
            osp_sample batch[OSP_CHUNK_MAX_SAMPLES];
            osp_chunk_iter_init(&it, copy, len);
            assert_int_equal(osp_chunk_iter_read(&it, batch, OSP_CHUNK_MAX_SAMPLES), (size_t)k);
            assert_int_equal(osp_chunk_iter_err(&it), OSP_ECORRUPT);
            free(copy);
        }
        for (size_t bit = 0; bit < n * 8; bit++) {
            uint8_t *copy = malloc(n);
            memcpy(copy, out.data, n);
            copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            osp_chunk_iter_init(&it, copy, n);
            while (osp_chunk_iter_next(&it, &got))
                ;
            free(copy);
        }
        assert_int_equal(osp_buf_append(&out, "", 1), 0);
        osp_chunk_iter_init(&it, out.data, out.len);
        while (osp_chunk_iter_next(&it, &got))
            ;
        assert_int_equal(osp_chunk_iter_err(&it), OSP_ECORRUPT);
        osp_buf_cleanup(&out);
    }
    /* Header errors: unknown encodings (DEC without V2, value encoding 3, other flags,
     * DEC scales 0 and 7), count over the cap, zero first delta. */
    const uint8_t bad_enc[][3] = {{2, 1, 0}, {3, 0, 0}, {7, 0, 0}, {8, 0, 0}, {6, 0, 0}, {6, 7, 0}};
    for (size_t i = 0; i < sizeof bad_enc / sizeof bad_enc[0]; i++) {
        osp_chunk_iter_init(&it, bad_enc[i], sizeof bad_enc[i]);
        assert_int_equal(osp_chunk_iter_err(&it), OSP_ECORRUPT);
    }
    const uint8_t bad1[] = {2, 0}, bad2[] = {0, 0xff, 0x01}, bad3[] = {0, 2, 0, 0};
    osp_chunk_iter_init(&it, bad1, sizeof bad1);
    assert_int_equal(osp_chunk_iter_err(&it), OSP_ECORRUPT);
    osp_chunk_iter_init(&it, bad2, sizeof bad2);
    assert_int_equal(osp_chunk_iter_err(&it), OSP_ECORRUPT);
    osp_chunk_iter_init(&it, bad3, sizeof bad3);
    assert_int_equal(osp_chunk_iter_err(&it), OSP_ECORRUPT);
    osp_chunk_iter_init(&it, NULL, 0);
    assert_false(osp_chunk_iter_next(&it, &got));
    assert_int_equal(osp_chunk_iter_err(&it), OSP_ECORRUPT);
}

/* Random series of mixed shapes, split at random chunk caps. */
/* Chunks written by earlier releases (XOR and INT values, the first timestamp buckets)
 * still decode: six samples at 15 s with 0-2 ms of jitter; XOR values 0.5 + 1.25 i, INT
 * values 100 + 7 i (+2 at i = 4). */
static void test_earlier_format(void **state)
{
    (void)state;
    static const uint8_t xor_chunk[] = {0x00, 0x06, 0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62, 0x99, 0x75,
                                        0x3f, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd6, 0x1f,
                                        0x61, 0x37, 0xff, 0xb0, 0x5d, 0x62, 0xe6, 0x0d, 0x1d, 0x34};
    static const uint8_t int_chunk[] = {0x01, 0x06, 0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62, 0x99, 0x75,
                                        0xc0, 0x64, 0x43, 0x88, 0x2a, 0x0d, 0x04, 0x41, 0xc0};
    for (int enc = 0; enc < 2; enc++) {
        osp_chunk_iter it;
        osp_sample got;
        int i = 0;
        osp_chunk_iter_init(&it, enc ? int_chunk : xor_chunk,
                            enc ? sizeof int_chunk : sizeof xor_chunk);
        while (osp_chunk_iter_next(&it, &got)) {
            assert_int_equal(got.t_ms, 1700000000000 + 15000 * i + (i % 3));
            double want = enc ? 100 + i * 7 + (i == 4 ? 2 : 0) : 0.5 + i * 1.25;
            assert_true(got.v == want);
            i++;
        }
        assert_int_equal(osp_chunk_iter_err(&it), 0);
        assert_int_equal(i, 6);
    }
}

static void test_random_round_trips(void **state)
{
    (void)state;
    for (int round = 0; round < 200; round++) {
        int n = 1 + (int)(rnd() % 300);
        int64_t t = (int64_t)rnd();
        if (t > INT64_MAX / 2)
            t /= 2;
        for (int i = 0; i < n; i++) {
            uint64_t r = rnd();
            t += 1 + (int64_t)(r % (round % 4 == 0 ? 1000000007 : 30));
            double v;
            switch ((r >> 32) % 6) {
            case 4: /* two decimals, either sign (DEC) */
                v = (double)((int64_t)(rnd() % 200001) - 100000) / 100.0;
                break;
            case 0:
                v = (double)(int64_t)(rnd() % 100000);
                break;
            case 1:
                v = from_bits(rnd());
                break;
            case 2:
                v = i * 0.5;
                break;
            case 3:
                v = from_bits(0x7ff0000000000002ull);
                break;
            default:
                v = (double)i;
                break;
            }
            S[i] = (osp_sample){t, v};
        }
        round_trip(S, (size_t)n, OSP_CHUNK_MIN_BYTES + rnd() % 2000, NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_regular),
        cmocka_unit_test(test_counter_jittered),
        cmocka_unit_test(test_counter_constant_rate),
        cmocka_unit_test(test_gauge_noise),
        cmocka_unit_test(test_gauge_rounded),
        cmocka_unit_test(test_gauge_integral),
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_random_floats),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_single_and_empty),
        cmocka_unit_test(test_append_rules),
        cmocka_unit_test(test_stream_full),
        cmocka_unit_test(test_stream_finish_costlier_buckets),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_earlier_format),
        cmocka_unit_test(test_random_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
