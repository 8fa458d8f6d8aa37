/* PromQL function library (promql_int.h calling convention): lookup, shared helpers and the
 * instant-vector and scalar functions. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "query/promql_func_int.h"

osp_label *osp_promql_drop_name(osp_arena *arena, osp_label *labels, size_t *nlabels)
{
    size_t n = *nlabels;
    for (size_t i = 0; i < n; i++) {
        if (!osp_str_eqz(labels[i].name, OSP_METRIC_NAME_LABEL))
            continue;
        osp_label *out = osp_arena_alloc(arena, (n - 1) * sizeof *out + 1);
        if (!out)
            return NULL;
        memcpy(out, labels, i * sizeof *out);
        memcpy(out + i, labels + i + 1, (n - i - 1) * sizeof *out);
        *nlabels = n - 1;
        return out;
    }
    return labels;
}

/* ---- helpers shared with the other promql_func*.c ---- */

int osp__fn_out(const osp_promql_call_ctx *c, osp_promql_vec *out, size_t n)
{
    out->n = 0;
    out->a = NULL;
    if (n > SIZE_MAX / sizeof *out->a)
        return OSP_ENOMEM;
    out->a = osp_arena_alloc(c->arena, n ? n * sizeof *out->a : 1);
    return out->a ? 0 : OSP_ENOMEM;
}

int osp__fn_push(const osp_promql_call_ctx *c, osp_promql_vec *out, osp_label *labels,
                 size_t nlabels, int keep_name, double v)
{
    size_t n = nlabels;
    osp_label *l = keep_name ? labels : osp_promql_drop_name(c->arena, labels, &n);
    if (!l && n)
        return OSP_ENOMEM;
    out->a[out->n++] = (osp_promql_elem){l, n, c->t_ms, v, NULL};
    return 0;
}

int osp__fn_fail(const osp_promql_call_ctx *c, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return OSP_EEXEC;
}

static int has_name(const osp_str *names, size_t n, osp_str name)
{
    for (size_t i = 0; i < n; i++)
        if (osp_str_eq(names[i], name))
            return 1;
    return 0;
}

int osp__fn_absent_labels(const osp_promql_call_ctx *c, osp_label **labels, size_t *n)
{
    *labels = NULL;
    *n = 0;
    const osp_promql_expr *e = c->call && c->call->u.call.nargs ? c->call->u.call.args[0] : NULL;
    while (e && e->kind == OSP_PROMQL_PAREN)
        e = e->u.paren.expr;
    if (e && e->kind == OSP_PROMQL_MATRIX)
        e = e->u.ms.vs;
    if (!e || e->kind != OSP_PROMQL_VECTOR || e->u.vs.nmatchers == 0)
        return 0;
    size_t nm = e->u.vs.nmatchers;
    const osp_promql_matcher *m = e->u.vs.matchers;
    osp_label *l = osp_arena_alloc(c->arena, nm * sizeof *l);
    osp_str *set = osp_arena_alloc(c->arena, nm * sizeof *set);
    osp_str *del = osp_arena_alloc(c->arena, nm * sizeof *del);
    if (!l || !set || !del)
        return OSP_ENOMEM;
    size_t nl = 0, ndel = 0;
    for (size_t i = 0; i < nm; i++) {
        if (osp_str_eqz(m[i].name, OSP_METRIC_NAME_LABEL))
            continue;
        if (m[i].op == OSP_PROMQL_MATCH_EQ && !has_name(set, nl, m[i].name)) {
            if (m[i].value.n) { /* an empty value sets nothing, as labels.Builder.Set */
                set[nl] = m[i].name;
                l[nl++] = (osp_label){m[i].name, m[i].value};
            }
        } else {
            del[ndel++] = m[i].name;
        }
    }
    /* A name with any matcher besides its first equality is not known exactly. */
    size_t k = 0;
    for (size_t i = 0; i < nl; i++)
        if (!has_name(del, ndel, l[i].name))
            l[k++] = l[i];
    osp_labels_sort(l, k);
    *labels = l;
    *n = k;
    return 0;
}

/* ---- element-wise functions ---- */

/* out gets in's elements with __name__ dropped and t_ms set; the caller sets the values. */
static int copy_dropped(const osp_promql_call_ctx *c, const osp_promql_vec *in, osp_promql_vec *out)
{
    int rc = osp__fn_out(c, out, in->n);
    for (size_t i = 0; rc == 0 && i < in->n; i++)
        rc = osp__fn_push(c, out, in->a[i].labels, in->a[i].nlabels, 0, in->a[i].v);
    return rc;
}

/* Go's math.Log2 and math.Log10, which are not libm's: log(frac)/ln 2 + exp and
 * log(x)/ln 10. */
static double go_log2(double x)
{
    int e = 0;
    double frac = isfinite(x) ? frexp(x, &e) : x;
    if (frac == 0.5)
        return (double)(e - 1);
    return log(frac) * 1.44269504088896340735992468100189214 + (double)e;
}

static double go_log10(double x)
{
    return log(x) * 0.434294481903251827651128918916605082;
}

static double sgn(double v)
{
    if (v < 0)
        return -1;
    if (v > 0)
        return 1;
    return v;
}

static double deg(double v)
{
    return v * 180 / M_PI;
}

static double rad(double v)
{
    return v * M_PI / 180;
}

static const struct {
    const char *name;
    double (*f)(double);
} math_fns[] = {
    {"abs", fabs},    {"ceil", ceil},    {"floor", floor},    {"exp", exp},   {"sqrt", sqrt},
    {"ln", log},      {"log2", go_log2}, {"log10", go_log10}, {"sgn", sgn},   {"deg", deg},
    {"rad", rad},     {"sin", sin},      {"cos", cos},        {"tan", tan},   {"asin", asin},
    {"acos", acos},   {"atan", atan},    {"sinh", sinh},      {"cosh", cosh}, {"tanh", tanh},
    {"asinh", asinh}, {"acosh", acosh},  {"atanh", atanh},
};

/* One wrapper per math function: the calling convention has no closure argument. */
#define MATH_FN(i)                                                                                 \
    static int fn_math_##i(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs, \
                           osp_promql_vec *out)                                                    \
    {                                                                                              \
        (void)nargs;                                                                               \
        int rc = copy_dropped(c, &args[0].vec, out);                                               \
        for (size_t k = 0; rc == 0 && k < out->n; k++)                                             \
            out->a[k].v = math_fns[i].f(out->a[k].v);                                              \
        return rc;                                                                                 \
    }
MATH_FN(0)
MATH_FN(1)
MATH_FN(2)
MATH_FN(3)
MATH_FN(4)
MATH_FN(5)
MATH_FN(6)
MATH_FN(7)
MATH_FN(8)
MATH_FN(9)
MATH_FN(10)
MATH_FN(11)
MATH_FN(12)
MATH_FN(13)
MATH_FN(14)
MATH_FN(15)
MATH_FN(16)
MATH_FN(17)
MATH_FN(18)
MATH_FN(19)
MATH_FN(20)
MATH_FN(21)
MATH_FN(22)
#undef MATH_FN

static const osp_promql_fn math_wrappers[] = {
    fn_math_0,  fn_math_1,  fn_math_2,  fn_math_3,  fn_math_4,  fn_math_5,  fn_math_6,  fn_math_7,
    fn_math_8,  fn_math_9,  fn_math_10, fn_math_11, fn_math_12, fn_math_13, fn_math_14, fn_math_15,
    fn_math_16, fn_math_17, fn_math_18, fn_math_19, fn_math_20, fn_math_21, fn_math_22,
};
_Static_assert(sizeof math_wrappers / sizeof math_wrappers[0] ==
                   sizeof math_fns / sizeof math_fns[0],
               "one wrapper per math function");

/* round(v, to_nearest=1): floor(v * (1/to) + 0.5) / (1/to), ties up, as Prometheus. */
static int fn_round(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                    osp_promql_vec *out)
{
    double inv = 1.0 / (nargs >= 2 ? args[1].scalar : 1.0);
    int rc = copy_dropped(c, &args[0].vec, out);
    for (size_t i = 0; rc == 0 && i < out->n; i++)
        out->a[i].v = floor(out->a[i].v * inv + 0.5) / inv;
    return rc;
}

/* Go's math.Max and math.Min: an infinity of the winning sign beats NaN, NaN beats the
 * rest, and +0 is larger than -0. */
static double go_max(double x, double y)
{
    if (isinf(x) && x > 0)
        return x;
    if (isinf(y) && y > 0)
        return y;
    if (isnan(x) || isnan(y))
        return NAN;
    if (x == 0 && x == y)
        return signbit(x) ? y : x;
    return x > y ? x : y;
}

static double go_min(double x, double y)
{
    if (isinf(x) && x < 0)
        return x;
    if (isinf(y) && y < 0)
        return y;
    if (isnan(x) || isnan(y))
        return NAN;
    if (x == 0 && x == y)
        return signbit(x) ? x : y;
    return x < y ? x : y;
}

static int clamp(const osp_promql_call_ctx *c, const osp_promql_vec *in, double lo, double hi,
                 osp_promql_vec *out)
{
    if (hi < lo)
        return osp__fn_out(c, out, 0);
    int rc = copy_dropped(c, in, out);
    for (size_t i = 0; rc == 0 && i < out->n; i++)
        out->a[i].v = go_max(lo, go_min(hi, out->a[i].v));
    return rc;
}

static int fn_clamp(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                    osp_promql_vec *out)
{
    (void)nargs;
    return clamp(c, &args[0].vec, args[1].scalar, args[2].scalar, out);
}

static int fn_clamp_min(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                        osp_promql_vec *out)
{
    (void)nargs;
    return clamp(c, &args[0].vec, args[1].scalar, INFINITY, out);
}

static int fn_clamp_max(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                        osp_promql_vec *out)
{
    (void)nargs;
    return clamp(c, &args[0].vec, -INFINITY, args[1].scalar, out);
}

static int fn_timestamp(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                        osp_promql_vec *out)
{
    (void)nargs;
    int rc = copy_dropped(c, &args[0].vec, out);
    for (size_t i = 0; rc == 0 && i < out->n; i++)
        out->a[i].v = (double)args[0].vec.a[i].t_ms / 1000;
    return rc;
}

/* ---- scalars and vectors ---- */

static int one_value(const osp_promql_call_ctx *c, double v, osp_promql_vec *out)
{
    int rc = osp__fn_out(c, out, 1);
    if (rc == 0)
        rc = osp__fn_push(c, out, NULL, 0, 1, v);
    return rc;
}

static int fn_vector(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                     osp_promql_vec *out)
{
    (void)nargs;
    return one_value(c, args[0].scalar, out);
}

static int fn_scalar(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                     osp_promql_vec *out)
{
    (void)nargs;
    return one_value(c, args[0].vec.n == 1 ? args[0].vec.a[0].v : NAN, out);
}

static int fn_time(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                   osp_promql_vec *out)
{
    (void)args;
    (void)nargs;
    return one_value(c, (double)c->t_ms / 1000, out);
}

static int fn_pi(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                 osp_promql_vec *out)
{
    (void)args;
    (void)nargs;
    return one_value(c, M_PI, out);
}

/* The one element absent() and absent_over_time() give when nothing is there: value 1,
 * labelled from the argument selector's equality matchers. */
static int absent_element(const osp_promql_call_ctx *c, osp_promql_vec *out)
{
    osp_label *l;
    size_t n;
    int rc = osp__fn_absent_labels(c, &l, &n);
    if (rc == 0)
        rc = osp__fn_out(c, out, 1);
    if (rc == 0)
        rc = osp__fn_push(c, out, l, n, 1, 1);
    return rc;
}

static int fn_absent(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                     osp_promql_vec *out)
{
    (void)nargs;
    if (args[0].vec.n)
        return osp__fn_out(c, out, 0);
    return absent_element(c, out);
}

/* absent_over_time: one element when every selected series' window is empty (of floats
 * and of histograms). */
static int fn_absent_over_time(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                               size_t nargs, osp_promql_vec *out)
{
    (void)nargs;
    for (size_t i = 0; i < args[0].nseries; i++)
        if (args[0].series[i].nsamples || args[0].series[i].nhsamples)
            return osp__fn_out(c, out, 0);
    return absent_element(c, out);
}

/* ---- sort, sort_desc ---- */

typedef struct keyed {
    double v;
    size_t i; /* position in the input */
} keyed;

/* Prometheus sorts with NaN last; Go's insertion sort (what it uses up to 12 elements)
 * keeps equal values in input order and reverses the order of the NaNs. */
static int nan_order(const keyed *a, const keyed *b, int *res)
{
    int an = isnan(a->v), bn = isnan(b->v);
    if (!an && !bn)
        return 0;
    if (an && bn)
        *res = a->i < b->i ? 1 : -1;
    else
        *res = an ? 1 : -1;
    return 1;
}

static int cmp_asc(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    int res;
    if (nan_order(a, b, &res))
        return res;
    if (a->v != b->v)
        return a->v < b->v ? -1 : 1;
    return a->i < b->i ? -1 : 1;
}

static int cmp_desc(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    int res;
    if (nan_order(a, b, &res))
        return res;
    if (a->v != b->v)
        return a->v > b->v ? -1 : 1;
    return a->i < b->i ? -1 : 1;
}

static int sort_vec(const osp_promql_call_ctx *c, const osp_promql_vec *in, int desc,
                    osp_promql_vec *out)
{
    int rc = osp__fn_out(c, out, in->n);
    if (rc)
        return rc;
    keyed *k = osp_arena_alloc(c->arena, in->n ? in->n * sizeof *k : 1);
    if (!k)
        return OSP_ENOMEM;
    for (size_t i = 0; i < in->n; i++)
        k[i] = (keyed){in->a[i].v, i};
    qsort(k, in->n, sizeof *k, desc ? cmp_desc : cmp_asc);
    for (size_t i = 0; i < in->n; i++) {
        out->a[i] = in->a[k[i].i];
        out->a[i].t_ms = c->t_ms;
    }
    out->n = in->n;
    return 0;
}

static int fn_sort(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                   osp_promql_vec *out)
{
    (void)nargs;
    return sort_vec(c, &args[0].vec, 0, out);
}

static int fn_sort_desc(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                        osp_promql_vec *out)
{
    (void)nargs;
    return sort_vec(c, &args[0].vec, 1, out);
}

/* ---- date functions ---- */

typedef struct civil {
    int64_t year;
    int month, day, yday, wday, hour, minute; /* month 1-12, day 1-31, yday 1-366, wday 0 Sunday */
} civil;

/* Seconds from the start of year -292277022399 (which Go's time package counts from, a
 * Monday one year after a 400-year boundary) to the Unix epoch. Go adds it with unsigned
 * wrap-around, so out-of-range inputs (NaN) land on the same odd dates as in Prometheus. */
#define ABS_UNIX_OFFSET 9223372028715321600ull
#define ABS_ZERO_YEAR (-292277022399LL)

static int is_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int month_days(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return days[m - 1] + (m == 2 && is_leap(y));
}

/* Splits seconds since the epoch into a UTC date and time. */
static void civil_from_unix(int64_t sec, civil *t)
{
    uint64_t abs = (uint64_t)sec + ABS_UNIX_OFFSET;
    t->hour = (int)(abs % 86400 / 3600);
    t->minute = (int)(abs % 3600 / 60);
    t->wday = (int)((abs + 86400) % 604800 / 86400);
    /* Days counted from March 1 of the year before the zero year, which starts a 400-year
     * era; putting February last makes the leap day the era's and the year's last day. */
    uint64_t d = abs / 86400 + 306;
    uint64_t era = d / 146097, doe = d % 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153;
    t->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    t->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    t->year = ABS_ZERO_YEAR - 1 + (int64_t)(era * 400 + yoe) + (t->month <= 2);
    int yday = t->day;
    for (int m = 1; m < t->month; m++)
        yday += month_days(t->year, m);
    t->yday = yday;
}

/* Go's int64(f) on amd64: truncation, and the minimum int64 for NaN and out-of-range values. */
static int64_t go_int64(double f)
{
    if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
        return INT64_MIN;
    return (int64_t)f;
}

enum date_part {
    D_DAY_OF_MONTH,
    D_DAY_OF_WEEK,
    D_DAY_OF_YEAR,
    D_DAYS_IN_MONTH,
    D_HOUR,
    D_MINUTE,
    D_MONTH,
    D_YEAR
};

static double date_part(int64_t sec, enum date_part p)
{
    civil t;
    civil_from_unix(sec, &t);
    switch (p) {
    case D_DAY_OF_MONTH:
        return t.day;
    case D_DAY_OF_WEEK:
        return t.wday;
    case D_DAY_OF_YEAR:
        return t.yday;
    case D_DAYS_IN_MONTH:
        return month_days(t.year, t.month);
    case D_HOUR:
        return t.hour;
    case D_MINUTE:
        return t.minute;
    case D_MONTH:
        return t.month;
    default:
        return (double)t.year;
    }
}

/* Without an argument the date functions read vector(time()). */
static int date_fn(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                   enum date_part p, osp_promql_vec *out)
{
    if (nargs == 0)
        return one_value(c, date_part(c->t_ms / 1000, p), out);
    int rc = copy_dropped(c, &args[0].vec, out);
    for (size_t i = 0; rc == 0 && i < out->n; i++)
        out->a[i].v = date_part(go_int64(out->a[i].v), p);
    return rc;
}

#define DATE_FN(name, part)                                                                        \
    static int fn_##name(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,   \
                         osp_promql_vec *out)                                                      \
    {                                                                                              \
        return date_fn(c, args, nargs, part, out);                                                 \
    }
DATE_FN(day_of_month, D_DAY_OF_MONTH)
DATE_FN(day_of_week, D_DAY_OF_WEEK)
DATE_FN(day_of_year, D_DAY_OF_YEAR)
DATE_FN(days_in_month, D_DAYS_IN_MONTH)
DATE_FN(hour, D_HOUR)
DATE_FN(minute, D_MINUTE)
DATE_FN(month, D_MONTH)
DATE_FN(year, D_YEAR)
#undef DATE_FN

/* ---- lookup ---- */

static const osp__fn_def instant_defs[] = {
    {"round", fn_round, 0},
    {"clamp", fn_clamp, 0},
    {"clamp_min", fn_clamp_min, 0},
    {"clamp_max", fn_clamp_max, 0},
    {"timestamp", fn_timestamp, 1},
    {"vector", fn_vector, 0},
    {"scalar", fn_scalar, 0},
    {"time", fn_time, 0},
    {"pi", fn_pi, 0},
    {"absent", fn_absent, 1},
    {"absent_over_time", fn_absent_over_time, 0},
    {"sort", fn_sort, 0},
    {"sort_desc", fn_sort_desc, 0},
    {"day_of_month", fn_day_of_month, 0},
    {"day_of_week", fn_day_of_week, 0},
    {"day_of_year", fn_day_of_year, 0},
    {"days_in_month", fn_days_in_month, 0},
    {"hour", fn_hour, 0},
    {"minute", fn_minute, 0},
    {"month", fn_month, 0},
    {"year", fn_year, 0},
    {NULL, NULL, 0},
};

/* The definition of name in the tables, or NULL (math functions have none). */
static const osp__fn_def *find(osp_str name)
{
    static const osp__fn_def *const tables[] = {instant_defs, osp__fn_range_defs,
                                                osp__fn_label_defs, osp__fn_hist_defs};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        for (const osp__fn_def *d = tables[i]; d->name; d++)
            if (osp_str_eqz(name, d->name))
                return d;
    return NULL;
}

osp_promql_fn osp_promql_fn_lookup(osp_str name)
{
    for (size_t i = 0; i < sizeof math_fns / sizeof math_fns[0]; i++)
        if (osp_str_eqz(name, math_fns[i].name))
            return math_wrappers[i];
    const osp__fn_def *d = find(name);
    return d ? d->fn : NULL;
}

int osp_promql_fn_sees_histograms(osp_str name)
{
    const osp__fn_def *d = find(name);
    return d && d->hist;
}
