/* Unit tests for query/traces: trace summaries from hand-built batches, their JSON form,
 * the error paths, and search summaries (read without detail) against summaries of whole
 * traces. (The HTTP side of search is covered by tests/unit/api/api.c.) */
#include "testutil.h"

#include "core/err.h"
#include "model/attr.h"
#include "query/traces.h"

static const uint8_t TID[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
                                0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};

static void add_resource(osp_span_batch *b, const char *service)
{
    osp_resource *r = osp_span_batch_add_resource(b);
    assert_non_null(r);
    r->service_name = osp_str_c(service);
}

static osp_span *add_span(osp_span_batch *b, uint8_t id, uint8_t parent, const char *name,
                          uint32_t resource, uint64_t start, uint64_t end)
{
    osp_span *s = osp_span_batch_add_span(b);
    assert_non_null(s);
    memcpy(s->trace_id, TID, 16);
    memset(s->span_id, id, 8);
    memset(s->parent_span_id, parent, 8);
    s->name = osp_str_c(name);
    s->resource = resource;
    s->start_ns = start;
    s->end_ns = end;
    return s;
}

/* gateway (root, starts second) -> agent -> llm x2 (one error); a span of an unnamed
 * service; the earliest span is an orphan child whose parent never arrived. */
static void build(osp_span_batch *b)
{
    osp_span_batch_init(b);
    add_resource(b, "gateway");
    add_resource(b, "llm");
    add_resource(b, "agent");
    add_resource(b, "llm"); /* a second resource of the same service */
    add_resource(b, "");
    add_span(b, 9, 7, "late-arrival", 2, 900, 1000);
    add_span(b, 1, 0, "POST /chat", 0, 1000, 5000);
    add_span(b, 2, 1, "invoke_agent", 2, 1100, 4900);
    add_span(b, 3, 2, "chat gpt-4o", 1, 1200, 3000)->status_code = OSP_STATUS_ERROR;
    add_span(b, 4, 2, "chat gpt-4o", 3, 3100, 6500)->status_code = OSP_STATUS_OK;
    add_span(b, 5, 2, "tool", 4, 3200, 3300)->status_code = OSP_STATUS_ERROR;
}

static void test_summarize(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_arena arena;
    osp_trace_summary s;
    build(&b);
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(osp_trace_summarize(&b, &arena, &s), 0);
    assert_memory_equal(s.trace_id, TID, 16);
    assert_true(osp_str_eqz(s.root_service, "gateway"));
    assert_true(osp_str_eqz(s.root_name, "POST /chat"));
    assert_int_equal(s.start_ns, 900);
    assert_int_equal(s.duration_ns, 5600);
    assert_int_equal(s.nspans, 6);
    assert_int_equal(s.nerrors, 2);
    assert_int_equal(s.nservices, 3);
    assert_true(osp_str_eqz(s.services[0], "agent"));
    assert_true(osp_str_eqz(s.services[1], "gateway"));
    assert_true(osp_str_eqz(s.services[2], "llm"));
    /* Copies: the summary outlives the batch. */
    assert_ptr_not_equal(s.root_name.p, b.spans[1].name.p);
    osp_span_batch_cleanup(&b);

    osp_buf out;
    osp_buf_init(&out, 0);
    assert_int_equal(osp_trace_summaries_json(&s, 1, &out), 0);
    assert_int_equal(osp_buf_putc(&out, '\0'), 0);
    assert_string_equal(out.data, "{\"traces\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\","
                                  "\"rootServiceName\":\"gateway\",\"rootSpanName\":\"POST /chat\","
                                  "\"startTimeUnixNano\":\"900\",\"durationNanos\":\"5600\","
                                  "\"spanCount\":6,\"errorCount\":2,"
                                  "\"services\":[\"agent\",\"gateway\",\"llm\"]}]}");
    osp_buf_cleanup(&out);
    osp_arena_cleanup(&arena);
}

static void test_root_fallbacks(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_arena arena;
    osp_trace_summary s;
    osp_arena_init(&arena, 0, 0);

    /* No span without a parent: the earliest span is the root. */
    osp_span_batch_init(&b);
    add_resource(&b, "");
    add_span(&b, 2, 1, "second", 0, 200, 300);
    add_span(&b, 3, 1, "first", 0, 100, 150);
    assert_int_equal(osp_trace_summarize(&b, &arena, &s), 0);
    assert_true(osp_str_eqz(s.root_name, "first"));
    assert_int_equal(s.root_service.n, 0);
    assert_int_equal(s.nservices, 0);
    assert_int_equal(s.duration_ns, 200);
    osp_span_batch_cleanup(&b);

    /* Two roots: the earlier one wins; an end before the start gives duration 0. */
    osp_span_batch_init(&b);
    add_resource(&b, "a");
    add_span(&b, 2, 0, "later-root", 0, 500, 400);
    add_span(&b, 3, 0, "early-root", 0, 450, 440);
    assert_int_equal(osp_trace_summarize(&b, &arena, &s), 0);
    assert_true(osp_str_eqz(s.root_name, "early-root"));
    assert_int_equal(s.duration_ns, 0);
    osp_span_batch_cleanup(&b);
    osp_arena_cleanup(&arena);
}

static void test_errors(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_arena arena;
    osp_trace_summary s;
    osp_arena_init(&arena, 0, 0);
    osp_span_batch_init(&b);
    assert_int_equal(osp_trace_summarize(&b, &arena, &s), OSP_ENOTFOUND);
    add_resource(&b, "a");
    add_span(&b, 1, 0, "x", 1, 1, 2); /* resource 1 does not exist */
    assert_int_equal(osp_trace_summarize(&b, &arena, &s), OSP_ECORRUPT);
    b.spans[0].resource = 0;
    osp_arena_cleanup(&arena);
    osp_arena_init(&arena, 0, 1); /* a cap too small for any copy */
    assert_int_equal(osp_trace_summarize(&b, &arena, &s), OSP_ENOMEM);
    osp_arena_cleanup(&arena);
    osp_span_batch_cleanup(&b);

    osp_buf out;
    osp_trace_summary empty = {.root_name = OSP_STR_LIT("x")};
    osp_buf_init(&out, 16);
    assert_int_equal(osp_trace_summaries_json(&empty, 1, &out), OSP_ETOOBIG);
    osp_buf_cleanup(&out);
}

static void test_json_empty_and_escaping(void **state)
{
    (void)state;
    osp_buf out;
    osp_str services[2] = {OSP_STR_LIT("a\"b"), OSP_STR_LIT("c")};
    osp_trace_summary s[2] = {
        {.root_service = OSP_STR_LIT("a\"b"),
         .root_name = OSP_STR_LIT("tab\there"),
         .start_ns = UINT64_MAX,
         .duration_ns = 1,
         .nspans = 1,
         .services = services,
         .nservices = 2},
        {.nspans = 1},
    };
    osp_buf_init(&out, 0);
    assert_int_equal(osp_trace_summaries_json(s, 0, &out), 0);
    assert_int_equal(osp_buf_putc(&out, '\0'), 0);
    assert_string_equal(out.data, "{\"traces\":[]}");
    osp_buf_reset(&out);
    assert_int_equal(osp_trace_summaries_json(s, 2, &out), 0);
    assert_int_equal(osp_buf_putc(&out, '\0'), 0);
    assert_string_equal(out.data,
                        "{\"traces\":[{\"traceId\":\"00000000000000000000000000000000\","
                        "\"rootServiceName\":\"a\\\"b\",\"rootSpanName\":\"tab\\there\","
                        "\"startTimeUnixNano\":\"18446744073709551615\",\"durationNanos\":\"1\","
                        "\"spanCount\":1,\"errorCount\":0,\"services\":[\"a\\\"b\",\"c\"]},"
                        "{\"traceId\":\"00000000000000000000000000000000\","
                        "\"rootServiceName\":\"\",\"rootSpanName\":\"\","
                        "\"startTimeUnixNano\":\"0\",\"durationNanos\":\"0\","
                        "\"spanCount\":1,\"errorCount\":0,\"services\":[]}]}");
    osp_buf_cleanup(&out);
}

/* Appends spans [lo, hi) of b to the store. */
static void append_range(osp_store *st, const osp_span_batch *b, size_t lo, size_t hi)
{
    osp_span_batch part;
    osp_span_batch_init(&part);
    for (size_t i = lo; i < hi; i++)
        assert_int_equal(osp_span_batch_copy_span(&part, b, i), 0);
    assert_int_equal(osp_store_append_spans(st, &part), 0);
    osp_span_batch_cleanup(&part);
}

static void summary_json(const osp_trace_summary *s, osp_buf *out)
{
    osp_buf_reset(out);
    assert_int_equal(osp_trace_summaries_json(s, 1, out), 0);
    assert_int_equal(osp_buf_putc(out, '\0'), 0);
}

/* Search summaries, built from spans without their detail, equal summaries of the whole
 * trace, with the trace split between parts and the memtable and one span in both. */
static void test_search_summary_without_detail(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("traces");
    osp_store_options opt = {.data_dir = dir, .fsync_policy = OSP_FSYNC_NEVER};
    osp_store *st = NULL;
    osp_span_batch b, full;
    osp_arena arena;
    osp_trace_summary *found, want;
    size_t n;
    osp_buf attrs, json;
    osp_value v = {.type = OSP_VAL_STRING, .s = OSP_STR_LIT("gpt-4o")};
    osp_buf_init(&attrs, 0);
    osp_buf_init(&json, 0);
    assert_int_equal(osp_attr_append(&attrs, OSP_STR_LIT("gen_ai.request.model"), &v), 0);
    build(&b);
    assert_non_null(osp_span_batch_add_scope(&b));
    for (size_t i = 0; i < b.nspans; i++) {
        b.spans[i].attributes = osp_buf_str(&attrs);
        b.spans[i].trace_state = OSP_STR_LIT("k=v");
        if (b.spans[i].status_code == OSP_STATUS_ERROR)
            b.spans[i].status_message = OSP_STR_LIT("timeout");
    }
    b.resources[1].attributes = osp_buf_str(&attrs);

    assert_int_equal(osp_store_open(&opt, &st), 0);
    append_range(st, &b, 0, 3);
    assert_int_equal(osp_store_flush(st), 0);
    append_range(st, &b, 2, b.nspans);
    osp_arena_init(&arena, 0, 0);
    osp_trace_query q = {.status = -1};
    assert_int_equal(osp_trace_search(st, &q, &arena, &found, &n), 0);
    assert_int_equal(n, 1);
    osp_span_batch_init(&full);
    assert_int_equal(osp_store_get_trace(st, TID, 0, &full), 0);
    assert_int_equal(full.nspans, 6);
    assert_non_null(full.spans[0].attributes.p);
    assert_int_equal(osp_trace_summarize(&full, &arena, &want), 0);
    summary_json(&want, &json);
    char *expect = strdup(json.data);
    summary_json(&found[0], &json);
    assert_string_equal(json.data, expect);
    assert_true(osp_str_eqz(found[0].root_name, "POST /chat"));
    assert_int_equal(found[0].nspans, 6);
    assert_int_equal(found[0].nerrors, 2);
    assert_int_equal(found[0].nservices, 3);
    free(expect);
    osp_span_batch_cleanup(&full);
    osp_arena_cleanup(&arena);
    osp_store_close(st);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&attrs);
    osp_buf_cleanup(&json);
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summarize),
        cmocka_unit_test(test_root_fallbacks),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_json_empty_and_escaping),
        cmocka_unit_test(test_search_summary_without_detail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
