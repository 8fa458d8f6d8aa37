/* OTLP metric codecs: ExportMetricsServiceRequest in protobuf and OTLP/JSON into canonical
 * metric rows (model/metric.h). Implemented in otlp_metrics_pb.c and otlp_metrics_json.c. */
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

/* Same contract for the OTLP/JSON encoding, giving the same rows and the same rejection
 * counts as the protobuf decoder for the same data (messages name fields in their JSON
 * spelling). Accepted: lowerCamelCase or snake_case member names, 64-bit integers as
 * numbers or decimal strings, doubles also as "NaN", "Infinity", "-Infinity", enums as
 * numbers or names, hex ids in either case; unknown members are skipped and null means
 * absent. Text that is not valid JSON (invalid UTF-8 included), a member given twice, a
 * oneof with two members, or a value of the wrong JSON type fails the whole request with
 * OSP_EPARSE and a message with the byte offset; the batch is left as it was. */
int osp_otlp_metrics_decode_json(osp_str body, osp_metric_batch *out, osp_decode_report *rep);

#endif
