/* The GenAI deriver: OpenTelemetry GenAI metrics (duration, token usage, TTFT, TPOT) and
 * Osprey's token, cost and error counters from normalized AI spans, skipping the kinds an
 * application already sends for its service. */
#include "analytics/genai_metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analytics/pricing.h"
#include "analytics/seriestab.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "model/attr.h"
#include "model/otlp_prom.h"
#include "store/store.h"

enum family {
    F_DURATION, /* the first F_APP families are those applications may send themselves */
    F_TOKENS,
    F_TTFT,
    F_TPOT,
    F_TOKENS_TOTAL,
    F_COST,
    F_ERRORS,
    F_COUNT
};
#define F_APP 4

#define NBASE 5 /* labels every family has; one more names the error or token type */
#define NLABELS (NBASE + 1)
#define APP_CHECK_EVERY_MS 60000
#define APP_LOOKBACK_MS 3600000
#define APP_CACHE_MAX 256 /* services remembered; the longest unchecked one is replaced */
#define MAX_JOB_BYTES 512

#define BASE_LABELS                                                                                \
    "service_name", "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model",       \
        "gen_ai_response_model"
static const char *const labels_error[NLABELS] = {BASE_LABELS, "error_type"};
static const char *const labels_token[NLABELS] = {BASE_LABELS, "gen_ai_token_type"};

/* The GenAI metrics applications send (OpenTelemetry names and units as released, and as
 * drafted on the semantic conventions' main branch), by the derived family each stands
 * for. A service whose store series include one of them, under the Prometheus name the
 * OTLP translation gives it or under the name as sent, gets no derived series of that
 * family. */
static const struct app_metric {
    const char *name, *unit;
    int counter;
    int family;
} app_metrics[] = {
    {"gen_ai.client.operation.duration", "s", 0, F_DURATION},
    {"gen_ai.client.inference.duration", "s", 0, F_DURATION},
    {"gen_ai.client.embeddings.duration", "s", 0, F_DURATION},
    {"gen_ai.server.request.duration", "s", 0, F_DURATION},
    {"gen_ai.client.token.usage", "{token}", 0, F_TOKENS},
    {"gen_ai.client.inference.operation.input_tokens", "{token}", 0, F_TOKENS},
    {"gen_ai.client.inference.operation.output_tokens", "{token}", 0, F_TOKENS},
    {"gen_ai.client.embeddings.operation.input_tokens", "{token}", 0, F_TOKENS},
    {"gen_ai.client.inference.usage.input_tokens", "{token}", 1, F_TOKENS},
    {"gen_ai.client.inference.usage.output_tokens", "{token}", 1, F_TOKENS},
    {"gen_ai.server.time_to_first_token", "s", 0, F_TTFT},
    {"gen_ai.client.operation.time_to_first_chunk", "s", 0, F_TTFT},
    {"gen_ai.client.inference.time_to_first_chunk", "s", 0, F_TTFT},
    {"gen_ai.server.time_per_output_token", "s", 0, F_TPOT},
    {"gen_ai.client.operation.time_per_output_chunk", "s", 0, F_TPOT},
    {"gen_ai.client.inference.time_per_output_chunk", "s", 0, F_TPOT},
};
#define NAPP (sizeof app_metrics / sizeof *app_metrics)

/* What may follow a family name in a series name. */
static const char *const series_suffixes[] = {"", "_bucket", "_count", "_sum", "_total"};

/* Token types of the counters, in the order of usage.n. */
enum { T_INPUT, T_CACHE_READ, T_CACHE_WRITE, T_OUTPUT, T_REASONING, T_COUNT };
static const char *const token_types[T_COUNT] = {"input", "cache_read", "cache_write", "output",
                                                 "reasoning"};

/* What one service was found to send, and when that was checked. */
typedef struct app_check {
    char *job;      /* owned */
    int64_t at_ms;  /* arrival clock of the check */
    unsigned sends; /* 1 << family for each family it sends */
} app_check;

typedef struct genai_metrics {
    const osp_derive_env *env;
    osp_family fam[F_COUNT];
    osp_seriestab *tab[F_COUNT];
    osp_buf names; /* NUL-separated app metric series-name stems */
    int name_family[2 * NAPP];
    size_t nnames;
    app_check checks[APP_CACHE_MAX];
    size_t nchecks;
    osp_metric *unpriced, *dropped;
} genai_metrics;

/* One call being accounted. */
typedef struct call {
    genai_metrics *g;
    const osp_derived_span *s;
    int64_t now_ms;
    unsigned app;           /* families its service sends itself */
    osp_str v[NLABELS];     /* label values; v[NBASE] is set per observation */
    osp_seriestab_key base; /* of v[0..NBASE), hashed once per call */
} call;

/* The families; the histograms' bucket counts are set by families_init (they are not
 * constant expressions). */
static const osp_family families[F_COUNT] = {
    [F_DURATION] = {OSP_DERIVED_GENAI_DURATION, OSP_KIND_HISTOGRAM,
                    "GenAI operation duration, derived from spans", "seconds", labels_error,
                    NLABELS, osp_derived_genai_duration_buckets, 0},
    [F_TOKENS] = {OSP_DERIVED_GENAI_TOKENS, OSP_KIND_HISTOGRAM,
                  "Tokens per GenAI call, derived from spans", "tokens", labels_token, NLABELS,
                  osp_derived_genai_token_buckets, 0},
    [F_TTFT] = {OSP_DERIVED_GENAI_TTFT, OSP_KIND_HISTOGRAM,
                "Time to first token of streamed GenAI calls, derived from spans", "seconds",
                labels_error, NBASE, osp_derived_genai_ttft_buckets, 0},
    [F_TPOT] = {OSP_DERIVED_GENAI_TPOT, OSP_KIND_HISTOGRAM,
                "Time per output token after the first, derived from spans", "seconds",
                labels_error, NBASE, osp_derived_genai_tpot_buckets, 0},
    [F_TOKENS_TOTAL] = {OSP_DERIVED_GENAI_TOKENS_TOTAL, OSP_KIND_COUNTER,
                        "GenAI tokens by type (input without cache reads and writes; output "
                        "with reasoning)",
                        "tokens", labels_token, NLABELS, NULL, 0},
    [F_COST] = {OSP_DERIVED_GENAI_COST, OSP_KIND_COUNTER,
                "GenAI cost in US dollars by token type, priced at ingest", "", labels_token,
                NLABELS, NULL, 0},
    [F_ERRORS] = {OSP_DERIVED_GENAI_ERRORS, OSP_KIND_COUNTER, "Failed GenAI calls by error type",
                  "", labels_error, NLABELS, NULL, 0},
};

static void families_init(osp_family *f)
{
    memcpy(f, families, sizeof families);
    f[F_DURATION].nbuckets = osp_derived_genai_duration_nbuckets;
    f[F_TOKENS].nbuckets = osp_derived_genai_token_nbuckets;
    f[F_TTFT].nbuckets = osp_derived_genai_ttft_nbuckets;
    f[F_TPOT].nbuckets = osp_derived_genai_tpot_nbuckets;
}

/* The series-name stems of app_metrics: the translated Prometheus family name and the
 * name as sent (the no-translation naming), each NUL-terminated in g->names. */
static int app_names_init(genai_metrics *g)
{
    int rc = 0;
    for (size_t i = 0; i < NAPP && rc == 0; i++) {
        const struct app_metric *a = &app_metrics[i];
        int total;
        rc = osp_prom_metric_name(osp_str_c(a->name), osp_str_c(a->unit), a->counter, 0,
                                  OSP_PROM_UNDERSCORE_SUFFIXES, &g->names, &total);
        if (rc == 0 && (rc = osp_buf_putc(&g->names, '\0')) == 0)
            rc = osp_buf_puts(&g->names, a->name);
        if (rc == 0 && (rc = osp_buf_putc(&g->names, '\0')) == 0) {
            g->name_family[g->nnames++] = a->family;
            g->name_family[g->nnames++] = a->family;
        }
    }
    return rc;
}

static void gm_destroy(void *self)
{
    genai_metrics *g = self;
    if (!g)
        return;
    for (int f = 0; f < F_COUNT; f++)
        osp_seriestab_destroy(g->tab[f]);
    for (size_t i = 0; i < g->nchecks; i++)
        osp_free(g->checks[i].job);
    osp_buf_cleanup(&g->names);
    osp_free(g);
}

static void *gm_create(const osp_derive_env *env)
{
    genai_metrics *g = osp_calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->env = env;
    osp_buf_init(&g->names, 0);
    families_init(g->fam);
    for (int f = 0; f < F_COUNT; f++) {
        if (!(g->tab[f] = osp_seriestab_create(&g->fam[f]))) {
            gm_destroy(g);
            return NULL;
        }
    }
    if (app_names_init(g) != 0) {
        gm_destroy(g);
        return NULL;
    }
    g->unpriced = osp_counter("osprey_genai_unpriced_calls_total",
                              "GenAI calls with token counts but no price for their model", "");
    g->dropped = osp_counter("osprey_genai_dropped_observations_total",
                             "GenAI metric observations lost for want of memory", "");
    return g;
}

/* The family bit of a series name that is one of the app metrics, or 0. */
static unsigned app_family_bit(const genai_metrics *g, osp_str series)
{
    const char *stem = g->names.data;
    for (size_t i = 0; i < g->nnames; i++, stem += strlen(stem) + 1) {
        osp_str st = osp_str_c(stem);
        if (!osp_str_has_prefix(series, st))
            continue;
        osp_str rest = osp_str_make(series.p + st.n, series.n - st.n);
        for (size_t k = 0; k < sizeof series_suffixes / sizeof *series_suffixes; k++)
            if (osp_str_eqz(rest, series_suffixes[k]))
                return 1u << g->name_family[i];
    }
    return 0;
}

/* The families job sends itself, asked of the store. Unknown (0) when the store cannot
 * say: derived series are then written. */
static unsigned query_app(const genai_metrics *g, osp_str job, int64_t now_ms)
{
    const osp_label_matcher m[2] = {
        {OSP_MATCH_RE, OSP_STR_LIT(OSP_METRIC_NAME_LABEL), OSP_STR_LIT("gen_ai[._].*")},
        {OSP_MATCH_EQ, OSP_STR_LIT("job"), job},
    };
    osp_arena arena;
    osp_str *names;
    size_t n;
    unsigned sends = 0;
    osp_arena_init(&arena, 0, 0);
    int rc = osp_store_label_values(g->env->store, OSP_STR_LIT(OSP_METRIC_NAME_LABEL), m, 2,
                                    now_ms - APP_LOOKBACK_MS, now_ms + APP_CHECK_EVERY_MS, &arena,
                                    &names, &n);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            sends |= app_family_bit(g, names[i]);
    } else {
        osp_debug("genai", "cannot tell which GenAI metrics %.*s sends: %s", OSP_STR_FMT(job),
                  osp_strerror(rc));
    }
    osp_arena_cleanup(&arena);
    return sends;
}

/* The remembered check of job, or a slot for it (a new one, or the longest unchecked). */
static app_check *check_slot(genai_metrics *g, osp_str job)
{
    app_check *oldest = NULL;
    for (size_t i = 0; i < g->nchecks; i++) {
        app_check *c = &g->checks[i];
        if (osp_str_eqz(job, c->job))
            return c;
        if (!oldest || c->at_ms < oldest->at_ms)
            oldest = c;
    }
    char *z = osp_strndup(job.p, job.n);
    if (!z)
        return NULL;
    app_check *c = oldest;
    if (g->nchecks < APP_CACHE_MAX)
        c = &g->checks[g->nchecks++];
    else
        osp_free(c->job);
    *c = (app_check){.job = z, .at_ms = INT64_MIN};
    return c;
}

/* The job label OTLP metrics of this resource carry (model/otlp_prom.c): "namespace/name"
 * or "name"; empty when there is none or it does not fit buf. */
static osp_str job_of(const osp_resource *r, char *buf, size_t cap)
{
    osp_value ns;
    if (!r || r->service_name.n == 0)
        return OSP_STR_NULL;
    if (osp_attr_find(r->attributes, OSP_STR_LIT("service.namespace"), &ns) != 1 ||
        ns.type != OSP_VAL_STRING || ns.s.n == 0)
        return r->service_name;
    int n = snprintf(buf, cap, "%.*s/%.*s", OSP_STR_FMT(ns.s), OSP_STR_FMT(r->service_name));
    return n > 0 && (size_t)n < cap ? osp_str_make(buf, (size_t)n) : OSP_STR_NULL;
}

/* The families the span's service sends itself (checked at most once a minute). */
static unsigned app_sends(genai_metrics *g, const osp_resource *r, int64_t now_ms)
{
    char buf[MAX_JOB_BYTES];
    osp_str job = job_of(r, buf, sizeof buf);
    if (!g->env || !g->env->store || job.n == 0)
        return 0;
    app_check *c = check_slot(g, job);
    if (!c)
        return 0;
    if (c->at_ms == INT64_MIN || now_ms - c->at_ms >= APP_CHECK_EVERY_MS || now_ms < c->at_ms) {
        c->sends = query_app(g, job, now_ms);
        c->at_ms = now_ms;
    }
    return c->sends;
}

/* Adds x to family f's series of this call, with extra as its last label value, unless
 * the service sends that family itself. */
static void put(call *c, int f, osp_str extra, double x)
{
    if (f < F_APP && (c->app & 1u << f))
        return;
    osp_seriestab_key k = c->base;
    c->v[NBASE] = extra;
    if (c->g->fam[f].nlabels > NBASE)
        osp_seriestab_key_push(&k, &extra, 1);
    if (osp_seriestab_add_key(c->g->tab[f], c->v, &k, x, c->s->span->trace_id, c->now_ms) != 0)
        osp_counter_inc(c->g->dropped);
}

static void put_duration_and_error(call *c)
{
    const osp_span *sp = c->s->span;
    const osp_genai *ai = c->s->genai;
    double secs = sp->end_ns > sp->start_ns ? (double)(sp->end_ns - sp->start_ns) / 1e9 : 0;
    osp_str err = OSP_STR_NULL;
    if (ai->is_error)
        err = ai->error_type.n ? ai->error_type : OSP_STR_LIT("_OTHER");
    put(c, F_DURATION, err, secs);
    if (ai->is_error)
        put(c, F_ERRORS, err, 1);
}

/* The per-call histograms: tokens in and out, TTFT, TPOT. */
static void put_histograms(call *c)
{
    const osp_genai *ai = c->s->genai;
    if (ai->input_tokens >= 0)
        put(c, F_TOKENS, osp_str_c(token_types[T_INPUT]), (double)ai->input_tokens);
    if (ai->output_tokens >= 0)
        put(c, F_TOKENS, osp_str_c(token_types[T_OUTPUT]), (double)ai->output_tokens);
    if (ai->ttft_ns >= 0)
        put(c, F_TTFT, OSP_STR_NULL, (double)ai->ttft_ns / 1e9);
    if (ai->tpot_ns >= 0)
        put(c, F_TPOT, OSP_STR_NULL, (double)ai->tpot_ns / 1e9);
}

static double count_of(int64_t n)
{
    return n > 0 ? (double)n : 0;
}

/* Tokens by type: input_tokens includes the cache reads and writes (model/genai.h corrects
 * spans that counted them beside it), so the uncached input is what is left. */
static void usage_of(const osp_genai *ai, double u[T_COUNT])
{
    u[T_CACHE_READ] = count_of(ai->cache_read_tokens);
    u[T_CACHE_WRITE] = count_of(ai->cache_write_tokens);
    u[T_INPUT] = fmax(0, count_of(ai->input_tokens) - u[T_CACHE_READ] - u[T_CACHE_WRITE]);
    u[T_OUTPUT] = count_of(ai->output_tokens);
    u[T_REASONING] = count_of(ai->reasoning_tokens);
}

/* Cost by token type at the price in force when the span ended (the response model's,
 * else the request model's); unpriced calls are counted instead. */
static void put_cost(call *c, const double u[T_COUNT])
{
    const osp_genai *ai = c->s->genai;
    const osp_price_table *prices = c->g->env ? c->g->env->prices : NULL;
    int64_t t_ms = (int64_t)(c->s->span->end_ns / 1000000);
    osp_price p;
    if (!prices || u[T_INPUT] + u[T_CACHE_READ] + u[T_CACHE_WRITE] + u[T_OUTPUT] == 0)
        return;
    if (!osp_price_lookup(prices, ai->provider, ai->response_model, t_ms, &p) &&
        !osp_price_lookup(prices, ai->provider, ai->request_model, t_ms, &p)) {
        osp_counter_inc(c->g->unpriced);
        return;
    }
    const double cost[] = {
        osp_price_cost(&p, u[T_INPUT], 0, 0, 0), osp_price_cost(&p, 0, u[T_CACHE_READ], 0, 0),
        osp_price_cost(&p, 0, 0, u[T_CACHE_WRITE], 0), osp_price_cost(&p, 0, 0, 0, u[T_OUTPUT])};
    for (int i = T_INPUT; i <= T_OUTPUT; i++)
        if (cost[i] > 0)
            put(c, F_COST, osp_str_c(token_types[i]), cost[i]);
}

static void put_tokens(call *c)
{
    double u[T_COUNT];
    usage_of(c->s->genai, u);
    for (int i = 0; i < T_COUNT; i++)
        if (u[i] > 0)
            put(c, F_TOKENS_TOTAL, osp_str_c(token_types[i]), u[i]);
    put_cost(c, u);
}

static void gm_add(void *self, const osp_derived_span *s, int64_t now_ms)
{
    genai_metrics *g = self;
    const osp_genai *ai = s->genai;
    int type = ai ? ai->type : OSP_GENAI_NONE;
    int model_call = type == OSP_GENAI_LLM || type == OSP_GENAI_EMBEDDING;
    if ((!model_call && type != OSP_GENAI_TOOL && type != OSP_GENAI_AGENT) ||
        osp_genai_serves_call(ai, s->span))
        return;
    call c = {g,
              s,
              now_ms,
              app_sends(g, s->resource, now_ms),
              {s->resource ? s->resource->service_name : OSP_STR_NULL, ai->operation, ai->provider,
               ai->request_model, ai->response_model, OSP_STR_NULL},
              OSP_SERIESTAB_KEY_INIT};
    osp_seriestab_key_push(&c.base, c.v, NBASE);
    put_duration_and_error(&c);
    if (model_call) {
        put_histograms(&c);
        put_tokens(&c);
    }
}

static int gm_flush(void *self, int64_t t_ms, osp_series_batch *out)
{
    genai_metrics *g = self;
    int rc = 0;
    for (int f = 0; f < F_COUNT && rc == 0; f++)
        rc = osp_seriestab_flush(g->tab[f], t_ms, out);
    return rc;
}

const osp_deriver osp_genai_deriver = {
    .name = "genai",
    .create = gm_create,
    .add = gm_add,
    .flush = gm_flush,
    .destroy = gm_destroy,
};
