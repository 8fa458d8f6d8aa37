/* Shared OTLP request handling (receiver/otlp_http.h). */
#include "receiver/otlp_http.h"

#include <stdio.h>

#include "core/err.h"

/* Media type without parameters, compared case-insensitively. */
static int media_type_is(osp_str content_type, const char *want)
{
    size_t n = 0;
    while (n < content_type.n && content_type.p[n] != ';' && content_type.p[n] != ' ')
        n++;
    return osp_str_ieq(osp_str_make(content_type.p, n), osp_str_c(want));
}

enum osp_otlp_encoding osp_otlp_request_encoding(const osp_http_request *req)
{
    return req->proto == OSP_PROTO_GRPC ||
                   media_type_is(osp_http_header_get(req, "content-type"), "application/x-protobuf")
               ? OSP_OTLP_PROTOBUF
               : OSP_OTLP_JSON;
}

int osp_otlp_check_content_type(const osp_http_request *req, osp_http_response *res)
{
    char msg[200];
    if (req->proto == OSP_PROTO_GRPC || osp_otlp_request_encoding(req) == OSP_OTLP_PROTOBUF)
        return 0;
    osp_str ct = osp_http_header_get(req, "content-type");
    if (media_type_is(ct, "application/json"))
        return 0;
    snprintf(msg, sizeof msg,
             "unsupported content type \"%.*s\": use application/x-protobuf or application/json",
             (int)(ct.n > 100 ? 100 : ct.n), ct.p ? ct.p : "");
    osp_otlp_fail(req, res, 415, OSP_GRPC_INVALID_ARGUMENT, msg);
    return -1;
}

void osp_otlp_status_body(const osp_http_request *req, osp_http_response *res, int grpc_code,
                          osp_str message)
{
    osp_buf_reset(&res->body);
    if (osp_otlp_request_encoding(req) == OSP_OTLP_JSON) {
        res->content_type = "application/json";
        osp_rpc_status_json(grpc_code, message, &res->body);
    } else {
        res->content_type = "application/x-protobuf";
        osp_rpc_status_pb(grpc_code, message, &res->body);
    }
}

void osp_otlp_fail(const osp_http_request *req, osp_http_response *res, int http_status,
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
    osp_otlp_status_body(req, res, grpc_status, msg);
}

void osp_otlp_fail_store(const osp_http_request *req, osp_http_response *res, int rc)
{
    osp_http_response_header(res, "retry-after", OSP_STR_LIT("1"));
    osp_otlp_fail(req, res, 503, OSP_GRPC_UNAVAILABLE,
                  rc == OSP_EBUSY ? "write path is behind, retry later"
                                  : "storage write failed, retry later");
}

void osp_otlp_respond(const osp_http_request *req, osp_http_response *res,
                      enum osp_otlp_signal signal, int64_t rejected, const char *message)
{
    osp_str partial = osp_str_c(message);
    int rc;
    if (osp_otlp_request_encoding(req) == OSP_OTLP_JSON) {
        res->content_type = "application/json";
        rc = osp_otlp_response_json(signal, rejected, partial, &res->body);
    } else {
        res->content_type = req->proto == OSP_PROTO_GRPC ? NULL : "application/x-protobuf";
        rc = osp_otlp_response_pb(rejected, partial, &res->body);
    }
    if (rc)
        osp_otlp_fail(req, res, 500, OSP_GRPC_INTERNAL, osp_strerror(rc));
}

const char *osp_otlp_protocol_label(const osp_http_request *req)
{
    if (req->proto == OSP_PROTO_GRPC)
        return "protocol=\"grpc\"";
    return osp_otlp_request_encoding(req) == OSP_OTLP_JSON ? "protocol=\"http_json\""
                                                           : "protocol=\"http_protobuf\"";
}

size_t osp_otlp_routes(enum osp_listener listener, const osp_receiver_env *env,
                       const char *grpc_path, const char *http_path, osp_http_handler handler,
                       osp_route *out, size_t max)
{
    void *ctx = (void *)env;
    if (listener == OSP_LISTENER_API || max < 2)
        return 0;
    out[0] = (osp_route){.method = "POST",
                         .path = grpc_path,
                         .handler = handler,
                         .ctx = ctx,
                         .error_body = osp_otlp_status_body};
    out[1] = (osp_route){.method = "POST",
                         .path = http_path,
                         .handler = handler,
                         .ctx = ctx,
                         .error_body = osp_otlp_status_body};
    return 2;
}

void osp_otlp_fail_decode(const osp_http_request *req, osp_http_response *res, const char *message,
                          const osp_decode_report *rep)
{
    char msg[320];
    snprintf(msg, sizeof msg, "cannot decode %s: %s", message,
             rep->message[0] ? rep->message : "malformed body");
    osp_otlp_fail(req, res, 400, OSP_GRPC_INVALID_ARGUMENT, msg);
}
