/* Loggers and log records: stamping records with the time and trace context, handing them
 * to the provider's log pipeline, and the optional JSON line on stderr. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "logs_int.h"

#define LOG_ATTR_LIMIT 128                      /* OTel's default LogRecord attribute count limit */
#define LOG_NAME_MAX 256                        /* logger and event names are cut here */
#define LOG_BODY_MAX (1 << 20)                  /* bodies (osprey_logf's text too) are cut here */
#define LOG_LINE_MAX (LOG_BODY_MAX * 6 + 65536) /* a body escaped at worst, and the rest */

const char *osprey__severity_text(osprey_severity sev)
{
    static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    if (sev < 1 || sev > 24)
        return "UNSPECIFIED";
    return names[(sev - 1) / 4];
}

osprey_logger *osprey_logger_get(osprey_provider *p, const char *name, osprey_severity min_severity)
{
    if (!p || !name)
        return NULL;
    pthread_mutex_lock(&p->lock);
    osprey_logger *l = p->loggers;
    while (l && strcmp(l->name, name) != 0)
        l = l->next;
    if (l) {
        __atomic_store_n(&l->min_severity, min_severity, __ATOMIC_RELAXED);
        goto out;
    }
    l = osp_calloc(1, sizeof *l);
    if (!l)
        goto out;
    l->name = osp_strndup(name, strnlen(name, LOG_NAME_MAX));
    if (!l->name) {
        osp_free(l);
        l = NULL;
        goto out;
    }
    l->provider = p;
    l->min_severity = min_severity;
    l->next = p->loggers;
    p->loggers = l;
out:
    pthread_mutex_unlock(&p->lock);
    return l;
}

void osprey__log_record_free(osprey__log_record *r)
{
    if (!r)
        return;
    osp_free(r->event_name);
    osp_free(r->body);
    osprey__attrs_cleanup(&r->attrs);
    osp_free(r);
}

/* Copies at most max bytes of z (NULL stays NULL) into *out. 0 or OSPREY_ENOMEM. */
static int dup_bounded(const char *z, size_t max, char **out)
{
    *out = NULL;
    if (!z)
        return 0;
    *out = osp_strndup(z, strnlen(z, max));
    return *out ? 0 : OSPREY_ENOMEM;
}

/* A new record of l, stamped now and with ctx's ids when ctx is valid. NULL on ENOMEM. */
static osprey__log_record *record_new(osprey_logger *l, osprey_severity sev,
                                      const osprey_span_context *ctx, const char *event_name,
                                      const char *body, const osprey_attr *attrs, size_t n)
{
    osprey__log_record *r = osp_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->logger = l;
    r->time_ns = r->observed_ns = osprey_now_ns();
    r->severity = sev;
    if (osprey_span_context_valid(ctx)) {
        memcpy(r->trace_id, ctx->trace_id, sizeof r->trace_id);
        memcpy(r->span_id, ctx->span_id, sizeof r->span_id);
        r->flags = ctx->trace_flags;
    }
    if (dup_bounded(event_name, LOG_NAME_MAX, &r->event_name) ||
        dup_bounded(body, LOG_BODY_MAX, &r->body) ||
        osprey__attrs_set(&r->attrs, attrs, n, LOG_ATTR_LIMIT)) {
        osprey__log_record_free(r);
        return NULL;
    }
    return r;
}

/* Appends "YYYY-MM-DDTHH:MM:SS.mmmZ" for t_ns (UTC). */
static int put_rfc3339(osp_buf *b, uint64_t t_ns)
{
    time_t secs = (time_t)(t_ns / 1000000000u);
    struct tm tm;
    char text[32];
    if (!gmtime_r(&secs, &tm) || !strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm))
        return OSPREY_EINVAL;
    return osp_buf_printf(b, "%s.%03uZ", text, (unsigned)(t_ns / 1000000u % 1000u));
}

/* Appends ,"key":"<hex of id>". */
static int put_hex_member(osp_buf *b, const char *key, const uint8_t *id, size_t n)
{
    char hex[33];
    osprey__hex(id, n, hex);
    return osp_buf_printf(b, ",\"%s\":\"%s\"", key, hex);
}

/* Appends r as one JSON object and a newline. */
static int format_json_line(osp_buf *b, const osprey__log_record *r)
{
    static const uint8_t zero[16];
    int rc = osp_buf_puts(b, "{\"time\":\"");
    rc = rc ? rc : put_rfc3339(b, r->time_ns);
    rc = rc ? rc
            : osp_buf_printf(b, "\",\"level\":\"%s\",\"msg\":", osprey__severity_text(r->severity));
    rc = rc ? rc : osp_buf_json_str(b, r->body ? r->body : "", r->body ? strlen(r->body) : 0);
    if (!rc && memcmp(r->trace_id, zero, sizeof r->trace_id) != 0) {
        rc = put_hex_member(b, "trace_id", r->trace_id, sizeof r->trace_id);
        rc = rc ? rc : put_hex_member(b, "span_id", r->span_id, sizeof r->span_id);
    }
    rc = rc ? rc : osp_buf_puts(b, ",\"logger\":");
    rc = rc ? rc : osp_buf_json_str(b, r->logger->name, strlen(r->logger->name));
    if (!rc && r->attrs.n > 0) {
        rc = osp_buf_putc(b, ',');
        rc = rc ? rc : osprey__attrs_put_json(b, &r->attrs);
    }
    return rc ? rc : osp_buf_puts(b, "}\n");
}

/* Writes r as one JSON line to stderr with a single write (lines never interleave). */
static void write_stderr_line(const osprey__log_record *r)
{
    osp_buf b;
    osp_buf_init(&b, LOG_LINE_MAX);
    if (format_json_line(&b, r) == 0) {
        ssize_t w;
        do
            w = write(STDERR_FILENO, b.data, b.len);
        while (w < 0 && errno == EINTR);
    }
    osp_buf_cleanup(&b);
}

void osprey_log_ctx(osprey_logger *l, osprey_severity sev, const osprey_span_context *ctx,
                    const char *event_name, const char *body, const osprey_attr *attrs, size_t n)
{
    if (!l || sev < __atomic_load_n(&l->min_severity, __ATOMIC_RELAXED))
        return;
    osprey_provider *p = l->provider;
    osprey_span_context current;
    if (!ctx) {
        osprey_current_context(&current);
        ctx = &current;
    }
    osprey__log_record *r = record_new(l, sev, ctx, event_name, body, attrs, n);
    if (!r) {
        atomic_fetch_add(&p->stats.logs_dropped, 1);
        return;
    }
    if (p->config.log_to_stderr)
        write_stderr_line(r);
    atomic_fetch_add(&p->stats.logs_emitted, 1);
    osprey__provider_emit_log(p, r);
}

void osprey_log(osprey_logger *l, osprey_severity sev, const char *body, const osprey_attr *attrs,
                size_t n)
{
    osprey_log_ctx(l, sev, NULL, NULL, body, attrs, n);
}

void osprey_logf(osprey_logger *l, osprey_severity sev, const char *fmt, ...)
{
    if (!l || !fmt || sev < __atomic_load_n(&l->min_severity, __ATOMIC_RELAXED))
        return;
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    size_t size = n < 0 ? 0 : (size_t)n < LOG_BODY_MAX ? (size_t)n + 1 : LOG_BODY_MAX + 1;
    char *body = size ? osp_malloc(size) : NULL;
    if (body) {
        vsnprintf(body, size, fmt, ap2); /* cut at LOG_BODY_MAX */
        osprey_log(l, sev, body, NULL, 0);
    } else {
        atomic_fetch_add(&l->provider->stats.logs_dropped, 1);
    }
    va_end(ap2);
    va_end(ap);
    osp_free(body);
}
