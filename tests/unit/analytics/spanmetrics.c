/* Unit tests for analytics/spanmetrics: labels and values of the RED series for a
 * hand-built set of spans, exemplars, and the label helpers. */
#include "testutil.h"

#include "analytics/spanmetrics.h"
#include "derivetest.h"

#define MS 1000000ull
#define T0 (1767225600000ull * MS)

/* Feeds spans (of resources res[i]) to a fresh deriver and flushes it into out at 9000. */
static void derive(const osp_span *spans, const osp_resource *const *res, size_t n,
                   osp_series_batch *out)
{
    osp_derive_env env = {0};
    osp_genai none = {0};
    void *self = osp_spanmetrics_deriver.create(&env);
    assert_non_null(self);
    for (size_t i = 0; i < n; i++) {
        osp_derived_span ds = {&spans[i], res[i], &none};
        osp_spanmetrics_deriver.add(self, &ds, 5000);
    }
    assert_int_equal(osp_spanmetrics_deriver.flush(self, 9000, out), 0);
    osp_spanmetrics_deriver.destroy(self);
}

/* The value of series `metric` (with le when le is not NULL) of one RED label set. */
static double red(const osp_series_batch *b, const char *metric, const char *le, const char *svc,
                  const char *kind, const char *name, const char *status)
{
    char want[512];
    snprintf(want, sizeof want,
             "%s{%s%s%sservice_name=\"%s\",span_kind=\"SPAN_KIND_%s\",span_name=\"%s\","
             "status_code=\"STATUS_CODE_%s\"}",
             metric, le ? "le=\"" : "", le ? le : "", le ? "\"," : "", svc, kind, name, status);
    return osp_test_series_value(b, want);
}

#define CALLS "traces_span_metrics_calls_total"
#define BUCKET "traces_span_metrics_duration_seconds_bucket"

static void test_red_series(void **state)
{
    osp_resource api = {.service_name = OSP_STR_LIT("api")}, anon = {0};
    osp_span spans[] = {
        osp_test_span(1, 1, 0, OSP_SPAN_KIND_SERVER, OSP_STATUS_UNSET, T0, 3 * MS, "GET /"),
        osp_test_span(2, 2, 0, OSP_SPAN_KIND_SERVER, OSP_STATUS_UNSET, T0, 300 * MS, "GET /"),
        osp_test_span(3, 3, 0, OSP_SPAN_KIND_SERVER, OSP_STATUS_ERROR, T0, 2000 * MS, "GET /"),
        osp_test_span(4, 4, 3, OSP_SPAN_KIND_CLIENT, OSP_STATUS_OK, T0, 0, "SELECT"),
        osp_test_span(5, 5, 0, 42, 7, T0, 0, "odd"),
    };
    const osp_resource *res[] = {&api, &api, &api, &anon, &anon};
    spans[4].end_ns = T0 - MS; /* ends before it starts: 0 s */
    osp_series_batch b;
    osp_series_batch_init(&b);
    derive(spans, res, 5, &b);

    assert_true(red(&b, CALLS, NULL, "api", "SERVER", "GET /", "UNSET") == 2);
    assert_true(red(&b, CALLS, NULL, "api", "SERVER", "GET /", "ERROR") == 1);
    assert_true(red(&b, CALLS, NULL, "unknown_service", "CLIENT", "SELECT", "OK") == 1);
    /* Unknown kinds and codes read as unspecified and unset. */
    assert_true(red(&b, CALLS, NULL, "unknown_service", "UNSPECIFIED", "odd", "UNSET") == 1);
    /* Durations: 3 ms and 300 ms in one series. */
    assert_true(red(&b, BUCKET, "0.002", "api", "SERVER", "GET /", "UNSET") == 0);
    assert_true(red(&b, BUCKET, "0.004", "api", "SERVER", "GET /", "UNSET") == 1);
    assert_true(red(&b, BUCKET, "0.4", "api", "SERVER", "GET /", "UNSET") == 2);
    assert_true(red(&b, BUCKET, "+Inf", "api", "SERVER", "GET /", "UNSET") == 2);
    assert_true(red(&b, BUCKET, "2", "api", "SERVER", "GET /", "ERROR") == 1);
    assert_true(fabs(red(&b, "traces_span_metrics_duration_seconds_sum", NULL, "api", "SERVER",
                         "GET /", "UNSET") -
                     0.303) < 1e-9);
    assert_true(red(&b, "traces_span_metrics_duration_seconds_count", NULL, "api", "SERVER",
                    "GET /", "UNSET") == 2);
    /* A negative duration counts as 0, in the first bucket. */
    assert_true(red(&b, BUCKET, "0.002", "unknown_service", "UNSPECIFIED", "odd", "UNSET") == 1);
    /* Exemplars: the latest span's trace id, at its end time. */
    const osp_prom_exemplar *ex = osp_test_exemplar_of(
        &b,
        osp_test_series_index(&b, CALLS "{service_name=\"api\",span_kind=\"SPAN_KIND_SERVER\","
                                        "span_name=\"GET /\",status_code=\"STATUS_CODE_UNSET\"}"));
    assert_non_null(ex);
    assert_true(osp_str_eqz(ex->labels[0].value, "02020202020202020202020202020202"));
    assert_int_equal(ex->t_ms, (int64_t)((T0 + 300 * MS) / MS));
    assert_int_equal(b.nmeta, 2);
    assert_int_equal(b.series[0].samples[0].t_ms, 9000);
    osp_series_batch_cleanup(&b);
}

static void test_labels(void **state)
{
    assert_string_equal(osp_span_kind_label(OSP_SPAN_KIND_PRODUCER), "SPAN_KIND_PRODUCER");
    assert_string_equal(osp_span_kind_label(-1), "SPAN_KIND_UNSPECIFIED");
    assert_string_equal(osp_status_code_label(OSP_STATUS_OK), "STATUS_CODE_OK");
    assert_string_equal(osp_status_code_label(3), "STATUS_CODE_UNSET");
    assert_true(osp_str_eqz(osp_span_service(NULL), "unknown_service"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_red_series),
        cmocka_unit_test(test_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
