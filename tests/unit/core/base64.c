/* Unit tests for core/base64: RFC 4648 vectors, unpadded and URL-safe input, bad input. */
#include "testutil.h"

#include "core/base64.h"
#include "core/err.h"

static void encode_is(const char *in, const char *want)
{
    char out[64];
    size_t n = osp_base64_encode((const uint8_t *)in, strlen(in), out);
    assert_int_equal(n, strlen(want));
    assert_int_equal(n, OSP_BASE64_LEN(strlen(in)));
    assert_memory_equal(out, want, n);
}

static void decode_is(const char *in, const char *want)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_base64_decode(osp_str_c(in), &b), 0);
    assert_int_equal(b.len, strlen(want));
    if (b.len)
        assert_memory_equal(b.data, want, b.len);
    osp_buf_cleanup(&b);
}

static void decode_fails(const char *in)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_base64_decode(osp_str_c(in), &b), OSP_EPARSE);
    assert_int_equal(b.len, 0);
    osp_buf_cleanup(&b);
}

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *vec[][2] = {{"", ""},
                                   {"f", "Zg=="},
                                   {"fo", "Zm8="},
                                   {"foo", "Zm9v"},
                                   {"foob", "Zm9vYg=="},
                                   {"fooba", "Zm9vYmE="},
                                   {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        encode_is(vec[i][0], vec[i][1]);
        decode_is(vec[i][1], vec[i][0]);
    }
}

static void test_unpadded_and_urlsafe(void **state)
{
    (void)state;
    decode_is("Zg", "f");
    decode_is("Zm8", "fo");
    decode_is("Zm9vYg", "foob");
    /* fb ff bf is "+/+/" in the standard alphabet, "-_-_" in the URL-safe one */
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_base64_decode(OSP_STR_LIT("-_-_"), &b), 0);
    assert_int_equal(osp_base64_decode(OSP_STR_LIT("+/+/"), &b), 0);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "\xfb\xff\xbf\xfb\xff\xbf", 6);
    char out[8];
    assert_int_equal(osp_base64_encode((const uint8_t *)"\xfb\xff\xbf", 3, out), 4);
    assert_memory_equal(out, "+/+/", 4);
    osp_buf_cleanup(&b);
}

static void test_all_bytes_round_trip(void **state)
{
    (void)state;
    uint8_t in[256];
    char enc[OSP_BASE64_LEN(256)];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)(255 - i);
    for (size_t n = 0; n <= 256; n += 37) {
        size_t m = osp_base64_encode(in, n, enc);
        osp_buf b;
        osp_buf_init(&b, 0);
        assert_int_equal(osp_base64_decode(osp_str_make(enc, m), &b), 0);
        assert_int_equal(b.len, n);
        if (n)
            assert_memory_equal(b.data, in, n);
        osp_buf_cleanup(&b);
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    decode_fails("Z");        /* impossible length */
    decode_fails("Zm9vY");    /* 5 chars: 1 left over */
    decode_fails("=");        /* padding only */
    decode_fails("==");       /* padding only */
    decode_fails("Zg=");      /* padded but not a multiple of 4 */
    decode_fails("Z===");     /* too much padding */
    decode_fails("Zg==Zg=="); /* padding in the middle */
    decode_fails("Zm 9v");    /* whitespace */
    decode_fails("Zm9v\n");
    decode_fails("Zm*v");
}

static void test_buffer_cap(void **state)
{
    (void)state;
    osp_buf b;
    osp_buf_init(&b, 2);
    assert_int_equal(osp_base64_decode(OSP_STR_LIT("Zm9v"), &b), OSP_ETOOBIG);
    assert_int_equal(b.len, 0);
    assert_int_equal(osp_base64_decode(OSP_STR_LIT("Zm8="), &b), 0);
    assert_int_equal(b.len, 2);
    osp_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),      cmocka_unit_test(test_unpadded_and_urlsafe),
        cmocka_unit_test(test_all_bytes_round_trip), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_buffer_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
