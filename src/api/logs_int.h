/* What the log API's handler files share (api/logs.h): Loki's errors, parameters and the
 * record source over the store. logs.c holds the query, label, tail and native endpoints;
 * logs_explore.c the index statistics, volume and detected labels and fields. */
#ifndef OSP_API_LOGS_INT_H
#define OSP_API_LOGS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "api/form.h"
#include "api/logs.h"
#include "query/logql.h"
#include "query/logql_eval.h"

/* A Loki error: status and the message as plain text. */
void osp__logs_fail(osp_http_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The answer to error rc: 503 busy, 504 timed out, 422 too large, 400 for bad queries
 * (err, else rc's text), else 500. */
void osp__logs_fail_rc(osp_http_response *res, int rc, const char *err);
/* 200 with the JSON body written, or the error of rc (> 0: the body hit its cap). */
void osp__logs_finish(osp_http_response *res, int rc);

/* A duration as Loki takes one: Prometheus's ("5m") or float seconds. 0 or OSP_EPARSE. */
int osp__logs_parse_duration(osp_str text, uint64_t *ns);
/* Parameter name read with parse: 1 with *ns, 0 absent or empty, -1 answered 400. */
int osp__logs_ns_param(const osp_form *p, osp_http_response *res, const char *name,
                       int (*parse)(osp_str, uint64_t *), uint64_t *ns);
/* Parameter name as a count: 1 to OSP_LOGS_MAX_LIMIT, def when absent or empty. 0, or -1
 * when answered 400 with Loki's messages ("limit must be a positive value"). */
int osp__logs_count_param(const osp_form *p, osp_http_response *res, const char *name, size_t def,
                          size_t *count);
/* The "query" parameter, parsed (required). 0 with *e, or -1 when answered. */
int osp__logs_query_param(const osp_form *p, osp_http_response *res, osp_arena *arena,
                          osp_logql_expr **e);
/* start, end and since of a range, as Loki defaults them: end now, start end - since
 * (an hour by default). 0, or -1 when answered. */
int osp__logs_range_params(const osp_form *p, osp_http_response *res, uint64_t *start,
                           uint64_t *end);
/* The range (start, end, since as Loki defaults them) and the optional "query" stream
 * selector. 0 with *m and *nm (none: NULL, 0), or -1 when answered. */
int osp__logs_range_and_selector(const osp_form *p, const osp_http_request *req,
                                 osp_http_response *res, uint64_t *start, uint64_t *end,
                                 osp_label_matcher **m, size_t *nm);

/* The {name} of a path prefix + "{name}/values", percent-decoded (what names it in the 400
 * answer). 0 with *name, or -1 when answered (404 for another path). */
int osp__logs_path_name(const osp_http_request *req, osp_http_response *res, const char *prefix,
                        const char *what, osp_str *name);

/* The store as a LogQL record source. */
osp_logql_source osp__logs_source(osp_logs_api *api);
/* The CLOCK_MONOTONIC ms at which an evaluation started now must stop. */
int64_t osp__logs_deadline(const osp_logs_api *api);

/* The handlers of logs_explore.c. */
void osp__logs_index_stats(osp_logs_api *api, const osp_http_request *req, osp_http_response *res);
void osp__logs_index_volume(osp_logs_api *api, const osp_http_request *req, osp_http_response *res);
void osp__logs_index_volume_range(osp_logs_api *api, const osp_http_request *req,
                                  osp_http_response *res);
void osp__logs_detected_labels(osp_logs_api *api, const osp_http_request *req,
                               osp_http_response *res);
void osp__logs_detected_fields(osp_logs_api *api, const osp_http_request *req,
                               osp_http_response *res);
/* GET /loki/api/v1/detected_field/{name}/values (the route's prefix). */
#define OSP_LOGS_DETECTED_FIELD_PREFIX "/loki/api/v1/detected_field/"
void osp__logs_detected_field_values(osp_logs_api *api, const osp_http_request *req,
                                     osp_http_response *res);

#endif
