/* The log query APIs on --http-addr: Loki's HTTP API (LogQL queries, labels, series,
 * patterns, live tail, index statistics and volume, detected labels and fields) in Loki's
 * JSON shapes, so Grafana's Loki data source works
 * unchanged, and Osprey's native log endpoints (search, a trace's logs, log patterns).
 * Documented in docs/logs.md and docs/api.md. */
#ifndef OSP_API_LOGS_H
#define OSP_API_LOGS_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/logpattern.h"
#include "net/http.h"
#include "store/store.h"

/* Largest limit a log query accepts (Loki's max_entries_limit_per_query). */
#define OSP_LOGS_MAX_LIMIT 5000

/* Live tails served at once (Loki's max_concurrent_tail_requests); each runs on a thread
 * of its own and evaluates its query once a second. More are refused. */
#define OSP_LOGS_MAX_TAILS 16

/* Largest response body; a larger result is answered 422 (narrow the query). */
#define OSP_LOGS_MAX_RESPONSE ((size_t)64 << 20)

typedef struct osp_logs_api osp_logs_api;

typedef struct osp_logs_api_options {
    int64_t timeout_ms;       /* longest evaluation; 0 picks 2 minutes */
    osp_logpattern *patterns; /* the miner the receivers feed (borrowed); NULL: none */
    uint64_t retention_ns;    /* the store's retention, published to Logs Drilldown (0:
                                 forever) */
} osp_logs_api_options;

/* Creates the API over store (borrowed; it must outlive the API). 0 or OSP_ENOMEM. */
int osp_logs_api_create(osp_store *store, const osp_logs_api_options *opt, osp_logs_api **out);
/* Frees the API; safe with NULL. Its routes must no longer be served. */
void osp_logs_api_destroy(osp_logs_api *api);

/* The routes, owned by api (GET, and POST where Loki takes a form):
 *   /loki/api/v1/query, /loki/api/v1/query_range, /loki/api/v1/labels,
 *   /loki/api/v1/label/{name}/values, /loki/api/v1/series, /loki/api/v1/patterns,
 *   /loki/api/v1/tail (WebSocket), /loki/api/v1/status/buildinfo,
 *   /loki/api/v1/format_query, /loki/api/v1/drilldown-limits,
 *   /loki/api/v1/index/stats, /loki/api/v1/index/volume, /loki/api/v1/index/volume_range,
 *   /loki/api/v1/detected_labels, /loki/api/v1/detected_fields,
 *   /loki/api/v1/detected_field/{name}/values,
 *   /api/v1/logs, /api/v1/logs/patterns. */
void osp_logs_api_routes(osp_logs_api *api, const osp_route **routes, size_t *n);

/* GET /api/v1/traces/{traceId}/logs[?spanId=&limit=]: the logs of a trace (or of one of
 * its spans), newest first. The trace API routes its /logs suffix here. */
void osp_logs_api_trace_logs(osp_logs_api *api, const osp_http_request *req, osp_http_response *res,
                             osp_str trace_id);

#endif
