/* Tests for src/store/embedded/part.c: one part file, written and read back. */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "store/embedded/format.h"
#include "store/embedded/match.h"
#include "store/embedded/part.h"
#include "store/storetest.h"
#include "spangen.h"

#define DAY0 (20000 * OSP_PART_NS_PER_DAY) /* 2024-10-04T00:00:00Z */

static int cmp_rows(const void *a, const void *b, void *ctx)
{
    const osp_span_batch *batch = ctx;
    return osp_part_row_cmp(&batch->spans[*(const size_t *)a], &batch->spans[*(const size_t *)b]);
}

/* Row order of b as a part stores it; caller frees. */
static size_t *sorted_order(const osp_span_batch *b)
{
    size_t *order = malloc((b->nspans + 1) * sizeof *order);
    for (size_t i = 0; i < b->nspans; i++)
        order[i] = i;
    qsort_r(order, b->nspans, sizeof *order, cmp_rows, (void *)b);
    return order;
}

/* Writes b as dir/name (sorted) and returns the file size. */
static uint64_t write_part(const char *dir, const char *name, const osp_span_batch *b, uint64_t lsn)
{
    char tmp[512], path[512];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t *order = sorted_order(b);
    uint64_t replaces[] = {7, 9}, bytes = 0;
    osp_part_writer *w;
    osp_part_writer_options opt = {.wal_lsn = lsn, .replaces = replaces, .nreplaces = 2};
    assert_int_equal(osp_part_writer_create(tmp, &opt, &w), 0);
    for (size_t i = 0; i < b->nspans; i++)
        assert_int_equal(osp_part_writer_add(w, b, order[i]), 0);
    assert_int_equal(osp_part_writer_finish(w, &bytes), 0);
    assert_int_equal(osp_part_publish(tmp, path), 0);
    free(order);
    return bytes;
}

static osp_part *open_part(const char *dir, const char *name)
{
    char path[512];
    osp_part *p = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(osp_part_open(path, &p), 0);
    return p;
}

static void make_batch(osp_span_batch *b, uint64_t seed, size_t ntraces)
{
    spangen g;
    gen_init(&g, seed, DAY0 + 3600ull * 1000000000);
    osp_span_batch_init(b);
    gen_traces(&g, b, ntraces, 20000000);
    gen_cleanup(&g);
}

/* Every row read back granule by granule equals the source row, in sorted order. */
static void check_all_rows(osp_part *p, const osp_span_batch *src)
{
    size_t *order = sorted_order(src), k = 0;
    const osp_part_info *info = osp_part_get_info(p);
    assert_int_equal(info->nrows, src->nspans);
    for (size_t g = 0; g < info->ngranules; g++) {
        osp_span_batch out;
        osp_span_batch_init(&out);
        int n = osp_part_read_granule(p, g, &out);
        assert_true(n > 0);
        assert_int_equal((size_t)n, out.nspans);
        for (size_t i = 0; i < out.nspans; i++, k++)
            assert_true(osp_span_equal(&out, i, src, order[k]));
        osp_span_batch_cleanup(&out);
    }
    assert_int_equal(k, src->nspans);
    free(order);
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("part");
    osp_span_batch b;
    make_batch(&b, 1, 60);
    write_part(dir, "a.part", &b, 42);
    osp_part *p = open_part(dir, "a.part");
    const osp_part_info *info = osp_part_get_info(p);
    assert_int_equal(info->wal_lsn, 42);
    assert_int_equal(info->nreplaces, 2);
    assert_int_equal(info->replaces[0], 7);
    assert_int_equal(info->replaces[1], 9);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < b.nspans; i++) {
        lo = b.spans[i].start_ns < lo ? b.spans[i].start_ns : lo;
        hi = b.spans[i].start_ns > hi ? b.spans[i].start_ns : hi;
    }
    assert_int_equal(info->min_start, lo);
    assert_int_equal(info->max_start, hi);
    check_all_rows(p, &b);
    osp_part_close(p);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

static double blocks_read(void)
{
    return osp_metric_value(osp_counter("osprey_part_blocks_read_total", "", ""));
}

/* A read without detail loads the trace column and START .. PARENT, nothing after. */
static void test_trace_without_detail_blocks(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("part");
    osp_span_batch b, out;
    make_batch(&b, 3, 40);
    write_part(dir, "a.part", &b, 1);
    osp_part *p = open_part(dir, "a.part");
    assert_int_equal(osp_part_get_info(p)->ngranules, 1);
    osp_span_batch_init(&out);
    double before = blocks_read();
    int n = osp_part_get_trace(p, b.spans[0].trace_id, 0, &out);
    assert_true(n > 0);
    assert_true(blocks_read() - before == OSP_NCOLS);
    before = blocks_read();
    assert_int_equal(osp_part_get_trace(p, b.spans[0].trace_id, OSP_TRACE_NO_DETAIL, &out), n);
    assert_true(blocks_read() - before == 1 + OSP_COL_PARENT - OSP_COL_START + 1);
    for (int k = 0; k < n; k++)
        assert_true(span_equal_no_detail(&out, (size_t)(n + k), &out, (size_t)k));
    osp_span_batch_cleanup(&out);
    osp_part_close(p);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

/* Several granules, traces crossing granule boundaries, every trace fetched by id. */
static void test_granules_and_trace_lookup(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("part");
    osp_span_batch b;
    make_batch(&b, 2, 1500);
    /* One big trace that straddles granules. */
    size_t first = b.nspans;
    for (size_t i = 0; i < 2 * OSP_PART_GRANULE_ROWS; i++)
        assert_int_equal(osp_span_batch_copy_span(&b, &b, i % 7), 0);
    for (size_t i = first; i < b.nspans; i++) {
        memset(b.spans[i].trace_id, 0x80, 16);
        b.spans[i].span_id[0] = (uint8_t)i;
        b.spans[i].span_id[1] = (uint8_t)(i >> 8);
        b.spans[i].start_ns += i;
    }
    write_part(dir, "a.part", &b, 1);
    osp_part *p = open_part(dir, "a.part");
    assert_true(osp_part_get_info(p)->ngranules >= 4);
    check_all_rows(p, &b);
    /* Every trace by id: rows come back in part order, i.e. sorted. */
    size_t *order = sorted_order(&b);
    for (size_t lo = 0, hi; lo < b.nspans; lo = hi) {
        const uint8_t *id = b.spans[order[lo]].trace_id;
        for (hi = lo + 1; hi < b.nspans && !memcmp(b.spans[order[hi]].trace_id, id, 16); hi++)
            ;
        osp_span_batch out;
        osp_span_batch_init(&out);
        assert_int_equal(osp_part_get_trace(p, id, 0, &out), (int)(hi - lo));
        for (size_t k = 0; k < out.nspans; k++)
            assert_true(osp_span_equal(&out, k, &b, order[lo + k]));
        /* Without detail: the same rows, appended after the full ones. */
        assert_int_equal(osp_part_get_trace(p, id, OSP_TRACE_NO_DETAIL, &out), (int)(hi - lo));
        for (size_t k = 0; k < hi - lo; k++)
            assert_true(span_equal_no_detail(&out, hi - lo + k, &b, order[lo + k]));
        osp_span_batch_cleanup(&out);
    }
    free(order);
    osp_span_batch out;
    osp_span_batch_init(&out);
    uint8_t absent[16] = {0x7f, 1, 2, 3};
    assert_int_equal(osp_part_get_trace(p, absent, 0, &out), 0);
    assert_int_equal(osp_part_get_trace(p, absent, OSP_TRACE_NO_DETAIL, &out), 0);
    assert_int_equal(out.nspans, 0);
    osp_span_batch_cleanup(&out);
    osp_part_close(p);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

/* Merging through cursors: rows of two parts with different dictionaries, copied as
 * encoded into a third, read back equal to the sources, in order. */
static void test_cursor_copy(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("part"), tmp[512], path[512];
    osp_span_batch a, b, all;
    make_batch(&a, 11, 700);
    make_batch(&b, 12, 500);
    b.spans[3].name = OSP_STR_LIT("only in b");
    osp_span_batch_init(&all);
    for (size_t i = 0; i < a.nspans; i++)
        assert_int_equal(osp_span_batch_copy_span(&all, &a, i), 0);
    for (size_t i = 0; i < b.nspans; i++)
        assert_int_equal(osp_span_batch_copy_span(&all, &b, i), 0);
    write_part(dir, "a.part", &a, 1);
    write_part(dir, "b.part", &b, 2);
    osp_part *pa = open_part(dir, "a.part"), *pb = open_part(dir, "b.part");
    osp_part_cursor *ca, *cb;
    assert_int_equal(osp_part_cursor_open(pa, &ca), 0);
    assert_int_equal(osp_part_cursor_open(pb, &cb), 0);
    snprintf(tmp, sizeof tmp, "%s/c.part.tmp", dir);
    snprintf(path, sizeof path, "%s/c.part", dir);
    osp_part_writer *w;
    osp_part_writer_options opt = {.zstd_level = OSP_PART_ZSTD_LEVEL_MERGED};
    assert_int_equal(osp_part_writer_create(tmp, &opt, &w), 0);
    /* The first row of b cannot go before rows already written from a. */
    const osp_span *ka, *kb;
    size_t copied = 0;
    while ((ka = osp_part_cursor_key(ca)) || (kb = osp_part_cursor_key(cb))) {
        kb = osp_part_cursor_key(cb);
        osp_part_cursor *c = !kb || (ka && osp_part_row_cmp(ka, kb) < 0) ? ca : cb;
        assert_int_equal(osp_part_cursor_copy(c, w), 0);
        copied++;
    }
    assert_int_equal(copied, all.nspans);
    assert_null(osp_part_cursor_key(ca));
    uint64_t bytes;
    assert_int_equal(osp_part_writer_finish(w, &bytes), 0);
    assert_int_equal(osp_part_publish(tmp, path), 0);
    osp_part *pc = open_part(dir, "c.part");
    check_all_rows(pc, &all);

    /* A cursor reads canonical rows too, and refuses out-of-order copies. */
    osp_part_cursor_close(ca);
    assert_int_equal(osp_part_cursor_open(pc, &ca), 0);
    size_t *order = sorted_order(&all);
    osp_span_batch out;
    osp_span_batch_init(&out);
    for (size_t i = 0; i < 50; i++) {
        assert_int_equal(osp_part_cursor_read(ca, &out), 0);
        assert_true(osp_span_equal(&out, i, &all, order[i]));
    }
    snprintf(tmp, sizeof tmp, "%s/d.part.tmp", dir);
    assert_int_equal(osp_part_writer_create(tmp, &opt, &w), 0);
    assert_int_equal(osp_part_writer_add(w, &all, order[all.nspans - 1]), 0);
    assert_int_equal(osp_part_cursor_copy(ca, w), OSP_EINVAL);
    osp_part_writer_abort(w);
    free(order);
    osp_span_batch_cleanup(&out);
    osp_part_cursor_close(ca);
    osp_part_cursor_close(cb);
    osp_part_close(pa);
    osp_part_close(pb);
    osp_part_close(pc);
    osp_span_batch_cleanup(&a);
    osp_span_batch_cleanup(&b);
    osp_span_batch_cleanup(&all);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_bloom(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("part");
    osp_span_batch b;
    make_batch(&b, 3, 2000);
    write_part(dir, "a.part", &b, 1);
    osp_part *p = open_part(dir, "a.part");
    for (size_t i = 0; i < b.nspans; i++)
        assert_int_equal(osp_part_may_contain(p, b.spans[i].trace_id), 1);
    size_t fp = 0;
    for (uint32_t i = 0; i < 10000; i++) {
        uint8_t id[16] = {0};
        memcpy(id, &i, sizeof i);
        id[15] = 0xee;
        fp += (size_t)osp_part_may_contain(p, id);
    }
    printf("bloom false positives: %zu / 10000\n", fp);
    assert_true(fp < 300); /* ~1% expected at 10 bits per key */
    osp_part_close(p);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

typedef struct catalogue_seen {
    char names[64][128];
    size_t n;
} catalogue_seen;

static void on_catalogue(osp_str service, osp_str name, int32_t kind, void *ctx)
{
    catalogue_seen *s = ctx;
    char line[128];
    snprintf(line, sizeof line, "%.*s|%.*s|%d", OSP_STR_FMT(service), OSP_STR_FMT(name), kind);
    for (size_t i = 0; i < s->n; i++)
        assert_string_not_equal(s->names[i], line); /* each triple once */
    assert_true(s->n < 64);
    strcpy(s->names[s->n++], line);
}

static void test_dictionaries_and_catalogue(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("part");
    osp_span_batch b;
    make_batch(&b, 4, 300);
    write_part(dir, "a.part", &b, 1);
    osp_part *p = open_part(dir, "a.part");
    catalogue_seen seen = {.n = 0};
    assert_int_equal(osp_part_catalogue(p, on_catalogue, &seen), 0);
    /* Every distinct triple of the batch is there, and nothing else. */
    size_t want = 0;
    for (size_t i = 0; i < b.nspans; i++) {
        const osp_span *s = &b.spans[i];
        char line[128];
        snprintf(line, sizeof line, "%.*s|%.*s|%d",
                 OSP_STR_FMT(b.resources[s->resource].service_name), OSP_STR_FMT(s->name), s->kind);
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = osp_str_eq(b.spans[j].name, s->name) && b.spans[j].kind == s->kind &&
                  b.spans[j].resource == s->resource;
        if (dup)
            continue;
        want++;
        size_t k = 0;
        while (k < seen.n && strcmp(seen.names[k], line))
            k++;
        assert_true(k < seen.n);
    }
    assert_int_equal(seen.n, want);
    osp_part_close(p);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

typedef struct hits {
    uint8_t ids[4096][16];
    uint64_t newest[4096];
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
    assert_true(h->n < 4096);
    memcpy(h->ids[h->n], trace_id, 16);
    h->newest[h->n++] = newest;
}

/* The part's answer equals osp_span_matches applied to every source row. */
static void check_search(osp_part *p, const osp_span_batch *b, const osp_trace_query *q,
                         size_t min_hits)
{
    static hits got, want;
    got.n = want.n = 0;
    assert_int_equal(osp_part_search(p, q, on_hit, NULL, &got), 0);
    for (size_t i = 0; i < b->nspans; i++)
        if (osp_span_matches(q, b, i))
            on_hit(b->spans[i].trace_id, b->spans[i].start_ns, &want);
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

static uint64_t fixed_floor_ns;

static uint64_t fixed_floor(void *ctx)
{
    (void)ctx;
    return fixed_floor_ns;
}

/* With a floor, exactly the traces whose newest matching span is not older than it come
 * back, with that span's start. */
static void check_search_floor(osp_part *p, const osp_span_batch *b, const osp_trace_query *q,
                               uint64_t floor, size_t min_hits)
{
    static hits got, all;
    size_t nwant = 0;
    got.n = all.n = 0;
    fixed_floor_ns = floor;
    assert_int_equal(osp_part_search(p, q, on_hit, fixed_floor, &got), 0);
    for (size_t i = 0; i < b->nspans; i++)
        if (osp_span_matches(q, b, i))
            on_hit(b->spans[i].trace_id, b->spans[i].start_ns, &all);
    for (size_t i = 0; i < all.n; i++) {
        if (all.newest[i] < floor)
            continue;
        nwant++;
        size_t k = 0;
        while (k < got.n && memcmp(got.ids[k], all.ids[i], 16))
            k++;
        assert_true(k < got.n);
        assert_int_equal(got.newest[k], all.newest[i]);
    }
    assert_int_equal(got.n, nwant);
    assert_true(nwant >= min_hits);
}

static void test_search_predicates(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("part");
    osp_span_batch b;
    make_batch(&b, 5, 1200);
    write_part(dir, "a.part", &b, 1);
    osp_part *p = open_part(dir, "a.part");
    const osp_part_info *info = osp_part_get_info(p);
    uint64_t mid = info->min_start + (info->max_start - info->min_start) / 2;
    osp_attr_filter f_model = {OSP_STR_LIT("gen_ai.request.model"), OSP_STR_LIT("gpt-4o")};
    osp_attr_filter f_code = {OSP_STR_LIT("http.response.status_code"), OSP_STR_LIT("500")};
    osp_attr_filter f_res = {OSP_STR_LIT("telemetry.sdk.language"), OSP_STR_LIT("python")};
    osp_attr_filter f_none = {OSP_STR_LIT("no.such.key"), OSP_STR_LIT("x")};
    osp_attr_filter f_temp = {OSP_STR_LIT("gen_ai.request.temperature"), OSP_STR_LIT("0.5")};
    osp_attr_filter both[] = {f_model, f_res};
    const osp_trace_query base = {.status = -1};
    osp_trace_query q;

    q = base;
    check_search(p, &b, &q, 1000); /* everything */
    q = base;
    q.service = OSP_STR_LIT("retriever");
    check_search(p, &b, &q, 100);
    q.service = OSP_STR_LIT("nobody");
    check_search(p, &b, &q, 0);
    q = base;
    q.operation = OSP_STR_LIT("qdrant search");
    check_search(p, &b, &q, 100);
    q.operation = OSP_STR_LIT("no such op");
    check_search(p, &b, &q, 0);
    q = base;
    q.min_duration_ns = 600000000;
    check_search(p, &b, &q, 50);
    q = base;
    q.max_duration_ns = 100000000;
    check_search(p, &b, &q, 50);
    q = base;
    q.start_ns = mid;
    check_search(p, &b, &q, 100);
    q = base;
    q.end_ns = mid;
    check_search(p, &b, &q, 100);
    q = base;
    q.start_ns = info->max_start + 1;
    check_search(p, &b, &q, 0);
    q = base;
    q.status = OSP_STATUS_ERROR;
    check_search(p, &b, &q, 20);
    q.status = OSP_STATUS_OK;
    check_search(p, &b, &q, 100);
    q = base;
    q.attrs = &f_model;
    q.nattrs = 1;
    check_search(p, &b, &q, 50);
    q.attrs = &f_code;
    check_search(p, &b, &q, 5);
    q.attrs = &f_res; /* a resource attribute */
    check_search(p, &b, &q, 100);
    q.attrs = &f_temp; /* a double rendered as text */
    check_search(p, &b, &q, 10);
    q.attrs = &f_none;
    check_search(p, &b, &q, 0);
    /* Filters on several columns at once. */
    q = base;
    q.operation = OSP_STR_LIT("qdrant search");
    q.status = OSP_STATUS_UNSET;
    q.min_duration_ns = 1000000;
    check_search(p, &b, &q, 100);
    q = base;
    q.service = OSP_STR_LIT("retriever");
    q.start_ns = mid;
    q.max_duration_ns = 300000000;
    q.status = OSP_STATUS_UNSET;
    check_search(p, &b, &q, 50);
    q = base;
    q.status = OSP_STATUS_ERROR;
    q.end_ns = mid;
    q.attrs = &f_code;
    q.nattrs = 1;
    check_search(p, &b, &q, 5);
    q = base;
    q.start_ns = mid - (mid - info->min_start) / 2;
    q.end_ns = mid;
    q.attrs = &f_model;
    q.nattrs = 1;
    check_search(p, &b, &q, 10);
    /* A floor leaves out exactly the traces whose newest match is older. */
    q = base;
    check_search_floor(p, &b, &q, mid, 100);
    check_search_floor(p, &b, &q, info->max_start, 1);
    check_search_floor(p, &b, &q, info->max_start + 1, 0);
    q.operation = OSP_STR_LIT("qdrant search");
    check_search_floor(p, &b, &q, mid, 10);
    q = base;
    q.attrs = &f_model;
    q.nattrs = 1;
    check_search_floor(p, &b, &q, mid, 10);
    q = base;
    q.attrs = both;
    q.nattrs = 2;
    q.service = OSP_STR_LIT("agent");
    q.status = OSP_STATUS_UNSET;
    q.min_duration_ns = 1000000;
    check_search(p, &b, &q, 0);
    osp_part_close(p);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_writer_rejects_unsorted_and_abort(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("part");
    char tmp[512];
    osp_span_batch b;
    make_batch(&b, 6, 4);
    snprintf(tmp, sizeof tmp, "%s/x.part.tmp", dir);
    size_t *order = sorted_order(&b);
    osp_part_writer *w;
    osp_part_writer_options opt = {0};
    assert_int_equal(osp_part_writer_create(tmp, &opt, &w), 0);
    assert_int_equal(osp_part_writer_add(w, &b, order[1]), 0);
    assert_int_equal(osp_part_writer_add(w, &b, order[0]), OSP_EINVAL);
    osp_part_writer_abort(w);
    assert_int_equal(access(tmp, F_OK), -1);
    /* The temporary path must be fresh. */
    int fd = open(tmp, O_CREAT | O_WRONLY, 0644);
    close(fd);
    assert_int_equal(osp_part_writer_create(tmp, &opt, &w), OSP_EIO);
    free(order);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_empty_part(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("part");
    osp_span_batch b;
    osp_span_batch_init(&b);
    write_part(dir, "e.part", &b, 3);
    osp_part *p = open_part(dir, "e.part");
    assert_int_equal(osp_part_get_info(p)->nrows, 0);
    uint8_t id[16] = {1};
    assert_int_equal(osp_part_get_trace(p, id, 0, &b), 0);
    osp_trace_query q = {.status = -1};
    static hits h;
    h.n = 0;
    assert_int_equal(osp_part_search(p, &q, on_hit, NULL, &h), 0);
    assert_int_equal(h.n, 0);
    osp_part_close(p);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_corruption(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("part");
    char path[512];
    osp_span_batch b;
    osp_part *p = NULL;
    make_batch(&b, 7, 50);
    uint64_t size = write_part(dir, "a.part", &b, 1);
    snprintf(path, sizeof path, "%s/a.part", dir);

    /* A flipped byte in a column block: the part opens, the read fails cleanly. */
    osp_test_flip_byte(path, OSP_PART_HEADER_SIZE + 3, 0x40);
    p = open_part(dir, "a.part");
    osp_span_batch out;
    osp_span_batch_init(&out);
    assert_int_equal(osp_part_get_trace(p, b.spans[0].trace_id, 0, &out), OSP_ECORRUPT);
    assert_int_equal(osp_part_get_trace(p, b.spans[0].trace_id, OSP_TRACE_NO_DETAIL, &out),
                     OSP_ECORRUPT);
    assert_int_equal(out.nspans, 0);
    assert_int_equal(osp_part_read_granule(p, 0, &out), OSP_ECORRUPT);
    osp_trace_query q = {.status = -1};
    static hits h;
    assert_int_equal(osp_part_search(p, &q, on_hit, NULL, &h), OSP_ECORRUPT);
    osp_part_close(p);
    osp_test_flip_byte(path, OSP_PART_HEADER_SIZE + 3, 0x40);

    /* Header, index and footer damage: open refuses. */
    const off_t spots[] = {0, 9, (off_t)size - OSP_PART_FOOTER_SIZE - 5,
                           (off_t)size - OSP_PART_FOOTER_SIZE + 2, (off_t)size - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        osp_test_flip_byte(path, spots[i], 0x40);
        assert_int_equal(osp_part_open(path, &p), OSP_ECORRUPT);
        osp_test_flip_byte(path, spots[i], 0x40);
    }
    p = open_part(dir, "a.part");
    osp_part_close(p);

    /* Truncated anywhere. */
    const off_t lens[] = {0, 10, OSP_PART_HEADER_SIZE + OSP_PART_FOOTER_SIZE, (off_t)size / 2,
                          (off_t)size - 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        assert_int_equal(truncate(path, lens[i]), 0);
        assert_int_equal(osp_part_open(path, &p), OSP_ECORRUPT);
    }

    /* Garbage of every size, and a missing file. */
    for (size_t n = 1; n < 300; n += 37) {
        FILE *f = fopen(path, "w");
        for (size_t i = 0; i < n; i++)
            fputc((int)(i * 7 + n), f);
        fclose(f);
        assert_int_equal(osp_part_open(path, &p), OSP_ECORRUPT);
    }
    unlink(path);
    assert_int_equal(osp_part_open(path, &p), OSP_EIO);
    osp_span_batch_cleanup(&out);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

/* Bytes per span on a realistic batch (printed, not asserted). */
static void test_bytes_per_span(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("part");
    osp_span_batch b;
    make_batch(&b, 8, 3000);
    size_t raw = 0;
    for (size_t i = 0; i < b.nspans; i++)
        raw += b.spans[i].attributes.n + b.spans[i].events.n + b.spans[i].links.n +
               b.spans[i].name.n + 16 + 8 + 8 + 8 + 8;
    uint64_t bytes = write_part(dir, "a.part", &b, 1);
    printf("part: %zu spans, %llu bytes, %.1f bytes/span (canonical rows %.1f bytes/span)\n",
           b.nspans, (unsigned long long)bytes, (double)bytes / (double)b.nspans,
           (double)raw / (double)b.nspans);
    osp_span_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_granules_and_trace_lookup),
        cmocka_unit_test(test_trace_without_detail_blocks),
        cmocka_unit_test(test_cursor_copy),
        cmocka_unit_test(test_bloom),
        cmocka_unit_test(test_dictionaries_and_catalogue),
        cmocka_unit_test(test_search_predicates),
        cmocka_unit_test(test_writer_rejects_unsorted_and_abort),
        cmocka_unit_test(test_empty_part),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_bytes_per_span),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
