/* OTLP trace receiver: gRPC TraceService/Export and OTLP/HTTP POST /v1/traces (protobuf
 * and JSON). Decodes into canonical rows, appends them to the store, and answers only
 * after the store has them in its write-ahead log. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "proto/otlp.h"
#include "receiver/receiver.h"

#define GRPC_PATH "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define HTTP_PATH "/v1/traces"

enum { GRPC_INVALID_ARGUMENT = 3, GRPC_INTERNAL = 13, GRPC_UNAVAILABLE = 14 };

enum encoding { ENC_PROTOBUF, ENC_JSON };

/* Per-protocol counters, registered once. */
typedef struct counters {
    osp_metric *received, *accepted, *rejected;
} counters;

static void counters_get(counters *c, const char *protocol_label)
{
    c->received = osp_counter("osprey_spans_received_total",
                              "Spans received by protocol, before validation.", protocol_label);
    c->accepted = osp_counter("osprey_spans_accepted_total",
                              "Spans stored (acknowledged after the WAL write).", protocol_label);
    c->rejected = osp_counter("osprey_spans_rejected_total",
                              "Spans refused: invalid, undecodable or not stored.", protocol_label);
}

static const char *protocol_label(const osp_http_request *req, enum encoding enc)
{
    if (req->proto == OSP_PROTO_GRPC)
        return "protocol=\"grpc\"";
    return enc == ENC_JSON ? "protocol=\"http_json\"" : "protocol=\"http_protobuf\"";
}

/* Media type without parameters, compared case-insensitively. */
static int media_type_is(osp_str content_type, const char *want)
{
    size_t n = 0;
    while (n < content_type.n && content_type.p[n] != ';' && content_type.p[n] != ' ')
        n++;
    return osp_str_ieq(osp_str_make(content_type.p, n), osp_str_c(want));
}

/* The encoding of an OTLP/HTTP request, from its content type; errors for a content type
 * that is neither are written as JSON, the readable choice. */
static enum encoding request_encoding(const osp_http_request *req)
{
    return req->proto == OSP_PROTO_GRPC ||
                   media_type_is(osp_http_header_get(req, "content-type"), "application/x-protobuf")
               ? ENC_PROTOBUF
               : ENC_JSON;
}

/* Writes a google.rpc.Status error body in the request's encoding, as OTLP/HTTP requires
 * of every 4xx/5xx; also the route's error_body for errors the network core answers. */
static void status_body(const osp_http_request *req, osp_http_response *res, int grpc_code,
                        osp_str message)
{
    osp_buf_reset(&res->body);
    if (request_encoding(req) == ENC_JSON) {
        res->content_type = "application/json";
        osp_rpc_status_json(grpc_code, message, &res->body);
    } else {
        res->content_type = "application/x-protobuf";
        osp_rpc_status_pb(grpc_code, message, &res->body);
    }
}

/* Fills an error response: status and message for gRPC, HTTP status and a
 * google.rpc.Status body for OTLP/HTTP. */
static void fail(const osp_http_request *req, osp_http_response *res, int http_status,
                 int grpc_status, const char *message)
{
    osp_str msg = osp_arena_strdup(req->arena, osp_str_c(message));
    if (!msg.p)
        msg = OSP_STR_LIT("out of memory");
    if (req->proto == OSP_PROTO_GRPC) {
        res->grpc_status = grpc_status;
        res->grpc_message = msg;
        return;
    }
    res->status = http_status;
    status_body(req, res, grpc_status, msg);
}

static void handle_export(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    osp_store *store = ctx;
    enum encoding enc = request_encoding(req);
    osp_decode_report rep = {0};
    osp_span_batch batch;
    counters c;
    char msg[320];
    int rc;

    if (req->proto != OSP_PROTO_GRPC) {
        osp_str ct = osp_http_header_get(req, "content-type");
        if (enc == ENC_JSON && !media_type_is(ct, "application/json")) {
            snprintf(msg, sizeof msg,
                     "unsupported content type \"%.*s\": use application/x-protobuf or "
                     "application/json",
                     (int)(ct.n > 100 ? 100 : ct.n), ct.p ? ct.p : "");
            fail(req, res, 415, GRPC_INVALID_ARGUMENT, msg);
            return;
        }
    }
    counters_get(&c, protocol_label(req, enc));
    osp_span_batch_init(&batch);
    rc = enc == ENC_JSON ? osp_otlp_traces_decode_json(req->body, &batch, &rep)
                         : osp_otlp_traces_decode_pb(req->body, &batch, &rep);
    osp_counter_add(c.received, batch.nspans + (uint64_t)rep.rejected);
    if (rc == OSP_EPARSE) {
        snprintf(msg, sizeof msg, "cannot decode ExportTraceServiceRequest: %s",
                 rep.message[0] ? rep.message : "malformed body");
        fail(req, res, 400, GRPC_INVALID_ARGUMENT, msg);
        goto out;
    }
    if (rc) {
        fail(req, res, 500, GRPC_INTERNAL, osp_strerror(rc));
        goto out;
    }
    osp_counter_add(c.rejected, (uint64_t)rep.rejected);
    if (batch.nspans > 0) {
        rc = osp_store_append_spans(store, &batch);
        if (rc == OSP_EBUSY) {
            osp_counter_add(c.rejected, batch.nspans);
            osp_http_response_header(res, "retry-after", OSP_STR_LIT("1"));
            fail(req, res, 503, GRPC_UNAVAILABLE, "write path is behind, retry later");
            goto out;
        }
        if (rc) {
            osp_counter_add(c.rejected, batch.nspans);
            osp_error("otlp", "storing %zu spans failed: %s", batch.nspans, osp_strerror(rc));
            osp_http_response_header(res, "retry-after", OSP_STR_LIT("1"));
            fail(req, res, 503, GRPC_UNAVAILABLE, "storage write failed, retry later");
            goto out;
        }
        osp_counter_add(c.accepted, batch.nspans);
    }
    osp_str partial = osp_str_c(rep.message);
    if (enc == ENC_JSON) {
        res->content_type = "application/json";
        rc = osp_otlp_trace_response_json(rep.rejected, partial, &res->body);
    } else {
        res->content_type = req->proto == OSP_PROTO_GRPC ? NULL : "application/x-protobuf";
        rc = osp_otlp_trace_response_pb(rep.rejected, partial, &res->body);
    }
    if (rc)
        fail(req, res, 500, GRPC_INTERNAL, osp_strerror(rc));
out:
    osp_span_batch_cleanup(&batch);
}

static size_t otlp_trace_routes(enum osp_listener listener, osp_store *store, osp_route *out,
                                size_t max)
{
    if (listener == OSP_LISTENER_API || max < 2)
        return 0;
    out[0] = (osp_route){"POST", GRPC_PATH, handle_export, store, status_body};
    out[1] = (osp_route){"POST", HTTP_PATH, handle_export, store, status_body};
    return 2;
}

const osp_receiver osp_otlp_traces_receiver = {"otlp-traces", otlp_trace_routes};
