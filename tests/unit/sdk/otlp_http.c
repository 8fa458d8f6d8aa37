/* Unit tests for sdk/otlp_http against a real local HTTP server (the server's network
 * core): retries honouring Retry-After, backoff, final statuses, gzip and headers, the
 * deadline with nothing listening, partial success. */
#include "testutil.h"

#include "core/mem.h"
#include "osprey/osprey.h"
#include "sdk_int.h"
#include "testserver.h"

#define MAX_REQUESTS 8

/* What the server answers (one entry per request, the last repeating) and receives. */
typedef struct reply {
    int status;
    const char *retry_after; /* NULL: no header */
    const char *body;        /* NULL: empty */
    size_t body_len;         /* 0: strlen(body) */
} reply;

typedef struct received {
    uint64_t at_ns;
    char body[256];
    size_t body_len;
    char content_type[64], content_encoding[16], api_key[32], tenant[32];
} received;

static struct {
    pthread_mutex_t mu;
    const reply *replies;
    size_t nreplies;
    received req[MAX_REQUESTS];
    size_t n;
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

static test_server server;
static osprey__stats stats;

static void copy_header(const osp_http_request *req, const char *name, char *out, size_t cap)
{
    test_copy_str(osp_http_header_get(req, name), out, cap);
}

static void handle(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    pthread_mutex_lock(&srv.mu);
    size_t i = srv.n < MAX_REQUESTS ? srv.n++ : MAX_REQUESTS - 1;
    received *r = &srv.req[i];
    r->at_ns = osprey__mono_ns();
    r->body_len = req->body.n;
    memcpy(r->body, req->body.p, req->body.n < sizeof r->body ? req->body.n : sizeof r->body);
    copy_header(req, "content-type", r->content_type, sizeof r->content_type);
    copy_header(req, "content-encoding", r->content_encoding, sizeof r->content_encoding);
    copy_header(req, "x-api-key", r->api_key, sizeof r->api_key);
    copy_header(req, "x-tenant", r->tenant, sizeof r->tenant);
    const reply *rp = &srv.replies[i < srv.nreplies ? i : srv.nreplies - 1];
    pthread_mutex_unlock(&srv.mu);
    res->status = rp->status;
    res->content_type = "application/x-protobuf";
    if (rp->retry_after)
        osp_http_response_header(res, "retry-after", osp_str_c(rp->retry_after));
    if (rp->body)
        osp_buf_append(&res->body, rp->body, rp->body_len ? rp->body_len : strlen(rp->body));
}

static int start_server(void **state)
{
    static const osp_route routes[] = {{.method = "POST", .path = "/v1/traces", .handler = handle}};
    test_server_start(&server, routes, 1);
    *state = &server;
    return 0;
}

static int reset(void **state)
{
    (void)state;
    pthread_mutex_lock(&srv.mu);
    memset(srv.req, 0, sizeof srv.req);
    srv.n = 0;
    pthread_mutex_unlock(&srv.mu);
    memset(&stats, 0, sizeof stats);
    return 0;
}

static void serve(const reply *replies, size_t n)
{
    pthread_mutex_lock(&srv.mu);
    srv.replies = replies;
    srv.nreplies = n;
    pthread_mutex_unlock(&srv.mu);
}

/* A transport to the test server's /v1/traces (or to url when given). */
static osprey__transport *connect_to(const char *url, bool gzip, char **headers, size_t nheaders)
{
    char own[80];
    snprintf(own, sizeof own, "%s/v1/traces", server.endpoint);
    osprey__transport_config c = {(char *)(url ? url : own), headers, nheaders, 5000, gzip};
    osprey__transport *t;
    assert_int_equal(osprey__transport_create(&c, &stats, &t), 0);
    return t;
}

static uint64_t in_ms(uint64_t ms)
{
    return osprey__mono_ns() + ms * 1000000u;
}

static const char payload[] = "\x0a\x10protobuf payload\x12\x03xyz and some more bytes to squeeze";

static void test_retry_after_then_ok(void **state)
{
    (void)state;
    static const reply replies[] = {{503, "1", "busy", 0}, {200, NULL, NULL, 0}};
    serve(replies, 2);
    char *headers[] = {"x-api-key: k1", "x-tenant: acme"};
    osprey__transport *t = connect_to(NULL, true, headers, 2);
    assert_int_equal(osprey__transport_post(t, payload, sizeof payload, in_ms(10000)), 0);
    assert_int_equal(srv.n, 2);
    for (size_t i = 0; i < 2; i++) {
        received *r = &srv.req[i];
        assert_int_equal(r->body_len, sizeof payload); /* the server gunzipped it */
        assert_memory_equal(r->body, payload, sizeof payload);
        assert_string_equal(r->content_type, "application/x-protobuf");
        assert_string_equal(r->content_encoding, "gzip");
        assert_string_equal(r->api_key, "k1");
        assert_string_equal(r->tenant, "acme");
    }
    assert_true(srv.req[1].at_ns - srv.req[0].at_ns >= 1000000000u); /* Retry-After: 1 */
    assert_int_equal(atomic_load(&stats.export_requests), 2);
    assert_int_equal(atomic_load(&stats.export_retries), 1);
    assert_int_equal(atomic_load(&stats.export_failures), 0);
    osprey__transport_destroy(t);
}

static void test_backoff_without_retry_after(void **state)
{
    (void)state;
    static const reply replies[] = {
        {502, NULL, NULL, 0}, {429, NULL, NULL, 0}, {200, NULL, NULL, 0}};
    serve(replies, 3);
    osprey__transport *t = connect_to(NULL, false, NULL, 0);
    assert_int_equal(osprey__transport_post(t, payload, sizeof payload, in_ms(10000)), 0);
    assert_int_equal(srv.n, 3);
    assert_string_equal(srv.req[0].content_encoding, "");
    assert_memory_equal(srv.req[2].body, payload, sizeof payload);
    /* 100 ms then 200 ms, each at least 80% of that. */
    assert_true(srv.req[1].at_ns - srv.req[0].at_ns >= 80000000u);
    assert_true(srv.req[2].at_ns - srv.req[1].at_ns >= 160000000u);
    assert_int_equal(atomic_load(&stats.export_retries), 2);
    assert_int_equal(atomic_load(&stats.export_requests), 3);
    osprey__transport_destroy(t);
}

static void test_client_error_is_final(void **state)
{
    (void)state;
    static const reply replies[] = {{400, NULL, "bad data", 0}, {200, NULL, NULL, 0}};
    serve(replies, 2);
    osprey__transport *t = connect_to(NULL, false, NULL, 0);
    assert_int_equal(osprey__transport_post(t, payload, sizeof payload, in_ms(10000)), OSPREY_EIO);
    assert_int_equal(srv.n, 1);
    assert_int_equal(atomic_load(&stats.export_requests), 1);
    assert_int_equal(atomic_load(&stats.export_retries), 0);
    assert_int_equal(atomic_load(&stats.export_failures), 1);
    osprey__transport_destroy(t);
}

static void test_retry_after_past_deadline(void **state)
{
    (void)state;
    static const reply replies[] = {{429, "30", NULL, 0}};
    serve(replies, 1);
    osprey__transport *t = connect_to(NULL, false, NULL, 0);
    uint64_t deadline = in_ms(2000);
    assert_int_equal(osprey__transport_post(t, payload, sizeof payload, deadline),
                     OSPREY_ETIMEDOUT);
    assert_true(osprey__mono_ns() < deadline); /* gave up at once rather than sleep past it */
    assert_int_equal(srv.n, 1);
    assert_int_equal(atomic_load(&stats.export_failures), 1);
    osprey__transport_destroy(t);
}

static void test_retry_after_http_date(void **state)
{
    (void)state;
    /* A date already past: retry at once. One far ahead: cut to an hour, past the
     * deadline, so no retry at all. */
    static const reply past[] = {{503, "Wed, 21 Oct 2015 07:28:00 GMT", NULL, 0},
                                 {200, NULL, NULL, 0}};
    serve(past, 2);
    osprey__transport *t = connect_to(NULL, false, NULL, 0);
    assert_int_equal(osprey__transport_post(t, payload, sizeof payload, in_ms(10000)), 0);
    assert_int_equal(srv.n, 2);
    assert_int_equal(atomic_load(&stats.export_retries), 1);
    static const reply far[] = {{503, "Fri, 31 Dec 2100 23:59:59 GMT", NULL, 0}};
    serve(far, 1);
    uint64_t deadline = in_ms(5000);
    assert_int_equal(osprey__transport_post(t, payload, sizeof payload, deadline),
                     OSPREY_ETIMEDOUT);
    assert_true(osprey__mono_ns() < deadline);
    assert_int_equal(srv.n, 3);
    assert_int_equal(atomic_load(&stats.export_retries), 1);
    osprey__transport_destroy(t);
}

static void test_dead_port_times_out(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/traces", test_dead_port());
    osprey__transport *t = connect_to(url, true, NULL, 0);
    uint64_t deadline = in_ms(800);
    assert_int_equal(osprey__transport_post(t, payload, sizeof payload, deadline),
                     OSPREY_ETIMEDOUT);
    uint64_t requests = atomic_load(&stats.export_requests);
    assert_true(requests >= 2); /* connection refused is retried */
    assert_int_equal(atomic_load(&stats.export_retries), requests - 1);
    assert_int_equal(atomic_load(&stats.export_failures), 1);
    /* Past the deadline nothing is attempted. */
    assert_int_equal(osprey__transport_post(t, payload, sizeof payload, osprey__mono_ns()),
                     OSPREY_ETIMEDOUT);
    assert_int_equal(atomic_load(&stats.export_requests), requests);
    osprey__transport_destroy(t);
}

static void test_partial_success_is_success(void **state)
{
    (void)state;
    /* ExportTraceServiceResponse{partial_success{rejected_spans: 3, error_message: "x"}} */
    static const char body[] = "\x0a\x05\x08\x03\x12\x01x";
    static const reply replies[] = {{200, NULL, body, sizeof body - 1}};
    serve(replies, 1);
    osprey__transport *t = connect_to(NULL, false, NULL, 0);
    assert_int_equal(osprey__transport_post(t, payload, sizeof payload, in_ms(10000)), 0);
    assert_int_equal(osprey__transport_post(t, payload, sizeof payload, in_ms(10000)), 0);
    assert_int_equal(srv.n, 2);
    assert_int_equal(atomic_load(&stats.export_retries), 0);
    assert_int_equal(atomic_load(&stats.export_failures), 0);
    osprey__transport_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_retry_after_then_ok, reset),
        cmocka_unit_test_setup(test_backoff_without_retry_after, reset),
        cmocka_unit_test_setup(test_client_error_is_final, reset),
        cmocka_unit_test_setup(test_retry_after_past_deadline, reset),
        cmocka_unit_test_setup(test_retry_after_http_date, reset),
        cmocka_unit_test_setup(test_dead_port_times_out, reset),
        cmocka_unit_test_setup(test_partial_success_is_success, reset),
    };
    return cmocka_run_group_tests(tests, start_server, test_server_teardown);
}
