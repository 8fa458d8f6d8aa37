/* Unit tests for core/intern: dense ids in order of first appearance, through repeats of
 * the last string, growth and lookups, with and without copies. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include "core/intern.h"

static void test_ids_in_order(void **state)
{
    (void)state;
    osp_intern t;
    osp_intern_init(&t, 1);
    static const char *const words[] = {"a", "b", "b", "a", "", "", "c", "a", "c", "c"};
    static const uint32_t want[] = {0, 1, 1, 0, 2, 2, 3, 0, 3, 3};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        uint32_t id = 99;
        assert_int_equal(osp_intern_add(&t, osp_str_c(words[i]), &id), 0);
        assert_int_equal(id, want[i]);
    }
    assert_int_equal(t.n, 4);
    uint32_t id;
    assert_int_equal(osp_intern_find(&t, osp_str_c("c"), &id), 1);
    assert_int_equal(id, 3);
    assert_int_equal(osp_intern_find(&t, osp_str_c("d"), &id), 0);
    /* a prefix of the last string is a string of its own */
    assert_int_equal(osp_intern_add(&t, osp_str_make("cc", 1), &id), 0);
    assert_int_equal(id, 3);
    assert_int_equal(osp_intern_add(&t, osp_str_c("cc"), &id), 0);
    assert_int_equal(id, 4);
    osp_intern_cleanup(&t);
    assert_int_equal(t.n, 0);
    assert_int_equal(osp_intern_add(&t, osp_str_c("b"), &id), 0); /* usable again */
    assert_int_equal(id, 0);
    osp_intern_cleanup(&t);
}

/* The table keeps its own copies: the caller's buffer may change after each add. */
static void test_copies_and_growth(void **state)
{
    (void)state;
    osp_intern t;
    osp_intern_init(&t, 1);
    char buf[32];
    for (int round = 0; round < 2; round++)
        for (uint32_t i = 0; i < 5000; i++) {
            uint32_t id;
            snprintf(buf, sizeof buf, "s%u", i);
            assert_int_equal(osp_intern_add(&t, osp_str_c(buf), &id), 0);
            assert_int_equal(id, i);
            assert_int_equal(osp_intern_add(&t, osp_str_c(buf), &id), 0); /* the same again */
            assert_int_equal(id, i);
            memset(buf, 'x', sizeof buf - 1);
        }
    assert_int_equal(t.n, 5000);
    assert_true(osp_str_eqz(t.strs[4321], "s4321"));
    osp_intern_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_in_order),
        cmocka_unit_test(test_copies_and_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
