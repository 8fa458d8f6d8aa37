/* Shared includes and helpers for cmocka unit tests. Each test file is its own program. */
#ifndef OSP_TESTUTIL_H
#define OSP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* A fresh empty directory under $TMPDIR (or /tmp) for a test; caller frees it. */
static inline char *osp_test_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *dir = malloc(strlen(base) + strlen(tag) + 32);
    if (!dir)
        return NULL;
    sprintf(dir, "%s/osp-%s-XXXXXX", base, tag);
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

/* Removes a directory tree made by osp_test_tmpdir. */
static inline void osp_test_rmdir(const char *dir)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

#endif
