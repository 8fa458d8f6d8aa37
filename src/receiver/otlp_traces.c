/* OTLP trace receiver: gRPC TraceService/Export and OTLP/HTTP POST /v1/traces (protobuf
 * and JSON). Decodes into canonical rows, appends them to the store, and answers only
 * after the store has them in its write-ahead log. */

#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "proto/otlp.h"
#include "receiver/otlp_http.h"
#include "receiver/receiver.h"

#define GRPC_PATH "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define HTTP_PATH "/v1/traces"

/* Self-metrics, per protocol. */
static const osp_ingest_names names = {
    "osprey_spans_received_total", "Spans received by protocol, before validation.",
    "osprey_spans_accepted_total", "Spans stored (acknowledged after the WAL write).",
    "osprey_spans_rejected_total", "Spans refused: invalid, undecodable or not stored.",
};

static void handle_export(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    const osp_receiver_env *env = ctx;
    enum osp_otlp_encoding enc = osp_otlp_request_encoding(req);
    osp_decode_report rep = {0};
    osp_span_batch batch;
    osp_ingest_counters c;
    int rc;

    if (osp_otlp_check_content_type(req, res))
        return;
    osp_ingest_counters_get(&c, &names, osp_otlp_protocol_label(req));
    osp_span_batch_init(&batch);
    rc = enc == OSP_OTLP_JSON ? osp_otlp_traces_decode_json(req->body, &batch, &rep)
                              : osp_otlp_traces_decode_pb(req->body, &batch, &rep);
    osp_counter_add(c.received, batch.nspans + (uint64_t)rep.rejected);
    if (rc == OSP_EPARSE) {
        osp_otlp_fail_decode(req, res, "ExportTraceServiceRequest", &rep);
        goto out;
    }
    if (rc) {
        osp_otlp_fail(req, res, 500, OSP_GRPC_INTERNAL, osp_strerror(rc));
        goto out;
    }
    osp_counter_add(c.rejected, (uint64_t)rep.rejected);
    if (batch.nspans > 0) {
        rc = osp_store_append_spans(env->store, &batch);
        if (rc) {
            osp_counter_add(c.rejected, batch.nspans);
            if (rc != OSP_EBUSY)
                osp_error("otlp", "storing %zu spans failed: %s", batch.nspans, osp_strerror(rc));
            osp_otlp_fail_store(req, res, rc);
            goto out;
        }
        osp_counter_add(c.accepted, batch.nspans);
        if (env->derive)
            osp_derive_spans(env->derive, &batch);
    }
    osp_otlp_respond(req, res, OSP_OTLP_TRACES, rep.rejected, rep.message);
out:
    osp_span_batch_cleanup(&batch);
}

static size_t otlp_trace_routes(enum osp_listener listener, const osp_receiver_env *env,
                                osp_route *out, size_t max)
{
    return osp_otlp_routes(listener, env, GRPC_PATH, HTTP_PATH, handle_export, out, max);
}

const osp_receiver osp_otlp_traces_receiver = {"otlp-traces", otlp_trace_routes};
