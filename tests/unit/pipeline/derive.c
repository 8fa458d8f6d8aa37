/* Unit tests for pipeline/derive: spans fed into a real store come back as derived series
 * and exemplars after a flush, values stay cumulative, destroy flushes a last time, and
 * feeding from several threads while flushing loses nothing. */
#include "testutil.h"

#include <pthread.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "model/attr.h"
#include "pipeline/derive.h"
#include "store/store.h"

#define MS 1000000ull
#define HOUR_MS 3600000

typedef struct fixture {
    char *dir;
    osp_store *store;
    osp_derive *derive;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = osp_test_tmpdir("derive");
    osp_store_options opt = {.data_dir = f->dir, .fsync_policy = OSP_FSYNC_NEVER};
    osp_derive_options dopt = {.interval_ms = HOUR_MS}; /* only explicit flushes */
    assert_int_equal(osp_store_open(&opt, &f->store), 0);
    assert_int_equal(osp_derive_create(f->store, &dopt, &f->derive), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    osp_derive_destroy(f->derive);
    osp_store_close(f->store);
    osp_test_rmdir(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Adds a span of service svc (a resource of its own) to b, ending `trace` ms after a second
 * ago (so later traces end later, as exemplars must). */
static void add_span(osp_span_batch *b, const char *svc, uint8_t trace, uint8_t id, uint8_t parent,
                     int32_t kind, uint64_t dur_ns)
{
    osp_resource *r = osp_span_batch_add_resource(b);
    assert_non_null(r);
    r->service_name = osp_str_c(svc);
    osp_span *s = osp_span_batch_add_span(b);
    assert_non_null(s);
    uint64_t end = osp_clock_ns(CLOCK_REALTIME) - 1000 * MS + trace * MS;
    memset(s->trace_id, trace, 16);
    memset(s->span_id, id, 8);
    memset(s->parent_span_id, parent, 8);
    s->kind = kind;
    s->name = OSP_STR_LIT("op");
    s->start_ns = end - dur_ns;
    s->end_ns = end;
    s->resource = (uint32_t)(b->nresources - 1);
}

/* A trace: front (root server) calls back (client -> server). */
static void feed_trace(osp_derive *d, uint8_t trace)
{
    osp_span_batch b;
    osp_span_batch_init(&b);
    add_span(&b, "front", trace, 1, 0, OSP_SPAN_KIND_SERVER, 30 * MS);
    add_span(&b, "back", trace, 3, 2, OSP_SPAN_KIND_SERVER, 10 * MS);
    add_span(&b, "front", trace, 2, 1, OSP_SPAN_KIND_CLIENT, 20 * MS);
    osp_derive_spans(d, &b);
    osp_span_batch_cleanup(&b);
}

/* The samples of the one series name{label="value"} selects. */
static osp_series *select_one(osp_store *s, osp_arena *arena, const char *name, const char *label,
                              const char *value)
{
    int64_t now = osp_clock_ms(CLOCK_REALTIME);
    osp_label_matcher m[2] = {{OSP_MATCH_EQ, OSP_STR_LIT("__name__"), osp_str_c(name)},
                              {OSP_MATCH_EQ, osp_str_c(label), osp_str_c(value)}};
    osp_series *out = NULL;
    size_t n = 0;
    assert_int_equal(
        osp_store_select_series(s, m, 2, now - HOUR_MS, now + HOUR_MS, 1, arena, &out, &n), 0);
    assert_int_equal(n, 1);
    return out;
}

static double latest(const osp_series *se)
{
    assert_true(se->nsamples > 0);
    return se->samples[se->nsamples - 1].v;
}

static void test_flush_into_store(void **state)
{
    fixture *f = *state;
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    feed_trace(f->derive, 1);
    assert_int_equal(osp_derive_flush(f->derive), 0);
    osp_series *calls =
        select_one(f->store, &arena, "traces_span_metrics_calls_total", "service_name", "back");
    assert_true(latest(calls) == 1);
    osp_series *edge =
        select_one(f->store, &arena, "traces_service_graph_request_total", "server", "back");
    assert_true(latest(edge) == 1);
    assert_true(
        osp_str_eqz(osp_labels_get(edge->labels, edge->nlabels, OSP_STR_LIT("client")), "front"));
    osp_series *user =
        select_one(f->store, &arena, "traces_service_graph_request_total", "client", "user");
    assert_true(latest(user) == 1);

    /* Cumulative: a second trace, a second flush, a second, later sample. */
    feed_trace(f->derive, 2);
    assert_int_equal(osp_derive_flush(f->derive), 0);
    calls = select_one(f->store, &arena, "traces_span_metrics_calls_total", "service_name", "back");
    assert_int_equal(calls->nsamples, 2);
    assert_true(calls->samples[0].t_ms < calls->samples[1].t_ms);
    assert_true(latest(calls) == 2);

    /* Exemplars carry the trace ids. */
    int64_t now = osp_clock_ms(CLOCK_REALTIME);
    osp_label_matcher m[2] = {
        {OSP_MATCH_EQ, OSP_STR_LIT("__name__"), OSP_STR_LIT("traces_span_metrics_calls_total")},
        {OSP_MATCH_EQ, OSP_STR_LIT("service_name"), OSP_STR_LIT("back")}};
    osp_matcher_set set = {m, 2};
    osp_series_exemplars *ex = NULL;
    size_t nex = 0;
    assert_int_equal(osp_store_select_exemplars(f->store, &set, 1, now - HOUR_MS, now + HOUR_MS,
                                                &arena, &ex, &nex),
                     0);
    assert_int_equal(nex, 1);
    assert_true(ex[0].nexemplars >= 1);
    const osp_prom_exemplar *last = &ex[0].exemplars[ex[0].nexemplars - 1];
    assert_true(osp_str_eqz(osp_labels_get(last->labels, last->nlabels, OSP_STR_LIT("trace_id")),
                            "02020202020202020202020202020202"));
    osp_arena_cleanup(&arena);
}

static void test_destroy_flushes(void **state)
{
    fixture *f = *state;
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    feed_trace(f->derive, 7);
    osp_derive_destroy(f->derive);
    f->derive = NULL;
    osp_series *calls =
        select_one(f->store, &arena, "traces_span_metrics_calls_total", "service_name", "back");
    assert_true(latest(calls) == 1);
    osp_arena_cleanup(&arena);
}

#define NTHREADS 4
#define NTRACES 50

static void *feeder(void *arg)
{
    for (int i = 0; i < NTRACES; i++)
        feed_trace(arg, (uint8_t)(i + 1));
    return NULL;
}

static void test_concurrent_feed(void **state)
{
    fixture *f = *state;
    pthread_t th[NTHREADS];
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, feeder, f->derive), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(osp_derive_flush(f->derive), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(osp_derive_flush(f->derive), 0);
    osp_series *calls =
        select_one(f->store, &arena, "traces_span_metrics_calls_total", "service_name", "back");
    assert_true(latest(calls) == NTHREADS * NTRACES);
    osp_arena_cleanup(&arena);
}

/* Feeds n spans that carry their own session id s-1, one trace of 512 each, in batches of
 * 512. */
static void feed_sessions(osp_derive *d, size_t n)
{
    osp_buf a;
    osp_value v = {.type = OSP_VAL_STRING, .s = OSP_STR_LIT("s-1")};
    osp_buf_init(&a, 0);
    assert_int_equal(osp_attr_append(&a, OSP_STR_LIT("session.id"), &v), 0);
    uint64_t now = osp_clock_ns(CLOCK_REALTIME);
    for (size_t done = 0; done < n;) {
        osp_span_batch b;
        osp_span_batch_init(&b);
        osp_resource *r = osp_span_batch_add_resource(&b);
        r->service_name = OSP_STR_LIT("chat");
        for (size_t i = 0; i < 512 && done < n; i++, done++) {
            osp_span *sp = osp_span_batch_add_span(&b);
            uint64_t k = done + 1;
            memcpy(sp->trace_id, &(uint64_t){k / 512 + 1}, 8);
            memcpy(sp->span_id, &k, 8);
            sp->name = OSP_STR_LIT("turn");
            sp->start_ns = now - 1000 * MS;
            sp->end_ns = now;
            sp->attributes = osp_buf_str(&a);
        }
        osp_derive_spans(d, &b);
        osp_span_batch_cleanup(&b);
    }
    osp_buf_cleanup(&a);
}

/* Records of session s-1 in the store's AI call index. */
static size_t session_records(osp_store *s)
{
    osp_arena arena;
    osp_aicall *calls;
    size_t n = 0;
    osp_aicall_query q = {.session = OSP_STR_LIT("s-1"), .max_records = 10000000};
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(osp_store_select_aicalls(s, &q, &arena, &calls, &n), 0);
    osp_arena_cleanup(&arena);
    return n;
}

/* A batch of AI call records is written long before the hour-long interval ends, so a busy
 * gateway does not fill the queue between flushes and lose records. */
static void test_call_batches_written_early(void **state)
{
    fixture *f = *state;
    size_t n = 20000, got = 0;
    feed_sessions(f->derive, n);
    for (int i = 0; i < 300 && got < 16384; i++) { /* up to 30 s */
        usleep(100 * 1000);
        got = session_records(f->store);
    }
    assert_true(got >= 16384 && got <= n);
    assert_int_equal(osp_derive_flush(f->derive), 0);
    assert_int_equal(session_records(f->store), n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flush_into_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_flushes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_feed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_batches_written_early, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
