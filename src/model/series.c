/* Series batches and label-set helpers (model/series.h). */
#include "model/series.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <xxhash.h>

#include "core/mem.h"

static uint64_t key_seed;
static pthread_once_t key_seed_once = PTHREAD_ONCE_INIT;

static void key_seed_init(void)
{
    if (getrandom(&key_seed, sizeof key_seed, 0) != (ssize_t)sizeof key_seed) {
        struct timespec ts; /* no entropy source: still differs per process start */
        clock_gettime(CLOCK_REALTIME, &ts);
        key_seed = XXH3_64bits(&ts, sizeof ts) ^ (uint64_t)(uintptr_t)&ts;
    }
}

osp_series_key osp_series_key_of(enum osp_key_encoding enc, const void *p, size_t n)
{
    pthread_once(&key_seed_once, key_seed_init);
    XXH128_hash_t h = XXH3_128bits_withSeed(n ? p : "", n, key_seed + (uint64_t)enc);
    osp_series_key k = {h.low64, h.high64};
    if ((k.lo | k.hi) == 0)
        k.lo = 1;
    return k;
}

int osp_is_stale_nan(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == OSP_STALE_NAN_BITS;
}

double osp_stale_nan(void)
{
    uint64_t bits = OSP_STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

const char *osp_metric_kind_name(int kind)
{
    static const char *const names[] = {"unknown", "counter", "gauge",  "histogram",
                                        "gaugehistogram", "summary", "info", "stateset"};
    if (kind < 0 || (size_t)kind >= sizeof names / sizeof names[0])
        return "unknown";
    return names[kind];
}

void osp_series_batch_init(osp_series_batch *b)
{
    memset(b, 0, sizeof *b);
    osp_arena_init(&b->arena, 0, 0);
}

void osp_series_batch_cleanup(osp_series_batch *b)
{
    osp_free(b->series);
    osp_free(b->meta);
    osp_free(b->exemplars);
    osp_arena_cleanup(&b->arena);
    osp_series_batch_init(b);
}

void osp_series_batch_reset(osp_series_batch *b)
{
    b->nseries = 0;
    b->nmeta = 0;
    b->nexemplars = 0;
    osp_arena_cleanup(&b->arena);
}

osp_series *osp_series_batch_add(osp_series_batch *b)
{
    return osp_array_push((void **)&b->series, &b->nseries, &b->series_cap, sizeof *b->series);
}

osp_metric_meta *osp_series_batch_add_meta(osp_series_batch *b)
{
    return osp_array_push((void **)&b->meta, &b->nmeta, &b->meta_cap, sizeof *b->meta);
}

osp_batch_exemplar *osp_series_batch_add_exemplar(osp_series_batch *b)
{
    return osp_array_push((void **)&b->exemplars, &b->nexemplars, &b->exemplars_cap,
                          sizeof *b->exemplars);
}

size_t osp_series_batch_samples(const osp_series_batch *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->nseries; i++)
        n += b->series[i].nsamples + b->series[i].nhsamples;
    return n;
}

static int cmp_label_name(const void *a, const void *b)
{
    return osp_str_cmp(((const osp_label *)a)->name, ((const osp_label *)b)->name);
}

void osp_labels_sort(osp_label *labels, size_t n)
{
    if (n > 1)
        qsort(labels, n, sizeof *labels, cmp_label_name);
}

int osp_labels_compare(const osp_label *a, size_t na, const osp_label *b, size_t nb)
{
    size_t n = na < nb ? na : nb;
    for (size_t i = 0; i < n; i++) {
        int c = osp_str_cmp(a[i].name, b[i].name);
        if (c)
            return c;
        c = osp_str_cmp(a[i].value, b[i].value);
        if (c)
            return c;
    }
    return na < nb ? -1 : na > nb;
}

osp_str osp_labels_get(const osp_label *labels, size_t n, osp_str name)
{
    for (size_t i = 0; i < n; i++)
        if (osp_str_eq(labels[i].name, name))
            return labels[i].value;
    return (osp_str){"", 0};
}

void osp_labels_format(char *out, size_t cap, const osp_label *labels, size_t n)
{
    osp_str name = osp_labels_get(labels, n, OSP_STR_LIT(OSP_METRIC_NAME_LABEL));
    size_t k = (size_t)snprintf(out, cap, "%.*s{", OSP_STR_FMT(name));
    int first = 1;
    for (size_t i = 0; i < n && k < cap; i++) {
        if (osp_str_eqz(labels[i].name, OSP_METRIC_NAME_LABEL))
            continue;
        k += (size_t)snprintf(out + k, cap - k, "%s%.*s=\"%.*s\"", first ? "" : ",",
                              OSP_STR_FMT(labels[i].name), OSP_STR_FMT(labels[i].value));
        first = 0;
    }
    if (k < cap)
        snprintf(out + k, cap - k, "}");
}
