/* Unit tests for core/buf (and core/pb's varint writer on top of it): growth, the hard
 * size cap, and the cap still holding when a grown buffer is reused under a lower one. */
#include <string.h>

#include "testutil.h"

#include "core/buf.h"
#include "core/err.h"
#include "core/pb.h"

static void test_append_and_grow(void **state)
{
    (void)state;
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_buf_append(&b, "", 0), 0);
    assert_int_equal(b.len, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(osp_buf_putc(&b, (char)('a' + i % 26)), 0);
    assert_int_equal(osp_buf_append(&b, "xyz", 3), 0);
    assert_int_equal(b.len, 1003);
    assert_true(b.cap >= b.len);
    assert_int_equal(b.data[25], 'z');
    assert_memory_equal(b.data + 1000, "xyz", 3);
    osp_buf_cleanup(&b);
}

static void test_cap(void **state)
{
    (void)state;
    osp_buf b;
    osp_buf_init(&b, 5);
    assert_int_equal(osp_buf_append(&b, "abcd", 4), 0);
    assert_int_equal(osp_buf_append(&b, "ef", 2), OSP_ETOOBIG);
    assert_int_equal(b.len, 4); /* unchanged on failure */
    assert_int_equal(osp_buf_putc(&b, 'e'), 0);
    assert_int_equal(osp_buf_putc(&b, 'f'), OSP_ETOOBIG);
    assert_memory_equal(b.data, "abcde", 5);
    osp_buf_cleanup(&b);
}

/* A buffer grown under one cap and reused under a lower one (as response bodies are)
 * must refuse what passes the new cap even though it has the room. */
static void test_lowered_cap(void **state)
{
    (void)state;
    osp_buf b;
    osp_buf_init(&b, 0);
    char big[4096];
    memset(big, 'x', sizeof big);
    assert_int_equal(osp_buf_append(&b, big, sizeof big), 0);
    osp_buf_reset(&b);
    b.max = 8;
    assert_int_equal(osp_buf_append(&b, big, 8), 0);
    assert_int_equal(osp_buf_append(&b, big, 1), OSP_ETOOBIG);
    assert_int_equal(osp_buf_putc(&b, 'y'), OSP_ETOOBIG);
    assert_int_equal(osp_pb_put_varint(&b, 1), OSP_ETOOBIG);
    assert_int_equal(b.len, 8);
    osp_buf_reset(&b);
    assert_int_equal(osp_pb_put_varint(&b, 300), 0); /* two bytes fit below the cap */
    assert_int_equal(b.len, 2);
    assert_int_equal(osp_pb_put_varint(&b, UINT64_MAX), OSP_ETOOBIG); /* ten do not */
    assert_int_equal(b.len, 2);
    osp_buf_cleanup(&b);
}

/* Varints written with room to spare and at the edge of the allocation read back. */
static void test_varints(void **state)
{
    (void)state;
    osp_buf b;
    osp_buf_init(&b, 0);
    uint64_t v = 0;
    for (int i = 0; i < 2000; i++, v = v * 3 + 1) /* spans 1 to 10 bytes */
        assert_int_equal(osp_pb_put_varint(&b, v), 0);
    osp_pb_reader r = osp_pb_reader_make(b.data, b.len);
    v = 0;
    for (int i = 0; i < 2000; i++, v = v * 3 + 1) {
        uint64_t back;
        assert_int_equal(osp_pb_read_varint(&r, &back), 0);
        assert_true(back == v);
    }
    assert_ptr_equal(r.p, r.end);
    osp_buf_cleanup(&b);
}

/* JSON string literals: escapes, bad bytes as U+FFFD, and the absent (NULL) string. */
static void test_json_str(void **state)
{
    (void)state;
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_buf_json_str(&b, "a\"\\\n\x01\xff", 6), 0);
    assert_int_equal(osp_buf_json_str(&b, NULL, 0), 0);
    assert_int_equal(osp_buf_json_str(&b, "", 0), 0);
    osp_str got = osp_buf_str(&b);
    const char *want = "\"a\\\"\\\\\\n\\u0001\xef\xbf\xbd\"\"\"\"\"";
    assert_int_equal(got.n, strlen(want));
    assert_memory_equal(got.p, want, got.n);
    osp_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_grow), cmocka_unit_test(test_cap),
        cmocka_unit_test(test_lowered_cap),     cmocka_unit_test(test_varints),
        cmocka_unit_test(test_json_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
