/* Metrics registry: an append-only list guarded by a mutex for registration; values are
 * atomics so the hot path never locks. */
#include "core/metrics.h"

#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

enum kind { COUNTER, GAUGE, HISTOGRAM };

struct osp_metric {
    osp_metric *next;
    enum kind kind;
    const char *name, *help;
    char *labels;
    _Atomic uint64_t count; /* counter value; histogram observation count */
    _Atomic double value;   /* gauge value; histogram sum */
    size_t nbounds;
    double *bounds;
    _Atomic uint64_t *buckets; /* nbounds + 1, non-cumulative */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static osp_metric *registry_head, *registry_tail;

static osp_metric *lookup_or_add(enum kind kind, const char *name, const char *help,
                                 const char *labels, const double *bounds, size_t nbounds)
{
    osp_metric *m;
    pthread_mutex_lock(&registry_lock);
    for (m = registry_head; m; m = m->next)
        if (m->kind == kind && !strcmp(m->name, name) && !strcmp(m->labels, labels))
            goto out;
    m = osp_calloc(1, sizeof *m);
    if (!m)
        goto out;
    m->kind = kind;
    m->name = name;
    m->help = help;
    m->labels = osp_strdup(labels);
    if (kind == HISTOGRAM) {
        m->nbounds = nbounds;
        m->bounds = osp_malloc(nbounds * sizeof *bounds + 1);
        m->buckets = osp_calloc(nbounds + 1, sizeof *m->buckets);
        if (m->bounds)
            memcpy(m->bounds, bounds, nbounds * sizeof *bounds);
    }
    if (!m->labels || (kind == HISTOGRAM && (!m->bounds || !m->buckets))) {
        osp_free(m->labels);
        osp_free(m->bounds);
        osp_free(m->buckets);
        osp_free(m);
        m = NULL;
        goto out;
    }
    /* Keep series of one name adjacent so rendering can group them. */
    osp_metric *after = NULL;
    for (osp_metric *it = registry_head; it; it = it->next)
        if (!strcmp(it->name, name))
            after = it;
    if (after) {
        m->next = after->next;
        after->next = m;
        if (registry_tail == after)
            registry_tail = m;
    } else if (registry_tail) {
        registry_tail->next = m;
        registry_tail = m;
    } else {
        registry_head = registry_tail = m;
    }
out:
    pthread_mutex_unlock(&registry_lock);
    return m;
}

osp_metric *osp_counter(const char *name, const char *help, const char *labels)
{
    return lookup_or_add(COUNTER, name, help, labels, NULL, 0);
}

osp_metric *osp_gauge(const char *name, const char *help, const char *labels)
{
    return lookup_or_add(GAUGE, name, help, labels, NULL, 0);
}

osp_metric *osp_metric_histogram(const char *name, const char *help, const char *labels,
                                 const double *bounds, size_t nbounds)
{
    return lookup_or_add(HISTOGRAM, name, help, labels, bounds, nbounds);
}

void osp_counter_add(osp_metric *m, uint64_t n)
{
    if (m)
        atomic_fetch_add_explicit(&m->count, n, memory_order_relaxed);
}

void osp_gauge_set(osp_metric *m, double v)
{
    if (m)
        atomic_store_explicit(&m->value, v, memory_order_relaxed);
}

static void atomic_add_double(_Atomic double *a, double d)
{
    double old = atomic_load_explicit(a, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(a, &old, old + d))
        ;
}

void osp_gauge_add(osp_metric *m, double delta)
{
    if (m)
        atomic_add_double(&m->value, delta);
}

void osp_histogram_observe(osp_metric *m, double v)
{
    if (!m || m->kind != HISTOGRAM)
        return;
    size_t i = 0;
    while (i < m->nbounds && v > m->bounds[i])
        i++;
    atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
    atomic_add_double(&m->value, v);
}

double osp_metric_value(const osp_metric *m)
{
    if (!m)
        return 0;
    if (m->kind == GAUGE)
        return atomic_load(&((osp_metric *)m)->value);
    return (double)atomic_load(&((osp_metric *)m)->count);
}

/* Shortest decimal text that reads back as v ("0.0005", not "0.00050000000000000001"). */
static const char *shortest(double v, char out[32])
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return out;
}

static int put_value(osp_buf *out, const char *name, const char *suffix, const char *labels,
                     const char *extra, double v)
{
    char num[32];
    int rc = osp_buf_printf(out, "%s%s", name, suffix);
    if (rc == 0 && (labels[0] || extra[0]))
        rc = osp_buf_printf(out, "{%s%s%s}", labels, labels[0] && extra[0] ? "," : "", extra);
    if (rc == 0)
        rc = isinf(v) ? osp_buf_puts(out, v > 0 ? " +Inf\n" : " -Inf\n")
                      : osp_buf_printf(out, " %s\n", shortest(v, num));
    return rc;
}

int osp_metrics_render(osp_buf *out)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    int rc = 0;
    const char *last = "";
    pthread_mutex_lock(&registry_lock);
    for (osp_metric *m = registry_head; m && rc == 0; m = m->next) {
        if (strcmp(last, m->name))
            rc = osp_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                                types[m->kind]);
        last = m->name;
        if (rc)
            break;
        if (m->kind == COUNTER)
            rc = put_value(out, m->name, "", m->labels, "", (double)atomic_load(&m->count));
        else if (m->kind == GAUGE)
            rc = put_value(out, m->name, "", m->labels, "", atomic_load(&m->value));
        else {
            uint64_t cum = 0;
            char le[64], num[32];
            for (size_t i = 0; i <= m->nbounds && rc == 0; i++) {
                cum += atomic_load(&m->buckets[i]);
                if (i < m->nbounds)
                    snprintf(le, sizeof le, "le=\"%s\"", shortest(m->bounds[i], num));
                else
                    snprintf(le, sizeof le, "le=\"+Inf\"");
                rc = put_value(out, m->name, "_bucket", m->labels, le, (double)cum);
            }
            if (rc == 0)
                rc = put_value(out, m->name, "_sum", m->labels, "", atomic_load(&m->value));
            if (rc == 0)
                rc = put_value(out, m->name, "_count", m->labels, "",
                               (double)atomic_load(&m->count));
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return rc;
}
