/* The Prometheus text format 0.0.4 of a provider's metrics, named and labelled as
 * OpenTelemetry's Prometheus exporter does (units as suffixes, _total, target_info). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "metrics_int.h"
#include "model/otlp_prom.h"

/* The family name of i, NUL-terminated: the server's translation (model/prom_names.c) with
 * unit suffixes, "_ratio" for gauges of unit "1" and "_total" for monotonic sums. */
static int family_name(osp_buf *name, const osprey_instrument *i)
{
    int total = 0;
    bool gauge = !osprey__inst_is_sum(i->kind) && i->kind != OSPREY__INST_HISTOGRAM;
    int rc = osp_prom_metric_name(osp_str_c(i->name), osp_str_c(i->unit),
                                  osprey__inst_is_monotonic(i->kind), gauge,
                                  OSP_PROM_UNDERSCORE_SUFFIXES, name, &total);
    if (total)
        rc = rc ? rc : osp_buf_puts(name, "_total");
    return rc ? rc : osp_buf_putc(name, '\0');
}

/* ---- Labels ---------------------------------------------------------------------------------- */

/* Appends s escaped: backslash and newline, and double quotes when quote is set. */
static int put_escaped(osp_buf *b, const char *s, size_t n, bool quote)
{
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        if (s[k] == '\\' || (quote && s[k] == '"'))
            rc = osp_buf_putc(b, '\\');
        rc = rc ? rc : s[k] == '\n' ? osp_buf_puts(b, "\\n") : osp_buf_putc(b, s[k]);
    }
    return rc;
}

static int put_double(osp_buf *b, double v)
{
    char tmp[32];
    return osp_buf_puts(b, osprey__fmt_double(v, tmp));
}

static int put_elem(osp_buf *b, const osprey__kv *kv, size_t k)
{
    const void *items = kv->v.array.items;
    switch (kv->type) {
    case OSPREY_VALUE_STRING_ARRAY: {
        const char *s = ((char *const *)items)[k];
        return osp_buf_json_str(b, s, strlen(s));
    }
    case OSPREY_VALUE_BOOL_ARRAY:
        return osp_buf_puts(b, ((const bool *)items)[k] ? "true" : "false");
    case OSPREY_VALUE_INT_ARRAY:
        return osp_buf_printf(b, "%" PRId64, ((const int64_t *)items)[k]);
    default:
        return put_double(b, ((const double *)items)[k]);
    }
}

/* The value as label text: scalars plainly, arrays as JSON. */
static int put_value_text(osp_buf *b, const osprey__kv *kv)
{
    switch (kv->type) {
    case OSPREY_VALUE_STRING:
        return osp_buf_puts(b, kv->v.s ? kv->v.s : "");
    case OSPREY_VALUE_BOOL:
        return osp_buf_puts(b, kv->v.b ? "true" : "false");
    case OSPREY_VALUE_INT:
        return osp_buf_printf(b, "%" PRId64, kv->v.i);
    case OSPREY_VALUE_DOUBLE:
        return put_double(b, kv->v.d);
    default:
        break;
    }
    int rc = osp_buf_putc(b, '[');
    for (size_t k = 0; rc == 0 && k < kv->v.array.n; k++) {
        rc = k ? osp_buf_putc(b, ',') : 0;
        rc = rc ? rc : put_elem(b, kv, k);
    }
    return rc ? rc : osp_buf_putc(b, ']');
}

typedef struct span {
    size_t off, len;
} span;

/* The labels of one sample, each `name="value"`, gathered in text with their spans. */
typedef struct labels {
    osp_buf text, tmp;
    span *spans;
    size_t n;
} labels;

static int label_add(labels *l, const char *name, const char *value, size_t vlen)
{
    size_t off = l->text.len;
    int rc = osp_prom_label_name(osp_str_c(name), OSP_PROM_UNDERSCORE_SUFFIXES, &l->text);
    if (rc == 0 && l->text.len == off) /* an empty key has no label name */
        return 0;
    rc = rc ? rc : osp_buf_puts(&l->text, "=\"");
    rc = rc ? rc : put_escaped(&l->text, value, vlen, true);
    rc = rc ? rc : osp_buf_putc(&l->text, '"');
    if (rc == 0)
        l->spans[l->n++] = (span){off, l->text.len - off};
    return rc;
}

static int label_add_kv(labels *l, const osprey__kv *kv)
{
    osp_buf_reset(&l->tmp);
    int rc = put_value_text(&l->tmp, kv);
    return rc ? rc : label_add(l, kv->key, l->tmp.data ? l->tmp.data : "", l->tmp.len);
}

static int span_cmp(const void *a, const void *b, void *text)
{
    const span *x = a, *y = b;
    const char *t = text;
    size_t nx = strcspn(t + x->off, "="), ny = strcspn(t + y->off, "=");
    int c = memcmp(t + x->off, t + y->off, nx < ny ? nx : ny);
    return c ? c : (nx > ny) - (nx < ny);
}

/* Appends the labels of a (and the scope's, when scope is set) sorted by name and
 * comma-separated to out. */
static int put_labels(osp_buf *out, const osprey__attrs *a, const osprey_meter *scope)
{
    labels l = {.spans = osp_malloc((a->n + 2) * sizeof(span))};
    osp_buf_init(&l.text, 0);
    osp_buf_init(&l.tmp, 0);
    int rc = l.spans ? 0 : OSPREY_ENOMEM;
    for (uint32_t k = 0; rc == 0 && k < a->n; k++)
        rc = label_add_kv(&l, &a->items[k]);
    if (scope) {
        rc = rc ? rc : label_add(&l, "otel_scope_name", scope->name, strlen(scope->name));
        if (*scope->version)
            rc = rc ? rc
                    : label_add(&l, "otel_scope_version", scope->version, strlen(scope->version));
    }
    rc = rc ? rc : osp_buf_putc(&l.text, '\0');
    if (rc == 0)
        qsort_r(l.spans, l.n, sizeof(span), span_cmp, l.text.data);
    for (size_t k = 0; rc == 0 && k < l.n; k++) {
        rc = k ? osp_buf_putc(out, ',') : 0;
        rc = rc ? rc : osp_buf_append(out, l.text.data + l.spans[k].off, l.spans[k].len);
    }
    osp_free(l.spans);
    osp_buf_cleanup(&l.text);
    osp_buf_cleanup(&l.tmp);
    return rc;
}

/* ---- Samples and families -------------------------------------------------------------------- */

/* name{labels[,extra]} value\n; extra may be NULL. */
static int put_sample(osp_buf *b, const char *name, const char *suffix, const osp_buf *lb,
                      const char *extra, double v)
{
    int rc = osp_buf_printf(b, "%s%s", name, suffix);
    if (lb->len || extra) {
        rc = rc ? rc : osp_buf_putc(b, '{');
        rc = rc ? rc : osp_buf_append(b, lb->data, lb->len);
        if (extra)
            rc = rc ? rc : osp_buf_printf(b, "%s%s", lb->len ? "," : "", extra);
        rc = rc ? rc : osp_buf_putc(b, '}');
    }
    rc = rc ? rc : osp_buf_putc(b, ' ');
    rc = rc ? rc : put_double(b, v);
    return rc ? rc : osp_buf_putc(b, '\n');
}

static int put_histogram(osp_buf *b, const char *name, const osprey_instrument *i,
                         const osprey__mpoint *p, const osp_buf *lb)
{
    uint64_t cum = 0;
    char le[48], bound[32];
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < i->nbounds; k++) {
        cum += p->buckets[k];
        snprintf(le, sizeof le, "le=\"%s\"", osprey__fmt_double(i->bounds[k], bound));
        rc = put_sample(b, name, "_bucket", lb, le, (double)cum);
    }
    rc = rc ? rc : put_sample(b, name, "_bucket", lb, "le=\"+Inf\"", (double)p->count);
    rc = rc ? rc : put_sample(b, name, "_sum", lb, NULL, p->sum);
    return rc ? rc : put_sample(b, name, "_count", lb, NULL, (double)p->count);
}

static const char *prom_type(osprey__inst_kind k)
{
    if (k == OSPREY__INST_HISTOGRAM)
        return "histogram";
    return osprey__inst_is_monotonic(k) ? "counter" : "gauge";
}

static int put_header(osp_buf *b, const char *name, const char *help, const char *type)
{
    int rc = 0;
    if (*help) {
        rc = osp_buf_printf(b, "# HELP %s ", name);
        rc = rc ? rc : put_escaped(b, help, strlen(help), false);
        rc = rc ? rc : osp_buf_putc(b, '\n');
    }
    return rc ? rc : osp_buf_printf(b, "# TYPE %s %s\n", name, type);
}

static int put_family(osp_buf *b, const osprey__mstream *s)
{
    const osprey_instrument *i = s->inst;
    osp_buf name, lb;
    osp_buf_init(&name, 0);
    osp_buf_init(&lb, 0);
    int rc = family_name(&name, i);
    rc = rc ? rc : put_header(b, name.data, i->description, prom_type(i->kind));
    for (size_t k = 0; rc == 0 && k < s->npoints; k++) {
        const osprey__mpoint *p = &s->points[k];
        osp_buf_reset(&lb);
        rc = put_labels(&lb, p->attrs, i->meter);
        if (rc == 0)
            rc = i->kind == OSPREY__INST_HISTOGRAM
                     ? put_histogram(b, name.data, i, p, &lb)
                     : put_sample(b, name.data, "", &lb, NULL, p->value);
    }
    osp_buf_cleanup(&name);
    osp_buf_cleanup(&lb);
    return rc;
}

static int put_target_info(osp_buf *b, const osprey__attrs *resource)
{
    osp_buf lb;
    osp_buf_init(&lb, 0);
    int rc = put_header(b, "target_info", "Target metadata", "gauge");
    rc = rc ? rc : put_labels(&lb, resource, NULL);
    rc = rc ? rc : put_sample(b, "target_info", "", &lb, NULL, 1);
    osp_buf_cleanup(&lb);
    return rc;
}

/* Copies b into plain malloc memory, as the API promises the caller may free() it. */
static int copy_out(const osp_buf *b, char **out, size_t *len)
{
    char *text = malloc(b->len + 1);
    if (!text)
        return OSPREY_ENOMEM;
    if (b->len)
        memcpy(text, b->data, b->len);
    text[b->len] = '\0';
    *out = text;
    if (len)
        *len = b->len;
    return 0;
}

int osprey_metrics_prometheus(osprey_provider *p, char **out, size_t *len)
{
    if (!out)
        return OSPREY_EINVAL;
    *out = NULL;
    if (len)
        *len = 0;
    if (!p || !p->metrics)
        return OSPREY_EINVAL;
    osprey__collection c;
    osp_buf b;
    osp_buf_init(&b, 0);
    int rc = osprey__metrics_collect(p->metrics, &c);
    rc = rc ? rc : put_target_info(&b, &p->resource);
    for (size_t k = 0; rc == 0 && k < c.n; k++)
        rc = put_family(&b, &c.streams[k]);
    rc = rc ? OSPREY_ENOMEM : copy_out(&b, out, len);
    osprey__collection_cleanup(&c);
    osp_buf_cleanup(&b);
    return rc;
}
