/* The golden-signal APIs on --http-addr: service RED and model usage at a glance
 * (/api/v1/overview), the service graph with health and its hot path (/api/v1/topology),
 * LLM usage per model, provider or service (/api/v1/llm/models, /api/v1/llm/timeseries)
 * and how each span of a trace was read as GenAI telemetry (/api/v1/llm/diagnose). JSON
 * answers, errors as {"error":"..."}; documented in docs/golden-signals.md. */
#ifndef OSP_API_GOLDEN_H
#define OSP_API_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/golden.h"
#include "analytics/pricing.h"
#include "net/http.h"
#include "store/store.h"

/* Routes osp_golden_api_routes gives. */
#define OSP_GOLDEN_API_NROUTES 5

/* Topology health thresholds of `osprey serve` unless flags say otherwise. */
#define OSP_GOLDEN_DEFAULT_BUSY_RPS 50.0
#define OSP_GOLDEN_DEFAULT_SLOW_P95_S 0.8
#define OSP_GOLDEN_DEFAULT_FAILING_ERROR_RATE 0.05

typedef struct osp_golden_api osp_golden_api;

typedef struct osp_golden_api_options {
    osp_price_table *prices;          /* borrowed, refreshed before use; NULL: costs are 0 */
    int64_t interval_ms;              /* the derive interval; 0 picks 15 s */
    osp_golden_thresholds thresholds; /* topology health, used as given */
} osp_golden_api_options;

/* Creates the API over store (borrowed; store and opt->prices must outlive the API).
 * 0 or OSP_ENOMEM. */
int osp_golden_api_create(osp_store *store, const osp_golden_api_options *opt,
                          osp_golden_api **out);
/* Frees the API; safe with NULL. Its routes must no longer be served. */
void osp_golden_api_destroy(osp_golden_api *api);

/* The routes, owned by api (all GET): /api/v1/overview, /api/v1/topology,
 * /api/v1/llm/models, /api/v1/llm/timeseries, /api/v1/llm/diagnose. *n is
 * OSP_GOLDEN_API_NROUTES. */
void osp_golden_api_routes(osp_golden_api *api, const osp_route **routes, size_t *n);

#endif
