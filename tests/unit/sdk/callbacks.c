/* Tests for sdk/src/callbacks.c: handler registry and dispatch (each handler's own run
 * state, stream variants, errors, reset) and the tracing handler's nested GenAI spans. */
#include "testutil.h"

#include "capture.h"
#include "metrics_int.h"
#include "osprey/osprey.h"

static int setup(void **state)
{
    *state = fixture_new(false, "agent-test", NULL);
    osprey_callbacks_reset();
    return 0;
}

static int teardown(void **state)
{
    osprey_callbacks_reset();
    fixture_free(*state);
    return 0;
}

/* ---- Dispatch ------------------------------------------------------------------------------ */

/* Calls seen by every recorder, in order: "A+", "B~+" (stream start), "A-", "B~-" (stream
 * end), "A!" (error). */
static char g_calls[256];

/* A handler's self: what it was called with. */
typedef struct recorder {
    char tag;
    int states[4]; /* run states handed out, by run */
    int nstarted;
    void *ended;          /* the run state the last end or error brought back */
    const void *in, *out; /* the last input / output (payload or stream) */
    char error[32];
} recorder;

static void note(const recorder *r, const char *what)
{
    size_t n = strlen(g_calls);
    snprintf(g_calls + n, sizeof g_calls - n, "%c%s ", r->tag, what);
}

static void *rec_start(void *self, const osprey_run_info *info, const osprey_cb_payload *in)
{
    recorder *r = self;
    assert_string_equal(info->name, "comp");
    note(r, "+");
    r->in = in;
    return &r->states[r->nstarted++];
}

static void *rec_start_stream(void *self, const osprey_run_info *info, const osprey_cb_stream *in)
{
    recorder *r = self;
    note(r, "~+");
    r->in = in;
    return &r->states[r->nstarted++];
}

static void rec_end(void *self, void *run, const osprey_run_info *info,
                    const osprey_cb_payload *out)
{
    recorder *r = self;
    assert_int_equal(info->component, OSPREY_COMPONENT_TOOL);
    note(r, "-");
    r->ended = run;
    r->out = out;
}

static void rec_end_stream(void *self, void *run, const osprey_run_info *info,
                           const osprey_cb_stream *out)
{
    recorder *r = self;
    note(r, "~-");
    r->ended = run;
    r->out = out;
}

static void rec_error(void *self, void *run, const osprey_run_info *info, const char *error)
{
    recorder *r = self;
    note(r, "!");
    r->ended = run;
    snprintf(r->error, sizeof r->error, "%s", error);
}

static osprey_callback_handler recording(recorder *r)
{
    return (osprey_callback_handler){.self = r,
                                     .on_start = rec_start,
                                     .on_end = rec_end,
                                     .on_error = rec_error,
                                     .on_start_with_stream_input = rec_start_stream,
                                     .on_end_with_stream_output = rec_end_stream};
}

static void test_dispatch_own_state(void **state)
{
    recorder a = {.tag = 'A'}, b = {.tag = 'B'};
    osprey_callback_handler ha = recording(&a), hb = recording(&b);
    hb.on_end = NULL; /* skipped */
    osprey_callback_handler empty = {0};
    assert_int_equal(osprey_callbacks_register(&ha), 0);
    assert_int_equal(osprey_callbacks_register(&empty), 0);
    assert_int_equal(osprey_callbacks_register(&hb), 0);
    g_calls[0] = '\0';

    osprey_run_info info = {.component = OSPREY_COMPONENT_TOOL, .name = "comp"};
    osprey_cb_payload in = {.content = "{}"}, out = {.content = "42"};
    osprey_run *r = osprey_run_start(&info, &in, NULL);
    assert_non_null(r);
    osprey_run_end(r, &out, NULL);
    assert_string_equal(g_calls, "A+ B+ A- ");
    assert_ptr_equal(a.in, &in);
    assert_ptr_equal(b.in, &in);
    assert_ptr_equal(a.ended, &a.states[0]);
    assert_ptr_equal(a.out, &out);
    assert_null(b.ended);

    g_calls[0] = '\0';
    osprey_cb_chunk chunks[] = {{"a", 1}, {"b", 2}};
    osprey_cb_stream sin = {.chunks = chunks, .n = 2}, sout = {.chunks = chunks, .n = 1};
    r = osprey_run_start(&info, NULL, &sin);
    osprey_run_end(r, NULL, &sout);
    assert_string_equal(g_calls, "A~+ B~+ B~- A~- "); /* ends in reverse order */
    assert_ptr_equal(a.in, &sin);
    assert_ptr_equal(a.out, &sout);
    assert_ptr_equal(a.ended, &a.states[1]);
    assert_ptr_equal(b.ended, &b.states[1]);

    g_calls[0] = '\0';
    r = osprey_run_start(&info, &in, NULL);
    osprey_run_error(r, "boom");
    assert_string_equal(g_calls, "A+ B+ B! A! ");
    assert_ptr_equal(a.ended, &a.states[2]);
    assert_ptr_equal(b.ended, &b.states[2]);
    assert_string_equal(a.error, "boom");
    assert_string_equal(b.error, "boom");

    osp_mem_fail_after(1);
    assert_null(osprey_run_start(&info, &in, NULL));
    osp_mem_fail_after(0);
    osprey_run_end(NULL, NULL, NULL);
    osprey_run_error(NULL, "x");
    assert_null(osprey_run_start(NULL, NULL, NULL));
}

/* A handler that counts its starts and ends in *self. */
static void *count_start(void *self, const osprey_run_info *info, const osprey_cb_payload *in)
{
    (*(int *)self)++;
    return NULL;
}

static void count_end(void *self, void *run, const osprey_run_info *info,
                      const osprey_cb_payload *out)
{
    (*(int *)self)++;
}

static void test_registry_full_and_reset(void **state)
{
    int calls = 0;
    osprey_callback_handler h = {.self = &calls, .on_start = count_start, .on_end = count_end};
    for (int i = 0; i < 16; i++)
        assert_int_equal(osprey_callbacks_register(&h), 0);
    assert_int_equal(osprey_callbacks_register(&h), OSPREY_EFULL);
    assert_int_equal(osprey_callbacks_register(NULL), OSPREY_EINVAL);

    osprey_run_info info = {.component = OSPREY_COMPONENT_TOOL, .name = "comp"};
    osprey_run *r = osprey_run_start(&info, NULL, NULL);
    assert_int_equal(calls, 16);
    osprey_callbacks_reset(); /* a run started before still reaches its handlers */
    osprey_run_end(r, NULL, NULL);
    assert_int_equal(calls, 32);

    osprey_run_end(osprey_run_start(&info, NULL, NULL), NULL, NULL);
    assert_int_equal(calls, 32);
    assert_int_equal(osprey_callbacks_register(&h), 0);
    osprey_run_end(osprey_run_start(&info, NULL, NULL), NULL, NULL);
    assert_int_equal(calls, 34);
}

/* ---- The tracing handler ------------------------------------------------------------------ */

static void assert_child_of(const struct osprey_span_data *child,
                            const struct osprey_span_data *parent)
{
    assert_memory_equal(child->trace_id, parent->trace_id, 16);
    assert_memory_equal(child->parent_span_id, parent->span_id, 8);
}

/* workflow "wf" > agent "planner" > chat model "gpt-4o" (streamed) > tool "search"; then
 * retriever "docs" under the agent. */
static void run_nested(uint64_t t0)
{
    osprey_run *wf = osprey_run_start(
        &(osprey_run_info){.component = OSPREY_COMPONENT_WORKFLOW, .name = "wf"}, NULL, NULL);
    osprey_run *agent = osprey_run_start(
        &(osprey_run_info){.component = OSPREY_COMPONENT_AGENT, .name = "planner"},
        &(osprey_cb_payload){.conversation_id = "conv-7", .input_tokens = -1, .output_tokens = -1},
        NULL);
    osprey_run *chat = osprey_run_start(
        &(osprey_run_info){
            .component = OSPREY_COMPONENT_CHAT_MODEL, .name = "gpt-4o", .type = "openai"},
        &(osprey_cb_payload){.content = "[]", .input_tokens = -1, .output_tokens = -1}, NULL);
    osprey_run *tool = osprey_run_start(
        &(osprey_run_info){.component = OSPREY_COMPONENT_TOOL, .name = "search"},
        &(osprey_cb_payload){.tool_call_id = "call-1", .input_tokens = -1, .output_tokens = -1},
        NULL);
    osprey_run_end(tool, &(osprey_cb_payload){.content = "result"}, NULL);
    osprey_cb_chunk chunks[] = {{"Hel", t0}, {"lo", t0 + 250000000u}, {"!", t0 + 750000000u}};
    osprey_cb_payload summary = {.input_tokens = 12, .output_tokens = 34, .finish_reason = "stop"};
    osprey_run_end(chat, NULL, &(osprey_cb_stream){.chunks = chunks, .n = 3, .summary = &summary});
    osprey_run *ret = osprey_run_start(
        &(osprey_run_info){.component = OSPREY_COMPONENT_RETRIEVER, .name = "docs"}, NULL, NULL);
    osprey_run_end(ret, NULL, NULL);
    osprey_run_end(agent, NULL, NULL);
    osprey_run_end(wf, NULL, NULL);
}

static void test_tracing_nested(void **state)
{
    fixture *f = *state;
    osprey_callback_handler h = osprey_tracing_handler(f->t, f->m);
    assert_int_equal(osprey_callbacks_register(&h), 0);
    uint64_t t0 = osprey_now_ns() + 1000000;
    run_nested(t0);
    osprey_span_context cur;
    assert_false(osprey_current_context(&cur)); /* every run detached */
    flush_spans(f);
    assert_int_equal(f->spans.n, 5);

    struct osprey_span_data *wf = capture_span(&f->spans, "invoke_workflow wf");
    struct osprey_span_data *agent = capture_span(&f->spans, "invoke_agent planner");
    struct osprey_span_data *chat = capture_span(&f->spans, "chat gpt-4o");
    struct osprey_span_data *tool = capture_span(&f->spans, "execute_tool search");
    struct osprey_span_data *ret = capture_span(&f->spans, "retrieval docs");
    static const uint8_t zero[8];
    assert_memory_equal(wf->parent_span_id, zero, 8);
    assert_child_of(agent, wf);
    assert_child_of(chat, agent);
    assert_child_of(tool, chat);
    assert_child_of(ret, agent);

    assert_int_equal(wf->kind, OSPREY_SPAN_INTERNAL);
    assert_string_equal(attr_str(&wf->attrs, "gen_ai.operation.name"), "invoke_workflow");
    assert_string_equal(attr_str(&wf->attrs, "gen_ai.workflow.name"), "wf");
    assert_int_equal(agent->kind, OSPREY_SPAN_INTERNAL);
    assert_string_equal(attr_str(&agent->attrs, "gen_ai.operation.name"), "invoke_agent");
    assert_string_equal(attr_str(&agent->attrs, "gen_ai.agent.name"), "planner");
    assert_string_equal(attr_str(&agent->attrs, "gen_ai.conversation.id"), "conv-7");
    assert_int_equal(tool->kind, OSPREY_SPAN_INTERNAL);
    assert_string_equal(attr_str(&tool->attrs, "gen_ai.operation.name"), "execute_tool");
    assert_string_equal(attr_str(&tool->attrs, "gen_ai.tool.name"), "search");
    assert_string_equal(attr_str(&tool->attrs, "gen_ai.tool.type"), "function");
    assert_string_equal(attr_str(&tool->attrs, "gen_ai.tool.call.id"), "call-1");
    assert_int_equal(ret->kind, OSPREY_SPAN_CLIENT);
    assert_string_equal(attr_str(&ret->attrs, "gen_ai.operation.name"), "retrieval");
    assert_string_equal(attr_str(&ret->attrs, "gen_ai.data_source.id"), "docs");

    assert_int_equal(chat->kind, OSPREY_SPAN_CLIENT);
    assert_string_equal(attr_str(&chat->attrs, "gen_ai.operation.name"), "chat");
    assert_string_equal(attr_str(&chat->attrs, "gen_ai.provider.name"), "openai");
    assert_string_equal(attr_str(&chat->attrs, "gen_ai.request.model"), "gpt-4o");
    assert_true(attr_bool(&chat->attrs, "gen_ai.request.stream"));
    assert_int_equal(attr_int(&chat->attrs, "gen_ai.usage.input_tokens"), 12);
    assert_int_equal(attr_int(&chat->attrs, "gen_ai.usage.output_tokens"), 34);
    const osprey__kv *fr = osprey__attrs_find(&chat->attrs, "gen_ai.response.finish_reasons");
    assert_non_null(fr);
    assert_int_equal(fr->v.array.n, 1);
    assert_string_equal(((char **)fr->v.array.items)[0], "stop");
    assert_null(osprey__attrs_find(&chat->attrs, "gen_ai.input.messages")); /* no opt-in */
    assert_int_equal(chat->nevents, 1);
    assert_string_equal(chat->events[0].name, "gen_ai.first_token");
    assert_int_equal(chat->events[0].time_ns, t0);
    assert_true(attr_double(&chat->attrs, "gen_ai.response.time_to_first_chunk") ==
                (double)(t0 - chat->start_ns) / 1e9);
    for (size_t i = 0; i < f->spans.n; i++)
        assert_int_equal(((struct osprey_span_data *)f->spans.items[i])->status,
                         OSPREY_STATUS_UNSET);

    osprey_instrument *tpoc =
        genai_histogram(f->m, "gen_ai.client.operation.time_per_output_chunk");
    assert_int_equal(tpoc->naggs, 1);
    assert_int_equal(tpoc->aggs[0]->count, 2);
    assert_true(tpoc->aggs[0]->sum == 0.75);
}

static void test_tracing_errors_and_stream_input(void **state)
{
    fixture *f = *state;
    osprey_callback_handler h = osprey_tracing_handler(f->t, NULL);
    assert_int_equal(osprey_callbacks_register(&h), 0);
    osprey_cb_payload first = {
        .conversation_id = "conv-s", .input_tokens = -1, .output_tokens = -1};
    osprey_cb_chunk in_chunks[] = {{"q", 1}};
    osprey_run *agent = osprey_run_start(
        &(osprey_run_info){.component = OSPREY_COMPONENT_AGENT, .name = "a"}, NULL, NULL);
    osprey_run *chat = osprey_run_start(
        &(osprey_run_info){
            .component = OSPREY_COMPONENT_CHAT_MODEL, .name = "claude", .type = "anthropic"},
        NULL, &(osprey_cb_stream){.chunks = in_chunks, .n = 1, .summary = &first});
    osprey_run_error(chat, "rate limited");
    osprey_run_error(agent, "gave up");
    flush_spans(f);

    struct osprey_span_data *a = capture_span(&f->spans, "invoke_agent a");
    struct osprey_span_data *c = capture_span(&f->spans, "chat claude");
    assert_child_of(c, a);
    assert_string_equal(attr_str(&c->attrs, "gen_ai.conversation.id"), "conv-s");
    assert_string_equal(attr_str(&c->attrs, "gen_ai.provider.name"), "anthropic");
    assert_string_equal(attr_str(&c->attrs, "error.type"), "_OTHER");
    assert_int_equal(c->status, OSPREY_STATUS_ERROR);
    assert_string_equal(c->status_message, "rate limited");
    assert_string_equal(attr_str(&a->attrs, "error.type"), "_OTHER");
    assert_int_equal(a->status, OSPREY_STATUS_ERROR);
    assert_string_equal(a->status_message, "gave up");
    osprey_span_context cur;
    assert_false(osprey_current_context(&cur));
}

static void test_tracing_out_of_memory(void **state)
{
    fixture *f = *state;
    osprey_callback_handler h = osprey_tracing_handler(f->t, f->m);
    assert_int_equal(osprey_callbacks_register(&h), 0);
    osprey_run_info info = {.component = OSPREY_COMPONENT_CHAT_MODEL, .name = "m"};
    for (unsigned long n = 2; n <= 3; n++) { /* the handler's state, then the GenAI call */
        osprey_run *r = osprey_run_start(&info, NULL, NULL);
        assert_non_null(r);
        osprey_run_end(r, NULL, NULL);
        osp_mem_fail_after(n);
        r = osprey_run_start(&info, NULL, NULL);
        osp_mem_fail_after(0);
        assert_non_null(r);
        osprey_run_end(r, NULL, NULL); /* the handler got NULL state: nothing to end */
    }
    osprey_span_context cur;
    assert_false(osprey_current_context(&cur));
    flush_spans(f);
    assert_int_equal(f->spans.n, 2);
}

static void test_tracing_handler_same_pair(void **state)
{
    fixture *f = *state;
    osprey_callback_handler h1 = osprey_tracing_handler(f->t, f->m);
    osprey_callback_handler h2 = osprey_tracing_handler(f->t, f->m);
    osprey_callback_handler h3 = osprey_tracing_handler(f->t, NULL);
    assert_ptr_equal(h1.self, h2.self);
    assert_ptr_not_equal(h1.self, h3.self);
    assert_non_null(h1.on_start);
    assert_non_null(h1.on_end_with_stream_output);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dispatch_own_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_full_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tracing_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tracing_errors_and_stream_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tracing_out_of_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tracing_handler_same_pair, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
