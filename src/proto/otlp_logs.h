/* OTLP log codecs: ExportLogsServiceRequest in protobuf and OTLP/JSON into canonical log
 * rows (model/log.h) and back. Implemented in otlp_logs_pb.c and otlp_logs_json.c, on the
 * helpers the trace codecs share (otlp_int.h, otlp_json_int.h); the policies are the trace
 * codecs' (otlp_pb.c, otlp_json.c) except where said here. */
#ifndef OSP_PROTO_OTLP_LOGS_H
#define OSP_PROTO_OTLP_LOGS_H

#include "core/buf.h"
#include "core/str.h"
#include "model/log.h"
#include "proto/otlp.h"

/* Decodes a protobuf ExportLogsServiceRequest (or LogsData; same bytes) and appends rows
 * to out. Strings are slices into body or copies in out's arena; body must outlive out's
 * use. The body (an AnyValue) and attributes are re-encoded canonically into the arena.
 * rep->rejected counts log records left out (partial success: rejected_log_records) and
 * rep->message names the first, e.g. "log record 3: trace_id must be empty or 16 bytes,
 * got 8". A record is invalid when trace_id is neither empty nor 16 bytes or span_id
 * neither empty nor 8 bytes (empty ids mean "not correlated" and are stored as zeros;
 * all-zero ids are kept as they are), a known field has the wrong wire type or is
 * malformed, a string is not UTF-8, or AnyValue nesting (body or attributes) passes
 * OSP_MAX_ANYVALUE_DEPTH; an invalid resource or scope rejects every record under it.
 * Unknown fields are skipped. Returns 0 (possibly with rejections), or OSP_EPARSE when the
 * body is not a decodable message at all (rep->message says where; the batch is left as
 * it was), or OSP_ENOMEM. */
int osp_otlp_logs_decode_pb(osp_str body, osp_log_batch *out, osp_decode_report *rep);

/* Same contract for the OTLP/JSON encoding (lowerCamelCase or proto member names, hex ids
 * in either case, 64-bit ints as strings or numbers, severityNumber as an integer only,
 * unknown members ignored, null meaning absent, "body": null included). Produces rows
 * byte-identical to what the protobuf decoder gives for the same data, with the same
 * rejections and messages (fields in their JSON spelling). Text that is not valid JSON, a
 * member given twice or a value of the wrong JSON type fails the whole request with
 * OSP_EPARSE and a message naming the member and byte offset. */
int osp_otlp_logs_decode_json(osp_str body, osp_log_batch *out, osp_decode_report *rep);

/* Encodes rows as a protobuf ExportLogsServiceRequest in row order: consecutive rows with
 * equal resource (and scope) contents share one ResourceLogs (ScopeLogs), so that
 * decoding the result gives the same rows in the same order. Zero ids and other default
 * values are omitted; a record with has_body set always has a body field. 0, OSP_ECORRUPT
 * for a bad stored blob, or the buffer's error. */
int osp_otlp_logs_encode_pb(const osp_log_batch *b, osp_buf *out);

/* Encodes rows as an OTLP/JSON LogsData document {"resourceLogs":[...]}: records grouped
 * under their resource and scope (rows with equal contents share one ResourceLogs or
 * ScopeLogs), ids as lowercase hex, 64-bit integers as strings, default values omitted as
 * the proto3 JSON mapping does (a record with has_body and the empty value has "body":{}).
 * On failure nothing is left in out. */
int osp_otlp_logs_encode_json(const osp_log_batch *b, osp_buf *out);

#endif
