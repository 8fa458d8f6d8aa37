/* Unit tests for the write-ahead log (src/store/embedded/wal.c): group commit, replay
 * after simulated crashes, rotation and truncation. */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/embedded/wal.h"

#define MAX_SEEN 4096

/* What a replay delivered. */
typedef struct seen {
    size_t n;
    uint64_t lsn[MAX_SEEN];
    char payload[MAX_SEEN][64];
} seen;

static int collect(uint64_t lsn, osp_str payload, void *ctx)
{
    seen *s = ctx;
    assert_true(s->n < MAX_SEEN);
    assert_true(payload.n < sizeof s->payload[0]);
    s->lsn[s->n] = lsn;
    memcpy(s->payload[s->n], payload.p, payload.n);
    s->payload[s->n][payload.n] = '\0';
    s->n++;
    return 0;
}

static osp_wal *open_wal(const char *dir, enum osp_fsync_policy policy, uint64_t segment_bytes,
                         uint64_t skip, seen *s)
{
    osp_wal_options opt = {.dir = dir, .fsync_policy = policy, .segment_bytes = segment_bytes};
    osp_wal *w = NULL;
    if (s)
        memset(s, 0, sizeof *s);
    assert_int_equal(osp_wal_open(&opt, skip, s ? collect : NULL, s, &w), 0);
    return w;
}

static uint64_t append(osp_wal *w, const char *z)
{
    uint64_t lsn = 0;
    assert_int_equal(osp_wal_append(w, osp_str_c(z), &lsn), 0);
    return lsn;
}

static char *wal_dir(const char *tag)
{
    char *root = osp_test_tmpdir(tag);
    assert_non_null(root);
    char *dir = malloc(strlen(root) + 8);
    sprintf(dir, "%s/wal", root);
    free(root);
    return dir;
}

static void remove_dir(char *dir)
{
    *strrchr(dir, '/') = '\0';
    osp_test_rmdir(dir);
    free(dir);
}

/* Names of the segment files, sorted (a static list, fine for tests). */
static size_t segments(const char *dir, char names[][64], size_t max)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    size_t k = 0;
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(list[i]->d_name);
        if (len > 4 && !strcmp(list[i]->d_name + len - 4, ".wal") && k < max)
            snprintf(names[k++], 64, "%.63s", list[i]->d_name);
        free(list[i]);
    }
    free(list);
    return k;
}

static off_t file_size(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void truncate_file(const char *dir, const char *name, off_t size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(truncate(path, size), 0);
}

static void flip_byte(const char *dir, const char *name, off_t off)
{
    char path[4096];
    unsigned char c;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x40;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static double metric(const char *name)
{
    return osp_metric_value(osp_counter(name, "", ""));
}

static void test_append_and_replay(void **state)
{
    (void)state;
    char *dir = wal_dir("wal-basic");
    seen s;
    osp_wal *w = open_wal(dir, OSP_FSYNC_ALWAYS, 0, 0, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(osp_wal_last_lsn(w), 0);
    double fsyncs = metric("osprey_wal_fsyncs_total");
    assert_int_equal(append(w, "alpha"), 1);
    assert_int_equal(append(w, "beta"), 2);
    assert_int_equal(append(w, "gamma"), 3);
    assert_true(metric("osprey_wal_fsyncs_total") >= fsyncs + 3);
    osp_wal_close(w);

    w = open_wal(dir, OSP_FSYNC_ALWAYS, 0, 0, &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.payload[0], "alpha");
    assert_string_equal(s.payload[2], "gamma");
    assert_int_equal(s.lsn[0], 1);
    assert_int_equal(s.lsn[2], 3);
    assert_int_equal(osp_wal_last_lsn(w), 3);
    assert_int_equal(append(w, "delta"), 4);
    osp_wal_close(w);

    /* Records up to skip_through are not delivered. */
    w = open_wal(dir, OSP_FSYNC_NEVER, 0, 2, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.payload[0], "gamma");
    assert_string_equal(s.payload[1], "delta");
    osp_wal_close(w);
    remove_dir(dir);
}

static void test_lsn_continues_after_skip(void **state)
{
    (void)state;
    char *dir = wal_dir("wal-skip");
    osp_wal *w = open_wal(dir, OSP_FSYNC_NEVER, 0, 100, NULL);
    assert_int_equal(osp_wal_last_lsn(w), 100);
    assert_int_equal(append(w, "x"), 101);
    osp_wal_close(w);
    remove_dir(dir);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char *dir = wal_dir("wal-args");
    osp_wal *w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, NULL);
    uint64_t lsn = 77;
    assert_int_equal(osp_wal_append(w, OSP_STR_NULL, &lsn), OSP_EINVAL);
    assert_int_equal(osp_wal_append(w, osp_str_make("x", (size_t)OSP_WAL_MAX_RECORD + 1), &lsn),
                     OSP_ETOOBIG);
    assert_int_equal(lsn, 77);
    osp_wal_close(w);
    osp_wal_close(NULL);

    /* A directory that cannot be created. */
    osp_wal_options opt = {.dir = "/proc/osprey-no-such/wal"};
    assert_int_equal(osp_wal_open(&opt, 0, NULL, NULL, &w), OSP_EIO);
    remove_dir(dir);
}

typedef struct writer_arg {
    osp_wal *w;
    int id, count;
    uint64_t lsns[200];
} writer_arg;

static void *writer(void *p)
{
    writer_arg *a = p;
    char buf[64];
    for (int i = 0; i < a->count; i++) {
        snprintf(buf, sizeof buf, "t%d-%d", a->id, i);
        if (osp_wal_append(a->w, osp_str_c(buf), &a->lsns[i]))
            a->lsns[i] = 0;
    }
    return NULL;
}

/* Several threads append at once; every acknowledged record comes back exactly once,
 * each thread's records in its own order, lsns unique and increasing. */
static void run_group_commit(enum osp_fsync_policy policy, int threads, int count)
{
    char *dir = wal_dir("wal-group");
    seen *s = malloc(sizeof *s);
    writer_arg args[8];
    pthread_t tid[8];
    double records = metric("osprey_wal_records_total");
    osp_wal *w = open_wal(dir, policy, 4096, 0, NULL);
    for (int t = 0; t < threads; t++) {
        args[t] = (writer_arg){.w = w, .id = t, .count = count};
        assert_int_equal(pthread_create(&tid[t], NULL, writer, &args[t]), 0);
    }
    for (int t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    osp_wal_close(w);
    assert_true(metric("osprey_wal_records_total") >= records + threads * count);

    w = open_wal(dir, policy, 4096, 0, s);
    assert_int_equal(s->n, (size_t)(threads * count));
    int next[8] = {0};
    for (size_t i = 0; i < s->n; i++) {
        int t, k;
        assert_int_equal(sscanf(s->payload[i], "t%d-%d", &t, &k), 2);
        assert_int_equal(k, next[t]);
        assert_int_equal(args[t].lsns[k], s->lsn[i]);
        next[t]++;
        if (i)
            assert_true(s->lsn[i] > s->lsn[i - 1]);
    }
    osp_wal_close(w);
    free(s);
    remove_dir(dir);
}

static void test_group_commit_always(void **state)
{
    (void)state;
    run_group_commit(OSP_FSYNC_ALWAYS, 6, 40);
}

static void test_group_commit_never(void **state)
{
    (void)state;
    run_group_commit(OSP_FSYNC_NEVER, 8, 200);
}

static void test_interval_sync(void **state)
{
    (void)state;
    char *dir = wal_dir("wal-interval");
    osp_wal_options opt = {.dir = dir, .fsync_policy = OSP_FSYNC_INTERVAL, .fsync_interval_ms = 5};
    osp_wal *w;
    assert_int_equal(osp_wal_open(&opt, 0, NULL, NULL, &w), 0);
    double before = metric("osprey_wal_fsyncs_total");
    append(w, "one");
    for (int i = 0; i < 200 && metric("osprey_wal_fsyncs_total") == before; i++)
        usleep(5000);
    assert_true(metric("osprey_wal_fsyncs_total") > before);
    osp_wal_close(w);
    remove_dir(dir);
}

/* A crash mid-write leaves part of the last record: it is cut off, the acknowledged ones
 * come back, and new appends go to a fresh segment. */
static void test_torn_tail(void **state)
{
    (void)state;
    char *dir = wal_dir("wal-torn");
    char names[8][64];
    seen s;
    osp_wal *w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, NULL);
    for (int i = 0; i < 5; i++)
        append(w, i == 4 ? "the last record, torn" : "acknowledged");
    osp_wal_close(w);
    assert_int_equal(segments(dir, names, 8), 1);
    off_t size = file_size(dir, names[0]);
    off_t four = size - (OSP_WAL_HEADER_LEN + (off_t)strlen("the last record, torn"));
    truncate_file(dir, names[0], size - 7);

    w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, &s);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.lsn[3], 4);
    assert_int_equal(file_size(dir, names[0]), four);
    assert_int_equal(append(w, "after restart"), 5);
    osp_wal_close(w);
    assert_int_equal(segments(dir, names, 8), 2);

    /* A torn header (fewer bytes than a header) is cut too. */
    truncate_file(dir, names[1], file_size(dir, names[1]) + 10);
    w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, &s);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.payload[4], "after restart");
    osp_wal_close(w);
    remove_dir(dir);
}

/* A flipped byte in the middle loses that record only: replay skips to the next valid
 * record, in the newest segment and in older ones. */
static void test_corrupt_middle(void **state)
{
    (void)state;
    char *dir = wal_dir("wal-flip");
    char names[8][64];
    seen s;
    osp_wal *w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, NULL);
    for (int i = 0; i < 5; i++)
        append(w, "0123456789");
    osp_wal_rotate(w);
    for (int i = 0; i < 3; i++)
        append(w, "abcdefghij");
    osp_wal_close(w);
    assert_int_equal(segments(dir, names, 8), 2);
    off_t rec = OSP_WAL_HEADER_LEN + 10;
    /* Payload byte of record 3 in the older segment; lsn byte of record 2 in the newer. */
    flip_byte(dir, names[0], OSP_WAL_MAGIC_LEN + 2 * rec + OSP_WAL_HEADER_LEN + 4);
    flip_byte(dir, names[1], OSP_WAL_MAGIC_LEN + rec + 8);
    off_t newer_size = file_size(dir, names[1]);

    w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, &s);
    assert_int_equal(s.n, 6);
    uint64_t want[] = {1, 2, 4, 5, 6, 8};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(s.lsn[i], want[i]);
    assert_int_equal(file_size(dir, names[1]), newer_size); /* not a tail: nothing cut */
    osp_wal_close(w);

    /* Garbage after the last record of an older segment is skipped, not cut. */
    truncate_file(dir, names[0], file_size(dir, names[0]) + 100);
    w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, &s);
    assert_int_equal(s.n, 6);
    assert_int_equal(file_size(dir, names[0]), OSP_WAL_MAGIC_LEN + 5 * rec + 100);
    osp_wal_close(w);
    remove_dir(dir);
}

static void test_foreign_files(void **state)
{
    (void)state;
    char *dir = wal_dir("wal-foreign");
    char names[8][64];
    seen s;
    osp_wal *w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, NULL);
    append(w, "kept");
    osp_wal_close(w);
    write_file(dir, "00000000000000f0.wal", "NOTAWAL-and-more", 16); /* bad magic */
    write_file(dir, "00000000000000f1.wal", "OSP", 3);               /* creation torn */
    write_file(dir, "README", "x", 1);                               /* ignored */
    write_file(dir, "00000000000000F2.wal", "x", 1);                 /* not our name form */

    w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.payload[0], "kept");
    osp_wal_close(w);
    assert_int_equal(segments(dir, names, 8), 2);
    assert_string_equal(names[0], "0000000000000001.wal");
    assert_string_equal(names[1], "00000000000000F2.wal");
    char path[4096];
    snprintf(path, sizeof path, "%s/00000000000000f0.wal.bad", dir);
    assert_int_equal(access(path, F_OK), 0);
    remove_dir(dir);
}

/* A segment whose records are all invalid is dropped when it is the newest, so the next
 * segment can take a fresh name. */
static void test_empty_newest_segment(void **state)
{
    (void)state;
    char *dir = wal_dir("wal-empty");
    char names[8][64];
    seen s;
    osp_wal *w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, NULL);
    append(w, "first");
    osp_wal_rotate(w);
    append(w, "second");
    osp_wal_close(w);
    assert_int_equal(segments(dir, names, 8), 2);
    truncate_file(dir, names[1], OSP_WAL_MAGIC_LEN + 5);

    w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(segments(dir, names, 8), 1);
    assert_int_equal(append(w, "again"), 2);
    osp_wal_close(w);
    w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.payload[1], "again");
    osp_wal_close(w);
    remove_dir(dir);
}

static void test_rotation_and_truncation(void **state)
{
    (void)state;
    char *dir = wal_dir("wal-rotate");
    char names[16][64];
    seen s;
    /* Segments of about two records. */
    osp_wal *w = open_wal(dir, OSP_FSYNC_ALWAYS, 60, 0, NULL);
    for (int i = 1; i <= 9; i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "rec-%d", i);
        append(w, buf);
    }
    assert_int_equal(segments(dir, names, 16), 5);
    assert_string_equal(names[0], "0000000000000001.wal");
    assert_string_equal(names[1], "0000000000000003.wal");

    /* Records 1..4 are in parts: the first two segments go. */
    assert_int_equal(osp_wal_truncate_before(w, 4), 0);
    assert_int_equal(segments(dir, names, 16), 3);
    assert_string_equal(names[0], "0000000000000005.wal");
    /* 5 alone does not free the segment holding 5 and 6. */
    assert_int_equal(osp_wal_truncate_before(w, 5), 0);
    assert_int_equal(segments(dir, names, 16), 3);
    /* The segment being written stays while it holds a newer record. */
    assert_int_equal(osp_wal_truncate_before(w, 8), 0);
    assert_int_equal(segments(dir, names, 16), 1);
    assert_string_equal(names[0], "0000000000000009.wal");
    osp_wal_rotate(w);
    append(w, "rec-10");
    assert_int_equal(osp_wal_truncate_before(w, 9), 0);
    assert_int_equal(segments(dir, names, 16), 1);
    assert_string_equal(names[0], "000000000000000a.wal");
    osp_wal_close(w);

    w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.payload[0], "rec-10");
    append(w, "rec-11");
    /* Everything is in parts: even the segment being written goes, and the next append
     * starts a new one. */
    assert_int_equal(osp_wal_truncate_before(w, 11), 0);
    assert_int_equal(segments(dir, names, 16), 0);
    assert_int_equal(append(w, "rec-12"), 12);
    assert_int_equal(segments(dir, names, 16), 1);
    assert_string_equal(names[0], "000000000000000c.wal");
    osp_wal_close(w);
    w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.payload[0], "rec-12");
    osp_wal_close(w);
    remove_dir(dir);
}

static int fail_replay(uint64_t lsn, osp_str payload, void *ctx)
{
    (void)payload;
    (void)ctx;
    return lsn == 2 ? OSP_ENOMEM : 0;
}

static void test_replay_error_stops_open(void **state)
{
    (void)state;
    char *dir = wal_dir("wal-replay-err");
    osp_wal *w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, NULL);
    append(w, "a");
    append(w, "b");
    osp_wal_close(w);
    osp_wal_options opt = {.dir = dir};
    w = NULL;
    assert_int_equal(osp_wal_open(&opt, 0, fail_replay, NULL, &w), OSP_ENOMEM);
    assert_null(w);
    remove_dir(dir);
}

/* A write that fails part-way is cut back: the failed record is never replayed and the
 * log goes on working. The failure comes from a file size limit. */
static void test_failed_write_is_cut_back(void **state)
{
    (void)state;
    char *dir = wal_dir("wal-efbig");
    static char big[8192];
    struct rlimit old, lim;
    seen s;
    memset(big, 'b', sizeof big);
    osp_wal *w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, NULL);
    append(w, "small-1");
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    uint64_t lsn;
    assert_int_equal(osp_wal_append(w, osp_str_make(big, sizeof big), &lsn), OSP_EIO);
    assert_int_equal(append(w, "small-2"), 3);
    setrlimit(RLIMIT_FSIZE, &old);
    osp_wal_close(w);

    w = open_wal(dir, OSP_FSYNC_NEVER, 0, 0, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.payload[0], "small-1");
    assert_string_equal(s.payload[1], "small-2");
    assert_int_equal(s.lsn[1], 3);
    osp_wal_close(w);
    remove_dir(dir);
}

int main(void)
{
    osp_log_set_level(OSP_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_replay),
        cmocka_unit_test(test_lsn_continues_after_skip),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_group_commit_always),
        cmocka_unit_test(test_group_commit_never),
        cmocka_unit_test(test_interval_sync),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_corrupt_middle),
        cmocka_unit_test(test_foreign_files),
        cmocka_unit_test(test_empty_newest_segment),
        cmocka_unit_test(test_rotation_and_truncation),
        cmocka_unit_test(test_replay_error_stops_open),
        cmocka_unit_test(test_failed_write_is_cut_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
