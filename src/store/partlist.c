/* The part set shared by the trace and log stores: references, the list, merge picking
 * and retention (partlist.h). */
#include "store/partlist.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/partdir.h"

/* ---- References ------------------------------------------------------------------------- */

int osp_partref_create(const osp_partref_type *type, void *part, char *path,
                       const osp_partref_info *info, osp_partref **out)
{
    osp_partref *r = osp_calloc(1, type->size);
    if (!r)
        return OSP_ENOMEM;
    r->type = type;
    r->part = part;
    r->path = path;
    r->info = *info;
    atomic_init(&r->refs, 1);
    atomic_init(&r->fate, OSP_PARTREF_LIVE);
    *out = r;
    return 0;
}

osp_partref *osp_partref_acquire(osp_partref *r)
{
    atomic_fetch_add(&r->refs, 1);
    return r;
}

void osp_partref_release(osp_partref *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    r->type->close(r);
    if (atomic_load(&r->fate) == OSP_PARTREF_OBSOLETE && unlink(r->path) != 0 && errno != ENOENT)
        osp_warn(r->type->log_module, "%s: unlink: %s", r->path, strerror(errno));
    osp_free(r->path);
    osp_free(r);
}

void osp_partref_discard(osp_partref *r)
{
    atomic_store(&r->fate, OSP_PARTREF_OBSOLETE);
    osp_partref_release(r);
}

/* ---- The list --------------------------------------------------------------------------- */

void osp_partlist_init(osp_partlist *l, osp_metric *m_parts, osp_metric *m_bytes)
{
    memset(l, 0, sizeof *l);
    l->m_parts = m_parts;
    l->m_bytes = m_bytes;
}

void osp_partlist_cleanup(osp_partlist *l)
{
    while (l->n) {
        osp_partref *r = l->a[l->n - 1];
        osp_partlist_remove(l, r);
        osp_partref_release(r);
    }
    osp_free(l->a);
    l->a = NULL;
    l->cap = 0;
}

int osp_partlist_reserve(osp_partlist *l, size_t more)
{
    if (l->n + more <= l->cap)
        return 0;
    size_t cap = l->cap ? l->cap : 16;
    while (cap < l->n + more)
        cap *= 2;
    osp_partref **a = osp_realloc(l->a, cap * sizeof *a);
    if (!a)
        return OSP_ENOMEM;
    l->a = a;
    l->cap = cap;
    return 0;
}

int osp_partlist_push(osp_partlist *l, osp_partref *r)
{
    int rc = osp_partlist_reserve(l, 1);
    if (rc)
        return rc;
    l->a[l->n++] = r;
    if (r->info.wal_lsn > l->max_lsn)
        l->max_lsn = r->info.wal_lsn;
    osp_gauge_add(l->m_parts, 1);
    osp_gauge_add(l->m_bytes, (double)r->info.bytes);
    return 0;
}

int osp_partlist_remove(osp_partlist *l, osp_partref *r)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->a[i] != r)
            continue;
        l->a[i] = l->a[--l->n];
        osp_gauge_add(l->m_parts, -1);
        osp_gauge_add(l->m_bytes, -(double)r->info.bytes);
        return 1;
    }
    return 0;
}

int osp_partlist_snapshot(const osp_partlist *l, osp_partref ***out, size_t *n)
{
    osp_partref **a = osp_malloc((l->n + 1) * sizeof *a);
    *out = a;
    *n = 0;
    if (!a)
        return OSP_ENOMEM;
    for (size_t i = 0; i < l->n; i++)
        a[i] = osp_partref_acquire(l->a[i]);
    *n = l->n;
    return 0;
}

void osp_partlist_snapshot_release(osp_partref **a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        osp_partref_release(a[i]);
    osp_free(a);
}

int osp_partlist_day_used(void *ctx, uint32_t day)
{
    const osp_partlist *l = ctx;
    for (size_t i = 0; i < l->n; i++)
        if (l->a[i]->info.day == day)
            return 1;
    return 0;
}

/* 1 when a part other than r lists r's seq among the parts it was merged from. */
static int replaced_by_other(const osp_partlist *l, const osp_partref *r)
{
    for (size_t i = 0; i < l->n; i++) {
        const osp_partref_info *info = &l->a[i]->info;
        for (size_t k = 0; k < info->nreplaces && l->a[i] != r; k++)
            if (info->replaces[k] == r->info.seq)
                return 1;
    }
    return 0;
}

void osp_partlist_drop_replaced(osp_partlist *l, uint64_t *next_seq)
{
    for (size_t i = 0; i < l->n; i++) {
        const osp_partref_info *info = &l->a[i]->info;
        for (size_t k = 0; k < info->nreplaces; k++)
            if (info->replaces[k] >= *next_seq)
                *next_seq = info->replaces[k] + 1;
    }
    for (size_t j = 0; j < l->n;) {
        osp_partref *old = l->a[j];
        if (!replaced_by_other(l, old)) {
            j++;
            continue;
        }
        osp_info(old->type->log_module, "%s: already merged into another part, removing",
                 old->path);
        osp_partlist_remove(l, old); /* moves the last entry to j, which is looked at next */
        osp_partref_discard(old);
    }
}

int osp_partlist_quarantine(osp_partlist *l, pthread_mutex_t *lock, osp_partref *r,
                            const char *qdir, const char *what)
{
    pthread_mutex_lock(lock);
    int mine = osp_partlist_remove(l, r);
    if (mine) {
        atomic_store(&r->fate, OSP_PARTREF_QUARANTINED);
        osp_partdir_quarantine(r->path, qdir, r->info.day, what, r->type->log_module);
    }
    pthread_mutex_unlock(lock);
    if (mine)
        osp_partref_release(r);
    return mine;
}

int osp_partlist_replace(osp_partlist *l, pthread_mutex_t *lock, osp_partref *out, osp_partref **in,
                         size_t k)
{
    uint8_t *gone = osp_calloc(k + 1, 1);
    int rc = gone ? 0 : OSP_ENOMEM;
    pthread_mutex_lock(lock);
    if (rc == 0)
        rc = osp_partlist_push(l, out);
    for (size_t i = 0; i < k && rc == 0; i++)
        if ((gone[i] = (uint8_t)osp_partlist_remove(l, in[i])))
            atomic_store(&in[i]->fate, OSP_PARTREF_OBSOLETE);
    pthread_mutex_unlock(lock);
    for (size_t i = 0; gone && i < k; i++)
        if (gone[i])
            osp_partref_release(in[i]);
    if (rc)
        osp_partref_discard(out);
    osp_free(gone);
    return rc;
}

size_t osp_partlist_expire(osp_partlist *l, pthread_mutex_t *lock, uint64_t retention_ns,
                           uint64_t now_ns, const char *what)
{
    size_t dropped = 0;
    if (!retention_ns || now_ns <= retention_ns)
        return 0;
    uint64_t cutoff = now_ns - retention_ns;
    pthread_mutex_lock(lock);
    for (size_t i = 0; i < l->n;) {
        uint32_t day = l->a[i]->info.day;
        uint64_t newest = 0;
        for (size_t j = 0; j < l->n; j++)
            if (l->a[j]->info.day == day && l->a[j]->info.max_time > newest)
                newest = l->a[j]->info.max_time;
        if (newest >= cutoff) {
            i++;
            continue;
        }
        char dname[OSP_PART_DAY_DIGITS + 1];
        osp_partdir_day_name(day, dname);
        osp_info(l->a[i]->type->log_module, "%s %s is past the retention, dropping it", what,
                 dname);
        for (size_t j = l->n; j-- > 0;) {
            osp_partref *r = l->a[j];
            if (r->info.day != day)
                continue;
            osp_partlist_remove(l, r);
            osp_partref_discard(r); /* unlinks now unless readers still hold the part */
            dropped++;
        }
        i = 0;
    }
    pthread_mutex_unlock(lock);
    return dropped;
}

/* ---- Merge picking ---------------------------------------------------------------------- */

/* A part's tier, or INT_MAX for parts too large to merge again. */
static int merge_tier(const osp_merge_policy *p, uint64_t rows)
{
    int t = 0;
    if (rows > p->max_rows / 2)
        return INT_MAX;
    for (rows /= p->base_rows; rows; rows /= p->fanin)
        t++;
    return t;
}

/* Day, then tier, then age (min_time). */
static int cmp_day_tier_age(const void *a, const void *b, void *ctx)
{
    const osp_partref_info *x = &(*(osp_partref *const *)a)->info;
    const osp_partref_info *y = &(*(osp_partref *const *)b)->info;
    int tx = merge_tier(ctx, x->rows), ty = merge_tier(ctx, y->rows);
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    if (tx != ty)
        return tx < ty ? -1 : 1;
    return (x->min_time > y->min_time) - (x->min_time < y->min_time);
}

size_t osp_partlist_pick_merge(const osp_merge_policy *policy, osp_partref **a, size_t n,
                               size_t *first)
{
    qsort_r(a, n, sizeof *a, cmp_day_tier_age, (void *)policy);
    for (size_t i = 0, j; i < n; i = j) {
        int tier = merge_tier(policy, a[i]->info.rows);
        size_t k = 0;
        uint64_t rows = 0;
        for (j = i + 1; j < n && a[j]->info.day == a[i]->info.day &&
                        merge_tier(policy, a[j]->info.rows) == tier;)
            j++;
        while (tier != INT_MAX && k < j - i && k < policy->max_parts &&
               (rows += a[i + k]->info.rows) <= policy->max_rows)
            k++;
        if (j - i >= policy->min_parts && k >= 2) {
            *first = i;
            return k;
        }
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

size_t osp_partlist_merge_backlog(const osp_merge_policy *policy, const osp_partlist *l)
{
    uint32_t *days = osp_malloc((l->n + 1) * sizeof *days);
    size_t n = 0, most = 0;
    if (!days)
        return 0; /* out of memory: flushes go on rather than wait on a count */
    for (size_t i = 0; i < l->n; i++)
        if (merge_tier(policy, l->a[i]->info.rows) != INT_MAX)
            days[n++] = l->a[i]->info.day;
    qsort(days, n, sizeof *days, cmp_u32);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && days[j] == days[i];)
            j++;
        most = j - i > most ? j - i : most;
    }
    osp_free(days);
    return most;
}

int osp_partlist_merges_behind(const osp_merge_policy *policy, const osp_partlist *l, size_t max,
                               int *waiting, const char *log_module)
{
    size_t backlog = osp_partlist_merge_backlog(policy, l);
    int behind = backlog > max;
    if (behind && !*waiting)
        osp_warn(log_module,
                 "flushes wait for merges: %zu parts of one day await merging (at most %zu)",
                 backlog, max);
    else if (!behind && *waiting)
        osp_info(log_module, "merges caught up (%zu parts await merging); flushes resume", backlog);
    *waiting = behind;
    return behind;
}
