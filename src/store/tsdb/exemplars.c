/* Exemplar storage (store/tsdb/exemplars.h): the ring, per-series chains through it, the
 * series index that names and matches the series, and the log that keeps them. */
#include "store/tsdb/exemplars.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/pb.h"
#include "store/embedded/wal.h"
#include "store/tsdb/index.h"

#define MODULE "exemplars"
#define NONE UINT32_MAX
#define CHECKPOINT_FACTOR 2        /* rewrite the log once it holds this many ring-fulls */
#define RECORD_EXEMPLARS 4096      /* exemplars per log record, at most */
#define SEGMENT_BYTES (8ull << 20) /* log segment size */
#define MAX_CAPACITY (NONE - 1)    /* slots are numbered in 32 bits */

/* One ring slot. */
typedef struct slot {
    uint32_t series; /* series id; NONE when the slot is empty */
    uint32_t next;   /* the series' next (newer) exemplar; NONE for its newest */
    int64_t t_ms;
    double value;
    uint8_t *labels; /* canonical label encoding (osp_malloc); NULL when none */
    uint32_t nlabels_bytes;
} slot;

/* Per series id. */
typedef struct series_state {
    uint32_t oldest, newest; /* ring slots; NONE when the series has no exemplar */
    uint64_t append;         /* the append that last accepted one for it (writers only) */
    size_t pending;          /* that exemplar's index in the append's accepted list */
} series_state;

struct osp_exemplar_store {
    size_t capacity;
    osp_series_index *index; /* series label sets -> ids; matchers */
    osp_wal *wal;
    pthread_mutex_t write_mu; /* one append or checkpoint at a time; guards the fields
                               * only writers use (append, logged, series_state.append) */
    pthread_rwlock_t lock;    /* ring, next, ser, nser: changed exclusively, read shared */
    slot *ring;
    uint32_t next; /* the slot the next exemplar goes to */
    series_state *ser;
    size_t nser, ser_cap;
    uint64_t append; /* appends so far */
    uint64_t logged; /* exemplars in the log since it was last rewritten */
};

/* An exemplar accepted by the running append, not yet in the ring. */
typedef struct pending {
    uint32_t series;
    int64_t t_ms;
    double value;
    uint8_t *labels; /* owned copy, moved into the ring */
    uint32_t nlabels_bytes;
    osp_str series_enc; /* the series' label encoding, for the log */
} pending;

/* What an exemplar is compared against. */
typedef struct newest {
    int64_t t_ms;
    double value;
    const uint8_t *labels;
    size_t nlabels_bytes;
} newest;

/* ---- label encoding: repeated field 1 Label {1 name, 2 value}, in order ---- */

static int put_labels(osp_buf *b, const osp_label *l, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t mark;
        if (l[i].value.n == 0)
            continue;
        if ((rc = osp_pb_begin(b, 1, &mark)) == 0 && (rc = osp_pb_put_str(b, 1, l[i].name)) == 0 &&
            (rc = osp_pb_put_str(b, 2, l[i].value)) == 0)
            rc = osp_pb_end(b, mark);
    }
    return rc;
}

/* Decodes an encoding into an arena array. 0, OSP_ECORRUPT, OSP_ENOMEM. */
static int get_labels(osp_str enc, osp_arena *arena, osp_label **out, size_t *n)
{
    if (enc.n == 0)
        enc.p = ""; /* an empty encoding may have no pointer: NULL + 0 is undefined */
    osp_pb_reader r = osp_pb_reader_make(enc.p, enc.n);
    osp_pb_field f;
    size_t count = 0;
    int rc;
    while ((rc = osp_pb_next(&r, &f)) == 1)
        count++;
    if (rc)
        return OSP_ECORRUPT;
    *out = osp_arena_calloc(arena, count ? count : 1, sizeof **out);
    if (!*out)
        return OSP_ENOMEM;
    *n = 0;
    r = osp_pb_reader_make(enc.p, enc.n);
    while (osp_pb_next(&r, &f) == 1) {
        osp_label l = {0};
        if (f.num != 1 || f.wire != OSP_PB_LEN)
            return OSP_ECORRUPT;
        osp_pb_reader in = osp_pb_reader_make(f.bytes.p, f.bytes.n);
        osp_pb_field g;
        while ((rc = osp_pb_next(&in, &g)) == 1) {
            if (g.wire != OSP_PB_LEN || (g.num != 1 && g.num != 2))
                return OSP_ECORRUPT;
            *(g.num == 1 ? &l.name : &l.value) = g.bytes;
        }
        if (rc || l.name.n == 0 || l.value.n == 0)
            return OSP_ECORRUPT;
        (*out)[(*n)++] = l;
    }
    return 0;
}

/* UTF-8 characters in the names and values of the pairs with a value. */
static size_t label_chars(const osp_label *l, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i].value.n == 0)
            continue;
        for (size_t k = 0; k < l[i].name.n; k++)
            chars += ((unsigned char)l[i].name.p[k] & 0xC0) != 0x80;
        for (size_t k = 0; k < l[i].value.n; k++)
            chars += ((unsigned char)l[i].value.p[k] & 0xC0) != 0x80;
    }
    return chars;
}

/* ---- the log: records of repeated field 1 Exemplar {1 series labels, 2 labels,
 * 3 t_ms fixed64, 4 value double} ---- */

typedef struct log_writer {
    osp_wal *wal;
    osp_buf rec;
    size_t n; /* exemplars in rec */
} log_writer;

static int log_flush(log_writer *w)
{
    uint64_t lsn;
    int rc = w->n ? osp_wal_append(w->wal, osp_buf_str(&w->rec), &lsn) : 0;
    osp_buf_reset(&w->rec);
    w->n = 0;
    return rc;
}

static int log_add(log_writer *w, osp_str series_enc, osp_str labels, int64_t t_ms, double value)
{
    size_t mark;
    int rc = osp_pb_begin(&w->rec, 1, &mark);
    if (rc == 0)
        rc = osp_pb_put_str(&w->rec, 1, series_enc);
    if (rc == 0)
        rc = osp_pb_put_str(&w->rec, 2, labels);
    if (rc == 0)
        rc = osp_pb_put_fixed64(&w->rec, 3, (uint64_t)t_ms);
    if (rc == 0)
        rc = osp_pb_put_double(&w->rec, 4, value);
    if (rc == 0)
        rc = osp_pb_end(&w->rec, mark);
    if (rc == 0 && ++w->n == RECORD_EXEMPLARS)
        rc = log_flush(w);
    return rc;
}

/* ---- ring ---- */

/* Makes room for series id in the series table. Caller holds write_mu. */
static int ensure_series(osp_exemplar_store *st, uint64_t id)
{
    if (id < st->nser)
        return 0;
    if (id >= MAX_CAPACITY)
        return OSP_ETOOBIG;
    size_t cap = st->ser_cap;
    while (cap <= id)
        cap = cap ? cap * 2 : 64;
    pthread_rwlock_wrlock(&st->lock);
    series_state *a = st->ser;
    if (cap != st->ser_cap && (a = osp_realloc(st->ser, cap * sizeof *a)) != NULL) {
        st->ser = a;
        st->ser_cap = cap;
    }
    if (a)
        for (; st->nser <= id; st->nser++)
            st->ser[st->nser] = (series_state){NONE, NONE, 0, 0};
    pthread_rwlock_unlock(&st->lock);
    return a ? 0 : OSP_ENOMEM;
}

/* Puts an exemplar of series id into the next slot, dropping the slot's exemplar (the
 * oldest of its series, since a series' exemplars enter the ring in order). Takes labels.
 * Caller holds write_mu and lock exclusively (or is opening). */
static void ring_put(osp_exemplar_store *st, uint32_t id, int64_t t_ms, double value,
                     uint8_t *labels, uint32_t nlabels_bytes)
{
    uint32_t at = st->next;
    slot *s = &st->ring[at];
    if (s->series != NONE) {
        series_state *old = &st->ser[s->series];
        assert(old->oldest == at);
        old->oldest = s->next;
        if (old->oldest == NONE)
            old->newest = NONE;
        osp_free(s->labels);
    }
    series_state *ss = &st->ser[id];
    if (ss->newest != NONE)
        st->ring[ss->newest].next = at;
    else
        ss->oldest = at;
    ss->newest = at;
    *s = (slot){id, NONE, t_ms, value, labels, nlabels_bytes};
    st->next = (uint32_t)((at + 1) % st->capacity);
}

enum { ADMIT_OK, ADMIT_DUP, ADMIT_OOO };

/* Prometheus's check of an exemplar against its series' newest (NULL: none). */
static int admit(const newest *last, int64_t t_ms, double value, osp_str labels)
{
    if (!last)
        return ADMIT_OK;
    if (last->t_ms == t_ms && last->value == value && last->nlabels_bytes == labels.n &&
        (labels.n == 0 || memcmp(last->labels, labels.p, labels.n) == 0))
        return ADMIT_DUP;
    return t_ms <= last->t_ms ? ADMIT_OOO : ADMIT_OK;
}

/* The newest stored exemplar of series id, or NULL. */
static const newest *stored_newest(const osp_exemplar_store *st, uint32_t id, newest *buf)
{
    uint32_t at = st->ser[id].newest;
    if (at == NONE)
        return NULL;
    const slot *s = &st->ring[at];
    *buf = (newest){s->t_ms, s->value, s->labels, s->nlabels_bytes};
    return buf;
}

/* An owned copy of an encoding (NULL for an empty one). 0 or OSP_ENOMEM. */
static int copy_labels(osp_str enc, uint8_t **out)
{
    *out = NULL;
    if (enc.n == 0)
        return 0;
    if (!(*out = osp_malloc(enc.n)))
        return OSP_ENOMEM;
    memcpy(*out, enc.p, enc.n);
    return 0;
}

/* ---- checkpoint: the ring rewritten to a fresh log, older segments deleted ---- */

/* Takes the series the ring no longer holds an exemplar of out of the index, so that it
 * stays near the ring's size. Caller holds write_mu: appends resolve their series under it.
 * Out of memory, they stay until the next time. */
static void sweep_series(osp_exemplar_store *st)
{
    uint64_t *gone = osp_malloc((st->nser + 1) * sizeof *gone);
    size_t n = 0;
    if (!gone)
        return;
    pthread_rwlock_rdlock(&st->lock);
    for (size_t id = 0; id < st->nser; id++)
        if (st->ser[id].oldest == NONE)
            gone[n++] = id; /* the index skips those it removed before */
    pthread_rwlock_unlock(&st->lock);
    osp_series_index_remove(st->index, gone, n);
    osp_free(gone);
}

/* Caller holds write_mu (or is opening). Failures are logged; the old log then stays. */
static void checkpoint(osp_exemplar_store *st)
{
    log_writer w = {st->wal, {0}, 0};
    osp_arena arena;
    uint64_t upto = osp_wal_last_lsn(st->wal), n = 0;
    int rc = 0;
    osp_buf_init(&w.rec, 0);
    osp_buf enc;
    osp_buf_init(&enc, 0);
    osp_arena_init(&arena, 0, 0);
    osp_wal_rotate(st->wal);
    for (size_t i = 0; i < st->capacity && rc == 0; i++) {
        const slot *s = &st->ring[(st->next + i) % st->capacity];
        osp_label *l;
        size_t nl;
        if (s->series == NONE)
            continue;
        osp_buf_reset(&enc);
        if ((rc = osp_series_labels(st->index, s->series, &arena, &l, &nl)) == 0 &&
            (rc = put_labels(&enc, l, nl)) == 0)
            rc =
                log_add(&w, osp_buf_str(&enc),
                        osp_str_make((const char *)s->labels, s->nlabels_bytes), s->t_ms, s->value);
        if (w.n == 0) { /* a record went out: start the label arrays afresh */
            osp_arena_cleanup(&arena);
            osp_arena_init(&arena, 0, 0);
        }
        n++;
    }
    if (rc == 0)
        rc = log_flush(&w);
    if (rc == 0)
        rc = osp_wal_truncate_before(st->wal, upto);
    if (rc)
        osp_error(MODULE, "rewriting the exemplar log: %s", osp_strerror(rc));
    else
        st->logged = n;
    sweep_series(st);
    osp_arena_cleanup(&arena);
    osp_buf_cleanup(&enc);
    osp_buf_cleanup(&w.rec);
}

/* ---- open and close ---- */

/* Replays one log record into the ring. */
static int replay_record(uint64_t lsn, osp_str payload, void *ctx)
{
    osp_exemplar_store *st = ctx;
    osp_pb_reader r = osp_pb_reader_make(payload.p, payload.n);
    osp_pb_field f;
    osp_arena arena;
    int rc = 0, more = 0;
    osp_arena_init(&arena, 0, 0);
    while (rc == 0 && (more = osp_pb_next(&r, &f)) == 1) {
        osp_str series_enc = {0}, labels = {0};
        int64_t t = 0;
        double v = 0;
        if (f.num != 1 || f.wire != OSP_PB_LEN) {
            rc = OSP_ECORRUPT;
            break;
        }
        osp_pb_reader in = osp_pb_reader_make(f.bytes.p, f.bytes.n);
        osp_pb_field g;
        while (rc == 0 && (more = osp_pb_next(&in, &g)) == 1) {
            if (g.num == 1 && g.wire == OSP_PB_LEN)
                series_enc = g.bytes;
            else if (g.num == 2 && g.wire == OSP_PB_LEN)
                labels = g.bytes;
            else if (g.num == 3 && g.wire == OSP_PB_I64)
                t = (int64_t)g.u64;
            else if (g.num == 4 && g.wire == OSP_PB_I64)
                v = osp_pb_as_double(g.u64);
            else
                rc = OSP_ECORRUPT;
        }
        osp_label *sl, *el;
        size_t nsl, nel;
        uint64_t id = 0;
        if (rc == 0 && more != 0)
            rc = OSP_ECORRUPT;
        if (rc == 0 && (rc = get_labels(series_enc, &arena, &sl, &nsl)) == 0 &&
            (rc = get_labels(labels, &arena, &el, &nel)) == 0 &&
            (rc = osp_series_index_get_or_create(st->index, sl, nsl, &id, NULL)) == 0)
            rc = ensure_series(st, id);
        if (rc == OSP_EINVAL || rc == OSP_ETOOBIG)
            rc = OSP_ECORRUPT;
        newest buf;
        uint8_t *copy;
        if (rc == 0 && admit(stored_newest(st, (uint32_t)id, &buf), t, v, labels) == ADMIT_OK &&
            (rc = copy_labels(labels, &copy)) == 0) {
            ring_put(st, (uint32_t)id, t, v, copy, (uint32_t)labels.n);
            st->logged++;
        }
    }
    if (rc == 0 && more != 0)
        rc = OSP_ECORRUPT;
    osp_arena_cleanup(&arena);
    if (rc == OSP_ECORRUPT) {
        osp_error(MODULE, "exemplar log record %llu does not decode; skipped",
                  (unsigned long long)lsn);
        return 0;
    }
    return rc;
}

int osp_exemplar_store_open(const osp_exemplar_store_options *opt, osp_exemplar_store **out)
{
    if (!opt->dir)
        return OSP_EINVAL;
    osp_exemplar_store *st = osp_calloc(1, sizeof *st);
    if (!st)
        return OSP_ENOMEM;
    st->capacity = opt->capacity ? opt->capacity : OSP_EXEMPLARS_DEFAULT_CAPACITY;
    if (st->capacity > MAX_CAPACITY)
        st->capacity = MAX_CAPACITY;
    pthread_mutex_init(&st->write_mu, NULL);
    pthread_rwlock_init(&st->lock, NULL);
    osp_wal_options wopt = {.dir = opt->dir,
                            .fsync_policy = opt->fsync_policy,
                            .fsync_interval_ms = opt->fsync_interval_ms,
                            .segment_bytes = SEGMENT_BYTES};
    int rc = OSP_ENOMEM;
    if (!(st->ring = osp_malloc(st->capacity * sizeof *st->ring)))
        goto out;
    for (size_t i = 0; i < st->capacity; i++)
        st->ring[i] = (slot){.series = NONE, .next = NONE};
    if ((rc = osp_series_index_create(NULL, &st->index)) != 0)
        goto out;
    if ((rc = osp_wal_open(&wopt, 0, replay_record, st, &st->wal)) != 0)
        goto out;
    if (st->logged > CHECKPOINT_FACTOR * (uint64_t)st->capacity)
        checkpoint(st);
out:
    if (rc) {
        osp_error(MODULE, "opening the exemplar store in %s: %s", opt->dir, osp_strerror(rc));
        osp_exemplar_store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void osp_exemplar_store_close(osp_exemplar_store *st)
{
    if (!st)
        return;
    osp_wal_close(st->wal);
    for (size_t i = 0; st->ring && i < st->capacity; i++)
        osp_free(st->ring[i].labels);
    osp_free(st->ring);
    osp_free(st->ser);
    osp_series_index_destroy(st->index);
    pthread_rwlock_destroy(&st->lock);
    pthread_mutex_destroy(&st->write_mu);
    osp_free(st);
}

/* ---- append ---- */

static void reject(osp_exemplar_report *rep, const char *what, const osp_series *s)
{
    if (rep->error[0])
        return;
    char ser[160];
    osp_labels_format(ser, sizeof ser, s->labels, s->nlabels);
    snprintf(rep->error, sizeof rep->error, "%s for series %s", what, ser);
}

/* The state of one append. */
typedef struct appender {
    osp_exemplar_store *st;
    const osp_series_batch *b;
    osp_exemplar_report *rep;
    osp_arena arena;     /* encodings */
    osp_str *series_enc; /* per batch series, encoded on first use */
    pending *acc;        /* accepted, in order */
    size_t nacc;
    osp_buf enc;
} appender;

/* Checks exemplar i of the batch; an accepted one goes to a->acc. 0 or a fatal error. */
static int check_one(appender *a, size_t i)
{
    osp_exemplar_store *st = a->st;
    const osp_batch_exemplar *e = &a->b->exemplars[i];
    uint64_t id;
    int rc;
    if (e->series >= a->b->nseries) {
        a->rep->invalid++;
        if (!a->rep->error[0])
            snprintf(a->rep->error, sizeof a->rep->error, "exemplar %zu names no series", i);
        return 0;
    }
    const osp_series *s = &a->b->series[e->series];
    rc = osp_series_index_get_or_create(st->index, s->labels, s->nlabels, &id, NULL);
    if (rc == OSP_EINVAL || rc == OSP_ETOOBIG ||
        (rc == 0 && (rc = ensure_series(st, id)) == OSP_ETOOBIG)) {
        a->rep->invalid++;
        reject(a->rep, rc == OSP_EINVAL ? "malformed label set" : "too many series", s);
        return 0;
    }
    if (rc)
        return rc;
    if (label_chars(e->ex.labels, e->ex.nlabels) > OSP_EXEMPLAR_MAX_LABEL_CHARS) {
        a->rep->too_long++;
        reject(a->rep, "exemplar label set is too long (over 128 UTF-8 characters)", s);
        return 0;
    }
    osp_label *sorted = NULL;
    if (e->ex.nlabels &&
        !(sorted = osp_arena_memdup(&a->arena, e->ex.labels, e->ex.nlabels * sizeof *sorted)))
        return OSP_ENOMEM;
    osp_labels_sort(sorted, e->ex.nlabels);
    osp_buf_reset(&a->enc);
    if ((rc = put_labels(&a->enc, sorted, e->ex.nlabels)) != 0)
        return rc;
    osp_str labels = osp_buf_str(&a->enc);
    series_state *ss = &st->ser[id];
    newest buf;
    const newest *last = stored_newest(st, (uint32_t)id, &buf);
    if (ss->append == st->append) {
        const pending *p = &a->acc[ss->pending];
        buf = (newest){p->t_ms, p->value, p->labels, p->nlabels_bytes};
        last = &buf;
    }
    switch (admit(last, e->ex.t_ms, e->ex.value, labels)) {
    case ADMIT_DUP:
        a->rep->duplicate++;
        return 0;
    case ADMIT_OOO:
        a->rep->out_of_order++;
        reject(a->rep, "out of order exemplar", s);
        return 0;
    }
    pending *p = &a->acc[a->nacc];
    *p = (pending){(uint32_t)id, e->ex.t_ms, e->ex.value, NULL, (uint32_t)labels.n, {0}};
    if ((rc = copy_labels(labels, &p->labels)) != 0)
        return rc;
    osp_str *senc = &a->series_enc[e->series];
    if (!senc->p) {
        osp_buf_reset(&a->enc);
        if ((rc = put_labels(&a->enc, s->labels, s->nlabels)) == 0 &&
            !(*senc = osp_arena_strdup(&a->arena, osp_buf_str(&a->enc))).p)
            rc = OSP_ENOMEM;
    }
    if (rc) {
        osp_free(p->labels);
        return rc;
    }
    p->series_enc = *senc;
    ss->append = st->append;
    ss->pending = a->nacc++;
    return 0;
}

int osp_exemplar_store_append(osp_exemplar_store *st, const osp_series_batch *b,
                              osp_exemplar_report *rep)
{
    osp_exemplar_report scratch = {0};
    appender a = {.st = st, .b = b, .rep = rep ? rep : &scratch};
    int rc = 0;
    if (b->nexemplars == 0)
        return 0;
    osp_arena_init(&a.arena, 0, 0);
    osp_buf_init(&a.enc, 0);
    pthread_mutex_lock(&st->write_mu);
    st->append++;
    a.series_enc = osp_arena_calloc(&a.arena, b->nseries ? b->nseries : 1, sizeof *a.series_enc);
    a.acc = osp_malloc(b->nexemplars * sizeof *a.acc);
    if (!a.series_enc || !a.acc)
        rc = OSP_ENOMEM;
    for (size_t i = 0; i < b->nexemplars && rc == 0; i++)
        rc = check_one(&a, i);
    log_writer w = {st->wal, {0}, 0};
    osp_buf_init(&w.rec, 0);
    for (size_t i = 0; i < a.nacc && rc == 0; i++)
        rc = log_add(&w, a.acc[i].series_enc,
                     osp_str_make((const char *)a.acc[i].labels, a.acc[i].nlabels_bytes),
                     a.acc[i].t_ms, a.acc[i].value);
    if (rc == 0)
        rc = log_flush(&w);
    osp_buf_cleanup(&w.rec);
    if (rc == 0) {
        pthread_rwlock_wrlock(&st->lock);
        for (size_t i = 0; i < a.nacc; i++)
            ring_put(st, a.acc[i].series, a.acc[i].t_ms, a.acc[i].value, a.acc[i].labels,
                     a.acc[i].nlabels_bytes);
        pthread_rwlock_unlock(&st->lock);
        a.rep->accepted += a.nacc;
        st->logged += a.nacc;
        if (st->logged > CHECKPOINT_FACTOR * (uint64_t)st->capacity)
            checkpoint(st);
    } else {
        for (size_t i = 0; i < a.nacc; i++)
            osp_free(a.acc[i].labels);
    }
    pthread_mutex_unlock(&st->write_mu);
    osp_free(a.acc);
    osp_buf_cleanup(&a.enc);
    osp_arena_cleanup(&a.arena);
    return rc == OSP_ETOOBIG ? OSP_EIO : rc;
}

size_t osp_exemplar_store_series(osp_exemplar_store *st)
{
    uint64_t live;
    osp_series_index_counts(st->index, NULL, &live);
    return (size_t)live;
}

/* ---- select ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_result(const void *a, const void *b)
{
    const osp_series_exemplars *x = a, *y = b;
    return osp_labels_compare(x->labels, x->nlabels, y->labels, y->nlabels);
}

/* The union of the series ids every set selects, ascending and unique. */
static int select_ids(osp_exemplar_store *st, const osp_matcher_set *sets, size_t nsets,
                      osp_arena *arena, uint64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    for (size_t i = 0; i < nsets; i++) {
        uint64_t *got;
        size_t ngot;
        int rc = osp_series_select(st->index, sets[i].m, sets[i].n, arena, &got, &ngot);
        if (rc)
            return rc;
        if (*n == 0) {
            *ids = got;
            *n = ngot;
            continue;
        }
        uint64_t *all = osp_arena_alloc(arena, (*n + ngot) * sizeof *all);
        if (!all)
            return OSP_ENOMEM;
        memcpy(all, *ids, *n * sizeof *all);
        memcpy(all + *n, got, ngot * sizeof *all);
        *ids = all;
        *n += ngot;
    }
    if (nsets > 1 && *n > 1) {
        qsort(*ids, *n, sizeof **ids, cmp_u64);
        size_t k = 1;
        for (size_t i = 1; i < *n; i++)
            if ((*ids)[i] != (*ids)[k - 1])
                (*ids)[k++] = (*ids)[i];
        *n = k;
    }
    return 0;
}

/* The exemplars of series id in the range, appended to *out as one entry (none when it
 * has none in the range). Caller holds lock shared. */
static int collect(osp_exemplar_store *st, uint32_t id, int64_t mint, int64_t maxt,
                   osp_arena *arena, osp_series_exemplars *out, uint32_t *out_ids, size_t *nout)
{
    const series_state *ss = &st->ser[id];
    size_t n = 0;
    if (ss->oldest == NONE || st->ring[ss->oldest].t_ms > maxt || st->ring[ss->newest].t_ms < mint)
        return 0;
    for (uint32_t at = ss->oldest; at != NONE; at = st->ring[at].next)
        n += st->ring[at].t_ms >= mint && st->ring[at].t_ms <= maxt;
    if (n == 0)
        return 0;
    osp_prom_exemplar *ex = osp_arena_alloc(arena, n * sizeof *ex);
    if (!ex)
        return OSP_ENOMEM;
    n = 0;
    for (uint32_t at = ss->oldest; at != NONE; at = st->ring[at].next) {
        const slot *s = &st->ring[at];
        if (s->t_ms < mint || s->t_ms > maxt)
            continue;
        osp_prom_exemplar *e = &ex[n++];
        *e = (osp_prom_exemplar){NULL, 0, s->value, s->t_ms};
        /* Decoded from a copy: the slot's bytes go when a later append overwrites it. */
        osp_str enc =
            osp_arena_strdup(arena, osp_str_make((const char *)s->labels, s->nlabels_bytes));
        if (!enc.p)
            return OSP_ENOMEM;
        int rc = get_labels(enc, arena, &e->labels, &e->nlabels);
        if (rc)
            return rc;
    }
    out[*nout] = (osp_series_exemplars){NULL, 0, ex, n}; /* labels: after the lock */
    out_ids[(*nout)++] = id;
    return 0;
}

int osp_exemplar_store_select(osp_exemplar_store *st, const osp_matcher_set *sets, size_t nsets,
                              int64_t mint_ms, int64_t maxt_ms, osp_arena *arena,
                              osp_series_exemplars **out, size_t *nout)
{
    uint64_t *ids;
    size_t nids, n = 0;
    *out = NULL;
    *nout = 0;
    int rc = select_ids(st, sets, nsets, arena, &ids, &nids);
    if (rc || nids == 0)
        return rc;
    osp_series_exemplars *res = osp_arena_alloc(arena, nids * sizeof *res);
    uint32_t *res_ids = osp_arena_alloc(arena, nids * sizeof *res_ids);
    if (!res || !res_ids)
        return OSP_ENOMEM;
    pthread_rwlock_rdlock(&st->lock);
    for (size_t i = 0; i < nids && rc == 0; i++)
        if (ids[i] < st->nser)
            rc = collect(st, (uint32_t)ids[i], mint_ms, maxt_ms, arena, res, res_ids, &n);
    pthread_rwlock_unlock(&st->lock);
    size_t kept = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        res[kept] = res[i];
        rc = osp_series_labels(st->index, res_ids[i], arena, &res[kept].labels, &res[kept].nlabels);
        if (rc == OSP_ENOTFOUND) /* its last exemplar went, and the series, since: skip it */
            rc = 0;
        else if (rc == 0)
            kept++;
    }
    if (rc)
        return rc;
    n = kept;
    if (n > 1)
        qsort(res, n, sizeof *res, cmp_result);
    *out = res;
    *nout = n;
    return 0;
}
