/* Known series keys: an open-addressing table of 16-byte slots (96 bits of the key, the id),
 * probed linearly from the key's low bits. */
#include "store/tsdb/keymap.h"

#include <pthread.h>

#include "core/err.h"
#include "core/mem.h"

#define AHEAD 8 /* keys whose slot is being loaded ahead of the probe (power of two) */

typedef struct slot {
    uint64_t k0;  /* key.lo */
    uint32_t k1;  /* low half of key.hi */
    uint32_t id1; /* id + 1; 0 = empty */
} slot;

struct osp_keymap {
    pthread_rwlock_t lock;
    slot *s; /* NULL while empty */
    size_t mask, used;
};

int osp_keymap_create(osp_keymap **out)
{
    osp_keymap *m = osp_calloc(1, sizeof *m);
    if (!m)
        return OSP_ENOMEM;
    if (pthread_rwlock_init(&m->lock, NULL) != 0) {
        osp_free(m);
        return OSP_ENOMEM;
    }
    *out = m;
    return 0;
}

void osp_keymap_destroy(osp_keymap *m)
{
    if (!m)
        return;
    pthread_rwlock_destroy(&m->lock);
    osp_free(m->s);
    osp_free(m);
}

static int is_zero(osp_series_key k)
{
    return (k.lo | k.hi) == 0;
}

static uint32_t find(const osp_keymap *m, osp_series_key k)
{
    for (size_t i = k.lo & m->mask;; i = (i + 1) & m->mask) {
        const slot *s = &m->s[i];
        if (!s->id1 || (s->k0 == k.lo && s->k1 == (uint32_t)k.hi))
            return s->id1;
    }
}

void osp_keymap_lookup(osp_keymap *m, const osp_series_key *keys, size_t n, uint64_t *ids)
{
    pthread_rwlock_rdlock(&m->lock);
    for (size_t i = 0; i < n + AHEAD; i++) {
        if (i < n && m->s && !is_zero(keys[i]))
            __builtin_prefetch(&m->s[keys[i].lo & m->mask]);
        if (i < AHEAD)
            continue;
        size_t j = i - AHEAD;
        uint32_t id1 = m->s && !is_zero(keys[j]) ? find(m, keys[j]) : 0;
        ids[j] = id1 ? id1 - 1u : UINT64_MAX;
    }
    pthread_rwlock_unlock(&m->lock);
}

/* Moves the entries of m whose id is not marked in gone[0..ngone) (NULL: none marked) into
 * a table of nn slots (a power of two). 0 or OSP_ENOMEM (m unchanged). */
static int rehash(osp_keymap *m, size_t nn, const uint8_t *gone, size_t ngone)
{
    size_t n = m->s ? m->mask + 1 : 0, used = 0;
    slot *s = osp_calloc(nn, sizeof *s);
    if (!s)
        return OSP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        uint32_t id1 = m->s[i].id1;
        if (!id1 || (gone && id1 - 1u < ngone && gone[id1 - 1u]))
            continue;
        size_t j = m->s[i].k0 & (nn - 1);
        while (s[j].id1)
            j = (j + 1) & (nn - 1);
        s[j] = m->s[i];
        used++;
    }
    osp_free(m->s);
    m->s = s;
    m->mask = nn - 1;
    m->used = used;
    return 0;
}

/* Room for one more entry at a load of at most 3/4. */
static int reserve(osp_keymap *m)
{
    size_t n = m->s ? m->mask + 1 : 0;
    if ((m->used + 1) * 4 <= n * 3)
        return 0;
    return rehash(m, n ? 2 * n : 1024, NULL, 0);
}

void osp_keymap_drop(osp_keymap *m, const uint8_t *gone, size_t n)
{
    pthread_rwlock_wrlock(&m->lock);
    if (m->s && rehash(m, m->mask + 1, gone, n) != 0) {
        osp_free(m->s);
        m->s = NULL;
        m->mask = m->used = 0;
    }
    pthread_rwlock_unlock(&m->lock);
}

int osp_keymap_add(osp_keymap *m, const osp_series_key *keys, const uint64_t *ids, size_t n,
                   size_t max)
{
    int rc = 0;
    pthread_rwlock_wrlock(&m->lock);
    for (size_t i = 0; i < n && m->used < max && rc == 0; i++) {
        if (is_zero(keys[i]) || ids[i] >= UINT32_MAX - 1)
            continue;
        if (m->s && find(m, keys[i]))
            continue;
        if ((rc = reserve(m)) != 0)
            break;
        size_t j = keys[i].lo & m->mask;
        while (m->s[j].id1)
            j = (j + 1) & m->mask;
        m->s[j] = (slot){keys[i].lo, (uint32_t)keys[i].hi, (uint32_t)ids[i] + 1u};
        m->used++;
    }
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

size_t osp_keymap_count(osp_keymap *m)
{
    pthread_rwlock_rdlock(&m->lock);
    size_t n = m->used;
    pthread_rwlock_unlock(&m->lock);
    return n;
}

size_t osp_keymap_bytes(osp_keymap *m)
{
    pthread_rwlock_rdlock(&m->lock);
    size_t n = m->s ? (m->mask + 1) * sizeof(slot) : 0;
    pthread_rwlock_unlock(&m->lock);
    return n;
}
