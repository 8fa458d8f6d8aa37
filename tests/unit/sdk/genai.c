/* Tests for sdk/src/genai.c: the LLM call span, its attributes and event, the opt-in message
 * content and its cut, the error path, and the gen_ai.client.* histograms. */
#include "testutil.h"

#include "capture.h"
#include "genai_int.h"
#include "metrics_int.h"
#include "osprey/osprey.h"

static int setup_with(void **state, bool content)
{
    *state = fixture_new(content, "genai-test", "1.0");
    return 0;
}

static int setup_content(void **state)
{
    return setup_with(state, true);
}

static int setup_no_content(void **state)
{
    return setup_with(state, false);
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

/* A request for model gpt-4o at api.example.com, content in (may be NULL). */
static osprey_llm_request request(const char *content)
{
    return (osprey_llm_request){.provider = "openai",
                                .request_model = "gpt-4o",
                                .conversation_id = "conv-1",
                                .user_id = "user-9",
                                .server_address = "api.example.com",
                                .server_port = 443,
                                .streaming = true,
                                .max_tokens = 256,
                                .temperature = 0.5,
                                .input_messages = content};
}

/* The aggregate of histogram name on m whose attribute key has value (NULL: the only
 * aggregate). Aggregates live as long as the provider. */
static const osprey__agg *agg_of(osprey_meter *m, const char *name, const char *key,
                                 const char *value)
{
    osprey_instrument *inst = genai_histogram(m, name);
    assert_non_null(inst);
    assert_int_equal(inst->kind, OSPREY__INST_HISTOGRAM);
    pthread_mutex_lock(&inst->lock);
    const osprey__agg *found = NULL;
    for (size_t i = 0; i < inst->naggs; i++) {
        const osprey__kv *kv = key ? osprey__attrs_find(&inst->aggs[i]->attrs, key) : NULL;
        if (!key || (kv && strcmp(kv->v.s, value) == 0)) {
            assert_null(found);
            found = inst->aggs[i];
        }
    }
    pthread_mutex_unlock(&inst->lock);
    assert_non_null(found);
    return found;
}

/* Checks the common metric attribute set of a GenAI histogram point. */
static void check_metric_attrs(const osprey__attrs *a, const char *response_model)
{
    assert_string_equal(attr_str(a, "gen_ai.operation.name"), "chat");
    assert_string_equal(attr_str(a, "gen_ai.provider.name"), "openai");
    assert_string_equal(attr_str(a, "gen_ai.request.model"), "gpt-4o");
    assert_string_equal(attr_str(a, "server.address"), "api.example.com");
    assert_int_equal(attr_int(a, "server.port"), 443);
    if (response_model)
        assert_string_equal(attr_str(a, "gen_ai.response.model"), response_model);
    else
        assert_null(osprey__attrs_find(a, "gen_ai.response.model"));
}

static void test_streamed_call(void **state)
{
    fixture *f = *state;
    osprey_span parent = osprey_span_start(f->t, "handler", NULL);
    osprey_scope s = osprey_span_attach(&parent);
    osprey_llm_request req = request("[{\"role\":\"user\",\"parts\":[]}]");
    uint64_t before = osprey_now_ns();
    osprey_llm_call *c = osprey_llm_begin(f->t, f->m, &req);
    osprey_detach(s);
    assert_non_null(c);
    const osprey_span_context *ctx = osprey_llm_context(c);
    assert_true(osprey_span_context_valid(ctx));
    assert_memory_equal(ctx->trace_id, parent.context.trace_id, 16);
    osprey_llm_chunk(c);
    osprey_llm_first_token(c); /* ignored: the first chunk marked it */
    osprey_llm_chunk(c);
    osprey_llm_chunk(c);
    const char *reasons[] = {"stop", "length"};
    osprey_llm_response resp = {.response_model = "gpt-4o-2024-08-06",
                                .response_id = "chatcmpl-1",
                                .finish_reasons = reasons,
                                .nfinish_reasons = 2,
                                .input_tokens = 100,
                                .output_tokens = 50,
                                .cache_read_tokens = 20,
                                .cache_creation_tokens = 10,
                                .output_messages = "[{\"role\":\"assistant\"}]"};
    osprey_llm_end(c, &resp);
    uint64_t after = osprey_now_ns();
    osprey_span_end(&parent, 0);
    flush_spans(f);

    struct osprey_span_data *d = capture_span(&f->spans, "chat gpt-4o");
    struct osprey_span_data *pd = capture_span(&f->spans, "handler");
    assert_int_equal(d->kind, OSPREY_SPAN_CLIENT);
    assert_memory_equal(d->parent_span_id, pd->span_id, 8);
    assert_memory_equal(d->trace_id, pd->trace_id, 16);
    assert_true(d->start_ns >= before && d->end_ns <= after && d->start_ns <= d->end_ns);
    const osprey__attrs *a = &d->attrs;
    assert_string_equal(attr_str(a, "gen_ai.operation.name"), "chat");
    assert_string_equal(attr_str(a, "gen_ai.provider.name"), "openai");
    assert_string_equal(attr_str(a, "gen_ai.request.model"), "gpt-4o");
    assert_string_equal(attr_str(a, "gen_ai.conversation.id"), "conv-1");
    assert_string_equal(attr_str(a, "user.id"), "user-9");
    assert_string_equal(attr_str(a, "server.address"), "api.example.com");
    assert_int_equal(attr_int(a, "server.port"), 443);
    assert_true(attr_bool(a, "gen_ai.request.stream"));
    assert_int_equal(attr_int(a, "gen_ai.request.max_tokens"), 256);
    assert_true(attr_double(a, "gen_ai.request.temperature") == 0.5);
    assert_string_equal(attr_str(a, "gen_ai.input.messages"), req.input_messages);
    assert_string_equal(attr_str(a, "gen_ai.output.messages"), resp.output_messages);
    assert_string_equal(attr_str(a, "gen_ai.response.model"), "gpt-4o-2024-08-06");
    assert_string_equal(attr_str(a, "gen_ai.response.id"), "chatcmpl-1");
    const osprey__kv *fr = osprey__attrs_find(a, "gen_ai.response.finish_reasons");
    assert_non_null(fr);
    assert_int_equal(fr->type, OSPREY_VALUE_STRING_ARRAY);
    assert_int_equal(fr->v.array.n, 2);
    assert_string_equal(((char **)fr->v.array.items)[0], "stop");
    assert_string_equal(((char **)fr->v.array.items)[1], "length");
    assert_int_equal(attr_int(a, "gen_ai.usage.input_tokens"), 100);
    assert_int_equal(attr_int(a, "gen_ai.usage.output_tokens"), 50);
    assert_int_equal(attr_int(a, "gen_ai.usage.cache_read.input_tokens"), 20);
    assert_int_equal(attr_int(a, "gen_ai.usage.cache_creation.input_tokens"), 10);
    assert_null(osprey__attrs_find(a, "error.type"));
    assert_int_equal(d->status, OSPREY_STATUS_UNSET);

    assert_int_equal(d->nevents, 1);
    assert_string_equal(d->events[0].name, "gen_ai.first_token");
    uint64_t first = d->events[0].time_ns;
    assert_true(first >= d->start_ns && first <= d->end_ns);
    double ttfc = attr_double(a, "gen_ai.response.time_to_first_chunk");
    assert_true(ttfc == (double)(first - d->start_ns) / 1e9);

    const osprey__agg *g;
    g = agg_of(f->m, "gen_ai.client.token.usage", "gen_ai.token.type", "input");
    assert_int_equal(g->count, 1);
    assert_true(g->sum == 100);
    check_metric_attrs(&g->attrs, "gpt-4o-2024-08-06");
    g = agg_of(f->m, "gen_ai.client.token.usage", "gen_ai.token.type", "output");
    assert_int_equal(g->count, 1);
    assert_true(g->sum == 50);
    g = agg_of(f->m, "gen_ai.client.operation.duration", NULL, NULL);
    assert_int_equal(g->count, 1);
    assert_true(g->sum == (double)(d->end_ns - d->start_ns) / 1e9);
    check_metric_attrs(&g->attrs, "gpt-4o-2024-08-06");
    assert_null(osprey__attrs_find(&g->attrs, "error.type"));
    g = agg_of(f->m, "gen_ai.client.operation.time_to_first_chunk", NULL, NULL);
    assert_int_equal(g->count, 1);
    assert_true(g->sum == ttfc);
    check_metric_attrs(&g->attrs, NULL);
    g = agg_of(f->m, "gen_ai.client.operation.time_per_output_chunk", NULL, NULL);
    assert_int_equal(g->count, 2); /* one per chunk after the first */
    assert_true(g->sum >= 0 && g->sum <= (double)(d->end_ns - first) / 1e9);
}

static void test_buckets(void **state)
{
    fixture *f = *state;
    osprey_llm_end(osprey_llm_begin(f->t, f->m, NULL), NULL);
    osprey_instrument *dur = genai_histogram(f->m, "gen_ai.client.operation.duration");
    osprey_instrument *tok = genai_histogram(f->m, "gen_ai.client.token.usage");
    assert_string_equal(dur->unit, "s");
    assert_string_equal(tok->unit, "{token}");
    assert_int_equal(dur->nbounds, 14);
    assert_int_equal(tok->nbounds, 14);
    for (size_t i = 0; i < 14; i++) {
        assert_true(dur->bounds[i] == 0.01 * (double)(1u << i));
        assert_true(tok->bounds[i] == (double)(1ull << (2 * i)));
    }
    flush_spans(f);
    struct osprey_span_data *d = capture_span(&f->spans, "chat");
    assert_string_equal(attr_str(&d->attrs, "gen_ai.operation.name"), "chat");
    assert_null(osprey__attrs_find(&d->attrs, "gen_ai.request.stream"));
    assert_null(osprey__attrs_find(&d->attrs, "gen_ai.request.temperature"));
    assert_null(osprey__attrs_find(&d->attrs, "gen_ai.usage.input_tokens"));
}

static void test_content_not_captured_without_opt_in(void **state)
{
    fixture *f = *state;
    osprey_llm_request req = request("[\"secret prompt\"]");
    osprey_llm_call *c = osprey_llm_begin(f->t, f->m, &req);
    osprey_llm_response resp = {.input_tokens = -1,
                                .output_tokens = -1,
                                .cache_read_tokens = -1,
                                .cache_creation_tokens = -1,
                                .output_messages = "[\"secret answer\"]"};
    osprey_llm_end(c, &resp);
    flush_spans(f);
    struct osprey_span_data *d = capture_span(&f->spans, "chat gpt-4o");
    assert_null(osprey__attrs_find(&d->attrs, "gen_ai.input.messages"));
    assert_null(osprey__attrs_find(&d->attrs, "gen_ai.output.messages"));
    assert_null(osprey__attrs_find(&d->attrs, "gen_ai.usage.input_tokens"));
    assert_null(osprey__attrs_find(&d->attrs, "gen_ai.response.time_to_first_chunk"));
    assert_int_equal(d->nevents, 0);
}

static void test_content_cut_at_utf8_boundary(void **state)
{
    fixture *f = *state;
    size_t max = OSPREY_GENAI_CONTENT_MAX;
    char *in = malloc(max + 64), *out = malloc(max + 1);
    memset(in, 'a', max + 63);
    in[max + 63] = '\0';
    memcpy(in + max - 1, "\xc3\xa9", 2); /* é straddles the cap */
    memset(out, 'b', max);
    out[max] = '\0'; /* exactly the cap: kept whole */
    osprey_llm_request req = request(in);
    req.operation = "text_completion";
    osprey_llm_call *c = osprey_llm_begin(f->t, NULL, &req);
    osprey_llm_end(c, &(osprey_llm_response){.output_messages = out,
                                             .input_tokens = -1,
                                             .output_tokens = -1,
                                             .cache_read_tokens = -1,
                                             .cache_creation_tokens = -1});
    flush_spans(f);
    struct osprey_span_data *d = capture_span(&f->spans, "text_completion gpt-4o");
    const char *got = attr_str(&d->attrs, "gen_ai.input.messages");
    assert_int_equal(strlen(got), max - 1);
    assert_memory_equal(got, in, max - 1);
    assert_string_equal(attr_str(&d->attrs, "gen_ai.output.messages"), out);
    free(in);
    free(out);
}

static void test_error_path(void **state)
{
    fixture *f = *state;
    osprey_llm_request req = request(NULL);
    osprey_llm_call *c = osprey_llm_begin(f->t, f->m, &req);
    osprey_llm_response resp = {.input_tokens = -1,
                                .output_tokens = -1,
                                .cache_read_tokens = -1,
                                .cache_creation_tokens = -1,
                                .error_type = "timeout",
                                .error_message = "deadline exceeded"};
    osprey_llm_end(c, &resp);
    flush_spans(f);
    struct osprey_span_data *d = capture_span(&f->spans, "chat gpt-4o");
    assert_string_equal(attr_str(&d->attrs, "error.type"), "timeout");
    assert_int_equal(d->status, OSPREY_STATUS_ERROR);
    assert_string_equal(d->status_message, "deadline exceeded");
    const osprey__agg *g;
    g = agg_of(f->m, "gen_ai.client.operation.duration", NULL, NULL);
    assert_int_equal(g->count, 1);
    assert_string_equal(attr_str(&g->attrs, "error.type"), "timeout");
    check_metric_attrs(&g->attrs, NULL);
}

static void test_chunk_times_and_null(void **state)
{
    fixture *f = *state;
    osprey_llm_request req = request(NULL);
    osprey_llm_call *c = osprey_llm_begin(f->t, f->m, &req);
    uint64_t t0 = osprey_now_ns() + 1000000000u;
    osprey__llm_chunk_at(c, t0);
    osprey__llm_chunk_at(c, t0 + 500000000u);  /* 0.5 s: the 0.64 bucket */
    osprey__llm_chunk_at(c, t0 + 2000000000u); /* 1.5 s: the 2.56 bucket */
    osprey_llm_end(c, NULL);
    flush_spans(f);
    struct osprey_span_data *d = capture_span(&f->spans, "chat gpt-4o");
    assert_int_equal(d->events[0].time_ns, t0);
    assert_true(attr_double(&d->attrs, "gen_ai.response.time_to_first_chunk") ==
                (double)(t0 - d->start_ns) / 1e9);
    const osprey__agg *g =
        agg_of(f->m, "gen_ai.client.operation.time_per_output_chunk", NULL, NULL);
    assert_int_equal(g->count, 2);
    assert_true(g->sum == 2.0);
    for (size_t i = 0; i <= 14; i++)
        assert_int_equal(g->buckets[i], i == 6 || i == 8);

    osp_mem_fail_after(1);
    assert_null(osprey_llm_begin(f->t, f->m, &req));
    osp_mem_fail_after(0);
    osprey_llm_chunk(NULL);
    osprey_llm_first_token(NULL);
    osprey_llm_end(NULL, NULL);
    assert_null(osprey_llm_context(NULL));
    osprey_llm_end(osprey_llm_begin(NULL, NULL, NULL), NULL); /* no tracer: no span */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_streamed_call, setup_content, teardown),
        cmocka_unit_test_setup_teardown(test_buckets, setup_content, teardown),
        cmocka_unit_test_setup_teardown(test_content_not_captured_without_opt_in, setup_no_content,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_content_cut_at_utf8_boundary, setup_content, teardown),
        cmocka_unit_test_setup_teardown(test_error_path, setup_no_content, teardown),
        cmocka_unit_test_setup_teardown(test_chunk_times_and_null, setup_no_content, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
