/* Unit tests for api: a real embedded store in a temp dir holding two traces, queried by
 * calling the route table's handlers with constructed requests; status codes and bodies
 * checked for the native API, the Jaeger API, health, readiness and metrics; and the JSON
 * of Prometheus query results holding native histograms (api/prom.c). */
#include "testutil.h"

#include <math.h>

#include "api/api.h"
#include "api/prom.h"
#include "core/err.h"
#include "core/json.h"
#include "proto/otlp.h"

/* Trace A (3 services, one error span) at 2024-05-01T12:00:00Z and trace B (a 64-bit id;
 * a service name with a space) 100 s later. */
static const char DATA[] =
    "{\"resourceSpans\":["
    "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
    "\"gateway\"}}]},\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"a1a1a1a1a1a1a1a1\","
    "\"name\":\"POST /chat\",\"kind\":2,\"startTimeUnixNano\":\"1714564800000000000\","
    "\"endTimeUnixNano\":\"1714564802000000000\"},"
    "{\"traceId\":\"00000000000000000123456789abcdef\",\"spanId\":\"b1b1b1b1b1b1b1b1\","
    "\"name\":\"GET /health\",\"kind\":2,\"startTimeUnixNano\":\"1714564900000000000\","
    "\"endTimeUnixNano\":\"1714564900005000000\",\"status\":{\"code\":1},"
    "\"attributes\":[{\"key\":\"http.route\",\"value\":{\"stringValue\":\"/health\"}}]}]}]},"
    "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
    "\"agent\"}}]},\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"a2a2a2a2a2a2a2a2\","
    "\"parentSpanId\":\"a1a1a1a1a1a1a1a1\",\"name\":\"invoke_agent\",\"kind\":1,"
    "\"startTimeUnixNano\":\"1714564800100000000\","
    "\"endTimeUnixNano\":\"1714564801900000000\"}]}]},"
    "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
    "\"llm\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"genai\"},\"spans\":["
    "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"a3a3a3a3a3a3a3a3\","
    "\"parentSpanId\":\"a2a2a2a2a2a2a2a2\",\"name\":\"chat gpt-4o\",\"kind\":3,"
    "\"startTimeUnixNano\":\"1714564800200000000\","
    "\"endTimeUnixNano\":\"1714564801500000000\","
    "\"attributes\":[{\"key\":\"gen_ai.request.model\",\"value\":{\"stringValue\":\"gpt-4o\"}}],"
    "\"status\":{\"code\":2,\"message\":\"rate limited\"}}]}]},"
    "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
    "\"batch jobs\"}}]},\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"00000000000000000123456789abcdef\",\"spanId\":\"b2b2b2b2b2b2b2b2\","
    "\"parentSpanId\":\"b1b1b1b1b1b1b1b1\",\"name\":\"nightly\",\"kind\":5,"
    "\"startTimeUnixNano\":\"1714564900001000000\","
    "\"endTimeUnixNano\":\"1714564900002000000\"}]}]}]}";

#define ID_A "5b8efff798038103d269b633813fc60c"
#define ID_B "00000000000000000123456789abcdef"

static const char SUMMARY_A[] =
    "{\"traceId\":\"" ID_A "\",\"rootServiceName\":\"gateway\",\"rootSpanName\":\"POST /chat\","
    "\"startTimeUnixNano\":\"1714564800000000000\",\"durationNanos\":\"2000000000\","
    "\"spanCount\":3,\"errorCount\":1,\"services\":[\"agent\",\"gateway\",\"llm\"]}";
static const char SUMMARY_B[] =
    "{\"traceId\":\"" ID_B "\",\"rootServiceName\":\"gateway\",\"rootSpanName\":\"GET /health\","
    "\"startTimeUnixNano\":\"1714564900000000000\",\"durationNanos\":\"5000000\","
    "\"spanCount\":2,\"errorCount\":0,\"services\":[\"batch jobs\",\"gateway\"]}";

#define JAEGER_TAIL ",\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}"

typedef struct fixture {
    char *dir;
    osp_store *store;
    osp_api *api;
} fixture;

static fixture fx;

static int setup(void **state)
{
    (void)state;
    osp_store_options opt = {.data_dir = NULL, .fsync_policy = OSP_FSYNC_NEVER};
    osp_span_batch b;
    osp_decode_report rep = {0};
    fx.dir = osp_test_tmpdir("api");
    assert_non_null(fx.dir);
    opt.data_dir = fx.dir;
    assert_int_equal(osp_store_open(&opt, &fx.store), 0);
    osp_span_batch_init(&b);
    assert_int_equal(osp_otlp_traces_decode_json(osp_str_make(DATA, sizeof DATA - 1), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(b.nspans, 5);
    assert_int_equal(osp_store_append_spans(fx.store, &b), 0);
    osp_span_batch_cleanup(&b);
    assert_int_equal(osp_api_create(fx.store, &fx.api), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    osp_api_destroy(fx.api);
    osp_store_close(fx.store);
    osp_test_rmdir(fx.dir);
    free(fx.dir);
    return 0;
}

/* A finished call: status, content type and the body as a C string (caller frees). */
typedef struct reply {
    int status;
    const char *content_type;
    char *body;
    osp_http_response res;
} reply;

/* Routes "GET target" through the API's route table the way the network core does (exact
 * path, or prefix for routes ending in '*') and runs the handler. */
static reply get(const char *target)
{
    const osp_route *routes;
    size_t nroutes;
    reply r = {0};
    const char *q = strchr(target, '?');
    osp_str path = osp_str_make(target, q ? (size_t)(q - target) : strlen(target));
    osp_arena arena;
    osp_http_request req = {
        .proto = OSP_PROTO_HTTP1,
        .method = OSP_STR_LIT("GET"),
        .path = path,
        .query = q ? osp_str_c(q + 1) : OSP_STR_NULL,
        .arena = &arena,
    };
    const osp_route *route = NULL;
    osp_api_routes(fx.api, &routes, &nroutes);
    for (size_t i = 0; i < nroutes && !route; i++) {
        size_t n = strlen(routes[i].path);
        assert_string_equal(routes[i].method, "GET");
        if (routes[i].path[n - 1] == '*'
                ? osp_str_has_prefix(path, osp_str_make(routes[i].path, n - 1))
                : osp_str_eqz(path, routes[i].path))
            route = &routes[i];
    }
    if (!route) {
        r.status = 404;
        r.body = strdup("");
        return r;
    }
    osp_arena_init(&arena, 0, 0);
    r.res.status = 200;
    r.res.arena = &arena;
    osp_buf_init(&r.res.body, 0);
    route->handler(&req, &r.res, route->ctx);
    osp_arena_cleanup(&arena);
    r.status = r.res.status;
    r.content_type = r.res.content_type;
    r.body = strndup(r.res.body.data ? r.res.body.data : "", r.res.body.len);
    osp_buf_cleanup(&r.res.body);
    return r;
}

/* The whole body is one well-formed JSON value. */
static void assert_json(const char *body)
{
    osp_buf scratch;
    osp_json_reader rd;
    osp_json_token t;
    int rc;
    osp_buf_init(&scratch, 0);
    osp_json_reader_init(&rd, osp_str_c(body), &scratch);
    while ((rc = osp_json_next(&rd, &t)) == 1)
        ;
    if (rc != 0)
        fail_msg("invalid JSON (%s): %s", rd.err, body);
    osp_buf_cleanup(&scratch);
}

/* GET target must answer status with exactly body (a JSON document). */
static void expect(const char *target, int status, const char *body)
{
    reply r = get(target);
    if (r.status != status || strcmp(r.body, body) != 0)
        fail_msg("GET %s: %d %s\nexpected: %d %s", target, r.status, r.body, status, body);
    assert_string_equal(r.content_type, "application/json");
    assert_json(r.body);
    free(r.body);
}

/* GET target must answer status with a body containing every given fragment. */
static void expect_has(const char *target, int status, const char *const *parts, size_t n)
{
    reply r = get(target);
    if (r.status != status)
        fail_msg("GET %s: %d %s\nexpected status %d", target, r.status, r.body, status);
    for (size_t i = 0; i < n; i++)
        if (!strstr(r.body, parts[i]))
            fail_msg("GET %s: body lacks %s:\n%s", target, parts[i], r.body);
    assert_json(r.body);
    free(r.body);
}

#define EXPECT_HAS(target, status, ...)                                                            \
    do {                                                                                           \
        const char *const parts_[] = {__VA_ARGS__};                                                \
        expect_has(target, status, parts_, sizeof parts_ / sizeof parts_[0]);                      \
    } while (0)

static void test_native_search(void **state)
{
    (void)state;
    char both[1024], only_a[512], only_b[512];
    snprintf(both, sizeof both, "{\"traces\":[%s,%s]}", SUMMARY_B, SUMMARY_A);
    snprintf(only_a, sizeof only_a, "{\"traces\":[%s]}", SUMMARY_A);
    snprintf(only_b, sizeof only_b, "{\"traces\":[%s]}", SUMMARY_B);
    expect("/api/v1/traces", 200, both);
    expect("/api/v1/traces?service=&limit=", 200, both); /* empty = not given */
    expect("/api/v1/traces?limit=1", 200, only_b);
    expect("/api/v1/traces?service=llm", 200, only_a);
    expect("/api/v1/traces?service=batch%20jobs", 200, only_b);
    expect("/api/v1/traces?operation=invoke_agent", 200, only_a);
    expect("/api/v1/traces?attr.gen_ai.request.model=gpt-4o", 200, only_a);
    expect("/api/v1/traces?attr.http.route=%2Fhealth&attr.service.name=gateway", 200, only_b);
    expect("/api/v1/traces?status=error", 200, only_a);
    expect("/api/v1/traces?status=OK", 200, only_b);
    expect("/api/v1/traces?minDuration=1.5s", 200, only_a);
    expect("/api/v1/traces?maxDuration=5ms&service=gateway", 200, only_b);
    expect("/api/v1/traces?start=2024-05-01T12:01:00Z", 200, only_b);
    expect("/api/v1/traces?end=2024-05-01T14:00:30%2B02:00", 200, only_a);
    expect("/api/v1/traces?start=1714564800000000000&end=1714564800000000000", 200, only_a);
    expect("/api/v1/traces?service=nobody", 200, "{\"traces\":[]}");
    expect("/api/v1/traces?unknown=1&service=llm", 200, only_a);
}

static void test_native_search_errors(void **state)
{
    (void)state;
    expect("/api/v1/traces?minDuration=fast", 400,
           "{\"error\":\"invalid minDuration \\\"fast\\\": expected a duration like 250ms, "
           "1.5s, 2m or 1h\"}");
    expect("/api/v1/traces?maxDuration=-1s", 400,
           "{\"error\":\"invalid maxDuration \\\"-1s\\\": must not be negative\"}");
    expect("/api/v1/traces?limit=0", 400,
           "{\"error\":\"invalid limit \\\"0\\\": expected an integer from 1 to 1000\"}");
    expect("/api/v1/traces?limit=1001", 400,
           "{\"error\":\"invalid limit \\\"1001\\\": expected an integer from 1 to 1000\"}");
    expect("/api/v1/traces?status=failed", 400,
           "{\"error\":\"invalid status \\\"failed\\\": expected ok, error or unset\"}");
    expect("/api/v1/traces?start=yesterday", 400,
           "{\"error\":\"invalid start \\\"yesterday\\\": expected unix nanoseconds or an RFC "
           "3339 time like 2024-05-01T12:00:00Z\"}");
    expect("/api/v1/traces?end=2024-02-30T00:00:00Z", 400,
           "{\"error\":\"invalid end \\\"2024-02-30T00:00:00Z\\\": expected unix nanoseconds or "
           "an RFC 3339 time like 2024-05-01T12:00:00Z\"}");
    expect("/api/v1/traces?attr.=x", 400, "{\"error\":\"invalid attr.KEY: a key is required\"}");
    expect("/api/v1/traces?minDuration=2s&maxDuration=1s", 400,
           "{\"error\":\"invalid maxDuration: less than minDuration\"}");
    expect("/api/v1/traces?start=2000&end=1000", 400, "{\"error\":\"invalid end: before start\"}");
    expect("/api/v1/traces?service=%zz", 400,
           "{\"error\":\"malformed query string: bad percent-encoding\"}");
    char many[2048] = "/api/v1/traces?";
    for (int i = 0; i <= OSP_API_MAX_FILTERS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "attr.k%d=v&", i);
    expect(many, 400, "{\"error\":\"invalid attr.KEY: at most 32 filters are allowed\"}");
}

static void test_native_trace(void **state)
{
    (void)state;
    EXPECT_HAS("/api/v1/traces/" ID_A, 200, "{\"resourceSpans\":[", "\"traceId\":\"" ID_A "\"",
               "\"spanId\":\"a3a3a3a3a3a3a3a3\"", "\"name\":\"chat gpt-4o\"",
               "\"stringValue\":\"gpt-4o\"", "\"message\":\"rate limited\"", "\"name\":\"genai\"");
    /* Upper-case hex and the 16-digit form of a 64-bit id both work. */
    EXPECT_HAS("/api/v1/traces/5B8EFFF798038103D269B633813FC60C", 200, "\"name\":\"POST /chat\"");
    EXPECT_HAS("/api/v1/traces/0123456789abcdef", 200, "\"name\":\"nightly\"",
               "\"traceId\":\"" ID_B "\"");
    expect("/api/v1/traces/ffffffffffffffffffffffffffffffff", 404,
           "{\"error\":\"trace ffffffffffffffffffffffffffffffff not found\"}");
    expect("/api/v1/traces/xyz", 400,
           "{\"error\":\"invalid traceId \\\"xyz\\\": expected 32 hex characters (or 16 for a "
           "64-bit id)\"}");
    expect("/api/v1/traces/", 400,
           "{\"error\":\"invalid traceId \\\"\\\": expected 32 hex characters (or 16 for a "
           "64-bit id)\"}");
}

static void test_native_services_and_operations(void **state)
{
    (void)state;
    expect("/api/v1/services", 200,
           "{\"services\":[\"agent\",\"batch jobs\",\"gateway\",\"llm\"]}");
    expect("/api/v1/services/gateway/operations", 200,
           "{\"operations\":[{\"name\":\"GET /health\",\"spanKind\":\"SPAN_KIND_SERVER\"},"
           "{\"name\":\"POST /chat\",\"spanKind\":\"SPAN_KIND_SERVER\"}]}");
    expect("/api/v1/services/batch%20jobs/operations", 200,
           "{\"operations\":[{\"name\":\"nightly\",\"spanKind\":\"SPAN_KIND_CONSUMER\"}]}");
    expect("/api/v1/services/llm/operations", 200,
           "{\"operations\":[{\"name\":\"chat gpt-4o\",\"spanKind\":\"SPAN_KIND_CLIENT\"}]}");
    expect("/api/v1/services/nobody/operations", 200, "{\"operations\":[]}");
    expect("/api/v1/services/gateway", 404, "{\"error\":\"not found\"}");
    expect("/api/v1/services/a/b/operations", 404, "{\"error\":\"not found\"}");
    expect("/api/v1/services//operations", 400,
           "{\"error\":\"invalid service: empty or badly percent-encoded\"}");
    expect("/api/v1/services/%4/operations", 400,
           "{\"error\":\"invalid service: empty or badly percent-encoded\"}");
}

static void test_jaeger_services_and_operations(void **state)
{
    (void)state;
    expect("/api/services", 200,
           "{\"data\":[\"agent\",\"batch jobs\",\"gateway\",\"llm\"],\"total\":4,\"limit\":0,"
           "\"offset\":0,\"errors\":null}");
    expect("/api/services/gateway/operations", 200,
           "{\"data\":[\"GET /health\",\"POST /chat\"],\"total\":2,\"limit\":0,\"offset\":0,"
           "\"errors\":null}");
    expect("/api/services/batch%20jobs/operations", 200,
           "{\"data\":[\"nightly\"],\"total\":1,\"limit\":0,\"offset\":0,\"errors\":null}");
    expect("/api/services/gateway", 404,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":404,"
           "\"msg\":\"not found\"}]}");
    expect("/api/operations?service=gateway", 200,
           "{\"data\":[{\"name\":\"GET /health\",\"spanKind\":\"server\"},{\"name\":\"POST "
           "/chat\",\"spanKind\":\"server\"}],\"total\":2,\"limit\":0,\"offset\":0,"
           "\"errors\":null}");
    expect("/api/operations?service=llm&spanKind=client", 200,
           "{\"data\":[{\"name\":\"chat gpt-4o\",\"spanKind\":\"client\"}],\"total\":1,"
           "\"limit\":0,\"offset\":0,\"errors\":null}");
    expect("/api/operations?service=llm&spanKind=server", 200,
           "{\"data\":[],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}");
    expect("/api/operations", 400,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":400,"
           "\"msg\":\"parameter 'service' is required\"}]}");
    expect("/api/operations?service=llm&spanKind=sideways", 400,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":400,"
           "\"msg\":\"invalid spanKind \\\"sideways\\\": expected server, client, producer, "
           "consumer or internal\"}]}");
}

/* The search answer holds exactly the traces listed (by Jaeger trace id), in order. */
static void expect_jaeger_traces(const char *target, const char *first, const char *second)
{
    reply r = get(target);
    char want[128];
    if (r.status != 200)
        fail_msg("GET %s: %d %s", target, r.status, r.body);
    assert_json(r.body);
    assert_int_equal(strncmp(r.body, "{\"data\":[", 9), 0);
    size_t len = strlen(r.body), tail = strlen(JAEGER_TAIL);
    assert_true(len > tail);
    assert_string_equal(r.body + len - tail, JAEGER_TAIL);
    const char *p = r.body + 9;
    for (int i = 0; i < 2; i++) {
        const char *id = i == 0 ? first : second;
        if (!id) {
            assert_int_equal(*p, ']');
            break;
        }
        snprintf(want, sizeof want, "%s{\"traceID\":\"%s\",\"spans\":[", i ? "," : "", id);
        if (strncmp(p, want, strlen(want)) != 0)
            fail_msg("GET %s: expected trace %s at:\n%s", target, id, p);
        p = strstr(p, "\"warnings\":null}],\"processes\"");
        assert_non_null(p);
        p = strstr(p, "},\"warnings\":null}");
        assert_non_null(p);
        p += strlen("},\"warnings\":null}");
    }
    free(r.body);
}

#define JA ID_A
#define JB "0123456789abcdef" /* Jaeger prints a zero high half as 16 digits */

static void test_jaeger_search(void **state)
{
    (void)state;
    expect_jaeger_traces("/api/traces", JB, JA);
    expect_jaeger_traces("/api/traces?service=llm", JA, NULL);
    expect_jaeger_traces("/api/traces?service=gateway&operation=GET%20%2Fhealth", JB, NULL);
    expect_jaeger_traces("/api/traces?limit=1", JB, NULL);
    expect_jaeger_traces("/api/traces?tags=%7B%22gen_ai.request.model%22%3A%22gpt-4o%22%7D", JA,
                         NULL);
    expect_jaeger_traces("/api/traces?tags=http.route%3D%2Fhealth", JB, NULL);
    expect_jaeger_traces("/api/traces?tag=http.route:/health", JB, NULL);
    expect_jaeger_traces("/api/traces?tags=error%3Dtrue", JA, NULL);
    expect_jaeger_traces("/api/traces?tags=%7B%22otel.status_code%22%3A%22OK%22%7D", JB, NULL);
    expect_jaeger_traces("/api/traces?minDuration=1s", JA, NULL);
    expect_jaeger_traces("/api/traces?maxDuration=10ms&service=gateway", JB, NULL);
    expect_jaeger_traces("/api/traces?start=1714564850000000&end=1714564950000000", JB, NULL);
    expect_jaeger_traces("/api/traces?end=1714564901000000&lookback=1h", JB, JA);
    expect_jaeger_traces("/api/traces?end=1714564901000000&lookback=30s", JB, NULL);
    expect_jaeger_traces("/api/traces?service=llm&lookback=custom", JA, NULL);
    expect_jaeger_traces("/api/traces?service=nobody", NULL, NULL);

    /* The spans carry Jaeger's fields. */
    EXPECT_HAS("/api/traces?service=llm", 200, "\"operationName\":\"chat gpt-4o\"",
               "{\"refType\":\"CHILD_OF\",\"traceID\":\"" JA "\",\"spanID\":\"a2a2a2a2a2a2a2a2\"}",
               "{\"key\":\"error\",\"type\":\"bool\",\"value\":true}",
               "\"startTime\":1714564800200000,\"duration\":1300000",
               "{\"key\":\"otel.scope.name\",\"type\":\"string\",\"value\":\"genai\"}",
               "\"serviceName\":\"llm\"");
}

static void test_jaeger_search_errors(void **state)
{
    (void)state;
    expect("/api/traces?minDuration=soon", 400,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":400,"
           "\"msg\":\"invalid minDuration \\\"soon\\\": expected a duration like 250ms, 1.5s, "
           "2m or 1h\"}]}");
    expect("/api/traces?start=2024-05-01T12:00:00Z", 400,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":400,"
           "\"msg\":\"invalid start \\\"2024-05-01T12:00:00Z\\\": expected unix "
           "microseconds\"}]}");
    expect("/api/traces?lookback=forever", 400,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":400,"
           "\"msg\":\"invalid lookback \\\"forever\\\": expected a duration like 1h or 2d\"}]}");
    expect("/api/traces?tags=%7B%22a%22%3A1", 400,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":400,"
           "\"msg\":\"invalid tags \\\"{\\\"a\\\":1\\\": expected a JSON object of strings or "
           "key=value pairs (unexpected end of input at offset 6)\"}]}");
    expect("/api/traces?tag=nocolon", 400,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":400,"
           "\"msg\":\"invalid tag \\\"nocolon\\\": expected key:value\"}]}");
    expect("/api/traces?tags=otel.status_code%3Dmaybe", 400,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":400,"
           "\"msg\":\"invalid otel.status_code \\\"maybe\\\": expected ok, error or unset\"}]}");
    expect("/api/traces?start=2000&end=1000", 400,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":400,"
           "\"msg\":\"invalid end: before start\"}]}");
    expect("/api/traces?limit=%", 400,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":400,"
           "\"msg\":\"malformed query string: bad percent-encoding\"}]}");
}

static void test_jaeger_trace(void **state)
{
    (void)state;
    EXPECT_HAS("/api/traces/" ID_A, 200, "{\"data\":[{\"traceID\":\"" JA "\",\"spans\":[",
               "\"processes\":{\"p1\":{\"serviceName\":\"gateway\",\"tags\":[]},"
               "\"p2\":{\"serviceName\":\"agent\",\"tags\":[]},"
               "\"p3\":{\"serviceName\":\"llm\",\"tags\":[]}},\"warnings\":null}]" JAEGER_TAIL,
               "{\"key\":\"span.kind\",\"type\":\"string\",\"value\":\"server\"}");
    EXPECT_HAS("/api/traces/" JB, 200, "{\"data\":[{\"traceID\":\"" JB "\",\"spans\":[",
               "\"serviceName\":\"batch jobs\"",
               "{\"key\":\"otel.status_code\",\"type\":\"string\",\"value\":\"OK\"}");
    EXPECT_HAS("/api/traces/" ID_B, 200, "{\"data\":[{\"traceID\":\"" JB "\"");
    expect("/api/traces/ffffffffffffffff", 404,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":404,"
           "\"msg\":\"trace not found\"}]}");
    expect("/api/traces/123", 400,
           "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":400,"
           "\"msg\":\"invalid traceID \\\"123\\\": expected 32 hex characters (or 16 for a "
           "64-bit id)\"}]}");
}

static void test_health_and_readiness(void **state)
{
    (void)state;
    reply r = get("/healthz");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    assert_string_equal(r.content_type, "text/plain; charset=utf-8");
    free(r.body);
    r = get("/readyz");
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "not ready");
    free(r.body);
    osp_api_set_ready(fx.api, 1);
    r = get("/readyz");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    free(r.body);
    osp_api_set_ready(fx.api, 0);
    r = get("/readyz");
    assert_int_equal(r.status, 503);
    free(r.body);
}

static void test_metrics(void **state)
{
    (void)state;
    reply r = get("/metrics");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "# TYPE osprey_memory_in_use_bytes gauge\n"));
    assert_non_null(strstr(r.body, "# TYPE osprey_process_resident_memory_bytes gauge\n"));
    /* Both gauges were refreshed: neither reads 0. */
    assert_null(strstr(r.body, "\nosprey_memory_in_use_bytes 0\n"));
    assert_null(strstr(r.body, "\nosprey_process_resident_memory_bytes 0\n"));
    free(r.body);
}

static void test_routes(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/healthz",         "/readyz",          "/metrics",           "/api/v1/traces",
        "/api/v1/traces/*", "/api/v1/services", "/api/v1/services/*", "/api/services",
        "/api/services/*",  "/api/operations",  "/api/traces",        "/api/traces/*",
    };
    const osp_route *routes;
    size_t n;
    osp_api_routes(fx.api, &routes, &n);
    assert_int_equal(n, sizeof paths / sizeof paths[0]);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(routes[i].path, paths[i]);
        assert_non_null(routes[i].handler);
    }
    reply r = get("/api/v1/tracesX");
    assert_int_equal(r.status, 404); /* not routed at all */
    free(r.body);
    osp_api_destroy(NULL);
}

/* The same answers once the rows moved from the in-memory buffer to parts on disk. */
static void test_after_flush(void **state)
{
    assert_int_equal(osp_store_flush(fx.store), 0);
    test_native_search(state);
    test_native_trace(state);
    test_native_services_and_operations(state);
    test_jaeger_services_and_operations(state);
    test_jaeger_search(state);
    test_jaeger_trace(state);
}

/* ---- Prometheus query results with native histograms (api/prom.c) ---- */

/* The "data" member osp_prom_put_result writes for r must be exactly want. */
static void expect_result(const osp_promql_result *r, const char *want)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_prom_put_result(&b, r), 0);
    char *got = strndup(b.data ? b.data : "", b.len);
    osp_buf_cleanup(&b);
    if (strcmp(got, want) != 0)
        fail_msg("got:  %s\nwant: %s", got, want);
    assert_json(got);
    free(got);
}

static void test_prom_histogram_json(void **state)
{
    (void)state;
    /* schema 0: negative bucket 0 is [-1, -0.5), positive buckets 0, 1 and 3 are (0.5, 1],
     * (1, 2] (empty, so left out) and (4, 8]; the zero bucket [-0.001, 0.001] */
    osp_hist_span nspan = {0, 1}, pspans[2] = {{0, 2}, {1, 1}};
    double nb[1] = {1}, pb[3] = {3, 0, 3};
    osp_histogram h = {.schema = 0,
                       .zero_threshold = 0.001,
                       .zero_count = 2,
                       .count = 28,
                       .sum = 26.5,
                       .nspans = &nspan,
                       .nnspans = 1,
                       .nbuckets = nb,
                       .nnbuckets = 1,
                       .pspans = pspans,
                       .npspans = 2,
                       .pbuckets = pb,
                       .npbuckets = 3};
    /* a rate without buckets; tiny and odd numbers as sample values are written */
    osp_histogram bare = {.count = 0.19999999999999998, .sum = 0.06666666666666665};
    osp_histogram odd = {.count = 1e-7, .sum = NAN};
    osp_label lf = {OSP_STR_LIT("__name__"), OSP_STR_LIT("f")};
    osp_label lh = {OSP_STR_LIT("__name__"), OSP_STR_LIT("h")};
    osp_sample fs[2] = {{1700000000000, 1}, {1700000060000, 2}};
    osp_hsample hs[2] = {{1700000000500, &h}, {1700000120000, &bare}};
    osp_hsample os = {1700000000000, &odd};
    osp_series vec[3] = {{.labels = &lf, .nlabels = 1, .samples = fs, .nsamples = 1},
                         {.labels = &lh, .nlabels = 1, .hsamples = hs, .nhsamples = 1},
                         {.hsamples = &os, .nhsamples = 1}};
    osp_promql_result r = {.type = OSP_PROMQL_T_VECTOR, .series = vec, .nseries = 3};
    expect_result(&r, "{\"resultType\":\"vector\",\"result\":["
                      "{\"metric\":{\"__name__\":\"f\"},\"value\":[1700000000,\"1\"]},"
                      "{\"metric\":{\"__name__\":\"h\"},\"histogram\":[1700000000.500,"
                      "{\"count\":\"28\",\"sum\":\"26.5\",\"buckets\":[[1,\"-1\",\"-0.5\",\"1\"],"
                      "[3,\"-0.001\",\"0.001\",\"2\"],[0,\"0.5\",\"1\",\"3\"],"
                      "[0,\"4\",\"8\",\"3\"]]}]},"
                      "{\"metric\":{},\"histogram\":[1700000000,"
                      "{\"count\":\"1e-07\",\"sum\":\"NaN\"}]}]}");
    /* a matrix: "values", then "histograms"; "values" left out without floats */
    osp_series mat[2] = {{.labels = &lf,
                          .nlabels = 1,
                          .samples = fs,
                          .nsamples = 2,
                          .hsamples = hs + 1,
                          .nhsamples = 1},
                         {.labels = &lh, .nlabels = 1, .hsamples = hs, .nhsamples = 2}};
    r = (osp_promql_result){.type = OSP_PROMQL_T_MATRIX, .series = mat, .nseries = 2};
    expect_result(&r, "{\"resultType\":\"matrix\",\"result\":["
                      "{\"metric\":{\"__name__\":\"f\"},\"values\":[[1700000000,\"1\"],"
                      "[1700000060,\"2\"]],\"histograms\":[[1700000120,"
                      "{\"count\":\"0.19999999999999998\",\"sum\":\"0.06666666666666665\"}]]},"
                      "{\"metric\":{\"__name__\":\"h\"},\"histograms\":[[1700000000.500,"
                      "{\"count\":\"28\",\"sum\":\"26.5\",\"buckets\":[[1,\"-1\",\"-0.5\",\"1\"],"
                      "[3,\"-0.001\",\"0.001\",\"2\"],[0,\"0.5\",\"1\",\"3\"],"
                      "[0,\"4\",\"8\",\"3\"]]}],[1700000120,"
                      "{\"count\":\"0.19999999999999998\",\"sum\":\"0.06666666666666665\"}]]}]}");
    /* a vector series without any sample is refused */
    osp_series none = {.labels = &lf, .nlabels = 1};
    r = (osp_promql_result){.type = OSP_PROMQL_T_VECTOR, .series = &none, .nseries = 1};
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_not_equal(osp_prom_put_result(&b, &r), 0);
    osp_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_search),
        cmocka_unit_test(test_native_search_errors),
        cmocka_unit_test(test_native_trace),
        cmocka_unit_test(test_native_services_and_operations),
        cmocka_unit_test(test_jaeger_services_and_operations),
        cmocka_unit_test(test_jaeger_search),
        cmocka_unit_test(test_jaeger_search_errors),
        cmocka_unit_test(test_jaeger_trace),
        cmocka_unit_test(test_health_and_readiness),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_after_flush),
        cmocka_unit_test(test_prom_histogram_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
