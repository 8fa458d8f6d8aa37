/* Log buffer: decoded write-ahead-log records kept as immutable chunks (rows point into
 * the record bytes, so an insert copies nothing), and per stream a list of its records
 * threaded through the chunks (the newest first). Inserts decode and allocate outside the
 * lock and reserve every structure before touching shared state, so a failed insert
 * leaves the buffer unchanged. */
#include "store/logs/logmem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/mem.h"
#include "model/logstream.h"
#include "store/embedded/memtable.h"
#include "store/logs/logcodec.h"

#define NIL UINT64_MAX

typedef struct chunk {
    osp_log_batch rows; /* slices point into record */
    char *record;
    uint64_t *streams;           /* stream of each record */
    uint64_t *next;              /* per record: the previous record of its stream (packed
                                    chunk << 32 | record), or NIL; written under the lock */
    uint64_t min_time, max_time; /* osp_log_time range of its records */
} chunk;

struct osp_logmem {
    pthread_rwlock_t lock; /* guards the arrays below and chunks' next; the rest of a chunk
                              is immutable */
    atomic_int refcount;
    chunk **chunks;
    size_t nchunks, chunks_cap;
    osp_tidmap heads; /* stream id (first 8 bytes of the key) -> its newest record, packed */
    atomic_size_t bytes, nrecords;
    atomic_uint_least64_t max_lsn, first_insert_ns, min_time, max_time;
};

int osp_logmem_create(osp_logmem **out)
{
    osp_logmem *m = osp_calloc(1, sizeof *m);
    if (!m)
        return OSP_ENOMEM;
    if (pthread_rwlock_init(&m->lock, NULL)) {
        osp_free(m);
        return OSP_ENOMEM;
    }
    atomic_init(&m->refcount, 1);
    osp_tidmap_init(&m->heads, 0);
    *out = m;
    return 0;
}

void osp_logmem_acquire(osp_logmem *m)
{
    atomic_fetch_add_explicit(&m->refcount, 1, memory_order_relaxed);
}

static void free_chunk(chunk *c)
{
    osp_log_batch_cleanup(&c->rows);
    osp_free(c->record);
    osp_free(c->streams);
    osp_free(c->next);
    osp_free(c);
}

void osp_logmem_release(osp_logmem *m)
{
    if (!m || atomic_fetch_sub_explicit(&m->refcount, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < m->nchunks; i++)
        free_chunk(m->chunks[i]);
    osp_free(m->chunks);
    osp_tidmap_cleanup(&m->heads);
    pthread_rwlock_destroy(&m->lock);
    osp_free(m);
}

size_t osp_logmem_bytes(const osp_logmem *m)
{
    return atomic_load_explicit(&m->bytes, memory_order_relaxed);
}

size_t osp_logmem_nrecords(const osp_logmem *m)
{
    return atomic_load_explicit(&m->nrecords, memory_order_relaxed);
}

uint64_t osp_logmem_max_lsn(const osp_logmem *m)
{
    return atomic_load_explicit(&m->max_lsn, memory_order_relaxed);
}

uint64_t osp_logmem_first_insert_ns(const osp_logmem *m)
{
    return atomic_load_explicit(&m->first_insert_ns, memory_order_relaxed);
}

void osp_logmem_time_range(osp_logmem *m, uint64_t *min_time, uint64_t *max_time)
{
    pthread_rwlock_rdlock(&m->lock);
    *min_time = m->nchunks ? atomic_load(&m->min_time) : 0;
    *max_time = m->nchunks ? atomic_load(&m->max_time) : 0;
    pthread_rwlock_unlock(&m->lock);
}

static void stream_key(uint64_t stream, uint8_t key[16])
{
    memset(key, 0, 16);
    memcpy(key, &stream, sizeof stream);
}

/* Links chunk c's records into their streams' lists; room was reserved. Under the write
 * lock. */
static void index_chunk(osp_logmem *m, chunk *c)
{
    uint64_t ci = m->nchunks - 1;
    for (size_t i = 0; i < c->rows.nrecords; i++) {
        uint8_t key[16];
        uint64_t *head;
        stream_key(c->streams[i], key);
        int found = osp_tidmap_put(&m->heads, key, &head);
        c->next[i] = found ? *head : NIL;
        *head = ci << 32 | i;
    }
}

/* Decodes a record into a new chunk (taking record and streams) and finds its time
 * range. */
static int chunk_make(char *record, size_t len, uint64_t *streams, size_t nstreams, chunk **out)
{
    chunk *c = osp_calloc(1, sizeof *c);
    if (!c) {
        osp_free(record);
        osp_free(streams);
        return OSP_ENOMEM;
    }
    c->record = record;
    c->streams = streams;
    osp_log_batch_init(&c->rows);
    int rc = osp_logcodec_decode(osp_str_make(record, len), &c->rows);
    if (rc == 0 && (c->rows.nrecords != nstreams || nstreams == 0 || nstreams >= UINT32_MAX))
        rc = OSP_ECORRUPT;
    if (rc == 0 && !(c->next = osp_malloc(nstreams * sizeof *c->next)))
        rc = OSP_ENOMEM;
    if (rc) {
        free_chunk(c);
        return rc;
    }
    c->min_time = UINT64_MAX;
    for (size_t i = 0; i < nstreams; i++) {
        uint64_t t = osp_log_time(&c->rows.records[i]);
        c->min_time = t < c->min_time ? t : c->min_time;
        c->max_time = t > c->max_time ? t : c->max_time;
    }
    *out = c;
    return 0;
}

int osp_logmem_insert(osp_logmem *m, char *record, size_t len, uint64_t *streams, size_t nstreams,
                      uint64_t lsn)
{
    chunk *c, **slot;
    int rc = chunk_make(record, len, streams, nstreams, &c);
    if (rc)
        return rc;
    size_t bytes = sizeof *c + len +
                   nstreams * (sizeof(osp_log_record) + 2 * sizeof(uint64_t) + 32) +
                   c->rows.nresources * sizeof(osp_resource) + c->rows.nscopes * sizeof(osp_scope);
    pthread_rwlock_wrlock(&m->lock);
    if (m->nchunks >= UINT32_MAX || (rc = osp_tidmap_reserve(&m->heads, nstreams)) != 0 ||
        !(slot = osp_array_push((void **)&m->chunks, &m->nchunks, &m->chunks_cap, sizeof c)))
        rc = rc ? rc : OSP_ENOMEM;
    if (rc == 0) {
        *slot = c;
        index_chunk(m, c);
        if (m->nchunks == 1 || c->min_time < atomic_load(&m->min_time))
            atomic_store(&m->min_time, c->min_time);
        if (c->max_time > atomic_load(&m->max_time))
            atomic_store(&m->max_time, c->max_time);
        atomic_fetch_add_explicit(&m->bytes, bytes, memory_order_relaxed);
        atomic_fetch_add_explicit(&m->nrecords, nstreams, memory_order_relaxed);
        if (lsn > osp_logmem_max_lsn(m))
            atomic_store_explicit(&m->max_lsn, lsn, memory_order_relaxed);
        if (!osp_logmem_first_insert_ns(m))
            atomic_store_explicit(&m->first_insert_ns, osp_clock_ns(CLOCK_MONOTONIC),
                                  memory_order_relaxed);
    }
    pthread_rwlock_unlock(&m->lock);
    if (rc)
        free_chunk(c);
    return rc;
}

static int in_range(uint64_t t, uint64_t start_ns, uint64_t end_ns)
{
    return t >= start_ns && (!end_ns || t < end_ns);
}

/* Chunk i, or NULL past the end; chunks never move or change once inserted (but for
 * next, which visits by chunk do not read). */
static chunk *chunk_at(osp_logmem *m, size_t i)
{
    pthread_rwlock_rdlock(&m->lock);
    chunk *c = i < m->nchunks ? m->chunks[i] : NULL;
    pthread_rwlock_unlock(&m->lock);
    return c;
}

static int visit_all(osp_logmem *m, uint64_t start_ns, uint64_t end_ns, osp_logmem_fn fn, void *ctx)
{
    chunk *c;
    int rc = 0;
    for (size_t i = 0; rc == 0 && (c = chunk_at(m, i)) != NULL; i++) {
        if (c->max_time < start_ns || (end_ns && c->min_time >= end_ns))
            continue;
        for (size_t k = 0; rc == 0 && k < c->rows.nrecords; k++)
            if (in_range(osp_log_time(&c->rows.records[k]), start_ns, end_ns))
                rc = fn(&c->rows, k, c->streams[k], ctx);
    }
    return rc;
}

typedef struct rec_ref {
    chunk *c;
    size_t i;
} rec_ref;

/* Collects the records of the streams in range under the read lock, then calls fn for
 * each without it. */
static int visit_streams(osp_logmem *m, const uint64_t *ids, size_t nids, uint64_t start_ns,
                         uint64_t end_ns, osp_logmem_fn fn, void *ctx)
{
    rec_ref *refs = NULL, *r;
    size_t n = 0, cap = 0;
    int rc = 0;
    pthread_rwlock_rdlock(&m->lock);
    for (size_t s = 0; s < nids && rc == 0; s++) {
        uint8_t key[16];
        stream_key(ids[s], key);
        uint64_t *head = osp_tidmap_find(&m->heads, key);
        for (uint64_t at = head ? *head : NIL; at != NIL && rc == 0;) {
            chunk *c = m->chunks[at >> 32];
            size_t i = (size_t)(at & UINT32_MAX);
            at = c->next[i];
            if (!in_range(osp_log_time(&c->rows.records[i]), start_ns, end_ns))
                continue;
            if (!(r = osp_array_push((void **)&refs, &n, &cap, sizeof *refs)))
                rc = OSP_ENOMEM;
            else
                *r = (rec_ref){c, i};
        }
    }
    pthread_rwlock_unlock(&m->lock);
    for (size_t k = 0; k < n && rc == 0; k++)
        rc = fn(&refs[k].c->rows, refs[k].i, refs[k].c->streams[refs[k].i], ctx);
    osp_free(refs);
    return rc;
}

int osp_logmem_has_stream(osp_logmem *m, uint64_t stream)
{
    uint8_t key[16];
    stream_key(stream, key);
    pthread_rwlock_rdlock(&m->lock);
    int found = osp_tidmap_find(&m->heads, key) != NULL;
    pthread_rwlock_unlock(&m->lock);
    return found;
}

int osp_logmem_visit(osp_logmem *m, const uint64_t *ids, size_t nids, uint64_t start_ns,
                     uint64_t end_ns, osp_logmem_fn fn, void *ctx)
{
    return ids ? visit_streams(m, ids, nids, start_ns, end_ns, fn, ctx)
               : visit_all(m, start_ns, end_ns, fn, ctx);
}
