/* PromQL aggregation operators (promql_eval_int.h) with Prometheus 2.42's float
 * semantics. Each input series is assigned its group once; steps then aggregate through
 * arrays indexed by group (count_values, whose groups depend on values, looks them up per
 * sample). Native histograms follow current Prometheus: sum and avg add them up (a group
 * mixing floats and histograms gives nothing), count and group count them, every other
 * operator ignores them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "query/promql_eval_int.h"

typedef struct item {
    double v;
    uint32_t s; /* input series */
} item;

typedef struct group {
    size_t stamp; /* step (from 1) the group was last seen at */
    double value, mean;
    uint64_t count;
    uint32_t out; /* output series; UINT32_MAX until known */
    item *heap;   /* topk, bottomk, quantile */
    size_t nheap;
    const osp_histogram *h; /* sum, avg: the sum of the step's histograms */
    int floats, hists;      /* sum, avg: whether the step brought floats, histograms */
} group;

typedef struct agg {
    osp__pq_ev *ev;
    const osp_promql_expr *e;
    osp_promql_agg_op op;
    osp__pq_mat m;
    osp__pq_lmap map; /* group label sets */
    group *g;
    size_t ng, gcap;
    uint32_t *gid;           /* group per input series (not for count_values) */
    uint32_t *sout;          /* topk, bottomk: output series per input series */
    osp_promql_labels names; /* grouping, plus count_values' label under by */
    osp_str value_label;
    int64_t k;         /* topk, bottomk */
    double q;          /* quantile */
    osp_arena scratch; /* sum, avg: the histogram sums of one step */
} agg;

/* Go's container/heap over items, ordered by less (topk: smallest first; bottomk:
 * largest first; NaN counts as smallest for both, as in Prometheus). */
static int less(const agg *a, const item *x, const item *y)
{
    if (isnan(x->v))
        return 1;
    return a->op == OSP_PROMQL_AGG_BOTTOMK ? x->v > y->v : x->v < y->v;
}

static void swap_items(item *h, size_t i, size_t j)
{
    item t = h[i];
    h[i] = h[j];
    h[j] = t;
}

static void heap_up(const agg *a, item *h, size_t j)
{
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (!less(a, &h[j], &h[i]))
            break;
        swap_items(h, i, j);
        j = i;
    }
}

static void heap_down(const agg *a, item *h, size_t i, size_t n)
{
    for (;;) {
        size_t j = 2 * i + 1;
        if (j >= n)
            break;
        if (j + 1 < n && less(a, &h[j + 1], &h[j]))
            j++;
        if (!less(a, &h[j], &h[i]))
            break;
        swap_items(h, i, j);
        i = j;
    }
}

/* Orders the kept items best first, as sort.Sort(sort.Reverse(heap)) does (insertion sort
 * for the short lists Go sorts that way, which also fixes the order of ties). */
static const agg *sort_ctx;
static int cmp_best(const void *x, const void *y)
{
    if (less(sort_ctx, y, x))
        return -1;
    return less(sort_ctx, x, y) ? 1 : 0;
}

static void sort_best(const agg *a, item *h, size_t n)
{
    if (n > 12) {
        sort_ctx = a;
        qsort(h, n, sizeof *h, cmp_best);
        return;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && less(a, &h[j - 1], &h[j]); j--)
            swap_items(h, j, j - 1);
}

static int cmp_value(const void *x, const void *y)
{
    double a = ((const item *)x)->v, b = ((const item *)y)->v;
    if (isnan(a) || isnan(b))
        return isnan(b) - isnan(a);
    return (a > b) - (a < b);
}

/* Prometheus's quantile over a group's values (sorted here, NaN first). */
static double quantile(double q, item *v, size_t n)
{
    if (n == 0 || isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(v, n, sizeof *v, cmp_value);
    double rank = q * (double)(n - 1);
    double lo = fmax(0, floor(rank)), hi = fmin((double)n - 1, lo + 1), w = rank - floor(rank);
    return v[(size_t)lo].v * (1 - w) + v[(size_t)hi].v * w;
}

/* Go's strconv.FormatFloat(v, fmt, -1, 64) for fmt 'f' and 'g': the shortest digits that
 * read back as v. */
static void fmt_float(char *buf, size_t cap, double v, char fmt)
{
    char e[40], out[400];
    int p, exp;
    size_t at = 0;
    if (isnan(v) || isinf(v)) {
        snprintf(buf, cap, "%s", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (p = 1; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    char *mark = strchr(e, 'e');
    exp = atoi(mark + 1);
    if (fmt == 'g' && (exp < -4 || exp >= 6)) {
        snprintf(buf, cap, "%s", e);
        return;
    }
    char digits[24];
    size_t nd = 0;
    for (const char *c = e; c < mark; c++)
        if (*c >= '0' && *c <= '9')
            digits[nd++] = *c;
    if (signbit(v))
        out[at++] = '-';
    if (exp < 0) {
        out[at++] = '0';
        out[at++] = '.';
        for (int i = 0; i < -exp - 1; i++)
            out[at++] = '0';
        for (size_t i = 0; i < nd; i++)
            out[at++] = digits[i];
    } else {
        for (size_t i = 0; i <= (size_t)exp || i < nd; i++) {
            if (i == (size_t)exp + 1)
                out[at++] = '.';
            out[at++] = i < nd ? digits[i] : '0';
        }
    }
    out[at] = 0;
    snprintf(buf, cap, "%s", out);
}

static int valid_label_name(osp_str s)
{
    if (s.n == 0)
        return 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

/* The group of labels l (the grouping subset), created when new. */
static int group_of(agg *a, const osp_label *l, size_t n, uint32_t *id)
{
    osp_arena *ar = a->ev->q->arena;
    size_t ns;
    int added;
    osp_label *sub = osp__pq_labels_subset(ar, l, n, &a->names, !a->e->u.agg.without, &ns);
    int rc = sub ? osp__pq_lmap_put(&a->map, ar, sub, ns, id, &added) : OSP_ENOMEM;
    if (rc || !added)
        return rc;
    if (a->ng == a->gcap) {
        size_t cap = a->gcap ? 2 * a->gcap : 16;
        group *g = osp_arena_calloc(ar, cap, sizeof *g);
        if (!g)
            return OSP_ENOMEM;
        if (a->ng)
            memcpy(g, a->g, a->ng * sizeof *g);
        a->g = g;
        a->gcap = cap;
    }
    a->g[a->ng++].out = UINT32_MAX;
    return 0;
}

/* Labels of series s with the count_values label set to v. */
static osp_label *with_value(agg *a, const osp_series *s, double v, size_t *n)
{
    osp_arena *ar = a->ev->q->arena;
    char buf[400];
    osp_label *l = osp_arena_alloc(ar, (s->nlabels + 1) * sizeof *l);
    size_t k = 0;
    if (!l)
        return NULL;
    fmt_float(buf, sizeof buf, v, 'f');
    osp_str val = osp_arena_strdup(ar, osp_str_c(buf));
    if (!val.p)
        return NULL;
    for (size_t i = 0; i < s->nlabels; i++)
        if (!osp_str_eq(s->labels[i].name, a->value_label))
            l[k++] = s->labels[i];
    l[k++] = (osp_label){a->value_label, val};
    osp_labels_sort(l, k);
    *n = k;
    return l;
}

static int setup(agg *a)
{
    const osp_promql_expr *e = a->e;
    osp_arena *ar = a->ev->q->arena;
    int rc;
    a->names = e->u.agg.grouping;
    if (a->op == OSP_PROMQL_AGG_COUNT_VALUES) {
        const osp_promql_expr *p = e->u.agg.param;
        while (p->kind == OSP_PROMQL_PAREN)
            p = p->u.paren.expr;
        a->value_label = p->u.string;
        if (!valid_label_name(a->value_label)) {
            char q[300];
            osp__pq_quote(q, sizeof q, a->value_label);
            return osp__pq_fail(a->ev->q, OSP_EEXEC, "invalid label name %s", q);
        }
        if (!e->u.agg.without) {
            osp_str *names = osp_arena_alloc(ar, (a->names.n + 1) * sizeof *names);
            if (!names)
                return OSP_ENOMEM;
            if (a->names.n)
                memcpy(names, a->names.a, a->names.n * sizeof *names);
            names[a->names.n] = a->value_label;
            a->names = (osp_promql_labels){names, a->names.n + 1};
        }
    }
    if ((rc = osp__pq_lmap_init(&a->map, ar, 16)))
        return rc;
    if (a->op == OSP_PROMQL_AGG_COUNT_VALUES)
        return 0;
    a->gid = osp_arena_alloc(ar, (a->m.n + 1) * sizeof *a->gid);
    a->sout = osp_arena_alloc(ar, (a->m.n + 1) * sizeof *a->sout);
    if (!a->gid || !a->sout)
        return OSP_ENOMEM;
    memset(a->sout, 0xff, (a->m.n + 1) * sizeof *a->sout);
    for (size_t i = 0; i < a->m.n; i++)
        if ((rc = group_of(a, a->m.s[i].labels, a->m.s[i].nlabels, &a->gid[i])))
            return rc;
    if (a->op != OSP_PROMQL_AGG_TOPK && a->op != OSP_PROMQL_AGG_BOTTOMK &&
        a->op != OSP_PROMQL_AGG_QUANTILE)
        return 0;
    /* a heap never holds more than its group's series */
    for (size_t i = 0; i < a->m.n; i++)
        a->g[a->gid[i]].nheap++;
    for (size_t i = 0; i < a->ng; i++) {
        a->g[i].heap = osp_arena_alloc(ar, (a->g[i].nheap + 1) * sizeof *a->g[i].heap);
        if (!a->g[i].heap)
            return OSP_ENOMEM;
        a->g[i].nheap = 0;
    }
    return 0;
}

static void first(agg *a, group *g, double v, uint32_t s)
{
    g->value = v;
    g->mean = v;
    g->count = 1;
    g->nheap = 0;
    g->floats = 1;
    g->hists = 0;
    switch (a->op) {
    case OSP_PROMQL_AGG_STDDEV:
    case OSP_PROMQL_AGG_STDVAR:
        g->value = 0;
        break;
    case OSP_PROMQL_AGG_GROUP:
        g->value = 1;
        break;
    case OSP_PROMQL_AGG_TOPK:
    case OSP_PROMQL_AGG_BOTTOMK:
    case OSP_PROMQL_AGG_QUANTILE:
        g->heap[g->nheap++] = (item){v, s};
        break;
    default:
        break;
    }
}

static void accumulate(agg *a, group *g, double v, uint32_t s)
{
    switch (a->op) {
    case OSP_PROMQL_AGG_SUM:
        g->value += v;
        g->floats = 1;
        break;
    case OSP_PROMQL_AGG_AVG:
        g->count++;
        g->floats = 1;
        if (isinf(g->mean)) {
            if (isinf(v) && (g->mean > 0) == (v > 0))
                break;
            if (!isinf(v) && !isnan(v))
                break;
        }
        g->mean += v / (double)g->count - g->mean / (double)g->count;
        break;
    case OSP_PROMQL_AGG_MAX:
        if (g->value < v || isnan(g->value))
            g->value = v;
        break;
    case OSP_PROMQL_AGG_MIN:
        if (g->value > v || isnan(g->value))
            g->value = v;
        break;
    case OSP_PROMQL_AGG_COUNT:
    case OSP_PROMQL_AGG_COUNT_VALUES:
        g->count++;
        break;
    case OSP_PROMQL_AGG_STDDEV:
    case OSP_PROMQL_AGG_STDVAR: {
        g->count++;
        double delta = v - g->mean;
        g->mean += delta / (double)g->count;
        g->value += delta * (v - g->mean);
        break;
    }
    case OSP_PROMQL_AGG_TOPK:
    case OSP_PROMQL_AGG_BOTTOMK: {
        item it = {v, s};
        if ((int64_t)g->nheap < a->k || less(a, &g->heap[0], &it)) {
            if ((int64_t)g->nheap == a->k) {
                if (a->k == 1) {
                    g->heap[0] = it;
                    break;
                }
                swap_items(g->heap, 0, g->nheap - 1);
                heap_down(a, g->heap, 0, g->nheap - 1);
                g->nheap--;
            }
            g->heap[g->nheap++] = it;
            heap_up(a, g->heap, g->nheap - 1);
        }
        break;
    }
    case OSP_PROMQL_AGG_QUANTILE:
        g->heap[g->nheap++] = (item){v, s};
        break;
    default: /* group */
        break;
    }
}

/* 1 when op reads histogram elements. */
static int reads_histograms(osp_promql_agg_op op)
{
    return op == OSP_PROMQL_AGG_SUM || op == OSP_PROMQL_AGG_AVG || op == OSP_PROMQL_AGG_COUNT ||
           op == OSP_PROMQL_AGG_GROUP;
}

/* Takes histogram h of a step into group g (fresh: its first element at the step). 0 or
 * OSP_ENOMEM. */
static int take_hist(agg *a, group *g, const osp_histogram *h, int fresh)
{
    if (fresh) {
        g->count = 1;
        g->value = 1; /* group */
        g->floats = 0;
        g->hists = 1;
        g->h = h;
        return 0;
    }
    g->count++;
    if (a->op != OSP_PROMQL_AGG_SUM && a->op != OSP_PROMQL_AGG_AVG)
        return 0;
    g->hists = 1;
    if (g->floats) /* no result anyway */
        return 0;
    return (g->h = osp_hist_add(&a->scratch, g->h, h)) ? 0 : OSP_ENOMEM;
}

/* Writes group g's result(s) at ts. */
static int emit(agg *a, osp__pq_out *o, uint32_t gid, int64_t ts)
{
    group *g = &a->g[gid];
    double v = g->value;
    int rc;
    if ((a->op == OSP_PROMQL_AGG_SUM || a->op == OSP_PROMQL_AGG_AVG) && g->hists) {
        if (g->floats) /* floats and histograms do not add up */
            return 0;
        osp_arena *qa = a->ev->q->arena;
        const osp_histogram *h = a->op == OSP_PROMQL_AGG_SUM
                                     ? osp_hist_copy(qa, g->h)
                                     : osp_hist_div(qa, g->h, (double)g->count);
        if (!h)
            return OSP_ENOMEM;
        if (g->out == UINT32_MAX &&
            (rc = osp__pq_out_series(o, a->map.lbl[gid], a->map.nlbl[gid], &g->out)))
            return rc;
        return osp__pq_out_add_hist(o, g->out, ts, h);
    }
    switch (a->op) {
    case OSP_PROMQL_AGG_AVG:
        v = g->mean;
        break;
    case OSP_PROMQL_AGG_COUNT:
    case OSP_PROMQL_AGG_COUNT_VALUES:
        v = (double)g->count;
        break;
    case OSP_PROMQL_AGG_STDVAR:
        v = g->value / (double)g->count;
        break;
    case OSP_PROMQL_AGG_STDDEV:
        v = sqrt(g->value / (double)g->count);
        break;
    case OSP_PROMQL_AGG_QUANTILE:
        v = quantile(a->q, g->heap, g->nheap);
        break;
    case OSP_PROMQL_AGG_TOPK:
    case OSP_PROMQL_AGG_BOTTOMK:
        sort_best(a, g->heap, g->nheap);
        for (size_t i = 0; i < g->nheap; i++) {
            uint32_t s = g->heap[i].s;
            if (a->sout[s] == UINT32_MAX &&
                (rc = osp__pq_out_series(o, a->m.s[s].labels, a->m.s[s].nlabels, &a->sout[s])))
                return rc;
            if ((rc = osp__pq_out_add(o, a->sout[s], ts, g->heap[i].v)))
                return rc;
        }
        return 0;
    default:
        break;
    }
    if (g->out == UINT32_MAX &&
        (rc = osp__pq_out_series(o, a->map.lbl[gid], a->map.nlbl[gid], &g->out)))
        return rc;
    return osp__pq_out_add(o, g->out, ts, v);
}

/* Reads topk/bottomk's k or quantile's q at ts; *skip 1 when k < 1 (no output). */
static int param_at(agg *a, osp__pq_cursor *pc, int64_t ts, int *skip)
{
    *skip = 0;
    if (a->op == OSP_PROMQL_AGG_QUANTILE) {
        a->q = osp__pq_scalar_at(pc, ts);
        return 0;
    }
    if (a->op != OSP_PROMQL_AGG_TOPK && a->op != OSP_PROMQL_AGG_BOTTOMK)
        return 0;
    double f = osp__pq_scalar_at(pc, ts);
    if (!(f <= 9223372036854774784.0 && f >= -9223372036854775808.0)) {
        char buf[64];
        fmt_float(buf, sizeof buf, f, 'g');
        return osp__pq_fail(a->ev->q, OSP_EEXEC, "Scalar value %s overflows int64", buf);
    }
    a->k = (int64_t)f;
    *skip = a->k < 1;
    return 0;
}

int osp__pq_eval_agg(osp__pq_ev *ev, const osp_promql_expr *e, osp__pq_mat *out)
{
    osp__pq_query *q = ev->q;
    agg a = {.ev = ev, .e = e, .op = e->u.agg.op};
    osp__pq_mat pm = {NULL, 0};
    osp__pq_cursor pc = {0}, cur;
    osp__pq_out o;
    int rc = 0;
    int has_param = a.op == OSP_PROMQL_AGG_TOPK || a.op == OSP_PROMQL_AGG_BOTTOMK ||
                    a.op == OSP_PROMQL_AGG_QUANTILE;
    if (has_param && ((rc = osp__pq_eval(ev, e->u.agg.param, &pm)) ||
                      (rc = osp__pq_cursor_init(&pc, q->arena, &pm))))
        return rc;
    if ((rc = osp__pq_eval(ev, e->u.agg.expr, &a.m)) ||
        (rc = osp__pq_cursor_init(&cur, q->arena, &a.m)) || (rc = setup(&a)) ||
        (rc = osp__pq_out_init(&o, ev, a.ng)))
        return rc;
    int hist = cur.hist && reads_histograms(a.op);
    uint32_t *sidx = osp_arena_alloc(q->arena, (a.m.n + 1) * sizeof *sidx);
    uint32_t *order = osp_arena_alloc(q->arena, (a.m.n + 1) * sizeof *order);
    double *vals = osp_arena_alloc(q->arena, (a.m.n + 1) * sizeof *vals);
    const osp_histogram **hvals =
        hist ? osp_arena_alloc(q->arena, (a.m.n + 1) * sizeof *hvals) : NULL;
    if (!sidx || !order || !vals || (hist && !hvals))
        return OSP_ENOMEM;
    osp_arena_init(&a.scratch, 0, q->arena->max);
    int64_t ts = ev->start;
    for (size_t k = 1; k <= ev->nsteps; k++, ts += ev->step) {
        size_t n = osp__pq_gather(&cur, ts, sidx, vals), norder = 0;
        int skip;
        osp_arena_cleanup(&a.scratch);
        if ((rc = osp__pq_tick(q)) || (rc = param_at(&a, &pc, ts, &skip)))
            goto out;
        if (skip)
            continue;
        for (size_t i = 0; i < n; i++) {
            uint32_t s = sidx[i], gid;
            if (a.op == OSP_PROMQL_AGG_COUNT_VALUES) {
                size_t nl;
                osp_label *l = with_value(&a, &a.m.s[s], vals[i], &nl);
                if (!l) {
                    rc = OSP_ENOMEM;
                    goto out;
                }
                if ((rc = group_of(&a, l, nl, &gid)))
                    goto out;
            } else {
                gid = a.gid[s];
            }
            group *g = &a.g[gid];
            if (g->stamp != k) {
                g->stamp = k;
                order[norder++] = gid;
                first(&a, g, vals[i], s);
            } else {
                accumulate(&a, g, vals[i], s);
            }
        }
        size_t nh = hist ? osp__pq_hgather(&cur, ts, sidx, hvals) : 0;
        for (size_t i = 0; i < nh; i++) {
            uint32_t gid = a.gid[sidx[i]];
            group *g = &a.g[gid];
            int fresh = g->stamp != k;
            if (fresh) {
                g->stamp = k;
                order[norder++] = gid;
            }
            if ((rc = take_hist(&a, g, hvals[i], fresh)))
                goto out;
        }
        for (size_t i = 0; i < norder; i++)
            if ((rc = emit(&a, &o, order[i], ts)))
                goto out;
    }
    osp__pq_release(q, &pm);
    osp__pq_release(q, &a.m);
    *out = osp__pq_out_done(&o);
out:
    osp_arena_cleanup(&a.scratch);
    return rc;
}
