/* In-memory series index: interned strings, label set hash table, postings, matchers. */
#include "store/tsdb/index.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/re2.h"

#define NONE UINT32_MAX
#define BLOCK_SIZE 65536 /* string bytes per block; longer strings get their own */

typedef struct sblock {
    struct sblock *next;
    size_t used, cap;
    char data[];
} sblock;

typedef struct sstr {
    const char *p; /* into a block, NUL-terminated, stable for the index's life */
    uint32_t n;
} sstr;

typedef struct postings {
    uint32_t *a; /* ascending series ids */
    uint32_t n, cap;
} postings;

typedef struct pair {
    uint32_t name, value; /* string ids */
    postings p;
} pair;

typedef struct lname {
    uint32_t name;   /* string id */
    uint32_t n, cap; /* pair indexes in pairs */
    uint32_t *pairs;
} lname;

typedef struct kslot {
    uint64_t key;
    uint32_t val; /* value + 1; 0 = empty slot */
} kslot;

typedef struct kmap {
    kslot *s; /* NULL while empty */
    size_t mask, used;
} kmap;

typedef struct sslot {
    uint32_t id1; /* series id + 1; 0 = empty slot */
    uint32_t tag; /* high 32 bits of the set hash */
} sslot;

/* The postings and the label names' value lists: rebuilt whole when series are removed. */
typedef struct ptab {
    pair *pairs;
    size_t npairs, cappairs;
    kmap pairmap; /* name << 32 | value -> pair index */
    lname *names;
    size_t nnames, capnames;
    kmap namemap; /* name string id -> names index */
} ptab;

struct osp_series_index {
    pthread_rwlock_t lock;
    uint64_t max_per_metric; /* 0 = none */
    uint64_t hash_mask;      /* test hook; ~0 normally */
    /* string table */
    sblock *blocks; /* current block first */
    sstr *strs;
    size_t nstrs, capstrs;
    uint32_t *sslots; /* string id + 1; 0 = empty */
    size_t smask;
    /* series */
    uint32_t *off; /* nseries + 1 offsets into lab; a removed series' range is empty */
    size_t capoff;
    uint32_t *lab; /* per series: name id, value id, ... */
    size_t nlab, caplab;
    size_t nseries;  /* ids assigned */
    size_t nremoved; /* of which removed */
    sslot *ser;      /* label set hash table (live series only) */
    size_t sermask;
    ptab pt;
};

static int grow(void *pp, size_t *cap, size_t need, size_t elem)
{
    void **p = pp;
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 8;
    while (nc < need)
        nc *= 2;
    void *q = osp_realloc(*p, nc * elem);
    if (!q)
        return OSP_ENOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

static uint64_t mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static uint32_t kmap_get(const kmap *m, uint64_t key)
{
    if (!m->s)
        return NONE;
    for (size_t i = mix64(key) & m->mask;; i = (i + 1) & m->mask) {
        if (!m->s[i].val)
            return NONE;
        if (m->s[i].key == key)
            return m->s[i].val - 1;
    }
}

static void kmap_place(kslot *s, size_t mask, kslot e)
{
    size_t i = mix64(e.key) & mask;
    while (s[i].val)
        i = (i + 1) & mask;
    s[i] = e;
}

/* Makes room for one more entry (load factor at most 3/4). */
static int kmap_reserve(kmap *m)
{
    size_t n = m->s ? m->mask + 1 : 0;
    if ((m->used + 1) * 4 <= n * 3)
        return 0;
    size_t nn = n ? n * 2 : 16;
    kslot *s = osp_calloc(nn, sizeof *s);
    if (!s)
        return OSP_ENOMEM;
    for (size_t j = 0; j < n; j++)
        if (m->s[j].val)
            kmap_place(s, nn - 1, m->s[j]);
    osp_free(m->s);
    m->s = s;
    m->mask = nn - 1;
    return 0;
}

static void kmap_put(kmap *m, uint64_t key, uint32_t val)
{
    kmap_place(m->s, m->mask, (kslot){key, val + 1});
    m->used++;
}

/* ---- string table ---- */

static int str_is(const sstr *e, const char *p, size_t n)
{
    return e->n == n && (n == 0 || memcmp(e->p, p, n) == 0);
}

static uint32_t str_find(const osp_series_index *idx, osp_str s)
{
    if (!idx->sslots)
        return NONE;
    for (size_t i = XXH64(s.p, s.n, 0) & idx->smask;; i = (i + 1) & idx->smask) {
        uint32_t v = idx->sslots[i];
        if (!v)
            return NONE;
        if (str_is(&idx->strs[v - 1], s.p, s.n))
            return v - 1;
    }
}

static int str_intern(osp_series_index *idx, osp_str s, uint32_t *id)
{
    int rc;
    uint32_t f = str_find(idx, s);
    if (f != NONE) {
        *id = f;
        return 0;
    }
    if (idx->nstrs >= NONE - 1)
        return OSP_ETOOBIG;
    if ((rc = grow(&idx->strs, &idx->capstrs, idx->nstrs + 1, sizeof *idx->strs)))
        return rc;
    size_t nslots = idx->sslots ? idx->smask + 1 : 0;
    if ((idx->nstrs + 1) * 4 > nslots * 3) {
        size_t nn = nslots ? nslots * 2 : 64;
        uint32_t *t = osp_calloc(nn, sizeof *t);
        if (!t)
            return OSP_ENOMEM;
        for (size_t j = 0; j < idx->nstrs; j++) {
            size_t i = XXH64(idx->strs[j].p, idx->strs[j].n, 0) & (nn - 1);
            while (t[i])
                i = (i + 1) & (nn - 1);
            t[i] = (uint32_t)j + 1;
        }
        osp_free(idx->sslots);
        idx->sslots = t;
        idx->smask = nn - 1;
    }
    sblock *b = idx->blocks;
    if (!b || b->cap - b->used < s.n + 1) {
        size_t cap = s.n >= BLOCK_SIZE / 4 ? s.n + 1 : BLOCK_SIZE;
        sblock *nb = osp_malloc(sizeof *nb + cap);
        if (!nb)
            return OSP_ENOMEM;
        nb->used = 0;
        nb->cap = cap;
        if (b && cap != BLOCK_SIZE) { /* a big string's own block: keep the current one first */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            idx->blocks = nb;
        }
        b = nb;
    }
    char *p = b->data + b->used;
    memcpy(p, s.p, s.n);
    p[s.n] = 0; /* for regexec (and sanitizers that strlen its argument) */
    b->used += s.n + 1;
    idx->strs[idx->nstrs] = (sstr){p, (uint32_t)s.n};
    size_t i = XXH64(s.p, s.n, 0) & idx->smask;
    while (idx->sslots[i])
        i = (i + 1) & idx->smask;
    idx->sslots[i] = (uint32_t)idx->nstrs + 1;
    *id = (uint32_t)idx->nstrs++;
    return 0;
}

static osp_str str_get(const osp_series_index *idx, uint32_t id)
{
    return osp_str_make(idx->strs[id].p, idx->strs[id].n);
}

/* ---- label sets ---- */

#define SET_SEED 0x2545f4914f6cdd1dULL
#define VAL_SALT 0x9e3779b97f4a7c15ULL

static uint64_t set_hash(const osp_label *l, size_t n)
{
    uint64_t h = SET_SEED;
    for (size_t i = 0; i < n; i++) {
        h = XXH64(l[i].name.p, l[i].name.n, h);
        h = XXH64(l[i].value.p, l[i].value.n, h ^ VAL_SALT);
    }
    return h;
}

static uint64_t series_hash(const osp_series_index *idx, size_t id)
{
    uint64_t h = SET_SEED;
    for (size_t j = idx->off[id]; j < idx->off[id + 1]; j += 2) {
        const sstr *nm = &idx->strs[idx->lab[j]], *v = &idx->strs[idx->lab[j + 1]];
        h = XXH64(nm->p, nm->n, h);
        h = XXH64(v->p, v->n, h ^ VAL_SALT);
    }
    return h & idx->hash_mask;
}

static int series_eq(const osp_series_index *idx, size_t id, const osp_label *l, size_t n)
{
    size_t b = idx->off[id], e = idx->off[id + 1];
    if ((e - b) / 2 != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!str_is(&idx->strs[idx->lab[b + 2 * i]], l[i].name.p, l[i].name.n) ||
            !str_is(&idx->strs[idx->lab[b + 2 * i + 1]], l[i].value.p, l[i].value.n))
            return 0;
    }
    return 1;
}

static uint32_t series_find(const osp_series_index *idx, const osp_label *l, size_t n, uint64_t h)
{
    if (!idx->ser)
        return NONE;
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = h & idx->sermask;; i = (i + 1) & idx->sermask) {
        sslot s = idx->ser[i];
        if (!s.id1)
            return NONE;
        if (s.tag == tag && series_eq(idx, s.id1 - 1, l, n))
            return s.id1 - 1;
    }
}

static void ser_place(sslot *t, size_t mask, uint64_t h, uint32_t id)
{
    size_t i = h & mask;
    while (t[i].id1)
        i = (i + 1) & mask;
    t[i] = (sslot){id + 1, (uint32_t)(h >> 32)};
}

static int series_live(const osp_series_index *idx, size_t id)
{
    return idx->off[id] != idx->off[id + 1]; /* a label set is never empty */
}

/* A table of nn slots (a power of two) holding every live series not marked in dead
 * (NULL: none marked). */
static sslot *ser_build(const osp_series_index *idx, size_t nn, const uint8_t *dead)
{
    sslot *t = osp_calloc(nn, sizeof *t);
    for (size_t id = 0; t && id < idx->nseries; id++)
        if (series_live(idx, id) && !(dead && dead[id]))
            ser_place(t, nn - 1, series_hash(idx, id), (uint32_t)id);
    return t;
}

/* The table size for n live series: load factor at most 3/4. */
static size_t ser_size_for(size_t n)
{
    size_t nn = 64;
    while (n * 4 > nn * 3)
        nn *= 2;
    return nn;
}

static int ser_reserve(osp_series_index *idx)
{
    size_t n = idx->ser ? idx->sermask + 1 : 0, live = idx->nseries - idx->nremoved;
    if ((live + 1) * 4 <= n * 3)
        return 0;
    size_t nn = n ? n * 2 : ser_size_for(live + 1);
    sslot *t = ser_build(idx, nn, NULL);
    if (!t)
        return OSP_ENOMEM;
    osp_free(idx->ser);
    idx->ser = t;
    idx->sermask = nn - 1;
    return 0;
}

static int validate(const osp_label *l, size_t n)
{
    if (!l || n == 0 || n > UINT32_MAX / 8)
        return OSP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (l[i].name.n == 0 || l[i].value.n == 0)
            return OSP_EINVAL;
        if (l[i].name.n > UINT32_MAX || l[i].value.n > UINT32_MAX)
            return OSP_ETOOBIG;
        if (i > 0 && osp_str_cmp(l[i - 1].name, l[i].name) >= 0)
            return OSP_EINVAL;
    }
    return 0;
}

/* ---- postings ---- */

static uint64_t pair_key(uint32_t name, uint32_t value)
{
    return (uint64_t)name << 32 | value;
}

static uint32_t name_find(const osp_series_index *idx, osp_str name)
{
    uint32_t s = str_find(idx, name);
    return s == NONE ? NONE : kmap_get(&idx->pt.namemap, s);
}

/* Finds or adds the (name, value) postings list of t, empty when new. */
static int pair_get_or_add(ptab *t, uint32_t name, uint32_t value, uint32_t *pi)
{
    int rc;
    uint64_t key = pair_key(name, value);
    uint32_t p = kmap_get(&t->pairmap, key);
    if (p != NONE) {
        *pi = p;
        return 0;
    }
    uint32_t ni = kmap_get(&t->namemap, name);
    if (ni == NONE) {
        if ((rc = grow(&t->names, &t->capnames, t->nnames + 1, sizeof *t->names)) ||
            (rc = kmap_reserve(&t->namemap)))
            return rc;
        t->names[t->nnames] = (lname){name, 0, 0, NULL};
        kmap_put(&t->namemap, name, (uint32_t)t->nnames);
        ni = (uint32_t)t->nnames++;
    }
    lname *ln = &t->names[ni];
    size_t cap = ln->cap;
    if ((rc = grow(&ln->pairs, &cap, (size_t)ln->n + 1, sizeof *ln->pairs)))
        return rc;
    ln->cap = (uint32_t)cap;
    if ((rc = grow(&t->pairs, &t->cappairs, t->npairs + 1, sizeof *t->pairs)) ||
        (rc = kmap_reserve(&t->pairmap)))
        return rc;
    t->pairs[t->npairs] = (pair){name, value, {NULL, 0, 0}};
    kmap_put(&t->pairmap, key, (uint32_t)t->npairs);
    ln->pairs[ln->n++] = (uint32_t)t->npairs;
    *pi = (uint32_t)t->npairs++;
    return 0;
}

static void ptab_cleanup(ptab *t)
{
    for (size_t i = 0; i < t->npairs; i++)
        osp_free(t->pairs[i].p.a);
    for (size_t i = 0; i < t->nnames; i++)
        osp_free(t->names[i].pairs);
    osp_free(t->pairs);
    osp_free(t->pairmap.s);
    osp_free(t->names);
    osp_free(t->namemap.s);
    memset(t, 0, sizeof *t);
}

static int postings_reserve(postings *p)
{
    if (p->n < p->cap)
        return 0;
    size_t nc = p->cap ? (size_t)p->cap * 2 : 2;
    uint32_t *a = osp_realloc(p->a, nc * sizeof *a);
    if (!a)
        return OSP_ENOMEM;
    p->a = a;
    p->cap = (uint32_t)nc;
    return 0;
}

/* ---- public API ---- */

int osp_series_index_create(const osp_series_index_config *cfg, osp_series_index **out)
{
    osp_series_index *idx = osp_calloc(1, sizeof *idx);
    if (!idx)
        return OSP_ENOMEM;
    if (grow(&idx->off, &idx->capoff, 1, sizeof *idx->off)) {
        osp_free(idx);
        return OSP_ENOMEM;
    }
    idx->off[0] = 0;
    idx->max_per_metric = cfg ? cfg->max_series_per_metric : 0;
    idx->hash_mask = ~(uint64_t)0;
    if (pthread_rwlock_init(&idx->lock, NULL) != 0) {
        osp_free(idx->off);
        osp_free(idx);
        return OSP_ENOMEM;
    }
    *out = idx;
    return 0;
}

void osp_series_index_destroy(osp_series_index *idx)
{
    if (!idx)
        return;
    for (sblock *b = idx->blocks, *next; b; b = next) {
        next = b->next;
        osp_free(b);
    }
    ptab_cleanup(&idx->pt);
    osp_free(idx->strs);
    osp_free(idx->sslots);
    osp_free(idx->off);
    osp_free(idx->lab);
    osp_free(idx->ser);
    pthread_rwlock_destroy(&idx->lock);
    osp_free(idx);
}

void osp_series_index_set_limit(osp_series_index *idx, uint64_t max_series_per_metric)
{
    pthread_rwlock_wrlock(&idx->lock);
    idx->max_per_metric = max_series_per_metric;
    pthread_rwlock_unlock(&idx->lock);
}

void osp__series_index_set_hash_mask(osp_series_index *idx, uint64_t mask)
{
    assert(idx->nseries == 0);
    idx->hash_mask = mask;
}

/* Called with the write lock held and the set known to be absent. */
static int series_insert(osp_series_index *idx, const osp_label *l, size_t n, uint64_t h,
                         uint32_t *id)
{
    int rc;
    if (idx->max_per_metric) {
        for (size_t i = 0; i < n; i++) {
            if (!osp_str_eqz(l[i].name, OSP_METRIC_NAME_LABEL))
                continue;
            uint32_t nm = str_find(idx, l[i].name), v = str_find(idx, l[i].value);
            uint32_t pi =
                nm == NONE || v == NONE ? NONE : kmap_get(&idx->pt.pairmap, pair_key(nm, v));
            if (pi != NONE && idx->pt.pairs[pi].p.n >= idx->max_per_metric)
                return OSP_ETOOBIG;
            break;
        }
    }
    if (idx->nseries >= NONE - 1 || idx->nlab + 2 * n > UINT32_MAX)
        return OSP_ETOOBIG;
    if ((rc = grow(&idx->lab, &idx->caplab, idx->nlab + 2 * n, sizeof *idx->lab)) ||
        (rc = grow(&idx->off, &idx->capoff, idx->nseries + 2, sizeof *idx->off)) ||
        (rc = ser_reserve(idx)))
        return rc;
    /* Intern into the unused tail of lab, then make every postings list ready to take
     * one more id; nothing below the commit point can fail. */
    uint32_t *ids = idx->lab + idx->nlab;
    for (size_t i = 0; i < n; i++) {
        uint32_t pi;
        if ((rc = str_intern(idx, l[i].name, &ids[2 * i])) ||
            (rc = str_intern(idx, l[i].value, &ids[2 * i + 1])) ||
            (rc = pair_get_or_add(&idx->pt, ids[2 * i], ids[2 * i + 1], &pi)) ||
            (rc = postings_reserve(&idx->pt.pairs[pi].p)))
            return rc;
    }
    /* commit */
    uint32_t sid = (uint32_t)idx->nseries;
    for (size_t i = 0; i < n; i++) {
        postings *p =
            &idx->pt.pairs[kmap_get(&idx->pt.pairmap, pair_key(ids[2 * i], ids[2 * i + 1]))].p;
        p->a[p->n++] = sid;
    }
    idx->nlab += 2 * n;
    idx->off[sid + 1] = (uint32_t)idx->nlab;
    idx->nseries++;
    ser_place(idx->ser, idx->sermask, h, sid);
    *id = sid;
    return 0;
}

int osp_series_index_get_or_create(osp_series_index *idx, const osp_label *labels, size_t n,
                                   uint64_t *series_id, int *created)
{
    int rc = validate(labels, n);
    if (rc)
        return rc;
    uint64_t h = set_hash(labels, n) & idx->hash_mask;
    pthread_rwlock_rdlock(&idx->lock);
    uint32_t id = series_find(idx, labels, n, h);
    pthread_rwlock_unlock(&idx->lock);
    int made = 0;
    if (id == NONE) {
        pthread_rwlock_wrlock(&idx->lock);
        id = series_find(idx, labels, n, h);
        if (id == NONE) {
            rc = series_insert(idx, labels, n, h, &id);
            made = rc == 0;
        }
        pthread_rwlock_unlock(&idx->lock);
        if (rc)
            return rc;
    }
    *series_id = id;
    if (created)
        *created = made;
    return 0;
}

/* The postings of every live series not marked in dead, into an empty t. */
static int ptab_build(const osp_series_index *idx, const uint8_t *dead, ptab *t)
{
    int rc = 0;
    for (size_t id = 0; id < idx->nseries && rc == 0; id++) {
        if (dead[id] || !series_live(idx, id))
            continue;
        for (size_t j = idx->off[id]; j < idx->off[id + 1] && rc == 0; j += 2) {
            uint32_t pi;
            if ((rc = pair_get_or_add(t, idx->lab[j], idx->lab[j + 1], &pi)) == 0 &&
                (rc = postings_reserve(&t->pairs[pi].p)) == 0)
                t->pairs[pi].p.a[t->pairs[pi].p.n++] = (uint32_t)id;
        }
    }
    return rc;
}

/* Drops the label ids of the series marked in dead from lab, leaving their ranges empty. */
static void lab_compact(osp_series_index *idx, const uint8_t *dead)
{
    uint32_t from = idx->off[0], k = 0;
    for (size_t id = 0; id < idx->nseries; id++) {
        uint32_t end = idx->off[id + 1];
        idx->off[id] = k;
        if (!dead[id]) {
            memmove(idx->lab + k, idx->lab + from, (end - from) * sizeof *idx->lab);
            k += end - from;
        }
        from = end;
    }
    idx->off[idx->nseries] = k;
    idx->nlab = k;
    if (idx->caplab > 1024 && idx->nlab < idx->caplab / 4) {
        uint32_t *lab = osp_realloc(idx->lab, idx->nlab * 2 * sizeof *lab);
        if (lab) {
            idx->lab = lab;
            idx->caplab = idx->nlab * 2;
        }
    }
}

int osp_series_index_remove(osp_series_index *idx, const uint64_t *ids, size_t n)
{
    ptab t = {0};
    sslot *ser = NULL;
    size_t ndead = 0, nn = 0;
    pthread_rwlock_wrlock(&idx->lock);
    uint8_t *dead = osp_calloc(idx->nseries + 1, 1);
    int rc = dead ? 0 : OSP_ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (ids[i] < idx->nseries && series_live(idx, ids[i]) && !dead[ids[i]]) {
            dead[ids[i]] = 1;
            ndead++;
        }
    if (rc == 0 && ndead) {
        nn = ser_size_for(idx->nseries - idx->nremoved - ndead);
        if ((rc = ptab_build(idx, dead, &t)) == 0 && !(ser = ser_build(idx, nn, dead)))
            rc = OSP_ENOMEM;
    }
    if (rc == 0 && ndead) { /* commit: nothing below fails */
        ptab_cleanup(&idx->pt);
        idx->pt = t;
        osp_free(idx->ser);
        idx->ser = ser;
        idx->sermask = nn - 1;
        lab_compact(idx, dead);
        idx->nremoved += ndead;
    } else {
        ptab_cleanup(&t);
        osp_free(ser);
    }
    pthread_rwlock_unlock(&idx->lock);
    osp_free(dead);
    return rc;
}

#define LOOKAHEAD 8 /* sets hashed and probed ahead in a batch lookup (power of two) */

/* Starts loading the probe slot of hash h. */
static void probe_prefetch(const osp_series_index *idx, uint64_t h)
{
    __builtin_prefetch(&idx->ser[h & idx->sermask]);
}

/* Once the probe slot is loaded: starts loading the label ids of its series. */
static void labels_prefetch(const osp_series_index *idx, uint64_t h)
{
    sslot s = idx->ser[h & idx->sermask];
    if (s.id1 && s.tag == (uint32_t)(h >> 32)) {
        __builtin_prefetch(&idx->lab[idx->off[s.id1 - 1]]);
        __builtin_prefetch(&idx->lab[idx->off[s.id1 - 1]] + 16);
    }
}

void osp_series_index_lookup_batch(osp_series_index *idx, const osp_series *series, size_t n,
                                   uint64_t *ids)
{
    uint64_t h[LOOKAHEAD];
    uint8_t ok[LOOKAHEAD];
    pthread_rwlock_rdlock(&idx->lock);
    if (!idx->ser) {
        pthread_rwlock_unlock(&idx->lock);
        for (size_t i = 0; i < n; i++)
            ids[i] = UINT64_MAX;
        return;
    }
    for (size_t i = 0; i < n + LOOKAHEAD; i++) {
        if (i < n) { /* stage 1: hash and prefetch the probe slot */
            size_t k = i & (LOOKAHEAD - 1);
            /* no validation: only a well-formed set can equal a stored one */
            ok[k] = series[i].nlabels > 0;
            if (ok[k]) {
                h[k] = set_hash(series[i].labels, series[i].nlabels) & idx->hash_mask;
                probe_prefetch(idx, h[k]);
            }
        }
        size_t j = i - LOOKAHEAD / 2; /* stage 2: prefetch the candidate's label ids */
        if (i >= LOOKAHEAD / 2 && j < n && ok[j & (LOOKAHEAD - 1)])
            labels_prefetch(idx, h[j & (LOOKAHEAD - 1)]);
        j = i - (LOOKAHEAD - 1); /* stage 3: compare */
        if (i >= LOOKAHEAD - 1 && j < n) {
            size_t k = j & (LOOKAHEAD - 1);
            uint32_t id =
                ok[k] ? series_find(idx, series[j].labels, series[j].nlabels, h[k]) : NONE;
            ids[j] = id == NONE ? UINT64_MAX : id;
        }
    }
    pthread_rwlock_unlock(&idx->lock);
}

/* ---- matchers ---- */

typedef struct idlist {
    const uint32_t *a;
    size_t n;
} idlist;

typedef struct mstate {
    osp_re2 re;
    int has_re;
    int absent; /* the matcher accepts "", so series without the label pass */
} mstate;

/* 1 if the regex matches p[0..n) (out of memory counts as no match). */
static int rx_match(const osp_re2 *re, const char *p, size_t n)
{
    return osp_re2_match(re, osp_str_make(p, n), NULL, 0) == 1;
}

/* The matcher's verdict on one value, negation included. */
static int m_match(const osp_label_matcher *m, const mstate *st, const char *p, size_t n)
{
    switch (m->type) {
    case OSP_MATCH_EQ:
        return osp_str_eq(m->value, osp_str_make(p, n));
    case OSP_MATCH_NEQ:
        return !osp_str_eq(m->value, osp_str_make(p, n));
    case OSP_MATCH_RE:
        return rx_match(&st->re, p, n);
    default:
        return !rx_match(&st->re, p, n);
    }
}

static int re_compile(const osp_label_matcher *m, mstate *st)
{
    int rc = osp_re2_compile(&st->re, m->value, OSP_RE2_ANCHORED | OSP_RE2_NOSUB, NULL, 0);
    if (rc)
        return rc == OSP_ENOMEM ? rc : OSP_EPARSE;
    st->has_re = 1;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_idlist(const void *a, const void *b)
{
    size_t x = ((const idlist *)a)->n, y = ((const idlist *)b)->n;
    return x < y ? -1 : x > y;
}

/* Union of the postings of the values of name entry ln whose verdict is want. The lists of
 * one name are disjoint (a series has one value per name), so concatenating and sorting
 * is the union. Read lock held. */
static int collect(const osp_series_index *idx, const osp_label_matcher *m, const mstate *st,
                   const lname *ln, int want, osp_arena *arena, idlist *out)
{
    *out = (idlist){NULL, 0};
    if ((m->type == OSP_MATCH_EQ && want) || (m->type == OSP_MATCH_NEQ && !want)) {
        uint32_t v = str_find(idx, m->value);
        uint32_t pi = v == NONE ? NONE : kmap_get(&idx->pt.pairmap, pair_key(ln->name, v));
        if (pi != NONE)
            *out = (idlist){idx->pt.pairs[pi].p.a, idx->pt.pairs[pi].p.n};
        return 0;
    }
    uint32_t *hit = osp_arena_alloc(arena, (ln->n + 1) * sizeof *hit);
    if (!hit)
        return OSP_ENOMEM;
    size_t nhit = 0, total = 0;
    for (uint32_t i = 0; i < ln->n; i++) {
        const pair *pr = &idx->pt.pairs[ln->pairs[i]];
        if (pr->p.n == 0)
            continue;
        const sstr *v = &idx->strs[pr->value];
        if (m_match(m, st, v->p, v->n) == want) {
            hit[nhit++] = ln->pairs[i];
            total += pr->p.n;
        }
    }
    if (nhit == 1) {
        *out = (idlist){idx->pt.pairs[hit[0]].p.a, total};
    } else if (nhit > 1) {
        uint32_t *a = osp_arena_alloc(arena, total * sizeof *a);
        if (!a)
            return OSP_ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < nhit; i++) {
            const postings *p = &idx->pt.pairs[hit[i]].p;
            memcpy(a + k, p->a, p->n * sizeof *a);
            k += p->n;
        }
        qsort(a, total, sizeof *a, cmp_u32);
        *out = (idlist){a, total};
    }
    return 0;
}

static size_t intersect(uint32_t *r, size_t rn, idlist b)
{
    size_t i = 0, j = 0, k = 0;
    while (i < rn && j < b.n) {
        if (r[i] < b.a[j])
            i++;
        else if (r[i] > b.a[j])
            j++;
        else {
            r[k++] = r[i++];
            j++;
        }
    }
    return k;
}

static size_t subtract(uint32_t *r, size_t rn, idlist b)
{
    size_t i = 0, j = 0, k = 0;
    while (i < rn) {
        while (j < b.n && b.a[j] < r[i])
            j++;
        if (j < b.n && b.a[j] == r[i])
            i++;
        else
            r[k++] = r[i++];
    }
    return k;
}

int osp_series_select(osp_series_index *idx, const osp_label_matcher *m, size_t n, osp_arena *arena,
                      uint64_t **ids, size_t *nids)
{
    int rc = 0, locked = 0;
    size_t npos = 0, nneg = 0, rn = 0;
    uint32_t *r = NULL;
    *ids = NULL;
    *nids = 0;
    if (!m || n == 0)
        return OSP_EINVAL;
    mstate *st = osp_calloc(n, sizeof *st);
    idlist *pos = osp_arena_alloc(arena, n * sizeof *pos);
    idlist *neg = osp_arena_alloc(arena, n * sizeof *neg);
    if (!st || !pos || !neg) {
        rc = OSP_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (m[i].type < OSP_MATCH_EQ || m[i].type > OSP_MATCH_NRE || m[i].name.n == 0) {
            rc = OSP_EINVAL;
            goto out;
        }
        if ((m[i].type == OSP_MATCH_RE || m[i].type == OSP_MATCH_NRE) &&
            (rc = re_compile(&m[i], &st[i])))
            goto out;
        st[i].absent = m_match(&m[i], &st[i], "", 0);
    }
    pthread_rwlock_rdlock(&idx->lock);
    locked = 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t ni = name_find(idx, m[i].name);
        idlist l;
        if (ni == NONE) {
            if (st[i].absent)
                continue; /* no series has the label: all pass */
            goto out;     /* none can match */
        }
        if ((rc = collect(idx, &m[i], &st[i], &idx->pt.names[ni], !st[i].absent, arena, &l)))
            goto out;
        if (!st[i].absent) {
            if (l.n == 0)
                goto out;
            pos[npos++] = l;
        } else if (l.n) {
            neg[nneg++] = l;
        }
    }
    if (npos == 0) {
        size_t nall = 0;
        if (idx->nseries == idx->nremoved)
            goto out;
        uint32_t *all = osp_arena_alloc(arena, (idx->nseries - idx->nremoved) * sizeof *all);
        if (!all) {
            rc = OSP_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < idx->nseries; i++)
            if (series_live(idx, i))
                all[nall++] = (uint32_t)i;
        pos[npos++] = (idlist){all, nall};
    }
    qsort(pos, npos, sizeof *pos, cmp_idlist);
    r = osp_arena_memdup(arena, pos[0].a, pos[0].n * sizeof *r);
    if (!r) {
        rc = OSP_ENOMEM;
        goto out;
    }
    rn = pos[0].n;
    for (size_t i = 1; i < npos && rn; i++)
        rn = intersect(r, rn, pos[i]);
    for (size_t i = 0; i < nneg && rn; i++)
        rn = subtract(r, rn, neg[i]);
out:
    if (locked)
        pthread_rwlock_unlock(&idx->lock);
    if (rc == 0 && rn) {
        uint64_t *o = osp_arena_alloc(arena, rn * sizeof *o);
        if (!o) {
            rc = OSP_ENOMEM;
        } else {
            for (size_t i = 0; i < rn; i++)
                o[i] = r[i];
            *ids = o;
            *nids = rn;
        }
    }
    if (st)
        for (size_t i = 0; i < n; i++)
            if (st[i].has_re)
                osp_re2_cleanup(&st[i].re);
    osp_free(st);
    return rc;
}

/* ---- listings ---- */

int osp_series_labels(osp_series_index *idx, uint64_t id, osp_arena *arena, osp_label **labels,
                      size_t *n)
{
    int rc = 0;
    *labels = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&idx->lock);
    if (id >= idx->nseries || !series_live(idx, id)) {
        rc = OSP_ENOTFOUND;
        goto out;
    }
    size_t b = idx->off[id], cnt = (idx->off[id + 1] - b) / 2;
    osp_label *l = osp_arena_alloc(arena, cnt * sizeof *l);
    if (!l) {
        rc = OSP_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < cnt; i++) {
        l[i].name = str_get(idx, idx->lab[b + 2 * i]);
        l[i].value = str_get(idx, idx->lab[b + 2 * i + 1]);
    }
    *labels = l;
    *n = cnt;
out:
    pthread_rwlock_unlock(&idx->lock);
    return rc;
}

static int lname_used(const osp_series_index *idx, const lname *ln)
{
    for (uint32_t i = 0; i < ln->n; i++)
        if (idx->pt.pairs[ln->pairs[i]].p.n)
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return osp_str_cmp(*(const osp_str *)a, *(const osp_str *)b);
}

int osp_series_label_names(osp_series_index *idx, osp_arena *arena, osp_str **names, size_t *n)
{
    int rc = 0;
    size_t k = 0;
    pthread_rwlock_rdlock(&idx->lock);
    osp_str *a = osp_arena_alloc(arena, (idx->pt.nnames + 1) * sizeof *a);
    if (!a) {
        rc = OSP_ENOMEM;
    } else {
        for (size_t i = 0; i < idx->pt.nnames; i++)
            if (lname_used(idx, &idx->pt.names[i]))
                a[k++] = str_get(idx, idx->pt.names[i].name);
    }
    pthread_rwlock_unlock(&idx->lock);
    if (rc == 0)
        qsort(a, k, sizeof *a, cmp_str);
    *names = rc ? NULL : a;
    *n = rc ? 0 : k;
    return rc;
}

int osp_series_label_values(osp_series_index *idx, osp_str name, osp_arena *arena, osp_str **values,
                            size_t *n)
{
    int rc = 0;
    size_t k = 0;
    osp_str *a = NULL;
    pthread_rwlock_rdlock(&idx->lock);
    uint32_t ni = name_find(idx, name);
    const lname *ln = ni == NONE ? NULL : &idx->pt.names[ni];
    a = osp_arena_alloc(arena, ((ln ? ln->n : 0) + 1) * sizeof *a);
    if (!a) {
        rc = OSP_ENOMEM;
    } else if (ln) {
        for (uint32_t i = 0; i < ln->n; i++) {
            const pair *pr = &idx->pt.pairs[ln->pairs[i]];
            if (pr->p.n)
                a[k++] = str_get(idx, pr->value);
        }
    }
    pthread_rwlock_unlock(&idx->lock);
    if (rc == 0)
        qsort(a, k, sizeof *a, cmp_str);
    *values = rc ? NULL : a;
    *n = rc ? 0 : k;
    return rc;
}

void osp_series_index_counts(osp_series_index *idx, uint64_t *assigned, uint64_t *live)
{
    pthread_rwlock_rdlock(&idx->lock);
    if (assigned)
        *assigned = idx->nseries;
    if (live)
        *live = idx->nseries - idx->nremoved;
    pthread_rwlock_unlock(&idx->lock);
}

void osp_series_index_get_stats(osp_series_index *idx, osp_series_index_stats *st)
{
    pthread_rwlock_rdlock(&idx->lock);
    size_t b = sizeof *idx;
    for (const sblock *s = idx->blocks; s; s = s->next)
        b += sizeof *s + s->cap;
    b += idx->capstrs * sizeof *idx->strs;
    b += idx->sslots ? (idx->smask + 1) * sizeof *idx->sslots : 0;
    b += idx->capoff * sizeof *idx->off + idx->caplab * sizeof *idx->lab;
    b += idx->ser ? (idx->sermask + 1) * sizeof *idx->ser : 0;
    b += idx->pt.cappairs * sizeof *idx->pt.pairs;
    for (size_t i = 0; i < idx->pt.npairs; i++)
        b += (size_t)idx->pt.pairs[i].p.cap * sizeof(uint32_t);
    b += idx->pt.pairmap.s ? (idx->pt.pairmap.mask + 1) * sizeof(kslot) : 0;
    b += idx->pt.capnames * sizeof *idx->pt.names;
    for (size_t i = 0; i < idx->pt.nnames; i++)
        b += (size_t)idx->pt.names[i].cap * sizeof(uint32_t);
    b += idx->pt.namemap.s ? (idx->pt.namemap.mask + 1) * sizeof(kslot) : 0;
    st->nseries = idx->nseries;
    st->nremoved = idx->nremoved;
    st->nstrings = idx->nstrs;
    st->npairs = idx->pt.npairs;
    st->bytes = b;
    pthread_rwlock_unlock(&idx->lock);
}
