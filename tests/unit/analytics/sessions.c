/* Tests of the session, user, agent and streaming analytics (analytics/sessions.c) over
 * records written to and read back from the AI call index in several batches. */
#include "testutil.h"

#include <math.h>
#include <time.h>

#include "analytics/sessions.h"
#include "core/clock.h"
#include "core/err.h"
#include "store/aicalls/aicalls.h"

#define MS 1000000ull
#define T0 (1760000000000ull * MS) /* a time the built-in prices cover */

typedef struct fixture {
    char *dir;
    osp_aicalls *idx;
    osp_price_table *prices;
    osp_arena arena;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char path[1024], err[256];
    f->dir = osp_test_tmpdir("sessions");
    snprintf(path, sizeof path, "%s/aicalls", f->dir);
    osp_aicalls_options opt = {.dir = path, .fsync_policy = OSP_FSYNC_NEVER};
    assert_int_equal(osp_aicalls_open(&opt, &f->idx), 0);
    assert_int_equal(osp_price_table_load(NULL, &f->prices, err, sizeof err), 0);
    osp_arena_init(&f->arena, 0, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    osp_arena_cleanup(&f->arena);
    osp_price_table_destroy(f->prices);
    osp_aicalls_close(f->idx);
    osp_test_rmdir(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* A record of trace t, span s (parent p, 0: root), starting at ms after T0 for dur ms. */
static osp_aicall rec(uint32_t t, uint32_t s, uint32_t p, int type, uint64_t ms, uint64_t dur)
{
    osp_aicall a = {.start_ns = T0 + ms * MS,
                    .end_ns = T0 + (ms + dur) * MS,
                    .type = type,
                    .input_tokens = -1,
                    .output_tokens = -1,
                    .cache_read_tokens = -1,
                    .cache_write_tokens = -1,
                    .reasoning_tokens = -1,
                    .cache_in_input = -1,
                    .ttft_ns = -1,
                    .tpot_ns = -1,
                    .streaming = -1,
                    .max_gap_ns = -1,
                    .service = osp_str_c("chat-api"),
                    .name = osp_str_c("span")};
    memcpy(a.trace_id, &t, 4);
    memcpy(a.span_id, &s, 4);
    if (p)
        memcpy(a.parent_span_id, &p, 4);
    return a;
}

static osp_aicall llm(uint32_t t, uint32_t s, uint32_t p, uint64_t ms, int64_t in, int64_t out)
{
    osp_aicall a = rec(t, s, p, OSP_GENAI_LLM, ms, 400);
    a.provider = osp_str_c("openai");
    a.request_model = a.response_model = osp_str_c("gpt-4o");
    a.input_tokens = in;
    a.output_tokens = out;
    return a;
}

static void append(fixture *f, const osp_aicall *a, size_t n)
{
    assert_int_equal(osp_aicalls_append(f->idx, a, n), 0);
}

static osp_aicall_set load(fixture *f, const osp_aicall_query *q)
{
    osp_aicall_set set;
    osp_aicall *calls;
    assert_int_equal(osp_aicalls_select(f->idx, q, &f->arena, &calls, &set.n), 0);
    set.calls = calls;
    return set;
}

static double price(fixture *f, int64_t in, int64_t out)
{
    osp_price p;
    assert_int_equal(osp_price_lookup(f->prices, osp_str_c("openai"), osp_str_c("gpt-4o"),
                                      (int64_t)(T0 / MS), &p),
                     1);
    return osp_price_cost(&p, (double)in, 0, 0, (double)out);
}

/* Session s1 (user u1): trace 2, an LLM call with its own ids, earlier than trace 1, an
 * agent run (LLM, failing tool, LLM) whose session and user are on a root HTTP span that
 * arrives last. Session s2 (user u2): a streamed call that fails after its first token.
 * Trace 4: an LLM call with no recorded parent takes its trace's session s3. */
static void write_scenario(fixture *f)
{
    osp_aicall run[4] = {rec(1, 2, 1, OSP_GENAI_AGENT, 1000, 5000), llm(1, 3, 2, 1100, 100, 20),
                         rec(1, 4, 2, OSP_GENAI_TOOL, 1600, 300), llm(1, 5, 2, 2000, 200, 30)};
    run[0].agent_name = osp_str_c("planner");
    run[1].input_text = osp_str_c("[{\"role\":\"user\",\"content\":\"plan a trip\"}]");
    run[1].ttft_ns = 50 * (int64_t)MS;
    run[1].streaming = 1;
    run[1].max_gap_ns = 1500 * (int64_t)MS;
    run[2].tool_name = osp_str_c("search");
    run[2].is_error = 1;
    run[3].output_text = osp_str_c("[{\"role\":\"assistant\",\"content\":\"done\"}]");
    osp_aicall root = rec(1, 1, 0, OSP_GENAI_NONE, 900, 6000);
    root.session_id = osp_str_c("s1");
    root.user_id = osp_str_c("u1");
    root.service = osp_str_c("web");
    osp_aicall early = llm(2, 1, 0, 10, 7, 3);
    early.session_id = osp_str_c("s1");
    early.user_id = osp_str_c("u1");
    osp_aicall failed = llm(3, 1, 0, 20000, 5, 5);
    failed.session_id = osp_str_c("s2");
    failed.user_id = osp_str_c("u2");
    failed.streaming = 1;
    failed.ttft_ns = 30 * (int64_t)MS;
    failed.is_error = 1;
    failed.max_gap_ns = 200 * (int64_t)MS;
    osp_aicall t4[2] = {rec(4, 1, 0, OSP_GENAI_NONE, 30000, 10), llm(4, 2, 9, 30005, 1, 1)};
    t4[0].session_id = osp_str_c("s3");
    /* Batches in an order unlike time: the run's spans, then later traces, the root last. */
    append(f, run + 2, 2);
    append(f, &failed, 1);
    append(f, run, 2);
    append(f, t4, 2);
    append(f, &early, 1);
    append(f, &root, 1);
}

/* The scenario, written and read back whole. */
static osp_aicall_set load_scenario(fixture *f)
{
    osp_aicall_query q = {0};
    write_scenario(f);
    return load(f, &q);
}

static void test_sessions_list(void **state)
{
    fixture *f = *state;
    osp_aicall_set set = load_scenario(f);
    osp_aicall_query q = {0};
    osp_sessions_filter flt = {0};
    osp_session_summary *s;
    size_t n;
    assert_int_equal(osp_sessions_list(&set, &flt, f->prices, &f->arena, &s, &n), 0);
    assert_int_equal(n, 3);
    assert_true(osp_str_eqz(s[0].id, "s3") && osp_str_eqz(s[1].id, "s2") &&
                osp_str_eqz(s[2].id, "s1")); /* newest first */
    const osp_session_summary *s1 = &s[2];
    assert_true(osp_str_eqz(s1->user, "u1"));
    assert_int_equal(s1->turns, 2);
    assert_int_equal(s1->traces, 2);
    assert_int_equal(s1->input_tokens, 307);
    assert_int_equal(s1->output_tokens, 53);
    assert_int_equal(s1->errors, 1);
    assert_true(fabs(s1->cost - (price(f, 100, 20) + price(f, 200, 30) + price(f, 7, 3))) < 1e-12);
    assert_int_equal(s1->first_ns, T0 + 10 * MS);
    assert_int_equal(s1->last_ns, T0 + 6900 * MS);
    assert_int_equal(s1->nservices, 2);
    assert_true(osp_str_eqz(s1->services[0], "chat-api") && osp_str_eqz(s1->services[1], "web"));
    assert_int_equal(s[0].turns, 1); /* trace 4's call, by its trace's session */
    /* Filters: user (through the index), service, limit, window. */
    q.user = flt.user = osp_str_c("u1");
    set = load(f, &q);
    assert_int_equal(osp_sessions_list(&set, &flt, f->prices, &f->arena, &s, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].turns, 2);
    q = (osp_aicall_query){0};
    set = load(f, &q);
    flt = (osp_sessions_filter){.service = osp_str_c("web")};
    assert_int_equal(osp_sessions_list(&set, &flt, f->prices, &f->arena, &s, &n), 0);
    assert_int_equal(n, 1);
    flt = (osp_sessions_filter){.limit = 2};
    assert_int_equal(osp_sessions_list(&set, &flt, f->prices, &f->arena, &s, &n), 0);
    assert_int_equal(n, 2);
    flt = (osp_sessions_filter){.w = {T0 + 500 * MS, T0 + 25000 * MS}};
    assert_int_equal(osp_sessions_list(&set, &flt, f->prices, &f->arena, &s, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(s[1].turns, 1); /* s1 without trace 2, before the window */
}

static void test_session_detail(void **state)
{
    fixture *f = *state;
    write_scenario(f);
    osp_aicall_query q = {.session = osp_str_c("s1"), .with_text = 1};
    osp_aicall_set set = load(f, &q);
    osp_session_detail d;
    assert_int_equal(osp_session_get(&set, osp_str_c("s1"), f->prices, &f->arena, &d), 0);
    assert_true(osp_str_eqz(d.user, "u1"));
    assert_int_equal(d.nturns, 2);
    assert_int_equal(d.turns[0].trace_id[0], 2); /* in start order */
    const osp_session_turn *t = &d.turns[1];
    assert_int_equal(t->trace_id[0], 1);
    assert_int_equal(t->start_ns, T0 + 1000 * MS);
    assert_int_equal(t->llm_calls, 2);
    assert_int_equal(t->input_tokens, 300);
    assert_int_equal(t->output_tokens, 50);
    assert_int_equal(t->ttft_ns, 50 * (int64_t)MS);
    assert_int_equal(t->errors, 1);
    assert_true(osp_str_eqz(t->model, "gpt-4o"));
    assert_true(osp_str_eqz(t->input, "[{\"role\":\"user\",\"content\":\"plan a trip\"}]"));
    assert_true(osp_str_eqz(t->output, "[{\"role\":\"assistant\",\"content\":\"done\"}]"));
    assert_int_equal(t->ntools, 1);
    assert_true(osp_str_eqz(t->tools[0].name, "search") && t->tools[0].error);
    assert_int_equal(osp_session_get(&set, osp_str_c("nope"), f->prices, &f->arena, &d),
                     OSP_ENOTFOUND);
}

/* A model call whose parent is a plain (unrecorded) span, e.g. the HTTP server span of
 * the service the agent called, belongs to the innermost recorded span containing it;
 * one not contained in any starts its own turn. A session on plain spans only has none. */
static void test_turn_through_plain_spans(void **state)
{
    fixture *f = *state;
    osp_aicall t[4] = {rec(5, 1, 0, OSP_GENAI_AGENT, 1000, 3000), llm(5, 3, 2, 1100, 10, 5),
                       llm(5, 4, 7, 2000, 20, 5), llm(5, 6, 8, 500, 40, 5)};
    t[0].session_id = osp_str_c("s5");
    t[0].agent_name = osp_str_c("helper");
    append(f, t + 1, 3); /* the calls before the run they belong to */
    append(f, t, 1);
    osp_aicall_query q = {.session = osp_str_c("s5")};
    osp_aicall_set set = load(f, &q);
    osp_session_detail d;
    assert_int_equal(osp_session_get(&set, osp_str_c("s5"), f->prices, &f->arena, &d), 0);
    assert_int_equal(d.nturns, 2);
    assert_int_equal(d.turns[0].start_ns, T0 + 500 * MS); /* before the run: its own turn */
    assert_int_equal(d.turns[0].llm_calls, 1);
    assert_int_equal(d.turns[1].start_ns, T0 + 1000 * MS); /* the run, with both calls */
    assert_int_equal(d.turns[1].llm_calls, 2);
    assert_int_equal(d.turns[1].input_tokens, 30);
    /* A session named on plain spans only exists, with no turns. */
    osp_aicall plain = rec(6, 1, 0, OSP_GENAI_NONE, 100, 10);
    plain.session_id = osp_str_c("s6");
    plain.user_id = osp_str_c("u6");
    append(f, &plain, 1);
    q.session = osp_str_c("s6");
    set = load(f, &q);
    assert_int_equal(osp_session_get(&set, osp_str_c("s6"), f->prices, &f->arena, &d), 0);
    assert_int_equal(d.nturns, 0);
    assert_true(osp_str_eqz(d.user, "u6"));
}

static void test_users_agents_streaming(void **state)
{
    fixture *f = *state;
    osp_aicall_set set = load_scenario(f);
    osp_sessions_window w = {0};
    osp_user_usage *u;
    size_t n;
    assert_int_equal(osp_users_list(&set, &w, f->prices, &f->arena, &u, &n), 0);
    assert_int_equal(n, 2);
    assert_true(osp_str_eqz(u[0].id, "u1"));
    assert_int_equal(u[0].sessions, 1);
    assert_int_equal(u[0].traces, 2);
    assert_int_equal(u[0].llm_calls, 3);
    assert_int_equal(u[0].errors, 1);
    assert_int_equal(u[1].llm_calls, 1);

    osp_golden_usage *g;
    assert_int_equal(osp_sessions_usage_by_user(&set, &w, f->prices, &f->arena, &g, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(g[0].calls, 3);
    assert_int_equal(g[0].input_tokens, 307);
    assert_true(fabs(g[0].latency_p95 - 0.4) < 1e-9);
    assert_true(fabs(g[0].streaming_share - 1.0 / 3) < 1e-9);

    osp_agent_stats *a;
    assert_int_equal(osp_agents_list(&set, &w, &f->arena, &a, &n), 0);
    assert_int_equal(n, 1);
    assert_true(osp_str_eqz(a[0].name, "planner"));
    assert_int_equal(a[0].runs, 1);
    assert_true(a[0].llm_calls_per_run == 2);
    assert_int_equal(a[0].ntools, 1);
    assert_int_equal(a[0].tools[0].calls, 1);
    assert_int_equal(a[0].tools[0].errors, 1);
    assert_true(a[0].tools[0].p95_ms == 300);
    assert_int_equal(a[0].transitions[OSP_ROLE_USER][OSP_ROLE_AGENT], 1);
    assert_int_equal(a[0].transitions[OSP_ROLE_AGENT][OSP_ROLE_TOOL], 1);
    assert_int_equal(a[0].transitions[OSP_ROLE_TOOL][OSP_ROLE_AGENT], 1);
    assert_int_equal(a[0].transitions[OSP_ROLE_AGENT][OSP_ROLE_USER], 1);

    osp_streaming_stats *st;
    assert_int_equal(osp_streaming_list(&set, &w, 1000 * (int64_t)MS, &f->arena, &st, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(st[0].streamed, 2);
    assert_int_equal(st[0].failed_after_first_token, 1);
    assert_true(st[0].failed_share == 0.5);
    assert_int_equal(st[0].stalls, 1);
    assert_int_equal(st[0].max_gap_ns, 1500 * (int64_t)MS);
}

static double since_ms(uint64_t t0)
{
    return (double)(osp_clock_ns(CLOCK_MONOTONIC) - t0) / 1e6;
}

/* A 10 000-turn session written in batches of 1000, newest batch first. */
static void test_long_session(void **state)
{
    fixture *f = *state;
    enum { TURNS = 10000, BATCH = 1000 };
    osp_aicall *a = calloc(BATCH, sizeof *a);
    for (int b = TURNS / BATCH - 1; b >= 0; b--) {
        for (int i = 0; i < BATCH; i++) {
            uint32_t t = (uint32_t)(b * BATCH + i + 100);
            a[i] = llm(t, 1, 0, (uint64_t)t * 10, 10, 5);
            a[i].session_id = osp_str_c("long");
            a[i].user_id = osp_str_c("heavy");
        }
        append(f, a, BATCH);
    }
    osp_aicall one = llm(7, 1, 0, 5, 1, 1);
    one.session_id = osp_str_c("short");
    append(f, &one, 1);
    uint64_t t0 = osp_clock_ns(CLOCK_MONOTONIC);
    osp_aicall_query q = {.session = osp_str_c("long"), .with_text = 1};
    osp_aicall_set set = load(f, &q);
    osp_session_detail d;
    assert_int_equal(osp_session_get(&set, osp_str_c("long"), f->prices, &f->arena, &d), 0);
    double detail_ms = since_ms(t0);
    assert_int_equal(d.nturns, TURNS);
    for (size_t i = 1; i < d.nturns; i++)
        assert_true(d.turns[i - 1].start_ns < d.turns[i].start_ns);
    t0 = osp_clock_ns(CLOCK_MONOTONIC);
    q = (osp_aicall_query){.session = osp_str_c("short"), .with_text = 1};
    set = load(f, &q);
    assert_int_equal(set.n, 1); /* a session's work is its own records only */
    double short_ms = since_ms(t0);
    t0 = osp_clock_ns(CLOCK_MONOTONIC);
    q = (osp_aicall_query){0};
    set = load(f, &q);
    osp_sessions_filter flt = {0};
    osp_session_summary *s;
    size_t n;
    assert_int_equal(osp_sessions_list(&set, &flt, f->prices, &f->arena, &s, &n), 0);
    double list_ms = since_ms(t0);
    assert_int_equal(n, 2);
    assert_int_equal(s[0].turns, TURNS);
    printf("10000-turn session: detail %.1f ms, another session's detail %.2f ms, list %.1f ms\n",
           detail_ms, short_ms, list_ms);
    free(a);
}

/* One trace of 50 000 spans: an agent run over LLM and tool calls, sent in 5 batches. */
static void test_large_trace(void **state)
{
    fixture *f = *state;
    enum { SPANS = 50000, BATCH = 10000 };
    osp_aicall *a = calloc(BATCH, sizeof *a);
    for (int b = 0; b < SPANS / BATCH; b++) {
        for (int i = 0; i < BATCH; i++) {
            uint32_t s = (uint32_t)(b * BATCH + i + 1);
            if (s == 1) {
                a[i] = rec(42, 1, 0, OSP_GENAI_AGENT, 0, 100000);
                a[i].agent_name = osp_str_c("bulk");
                a[i].session_id = osp_str_c("big");
            } else if (s % 2) {
                a[i] = rec(42, s, 1, OSP_GENAI_TOOL, s, 1);
                a[i].tool_name = osp_str_c("calc");
            } else {
                a[i] = llm(42, s, 1, s, 1, 1);
            }
        }
        append(f, a, BATCH);
    }
    uint64_t t0 = osp_clock_ns(CLOCK_MONOTONIC);
    osp_aicall_query q = {0};
    osp_aicall_set set = load(f, &q);
    osp_sessions_window w = {0};
    osp_agent_stats *ag;
    size_t n;
    assert_int_equal(osp_agents_list(&set, &w, &f->arena, &ag, &n), 0);
    double agents_ms = since_ms(t0);
    assert_int_equal(n, 1);
    assert_int_equal(ag[0].runs, 1);
    assert_true(ag[0].llm_calls_per_run == SPANS / 2);
    assert_int_equal(ag[0].tools[0].calls, SPANS / 2 - 1);
    t0 = osp_clock_ns(CLOCK_MONOTONIC);
    q = (osp_aicall_query){.session = osp_str_c("big"), .with_text = 1};
    set = load(f, &q);
    osp_session_detail d;
    assert_int_equal(osp_session_get(&set, osp_str_c("big"), f->prices, &f->arena, &d), 0);
    double detail_ms = since_ms(t0);
    assert_int_equal(d.nturns, 1);
    assert_int_equal(d.turns[0].llm_calls, SPANS / 2);
    assert_int_equal(d.turns[0].ntools, SPANS / 2 - 1);
    printf("50000-span trace: agents %.1f ms, session detail %.1f ms\n", agents_ms, detail_ms);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sessions_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_detail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_turn_through_plain_spans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_agents_streaming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_trace, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
