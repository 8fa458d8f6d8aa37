/* Helpers for the tests of derived series: hand-built spans, and finding series in an
 * osp_series_batch by their text, name{a="b",...} with the labels in name order. Include
 * after testutil.h. */
#ifndef OSP_TESTS_ANALYTICS_DERIVETEST_H
#define OSP_TESTS_ANALYTICS_DERIVETEST_H

#include <math.h>

#include "core/buf.h"
#include "model/attr.h"
#include "model/series.h"
#include "model/span.h"

/* A span of trace `trace` with span id `id` and parent `parent` (0: a root), each id's
 * bytes all that value, lasting dur_ns from start_ns. */
static inline osp_span osp_test_span(uint8_t trace, uint8_t id, uint8_t parent, int32_t kind,
                                     int32_t status, uint64_t start_ns, uint64_t dur_ns,
                                     const char *name)
{
    osp_span s = {.kind = kind,
                  .status_code = status,
                  .start_ns = start_ns,
                  .end_ns = start_ns + dur_ns,
                  .name = osp_str_c(name)};
    memset(s.trace_id, trace, sizeof s.trace_id);
    memset(s.span_id, id, sizeof s.span_id);
    memset(s.parent_span_id, parent, sizeof s.parent_span_id);
    return s;
}

/* Appends the string attribute key=value to the attrs blob being built in b. */
static inline void osp_test_attr(osp_buf *b, const char *key, const char *value)
{
    osp_value v = {.type = OSP_VAL_STRING, .s = osp_str_c(value)};
    assert_int_equal(osp_attr_append(b, osp_str_c(key), &v), 0);
}

/* Index of the series of b whose text is want, or -1. */
static inline long osp_test_series_index(const osp_series_batch *b, const char *want)
{
    char text[1024];
    for (size_t i = 0; i < b->nseries; i++) {
        osp_labels_format(text, sizeof text, b->series[i].labels, b->series[i].nlabels);
        if (!strcmp(text, want))
            return (long)i;
    }
    return -1;
}

/* The one sample value of the series whose text is want; NAN when there is none. */
static inline double osp_test_series_value(const osp_series_batch *b, const char *want)
{
    long i = osp_test_series_index(b, want);
    if (i < 0 || b->series[i].nsamples != 1)
        return NAN;
    return b->series[i].samples[0].v;
}

/* The exemplar of series index i of b, or NULL. */
static inline const osp_prom_exemplar *osp_test_exemplar_of(const osp_series_batch *b, long i)
{
    for (size_t k = 0; k < b->nexemplars; k++)
        if ((long)b->exemplars[k].series == i)
            return &b->exemplars[k].ex;
    return NULL;
}

#endif
