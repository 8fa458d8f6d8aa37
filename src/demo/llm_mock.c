/* The demo's mock LLM server: an OpenAI-style POST /v1/chat/completions that streams
 * tokens as Server-Sent Events over chunked HTTP/1.1, with a drawn time to first token,
 * per-token delays and output length, some 429s and some slow generations. The network
 * core cannot stream a response body, so this is its own small blocking server: a thread
 * accepting on 127.0.0.1 and a thread per connection, one request per connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/mem.h"
#include "demo/demo_int.h"

#define REQ_MAX ((size_t)64 << 10) /* request head and body together */
#define MAX_HEADERS 32
#define IO_TIMEOUT_S 10
#define TTFT_MEDIAN_MS 300.0
#define SLOW_FACTOR 6.0 /* a slow generation's TTFT multiple */
#define EVENT_MAX 512
#define STOP_WAIT_MS 30000

struct osp_demo_llm {
    osp_demo_svc *svc;
    int fd;
    pthread_t acceptor;
    atomic_bool stopping;
    atomic_int active; /* connection threads running */
};

typedef struct conn {
    osp_demo_llm *m;
    int fd;
} conn;

/* A parsed request; names, values and the body point into buf. */
typedef struct llm_request {
    char buf[REQ_MAX + 1];
    size_t len;
    const char *method, *path;
    struct {
        const char *name, *value;
    } hdr[MAX_HEADERS];
    size_t nhdr;
    osp_str body;
} llm_request;

static const char *const WORDS[] = {
    "Sure",   ",",        " here",      " is",  " what",   " I",      " found", ":", " the",
    " order", " shipped", " yesterday", " and", " should", " arrive", " soon",  "."};

/* osprey_header_get_fn over an llm_request. */
static const char *header(void *carrier, const char *name)
{
    const llm_request *q = carrier;
    for (size_t i = 0; i < q->nhdr; i++)
        if (!strcasecmp(q->hdr[i].name, name))
            return q->hdr[i].value;
    return NULL;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return OSP_EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Splits the head at buf[0..head) into the request line and headers, in place. */
static int parse_head(llm_request *q, size_t head)
{
    char *save = NULL, *rest = NULL, *line;
    q->buf[head] = '\0';
    line = strtok_r(q->buf, "\r\n", &save);
    if (!line)
        return OSP_EPARSE;
    q->method = strtok_r(line, " ", &rest);
    q->path = strtok_r(NULL, " ", &rest);
    if (!q->method || !q->path)
        return OSP_EPARSE;
    while ((line = strtok_r(NULL, "\r\n", &save)) && q->nhdr < MAX_HEADERS) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        for (colon++; *colon == ' '; colon++)
            ;
        q->hdr[q->nhdr].name = line;
        q->hdr[q->nhdr++].value = colon;
    }
    return 0;
}

/* Reads one request: the head, then Content-Length bytes of body, within REQ_MAX. */
static int read_request(int fd, llm_request *q)
{
    char *end = NULL;
    while (!end) {
        if (q->len == REQ_MAX)
            return OSP_ETOOBIG;
        ssize_t r = recv(fd, q->buf + q->len, REQ_MAX - q->len, 0);
        if (r <= 0)
            return OSP_EIO;
        q->len += (size_t)r;
        q->buf[q->len] = '\0';
        end = strstr(q->buf, "\r\n\r\n");
    }
    size_t head = (size_t)(end - q->buf) + 4;
    const char *cl = strcasestr(q->buf, "\r\ncontent-length:");
    size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
    if (want > REQ_MAX - head)
        return OSP_ETOOBIG;
    while (q->len < head + want) {
        ssize_t r = recv(fd, q->buf + q->len, head + want - q->len, 0);
        if (r <= 0)
            return OSP_EIO;
        q->len += (size_t)r;
    }
    q->body = (osp_str){q->buf + head, want};
    return parse_head(q, head - 2);
}

/* Sends data as one HTTP chunk. */
static int send_chunk(int fd, const char *data, size_t n)
{
    char size[24];
    int k = snprintf(size, sizeof size, "%zx\r\n", n);
    int rc = send_all(fd, size, (size_t)k);
    rc = rc ? rc : send_all(fd, data, n);
    return rc ? rc : send_all(fd, "\r\n", 2);
}

/* What one completion will be: drawn per request. */
typedef struct completion {
    char id[32], model[64];
    const char *finish;
    int64_t input_tokens, output_tokens;
    double ttft_ms;
} completion;

static void draw_completion(const osp_demo_llm *m, const llm_request *q, completion *c)
{
    int64_t max_tokens = osp_demo_json_int(q->body, "max_tokens", 256);
    bool tools = memmem(q->body.p, q->body.n, "\"tools\"", 7) != NULL;
    snprintf(c->id, sizeof c->id, "chatcmpl-%012llx",
             (unsigned long long)osp_demo_between(0, 0xffffffffffffll));
    if (!osp_demo_json_str(q->body, "model", c->model, sizeof c->model))
        snprintf(c->model, sizeof c->model, "unknown");
    c->input_tokens = (int64_t)q->body.n / 4 + osp_demo_between(200, 900); /* + system prompt */
    c->output_tokens = osp_demo_between(20, 120);
    c->finish = "stop";
    if (tools && osp_demo_chance(0.6))
        c->finish = "tool_calls";
    else if (c->output_tokens >= max_tokens)
        c->finish = "length";
    if (c->output_tokens > max_tokens)
        c->output_tokens = max_tokens;
    c->ttft_ms = osp_demo_lognormal(TTFT_MEDIAN_MS, 0.5);
    if (osp_demo_chance(m->svc->fleet->opt.error_share * 0.5)) {
        c->ttft_ms *= SLOW_FACTOR;
        osprey_logf(m->svc->log, OSPREY_WARN, "slow generation for %s: GPU queue saturated",
                    c->model);
    }
}

/* Streams c's tokens, the usage event and [DONE]. 0 or OSP_EIO (the client left). */
static int stream_completion(const osp_demo_llm *m, int fd, const completion *c)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n"
                               "Connection: close\r\n\r\n";
    char ev[EVENT_MAX];
    int rc = send_all(fd, head, sizeof head - 1);
    osp_demo_pause(m->svc->fleet, c->ttft_ms);
    for (int64_t i = 0; rc == 0 && i < c->output_tokens; i++) {
        const char *w = WORDS[i % (int64_t)(sizeof WORDS / sizeof WORDS[0])];
        int n = snprintf(ev, sizeof ev,
                         "data: {\"id\":\"%s\",\"object\":\"chat.completion.chunk\",\"model\":"
                         "\"%s\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"}}]}\n\n",
                         c->id, c->model, w);
        rc = send_chunk(fd, ev, (size_t)n);
        osp_demo_pause(m->svc->fleet, (double)osp_demo_between(20, 40));
    }
    int n = snprintf(ev, sizeof ev,
                     "data: {\"id\":\"%s\",\"model\":\"%s\",\"choices\":[{\"index\":0,\"delta\":"
                     "{},\"finish_reason\":\"%s\"}],\"usage\":{\"prompt_tokens\":%lld,"
                     "\"completion_tokens\":%lld}}\n\ndata: [DONE]\n\n",
                     c->id, c->model, c->finish, (long long)c->input_tokens,
                     (long long)c->output_tokens);
    rc = rc ? rc : send_chunk(fd, ev, (size_t)n);
    return rc ? rc : send_all(fd, "0\r\n\r\n", 5);
}

static int send_status(int fd, int status, const char *reason, const char *extra, const char *body)
{
    char out[EVENT_MAX];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%sContent-Length: "
                     "%zu\r\nConnection: close\r\n\r\n%s",
                     status, reason, extra, strlen(body), body);
    return send_all(fd, out, (size_t)n);
}

/* GET /metrics: the mock's own metrics in the Prometheus text format. */
static void send_metrics(const osp_demo_llm *m, int fd)
{
    char head[160], *text = NULL;
    size_t len = 0;
    if (osprey_metrics_prometheus(m->svc->provider, &text, &len)) {
        send_status(fd, 500, "Internal Server Error", "", "{\"error\":\"out of memory\"}");
        return;
    }
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     len);
    if (send_all(fd, head, (size_t)n) == 0)
        send_all(fd, text, len);
    free(text); /* osprey_metrics_prometheus hands out malloc'd text */
}

/* Answers one completion request under a SERVER span; returns the status sent. */
static int serve_completion(osp_demo_llm *m, int fd, llm_request *q, osprey_span *span)
{
    completion c;
    draw_completion(m, q, &c);
    osprey_span_set_attr(span, OSPREY_STR("gen_ai.request.model", c.model));
    if (osp_demo_chance(m->svc->fleet->opt.error_share * 0.4)) {
        osprey_logf(m->svc->log, OSPREY_WARN, "rate limit exceeded for %s", c.model);
        send_status(fd, 429, "Too Many Requests", "Retry-After: 1\r\n",
                    "{\"error\":{\"type\":\"rate_limit_exceeded\",\"message\":\"rate limit "
                    "reached\"}}");
        return 429;
    }
    osprey_span_set_attr(span, OSPREY_INT("gen_ai.usage.output_tokens", c.output_tokens));
    if (stream_completion(m, fd, &c))
        osprey_span_record_error(span, "client_closed", "the client went away mid-stream");
    return 200;
}

/* One connection: read, answer, close. */
static void handle(osp_demo_llm *m, int fd, llm_request *q)
{
    osp_demo_req r;
    if (read_request(fd, q))
        return;
    if (!strcmp(q->method, "GET") && !strcmp(q->path, "/metrics")) {
        send_metrics(m, fd);
        return;
    }
    if (strcmp(q->method, "POST") || strcmp(q->path, "/v1/chat/completions")) {
        send_status(fd, 404, "Not Found", "", "{\"error\":\"not found\"}");
        return;
    }
    osp_demo_req_begin_carrier(&r, m->svc, "/v1/chat/completions", header, q);
    osp_demo_req_end(&r, serve_completion(m, fd, q, &r.span));
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    llm_request *q = osp_calloc(1, sizeof *q);
    if (q)
        handle(c->m, c->fd, q);
    osp_free(q);
    close(c->fd);
    atomic_fetch_sub(&c->m->active, 1);
    osp_free(c);
    return NULL;
}

/* Starts a detached thread for an accepted connection; closes fd when it cannot. */
static void spawn_conn(osp_demo_llm *m, int fd)
{
    pthread_attr_t attr;
    pthread_t t;
    conn *c = osp_malloc(sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    *c = (conn){m, fd};
    atomic_fetch_add(&m->active, 1);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, conn_main, c)) {
        atomic_fetch_sub(&m->active, 1);
        close(fd);
        osp_free(c);
    }
    pthread_attr_destroy(&attr);
}

static void *accept_main(void *arg)
{
    osp_demo_llm *m = arg;
    while (!atomic_load(&m->stopping)) {
        int fd = accept(m->fd, NULL, NULL);
        if (fd >= 0)
            spawn_conn(m, fd);
        else if (errno != EINTR && errno != ECONNABORTED)
            break;
    }
    return NULL;
}

/* A listening socket on 127.0.0.1:port; its bound port in *bound. -1 on failure. */
static int listen_local(uint16_t port, uint16_t *bound)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    socklen_t len = sizeof sa;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 128) ||
        getsockname(fd, (struct sockaddr *)&sa, &len)) {
        close(fd);
        return -1;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

int osp_demo_llm_start(osp_demo_svc *svc, uint16_t port, osp_demo_llm **out)
{
    osp_demo_llm *m = osp_calloc(1, sizeof *m);
    if (!m)
        return OSP_ENOMEM;
    m->svc = svc;
    m->fd = listen_local(port, &svc->port);
    if (m->fd < 0 || pthread_create(&m->acceptor, NULL, accept_main, m)) {
        if (m->fd >= 0)
            close(m->fd);
        osp_free(m);
        return OSP_EIO;
    }
    *out = m;
    return 0;
}

void osp_demo_llm_stop(osp_demo_llm *m)
{
    if (!m)
        return;
    atomic_store(&m->stopping, true);
    shutdown(m->fd, SHUT_RDWR); /* wakes accept() */
    pthread_join(m->acceptor, NULL);
    close(m->fd);
    for (int waited = 0; atomic_load(&m->active) > 0 && waited < STOP_WAIT_MS; waited += 10)
        usleep(10000);
    if (atomic_load(&m->active) == 0)
        osp_free(m);
    /* else: a stream is stuck past the wait; m stays for its thread, leaked at exit */
}
