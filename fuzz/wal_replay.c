/* Fuzz target: write-ahead-log recovery over arbitrary segment bytes never crashes,
 * decodes whatever payloads it accepts, and leaves a log that still appends and replays.
 *
 * Input: byte 0 holds flags (bit 0: split the rest into two segments at the point byte 1
 * gives; bit 1: put the segment magic in front so random bytes reach the record parser);
 * the remaining bytes are the segment contents. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "model/span.h"
#include "store/embedded/rowcodec.h"
#include "store/embedded/wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[4096];

static void clear_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[8192];
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
}

static void remove_dir(void)
{
    clear_dir();
    rmdir(dir);
}

static void write_segment(const char *name, int magic, const uint8_t *p, size_t n)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (magic)
        fwrite(OSP_WAL_MAGIC, 1, OSP_WAL_MAGIC_LEN, f);
    if (n)
        fwrite(p, 1, n, f);
    fclose(f);
}

typedef struct seen {
    uint64_t last_lsn, count, first;
    int matched; /* the record appended after recovery came back */
} seen;

static int on_record(uint64_t lsn, osp_str payload, void *ctx)
{
    seen *s = ctx;
    osp_span_batch b;
    if (s->count && lsn <= s->last_lsn)
        abort(); /* replay must deliver ascending lsns */
    if (!s->count)
        s->first = lsn;
    s->last_lsn = lsn;
    s->count++;
    s->matched = osp_str_eqz(payload, "after recovery");
    osp_span_batch_init(&b);
    osp_rowcodec_decode(payload, &b);
    osp_span_batch_cleanup(&b);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(dir, sizeof dir, "%s/osp-fuzz-wal-XXXXXX", tmp);
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
        osp_log_set_level(OSP_LOG_ERROR + 1); /* silence the expected corruption reports */
    }
    if (size < 2)
        return 0;
    int split = data[0] & 1, magic = (data[0] & 2) != 0;
    const uint8_t *p = data + 2;
    size_t n = size - 2, cut = split ? n * data[1] / 255 : n;
    clear_dir();
    write_segment("0000000000000001.wal", magic, p, cut);
    if (split)
        write_segment("0000000000000100.wal", magic, p + cut, n - cut);

    osp_wal_options opt = {.dir = dir, .fsync_policy = OSP_FSYNC_NEVER};
    osp_wal *w;
    seen s = {0};
    uint64_t lsn;
    if (osp_wal_open(&opt, 0, on_record, &s, &w))
        abort(); /* recovery must cope with any bytes */
    uint64_t last = osp_wal_last_lsn(w);
    if (last < s.last_lsn)
        abort();
    int rc = osp_wal_append(w, OSP_STR_LIT("after recovery"), &lsn);
    osp_wal_close(w);
    if (rc && last != UINT64_MAX)
        abort();
    if (rc)
        return 0; /* the recovered lsns used up the whole space */

    /* Recovery left a log that replays the new record, and only it above its lsn. */
    memset(&s, 0, sizeof s);
    if (osp_wal_open(&opt, lsn - 1, on_record, &s, &w))
        abort();
    if (s.count != 1 || s.first != lsn || !s.matched)
        abort();
    osp_wal_close(w);
    return 0;
}
