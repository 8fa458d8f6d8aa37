/* Native histograms for the time-series engine's tests: a family of valid histograms that
 * differ per k, and the stale marker. */
#ifndef OSP_TESTS_STORE_TSDB_HISTUTIL_H
#define OSP_TESTS_STORE_TSDB_HISTUTIL_H

#include "core/arena.h"
#include "model/histogram.h"
#include "model/series.h"

/* Histogram number k (k >= 0), in a: schema k % 4, zero threshold 0.001, zero count k,
 * positive spans {-1, 2}, {1, 1} with counts k, 2k + 1, 1, one negative bucket (index 0)
 * with count k / 2 (a fraction for odd k, so both count encodings occur), count their
 * total 4.5k + 2 and sum 1.25k. */
static inline osp_histogram *test_hist(osp_arena *a, int k)
{
    osp_histogram *h = osp_arena_calloc(a, 1, sizeof *h);
    osp_hist_span *ps = osp_arena_calloc(a, 2, sizeof *ps),
                  *ns = osp_arena_calloc(a, 1, sizeof *ns);
    double *pb = osp_arena_calloc(a, 3, sizeof *pb), *nb = osp_arena_calloc(a, 1, sizeof *nb);
    if (!h || !ps || !ns || !pb || !nb)
        return NULL;
    ps[0] = (osp_hist_span){-1, 2};
    ps[1] = (osp_hist_span){1, 1};
    ns[0] = (osp_hist_span){0, 1};
    pb[0] = k;
    pb[1] = 2.0 * k + 1;
    pb[2] = 1;
    nb[0] = k / 2.0;
    h->schema = k % 4;
    h->zero_threshold = 0.001;
    h->zero_count = k;
    h->pspans = ps;
    h->npspans = 2;
    h->pbuckets = pb;
    h->npbuckets = 3;
    h->nspans = ns;
    h->nnspans = 1;
    h->nbuckets = nb;
    h->nnbuckets = 1;
    h->count = h->zero_count + pb[0] + pb[1] + pb[2] + nb[0];
    h->sum = 1.25 * k;
    return h;
}

/* The stale marker as a histogram (every count 0, the stale NaN as sum). */
static inline osp_histogram *test_stale_hist(osp_arena *a)
{
    osp_histogram *h = osp_arena_calloc(a, 1, sizeof *h);
    if (h)
        h->sum = osp_stale_nan();
    return h;
}

#endif
