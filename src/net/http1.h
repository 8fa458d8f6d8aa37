/* Incremental HTTP/1.1 request parser and response-head writer. A pure function of the
 * bytes fed in: no sockets, no allocation, so it can be fuzzed on its own. */
#ifndef OSP_NET_HTTP1_H
#define OSP_NET_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"
#include "net/http.h"

#define OSP_HTTP1_MAX_HEADERS 100 /* more header fields than this -> 431 */
#define OSP_HTTP1_MAX_LINE 4096   /* chunk-size line with extensions -> 400 past it */

enum osp_http1_event {
    OSP_HTTP1_NEED_MORE, /* every byte that could be used was; feed more */
    OSP_HTTP1_HEAD,      /* request line and headers parsed into parser->head */
    OSP_HTTP1_BODY,      /* a piece of the (de-chunked) body in *body */
    OSP_HTTP1_DONE,      /* the request ended; the parser is ready for the next one */
};

/* A parsed request head. Slices point into the bytes passed to osp_http1_parse and are
 * valid while the caller keeps those bytes (header names were lowercased in place). */
typedef struct osp_http1_head {
    osp_str method;
    osp_str path;  /* request target up to '?' (origin form; absolute form is reduced) */
    osp_str query; /* after '?', may be empty */
    int minor;     /* 0: HTTP/1.0, 1: HTTP/1.1 */
    osp_http_header headers[OSP_HTTP1_MAX_HEADERS];
    size_t nheaders;
    size_t len;              /* bytes of the head, blank line included */
    int chunked;             /* Transfer-Encoding: chunked */
    uint64_t content_length; /* when not chunked; 0 = no body */
    int keep_alive;          /* connection stays open after the response */
    int expect_continue;     /* Expect: 100-continue */
} osp_http1_head;

typedef struct osp_http1_parser {
    size_t max_head;   /* request line + headers (and, separately, trailers) */
    uint64_t max_body; /* body bytes after de-chunking */
    int state;
    int status;         /* HTTP status to answer with after an error */
    size_t line_start;  /* head: offset of the line being scanned */
    size_t scan;        /* head: bytes already searched for a line end */
    uint64_t remaining; /* body bytes left in the message (length) or chunk */
    uint64_t body_seen; /* de-chunked body bytes so far */
    size_t line_len;    /* bytes in the current chunk-size or trailer line */
    size_t trailer_len; /* bytes of trailers so far */
    osp_http1_head head;
} osp_http1_parser;

/* Prepares a parser for a new connection. */
void osp_http1_init(osp_http1_parser *p, size_t max_head, uint64_t max_body);

/* Feeds the unconsumed bytes of a connection: data must start with the first byte not yet
 * reported as used, and keep every byte of a head together across calls until HEAD is
 * reported (the parser lowercases header names in place, hence not const). len may be 0.
 * On success *ev says what happened, *used how many bytes from data were consumed and, for
 * OSP_HTTP1_BODY, *body the body bytes (a slice of data).
 * Returns 0, OSP_EPARSE (malformed: p->status is 400, 417, 501 or 505) or OSP_ETOOBIG
 * (p->status 413 for the body, 431 for the head or trailers). After an error the parser
 * must be initialized again. */
int osp_http1_parse(osp_http1_parser *p, char *data, size_t len, enum osp_http1_event *ev,
                    size_t *used, osp_str *body);

/* 1 while a message is partly parsed (bytes seen of a head or body not yet ended). */
int osp_http1_busy(const osp_http1_parser *p);

/* 1 while the body of the current request is being read with a known length, and how
 * many bytes of it are still expected (lets the caller read straight into its body). */
int osp_http1_body_left(const osp_http1_parser *p, uint64_t *left);

/* Scans the comma-separated tokens of a list-valued field (Connection, Upgrade); returns
 * the OR of 1 << i for each names[i] (at most 32) that appears, case-insensitively. */
unsigned osp_http1_list_flags(osp_str v, const char *const *names, size_t nnames);

/* Reason phrase for a status code ("OK", "Not Found"); "Unknown" for others. */
const char *osp_http1_reason(int status);

/* 0 for statuses whose responses carry no body and no Content-Length (1xx, 204, 304). */
int osp_http1_body_allowed(int status);

/* Appends an HTTP/1.1 response head: status line, Content-Type (when set),
 * Content-Length (when the status allows a body), Connection (close, or keep-alive for an HTTP/1.0
 * client), the extra headers, and the blank line. 0 or the buffer's error. */
int osp_http1_write_head(osp_buf *out, const osp_http_response *res, size_t content_length,
                         int keep_alive, int minor);

#endif
