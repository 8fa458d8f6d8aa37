/* Allocation wrappers: every heap allocation goes through these so memory can be counted
 * and tests can inject failures. */
#ifndef OSP_CORE_MEM_H
#define OSP_CORE_MEM_H

#include <stddef.h>
#include <string.h>

/* Like malloc/calloc/realloc/free; return NULL on failure (never abort). */
void *osp_malloc(size_t n);
void *osp_calloc(size_t count, size_t size);
void *osp_realloc(void *p, size_t n);
void osp_free(void *p);
/* Duplicates n bytes and appends a NUL; NULL on failure. */
char *osp_strndup(const char *s, size_t n);
char *osp_strdup(const char *s);

/* Appends a zeroed element of elem bytes to the growable array *arr (n used, cap
 * allocated; both updated), doubling the capacity from 16 when full. Returns the new
 * element, or NULL when out of memory (the array is then unchanged). */
void *osp__array_grow_push(void **arr, size_t *n, size_t *cap, size_t elem);
static inline void *osp_array_push(void **arr, size_t *n, size_t *cap, size_t elem)
{
    if (*n == *cap)
        return osp__array_grow_push(arr, n, cap, elem);
    char *slot = (char *)*arr + (*n)++ * elem;
    memset(slot, 0, elem);
    return slot;
}

/* Makes room in the growable array *arr (n used, cap allocated) for more elements of elem
 * bytes, so that pushing them does not regrow (and copy) it step by step. 0 or OSP_ENOMEM
 * (the array unchanged). */
int osp_array_reserve(void **arr, size_t n, size_t *cap, size_t more, size_t elem);

/* Physical memory of the machine in bytes, divided by div (div >= 1), kept within
 * [lo, hi]: how big caches and buffers may grow. lo when it cannot be read. */
size_t osp_mem_share(size_t div, size_t lo, size_t hi);

/* Bytes currently allocated through these wrappers. */
size_t osp_mem_in_use(void);

/* Test hook: make the Nth allocation from now fail (0 disables). */
void osp_mem_fail_after(unsigned long n);

#endif
