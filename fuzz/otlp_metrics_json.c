/* libFuzzer target for the OTLP/JSON metrics decoder and the OTLP-to-Prometheus translation:
 * any input decodes or fails cleanly (a failure leaves no rows and says why); decoded rows
 * keep the decoder's invariants, and translating them (with a small delta state, so that
 * eviction runs) gives series with sorted, unique, non-empty labels. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/err.h"
#include "model/attr.h"
#include "model/histogram.h"
#include "model/otlp_prom.h"
#include "proto/otlp_metrics.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_attrs(osp_str attrs)
{
    osp_attr_iter it;
    osp_str key;
    osp_value v;
    int rc;
    osp_attr_iter_init(&it, attrs);
    while ((rc = osp_attr_next(&it, &key, &v)) == 1)
        ;
    CHECK(rc == 0);
}

static void check_rows(const osp_metric_batch *b)
{
    for (size_t i = 0; i < b->nresources; i++)
        check_attrs(b->resources[i].attributes);
    for (size_t i = 0; i < b->nscopes; i++)
        check_attrs(b->scopes[i].attributes);
    for (size_t i = 0; i < b->nmetrics; i++) {
        const osp_metric *m = &b->metrics[i];
        CHECK(m->name.n > 0 && m->resource < b->nresources && m->scope < b->nscopes);
        CHECK(m->type >= OSP_METRIC_GAUGE && m->type <= OSP_METRIC_SUMMARY);
        check_attrs(m->metadata);
    }
    for (size_t i = 0; i < b->npoints; i++) {
        const osp_metric_point *p = &b->points[i];
        osp_blob_iter it;
        osp_exemplar ex;
        int rc;
        CHECK(p->metric < b->nmetrics);
        check_attrs(p->attributes);
        osp_blob_iter_init(&it, p->exemplars);
        while ((rc = osp_exemplars_next(&it, &ex)) == 1)
            check_attrs(ex.filtered_attributes);
        CHECK(rc == 0);
        CHECK(p->nbuckets == 0 ? p->nbounds == 0 : p->nbuckets == p->nbounds + 1);
        for (size_t k = 1; k < p->nbounds; k++)
            CHECK(p->bounds[k - 1] < p->bounds[k]);
    }
}

static void check_series(const osp_series_batch *s)
{
    for (size_t i = 0; i < s->nseries; i++) {
        const osp_series *se = &s->series[i];
        CHECK(se->nsamples + se->nhsamples == 1); /* one point: a float or a histogram */
        if (se->nhsamples)
            CHECK(osp_hist_check(se->hsamples[0].h) == NULL);
        for (size_t k = 0; k < se->nlabels; k++) {
            CHECK(se->labels[k].name.n > 0 && se->labels[k].value.n > 0);
            CHECK(k == 0 || osp_str_cmp(se->labels[k - 1].name, se->labels[k].name) < 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osp_metric_batch b;
    osp_decode_report rep;
    osp_metric_batch_init(&b);
    int rc = osp_otlp_metrics_decode_json(osp_str_make((const char *)data, size), &b, &rep);
    CHECK(rc == 0 || rc == OSP_EPARSE);
    CHECK(rep.rejected >= 0);
    if (rc == 0) {
        check_rows(&b);
        osp_delta_state *st = osp_delta_state_create(4);
        osp_series_batch s;
        osp_otlp_prom_report prep;
        CHECK(st != NULL);
        for (int naming = 0; naming < 2; naming++) {
            osp_otlp_prom_options opt = {.naming = naming};
            osp_series_batch_init(&s);
            CHECK(osp_otlp_to_prom(&b, &opt, st, &s, &prep) == 0);
            CHECK(prep.rejected >= 0);
            check_series(&s);
            osp_series_batch_cleanup(&s);
        }
        osp_delta_state_destroy(st);
    } else {
        CHECK(b.npoints == 0 && rep.message[0]);
    }
    osp_metric_batch_cleanup(&b);
    return 0;
}
