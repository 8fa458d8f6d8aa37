/* OTLP trace codecs: ExportTraceServiceRequest in protobuf and OTLP/JSON into canonical
 * rows and back, and the OTLP response bodies. Implemented in otlp_pb.c (protobuf, the
 * zero-copy hot path), otlp_json.c (JSON decode), otlp_json_encode.c (JSON encode) and
 * otlp_response.c. */
#ifndef OSP_PROTO_OTLP_H
#define OSP_PROTO_OTLP_H

#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"
#include "model/span.h"

#define OSP_MAX_ANYVALUE_DEPTH 32 /* AnyValue nesting deeper than this is rejected */

/* What a decoder reports besides the rows. */
typedef struct osp_decode_report {
    int64_t rejected;  /* spans left out of the batch (partial success) */
    char message[256]; /* first problem found, naming the field, e.g.
                          "span 3: trace_id must be 16 bytes, got 8"; "" if none */
} osp_decode_report;

/* Decodes a protobuf ExportTraceServiceRequest (or TracesData; same bytes) and appends
 * rows to out. Strings and ids are slices into body or copies in out's arena; body must
 * outlive out's use. Invalid spans (ids of the wrong length or all zero, invalid UTF-8
 * in a string, AnyValue nesting past the limit) are counted in rep->rejected and left
 * out; an invalid resource or scope rejects the spans under it. Unknown fields are
 * skipped. Returns 0 (possibly with rejections), or OSP_EPARSE when the body is not a
 * decodable message at all (rep->message says where), or OSP_ENOMEM. */
int osp_otlp_traces_decode_pb(osp_str body, osp_span_batch *out, osp_decode_report *rep);

/* Same contract for the OTLP/JSON encoding (lowerCamelCase keys, hex ids, 64-bit ints as
 * strings or numbers, enums as integers, unknown keys ignored). Produces rows that are
 * byte-identical to what the protobuf decoder gives for the same data. Unlike protobuf,
 * text that is not valid JSON (invalid UTF-8, duplicate members, wrong JSON types) fails
 * the whole request with OSP_EPARSE and a message naming the member and byte offset. */
int osp_otlp_traces_decode_json(osp_str body, osp_span_batch *out, osp_decode_report *rep);

/* Encodes rows as an OTLP/JSON TracesData document {"resourceSpans":[...]}: spans are
 * grouped under their resource and scope (rows with equal resource contents share one
 * ResourceSpans, equal scopes one ScopeSpans), ids as lowercase hex, 64-bit integers as
 * strings, default values omitted as the proto3 JSON mapping does. */
int osp_otlp_traces_encode_json(const osp_span_batch *b, osp_buf *out);

/* Encodes rows as a protobuf ExportTraceServiceRequest in row order: consecutive rows with
 * equal resource (and scope) contents share one ResourceSpans (ScopeSpans), so that
 * decoding the result gives the same rows in the same order. */
int osp_otlp_traces_encode_pb(const osp_span_batch *b, osp_buf *out);

/* The signal an Export call carries; it names the JSON field of the rejected count. */
enum osp_otlp_signal {
    OSP_OTLP_TRACES,  /* rejectedSpans */
    OSP_OTLP_METRICS, /* rejectedDataPoints */
    OSP_OTLP_LOGS,    /* rejectedLogRecords */
};

/* Export*ServiceResponse (the same fields for every signal): empty when rejected == 0 and
 * message is empty, else with partial_success. JSON form: {} or
 * {"partialSuccess":{"rejectedSpans":"3","errorMessage":".."}}. */
int osp_otlp_response_pb(int64_t rejected, osp_str message, osp_buf *out);
int osp_otlp_response_json(enum osp_otlp_signal signal, int64_t rejected, osp_str message,
                           osp_buf *out);

/* google.rpc.Status {code, message} for OTLP/HTTP error bodies, protobuf or JSON
 * ({"code":3,"message":"..."}). */
int osp_rpc_status_pb(int32_t code, osp_str message, osp_buf *out);
int osp_rpc_status_json(int32_t code, osp_str message, osp_buf *out);

#endif
