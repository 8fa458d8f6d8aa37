/* WebSocket (RFC 6455) end to end: a real server on 127.0.0.1 and a tiny client written
 * here (handshake, masked frames), plus the frame codec on its own. */
#include "netutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include "core/err.h"
#include "net/http.h"
#include "net/websocket.h"

#define SHORT_MS 300 /* idle timeout: a WebSocket must outlive it */
#define BIG (100 * 1024)
#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* RFC 6455 section 1.3 */

static osp_net *net;
static pthread_t loop_thread;
static uint16_t port;
static atomic_int returned;  /* handlers that returned */
static atomic_int last_rc;   /* the flood handler's last osp_ws_send_text result */
static atomic_int plain_run; /* handler runs without a WebSocket */

/* ---- handlers ---- */

/* Sends ?n= frames "msg I" and returns. */
static void h_count(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)ctx;
    osp_str v;
    int n = osp_http_query_get(req, "n", &v) == 1 ? atoi(v.p) : 3;
    assert_non_null(res->ws);
    for (int i = 0; i < n; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "msg %d", i);
        assert_int_equal(osp_ws_send_text(res->ws, osp_str_make(msg, (size_t)len)), 0);
    }
    atomic_fetch_add(&returned, 1);
}

/* Polls until the WebSocket closes; without one, answers 400 itself. */
static void h_loop(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    if (!res->ws) {
        atomic_fetch_add(&plain_run, 1);
        osp_http_response_error(res, 400, "websocket required");
        return;
    }
    while (!osp_ws_wait_closed(res->ws, 20))
        ;
    assert_int_equal(osp_ws_closed(res->ws), 1);
    assert_int_equal(osp_ws_send_text(res->ws, OSP_STR_LIT("late")), OSP_ECLOSED);
    atomic_fetch_add(&returned, 1);
}

/* One text frame of BIG bytes. */
static void h_big(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    char *p = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        p[i] = (char)('a' + i % 26);
    assert_int_equal(osp_ws_send_text(res->ws, osp_str_make(p, BIG)), 0);
    free(p);
    atomic_fetch_add(&returned, 1);
}

/* Sends 64 KiB frames until that fails (blocks while the client does not read). */
static void h_flood(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    static char chunk[64 * 1024];
    memset(chunk, 'x', sizeof chunk);
    int rc;
    while ((rc = osp_ws_send_text(res->ws, osp_str_make(chunk, sizeof chunk))) == 0)
        ;
    atomic_store(&last_rc, rc);
    atomic_fetch_add(&returned, 1);
}

static const osp_route routes[] = {
    {"GET", "/ws/count", h_count, NULL, NULL, 0, 1, NULL},
    {"GET", "/ws/loop", h_loop, NULL, NULL, 0, 1, NULL},
    {"GET", "/ws/big", h_big, NULL, NULL, 0, 1, NULL},
    {"GET", "/ws/flood", h_flood, NULL, NULL, 0, 1, NULL},
    {"GET", "/not-ws", h_loop, NULL, NULL, 0, 0, NULL},
};

static void start_server(void)
{
    osp_net_limits lim = {
        .header_timeout_ms = SHORT_MS, .idle_timeout_ms = SHORT_MS, .body_timeout_ms = SHORT_MS};
    assert_int_equal(osp_net_create(&lim, &net), 0);
    assert_int_equal(osp_net_listen(net, "127.0.0.1:0", routes, sizeof routes / sizeof routes[0]),
                     0);
    assert_int_equal(osp_net_port(net, 0, &port), 0);
    assert_int_equal(pthread_create(&loop_thread, NULL, net_test_run_loop, net), 0);
}

/* Joins the loop thread within timeout_ms; 1 done, 0 still running. */
static int join_loop(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return pthread_timedjoin_np(loop_thread, NULL, &ts) == 0;
}

static int setup(void **state)
{
    (void)state;
    start_server();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    osp_net_stop(net);
    assert_true(join_loop(5000));
    osp_net_destroy(net);
    net = NULL;
    return 0;
}

/* Waits until `returned` reaches n within timeout_ms. */
static int wait_returned(int n, int timeout_ms)
{
    for (int t = 0; t < timeout_ms && atomic_load(&returned) < n; t += 5)
        usleep(5000);
    return atomic_load(&returned) >= n;
}

/* ---- the client ---- */

static int connect_server(void)
{
    return net_test_connect(port);
}

/* Reads exactly n bytes within timeout_ms each; 1, 0 on EOF or reset, -1 on timeout. */
static int recv_all(int fd, void *p, size_t n, int timeout_ms)
{
    char *c = p;
    while (n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, timeout_ms) <= 0)
            return -1;
        ssize_t r = recv(fd, c, n, 0);
        if (r <= 0)
            return 0;
        c += r;
        n -= (size_t)r;
    }
    return 1;
}

/* Reads a response head (byte by byte, so nothing after it is consumed). */
static void read_head(int fd, char *head, size_t cap)
{
    size_t n = 0;
    while (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4)) {
        assert_true(n < cap - 1);
        assert_int_equal(recv_all(fd, head + n, 1, 3000), 1);
        n++;
    }
    head[n] = '\0';
}

/* Sends a request and reads the response head, and its body unless the status is 101;
 * returns the status. */
static int request(int fd, const char *req, char *head, size_t cap)
{
    char body[1024];
    send_all(fd, req, strlen(req));
    read_head(fd, head, cap);
    const char *cl = strstr(head, "\r\nContent-Length: ");
    size_t n = cl ? strtoul(cl + 18, NULL, 10) : 0;
    assert_true(n < sizeof body);
    assert_int_equal(recv_all(fd, body, n, 3000), 1);
    return atoi(head + 9);
}

/* Sends an upgrade request for path with this key and version; returns the status. */
static int upgrade(int fd, const char *path, const char *key, const char *version, char *head,
                   size_t cap)
{
    char req[512];
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: keep-alive, "
             "Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: %s\r\n\r\n",
             path, key, version);
    return request(fd, req, head, cap);
}

/* Opens a WebSocket on path with the RFC 6455 example key. */
static int ws_open(const char *path)
{
    char head[1024];
    int fd = connect_server();
    assert_int_equal(upgrade(fd, path, RFC_KEY, "13", head, sizeof head), 101);
    assert_non_null(strstr(head, "\r\nUpgrade: websocket\r\n"));
    assert_non_null(strstr(head, "\r\nConnection: Upgrade\r\n"));
    assert_non_null(strstr(head, "\r\nSec-WebSocket-Accept: " RFC_ACCEPT "\r\n"));
    return fd;
}

/* Sends one frame, masked unless `unmasked`; the length encoding is the shortest. */
static void ws_send(int fd, int fin, int opcode, const void *payload, size_t n, int unmasked)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t *f = malloc(n + 14);
    size_t h = 0;
    f[h++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    uint8_t m = unmasked ? 0 : 0x80;
    if (n < 126) {
        f[h++] = (uint8_t)(m | n);
    } else if (n < 65536) {
        f[h++] = m | 126;
        f[h++] = (uint8_t)(n >> 8);
        f[h++] = (uint8_t)n;
    } else {
        f[h++] = m | 127;
        for (int i = 7; i >= 0; i--)
            f[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    if (!unmasked) {
        memcpy(f + h, key, 4);
        h += 4;
    }
    for (size_t i = 0; i < n; i++)
        f[h + i] = ((const uint8_t *)payload)[i] ^ (unmasked ? 0 : key[i & 3]);
    send_all(fd, f, h + n);
    free(f);
}

static void ws_send_close(int fd, int code)
{
    uint8_t p[5] = {(uint8_t)(code >> 8), (uint8_t)code, 'b', 'y', 'e'};
    ws_send(fd, 1, 0x8, p, sizeof p, 0);
}

typedef struct frame {
    int fin, opcode;
    uint8_t len7; /* the length field as sent: 126, 127 or the length */
    size_t n;
    uint8_t *p; /* malloc'd, NUL-terminated */
} frame;

/* Reads one server frame (which must be unmasked): 1, 0 on EOF, -1 on timeout. */
static int ws_recv(int fd, frame *f, int timeout_ms)
{
    uint8_t h[8];
    memset(f, 0, sizeof *f);
    int rc = recv_all(fd, h, 2, timeout_ms);
    if (rc != 1)
        return rc;
    f->fin = h[0] >> 7;
    f->opcode = h[0] & 0xf;
    assert_int_equal(h[0] & 0x70, 0);
    assert_int_equal(h[1] & 0x80, 0); /* servers do not mask */
    f->len7 = h[1] & 0x7f;
    uint64_t n = f->len7;
    size_t ext = n == 126 ? 2 : n == 127 ? 8 : 0;
    if (ext) {
        assert_int_equal(recv_all(fd, h, ext, timeout_ms), 1);
        n = 0;
        for (size_t i = 0; i < ext; i++)
            n = n << 8 | h[i];
    }
    f->n = (size_t)n;
    f->p = malloc(f->n + 1);
    assert_int_equal(recv_all(fd, f->p, f->n, timeout_ms), 1);
    f->p[f->n] = 0;
    return 1;
}

/* Expects a Close frame with code (and no reason). */
static void expect_close_frame(int fd, int code)
{
    frame f;
    assert_int_equal(ws_recv(fd, &f, 3000), 1);
    assert_int_equal(f.opcode, 0x8);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.p[0] << 8 | f.p[1], code);
    free(f.p);
}

/* Expects a Close frame with code, then (after answering it) the end of the connection. */
static void expect_close(int fd, int code)
{
    expect_close_frame(fd, code);
    ws_send_close(fd, code);
    char b[64];
    struct pollfd pfd = {fd, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 3000), 1);
    assert_true(recv(fd, b, sizeof b, 0) <= 0);
}

static void expect_pong(int fd, const char *payload)
{
    frame f;
    assert_int_equal(ws_recv(fd, &f, 3000), 1);
    assert_int_equal(f.opcode, 0xA);
    assert_string_equal((char *)f.p, payload);
    free(f.p);
}

/* ---- tests ---- */

static void test_accept_value(void **state)
{
    (void)state;
    char out[OSP_WS_ACCEPT_LEN];
    osp_ws_accept(OSP_STR_LIT(RFC_KEY), out);
    assert_memory_equal(out, RFC_ACCEPT, OSP_WS_ACCEPT_LEN);
    assert_true(osp_ws_key_valid(OSP_STR_LIT(RFC_KEY)));
    assert_false(osp_ws_key_valid(OSP_STR_LIT("dGhlIHNhbXBsZSBub25jZQ=")));
    assert_false(osp_ws_key_valid(OSP_STR_LIT("dGhlIHNhbXBsZSBub25jZ*==")));
}

static void test_frames_then_close(void **state)
{
    (void)state;
    int before = atomic_load(&returned);
    int fd = ws_open("/ws/count?n=5");
    for (int i = 0; i < 5; i++) {
        frame f;
        char want[32];
        snprintf(want, sizeof want, "msg %d", i);
        assert_int_equal(ws_recv(fd, &f, 3000), 1);
        assert_int_equal(f.fin, 1);
        assert_int_equal(f.opcode, 0x1);
        assert_string_equal((char *)f.p, want);
        free(f.p);
    }
    expect_close(fd, 1000);
    assert_true(wait_returned(before + 1, 3000));
    close(fd);
}

static void test_client_close(void **state)
{
    (void)state;
    int before = atomic_load(&returned);
    int fd = ws_open("/ws/loop");
    usleep(2 * SHORT_MS * 1000); /* longer than the idle timeout: still open */
    ws_send(fd, 1, 0x9, "alive", 5, 0);
    expect_pong(fd, "alive");
    assert_int_equal(atomic_load(&returned), before);
    ws_send_close(fd, 1000);
    expect_close_frame(fd, 1000); /* the code echoed */
    assert_true(wait_returned(before + 1, 3000));
    close(fd);
}

static void test_ping_and_discarded_messages(void **state)
{
    (void)state;
    int before = atomic_load(&returned);
    int fd = ws_open("/ws/loop");
    ws_send(fd, 1, 0x9, "hi", 2, 0);
    expect_pong(fd, "hi");
    /* Messages from the client are read and dropped, fragmented ones included, with a
     * Ping between the fragments; an unsolicited Pong is ignored. */
    ws_send(fd, 1, 0x1, "hello", 5, 0);
    ws_send(fd, 0, 0x2, "ab", 2, 0);
    ws_send(fd, 1, 0x9, "mid", 3, 0);
    ws_send(fd, 1, 0x0, "cd", 2, 0);
    ws_send(fd, 1, 0xA, "x", 1, 0);
    ws_send(fd, 1, 0x9, "", 0, 0);
    expect_pong(fd, "mid");
    expect_pong(fd, "");
    /* The client disconnecting closes the WebSocket too. */
    close(fd);
    assert_true(wait_returned(before + 1, 3000));
}

static void test_protocol_errors(void **state)
{
    (void)state;
    static const struct {
        int fin, opcode, unmasked, code;
    } cases[] = {
        {1, 0x1, 1, 1002}, /* unmasked */
        {1, 0x3, 0, 1002}, /* reserved opcode */
        {1, 0x0, 0, 1002}, /* continuation of nothing */
        {0, 0x9, 0, 1002}, /* fragmented control frame */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = atomic_load(&returned);
        int fd = ws_open("/ws/loop");
        ws_send(fd, cases[i].fin, cases[i].opcode, "data", 4, cases[i].unmasked);
        expect_close(fd, cases[i].code);
        assert_true(wait_returned(before + 1, 3000));
        close(fd);
    }
}

static void test_not_upgraded(void **state)
{
    (void)state;
    char head[1024];
    int before = atomic_load(&plain_run);
    int fd = connect_server();
    /* No Upgrade header: the handler runs as a plain request and answers 400 itself. */
    assert_int_equal(request(fd, "GET /ws/loop HTTP/1.1\r\nHost: t\r\n\r\n", head, sizeof head),
                     400);
    assert_int_equal(atomic_load(&plain_run), before + 1);
    /* A route without websocket ignores the Upgrade header. */
    assert_int_equal(upgrade(fd, "/not-ws", RFC_KEY, "13", head, sizeof head), 400);
    assert_int_equal(atomic_load(&plain_run), before + 2);
    /* Broken handshakes are refused by net and the connection stays usable. */
    assert_int_equal(upgrade(fd, "/ws/loop", RFC_KEY, "8", head, sizeof head), 426);
    assert_non_null(strstr(head, "\r\nsec-websocket-version: 13\r\n"));
    assert_int_equal(upgrade(fd, "/ws/loop", "short", "13", head, sizeof head), 400);
    assert_int_equal(atomic_load(&plain_run), before + 2);
    close(fd);
}

static void test_large_frames(void **state)
{
    (void)state;
    int before = atomic_load(&returned);
    int fd = ws_open("/ws/big");
    frame f;
    assert_int_equal(ws_recv(fd, &f, 3000), 1);
    assert_int_equal(f.len7, 127);
    assert_int_equal(f.n, BIG);
    for (size_t i = 0; i < BIG; i++)
        assert_int_equal(f.p[i], 'a' + i % 26);
    free(f.p);
    expect_close(fd, 1000);
    assert_true(wait_returned(before + 1, 3000));
    close(fd);

    /* The client's large frame (127-length encoding) is read and dropped... */
    fd = ws_open("/ws/loop");
    uint8_t *big = calloc(1, BIG);
    ws_send(fd, 1, 0x2, big, BIG, 0);
    ws_send(fd, 1, 0x9, "after", 5, 0);
    expect_pong(fd, "after");
    /* ...but a message over the 1 MiB cap closes with 1009, fragments counted together. */
    for (int i = 0; i < 10; i++)
        ws_send(fd, 0, i ? 0x0 : 0x1, big, BIG, 0);
    ws_send(fd, 1, 0x0, big, BIG, 0);
    expect_close(fd, 1009);
    free(big);
    assert_true(wait_returned(before + 2, 3000));
    close(fd);
}

static void test_backpressure_and_disconnect(void **state)
{
    (void)state;
    int before = atomic_load(&returned);
    int fd = ws_open("/ws/flood");
    usleep(200 * 1000);
    /* The client reads nothing: the handler blocks instead of queueing without bound. */
    assert_int_equal(atomic_load(&returned), before);
    frame f;
    assert_int_equal(ws_recv(fd, &f, 3000), 1);
    assert_int_equal(f.n, 64 * 1024);
    free(f.p);
    close(fd);
    assert_true(wait_returned(before + 1, 3000));
    assert_int_equal(atomic_load(&last_rc), OSP_ECLOSED);
}

/* WebSocket handlers run on threads of their own: more of them than the pool has workers
 * stream at once, and plain requests are still answered meanwhile. */
static void test_many_open_websockets(void **state)
{
    (void)state;
    enum { N = 12 }; /* the pool has 4 workers unless UV_THREADPOOL_SIZE says otherwise */
    int fds[N], before = atomic_load(&returned), plain = atomic_load(&plain_run);
    char head[1024];
    for (int i = 0; i < N; i++)
        fds[i] = ws_open("/ws/loop");
    for (int i = 0; i < N; i++) { /* every WebSocket is served */
        ws_send(fds[i], 1, 0x9, "up", 2, 0);
        expect_pong(fds[i], "up");
    }
    int fd = connect_server();
    for (int i = 0; i < 3; i++)
        assert_int_equal(request(fd, "GET /ws/loop HTTP/1.1\r\nHost: t\r\n\r\n", head, sizeof head),
                         400);
    assert_int_equal(atomic_load(&plain_run), plain + 3);
    assert_int_equal(atomic_load(&returned), before);
    close(fd);
    for (int i = 0; i < N; i++) {
        ws_send_close(fds[i], 1000);
        expect_close_frame(fds[i], 1000);
        close(fds[i]);
    }
    assert_true(wait_returned(before + N, 3000));
}

/* ---- lifecycle (own servers) ---- */

static void test_shutdown_with_open_websocket(void **state)
{
    (void)state;
    start_server();
    int before = atomic_load(&returned);
    int fd = ws_open("/ws/loop");
    int fd2 = ws_open("/ws/flood");
    osp_net_stop(net);
    /* Handlers see the close and return; clients get Close 1001; the loop ends. */
    expect_close_frame(fd, 1001);
    assert_true(wait_returned(before + 2, 3000));
    assert_true(join_loop(5000));
    close(fd);
    close(fd2);
    osp_net_destroy(net);
    net = NULL;
}

static void test_sigterm_with_open_websocket(void **state)
{
    (void)state;
    start_server();
    int before = atomic_load(&returned);
    int fd = ws_open("/ws/loop");
    kill(getpid(), SIGTERM);
    expect_close(fd, 1001);
    assert_true(wait_returned(before + 1, 3000));
    assert_true(join_loop(5000));
    close(fd);
    osp_net_destroy(net);
    net = NULL;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_accept_value),
    };
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_frames_then_close),
        cmocka_unit_test(test_client_close),
        cmocka_unit_test(test_ping_and_discarded_messages),
        cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_not_upgraded),
        cmocka_unit_test(test_large_frames),
        cmocka_unit_test(test_backpressure_and_disconnect),
        cmocka_unit_test(test_many_open_websockets),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_shutdown_with_open_websocket),
        cmocka_unit_test(test_sigterm_with_open_websocket),
    };
    int failed = cmocka_run_group_tests_name("websocket codec", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("websocket server", shared, setup, teardown);
    failed += cmocka_run_group_tests_name("websocket lifecycle", own, NULL, NULL);
    return failed;
}
