/* PromQL evaluator: runs a parsed expression (promql_parse.h) over a series source at one
 * instant or over a range of steps, with Prometheus's semantics (lookback delta,
 * staleness markers, offset and @, subqueries, vector matching, aggregations and the
 * function library in promql_func.c). */
#ifndef OSP_QUERY_PROMQL_EVAL_H
#define OSP_QUERY_PROMQL_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/series.h"
#include "query/promql_parse.h"
#include "store/tsdb/index.h"

/* Where samples come from. select returns the series that every matcher selects with
 * their samples in [mint_ms, maxt_ms], ascending by time, labels sorted by name, all in
 * arena (the contract of osp_tsdb_select). 0 or an OSP_E* code. */
typedef struct osp_promql_source {
    void *ctx;
    int (*select)(void *ctx, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                  int64_t maxt_ms, osp_arena *arena, osp_series **out, size_t *nout);
} osp_promql_source;

typedef struct osp_promql_opts {
    int64_t lookback_ms;     /* lookback delta; 0 picks 5 minutes */
    uint64_t max_samples;    /* samples a query may hold at once; 0 picks 50 million */
    int64_t deadline_ms;     /* CLOCK_MONOTONIC milliseconds after which evaluation stops
                              * with OSP_ETIMEDOUT; 0 = none */
    int64_t subquery_step_ms; /* resolution of subqueries written without one ("[1h:]");
                               * 0 picks 1 minute, Prometheus's default evaluation_interval */
} osp_promql_opts;

/* Prometheus's HTTP API refuses range queries with (end - start) / step above this many
 * points per series, with the message below (the engine itself does not check it). */
#define OSP_PROMQL_MAX_POINTS 11000
#define OSP_PROMQL_MAX_POINTS_MSG                                                                  \
    "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "       \
    "resolution (?step=XX)"

/* A query result. Vectors and matrices are series: a vector's series carry one sample
 * each (its timestamp is the evaluation time), a matrix's series their samples in time
 * order. Series are sorted by label set unless the query's outermost operation orders
 * them (sort, sort_desc, topk, bottomk in an instant query), as Prometheus returns them. */
typedef struct osp_promql_result {
    osp_promql_type type; /* SCALAR, VECTOR, MATRIX or STRING; a range query gives MATRIX */
    double scalar;        /* SCALAR */
    int64_t t_ms;         /* SCALAR and STRING: evaluation time */
    osp_str string;       /* STRING */
    osp_series *series;   /* VECTOR, MATRIX */
    size_t nseries;
} osp_promql_result;

/* Evaluates e. An instant query passes start_ms == end_ms and step_ms 0; a range query
 * step_ms > 0 and gets a MATRIX whatever e's type (a scalar becomes one series without
 * labels; e must be a scalar or instant vector). Everything in *res lives in arena.
 * Returns 0; OSP_EINVAL for a bad range or expression type ("bad_data" to clients);
 * OSP_EEXEC with err naming the problem as Prometheus words it (duplicate series,
 * many-to-many matching, too many samples, ...); OSP_ETIMEDOUT; OSP_ENOMEM; or the
 * source's error. err (errlen bytes, NUL-terminated, may be NULL) gets a message on every
 * failure. */
int osp_promql_eval(const osp_promql_source *src, const osp_promql_expr *e, int64_t start_ms,
                    int64_t end_ms, int64_t step_ms, const osp_promql_opts *opts,
                    osp_arena *arena, osp_promql_result *res, char *err, size_t errlen);

#endif
