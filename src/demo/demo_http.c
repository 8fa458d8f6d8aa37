/* The demo fleet's HTTP glue: SERVER spans around handled requests, CLIENT spans around
 * libcurl calls, and trace-context propagation through headers both ways. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/clock.h"
#include "demo/demo_int.h"

#define HEADER_NAME_MAX 64

/* osprey_header_get_fn over an osp_http_request: a NUL-terminated copy in its arena. */
static const char *request_header(void *carrier, const char *name)
{
    const osp_http_request *req = carrier;
    char lower[HEADER_NAME_MAX];
    size_t n = strlen(name);
    if (n >= sizeof lower)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    osp_str v = osp_http_header_get(req, lower);
    if (!v.n)
        return NULL;
    char *z = osp_arena_alloc(req->arena, v.n + 1);
    if (!z)
        return NULL;
    memcpy(z, v.p, v.n);
    z[v.n] = '\0';
    return z;
}

/* error.type = the status code and status ERROR, for a failed call or request. */
static void set_http_error(osprey_span *s, long status)
{
    char code[24];
    snprintf(code, sizeof code, "%ld", status);
    osprey_span_set_attr(s, OSPREY_STR("error.type", code));
    osprey_span_set_status(s, OSPREY_STATUS_ERROR, NULL);
}

void osp_demo_req_begin_carrier(osp_demo_req *r, osp_demo_svc *svc, const char *route,
                                osprey_header_get_fn get, void *carrier)
{
    char name[96];
    *r = (osp_demo_req){.svc = svc, .route = route, .start_ns = osp_clock_ns(CLOCK_MONOTONIC)};
    if (osprey_extract(get, carrier, &r->cc))
        memset(&r->cc, 0, sizeof r->cc); /* out of memory: serve it as a new trace */
    snprintf(name, sizeof name, "POST %s", route);
    osprey_attr attrs[] = {
        OSPREY_STR("http.request.method", "POST"), OSPREY_STR("http.route", route),
        OSPREY_STR("url.scheme", "http"),          OSPREY_STR("server.address", "127.0.0.1"),
        OSPREY_INT("server.port", svc->port),
    };
    osprey_span_options so = {.kind = OSPREY_SPAN_SERVER,
                              .parent = &r->cc.span,
                              .attrs = attrs,
                              .nattrs = sizeof attrs / sizeof attrs[0]};
    r->span = osprey_span_start(svc->tracer, name, &so);
    r->scope = osprey_span_attach(&r->span);
}

void osp_demo_req_begin(osp_demo_req *r, osp_demo_svc *svc, const osp_http_request *http,
                        const char *route)
{
    osp_demo_req_begin_carrier(r, svc, route, request_header, (void *)http);
}

void osp_demo_req_end(osp_demo_req *r, int status)
{
    status = status ? status : 200;
    double secs = (double)(osp_clock_ns(CLOCK_MONOTONIC) - r->start_ns) / 1e9;
    osprey_span_set_attr(&r->span, OSPREY_INT("http.response.status_code", status));
    if (status >= 500)
        set_http_error(&r->span, status);
    osprey_attr attrs[] = {
        OSPREY_STR("http.request.method", "POST"),
        OSPREY_STR("http.route", r->route),
        OSPREY_INT("http.response.status_code", status),
    };
    osprey_record(r->svc->duration, secs, attrs, sizeof attrs / sizeof attrs[0]);
    osprey_detach(r->scope);
    osprey_span_end(&r->span, 0);
    osprey_carrier_context_cleanup(&r->cc);
}

const char *osp_demo_req_baggage(const osp_demo_req *r, const char *name)
{
    return r->cc.baggage ? osprey_baggage_get(r->cc.baggage, name) : NULL;
}

void osp_demo_reply(osp_http_response *res, int status, const char *fmt, ...)
{
    va_list ap;
    res->status = status;
    res->content_type = "application/json";
    osp_buf_reset(&res->body);
    va_start(ap, fmt);
    if (osp_buf_vprintf(&res->body, fmt, ap))
        res->status = 500;
    va_end(ap);
}

void osp_demo_metrics_handler(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    osp_demo_svc *svc = ctx;
    char *text = NULL;
    size_t len = 0;
    if (osprey_metrics_prometheus(svc->provider, &text, &len) ||
        osp_buf_append(&res->body, text, len)) {
        osp_http_response_error(res, 500, "out of memory");
    } else {
        res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    }
    free(text); /* osprey_metrics_prometheus hands out malloc'd text */
}

/* ---- Client side ---- */

typedef struct header_list {
    struct curl_slist *list;
    bool failed;
} header_list;

static void add_header(header_list *h, const char *name, const char *value)
{
    char line[OSPREY_BAGGAGE_MAX + 64];
    if (h->failed || snprintf(line, sizeof line, "%s: %s", name, value) >= (int)sizeof line)
        return;
    struct curl_slist *l = curl_slist_append(h->list, line);
    if (l)
        h->list = l;
    else
        h->failed = true;
}

/* osprey_header_set_fn onto a curl header list. */
static void set_header(void *carrier, const char *name, const char *value)
{
    add_header(carrier, name, value);
}

struct curl_slist *osp_demo_headers(const osprey_span_context *c, const osprey_baggage *bag)
{
    header_list h = {0};
    add_header(&h, "Content-Type", "application/json");
    add_header(&h, "Expect", ""); /* no 100-continue round trip */
    if (c && osprey_span_context_valid(c)) {
        osprey_inject(c, bag, set_header, &h);
    } else if (bag && osprey_baggage_count(bag)) {
        char value[OSPREY_BAGGAGE_MAX + 1];
        if (osprey_baggage_format(bag, value, sizeof value) < sizeof value)
            add_header(&h, "baggage", value);
    }
    if (h.failed) {
        curl_slist_free_all(h.list);
        return NULL;
    }
    return h.list;
}

CURLcode osp_demo_curl_post(const char *url, struct curl_slist *headers, osp_str body,
                            uint32_t timeout_ms, curl_write_callback write, void *arg, long *status)
{
    *status = 0;
    CURL *curl = curl_easy_init();
    if (!curl)
        return CURLE_OUT_OF_MEMORY;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.n);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.n ? body.p : "");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, arg);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(curl);
    return rc;
}

/* curl write callback into an osp_buf; past its cap the transfer fails. */
static size_t write_buf(char *p, size_t size, size_t n, void *arg)
{
    return osp_buf_append(arg, p, size * n) ? 0 : size * n;
}

/* Records the outcome of a call on its CLIENT span. */
static void finish_client_span(osprey_span *s, CURLcode rc, long status)
{
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        osprey_span_record_error(s, "timeout", "the call timed out");
    } else if (rc != CURLE_OK && status == 0) {
        osprey_span_record_error(s, "connection_error", curl_easy_strerror(rc));
    } else {
        osprey_span_set_attr(s, OSPREY_INT("http.response.status_code", status));
        if (status >= 400)
            set_http_error(s, status);
    }
    osprey_span_end(s, 0);
}

long osp_demo_post(osp_demo_svc *from, const osp_demo_svc *to, const char *path, osp_str body,
                   const osprey_baggage *bag, uint32_t timeout_ms, osp_buf *out)
{
    char url[256], name[128];
    long status = 0;
    osprey_span span = {0};
    osprey_span_context current;
    const osprey_span_context *ctx = NULL;
    osp_buf_init(out, OSP_DEMO_MAX_BODY);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)to->port, path);
    if (from) {
        snprintf(name, sizeof name, "POST %s", path);
        osprey_attr attrs[] = {
            OSPREY_STR("http.request.method", "POST"), OSPREY_STR("url.full", url),
            OSPREY_STR("server.address", "127.0.0.1"), OSPREY_INT("server.port", to->port),
            OSPREY_STR("peer.service", to->name),
        };
        osprey_span_options so = {
            .kind = OSPREY_SPAN_CLIENT, .attrs = attrs, .nattrs = sizeof attrs / sizeof attrs[0]};
        span = osprey_span_start(from->tracer, name, &so);
        ctx = &span.context;
    } else if (osprey_current_context(&current)) {
        ctx = &current;
    }
    struct curl_slist *headers = osp_demo_headers(ctx, bag);
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (headers)
        rc = osp_demo_curl_post(url, headers, body, timeout_ms, write_buf, out, &status);
    curl_slist_free_all(headers);
    if (from)
        finish_client_span(&span, rc, status);
    return rc == CURLE_OK ? status : 0;
}
