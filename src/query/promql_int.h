/* Private to the PromQL evaluator: the calling convention between the engine
 * (promql_eval.c) and the function library (promql_func.c).
 *
 * The engine evaluates a call one step at a time: it evaluates every argument at the
 * step's time t and hands the function the values below; the function writes its result
 * vector. Range-vector arguments arrive as each selected series' samples inside the
 * window [t - range, t] (stale markers already removed, offset and @ already applied, so
 * the window's timestamps are the stored ones), float samples and native histogram
 * samples in their own arrays; instant-vector arguments as elements whose t_ms is the step
 * time, except for timestamp() of a plain selector, where the engine passes each sample's
 * own timestamp. Instant vectors hold histogram elements only for the functions that
 * handle them (osp_promql_fn_sees_histograms); every other function sees the float
 * elements alone and so drops histograms, as current Prometheus does. */
#ifndef OSP_QUERY_PROMQL_INT_H
#define OSP_QUERY_PROMQL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/series.h"
#include "query/promql_parse.h"

/* One element of an instant vector. */
typedef struct osp_promql_elem {
    osp_label *labels; /* sorted by name */
    size_t nlabels;
    int64_t t_ms;
    double v;               /* unused when h is set */
    const osp_histogram *h; /* a native histogram sample, or NULL for a float */
} osp_promql_elem;

typedef struct osp_promql_vec {
    osp_promql_elem *a;
    size_t n;
} osp_promql_vec;

/* An evaluated argument. */
typedef struct osp_promql_arg {
    osp_promql_type type;     /* SCALAR, VECTOR, MATRIX or STRING */
    double scalar;            /* SCALAR */
    osp_str string;           /* STRING */
    osp_promql_vec vec;       /* VECTOR */
    const osp_series *series; /* MATRIX: one window per selected series (possibly empty),
                               * floats in samples, histograms in hsamples */
    size_t nseries;
    int64_t range_ms; /* MATRIX: the selector's or subquery's range */
    int64_t end_ms;   /* MATRIX: the window's end in stored time (the step time, or the
                       * @ time, minus offset); rate() extrapolates to it */
} osp_promql_arg;

typedef struct osp_promql_call_ctx {
    const osp_promql_expr *call; /* the OSP_PROMQL_CALL node (absent() reads its matchers) */
    int64_t t_ms;                /* evaluation time of this step */
    osp_arena *arena;            /* for the result and any scratch */
    char *err;                   /* message on OSP_EEXEC */
    size_t errlen;
} osp_promql_call_ctx;

/* Computes one step of a function. Writes the result to *out (arena memory; elements'
 * t_ms is c->t_ms; a histogram element's h in c->arena or in the arguments' memory). A
 * function whose type is scalar writes exactly one element without labels. Returns 0,
 * OSP_EEXEC with c->err set (e.g. label_replace's invalid regex or a duplicate output label
 * set), or OSP_ENOMEM. Output labels follow Prometheus: functions that compute a new value
 * drop __name__; label_replace, label_join, sort*, clamp*, round, last_over_time and the
 * like keep what Prometheus keeps. */
typedef int (*osp_promql_fn)(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                             osp_promql_vec *out);

/* The implementation of the built-in function name, or NULL when it has none. */
osp_promql_fn osp_promql_fn_lookup(osp_str name);

/* 1 when the instant-vector arguments of function name should hold its histogram elements
 * (the histogram_* functions, timestamp, label_replace, label_join, absent), else 0. */
int osp_promql_fn_sees_histograms(osp_str name);

/* The per-window kernel of a range function (rate, the *_over_time family, deriv, ...):
 * the value of one window w with float samples of the range-vector argument
 * m = &args[matrix_arg] at step c->t_ms, with args as osp_promql_fn gets them. Returns 1 with *v, 0
 * for no value, or a negative error. Such a function gives exactly one element per window the
 * kernel returns 1 for, labelled as the window's series (minus __name__ unless
 * keep_name), so the engine may run the kernel series by series over every step instead
 * of calling the function step by step. */
typedef int (*osp_promql_window_fn)(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                                    const osp_promql_arg *m, const osp_series *w, double *v);

/* The kernel of a range function that handles native histograms: like
 * osp_promql_window_fn, but called for every window with a float or a histogram sample, and
 * the value may be a histogram: returns 1 with *h (in c->arena or the window's memory),
 * or with *v when *h stays NULL; 0 for no value (a window mixing floats and histograms
 * where Prometheus gives none), or a negative error. */
typedef int (*osp_promql_hwindow_fn)(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                                     const osp_promql_arg *m, const osp_series *w, double *v,
                                     const osp_histogram **h);

/* Exactly one of fn and hfn is set. */
typedef struct osp_promql_window_def {
    const char *name;
    osp_promql_window_fn fn;   /* float-only functions: windows with floats, which w->samples
                                * holds (histograms ignored) */
    osp_promql_hwindow_fn hfn; /* functions that handle histograms: every non-empty window */
    size_t matrix_arg;         /* index of the range-vector argument */
    int keep_name;             /* 1: results keep __name__ (last_over_time) */
} osp_promql_window_def;

/* The window kernel of function name, or NULL when it is not such a range function. */
const osp_promql_window_def *osp_promql_window_lookup(osp_str name);

/* Labels minus __name__ (a new array in arena when it had one, else labels itself). */
osp_label *osp_promql_drop_name(osp_arena *arena, osp_label *labels, size_t *nlabels);

#endif
