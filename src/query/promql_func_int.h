/* Private to the PromQL function library (promql_func*.c): helpers the files share and the
 * tables each contributes to osp_promql_fn_lookup.
 *
 * The functions follow Prometheus 2.42 (promql/functions.go, quantile.go) for float
 * samples, with its order of floating-point operations, and current Prometheus for native
 * histograms (where 2.42 reads a histogram sample as the float 0). Known differences: libm's exp,
 * log and trigonometric functions may differ from Go's math package in the last bit;
 * regular expressions are POSIX ERE (see promql_func_label.c); sorting more than 12
 * elements keeps equal values in input order where Go's unstable sort may not. */
#ifndef OSP_QUERY_PROMQL_FUNC_INT_H
#define OSP_QUERY_PROMQL_FUNC_INT_H

#include <math.h>
#include <stddef.h>

#include "query/promql_int.h"

typedef struct osp__fn_def {
    const char *name;
    osp_promql_fn fn;
    int hist; /* 1: its instant-vector arguments hold histogram elements */
} osp__fn_def;

/* Tables ending with a NULL name. */
extern const osp__fn_def osp__fn_range_defs[]; /* promql_func_range.c */
extern const osp__fn_def osp__fn_label_defs[]; /* promql_func_label.c */
extern const osp__fn_def osp__fn_hist_defs[];  /* promql_func_hist.c */

/* Points out at an empty vector with room for n elements in c->arena. 0 or OSP_ENOMEM. */
int osp__fn_out(const osp_promql_call_ctx *c, osp_promql_vec *out, size_t n);

/* Appends an element with labels minus __name__ (unless keep_name), t_ms = c->t_ms and
 * value v to out, which has room for it. 0 or OSP_ENOMEM. */
int osp__fn_push(const osp_promql_call_ctx *c, osp_promql_vec *out, osp_label *labels,
                 size_t nlabels, int keep_name, double v);

/* Writes a message to c->err and returns OSP_EEXEC. */
int osp__fn_fail(const osp_promql_call_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Labels absent() and absent_over_time() give their result: those of the equality
 * matchers of the call's selector argument, as Prometheus's createLabelsForAbsentFunction.
 * Arena memory, sorted; none for other argument expressions. 0 or OSP_ENOMEM. */
int osp__fn_absent_labels(const osp_promql_call_ctx *c, osp_label **labels, size_t *n);

#endif
