/* Jaeger query-API JSON (the shape of Jaeger's model/json, as its UI and Grafana's Jaeger
 * data source read it) for canonical trace rows, mapped the way the OpenTelemetry
 * Collector's OTLP-to-Jaeger translator maps them. */
#ifndef OSP_QUERY_JAEGER_H
#define OSP_QUERY_JAEGER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "model/span.h"

/* The envelope every Jaeger response has: osp_jaeger_begin appends `{"data":`, the caller
 * appends the data, osp_jaeger_end appends `,"total":N,"limit":0,"offset":0,"errors":null}`.
 * 0 or the buffer's error. */
int osp_jaeger_begin(osp_buf *out);
int osp_jaeger_end(osp_buf *out, size_t total);

/* Appends a whole error response:
 * {"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":code,"msg":msg}]}. */
int osp_jaeger_error(osp_buf *out, int code, const char *msg);

/* Appends one Jaeger trace object for spans [first, first + n) of b, which belong to one
 * trace: {"traceID","spans":[...],"processes":{"p1":{"serviceName","tags"},...},
 * "warnings":null}. Span ids are 16 hex digits; trace ids 32, or 16 when the high half is
 * zero (as Jaeger prints them). startTime/duration and log timestamps are microseconds.
 * Tags, in the translator's order: otel.scope.name, otel.scope.version, the span's
 * attributes, span.kind (client/server/producer/consumer/internal; none when
 * unspecified), otel.status_code (OK/ERROR), error=true (ERROR), otel.status_description,
 * w3c.tracestate. Values keep their type (string, bool, int64 -- as a string past 2^53 --,
 * float64, binary as base64); arrays and kvlists become JSON text strings, empty values "".
 * References: the parent as CHILD_OF first, then each link as FOLLOWS_FROM (CHILD_OF when
 * its opentracing.ref_type attribute is child_of; a link to the parent only sets the
 * parent's type). Events become logs with field event=<name> (unless an attribute is
 * named event) then their attributes. Processes are resources: service.name becomes
 * serviceName (OTLP_ResourceNoServiceName for a resource without attributes), the other
 * attributes tags; equal processes are shared, numbered p1, p2, ... in order of first use.
 * 0, OSP_EINVAL when n is 0, OSP_ECORRUPT on a bad blob or row index, or the buffer's
 * error (OSP_ETOOBIG past its cap, OSP_ENOMEM). */
int osp_jaeger_trace(const osp_span_batch *b, size_t first, size_t n, osp_buf *out);

/* Appends a whole response {"data":[trace,...],"total":0,...} for the spans of b, one
 * trace object per run of consecutive spans with the same trace id (osp_store_get_trace
 * returns one such run). Same returns as osp_jaeger_trace, except an empty b gives
 * "data":[]. */
int osp_jaeger_render(const osp_span_batch *b, osp_buf *out);

/* Jaeger's name for an OTLP span kind ("server", ...), or NULL for unspecified and
 * unknown kinds. */
const char *osp_jaeger_span_kind(int32_t kind);

#endif
