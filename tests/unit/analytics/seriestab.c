/* Unit tests for analytics/seriestab: counter and histogram values after adds, bucket
 * placement on boundaries, le formatting, exemplar placement, metadata, the overflow
 * series, cumulative flushes, allocation failures, adds through a shared key, and a
 * histogram's counts flushed as a counter family. */
#include "testutil.h"

#include "analytics/derived.h"
#include "analytics/seriestab.h"
#include "core/err.h"
#include "core/mem.h"
#include "derivetest.h"

static const char *const kv_labels[] = {"k1", "k2"};
static const double small_buckets[] = {0.1, 1, 10};
static const uint8_t TRACE_A[16] = {0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff};

static const osp_family counter_family = {
    "c_total", OSP_KIND_COUNTER, "Counted things.", "", kv_labels, 2, NULL, 0, NULL, NULL};
static const osp_family hist_family = {"h_seconds",
                                       OSP_KIND_HISTOGRAM,
                                       "Timed things.",
                                       "seconds",
                                       kv_labels,
                                       2,
                                       small_buckets,
                                       3,
                                       NULL,
                                       NULL};

static void add(osp_seriestab *t, const char *k1, const char *k2, double v, const uint8_t *tr,
                int64_t t_ms)
{
    osp_str values[2] = {osp_str_c(k1), osp_str_c(k2)};
    assert_int_equal(osp_seriestab_add(t, values, v, tr, t_ms), 0);
}

static void test_counter(void **state)
{
    osp_seriestab *t = osp_seriestab_create(&counter_family);
    osp_series_batch b;
    assert_non_null(t);
    osp_series_batch_init(&b);
    add(t, "a", "x", 1, NULL, 0);
    add(t, "a", "x", 1, TRACE_A, 1000);
    add(t, "a", "x", 1, NULL, 0);
    add(t, "b", "", 2.5, NULL, 0);
    assert_int_equal(osp_seriestab_size(t), 2);
    assert_int_equal(osp_seriestab_flush(t, 5000, &b), 0);
    assert_int_equal(b.nseries, 2);
    assert_true(osp_test_series_value(&b, "c_total{k1=\"a\",k2=\"x\"}") == 3);
    assert_true(osp_test_series_value(&b, "c_total{k1=\"b\"}") == 2.5);
    assert_int_equal(b.series[0].samples[0].t_ms, 5000);
    /* Metadata names the family without _total. */
    assert_int_equal(b.nmeta, 1);
    assert_true(osp_str_eqz(b.meta[0].family, "c"));
    assert_int_equal(b.meta[0].kind, OSP_KIND_COUNTER);
    assert_true(osp_str_eqz(b.meta[0].help, "Counted things."));
    /* The exemplar sits on the counter series and keeps the traced add. */
    assert_int_equal(b.nexemplars, 1);
    const osp_prom_exemplar *ex =
        osp_test_exemplar_of(&b, osp_test_series_index(&b, "c_total{k1=\"a\",k2=\"x\"}"));
    assert_non_null(ex);
    assert_int_equal(ex->nlabels, 1);
    assert_true(osp_str_eqz(ex->labels[0].name, "trace_id"));
    assert_true(osp_str_eqz(ex->labels[0].value, "ab0102030405060708090a0b0c0d0eff"));
    assert_true(ex->value == 1);
    assert_int_equal(ex->t_ms, 1000);
    /* Values are cumulative over flushes. */
    add(t, "a", "x", 4, NULL, 0);
    osp_series_batch_reset(&b);
    assert_int_equal(osp_seriestab_flush(t, 6000, &b), 0);
    assert_true(osp_test_series_value(&b, "c_total{k1=\"a\",k2=\"x\"}") == 7);
    osp_series_batch_cleanup(&b);
    osp_seriestab_destroy(t);
}

static void test_histogram(void **state)
{
    osp_seriestab *t = osp_seriestab_create(&hist_family);
    osp_series_batch b;
    osp_series_batch_init(&b);
    add(t, "1", "2", 0.1, NULL, 0); /* on a boundary: le="0.1" */
    add(t, "1", "2", 0.5, NULL, 0);
    add(t, "1", "2", 1, NULL, 0);
    add(t, "1", "2", 11, NULL, 0); /* +Inf */
    add(t, "1", "2", 10, TRACE_A, 77);
    assert_int_equal(osp_seriestab_flush(t, 1000, &b), 0);
    assert_int_equal(b.nseries, 6); /* 3 bounds + +Inf, _sum, _count */
    assert_true(osp_test_series_value(&b, "h_seconds_bucket{k1=\"1\",k2=\"2\",le=\"0.1\"}") == 1);
    assert_true(osp_test_series_value(&b, "h_seconds_bucket{k1=\"1\",k2=\"2\",le=\"1\"}") == 3);
    assert_true(osp_test_series_value(&b, "h_seconds_bucket{k1=\"1\",k2=\"2\",le=\"10\"}") == 4);
    assert_true(osp_test_series_value(&b, "h_seconds_bucket{k1=\"1\",k2=\"2\",le=\"+Inf\"}") == 5);
    assert_true(fabs(osp_test_series_value(&b, "h_seconds_sum{k1=\"1\",k2=\"2\"}") - 22.6) < 1e-9);
    assert_true(osp_test_series_value(&b, "h_seconds_count{k1=\"1\",k2=\"2\"}") == 5);
    assert_true(osp_str_eqz(b.meta[0].family, "h_seconds"));
    assert_int_equal(b.meta[0].kind, OSP_KIND_HISTOGRAM);
    assert_true(osp_str_eqz(b.meta[0].unit, "seconds"));
    /* The exemplar (value 10) goes to the bucket it fell in. */
    assert_int_equal(b.nexemplars, 1);
    assert_int_equal(b.exemplars[0].series,
                     osp_test_series_index(&b, "h_seconds_bucket{k1=\"1\",k2=\"2\",le=\"10\"}"));
    assert_true(b.exemplars[0].ex.value == 10);
    osp_series_batch_cleanup(&b);
    osp_seriestab_destroy(t);
}

/* le values read as Prometheus writes them: shortest round-trip decimals. */
static void test_le_format(void **state)
{
    static const char *const one[] = {"x"};
    osp_family f = {"d_seconds",
                    OSP_KIND_HISTOGRAM,
                    "",
                    "",
                    one,
                    1,
                    osp_derived_span_buckets,
                    osp_derived_span_nbuckets,
                    NULL,
                    NULL};
    osp_family g = {"tok",
                    OSP_KIND_HISTOGRAM,
                    "",
                    "",
                    one,
                    1,
                    osp_derived_genai_token_buckets,
                    osp_derived_genai_token_nbuckets,
                    NULL,
                    NULL};
    osp_seriestab *t = osp_seriestab_create(&f), *u = osp_seriestab_create(&g);
    osp_series_batch b;
    osp_str v = OSP_STR_LIT("y");
    osp_series_batch_init(&b);
    assert_int_equal(osp_seriestab_add(t, &v, 0.002, NULL, 0), 0);
    assert_int_equal(osp_seriestab_add(t, &v, 1.3, NULL, 0), 0);
    assert_int_equal(osp_seriestab_add(u, &v, 5e7, NULL, 0), 0);
    assert_int_equal(osp_seriestab_flush(t, 1, &b), 0);
    assert_int_equal(osp_seriestab_flush(u, 1, &b), 0);
    assert_int_equal(b.nseries,
                     osp_derived_span_nbuckets + 3 + osp_derived_genai_token_nbuckets + 3);
    assert_true(osp_test_series_value(&b, "d_seconds_bucket{le=\"0.002\",x=\"y\"}") == 1);
    assert_true(osp_test_series_value(&b, "d_seconds_bucket{le=\"0.004\",x=\"y\"}") == 1);
    assert_true(osp_test_series_value(&b, "d_seconds_bucket{le=\"1\",x=\"y\"}") == 1);
    assert_true(osp_test_series_value(&b, "d_seconds_bucket{le=\"1.4\",x=\"y\"}") == 2);
    assert_true(osp_test_series_value(&b, "d_seconds_bucket{le=\"15\",x=\"y\"}") == 2);
    assert_true(osp_test_series_value(&b, "tok_bucket{le=\"16777216\",x=\"y\"}") == 0);
    assert_true(osp_test_series_value(&b, "tok_bucket{le=\"67108864\",x=\"y\"}") == 1);
    assert_int_equal(b.nmeta, 2);
    osp_series_batch_cleanup(&b);
    osp_seriestab_destroy(t);
    osp_seriestab_destroy(u);
}

static void test_overflow(void **state)
{
    osp_seriestab *t = osp_seriestab_create(&counter_family);
    osp_series_batch b;
    char k[32];
    osp_series_batch_init(&b);
    for (int i = 0; i < OSP_SERIESTAB_MAX_SERIES + 5; i++) {
        snprintf(k, sizeof k, "s%d", i);
        add(t, k, "v", 1, NULL, 0);
    }
    add(t, "s0", "v", 1, NULL, 0); /* a known series still counts in its own */
    assert_int_equal(osp_seriestab_size(t), OSP_SERIESTAB_MAX_SERIES + 1);
    assert_int_equal(osp_seriestab_flush(t, 1, &b), 0);
    assert_int_equal(b.nseries, OSP_SERIESTAB_MAX_SERIES + 1);
    assert_true(osp_test_series_value(&b, "c_total{k1=\"__overflow__\",k2=\"__overflow__\"}") == 5);
    assert_true(osp_test_series_value(&b, "c_total{k1=\"s0\",k2=\"v\"}") == 2);
    osp_series_batch_cleanup(&b);
    osp_seriestab_destroy(t);
}

static void test_alloc_failures(void **state)
{
    osp_seriestab *t = osp_seriestab_create(&hist_family);
    osp_str values[2] = {OSP_STR_LIT("a"), OSP_STR_LIT("b")};
    osp_series_batch b;
    osp_series_batch_init(&b);
    osp_mem_fail_after(1);
    assert_int_equal(osp_seriestab_add(t, values, 1, NULL, 0), OSP_ENOMEM);
    osp_mem_fail_after(0);
    assert_int_equal(osp_seriestab_size(t), 0);
    add(t, "a", "b", 1, NULL, 0);
    assert_int_equal(osp_seriestab_size(t), 1);
    osp_mem_fail_after(1);
    assert_int_equal(osp_seriestab_flush(t, 1, &b), OSP_ENOMEM);
    osp_mem_fail_after(0);
    for (unsigned long n = 1; n < 4; n++) {
        osp_mem_fail_after(n);
        assert_null(osp_seriestab_create(&hist_family));
    }
    osp_mem_fail_after(0);
    osp_series_batch_cleanup(&b);
    osp_seriestab_destroy(t);
}

/* A key hashed once serves tables of several families, and a key extended from a shared
 * prefix lands in the same series as a plain add of the same values. */
static void test_shared_key(void **state)
{
    static const char *const one_label[] = {"k1"};
    static const osp_family prefix_family = {
        "p_total", OSP_KIND_COUNTER, "", "", one_label, 1, NULL, 0, NULL, NULL};
    osp_seriestab *c = osp_seriestab_create(&counter_family);
    osp_seriestab *h = osp_seriestab_create(&hist_family);
    osp_seriestab *p = osp_seriestab_create(&prefix_family);
    osp_str values[2] = {OSP_STR_LIT("a"), OSP_STR_LIT("x")};
    osp_seriestab_key prefix = OSP_SERIESTAB_KEY_INIT, k;
    osp_series_batch b;
    assert_true(c && h && p);
    osp_series_batch_init(&b);
    osp_seriestab_key_push(&prefix, values, 1);
    k = prefix;
    osp_seriestab_key_push(&k, &values[1], 1);
    assert_int_equal(k.n, 2);
    assert_int_equal(osp_seriestab_add_key(c, values, &k, 1, NULL, 0), 0);
    assert_int_equal(osp_seriestab_add_key(h, values, &k, 0.5, TRACE_A, 7), 0);
    assert_int_equal(osp_seriestab_add_key(p, values, &prefix, 3, NULL, 0), 0);
    add(c, "a", "x", 1, NULL, 0); /* hashed by the table: the same series */
    add(h, "a", "x", 2, NULL, 0);
    add(c, "a", "y", 1, NULL, 0);
    assert_int_equal(osp_seriestab_size(c), 2);
    assert_int_equal(osp_seriestab_size(h), 1);
    assert_int_equal(osp_seriestab_flush(c, 10, &b), 0);
    assert_int_equal(osp_seriestab_flush(h, 10, &b), 0);
    assert_int_equal(osp_seriestab_flush(p, 10, &b), 0);
    assert_true(osp_test_series_value(&b, "c_total{k1=\"a\",k2=\"x\"}") == 2);
    assert_true(osp_test_series_value(&b, "c_total{k1=\"a\",k2=\"y\"}") == 1);
    assert_true(osp_test_series_value(&b, "h_seconds_count{k1=\"a\",k2=\"x\"}") == 2);
    assert_true(osp_test_series_value(&b, "h_seconds_sum{k1=\"a\",k2=\"x\"}") == 2.5);
    assert_true(osp_test_series_value(&b, "p_total{k1=\"a\"}") == 3);
    osp_series_batch_cleanup(&b);
    osp_seriestab_destroy(c);
    osp_seriestab_destroy(h);
    osp_seriestab_destroy(p);
}

/* A histogram with a count family: the counter's series, metadata and exemplar (value 1)
 * come first, and equal the _count series, overflow included. */
static void test_count_family(void **state)
{
    osp_family f = hist_family;
    f.count_name = "n_total";
    f.count_help = "Counted.";
    osp_seriestab *t = osp_seriestab_create(&f);
    osp_series_batch b;
    char name[32];
    assert_non_null(t);
    osp_series_batch_init(&b);
    add(t, "a", "x", 0.5, NULL, 0);
    add(t, "a", "x", 5, TRACE_A, 9);
    for (int i = 0; i <= OSP_SERIESTAB_MAX_SERIES; i++) {
        snprintf(name, sizeof name, "s%d", i);
        add(t, "b", name, 1, NULL, 0);
    }
    assert_int_equal(osp_seriestab_flush(t, 100, &b), 0);
    assert_int_equal(b.nmeta, 2);
    assert_true(osp_str_eqz(b.meta[0].family, "n"));
    assert_int_equal(b.meta[0].kind, OSP_KIND_COUNTER);
    assert_true(osp_str_eqz(b.meta[0].help, "Counted."));
    assert_true(osp_str_eqz(b.meta[1].family, "h_seconds"));
    assert_true(osp_test_series_value(&b, "n_total{k1=\"a\",k2=\"x\"}") == 2);
    assert_true(osp_test_series_value(&b, "h_seconds_count{k1=\"a\",k2=\"x\"}") == 2);
    assert_true(osp_test_series_value(&b, "n_total{k1=\"b\",k2=\"s0\"}") == 1);
    assert_true(osp_test_series_value(&b, "n_total{k1=\"__overflow__\",k2=\"__overflow__\"}") == 2);
    long i = osp_test_series_index(&b, "n_total{k1=\"a\",k2=\"x\"}");
    assert_true(i >= 0 && (size_t)i < 3); /* the counter series come first */
    const osp_prom_exemplar *ex = osp_test_exemplar_of(&b, i);
    assert_non_null(ex);
    assert_true(ex->value == 1);
    assert_int_equal(ex->t_ms, 9);
    ex = osp_test_exemplar_of(
        &b, osp_test_series_index(&b, "h_seconds_bucket{k1=\"a\",k2=\"x\",le=\"10\"}"));
    assert_non_null(ex);
    assert_true(ex->value == 5);
    osp_series_batch_cleanup(&b);
    osp_seriestab_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter),        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_le_format),      cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_alloc_failures), cmocka_unit_test(test_shared_key),
        cmocka_unit_test(test_count_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
