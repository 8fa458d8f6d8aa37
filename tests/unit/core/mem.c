/* Unit tests for core/mem: growable arrays, and the physical-memory share used to size
 * caches. */
#include "testutil.h"

#include <stdint.h>
#include <unistd.h>

#include "core/err.h"
#include "core/mem.h"

static void test_mem_share(void **state)
{
    (void)state;
    size_t phys = (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE);
    assert_true(phys > 0);
    assert_int_equal(osp_mem_share(1, 0, SIZE_MAX), phys);
    assert_int_equal(osp_mem_share(16, 0, SIZE_MAX), phys / 16);
    assert_int_equal(osp_mem_share(16, phys, SIZE_MAX), phys); /* raised to lo */
    assert_int_equal(osp_mem_share(1, 0, 4096), 4096);         /* cut to hi */
}

/* Reserving room keeps the elements and lets pushes fill it without moving the array. */
static void test_array_reserve(void **state)
{
    (void)state;
    int *a = NULL;
    size_t n = 0, cap = 0;
    *(int *)osp_array_push((void **)&a, &n, &cap, sizeof *a) = 7;
    assert_int_equal(osp_array_reserve((void **)&a, n, &cap, 100, sizeof *a), 0);
    assert_int_equal(cap, 101);
    int *at = a;
    for (int i = 0; i < 100; i++)
        *(int *)osp_array_push((void **)&a, &n, &cap, sizeof *a) = i;
    assert_ptr_equal(a, at);
    assert_int_equal(a[0], 7);
    assert_int_equal(a[100], 99);
    assert_int_equal(osp_array_reserve((void **)&a, n, &cap, 0, sizeof *a), 0); /* has room */
    assert_int_equal(osp_array_reserve((void **)&a, n, &cap, SIZE_MAX / 2, sizeof *a), OSP_ENOMEM);
    assert_int_equal(cap, 101);
    osp_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_reserve),
        cmocka_unit_test(test_mem_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
