/* PromQL histogram functions. histogram_quantile works on classic histograms (series with
 * an "le" label, as quantile.go's bucketQuantile in Prometheus 2.42); histogram_count, _sum,
 * _fraction, _stddev and _stdvar read native histograms only, which Osprey does not store,
 * so over float samples they return nothing, as in Prometheus. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "core/err.h"
#include "query/promql_func_int.h"

/* Parses s as Go's strconv.ParseFloat(s, 64) accepts it: an optional sign, then decimal
 * digits with an optional point and exponent, hexadecimal ones with a mandatory p
 * exponent, or inf/infinity (any case); unsigned nan. Out-of-range values fail, as in Go;
 * digit separators ('_') are refused. 0 or -1. */
static int go_parse_float(osp_arena *arena, osp_str s, double *out)
{
    if (s.n == 0)
        return -1;
    size_t i = 0;
    int neg = 0;
    if (s.p[0] == '+' || s.p[0] == '-') {
        neg = s.p[0] == '-';
        i = 1;
    }
    osp_str rest = osp_str_make(s.p + i, s.n - i);
    if (osp_str_ieq(rest, OSP_STR_LIT("inf")) || osp_str_ieq(rest, OSP_STR_LIT("infinity"))) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (i == 0 && osp_str_ieq(rest, OSP_STR_LIT("nan"))) {
        *out = NAN;
        return 0;
    }
    int hex = rest.n > 2 && rest.p[0] == '0' && (rest.p[1] == 'x' || rest.p[1] == 'X');
    size_t j = hex ? i + 2 : i, digits = 0;
    int point = 0;
    for (; j < s.n; j++) {
        unsigned char ch = (unsigned char)s.p[j];
        if (ch == '.' && !point)
            point = 1;
        else if (hex ? isxdigit(ch) : isdigit(ch))
            digits++;
        else
            break;
    }
    if (digits == 0)
        return -1;
    if (j < s.n && (hex ? (s.p[j] == 'p' || s.p[j] == 'P') : (s.p[j] == 'e' || s.p[j] == 'E'))) {
        j++;
        if (j < s.n && (s.p[j] == '+' || s.p[j] == '-'))
            j++;
        size_t exp_digits = 0;
        for (; j < s.n && isdigit((unsigned char)s.p[j]); j++)
            exp_digits++;
        if (exp_digits == 0)
            return -1;
    } else if (hex) {
        return -1;
    }
    if (j != s.n)
        return -1;
    osp_str z = osp_arena_strdup(arena, s);
    if (!z.p)
        return -1;
    errno = 0;
    double v = strtod(z.p, NULL);
    if (errno == ERANGE && isinf(v))
        return -1;
    *out = v;
    return 0;
}

typedef struct bucket {
    double upper;
    double count;
} bucket;

/* Go's sort.Search: the smallest i in [0, n) with count >= rank, n if none, by bisection
 * (as Prometheus, whatever the counts' order). */
static size_t search_rank(const bucket *b, size_t n, double rank)
{
    size_t i = 0, j = n;
    while (i < j) {
        size_t h = (i + j) / 2;
        if (!(b[h].count >= rank))
            i = h + 1;
        else
            j = h;
    }
    return i;
}

static int cmp_upper(const void *pa, const void *pb)
{
    const bucket *a = pa, *b = pb;
    if (isnan(a->upper) || isnan(b->upper))
        return isnan(a->upper) - isnan(b->upper);
    return a->upper < b->upper ? -1 : a->upper > b->upper;
}

/* Sorts by upper bound keeping equal bounds in order: insertion sort (Go's, for up to 12
 * elements, also where NaN bounds make the order partial), else qsort on a total order. */
static void sort_buckets(bucket *b, size_t n)
{
    if (n > 12) {
        qsort(b, n, sizeof *b, cmp_upper);
        return;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && b[j].upper < b[j - 1].upper; j--) {
            bucket t = b[j];
            b[j] = b[j - 1];
            b[j - 1] = t;
        }
}

/* bucketQuantile: the q-quantile of cumulative buckets (n >= 1), interpolated linearly
 * inside the bucket it falls in, with a lower bound of 0 for the first bucket when its
 * upper bound is positive. NaN without a +Inf bucket, with fewer than two distinct bounds
 * or no observations; -Inf for q < 0, +Inf for q > 1. Sorts and rewrites b. */
static double bucket_quantile(double q, bucket *b, size_t n)
{
    if (isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    sort_buckets(b, n);
    if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
        return NAN;
    /* Buckets with the same bound add up. */
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (b[i].upper == b[k].upper)
            b[k].count += b[i].count;
        else
            b[++k] = b[i];
    }
    n = k + 1;
    /* Counts that drop from one bucket to the next are raised to the running maximum. */
    double max = b[0].count;
    for (size_t i = 1; i < n; i++) {
        if (b[i].count > max)
            max = b[i].count;
        else if (b[i].count < max)
            b[i].count = max;
    }
    if (n < 2)
        return NAN;
    double observations = b[n - 1].count;
    if (observations == 0)
        return NAN;
    double rank = q * observations;
    size_t i = search_rank(b, n - 1, rank);
    if (i == n - 1)
        return b[n - 2].upper;
    if (i == 0 && b[0].upper <= 0)
        return b[0].upper;
    double start = 0, end = b[i].upper, count = b[i].count;
    if (i > 0) {
        start = b[i - 1].upper;
        count -= b[i - 1].count;
        rank -= b[i - 1].count;
    }
    return start + (end - start) * (rank / count);
}

typedef struct hq_item {
    osp_label *key; /* the element's labels without le */
    size_t nkey;
    size_t idx; /* position in the input */
    double upper;
} hq_item;

static int cmp_item(const void *pa, const void *pb)
{
    const hq_item *a = pa, *b = pb;
    int c = osp_labels_compare(a->key, a->nkey, b->key, b->nkey);
    if (c)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* histogram_quantile(q, v): one element per label set without le (the metric name counts,
 * and is dropped from the result) over the elements whose le parses as a float. */
static int fn_histogram_quantile(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                                 size_t nargs, osp_promql_vec *out)
{
    (void)nargs;
    double q = args[0].scalar;
    const osp_promql_vec *in = &args[1].vec;
    osp_str le_name = OSP_STR_LIT("le");
    int rc = osp__fn_out(c, out, in->n);
    hq_item *items = rc ? NULL : osp_arena_alloc(c->arena, (in->n ? in->n : 1) * sizeof *items);
    bucket *b = items ? osp_arena_alloc(c->arena, (in->n ? in->n : 1) * sizeof *b) : NULL;
    if (!b)
        return OSP_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < in->n; i++) {
        const osp_promql_elem *e = &in->a[i];
        double upper;
        if (go_parse_float(c->arena, osp_labels_get(e->labels, e->nlabels, le_name), &upper))
            continue;
        osp_label *key = osp_arena_alloc(c->arena, e->nlabels * sizeof *key);
        if (!key)
            return OSP_ENOMEM;
        size_t nkey = 0;
        for (size_t k = 0; k < e->nlabels; k++)
            if (!osp_str_eq(e->labels[k].name, le_name))
                key[nkey++] = e->labels[k];
        items[n++] = (hq_item){key, nkey, i, upper};
    }
    qsort(items, n, sizeof *items, cmp_item);
    for (size_t s = 0; s < n;) {
        size_t end = s + 1;
        while (end < n && osp_labels_compare(items[s].key, items[s].nkey, items[end].key,
                                             items[end].nkey) == 0)
            end++;
        for (size_t k = s; k < end; k++)
            b[k - s] = (bucket){items[k].upper, in->a[items[k].idx].v};
        rc = osp__fn_push(c, out, items[s].key, items[s].nkey, 0, bucket_quantile(q, b, end - s));
        if (rc)
            return rc;
        s = end;
    }
    return 0;
}

/* Native-histogram functions: float samples give no result. */
static int fn_native_only(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                          osp_promql_vec *out)
{
    (void)args;
    (void)nargs;
    return osp__fn_out(c, out, 0);
}

const osp__fn_def osp__fn_hist_defs[] = {
    {"histogram_quantile", fn_histogram_quantile},
    {"histogram_count", fn_native_only},
    {"histogram_sum", fn_native_only},
    {"histogram_fraction", fn_native_only},
    {"histogram_stddev", fn_native_only},
    {"histogram_stdvar", fn_native_only},
    {NULL, NULL},
};
