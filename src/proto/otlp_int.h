/* Internal to the OTLP protobuf codecs (otlp_pb.c, otlp_metrics_pb.c, otlp_logs_pb.c): the
 * shared decoder context and the helpers for what the signals have in common (AnyValue,
 * KeyValue, Resource, InstrumentationScope, EntityRef, UTF-8 checks, rejections, the
 * resource/scope walk and grouping encoder of traces and logs). Implemented in
 * otlp_common.c. Not for use outside src/proto. */
#ifndef OSP_PROTO_OTLP_INT_H
#define OSP_PROTO_OTLP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/pb.h"
#include "core/str.h"
#include "model/attr.h"
#include "model/log.h"
#include "model/metric.h"
#include "model/span.h"
#include "proto/otlp.h"

/* Per-request state that the shared helpers use; each decoder embeds it. */
typedef struct osp__otlp_dec {
    osp_decode_report *rep;
    osp_arena *arena; /* the output batch's arena: kept blobs go there */
    osp_buf attrs;    /* attribute blob of the row being decoded */
    osp_buf nested;   /* nested attributes (events, links, exemplars), entity refs */
    char why[160];    /* first problem in the element being decoded */
} osp__otlp_dec;

/* Wire type of a field that the known-field check leaves alone (reserved, or checked by
 * the field's own decoder). */
#define OSP__OTLP_ANY 0xff

/* A reader over s that never forms a pointer from NULL (absent fields are NULL slices). */
static inline osp_pb_reader osp__otlp_reader(osp_str s)
{
    return s.n ? osp_pb_reader_make(s.p, s.n) : osp_pb_reader_make("", 0);
}

static inline int osp__otlp_utf8_ok(osp_str s)
{
    return s.n == 0 || osp_utf8_valid(s.p, s.n);
}

/* Expected wire type of fields 1..n of a message, for the known-field check. */
static inline int osp__otlp_wrong_wire(const osp_pb_field *f, const uint8_t *wires, size_t n)
{
    return f->num <= n && wires[f->num - 1] != OSP__OTLP_ANY && f->wire != wires[f->num - 1];
}

/* Notes why the current element is invalid (the innermost reason is kept) and returns
 * OSP_EPARSE, which means "reject this element"; other errors abort the request. */
__attribute__((format(printf, 2, 3))) int osp__otlp_bad(osp__otlp_dec *d, const char *fmt, ...);

/* Records the request's message: the first rejection's, unless `fatal` (the request
 * cannot be decoded at all), whose message replaces any other. */
__attribute__((format(printf, 3, 4))) void osp__otlp_report(osp__otlp_dec *d, int fatal,
                                                            const char *fmt, ...);

/* 0 when s is valid UTF-8, else osp__otlp_bad() naming `what`. */
int osp__otlp_check_utf8(osp__otlp_dec *d, osp_str s, const char *what);

/* Counts n rejected elements; when n > 0 the report's message (if still unset) becomes
 * "what: d->why". */
void osp__otlp_reject(osp__otlp_dec *d, size_t n, const char *what);

/* Re-encodes one wire AnyValue canonically into out (depth 1 = an attribute's value);
 * `where` names the field in messages. 0, OSP_EPARSE (d->why says why) or a fatal error. */
int osp__otlp_put_anyvalue(osp__otlp_dec *d, osp_str wire, osp_buf *out, int depth,
                           const char *where);

/* Re-encodes one wire KeyValue as a canonical record appended to out; as above. */
int osp__otlp_put_keyvalue(osp__otlp_dec *d, osp_str wire, osp_buf *out, int depth,
                           const char *where);

/* Copies the n scratch blobs bufs[i] into d->arena, one allocation for all of them, and
 * points *dst[i] at the copies (NULL slices for empty ones). 0 or OSP_ENOMEM. */
int osp__otlp_keep_blobs(osp__otlp_dec *d, osp_buf *const *bufs, osp_str *const *dst, size_t n);

/* Decodes a Resource (plus its container's schema_url) into *res, attributes and entity
 * refs kept in d->arena (d->attrs and d->nested are used as scratch). The caller adds the
 * row. 0, OSP_EPARSE (d->why says why) or a fatal error. */
int osp__otlp_decode_resource(osp__otlp_dec *d, osp_str wire, osp_str schema_url,
                              osp_resource *res);

/* Decodes an InstrumentationScope (plus its container's schema_url) into *sc, attributes
 * kept in d->arena (d->attrs is used as scratch); as above. */
int osp__otlp_decode_scope(osp__otlp_dec *d, osp_str wire, osp_str schema_url, osp_scope *sc);

/* First pass over a ResourceSpans/ScopeSpans/ResourceMetrics/ScopeMetrics (`what` in
 * messages): the last field 1 (resource or scope), the last schema_url and the number of
 * field-2 children. 0, or OSP_EPARSE when malformed (reported as fatal). */
int osp__otlp_scan_container(osp__otlp_dec *d, osp_str wire, const char *what, osp_str *head,
                             osp_str *url, size_t *nchildren);

/* Decodes a request body (ExportTraceServiceRequest, ExportMetricsServiceRequest): resets
 * d->rep, then calls each(d, bytes) for every field 1 (ResourceSpans, ResourceMetrics:
 * `what` in messages). 0, OSP_EPARSE when the body is malformed (reported as fatal), or
 * the first error from each. */
int osp__otlp_decode_request(osp__otlp_dec *d, osp_str body, const char *what,
                             int (*each)(osp__otlp_dec *d, osp_str wire));

/* A trace or log batch as the shared resource/scope walks see it (osp__otlp_decode_rows,
 * osp__ojson_decode_rows). */
typedef struct osp__otlp_rowbatch {
    void *batch;
    size_t *nresources, *nscopes, *nrows; /* the batch's counts */
    osp_resource *(*add_resource)(void *batch);
    osp_scope *(*add_scope)(void *batch);
} osp__otlp_rowbatch;
osp__otlp_rowbatch osp__otlp_span_rows(osp_span_batch *b);
osp__otlp_rowbatch osp__otlp_log_rows(osp_log_batch *b);

/* Decoder state for a signal whose rows sit directly in its Scope* messages (traces: spans;
 * logs: log records). The signal's decoder embeds it first in its own state, fills it in
 * and calls osp__otlp_decode_rows, which walks resources and scopes (adding, rejecting and
 * dropping their rows as the trace decoder always has) and calls decode_row per row. */
typedef struct osp__otlp_rowdec osp__otlp_rowdec;
struct osp__otlp_rowdec {
    osp__otlp_dec c;                          /* report, arena, attrs and nested scratch, why */
    const char *resource_field, *scope_field; /* "resource_spans", "scope_spans" */
    const char *row, *rows;                   /* "span", "spans": rows in messages */
    osp__otlp_rowbatch b;
    /* Decodes one row and adds it: 0, OSP_EPARSE (rejected, c.why says why) or fatal. */
    int (*decode_row)(osp__otlp_rowdec *d, osp_str wire, uint32_t resource, uint32_t scope);
    size_t nrow; /* rows seen so far: the index in messages */
};

/* Decodes a request body of d's signal (osp__otlp_decode_request). The caller restores
 * the batch's counts when it fails. 0, OSP_EPARSE or a fatal error. */
int osp__otlp_decode_rows(osp__otlp_rowdec *d, osp_str body);

/* A trace or log batch as the shared encoders see it. */
typedef struct osp__otlp_view {
    const void *batch;
    const osp_resource *resources;
    const osp_scope *scopes;
    size_t nresources, nscopes, nrows;
    /* Row i's resource and scope indexes. */
    void (*place)(const void *batch, size_t i, uint32_t *resource, uint32_t *scope);
} osp__otlp_view;

osp__otlp_view osp__otlp_span_view(const osp_span_batch *b);
osp__otlp_view osp__otlp_log_view(const osp_log_batch *b);

/* 1 when the n bytes at p are all zero (an absent id). */
static inline int osp__otlp_is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Encodes v's rows as a protobuf request in row order: consecutive rows with equal
 * resource (and scope) contents share one Resource* (Scope*) message. put_row writes row
 * i as field 2 of its Scope* message. 0 or the first error. */
int osp__otlp_encode_rows(const osp__otlp_view *v, osp_buf *out,
                          int (*put_row)(osp_buf *out, const void *batch, size_t i));

/* Writes each field-1 record of a canonical blob as field `num` (attribute lists and
 * entity refs are stored as the OTLP repeated fields they came from, renumbered). */
int osp__otlp_put_records(osp_buf *out, uint32_t num, osp_str blob);
/* Field num unless v (s) is zero (empty), as proto3 omits defaults. */
int osp__otlp_put_uint_nz(osp_buf *out, uint32_t num, uint64_t v);
int osp__otlp_put_str_nz(osp_buf *out, uint32_t num, osp_str s);

/* The scratch arrays a metrics decoder fills for one data point, in this order. */
enum {
    OSP__ARR_BUCKETS,   /* uint64 bucket_counts */
    OSP__ARR_BOUNDS,    /* double explicit_bounds */
    OSP__ARR_POS,       /* uint64 positive bucket counts */
    OSP__ARR_NEG,       /* uint64 negative bucket counts */
    OSP__ARR_QUANTILES, /* osp_quantile */
    OSP__ARR_N,
};

/* Copies the point's scratch arrays into arena (16-byte aligned) and points p's arrays and
 * counts at the copies (NULL and 0 for an empty one). 0 or OSP_ENOMEM. */
int osp__otlp_keep_point_arrays(osp_arena *arena, const osp_buf arr[OSP__ARR_N],
                                osp_metric_point *p);

#endif
