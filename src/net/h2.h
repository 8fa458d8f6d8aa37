/* HTTP/2 connections on nghttp2 (internal to net/). */
#ifndef OSP_NET_H2_H
#define OSP_NET_H2_H

#include "net/net_int.h"

/* Creates the shared nghttp2 callbacks and options. 0 or OSP_ENOMEM. */
int osp__h2_global_init(osp_net *net);
void osp__h2_global_cleanup(osp_net *net);
/* Switches a connection to HTTP/2 (the preface was seen). 0 or OSP_ENOMEM. */
int osp__h2_start(osp__conn *c);
/* Feeds received bytes to the session and writes what it has to send. */
void osp__h2_input(osp__conn *c, const char *data, size_t len);
/* Submits the response of r on its stream. 0 or an error (connection to be closed). */
int osp__h2_send(osp__req *r);
/* Sends what the session has queued (outside nghttp2 callbacks). */
void osp__h2_flush(osp__conn *c);
/* Graceful end: GOAWAY, finish open streams, then close. */
void osp__h2_goaway(osp__conn *c);
/* Timer fired on an HTTP/2 connection. */
void osp__h2_timeout(osp__conn *c);
/* Frees the session (connection closing). */
void osp__h2_free(osp__conn *c);

#endif
