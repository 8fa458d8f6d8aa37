/* Native histograms (model/histogram.h): bucket bounds, checks, PromQL operations and the
 * binary encoding. */
#include "model/histogram.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/endian.h"
#include "core/err.h"
#include "core/kahan.h"
#include "core/numfmt.h"
#include "core/pb.h"
#include "model/series.h"

/* ---- bucket bounds ---- */

/* The index of the last finite bucket at schema (its upper bound is DBL_MAX); the next
 * index holds +Inf. */
static int64_t last_finite_index(int32_t schema)
{
    return schema > 0 ? (int64_t)1024 << schema : (int64_t)1024 >> -schema;
}

/* osp_hist_bound for any 64-bit index (indices past the int32 range saturate). */
static double bound64(int32_t schema, int64_t idx)
{
    int64_t last = last_finite_index(schema);
    if (idx == last)
        return DBL_MAX;
    if (idx > last)
        return INFINITY;
    if (schema <= 0) {
        int64_t e = idx * ((int64_t)1 << -schema);
        return e < -2000 ? 0 : ldexp(1, (int)e);
    }
    /* idx = q * 2^schema + r with 0 <= r < 2^schema: 2^q * 2^(r / 2^schema), so powers of
     * two come out exact and agree with coarser schemas */
    int64_t q = idx >> schema; /* floor: gcc shifts signed values arithmetically */
    int64_t r = idx - q * ((int64_t)1 << schema);
    if (q < -2000)
        return 0;
    return ldexp(exp2((double)r / (double)((int64_t)1 << schema)), (int)q);
}

double osp_hist_bound(int32_t schema, int32_t idx)
{
    return bound64(schema, idx);
}

/* Values that are not > 0 (outside the contract) give 0. */
int32_t osp_hist_index(int32_t schema, double v)
{
    if (!(v > 0))
        return 0;
    int64_t last = last_finite_index(schema);
    if (v > DBL_MAX)
        return (int32_t)(last + 1);
    if (schema <= 0) {
        /* v = f * 2^e with f in [0.5, 1): at schema 0, (2^(k-1), 2^k] holds v for k = e,
         * or k = e - 1 when v is the power of two 2^(e-1); coarser schemas merge 2^-schema
         * of those buckets, so the index is ceil(k / 2^-schema) */
        int e;
        double f = frexp(v, &e);
        int64_t k = e - (f == 0.5);
        int64_t div = (int64_t)1 << -schema;
        int64_t fl = k >= 0 ? k / div : -((-k + div - 1) / div); /* floor(k / div) */
        return (int32_t)(fl * div == k ? fl : fl + 1);
    }
    /* log2 gives the index to within one or two; step until bound(idx - 1) < v <= bound(idx)
     * holds exactly with the bounds osp_hist_bound computes */
    double guess = ceil(log2(v) * (double)((int64_t)1 << schema));
    int64_t idx = guess > (double)last ? last : (int64_t)guess;
    while (bound64(schema, idx) < v)
        idx++;
    while (bound64(schema, idx - 1) >= v)
        idx--;
    return (int32_t)idx;
}

int osp_hist_bucket_boundaries(const osp_hist_bucket *b)
{
    if (b->lower_inclusive)
        return b->upper_inclusive ? 3 : 1;
    return b->upper_inclusive ? 0 : 2;
}

/* ---- walking the buckets ---- */

/* Walks one side's buckets in ascending index order, merged into the buckets of a coarser
 * target schema, leaving out the leading buckets whose upper bound at the target schema is
 * at most start (Prometheus's floatBucketIterator). Spans of length 0 are allowed. */
typedef struct bucket_iter {
    const osp_hist_span *spans;
    const double *buckets;
    uint32_t nspans, nbuckets;
    int32_t schema, target;
    double start; /* leave out leading target buckets with upper bound <= start */
    double cut;   /* leave out leading source buckets with lower bound < cut */
    uint32_t ispan, inspan, ibucket; /* position of the next source bucket */
    int64_t next_idx;                /* its index, once in a span */
    bool entered, past_cut, past_start;
    int64_t idx; /* current bucket at the target schema */
    double count;
} bucket_iter;

static void iter_init(bucket_iter *it, const osp_hist_span *spans, uint32_t nspans,
                      const double *buckets, uint32_t nbuckets, int32_t schema, int32_t target,
                      double start)
{
    memset(it, 0, sizeof *it);
    it->spans = spans;
    it->nspans = nspans;
    it->buckets = buckets;
    it->nbuckets = nbuckets;
    it->schema = schema;
    it->target = target;
    it->start = start;
    it->cut = -1;
}

static void iter_positive(bucket_iter *it, const osp_histogram *h, int32_t target, double start)
{
    iter_init(it, h->pspans, h->npspans, h->pbuckets, h->npbuckets, h->schema, target, start);
}

static void iter_negative(bucket_iter *it, const osp_histogram *h, int32_t target, double start)
{
    iter_init(it, h->nspans, h->nnspans, h->nbuckets, h->nnbuckets, h->schema, target, start);
}

/* Moves to the next source bucket (past those the cut leaves out); false when there is
 * none. */
static bool iter_source(bucket_iter *it)
{
    for (;;) {
        if (it->ibucket >= it->nbuckets)
            return false;
        if (!it->entered) {
            if (it->nspans == 0)
                return false;
            it->entered = true;
            it->next_idx = it->spans[0].offset;
        }
        while (it->inspan >= it->spans[it->ispan].length) {
            if (it->ispan + 1 >= it->nspans)
                return false;
            it->ispan++;
            it->inspan = 0;
            it->next_idx += it->spans[it->ispan].offset;
        }
        if (it->past_cut || !(bound64(it->schema, it->next_idx - 1) < it->cut)) {
            it->past_cut = true;
            return true;
        }
        it->ibucket++;
        it->inspan++;
        it->next_idx++;
    }
}

/* The index at a coarser schema of the bucket that holds bucket idx at schema. */
static int64_t target_index(int64_t idx, int32_t schema, int32_t target)
{
    return ((idx - 1) >> (schema - target)) + 1; /* floor division by 2^(schema - target) */
}

static bool iter_next(bucket_iter *it)
{
    for (;;) {
        if (!iter_source(it))
            return false;
        it->idx = target_index(it->next_idx, it->schema, it->target);
        it->count = 0;
        do {
            it->count += it->buckets[it->ibucket++];
            it->inspan++;
            it->next_idx++;
        } while (it->schema != it->target && iter_source(it) &&
                 target_index(it->next_idx, it->schema, it->target) == it->idx);
        if (it->past_start || bound64(it->target, it->idx) > it->start) {
            it->past_start = true;
            return true;
        }
    }
}

/* Bucket idx at schema as Prometheus's iterators show it. */
static osp_hist_bucket positive_bucket(int32_t schema, int64_t idx, double count)
{
    return (osp_hist_bucket){.lower = bound64(schema, idx - 1),
                             .upper = bound64(schema, idx),
                             .count = count,
                             .upper_inclusive = true};
}

static osp_hist_bucket negative_bucket(int32_t schema, int64_t idx, double count)
{
    return (osp_hist_bucket){.lower = -bound64(schema, idx),
                             .upper = -bound64(schema, idx - 1),
                             .count = count,
                             .lower_inclusive = true};
}

/* Every bucket of h in ascending order of value, including empty ones, as Prometheus's
 * AllBucketIterator gives them: buckets that reach into the zero bucket are cut at its
 * threshold; the zero bucket comes only when its count is above 0. fn's value other than 0
 * stops the walk and is returned. */
static int each_bucket_all(const osp_histogram *h, int (*fn)(void *ctx, const osp_hist_bucket *b),
                           void *ctx)
{
    int rc;
    double zt = h->zero_threshold;
    /* negative buckets from the highest index (most negative value) down */
    int64_t idx = -1;
    uint64_t total = 0;
    for (uint32_t i = 0; i < h->nnspans; i++) {
        idx += h->nspans[i].offset + (int64_t)h->nspans[i].length;
        total += h->nspans[i].length;
    }
    uint32_t pos = total < h->nnbuckets ? (uint32_t)total : h->nnbuckets;
    for (uint32_t i = h->nnspans; i-- > 0 && pos > 0;) {
        for (uint32_t k = 0; k < h->nspans[i].length && pos > 0; k++, idx--) {
            osp_hist_bucket b = negative_bucket(h->schema, idx, h->nbuckets[--pos]);
            if (b.upper > -zt)
                b.upper = -zt;
            if ((rc = fn(ctx, &b)) != 0)
                return rc;
        }
        idx -= h->nspans[i].offset;
    }
    if (h->zero_count > 0) {
        osp_hist_bucket z = {.lower = -zt,
                             .upper = zt,
                             .count = h->zero_count,
                             .lower_inclusive = true,
                             .upper_inclusive = true};
        if ((rc = fn(ctx, &z)) != 0)
            return rc;
    }
    bucket_iter it;
    iter_positive(&it, h, h->schema, 0);
    while (iter_next(&it)) {
        osp_hist_bucket b = positive_bucket(h->schema, it.idx, it.count);
        if (b.lower < zt)
            b.lower = zt;
        if ((rc = fn(ctx, &b)) != 0)
            return rc;
    }
    return 0;
}

struct nonempty_ctx {
    int (*fn)(void *ctx, const osp_hist_bucket *b);
    void *ctx;
};

static int call_nonempty(void *ctx, const osp_hist_bucket *b)
{
    struct nonempty_ctx *c = ctx;
    return b->count != 0 ? c->fn(c->ctx, b) : 0;
}

int osp_hist_each_bucket(const osp_histogram *h, int (*fn)(void *ctx, const osp_hist_bucket *b),
                         void *ctx)
{
    struct nonempty_ctx c = {fn, ctx};
    return each_bucket_all(h, call_nonempty, &c);
}

/* ---- checks, copies, comparison ---- */

bool osp_hist_is_stale(const osp_histogram *h)
{
    return osp_is_stale_nan(h->sum);
}

/* Bucket indices stay within +-2^30 (far past every finite bound), so that index
 * differences fit span offsets. */
#define INDEX_LIMIT ((int64_t)1 << 30)

/* Checks one side's spans against its bucket count; NULL or the message in msg. */
static const char *check_spans(const char *side, const osp_hist_span *spans, uint32_t nspans,
                               uint32_t nbuckets, char *msg, size_t cap)
{
    uint64_t total = 0;
    int64_t next = 0; /* index after the span */
    for (uint32_t i = 0; i < nspans; i++) {
        if (i > 0 && spans[i].offset < 0) {
            snprintf(msg, cap, "%s span %u has negative offset %d", side, i, spans[i].offset);
            return msg;
        }
        int64_t first = next + spans[i].offset;
        next = first + spans[i].length;
        total += spans[i].length;
        if (first < -INDEX_LIMIT || next - 1 > INDEX_LIMIT) {
            snprintf(msg, cap, "%s span %u reaches past bucket index %s2^30", side, i,
                     first < -INDEX_LIMIT ? "-" : "");
            return msg;
        }
    }
    if (total != nbuckets) {
        snprintf(msg, cap, "%s spans cover %llu buckets but %u are given", side,
                 (unsigned long long)total, nbuckets);
        return msg;
    }
    return NULL;
}

/* Checks one side's bucket counts; NULL or the message in msg. */
static const char *check_counts(const char *side, const double *buckets, uint32_t n, double *total,
                                char *msg, size_t cap)
{
    for (uint32_t i = 0; i < n; i++) {
        if (buckets[i] < 0) {
            char v[OSP_FLOAT_G_MAX];
            osp_format_float_g(buckets[i], v);
            snprintf(msg, cap, "%s bucket %u has negative count %s", side, i, v);
            return msg;
        }
        *total += buckets[i];
    }
    return NULL;
}

static bool all_whole(const osp_histogram *h);

/* The message lives in a per-thread buffer until the next call in the thread. */
const char *osp_hist_check(const osp_histogram *h)
{
    static _Thread_local char msg[160];
    char a[OSP_FLOAT_G_MAX], b[OSP_FLOAT_G_MAX];
    const char *err;
    if (h->schema < OSP_HIST_SCHEMA_MIN || h->schema > OSP_HIST_SCHEMA_MAX) {
        snprintf(msg, sizeof msg, "schema %d out of range", h->schema);
        return msg;
    }
    if (h->hint > OSP_HIST_HINT_GAUGE) {
        snprintf(msg, sizeof msg, "reset hint %u out of range", h->hint);
        return msg;
    }
    if ((err = check_spans("positive", h->pspans, h->npspans, h->npbuckets, msg, sizeof msg)) ||
        (err = check_spans("negative", h->nspans, h->nnspans, h->nnbuckets, msg, sizeof msg)))
        return err;
    if (osp_hist_is_stale(h))
        return NULL;
    if (!(h->zero_threshold >= 0)) {
        osp_format_float_g(h->zero_threshold, a);
        snprintf(msg, sizeof msg, "zero threshold %s negative or NaN", a);
        return msg;
    }
    if (h->zero_count < 0 || h->count < 0) {
        osp_format_float_g(h->zero_count < 0 ? h->zero_count : h->count, a);
        snprintf(msg, sizeof msg, "%s %s negative", h->zero_count < 0 ? "zero count" : "count", a);
        return msg;
    }
    double total = h->zero_count;
    if ((err = check_counts("positive", h->pbuckets, h->npbuckets, &total, msg, sizeof msg)) ||
        (err = check_counts("negative", h->nbuckets, h->nnbuckets, &total, msg, sizeof msg)))
        return err;
    /* Only integer histograms: float counts may add up past count by rounding alone, which
     * current Prometheus forgives too. */
    if (h->count < total && all_whole(h)) {
        osp_format_float_g(h->count, a);
        osp_format_float_g(total, b);
        snprintf(msg, sizeof msg, "count %s below the bucket total %s", a, b);
        return msg;
    }
    return NULL;
}

osp_histogram *osp_hist_copy(osp_arena *a, const osp_histogram *h)
{
    osp_histogram *c = osp_arena_alloc(a, sizeof *c);
    if (!c)
        return NULL;
    *c = *h;
    c->pspans = c->npspans ? osp_arena_memdup(a, h->pspans, h->npspans * sizeof *h->pspans) : NULL;
    c->nspans = c->nnspans ? osp_arena_memdup(a, h->nspans, h->nnspans * sizeof *h->nspans) : NULL;
    c->pbuckets =
        c->npbuckets ? osp_arena_memdup(a, h->pbuckets, h->npbuckets * sizeof *h->pbuckets) : NULL;
    c->nbuckets =
        c->nnbuckets ? osp_arena_memdup(a, h->nbuckets, h->nnbuckets * sizeof *h->nbuckets) : NULL;
    if ((c->npspans && !c->pspans) || (c->nnspans && !c->nspans) ||
        (c->npbuckets && !c->pbuckets) || (c->nnbuckets && !c->nbuckets))
        return NULL;
    return c;
}

static bool same_bits(double x, double y)
{
    return memcmp(&x, &y, sizeof x) == 0;
}

static bool same_counts(const double *x, const double *y, uint32_t n)
{
    return n == 0 || memcmp(x, y, n * sizeof *x) == 0;
}

static bool same_spans(const osp_hist_span *x, const osp_hist_span *y, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (x[i].offset != y[i].offset || x[i].length != y[i].length)
            return false;
    return true;
}

bool osp_hist_equal(const osp_histogram *a, const osp_histogram *b)
{
    return a->schema == b->schema && a->hint == b->hint &&
           same_bits(a->zero_threshold, b->zero_threshold) &&
           same_bits(a->zero_count, b->zero_count) && same_bits(a->count, b->count) &&
           same_bits(a->sum, b->sum) && a->npspans == b->npspans && a->nnspans == b->nnspans &&
           a->npbuckets == b->npbuckets && a->nnbuckets == b->nnbuckets &&
           same_spans(a->pspans, b->pspans, a->npspans) &&
           same_spans(a->nspans, b->nspans, a->nnspans) &&
           same_counts(a->pbuckets, b->pbuckets, a->npbuckets) &&
           same_counts(a->nbuckets, b->nbuckets, a->nnbuckets);
}

/* ---- arithmetic ---- */

/* One side of a result under construction: spans cover only buckets with counts other
 * than 0. A first pass with NULL arrays counts what a second pass then writes. */
typedef struct side_out {
    osp_hist_span *spans;
    double *buckets;
    uint32_t nspans, nbuckets;
    int64_t last; /* index of the last bucket put */
} side_out;

static void out_put(side_out *o, int64_t idx, double count)
{
    if (count == 0)
        return;
    if (o->nbuckets == 0 || idx != o->last + 1) {
        if (o->spans)
            o->spans[o->nspans] =
                (osp_hist_span){(int32_t)(o->nbuckets ? idx - o->last - 1 : idx), 0};
        o->nspans++;
    }
    if (o->spans) {
        o->spans[o->nspans - 1].length++;
        o->buckets[o->nbuckets] = count;
    }
    o->nbuckets++;
    o->last = idx;
}

/* Puts the sum of two ascending walks (y's counts times sign) into o. */
static void merge_walks(bucket_iter x, bucket_iter y, double sign, side_out *o)
{
    bool hx = iter_next(&x), hy = iter_next(&y);
    while (hx || hy) {
        if (hx && (!hy || x.idx < y.idx)) {
            out_put(o, x.idx, x.count);
            hx = iter_next(&x);
        } else if (!hx || y.idx < x.idx) {
            out_put(o, y.idx, sign * y.count);
            hy = iter_next(&y);
        } else {
            out_put(o, x.idx, x.count + sign * y.count);
            hx = iter_next(&x);
            hy = iter_next(&y);
        }
    }
}

/* Fills one side of r from the merge of x and y (y may walk nothing): counts, allocates
 * in the arena, writes. false when out of memory. */
static bool build_side(osp_arena *a, bucket_iter x, bucket_iter y, double sign,
                       osp_hist_span **spans, uint32_t *nspans, double **buckets,
                       uint32_t *nbuckets)
{
    side_out o = {0};
    merge_walks(x, y, sign, &o);
    *nspans = o.nspans;
    *nbuckets = o.nbuckets;
    *spans = NULL;
    *buckets = NULL;
    if (o.nbuckets == 0)
        return true;
    o.spans = osp_arena_alloc(a, o.nspans * sizeof *o.spans);
    o.buckets = osp_arena_alloc(a, o.nbuckets * sizeof *o.buckets);
    if (!o.spans || !o.buckets)
        return false;
    o.nspans = o.nbuckets = 0;
    merge_walks(x, y, sign, &o);
    *spans = o.spans;
    *buckets = o.buckets;
    return true;
}

/* A walk that yields nothing. */
static bucket_iter iter_none(void)
{
    bucket_iter it;
    iter_init(&it, NULL, 0, NULL, 0, 0, 0, -1);
    return it;
}

/* What h's zero count would be with the zero threshold raised to *threshold (>= h's),
 * Prometheus's zeroCountForLargerThreshold: buckets below the new threshold join the zero
 * bucket; a threshold inside a populated bucket moves up to that bucket's upper bound (in
 * absolute value), which *threshold then holds. */
static double zero_count_for(const osp_histogram *h, double *threshold)
{
    double t = *threshold, count;
    bucket_iter it;
    if (t == h->zero_threshold)
        return h->zero_count;
    for (bool again = true; again;) {
        again = false;
        count = h->zero_count;
        iter_positive(&it, h, h->schema, 0);
        while (iter_next(&it) && bound64(h->schema, it.idx - 1) < t) {
            count += it.count;
            double upper = bound64(h->schema, it.idx);
            if (upper > t) {
                if (it.count != 0)
                    t = upper;
                break;
            }
        }
        iter_negative(&it, h, h->schema, 0);
        while (iter_next(&it) && bound64(h->schema, it.idx - 1) < t) {
            count += it.count;
            double upper = bound64(h->schema, it.idx);
            if (upper > t) {
                if (it.count != 0) {
                    t = upper; /* the positive side must be looked at again */
                    again = true;
                }
                break;
            }
        }
    }
    *threshold = t;
    return count;
}

/* x + sign * y as Prometheus's FloatHistogram.Add and Sub compute it with x as the
 * receiver: the zero buckets are reconciled first (each side's zero threshold raised to
 * the larger one, further if it lands in a populated bucket, x's buckets inside its new
 * zero bucket dropped), then both are brought to the coarser schema, where y's buckets
 * whose upper bound is within x's zero bucket are left out. */
static osp_histogram *add_sub(osp_arena *a, const osp_histogram *x, const osp_histogram *y,
                              double sign)
{
    double xzt = x->zero_threshold, xzc = x->zero_count;
    double yzt = y->zero_threshold, yzc = y->zero_count;
    bool trim_x = false;
    while (yzt != xzt && !isnan(xzt) && !isnan(yzt)) {
        if (xzt > yzt) {
            yzt = xzt;
            yzc = zero_count_for(y, &yzt);
        }
        if (yzt > xzt) {
            xzt = yzt;
            xzc = zero_count_for(x, &xzt);
            trim_x = true;
        }
    }
    osp_histogram *r = osp_arena_calloc(a, 1, sizeof *r);
    if (!r)
        return NULL;
    r->schema = x->schema < y->schema ? x->schema : y->schema;
    r->hint = OSP_HIST_HINT_UNKNOWN;
    r->zero_threshold = xzt;
    r->zero_count = xzc + sign * yzc;
    r->count = x->count + sign * y->count;
    r->sum = x->sum + sign * y->sum;
    bucket_iter xp, xn, yp, yn;
    iter_positive(&xp, x, r->schema, -1);
    iter_negative(&xn, x, r->schema, -1);
    if (trim_x)
        xp.cut = xn.cut = xzt;
    iter_positive(&yp, y, r->schema, xzt);
    iter_negative(&yn, y, r->schema, xzt);
    if (!build_side(a, xp, yp, sign, &r->pspans, &r->npspans, &r->pbuckets, &r->npbuckets) ||
        !build_side(a, xn, yn, sign, &r->nspans, &r->nnspans, &r->nbuckets, &r->nnbuckets))
        return NULL;
    return r;
}

osp_histogram *osp_hist_add(osp_arena *a, const osp_histogram *x, const osp_histogram *y)
{
    return add_sub(a, x, y, 1);
}

osp_histogram *osp_hist_sub(osp_arena *a, const osp_histogram *x, const osp_histogram *y)
{
    return add_sub(a, x, y, -1);
}

/* x with every count and the sum times f, or divided by f; empty buckets left out. */
static osp_histogram *scale(osp_arena *a, const osp_histogram *x, double f, bool divide)
{
    osp_histogram *r = osp_hist_copy(a, x);
    if (!r)
        return NULL;
    double *counts[] = {&r->zero_count, &r->count, &r->sum};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        *counts[i] = divide ? *counts[i] / f : *counts[i] * f;
    for (uint32_t i = 0; i < r->npbuckets; i++)
        r->pbuckets[i] = divide ? r->pbuckets[i] / f : r->pbuckets[i] * f;
    for (uint32_t i = 0; i < r->nnbuckets; i++)
        r->nbuckets[i] = divide ? r->nbuckets[i] / f : r->nbuckets[i] * f;
    bucket_iter p, n;
    iter_positive(&p, r, r->schema, -1);
    iter_negative(&n, r, r->schema, -1);
    if (!build_side(a, p, iter_none(), 1, &r->pspans, &r->npspans, &r->pbuckets, &r->npbuckets) ||
        !build_side(a, n, iter_none(), 1, &r->nspans, &r->nnspans, &r->nbuckets, &r->nnbuckets))
        return NULL;
    return r;
}

osp_histogram *osp_hist_mul(osp_arena *a, const osp_histogram *x, double f)
{
    return scale(a, x, f, false);
}

osp_histogram *osp_hist_div(osp_arena *a, const osp_histogram *x, double f)
{
    return scale(a, x, f, true);
}

/* Whether a bucket of prev lost observations in cur (Prometheus's detectReset): both walks
 * ascend at the same schema. */
static bool side_reset(bucket_iter cur, bucket_iter prev)
{
    bool hc = iter_next(&cur);
    while (iter_next(&prev)) {
        while (hc && cur.idx < prev.idx)
            hc = iter_next(&cur);
        if (!hc || cur.idx > prev.idx) {
            if (prev.count != 0) /* a populated bucket is gone */
                return true;
        } else if (cur.count < prev.count) {
            return true;
        }
    }
    return false;
}

bool osp_hist_detect_reset(const osp_histogram *cur, const osp_histogram *prev)
{
    if (cur->hint == OSP_HIST_HINT_RESET)
        return true;
    if (cur->hint == OSP_HIST_HINT_NOT_RESET || cur->hint == OSP_HIST_HINT_GAUGE)
        return false;
    if (cur->count < prev->count || cur->schema > prev->schema ||
        cur->zero_threshold < prev->zero_threshold)
        return true;
    double t = cur->zero_threshold;
    double prev_zero = zero_count_for(prev, &t);
    if (t != cur->zero_threshold || cur->zero_count < prev_zero)
        return true;
    bucket_iter c, p;
    iter_positive(&c, cur, cur->schema, t);
    iter_positive(&p, prev, cur->schema, t);
    if (side_reset(c, p))
        return true;
    iter_negative(&c, cur, cur->schema, t);
    iter_negative(&p, prev, cur->schema, t);
    return side_reset(c, p);
}

/* ---- PromQL estimates ---- */

/* Whether h has buckets on one side only (empty ones count), for the zero bucket rule of
 * histogram_quantile and histogram_fraction: a zero bucket next to positive buckets only
 * starts at 0, next to negative ones only it ends at 0. */
static void zero_bucket_rule(const osp_histogram *h, osp_hist_bucket *b)
{
    if (!(b->lower < 0 && b->upper > 0))
        return;
    if (h->nnbuckets == 0 && h->npbuckets > 0)
        b->lower = 0;
    else if (h->npbuckets == 0 && h->nnbuckets > 0)
        b->upper = 0;
}

struct quantile_walk {
    double rank, count;
    osp_hist_bucket bucket; /* the last one looked at */
};

static int quantile_step(void *ctx, const osp_hist_bucket *b)
{
    struct quantile_walk *w = ctx;
    w->bucket = *b;
    w->count += b->count;
    return w->count >= w->rank;
}

double osp_hist_quantile(double q, const osp_histogram *h)
{
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    if (h->count == 0 || isnan(q))
        return NAN;
    struct quantile_walk w = {.rank = q * h->count};
    each_bucket_all(h, quantile_step, &w);
    osp_hist_bucket *b = &w.bucket;
    zero_bucket_rule(h, b);
    if (w.count > h->count) /* rounding in the bucket total */
        w.count = h->count;
    if (w.count < w.rank) /* NaN observations: the rank is never reached */
        return b->upper;
    double rank = w.rank - (w.count - b->count);
    return b->lower + (b->upper - b->lower) * (rank / b->count);
}

struct fraction_walk {
    const osp_histogram *h;
    double lower, upper;
    double rank, lower_rank, upper_rank;
    bool lower_set, upper_set;
};

static int fraction_step(void *ctx, const osp_hist_bucket *bucket)
{
    struct fraction_walk *w = ctx;
    osp_hist_bucket b = *bucket;
    zero_bucket_rule(w->h, &b);
    if (!w->lower_set && b.lower >= w->lower) {
        w->lower_rank = w->rank;
        w->lower_set = true;
    }
    if (!w->upper_set && b.lower >= w->upper) {
        w->upper_rank = w->rank;
        w->upper_set = true;
    }
    if (w->lower_set && w->upper_set)
        return 1;
    if (!w->lower_set && b.lower < w->lower && b.upper > w->lower) {
        w->lower_rank = w->rank + b.count * (w->lower - b.lower) / (b.upper - b.lower);
        w->lower_set = true;
    }
    if (!w->upper_set && b.lower < w->upper && b.upper > w->upper) {
        w->upper_rank = w->rank + b.count * (w->upper - b.lower) / (b.upper - b.lower);
        w->upper_set = true;
    }
    if (w->lower_set && w->upper_set)
        return 1;
    w->rank += b.count;
    return 0;
}

double osp_hist_fraction(double lower, double upper, const osp_histogram *h)
{
    if (h->count == 0 || isnan(lower) || isnan(upper))
        return NAN;
    if (lower >= upper)
        return 0;
    struct fraction_walk w = {.h = h, .lower = lower, .upper = upper};
    each_bucket_all(h, fraction_step, &w);
    if (!w.lower_set || w.lower_rank > h->count)
        w.lower_rank = h->count;
    if (!w.upper_set || w.upper_rank > h->count)
        w.upper_rank = h->count;
    return (w.upper_rank - w.lower_rank) / h->count;
}

struct variance_walk {
    double mean, sum, comp; /* Neumaier-compensated sum of squared deviations */
};

static int variance_step(void *ctx, const osp_hist_bucket *b)
{
    struct variance_walk *w = ctx;
    double v = 0;
    if (!(b->lower <= 0 && 0 <= b->upper)) {
        v = sqrt(b->upper * b->lower);
        if (b->upper < 0)
            v = -v;
    }
    double d = v - w->mean, inc = b->count * d * d;
    osp_kahan_inc(inc, &w->sum, &w->comp);
    if (isinf(w->sum)) /* current Prometheus: an infinite sum carries no error */
        w->comp = 0;
    return 0;
}

double osp_hist_stdvar(const osp_histogram *h)
{
    if (h->count == 0)
        return NAN;
    struct variance_walk w = {.mean = h->sum / h->count};
    osp_hist_each_bucket(h, variance_step, &w);
    return (w.sum + w.comp) / h->count;
}

double osp_hist_stddev(const osp_histogram *h)
{
    return sqrt(osp_hist_stdvar(h));
}

/* ---- binary encoding ----
 *
 * One histogram, as the time-series engine's write-ahead log and chunks hold it. Varints
 * are protobuf base-128 varints, "zigzag" is protobuf's sint64 mapping, doubles are their
 * IEEE 754 bits in 8 bytes little-endian (NaN payloads and -0 kept).
 *
 *   flags        1 byte   bits 0-1: reset hint (enum osp_hist_hint)
 *                         bit 2:    INT: count, zero_count and every bucket are whole
 *                                   numbers in [0, 2^53), none -0 (the encoder sets it
 *                                   whenever that holds)
 *                         bits 3-4: zero threshold: 0 = +0, 1 = 2^-128 (Prometheus's
 *                                   default), 2 = a double follows, 3 invalid
 *                         bits 5-7: format version, 1
 *   schema       zigzag varint
 *   zero_thresh  double, only with threshold kind 2
 *   sum          double
 *   count        INT: varint; else double
 *   zero_count   INT: varint; else double
 *   positive spans: varint n, then n times (offset zigzag varint, length varint)
 *   negative spans: the same
 *   positive buckets, as many as the positive spans' lengths add up to:
 *                INT: zigzag varint of each count minus the one before (the first minus 0);
 *                else a double each
 *   negative buckets: the same, the deltas starting again from 0
 *
 * The encoder picks the shortest threshold kind, so equal histograms (osp_hist_equal) give
 * equal bytes. A decoder rejects (OSP_ECORRUPT) unknown versions, threshold kind 3, truncation,
 * varints longer than 10 bytes, offsets or lengths outside int32/uint32, INT counts outside [0,
 * 2^53), and histograms osp_hist_check refuses; it allocates no more than the bytes present
 * justify. */

#define HIST_VERSION 1
#define FLAG_INT 0x04
#define ZT_SHIFT 3
#define ZT_ZERO 0
#define ZT_DEFAULT 1
#define ZT_EXPLICIT 2
#define VERSION_SHIFT 5
#define INT_LIMIT 9007199254740992.0 /* 2^53 */

static bool whole_count(double c)
{
    return c >= 0 && c < INT_LIMIT && c == floor(c) && !signbit(c);
}

static bool all_whole(const osp_histogram *h)
{
    if (!whole_count(h->count) || !whole_count(h->zero_count))
        return false;
    for (uint32_t i = 0; i < h->npbuckets; i++)
        if (!whole_count(h->pbuckets[i]))
            return false;
    for (uint32_t i = 0; i < h->nnbuckets; i++)
        if (!whole_count(h->nbuckets[i]))
            return false;
    return true;
}

static int put_double(osp_buf *b, double v)
{
    uint8_t raw[8];
    osp_put_le64(raw, osp_pb_double_bits(v));
    return osp_buf_append(b, raw, sizeof raw);
}

static int put_spans(osp_buf *b, const osp_hist_span *spans, uint32_t n)
{
    int rc = osp_pb_put_varint(b, n);
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        if ((rc = osp_pb_put_varint(b, osp_pb_zigzag_encode(spans[i].offset))) == 0)
            rc = osp_pb_put_varint(b, spans[i].length);
    return rc;
}

static int put_buckets(osp_buf *b, const double *c, uint32_t n, bool whole)
{
    int rc = 0;
    int64_t prev = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        if (whole) {
            int64_t v = (int64_t)c[i];
            rc = osp_pb_put_varint(b, osp_pb_zigzag_encode(v - prev));
            prev = v;
        } else {
            rc = put_double(b, c[i]);
        }
    }
    return rc;
}

static int put_count(osp_buf *b, double c, bool whole)
{
    return whole ? osp_pb_put_varint(b, (uint64_t)c) : put_double(b, c);
}

int osp_hist_encode(osp_buf *b, const osp_histogram *h)
{
    size_t mark = b->len;
    bool whole = all_whole(h);
    int zt = ZT_EXPLICIT;
    if (osp_pb_double_bits(h->zero_threshold) == 0)
        zt = ZT_ZERO;
    else if (same_bits(h->zero_threshold, ldexp(1, -128)))
        zt = ZT_DEFAULT;
    uint8_t flags = (uint8_t)((h->hint & 3) | (whole ? FLAG_INT : 0) | zt << ZT_SHIFT |
                              HIST_VERSION << VERSION_SHIFT);
    int rc = osp_buf_append(b, &flags, 1);
    if (rc == 0)
        rc = osp_pb_put_varint(b, osp_pb_zigzag_encode(h->schema));
    if (rc == 0 && zt == ZT_EXPLICIT)
        rc = put_double(b, h->zero_threshold);
    if (rc == 0)
        rc = put_double(b, h->sum);
    if (rc == 0)
        rc = put_count(b, h->count, whole);
    if (rc == 0)
        rc = put_count(b, h->zero_count, whole);
    if (rc == 0)
        rc = put_spans(b, h->pspans, h->npspans);
    if (rc == 0)
        rc = put_spans(b, h->nspans, h->nnspans);
    if (rc == 0)
        rc = put_buckets(b, h->pbuckets, h->npbuckets, whole);
    if (rc == 0)
        rc = put_buckets(b, h->nbuckets, h->nnbuckets, whole);
    if (rc != 0)
        b->len = mark;
    return rc;
}

static int get_varint(osp_pb_reader *r, uint64_t *v)
{
    return osp_pb_read_varint(r, v) ? OSP_ECORRUPT : 0;
}

static int get_double(osp_pb_reader *r, double *v)
{
    if (r->end - r->p < 8)
        return OSP_ECORRUPT;
    *v = osp_pb_as_double(osp_get_le64(r->p));
    r->p += 8;
    return 0;
}

static int get_count(osp_pb_reader *r, bool whole, double *v)
{
    uint64_t u;
    if (!whole)
        return get_double(r, v);
    if (get_varint(r, &u) || u >= (uint64_t)1 << 53)
        return OSP_ECORRUPT;
    *v = (double)u;
    return 0;
}

/* Reads one side's spans into arena; *nbuckets gets the buckets they cover. */
static int get_spans(osp_pb_reader *r, osp_arena *arena, osp_hist_span **spans, uint32_t *n,
                     uint64_t *nbuckets)
{
    uint64_t count;
    *spans = NULL;
    *n = 0;
    *nbuckets = 0;
    if (get_varint(r, &count))
        return OSP_ECORRUPT;
    if (count == 0)
        return 0;
    if (count > (uint64_t)(r->end - r->p) / 2) /* a span takes two bytes at least */
        return OSP_ECORRUPT;
    *spans = osp_arena_alloc(arena, count * sizeof **spans);
    if (!*spans)
        return OSP_ENOMEM;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t off, len;
        if (get_varint(r, &off) || get_varint(r, &len))
            return OSP_ECORRUPT;
        int64_t o = osp_pb_zigzag_decode(off);
        if (o < INT32_MIN || o > INT32_MAX || len > UINT32_MAX)
            return OSP_ECORRUPT;
        (*spans)[i] = (osp_hist_span){(int32_t)o, (uint32_t)len};
        *nbuckets += len;
        if (*nbuckets > UINT32_MAX)
            return OSP_ECORRUPT;
    }
    *n = (uint32_t)count;
    return 0;
}

static int get_buckets(osp_pb_reader *r, osp_arena *arena, bool whole, uint32_t n, double **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    double *c = osp_arena_alloc(arena, (size_t)n * sizeof *c);
    if (!c)
        return OSP_ENOMEM;
    int64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!whole) {
            if (get_double(r, &c[i]))
                return OSP_ECORRUPT;
            continue;
        }
        uint64_t z;
        if (get_varint(r, &z))
            return OSP_ECORRUPT;
        int64_t d = osp_pb_zigzag_decode(z);
        /* prev is in [0, 2^53), so only deltas of that size can keep the sum in range */
        if (d <= -((int64_t)1 << 54) || d >= ((int64_t)1 << 54))
            return OSP_ECORRUPT;
        prev += d;
        if (prev < 0 || prev >= (int64_t)1 << 53)
            return OSP_ECORRUPT;
        c[i] = (double)prev;
    }
    *out = c;
    return 0;
}

int osp_hist_decode(const uint8_t **p, const uint8_t *end, osp_arena *arena, osp_histogram *out)
{
    osp_pb_reader r = osp_pb_reader_make(*p, (size_t)(end - *p));
    osp_histogram h;
    uint64_t v, npb, nnb;
    memset(&h, 0, sizeof h);
    if (r.p >= r.end)
        return OSP_ECORRUPT;
    uint8_t flags = *r.p++;
    bool whole = flags & FLAG_INT;
    int zt = (flags >> ZT_SHIFT) & 3;
    if (flags >> VERSION_SHIFT != HIST_VERSION || zt == 3)
        return OSP_ECORRUPT;
    h.hint = flags & 3;
    if (get_varint(&r, &v))
        return OSP_ECORRUPT;
    int64_t schema = osp_pb_zigzag_decode(v);
    if (schema < OSP_HIST_SCHEMA_MIN || schema > OSP_HIST_SCHEMA_MAX)
        return OSP_ECORRUPT;
    h.schema = (int32_t)schema;
    h.zero_threshold = zt == ZT_DEFAULT ? ldexp(1, -128) : 0;
    if (zt == ZT_EXPLICIT && get_double(&r, &h.zero_threshold))
        return OSP_ECORRUPT;
    if (get_double(&r, &h.sum) || get_count(&r, whole, &h.count) ||
        get_count(&r, whole, &h.zero_count))
        return OSP_ECORRUPT;
    int rc = get_spans(&r, arena, &h.pspans, &h.npspans, &npb);
    if (rc == 0)
        rc = get_spans(&r, arena, &h.nspans, &h.nnspans, &nnb);
    if (rc != 0)
        return rc;
    /* every bucket takes a byte at least (8 as a double) */
    uint64_t room = (uint64_t)(r.end - r.p) / (whole ? 1 : 8);
    if (npb > room || nnb > room - npb)
        return OSP_ECORRUPT;
    h.npbuckets = (uint32_t)npb;
    h.nnbuckets = (uint32_t)nnb;
    if ((rc = get_buckets(&r, arena, whole, h.npbuckets, &h.pbuckets)) != 0 ||
        (rc = get_buckets(&r, arena, whole, h.nnbuckets, &h.nbuckets)) != 0)
        return rc;
    if (osp_hist_check(&h))
        return OSP_ECORRUPT;
    *out = h;
    *p = r.p;
    return 0;
}
