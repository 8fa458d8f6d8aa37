/* Unit tests for analytics/logpattern_snap: a snapshot loaded into an empty miner gives the
 * same templates, ids, seqs and counts, and mining goes on exactly as in the miner it was
 * taken from (the tree is rebuilt the same, wildcard branches included); damaged snapshots
 * are refused whole; files are written atomically, loaded at open, set aside when bad, and
 * saved by the background saver. */
#include "testutil.h"

#include <sys/stat.h>

#include "analytics/logpattern.h"
#include "analytics/logpattern_int.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"

#define SEC 1000000000ull
#define T0 (1700000040ull * SEC)

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* Few named children per node, so that new first tokens soon take the wildcard branch. */
static const osp_logpattern_config small = {.max_children = 3, .nbuckets = 120};

static osp_logpattern *make(void)
{
    osp_logpattern *lp = NULL;
    assert_int_equal(osp_logpattern_create(&small, &lp), 0);
    return lp;
}

/* Mines n random lines from seed into every miner of lps, over two hours. */
static void mine(osp_logpattern **lps, size_t nlps, uint64_t seed, size_t n)
{
    static const char *const svcs[] = {"api", "db", ""};
    static const char *const verbs[] = {"open", "close", "read", "write", "sync", "flush", "ping"};
    static const char *const nouns[] = {"file", "socket", "pipe", "queue", "cache"};
    char line[256];
    rng_state = seed;
    for (size_t i = 0; i < n; i++) {
        const char *svc = svcs[rnd(3)];
        switch (rnd(5)) {
        case 0: /* the verb decides the branch: past 3 verbs, the wildcard branch */
            snprintf(line, sizeof line, "%s %s %u done in %ums", verbs[rnd(7)], nouns[rnd(5)],
                     rnd(1000), rnd(90));
            break;
        case 1: /* a digit first: the wildcard branch; the noun varies, so it generalizes */
            snprintf(line, sizeof line, "%u %s retries for %s", rnd(9), nouns[rnd(5)],
                     verbs[rnd(7)]);
            break;
        case 2:
            snprintf(line, sizeof line, "user u%u logged in from 10.0.%u.%u", rnd(50), rnd(9),
                     rnd(200));
            break;
        case 3:
            snprintf(line, sizeof line, "%s", nouns[rnd(5)]);
            break;
        default:
            snprintf(line, sizeof line, "state %s to %s after %s", nouns[rnd(5)], verbs[rnd(7)],
                     nouns[rnd(5)]);
            break;
        }
        uint64_t t = T0 + (uint64_t)rnd(7200) * SEC;
        for (size_t k = 0; k < nlps; k++)
            assert_int_equal(osp_logpattern_add(lps[k], osp_str_c(svc), osp_str_c(line), t, NULL),
                             0);
    }
}

/* Asserts that a and b hold the same templates with the same ids, seqs and counts. */
static void check_same(osp_logpattern *a, osp_logpattern *b)
{
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    osp_logpattern_query q = {.service = OSP_STR_NULL, .start_ns = T0, .end_ns = T0 + 7200 * SEC};
    osp_logpattern_result ra, rb;
    assert_int_equal(osp_logpattern_query_run(a, &q, &arena, &ra), 0);
    assert_int_equal(osp_logpattern_query_run(b, &q, &arena, &rb), 0);
    assert_true(ra.nrows > 10);
    assert_int_equal(ra.nrows, rb.nrows);
    assert_int_equal(ra.other, rb.other);
    assert_int_equal(ra.nbuckets, rb.nbuckets);
    for (size_t i = 0; i < ra.nrows; i++) {
        const osp_logpattern_row *x = &ra.rows[i], *y = &rb.rows[i];
        assert_int_equal(x->id, y->id);
        assert_int_equal(x->seq, y->seq);
        assert_string_equal(x->service.p, y->service.p);
        assert_string_equal(x->text.p, y->text.p);
        assert_int_equal(x->count, y->count);
        assert_int_equal(x->total, y->total);
        assert_int_equal(x->first_seen_ns, y->first_seen_ns);
        assert_int_equal(x->last_seen_ns, y->last_seen_ns);
        assert_memory_equal(x->buckets, y->buckets, ra.nbuckets * sizeof *x->buckets);
    }
    osp_logpattern_stats sa, sb;
    osp_logpattern_stats_get(a, &sa);
    osp_logpattern_stats_get(b, &sb);
    assert_int_equal(sa.services, sb.services);
    assert_int_equal(sa.templates, sb.templates);
    assert_int_equal(sa.messages, sb.messages);
    assert_int_equal(sa.other, sb.other);
    assert_int_equal(osp_logpattern_seq(a), osp_logpattern_seq(b));
    osp_arena_cleanup(&arena);
}

/* Asserts that two trees are the same: keys, token counts, wildcard children and the ids of
 * the templates in each leaf, in order. */
static void check_same_tree(const node *a, const node *b)
{
    assert_int_equal(a->nkey, b->nkey);
    if (a->nkey)
        assert_memory_equal(a->key, b->key, a->nkey);
    assert_int_equal(a->ntok, b->ntok);
    assert_int_equal(a->nkids, b->nkids);
    for (size_t i = 0; i < a->nkids; i++)
        check_same_tree(a->kids[i], b->kids[i]);
    assert_int_equal(!a->wild, !b->wild);
    if (a->wild)
        check_same_tree(a->wild, b->wild);
    assert_int_equal(a->nclusters, b->nclusters);
    for (size_t i = 0; i < a->nclusters; i++)
        assert_int_equal(a->clusters[i]->id, b->clusters[i]->id);
}

/* Every service's tree of a is b's. */
static void check_same_trees(const osp_logpattern *a, const osp_logpattern *b)
{
    size_t wild = 0;
    assert_int_equal(a->nservices, b->nservices);
    for (size_t i = 0; i < a->nservices; i++) {
        check_same_tree(&a->list[i]->root, &b->list[i]->root);
        for (size_t k = 0; k < a->list[i]->root.nkids; k++)
            wild += a->list[i]->root.kids[k]->wild != NULL;
    }
    assert_true(wild > 0); /* the workload reaches wildcard branches */
}

static void snapshot(osp_logpattern *lp, osp_buf *b)
{
    osp_buf_init(b, 0);
    assert_int_equal(osp_logpattern_snapshot(lp, b), 0);
}

/* A restored miner answers as the original and has its tree, and mining the same lines
 * into both keeps them the same: every line finds the template it would have found without
 * the restart. */
static void test_round_trip(void **state)
{
    (void)state;
    osp_logpattern *orig = make(), *copy = make();
    mine(&orig, 1, 7, 3000);
    osp_buf b;
    snapshot(orig, &b);
    assert_int_equal(osp_logpattern_restore(copy, osp_buf_str(&b)), 0);
    check_same(orig, copy);
    check_same_trees(orig, copy);
    osp_logpattern *both[] = {orig, copy};
    mine(both, 2, 8, 3000);
    check_same(orig, copy);
    check_same_trees(orig, copy);
    /* A second snapshot of the copy is byte for byte the original's. */
    osp_buf b2, b3;
    snapshot(orig, &b2);
    snapshot(copy, &b3);
    assert_int_equal(b2.len, b3.len);
    assert_memory_equal(b2.data, b3.data, b2.len);
    osp_buf_cleanup(&b);
    osp_buf_cleanup(&b2);
    osp_buf_cleanup(&b3);
    osp_logpattern_destroy(orig);
    osp_logpattern_destroy(copy);
}

/* Writes fuzzing seeds to corpus (fuzz/logpattern_snap.c): a small snapshot whole, and its
 * body alone. */
static void write_seeds(const char *corpus)
{
    osp_logpattern *lp = make();
    mine(&lp, 1, 12, 60);
    osp_buf b;
    snapshot(lp, &b);
    char path[512];
    const struct {
        const char *name;
        uint8_t mode;
        size_t off, n;
    } seeds[] = {{"snapshot", 1, 0, b.len}, {"body", 0, 8, b.len - 16}};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", corpus, seeds[i].name);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fputc(seeds[i].mode, f), seeds[i].mode);
        assert_int_equal(fwrite(b.data + seeds[i].off, 1, seeds[i].n, f), seeds[i].n);
        fclose(f);
    }
    osp_buf_cleanup(&b);
    osp_logpattern_destroy(lp);
}

/* Any damage is refused (the checksum, then the structure); another bucket layout is
 * refused as such; an empty miner snapshots and restores too. With OSP_LOGPATTERN_CORPUS set
 * to a directory, also writes fuzzing seeds there. */
static void test_damaged(void **state)
{
    (void)state;
    if (getenv("OSP_LOGPATTERN_CORPUS"))
        write_seeds(getenv("OSP_LOGPATTERN_CORPUS"));
    osp_logpattern *orig = make();
    mine(&orig, 1, 9, 500);
    osp_buf b;
    snapshot(orig, &b);
    for (size_t i = 0; i < b.len; i += 1 + i / 16) {
        osp_logpattern *lp = make();
        b.data[i] ^= 0x20;
        assert_int_equal(osp_logpattern_restore(lp, osp_buf_str(&b)), OSP_ECORRUPT);
        b.data[i] ^= 0x20;
        osp_logpattern_destroy(lp);
    }
    for (size_t n = 0; n < b.len; n += 1 + n / 8) {
        osp_logpattern *lp = make();
        assert_int_equal(osp_logpattern_restore(lp, osp_str_make(b.data, n)), OSP_ECORRUPT);
        osp_logpattern_destroy(lp);
    }
    osp_logpattern_config other = small;
    other.nbuckets = 60;
    osp_logpattern *lp = NULL;
    assert_int_equal(osp_logpattern_create(&other, &lp), 0);
    assert_int_equal(osp_logpattern_restore(lp, osp_buf_str(&b)), OSP_EINVAL);
    osp_logpattern_destroy(lp);
    osp_buf_cleanup(&b);

    osp_logpattern *empty = make(), *again = make();
    snapshot(empty, &b);
    assert_int_equal(osp_logpattern_restore(again, osp_buf_str(&b)), 0);
    assert_int_equal(osp_logpattern_seq(again), 0);
    osp_buf_cleanup(&b);
    osp_logpattern_destroy(empty);
    osp_logpattern_destroy(again);
    osp_logpattern_destroy(orig);
}

/* A template cap lower than the snapshot's templates keeps the first ones, the rest left
 * out (not a failure). */
static void test_lower_cap(void **state)
{
    (void)state;
    osp_logpattern *orig = make();
    mine(&orig, 1, 10, 2000);
    osp_buf b;
    snapshot(orig, &b);
    osp_logpattern_config capped = small;
    capped.max_templates = 2;
    osp_logpattern *lp = NULL;
    assert_int_equal(osp_logpattern_create(&capped, &lp), 0);
    assert_int_equal(osp_logpattern_restore(lp, osp_buf_str(&b)), 0);
    osp_logpattern_stats st;
    osp_logpattern_stats_get(lp, &st);
    assert_int_equal(st.templates, 6); /* 2 for each of the 3 services */
    osp_buf_cleanup(&b);
    osp_logpattern_destroy(lp);
    osp_logpattern_destroy(orig);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* open loads what save wrote; a missing file gives an empty miner; a bad one is set aside
 * and mining starts afresh; the saver saves on stop. */
static void test_files(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("logpattern");
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/logpatterns", dir);
    snprintf(bad, sizeof bad, "%s/logpatterns.bad", dir);
    osp_logpattern *orig = NULL, *lp = NULL;
    assert_int_equal(osp_logpattern_open(&small, path, &orig), 0); /* no file yet */
    assert_int_equal(osp_logpattern_seq(orig), 0);
    osp_logpattern_saver *sv = NULL;
    assert_int_equal(osp_logpattern_saver_start(orig, path, 3600 * 1000, &sv), 0);
    mine(&orig, 1, 11, 1000);
    assert_false(file_exists(path));
    osp_logpattern_saver_stop(sv);
    assert_true(file_exists(path));
    assert_int_equal(osp_logpattern_open(&small, path, &lp), 0);
    check_same(orig, lp);
    osp_logpattern_destroy(lp);

    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 20, SEEK_SET), 0);
    assert_int_equal(fputc(0xff, f), 0xff);
    fclose(f);
    assert_int_equal(osp_logpattern_open(&small, path, &lp), 0);
    assert_int_equal(osp_logpattern_seq(lp), 0);
    assert_false(file_exists(path));
    assert_true(file_exists(bad));
    osp_logpattern_destroy(lp);

    assert_int_equal(osp_logpattern_save(orig, path), 0);
    assert_int_equal(osp_logpattern_open(&small, path, &lp), 0);
    check_same(orig, lp);
    osp_logpattern_destroy(lp);
    osp_logpattern_destroy(orig);
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_lower_cap),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
