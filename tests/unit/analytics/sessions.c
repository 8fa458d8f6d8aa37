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
#define SRC(s) (&(osp_aicall_source){.set = (s)})
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
    assert_int_equal(osp_sessions_list(SRC(&set), &flt, f->prices, &f->arena, &s, &n), 0);
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
    assert_int_equal(osp_sessions_list(SRC(&set), &flt, f->prices, &f->arena, &s, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].turns, 2);
    q = (osp_aicall_query){0};
    set = load(f, &q);
    flt = (osp_sessions_filter){.service = osp_str_c("web")};
    assert_int_equal(osp_sessions_list(SRC(&set), &flt, f->prices, &f->arena, &s, &n), 0);
    assert_int_equal(n, 1);
    flt = (osp_sessions_filter){.limit = 2};
    assert_int_equal(osp_sessions_list(SRC(&set), &flt, f->prices, &f->arena, &s, &n), 0);
    assert_int_equal(n, 2);
    flt = (osp_sessions_filter){.w = {T0 + 500 * MS, T0 + 25000 * MS}};
    assert_int_equal(osp_sessions_list(SRC(&set), &flt, f->prices, &f->arena, &s, &n), 0);
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
    assert_int_equal(osp_users_list(SRC(&set), &w, 0, f->prices, &f->arena, &u, &n), 0);
    assert_int_equal(n, 2);
    assert_true(osp_str_eqz(u[0].id, "u2")); /* newest first: u2's call starts at 20 s */
    assert_int_equal(u[0].llm_calls, 1);
    assert_true(osp_str_eqz(u[1].id, "u1"));
    assert_int_equal(u[1].sessions, 1);
    assert_int_equal(u[1].traces, 2);
    assert_int_equal(u[1].llm_calls, 3);
    assert_int_equal(u[1].errors, 1);
    assert_int_equal(osp_users_list(SRC(&set), &w, 1, f->prices, &f->arena, &u, &n), 0);
    assert_int_equal(n, 1);
    assert_true(osp_str_eqz(u[0].id, "u2"));

    osp_golden_usage *g;
    assert_int_equal(osp_sessions_usage_by_user(SRC(&set), &w, f->prices, &f->arena, &g, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(g[0].calls, 3);
    assert_int_equal(g[0].input_tokens, 307);
    assert_true(fabs(g[0].latency_p95 - 0.4) < 1e-9);
    assert_true(fabs(g[0].streaming_share - 1.0 / 3) < 1e-9);

    osp_agent_stats *a;
    assert_int_equal(osp_agents_list(SRC(&set), &w, &f->arena, &a, &n), 0);
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
    assert_int_equal(osp_streaming_list(SRC(&set), &w, 1000 * (int64_t)MS, &f->arena, &st, &n), 0);
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
    assert_int_equal(osp_sessions_list(SRC(&set), &flt, f->prices, &f->arena, &s, &n), 0);
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
    assert_int_equal(osp_agents_list(SRC(&set), &w, &f->arena, &ag, &n), 0);
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

/* ---- answers read in place from a store match those over the same records as a set ---- */

#define NTRACES 600

/* Trace t of a varied workload: a root HTTP span (mostly naming a session and a user), an
 * agent run with two LLM calls and a tool call; some runs name sessions of their own on a
 * call, some roots name none (their calls do). Times spread over 500 s, out of order. */
static size_t many_trace(uint32_t t, osp_aicall *out, char names[][16])
{
    uint64_t ms = (uint64_t)(t * 7919u % 500000u);
    size_t n = 0;
    osp_aicall root = rec(t, 1, 0, OSP_GENAI_NONE, ms, 3000);
    root.service = osp_str_c(t % 4 ? "chat-api" : "web");
    snprintf(names[0], 16, "s%u", t % 230);
    snprintf(names[1], 16, "u%u", t % 41);
    snprintf(names[2], 16, "c%u", t % 13);
    if (t % 5)
        root.session_id = osp_str_c(names[0]);
    if (t % 3)
        root.user_id = osp_str_c(names[1]);
    out[n++] = root;
    osp_aicall run = rec(t, 2, 1, OSP_GENAI_AGENT, ms + 10, 2500);
    run.agent_name = osp_str_c(t % 2 ? "planner" : "router");
    run.is_error = t % 17 == 0;
    out[n++] = run;
    osp_aicall first = llm(t, 3, 2, ms + 20, 100 + t % 90, 10 + t % 40);
    first.streaming = 1;
    first.ttft_ns = t % 2 ? (int64_t)(30 + t % 70) * (int64_t)MS : -1;
    first.max_gap_ns = (int64_t)(t % 1500) * (int64_t)MS;
    first.is_error = t % 11 == 0;
    if (t % 5 == 0)
        first.session_id = osp_str_c(names[0]);
    out[n++] = first;
    osp_aicall tool = rec(t, 4, 2, OSP_GENAI_TOOL, ms + 500, 200 + t % 50);
    tool.tool_name = osp_str_c(t % 3 ? "search" : "fetch");
    tool.is_error = t % 13 == 0;
    out[n++] = tool;
    osp_aicall second = llm(t, 5, 2, ms + 900, 50 + t % 30, 5 + t % 20);
    second.tpot_ns = (int64_t)(t % 9) * (int64_t)MS;
    if (t % 7 == 0)
        second.session_id = osp_str_c(names[2]);
    out[n++] = second;
    return n;
}

static void assert_same_sessions(const osp_session_summary *a, size_t na,
                                 const osp_session_summary *b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_true(osp_str_eq(a[i].id, b[i].id) && osp_str_eq(a[i].user, b[i].user));
        assert_int_equal(a[i].traces, b[i].traces);
        assert_int_equal(a[i].turns, b[i].turns);
        assert_int_equal(a[i].errors, b[i].errors);
        assert_int_equal(a[i].input_tokens, b[i].input_tokens);
        assert_int_equal(a[i].output_tokens, b[i].output_tokens);
        assert_true(fabs(a[i].cost - b[i].cost) < 1e-9);
        assert_int_equal(a[i].first_ns, b[i].first_ns);
        assert_int_equal(a[i].last_ns, b[i].last_ns);
        assert_int_equal(a[i].nservices, b[i].nservices);
        for (size_t k = 0; k < a[i].nservices; k++)
            assert_true(osp_str_eq(a[i].services[k], b[i].services[k]));
    }
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || fabs(a - b) < 1e-9;
}

static void assert_same_users(const osp_user_usage *u1, const osp_user_usage *u2, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_true(osp_str_eq(u1[i].id, u2[i].id));
        assert_int_equal(u1[i].sessions, u2[i].sessions);
        assert_int_equal(u1[i].traces, u2[i].traces);
        assert_int_equal(u1[i].llm_calls, u2[i].llm_calls);
        assert_int_equal(u1[i].input_tokens, u2[i].input_tokens);
        assert_true(same_double(u1[i].cost, u2[i].cost));
        assert_int_equal(u1[i].errors, u2[i].errors);
        assert_int_equal(u1[i].last_ns, u2[i].last_ns);
    }
}

/* The sessions and users lists over window w, at several limits, from the store in place
 * (src) and as a set (set). */
static void assert_same_answers(fixture *f, const osp_aicall_source *src,
                                const osp_aicall_source *set, osp_sessions_window w)
{
    static const size_t limits[] = {1, 5, 100, 1000};
    static const char *const services[] = {NULL, "web"};
    osp_session_summary *s1, *s2;
    size_t n1, n2;
    for (size_t l = 0; l < sizeof limits / sizeof *limits; l++)
        for (size_t k = 0; k < 2; k++) {
            osp_sessions_filter flt = {.w = w, .limit = limits[l]};
            if (services[k])
                flt.service = osp_str_c(services[k]);
            assert_int_equal(osp_sessions_list(src, &flt, f->prices, &f->arena, &s1, &n1), 0);
            assert_int_equal(osp_sessions_list(set, &flt, f->prices, &f->arena, &s2, &n2), 0);
            assert_true(n1 > 0);
            assert_same_sessions(s1, n1, s2, n2);
        }

    osp_user_usage *u1, *u2;
    for (size_t l = 0; l < sizeof limits / sizeof *limits; l++) {
        assert_int_equal(osp_users_list(src, &w, limits[l], f->prices, &f->arena, &u1, &n1), 0);
        assert_int_equal(osp_users_list(set, &w, limits[l], f->prices, &f->arena, &u2, &n2), 0);
        assert_int_equal(n1, n2);
        assert_true(n1 > 0);
        assert_same_users(u1, u2, n1);
    }
}

/* The lists other than sessions and users over window w, from src and from set. */
static void assert_same_aggregates(fixture *f, const osp_aicall_source *src,
                                   const osp_aicall_source *set, osp_sessions_window w)
{
    size_t n1, n2;

    osp_golden_usage *g1, *g2;
    assert_int_equal(osp_sessions_usage_by_user(src, &w, f->prices, &f->arena, &g1, &n1), 0);
    assert_int_equal(osp_sessions_usage_by_user(set, &w, f->prices, &f->arena, &g2, &n2), 0);
    assert_int_equal(n1, n2);
    for (size_t i = 0; i < n1; i++) {
        assert_true(osp_str_eq(g1[i].key, g2[i].key));
        assert_true(g1[i].calls == g2[i].calls && g1[i].errors == g2[i].errors);
        assert_true(same_double(g1[i].cost, g2[i].cost));
        assert_true(same_double(g1[i].latency_p95, g2[i].latency_p95));
        assert_true(same_double(g1[i].ttft_p50, g2[i].ttft_p50));
        assert_true(same_double(g1[i].tpot_p95, g2[i].tpot_p95));
        assert_true(same_double(g1[i].streaming_share, g2[i].streaming_share));
    }

    osp_agent_stats *a1, *a2;
    assert_int_equal(osp_agents_list(src, &w, &f->arena, &a1, &n1), 0);
    assert_int_equal(osp_agents_list(set, &w, &f->arena, &a2, &n2), 0);
    assert_int_equal(n1, n2);
    for (size_t i = 0; i < n1; i++) {
        assert_true(osp_str_eq(a1[i].name, a2[i].name));
        assert_true(a1[i].runs == a2[i].runs && a1[i].llm_calls == a2[i].llm_calls &&
                    a1[i].errors == a2[i].errors);
        assert_memory_equal(a1[i].transitions, a2[i].transitions, sizeof a1[i].transitions);
        assert_int_equal(a1[i].ntools, a2[i].ntools);
        for (size_t t = 0; t < a1[i].ntools; t++) {
            assert_true(osp_str_eq(a1[i].tools[t].name, a2[i].tools[t].name));
            assert_true(a1[i].tools[t].calls == a2[i].tools[t].calls &&
                        a1[i].tools[t].errors == a2[i].tools[t].errors);
            assert_true(same_double(a1[i].tools[t].p95_ms, a2[i].tools[t].p95_ms));
        }
    }

    osp_streaming_stats *t1, *t2;
    int64_t stall = 1000 * (int64_t)MS;
    assert_int_equal(osp_streaming_list(src, &w, stall, &f->arena, &t1, &n1), 0);
    assert_int_equal(osp_streaming_list(set, &w, stall, &f->arena, &t2, &n2), 0);
    assert_int_equal(n1, n2);
    for (size_t i = 0; i < n1; i++) {
        assert_true(osp_str_eq(t1[i].provider, t2[i].provider) &&
                    osp_str_eq(t1[i].model, t2[i].model));
        assert_true(t1[i].streamed == t2[i].streamed && t1[i].stalls == t2[i].stalls &&
                    t1[i].failed_after_first_token == t2[i].failed_after_first_token);
        assert_int_equal(t1[i].max_gap_ns, t2[i].max_gap_ns);
    }
}

static uint64_t bound_of(const osp_aicall_bound *b, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (osp_str_eqz(b[i].id, id))
            return b[i].last_ns;
    return 0;
}

/* A session's bound is the latest end of its traces that reach into the range: a later
 * trace (say, data stamped ahead of the query's end) must not raise it, or the newest
 * sessions list reads candidates it never shows. */
static void test_bounds_within_range(void **state)
{
    fixture *f = *state;
    osp_aicall a[3] = {llm(10, 1, 0, 1000, 1, 1), llm(11, 1, 0, 50000, 1, 1),
                       llm(12, 1, 0, 2000, 1, 1)};
    a[0].session_id = a[1].session_id = osp_str_c("early-and-late");
    a[2].session_id = osp_str_c("early");
    append(f, a, 3);
    osp_aicall_bound *b;
    size_t n;
    assert_int_equal(osp_aicalls_bounds(f->idx, OSP_AICALL_SESSIONS, T0, T0 + 10000 * MS,
                                        &f->arena, &b, &n),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(bound_of(b, n, "early-and-late"), T0 + 1400 * MS);
    assert_int_equal(bound_of(b, n, "early"), T0 + 2400 * MS);
    assert_int_equal(osp_aicalls_bounds(f->idx, OSP_AICALL_SESSIONS, T0 + 40000 * MS, 0,
                                        &f->arena, &b, &n),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(bound_of(b, n, "early-and-late"), T0 + 50400 * MS);
}

/* 600 traces written in shuffled batches to a store: every list read in place (the newest
 * sessions from their candidates) answers as the same records read as a set do, over the
 * whole time and over a window that cuts traces. */
static void test_store_scan_matches_set(void **state)
{
    fixture *f = *state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/store", f->dir);
    osp_store_options so = {.data_dir = dir, .fsync_policy = OSP_FSYNC_NEVER};
    osp_store *st;
    assert_int_equal(osp_store_open(&so, &st), 0);
    static osp_aicall recs[NTRACES * 5];
    static char names[NTRACES][3][16];
    size_t n = 0;
    for (uint32_t t = 1; t <= NTRACES; t++)
        n += many_trace(t, recs + n, names[t - 1]);
    for (size_t i = n - 1; i > 0; i--) { /* a fixed shuffle: records arrive in any order */
        size_t j = (i * 2654435761u) % (i + 1);
        osp_aicall x = recs[i];
        recs[i] = recs[j];
        recs[j] = x;
    }
    for (size_t at = 0; at < n; at += 97)
        assert_int_equal(osp_store_append_aicalls(st, recs + at, n - at < 97 ? n - at : 97), 0);

    const osp_sessions_window windows[] = {{0, 0}, {T0 + 100000 * MS, T0 + 300000 * MS}};
    for (size_t k = 0; k < 2; k++) {
        osp_aicall_query q = {.start_ns = windows[k].start_ns, .end_ns = windows[k].end_ns};
        osp_aicall *calls;
        osp_aicall_set set;
        assert_int_equal(osp_store_select_aicalls(st, &q, &f->arena, &calls, &set.n), 0);
        set.calls = calls;
        osp_aicall_source in_place = {.store = st, .q = &q};
        assert_same_answers(f, &in_place, SRC(&set), windows[k]);
        assert_same_aggregates(f, &in_place, SRC(&set), windows[k]);
    }
    osp_store_close(st);
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
        cmocka_unit_test_setup_teardown(test_bounds_within_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_scan_matches_set, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
