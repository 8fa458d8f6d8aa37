/* Unit tests for sdk/src/prometheus.c: the exact text format of a small set of instruments,
 * unit suffixes, label sanitizing and escaping. */
#include "testutil.h"

#include "handprov.h"
#include "metrics_int.h"
#include "osprey/osprey.h"

static osprey_provider *hand_provider(void)
{
    osprey_attr res[] = {OSPREY_STR("telemetry.sdk.language", "c"),
                         OSPREY_STR("service.name", "svc")};
    return hand_provider_with(res, 2, 0);
}

static char *render(osprey_provider *p)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(osprey_metrics_prometheus(p, &text, &len), 0);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_exact_text(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_meter *m = osprey_meter_get(p, "lib", "1.0");
    osprey_instrument *c =
        osprey_counter(m, "http.server.requests", "{request}", "Requests\nserved \\ total");
    const double bounds[] = {0.1, 1};
    osprey_instrument *h = osprey_histogram(m, "http.server.duration", "s", "Duration", bounds, 2);
    osprey_instrument *g = osprey_gauge(m, "memory.utilization", "1", NULL);
    osprey_instrument *u = osprey_updown_counter(m, "queue", "By", "Queued");
    osprey_attr ca[] = {OSPREY_STR("route", "/a\"b\\c\nd"), OSPREY_INT("code", 200)};
    osprey_record(c, 3, ca, 2);
    osprey_record(h, 0.25, NULL, 0);
    osprey_record(h, 0.5, NULL, 0);
    osprey_record(h, 2, NULL, 0);
    osprey_attr ga[] = {OSPREY_STR("1st.key", "x"), OSPREY_BOOL("ok", true)};
    osprey_record(g, 0.5, ga, 2);
    osprey_record(u, -2, NULL, 0);
    char *text = render(p);
    const char *want =
        "# HELP target_info Target metadata\n"
        "# TYPE target_info gauge\n"
        "target_info{service_name=\"svc\",telemetry_sdk_language=\"c\"} 1\n"
        "# HELP http_server_requests_total Requests\\nserved \\\\ total\n"
        "# TYPE http_server_requests_total counter\n"
        "http_server_requests_total{code=\"200\",otel_scope_name=\"lib\","
        "otel_scope_version=\"1.0\",route=\"/a\\\"b\\\\c\\nd\"} 3\n"
        "# HELP http_server_duration_seconds Duration\n"
        "# TYPE http_server_duration_seconds histogram\n"
        "http_server_duration_seconds_bucket{otel_scope_name=\"lib\",otel_scope_version=\"1.0\","
        "le=\"0.1\"} 0\n"
        "http_server_duration_seconds_bucket{otel_scope_name=\"lib\",otel_scope_version=\"1.0\","
        "le=\"1\"} 2\n"
        "http_server_duration_seconds_bucket{otel_scope_name=\"lib\",otel_scope_version=\"1.0\","
        "le=\"+Inf\"} 3\n"
        "http_server_duration_seconds_sum{otel_scope_name=\"lib\",otel_scope_version=\"1.0\"} "
        "2.75\n"
        "http_server_duration_seconds_count{otel_scope_name=\"lib\",otel_scope_version=\"1.0\"} "
        "3\n"
        "# TYPE memory_utilization_ratio gauge\n"
        "memory_utilization_ratio{key_1st_key=\"x\",ok=\"true\",otel_scope_name=\"lib\","
        "otel_scope_version=\"1.0\"} 0.5\n"
        "# HELP queue_bytes Queued\n"
        "# TYPE queue_bytes gauge\n"
        "queue_bytes{otel_scope_name=\"lib\",otel_scope_version=\"1.0\"} -2\n";
    assert_string_equal(text, want);
    free(text);
    free_provider(p);
}

static void test_unit_suffixes(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_meter *m = osprey_meter_get(p, "lib", NULL);
    const struct {
        const char *name, *unit, *family;
        bool counter;
    } cases[] = {
        {"bytes.sent", "By/s", "bytes_sent_per_second_total", true},
        {"packets", "{packet}/s", "packets_per_second_total", true},
        {"wait_seconds", "s", "wait_seconds_total", true},
        {"done_total", NULL, "done_total", true},
        {"latency", "ms", "latency_milliseconds", false},
        {"weird--name", "furlong", "weird_name_furlong", false},
        {"dimensionless", "1", "dimensionless_total", true},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        osprey_instrument *i = cases[k].counter
                                   ? osprey_counter(m, cases[k].name, cases[k].unit, NULL)
                                   : osprey_gauge(m, cases[k].name, cases[k].unit, NULL);
        osprey_record(i, 1, NULL, 0);
    }
    char *text = render(p);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char line[128];
        snprintf(line, sizeof line, "\n# TYPE %s %s\n%s{otel_scope_name=\"lib\"} 1\n",
                 cases[k].family, cases[k].counter ? "counter" : "gauge", cases[k].family);
        if (!strstr(text, line))
            fail_msg("missing %s in:\n%s", line, text);
    }
    free(text);
    free_provider(p);
}

static void test_empty_and_args(void **state)
{
    osprey_provider *p = hand_provider();
    char *text = render(p);
    assert_string_equal(text, "# HELP target_info Target metadata\n"
                              "# TYPE target_info gauge\n"
                              "target_info{service_name=\"svc\",telemetry_sdk_language=\"c\"} 1\n");
    free(text);
    assert_int_equal(osprey_metrics_prometheus(NULL, &text, NULL), OSPREY_EINVAL);
    assert_null(text);
    assert_int_equal(osprey_metrics_prometheus(p, NULL, NULL), OSPREY_EINVAL);
    free_provider(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_text),
        cmocka_unit_test(test_unit_suffixes),
        cmocka_unit_test(test_empty_and_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
