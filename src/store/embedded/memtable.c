/* Memtable: decoded write-ahead-log records kept as immutable chunks (rows point into the
 * record bytes, so an insert copies nothing), a trace-id index of per-trace span lists, and
 * a set of (service, name, kind). Inserts decode outside the lock and reserve every array
 * before touching shared state, so a failed insert leaves the memtable unchanged. */
#include "store/embedded/memtable.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/mem.h"
#include "store/embedded/match.h"
#include "store/embedded/rowcodec.h"

/* ---- Trace-id hash map ---- */

struct osp_tidmap_slot {
    uint8_t id[16];
    uint64_t val;
    uint8_t used;
};

static size_t tid_home(const osp_tidmap *m, const uint8_t id[16])
{
    return (size_t)XXH3_64bits_withSeed(id, 16, m->seed) & (m->cap - 1);
}

void osp_tidmap_init(osp_tidmap *m, size_t max)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    m->slots = NULL;
    m->cap = m->n = 0;
    m->max = max;
    m->seed = XXH3_64bits_withSeed(&m, sizeof m, (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec);
}

void osp_tidmap_cleanup(osp_tidmap *m)
{
    osp_free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

/* Slot of id, or of the empty slot where it would go. Requires cap > n. */
static osp_tidmap_slot *tid_probe(const osp_tidmap *m, const uint8_t id[16])
{
    size_t i = tid_home(m, id);
    while (m->slots[i].used && memcmp(m->slots[i].id, id, 16))
        i = (i + 1) & (m->cap - 1);
    return &m->slots[i];
}

int osp_tidmap_reserve(osp_tidmap *m, size_t extra)
{
    if (extra > SIZE_MAX / 8 - m->n || (m->max && m->n + extra > m->max))
        return OSP_ETOOBIG;
    size_t need = m->n + extra, cap = m->cap ? m->cap : 16;
    while (need * 2 > cap) /* load factor at most 1/2 keeps probe runs short */
        cap *= 2;
    if (cap == m->cap)
        return 0;
    osp_tidmap bigger = *m;
    bigger.slots = osp_calloc(cap, sizeof *bigger.slots);
    if (!bigger.slots)
        return OSP_ENOMEM;
    bigger.cap = cap;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].used)
            *tid_probe(&bigger, m->slots[i].id) = m->slots[i];
    osp_free(m->slots);
    *m = bigger;
    return 0;
}

int osp_tidmap_put(osp_tidmap *m, const uint8_t id[16], uint64_t **val)
{
    if (m->cap) {
        osp_tidmap_slot *s = tid_probe(m, id);
        if (s->used) {
            *val = &s->val;
            return 1;
        }
    }
    int rc = osp_tidmap_reserve(m, 1);
    if (rc)
        return rc;
    osp_tidmap_slot *s = tid_probe(m, id);
    memcpy(s->id, id, 16);
    s->val = 0;
    s->used = 1;
    m->n++;
    *val = &s->val;
    return 0;
}

uint64_t *osp_tidmap_find(const osp_tidmap *m, const uint8_t id[16])
{
    if (!m->cap)
        return NULL;
    osp_tidmap_slot *s = tid_probe(m, id);
    return s->used ? &s->val : NULL;
}

void osp_tidmap_remove(osp_tidmap *m, const uint8_t id[16])
{
    if (!m->cap)
        return;
    osp_tidmap_slot *hole = tid_probe(m, id);
    if (!hole->used)
        return;
    /* Backward-shift deletion: pull later entries of the probe run into the hole when
     * their home slot does not lie (cyclically) between the hole and them. */
    size_t mask = m->cap - 1, i = (size_t)(hole - m->slots), j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].used)
            break;
        size_t home = tid_home(m, m->slots[j].id);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].used = 0;
    m->n--;
}

/* ---- Memtable ---- */

#define NIL UINT32_MAX

typedef struct chunk {
    osp_span_batch rows; /* slices point into record */
    char *record;
} chunk;

typedef struct span_ref {
    uint32_t chunk, span;
    uint32_t next; /* next span of the same trace, or NIL */
} span_ref;

typedef struct cat_entry {
    osp_str service, name;
    int32_t kind;
    uint8_t used;
    uint64_t hash;
} cat_entry;

struct osp_memtable {
    pthread_rwlock_t lock; /* guards the arrays below; chunk contents are immutable */
    atomic_int refcount;
    chunk **chunks;
    size_t nchunks, chunks_cap;
    span_ref *refs;
    size_t nrefs, refs_cap;
    osp_tidmap traces; /* trace id -> index of its newest span_ref */
    cat_entry *cat;    /* open-addressing set; cat_cap is a power of two or 0 */
    size_t ncat, cat_cap;
    atomic_size_t bytes, nspans;
    atomic_uint_least64_t max_lsn, first_insert_ns;
};

int osp_memtable_create(osp_memtable **out)
{
    osp_memtable *m = osp_calloc(1, sizeof *m);
    if (!m)
        return OSP_ENOMEM;
    if (pthread_rwlock_init(&m->lock, NULL)) {
        osp_free(m);
        return OSP_ENOMEM;
    }
    atomic_init(&m->refcount, 1);
    osp_tidmap_init(&m->traces, 0);
    *out = m;
    return 0;
}

void osp_memtable_acquire(osp_memtable *m)
{
    atomic_fetch_add_explicit(&m->refcount, 1, memory_order_relaxed);
}

static void free_chunk(chunk *c)
{
    osp_span_batch_cleanup(&c->rows);
    osp_free(c->record);
    osp_free(c);
}

void osp_memtable_release(osp_memtable *m)
{
    if (!m || atomic_fetch_sub_explicit(&m->refcount, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < m->nchunks; i++)
        free_chunk(m->chunks[i]);
    osp_free(m->chunks);
    osp_free(m->refs);
    osp_free(m->cat);
    osp_tidmap_cleanup(&m->traces);
    pthread_rwlock_destroy(&m->lock);
    osp_free(m);
}

size_t osp_memtable_bytes(const osp_memtable *m)
{
    return atomic_load_explicit(&m->bytes, memory_order_relaxed);
}

size_t osp_memtable_nspans(const osp_memtable *m)
{
    return atomic_load_explicit(&m->nspans, memory_order_relaxed);
}

uint64_t osp_memtable_max_lsn(const osp_memtable *m)
{
    return atomic_load_explicit(&m->max_lsn, memory_order_relaxed);
}

uint64_t osp_memtable_first_insert_ns(const osp_memtable *m)
{
    return atomic_load_explicit(&m->first_insert_ns, memory_order_relaxed);
}

static uint64_t cat_hash(osp_str service, osp_str name, int32_t kind)
{
    uint64_t h = XXH3_64bits_withSeed(service.p, service.n, (uint64_t)(uint32_t)kind);
    return XXH3_64bits_withSeed(name.p, name.n, h);
}

/* Slot for (service, name, kind): its entry, or the empty slot where it would go. */
static cat_entry *cat_probe(cat_entry *tab, size_t cap, const cat_entry *e)
{
    size_t i = (size_t)e->hash & (cap - 1);
    while (tab[i].used &&
           !(tab[i].hash == e->hash && tab[i].kind == e->kind &&
             osp_str_eq(tab[i].service, e->service) && osp_str_eq(tab[i].name, e->name)))
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* Grows the catalogue set (if needed) so extra more entries fit. Under the write lock. */
static int cat_reserve(osp_memtable *m, size_t extra)
{
    size_t need = m->ncat + extra, cap = m->cat_cap ? m->cat_cap : 16;
    while (need * 4 >= cap * 3)
        cap *= 2;
    if (cap == m->cat_cap)
        return 0;
    cat_entry *tab = osp_calloc(cap, sizeof *tab);
    if (!tab)
        return OSP_ENOMEM;
    for (size_t i = 0; i < m->cat_cap; i++)
        if (m->cat[i].used)
            *cat_probe(tab, cap, &m->cat[i]) = m->cat[i];
    osp_free(m->cat);
    m->cat = tab;
    m->cat_cap = cap;
    return 0;
}

/* Grows an array of elem-sized items to hold need; 0 or OSP_ENOMEM. */
static int grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        return OSP_ENOMEM;
    void *p = osp_realloc(*arr, ncap * elem);
    if (!p)
        return OSP_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Reserves room for chunk c in every structure. Under the write lock. */
static int reserve_for(osp_memtable *m, const chunk *c)
{
    size_t n = c->rows.nspans;
    if (m->nrefs + n >= NIL || m->nchunks >= NIL)
        return OSP_ENOMEM;
    int rc = grow_array((void **)&m->chunks, &m->chunks_cap, m->nchunks + 1, sizeof *m->chunks);
    if (rc == 0)
        rc = grow_array((void **)&m->refs, &m->refs_cap, m->nrefs + n, sizeof *m->refs);
    if (rc == 0)
        rc = osp_tidmap_reserve(&m->traces, n);
    return rc ? rc : cat_reserve(m, n);
}

/* Indexes chunk c; cannot fail once reserve_for succeeded. Under the write lock. */
static void index_chunk(osp_memtable *m, chunk *c)
{
    uint32_t ci = (uint32_t)m->nchunks;
    m->chunks[m->nchunks++] = c;
    for (size_t i = 0; i < c->rows.nspans; i++) {
        const osp_span *s = &c->rows.spans[i];
        uint64_t *head;
        int found = osp_tidmap_put(&m->traces, s->trace_id, &head);
        assert(found >= 0);
        uint32_t ri = (uint32_t)m->nrefs++;
        m->refs[ri] = (span_ref){ci, (uint32_t)i, found ? (uint32_t)*head : NIL};
        *head = ri;

        cat_entry e = {c->rows.resources[s->resource].service_name, s->name, s->kind, 1, 0};
        e.hash = cat_hash(e.service, e.name, e.kind);
        cat_entry *slot = cat_probe(m->cat, m->cat_cap, &e);
        if (!slot->used) {
            *slot = e;
            m->ncat++;
        }
    }
}

int osp_memtable_insert(osp_memtable *m, char *record, size_t len, uint64_t lsn)
{
    int rc = OSP_ENOMEM;
    chunk *c = osp_malloc(sizeof *c);
    if (!c) {
        osp_free(record);
        return OSP_ENOMEM;
    }
    c->record = record;
    osp_span_batch_init(&c->rows);
    if ((rc = osp_rowcodec_decode(osp_str_make(record, len), &c->rows)) != 0) {
        free_chunk(c);
        return rc;
    }
    size_t nspans = c->rows.nspans;
    size_t bytes = sizeof *c + len + nspans * (sizeof(osp_span) + sizeof(span_ref) + 48) +
                   c->rows.nresources * sizeof(osp_resource) + c->rows.nscopes * sizeof(osp_scope);
    pthread_rwlock_wrlock(&m->lock);
    rc = reserve_for(m, c);
    if (rc == 0) {
        index_chunk(m, c);
        atomic_fetch_add_explicit(&m->bytes, bytes, memory_order_relaxed);
        atomic_fetch_add_explicit(&m->nspans, nspans, memory_order_relaxed);
        if (lsn > osp_memtable_max_lsn(m))
            atomic_store_explicit(&m->max_lsn, lsn, memory_order_relaxed);
        if (!osp_memtable_first_insert_ns(m))
            atomic_store_explicit(&m->first_insert_ns, osp_clock_ns(CLOCK_MONOTONIC),
                                  memory_order_relaxed);
    }
    pthread_rwlock_unlock(&m->lock);
    if (rc)
        free_chunk(c);
    return rc;
}

int osp_memtable_get_trace(osp_memtable *m, const uint8_t trace_id[16], osp_span_batch *out)
{
    int n = 0;
    pthread_rwlock_rdlock(&m->lock);
    uint64_t *head = osp_tidmap_find(&m->traces, trace_id);
    for (uint32_t ri = head ? (uint32_t)*head : NIL; ri != NIL; ri = m->refs[ri].next) {
        const span_ref *r = &m->refs[ri];
        if (osp_span_batch_copy_span(out, &m->chunks[r->chunk]->rows, r->span)) {
            n = OSP_ENOMEM;
            break;
        }
        n++;
    }
    pthread_rwlock_unlock(&m->lock);
    return n;
}

/* Chunk i, or NULL past the end; chunks never move or change once inserted. */
static chunk *chunk_at(osp_memtable *m, size_t i)
{
    pthread_rwlock_rdlock(&m->lock);
    chunk *c = i < m->nchunks ? m->chunks[i] : NULL;
    pthread_rwlock_unlock(&m->lock);
    return c;
}

int osp_memtable_search(osp_memtable *m, const osp_trace_query *q, osp_hit_fn fn, void *ctx)
{
    chunk *c;
    for (size_t i = 0; (c = chunk_at(m, i)) != NULL; i++)
        for (size_t k = 0; k < c->rows.nspans; k++)
            if (osp_span_matches(q, &c->rows, k))
                fn(c->rows.spans[k].trace_id, c->rows.spans[k].start_ns, ctx);
    return 0;
}

int osp_memtable_catalogue(osp_memtable *m, osp_catalogue_fn fn, void *ctx)
{
    pthread_rwlock_rdlock(&m->lock);
    for (size_t i = 0; i < m->cat_cap; i++)
        if (m->cat[i].used)
            fn(m->cat[i].service, m->cat[i].name, m->cat[i].kind, ctx);
    pthread_rwlock_unlock(&m->lock);
    return 0;
}

int osp_memtable_rows(osp_memtable *m, osp_span_batch *out)
{
    chunk *c;
    int rc = 0;
    for (size_t i = 0; rc == 0 && (c = chunk_at(m, i)) != NULL; i++)
        for (size_t k = 0; rc == 0 && k < c->rows.nspans; k++)
            rc = osp_span_batch_copy_span(out, &c->rows, k);
    return rc;
}
