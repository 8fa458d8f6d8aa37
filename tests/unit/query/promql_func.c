/* Unit tests for query/promql_func*: every function through osp_promql_fn_lookup with
 * hand-built arguments. Expected values are exact: non-trivial ones were worked out with
 * Prometheus 2.42's formulas and the same order of floating-point operations. */
#include "testutil.h"

#include <math.h>

#include "core/arena.h"
#include "core/err.h"
#include "query/promql_int.h"
#include "query/promql_parse.h"

#include "labeltext.h"

typedef struct fx {
    osp_arena arena;
    char err[256];
    osp_promql_call_ctx c;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    osp_arena_init(&f->arena, 0, 0);
    f->c.arena = &f->arena;
    f->c.err = f->err;
    f->c.errlen = sizeof f->err;
    f->c.t_ms = 60000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    osp_arena_cleanup(&f->arena);
    free(f);
    return 0;
}

static osp_promql_elem el(fx *f, const char *spec, double v)
{
    osp_promql_elem e = {0};
    e.labels = test_labels(&f->arena, spec, &e.nlabels);
    e.t_ms = f->c.t_ms;
    e.v = v;
    return e;
}

static osp_promql_arg scalar_arg(double v)
{
    return (osp_promql_arg){.type = OSP_PROMQL_T_SCALAR, .scalar = v};
}

static osp_promql_arg string_arg(const char *z)
{
    return (osp_promql_arg){.type = OSP_PROMQL_T_STRING, .string = osp_str_c(z)};
}

static osp_promql_arg vec_arg(osp_promql_elem *a, size_t n)
{
    return (osp_promql_arg){.type = OSP_PROMQL_T_VECTOR, .vec = {a, n}};
}

static osp_promql_arg matrix_arg(const osp_series *s, size_t n, int64_t range_ms, int64_t end_ms)
{
    return (osp_promql_arg){.type = OSP_PROMQL_T_MATRIX,
                            .series = s,
                            .nseries = n,
                            .range_ms = range_ms,
                            .end_ms = end_ms};
}

static osp_series series(fx *f, const char *spec, const osp_sample *s, size_t n)
{
    osp_series r = {0};
    r.labels = test_labels(&f->arena, spec, &r.nlabels);
    r.samples = (osp_sample *)s;
    r.nsamples = n;
    return r;
}

static int call(fx *f, const char *name, osp_promql_arg *args, size_t nargs, osp_promql_vec *out)
{
    osp_promql_fn fn = osp_promql_fn_lookup(osp_str_c(name));
    if (!fn)
        fail_msg("no function %s", name);
    f->err[0] = 0;
    return fn(&f->c, args, nargs, out);
}

/* Bitwise-exact comparison (NaN equals NaN, -0 differs from +0). */
static void check_v(double got, double want)
{
    if (isnan(want) ? !isnan(got) : got != want || signbit(got) != signbit(want))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* Exactly one result element with value want. */
static void check_one(fx *f, const char *name, osp_promql_arg *args, size_t nargs, double want)
{
    osp_promql_vec out;
    assert_int_equal(call(f, name, args, nargs, &out), 0);
    if (out.n != 1)
        fail_msg("%s: %zu elements", name, out.n);
    assert_int_equal(out.a[0].t_ms, f->c.t_ms);
    check_v(out.a[0].v, want);
}

/* The value of a one-series window function. */
static void check_window(fx *f, const char *name, const osp_sample *s, size_t n, int64_t range_ms,
                         int64_t end_ms, double want)
{
    osp_series w = series(f, "__name__=m,job=a", s, n);
    osp_promql_arg a = matrix_arg(&w, 1, range_ms, end_ms);
    check_one(f, name, &a, 1, want);
}

static void check_no_result(fx *f, const char *name, osp_promql_arg *args, size_t nargs)
{
    osp_promql_vec out;
    assert_int_equal(call(f, name, args, nargs, &out), 0);
    if (out.n != 0)
        fail_msg("%s: %zu elements, want none", name, out.n);
}

static void check_labels(const osp_promql_elem *e, const char *want)
{
    char buf[256];
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; i < e->nlabels; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%.*s=%.*s", i ? "," : "",
                                OSP_STR_FMT(e->labels[i].name), OSP_STR_FMT(e->labels[i].value));
    if (strcmp(buf, want) != 0)
        fail_msg("labels %s, want %s", buf, want);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_lookup(void **state)
{
    (void)state;
    static const char *const names[] = {"abs",
                                        "absent",
                                        "absent_over_time",
                                        "acos",
                                        "acosh",
                                        "asin",
                                        "asinh",
                                        "atan",
                                        "atanh",
                                        "avg_over_time",
                                        "ceil",
                                        "changes",
                                        "clamp",
                                        "clamp_max",
                                        "clamp_min",
                                        "cos",
                                        "cosh",
                                        "count_over_time",
                                        "day_of_month",
                                        "day_of_week",
                                        "day_of_year",
                                        "days_in_month",
                                        "deg",
                                        "delta",
                                        "deriv",
                                        "exp",
                                        "floor",
                                        "histogram_count",
                                        "histogram_fraction",
                                        "histogram_quantile",
                                        "histogram_stddev",
                                        "histogram_stdvar",
                                        "histogram_sum",
                                        "holt_winters",
                                        "hour",
                                        "idelta",
                                        "increase",
                                        "irate",
                                        "label_join",
                                        "label_replace",
                                        "last_over_time",
                                        "ln",
                                        "log10",
                                        "log2",
                                        "max_over_time",
                                        "min_over_time",
                                        "minute",
                                        "month",
                                        "pi",
                                        "predict_linear",
                                        "present_over_time",
                                        "quantile_over_time",
                                        "rad",
                                        "rate",
                                        "resets",
                                        "round",
                                        "scalar",
                                        "sgn",
                                        "sin",
                                        "sinh",
                                        "sort",
                                        "sort_desc",
                                        "sqrt",
                                        "stddev_over_time",
                                        "stdvar_over_time",
                                        "sum_over_time",
                                        "tan",
                                        "tanh",
                                        "time",
                                        "timestamp",
                                        "vector",
                                        "year"};
    for (size_t i = 0; i < N(names); i++)
        if (!osp_promql_fn_lookup(osp_str_c(names[i])))
            fail_msg("no implementation of %s", names[i]);
    assert_null(osp_promql_fn_lookup(OSP_STR_LIT("nope")));
    assert_null(osp_promql_fn_lookup(OSP_STR_LIT("rat")));
}

/* ---- range functions ---- */

static const osp_sample ramp[] = {{10000, 10}, {20000, 20}, {30000, 30},
                                  {40000, 40}, {50000, 50}, {60000, 60}};

static void test_rate(void **state)
{
    fx *f = *state;
    /* Samples every 10s in (0, 60s]: 10s to the start is within 1.1 steps, so the increase
     * of 50 is extrapolated over the whole minute. */
    check_window(f, "rate", ramp, N(ramp), 60000, 60000, 1.0);
    check_window(f, "increase", ramp, N(ramp), 60000, 60000, 60.0);
    check_window(f, "delta", ramp, N(ramp), 60000, 60000, 60.0);
    /* Counter reset: 10 20 5 15 increases by 10 + 15 (20 added back). */
    static const osp_sample reset[] = {{10000, 10}, {20000, 20}, {30000, 5}, {40000, 15}};
    check_window(f, "increase", reset, N(reset), 40000, 40000, 33.33333333333333);
    check_window(f, "rate", reset, N(reset), 40000, 40000, 0.8333333333333334);
    /* A gauge going down is no reset. */
    static const osp_sample gauge[] = {{10000, 5}, {20000, 3}, {30000, -1}};
    check_window(f, "delta", gauge, N(gauge), 40000, 40000, -12.0);
    /* The series starts 50s into the window: extrapolated by half a step only. */
    static const osp_sample late[] = {{50000, 100}, {55000, 110}, {60000, 120}};
    check_window(f, "increase", late, N(late), 60000, 60000, 25.0);
    /* Counter near zero: extrapolation stops where the counter would reach 0. */
    static const osp_sample low[] = {{30000, 1}, {40000, 11}, {50000, 21}};
    check_window(f, "increase", low, N(low), 60000, 60000, 31.0);
    /* The window end comes from end_ms (offset), not the step time; a 15.5s range. */
    check_window(f, "rate", ramp + 4, 2, 15500, 60000, 1.0);
    f->c.t_ms = 120000;
    check_window(f, "increase", ramp, N(ramp), 60000, 60000, 60.0);
    f->c.t_ms = 60000;
    /* Too few samples, empty windows: no element. */
    osp_series w[2] = {series(f, "__name__=m,a=1", ramp, 1), series(f, "__name__=m,a=2", ramp, 0)};
    osp_promql_arg a = matrix_arg(w, 2, 60000, 60000);
    check_no_result(f, "rate", &a, 1);
    check_no_result(f, "increase", &a, 1);
    check_no_result(f, "delta", &a, 1);
    check_no_result(f, "irate", &a, 1);
    check_no_result(f, "idelta", &a, 1);
    check_no_result(f, "deriv", &a, 1);
    osp_promql_vec out;
    assert_int_equal(call(f, "count_over_time", &a, 1, &out), 0);
    assert_int_equal(out.n, 1);
    check_labels(&out.a[0], "a=1");
}

static void test_rate_labels(void **state)
{
    fx *f = *state;
    osp_series w[2] = {series(f, "__name__=m,a=1", ramp, N(ramp)),
                       series(f, "__name__=m,a=2", ramp, N(ramp))};
    osp_promql_arg a = matrix_arg(w, 2, 60000, 60000);
    osp_promql_vec out;
    assert_int_equal(call(f, "rate", &a, 1, &out), 0);
    assert_int_equal(out.n, 2);
    check_labels(&out.a[0], "a=1");
    check_labels(&out.a[1], "a=2");
    assert_int_equal(call(f, "last_over_time", &a, 1, &out), 0);
    assert_int_equal(out.n, 2);
    check_labels(&out.a[0], "__name__=m,a=1");
    check_v(out.a[0].v, 60);
}

static void test_instant_rates(void **state)
{
    fx *f = *state;
    static const osp_sample s[] = {{10000, 10}, {20000, 30}, {25000, 5}};
    check_window(f, "irate", s, N(s), 60000, 60000, 1.0); /* reset: 5 over 5s */
    check_window(f, "idelta", s, N(s), 60000, 60000, -25.0);
    check_window(f, "irate", s, 2, 60000, 60000, 2.0);
    static const osp_sample same_t[] = {{10000, 1}, {10000, 2}};
    osp_series w = series(f, "__name__=m", same_t, 2);
    osp_promql_arg a = matrix_arg(&w, 1, 60000, 60000);
    check_no_result(f, "irate", &a, 1);
}

static void test_deriv_predict(void **state)
{
    fx *f = *state;
    static const osp_sample s[] = {{0, 1}, {10000, 3}, {20000, 4}, {30000, 8}};
    check_window(f, "deriv", s, N(s), 60000, 30000, 0.22);
    f->c.t_ms = 30000;
    osp_series w = series(f, "__name__=m", s, N(s));
    osp_promql_arg a[2] = {matrix_arg(&w, 1, 60000, 30000), scalar_arg(600)};
    check_one(f, "predict_linear", a, 2, 139.3);
    /* Constant values: slope 0; constant infinities: NaN. */
    static const osp_sample flat[] = {{0, 5}, {10000, 5}};
    check_window(f, "deriv", flat, 2, 60000, 30000, 0);
    static const osp_sample inf[] = {{0, INFINITY}, {10000, INFINITY}};
    check_window(f, "deriv", inf, 2, 60000, 30000, NAN);
    f->c.t_ms = 60000;
}

static void test_over_time(void **state)
{
    fx *f = *state;
    static const osp_sample s[] = {{10000, 1}, {20000, 2}, {30000, 4}};
    check_window(f, "avg_over_time", s, N(s), 60000, 60000, 2.333333333333333);
    check_window(f, "sum_over_time", s, N(s), 60000, 60000, 7);
    check_window(f, "count_over_time", s, N(s), 60000, 60000, 3);
    check_window(f, "min_over_time", s, N(s), 60000, 60000, 1);
    check_window(f, "max_over_time", s, N(s), 60000, 60000, 4);
    check_window(f, "last_over_time", s, N(s), 60000, 60000, 4);
    check_window(f, "present_over_time", s, N(s), 60000, 60000, 1);
    check_window(f, "stdvar_over_time", s, N(s), 60000, 60000, 1.5555555555555554);
    check_window(f, "stddev_over_time", s, N(s), 60000, 60000, 1.247219128924647);
    /* Kahan: 0.1 + 0.2 + 0.3 is 0.6, the plain sum 0.6000000000000001. */
    static const osp_sample tenths[] = {{10000, 0.1}, {20000, 0.2}, {30000, 0.3}};
    check_window(f, "sum_over_time", tenths, 3, 60000, 60000, 0.6);
    check_window(f, "avg_over_time", tenths, 3, 60000, 60000, 0.19999999999999998);
    /* An infinite mean survives finite values; NaN is replaced in min and max. */
    static const osp_sample inf[] = {{10000, 1}, {20000, INFINITY}, {30000, 3}};
    check_window(f, "avg_over_time", inf, 3, 60000, 60000, INFINITY);
    check_window(f, "sum_over_time", inf, 3, 60000, 60000, INFINITY);
    static const osp_sample nan[] = {{10000, NAN}, {20000, 2}, {30000, 1}};
    check_window(f, "min_over_time", nan, 3, 60000, 60000, 1);
    check_window(f, "max_over_time", nan, 3, 60000, 60000, 2);
    check_window(f, "max_over_time", nan, 1, 60000, 60000, NAN);
}

static void test_quantile_over_time(void **state)
{
    fx *f = *state;
    static const osp_sample s[] = {{10000, 3}, {20000, 1}, {30000, 2}, {40000, 10}};
    osp_series w = series(f, "__name__=m", s, N(s));
    osp_promql_arg a[2] = {scalar_arg(0.5), matrix_arg(&w, 1, 60000, 60000)};
    check_one(f, "quantile_over_time", a, 2, 2.5);
    a[0].scalar = 0.9;
    check_one(f, "quantile_over_time", a, 2, 7.900000000000001);
    a[0].scalar = 0;
    check_one(f, "quantile_over_time", a, 2, 1);
    a[0].scalar = 1;
    check_one(f, "quantile_over_time", a, 2, 10);
    a[0].scalar = -0.5;
    check_one(f, "quantile_over_time", a, 2, -INFINITY);
    a[0].scalar = 1.5;
    check_one(f, "quantile_over_time", a, 2, INFINITY);
    a[0].scalar = NAN;
    check_one(f, "quantile_over_time", a, 2, NAN);
    static const osp_sample one[] = {{10000, 7}};
    w = series(f, "__name__=m", one, 1);
    a[0].scalar = 0.3;
    check_one(f, "quantile_over_time", a, 2, 7);
}

static void test_changes_resets(void **state)
{
    fx *f = *state;
    static const osp_sample s[] = {{1000, 1},   {2000, 1},   {3000, 2}, {4000, 0},
                                   {5000, NAN}, {6000, NAN}, {7000, 3}};
    check_window(f, "changes", s, N(s), 60000, 60000, 4);
    check_window(f, "resets", s, N(s), 60000, 60000, 1);
    check_window(f, "changes", s, 1, 60000, 60000, 0);
}

static void test_holt_winters(void **state)
{
    fx *f = *state;
    static const osp_sample s[] = {{10000, 1}, {20000, 3}, {30000, 4}, {40000, 8}};
    osp_series w = series(f, "__name__=m", s, N(s));
    osp_promql_arg a[3] = {matrix_arg(&w, 1, 60000, 60000), scalar_arg(0.5), scalar_arg(0.3)};
    check_one(f, "holt_winters", a, 3, 7.175);
    w.nsamples = 1;
    check_no_result(f, "holt_winters", a, 3);
    osp_promql_vec out;
    a[1].scalar = 1.5;
    assert_int_equal(call(f, "holt_winters", a, 3, &out), OSP_EEXEC);
    assert_string_equal(f->err, "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.500000");
    a[1].scalar = 0.5;
    a[2].scalar = 0;
    assert_int_equal(call(f, "holt_winters", a, 3, &out), OSP_EEXEC);
    assert_string_equal(f->err, "invalid trend factor. Expected: 0 < tf < 1, got: 0.000000");
    a[2].scalar = INFINITY;
    assert_int_equal(call(f, "holt_winters", a, 3, &out), OSP_EEXEC);
    assert_string_equal(f->err, "invalid trend factor. Expected: 0 < tf < 1, got: +Inf");
    /* Prometheus only checks when it has a window to smooth. */
    w.nsamples = 0;
    check_no_result(f, "holt_winters", a, 3);
}

/* ---- absent ---- */

static void parse_call(fx *f, const char *q)
{
    osp_promql_expr *e;
    char err[128];
    if (osp_promql_parse(osp_str_c(q), &f->arena, &e, err, sizeof err) != 0)
        fail_msg("%s: %s", q, err);
    f->c.call = e;
}

static void test_absent(void **state)
{
    fx *f = *state;
    osp_promql_vec out;
    osp_promql_elem e = el(f, "__name__=foo", 1);
    osp_promql_arg a = vec_arg(&e, 1);
    parse_call(f, "absent(foo{a=\"b\",c=~\"x\",a=\"d\",e=\"f\",g=\"\"})");
    check_no_result(f, "absent", &a, 1);
    a.vec.n = 0;
    assert_int_equal(call(f, "absent", &a, 1, &out), 0);
    assert_int_equal(out.n, 1);
    check_v(out.a[0].v, 1);
    check_labels(&out.a[0], "e=f");
    parse_call(f, "absent({__name__=\"x\",e=\"f\"})");
    assert_int_equal(call(f, "absent", &a, 1, &out), 0);
    check_labels(&out.a[0], "e=f");
    parse_call(f, "absent((x{job=\"j\",inst=\"i\"}))");
    assert_int_equal(call(f, "absent", &a, 1, &out), 0);
    check_labels(&out.a[0], "inst=i,job=j");
    parse_call(f, "absent(sum(x{job=\"j\"}))");
    assert_int_equal(call(f, "absent", &a, 1, &out), 0);
    check_labels(&out.a[0], "");
    f->c.call = NULL;
    assert_int_equal(call(f, "absent", &a, 1, &out), 0);
    check_labels(&out.a[0], "");
}

static void test_absent_over_time(void **state)
{
    fx *f = *state;
    osp_promql_vec out;
    parse_call(f, "absent_over_time(foo{job=\"j\"}[1m])");
    osp_series w[2] = {series(f, "__name__=foo,job=j", ramp, 0),
                       series(f, "__name__=foo,job=j,x=y", ramp, 0)};
    osp_promql_arg a = matrix_arg(w, 2, 60000, 60000);
    assert_int_equal(call(f, "absent_over_time", &a, 1, &out), 0);
    assert_int_equal(out.n, 1);
    check_labels(&out.a[0], "job=j");
    check_v(out.a[0].v, 1);
    a.nseries = 0;
    assert_int_equal(call(f, "absent_over_time", &a, 1, &out), 0);
    assert_int_equal(out.n, 1);
    a.nseries = 2;
    w[1].nsamples = 1;
    check_no_result(f, "absent_over_time", &a, 1);
    f->c.call = NULL;
}

/* ---- instant functions ---- */

static void check_math(fx *f, const char *name, double in, double want)
{
    osp_promql_elem e = el(f, "__name__=m,a=b", in);
    osp_promql_arg a = vec_arg(&e, 1);
    osp_promql_vec out;
    assert_int_equal(call(f, name, &a, 1, &out), 0);
    assert_int_equal(out.n, 1);
    check_labels(&out.a[0], "a=b");
    if (isnan(want) ? !isnan(out.a[0].v) : out.a[0].v != want)
        fail_msg("%s(%.17g) = %.17g, want %.17g", name, in, out.a[0].v, want);
}

static void test_math(void **state)
{
    fx *f = *state;
    check_math(f, "abs", -2.5, 2.5);
    check_math(f, "ceil", 1.2, 2);
    check_math(f, "floor", -1.2, -2);
    check_math(f, "exp", 0, 1);
    check_math(f, "sqrt", 16, 4);
    check_math(f, "sqrt", -1, NAN);
    check_math(f, "ln", 1, 0);
    check_math(f, "ln", 0, -INFINITY);
    check_math(f, "log2", 8, 3);
    check_math(f, "log2", 10, 3.321928094887362);
    check_math(f, "log2", INFINITY, INFINITY);
    check_math(f, "log10", 100, 2);
    check_math(f, "sgn", -3, -1);
    check_math(f, "sgn", 0.5, 1);
    check_math(f, "sgn", NAN, NAN);
    check_math(f, "deg", M_PI, 180);
    check_math(f, "rad", 180, M_PI);
    check_math(f, "sin", 0, 0);
    check_math(f, "cos", 0, 1);
    check_math(f, "tan", 0, 0);
    check_math(f, "asin", 0, 0);
    check_math(f, "acos", 1, 0);
    check_math(f, "atan", 0, 0);
    check_math(f, "sinh", 0, 0);
    check_math(f, "cosh", 0, 1);
    check_math(f, "tanh", INFINITY, 1);
    check_math(f, "asinh", 0, 0);
    check_math(f, "acosh", 1, 0);
    check_math(f, "atanh", 0, 0);
    check_math(f, "atanh", 2, NAN);
}

static void test_round(void **state)
{
    fx *f = *state;
    osp_promql_elem e[4] = {el(f, "__name__=m,i=1", 2.5), el(f, "__name__=m,i=2", -2.5),
                            el(f, "__name__=m,i=3", 1.234), el(f, "__name__=m,i=4", NAN)};
    osp_promql_arg a[2] = {vec_arg(e, 4), scalar_arg(0.1)};
    osp_promql_vec out;
    assert_int_equal(call(f, "round", a, 1, &out), 0);
    assert_int_equal(out.n, 4);
    check_v(out.a[0].v, 3);
    check_v(out.a[1].v, -2);
    check_v(out.a[2].v, 1);
    check_v(out.a[3].v, NAN);
    check_labels(&out.a[0], "i=1");
    assert_int_equal(call(f, "round", a, 2, &out), 0);
    check_v(out.a[2].v, 1.2);
    check_v(out.a[0].v, 2.5);
    a[1].scalar = 5;
    assert_int_equal(call(f, "round", a, 2, &out), 0);
    check_v(out.a[0].v, 5);
    check_v(out.a[2].v, 0);
}

static void test_clamp(void **state)
{
    fx *f = *state;
    osp_promql_elem e[4] = {el(f, "__name__=m,i=1", -5), el(f, "__name__=m,i=2", 5),
                            el(f, "__name__=m,i=3", 50), el(f, "__name__=m,i=4", NAN)};
    osp_promql_arg a[3] = {vec_arg(e, 4), scalar_arg(0), scalar_arg(10)};
    osp_promql_vec out;
    assert_int_equal(call(f, "clamp", a, 3, &out), 0);
    assert_int_equal(out.n, 4);
    check_v(out.a[0].v, 0);
    check_v(out.a[1].v, 5);
    check_v(out.a[2].v, 10);
    check_v(out.a[3].v, NAN);
    check_labels(&out.a[2], "i=3");
    assert_int_equal(call(f, "clamp_min", a, 2, &out), 0);
    check_v(out.a[0].v, 0);
    check_v(out.a[2].v, 50);
    check_v(out.a[3].v, NAN);
    a[1].scalar = 10;
    assert_int_equal(call(f, "clamp_max", a, 2, &out), 0);
    check_v(out.a[0].v, -5);
    check_v(out.a[2].v, 10);
    /* min > max: nothing; a +Inf bound beats NaN as Go's math.Max. */
    a[1].scalar = 11;
    check_no_result(f, "clamp", a, 3);
    a[1].scalar = INFINITY;
    assert_int_equal(call(f, "clamp_min", a, 2, &out), 0);
    check_v(out.a[3].v, INFINITY);
    /* signed zeros: max(0, -0) is +0 */
    e[0].v = -0.0;
    a[1].scalar = 0;
    assert_int_equal(call(f, "clamp_min", a, 2, &out), 0);
    check_v(out.a[0].v, 0.0);
}

static void test_scalars(void **state)
{
    fx *f = *state;
    osp_promql_vec out;
    osp_promql_arg s = scalar_arg(4.5);
    assert_int_equal(call(f, "vector", &s, 1, &out), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.a[0].nlabels, 0);
    check_v(out.a[0].v, 4.5);
    f->c.t_ms = 1500;
    check_one(f, "time", NULL, 0, 1.5);
    f->c.t_ms = 60000;
    check_one(f, "pi", NULL, 0, M_PI);
    osp_promql_elem e[2] = {el(f, "__name__=m,i=1", 7), el(f, "__name__=m,i=2", 8)};
    osp_promql_arg v = vec_arg(e, 1);
    check_one(f, "scalar", &v, 1, 7);
    v.vec.n = 2;
    check_one(f, "scalar", &v, 1, NAN);
    v.vec.n = 0;
    check_one(f, "scalar", &v, 1, NAN);
}

static void test_timestamp(void **state)
{
    fx *f = *state;
    osp_promql_elem e = el(f, "__name__=m,a=b", 3);
    e.t_ms = 12345;
    osp_promql_arg a = vec_arg(&e, 1);
    osp_promql_vec out;
    assert_int_equal(call(f, "timestamp", &a, 1, &out), 0);
    assert_int_equal(out.n, 1);
    check_v(out.a[0].v, 12.345);
    assert_int_equal(out.a[0].t_ms, 60000);
    check_labels(&out.a[0], "a=b");
}

static void test_sort(void **state)
{
    fx *f = *state;
    osp_promql_elem e[5] = {el(f, "__name__=m,i=1", NAN), el(f, "__name__=m,i=2", 3),
                            el(f, "__name__=m,i=3", 1), el(f, "__name__=m,i=4", NAN),
                            el(f, "__name__=m,i=5", 3)};
    osp_promql_arg a = vec_arg(e, 5);
    osp_promql_vec out;
    assert_int_equal(call(f, "sort", &a, 1, &out), 0);
    assert_int_equal(out.n, 5);
    /* NaN last (in reverse input order, as Go's insertion sort leaves them), ties stable,
     * names kept */
    static const char *const asc[] = {"__name__=m,i=3", "__name__=m,i=2", "__name__=m,i=5",
                                      "__name__=m,i=4", "__name__=m,i=1"};
    for (size_t i = 0; i < 5; i++)
        check_labels(&out.a[i], asc[i]);
    assert_int_equal(call(f, "sort_desc", &a, 1, &out), 0);
    static const char *const desc[] = {"__name__=m,i=2", "__name__=m,i=5", "__name__=m,i=3",
                                       "__name__=m,i=4", "__name__=m,i=1"};
    for (size_t i = 0; i < 5; i++)
        check_labels(&out.a[i], desc[i]);
    a.vec.n = 0;
    check_no_result(f, "sort", &a, 1);
}

/* ---- dates ---- */

static void check_date(fx *f, const char *name, double t, double want)
{
    osp_promql_elem e = el(f, "__name__=m", t);
    osp_promql_arg a = vec_arg(&e, 1);
    osp_promql_vec out;
    assert_int_equal(call(f, name, &a, 1, &out), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.a[0].nlabels, 0);
    if (out.a[0].v != want)
        fail_msg("%s(%.17g) = %.17g, want %.17g", name, t, out.a[0].v, want);
}

static void test_dates(void **state)
{
    fx *f = *state;
    double t = 1582977600.9; /* 2020-02-29 12:00:00 UTC, a Saturday; fractions truncate */
    check_date(f, "day_of_month", t, 29);
    check_date(f, "day_of_week", t, 6);
    check_date(f, "day_of_year", t, 60);
    check_date(f, "days_in_month", t, 29);
    check_date(f, "hour", t, 12);
    check_date(f, "minute", t, 0);
    check_date(f, "month", t, 2);
    check_date(f, "year", t, 2020);
    check_date(f, "minute", 1582977600 + 59 * 60 + 59, 59);
    check_date(f, "day_of_week", 0, 4); /* 1970-01-01, a Thursday */
    check_date(f, "days_in_month", 0, 31);
    /* -1.5 truncates to -1: 1969-12-31 23:59:59, a Wednesday */
    check_date(f, "year", -1.5, 1969);
    check_date(f, "day_of_year", -1.5, 365);
    check_date(f, "day_of_week", -1.5, 3);
    check_date(f, "hour", -1.5, 23);
    check_date(f, "days_in_month", 951825600, 29);  /* 2000-02-29 */
    check_date(f, "days_in_month", 4107456000, 28); /* 2100-02-28 */
    check_date(f, "day_of_year", 4133894400, 365);  /* 2100-12-31 */
    check_date(f, "month", 253402300799, 12);       /* 9999-12-31 23:59:59 */
    check_date(f, "year", -62135596800, 1);         /* 0001-01-01 */
    check_date(f, "year", -62135596801, 0);
    /* No argument: vector(time()) */
    f->c.t_ms = 1582977600999;
    check_one(f, "hour", NULL, 0, 12);
    check_one(f, "day_of_month", NULL, 0, 29);
    f->c.t_ms = 60000;
}

/* ---- labels ---- */

static void test_label_replace(void **state)
{
    fx *f = *state;
    osp_promql_elem e[3] = {el(f, "__name__=up,instance=host-1:9090,job=a", 1),
                            el(f, "__name__=up,instance=other,job=b", 2),
                            el(f, "__name__=up,job=c", 3)};
    osp_promql_arg a[5] = {vec_arg(e, 3), string_arg("host"), string_arg("$1-${2}x$$"),
                           string_arg("instance"), string_arg("([a-z]+)-([0-9]+):.*")};
    osp_promql_vec out;
    assert_int_equal(call(f, "label_replace", a, 5, &out), 0);
    assert_int_equal(out.n, 3);
    check_labels(&out.a[0], "__name__=up,host=host-1x$,instance=host-1:9090,job=a");
    check_labels(&out.a[1], "__name__=up,instance=other,job=b"); /* no match: unchanged */
    check_labels(&out.a[2], "__name__=up,job=c");
    check_v(out.a[0].v, 1);
    check_v(out.a[1].v, 2);
    /* Full match only (anchored); $0, missing and named groups, malformed references. */
    a[4] = string_arg("[a-z]+-[0-9]");
    assert_int_equal(call(f, "label_replace", a, 5, &out), 0);
    check_labels(&out.a[0], "__name__=up,instance=host-1:9090,job=a");
    a[4] = string_arg("(.*):(.*)");
    a[2] = string_arg("<$0|$3|$name|${1}0|$10|$-|${2>");
    assert_int_equal(call(f, "label_replace", a, 5, &out), 0);
    check_labels(&out.a[0],
                 "__name__=up,host=<host-1:9090|||host-10||$-|${2>,instance=host-1:9090,job=a");
    /* RE2: named groups, flags, Perl classes; "." does not match a newline. */
    a[4] = string_arg("(?i)(?P<name>HOST)-(?:\\d+):.*");
    a[2] = string_arg("$name/${name}/$1/$2");
    assert_int_equal(call(f, "label_replace", a, 5, &out), 0);
    check_labels(&out.a[0], "__name__=up,host=host/host/host/,instance=host-1:9090,job=a");
    osp_promql_elem nl = el(f, "__name__=up,instance=a\nb", 4);
    a[0] = vec_arg(&nl, 1);
    a[2] = string_arg("$1");
    a[4] = string_arg("(.*)");
    assert_int_equal(call(f, "label_replace", a, 5, &out), 0);
    check_labels(&out.a[0], "__name__=up,instance=a\nb");
    a[4] = string_arg("(?s)(.*)");
    assert_int_equal(call(f, "label_replace", a, 5, &out), 0);
    check_labels(&out.a[0], "__name__=up,host=a\nb,instance=a\nb");
    a[0] = vec_arg(e, 3);
    /* An empty result removes the label; the source may be __name__, the target too. */
    a[1] = string_arg("job");
    a[2] = string_arg("$1");
    a[3] = string_arg("nolabel");
    a[4] = string_arg("(.*)");
    assert_int_equal(call(f, "label_replace", a, 5, &out), 0);
    check_labels(&out.a[0], "__name__=up,instance=host-1:9090");
    a[1] = string_arg("__name__");
    a[2] = string_arg("new_$1");
    a[3] = string_arg("__name__");
    assert_int_equal(call(f, "label_replace", a, 5, &out), 0);
    check_labels(&out.a[2], "__name__=new_up,job=c");
    /* Errors, even for an empty vector: the regex first, then the target. */
    a[0].vec.n = 0;
    a[4] = string_arg("(.*");
    assert_int_equal(call(f, "label_replace", a, 5, &out), OSP_EEXEC);
    assert_string_equal(f->err, "invalid regular expression in label_replace(): (.*");
    a[4] = string_arg("a)|(b");
    assert_int_equal(call(f, "label_replace", a, 5, &out), OSP_EEXEC);
    a[1] = string_arg("1bad");
    a[4] = string_arg(".*");
    assert_int_equal(call(f, "label_replace", a, 5, &out), OSP_EEXEC);
    assert_string_equal(f->err, "invalid destination label name in label_replace(): 1bad");
    a[1] = string_arg("");
    assert_int_equal(call(f, "label_replace", a, 5, &out), OSP_EEXEC);
}

static void test_label_join(void **state)
{
    fx *f = *state;
    osp_promql_elem e[2] = {el(f, "__name__=up,a=x,b=y,dst=old", 1), el(f, "__name__=up,c=z", 2)};
    osp_promql_arg a[6] = {vec_arg(e, 2),   string_arg("dst"),  string_arg("-"),
                           string_arg("a"), string_arg("nope"), string_arg("b")};
    osp_promql_vec out;
    assert_int_equal(call(f, "label_join", a, 6, &out), 0);
    assert_int_equal(out.n, 2);
    check_labels(&out.a[0], "__name__=up,a=x,b=y,dst=x--y");
    check_labels(&out.a[1], "__name__=up,c=z,dst=--");
    check_v(out.a[1].v, 2);
    /* One empty source: the target goes; no sources at all: the same. */
    assert_int_equal(call(f, "label_join", a, 4, &out), 0);
    check_labels(&out.a[1], "__name__=up,c=z");
    assert_int_equal(call(f, "label_join", a, 3, &out), 0);
    check_labels(&out.a[0], "__name__=up,a=x,b=y");
    a[4] = string_arg("bad-name");
    assert_int_equal(call(f, "label_join", a, 6, &out), OSP_EEXEC);
    assert_string_equal(f->err, "invalid source label name in label_join(): bad-name");
    a[4] = string_arg("a");
    a[1] = string_arg("9");
    assert_int_equal(call(f, "label_join", a, 6, &out), OSP_EEXEC);
    assert_string_equal(f->err, "invalid destination label name in label_join(): 9");
}

/* ---- histograms ---- */

static double hq(fx *f, double q, osp_promql_elem *e, size_t n, const char *want_labels)
{
    osp_promql_arg a[2] = {scalar_arg(q), vec_arg(e, n)};
    osp_promql_vec out;
    assert_int_equal(call(f, "histogram_quantile", a, 2, &out), 0);
    if (out.n != 1)
        fail_msg("histogram_quantile: %zu elements", out.n);
    check_labels(&out.a[0], want_labels);
    return out.a[0].v;
}

static void test_histogram_quantile(void **state)
{
    fx *f = *state;
    /* Unsorted buckets. */
    osp_promql_elem e[4] = {
        el(f, "__name__=h_bucket,job=a,le=1", 6), el(f, "__name__=h_bucket,job=a,le=+Inf", 10),
        el(f, "__name__=h_bucket,job=a,le=0.1", 1), el(f, "__name__=h_bucket,job=a,le=0.5", 3)};
    check_v(hq(f, 0.5, e, 4, "job=a"), 0.8333333333333333);
    check_v(hq(f, 0.05, e, 4, "job=a"), 0.05);
    check_v(hq(f, 0.99, e, 4, "job=a"), 1); /* in the +Inf bucket: the highest finite bound */
    check_v(hq(f, 1, e, 4, "job=a"), 1);
    check_v(hq(f, -0.1, e, 4, "job=a"), -INFINITY);
    check_v(hq(f, 1.1, e, 4, "job=a"), INFINITY);
    check_v(hq(f, NAN, e, 4, "job=a"), NAN);
    /* No +Inf bucket. */
    check_v(hq(f, 0.5, e + 2, 2, "job=a"), NAN);
    /* Non-monotonic counts are raised to the running maximum. */
    osp_promql_elem m[3] = {el(f, "__name__=h,le=1", 5), el(f, "__name__=h,le=2", 3),
                            el(f, "__name__=h,le=+Inf", 10)};
    check_v(hq(f, 0.5, m, 3, ""), 1);
    check_v(hq(f, 0.6, m, 3, ""), 2);
    /* Only the +Inf bucket; no observations. */
    check_v(hq(f, 0.5, m + 2, 1, ""), NAN);
    osp_promql_elem z[2] = {el(f, "__name__=h,le=1", 0), el(f, "__name__=h,le=+Inf", 0)};
    check_v(hq(f, 0.5, z, 2, ""), NAN);
    /* Equal bounds add up (+Inf and inf both parse); le missing or bad: ignored. */
    osp_promql_elem d[5] = {el(f, "__name__=h,le=1", 2), el(f, "__name__=h,le=+Inf", 4),
                            el(f, "__name__=h,le=inf", 6), el(f, "__name__=h", 100),
                            el(f, "__name__=h,le=abc", 100)};
    check_v(hq(f, 0.5, d, 5, ""), 1);
    check_v(hq(f, 0.1, d, 5, ""), 0.5);
    /* A first bucket with a bound <= 0 gives that bound. */
    osp_promql_elem n[3] = {el(f, "__name__=h,le=-1", 2), el(f, "__name__=h,le=1", 4),
                            el(f, "__name__=h,le=+Inf", 4)};
    check_v(hq(f, 0.25, n, 3, ""), -1);
    check_v(hq(f, 0.75, n, 3, ""), 0);
    /* Groups by everything but le, the metric name included. */
    osp_promql_elem g[6] = {
        el(f, "__name__=h,job=b,le=1", 4),    el(f, "__name__=h,job=a,le=1", 1),
        el(f, "__name__=h,job=b,le=+Inf", 4), el(f, "__name__=h,job=a,le=+Inf", 2),
        el(f, "__name__=g,job=a,le=1e0", 1),  el(f, "__name__=g,job=a,le=0x1p3", 1)};
    osp_promql_arg a[2] = {scalar_arg(0.5), vec_arg(g, 6)};
    osp_promql_vec out;
    assert_int_equal(call(f, "histogram_quantile", a, 2, &out), 0);
    assert_int_equal(out.n, 3);
    check_labels(&out.a[0], "job=a"); /* g: no +Inf bucket */
    check_v(out.a[0].v, NAN);
    check_labels(&out.a[1], "job=a");
    check_v(out.a[1].v, 1);
    check_labels(&out.a[2], "job=b");
    check_v(out.a[2].v, 0.5);
    a[1].vec.n = 0;
    check_no_result(f, "histogram_quantile", a, 2);
}

static void test_native_histogram_fns(void **state)
{
    fx *f = *state;
    osp_promql_elem e = el(f, "__name__=h_count", 5);
    osp_promql_arg v = vec_arg(&e, 1);
    check_no_result(f, "histogram_count", &v, 1);
    check_no_result(f, "histogram_sum", &v, 1);
    check_no_result(f, "histogram_stddev", &v, 1);
    check_no_result(f, "histogram_stdvar", &v, 1);
    osp_promql_arg a[3] = {scalar_arg(0), scalar_arg(1), v};
    check_no_result(f, "histogram_fraction", a, 3);
}

/* ---- native histograms ---- */

/* A schema-0 histogram with the zero bucket [-0.001, 0.001] and the buckets (0.5, 1] and
 * (1, 2], in f's arena. */
static osp_histogram *mkh(fx *f, double zero, double b0, double b1, double sum)
{
    osp_histogram *h = osp_arena_calloc(&f->arena, 1, sizeof *h);
    osp_hist_span *sp = osp_arena_alloc(&f->arena, sizeof *sp);
    double *b = osp_arena_alloc(&f->arena, 2 * sizeof *b);
    assert_true(h && sp && b);
    *sp = (osp_hist_span){0, 2};
    b[0] = b0;
    b[1] = b1;
    *h = (osp_histogram){.zero_threshold = 0.001,
                         .zero_count = zero,
                         .count = zero + b0 + b1,
                         .sum = sum,
                         .pspans = sp,
                         .npspans = 1,
                         .pbuckets = b,
                         .npbuckets = 2};
    return h;
}

static osp_promql_elem hel(fx *f, const char *spec, const osp_histogram *h)
{
    osp_promql_elem e = el(f, spec, 0);
    e.h = h;
    return e;
}

static void test_sees_histograms(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "absent",           "histogram_count",  "histogram_fraction", "histogram_quantile",
        "histogram_stddev", "histogram_stdvar", "histogram_sum",      "label_join",
        "label_replace",    "timestamp"};
    static const char *const no[] = {"abs", "sort", "scalar", "clamp", "rate", "round", "nope"};
    for (size_t i = 0; i < N(yes); i++)
        if (!osp_promql_fn_sees_histograms(osp_str_c(yes[i])))
            fail_msg("%s should see histograms", yes[i]);
    for (size_t i = 0; i < N(no); i++)
        if (osp_promql_fn_sees_histograms(osp_str_c(no[i])))
            fail_msg("%s should not see histograms", no[i]);
}

static void test_native_histogram_values(void **state)
{
    fx *f = *state;
    /* zero 5, (0.5,1] 10, (1,2] 5: count 20, sum 25 */
    const osp_histogram *h = mkh(f, 5, 10, 5, 25);
    osp_promql_elem e[2] = {el(f, "__name__=h_count,job=a", 7), hel(f, "__name__=h,job=b", h)};
    osp_promql_arg v = vec_arg(e, 2);
    static const struct {
        const char *fn;
        double want;
    } cases[] = {{"histogram_count", 20},
                 {"histogram_sum", 25},
                 /* at the geometric middles 0, sqrt(0.5), sqrt(2) around the mean 1.25 */
                 {"histogram_stdvar", 0.544733047},
                 {"histogram_stddev", 0.7380603275}};
    osp_promql_vec out;
    for (size_t i = 0; i < N(cases); i++) {
        assert_int_equal(call(f, cases[i].fn, &v, 1, &out), 0);
        assert_int_equal(out.n, 1);
        check_labels(&out.a[0], "job=b");
        assert_null(out.a[0].h);
        if (fabs(out.a[0].v - cases[i].want) > 1e-9)
            fail_msg("%s: %.17g, want %.10g", cases[i].fn, out.a[0].v, cases[i].want);
    }
    /* [-1, 1] holds the zero bucket and (0.5, 1]: 15 of 20 */
    osp_promql_arg fa[3] = {scalar_arg(-1), scalar_arg(1), v};
    assert_int_equal(call(f, "histogram_fraction", fa, 3, &out), 0);
    assert_int_equal(out.n, 1);
    check_labels(&out.a[0], "job=b");
    check_v(out.a[0].v, 0.75);
    /* timestamp reads a histogram element's time; label_replace passes it on */
    e[1].t_ms = 12345;
    osp_promql_arg one = vec_arg(&e[1], 1);
    assert_int_equal(call(f, "timestamp", &one, 1, &out), 0);
    assert_int_equal(out.n, 1);
    check_v(out.a[0].v, 12.345);
    assert_null(out.a[0].h);
    osp_promql_arg lr[5] = {one, string_arg("x"), string_arg("$1"), string_arg("job"),
                            string_arg("(.*)")};
    assert_int_equal(call(f, "label_replace", lr, 5, &out), 0);
    assert_int_equal(out.n, 1);
    check_labels(&out.a[0], "__name__=h,job=b,x=b");
    assert_ptr_equal(out.a[0].h, h);
    osp_promql_arg lj[4] = {one, string_arg("y"), string_arg(","), string_arg("job")};
    assert_int_equal(call(f, "label_join", lj, 4, &out), 0);
    check_labels(&out.a[0], "__name__=h,job=b,y=b");
    assert_ptr_equal(out.a[0].h, h);
    check_no_result(f, "absent", &one, 1);
}

static void test_native_histogram_quantile(void **state)
{
    fx *f = *state;
    /* classic buckets of h_bucket{job="a"}: rank 5 of 10 in (0, 1] holding 6: 5/6; c{job="b"}
     * has buckets and a native histogram with its very labels: neither counts; the native
     * n{job="n"}: rank 10 in (0.5, 1] after the zero bucket's 5: 0.5 + 0.5 * 5/10 */
    osp_promql_elem e[6] = {el(f, "__name__=h_bucket,job=a,le=1", 6),
                            el(f, "__name__=h_bucket,job=a,le=+Inf", 10),
                            el(f, "__name__=c,job=b,le=1", 1),
                            el(f, "__name__=c,job=b,le=+Inf", 2),
                            hel(f, "__name__=c,job=b", mkh(f, 1, 1, 0, 1)),
                            hel(f, "__name__=n,job=n", mkh(f, 5, 10, 5, 25))};
    osp_promql_arg a[2] = {scalar_arg(0.5), vec_arg(e, 6)};
    osp_promql_vec out;
    assert_int_equal(call(f, "histogram_quantile", a, 2, &out), 0);
    assert_int_equal(out.n, 2);
    check_labels(&out.a[0], "job=a");
    check_v(out.a[0].v, 0.8333333333333334);
    check_labels(&out.a[1], "job=n");
    check_v(out.a[1].v, 0.75);
    /* the native histogram alone */
    a[1] = vec_arg(e + 4, 2);
    assert_int_equal(call(f, "histogram_quantile", a, 2, &out), 0);
    assert_int_equal(out.n, 2);
    check_labels(&out.a[0], "job=b");
    /* rank 1 of 2 fills the zero bucket, which counts as [0, 0.001] next to positive
     * buckets only */
    check_v(out.a[0].v, 0.001);
    check_labels(&out.a[1], "job=n");
    check_v(out.a[1].v, 0.75);
}

/* A window of histograms with only a zero bucket, holding count[i] at t[i]. */
static osp_series hist_window(fx *f, const int64_t *t, const double *count, size_t n)
{
    osp_hsample *hs = osp_arena_alloc(&f->arena, n * sizeof *hs);
    assert_non_null(hs);
    for (size_t i = 0; i < n; i++)
        hs[i] = (osp_hsample){t[i], mkh(f, count[i], 0, 0, count[i])};
    osp_series w = series(f, "__name__=m,job=a", NULL, 0);
    w.hsamples = hs;
    w.nhsamples = n;
    return w;
}

/* The one histogram a window function gives over w. */
static const osp_histogram *one_hist(fx *f, const char *fn, const osp_series *w, int64_t range)
{
    osp_promql_arg a = matrix_arg(w, 1, range, 60000);
    osp_promql_vec out;
    assert_int_equal(call(f, fn, &a, 1, &out), 0);
    if (out.n != 1 || !out.a[0].h)
        fail_msg("%s: %zu elements, want one histogram", fn, out.n);
    return out.a[0].h;
}

static void test_native_histogram_windows(void **state)
{
    fx *f = *state;
    /* counts 10 20 5 15 at 30s..60s in (20s, 60s]: as the floats, 5 + 20 (added back at the
     * reset) extrapolated by 10s at the start: 25 * 40 / 30 */
    static const int64_t t[] = {30000, 40000, 50000, 60000};
    static const double c[] = {10, 20, 5, 15};
    osp_series w = hist_window(f, t, c, 4);
    const osp_histogram *h = one_hist(f, "increase", &w, 40000);
    check_v(h->count, 33.33333333333333);
    check_v(h->zero_count, 33.33333333333333);
    check_v(h->sum, 33.33333333333333);
    assert_int_equal(h->hint, OSP_HIST_HINT_GAUGE);
    check_v(one_hist(f, "rate", &w, 40000)->count, 0.8333333333333334);
    /* delta knows no resets: 15 - 10 */
    check_v(one_hist(f, "delta", &w, 40000)->count, 6.666666666666666);
    /* irate and idelta: 5 -> 15 over the last 10 s */
    check_v(one_hist(f, "irate", &w, 40000)->count, 1);
    check_v(one_hist(f, "idelta", &w, 40000)->count, 10);
    check_v(one_hist(f, "sum_over_time", &w, 40000)->count, 50);
    check_v(one_hist(f, "avg_over_time", &w, 40000)->count, 12.5);
    assert_ptr_equal(one_hist(f, "last_over_time", &w, 40000), w.hsamples[3].h);
    osp_promql_arg a = matrix_arg(&w, 1, 40000, 60000);
    check_one(f, "count_over_time", &a, 1, 4);
    check_one(f, "present_over_time", &a, 1, 1);
    check_no_result(f, "max_over_time", &a, 1);
    check_no_result(f, "deriv", &a, 1);
    check_no_result(f, "absent_over_time", &a, 1);
    /* with a float: rate, sum and avg give nothing, the rest reads what fits */
    static const osp_sample fl[] = {{20000, 7}};
    w.samples = (osp_sample *)fl;
    w.nsamples = 1;
    check_no_result(f, "rate", &a, 1);
    check_no_result(f, "sum_over_time", &a, 1);
    check_no_result(f, "avg_over_time", &a, 1);
    check_one(f, "count_over_time", &a, 1, 5);
    check_one(f, "max_over_time", &a, 1, 7);
    assert_ptr_equal(one_hist(f, "last_over_time", &w, 40000), w.hsamples[3].h);
    /* one histogram: no rate */
    w = hist_window(f, t, c, 1);
    check_no_result(f, "rate", &a, 1);
    /* out of memory while adding up */
    osp_arena small;
    w = hist_window(f, t, c, 4);
    osp_arena_init(&small, 64, 200);
    f->c.arena = &small;
    osp_promql_vec out;
    assert_int_equal(call(f, "rate", &a, 1, &out), OSP_ENOMEM);
    osp_arena_cleanup(&small);
    f->c.arena = &f->arena;
}

static void test_out_of_memory(void **state)
{
    fx *f = *state;
    osp_arena small;
    osp_series w = series(f, "__name__=m,job=a", ramp, N(ramp));
    osp_promql_arg m = matrix_arg(&w, 1, 60000, 60000);
    osp_promql_elem e[20];
    for (size_t i = 0; i < 20; i++)
        e[i] = el(f, "__name__=m,a=b", (double)i);
    osp_promql_arg v = vec_arg(e, 20);
    osp_promql_vec out;
    /* Room for the result array but not for every label copy or the sort keys. */
    static const struct {
        const char *fn;
        size_t max;
    } cases[] = {{"abs", 700}, {"sort", 700}, {"rate", 40}, {"rate", 70}};
    for (size_t i = 0; i < N(cases); i++) {
        osp_arena_init(&small, 64, cases[i].max);
        f->c.arena = &small;
        assert_int_equal(call(f, cases[i].fn, i < 2 ? &v : &m, 1, &out), OSP_ENOMEM);
        osp_arena_cleanup(&small);
    }
    f->c.arena = &f->arena;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test_setup_teardown(test_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instant_rates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deriv_predict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_over_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quantile_over_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_holt_winters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_over_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_math, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_quantile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_native_histogram_fns, setup, teardown),
        cmocka_unit_test(test_sees_histograms),
        cmocka_unit_test_setup_teardown(test_native_histogram_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_native_histogram_quantile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_native_histogram_windows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
