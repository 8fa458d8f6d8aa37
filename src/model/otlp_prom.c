/* OTLP metric rows to Prometheus series (model/otlp_prom.h): labels, series per point kind,
 * target_info, metadata, and delta points through osp_delta_state. Label strings are built
 * in the output batch's arena; the labels of the point being converted are kept in a
 * reusable array and copied per series. */
#include "model/otlp_prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/numfmt.h"
#include "model/attr.h"

/* An attribute on its way to a label: translated name, original key, text value. */
typedef struct entry {
    osp_str name, key, value;
} entry;

/* What a resource contributes to its series. */
typedef struct res_info {
    osp_str job, instance;
    int64_t newest_ms; /* newest converted point */
    int used;          /* some point of it was converted */
} res_info;

typedef struct conv {
    const osp_metric_batch *in;
    osp_otlp_prom_options opt;
    osp_delta_state *delta;
    osp_series_batch *out;
    osp_otlp_prom_report *rep;
    res_info *res;
    osp_buf tmp, key;
    entry *ents;
    size_t nents, ents_cap;
    osp_label *base; /* the point's labels, before __name__ and le/quantile */
    size_t nbase, base_cap;
    double *les; /* le values of the _bucket series of the histogram being emitted */
    size_t nles, les_cap;
    osp_str exemplars; /* exemplars blob of the point being converted ("" for stale ones) */
    /* the metric being converted */
    uint32_t metric;
    int kind;
    osp_str family, name, name_bucket, name_sum, name_count;
    osp_str scope_name, scope_version; /* copies of its scope's */
    char why[160];
} conv;

static const osp_str job_label = OSP_STR_LIT("job"), instance_label = OSP_STR_LIT("instance");
static const osp_str name_label = OSP_STR_LIT(OSP_METRIC_NAME_LABEL);

__attribute__((format(printf, 2, 3))) static int bad(conv *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    return OSP_EINVAL;
}

/* Counts a rejected point of metric m with c->why. */
static void reject(conv *c, const osp_metric *m)
{
    int n = m->name.n > 64 ? 64 : (int)m->name.n;
    c->rep->rejected++;
    if (!c->rep->message[0])
        snprintf(c->rep->message, sizeof c->rep->message, "metric \"%.*s\": %s", n, m->name.p,
                 c->why);
}

/* Copies the scratch buffer into the arena. */
static int keep_tmp(conv *c, osp_str *dst)
{
    *dst = osp_arena_strdup(&c->out->arena, osp_buf_str(&c->tmp));
    return dst->p ? 0 : OSP_ENOMEM;
}

static int value_text(conv *c, const osp_value *v, osp_str *dst)
{
    osp_buf_reset(&c->tmp);
    int rc = osp_value_to_text(v, &c->tmp);
    return rc ? rc : keep_tmp(c, dst);
}

/* ---- labels ---- */

static int is_identifying(osp_str key)
{
    return osp_str_eqz(key, "service.name") || osp_str_eqz(key, "service.namespace") ||
           osp_str_eqz(key, "service.instance.id");
}

/* Adds the attributes of a blob as entries: all of them (which 0), only the promoted ones
 * (which 1), or all but the identifying service ones (which 2). */
static int add_entries(conv *c, osp_str attrs, int which)
{
    osp_attr_iter it;
    osp_str key;
    osp_value v;
    int rc;
    osp_attr_iter_init(&it, attrs);
    while ((rc = osp_attr_next(&it, &key, &v)) == 1) {
        int take = which == 0 || (which == 2 && !is_identifying(key));
        for (size_t i = 0; which == 1 && i < c->opt.npromote; i++)
            take |= osp_str_eq(key, c->opt.promote[i]);
        if (!take)
            continue;
        entry e = {.key = key};
        osp_buf_reset(&c->tmp);
        if ((rc = osp_prom_label_name(key, c->opt.naming, &c->tmp)) != 0)
            return rc;
        if (c->tmp.len == 0)
            continue;
        if ((rc = keep_tmp(c, &e.name)) != 0 || (rc = value_text(c, &v, &e.value)) != 0)
            return rc;
        entry *slot = osp_array_push((void **)&c->ents, &c->nents, &c->ents_cap, sizeof *c->ents);
        if (!slot)
            return OSP_ENOMEM;
        *slot = e;
    }
    return rc == 0 ? 0 : OSP_ECORRUPT;
}

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int r = osp_str_cmp(x->name, y->name);
    return r ? r : osp_str_cmp(x->key, y->key);
}

/* Sets label name to value in c->base, replacing one of the same name. */
static int set_label(conv *c, osp_str name, osp_str value)
{
    for (size_t i = 0; i < c->nbase; i++)
        if (osp_str_eq(c->base[i].name, name)) {
            c->base[i].value = value;
            return 0;
        }
    osp_label *l = osp_array_push((void **)&c->base, &c->nbase, &c->base_cap, sizeof *c->base);
    if (!l)
        return OSP_ENOMEM;
    *l = (osp_label){name, value};
    return 0;
}

/* Turns the entries into c->base: names that collide get their values joined with ';' in
 * the order of the original keys. */
static int entries_to_labels(conv *c)
{
    int rc = 0;
    c->nbase = 0;
    if (c->nents > 1)
        qsort(c->ents, c->nents, sizeof *c->ents, cmp_entry);
    for (size_t i = 0; i < c->nents && rc == 0;) {
        size_t j = i + 1;
        osp_str value = c->ents[i].value;
        if (j < c->nents && osp_str_eq(c->ents[j].name, c->ents[i].name)) {
            osp_buf_reset(&c->tmp);
            for (j = i; rc == 0 && j < c->nents && osp_str_eq(c->ents[j].name, c->ents[i].name);
                 j++)
                if ((j > i && (rc = osp_buf_putc(&c->tmp, ';')) != 0) ||
                    (rc = osp_buf_append_str(&c->tmp, c->ents[j].value)) != 0)
                    break;
            if (rc == 0)
                rc = keep_tmp(c, &value);
        }
        if (rc == 0)
            rc = set_label(c, c->ents[i].name, value);
        i = j;
    }
    return rc;
}

/* c->base for a point: promoted resource attributes, the point's attributes, job and
 * instance, the scope labels. */
static int point_labels(conv *c, const osp_metric *m, const osp_metric_point *p)
{
    const osp_resource *r = &c->in->resources[m->resource];
    int rc;
    c->nents = 0;
    if ((rc = add_entries(c, r->attributes, 1)) != 0 ||
        (rc = add_entries(c, p->attributes, 0)) != 0 || (rc = entries_to_labels(c)) != 0)
        return rc;
    rc = set_label(c, job_label, c->res[m->resource].job);
    if (rc == 0)
        rc = set_label(c, instance_label, c->res[m->resource].instance);
    if (rc == 0 && !c->opt.no_scope_labels)
        rc = set_label(c, OSP_STR_LIT("otel_scope_name"), c->scope_name);
    if (rc == 0 && !c->opt.no_scope_labels)
        rc = set_label(c, OSP_STR_LIT("otel_scope_version"), c->scope_version);
    size_t k = 0; /* drop empty values */
    for (size_t i = 0; i < c->nbase; i++)
        if (c->base[i].value.n)
            c->base[k++] = c->base[i];
    c->nbase = k;
    osp_labels_sort(c->base, c->nbase);
    return rc;
}

/* Adds a series without samples: c->base plus __name__ = name and, when extra_name is set,
 * that label. NULL when out of memory. */
static osp_series *add_series(conv *c, osp_str name, osp_str extra_name, osp_str extra_value)
{
    osp_label *l = osp_arena_alloc(&c->out->arena, (c->nbase + 2) * sizeof *l);
    if (!l)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < c->nbase; i++)
        if (!osp_str_eq(c->base[i].name, name_label) && !osp_str_eq(c->base[i].name, extra_name))
            l[n++] = c->base[i];
    l[n++] = (osp_label){name_label, name};
    if (extra_name.n)
        l[n++] = (osp_label){extra_name, extra_value};
    osp_labels_sort(l, n);
    osp_series *se = osp_series_batch_add(c->out);
    if (se)
        *se = (osp_series){.labels = l, .nlabels = n};
    return se;
}

/* Adds a series (as add_series) with one sample. */
static int emit(conv *c, osp_str name, osp_str extra_name, osp_str extra_value, int64_t t_ms,
                double v)
{
    osp_sample *s = osp_arena_alloc(&c->out->arena, sizeof *s);
    osp_series *se = s ? add_series(c, name, extra_name, extra_value) : NULL;
    if (!se)
        return OSP_ENOMEM;
    *s = (osp_sample){t_ms, v};
    se->samples = s;
    se->nsamples = 1;
    return 0;
}

static int emit_plain(conv *c, osp_str name, int64_t t_ms, double v)
{
    return emit(c, name, OSP_STR_NULL, OSP_STR_NULL, t_ms, v);
}

/* ---- exemplars ---- */

/* UTF-8 characters of s. */
static size_t chars(osp_str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++)
        n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* A trace or span id label of ex, in hex, appended to l. */
static int id_label(conv *c, const char *name, const uint8_t *id, size_t n, osp_label *l,
                    size_t *nl)
{
    char *hex = osp_arena_alloc(&c->out->arena, 2 * n);
    if (!hex)
        return OSP_ENOMEM;
    osp_hex_encode(id, n, hex);
    l[(*nl)++] = (osp_label){osp_str_c(name), osp_str_make(hex, 2 * n)};
    return 0;
}

/* The labels of an exemplar as the collector's Prometheus translator makes them: trace_id
 * and span_id in lowercase hex when set, then the filtered attributes (label names as for
 * series), which are all left out when they would take the labels past
 * OSP_EXEMPLAR_MAX_LABEL_CHARS characters. */
static int exemplar_labels(conv *c, const osp_exemplar *ex, osp_prom_exemplar *out)
{
    int rc;
    c->nents = 0;
    if ((rc = add_entries(c, ex->filtered_attributes, 0)) != 0)
        return rc;
    osp_label *l = osp_arena_alloc(&c->out->arena, (2 + c->nents) * sizeof *l);
    size_t n = 0, total = 0;
    if (!l)
        return OSP_ENOMEM;
    if ((ex->has & OSP_EXEMPLAR_TRACE_ID) && !all_zero(ex->trace_id, sizeof ex->trace_id) &&
        (rc = id_label(c, "trace_id", ex->trace_id, sizeof ex->trace_id, l, &n)) != 0)
        return rc;
    if ((ex->has & OSP_EXEMPLAR_SPAN_ID) && !all_zero(ex->span_id, sizeof ex->span_id) &&
        (rc = id_label(c, "span_id", ex->span_id, sizeof ex->span_id, l, &n)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        total += chars(l[i].name) + chars(l[i].value);
    size_t ids = n;
    for (size_t i = 0; i < c->nents; i++) {
        int taken = c->ents[i].value.n == 0;
        for (size_t k = 0; k < n && !taken; k++)
            taken = osp_str_eq(l[k].name, c->ents[i].name);
        if (taken)
            continue;
        total += chars(c->ents[i].name) + chars(c->ents[i].value);
        l[n++] = (osp_label){c->ents[i].name, c->ents[i].value};
    }
    out->labels = l;
    out->nlabels = total > OSP_EXEMPLAR_MAX_LABEL_CHARS ? ids : n;
    return 0;
}

/* Attaches the exemplars of the point being converted to the n output series from index
 * first: all to first when n is 1, else (the _bucket series, c->les their le values) each
 * to the first bucket whose le is not below its value, as the collector does. */
static int attach_exemplars(conv *c, size_t first, size_t n)
{
    osp_blob_iter it;
    osp_exemplar ex;
    int rc;
    osp_blob_iter_init(&it, c->exemplars);
    while ((rc = osp_exemplars_next(&it, &ex)) == 1) {
        double v = !(ex.has & OSP_EXEMPLAR_VALUE)      ? 0
                   : (ex.has & OSP_EXEMPLAR_VALUE_INT) ? (double)ex.value.i
                                                       : ex.value.d;
        size_t k = 0;
        while (n > 1 && k < n && !(v <= c->les[k]))
            k++;
        if (k == n)
            continue;
        osp_batch_exemplar *x = osp_series_batch_add_exemplar(c->out);
        if (!x)
            return OSP_ENOMEM;
        *x = (osp_batch_exemplar){first + k, {NULL, 0, v, (int64_t)(ex.time_ns / 1000000u)}};
        if ((rc = exemplar_labels(c, &ex, &x->ex)) != 0)
            return rc;
    }
    return rc == 0 ? 0 : OSP_ECORRUPT;
}

/* The series of a gauge or sum point, with its exemplars. */
static int emit_number(conv *c, int64_t t_ms, double v)
{
    int rc = emit_plain(c, c->name, t_ms, v);
    return rc ? rc : attach_exemplars(c, c->out->nseries - 1, 1);
}

/* The series of an exponential histogram point: one native histogram sample, with the
 * point's exemplars. */
static int emit_native(conv *c, int64_t t_ms, const osp_histogram *h)
{
    osp_hsample *s = osp_arena_alloc(&c->out->arena, sizeof *s);
    osp_series *se = s ? add_series(c, c->name, OSP_STR_NULL, OSP_STR_NULL) : NULL;
    if (!se)
        return OSP_ENOMEM;
    *s = (osp_hsample){t_ms, h};
    se->hsamples = s;
    se->nhsamples = 1;
    return attach_exemplars(c, c->out->nseries - 1, 1);
}

/* A float label value (le, quantile) in the arena. */
static int float_text(conv *c, double f, osp_str *dst)
{
    osp_buf_reset(&c->tmp);
    int rc = osp_buf_float(&c->tmp, f);
    return rc ? rc : keep_tmp(c, dst);
}

/* Notes le as the bound of the next _bucket series. */
static int note_le(conv *c, double le)
{
    double *slot = osp_array_push((void **)&c->les, &c->nles, &c->les_cap, sizeof *c->les);
    if (!slot)
        return OSP_ENOMEM;
    *slot = le;
    return 0;
}

/* The _bucket, _sum and _count series of a classic histogram: counts per bucket (nbounds
 * + 1 of them, or none), bounds[i] the upper bound of bucket i; bounds that are not finite
 * or do not increase get no le of their own (their counts go to the next one). The point's
 * exemplars go to the _bucket series. */
static int emit_histogram(conv *c, const uint64_t *counts, const double *bounds, size_t nbounds,
                          uint64_t count, int has_sum, double sum, int64_t t, int stale)
{
    double stale_v = osp_stale_nan();
    uint64_t acc = 0;
    osp_str le;
    size_t first = c->out->nseries;
    int rc = 0;
    c->nles = 0;
    for (size_t i = 0; i < nbounds && rc == 0; i++) {
        acc += counts[i];
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
            continue;
        if ((rc = float_text(c, bounds[i], &le)) == 0 && (rc = note_le(c, bounds[i])) == 0)
            rc = emit(c, c->name_bucket, OSP_STR_LIT("le"), le, t, stale ? stale_v : (double)acc);
    }
    if (rc == 0 && (rc = note_le(c, INFINITY)) == 0)
        rc = emit(c, c->name_bucket, OSP_STR_LIT("le"), OSP_STR_LIT("+Inf"), t,
                  stale ? stale_v : (double)count);
    if (rc == 0)
        rc = attach_exemplars(c, first, c->nles);
    if (rc == 0 && (has_sum || stale))
        rc = emit_plain(c, c->name_sum, t, stale ? stale_v : sum);
    if (rc == 0)
        rc = emit_plain(c, c->name_count, t, stale ? stale_v : (double)count);
    return rc;
}

/* ---- per metric ---- */

/* Appends s to the arena-backed name with a suffix; *dst gets the copy. */
static int name_with(conv *c, const char *suffix, osp_str *dst)
{
    osp_buf_reset(&c->tmp);
    int rc = osp_buf_append_str(&c->tmp, c->family);
    if (rc == 0)
        rc = osp_buf_puts(&c->tmp, suffix);
    return rc ? rc : keep_tmp(c, dst);
}

/* Kind, names and metadata of metric index mi; OSP_EINVAL (c->why) when its points are to
 * be rejected. */
static int prepare_metric(conv *c, uint32_t mi)
{
    const osp_metric *m = &c->in->metrics[mi];
    const osp_scope *sc = &c->in->scopes[m->scope];
    int rc, total = 0, counter = 0;
    c->metric = mi;
    c->scope_name = osp_arena_strdup(&c->out->arena, sc->name);
    c->scope_version = osp_arena_strdup(&c->out->arena, sc->version);
    if (!c->scope_name.p || !c->scope_version.p)
        return OSP_ENOMEM;
    switch (m->type) {
    case OSP_METRIC_GAUGE:
        c->kind = OSP_KIND_GAUGE;
        break;
    case OSP_METRIC_SUM:
        counter = m->monotonic;
        c->kind = counter ? OSP_KIND_COUNTER : OSP_KIND_GAUGE;
        break;
    case OSP_METRIC_HISTOGRAM:
    case OSP_METRIC_EXP_HISTOGRAM:
        c->kind = OSP_KIND_HISTOGRAM;
        break;
    case OSP_METRIC_SUMMARY:
        c->kind = OSP_KIND_SUMMARY;
        break;
    default:
        return bad(c, "unknown metric type %d", (int)m->type);
    }
    if ((m->type == OSP_METRIC_SUM || m->type == OSP_METRIC_HISTOGRAM ||
         m->type == OSP_METRIC_EXP_HISTOGRAM) &&
        m->temporality != OSP_TEMPORALITY_DELTA && m->temporality != OSP_TEMPORALITY_CUMULATIVE)
        return bad(c, "aggregation temporality %d is not delta or cumulative", (int)m->temporality);
    if (m->temporality == OSP_TEMPORALITY_DELTA && !c->delta)
        return bad(c, "delta temporality without an accumulation state");
    osp_buf_reset(&c->tmp);
    if ((rc = osp_prom_metric_name(m->name, m->unit, counter, m->type == OSP_METRIC_GAUGE,
                                   c->opt.naming, &c->tmp, &total)) != 0)
        return rc;
    if (c->tmp.len == 0)
        return bad(c, "the name translates to an empty Prometheus name");
    if ((rc = keep_tmp(c, &c->family)) != 0 ||
        (rc = name_with(c, total ? "_total" : "", &c->name)) != 0 ||
        (rc = name_with(c, "_bucket", &c->name_bucket)) != 0 ||
        (rc = name_with(c, "_sum", &c->name_sum)) != 0 ||
        (rc = name_with(c, "_count", &c->name_count)) != 0)
        return rc;
    for (size_t i = 0; i < c->out->nmeta; i++)
        if (osp_str_eq(c->out->meta[i].family, c->family))
            return 0;
    osp_metric_meta *meta = osp_series_batch_add_meta(c->out);
    if (!meta)
        return OSP_ENOMEM;
    meta->family = c->family;
    meta->kind = c->kind;
    osp_buf_reset(&c->tmp);
    if (m->type == OSP_METRIC_GAUGE && osp_str_eqz(m->unit, "1"))
        rc = osp_buf_puts(&c->tmp, "ratio"); /* the spec's "1" -> "ratio", as the name got */
    else
        rc = osp_prom_unit(m->unit, &c->tmp);
    if (rc != 0 || (rc = keep_tmp(c, &meta->unit)) != 0)
        return rc;
    meta->help = osp_arena_strdup(&c->out->arena, m->description);
    return meta->help.p ? 0 : OSP_ENOMEM;
}

/* The delta stream key of the point being converted: family, kind and labels. */
static int delta_key(conv *c)
{
    osp_buf *k = &c->key;
    int rc;
    osp_buf_reset(k);
    if ((rc = osp_buf_append(k, c->family.p, c->family.n)) != 0 ||
        (rc = osp_buf_printf(k, "%c%d", 0, c->kind)) != 0)
        return rc;
    for (size_t i = 0; i < c->nbase && rc == 0; i++)
        if ((rc = osp_buf_putc(k, 0)) != 0 || (rc = osp_buf_append_str(k, c->base[i].name)) != 0 ||
            (rc = osp_buf_putc(k, 0)) != 0)
            break;
        else
            rc = osp_buf_append_str(k, c->base[i].value);
    return rc;
}

/* The Prometheus bucket index of OTLP bucket index i with the resolution halved shift times:
 * OTLP's bucket i is (base^i, base^(i+1)], Prometheus's i + 1; each halving merges
 * buckets 2k and 2k + 1 into k (floor division, also below 0). */
static int64_t prom_index(int64_t i, int shift)
{
    return (i >= 0 ? i >> shift : -((-i - 1) >> shift) - 1) + 1;
}

/* Lays out one side of an exponential histogram point (counts[k] for OTLP index offset + k)
 * as Prometheus spans and absolute counts, covering only the buckets with counts: writes
 * them to spans and buckets unless those are NULL, and their numbers to *nspans and
 * *nbuckets. */
static void exp_side(int64_t offset, const uint64_t *counts, size_t n, int shift,
                     osp_hist_span *spans, double *buckets, uint32_t *nspans, uint32_t *nbuckets)
{
    uint32_t ns = 0, nb = 0;
    int64_t last = 0; /* index of bucket nb - 1 */
    for (size_t k = 0; k < n; k++) {
        if (!counts[k])
            continue;
        int64_t idx = prom_index(offset + (int64_t)k, shift);
        if (nb && idx == last) {
            if (buckets)
                buckets[nb - 1] += (double)counts[k];
            continue;
        }
        if (!nb || idx > last + 1) {
            if (spans)
                spans[ns] = (osp_hist_span){(int32_t)(nb ? idx - last - 1 : idx), 0};
            ns++;
        }
        if (spans)
            spans[ns - 1].length++;
        if (buckets)
            buckets[nb] = (double)counts[k];
        nb++;
        last = idx;
    }
    *nspans = ns;
    *nbuckets = nb;
}

/* exp_side into arrays of the output arena. */
static int exp_side_alloc(conv *c, int32_t offset, const uint64_t *counts, size_t n, int shift,
                          osp_hist_span **spans, double **buckets, uint32_t *nspans,
                          uint32_t *nbuckets)
{
    exp_side(offset, counts, n, shift, NULL, NULL, nspans, nbuckets);
    *spans = NULL;
    *buckets = NULL;
    if (*nbuckets == 0)
        return 0;
    *spans = osp_arena_alloc(&c->out->arena, *nspans * sizeof **spans);
    *buckets = osp_arena_alloc(&c->out->arena, *nbuckets * sizeof **buckets);
    if (!*spans || !*buckets)
        return OSP_ENOMEM;
    exp_side(offset, counts, n, shift, *spans, *buckets, nspans, nbuckets);
    return 0;
}

/* An exponential histogram point as a native histogram in the output arena (otlp_prom.h);
 * a stale point's is the stale marker. 0, OSP_EINVAL (rejected, c->why) or OSP_ENOMEM. */
static int exp_histogram(conv *c, const osp_metric_point *p, int stale, osp_histogram **out)
{
    osp_histogram *h = osp_arena_calloc(&c->out->arena, 1, sizeof *h);
    int rc;
    if (!(*out = h))
        return OSP_ENOMEM;
    if (stale) {
        h->sum = osp_stale_nan();
        return 0;
    }
    if (p->scale < OSP_HIST_SCHEMA_MIN)
        return bad(c,
                   "exponential histogram scale %d is below %d, the coarsest native histogram "
                   "schema",
                   (int)p->scale, OSP_HIST_SCHEMA_MIN);
    if ((int64_t)p->pos_offset + (int64_t)p->npos > INT32_MAX ||
        (int64_t)p->neg_offset + (int64_t)p->nneg > INT32_MAX)
        return bad(c, "exponential histogram bucket index past int32");
    int64_t shift = (int64_t)p->scale - OSP_HIST_SCHEMA_MAX;
    shift = shift < 0 ? 0 : shift > 63 ? 63 : shift;
    h->schema = p->scale > OSP_HIST_SCHEMA_MAX ? OSP_HIST_SCHEMA_MAX : p->scale;
    h->zero_threshold = p->zero_threshold;
    h->zero_count = (double)p->zero_count;
    h->count = (double)p->count;
    h->sum = p->has & OSP_POINT_SUM ? p->sum : 0;
    if ((rc = exp_side_alloc(c, p->pos_offset, p->pos_counts, p->npos, (int)shift, &h->pspans,
                             &h->pbuckets, &h->npspans, &h->npbuckets)) != 0 ||
        (rc = exp_side_alloc(c, p->neg_offset, p->neg_counts, p->nneg, (int)shift, &h->nspans,
                             &h->nbuckets, &h->nnspans, &h->nnbuckets)) != 0)
        return rc;
    const char *problem = osp_hist_check(h);
    return problem ? bad(c, "exponential histogram: %s", problem) : 0;
}

/* Converts one point of the current metric: 0, OSP_EINVAL (rejected, c->why) or a fatal
 * error. */
static int convert_point(conv *c, const osp_metric *m, const osp_metric_point *p)
{
    int stale = (p->flags & OSP_DATA_POINT_NO_RECORDED_VALUE) != 0;
    int64_t t = (int64_t)(p->time_ns / 1000000u);
    c->exemplars = stale ? OSP_STR_NULL : p->exemplars;
    int delta = m->temporality == OSP_TEMPORALITY_DELTA;
    int is_exp = m->type == OSP_METRIC_EXP_HISTOGRAM;
    double v = osp_stale_nan();
    uint64_t total = 0;
    osp_histogram *h = NULL;
    int rc;
    if ((m->type == OSP_METRIC_GAUGE || m->type == OSP_METRIC_SUM) && !stale) {
        if (!(p->has & OSP_POINT_VALUE))
            return bad(c, "data point without a value");
        v = p->has & OSP_POINT_VALUE_INT ? (double)p->value.i : p->value.d;
    }
    if (m->type == OSP_METRIC_HISTOGRAM && !stale) {
        for (size_t i = 0; i < p->nbuckets; i++)
            total += p->bucket_counts[i];
        if (p->nbuckets && total != p->count)
            return bad(c, "bucket counts add up to %llu, count is %llu", (unsigned long long)total,
                       (unsigned long long)p->count);
    }
    if (is_exp && (rc = exp_histogram(c, p, stale, &h)) != 0)
        return rc;
    if ((rc = point_labels(c, m, p)) != 0)
        return rc;
    if (delta && (rc = delta_key(c)) != 0)
        return rc;
    if (delta && stale) {
        osp_delta_forget(c->delta, osp_buf_str(&c->key));
    } else if (delta) {
        osp_delta_point in = {.start_ns = p->start_ns, .time_ns = p->time_ns, .value = v}, cum;
        if (is_exp) {
            in.hist = h;
        } else if (m->type == OSP_METRIC_HISTOGRAM) {
            in.count = p->count;
            in.sum = p->sum;
            in.buckets = p->bucket_counts;
            in.bounds = p->bounds;
            in.nbuckets = p->nbuckets;
        }
        rc = osp_delta_add(c->delta, osp_buf_str(&c->key), &in, &c->out->arena, &cum);
        if (rc == OSP_EINVAL)
            return bad(c, "delta point overlaps the last one of its series (its start is "
                          "before that point's time: out of order or a duplicate)");
        if (rc < 0)
            return rc;
        if (m->type == OSP_METRIC_SUM)
            return emit_number(c, t, cum.value);
        if (is_exp)
            return emit_native(c, t, cum.hist);
        return emit_histogram(c, cum.buckets, p->bounds, p->nbounds, cum.count,
                              p->has & OSP_POINT_SUM, cum.sum, t, 0);
    }
    switch (m->type) {
    case OSP_METRIC_GAUGE:
    case OSP_METRIC_SUM:
        return emit_number(c, t, v);
    case OSP_METRIC_HISTOGRAM:
        return emit_histogram(c, p->bucket_counts, p->bounds, p->nbounds, p->count,
                              p->has & OSP_POINT_SUM, p->sum, t, stale);
    case OSP_METRIC_EXP_HISTOGRAM:
        return emit_native(c, t, h);
    default: /* OSP_METRIC_SUMMARY */
        for (size_t i = 0; i < p->nquantiles; i++) {
            osp_str q;
            if ((rc = float_text(c, p->quantiles[i].quantile, &q)) != 0 ||
                (rc = emit(c, c->name, OSP_STR_LIT("quantile"), q, t,
                           stale ? v : p->quantiles[i].value)) != 0)
                return rc;
        }
        if ((rc = emit_plain(c, c->name_sum, t, stale ? v : p->sum)) != 0)
            return rc;
        return emit_plain(c, c->name_count, t, stale ? v : (double)p->count);
    }
}

/* ---- resources ---- */

/* job and instance of each resource. */
static int prepare_resources(conv *c)
{
    for (size_t i = 0; i < c->in->nresources; i++) {
        osp_str attrs = c->in->resources[i].attributes;
        osp_value name, ns, id;
        int has_name = osp_attr_find(attrs, OSP_STR_LIT("service.name"), &name) == 1;
        int has_ns = osp_attr_find(attrs, OSP_STR_LIT("service.namespace"), &ns) == 1;
        int rc = 0;
        osp_buf_reset(&c->tmp);
        if (has_name && has_ns && (rc = osp_value_to_text(&ns, &c->tmp)) == 0 && c->tmp.len)
            rc = osp_buf_putc(&c->tmp, '/');
        if (rc == 0 && has_name)
            rc = osp_value_to_text(&name, &c->tmp);
        if (rc == 0 && has_name)
            rc = keep_tmp(c, &c->res[i].job);
        if (rc == 0 && osp_attr_find(attrs, OSP_STR_LIT("service.instance.id"), &id) == 1)
            rc = value_text(c, &id, &c->res[i].instance);
        if (rc < 0)
            return rc == OSP_ENOMEM ? rc : OSP_ECORRUPT;
    }
    return 0;
}

/* One target_info series per distinct (job, instance) of the resources used. */
static int target_info(conv *c)
{
    static const osp_str name = OSP_STR_LIT("target_info");
    int rc = 0, have_meta = 0;
    for (size_t i = 0; i < c->in->nresources && rc == 0; i++) {
        res_info *ri = &c->res[i];
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = c->res[j].used && osp_str_eq(c->res[j].job, ri->job) &&
                  osp_str_eq(c->res[j].instance, ri->instance);
        c->nents = 0;
        if (!ri->used || dup || (rc = add_entries(c, c->in->resources[i].attributes, 2)) != 0 ||
            c->nents == 0)
            continue;
        if ((rc = entries_to_labels(c)) == 0 && (rc = set_label(c, job_label, ri->job)) == 0)
            rc = set_label(c, instance_label, ri->instance);
        size_t k = 0;
        for (size_t j = 0; j < c->nbase; j++)
            if (c->base[j].value.n)
                c->base[k++] = c->base[j];
        c->nbase = k;
        if (rc == 0)
            rc = emit_plain(c, name, ri->newest_ms, 1);
        if (rc == 0 && !have_meta++) {
            osp_metric_meta *meta = osp_series_batch_add_meta(c->out);
            if (!meta)
                return OSP_ENOMEM;
            *meta = (osp_metric_meta){
                .family = name, .kind = OSP_KIND_GAUGE, .help = OSP_STR_LIT("Target metadata")};
        }
    }
    return rc;
}

int osp_otlp_to_prom(const osp_metric_batch *in, const osp_otlp_prom_options *opt,
                     osp_delta_state *delta, osp_series_batch *out, osp_otlp_prom_report *rep)
{
    conv c = {.in = in, .delta = delta, .out = out, .rep = rep, .metric = UINT32_MAX};
    int rc = 0, metric_rc = 0;
    if (opt)
        c.opt = *opt;
    rep->rejected = 0;
    rep->message[0] = '\0';
    osp_buf_init(&c.tmp, 0);
    osp_buf_init(&c.key, 0);
    c.res = osp_calloc(in->nresources + 1, sizeof *c.res);
    if (!c.res)
        rc = OSP_ENOMEM;
    if (rc == 0)
        rc = prepare_resources(&c);
    for (size_t i = 0; i < in->npoints && rc == 0; i++) {
        const osp_metric_point *p = &in->points[i];
        const osp_metric *m = &in->metrics[p->metric];
        if (p->metric != c.metric) {
            c.why[0] = '\0';
            metric_rc = prepare_metric(&c, p->metric);
        }
        rc = metric_rc ? metric_rc : convert_point(&c, m, p);
        if (rc == OSP_EINVAL) {
            reject(&c, m);
            rc = 0;
        } else if (rc == 0) {
            res_info *ri = &c.res[m->resource];
            int64_t t = (int64_t)(p->time_ns / 1000000u);
            if (!ri->used || t > ri->newest_ms)
                ri->newest_ms = t;
            ri->used = 1;
        }
    }
    if (rc == 0 && !c.opt.no_target_info)
        rc = target_info(&c);
    osp_buf_cleanup(&c.tmp);
    osp_buf_cleanup(&c.key);
    osp_free(c.res);
    osp_free(c.ents);
    osp_free(c.base);
    osp_free(c.les);
    return rc;
}
