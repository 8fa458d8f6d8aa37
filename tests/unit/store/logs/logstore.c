/* Tests for the embedded log store (src/store/logs/logstore*.c): appends read back exactly
 * through scan and select, in memory, from parts, after restarts and crashes, merges,
 * retention and corruption; the stream catalogue; the engine wiring in store.h. */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "model/logstream.h"
#include "store/logs/logstore.h"
#include "store/logs/logstore_int.h"
#include "store/store.h"
#include "store/storetest.h"

#include "loggen.h"

#define NGEN 20000 /* records of the generated dataset: more than two granules per part */

static osp_logstore *open_at(const char *dir, size_t memtable_bytes, uint64_t retention_ns)
{
    osp_logstore_options opt = {.dir = dir,
                                .fsync_policy = OSP_FSYNC_NEVER,
                                .memtable_bytes = memtable_bytes ? memtable_bytes : (1u << 30),
                                .max_pending_bytes = (size_t)4 << 30,
                                .retention_ns = retention_ns};
    osp_logstore *s = NULL;
    assert_int_equal(osp_logstore_open(&opt, &s), 0);
    return s;
}

/* Appends records [from, to) of b in batches of `step` (copies keep b's resources). */
static void append_range(osp_logstore *s, const osp_log_batch *b, size_t from, size_t to,
                         size_t step)
{
    for (size_t i = from; i < to; i += step) {
        osp_log_batch part = *b;
        part.records = b->records + i;
        part.nrecords = i + step < to ? step : to - i;
        assert_int_equal(osp_logstore_append(s, &part), 0);
    }
}

/* The generated record a result is (its number is in its trace id). */
static size_t gen_index(const osp_log_record *r)
{
    uint32_t id;
    memcpy(&id, r->trace_id, sizeof id);
    return (size_t)id - 1;
}

/* ---- Queries and their expected answers ------------------------------------------------ */

typedef struct query_case {
    osp_label_matcher m[2];
    size_t n;
    uint64_t start, end; /* offsets from LG_DAY0; end 0 = unbounded */
    const char *needle;
    int by_trace; /* filter on the trace id (1) or span id (2) of record 777 */
} query_case;

static const query_case cases[] = {
    {{{OSP_MATCH_EQ, OSP_STR_LIT("service_name"), OSP_STR_LIT("checkout")}}, 1, 0, 0, NULL, 0},
    {{{OSP_MATCH_NEQ, OSP_STR_LIT("service_name"), OSP_STR_LIT("checkout")},
      {OSP_MATCH_RE, OSP_STR_LIT("k8s_pod_name"), OSP_STR_LIT("payments-.*|gateway-1")}},
     2,
     0,
     0,
     NULL,
     0},
    {{{OSP_MATCH_RE, OSP_STR_LIT("service_name"), OSP_STR_LIT(".+")},
      {OSP_MATCH_NRE, OSP_STR_LIT("k8s_pod_name"), OSP_STR_LIT("search-.*")}},
     2,
     2000000000ull,
     5000000000ull,
     NULL,
     0},
    {{{OSP_MATCH_EQ, OSP_STR_LIT("service_name"), OSP_STR_LIT("gateway")}},
     1,
     0,
     0,
     "status=500",
     0},
    /* A needle that starts and ends inside tokens ("items", "1234..."). */
    {{{OSP_MATCH_RE, OSP_STR_LIT("service_name"), OSP_STR_LIT(".+")}}, 1, 0, 0, "tems/123", 0},
    {{{OSP_MATCH_RE, OSP_STR_LIT("service_name"), OSP_STR_LIT(".+")}}, 1, 0, 0, NULL, 1},
    {{{OSP_MATCH_RE, OSP_STR_LIT("service_name"), OSP_STR_LIT(".+")}}, 1, 0, 0, NULL, 2},
    {{{OSP_MATCH_EQ, OSP_STR_LIT("service_name"), OSP_STR_LIT("nope")}}, 1, 0, 0, NULL, 0},
};
#define NCASES (sizeof cases / sizeof cases[0])

static const char *res_attr(const osp_log_batch *b, const osp_log_record *r, const char *key,
                            char *out)
{
    osp_value v;
    out[0] = 0;
    if (osp_attr_find(b->resources[r->resource].attributes, osp_str_c(key), &v) == 1)
        snprintf(out, 64, "%.*s", (int)v.s.n, v.s.p);
    return out;
}

/* Whether generated record i answers case c (written out by hand, independent of the
 * store's matchers). */
static int expected(const query_case *c, const osp_log_batch *g, size_t i)
{
    const osp_log_record *r = &g->records[i];
    char svc[64], pod[64];
    osp_str line;
    osp_buf scratch;
    res_attr(g, r, "service.name", svc);
    res_attr(g, r, "k8s.pod.name", pod);
    uint64_t t = osp_log_time(r) - LG_DAY0;
    int ok;
    switch (c - cases) {
    case 0:
        ok = !strcmp(svc, "checkout");
        break;
    case 1:
        ok =
            strcmp(svc, "checkout") && (!strncmp(pod, "payments-", 9) || !strcmp(pod, "gateway-1"));
        break;
    case 2:
        ok = strncmp(pod, "search-", 7) != 0;
        break;
    case 3:
        ok = !strcmp(svc, "gateway");
        break;
    case 7:
        ok = 0;
        break;
    default:
        ok = 1;
    }
    if (c->by_trace)
        ok = ok && i == 777;
    if (!ok || t < c->start || (c->end && t >= c->end))
        return 0;
    osp_buf_init(&scratch, 0);
    assert_int_equal(osp_log_line(r, &scratch, &line), 0);
    ok = !c->needle || memmem(line.p, line.n, c->needle, strlen(c->needle));
    osp_buf_cleanup(&scratch);
    return ok;
}

static void make_query(const query_case *c, const osp_log_batch *g, osp_log_query *q,
                       osp_str *needle)
{
    memset(q, 0, sizeof *q);
    q->m = c->m;
    q->n = c->n;
    q->start_ns = LG_DAY0 + c->start;
    q->end_ns = c->end ? LG_DAY0 + c->end : 0;
    if (c->needle) {
        *needle = osp_str_c(c->needle);
        q->needles = needle;
        q->nneedles = 1;
    }
    if (c->by_trace == 1)
        q->trace_id = g->records[777].trace_id;
    if (c->by_trace == 2)
        q->span_id = g->records[777].span_id;
}

typedef struct scan_check {
    osp_logstore *s;
    const osp_log_batch *g;
    uint8_t *seen; /* times each generated record came back */
    size_t n;
} scan_check;

/* Each result must be a generated record, exactly, under its own stream labels. */
static int check_view(const osp_log_view *v, void *ctx)
{
    scan_check *sc = ctx;
    const osp_log_record *r = &v->batch->records[v->index];
    size_t i = gen_index(r);
    char svc[64], pod[64];
    osp_arena arena;
    osp_label *labels;
    size_t n;
    assert_true(i < sc->g->nrecords);
    assert_true(osp_log_record_equal(sc->g, i, v->batch, v->index));
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(osp_logstore_stream_labels(sc->s, v->stream, &arena, &labels, &n), 0);
    assert_int_equal(n, 2);
    assert_true(osp_str_eqz(labels[0].name, "k8s_pod_name"));
    assert_true(
        osp_str_eqz(labels[0].value, res_attr(sc->g, &sc->g->records[i], "k8s.pod.name", pod)));
    assert_true(osp_str_eqz(labels[1].name, "service_name"));
    assert_true(
        osp_str_eqz(labels[1].value, res_attr(sc->g, &sc->g->records[i], "service.name", svc)));
    osp_arena_cleanup(&arena);
    sc->seen[i]++;
    sc->n++;
    return 0;
}

/* Scan must return each expected record `copies` times and nothing else. */
static void check_scan(osp_logstore *s, const osp_log_batch *g, const query_case *c, int copies)
{
    osp_log_query q;
    osp_str needle;
    scan_check sc = {s, g, calloc(g->nrecords, 1), 0};
    make_query(c, g, &q, &needle);
    assert_int_equal(osp_logstore_scan(s, &q, check_view, &sc), 0);
    size_t want = 0;
    for (size_t i = 0; i < g->nrecords; i++) {
        int e = expected(c, g, i);
        want += (size_t)e;
        if (sc.seen[i] != (e ? copies : 0))
            fail_msg("case %zu: record %zu came back %d times, want %d", (size_t)(c - cases), i,
                     sc.seen[i], e ? copies : 0);
    }
    assert_int_equal(sc.n, want * (size_t)copies);
    free(sc.seen);
}

static int cmp_u64_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

static int keep_errors(const osp_log_view *v, void *ctx)
{
    (void)ctx;
    return v->batch->records[v->index].severity_number == OSP_SEVERITY_ERROR;
}

/* Select returns the `limit` newest (oldest) expected records in order. */
static void check_select(osp_logstore *s, const osp_log_batch *g, const query_case *c, int forward,
                         size_t limit, int errors_only)
{
    osp_log_query q;
    osp_str needle;
    osp_log_batch out;
    uint64_t *streams = NULL, *want = malloc((g->nrecords + 1) * sizeof *want);
    size_t nwant = 0;
    make_query(c, g, &q, &needle);
    q.forward = forward;
    q.limit = limit;
    for (size_t i = 0; i < g->nrecords; i++)
        if (expected(c, g, i) &&
            (!errors_only || g->records[i].severity_number == OSP_SEVERITY_ERROR))
            want[nwant++] = osp_log_time(&g->records[i]);
    qsort(want, nwant, sizeof *want, cmp_u64_desc);
    if (forward)
        for (size_t i = 0; i < nwant / 2; i++) {
            uint64_t t = want[i];
            want[i] = want[nwant - 1 - i];
            want[nwant - 1 - i] = t;
        }
    osp_log_batch_init(&out);
    assert_int_equal(
        osp_logstore_select(s, &q, errors_only ? keep_errors : NULL, NULL, &out, &streams), 0);
    assert_int_equal(out.nrecords, nwant < limit ? nwant : limit);
    scan_check sc = {s, g, calloc(g->nrecords, 1), 0};
    for (size_t i = 0; i < out.nrecords; i++) {
        assert_int_equal(osp_log_time(&out.records[i]), want[i]);
        osp_log_view v = {.stream = streams[i], .batch = &out, .index = i};
        check_view(&v, &sc);
        assert_int_equal(sc.seen[gen_index(&out.records[i])], 1);
    }
    free(sc.seen);
    free(want);
    osp_log_batch_cleanup(&out);
}

/* Every query case through scan and select. */
/* (stream, time) of each record a scan passes. */
typedef struct pairs {
    uint64_t *v; /* stream, time, stream, time, ... */
    size_t n, cap;
    int digest;      /* add up fields_sum */
    uint64_t fields; /* with digest: the sum of every record's fields but its body */
    size_t lines;    /* records with a line */
    uint64_t sizes;  /* of the views */
    uint64_t stored; /* of the records' lines as parts count them (a string body's text,
                        any other body's bytes) */
} pairs;

/* A digest of the fields of r but its body. */
static uint64_t fields_digest(const osp_log_record *r)
{
    uint64_t h = 1469598103934665603u;
    const uint8_t *ids = r->trace_id;
    for (size_t i = 0; i < r->attributes.n; i++)
        h = (h ^ (uint8_t)r->attributes.p[i]) * 1099511628211u;
    for (size_t i = 0; i < sizeof r->trace_id; i++)
        h = (h ^ ids[i]) * 1099511628211u;
    return h ^ ((uint64_t)r->severity_number << 40) ^ r->observed_ns ^ r->span_id[0];
}

static int collect_pair(const osp_log_view *v, void *ctx)
{
    pairs *p = ctx;
    const osp_log_record *r = &v->batch->records[v->index];
    if (p->n + 2 > p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1024;
        p->v = realloc(p->v, p->cap * sizeof *p->v);
        assert_non_null(p->v);
    }
    p->v[p->n++] = v->stream;
    p->v[p->n++] = osp_log_time(r);
    if (p->digest)
        p->fields += fields_digest(r);
    p->lines += v->line.n > 0;
    if (v->line.n)
        assert_int_equal(v->size, v->line.n);
    p->sizes += v->size;
    p->stored += lg_stored_line_bytes(r);
    return 0;
}

static int cmp_pair(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

static void assert_same_pairs(pairs *a, pairs *b)
{
    assert_int_equal(a->n, b->n);
    if (a->n) {
        qsort(a->v, a->n / 2, 2 * sizeof *a->v, cmp_pair);
        qsort(b->v, b->n / 2, 2 * sizeof *b->v, cmp_pair);
        assert_memory_equal(a->v, b->v, a->n * sizeof *a->v);
    }
}

/* A times_only scan passes the same streams and times as a full one; a no_lines scan
 * passes the same records, with no lines where they come from parts. Asked for sizes,
 * where they read every row of the streams they select from parts, their sizes add up to
 * the lines'; not asked, a times_only scan gives none. */
static void check_times_scan(osp_logstore *s, const osp_log_batch *g, const query_case *c)
{
    osp_log_query q;
    osp_str needle;
    osp_logstore_stats st;
    pairs full = {.digest = 1}, times = {0}, bare = {.digest = 1}, unsized = {0};
    osp_logstore_get_stats(s, &st); /* no buffered records now: none later either (flushes
                                       running meanwhile only move them into parts) */
    make_query(c, g, &q, &needle);
    assert_int_equal(osp_logstore_scan(s, &q, collect_pair, &full), 0);
    q.times_only = 1;
    assert_int_equal(osp_logstore_scan(s, &q, collect_pair, &unsized), 0);
    q.sizes = 1;
    assert_int_equal(osp_logstore_scan(s, &q, collect_pair, &times), 0);
    assert_same_pairs(&full, &times);
    q.times_only = 0;
    q.no_lines = 1;
    assert_int_equal(osp_logstore_scan(s, &q, collect_pair, &bare), 0);
    assert_same_pairs(&full, &bare);
    assert_true(full.fields == bare.fields);
    if (st.buffered == 0 && !q.nneedles) /* every record from a part */
        assert_int_equal(bare.lines, 0);
    else /* buffers may keep them */
        assert_true(bare.lines <= full.lines);
    if (st.buffered == 0 && !c->start && !c->end && !c->needle && !c->by_trace) {
        assert_int_equal(times.sizes, full.stored);
        assert_int_equal(bare.sizes, full.stored);
    }
    if (st.buffered == 0 && !q.nneedles && !q.trace_id && !q.span_id)
        assert_int_equal(unsized.sizes, 0);
    free(unsized.v);
    free(full.v);
    free(times.v);
    free(bare.v);
}

/* Slices of time of a width for alike_until: [LG_DAY0 + k w, LG_DAY0 + (k + 1) w). */
typedef struct slicing {
    uint64_t width;
    pairs got;    /* (stream, slice) for each record the views stand for */
    size_t views; /* views passed */
} slicing;

static uint64_t slice_until(uint64_t t_ns, void *ctx)
{
    const slicing *sl = ctx;
    return LG_DAY0 + ((t_ns - LG_DAY0) / sl->width + 1) * sl->width - 1;
}

static int collect_sliced(const osp_log_view *v, void *ctx)
{
    slicing *sl = ctx;
    uint64_t t = osp_log_time(&v->batch->records[v->index]);
    for (uint32_t k = 0; k <= v->more; k++) {
        if (sl->got.n + 2 > sl->got.cap) {
            sl->got.cap = sl->got.cap ? 2 * sl->got.cap : 1024;
            sl->got.v = realloc(sl->got.v, sl->got.cap * sizeof *sl->got.v);
            assert_non_null(sl->got.v);
        }
        sl->got.v[sl->got.n++] = v->stream;
        sl->got.v[sl->got.n++] = (t - LG_DAY0) / sl->width;
    }
    sl->got.sizes += v->size;
    sl->views++;
    return 0;
}

/* A times_only scan whose caller counts per slice of time (alike_until) passes, through
 * views that may stand for several records of a stream in one slice, as many records of
 * each stream in each slice as a full scan, with the same sizes in all. Slices wider than
 * the data let whole granules go by their stream runs alone. */
static void check_sliced_scan(osp_logstore *s, const osp_log_batch *g, const query_case *c)
{
    static const uint64_t widths[] = {1, 50000000ull, 86400000000000ull};
    osp_log_query q;
    osp_str needle;
    pairs full = {0};
    osp_logstore_stats st;
    osp_logstore_get_stats(s, &st);
    make_query(c, g, &q, &needle);
    q.times_only = q.sizes = 1;
    assert_int_equal(osp_logstore_scan(s, &q, collect_pair, &full), 0);
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        slicing sl = {.width = widths[w]};
        pairs want = {.n = full.n, .v = malloc((full.n + 1) * sizeof *full.v)};
        assert_non_null(want.v);
        for (size_t i = 0; i < full.n; i += 2) {
            want.v[i] = full.v[i];
            want.v[i + 1] = (full.v[i + 1] - LG_DAY0) / sl.width;
        }
        q.alike_until = slice_until;
        q.alike_ctx = &sl;
        assert_int_equal(osp_logstore_scan(s, &q, collect_sliced, &sl), 0);
        assert_same_pairs(&want, &sl.got);
        assert_int_equal(sl.got.sizes, full.sizes);
        if (w == 0 || full.n == 0)
            assert_true(sl.views <= full.n / 2);
        else if (st.buffered == 0 && !q.nneedles && !q.trace_id && !q.span_id)
            assert_true(sl.views < full.n / 2); /* some views stand for several records */
        free(want.v);
        free(sl.got.v);
    }
    free(full.v);
}

static void check_all(osp_logstore *s, const osp_log_batch *g)
{
    for (size_t c = 0; c < NCASES; c++) {
        check_scan(s, g, &cases[c], 1);
        check_times_scan(s, g, &cases[c]);
        check_sliced_scan(s, g, &cases[c]);
        check_select(s, g, &cases[c], 0, 50, 0);
        check_select(s, g, &cases[c], 1, 7, 0);
    }
    check_select(s, g, &cases[0], 0, 25, 1);
    check_select(s, g, &cases[2], 1, 3000, 0); /* more than a granule */
}

static osp_log_batch gen;

static int setup(void **state)
{
    osp_log_set_level(OSP_LOG_ERROR + 1);
    osp_log_batch_init(&gen);
    lg_generate(&gen, NGEN, LG_DAY0, 42);
    return 0;
}

static int teardown(void **state)
{
    osp_log_batch_cleanup(&gen);
    return 0;
}

/* ---- Tests ------------------------------------------------------------------------------ */

static void test_memory_parts_and_reopen(void **state)
{
    char *dir = osp_test_tmpdir("logstore");
    osp_logstore *s = open_at(dir, 0, 0);
    osp_logstore_stats st;
    append_range(s, &gen, 0, NGEN, 700);
    check_all(s, &gen); /* from the buffer */
    assert_int_equal(osp_logstore_flush(s), 0);
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.nparts, 1);
    assert_int_equal(st.nrecords, NGEN);
    assert_int_equal(st.buffered, 0);
    assert_int_equal(st.nstreams, 12);
    check_all(s, &gen); /* from a part */
    osp_logstore_close(s);
    s = open_at(dir, 0, 0);
    check_all(s, &gen); /* after a restart: the stream index rebuilt from the part */
    osp_logstore_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_flush_on_size_and_mixed_sources(void **state)
{
    char *dir = osp_test_tmpdir("logstore");
    osp_logstore *s = open_at(dir, 1 << 20, 0); /* the flusher writes parts as we go */
    osp_logstore_stats st;
    for (size_t quarter = 1; quarter <= 2; quarter++) {
        append_range(s, &gen, (quarter - 1) * NGEN / 4, quarter * NGEN / 4, 500);
        for (int i = 0; i < 500; i++) {
            osp_logstore_get_stats(s, &st);
            if (st.nparts >= quarter)
                break;
            usleep(20000);
        }
        assert_true(st.nparts >= quarter);
    }
    append_range(s, &gen, NGEN / 2, NGEN, 500);
    check_all(s, &gen); /* parts and buffers together */
    osp_logstore_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_crash_recovery(void **state)
{
    char *dir = osp_test_tmpdir("logstore"), crashed[4200];
    osp_logstore *s = open_at(dir, 0, 0);
    osp_logstore_stats st;
    append_range(s, &gen, 0, NGEN / 2, 1000);
    assert_int_equal(osp_logstore_flush(s), 0);
    append_range(s, &gen, NGEN / 2, NGEN, 1000);
    /* A copy taken while open is what a crash leaves: parts plus the WAL of the rest. */
    snprintf(crashed, sizeof crashed, "%s-crashed", dir);
    osp_test_run("cp -a '%s' '%s'", dir, crashed);
    osp_logstore_close(s);
    s = open_at(crashed, 0, 0);
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.nrecords, NGEN / 2);
    assert_int_equal(st.buffered, NGEN / 2);
    check_all(s, &gen); /* no loss, no duplicates */
    osp_logstore_close(s);
    osp_test_run("rm -rf '%s'", crashed);
    osp_test_rmdir(dir);
    free(dir);

    /* A torn tail: the last record (1000 log records) was never acknowledged. */
    dir = osp_test_tmpdir("logstore");
    s = open_at(dir, 0, 0);
    append_range(s, &gen, 0, 3000, 1000);
    snprintf(crashed, sizeof crashed, "%s-torn", dir);
    osp_test_run("cp -a '%s' '%s'", dir, crashed);
    osp_logstore_close(s);
    osp_test_run("f=$(ls '%s'/wal/*.wal | tail -n 1); truncate -s -7 \"$f\"", crashed);
    s = open_at(crashed, 0, 0);
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.buffered, 2000);
    osp_logstore_close(s);
    osp_test_run("rm -rf '%s'", crashed);
    osp_test_rmdir(dir);
    free(dir);
}

/* Counts the files under dir/<day> directories that end in .part. */
static int count_parts(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls '%s'/2*/*.part 2>/dev/null | wc -l", dir);
    FILE *f = popen(cmd, "r");
    int n = -1;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &n), 1);
    pclose(f);
    return n;
}

static void test_merge_and_duplicates(void **state)
{
    char *dir = osp_test_tmpdir("logstore"), saved[4200];
    osp_logstore *s = open_at(dir, 0, 0);
    osp_logstore_stats st;
    /* Ten flushes; the first batch is appended twice (a client retry), in two parts. */
    append_range(s, &gen, 0, 2000, 500);
    assert_int_equal(osp_logstore_flush(s), 0);
    for (size_t k = 0; k < 9; k++) {
        size_t from = k * 2000;
        append_range(s, &gen, from, from + 2000 + (k == 8 ? 2000 : 0), 500);
        assert_int_equal(osp_logstore_flush(s), 0);
    }
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.nparts, 10);
    assert_int_equal(st.nrecords, NGEN + 2000);
    snprintf(saved, sizeof saved, "%s-saved", dir);
    osp_test_run("mkdir '%s' && cp -a '%s'/2* '%s'/", saved, dir, saved);

    assert_int_equal(osp_logstore_maintain(s, LG_DAY0 + LG_NS_PER_DAY), 0);
    osp_logstore_get_stats(s, &st);
    assert_true(st.nparts < 10);
    assert_int_equal(st.merges, 1);
    assert_int_equal(st.nrecords, NGEN); /* the duplicates are gone */
    check_all(s, &gen);
    osp_logstore_close(s);
    assert_int_equal(count_parts(dir), (int)st.nparts);

    /* A crash between the merge's publish and the unlinks: the inputs come back, and open
     * removes them again. */
    osp_test_run("cp -a '%s'/2* '%s'/", saved, dir);
    s = open_at(dir, 0, 0);
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.nrecords, NGEN);
    check_all(s, &gen);
    osp_logstore_close(s);
    osp_test_run("rm -rf '%s'", saved);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_retention(void **state)
{
    char *dir = osp_test_tmpdir("logstore");
    uint64_t now = LG_DAY0 + 10 * LG_NS_PER_DAY;
    osp_logstore *s = open_at(dir, 0, 3 * LG_NS_PER_DAY);
    osp_log_batch old;
    osp_logstore_stats st;
    osp_log_batch_init(&old);
    lg_generate(&old, 300, LG_DAY0 + 2 * LG_NS_PER_DAY, 3); /* day 2: expired at day 10 */
    for (size_t i = 0; i < old.nrecords; i++)
        old.records[i].trace_id[15] = 0x77;
    assert_int_equal(osp_logstore_append(s, &old), 0);
    append_range(s, &gen, 0, 500, 500); /* day 0: expired too */
    osp_log_batch fresh;
    osp_log_batch_init(&fresh);
    lg_generate(&fresh, 400, LG_DAY0 + 9 * LG_NS_PER_DAY, 5);
    assert_int_equal(osp_logstore_append(s, &fresh), 0);
    assert_int_equal(osp_logstore_flush(s), 0);
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.nparts, 3);
    assert_int_equal(osp_logstore_maintain(s, now), 0);
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.nparts, 1);
    assert_int_equal(st.nrecords, 400);
    check_scan(s, &fresh, &cases[0], 1);
    osp_logstore_close(s);
    assert_int_equal(count_parts(dir), 1);
    osp_log_batch_cleanup(&old);
    osp_log_batch_cleanup(&fresh);
    osp_test_rmdir(dir);
    free(dir);
}

/* The number of streams with records, and whether one of them is service svc's. */
static size_t listed_streams(osp_logstore *s, const char *svc, int *has_svc)
{
    osp_arena arena;
    uint64_t *ids;
    size_t nids, n;
    osp_str *values;
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(osp_logstore_streams(s, NULL, 0, 0, 0, &arena, &ids, &nids), 0);
    assert_int_equal(osp_logstore_label_values(s, OSP_STR_LIT("service_name"), NULL, 0, 0, 0,
                                               &arena, &values, &n),
                     0);
    *has_svc = 0;
    for (size_t i = 0; i < n; i++)
        *has_svc |= osp_str_eqz(values[i], svc);
    osp_arena_cleanup(&arena);
    return nids;
}

/* The id of the one stream of service svc (UINT64_MAX: none). */
static uint64_t stream_of(osp_logstore *s, const char *svc)
{
    osp_arena arena;
    uint64_t *ids, id = UINT64_MAX;
    size_t nids;
    osp_label_matcher m = {OSP_MATCH_EQ, OSP_STR_LIT("service_name"), osp_str_c(svc)};
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(osp_logstore_streams(s, &m, 1, 0, 0, &arena, &ids, &nids), 0);
    assert_true(nids <= 1);
    if (nids)
        id = ids[0];
    osp_arena_cleanup(&arena);
    return id;
}

/* A stream whose records retention dropped leaves the stream index once its last part has
 * been closed for the grace; one that comes back gets a new id. */
static void test_streams_swept(void **state)
{
    char *dir = osp_test_tmpdir("logstore");
    uint64_t now = osp_clock_ns(CLOCK_REALTIME),
             later = now + OSP__STREAM_SWEEP_GRACE_NS + 60 * (uint64_t)1000000000;
    /* Day 2 is past the retention at both times, day 9 within it. */
    osp_logstore *s = open_at(dir, 0, now - (LG_DAY0 + 5 * LG_NS_PER_DAY));
    osp_log_batch legacy, fresh;
    osp_logstore_stats st;
    int has;
    osp_log_batch_init(&legacy);
    osp_log_batch_init(&fresh);
    lg_record(&legacy, lg_resource(&legacy, "legacy", "legacy-0"), LG_DAY0 + 2 * LG_NS_PER_DAY,
              "old line");
    lg_generate(&fresh, 400, LG_DAY0 + 9 * LG_NS_PER_DAY, 5);
    osp_log_batch early; /* a stream of the fresh ones that also logged on day 2 */
    osp_log_batch_init(&early);
    lg_record(&early, lg_resource(&early, "checkout", "checkout-0"), LG_DAY0 + 2 * LG_NS_PER_DAY,
              "early line");
    assert_int_equal(osp_logstore_append(s, &legacy), 0);
    assert_int_equal(osp_logstore_append(s, &early), 0);
    assert_int_equal(osp_logstore_append(s, &fresh), 0);
    assert_int_equal(osp_logstore_flush(s), 0);
    size_t nfresh = listed_streams(s, "legacy", &has) - 1;
    uint64_t old_id = stream_of(s, "legacy");
    assert_true(has && old_id != UINT64_MAX);

    osp_arena arena;
    osp_label *labels;
    uint64_t *ids;
    size_t n;
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(osp_logstore_streams(s, NULL, 0, LG_DAY0 + 2 * LG_NS_PER_DAY,
                                          LG_DAY0 + 3 * LG_NS_PER_DAY, &arena, &ids, &n),
                     0);
    assert_int_equal(n, 2);

    /* Retention drops day 2: listings leave it out at once, the index keeps the stream
     * through the grace. */
    assert_int_equal(osp_logstore_maintain(s, now), 0);
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.nparts, 1);
    assert_int_equal(st.nstreams, nfresh + 1);
    assert_int_equal(listed_streams(s, "legacy", &has), nfresh);
    assert_false(has);
    assert_int_equal(osp_logstore_streams(s, NULL, 0, LG_DAY0 + 2 * LG_NS_PER_DAY,
                                          LG_DAY0 + 3 * LG_NS_PER_DAY, &arena, &ids, &n),
                     0);
    assert_int_equal(n, 0);
    assert_int_equal(osp_logstore_stream_labels(s, old_id, &arena, &labels, &n), 0);

    assert_int_equal(osp_logstore_maintain(s, later), 0);
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.nstreams, nfresh);
    assert_int_equal(listed_streams(s, "legacy", &has), nfresh);
    assert_false(has);
    assert_int_equal(stream_of(s, "legacy"), UINT64_MAX);
    assert_int_equal(osp_logstore_stream_labels(s, old_id, &arena, &labels, &n), OSP_ENOTFOUND);
    check_scan(s, &fresh, &cases[0], 1);

    /* The service logs again: a new stream, read back with its labels. */
    legacy.records[0].time_ns = LG_DAY0 + 9 * LG_NS_PER_DAY;
    assert_int_equal(osp_logstore_append(s, &legacy), 0);
    uint64_t new_id = stream_of(s, "legacy");
    assert_true(new_id != UINT64_MAX && new_id != old_id);
    assert_int_equal(osp_logstore_stream_labels(s, new_id, &arena, &labels, &n), 0);
    assert_true(osp_str_eqz(labels[1].value, "legacy"));
    assert_int_equal(osp_logstore_maintain(s, later), 0); /* buffered: it stays */
    assert_int_equal(osp_logstore_flush(s), 0);
    assert_int_equal(stream_of(s, "legacy"), new_id);
    osp_logstore_close(s);

    s = open_at(dir, 0, now - (LG_DAY0 + 5 * LG_NS_PER_DAY));
    assert_int_equal(listed_streams(s, "legacy", &has), nfresh + 1);
    assert_true(has);
    osp_logstore_close(s);
    osp_arena_cleanup(&arena);
    osp_log_batch_cleanup(&legacy);
    osp_log_batch_cleanup(&early);
    osp_log_batch_cleanup(&fresh);
    osp_test_rmdir(dir);
    free(dir);
}

/* Flips one byte of a file at offset off. */
static void flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    uint8_t c;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* The path of the first part file in dir (sorted by name). */
static void first_part(const char *dir, char *out, size_t n)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls '%s'/2*/*.part | head -n 1", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(out, (int)n, f));
    out[strcspn(out, "\n")] = 0;
    pclose(f);
}

typedef struct counter {
    size_t n;
} counter;

static int count_view(const osp_log_view *v, void *ctx)
{
    (void)v;
    ((counter *)ctx)->n++;
    return 0;
}

static size_t count_all(osp_logstore *s)
{
    osp_label_matcher m = {OSP_MATCH_RE, OSP_STR_LIT("service_name"), OSP_STR_LIT(".+")};
    osp_log_query q = {.m = &m, .n = 1};
    counter c = {0};
    assert_int_equal(osp_logstore_scan(s, &q, count_view, &c), 0);
    return c.n;
}

static void test_corruption(void **state)
{
    char *dir = osp_test_tmpdir("logstore"), path[4400], cmd[4400];
    osp_logstore *s = open_at(dir, 0, 0);
    osp_logstore_stats st;
    append_range(s, &gen, 0, 1000, 500);
    assert_int_equal(osp_logstore_flush(s), 0);
    append_range(s, &gen, 1000, 3000, 500);
    assert_int_equal(osp_logstore_flush(s), 0);
    first_part(dir, path, sizeof path);
    flip_byte(path, 40);                  /* inside the first granule's first column block */
    assert_int_equal(count_all(s), 2000); /* the other part still answers */
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.quarantined, 1);
    assert_int_equal(st.nparts, 1);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(count_all(s), 2000);
    osp_logstore_close(s);

    /* Garbage as a part and a leftover temporary file at open. */
    snprintf(cmd, sizeof cmd, "%s/20260101/00000000000000ff.part", dir);
    osp_test_run("head -c 5000 /dev/urandom > '%s'", cmd);
    osp_test_run("echo partial > '%s/20260101/0000000000000100.part.tmp'", dir);
    s = open_at(dir, 0, 0);
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.quarantined, 1);
    assert_int_equal(st.nparts, 1);
    assert_int_equal(count_all(s), 2000);
    osp_logstore_close(s);
    osp_test_run("test ! -e '%s/20260101/0000000000000100.part.tmp'", dir);
    osp_test_run("test $(ls '%s/quarantine' | wc -l) -eq 2", dir);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_catalogue(void **state)
{
    char *dir = osp_test_tmpdir("logstore");
    osp_logstore *s = open_at(dir, 0, 0);
    osp_arena arena;
    uint64_t *ids;
    size_t nids, n;
    osp_str *names;
    osp_label *labels;
    osp_label_matcher pay = {OSP_MATCH_EQ, OSP_STR_LIT("service_name"), OSP_STR_LIT("payments")};
    osp_arena_init(&arena, 0, 0);
    append_range(s, &gen, 0, 1000, 1000);
    osp_log_batch late;
    osp_log_batch_init(&late);
    lg_resource(&late, "billing", "billing-0");
    lg_record(&late, 0, LG_DAY0 + 3600000000000ull, "late line");
    assert_int_equal(osp_logstore_append(s, &late), 0);
    for (int round = 0; round < 2; round++) { /* from memory, then from parts */
        assert_int_equal(osp_logstore_streams(s, NULL, 0, 0, 0, &arena, &ids, &nids), 0);
        assert_int_equal(nids, 13);
        for (size_t i = 1; i < nids; i++)
            assert_true(ids[i - 1] < ids[i]);
        assert_int_equal(osp_logstore_streams(s, &pay, 1, 0, 0, &arena, &ids, &nids), 0);
        assert_int_equal(nids, 3);
        /* Only billing has records an hour in. */
        assert_int_equal(
            osp_logstore_streams(s, NULL, 0, LG_DAY0 + 1800000000000ull, 0, &arena, &ids, &nids),
            0);
        assert_int_equal(nids, 1);
        assert_int_equal(osp_logstore_stream_labels(s, ids[0], &arena, &labels, &n), 0);
        assert_true(osp_str_eqz(labels[1].value, "billing"));
        assert_int_equal(osp_logstore_streams(s, NULL, 0, LG_DAY0, LG_DAY0 + 1800000000000ull,
                                              &arena, &ids, &nids),
                         0);
        assert_int_equal(nids, 12);
        assert_int_equal(osp_logstore_label_names(s, NULL, 0, 0, 0, &arena, &names, &n), 0);
        assert_int_equal(n, 2);
        assert_true(osp_str_eqz(names[0], "k8s_pod_name") && osp_str_eqz(names[1], "service_name"));
        assert_int_equal(osp_logstore_label_values(s, OSP_STR_LIT("service_name"), NULL, 0, 0, 0,
                                                   &arena, &names, &n),
                         0);
        assert_int_equal(n, 5);
        assert_true(osp_str_eqz(names[0], "billing") && osp_str_eqz(names[4], "search"));
        assert_int_equal(osp_logstore_label_values(s, OSP_STR_LIT("k8s_pod_name"), &pay, 1, 0, 0,
                                                   &arena, &names, &n),
                         0);
        assert_int_equal(n, 3);
        assert_true(osp_str_eqz(names[0], "payments-0") && osp_str_eqz(names[2], "payments-2"));
        assert_int_equal(osp_logstore_stream_labels(s, 999, &arena, &labels, &n), OSP_ENOTFOUND);
        assert_int_equal(osp_logstore_flush(s), 0);
    }
    osp_log_batch_cleanup(&late);
    osp_arena_cleanup(&arena);
    osp_logstore_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_errors(void **state)
{
    char *dir = osp_test_tmpdir("logstore");
    osp_logstore *s = open_at(dir, 0, 0);
    osp_log_query q = {0};
    osp_label_matcher bad = {OSP_MATCH_RE, OSP_STR_LIT("service_name"), OSP_STR_LIT("(")};
    osp_log_batch b;
    counter c = {0};
    assert_int_equal(osp_logstore_scan(s, &q, count_view, &c), OSP_EINVAL);
    q.m = &bad;
    q.n = 1;
    assert_int_equal(osp_logstore_scan(s, &q, count_view, &c), OSP_EPARSE);
    osp_log_batch_init(&b);
    lg_record(&b, lg_resource(&b, "a", "b"), 1, "x");
    b.records[0].resource = 5;
    assert_int_equal(osp_logstore_append(s, &b), OSP_EINVAL);
    osp_log_batch_cleanup(&b);
    osp_logstore_close(s);
    osp_test_rmdir(dir);
    free(dir);

    /* Over max_pending_bytes while flushes fail (a file stands where the partition
     * directory would go): busy, and nothing is lost once the way is clear. */
    dir = osp_test_tmpdir("logstore");
    osp_logstore_options opt = {.dir = dir,
                                .fsync_policy = OSP_FSYNC_NEVER,
                                .memtable_bytes = 1 << 30,
                                .max_pending_bytes = 256 << 10};
    assert_int_equal(osp_logstore_open(&opt, &s), 0);
    osp_test_run("touch '%s/20260101'", dir);
    int rc = 0;
    size_t appended = 0;
    for (size_t i = 0; i < NGEN && rc == 0; i += 100) {
        osp_log_batch part = gen;
        part.records = gen.records + i;
        part.nrecords = 100;
        if ((rc = osp_logstore_append(s, &part)) == 0)
            appended = i + 100;
    }
    assert_int_equal(rc, OSP_EBUSY);
    assert_int_not_equal(osp_logstore_flush(s), 0);
    osp_test_run("rm '%s/20260101'", dir);
    assert_int_equal(osp_logstore_flush(s), 0);
    assert_int_equal(count_all(s), appended);
    osp_logstore_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

/* While a day holds more parts awaiting merges than max_merge_backlog, the flusher leaves
 * a full buffer be and appends get busy; once a merge catches up it flushes again, and
 * nothing is lost. (The store merges only when maintained: here, by the test.) */
static void test_flushes_wait_for_merges(void **state)
{
    char *dir = osp_test_tmpdir("logstore");
    osp_logstore_options opt = {.dir = dir,
                                .fsync_policy = OSP_FSYNC_NEVER,
                                .memtable_bytes = 64 << 10,
                                .max_pending_bytes = 256 << 10,
                                .max_merge_backlog = 8};
    osp_logstore *s = NULL;
    osp_logstore_stats st;
    assert_int_equal(osp_logstore_open(&opt, &s), 0);
    for (size_t k = 0; k < 9; k++) { /* one part more than the bound; flushing is explicit */
        append_range(s, &gen, k * 100, k * 100 + 100, 100);
        assert_int_equal(osp_logstore_flush(s), 0);
    }
    size_t next = 900;
    int rc = 0;
    for (; next < NGEN && rc == 0; next += 100) {
        osp_log_batch part = gen;
        part.records = gen.records + next;
        part.nrecords = 100;
        rc = osp_logstore_append(s, &part);
    }
    next -= 100; /* the batch refused */
    assert_int_equal(rc, OSP_EBUSY);
    sleep(3); /* the flusher has looked twice and more, and left the buffer be */
    osp_log_batch refused = gen;
    refused.records = gen.records + next;
    refused.nrecords = 100;
    assert_int_equal(osp_logstore_append(s, &refused), OSP_EBUSY);
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.nparts, 9);
    assert_true(st.buffered == next - 900);

    assert_int_equal(osp_logstore_maintain(s, LG_DAY0 + LG_NS_PER_DAY), 0);
    for (int tries = 0; tries < 500; tries++) { /* the flusher looks once a second */
        if ((rc = osp_logstore_append(s, &refused)) == 0)
            break;
        assert_int_equal(rc, OSP_EBUSY);
        usleep(10000);
    }
    assert_int_equal(rc, 0);
    next += 100;
    assert_int_equal(osp_logstore_flush(s), 0);
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.merges, 1);
    assert_int_equal(st.nrecords, next);
    assert_int_equal(count_all(s), next);
    osp_logstore_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

typedef struct worker {
    osp_logstore *s;
    size_t from, to;
} worker;

static void *append_worker(void *arg)
{
    worker *w = arg;
    append_range(w->s, &gen, w->from, w->to, 250);
    return NULL;
}

static void *scan_worker(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 20; i++) {
        size_t n = count_all(w->s);
        assert_true(n <= NGEN);
    }
    return NULL;
}

static void test_concurrency(void **state)
{
    char *dir = osp_test_tmpdir("logstore");
    osp_logstore *s = open_at(dir, 256 << 10, 0); /* flushes while we append and read */
    pthread_t t[3];
    worker w[3] = {{s, 0, NGEN / 2}, {s, NGEN / 2, NGEN}, {s, 0, 0}};
    pthread_create(&t[0], NULL, append_worker, &w[0]);
    pthread_create(&t[1], NULL, append_worker, &w[1]);
    pthread_create(&t[2], NULL, scan_worker, &w[2]);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(count_all(s), NGEN);
    assert_int_equal(osp_logstore_maintain(s, LG_DAY0), 0);
    check_all(s, &gen);
    osp_logstore_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

/* The embedded engine serves logs through store.h, in DATA/logs. */
static osp_logstore *sweep_target;
static uint64_t sweep_at;

/* The resolve hook: sweeps once, between an append's resolving and its locking. */
static void sweep_now(osp_logstore *s)
{
    osp__logstore_resolved_hook = NULL;
    assert_ptr_equal(s, sweep_target);
    assert_int_equal(osp__logstore_sweep_streams(s, sweep_at), 0);
}

/* A sweep that removes the stream an append has just resolved, before the append takes
 * the lock: the append files its record under the stream made again, so the flush finds
 * its labels. */
static void test_sweep_races_an_append(void **state)
{
    char *dir = osp_test_tmpdir("logstore");
    uint64_t now = osp_clock_ns(CLOCK_REALTIME);
    osp_logstore *s = open_at(dir, 0, now - (LG_DAY0 + 5 * LG_NS_PER_DAY));
    osp_log_batch b;
    osp_logstore_stats st;
    osp_log_batch_init(&b);
    lg_record(&b, lg_resource(&b, "legacy", "legacy-0"), LG_DAY0 + 2 * LG_NS_PER_DAY, "line");
    assert_int_equal(osp_logstore_append(s, &b), 0);
    assert_int_equal(osp_logstore_flush(s), 0);
    uint64_t old_id = stream_of(s, "legacy");
    assert_int_equal(osp_logstore_maintain(s, now), 0); /* its part goes */
    sweep_target = s;
    sweep_at = now + 2 * OSP__STREAM_SWEEP_GRACE_NS;
    osp__logstore_resolved_hook = sweep_now;
    b.records[0].time_ns = LG_DAY0 + 9 * LG_NS_PER_DAY;
    assert_int_equal(osp_logstore_append(s, &b), 0);
    assert_null(osp__logstore_resolved_hook); /* the sweep ran */
    uint64_t new_id = stream_of(s, "legacy");
    assert_true(new_id != UINT64_MAX && new_id != old_id);
    assert_int_equal(osp_logstore_flush(s), 0);
    osp_logstore_get_stats(s, &st);
    assert_int_equal(st.nparts, 1);
    assert_int_equal(st.nstreams, 1);
    osp_logstore_close(s);
    osp_log_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

/* 1 when a thread of this process has the name (/proc/self/task/N/comm). */
static int has_thread(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int found = 0;
    assert_non_null(d);
    while (!found && (e = readdir(d))) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(comm, sizeof comm, f)) {
            comm[strcspn(comm, "\n")] = 0;
            found = strcmp(comm, name) == 0;
        }
        if (f)
            fclose(f);
    }
    closedir(d);
    return found;
}

static void test_engine(void **state)
{
    char *dir = osp_test_tmpdir("logstore"), logs[4200];
    osp_store_options opt = {.data_dir = dir, .fsync_policy = OSP_FSYNC_NEVER};
    osp_store *st;
    osp_label_matcher m = {OSP_MATCH_EQ, OSP_STR_LIT("service_name"), OSP_STR_LIT("search")};
    osp_log_query q = {.m = &m, .n = 1, .limit = 5};
    osp_log_batch out;
    uint64_t *streams;
    osp_arena arena;
    osp_label *labels;
    size_t n;
    assert_int_equal(osp_store_open(&opt, &st), 0);
    /* the engine's threads go by their names (top -H, perf) */
    const char *names[] = {"osp-log-flush", "osp-span-flush", "osp-maintain", "osp-tsdb-flush"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!has_thread(names[i]))
            fail_msg("no thread named %s", names[i]);
    osp_log_batch part = gen;
    part.nrecords = 1000;
    assert_int_equal(osp_store_append_logs(st, &part), 0);
    assert_int_equal(osp_store_flush(st), 0);
    osp_log_batch_init(&out);
    assert_int_equal(osp_store_select_logs(st, &q, NULL, NULL, &out, &streams), 0);
    assert_int_equal(out.nrecords, 5);
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(osp_store_log_stream_labels(st, streams[0], &arena, &labels, &n), 0);
    assert_true(osp_str_eqz(labels[1].value, "search"));
    osp_arena_cleanup(&arena);
    osp_log_batch_cleanup(&out);
    osp_store_close(st);
    snprintf(logs, sizeof logs, "%s/logs", dir);
    assert_int_equal(count_parts(logs), 1);
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_parts_and_reopen),
        cmocka_unit_test(test_flush_on_size_and_mixed_sources),
        cmocka_unit_test(test_crash_recovery),
        cmocka_unit_test(test_merge_and_duplicates),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_streams_swept),
        cmocka_unit_test(test_sweep_races_an_append),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_catalogue),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_flushes_wait_for_merges),
        cmocka_unit_test(test_concurrency),
        cmocka_unit_test(test_engine),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
