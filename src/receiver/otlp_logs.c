/* OTLP log receiver: gRPC LogsService/Export and OTLP/HTTP POST /v1/logs (protobuf and
 * JSON). Decodes into canonical log rows, stores them through the shared log ingest step
 * (limits, arrival time, patterns) and answers only after the store has them in its
 * write-ahead log. Records refused by the decoder or by the limits are counted in
 * partial_success.rejected_log_records, the first named in its message. */

#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "proto/otlp_logs.h"
#include "receiver/logs_ingest.h"
#include "receiver/otlp_http.h"
#include "receiver/receiver.h"

#define GRPC_PATH "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
#define HTTP_PATH "/v1/logs"

static void handle_export(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    const osp_receiver_env *env = ctx;
    osp_decode_report rep = {0};
    osp_log_refusals ref = {0};
    osp_log_batch batch;
    osp_ingest_counters c;

    if (osp_otlp_check_content_type(req, res))
        return;
    osp_ingest_counters_get(&c, &osp_log_ingest_names, osp_otlp_protocol_label(req));
    osp_log_batch_init(&batch);
    int rc = osp_otlp_request_encoding(req) == OSP_OTLP_JSON
                 ? osp_otlp_logs_decode_json(req->body, &batch, &rep)
                 : osp_otlp_logs_decode_pb(req->body, &batch, &rep);
    osp_counter_add(c.received, batch.nrecords + (uint64_t)rep.rejected);
    if (rc == OSP_EPARSE) {
        osp_otlp_fail_decode(req, res, "ExportLogsServiceRequest", &rep);
        goto out;
    }
    if (rc) {
        osp_otlp_fail(req, res, 500, OSP_GRPC_INTERNAL, osp_strerror(rc));
        goto out;
    }
    rc = osp_logs_ingest(env, &batch, &ref);
    int64_t rejected = rep.rejected + ref.rejected;
    if (rc) {
        osp_counter_add(c.rejected, (uint64_t)rejected + batch.nrecords);
        if (rc != OSP_EBUSY)
            osp_error("otlp", "storing %zu log records failed: %s", batch.nrecords,
                      osp_strerror(rc));
        osp_otlp_fail_store(req, res, rc);
        goto out;
    }
    osp_counter_add(c.rejected, (uint64_t)rejected);
    osp_counter_add(c.accepted, batch.nrecords);
    osp_otlp_respond(req, res, OSP_OTLP_LOGS, rejected, rep.message[0] ? rep.message : ref.message);
out:
    osp_log_batch_cleanup(&batch);
}

static size_t otlp_log_routes(enum osp_listener listener, const osp_receiver_env *env,
                              osp_route *out, size_t max)
{
    return osp_otlp_routes(listener, env, GRPC_PATH, HTTP_PATH, handle_export, out, max);
}

const osp_receiver osp_otlp_logs_receiver = {"otlp-logs", otlp_log_routes};
