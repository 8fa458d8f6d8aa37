/* OTLP metrics receiver: gRPC MetricsService/Export and OTLP/HTTP POST /v1/metrics
 * (protobuf and JSON). Decodes into metric rows, translates them to Prometheus series
 * (model/otlp_prom.h: names, labels, delta to cumulative), appends them to the store and
 * answers only after the store has them in its write-ahead log. Points that cannot be
 * stored are counted in partial_success.rejected_data_points, named by its message.
 * Exemplars go to the store's exemplar storage after the samples; the ones it refuses
 * (out of order, labels too long) are not data points and only logged at debug level. */

#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "model/otlp_prom.h"
#include "proto/otlp_metrics.h"
#include "receiver/otlp_http.h"
#include "receiver/receiver.h"
#include "store/tsdb/exemplars.h"
#include "store/tsdb/tsdb.h"

#define GRPC_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define HTTP_PATH "/v1/metrics"

static const osp_ingest_names names = {
    "osprey_data_points_received_total", "OTLP metric data points received by protocol.",
    "osprey_data_points_accepted_total", "OTLP metric data points stored.",
    "osprey_data_points_rejected_total", "OTLP metric data points refused: invalid or not stored.",
};

/* The first non-empty message of the three stages. */
static const char *first_message(const char *a, const char *b, const char *c)
{
    return a[0] ? a : b[0] ? b : c;
}

static void handle_export(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    const osp_receiver_env *env = ctx;
    osp_decode_report rep = {0};
    osp_otlp_prom_report prep = {0};
    osp_tsdb_append_report trep = {0};
    osp_metric_batch batch;
    osp_series_batch series;
    osp_ingest_counters c;
    int rc;

    if (osp_otlp_check_content_type(req, res))
        return;
    osp_ingest_counters_get(&c, &names, osp_otlp_protocol_label(req));
    osp_metric_batch_init(&batch);
    osp_series_batch_init(&series);
    rc = osp_otlp_request_encoding(req) == OSP_OTLP_JSON
             ? osp_otlp_metrics_decode_json(req->body, &batch, &rep)
             : osp_otlp_metrics_decode_pb(req->body, &batch, &rep);
    osp_counter_add(c.received, batch.npoints + (uint64_t)rep.rejected);
    if (rc == OSP_EPARSE) {
        osp_otlp_fail_decode(req, res, "ExportMetricsServiceRequest", &rep);
        goto out;
    }
    if (rc == 0)
        rc = osp_otlp_to_prom(&batch, &env->otlp_metrics, env->delta, &series, &prep);
    if (rc) {
        osp_otlp_fail(req, res, 500, OSP_GRPC_INTERNAL, osp_strerror(rc));
        goto out;
    }
    if (series.nseries || series.nmeta) {
        rc = osp_store_append_series(env->store, &series, &trep);
        if (rc) {
            osp_counter_add(c.rejected, batch.npoints + (uint64_t)rep.rejected);
            if (rc != OSP_EBUSY)
                osp_error("otlp", "storing %zu series failed: %s", series.nseries,
                          osp_strerror(rc));
            osp_otlp_fail_store(req, res, rc);
            goto out;
        }
    }
    if (series.nexemplars) {
        osp_exemplar_report xrep = {0};
        rc = osp_store_append_exemplars(env->store, &series, &xrep);
        if (rc && rc != OSP_EUNSUPPORTED) {
            osp_error("otlp", "storing %zu exemplars failed: %s", series.nexemplars,
                      osp_strerror(rc));
            osp_otlp_fail_store(req, res, rc);
            goto out;
        }
        if (xrep.error[0])
            osp_debug("otlp", "exemplars refused: %s", xrep.error);
    }
    /* Samples the store refused (out of order, series limit, ...) count as refused points,
     * at most as many as were converted (one histogram point spans several samples). */
    uint64_t refused = trep.out_of_order + trep.duplicate + trep.too_old + trep.limited +
                       trep.invalid;
    uint64_t points = batch.npoints - (uint64_t)prep.rejected;
    if (refused > points)
        refused = points;
    int64_t rejected = rep.rejected + prep.rejected + (int64_t)refused;
    osp_counter_add(c.rejected, (uint64_t)rejected);
    osp_counter_add(c.accepted, points - refused);
    osp_otlp_respond(req, res, OSP_OTLP_METRICS, rejected,
                     first_message(rep.message, prep.message, trep.error));
out:
    osp_series_batch_cleanup(&series);
    osp_metric_batch_cleanup(&batch);
}

static size_t otlp_metric_routes(enum osp_listener listener, const osp_receiver_env *env,
                                 osp_route *out, size_t max)
{
    return osp_otlp_routes(listener, env, GRPC_PATH, HTTP_PATH, handle_export, out, max);
}

const osp_receiver osp_otlp_metrics_receiver = {"otlp-metrics", otlp_metric_routes};
