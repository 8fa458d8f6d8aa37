/* Native histograms (Prometheus's sparse exponential histograms): the value type, bucket
 * boundaries, the operations PromQL needs, and the compact binary encoding the time-series
 * engine writes to its write-ahead log and chunks.
 *
 * Counts are doubles throughout, as in Prometheus's FloatHistogram: integer histograms
 * from remote write convert exactly (counts below 2^53). Bucket layout as Prometheus
 * defines it: at schema s (-4..8) the positive bucket with index i holds observations in
 * (base^(i-1), base^i] with base = 2^(2^-s); negative buckets mirror it, [-base^i,
 * -base^(i-1)); the zero bucket holds [-zero_threshold, zero_threshold]. Spans give the
 * populated index ranges: the first span's offset is its first index, each later offset is
 * the gap (>= 0) after the previous span. Buckets hold absolute counts, one per index the
 * spans cover, in index order. */
#ifndef OSP_MODEL_HISTOGRAM_H
#define OSP_MODEL_HISTOGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

#define OSP_HIST_SCHEMA_MIN (-4)
#define OSP_HIST_SCHEMA_MAX 8

/* Counter-reset hint (remote write's Histogram.ResetHint). */
enum osp_hist_hint {
    OSP_HIST_HINT_UNKNOWN = 0,   /* maybe a reset: detect from the counts */
    OSP_HIST_HINT_RESET = 1,     /* a counter reset happened before this sample */
    OSP_HIST_HINT_NOT_RESET = 2, /* no reset since the previous sample */
    OSP_HIST_HINT_GAUGE = 3,     /* a gauge histogram: never a reset */
};

typedef struct osp_hist_span {
    int32_t offset;  /* first span: its first index; later spans: gap after the previous */
    uint32_t length; /* consecutive buckets in the span */
} osp_hist_span;

typedef struct osp_histogram {
    int32_t schema;      /* OSP_HIST_SCHEMA_MIN..OSP_HIST_SCHEMA_MAX */
    uint8_t hint;        /* enum osp_hist_hint */
    double zero_threshold; /* >= 0 */
    double zero_count;   /* observations in the zero bucket */
    double count;        /* all observations (NaN observations count here only) */
    double sum;          /* sum of observations; the stale marker bits mark a stale sample */
    osp_hist_span *pspans, *nspans; /* positive / negative spans */
    uint32_t npspans, nnspans;
    double *pbuckets, *nbuckets; /* absolute counts, as many as the spans' lengths add up to */
    uint32_t npbuckets, nnbuckets;
} osp_histogram;

/* A histogram sample: the histogram lives in memory the holder of the array owns. */
typedef struct osp_hsample {
    int64_t t_ms;
    const osp_histogram *h;
} osp_hsample;

/* One bucket as Prometheus's API shows it. */
typedef struct osp_hist_bucket {
    double lower, upper, count;
    bool lower_inclusive, upper_inclusive;
} osp_hist_bucket;

/* The boundary rule the Prometheus JSON API writes for b: 0 open left (lower exclusive,
 * upper inclusive), 1 open right, 2 open both, 3 closed both. */
int osp_hist_bucket_boundaries(const osp_hist_bucket *b);

/* Upper bound of bucket index idx at schema (OSP_HIST_SCHEMA_MIN..MAX): 2^(idx * 2^-schema),
 * saturating to DBL_MAX for the last finite bucket and +Inf above it, as Prometheus does.
 * For schema > 0 the value is exp2's, correctly rounded; Prometheus takes it from a table
 * whose entries are off by up to a few units in the last place at fine schemas. */
double osp_hist_bound(int32_t schema, int32_t idx);

/* The bucket index whose range holds the positive value v at schema (v > 0): the
 * inverse of osp_hist_bound. */
int32_t osp_hist_index(int32_t schema, double v);

/* NULL when h is well-formed, else a message naming the problem ("schema 9 out of
 * range", "positive spans cover 3 buckets but 2 are given", "negative bucket count",
 * "count 3 below the bucket total 5", ...): schema in range, zero_threshold >= 0 and not
 * NaN, span offsets after the first >= 0, bucket counts matching the spans, counts not
 * negative, and for integer histograms (every count a whole number) count not below
 * zero_count plus every bucket: the checks Prometheus makes before appending. Stale
 * samples (osp_hist_is_stale) get the layout checks only. */
const char *osp_hist_check(const osp_histogram *h);

/* Whether h is the stale marker (its sum has the stale NaN bits). */
bool osp_hist_is_stale(const osp_histogram *h);

/* A deep copy of h in arena (NULL when out of memory). */
osp_histogram *osp_hist_copy(osp_arena *a, const osp_histogram *h);

/* Whether a and b are the same sample bit for bit (schema, hint, threshold, counts, sum,
 * spans, buckets): how the engine tells a duplicate from a conflicting sample. */
bool osp_hist_equal(const osp_histogram *a, const osp_histogram *b);

/* Calls fn for every bucket of h with a count other than 0, in ascending order of value
 * (most negative first, then the zero bucket, then positive), as the Prometheus API lists
 * them: a bucket reaching into the zero bucket is shown cut at the zero threshold. Stops early and returns fn's value when it is not 0; 0 after the last bucket. */
int osp_hist_each_bucket(const osp_histogram *h, int (*fn)(void *ctx, const osp_hist_bucket *b),
                         void *ctx);

/* Arithmetic, each result a new histogram in arena (NULL only when out of memory). The
 * operands keep their memory. Operands of different schemas are brought to the smaller
 * (coarser) one, and of different zero thresholds to the larger one, whose zero bucket then
 * absorbs the buckets it covers (Prometheus's FloatHistogram.Add/Sub). Results have hint
 * UNKNOWN for add and sub, and the operand's hint for mul and div. Empty buckets are kept
 * out of results (spans cover only buckets with counts other than 0). */
osp_histogram *osp_hist_add(osp_arena *a, const osp_histogram *x, const osp_histogram *y);
osp_histogram *osp_hist_sub(osp_arena *a, const osp_histogram *x, const osp_histogram *y);
/* Every count and the sum times f (f may be negative, 0, NaN or infinite; IEEE rules). */
osp_histogram *osp_hist_mul(osp_arena *a, const osp_histogram *x, double f);
/* Every count and the sum divided by f (IEEE rules). */
osp_histogram *osp_hist_div(osp_arena *a, const osp_histogram *x, double f);

/* Whether cur, the sample after prev of a counter histogram, starts after a counter reset
 * (Prometheus's FloatHistogram.DetectReset): hint RESET says yes, NOT_RESET and GAUGE say
 * no; otherwise a lower count, a finer schema, a smaller zero threshold, or a lower zero
 * or bucket count (prev brought to cur's layout) is a reset. */
bool osp_hist_detect_reset(const osp_histogram *cur, const osp_histogram *prev);

/* PromQL's histogram_quantile on a native histogram: NaN when count is 0 or q is NaN,
 * -Inf for q < 0, +Inf for q > 1; otherwise the q-quantile interpolated linearly within
 * the bucket where the cumulative count reaches q * count (Prometheus 2.42's rule; a zero
 * bucket next to only positive buckets counts as starting at 0, next to only negative ones
 * as ending at 0). */
double osp_hist_quantile(double q, const osp_histogram *h);

/* PromQL's histogram_fraction: the estimated share of observations in [lower, upper],
 * interpolating linearly within buckets the interval cuts; NaN when count is 0 or a bound
 * is NaN. */
double osp_hist_fraction(double lower, double upper, const osp_histogram *h);

/* PromQL's histogram_stdvar and histogram_stddev: each bucket counts as its observations
 * all sitting at the bucket's geometric middle (0 for the zero bucket), as Prometheus
 * estimates them; NaN when count is 0. */
double osp_hist_stdvar(const osp_histogram *h);
double osp_hist_stddev(const osp_histogram *h);

/* Appends h's binary encoding (format: src/store/tsdb/README.md) to b: small integers as
 * varints, counts as zigzag varint deltas between neighbouring buckets when every count
 * is a whole number below 2^53 (the usual case, a byte or two per bucket), as raw doubles
 * otherwise. 0 or OSP_ENOMEM / OSP_ETOOBIG from b. */
int osp_hist_encode(osp_buf *b, const osp_histogram *h);

/* Decodes one encoding at *p (not reading past end) into *out, its arrays in arena, and
 * moves *p past it. Yields exactly the histogram that was encoded. 0, OSP_ECORRUPT
 * (malformed or failing osp_hist_check; *p then unspecified), OSP_ENOMEM. */
int osp_hist_decode(const uint8_t **p, const uint8_t *end, osp_arena *arena, osp_histogram *out);

#endif
