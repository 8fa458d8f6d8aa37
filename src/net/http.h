/* The network core's API: listeners that speak HTTP/1.1 and HTTP/2 cleartext (prior
 * knowledge, detected per connection) with gRPC framing, and route requests to handlers.
 *
 * Threading: one libuv loop thread does all socket I/O; a complete request (body read,
 * decompressed and capped) is handed to a handler on a libuv worker thread, and the
 * response is written back by the loop thread. */
#ifndef OSP_NET_HTTP_H
#define OSP_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"

enum osp_http_proto {
    OSP_PROTO_HTTP1, /* HTTP/1.x */
    OSP_PROTO_HTTP2, /* HTTP/2, not gRPC */
    OSP_PROTO_GRPC,  /* HTTP/2 with content-type application/grpc* */
};

typedef struct osp_http_header {
    osp_str name; /* lowercase */
    osp_str value;
} osp_http_header;

typedef struct osp_http_request {
    enum osp_http_proto proto;
    osp_str method; /* "GET", "POST", ... */
    osp_str path;   /* decoded of nothing; without the query */
    osp_str query;  /* raw text after '?', may be empty */
    const osp_http_header *headers;
    size_t nheaders;
    /* The body after Content-Encoding / grpc-encoding was undone. For gRPC: the single
     * request message without its 5-byte prefix. Never larger than the max_body limit. */
    osp_str body;
    osp_arena *arena; /* request lifetime; handlers may allocate from it */
} osp_http_request;

#define OSP_HTTP_MAX_EXTRA_HEADERS 8

/* A WebSocket (RFC 6455) a route accepted; see "WebSocket" below. */
typedef struct osp_ws osp_ws;

typedef struct osp_http_response {
    int status;               /* HTTP status; for gRPC leave 200 and set grpc_status */
    const char *content_type; /* static string or arena memory; NULL = none */
    osp_buf body;             /* for gRPC: the response message (net adds the prefix) */
    osp_http_header extra[OSP_HTTP_MAX_EXTRA_HEADERS]; /* e.g. retry-after, location */
    size_t nextra;
    int grpc_status;      /* gRPC status code (0 = OK) */
    osp_str grpc_message; /* human-readable; net percent-encodes it */
    osp_arena *arena;     /* set by net: the request's arena, used by the helpers below */
    osp_ws *ws;           /* set by net: the WebSocket of an upgraded request, else NULL */
} osp_http_response;

/* Runs on a worker thread. Must fill res (status defaults to 200, body empty); for an
 * upgraded WebSocket (res->ws set) res is ignored and the handler streams until it returns. */
typedef void (*osp_http_handler)(const osp_http_request *req, osp_http_response *res, void *ctx);

typedef struct osp_route {
    const char *method; /* "GET", "POST", or NULL for any */
    const char *path;   /* exact path, or a prefix when it ends with '*' */
    osp_http_handler handler;
    void *ctx;
    /* Optional: writes the body (and content type) of errors the network core itself
     * answers for this route over HTTP (413, 415, 503, ...) in the route's own format,
     * e.g. google.rpc.Status for OTLP/HTTP. res->status is already set; grpc_code is the
     * matching gRPC status. Runs on the loop thread and must not block. NULL: a JSON
     * {"error":"..."} body. */
    void (*error_body)(const osp_http_request *req, osp_http_response *res, int grpc_code,
                       osp_str message);
    /* 1: a body with Content-Encoding snappy reaches the handler still compressed (remote
     * write decodes it itself, under its own size cap); 0: such a body gets 415. */
    int snappy_body;
    /* 1: an HTTP/1.1 GET with "Upgrade: websocket" becomes a WebSocket: net checks the
     * handshake (Connection: upgrade, a 16-byte Sec-WebSocket-Key, Sec-WebSocket-Version 13;
     * else 400, or 426 for another version), answers 101 and runs the handler with res->ws
     * set for as long as it likes; when it returns net sends Close 1000 and closes. Without
     * the Upgrade header (and over HTTP/2) the handler runs as a plain request, ws NULL. */
    int websocket;
    /* Optional: makes this a fallback route. It takes a path only when no route without a
     * fallback matches that path (whatever the method) and this returns 1 for it (besides
     * .path matching), e.g. a web application's pages on every path but the API's (path
     * "/" followed by '*'). NULL: an ordinary route. */
    int (*fallback)(osp_str path);
} osp_route;

typedef struct osp_net_limits {
    size_t max_body;           /* after decompression; default 64 MiB -> 413 / RESOURCE_EXHAUSTED */
    size_t max_header_bytes;   /* request line + headers; default 64 KiB -> 431 */
    size_t max_inflight_bytes; /* bodies being handled at once; past it 503 / UNAVAILABLE; default
                                  256 MiB */
    uint32_t header_timeout_ms; /* whole request head must arrive within; default 10 s */
    uint32_t idle_timeout_ms;   /* idle keep-alive connection closed after; default 60 s */
    uint32_t body_timeout_ms;   /* gap allowed between body bytes; default 30 s */
} osp_net_limits;

typedef struct osp_net osp_net;

/* Creates the network core (not yet listening). Zero fields in limits take defaults. */
int osp_net_create(const osp_net_limits *limits, osp_net **out);
/* Binds "host:port" (IPv4 or [IPv6]) and serves the routes there (copied; ctx pointers
 * must outlive the net). Call before osp_net_run. Every listener accepts both HTTP/1.1 and h2c
 * prior knowledge. 0, OSP_EINVAL (bad address), OSP_EIO (bind failed; logged with the reason). */
int osp_net_listen(osp_net *net, const char *addr, const osp_route *routes, size_t nroutes);
/* Runs the loop until SIGINT/SIGTERM or osp_net_stop(), then shuts down gracefully: stop
 * accepting, finish in-flight requests, close connections. Returns 0. */
int osp_net_run(osp_net *net);
/* Registers fn to be called on the loop thread when a graceful shutdown begins (before
 * in-flight requests drain), e.g. to report not-ready. One hook; a later call replaces it. */
void osp_net_on_shutdown(osp_net *net, void (*fn)(void *ctx), void *ctx);
/* Asks a running loop to stop (thread-safe). */
void osp_net_stop(osp_net *net);
/* Frees the net after osp_net_run returned (or if it never ran). */
void osp_net_destroy(osp_net *net);
/* The local port of the index-th successful osp_net_listen (useful with port 0).
 * 0 or OSP_ENOTFOUND. */
int osp_net_port(const osp_net *net, size_t index, uint16_t *port);

/* Helpers for handlers. */
/* Value of the first header with this lowercase name, or an empty slice. */
osp_str osp_http_header_get(const osp_http_request *req, const char *name);
/* Value of a query parameter (percent-decoded into the arena); returns 1 found, 0 absent,
 * OSP_EPARSE on bad percent-encoding. */
int osp_http_query_get(const osp_http_request *req, const char *name, osp_str *value);
/* Iterates all query parameters in order: pos starts at 0; 1 while one was produced. */
int osp_http_query_next(const osp_http_request *req, size_t *pos, osp_str *name, osp_str *value);
/* Percent-decodes s into arena (returns s itself when there is nothing to decode); with
 * plus_is_space, '+' becomes ' ' as in query strings. 0, OSP_EPARSE, OSP_ENOMEM. */
int osp_http_percent_decode(osp_arena *arena, osp_str s, int plus_is_space, osp_str *out);
/* Adds a response header. name must be a lowercase static string; value must stay valid
 * until the response is sent (static, or the request's arena). Extra past the limit are dropped. */
void osp_http_response_header(osp_http_response *res, const char *name, osp_str value);
/* Sets a JSON error body {"error":"..."} with the status; for gRPC requests the same text
 * becomes grpc_message (and, unless the handler sets grpc_status, net maps the HTTP
 * status to a gRPC code). */
void osp_http_response_error(osp_http_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* WebSocket, for a handler running with res->ws set. Server-to-client text frames only;
 * what the client sends is read and discarded (net answers Ping and Close itself). Each of
 * these is thread-safe and may be called until the handler returns. */

/* Sends text (valid UTF-8, the caller's concern) as one text frame; it is copied. Blocks
 * while more than OSP_WS_MAX_QUEUED bytes wait to be written to the client (backpressure).
 * 0, OSP_ECLOSED once the client closed or went away or the server is shutting down,
 * OSP_ETOOBIG past OSP_WS_MAX_FRAME bytes, OSP_ENOMEM. */
int osp_ws_send_text(osp_ws *ws, osp_str text);
/* 1 once the WebSocket is closed (the client sent Close or disconnected, a protocol error,
 * shutdown began): the handler should return. 0 while open. */
int osp_ws_closed(osp_ws *ws);
/* Sleeps up to timeout_ms, returning early when the WebSocket closes: the handler's poll
 * interval. Returns osp_ws_closed(). */
int osp_ws_wait_closed(osp_ws *ws, uint32_t timeout_ms);

#define OSP_WS_MAX_QUEUED ((size_t)1 << 20) /* bytes queued before osp_ws_send_text blocks */
#define OSP_WS_MAX_FRAME ((size_t)16 << 20) /* largest text osp_ws_send_text takes */

#endif
