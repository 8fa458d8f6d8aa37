/* Unit tests for query/logql_eval: a corpus of LogQL queries over a small fixed data set
 * with the results Loki's documented semantics give, rendered as text, plus error cases.
 * The source is an in-memory fixture that honours the store's log contract (matchers,
 * time range, needles, trace id, limit, direction, keep). */
#include "testutil.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/re2.h"
#include "model/attr.h"
#include "model/loglevel.h"
#include "model/logstream.h"
#include "query/logql.h"
#include "query/logql_eval.h"

#include "labeltext.h"

/* ---- the fixture ---- */

typedef struct rec {
    const char *stream; /* "a=b,c=d" (sorted) */
    int64_t t;          /* seconds */
    const char *line;
    const char *attrs; /* structured metadata "k=v,k=v" or NULL */
} rec;

static const rec data[] = {
    {"app=api,env=prod", 10,
     "{\"level\":\"info\",\"status\":200,\"latency\":\"15ms\",\"user\":{\"id\":7,\"name\":\"ann\"},"
     "\"tags\":[1,2]}",
     "pod=p1"},
    {"app=api,env=prod", 20,
     "{\"level\":\"error\",\"status\":500,\"latency\":\"250ms\",\"user\":{\"id\":8,\"name\":"
     "\"bob\"},"
     "\"app\":\"x\"}",
     "pod=p2"},
    {"app=web,env=prod", 30, "level=info status=200 dur=1.5s size=2KB msg=\"hello world\"", NULL},
    {"app=web,env=prod", 40, "level=warn status=404 dur=30ms size=512B msg=oops", NULL},
    {"app=api,env=dev", 50, "GET /index.html 200 12", NULL},
    {"app=api,env=prod", 60, "not json at all", NULL},
    {"app=api,env=dev", 70, "\x1b[31mred\x1b[0m text", NULL},
    {"app=web,env=prod", 80, "level=error status=503 dur=abc size=1MB", NULL},
};
#define NDATA (sizeof data / sizeof data[0])

typedef struct fixture {
    osp_log_batch b;
    osp_arena arena;
    const char *streams[NDATA]; /* distinct stream texts; id = index */
    size_t nstreams;
    uint64_t sid[NDATA];
    int selects, keeps;  /* calls seen */
    size_t needles;      /* needles of the last query */
    osp_log_batch times; /* the records as a times_only scan gives them: their time alone */
    int times_only;      /* scans asked for times_only */
    osp_log_batch bare;  /* the records as a no_lines scan gives them: with no body */
    int no_lines;        /* scans asked for no_lines */
    int grouped;         /* records a times_only scan passed in another's view */
} fixture;

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    osp_arena_init(&f->arena, 0, 0);
    osp_log_batch_init(&f->b);
    osp_log_batch_init(&f->times);
    osp_log_batch_init(&f->bare);
    assert_non_null(osp_log_batch_add_resource(&f->b));
    assert_non_null(osp_log_batch_add_scope(&f->b));
    assert_non_null(osp_log_batch_add_resource(&f->bare));
    assert_non_null(osp_log_batch_add_scope(&f->bare));
    for (size_t i = 0; i < NDATA; i++) {
        size_t s = 0;
        while (s < f->nstreams && strcmp(f->streams[s], data[i].stream))
            s++;
        if (s == f->nstreams)
            f->streams[f->nstreams++] = data[i].stream;
        f->sid[i] = s;
        osp_log_record *r = osp_log_batch_add_record(&f->b);
        osp_buf body, attrs;
        osp_buf_init(&body, 0);
        osp_buf_init(&attrs, 0);
        osp_value v = {.type = OSP_VAL_STRING, .s = osp_str_c(data[i].line)};
        assert_int_equal(osp_value_put(&body, &v), 0);
        size_t na;
        osp_label *al = test_labels(&f->arena, data[i].attrs, &na);
        for (size_t k = 0; k < na; k++) {
            osp_value av = {.type = OSP_VAL_STRING, .s = al[k].value};
            assert_int_equal(osp_attr_append(&attrs, al[k].name, &av), 0);
        }
        r->time_ns = (uint64_t)data[i].t * 1000000000u;
        r->has_body = 1;
        r->body = osp_arena_strdup(&f->arena, osp_buf_str(&body));
        r->attributes = osp_arena_strdup(&f->arena, osp_buf_str(&attrs));
        r->labels_from = OSP_LOG_LABELS_ALL;
        osp_buf_cleanup(&body);
        osp_buf_cleanup(&attrs);
        *osp_log_batch_add_record(&f->times) =
            (osp_log_record){.time_ns = r->time_ns, .resource = UINT32_MAX, .scope = UINT32_MAX};
        osp_log_record *bare = osp_log_batch_add_record(&f->bare);
        *bare = *r;
        bare->has_body = 0;
        bare->body = OSP_STR_NULL;
        /* as the log part writer keeps it */
        osp_buf scratch;
        osp_buf_init(&scratch, 0);
        bare->level = (uint8_t)osp_log_level_to_keep(&f->b, r, &scratch);
        osp_buf_cleanup(&scratch);
    }
}

static void fixture_cleanup(fixture *f)
{
    osp_log_batch_cleanup(&f->b);
    osp_log_batch_cleanup(&f->times);
    osp_log_batch_cleanup(&f->bare);
    osp_arena_cleanup(&f->arena);
}

static int fx_stream_labels(void *ctx, uint64_t stream, osp_arena *arena, osp_label **labels,
                            size_t *n)
{
    fixture *f = ctx;
    if (stream >= f->nstreams)
        return OSP_ENOTFOUND;
    *labels = test_labels(arena, f->streams[stream], n);
    return 0;
}

/* 1 when record i is one q selects. */
static int selected(fixture *f, const osp_log_query *q, size_t i, osp_str line)
{
    osp_arena a;
    osp_label *l = NULL;
    size_t n = 0;
    int ok = 1;
    uint64_t t = osp_log_time(&f->b.records[i]);
    if (t < q->start_ns || (q->end_ns && t >= q->end_ns))
        return 0;
    for (size_t k = 0; k < q->nneedles; k++)
        if (!memmem(line.p, line.n, q->needles[k].p, q->needles[k].n))
            return 0;
    if (q->trace_id && memcmp(q->trace_id, f->b.records[i].trace_id, 16))
        return 0;
    osp_arena_init(&a, 0, 0);
    fx_stream_labels(f, f->sid[i], &a, &l, &n);
    for (size_t k = 0; k < q->n && ok; k++) {
        const osp_label_matcher *m = &q->m[k];
        osp_str v = osp_labels_get(l, n, m->name);
        if (m->type == OSP_MATCH_EQ || m->type == OSP_MATCH_NEQ) {
            ok = osp_str_eq(v, m->value) == (m->type == OSP_MATCH_EQ);
        } else {
            osp_re2 re;
            assert_int_equal(osp_re2_compile(&re, m->value, OSP_RE2_ANCHORED, NULL, 0), 0);
            ok = (osp_re2_match(&re, v, NULL, 0) == 1) == (m->type == OSP_MATCH_RE);
            osp_re2_cleanup(&re);
        }
    }
    osp_arena_cleanup(&a);
    return ok;
}

static osp_log_view view(fixture *f, size_t i)
{
    return (osp_log_view){f->sid[i], &f->b, i, osp_str_c(data[i].line), strlen(data[i].line), 0};
}

/* With alike_until, a times_only scan holds back a stream's consecutive records with
 * times alike as one view (the first one's, with more), as the contract allows. */
static int fx_scan(void *ctx, const osp_log_query *q, osp_log_fn fn, void *fn_ctx)
{
    fixture *f = ctx;
    int times_only = q->times_only && !q->nneedles && !q->trace_id && !q->span_id;
    int no_lines = q->no_lines && !q->nneedles;
    osp_log_view held = {0};
    uint64_t lo = 0, hi = 0;
    int holding = 0, rc;
    assert_true(q->n >= 1);
    f->needles = q->nneedles;
    f->times_only += times_only;
    f->no_lines += no_lines;
    for (size_t k = NDATA; k-- > 0;) { /* in no particular order: here backwards */
        osp_log_view v = view(f, k);
        uint64_t t = (uint64_t)data[k].t * 1000000000u;
        if (!selected(f, q, k, v.line))
            continue;
        if (times_only) /* as bare as the contract allows */
            v = (osp_log_view){f->sid[k], &f->times, k, osp_str_c(""), v.size, 0};
        else if (no_lines)
            v = (osp_log_view){f->sid[k], &f->bare, k, osp_str_c(""), v.size, 0};
        if (holding && v.stream == held.stream &&
            q->alike_until(t < lo ? t : lo, q->alike_ctx) >= (t > hi ? t : hi)) {
            held.more++;
            held.size += v.size;
            lo = t < lo ? t : lo;
            hi = t > hi ? t : hi;
            f->grouped++;
            continue;
        }
        if (holding && (rc = fn(&held, fn_ctx)))
            return rc;
        holding = times_only && q->alike_until;
        if (holding) {
            held = v;
            lo = hi = t;
        } else if ((rc = fn(&v, fn_ctx))) {
            return rc;
        }
    }
    return holding ? fn(&held, fn_ctx) : 0;
}

/* Every stream: the contract allows more than the matchers select. */
static int fx_streams(void *ctx, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                      uint64_t end_ns, osp_arena *arena, uint64_t **ids, size_t *nids)
{
    fixture *f = ctx;
    *ids = osp_arena_alloc(arena, (f->nstreams + 1) * sizeof **ids);
    for (size_t i = 0; *ids && i < f->nstreams; i++)
        (*ids)[i] = i;
    *nids = f->nstreams;
    return *ids ? 0 : OSP_ENOMEM;
}

static int fx_select(void *ctx, const osp_log_query *q, osp_log_keep_fn keep, void *keep_ctx,
                     osp_log_batch *out, uint64_t **streams)
{
    fixture *f = ctx;
    size_t limit = q->limit ? q->limit : 100, n = 0;
    f->selects++;
    f->needles = q->nneedles;
    *streams = osp_arena_alloc(&out->arena, (NDATA + 1) * sizeof **streams);
    assert_non_null(osp_log_batch_add_resource(out));
    assert_non_null(osp_log_batch_add_scope(out));
    for (size_t j = 0; j < NDATA && n < limit; j++) { /* data is in time order */
        size_t i = q->forward ? j : NDATA - 1 - j;
        osp_log_view v = view(f, i);
        if (!selected(f, q, i, v.line))
            continue;
        int k = keep ? keep(&v, keep_ctx) : 1;
        f->keeps++;
        if (k < 0)
            return k;
        if (k == 0)
            continue;
        *osp_log_batch_add_record(out) = f->b.records[i];
        (*streams)[n++] = f->sid[i];
    }
    return 0;
}

/* ---- rendering results ---- */

static void put_labels(osp_buf *b, const osp_label *l, size_t n)
{
    osp_buf_putc(b, '{');
    for (size_t i = 0; i < n; i++)
        osp_buf_printf(b, "%s%.*s=\"%.*s\"", i ? ", " : "", OSP_STR_FMT(l[i].name),
                       OSP_STR_FMT(l[i].value));
    osp_buf_putc(b, '}');
}

/* Streams as "{labels} t=line t=line" lines, series as "{labels} v@t ..." (t seconds). */
static void render(const osp_logql_result *r, osp_buf *b)
{
    if (r->type == OSP_LOGQL_RESULT_SCALAR) {
        osp_buf_printf(b, "scalar %g", r->scalar);
        return;
    }
    for (size_t i = 0; i < r->nstreams; i++) {
        const osp_logql_stream *s = &r->streams[i];
        if (i)
            osp_buf_putc(b, '\n');
        put_labels(b, s->labels, s->nlabels);
        for (size_t k = 0; k < s->n; k++)
            osp_buf_printf(b, " %llu=%.*s", (unsigned long long)(s->entries[k].t_ns / 1000000000u),
                           OSP_STR_FMT(s->entries[k].line));
    }
    for (size_t i = 0; i < r->nseries; i++) {
        const osp_series *s = &r->series[i];
        if (i)
            osp_buf_putc(b, '\n');
        put_labels(b, s->labels, s->nlabels);
        for (size_t k = 0; k < s->nsamples; k++)
            osp_buf_printf(b, " %g@%lld", s->samples[k].v, (long long)(s->samples[k].t_ms / 1000));
    }
}

typedef struct qcase {
    const char *q;
    int64_t start, end, step; /* seconds; step 0: instant at end */
    size_t limit;
    int forward;
    const char *want; /* rendered result, or the error message's start when rc != 0 */
    int rc;
} qcase;

static int run_case(fixture *f, const qcase *c, osp_logql_opts *opts, osp_logql_result *res,
                    osp_arena *arena, char *err, size_t errlen)
{
    osp_logql_expr *e;
    char perr[256];
    int rc = osp_logql_parse(osp_str_c(c->q), arena, &e, perr, sizeof perr);
    if (rc) {
        fprintf(stderr, "parse failed: %s: %s\n", c->q, perr);
        return rc;
    }
    osp_logql_source src = {f, fx_scan, fx_select, fx_stream_labels, fx_streams};
    return osp_logql_eval(&src, e, (uint64_t)c->start * 1000000000u, (uint64_t)c->end * 1000000000u,
                          c->step * 1000, opts, arena, res, err, errlen);
}

static void check_cases(const qcase *cases, size_t n)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        const qcase *c = &cases[i];
        fixture f;
        osp_arena arena;
        osp_logql_result res;
        osp_logql_opts opts = {.limit = c->limit, .forward = c->forward};
        char err[1024];
        osp_buf b;
        fixture_init(&f);
        osp_arena_init(&arena, 0, 0);
        osp_buf_init(&b, 0);
        int rc = run_case(&f, c, &opts, &res, &arena, err, sizeof err);
        if (rc == 0)
            render(&res, &b);
        osp_buf_putc(&b, 0);
        if (rc != c->rc || (rc == 0 && strcmp(b.data, c->want)) ||
            (rc != 0 && strncmp(err, c->want, strlen(c->want)))) {
            fprintf(stderr, "case %zu: %s\n  rc %d (want %d)\n  got:  %s\n  want: %s\n", i, c->q,
                    rc, c->rc, rc ? err : b.data, c->want);
            failed++;
        }
        osp_buf_cleanup(&b);
        osp_arena_cleanup(&arena);
        fixture_cleanup(&f);
    }
    assert_int_equal(failed, 0);
}

/* ---- log queries ---- */

#define W "{app=\"web\", env=\"prod\""

static const qcase log_cases[] = {
    /* detected_level filters like a label */
    {"{app=~\".+\"} | detected_level=~\"warn|error\" | keep app, detected_level | line_format "
     "\"{{.detected_level}}\"",
     0, 100, 1, 0, 0,
     "{app=\"api\", detected_level=\"error\"} 20=error\n{app=\"web\", detected_level=\"error\"} "
     "80=error\n{app=\"web\", detected_level=\"warn\"} 40=warn",
     0},
    /* selectors, direction, limit, time range [start, end) */
    {"{app=\"web\"}", 0, 100, 1, 0, 0,
     "{app=\"web\", detected_level=\"error\", env=\"prod\"} 80=level=error status=503 dur=abc "
     "size=1MB\n{app=\"web\", detected_level=\"info\", env=\"prod\"} 30=level=info status=200 "
     "dur=1.5s size=2KB msg=\"hello world\"\n{app=\"web\", detected_level=\"warn\", env=\"prod\"} "
     "40=level=warn status=404 dur=30ms size=512B msg=oops",
     0},
    {"{app=\"web\"}", 0, 100, 1, 2, 1,
     "{app=\"web\", detected_level=\"info\", env=\"prod\"} 30=level=info status=200 dur=1.5s "
     "size=2KB msg=\"hello world\"\n{app=\"web\", detected_level=\"warn\", env=\"prod\"} "
     "40=level=warn status=404 dur=30ms size=512B msg=oops",
     0},
    {"{app=\"web\"}", 30, 80, 1, 0, 0,
     "{app=\"web\", detected_level=\"info\", env=\"prod\"} 30=level=info status=200 dur=1.5s "
     "size=2KB msg=\"hello world\"\n{app=\"web\", detected_level=\"warn\", env=\"prod\"} "
     "40=level=warn status=404 dur=30ms size=512B msg=oops",
     0},
    {"{env=~\"d.*\"}", 0, 100, 1, 0, 0,
     "{app=\"api\", detected_level=\"unknown\", env=\"dev\"} 70=\x1b[31mred\x1b[0m text 50=GET "
     "/index.html 200 12",
     0},
    {"{app=\"api\", env!=\"prod\"} |= \"GET\"", 0, 100, 1, 0, 0,
     "{app=\"api\", detected_level=\"unknown\", env=\"dev\"} 50=GET /index.html 200 12", 0},
    /* limit over all streams: the newest two */
    {"{app=~\".+\"}", 0, 100, 1, 2, 0,
     "{app=\"api\", detected_level=\"unknown\", env=\"dev\"} 70=\x1b[31mred\x1b[0m "
     "text\n{app=\"web\", detected_level=\"error\", env=\"prod\"} 80=level=error status=503 "
     "dur=abc size=1MB",
     0},
    /* line filters */
    {"{app=\"web\"} |= \"status=4\" or \"status=5\"", 0, 100, 1, 0, 0,
     "{app=\"web\", detected_level=\"error\", env=\"prod\"} 80=level=error status=503 dur=abc "
     "size=1MB\n{app=\"web\", detected_level=\"warn\", env=\"prod\"} 40=level=warn status=404 "
     "dur=30ms size=512B msg=oops",
     0},
    {"{app=\"web\"} != \"info\" != \"warn\"", 0, 100, 1, 0, 0,
     "{app=\"web\", detected_level=\"error\", env=\"prod\"} 80=level=error status=503 dur=abc "
     "size=1MB",
     0},
    {"{app=\"web\"} |~ \"status=[45]0[34]\"", 0, 100, 1, 0, 0,
     "{app=\"web\", detected_level=\"error\", env=\"prod\"} 80=level=error status=503 dur=abc "
     "size=1MB\n{app=\"web\", detected_level=\"warn\", env=\"prod\"} 40=level=warn status=404 "
     "dur=30ms size=512B msg=oops",
     0},
    {"{app=\"web\"} !~ \"(?i)ERROR|warn\"", 0, 100, 1, 0, 0,
     "{app=\"web\", detected_level=\"info\", env=\"prod\"} 30=level=info status=200 dur=1.5s "
     "size=2KB msg=\"hello world\"",
     0},
    /* logfmt and label filters */
    {"{app=\"web\"} | logfmt | status >= 400 and level != \"error\"", 0, 100, 1, 0, 0,
     "{app=\"web\", detected_level=\"warn\", dur=\"30ms\", env=\"prod\", level=\"warn\", "
     "msg=\"oops\", size=\"512B\", status=\"404\"} 40=level=warn status=404 dur=30ms size=512B "
     "msg=oops",
     0},
    {"{app=\"web\"} | logfmt | dur > 1s", 0, 100, 1, 0, 0,
     "{__error__=\"LabelFilterErr\", __error_details__=\"time: invalid duration \"abc\"\", "
     "app=\"web\", detected_level=\"error\", dur=\"abc\", env=\"prod\", level=\"error\", "
     "size=\"1MB\", status=\"503\"} 80=level=error status=503 dur=abc size=1MB\n{app=\"web\", "
     "detected_level=\"info\", dur=\"1.5s\", env=\"prod\", level=\"info\", msg=\"hello world\", "
     "size=\"2KB\", status=\"200\"} 30=level=info status=200 dur=1.5s size=2KB msg=\"hello world\"",
     0},
    {"{app=\"web\"} | logfmt | size > 1KB | level=~\"info|error\"", 0, 100, 1, 0, 0,
     "{app=\"web\", detected_level=\"error\", dur=\"abc\", env=\"prod\", level=\"error\", "
     "size=\"1MB\", status=\"503\"} 80=level=error status=503 dur=abc size=1MB\n{app=\"web\", "
     "detected_level=\"info\", dur=\"1.5s\", env=\"prod\", level=\"info\", msg=\"hello world\", "
     "size=\"2KB\", status=\"200\"} 30=level=info status=200 dur=1.5s size=2KB msg=\"hello world\"",
     0},
    {"{app=\"web\"} | logfmt level, code=\"status\" | code == 404 or level=\"info\" | keep code", 0,
     100, 1, 0, 0,
     "{code=\"200\"} 30=level=info status=200 dur=1.5s size=2KB msg=\"hello "
     "world\"\n{code=\"404\"} 40=level=warn status=404 dur=30ms size=512B msg=oops",
     0},
    /* logfmt on a line that is not logfmt: a syntax error skips the pair; --strict stops
     * there and sets the error */
    {"{app=\"api\", env=\"prod\"} |= \"ann\" | logfmt", 0, 100, 1, 0, 0,
     "{app=\"api\", detected_level=\"info\", env=\"prod\", pod=\"p1\"} "
     "10={\"level\":\"info\",\"status\":200,\"latency\":\"15ms\",\"user\":{\"id\":7,\"name\":"
     "\"ann\"},\"tags\":[1,2]}",
     0},
    {"{app=\"api\", env=\"prod\"} |= \"ann\" | logfmt --strict | keep __error__, __error_details__",
     0, 100, 1, 0, 0,
     "{__error__=\"LogfmtParserErr\", __error_details__=\"logfmt syntax error at pos 2 : "
     "unexpected '\"'\"} 10={\"level\":\"info\",\"status\":200,\"latency\":\"15ms\",\"user\":{"
     "\"id\":7,\"name\":\"ann\"},\"tags\":[1,2]}",
     0},
    {"{app=\"web\"} |= \"oops\" | line_format \"a=b {{ b64dec \\\"/w==\\\" }}=v\" | logfmt "
     "--strict | "
     "keep a, __error_details__",
     0, 100, 1, 0, 0,
     "{__error__=\"LogfmtParserErr\", __error_details__=\"logfmt syntax error at pos 6 : invalid "
     "key\", a=\"b\"} 40=a=b \xff=v",
     0},
    {"{app=\"api\", env=\"prod\"} | logfmt --strict | __error__ = \"\"", 0, 100, 1, 0, 0,
     "{app=\"api\", detected_level=\"unknown\", env=\"prod\"} 60=not json at all", 0},
    {"sum(count_over_time({app=\"api\"} | logfmt [100s]))", 100, 100, 0, 100, 0, "{} 5@100", 0},
    /* json: nested keys joined with '_', arrays skipped, clash with a stream label */
    {"{app=\"api\", env=\"prod\"} |= \"ann\" | json", 0, 100, 1, 0, 0,
     "{app=\"api\", detected_level=\"info\", env=\"prod\", latency=\"15ms\", level=\"info\", "
     "pod=\"p1\", status=\"200\", user_id=\"7\", user_name=\"ann\"} "
     "10={\"level\":\"info\",\"status\":200,\"latency\":\"15ms\",\"user\":{\"id\":7,\"name\":"
     "\"ann\"},\"tags\":[1,2]}",
     0},
    {"{app=\"api\", env=\"prod\"} |= \"bob\" | json | drop latency, level, user_id", 0, 100, 1, 0,
     0,
     "{app=\"api\", app_extracted=\"x\", detected_level=\"error\", env=\"prod\", pod=\"p2\", "
     "status=\"500\", user_name=\"bob\"} "
     "20={\"level\":\"error\",\"status\":500,\"latency\":\"250ms\",\"user\":{\"id\":8,\"name\":"
     "\"bob\"},\"app\":\"x\"}",
     0},
    {"{app=\"api\", env=\"prod\"} | json name=\"user.name\", t=\"tags[1]\" | line_format "
     "\"{{.name}}:{{.t}}\"",
     0, 100, 1, 0, 0,
     "{__error__=\"JSONParserErr\", app=\"api\", detected_level=\"unknown\", env=\"prod\"} "
     "60=:\n{app=\"api\", detected_level=\"error\", env=\"prod\", name=\"bob\", pod=\"p2\"} "
     "20=bob:\n{app=\"api\", detected_level=\"info\", env=\"prod\", name=\"ann\", pod=\"p1\", "
     "t=\"2\"} 10=ann:2",
     0},
    {"{app=\"api\", env=\"prod\"} != \"{\" | json", 0, 100, 1, 0, 0,
     "{__error__=\"JSONParserErr\", __error_details__=\"Value looks like object, but can't find "
     "closing '}' symbol\", app=\"api\", detected_level=\"unknown\", env=\"prod\"} 60=not json at "
     "all",
     0},
    {"{app=\"api\", env=\"prod\"} | json | __error__=\"\" | latency > 100ms | keep status", 0, 100,
     1, 0, 0,
     "{status=\"500\"} "
     "20={\"level\":\"error\",\"status\":500,\"latency\":\"250ms\",\"user\":{\"id\":8,\"name\":"
     "\"bob\"},\"app\":\"x\"}",
     0},
    {"{app=\"api\", env=\"prod\"} | json | drop __error__, __error_details__ | line_format "
     "\"{{.level | default \\\"none\\\"}}\"",
     0, 100, 1, 0, 0,
     "{app=\"api\", app_extracted=\"x\", detected_level=\"error\", env=\"prod\", "
     "latency=\"250ms\", level=\"error\", pod=\"p2\", status=\"500\", user_id=\"8\", "
     "user_name=\"bob\"} 20=error\n{app=\"api\", detected_level=\"info\", env=\"prod\", "
     "latency=\"15ms\", level=\"info\", pod=\"p1\", status=\"200\", user_id=\"7\", "
     "user_name=\"ann\"} 10=info\n{app=\"api\", detected_level=\"unknown\", env=\"prod\"} 60=none",
     0},
    /* regexp, pattern */
    {"{env=\"dev\"} | regexp \"(?P<method>\\\\w+) (?P<path>\\\\S+) (?P<code>\\\\d+)\"", 0, 100, 1,
     0, 0,
     "{app=\"api\", code=\"200\", detected_level=\"unknown\", env=\"dev\", method=\"GET\", "
     "path=\"/index.html\"} 50=GET /index.html 200 12\n{app=\"api\", detected_level=\"unknown\", "
     "env=\"dev\"} 70=\x1b[31mred\x1b[0m text",
     0},
    {"{env=\"dev\"} |= \"GET\" | pattern \"<method> <_> <code> <size>\" | line_format "
     "\"{{.method}} {{.size}} {{.code}}\"",
     0, 100, 1, 0, 0,
     "{app=\"api\", code=\"200\", detected_level=\"unknown\", env=\"dev\", method=\"GET\", "
     "size=\"12\"} 50=GET 12 200",
     0},
    /* decolorize, then a filter on the new line */
    {"{env=\"dev\"} | decolorize |= \"red text\"", 0, 100, 1, 0, 0,
     "{app=\"api\", detected_level=\"unknown\", env=\"dev\"} 70=red text", 0},
    /* line_format: functions, __line__, __timestamp__, if/else, filters on the new line */
    {"{app=\"web\"} | logfmt | line_format \"{{ .level | ToUpper }} {{ printf \\\"%d-%s\\\" 7 "
     ".status }}\" |= \"WARN\"",
     0, 100, 1, 0, 0,
     "{app=\"web\", detected_level=\"warn\", dur=\"30ms\", env=\"prod\", level=\"warn\", "
     "msg=\"oops\", size=\"512B\", status=\"404\"} 40=WARN 7-404",
     0},
    {"{app=\"web\"} |= \"warn\" | logfmt | line_format `{{if eq .level \"warn\"}}W{{else if eq "
     ".level \"info\"}}I{{else}}?{{end}}:{{ __line__ | replace \" \" \"_\" | toJson }}`",
     0, 100, 1, 0, 0, "", OSP_EEXEC},
    {"{app=\"web\"} |= \"warn\" | logfmt | line_format `{{if eq .level \"warn\"}}W{{else if eq "
     ".level \"info\"}}I{{else}}?{{end}}:{{ __line__ | replace \" \" \"_\" }}`",
     0, 100, 1, 0, 0,
     "{app=\"web\", detected_level=\"warn\", dur=\"30ms\", env=\"prod\", level=\"warn\", "
     "msg=\"oops\", size=\"512B\", status=\"404\"} "
     "40=W:level=warn_status=404_dur=30ms_size=512B_msg=oops",
     0},
    {"{env=\"dev\"} |= \"GET\" | line_format \"{{ __timestamp__ }} {{ TrimPrefix .app \\\"a\\\" }} "
     "{{ .missing }}|{{- \\\" x \\\" | trim -}} |\"",
     0, 100, 1, 0, 0,
     "{app=\"api\", detected_level=\"unknown\", env=\"dev\"} 50=1970-01-01 00:00:50 +0000 UTC pi "
     "|x|",
     0},
    /* label_format: rename and template */
    {"{env=\"dev\"} |= \"GET\" | label_format where=env, both=\"{{.app}}/{{.env}}\"", 0, 100, 1, 0,
     0,
     "{app=\"api\", both=\"api/\", detected_level=\"unknown\", where=\"dev\"} 50=GET /index.html "
     "200 12",
     0},
    /* keep with a matcher, drop with a matcher */
    {"{app=\"web\"} | logfmt | keep level=\"warn\", status | drop status=~\"2..\"", 0, 100, 1, 0, 0,
     "{} 30=level=info status=200 dur=1.5s size=2KB msg=\"hello world\"\n{level=\"warn\", "
     "status=\"404\"} 40=level=warn status=404 dur=30ms size=512B msg=oops\n{status=\"503\"} "
     "80=level=error status=503 dur=abc size=1MB",
     0},
    /* logfmt --strict sets an error; unpack without _entry keeps the line */
    {"{app=\"web\"} |= \"oops\" | logfmt --strict | line_format \"x\"", 0, 100, 1, 0, 0,
     "{app=\"web\", detected_level=\"warn\", dur=\"30ms\", env=\"prod\", level=\"warn\", "
     "msg=\"oops\", size=\"512B\", status=\"404\"} 40=x",
     0},
};

static void test_log_queries(void **state)
{
    (void)state;
    check_cases(log_cases, sizeof log_cases / sizeof log_cases[0]);
}

/* ---- metric queries ---- */

static const qcase metric_cases[] = {
    /* detected_level (Loki 3's level discovery) from each line: JSON, logfmt, or unknown.
     * A count reads no lines: records read without them carry their line's level. */
    {"sum by (detected_level) (count_over_time({app=~\".+\"}[100s]))", 100, 100, 0, 0, 0,
     "{detected_level=\"error\"} 2@100\n{detected_level=\"info\"} 2@100\n"
     "{detected_level=\"unknown\"} 3@100\n{detected_level=\"warn\"} 1@100",
     0},
    /* count_over_time: windows (t - range, t] */
    {"count_over_time({app=\"web\"}[20s])", 0, 80, 0, 0, 0,
     "{app=\"web\", detected_level=\"error\", env=\"prod\"} 1@80", 0},
    {"count_over_time({app=\"web\"}[10s])", 30, 50, 10, 0, 0,
     "{app=\"web\", detected_level=\"info\", env=\"prod\"} 1@30\n{app=\"web\", "
     "detected_level=\"warn\", env=\"prod\"} 1@40",
     0},
    {"count_over_time({app=\"web\"}[10s] offset 10s)", 40, 50, 10, 0, 0,
     "{app=\"web\", detected_level=\"info\", env=\"prod\"} 1@40\n{app=\"web\", "
     "detected_level=\"warn\", env=\"prod\"} 1@50",
     0},
    {"rate({app=\"api\"}[20s])", 60, 60, 0, 0, 0,
     "{app=\"api\", detected_level=\"unknown\", env=\"dev\"} 0.05@60\n{app=\"api\", "
     "detected_level=\"unknown\", env=\"prod\"} 0.05@60",
     0},
    {"sum by (env) (count_over_time({app=~\".+\"}[100s]))", 100, 100, 0, 0, 0,
     "{env=\"dev\"} 2@100\n{env=\"prod\"} 6@100", 0},
    {"sum(count_over_time({app=~\".+\"} |= \"status\" [100s]))", 100, 100, 0, 0, 0, "{} 5@100", 0},
    {"bytes_over_time({env=\"dev\"}[100s])", 100, 100, 0, 0, 0,
     "{app=\"api\", detected_level=\"unknown\", env=\"dev\"} 39@100", 0},
    {"bytes_rate({env=\"dev\"} | decolorize [10s])", 70, 70, 0, 0, 0,
     "{app=\"api\", detected_level=\"unknown\", env=\"dev\"} 0.8@70", 0},
    {"absent_over_time({app=\"web\", env=\"prod\"}[10s])", 0, 60, 20, 0, 0, W "} 1@0 1@20 1@60", 0},
    {"count_over_time({app=\"api\"} | json | __error__=\"\" [100s])", 100, 100, 0, 0, 0,
     "{app=\"api\", app_extracted=\"x\", detected_level=\"error\", env=\"prod\", "
     "latency=\"250ms\", level=\"error\", pod=\"p2\", status=\"500\", user_id=\"8\", "
     "user_name=\"bob\"} 1@100\n{app=\"api\", detected_level=\"info\", env=\"prod\", "
     "latency=\"15ms\", level=\"info\", pod=\"p1\", status=\"200\", user_id=\"7\", "
     "user_name=\"ann\"} 1@100",
     0},
    /* unwrap */
    {"sum_over_time({app=\"web\"} | logfmt | unwrap status | __error__=\"\" [100s])", 100, 100, 0,
     0, 0,
     "{app=\"web\", detected_level=\"error\", dur=\"abc\", env=\"prod\", level=\"error\", "
     "size=\"1MB\"} 503@100\n{app=\"web\", detected_level=\"info\", dur=\"1.5s\", env=\"prod\", "
     "level=\"info\", msg=\"hello world\", size=\"2KB\"} 200@100\n{app=\"web\", "
     "detected_level=\"warn\", dur=\"30ms\", env=\"prod\", level=\"warn\", msg=\"oops\", "
     "size=\"512B\"} 404@100",
     0},
    {"max_over_time({app=\"web\"} | logfmt | unwrap status [100s]) by (app)", 100, 100, 0, 0, 0,
     "{app=\"web\"} 503@100", 0},
    {"avg_over_time({app=\"web\"} | logfmt | unwrap duration(dur) | __error__=\"\" [100s]) by "
     "(env)",
     100, 100, 0, 0, 0, "{env=\"prod\"} 0.765@100", 0},
    {"sum by (env) (sum_over_time({app=\"web\"} | logfmt | unwrap bytes(size) [100s]))", 100, 100,
     0, 0, 0, "{env=\"prod\"} 1.00251e+06@100", 0},
    {"min_over_time({app=\"web\"} | logfmt | unwrap status [100s]) by (app)", 100, 100, 0, 0, 0,
     "{app=\"web\"} 200@100", 0},
    {"first_over_time({app=\"web\"} | logfmt | unwrap status [100s]) by (app)", 100, 100, 0, 0, 0,
     "{app=\"web\"} 200@100", 0},
    {"last_over_time({app=\"web\"} | logfmt | unwrap status [100s]) by (app)", 100, 100, 0, 0, 0,
     "{app=\"web\"} 503@100", 0},
    {"stdvar_over_time({app=\"web\"} | logfmt | unwrap status [100s]) by (app)", 100, 100, 0, 0, 0,
     "{app=\"web\"} 15914@100", 0},
    {"quantile_over_time(0.5, {app=\"web\"} | logfmt | unwrap status [100s]) by (app)", 100, 100, 0,
     0, 0, "{app=\"web\"} 404@100", 0},
    {"rate({app=\"web\"} | logfmt | unwrap status [100s]) by (app)", 100, 100, 0, 0, 0,
     "{app=\"web\"} 11.07@100", 0},
    {"rate_counter({app=\"web\"} | logfmt | unwrap status [100s]) by (app)", 100, 100, 0, 0, 0,
     "{app=\"web\"} 3.03001@100", 0},
    /* a conversion failure puts __error__ on the series: Loki's pipeline error */
    {"sum by (env) (sum_over_time({app=\"web\"} | logfmt | unwrap duration(dur) [100s]))", 100, 100,
     0, 0, 0,
     "pipeline error: 'SampleExtractionErr' for series: '{__error__=\"SampleExtractionErr\"",
     OSP_EEXEC},
    {"count_over_time({app=\"api\"} | json [100s])", 100, 100, 0, 0, 0,
     "pipeline error: 'JSONParserErr'", OSP_EEXEC},
    /* ... unless the query asks for parser errors (Loki's __preserve_error__): it groups by
     * them, or a filter or template reads __error__ under a "by" or sum() grouping */
    {"sum by (__error__) (count_over_time({app=\"web\"} | json [100s]))", 100, 100, 0, 0, 0,
     "{__error__=\"JSONParserErr\"} 3@100", 0},
    {"sum(count_over_time({app=\"web\"} | json | __error__=\"JSONParserErr\" [100s]))", 100, 100, 0,
     0, 0, "{} 3@100", 0},
    {"sum by (env) (count_over_time({app=\"web\"} | json | line_format \"{{.__error__}}\" "
     "[100s]))",
     100, 100, 0, 0, 0, "{env=\"prod\"} 3@100", 0},
    {"count_over_time({app=\"web\"} | json | __error__!=\"\" [100s])", 100, 100, 0, 0, 0,
     "pipeline error: 'JSONParserErr'", OSP_EEXEC},
    {"sum without (app) (count_over_time({app=\"web\"} | json [100s]))", 100, 100, 0, 0, 0,
     "pipeline error: 'JSONParserErr'", OSP_EEXEC},
    /* vector aggregations, binary operators, label_replace, literals */
    {"topk(1, count_over_time({app=~\".+\"}[100s]))", 100, 100, 0, 0, 0,
     "{app=\"api\", detected_level=\"unknown\", env=\"dev\"} 2@100", 0},
    {"bottomk(2, count_over_time({app=~\".+\"}[100s]))", 100, 100, 0, 0, 0,
     "{app=\"web\", detected_level=\"error\", env=\"prod\"} 1@100\n{app=\"api\", "
     "detected_level=\"unknown\", env=\"prod\"} 1@100",
     0},
    {"sort_desc(count_over_time({app=~\".+\"}[100s]))", 100, 100, 0, 0, 0,
     "{app=\"api\", detected_level=\"unknown\", env=\"dev\"} 2@100\n{app=\"web\", "
     "detected_level=\"error\", env=\"prod\"} 1@100\n{app=\"api\", detected_level=\"unknown\", "
     "env=\"prod\"} 1@100\n{app=\"web\", detected_level=\"warn\", env=\"prod\"} "
     "1@100\n{app=\"web\", detected_level=\"info\", env=\"prod\"} 1@100\n{app=\"api\", "
     "detected_level=\"error\", env=\"prod\", pod=\"p2\"} 1@100\n{app=\"api\", "
     "detected_level=\"info\", env=\"prod\", pod=\"p1\"} 1@100",
     0},
    {"count(count_over_time({app=~\".+\"}[100s]))", 100, 100, 0, 0, 0, "{} 7@100", 0},
    {"avg by (app) (count_over_time({app=~\".+\"}[100s]))", 100, 100, 0, 0, 0,
     "{app=\"api\"} 1.25@100\n{app=\"web\"} 1@100", 0},
    {"max without (env) (count_over_time({app=~\".+\"}[100s]))", 100, 100, 0, 0, 0,
     "{app=\"api\", detected_level=\"error\", pod=\"p2\"} 1@100\n{app=\"api\", "
     "detected_level=\"info\", pod=\"p1\"} 1@100\n{app=\"api\", detected_level=\"unknown\"} "
     "2@100\n{app=\"web\", detected_level=\"error\"} 1@100\n{app=\"web\", detected_level=\"info\"} "
     "1@100\n{app=\"web\", detected_level=\"warn\"} 1@100",
     0},
    {"stddev(count_over_time({app=~\".+\"}[100s]))", 100, 100, 0, 0, 0, "{} 0.349927@100", 0},
    {"count_over_time({app=~\".+\"}[100s]) > 2", 100, 100, 0, 0, 0, "", 0},
    {"count_over_time({app=~\".+\"}[100s]) > bool 2", 100, 100, 0, 0, 0,
     "{app=\"api\", detected_level=\"error\", env=\"prod\", pod=\"p2\"} 0@100\n{app=\"api\", "
     "detected_level=\"info\", env=\"prod\", pod=\"p1\"} 0@100\n{app=\"api\", "
     "detected_level=\"unknown\", env=\"dev\"} 0@100\n{app=\"api\", detected_level=\"unknown\", "
     "env=\"prod\"} 0@100\n{app=\"web\", detected_level=\"error\", env=\"prod\"} "
     "0@100\n{app=\"web\", detected_level=\"info\", env=\"prod\"} 0@100\n{app=\"web\", "
     "detected_level=\"warn\", env=\"prod\"} 0@100",
     0},
    {"sum by (app) (count_over_time({app=~\".+\"}[100s])) / on (app) group_left "
     "count_over_time({env=\"prod\"} | drop pod, detected_level [100s])",
     100, 100, 0, 0, 0, "{app=\"api\"} 1.66667@100\n{app=\"web\"} 1@100", 0},
    /* the levels split a stream's lines into series: no longer one per app */
    {"sum by (app) (count_over_time({app=~\".+\"}[100s])) / on (app) group_left "
     "count_over_time({env=\"prod\"} | drop pod [100s])",
     100, 100, 0, 0, 0,
     "found duplicate series for the match group {app=\"web\"} on the right hand-side of the "
     "operation: [{app=\"web\", detected_level=\"warn\", env=\"prod\"}, {app=\"web\", "
     "detected_level=\"error\", env=\"prod\"}];many-to-many matching not allowed: matching labels "
     "must be unique on one side",
     OSP_EEXEC},
    {"count_over_time({env=\"prod\"}[100s]) * ignoring(env) count_over_time({env=\"dev\"}[100s])",
     100, 100, 0, 0, 0, "{app=\"api\", detected_level=\"unknown\"} 2@100", 0},
    {"count_over_time({app=~\".+\"}[100s]) unless count_over_time({env=\"prod\"}[100s])", 100, 100,
     0, 0, 0, "{app=\"api\", detected_level=\"unknown\", env=\"dev\"} 2@100", 0},
    {"label_replace(count_over_time({env=\"dev\"}[100s]), \"x\", \"$1-y\", \"app\", \"(a)p.*\")",
     100, 100, 0, 0, 0, "{app=\"api\", detected_level=\"unknown\", env=\"dev\", x=\"a-y\"} 2@100",
     0},
    {"vector(3) + 1", 100, 100, 0, 0, 0, "{} 4@100", 0},
    {"2 * 3", 100, 100, 0, 0, 0, "scalar 6", 0},
    {"sum(count_over_time({app=\"web\"}[20s]))", 20, 80, 20, 0, 0, "{} 2@40 1@80", 0},
    /* sums, maxima and minima group as they read (lean records: metadata label by label) */
    {"sum by (pod) (count_over_time({app=\"api\"}[100s]))", 100, 100, 0, 0, 0,
     "{} 3@100\n{pod=\"p1\"} 1@100\n{pod=\"p2\"} 1@100", 0},
    {"sum by (pod, pod) (bytes_over_time({app=\"api\"} |= \"level\" [100s]))", 100, 100, 0, 0, 0,
     "{pod=\"p1\"} 88@100\n{pod=\"p2\"} 87@100", 0},
    /* a drop of other labels leaves the grouping as it was; a drop of a grouped label not */
    {"sum by (pod) (count_over_time({app=\"api\"} | drop __error__ [100s]))", 100, 100, 0, 0, 0,
     "{} 3@100\n{pod=\"p1\"} 1@100\n{pod=\"p2\"} 1@100", 0},
    {"sum by (app) (count_over_time({app=~\".+\"} | drop app, pod [100s]))", 100, 100, 0, 0, 0,
     "{} 8@100", 0},
    {"sum by (pod) (count_over_time({app=\"api\"} | drop pod [100s]))", 100, 100, 0, 0, 0,
     "{} 5@100", 0},
    {"sum by (env) (count_over_time({app=~\".+\"} | drop env=\"dev\" [100s]))", 100, 100, 0, 0, 0,
     "{} 2@100\n{env=\"prod\"} 6@100", 0},
    /* label filters on labels by name look those labels up alone (lean records), with the
     * answers of the full records */
    {"sum by (detected_level) (count_over_time({app=~\".+\"} | detected_level != \"unknown\" "
     "[100s]))",
     100, 100, 0, 0, 0,
     "{detected_level=\"error\"} 2@100\n{detected_level=\"info\"} 2@100\n"
     "{detected_level=\"warn\"} 1@100",
     0},
    {"sum by (app) (count_over_time({app=~\".+\"} | pod=~\"p.*\" or detected_level=\"warn\" "
     "[100s]))",
     100, 100, 0, 0, 0, "{app=\"api\"} 2@100\n{app=\"web\"} 1@100", 0},
    {"sum(count_over_time({app=\"api\"} | pod != \"p1\" [100s]))", 100, 100, 0, 0, 0, "{} 4@100",
     0},
    {"sum by (app) (count_over_time({app=~\".+\"} | app=\"web\", __error__=\"\" [100s]))", 100, 100,
     0, 0, 0, "{app=\"web\"} 3@100", 0},
    {"sum by (app) (count_over_time({app=~\".+\"} | drop pod | pod=\"\" [100s]))", 100, 100, 0, 0,
     0, "{app=\"api\"} 5@100\n{app=\"web\"} 3@100", 0},
    {"sum by (app) (count_over_time({app=~\".+\"} | __error__ != \"\" [100s]))", 100, 100, 0, 0, 0,
     "", 0},
    {"sum by (app) (count_over_time({app=~\".+\"} | env=\"prod\" | app!=\"xyz\" [100s]))", 100, 100,
     0, 0, 0, "{app=\"api\"} 3@100\n{app=\"web\"} 3@100", 0},
    {"sum by (env) (rate({app=~\".+\"} | app!=\"web\" [50s]))", 0, 100, 50, 0, 0,
     "{env=\"dev\"} 0.02@50 0.02@100\n{env=\"prod\"} 0.04@50 0.02@100", 0},
    {"sum by (pod) (count_over_time({app=~\".+\"} | pod=\"p2\" or app=\"web\" [100s]))", 100, 100,
     0, 0, 0, "{} 3@100\n{pod=\"p2\"} 1@100", 0},
    /* approx_topk: exact, on instant queries only */
    {"approx_topk(1, sum by (app) (count_over_time({app=~\".+\"}[100s])))", 100, 100, 0, 0, 0,
     "{app=\"api\"} 5@100", 0},
    {"approx_topk(1, sum by (app) (count_over_time({app=~\".+\"}[100s])))", 0, 100, 50, 0, 0,
     "approx_topk error: count min sketches are only supported on instant queries", OSP_EINVAL},
    /* lines with errors between the windows count nowhere: no pipeline error */
    {"count_over_time({app=\"api\", env=\"dev\"} | json [2s])", 25, 85, 30, 0, 0, "", 0},
    {"count_over_time({app=\"api\", env=\"dev\"} | json [2s])", 20, 80, 30, 0, 0,
     "pipeline error: 'JSONParserErr'", OSP_EEXEC},
    {"sum(count_over_time({app=~\".+\"}[25s] offset 5s))", 10, 90, 10, 0, 0,
     "{} 1@20 2@30 2@40 2@50 2@60 2@70 2@80 2@90", 0},
    {"sum by (app) (rate({app=~\".+\"}[5s]))", 10, 80, 20, 0, 0,
     "{app=\"api\"} 0.2@10 0.2@50 0.2@70\n{app=\"web\"} 0.2@30", 0},
    {"max by (env) (max_over_time({app=\"web\"} | logfmt | unwrap status [100s]))", 100, 100, 0, 0,
     0, "{env=\"prod\"} 503@100", 0},
    {"min by (env) (min_over_time({app=\"web\"} | logfmt | unwrap status [100s]))", 100, 100, 0, 0,
     0, "{env=\"prod\"} 200@100", 0},
    {"sum by (status) (sum_over_time({app=\"web\"} | logfmt | unwrap status [100s]))", 100, 100, 0,
     0, 0, "{} 1107@100", 0},
    {"sum(count_over_time({app=\"web\"}[10s])) or vector(0)", 20, 60, 20, 0, 0, "{} 0@20 1@40 0@60",
     0},
};

static void test_metric_queries(void **state)
{
    (void)state;
    check_cases(metric_cases, sizeof metric_cases / sizeof metric_cases[0]);
}

/* ---- errors and limits ---- */

static const qcase error_cases[] = {
    {"{app=\"web\"}", 50, 50, 0, 0, 0, "log queries are not supported as an instant query type",
     OSP_EINVAL},
    {"{app=\"web\"} | line_format \"{{ .a | nosuch }}\"", 0, 100, 1, 0, 0,
     "invalid line template: template: line:1: function \"nosuch\" not defined", OSP_EEXEC},
    {"{app=\"web\"} | line_format \"{{ define \\\"a\\\" }}{{ end }}\"", 0, 100, 1, 0, 0,
     "invalid line template: template: line:1: {{define}} is not supported", OSP_EEXEC},
    {"{app=\"web\"} | label_format x=\"{{ .a \"", 0, 100, 1, 0, 0, "invalid label template",
     OSP_EEXEC},
    {"{app=\"web\"}", 100, 0, 1, 0, 0, "invalid query range", OSP_EINVAL},
};

static void test_errors(void **state)
{
    (void)state;
    check_cases(error_cases, sizeof error_cases / sizeof error_cases[0]);
}

/* A runtime template error gives the entry TemplateFormatErr, as Loki. */
static const qcase template_error_cases[] = {
    {"{env=\"dev\"} |= \"GET\" | line_format \"{{ ToUpper }}\"", 0, 100, 1, 0, 0,
     "{__error__=\"TemplateFormatErr\", __error_details__=\"template: line:1: executing \"\": "
     "wrong number of args for ToUpper: want 1 got 0\", app=\"api\", detected_level=\"unknown\", "
     "env=\"dev\"} 50=GET /index.html 200 12",
     0},
    {"{env=\"dev\"} |= \"GET\" | line_format \"{{ printf \\\"%d|%s|%.2f|%v\\\" .app 3 1.5 true "
     "}}\"",
     0, 100, 1, 0, 0,
     "{app=\"api\", detected_level=\"unknown\", env=\"dev\"} "
     "50=%!d(string=api)|%!s(int=3)|1.50|true",
     0},
};

static void test_template_errors(void **state)
{
    (void)state;
    check_cases(template_error_cases, sizeof template_error_cases / sizeof template_error_cases[0]);
}

static void test_max_series(void **state)
{
    (void)state;
    fixture f;
    osp_arena arena;
    osp_logql_result res;
    osp_logql_opts opts = {.max_series = 4};
    char err[256];
    qcase c = {"count_over_time({app=~\".+\"}[100s])", 100, 100, 0, 0, 0, NULL, 0};
    fixture_init(&f);
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(run_case(&f, &c, &opts, &res, &arena, err, sizeof err), OSP_EEXEC);
    assert_string_equal(err, "maximum of series (4) reached for a single query");
    /* the whole query, one window: the fifth series fails it before the scan ends */
    assert_true(res.stats.lines < NDATA);
    qcase sum = {
        "sum by (app, pod) (count_over_time({app=~\".+\"}[100s]))", 100, 100, 0, 0, 0, NULL, 0};
    opts.max_series = 3; /* {api, p1}, {api, p2}, {api}, {web}: the sum's four */
    assert_int_equal(run_case(&f, &sum, &opts, &res, &arena, err, sizeof err), OSP_EEXEC);
    assert_int_equal(res.stats.lines, NDATA);
    opts.max_series = 4; /* the count under the sum has more series: the sum's are what count */
    assert_int_equal(run_case(&f, &sum, &opts, &res, &arena, err, sizeof err), 0);
    assert_int_equal(res.nseries, 4);
    /* a step longer than the range leaves records out of every window, and their series:
     * the records from 10 s to 70 s hold six series, the windows (5, 10], (25, 30], (45, 50]
     * and (65, 70] three */
    qcase gaps = {"count_over_time({app=~\".+\"}[5s])", 10, 80, 20, 0, 0, NULL, 0};
    assert_int_equal(run_case(&f, &gaps, &opts, &res, &arena, err, sizeof err), 0);
    assert_int_equal(res.stats.lines, NDATA - 1);
    assert_int_equal(res.nseries, 3);
    opts.max_series = 6;
    assert_int_equal(run_case(&f, &c, &opts, &res, &arena, err, sizeof err), OSP_EEXEC);
    /* api/prod: with pod p1 (info), with p2 (error) and without (unknown); api/dev (unknown);
     * web/prod: info, warn and error */
    opts.max_series = 7;
    assert_int_equal(run_case(&f, &c, &opts, &res, &arena, err, sizeof err), 0);
    assert_int_equal(res.nseries, 7);
    assert_int_equal(res.stats.lines, 8);
    osp_arena_cleanup(&arena);
    fixture_cleanup(&f);
}

/* A template that works as hard as it may counts toward the deadline as thousands of
 * records would: the query stops at its next record rather than after 4096 of them. */
static void test_template_work_meets_deadline(void **state)
{
    (void)state;
    fixture f;
    osp_arena arena;
    osp_logql_result res;
    osp_logql_opts opts = {0};
    char err[256];
    qcase c = {
        "{app=~\".+\"} | line_format \"{{ range 2000000 }}{{ end }}\"", 0, 100, 0, 100, 0, NULL, 0};
    fixture_init(&f);
    osp_arena_init(&arena, 0, 0);
    /* checked at the first record; passed by the second (a million steps take longer) */
    opts.deadline_ms = osp_clock_ms(CLOCK_MONOTONIC) + 1;
    assert_int_equal(run_case(&f, &c, &opts, &res, &arena, err, sizeof err), OSP_ETIMEDOUT);
    assert_string_equal(err, "query timed out in expression evaluation");
    opts.deadline_ms = 0;
    assert_int_equal(run_case(&f, &c, &opts, &res, &arena, err, sizeof err), 0);
    assert_int_equal(res.stats.lines, NDATA);
    osp_arena_cleanup(&arena);
    fixture_cleanup(&f);
}

/* Leading single "|=" filters, "|~" filters that are plain text and the literals of single
 * "|>" filters reach the store as needles; the pipeline still runs on every record keep
 * sees, and the stats count those. */
static void test_push_down_and_stats(void **state)
{
    (void)state;
    fixture f;
    osp_arena arena;
    osp_logql_result res;
    osp_logql_opts opts = {0};
    char err[256];
    qcase c = {"{app=\"web\"} |= \"status\" |= \"level\" | line_format \"x\" |= \"x\"",
               0,
               100,
               1,
               0,
               0,
               NULL,
               0};
    fixture_init(&f);
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(run_case(&f, &c, &opts, &res, &arena, err, sizeof err), 0);
    assert_int_equal(f.needles, 2);
    assert_int_equal(res.nstreams, 3); /* one per detected_level */
    assert_int_equal(res.stats.lines, 3);
    assert_true(res.stats.bytes > 100);
    /* a single pattern filter's literals are needles, an "or" of patterns gives none */
    c.q = "{app=\"web\"} |> \"level=<_> status=<_> size=<_>\" |> \"<_>size=2KB<_>\" or "
          "\"<_>size=1MB\"";
    assert_int_equal(run_case(&f, &c, &opts, &res, &arena, err, sizeof err), 0);
    assert_int_equal(f.needles, 3);
    assert_int_equal(res.nstreams, 2); /* the lines at 30 (info) and 80 (error) */
    /* a regex that is plain text is a needle; case-insensitive text or alternatives are not */
    c.q = "{app=\"web\"} |~ \"status=\" |~ \"(?i)LEVEL=\" |~ \"oops|size=1MB\"";
    assert_int_equal(run_case(&f, &c, &opts, &res, &arena, err, sizeof err), 0);
    assert_int_equal(f.needles, 1);
    assert_int_equal(res.nstreams, 2); /* the lines at 40 (warn) and 80 (error) */
    osp_arena_cleanup(&arena);
    fixture_cleanup(&f);
}

/* With categorize, a log query's streams are its records' stream labels, and each entry
 * keeps its structured metadata and the labels its pipeline set apart; a metadata label a
 * stage sets again counts as set by the stage. */
static void test_categorized(void **state)
{
    (void)state;
    fixture f;
    osp_arena arena;
    osp_logql_result res;
    osp_logql_opts opts = {.categorize = 1};
    char err[256];
    qcase c = {.q = "{app=\"api\", env=\"prod\"} |= \"status\" | json status | label_format "
                    "pod=\"{{.pod}}-x\"",
               .end = 100,
               .step = 1};
    fixture_init(&f);
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(run_case(&f, &c, &opts, &res, &arena, err, sizeof err), 0);
    assert_int_equal(res.nstreams, 1);
    const osp_logql_stream *st = &res.streams[0];
    assert_int_equal(st->nlabels, 2);
    assert_true(osp_str_eqz(osp_labels_get(st->labels, st->nlabels, OSP_STR_LIT("app")), "api"));
    assert_true(osp_str_eqz(osp_labels_get(st->labels, st->nlabels, OSP_STR_LIT("env")), "prod"));
    assert_int_equal(st->n, 2); /* the JSON lines at 10 (pod p1) and 20 (pod p2) */
    for (size_t k = 0; k < st->n; k++) {
        const osp_logql_entry *en = &st->entries[k];
        osp_str pod = osp_labels_get(en->parsed, en->nparsed, OSP_STR_LIT("pod"));
        assert_true(osp_str_eqz(pod, en->t_ns == 10000000000u ? "p1-x" : "p2-x"));
        assert_int_equal(osp_labels_get(en->parsed, en->nparsed, OSP_STR_LIT("status")).n, 3);
        assert_int_equal(osp_labels_get(en->meta, en->nmeta, OSP_STR_LIT("pod")).n, 0);
        assert_true(osp_labels_get(en->meta, en->nmeta, OSP_STR_LIT("detected_level")).n > 0);
    }
    osp_arena_cleanup(&arena);
    fixture_cleanup(&f);
}

/* A count grouped by stream labels alone reads records' times alone; one grouped by
 * other labels reads no lines. */
static void test_times_only(void **state)
{
    (void)state;
    static const struct {
        const char *q;
        int times_only, no_lines;
    } cases[] = {
        {"sum by (app) (count_over_time({app=~\".+\"}[100s]))", 1, 1},
        {"sum by (env, app) (rate({env=\"prod\"}[50s]))", 1, 1},
        {"sum(count_over_time({app=\"web\"}[100s]))", 1, 1},
        {"sum by (pod) (count_over_time({app=\"api\"}[100s]))", 0, 1}, /* metadata */
        {"sum by (pod) (count_over_time({app=\"api\"} | drop __error__ [100s]))", 0, 1},
        {"sum by (app) (bytes_over_time({app=~\".+\"}[100s]))", 0, 0},           /* lines */
        {"sum by (app) (count_over_time({app=~\".+\"} != \"x\" [100s]))", 0, 0}, /* a filter */
        {"count_over_time({app=\"web\"}[100s])", 0, 0},                          /* all labels */
        {"sum by (app) (count_over_time({app=~\".+\"} | drop __error__, pod [100s]))", 1, 1},
        {"sum by (app) (count_over_time({app=~\".+\"} | drop app [100s]))", 0, 0},
        {"sum by (app) (count_over_time({app=~\".+\"} | drop env=\"dev\" [100s]))", 0, 0},
        {"sum by (pod) (count_over_time({app=\"api\"} | logfmt [100s]))", 0, 0}, /* a parser */
        {"sum by (detected_level) (count_over_time({app=~\".+\"}[100s]))", 0, 1},
        /* label filters by name read the labels they name, not lines; filters on labels
         * every stream holds read times alone */
        {"sum by (app) (count_over_time({app=~\".+\"} | app=\"web\" [100s]))", 1, 1},
        {"sum by (app) (count_over_time({app=~\".+\"} | env!=\"dev\" [100s]))", 1, 1},
        {"sum by (app) (count_over_time({app=~\".+\"} | pod=~\"p.*\" or pod!=\"p1\" [100s]))", 0,
         1},
        {"sum by (app) (count_over_time({app=~\".+\"} | pod=\"p1\" |= \"a\" [100s]))", 0, 0},
        {"sum by (app) (count_over_time({app=~\".+\"} | __error__ != \"\" [100s]))", 1, 1},
        /* a comparison may set an error, after which every label is kept, unless a filter
         * drops the lines with errors */
        {"sum by (app) (count_over_time({app=~\".+\"} | latency > 1 [100s]))", 0, 0},
        {"sum by (app) (count_over_time({app=~\".+\"} | latency > 1 | __error__=\"\" [100s]))", 0,
         1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fixture f;
        osp_arena arena;
        osp_logql_result res;
        osp_logql_opts opts = {0};
        char err[256];
        qcase c = {cases[i].q, 100, 100, 0, 0, 0, NULL, 0};
        fixture_init(&f);
        osp_arena_init(&arena, 0, 0);
        assert_int_equal(run_case(&f, &c, &opts, &res, &arena, err, sizeof err), 0);
        if (f.times_only != cases[i].times_only || f.no_lines != cases[i].no_lines)
            fail_msg("%s: times_only %d, no_lines %d, want %d, %d", cases[i].q, f.times_only,
                     f.no_lines, cases[i].times_only, cases[i].no_lines);
        if (i == 0) /* web's records at 30 s and 40 s and api's at 10 s and 20 s came as one */
            assert_int_equal(f.grouped, 2);
        osp_arena_cleanup(&arena);
        fixture_cleanup(&f);
    }
}

/* The answer (or error) of query q over [start, end] (step 0: instant at end), rendered
 * into b. */
static int answer(const char *q, int64_t start, int64_t end, int64_t step, osp_buf *b)
{
    fixture f;
    osp_arena arena;
    osp_logql_result res;
    osp_logql_opts opts = {0};
    char err[1024];
    qcase c = {q, start, end, step, 0, 0, NULL, 0};
    fixture_init(&f);
    osp_arena_init(&arena, 0, 0);
    osp_buf_reset(b);
    int rc = run_case(&f, &c, &opts, &res, &arena, err, sizeof err);
    if (rc == 0)
        render(&res, b);
    else
        osp_buf_puts(b, err);
    osp_buf_putc(b, 0);
    osp_arena_cleanup(&arena);
    fixture_cleanup(&f);
    return rc;
}

/* Aggregations grouped by named labels over parsers let the parsers set only those labels
 * and the ones filters and the unwrap read (Loki's parser hints), and give the answers of
 * whole records: the same query with a label_format (dropped again) after its pipeline,
 * which makes every label count, agrees. Each query has a %s where that goes. */
static void test_parser_hints(void **state)
{
    (void)state;
#define COUNT(by, pipeline) "sum by (" by ") (count_over_time({app=~\".+\"} " pipeline "%s [100s]))"
    static const char *const cases[] = {
        COUNT("status", "| json | drop __error__"),
        COUNT("user_id, user_name", "| json | drop __error__, __error_details__"),
        COUNT("app, status", "| json | drop __error__ | status != \"\""),
        COUNT("app_extracted, app", "| json | drop __error__"),
        COUNT("level", "| logfmt"),
        COUNT("level, pod", "| logfmt | pod = \"\""),
        COUNT("level, status", "| json | logfmt | drop __error__, __error_details__"),
        COUNT("status", "| json status=\"user.id\" | drop __error__"),
        COUNT("lvl", "| logfmt lvl=\"level\", size"),
        COUNT("level", "| logfmt --strict | drop __error__"),
        COUNT("msg", "| logfmt --keep-empty | msg =~ \".*o.*\""),
        COUNT("app", "| json | drop __error__ | user_name =~ \"a.*\" or status = \"404\""),
        COUNT("detected_level", "| json | __error__ = \"\" | detected_level = \"error\""),
        COUNT("level", "| json"), /* errors reach the grouping: not lean, a pipeline error */
        COUNT("level", "|= \"level\" | logfmt | level != \"warn\""),
        COUNT("level", "| logfmt | dur > 1s | __error__ = \"\""),
        COUNT("app", "| logfmt | size >= 1KB or status < 300 | drop __error__ | level != \"\""),
        COUNT("level", "| logfmt | size > 1KB"), /* may fail: not lean */
        COUNT("level", "| logfmt | dur > 1s"),   /* fails (dur=abc): a pipeline error */
        COUNT("method, path", "| regexp \"(?P<method>\\\\w+) (?P<path>\\\\S+)\""),
        COUNT("status", "| pattern \"<_> <_> <status> <_>\" | status =~ \"2.*\""),
        "sum by (level) (sum_over_time({app=~\".+\"} | logfmt%s | unwrap status | __error__=\"\" "
        "[100s]))",
        "max by (app) (max_over_time({app=~\".+\"} | json | drop __error__%s | unwrap "
        "duration(latency) | __error__=\"\" [100s]))",
        "quantile_over_time(0.5, {app=\"web\"} | logfmt%s | unwrap bytes(size) | __error__=\"\" "
        "[100s]) by (level)",
        "avg_over_time({app=~\".+\"} | logfmt%s | unwrap duration(dur) | __error__=\"\" | level "
        "!= \"info\" [100s]) by (app, level)",
        "sum by (pod) (sum_over_time({app=\"api\"} | json%s | unwrap status | __error__=\"\" "
        "[100s]))",
        /* a value that does not convert reaches the grouping: not lean, a pipeline error */
        "sum by (level) (sum_over_time({app=\"web\"} | logfmt%s | unwrap dur [100s]))",
    };
#undef COUNT
    osp_buf lean, whole;
    osp_buf_init(&lean, 0);
    osp_buf_init(&whole, 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char q[512];
        snprintf(q, sizeof q, cases[i], "");
        int rc = answer(q, 100, 100, 0, &lean);
        snprintf(q, sizeof q, cases[i], " | label_format zz=\"x\" | drop zz");
        assert_int_equal(answer(q, 100, 100, 0, &whole), rc);
        if (strcmp(lean.data, whole.data))
            fail_msg("%s:\n  lean:  %s\n  whole: %s", q, lean.data, whole.data);
        if (rc == 0 && !strchr(lean.data, '@'))
            fail_msg("%s: no series", q);
    }
    osp_buf_cleanup(&lean);
    osp_buf_cleanup(&whole);
}

/* A log query decides which lines it keeps on lean records (the labels its filters read,
 * set by its parsers or looked up), then runs its pipeline again on whole records for
 * the answer: the same as deciding on whole records, which a label_format first forces. */
static void test_lean_keep(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "| json | status >= 400",
        "| json | drop __error__ | user_name = \"bob\"",
        "| logfmt | dur > 1s",
        "| logfmt | level =~ \"warn|error\" | line_format \"{{.msg}} {{.app}}\"",
        "| json | __error__ != \"\"",
        "| pod = \"p1\"",
        "| detected_level = \"error\" | logfmt",
        "|= \"GET\" | regexp \"(?P<method>\\\\w+) (?P<path>\\\\S+)\" | path = \"/index.html\"",
        "| pattern \"<method> <path> <status> <_>\" | status = \"200\"",
        "| logfmt | keep level, app | level = \"info\"",
        "| json | drop level | level = \"\"",
        "| json app | app_extracted = \"x\"",
        "| logfmt --strict | __error__ = \"LogfmtParserErr\"",
        "| json | logfmt | drop __error__ | status > 300 or pod = \"p1\"",
        "| json",
        "",
        /* templates and renames read the labels they name: metadata (pod) looked up too */
        "| logfmt | line_format \"{{.level}}:{{.msg}}\" |= \"warn:\"",
        "| json | label_format who=\"{{.user_name}}\" | who = \"bob\"",
        "| logfmt | label_format sev=level | sev = \"error\"",
        "| line_format \"{{.pod}} {{__line__}}\" |= \"p1 \"",
        "| label_format where=pod | where = \"p2\"",
        "| json | line_format \"{{ $.user_name }}/{{ $.pod }}\" |= \"bob/p2\"",
        /* . or $ as a value may read every label: whole records */
        "| logfmt | line_format \"{{ range $k, $v := . }}{{ $k }},{{ end }}\" |= \"status\"",
        "| line_format \"{{ with .pod }}{{ . }}{{ end }}\" |= \"p\"",
    };
    osp_buf lean, whole;
    osp_buf_init(&lean, 0);
    osp_buf_init(&whole, 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char q[512];
        snprintf(q, sizeof q, "{app=~\".+\"} %s", cases[i]);
        assert_int_equal(answer(q, 0, 100, 1, &lean), 0);
        snprintf(q, sizeof q,
                 "{app=~\".+\"} | label_format zz=\"{{ with . }}x{{ end }}\" | drop zz %s",
                 cases[i]);
        assert_int_equal(answer(q, 0, 100, 1, &whole), 0);
        if (strcmp(lean.data, whole.data))
            fail_msg("%s:\n  lean:  %s\n  whole: %s", q, lean.data, whole.data);
        if (!strchr(lean.data, '='))
            fail_msg("%s: no lines", q);
    }
    osp_buf_cleanup(&lean);
    osp_buf_cleanup(&whole);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_queries),
        cmocka_unit_test(test_metric_queries),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_max_series),
        cmocka_unit_test(test_template_work_meets_deadline),
        cmocka_unit_test(test_push_down_and_stats),
        cmocka_unit_test(test_times_only),
        cmocka_unit_test(test_categorized),
        cmocka_unit_test(test_parser_hints),
        cmocka_unit_test(test_lean_keep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
