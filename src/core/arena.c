/* Chunked bump allocator. */
#include "core/arena.h"

#include <stdint.h>
#include <string.h>

#include "core/mem.h"

struct osp_arena_chunk {
    osp_arena_chunk *next;
    size_t size, off;
    _Alignas(16) unsigned char data[];
};

void osp_arena_init(osp_arena *a, size_t chunk_size, size_t max)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
    a->used = 0;
    a->max = max;
}

void osp_arena_cleanup(osp_arena *a)
{
    osp_arena_chunk *c = a->head;
    while (c) {
        osp_arena_chunk *next = c->next;
        osp_free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}

void osp_arena_reset(osp_arena *a)
{
    osp_arena_chunk *keep = NULL, *c = a->head;
    while (c) {
        osp_arena_chunk *next = c->next;
        if (!keep && c->size == a->chunk_size) {
            keep = c;
            keep->off = 0;
            keep->next = NULL;
        } else {
            osp_free(c);
        }
        c = next;
    }
    a->head = keep;
    a->used = 0;
}

void osp_arena_adopt(osp_arena *a, osp_arena *src)
{
    if (!src->head)
        return;
    osp_arena_chunk *tail = src->head;
    while (tail->next)
        tail = tail->next;
    /* Behind a's current chunk, so that its free space keeps being used. */
    if (a->head) {
        tail->next = a->head->next;
        a->head->next = src->head;
    } else {
        a->head = src->head;
    }
    a->used += src->used;
    src->head = NULL;
    src->used = 0;
}

size_t osp_arena_room(const osp_arena *a)
{
    if (!a->max)
        return SIZE_MAX;
    return a->used < a->max ? a->max - a->used : 0;
}

void *osp_arena_alloc(osp_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    if (a->max && need > a->max - (a->used < a->max ? a->used : a->max))
        return NULL;
    osp_arena_chunk *c = a->head;
    if (!c || c->size - c->off < need) {
        size_t size = need > a->chunk_size ? need : a->chunk_size;
        if (size > SIZE_MAX - sizeof *c)
            return NULL;
        c = osp_malloc(sizeof *c + size);
        if (!c)
            return NULL;
        c->size = size;
        c->off = 0;
        /* A big one-off block goes behind the current chunk so its free space is kept. */
        if (a->head && need > a->chunk_size) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->off;
    c->off += need;
    a->used += need;
    return p;
}

void *osp_arena_calloc(osp_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = osp_arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *osp_arena_memdup(osp_arena *a, const void *p, size_t n)
{
    void *d = osp_arena_alloc(a, n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

osp_str osp_arena_strdup(osp_arena *a, osp_str s)
{
    char *d = osp_arena_alloc(a, s.n + 1);
    if (!d)
        return (osp_str){NULL, s.n};
    if (s.n)
        memcpy(d, s.p, s.n);
    d[s.n] = '\0';
    return (osp_str){d, s.n};
}
