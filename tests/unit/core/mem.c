/* Unit tests for core/mem: the physical-memory share used to size caches. */
#include "testutil.h"

#include <stdint.h>
#include <unistd.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
