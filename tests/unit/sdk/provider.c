/* Unit tests for sdk/provider: spans and log records from a provider reach a real local
 * OTLP/HTTP server (decoded here), exporters NONE, shutdown exporting what is queued, and
 * a dead collector counted as dropped. */
#include "testutil.h"

#include "core/mem.h"
#include "core/pb.h"
#include "osprey/osprey.h"
#include "sdk_int.h"
#include "testserver.h"

#define MAX_REQUESTS TEST_MAX_REQUESTS

static test_log srv = {.mu = PTHREAD_MUTEX_INITIALIZER};
static test_server server;

static void handle(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    test_log_add(&srv, req);
    res->status = 200;
    res->content_type = "application/x-protobuf";
}

static int start_server(void **state)
{
    static const osp_route routes[] = {{.method = "POST", .path = "/v1/*", .handler = handle}};
    test_server_start(&server, routes, 1);
    *state = &server;
    return 0;
}

static int reset(void **state)
{
    (void)state;
    unsetenv("OTEL_BSP_EXPORT_TIMEOUT");
    test_log_reset(&srv);
    return 0;
}

/* ---- Decoding what arrived ------------------------------------------------------------- */

/* The n-th (from 0) LEN field num of msg, or an empty slice. */
static osp_str field(osp_str msg, uint32_t num, size_t n)
{
    osp_pb_reader r = osp_pb_reader_make(msg.p, msg.n);
    osp_pb_field f;
    while (osp_pb_next(&r, &f) == 1)
        if (f.num == num && f.wire == OSP_PB_LEN && n-- == 0)
            return f.bytes;
    return OSP_STR_NULL;
}

/* The string value of key among the KeyValues (field 1) of a Resource. */
static osp_str resource_attr(osp_str resource, const char *key)
{
    osp_str kv;
    for (size_t i = 0; (kv = field(resource, 1, i)).n; i++)
        if (osp_str_eqz(field(kv, 1, 0), key))
            return field(field(kv, 2, 0), 1, 0); /* AnyValue.string_value */
    return OSP_STR_NULL;
}

/* Points out[] at the requests that arrived at path (at most cap); their count. */
static size_t requests_to(const char *path, test_request **out, size_t cap)
{
    size_t k = 0;
    pthread_mutex_lock(&srv.mu);
    for (size_t i = 0; i < srv.n && k < cap; i++)
        if (!strcmp(srv.req[i].path, path))
            out[k++] = &srv.req[i];
    pthread_mutex_unlock(&srv.mu);
    return k;
}

/* The names of the spans in every /v1/traces request, each checked to carry service. */
static size_t span_names(const char *service, osp_str *names, size_t cap)
{
    test_request *reqs[MAX_REQUESTS];
    size_t nreq = requests_to("/v1/traces", reqs, MAX_REQUESTS), n = 0;
    for (size_t i = 0; i < nreq; i++) {
        osp_str body = {reqs[i]->body, reqs[i]->len}, rs, ss, span;
        for (size_t a = 0; (rs = field(body, 1, a)).n; a++) {
            assert_true(osp_str_eqz(resource_attr(field(rs, 1, 0), "service.name"), service));
            for (size_t b = 0; (ss = field(rs, 2, b)).n; b++)
                for (size_t c = 0; (span = field(ss, 2, c)).n && n < cap; c++)
                    names[n++] = field(span, 5, 0);
        }
    }
    return n;
}

static bool has_name(const osp_str *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (osp_str_eqz(names[i], name))
            return true;
    return false;
}

static void end_spans(osprey_provider *p, const char *const *names, size_t n)
{
    osprey_tracer *t = osprey_tracer_get(p, "provider-test", "1.0", OSPREY_DETAIL_BASE);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++) {
        osprey_span s = osprey_span_start(t, names[i], NULL);
        assert_true(osprey_span_is_recording(&s));
        osprey_span_end(&s, 0);
    }
}

/* ---- Tests ------------------------------------------------------------------------------- */

static void test_spans_and_logs_reach_the_server(void **state)
{
    (void)state;
    osprey_options o = {.service_name = "provider-svc",
                        .endpoint = server.endpoint,
                        .sampler = OSPREY_SAMPLER_ALWAYS_ON,
                        .metrics_exporter = OSPREY_EXPORTER_NONE,
                        .schedule_delay_ms = 3600000};
    osprey_provider *p = osprey_provider_create(&o);
    assert_non_null(p);
    static const char *const names[] = {"alpha", "beta", "gamma"};
    end_spans(p, names, 3);
    osprey_logger *l = osprey_logger_get(p, "provider-test", OSPREY_INFO);
    assert_non_null(l);
    osprey_log(l, OSPREY_WARN, "disk almost full", NULL, 0);
    assert_int_equal(osprey_flush(p, 10000), 0);

    osp_str got[8];
    size_t n = span_names("provider-svc", got, 8);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(has_name(got, n, names[i]));
    test_request *logs[MAX_REQUESTS];
    assert_int_equal(requests_to("/v1/logs", logs, MAX_REQUESTS), 1);
    osp_str body = {logs[0]->body, logs[0]->len};
    osp_str rl = field(body, 1, 0);
    assert_true(osp_str_eqz(resource_attr(field(rl, 1, 0), "service.name"), "provider-svc"));
    osp_str rec = field(field(rl, 2, 0), 2, 0); /* ScopeLogs.log_records[0] */
    assert_true(osp_str_eqz(field(field(rec, 5, 0), 1, 0), "disk almost full")); /* body */

    osprey_stats st;
    osprey_get_stats(p, &st);
    assert_int_equal(st.spans_started, 3);
    assert_int_equal(st.spans_exported, 3);
    assert_int_equal(st.spans_dropped, 0);
    assert_int_equal(st.logs_exported, 1);
    assert_int_equal(st.logs_dropped, 0);
    assert_int_equal(st.export_requests, 2);
    assert_int_equal(st.export_failures, 0);
    assert_int_equal(osprey_shutdown(p, 5000), 0);
}

static void test_shutdown_exports_queued_spans(void **state)
{
    (void)state;
    osprey_options o = {.service_name = "shutdown-svc",
                        .endpoint = server.endpoint,
                        .sampler = OSPREY_SAMPLER_ALWAYS_ON,
                        .metrics_exporter = OSPREY_EXPORTER_NONE,
                        .logs_exporter = OSPREY_EXPORTER_NONE,
                        .schedule_delay_ms = 3600000};
    osprey_provider *p = osprey_provider_create(&o);
    assert_non_null(p);
    static const char *const names[] = {"last-words"};
    end_spans(p, names, 1);
    assert_int_equal(osprey_shutdown(p, 10000), 0);
    osp_str got[4];
    assert_int_equal(span_names("shutdown-svc", got, 4), 1);
    assert_true(osp_str_eqz(got[0], "last-words"));
}

static void test_exporters_none(void **state)
{
    (void)state;
    osprey_options o = {.endpoint = server.endpoint,
                        .traces_exporter = OSPREY_EXPORTER_NONE,
                        .metrics_exporter = OSPREY_EXPORTER_NONE,
                        .logs_exporter = OSPREY_EXPORTER_NONE};
    osprey_provider *p = osprey_provider_create(&o);
    assert_non_null(p);
    assert_null(p->spans);
    assert_null(p->logs);
    for (int s = 0; s < 3; s++)
        assert_null(p->transport[s]);
    static const char *const names[] = {"unseen"};
    end_spans(p, names, 1);
    assert_int_equal(osprey_flush(p, 1000), 0);
    osprey_stats st;
    osprey_get_stats(p, &st);
    assert_int_equal(st.spans_exported, 0);
    assert_int_equal(st.spans_dropped, 0);
    assert_int_equal(st.export_requests, 0);
    assert_int_equal(osprey_shutdown(p, 1000), 0);
    assert_int_equal(srv.n, 0);
}

static void test_dead_collector_counts_drops(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", test_dead_port());
    setenv("OTEL_BSP_EXPORT_TIMEOUT", "300", 1);
    osprey_options o = {.endpoint = url,
                        .sampler = OSPREY_SAMPLER_ALWAYS_ON,
                        .metrics_exporter = OSPREY_EXPORTER_NONE,
                        .logs_exporter = OSPREY_EXPORTER_NONE,
                        .schedule_delay_ms = 3600000};
    osprey_provider *p = osprey_provider_create(&o);
    assert_non_null(p);
    static const char *const names[] = {"lost-1", "lost-2"};
    end_spans(p, names, 2);
    assert_int_equal(osprey_flush(p, 10000), OSPREY_EIO);
    osprey_stats st;
    osprey_get_stats(p, &st);
    assert_int_equal(st.spans_exported, 0);
    assert_int_equal(st.spans_dropped, 2);
    assert_int_equal(st.export_failures, 1);
    assert_true(st.export_requests >= 1);
    assert_int_equal(st.export_retries, st.export_requests - 1);
    assert_int_equal(osprey_shutdown(p, 1000), 0);
}

/* Waits (up to 10 s) until p's exports have made at least n requests. */
static void await_requests(osprey_provider *p, uint64_t n)
{
    osprey_stats st;
    for (int i = 0; i < 1000; i++) {
        osprey_get_stats(p, &st);
        if (st.export_requests >= n)
            return;
        usleep(10000);
    }
    fail_msg("no export request was made");
}

static uint64_t ms_since(uint64_t t0)
{
    return (osprey__mono_ns() - t0) / 1000000u;
}

/* With the collector gone, exports retry until their own deadline (30 s here). A flush
 * waiting on the metric export the thread is retrying, and a shutdown with spans and
 * metrics still retrying, give up at their own timeout instead: they return in a few
 * seconds at most, not after the exports' 30. */
static void test_flush_and_shutdown_keep_their_timeout(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", test_dead_port());
    setenv("OTEL_BSP_EXPORT_TIMEOUT", "30000", 1);
    setenv("OTEL_METRIC_EXPORT_TIMEOUT", "30000", 1);
    osprey_options o = {.endpoint = url,
                        .sampler = OSPREY_SAMPLER_ALWAYS_ON,
                        .logs_exporter = OSPREY_EXPORTER_NONE,
                        .metric_interval_ms = 50,
                        .schedule_delay_ms = 50};
    osprey_provider *p = osprey_provider_create(&o);
    unsetenv("OTEL_METRIC_EXPORT_TIMEOUT");
    assert_non_null(p);
    osprey_instrument *c = osprey_counter(osprey_meter_get(p, "m", NULL), "jobs", "", "");
    osprey_record(c, 1, NULL, 0);
    await_requests(p, 1); /* the metric thread is retrying */
    uint64_t t0 = osprey__mono_ns();
    assert_int_equal(osprey_flush(p, 300), OSPREY_ETIMEDOUT);
    assert_true(ms_since(t0) < 5000);
    static const char *const names[] = {"stuck"};
    end_spans(p, names, 1);
    osprey_stats st;
    osprey_get_stats(p, &st);
    await_requests(p, st.export_requests + 2); /* and the span thread too */
    t0 = osprey__mono_ns();
    int rc = osprey_shutdown(p, 300); /* the span's export ends at the timeout, failed */
    assert_true(rc == OSPREY_ETIMEDOUT || rc == OSPREY_EIO);
    assert_true(ms_since(t0) < 5000);
}

static void test_create_survives_allocation_failures(void **state)
{
    (void)state;
    osprey_attr res[] = {OSPREY_STR("team", "core")};
    osprey_options o = {.service_name = "alloc-svc",
                        .resource = res,
                        .nresource = 1,
                        .endpoint = server.endpoint,
                        .metrics_exporter = OSPREY_EXPORTER_NONE};
    osprey_provider *p = NULL;
    unsigned long n;
    for (n = 1; n < 1000 && !p; n++) {
        size_t before = osp_mem_in_use();
        osp_mem_fail_after(n);
        p = osprey_provider_create(&o);
        osp_mem_fail_after(0);
        if (!p)
            assert_int_equal(osp_mem_in_use(), before); /* everything made was freed */
    }
    assert_non_null(p);
    assert_true(n > 2); /* some allocations did fail on the way */
    assert_int_equal(osprey_shutdown(p, 1000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_spans_and_logs_reach_the_server, reset),
        cmocka_unit_test_setup(test_shutdown_exports_queued_spans, reset),
        cmocka_unit_test_setup(test_exporters_none, reset),
        cmocka_unit_test_setup(test_dead_collector_counts_drops, reset),
        cmocka_unit_test_setup(test_flush_and_shutdown_keep_their_timeout, reset),
        cmocka_unit_test_setup(test_create_survives_allocation_failures, reset),
    };
    return cmocka_run_group_tests(tests, start_server, test_server_teardown);
}
