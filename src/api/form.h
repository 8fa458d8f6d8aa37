/* Helpers the HTTP API handlers share: request parameters read from the query string and,
 * for POST, a form-encoded body (as Prometheus and Loki read them), and JSON label sets. */
#ifndef OSP_API_FORM_H
#define OSP_API_FORM_H

#include <stddef.h>

#include "core/buf.h"
#include "model/labels.h"
#include "net/http.h"

/* Request parameters: the query string, then a form-encoded POST body. */
typedef struct osp_form {
    const osp_http_request *req;
    osp_http_request form; /* req with the body as its query string */
    int has_form;
} osp_form;

void osp_form_init(osp_form *p, const osp_http_request *req);

/* The first value of name (1), 0 when absent, OSP_EPARSE on bad percent-encoding. */
int osp_form_get(const osp_form *p, const char *name, osp_str *v);

/* Every value of name, in order, into a (at most max); *n their count. OSP_ETOOBIG past max,
 * OSP_EPARSE on bad percent-encoding. */
int osp_form_all(const osp_form *p, const char *name, osp_str *a, size_t max, size_t *n);

/* Appends a label set as a JSON object {"name":"value",...} in the given order. 0 or the
 * buffer's error. */
int osp_json_put_labels(osp_buf *b, const osp_label *l, size_t n);

#endif
