/* Unit tests for proto/otlp_response: exact bytes of OTLP responses and rpc Status bodies. */
#include "testutil.h"

#include "core/err.h"
#include "proto/otlp.h"

#define IS(b, lit) is_bytes((b), (lit), sizeof(lit) - 1)

static void is_bytes(osp_buf *b, const char *want, size_t n)
{
    assert_int_equal(b->len, n);
    if (n)
        assert_memory_equal(b->data, want, n);
    osp_buf_reset(b);
}

static void test_trace_response_pb(void **state)
{
    (void)state;
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_otlp_response_pb(0, OSP_STR_NULL, &b), 0);
    IS(&b, ""); /* full success: empty message */
    assert_int_equal(osp_otlp_response_pb(3, OSP_STR_LIT("x"), &b), 0);
    IS(&b, "\x0a\x05\x08\x03\x12\x01x");
    assert_int_equal(osp_otlp_response_pb(0, OSP_STR_LIT("warn"), &b), 0);
    IS(&b, "\x0a\x06\x12\x04warn");
    assert_int_equal(osp_otlp_response_pb(300, OSP_STR_NULL, &b), 0);
    IS(&b, "\x0a\x03\x08\xac\x02");
    osp_buf_cleanup(&b);
}

static void test_trace_response_json(void **state)
{
    (void)state;
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_otlp_response_json(OSP_OTLP_TRACES, 0, OSP_STR_NULL, &b), 0);
    IS(&b, "{}");
    assert_int_equal(osp_otlp_response_json(OSP_OTLP_TRACES, 3, OSP_STR_LIT("span 0: \"bad\""), &b),
                     0);
    IS(&b, "{\"partialSuccess\":{\"rejectedSpans\":\"3\",\"errorMessage\":\"span 0: "
           "\\\"bad\\\"\"}}");
    assert_int_equal(osp_otlp_response_json(OSP_OTLP_TRACES, 2, OSP_STR_NULL, &b), 0);
    IS(&b, "{\"partialSuccess\":{\"rejectedSpans\":\"2\"}}");
    assert_int_equal(osp_otlp_response_json(OSP_OTLP_TRACES, 0, OSP_STR_LIT("w"), &b), 0);
    IS(&b, "{\"partialSuccess\":{\"errorMessage\":\"w\"}}");
    assert_int_equal(osp_otlp_response_json(OSP_OTLP_METRICS, 4, OSP_STR_NULL, &b), 0);
    IS(&b, "{\"partialSuccess\":{\"rejectedDataPoints\":\"4\"}}");
    assert_int_equal(osp_otlp_response_json(OSP_OTLP_LOGS, 1, OSP_STR_NULL, &b), 0);
    IS(&b, "{\"partialSuccess\":{\"rejectedLogRecords\":\"1\"}}");
    osp_buf_cleanup(&b);
}

static void test_rpc_status(void **state)
{
    (void)state;
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_rpc_status_pb(3, OSP_STR_LIT("bad body"), &b), 0);
    IS(&b, "\x08\x03\x12\x08"
           "bad body");
    assert_int_equal(osp_rpc_status_pb(0, OSP_STR_NULL, &b), 0);
    IS(&b, "");
    assert_int_equal(osp_rpc_status_pb(-1, OSP_STR_NULL, &b), 0);
    IS(&b, "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"); /* int32 sign-extended */
    assert_int_equal(osp_rpc_status_json(3, OSP_STR_LIT("a\nb"), &b), 0);
    IS(&b, "{\"code\":3,\"message\":\"a\\nb\"}");
    assert_int_equal(osp_rpc_status_json(14, OSP_STR_NULL, &b), 0);
    IS(&b, "{\"code\":14,\"message\":\"\"}");
    osp_buf_cleanup(&b);
}

static void test_buffer_cap(void **state)
{
    (void)state;
    osp_buf b;
    osp_buf_init(&b, 4);
    assert_int_equal(osp_otlp_response_pb(3, OSP_STR_LIT("xyz"), &b), OSP_ETOOBIG);
    osp_buf_reset(&b);
    assert_int_equal(osp_rpc_status_json(3, OSP_STR_LIT("m"), &b), OSP_ETOOBIG);
    osp_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_response_pb),
        cmocka_unit_test(test_trace_response_json),
        cmocka_unit_test(test_rpc_status),
        cmocka_unit_test(test_buffer_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
