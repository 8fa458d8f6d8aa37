/* libFuzzer target for the OTLP protobuf metrics decoder: any input decodes or fails
 * cleanly; on success every slice of every row lies inside the body or the batch arena,
 * arrays are where their counts say, and the canonical blobs iterate without error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "model/attr.h"
#include "proto/otlp_metrics.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *body_p;
static size_t body_n;

/* Reads every byte of [p, p+n): ASan flags it if it lies outside live memory (the body or
 * an arena chunk); a slice into the body must lie wholly inside it. */
static void touch(const void *p, size_t n)
{
    if (n == 0)
        return;
    CHECK(p != NULL);
    const uint8_t *b = p;
    if (b >= body_p && b < body_p + body_n)
        CHECK(n <= (size_t)(body_p + body_n - b));
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++)
        sink ^= b[i];
    (void)sink;
}
static void touch_str(osp_str s)
{
    touch(s.p, s.n);
}

static void check_attrs(osp_str attrs)
{
    osp_attr_iter it;
    osp_str key;
    osp_value v;
    int rc;
    touch_str(attrs);
    osp_attr_iter_init(&it, attrs);
    while ((rc = osp_attr_next(&it, &key, &v)) == 1)
        ;
    CHECK(rc == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osp_metric_batch b;
    osp_decode_report rep;
    osp_metric_batch_init(&b);
    body_p = data;
    body_n = size;
    int rc = osp_otlp_metrics_decode_pb(osp_str_make((const char *)data, size), &b, &rep);
    CHECK(rc == 0 || rc == OSP_EPARSE);
    CHECK(rep.rejected >= 0);
    if (rc == 0) {
        for (size_t i = 0; i < b.nresources; i++) {
            check_attrs(b.resources[i].attributes);
            touch_str(b.resources[i].schema_url);
            touch_str(b.resources[i].entity_refs);
        }
        for (size_t i = 0; i < b.nscopes; i++) {
            check_attrs(b.scopes[i].attributes);
            touch_str(b.scopes[i].name);
            touch_str(b.scopes[i].version);
        }
        for (size_t i = 0; i < b.nmetrics; i++) {
            const osp_metric *m = &b.metrics[i];
            CHECK(m->name.n > 0 && osp_utf8_valid(m->name.p, m->name.n));
            CHECK(m->resource < b.nresources && m->scope < b.nscopes);
            CHECK(m->type >= OSP_METRIC_GAUGE && m->type <= OSP_METRIC_SUMMARY);
            touch_str(m->description);
            touch_str(m->unit);
            check_attrs(m->metadata);
        }
        for (size_t i = 0; i < b.npoints; i++) {
            const osp_metric_point *p = &b.points[i];
            CHECK(p->metric < b.nmetrics);
            check_attrs(p->attributes);
            touch_str(p->exemplars);
            osp_blob_iter it;
            osp_exemplar ex;
            osp_blob_iter_init(&it, p->exemplars);
            while ((rc = osp_exemplars_next(&it, &ex)) == 1)
                check_attrs(ex.filtered_attributes);
            CHECK(rc == 0);
            CHECK(p->nbuckets == 0 ? p->nbounds == 0 : p->nbuckets == p->nbounds + 1);
            for (size_t k = 1; k < p->nbounds; k++)
                CHECK(p->bounds[k - 1] < p->bounds[k]);
            touch(p->bucket_counts, p->nbuckets * sizeof *p->bucket_counts);
            touch(p->bounds, p->nbounds * sizeof *p->bounds);
            touch(p->pos_counts, p->npos * sizeof *p->pos_counts);
            touch(p->neg_counts, p->nneg * sizeof *p->neg_counts);
            touch(p->quantiles, p->nquantiles * sizeof *p->quantiles);
        }
    } else {
        CHECK(b.npoints == 0 && rep.message[0]);
    }
    osp_metric_batch_cleanup(&b);
    return 0;
}
