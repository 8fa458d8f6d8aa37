/* Private to the PromQL engine (promql_eval.c, promql_step.c, promql_binop.c,
 * promql_agg.c): evaluation state, step matrices and the helpers the node evaluators
 * share.
 *
 * Every scalar or instant-vector node evaluates to a step matrix: series whose samples
 * carry the step times (start + k*step) at which the node has a value, ascending, floats
 * in samples and native histograms in hsamples (never both at one step). A scalar is one
 * series without labels. Float-only consumers read samples alone (osp__pq_gather), which
 * drops histogram elements as current Prometheus does where it ignores them. Range-vector nodes
 * (selectors, subqueries) are only evaluated where a call consumes them, or at the top of an
 * instant query. */
#ifndef OSP_QUERY_PROMQL_EVAL_INT_H
#define OSP_QUERY_PROMQL_EVAL_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "query/promql_eval.h"
#include "query/promql_int.h"

/* State shared by every evaluator of one query. */
typedef struct osp__pq_query {
    const osp_promql_source *src;
    osp_arena *arena;
    int64_t qstart, qend; /* the query's range, for @ start() and @ end() */
    int64_t lookback_ms;
    int64_t sq_step_ms;  /* default subquery resolution */
    int64_t deadline_ms; /* 0 = none */
    uint64_t max_samples;
    uint64_t samples; /* samples held now, as Prometheus counts them */
    unsigned ticks;   /* work since the last deadline check */
    char *err;
    size_t errlen;
} osp__pq_query;

/* One evaluator: the steps start + k*step <= end (step > 0; an instant query uses 1). */
typedef struct osp__pq_ev {
    osp__pq_query *q;
    int64_t start, end, step;
    size_t nsteps;
} osp__pq_ev;

/* A step matrix (see above). */
typedef struct osp__pq_mat {
    osp_series *s;
    size_t n;
} osp__pq_mat;

/* Label sets to dense ids, by XXH3 hash with full comparison on collision. */
typedef struct osp__pq_lmap {
    uint64_t *hash;
    uint32_t *id; /* UINT32_MAX: empty slot */
    size_t mask;  /* capacity - 1 */
    size_t n;
    const osp_label **lbl; /* lbl[id], nlbl[id]: the set each id stands for */
    size_t *nlbl;
    size_t cap; /* entries lbl/nlbl can hold */
} osp__pq_lmap;

/* Builds an output step matrix one step at a time. */
typedef struct osp__pq_out {
    osp__pq_ev *ev;
    osp__pq_lmap map; /* labels -> index in s */
    osp_series *s;
    size_t n, cap;
    size_t *scap;  /* samples allocated per series */
    size_t *hcap;  /* histogram samples allocated per series */
    int64_t *last; /* step time of each series' newest sample of either kind (INT64_MIN:
                    * none) */
} osp__pq_out;

/* Message into q->err and rc back. */
int osp__pq_fail(osp__pq_query *q, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Counts n more samples held; OSP_EEXEC past max_samples. */
int osp__pq_hold(osp__pq_query *q, uint64_t n);
/* Gives back the samples of a matrix that is no longer needed. */
void osp__pq_release(osp__pq_query *q, const osp__pq_mat *m);
/* Checks the deadline every so many calls; OSP_ETIMEDOUT once it passed. */
int osp__pq_tick(osp__pq_query *q);
/* Counts work as n calls of osp__pq_tick would, so that its next call checks sooner. */
static inline void osp__pq_add_ticks(osp__pq_query *q, size_t n)
{
    q->ticks = n < UINT_MAX - q->ticks ? q->ticks + (unsigned)n : UINT_MAX;
}

/* Hash of a label set (sorted). */
uint64_t osp__pq_labels_hash(const osp_label *l, size_t n);
/* Appends l as Prometheus prints label sets ({a="x", b="y"}) to buf (cap bytes), always
 * NUL-terminated. */
void osp__pq_labels_fmt(char *buf, size_t cap, const osp_label *l, size_t n);
/* s quoted as Go's %q does (printable UTF-8 kept), NUL-terminated in buf. */
void osp__pq_quote(char *buf, size_t cap, osp_str s);
/* The labels of l named (on = 1) or not named (on = 0, also dropping __name__) in names,
 * as a new array in arena (*nout its length). NULL only when out of memory. */
osp_label *osp__pq_labels_subset(osp_arena *a, const osp_label *l, size_t n,
                                 const osp_promql_labels *names, int on, size_t *nout);

/* Empty map sized for about n entries. 0 or OSP_ENOMEM. */
int osp__pq_lmap_init(osp__pq_lmap *m, osp_arena *a, size_t n);
/* Id of the set l (kept by reference, not copied), adding it when new (*added 1).
 * 0 or OSP_ENOMEM. */
int osp__pq_lmap_put(osp__pq_lmap *m, osp_arena *a, const osp_label *l, size_t n, uint32_t *id,
                     int *added);

/* Output matrix for evaluator ev, about n series. 0 or OSP_ENOMEM. */
int osp__pq_out_init(osp__pq_out *o, osp__pq_ev *ev, size_t n);
/* Index of the output series with labels l (referenced, not copied), created when new. */
int osp__pq_out_series(osp__pq_out *o, const osp_label *l, size_t n, uint32_t *idx);
/* Like osp__pq_out_series, but a new series gets a copy of the labels (names and values)
 * in the query's arena: for labels in memory that will not last. */
int osp__pq_out_series_copy(osp__pq_out *o, const osp_label *l, size_t n, uint32_t *idx);
/* 1 when series idx already has a sample at step ts. */
static inline int osp__pq_out_has(const osp__pq_out *o, uint32_t idx, int64_t ts)
{
    return o->last[idx] == ts;
}
/* Appends (ts, v) to series idx. OSP_EEXEC "vector cannot contain metrics with the same
 * labelset" when it has one at ts already; OSP_EEXEC past max_samples; OSP_ENOMEM. */
int osp__pq_out_add(osp__pq_out *o, uint32_t idx, int64_t ts, double v);
/* Appends the histogram (ts, h) to series idx, as osp__pq_out_add (the same duplicate
 * check). h is referenced, not copied: it must live as long as the query's arena. */
int osp__pq_out_add_hist(osp__pq_out *o, uint32_t idx, int64_t ts, const osp_histogram *h);
/* The finished matrix (series without samples are left out). */
osp__pq_mat osp__pq_out_done(osp__pq_out *o);

/* Per-series read positions for gathering the instant vector of each step. */
typedef struct osp__pq_cursor {
    const osp__pq_mat *m;
    size_t *pos;  /* next float sample per series */
    size_t *hpos; /* next histogram sample per series */
    int hist;     /* 1 when some series has histogram samples */
} osp__pq_cursor;

int osp__pq_cursor_init(osp__pq_cursor *c, osp_arena *a, const osp__pq_mat *m);
/* The series with a float sample at ts: their indexes into sidx and values into v (both
 * sized for m->n); returns how many. Steps must be asked in ascending order. */
size_t osp__pq_gather(osp__pq_cursor *c, int64_t ts, uint32_t *sidx, double *v);
/* Like osp__pq_gather for the histogram samples at ts, into sidx and h. A consumer that
 * reads both kinds calls both for each step. */
size_t osp__pq_hgather(osp__pq_cursor *c, int64_t ts, uint32_t *sidx, const osp_histogram **h);
/* The value of a scalar matrix at ts (NaN when it has none). */
double osp__pq_scalar_at(osp__pq_cursor *c, int64_t ts);

/* Evaluates a scalar or instant-vector expression into a step matrix. */
int osp__pq_eval(osp__pq_ev *ev, const osp_promql_expr *e, osp__pq_mat *out);
/* Binary operator node (promql_binop.c). */
int osp__pq_eval_binary(osp__pq_ev *ev, const osp_promql_expr *e, osp__pq_mat *out);
/* Aggregation node (promql_agg.c). */
int osp__pq_eval_agg(osp__pq_ev *ev, const osp_promql_expr *e, osp__pq_mat *out);

/* Test hook: calls resolve functions through lookup instead of osp_promql_fn_lookup
 * (NULL restores it). Not thread-safe; tests only. */
void osp__promql_set_fn_lookup(osp_promql_fn (*lookup)(osp_str name));

#endif
