/* Tests for the scrape manager against a small HTTP server running inside the test. */
#include "testutil.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include <zlib.h>

#include "core/err.h"
#include "core/mem.h"
#include "scrape/config.h"
#include "core/duration.h"
#include "scrape/scraper.h"
#include "scrape/scraper_int.h"

/* ---- a one-connection-at-a-time HTTP/1.1 server ---- */

typedef struct route {
    char path[64];
    int status;
    char ctype[96];
    char body[2048];
    int delay_ms;
    int gzip;
} route;

typedef struct server {
    int fd, port;
    pthread_t th;
    atomic_int stop;
    pthread_mutex_t mu;
    route routes[8];
    int nroutes;
    char last_req[4096]; /* the last request head */
    int nreq;
} server;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static size_t gzip_body(const char *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = z.total_out;
    deflateEnd(&z);
    return len;
}

static void serve_one(server *sv, int c)
{
    char req[4096];
    size_t n = 0;
    while (n < sizeof req - 1) {
        struct pollfd pf = {c, POLLIN, 0};
        if (poll(&pf, 1, 1000) <= 0)
            return;
        ssize_t r = recv(c, req + n, sizeof req - 1 - n, 0);
        if (r <= 0)
            return;
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    char path[256] = "";
    sscanf(req, "GET %255[^? ]", path);
    route rt = {.status = 404, .ctype = "text/plain"};
    pthread_mutex_lock(&sv->mu);
    snprintf(sv->last_req, sizeof sv->last_req, "%s", req);
    sv->nreq++;
    for (int i = 0; i < sv->nroutes; i++)
        if (strcmp(sv->routes[i].path, path) == 0)
            rt = sv->routes[i];
    pthread_mutex_unlock(&sv->mu);
    if (rt.delay_ms)
        sleep_ms(rt.delay_ms);

    unsigned char zbuf[4096];
    const char *body = rt.body;
    size_t blen = strlen(rt.body);
    if (rt.gzip) {
        blen = gzip_body(rt.body, blen, zbuf, sizeof zbuf);
        body = (const char *)zbuf;
    }
    const char *reason = rt.status == 200   ? "OK"
                         : rt.status == 500 ? "Internal Server Error"
                                            : "Not Found";
    char head[512];
    int hn =
        snprintf(head, sizeof head,
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                 "Connection: close\r\n\r\n",
                 rt.status, reason, rt.ctype, blen, rt.gzip ? "Content-Encoding: gzip\r\n" : "");
    send(c, head, (size_t)hn, MSG_NOSIGNAL);
    send(c, body, blen, MSG_NOSIGNAL);
}

static void *server_main(void *arg)
{
    server *sv = arg;
    while (!atomic_load(&sv->stop)) {
        struct pollfd pf = {sv->fd, POLLIN, 0};
        if (poll(&pf, 1, 20) <= 0)
            continue;
        int c = accept(sv->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(sv, c);
        close(c);
    }
    return NULL;
}

static server *server_start(void)
{
    server *sv = calloc(1, sizeof *sv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_non_null(sv);
    sv->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(sv->fd >= 0);
    assert_int_equal(bind(sv->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(sv->fd, 64), 0);
    assert_int_equal(getsockname(sv->fd, (struct sockaddr *)&a, &alen), 0);
    sv->port = ntohs(a.sin_port);
    pthread_mutex_init(&sv->mu, NULL);
    assert_int_equal(pthread_create(&sv->th, NULL, server_main, sv), 0);
    return sv;
}

static void server_stop(server *sv)
{
    atomic_store(&sv->stop, 1);
    pthread_join(sv->th, NULL);
    close(sv->fd);
    pthread_mutex_destroy(&sv->mu);
    free(sv);
}

static void server_route(server *sv, const char *path, int status, const char *ctype,
                         const char *body, int delay_ms, int gzip)
{
    pthread_mutex_lock(&sv->mu);
    int i = 0;
    while (i < sv->nroutes && strcmp(sv->routes[i].path, path) != 0)
        i++;
    if (i == sv->nroutes)
        sv->nroutes++;
    route *r = &sv->routes[i];
    snprintf(r->path, sizeof r->path, "%s", path);
    r->status = status;
    snprintf(r->ctype, sizeof r->ctype, "%s", ctype);
    snprintf(r->body, sizeof r->body, "%s", body);
    r->delay_ms = delay_ms;
    r->gzip = gzip;
    pthread_mutex_unlock(&sv->mu);
}

#define PROM_CT "text/plain; version=0.0.4; charset=utf-8"
#define OM_CT "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* ---- what the append callback received ---- */

typedef struct rec {
    char key[256]; /* name{a="b",...}, labels sorted */
    int64_t t;
    double v;
} rec;

static struct {
    pthread_mutex_t mu;
    rec *a;
    size_t n, cap;
    char meta[32][160]; /* "family kind unit|help" */
    size_t nmeta;
    size_t nbatches;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void rec_reset(void)
{
    pthread_mutex_lock(&R.mu);
    free(R.a);
    R.a = NULL;
    R.n = R.cap = R.nmeta = R.nbatches = 0;
    pthread_mutex_unlock(&R.mu);
}

static void series_key(const osp_series *s, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(
        out, cap, "%.*s{",
        OSP_STR_FMT(osp_labels_get(s->labels, s->nlabels, OSP_STR_LIT("__name__"))));
    int first = 1;
    for (size_t i = 0; i < s->nlabels && n < cap; i++) {
        if (osp_str_eqz(s->labels[i].name, "__name__"))
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s%.*s=\"%.*s\"", first ? "" : ",",
                              OSP_STR_FMT(s->labels[i].name), OSP_STR_FMT(s->labels[i].value));
        first = 0;
    }
    if (n < cap)
        snprintf(out + n, cap - n, "}");
}

static int on_append(void *ctx, const osp_series_batch *b, char *err, size_t errlen)
{
    pthread_mutex_lock(&R.mu);
    R.nbatches++;
    for (size_t i = 0; i < b->nseries; i++) {
        const osp_series *s = &b->series[i];
        for (size_t j = 1; j < s->nlabels; j++) /* sorted, unique, non-empty */
            assert_true(osp_str_cmp(s->labels[j - 1].name, s->labels[j].name) < 0);
        for (size_t j = 0; j < s->nsamples; j++) {
            if (R.n == R.cap) {
                R.cap = R.cap ? R.cap * 2 : 256;
                R.a = realloc(R.a, R.cap * sizeof *R.a);
            }
            rec *r = &R.a[R.n++];
            series_key(s, r->key, sizeof r->key);
            r->t = s->samples[j].t_ms;
            r->v = s->samples[j].v;
        }
    }
    for (size_t i = 0; i < b->nmeta && R.nmeta < 32; i++)
        snprintf(R.meta[R.nmeta++], sizeof R.meta[0], "%.*s %s %.*s|%.*s",
                 OSP_STR_FMT(b->meta[i].family), osp_metric_kind_name(b->meta[i].kind),
                 OSP_STR_FMT(b->meta[i].unit), OSP_STR_FMT(b->meta[i].help));
    pthread_mutex_unlock(&R.mu);
    return 0;
}

/* Samples of key: how many, the last value and the number of staleness markers. */
static size_t rec_get(const char *key, double *last, size_t *nstale)
{
    size_t n = 0, ns = 0;
    pthread_mutex_lock(&R.mu);
    for (size_t i = 0; i < R.n; i++) {
        if (strcmp(R.a[i].key, key) != 0)
            continue;
        n++;
        if (osp_is_stale_nan(R.a[i].v))
            ns++;
        if (last)
            *last = R.a[i].v;
    }
    pthread_mutex_unlock(&R.mu);
    if (nstale)
        *nstale = ns;
    return n;
}

static double rec_last(const char *key)
{
    double v = NAN;
    rec_get(key, &v, NULL);
    return v;
}

static size_t rec_stale(const char *key)
{
    size_t ns = 0;
    rec_get(key, NULL, &ns);
    return ns;
}

static int rec_has_meta(const char *line)
{
    int found = 0;
    pthread_mutex_lock(&R.mu);
    for (size_t i = 0; i < R.nmeta && !found; i++)
        found = strcmp(R.meta[i], line) == 0;
    pthread_mutex_unlock(&R.mu);
    return found;
}

/* Waits up to 5 s for cond. */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        int waited_ = 0;                                                                           \
        while (!(cond) && waited_ < 5000) {                                                        \
            sleep_ms(10);                                                                          \
            waited_ += 10;                                                                         \
        }                                                                                          \
        if (!(cond))                                                                               \
            fail_msg("timed out waiting for %s", #cond);                                           \
    } while (0)

/* ---- helpers ---- */

static osp_scrape_config *config(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static osp_scrape_config *config(const char *fmt, ...)
{
    char yaml[4096], err[512] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(yaml, sizeof yaml, fmt, ap);
    va_end(ap);
    osp_scrape_config *c = NULL;
    if (osp_scrape_config_parse("test.yaml", yaml, strlen(yaml), &c, err, sizeof err) != 0)
        fail_msg("%s", err);
    return c;
}

static osp_scraper *scraper(const osp_scrape_config *c, uint64_t sample_limit, size_t body_limit)
{
    osp_scraper_opts o = {on_append, NULL, sample_limit, body_limit, 50};
    osp_scraper *s = NULL;
    char err[256];
    rec_reset();
    assert_int_equal(osp_scraper_create(c, &o, &s, err, sizeof err), 0);
    assert_int_equal(osp_scraper_start(s), 0);
    return s;
}

static char *key(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *key(const char *fmt, ...)
{
    static char buf[4][256];
    static int i;
    char *b = buf[i++ & 3];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof buf[0], fmt, ap);
    va_end(ap);
    return b;
}

/* ---- tests ---- */

static void test_text_format(void **state)
{
    server *sv = server_start();
    server_route(sv, "/metrics", 200, PROM_CT,
                 "# HELP http_requests_total Requests served.\n"
                 "# TYPE http_requests_total counter\n"
                 "http_requests_total{code=\"200\"} 10\n"
                 "http_requests_total{code=\"500\"} 2 1700000000000\n"
                 "temperature 21.5\n",
                 0, 1);
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: node\n"
                                  "    scrape_interval: 100ms\n"
                                  "    static_configs:\n"
                                  "      - targets: ['127.0.0.1:%d']\n"
                                  "        labels: {env: test}\n",
                                  sv->port);
    size_t mem = osp_mem_in_use();
    osp_scraper *s = scraper(c, 0, 0);
    char inst[96];
    snprintf(inst, sizeof inst, "instance=\"127.0.0.1:%d\"", sv->port);
    char up[256], req[256];
    snprintf(up, sizeof up, "up{env=\"test\",%s,job=\"node\"}", inst);
    snprintf(req, sizeof req, "http_requests_total{code=\"200\",env=\"test\",%s,job=\"node\"}",
             inst);

    WAIT_FOR(rec_get(up, NULL, NULL) >= 2);
    assert_true(rec_last(up) == 1);
    assert_true(rec_last(req) == 10);
    assert_true(rec_last(key("temperature{env=\"test\",%s,job=\"node\"}", inst)) == 21.5);
    assert_true(rec_last(key("scrape_samples_scraped{env=\"test\",%s,job=\"node\"}", inst)) == 3);
    assert_true(rec_last(key("scrape_samples_post_metric_relabeling{env=\"test\",%s,job=\"node\"}",
                             inst)) == 3);
    double dur = rec_last(key("scrape_duration_seconds{env=\"test\",%s,job=\"node\"}", inst));
    assert_true(dur >= 0 && dur < 1);
    /* 3 new series on the first scrape, none after. */
    char added[160];
    snprintf(added, sizeof added, "scrape_series_added{env=\"test\",%s,job=\"node\"}", inst);
    pthread_mutex_lock(&R.mu);
    int nadded = 0;
    int64_t t_req = 0, t_up = 0, t_explicit = 0;
    for (size_t i = 0; i < R.n; i++) {
        if (strcmp(R.a[i].key, added) == 0)
            assert_true(R.a[i].v == (nadded++ ? 0 : 3));
        if (strcmp(R.a[i].key, req) == 0)
            t_req = R.a[i].t;
        if (strcmp(R.a[i].key, up) == 0)
            t_up = R.a[i].t;
        if (strstr(R.a[i].key, "code=\"500\""))
            t_explicit = R.a[i].t;
    }
    pthread_mutex_unlock(&R.mu);
    assert_true(nadded >= 2);
    assert_true(t_req == t_up && t_req > 1700000000000); /* scrape time, shared with up */
    assert_int_equal(t_explicit, 1700000000000);         /* honor_timestamps */
    assert_true(rec_has_meta("http_requests_total counter |Requests served."));

    /* The request Prometheus would send. */
    pthread_mutex_lock(&sv->mu);
    assert_non_null(strstr(sv->last_req, "GET /metrics HTTP/1.1\r\n"));
    assert_non_null(strstr(sv->last_req, "\r\nAccept: " OSP_SCRAPE_ACCEPT "\r\n"));
    assert_non_null(strstr(sv->last_req, "\r\nX-Prometheus-Scrape-Timeout-Seconds: 0.1\r\n"));
    assert_non_null(strstr(sv->last_req, "\r\nAccept-Encoding: gzip\r\n"));
    pthread_mutex_unlock(&sv->mu);

    /* The status listing. */
    osp_arena a;
    osp_target_status *st;
    size_t n;
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp_scraper_targets(s, &a, &st, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(st[0].scrape_pool, "node");
    assert_string_equal(st[0].scrape_url, key("http://127.0.0.1:%d/metrics", sv->port));
    assert_int_equal(st[0].health, OSP_TARGET_UP);
    assert_string_equal(st[0].last_error, "");
    assert_true(st[0].last_scrape_ms > 0);
    assert_int_equal(st[0].nlabels, 3); /* env, instance, job */
    assert_true(osp_str_eqz(st[0].labels[1].name, "instance"));
    assert_true(osp_str_eqz(osp_labels_get(st[0].discovered_labels, st[0].ndiscovered_labels,
                                           OSP_STR_LIT("__scrape_interval__")),
                            "100ms"));
    assert_true(osp_str_eqz(osp_labels_get(st[0].discovered_labels, st[0].ndiscovered_labels,
                                           OSP_STR_LIT("__address__")),
                            key("127.0.0.1:%d", sv->port)));
    osp_arena_cleanup(&a);

    osp_scraper_destroy(s);
    assert_int_equal(osp_mem_in_use(), mem);
    osp_scrape_config_destroy(c);
    server_stop(sv);
}

static void test_openmetrics(void **state)
{
    server *sv = server_start();
    server_route(sv, "/metrics", 200, OM_CT,
                 "# TYPE build info\n"
                 "build_info{version=\"1.2\"} 1\n"
                 "# TYPE req_seconds counter\n"
                 "# UNIT req_seconds seconds\n"
                 "# HELP req_seconds Time spent.\n"
                 "req_seconds_total 7 1700000000.5\n"
                 "# EOF\n",
                 0, 0);
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: om\n"
                                  "    scrape_interval: 100ms\n"
                                  "    honor_timestamps: false\n"
                                  "    static_configs: [{targets: ['127.0.0.1:%d']}]\n",
                                  sv->port);
    osp_scraper *s = scraper(c, 0, 0);
    char l[96];
    snprintf(l, sizeof l, "instance=\"127.0.0.1:%d\",job=\"om\"", sv->port);
    WAIT_FOR(rec_get(key("up{%s}", l), NULL, NULL) >= 1);
    if (rec_last(key("up{%s}", l)) != 1) {
        osp_arena ar;
        osp_target_status *st;
        size_t n;
        osp_arena_init(&ar, 0, 0);
        osp_scraper_targets(s, &ar, &st, &n);
        fail_msg("down: %s", st[0].last_error);
    }
    assert_true(rec_last(key("req_seconds_total{%s}", l)) == 7);
    assert_true(rec_last(key("build_info{%s,version=\"1.2\"}", l)) == 1);
    assert_true(rec_has_meta("req_seconds counter seconds|Time spent."));
    assert_true(rec_has_meta("build info |"));
    pthread_mutex_lock(&R.mu);
    for (size_t i = 0; i < R.n; i++) /* honor_timestamps: false */
        assert_true(R.a[i].t > 1700000000500);
    pthread_mutex_unlock(&R.mu);
    osp_scraper_destroy(s);
    osp_scrape_config_destroy(c);
    server_stop(sv);
}

static void test_honor_labels(void **state)
{
    server *sv = server_start();
    server_route(sv, "/metrics", 200, PROM_CT,
                 "m{job=\"exp\",instance=\"i\"} 1\n"
                 "m2{job=\"x\",exported_job=\"y\"} 2\n",
                 0, 0);
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: plain\n"
                                  "    scrape_interval: 100ms\n"
                                  "    static_configs: [{targets: ['127.0.0.1:%d']}]\n"
                                  "  - job_name: honor\n"
                                  "    scrape_interval: 100ms\n"
                                  "    honor_labels: true\n"
                                  "    static_configs: [{targets: ['127.0.0.1:%d']}]\n",
                                  sv->port, sv->port);
    osp_scraper *s = scraper(c, 0, 0);
    char inst[96];
    snprintf(inst, sizeof inst, "127.0.0.1:%d", sv->port);
    WAIT_FOR(rec_get(key("up{instance=\"%s\",job=\"plain\"}", inst), NULL, NULL) >= 1 &&
             rec_get(key("up{instance=\"%s\",job=\"honor\"}", inst), NULL, NULL) >= 1);
    assert_true(rec_last(key("m{exported_instance=\"i\",exported_job=\"exp\",instance=\"%s\","
                             "job=\"plain\"}",
                             inst)) == 1);
    assert_true(rec_last(key("m2{exported_exported_job=\"x\",exported_job=\"y\",instance=\"%s\","
                             "job=\"plain\"}",
                             inst)) == 2);
    assert_true(rec_last("m{instance=\"i\",job=\"exp\"}") == 1);
    assert_true(rec_last(key("m2{exported_job=\"y\",instance=\"%s\",job=\"x\"}", inst)) == 2);
    osp_scraper_destroy(s);
    osp_scrape_config_destroy(c);
    server_stop(sv);
}

static void test_metric_relabel_drop(void **state)
{
    server *sv = server_start();
    server_route(sv, "/metrics", 200, PROM_CT,
                 "go_goroutines 8\n"
                 "app_ready{zone=\"a\"} 1\n",
                 0, 0);
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: app\n"
                                  "    scrape_interval: 100ms\n"
                                  "    static_configs: [{targets: ['127.0.0.1:%d']}]\n"
                                  "    metric_relabel_configs:\n"
                                  "      - {source_labels: [__name__], regex: 'go_.*', action: "
                                  "drop}\n"
                                  "      - {source_labels: [zone], target_label: az}\n",
                                  sv->port);
    osp_scraper *s = scraper(c, 0, 0);
    char l[96];
    snprintf(l, sizeof l, "instance=\"127.0.0.1:%d\",job=\"app\"", sv->port);
    WAIT_FOR(rec_get(key("up{%s}", l), NULL, NULL) >= 1);
    assert_true(rec_last(key("scrape_samples_scraped{%s}", l)) == 2);
    assert_true(rec_last(key("scrape_samples_post_metric_relabeling{%s}", l)) == 1);
    assert_true(rec_last(key("app_ready{az=\"a\",%s,zone=\"a\"}", l)) == 1);
    pthread_mutex_lock(&R.mu);
    for (size_t i = 0; i < R.n; i++)
        assert_null(strstr(R.a[i].key, "go_"));
    pthread_mutex_unlock(&R.mu);
    osp_scraper_destroy(s);
    osp_scrape_config_destroy(c);
    server_stop(sv);
}

static void test_sample_limit(void **state)
{
    server *sv = server_start();
    server_route(sv, "/metrics", 200, PROM_CT, "a 1\nb 2\n", 0, 0);
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: lim\n"
                                  "    scrape_interval: 100ms\n"
                                  "    static_configs: [{targets: ['127.0.0.1:%d']}]\n",
                                  sv->port);
    osp_scraper *s = scraper(c, 2, 0);
    char l[96];
    snprintf(l, sizeof l, "instance=\"127.0.0.1:%d\",job=\"lim\"", sv->port);
    char a[256], up[256];
    snprintf(a, sizeof a, "a{%s}", l);
    snprintf(up, sizeof up, "up{%s}", l);
    WAIT_FOR(rec_last(up) == 1);
    server_route(sv, "/metrics", 200, PROM_CT, "a 1\nb 2\nc 3\n", 0, 0);
    WAIT_FOR(rec_last(up) == 0);
    assert_int_equal(rec_stale(a), 1);
    assert_true(osp_is_stale_nan(rec_last(a)));
    assert_int_equal(rec_get(key("c{%s}", l), NULL, NULL), 0); /* nothing of the failed scrape */
    assert_true(rec_last(key("scrape_samples_scraped{%s}", l)) == 3);
    assert_true(rec_last(key("scrape_samples_post_metric_relabeling{%s}", l)) == 3);

    osp_arena ar;
    osp_target_status *st;
    size_t n;
    osp_arena_init(&ar, 0, 0);
    assert_int_equal(osp_scraper_targets(s, &ar, &st, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(st[0].health, OSP_TARGET_DOWN);
    assert_string_equal(st[0].last_error, "sample limit exceeded");
    osp_arena_cleanup(&ar);

    /* Failing again writes no further markers: the series are already stale. */
    size_t nup = rec_get(up, NULL, NULL);
    WAIT_FOR(rec_get(up, NULL, NULL) >= nup + 2);
    assert_int_equal(rec_stale(a), 1);
    osp_scraper_destroy(s);
    osp_scrape_config_destroy(c);
    server_stop(sv);
}

static void test_http_error(void **state)
{
    server *sv = server_start();
    server_route(sv, "/metrics", 200, PROM_CT, "a 1\nb 2\n", 0, 0);
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: err\n"
                                  "    scrape_interval: 100ms\n"
                                  "    static_configs: [{targets: ['127.0.0.1:%d']}]\n",
                                  sv->port);
    osp_scraper *s = scraper(c, 0, 0);
    char l[96];
    snprintf(l, sizeof l, "instance=\"127.0.0.1:%d\",job=\"err\"", sv->port);
    char up[256];
    snprintf(up, sizeof up, "up{%s}", l);
    WAIT_FOR(rec_last(up) == 1);
    server_route(sv, "/metrics", 500, PROM_CT, "oops\n", 0, 0);
    WAIT_FOR(rec_last(up) == 0);
    assert_int_equal(rec_stale(key("a{%s}", l)), 1);
    assert_int_equal(rec_stale(key("b{%s}", l)), 1);
    assert_int_equal(rec_stale(up), 0);
    assert_true(rec_last(key("scrape_samples_scraped{%s}", l)) == 0);

    osp_arena ar;
    osp_target_status *st;
    size_t n;
    osp_arena_init(&ar, 0, 0);
    assert_int_equal(osp_scraper_targets(s, &ar, &st, &n), 0);
    assert_string_equal(st[0].last_error, "server returned HTTP status 500 Internal Server Error");
    assert_int_equal(st[0].health, OSP_TARGET_DOWN);
    osp_arena_cleanup(&ar);

    /* Recovery: the series come back, and they are not new to the target. */
    server_route(sv, "/metrics", 200, PROM_CT, "a 1\nb 2\n", 0, 0);
    WAIT_FOR(rec_last(up) == 1);
    assert_true(rec_last(key("a{%s}", l)) == 1);
    assert_true(rec_last(key("scrape_series_added{%s}", l)) == 0);
    osp_scraper_destroy(s);
    osp_scrape_config_destroy(c);
    server_stop(sv);
}

static void test_series_disappear(void **state)
{
    server *sv = server_start();
    server_route(sv, "/metrics", 200, PROM_CT, "a 1\nb 2\n", 0, 0);
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: dis\n"
                                  "    scrape_interval: 100ms\n"
                                  "    static_configs: [{targets: ['127.0.0.1:%d']}]\n",
                                  sv->port);
    osp_scraper *s = scraper(c, 0, 0);
    char l[96];
    snprintf(l, sizeof l, "instance=\"127.0.0.1:%d\",job=\"dis\"", sv->port);
    char a[256], b[256], d[256];
    snprintf(a, sizeof a, "a{%s}", l);
    snprintf(b, sizeof b, "b{%s}", l);
    snprintf(d, sizeof d, "d{%s}", l);
    WAIT_FOR(rec_last(b) == 2);
    server_route(sv, "/metrics", 200, PROM_CT, "a 3\nd 4\n", 0, 0);
    WAIT_FOR(rec_last(d) == 4);
    WAIT_FOR(rec_get(d, NULL, NULL) >= 3);
    assert_int_equal(rec_stale(b), 1);
    assert_true(osp_is_stale_nan(rec_last(b)));
    assert_int_equal(rec_stale(a), 0);
    assert_true(rec_last(a) == 3);
    assert_true(rec_last(key("up{%s}", l)) == 1);
    osp_scraper_destroy(s);
    osp_scrape_config_destroy(c);
    server_stop(sv);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char tmp[512], path[512];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

static void test_file_sd(void **state)
{
    server *sv = server_start();
    server_route(sv, "/metrics", 200, PROM_CT, "x 1\n", 0, 0);
    char *dir = osp_test_tmpdir("scrape-sd");
    char text[512];
    snprintf(text, sizeof text,
             "[{\"targets\": [\"127.0.0.1:%d\"], \"labels\": {\"team\": \"a\"}}]", sv->port);
    write_file(dir, "one.json", text);
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: sd\n"
                                  "    scrape_interval: 100ms\n"
                                  "    file_sd_configs: [{files: ['%s/*.json', '%s/*.yml']}]\n"
                                  "    relabel_configs:\n"
                                  "      - {source_labels: [__meta_filepath], regex: '.*/(.*)', "
                                  "target_label: sd_file}\n",
                                  dir, dir);
    osp_scraper *s = scraper(c, 0, 0);
    char up1[160], x1[160], up2[160];
    snprintf(up1, sizeof up1,
             "up{instance=\"127.0.0.1:%d\",job=\"sd\",sd_file=\"one.json\",team=\"a\"}", sv->port);
    snprintf(x1, sizeof x1,
             "x{instance=\"127.0.0.1:%d\",job=\"sd\",sd_file=\"one.json\",team=\"a\"}", sv->port);
    snprintf(up2, sizeof up2, "up{instance=\"localhost:%d\",job=\"sd\",sd_file=\"two.yml\"}",
             sv->port);
    WAIT_FOR(rec_last(up1) == 1);
    assert_true(rec_last(x1) == 1);

    /* A second file adds a target, then the first file goes: its target is retired. */
    snprintf(text, sizeof text, "- targets: ['localhost:%d']\n", sv->port);
    write_file(dir, "two.yml", text);
    WAIT_FOR(rec_last(up2) == 1);
    osp_arena ar;
    osp_target_status *st;
    size_t n;
    osp_arena_init(&ar, 0, 0);
    assert_int_equal(osp_scraper_targets(s, &ar, &st, &n), 0);
    assert_int_equal(n, 2);
    assert_true(osp_str_eqz(osp_labels_get(st[0].discovered_labels, st[0].ndiscovered_labels,
                                           OSP_STR_LIT("__meta_filepath")),
                            key("%s/one.json", dir)));
    osp_arena_cleanup(&ar);

    snprintf(text, sizeof text, "%s/one.json", dir);
    assert_int_equal(unlink(text), 0);
    WAIT_FOR(rec_stale(up1) == 1);
    assert_int_equal(rec_stale(x1), 1);
    assert_true(osp_is_stale_nan(rec_last(x1)));
    osp_arena_init(&ar, 0, 0);
    assert_int_equal(osp_scraper_targets(s, &ar, &st, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(st[0].scrape_url, key("http://localhost:%d/metrics", sv->port));
    osp_arena_cleanup(&ar);

    /* An unreadable rewrite keeps the targets of the last good read. */
    write_file(dir, "two.yml", "- targets: [\n");
    size_t nup = rec_get(up2, NULL, NULL);
    WAIT_FOR(rec_get(up2, NULL, NULL) >= nup + 3);
    assert_int_equal(rec_stale(up2), 0);

    osp_scraper_destroy(s);
    osp_scrape_config_destroy(c);
    osp_test_rmdir(dir);
    free(dir);
    server_stop(sv);
}

static void test_timeout(void **state)
{
    server *sv = server_start();
    server_route(sv, "/metrics", 200, PROM_CT, "a 1\n", 300, 0);
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: slow\n"
                                  "    scrape_interval: 200ms\n"
                                  "    scrape_timeout: 100ms\n"
                                  "    static_configs: [{targets: ['127.0.0.1:%d']}]\n",
                                  sv->port);
    osp_scraper *s = scraper(c, 0, 0);
    char l[96];
    snprintf(l, sizeof l, "instance=\"127.0.0.1:%d\",job=\"slow\"", sv->port);
    WAIT_FOR(rec_get(key("up{%s}", l), NULL, NULL) >= 1);
    assert_true(rec_last(key("up{%s}", l)) == 0);
    double dur = rec_last(key("scrape_duration_seconds{%s}", l));
    assert_true(dur >= 0.09 && dur < 0.3);
    osp_arena ar;
    osp_target_status *st;
    size_t n;
    osp_arena_init(&ar, 0, 0);
    assert_int_equal(osp_scraper_targets(s, &ar, &st, &n), 0);
    assert_non_null(strstr(st[0].last_error, "Get \"http://127.0.0.1:"));
    assert_int_equal(st[0].timeout_ms, 100);
    osp_arena_cleanup(&ar);
    osp_scraper_destroy(s);
    osp_scrape_config_destroy(c);
    server_stop(sv);
}

static void test_body_limit(void **state)
{
    server *sv = server_start();
    server_route(sv, "/metrics", 200, PROM_CT,
                 "a_metric_with_a_long_name{label=\"a long value\"} 1\n"
                 "another_metric_with_a_long_name{label=\"a long value\"} 2\n",
                 0, 1);
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: big\n"
                                  "    scrape_interval: 100ms\n"
                                  "    static_configs: [{targets: ['127.0.0.1:%d']}]\n",
                                  sv->port);
    osp_scraper *s = scraper(c, 0, 64); /* the uncompressed size counts */
    char l[96];
    snprintf(l, sizeof l, "instance=\"127.0.0.1:%d\",job=\"big\"", sv->port);
    WAIT_FOR(rec_get(key("up{%s}", l), NULL, NULL) >= 1);
    assert_true(rec_last(key("up{%s}", l)) == 0);
    osp_arena ar;
    osp_target_status *st;
    size_t n;
    osp_arena_init(&ar, 0, 0);
    assert_int_equal(osp_scraper_targets(s, &ar, &st, &n), 0);
    assert_string_equal(st[0].last_error, "body size limit exceeded");
    osp_arena_cleanup(&ar);
    osp_scraper_destroy(s);
    osp_scrape_config_destroy(c);
    server_stop(sv);
}

static void test_start_stop(void **state)
{
    server *sv = server_start();
    server_route(sv, "/metrics", 200, PROM_CT, "a 1\n", 0, 0);
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: j\n"
                                  "    scrape_interval: 100ms\n"
                                  "    static_configs: [{targets: ['127.0.0.1:%d', "
                                  "'localhost:%d']}]\n",
                                  sv->port, sv->port);
    size_t mem = osp_mem_in_use();
    osp_scraper *s = scraper(c, 0, 0);
    assert_int_equal(osp_scraper_start(s), OSP_EBUSY);
    for (int i = 0; i < 5; i++) {
        sleep_ms(30 * i);
        osp_scraper_stop(s);
        osp_scraper_stop(s);
        osp_arena ar;
        osp_target_status *st;
        size_t n;
        osp_arena_init(&ar, 0, 0);
        assert_int_equal(osp_scraper_targets(s, &ar, &st, &n), 0);
        assert_int_equal(n, 0);
        osp_arena_cleanup(&ar);
        assert_int_equal(osp_scraper_start(s), 0);
    }
    WAIT_FOR(rec_get(key("up{instance=\"localhost:%d\",job=\"j\"}", sv->port), NULL, NULL) >= 1);
    osp_scraper_destroy(s);
    assert_int_equal(osp_mem_in_use(), mem);
    osp_scrape_config_destroy(c);
    server_stop(sv);
}

/* Target building without the network: relabeling, params, default port, dropping. */
static void test_targets(void **state)
{
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: probe\n"
                                  "    scrape_interval: 1m30s\n"
                                  "    metrics_path: /probe\n"
                                  "    params: {module: [http_2xx, tcp], b: ['x y']}\n"
                                  "    static_configs:\n"
                                  "      - targets: ['192.0.2.1', '192.0.2.2:9100']\n"
                                  "        labels: {__meta_zone: z1, env: prod}\n"
                                  "    relabel_configs:\n"
                                  "      - {source_labels: [__address__], regex: '.*\\.2:.*', "
                                  "action: drop}\n"
                                  "      - {source_labels: [__meta_zone], target_label: zone}\n"
                                  "      - {target_label: __param_module, replacement: icmp}\n"
                                  "      - {target_label: __param_debug, replacement: '1'}\n");
    const osp_scrape_job *job = &c->jobs[0];
    const osp_target_group *g = &job->static_configs[0];
    osp__target t;
    char err[256] = "";
    int keep;

    memset(&t, 0, sizeof t);
    osp_arena_init(&t.arena, 0, 0);
    assert_int_equal(osp__target_build(&t, job, g, 0, &keep, err, sizeof err), 0);
    assert_int_equal(keep, 1);
    assert_string_equal(t.url, "http://192.0.2.1:80/probe?b=x+y&debug=1&module=icmp&module=tcp");
    assert_int_equal(t.interval_ms, 90000);
    assert_int_equal(t.nlabels, 4); /* env, instance, job, zone */
    assert_true(
        osp_str_eqz(osp_labels_get(t.labels, t.nlabels, OSP_STR_LIT("instance")), "192.0.2.1:80"));
    assert_true(osp_str_eqz(osp_labels_get(t.labels, t.nlabels, OSP_STR_LIT("zone")), "z1"));
    assert_true(osp_str_eqz(
        osp_labels_get(t.discovered, t.ndiscovered, OSP_STR_LIT("__param_module")), "http_2xx"));
    assert_true(osp_str_eqz(
        osp_labels_get(t.discovered, t.ndiscovered, OSP_STR_LIT("__scrape_interval__")), "1m30s"));
    assert_int_equal(osp_labels_get(t.all, t.nall, OSP_STR_LIT("__meta_zone")).n, 0);
    uint64_t h = t.hash;
    osp_arena_cleanup(&t.arena);

    memset(&t, 0, sizeof t);
    osp_arena_init(&t.arena, 0, 0);
    assert_int_equal(osp__target_build(&t, job, g, 1, &keep, err, sizeof err), 0);
    assert_int_equal(keep, 0);
    osp_arena_cleanup(&t.arena);

    /* The same target built again has the same identity. */
    memset(&t, 0, sizeof t);
    osp_arena_init(&t.arena, 0, 0);
    assert_int_equal(osp__target_build(&t, job, g, 0, &keep, err, sizeof err), 0);
    assert_true(t.hash == h);
    osp_arena_cleanup(&t.arena);
    osp_scrape_config_destroy(c);

    /* Invalid targets: an interval relabeled to garbage, a timeout above the interval. */
    c = config("scrape_configs:\n"
               "  - job_name: bad\n"
               "    static_configs: [{targets: ['a:1', 'b:1', 'c:1']}]\n"
               "    relabel_configs:\n"
               "      - {source_labels: [__address__], regex: 'a:1', target_label: "
               "__scrape_interval__, replacement: soon}\n"
               "      - {source_labels: [__address__], regex: 'b:1', target_label: "
               "__scrape_timeout__, replacement: 2m}\n"
               "      - {source_labels: [__address__], regex: 'c:1', target_label: "
               "__address__, replacement: 'c/x:1'}\n");
    job = &c->jobs[0];
    const char *want[] = {
        "error parsing scrape interval: not a valid duration string: \"soon\"",
        "scrape timeout cannot be greater than scrape interval (\"2m\" > \"1m\")",
        "\"c/x:1\" is not a valid hostname",
    };
    for (size_t i = 0; i < 3; i++) {
        memset(&t, 0, sizeof t);
        osp_arena_init(&t.arena, 0, 0);
        assert_int_equal(
            osp__target_build(&t, job, &job->static_configs[0], i, &keep, err, sizeof err),
            OSP_EINVAL);
        assert_string_equal(err, want[i]);
        osp_arena_cleanup(&t.arena);
    }
    osp_scrape_config_destroy(c);
}

static void test_duration_format(void **state)
{
    static const struct {
        int64_t ms;
        const char *z;
    } cases[] = {
        {0, "0s"},
        {100, "100ms"},
        {15000, "15s"},
        {90000, "1m30s"},
        {3600000, "1h"},
        {86400000LL * 90, "90d"},
        {86400000LL * 14, "2w"},
        {1500, "1s500ms"},
        {86400000LL * 365, "1y"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        osp_prom_duration_format(cases[i].ms, buf, sizeof buf);
        assert_string_equal(buf, cases[i].z);
    }
}

/* One scrape turned into a batch, without the network: duplicates, parse errors, and every
 * allocation failing in turn. */
static void test_batch(void **state)
{
    osp_scrape_config *c = config("scrape_configs:\n"
                                  "  - job_name: b\n"
                                  "    static_configs: [{targets: ['a:1']}]\n");
    const osp_scrape_job *job = &c->jobs[0];
    osp__target t;
    osp_series_batch b;
    char err[256];
    int keep, up;

    memset(&t, 0, sizeof t);
    osp_arena_init(&t.arena, 0, 0);
    osp__scrape_cache_init(&t.cache);
    osp_series_batch_init(&b);
    assert_int_equal(osp__target_build(&t, job, &job->static_configs[0], 0, &keep, err, sizeof err),
                     0);
    osp__scrape_input in = {OSP_STR_LIT("# TYPE a gauge\na 1\na 2\nb{x=\"1\"} 3\n"), OSP_STR_NULL,
                            NULL, 1000, 0};
    assert_int_equal(osp__scrape_batch(&t, job, 0, &in, &b, &up, err, sizeof err), 0);
    assert_int_equal(up, 1);
    assert_int_equal(b.nseries, 2 + 5); /* the duplicate is dropped; 5 report series */
    assert_int_equal(b.nmeta, 1);
    assert_true(b.series[2 + 3].samples[0].v == 3); /* scrape_samples_post_metric_relabeling */

    in.body = OSP_STR_LIT("a{ 1\n");
    osp_series_batch_reset(&b);
    assert_int_equal(osp__scrape_batch(&t, job, 0, &in, &b, &up, err, sizeof err), 0);
    assert_int_equal(up, 0);
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(b.nseries, 2 + 5); /* a and b go stale */
    assert_true(osp_is_stale_nan(b.series[0].samples[0].v));
    assert_true(osp_is_stale_nan(b.series[1].samples[0].v));

    /* Every allocation failing in turn: OSP_ENOMEM or success, never a crash or a leak. */
    in.body = OSP_STR_LIT("# HELP a h\na{y=\"2\"} 1\nb 2\nc 3\n");
    for (unsigned long n = 1; n < 200; n++) {
        osp_series_batch_reset(&b);
        osp_mem_fail_after(n);
        int rc = osp__scrape_batch(&t, job, 0, &in, &b, &up, err, sizeof err);
        osp_mem_fail_after(0);
        assert_true(rc == 0 || rc == OSP_ENOMEM);
        osp_series_batch_reset(&b);
        assert_int_equal(osp__scrape_batch_stale(&t, 2000, &b), 0);
    }
    osp_series_batch_cleanup(&b);
    osp__scrape_cache_cleanup(&t.cache);
    osp_arena_cleanup(&t.arena);
    osp_scrape_config_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_text_format),
        cmocka_unit_test(test_openmetrics),
        cmocka_unit_test(test_honor_labels),
        cmocka_unit_test(test_metric_relabel_drop),
        cmocka_unit_test(test_sample_limit),
        cmocka_unit_test(test_http_error),
        cmocka_unit_test(test_series_disappear),
        cmocka_unit_test(test_file_sd),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_start_stop),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rec_reset();
    return rc;
}
