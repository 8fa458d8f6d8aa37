/* PromQL histogram functions. histogram_quantile works on classic histograms (series with
 * an "le" label, as quantile.go's bucketQuantile in Prometheus 2.42) and on native
 * histograms (osp_hist_quantile); histogram_count, _sum, _fraction, _stddev and _stdvar
 * read native histograms only, so float elements give nothing, as in Prometheus. Every
 * result drops the metric name. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
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
    osp_label *key; /* the element's labels without le (all of them for a native histogram) */
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

/* The native histogram among the n items of natives (sorted by key) labelled exactly key,
 * or NULL. */
static hq_item *find_native(hq_item *natives, size_t n, const osp_label *key, size_t nkey)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = osp_labels_compare(natives[mid].key, natives[mid].nkey, key, nkey);
        if (c == 0)
            return &natives[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* histogram_quantile(q, v): one element per native histogram, and one per label set
 * without le (the metric name counts) over the float elements whose le parses as a float.
 * A native histogram labelled exactly as such a set of buckets conflicts with it: neither
 * gives a result, as in Prometheus 2.42. */
static int fn_histogram_quantile(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                                 size_t nargs, osp_promql_vec *out)
{
    (void)nargs;
    double q = args[0].scalar;
    const osp_promql_vec *in = &args[1].vec;
    osp_str le_name = OSP_STR_LIT("le");
    size_t cap = in->n ? in->n : 1;
    int rc = osp__fn_out(c, out, in->n);
    hq_item *items = rc ? NULL : osp_arena_alloc(c->arena, cap * sizeof *items);
    hq_item *natives = items ? osp_arena_alloc(c->arena, cap * sizeof *natives) : NULL;
    bucket *b = natives ? osp_arena_alloc(c->arena, cap * sizeof *b) : NULL;
    if (!b)
        return OSP_ENOMEM;
    size_t n = 0, nnat = 0;
    for (size_t i = 0; i < in->n; i++) {
        const osp_promql_elem *e = &in->a[i];
        double upper;
        if (e->h) {
            natives[nnat++] = (hq_item){e->labels, e->nlabels, i, 0};
            continue;
        }
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
    qsort(natives, nnat, sizeof *natives, cmp_item);
    for (size_t s = 0; s < n;) {
        size_t end = s + 1;
        while (end < n && osp_labels_compare(items[s].key, items[s].nkey, items[end].key,
                                             items[end].nkey) == 0)
            end++;
        hq_item *conflict = find_native(natives, nnat, items[s].key, items[s].nkey);
        if (conflict) {
            conflict->idx = SIZE_MAX; /* neither gives a result */
        } else {
            for (size_t k = s; k < end; k++)
                b[k - s] = (bucket){items[k].upper, in->a[items[k].idx].v};
            rc = osp__fn_push(c, out, items[s].key, items[s].nkey, 0,
                              bucket_quantile(q, b, end - s));
        }
        if (rc)
            return rc;
        s = end;
    }
    for (size_t i = 0; rc == 0 && i < nnat; i++)
        if (natives[i].idx != SIZE_MAX)
            rc = osp__fn_push(c, out, natives[i].key, natives[i].nkey, 0,
                              osp_hist_quantile(q, in->a[natives[i].idx].h));
    return rc;
}

/* ---- functions of native histograms alone ---- */

/* out gets f of each histogram element of v, labelled as it minus __name__; floats give
 * nothing. */
static int per_histogram(const osp_promql_call_ctx *c, const osp_promql_vec *v,
                         double (*f)(const osp_histogram *h), osp_promql_vec *out)
{
    int rc = osp__fn_out(c, out, v->n);
    for (size_t i = 0; rc == 0 && i < v->n; i++)
        if (v->a[i].h)
            rc = osp__fn_push(c, out, v->a[i].labels, v->a[i].nlabels, 0, f(v->a[i].h));
    return rc;
}

static double hist_count(const osp_histogram *h)
{
    return h->count;
}

static double hist_sum(const osp_histogram *h)
{
    return h->sum;
}

static int fn_histogram_count(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                              size_t nargs, osp_promql_vec *out)
{
    (void)nargs;
    return per_histogram(c, &args[0].vec, hist_count, out);
}

static int fn_histogram_sum(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                            osp_promql_vec *out)
{
    (void)nargs;
    return per_histogram(c, &args[0].vec, hist_sum, out);
}

static int fn_histogram_stddev(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                               size_t nargs, osp_promql_vec *out)
{
    (void)nargs;
    return per_histogram(c, &args[0].vec, osp_hist_stddev, out);
}

static int fn_histogram_stdvar(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                               size_t nargs, osp_promql_vec *out)
{
    (void)nargs;
    return per_histogram(c, &args[0].vec, osp_hist_stdvar, out);
}

/* histogram_fraction(lower, upper, v). */
static int fn_histogram_fraction(const osp_promql_call_ctx *c, const osp_promql_arg *args,
                                 size_t nargs, osp_promql_vec *out)
{
    (void)nargs;
    const osp_promql_vec *v = &args[2].vec;
    int rc = osp__fn_out(c, out, v->n);
    for (size_t i = 0; rc == 0 && i < v->n; i++)
        if (v->a[i].h)
            rc = osp__fn_push(c, out, v->a[i].labels, v->a[i].nlabels, 0,
                              osp_hist_fraction(args[0].scalar, args[1].scalar, v->a[i].h));
    return rc;
}

/* Every function here sees the histogram elements of its vector argument. */
const osp__fn_def osp__fn_hist_defs[] = {
    {"histogram_quantile", fn_histogram_quantile, 1},
    {"histogram_count", fn_histogram_count, 1},
    {"histogram_sum", fn_histogram_sum, 1},
    {"histogram_fraction", fn_histogram_fraction, 1},
    {"histogram_stddev", fn_histogram_stddev, 1},
    {"histogram_stdvar", fn_histogram_stdvar, 1},
    {NULL, NULL, 0},
};
