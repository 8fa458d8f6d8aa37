/* The session, user and agent APIs on --http-addr, over the store's AI call index:
 * /api/v1/sessions, /api/v1/sessions/{id}, /api/v1/users, /api/v1/agents and
 * /api/v1/llm/streaming. JSON answers, errors as {"error":"..."}; documented in
 * docs/golden-signals.md. */
#ifndef OSP_API_SESSIONS_H
#define OSP_API_SESSIONS_H

#include <stddef.h>

#include "analytics/pricing.h"
#include "net/http.h"
#include "store/store.h"

/* Routes osp_sessions_api_routes gives. */
#define OSP_SESSIONS_API_NROUTES 5

typedef struct osp_sessions_api osp_sessions_api;

/* Creates the API over store; prices (may be NULL: costs are 0) is refreshed before use.
 * Both are borrowed and must outlive the API. 0 or OSP_ENOMEM. */
int osp_sessions_api_create(osp_store *store, osp_price_table *prices, osp_sessions_api **out);

/* Frees the API; safe with NULL. Its routes must no longer be served. */
void osp_sessions_api_destroy(osp_sessions_api *api);

/* The routes, owned by api (all GET); *n is OSP_SESSIONS_API_NROUTES. */
void osp_sessions_api_routes(osp_sessions_api *api, const osp_route **routes, size_t *n);

#endif
