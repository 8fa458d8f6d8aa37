/* PromQL binary operators (promql_eval_int.h): arithmetic, comparisons and set operators
 * between scalars and instant vectors, with Prometheus's vector matching. Match groups
 * are label subsets hashed once per series; each step then matches through arrays
 * indexed by group. Native histograms follow current Prometheus (hist_binop); set
 * operators pass them through like floats. */
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "query/promql_eval_int.h"

static int is_cmp(osp_promql_op op)
{
    return op >= OSP_PROMQL_OP_EQL && op <= OSP_PROMQL_OP_LTE;
}

/* Arithmetic operators drop __name__ (atan2 does not, as in Prometheus). */
static int drops_name(osp_promql_op op)
{
    return op <= OSP_PROMQL_OP_POW;
}

/* l op r: *v gets the value, the return says whether a comparison holds (1 for
 * arithmetic). Comparisons give l as the value. */
static int elem_binop(osp_promql_op op, double l, double r, double *v)
{
    *v = l;
    switch (op) {
    case OSP_PROMQL_OP_ADD:
        *v = l + r;
        return 1;
    case OSP_PROMQL_OP_SUB:
        *v = l - r;
        return 1;
    case OSP_PROMQL_OP_MUL:
        *v = l * r;
        return 1;
    case OSP_PROMQL_OP_DIV:
        *v = l / r;
        return 1;
    case OSP_PROMQL_OP_MOD:
        *v = fmod(l, r);
        return 1;
    case OSP_PROMQL_OP_POW:
        *v = pow(l, r);
        return 1;
    case OSP_PROMQL_OP_ATAN2:
        *v = atan2(l, r);
        return 1;
    case OSP_PROMQL_OP_EQL:
        return l == r;
    case OSP_PROMQL_OP_NEQ:
        return l != r;
    case OSP_PROMQL_OP_GTR:
        return l > r;
    case OSP_PROMQL_OP_LSS:
        return l < r;
    case OSP_PROMQL_OP_GTE:
        return l >= r;
    case OSP_PROMQL_OP_LTE:
        return l <= r;
    default:
        return 0;
    }
}

/* l op r where lh or rh (the operands' histograms; NULL for a float operand) is set, as
 * current Prometheus: histogram + histogram, histogram - histogram, histogram * float,
 * float * histogram and histogram / float give a histogram (*out, in arena); every other
 * operator or combination gives nothing (0), comparisons with bool included. 1, 0 or
 * OSP_ENOMEM. */
static int hist_binop(osp_arena *a, osp_promql_op op, double l, const osp_histogram *lh, double r,
                      const osp_histogram *rh, const osp_histogram **out)
{
    osp_histogram *res;
    if (op == OSP_PROMQL_OP_ADD && lh && rh)
        res = osp_hist_add(a, lh, rh);
    else if (op == OSP_PROMQL_OP_SUB && lh && rh)
        res = osp_hist_sub(a, lh, rh);
    else if (op == OSP_PROMQL_OP_MUL && !(lh && rh))
        res = lh ? osp_hist_mul(a, lh, r) : osp_hist_mul(a, rh, l);
    else if (op == OSP_PROMQL_OP_DIV && lh && !rh)
        res = osp_hist_div(a, lh, r);
    else
        return 0;
    *out = res;
    return res ? 1 : OSP_ENOMEM;
}

/* Per-step inputs of both operands. */
typedef struct side {
    osp__pq_mat m;
    osp__pq_cursor cur;
    uint32_t *sidx; /* series of the elements present at the step: floats, then histograms */
    double *v;      /* their values (0 for histograms) */
    const osp_histogram **h; /* the histograms of elements nf.. (when the matrix has any) */
    size_t n, nf;            /* elements present at the step, of which floats */
    uint32_t *sig;           /* match group per series */
    uint32_t *out;           /* output series per series (UINT32_MAX: not known yet) */
    uint32_t *peer;          /* one-side series out[] was computed with */
} side;

static int side_init(osp__pq_ev *ev, const osp_promql_expr *e, side *s)
{
    osp_arena *a = ev->q->arena;
    int rc;
    memset(s, 0, sizeof *s);
    if ((rc = osp__pq_eval(ev, e, &s->m)) || (rc = osp__pq_cursor_init(&s->cur, a, &s->m)))
        return rc;
    size_t n = s->m.n + 1;
    s->sidx = osp_arena_alloc(a, n * sizeof *s->sidx);
    s->v = osp_arena_alloc(a, n * sizeof *s->v);
    s->sig = osp_arena_alloc(a, n * sizeof *s->sig);
    s->out = osp_arena_alloc(a, n * sizeof *s->out);
    s->peer = osp_arena_alloc(a, n * sizeof *s->peer);
    if (s->cur.hist)
        s->h = osp_arena_alloc(a, n * sizeof *s->h);
    if (!s->sidx || !s->v || !s->sig || !s->out || !s->peer || (s->cur.hist && !s->h))
        return OSP_ENOMEM;
    memset(s->out, 0xff, n * sizeof *s->out);
    return 0;
}

/* Gathers the elements of s present at ts. */
static void side_gather(side *s, int64_t ts)
{
    s->n = s->nf = osp__pq_gather(&s->cur, ts, s->sidx, s->v);
    if (!s->cur.hist)
        return;
    size_t nh = osp__pq_hgather(&s->cur, ts, s->sidx + s->nf, s->h);
    for (size_t i = 0; i < nh; i++)
        s->v[s->nf + i] = 0;
    s->n += nh;
}

/* The histogram of element i of s, NULL for a float. */
static const osp_histogram *elem_h(const side *s, size_t i)
{
    return i < s->nf ? NULL : s->h[i - s->nf];
}

/* Appends element i of s, float or histogram, unchanged at ts to output series idx. */
static int add_elem(osp__pq_out *o, const side *s, size_t i, uint32_t idx, int64_t ts)
{
    if (i < s->nf)
        return osp__pq_out_add(o, idx, ts, s->v[i]);
    return osp__pq_out_add_hist(o, idx, ts, s->h[i - s->nf]);
}

/* The output series of series i of s, with its labels, or without __name__ when drop. */
static int out_of(osp__pq_out *o, side *s, uint32_t i, int drop)
{
    if (s->out[i] != UINT32_MAX)
        return 0;
    osp_series *x = &s->m.s[i];
    size_t n = x->nlabels;
    osp_label *l = drop ? osp_promql_drop_name(o->ev->q->arena, x->labels, &n) : x->labels;
    if (!l && n) /* drop_name failed; NULL and 0 is an empty set */
        return OSP_ENOMEM;
    return osp__pq_out_series(o, l, n, &s->out[i]);
}

static int scalar_scalar(osp__pq_ev *ev, const osp_promql_expr *e, side *l, side *r, osp__pq_out *o)
{
    uint32_t idx;
    int rc = osp__pq_out_series(o, NULL, 0, &idx);
    int64_t ts = ev->start;
    for (size_t k = 0; rc == 0 && k < ev->nsteps; k++, ts += ev->step) {
        double v;
        int keep = elem_binop(e->u.bin.op, osp__pq_scalar_at(&l->cur, ts),
                              osp__pq_scalar_at(&r->cur, ts), &v);
        rc = osp__pq_out_add(o, idx, ts, is_cmp(e->u.bin.op) ? keep : v);
    }
    return rc;
}

/* Vector and scalar, either way round (swap: the scalar is the left operand). */
static int vector_scalar(osp__pq_ev *ev, const osp_promql_expr *e, side *vec, side *sc, int swap,
                         osp__pq_out *o)
{
    osp_promql_op op = e->u.bin.op;
    int drop = drops_name(op) || e->u.bin.return_bool, rc = 0;
    int64_t ts = ev->start;
    for (size_t k = 0; rc == 0 && k < ev->nsteps; k++, ts += ev->step) {
        double s = osp__pq_scalar_at(&sc->cur, ts);
        side_gather(vec, ts);
        for (size_t i = 0; rc == 0 && i < vec->n; i++) {
            const osp_histogram *x = elem_h(vec, i), *h = NULL;
            double lv = swap ? s : vec->v[i], rv = swap ? vec->v[i] : s, v = 0;
            int keep;
            if (x) {
                keep = swap ? hist_binop(ev->q->arena, op, lv, NULL, 0, x, &h)
                            : hist_binop(ev->q->arena, op, 0, x, rv, NULL, &h);
                if (keep < 0)
                    return keep;
            } else {
                keep = elem_binop(op, lv, rv, &v);
                if (is_cmp(op) && swap)
                    v = rv;
                if (e->u.bin.return_bool) {
                    v = keep;
                    keep = 1;
                }
            }
            if (!keep)
                continue;
            uint32_t si = vec->sidx[i];
            if (!(rc = out_of(o, vec, si, drop)))
                rc = h ? osp__pq_out_add_hist(o, vec->out[si], ts, h)
                       : osp__pq_out_add(o, vec->out[si], ts, v);
        }
        if (!rc)
            rc = osp__pq_tick(ev->q);
    }
    return rc;
}

/* Match groups of both sides: sig[] per series, ids dense from 0; *nsig their count. */
static int signatures(osp__pq_ev *ev, const osp_promql_expr *e, side *l, side *r, osp__pq_lmap *map)
{
    osp_arena *a = ev->q->arena;
    int rc = osp__pq_lmap_init(map, a, l->m.n + r->m.n);
    side *sides[2] = {l, r};
    for (int k = 0; rc == 0 && k < 2; k++) {
        side *s = sides[k];
        for (size_t i = 0; rc == 0 && i < s->m.n; i++) {
            size_t n;
            int added;
            osp_label *sub = osp__pq_labels_subset(a, s->m.s[i].labels, s->m.s[i].nlabels,
                                                   &e->u.bin.labels, e->u.bin.on, &n);
            rc = sub ? osp__pq_lmap_put(map, a, sub, n, &s->sig[i], &added) : OSP_ENOMEM;
        }
    }
    return rc;
}

static int set_op(osp__pq_ev *ev, const osp_promql_expr *e, side *l, side *r, size_t nsig,
                  osp__pq_out *o)
{
    osp_promql_op op = e->u.bin.op;
    size_t *stamp = osp_arena_calloc(ev->q->arena, nsig + 1, sizeof *stamp);
    int rc = stamp ? 0 : OSP_ENOMEM;
    int64_t ts = ev->start;
    for (size_t k = 1; rc == 0 && k <= ev->nsteps; k++, ts += ev->step) {
        side_gather(l, ts);
        side_gather(r, ts);
        /* stamp[g] == k: group g occurs on the side the operator looks up */
        side *mark = op == OSP_PROMQL_OP_OR ? l : r;
        for (size_t i = 0; i < mark->n; i++)
            stamp[mark->sig[mark->sidx[i]]] = k;
        for (size_t i = 0; rc == 0 && i < l->n; i++) {
            uint32_t si = l->sidx[i];
            int in = stamp[l->sig[si]] == k;
            if (op == OSP_PROMQL_OP_AND ? !in : op == OSP_PROMQL_OP_UNLESS ? in : 0)
                continue;
            if (!(rc = out_of(o, l, si, 0)))
                rc = add_elem(o, l, i, l->out[si], ts);
        }
        for (size_t i = 0; op == OSP_PROMQL_OP_OR && rc == 0 && i < r->n; i++) {
            uint32_t si = r->sidx[i];
            if (stamp[r->sig[si]] == k)
                continue;
            if (!(rc = out_of(o, r, si, 0)))
                rc = add_elem(o, r, i, r->out[si], ts);
        }
        if (!rc)
            rc = osp__pq_tick(ev->q);
    }
    return rc;
}

static int listed(const osp_promql_labels *names, osp_str name)
{
    for (size_t i = 0; i < names->n; i++)
        if (osp_str_eq(names->a[i], name))
            return 1;
    return 0;
}

/* Labels of the result of many-side series ml matched with one-side series ol
 * (Prometheus's resultMetric). */
static osp_label *result_labels(osp_arena *a, const osp_promql_expr *e, const osp_series *ml,
                                const osp_series *ol, size_t *nout)
{
    const osp_promql_labels *inc = &e->u.bin.include;
    int drop = drops_name(e->u.bin.op) || e->u.bin.return_bool;
    osp_label *out = osp_arena_alloc(a, (ml->nlabels + inc->n + 1) * sizeof *out);
    size_t k = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < ml->nlabels; i++) {
        osp_str name = ml->labels[i].name;
        if (drop && osp_str_eqz(name, OSP_METRIC_NAME_LABEL))
            continue;
        if (e->u.bin.card == OSP_PROMQL_CARD_ONE_TO_ONE &&
            listed(&e->u.bin.labels, name) != e->u.bin.on)
            continue;
        if (!listed(inc, name))
            out[k++] = ml->labels[i];
    }
    for (size_t j = 0; j < inc->n; j++) {
        osp_str v = osp_labels_get(ol->labels, ol->nlabels, inc->a[j]);
        int seen = 0;
        for (size_t i = 0; i < k; i++)
            seen |= osp_str_eq(out[i].name, inc->a[j]);
        if (v.n && !seen &&
            !(e->u.bin.return_bool && osp_str_eqz(inc->a[j], OSP_METRIC_NAME_LABEL)))
            out[k++] = (osp_label){inc->a[j], v};
    }
    osp_labels_sort(out, k);
    *nout = k;
    return out;
}

static int dup_error(osp__pq_ev *ev, const osp_promql_expr *e, const osp__pq_lmap *map,
                     const osp_series *cur, const osp_series *prev, uint32_t sig)
{
    char group[512], a[512], b[512];
    osp__pq_labels_fmt(group, sizeof group, map->lbl[sig], map->nlbl[sig]);
    osp__pq_labels_fmt(a, sizeof a, cur->labels, cur->nlabels);
    osp__pq_labels_fmt(b, sizeof b, prev->labels, prev->nlabels);
    return osp__pq_fail(ev->q, OSP_EEXEC,
                        "found duplicate series for the match group %s on the %s hand-side of "
                        "the operation: [%s, %s];many-to-many matching not allowed: matching "
                        "labels must be unique on one side",
                        group, e->u.bin.card == OSP_PROMQL_CARD_ONE_TO_MANY ? "left" : "right", a,
                        b);
}

/* Arithmetic and comparisons between vectors (Prometheus's VectorBinop). */
static int vector_vector(osp__pq_ev *ev, const osp_promql_expr *e, side *l, side *r,
                         const osp__pq_lmap *map, osp__pq_out *o)
{
    osp__pq_query *q = ev->q;
    int swap = e->u.bin.card == OSP_PROMQL_CARD_ONE_TO_MANY;
    side *many = swap ? r : l, *one = swap ? l : r;
    size_t nsig = map->n + 1;
    size_t *ostamp = osp_arena_calloc(q->arena, nsig, sizeof *ostamp);
    size_t *mstamp = osp_arena_calloc(q->arena, nsig, sizeof *mstamp);
    uint32_t *oel = osp_arena_alloc(q->arena, nsig * sizeof *oel);
    int rc = ostamp && mstamp && oel ? 0 : OSP_ENOMEM, hist = l->cur.hist || r->cur.hist;
    int64_t ts = ev->start;
    for (size_t k = 1; rc == 0 && k <= ev->nsteps; k++, ts += ev->step) {
        side_gather(l, ts);
        side_gather(r, ts);
        if (l->n == 0 || r->n == 0)
            continue;
        for (size_t i = 0; i < one->n; i++) {
            uint32_t g = one->sig[one->sidx[i]];
            if (ostamp[g] == k)
                return dup_error(ev, e, map, &one->m.s[one->sidx[i]], &one->m.s[one->sidx[oel[g]]],
                                 g);
            ostamp[g] = k;
            oel[g] = (uint32_t)i;
        }
        for (size_t i = 0; rc == 0 && i < many->n; i++) {
            uint32_t mi = many->sidx[i], g = many->sig[mi];
            if (ostamp[g] != k)
                continue;
            uint32_t oi = one->sidx[oel[g]];
            double vl = many->v[i], vr = one->v[oel[g]], v = 0;
            const osp_histogram *hl = NULL, *hr = NULL, *h = NULL;
            if (hist) {
                hl = elem_h(swap ? one : many, swap ? oel[g] : i);
                hr = elem_h(swap ? many : one, swap ? i : oel[g]);
            }
            if (swap) {
                double t = vl;
                vl = vr;
                vr = t;
            }
            if (hl || hr) {
                int keep = hist_binop(q->arena, e->u.bin.op, vl, hl, vr, hr, &h);
                if (keep <= 0) {
                    if (keep < 0)
                        return keep;
                    continue;
                }
            } else {
                int keep = elem_binop(e->u.bin.op, vl, vr, &v);
                if (e->u.bin.return_bool)
                    v = keep;
                else if (!keep)
                    continue;
            }
            if (many->out[mi] == UINT32_MAX || many->peer[mi] != oi) {
                size_t n;
                osp_label *lab = result_labels(q->arena, e, &many->m.s[mi], &one->m.s[oi], &n);
                if (!lab || (rc = osp__pq_out_series(o, lab, n, &many->out[mi])))
                    return rc ? rc : OSP_ENOMEM;
                many->peer[mi] = oi;
            }
            if (e->u.bin.card == OSP_PROMQL_CARD_ONE_TO_ONE) {
                if (mstamp[g] == k)
                    return osp__pq_fail(q, OSP_EEXEC,
                                        "multiple matches for labels: many-to-one matching must "
                                        "be explicit (group_left/group_right)");
                mstamp[g] = k;
            } else if (osp__pq_out_has(o, many->out[mi], ts)) {
                return osp__pq_fail(q, OSP_EEXEC,
                                    "multiple matches for labels: grouping labels "
                                    "must ensure unique matches");
            }
            rc = h ? osp__pq_out_add_hist(o, many->out[mi], ts, h)
                   : osp__pq_out_add(o, many->out[mi], ts, v);
        }
        if (!rc)
            rc = osp__pq_tick(q);
    }
    return rc;
}

int osp__pq_eval_binary(osp__pq_ev *ev, const osp_promql_expr *e, osp__pq_mat *out)
{
    osp_promql_type lt = e->u.bin.lhs->type, rt = e->u.bin.rhs->type;
    side l, r;
    osp__pq_out o;
    osp__pq_lmap map;
    int rc;
    if ((rc = side_init(ev, e->u.bin.lhs, &l)) || (rc = side_init(ev, e->u.bin.rhs, &r)) ||
        (rc = osp__pq_out_init(&o, ev, l.m.n > r.m.n ? l.m.n : r.m.n)))
        return rc;
    if (lt == OSP_PROMQL_T_SCALAR && rt == OSP_PROMQL_T_SCALAR)
        rc = scalar_scalar(ev, e, &l, &r, &o);
    else if (lt == OSP_PROMQL_T_VECTOR && rt == OSP_PROMQL_T_SCALAR)
        rc = vector_scalar(ev, e, &l, &r, 0, &o);
    else if (lt == OSP_PROMQL_T_SCALAR)
        rc = vector_scalar(ev, e, &r, &l, 1, &o);
    else if ((rc = signatures(ev, e, &l, &r, &map)) == 0)
        rc = e->u.bin.op >= OSP_PROMQL_OP_AND ? set_op(ev, e, &l, &r, map.n, &o)
                                              : vector_vector(ev, e, &l, &r, &map, &o);
    if (rc)
        return rc;
    osp__pq_release(ev->q, &l.m);
    osp__pq_release(ev->q, &r.m);
    *out = osp__pq_out_done(&o);
    return 0;
}
