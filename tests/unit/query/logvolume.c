/* Unit tests for query/logvolume: index statistics and volumes per series and per step over
 * a source that passes records in runs of streams, as a store does. */
#include "testutil.h"

#include "core/err.h"
#include "model/log.h"
#include "model/logstream.h"
#include "query/logvolume.h"

#include "labeltext.h"

#define T0 1000000000000ull /* ns */
#define SEC 1000000000ull

/* Streams: their labels; records: (stream, second after T0, size), in scan order. */
static const char *const stream_labels[] = {
    "app=web,env=prod,pod=w1", /* 0 */
    "app=web,env=prod,pod=w2", /* 1 */
    "app=api,env=dev,pod=a1",  /* 2 */
    "app=api,pod=a2",          /* 3: no env */
    "app=db,env=prod,pod=d1",  /* 4: removed (labels not found) */
};

static const struct {
    uint64_t stream, sec, size;
} records[] = {
    {0, 1, 100},  {0, 2, 100}, {1, 1, 50}, {2, 3, 7},  {3, 4, 30}, /* a block */
    {0, 9, 10},   {2, 9, 3},   {2, 12, 5}, {3, 15, 1}, {4, 2, 40}, /* another */
    {0, 30, 999},                                                  /* after the range */
};
#define NREC (sizeof records / sizeof records[0])

typedef struct fixture {
    osp_log_batch b; /* the records, their time alone */
    int fail_with;   /* the scan's answer when set */
    int times_only, no_lines;
    int grouped; /* records passed in another's view (alike_until) */
} fixture;

static int fx_labels(void *ctx, uint64_t stream, osp_arena *arena, osp_label **labels, size_t *n)
{
    (void)ctx;
    if (stream >= 4)
        return OSP_ENOTFOUND;
    *labels = test_labels(arena, stream_labels[stream], n);
    return 0;
}

/* Selects by the EQ matchers alone (the removed stream matches none), and passes records
 * of the range with their sizes; with alike_until, a stream's consecutive records with
 * times alike as one view (the first one's, with more), as the contract allows. */
static int fx_scan(void *ctx, const osp_log_query *q, osp_log_fn fn, void *fn_ctx)
{
    fixture *f = ctx;
    osp_log_view held = {0};
    uint64_t held_until = 0;
    int holding = 0, rc;
    f->times_only += q->times_only;
    f->no_lines += q->no_lines;
    if (f->fail_with)
        return f->fail_with;
    for (size_t i = 0; i < NREC; i++) {
        uint64_t t = osp_log_time(&f->b.records[i]);
        int ok = t >= q->start_ns && t < q->end_ns;
        osp_arena a;
        osp_label *l = NULL;
        size_t n = 0;
        osp_arena_init(&a, 0, 0);
        if (records[i].stream < 4)
            l = test_labels(&a, stream_labels[records[i].stream], &n);
        for (size_t k = 0; k < q->n && ok; k++)
            if (q->m[k].type == OSP_MATCH_EQ)
                ok = n && osp_str_eq(osp_labels_get(l, n, q->m[k].name), q->m[k].value);
        osp_arena_cleanup(&a);
        osp_log_view v = {records[i].stream, &f->b, i, OSP_STR_NULL, records[i].size, 0};
        if (!ok)
            continue;
        if (holding && v.stream == held.stream && t <= held_until) {
            held.more++;
            held.size += v.size;
            f->grouped++;
            continue;
        }
        if (holding && (rc = fn(&held, fn_ctx)))
            return rc;
        if ((holding = q->alike_until != NULL)) {
            held = v;
            held_until = q->alike_until(t, q->alike_ctx);
            assert_true(held_until >= t);
        } else if ((rc = fn(&v, fn_ctx))) {
            return rc;
        }
    }
    return holding ? fn(&held, fn_ctx) : 0;
}

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    osp_log_batch_init(&f->b);
    for (size_t i = 0; i < NREC; i++) {
        osp_log_record *r = osp_log_batch_add_record(&f->b);
        assert_non_null(r);
        *r = (osp_log_record){.time_ns = T0 + records[i].sec * SEC};
    }
}

/* What each test works with: the fixture, an arena for results and the last result. */
typedef struct case_ctx {
    fixture f;
    osp_arena a;
    osp_log_volume v;
} case_ctx;

static int setup(void **state)
{
    case_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    fixture_init(&c->f);
    osp_arena_init(&c->a, 0, 0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    case_ctx *c = *state;
    osp_arena_cleanup(&c->a);
    osp_log_batch_cleanup(&c->f.b);
    free(c);
    return 0;
}

static osp_logql_source source(fixture *f)
{
    return (osp_logql_source){.ctx = f, .scan = fx_scan, .stream_labels = fx_labels};
}

/* "app=web,env=prod" for a series' labels. */
static const char *format(const osp_log_volume_series *s, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < s->nlabels; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%.*s=%.*s", i ? "," : "",
                               (int)s->labels[i].name.n, s->labels[i].name.p,
                               (int)s->labels[i].value.n, s->labels[i].value.p);
    return buf;
}

typedef struct want_series {
    const char *labels;
    uint64_t bytes;
} want_series;

static void check_series(const osp_log_volume *v, const want_series *want, size_t n)
{
    char buf[128];
    assert_int_equal(v->nseries, n);
    for (size_t i = 0; i < n; i++) {
        format(&v->series[i], buf, sizeof buf);
        if (strcmp(buf, want[i].labels) || v->series[i].bytes != want[i].bytes)
            fail_msg("series %zu: {%s} %llu, want {%s} %llu", i, buf,
                     (unsigned long long)v->series[i].bytes, want[i].labels,
                     (unsigned long long)want[i].bytes);
    }
}

static const osp_label_matcher app_any[] = {
    {OSP_MATCH_RE, OSP_STR_LIT("app"), OSP_STR_LIT(".+")},
    {OSP_MATCH_NEQ, OSP_STR_LIT("env"), OSP_STR_LIT("staging")},
};

static void run(fixture *f, const osp_log_volume_query *q, osp_arena *a, osp_log_volume *v)
{
    osp_logql_source src = source(f);
    assert_int_equal(osp_log_volume_compute(&src, q, a, v), 0);
}

static void test_stats_count_streams_runs_records_and_bytes(void **state)
{
    case_ctx *c = *state;
    osp_log_volume_query q = {.m = app_any, .n = 2, .start_ns = T0, .end_ns = T0 + 20 * SEC};
    run(&c->f, &q, &c->a, &c->v);
    assert_int_equal(c->v.streams, 5);
    assert_int_equal(c->v.chunks, 8); /* 0 0 | 1 | 2 | 3 | 0 | 2 2 | 3 | 4 */
    assert_int_equal(c->v.entries, 10);
    assert_int_equal(c->v.bytes, 100 + 100 + 50 + 7 + 30 + 10 + 3 + 5 + 1 + 40);
    assert_int_equal(c->f.times_only, 1);
    assert_int_equal(c->f.no_lines, 1);
    assert_int_equal(c->f.grouped, 2); /* 0 at 1 s and 2 s, 2 at 9 s and 12 s */
    /* an empty range reads nothing */
    q.end_ns = q.start_ns;
    run(&c->f, &q, &c->a, &c->v);
    assert_int_equal(c->v.entries, 0);
    assert_int_equal(c->v.nseries, 0);
    assert_int_equal(c->f.times_only, 1);
}

static void test_series_of_the_matchers_names_largest_first(void **state)
{
    case_ctx *c = *state;
    /* by default the names the matchers use: app and env; a stream without env adds to
     * {app=api}, a removed stream to {} */
    osp_log_volume_query q = {.m = app_any, .n = 2, .start_ns = T0, .end_ns = T0 + 20 * SEC};
    run(&c->f, &q, &c->a, &c->v);
    const want_series by_default[] = {
        {"app=web,env=prod", 260}, {"", 40}, {"app=api", 31}, {"app=api,env=dev", 15}};
    check_series(&c->v, by_default, 4);
    /* targetLabels: env alone */
    osp_str env = OSP_STR_LIT("env"),
            pod_app[] = {OSP_STR_LIT("pod"), OSP_STR_LIT("app"), OSP_STR_LIT("pod")};
    q.targets = &env;
    q.ntargets = 1;
    run(&c->f, &q, &c->a, &c->v);
    const want_series by_env[] = {{"env=prod", 260}, {"", 71}, {"env=dev", 15}};
    check_series(&c->v, by_env, 3);
    /* repeated names count once; the limit keeps the largest */
    q.targets = pod_app;
    q.ntargets = 3;
    q.limit = 3;
    run(&c->f, &q, &c->a, &c->v);
    const want_series by_pod[] = {{"app=web,pod=w1", 210}, {"app=web,pod=w2", 50}, {"", 40}};
    check_series(&c->v, by_pod, 3);
}

static void test_series_of_label_names(void **state)
{
    case_ctx *c = *state;
    osp_str names[] = {OSP_STR_LIT("env"), OSP_STR_LIT("app"), OSP_STR_LIT("nope")};
    osp_log_volume_query q = {.m = app_any,
                              .n = 2,
                              .start_ns = T0,
                              .end_ns = T0 + 20 * SEC,
                              .targets = names,
                              .ntargets = 3,
                              .by_labels = 1};
    run(&c->f, &q, &c->a, &c->v);
    /* every stream that holds a name adds to it; the removed stream to none */
    const want_series want[] = {{"app=", 306}, {"env=", 275}};
    check_series(&c->v, want, 2);
}

static void test_steps(void **state)
{
    case_ctx *c = *state;
    static const osp_label_matcher api[] = {{OSP_MATCH_EQ, OSP_STR_LIT("app"), OSP_STR_LIT("api")}};
    /* [T0+2, T0+14): steps [2,6) [6,10) [10,14) */
    osp_log_volume_query q = {
        .m = api, .n = 1, .start_ns = T0 + 2 * SEC, .end_ns = T0 + 14 * SEC, .step_ns = 4 * SEC};
    run(&c->f, &q, &c->a, &c->v);
    assert_int_equal(c->v.nsteps, 3);
    assert_int_equal(c->v.nseries, 1);
    assert_int_equal(c->v.series[0].bytes, 7 + 30 + 3 + 5);
    assert_int_equal(c->v.series[0].step_bytes[0], 7 + 30);
    assert_int_equal(c->v.series[0].step_bytes[1], 3);
    assert_int_equal(c->v.series[0].step_bytes[2], 5);
    assert_int_equal(c->f.grouped, 0); /* 2 at 9 s and 12 s fall in different steps */
    /* a partial last step */
    q.end_ns = T0 + 15 * SEC;
    run(&c->f, &q, &c->a, &c->v);
    assert_int_equal(c->v.nsteps, 4);
    assert_int_equal(c->v.series[0].step_bytes[3], 0);
    /* without a step, no steps */
    q.step_ns = 0;
    run(&c->f, &q, &c->a, &c->v);
    assert_int_equal(c->v.nsteps, 0);
    assert_null(c->v.series[0].step_bytes);
}

static void test_errors(void **state)
{
    case_ctx *c = *state;
    osp_logql_source src;
    src = source(&c->f);
    osp_log_volume_query q = {.m = app_any, .n = 0, .start_ns = T0, .end_ns = T0 + 20 * SEC};
    assert_int_equal(osp_log_volume_compute(&src, &q, &c->a, &c->v), OSP_EINVAL); /* no matcher */
    q.n = 2;
    q.end_ns = T0 - 1;
    assert_int_equal(osp_log_volume_compute(&src, &q, &c->a, &c->v), OSP_EINVAL); /* end < start */
    q.end_ns = T0 + 20 * SEC;
    q.step_ns = 1; /* 20e9 steps */
    assert_int_equal(osp_log_volume_compute(&src, &q, &c->a, &c->v), OSP_EINVAL);
    /* series × steps past the bound */
    osp_str pod = OSP_STR_LIT("pod");
    q.targets = &pod;
    q.ntargets = 1;
    q.step_ns = 20 * SEC / (OSP_LOG_VOLUME_MAX_CELLS / 2);
    assert_int_equal(osp_log_volume_compute(&src, &q, &c->a, &c->v), OSP_ETOOBIG);
    /* the source's error */
    q.step_ns = 0;
    c->f.fail_with = OSP_EIO;
    assert_int_equal(osp_log_volume_compute(&src, &q, &c->a, &c->v), OSP_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stats_count_streams_runs_records_and_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_series_of_the_matchers_names_largest_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_series_of_label_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
