/* Unit tests for analytics/server_ttft: which exemplar gives a call its TTFT (its own span,
 * else one within its time, never one longer than the call or of another trace), and how
 * a call record takes it (LLM calls without a TTFT only; TPOT for streamed ones). */
#include "testutil.h"

#include "analytics/server_ttft.h"

#define MS 1000000ull
#define T0 (1767225600000ull * MS)

static osp_server_ttft ex(uint8_t trace, uint8_t span, int64_t at_ms, int64_t ttft_ms)
{
    osp_server_ttft x = {.t_ms = (int64_t)(T0 / MS) + at_ms, .ttft_ns = ttft_ms * (int64_t)MS};
    memset(x.trace_id, trace, sizeof x.trace_id);
    memset(x.span_id, span, sizeof x.span_id);
    return x;
}

static void test_find(void **state)
{
    (void)state;
    /* sorted by trace id, as osp_server_ttft_load gives them */
    osp_server_ttft x[] = {ex(1, 0xa, 150, 40), ex(2, 0xb, 5500, 300), ex(2, 0xc, 900, 200),
                           ex(2, 0xd, 1200, 5000), ex(3, 0xe, 100, 10)};
    osp_server_ttfts t = {x, sizeof x / sizeof x[0]};
    uint8_t trace[16], span[8];
    memset(trace, 2, sizeof trace);
    /* its own span id wins over one within its time */
    memset(span, 0xb, sizeof span);
    assert_int_equal(osp_server_ttft_find(&t, trace, span, T0 + 500 * MS, T0 + 6000 * MS),
                     300 * (int64_t)MS);
    /* a child span's exemplar within the call: the first within it that fits */
    memset(span, 0x1, sizeof span);
    assert_int_equal(osp_server_ttft_find(&t, trace, span, T0 + 800 * MS, T0 + 1500 * MS),
                     200 * (int64_t)MS);
    /* 5 s is longer than this call; nothing else within it */
    assert_int_equal(osp_server_ttft_find(&t, trace, span, T0 + 1100 * MS, T0 + 1500 * MS), -1);
    /* outside every exemplar's time */
    assert_int_equal(osp_server_ttft_find(&t, trace, span, T0 + 7000 * MS, T0 + 9000 * MS), -1);
    /* another trace's exemplars never match */
    memset(trace, 4, sizeof trace);
    assert_int_equal(osp_server_ttft_find(&t, trace, span, T0, T0 + 9000 * MS), -1);
    memset(trace, 1, sizeof trace);
    assert_int_equal(osp_server_ttft_find(&t, trace, span, T0 + 100 * MS, T0 + 200 * MS),
                     40 * (int64_t)MS);
    osp_server_ttfts none = {NULL, 0};
    assert_int_equal(osp_server_ttft_find(&none, trace, span, T0, T0 + 9000 * MS), -1);
}

static void test_set_on_call(void **state)
{
    (void)state;
    osp_aicall a = {.type = OSP_GENAI_LLM,
                    .start_ns = T0,
                    .end_ns = T0 + 1000 * MS,
                    .output_tokens = 11,
                    .ttft_ns = -1,
                    .tpot_ns = -1,
                    .streaming = 1};
    osp_aicall b = a;
    osp_aicall_set_server_ttft(&a, 200 * (int64_t)MS);
    assert_int_equal(a.ttft_ns, 200 * (int64_t)MS);
    assert_int_equal(a.tpot_ns, 80 * (int64_t)MS);     /* (1000 - 200) / (11 - 1) */
    osp_aicall_set_server_ttft(&a, 300 * (int64_t)MS); /* a TTFT already there stays */
    assert_int_equal(a.ttft_ns, 200 * (int64_t)MS);
    /* not streamed: a TTFT but no TPOT; longer than the call or unknown: nothing */
    b.streaming = -1;
    osp_aicall c = b;
    osp_aicall_set_server_ttft(&b, 200 * (int64_t)MS);
    assert_int_equal(b.ttft_ns, 200 * (int64_t)MS);
    assert_int_equal(b.tpot_ns, -1);
    osp_aicall d = c;
    osp_aicall_set_server_ttft(&c, 2000 * (int64_t)MS);
    osp_aicall_set_server_ttft(&d, -1);
    assert_int_equal(c.ttft_ns, -1);
    assert_int_equal(d.ttft_ns, -1);
    /* only LLM calls */
    d.type = OSP_GENAI_TOOL;
    osp_aicall_set_server_ttft(&d, 200 * (int64_t)MS);
    assert_int_equal(d.ttft_ns, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_set_on_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
