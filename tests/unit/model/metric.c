/* Unit tests for model/metric: batch rows and the exemplars blob (round trip, canonical
 * bytes, corrupt input). */
#include "testutil.h"

#include "core/err.h"
#include "model/metric.h"

static void test_batch_rows(void **state)
{
    (void)state;
    osp_metric_batch b;
    osp_metric_batch_init(&b);
    for (int i = 0; i < 40; i++) {
        osp_metric_point *p = osp_metric_batch_add_point(&b);
        assert_non_null(p);
        assert_int_equal(p->count, 0);
        p->count = (uint64_t)i;
    }
    assert_non_null(osp_metric_batch_add_metric(&b));
    assert_non_null(osp_metric_batch_add_scope(&b));
    assert_non_null(osp_metric_batch_add_resource(&b));
    assert_int_equal(b.npoints, 40);
    assert_int_equal(b.points[39].count, 39);
    assert_int_equal(b.nmetrics + b.nscopes + b.nresources, 3);
    osp_metric_batch_reset(&b);
    assert_int_equal(b.npoints + b.nmetrics, 0);
    osp_metric_batch_cleanup(&b);
    assert_string_equal(osp_metric_type_name(OSP_METRIC_EXP_HISTOGRAM), "exponential_histogram");
    assert_string_equal(osp_metric_type_name(OSP_METRIC_SUMMARY), "summary");
    assert_string_equal(osp_metric_type_name(99), "unknown");
}

static void test_exemplars_blob(void **state)
{
    (void)state;
    osp_buf blob;
    osp_buf_init(&blob, 0);
    osp_exemplar a = {.time_ns = 5,
                      .value.d = 1.5,
                      .has = OSP_EXEMPLAR_VALUE | OSP_EXEMPLAR_TRACE_ID | OSP_EXEMPLAR_SPAN_ID,
                      .trace_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
                      .span_id = {1, 2, 3, 4, 5, 6, 7, 8},
                      .filtered_attributes = OSP_STR_LIT("\x0a\x03\x0a\x01k")};
    osp_exemplar b = {.value.i = -3, .has = OSP_EXEMPLAR_VALUE | OSP_EXEMPLAR_VALUE_INT};
    osp_exemplar c = {0}, got;
    assert_int_equal(osp_exemplars_append(&blob, &a), 0);
    assert_int_equal(osp_exemplars_append(&blob, &b), 0);
    assert_int_equal(osp_exemplars_append(&blob, &c), 0);
    assert_int_equal(osp_exemplars_count(osp_buf_str(&blob)), 3);

    osp_blob_iter it;
    osp_blob_iter_init(&it, osp_buf_str(&blob));
    assert_int_equal(osp_exemplars_next(&it, &got), 1);
    assert_int_equal(got.time_ns, 5);
    assert_int_equal(got.has, a.has);
    assert_true(got.value.d == 1.5);
    assert_memory_equal(got.trace_id, a.trace_id, 16);
    assert_memory_equal(got.span_id, a.span_id, 8);
    assert_true(osp_str_eq(got.filtered_attributes, a.filtered_attributes));
    assert_int_equal(osp_exemplars_next(&it, &got), 1);
    assert_int_equal(got.has, b.has);
    assert_int_equal(got.value.i, -3);
    assert_int_equal(osp_exemplars_next(&it, &got), 1);
    assert_int_equal(got.has, 0);
    assert_int_equal(osp_exemplars_next(&it, &got), 0);

    /* the empty exemplar is just its record header */
    osp_buf_reset(&blob);
    assert_int_equal(osp_exemplars_append(&blob, &c), 0);
    assert_int_equal(blob.len, 2);
    assert_memory_equal(blob.data, "\x0a\x00", 2);

    /* corrupt: wrong record tag, bad id length, unknown member, truncation */
    static const char *const bad[] = {"\x12\x00", "\x0a\x03\x22\x01x", "\x0a\x02\x38\x01",
                                      "\x0a\x05\x09"};
    static const size_t badn[] = {2, 5, 4, 3};
    for (size_t i = 0; i < 4; i++) {
        osp_blob_iter_init(&it, osp_str_make(bad[i], badn[i]));
        assert_int_equal(osp_exemplars_next(&it, &got), OSP_ECORRUPT);
        assert_int_equal(osp_exemplars_count(osp_str_make(bad[i], badn[i])), 0);
    }
    osp_buf_cleanup(&blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_rows),
        cmocka_unit_test(test_exemplars_blob),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
