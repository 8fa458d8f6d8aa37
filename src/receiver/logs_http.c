/* Log receivers on the API listener: the Loki push API (POST /loki/api/v1/push, JSON or
 * snappy-compressed protobuf, as Promtail, Grafana Alloy and the Loki clients send it) and
 * JSON lines (POST /api/v1/logs/jsonl, docs/logs.md). Both store what is valid, through
 * the shared ingest step, before answering:
 * - Loki push answers as Loki does: 204 when everything was stored, 400 naming the first
 *   problem when some streams or entries were refused (the valid rest is stored), 400 for
 *   a body that does not decode (nothing stored), 413 past the size cap;
 * - JSON lines answers 200 {"accepted":N,"rejected":M,"error":"..."} ("error" only with
 *   refusals), or 400 with the same body when nothing could be stored.
 * A store that is behind gets 503 with Retry-After: 1 (senders retry). */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "proto/jsonl.h"
#include "proto/loki.h"
#include "receiver/logs_ingest.h"
#include "receiver/receiver.h"

#define PUSH_PATH "/loki/api/v1/push"
#define JSONL_PATH "/api/v1/logs/jsonl"
#define MAX_DECODED ((size_t)256 << 20) /* decompressed protobuf push body */

static void text(osp_http_response *res, int status, const char *msg)
{
    osp_buf_reset(&res->body);
    res->status = status;
    res->content_type = "text/plain; charset=utf-8";
    if (osp_buf_puts(&res->body, msg) || osp_buf_putc(&res->body, '\n'))
        osp_buf_reset(&res->body);
}

/* Stores b; on a store failure answers 503 (or 500) and returns non-zero. */
static int store(const osp_receiver_env *env, osp_log_batch *b, osp_log_refusals *ref,
                 const osp_ingest_counters *c, int64_t decoder_rejected, osp_http_response *res)
{
    int rc = osp_logs_ingest(env, b, ref);
    uint64_t rejected = (uint64_t)(decoder_rejected + ref->rejected);
    if (rc == 0) {
        osp_counter_add(c->accepted, b->nrecords);
        osp_counter_add(c->rejected, rejected);
        return 0;
    }
    osp_counter_add(c->rejected, rejected + b->nrecords);
    if (rc != OSP_EBUSY)
        osp_error("logs", "storing %zu log records failed: %s", b->nrecords, osp_strerror(rc));
    osp_http_response_header(res, "retry-after", OSP_STR_LIT("1"));
    text(res, rc == OSP_EBUSY || rc == OSP_ENOMEM ? 503 : 500,
         rc == OSP_EBUSY ? "write path is behind, retry later"
                         : "storage write failed, retry later");
    return -1;
}

/* Loki reads JSON only when the content type says so; anything else is protobuf. */
static int is_json(const osp_http_request *req)
{
    osp_str ct = osp_http_header_get(req, "content-type");
    return osp_str_has_prefix(ct, OSP_STR_LIT("application/json"));
}

static void handle_push(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    const osp_receiver_env *env = ctx;
    osp_loki_report rep = {0};
    osp_log_refusals ref = {0};
    osp_ingest_counters c;
    osp_log_batch batch;
    char msg[600];
    int json = is_json(req);
    osp_ingest_counters_get(&c, &osp_log_ingest_names,
                            json ? "protocol=\"loki_json\"" : "protocol=\"loki_protobuf\"");
    osp_log_batch_init(&batch);
    int rc = json ? osp_loki_decode_json(req->body, &batch, &rep)
                  : osp_loki_decode_pb(req->body, MAX_DECODED, &batch, &rep);
    osp_counter_add(c.received, batch.nrecords + (uint64_t)rep.rejected);
    if (rc == OSP_ETOOBIG || rc == OSP_EPARSE) {
        snprintf(msg, sizeof msg, "%s: %s",
                 rc == OSP_ETOOBIG ? "request too large" : "cannot decode push request",
                 rep.message);
        text(res, rc == OSP_ETOOBIG ? 413 : 400, msg);
    } else if (rc) {
        text(res, 500, osp_strerror(rc));
    } else if (store(env, &batch, &ref, &c, rep.rejected, res) == 0) {
        if (rep.rejected || ref.rejected) {
            snprintf(msg, sizeof msg, "%lld entries refused: %s",
                     (long long)(rep.rejected + ref.rejected),
                     rep.message[0] ? rep.message : ref.message);
            text(res, 400, msg);
        } else {
            res->status = 204;
        }
    }
    osp_log_batch_cleanup(&batch);
}

static void handle_jsonl(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    const osp_receiver_env *env = ctx;
    osp_jsonl_report rep = {0};
    osp_log_refusals ref = {0};
    osp_ingest_counters c;
    osp_log_batch batch;
    osp_ingest_counters_get(&c, &osp_log_ingest_names, "protocol=\"jsonl\"");
    osp_log_batch_init(&batch);
    int rc = osp_jsonl_logs_decode(req->body, &batch, &rep);
    osp_counter_add(c.received, batch.nrecords + (uint64_t)rep.rejected);
    if (rc == 0 && store(env, &batch, &ref, &c, rep.rejected, res))
        goto out;
    if (rc && rc != OSP_EPARSE) {
        osp_http_response_error(res, 500, "%s", osp_strerror(rc));
        goto out;
    }
    int64_t rejected = rep.rejected + ref.rejected;
    const char *first = rep.message[0] ? rep.message : ref.message;
    res->status = rc || (rejected && batch.nrecords == 0) ? 400 : 200;
    res->content_type = "application/json";
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    if (osp_buf_printf(b, "{\"accepted\":%zu,\"rejected\":%lld", rc ? 0 : batch.nrecords,
                       (long long)rejected) ||
        (first[0] &&
         (osp_buf_puts(b, ",\"error\":") || osp_buf_json_str(b, first, strlen(first)))) ||
        osp_buf_putc(b, '}'))
        osp_http_response_error(res, 500, "out of memory");
out:
    osp_log_batch_cleanup(&batch);
}

static size_t logs_http_routes(enum osp_listener listener, const osp_receiver_env *env,
                               osp_route *out, size_t max)
{
    if (listener != OSP_LISTENER_API || max < 2)
        return 0;
    out[0] = (osp_route){.method = "POST",
                         .path = PUSH_PATH,
                         .handler = handle_push,
                         .ctx = (void *)env,
                         .snappy_body = 1};
    out[1] = (osp_route){
        .method = "POST", .path = JSONL_PATH, .handler = handle_jsonl, .ctx = (void *)env};
    return 2;
}

const osp_receiver osp_logs_http_receiver = {"logs-http", logs_http_routes};
