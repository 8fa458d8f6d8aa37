/* Unit tests for the time-series engine's metadata map and file (src/store/tsdb/meta.c):
 * save and load, and files that must be ignored whole. */
#include "testutil.h"

#include <xxhash.h>

#include "core/buf.h"
#include "core/endian.h"
#include "core/pb.h"
#include "store/tsdb/tsdb_int.h"

static const osp_metric_meta entries[] = {
    {OSP_STR_LIT("up"), OSP_KIND_GAUGE, OSP_STR_LIT("Up."), OSP_STR_LIT("")},
    {OSP_STR_LIT("http_requests"), OSP_KIND_COUNTER, OSP_STR_LIT("Requests."), OSP_STR_LIT("")},
};

static void write_file(const char *dir, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/metadata", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Writes "OSPTMD01", count, the entries, then extra (may be empty), under a valid sum. */
static void write_meta(const char *dir, uint64_t count, const void *extra, size_t nextra)
{
    osp_buf b;
    uint8_t sum[8];
    osp_buf_init(&b, 0);
    assert_int_equal(osp_buf_append(&b, "OSPTMD01", 8), 0);
    assert_int_equal(osp_pb_put_varint(&b, count), 0);
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        assert_int_equal(osp__meta_encode(&b, &entries[i]), 0);
    if (nextra)
        assert_int_equal(osp_buf_append(&b, extra, nextra), 0);
    osp_put_le64(sum, XXH64(b.data, b.len, 0));
    assert_int_equal(osp_buf_append(&b, sum, 8), 0);
    write_file(dir, b.data, b.len);
    osp_buf_cleanup(&b);
}

static size_t load_count(const char *dir)
{
    osp__meta_map m;
    osp_arena a;
    osp_metric_meta *out;
    size_t n;
    osp__meta_init(&m);
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp__meta_load(&m, dir), 0);
    assert_int_equal(osp__meta_list(&m, OSP_STR_LIT(""), &a, &out, &n), 0);
    osp_arena_cleanup(&a);
    osp__meta_cleanup(&m);
    return n;
}

static void test_save_load(void **state)
{
    char *dir = osp_test_tmpdir("meta");
    osp__meta_map m;
    osp__meta_init(&m);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(osp__meta_put(&m, &entries[i]), 1);
    assert_int_equal(osp__meta_put(&m, &entries[0]), 0);
    assert_int_equal(osp__meta_save(&m, dir), 0);
    osp__meta_cleanup(&m);
    assert_int_equal(load_count(dir), 2);
    write_meta(dir, 2, NULL, 0); /* the test's own writer agrees with the format */
    assert_int_equal(load_count(dir), 2);
    osp_test_rmdir(dir);
    free(dir);
}

/* Fuzzing found: an empty file was read through a NULL data pointer (undefined); and a
 * file with valid entries followed by a bad one, or by extra bytes, kept the good entries
 * although a corrupt file is documented as ignored. */
static void test_corrupt_files_are_ignored_whole(void **state)
{
    char *dir = osp_test_tmpdir("meta");
    write_file(dir, "", 0);
    assert_int_equal(load_count(dir), 0);
    write_file(dir, "OSPTMD01", 8);
    assert_int_equal(load_count(dir), 0);
    static const uint8_t bad_kind[] = {2, 'z', 'z', 99, 0, 0}; /* kind 99 */
    write_meta(dir, 3, bad_kind, sizeof bad_kind);
    assert_int_equal(load_count(dir), 0);
    write_meta(dir, 3, NULL, 0); /* one entry short */
    assert_int_equal(load_count(dir), 0);
    write_meta(dir, 2, "x", 1); /* bytes after the last entry */
    assert_int_equal(load_count(dir), 0);
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_corrupt_files_are_ignored_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
