/* Private structures of the network core, shared by server.c (loop, connections,
 * HTTP/1), h2.c (HTTP/2 sessions) and request.c (request lifecycle and workers), and the
 * connection functions of server.c. */
#ifndef OSP_NET_NET_INT_H
#define OSP_NET_NET_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>
#include <uv.h>

#include "core/metrics.h"
#include "net/http.h"
#include "net/http1.h"

#define OSP__READ_CHUNK (64 * 1024) /* bytes asked of the kernel per read */
#define OSP__MAX_HEADERS OSP_HTTP1_MAX_HEADERS

typedef struct osp__conn osp__conn;
typedef struct osp__req osp__req;
typedef struct osp__listener osp__listener;

struct osp__listener {
    uv_tcp_t tcp;
    osp_net *net;
    osp__listener *next;
    osp_route *routes; /* copies, strings included */
    size_t nroutes;
    uint16_t port;
};

enum osp__conn_proto { OSP__CONN_NEW, OSP__CONN_H1, OSP__CONN_H2 };

enum osp__timer_kind {
    OSP__T_NONE,
    OSP__T_HEAD,
    OSP__T_BODY,
    OSP__T_IDLE,
    OSP__T_WRITE,
    OSP__T_LINGER
};

struct osp__conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    osp_net *net;
    const osp__listener *lst;
    osp__conn *prev, *next; /* the net's connections */
    osp__req *reqs;         /* requests of this connection */
    enum osp__conn_proto proto;
    enum osp__timer_kind timer_kind;
    int closing;  /* uv_close called; freed once nclosing reaches 0 */
    int nclosing; /* handle close callbacks still to come */
    int draining; /* last response sent and FIN queued: input is discarded until EOF */
    int reading;  /* uv_read_start active */
    /* HTTP/1 */
    osp_http1_parser h1;
    osp_buf rbuf;    /* unconsumed input: a partial head, pipelined requests */
    osp__req *cur;   /* the request being received or answered */
    uv_write_t cont; /* "100 Continue" */
    osp_ws *ws;      /* after a WebSocket upgrade: input goes to it (websocket.c) */
    /* HTTP/2 */
    nghttp2_session *h2;
    int in_recv;  /* inside nghttp2_session_mem_recv: no sending from callbacks */
    int writing;  /* wbuf is being written */
    osp_buf wbuf; /* frames taken from nghttp2, being written */
    uv_write_t wreq;
};

enum osp__req_state {
    OSP__REQ_RECEIVING,  /* head parsed, body arriving */
    OSP__REQ_WORKING,    /* on a worker thread */
    OSP__REQ_RESPONDING, /* response handed to the protocol (h2: until the stream closes) */
    OSP__REQ_WRITING,    /* HTTP/1: response write pending; its callback frees the request */
};

enum osp__coding { OSP__CODING_IDENTITY, OSP__CODING_INFLATE };

struct osp__req {
    osp_http_request pub;
    osp_http_response res;
    osp_arena arena;
    osp_http_header headers[OSP__MAX_HEADERS];
    osp_buf body;     /* as received (still compressed); capped */
    osp_buf inflated; /* after Content-Encoding / grpc-encoding */
    osp_buf out;      /* HTTP/1 response head; HTTP/2 encoded grpc-message */
    osp_net *net;
    osp__conn *conn; /* NULL once the connection went away: the response is dropped */
    osp__req *prev, *next;
    const osp_route *route;
    enum osp__req_state state;
    enum osp__coding coding;
    osp_str grpc_encoding;
    int early;        /* response decided on the loop thread; no handler runs */
    int keep_alive;   /* HTTP/1 */
    int minor;        /* HTTP/1 minor version */
    int head_only;    /* HEAD served by a GET route */
    int upgrade;      /* HTTP/1: a valid WebSocket handshake on a websocket route */
    osp_ws *ws;       /* after the upgrade (also res.ws, which the handler could clobber) */
    size_t charged;   /* bytes counted in net->inflight_bytes */
    size_t hdr_bytes; /* HTTP/2: header bytes received */
    int hdr_overflow; /* HTTP/2: headers past the limits */
    int32_t stream_id;
    size_t out_off;   /* HTTP/2: response bytes handed to nghttp2 */
    uint64_t t_start; /* uv_hrtime() at the head */
    unsigned char prefix[5];
    char num[2][24]; /* HTTP/2: :status and content-length / grpc-status text */
    uv_work_t work;
    uv_async_t ws_returned; /* WebSocket: its handler's thread returned (request.c) */
    uv_write_t wreq;
};

struct osp_net {
    uv_loop_t loop;
    osp_net_limits lim;
    uv_async_t async;
    uv_signal_t sigint, sigterm;
    uv_timer_t grace; /* bounds a graceful shutdown */
    int signals_on;
    osp__listener *listeners;
    osp__conn *conns;
    osp__req *req_cache; /* freed requests kept with their buffers */
    size_t ncache;
    char *rdbuf; /* shared read buffer (loop thread only) */
    size_t inflight_bytes;
    nghttp2_session_callbacks *h2cbs;
    nghttp2_option *h2opt;
    atomic_int stop_requested;
    int stopping;
    void (*on_shutdown)(void *ctx); /* osp_net_on_shutdown */
    void *on_shutdown_ctx;
    osp_metric *m_inflight, *m_duration[3];
    osp_metric *m_rejected[4]; /* too_large, overloaded, bad_request, timeout */
};

/* Connections (server.c). */

/* Closes a connection: orphans or frees its requests, closes its handles (idempotent). */
void osp__conn_close(osp__conn *c);
/* (Re)starts the connection's timer; restart 0 keeps a running timer of the same kind. */
void osp__conn_timer(osp__conn *c, enum osp__timer_kind kind, int restart);
/* After the last bytes were written: sends FIN and discards input until the client closes
 * (or a linger timeout closes the connection). */
void osp__conn_drain(osp__conn *c);
/* Writes the HTTP/1 response of r on its connection. 0 or an error. */
int osp__h1_send(osp__req *r);

#endif
