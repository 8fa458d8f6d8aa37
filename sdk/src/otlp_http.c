/* The OTLP/HTTP transport: protobuf POSTs with libcurl, gzip, retries with backoff and
 * Retry-After, bounded by a deadline. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "core/mem.h"
#include "core/pb.h"
#include "sdk_int.h"

#define MAX_BODY ((size_t)64 << 20)    /* the largest request, before compression */
#define MAX_RESPONSE ((size_t)4 << 20) /* response bytes kept; the rest is ignored */
#define BACKOFF_FIRST_NS 100000000ull  /* 100 ms */
#define BACKOFF_MAX_NS 5000000000ull   /* 5 s */
#define RETRY_AFTER_MAX_S 3600         /* longer Retry-After values are cut to this */
#define LOG_INTERVAL_NS 10000000000ull /* failures logged at most once per 10 s */
#define LOG_BODY_BYTES 200             /* response body bytes shown in a failure */

struct osprey__transport {
    pthread_mutex_t mu; /* one request at a time */
    CURL *curl;
    struct curl_slist *headers;
    char *url;
    uint32_t timeout_ms;
    bool gzip;
    osprey__stats *stats;
    osp_buf gz;              /* the compressed body */
    osp_buf resp;            /* the response body, at most MAX_RESPONSE bytes */
    long retry_after_s;      /* from the last response; -1: none */
    uint64_t last_log_ns;    /* when a failure was last logged; 0: never */
    bool partial_logged;     /* a partial success was reported */
    uint64_t rng;            /* xorshift state for the jitter */
    _Atomic uint64_t cap_ns; /* no post goes on past this (osprey__transport_limit) */
    pthread_mutex_t wait_mu; /* with wait_cv: a backoff wait, woken when cap_ns moves */
    pthread_cond_t wait_cv;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- libcurl callbacks ---------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    osprey__transport *t = arg;
    size_t n = size * nmemb, room = MAX_RESPONSE - t->resp.len;
    if (osp_buf_append(&t->resp, p, n < room ? n : room) != 0)
        return 0; /* out of memory: abort the transfer */
    return n;
}

/* Retry-After: delta-seconds or an HTTP date, into seconds from now. -1 when unparsable. */
static long parse_retry_after(const char *v, size_t n)
{
    char text[64];
    while (n && isspace((unsigned char)v[n - 1]))
        n--;
    if (n == 0 || n >= sizeof text)
        return -1;
    memcpy(text, v, n);
    text[n] = '\0';
    long s = -1;
    if (strspn(text, "0123456789") == n) {
        s = n > 6 ? RETRY_AFTER_MAX_S : strtol(text, NULL, 10);
    } else {
        time_t when = curl_getdate(text, NULL);
        if (when != -1)
            s = when > time(NULL) ? (long)(when - time(NULL)) : 0;
    }
    return s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    osprey__transport *t = arg;
    static const char name[] = "retry-after:";
    size_t n = size * nmemb, k = sizeof name - 1;
    if (n > k && !strncasecmp(p, name, k)) {
        size_t skip = k;
        while (skip < n && (p[skip] == ' ' || p[skip] == '\t'))
            skip++;
        t->retry_after_s = parse_retry_after(p + skip, n - skip);
    }
    return n;
}

/* ---- Create and destroy ------------------------------------------------------------------- */

static int build_headers(osprey__transport *t, const osprey__transport_config *c)
{
    struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    l = l ? curl_slist_append(l, "Expect:") : NULL; /* no 100-continue round trip */
    if (l && c->gzip)
        l = curl_slist_append(l, "Content-Encoding: gzip");
    for (size_t i = 0; l && i < c->nheaders; i++) {
        struct curl_slist *next = curl_slist_append(l, c->headers[i]);
        if (!next)
            curl_slist_free_all(l);
        l = next;
    }
    t->headers = l;
    return l ? 0 : OSPREY_ENOMEM;
}

/* Sets the options every request shares. 0 or OSPREY_ENOMEM. */
/* curl's progress callback: ends a request in flight once the cap has passed. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const osprey__transport *t = ctx;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return osprey__mono_ns() >= atomic_load(&t->cap_ns);
}

static int setup_curl(osprey__transport *t)
{
    CURL *h = t->curl;
    bool ok = curl_easy_setopt(h, CURLOPT_URL, t->url) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_USERAGENT, "osprey-otlp-c/" OSPREY_VERSION) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEDATA, t) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HEADERDATA, t) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_XFERINFODATA, t) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
    return ok ? 0 : OSPREY_ENOMEM;
}

int osprey__transport_create(const osprey__transport_config *c, osprey__stats *stats,
                             osprey__transport **out)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return OSPREY_ENOMEM;
    osprey__transport *t = osp_calloc(1, sizeof *t);
    if (!t)
        return OSPREY_ENOMEM;
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->wait_mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&t->wait_cv, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&t->cap_ns, UINT64_MAX);
    osp_buf_init(&t->gz, 0);
    osp_buf_init(&t->resp, MAX_RESPONSE);
    t->timeout_ms = c->timeout_ms ? c->timeout_ms : 10000;
    t->gzip = c->gzip;
    t->stats = stats;
    t->rng = osprey__mono_ns() ^ (uint64_t)(uintptr_t)t ^ 0x9e3779b97f4a7c15ull;
    int rc = OSPREY_ENOMEM;
    if (!(t->url = osp_strdup(c->url)) || !(t->curl = curl_easy_init()))
        goto out;
    if ((rc = build_headers(t, c)) || (rc = setup_curl(t)))
        goto out;
    *out = t;
out:
    if (rc)
        osprey__transport_destroy(t);
    return rc;
}

void osprey__transport_destroy(osprey__transport *t)
{
    if (!t)
        return;
    if (t->curl)
        curl_easy_cleanup(t->curl);
    curl_slist_free_all(t->headers);
    osp_free(t->url);
    osp_buf_cleanup(&t->gz);
    osp_buf_cleanup(&t->resp);
    pthread_cond_destroy(&t->wait_cv);
    pthread_mutex_destroy(&t->wait_mu);
    pthread_mutex_destroy(&t->mu);
    osp_free(t);
}

void osprey__transport_limit(osprey__transport *t, uint64_t deadline_ns)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->wait_mu);
    if (deadline_ns < atomic_load(&t->cap_ns))
        atomic_store(&t->cap_ns, deadline_ns);
    pthread_cond_broadcast(&t->wait_cv);
    pthread_mutex_unlock(&t->wait_mu);
}

/* ---- One POST ------------------------------------------------------------------------------ */

/* Compresses body[0..n) into t->gz as one gzip member. 0 or OSPREY_ENOMEM. */
static int gzip_body(osprey__transport *t, const void *body, size_t n)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return OSPREY_ENOMEM;
    int rc = OSPREY_ENOMEM;
    size_t bound = deflateBound(&z, (uLong)n);
    osp_buf_reset(&t->gz);
    if (osp_buf_reserve(&t->gz, bound) != 0)
        goto out;
    z.next_in = (Bytef *)body;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)t->gz.data;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
        t->gz.len = z.total_out;
        rc = 0;
    }
out:
    deflateEnd(&z);
    return rc;
}

/* What one attempt came to. */
typedef enum outcome { DONE, RETRY, FAIL } outcome;

static bool status_retryable(long status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}

static bool curl_retryable(CURLcode e)
{
    switch (e) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

/* Writes one "osprey: OTLP export to <url> ..." line on stderr, at most once per
 * LOG_INTERVAL_NS per transport so that a dead collector does not flood the log. */
__attribute__((format(printf, 2, 3))) static void log_limited(osprey__transport *t, const char *fmt,
                                                              ...)
{
    uint64_t now = osprey__mono_ns();
    if (t->last_log_ns && now - t->last_log_ns < LOG_INTERVAL_NS)
        return;
    t->last_log_ns = now;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "osprey: OTLP export to %s %s\n", t->url, msg);
}

/* Logs a final failure: curl's reason, or the HTTP status and the start of the response
 * body (unprintable bytes as '?'). */
static void log_failure(osprey__transport *t, long status, CURLcode e)
{
    if (e != CURLE_OK) {
        log_limited(t, "failed: %s", curl_easy_strerror(e));
        return;
    }
    char text[LOG_BODY_BYTES + 1];
    size_t n = t->resp.len < LOG_BODY_BYTES ? t->resp.len : LOG_BODY_BYTES;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)t->resp.data[i];
        text[i] = ch >= ' ' && ch <= '~' ? (char)ch : '?';
    }
    text[n] = '\0';
    log_limited(t, "failed: HTTP %ld: %s", status, text);
}

/* Reports an Export*ServiceResponse's partial_success (rejected count, message), once. */
static void check_partial_success(osprey__transport *t)
{
    osp_pb_reader r = osp_pb_reader_make(t->resp.data, t->resp.len);
    osp_pb_field f;
    while (!t->partial_logged && osp_pb_next(&r, &f) == 1) {
        if (f.num != 1 || f.wire != OSP_PB_LEN)
            continue;
        osp_pb_reader in = osp_pb_reader_make(f.bytes.p, f.bytes.n);
        uint64_t rejected = 0;
        osp_str msg = OSP_STR_NULL;
        while (osp_pb_next(&in, &f) == 1) {
            if (f.num == 1 && f.wire == OSP_PB_VARINT)
                rejected = f.u64;
            else if (f.num == 2 && f.wire == OSP_PB_LEN)
                msg = f.bytes;
        }
        if (rejected || msg.n) {
            t->partial_logged = true;
            fprintf(stderr, "osprey: OTLP export to %s partly rejected (%llu items): %.*s\n",
                    t->url, (unsigned long long)rejected, (int)(msg.n > 200 ? 200 : msg.n),
                    msg.p ? msg.p : "");
        }
    }
}

/* Sends the prepared body once with a timeout of at most the time left. */
static outcome attempt(osprey__transport *t, const void *body, size_t n, uint64_t left_ns)
{
    uint64_t ms = left_ns / 1000000u;
    if (ms > t->timeout_ms)
        ms = t->timeout_ms;
    osp_buf_reset(&t->resp);
    t->retry_after_s = -1;
    curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, (long)(ms ? ms : 1));
    curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    atomic_fetch_add(&t->stats->export_requests, 1);
    CURLcode e = curl_easy_perform(t->curl);
    long status = 0;
    if (e == CURLE_OK)
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (e == CURLE_OK && status >= 200 && status < 300) {
        check_partial_success(t);
        return DONE;
    }
    if (e == CURLE_ABORTED_BY_CALLBACK) /* the cap passed: the loop gives up */
        return RETRY;
    if (e == CURLE_OK ? status_retryable(status) : curl_retryable(e))
        return RETRY;
    log_failure(t, status, e);
    return FAIL;
}

/* The wait before the next attempt: Retry-After when the server gave one, else backoff with
 * +-20% jitter. */
static uint64_t retry_wait(osprey__transport *t, uint64_t backoff)
{
    if (t->retry_after_s >= 0)
        return (uint64_t)t->retry_after_s * 1000000000u;
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    uint64_t span = backoff / 5 * 2; /* 40% of backoff */
    return backoff - backoff / 5 + t->rng % (span + 1);
}

/* Waits until mono_ns, or until the cap moves to or before it. */
static void sleep_until(osprey__transport *t, uint64_t mono_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(mono_ns / 1000000000u),
                          .tv_nsec = (long)(mono_ns % 1000000000u)};
    pthread_mutex_lock(&t->wait_mu);
    while (osprey__mono_ns() < mono_ns && atomic_load(&t->cap_ns) > mono_ns)
        if (pthread_cond_timedwait(&t->wait_cv, &t->wait_mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&t->wait_mu);
}

int osprey__transport_post(osprey__transport *t, const void *body, size_t n, uint64_t deadline_ns)
{
    pthread_mutex_lock(&t->mu);
    int rc = 0;
    if (n > MAX_BODY) {
        log_limited(t, "refused: %zu bytes, over %zu", n, MAX_BODY);
        rc = OSPREY_EIO;
        goto out;
    }
    if (t->gzip) {
        if ((rc = gzip_body(t, body, n)))
            goto out;
        body = t->gz.data;
        n = t->gz.len;
    }
    uint64_t backoff = BACKOFF_FIRST_NS;
    for (;;) {
        uint64_t now = osprey__mono_ns(), cap = atomic_load(&t->cap_ns);
        if (cap < deadline_ns)
            deadline_ns = cap;
        if (now >= deadline_ns) {
            rc = OSPREY_ETIMEDOUT;
            break;
        }
        outcome o = attempt(t, body, n, deadline_ns - now);
        if (o != RETRY) {
            rc = o == DONE ? 0 : OSPREY_EIO;
            break;
        }
        uint64_t until = osprey__mono_ns() + retry_wait(t, backoff);
        if (until >= deadline_ns) {
            rc = OSPREY_ETIMEDOUT;
            break;
        }
        atomic_fetch_add(&t->stats->export_retries, 1);
        sleep_until(t, until);
        backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
    }
out:
    if (rc == OSPREY_ETIMEDOUT)
        log_limited(t, "gave up at its deadline");
    if (rc)
        atomic_fetch_add(&t->stats->export_failures, 1);
    pthread_mutex_unlock(&t->mu);
    return rc;
}
