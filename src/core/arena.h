/* Region allocator for request and query lifetimes: many small allocations, one free. */
#ifndef OSP_CORE_ARENA_H
#define OSP_CORE_ARENA_H

#include <stddef.h>

#include "core/str.h"

typedef struct osp_arena_chunk osp_arena_chunk;

typedef struct osp_arena {
    osp_arena_chunk *head; /* newest chunk first */
    size_t chunk_size;     /* default size of new chunks */
    size_t used;           /* total bytes handed out */
    size_t max;            /* cap on total bytes (0 = none); allocation past it fails */
} osp_arena;

/* Initializes an empty arena. chunk_size 0 picks 64 KiB; max 0 means no cap. */
void osp_arena_init(osp_arena *a, size_t chunk_size, size_t max);
/* Frees every chunk; the arena is empty and reusable. */
void osp_arena_cleanup(osp_arena *a);
/* Empties a for reuse like cleanup, but keeps one chunk of the default size to serve the
 * next allocations (for an arena emptied over and over, such as one per record). */
void osp_arena_reset(osp_arena *a);
/* Moves every chunk of src into a, leaving src empty: what was allocated from src then
 * lives as long as a's contents and counts in a's used bytes (which may pass a's cap; later
 * allocations from a then fail). For work split over threads, each with its own arena. */
void osp_arena_adopt(osp_arena *a, osp_arena *src);
/* Bytes a may still hand out before its cap (SIZE_MAX without a cap). */
size_t osp_arena_room(const osp_arena *a);
/* n bytes aligned to 16; NULL when out of memory or past the cap. */
void *osp_arena_alloc(osp_arena *a, size_t n);
/* Zeroed allocation of count * size bytes. */
void *osp_arena_calloc(osp_arena *a, size_t count, size_t size);
/* Copies n bytes into the arena; NULL on failure (n == 0 gives a valid non-NULL pointer). */
void *osp_arena_memdup(osp_arena *a, const void *p, size_t n);
/* Copies a slice into the arena, NUL-terminated; the result's p is NULL on failure. */
osp_str osp_arena_strdup(osp_arena *a, osp_str s);

#endif
