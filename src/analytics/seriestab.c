/* Cumulative derived series of one metric family, keyed by label values (seriestab.h). */
#include "analytics/seriestab.h"

#include <assert.h>
#include <stdio.h>
#include <xxhash.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/numfmt.h"

#define OVERFLOW_VALUE "__overflow__"
#define MAX_LABELS 32  /* label names a family may have */
#define MAX_BUCKETS 63 /* bucket bounds a histogram family may have */

/* One series: its label values, cumulative value and latest exemplar. Allocated with its
 * bucket counts, value slices and value bytes behind it. */
typedef struct entry {
    struct entry *next; /* hash chain */
    uint64_t hash;
    double value;      /* counter: the total; histogram: the sum */
    uint64_t count;    /* histogram: observations */
    uint64_t *buckets; /* histogram: per-bucket counts (not cumulative), +Inf last */
    osp_str *values;   /* one per family label */
    int has_ex;
    uint8_t ex_trace[16];
    double ex_v;
    int64_t ex_t;
} entry;

struct osp_seriestab {
    const osp_family *f;
    entry **slots; /* hash table, nslots a power of two */
    size_t nslots;
    entry **all; /* insertion order */
    size_t n, cap;
    entry *overflow;               /* the __overflow__ series, once used */
    char *text;                    /* the names and le values below point into it */
    osp_str name;                  /* counter series name, or the _bucket name */
    osp_str sum, count;            /* histograms */
    osp_str family;                /* metadata family */
    osp_str *les;                  /* histograms: nbuckets + 1 le values, "+Inf" last */
    osp_str count_name;            /* the count family's series name (f->count_name), or empty */
    osp_metric *overflowed;        /* self-metric: observations sent to the overflow series */
    osp_metric *overflowed_counts; /* the same, under the count family's name */
};

/* ---- names ---- */

/* Appends base and suffix as one piece of text and notes where it lies (offsets become
 * slices once the text is complete). */
static int note_text(osp_buf *b, osp_str base, const char *suffix, size_t *off, size_t *len)
{
    *off = b->len;
    int rc = osp_buf_append_str(b, base);
    if (rc == 0)
        rc = osp_buf_puts(b, suffix);
    *len = b->len - *off;
    return rc;
}

/* Builds the series names, the family name and the le values into t->text. */
static int build_names(osp_seriestab *t)
{
    static const char *const suffixes[2][3] = {{"", "", ""}, {"_bucket", "_sum", "_count"}};
    const osp_family *f = t->f;
    int hist = f->kind == OSP_KIND_HISTOGRAM;
    size_t nt = 4 + (hist ? f->nbuckets + 1 : 0), off[5 + MAX_BUCKETS] = {0},
           len[5 + MAX_BUCKETS] = {0};
    osp_str base = osp_str_c(f->name), fam = base;
    osp_buf b;
    int rc;
    if (!hist && fam.n > 6 && !memcmp(fam.p + fam.n - 6, "_total", 6))
        fam.n -= 6;
    osp_buf_init(&b, 0);
    rc = note_text(&b, fam, "", &off[0], &len[0]);
    for (size_t i = 1; i < 4 && rc == 0; i++)
        rc = note_text(&b, base, suffixes[hist][i - 1], &off[i], &len[i]);
    for (size_t i = 4; i < nt && rc == 0; i++) {
        off[i] = b.len;
        rc = i - 4 < f->nbuckets ? osp_buf_float(&b, f->buckets[i - 4]) : osp_buf_puts(&b, "+Inf");
        len[i] = b.len - off[i];
    }
    if (rc == 0 && hist && !(t->les = osp_calloc(f->nbuckets + 1, sizeof *t->les)))
        rc = OSP_ENOMEM;
    if (rc == 0 && (rc = osp_buf_putc(&b, '\0')) == 0) {
        t->text = osp_buf_steal(&b, NULL);
        t->family = osp_str_make(t->text + off[0], len[0]);
        t->name = osp_str_make(t->text + off[1], len[1]);
        t->sum = osp_str_make(t->text + off[2], len[2]);
        t->count = osp_str_make(t->text + off[3], len[3]);
        for (size_t i = 4; i < nt; i++)
            t->les[i - 4] = osp_str_make(t->text + off[i], len[i]);
    }
    osp_buf_cleanup(&b);
    return rc;
}

/* The self-metric counting observations of family `name` sent to its overflow series. */
static osp_metric *overflow_metric(const char *name)
{
    char labels[256];
    snprintf(labels, sizeof labels, "metric=\"%s\"", name);
    return osp_counter("osprey_derive_overflow_total",
                       "Observations of derived series past the series limit of their "
                       "family, counted in its __overflow__ series.",
                       labels);
}

osp_seriestab *osp_seriestab_create(const osp_family *f)
{
    assert(f->nlabels <= MAX_LABELS &&
           (f->kind != OSP_KIND_HISTOGRAM || f->nbuckets <= MAX_BUCKETS));
    assert(!f->count_name || (f->kind == OSP_KIND_HISTOGRAM && strlen(f->count_name) > 6 &&
                              !strcmp(f->count_name + strlen(f->count_name) - 6, "_total")));
    osp_seriestab *t = osp_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->f = f;
    t->nslots = 64;
    t->slots = osp_calloc(t->nslots, sizeof *t->slots);
    if (!t->slots || build_names(t) != 0) {
        osp_seriestab_destroy(t);
        return NULL;
    }
    t->overflowed = overflow_metric(f->name);
    if (f->count_name) {
        t->count_name = osp_str_c(f->count_name);
        t->overflowed_counts = overflow_metric(f->count_name);
    }
    return t;
}

void osp_seriestab_destroy(osp_seriestab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        osp_free(t->all[i]);
    osp_free(t->overflow);
    osp_free(t->all);
    osp_free(t->slots);
    osp_free(t->les);
    osp_free(t->text);
    osp_free(t);
}

size_t osp_seriestab_size(const osp_seriestab *t)
{
    return t->n + (t->overflow != NULL);
}

/* ---- adding ---- */

void osp_seriestab_key_push(osp_seriestab_key *k, const osp_str *values, size_t n)
{
    for (size_t i = 0; i < n; i++, k->n++)
        k->hash = XXH3_64bits_withSeed(values[i].n ? values[i].p : "", values[i].n, k->hash + k->n);
}

static int same_values(const entry *e, const osp_str *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!osp_str_eq(e->values[i], values[i]))
            return 0;
    return 1;
}

/* A new entry holding copies of values; NULL when out of memory. */
static entry *new_entry(const osp_family *f, const osp_str *values, uint64_t hash)
{
    size_t nb = f->kind == OSP_KIND_HISTOGRAM ? f->nbuckets + 1 : 0, bytes = 0;
    for (size_t i = 0; i < f->nlabels; i++)
        bytes += values[i].n;
    entry *e =
        osp_calloc(1, sizeof *e + nb * sizeof(uint64_t) + f->nlabels * sizeof(osp_str) + bytes);
    if (!e)
        return NULL;
    e->hash = hash;
    e->buckets = (uint64_t *)(e + 1);
    e->values = (osp_str *)(e->buckets + nb);
    char *p = (char *)(e->values + f->nlabels);
    for (size_t i = 0; i < f->nlabels; i++) {
        if (values[i].n)
            memcpy(p, values[i].p, values[i].n);
        e->values[i] = osp_str_make(p, values[i].n);
        p += values[i].n;
    }
    return e;
}

/* Doubles the hash table. */
static int grow_slots(osp_seriestab *t)
{
    size_t n = t->nslots * 2;
    entry **slots = osp_calloc(n, sizeof *slots);
    if (!slots)
        return OSP_ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        entry *e = t->all[i];
        e->next = slots[e->hash & (n - 1)];
        slots[e->hash & (n - 1)] = e;
    }
    osp_free(t->slots);
    t->slots = slots;
    t->nslots = n;
    return 0;
}

/* The overflow series, created on first use. */
static entry *overflow_entry(osp_seriestab *t)
{
    osp_str values[MAX_LABELS];
    if (!t->overflow) {
        for (size_t i = 0; i < t->f->nlabels; i++)
            values[i] = OSP_STR_LIT(OVERFLOW_VALUE);
        t->overflow = new_entry(t->f, values, 0);
    }
    osp_counter_inc(t->overflowed);
    osp_counter_inc(t->overflowed_counts);
    return t->overflow;
}

/* The entry of values (of hash h), created when new; NULL when out of memory. */
static entry *find_or_add(osp_seriestab *t, const osp_str *values, uint64_t h)
{
    size_t nl = t->f->nlabels;
    for (entry *e = t->slots[h & (t->nslots - 1)]; e; e = e->next)
        if (e->hash == h && same_values(e, values, nl))
            return e;
    if (t->n >= OSP_SERIESTAB_MAX_SERIES)
        return overflow_entry(t);
    if (t->n + 1 > t->nslots && grow_slots(t) != 0)
        return NULL;
    entry **slot = osp_array_push((void **)&t->all, &t->n, &t->cap, sizeof *t->all);
    entry *e = slot ? new_entry(t->f, values, h) : NULL;
    if (!e) {
        if (slot)
            t->n--;
        return NULL;
    }
    *slot = e;
    e->next = t->slots[h & (t->nslots - 1)];
    t->slots[h & (t->nslots - 1)] = e;
    return e;
}

/* Index of the bucket v falls in: the first bound not below it, nbuckets for +Inf. */
static size_t bucket_of(const osp_family *f, double v)
{
    size_t lo = 0, hi = f->nbuckets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= f->buckets[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int osp_seriestab_add(osp_seriestab *t, const osp_str *values, double v, const uint8_t *trace_id,
                      int64_t t_ms)
{
    osp_seriestab_key k = OSP_SERIESTAB_KEY_INIT;
    osp_seriestab_key_push(&k, values, t->f->nlabels);
    return osp_seriestab_add_key(t, values, &k, v, trace_id, t_ms);
}

int osp_seriestab_add_key(osp_seriestab *t, const osp_str *values, const osp_seriestab_key *k,
                          double v, const uint8_t *trace_id, int64_t t_ms)
{
    assert(k->n == t->f->nlabels);
    entry *e = find_or_add(t, values, k->hash);
    if (!e)
        return OSP_ENOMEM;
    e->value += v;
    if (t->f->kind == OSP_KIND_HISTOGRAM) {
        e->count++;
        e->buckets[bucket_of(t->f, v)]++;
    }
    if (trace_id) {
        e->has_ex = 1;
        memcpy(e->ex_trace, trace_id, sizeof e->ex_trace);
        e->ex_v = v;
        e->ex_t = t_ms;
    }
    return 0;
}

/* ---- flushing ---- */

/* Appends one series named name (with le when le.n) of entry e's labels with one sample. */
static int put_series(osp_seriestab *t, const entry *e, osp_str name, osp_str le, int64_t t_ms,
                      double v, osp_series_batch *out)
{
    const osp_family *f = t->f;
    osp_label *labels = osp_arena_alloc(&out->arena, (f->nlabels + 2) * sizeof *labels);
    osp_sample *s = osp_arena_alloc(&out->arena, sizeof *s);
    osp_series *se = labels && s ? osp_series_batch_add(out) : NULL;
    size_t n = 0;
    if (!se)
        return OSP_ENOMEM;
    labels[n++] = (osp_label){OSP_STR_LIT(OSP_METRIC_NAME_LABEL), name};
    for (size_t i = 0; i < f->nlabels; i++)
        if (e->values[i].n)
            labels[n++] = (osp_label){osp_str_c(f->labels[i]), e->values[i]};
    if (le.n)
        labels[n++] = (osp_label){OSP_STR_LIT("le"), le};
    osp_labels_sort(labels, n);
    *s = (osp_sample){t_ms, v};
    se->labels = labels;
    se->nlabels = n;
    se->samples = s;
    se->nsamples = 1;
    return 0;
}

/* Attaches e's exemplar, with value v, to series index `series` of out. */
static int put_exemplar(const entry *e, size_t series, double v, osp_series_batch *out)
{
    char *hex = osp_arena_alloc(&out->arena, 32);
    osp_label *l = osp_arena_alloc(&out->arena, sizeof *l);
    osp_batch_exemplar *x = hex && l ? osp_series_batch_add_exemplar(out) : NULL;
    if (!x)
        return OSP_ENOMEM;
    osp_hex_encode(e->ex_trace, sizeof e->ex_trace, hex);
    *l = (osp_label){OSP_STR_LIT("trace_id"), osp_str_make(hex, 32)};
    x->series = series;
    x->ex = (osp_prom_exemplar){l, 1, v, e->ex_t};
    return 0;
}

/* The series of one entry, and its exemplar. */
static int flush_entry(osp_seriestab *t, const entry *e, int64_t t_ms, osp_series_batch *out)
{
    const osp_family *f = t->f;
    size_t first = out->nseries, ex = first;
    uint64_t acc = 0;
    int rc = 0;
    if (f->kind != OSP_KIND_HISTOGRAM) {
        rc = put_series(t, e, t->name, OSP_STR_NULL, t_ms, e->value, out);
    } else {
        for (size_t i = 0; i <= f->nbuckets && rc == 0; i++) {
            acc += e->buckets[i];
            rc = put_series(t, e, t->name, t->les[i], t_ms, (double)acc, out);
        }
        if (rc == 0)
            rc = put_series(t, e, t->sum, OSP_STR_NULL, t_ms, e->value, out);
        if (rc == 0)
            rc = put_series(t, e, t->count, OSP_STR_NULL, t_ms, (double)e->count, out);
        ex = first + bucket_of(f, e->ex_v);
    }
    if (rc == 0 && e->has_ex)
        rc = put_exemplar(e, ex, e->ex_v, out);
    return rc;
}

/* The count family's series of one entry, and its exemplar. */
static int flush_count(osp_seriestab *t, const entry *e, int64_t t_ms, osp_series_batch *out)
{
    size_t series = out->nseries;
    int rc = put_series(t, e, t->count_name, OSP_STR_NULL, t_ms, (double)e->count, out);
    if (rc == 0 && e->has_ex)
        rc = put_exemplar(e, series, 1, out);
    return rc;
}

typedef int flush_fn(osp_seriestab *t, const entry *e, int64_t t_ms, osp_series_batch *out);

/* Metadata of one family, then fn for every entry, the overflow series last. */
static int flush_family(osp_seriestab *t, osp_metric_meta meta, flush_fn *fn, int64_t t_ms,
                        osp_series_batch *out)
{
    int rc = 0;
    osp_metric_meta *m = osp_series_batch_add_meta(out);
    if (!m)
        return OSP_ENOMEM;
    *m = meta;
    for (size_t i = 0; i < t->n && rc == 0; i++)
        rc = fn(t, t->all[i], t_ms, out);
    if (rc == 0 && t->overflow)
        rc = fn(t, t->overflow, t_ms, out);
    return rc;
}

int osp_seriestab_flush(osp_seriestab *t, int64_t t_ms, osp_series_batch *out)
{
    const osp_family *f = t->f;
    int rc = 0;
    if (osp_seriestab_size(t) == 0)
        return 0;
    if (t->count_name.n) {
        osp_str fam = osp_str_make(t->count_name.p, t->count_name.n - strlen("_total"));
        rc = flush_family(
            t, (osp_metric_meta){fam, OSP_KIND_COUNTER, osp_str_c(f->count_help), OSP_STR_NULL},
            flush_count, t_ms, out);
    }
    if (rc == 0)
        rc = flush_family(
            t, (osp_metric_meta){t->family, f->kind, osp_str_c(f->help), osp_str_c(f->unit)},
            flush_entry, t_ms, out);
    return rc;
}
