/* OTLP metric codecs: ExportMetricsServiceRequest in protobuf into canonical metric rows
 * (model/metric.h). Implemented in otlp_metrics_pb.c. */
#ifndef OSP_PROTO_OTLP_METRICS_H
#define OSP_PROTO_OTLP_METRICS_H

#include "core/str.h"
#include "model/metric.h"
#include "proto/otlp.h"

/* Decodes a protobuf ExportMetricsServiceRequest (or MetricsData; same bytes) and appends
 * one row per data point to out, with their metric, scope and resource rows. Strings are
 * slices into body or copies in out's arena; body must outlive out's use. rep->rejected
 * counts data points left out (partial success: rejected_data_points) and rep->message
 * names the first, e.g. "metric \"http.duration\" point 2: bucket_counts has 3 entries,
 * explicit_bounds 3". A point is invalid when a field has the wrong wire type or is
 * malformed, a string is not UTF-8, AnyValue nesting passes OSP_MAX_ANYVALUE_DEPTH,
 * histogram buckets do not match their bounds (len(bucket_counts) == len(bounds) + 1
 * unless both empty; bounds strictly increasing) or an exemplar id is not empty or 16/8
 * bytes; an invalid metric (empty or non-UTF-8 name), scope or resource rejects every
 * point under it. Unknown fields are skipped. Returns 0 (possibly with rejections), or
 * OSP_EPARSE when the body is not a decodable message at all (rep->message says where;
 * the batch is left as it was), or OSP_ENOMEM. */
int osp_otlp_metrics_decode_pb(osp_str body, osp_metric_batch *out, osp_decode_report *rep);

#endif
