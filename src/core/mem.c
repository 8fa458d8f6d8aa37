/* Counting allocator: a size header before each block feeds osp_mem_in_use(). */
#include "core/mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

#define HDR 16 /* keeps 16-byte alignment for the caller */

static atomic_size_t in_use;
static atomic_ulong fail_countdown;

static int should_fail(void)
{
    unsigned long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
            return n == 1;
    }
    return 0;
}

void *osp_malloc(size_t n)
{
    if (n > SIZE_MAX - HDR || should_fail())
        return NULL;
    unsigned char *p = malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    atomic_fetch_add_explicit(&in_use, n, memory_order_relaxed);
    return p + HDR;
}

void *osp_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = osp_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *osp_realloc(void *p, size_t n)
{
    if (!p)
        return osp_malloc(n);
    if (n > SIZE_MAX - HDR || should_fail())
        return NULL;
    unsigned char *base = (unsigned char *)p - HDR;
    size_t old;
    memcpy(&old, base, sizeof old);
    unsigned char *nb = realloc(base, n + HDR);
    if (!nb)
        return NULL;
    memcpy(nb, &n, sizeof n);
    if (n >= old)
        atomic_fetch_add_explicit(&in_use, n - old, memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(&in_use, old - n, memory_order_relaxed);
    return nb + HDR;
}

void osp_free(void *p)
{
    if (!p)
        return;
    unsigned char *base = (unsigned char *)p - HDR;
    size_t n;
    memcpy(&n, base, sizeof n);
    atomic_fetch_sub_explicit(&in_use, n, memory_order_relaxed);
    free(base);
}

char *osp_strndup(const char *s, size_t n)
{
    char *d = osp_malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *osp_strdup(const char *s)
{
    return osp_strndup(s, strlen(s));
}

size_t osp_mem_in_use(void)
{
    return atomic_load_explicit(&in_use, memory_order_relaxed);
}

void osp_mem_fail_after(unsigned long n)
{
    atomic_store(&fail_countdown, n);
}

void *osp__array_grow_push(void **arr, size_t *n, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / elem)
        return NULL;
    void *p = osp_realloc(*arr, ncap * elem);
    if (!p)
        return NULL;
    *arr = p;
    *cap = ncap;
    char *slot = (char *)*arr + (*n)++ * elem;
    memset(slot, 0, elem);
    return slot;
}

int osp_array_reserve(void **arr, size_t n, size_t *cap, size_t more, size_t elem)
{
    if (more > SIZE_MAX / elem - n)
        return OSP_ENOMEM;
    if (n + more <= *cap)
        return 0;
    void *p = osp_realloc(*arr, (n + more) * elem);
    if (!p)
        return OSP_ENOMEM;
    *arr = p;
    *cap = n + more;
    return 0;
}

size_t osp_mem_share(size_t div, size_t lo, size_t hi)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    size_t b = pages > 0 && page > 0 ? (size_t)pages * (size_t)page / div : 0;
    return b < lo ? lo : b > hi ? hi : b;
}
