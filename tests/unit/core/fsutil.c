/* Unit tests for core/fsutil: path joins, mkdir -p, directory fsync, whole writes and reads,
 * atomic file replacement. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "testutil.h"

#include "core/err.h"
#include "core/fsutil.h"
#include "core/mem.h"

/* Each test gets a fresh temporary directory as its state. */
static int setup(void **state)
{
    *state = osp_test_tmpdir("fsutil");
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    osp_test_rmdir(*state);
    free(*state);
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_path_join(void **state)
{
    (void)state;
    char *p = osp_path_join("/var/lib", "osprey");
    assert_non_null(p);
    assert_string_equal(p, "/var/lib/osprey");
    osp_free(p);
    p = osp_path_join("", "x");
    assert_string_equal(p, "/x");
    osp_free(p);
    osp_mem_fail_after(1);
    assert_null(osp_path_join("a", "b"));
    osp_mem_fail_after(0);
}

static void test_mkdirs(void **state)
{
    const char *dir = *state;
    char *deep = osp_path_join(dir, "a/b/c");
    assert_int_equal(osp_mkdirs(deep, "test"), 0);
    assert_true(is_dir(deep));
    assert_int_equal(osp_mkdirs(deep, "test"), 0); /* existing: fine */
    char *slash = osp_path_join(dir, "d/");        /* trailing slash */
    assert_int_equal(osp_mkdirs(slash, "test"), 0);
    assert_true(is_dir(slash));
    osp_free(slash);
    osp_free(deep);

    /* A path through a regular file fails with OSP_EIO. */
    char *file = osp_path_join(dir, "file");
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    close(fd);
    char *under = osp_path_join(file, "sub");
    assert_int_equal(osp_mkdirs(under, "test"), OSP_EIO);
    osp_free(under);
    osp_free(file);

    assert_int_equal(osp_mkdirs("", "test"), OSP_EINVAL);
    char *huge = osp_malloc(PATH_MAX + 2);
    memset(huge, 'a', PATH_MAX + 1);
    huge[PATH_MAX + 1] = '\0';
    assert_int_equal(osp_mkdirs(huge, "test"), OSP_EINVAL);
    osp_free(huge);
}

static void test_fsync_dir(void **state)
{
    const char *dir = *state;
    assert_int_equal(osp_fsync_dir(dir), 0);
    char *missing = osp_path_join(dir, "missing");
    errno = 0;
    assert_int_equal(osp_fsync_dir(missing), OSP_EIO);
    assert_int_equal(errno, ENOENT);
    osp_free(missing);
}

static void test_write_all(void **state)
{
    const char *dir = *state;
    char *path = osp_path_join(dir, "data");
    size_t n = 1 << 20;
    uint8_t *src = osp_malloc(n), *back = osp_malloc(n);
    for (size_t i = 0; i < n; i++)
        src[i] = (uint8_t)(i * 31 + 7);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(osp_write_all(fd, src, n), 0);
    assert_int_equal(osp_write_all(fd, src, 0), 0);
    assert_int_equal(pread(fd, back, n, 0), (ssize_t)n);
    assert_memory_equal(src, back, n);
    close(fd);

    /* A read-only descriptor cannot be written. */
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    errno = 0;
    assert_int_equal(osp_write_all(fd, src, 1), OSP_EIO);
    assert_int_equal(errno, EBADF);
    close(fd);
    osp_free(src);
    osp_free(back);
    osp_free(path);
}

/* A corrupt file moves into the quarantine directory, under its own name or the one given;
 * when it cannot be moved it stays. */
static void test_quarantine(void **state)
{
    const char *dir = *state;
    char *q = osp_path_join(dir, "quarantine"), *f = osp_path_join(dir, "bad.blk");
    char *own = osp_path_join(q, "bad.blk"), *named = osp_path_join(q, "day-bad.blk");
    assert_int_equal(osp_mkdirs(q, "test"), 0);
    for (int k = 0; k < 2; k++) {
        int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        close(fd);
        osp_quarantine(f, q, k ? "day-bad.blk" : NULL, "block", "test");
        assert_int_equal(access(f, F_OK), -1);
        assert_int_equal(access(k ? named : own, F_OK), 0);
    }
    int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    close(fd);
    osp_quarantine(f, own, NULL, "block", "test"); /* own is a file, not a directory */
    assert_int_equal(access(f, F_OK), 0);
    osp_free(q);
    osp_free(f);
    osp_free(own);
    osp_free(named);
}

/* One holder of a data directory at a time; the lock goes with its descriptor. */
static void test_lock_dir(void **state)
{
    const char *dir = *state;
    int a = -1, b = -1;
    assert_int_equal(osp_lock_dir(dir, &a), 0);
    assert_int_equal(osp_lock_dir(dir, &b), OSP_EBUSY);
    close(a);
    assert_int_equal(osp_lock_dir(dir, &b), 0);
    close(b);
    assert_int_equal(osp_lock_dir("/nonexistent-osprey-dir/x", &a), OSP_EIO);
}

/* A file replaced atomically reads back whole; its temporary file is gone; a missing file
 * reads as OSP_ENOTFOUND; a buffer's cap is kept; a directory that is not there fails. */
static void test_read_and_replace(void **state)
{
    const char *dir = *state;
    char *path = osp_path_join(dir, "snap"), tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    size_t n = 200000;
    uint8_t *src = osp_malloc(n);
    for (size_t i = 0; i < n; i++)
        src[i] = (uint8_t)(i * 13 + 1);
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_read_file(path, &b), OSP_ENOTFOUND);
    assert_int_equal(osp_write_file_atomic(path, "old", 3), 0);
    assert_int_equal(osp_write_file_atomic(path, src, n), 0);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(osp_read_file(path, &b), 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, src, n);
    osp_buf_cleanup(&b);
    osp_buf_init(&b, 1000);
    assert_int_equal(osp_read_file(path, &b), OSP_ETOOBIG);
    osp_buf_cleanup(&b);
    osp_buf_init(&b, n); /* a file of exactly the cap fits; a byte less does not */
    assert_int_equal(osp_read_file(path, &b), 0);
    assert_int_equal(b.len, n);
    osp_buf_cleanup(&b);
    osp_buf_init(&b, n - 1);
    assert_int_equal(osp_read_file(path, &b), OSP_ETOOBIG);
    osp_buf_cleanup(&b);
    char *nowhere = osp_path_join(dir, "missing/snap");
    errno = 0;
    assert_int_equal(osp_write_file_atomic(nowhere, "x", 1), OSP_EIO);
    assert_int_equal(errno, ENOENT);
    osp_free(nowhere);
    osp_free(src);
    osp_free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_join),
        cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_and_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
