/* The console exporters: spans and log records as one JSON object per line on stderr. */
#include "logs_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"

static pthread_mutex_t console_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const kind_names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                         "CLIENT",      "PRODUCER", "CONSUMER"};
static const char *const status_names[] = {"UNSET", "OK", "ERROR"};

/* Appends ,"key":"hex of id" (n bytes). */
static int put_id(osp_buf *b, const char *key, const uint8_t *id, size_t n)
{
    char hex[33];
    osprey__hex(id, n, hex);
    return osp_buf_printf(b, ",\"%s\":\"%s\"", key, hex);
}

/* Appends ,"key":"s" (JSON-escaped); nothing when s is NULL. */
static int put_str(osp_buf *b, const char *key, const char *s)
{
    if (!s)
        return 0;
    int rc = osp_buf_printf(b, ",\"%s\":", key);
    return rc ? rc : osp_buf_json_str(b, s, strlen(s));
}

/* Appends ,"attributes":{...} and, when some were dropped, ,"dropped_attributes":N. */
static int put_attrs(osp_buf *b, const osprey__attrs *a)
{
    int rc = osp_buf_puts(b, ",\"attributes\":{");
    if (rc == 0 && (rc = osprey__attrs_put_json(b, a)) == 0)
        rc = osp_buf_putc(b, '}');
    if (rc == 0 && a->dropped)
        rc = osp_buf_printf(b, ",\"dropped_attributes\":%" PRIu32, a->dropped);
    return rc;
}

static int put_events(osp_buf *b, const struct osprey_span_data *d)
{
    int rc = osp_buf_puts(b, ",\"events\":[");
    for (uint32_t i = 0; rc == 0 && i < d->nevents; i++) {
        const osprey__event *e = &d->events[i];
        if ((rc = osp_buf_printf(b, "%s{\"time_ns\":%" PRIu64, i ? "," : "", e->time_ns)) == 0 &&
            (rc = put_str(b, "name", e->name)) == 0 && (rc = put_attrs(b, &e->attrs)) == 0)
            rc = osp_buf_putc(b, '}');
    }
    return rc ? rc : osp_buf_putc(b, ']');
}

static int put_links(osp_buf *b, const struct osprey_span_data *d)
{
    int rc = osp_buf_puts(b, ",\"links\":[");
    for (uint32_t i = 0; rc == 0 && i < d->nlinks; i++) {
        const osprey__link *l = &d->links[i];
        if ((rc = osp_buf_printf(b, "%s{\"flags\":%u", i ? "," : "", l->flags)) == 0 &&
            (rc = put_id(b, "trace_id", l->trace_id, 16)) == 0 &&
            (rc = put_id(b, "span_id", l->span_id, 8)) == 0 &&
            (rc = put_str(b, "trace_state", l->trace_state)) == 0 &&
            (rc = put_attrs(b, &l->attrs)) == 0)
            rc = osp_buf_putc(b, '}');
    }
    return rc ? rc : osp_buf_putc(b, ']');
}

static int put_span(osp_buf *b, const struct osprey_span_data *d)
{
    static const uint8_t zero[8];
    const char *kind = (unsigned)d->kind < 6 ? kind_names[d->kind] : "UNSPECIFIED";
    const char *status = (unsigned)d->status < 3 ? status_names[d->status] : "UNSET";
    int rc = osp_buf_puts(b, "{\"type\":\"span\"");
    if (rc == 0 && (rc = put_str(b, "name", d->name)) == 0 &&
        (rc = put_str(b, "scope", d->tracer->name)) == 0 &&
        (rc = put_str(b, "scope_version", d->tracer->version)) == 0 &&
        (rc = put_id(b, "trace_id", d->trace_id, 16)) == 0 &&
        (rc = put_id(b, "span_id", d->span_id, 8)) == 0 && memcmp(d->parent_span_id, zero, 8))
        rc = put_id(b, "parent_span_id", d->parent_span_id, 8);
    if (rc == 0 && (rc = put_str(b, "trace_state", d->trace_state)) == 0)
        rc = osp_buf_printf(b,
                            ",\"flags\":%u,\"kind\":\"%s\",\"start_ns\":%" PRIu64
                            ",\"end_ns\":%" PRIu64 ",\"status\":{\"code\":\"%s\"",
                            d->flags, kind, d->start_ns, d->end_ns, status);
    if (rc == 0 && (rc = put_str(b, "message", d->status_message)) == 0 &&
        (rc = osp_buf_putc(b, '}')) == 0 && (rc = put_attrs(b, &d->attrs)) == 0 &&
        (rc = put_events(b, d)) == 0 && (rc = put_links(b, d)) == 0)
        rc = osp_buf_printf(b, ",\"dropped_events\":%" PRIu32 ",\"dropped_links\":%" PRIu32 "}\n",
                            d->dropped_events, d->dropped_links);
    return rc;
}

static int put_log(osp_buf *b, const osprey__log_record *r)
{
    static const uint8_t zero[16];
    int rc = osp_buf_printf(b,
                            "{\"type\":\"log\",\"time_ns\":%" PRIu64 ",\"observed_ns\":%" PRIu64
                            ",\"severity\":%d,\"severity_text\":\"%s\"",
                            r->time_ns, r->observed_ns, (int)r->severity,
                            osprey__severity_text(r->severity));
    if (rc == 0 && (rc = put_str(b, "scope", r->logger ? r->logger->name : NULL)) == 0 &&
        (rc = put_str(b, "event_name", r->event_name)) == 0 &&
        (rc = put_str(b, "body", r->body)) == 0 && memcmp(r->trace_id, zero, 16) != 0 &&
        (rc = put_id(b, "trace_id", r->trace_id, 16)) == 0 &&
        (rc = put_id(b, "span_id", r->span_id, 8)) == 0)
        rc = osp_buf_printf(b, ",\"flags\":%u", r->flags);
    if (rc == 0 && (rc = put_attrs(b, &r->attrs)) == 0)
        rc = osp_buf_puts(b, "}\n");
    return rc;
}

/* Writes the lines in b to stderr at once, under the lock: threads never interleave. */
static int flush_lines(const osp_buf *b)
{
    pthread_mutex_lock(&console_lock);
    size_t w = b->len ? fwrite(b->data, 1, b->len, stderr) : 0;
    fflush(stderr);
    pthread_mutex_unlock(&console_lock);
    return w == b->len ? 0 : OSPREY_EIO;
}

int osprey__console_spans(struct osprey_span_data *const *spans, size_t n)
{
    osp_buf b;
    int rc = 0;
    osp_buf_init(&b, 0);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_span(&b, spans[i]) ? OSPREY_ENOMEM : 0;
    if (rc == 0)
        rc = flush_lines(&b);
    osp_buf_cleanup(&b);
    return rc;
}

int osprey__console_logs(osprey__log_record *const *recs, size_t n)
{
    osp_buf b;
    int rc = 0;
    osp_buf_init(&b, 0);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_log(&b, recs[i]) ? OSPREY_ENOMEM : 0;
    if (rc == 0)
        rc = flush_lines(&b);
    osp_buf_cleanup(&b);
    return rc;
}
