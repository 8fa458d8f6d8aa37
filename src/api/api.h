/* The HTTP JSON API served on --http-addr: native trace fetch and search (/api/v1), the
 * Jaeger query API (/api), health, readiness and Osprey's own metrics. Endpoints, parameters
 * and response shapes are documented in docs/api.md. */
#ifndef OSP_API_API_H
#define OSP_API_API_H

#include <stddef.h>

#include "api/golden.h"
#include "api/sessions.h"
#include "api/logs.h"
#include "net/http.h"
#include "store/store.h"

/* Largest limit a trace search accepts (default 20). */
#define OSP_API_MAX_LIMIT 1000
/* Most attr.KEY=VALUE / Jaeger tag filters in one search. */
#define OSP_API_MAX_FILTERS 32
/* Largest response body; a result past it is answered 422. */
#define OSP_API_MAX_RESPONSE ((size_t)64 << 20)

typedef struct osp_api osp_api;

/* Creates the API over store (borrowed; it must outlive the API). The API starts not
 * ready: /readyz answers 503 until osp_api_set_ready(api, 1). 0 or OSP_ENOMEM. */
int osp_api_create(osp_store *store, osp_api **out);
/* Frees the API; safe with NULL. The routes must no longer be served. */
void osp_api_destroy(osp_api *api);

/* The route table to hand to osp_net_listen for the API listener: an array owned by api
 * (valid until osp_api_destroy); each route's ctx is private to the API. All routes are GET:
 *   /healthz, /readyz, /metrics,
 *   /api/v1/traces, /api/v1/traces/{traceId}, /api/v1/services,
 *   /api/v1/services/{service}/operations,
 *   /api/services, /api/services/{service}/operations, /api/operations,
 *   /api/traces, /api/traces/{traceId}. */
void osp_api_routes(osp_api *api, const osp_route **routes, size_t *n);

/* Serves GET /api/v1/traces/{traceId}/logs through logs (borrowed; it must outlive the
 * API). Call before serving. */
void osp_api_set_logs(osp_api *api, osp_logs_api *logs);

/* Also serves the routes of golden (borrowed; it must outlive the API) in the route table.
 * Call once, before osp_api_routes. */
void osp_api_set_golden(osp_api *api, osp_golden_api *golden);

/* Also serves the routes of sessions (borrowed; it must outlive the API) in the route
 * table, after the golden API's. Call once, after osp_api_set_golden, before
 * osp_api_routes. */
void osp_api_set_sessions(osp_api *api, osp_sessions_api *sessions);

/* Readiness as /readyz reports it: 1 once serving, 0 while starting or shutting down
 * (503). Thread-safe. */
void osp_api_set_ready(osp_api *api, int ready);

#endif
