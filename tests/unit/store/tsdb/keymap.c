/* Unit tests for the known series keys (src/store/tsdb/keymap.c) and the keys themselves
 * (osp_series_key_of). */
#include "testutil.h"

#include "core/err.h"
#include "store/tsdb/keymap.h"

static osp_series_key key(uint64_t i)
{
    return osp_series_key_of(OSP_KEY_REMOTE_WRITE, &i, sizeof i);
}

static void test_keys(void **state)
{
    (void)state;
    osp_series_key a = key(1), b = key(1), c = key(2);
    assert_true(a.lo == b.lo && a.hi == b.hi);
    assert_true(a.lo != c.lo || a.hi != c.hi);
    assert_true((a.lo | a.hi) != 0);
    /* no bytes still give a key */
    osp_series_key e = osp_series_key_of(OSP_KEY_REMOTE_WRITE, NULL, 0);
    assert_true((e.lo | e.hi) != 0);
}

static void test_add_lookup(void **state)
{
    (void)state;
    enum { N = 5000 }; /* several doublings of the table */
    osp_keymap *m;
    assert_int_equal(osp_keymap_create(&m), 0);
    osp_series_key k[N + 1];
    uint64_t ids[N + 1], got[N + 1];
    for (size_t i = 0; i < N; i++)
        k[i] = key(i), ids[i] = i * 3;
    osp_keymap_lookup(m, k, N, got); /* empty */
    for (size_t i = 0; i < N; i++)
        assert_int_equal(got[i], UINT64_MAX);
    assert_int_equal(osp_keymap_add(m, k, ids, N / 2, SIZE_MAX), 0);
    assert_int_equal(osp_keymap_add(m, k + N / 2, ids + N / 2, N - N / 2, SIZE_MAX), 0);
    assert_int_equal(osp_keymap_count(m), N);
    assert_true(osp_keymap_bytes(m) >= N * 16);
    k[N] = (osp_series_key){0, 0}; /* the zero key is never known */
    osp_keymap_lookup(m, k, N + 1, got);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(got[i], i * 3);
    assert_int_equal(got[N], UINT64_MAX);
    /* a key held keeps its first id; zero keys and ids past 32 bits are not taken */
    uint64_t other[3] = {7, 8, (uint64_t)UINT32_MAX + 5};
    osp_series_key more[3] = {k[0], {0, 0}, key(N + 1)};
    assert_int_equal(osp_keymap_add(m, more, other, 3, SIZE_MAX), 0);
    assert_int_equal(osp_keymap_count(m), N);
    osp_keymap_lookup(m, more, 3, got);
    assert_true(got[0] == 0 && got[1] == UINT64_MAX && got[2] == UINT64_MAX);
    osp_keymap_destroy(m);
}

/* Dropping the keys of removed ids keeps every other key; a dropped key can be added
 * again with another id. */
static void test_drop(void **state)
{
    (void)state;
    enum { N = 3000 };
    osp_keymap *m;
    assert_int_equal(osp_keymap_create(&m), 0);
    static osp_series_key k[N];
    static uint64_t ids[N], got[N];
    static uint8_t gone[N];
    for (size_t i = 0; i < N; i++)
        k[i] = key(i), ids[i] = i, gone[i] = i % 3 == 0;
    assert_int_equal(osp_keymap_add(m, k, ids, N, SIZE_MAX), 0);
    osp_keymap_drop(m, gone, N - 3); /* id N - 3, marked, is past n: kept */
    assert_int_equal(osp_keymap_count(m), N - (N / 3 - 1));
    osp_keymap_lookup(m, k, N, got);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(got[i], gone[i] && i < N - 3 ? UINT64_MAX : i);
    uint64_t renewed = N + 7;
    assert_int_equal(osp_keymap_add(m, &k[0], &renewed, 1, SIZE_MAX), 0);
    osp_keymap_lookup(m, k, 1, got);
    assert_int_equal(got[0], N + 7);
    osp_keymap_destroy(m);
}

/* Past its cap the map takes nothing more, and what it holds stays. */
static void test_cap(void **state)
{
    (void)state;
    osp_keymap *m;
    assert_int_equal(osp_keymap_create(&m), 0);
    osp_series_key k[10];
    uint64_t ids[10], got[10];
    for (size_t i = 0; i < 10; i++)
        k[i] = key(100 + i), ids[i] = i;
    assert_int_equal(osp_keymap_add(m, k, ids, 10, 4), 0);
    assert_int_equal(osp_keymap_count(m), 4);
    osp_keymap_lookup(m, k, 10, got);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(got[i], i < 4 ? i : UINT64_MAX);
    osp_keymap_destroy(m);
    osp_keymap_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_add_lookup),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_drop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
