/* Unit tests for model/histogram: bucket bounds and indices, checks, bucket listing,
 * arithmetic (schema reduction, zero bucket reconciliation), reset detection, quantile,
 * fraction, variance and the binary encoding. Expected values are worked out by hand in
 * the comments. */
#include "testutil.h"

#include <float.h>
#include <math.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "model/histogram.h"
#include "model/series.h"

#define N(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static double bits_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* Prints h (for failure messages). */
static void dump(const char *tag, const osp_histogram *h)
{
    fprintf(stderr, "%s: schema %d hint %u zt %g zc %g count %g sum %g\n", tag, h->schema, h->hint,
            h->zero_threshold, h->zero_count, h->count, h->sum);
    for (uint32_t i = 0; i < h->npspans; i++)
        fprintf(stderr, "  pspan {%d,%u}\n", h->pspans[i].offset, h->pspans[i].length);
    for (uint32_t i = 0; i < h->npbuckets; i++)
        fprintf(stderr, "  pbucket %g\n", h->pbuckets[i]);
    for (uint32_t i = 0; i < h->nnspans; i++)
        fprintf(stderr, "  nspan {%d,%u}\n", h->nspans[i].offset, h->nspans[i].length);
    for (uint32_t i = 0; i < h->nnbuckets; i++)
        fprintf(stderr, "  nbucket %g\n", h->nbuckets[i]);
}

static void assert_hist_equal(const osp_histogram *got, const osp_histogram *want)
{
    assert_non_null(got);
    if (!osp_hist_equal(got, want)) {
        dump("got", got);
        dump("want", want);
        fail();
    }
}

/* ---- bounds and indices ---- */

static void test_bounds(void **state)
{
    (void)state;
    static const struct {
        int32_t schema, idx;
        double want;
    } cases[] = {
        {0, 0, 1},
        {0, 1, 2},
        {0, -1, 0.5},
        {0, 10, 1024},
        {-1, 1, 4},         /* base 4 */
        {-2, -1, 1.0 / 16}, /* base 16 */
        {-4, 2, 0x1p32},    /* base 2^16 */
        /* schema > 0: exp2, correctly rounded here; Prometheus's table entries are often
         * a few ulp lower (its 2^(1/2) / 2 is 0.7071067811865475, giving 1.414213562373095) */
        {1, 1, 1.4142135623730951}, /* sqrt(2) */
        {2, 1, 1.189207115002721},  /* 2^(1/4), as Prometheus's 0.5946035575013605 * 2 */
        {2, 3, 1.681792830507429},  /* 2^(3/4) */
        {2, -4, 0.5},
        {3, 8, 2},
        {8, 256, 2},
        {8, -256 * 3, 0.125},
        /* the last finite bucket ends at DBL_MAX, the next one holds +Inf */
        {0, 1024, DBL_MAX},
        {0, 1025, INFINITY},
        {0, 1023, 0x1p1023},
        {-4, 64, DBL_MAX},
        {-4, 65, INFINITY},
        {-1, 512, DBL_MAX},
        {3, 1024 * 8, DBL_MAX},
        {3, 1024 * 8 + 1, INFINITY},
        {8, 1024 * 256, DBL_MAX},
        {8, 1024 * 256 + 1, INFINITY},
        {8, INT32_MAX, INFINITY},
        /* the smallest subnormal, and below it 0 */
        {0, -1074, 0x1p-1074},
        {0, -1075, 0},
        {-4, -67, 0x1p-1072},
        {-4, -68, 0},
        {8, INT32_MIN, 0},
    };
    for (size_t i = 0; i < N(cases); i++) {
        double got = osp_hist_bound(cases[i].schema, cases[i].idx);
        if (got != cases[i].want) {
            fprintf(stderr, "bound(%d, %d) = %.17g, want %.17g\n", cases[i].schema, cases[i].idx,
                    got, cases[i].want);
            fail();
        }
    }
    /* schema 2, index 4095: 2^1023.75, finite */
    assert_true(osp_hist_bound(2, 4095) < DBL_MAX);
    assert_true(osp_hist_bound(2, 4095) > 0x1p1023);
}

/* v's index j must satisfy bound(j - 1) < v <= bound(j). */
static void check_index(int32_t schema, double v)
{
    int32_t j = osp_hist_index(schema, v);
    double lo = osp_hist_bound(schema, j - 1), hi = osp_hist_bound(schema, j);
    if (!(lo < v && v <= hi)) {
        fprintf(stderr, "index(%d, %a) = %d: bounds %a, %a\n", schema, v, j, lo, hi);
        fail();
    }
}

static void test_index_matches_bounds(void **state)
{
    (void)state;
    for (int32_t s = OSP_HIST_SCHEMA_MIN; s <= OSP_HIST_SCHEMA_MAX; s++) {
        /* every bucket with a positive upper bound: its bound, and the doubles either side */
        int64_t first = s > 0 ? -((int64_t)1075 << s) : -(1075 >> -s) - 1;
        int64_t last = s > 0 ? (int64_t)1024 << s : 1024 >> -s;
        double prev = 0;
        for (int64_t idx = first; idx <= last + 1; idx++) {
            double b = osp_hist_bound(s, (int32_t)idx);
            assert_true(b >= prev); /* bounds never decrease */
            prev = b;
            if (b == 0)
                continue;
            check_index(s, b);
            if (b < INFINITY)
                check_index(s, nextafter(b, INFINITY));
            if (nextafter(b, 0) > 0)
                check_index(s, nextafter(b, 0));
            if (b == INFINITY) {
                assert_int_equal(osp_hist_index(s, INFINITY), idx);
                assert_int_equal(idx, last + 1);
            }
        }
        /* a spread of ordinary values */
        double v = 0x1p-1074;
        for (int i = 0; i < 4000; i++, v *= 1.4142) {
            check_index(s, v);
            if (v > DBL_MAX / 2)
                break;
        }
        check_index(s, DBL_MIN);
        check_index(s, DBL_MAX);
        check_index(s, 0.1);
        check_index(s, 1000.5);
    }
    /* values Prometheus puts in known buckets */
    assert_int_equal(osp_hist_index(0, 1), 0);
    assert_int_equal(osp_hist_index(0, 1.5), 1);
    assert_int_equal(osp_hist_index(0, 2), 1);
    assert_int_equal(osp_hist_index(0, 0.5), -1);
    assert_int_equal(osp_hist_index(-1, 4), 1);
    assert_int_equal(osp_hist_index(-1, 4.5), 2);
    assert_int_equal(osp_hist_index(-2, 0.1), 0);   /* (1/16, 1] */
    assert_int_equal(osp_hist_index(-2, 0.05), -1); /* (2^-8, 2^-4] */
    assert_int_equal(osp_hist_index(3, 2), 8);
    assert_int_equal(osp_hist_index(3, 1.1), 2); /* 2^(1/8) = 1.0905 < 1.1 <= 2^(2/8) */
    assert_int_equal(osp_hist_index(0, DBL_MAX), 1024);
    assert_int_equal(osp_hist_index(0, INFINITY), 1025);
    assert_int_equal(osp_hist_index(8, DBL_MAX), 1024 * 256);
}

static void test_boundaries(void **state)
{
    (void)state;
    osp_hist_bucket b = {.upper_inclusive = true};
    assert_int_equal(osp_hist_bucket_boundaries(&b), 0);
    b = (osp_hist_bucket){.lower_inclusive = true};
    assert_int_equal(osp_hist_bucket_boundaries(&b), 1);
    b = (osp_hist_bucket){0};
    assert_int_equal(osp_hist_bucket_boundaries(&b), 2);
    b = (osp_hist_bucket){.lower_inclusive = true, .upper_inclusive = true};
    assert_int_equal(osp_hist_bucket_boundaries(&b), 3);
}

/* ---- checks, copies, comparison ---- */

static void test_check(void **state)
{
    (void)state;
    osp_hist_span two[] = {{0, 2}}, gap[] = {{1, 1}, {-1, 1}};
    double b12[] = {1, 2}, b1[] = {1}, bneg[] = {-2, 1};
    const osp_histogram ok = {.schema = 3,
                              .count = 6,
                              .zero_count = 1,
                              .zero_threshold = 0x1p-128,
                              .pspans = two,
                              .npspans = 1,
                              .pbuckets = b12,
                              .npbuckets = 2,
                              .nspans = (osp_hist_span[]){{-3, 1}},
                              .nnspans = 1,
                              .nbuckets = b1,
                              .nnbuckets = 1};
    assert_null(osp_hist_check(&ok));
    const osp_histogram empty = {0};
    assert_null(osp_hist_check(&empty));

    osp_histogram h = ok;
    h.schema = 9;
    assert_string_equal(osp_hist_check(&h), "schema 9 out of range");
    h.schema = -5;
    assert_string_equal(osp_hist_check(&h), "schema -5 out of range");
    h = ok;
    h.hint = 4;
    assert_string_equal(osp_hist_check(&h), "reset hint 4 out of range");
    h = ok;
    h.pspans = (osp_hist_span[]){{0, 3}};
    assert_string_equal(osp_hist_check(&h), "positive spans cover 3 buckets but 2 are given");
    h = ok;
    h.nspans = gap;
    h.nnspans = 2;
    h.nnbuckets = 2;
    h.nbuckets = b12;
    assert_string_equal(osp_hist_check(&h), "negative span 1 has negative offset -1");
    h = ok;
    h.pspans = (osp_hist_span[]){{1 << 30, 2}};
    assert_string_equal(osp_hist_check(&h), "positive span 0 reaches past bucket index 2^30");
    h = ok;
    h.pspans = (osp_hist_span[]){{INT32_MIN, 2}};
    assert_string_equal(osp_hist_check(&h), "positive span 0 reaches past bucket index -2^30");
    h = ok;
    h.zero_threshold = -1;
    assert_string_equal(osp_hist_check(&h), "zero threshold -1 negative or NaN");
    h.zero_threshold = NAN;
    assert_string_equal(osp_hist_check(&h), "zero threshold NaN negative or NaN");
    h = ok;
    h.zero_count = -1;
    assert_string_equal(osp_hist_check(&h), "zero count -1 negative");
    h = ok;
    h.count = -0.5;
    assert_string_equal(osp_hist_check(&h), "count -0.5 negative");
    h = ok;
    h.pbuckets = bneg;
    assert_string_equal(osp_hist_check(&h), "positive bucket 0 has negative count -2");
    h = ok;
    h.nbuckets = (double[]){-1};
    assert_string_equal(osp_hist_check(&h), "negative bucket 0 has negative count -1");
    /* 1 (zero bucket) + 1 + 2 + 1 = 5 */
    h = ok;
    h.count = 3;
    assert_string_equal(osp_hist_check(&h), "count 3 below the bucket total 5");
    /* NaN observations only raise count; a NaN count is not compared */
    h.count = NAN;
    assert_null(osp_hist_check(&h));
    h.count = 7;
    assert_null(osp_hist_check(&h));
    /* float counts may add up past count by rounding alone: not compared (0.5 + 1 + 2 + 1
     * = 4.5 against 3) */
    h = ok;
    h.zero_count = 0.5;
    h.count = 3;
    assert_null(osp_hist_check(&h));

    /* the stale marker passes even with counts that do not add up; its layout is still
     * checked, so every operation can walk it safely */
    h = ok;
    h.count = 0;
    h.sum = osp_stale_nan();
    assert_true(osp_hist_is_stale(&h));
    assert_null(osp_hist_check(&h));
    h.npbuckets = 1;
    assert_string_equal(osp_hist_check(&h), "positive spans cover 2 buckets but 1 are given");
    assert_false(osp_hist_is_stale(&ok));
    h = ok;
    h.sum = NAN; /* a NaN other than the marker */
    assert_false(osp_hist_is_stale(&h));
}

static void test_copy_equal(void **state)
{
    (void)state;
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_hist_span ps[] = {{-2, 2}, {3, 1}}, ns[] = {{0, 1}};
    double pb[] = {1, 2, 3}, nb[] = {4};
    osp_histogram h = {.schema = 1,
                       .hint = OSP_HIST_HINT_GAUGE,
                       .zero_threshold = 0.25,
                       .zero_count = 5,
                       .count = 15,
                       .sum = osp_stale_nan(),
                       .pspans = ps,
                       .npspans = 2,
                       .pbuckets = pb,
                       .npbuckets = 3,
                       .nspans = ns,
                       .nnspans = 1,
                       .nbuckets = nb,
                       .nnbuckets = 1};
    osp_histogram *c = osp_hist_copy(&a, &h);
    assert_non_null(c);
    assert_true(osp_hist_equal(c, &h));
    assert_ptr_not_equal(c->pbuckets, h.pbuckets);
    pb[0] = 9; /* the copy is deep */
    assert_false(osp_hist_equal(c, &h));
    pb[0] = 1;
    assert_true(osp_hist_equal(c, &h));

    /* bit for bit: -0 is not 0, NaN payloads differ, a different span split differs */
    osp_histogram d = *c;
    d.sum = NAN;
    assert_false(osp_hist_equal(&d, &h));
    d = *c;
    d.zero_count = 5.000000000000001;
    assert_false(osp_hist_equal(&d, &h));
    osp_histogram z1 = {.sum = 0}, z2 = {.sum = -0.0};
    assert_false(osp_hist_equal(&z1, &z2));
    assert_true(osp_hist_equal(&z1, &z1));
    d = *c;
    d.hint = 0;
    assert_false(osp_hist_equal(&d, &h));
    d = *c;
    d.pspans = (osp_hist_span[]){{-2, 1}, {0, 1}, {3, 1}};
    d.npspans = 3;
    assert_false(osp_hist_equal(&d, &h));

    /* an empty histogram copies without arrays */
    osp_histogram e = {.count = 1, .zero_count = 1};
    osp_histogram *ce = osp_hist_copy(&a, &e);
    assert_non_null(ce);
    assert_null(ce->pspans);
    assert_true(osp_hist_equal(ce, &e));

    /* out of memory */
    osp_arena small;
    osp_arena_init(&small, 64, 64);
    assert_null(osp_hist_copy(&small, &h));
    osp_arena_cleanup(&small);
    osp_arena_cleanup(&a);
}

/* ---- bucket listing ---- */

typedef struct listing {
    osp_hist_bucket b[16];
    size_t n;
    size_t stop_at; /* return 7 at this bucket (0: never) */
} listing;

static int collect(void *ctx, const osp_hist_bucket *b)
{
    listing *l = ctx;
    l->b[l->n++] = *b;
    return l->n == l->stop_at ? 7 : 0;
}

static void expect_bucket(const osp_hist_bucket *b, double lower, double upper, double count,
                          int boundaries)
{
    if (b->lower != lower || b->upper != upper || b->count != count ||
        osp_hist_bucket_boundaries(b) != boundaries) {
        fprintf(stderr, "bucket [%g, %g] %g (%d), want [%g, %g] %g (%d)\n", b->lower, b->upper,
                b->count, osp_hist_bucket_boundaries(b), lower, upper, count, boundaries);
        fail();
    }
}

static void test_each_bucket(void **state)
{
    (void)state;
    /* schema 0; negative indices 1, 2 and 4 (counts 1, 0, 3), zero bucket 2, positive
     * indices -1, 0 (counts 0, 5) and 3 (count 6) */
    osp_histogram h = {.zero_threshold = 0.125,
                       .zero_count = 2,
                       .count = 17,
                       .pspans = (osp_hist_span[]){{-1, 2}, {2, 1}},
                       .npspans = 2,
                       .pbuckets = (double[]){0, 5, 6},
                       .npbuckets = 3,
                       .nspans = (osp_hist_span[]){{1, 2}, {1, 1}},
                       .nnspans = 2,
                       .nbuckets = (double[]){1, 0, 3},
                       .nnbuckets = 3};
    listing l = {0};
    assert_int_equal(osp_hist_each_bucket(&h, collect, &l), 0);
    assert_int_equal(l.n, 5);
    expect_bucket(&l.b[0], -16, -8, 3, 1); /* negative index 4: [-2^4, -2^3) */
    expect_bucket(&l.b[1], -2, -1, 1, 1);  /* index 1 */
    expect_bucket(&l.b[2], -0.125, 0.125, 2, 3);
    expect_bucket(&l.b[3], 0.5, 1, 5, 0); /* index 0 */
    expect_bucket(&l.b[4], 4, 8, 6, 0);   /* index 3 */

    /* fn's value stops the walk */
    l = (listing){.stop_at = 2};
    assert_int_equal(osp_hist_each_bucket(&h, collect, &l), 7);
    assert_int_equal(l.n, 2);

    /* buckets reaching into the zero bucket are cut at its threshold; no zero bucket
     * without observations */
    osp_histogram cut = {.zero_threshold = 1.5,
                         .count = 2,
                         .pspans = (osp_hist_span[]){{1, 1}},
                         .npspans = 1,
                         .pbuckets = (double[]){1},
                         .npbuckets = 1,
                         .nspans = (osp_hist_span[]){{1, 1}},
                         .nnspans = 1,
                         .nbuckets = (double[]){1},
                         .nnbuckets = 1};
    l = (listing){0};
    assert_int_equal(osp_hist_each_bucket(&cut, collect, &l), 0);
    assert_int_equal(l.n, 2);
    expect_bucket(&l.b[0], -2, -1.5, 1, 1);
    expect_bucket(&l.b[1], 1.5, 2, 1, 0);

    /* schema 2 */
    osp_histogram fine = {.schema = 2,
                          .count = 1,
                          .pspans = (osp_hist_span[]){{1, 1}},
                          .npspans = 1,
                          .pbuckets = (double[]){1},
                          .npbuckets = 1};
    l = (listing){0};
    osp_hist_each_bucket(&fine, collect, &l);
    assert_int_equal(l.n, 1);
    expect_bucket(&l.b[0], 1, 1.189207115002721, 1, 0);

    osp_histogram none = {0};
    l = (listing){0};
    assert_int_equal(osp_hist_each_bucket(&none, collect, &l), 0);
    assert_int_equal(l.n, 0);
}

/* ---- arithmetic ---- */

static void test_add_same_layout(void **state)
{
    (void)state;
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    /* schema 1: x has indices 0..1 and 4, y indices 1..2 and -1 negative */
    osp_histogram x = {.schema = 1,
                       .hint = OSP_HIST_HINT_NOT_RESET,
                       .zero_threshold = 0.001,
                       .zero_count = 1,
                       .count = 8,
                       .sum = 10,
                       .pspans = (osp_hist_span[]){{0, 2}, {2, 1}},
                       .npspans = 2,
                       .pbuckets = (double[]){1, 2, 4},
                       .npbuckets = 3};
    osp_histogram y = {.schema = 1,
                       .hint = OSP_HIST_HINT_NOT_RESET,
                       .zero_threshold = 0.001,
                       .zero_count = 2,
                       .count = 6,
                       .sum = -1.5,
                       .pspans = (osp_hist_span[]){{1, 2}},
                       .npspans = 1,
                       .pbuckets = (double[]){1, 1},
                       .npbuckets = 2,
                       .nspans = (osp_hist_span[]){{-1, 1}},
                       .nnspans = 1,
                       .nbuckets = (double[]){2},
                       .nnbuckets = 1};
    /* positive: index 0: 1, 1: 2 + 1, 2: 1, 4: 4 -> spans {0,3},{1,1} */
    osp_histogram want = {.schema = 1,
                          .zero_threshold = 0.001,
                          .zero_count = 3,
                          .count = 14,
                          .sum = 8.5,
                          .pspans = (osp_hist_span[]){{0, 3}, {1, 1}},
                          .npspans = 2,
                          .pbuckets = (double[]){1, 3, 1, 4},
                          .npbuckets = 4,
                          .nspans = (osp_hist_span[]){{-1, 1}},
                          .nnspans = 1,
                          .nbuckets = (double[]){2},
                          .nnbuckets = 1};
    assert_hist_equal(osp_hist_add(&a, &x, &y), &want);
    assert_hist_equal(osp_hist_add(&a, &y, &x), &want);
    /* operands untouched */
    assert_true(x.pbuckets[1] == 2 && x.npspans == 2);

    /* x - x: every bucket 0, so no spans are left */
    osp_histogram zero = {.schema = 1, .zero_threshold = 0.001};
    assert_hist_equal(osp_hist_sub(&a, &x, &x), &zero);

    /* x - y: index 0: 1, 1: 2 - 1 = 1, 2: -1, 4: 4; negative index -1: -2 */
    osp_histogram diff = {.schema = 1,
                          .zero_threshold = 0.001,
                          .zero_count = -1,
                          .count = 2,
                          .sum = 11.5,
                          .pspans = (osp_hist_span[]){{0, 3}, {1, 1}},
                          .npspans = 2,
                          .pbuckets = (double[]){1, 1, -1, 4},
                          .npbuckets = 4,
                          .nspans = (osp_hist_span[]){{-1, 1}},
                          .nnspans = 1,
                          .nbuckets = (double[]){-2},
                          .nnbuckets = 1};
    assert_hist_equal(osp_hist_sub(&a, &x, &y), &diff);
    osp_arena_cleanup(&a);
}

static void test_add_schema_reduction(void **state)
{
    (void)state;
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    /* x at schema 0: (0.5, 1] 1, (1, 2] 2 */
    osp_histogram x = {.count = 3,
                       .sum = 4,
                       .pspans = (osp_hist_span[]){{0, 2}},
                       .npspans = 1,
                       .pbuckets = (double[]){1, 2},
                       .npbuckets = 2};
    /* y at schema 2: indices 0..5 hold 1 each, and negative index -5 holds 5. At schema 0
     * index i goes to ((i - 1) >> 2) + 1 (a floor shift): 0 -> 0, 1..4 -> 1, 5 -> 2, and
     * -5 -> -2 + 1 = -1 ((2^-1.5, 2^-1.25] lies in (2^-2, 2^-1]) */
    osp_histogram y = {.schema = 2,
                       .count = 11,
                       .sum = 10,
                       .pspans = (osp_hist_span[]){{0, 6}},
                       .npspans = 1,
                       .pbuckets = (double[]){1, 1, 1, 1, 1, 1},
                       .npbuckets = 6,
                       .nspans = (osp_hist_span[]){{-5, 1}},
                       .nnspans = 1,
                       .nbuckets = (double[]){5},
                       .nnbuckets = 1};
    /* schema 0: index 0: 1 + 1, 1: 2 + 4, 2: 1 */
    osp_histogram want = {.count = 14,
                          .sum = 14,
                          .pspans = (osp_hist_span[]){{0, 3}},
                          .npspans = 1,
                          .pbuckets = (double[]){2, 6, 1},
                          .npbuckets = 3,
                          .nspans = (osp_hist_span[]){{-1, 1}},
                          .nnspans = 1,
                          .nbuckets = (double[]){5},
                          .nnbuckets = 1};
    assert_hist_equal(osp_hist_add(&a, &x, &y), &want);
    assert_hist_equal(osp_hist_add(&a, &y, &x), &want);
    /* y - x at schema 0: index 0: 0 (dropped), 1: 2, 2: 1 */
    osp_histogram diff = {.count = 8,
                          .sum = 6,
                          .pspans = (osp_hist_span[]){{1, 2}},
                          .npspans = 1,
                          .pbuckets = (double[]){2, 1},
                          .npbuckets = 2,
                          .nspans = (osp_hist_span[]){{-1, 1}},
                          .nnspans = 1,
                          .nbuckets = (double[]){5},
                          .nnbuckets = 1};
    assert_hist_equal(osp_hist_sub(&a, &y, &x), &diff);

    /* schema 8 and schema -4: indices 1..2^12 at schema 8 are (1, 2^16], index 1 at -4 */
    osp_histogram fine = {.schema = 8,
                          .count = 3,
                          .pspans = (osp_hist_span[]){{1, 1}, {4094, 1}, {0, 1}},
                          .npspans = 3,
                          .pbuckets = (double[]){1, 1, 1},
                          .npbuckets = 3};
    osp_histogram coarse = {.schema = -4, .count = 0};
    /* index 1: 1 -> 1; 4096: 1 -> 1; 4097 -> 2 */
    osp_histogram sum = {.schema = -4,
                         .count = 3,
                         .pspans = (osp_hist_span[]){{1, 2}},
                         .npspans = 1,
                         .pbuckets = (double[]){2, 1},
                         .npbuckets = 2};
    assert_hist_equal(osp_hist_add(&a, &coarse, &fine), &sum);
    osp_arena_cleanup(&a);
}

static void test_add_zero_threshold(void **state)
{
    (void)state;
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    /* x: threshold 1, zero count 1; positive (1,2] 2, (2,4] 3, (4,8] 1; negative [-2,-1) 1 */
    osp_histogram x = {.zero_threshold = 1,
                       .zero_count = 1,
                       .count = 8,
                       .sum = 10,
                       .pspans = (osp_hist_span[]){{1, 3}},
                       .npspans = 1,
                       .pbuckets = (double[]){2, 3, 1},
                       .npbuckets = 3,
                       .nspans = (osp_hist_span[]){{1, 1}},
                       .nnspans = 1,
                       .nbuckets = (double[]){1},
                       .nnbuckets = 1};
    /* y: threshold 3, zero count 2; positive (4,8] 1, (8,16] 2 */
    osp_histogram y = {.zero_threshold = 3,
                       .zero_count = 2,
                       .count = 5,
                       .sum = 20,
                       .pspans = (osp_hist_span[]){{3, 2}},
                       .npspans = 1,
                       .pbuckets = (double[]){1, 2},
                       .npbuckets = 2};
    /* Threshold 3 falls inside x's populated bucket (2,4], so it moves up to 4. x's zero
     * bucket takes (1,2], (2,4] and [-2,-1): 1 + 2 + 3 + 1 = 7; y's has nothing below 4:
     * 2. Zero count 9; positive (4,8] 1 + 1, (8,16] 2. */
    osp_histogram want = {.zero_threshold = 4,
                          .zero_count = 9,
                          .count = 13,
                          .sum = 30,
                          .pspans = (osp_hist_span[]){{3, 2}},
                          .npspans = 1,
                          .pbuckets = (double[]){2, 2},
                          .npbuckets = 2};
    assert_hist_equal(osp_hist_add(&a, &x, &y), &want);
    assert_hist_equal(osp_hist_add(&a, &y, &x), &want);

    /* a larger threshold at a bucket boundary: y2's zero bucket (threshold 2) takes x's
     * (1,2] and [-2,-1): x's zero count 1 + 2 + 1 = 4, plus y2's 1 */
    osp_histogram y2 = {.zero_threshold = 2, .zero_count = 1, .count = 1};
    osp_histogram want2 = {.zero_threshold = 2,
                           .zero_count = 5,
                           .count = 9,
                           .sum = 10,
                           .pspans = (osp_hist_span[]){{2, 2}},
                           .npspans = 1,
                           .pbuckets = (double[]){3, 1},
                           .npbuckets = 2};
    assert_hist_equal(osp_hist_add(&a, &x, &y2), &want2);
    assert_hist_equal(osp_hist_add(&a, &y2, &x), &want2);

    /* a negative bucket pushes the threshold: z's [-8,-4) is populated, so threshold 5 for
     * x becomes 8, and x's (4,8] joins the zero bucket too: 1 + 2 + 3 + 1 + 1 = 8 for x,
     * 1 + 4 = 5 for z */
    osp_histogram z = {.zero_threshold = 5,
                       .zero_count = 1,
                       .count = 5,
                       .nspans = (osp_hist_span[]){{3, 1}},
                       .nnspans = 1,
                       .nbuckets = (double[]){4},
                       .nnbuckets = 1};
    osp_histogram want3 = {.zero_threshold = 8, .zero_count = 13, .count = 13, .sum = 10};
    assert_hist_equal(osp_hist_add(&a, &x, &z), &want3);
    assert_hist_equal(osp_hist_add(&a, &z, &x), &want3);
    osp_arena_cleanup(&a);
}

static void test_mul_div(void **state)
{
    (void)state;
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_histogram x = {.schema = 2,
                       .hint = OSP_HIST_HINT_GAUGE,
                       .zero_threshold = 0.5,
                       .zero_count = 1,
                       .count = 5,
                       .sum = 7,
                       .pspans = (osp_hist_span[]){{0, 3}},
                       .npspans = 1,
                       .pbuckets = (double[]){1, 0, 2},
                       .npbuckets = 3,
                       .nspans = (osp_hist_span[]){{2, 1}},
                       .nnspans = 1,
                       .nbuckets = (double[]){1},
                       .nnbuckets = 1};
    /* times 2; the empty bucket is left out of the result */
    osp_histogram twice = {.schema = 2,
                           .hint = OSP_HIST_HINT_GAUGE,
                           .zero_threshold = 0.5,
                           .zero_count = 2,
                           .count = 10,
                           .sum = 14,
                           .pspans = (osp_hist_span[]){{0, 1}, {1, 1}},
                           .npspans = 2,
                           .pbuckets = (double[]){2, 4},
                           .npbuckets = 2,
                           .nspans = (osp_hist_span[]){{2, 1}},
                           .nnspans = 1,
                           .nbuckets = (double[]){2},
                           .nnbuckets = 1};
    assert_hist_equal(osp_hist_mul(&a, &x, 2), &twice);
    assert_hist_equal(osp_hist_div(&a, &x, 0.5), &twice);
    /* negative factor */
    osp_histogram neg = twice;
    neg.zero_count = -2, neg.count = -10, neg.sum = -14;
    neg.pbuckets = (double[]){-2, -4};
    neg.nbuckets = (double[]){-2};
    assert_hist_equal(osp_hist_mul(&a, &x, -2), &neg);
    /* times 0: no buckets left */
    osp_histogram nothing = {.schema = 2, .hint = OSP_HIST_HINT_GAUGE, .zero_threshold = 0.5};
    assert_hist_equal(osp_hist_mul(&a, &x, 0), &nothing);
    /* divided by 0: Inf, and 0 / 0 = NaN for the empty bucket, which stays */
    osp_histogram *inf = osp_hist_div(&a, &x, 0);
    assert_non_null(inf);
    assert_true(isinf(inf->count) && isinf(inf->sum) && isinf(inf->zero_count));
    assert_int_equal(inf->npspans, 1);
    assert_int_equal(inf->npbuckets, 3);
    assert_true(isinf(inf->pbuckets[0]) && isnan(inf->pbuckets[1]) && isinf(inf->pbuckets[2]));
    /* times NaN: every count NaN, every bucket kept */
    osp_histogram *nan = osp_hist_mul(&a, &x, NAN);
    assert_non_null(nan);
    assert_true(isnan(nan->count) && isnan(nan->pbuckets[0]));
    assert_int_equal(nan->npbuckets, 3);
    /* x untouched */
    assert_true(x.pbuckets[0] == 1 && x.count == 5);
    osp_arena_cleanup(&a);
}

static void test_arith_out_of_memory(void **state)
{
    (void)state;
    osp_histogram x = {.count = 3,
                       .pspans = (osp_hist_span[]){{0, 3}},
                       .npspans = 1,
                       .pbuckets = (double[]){1, 1, 1},
                       .npbuckets = 3};
    for (size_t cap = 16; cap < 256; cap += 16) {
        osp_arena a;
        osp_arena_init(&a, 16, cap);
        osp_histogram *s = osp_hist_add(&a, &x, &x), *m = osp_hist_mul(&a, &x, 3);
        /* either a result or NULL, never a partial one */
        if (s)
            assert_int_equal(s->npbuckets, 3);
        if (m)
            assert_true(m->pbuckets[2] == 3);
        osp_arena_cleanup(&a);
    }
    osp_arena a;
    osp_arena_init(&a, 16, 16);
    assert_null(osp_hist_add(&a, &x, &x));
    osp_arena_cleanup(&a);
}

/* ---- reset detection ---- */

static void test_detect_reset(void **state)
{
    (void)state;
    /* prev: schema 1, threshold 1, zero count 1; positive indices 1..2 (counts 2, 3) and
     * 5; negative index 1 (count 1) */
    const osp_histogram prev = {.schema = 1,
                                .zero_threshold = 1,
                                .zero_count = 1,
                                .count = 10,
                                .pspans = (osp_hist_span[]){{1, 2}, {2, 1}},
                                .npspans = 2,
                                .pbuckets = (double[]){2, 3, 3},
                                .npbuckets = 3,
                                .nspans = (osp_hist_span[]){{1, 1}},
                                .nnspans = 1,
                                .nbuckets = (double[]){1},
                                .nnbuckets = 1};
    osp_histogram cur = prev;
    assert_false(osp_hist_detect_reset(&cur, &prev)); /* unchanged */
    /* every count up, and a new bucket */
    cur.count = 13;
    cur.zero_count = 2;
    cur.pspans = (osp_hist_span[]){{1, 3}, {1, 1}};
    cur.npspans = 2;
    cur.pbuckets = (double[]){2, 4, 1, 4};
    cur.npbuckets = 4;
    assert_false(osp_hist_detect_reset(&cur, &prev));

    /* count down */
    osp_histogram c = prev;
    c.count = 9;
    assert_true(osp_hist_detect_reset(&c, &prev));
    /* same count, one bucket down */
    c = prev;
    c.pbuckets = (double[]){3, 2, 3};
    assert_true(osp_hist_detect_reset(&c, &prev));
    /* zero count down */
    c = prev;
    c.zero_count = 0;
    assert_true(osp_hist_detect_reset(&c, &prev));
    /* a populated bucket gone (positive index 5), or a negative one down */
    c = prev;
    c.pspans = (osp_hist_span[]){{1, 2}};
    c.npspans = 1;
    c.npbuckets = 2;
    assert_true(osp_hist_detect_reset(&c, &prev));
    c = prev;
    c.nbuckets = (double[]){0.5};
    assert_true(osp_hist_detect_reset(&c, &prev));
    /* an empty bucket of prev may go */
    osp_histogram p2 = prev;
    p2.pbuckets = (double[]){2, 3, 0};
    c = prev;
    c.pspans = (osp_hist_span[]){{1, 2}};
    c.npspans = 1;
    c.npbuckets = 2;
    assert_false(osp_hist_detect_reset(&c, &p2));

    /* schema up (finer) is a reset; schema down merges prev's buckets: at schema 0,
     * prev's indices 1, 2 -> 1 (2 + 3 = 5) and 5 -> 3 (3) */
    c = prev;
    c.schema = 2;
    assert_true(osp_hist_detect_reset(&c, &prev));
    c = prev;
    c.schema = 0;
    c.pspans = (osp_hist_span[]){{1, 1}, {1, 1}};
    c.npspans = 2;
    c.pbuckets = (double[]){5, 3};
    c.npbuckets = 2;
    assert_false(osp_hist_detect_reset(&c, &prev));
    c.pbuckets = (double[]){4, 4};
    assert_true(osp_hist_detect_reset(&c, &prev));

    /* threshold down is a reset; up to a boundary of prev's buckets (2^(2/2) = 2 at
     * schema 1) moves prev's indices 1 and 2 ((1, 2^0.5] and (2^0.5, 2], counts 2 and 3)
     * and negative index 1 (1) into the zero bucket: 1 + 2 + 3 + 1 = 7 */
    c = prev;
    c.zero_threshold = 0.5;
    assert_true(osp_hist_detect_reset(&c, &prev));
    c = prev;
    c.zero_threshold = 2;
    c.zero_count = 7;
    c.pspans = (osp_hist_span[]){{5, 1}};
    c.npspans = 1;
    c.pbuckets = (double[]){3};
    c.npbuckets = 1;
    c.nspans = NULL;
    c.nnspans = 0;
    c.nnbuckets = 0;
    assert_false(osp_hist_detect_reset(&c, &prev));
    c.zero_count = 6;
    assert_true(osp_hist_detect_reset(&c, &prev));
    /* up into the middle of prev's populated bucket (1.2 lies in (1, 2^0.5]) */
    c.zero_count = 7;
    c.zero_threshold = 1.2;
    assert_true(osp_hist_detect_reset(&c, &prev));

    /* hints win */
    c = prev;
    c.count = 5;
    c.hint = OSP_HIST_HINT_NOT_RESET;
    assert_false(osp_hist_detect_reset(&c, &prev));
    c.hint = OSP_HIST_HINT_GAUGE;
    assert_false(osp_hist_detect_reset(&c, &prev));
    c = prev;
    c.hint = OSP_HIST_HINT_RESET;
    assert_true(osp_hist_detect_reset(&c, &prev));

    /* nothing before: no reset */
    osp_histogram empty = {.schema = 1, .zero_threshold = 1};
    assert_false(osp_hist_detect_reset(&prev, &empty));
    assert_true(osp_hist_detect_reset(&empty, &prev));
}

/* ---- quantile, fraction, variance ---- */

/* threshold 0.5, zero count 2; (1,2] 4, (2,4] 4; count 10 */
static const osp_histogram pos_only = {.zero_threshold = 0.5,
                                       .zero_count = 2,
                                       .count = 10,
                                       .sum = 20,
                                       .pspans = (osp_hist_span[]){{1, 2}},
                                       .npspans = 1,
                                       .pbuckets = (double[]){4, 4},
                                       .npbuckets = 2};
/* [-2,-1) 3; zero bucket [-0.5, 0.5] 1; (1,2] 1; count 5 */
static const osp_histogram both = {.zero_threshold = 0.5,
                                   .zero_count = 1,
                                   .count = 5,
                                   .sum = -3,
                                   .pspans = (osp_hist_span[]){{1, 1}},
                                   .npspans = 1,
                                   .pbuckets = (double[]){1},
                                   .npbuckets = 1,
                                   .nspans = (osp_hist_span[]){{1, 1}},
                                   .nnspans = 1,
                                   .nbuckets = (double[]){3},
                                   .nnbuckets = 1};
/* [-2,-1) 3; zero bucket 1; count 4 */
static const osp_histogram neg_only = {.zero_threshold = 0.5,
                                       .zero_count = 1,
                                       .count = 4,
                                       .sum = -4,
                                       .nspans = (osp_hist_span[]){{1, 1}},
                                       .nnspans = 1,
                                       .nbuckets = (double[]){3},
                                       .nnbuckets = 1};

static void test_quantile(void **state)
{
    (void)state;
    static const struct {
        const osp_histogram *h;
        double q, want;
    } cases[] = {
        /* rank 5: zero bucket 2, (1,2] reaches 6; 3 of its 4: 1 + 1 * 3/4 */
        {&pos_only, 0.5, 1.75},
        /* rank 1 in the zero bucket, which starts at 0 here: 0 + 0.5 * 1/2 */
        {&pos_only, 0.1, 0.25},
        {&pos_only, 0, 0},
        /* rank 10 at the top of (2,4] */
        {&pos_only, 1, 4},
        /* rank 8: 2 + 2 * 2/4 */
        {&pos_only, 0.8, 3},
        /* rank 1.5 in [-2,-1): -2 + 1 * 1.5/3 */
        {&both, 0.3, -1.5},
        /* rank 3.5: half of the zero bucket [-0.5, 0.5] */
        {&both, 0.7, 0},
        /* rank 4.5: half of (1,2] */
        {&both, 0.9, 1.5},
        /* only negative buckets: the zero bucket ends at 0; rank 3.5 -> -0.5 + 0.5 * 0.5 */
        {&neg_only, 0.875, -0.25},
        {&neg_only, 1, 0},
        {&pos_only, -0.1, -INFINITY},
        {&pos_only, 1.1, INFINITY},
    };
    for (size_t i = 0; i < N(cases); i++) {
        double got = osp_hist_quantile(cases[i].q, cases[i].h);
        if (got != cases[i].want) {
            fprintf(stderr, "case %zu: quantile %g = %.17g, want %.17g\n", i, cases[i].q, got,
                    cases[i].want);
            fail();
        }
    }
    assert_true(isnan(osp_hist_quantile(NAN, &pos_only)));
    osp_histogram empty = {0};
    assert_true(isnan(osp_hist_quantile(0.5, &empty)));
    assert_true(osp_hist_quantile(-1, &empty) == -INFINITY); /* q is checked first */

    /* NaN observations: count 12 but buckets add up to 10; rank 12 is never reached, so
     * the upper bound of the last bucket */
    osp_histogram nan_obs = pos_only;
    nan_obs.count = 12;
    assert_true(osp_hist_quantile(1, &nan_obs) == 4);
    assert_true(osp_hist_quantile(0.5, &nan_obs) == 2); /* rank 6: all of (1,2] */

    /* the bucket total rounds above count: 0.1 + 0.2 = 0.30000000000000004 > 0.3. With
     * the total cut to count, rank 0.3 leaves 0.3 - (0.3 - 0.2) = 0.2 of the 0.2 in (2,4],
     * exactly its top; without the cut it would be 1.9999999999999998 of (1,2]... */
    osp_histogram round = {.count = 0.3,
                           .pspans = (osp_hist_span[]){{1, 2}},
                           .npspans = 1,
                           .pbuckets = (double[]){0.1, 0.2},
                           .npbuckets = 2};
    assert_true(osp_hist_quantile(1, &round) == 4);
}

static void test_fraction(void **state)
{
    (void)state;
    static const struct {
        const osp_histogram *h;
        double lower, upper, want;
    } cases[] = {
        /* zero bucket [0, 0.5] whole (2), (1,2] half (2): 4/10 */
        {&pos_only, 0, 1.5, 0.4},
        {&pos_only, -INFINITY, INFINITY, 1},
        /* (2,4] from 3 up: half of 4 -> 2/10 */
        {&pos_only, 3, 10, 0.2},
        /* below 1: the zero bucket, 2/10 */
        {&pos_only, -INFINITY, 1, 0.2},
        {&pos_only, 2, 1, 0},
        {&pos_only, 1, 1, 0},
        /* [-2,-1) from -1.5: 1.5; zero bucket up to 0: 0.5; (3.5 - 1.5) / 5 */
        {&both, -1.5, 0, 0.4},
        /* only negative: the zero bucket is [-0.5, 0]; -0.25 cuts it in half:
         * (3 + 0.5) / 4 */
        {&neg_only, -INFINITY, -0.25, 0.875},
    };
    for (size_t i = 0; i < N(cases); i++) {
        double got = osp_hist_fraction(cases[i].lower, cases[i].upper, cases[i].h);
        if (fabs(got - cases[i].want) > 1e-15) {
            fprintf(stderr, "case %zu: fraction = %.17g, want %.17g\n", i, got, cases[i].want);
            fail();
        }
    }
    assert_true(isnan(osp_hist_fraction(NAN, 1, &pos_only)));
    assert_true(isnan(osp_hist_fraction(0, NAN, &pos_only)));
    osp_histogram empty = {0};
    assert_true(isnan(osp_hist_fraction(0, 1, &empty)));
}

static void test_stdvar(void **state)
{
    (void)state;
    /* (1,2] and (4,8] with 1 each, mean 6/2 = 3; geometric middles sqrt(2) and sqrt(32):
     * ((sqrt2 - 3)^2 + (4 sqrt2 - 3)^2) / 2 = (52 - 30 sqrt2) / 2 = 26 - 15 sqrt2 */
    osp_histogram h = {.count = 2,
                       .sum = 6,
                       .pspans = (osp_hist_span[]){{1, 1}, {1, 1}},
                       .npspans = 2,
                       .pbuckets = (double[]){1, 1},
                       .npbuckets = 2};
    assert_true(fabs(osp_hist_stdvar(&h) - (26 - 15 * sqrt(2))) < 1e-12);
    assert_true(fabs(osp_hist_stddev(&h) - sqrt(26 - 15 * sqrt(2))) < 1e-12);
    /* plus [-2,-1) at -sqrt2 and the zero bucket at 0, count 4, sum 4, mean 1:
     * (sqrt2 - 1)^2 + (4 sqrt2 - 1)^2 + (sqrt2 + 1)^2 + 1 = 40 - 8 sqrt2; / 4 */
    h.count = 4;
    h.sum = 4;
    h.zero_count = 1;
    h.zero_threshold = 0.001;
    h.nspans = (osp_hist_span[]){{1, 1}};
    h.nnspans = 1;
    h.nbuckets = (double[]){1};
    h.nnbuckets = 1;
    assert_true(fabs(osp_hist_stdvar(&h) - (10 - 2 * sqrt(2))) < 1e-12);
    /* all in one bucket at its middle: 0 */
    osp_histogram one = {.count = 3,
                         .sum = 3 * sqrt(2),
                         .pspans = (osp_hist_span[]){{1, 1}},
                         .npspans = 1,
                         .pbuckets = (double[]){3},
                         .npbuckets = 1};
    assert_true(fabs(osp_hist_stdvar(&one)) < 1e-15);
    osp_histogram empty = {0};
    assert_true(isnan(osp_hist_stdvar(&empty)));
    assert_true(isnan(osp_hist_stddev(&empty)));
}

/* ---- encoding ---- */

static void roundtrip(const osp_histogram *h, size_t want_len)
{
    osp_buf b;
    osp_arena a;
    osp_buf_init(&b, 0);
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp_hist_encode(&b, h), 0);
    if (want_len)
        assert_int_equal(b.len, want_len);
    /* a second copy behind the first: decode stops at the end of each */
    size_t one = b.len;
    assert_int_equal(osp_hist_encode(&b, h), 0);
    const uint8_t *p = (const uint8_t *)b.data, *end = p + b.len;
    for (int k = 0; k < 2; k++) {
        osp_histogram got;
        assert_int_equal(osp_hist_decode(&p, end, &a, &got), 0);
        assert_hist_equal(&got, h);
        assert_ptr_equal(p, (const uint8_t *)b.data + one * (size_t)(k + 1));
    }
    /* every shorter input is corrupt */
    for (size_t n = 0; n < one; n++) {
        osp_histogram got;
        p = (const uint8_t *)b.data;
        assert_int_equal(osp_hist_decode(&p, p + n, &a, &got), OSP_ECORRUPT);
    }
    osp_arena_cleanup(&a);
    osp_buf_cleanup(&b);
}

static void test_encode_bytes(void **state)
{
    (void)state;
    /* schema 0, sum 1, count 3, positive index 0..1 with 1 and 2 */
    osp_histogram h = {.count = 3,
                       .sum = 1,
                       .pspans = (osp_hist_span[]){{0, 2}},
                       .npspans = 1,
                       .pbuckets = (double[]){1, 2},
                       .npbuckets = 2};
    static const uint8_t want[] = {
        0x24,                                           /* version 1, INT, threshold +0 */
        0x00,                                           /* schema 0 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f, /* sum 1.0 */
        0x03,                                           /* count */
        0x00,                                           /* zero count */
        0x01, 0x00, 0x02,                               /* 1 span: offset 0, length 2 */
        0x00,                                           /* no negative spans */
        0x02, 0x02,                                     /* deltas +1, +1 */
    };
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_hist_encode(&b, &h), 0);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);

    /* a gauge with Prometheus's default threshold: flags 0x20 | 3 | 0x04 | 1 << 3 */
    h.hint = OSP_HIST_HINT_GAUGE;
    h.zero_threshold = 0x1p-128;
    osp_buf_reset(&b);
    assert_int_equal(osp_hist_encode(&b, &h), 0);
    assert_int_equal(b.len, sizeof want);
    assert_int_equal((uint8_t)b.data[0], 0x2f);

    /* a full buffer: OSP_ETOOBIG, and the buffer keeps what it had */
    osp_buf small;
    osp_buf_init(&small, 20);
    assert_int_equal(osp_buf_append(&small, "abcde", 5), 0);
    assert_int_equal(osp_hist_encode(&small, &h), OSP_ETOOBIG);
    assert_int_equal(small.len, 5);
    osp_buf_cleanup(&small);
    osp_buf_cleanup(&b);
}

static void test_roundtrip(void **state)
{
    (void)state;
    osp_histogram empty = {0};
    roundtrip(&empty, 1 + 1 + 8 + 1 + 1 + 1 + 1);

    /* integers, both sides, several spans, a count above 2^32 and counts going down */
    osp_histogram ints = {.schema = -2,
                          .hint = OSP_HIST_HINT_NOT_RESET,
                          .zero_threshold = 0x1p-128,
                          .zero_count = 7,
                          .count = 9007199254740991.0, /* 2^53 - 1 */
                          .sum = -12.75,
                          .pspans = (osp_hist_span[]){{-3, 2}, {0, 1}, {100000, 3}},
                          .npspans = 3,
                          .pbuckets = (double[]){5, 0, 4294967296.0 * 16, 3, 1, 0},
                          .npbuckets = 6,
                          .nspans = (osp_hist_span[]){{2, 1}},
                          .nnspans = 1,
                          .nbuckets = (double[]){4503599627370496.0}, /* 2^52 */
                          .nnbuckets = 1};
    roundtrip(&ints, 0);

    /* fractional counts switch to doubles */
    osp_histogram frac = ints;
    frac.pbuckets = (double[]){5, 0, 0.5, 3, 1, 0};
    frac.zero_threshold = 0.001; /* written out */
    roundtrip(&frac, 1 + 1 + 8 + 8 + 8 + 8 + (1 + 6 + 2) + (1 + 2) + 7 * 8);

    /* the stale marker's NaN payload, -0 anywhere, NaN count, 2^53 */
    osp_histogram stale = {.hint = OSP_HIST_HINT_UNKNOWN, .sum = osp_stale_nan()};
    roundtrip(&stale, 0);
    osp_histogram negzero = {.sum = -0.0, .zero_threshold = -0.0, .zero_count = -0.0};
    roundtrip(&negzero, 0);
    osp_histogram nan = {.count = bits_double(0x7ff8000000000123ull), .sum = NAN};
    roundtrip(&nan, 0);
    osp_histogram big = {.count = 9007199254740992.0}; /* 2^53: not an INT count */
    roundtrip(&big, 1 + 1 + 8 + 8 + 8 + 1 + 1);

    /* many spans, at every schema */
    enum { NS = 1000 };
    static osp_hist_span spans[NS];
    static double counts[NS * 2];
    uint64_t seed = 12345;
    double total = 0;
    for (int i = 0; i < NS; i++) {
        spans[i] = (osp_hist_span){i == 0 ? -500 : i % 3, 2};
        for (int k = 0; k < 2; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            counts[2 * i + k] = (double)(seed >> 44);
            total += counts[2 * i + k];
        }
    }
    for (int32_t s = OSP_HIST_SCHEMA_MIN; s <= OSP_HIST_SCHEMA_MAX; s++) {
        osp_histogram many = {.schema = s,
                              .count = total,
                              .sum = 1e300,
                              .pspans = spans,
                              .npspans = NS,
                              .pbuckets = counts,
                              .npbuckets = NS * 2,
                              .nspans = spans,
                              .nnspans = NS / 2,
                              .nbuckets = counts,
                              .nnbuckets = NS};
        many.count = total * 2;
        roundtrip(&many, 0);
    }
}

static int decode_bytes(const uint8_t *data, size_t n, osp_arena *a)
{
    osp_histogram h;
    const uint8_t *p = data;
    return osp_hist_decode(&p, data + n, a, &h);
}

static void test_decode_corrupt(void **state)
{
    (void)state;
    osp_arena a;
    osp_arena_init(&a, 0, 0);
#define SUM1 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f
#define ZERO8 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
    static const struct {
        const char *what;
        uint8_t bytes[48];
        size_t n;
        int want;
    } cases[] = {
        {"valid", {0x24, 0x00, SUM1, 0x03, 0x00, 0x01, 0x00, 0x02, 0x00, 0x02, 0x02}, 18, 0},
        {"version 0",
         {0x04, 0x00, SUM1, 0x03, 0x00, 0x01, 0x00, 0x02, 0x00, 0x02, 0x02},
         18,
         OSP_ECORRUPT},
        {"version 2",
         {0x44, 0x00, SUM1, 0x03, 0x00, 0x01, 0x00, 0x02, 0x00, 0x02, 0x02},
         18,
         OSP_ECORRUPT},
        {"threshold kind 3", {0x3c, 0x00, SUM1, 0x03, 0x00, 0x00, 0x00}, 14, OSP_ECORRUPT},
        {"schema 9", {0x24, 0x12, SUM1, 0x00, 0x00, 0x00, 0x00}, 14, OSP_ECORRUPT},
        {"schema -5", {0x24, 0x09, SUM1, 0x00, 0x00, 0x00, 0x00}, 14, OSP_ECORRUPT},
        {"schema varint too long",
         {0x24, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         12,
         OSP_ECORRUPT},
        /* count 2 below the bucket total 3 */
        {"count below total",
         {0x24, 0x00, SUM1, 0x02, 0x00, 0x01, 0x00, 0x02, 0x00, 0x02, 0x02},
         18,
         OSP_ECORRUPT},
        /* count 2^53 as a varint: 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x10 */
        {"INT count 2^53",
         {0x24, 0x00, SUM1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00, 0x00, 0x00},
         21,
         OSP_ECORRUPT},
        /* deltas +1, -2: the second bucket would be -1 */
        {"negative bucket",
         {0x24, 0x00, SUM1, 0x03, 0x00, 0x01, 0x00, 0x02, 0x00, 0x02, 0x03},
         18,
         OSP_ECORRUPT},
        /* 2^32 - 1 spans announced, 4 bytes present */
        {"huge span count",
         {0x24, 0x00, SUM1, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x01, 0x00, 0x01},
         19,
         OSP_ECORRUPT},
        /* two spans of 2^32 - 1 buckets: their sum overflows uint32 */
        {"span lengths overflow",
         {0x24, 0x00, SUM1, 0x00, 0x00, 0x02, 0x00, 0xff, 0xff, 0xff, 0xff,
          0x0f, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00, 0x00},
         28,
         OSP_ECORRUPT},
        /* a length of 2^32 */
        {"span length past uint32",
         {0x24, 0x00, SUM1, 0x00, 0x00, 0x01, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00, 0x00},
         21,
         OSP_ECORRUPT},
        /* offset zigzag 2^32: 2^31, past int32 */
        {"span offset past int32",
         {0x24, 0x00, SUM1, 0x00, 0x00, 0x01, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00, 0x00},
         20,
         OSP_ECORRUPT},
        /* a second span with offset -1 fails the check */
        {"negative later offset",
         {0x24, 0x00, SUM1, 0x02, 0x00, 0x02, 0x00, 0x01, 0x01, 0x01, 0x00, 0x02, 0x00},
         20,
         OSP_ECORRUPT},
        /* doubles: 3 buckets announced, 2 present */
        {"buckets past the end",
         {0x20, 0x00, SUM1, ZERO8, ZERO8, 0x01, 0x00, 0x03, 0x00, ZERO8, ZERO8},
         46,
         OSP_ECORRUPT},
    };
    for (size_t i = 0; i < N(cases); i++) {
        int rc = decode_bytes(cases[i].bytes, cases[i].n, &a);
        if (rc != cases[i].want) {
            fprintf(stderr, "%s: %d, want %d\n", cases[i].what, rc, cases[i].want);
            fail();
        }
    }
    /* out of memory in the arena */
    osp_arena small;
    osp_arena_init(&small, 16, 16);
    assert_int_equal(decode_bytes(cases[0].bytes, cases[0].n, &small), OSP_ENOMEM);
    osp_arena_cleanup(&small);
    osp_arena_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_index_matches_bounds),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_copy_equal),
        cmocka_unit_test(test_each_bucket),
        cmocka_unit_test(test_add_same_layout),
        cmocka_unit_test(test_add_schema_reduction),
        cmocka_unit_test(test_add_zero_threshold),
        cmocka_unit_test(test_mul_div),
        cmocka_unit_test(test_arith_out_of_memory),
        cmocka_unit_test(test_detect_reset),
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_fraction),
        cmocka_unit_test(test_stdvar),
        cmocka_unit_test(test_encode_bytes),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_decode_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
