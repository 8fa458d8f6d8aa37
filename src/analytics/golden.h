/* Golden signals read back from the derived series (analytics/derived.h): exact counts,
 * rates, error ratios and latency quantiles per service, per service-graph edge and per
 * model, and LLM cost priced at query time (analytics/pricing.h); also the GenAI fields of
 * a trace's spans for the diagnostic. No HTTP here: api/golden.c renders the results.
 *
 * Counts are exact increases of the cumulative series over (start, end]: the sum of the
 * rises between consecutive samples, a drop (a restart) counting the value after it, and
 * a series with no sample at or before start counting from 0. Quantiles interpolate
 * within buckets as PromQL's histogram_quantile does. Ranges are read in chunks of at most
 * one hour, so memory stays bounded by an hour of samples whatever the range. */
#ifndef OSP_ANALYTICS_GOLDEN_H
#define OSP_ANALYTICS_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/pricing.h"
#include "core/arena.h"
#include "model/genai.h"
#include "model/labels.h"
#include "model/span.h"
#include "store/store.h"

/* Longest range a computation accepts, and most steps of a time series. */
#define OSP_GOLDEN_MAX_RANGE_MS (366ll * 24 * 3600 * 1000)
#define OSP_GOLDEN_MAX_STEPS 11000
/* Rows of the overview's model list. */
#define OSP_GOLDEN_TOP_MODELS 10

/* What every computation reads. */
typedef struct osp_golden_env {
    osp_store *store;
    osp_price_table *prices; /* NULL: every cost is 0 */
    int64_t interval_ms;     /* the derive interval (pipeline/derive.h); 0 picks 15000 */
} osp_golden_env;

/* ---- building blocks ---- */

/* The exact increase of a cumulative series over (start_ms, end_ms] from its samples s[0..n)
 * (ascending; NaN samples, staleness markers included, are skipped): the baseline is the
 * last sample at or before start_ms (none: 0); each later sample inside the window adds
 * its rise over the previous one, or its whole value after a drop (a counter reset). */
double osp_golden_increase(const osp_sample *s, size_t n, int64_t start_ms, int64_t end_ms);

/* One bucket of a classic histogram: upper bound and cumulative count. */
typedef struct osp_golden_bucket {
    double le;
    double count;
} osp_golden_bucket;

/* The q-quantile (0 <= q <= 1) of cumulative buckets b[0..n), ascending by le, the last
 * being +Inf, as PromQL's histogram_quantile computes it: linear interpolation within
 * the bucket the rank falls in (from 0 for the first bucket when its bound is positive),
 * the highest finite bound when it falls in +Inf. Counts that drop from one bucket to the
 * next count as the running maximum. NaN without observations, without a +Inf bucket or
 * with fewer than two buckets. */
double osp_golden_quantile(double q, const osp_golden_bucket *b, size_t n);

/* ---- RED and the service graph ---- */

/* Figures of one service, edge or node over the range. */
typedef struct osp_golden_red {
    double calls, errors;
    double rate;          /* calls per second */
    double error_rate;    /* errors / calls; 0 without calls */
    double p50, p95, p99; /* seconds; NaN without observations */
} osp_golden_red;

typedef struct osp_golden_service {
    osp_str name;
    osp_golden_red red;
} osp_golden_service;

/* LLM usage of one group (a model, a provider or a service) over the range. */
typedef struct osp_golden_usage {
    osp_str key;             /* the model, provider or service; for the overview, the model */
    osp_str provider, model; /* set when grouped by model */
    double calls, errors;
    double input_tokens; /* every input token, cached ones included (OTel's input_tokens) */
    double output_tokens, cache_read_tokens, cache_write_tokens;
    double cost; /* USD, priced at query time */
    double latency_p50, latency_p95, ttft_p50, ttft_p95, tpot_p50, tpot_p95; /* s; NaN: none */
    double streaming_share; /* calls with a TTFT / calls; 0 without calls */
} osp_golden_usage;

typedef struct osp_golden_overview {
    osp_golden_service *services; /* by name */
    size_t nservices;
    osp_golden_usage *models; /* the top OSP_GOLDEN_TOP_MODELS by calls, then cost */
    size_t nmodels;
} osp_golden_overview;

/* RED per service over (start_ms, end_ms] from its SERVER and CONSUMER spans (all its
 * spans when it has none of those in the range), and the busiest models. Services and
 * models without calls in the range are left out. Results live in arena. 0, OSP_EINVAL
 * (end not after start, or a range past OSP_GOLDEN_MAX_RANGE_MS), OSP_ENOMEM, or the
 * store's error. */
int osp_golden_overview_get(const osp_golden_env *env, int64_t start_ms, int64_t end_ms,
                            osp_arena *arena, osp_golden_overview *out);

/* Health flags, or-ed; none is "ok". */
enum {
    OSP_HEALTH_BUSY = 1u << 0,    /* rate >= busy_rps */
    OSP_HEALTH_SLOW = 1u << 1,    /* p95 >= slow_p95_s */
    OSP_HEALTH_FAILING = 1u << 2, /* error_rate >= failing_error_rate */
};

typedef struct osp_golden_thresholds {
    double busy_rps;           /* requests per second */
    double slow_p95_s;         /* seconds */
    double failing_error_rate; /* a ratio, 0..1 */
} osp_golden_thresholds;

/* The health flags of figures r under thresholds t (a NaN p95 is never slow). */
unsigned osp_golden_health(const osp_golden_thresholds *t, const osp_golden_red *r);

typedef struct osp_golden_node {
    osp_str id;
    int is_virtual; /* not an instrumented service: a database, a provider, "user" ... */
    osp_golden_red red;
    unsigned health;
} osp_golden_node;

typedef struct osp_golden_edge {
    size_t client, server;   /* node indexes */
    osp_str connection_type; /* "" between two services, "virtual_node", "database", ... */
    osp_golden_red red;
    unsigned health;
} osp_golden_edge;

typedef struct osp_golden_topology {
    osp_golden_node *nodes; /* by id */
    size_t nnodes;
    osp_golden_edge *edges; /* by client, then server */
    size_t nedges;
    size_t *hot_path; /* node indexes from a root */
    size_t nhot;
} osp_golden_topology;

/* The service graph over (start_ms, end_ms]: an edge per (client, server, connection
 * type) with requests in the range (p95 from the server side, the client side where the
 * server is not instrumented); a node per name, with the figures of the requests it
 * served (a root, which served none: of those it sent); health under t; and the hot
 * path. Results live in arena. Errors as osp_golden_overview_get. */
int osp_golden_topology_get(const osp_golden_env *env, const osp_golden_thresholds *t,
                            int64_t start_ms, int64_t end_ms, osp_arena *arena,
                            osp_golden_topology *out);

/* The hot path of topo's nodes and edges (edges sorted by client, as
 * osp_golden_topology_get gives them): among the chains of edges from a root (a node
 * that is the server of no edge) that visit no node twice, the one with the largest sum
 * of rate x p95 over its edges (NaN p95 weighs 0); its node indexes into topo->hot_path,
 * allocated in arena (none: nhot 0). The search stops after a bounded number of steps and
 * keeps the best chain found. 0 or OSP_ENOMEM. */
int osp_golden_hot_path(osp_golden_topology *topo, osp_arena *arena);

/* ---- LLM usage ---- */

enum osp_golden_group { OSP_GOLDEN_BY_MODEL, OSP_GOLDEN_BY_PROVIDER, OSP_GOLDEN_BY_SERVICE };

/* LLM usage per group over (start_ms, end_ms], by key. Calls are the model calls (spans
 * of type llm or embedding); tool and agent spans are left out. Cost uses the price in
 * force at the end of each hour-long sub-range. Results in arena. Errors as
 * osp_golden_overview_get. */
int osp_golden_models_get(const osp_golden_env *env, int by, int64_t start_ms, int64_t end_ms,
                          osp_arena *arena, osp_golden_usage **out, size_t *n);

enum osp_golden_metric {
    OSP_GOLDEN_CALLS,
    OSP_GOLDEN_ERRORS,
    OSP_GOLDEN_TOKENS, /* input (cached included) + output */
    OSP_GOLDEN_COST,
    OSP_GOLDEN_LATENCY_P95,
    OSP_GOLDEN_TTFT_P95,
    OSP_GOLDEN_TPOT_P95,
};

typedef struct osp_golden_series {
    osp_str key;
    double *v; /* one value per step; NaN: no observation (quantiles) */
} osp_golden_series;

/* metric per group at each step end t = start + k x step (k = 1 .. (end - start) / step),
 * each over (t - step, t]. *nsteps their number. Series by key, in arena. OSP_EINVAL also
 * for a step that is not positive, larger than the range, or that makes more than
 * OSP_GOLDEN_MAX_STEPS steps. */
int osp_golden_timeseries_get(const osp_golden_env *env, int metric, int by, int64_t start_ms,
                              int64_t end_ms, int64_t step_ms, osp_arena *arena,
                              osp_golden_series **out, size_t *n, size_t *nsteps);

/* ---- diagnostic ---- */

/* Normalizes every span of b (osp_genai_normalize) into out[0..b->nspans) (allocated in
 * arena, strings in arena or b), with session and user ids inherited down each span's
 * parent chain within b. 0 or OSP_ENOMEM. */
int osp_golden_diagnose(const osp_span_batch *b, osp_arena *arena, osp_genai **out);

#endif
