/* LogQL evaluator (logql_eval.h): the driver, log queries over the source's select, and
 * range aggregations over its scan. Vector aggregations, binary operators and
 * label_replace run on the PromQL engine (logql_metric.c). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/mem.h"
#include "model/logstream.h"
#include "query/logql_eval_int.h"
#include "query/logql_literal.h"
#include "query/logql_units.h"

#define DEFAULT_LIMIT 100
/* Template steps (osp__lq_tmpl_exec's work) that count as one record toward the deadline
 * checks: an execution at its limit counts as a check's worth of records. */
#define TEMPLATE_STEPS_PER_TICK 256

/* ---- running a pipeline over the source's records ---- */

/* Stream labels by stream id (open addressing). */
typedef struct scache {
    uint64_t *id;
    osp_label **l;
    size_t *n;
    size_t mask, count;
} scache;

/* What a scan or select callback needs. */
typedef struct runner {
    osp__lq_query *q;
    const osp__lq_pipeline *p;
    scache sc;
    osp_arena scratch; /* one record's strings, emptied per record */
    osp_buf line;      /* a non-string body rendered as a line */
    int rc;            /* the first error a callback met */
    int lean;          /* the pipeline reads no labels but those its label filters name, and
                        * only the grouping's are kept: records start with their stream
                        * labels and the looked-up ones alone (listed_labels) */
    osp_log_meta_name *lookups; /* a lean runner's label filter names, prepared to look up */
    size_t nlookups;
    osp_str *wanted; /* a lean runner's grouping and filter names, the labels its parsers
                      * set (osp__lq_entry.wanted); NULL without parsers */
    size_t nwanted;
} runner;

static int scache_grow(osp_arena *a, scache *c)
{
    size_t cap = c->mask ? 2 * (c->mask + 1) : 64;
    scache n = {osp_arena_calloc(a, cap, sizeof *n.id), osp_arena_alloc(a, cap * sizeof *n.l),
                osp_arena_alloc(a, cap * sizeof *n.n), cap - 1, 0};
    if (!n.id || !n.l || !n.n)
        return OSP_ENOMEM;
    for (size_t i = 0; c->mask && i <= c->mask; i++) {
        if (!c->id[i])
            continue;
        size_t k = (c->id[i] * 0x9e3779b97f4a7c15ull) & n.mask;
        while (n.id[k])
            k = (k + 1) & n.mask;
        n.id[k] = c->id[i], n.l[k] = c->l[i], n.n[k] = c->n[i];
        n.count++;
    }
    *c = n;
    return 0;
}

/* The labels of stream id (ids are stored plus one so that 0 marks a free slot). */
static int stream_labels(runner *r, uint64_t id, osp_label **l, size_t *n)
{
    osp__lq_query *q = r->q;
    scache *c = &r->sc;
    int rc;
    if ((c->count + 1) * 2 > c->mask + 1 && (rc = scache_grow(q->arena, c)))
        return rc;
    size_t k = ((id + 1) * 0x9e3779b97f4a7c15ull) & c->mask;
    while (c->id[k] && c->id[k] != id + 1)
        k = (k + 1) & c->mask;
    if (!c->id[k]) {
        if ((rc = q->src->stream_labels(q->src->ctx, id, q->arena, &c->l[k], &c->n[k])))
            return osp__lq_fail(q, rc, "reading the labels of a stream failed: %s",
                                osp_strerror(rc));
        c->id[k] = id + 1;
        c->count++;
    }
    *l = c->l[k];
    *n = c->n[k];
    return 0;
}

static int metadata_failed(runner *r, int rc)
{
    return osp__lq_fail(r->q, rc, "reading a record's metadata failed: %s", osp_strerror(rc));
}

/* The metadata labels of record index of b that a lean runner reads (its lookups: the
 * labels its filters and its unwrap name): those not among its stream labels sl, with a
 * value (in r->scratch). 0 or the error. */
static int looked_up(runner *r, const osp_log_batch *b, size_t index, const osp_label *sl,
                     size_t nsl, osp_label **out, size_t *n)
{
    osp_label *l = *out = NULL;
    *n = 0;
    if (r->nlookups && !(l = *out = osp_arena_alloc(&r->scratch, r->nlookups * sizeof *l)))
        return OSP_ENOMEM;
    for (size_t i = 0; i < r->nlookups; i++) {
        osp_str name = r->lookups[i].name, value;
        int rc;
        if (osp_labels_get(sl, nsl, name).n)
            continue;
        if ((rc = osp_log_meta_name_value(&r->lookups[i], b, index, &r->scratch, &value)))
            return rc;
        if (value.n)
            l[(*n)++] = (osp_label){name, value};
    }
    return 0;
}

/* Runs the pipeline on record v->index of v->batch into e (in r->scratch, which it
 * empties first). 1 passes, 0 dropped, < 0 error. size: not NULL, add the record and its
 * size to the stats. */
static int run_record(runner *r, const osp_log_batch *b, size_t index, uint64_t stream,
                      osp_str line, const uint64_t *size, osp__lq_entry *e)
{
    osp_label *sl = NULL, *meta;
    size_t nsl = 0, nmeta;
    int rc;
    osp_arena_reset(&r->scratch);
    if ((rc = osp__lq_tick(r->q)) || (rc = stream_labels(r, stream, &sl, &nsl)))
        return rc;
    if ((rc = r->lean ? looked_up(r, b, index, sl, nsl, &meta, &nmeta)
                      : osp_log_metadata(b, index, &r->scratch, &meta, &nmeta)))
        return metadata_failed(r, rc);
    if (size) {
        r->q->stats->lines++;
        r->q->stats->bytes += *size;
    }
    if ((rc = osp__lq_entry_init(e, &r->scratch, sl, nsl, meta, nmeta, line,
                                 osp_log_time(&b->records[index]))))
        return rc;
    e->wanted = r->wanted;
    e->nwanted = r->nwanted;
    rc = osp__lq_pipeline_run(r->p, e);
    /* a template may work as hard as thousands of records: the deadline hears of it */
    osp__pq_add_ticks(&r->q->pq, e->work / TEMPLATE_STEPS_PER_TICK);
    return rc;
}

static void runner_init(runner *r, osp__lq_query *q, const osp__lq_pipeline *p)
{
    memset(r, 0, sizeof *r);
    r->q = q;
    r->p = p;
    osp_arena_init(&r->scratch, 8192, 0);
    osp_buf_init(&r->line, 0);
}

static void runner_cleanup(runner *r)
{
    for (size_t i = 0; i < r->nlookups; i++)
        osp_log_meta_name_cleanup(&r->lookups[i]);
    osp_arena_cleanup(&r->scratch);
    osp_buf_cleanup(&r->line);
}

/* Stores in needles (room for at most room) the text every line that line filter st keeps
 * holds, when the filter has a single value: the value of "|=", the text of a "|~" whose
 * regex is plain text (query/logql_literal.h), each literal of a "|>" pattern. Returns how
 * many, or an error. */
static int filter_needles(osp__lq_query *q, const osp_logql_stage *st, osp_str *needles,
                          size_t room)
{
    if (st->kind != OSP_LOGQL_STAGE_LINE_FILTER || st->u.line.ips || st->u.line.n != 1 ||
        !st->u.line.values[0].n)
        return 0;
    osp_str value = st->u.line.values[0];
    osp_logql_literal text;
    osp__lq_pattern *pat;
    int rc;
    switch (st->u.line.op) {
    case OSP_LOGQL_LINE_CONTAINS:
        needles[0] = value;
        return 1;
    case OSP_LOGQL_LINE_MATCH:
        if ((rc = osp_logql_literal_of(value, q->arena, &text)) <= 0 || text.icase || text.n != 1 ||
            !text.alts[0].n)
            return rc < 0 ? rc : 0;
        needles[0] = text.alts[0];
        return 1;
    case OSP_LOGQL_LINE_PATTERN:
        if ((rc = osp__lq_pattern_compile(value, q->arena, &pat)))
            return rc;
        return (int)osp__lq_pattern_literals(pat, needles, room);
    default:
        return 0;
    }
}

/* Fills q's store query for a log selector: matchers, and as needles the text the leading
 * line filters (before any stage that rewrites the line) require (filter_needles). */
static int push_down(osp__lq_query *q, const osp_logql_log *log, osp_log_query *lq)
{
    size_t cap = log->nstages + 1;
    for (size_t i = 0; i < log->nstages; i++)
        if (log->stages[i].kind == OSP_LOGQL_STAGE_LINE_FILTER &&
            log->stages[i].u.line.op == OSP_LOGQL_LINE_PATTERN)
            cap += log->stages[i].u.line.values[0].n; /* literals are never empty */
    osp_str *needles = osp_arena_alloc(q->arena, cap * sizeof *needles);
    if (!needles)
        return OSP_ENOMEM;
    lq->m = log->matchers;
    lq->n = log->nmatchers;
    lq->needles = needles;
    for (size_t i = 0; i < log->nstages; i++) {
        const osp_logql_stage *st = &log->stages[i];
        if (st->kind == OSP_LOGQL_STAGE_LINE_FORMAT || st->kind == OSP_LOGQL_STAGE_DECOLORIZE ||
            st->kind == OSP_LOGQL_STAGE_UNPACK)
            break;
        int n = filter_needles(q, st, needles + lq->nneedles, cap - lq->nneedles);
        if (n < 0)
            return n;
        lq->nneedles += (size_t)n;
    }
    return 0;
}

/* ---- lean records: only the labels a query reads ---- */

/* 1 for the parsers, which set only the labels a lean runner wants (and read whole lines,
 * so that their errors are those of whole records). */
static int is_parser(osp_logql_stage_kind k)
{
    return k == OSP_LOGQL_STAGE_JSON || k == OSP_LOGQL_STAGE_LOGFMT ||
           k == OSP_LOGQL_STAGE_REGEXP || k == OSP_LOGQL_STAGE_PATTERN;
}

/* 1 when label filter f may set an error: it compares a number, a duration or a size (a
 * value that does not convert sets LabelFilterErr). */
static int filter_may_fail(const osp_logql_filter *f)
{
    switch (f->kind) {
    case OSP_LOGQL_FILTER_AND:
    case OSP_LOGQL_FILTER_OR:
        return filter_may_fail(f->u.bin.lhs) || filter_may_fail(f->u.bin.rhs);
    case OSP_LOGQL_FILTER_STRING:
    case OSP_LOGQL_FILTER_IP:
        return 0;
    default:
        return 1;
    }
}

/* Adds name to r's lookups, once, but for the error labels, which are not metadata. */
static void add_lookup(runner *r, osp_str name)
{
    if (osp_str_eqz(name, OSP__LQ_ERROR) || osp_str_eqz(name, OSP__LQ_ERROR_DETAILS))
        return;
    for (size_t i = 0; i < r->nlookups; i++)
        if (osp_str_eq(r->lookups[i].name, name))
            return;
    osp_log_meta_name_init(&r->lookups[r->nlookups++], name);
}

/* Adds the names label filter f reads to r's lookups. */
static void add_lookups(runner *r, const osp_logql_filter *f)
{
    if (f->kind == OSP_LOGQL_FILTER_AND || f->kind == OSP_LOGQL_FILTER_OR) {
        add_lookups(r, f->u.bin.lhs);
        add_lookups(r, f->u.bin.rhs);
        return;
    }
    add_lookup(r, osp_logql_filter_label(f));
}

static size_t filter_names(const osp_logql_filter *f)
{
    if (f->kind == OSP_LOGQL_FILTER_AND || f->kind == OSP_LOGQL_FILTER_OR)
        return filter_names(f->u.bin.lhs) + filter_names(f->u.bin.rhs);
    return 1;
}

static void count_name(osp_str name, void *ctx)
{
    (void)name;
    ++*(size_t *)ctx;
}

static void add_lookup_cb(osp_str name, void *ctx)
{
    add_lookup(ctx, name);
}

/* A lean runner's label filter names, the names its templates and renames read and its
 * unwrapped label (uw, or NULL), prepared to look up in records' metadata. 0 or
 * OSP_ENOMEM. */
static int prepare_lookups(osp__lq_query *q, runner *r, const osp_logql_log *log,
                           const osp_logql_unwrap *uw)
{
    size_t cap = uw ? 1 : 0;
    if (!r->lean)
        return 0;
    osp__lq_pipeline_template_names(r->p, count_name, &cap);
    for (size_t i = 0; uw && i < uw->npost; i++)
        cap += filter_names(uw->post[i]);
    for (size_t i = 0; i < log->nstages; i++)
        if (log->stages[i].kind == OSP_LOGQL_STAGE_LABEL_FILTER)
            cap += filter_names(log->stages[i].u.filter);
    if (!cap)
        return 0;
    if (!(r->lookups = osp_arena_alloc(q->arena, cap * sizeof *r->lookups)))
        return OSP_ENOMEM;
    for (size_t i = 0; i < log->nstages; i++)
        if (log->stages[i].kind == OSP_LOGQL_STAGE_LABEL_FILTER)
            add_lookups(r, log->stages[i].u.filter);
    if (uw)
        add_lookup(r, uw->label);
    for (size_t i = 0; uw && i < uw->npost; i++)
        add_lookups(r, uw->post[i]);
    osp__lq_pipeline_template_names(r->p, add_lookup_cb, r);
    return 0;
}

/* A lean runner's names for its parsers to set, when it has parsers: those of the grouping
 * by and of its lookups (its label filters', the unwrapped label). 0 or OSP_ENOMEM. */
static int prepare_wanted(osp__lq_query *q, runner *r, const osp_logql_log *log,
                          const osp_logql_labels *by)
{
    int parses = 0;
    for (size_t i = 0; r->lean && i < log->nstages; i++)
        parses |= is_parser(log->stages[i].kind);
    if (!parses)
        return 0;
    if (!(r->wanted = osp_arena_alloc(q->arena, (by->n + r->nlookups + 1) * sizeof *r->wanted)))
        return OSP_ENOMEM;
    for (size_t i = 0; i < by->n; i++)
        r->wanted[r->nwanted++] = by->a[i];
    for (size_t i = 0; i < r->nlookups; i++)
        r->wanted[r->nwanted++] = r->lookups[i].name;
    return 0;
}

/* ---- log queries ---- */

/* How many of log's stages decide which records a log query keeps (through its last line
 * or label filter), or SIZE_MAX when one of them reads labels it does not name (unpack).
 * Those stages then run on lean records (with the labels their filters, templates and
 * renames read), which pass exactly when whole records do. */
static size_t keep_prefix(const osp_logql_log *log)
{
    size_t n = 0;
    for (size_t i = 0; i < log->nstages; i++)
        if (log->stages[i].kind == OSP_LOGQL_STAGE_LINE_FILTER ||
            log->stages[i].kind == OSP_LOGQL_STAGE_LABEL_FILTER)
            n = i + 1;
    for (size_t i = 0; i < n; i++) {
        osp_logql_stage_kind k = log->stages[i].kind;
        if (!is_parser(k) && k != OSP_LOGQL_STAGE_LINE_FILTER &&
            k != OSP_LOGQL_STAGE_LABEL_FILTER && k != OSP_LOGQL_STAGE_DROP &&
            k != OSP_LOGQL_STAGE_KEEP && k != OSP_LOGQL_STAGE_LINE_FORMAT &&
            k != OSP_LOGQL_STAGE_LABEL_FORMAT)
            return SIZE_MAX;
    }
    return n;
}

/* A lean runner for deciding which records a log query keeps: the first n stages of log
 * (keep_prefix) in kp, compiled. 0, 1 when a template there may read every label (no
 * runner then: the query decides on whole records), or the error. */
static int keeper_init(osp__lq_query *q, const osp_logql_log *log, size_t n, osp__lq_pipeline *kp,
                       runner *kr)
{
    static const osp_logql_labels none = {0};
    osp_logql_log prefix = *log;
    int rc;
    prefix.nstages = n;
    if ((rc = osp__lq_pipeline_compile(log->stages, n, q->arena, kp, q->pq.err, q->pq.errlen)))
        return rc;
    size_t names = 0;
    if (!osp__lq_pipeline_template_names(kp, count_name, &names)) {
        osp__lq_pipeline_cleanup(kp);
        return 1;
    }
    runner_init(kr, q, kp);
    kr->lean = 1;
    if ((rc = prepare_lookups(q, kr, &prefix, NULL)) ||
        (rc = prepare_wanted(q, kr, &prefix, &none))) {
        runner_cleanup(kr);
        osp__lq_pipeline_cleanup(kp);
    }
    return rc;
}

static int keep_record(const osp_log_view *v, void *ctx)
{
    runner *r = ctx;
    osp__lq_entry e;
    int rc = run_record(r, v->batch, v->index, v->stream, v->line, &v->size, &e);
    if (rc < 0)
        r->rc = rc;
    return rc;
}

static int cmp_stream(const void *a, const void *b)
{
    const osp_logql_stream *x = a, *y = b;
    return osp_labels_compare(x->labels, x->nlabels, y->labels, y->nlabels);
}

/* A copy of labels (names and values) in arena. */
static osp_label *copy_labels(osp_arena *a, const osp_label *l, size_t n)
{
    osp_label *c = osp_arena_alloc(a, (n + 1) * sizeof *c);
    for (size_t i = 0; c && i < n; i++) {
        c[i].name = osp_arena_strdup(a, l[i].name);
        c[i].value = osp_arena_strdup(a, l[i].value);
        if (!c[i].name.p || !c[i].value.p)
            return NULL;
    }
    return c;
}

/* Splits e's labels for Loki's categorize-labels encoding: its structured metadata and
 * parsed labels into en (copies in the query's arena), its stream labels into *l (in the
 * runner's scratch). 0 or OSP_ENOMEM. */
static int categorize(runner *r, const osp__lq_entry *e, osp_logql_entry *en, osp_label **l,
                      size_t *nl)
{
    osp_label *cat[OSP__LQ_NCATS];
    size_t n[OSP__LQ_NCATS];
    int rc = osp__lq_labels_by_cat(e, &r->scratch, cat, n);
    if (rc)
        return rc;
    en->nmeta = n[OSP__LQ_CAT_META];
    en->nparsed = n[OSP__LQ_CAT_PARSED];
    if (!(en->meta = copy_labels(r->q->arena, cat[OSP__LQ_CAT_META], en->nmeta)) ||
        !(en->parsed = copy_labels(r->q->arena, cat[OSP__LQ_CAT_PARSED], en->nparsed)))
        return OSP_ENOMEM;
    *l = cat[OSP__LQ_CAT_STREAM];
    *nl = n[OSP__LQ_CAT_STREAM];
    return 0;
}

/* Groups the selected records, their pipeline run again, into streams: by their final
 * labels, or categorized by their stream labels. */
static int group_streams(runner *r, const osp_log_batch *b, const uint64_t *ids,
                         osp_logql_result *res)
{
    osp__lq_query *q = r->q;
    size_t n = b->nrecords;
    uint32_t *sid = osp_arena_alloc(q->arena, (n + 1) * sizeof *sid);
    osp_logql_entry *ent = osp_arena_alloc(q->arena, (n + 1) * sizeof *ent);
    osp__pq_lmap map;
    int rc;
    if (!sid || !ent || (rc = osp__pq_lmap_init(&map, q->arena, 16)))
        return OSP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        osp__lq_entry e;
        osp_str line;
        osp_label *l;
        size_t nl;
        int added;
        if ((rc = osp_log_line(&b->records[i], &r->line, &line)))
            return osp__lq_fail(q, rc, "reading a record's line failed: %s", osp_strerror(rc));
        if ((rc = run_record(r, b, i, ids[i], line, NULL, &e)) < 0)
            return rc;
        ent[i] = (osp_logql_entry){.t_ns = e.t_ns, .stream = ids[i]};
        if (q->opts.categorize) {
            if ((rc = categorize(r, &e, &ent[i], &l, &nl)))
                return rc;
        } else if (!(l = osp__lq_labels(&e, &r->scratch, &nl)) && nl) {
            return OSP_ENOMEM;
        }
        if ((rc = osp__pq_lmap_put(&map, q->arena, l, nl, &sid[i], &added)))
            return rc;
        if (added) {
            osp_label *c = copy_labels(q->arena, l, nl);
            if (!c)
                return OSP_ENOMEM;
            map.lbl[sid[i]] = c;
        }
        if (!(ent[i].line = osp_arena_strdup(q->arena, e.line)).p)
            return OSP_ENOMEM;
    }
    res->nstreams = map.n;
    if (!(res->streams = osp_arena_calloc(q->arena, map.n + 1, sizeof *res->streams)))
        return OSP_ENOMEM;
    for (size_t i = 0; i < n; i++)
        res->streams[sid[i]].n++;
    for (size_t k = 0; k < map.n; k++) {
        osp_logql_stream *s = &res->streams[k];
        s->labels = (osp_label *)map.lbl[k];
        s->nlabels = map.nlbl[k];
        if (!(s->entries = osp_arena_alloc(q->arena, s->n * sizeof *s->entries)))
            return OSP_ENOMEM;
        s->n = 0;
    }
    for (size_t i = 0; i < n; i++)
        res->streams[sid[i]].entries[res->streams[sid[i]].n++] = ent[i];
    if (map.n > 1)
        qsort(res->streams, map.n, sizeof *res->streams, cmp_stream);
    return 0;
}

static int eval_log(osp__lq_query *q, const osp_logql_log *log, uint64_t start_ns, uint64_t end_ns,
                    osp_logql_result *res)
{
    osp__lq_pipeline p;
    osp_log_query lq = {
        .start_ns = start_ns, .end_ns = end_ns, .forward = q->opts.forward, .limit = q->opts.limit};
    osp__lq_pipeline kp;
    osp_log_batch out;
    uint64_t *ids = NULL;
    runner r, kr, *keeper = &r;
    size_t nkeep = keep_prefix(log);
    int rc =
        osp__lq_pipeline_compile(log->stages, log->nstages, q->arena, &p, q->pq.err, q->pq.errlen);
    if (rc)
        return rc;
    runner_init(&r, q, &p);
    osp_log_batch_init(&out);
    if ((rc = push_down(q, log, &lq)) ||
        (nkeep != SIZE_MAX && (rc = keeper_init(q, log, nkeep, &kp, &kr)) < 0))
        goto out;
    keeper = nkeep != SIZE_MAX && rc == 0 ? &kr : &r;
    rc = q->src->select(q->src->ctx, &lq, keep_record, keeper, &out, &ids);
    if (rc) {
        if (!keeper->rc)
            osp__lq_fail(q, rc, "selecting log records failed: %s", osp_strerror(rc));
        goto out;
    }
    res->type = OSP_LOGQL_RESULT_STREAMS;
    rc = group_streams(&r, &out, ids, res);
out:
    if (keeper != &r) {
        runner_cleanup(&kr);
        osp__lq_pipeline_cleanup(&kp);
    }
    osp_log_batch_cleanup(&out);
    runner_cleanup(&r);
    osp__lq_pipeline_cleanup(&p);
    return rc;
}

/* ---- range aggregations ---- */

#define PRESERVE_ERROR "__preserve_error__"

/* 1 when a series' labels fail the query: they still carry __error__, and not a parser
 * error the query asked to keep (__preserve_error__). */
static int fails_query(const osp_label *l, size_t n)
{
    return osp_labels_get(l, n, OSP_STR_LIT(OSP__LQ_ERROR)).n &&
           !osp_labels_get(l, n, OSP_STR_LIT(PRESERVE_ERROR)).n;
}

/* Loki's PipelineError for a series that still carries __error__. */
static int pipeline_error(osp__lq_query *q, const osp_label *l, size_t n)
{
    char series[512];
    osp_str err = osp_labels_get(l, n, OSP_STR_LIT(OSP__LQ_ERROR));
    osp__pq_labels_fmt(series, sizeof series, l, n);
    return osp__lq_fail(q, OSP_EEXEC,
                        "pipeline error: '%.*s' for series: '%s'.\n"
                        "Use a label filter to intentionally skip this error. (e.g | "
                        "__error__!=\"%.*s\").\n"
                        "To skip all potential errors you can match empty errors.(e.g "
                        "__error__=\"\")\n"
                        "The label filter can also be specified after unwrap. (e.g | unwrap "
                        "latency | __error__=\"\" )\n",
                        OSP_STR_FMT(err), series, OSP_STR_FMT(err));
}

typedef struct point {
    uint32_t sid; /* the series */
    uint32_t seq; /* arrival order, for ties */
    uint64_t t_ns;
    double v;
} point;

/* The records of a series in one slice of time: a counting aggregation's unit. */
typedef struct slice_count {
    uint32_t sid, slice;
    uint64_t n, bytes;
} slice_count;

/* What the scan of one range aggregation gathers: every point, or for a counting
 * aggregation (count_over_time, rate, bytes_over_time, bytes_rate and absent_over_time,
 * not unwrapped) counts per series and slice. The windows' edges cut time into slices
 * (slice i is (edges[i - 1], edges[i]]) whose records all count in the same windows, so
 * memory and time follow series × steps instead of records. */
typedef struct gather {
    runner r;
    const osp_logql_expr *e;
    osp__lq_pipeline post; /* unwrap's filters */
    osp__pq_lmap map;      /* series label sets */
    point *pts;
    size_t npts, cap;
    int counting;
    int64_t *edges; /* sorted, distinct: every window's start and end */
    size_t nedges;
    uint32_t *start_slice, *end_slice; /* per step: the slices ending at its window's edges */
    uint8_t *covered;                  /* per slice: 1 when some window holds it */
    slice_count *open;                 /* per series, the slice it is counting */
    size_t nopen;
    slice_count *counts; /* the slices counted and closed */
    size_t ncounts, counts_cap;
    int by_stream;          /* times only (times_only): a record's series is its stream's */
    uint64_t last_stream;   /* with by_stream, the stream of the last record plus one */
    uint64_t dropped;       /* with by_stream, the last stream whose record the pipeline
                             * dropped, plus one */
    uint32_t last_sid;      /* and its series (the last record's, whatever by_stream) */
    int keep_parser_errors; /* Loki's __preserve_error__: see keeps_parser_errors */
    size_t series_cap;      /* 0, or the most series before the query fails: see cap_series */
    uint8_t *live;          /* with series_cap, per series: 1 once a window holds a record */
    size_t nlive;           /* such series */
    osp_log_meta_name *by;  /* a lean runner's "by" labels, prepared to look up */
} gather;

/* The labels of e named in names with non-empty values, sorted by name, in e's arena;
 * those of a lean runner's record not among its stream labels come from its metadata
 * (meta: names prepared to look up). 0, or the error (reported). */
static int listed_labels(runner *r, const osp__lq_entry *e, const osp_log_view *v,
                         const osp_logql_labels *names, osp_log_meta_name *meta, osp_label **out,
                         size_t *n)
{
    osp_label *l = osp_arena_alloc(e->arena, (names->n + 1) * sizeof *l);
    size_t k = 0;
    int rc;
    if (!l)
        return OSP_ENOMEM;
    for (size_t i = 0; i < names->n; i++) {
        int found, dup = 0;
        osp_str value = osp__lq_get(e, names->a[i], &found);
        for (size_t j = 0; j < k && !dup; j++)
            dup = osp_str_eq(l[j].name, names->a[i]);
        if (!found && r->lean &&
            (rc = osp_log_meta_name_value(&meta[i], v->batch, v->index, e->arena, &value)))
            return metadata_failed(r, rc);
        if (value.n && !dup)
            l[k++] = (osp_label){names->a[i], value};
    }
    osp_labels_sort(l, k);
    *out = l;
    *n = k;
    return 0;
}

/* Labels of a sample after grouping: by (...) keeps the listed labels, without (...)
 * drops them, and an unwrap without "by" drops the unwrapped label; an entry with an
 * error keeps every label, as Loki's GroupedLabels does. 0 or the error. */
static int grouped(gather *g, osp__lq_entry *e, const osp_log_view *v, osp_label **out, size_t *n)
{
    const osp_logql_grouping *gr = &g->e->u.range_agg.grouping;
    const osp_logql_unwrap *uw = g->e->u.range_agg.range.unwrap;
    int by = gr->present && !gr->without;
    if (by && !e->err.n) /* only the listed labels: no need to gather and sort them all */
        return listed_labels(&g->r, e, v, &gr->labels, g->by, out, n);
    osp_label *l = *out = osp__lq_labels(e, e->arena, n);
    if (!l && *n)
        return OSP_ENOMEM;
    if (e->err.n || (!gr->present && !uw))
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        int listed = 0;
        for (size_t j = 0; gr->present && j < gr->labels.n && !listed; j++)
            listed = osp_str_eq(gr->labels.a[j], l[i].name);
        if (!by && uw && osp_str_eq(uw->label, l[i].name))
            listed = 1;
        if (listed == by)
            l[k++] = l[i];
    }
    *n = k;
    return 0;
}

/* The slice of time t: the first edge at or after it. */
static uint32_t slice_of(const gather *g, int64_t t, uint32_t guess)
{
    if (guess > 0 && guess < g->nedges && g->edges[guess - 1] < t && t <= g->edges[guess])
        return guess;
    size_t lo = 0, hi = g->nedges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->edges[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)lo;
}

static int close_slice(gather *g, const slice_count *c)
{
    slice_count *to = osp_array_push((void **)&g->counts, &g->ncounts, &g->counts_cap, sizeof *to);
    if (!to)
        return OSP_ENOMEM;
    *to = *c;
    return 0;
}

/* Counts records records of series sid at time t (or alike: osp_log_view.more) with
 * lines of len bytes in all. */
static int count_records(gather *g, uint32_t sid, int64_t t, uint64_t records, size_t len)
{
    if (sid >= g->nopen) {
        size_t n = g->nopen ? 2 * g->nopen : 64;
        while (n <= sid)
            n *= 2;
        slice_count *open = osp_realloc(g->open, n * sizeof *open);
        if (!open)
            return OSP_ENOMEM;
        g->open = open;
        if (g->series_cap) {
            uint8_t *live = osp_realloc(g->live, n);
            if (!live)
                return OSP_ENOMEM; /* nopen unchanged: the next call grows both again */
            memset(live + g->nopen, 0, n - g->nopen);
            g->live = live;
        }
        memset(open + g->nopen, 0, (n - g->nopen) * sizeof *open);
        g->nopen = n;
    }
    slice_count *c = &g->open[sid];
    uint32_t slice = slice_of(g, t, c->slice);
    if (g->series_cap && !g->live[sid] && g->covered[slice]) {
        g->live[sid] = 1;
        if (++g->nlive > g->series_cap)
            return osp__lq_too_many_series(g->r.q);
    }
    if (c->n && c->slice != slice) {
        int rc = close_slice(g, c);
        if (rc)
            return rc;
        c->n = 0;
    }
    if (!c->n)
        *c = (slice_count){.sid = sid, .slice = slice};
    c->n += records;
    c->bytes += len;
    return 0;
}

/* osp_log_query.alike_until of a count by stream: the end of t's slice. */
static uint64_t slice_end(uint64_t t_ns, void *ctx)
{
    const gather *g = ctx;
    uint32_t slice = slice_of(g, (int64_t)t_ns, 0);
    return slice < g->nedges ? (uint64_t)g->edges[slice] : UINT64_MAX;
}

/* Sets g up to count per slice when its aggregation allows it. 0 or OSP_ENOMEM. */
static int counting_init(osp__lq_query *q, gather *g)
{
    const osp_logql_range *r = &g->e->u.range_agg.range;
    osp_logql_range_op op = g->e->u.range_agg.op;
    if (r->unwrap ||
        (op != OSP_LOGQL_RANGE_COUNT && op != OSP_LOGQL_RANGE_RATE && op != OSP_LOGQL_RANGE_BYTES &&
         op != OSP_LOGQL_RANGE_BYTES_RATE && op != OSP_LOGQL_RANGE_ABSENT))
        return 0;
    int64_t range_ns = r->range_ms * 1000000, off_ns = r->offset_ms * 1000000;
    size_t n = q->nsteps;
    g->edges = osp_arena_alloc(q->arena, 2 * n * sizeof *g->edges);
    g->start_slice = osp_arena_alloc(q->arena, n * sizeof *g->start_slice);
    g->end_slice = osp_arena_alloc(q->arena, n * sizeof *g->end_slice);
    if (!g->edges || !g->start_slice || !g->end_slice)
        return OSP_ENOMEM;
    /* merge the ascending window starts and ends */
    for (size_t i = 0, j = 0; i < n || j < n;) {
        int64_t end_i = (int64_t)q->start_ns + (int64_t)i * q->step_ns - off_ns;
        int64_t end_j = (int64_t)q->start_ns + (int64_t)j * q->step_ns - off_ns;
        int64_t t = j < n && (i >= n || end_j - range_ns <= end_i) ? end_j - range_ns : end_i;
        if (!g->nedges || g->edges[g->nedges - 1] != t)
            g->edges[g->nedges++] = t;
        if (j < n && t == end_j - range_ns)
            g->start_slice[j++] = (uint32_t)(g->nedges - 1);
        else
            g->end_slice[i++] = (uint32_t)(g->nedges - 1);
    }
    /* a slice lies in windows start_slice[k] + 1 ..= end_slice[k]: add up their marks */
    int32_t *open = osp_arena_calloc(q->arena, g->nedges + 2, sizeof *open), depth = 0;
    if (!open || !(g->covered = osp_arena_alloc(q->arena, g->nedges + 1)))
        return OSP_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        open[g->start_slice[k] + 1]++;
        open[g->end_slice[k] + 1]--;
    }
    for (size_t i = 0; i <= g->nedges; i++)
        g->covered[i] = (depth += open[i]) > 0;
    g->counting = 1;
    return 0;
}

/* 1 when stage st changes neither lines nor the labels named in by, and reads labels by
 * name alone: a drop of other labels by name, such as the "| drop __error__" of Grafana's
 * volume queries, a label filter, such as Logs Drilldown's "| detected_level != \"\"",
 * and, when lines are read (lines 0), a line filter or a parser (which then sets only the
 * labels the query names). */
static int keeps_grouping(const osp_logql_stage *st, const osp_logql_labels *by, int lines)
{
    if (is_parser(st->kind) || st->kind == OSP_LOGQL_STAGE_LINE_FILTER)
        return !lines;
    switch (st->kind) {
    case OSP_LOGQL_STAGE_LABEL_FILTER:
        return 1;
    case OSP_LOGQL_STAGE_DROP:
        break;
    default:
        return 0;
    }
    for (size_t i = 0; i < st->u.sel.n; i++) {
        if (st->u.sel.a[i].has_value)
            return 0;
        for (size_t k = 0; k < by->n; k++)
            if (osp_str_eq(st->u.sel.a[i].m.name, by->a[k]))
                return 0;
    }
    return 1;
}

/* 1 when label filter f is __error__="", which drops every entry with an error. */
static int drops_errors(const osp_logql_filter *f)
{
    return f->kind == OSP_LOGQL_FILTER_STRING && f->u.m.type == OSP_MATCH_EQ &&
           f->u.m.value.n == 0 && osp_str_eqz(f->u.m.name, OSP__LQ_ERROR);
}

/* 1 when an error can reach the grouping (an entry with an error keeps all its labels):
 * one of a json parser, a strict logfmt one, a comparison (filter_may_fail) or the unwrap
 * uw (a value that does not convert) not followed by a drop of __error__ or a filter
 * __error__="". */
static int errors_reach_grouping(const osp_logql_log *log, const osp_logql_unwrap *uw)
{
    int err = 0;
    for (size_t i = 0; i < log->nstages; i++) {
        const osp_logql_stage *st = &log->stages[i];
        if (st->kind == OSP_LOGQL_STAGE_JSON ||
            (st->kind == OSP_LOGQL_STAGE_LOGFMT && (st->u.extract.flags & OSP_LOGQL_LOGFMT_STRICT)))
            err = 1;
        for (size_t k = 0; st->kind == OSP_LOGQL_STAGE_DROP && k < st->u.sel.n; k++)
            if (!st->u.sel.a[k].has_value && osp_str_eqz(st->u.sel.a[k].m.name, OSP__LQ_ERROR))
                err = 0;
        if (st->kind == OSP_LOGQL_STAGE_LABEL_FILTER)
            err = drops_errors(st->u.filter) ? 0 : err || filter_may_fail(st->u.filter);
    }
    if (uw)
        err = 1;
    for (size_t i = 0; uw && i < uw->npost; i++)
        err = drops_errors(uw->post[i]) ? 0 : err || filter_may_fail(uw->post[i]);
    return err;
}

/* 1 when a range aggregation over log (and the unwrap uw, or NULL) reads no labels but
 * those named in by, in its label filters and by the unwrap, in which case its records
 * need not carry the rest (runner.lean); lines: 1 when it reads no lines either. */
static int reads_grouping_only(const osp_logql_log *log, const osp_logql_unwrap *uw,
                               const osp_logql_labels *by, int lines)
{
    for (size_t i = 0; i < log->nstages; i++)
        if (!keeps_grouping(&log->stages[i], by, lines))
            return 0;
    return !errors_reach_grouping(log, uw);
}

/* 1 when g's scan reads no record's line (osp_log_query.no_lines): a lean count of lines,
 * not bytes, with no line filter. */
static int reads_no_lines(const gather *g)
{
    const osp_logql_expr *e = g->e;
    osp_logql_range_op op = e->u.range_agg.op;
    return g->counting && g->r.lean && op != OSP_LOGQL_RANGE_BYTES &&
           op != OSP_LOGQL_RANGE_BYTES_RATE &&
           reads_grouping_only(&e->u.range_agg.range.log, NULL, &e->u.range_agg.grouping.labels, 1);
}

/* 1 when g's scan may read records' times alone: a count that reads no lines, grouped by
 * labels and filtering on labels (Logs Drilldown's "| k8s_pod_name != \"\"") that every
 * stream the selector picks holds. A record's series, or that it is dropped, is then its
 * stream's. */
static int times_only(osp__lq_query *q, const gather *g, const osp_log_query *lq)
{
    const osp_logql_labels *by = &g->e->u.range_agg.grouping.labels;
    uint64_t *ids;
    size_t nids;
    if (!lq->no_lines || !q->src->streams ||
        q->src->streams(q->src->ctx, lq->m, lq->n, lq->start_ns, lq->end_ns, q->arena, &ids, &nids))
        return 0;
    for (size_t i = 0; i < nids; i++) {
        osp_label *l;
        size_t n;
        if (q->src->stream_labels(q->src->ctx, ids[i], q->arena, &l, &n))
            return 0;
        for (size_t k = 0; k < by->n; k++)
            if (!osp_labels_get(l, n, by->a[k]).n)
                return 0;
        for (size_t k = 0; k < g->r.nlookups; k++)
            if (!osp_labels_get(l, n, g->r.lookups[k].name).n)
                return 0;
    }
    return 1;
}

/* The series of labels l, made when new: the last record's when they are the same (a
 * stream's records come together, and often share their grouped labels), else the map's.
 * Sets g->last_sid. 0 or OSP_ENOMEM. */
static int series_of(gather *g, const osp_label *l, size_t nl, uint32_t *sid)
{
    osp__pq_lmap *m = &g->map;
    if (m->n && m->nlbl[g->last_sid] == nl) {
        const osp_label *last = m->lbl[g->last_sid];
        size_t i = 0;
        while (i < nl && osp_str_eq(last[i].name, l[i].name) &&
               osp_str_eq(last[i].value, l[i].value))
            i++;
        if (i == nl) {
            *sid = g->last_sid;
            return 0;
        }
    }
    int added, rc = osp__pq_lmap_put(m, g->r.q->arena, l, nl, sid, &added);
    if (rc)
        return rc;
    if (added && !(m->lbl[*sid] = copy_labels(g->r.q->arena, l, nl)))
        return OSP_ENOMEM;
    g->last_sid = *sid;
    return 0;
}

static int sample_record(const osp_log_view *v, void *ctx)
{
    gather *g = ctx;
    osp__lq_query *q = g->r.q;
    const osp_logql_unwrap *uw = g->e->u.range_agg.range.unwrap;
    osp__lq_entry e;
    double val = 1;
    int rc;
    if (g->last_stream == v->stream + 1 || g->dropped == v->stream + 1) {
        if ((rc = osp__lq_tick(q))) /* as the stream's last record: its series, or dropped */
            return g->r.rc = rc;
        q->stats->lines += 1 + (uint64_t)v->more;
        q->stats->bytes += v->size;
        if (g->dropped == v->stream + 1)
            return 0;
        int64_t t = (int64_t)osp_log_time(&v->batch->records[v->index]);
        return g->r.rc = count_records(g, g->last_sid, t, 1 + (uint64_t)v->more, 0);
    }
    rc = run_record(&g->r, v->batch, v->index, v->stream, v->line, &v->size, &e);
    q->stats->lines += v->more; /* a view for several records (by_stream) */
    if (rc <= 0) {
        if (rc == 0 && g->by_stream)
            g->dropped = v->stream + 1;
        return g->r.rc = rc;
    }
    if (g->keep_parser_errors &&
        (osp_str_eqz(e.err, OSP__LQ_ERR_JSON) || osp_str_eqz(e.err, OSP__LQ_ERR_LOGFMT)) &&
        (rc = osp__lq_set(&e, OSP_STR_LIT(PRESERVE_ERROR), OSP_STR_LIT("true"))))
        return g->r.rc = rc;
    if (uw) {
        char why[256];
        int found, bad = 0;
        osp_str s = osp__lq_get(&e, uw->label, &found);
        if (s.n == 0)
            return 0; /* a line without the label is no sample (Loki issue 6713) */
        if (uw->conv == OSP_LOGQL_CONV_DURATION) {
            int64_t ns;
            bad = osp_logql_parse_duration(s, &ns, why, sizeof why);
            val = (double)ns / 1e9;
        } else if (uw->conv == OSP_LOGQL_CONV_BYTES) {
            uint64_t bytes;
            bad = osp_logql_parse_bytes(s, &bytes, why, sizeof why);
            val = (double)bytes;
        } else {
            bad = osp_logql_parse_float(s, &val, why, sizeof why);
        }
        if (bad) {
            osp_str d = osp_arena_strdup(e.arena, osp_str_c(why));
            if (!d.p)
                return g->r.rc = OSP_ENOMEM;
            val = 0;
            osp__lq_set_error(&e, OSP__LQ_ERR_SAMPLE, d);
        }
        if ((rc = osp__lq_pipeline_run(&g->post, &e)) <= 0)
            return g->r.rc = rc;
    } else if (g->e->u.range_agg.op == OSP_LOGQL_RANGE_BYTES ||
               g->e->u.range_agg.op == OSP_LOGQL_RANGE_BYTES_RATE) {
        val = (double)e.line.n;
    }
    size_t nl;
    uint32_t sid;
    osp_label *l = NULL;
    if ((rc = grouped(g, &e, v, &l, &nl)) || (rc = series_of(g, l, nl, &sid)))
        return g->r.rc = rc;
    uint64_t t_ns = osp_log_time(&v->batch->records[v->index]);
    if (g->by_stream)
        g->last_stream = v->stream + 1;
    if (g->counting && fails_query(l, nl) && g->covered[slice_of(g, (int64_t)t_ns, 0)])
        return g->r.rc = pipeline_error(q, l, nl); /* windows() would fail the same way */
    if (g->counting)
        return g->r.rc = count_records(g, sid, (int64_t)t_ns, 1 + (uint64_t)v->more, e.line.n);
    point *pt = osp_array_push((void **)&g->pts, &g->npts, &g->cap, sizeof *pt);
    if (!pt)
        return g->r.rc = OSP_ENOMEM;
    *pt = (point){sid, (uint32_t)g->npts, t_ns, val};
    return 0;
}

static int cmp_point(const void *a, const void *b)
{
    const point *x = a, *y = b;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    if (x->t_ns != y->t_ns)
        return x->t_ns < y->t_ns ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Loki's extrapolatedRate for rate_counter, with its units as they are: sample times in
 * nanoseconds against the range in milliseconds, both divided by 1000. */
static double rate_counter(const point *p, size_t n, int64_t range_ms)
{
    if (n < 2)
        return 0;
    double result = p[n - 1].v - p[0].v, last = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i].v < last)
            result += last;
        last = p[i].v;
    }
    double to_start = (double)range_ms / 1000, to_end = 0;
    double sampled = (double)(p[n - 1].t_ns - p[0].t_ns) / 1000;
    double avg = sampled / (double)(n - 1);
    if (result > 0 && p[0].v >= 0) {
        double to_zero = sampled * (p[0].v / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    double threshold = avg * 1.1, interval = sampled;
    interval += to_start < threshold ? to_start : avg / 2;
    interval += to_end < threshold ? to_end : avg / 2;
    return result * (interval / sampled) / ((double)range_ms / 1000);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y; /* NaN sorts as Go's sort.Float64s would not matter here */
}

/* The value of a range aggregation over the window p[0..n) (n > 0), as Loki's
 * range_vector.go computes it. */
static double window_value(const osp_logql_expr *e, const point *p, size_t n, double *scratch)
{
    double range_s = (double)e->u.range_agg.range.range_ms / 1000, v = 0, mean = 0, aux = 0;
    int unwrapped = e->u.range_agg.range.unwrap != NULL;
    switch (e->u.range_agg.op) {
    case OSP_LOGQL_RANGE_COUNT:
        return (double)n;
    case OSP_LOGQL_RANGE_ABSENT:
        return 1;
    case OSP_LOGQL_RANGE_RATE:
        if (!unwrapped)
            return (double)n / range_s;
        /* fall through */
    case OSP_LOGQL_RANGE_BYTES_RATE:
    case OSP_LOGQL_RANGE_BYTES:
    case OSP_LOGQL_RANGE_SUM:
        for (size_t i = 0; i < n; i++)
            v += p[i].v;
        return e->u.range_agg.op == OSP_LOGQL_RANGE_SUM ||
                       e->u.range_agg.op == OSP_LOGQL_RANGE_BYTES
                   ? v
                   : v / range_s;
    case OSP_LOGQL_RANGE_AVG:
        for (size_t i = 0; i < n; i++) {
            double c = (double)(i + 1);
            if (isinf(mean) && ((isinf(p[i].v) && (mean > 0) == (p[i].v > 0)) ||
                                (!isinf(p[i].v) && !isnan(p[i].v))))
                continue;
            mean += p[i].v / c - mean / c;
        }
        return mean;
    case OSP_LOGQL_RANGE_MAX:
    case OSP_LOGQL_RANGE_MIN:
        v = p[0].v;
        for (size_t i = 0; i < n; i++)
            if ((e->u.range_agg.op == OSP_LOGQL_RANGE_MAX ? p[i].v > v : p[i].v < v) || isnan(v))
                v = p[i].v;
        return v;
    case OSP_LOGQL_RANGE_FIRST:
        return p[0].v;
    case OSP_LOGQL_RANGE_LAST:
        return p[n - 1].v;
    case OSP_LOGQL_RANGE_STDVAR:
    case OSP_LOGQL_RANGE_STDDEV:
        for (size_t i = 0; i < n; i++) {
            double delta = p[i].v - mean;
            mean += delta / (double)(i + 1);
            aux += delta * (p[i].v - mean);
        }
        v = aux / (double)n;
        return e->u.range_agg.op == OSP_LOGQL_RANGE_STDDEV ? sqrt(v) : v;
    case OSP_LOGQL_RANGE_QUANTILE: {
        double q = e->u.range_agg.param;
        if (q < 0)
            return -INFINITY;
        if (q > 1)
            return INFINITY;
        for (size_t i = 0; i < n; i++)
            scratch[i] = p[i].v;
        qsort(scratch, n, sizeof *scratch, cmp_double);
        double rank = q * (double)(n - 1), lo = fmax(0, floor(rank));
        double hi = fmin((double)n - 1, lo + 1), w = rank - floor(rank);
        return scratch[(size_t)lo] * (1 - w) + scratch[(size_t)hi] * w;
    }
    case OSP_LOGQL_RANGE_RATE_COUNTER:
        return rate_counter(p, n, e->u.range_agg.range.range_ms);
    }
    return NAN;
}

/* Appends v at step k of q to s (room for 2 * nsteps samples), with a stale marker at the
 * step after a sample whose next step has none: the PromQL engine would otherwise carry
 * the value across the gap (its lookback). k == q->nsteps: only close the series at its
 * end. */
static void add_step(const osp__lq_query *q, osp_series *s, size_t k, double v)
{
    int64_t step_ms = q->step_ns ? q->step_ns / 1000000 : 1;
    int64_t t_ms =
        k < q->nsteps ? (int64_t)((q->start_ns + k * (uint64_t)q->step_ns) / 1000000) : -1;
    if (s->nsamples) {
        int64_t next = s->samples[s->nsamples - 1].t_ms + step_ms;
        if (t_ms < 0 || next < t_ms)
            s->samples[s->nsamples++] = (osp_sample){next, osp_stale_nan()};
    }
    if (t_ms >= 0)
        s->samples[s->nsamples++] = (osp_sample){t_ms, v};
}

/* Labels absent_over_time gives its result: the selector's equality matchers, a name
 * matched more than once or otherwise left out (Loki's absentLabels). */
static int absent_labels(osp__lq_query *q, const osp_logql_log *log, osp_label **out, size_t *n)
{
    osp_label *l = osp_arena_alloc(q->arena, (log->nmatchers + 1) * sizeof *l);
    size_t k = 0;
    if (!l)
        return OSP_ENOMEM;
    for (size_t i = 0; i < log->nmatchers; i++) {
        const osp_label_matcher *m = &log->matchers[i];
        int dup = 0;
        for (size_t j = 0; j < log->nmatchers; j++)
            dup |= j != i && osp_str_eq(log->matchers[j].name, m->name);
        if (m->type == OSP_MATCH_EQ && !dup && m->value.n &&
            !osp_str_eqz(m->name, OSP_METRIC_NAME_LABEL))
            l[k++] = (osp_label){m->name, m->value};
    }
    osp_labels_sort(l, k);
    *out = l;
    *n = k;
    return 0;
}

/* absent_over_time's one series: 1 at every step whose window any[k] says was empty. */
static int absent_series(osp__lq_query *q, const osp_logql_expr *e, const uint8_t *any,
                         osp__lq_leaf *leaf)
{
    osp_series *s = &leaf->s[0];
    int rc;
    *s = (osp_series){0};
    if ((rc = absent_labels(q, &e->u.range_agg.range.log, &s->labels, &s->nlabels)) ||
        !(s->samples = osp_arena_alloc(q->arena, 2 * q->nsteps * sizeof *s->samples)))
        return rc ? rc : OSP_ENOMEM;
    for (size_t k = 0; k < q->nsteps; k++)
        if (!any[k])
            add_step(q, s, k, 1);
    leaf->n = s->nsamples ? 1 : 0;
    if (leaf->n)
        add_step(q, s, q->nsteps, 0);
    return 0;
}

static int cmp_slice_count(const void *a, const void *b)
{
    const slice_count *x = a, *y = b;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    return x->slice < y->slice ? -1 : x->slice > y->slice;
}

/* The next series of leaf, labelled l, with room for a sample per step. NULL when out of
 * memory. */
static osp_series *series_begin(osp__lq_query *q, osp__lq_leaf *leaf, const osp_label *l, size_t nl)
{
    osp_series *s = &leaf->s[leaf->n];
    *s = (osp_series){.labels = (osp_label *)l, .nlabels = nl};
    s->samples = osp_arena_alloc(q->arena, 2 * q->nsteps * sizeof *s->samples);
    return s->samples ? s : NULL;
}

/* Closes series s: it joins leaf when it has samples. 0, or the deadline's error. */
static int series_end(osp__lq_query *q, osp__lq_leaf *leaf, osp_series *s)
{
    if (s->nsamples) {
        add_step(q, s, q->nsteps, 0);
        leaf->n++;
    }
    return osp__lq_tick(q);
}

/* windows() for a counting aggregation: each window sums the counts of its slices. */
static int count_windows(osp__lq_query *q, gather *g, osp__lq_leaf *leaf)
{
    const osp_logql_expr *e = g->e;
    osp_logql_range_op op = e->u.range_agg.op;
    double range_s = (double)e->u.range_agg.range.range_ms / 1000;
    uint8_t *any = osp_arena_calloc(q->arena, q->nsteps + 1, 1);
    int rc;
    for (size_t i = 0; i < g->nopen; i++)
        if (g->open[i].n && (rc = close_slice(g, &g->open[i])))
            return rc;
    leaf->s = osp_arena_calloc(q->arena, g->map.n + 1, sizeof *leaf->s);
    leaf->n = 0;
    if (!any || !leaf->s)
        return OSP_ENOMEM;
    if (g->ncounts > 1)
        qsort(g->counts, g->ncounts, sizeof *g->counts, cmp_slice_count);
    for (size_t i = 0; i < g->ncounts;) {
        size_t j = i, lo = i, hi = i;
        while (j < g->ncounts && g->counts[j].sid == g->counts[i].sid)
            j++;
        const osp_label *l = g->map.lbl[g->counts[i].sid];
        size_t nl = g->map.nlbl[g->counts[i].sid];
        uint64_t n_lo = 0, n_hi = 0, bytes_lo = 0, bytes_hi = 0; /* up to lo and hi */
        osp_series *s = series_begin(q, leaf, l, nl);
        if (!s)
            return OSP_ENOMEM;
        for (size_t k = 0; k < q->nsteps; k++) {
            for (; hi < j && g->counts[hi].slice <= g->end_slice[k]; hi++) {
                n_hi += g->counts[hi].n;
                bytes_hi += g->counts[hi].bytes;
            }
            for (; lo < j && g->counts[lo].slice <= g->start_slice[k]; lo++) {
                n_lo += g->counts[lo].n;
                bytes_lo += g->counts[lo].bytes;
            }
            uint64_t n = n_hi - n_lo, bytes = bytes_hi - bytes_lo;
            if (!n)
                continue;
            if (fails_query(l, nl))
                return pipeline_error(q, l, nl);
            any[k] = 1;
            double v = op == OSP_LOGQL_RANGE_COUNT   ? (double)n
                       : op == OSP_LOGQL_RANGE_RATE  ? (double)n / range_s
                       : op == OSP_LOGQL_RANGE_BYTES ? (double)bytes
                                                     : (double)bytes / range_s;
            if (op != OSP_LOGQL_RANGE_ABSENT)
                add_step(q, s, k, v);
        }
        if ((rc = series_end(q, leaf, s)))
            return rc;
        i = j;
    }
    return op == OSP_LOGQL_RANGE_ABSENT ? absent_series(q, e, any, leaf) : 0;
}

/* Turns the gathered points into one series per label set with a sample per step. */
static int windows(osp__lq_query *q, gather *g, osp__lq_leaf *leaf)
{
    if (g->counting)
        return count_windows(q, g, leaf);
    const osp_logql_expr *e = g->e;
    int64_t range_ns = e->u.range_agg.range.range_ms * 1000000;
    int64_t off_ns = e->u.range_agg.range.offset_ms * 1000000;
    int absent = e->u.range_agg.op == OSP_LOGQL_RANGE_ABSENT;
    double *scratch = osp_arena_alloc(q->arena, (g->npts + 1) * sizeof *scratch);
    uint8_t *any = osp_arena_calloc(q->arena, q->nsteps + 1, 1);
    int rc;
    if (!scratch || !any)
        return OSP_ENOMEM;
    if (g->npts > 1)
        qsort(g->pts, g->npts, sizeof *g->pts, cmp_point);
    leaf->s = osp_arena_calloc(q->arena, g->map.n + 1, sizeof *leaf->s);
    leaf->n = 0;
    if (!leaf->s)
        return OSP_ENOMEM;
    for (size_t i = 0; i < g->npts;) {
        size_t j = i;
        while (j < g->npts && g->pts[j].sid == g->pts[i].sid)
            j++;
        const osp_label *l = g->map.lbl[g->pts[i].sid];
        size_t nl = g->map.nlbl[g->pts[i].sid], lo = i, hi = i;
        osp_series *s = series_begin(q, leaf, l, nl);
        if (!s)
            return OSP_ENOMEM;
        for (size_t k = 0; k < q->nsteps; k++) {
            int64_t t = (int64_t)q->start_ns + (int64_t)k * q->step_ns - off_ns;
            while (lo < j && (int64_t)g->pts[lo].t_ns <= t - range_ns)
                lo++;
            if (hi < lo)
                hi = lo;
            while (hi < j && (int64_t)g->pts[hi].t_ns <= t)
                hi++;
            if (hi == lo)
                continue;
            if (fails_query(l, nl))
                return pipeline_error(q, l, nl);
            any[k] = 1;
            if (!absent)
                add_step(q, s, k, window_value(e, g->pts + lo, hi - lo, scratch));
        }
        if ((rc = series_end(q, leaf, s)))
            return rc;
        i = j;
    }
    return absent ? absent_series(q, e, any, leaf) : 0;
}

/* Loki's parser hints (NewParserHint): parser errors are kept as series, not failing the
 * query, when the range aggregation groups with "by" (or takes the empty grouping of an
 * enclosing sum()), and the query names __error__: in that grouping, the unwrap, a label
 * filter, a template or a rename. Loki pushes only a sum's grouping down to the range
 * aggregation; Osprey's early grouping of max and min does not count. */
static int keeps_parser_errors(const gather *g, const osp__lq_pipeline *p)
{
    const osp_logql_grouping *gr = &g->e->u.range_agg.grouping;
    const osp_logql_unwrap *uw = g->e->u.range_agg.range.unwrap;
    const osp_str err = OSP_STR_LIT(OSP__LQ_ERROR);
    if (!gr->present || gr->without || g->e->u.range_agg.grouping_early)
        return 0;
    for (size_t i = 0; i < gr->labels.n; i++)
        if (osp_str_eq(gr->labels.a[i], err))
            return 1;
    return (uw && osp_str_eq(uw->label, err)) || osp__lq_pipeline_reads(p, err) ||
           osp__lq_pipeline_reads(&g->post, err);
}

/* A lean runner's "by" labels, prepared to look up in records' metadata. 0 or OSP_ENOMEM. */
static int prepare_by(osp__lq_query *q, gather *g)
{
    const osp_logql_labels *by = &g->e->u.range_agg.grouping.labels;
    if (!g->r.lean)
        return 0;
    if (!(g->by = osp_arena_alloc(q->arena, (by->n + 1) * sizeof *g->by)))
        return OSP_ENOMEM;
    for (size_t i = 0; i < by->n; i++)
        osp_log_meta_name_init(&g->by[i], by->a[i]);
    return 0;
}

/* The series past which g's query fails at once: when g is the whole query and counts,
 * every series with a record in some window has a sample in the result. 0 otherwise. */
static size_t cap_series(const osp__lq_query *q, const gather *g)
{
    if (q->top != g->e || !g->counting || g->e->u.range_agg.op == OSP_LOGQL_RANGE_ABSENT)
        return 0;
    return q->opts.max_series;
}

int osp__lq_eval_range(osp__lq_query *q, const osp_logql_expr *e, osp__lq_leaf *leaf)
{
    const osp_logql_range *r = &e->u.range_agg.range;
    int64_t range_ns = r->range_ms * 1000000, off_ns = r->offset_ms * 1000000;
    int64_t first = (int64_t)q->start_ns - range_ns - off_ns + 1;
    int64_t last = (int64_t)(q->start_ns + (q->nsteps - 1) * (uint64_t)q->step_ns) - off_ns + 1;
    osp_log_query lq = {.start_ns = first > 0 ? (uint64_t)first : 0,
                        .end_ns = last > 1 ? (uint64_t)last : 1};
    osp__lq_pipeline p;
    gather g;
    int rc = osp__lq_pipeline_compile(r->log.stages, r->log.nstages, q->arena, &p, q->pq.err,
                                      q->pq.errlen);
    if (rc)
        return rc;
    memset(&g, 0, sizeof g);
    runner_init(&g.r, q, &p);
    g.e = e;
    g.r.lean = e->u.range_agg.grouping.present && !e->u.range_agg.grouping.without &&
               reads_grouping_only(&r->log, r->unwrap, &e->u.range_agg.grouping.labels, 0);
    if ((r->unwrap && (rc = osp__lq_filters_compile(r->unwrap->post, r->unwrap->npost, q->arena,
                                                    &g.post, q->pq.err, q->pq.errlen))) ||
        (rc = osp__pq_lmap_init(&g.map, q->arena, 16)) || (rc = push_down(q, &r->log, &lq)) ||
        (rc = counting_init(q, &g)) || (rc = prepare_by(q, &g)) ||
        (rc = prepare_lookups(q, &g.r, &r->log, r->unwrap)) ||
        (rc = prepare_wanted(q, &g.r, &r->log, &e->u.range_agg.grouping.labels)))
        goto out;
    g.keep_parser_errors = keeps_parser_errors(&g, &p);
    g.series_cap = cap_series(q, &g);
    lq.no_lines = reads_no_lines(&g);
    lq.times_only = g.by_stream = times_only(q, &g, &lq);
    if (g.by_stream && g.counting) {
        lq.alike_until = slice_end;
        lq.alike_ctx = &g;
    }
    if (last <= 0) /* every window lies before the epoch */
        goto done;
    rc = q->src->scan(q->src->ctx, &lq, sample_record, &g);
    if (rc) {
        if (!g.r.rc)
            osp__lq_fail(q, rc, "scanning log records failed: %s", osp_strerror(rc));
        goto out;
    }
done:
    rc = windows(q, &g, leaf);
out:
    for (size_t i = 0; g.by && i < e->u.range_agg.grouping.labels.n; i++)
        osp_log_meta_name_cleanup(&g.by[i]);
    osp_free(g.pts);
    osp_free(g.open);
    osp_free(g.live);
    osp_free(g.counts);
    runner_cleanup(&g.r);
    osp__lq_pipeline_cleanup(&g.post);
    osp__lq_pipeline_cleanup(&p);
    return rc;
}

/* ---- the query ---- */

int osp_logql_eval(const osp_logql_source *src, const osp_logql_expr *e, uint64_t start_ns,
                   uint64_t end_ns, int64_t step_ms, const osp_logql_opts *opts, osp_arena *arena,
                   osp_logql_result *res, char *err, size_t errlen)
{
    uint64_t t0 = osp_clock_ns(CLOCK_MONOTONIC);
    osp__lq_query q = {.src = src, .arena = arena, .stats = &res->stats};
    int rc;
    memset(res, 0, sizeof *res);
    if (err && errlen)
        err[0] = 0;
    q.opts = opts ? *opts : (osp_logql_opts){0};
    if (!q.opts.limit)
        q.opts.limit = DEFAULT_LIMIT;
    if (!q.opts.max_series)
        q.opts.max_series = OSP_LOGQL_DEFAULT_MAX_SERIES;
    q.pq = (osp__pq_query){.arena = arena,
                           .deadline_ms = q.opts.deadline_ms,
                           .err = err,
                           .errlen = errlen,
                           .ticks = UINT32_MAX - 1};
    if (step_ms < 0 || end_ns < start_ns)
        return osp__lq_fail(&q, OSP_EINVAL, "invalid query range or step");
    if (e->kind == OSP_LOGQL_LOG) {
        if (step_ms == 0 && start_ns == end_ns)
            return osp__lq_fail(&q, OSP_EINVAL,
                                "log queries are not supported as an instant query type, please "
                                "change your query to a range query type");
        rc = eval_log(&q, &e->u.log, start_ns, end_ns, res);
    } else {
        q.step_ns = step_ms * 1000000;
        q.start_ns = step_ms ? start_ns : end_ns;
        q.end_ns = end_ns;
        q.nsteps = step_ms ? (size_t)((end_ns - start_ns) / (uint64_t)q.step_ns) + 1 : 1;
        rc = osp__lq_eval_metric(&q, e, res);
    }
    if (rc == OSP_ENOMEM && err && errlen && !err[0])
        osp__lq_fail(&q, rc, "out of memory in query execution");
    if (rc) {
        osp_logql_stats st = res->stats;
        memset(res, 0, sizeof *res);
        res->stats = st;
        if (err && errlen && !err[0])
            osp__lq_fail(&q, rc, "%s", osp_strerror(rc));
    }
    res->stats.exec_ns = osp_clock_ns(CLOCK_MONOTONIC) - t0;
    return rc;
}
