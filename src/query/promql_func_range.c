/* PromQL functions over range vectors: rate and its relatives, the *_over_time family,
 * deriv, predict_linear and holt_winters, one element per non-empty window.
 *
 * Native histograms follow current Prometheus: rate, increase, delta, sum_over_time and
 * avg_over_time give a histogram for a window of histograms and nothing for a window that
 * mixes floats and histograms; irate and idelta read the newest two samples of either
 * kind; count_over_time, present_over_time and last_over_time count histogram samples as
 * samples; every other function reads the window's floats alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/kahan.h"
#include "query/promql_func_int.h"

/* Applies the kernel of def to each window of the matrix args[def->matrix_arg] that it
 * reads (Prometheus does not call a function on an empty one). Results keep the series'
 * labels minus __name__, all of them when def->keep_name. */
static int over_windows(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                        const osp_promql_window_def *def, osp_promql_vec *out)
{
    const osp_promql_arg *m = &args[def->matrix_arg];
    int rc = osp__fn_out(c, out, m->nseries);
    for (size_t i = 0; rc == 0 && i < m->nseries; i++) {
        const osp_series *w = &m->series[i];
        if (def->hfn ? w->nsamples + w->nhsamples == 0 : w->nsamples == 0)
            continue;
        double v = 0;
        const osp_histogram *h = NULL;
        rc = def->hfn ? def->hfn(c, args, m, w, &v, &h) : def->fn(c, args, m, w, &v);
        if (rc > 0 && (rc = osp__fn_push(c, out, w->labels, w->nlabels, def->keep_name, v)) == 0)
            out->a[out->n - 1].h = h;
    }
    return rc < 0 ? rc : 0;
}

/* Go's time.Duration.Seconds() of a millisecond range: whole seconds plus the rest. */
static double range_seconds(int64_t ms)
{
    int64_t ns_rest = (ms % 1000) * 1000000;
    return (double)(ms / 1000) + (double)ns_rest / 1e9;
}

/* ---- rate, increase, delta: functions.go's extrapolatedRate ---- */

/* The factor extrapolatedRate scales the increase between n >= 2 samples from first_ms to
 * last_ms in the window of m by (per second of the range when is_rate). zero_ratio is the
 * first value over the increase for a counter that cannot extrapolate below zero, INFINITY
 * when that does not apply. */
static inline double extrapolation(const osp_promql_arg *m, int64_t first_ms, int64_t last_ms,
                                   size_t n, double zero_ratio, int is_rate)
{
    int64_t range_start = m->end_ms - m->range_ms, range_end = m->end_ms;
    double to_start = (double)(first_ms - range_start) / 1000;
    double to_end = (double)(range_end - last_ms) / 1000;
    double sampled = (double)(last_ms - first_ms) / 1000;
    double avg_step = sampled / (double)(n - 1);
    if (zero_ratio != INFINITY) {
        /* A counter does not extrapolate below zero. */
        double to_zero = sampled * zero_ratio;
        if (to_zero < to_start)
            to_start = to_zero;
    }
    /* Extrapolate to a boundary only when a sample would be expected there (within 1.1
     * average steps); otherwise by half a step. */
    double threshold = avg_step * 1.1;
    double interval = sampled;
    interval += to_start < threshold ? to_start : avg_step / 2;
    interval += to_end < threshold ? to_end : avg_step / 2;
    double factor = interval / sampled;
    if (is_rate)
        factor /= range_seconds(m->range_ms);
    return factor;
}

static int extrapolated_rate(const osp_promql_arg *m, const osp_series *w, int is_counter,
                             int is_rate, double *v)
{
    const osp_sample *s = w->samples;
    size_t n = w->nsamples;
    if (n < 2)
        return 0;
    double result = s[n - 1].v - s[0].v;
    if (is_counter) {
        double prev = s[0].v;
        for (size_t i = 1; i < n; i++) {
            if (s[i].v < prev)
                result += prev; /* counter reset */
            prev = s[i].v;
        }
    }
    double zero_ratio = is_counter && result > 0 && s[0].v >= 0 ? s[0].v / result : INFINITY;
    *v = result * extrapolation(m, s[0].t_ms, s[n - 1].t_ms, n, zero_ratio, is_rate);
    return 1;
}

/* histogramRate: the last histogram minus the first, plus the histogram before each
 * counter reset (osp_hist_detect_reset) for counters, extrapolated as floats are except
 * that, as in Prometheus 2.42, the zero point does not limit it. A gauge histogram; no
 * value for a window that also holds floats. */
static int histogram_rate(const osp_promql_call_ctx *c, const osp_promql_arg *m,
                          const osp_series *w, int is_counter, int is_rate,
                          const osp_histogram **out)
{
    const osp_hsample *s = w->hsamples;
    size_t n = w->nhsamples;
    if (n < 2 || w->nsamples)
        return 0;
    osp_histogram *r = osp_hist_sub(c->arena, s[n - 1].h, s[0].h);
    for (size_t i = 1; r && is_counter && i < n; i++)
        if (osp_hist_detect_reset(s[i].h, s[i - 1].h))
            r = osp_hist_add(c->arena, r, s[i - 1].h);
    if (r)
        r = osp_hist_mul(c->arena, r,
                         extrapolation(m, s[0].t_ms, s[n - 1].t_ms, n, INFINITY, is_rate));
    if (!r)
        return OSP_ENOMEM;
    r->hint = OSP_HIST_HINT_GAUGE;
    *out = r;
    return 1;
}

static int hw_rate(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                   const osp_promql_arg *m, const osp_series *w, double *v, const osp_histogram **h)
{
    (void)args;
    return w->nhsamples ? histogram_rate(c, m, w, 1, 1, h) : extrapolated_rate(m, w, 1, 1, v);
}

static int hw_increase(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                       const osp_promql_arg *m, const osp_series *w, double *v,
                       const osp_histogram **h)
{
    (void)args;
    return w->nhsamples ? histogram_rate(c, m, w, 1, 0, h) : extrapolated_rate(m, w, 1, 0, v);
}

static int hw_delta(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                    const osp_promql_arg *m, const osp_series *w, double *v,
                    const osp_histogram **h)
{
    (void)args;
    return w->nhsamples ? histogram_rate(c, m, w, 0, 0, h) : extrapolated_rate(m, w, 0, 0, v);
}

/* irate and idelta: the last two samples. */
static int instant_value(const osp_series *w, int is_rate, double *v)
{
    if (w->nsamples < 2)
        return 0;
    const osp_sample *last = &w->samples[w->nsamples - 1], *prev = last - 1;
    double result = is_rate && last->v < prev->v ? last->v : last->v - prev->v;
    int64_t interval = last->t_ms - prev->t_ms;
    if (interval == 0)
        return 0;
    if (is_rate)
        result /= (double)interval / 1000;
    *v = result;
    return 1;
}

/* irate and idelta as current Prometheus: the newest two samples of either kind; two
 * floats give a float, two histograms a gauge histogram (for irate the newest alone when
 * it starts after a counter reset), one of each nothing. */
static int instant_kernel(const osp_promql_call_ctx *c, const osp_series *w, int is_rate, double *v,
                          const osp_histogram **h)
{
    size_t n = w->nsamples, nh = w->nhsamples;
    if (nh == 0)
        return instant_value(w, is_rate, v);
    int64_t newest_hist = w->hsamples[nh - 1].t_ms;
    if (n && w->samples[n - 1].t_ms > newest_hist) /* the newest is a float */
        return n >= 2 && w->samples[n - 2].t_ms > newest_hist ? instant_value(w, is_rate, v) : 0;
    if (nh < 2 || (n && w->samples[n - 1].t_ms > w->hsamples[nh - 2].t_ms))
        return 0;
    const osp_hsample *last = &w->hsamples[nh - 1], *prev = last - 1;
    int64_t interval = last->t_ms - prev->t_ms;
    if (interval == 0)
        return 0;
    osp_histogram *r;
    if (is_rate && osp_hist_detect_reset(last->h, prev->h))
        r = osp_hist_div(c->arena, last->h, (double)interval / 1000);
    else if ((r = osp_hist_sub(c->arena, last->h, prev->h)) && is_rate)
        r = osp_hist_div(c->arena, r, (double)interval / 1000);
    if (!r)
        return OSP_ENOMEM;
    r->hint = OSP_HIST_HINT_GAUGE;
    *h = r;
    return 1;
}

static int hw_irate(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                    const osp_promql_arg *m, const osp_series *w, double *v,
                    const osp_histogram **h)
{
    (void)args;
    (void)m;
    return instant_kernel(c, w, 1, v, h);
}

static int hw_idelta(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                     const osp_promql_arg *m, const osp_series *w, double *v,
                     const osp_histogram **h)
{
    (void)args;
    (void)m;
    return instant_kernel(c, w, 0, v, h);
}

/* ---- deriv, predict_linear: least squares with Kahan sums, x in seconds from t0 ---- */

static void linear_regression(const osp_series *w, int64_t t0, double *slope, double *intercept)
{
    const osp_sample *s = w->samples;
    double n = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
    int const_y = 1;
    for (size_t i = 0; i < w->nsamples; i++) {
        if (const_y && i > 0 && s[i].v != s[0].v)
            const_y = 0;
        n += 1.0;
        double x = (double)(s[i].t_ms - t0) / 1e3;
        osp_kahan_inc(x, &sx, &cx);
        osp_kahan_inc(s[i].v, &sy, &cy);
        osp_kahan_inc(x * s[i].v, &sxy, &cxy);
        osp_kahan_inc(x * x, &sx2, &cx2);
    }
    if (const_y) {
        *slope = isinf(s[0].v) ? NAN : 0;
        *intercept = isinf(s[0].v) ? NAN : s[0].v;
        return;
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    double cov_xy = sxy - sx * sy / n;
    double var_x = sx2 - sx * sx / n;
    *slope = cov_xy / var_x;
    *intercept = sy / n - *slope * sx / n;
}

static int w_deriv(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                   const osp_promql_arg *m, const osp_series *w, double *v)
{
    (void)c;
    (void)args;
    (void)m;
    if (w->nsamples < 2)
        return 0;
    double intercept;
    linear_regression(w, w->samples[0].t_ms, v, &intercept);
    return 1;
}

/* predict_linear(m, seconds): the fitted line at step time + seconds. */
static int w_predict_linear(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                            const osp_promql_arg *m, const osp_series *w, double *v)
{
    (void)m;
    if (w->nsamples < 2)
        return 0;
    double slope, intercept;
    linear_regression(w, c->t_ms, &slope, &intercept);
    *v = slope * args[1].scalar + intercept;
    return 1;
}

/* ---- holt_winters(m, sf, tf): double exponential smoothing ---- */

/* Go's %f: C's, except for infinities. */
static const char *go_fmt_f(char *buf, size_t n, double v)
{
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    snprintf(buf, n, "%f", v);
    return buf;
}

static int w_holt_winters(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                          const osp_promql_arg *m, const osp_series *w, double *v)
{
    (void)m;
    double sf = args[1].scalar, tf = args[2].scalar;
    char buf[400];
    if (sf <= 0 || sf >= 1)
        return osp__fn_fail(c, "invalid smoothing factor. Expected: 0 < sf < 1, got: %s",
                            go_fmt_f(buf, sizeof buf, sf));
    if (tf <= 0 || tf >= 1)
        return osp__fn_fail(c, "invalid trend factor. Expected: 0 < tf < 1, got: %s",
                            go_fmt_f(buf, sizeof buf, tf));
    const osp_sample *s = w->samples;
    if (w->nsamples < 2)
        return 0;
    double s0 = 0, s1 = s[0].v, b = s[1].v - s[0].v;
    for (size_t i = 1; i < w->nsamples; i++) {
        double x = sf * s[i].v;
        if (i > 1) /* the trend at the previous point */
            b = tf * (s1 - s0) + (1 - tf) * b;
        double y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    *v = s1;
    return 1;
}

/* ---- changes, resets ---- */

static int w_changes(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                     const osp_promql_arg *m, const osp_series *w, double *v)
{
    (void)c;
    (void)args;
    (void)m;
    size_t changes = 0;
    for (size_t i = 1; i < w->nsamples; i++) {
        double prev = w->samples[i - 1].v, cur = w->samples[i].v;
        if (cur != prev && !(isnan(cur) && isnan(prev)))
            changes++;
    }
    *v = (double)changes;
    return 1;
}

static int w_resets(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                    const osp_promql_arg *m, const osp_series *w, double *v)
{
    (void)c;
    (void)args;
    (void)m;
    size_t resets = 0;
    for (size_t i = 1; i < w->nsamples; i++)
        if (w->samples[i].v < w->samples[i - 1].v)
            resets++;
    *v = (double)resets;
    return 1;
}

/* ---- *_over_time ---- */

/* The sum of w's histograms (at least one), in arena (the only one itself); NULL when out
 * of memory. */
static const osp_histogram *hist_sum(osp_arena *arena, const osp_series *w)
{
    const osp_histogram *sum = w->hsamples[0].h;
    for (size_t i = 1; sum && i < w->nhsamples; i++)
        sum = osp_hist_add(arena, sum, w->hsamples[i].h);
    return sum;
}

/* Floats: incremental mean with Kahan compensation; an infinite mean stays put unless a
 * NaN or an infinity of the other sign arrives. Histograms: their sum over their count, as
 * current Prometheus; a mix of both: no value. */
static int hw_avg_over_time(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                            const osp_promql_arg *m, const osp_series *w, double *v,
                            const osp_histogram **h)
{
    (void)args;
    (void)m;
    if (w->nhsamples) {
        if (w->nsamples)
            return 0;
        const osp_histogram *sum = hist_sum(c->arena, w);
        if (!sum || !(*h = osp_hist_div(c->arena, sum, (double)w->nhsamples)))
            return OSP_ENOMEM;
        return 1;
    }
    double mean = 0, count = 0, comp = 0;
    for (size_t i = 0; i < w->nsamples; i++) {
        double x = w->samples[i].v;
        count++;
        if (isinf(mean)) {
            if (isinf(x) && (mean > 0) == (x > 0))
                continue;
            if (!isinf(x) && !isnan(x))
                continue;
        }
        osp_kahan_inc(x / count - mean / count, &mean, &comp);
    }
    *v = isinf(mean) ? mean : mean + comp;
    return 1;
}

/* Kahan sum of floats or plain sum of histograms; a mix of both: no value. */
static int hw_sum_over_time(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                            const osp_promql_arg *m, const osp_series *w, double *v,
                            const osp_histogram **h)
{
    (void)args;
    (void)m;
    if (w->nhsamples) {
        if (w->nsamples)
            return 0;
        return (*h = hist_sum(c->arena, w)) ? 1 : OSP_ENOMEM;
    }
    double sum = 0, comp = 0;
    for (size_t i = 0; i < w->nsamples; i++)
        osp_kahan_inc(w->samples[i].v, &sum, &comp);
    *v = isinf(sum) ? sum : sum + comp;
    return 1;
}

static int hw_count_over_time(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                              const osp_promql_arg *m, const osp_series *w, double *v,
                              const osp_histogram **h)
{
    (void)c;
    (void)args;
    (void)m;
    (void)h;
    *v = (double)(w->nsamples + w->nhsamples);
    return 1;
}

/* min and max: a NaN is replaced by any later value. */
static int w_min_over_time(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                           const osp_promql_arg *m, const osp_series *w, double *v)
{
    (void)c;
    (void)args;
    (void)m;
    double min = w->samples[0].v;
    for (size_t i = 0; i < w->nsamples; i++)
        if (w->samples[i].v < min || isnan(min))
            min = w->samples[i].v;
    *v = min;
    return 1;
}

static int w_max_over_time(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                           const osp_promql_arg *m, const osp_series *w, double *v)
{
    (void)c;
    (void)args;
    (void)m;
    double max = w->samples[0].v;
    for (size_t i = 0; i < w->nsamples; i++)
        if (w->samples[i].v > max || isnan(max))
            max = w->samples[i].v;
    *v = max;
    return 1;
}

/* The newest sample, float or histogram. */
static int hw_last_over_time(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                             const osp_promql_arg *m, const osp_series *w, double *v,
                             const osp_histogram **h)
{
    (void)c;
    (void)args;
    (void)m;
    size_t n = w->nsamples, nh = w->nhsamples;
    if (nh && (n == 0 || w->hsamples[nh - 1].t_ms > w->samples[n - 1].t_ms))
        *h = w->hsamples[nh - 1].h;
    else
        *v = w->samples[n - 1].v;
    return 1;
}

static int hw_present_over_time(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                                const osp_promql_arg *m, const osp_series *w, double *v,
                                const osp_histogram **h)
{
    (void)c;
    (void)args;
    (void)m;
    (void)w;
    (void)h;
    *v = 1;
    return 1;
}

/* Welford's variance with Kahan-compensated mean and sum of squares. */
static double variance(const osp_series *w)
{
    double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
    for (size_t i = 0; i < w->nsamples; i++) {
        double x = w->samples[i].v;
        count++;
        double delta = x - (mean + cmean);
        osp_kahan_inc(delta / count, &mean, &cmean);
        osp_kahan_inc(delta * (x - (mean + cmean)), &aux, &caux);
    }
    return (aux + caux) / count;
}

static int w_stdvar_over_time(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                              const osp_promql_arg *m, const osp_series *w, double *v)
{
    (void)c;
    (void)args;
    (void)m;
    *v = variance(w);
    return 1;
}

static int w_stddev_over_time(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                              const osp_promql_arg *m, const osp_series *w, double *v)
{
    (void)c;
    (void)args;
    (void)m;
    *v = sqrt(variance(w));
    return 1;
}

/* NaN first, as Prometheus's vectorByValueHeap. */
static int cmp_nan_first(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    if (isnan(a) || isnan(b))
        return isnan(b) - isnan(a);
    return a < b ? -1 : a > b;
}

/* quantile_over_time(q, m): linear interpolation between the closest ranks, as
 * quantile.go's quantile(); -Inf below 0, +Inf above 1, NaN for a NaN q. */
static int w_quantile_over_time(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                                const osp_promql_arg *m, const osp_series *w, double *v)
{
    (void)m;
    double q = args[0].scalar;
    if (isnan(q) || q < 0 || q > 1) {
        *v = isnan(q) ? NAN : q < 0 ? -INFINITY : INFINITY;
        return 1;
    }
    size_t n = w->nsamples;
    double *x = osp_arena_alloc(c->arena, n * sizeof *x);
    if (!x)
        return OSP_ENOMEM;
    for (size_t i = 0; i < n; i++)
        x[i] = w->samples[i].v;
    qsort(x, n, sizeof *x, cmp_nan_first);
    double rank = q * (double)(n - 1);
    double lo = fmax(0, floor(rank)); /* rank is not NaN here */
    double hi = fmin((double)(n - 1), lo + 1);
    double weight = rank - floor(rank);
    *v = x[(size_t)lo] * (1 - weight) + x[(size_t)hi] * weight;
    return 1;
}

/* name, index of the range-vector argument, whether results keep __name__, the float-only
 * kernel or the kernel that handles histograms */
#define RANGE_FNS(X)                                                                               \
    X(rate, 0, 0, NULL, hw_rate)                                                                   \
    X(increase, 0, 0, NULL, hw_increase)                                                           \
    X(delta, 0, 0, NULL, hw_delta)                                                                 \
    X(irate, 0, 0, NULL, hw_irate)                                                                 \
    X(idelta, 0, 0, NULL, hw_idelta)                                                               \
    X(deriv, 0, 0, w_deriv, NULL)                                                                  \
    X(predict_linear, 0, 0, w_predict_linear, NULL)                                                \
    X(holt_winters, 0, 0, w_holt_winters, NULL)                                                    \
    X(changes, 0, 0, w_changes, NULL)                                                              \
    X(resets, 0, 0, w_resets, NULL)                                                                \
    X(avg_over_time, 0, 0, NULL, hw_avg_over_time)                                                 \
    X(sum_over_time, 0, 0, NULL, hw_sum_over_time)                                                 \
    X(count_over_time, 0, 0, NULL, hw_count_over_time)                                             \
    X(min_over_time, 0, 0, w_min_over_time, NULL)                                                  \
    X(max_over_time, 0, 0, w_max_over_time, NULL)                                                  \
    X(last_over_time, 0, 1, NULL, hw_last_over_time)                                               \
    X(present_over_time, 0, 0, NULL, hw_present_over_time)                                         \
    X(stdvar_over_time, 0, 0, w_stdvar_over_time, NULL)                                            \
    X(stddev_over_time, 0, 0, w_stddev_over_time, NULL)                                            \
    X(quantile_over_time, 1, 0, w_quantile_over_time, NULL)

#define WINDOW_DEF(name, midx, keep_name, fn, hfn) {#name, fn, hfn, midx, keep_name},
static const osp_promql_window_def window_defs[] = {RANGE_FNS(WINDOW_DEF)};
#undef WINDOW_DEF

#define WINDOW_IDX(name, midx, keep_name, fn, hfn) W_##name,
enum { RANGE_FNS(WINDOW_IDX) NWINDOW_DEFS };
#undef WINDOW_IDX

#define STEP_FN(name, midx, keep_name, fn, hfn)                                                    \
    static int fn_##name(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,   \
                         osp_promql_vec *out)                                                      \
    {                                                                                              \
        (void)nargs;                                                                               \
        return over_windows(c, args, &window_defs[W_##name], out);                                 \
    }
RANGE_FNS(STEP_FN)
#undef STEP_FN

#define FN_DEF(name, midx, keep_name, fn, hfn) {#name, fn_##name, 0},
const osp__fn_def osp__fn_range_defs[] = {RANGE_FNS(FN_DEF){NULL, NULL, 0}};
#undef FN_DEF

const osp_promql_window_def *osp_promql_window_lookup(osp_str name)
{
    for (size_t i = 0; i < NWINDOW_DEFS; i++)
        if (osp_str_eqz(name, window_defs[i].name))
            return &window_defs[i];
    return NULL;
}
