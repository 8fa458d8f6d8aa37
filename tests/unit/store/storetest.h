/* Helpers shared by the store test suites (embedded, logs): damaging files on disk and
 * shell steps. Include after testutil.h. */
#ifndef OSP_TESTS_STORE_STORETEST_H
#define OSP_TESTS_STORE_STORETEST_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* XORs the byte at off of the file at path with mask (mask != 0 changes it). */
static inline void osp_test_flip_byte(const char *path, off_t off, uint8_t mask)
{
    int fd = open(path, O_RDWR);
    uint8_t c;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= mask;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* Runs a shell command built printf-style; it must succeed. */
static inline void osp_test_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void osp_test_run(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
}

#endif
