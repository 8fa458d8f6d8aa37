/* Helpers the golden-signal handlers (api/golden.c) share with the session, user and agent
 * handlers (api/sessions.c): JSON answers and errors, query-string parameters. */
#ifndef OSP_API_GOLDEN_INT_H
#define OSP_API_GOLDEN_INT_H

#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"
#include "net/http.h"

/* Answers status with {"error": the formatted message}, dropping what the body held. */
void osp__api_fail(osp_http_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers 200 with the JSON written, or the failure rc (503 busy, 422 too large, 500). */
void osp__api_finish(osp_http_response *res, int rc);

/* ,"name":v (a number). */
int osp__api_num_field(osp_buf *b, const char *name, double v);

/* "name":"v" as a JSON string, after a comma unless first. */
int osp__api_str_field(osp_buf *b, const char *name, osp_str v, int first);

/* Reads parameter name: 1 present, 0 absent or empty; answers 400 and returns -1 on bad
 * percent-encoding. */
int osp__api_param(const osp_http_request *req, osp_http_response *res, const char *name,
                   osp_str *v);

/* start and end (unix seconds or RFC 3339, in ms): end defaults to now, start to an hour
 * before end. 0, or answers 400 naming the parameter and returns -1. */
int osp__api_range(const osp_http_request *req, osp_http_response *res, int64_t *start,
                   int64_t *end);

#endif
