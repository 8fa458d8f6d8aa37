/* Unit tests for the embedded store engine (src/store/embedded/engine.c), driven through
 * store.h: durability across restarts and simulated crashes, de-duplication, search,
 * catalogue and backpressure. */
#include "testutil.h"

#include <pthread.h>
#include <sys/stat.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "model/attr.h"
#include "model/span.h"
#include "store/embedded/match.h"
#include "store/embedded/parts.h"
#include "store/storetest.h"
#include "store/store.h"

#include "spangen.h"

#define BIG ((size_t)1 << 30)
#define DAY0 1767225600000000000ull /* 2026-01-01T00:00:00Z */

static osp_store *open_store(const char *dir, size_t memtable_bytes, size_t max_pending)
{
    osp_store_options opt = {.data_dir = dir,
                             .fsync_policy = OSP_FSYNC_NEVER,
                             .memtable_bytes = memtable_bytes,
                             .max_pending_bytes = max_pending};
    osp_store *s = NULL;
    assert_int_equal(osp_store_open(&opt, &s), 0);
    return s;
}

static void make_id(uint8_t id[16], uint32_t n)
{
    memset(id, 0, 16);
    memcpy(id, &n, sizeof n);
    id[15] = 0x7e;
}

/* Adds a resource for svc if it differs from the last one, then a span. */
static void add_span(osp_span_batch *b, uint32_t trace, uint32_t span, const char *svc,
                     const char *name, uint64_t start)
{
    if (!b->nresources || !osp_str_eqz(b->resources[b->nresources - 1].service_name, svc)) {
        osp_resource *r = osp_span_batch_add_resource(b);
        r->service_name = osp_str_c(svc);
        osp_scope *sc = osp_span_batch_add_scope(b);
        sc->name = OSP_STR_LIT("test");
    }
    osp_span *s = osp_span_batch_add_span(b);
    make_id(s->trace_id, trace);
    memcpy(s->span_id, &span, sizeof span);
    s->start_ns = start;
    s->end_ns = start + 1000;
    s->kind = OSP_SPAN_KIND_SERVER;
    s->name = osp_str_c(name);
    s->resource = (uint32_t)(b->nresources - 1);
    s->scope = (uint32_t)(b->nscopes - 1);
}

/* Appends a batch of n spans of one trace (span ids 0..n-1). */
static int append_trace(osp_store *s, uint32_t trace, int n, const char *svc, uint64_t start)
{
    osp_span_batch b;
    osp_span_batch_init(&b);
    for (int i = 0; i < n; i++)
        add_span(&b, trace, (uint32_t)i, svc, "op", start + (uint64_t)i);
    int rc = osp_store_append_spans(s, &b);
    osp_span_batch_cleanup(&b);
    return rc;
}

/* Spans of a trace (0 when not found); checks they come in start order, and that a read
 * without detail returns the same spans with their detail empty. */
static int count_trace(osp_store *s, uint32_t trace)
{
    osp_span_batch out, light;
    uint8_t id[16];
    make_id(id, trace);
    osp_span_batch_init(&out);
    osp_span_batch_init(&light);
    int rc = osp_store_get_trace(s, id, 0, &out);
    assert_true(rc == 0 || rc == OSP_ENOTFOUND);
    for (size_t i = 1; i < out.nspans; i++)
        assert_true(out.spans[i - 1].start_ns <= out.spans[i].start_ns);
    int n = (int)out.nspans;
    assert_true(rc == 0 ? n > 0 : n == 0);
    assert_int_equal(osp_store_get_trace(s, id, OSP_TRACE_NO_DETAIL, &light), rc);
    assert_int_equal(light.nspans, out.nspans);
    for (size_t i = 0; i < light.nspans; i++)
        assert_true(span_equal_no_detail(&light, i, &out, i));
    osp_span_batch_cleanup(&out);
    osp_span_batch_cleanup(&light);
    return n;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/* Spans stored in parts, read with the part set directly (the store must be closed). */
static uint64_t parts_spans(const char *dir)
{
    char *traces = path_in(dir, "traces");
    osp_parts_options opt = {.dir = traces};
    osp_parts *ps;
    osp_parts_stats st;
    assert_int_equal(osp_parts_open(&opt, &ps), 0);
    osp_parts_get_stats(ps, &st);
    osp_parts_close(ps);
    free(traces);
    return st.nspans;
}

static double memtable_gauge(void)
{
    return osp_metric_value(osp_gauge("osprey_store_memtable_bytes", "", ""));
}

static void test_append_get_reopen(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-basic");
    osp_span_batch b, out;
    uint8_t id[16];
    osp_value v = {.type = OSP_VAL_STRING, .s = OSP_STR_LIT("gpt-4o")};
    osp_buf attrs;
    osp_buf_init(&attrs, 0);
    osp_attr_append(&attrs, OSP_STR_LIT("gen_ai.request.model"), &v);
    osp_span_batch_init(&b);
    add_span(&b, 1, 30, "gateway", "GET /chat", DAY0 + 300);
    add_span(&b, 1, 10, "gateway", "auth", DAY0 + 100);
    add_span(&b, 2, 1, "agent", "plan", DAY0 + 50);
    add_span(&b, 1, 20, "agent", "chat gpt-4o", DAY0 + 200);
    b.spans[3].attributes = osp_buf_str(&attrs);
    b.spans[3].status_code = OSP_STATUS_ERROR;
    b.spans[3].status_message = OSP_STR_LIT("rate limited");

    osp_store *s = open_store(dir, 0, 0);
    osp_span_batch empty;
    osp_span_batch_init(&empty);
    assert_int_equal(osp_store_append_spans(s, &empty), 0);
    assert_int_equal(osp_store_append_spans(s, &b), 0);
    for (int round = 0; round < 2; round++) {
        osp_span_batch_init(&out);
        make_id(id, 1);
        assert_int_equal(osp_store_get_trace(s, id, 0, &out), 0);
        assert_int_equal(out.nspans, 3);
        assert_true(osp_span_equal(&out, 0, &b, 1));
        assert_true(osp_span_equal(&out, 1, &b, 3));
        assert_true(osp_span_equal(&out, 2, &b, 0));
        osp_span_batch_reset(&out);
        assert_int_equal(osp_store_get_trace(s, id, OSP_TRACE_NO_DETAIL, &out), 0);
        assert_int_equal(out.nspans, 3);
        assert_true(span_equal_no_detail(&out, 0, &b, 1));
        assert_true(span_equal_no_detail(&out, 1, &b, 3));
        assert_true(span_equal_no_detail(&out, 2, &b, 0));
        osp_span_batch_cleanup(&out);
        make_id(id, 99);
        osp_span_batch_init(&out);
        assert_int_equal(osp_store_get_trace(s, id, 0, &out), OSP_ENOTFOUND);
        assert_int_equal(osp_store_get_trace(s, id, OSP_TRACE_NO_DETAIL, &out), OSP_ENOTFOUND);
        osp_span_batch_cleanup(&out);
        /* Second round: the same after a clean restart (served from parts). */
        osp_store_close(s);
        s = open_store(dir, 0, 0);
    }
    assert_int_equal(count_trace(s, 2), 1);
    osp_store_close(s);
    assert_int_equal(parts_spans(dir), 4);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&attrs);
    osp_test_rmdir(dir);
    free(dir);
}

/* kill -9: the data directory as it is while the store runs (WAL written, nothing
 * flushed) recovers every acknowledged span once. */
static void test_crash_recovery(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-crash");
    char *live = path_in(dir, "live"), *crashed = path_in(dir, "crashed");
    osp_store *s = open_store(live, BIG, BIG);
    for (uint32_t t = 1; t <= 20; t++)
        assert_int_equal(append_trace(s, t, (int)(t % 4) + 1, t % 2 ? "a" : "b", DAY0 + t), 0);
    osp_test_run("cp -a '%s' '%s'", live, crashed);
    osp_store_close(s);

    s = open_store(crashed, BIG, BIG);
    assert_true(memtable_gauge() > 0); /* came back through the WAL */
    for (uint32_t t = 1; t <= 20; t++)
        assert_int_equal(count_trace(s, t), (int)(t % 4) + 1);
    osp_store_close(s);
    /* Both copies hold each span exactly once. */
    assert_int_equal(parts_spans(crashed), parts_spans(live));
    assert_int_equal(parts_spans(live), 50);
    free(live);
    free(crashed);
    osp_test_rmdir(dir);
    free(dir);
}

/* A crash after the memtable reached parts but before the WAL was truncated: the WAL
 * still holds the records, and replay must skip them. */
static void test_crash_between_flush_and_truncate(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-window");
    char *wal = path_in(dir, "wal"), *saved = path_in(dir, "wal.saved");
    osp_store *s = open_store(dir, BIG, BIG);
    for (uint32_t t = 1; t <= 10; t++)
        assert_int_equal(append_trace(s, t, 3, "svc", DAY0 + t), 0);
    osp_test_run("cp -a '%s' '%s'", wal, saved);
    assert_int_equal(osp_store_flush(s), 0);
    osp_store_close(s);
    osp_test_run("rm -rf '%s' && mv '%s' '%s'", wal, saved, wal); /* the old WAL back */

    s = open_store(dir, BIG, BIG);
    assert_true(memtable_gauge() == 0); /* nothing replayed twice */
    for (uint32_t t = 1; t <= 10; t++)
        assert_int_equal(count_trace(s, t), 3);
    osp_store_close(s);
    assert_int_equal(parts_spans(dir), 30);
    free(wal);
    free(saved);
    osp_test_rmdir(dir);
    free(dir);
}

/* After the WAL was emptied by flushes, new records still get lsns above the parts', so
 * a later crash replays them. */
static void test_lsn_after_truncation(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-lsn");
    char *live = path_in(dir, "live"), *crashed = path_in(dir, "crashed");
    osp_store *s = open_store(live, BIG, BIG);
    assert_int_equal(append_trace(s, 1, 2, "svc", DAY0), 0);
    osp_store_close(s);
    s = open_store(live, BIG, BIG); /* removes the WAL segments now in parts */
    assert_int_equal(append_trace(s, 2, 2, "svc", DAY0 + 5), 0);
    osp_test_run("cp -a '%s' '%s'", live, crashed);
    osp_store_close(s);

    s = open_store(crashed, BIG, BIG);
    assert_int_equal(count_trace(s, 1), 2);
    assert_int_equal(count_trace(s, 2), 2);
    osp_store_close(s);
    assert_int_equal(parts_spans(crashed), 4);
    free(live);
    free(crashed);
    osp_test_rmdir(dir);
    free(dir);
}

/* A client retry stores the same spans again; reads return them once. A span with the
 * same id but different content is kept. */
static void test_duplicates(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-dup");
    osp_store *s = open_store(dir, BIG, BIG);
    assert_int_equal(append_trace(s, 7, 3, "svc", DAY0), 0);
    assert_int_equal(append_trace(s, 7, 3, "svc", DAY0), 0);
    assert_int_equal(count_trace(s, 7), 3);
    assert_int_equal(osp_store_flush(s), 0);
    assert_int_equal(append_trace(s, 7, 3, "svc", DAY0), 0); /* memtable and parts */
    assert_int_equal(count_trace(s, 7), 3);

    osp_span_batch b;
    osp_span_batch_init(&b);
    add_span(&b, 7, 1, "svc", "op", DAY0 + 1);
    b.spans[0].end_ns += 5;
    assert_int_equal(osp_store_append_spans(s, &b), 0);
    assert_int_equal(count_trace(s, 7), 4);
    /* A span with detail in parts and again in the memtable: once, with or without it. */
    b.spans[0].trace_id[0] = 0x55;
    b.spans[0].status_message = OSP_STR_LIT("failed");
    b.spans[0].trace_state = OSP_STR_LIT("k=v");
    b.spans[0].events = OSP_STR_LIT("\x0a\x00");
    assert_int_equal(osp_store_append_spans(s, &b), 0);
    assert_int_equal(osp_store_flush(s), 0);
    assert_int_equal(osp_store_append_spans(s, &b), 0);
    assert_int_equal(count_trace(s, 0x55), 1);
    osp_span_batch_cleanup(&b);
    osp_store_close(s);
    s = open_store(dir, BIG, BIG);
    assert_int_equal(count_trace(s, 7), 4);
    osp_store_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_search(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-search");
    osp_store *s = open_store(dir, BIG, BIG);
    osp_arena arena;
    osp_trace_hit *hits;
    size_t n;
    uint8_t id[16];
    osp_arena_init(&arena, 0, 0);
    /* Traces 1..6 of "api" start at DAY0 + t * 10; trace 3 also has a newer "db" span. */
    for (uint32_t t = 1; t <= 3; t++)
        assert_int_equal(append_trace(s, t, 2, "api", DAY0 + t * 10), 0);
    assert_int_equal(osp_store_flush(s), 0); /* traces 1..3 in parts */
    for (uint32_t t = 4; t <= 6; t++)
        assert_int_equal(append_trace(s, t, 2, "api", DAY0 + t * 10), 0);
    assert_int_equal(append_trace(s, 3, 1, "db", DAY0 + 1000), 0);

    osp_trace_query q = {.service = OSP_STR_LIT("api"), .status = -1, .limit = 4};
    assert_int_equal(osp_store_search_traces(s, &q, &arena, &hits, &n), 0);
    assert_int_equal(n, 4);
    uint32_t want[] = {6, 5, 4, 3};
    for (size_t i = 0; i < 4; i++) {
        make_id(id, want[i]);
        assert_memory_equal(hits[i].trace_id, id, 16);
        assert_int_equal(hits[i].newest_start_ns, DAY0 + want[i] * 10 + 1);
    }

    /* No service filter: trace 3's newest span (db) puts it first. */
    q = (osp_trace_query){.status = -1};
    assert_int_equal(osp_store_search_traces(s, &q, &arena, &hits, &n), 0);
    assert_int_equal(n, 6);
    make_id(id, 3);
    assert_memory_equal(hits[0].trace_id, id, 16);
    assert_int_equal(hits[0].newest_start_ns, DAY0 + 1000);

    /* Time window and limit 1. */
    q = (osp_trace_query){.status = -1, .start_ns = DAY0 + 20, .end_ns = DAY0 + 40, .limit = 1};
    assert_int_equal(osp_store_search_traces(s, &q, &arena, &hits, &n), 0);
    assert_int_equal(n, 1);
    make_id(id, 4);
    assert_memory_equal(hits[0].trace_id, id, 16);

    q = (osp_trace_query){.service = OSP_STR_LIT("nobody"), .status = -1};
    assert_int_equal(osp_store_search_traces(s, &q, &arena, &hits, &n), 0);
    assert_int_equal(n, 0);
    osp_arena_cleanup(&arena);
    osp_store_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

/* Many distinct traces through the bounded top-k: only the newest survive. */
static void test_search_many(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-many");
    osp_store *s = open_store(dir, BIG, BIG);
    osp_arena arena;
    osp_trace_hit *hits;
    size_t n;
    osp_span_batch b;
    osp_arena_init(&arena, 0, 0);
    osp_span_batch_init(&b);
    /* Starts in a scrambled order so hits arrive neither ascending nor descending. */
    for (uint32_t t = 0; t < 500; t++)
        add_span(&b, t, 1, "svc", "op", DAY0 + (t * 7919u) % 500u);
    assert_int_equal(osp_store_append_spans(s, &b), 0);
    osp_span_batch_cleanup(&b);
    osp_trace_query q = {.status = -1, .limit = 25};
    assert_int_equal(osp_store_search_traces(s, &q, &arena, &hits, &n), 0);
    assert_int_equal(n, 25);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hits[i].newest_start_ns, DAY0 + 499 - i);
    osp_arena_cleanup(&arena);
    osp_store_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

/* Newest-first early stop across parts and memtable gives exactly the top k of a full
 * evaluation: parts with overlapping time ranges, traces spread over several parts, ties
 * in start time, filters on service, name, status and time. */
#define ES_FLUSHES 8
#define ES_TRACES 600
typedef struct es_hit {
    uint8_t id[16];
    uint64_t newest;
} es_hit;

static int cmp_es_hit(const void *pa, const void *pb)
{
    const es_hit *a = pa, *b = pb;
    if (a->newest != b->newest)
        return a->newest > b->newest ? -1 : 1;
    return memcmp(a->id, b->id, 16);
}

static void check_top_k(osp_store *s, osp_span_batch *b, size_t nb, const osp_trace_query *q)
{
    static es_hit want[ES_TRACES];
    static int seen[ES_TRACES];
    size_t nwant = 0;
    osp_arena arena;
    osp_trace_hit *hits;
    size_t n;
    memset(seen, 0, sizeof seen);
    for (size_t k = 0; k < nb; k++)
        for (size_t i = 0; i < b[k].nspans; i++) {
            uint32_t t;
            memcpy(&t, b[k].spans[i].trace_id, sizeof t);
            if (!osp_span_matches(q, &b[k], i))
                continue;
            if (!seen[t]) {
                seen[t] = (int)++nwant;
                memcpy(want[nwant - 1].id, b[k].spans[i].trace_id, 16);
                want[nwant - 1].newest = 0;
            }
            es_hit *h = &want[seen[t] - 1];
            if (b[k].spans[i].start_ns > h->newest)
                h->newest = b[k].spans[i].start_ns;
        }
    qsort(want, nwant, sizeof *want, cmp_es_hit);
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(osp_store_search_traces(s, q, &arena, &hits, &n), 0);
    assert_int_equal(n, nwant < q->limit ? nwant : q->limit);
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal(hits[i].trace_id, want[i].id, 16);
        assert_int_equal(hits[i].newest_start_ns, want[i].newest);
    }
    osp_arena_cleanup(&arena);
}

static void test_search_early_stop(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-early");
    osp_store *s = open_store(dir, BIG, BIG);
    osp_span_batch b[ES_FLUSHES + 1];
    for (uint32_t f = 0; f <= ES_FLUSHES; f++) {
        osp_span_batch_init(&b[f]);
        for (uint32_t i = 0; i < 200; i++) {
            uint32_t t = (f * 97 + i * 31) % ES_TRACES;
            add_span(&b[f], t, f * 1000 + i, i % 3 ? "api" : "db", i % 2 ? "op" : "op2",
                     DAY0 + f * 1000 + (i * 37) % 1500 / 50 * 50); /* many ties */
            b[f].spans[b[f].nspans - 1].status_code = i % 5 ? OSP_STATUS_UNSET : OSP_STATUS_ERROR;
        }
        assert_int_equal(osp_store_append_spans(s, &b[f]), 0);
        if (f < ES_FLUSHES) /* the last batch stays in the memtable */
            assert_int_equal(osp_store_flush(s), 0);
    }
    const size_t limits[] = {1, 3, 20, 150, 1000};
    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        osp_trace_query q = {.status = -1, .limit = limits[l]};
        check_top_k(s, b, ES_FLUSHES + 1, &q);
        q.service = OSP_STR_LIT("api");
        check_top_k(s, b, ES_FLUSHES + 1, &q);
        q.operation = OSP_STR_LIT("op2");
        q.status = OSP_STATUS_ERROR;
        check_top_k(s, b, ES_FLUSHES + 1, &q);
        q = (osp_trace_query){
            .status = -1, .start_ns = DAY0 + 2500, .end_ns = DAY0 + 5200, .limit = limits[l]};
        check_top_k(s, b, ES_FLUSHES + 1, &q);
    }
    for (uint32_t f = 0; f <= ES_FLUSHES; f++)
        osp_span_batch_cleanup(&b[f]);
    osp_store_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_catalogue(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-cat");
    osp_store *s = open_store(dir, BIG, BIG);
    osp_arena arena;
    osp_str *names;
    osp_operation *ops;
    size_t n;
    osp_span_batch b;
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(osp_store_services(s, &arena, &names, &n), 0);
    assert_int_equal(n, 0);

    osp_span_batch_init(&b);
    add_span(&b, 1, 1, "gateway", "POST /chat", DAY0);
    add_span(&b, 1, 2, "agent", "plan", DAY0 + 1);
    osp_store_append_spans(s, &b);
    osp_span_batch_cleanup(&b);
    assert_int_equal(osp_store_flush(s), 0);
    osp_span_batch_init(&b);
    add_span(&b, 2, 1, "agent", "call tool", DAY0 + 2);
    add_span(&b, 2, 2, "agent", "plan", DAY0 + 3);
    add_span(&b, 2, 3, "vector-db", "query", DAY0 + 4);
    b.spans[0].kind = OSP_SPAN_KIND_CLIENT;
    osp_store_append_spans(s, &b);
    osp_span_batch_cleanup(&b);

    for (int round = 0; round < 2; round++) {
        assert_int_equal(osp_store_services(s, &arena, &names, &n), 0);
        assert_int_equal(n, 3);
        assert_true(osp_str_eqz(names[0], "agent"));
        assert_true(osp_str_eqz(names[1], "gateway"));
        assert_true(osp_str_eqz(names[2], "vector-db"));
        assert_int_equal(osp_store_operations(s, OSP_STR_LIT("agent"), &arena, &ops, &n), 0);
        assert_int_equal(n, 2);
        assert_true(osp_str_eqz(ops[0].name, "call tool"));
        assert_int_equal(ops[0].kind, OSP_SPAN_KIND_CLIENT);
        assert_true(osp_str_eqz(ops[1].name, "plan"));
        assert_int_equal(ops[1].kind, OSP_SPAN_KIND_SERVER);
        assert_int_equal(osp_store_operations(s, OSP_STR_LIT("nobody"), &arena, &ops, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(osp_store_flush(s), 0); /* second round: all from parts */
    }
    osp_arena_cleanup(&arena);
    osp_store_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

/* With a tiny pending limit appends are refused with OSP_EBUSY until a flush drains the
 * memtables; refused spans are not stored. */
static void test_backpressure(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-busy");
    osp_metric *rejected = osp_counter("osprey_store_appends_rejected_total", "", "");
    double before = osp_metric_value(rejected);
    osp_store *s = open_store(dir, 1, 1);
    uint32_t t = 1, busy = 0;
    for (; t < 1000 && !busy; t++) {
        int rc = append_trace(s, t, 2, "svc", DAY0 + t);
        assert_true(rc == 0 || rc == OSP_EBUSY);
        if (rc == OSP_EBUSY)
            busy = t;
    }
    assert_true(busy > 1);
    assert_true(osp_metric_value(rejected) > before);
    assert_int_equal(count_trace(s, busy), 0);
    assert_int_equal(osp_store_flush(s), 0);
    assert_int_equal(append_trace(s, 5000, 2, "svc", DAY0), 0);
    osp_store_close(s);
    s = open_store(dir, BIG, BIG);
    for (uint32_t k = 1; k < busy; k++)
        assert_int_equal(count_trace(s, k), 2);
    assert_int_equal(count_trace(s, busy), 0);
    assert_int_equal(count_trace(s, 5000), 2);
    osp_store_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

/* With nine parts of a day awaiting merges and a bound of eight, the flusher leaves the
 * memtable be: appends stay busy until the maintainer (whose first round comes five
 * seconds after open) has merged the parts, and nothing is lost. */
static void test_flushes_wait_for_merges(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-backlog");
    osp_metric *merges = osp_counter("osprey_merges_total", "", "");
    double merged_before = osp_metric_value(merges);
    osp_store_options opt = {.data_dir = dir,
                             .fsync_policy = OSP_FSYNC_NEVER,
                             .memtable_bytes = 1,
                             .max_pending_bytes = 1,
                             .max_merge_backlog = 8};
    osp_store *s = NULL;
    assert_int_equal(osp_store_open(&opt, &s), 0);
    for (uint32_t t = 1; t <= 9; t++) { /* explicit flushes do not wait */
        assert_int_equal(append_trace(s, t, 2, "svc", DAY0 + t), 0);
        assert_int_equal(osp_store_flush(s), 0);
    }
    uint32_t t = 10;
    int rc = 0;
    for (; t < 1000 && rc == 0; t++)
        rc = append_trace(s, t, 2, "svc", DAY0 + t);
    assert_int_equal(rc, OSP_EBUSY);
    uint32_t refused = t - 1;
    for (int tries = 0; tries < 3000 && rc; tries++) { /* up to 30 s */
        if ((rc = append_trace(s, refused, 2, "svc", DAY0 + refused)) == OSP_EBUSY)
            usleep(10000);
    }
    assert_int_equal(rc, 0);
    /* Without the wait the flusher would have drained within a second, merges or not. */
    assert_true(osp_metric_value(merges) > merged_before);
    assert_int_equal(osp_store_flush(s), 0);
    for (uint32_t k = 1; k <= refused; k++)
        assert_int_equal(count_trace(s, k), 2);
    osp_store_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

typedef struct appender_arg {
    osp_store *s;
    uint32_t first;
    int n;
} appender_arg;

static void *appender(void *p)
{
    appender_arg *a = p;
    for (int i = 0; i < a->n; i++)
        while (append_trace(a->s, a->first + (uint32_t)i, 3, "svc", DAY0 + a->first + (uint32_t)i))
            usleep(1000); /* OSP_EBUSY: back off and retry, as a client would */
    return NULL;
}

/* Appends from several threads while small memtables flush continually: after a restart
 * every span is there exactly once. */
static void test_concurrent_appends_and_flushes(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-conc");
    osp_store *s = open_store(dir, 4096, 1 << 20);
    pthread_t tid[4];
    appender_arg args[4];
    osp_arena arena;
    osp_trace_hit *hits;
    size_t n;
    osp_arena_init(&arena, 0, 0);
    for (int i = 0; i < 4; i++) {
        args[i] = (appender_arg){s, (uint32_t)(1000 * (i + 1)), 40};
        assert_int_equal(pthread_create(&tid[i], NULL, appender, &args[i]), 0);
    }
    osp_trace_query q = {.status = -1, .limit = 5};
    for (int i = 0; i < 10; i++)
        assert_int_equal(osp_store_search_traces(s, &q, &arena, &hits, &n), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(tid[i], NULL);
    for (int i = 0; i < 4; i++)
        for (uint32_t k = 0; k < 40; k++)
            assert_int_equal(count_trace(s, args[i].first + k), 3);
    osp_store_close(s);
    assert_int_equal(parts_spans(dir), 4 * 40 * 3);
    s = open_store(dir, BIG, BIG);
    assert_int_equal(count_trace(s, 2039), 3);
    osp_store_close(s);
    osp_arena_cleanup(&arena);
    osp_test_rmdir(dir);
    free(dir);
}

/* When parts cannot be written, flushes fail, the spans stay readable, and nothing is
 * lost: the WAL still has them. A file where the partition directory should go makes
 * the writes fail. */
static void test_flush_failure(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-flushfail");
    char *block = path_in(dir, "traces/20260101");
    osp_store *s = open_store(dir, BIG, BIG);
    FILE *f = fopen(block, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(append_trace(s, 1, 2, "svc", DAY0 + 1), 0);
    assert_true(osp_store_flush(s) < 0);
    assert_int_equal(count_trace(s, 1), 2);
    osp_store_close(s); /* its last flush fails too */
    assert_int_equal(unlink(block), 0);
    s = open_store(dir, BIG, BIG);
    assert_int_equal(count_trace(s, 1), 2);
    assert_int_equal(osp_store_flush(s), 0);
    osp_store_close(s);
    assert_int_equal(parts_spans(dir), 2);
    free(block);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_open_errors(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("eng-open");
    char *file = path_in(dir, "file"), *under = path_in(dir, "file/data");
    osp_store *s = NULL;
    osp_store_options opt = {0};
    assert_int_equal(osp_store_open(&opt, &s), OSP_EINVAL);
    opt.engine = "no-such-engine";
    opt.data_dir = dir;
    assert_int_equal(osp_store_open(&opt, &s), OSP_EINVAL);
    FILE *f = fopen(file, "w");
    fclose(f);
    opt.engine = NULL;
    opt.data_dir = under;
    assert_int_equal(osp_store_open(&opt, &s), OSP_EIO);
    assert_null(s);
    free(file);
    free(under);
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    osp_log_set_level(OSP_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_get_reopen),
        cmocka_unit_test(test_crash_recovery),
        cmocka_unit_test(test_crash_between_flush_and_truncate),
        cmocka_unit_test(test_lsn_after_truncation),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_search_many),
        cmocka_unit_test(test_search_early_stop),
        cmocka_unit_test(test_catalogue),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_flushes_wait_for_merges),
        cmocka_unit_test(test_concurrent_appends_and_flushes),
        cmocka_unit_test(test_flush_failure),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
