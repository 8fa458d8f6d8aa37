/* gRPC over HTTP/2 framing helpers: unary Length-Prefixed-Messages, status codes and the
 * grpc-message percent-encoding. Pure functions; the HTTP/2 side lives in net/h2. */
#ifndef OSP_NET_GRPC_H
#define OSP_NET_GRPC_H

#include <stddef.h>

#include "core/buf.h"
#include "core/str.h"

/* Status codes from the gRPC specification that the network core produces. */
enum osp_grpc_code {
    OSP_GRPC_OK = 0,
    OSP_GRPC_UNKNOWN = 2,
    OSP_GRPC_INVALID_ARGUMENT = 3,
    OSP_GRPC_PERMISSION_DENIED = 7,
    OSP_GRPC_RESOURCE_EXHAUSTED = 8,
    OSP_GRPC_UNIMPLEMENTED = 12,
    OSP_GRPC_INTERNAL = 13,
    OSP_GRPC_UNAVAILABLE = 14,
    OSP_GRPC_UNAUTHENTICATED = 16,
};

#define OSP_GRPC_PREFIX 5                        /* compressed flag + 4-byte length */
#define OSP_GRPC_ACCEPT_ENCODING "gzip,identity" /* what osp_grpc_encoding_ok accepts */

/* 1 when a grpc-encoding value (may be empty = none) is one we can decode. */
int osp_grpc_encoding_ok(osp_str encoding);

/* Why a unary request body was refused: the status to answer with and a static message. */
typedef struct osp_grpc_error {
    int code;
    const char *message;
} osp_grpc_error;

/* Extracts the single message of a unary call from body (the concatenated DATA), undoing
 * the compression named by encoding when the message's flag is set (into `scratch`,
 * capped at max_msg bytes). *msg points into body or scratch.
 * Returns 0, or a negative code with *err set: OSP_EINVAL (not exactly one message:
 * UNIMPLEMENTED), OSP_EPARSE (truncated frame, bad flag, flag set without an encoding,
 * undecodable compressed data: INTERNAL), OSP_EUNSUPPORTED (unknown encoding:
 * UNIMPLEMENTED), OSP_ETOOBIG (message past max_msg: RESOURCE_EXHAUSTED), OSP_ENOMEM. */
int osp_grpc_unary_message(osp_str body, osp_str encoding, size_t max_msg, osp_buf *scratch,
                           osp_str *msg, osp_grpc_error *err);

/* Writes the 5-byte prefix for an uncompressed message of len bytes. */
void osp_grpc_prefix(size_t len, unsigned char out[OSP_GRPC_PREFIX]);

/* Appends s percent-encoded for grpc-message: bytes 0x20-0x7E except '%' stay, others
 * become %XX (uppercase). 0 or the buffer's error. */
int osp_grpc_percent_encode(osp_str s, osp_buf *out);

/* The gRPC status for an HTTP status (gRPC's HTTP-to-gRPC mapping, plus 413 and 431
 * as RESOURCE_EXHAUSTED and 405 as UNIMPLEMENTED); OK for 2xx. */
int osp_grpc_code_from_http(int http_status);

#endif
