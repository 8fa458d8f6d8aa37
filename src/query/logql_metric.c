/* LogQL metric expressions on the PromQL engine: every range aggregation is evaluated
 * here first (logql_eval.c), then the expression is rewritten as a PromQL AST whose
 * selectors read those results, so vector aggregations, binary operators with vector
 * matching, label_replace, vector(), sort and the number literals share promql_agg.c,
 * promql_binop.c and promql_func*.c, whose semantics LogQL inherits from Prometheus. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "query/logql_eval_int.h"
#include "query/promql_eval.h"

#define LEAF_LABEL "__osp_logql_leaf__"

typedef struct bridge {
    osp__lq_query *q;
    osp__lq_leaf *leaves;
    size_t n, cap;
} bridge;

/* The PromQL source: a leaf selector names its leaf by number. */
static int leaf_select(void *ctx, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                       int64_t maxt_ms, osp_arena *arena, osp_series **out, size_t *nout)
{
    const bridge *b = ctx;
    size_t i = 0;
    for (size_t k = 0; k < m[0].value.n; k++)
        i = i * 10 + (size_t)(m[0].value.p[k] - '0');
    if (n != 1 || i >= b->n)
        return OSP_EINVAL;
    *out = b->leaves[i].s;
    *nout = b->leaves[i].n;
    return 0;
}

static osp_promql_expr *node(bridge *b, osp_promql_kind kind, osp_promql_type type)
{
    osp_promql_expr *e = osp_arena_calloc(b->q->arena, 1, sizeof *e);
    if (e) {
        e->kind = kind;
        e->type = type;
    }
    return e;
}

static osp_promql_expr *number(bridge *b, double v)
{
    osp_promql_expr *e = node(b, OSP_PROMQL_NUMBER, OSP_PROMQL_T_SCALAR);
    if (e)
        e->u.number = v;
    return e;
}

static osp_promql_expr *string(bridge *b, osp_str s)
{
    osp_promql_expr *e = node(b, OSP_PROMQL_STRING, OSP_PROMQL_T_STRING);
    if (e)
        e->u.string = s;
    return e;
}

static osp_promql_expr *call(bridge *b, const char *name, osp_promql_expr **args, size_t n)
{
    osp_promql_expr *e = node(b, OSP_PROMQL_CALL, OSP_PROMQL_T_VECTOR);
    osp_promql_expr **a = osp_arena_memdup(b->q->arena, args, n * sizeof *args);
    if (!e || !a)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!args[i])
            return NULL;
    e->u.call.name = osp_str_c(name);
    e->u.call.args = a;
    e->u.call.nargs = n;
    return e;
}

/* Evaluates a range aggregation and returns the selector that reads it. */
static int leaf(bridge *b, const osp_logql_expr *e, osp_promql_expr **out)
{
    osp__lq_query *q = b->q;
    char num[24];
    int rc;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4;
        osp__lq_leaf *l = osp_arena_alloc(q->arena, cap * sizeof *l);
        if (!l)
            return OSP_ENOMEM;
        if (b->n)
            memcpy(l, b->leaves, b->n * sizeof *l);
        b->leaves = l;
        b->cap = cap;
    }
    if ((rc = osp__lq_eval_range(q, e, &b->leaves[b->n])))
        return rc;
    snprintf(num, sizeof num, "%zu", b->n++);
    osp_promql_expr *vs = node(b, OSP_PROMQL_VECTOR, OSP_PROMQL_T_VECTOR);
    osp_promql_matcher *m = osp_arena_calloc(q->arena, 1, sizeof *m);
    if (!vs || !m)
        return OSP_ENOMEM;
    m->name = OSP_STR_LIT(LEAF_LABEL);
    m->value = osp_arena_strdup(q->arena, osp_str_c(num));
    m->op = OSP_PROMQL_MATCH_EQ;
    vs->u.vs.matchers = m;
    vs->u.vs.nmatchers = 1;
    *out = vs;
    return m->value.p ? 0 : OSP_ENOMEM;
}

static int translate(bridge *b, const osp_logql_expr *e, osp_promql_expr **out);

/* e's range aggregation, grouped as e groups when it may aggregate as it reads: a sum of
 * counts, rates, byte counts or sums, a max of maxima, a min of minima. Otherwise (or
 * NULL when out of memory) the range aggregation as written. Grouping early keeps one
 * series per group instead of one per label set (with structured metadata such as trace
 * ids, nearly one per line), as Loki does; e still aggregates the grouped series. */
static const osp_logql_expr *grouped_range(bridge *b, const osp_logql_expr *e)
{
    const osp_logql_expr *r = e->u.vec_agg.expr;
    const osp_logql_grouping *g = &e->u.vec_agg.grouping;
    if (r->kind != OSP_LOGQL_RANGE_AGG || r->u.range_agg.grouping.present)
        return r;
    osp_logql_range_op op = r->u.range_agg.op;
    int early = e->u.vec_agg.op == OSP_LOGQL_AGG_SUM
                    ? op == OSP_LOGQL_RANGE_COUNT || op == OSP_LOGQL_RANGE_RATE ||
                          op == OSP_LOGQL_RANGE_BYTES || op == OSP_LOGQL_RANGE_BYTES_RATE ||
                          op == OSP_LOGQL_RANGE_SUM
                : e->u.vec_agg.op == OSP_LOGQL_AGG_MAX ? op == OSP_LOGQL_RANGE_MAX
                : e->u.vec_agg.op == OSP_LOGQL_AGG_MIN ? op == OSP_LOGQL_RANGE_MIN
                                                       : 0;
    /* the series of an unwrap never carry the unwrapped label; "by" that label would */
    const osp_logql_unwrap *uw = r->u.range_agg.range.unwrap;
    for (size_t i = 0; early && uw && !g->without && i < g->labels.n; i++)
        early = !osp_str_eq(g->labels.a[i], uw->label);
    if (!early)
        return r;
    osp_logql_expr *c = osp_arena_memdup(b->q->arena, r, sizeof *r);
    if (c) {
        c->u.range_agg.grouping = *g;
        c->u.range_agg.grouping.present = 1;
        c->u.range_agg.grouping_early = e->u.vec_agg.op != OSP_LOGQL_AGG_SUM;
    }
    return c;
}

static int vector_agg(bridge *b, const osp_logql_expr *e, osp_promql_expr **out)
{
    static const osp_promql_agg_op ops[] = {
        [OSP_LOGQL_AGG_SUM] = OSP_PROMQL_AGG_SUM,
        [OSP_LOGQL_AGG_AVG] = OSP_PROMQL_AGG_AVG,
        [OSP_LOGQL_AGG_MIN] = OSP_PROMQL_AGG_MIN,
        [OSP_LOGQL_AGG_MAX] = OSP_PROMQL_AGG_MAX,
        [OSP_LOGQL_AGG_COUNT] = OSP_PROMQL_AGG_COUNT,
        [OSP_LOGQL_AGG_STDDEV] = OSP_PROMQL_AGG_STDDEV,
        [OSP_LOGQL_AGG_STDVAR] = OSP_PROMQL_AGG_STDVAR,
        [OSP_LOGQL_AGG_TOPK] = OSP_PROMQL_AGG_TOPK,
        [OSP_LOGQL_AGG_APPROX_TOPK] = OSP_PROMQL_AGG_TOPK, /* exact: within any approximation */
        [OSP_LOGQL_AGG_BOTTOMK] = OSP_PROMQL_AGG_BOTTOMK,
    };
    osp_promql_expr *inner;
    if (e->u.vec_agg.op == OSP_LOGQL_AGG_APPROX_TOPK && b->q->step_ns) /* as Loki */
        return osp__lq_fail(b->q, OSP_EINVAL,
                            "approx_topk error: count min sketches are only "
                            "supported on instant queries");
    const osp_logql_expr *arg = grouped_range(b, e);
    int rc = arg ? translate(b, arg, &inner) : OSP_ENOMEM;
    if (rc)
        return rc;
    if (e->u.vec_agg.op == OSP_LOGQL_AGG_SORT || e->u.vec_agg.op == OSP_LOGQL_AGG_SORT_DESC) {
        *out = call(b, e->u.vec_agg.op == OSP_LOGQL_AGG_SORT ? "sort" : "sort_desc", &inner, 1);
        return *out ? 0 : OSP_ENOMEM;
    }
    osp_promql_expr *a = node(b, OSP_PROMQL_AGG, OSP_PROMQL_T_VECTOR);
    if (!a)
        return OSP_ENOMEM;
    a->u.agg.op = ops[e->u.vec_agg.op];
    a->u.agg.expr = inner;
    a->u.agg.grouping.a = e->u.vec_agg.grouping.labels.a;
    a->u.agg.grouping.n = e->u.vec_agg.grouping.labels.n;
    a->u.agg.without = e->u.vec_agg.grouping.without;
    if (osp_logql_agg_takes_k(e->u.vec_agg.op))
        if (!(a->u.agg.param = number(b, (double)e->u.vec_agg.param)))
            return OSP_ENOMEM;
    *out = a;
    return 0;
}

static int binary(bridge *b, const osp_logql_expr *e, osp_promql_expr **out)
{
    static const osp_promql_op ops[] = {
        [OSP_LOGQL_OP_OR] = OSP_PROMQL_OP_OR,         [OSP_LOGQL_OP_AND] = OSP_PROMQL_OP_AND,
        [OSP_LOGQL_OP_UNLESS] = OSP_PROMQL_OP_UNLESS, [OSP_LOGQL_OP_EQL] = OSP_PROMQL_OP_EQL,
        [OSP_LOGQL_OP_NEQ] = OSP_PROMQL_OP_NEQ,       [OSP_LOGQL_OP_GTR] = OSP_PROMQL_OP_GTR,
        [OSP_LOGQL_OP_GTE] = OSP_PROMQL_OP_GTE,       [OSP_LOGQL_OP_LSS] = OSP_PROMQL_OP_LSS,
        [OSP_LOGQL_OP_LTE] = OSP_PROMQL_OP_LTE,       [OSP_LOGQL_OP_ADD] = OSP_PROMQL_OP_ADD,
        [OSP_LOGQL_OP_SUB] = OSP_PROMQL_OP_SUB,       [OSP_LOGQL_OP_MUL] = OSP_PROMQL_OP_MUL,
        [OSP_LOGQL_OP_DIV] = OSP_PROMQL_OP_DIV,       [OSP_LOGQL_OP_MOD] = OSP_PROMQL_OP_MOD,
        [OSP_LOGQL_OP_POW] = OSP_PROMQL_OP_POW,
    };
    osp_promql_expr *l, *r, *n = node(b, OSP_PROMQL_BINARY, OSP_PROMQL_T_VECTOR);
    int rc;
    if (!n)
        return OSP_ENOMEM;
    if ((rc = translate(b, e->u.bin.lhs, &l)) || (rc = translate(b, e->u.bin.rhs, &r)))
        return rc;
    if (l->type == OSP_PROMQL_T_SCALAR && r->type == OSP_PROMQL_T_SCALAR)
        n->type = OSP_PROMQL_T_SCALAR;
    n->u.bin.op = ops[e->u.bin.op];
    n->u.bin.lhs = l;
    n->u.bin.rhs = r;
    n->u.bin.return_bool = e->u.bin.return_bool;
    n->u.bin.matching = e->u.bin.matching;
    n->u.bin.on = e->u.bin.on;
    n->u.bin.labels.a = e->u.bin.labels.a;
    n->u.bin.labels.n = e->u.bin.labels.n;
    n->u.bin.include.a = e->u.bin.include.a;
    n->u.bin.include.n = e->u.bin.include.n;
    n->u.bin.card = e->u.bin.op <= OSP_LOGQL_OP_UNLESS ? OSP_PROMQL_CARD_MANY_TO_MANY
                    : e->u.bin.group == 1              ? OSP_PROMQL_CARD_MANY_TO_ONE
                    : e->u.bin.group == 2              ? OSP_PROMQL_CARD_ONE_TO_MANY
                                                       : OSP_PROMQL_CARD_ONE_TO_ONE;
    *out = n;
    return 0;
}

static int translate(bridge *b, const osp_logql_expr *e, osp_promql_expr **out)
{
    osp_promql_expr *args[5];
    int rc;
    switch (e->kind) {
    case OSP_LOGQL_NUMBER:
        *out = number(b, e->u.number);
        return *out ? 0 : OSP_ENOMEM;
    case OSP_LOGQL_VECTOR:
        args[0] = number(b, e->u.number);
        *out = call(b, "vector", args, 1);
        return *out ? 0 : OSP_ENOMEM;
    case OSP_LOGQL_RANGE_AGG:
        return leaf(b, e, out);
    case OSP_LOGQL_VECTOR_AGG:
        return vector_agg(b, e, out);
    case OSP_LOGQL_BINARY:
        return binary(b, e, out);
    case OSP_LOGQL_LABEL_REPLACE:
        if ((rc = translate(b, e->u.label_replace.expr, &args[0])))
            return rc;
        args[1] = string(b, e->u.label_replace.dst);
        args[2] = string(b, e->u.label_replace.replacement);
        args[3] = string(b, e->u.label_replace.src);
        args[4] = string(b, e->u.label_replace.regex);
        *out = call(b, "label_replace", args, 5);
        return *out ? 0 : OSP_ENOMEM;
    default:
        return osp__lq_fail(b->q, OSP_EINVAL, "a log query cannot be part of a metric query");
    }
}

int osp__lq_too_many_series(osp__lq_query *q)
{
    return osp__lq_fail(q, OSP_EEXEC, "maximum of series (%zu) reached for a single query",
                        q->opts.max_series);
}

int osp__lq_eval_metric(osp__lq_query *q, const osp_logql_expr *e, osp_logql_result *res)
{
    bridge b = {.q = q};
    osp_promql_expr *pe;
    osp_promql_source src = {&b, leaf_select};
    osp_promql_opts po = {.deadline_ms = q->opts.deadline_ms};
    osp_promql_result pr;
    int64_t step_ms = q->step_ns / 1000000;
    int64_t end_ms = (int64_t)((q->start_ns + (q->nsteps - 1) * (uint64_t)q->step_ns) / 1000000);
    q->top = e;
    int rc = translate(&b, e, &pe);
    if (rc)
        return rc;
    rc = osp_promql_eval(&src, pe, (int64_t)(q->start_ns / 1000000), end_ms, step_ms, &po, q->arena,
                         &pr, q->pq.err, q->pq.errlen);
    if (rc)
        return rc;
    switch (pr.type) {
    case OSP_PROMQL_T_SCALAR:
        res->type = OSP_LOGQL_RESULT_SCALAR;
        res->scalar = pr.scalar;
        return 0;
    case OSP_PROMQL_T_VECTOR:
        res->type = OSP_LOGQL_RESULT_VECTOR;
        break;
    default:
        res->type = OSP_LOGQL_RESULT_MATRIX;
    }
    if (pr.nseries > q->opts.max_series)
        return osp__lq_too_many_series(q);
    res->series = pr.series;
    res->nseries = pr.nseries;
    return 0;
}
