/* RED from spans: calls and duration per service, span name, span kind and status, under
 * the spanmetrics connector's names (derived.h). */
#ifndef OSP_ANALYTICS_SPANMETRICS_H
#define OSP_ANALYTICS_SPANMETRICS_H

#include "analytics/derived.h"

/* The deriver of OSP_DERIVED_CALLS and OSP_DERIVED_DURATION: one call per span, its
 * duration (end - start, in seconds, 0 when negative) observed in
 * osp_derived_span_buckets, its trace id as the series' exemplar. */
extern const osp_deriver osp_spanmetrics_deriver;

/* "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", ... ("SPAN_KIND_UNSPECIFIED" for unknown
 * values), as the connector labels span kinds. */
const char *osp_span_kind_label(int32_t kind);
/* "STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR" ("STATUS_CODE_UNSET" for
 * unknown values). */
const char *osp_status_code_label(int32_t code);
/* A span's duration in seconds, 0 when it ends before it starts. */
double osp_span_seconds(const osp_span *s);
/* The service a span's resource names, "unknown_service" when it names none. */
osp_str osp_span_service(const osp_resource *res);

#endif
