/* Unit tests for sdk/config and sdk/resource: defaults, every environment variable,
 * options over variables, bad values with their warnings, and the resource's precedence. */
#include "testutil.h"

#include <fcntl.h>
#include <limits.h>

#include "osprey/osprey.h"
#include "sdk_int.h"

static const char *const all_vars[] = {
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
    "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
    "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BLRP_MAX_QUEUE_SIZE",
    "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BLRP_SCHEDULE_DELAY",
    "OTEL_BLRP_EXPORT_TIMEOUT",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_METRIC_EXPORT_TIMEOUT",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof all_vars / sizeof all_vars[0]; i++)
        unsetenv(all_vars[i]);
    return 0;
}

/* Stderr captured into a temporary file while a test runs. */
static int saved_stderr = -1;
static FILE *captured;

static void capture_start(void)
{
    fflush(stderr);
    captured = tmpfile();
    assert_non_null(captured);
    saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(captured), STDERR_FILENO);
}

/* Ends the capture; the text written meanwhile (static, NUL-terminated). */
static const char *capture_end(void)
{
    static char text[8192];
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    rewind(captured);
    size_t n = fread(text, 1, sizeof text - 1, captured);
    text[n] = '\0';
    fclose(captured);
    return text;
}

static const char *attr_str(const osprey__attrs *a, const char *key)
{
    const osprey__kv *kv = osprey__attrs_find(a, key);
    if (!kv || kv->type != OSPREY_VALUE_STRING)
        return NULL;
    return kv->v.s;
}

static void test_defaults(void **state)
{
    (void)state;
    osprey__config c;
    assert_int_equal(osprey__config_load(&c, NULL), 0);
    assert_null(c.service_name);
    assert_int_equal(c.resource_env.n, 0);
    assert_int_equal(c.sampler, OSPREY_SAMPLER_PARENTBASED_ALWAYS_ON);
    assert_true(c.sampler_ratio == 1.0);
    const char *urls[3] = {"http://localhost:4318/v1/traces", "http://localhost:4318/v1/metrics",
                           "http://localhost:4318/v1/logs"};
    for (int s = 0; s < 3; s++) {
        assert_int_equal(c.exporter[s], OSPREY_EXPORTER_OTLP);
        assert_string_equal(c.transport[s].url, urls[s]);
        assert_int_equal(c.transport[s].nheaders, 0);
        assert_int_equal(c.transport[s].timeout_ms, 10000);
        assert_false(c.transport[s].gzip);
    }
    const osprey__batch_config *b[2] = {&c.span_batch, &c.log_batch};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(b[i]->max_queue, 2048);
        assert_int_equal(b[i]->max_batch, 512);
        assert_int_equal(b[i]->delay_ms, 5000);
        assert_int_equal(b[i]->export_timeout_ms, 30000);
    }
    assert_int_equal(c.metric_interval_ms, 60000);
    assert_int_equal(c.metric_timeout_ms, 30000);
    assert_false(c.log_to_stderr);
    assert_false(c.capture_genai_content);
    osprey__config_cleanup(&c);
}

static void test_environment(void **state)
{
    (void)state;
    setenv("OTEL_SERVICE_NAME", "checkout", 1);
    setenv("OTEL_RESOURCE_ATTRIBUTES", " deployment.environment=prod%20eu , team=a%2Cb,k=v=w", 1);
    setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio", 1);
    setenv("OTEL_TRACES_SAMPLER_ARG", "0.25", 1);
    setenv("OTEL_TRACES_EXPORTER", "console,otlp", 1);
    setenv("OTEL_METRICS_EXPORTER", "none", 1);
    setenv("OTEL_LOGS_EXPORTER", " otlp ", 1);
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318/", 1);
    setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:9000/ingest", 1);
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret,x-tenant = t1", 1);
    setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-only=metrics", 1);
    setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700", 1);
    setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
    setenv("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "none", 1);
    setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100", 1);
    setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10", 1);
    setenv("OTEL_BSP_SCHEDULE_DELAY", "200", 1);
    setenv("OTEL_BSP_EXPORT_TIMEOUT", "3000", 1);
    setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "50", 1);
    setenv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "80", 1); /* over the queue: cut to it */
    setenv("OTEL_BLRP_SCHEDULE_DELAY", "300", 1);
    setenv("OTEL_BLRP_EXPORT_TIMEOUT", "4000", 1);
    setenv("OTEL_METRIC_EXPORT_INTERVAL", "15000", 1);
    setenv("OTEL_METRIC_EXPORT_TIMEOUT", "5000", 1);
    setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "TRUE", 1);
    osprey__config c;
    assert_int_equal(osprey__config_load(&c, NULL), 0);
    assert_string_equal(c.service_name, "checkout");
    assert_int_equal(c.resource_env.n, 3);
    assert_string_equal(attr_str(&c.resource_env, "deployment.environment"), "prod eu");
    assert_string_equal(attr_str(&c.resource_env, "team"), "a,b");
    assert_string_equal(attr_str(&c.resource_env, "k"), "v=w");
    assert_int_equal(c.sampler, OSPREY_SAMPLER_PARENTBASED_TRACEIDRATIO);
    assert_true(c.sampler_ratio == 0.25);
    assert_int_equal(c.exporter[OSPREY__TRACES], OSPREY_EXPORTER_CONSOLE);
    assert_int_equal(c.exporter[OSPREY__METRICS], OSPREY_EXPORTER_NONE);
    assert_int_equal(c.exporter[OSPREY__LOGS], OSPREY_EXPORTER_OTLP);
    const osprey__transport_config *t = c.transport;
    assert_string_equal(t[OSPREY__TRACES].url, "https://collector:4318/v1/traces");
    assert_string_equal(t[OSPREY__METRICS].url, "https://collector:4318/v1/metrics");
    assert_string_equal(t[OSPREY__LOGS].url, "http://logs:9000/ingest");
    assert_int_equal(t[OSPREY__TRACES].nheaders, 2);
    assert_string_equal(t[OSPREY__TRACES].headers[0], "api-key: s=cret");
    assert_string_equal(t[OSPREY__TRACES].headers[1], "x-tenant: t1");
    assert_int_equal(t[OSPREY__METRICS].nheaders, 1);
    assert_string_equal(t[OSPREY__METRICS].headers[0], "x-only: metrics");
    assert_int_equal(t[OSPREY__LOGS].nheaders, 2);
    assert_int_equal(t[OSPREY__TRACES].timeout_ms, 700);
    assert_int_equal(t[OSPREY__METRICS].timeout_ms, 2500);
    assert_int_equal(t[OSPREY__LOGS].timeout_ms, 2500);
    assert_true(t[OSPREY__TRACES].gzip);
    assert_true(t[OSPREY__METRICS].gzip);
    assert_false(t[OSPREY__LOGS].gzip);
    assert_int_equal(c.span_batch.max_queue, 100);
    assert_int_equal(c.span_batch.max_batch, 10);
    assert_int_equal(c.span_batch.delay_ms, 200);
    assert_int_equal(c.span_batch.export_timeout_ms, 3000);
    assert_int_equal(c.log_batch.max_queue, 50);
    assert_int_equal(c.log_batch.max_batch, 50);
    assert_int_equal(c.log_batch.delay_ms, 300);
    assert_int_equal(c.log_batch.export_timeout_ms, 4000);
    assert_int_equal(c.metric_interval_ms, 15000);
    assert_int_equal(c.metric_timeout_ms, 5000);
    assert_true(c.capture_genai_content);
    osprey__config_cleanup(&c);
}

static void test_options_win(void **state)
{
    (void)state;
    setenv("OTEL_SERVICE_NAME", "from-env", 1);
    setenv("OTEL_RESOURCE_ATTRIBUTES", "a=env,b=env", 1);
    setenv("OTEL_TRACES_SAMPLER", "always_off", 1);
    setenv("OTEL_TRACES_EXPORTER", "console", 1);
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:1", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://env:2/t", 1);
    setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1234", 1);
    setenv("OTEL_BSP_MAX_QUEUE_SIZE", "77", 1);
    setenv("OTEL_METRIC_EXPORT_INTERVAL", "999", 1);
    osprey_attr res[] = {OSPREY_STR("b", "opt"), OSPREY_INT("n", 5)};
    osprey_options o = {.service_name = "from-opt",
                        .resource = res,
                        .nresource = 2,
                        .sampler = OSPREY_SAMPLER_TRACEIDRATIO,
                        .sampler_ratio = 0.0,
                        .traces_exporter = OSPREY_EXPORTER_NONE,
                        .endpoint = "http://opt:4318",
                        .export_timeout_ms = 42,
                        .max_queue_size = 8,
                        .max_export_batch_size = 4,
                        .schedule_delay_ms = 9,
                        .metric_interval_ms = 1000,
                        .log_to_stderr = true};
    osprey__config c;
    assert_int_equal(osprey__config_load(&c, &o), 0);
    assert_string_equal(c.service_name, "from-opt");
    assert_string_equal(attr_str(&c.resource_env, "a"), "env");
    assert_string_equal(attr_str(&c.resource_env, "b"), "opt");
    assert_int_equal(osprey__attrs_find(&c.resource_env, "n")->v.i, 5);
    assert_int_equal(c.sampler, OSPREY_SAMPLER_TRACEIDRATIO);
    assert_true(c.sampler_ratio == 0.0);
    assert_int_equal(c.exporter[OSPREY__TRACES], OSPREY_EXPORTER_NONE);
    assert_string_equal(c.transport[OSPREY__TRACES].url, "http://opt:4318/v1/traces");
    assert_string_equal(c.transport[OSPREY__LOGS].url, "http://opt:4318/v1/logs");
    for (int s = 0; s < 3; s++)
        assert_int_equal(c.transport[s].timeout_ms, 42);
    assert_int_equal(c.span_batch.max_queue, 8);
    assert_int_equal(c.log_batch.max_queue, 8);
    assert_int_equal(c.span_batch.max_batch, 4);
    assert_int_equal(c.log_batch.delay_ms, 9);
    assert_int_equal(c.metric_interval_ms, 1000);
    assert_true(c.log_to_stderr);
    osprey__config_cleanup(&c);
}

static void test_bad_values(void **state)
{
    (void)state;
    setenv("OTEL_RESOURCE_ATTRIBUTES", "good=1,missing-equals", 1);
    setenv("OTEL_TRACES_SAMPLER", "sometimes", 1);
    setenv("OTEL_TRACES_SAMPLER_ARG", "1.5", 1);
    setenv("OTEL_METRICS_EXPORTER", "zipkin", 1);
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "bad name=x", 1);
    setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "12ms", 1);
    setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", 1);
    setenv("OTEL_BSP_MAX_QUEUE_SIZE", "0", 1);
    setenv("OTEL_BLRP_SCHEDULE_DELAY", "-5", 1);
    setenv("OTEL_METRIC_EXPORT_INTERVAL", "99999999999999999999", 1);
    setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "yes", 1);
    osprey__config c;
    capture_start();
    int rc = osprey__config_load(&c, NULL);
    const char *err = capture_end();
    assert_int_equal(rc, 0);
    assert_int_equal(c.resource_env.n, 0); /* a malformed list is discarded whole */
    assert_int_equal(c.sampler, OSPREY_SAMPLER_PARENTBASED_ALWAYS_ON);
    assert_true(c.sampler_ratio == 1.0);
    assert_int_equal(c.exporter[OSPREY__METRICS], OSPREY_EXPORTER_OTLP);
    for (int s = 0; s < 3; s++) {
        assert_int_equal(c.transport[s].nheaders, 0);
        assert_int_equal(c.transport[s].timeout_ms, 10000);
        assert_false(c.transport[s].gzip);
    }
    assert_int_equal(c.span_batch.max_queue, 2048);
    assert_int_equal(c.log_batch.delay_ms, 5000);
    assert_int_equal(c.metric_interval_ms, 60000);
    assert_false(c.capture_genai_content);
    const char *expect[] = {
        "OTEL_RESOURCE_ATTRIBUTES: bad value \"good=1,missing-equals\"",
        "OTEL_TRACES_SAMPLER: bad value \"sometimes\"",
        "OTEL_TRACES_SAMPLER_ARG: bad value \"1.5\"",
        "OTEL_METRICS_EXPORTER: bad value \"zipkin\", using otlp",
        "OTEL_EXPORTER_OTLP_HEADERS: bad value \"bad name=x\"",
        "OTEL_EXPORTER_OTLP_TIMEOUT: bad value \"12ms\", using 10000",
        "OTEL_EXPORTER_OTLP_COMPRESSION: bad value \"brotli\", using none",
        "OTEL_BSP_MAX_QUEUE_SIZE: bad value \"0\", using 2048",
        "OTEL_BLRP_SCHEDULE_DELAY: bad value \"-5\", using 5000",
        "OTEL_METRIC_EXPORT_INTERVAL: bad value \"99999999999999999999\", using 60000",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: bad value \"yes\", using false",
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        if (!strstr(err, expect[i]))
            fail_msg("missing warning: %s\nstderr was:\n%s", expect[i], err);
    }
    osprey__config_cleanup(&c);
}

static void test_endpoint_forms(void **state)
{
    (void)state;
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/prefix", 1);
    setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:1/", 1);
    osprey__config c;
    assert_int_equal(osprey__config_load(&c, NULL), 0);
    assert_string_equal(c.transport[OSPREY__TRACES].url, "http://c:4318/prefix/v1/traces");
    assert_string_equal(c.transport[OSPREY__METRICS].url, "http://m:1/"); /* used as is */
    osprey__config_cleanup(&c);
}

static void test_resource(void **state)
{
    (void)state;
    osprey__config c;
    osprey__attrs r = {0};
    assert_int_equal(osprey__config_load(&c, NULL), 0);
    assert_int_equal(osprey__resource_build(&r, &c), 0);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    const char *name = strrchr(exe, '/') + 1;
    char service[PATH_MAX + 32];
    snprintf(service, sizeof service, "unknown_service:%s", name);
    assert_string_equal(attr_str(&r, "service.name"), service);
    assert_string_equal(attr_str(&r, "telemetry.sdk.name"), "osprey");
    assert_string_equal(attr_str(&r, "telemetry.sdk.language"), "c");
    assert_string_equal(attr_str(&r, "telemetry.sdk.version"), OSPREY_VERSION);
    assert_string_equal(attr_str(&r, "os.type"), "linux");
    assert_string_equal(attr_str(&r, "process.executable.name"), name);
    assert_string_equal(attr_str(&r, "process.executable.path"), exe);
    assert_int_equal(osprey__attrs_find(&r, "process.pid")->v.i, getpid());
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    assert_string_equal(attr_str(&r, "host.name"), host);
    assert_non_null(attr_str(&r, "host.arch"));
    assert_non_null(attr_str(&r, "process.runtime.name"));
    osprey__attrs_cleanup(&r);
    osprey__config_cleanup(&c);

    /* OTEL_RESOURCE_ATTRIBUTES overrides detection, options override it, and the service
     * name from the configuration overrides all. */
    setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=env-svc,host.name=h1,os.type=x", 1);
    osprey_attr res[] = {OSPREY_STR("os.type", "opt")};
    osprey_options o = {.resource = res, .nresource = 1};
    assert_int_equal(osprey__config_load(&c, &o), 0);
    assert_int_equal(osprey__resource_build(&r, &c), 0);
    assert_string_equal(attr_str(&r, "service.name"), "env-svc");
    assert_string_equal(attr_str(&r, "host.name"), "h1");
    assert_string_equal(attr_str(&r, "os.type"), "opt");
    osprey__attrs_cleanup(&r);
    osprey__config_cleanup(&c);
    setenv("OTEL_SERVICE_NAME", "named", 1);
    assert_int_equal(osprey__config_load(&c, &o), 0);
    assert_int_equal(osprey__resource_build(&r, &c), 0);
    assert_string_equal(attr_str(&r, "service.name"), "named");
    osprey__attrs_cleanup(&r);
    osprey__config_cleanup(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_environment, clear_env),
        cmocka_unit_test_setup(test_options_win, clear_env),
        cmocka_unit_test_setup(test_bad_values, clear_env),
        cmocka_unit_test_setup(test_endpoint_forms, clear_env),
        cmocka_unit_test_setup(test_resource, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
