/* String interning: an open-addressing hash table over an id-ordered string array. */
#include "core/intern.h"

#include <xxhash.h>

#include "core/err.h"
#include "core/mem.h"

#define MAX_IDS (1u << 31)

void osp_intern_init(osp_intern *t, int copy)
{
    memset(t, 0, sizeof *t);
    t->copy = copy;
    osp_arena_init(&t->arena, 0, 0);
}

void osp_intern_cleanup(osp_intern *t)
{
    osp_arena_cleanup(&t->arena);
    osp_free(t->strs);
    osp_free(t->hashes);
    osp_free(t->slots);
    osp_intern_init(t, t->copy);
}

static uint64_t hash_of(osp_str s)
{
    return XXH3_64bits(s.n ? s.p : "", s.n);
}

/* Slot holding s (its value is 0 when s is absent and the slot is free). */
static uint32_t probe(const osp_intern *t, osp_str s, uint64_t h)
{
    uint32_t i = (uint32_t)h & t->mask;
    for (;;) {
        uint32_t v = t->slots[i];
        if (v == 0 || (t->hashes[v - 1] == h && osp_str_eq(t->strs[v - 1], s)))
            return i;
        i = (i + 1) & t->mask;
    }
}

/* Doubles the slot table (keeping it at most half full) and the id arrays as needed. */
static int grow(osp_intern *t)
{
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        osp_str *strs = osp_realloc(t->strs, cap * sizeof *strs);
        if (!strs)
            return OSP_ENOMEM;
        t->strs = strs;
        uint64_t *hashes = osp_realloc(t->hashes, cap * sizeof *hashes);
        if (!hashes)
            return OSP_ENOMEM;
        t->hashes = hashes;
        t->cap = cap;
    }
    if (t->mask && (t->n + 1) * 2 <= t->mask + 1)
        return 0;
    uint32_t nslots = t->mask ? (t->mask + 1) * 2 : 128;
    uint32_t *slots = osp_calloc(nslots, sizeof *slots);
    if (!slots)
        return OSP_ENOMEM;
    osp_free(t->slots);
    t->slots = slots;
    t->mask = nslots - 1;
    for (uint32_t id = 0; id < t->n; id++)
        t->slots[probe(t, t->strs[id], t->hashes[id])] = id + 1;
    return 0;
}

int osp_intern_add(osp_intern *t, osp_str s, uint32_t *id)
{
    if (t->n && osp_str_eq(t->strs[t->last], s)) { /* rows often repeat the last string */
        *id = t->last;
        return 0;
    }
    uint64_t h = hash_of(s);
    if (t->mask) {
        uint32_t v = t->slots[probe(t, s, h)];
        if (v) {
            *id = t->last = v - 1;
            return 0;
        }
    }
    if (t->n >= MAX_IDS)
        return OSP_ETOOBIG;
    int rc = grow(t);
    if (rc)
        return rc;
    if (t->copy) {
        s = osp_arena_strdup(&t->arena, s);
        if (!s.p)
            return OSP_ENOMEM;
    }
    t->strs[t->n] = s;
    t->hashes[t->n] = h;
    t->slots[probe(t, s, h)] = t->n + 1;
    *id = t->last = t->n++;
    return 0;
}

int osp_intern_find(const osp_intern *t, osp_str s, uint32_t *id)
{
    if (!t->mask)
        return 0;
    uint32_t v = t->slots[probe(t, s, hash_of(s))];
    if (v)
        *id = v - 1;
    return v != 0;
}
