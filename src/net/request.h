/* Request lifecycle shared by HTTP/1 and HTTP/2 (internal to net/). */
#ifndef OSP_NET_REQUEST_H
#define OSP_NET_REQUEST_H

#include "net/net_int.h"

enum osp__reject {
    OSP__REJ_TOO_LARGE,
    OSP__REJ_OVERLOADED,
    OSP__REJ_BAD_REQUEST,
    OSP__REJ_TIMEOUT,
    OSP__REJ_NONE
};

/* A fresh request on connection c (linked into c->reqs), or NULL when out of memory. */
osp__req *osp__req_new(osp__conn *c, enum osp_http_proto proto);
/* Frees (or caches) a request and releases what it counted; unlinks it from its conn. */
void osp__req_free(osp__req *r);
/* Frees the requests kept for reuse. */
void osp__req_cache_clear(osp_net *net);
/* The connection is going away: a request on a worker is orphaned (freed when the worker
 * returns), any other is freed now. */
void osp__req_detach(osp__req *r);
/* After the head: routing, encodings, size and load checks. 0 to go on receiving the
 * body, 1 when an error response was prepared (r->early). content_length < 0: unknown. */
int osp__req_start(osp__req *r, int64_t content_length);
/* Adds body bytes (zero-copy when data already sits at the end of r->body). 0, or 1 when
 * an error response was prepared (too large, overloaded). */
int osp__req_body(osp__req *r, osp_str data);
/* Prepares an error response (JSON for HTTP, status + message for gRPC) and counts the
 * rejection under reason. Usable from the loop or the request's worker. */
void osp__req_fail(osp__req *r, int status, enum osp__reject reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The request is complete: answers an early response or queues the handler. 0 or the
 * protocol's error (the caller then closes the connection). */
int osp__req_dispatch(osp__req *r);
/* Records metrics and hands the response to the connection's protocol. 0 or an error. */
int osp__req_respond(osp__req *r);
/* Registers the net's self-metrics. */
void osp__net_metrics_init(osp_net *net);
/* Counts a rejection (loop or worker thread). */
void osp__net_reject(osp_net *net, enum osp__reject reason);

#endif
