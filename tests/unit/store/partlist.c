/* Tests for src/store/partlist.c: part references and their fate, the list, dropping
 * replaced parts, retention, merge swaps, the tiered merge picker and the merge backlog. */
#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "store/embedded/format.h"
#include "store/partlist.h"

#define DAY0 20000u /* 2024-10-04 */
#define NS_DAY OSP_PART_NS_PER_DAY

static const osp_merge_policy policy = {
    .base_rows = 100, .fanin = 8, .min_parts = 4, .max_parts = 6, .max_rows = 10000};

/* ---- The merge picker (pure: refs with only day, rows and min_time set) ---------------- */

typedef struct pick_case {
    osp_partref r[32];
    osp_partref *a[32];
    size_t n;
} pick_case;

static void add(pick_case *c, uint32_t day, uint64_t rows, uint64_t min_time)
{
    osp_partref *r = &c->r[c->n];
    memset(r, 0, sizeof *r);
    r->info.day = day;
    r->info.rows = rows;
    r->info.min_time = min_time;
    r->info.seq = c->n + 1;
    c->a[c->n] = r;
    c->n++;
}

/* Picks and returns the seqs chosen, in order, in seqs (0-terminated). */
static size_t pick(pick_case *c, uint64_t *seqs)
{
    size_t first = SIZE_MAX;
    size_t k = osp_partlist_pick_merge(&policy, c->a, c->n, &first);
    for (size_t i = 0; i < k; i++)
        seqs[i] = c->a[first + i]->info.seq;
    seqs[k] = 0;
    return k;
}

static void test_pick_needs_min_parts(void **state)
{
    (void)state;
    pick_case c = {0};
    uint64_t seqs[33];
    for (int i = 0; i < 3; i++)
        add(&c, DAY0, 10, 100 - i);
    assert_int_equal(pick(&c, seqs), 0);
    add(&c, DAY0 + 1, 10, 5); /* another day does not count */
    assert_int_equal(pick(&c, seqs), 0);
    add(&c, DAY0, 10, 1);
    assert_int_equal(pick(&c, seqs), 4);
    /* oldest first */
    uint64_t want[] = {5, 3, 2, 1};
    for (int i = 0; i < 4; i++)
        assert_int_equal(seqs[i], want[i]);
}

static void test_pick_tiers_and_days(void **state)
{
    (void)state;
    pick_case c = {0};
    uint64_t seqs[33];
    /* Day 1: 3 of tier 0 (< 100 rows) and 4 of tier 1 (100..799); day 0: 3 of tier 0. */
    for (int i = 0; i < 3; i++)
        add(&c, DAY0 + 1, 50, 10 + i);
    for (int i = 0; i < 4; i++)
        add(&c, DAY0 + 1, 200, 20 + i);
    for (int i = 0; i < 3; i++)
        add(&c, DAY0, 50, 30 + i);
    assert_int_equal(pick(&c, seqs), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(seqs[i], 4 + i);
    /* Once day 0 holds enough of tier 0, the older day goes first. */
    add(&c, DAY0, 99, 40);
    assert_int_equal(pick(&c, seqs), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(seqs[i], 8 + i);
}

static void test_pick_caps(void **state)
{
    (void)state;
    pick_case c = {0};
    uint64_t seqs[33];
    /* 10 parts of tier 0: at most max_parts of them. */
    for (int i = 0; i < 10; i++)
        add(&c, DAY0, 10, 100 + i);
    assert_int_equal(pick(&c, seqs), 6);
    assert_int_equal(seqs[0], 1);
    assert_int_equal(seqs[5], 6);

    /* Tier 2 parts (800..4999 rows): as many as fit in max_rows. */
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 5; i++)
        add(&c, DAY0, 3000, 100 + i);
    assert_int_equal(pick(&c, seqs), 3);

    /* Past max_rows / 2: never merged again. */
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 8; i++)
        add(&c, DAY0, 5001, 100 + i);
    assert_int_equal(pick(&c, seqs), 0);

    /* Too large parts leave a day's smaller ones to be picked. */
    for (int i = 0; i < 4; i++)
        add(&c, DAY0, 99, 200 + i);
    assert_int_equal(pick(&c, seqs), 4);
    assert_int_equal(seqs[0], 9);
}

static void test_pick_tier_boundaries(void **state)
{
    (void)state;
    /* Tier = how many times fanin divides rows / base_rows: 0 and 99 -> 0, 100 and 799 -> 1,
     * 800 and 5000 (max_rows / 2) -> 2. Four of each pair form one tier; of the last, three
     * fit in max_rows. */
    uint64_t rows[][2] = {{0, 99}, {100, 799}, {800, 5000}};
    for (size_t t = 0; t < 3; t++) {
        pick_case c = {0};
        uint64_t seqs[33];
        add(&c, DAY0, rows[t][0], 1);
        add(&c, DAY0, rows[t][1], 2);
        add(&c, DAY0, rows[t][0], 3);
        add(&c, DAY0, rows[t][1], 4);
        assert_int_equal(pick(&c, seqs), t == 2 ? 3 : 4);
    }
}

/* The backlog counts the parts of merge size (max_rows / 2 rows or fewer, of any tier) in
 * the day that holds the most; merges_behind compares it with a bound and keeps the answer. */
static void test_merge_backlog(void **state)
{
    (void)state;
    pick_case c = {0};
    osp_partlist l = {0};
    int waiting = 0;
    assert_int_equal(osp_partlist_merge_backlog(&policy, &l), 0);
    for (int i = 0; i < 3; i++)
        add(&c, DAY0, 10, 100 - i); /* tier 0 */
    add(&c, DAY0, 900, 5);          /* tier 1: counts too */
    add(&c, DAY0, 5001, 6);         /* past max_rows / 2: never merged again */
    add(&c, DAY0, 9000, 7);
    for (int i = 0; i < 2; i++)
        add(&c, DAY0 + 1, 10, 200 + i);
    l.a = c.a;
    l.n = c.n;
    assert_int_equal(osp_partlist_merge_backlog(&policy, &l), 4);
    assert_false(osp_partlist_merges_behind(&policy, &l, 4, &waiting, "test"));
    assert_int_equal(waiting, 0);
    assert_true(osp_partlist_merges_behind(&policy, &l, 3, &waiting, "test"));
    assert_int_equal(waiting, 1);

    for (int i = 0; i < 3; i++)
        add(&c, DAY0 + 1, 10, 300 + i); /* the later day now holds the most */
    l.a = c.a;
    l.n = c.n;
    assert_int_equal(osp_partlist_merge_backlog(&policy, &l), 5);
    l.n = 6; /* the first day's alone: 4, within 4 again */
    assert_false(osp_partlist_merges_behind(&policy, &l, 4, &waiting, "test"));
    assert_int_equal(waiting, 0);
}

/* ---- References and the list ------------------------------------------------------------ */

static int nclosed;

static void count_close(osp_partref *r)
{
    assert_ptr_equal(r->part, &nclosed);
    nclosed++;
}

static const osp_partref_type test_type = {
    .size = sizeof(osp_partref), .close = count_close, .log_module = "test"};

/* Creates an empty file dir/<name> and a reference to it. */
static osp_partref *make_ref(const char *dir, const char *name, const osp_partref_info *info)
{
    char *path = osp_malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(path);
    sprintf(path, "%s/%s", dir, name);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    osp_partref *r = NULL;
    assert_int_equal(osp_partref_create(&test_type, &nclosed, path, info, &r), 0);
    return r;
}

static int exists(const char *dir, const char *name)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static void test_ref_fates(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("partlist");
    osp_partref_info info = {.day = DAY0, .seq = 1};
    nclosed = 0;

    osp_partref *live = make_ref(dir, "live", &info);
    assert_ptr_equal(osp_partref_acquire(live), live);
    osp_partref_release(live);
    assert_int_equal(nclosed, 0);
    osp_partref_release(live);
    assert_int_equal(nclosed, 1);
    assert_true(exists(dir, "live")); /* a live part's file stays */

    osp_partref *old = make_ref(dir, "old", &info);
    osp_partref_acquire(old); /* a reader */
    osp_partref_discard(old);
    assert_true(exists(dir, "old")); /* still held */
    osp_partref_release(old);
    assert_int_equal(nclosed, 2);
    assert_false(exists(dir, "old"));

    osp_partref *gone = make_ref(dir, "gone", &info);
    char path[4096];
    snprintf(path, sizeof path, "%s/gone", dir);
    unlink(path);
    osp_partref_discard(gone); /* ENOENT is not worth a warning, nor a failure */
    assert_int_equal(nclosed, 3);
    osp_partref_release(NULL);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_list_and_snapshot(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("partlist");
    osp_metric *parts = osp_gauge("test_partlist_parts", "", "");
    osp_metric *bytes = osp_gauge("test_partlist_bytes", "", "");
    osp_partlist l;
    osp_partref *r[3];
    osp_partlist_init(&l, parts, bytes);
    nclosed = 0;
    for (int i = 0; i < 3; i++) {
        char name[16];
        osp_partref_info info = {.day = DAY0 + (uint32_t)i, .bytes = 100, .wal_lsn = 10 - i};
        snprintf(name, sizeof name, "p%d", i);
        r[i] = make_ref(dir, name, &info);
        assert_int_equal(osp_partlist_push(&l, r[i]), 0);
    }
    assert_int_equal(l.max_lsn, 10);
    assert_true(osp_metric_value(parts) == 3);
    assert_true(osp_metric_value(bytes) == 300);
    assert_true(osp_partlist_day_used(&l, DAY0 + 2));
    assert_false(osp_partlist_day_used(&l, DAY0 + 3));

    osp_partref **snap;
    size_t n;
    assert_int_equal(osp_partlist_snapshot(&l, &snap, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(osp_partlist_remove(&l, r[0]), 1);
    assert_int_equal(osp_partlist_remove(&l, r[0]), 0);
    assert_int_equal(l.n, 2);
    assert_ptr_equal(l.a[0], r[2]); /* the last entry moved into its place */
    assert_true(osp_metric_value(parts) == 2);
    osp_partref_discard(r[0]); /* the snapshot still holds it */
    assert_true(exists(dir, "p0"));
    osp_partlist_snapshot_release(snap, n);
    assert_false(exists(dir, "p0"));
    assert_int_equal(nclosed, 1);

    assert_false(osp_partlist_day_used(&l, DAY0));
    osp_partlist_cleanup(&l);
    assert_int_equal(nclosed, 3);
    assert_true(osp_metric_value(parts) == 0);
    assert_true(osp_metric_value(bytes) == 0);
    assert_true(exists(dir, "p1") && exists(dir, "p2")); /* closing keeps the files */
    osp_test_rmdir(dir);
    free(dir);
}

static void test_drop_replaced(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("partlist");
    static const uint64_t repl[] = {1, 2, 40};
    osp_partlist l;
    osp_partlist_init(&l, NULL, NULL);
    nclosed = 0;
    osp_partref_info a = {.day = DAY0, .seq = 1}, b = {.day = DAY0, .seq = 2};
    osp_partref_info c = {.day = DAY0, .seq = 3}, m = {.day = DAY0, .seq = 5};
    m.replaces = repl;
    m.nreplaces = 3;
    assert_int_equal(osp_partlist_push(&l, make_ref(dir, "a", &a)), 0);
    assert_int_equal(osp_partlist_push(&l, make_ref(dir, "b", &b)), 0);
    assert_int_equal(osp_partlist_push(&l, make_ref(dir, "c", &c)), 0);
    assert_int_equal(osp_partlist_push(&l, make_ref(dir, "m", &m)), 0);
    uint64_t next_seq = 6;
    osp_partlist_drop_replaced(&l, &next_seq);
    assert_int_equal(next_seq, 41);
    assert_int_equal(l.n, 2);
    assert_false(exists(dir, "a") || exists(dir, "b"));
    assert_true(exists(dir, "c") && exists(dir, "m"));
    osp_partlist_cleanup(&l);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_replace_and_quarantine(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("partlist");
    char qdir[4096];
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    osp_partlist l;
    osp_partref *in[3];
    osp_partlist_init(&l, NULL, NULL);
    snprintf(qdir, sizeof qdir, "%s/quarantine", dir);
    assert_int_equal(mkdir(qdir, 0755), 0);
    nclosed = 0;
    osp_partref_info info = {.day = DAY0};
    in[0] = make_ref(dir, "i0", &info);
    in[1] = make_ref(dir, "i1", &info);
    in[2] = make_ref(dir, "i2", &info);
    for (int i = 0; i < 3; i++)
        assert_int_equal(osp_partlist_push(&l, in[i]), 0);

    /* i2 goes to quarantine while a merge of all three runs (which holds them). */
    osp_partref **snap;
    size_t n;
    assert_int_equal(osp_partlist_snapshot(&l, &snap, &n), 0);
    assert_int_equal(osp_partlist_quarantine(&l, &mu, in[2], qdir, "part"), 1);
    assert_int_equal(osp_partlist_quarantine(&l, &mu, in[2], qdir, "part"), 0);
    assert_false(exists(dir, "i2"));
    assert_int_equal(osp_partlist_replace(&l, &mu, make_ref(dir, "out", &info), in, 3), 0);
    assert_int_equal(l.n, 1);
    assert_true(exists(dir, "i0")); /* the snapshot holds the inputs */
    osp_partlist_snapshot_release(snap, n);
    assert_false(exists(dir, "i0") || exists(dir, "i1"));
    assert_true(exists(dir, "out"));
    assert_true(exists(qdir, "20241004-i2"));
    assert_int_equal(nclosed, 3);

    /* Out of memory: the list stays as it was and the merged part goes. */
    osp_partref *in2[1] = {l.a[0]};
    osp_partref *out2 = make_ref(dir, "out2", &info);
    osp_mem_fail_after(1);
    assert_int_equal(osp_partlist_replace(&l, &mu, out2, in2, 1), OSP_ENOMEM);
    osp_mem_fail_after(0);
    assert_int_equal(l.n, 1);
    assert_ptr_equal(l.a[0], in2[0]);
    assert_false(exists(dir, "out2"));
    osp_partlist_cleanup(&l);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_expire(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("partlist");
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    osp_partlist l;
    osp_partlist_init(&l, NULL, NULL);
    nclosed = 0;
    /* Day 0: newest row at the end of the day; day 1: one old and one recent part. */
    osp_partref_info d0 = {.day = DAY0, .max_time = (DAY0 + 1ull) * NS_DAY - 1};
    osp_partref_info d1a = {.day = DAY0 + 1, .max_time = (DAY0 + 1ull) * NS_DAY};
    osp_partref_info d1b = {.day = DAY0 + 1, .max_time = (DAY0 + 2ull) * NS_DAY - 1};
    assert_int_equal(osp_partlist_push(&l, make_ref(dir, "d1a", &d1a)), 0);
    assert_int_equal(osp_partlist_push(&l, make_ref(dir, "d0", &d0)), 0);
    assert_int_equal(osp_partlist_push(&l, make_ref(dir, "d1b", &d1b)), 0);
    uint64_t now = (DAY0 + 3ull) * NS_DAY;

    osp_partlist_expire(&l, &mu, 0, now, "partition"); /* keep forever */
    osp_partlist_expire(&l, &mu, now + 1, now, "partition");
    assert_int_equal(l.n, 3);
    osp_partlist_expire(&l, &mu, 2 * NS_DAY, now, "partition"); /* cutoff: DAY0 + 1 */
    assert_int_equal(l.n, 2);
    assert_false(exists(dir, "d0"));
    osp_partlist_expire(&l, &mu, 1 * NS_DAY + 1, now, "partition"); /* d1b is newer */
    assert_int_equal(l.n, 2);
    osp_partlist_expire(&l, &mu, 1 * NS_DAY, now, "partition");
    assert_int_equal(l.n, 0);
    assert_false(exists(dir, "d1a") || exists(dir, "d1b"));
    assert_int_equal(nclosed, 3);
    osp_partlist_cleanup(&l);
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_needs_min_parts),
        cmocka_unit_test(test_pick_tiers_and_days),
        cmocka_unit_test(test_pick_caps),
        cmocka_unit_test(test_pick_tier_boundaries),
        cmocka_unit_test(test_merge_backlog),
        cmocka_unit_test(test_ref_fates),
        cmocka_unit_test(test_list_and_snapshot),
        cmocka_unit_test(test_drop_replaced),
        cmocka_unit_test(test_replace_and_quarantine),
        cmocka_unit_test(test_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
