/* The Prometheus HTTP API on --http-addr: PromQL instant and range queries, series,
 * label names and values, metadata, exemplars and build information, with Prometheus's
 * JSON envelope and error types, so Grafana's Prometheus data source and other clients
 * work unchanged.
 * Documented in docs/api.md. */
#ifndef OSP_API_PROM_H
#define OSP_API_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "net/http.h"
#include "query/promql_eval.h"
#include "scrape/scraper.h"
#include "store/store.h"

typedef struct osp_prom_api osp_prom_api;

typedef struct osp_prom_api_options {
    int64_t lookback_ms;  /* PromQL lookback delta; 0 picks 5m */
    int64_t timeout_ms;   /* longest evaluation; a smaller ?timeout= wins; 0 picks 2m */
    uint64_t max_samples; /* samples one query may hold; 0 picks 50 million */
    osp_scraper *scraper; /* for /api/v1/targets (borrowed); NULL: no targets */
} osp_prom_api_options;

/* Creates the API over store (borrowed; it must outlive the API). 0 or OSP_ENOMEM. */
int osp_prom_api_create(osp_store *store, const osp_prom_api_options *opt, osp_prom_api **out);
/* Frees the API; safe with NULL. Its routes must no longer be served. */
void osp_prom_api_destroy(osp_prom_api *api);

/* The routes (GET and POST), owned by api:
 *   /api/v1/query, /api/v1/query_range, /api/v1/series, /api/v1/labels,
 *   /api/v1/label/{name}/values, /api/v1/metadata, /api/v1/status/buildinfo,
 *   /api/v1/targets, /api/v1/query_exemplars. */
void osp_prom_api_routes(osp_prom_api *api, const osp_route **routes, size_t *n);

/* Appends the "data" member of a query's answer for r to b as Prometheus's JSON codec
 * writes it: {"resultType":"...","result":...}; a vector element with a native histogram
 * has "histogram" in place of "value", a matrix series "histograms" after "values" (which
 * it leaves out when the series has only histograms). 0, the buffer's error, or
 * OSP_EINVAL for a vector series without a sample. */
int osp_prom_put_result(osp_buf *b, const osp_promql_result *r);

#endif
