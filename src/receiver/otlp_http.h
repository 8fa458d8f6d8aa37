/* Private to the OTLP receivers: request encodings, error answers and Export responses
 * shared by the trace, metric and log receivers (gRPC and OTLP/HTTP). */
#ifndef OSP_RECEIVER_OTLP_HTTP_H
#define OSP_RECEIVER_OTLP_HTTP_H

#include <stdint.h>

#include "net/http.h"
#include "proto/otlp.h"
#include "receiver/receiver.h"

enum { OSP_GRPC_INVALID_ARGUMENT = 3, OSP_GRPC_INTERNAL = 13, OSP_GRPC_UNAVAILABLE = 14 };

enum osp_otlp_encoding { OSP_OTLP_PROTOBUF, OSP_OTLP_JSON };

/* The request's encoding: gRPC and application/x-protobuf are protobuf, the rest JSON
 * (errors for an unknown content type are then written as JSON, the readable choice). */
enum osp_otlp_encoding osp_otlp_request_encoding(const osp_http_request *req);

/* For OTLP/HTTP: 0 when the content type is protobuf or JSON; else answers 415 and
 * returns -1. */
int osp_otlp_check_content_type(const osp_http_request *req, osp_http_response *res);

/* The routes' error_body: a google.rpc.Status body in the request's encoding, as OTLP/HTTP
 * requires of every 4xx/5xx. */
void osp_otlp_status_body(const osp_http_request *req, osp_http_response *res, int grpc_code,
                          osp_str message);

/* The routes of one signal's Export on the OTLP listeners (POST grpc_path, POST
 * http_path; none on the API listener), with env as their context. Returns how many. */
size_t osp_otlp_routes(enum osp_listener listener, const osp_receiver_env *env,
                       const char *grpc_path, const char *http_path, osp_http_handler handler,
                       osp_route *out, size_t max);

/* Answers a body that does not decode: 400 / INVALID_ARGUMENT "cannot decode <message>:
 * <rep's message>". */
void osp_otlp_fail_decode(const osp_http_request *req, osp_http_response *res,
                          const char *message, const osp_decode_report *rep);

/* Answers an error: status and message for gRPC, the HTTP status and a google.rpc.Status
 * body for OTLP/HTTP. */
void osp_otlp_fail(const osp_http_request *req, osp_http_response *res, int http_status,
                   int grpc_status, const char *message);

/* Answers a store failure: 503 / UNAVAILABLE with Retry-After (busy, or a write error
 * that a retry may get past). */
void osp_otlp_fail_store(const osp_http_request *req, osp_http_response *res, int rc);

/* Answers success: the Export response with partial_success when rejected or message. */
void osp_otlp_respond(const osp_http_request *req, osp_http_response *res,
                      enum osp_otlp_signal signal, int64_t rejected, const char *message);

/* The protocol label of the receivers' self-metrics: protocol="grpc" / "http_json" /
 * "http_protobuf". */
const char *osp_otlp_protocol_label(const osp_http_request *req);

#endif
