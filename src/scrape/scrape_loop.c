/* One scrape of one target turned into a series batch: parsing, target labels, metric
 * relabeling, sample_limit, staleness markers and the report series, as Prometheus does. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "core/err.h"
#include "core/mem.h"
#include "proto/promtext.h"
#include "scrape/scraper_int.h"

#define KEY_SEP '\xff' /* cannot occur in valid UTF-8, so keys are unambiguous */

static void set_init(osp__series_set *s)
{
    memset(s, 0, sizeof *s);
    osp_arena_init(&s->arena, 0, 0);
}

static void set_cleanup(osp__series_set *s)
{
    osp_free(s->slots);
    osp_arena_cleanup(&s->arena);
    memset(s, 0, sizeof *s);
}

static void set_clear(osp__series_set *s)
{
    if (s->slots)
        memset(s->slots, 0, s->cap * sizeof *s->slots);
    s->n = 0;
    osp_arena_cleanup(&s->arena);
}

static osp__series_entry *set_find(const osp__series_set *s, uint64_t h, const char *key,
                                   size_t len)
{
    if (!s->cap)
        return NULL;
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        osp__series_entry *e = &s->slots[i];
        if (!e->key)
            return NULL;
        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
}

static void set_place(osp__series_entry *slots, size_t cap, const osp__series_entry *e)
{
    size_t i = e->hash & (cap - 1);
    while (slots[i].key)
        i = (i + 1) & (cap - 1);
    slots[i] = *e;
}

/* Adds a key known to be absent, copying it into the set's arena. 0 or OSP_ENOMEM. */
static int set_add(osp__series_set *s, uint64_t h, const char *key, size_t len, int live)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        osp__series_entry *slots = osp_calloc(cap, sizeof *slots);
        if (!slots)
            return OSP_ENOMEM;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i].key)
                set_place(slots, cap, &s->slots[i]);
        osp_free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    osp__series_entry e = {h, osp_arena_memdup(&s->arena, key, len), len, live};
    if (!e.key)
        return OSP_ENOMEM;
    set_place(s->slots, s->cap, &e);
    s->n++;
    return 0;
}

void osp__scrape_cache_init(osp__scrape_cache *c)
{
    set_init(&c->sets[0]);
    set_init(&c->sets[1]);
    c->prev = &c->sets[0];
    c->cur = &c->sets[1];
    c->scraped = 0;
}

void osp__scrape_cache_cleanup(osp__scrape_cache *c)
{
    set_cleanup(&c->sets[0]);
    set_cleanup(&c->sets[1]);
}

/* name 0xff value 0xff ... of a sorted label set. */
static int labels_key(osp_buf *key, const osp_label *ls, size_t n)
{
    int rc = 0;
    osp_buf_reset(key);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = osp_buf_append_str(key, ls[i].name);
        if (rc == 0)
            rc = osp_buf_putc(key, KEY_SEP);
        if (rc == 0)
            rc = osp_buf_append_str(key, ls[i].value);
        if (rc == 0)
            rc = osp_buf_putc(key, KEY_SEP);
    }
    return rc;
}

/* Rebuilds the labels of a key into arena; the slices point into the key. */
static osp_label *key_labels(osp_arena *a, const char *key, size_t len, size_t *n)
{
    size_t seps = 0;
    for (size_t i = 0; i < len; i++)
        seps += key[i] == KEY_SEP;
    osp_label *ls = osp_arena_alloc(a, (seps / 2 + 1) * sizeof *ls);
    if (!ls)
        return NULL;
    const char *p = key, *end = key + len;
    *n = 0;
    while (p < end) {
        const char *q = memchr(p, KEY_SEP, (size_t)(end - p));
        const char *r = memchr(q + 1, KEY_SEP, (size_t)(end - q - 1));
        ls[*n].name = osp_str_make(p, (size_t)(q - p));
        ls[*n].value = osp_str_make(q + 1, (size_t)(r - q - 1));
        (*n)++;
        p = r + 1;
    }
    return ls;
}

static int add_sample(osp_series_batch *b, osp_label *ls, size_t n, int64_t t_ms, double v)
{
    osp_series *s = osp_series_batch_add(b);
    osp_sample *smp = osp_arena_alloc(&b->arena, sizeof *smp);
    if (!s || !smp)
        return OSP_ENOMEM;
    *smp = (osp_sample){t_ms, v};
    s->labels = ls;
    s->nlabels = n;
    s->samples = smp;
    s->nsamples = 1;
    return 0;
}

/* Staleness markers for the live entries of prev that are not in cur (NULL: all of them). */
static int add_stale(osp_series_batch *b, const osp__series_set *prev, const osp__series_set *cur,
                     int64_t t_ms)
{
    for (size_t i = 0; i < prev->cap; i++) {
        const osp__series_entry *e = &prev->slots[i];
        if (!e->key || !e->live || (cur && set_find(cur, e->hash, e->key, e->len)))
            continue;
        size_t n;
        osp_label *ls = key_labels(&b->arena, e->key, e->len, &n);
        if (!ls || add_sample(b, ls, n, t_ms, osp_stale_nan()) != 0)
            return OSP_ENOMEM;
    }
    return 0;
}

static const char *const report_names[] = {
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
};
#define NREPORT (sizeof report_names / sizeof report_names[0])

/* The report series: the target labels with __name__ (target labels win, so no conflict can
 * arise: no target label starts with "__"). */
static int add_report(osp_series_batch *b, const osp__target *t, int64_t t_ms,
                      const double v[NREPORT])
{
    for (size_t i = 0; i < NREPORT; i++) {
        osp_label *ls = osp_arena_alloc(&b->arena, (t->nlabels + 1) * sizeof *ls);
        if (!ls)
            return OSP_ENOMEM;
        ls[0] = (osp_label){OSP_STR_LIT(OSP_METRIC_NAME_LABEL), osp_str_c(report_names[i])};
        memcpy(ls + 1, t->labels, t->nlabels * sizeof *ls);
        osp_labels_sort(ls, t->nlabels + 1);
        if (add_sample(b, ls, t->nlabels + 1, t_ms, v[i]) != 0)
            return OSP_ENOMEM;
    }
    return 0;
}

/* A label set being mutated: names unique, capacity fixed by the caller. */
typedef struct lset {
    osp_label *a;
    size_t n, cap;
} lset;

static osp_str ls_get(const lset *s, osp_str name)
{
    for (size_t i = 0; i < s->n; i++)
        if (osp_str_eq(s->a[i].name, name))
            return s->a[i].value;
    return OSP_STR_NULL;
}

static int ls_has(const lset *s, osp_str name)
{
    for (size_t i = 0; i < s->n; i++)
        if (osp_str_eq(s->a[i].name, name))
            return 1;
    return 0;
}

static void ls_set(lset *s, osp_str name, osp_str value)
{
    for (size_t i = 0; i < s->n; i++) {
        if (osp_str_eq(s->a[i].name, name)) {
            s->a[i].value = value;
            return;
        }
    }
    if (s->n < s->cap)
        s->a[s->n++] = (osp_label){name, value};
}

/* Attaches the target labels as mutateSampleLabels does: with honor_labels the exposed label
 * wins; otherwise the target label wins and a clashing exposed value moves to
 * exported_<name> (prefixed again while taken), shorter names first. */
static int attach_target_labels(lset *s, const osp__target *t, int honor, osp_arena *a)
{
    if (honor) {
        for (size_t i = 0; i < t->nlabels; i++)
            if (!ls_has(s, t->labels[i].name))
                ls_set(s, t->labels[i].name, t->labels[i].value);
        return 0;
    }
    osp_label conflict[64];
    size_t nc = 0;
    for (size_t i = 0; i < t->nlabels; i++) {
        osp_str v = ls_get(s, t->labels[i].name);
        if (v.n && nc < sizeof conflict / sizeof conflict[0])
            conflict[nc++] = (osp_label){t->labels[i].name, v};
        ls_set(s, t->labels[i].name, t->labels[i].value);
    }
    for (size_t i = 1; i < nc; i++) /* stable, by name length */
        for (size_t j = i; j > 0 && conflict[j - 1].name.n > conflict[j].name.n; j--) {
            osp_label tmp = conflict[j];
            conflict[j] = conflict[j - 1];
            conflict[j - 1] = tmp;
        }
    for (size_t i = 0; i < nc; i++) {
        osp_str name = conflict[i].name;
        do {
            char *p = osp_arena_alloc(a, name.n + 9);
            if (!p)
                return OSP_ENOMEM;
            memcpy(p, "exported_", 9);
            memcpy(p + 9, name.p, name.n);
            name = osp_str_make(p, name.n + 9);
        } while (ls_get(s, name).n);
        ls_set(s, name, conflict[i].value);
    }
    return 0;
}

static int metric_name_valid(osp_str z)
{
    if (z.n == 0)
        return 0;
    for (size_t i = 0; i < z.n; i++) {
        char c = z.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

static int kind_of(osp_promtext_type t)
{
    switch (t) {
    case OSP_PROMTEXT_COUNTER:
        return OSP_KIND_COUNTER;
    case OSP_PROMTEXT_GAUGE:
        return OSP_KIND_GAUGE;
    case OSP_PROMTEXT_HISTOGRAM:
        return OSP_KIND_HISTOGRAM;
    case OSP_PROMTEXT_GAUGEHISTOGRAM:
        return OSP_KIND_GAUGEHISTOGRAM;
    case OSP_PROMTEXT_SUMMARY:
        return OSP_KIND_SUMMARY;
    case OSP_PROMTEXT_INFO:
        return OSP_KIND_INFO;
    case OSP_PROMTEXT_STATESET:
        return OSP_KIND_STATESET;
    default:
        return OSP_KIND_UNKNOWN;
    }
}

/* The metadata entry of family name: the last one when it matches, else a new one. */
static osp_metric_meta *meta_for(osp_series_batch *b, osp_str name)
{
    if (b->nmeta && osp_str_eq(b->meta[b->nmeta - 1].family, name))
        return &b->meta[b->nmeta - 1];
    osp_metric_meta *m = osp_series_batch_add_meta(b);
    if (m)
        m->family = name;
    return m;
}

typedef struct counts {
    size_t total, added, series_added;
} counts;

/* Parses the body into b and c->cur. A scrape failure (parse error, bad label set, sample
 * limit) is reported in serr; the return value is 0 or OSP_ENOMEM. */
static int append_body(osp__target *t, const osp_scrape_job *job, uint64_t sample_limit,
                       const osp__scrape_input *in, osp_series_batch *b, counts *cnt, char *serr,
                       size_t serrlen)
{
    osp__scrape_cache *c = &t->cache;
    osp_promtext p;
    osp_promtext_entry e;
    osp_buf key;
    uint64_t nsamples = 0;
    int limit_hit = 0, r, rc = 0;

    osp_buf_init(&key, 0);
    osp_promtext_init(&p, in->body, osp_promtext_format_from_content_type(in->content_type),
                      &b->arena, 0, 0);
    while ((r = osp_promtext_next(&p, &e)) == 1) {
        if (e.kind == OSP_PROMTEXT_HELP || e.kind == OSP_PROMTEXT_TYPE ||
            e.kind == OSP_PROMTEXT_UNIT) {
            osp_metric_meta *m = meta_for(b, e.name);
            if (!m) {
                rc = OSP_ENOMEM;
                goto out;
            }
            if (e.kind == OSP_PROMTEXT_HELP)
                m->help = e.text;
            else if (e.kind == OSP_PROMTEXT_UNIT)
                m->unit = e.text;
            else
                m->kind = kind_of(e.type);
            continue;
        }
        if (e.kind != OSP_PROMTEXT_SAMPLE)
            continue;
        cnt->total++;

        int explicit_ts = job->honor_timestamps && e.has_ts;
        int64_t ts = explicit_ts ? e.t_ms : in->t_ms;
        size_t cap = e.nlabels + 2 * t->nlabels + 1;
        lset s = {osp_arena_alloc(&b->arena, cap * sizeof(osp_label)), 0, cap};
        if (!s.a) {
            rc = OSP_ENOMEM;
            goto out;
        }
        ls_set(&s, OSP_STR_LIT(OSP_METRIC_NAME_LABEL), e.name);
        for (size_t i = 0; i < e.nlabels; i++)
            ls_set(&s, e.labels[i].name, e.labels[i].value);
        if ((rc = attach_target_labels(&s, t, job->honor_labels, &b->arena)) != 0)
            goto out;
        osp_label *ls;
        size_t n;
        int keep;
        if ((rc = osp_relabel_apply(job->metric_relabel_configs, job->nmetric_relabel_configs, s.a,
                                    s.n, &b->arena, &ls, &n, &keep)) != 0)
            goto out;
        if (!keep || n == 0)
            continue;
        osp_str name = osp_labels_get(ls, n, OSP_STR_LIT(OSP_METRIC_NAME_LABEL));
        if (name.n == 0) {
            snprintf(serr, serrlen, "missing metric name (__name__ label)");
            goto out;
        }
        int valid = metric_name_valid(name);
        for (size_t i = 0; i < n && valid; i++)
            valid = osp_label_name_valid(ls[i].name);
        if (!valid) {
            snprintf(serr, serrlen, "invalid metric name or label names: %.*s", OSP_STR_FMT(name));
            goto out;
        }
        if ((rc = labels_key(&key, ls, n)) != 0)
            goto out;
        uint64_t h = XXH3_64bits(key.data, key.len);
        int seen = set_find(c->cur, h, key.data, key.len) != NULL;
        cnt->added++;
        if (seen && !explicit_ts)
            continue; /* duplicate sample for timestamp: dropped, as Prometheus does */
        if (sample_limit && !osp_is_stale_nan(e.value) && ++nsamples > sample_limit) {
            limit_hit = 1;
            continue; /* keep counting what was scraped */
        }
        if ((rc = add_sample(b, ls, n, ts, e.value)) != 0)
            goto out;
        if (seen)
            continue;
        if ((rc = set_add(c->cur, h, key.data, key.len, !explicit_ts)) != 0)
            goto out;
        if (!limit_hit && !set_find(c->prev, h, key.data, key.len))
            cnt->series_added++;
    }
    if (r < 0) {
        if (r == OSP_ENOMEM)
            rc = r;
        else
            snprintf(serr, serrlen, "%s", p.err);
    } else if (limit_hit) {
        snprintf(serr, serrlen, "sample limit exceeded");
    }
out:
    osp_buf_cleanup(&key);
    return rc;
}

int osp__scrape_batch(osp__target *t, const osp_scrape_job *job, uint64_t sample_limit,
                      const osp__scrape_input *in, osp_series_batch *b, int *up, char *err,
                      size_t errlen)
{
    osp__scrape_cache *c = &t->cache;
    counts cnt = {0, 0, 0};
    struct timespec now;
    int rc = 0;

    err[0] = '\0';
    set_clear(c->cur);
    if (in->error)
        snprintf(err, errlen, "%s", in->error);
    else if ((rc = append_body(t, job, sample_limit, in, b, &cnt, err, errlen)) != 0)
        return rc;

    if (err[0]) {
        /* A failed scrape is an empty one: everything of the last scrape goes stale. */
        osp_series_batch_reset(b);
        set_clear(c->cur);
        if ((rc = add_stale(b, c->prev, NULL, in->t_ms)) != 0)
            return rc;
        for (size_t i = 0; i < c->prev->cap; i++)
            c->prev->slots[i].live = 0;
    } else {
        if ((rc = add_stale(b, c->prev, c->cur, in->t_ms)) != 0)
            return rc;
        osp__series_set *tmp = c->prev;
        c->prev = c->cur;
        c->cur = tmp;
    }
    *up = err[0] == '\0';
    c->scraped = 1;

    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t dur_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - in->start_ns;
    double v[NREPORT] = {*up, (double)dur_ns / 1e9, (double)cnt.total, (double)cnt.added,
                         (double)cnt.series_added};
    return add_report(b, t, in->t_ms, v);
}

int osp__scrape_batch_stale(osp__target *t, int64_t t_ms, osp_series_batch *b)
{
    double v[NREPORT];
    int rc;

    if (!t->cache.scraped)
        return 0;
    if ((rc = add_stale(b, t->cache.prev, NULL, t_ms)) != 0)
        return rc;
    for (size_t i = 0; i < NREPORT; i++)
        v[i] = osp_stale_nan();
    return add_report(b, t, t_ms, v);
}
