/* Helpers shared by the fuzz targets that open stores on disk: a scratch directory, and
 * an input cut into write-ahead-log records written through the real log. */
#ifndef OSP_FUZZ_FUZZ_UTIL_H
#define OSP_FUZZ_FUZZ_UTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "store/embedded/wal.h"

/* Separates the records of one input ("\xfe\xfeRS"; fuzz/NAME.dict names it). */
#define FUZZ_RECORD_SEP "\xfe\xfeRS"
#define FUZZ_RECORD_SEP_LEN 4

static int fuzz__rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    if (ftw->level == 0)
        return 0; /* keep the root */
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0; /* go on past failures */
}

/* Empties dir (keeps dir itself). */
static inline void fuzz_clear_dir(const char *dir)
{
    nftw(dir, fuzz__rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char fuzz__root[4096];

static void fuzz__remove_root(void)
{
    fuzz_clear_dir(fuzz__root);
    rmdir(fuzz__root);
}

/* A scratch directory for this process, made once (on /dev/shm when there is one, so
 * fsyncs cost nothing; $TMPDIR otherwise) and removed at exit. Silences the log, which
 * reports every expected corruption. */
static inline const char *fuzz_scratch_dir(const char *tag)
{
    if (!fuzz__root[0]) {
        struct stat st;
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
            base = "/dev/shm";
        snprintf(fuzz__root, sizeof fuzz__root, "%s/osp-fuzz-%s-XXXXXX", base, tag);
        if (!mkdtemp(fuzz__root))
            abort();
        atexit(fuzz__remove_root);
        osp_log_set_level(OSP_LOG_ERROR + 1);
    }
    return fuzz__root;
}

/* Writes the input's records (the bytes between separators; empty ones are left out)
 * into a fresh log in dir, as the store would have written them. */
static inline void fuzz_write_records(const char *dir, const uint8_t *data, size_t size)
{
    osp_wal_options opt = {.dir = dir, .fsync_policy = OSP_FSYNC_NEVER};
    osp_wal *w;
    uint64_t lsn;
    if (osp_wal_open(&opt, 0, NULL, NULL, &w))
        abort();
    const uint8_t *p = data, *end = data + size;
    while (p <= end) {
        const uint8_t *q = end - p >= FUZZ_RECORD_SEP_LEN
                               ? memmem(p, (size_t)(end - p), FUZZ_RECORD_SEP, FUZZ_RECORD_SEP_LEN)
                               : NULL;
        if (!q)
            q = end;
        if (q > p && osp_wal_append(w, osp_str_make((const char *)p, (size_t)(q - p)), &lsn))
            abort();
        p = q + FUZZ_RECORD_SEP_LEN;
    }
    osp_wal_close(w);
}

#endif
