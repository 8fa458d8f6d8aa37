/* Unit tests for core/checksum: XXH64 (seed 0) of the bytes must match the stored sum. */
#include <xxhash.h>

#include "testutil.h"

#include "core/checksum.h"

static void test_checksum(void **state)
{
    (void)state;
    static const char data[] = "osprey block";
    uint64_t sum = XXH64(data, sizeof data - 1, 0);
    assert_true(osp_checksum_ok(data, sizeof data - 1, sum));
    assert_false(osp_checksum_ok(data, sizeof data - 1, sum ^ 1));
    assert_false(osp_checksum_ok(data, sizeof data - 2, sum));
    assert_true(osp_checksum_ok(data, 0, XXH64(data, 0, 0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
