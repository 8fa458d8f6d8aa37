/* WebSocket (RFC 6455) for the network core: the frame codec (pure, fuzzed by
 * fuzz/ws_frame.c), the opening handshake, and the loop side of upgraded connections. The
 * handlers' API (osp_ws_send_text, ...) is in http.h. */
#ifndef OSP_NET_WEBSOCKET_H
#define OSP_NET_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

enum osp_ws_opcode {
    OSP_WS_OP_CONT = 0x0,
    OSP_WS_OP_TEXT = 0x1,
    OSP_WS_OP_BINARY = 0x2,
    OSP_WS_OP_CLOSE = 0x8,
    OSP_WS_OP_PING = 0x9,
    OSP_WS_OP_PONG = 0xA,
};

/* Close codes (RFC 6455 7.4.1) net sends. */
enum osp_ws_close_code {
    OSP_WS_CLOSE_NORMAL = 1000,
    OSP_WS_CLOSE_GOING_AWAY = 1001,
    OSP_WS_CLOSE_PROTOCOL = 1002,
    OSP_WS_CLOSE_NO_STATUS = 1005, /* a Close without a code: never sent */
    OSP_WS_CLOSE_BAD_DATA = 1007,  /* a Close reason that is not UTF-8 */
    OSP_WS_CLOSE_TOO_BIG = 1009,
};

#define OSP_WS_MAX_HEAD 14     /* a frame head: 2 + 8 (length) + 4 (mask) */
#define OSP_WS_MAX_CONTROL 125 /* payload of a control frame */
#define OSP_WS_ACCEPT_LEN 28   /* base64 of a SHA-1 */

enum osp_ws_event {
    OSP_WS_NEED_MORE, /* every byte was used; feed more */
    OSP_WS_DATA,      /* a piece of a text or binary message's payload, unmasked, in *payload */
    OSP_WS_PING,      /* a Ping; its payload (unmasked) in *payload */
    OSP_WS_PONG,      /* a Pong; likewise */
    OSP_WS_CLOSE,     /* a Close: reader->close_code is its code (1005 when it had none),
                       *payload its reason; later input is ignored */
};

/* Incremental reader of the frames a client sends (they must be masked). */
typedef struct osp_ws_reader {
    uint64_t max_message; /* cap on a text or binary message, all its fragments -> 1009 */
    int state;
    uint8_t head[OSP_WS_MAX_HEAD]; /* the frame head being collected */
    size_t nhead;
    int opcode, fin;
    uint8_t mask[4];
    uint64_t left;                   /* payload bytes of the frame still to come */
    uint64_t pos;                    /* payload bytes of the frame seen (the mask's phase) */
    uint64_t message;                /* bytes of the open data message so far */
    int in_message;                  /* a data message is open: its last frame had FIN clear */
    uint8_t ctl[OSP_WS_MAX_CONTROL]; /* a control frame's payload being collected */
    size_t nctl;
    int close_code; /* after OSP_WS_CLOSE: the peer's code; after an error: the code to send */
} osp_ws_reader;

/* Prepares a reader. */
void osp_ws_reader_init(osp_ws_reader *r, uint64_t max_message);

/* Feeds bytes (unmasked in place, hence not const); the reader keeps partial heads and
 * control payloads itself, so data need not be kept across calls. On success *ev says
 * what happened, *used how many bytes of data were consumed, *payload the event's bytes
 * (a slice of data for DATA, of the reader for control frames; valid until the next call).
 * Returns 0, OSP_EPARSE (protocol error: r->close_code 1002, or 1007 for a Close reason that
 * is not UTF-8) or OSP_ETOOBIG (a message over max_message: 1009). After an error every
 * call fails the same way. */
int osp_ws_read(osp_ws_reader *r, uint8_t *data, size_t len, enum osp_ws_event *ev, size_t *used,
                osp_str *payload);

/* Writes the head of a final (FIN) frame with this opcode and payload length into out;
 * mask NULL for a server's unmasked frame, else the client's masking key (the caller masks
 * the payload). Returns the head's length. */
size_t osp_ws_frame_head(uint8_t out[OSP_WS_MAX_HEAD], enum osp_ws_opcode opcode, uint64_t len,
                         const uint8_t *mask);

/* XORs p[0..n) with the masking key, starting at payload offset pos. */
void osp_ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t pos);

/* 1 when key is a valid Sec-WebSocket-Key: the base64 of 16 bytes. */
int osp_ws_key_valid(osp_str key);

/* The Sec-WebSocket-Accept value for key: base64(SHA-1(key + RFC 6455 GUID)). */
void osp_ws_accept(osp_str key, char out[OSP_WS_ACCEPT_LEN]);

/* The loop side (websocket.c, internal to net/). */
struct osp__req;
struct osp__conn;

/* After the head of a request on a websocket route: decides whether it is an upgrade.
 * 0 to go on (r->upgrade set for a valid handshake; unset for a plain request), 1 when an
 * error response was prepared (r->early: 400, 426, 503). */
int osp__ws_check(struct osp__req *r, int64_t content_length);
/* Upgrades r's connection: queues the 101 response and runs the handler with res.ws set.
 * 0 or an error (the caller closes the connection). */
int osp__ws_start(struct osp__req *r);
/* Loop thread, the handler of r returned: frees r and closes the WebSocket (Close 1000,
 * or 1001 while shutting down, unless a Close was already sent). */
void osp__ws_done(struct osp__req *r);
/* Bytes read on an upgraded connection. */
void osp__ws_input(struct osp__conn *c, char *data, size_t len);
/* Shutdown began: sends Close 1001 and marks the WebSocket closed. */
void osp__ws_shutdown(struct osp__conn *c);
/* The connection is being closed: the WebSocket is marked closed and forgets it. */
void osp__ws_conn_gone(struct osp__conn *c);

#endif
