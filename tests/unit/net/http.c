/* Unit tests for net/http: the helpers handlers use (headers, query parameters, response
 * headers and JSON errors). */
#include "testutil.h"

#include "core/err.h"
#include "core/mem.h"
#include "net/http.h"

static osp_arena arena;

static osp_http_request make_req(const char *query, const osp_http_header *h, size_t nh)
{
    return (osp_http_request){.proto = OSP_PROTO_HTTP1,
                              .method = OSP_STR_LIT("GET"),
                              .path = OSP_STR_LIT("/x"),
                              .query = osp_str_c(query),
                              .headers = h,
                              .nheaders = nh,
                              .arena = &arena};
}

static int setup(void **state)
{
    (void)state;
    osp_arena_init(&arena, 0, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    osp_arena_cleanup(&arena);
    return 0;
}

static void test_header_get(void **state)
{
    (void)state;
    osp_http_header h[] = {{OSP_STR_LIT("content-type"), OSP_STR_LIT("application/json")},
                           {OSP_STR_LIT("x-a"), OSP_STR_LIT("1")},
                           {OSP_STR_LIT("x-a"), OSP_STR_LIT("2")}};
    osp_http_request req = make_req("", h, 3);
    assert_true(osp_str_eqz(osp_http_header_get(&req, "content-type"), "application/json"));
    assert_true(osp_str_eqz(osp_http_header_get(&req, "x-a"), "1"));
    assert_int_equal(osp_http_header_get(&req, "missing").n, 0);
    assert_int_equal(osp_http_header_get(&req, "content").n, 0);
}

static void test_query(void **state)
{
    (void)state;
    osp_http_request req = make_req(
        "service=check%2Fout&&attr.http.method=GET&empty=&flag&op=a+b%20c&service=2", NULL, 0);
    osp_str v;
    assert_int_equal(osp_http_query_get(&req, "service", &v), 1);
    assert_true(osp_str_eqz(v, "check/out")); /* the first of repeated parameters */
    assert_int_equal(osp_http_query_get(&req, "attr.http.method", &v), 1);
    assert_true(osp_str_eqz(v, "GET"));
    assert_int_equal(osp_http_query_get(&req, "empty", &v), 1);
    assert_int_equal(v.n, 0);
    assert_int_equal(osp_http_query_get(&req, "flag", &v), 1);
    assert_int_equal(v.n, 0);
    assert_int_equal(osp_http_query_get(&req, "op", &v), 1);
    assert_true(osp_str_eqz(v, "a b c"));
    assert_int_equal(osp_http_query_get(&req, "absent", &v), 0);
    /* Iteration in order, empty segments skipped. */
    size_t pos = 0;
    osp_str n;
    const char *names[] = {"service", "attr.http.method", "empty", "flag", "op", "service"};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(osp_http_query_next(&req, &pos, &n, &v), 1);
        assert_true(osp_str_eqz(n, names[i]));
    }
    assert_true(osp_str_eqz(v, "2"));
    assert_int_equal(osp_http_query_next(&req, &pos, &n, &v), 0);
    /* Encoded names are decoded too. */
    req = make_req("a%2Eb=1", NULL, 0);
    assert_int_equal(osp_http_query_get(&req, "a.b", &v), 1);
    req = make_req("", NULL, 0);
    assert_int_equal(osp_http_query_get(&req, "a", &v), 0);
}

static void test_query_errors(void **state)
{
    (void)state;
    osp_str v;
    const char *bad[] = {"a=%", "a=%2", "a=%zz", "a=%2g", "%=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        osp_http_request req = make_req(bad[i], NULL, 0);
        assert_int_equal(osp_http_query_get(&req, "a", &v), OSP_EPARSE);
    }
    /* A later bad parameter does not hide an earlier good one. */
    osp_http_request req = make_req("a=1&b=%zz", NULL, 0);
    assert_int_equal(osp_http_query_get(&req, "a", &v), 1);
    assert_int_equal(osp_http_query_get(&req, "b", &v), OSP_EPARSE);
    /* Out of memory while decoding. */
    osp_arena small;
    osp_arena_init(&small, 64, 64);
    req = make_req("a=%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41",
                   NULL, 0);
    req.arena = &small;
    assert_int_equal(osp_http_query_get(&req, "a", &v), OSP_ENOMEM);
    osp_arena_cleanup(&small);
}

static void test_response_helpers(void **state)
{
    (void)state;
    osp_http_response res = {.status = 200, .arena = &arena};
    osp_buf_init(&res.body, 0);
    for (int i = 0; i < OSP_HTTP_MAX_EXTRA_HEADERS + 2; i++)
        osp_http_response_header(&res, "x-n", OSP_STR_LIT("v"));
    assert_int_equal(res.nextra, OSP_HTTP_MAX_EXTRA_HEADERS);
    assert_true(osp_str_eqz(res.extra[0].name, "x-n"));
    osp_buf_puts(&res.body, "previous body");
    osp_http_response_error(&res, 400, "bad \"%s\" at %d\n", "trace", 7);
    assert_int_equal(res.status, 400);
    assert_string_equal(res.content_type, "application/json");
    const char *want = "{\"error\":\"bad \\\"trace\\\" at 7\\n\"}";
    assert_int_equal(res.body.len, strlen(want));
    assert_memory_equal(res.body.data, want, res.body.len);
    assert_true(osp_str_eqz(res.grpc_message, "bad \"trace\" at 7\n"));
    /* Without an arena there is no grpc_message, the JSON body is still set. */
    osp_http_response bare = {.status = 200};
    osp_buf_init(&bare.body, 0);
    osp_http_response_error(&bare, 404, "nope");
    assert_int_equal(bare.grpc_message.n, 0);
    assert_int_equal(bare.body.len, strlen("{\"error\":\"nope\"}"));
    /* A body buffer too small for the JSON keeps the status with an empty body. */
    osp_buf_cleanup(&bare.body);
    osp_buf_init(&bare.body, 8);
    osp_http_response_error(&bare, 500, "a long message that does not fit");
    assert_int_equal(bare.status, 500);
    assert_int_equal(bare.body.len, 0);
    osp_buf_cleanup(&bare.body);
    osp_buf_cleanup(&res.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_helpers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
