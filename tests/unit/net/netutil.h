/* Helpers shared by the network core's end-to-end tests: a loop thread and raw sockets
 * to 127.0.0.1. */
#ifndef OSP_TEST_NETUTIL_H
#define OSP_TEST_NETUTIL_H

#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "net/http.h"

/* pthread entry: runs the net's loop until it stops. */
static inline void *net_test_run_loop(void *net)
{
    osp_net_run(net);
    return NULL;
}

/* A connected TCP socket to 127.0.0.1:port, with Nagle off. */
static inline int net_test_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static inline void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        c += w;
        n -= (size_t)w;
    }
}

#endif
