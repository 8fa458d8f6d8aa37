/* Unit tests for the time-series engine (src/store/tsdb/tsdb.c) on real files. */
#include "testutil.h"

#include <dirent.h>
#include <pthread.h>
#include <time.h>
#include <xxhash.h>

#include "core/endian.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"
#include "histutil.h"
#include "store/embedded/wal.h"
#include "store/tsdb/tsdb.h"
#include "store/tsdb/tsdb_int.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static osp_tsdb_options opts(const char *dir)
{
    osp_tsdb_options o = {.dir = dir, .fsync_policy = OSP_FSYNC_NEVER};
    return o;
}

static osp_tsdb *open_db(const osp_tsdb_options *o)
{
    osp_tsdb *db = NULL;
    assert_int_equal(osp_tsdb_open(o, &db), 0);
    return db;
}

/* Adds series name{job=job,inst=inst} with n samples t0 + i*step, value f(i) = base + i. */
static osp_series *add(osp_series_batch *b, const char *name, const char *job, const char *inst)
{
    osp_series *s = osp_series_batch_add(b);
    assert_non_null(s);
    s->labels = osp_arena_calloc(&b->arena, 3, sizeof *s->labels);
    s->labels[0] =
        (osp_label){OSP_STR_LIT("__name__"), osp_arena_strdup(&b->arena, osp_str_c(name))};
    s->nlabels = 1;
    if (inst)
        s->labels[s->nlabels++] =
            (osp_label){OSP_STR_LIT("inst"), osp_arena_strdup(&b->arena, osp_str_c(inst))};
    if (job)
        s->labels[s->nlabels++] =
            (osp_label){OSP_STR_LIT("job"), osp_arena_strdup(&b->arena, osp_str_c(job))};
    return s;
}

static void samples(osp_series_batch *b, osp_series *s, size_t n, int64_t t0, int64_t step,
                    double base)
{
    s->samples = osp_arena_calloc(&b->arena, n, sizeof *s->samples);
    s->nsamples = n;
    for (size_t i = 0; i < n; i++)
        s->samples[i] = (osp_sample){t0 + (int64_t)i * step, base + (double)i};
}

static void one_job(osp_tsdb *db, const char *name, const char *job, const char *inst, int64_t t,
                    double v, osp_tsdb_append_report *rep)
{
    osp_series_batch b;
    osp_series_batch_init(&b);
    osp_series *s = add(&b, name, job, inst);
    s->samples = osp_arena_calloc(&b.arena, 1, sizeof *s->samples);
    s->samples[0] = (osp_sample){t, v};
    s->nsamples = 1;
    assert_int_equal(osp_tsdb_append(db, &b, rep), 0);
    osp_series_batch_cleanup(&b);
}

static void one(osp_tsdb *db, const char *name, const char *inst, int64_t t, double v,
                osp_tsdb_append_report *rep)
{
    one_job(db, name, "j", inst, t, v, rep);
}

static size_t select_all(osp_tsdb *db, osp_arena *a, int64_t mint, int64_t maxt, osp_series **out)
{
    osp_label_matcher m = {OSP_MATCH_RE, OSP_STR_LIT("__name__"), OSP_STR_LIT(".+")};
    size_t n = 0;
    assert_int_equal(osp_tsdb_select(db, &m, 1, mint, maxt, a, out, &n), 0);
    return n;
}

static size_t total_samples(osp_series *s, size_t n)
{
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 1; j < s[i].nsamples; j++)
            assert_true(s[i].samples[j - 1].t_ms < s[i].samples[j].t_ms);
        if (i)
            assert_true(osp_labels_compare(s[i - 1].labels, s[i - 1].nlabels, s[i].labels,
                                           s[i].nlabels) < 0);
        t += s[i].nsamples;
    }
    return t;
}

/* Copies a live data directory, as a crash would leave it. */
static char *snapshot(const char *dir)
{
    char *copy = osp_test_tmpdir("tsdb-snap");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp -r '%s'/. '%s'/", dir, copy);
    assert_int_equal(system(cmd), 0);
    return copy;
}

static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    if (!d)
        return 0;
    while ((de = readdir(d)))
        if (strlen(de->d_name) > strlen(suffix) &&
            !strcmp(de->d_name + strlen(de->d_name) - strlen(suffix), suffix))
            n++;
    closedir(d);
    return n;
}

/* Inverts one byte of the block file that sorts first (an always-real change). */
static void flip_byte_of_first_block(const char *dir, long offset)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char first[256] = "", path[4096];
    assert_non_null(d);
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n > 4 && !strcmp(de->d_name + n - 4, ".blk") &&
            (!first[0] || strcmp(de->d_name, first) < 0))
            snprintf(first, sizeof first, "%s", de->d_name);
    }
    closedir(d);
    assert_true(first[0] != 0);
    snprintf(path, sizeof path, "%s/%s", dir, first);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, offset, SEEK_SET), 0);
    int c = fgetc(f);
    assert_true(c != EOF);
    assert_int_equal(fseek(f, offset, SEEK_SET), 0);
    assert_int_equal(fputc(c ^ 0xff, f), c ^ 0xff);
    assert_int_equal(fclose(f), 0);
}

#define NSER 200
#define NSMP 240

static void fill(osp_tsdb *db, int64_t t0, size_t per_call)
{
    char inst[32];
    for (size_t off = 0; off < NSMP; off += per_call) {
        osp_series_batch b;
        osp_series_batch_init(&b);
        for (int i = 0; i < NSER; i++) {
            snprintf(inst, sizeof inst, "host-%03d", i);
            osp_series *s = add(&b, i % 2 ? "up" : "http_requests_total", "api", inst);
            samples(&b, s, per_call, t0 + (int64_t)off * 15000, 15000,
                    (double)(i * 1000) + (double)off);
        }
        osp_tsdb_append_report rep;
        assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
        assert_int_equal(rep.accepted, NSER * per_call);
        assert_string_equal(rep.error, "");
        osp_series_batch_cleanup(&b);
    }
}

static void check_fill(osp_tsdb *db, int64_t t0)
{
    osp_arena a;
    osp_series *s;
    osp_arena_init(&a, 0, 0);
    size_t n = select_all(db, &a, INT64_MIN, INT64_MAX, &s);
    assert_int_equal(n, NSER);
    assert_int_equal(total_samples(s, n), NSER * NSMP);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(s[i].nsamples, NSMP);
        assert_int_equal(s[i].samples[0].t_ms, t0);
        assert_true(s[i].samples[NSMP - 1].v - s[i].samples[0].v == NSMP - 1);
    }
    osp_arena_cleanup(&a);
}

static void test_round_trip(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    int64_t t0 = now_ms() - 3600 * 1000;
    fill(db, t0, 120);
    check_fill(db, t0);

    osp_tsdb_stats st;
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.series, NSER);
    assert_int_equal(st.head_series, NSER);
    assert_int_equal(st.head_samples, NSER * NSMP);
    assert_int_equal(st.min_time_ms, t0);
    assert_int_equal(st.max_time_ms, t0 + (NSMP - 1) * 15000);

    /* A window of the range. */
    osp_arena a;
    osp_series *s;
    osp_arena_init(&a, 0, 0);
    size_t n = select_all(db, &a, t0 + 15000, t0 + 15000 * 10, &s);
    assert_int_equal(n, NSER);
    assert_int_equal(total_samples(s, n), NSER * 10);
    osp_arena_cleanup(&a);

    assert_int_equal(osp_tsdb_flush(db), 0);
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.head_samples, 0);
    assert_int_equal(st.block_samples, NSER * NSMP);
    check_fill(db, t0);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_rejections(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    o.retention_ms = 3600 * 1000;
    o.max_series_per_metric = 2;
    osp_tsdb *db = open_db(&o);
    int64_t t = now_ms();
    osp_tsdb_append_report rep;

    one(db, "m", "a", t, 1, &rep);
    assert_int_equal(rep.accepted, 1);
    one(db, "m", "a", t, 1, &rep); /* exact duplicate: accepted, a no-op */
    assert_int_equal(rep.accepted, 1);
    assert_string_equal(rep.error, "");
    one(db, "m", "a", t, 2, &rep);
    assert_int_equal(rep.duplicate, 1);
    assert_non_null(strstr(rep.error, "duplicate sample for timestamp"));
    one(db, "m", "a", t - 1, 2, &rep);
    assert_int_equal(rep.out_of_order, 1);
    assert_string_equal(rep.error, "out of order sample for series m{inst=\"a\",job=\"j\"}");
    one(db, "m", "b", t - 2 * 3600 * 1000, 2, &rep);
    assert_int_equal(rep.too_old, 1);
    assert_non_null(strstr(rep.error, "retention"));
    one(db, "m", "b", t, 2, &rep);
    assert_int_equal(rep.accepted, 1);
    one(db, "m", "c", t, 2, &rep);
    assert_int_equal(rep.limited, 1);
    assert_string_equal(rep.error, "too many series for metric m (limit 2)");
    one(db, "other", "c", t, 2, &rep); /* other metrics are not limited */
    assert_int_equal(rep.accepted, 1);

    /* Invalid label sets: unsorted, empty value. Every sample lands in one counter. */
    osp_series_batch b;
    osp_series_batch_init(&b);
    osp_series *s = add(&b, "m", "j", "x");
    osp_label tmp = s->labels[1];
    s->labels[1] = s->labels[2];
    s->labels[2] = tmp;
    samples(&b, s, 3, t, 1, 0);
    s = add(&b, "m", "", NULL);
    samples(&b, s, 2, t, 1, 0);
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    assert_int_equal(rep.invalid, 5);
    assert_int_equal(rep.accepted, 0);
    assert_non_null(strstr(rep.error, "invalid label set"));
    osp_series_batch_cleanup(&b);

    /* Within one batch, samples are taken in the order given, as Prometheus takes a
     * request: an older one than an earlier sample is out of order; an equal timestamp
     * with another value is a duplicate. */
    osp_series_batch_init(&b);
    s = add(&b, "m", "j", "a");
    s->samples = osp_arena_calloc(&b.arena, 4, sizeof *s->samples);
    s->samples[0] = (osp_sample){t + 10, 1};
    s->samples[1] = (osp_sample){t + 30, 3};
    s->samples[2] = (osp_sample){t + 20, 2};
    s->samples[3] = (osp_sample){t + 30, 9};
    s->nsamples = 4;
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    assert_int_equal(rep.accepted, 2);
    assert_int_equal(rep.out_of_order, 1);
    assert_int_equal(rep.duplicate, 1);
    osp_series_batch_cleanup(&b);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_ooo_window(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    o.ooo_window_ms = 1000;
    osp_tsdb *db = open_db(&o);
    osp_tsdb_append_report rep;
    int64_t t = now_ms();
    one(db, "m", "a", t, 10, &rep);
    one(db, "m", "a", t - 500, 5, &rep);
    assert_int_equal(rep.accepted, 1);
    one(db, "m", "a", t - 500, 5, &rep); /* exact duplicate of an out-of-order sample */
    assert_int_equal(rep.accepted, 1);
    one(db, "m", "a", t - 500, 6, &rep);
    assert_int_equal(rep.duplicate, 1);
    one(db, "m", "a", t - 2000, 1, &rep);
    assert_int_equal(rep.out_of_order, 1);
    one(db, "m", "a", t - 700, 3, &rep);
    one(db, "m", "a", t + 100, 11, &rep);

    for (int round = 0; round < 2; round++) {
        osp_arena a;
        osp_series *s;
        osp_arena_init(&a, 0, 0);
        assert_int_equal(select_all(db, &a, INT64_MIN, INT64_MAX, &s), 1);
        assert_int_equal(s[0].nsamples, 4);
        assert_int_equal(s[0].samples[0].t_ms, t - 700);
        assert_true(s[0].samples[1].v == 5);
        assert_true(s[0].samples[2].v == 10);
        assert_true(s[0].samples[3].v == 11);
        osp_arena_cleanup(&a);
        assert_int_equal(osp_tsdb_flush(db), 0);
    }
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_flush_and_head_merge(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    int64_t t = now_ms() - 100000;
    osp_tsdb_append_report rep;
    for (int i = 0; i < 10; i++)
        one(db, "m", "a", t + i, i, &rep);
    assert_int_equal(osp_tsdb_flush(db), 0);
    for (int i = 10; i < 20; i++)
        one(db, "m", "a", t + i, i, &rep);
    one(db, "m", "a", t + 5, 99, &rep); /* behind the newest: rejected, blocks unchanged */
    assert_int_equal(rep.out_of_order, 1);
    osp_arena a;
    osp_series *s;
    osp_arena_init(&a, 0, 0);
    assert_int_equal(select_all(db, &a, t + 5, t + 14, &s), 1);
    assert_int_equal(s[0].nsamples, 10);
    for (int i = 0; i < 10; i++)
        assert_true(s[0].samples[i].v == 5 + i);
    osp_series *only;
    size_t n;
    osp_label_matcher m = {OSP_MATCH_EQ, OSP_STR_LIT("inst"), OSP_STR_LIT("a")};
    assert_int_equal(osp_tsdb_series(db, &m, 1, t + 15, t + 100, &a, &only, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(only[0].nsamples, 0);
    assert_int_equal(osp_tsdb_series(db, &m, 1, t + 100, t + 200, &a, &only, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(osp_tsdb_select(db, &m, 0, INT64_MIN, INT64_MAX, &a, &only, &n), 0);
    assert_int_equal(n, 0);
    osp_arena_cleanup(&a);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_reopen(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    int64_t t0 = now_ms() - 3600 * 1000;
    fill(db, t0, 60);

    /* A crash now: only the WAL has the samples. */
    char *crash = snapshot(dir);
    osp_tsdb_options oc = opts(crash);
    osp_tsdb *db2 = open_db(&oc);
    check_fill(db2, t0);
    osp_tsdb_stats st;
    osp_tsdb_get_stats(db2, &st);
    assert_int_equal(st.blocks, 0);
    assert_int_equal(st.head_samples, NSER * NSMP);
    /* The replayed series state rejects what the original would have. */
    osp_tsdb_append_report rep;
    one_job(db2, "up", "api", "host-001", t0, 5, &rep);
    assert_int_equal(rep.out_of_order, 1);
    osp_tsdb_close(db2);
    /* Closed cleanly (flushed): the block alone has everything, once. */
    db2 = open_db(&oc);
    check_fill(db2, t0);
    osp_tsdb_get_stats(db2, &st);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.head_samples, 0);
    /* New samples after the reopen go through a new session's series refs. */
    one_job(db2, "up", "api", "host-001", t0 + (NSMP - 1) * 15000, 5, &rep);
    assert_int_equal(rep.duplicate, 1); /* the block's newest sample is known */
    one_job(db2, "up", "api", "host-001", t0 + NSMP * 15000, 5, &rep);
    assert_int_equal(rep.accepted, 1);
    one(db2, "newmetric", "x", t0, 5, &rep);
    char *crash2 = snapshot(crash);
    osp_tsdb_close(db2);
    osp_tsdb_options oc2 = opts(crash2);
    db2 = open_db(&oc2);
    osp_tsdb_get_stats(db2, &st);
    assert_int_equal(st.head_samples, 2);
    assert_int_equal(st.block_samples, NSER * NSMP);
    assert_int_equal(st.series, NSER + 1);
    osp_tsdb_close(db2);
    osp_test_rmdir(crash2);
    free(crash2);

    /* Flush in the original, add more, crash: block + WAL, nothing twice. */
    assert_int_equal(osp_tsdb_flush(db), 0);
    one_job(db, "up", "api", "host-001", t0 + NSMP * 15000, 7, &rep);
    osp_test_rmdir(crash);
    free(crash);
    crash = snapshot(dir);
    oc = opts(crash);
    db2 = open_db(&oc);
    osp_tsdb_get_stats(db2, &st);
    assert_int_equal(st.block_samples, NSER * NSMP);
    assert_int_equal(st.head_samples, 1);
    osp_tsdb_close(db2);
    osp_test_rmdir(crash);
    free(crash);

    osp_tsdb_close(db);
    db = open_db(&o);
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.block_samples, NSER * NSMP + 1);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

/* Appends one sample of name{inst} with key k and ref (0: none), as a receiver does. */
static void one_keyed(osp_tsdb *db, const char *name, const char *inst, osp_series_key k,
                      uint64_t ref, int64_t t, double v)
{
    osp_series_batch b;
    osp_tsdb_append_report rep;
    osp_series_batch_init(&b);
    osp_series *s = add(&b, name, "j", inst);
    samples(&b, s, 1, t, 1, v);
    s->key = k, s->ref = ref;
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    assert_int_equal(rep.accepted, 1);
    osp_series_batch_cleanup(&b);
}

/* Series keys: remembered once a keyed series is stored, its ref then appends to the same
 * series (its definition logged again after a cut), forgotten on reopen and learnt again. */
static void test_known_keys(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    int64_t t0 = now_ms() - 600 * 1000;
    uint64_t i1 = 1, i2 = 2, refs[3];
    osp_series_key ka = osp_series_key_of(OSP_KEY_REMOTE_WRITE, &i1, sizeof i1),
                   kb = osp_series_key_of(OSP_KEY_REMOTE_WRITE, &i2, sizeof i2),
                   keys[3] = {ka, kb, {0, 0}};
    osp_tsdb_known_series(db, keys, 3, refs);
    assert_true(refs[0] == 0 && refs[1] == 0 && refs[2] == 0);
    one(db, "other", "x", t0, 1, NULL); /* ids: a key need not name the first series */
    one_keyed(db, "up", "a", ka, 0, t0, 1);
    osp_tsdb_known_series(db, keys, 3, refs);
    assert_true(refs[0] != 0 && refs[1] == 0 && refs[2] == 0);
    uint64_t ref_a = refs[0];

    /* by ref, next to a new keyed series found by labels */
    osp_series_batch b;
    osp_tsdb_append_report rep;
    osp_series_batch_init(&b);
    osp_series *s = add(&b, "up", "j", "a");
    samples(&b, s, 1, t0 + 1000, 1, 2);
    s->key = ka, s->ref = ref_a;
    s = add(&b, "up", "j", "b");
    samples(&b, s, 1, t0 + 1000, 1, 3);
    s->key = kb;
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    assert_int_equal(rep.accepted, 2);
    osp_series_batch_cleanup(&b);
    osp_tsdb_known_series(db, keys, 3, refs);
    assert_true(refs[0] == ref_a && refs[1] != 0 && refs[1] != ref_a);

    /* after a cut the series' definition is logged with its next sample, by ref too */
    assert_int_equal(osp_tsdb_flush(db), 0);
    one_keyed(db, "up", "a", ka, ref_a, t0 + 2000, 4);
    char *crash = snapshot(dir);
    osp_tsdb_options oc = opts(crash);
    osp_tsdb *db2 = open_db(&oc);
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_series *out;
    size_t n = select_all(db2, &a, t0 - 1, t0 + 10000, &out);
    assert_int_equal(n, 3);
    assert_true(osp_str_eqz(out[1].labels[0].value, "up"));
    assert_true(osp_str_eqz(out[1].labels[1].value, "a"));
    assert_int_equal(out[1].nsamples, 3);
    assert_true(out[1].samples[2].t_ms == t0 + 2000 && out[1].samples[2].v == 4);
    assert_int_equal(out[2].nsamples, 1);
    /* keys live in memory only: the reopened engine learns them again */
    osp_tsdb_known_series(db2, keys, 3, refs);
    assert_true(refs[0] == 0 && refs[1] == 0);
    one_keyed(db2, "up", "a", ka, 0, t0 + 3000, 5);
    osp_tsdb_known_series(db2, keys, 3, refs);
    assert_true(refs[0] != 0 && refs[1] == 0);
    osp_arena_cleanup(&a);
    osp_tsdb_close(db2);
    osp_test_rmdir(crash);
    free(crash);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_torn_wal(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    int64_t t = now_ms() - 1000;
    osp_tsdb_append_report rep;
    for (int i = 0; i < 50; i++)
        one(db, "m", "a", t + i, i, &rep);
    char *crash = snapshot(dir);
    osp_tsdb_close(db);
    /* Tear the last record: cut 5 bytes off the newest segment. */
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "f=$(ls '%s'/wal/*.wal | sort | tail -n 1); truncate -s -5 \"$f\"",
             crash);
    assert_int_equal(system(cmd), 0);
    osp_tsdb_options oc = opts(crash);
    db = open_db(&oc);
    osp_tsdb_stats st;
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.head_samples, 49);
    one(db, "m", "a", t + 49, 49, &rep); /* the torn one was never acknowledged */
    assert_int_equal(rep.accepted, 1);
    osp_tsdb_close(db);
    osp_test_rmdir(crash);
    free(crash);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_corrupt_block(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    int64_t t = now_ms() - 1000;
    osp_tsdb_append_report rep;
    one(db, "m", "a", t, 1, &rep);
    assert_int_equal(osp_tsdb_flush(db), 0);
    one(db, "m", "b", t, 2, &rep);
    assert_int_equal(osp_tsdb_flush(db), 0);
    osp_tsdb_close(db);
    assert_int_equal(count_files(dir, ".blk"), 2);
    flip_byte_of_first_block(dir, 12);
    db = open_db(&o);
    osp_tsdb_stats st;
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.blocks, 1);
    char q[4096];
    snprintf(q, sizeof q, "%s/quarantine", dir);
    assert_int_equal(count_files(q, ".blk"), 1);
    osp_arena a;
    osp_series *s;
    osp_arena_init(&a, 0, 0);
    assert_int_equal(select_all(db, &a, INT64_MIN, INT64_MAX, &s), 1);
    assert_string_equal(s[0].labels[1].value.p, "b");
    osp_arena_cleanup(&a);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_merge_overlapping(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    o.ooo_window_ms = 3600 * 1000;
    osp_tsdb *db = open_db(&o);
    int64_t t = now_ms() - 600000;
    osp_tsdb_append_report rep;
    osp_series_batch b;
    osp_series_batch_init(&b);
    samples(&b, add(&b, "m", "j", "a"), 100, t, 1000, 0);
    samples(&b, add(&b, "m", "j", "b"), 100, t, 1000, 0);
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    osp_series_batch_cleanup(&b);
    assert_int_equal(osp_tsdb_flush(db), 0);
    /* Out-of-order rewrites of a's middle (newer writes win) and new timestamps in between. */
    osp_series_batch_init(&b);
    samples(&b, add(&b, "m", "j", "a"), 20, t + 40000, 1000, 1000);
    samples(&b, add(&b, "m", "j", "c"), 10, t, 1000, 0);
    osp_series *s = add(&b, "m", "j", "b");
    samples(&b, s, 10, t + 500, 1000, 0);
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    assert_int_equal(rep.accepted, 40);
    osp_series_batch_cleanup(&b);
    assert_int_equal(osp_tsdb_flush(db), 0);

    for (int round = 0; round < 3; round++) {
        osp_arena a;
        osp_series *r;
        osp_arena_init(&a, 0, 0);
        assert_int_equal(select_all(db, &a, INT64_MIN, INT64_MAX, &r), 3);
        assert_int_equal(total_samples(r, 3), 100 + 110 + 10);
        assert_int_equal(r[0].nsamples, 100);
        assert_true(r[0].samples[39].v == 39);
        assert_true(r[0].samples[40].v == 1000);
        assert_true(r[0].samples[59].v == 1019);
        assert_true(r[0].samples[60].v == 60);
        osp_arena_cleanup(&a);
        osp_tsdb_stats st;
        osp_tsdb_get_stats(db, &st);
        if (round == 0) {
            assert_int_equal(st.blocks, 2);
            assert_int_equal(osp__tsdb_merge(db), 0);
        } else if (round == 1) {
            assert_int_equal(st.blocks, 1);
            assert_int_equal(st.block_samples, 220);
            assert_int_equal(count_files(dir, ".blk"), 1);
            osp_tsdb_close(db);
            db = open_db(&o);
        }
    }
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_retention(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    o.retention_ms = 3600 * 1000;
    osp_tsdb *db = open_db(&o);
    int64_t now = now_ms();
    osp_tsdb_append_report rep;
    one(db, "m", "old", now - 50 * 60000, 1, &rep);
    assert_int_equal(osp_tsdb_flush(db), 0);
    one(db, "m", "new", now, 1, &rep);
    assert_int_equal(osp_tsdb_flush(db), 0);
    assert_int_equal(osp__tsdb_retention(db, now), 0);
    osp_tsdb_stats st;
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.blocks, 2);
    assert_int_equal(osp__tsdb_retention(db, now + 20 * 60000), 0);
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.min_time_ms, now);
    assert_int_equal(count_files(dir, ".blk"), 1);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

/* The values of label inst over all time, joined with commas. */
static void inst_values(osp_tsdb *db, char *out, size_t cap)
{
    osp_arena a;
    osp_str *v;
    size_t n, k = 0;
    osp_arena_init(&a, 0, 0);
    assert_int_equal(
        osp_tsdb_label_values(db, OSP_STR_LIT("inst"), NULL, 0, INT64_MIN, INT64_MAX, &a, &v, &n),
        0);
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%.*s", i ? "," : "", OSP_STR_FMT(v[i]));
    osp_arena_cleanup(&a);
}

/* Retention takes the last block of a series: the series leaves the index and the key map,
 * and an append by its old ref (taken before the sweep) stores it again under a new id. */
static void test_retention_sweeps_series(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    o.retention_ms = 3600 * 1000;
    osp_tsdb *db = open_db(&o);
    int64_t now = now_ms();
    uint64_t i1 = 1, ref;
    osp_series_key k = osp_series_key_of(OSP_KEY_REMOTE_WRITE, &i1, sizeof i1);
    osp_tsdb_stats st;
    char insts[64];
    one_keyed(db, "up", "old", k, 0, now - 50 * 60000, 1);
    assert_int_equal(osp_tsdb_flush(db), 0);
    one(db, "up", "new", now, 1, NULL);
    assert_int_equal(osp_tsdb_flush(db), 0);
    osp_tsdb_known_series(db, &k, 1, &ref);
    assert_true(ref != 0);
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.series, 2);

    assert_int_equal(osp__tsdb_retention(db, now + 20 * 60000), 0);
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.series, 1);
    inst_values(db, insts, sizeof insts);
    assert_string_equal(insts, "new");
    uint64_t again;
    osp_tsdb_known_series(db, &k, 1, &again);
    assert_int_equal(again, 0);

    one_keyed(db, "up", "old", k, ref, now + 1000, 7); /* the ref from before the sweep */
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.series, 2);
    osp_tsdb_known_series(db, &k, 1, &again);
    assert_true(again != 0 && again != ref);
    inst_values(db, insts, sizeof insts);
    assert_string_equal(insts, "new,old");
    assert_int_equal(osp_tsdb_flush(db), 0); /* the block write finds its labels */
    osp_tsdb_close(db);

    db = open_db(&o);
    osp_arena a;
    osp_series *out;
    osp_arena_init(&a, 0, 0);
    assert_int_equal(select_all(db, &a, INT64_MIN, INT64_MAX, &out), 2);
    assert_true(osp_str_eqz(out[1].labels[1].value, "old"));
    assert_int_equal(out[1].nsamples, 1);
    assert_true(out[1].samples[0].v == 7);
    osp_arena_cleanup(&a);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_metadata(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    osp_series_batch b;
    osp_series_batch_init(&b);
    osp_metric_meta *m = osp_series_batch_add_meta(&b);
    *m = (osp_metric_meta){OSP_STR_LIT("zeta"), OSP_KIND_GAUGE, OSP_STR_LIT("Z help."),
                           OSP_STR_NULL};
    m = osp_series_batch_add_meta(&b);
    *m = (osp_metric_meta){OSP_STR_LIT("alpha"), OSP_KIND_COUNTER, OSP_STR_LIT("old"),
                           OSP_STR_LIT("s")};
    assert_int_equal(osp_tsdb_append(db, &b, NULL), 0);
    osp_series_batch_reset(&b);
    m = osp_series_batch_add_meta(&b);
    *m = (osp_metric_meta){OSP_STR_LIT("alpha"), OSP_KIND_COUNTER, OSP_STR_LIT("new"),
                           OSP_STR_LIT("s")};
    assert_int_equal(osp_tsdb_append(db, &b, NULL), 0);
    osp_series_batch_cleanup(&b);

    for (int round = 0; round < 3; round++) {
        osp_arena a;
        osp_metric_meta *out;
        size_t n;
        osp_arena_init(&a, 0, 0);
        assert_int_equal(osp_tsdb_metadata(db, OSP_STR_NULL, &a, &out, &n), 0);
        assert_int_equal(n, 2);
        assert_true(osp_str_eqz(out[0].family, "alpha"));
        assert_true(osp_str_eqz(out[0].help, "new"));
        assert_true(osp_str_eqz(out[0].unit, "s"));
        assert_true(osp_str_eqz(out[1].help, "Z help."));
        assert_int_equal(out[1].kind, OSP_KIND_GAUGE);
        assert_int_equal(osp_tsdb_metadata(db, OSP_STR_LIT("zeta"), &a, &out, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(osp_tsdb_metadata(db, OSP_STR_LIT("nope"), &a, &out, &n), 0);
        assert_int_equal(n, 0);
        osp_arena_cleanup(&a);
        if (round == 0) { /* from the WAL */
            char *crash = snapshot(dir);
            osp_tsdb_close(db);
            osp_tsdb_options oc = opts(crash);
            db = open_db(&oc);
            osp_tsdb_close(db);
            osp_test_rmdir(dir); /* keep the crashed copy as the directory */
            free(dir);
            dir = crash;
            o = opts(dir);
            db = open_db(&o);
        } else if (round == 1) { /* from the metadata file */
            osp_tsdb_close(db);
            db = open_db(&o);
        }
    }
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

typedef struct worker {
    osp_tsdb *db;
    int id;
    int64_t t0;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char inst[32];
    for (int round = 0; round < 20; round++) {
        osp_series_batch b;
        osp_series_batch_init(&b);
        for (int i = 0; i < 100; i++) {
            snprintf(inst, sizeof inst, "w%d-%d", w->id, i);
            /* Every thread also writes the shared series, each its own timestamps. */
            osp_series *s =
                add(&b, i < 5 ? "shared" : "own", i < 5 ? "s" : "o", i < 5 ? "x" : inst);
            if (i < 5)
                s->labels[1].value = osp_arena_strdup(&b.arena, osp_str_c(inst + 3));
            samples(&b, s, 5, w->t0 + (round * 5) * 1000 + (i < 5 ? w->id * 100000000 : 0), 1000,
                    round);
        }
        osp_tsdb_append_report rep;
        assert_int_equal(osp_tsdb_append(w->db, &b, &rep), 0);
        assert_int_equal(rep.accepted, 500);
        osp_series_batch_cleanup(&b);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    o.head_bytes = 64 << 10;      /* background flushes while appending */
    o.ooo_window_ms = 1000000000; /* the shared series get interleaved writes */
    osp_tsdb *db = open_db(&o);
    pthread_t th[4];
    worker w[4];
    int64_t t0 = now_ms() - 3600 * 1000;
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){db, i, t0};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    osp_arena a;
    osp_series *s;
    osp_arena_init(&a, 0, 0);
    size_t n = select_all(db, &a, INT64_MIN, INT64_MAX, &s);
    assert_int_equal(total_samples(s, n), 4 * 20 * 500);
    osp_arena_cleanup(&a);
    osp_tsdb_close(db);
    db = open_db(&o);
    osp_arena_init(&a, 0, 0);
    n = select_all(db, &a, INT64_MIN, INT64_MAX, &s);
    assert_int_equal(total_samples(s, n), 4 * 20 * 500);
    osp_arena_cleanup(&a);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_labels(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    int64_t t = now_ms() - 100000;
    osp_tsdb_append_report rep;
    one(db, "a", "x", t, 1, &rep);
    one(db, "a", "y", t + 1000, 1, &rep);
    assert_int_equal(osp_tsdb_flush(db), 0);
    one(db, "b", "z", t + 2000, 1, &rep);
    osp_series_batch b;
    osp_series_batch_init(&b);
    samples(&b, add(&b, "c", NULL, NULL), 1, t + 3000, 1, 0);
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    osp_series_batch_cleanup(&b);

    osp_arena a;
    osp_str *v;
    size_t n;
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp_tsdb_label_names(db, NULL, 0, INT64_MIN, INT64_MAX, &a, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_true(osp_str_eqz(v[0], "__name__") && osp_str_eqz(v[1], "inst") &&
                osp_str_eqz(v[2], "job"));
    /* Only c has data at t + 3000. */
    assert_int_equal(osp_tsdb_label_names(db, NULL, 0, t + 2500, INT64_MAX, &a, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(
        osp_tsdb_label_values(db, OSP_STR_LIT("inst"), NULL, 0, INT64_MIN, INT64_MAX, &a, &v, &n),
        0);
    assert_int_equal(n, 3);
    assert_int_equal(
        osp_tsdb_label_values(db, OSP_STR_LIT("inst"), NULL, 0, t + 500, t + 2000, &a, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_true(osp_str_eqz(v[0], "y") && osp_str_eqz(v[1], "z"));
    osp_label_matcher m = {OSP_MATCH_EQ, OSP_STR_LIT("__name__"), OSP_STR_LIT("a")};
    assert_int_equal(
        osp_tsdb_label_values(db, OSP_STR_LIT("inst"), &m, 1, INT64_MIN, INT64_MAX, &a, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_true(osp_str_eqz(v[0], "x") && osp_str_eqz(v[1], "y"));
    assert_int_equal(
        osp_tsdb_label_values(db, OSP_STR_LIT("__name__"), &m, 1, t + 500, t + 900, &a, &v, &n), 0);
    assert_int_equal(n, 0);
    osp_label_matcher bad = {OSP_MATCH_RE, OSP_STR_LIT("inst"), OSP_STR_LIT("(")};
    osp_series *s;
    assert_int_equal(osp_tsdb_select(db, &bad, 1, INT64_MIN, INT64_MAX, &a, &s, &n), OSP_EPARSE);
    osp_arena_cleanup(&a);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_backpressure(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    o.head_bytes = 1; /* any sample passes the cap until a flush */
    o.block_ms = 1000L * 3600 * 24 * 365;
    osp_tsdb *db = open_db(&o);
    osp_tsdb_append_report rep;
    int64_t t = now_ms();
    int busy = 0;
    for (int i = 0; i < 1000 && !busy; i++) {
        osp_series_batch b;
        osp_series_batch_init(&b);
        samples(&b, add(&b, "m", "j", "a"), 1, t + i, 1, 0);
        int rc = osp_tsdb_append(db, &b, &rep);
        osp_series_batch_cleanup(&b);
        assert_true(rc == 0 || rc == OSP_EBUSY);
        busy = rc == OSP_EBUSY;
    }
    assert_true(busy);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

/* Prints the head's memory per active series with 120 samples each (a counter scraped
 * every 15 s with jitter and varying increments): a figure, not an assertion. */
static void test_memory_figure(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    enum { N = 8192, PER_CALL = 30 };
    char inst[32];
    int64_t t0 = now_ms() - 3600 * 1000;
    uint64_t x = 88172645463325252ull;
    double *val = calloc(N, sizeof *val);
    for (int off = 0; off < 120; off += PER_CALL) {
        osp_series_batch b;
        osp_series_batch_init(&b);
        for (int i = 0; i < N; i++) {
            snprintf(inst, sizeof inst, "host-%05d", i);
            osp_series *s = add(&b, "requests_total", "api", inst);
            samples(&b, s, PER_CALL, 0, 0, 0);
            for (int k = 0; k < PER_CALL; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                val[i] += (double)(x % 50);
                s->samples[k] = (osp_sample){t0 + (off + k) * 15000 + (int64_t)(x % 7) - 3, val[i]};
            }
        }
        assert_int_equal(osp_tsdb_append(db, &b, NULL), 0);
        osp_series_batch_cleanup(&b);
    }
    free(val);
    osp_tsdb_stats st;
    osp_tsdb_get_stats(db, &st);
    size_t head = osp__tsdb_head_heap(db);
    printf("head: %.0f bytes per active series with 120 samples buffered (%.2f bytes per "
           "sample in the head), %.0f with the series index\n",
           (double)head / N, (double)head / (N * 120.0), (double)st.head_bytes / N);
    assert_int_equal(osp_tsdb_flush(db), 0);
    osp_tsdb_get_stats(db, &st);
    printf("block: %.2f bytes per sample, labels included\n",
           (double)st.block_bytes / (double)st.block_samples);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

/* Fuzzing found: a definition with a ref near 2^32 made replay size its ref map by the ref
 * (32 GiB, zeroed) instead of by the definitions read. */
static void test_wal_large_ref(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    char waldir[4096];
    snprintf(waldir, sizeof waldir, "%s/wal", dir);
    /* append record: 1 definition (ref 2^32-1, x="1"), no metadata, 1 group: t 1000, v 1.0 */
    static const uint8_t rec[] = {1,    1,    0xff, 0xff, 0xff, 0xff, 0x0f, 1,    1,    'x',
                                  1,    '1',  0,    1,    0xff, 0xff, 0xff, 0xff, 0x0f, 1,
                                  0xd0, 0x0f, 0,    0,    0,    0,    0,    0,    0xf0, 0x3f};
    osp_wal_options wo = {.dir = waldir, .fsync_policy = OSP_FSYNC_NEVER};
    osp_wal *w;
    uint64_t lsn;
    assert_int_equal(osp_wal_open(&wo, 0, NULL, NULL, &w), 0);
    assert_int_equal(osp_wal_append(w, osp_str_make((const char *)rec, sizeof rec), &lsn), 0);
    osp_wal_close(w);

    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    osp_label_matcher m = {OSP_MATCH_EQ, OSP_STR_LIT("x"), OSP_STR_LIT("1")};
    osp_arena a;
    osp_series *out;
    size_t n;
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp_tsdb_select(db, &m, 1, INT64_MIN, INT64_MAX, &a, &out, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].nsamples, 1);
    assert_int_equal(out[0].samples[0].t_ms, 1000);
    assert_true(out[0].samples[0].v == 1.0);
    osp_arena_cleanup(&a);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

/* Fuzzing found: a head spanning more than INT64_MAX ms (samples near both ends of the
 * range) overflowed the flush check's span (signed overflow, undefined). */
static void test_extreme_timestamps(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    osp_series_batch b;
    osp_series_batch_init(&b);
    osp_series *s = add(&b, "edge", "j", "i");
    s->samples = osp_arena_calloc(&b.arena, 3, sizeof *s->samples);
    s->samples[0] = (osp_sample){INT64_MIN + 1, 1};
    s->samples[1] = (osp_sample){0, 2};
    s->samples[2] = (osp_sample){INT64_MAX, 3};
    s->nsamples = 3;
    osp_tsdb_append_report rep;
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    assert_int_equal(rep.accepted, 3);
    osp_series_batch_cleanup(&b);
    for (int round = 0; round < 2; round++) {
        osp_arena a;
        osp_series *out;
        osp_arena_init(&a, 0, 0);
        assert_int_equal(select_all(db, &a, INT64_MIN, INT64_MAX, &out), 1);
        assert_int_equal(total_samples(out, 1), 3);
        assert_int_equal(out[0].samples[0].t_ms, INT64_MIN + 1);
        assert_int_equal(out[0].samples[2].t_ms, INT64_MAX);
        osp_arena_cleanup(&a);
        assert_int_equal(osp_tsdb_flush(db), 0); /* round 1 reads the block */
    }
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

/* ---- native histograms ------------------------------------------------------------------ */

/* Gives s n histograms at t0 + i*step: test_hist(k0 + i), or the stale marker where k0 + i
 * is negative. */
static void hsamples(osp_series_batch *b, osp_series *s, size_t n, int64_t t0, int64_t step, int k0)
{
    s->hsamples = osp_arena_calloc(&b->arena, n, sizeof *s->hsamples);
    s->nhsamples = n;
    for (size_t i = 0; i < n; i++) {
        int k = k0 + (int)i;
        s->hsamples[i] = (osp_hsample){t0 + (int64_t)i * step, k < 0 ? test_stale_hist(&b->arena)
                                                                     : test_hist(&b->arena, k)};
    }
}

/* Appends one histogram, test_hist(k) (k < 0: the stale marker), to name{inst,job="j"}. */
static void one_hist(osp_tsdb *db, const char *name, const char *inst, int64_t t, int k,
                     osp_tsdb_append_report *rep)
{
    osp_series_batch b;
    osp_series_batch_init(&b);
    hsamples(&b, add(&b, name, "j", inst), 1, t, 0, k);
    assert_int_equal(osp_tsdb_append(db, &b, rep), 0);
    osp_series_batch_cleanup(&b);
}

/* The series of a selection whose inst label is inst, or NULL. */
static osp_series *find_inst(osp_series *s, size_t n, const char *inst)
{
    for (size_t i = 0; i < n; i++)
        if (osp_str_eqz(osp_labels_get(s[i].labels, s[i].nlabels, OSP_STR_LIT("inst")), inst))
            return &s[i];
    return NULL;
}

/* Whether s has histogram test_hist(k) at t as its i-th histogram. */
static int hist_at(const osp_series *s, size_t i, int64_t t, int k)
{
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    int ok = i < s->nhsamples && s->hsamples[i].t_ms == t &&
             osp_hist_equal(s->hsamples[i].h, test_hist(&a, k));
    osp_arena_cleanup(&a);
    return ok;
}

/* One timestamp per sample, of one kind: floats and histograms never share a time. */
static void check_kinds_apart(const osp_series *s)
{
    for (size_t i = 1; i < s->nhsamples; i++)
        assert_true(s->hsamples[i - 1].t_ms < s->hsamples[i].t_ms);
    for (size_t i = 0, j = 0; i < s->nsamples; i++) {
        while (j < s->nhsamples && s->hsamples[j].t_ms < s->samples[i].t_ms)
            j++;
        assert_true(j == s->nhsamples || s->hsamples[j].t_ms != s->samples[i].t_ms);
    }
}

#define HIST_T0 1000000 /* times of the histogram tests: retention is off */

/* mixed{inst="m"}: 100 rounds of a float at T + 2000k (value k) then a histogram at
 * T + 2000k + 1000 (test_hist(k)), one append each; hist{inst="h"}: 300 histograms at
 * T + 15000k in one append (three head chunks at least, OSP_HCHUNK_MAX_SAMPLES 120). */
static void fill_hist(osp_tsdb *db)
{
    osp_tsdb_append_report rep;
    for (int k = 0; k < 100; k++) {
        osp_series_batch b;
        osp_series_batch_init(&b);
        osp_series *s = add(&b, "mixed", "j", "m");
        samples(&b, s, 1, HIST_T0 + 2000 * k, 0, k);
        hsamples(&b, s, 1, HIST_T0 + 2000 * k + 1000, 0, k);
        assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
        assert_int_equal(rep.accepted, 2);
        osp_series_batch_cleanup(&b);
    }
    osp_series_batch b;
    osp_series_batch_init(&b);
    hsamples(&b, add(&b, "hist", "j", "h"), 300, HIST_T0, 15000, 0);
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    assert_int_equal(rep.accepted, 300);
    assert_string_equal(rep.error, "");
    osp_series_batch_cleanup(&b);
}

/* Selects the series fill_hist writes in [mint, maxt]. */
static size_t select_fill_hist(osp_tsdb *db, osp_arena *a, int64_t mint, int64_t maxt,
                               osp_series **out)
{
    osp_label_matcher m = {OSP_MATCH_RE, OSP_STR_LIT("__name__"), OSP_STR_LIT("hist|mixed")};
    size_t n = 0;
    assert_int_equal(osp_tsdb_select(db, &m, 1, mint, maxt, a, out, &n), 0);
    return n;
}

static void check_fill_hist(osp_tsdb *db)
{
    osp_arena a;
    osp_series *s;
    osp_arena_init(&a, 0, 0);
    assert_int_equal(select_fill_hist(db, &a, INT64_MIN, INT64_MAX, &s), 2);
    osp_series *h = find_inst(s, 2, "h"), *m = find_inst(s, 2, "m");
    assert_int_equal(h->nsamples, 0);
    assert_int_equal(h->nhsamples, 300);
    for (int k = 0; k < 300; k++)
        assert_true(hist_at(h, (size_t)k, HIST_T0 + 15000 * k, k));
    assert_int_equal(m->nsamples, 100);
    assert_int_equal(m->nhsamples, 100);
    for (int k = 0; k < 100; k++) {
        assert_true(m->samples[k].t_ms == HIST_T0 + 2000 * k && m->samples[k].v == k);
        assert_true(hist_at(m, (size_t)k, HIST_T0 + 2000 * k + 1000, k));
    }
    check_kinds_apart(m);
    /* A window, [T + 3000, T + 16000]: m's floats at T + 4000 .. T + 16000 (k = 2..8) and
     * histograms at T + 3000 .. T + 15000 (k = 1..7); h's histogram at T + 15000 (k = 1). */
    assert_int_equal(select_fill_hist(db, &a, HIST_T0 + 3000, HIST_T0 + 16000, &s), 2);
    h = find_inst(s, 2, "h");
    m = find_inst(s, 2, "m");
    assert_true(h->nhsamples == 1 && hist_at(h, 0, HIST_T0 + 15000, 1));
    assert_int_equal(m->nsamples, 7);
    assert_true(m->samples[0].v == 2 && m->samples[6].t_ms == HIST_T0 + 16000);
    assert_int_equal(m->nhsamples, 7);
    assert_true(hist_at(m, 0, HIST_T0 + 3000, 1) && hist_at(m, 6, HIST_T0 + 15000, 7));
    osp_arena_cleanup(&a);
}

/* A select over enough series to be split over threads gives every series once, sorted by
 * labels, with its own samples; under an arena cap too small for the result it fails with
 * OSP_ENOMEM and leaks nothing. */
static void test_parallel_select(void **state)
{
    enum { N = 5000 };
    char inst[32];
    for (int flushed = 0; flushed < 2; flushed++) { /* from the head, then from a block */
        char *dir = osp_test_tmpdir("tsdb");
        osp_tsdb_options o = opts(dir);
        osp_tsdb *db = open_db(&o);
        osp_series_batch b;
        osp_series_batch_init(&b);
        for (int i = 0; i < N; i++) {
            /* created in an order unlike label order, so the shares need sorting */
            int k = (i * 7919) % N;
            snprintf(inst, sizeof inst, "i%05d", k);
            samples(&b, add(&b, "par_metric", "j", inst), 3, 1000, 1000, k);
        }
        assert_int_equal(osp_tsdb_append(db, &b, NULL), 0);
        osp_series_batch_cleanup(&b);
        if (flushed)
            assert_int_equal(osp_tsdb_flush(db), 0);
        osp_label_matcher m = {OSP_MATCH_EQ, OSP_STR_LIT("__name__"), OSP_STR_LIT("par_metric")};
        osp_arena arena;
        osp_arena_init(&arena, 0, 0);
        osp_series *out;
        size_t n;
        assert_int_equal(osp_tsdb_select(db, &m, 1, 0, 10000, &arena, &out, &n), 0);
        assert_int_equal(n, N);
        for (size_t i = 0; i < n; i++) {
            snprintf(inst, sizeof inst, "i%05zu", i);
            osp_str got = osp_labels_get(out[i].labels, out[i].nlabels, OSP_STR_LIT("inst"));
            assert_true(osp_str_eqz(got, inst));
            assert_int_equal(out[i].nsamples, 3);
            assert_int_equal(out[i].samples[2].t_ms, 3000);
            assert_true(out[i].samples[2].v == (double)i + 2);
        }
        osp_arena_cleanup(&arena);
        osp_arena_init(&arena, 0, 64 << 10);
        assert_int_equal(osp_tsdb_select(db, &m, 1, 0, 10000, &arena, &out, &n), OSP_ENOMEM);
        osp_arena_cleanup(&arena);
        osp_tsdb_close(db);
        osp_test_rmdir(dir);
        free(dir);
    }
    (void)state;
}

static void test_hist_round_trip(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    osp_tsdb_stats st;
    fill_hist(db);
    check_fill_hist(db);
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.head_series, 2);
    assert_int_equal(st.head_samples, 500);
    assert_int_equal(st.min_time_ms, HIST_T0);
    assert_int_equal(st.max_time_ms, HIST_T0 + 15000 * 299);

    /* The series and label read paths count series that have histograms only. */
    osp_arena a;
    osp_series *s;
    osp_str *v;
    size_t n;
    osp_label_matcher m = {OSP_MATCH_EQ, OSP_STR_LIT("__name__"), OSP_STR_LIT("hist")};
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp_tsdb_series(db, &m, 1, HIST_T0 + 15000 * 299, INT64_MAX, &a, &s, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].nhsamples, 0);
    assert_int_equal(osp_tsdb_label_values(db, OSP_STR_LIT("inst"), NULL, 0, HIST_T0 + 15000 * 100,
                                           INT64_MAX, &a, &v, &n),
                     0);
    assert_true(n == 1 && osp_str_eqz(v[0], "h"));
    osp_arena_cleanup(&a);

    assert_int_equal(osp_tsdb_flush(db), 0);
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.head_samples, 0);
    assert_int_equal(st.block_samples, 500);
    assert_int_equal(st.max_time_ms, HIST_T0 + 15000 * 299);
    check_fill_hist(db);
    osp_tsdb_close(db);
    db = open_db(&o);
    check_fill_hist(db);
    /* The series state came back from the block: the newest sample of h is a histogram. */
    osp_tsdb_append_report rep;
    one_hist(db, "hist", "h", HIST_T0 + 15000 * 299, 299, &rep);
    assert_int_equal(rep.accepted, 1);
    one(db, "hist", "h", HIST_T0 + 15000 * 299, 1, &rep);
    assert_int_equal(rep.duplicate, 1);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

/* The admission rules, Prometheus's: one newest timestamp per series across both kinds;
 * histograms are never taken out of order, whatever the window. */
static void test_hist_rules(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    o.ooo_window_ms = 3600 * 1000;
    o.retention_ms = 24 * 3600 * 1000LL;
    osp_tsdb *db = open_db(&o);
    osp_tsdb_append_report rep;
    int64_t t = now_ms() - 600000;

    one_hist(db, "h", "a", t, 1, &rep);
    assert_int_equal(rep.accepted, 1);
    one_hist(db, "h", "a", t, 1, &rep); /* the same again: accepted, a no-op */
    assert_int_equal(rep.accepted, 1);
    assert_string_equal(rep.error, "");
    one_hist(db, "h", "a", t, 2, &rep);
    assert_int_equal(rep.duplicate, 1);
    assert_non_null(strstr(rep.error, "duplicate sample for timestamp"));
    one(db, "h", "a", t, 1, &rep); /* a float where the newest is a histogram */
    assert_int_equal(rep.duplicate, 1);
    one_hist(db, "h", "a", t - 1, 1, &rep); /* within the window, but a histogram */
    assert_int_equal(rep.out_of_order, 1);
    assert_string_equal(rep.error, "out of order sample for series h{inst=\"a\",job=\"j\"}");
    one_hist(db, "h", "a", t - 2 * 24 * 3600 * 1000LL, 1, &rep);
    assert_int_equal(rep.too_old, 1);

    one(db, "h", "a", t + 10, 5, &rep); /* a float after a histogram: in order */
    assert_int_equal(rep.accepted, 1);
    one_hist(db, "h", "a", t + 10, 1, &rep); /* a histogram where the newest is a float */
    assert_int_equal(rep.duplicate, 1);
    one_hist(db, "h", "a", t + 5, 1, &rep);
    assert_int_equal(rep.out_of_order, 1);
    one(db, "h", "a", t + 5, 4, &rep); /* the window takes floats */
    assert_int_equal(rep.accepted, 1);
    one(db, "h", "a", t, 4, &rep); /* a float where the head holds a histogram */
    assert_int_equal(rep.duplicate, 1);

    /* Invalid histograms count as invalid (schema 9 is past the largest, 8). */
    osp_series_batch b;
    osp_series_batch_init(&b);
    osp_series *s = add(&b, "h", "j", "a");
    hsamples(&b, s, 2, t + 20, 10, 3);
    ((osp_histogram *)s->hsamples[0].h)->schema = 9;
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    assert_int_equal(rep.invalid, 1);
    assert_int_equal(rep.accepted, 1);
    assert_non_null(strstr(rep.error, "invalid histogram ("));
    assert_non_null(strstr(rep.error, ") for series h{inst=\"a\",job=\"j\"}"));
    osp_series_batch_cleanup(&b);

    /* A float stale marker for a series whose newest sample is a histogram is stored as
     * the stale histogram (Prometheus does the same); then a float is in order again. A
     * stale histogram is a sample like any other. */
    osp_series_batch_init(&b);
    s = add(&b, "h", "j", "a");
    s->samples = osp_arena_calloc(&b.arena, 2, sizeof *s->samples);
    s->samples[0] = (osp_sample){t + 40, osp_stale_nan()};
    s->samples[1] = (osp_sample){t + 50, 6};
    s->nsamples = 2;
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    assert_int_equal(rep.accepted, 2);
    osp_series_batch_cleanup(&b);
    one_hist(db, "h", "a", t + 60, -1, &rep);
    assert_int_equal(rep.accepted, 1);
    one_hist(db, "h", "a", t + 60, -1, &rep); /* an equal stale marker */
    assert_int_equal(rep.accepted, 1);

    /* What the series holds: histogram 1 at t, float 4 at t + 5, float 5 at t + 10,
     * histogram 4 at t + 30, the stale histogram at t + 40, float 6 at t + 50, the stale
     * histogram at t + 60. */
    for (int round = 0; round < 3; round++) {
        osp_arena a;
        osp_series *r;
        osp_arena_init(&a, 0, 0);
        assert_int_equal(select_all(db, &a, INT64_MIN, INT64_MAX, &r), 1);
        assert_int_equal(r[0].nsamples, 3);
        assert_int_equal(r[0].nhsamples, 4);
        check_kinds_apart(&r[0]);
        assert_true(r[0].samples[0].t_ms == t + 5 && r[0].samples[0].v == 4);
        assert_true(r[0].samples[1].t_ms == t + 10 && r[0].samples[1].v == 5);
        assert_true(r[0].samples[2].t_ms == t + 50 && r[0].samples[2].v == 6);
        assert_true(hist_at(&r[0], 0, t, 1));
        assert_true(hist_at(&r[0], 1, t + 30, 4));
        assert_true(r[0].hsamples[2].t_ms == t + 40 && osp_hist_is_stale(r[0].hsamples[2].h));
        assert_true(r[0].hsamples[3].t_ms == t + 60 && osp_hist_is_stale(r[0].hsamples[3].h));
        osp_arena_cleanup(&a);
        /* The newest histogram is found wherever it is: the head, a block, after a reopen. */
        one_hist(db, "h", "a", t + 60, -1, &rep);
        assert_int_equal(rep.accepted, 1);
        one_hist(db, "h", "a", t + 60, 7, &rep);
        assert_int_equal(rep.duplicate, 1);
        if (round == 0) {
            assert_int_equal(osp_tsdb_flush(db), 0);
        } else if (round == 1) {
            osp_tsdb_close(db);
            db = open_db(&o);
        }
    }
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

/* A crash-like copy of the directory replays histograms from the write-ahead log, through
 * the same rules, in the order they were appended. */
static void test_hist_wal_replay(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    osp_tsdb_append_report rep;
    fill_hist(db);
    /* In one append: a float stale marker after the histogram newest (logged as a stale
     * histogram), then a float after it: replayed in this order, both stay. */
    one_hist(db, "order", "o", HIST_T0, 5, &rep);
    osp_series_batch b;
    osp_series_batch_init(&b);
    osp_series *s = add(&b, "order", "j", "o");
    s->samples = osp_arena_calloc(&b.arena, 2, sizeof *s->samples);
    s->samples[0] = (osp_sample){HIST_T0 + 10, osp_stale_nan()};
    s->samples[1] = (osp_sample){HIST_T0 + 20, 1};
    s->nsamples = 2;
    hsamples(&b, s, 1, HIST_T0 + 30, 0, 6);
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    assert_int_equal(rep.accepted, 3);
    osp_series_batch_cleanup(&b);

    char *crash = snapshot(dir);
    osp_tsdb_close(db);
    osp_tsdb_options oc = opts(crash);
    for (int round = 0; round < 2; round++) { /* from the log, then from the block */
        db = open_db(&oc);
        osp_tsdb_stats st;
        osp_tsdb_get_stats(db, &st);
        assert_int_equal(st.blocks, (uint64_t)round);
        assert_int_equal(st.head_samples + st.block_samples, 500 + 4);
        check_fill_hist(db);
        osp_arena a;
        osp_series *r;
        size_t n;
        osp_label_matcher m = {OSP_MATCH_EQ, OSP_STR_LIT("__name__"), OSP_STR_LIT("order")};
        osp_arena_init(&a, 0, 0);
        assert_int_equal(osp_tsdb_select(db, &m, 1, INT64_MIN, INT64_MAX, &a, &r, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(r[0].nsamples, 1);
        assert_true(r[0].samples[0].t_ms == HIST_T0 + 20 && r[0].samples[0].v == 1);
        assert_int_equal(r[0].nhsamples, 3);
        assert_true(hist_at(&r[0], 0, HIST_T0, 5));
        assert_true(r[0].hsamples[1].t_ms == HIST_T0 + 10 && osp_hist_is_stale(r[0].hsamples[1].h));
        assert_true(hist_at(&r[0], 2, HIST_T0 + 30, 6));
        osp_arena_cleanup(&a);
        /* The replayed state rejects what the original would have. */
        one_hist(db, "hist", "h", HIST_T0 + 15000 * 298, 1, &rep);
        assert_int_equal(rep.out_of_order, 1);
        one_hist(db, "hist", "h", HIST_T0 + 15000 * 299, 299, &rep);
        assert_int_equal(rep.accepted, 1);
        osp_tsdb_close(db); /* writes the block round 1 reads */
    }
    osp_test_rmdir(crash);
    free(crash);
    osp_test_rmdir(dir);
    free(dir);
}

/* Writes block file seq (age seq) into dir with series m{s="x"} holding floats f[0..nf) and
 * histograms at times ht[0..nh) of kinds hk[], and m{s="y"} with one histogram at 500 when
 * with_y. */
static void craft_block(const char *dir, uint64_t seq, const osp_sample *f, size_t nf,
                        const int64_t *ht, const int *hk, size_t nh, int with_y)
{
    char path[4096];
    osp_arena a;
    osp_hsample hs[16];
    osp_block_writer *w;
    osp_arena_init(&a, 0, 0);
    snprintf(path, sizeof path, "%s/%016llx.blk", dir, (unsigned long long)seq);
    for (size_t i = 0; i < nh; i++)
        hs[i] = (osp_hsample){ht[i], test_hist(&a, hk[i])};
    osp_label l[2] = {{OSP_STR_LIT("__name__"), OSP_STR_LIT("m")},
                      {OSP_STR_LIT("s"), OSP_STR_LIT("x")}};
    assert_int_equal(osp_block_writer_create(path, &w), 0);
    assert_int_equal(osp_block_writer_add(w, l, 2, f, nf, hs, nh), 0);
    if (with_y) {
        l[1].value = OSP_STR_LIT("y");
        hs[0] = (osp_hsample){500, test_hist(&a, 50)};
        assert_int_equal(osp_block_writer_add(w, l, 2, NULL, 0, hs, 1), 0);
    }
    assert_int_equal(osp_block_writer_finish(w, 0, seq, NULL, 0, NULL), 0);
    osp_arena_cleanup(&a);
}

/* Two overlapping blocks: the newer write wins a timestamp across kinds, in reads, merges
 * and after a reopen. Block 1: x floats at 0..9 (value k), histograms at 10..14 (kind k).
 * Block 2: x histograms at 3 and 5 (kinds 103, 105), a float at 12 (99); y one histogram. */
static void test_hist_merge(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_sample f1[10], f2[1] = {{12, 99}};
    int64_t ht1[5] = {10, 11, 12, 13, 14}, ht2[2] = {3, 5};
    int hk1[5] = {10, 11, 12, 13, 14}, hk2[2] = {103, 105};
    for (int k = 0; k < 10; k++)
        f1[k] = (osp_sample){k, k};
    craft_block(dir, 1, f1, 10, ht1, hk1, 5, 0);
    craft_block(dir, 2, f2, 1, ht2, hk2, 2, 1);
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    for (int round = 0; round < 3; round++) {
        osp_arena a;
        osp_series *r;
        osp_arena_init(&a, 0, 0);
        assert_int_equal(select_all(db, &a, INT64_MIN, INT64_MAX, &r), 2);
        osp_series *x = &r[0], *y = &r[1];
        check_kinds_apart(x);
        /* x: floats 0 1 2 _ 4 _ 6 7 8 9 and 12 (99); histograms 3 5 10 11 13 14 */
        assert_int_equal(x->nsamples, 9);
        assert_int_equal(x->nhsamples, 6);
        assert_true(x->samples[2].t_ms == 2 && x->samples[3].t_ms == 4);
        assert_true(x->samples[8].t_ms == 12 && x->samples[8].v == 99);
        assert_true(hist_at(x, 0, 3, 103) && hist_at(x, 1, 5, 105) && hist_at(x, 2, 10, 10));
        assert_true(hist_at(x, 4, 13, 13) && hist_at(x, 5, 14, 14));
        assert_true(y->nsamples == 0 && hist_at(y, 0, 500, 50));
        osp_arena_cleanup(&a);
        osp_tsdb_stats st;
        osp_tsdb_get_stats(db, &st);
        /* x's newest, 14, came from block 1: a histogram, whichever block is newer. */
        osp_tsdb_append_report rep;
        osp_series_batch b;
        osp_series_batch_init(&b);
        osp_series *s = osp_series_batch_add(&b);
        s->labels = osp_arena_calloc(&b.arena, 2, sizeof *s->labels);
        s->labels[0] = (osp_label){OSP_STR_LIT("__name__"), OSP_STR_LIT("m")};
        s->labels[1] = (osp_label){OSP_STR_LIT("s"), OSP_STR_LIT("x")};
        s->nlabels = 2;
        hsamples(&b, s, 1, 14, 0, 14);
        assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
        assert_int_equal(rep.accepted, 1);
        osp_series_batch_cleanup(&b);
        if (round == 0) {
            assert_int_equal(st.blocks, 2);
            assert_int_equal(st.block_samples, 15 + 3 + 1);
            assert_int_equal(osp__tsdb_merge(db), 0);
        } else if (round == 1) {
            assert_int_equal(st.blocks, 1);
            assert_int_equal(st.block_samples, 15 + 1);
            assert_int_equal(count_files(dir, ".blk"), 1);
            osp_tsdb_close(db);
            db = open_db(&o);
        }
    }
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

/* A float written out of order (within the window) over a histogram already in a block is
 * stored and wins: the newer write. */
static void test_hist_overwritten(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    o.ooo_window_ms = 3600 * 1000;
    osp_tsdb *db = open_db(&o);
    osp_tsdb_append_report rep;
    osp_series_batch b;
    osp_series_batch_init(&b);
    hsamples(&b, add(&b, "h", "j", "a"), 10, HIST_T0, 1000, 0);
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    osp_series_batch_cleanup(&b);
    assert_int_equal(osp_tsdb_flush(db), 0);
    one(db, "h", "a", HIST_T0 + 4000, 42, &rep);
    assert_int_equal(rep.accepted, 1);
    for (int round = 0; round < 3; round++) {
        osp_arena a;
        osp_series *r;
        osp_arena_init(&a, 0, 0);
        assert_int_equal(select_all(db, &a, INT64_MIN, INT64_MAX, &r), 1);
        assert_int_equal(r[0].nsamples, 1);
        assert_true(r[0].samples[0].t_ms == HIST_T0 + 4000 && r[0].samples[0].v == 42);
        assert_int_equal(r[0].nhsamples, 9);
        assert_true(hist_at(&r[0], 3, HIST_T0 + 3000, 3) && hist_at(&r[0], 4, HIST_T0 + 5000, 5));
        osp_arena_cleanup(&a);
        if (round == 0)
            assert_int_equal(osp_tsdb_flush(db), 0);
        else if (round == 1)
            assert_int_equal(osp__tsdb_merge(db), 0);
    }
    osp_tsdb_stats st;
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.block_samples, 10);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_hist_retention(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    o.retention_ms = 3600 * 1000;
    osp_tsdb *db = open_db(&o);
    int64_t now = now_ms();
    osp_tsdb_append_report rep;
    one_hist(db, "h", "old", now - 50 * 60000, 1, &rep);
    assert_int_equal(osp_tsdb_flush(db), 0);
    one_hist(db, "h", "new", now, 2, &rep);
    assert_int_equal(osp_tsdb_flush(db), 0);
    assert_int_equal(osp__tsdb_retention(db, now + 20 * 60000), 0);
    osp_tsdb_stats st;
    osp_tsdb_get_stats(db, &st);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.block_samples, 1);
    assert_int_equal(st.min_time_ms, now);
    osp_arena a;
    osp_series *r;
    osp_arena_init(&a, 0, 0);
    assert_int_equal(select_all(db, &a, INT64_MIN, INT64_MAX, &r), 1);
    assert_true(hist_at(&r[0], 0, now, 2));
    osp_arena_cleanup(&a);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

/* A data directory of the previous release (a format 02 block: the fixture described in
 * tests/unit/store/tsdb/block.c) opens, serves its floats and takes histograms. */
static void test_hist_format_02_dir(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    char cmd[4200];
    snprintf(cmd, sizeof cmd,
             "cp tests/unit/store/tsdb/fixtures/osptsb02.blk '%s'/0000000000000001.blk", dir);
    assert_int_equal(system(cmd), 0);
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    osp_tsdb_append_report rep;
    osp_series_batch b;
    osp_series_batch_init(&b);
    osp_series *s = osp_series_batch_add(&b);
    s->labels = osp_arena_calloc(&b.arena, 2, sizeof *s->labels);
    s->labels[0] = (osp_label){OSP_STR_LIT("__name__"), OSP_STR_LIT("old_metric")};
    s->labels[1] = (osp_label){OSP_STR_LIT("i"), OSP_STR_LIT("b")};
    s->nlabels = 2;
    hsamples(&b, s, 2, 3000, 1000, 7); /* 3000 is b's newest float: a duplicate */
    assert_int_equal(osp_tsdb_append(db, &b, &rep), 0);
    assert_int_equal(rep.duplicate, 1);
    assert_int_equal(rep.accepted, 1);
    osp_series_batch_cleanup(&b);
    for (int round = 0; round < 3; round++) {
        osp_arena a;
        osp_series *r;
        osp_arena_init(&a, 0, 0);
        assert_int_equal(select_all(db, &a, INT64_MIN, INT64_MAX, &r), 2);
        assert_int_equal(r[0].nsamples, 150);
        assert_true(r[0].samples[149].t_ms == 1000 + 149 * 15000 && r[0].samples[149].v == 149);
        assert_int_equal(r[1].nsamples, 3);
        assert_true(osp_is_stale_nan(r[1].samples[1].v) && r[1].samples[2].v == 2.5);
        assert_true(r[1].nhsamples == 1 && hist_at(&r[1], 0, 4000, 8));
        osp_arena_cleanup(&a);
        if (round == 0) {
            assert_int_equal(osp_tsdb_flush(db), 0);
        } else if (round == 1) {
            assert_int_equal(osp__tsdb_merge(db), 0); /* 02 and 03 into one 03 block */
            osp_tsdb_close(db);
            db = open_db(&o);
            osp_tsdb_stats st;
            osp_tsdb_get_stats(db, &st);
            assert_int_equal(st.blocks, 1);
            assert_int_equal(st.block_samples, 154);
        }
    }
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

/* A histogram chunk that does not decode, behind a valid checksum, fails the read with
 * OSP_ECORRUPT; the engine does not crash. */
static void test_hist_corrupt_chunk(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    osp_tsdb_append_report rep;
    one_hist(db, "h", "a", HIST_T0, 3, &rep);
    osp_tsdb_close(db);
    /* The only chunk starts at byte 8: length, count, zigzag(t), record length, record. */
    char path[4200];
    snprintf(path, sizeof path, "%s/0000000000000001.blk", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    uint8_t img[4096];
    size_t n = fread(img, 1, sizeof img, f);
    assert_true(n > OSP_BLOCK_FOOTER_LEN && n < sizeof img);
    uint8_t *foot = img + n - OSP_BLOCK_FOOTER_LEN;
    uint64_t clen = osp_get_le64(foot + 8);
    uint64_t zt = osp_pb_zigzag_encode(HIST_T0);
    size_t rec = 8 + 2 + osp_pb_encode_varint((uint8_t[10]){0}, zt) + 1;
    img[rec] = 0xe0; /* the record's flags: format version 7 */
    osp_put_le64(foot + 16, XXH64(img + 8, (size_t)clen, 0));
    osp_put_le64(foot + 152, XXH64(foot, 152, 0)); /* no replaces */
    rewind(f);
    assert_int_equal(fwrite(img, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    db = open_db(&o);
    osp_arena a;
    osp_series *r;
    size_t nr;
    osp_label_matcher m = {OSP_MATCH_EQ, OSP_STR_LIT("__name__"), OSP_STR_LIT("h")};
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp_tsdb_select(db, &m, 1, INT64_MIN, INT64_MAX, &a, &r, &nr), OSP_ECORRUPT);
    osp_arena_cleanup(&a);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

/* Histogram buffers count in the head's bytes (backpressure and the flush trigger). */
static void test_hist_head_bytes(void **state)
{
    char *dir = osp_test_tmpdir("tsdb");
    osp_tsdb_options o = opts(dir);
    osp_tsdb *db = open_db(&o);
    size_t encoded;
    osp_series_batch b;
    osp_series_batch_init(&b);
    osp_series *s = add(&b, "h", "j", "a");
    hsamples(&b, s, 1000, HIST_T0, 1000, 0);
    osp_buf enc;
    osp_buf_init(&enc, 0);
    for (size_t i = 0; i < s->nhsamples; i++)
        assert_int_equal(osp_hist_encode(&enc, s->hsamples[i].h), 0);
    encoded = enc.len;
    osp_buf_cleanup(&enc);
    assert_int_equal(osp_tsdb_append(db, &b, NULL), 0);
    osp_series_batch_cleanup(&b);
    assert_true(osp__tsdb_unflushed_bytes(db) > encoded);
    assert_int_equal(osp_tsdb_flush(db), 0);
    assert_int_equal(osp__tsdb_unflushed_bytes(db), 0);
    osp_tsdb_close(db);
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_ooo_window),
        cmocka_unit_test(test_flush_and_head_merge),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_torn_wal),
        cmocka_unit_test(test_corrupt_block),
        cmocka_unit_test(test_merge_overlapping),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_retention_sweeps_series),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_parallel_select),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_memory_figure),
        cmocka_unit_test(test_wal_large_ref),
        cmocka_unit_test(test_extreme_timestamps),
        cmocka_unit_test(test_hist_round_trip),
        cmocka_unit_test(test_hist_rules),
        cmocka_unit_test(test_hist_wal_replay),
        cmocka_unit_test(test_hist_merge),
        cmocka_unit_test(test_hist_overwritten),
        cmocka_unit_test(test_hist_retention),
        cmocka_unit_test(test_hist_format_02_dir),
        cmocka_unit_test(test_hist_corrupt_chunk),
        cmocka_unit_test(test_hist_head_bytes),
        cmocka_unit_test(test_known_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
