/* Unit tests for core/arena: alignment, the cap, big one-off blocks, adoption of another
 * arena's chunks, the room left and reset. */
#include "testutil.h"

#include <stdint.h>

#include "core/arena.h"

static void test_alloc_and_cap(void **state)
{
    (void)state;
    osp_arena a;
    osp_arena_init(&a, 1024, 4096);
    assert_int_equal(osp_arena_room(&a), 4096);
    char *p = osp_arena_alloc(&a, 10);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 16, 0);
    assert_int_equal(a.used, 16); /* rounded up to the alignment */
    assert_int_equal(osp_arena_room(&a), 4080);
    /* a block over the chunk size goes behind the current chunk, which keeps serving */
    char *big = osp_arena_alloc(&a, 3000);
    assert_non_null(big);
    char *q = osp_arena_alloc(&a, 16);
    assert_ptr_equal(q, p + 16);
    assert_null(osp_arena_alloc(&a, 2000)); /* past the cap */
    assert_int_equal(osp_arena_room(&a), 4096 - 16 - 3008 - 16);
    osp_arena_cleanup(&a);
    assert_int_equal(a.used, 0);

    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp_arena_room(&a), SIZE_MAX);
    osp_arena_cleanup(&a);
}

static void test_adopt(void **state)
{
    (void)state;
    osp_arena a, b, empty;
    osp_arena_init(&a, 256, 1000);
    osp_arena_init(&b, 256, 0);
    osp_arena_init(&empty, 256, 0);
    char *pa = osp_arena_alloc(&a, 32);
    char *pb1 = osp_arena_alloc(&b, 100), *pb2 = osp_arena_alloc(&b, 600);
    assert_true(pa && pb1 && pb2);
    memset(pb1, 'x', 100);
    memset(pb2, 'y', 600);
    osp_arena_adopt(&a, &empty); /* nothing to move */
    assert_int_equal(a.used, 32);
    osp_arena_adopt(&a, &b);
    assert_null(b.head);
    assert_int_equal(b.used, 0);
    assert_int_equal(a.used, 32 + 112 + 608);
    /* a's current chunk stays first: its free space keeps serving */
    char *next = osp_arena_alloc(&a, 16);
    assert_ptr_equal(next, pa + 32);
    assert_int_equal(pb1[99], 'x');
    assert_int_equal(pb2[599], 'y');
    /* the adopted bytes count against a's cap */
    assert_int_equal(osp_arena_room(&a), 1000 - 32 - 112 - 608 - 16);
    assert_null(osp_arena_alloc(&a, 300));
    /* b is empty and usable again */
    assert_non_null(osp_arena_alloc(&b, 8));
    osp_arena_cleanup(&b);
    osp_arena_cleanup(&a); /* frees the adopted chunks too (ASan checks for leaks) */

    /* adopting into an empty arena */
    osp_arena_init(&a, 0, 0);
    osp_arena_init(&b, 0, 0);
    assert_non_null(osp_arena_alloc(&b, 40));
    osp_arena_adopt(&a, &b);
    assert_int_equal(a.used, 48);
    assert_non_null(a.head);
    osp_arena_cleanup(&a);
}

static void test_reset(void **state)
{
    (void)state;
    osp_arena a;
    osp_arena_init(&a, 256, 1000);
    assert_non_null(osp_arena_alloc(&a, 32));
    assert_non_null(osp_arena_alloc(&a, 600)); /* a big block of its own */
    char *second = osp_arena_alloc(&a, 240);   /* a second chunk of the default size */
    assert_non_null(second);
    osp_arena_reset(&a);
    assert_int_equal(a.used, 0);
    assert_int_equal(osp_arena_room(&a), 1000);
    /* one chunk of the default size is kept and serves from its start again; the others
     * are freed (ASan checks for leaks) */
    char *again = osp_arena_alloc(&a, 16);
    assert_ptr_equal(again, second);
    assert_ptr_equal(osp_arena_alloc(&a, 16), again + 16);
    osp_arena_reset(&a);
    assert_ptr_equal(osp_arena_alloc(&a, 240), again);
    osp_arena_cleanup(&a);
    assert_null(a.head);
    osp_arena_reset(&a); /* an empty arena stays empty */
    assert_null(a.head);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_and_cap),
        cmocka_unit_test(test_adopt),
        cmocka_unit_test(test_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
