/* Tests of AI call records (model/aicall.c): which spans get one, what they keep, text
 * cuts and the largest gap between chunk events. */
#include "testutil.h"

#include "../analytics/derivetest.h"
#include "core/buf.h"
#include "core/err.h"
#include "model/aicall.h"

static void test_cut(void **state)
{
    (void)state;
    osp_str s = osp_str_c("ab\xc3\xa9z"); /* a, b, e-acute (2 bytes), z */
    assert_int_equal(osp_aicall_cut(s, 10).n, 5);
    assert_int_equal(osp_aicall_cut(s, 4).n, 4);
    assert_int_equal(osp_aicall_cut(s, 3).n, 2); /* not half of the e-acute */
    assert_int_equal(osp_aicall_cut(s, 0).n, 0);
}

static void add_event(osp_buf *events, const char *name, uint64_t t)
{
    osp_event ev = {.time_ns = t, .name = osp_str_c(name), .attributes = osp_str_make("", 0)};
    assert_int_equal(osp_events_append(events, &ev), 0);
}

static void test_max_chunk_gap(void **state)
{
    (void)state;
    osp_buf events;
    osp_span s = osp_test_span(1, 1, 0, 3, 0, 1000, 100000, "chat");
    osp_buf_init(&events, 0);
    add_event(&events, "gen_ai.content.chunk", 1000);
    s.events = osp_buf_str(&events);
    assert_int_equal(osp_aicall_max_chunk_gap(&s), -1); /* one chunk: no gap */
    add_event(&events, "exception", 90000);             /* not a chunk */
    add_event(&events, "First_Token", 4000);
    add_event(&events, "Chunk", 9000);
    add_event(&events, "llm.token", 9500);
    s.events = osp_buf_str(&events);
    assert_int_equal(osp_aicall_max_chunk_gap(&s), 5000);
    osp_buf_cleanup(&events);
}

/* An LLM span with its own session id, under a resource; and a plain span. */
static void test_records(void **state)
{
    (void)state;
    osp_buf attrs;
    osp_arena arena;
    osp_genai g;
    osp_aicall_batch b;
    osp_resource res = {.service_name = osp_str_c("chat-api")};
    osp_buf_init(&attrs, 0);
    osp_arena_init(&arena, 0, 0);
    osp_aicall_batch_init(&b);
    osp_test_attr(&attrs, "gen_ai.operation.name", "chat");
    osp_test_attr(&attrs, "gen_ai.provider.name", "openai");
    osp_test_attr(&attrs, "gen_ai.request.model", "gpt-4o");
    osp_test_attr(&attrs, "session.id", "s-9");
    osp_span s = osp_test_span(2, 3, 1, 3, 2, 5000, 7000, "chat gpt-4o");
    s.attributes = osp_buf_str(&attrs);
    assert_int_equal(osp_genai_normalize(&s, &res, &arena, &g), 0);
    assert_true(osp_aicall_wanted(&g));
    assert_int_equal(osp_aicall_add(&b, &s, &res, &g), 0);
    osp_genai inherited = g;
    inherited.src[OSP_GF_SESSION].status = OSP_GS_INHERITED;
    assert_int_equal(osp_aicall_add(&b, &s, &res, &inherited), 0);
    assert_int_equal(b.n, 2);
    const osp_aicall *a = &b.calls[0];
    assert_int_equal(a->type, OSP_GENAI_LLM);
    assert_true(osp_str_eqz(a->service, "chat-api") && osp_str_eqz(a->session_id, "s-9"));
    assert_true(osp_str_eqz(a->request_model, "gpt-4o") && osp_str_eqz(a->name, "chat gpt-4o"));
    assert_int_equal(a->start_ns, 5000);
    assert_int_equal(a->end_ns, 12000);
    assert_int_equal(a->is_error, 1);
    assert_int_equal(a->parent_span_id[0], 1);
    assert_int_equal(b.calls[1].session_id.n, 0); /* only a span's own ids are kept */

    osp_buf_reset(&attrs);
    osp_test_attr(&attrs, "http.route", "/");
    s.attributes = osp_buf_str(&attrs);
    assert_int_equal(osp_genai_normalize(&s, &res, &arena, &g), 0);
    assert_false(osp_aicall_wanted(&g));
    osp_test_attr(&attrs, "session.id", "s-root"); /* a plain span with a session */
    s.attributes = osp_buf_str(&attrs);
    assert_int_equal(osp_genai_normalize(&s, &res, &arena, &g), 0);
    assert_true(osp_aicall_wanted(&g));
    assert_int_equal(osp_aicall_add(&b, &s, &res, &g), 0);
    assert_int_equal(b.calls[2].type, OSP_GENAI_NONE);
    assert_true(osp_str_eqz(b.calls[2].session_id, "s-root"));

    osp_aicall c = {.input_tokens = 100, .cache_read_tokens = 30, .cache_write_tokens = -1};
    assert_int_equal(osp_aicall_uncached_input(&c), 70);
    c.cache_read_tokens = 300;
    assert_int_equal(osp_aicall_uncached_input(&c), 0);
    osp_aicall_batch_cleanup(&b);
    osp_arena_cleanup(&arena);
    osp_buf_cleanup(&attrs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_max_chunk_gap),
        cmocka_unit_test(test_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
