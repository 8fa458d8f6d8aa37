/* Unit tests for core/gzip: round trips, concatenated members, caps and corrupt input. */
#include "testutil.h"

#include <zlib.h>

#include "core/err.h"
#include "core/gzip.h"
#include "core/mem.h"

/* Compresses in with the given windowBits (31 gzip, 15 zlib, -15 raw) into a malloc'd
 * buffer. */
static unsigned char *deflate_with(const void *in, size_t n, int window_bits, size_t *out_n)
{
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, n) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_n = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static char *pattern(size_t n)
{
    char *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)("spans and more spans "[i % 21] + (i / 1000) % 7);
    return p;
}

static void roundtrip(int window_bits)
{
    size_t n = 300 * 1000, zn;
    char *plain = pattern(n);
    unsigned char *z = deflate_with(plain, n, window_bits, &zn);
    osp_buf out;
    osp_buf_init(&out, 0);
    assert_int_equal(osp_buf_append(&out, "xy", 2), 0); /* appends after existing bytes */
    assert_int_equal(osp_gzip_inflate(osp_str_make((char *)z, zn), n, &out), 0);
    assert_int_equal(out.len, n + 2);
    assert_memory_equal(out.data + 2, plain, n);
    osp_buf_cleanup(&out);
    free(z);
    free(plain);
}

static void test_roundtrip_gzip(void **state)
{
    (void)state;
    roundtrip(15 + 16);
}

static void test_roundtrip_zlib(void **state)
{
    (void)state;
    roundtrip(15);
}

static void test_roundtrip_raw_deflate(void **state)
{
    (void)state;
    roundtrip(-15);
}

static void test_concatenated_members(void **state)
{
    (void)state;
    size_t an, bn;
    unsigned char *a = deflate_with("hello ", 6, 31, &an);
    unsigned char *b = deflate_with("world", 5, 31, &bn);
    unsigned char *ab = malloc(an + bn);
    memcpy(ab, a, an);
    memcpy(ab + an, b, bn);
    osp_buf out;
    osp_buf_init(&out, 0);
    assert_int_equal(osp_gzip_inflate(osp_str_make((char *)ab, an + bn), 100, &out), 0);
    assert_int_equal(out.len, 11);
    assert_memory_equal(out.data, "hello world", 11);
    osp_buf_cleanup(&out);
    free(a);
    free(b);
    free(ab);
}

static void test_empty_payload(void **state)
{
    (void)state;
    size_t zn;
    unsigned char *z = deflate_with("", 0, 31, &zn);
    osp_buf out;
    osp_buf_init(&out, 0);
    assert_int_equal(osp_gzip_inflate(osp_str_make((char *)z, zn), 10, &out), 0);
    assert_int_equal(out.len, 0);
    osp_buf_cleanup(&out);
    free(z);
}

static void test_bomb_capped(void **state)
{
    (void)state;
    size_t n = 8 * 1024 * 1024, zn;
    char *zeros = calloc(1, n);
    unsigned char *z = deflate_with(zeros, n, 31, &zn);
    assert_true(zn < 64 * 1024);
    osp_buf out;
    osp_buf_init(&out, 0);
    assert_int_equal(osp_gzip_inflate(osp_str_make((char *)z, zn), 1024 * 1024, &out), OSP_ETOOBIG);
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= 1024 * 1024);
    /* Exactly at the limit is fine. */
    assert_int_equal(osp_gzip_inflate(osp_str_make((char *)z, zn), n, &out), 0);
    assert_int_equal(out.len, n);
    /* One byte short is not. */
    osp_buf_reset(&out);
    assert_int_equal(osp_gzip_inflate(osp_str_make((char *)z, zn), n - 1, &out), OSP_ETOOBIG);
    osp_buf_cleanup(&out);
    free(z);
    free(zeros);
}

static void test_buffer_cap_respected(void **state)
{
    (void)state;
    size_t zn;
    char *plain = pattern(5000);
    unsigned char *z = deflate_with(plain, 5000, 31, &zn);
    osp_buf out;
    osp_buf_init(&out, 1000); /* the buffer's own cap is lower than max_out */
    assert_int_equal(osp_gzip_inflate(osp_str_make((char *)z, zn), 10000, &out), OSP_ETOOBIG);
    assert_int_equal(out.len, 0);
    osp_buf_cleanup(&out);
    free(z);
    free(plain);
}

static void test_garbage_and_truncation(void **state)
{
    (void)state;
    osp_buf out;
    osp_buf_init(&out, 0);
    assert_int_equal(osp_gzip_inflate(OSP_STR_LIT("not gzip data at all"), 100, &out), OSP_EPARSE);
    assert_int_equal(osp_gzip_inflate(OSP_STR_NULL, 100, &out), OSP_EPARSE);
    size_t n = 100000, zn;
    char *plain = pattern(n);
    unsigned char *z = deflate_with(plain, n, 31, &zn);
    assert_int_equal(osp_gzip_inflate(osp_str_make((char *)z, zn / 2), n, &out), OSP_EPARSE);
    assert_int_equal(out.len, 0);
    /* A corrupted CRC is caught. */
    z[zn - 5] ^= 0x55;
    assert_int_equal(osp_gzip_inflate(osp_str_make((char *)z, zn), n, &out), OSP_EPARSE);
    z[zn - 5] ^= 0x55;
    /* Trailing garbage after the member. */
    unsigned char *tail = malloc(zn + 3);
    memcpy(tail, z, zn);
    memcpy(tail + zn, "abc", 3);
    assert_int_equal(osp_gzip_inflate(osp_str_make((char *)tail, zn + 3), n, &out), OSP_EPARSE);
    assert_int_equal(out.len, 0);
    osp_buf_cleanup(&out);
    free(tail);
    free(z);
    free(plain);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    size_t zn;
    char *plain = pattern(100000);
    unsigned char *z = deflate_with(plain, 100000, 31, &zn);
    osp_buf out;
    osp_buf_init(&out, 0);
    osp_mem_fail_after(1);
    assert_int_equal(osp_gzip_inflate(osp_str_make((char *)z, zn), 100000, &out), OSP_ENOMEM);
    osp_mem_fail_after(0);
    assert_int_equal(out.len, 0);
    osp_buf_cleanup(&out);
    free(z);
    free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_gzip),        cmocka_unit_test(test_roundtrip_zlib),
        cmocka_unit_test(test_roundtrip_raw_deflate), cmocka_unit_test(test_concatenated_members),
        cmocka_unit_test(test_empty_payload),         cmocka_unit_test(test_bomb_capped),
        cmocka_unit_test(test_buffer_cap_respected),  cmocka_unit_test(test_garbage_and_truncation),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
