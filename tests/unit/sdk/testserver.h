/* Test helpers for the SDK tests that export to a real local OTLP/HTTP server (the server's
 * network core): starting and stopping it on an ephemeral loopback port, a request log, and
 * a port with nothing listening. */
#ifndef OSPREY_TEST_SERVER_H
#define OSPREY_TEST_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "core/str.h"
#include "net/http.h"

/* A local server whose loop runs on its own thread. */
typedef struct test_server {
    osp_net *net;
    pthread_t loop;
    uint16_t port;
    char endpoint[64]; /* "http://127.0.0.1:<port>" */
} test_server;

static inline void *test_server_run(void *net)
{
    osp_net_run(net);
    return NULL;
}

/* Starts s on an ephemeral loopback port, serving routes[0..n). */
static inline void test_server_start(test_server *s, const osp_route *routes, size_t n)
{
    assert_int_equal(osp_net_create(NULL, &s->net), 0);
    assert_int_equal(osp_net_listen(s->net, "127.0.0.1:0", routes, n), 0);
    assert_int_equal(osp_net_port(s->net, 0, &s->port), 0);
    snprintf(s->endpoint, sizeof s->endpoint, "http://127.0.0.1:%u", s->port);
    assert_int_equal(pthread_create(&s->loop, NULL, test_server_run, s->net), 0);
}

static inline void test_server_stop(test_server *s)
{
    osp_net_stop(s->net);
    pthread_join(s->loop, NULL);
    osp_net_destroy(s->net);
}

/* A cmocka group teardown for a group setup that started a server and left it in *state. */
static inline int test_server_teardown(void **state)
{
    test_server_stop(*state);
    return 0;
}

/* Copies v NUL-terminated into out[cap], cut to fit. */
static inline void test_copy_str(osp_str v, char *out, size_t cap)
{
    snprintf(out, cap, "%.*s", OSP_STR_FMT(v));
}

/* A local port with nothing listening: bound, then closed. */
static inline uint16_t test_dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* ---- Request log ----------------------------------------------------------------------- */

#define TEST_MAX_REQUESTS 16
#define TEST_BODY_MAX 65536

/* One request the server received (its body cut to TEST_BODY_MAX bytes). */
typedef struct test_request {
    char path[32], content_type[64];
    char body[TEST_BODY_MAX];
    size_t len;
} test_request;

/* The requests received: the first TEST_MAX_REQUESTS kept (later ones overwrite the last),
 * total counting them all. Initialise mu with PTHREAD_MUTEX_INITIALIZER. */
typedef struct test_log {
    pthread_mutex_t mu;
    test_request req[TEST_MAX_REQUESTS];
    size_t n, total;
} test_log;

/* Records req in log. */
static inline void test_log_add(test_log *log, const osp_http_request *req)
{
    pthread_mutex_lock(&log->mu);
    test_request *r = &log->req[log->n < TEST_MAX_REQUESTS ? log->n++ : TEST_MAX_REQUESTS - 1];
    log->total++;
    test_copy_str(req->path, r->path, sizeof r->path);
    test_copy_str(osp_http_header_get(req, "content-type"), r->content_type,
                  sizeof r->content_type);
    r->len = req->body.n < sizeof r->body ? req->body.n : sizeof r->body;
    if (r->len)
        memcpy(r->body, req->body.p, r->len);
    pthread_mutex_unlock(&log->mu);
}

/* Forgets every request. */
static inline void test_log_reset(test_log *log)
{
    pthread_mutex_lock(&log->mu);
    log->n = log->total = 0;
    pthread_mutex_unlock(&log->mu);
}

/* How many requests arrived. */
static inline size_t test_log_total(test_log *log)
{
    pthread_mutex_lock(&log->mu);
    size_t n = log->total;
    pthread_mutex_unlock(&log->mu);
    return n;
}

#endif
