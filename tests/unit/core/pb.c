/* Unit tests for core/pb's scalar helpers: zigzag, double bits and raw varint encoding. */
#include <math.h>

#include "testutil.h"

#include "core/err.h"
#include "core/pb.h"

static void test_zigzag(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        uint64_t z;
    } cases[] = {
        {0, 0},
        {-1, 1},
        {1, 2},
        {-2, 3},
        {2147483647, 4294967294u},
        {INT64_MAX, UINT64_MAX - 1},
        {INT64_MIN, UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_true(osp_pb_zigzag_encode(cases[i].v) == cases[i].z);
        assert_true(osp_pb_zigzag_decode(cases[i].z) == cases[i].v);
    }
}

static void test_double_bits(void **state)
{
    (void)state;
    assert_true(osp_pb_double_bits(1.0) == 0x3ff0000000000000ull);
    assert_true(osp_pb_double_bits(-0.0) == 0x8000000000000000ull);
    assert_true(osp_pb_as_double(0x3ff0000000000000ull) == 1.0);
    assert_true(isnan(osp_pb_as_double(osp_pb_double_bits(NAN))));
    double v = -1234.5678e-90;
    assert_true(osp_pb_as_double(osp_pb_double_bits(v)) == v);
}

static void test_encode_varint(void **state)
{
    (void)state;
    uint8_t out[10];
    assert_int_equal(osp_pb_encode_varint(out, 0), 1);
    assert_int_equal(out[0], 0);
    assert_int_equal(osp_pb_encode_varint(out, 300), 2);
    assert_int_equal(out[0], 0xac);
    assert_int_equal(out[1], 0x02);
    assert_int_equal(osp_pb_encode_varint(out, UINT64_MAX), 10);
    assert_int_equal(out[9], 0x01);
    /* What the reader decodes back. */
    uint64_t vals[] = {1, 127, 128, 16383, 16384, 1ull << 35, UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        size_t n = osp_pb_encode_varint(out, vals[i]);
        osp_pb_reader r = osp_pb_reader_make(out, n);
        uint64_t back;
        assert_int_equal(osp_pb_read_varint(&r, &back), 0);
        assert_true(back == vals[i]);
        assert_ptr_equal(r.p, r.end);
    }
}

/* Varints read the same whether the message ends right after them or goes on (the reader
 * checks bounds per byte only near the end); a varint past 64 bits or cut short fails. */
static void test_read_varint(void **state)
{
    (void)state;
    uint64_t vals[] = {0, 1, 127, 128, 16383, 16384, 1ull << 35, 1ull << 62, UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        for (size_t extra = 0; extra <= 12; extra++) {
            uint8_t buf[24];
            memset(buf, 0xff, sizeof buf);
            size_t n = osp_pb_encode_varint(buf, vals[i]);
            osp_pb_reader r = osp_pb_reader_make(buf, n + extra);
            uint64_t back = 0;
            assert_int_equal(osp_pb_read_varint(&r, &back), 0);
            assert_true(back == vals[i]);
            assert_ptr_equal(r.p, buf + n);
        }
    static const uint8_t too_long[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0x02, 0x00, 0x00, 0x00};
    static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                     0x80, 0x80, 0x80, 0x80, 0x00, 0x00};
    for (size_t n = 10; n <= sizeof too_long; n++) {
        osp_pb_reader r = osp_pb_reader_make(too_long, n);
        uint64_t v;
        assert_int_equal(osp_pb_read_varint(&r, &v), OSP_EPARSE);
        r = osp_pb_reader_make(eleven, n < sizeof eleven ? n : sizeof eleven);
        assert_int_equal(osp_pb_read_varint(&r, &v), OSP_EPARSE);
    }
    for (size_t n = 1; n < 10; n++) { /* cut short */
        osp_pb_reader r = osp_pb_reader_make(eleven, n);
        uint64_t v;
        assert_int_equal(osp_pb_read_varint(&r, &v), OSP_EPARSE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zigzag),
        cmocka_unit_test(test_double_bits),
        cmocka_unit_test(test_encode_varint),
        cmocka_unit_test(test_read_varint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
