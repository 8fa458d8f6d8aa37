/* Canonical trace rows rendered as Jaeger query-API JSON. */
#include "query/jaeger.h"

#include <inttypes.h>
#include <math.h>

#include "core/err.h"
#include "core/mem.h"
#include "model/attr.h"

#define JS_MAX_SAFE_INTEGER ((INT64_C(1) << 53) - 1)

static const char NO_SERVICE_NAME[] = "OTLP_ResourceNoServiceName";

const char *osp_jaeger_span_kind(int32_t kind)
{
    switch (kind) {
    case OSP_SPAN_KIND_INTERNAL:
        return "internal";
    case OSP_SPAN_KIND_SERVER:
        return "server";
    case OSP_SPAN_KIND_CLIENT:
        return "client";
    case OSP_SPAN_KIND_PRODUCER:
        return "producer";
    case OSP_SPAN_KIND_CONSUMER:
        return "consumer";
    }
    return NULL;
}

int osp_jaeger_begin(osp_buf *out)
{
    return osp_buf_puts(out, "{\"data\":");
}

int osp_jaeger_end(osp_buf *out, size_t total)
{
    return osp_buf_printf(out, ",\"total\":%zu,\"limit\":0,\"offset\":0,\"errors\":null}", total);
}

int osp_jaeger_error(osp_buf *out, int code, const char *msg)
{
    int rc = osp_buf_printf(
        out,
        "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":%d,\"msg\":",
        code);
    if (rc == 0)
        rc = osp_buf_json_str(out, msg, strlen(msg));
    return rc ? rc : osp_buf_puts(out, "}]}");
}

/* Jaeger's TraceID.String(): the low half alone when the high half is zero. */
static int put_trace_id(osp_buf *out, const uint8_t id[16])
{
    static const uint8_t zero[8];
    char hex[32];
    int high = memcmp(id, zero, sizeof zero) != 0;
    osp_hex_encode(high ? id : id + 8, high ? 16 : 8, hex);
    return osp_buf_printf(out, "\"%.*s\"", high ? 32 : 16, hex);
}

static int put_span_id(osp_buf *out, const uint8_t id[8])
{
    char hex[16];
    osp_hex_encode(id, 8, hex);
    return osp_buf_printf(out, "\"%.16s\"", hex);
}

/* Writes ',' before every element but the first of a list; *n counts them. */
static int sep(osp_buf *out, size_t *n)
{
    return (*n)++ ? osp_buf_putc(out, ',') : 0;
}

static const char *value_type(const osp_value *v)
{
    switch (v->type) {
    case OSP_VAL_BOOL:
        return "bool";
    case OSP_VAL_INT:
        return "int64";
    case OSP_VAL_DOUBLE:
        return "float64";
    case OSP_VAL_BYTES:
        return "binary";
    default:
        return "string";
    }
}

/* A JSON value: numbers and booleans bare, everything else as a string of its text form
 * (int64 past JavaScript's safe range too, as Jaeger does). tmp is scratch space. */
static int put_value(osp_buf *out, const osp_value *v, osp_buf *tmp)
{
    int rc;
    if (v->type == OSP_VAL_BOOL ||
        (v->type == OSP_VAL_INT && v->i <= JS_MAX_SAFE_INTEGER && v->i >= -JS_MAX_SAFE_INTEGER) ||
        (v->type == OSP_VAL_DOUBLE && isfinite(v->d)))
        return osp_value_to_text(v, out);
    if (v->type == OSP_VAL_STRING)
        return osp_buf_json_str(out, v->s.p, v->s.n);
    osp_buf_reset(tmp);
    rc = osp_value_to_text(v, tmp);
    return rc ? rc : osp_buf_json_str(out, tmp->data, tmp->len);
}

/* One {"key","type","value"} element, preceded by a separator when needed. */
static int put_tag(osp_buf *out, size_t *n, osp_str key, const osp_value *v, osp_buf *tmp)
{
    int rc = sep(out, n);
    if (rc == 0)
        rc = osp_buf_puts(out, "{\"key\":");
    if (rc == 0)
        rc = osp_buf_json_str(out, key.p, key.n);
    if (rc == 0)
        rc = osp_buf_printf(out, ",\"type\":\"%s\",\"value\":", value_type(v));
    if (rc == 0)
        rc = put_value(out, v, tmp);
    return rc ? rc : osp_buf_putc(out, '}');
}

static int put_str_tag(osp_buf *out, size_t *n, const char *key, osp_str value)
{
    osp_value v = {.type = OSP_VAL_STRING, .s = value};
    return put_tag(out, n, osp_str_c(key), &v, NULL);
}

/* Every attribute of a blob as a tag, except one named skip (when skip is non-empty). */
static int put_attr_tags(osp_buf *out, size_t *n, osp_str attrs, osp_str skip, osp_buf *tmp)
{
    osp_attr_iter it;
    osp_str key;
    osp_value v;
    int more, rc = 0;
    osp_attr_iter_init(&it, attrs);
    while (rc == 0 && (more = osp_attr_next(&it, &key, &v)) != 0) {
        if (more < 0)
            return more;
        if (skip.n == 0 || !osp_str_eq(key, skip))
            rc = put_tag(out, n, key, &v, tmp);
    }
    return rc;
}

static int put_span_tags(osp_buf *out, const osp_span *s, const osp_scope *sc, osp_buf *tmp)
{
    size_t n = 0;
    const char *kind = osp_jaeger_span_kind(s->kind);
    int rc = osp_buf_puts(out, ",\"tags\":[");
    if (rc == 0 && sc->name.n)
        rc = put_str_tag(out, &n, "otel.scope.name", sc->name);
    if (rc == 0 && sc->version.n)
        rc = put_str_tag(out, &n, "otel.scope.version", sc->version);
    if (rc == 0)
        rc = put_attr_tags(out, &n, s->attributes, OSP_STR_NULL, tmp);
    if (rc == 0 && kind)
        rc = put_str_tag(out, &n, "span.kind", osp_str_c(kind));
    if (rc == 0 && s->status_code == OSP_STATUS_OK)
        rc = put_str_tag(out, &n, "otel.status_code", OSP_STR_LIT("OK"));
    if (rc == 0 && s->status_code == OSP_STATUS_ERROR) {
        osp_value yes = {.type = OSP_VAL_BOOL, .i = 1};
        rc = put_str_tag(out, &n, "otel.status_code", OSP_STR_LIT("ERROR"));
        if (rc == 0)
            rc = put_tag(out, &n, OSP_STR_LIT("error"), &yes, tmp);
    }
    if (rc == 0 && s->status_message.n)
        rc = put_str_tag(out, &n, "otel.status_description", s->status_message);
    if (rc == 0 && s->trace_state.n)
        rc = put_str_tag(out, &n, "w3c.tracestate", s->trace_state);
    return rc ? rc : osp_buf_putc(out, ']');
}

/* CHILD_OF when the link's opentracing.ref_type attribute says child_of. */
static const char *link_ref_type(const osp_link *ln)
{
    osp_value v;
    if (osp_attr_find(ln->attributes, OSP_STR_LIT("opentracing.ref_type"), &v) == 1 &&
        v.type == OSP_VAL_STRING && osp_str_eqz(v.s, "child_of"))
        return "CHILD_OF";
    return "FOLLOWS_FROM";
}

static int put_ref(osp_buf *out, size_t *n, const char *type, const uint8_t trace_id[16],
                   const uint8_t span_id[8])
{
    int rc = sep(out, n);
    if (rc == 0)
        rc = osp_buf_printf(out, "{\"refType\":\"%s\",\"traceID\":", type);
    if (rc == 0)
        rc = put_trace_id(out, trace_id);
    if (rc == 0)
        rc = osp_buf_puts(out, ",\"spanID\":");
    if (rc == 0)
        rc = put_span_id(out, span_id);
    return rc ? rc : osp_buf_putc(out, '}');
}

static int links_to(const osp_link *ln, const osp_span *s)
{
    return memcmp(ln->trace_id, s->trace_id, 16) == 0 &&
           memcmp(ln->span_id, s->parent_span_id, 8) == 0;
}

static int put_references(osp_buf *out, const osp_span *s)
{
    static const uint8_t zero[8];
    int has_parent = memcmp(s->parent_span_id, zero, sizeof zero) != 0, more, rc;
    const char *parent_type = "CHILD_OF";
    osp_blob_iter it;
    osp_link ln;
    size_t n = 0;
    osp_blob_iter_init(&it, s->links);
    while (has_parent && (more = osp_links_next(&it, &ln)) != 0) {
        if (more < 0)
            return more;
        if (links_to(&ln, s))
            parent_type = link_ref_type(&ln);
    }
    rc = osp_buf_puts(out, ",\"references\":[");
    if (rc == 0 && has_parent)
        rc = put_ref(out, &n, parent_type, s->trace_id, s->parent_span_id);
    osp_blob_iter_init(&it, s->links);
    while (rc == 0 && (more = osp_links_next(&it, &ln)) != 0) {
        if (more < 0)
            return more;
        if (!(has_parent && links_to(&ln, s)))
            rc = put_ref(out, &n, link_ref_type(&ln), ln.trace_id, ln.span_id);
    }
    return rc ? rc : osp_buf_putc(out, ']');
}

static int put_logs(osp_buf *out, const osp_span *s, osp_buf *tmp)
{
    osp_blob_iter it;
    osp_event ev;
    osp_value v;
    size_t n = 0;
    int more, rc = osp_buf_puts(out, ",\"logs\":[");
    osp_blob_iter_init(&it, s->events);
    while (rc == 0 && (more = osp_events_next(&it, &ev)) != 0) {
        size_t nfields = 0;
        if (more < 0)
            return more;
        rc = sep(out, &n);
        if (rc == 0)
            rc = osp_buf_printf(out, "{\"timestamp\":%" PRIu64 ",\"fields\":[", ev.time_ns / 1000);
        if (rc == 0 && ev.name.n && osp_attr_find(ev.attributes, OSP_STR_LIT("event"), &v) == 0)
            rc = put_str_tag(out, &nfields, "event", ev.name);
        if (rc == 0)
            rc = put_attr_tags(out, &nfields, ev.attributes, OSP_STR_NULL, tmp);
        if (rc == 0)
            rc = osp_buf_puts(out, "]}");
    }
    return rc ? rc : osp_buf_putc(out, ']');
}

static int put_span(osp_buf *out, const osp_span_batch *b, const osp_span *s, uint32_t process,
                    osp_buf *tmp)
{
    uint64_t dur = s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
    int rc = osp_buf_puts(out, "{\"traceID\":");
    if (rc == 0)
        rc = put_trace_id(out, s->trace_id);
    if (rc == 0)
        rc = osp_buf_puts(out, ",\"spanID\":");
    if (rc == 0)
        rc = put_span_id(out, s->span_id);
    if (rc == 0)
        rc = osp_buf_printf(out, ",\"flags\":%" PRIu32 ",\"operationName\":", s->flags & 0xff);
    if (rc == 0)
        rc = osp_buf_json_str(out, s->name.p, s->name.n);
    if (rc == 0)
        rc = put_references(out, s);
    if (rc == 0)
        rc = osp_buf_printf(out, ",\"startTime\":%" PRIu64 ",\"duration\":%" PRIu64,
                            s->start_ns / 1000, dur / 1000);
    if (rc == 0)
        rc = put_span_tags(out, s, &b->scopes[s->scope], tmp);
    if (rc == 0)
        rc = put_logs(out, s, tmp);
    if (rc == 0)
        rc = osp_buf_printf(out, ",\"processID\":\"p%" PRIu32 "\",\"warnings\":null}", process);
    return rc;
}

static int put_process(osp_buf *out, const osp_resource *r, uint32_t number, osp_buf *tmp)
{
    size_t n = 0;
    osp_str name = r->attributes.n ? r->service_name : osp_str_c(NO_SERVICE_NAME);
    int rc = osp_buf_printf(out, "\"p%" PRIu32 "\":{\"serviceName\":", number);
    if (rc == 0)
        rc = osp_buf_json_str(out, name.p, name.n);
    if (rc == 0)
        rc = osp_buf_puts(out, ",\"tags\":[");
    if (rc == 0)
        rc = put_attr_tags(out, &n, r->attributes, OSP_STR_LIT("service.name"), tmp);
    return rc ? rc : osp_buf_puts(out, "]}");
}

/* Jaeger identifies a process by its service name and tags. */
static int same_process(const osp_resource *a, const osp_resource *b)
{
    return osp_str_eq(a->attributes, b->attributes) && osp_str_eq(a->service_name, b->service_name);
}

int osp_jaeger_trace(const osp_span_batch *b, size_t first, size_t n, osp_buf *out)
{
    uint32_t *pid = NULL;   /* resource index -> process number (0 = not assigned yet) */
    uint32_t *procs = NULL; /* process number - 1 -> resource index */
    uint32_t nprocs = 0;
    osp_buf tmp;
    int rc = 0;
    if (n == 0 || first > b->nspans || n > b->nspans - first)
        return OSP_EINVAL;
    osp_buf_init(&tmp, out->max);
    pid = osp_calloc(b->nresources ? b->nresources : 1, sizeof *pid);
    procs = osp_calloc(b->nresources ? b->nresources : 1, sizeof *procs);
    if (!pid || !procs) {
        rc = OSP_ENOMEM;
        goto out;
    }
    for (size_t i = first; i < first + n; i++) {
        uint32_t r = b->spans[i].resource;
        if (r >= b->nresources || b->spans[i].scope >= b->nscopes) {
            rc = OSP_ECORRUPT;
            goto out;
        }
        for (uint32_t k = 0; k < nprocs && !pid[r]; k++)
            if (same_process(&b->resources[procs[k]], &b->resources[r]))
                pid[r] = k + 1;
        if (!pid[r]) {
            procs[nprocs++] = r;
            pid[r] = nprocs;
        }
    }
    rc = osp_buf_puts(out, "{\"traceID\":");
    if (rc == 0)
        rc = put_trace_id(out, b->spans[first].trace_id);
    if (rc == 0)
        rc = osp_buf_puts(out, ",\"spans\":[");
    for (size_t i = first; rc == 0 && i < first + n; i++) {
        if (i > first)
            rc = osp_buf_putc(out, ',');
        if (rc == 0)
            rc = put_span(out, b, &b->spans[i], pid[b->spans[i].resource], &tmp);
    }
    if (rc == 0)
        rc = osp_buf_puts(out, "],\"processes\":{");
    for (uint32_t k = 0; rc == 0 && k < nprocs; k++) {
        if (k)
            rc = osp_buf_putc(out, ',');
        if (rc == 0)
            rc = put_process(out, &b->resources[procs[k]], k + 1, &tmp);
    }
    if (rc == 0)
        rc = osp_buf_puts(out, "},\"warnings\":null}");
out:
    osp_free(pid);
    osp_free(procs);
    osp_buf_cleanup(&tmp);
    return rc;
}

int osp_jaeger_render(const osp_span_batch *b, osp_buf *out)
{
    int rc = osp_jaeger_begin(out);
    if (rc == 0)
        rc = osp_buf_putc(out, '[');
    for (size_t i = 0; rc == 0 && i < b->nspans;) {
        size_t j = i + 1;
        while (j < b->nspans && memcmp(b->spans[j].trace_id, b->spans[i].trace_id, 16) == 0)
            j++;
        if (i)
            rc = osp_buf_putc(out, ',');
        if (rc == 0)
            rc = osp_jaeger_trace(b, i, j - i, out);
        i = j;
    }
    if (rc == 0)
        rc = osp_buf_putc(out, ']');
    return rc ? rc : osp_jaeger_end(out, 0);
}
