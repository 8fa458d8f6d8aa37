/* Write-ahead log: segment files, group commit, fsync policies and crash recovery.
 *
 * Group commit: an appender checksums its payload outside the lock, then under the lock
 * takes the next lsn and queues itself. If no leader is writing, it becomes the leader:
 * it takes the whole queue, drops the lock, writes every queued record with writev (one
 * fdatasync for the group under OSP_FSYNC_ALWAYS), then marks the group done and wakes
 * the followers. Only the leader touches the segment file, so the records of one group
 * land contiguously and in lsn order. */
#include "store/embedded/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/cond.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/thread.h"

#define MODULE "wal"
#define DEFAULT_SEGMENT_BYTES (64ull << 20)
#define DEFAULT_INTERVAL_MS 1000
#define NAME_LEN 20 /* 16 hex digits + ".wal" */
#define MAX_IOV 1024

typedef struct segment {
    uint64_t first_lsn; /* from the file name */
    uint64_t last_lsn;  /* lsn of its last valid record; 0 when it holds none */
} segment;

/* One queued append; lives on the appender's stack until done is set. */
typedef struct waiter {
    uint8_t hdr[OSP_WAL_HEADER_LEN];
    osp_str payload;
    uint64_t lsn;
    int done, rc;
    struct waiter *next;
} waiter;

struct osp_wal {
    char *dir;
    enum osp_fsync_policy policy;
    uint32_t interval_ms;
    uint64_t segment_bytes;

    pthread_mutex_t mu;
    pthread_cond_t cv;      /* group finished, leader slot freed, background sync finished */
    pthread_cond_t sync_cv; /* wakes the interval sync thread */
    waiter *queue_head, *queue_tail;
    int writing;          /* a leader owns fd and cur_size */
    int rotate_requested; /* next group starts a new segment */
    int failed;           /* sticky OSP_EIO after a failed sync or an unrepairable write */
    int closed, stop_sync, sync_busy;
    uint64_t last_lsn; /* highest lsn handed out */
    segment *segs;     /* ascending; when fd >= 0 the last one is being written */
    size_t nsegs, segs_cap;
    int fd;                               /* segment being written, or -1 */
    uint64_t cur_size;                    /* its size; leader only */
    uint64_t written_bytes, synced_bytes; /* totals, for the interval sync */
    pthread_t sync_thread;
    int sync_started;

    osp_metric *m_bytes, *m_fsyncs, *m_records, *m_group;
};

static uint32_t header_sum(const uint8_t *hdr, uint32_t len)
{
    return (uint32_t)XXH3_64bits_withSeed(hdr + 8, 16, len);
}

static void segment_name(char out[NAME_LEN + 1], uint64_t first_lsn)
{
    snprintf(out, NAME_LEN + 1, "%016" PRIx64 ".wal", first_lsn);
}

/* dir + "/" + name into a caller array of PATH_MAX. */
static void segment_path(const osp_wal *w, uint64_t first_lsn, char *path)
{
    char name[NAME_LEN + 1];
    segment_name(name, first_lsn);
    snprintf(path, PATH_MAX, "%s/%s", w->dir, name);
}

static int add_segment(osp_wal *w, uint64_t first_lsn)
{
    if (w->nsegs == w->segs_cap) {
        size_t cap = w->segs_cap ? w->segs_cap * 2 : 16;
        segment *s = osp_realloc(w->segs, cap * sizeof *s);
        if (!s)
            return OSP_ENOMEM;
        w->segs = s;
        w->segs_cap = cap;
    }
    w->segs[w->nsegs++] = (segment){first_lsn, 0};
    return 0;
}

/* ---- Recovery ---- */

/* 1 when a valid record starts at off: header and payload in bounds, both sums right,
 * lsn above prev. */
static int record_at(const uint8_t *data, uint64_t size, uint64_t off, uint64_t prev, uint64_t *lsn,
                     uint32_t *len)
{
    if (size - off < OSP_WAL_HEADER_LEN)
        return 0;
    const uint8_t *h = data + off;
    uint32_t n = osp_get_le32(h);
    if (n == 0 || n > OSP_WAL_MAX_RECORD || osp_get_le32(h + 4) != header_sum(h, n))
        return 0;
    uint64_t l = osp_get_le64(h + 8);
    if (l <= prev || size - off - OSP_WAL_HEADER_LEN < n ||
        XXH3_64bits(h + OSP_WAL_HEADER_LEN, n) != osp_get_le64(h + 16))
        return 0;
    *lsn = l;
    *len = n;
    return 1;
}

typedef struct replay_ctx {
    uint64_t skip_through;
    osp_wal_replay_fn fn;
    void *ctx;
    uint64_t prev_lsn; /* last valid lsn seen in earlier segments */
} replay_ctx;

/* Replays the records of one mapped segment into rc->fn. Sets seg->last_lsn and *valid_end
 * (offset just past the last valid record, or the size when the segment ends cleanly). */
static int replay_records(const char *path, const uint8_t *data, uint64_t size, segment *seg,
                          replay_ctx *rc, uint64_t *valid_end)
{
    uint64_t off = OSP_WAL_MAGIC_LEN, lsn;
    uint32_t len;
    *valid_end = off;
    while (off < size) {
        if (!record_at(data, size, off, rc->prev_lsn, &lsn, &len)) {
            uint64_t next = off + 1;
            while (next < size && !record_at(data, size, next, rc->prev_lsn, &lsn, &len))
                next++;
            if (next >= size)
                return 0; /* invalid to the end */
            osp_warn(MODULE, "%s: corrupt record at offset %" PRIu64 ", skipped %" PRIu64 " bytes",
                     path, off, next - off);
            off = next;
        }
        if (lsn > rc->skip_through && rc->fn) {
            int err = rc->fn(lsn, osp_str_make((const char *)data + off + OSP_WAL_HEADER_LEN, len),
                             rc->ctx);
            if (err)
                return err;
        }
        rc->prev_lsn = seg->last_lsn = lsn;
        off += OSP_WAL_HEADER_LEN + (uint64_t)len;
        *valid_end = off;
    }
    return 0;
}

/* Opens, checks and replays one segment. *drop is set when the file should be forgotten
 * (it was removed or moved aside). */
static int replay_segment(osp_wal *w, segment *seg, int newest, replay_ctx *rc, int *drop)
{
    char path[PATH_MAX];
    uint8_t magic[OSP_WAL_MAGIC_LEN];
    struct stat st;
    void *map = MAP_FAILED;
    int err = OSP_EIO;
    *drop = 0;
    segment_path(w, seg->first_lsn, path);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st)) {
        osp_error(MODULE, "%s: %s", path, strerror(errno));
        goto out;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < OSP_WAL_MAGIC_LEN) { /* creation interrupted: no record was ever in it */
        osp_warn(MODULE, "%s: %" PRIu64 "-byte segment without records, removing", path, size);
        *drop = 1;
        err = unlink(path) ? OSP_EIO : 0;
        goto out;
    }
    if (pread(fd, magic, sizeof magic, 0) != (ssize_t)sizeof magic ||
        memcmp(magic, OSP_WAL_MAGIC, OSP_WAL_MAGIC_LEN)) {
        char aside[PATH_MAX + 8];
        snprintf(aside, sizeof aside, "%s.bad", path);
        osp_error(MODULE, "%s: not a write-ahead-log segment, moved to %s", path, aside);
        *drop = 1;
        err = rename(path, aside) ? OSP_EIO : 0;
        goto out;
    }
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        osp_error(MODULE, "%s: mmap: %s", path, strerror(errno));
        goto out;
    }
    uint64_t valid_end;
    err = replay_records(path, map, size, seg, rc, &valid_end);
    if (err || valid_end == size)
        goto out;
    if (newest) {
        osp_warn(MODULE, "%s: torn write at offset %" PRIu64 " (%" PRIu64 " bytes), truncating",
                 path, valid_end, size - valid_end);
        if (ftruncate(fd, (off_t)valid_end)) {
            osp_error(MODULE, "%s: truncate: %s", path, strerror(errno));
            err = OSP_EIO;
        }
    } else {
        osp_warn(MODULE,
                 "%s: corrupt data from offset %" PRIu64 " to the end (%" PRIu64 " bytes) skipped",
                 path, valid_end, size - valid_end);
    }
out:
    if (map != MAP_FAILED)
        munmap(map, size);
    if (fd >= 0)
        close(fd);
    return err;
}

static int cmp_segment(const void *a, const void *b)
{
    uint64_t x = ((const segment *)a)->first_lsn, y = ((const segment *)b)->first_lsn;
    return x < y ? -1 : x > y;
}

/* Lists DIR/<16 hex>.wal into w->segs, sorted. */
static int list_segments(osp_wal *w)
{
    DIR *d = opendir(w->dir);
    struct dirent *de;
    int rc = 0;
    if (!d)
        return OSP_EIO;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        const char *z = de->d_name;
        if (strlen(z) != NAME_LEN || strcmp(z + 16, ".wal") || strspn(z, "0123456789abcdef") != 16)
            continue;
        rc = add_segment(w, strtoull(z, NULL, 16));
    }
    closedir(d);
    if (rc == 0 && w->nsegs)
        qsort(w->segs, w->nsegs, sizeof *w->segs, cmp_segment);
    return rc;
}

static int recover(osp_wal *w, replay_ctx *rc)
{
    int err = list_segments(w);
    size_t kept = 0;
    for (size_t i = 0; i < w->nsegs && err == 0; i++) {
        int drop;
        segment seg = w->segs[i];
        err = replay_segment(w, &seg, i + 1 == w->nsegs, rc, &drop);
        if (!drop)
            w->segs[kept++] = seg;
    }
    if (err)
        return err;
    w->nsegs = kept;
    /* Trailing segments without a valid record hold nothing; new segments take their
     * names' place. */
    while (w->nsegs && w->segs[w->nsegs - 1].last_lsn == 0) {
        char path[PATH_MAX];
        segment_path(w, w->segs[w->nsegs - 1].first_lsn, path);
        if (unlink(path))
            return OSP_EIO;
        w->nsegs--;
    }
    /* New lsns go above every record, skip_through and every segment name (a segment is
     * named by its first lsn, so a new one never takes an existing name). */
    w->last_lsn = rc->prev_lsn > rc->skip_through ? rc->prev_lsn : rc->skip_through;
    for (size_t i = 0; i < w->nsegs; i++)
        if (w->segs[i].first_lsn > w->last_lsn)
            w->last_lsn = w->segs[i].first_lsn;
    return 0;
}

/* ---- Writing ---- */

/* Records a failure after which the log cannot be trusted: every later append fails. */
static void set_failed(osp_wal *w, const char *what)
{
    osp_error(MODULE, "%s: %s failed (%s); refusing further appends", w->dir, what,
              strerror(errno));
    pthread_mutex_lock(&w->mu);
    w->failed = OSP_EIO;
    pthread_mutex_unlock(&w->mu);
}

/* fdatasync; a failure is sticky (after a failed sync the page cache cannot be trusted). */
static int sync_fd(osp_wal *w, int fd)
{
    if (fdatasync(fd)) {
        set_failed(w, "fdatasync");
        return OSP_EIO;
    }
    osp_counter_inc(w->m_fsyncs);
    return 0;
}

/* Leader only: finishes the current segment (synced unless the policy is NEVER). */
static int close_segment(osp_wal *w)
{
    int rc = w->policy == OSP_FSYNC_NEVER ? 0 : sync_fd(w, w->fd);
    pthread_mutex_lock(&w->mu);
    while (w->sync_busy)
        pthread_cond_wait(&w->cv, &w->mu);
    int fd = w->fd;
    w->fd = -1;
    if (rc == 0 && w->policy != OSP_FSYNC_NEVER)
        w->synced_bytes = w->written_bytes;
    pthread_mutex_unlock(&w->mu);
    close(fd);
    return rc;
}

/* Leader only: creates the segment whose first record will be first_lsn. */
static int open_segment(osp_wal *w, uint64_t first_lsn)
{
    char path[PATH_MAX];
    segment_path(w, first_lsn, path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        osp_error(MODULE, "%s: %s", path, strerror(errno));
        return OSP_EIO;
    }
    if (w->policy != OSP_FSYNC_NEVER && osp_fsync_dir(w->dir)) {
        osp_error(MODULE, "%s: fsync: %s", w->dir, strerror(errno));
        close(fd);
        unlink(path);
        return OSP_EIO;
    }
    pthread_mutex_lock(&w->mu);
    int rc = add_segment(w, first_lsn);
    if (rc == 0)
        w->fd = fd;
    pthread_mutex_unlock(&w->mu);
    if (rc) {
        close(fd);
        unlink(path);
        return rc;
    }
    w->cur_size = 0;
    return 0;
}

/* writev until every byte is out. */
static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t k = writev(fd, iov, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return OSP_EIO;
        while (n > 0 && (size_t)k >= iov->iov_len) {
            k -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}

/* Writes the group's records (magic first in a fresh segment). *bytes receives the bytes
 * written. On a failed write the segment is cut back to its old size; if even that fails
 * the log is marked failed. */
static int write_records(osp_wal *w, waiter *group, uint64_t *bytes)
{
    struct iovec iov[MAX_IOV];
    uint64_t start = w->cur_size, total = 0;
    int n = 0, rc = 0;
    if (start == 0) {
        iov[n++] = (struct iovec){(void *)OSP_WAL_MAGIC, OSP_WAL_MAGIC_LEN};
        total += OSP_WAL_MAGIC_LEN;
    }
    for (waiter *x = group; x && rc == 0; x = x->next) {
        iov[n++] = (struct iovec){x->hdr, OSP_WAL_HEADER_LEN};
        iov[n++] = (struct iovec){(void *)x->payload.p, x->payload.n};
        total += OSP_WAL_HEADER_LEN + x->payload.n;
        if (n > MAX_IOV - 2 || !x->next) {
            rc = write_all(w->fd, iov, n);
            n = 0;
        }
    }
    if (rc) {
        osp_error(MODULE, "%s: write failed: %s", w->dir, strerror(errno));
        if (ftruncate(w->fd, (off_t)start))
            set_failed(w, "cutting back a failed write");
        return rc;
    }
    w->cur_size += total;
    *bytes = total;
    return 0;
}

/* Leader only, without the lock: rotates if due, writes, syncs per policy. */
static int write_group(osp_wal *w, waiter *group, int rotate, uint64_t *bytes)
{
    int rc = 0;
    if (w->fd >= 0 && (rotate || w->cur_size >= w->segment_bytes))
        rc = close_segment(w);
    if (rc == 0 && w->fd < 0)
        rc = open_segment(w, group->lsn);
    if (rc == 0)
        rc = write_records(w, group, bytes);
    if (rc == 0 && w->policy == OSP_FSYNC_ALWAYS)
        rc = sync_fd(w, w->fd);
    return rc;
}

/* Called with the lock held, no leader active and the queue non-empty: writes the whole
 * queue as one group and completes its waiters. Returns with the lock held. */
static void lead(osp_wal *w)
{
    waiter *group = w->queue_head, *last = w->queue_tail;
    int rotate = w->rotate_requested;
    uint64_t bytes = 0;
    size_t n = 0;
    w->queue_head = w->queue_tail = NULL;
    w->rotate_requested = 0;
    w->writing = 1;
    pthread_mutex_unlock(&w->mu);

    int rc = write_group(w, group, rotate, &bytes);

    pthread_mutex_lock(&w->mu);
    if (rc == 0) {
        w->segs[w->nsegs - 1].last_lsn = last->lsn;
        w->written_bytes += bytes;
        if (w->policy == OSP_FSYNC_ALWAYS)
            w->synced_bytes = w->written_bytes;
    }
    for (waiter *x = group; x; x = x->next) {
        x->rc = rc;
        x->done = 1;
        n++;
    }
    w->writing = 0;
    pthread_cond_broadcast(&w->cv);
    if (rc == 0) {
        osp_counter_add(w->m_bytes, bytes);
        osp_counter_add(w->m_records, n);
        osp_histogram_observe(w->m_group, (double)n);
    }
}

int osp_wal_append(osp_wal *w, osp_str payload, uint64_t *lsn)
{
    if (payload.n == 0)
        return OSP_EINVAL;
    if (payload.n > OSP_WAL_MAX_RECORD)
        return OSP_ETOOBIG;
    waiter me = {.payload = payload};
    uint64_t sum = XXH3_64bits(payload.p, payload.n);
    int rc;
    pthread_mutex_lock(&w->mu);
    if (w->closed || w->failed || w->last_lsn == UINT64_MAX) {
        rc = w->closed ? OSP_ECLOSED : OSP_EIO; /* failed, or the lsn space is used up */
        goto out;
    }
    me.lsn = ++w->last_lsn;
    osp_put_le32(me.hdr, (uint32_t)payload.n);
    osp_put_le64(me.hdr + 8, me.lsn);
    osp_put_le64(me.hdr + 16, sum);
    osp_put_le32(me.hdr + 4, header_sum(me.hdr, (uint32_t)payload.n));
    if (w->queue_tail)
        w->queue_tail->next = &me;
    else
        w->queue_head = &me;
    w->queue_tail = &me;
    while (!me.done) {
        if (w->writing)
            pthread_cond_wait(&w->cv, &w->mu);
        else
            lead(w);
    }
    rc = me.rc;
    if (rc == 0)
        *lsn = me.lsn;
out:
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* ---- Interval sync ---- */

static void *sync_main(void *arg)
{
    osp_wal *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop_sync) {
        osp_cond_wait_ms(&w->sync_cv, &w->mu, w->interval_ms);
        if (w->stop_sync || w->fd < 0 || w->failed || w->written_bytes == w->synced_bytes)
            continue;
        int fd = w->fd;
        uint64_t target = w->written_bytes;
        w->sync_busy = 1;
        pthread_mutex_unlock(&w->mu);
        int rc = sync_fd(w, fd);
        pthread_mutex_lock(&w->mu);
        w->sync_busy = 0;
        if (rc == 0 && target > w->synced_bytes)
            w->synced_bytes = target;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- Lifecycle ---- */

int osp_wal_open(const osp_wal_options *opt, uint64_t skip_through, osp_wal_replay_fn fn, void *ctx,
                 osp_wal **out)
{
    static const double group_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
    replay_ctx rc_replay = {skip_through, fn, ctx, 0};
    int rc = OSP_ENOMEM;
    osp_wal *w = osp_calloc(1, sizeof *w);
    if (!w)
        return OSP_ENOMEM;
    w->fd = -1;
    w->policy = opt->fsync_policy;
    w->interval_ms = opt->fsync_interval_ms ? opt->fsync_interval_ms : DEFAULT_INTERVAL_MS;
    w->segment_bytes = opt->segment_bytes ? opt->segment_bytes : DEFAULT_SEGMENT_BYTES;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    osp_cond_init_monotonic(&w->sync_cv);
    w->m_bytes =
        osp_counter("osprey_wal_bytes_written_total", "Bytes written to the write-ahead log.", "");
    w->m_fsyncs =
        osp_counter("osprey_wal_fsyncs_total", "fdatasync calls on the write-ahead log.", "");
    w->m_records =
        osp_counter("osprey_wal_records_total", "Records written to the write-ahead log.", "");
    w->m_group = osp_metric_histogram("osprey_wal_group_commit_size",
                                      "Records written together by one group commit.", "",
                                      group_bounds, sizeof group_bounds / sizeof group_bounds[0]);
    if (!(w->dir = osp_strdup(opt->dir)))
        goto out;
    if ((rc = osp_mkdirs(w->dir, MODULE)) != 0)
        goto out;
    if ((rc = recover(w, &rc_replay)) != 0)
        goto out;
    if (w->policy == OSP_FSYNC_INTERVAL) {
        rc = osp_thread_start(&w->sync_thread, "osp-wal-sync", sync_main, w) ? OSP_ENOMEM : 0;
        w->sync_started = rc == 0;
    }
out:
    if (rc) {
        osp_wal_close(w);
        return rc;
    }
    *out = w;
    return 0;
}

void osp_wal_close(osp_wal *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->closed = 1;
    while (w->writing || w->queue_head)
        pthread_cond_wait(&w->cv, &w->mu);
    w->stop_sync = 1;
    pthread_cond_signal(&w->sync_cv);
    pthread_mutex_unlock(&w->mu);
    if (w->sync_started)
        pthread_join(w->sync_thread, NULL);
    if (w->fd >= 0) {
        if (w->policy != OSP_FSYNC_NEVER && w->written_bytes != w->synced_bytes)
            sync_fd(w, w->fd);
        close(w->fd);
    }
    pthread_cond_destroy(&w->sync_cv);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    osp_free(w->segs);
    osp_free(w->dir);
    osp_free(w);
}

void osp_wal_rotate(osp_wal *w)
{
    pthread_mutex_lock(&w->mu);
    if (w->fd >= 0)
        w->rotate_requested = 1;
    pthread_mutex_unlock(&w->mu);
}

/* Under the lock: closes the segment being written when no leader is using it and all
 * its records are <= lsn, so it can be removed too (the next write starts a new one). */
static void close_idle_segment(osp_wal *w, uint64_t lsn)
{
    while (w->fd >= 0 && !w->writing && w->sync_busy)
        pthread_cond_wait(&w->cv, &w->mu);
    if (w->fd < 0 || w->writing || w->segs[w->nsegs - 1].last_lsn > lsn)
        return;
    close(w->fd);
    w->fd = -1;
    w->rotate_requested = 0;
}

int osp_wal_truncate_before(osp_wal *w, uint64_t lsn)
{
    int rc = 0;
    size_t kept = 0;
    pthread_mutex_lock(&w->mu);
    close_idle_segment(w, lsn);
    size_t closed = w->fd >= 0 ? w->nsegs - 1 : w->nsegs;
    for (size_t i = 0; i < w->nsegs; i++) {
        char path[PATH_MAX];
        segment_path(w, w->segs[i].first_lsn, path);
        if (i < closed && w->segs[i].last_lsn <= lsn && unlink(path) == 0)
            continue;
        if (i < closed && w->segs[i].last_lsn <= lsn) {
            osp_error(MODULE, "%s: cannot remove: %s", path, strerror(errno));
            rc = OSP_EIO;
        }
        w->segs[kept++] = w->segs[i];
    }
    w->nsegs = kept;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

uint64_t osp_wal_last_lsn(osp_wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t lsn = w->last_lsn;
    pthread_mutex_unlock(&w->mu);
    return lsn;
}
