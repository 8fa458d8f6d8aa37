/* PromQL engine (promql_eval.h): literals, selectors, subqueries, calls, unary minus,
 * step-invariant subtrees and the shape of the result. Binary operators live in
 * promql_binop.c, aggregations in promql_agg.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "query/promql_eval_int.h"

#define DEFAULT_LOOKBACK_MS (5 * 60 * 1000)
#define DEFAULT_MAX_SAMPLES 50000000u
#define DEFAULT_SQ_STEP_MS (60 * 1000)

static osp_promql_fn (*fn_lookup)(osp_str name) = osp_promql_fn_lookup;

void osp__promql_set_fn_lookup(osp_promql_fn (*lookup)(osp_str name))
{
    fn_lookup = lookup ? lookup : osp_promql_fn_lookup;
}

static const osp_promql_expr *unparen(const osp_promql_expr *e)
{
    while (e->kind == OSP_PROMQL_PAREN)
        e = e->u.paren.expr;
    return e;
}

static int64_t at_time(const osp__pq_query *q, const osp_promql_mods *m)
{
    switch (m->at) {
    case OSP_PROMQL_AT_START:
        return q->qstart;
    case OSP_PROMQL_AT_END:
        return q->qend;
    default:
        return m->at_ms;
    }
}

/* The time a selector or subquery with mods reads for the step at ts. */
static int64_t ref_time(const osp__pq_query *q, const osp_promql_mods *m, int64_t ts)
{
    return (m->at == OSP_PROMQL_AT_NONE ? ts : at_time(q, m)) - m->offset_ms;
}

/* First sample of a window ending at maxt: Prometheus 2.42 keeps samples at exactly
 * maxt - range (and at exactly t - lookback for instant selectors). */
static int in_window(int64_t t, int64_t mint)
{
    return t >= mint;
}

/* osp_is_stale_nan, inlined for the per-sample loops. */
static inline int is_stale(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == OSP_STALE_NAN_BITS;
}

/* ---- selectors ---- */

static int select_series(osp__pq_ev *ev, const osp_promql_expr *vs, int64_t mint, int64_t maxt,
                         osp_series **s, size_t *n)
{
    osp__pq_query *q = ev->q;
    size_t nm = vs->u.vs.nmatchers + 1, k = 0;
    osp_label_matcher *m = osp_arena_alloc(q->arena, nm * sizeof *m);
    if (!m)
        return OSP_ENOMEM;
    if (vs->u.vs.name.n)
        m[k++] =
            (osp_label_matcher){OSP_MATCH_EQ, OSP_STR_LIT(OSP_METRIC_NAME_LABEL), vs->u.vs.name};
    for (size_t i = 0; i < vs->u.vs.nmatchers; i++) {
        const osp_promql_matcher *pm = &vs->u.vs.matchers[i];
        static const int types[] = {[OSP_PROMQL_MATCH_EQ] = OSP_MATCH_EQ,
                                    [OSP_PROMQL_MATCH_NE] = OSP_MATCH_NEQ,
                                    [OSP_PROMQL_MATCH_RE] = OSP_MATCH_RE,
                                    [OSP_PROMQL_MATCH_NRE] = OSP_MATCH_NRE};
        m[k++] = (osp_label_matcher){types[pm->op], pm->name, pm->value};
    }
    int rc = q->src->select(q->src->ctx, m, k, mint, maxt, q->arena, s, n);
    if (rc)
        return osp__pq_fail(q, rc, "selecting series failed: %s", osp_strerror(rc));
    return 0;
}

/* Index of the float sample an instant selector reads at ref in s (from *j on, which
 * moves forward past every sample at or before ref), or -1: the newest at or before ref,
 * not older than the lookback, not stale. Histograms aside. */
static long lookup_float(const osp_series *s, size_t *j, int64_t ref, int64_t lookback)
{
    size_t i = *j;
    while (i < s->nsamples && s->samples[i].t_ms <= ref)
        i++;
    *j = i;
    if (i == 0 || !in_window(s->samples[i - 1].t_ms, ref - lookback) ||
        is_stale(s->samples[i - 1].v))
        return -1;
    return (long)i - 1;
}

/* Read positions of an instant selector in one series: they only move forward. */
typedef struct sel_pos {
    size_t f, h; /* next float and histogram sample */
} sel_pos;

enum { SAMPLE_NONE, SAMPLE_FLOAT, SAMPLE_HIST };

/* The sample an instant selector reads at ref in s: the newest at or before ref, float or
 * histogram, unless it is older than the lookback or a stale marker. SAMPLE_FLOAT or SAMPLE_HIST
 * with *at its index in s's samples or hsamples, or SAMPLE_NONE. */
static int lookup_sample(const osp_series *s, sel_pos *pos, int64_t ref, int64_t lookback,
                         size_t *at)
{
    long f = lookup_float(s, &pos->f, ref, lookback);
    size_t k = pos->h;
    while (k < s->nhsamples && s->hsamples[k].t_ms <= ref)
        k++;
    pos->h = k;
    if (k > 0 && (pos->f == 0 || s->hsamples[k - 1].t_ms > s->samples[pos->f - 1].t_ms)) {
        if (!in_window(s->hsamples[k - 1].t_ms, ref - lookback) ||
            osp_hist_is_stale(s->hsamples[k - 1].h))
            return SAMPLE_NONE;
        *at = k - 1;
        return SAMPLE_HIST;
    }
    if (f < 0)
        return SAMPLE_NONE;
    *at = (size_t)f;
    return SAMPLE_FLOAT;
}

/* Selects what an instant selector reads over ev's steps. */
static int load_vs(osp__pq_ev *ev, const osp_promql_expr *vs, osp_series **s, size_t *n)
{
    const osp_promql_mods *m = &vs->u.vs.mods;
    return select_series(ev, vs, ref_time(ev->q, m, ev->start) - ev->q->lookback_ms,
                         ref_time(ev->q, m, ev->end), s, n);
}

static int eval_vs(osp__pq_ev *ev, const osp_promql_expr *vs, osp__pq_mat *out)
{
    osp__pq_query *q = ev->q;
    osp_series *in;
    size_t nin;
    int rc = load_vs(ev, vs, &in, &nin);
    if (rc)
        return rc;
    osp_sample *buf = osp_arena_alloc(q->arena, ev->nsteps * sizeof *buf);
    osp_hsample *hbuf = NULL; /* allocated for the first series with histograms */
    out->s = osp_arena_alloc(q->arena, (nin + 1) * sizeof *out->s);
    out->n = 0;
    if (!buf || !out->s)
        return OSP_ENOMEM;
    for (size_t i = 0; i < nin; i++) {
        const osp_series *s = &in[i];
        sel_pos pos = {0, 0};
        size_t cnt = 0, hcnt = 0, at;
        int64_t ts = ev->start;
        if (s->nhsamples && !hbuf && !(hbuf = osp_arena_alloc(q->arena, ev->nsteps * sizeof *hbuf)))
            return OSP_ENOMEM;
        for (size_t k = 0; !s->nhsamples && k < ev->nsteps; k++, ts += ev->step) {
            long f = lookup_float(s, &pos.f, ref_time(q, &vs->u.vs.mods, ts), q->lookback_ms);
            if (f >= 0)
                buf[cnt++] = (osp_sample){ts, s->samples[f].v};
        }
        for (size_t k = 0; s->nhsamples && k < ev->nsteps; k++, ts += ev->step) {
            switch (lookup_sample(s, &pos, ref_time(q, &vs->u.vs.mods, ts), q->lookback_ms, &at)) {
            case SAMPLE_FLOAT:
                buf[cnt++] = (osp_sample){ts, s->samples[at].v};
                break;
            case SAMPLE_HIST:
                hbuf[hcnt++] = (osp_hsample){ts, s->hsamples[at].h};
                break;
            default:
                break;
            }
        }
        if ((rc = osp__pq_tick(q)))
            return rc;
        if (!cnt && !hcnt)
            continue;
        if ((rc = osp__pq_hold(q, cnt + hcnt)))
            return rc;
        osp_sample *p = cnt ? osp_arena_memdup(q->arena, buf, cnt * sizeof *buf) : NULL;
        osp_hsample *hp = hcnt ? osp_arena_memdup(q->arena, hbuf, hcnt * sizeof *hbuf) : NULL;
        if ((cnt && !p) || (hcnt && !hp))
            return OSP_ENOMEM;
        out->s[out->n++] = (osp_series){.labels = s->labels,
                                        .nlabels = s->nlabels,
                                        .samples = p,
                                        .nsamples = cnt,
                                        .hsamples = hp,
                                        .nhsamples = hcnt};
    }
    return 0;
}

/* ---- range vectors ---- */

/* The window of one series: floats [lo, hi), histograms [hlo, hhi) (they only move
 * forward as steps advance). */
typedef struct win_pos {
    size_t lo, hi, hlo, hhi;
} win_pos;

/* A range-vector operand: per series its samples (stored times for selectors, inner step
 * times for subqueries), and the windows handed out per step. */
typedef struct range_vec {
    osp_series *s;
    size_t n;
    int64_t range_ms;
    const osp_promql_mods *mods;
    win_pos *pos;      /* current window per series */
    osp_series *win;   /* windows as series views */
    uint64_t held;     /* samples of the current windows counted as held */
    osp__pq_mat inner; /* a subquery's evaluated matrix, held until the call is done */
} range_vec;

/* Removes stale markers, float and histogram, from the selected samples (copying only the
 * arrays that have one). */
static int drop_stale(osp_arena *a, osp_series *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = 0, j;
        for (j = 0; j < s[i].nsamples && !is_stale(s[i].samples[j].v); j++)
            ;
        if (j < s[i].nsamples) {
            osp_sample *p = osp_arena_alloc(a, s[i].nsamples * sizeof *p);
            if (!p)
                return OSP_ENOMEM;
            for (j = 0; j < s[i].nsamples; j++)
                if (!is_stale(s[i].samples[j].v))
                    p[k++] = s[i].samples[j];
            s[i].samples = p;
            s[i].nsamples = k;
        }
        for (j = 0; j < s[i].nhsamples && !osp_hist_is_stale(s[i].hsamples[j].h); j++)
            ;
        if (j == s[i].nhsamples)
            continue;
        osp_hsample *hp = osp_arena_alloc(a, s[i].nhsamples * sizeof *hp);
        if (!hp)
            return OSP_ENOMEM;
        for (j = 0, k = 0; j < s[i].nhsamples; j++)
            if (!osp_hist_is_stale(s[i].hsamples[j].h))
                hp[k++] = s[i].hsamples[j];
        s[i].hsamples = hp;
        s[i].nhsamples = k;
    }
    return 0;
}

static int eval_subquery(osp__pq_ev *ev, const osp_promql_expr *e, osp__pq_mat *out)
{
    const osp_promql_mods *m = &e->u.sq.mods;
    int64_t step = e->u.sq.step_ms ? e->u.sq.step_ms : ev->q->sq_step_ms;
    int64_t first = ref_time(ev->q, m, ev->start) - e->u.sq.range_ms;
    osp__pq_ev sub = {.q = ev->q, .step = step, .end = ref_time(ev->q, m, ev->end)};
    /* The first multiple of step at or after first (C division truncates like Go's). */
    sub.start = step * (first / step);
    if (sub.start < first)
        sub.start += step;
    if (sub.start > sub.end) {
        *out = (osp__pq_mat){NULL, 0};
        return 0;
    }
    sub.nsteps = (size_t)((sub.end - sub.start) / step) + 1;
    return osp__pq_eval(&sub, e->u.sq.expr, out);
}

static int load_range(osp__pq_ev *ev, const osp_promql_expr *e, range_vec *rv)
{
    osp__pq_query *q = ev->q;
    int rc;
    memset(rv, 0, sizeof *rv);
    e = unparen(e);
    if (e->kind == OSP_PROMQL_MATRIX) {
        const osp_promql_expr *vs = e->u.ms.vs;
        rv->mods = &vs->u.vs.mods;
        rv->range_ms = e->u.ms.range_ms;
        rc = select_series(ev, vs, ref_time(q, rv->mods, ev->start) - rv->range_ms,
                           ref_time(q, rv->mods, ev->end), &rv->s, &rv->n);
        if (!rc)
            rc = drop_stale(q->arena, rv->s, rv->n);
    } else if (e->kind == OSP_PROMQL_SUBQUERY) {
        rv->mods = &e->u.sq.mods;
        rv->range_ms = e->u.sq.range_ms;
        rc = eval_subquery(ev, e, &rv->inner);
        rv->s = rv->inner.s;
        rv->n = rv->inner.n;
    } else {
        return osp__pq_fail(q, OSP_EINVAL, "unexpected %s where a range vector belongs",
                            osp_promql_type_name(e->type));
    }
    if (rc)
        return rc;
    rv->pos = osp_arena_calloc(q->arena, rv->n + 1, sizeof *rv->pos);
    rv->win = osp_arena_calloc(q->arena, rv->n + 1, sizeof *rv->win);
    return rv->pos && rv->win ? 0 : OSP_ENOMEM;
}

/* Moves the window p of s forward to the samples in [mint, maxt] and sets *w to a view of
 * them (floats and histograms); returns how many it holds. */
static inline size_t slide_window(const osp_series *s, win_pos *p, int64_t mint, int64_t maxt,
                                  osp_series *w)
{
    while (p->lo < s->nsamples && !in_window(s->samples[p->lo].t_ms, mint))
        p->lo++;
    if (p->hi < p->lo)
        p->hi = p->lo;
    while (p->hi < s->nsamples && s->samples[p->hi].t_ms <= maxt)
        p->hi++;
    if (!s->nhsamples) {
        w->labels = s->labels;
        w->nlabels = s->nlabels;
        w->samples = s->samples + p->lo;
        w->nsamples = p->hi - p->lo;
        w->hsamples = NULL;
        w->nhsamples = 0;
        return w->nsamples;
    }
    while (p->hlo < s->nhsamples && !in_window(s->hsamples[p->hlo].t_ms, mint))
        p->hlo++;
    if (p->hhi < p->hlo)
        p->hhi = p->hlo;
    while (p->hhi < s->nhsamples && s->hsamples[p->hhi].t_ms <= maxt)
        p->hhi++;
    *w = (osp_series){.labels = s->labels,
                      .nlabels = s->nlabels,
                      .samples = s->samples ? s->samples + p->lo : NULL,
                      .nsamples = p->hi - p->lo,
                      .hsamples = s->hsamples ? s->hsamples + p->hlo : NULL,
                      .nhsamples = p->hhi - p->hlo};
    return w->nsamples + w->nhsamples;
}

/* Moves every window to the step at ts and counts its samples as held. */
static int range_step(osp__pq_query *q, range_vec *rv, int64_t ts)
{
    int64_t maxt = ref_time(q, rv->mods, ts), mint = maxt - rv->range_ms;
    uint64_t held = 0;
    for (size_t i = 0; i < rv->n; i++)
        held += slide_window(&rv->s[i], &rv->pos[i], mint, maxt, &rv->win[i]);
    q->samples -= rv->held;
    rv->held = held;
    return osp__pq_hold(q, held);
}

/* ---- calls ---- */

static const char *const unsafe_fns[] = {
    "days_in_month", "day_of_month", "day_of_week",    "day_of_year", "hour",     "minute",
    "month",         "year",         "predict_linear", "time",        "timestamp"};

/* Prometheus's step invariance: the value does not depend on the evaluation step (every
 * selector and subquery under it has @, and no call reads the step time). */
static int invariant(const osp_promql_expr *e)
{
    switch (e->kind) {
    case OSP_PROMQL_NUMBER:
    case OSP_PROMQL_STRING:
        return 1;
    case OSP_PROMQL_VECTOR:
        return e->u.vs.mods.at != OSP_PROMQL_AT_NONE;
    case OSP_PROMQL_MATRIX:
        return e->u.ms.vs->u.vs.mods.at != OSP_PROMQL_AT_NONE;
    case OSP_PROMQL_SUBQUERY:
        return e->u.sq.mods.at != OSP_PROMQL_AT_NONE;
    case OSP_PROMQL_PAREN:
        return invariant(e->u.paren.expr);
    case OSP_PROMQL_UNARY:
        return invariant(e->u.unary.expr);
    case OSP_PROMQL_AGG: /* as Prometheus: the parameter is not looked at */
        return invariant(e->u.agg.expr);
    case OSP_PROMQL_BINARY:
        return invariant(e->u.bin.lhs) && invariant(e->u.bin.rhs);
    case OSP_PROMQL_CALL:
        for (size_t i = 0; i < sizeof unsafe_fns / sizeof unsafe_fns[0]; i++)
            if (osp_str_eqz(e->u.call.name, unsafe_fns[i]))
                return 0;
        for (size_t i = 0; i < e->u.call.nargs; i++)
            if (!invariant(e->u.call.args[i]))
                return 0;
        return 1;
    }
    return 0;
}

/* One evaluated argument of a call and what produces it per step. */
typedef struct call_arg {
    const osp_promql_expr *e; /* parentheses removed */
    osp__pq_mat mat;          /* SCALAR, VECTOR */
    osp__pq_cursor cur;
    range_vec rv;    /* MATRIX */
    osp_series *sel; /* timestamp(<selector>): the selected series */
    size_t nsel;
    sel_pos *selpos;
    uint32_t *sidx;
    double *vals;
    const osp_histogram **hvals; /* VECTOR of a function that sees histograms */
} call_arg;

static int arg_init(osp__pq_ev *ev, const osp_promql_expr *call, size_t i, call_arg *ca,
                    osp_promql_arg *arg)
{
    osp__pq_query *q = ev->q;
    int rc;
    memset(ca, 0, sizeof *ca);
    memset(arg, 0, sizeof *arg);
    ca->e = unparen(call->u.call.args[i]);
    arg->type = ca->e->type;
    switch (ca->e->type) {
    case OSP_PROMQL_T_STRING:
        if (ca->e->kind != OSP_PROMQL_STRING)
            return osp__pq_fail(q, OSP_EINVAL, "string argument must be a literal");
        arg->string = ca->e->u.string;
        return 0;
    case OSP_PROMQL_T_MATRIX:
        if ((rc = load_range(ev, ca->e, &ca->rv)))
            return rc;
        arg->range_ms = ca->rv.range_ms;
        return 0;
    default:
        break;
    }
    if (ca->e->kind == OSP_PROMQL_VECTOR && osp_str_eqz(call->u.call.name, "timestamp")) {
        /* timestamp() of a selector reads the samples' own times */
        if ((rc = load_vs(ev, ca->e, &ca->sel, &ca->nsel)))
            return rc;
        ca->selpos = osp_arena_calloc(q->arena, ca->nsel + 1, sizeof *ca->selpos);
        arg->vec.a = osp_arena_calloc(q->arena, ca->nsel + 1, sizeof *arg->vec.a);
        return ca->selpos && arg->vec.a ? 0 : OSP_ENOMEM;
    }
    if ((rc = osp__pq_eval(ev, ca->e, &ca->mat)) ||
        (rc = osp__pq_cursor_init(&ca->cur, q->arena, &ca->mat)))
        return rc;
    size_t n = ca->mat.n + 1;
    ca->sidx = osp_arena_alloc(q->arena, n * sizeof *ca->sidx);
    ca->vals = osp_arena_alloc(q->arena, n * sizeof *ca->vals);
    arg->vec.a = osp_arena_calloc(q->arena, n, sizeof *arg->vec.a);
    if (!ca->sidx || !ca->vals || !arg->vec.a)
        return OSP_ENOMEM;
    if (ca->cur.hist && osp_promql_fn_sees_histograms(call->u.call.name) &&
        !(ca->hvals = osp_arena_alloc(q->arena, n * sizeof *ca->hvals)))
        return OSP_ENOMEM;
    return 0;
}

/* Fills arg with the argument's value at step ts. */
static int arg_step(osp__pq_ev *ev, call_arg *ca, osp_promql_arg *arg, int64_t ts)
{
    osp__pq_query *q = ev->q;
    switch (arg->type) {
    case OSP_PROMQL_T_STRING:
        return 0;
    case OSP_PROMQL_T_MATRIX: {
        int rc = range_step(q, &ca->rv, ts);
        arg->series = ca->rv.win;
        arg->nseries = ca->rv.n;
        arg->end_ms = ref_time(q, ca->rv.mods, ts);
        return rc;
    }
    case OSP_PROMQL_T_SCALAR:
        arg->scalar = osp__pq_scalar_at(&ca->cur, ts);
        return 0;
    default:
        break;
    }
    arg->vec.n = 0;
    if (ca->sel) {
        int64_t ref = ref_time(q, &ca->e->u.vs.mods, ts);
        for (size_t i = 0; i < ca->nsel; i++) {
            const osp_series *s = &ca->sel[i];
            size_t at;
            switch (lookup_sample(s, &ca->selpos[i], ref, q->lookback_ms, &at)) {
            case SAMPLE_FLOAT:
                arg->vec.a[arg->vec.n++] = (osp_promql_elem){
                    s->labels, s->nlabels, s->samples[at].t_ms, s->samples[at].v, NULL};
                break;
            case SAMPLE_HIST:
                arg->vec.a[arg->vec.n++] = (osp_promql_elem){
                    s->labels, s->nlabels, s->hsamples[at].t_ms, 0, s->hsamples[at].h};
                break;
            default:
                break;
            }
        }
        return 0;
    }
    size_t n = osp__pq_gather(&ca->cur, ts, ca->sidx, ca->vals);
    for (size_t i = 0; i < n; i++) {
        const osp_series *s = &ca->mat.s[ca->sidx[i]];
        arg->vec.a[i] = (osp_promql_elem){s->labels, s->nlabels, ts, ca->vals[i], NULL};
    }
    if (ca->hvals) {
        size_t nh = osp__pq_hgather(&ca->cur, ts, ca->sidx, ca->hvals);
        for (size_t i = 0; i < nh; i++) {
            const osp_series *s = &ca->mat.s[ca->sidx[i]];
            arg->vec.a[n++] = (osp_promql_elem){s->labels, s->nlabels, ts, 0, ca->hvals[i]};
        }
    }
    arg->vec.n = n;
    return 0;
}

/* Gives back what a call's arguments held. */
static void release_args(osp__pq_query *q, call_arg *ca, size_t nargs)
{
    for (size_t i = 0; i < nargs; i++) {
        osp__pq_release(q, &ca[i].mat);
        osp__pq_release(q, &ca[i].rv.inner);
        q->samples -= ca[i].rv.held;
    }
}

/* Names the failed function unless it said why itself. */
static int call_failed(osp__pq_query *q, const osp_promql_expr *e, int rc)
{
    if (rc != OSP_ENOMEM && q->err && q->errlen && !q->err[0])
        osp__pq_fail(q, rc, "function %.*s failed", OSP_STR_FMT(e->u.call.name));
    return rc;
}

/* Adds a function's histogram h at ts to output series idx, copied into the query's arena
 * (a function's result may live in its scratch arena). */
static int add_hist_copy(osp__pq_out *o, uint32_t idx, int64_t ts, const osp_histogram *h)
{
    osp_histogram *copy = osp_hist_copy(o->ev->q->arena, h);
    return copy ? osp__pq_out_add_hist(o, idx, ts, copy) : OSP_ENOMEM;
}

/* A range function with a window kernel, series by series over every step as Prometheus
 * evaluates it: each input series' output labels and output series are resolved once,
 * and its windows slide forward without copying. Scalar arguments are evaluated once per
 * step up front. */
static int eval_window_call(osp__pq_ev *ev, const osp_promql_expr *e,
                            const osp_promql_window_def *wd, osp__pq_mat *out)
{
    osp__pq_query *q = ev->q;
    size_t nargs = e->u.call.nargs;
    call_arg *ca = osp_arena_calloc(q->arena, nargs + 1, sizeof *ca);
    osp_promql_arg *args = osp_arena_calloc(q->arena, nargs + 1, sizeof *args);
    double **scalars = osp_arena_calloc(q->arena, nargs + 1, sizeof *scalars);
    osp_arena scratch;
    osp__pq_out o;
    int rc;
    if (!ca || !args || !scalars)
        return OSP_ENOMEM;
    for (size_t i = 0; i < nargs; i++) {
        if ((rc = arg_init(ev, e, i, &ca[i], &args[i])))
            return rc;
        if (args[i].type != OSP_PROMQL_T_SCALAR)
            continue;
        if (!(scalars[i] = osp_arena_alloc(q->arena, ev->nsteps * sizeof **scalars)))
            return OSP_ENOMEM;
        int64_t ts = ev->start;
        for (size_t k = 0; k < ev->nsteps; k++, ts += ev->step)
            scalars[i][k] = osp__pq_scalar_at(&ca[i].cur, ts);
    }
    const range_vec *rv = &ca[wd->matrix_arg].rv;
    osp_promql_arg *m = &args[wd->matrix_arg];
    if ((rc = osp__pq_out_init(&o, ev, rv->n)))
        return rc;
    osp_arena_init(&scratch, 0, q->arena->max);
    osp_promql_call_ctx c = {.call = e, .arena = &scratch, .err = q->err, .errlen = q->errlen};
    for (size_t i = 0; i < rv->n && rc == 0; i++) {
        const osp_series *s = &rv->s[i];
        win_pos pos = {0, 0, 0, 0};
        uint32_t idx = UINT32_MAX;
        int64_t ts = ev->start;
        for (size_t k = 0; k < ev->nsteps && rc == 0; k++, ts += ev->step) {
            int64_t maxt = ref_time(q, rv->mods, ts);
            osp_series w;
            size_t n = slide_window(s, &pos, maxt - rv->range_ms, maxt, &w);
            if (wd->hfn ? n == 0 : w.nsamples == 0)
                continue;
            double v;
            const osp_histogram *h = NULL;
            for (size_t j = 0; j < nargs; j++)
                if (scalars[j])
                    args[j].scalar = scalars[j][k];
            m->series = &w;
            m->nseries = 1;
            m->end_ms = maxt;
            c.t_ms = ts;
            if ((rc = osp__pq_hold(q, n)))
                break;
            rc = wd->hfn ? wd->hfn(&c, args, m, &w, &v, &h) : wd->fn(&c, args, m, &w, &v);
            q->samples -= n;
            if (rc < 0) {
                rc = call_failed(q, e, rc);
                break;
            }
            if (rc == 0)
                continue;
            rc = 0;
            if (idx == UINT32_MAX) { /* two inputs may not meet in one output (2.42) */
                size_t nl = s->nlabels, before = o.n;
                osp_label *l =
                    wd->keep_name ? s->labels : osp_promql_drop_name(q->arena, s->labels, &nl);
                if (!l || (rc = osp__pq_out_series(&o, l, nl, &idx)))
                    rc = rc ? rc : OSP_ENOMEM;
                else if (o.n == before)
                    rc = osp__pq_fail(q, OSP_EEXEC,
                                      "vector cannot contain metrics with the same labelset");
            }
            if (rc == 0)
                rc = h ? add_hist_copy(&o, idx, ts, h) : osp__pq_out_add(&o, idx, ts, v);
        }
        osp_arena_cleanup(&scratch);
        if (rc == 0)
            rc = osp__pq_tick(q);
    }
    osp_arena_cleanup(&scratch);
    if (rc)
        return rc;
    release_args(q, ca, nargs);
    *out = osp__pq_out_done(&o);
    return 0;
}

/* Runs the function once per step. Functions allocate their results in a scratch arena
 * emptied every step; an output series copies its labels when it first appears. */
static int eval_call(osp__pq_ev *ev, const osp_promql_expr *e, osp__pq_mat *out)
{
    const osp_promql_window_def *wd = osp_promql_window_lookup(e->u.call.name);
    if (wd && fn_lookup == osp_promql_fn_lookup)
        return eval_window_call(ev, e, wd, out);
    osp__pq_query *q = ev->q;
    osp_promql_fn fn = fn_lookup(e->u.call.name);
    size_t nargs = e->u.call.nargs;
    osp_arena scratch;
    osp__pq_out o;
    int rc;
    if (!fn)
        return osp__pq_fail(q, OSP_EEXEC, "function %.*s is not implemented",
                            OSP_STR_FMT(e->u.call.name));
    call_arg *ca = osp_arena_calloc(q->arena, nargs + 1, sizeof *ca);
    osp_promql_arg *args = osp_arena_calloc(q->arena, nargs + 1, sizeof *args);
    if (!ca || !args)
        return OSP_ENOMEM;
    for (size_t i = 0; i < nargs; i++)
        if ((rc = arg_init(ev, e, i, &ca[i], &args[i])))
            return rc;
    if ((rc = osp__pq_out_init(&o, ev, 16)))
        return rc;
    osp_arena_init(&scratch, 0, q->arena->max);
    osp_promql_call_ctx c = {.call = e, .arena = &scratch, .err = q->err, .errlen = q->errlen};
    int64_t ts = ev->start;
    for (size_t k = 0; k < ev->nsteps; k++, ts += ev->step) {
        osp_promql_vec res = {NULL, 0};
        osp_arena_cleanup(&scratch);
        for (size_t i = 0; i < nargs; i++)
            if ((rc = arg_step(ev, &ca[i], &args[i], ts)))
                goto out;
        c.t_ms = ts;
        if ((rc = fn(&c, args, nargs, &res))) {
            call_failed(q, e, rc);
            goto out;
        }
        for (size_t i = 0; i < res.n; i++) {
            uint32_t idx;
            if ((rc = osp__pq_out_series_copy(&o, res.a[i].labels, res.a[i].nlabels, &idx)) ||
                (rc = res.a[i].h ? add_hist_copy(&o, idx, ts, res.a[i].h)
                                 : osp__pq_out_add(&o, idx, ts, res.a[i].v)))
                goto out;
        }
        if ((rc = osp__pq_tick(q)))
            goto out;
    }
    release_args(q, ca, nargs);
    *out = osp__pq_out_done(&o);
out:
    osp_arena_cleanup(&scratch);
    return rc;
}

/* ---- other nodes ---- */

static int eval_number(osp__pq_ev *ev, double v, osp__pq_mat *out)
{
    osp__pq_query *q = ev->q;
    osp_series *s = osp_arena_calloc(q->arena, 1, sizeof *s);
    osp_sample *p = osp_arena_alloc(q->arena, ev->nsteps * sizeof *p);
    if (!s || !p)
        return OSP_ENOMEM;
    int64_t ts = ev->start;
    for (size_t k = 0; k < ev->nsteps; k++, ts += ev->step)
        p[k] = (osp_sample){ts, v};
    s->samples = p;
    s->nsamples = ev->nsteps;
    *out = (osp__pq_mat){s, 1};
    return osp__pq_hold(q, ev->nsteps);
}

/* Unary minus: negated values (histograms times -1) without __name__; like Prometheus it
 * refuses two series that end up with the same labels, whether or not they share a step. */
static int eval_neg(osp__pq_ev *ev, const osp_promql_expr *e, osp__pq_mat *out)
{
    osp__pq_query *q = ev->q;
    osp__pq_lmap seen;
    int rc = osp__pq_eval(ev, e->u.unary.expr, out);
    if (rc || (rc = osp__pq_lmap_init(&seen, q->arena, out->n)))
        return rc;
    for (size_t i = 0; i < out->n; i++) {
        osp_series *s = &out->s[i];
        uint32_t id;
        int added;
        s->labels = osp_promql_drop_name(q->arena, s->labels, &s->nlabels);
        if (!s->labels && s->nlabels) /* drop_name failed; NULL and 0 is an empty set */
            return OSP_ENOMEM;
        if ((rc = osp__pq_lmap_put(&seen, q->arena, s->labels, s->nlabels, &id, &added)))
            return rc;
        if (!added)
            return osp__pq_fail(q, OSP_EEXEC,
                                "vector cannot contain metrics with the same labelset");
        for (size_t j = 0; j < s->nsamples; j++)
            s->samples[j].v = -s->samples[j].v;
        for (size_t j = 0; j < s->nhsamples; j++)
            if (!(s->hsamples[j].h = osp_hist_mul(q->arena, s->hsamples[j].h, -1)))
                return OSP_ENOMEM;
    }
    return 0;
}

/* Evaluates a step-invariant e once at ev's start and repeats it on every step. */
static int eval_invariant(osp__pq_ev *ev, const osp_promql_expr *e, osp__pq_mat *out)
{
    osp__pq_query *q = ev->q;
    osp__pq_ev one = {.q = q, .start = ev->start, .end = ev->start, .step = ev->step, .nsteps = 1};
    int rc = osp__pq_eval(&one, e, out);
    if (rc)
        return rc;
    for (size_t i = 0; i < out->n; i++) {
        osp_series *s = &out->s[i];
        int64_t ts = ev->start;
        if (s->nhsamples) {
            osp_hsample *hp = osp_arena_alloc(q->arena, ev->nsteps * sizeof *hp);
            if (!hp)
                return OSP_ENOMEM;
            for (size_t k = 0; k < ev->nsteps; k++, ts += ev->step)
                hp[k] = (osp_hsample){ts, s->hsamples[0].h};
            s->hsamples = hp;
            s->nhsamples = ev->nsteps;
        } else {
            osp_sample *p = osp_arena_alloc(q->arena, ev->nsteps * sizeof *p);
            if (!p)
                return OSP_ENOMEM;
            for (size_t k = 0; k < ev->nsteps; k++, ts += ev->step)
                p[k] = (osp_sample){ts, s->samples[0].v};
            s->samples = p;
            s->nsamples = ev->nsteps;
        }
        if ((rc = osp__pq_hold(q, ev->nsteps - 1)))
            return rc;
    }
    return 0;
}

int osp__pq_eval(osp__pq_ev *ev, const osp_promql_expr *e, osp__pq_mat *out)
{
    int rc = osp__pq_tick(ev->q);
    if (rc)
        return rc;
    if (ev->nsteps > 1 && e->kind != OSP_PROMQL_NUMBER && e->kind != OSP_PROMQL_PAREN &&
        invariant(e))
        return eval_invariant(ev, e, out);
    switch (e->kind) {
    case OSP_PROMQL_NUMBER:
        return eval_number(ev, e->u.number, out);
    case OSP_PROMQL_PAREN:
        return osp__pq_eval(ev, e->u.paren.expr, out);
    case OSP_PROMQL_UNARY:
        if (e->u.unary.op == OSP_PROMQL_OP_SUB)
            return eval_neg(ev, e, out);
        return osp__pq_eval(ev, e->u.unary.expr, out);
    case OSP_PROMQL_VECTOR:
        return eval_vs(ev, e, out);
    case OSP_PROMQL_CALL:
        return eval_call(ev, e, out);
    case OSP_PROMQL_AGG:
        return osp__pq_eval_agg(ev, e, out);
    case OSP_PROMQL_BINARY:
        return osp__pq_eval_binary(ev, e, out);
    default:
        return osp__pq_fail(ev->q, OSP_EINVAL, "unexpected %s in an instant expression",
                            osp_promql_type_name(e->type));
    }
}

/* ---- the query ---- */

static int cmp_series(const void *a, const void *b)
{
    const osp_series *x = a, *y = b;
    return osp_labels_compare(x->labels, x->nlabels, y->labels, y->nlabels);
}

static void sort_series(osp_series *s, size_t n)
{
    if (n > 1)
        qsort(s, n, sizeof *s, cmp_series);
}

/* 1 when an instant query's result keeps the order its outermost operation gave it. */
static int keeps_order(const osp_promql_expr *e)
{
    e = unparen(e);
    if (e->kind == OSP_PROMQL_AGG)
        return e->u.agg.op == OSP_PROMQL_AGG_TOPK || e->u.agg.op == OSP_PROMQL_AGG_BOTTOMK;
    return e->kind == OSP_PROMQL_CALL &&
           (osp_str_eqz(e->u.call.name, "sort") || osp_str_eqz(e->u.call.name, "sort_desc"));
}

static int eval_instant_matrix(osp__pq_ev *ev, const osp_promql_expr *e, osp_promql_result *res)
{
    range_vec rv;
    int rc = load_range(ev, e, &rv);
    if (rc || (rc = range_step(ev->q, &rv, ev->start)))
        return rc;
    res->series = rv.win;
    res->nseries = 0;
    for (size_t i = 0; i < rv.n; i++)
        if (rv.win[i].nsamples || rv.win[i].nhsamples)
            res->series[res->nseries++] = rv.win[i];
    sort_series(res->series, res->nseries);
    return 0;
}

static int run(osp__pq_query *q, const osp_promql_expr *e, int64_t step_ms, osp_promql_result *res)
{
    osp__pq_ev ev = {.q = q, .start = q->qstart, .end = q->qend, .step = step_ms ? step_ms : 1};
    osp__pq_mat m;
    int rc;
    ev.nsteps = (size_t)((ev.end - ev.start) / ev.step) + 1;
    res->t_ms = q->qstart;
    if (step_ms == 0) {
        const osp_promql_expr *u = unparen(e);
        switch (e->type) {
        case OSP_PROMQL_T_STRING:
            res->type = OSP_PROMQL_T_STRING;
            res->string = u->u.string;
            return 0;
        case OSP_PROMQL_T_MATRIX:
            res->type = OSP_PROMQL_T_MATRIX;
            return eval_instant_matrix(&ev, u, res);
        default:
            break;
        }
    } else if (e->type != OSP_PROMQL_T_SCALAR && e->type != OSP_PROMQL_T_VECTOR) {
        return osp__pq_fail(q, OSP_EINVAL,
                            "invalid expression type \"%s\" for range query, must be Scalar or "
                            "instant Vector",
                            osp_promql_type_name(e->type));
    }
    if ((rc = osp__pq_eval(&ev, e, &m)))
        return rc;
    if (step_ms == 0 && e->type == OSP_PROMQL_T_SCALAR) {
        res->type = OSP_PROMQL_T_SCALAR;
        res->scalar = m.n && m.s[0].nsamples ? m.s[0].samples[0].v : NAN;
        return 0;
    }
    res->type = step_ms ? OSP_PROMQL_T_MATRIX : OSP_PROMQL_T_VECTOR;
    res->series = m.s;
    res->nseries = m.n;
    if (step_ms || !keeps_order(e))
        sort_series(res->series, res->nseries);
    return 0;
}

int osp_promql_eval(const osp_promql_source *src, const osp_promql_expr *e, int64_t start_ms,
                    int64_t end_ms, int64_t step_ms, const osp_promql_opts *opts, osp_arena *arena,
                    osp_promql_result *res, char *err, size_t errlen)
{
    osp_promql_opts o = opts ? *opts : (osp_promql_opts){0};
    osp__pq_query q = {
        .src = src,
        .arena = arena,
        .qstart = start_ms,
        .qend = end_ms,
        .lookback_ms = o.lookback_ms > 0 ? o.lookback_ms : DEFAULT_LOOKBACK_MS,
        .sq_step_ms = o.subquery_step_ms > 0 ? o.subquery_step_ms : DEFAULT_SQ_STEP_MS,
        .deadline_ms = o.deadline_ms,
        .max_samples = o.max_samples ? o.max_samples : DEFAULT_MAX_SAMPLES,
        .ticks = UINT32_MAX - 1, /* check the deadline at once */
        .err = err,
        .errlen = errlen,
    };
    int rc;
    memset(res, 0, sizeof *res);
    if (err && errlen)
        err[0] = 0;
    if (step_ms < 0 || end_ms < start_ms || (step_ms == 0 && end_ms != start_ms))
        return osp__pq_fail(&q, OSP_EINVAL, "invalid query range or step");
    rc = run(&q, e, step_ms, res);
    if (rc == OSP_ENOMEM && err && errlen && !err[0])
        osp__pq_fail(&q, rc, "out of memory in query execution");
    if (rc)
        memset(res, 0, sizeof *res);
    return rc;
}
