/* Tests for src/store/embedded/parts.c: the part set (adds, reads across parts, merges,
 * retention, quarantine). */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "store/embedded/format.h"
#include "store/embedded/match.h"
#include "store/embedded/parts.h"
#include "store/storetest.h"

#include "spangen.h"

#define DAY0 20000u /* 2024-10-04 */
#define NS_DAY OSP_PART_NS_PER_DAY

static void make_batch(osp_span_batch *b, uint64_t seed, uint32_t day, size_t ntraces)
{
    spangen g;
    gen_init(&g, seed, day * NS_DAY + 3600ull * 1000000000);
    osp_span_batch_init(b);
    gen_traces(&g, b, ntraces, 20000000);
    gen_cleanup(&g);
}

static osp_parts *open_parts(const char *dir, uint64_t retention_ns)
{
    osp_parts_options opt = {.dir = dir, .retention_ns = retention_ns};
    osp_parts *ps = NULL;
    assert_int_equal(osp_parts_open(&opt, &ps), 0);
    return ps;
}

/* Number of spans of b with this trace id. */
static size_t count_trace(const osp_span_batch *b, const uint8_t id[16])
{
    size_t n = 0;
    for (size_t i = 0; i < b->nspans; i++)
        n += !memcmp(b->spans[i].trace_id, id, 16);
    return n;
}

/* get_trace returns exactly the spans of b with that id (each once); without detail,
 * the same spans in the same order with their detail empty. */
static void check_trace(osp_parts *ps, const osp_span_batch *b, const uint8_t id[16])
{
    osp_span_batch out, light;
    osp_span_batch_init(&out);
    osp_span_batch_init(&light);
    size_t want = count_trace(b, id);
    assert_int_equal(osp_parts_get_trace(ps, id, 0, &out), (int)want);
    assert_int_equal(out.nspans, want);
    for (size_t k = 0; k < out.nspans; k++) {
        size_t hits = 0;
        for (size_t j = 0; j < b->nspans; j++)
            hits += osp_span_equal(&out, k, b, j);
        assert_true(hits >= 1);
    }
    assert_int_equal(osp_parts_get_trace(ps, id, OSP_TRACE_NO_DETAIL, &light), (int)want);
    for (size_t k = 0; k < light.nspans; k++)
        assert_true(span_equal_no_detail(&light, k, &out, k));
    osp_span_batch_cleanup(&out);
    osp_span_batch_cleanup(&light);
}

/* Files in dir/<day> ending in suffix. */
static size_t count_files(const char *dir, uint32_t day, const char *suffix)
{
    char path[512], name[16];
    time_t t = (time_t)day * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(name, sizeof name, "%Y%m%d", &tm);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    DIR *d = opendir(path);
    size_t n = 0;
    struct dirent *de;
    if (!d)
        return 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name), k = strlen(suffix);
        n += len > k && !strcmp(de->d_name + len - k, suffix);
    }
    closedir(d);
    return n;
}

/* Path of the first part file of a day (for damaging it). */
static void first_part(const char *dir, uint32_t day, char *out, size_t n)
{
    char name[16], dpath[256];
    time_t t = (time_t)day * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(name, sizeof name, "%Y%m%d", &tm);
    snprintf(dpath, sizeof dpath, "%s/%s", dir, name);
    DIR *d = opendir(dpath);
    struct dirent *de;
    out[0] = 0;
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".part") && !out[0])
            snprintf(out, n, "%s/%s", dpath, de->d_name);
    if (d)
        closedir(d);
    assert_true(out[0] != 0);
}

static double metric(const char *name, int gauge)
{
    return osp_metric_value(gauge ? osp_gauge(name, "", "") : osp_counter(name, "", ""));
}

static void test_add_and_get_across_parts(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts");
    osp_parts *ps = open_parts(dir, 0);
    osp_span_batch b[3];
    for (int i = 0; i < 3; i++) {
        make_batch(&b[i], 10 + i, DAY0, 40);
        assert_int_equal(osp_parts_add(ps, &b[i], 100 + i), 0);
    }
    assert_int_equal(osp_parts_max_lsn(ps), 102);
    osp_parts_stats st;
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 3);
    assert_int_equal(st.nspans, b[0].nspans + b[1].nspans + b[2].nspans);
    assert_true(st.bytes_on_disk > 0);
    assert_int_equal(metric("osprey_parts", 1) >= 3, 1);
    for (int i = 0; i < 3; i++)
        for (size_t k = 0; k < b[i].nspans; k += 5)
            check_trace(ps, &b[i], b[i].spans[k].trace_id);
    uint8_t absent[16] = {9, 9, 9};
    osp_span_batch out;
    osp_span_batch_init(&out);
    assert_int_equal(osp_parts_get_trace(ps, absent, 0, &out), 0);
    /* The id may live in the batch being appended to. */
    assert_int_equal(osp_span_batch_copy_span(&out, &b[2], 0), 0);
    int want = (int)count_trace(&b[2], b[2].spans[0].trace_id);
    for (int i = 0; i < 40; i++)
        assert_int_equal(osp_parts_get_trace(ps, out.spans[0].trace_id, 0, &out), want);
    osp_span_batch_cleanup(&out);
    /* An empty add only moves the LSN. */
    osp_span_batch empty;
    osp_span_batch_init(&empty);
    assert_int_equal(osp_parts_add(ps, &empty, 200), 0);
    assert_int_equal(osp_parts_max_lsn(ps), 200);
    osp_parts_close(ps);

    /* Everything is there again after reopening. */
    ps = open_parts(dir, 0);
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 3);
    assert_int_equal(osp_parts_max_lsn(ps), 102);
    check_trace(ps, &b[1], b[1].spans[0].trace_id);
    osp_parts_close(ps);
    for (int i = 0; i < 3; i++)
        osp_span_batch_cleanup(&b[i]);
    osp_test_rmdir(dir);
    free(dir);
}

/* Within one add, exact copies are stored once whatever their order; a different row
 * with the same key is kept. */
static void test_add_drops_exact_duplicates(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts");
    osp_parts *ps = open_parts(dir, 0);
    osp_span_batch b;
    make_batch(&b, 66, DAY0, 3);
    size_t n = b.nspans;
    for (int i = 0; i < 4; i++)
        assert_int_equal(osp_span_batch_copy_span(&b, &b, 0), 0);
    b.spans[n + 1].status_message = OSP_STR_LIT("a different row, same key");
    assert_int_equal(osp_parts_add(ps, &b, 1), 0);
    osp_parts_stats st;
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nspans, n + 1);
    osp_parts_close(ps);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_partitions_by_day(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts");
    osp_parts *ps = open_parts(dir, 0);
    osp_span_batch b, tmp;
    make_batch(&b, 20, DAY0, 10);
    for (uint32_t d = 1; d < 3; d++) {
        make_batch(&tmp, 20 + d, DAY0 + d, 10);
        for (size_t i = 0; i < tmp.nspans; i++)
            assert_int_equal(osp_span_batch_copy_span(&b, &tmp, i), 0);
        osp_span_batch_cleanup(&tmp);
    }
    assert_int_equal(osp_parts_add(ps, &b, 1), 0);
    for (uint32_t d = 0; d < 3; d++)
        assert_int_equal(count_files(dir, DAY0 + d, ".part"), 1);
    for (size_t k = 0; k < b.nspans; k += 7)
        check_trace(ps, &b, b.spans[k].trace_id);
    osp_parts_close(ps);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

typedef struct hits {
    uint8_t ids[2048][16];
    uint64_t newest[2048];
    size_t n;
} hits;

static void on_hit(const uint8_t trace_id[16], uint64_t newest, void *ctx)
{
    hits *h = ctx;
    for (size_t i = 0; i < h->n; i++)
        if (!memcmp(h->ids[i], trace_id, 16)) {
            if (newest > h->newest[i])
                h->newest[i] = newest;
            return;
        }
    assert_true(h->n < 2048);
    memcpy(h->ids[h->n], trace_id, 16);
    h->newest[h->n++] = newest;
}

static void check_search(osp_parts *ps, osp_span_batch *b, size_t nb, const osp_trace_query *q,
                         size_t min_hits)
{
    static hits got, want;
    got.n = want.n = 0;
    assert_int_equal(osp_parts_search(ps, q, on_hit, NULL, &got), 0);
    for (size_t k = 0; k < nb; k++)
        for (size_t i = 0; i < b[k].nspans; i++)
            if (osp_span_matches(q, &b[k], i))
                on_hit(b[k].spans[i].trace_id, b[k].spans[i].start_ns, &want);
    assert_int_equal(got.n, want.n);
    assert_true(want.n >= min_hits);
    for (size_t i = 0; i < want.n; i++) {
        size_t k = 0;
        while (k < got.n && memcmp(got.ids[k], want.ids[i], 16))
            k++;
        assert_true(k < got.n);
        assert_int_equal(got.newest[k], want.newest[i]);
    }
}

typedef struct cat {
    char lines[64][128];
    size_t n;
} cat;

static void on_cat(osp_str service, osp_str name, int32_t kind, void *ctx)
{
    cat *c = ctx;
    char line[128];
    snprintf(line, sizeof line, "%.*s|%.*s|%d", OSP_STR_FMT(service), OSP_STR_FMT(name), kind);
    for (size_t i = 0; i < c->n; i++)
        assert_string_not_equal(c->lines[i], line);
    assert_true(c->n < 64);
    strcpy(c->lines[c->n++], line);
}

static void test_search_and_catalogue(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts");
    osp_parts *ps = open_parts(dir, 0);
    osp_span_batch b[3];
    for (int i = 0; i < 3; i++) {
        make_batch(&b[i], 30 + i, DAY0 + (uint32_t)i, 150);
        assert_int_equal(osp_parts_add(ps, &b[i], 1), 0);
    }
    osp_attr_filter f = {OSP_STR_LIT("gen_ai.request.model"), OSP_STR_LIT("gpt-4o-mini")};
    osp_trace_query q = {.status = -1};
    check_search(ps, b, 3, &q, 400);
    q.service = OSP_STR_LIT("llm-router");
    check_search(ps, b, 3, &q, 100);
    q.operation = OSP_STR_LIT("chat gpt-4o");
    check_search(ps, b, 3, &q, 20);
    q = (osp_trace_query){.status = OSP_STATUS_ERROR};
    check_search(ps, b, 3, &q, 10);
    q = (osp_trace_query){.status = -1, .min_duration_ns = 500000000, .max_duration_ns = 600000000};
    check_search(ps, b, 3, &q, 10);
    q = (osp_trace_query){
        .status = -1, .start_ns = (DAY0 + 1) * NS_DAY, .end_ns = (DAY0 + 2) * NS_DAY - 1};
    check_search(ps, b, 3, &q, 100);
    q = (osp_trace_query){.status = -1, .attrs = &f, .nattrs = 1};
    check_search(ps, b, 3, &q, 20);

    cat c = {.n = 0};
    assert_int_equal(osp_parts_catalogue(ps, on_cat, &c), 0);
    assert_true(c.n >= 7); /* gateway, 4 chat models, qdrant, tool */
    osp_parts_close(ps);
    for (int i = 0; i < 3; i++)
        osp_span_batch_cleanup(&b[i]);
    osp_test_rmdir(dir);
    free(dir);
}

typedef struct reader {
    osp_parts *ps;
    const osp_span_batch *b;
    atomic_int stop;
    size_t reads;
} reader;

static void *reader_main(void *arg)
{
    reader *r = arg;
    size_t k = 0;
    while (!atomic_load(&r->stop) || r->reads < 20) {
        const uint8_t *id = r->b->spans[k].trace_id;
        osp_span_batch out;
        osp_span_batch_init(&out);
        int n = osp_parts_get_trace(r->ps, id, 0, &out);
        if (n != (int)count_trace(r->b, id))
            fprintf(stderr, "reader: got %d spans\n", n);
        assert_int_equal(n, (int)count_trace(r->b, id));
        osp_span_batch_cleanup(&out);
        k = (k + 13) % r->b->nspans;
        r->reads++;
    }
    return NULL;
}

static void test_merge(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts");
    osp_parts *ps = open_parts(dir, 0);
    osp_span_batch all, b;
    size_t resent = 0;
    osp_span_batch_init(&all);
    for (int i = 0; i < 8; i++) {
        make_batch(&b, 40 + (uint64_t)i, DAY0, 40);
        assert_int_equal(osp_parts_add(ps, &b, 10 + (uint64_t)i), 0);
        for (size_t k = 0; k < b.nspans; k++)
            assert_int_equal(osp_span_batch_copy_span(&all, &b, k), 0);
        if (i == 2) { /* the same spans again, as a retrying client would send them */
            assert_int_equal(osp_parts_add(ps, &b, 30), 0);
            resent = b.nspans;
        }
        osp_span_batch_cleanup(&b);
    }
    osp_parts_stats st;
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 9);
    assert_int_equal(st.nspans, all.nspans + resent);
    /* Duplicates are not returned even before the merge. */
    check_trace(ps, &all, all.spans[2 * all.nspans / 8 + 3].trace_id);
    double merges_before = metric("osprey_merges_total", 0);

    reader r = {.ps = ps, .b = &all};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
    assert_int_equal(osp_parts_maintain(ps, 0), 0);
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);

    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 1);
    assert_int_equal(st.merges, 1);
    assert_int_equal(st.nspans, all.nspans); /* duplicates removed */
    assert_int_equal(metric("osprey_merges_total", 0), merges_before + 1);
    assert_int_equal(osp_parts_max_lsn(ps), 30);
    assert_int_equal(count_files(dir, DAY0, ".part"), 1); /* old files gone */
    for (size_t k = 0; k < all.nspans; k += 3)
        check_trace(ps, &all, all.spans[k].trace_id);
    /* Nothing more to merge. */
    assert_int_equal(osp_parts_maintain(ps, 0), 0);
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.merges, 1);
    osp_parts_close(ps);

    ps = open_parts(dir, 0);
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 1);
    assert_int_equal(osp_parts_max_lsn(ps), 30);
    osp_parts_close(ps);
    osp_span_batch_cleanup(&all);
    osp_test_rmdir(dir);
    free(dir);
}

/* Rows that share trace id, start and span id but differ are both kept by a merge; exact
 * copies once. */
static void test_merge_same_key_different_content(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts");
    osp_parts *ps = open_parts(dir, 0);
    osp_span_batch b;
    make_batch(&b, 65, DAY0, 20);
    size_t n = b.nspans;
    for (int i = 0; i < 7; i++)
        assert_int_equal(osp_parts_add(ps, &b, 1), 0);
    b.spans[0].status_message = OSP_STR_LIT("changed on retry");
    assert_int_equal(osp_parts_add(ps, &b, 2), 0);
    assert_int_equal(osp_parts_maintain(ps, 0), 0);
    osp_parts_stats st;
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 1);
    assert_int_equal(st.nspans, n + 1);
    osp_span_batch out;
    osp_span_batch_init(&out);
    assert_int_equal(osp_parts_get_trace(ps, b.spans[0].trace_id, 0, &out),
                     (int)count_trace(&b, b.spans[0].trace_id) + 1);
    /* Without detail the two versions differ in nothing returned: one comes back. */
    osp_span_batch_reset(&out);
    assert_int_equal(osp_parts_get_trace(ps, b.spans[0].trace_id, OSP_TRACE_NO_DETAIL, &out),
                     (int)count_trace(&b, b.spans[0].trace_id));
    osp_span_batch_cleanup(&out);
    osp_parts_close(ps);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

/* A crash after a merge is published but before its inputs are unlinked leaves both on
 * disk: reopening drops the inputs. */
static void test_merge_crash_leftovers(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts"), cmd[2048];
    osp_parts *ps = open_parts(dir, 0);
    osp_span_batch all, b;
    osp_span_batch_init(&all);
    for (int i = 0; i < 8; i++) {
        make_batch(&b, 50 + (uint64_t)i, DAY0, 10);
        assert_int_equal(osp_parts_add(ps, &b, 1), 0);
        for (size_t k = 0; k < b.nspans; k++)
            assert_int_equal(osp_span_batch_copy_span(&all, &b, k), 0);
        osp_span_batch_cleanup(&b);
    }
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s.saved'", dir, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(osp_parts_maintain(ps, 0), 0);
    osp_parts_close(ps);
    snprintf(cmd, sizeof cmd, "cp '%s.saved'/*/*.part '%s'/20241004/ && rm -rf '%s.saved'", dir,
             dir, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(count_files(dir, DAY0, ".part"), 9);
    /* and an interrupted write */
    snprintf(cmd, sizeof cmd, "echo x > '%s'/20241004/00000000000000ff.part.tmp", dir);
    assert_int_equal(system(cmd), 0);

    ps = open_parts(dir, 0);
    osp_parts_stats st;
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 1);
    assert_int_equal(st.nspans, all.nspans);
    assert_int_equal(count_files(dir, DAY0, ".part"), 1);
    assert_int_equal(count_files(dir, DAY0, ".tmp"), 0);
    check_trace(ps, &all, all.spans[0].trace_id);
    /* New parts never reuse a seq of the removed ones. */
    make_batch(&b, 60, DAY0, 5);
    assert_int_equal(osp_parts_add(ps, &b, 2), 0);
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 2);
    osp_parts_close(ps);
    osp_span_batch_cleanup(&b);
    osp_span_batch_cleanup(&all);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_retention(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts");
    const uint64_t week = 7 * NS_DAY;
    osp_parts *ps = open_parts(dir, week);
    osp_span_batch old, recent;
    make_batch(&old, 70, DAY0, 10);
    make_batch(&recent, 71, DAY0 + 8, 10);
    assert_int_equal(osp_parts_add(ps, &old, 1), 0);
    assert_int_equal(osp_parts_add(ps, &old, 2), 0);
    assert_int_equal(osp_parts_add(ps, &recent, 3), 0);
    /* Day 0 is kept while its newest span is within the retention. */
    assert_int_equal(osp_parts_maintain(ps, (DAY0 + 7) * NS_DAY), 0);
    assert_int_equal(count_files(dir, DAY0, ".part"), 2);
    assert_int_equal(osp_parts_maintain(ps, (DAY0 + 8) * NS_DAY), 0);
    osp_parts_stats st;
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 1);
    char dpath[512];
    snprintf(dpath, sizeof dpath, "%s/20241004", dir);
    assert_int_equal(access(dpath, F_OK), -1); /* the whole directory is gone */
    osp_span_batch out;
    osp_span_batch_init(&out);
    assert_int_equal(osp_parts_get_trace(ps, old.spans[0].trace_id, 0, &out), 0);
    osp_span_batch_cleanup(&out);
    check_trace(ps, &recent, recent.spans[0].trace_id);
    osp_parts_close(ps);
    osp_span_batch_cleanup(&old);
    osp_span_batch_cleanup(&recent);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_corrupt_block_quarantined(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts"), path[1024], qpath[2048];
    osp_parts *ps = open_parts(dir, 0);
    osp_span_batch b[3];
    for (int i = 0; i < 3; i++) {
        make_batch(&b[i], 80 + (uint64_t)i, DAY0 + (uint32_t)i, 30);
        assert_int_equal(osp_parts_add(ps, &b[i], 1), 0);
    }
    double quarantined = metric("osprey_parts_quarantined_total", 0);
    double blocks = metric("osprey_part_blocks_read_total", 0);
    first_part(dir, DAY0 + 1, path, sizeof path);
    osp_test_flip_byte(path, OSP_PART_HEADER_SIZE + 2, 0x10); /* inside the first block */

    osp_span_batch out;
    osp_span_batch_init(&out);
    assert_int_equal(osp_parts_get_trace(ps, b[1].spans[0].trace_id, 0, &out), 0);
    osp_span_batch_cleanup(&out);
    osp_parts_stats st;
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 2);
    assert_int_equal(st.quarantined, 1);
    assert_int_equal(metric("osprey_parts_quarantined_total", 0), quarantined + 1);
    assert_int_equal(access(path, F_OK), -1);
    const char *base = strrchr(path, '/') + 1;
    snprintf(qpath, sizeof qpath, "%s/quarantine/20241005-%s", dir, base);
    assert_int_equal(access(qpath, F_OK), 0);
    /* The others keep serving, reads and searches alike. */
    check_trace(ps, &b[0], b[0].spans[0].trace_id);
    check_trace(ps, &b[2], b[2].spans[0].trace_id);
    check_search(ps, (osp_span_batch[]){b[0], b[2]}, 2, &(osp_trace_query){.status = -1}, 50);
    assert_true(metric("osprey_part_blocks_read_total", 0) > blocks);
    osp_parts_close(ps);
    ps = open_parts(dir, 0);
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 2);
    osp_parts_close(ps);
    for (int i = 0; i < 3; i++)
        osp_span_batch_cleanup(&b[i]);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_corrupt_search_quarantined(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts"), path[1024];
    osp_parts *ps = open_parts(dir, 0);
    osp_span_batch b[2];
    for (int i = 0; i < 2; i++) {
        make_batch(&b[i], 90 + (uint64_t)i, DAY0 + (uint32_t)i, 30);
        assert_int_equal(osp_parts_add(ps, &b[i], 1), 0);
    }
    first_part(dir, DAY0, path, sizeof path);
    osp_test_flip_byte(path, OSP_PART_HEADER_SIZE + 2, 0x10);
    check_search(ps, &b[1], 1, &(osp_trace_query){.status = -1}, 20);
    osp_parts_stats st;
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 1);
    assert_int_equal(st.quarantined, 1);
    osp_parts_close(ps);
    for (int i = 0; i < 2; i++)
        osp_span_batch_cleanup(&b[i]);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_bad_files_on_open(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts"), path[1024], cmd[2048];
    osp_parts *ps = open_parts(dir, 0);
    osp_span_batch b[2];
    for (int i = 0; i < 2; i++) {
        make_batch(&b[i], 95 + (uint64_t)i, DAY0 + (uint32_t)i, 20);
        assert_int_equal(osp_parts_add(ps, &b[i], 1), 0);
    }
    osp_parts_close(ps);
    /* A truncated part, garbage under a part name, a stray file, a stray directory. */
    first_part(dir, DAY0, path, sizeof path);
    assert_int_equal(truncate(path, 100), 0);
    snprintf(cmd, sizeof cmd,
             "head -c 3000 /dev/urandom > '%s/20241005/00000000000000aa.part' && "
             "echo notes > '%s/20241005/notes.txt' && mkdir '%s/junk' && "
             "echo x > '%s/20241005/00000000000000ab.part.tmp'",
             dir, dir, dir, dir);
    assert_int_equal(system(cmd), 0);

    ps = open_parts(dir, 0);
    osp_parts_stats st;
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 1);
    assert_int_equal(st.quarantined, 2);
    assert_int_equal(count_files(dir, DAY0 + 1, ".tmp"), 0);
    assert_int_equal(count_files(dir, DAY0 + 1, ".txt"), 1);
    check_trace(ps, &b[1], b[1].spans[0].trace_id);
    osp_span_batch out;
    osp_span_batch_init(&out);
    assert_int_equal(osp_parts_get_trace(ps, b[0].spans[0].trace_id, 0, &out), 0);
    osp_span_batch_cleanup(&out);
    /* New writes still work next to the damage. */
    assert_int_equal(osp_parts_add(ps, &b[0], 2), 0);
    check_trace(ps, &b[0], b[0].spans[0].trace_id);
    osp_parts_close(ps);
    for (int i = 0; i < 2; i++)
        osp_span_batch_cleanup(&b[i]);
    osp_test_rmdir(dir);
    free(dir);
}

typedef struct worker {
    osp_parts *ps;
    osp_span_batch *batches;
    size_t nbatches;
    atomic_int *stop;
    int kind; /* 0 adds every batch, 1 reads traces, 2 searches */
} worker;

static void *worker_main(void *arg)
{
    worker *wk = arg;
    static hits h;
    for (size_t round = 0; !atomic_load(wk->stop) || round < 5; round++) {
        osp_span_batch *b = &wk->batches[round % wk->nbatches];
        if (wk->kind == 0) {
            if (round >= wk->nbatches)
                break;
            assert_int_equal(osp_parts_add(wk->ps, b, round + 1), 0);
        } else if (wk->kind == 1) {
            osp_span_batch out;
            osp_span_batch_init(&out);
            int n = osp_parts_get_trace(wk->ps, b->spans[round % b->nspans].trace_id, 0, &out);
            assert_true(n >= 0 && n <= (int)count_trace(b, b->spans[round % b->nspans].trace_id));
            osp_span_batch_cleanup(&out);
        } else {
            osp_trace_query q = {.status = -1, .service = OSP_STR_LIT("agent")};
            h.n = 0; /* only this worker searches */
            assert_int_equal(osp_parts_search(wk->ps, &q, on_hit, NULL, &h), 0);
        }
    }
    return NULL;
}

/* Adds, reads, searches and merges at once; afterwards everything added is there once. */
static void test_concurrency(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts");
    osp_parts *ps = open_parts(dir, 0);
    enum { NB = 12 };
    osp_span_batch b[NB];
    size_t total = 0;
    for (int i = 0; i < NB; i++) {
        make_batch(&b[i], 200 + (uint64_t)i, DAY0, 8);
        total += b[i].nspans;
    }
    atomic_int stop;
    atomic_init(&stop, 0);
    worker wk[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        wk[i] = (worker){ps, b, NB, &stop, i};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &wk[i]), 0);
    }
    pthread_join(th[0], NULL); /* the adder finishes on its own */
    for (int i = 0; i < 3; i++)
        assert_int_equal(osp_parts_maintain(ps, 0), 0);
    atomic_store(&stop, 1);
    pthread_join(th[1], NULL);
    pthread_join(th[2], NULL);
    assert_int_equal(osp_parts_maintain(ps, 0), 0);
    osp_parts_stats st;
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nspans, total);
    assert_true(st.merges >= 1);
    for (int i = 0; i < NB; i++)
        check_trace(ps, &b[i], b[i].spans[0].trace_id);
    osp_parts_close(ps);
    for (int i = 0; i < NB; i++)
        osp_span_batch_cleanup(&b[i]);
    osp_test_rmdir(dir);
    free(dir);
}

typedef struct racer {
    osp_parts *ps;
    const uint8_t *id;
} racer;

static void *racer_main(void *arg)
{
    racer *r = arg;
    osp_span_batch out;
    osp_span_batch_init(&out);
    assert_int_equal(osp_parts_get_trace(r->ps, r->id, 0, &out), 0);
    osp_span_batch_cleanup(&out);
    return NULL;
}

/* Readers that find the same corrupt part at once quarantine it once. */
static void test_quarantine_race(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts"), path[1024];
    osp_parts *ps = open_parts(dir, 0);
    osp_span_batch b;
    make_batch(&b, 300, DAY0, 10);
    assert_int_equal(osp_parts_add(ps, &b, 1), 0);
    first_part(dir, DAY0, path, sizeof path);
    osp_test_flip_byte(path, OSP_PART_HEADER_SIZE + 2, 0x10);
    racer r = {ps, b.spans[0].trace_id};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, racer_main, &r), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    osp_parts_stats st;
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 0);
    assert_int_equal(st.quarantined, 1);
    osp_parts_close(ps);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

/* Every allocation failure in add, read, open and merge comes back as OSP_ENOMEM, leaks
 * nothing, and leaves the part set as it was (no part half added, none quarantined). */
static void test_allocation_failures(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts");
    size_t mem0 = osp_mem_in_use();
    osp_parts *ps = open_parts(dir, 0);
    osp_span_batch b;
    osp_parts_stats st;
    int rc;
    make_batch(&b, 400, DAY0, 2);
    for (unsigned long n = 1;; n++) {
        osp_mem_fail_after(n);
        rc = osp_parts_add(ps, &b, 1);
        osp_mem_fail_after(0);
        osp_parts_get_stats(ps, &st);
        if (rc == 0)
            break;
        assert_int_equal(rc, OSP_ENOMEM);
        assert_int_equal(st.nparts, 0);
        assert_int_equal(count_files(dir, DAY0, ".part"), 0);
        assert_int_equal(count_files(dir, DAY0, ".tmp"), 0);
    }
    assert_int_equal(st.nparts, 1);
    for (unsigned long n = 1;; n++) {
        osp_span_batch out;
        osp_span_batch_init(&out);
        osp_mem_fail_after(n);
        rc = osp_parts_get_trace(ps, b.spans[0].trace_id, 0, &out);
        osp_mem_fail_after(0);
        osp_span_batch_cleanup(&out);
        if (rc >= 0)
            break;
        assert_int_equal(rc, OSP_ENOMEM);
    }
    osp_attr_filter f = {OSP_STR_LIT("gen_ai.request.model"), OSP_STR_LIT("gpt-4o")};
    osp_trace_query q = {.status = -1, .attrs = &f, .nattrs = 1};
    static hits h;
    for (unsigned long n = 1;; n++) {
        cat c = {.n = 0};
        h.n = 0;
        osp_mem_fail_after(n);
        rc = osp_parts_search(ps, &q, on_hit, NULL, &h);
        if (rc == 0)
            rc = osp_parts_catalogue(ps, on_cat, &c);
        osp_mem_fail_after(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, OSP_ENOMEM);
    }
    for (int i = 1; i < 8; i++)
        assert_int_equal(osp_parts_add(ps, &b, 1), 0);
    osp_parts_close(ps);
    for (unsigned long n = 1;; n++) {
        osp_parts_options opt = {.dir = dir};
        osp_mem_fail_after(n);
        rc = osp_parts_open(&opt, &ps);
        osp_mem_fail_after(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, OSP_ENOMEM);
    }
    osp_parts_get_stats(ps, &st);
    assert_int_equal(st.nparts, 8);
    assert_int_equal(st.quarantined, 0);
    for (unsigned long n = 1;; n++) {
        osp_mem_fail_after(n);
        rc = osp_parts_maintain(ps, 0);
        osp_mem_fail_after(0);
        osp_parts_get_stats(ps, &st);
        assert_true(rc == 0 || rc == OSP_ENOMEM);
        if (st.nparts == 1) /* merged (a later step of the round may still have failed) */
            break;
        assert_int_equal(rc, OSP_ENOMEM);
        assert_int_equal(st.nparts, 8);
        assert_int_equal(st.nspans, 8 * b.nspans);
        assert_int_equal(count_files(dir, DAY0, ".part"), 8);
    }
    assert_int_equal(st.nspans, b.nspans);
    assert_int_equal(st.quarantined, 0);
    check_trace(ps, &b, b.spans[0].trace_id);
    osp_parts_close(ps);
    osp_span_batch_cleanup(&b);
    assert_int_equal(osp_mem_in_use(), mem0);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_open_errors(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("parts"), file[1024], sub[1100];
    snprintf(file, sizeof file, "%s/plain-file", dir);
    snprintf(sub, sizeof sub, "%s/traces", file);
    FILE *f = fopen(file, "w");
    fclose(f);
    osp_parts_options opt = {.dir = sub}; /* its parent is a file: mkdir fails */
    osp_parts *ps = NULL;
    assert_int_equal(osp_parts_open(&opt, &ps), OSP_EIO);
    assert_null(ps);
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_get_across_parts),
        cmocka_unit_test(test_add_drops_exact_duplicates),
        cmocka_unit_test(test_partitions_by_day),
        cmocka_unit_test(test_search_and_catalogue),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_same_key_different_content),
        cmocka_unit_test(test_merge_crash_leftovers),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_corrupt_block_quarantined),
        cmocka_unit_test(test_corrupt_search_quarantined),
        cmocka_unit_test(test_bad_files_on_open),
        cmocka_unit_test(test_concurrency),
        cmocka_unit_test(test_quarantine_race),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
