/* Derived series: the metric names, labels and buckets Osprey derives from spans on the
 * write path (docs/golden-signals.md lists them for users), and the interface every
 * deriver implements so the pipeline (pipeline/derive.h) can feed and flush them alike.
 *
 * Derived series are cumulative from the server's start (a restart is a counter reset,
 * which rate() and increase() handle) and stamped with the time of the flush that wrote
 * them, as the OpenTelemetry collector's spanmetrics and servicegraph connectors do. */
#ifndef OSP_ANALYTICS_DERIVED_H
#define OSP_ANALYTICS_DERIVED_H

#include <stddef.h>
#include <stdint.h>

#include "model/genai.h"
#include "model/series.h"
#include "model/span.h"

/* ---- RED per service, span name, kind and status (the spanmetrics connector's and Tempo's
 * names). Labels: service_name, span_name, span_kind ("SPAN_KIND_SERVER" ...), status_code
 * ("STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"). */
#define OSP_DERIVED_CALLS "traces_span_metrics_calls_total"
#define OSP_DERIVED_DURATION "traces_span_metrics_duration_seconds" /* histogram */

/* ---- Service graph (Tempo's metrics-generator names). Labels: client, server,
 * connection_type ("" for two instrumented services, "virtual_node" for an uninstrumented
 * peer, "database", "messaging_system"). */
#define OSP_DERIVED_GRAPH_TOTAL "traces_service_graph_request_total"
#define OSP_DERIVED_GRAPH_FAILED "traces_service_graph_request_failed_total"
#define OSP_DERIVED_GRAPH_SERVER "traces_service_graph_request_server_seconds" /* histogram */
#define OSP_DERIVED_GRAPH_CLIENT "traces_service_graph_request_client_seconds" /* histogram */

/* ---- GenAI (OpenTelemetry GenAI metric names as Prometheus sees them). Labels:
 * service_name, gen_ai_operation_name, gen_ai_provider_name, gen_ai_request_model,
 * gen_ai_response_model, and error_type on failed calls. */
#define OSP_DERIVED_GENAI_DURATION "gen_ai_client_operation_duration_seconds" /* histogram */
#define OSP_DERIVED_GENAI_TOKENS "gen_ai_client_token_usage" /* histogram, gen_ai_token_type */
#define OSP_DERIVED_GENAI_TTFT "gen_ai_server_time_to_first_token_seconds"   /* histogram */
#define OSP_DERIVED_GENAI_TPOT "gen_ai_server_time_per_output_token_seconds" /* histogram */
/* Token counts by gen_ai_token_type: "input" (not cached), "cache_read", "cache_write",
 * "output" (reasoning included), "reasoning": what cost is computed from at query time. */
#define OSP_DERIVED_GENAI_TOKENS_TOTAL "gen_ai_client_tokens_total"
/* Cost in US dollars by gen_ai_token_type, priced at ingest with the table then in force
 * (the APIs recompute cost from the token counts at query time instead). */
#define OSP_DERIVED_GENAI_COST "gen_ai_client_cost_usd_total"
/* Failed calls by error_type. */
#define OSP_DERIVED_GENAI_ERRORS "gen_ai_client_errors_total"

/* Bucket upper bounds (seconds, or tokens), +Inf implied. */
extern const double osp_derived_span_buckets[]; /* spanmetrics connector defaults */
extern const size_t osp_derived_span_nbuckets;
extern const double osp_derived_graph_buckets[]; /* Tempo service-graph defaults */
extern const size_t osp_derived_graph_nbuckets;
extern const double osp_derived_genai_duration_buckets[]; /* semconv GenAI recommendations */
extern const size_t osp_derived_genai_duration_nbuckets;
extern const double osp_derived_genai_token_buckets[];
extern const size_t osp_derived_genai_token_nbuckets;
extern const double osp_derived_genai_ttft_buckets[];
extern const size_t osp_derived_genai_ttft_nbuckets;
extern const double osp_derived_genai_tpot_buckets[];
extern const size_t osp_derived_genai_tpot_nbuckets;

/* One span as the derivers see it: the row, its resource, and its canonical GenAI fields
 * (type NONE for a span that is not an AI span). */
typedef struct osp_derived_span {
    const osp_span *span;
    const osp_resource *resource;
    const osp_genai *genai;
} osp_derived_span;

struct osp_store;
struct osp_price_table;

/* What derivers may consult besides the spans. */
typedef struct osp_derive_env {
    struct osp_store *store;              /* e.g. whether an app sends a GenAI metric itself */
    const struct osp_price_table *prices; /* NULL: no cost series */
} osp_derive_env;

/* A deriver: a descriptor with function pointers (pipeline/derive.c holds the list). Each
 * instance is used under the pipeline's lock for it, so implementations need no locking. */
typedef struct osp_deriver {
    const char *name;
    /* NULL on out of memory. env outlives the instance. */
    void *(*create)(const osp_derive_env *env);
    /* Accounts one stored span. now_ms is the arrival time (for pairing windows). */
    void (*add)(void *self, const osp_derived_span *s, int64_t now_ms);
    /* Appends every series it keeps, cumulative, with samples at t_ms (and exemplars with
     * a trace_id label where it has one), to out. 0 or OSP_ENOMEM. */
    int (*flush)(void *self, int64_t t_ms, osp_series_batch *out);
    void (*destroy)(void *self);
} osp_deriver;

#endif
