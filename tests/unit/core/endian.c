/* Unit tests for core/endian: little-endian byte order regardless of the host's, at any
 * alignment. */
#include "testutil.h"

#include "core/endian.h"

static void test_le32(void **state)
{
    (void)state;
    uint8_t b[5] = {0};
    osp_put_le32(b + 1, 0x11223344u); /* unaligned */
    const uint8_t want[5] = {0, 0x44, 0x33, 0x22, 0x11};
    assert_memory_equal(b, want, sizeof want);
    assert_int_equal(osp_get_le32(b + 1), 0x11223344u);
    osp_put_le32(b, UINT32_MAX);
    assert_int_equal(osp_get_le32(b), UINT32_MAX);
    osp_put_le32(b, 0);
    assert_int_equal(osp_get_le32(b), 0);
}

static void test_le64(void **state)
{
    (void)state;
    uint8_t b[9] = {0};
    osp_put_le64(b + 1, 0x0102030405060708ull);
    const uint8_t want[9] = {0, 8, 7, 6, 5, 4, 3, 2, 1};
    assert_memory_equal(b, want, sizeof want);
    assert_true(osp_get_le64(b + 1) == 0x0102030405060708ull);
    osp_put_le64(b, UINT64_MAX);
    assert_true(osp_get_le64(b) == UINT64_MAX);
    osp_put_le64(b, 0x8000000000000000ull);
    assert_int_equal(b[7], 0x80);
    assert_true(osp_get_le64(b) == 0x8000000000000000ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_le32),
        cmocka_unit_test(test_le64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
