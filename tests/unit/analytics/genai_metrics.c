/* Unit tests for analytics/genai_metrics: hand-built AI spans through the deriver's add and
 * flush give every family's series with their labels, values and exemplars; cache tokens
 * counted inside or beside input; tool and agent spans; unpriced models; and no derived
 * series of a kind a service already sends itself (with a real store). */
#include "testutil.h"

#include <math.h>

#include "analytics/genai_metrics.h"
#include "analytics/pricing.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "model/attr.h"
#include "store/store.h"

#define SEC 1000000000ull
#define END_NS (1767225600ull * SEC) /* 2026-01-01T00:00:00Z */
#define NOW_MS ((int64_t)(END_NS / 1000000) + 5000)

static char *dir;
static osp_price_table *prices;

static const char price_file[] = "prices:\n"
                                 "  - model: \"test-model*\"\n"
                                 "    provider: acme\n"
                                 "    input: 2\n"
                                 "    output: 8\n"
                                 "    cache_read: 0.5\n"
                                 "    cache_write: 2.5\n";

static int setup(void **state)
{
    (void)state;
    char path[4096], err[256];
    if (!(dir = osp_test_tmpdir("genai-metrics")))
        return -1;
    snprintf(path, sizeof path, "%s/prices.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(price_file, f) < 0 || fclose(f) != 0)
        return -1;
    return osp_price_table_load(path, &prices, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    osp_price_table_destroy(prices);
    osp_test_rmdir(dir);
    free(dir);
    return 0;
}

/* A span, its resource and its canonical fields, as the pipeline would hand them over. */
typedef struct fixture {
    osp_span span;
    osp_resource res;
    osp_genai ai;
    osp_derived_span ds;
} fixture;

/* An LLM chat call of service svc: 2 s, 1000 input tokens (400 of them cache reads and 100
 * cache writes, counted inside), 200 output (50 reasoning), streamed. */
static void llm_call(fixture *x, const char *svc, uint8_t trace_byte)
{
    memset(x, 0, sizeof *x);
    memset(x->span.trace_id, trace_byte, sizeof x->span.trace_id);
    x->span.start_ns = END_NS - 2 * SEC;
    x->span.end_ns = END_NS;
    x->res.service_name = osp_str_c(svc);
    x->ai = (osp_genai){.type = OSP_GENAI_LLM,
                        .operation = OSP_STR_LIT("chat"),
                        .provider = OSP_STR_LIT("acme"),
                        .request_model = OSP_STR_LIT("test-model"),
                        .response_model = OSP_STR_LIT("test-model-2026"),
                        .input_tokens = 1000,
                        .output_tokens = 200,
                        .cache_read_tokens = 400,
                        .cache_write_tokens = 100,
                        .reasoning_tokens = 50,
                        .cache_in_input = 1,
                        .streaming = 1,
                        .ttft_ns = 250000000,
                        .tpot_ns = 8000000,
                        .error_type = OSP_STR_NULL};
    x->ds = (osp_derived_span){&x->span, &x->res, &x->ai};
}

static void *create(const osp_derive_env *env)
{
    void *g = osp_genai_deriver.create(env);
    assert_non_null(g);
    return g;
}

static void flush(void *g, osp_series_batch *b)
{
    osp_series_batch_init(b);
    assert_int_equal(osp_genai_deriver.flush(g, NOW_MS + 1000, b), 0);
}

/* The series of b named name whose labels include every pair of kv (NULL-terminated
 * name, value list) and that has no label of names in absent (NULL-terminated, may be
 * NULL); fails unless there is exactly one. */
static const osp_series *find(const osp_series_batch *b, const char *name, const char *const *kv,
                              const char *const *absent)
{
    const osp_series *hit = NULL;
    for (size_t i = 0; i < b->nseries; i++) {
        const osp_series *s = &b->series[i];
        int ok = osp_str_eqz(osp_labels_get(s->labels, s->nlabels, OSP_STR_LIT("__name__")), name);
        for (size_t k = 0; ok && kv && kv[k]; k += 2)
            ok = osp_str_eqz(osp_labels_get(s->labels, s->nlabels, osp_str_c(kv[k])), kv[k + 1]);
        for (size_t k = 0; ok && absent && absent[k]; k++)
            ok = osp_labels_get(s->labels, s->nlabels, osp_str_c(absent[k])).n == 0;
        if (!ok)
            continue;
        if (hit)
            fail_msg("two series %s match", name);
        hit = s;
    }
    if (!hit)
        fail_msg("no series %s matches", name);
    assert_int_equal(hit->nsamples, 1);
    assert_int_equal(hit->samples[0].t_ms, NOW_MS + 1000);
    return hit;
}

static double value(const osp_series_batch *b, const char *name, const char *const *kv)
{
    return find(b, name, kv, NULL)->samples[0].v;
}

/* Series of b named name (any labels). */
static size_t count_named(const osp_series_batch *b, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < b->nseries; i++)
        n += osp_str_eqz(
            osp_labels_get(b->series[i].labels, b->series[i].nlabels, OSP_STR_LIT("__name__")),
            name);
    return n;
}

/* Series of b named name for service svc. */
static size_t count_service(const osp_series_batch *b, const char *name, const char *svc)
{
    size_t n = 0;
    for (size_t i = 0; i < b->nseries; i++) {
        const osp_series *s = &b->series[i];
        n += osp_str_eqz(osp_labels_get(s->labels, s->nlabels, OSP_STR_LIT("__name__")), name) &&
             osp_str_eqz(osp_labels_get(s->labels, s->nlabels, OSP_STR_LIT("service_name")), svc);
    }
    return n;
}

/* The exemplar on a series named name of b; fails unless there is exactly one. */
static const osp_batch_exemplar *exemplar_of(const osp_series_batch *b, const char *name)
{
    const osp_batch_exemplar *hit = NULL;
    for (size_t i = 0; i < b->nexemplars; i++) {
        const osp_series *s = &b->series[b->exemplars[i].series];
        if (osp_str_eqz(osp_labels_get(s->labels, s->nlabels, OSP_STR_LIT("__name__")), name)) {
            assert_null(hit);
            hit = &b->exemplars[i];
        }
    }
    assert_non_null(hit);
    return hit;
}

static osp_str exemplar_trace(const osp_batch_exemplar *e)
{
    return osp_labels_get(e->ex.labels, e->ex.nlabels, OSP_STR_LIT("trace_id"));
}

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1, fabs(b));
}

static void test_llm_call_every_family(void **state)
{
    (void)state;
    osp_derive_env env = {.prices = prices};
    void *g = create(&env);
    fixture x;
    llm_call(&x, "chat-svc", 0xab);
    osp_genai_deriver.add(g, &x.ds, NOW_MS);
    osp_series_batch b;
    flush(g, &b);

    const char *const base[] = {"service_name",
                                "chat-svc",
                                "gen_ai_operation_name",
                                "chat",
                                "gen_ai_provider_name",
                                "acme",
                                "gen_ai_request_model",
                                "test-model",
                                "gen_ai_response_model",
                                "test-model-2026",
                                NULL};
    const char *const no_error[] = {"error_type", NULL};
    assert_true(
        near(find(&b, OSP_DERIVED_GENAI_DURATION "_count", base, no_error)->samples[0].v, 1));
    assert_true(near(value(&b, OSP_DERIVED_GENAI_DURATION "_sum", base), 2.0));
    const char *const inf[] = {"service_name", "chat-svc", "le", "+Inf", NULL};
    const osp_series *bucket = find(&b, OSP_DERIVED_GENAI_DURATION "_bucket", inf, NULL);
    assert_true(near(bucket->samples[0].v, 1));

    const char *const in[] = {"service_name", "chat-svc", "gen_ai_token_type", "input", NULL};
    const char *const out[] = {"service_name", "chat-svc", "gen_ai_token_type", "output", NULL};
    assert_true(near(value(&b, OSP_DERIVED_GENAI_TOKENS "_sum", in), 1000));
    assert_true(near(value(&b, OSP_DERIVED_GENAI_TOKENS "_sum", out), 200));
    assert_true(near(value(&b, OSP_DERIVED_GENAI_TTFT "_sum", base), 0.25));
    assert_true(near(value(&b, OSP_DERIVED_GENAI_TPOT "_sum", base), 0.008));

    /* Counters: uncached input is what is left of input after the cache tokens. */
    const double want[][2] = {{500, 500 * 2}, {400, 400 * 0.5}, {100, 100 * 2.5}, {200, 200 * 8}};
    const char *const types[] = {"input", "cache_read", "cache_write", "output"};
    for (int i = 0; i < 4; i++) {
        const char *const kv[] = {
            "service_name", "chat-svc", "gen_ai_request_model", "test-model", "gen_ai_token_type",
            types[i],       NULL};
        assert_true(near(value(&b, OSP_DERIVED_GENAI_TOKENS_TOTAL, kv), want[i][0]));
        assert_true(near(value(&b, OSP_DERIVED_GENAI_COST, kv), want[i][1] / 1e6));
    }
    const char *const reasoning[] = {"gen_ai_token_type", "reasoning", NULL};
    assert_true(near(value(&b, OSP_DERIVED_GENAI_TOKENS_TOTAL, reasoning), 50));
    assert_int_equal(count_named(&b, OSP_DERIVED_GENAI_COST), 4); /* no reasoning cost */
    assert_int_equal(count_named(&b, OSP_DERIVED_GENAI_ERRORS), 0);

    /* Exemplars carry the span's trace id. */
    char hex[33];
    memset(hex, 'a', 32);
    for (int i = 0; i < 32; i += 2)
        hex[i + 1] = 'b';
    hex[32] = 0;
    /* On the duration histogram, on the bucket the 2 s observation fell in. */
    const osp_batch_exemplar *e = exemplar_of(&b, OSP_DERIVED_GENAI_DURATION "_bucket");
    assert_true(osp_str_eqz(exemplar_trace(e), hex));
    assert_true(near(e->ex.value, 2.0));
    const osp_series *es = &b.series[e->series];
    osp_str le = osp_labels_get(es->labels, es->nlabels, OSP_STR_LIT("le"));
    assert_true(strtod(osp_arena_strdup(&b.arena, le).p, NULL) >= 2.0);
    /* Every label set of the call has one, with its trace id: duration, tokens in and out,
     * TTFT, TPOT, five token counters and four cost counters. */
    assert_int_equal(b.nexemplars, 1 + 2 + 1 + 1 + 5 + 4);
    for (size_t i = 0; i < b.nexemplars; i++)
        assert_true(osp_str_eqz(exemplar_trace(&b.exemplars[i]), hex));
    assert_int_equal(b.nmeta, 6); /* every family but the errors, which has no series */

    osp_series_batch_cleanup(&b);
    osp_genai_deriver.destroy(g);
}

/* A span that counted cache tokens beside input (cache_in_input 0) arrives with its input
 * corrected to include them (model/genai.h): its counts and cost equal the other's. */
static void test_cache_inside_and_beside(void **state)
{
    (void)state;
    osp_derive_env env = {.prices = prices};
    void *g = create(&env);
    fixture inside, beside;
    llm_call(&inside, "cache-svc", 1);
    llm_call(&beside, "cache-svc", 2);
    beside.ai.cache_in_input = 0; /* sent: input 500, cache 400 + 100 beside; corrected */
    osp_genai_deriver.add(g, &inside.ds, NOW_MS);
    osp_genai_deriver.add(g, &beside.ds, NOW_MS);
    osp_series_batch b;
    flush(g, &b);
    const char *const in[] = {"gen_ai_token_type", "input", NULL};
    const char *const cr[] = {"gen_ai_token_type", "cache_read", NULL};
    assert_true(near(value(&b, OSP_DERIVED_GENAI_TOKENS_TOTAL, in), 2 * 500));
    assert_true(near(value(&b, OSP_DERIVED_GENAI_COST, in), 2 * 500 * 2 / 1e6));
    assert_true(near(value(&b, OSP_DERIVED_GENAI_COST, cr), 2 * 400 * 0.5 / 1e6));
    osp_series_batch_cleanup(&b);
    osp_genai_deriver.destroy(g);
}

static void test_tools_agents_errors(void **state)
{
    (void)state;
    osp_derive_env env = {.prices = prices};
    void *g = create(&env);
    fixture tool, agent, failed, other;
    llm_call(&tool, "agent-svc", 3);
    tool.ai.type = OSP_GENAI_TOOL;
    tool.ai.operation = OSP_STR_LIT("execute_tool");
    tool.ai.is_error = 1;
    tool.ai.error_type = OSP_STR_LIT("timeout");
    llm_call(&agent, "agent-svc", 4);
    agent.ai.type = OSP_GENAI_AGENT;
    agent.ai.operation = OSP_STR_LIT("invoke_agent");
    llm_call(&failed, "agent-svc", 5);
    failed.ai.is_error = 1;
    llm_call(&other, "agent-svc", 6);
    other.ai.type = OSP_GENAI_RETRIEVER;
    osp_genai_deriver.add(g, &tool.ds, NOW_MS);
    osp_genai_deriver.add(g, &agent.ds, NOW_MS);
    osp_genai_deriver.add(g, &failed.ds, NOW_MS);
    osp_genai_deriver.add(g, &other.ds, NOW_MS);
    osp_series_batch b;
    flush(g, &b);

    const char *const tool_err[] = {"gen_ai_operation_name", "execute_tool", "error_type",
                                    "timeout", NULL};
    assert_true(near(value(&b, OSP_DERIVED_GENAI_DURATION "_count", tool_err), 1));
    assert_true(near(value(&b, OSP_DERIVED_GENAI_ERRORS, tool_err), 1));
    const char *const agent_ok[] = {"gen_ai_operation_name", "invoke_agent", NULL};
    const char *const no_error[] = {"error_type", NULL};
    find(&b, OSP_DERIVED_GENAI_DURATION "_count", agent_ok, no_error);
    const char *const chat_err[] = {"gen_ai_operation_name", "chat", "error_type", "_OTHER", NULL};
    assert_true(near(value(&b, OSP_DERIVED_GENAI_ERRORS, chat_err), 1));
    assert_true(near(value(&b, OSP_DERIVED_GENAI_DURATION "_count", chat_err), 1));
    /* Tools and agents have no token series; the retriever span counts nowhere. */
    assert_int_equal(count_named(&b, OSP_DERIVED_GENAI_TOKENS_TOTAL), 5);
    assert_int_equal(count_named(&b, OSP_DERIVED_GENAI_TOKENS "_count"), 2);
    assert_int_equal(count_named(&b, OSP_DERIVED_GENAI_DURATION "_count"), 3);
    osp_series_batch_cleanup(&b);
    osp_genai_deriver.destroy(g);
}

/* A serving engine's SERVER span of a model call is no call of its own: the caller's span
 * counts it. */
static void test_serving_side_not_counted(void **state)
{
    (void)state;
    osp_derive_env env = {.prices = prices};
    void *g = create(&env);
    fixture client, served;
    llm_call(&client, "router", 1);
    llm_call(&served, "llm-server", 1);
    client.span.kind = OSP_SPAN_KIND_CLIENT;
    served.span.kind = OSP_SPAN_KIND_SERVER;
    osp_genai_deriver.add(g, &client.ds, NOW_MS);
    osp_genai_deriver.add(g, &served.ds, NOW_MS);
    osp_series_batch b;
    flush(g, &b);
    assert_true(count_service(&b, OSP_DERIVED_GENAI_DURATION "_count", "router") > 0);
    assert_int_equal(count_service(&b, OSP_DERIVED_GENAI_DURATION "_count", "llm-server"), 0);
    assert_int_equal(count_service(&b, OSP_DERIVED_GENAI_TOKENS_TOTAL, "llm-server"), 0);
    osp_series_batch_cleanup(&b);
    osp_genai_deriver.destroy(g);
}

static void test_unpriced(void **state)
{
    (void)state;
    osp_metric *unpriced = osp_counter("osprey_genai_unpriced_calls_total", "", "");
    osp_derive_env env = {.prices = prices};
    void *g = create(&env);
    fixture x, none;
    llm_call(&x, "mystery-svc", 7);
    x.ai.request_model = OSP_STR_LIT("mystery-model");
    x.ai.response_model = OSP_STR_NULL;
    llm_call(&none, "mystery-svc", 8); /* no token counts: nothing to price */
    none.ai.request_model = x.ai.request_model;
    none.ai.input_tokens = none.ai.output_tokens = -1;
    none.ai.cache_read_tokens = none.ai.cache_write_tokens = none.ai.reasoning_tokens = -1;
    double before = osp_metric_value(unpriced);
    osp_genai_deriver.add(g, &x.ds, NOW_MS);
    osp_genai_deriver.add(g, &none.ds, NOW_MS);
    assert_true(osp_metric_value(unpriced) == before + 1);
    osp_series_batch b;
    flush(g, &b);
    assert_int_equal(count_named(&b, OSP_DERIVED_GENAI_COST), 0);
    assert_int_equal(count_named(&b, OSP_DERIVED_GENAI_TOKENS_TOTAL), 5);
    osp_series_batch_cleanup(&b);
    osp_genai_deriver.destroy(g);

    /* Without a price table there are no cost series and nothing is counted unpriced. */
    env.prices = NULL;
    g = create(&env);
    llm_call(&x, "mystery-svc", 9);
    osp_genai_deriver.add(g, &x.ds, NOW_MS);
    assert_true(osp_metric_value(unpriced) == before + 1);
    flush(g, &b);
    assert_int_equal(count_named(&b, OSP_DERIVED_GENAI_COST), 0);
    osp_series_batch_cleanup(&b);
    osp_genai_deriver.destroy(g);
}

/* Appends one app-sent series {__name__=name, job=job, le="+Inf"} with a sample at NOW_MS. */
static void append_app_series(osp_store *st, const char *name, const char *job)
{
    osp_series_batch b;
    osp_series_batch_init(&b);
    osp_label *l = osp_arena_calloc(&b.arena, 3, sizeof *l);
    osp_sample *smp = osp_arena_calloc(&b.arena, 1, sizeof *smp);
    assert_non_null(l);
    assert_non_null(smp);
    l[0] = (osp_label){OSP_STR_LIT("__name__"), osp_str_c(name)};
    l[1] = (osp_label){OSP_STR_LIT("job"), osp_str_c(job)};
    l[2] = (osp_label){OSP_STR_LIT("le"), OSP_STR_LIT("+Inf")};
    *smp = (osp_sample){NOW_MS - 10000, 3};
    osp_series *s = osp_series_batch_add(&b);
    assert_non_null(s);
    *s = (osp_series){.labels = l, .nlabels = 3, .samples = smp, .nsamples = 1};
    assert_int_equal(osp_store_append_series(st, &b, NULL), 0);
    osp_series_batch_cleanup(&b);
}

static void test_no_double_count(void **state)
{
    (void)state;
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/store", dir);
    osp_store_options opt = {.data_dir = sub, .fsync_policy = OSP_FSYNC_NEVER};
    osp_store *st = NULL;
    assert_int_equal(osp_store_open(&opt, &st), 0);
    append_app_series(st, "gen_ai_client_operation_duration_seconds_bucket", "sends-own");
    /* Translated from gen_ai.server.time_to_first_token of a namespaced service. */
    append_app_series(st, "gen_ai_server_time_to_first_token_seconds_bucket", "team/ttft-own");
    /* Another family's metric of another service does not count for this one. */
    append_app_series(st, "gen_ai_client_token_usage_bucket", "someone-else");

    osp_derive_env env = {.store = st, .prices = prices};
    void *g = create(&env);
    fixture own, plain, ns;
    llm_call(&own, "sends-own", 10);
    llm_call(&plain, "derived-only", 11);
    llm_call(&ns, "ttft-own", 12);
    osp_buf attrs;
    osp_buf_init(&attrs, 0);
    osp_value team = {.type = OSP_VAL_STRING, .s = OSP_STR_LIT("team")};
    assert_int_equal(osp_attr_append(&attrs, OSP_STR_LIT("service.namespace"), &team), 0);
    ns.res.attributes = osp_buf_str(&attrs);
    osp_genai_deriver.add(g, &own.ds, NOW_MS);
    osp_genai_deriver.add(g, &plain.ds, NOW_MS);
    osp_genai_deriver.add(g, &ns.ds, NOW_MS);
    osp_series_batch b;
    flush(g, &b);

    const char *dur = OSP_DERIVED_GENAI_DURATION "_count";
    assert_int_equal(count_service(&b, dur, "sends-own"), 0);
    assert_int_equal(count_service(&b, dur, "derived-only"), 1);
    assert_int_equal(count_service(&b, dur, "ttft-own"), 1);
    /* Families the app does not send are still derived for it. */
    assert_int_equal(count_service(&b, OSP_DERIVED_GENAI_TOKENS "_count", "sends-own"), 2);
    assert_int_equal(count_service(&b, OSP_DERIVED_GENAI_TTFT "_count", "sends-own"), 1);
    assert_int_equal(count_service(&b, OSP_DERIVED_GENAI_TTFT "_count", "ttft-own"), 0);
    assert_int_equal(count_service(&b, OSP_DERIVED_GENAI_TPOT "_count", "ttft-own"), 1);
    assert_int_equal(count_service(&b, OSP_DERIVED_GENAI_TOKENS "_count", "derived-only"), 2);
    /* Token and cost counters are always derived. */
    assert_int_equal(count_service(&b, OSP_DERIVED_GENAI_TOKENS_TOTAL, "sends-own"), 5);
    assert_int_equal(count_service(&b, OSP_DERIVED_GENAI_COST, "sends-own"), 4);
    osp_series_batch_cleanup(&b);

    /* The answer is remembered for a minute: a service that starts sending its own
     * metric is still derived until its check is a minute old, then no longer. */
    append_app_series(st, "gen_ai_client_operation_duration_seconds_bucket", "derived-only");
    osp_genai_deriver.add(g, &plain.ds, NOW_MS + 30000);
    osp_genai_deriver.add(g, &plain.ds, NOW_MS + 61000);
    flush(g, &b);
    const char *const plain_kv[] = {"service_name", "derived-only", NULL};
    assert_true(near(value(&b, dur, plain_kv), 2));
    assert_true(near(value(&b, OSP_DERIVED_GENAI_TOKENS_TOTAL "",
                           (const char *const[]){"service_name", "derived-only",
                                                 "gen_ai_token_type", "output", NULL}),
                     3 * 200));
    osp_series_batch_cleanup(&b);

    osp_genai_deriver.destroy(g);
    osp_buf_cleanup(&attrs);
    osp_store_close(st);
}

/* Creation under every allocation failing in turn gives NULL and leaks nothing; adds
 * whose series cannot be allocated are dropped and counted. */
static void test_out_of_memory(void **state)
{
    (void)state;
    osp_derive_env env = {.prices = prices};
    void *g = NULL;
    for (unsigned long n = 1; !g; n++) {
        osp_mem_fail_after(n);
        g = osp_genai_deriver.create(&env);
        osp_mem_fail_after(0);
        assert_true(n < 10000);
    }
    osp_metric *dropped = osp_counter("osprey_genai_dropped_observations_total", "", "");
    double before = osp_metric_value(dropped);
    fixture x;
    llm_call(&x, "oom-svc", 13);
    osp_mem_fail_after(1);
    osp_genai_deriver.add(g, &x.ds, NOW_MS);
    osp_mem_fail_after(0);
    assert_true(osp_metric_value(dropped) > before);
    osp_genai_deriver.destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llm_call_every_family),
        cmocka_unit_test(test_cache_inside_and_beside),
        cmocka_unit_test(test_tools_agents_errors),
        cmocka_unit_test(test_serving_side_not_counted),
        cmocka_unit_test(test_unpriced),
        cmocka_unit_test(test_no_double_count),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
