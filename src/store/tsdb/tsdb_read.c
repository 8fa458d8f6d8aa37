/* The engine's read paths: select and series over blocks and head, label names and
 * values, metadata, and stats. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/tsdb/block.h"
#include "store/tsdb/tsdb_int.h"

#define MOD "tsdb"

/* ---- reads ------------------------------------------------------------------------------- */

/* Every sample of series id in [mint, maxt], float or histogram, one per timestamp, newest
 * write winning; histograms decoded into arena (not decoded when NULL). Caller holds rw
 * shared. */
static int gather(osp_tsdb *db, uint64_t id, int64_t mint, int64_t maxt, osp_arena *arena,
                  osp__svec *v)
{
    int rc = 0;
    v->n = 0;
    for (size_t i = 0; i < db->nblocks && rc == 0; i++) {
        osp__blk *k = db->blocks[i];
        const osp_block_info *bi = osp_block_get_info(k->b);
        if (bi->maxt < mint || bi->mint > maxt)
            continue;
        int64_t j = osp__blk_find(k, id);
        if (j >= 0)
            rc = osp__push_block_series(k->b, (size_t)j, mint, maxt, (uint32_t)(2 * i), arena, v);
        if (rc == OSP_ECORRUPT)
            osp_error(MOD, "%s: corrupt chunk", k->path);
    }
    osp__hseries *h = rc ? NULL : osp__head_get(&db->head, id, false);
    if (h) {
        uint32_t base = (uint32_t)(2 * db->nblocks);
        pthread_mutex_t *lock = osp__head_lock(&db->head, id);
        pthread_mutex_lock(lock);
        if (db->frozen)
            rc = osp__hdata_collect(h->d[!db->gen], mint, maxt, base, arena, v);
        if (rc == 0)
            rc = osp__hdata_collect(h->d[db->gen], mint, maxt, base + 2, arena, v);
        pthread_mutex_unlock(lock);
    }
    osp__svec_settle(v);
    return rc;
}

/* Gives s the samples of v, floats and histograms apart, in arena. 0 or OSP_ENOMEM. */
static int put_samples(const osp__svec *v, osp_arena *arena, osp_series *s)
{
    size_t nh = 0, kf = 0, kh = 0;
    for (size_t j = 0; j < v->n; j++)
        nh += v->a[j].hist;
    s->samples = v->n > nh ? osp_arena_alloc(arena, (v->n - nh) * sizeof *s->samples) : NULL;
    s->hsamples = nh ? osp_arena_alloc(arena, nh * sizeof *s->hsamples) : NULL;
    if ((v->n > nh && !s->samples) || (nh && !s->hsamples))
        return OSP_ENOMEM;
    for (size_t j = 0; j < v->n; j++) {
        if (v->a[j].hist)
            s->hsamples[kh++] = (osp_hsample){v->a[j].t, v->a[j].h};
        else
            s->samples[kf++] = (osp_sample){v->a[j].t, v->a[j].v};
    }
    s->nsamples = kf;
    s->nhsamples = kh;
    return 0;
}

static int cmp_series(const void *pa, const void *pb)
{
    const osp_series *a = pa, *b = pb;
    return osp_labels_compare(a->labels, a->nlabels, b->labels, b->nlabels);
}

/* Copies the strings of l[0..n) (slices into the index) into one arena block, each
 * NUL-terminated, and points l at the copies. 0 or OSP_ENOMEM. */
static int copy_label_strings(osp_arena *arena, osp_label *l, size_t n)
{
    size_t total = 0;
    for (size_t j = 0; j < n; j++)
        total += l[j].name.n + l[j].value.n + 2;
    char *p = osp_arena_alloc(arena, total ? total : 1);
    if (!p)
        return OSP_ENOMEM;
    for (size_t j = 0; j < n; j++) {
        osp_str *f[2] = {&l[j].name, &l[j].value};
        for (int k = 0; k < 2; k++) {
            if (f[k]->n)
                memcpy(p, f[k]->p, f[k]->n);
            p[f[k]->n] = 0;
            f[k]->p = p;
            p += f[k]->n + 1;
        }
    }
    return 0;
}

/* Ids the matchers select; every series when n == 0. Caller holds rw shared. */
static int select_ids(osp_tsdb *db, const osp_label_matcher *m, size_t n, osp_arena *arena,
                      uint64_t **ids, size_t *nids)
{
    if (n)
        return osp_series_select(db->idx, m, n, arena, ids, nids);
    uint64_t ns = osp__tsdb_nseries(db);
    *ids = osp_arena_alloc(arena, (ns ? ns : 1) * sizeof **ids);
    if (!*ids)
        return OSP_ENOMEM;
    for (uint64_t i = 0; i < ns; i++)
        (*ids)[i] = i;
    *nids = (size_t)ns;
    return 0;
}

/* Selects of at least this many series are split over threads, one share per CPU. */
#define PARALLEL_MIN_SERIES 2048
#define PARALLEL_MAX_THREADS 8

/* One share of a select: the series of ids[from, to) with data in range. */
typedef struct select_part {
    osp_tsdb *db;
    const uint64_t *ids;
    size_t from, to;
    int64_t mint, maxt;
    int samples;      /* load samples too */
    osp_arena own;    /* a helper thread's arena (the caller's arena serves share 0) */
    osp_arena *arena; /* where labels and samples go */
    osp_series *res;  /* the share's series, sorted by labels: res[0..n) */
    size_t n;
    int rc;
} select_part;

/* Runs one share; the caller holds rw shared. */
static void *select_part_run(void *arg)
{
    select_part *p = arg;
    osp__svec v = {0};
    int rc = 0;
    for (size_t i = p->from; i < p->to && rc == 0; i++) {
        uint64_t id = p->ids[i];
        if ((rc = gather(p->db, id, p->mint, p->maxt, p->samples ? p->arena : NULL, &v)) != 0 ||
            v.n == 0)
            continue;
        osp_series *s = &p->res[p->n];
        if ((rc = osp_series_labels(p->db->idx, id, p->arena, &s->labels, &s->nlabels)) != 0)
            break;
        if ((rc = copy_label_strings(p->arena, s->labels, s->nlabels)) != 0)
            break;
        if (p->samples && (rc = put_samples(&v, p->arena, s)) != 0)
            break;
        p->n++;
    }
    osp_free(v.a);
    if (rc == 0)
        qsort(p->res, p->n, sizeof *p->res, cmp_series);
    p->rc = rc;
    return NULL;
}

/* How many shares a select of nids series gets. */
static size_t select_shares(size_t nids)
{
    if (nids < PARALLEL_MIN_SERIES)
        return 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t k = cpus > 1 ? (size_t)cpus : 1;
    if (k > PARALLEL_MAX_THREADS)
        k = PARALLEL_MAX_THREADS;
    return k < nids / (PARALLEL_MIN_SERIES / 2) ? k : nids / (PARALLEL_MIN_SERIES / 2);
}

/* Merges the sorted shares into one sorted array in arena; NULL when out of memory. */
static osp_series *merge_shares(select_part *p, size_t np, size_t total, osp_arena *arena)
{
    if (np == 1)
        return p[0].res;
    osp_series *out = osp_arena_alloc(arena, (total ? total : 1) * sizeof *out);
    size_t at[PARALLEL_MAX_THREADS] = {0};
    for (size_t k = 0; out && k < total; k++) {
        size_t best = np;
        for (size_t j = 0; j < np; j++)
            if (at[j] < p[j].n &&
                (best == np || cmp_series(&p[j].res[at[j]], &p[best].res[at[best]]) < 0))
                best = j;
        out[k] = p[best].res[at[best]++];
    }
    return out;
}

static int do_select(osp_tsdb *db, const osp_label_matcher *m, size_t n, int all, int64_t mint,
                     int64_t maxt, int samples, osp_arena *arena, osp_series **out, size_t *nout)
{
    uint64_t *ids;
    size_t nids = 0, np = 0, started = 0, total = 0;
    select_part p[PARALLEL_MAX_THREADS];
    pthread_t th[PARALLEL_MAX_THREADS];
    *out = NULL;
    *nout = 0;
    if (!db || !arena)
        return OSP_EINVAL;
    if ((n == 0 && !all) || mint > maxt)
        return 0;
    pthread_rwlock_rdlock(&db->rw);
    int rc = select_ids(db, m, n, arena, &ids, &nids);
    osp_series *res = rc ? NULL : osp_arena_calloc(arena, nids ? nids : 1, sizeof *res);
    if (!rc && !res)
        rc = OSP_ENOMEM;
    if (rc == 0) {
        np = select_shares(nids);
        /* Helper threads get an equal part of what the caller's arena may still hold. */
        size_t room = osp_arena_room(arena), cap = room == SIZE_MAX ? 0 : room / np + 1;
        for (size_t j = 0; j < np; j++) {
            p[j] = (select_part){.db = db,
                                 .ids = ids,
                                 .from = nids * j / np,
                                 .to = nids * (j + 1) / np,
                                 .mint = mint,
                                 .maxt = maxt,
                                 .samples = samples,
                                 .arena = j ? &p[j].own : arena};
            p[j].res = res + p[j].from;
            osp_arena_init(&p[j].own, arena->chunk_size, cap);
        }
        /* Share 0 runs here; a thread that cannot start leaves its share to this one too. */
        for (started = 1; started < np; started++)
            if (pthread_create(&th[started], NULL, select_part_run, &p[started]) != 0)
                break;
        for (size_t j = started; j < np; j++)
            select_part_run(&p[j]);
        select_part_run(&p[0]);
        for (size_t j = 1; j < started; j++)
            pthread_join(th[j], NULL);
    }
    pthread_rwlock_unlock(&db->rw);
    for (size_t j = 0; rc == 0 && j < np; j++) {
        osp_arena_adopt(arena, &p[j].own);
        rc = p[j].rc;
        total += p[j].n;
    }
    for (size_t j = 0; rc && j < np; j++)
        osp_arena_cleanup(&p[j].own);
    if (rc)
        return rc;
    if (!(*out = merge_shares(p, np, total, arena)))
        return OSP_ENOMEM;
    *nout = total;
    return 0;
}

int osp_tsdb_select(osp_tsdb *db, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                    int64_t maxt_ms, osp_arena *arena, osp_series **out, size_t *nout)
{
    return do_select(db, m, n, 0, mint_ms, maxt_ms, 1, arena, out, nout);
}

int osp_tsdb_series(osp_tsdb *db, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                    int64_t maxt_ms, osp_arena *arena, osp_series **out, size_t *nout)
{
    return do_select(db, m, n, 0, mint_ms, maxt_ms, 0, arena, out, nout);
}

/* Whether [mint, maxt] covers every stored sample. */
static int covers_all(osp_tsdb *db, int64_t mint, int64_t maxt)
{
    osp_tsdb_stats st;
    osp_tsdb_get_stats(db, &st);
    return (st.block_samples == 0 && st.head_samples == 0) ||
           (mint <= st.min_time_ms && maxt >= st.max_time_ms);
}

static int cmp_str(const void *a, const void *b)
{
    return osp_str_cmp(*(const osp_str *)a, *(const osp_str *)b);
}

/* Sorts and deduplicates a[0..n); returns the new count. */
static size_t sort_unique(osp_str *a, size_t n)
{
    size_t k = 0;
    qsort(a, n, sizeof *a, cmp_str);
    for (size_t i = 0; i < n; i++)
        if (k == 0 || !osp_str_eq(a[k - 1], a[i]))
            a[k++] = a[i];
    return k;
}

/* Names (name.p == NULL) or values of name over the selected series. */
static int collect_labels(osp_tsdb *db, osp_str name, const osp_label_matcher *m, size_t n,
                          int64_t mint, int64_t maxt, osp_arena *arena, osp_str **out, size_t *nout)
{
    osp_series *s;
    size_t ns, total = 0, k = 0;
    *out = NULL;
    *nout = 0;
    int rc = do_select(db, m, n, 1, mint, maxt, 0, arena, &s, &ns);
    if (rc)
        return rc;
    for (size_t i = 0; i < ns; i++)
        total += s[i].nlabels;
    osp_str *a = osp_arena_alloc(arena, (total ? total : 1) * sizeof *a);
    if (!a)
        return OSP_ENOMEM;
    for (size_t i = 0; i < ns; i++) {
        if (!name.p) {
            for (size_t j = 0; j < s[i].nlabels; j++)
                a[k++] = s[i].labels[j].name;
        } else {
            osp_str v = osp_labels_get(s[i].labels, s[i].nlabels, name);
            if (v.n)
                a[k++] = v;
        }
    }
    *out = a;
    *nout = sort_unique(a, k);
    return 0;
}

int osp_tsdb_label_names(osp_tsdb *db, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                         int64_t maxt_ms, osp_arena *arena, osp_str **names, size_t *nnames)
{
    if (!db || !arena)
        return OSP_EINVAL;
    if (n == 0 && covers_all(db, mint_ms, maxt_ms))
        return osp_series_label_names(db->idx, arena, names, nnames);
    return collect_labels(db, OSP_STR_NULL, m, n, mint_ms, maxt_ms, arena, names, nnames);
}

int osp_tsdb_label_values(osp_tsdb *db, osp_str name, const osp_label_matcher *m, size_t n,
                          int64_t mint_ms, int64_t maxt_ms, osp_arena *arena, osp_str **values,
                          size_t *nvalues)
{
    if (!db || !arena || name.n == 0)
        return OSP_EINVAL;
    if (n == 0 && covers_all(db, mint_ms, maxt_ms))
        return osp_series_label_values(db->idx, name, arena, values, nvalues);
    return collect_labels(db, name, m, n, mint_ms, maxt_ms, arena, values, nvalues);
}

int osp_tsdb_metadata(osp_tsdb *db, osp_str family, osp_arena *arena, osp_metric_meta **out,
                      size_t *nout)
{
    if (!db || !arena)
        return OSP_EINVAL;
    return osp__meta_list(&db->meta, family, arena, out, nout);
}

size_t osp__tsdb_head_heap(osp_tsdb *db)
{
    return atomic_load(&db->head.table_bytes) + osp__tsdb_unflushed_bytes(db);
}

void osp_tsdb_get_stats(osp_tsdb *db, osp_tsdb_stats *st)
{
    osp_series_index_stats is;
    memset(st, 0, sizeof *st);
    if (!db)
        return;
    osp_series_index_get_stats(db->idx, &is);
    int64_t mint = INT64_MAX, maxt = INT64_MIN;
    pthread_rwlock_rdlock(&db->rw);
    st->series = is.nseries - is.nremoved;
    for (int g = 0; g < 2; g++) {
        st->head_series += atomic_load(&db->g[g].series);
        st->head_samples += atomic_load(&db->g[g].samples);
        if (atomic_load(&db->g[g].samples)) {
            int64_t a = atomic_load(&db->g[g].mint), b = atomic_load(&db->g[g].maxt);
            mint = a < mint ? a : mint;
            maxt = b > maxt ? b : maxt;
        }
    }
    st->head_bytes = osp__tsdb_head_heap(db) + is.bytes + osp_keymap_bytes(db->keys);
    st->blocks = db->nblocks;
    for (size_t i = 0; i < db->nblocks; i++) {
        const osp_block_info *bi = osp_block_get_info(db->blocks[i]->b);
        st->block_samples += bi->nsamples;
        st->block_bytes += bi->bytes;
        if (bi->nsamples) {
            mint = bi->mint < mint ? bi->mint : mint;
            maxt = bi->maxt > maxt ? bi->maxt : maxt;
        }
    }
    pthread_rwlock_unlock(&db->rw);
    if (mint <= maxt) {
        st->min_time_ms = mint;
        st->max_time_ms = maxt;
    }
}
