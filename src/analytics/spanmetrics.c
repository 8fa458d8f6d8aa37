/* RED from spans (spanmetrics.h): a calls counter and a duration histogram per service,
 * span name, span kind and status code. */
#include "analytics/spanmetrics.h"

#include "analytics/seriestab.h"
#include "core/mem.h"

static const char *const red_labels[] = {"service_name", "span_name", "span_kind", "status_code"};

typedef struct spanmetrics {
    osp_family family;       /* the table points at it */
    osp_seriestab *duration; /* its observation counts are the calls */
} spanmetrics;

const char *osp_span_kind_label(int32_t kind)
{
    static const char *const names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                        "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                        "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
    return kind >= 0 && kind <= OSP_SPAN_KIND_CONSUMER ? names[kind] : names[0];
}

const char *osp_status_code_label(int32_t code)
{
    static const char *const names[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};
    return code >= 0 && code <= OSP_STATUS_ERROR ? names[code] : names[0];
}

double osp_span_seconds(const osp_span *s)
{
    return s->end_ns > s->start_ns ? (double)(s->end_ns - s->start_ns) / 1e9 : 0;
}

osp_str osp_span_service(const osp_resource *res)
{
    return res && res->service_name.n ? res->service_name : OSP_STR_LIT("unknown_service");
}

static void spanmetrics_destroy(void *self)
{
    spanmetrics *m = self;
    if (!m)
        return;
    osp_seriestab_destroy(m->duration);
    osp_free(m);
}

static void *spanmetrics_create(const osp_derive_env *env)
{
    spanmetrics *m = osp_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->family = (osp_family){.name = OSP_DERIVED_DURATION,
                             .kind = OSP_KIND_HISTOGRAM,
                             .help = "Span durations, by service, name, kind and status.",
                             .unit = "seconds",
                             .labels = red_labels,
                             .nlabels = 4,
                             .buckets = osp_derived_span_buckets,
                             .nbuckets = osp_derived_span_nbuckets,
                             .count_name = OSP_DERIVED_CALLS,
                             .count_help = "Spans received, by service, name, kind and status."};
    if (!(m->duration = osp_seriestab_create(&m->family))) {
        spanmetrics_destroy(m);
        return NULL;
    }
    return m;
}

/* The time of a span's exemplar: its end, or the arrival time when it has none. */
static int64_t exemplar_ms(const osp_span *s, int64_t now_ms)
{
    return s->end_ns ? (int64_t)(s->end_ns / 1000000) : now_ms;
}

static void spanmetrics_add(void *self, const osp_derived_span *ds, int64_t now_ms)
{
    spanmetrics *m = self;
    const osp_span *s = ds->span;
    osp_str values[4] = {osp_span_service(ds->resource), s->name,
                         osp_str_c(osp_span_kind_label(s->kind)),
                         osp_str_c(osp_status_code_label(s->status_code))};
    /* Out of memory loses this observation only; the table stays consistent. */
    (void)osp_seriestab_add(m->duration, values, osp_span_seconds(s), s->trace_id,
                            exemplar_ms(s, now_ms));
}

static int spanmetrics_flush(void *self, int64_t t_ms, osp_series_batch *out)
{
    spanmetrics *m = self;
    return osp_seriestab_flush(m->duration, t_ms, out);
}

const osp_deriver osp_spanmetrics_deriver = {"spanmetrics", spanmetrics_create, spanmetrics_add,
                                             spanmetrics_flush, spanmetrics_destroy};
