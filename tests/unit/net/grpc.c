/* Unit tests for net/grpc: unary message framing, encodings, status mapping and
 * grpc-message percent-encoding. */
#include "testutil.h"

#include <zlib.h>

#include "core/err.h"
#include "net/grpc.h"

static size_t frame(unsigned char *out, int flag, const void *msg, size_t n)
{
    out[0] = (unsigned char)flag;
    out[1] = (unsigned char)(n >> 24);
    out[2] = (unsigned char)(n >> 16);
    out[3] = (unsigned char)(n >> 8);
    out[4] = (unsigned char)n;
    memcpy(out + 5, msg, n);
    return n + 5;
}

static int unary(const unsigned char *body, size_t n, const char *enc, size_t max, osp_buf *scratch,
                 osp_str *msg, osp_grpc_error *err)
{
    return osp_grpc_unary_message(osp_str_make((const char *)body, n), osp_str_c(enc), max, scratch,
                                  msg, err);
}

static void test_plain_message(void **state)
{
    (void)state;
    unsigned char b[64];
    size_t n = frame(b, 0, "hello", 5);
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    osp_str msg;
    osp_grpc_error err;
    assert_int_equal(unary(b, n, "", 100, &scratch, &msg, &err), 0);
    assert_true(osp_str_eqz(msg, "hello"));
    assert_ptr_equal(msg.p, (const char *)b + 5); /* zero-copy */
    assert_int_equal(unary(b, n, "identity", 100, &scratch, &msg, &err), 0);
    assert_int_equal(unary(b, n, "gzip", 100, &scratch, &msg, &err), 0); /* flag 0: as is */
    n = frame(b, 0, "", 0);
    assert_int_equal(unary(b, n, "", 100, &scratch, &msg, &err), 0);
    assert_int_equal(msg.n, 0);
    assert_int_equal(scratch.len, 0);
    osp_buf_cleanup(&scratch);
}

static void test_compressed_message(void **state)
{
    (void)state;
    const char *text = "compressed export request, compressed export request";
    unsigned char z[256], b[300];
    uLongf zn = sizeof z;
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)text;
    zs.avail_in = (uInt)strlen(text);
    zs.next_out = z;
    zs.avail_out = (uInt)zn;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    zn = zs.total_out;
    deflateEnd(&zs);
    size_t n = frame(b, 1, z, zn);
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    osp_str msg;
    osp_grpc_error err;
    assert_int_equal(unary(b, n, "gzip", 1000, &scratch, &msg, &err), 0);
    assert_true(osp_str_eqz(msg, text));
    osp_buf_reset(&scratch);
    assert_int_equal(unary(b, n, "gzip", 10, &scratch, &msg, &err), OSP_ETOOBIG);
    assert_int_equal(err.code, OSP_GRPC_RESOURCE_EXHAUSTED);
    /* Flag set but no (or identity) encoding. */
    assert_int_equal(unary(b, n, "", 1000, &scratch, &msg, &err), OSP_EPARSE);
    assert_int_equal(err.code, OSP_GRPC_INTERNAL);
    assert_int_equal(unary(b, n, "identity", 1000, &scratch, &msg, &err), OSP_EPARSE);
    /* Corrupt compressed bytes (the CRC in the gzip trailer). */
    b[n - 6] ^= 0xff;
    assert_int_equal(unary(b, n, "gzip", 1000, &scratch, &msg, &err), OSP_EPARSE);
    assert_int_equal(err.code, OSP_GRPC_INTERNAL);
    osp_buf_cleanup(&scratch);
}

static void test_framing_errors(void **state)
{
    (void)state;
    unsigned char b[64];
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    osp_str msg;
    osp_grpc_error err;
    assert_int_equal(unary(b, 0, "", 100, &scratch, &msg, &err), OSP_EINVAL);
    assert_int_equal(err.code, OSP_GRPC_UNIMPLEMENTED);
    size_t n = frame(b, 0, "abc", 3);
    assert_int_equal(unary(b, 4, "", 100, &scratch, &msg, &err), OSP_EPARSE);
    assert_int_equal(err.code, OSP_GRPC_INTERNAL);
    assert_int_equal(unary(b, n - 1, "", 100, &scratch, &msg, &err), OSP_EPARSE);
    assert_int_equal(err.code, OSP_GRPC_INTERNAL);
    size_t n2 = n + frame(b + n, 0, "d", 1);
    assert_int_equal(unary(b, n2, "", 100, &scratch, &msg, &err), OSP_EINVAL);
    assert_int_equal(err.code, OSP_GRPC_UNIMPLEMENTED);
    b[0] = 2;
    assert_int_equal(unary(b, n, "", 100, &scratch, &msg, &err), OSP_EPARSE);
    b[0] = 0;
    assert_int_equal(unary(b, n, "", 2, &scratch, &msg, &err), OSP_ETOOBIG);
    assert_int_equal(err.code, OSP_GRPC_RESOURCE_EXHAUSTED);
    assert_int_equal(unary(b, n, "snappy", 100, &scratch, &msg, &err), OSP_EUNSUPPORTED);
    assert_int_equal(err.code, OSP_GRPC_UNIMPLEMENTED);
    /* A length near 4 GiB is not trusted. */
    memcpy(b, "\0\xff\xff\xff\xff", 5);
    assert_int_equal(unary(b, 10, "", 100, &scratch, &msg, &err), OSP_EPARSE);
    osp_buf_cleanup(&scratch);
}

static void test_encoding_ok(void **state)
{
    (void)state;
    assert_true(osp_grpc_encoding_ok(OSP_STR_NULL));
    assert_true(osp_grpc_encoding_ok(OSP_STR_LIT("gzip")));
    assert_true(osp_grpc_encoding_ok(OSP_STR_LIT("identity")));
    assert_false(osp_grpc_encoding_ok(OSP_STR_LIT("deflate")));
    assert_false(osp_grpc_encoding_ok(OSP_STR_LIT("GZIP")));
}

static void test_percent_encode(void **state)
{
    (void)state;
    osp_buf out;
    osp_buf_init(&out, 0);
    assert_int_equal(osp_grpc_percent_encode(OSP_STR_LIT("plain text ~ok"), &out), 0);
    assert_int_equal(out.len, 14);
    assert_memory_equal(out.data, "plain text ~ok", 14);
    osp_buf_reset(&out);
    assert_int_equal(osp_grpc_percent_encode(OSP_STR_LIT("100%\n\xc3\xa9\x7f"), &out), 0);
    const char *want = "100%25%0A%C3%A9%7F";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    osp_buf_cleanup(&out);
    osp_buf_init(&out, 4);
    assert_int_equal(osp_grpc_percent_encode(OSP_STR_LIT("%%"), &out), OSP_ETOOBIG);
    osp_buf_cleanup(&out);
}

static void test_prefix_and_codes(void **state)
{
    (void)state;
    unsigned char p[5];
    osp_grpc_prefix(0x01020304, p);
    assert_memory_equal(p, "\0\x01\x02\x03\x04", 5);
    assert_int_equal(osp_grpc_code_from_http(200), OSP_GRPC_OK);
    assert_int_equal(osp_grpc_code_from_http(400), OSP_GRPC_INTERNAL);
    assert_int_equal(osp_grpc_code_from_http(401), OSP_GRPC_UNAUTHENTICATED);
    assert_int_equal(osp_grpc_code_from_http(403), OSP_GRPC_PERMISSION_DENIED);
    assert_int_equal(osp_grpc_code_from_http(404), OSP_GRPC_UNIMPLEMENTED);
    assert_int_equal(osp_grpc_code_from_http(405), OSP_GRPC_UNIMPLEMENTED);
    assert_int_equal(osp_grpc_code_from_http(413), OSP_GRPC_RESOURCE_EXHAUSTED);
    assert_int_equal(osp_grpc_code_from_http(429), OSP_GRPC_UNAVAILABLE);
    assert_int_equal(osp_grpc_code_from_http(503), OSP_GRPC_UNAVAILABLE);
    assert_int_equal(osp_grpc_code_from_http(500), OSP_GRPC_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_message),  cmocka_unit_test(test_compressed_message),
        cmocka_unit_test(test_framing_errors), cmocka_unit_test(test_encoding_ok),
        cmocka_unit_test(test_percent_encode), cmocka_unit_test(test_prefix_and_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
