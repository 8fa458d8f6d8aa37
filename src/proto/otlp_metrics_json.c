/* OTLP/JSON metrics decoder: ExportMetricsServiceRequest / MetricsData JSON into canonical
 * metric rows, the same rows otlp_metrics_pb.c gives for the same data.
 *
 * One streaming pass with core/json.h, with the trace JSON decoder's policies (otlp_json.c):
 * members in any order, unknown members skipped, null = absent (a null element of an
 * ArrayValue is the empty value, of any other object list it is skipped); a member given
 * twice, a oneof with two members set, or a value of the wrong JSON type fails the request
 * with a message naming the member and byte offset; the original snake_case names are
 * accepted beside lowerCamelCase (both spellings of one member count as a duplicate). The
 * reading of members, scalars, attributes, Resource and InstrumentationScope is shared
 * with it (otlp_json_int.h). Beyond that decoder, as the proto3 JSON mapping allows:
 * 32-bit integers and enums may also be strings, and enums may be given by name
 * ("AGGREGATION_TEMPORALITY_DELTA").
 *
 * Rows are added as their objects close (members come in any order, so a Metric's name
 * may follow its points): point rows as each point closes, then the metric, scope and
 * resource rows, whose indexes are known when they open. Rejections are held per level
 * (see `pend`) until the enclosing ResourceMetrics closes, so that an invalid metric,
 * scope or resource found late takes back its rows and counts its points once, exactly
 * as the protobuf decoder counts them; messages match that decoder's, with field names in
 * their JSON spelling. The canonical blobs are built with model/attr.h and copied to the
 * arena with the shared osp__otlp_keep_blobs (otlp_int.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "model/attr.h"
#include "proto/otlp_int.h"
#include "proto/otlp_json_int.h"
#include "proto/otlp_metrics.h"

/* Rejected points not yet reported: their count and the first message. A level's pending
 * rejections join its parent's when it closes valid, and are dropped when it is invalid
 * (the parent then rejects all its points at once). */
typedef struct pend {
    int64_t n;
    char msg[256];
} pend;


typedef struct dec {
    osp__ojson j;    /* first: the callbacks of osp__ojson_each_object get it */
    osp__otlp_dec c; /* rep, arena; attrs: the point's; nested: an exemplar's attributes */
    osp_metric_batch *out;
    size_t nmetric; /* Metric objects seen so far: the index in messages */
    osp_buf meta, exemplars;
    osp_buf arr[OSP__ARR_N];
} dec;

/* Adds n rejected points to p; the message is kept if it is p's first. */
__attribute__((format(printf, 3, 4))) static void pend_add(pend *p, int64_t n, const char *fmt, ...)
{
    if (n <= 0)
        return;
    p->n += n;
    if (p->msg[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
}

static void pend_join(pend *into, const pend *from)
{
    if (from->n)
        pend_add(into, from->n, "%s", from->msg);
}

/* A signed integer member within [min, max]: 1 when present, 0 for null. */
static int get_int(dec *d, const char *field, int64_t min, int64_t max, int64_t *out)
{
    osp_json_token t;
    uint64_t v;
    int rc = osp__ojson_read_tok(&d->j, &t);
    if (rc == 1 && osp__ojson_tok_int(&t, min, (uint64_t)max, 1, &v))
        return osp__ojson_bad_value(&d->j, &t, field,
                                    max == INT32_MAX ? "an int32 integer" : "an int64 integer");
    if (rc == 1)
        *out = (int64_t)v;
    return rc;
}

/* A double member: 1 when present (the value in *out), 0 for null. */
static int get_double(dec *d, const char *field, double *out)
{
    osp_json_token t;
    int rc = osp__ojson_read_tok(&d->j, &t);
    if (rc == 1 && osp__ojson_tok_double(&t, out))
        return osp__ojson_bad_value(&d->j, &t, field, OSP__OJSON_WANT_DOUBLE);
    return rc;
}

static int get_bool(dec *d, const char *field, uint8_t *out)
{
    osp_json_token t;
    int rc = osp__ojson_read_tok(&d->j, &t);
    if (rc == 1 && t.type != OSP_JSON_TRUE && t.type != OSP_JSON_FALSE)
        return osp__ojson_bad_value(&d->j, &t, field, "true or false");
    if (rc == 1)
        *out = t.type == OSP_JSON_TRUE;
    return rc < 0 ? rc : 0;
}

/* AggregationTemporality as an integer (kept as received) or by name. */
static int get_temporality(dec *d, const char *field, int32_t *out)
{
    static const char *const names[] = {"AGGREGATION_TEMPORALITY_UNSPECIFIED",
                                        "AGGREGATION_TEMPORALITY_DELTA",
                                        "AGGREGATION_TEMPORALITY_CUMULATIVE"};
    osp_json_token t;
    uint64_t v;
    int rc = osp__ojson_read_tok(&d->j, &t);
    if (rc <= 0)
        return rc;
    for (int32_t i = 0; t.type == OSP_JSON_STRING && i < 3; i++)
        if (osp_str_eqz(t.s, names[i])) {
            *out = i;
            return 0;
        }
    if (osp__ojson_tok_int(&t, INT32_MIN, INT32_MAX, 1, &v))
        return osp__ojson_bad_value(&d->j, &t, field, "an AggregationTemporality number or name");
    *out = (int32_t)(int64_t)v;
    return 0;
}

/* Copies a built blob into the arena. */
static int keep(dec *d, osp_buf *b, osp_str *dst)
{
    osp_buf *const bufs[] = {b};
    osp_str *const dsts[] = {dst};
    return osp__otlp_keep_blobs(&d->c, bufs, dsts, 1);
}

/* ---- Resource and InstrumentationScope ---- */

/* What an open ResourceMetrics passes down. */
typedef struct rctx {
    uint32_t index; /* the row index its metrics get */
    osp_resource res;
    osp__ojson_fault f;
    pend p;
    int64_t npoints;  /* point objects seen under it */
    size_t msg_first; /* metric range of its first scope with points, for messages */
    size_t msg_last;
    int have_range;
} rctx;

/* What an open ScopeMetrics passes down. */
typedef struct sctx {
    rctx *res;
    uint32_t index;
    osp_scope sc;
    osp__ojson_fault f;
    pend p;
    int64_t npoints;
} sctx;

/* ---- Data points ---- */

/* What an open Metric passes down to its points. */
typedef struct mctx {
    int32_t type;         /* enum osp_metric_type of the data member being read */
    uint32_t index;       /* the row index its points get */
    size_t npoints;       /* point objects seen */
    size_t nbad, bad_at;  /* points rejected, index of the first */
    osp__ojson_fault bad; /* why the first was */
} mctx;

enum {
    P_ATTRS,
    P_START,
    P_TIME,
    P_DOUBLE,
    P_INT,
    P_EXEMPLARS,
    P_FLAGS,
    P_COUNT,
    P_SUM,
    P_MIN,
    P_MAX,
    P_BUCKETS,
    P_BOUNDS,
    P_SCALE,
    P_ZERO_COUNT,
    P_ZERO_THRESHOLD,
    P_POS,
    P_NEG,
    P_QUANTILES,
    P_N
};
static const osp__ojson_name point_names[P_N] = {
    [P_ATTRS] = {"attributes", NULL},
    [P_START] = {"startTimeUnixNano", "start_time_unix_nano"},
    [P_TIME] = {"timeUnixNano", "time_unix_nano"},
    [P_DOUBLE] = {"asDouble", "as_double"},
    [P_INT] = {"asInt", "as_int"},
    [P_EXEMPLARS] = {"exemplars", NULL},
    [P_FLAGS] = {"flags", NULL},
    [P_COUNT] = {"count", NULL},
    [P_SUM] = {"sum", NULL},
    [P_MIN] = {"min", NULL},
    [P_MAX] = {"max", NULL},
    [P_BUCKETS] = {"bucketCounts", "bucket_counts"},
    [P_BOUNDS] = {"explicitBounds", "explicit_bounds"},
    [P_SCALE] = {"scale", NULL},
    [P_ZERO_COUNT] = {"zeroCount", "zero_count"},
    [P_ZERO_THRESHOLD] = {"zeroThreshold", "zero_threshold"},
    [P_POS] = {"positive", NULL},
    [P_NEG] = {"negative", NULL},
    [P_QUANTILES] = {"quantileValues", "quantile_values"},
};
#define BIT(x) (1u << (x))
#define P_COMMON (BIT(P_ATTRS) | BIT(P_START) | BIT(P_TIME) | BIT(P_FLAGS))
/* The members of each kind of point, by enum osp_metric_type. */
static const uint32_t point_members[] = {
    [OSP_METRIC_GAUGE] = P_COMMON | BIT(P_DOUBLE) | BIT(P_INT) | BIT(P_EXEMPLARS),
    [OSP_METRIC_SUM] = P_COMMON | BIT(P_DOUBLE) | BIT(P_INT) | BIT(P_EXEMPLARS),
    [OSP_METRIC_HISTOGRAM] = P_COMMON | BIT(P_COUNT) | BIT(P_SUM) | BIT(P_MIN) | BIT(P_MAX) |
                             BIT(P_BUCKETS) | BIT(P_BOUNDS) | BIT(P_EXEMPLARS),
    [OSP_METRIC_EXP_HISTOGRAM] = P_COMMON | BIT(P_COUNT) | BIT(P_SUM) | BIT(P_MIN) | BIT(P_MAX) |
                                 BIT(P_SCALE) | BIT(P_ZERO_COUNT) | BIT(P_ZERO_THRESHOLD) |
                                 BIT(P_POS) | BIT(P_NEG) | BIT(P_EXEMPLARS),
    [OSP_METRIC_SUMMARY] = P_COMMON | BIT(P_COUNT) | BIT(P_SUM) | BIT(P_QUANTILES),
};

/* A repeated uint64 (doubles when `doubles`) member appended to out as 8-byte values. */
static int get_numbers(dec *d, const char *field, int doubles, osp_buf *out)
{
    osp_json_token t;
    int rc = osp__ojson_open_value(&d->j, OSP_JSON_ARRAY_BEGIN, field);
    while (rc == 1 && (rc = osp__ojson_next(&d->j, &t)) == 1 && t.type != OSP_JSON_ARRAY_END) {
        uint64_t u;
        double v;
        if (doubles && osp__ojson_tok_double(&t, &v) == 0)
            rc = osp_buf_append(out, &v, sizeof v);
        else if (!doubles && osp__ojson_tok_int(&t, 0, UINT64_MAX, 0, &u) == 0)
            rc = osp_buf_append(out, &u, sizeof u);
        else
            rc = osp__ojson_bad_value(
                &d->j, &t, field, doubles ? "an array of numbers" : "an array of uint64 integers");
        rc = rc < 0 ? rc : 1;
    }
    return rc < 0 ? rc : 0;
}

/* An ExponentialHistogramDataPoint.Buckets object. */
static int get_buckets(dec *d, const char *field, osp_buf *counts, int32_t *offset)
{
    static const osp__ojson_name names[] = {{"offset", NULL}, {"bucketCounts", "bucket_counts"}};
    osp_json_token k;
    uint32_t seen = 0;
    int64_t off = 0;
    int rc = osp__ojson_open_value(&d->j, OSP_JSON_OBJECT_BEGIN, field), m;
    while (rc > 0 && (rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->j, &k, names, 2, &seen, &m)) != 0)
            return rc;
        if (m == 0)
            rc = get_int(d, "offset", INT32_MIN, INT32_MAX, &off);
        else if (m == 1)
            rc = get_numbers(d, "bucketCounts", 0, counts);
        else
            rc = osp__ojson_skip_value(&d->j);
        rc = rc < 0 ? rc : 1;
    }
    *offset = (int32_t)off;
    return rc;
}

static int decode_quantile(osp__ojson *j, void *arg)
{
    dec *d = (dec *)j;
    static const osp__ojson_name names[] = {{"quantile", NULL}, {"value", NULL}};
    osp_json_token k;
    osp_quantile q = {0, 0};
    uint32_t seen = 0;
    int rc, m;
    (void)arg;
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->j, &k, names, 2, &seen, &m)) != 0)
            return rc;
        if (m >= 0)
            rc = get_double(d, names[m].json, m == 0 ? &q.quantile : &q.value);
        else
            rc = osp__ojson_skip_value(&d->j);
        if (rc < 0)
            return rc;
    }
    return rc ? rc : osp_buf_append(&d->arr[OSP__ARR_QUANTILES], &q, sizeof q);
}

/* Records in f why an exemplar id of len bytes (from get_id) is not valid: not empty nor
 * want bytes, or not hex. */
static void check_id(osp__ojson_fault *f, const char *what, size_t want, size_t len)
{
    if (len == SIZE_MAX)
        osp__ojson_set_fault(f, "exemplars: %s is not a hex string", what);
    else if (len != 0 && len != want)
        osp__ojson_set_fault(f, "exemplars: %s must be empty or %zu bytes, got %zu", what, want,
                             len);
}

static int decode_exemplar(osp__ojson *j, void *arg)
{
    dec *d = (dec *)j;
    static const osp__ojson_name names[] = {{"timeUnixNano", "time_unix_nano"},
                                            {"asDouble", "as_double"},
                                            {"asInt", "as_int"},
                                            {"traceId", "trace_id"},
                                            {"spanId", "span_id"},
                                            {"filteredAttributes", "filtered_attributes"}};
    osp__ojson_fault *f = arg;
    osp_json_token k;
    osp_exemplar ex = {0};
    size_t tlen = 0, slen = 0;
    uint32_t seen = 0;
    int rc, m;
    osp_buf_reset(&d->c.nested);
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->j, &k, names, 6, &seen, &m)) != 0)
            return rc;
        if ((m == 1 || m == 2) && ex.has & OSP_EXEMPLAR_VALUE)
            return osp__ojson_invalid(&d->j, k.off, "Exemplar with more than one value");
        switch (m) {
        case 0:
            rc = osp__ojson_get_uint(&d->j, names[m].json, UINT64_MAX, &ex.time_ns);
            break;
        case 1:
            if ((rc = get_double(d, names[m].json, &ex.value.d)) == 1)
                ex.has |= OSP_EXEMPLAR_VALUE;
            break;
        case 2:
            if ((rc = get_int(d, names[m].json, INT64_MIN, INT64_MAX, &ex.value.i)) == 1)
                ex.has |= OSP_EXEMPLAR_VALUE | OSP_EXEMPLAR_VALUE_INT;
            break;
        case 3:
            rc = osp__ojson_get_id(&d->j, names[m].json, ex.trace_id, sizeof ex.trace_id, &tlen);
            break;
        case 4:
            rc = osp__ojson_get_id(&d->j, names[m].json, ex.span_id, sizeof ex.span_id, &slen);
            break;
        case 5:
            rc = osp__ojson_get_attrs(&d->j, &d->c.nested, f, "exemplars.filteredAttributes");
            break;
        default:
            rc = osp__ojson_skip_value(&d->j);
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    check_id(f, "traceId", sizeof ex.trace_id, tlen);
    check_id(f, "spanId", sizeof ex.span_id, slen);
    if (tlen == sizeof ex.trace_id)
        ex.has |= OSP_EXEMPLAR_TRACE_ID;
    if (slen == sizeof ex.span_id)
        ex.has |= OSP_EXEMPLAR_SPAN_ID;
    ex.filtered_attributes = osp_buf_str(&d->c.nested);
    return osp_exemplars_append(&d->exemplars, &ex);
}

/* The histogram checks of the protobuf decoder, in its order. */
static void check_histogram(const osp_metric_point *p, osp__ojson_fault *f)
{
    if ((p->nbuckets || p->nbounds) && p->nbuckets != p->nbounds + 1)
        osp__ojson_set_fault(f,
                             "bucketCounts has %zu entries, explicitBounds %zu (want bounds + 1)",
                             p->nbuckets, p->nbounds);
    for (size_t i = 1; i < p->nbounds; i++)
        if (!(p->bounds[i - 1] < p->bounds[i]))
            osp__ojson_set_fault(f, "explicitBounds not strictly increasing at index %zu", i);
    for (size_t i = 0; i < p->nbounds; i++)
        if (isnan(p->bounds[i]))
            osp__ojson_set_fault(f, "explicitBounds[%zu] is NaN", i);
}

/* A data point object (just opened) of the metric in arg; added when valid. */
static int decode_point(osp__ojson *j, void *arg)
{
    dec *d = (dec *)j;
    mctx *mc = arg;
    osp_json_token k;
    osp_metric_point p = {.metric = mc->index};
    osp__ojson_fault f = {""};
    uint32_t seen = 0;
    int64_t i64;
    int rc, m;
    osp_buf_reset(&d->c.attrs);
    osp_buf_reset(&d->exemplars);
    for (size_t i = 0; i < OSP__ARR_N; i++)
        osp_buf_reset(&d->arr[i]);
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member_of(&d->j, &k, point_names, P_N, point_members[mc->type], &seen,
                                       &m)) != 0)
            return rc;
        if ((m == P_DOUBLE || m == P_INT) && p.has & OSP_POINT_VALUE)
            return osp__ojson_invalid(&d->j, k.off, "data point with more than one value");
        const char *name = m >= 0 ? point_names[m].json : "";
        switch (m) {
        case P_ATTRS:
            rc = osp__ojson_get_attrs(&d->j, &d->c.attrs, &f, name);
            break;
        case P_START:
        case P_TIME:
            rc = osp__ojson_get_uint(&d->j, name, UINT64_MAX,
                                     m == P_START ? &p.start_ns : &p.time_ns);
            break;
        case P_DOUBLE:
            if ((rc = get_double(d, name, &p.value.d)) == 1)
                p.has |= OSP_POINT_VALUE;
            break;
        case P_INT:
            if ((rc = get_int(d, name, INT64_MIN, INT64_MAX, &p.value.i)) == 1)
                p.has |= OSP_POINT_VALUE | OSP_POINT_VALUE_INT;
            break;
        case P_EXEMPLARS:
            rc = osp__ojson_each_object(&d->j, name, decode_exemplar, &f);
            break;
        case P_FLAGS:
            rc = osp__ojson_get_u32(&d->j, name, &p.flags);
            break;
        case P_COUNT:
        case P_ZERO_COUNT:
            rc = osp__ojson_get_uint(&d->j, name, UINT64_MAX,
                                     m == P_COUNT ? &p.count : &p.zero_count);
            break;
        case P_SUM:
        case P_MIN:
        case P_MAX: {
            static const uint32_t bits[] = {OSP_POINT_SUM, OSP_POINT_MIN, OSP_POINT_MAX};
            double *const dst[] = {&p.sum, &p.min, &p.max};
            if ((rc = get_double(d, name, dst[m - P_SUM])) == 1)
                p.has |= bits[m - P_SUM];
            break;
        }
        case P_BUCKETS:
        case P_BOUNDS:
            rc = get_numbers(d, name, m == P_BOUNDS, &d->arr[m == P_BOUNDS ? OSP__ARR_BOUNDS : OSP__ARR_BUCKETS]);
            break;
        case P_SCALE:
            i64 = 0;
            rc = get_int(d, name, INT32_MIN, INT32_MAX, &i64);
            p.scale = (int32_t)i64;
            break;
        case P_ZERO_THRESHOLD:
            rc = get_double(d, name, &p.zero_threshold);
            break;
        case P_POS:
            rc = get_buckets(d, name, &d->arr[OSP__ARR_POS], &p.pos_offset);
            break;
        case P_NEG:
            rc = get_buckets(d, name, &d->arr[OSP__ARR_NEG], &p.neg_offset);
            break;
        case P_QUANTILES:
            rc = osp__ojson_each_object(&d->j, name, decode_quantile, NULL);
            break;
        default:
            rc = osp__ojson_skip_value(&d->j);
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (mc->type == OSP_METRIC_SUMMARY)
        p.has |= OSP_POINT_SUM; /* SummaryDataPoint.sum has no presence */
    if ((rc = osp__otlp_keep_point_arrays(d->c.arena, d->arr, &p)) < 0)
        return rc;
    check_histogram(&p, &f);
    size_t index = mc->npoints++;
    if (f.msg[0]) {
        if (mc->nbad++ == 0) {
            mc->bad_at = index;
            mc->bad = f;
        }
        return 0;
    }
    osp_buf *const bufs[] = {&d->c.attrs, &d->exemplars};
    osp_str *const dst[] = {&p.attributes, &p.exemplars};
    if ((rc = osp__otlp_keep_blobs(&d->c, bufs, dst, 2)) < 0)
        return rc;
    osp_metric_point *row = osp_metric_batch_add_point(d->out);
    if (!row)
        return OSP_ENOMEM;
    *row = p;
    return 0;
}

/* The Gauge, Sum, Histogram, ExponentialHistogram or Summary object (just opened). */
static int decode_data(dec *d, mctx *mc, osp_metric *m)
{
    static const osp__ojson_name names[] = {{"dataPoints", "data_points"},
                                            {"aggregationTemporality", "aggregation_temporality"},
                                            {"isMonotonic", "is_monotonic"}};
    uint32_t allowed = BIT(0);
    osp_json_token k;
    uint32_t seen = 0;
    int rc, i;
    if (mc->type == OSP_METRIC_SUM)
        allowed |= BIT(1) | BIT(2);
    else if (mc->type == OSP_METRIC_HISTOGRAM || mc->type == OSP_METRIC_EXP_HISTOGRAM)
        allowed |= BIT(1);
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member_of(&d->j, &k, names, 3, allowed, &seen, &i)) != 0)
            return rc;
        if (i == 0)
            rc = osp__ojson_each_object(&d->j, names[i].json, decode_point, mc);
        else if (i == 1)
            rc = get_temporality(d, names[i].json, &m->temporality);
        else if (i == 2)
            rc = get_bool(d, names[i].json, &m->monotonic);
        else
            rc = osp__ojson_skip_value(&d->j);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* The metric's name for messages: at most 64 bytes, cut on a character boundary. */
static int name_len(osp_str name)
{
    size_t n = name.n;
    if (n > 64) {
        n = 64;
        while (n > 0 && ((unsigned char)name.p[n] & 0xc0) == 0x80)
            n--;
    }
    return (int)n;
}

static int decode_metric(osp__ojson *j, void *arg)
{
    dec *d = (dec *)j;
    enum { M_NAME, M_DESC, M_UNIT, M_META, M_DATA };
    static const osp__ojson_name names[] = {
        [M_NAME] = {"name", NULL},
        [M_DESC] = {"description", NULL},
        [M_UNIT] = {"unit", NULL},
        [M_META] = {"metadata", NULL},
        [M_DATA + 0] = {"gauge", NULL},
        [M_DATA + 1] = {"sum", NULL},
        [M_DATA + 2] = {"histogram", NULL},
        [M_DATA + 3] = {"exponentialHistogram", "exponential_histogram"},
        [M_DATA + 4] = {"summary", NULL},
    };
    static const int32_t types[] = {OSP_METRIC_GAUGE, OSP_METRIC_SUM, OSP_METRIC_HISTOGRAM,
                                    OSP_METRIC_EXP_HISTOGRAM, OSP_METRIC_SUMMARY};
    sctx *sc = arg;
    size_t first = d->out->npoints, index = d->nmetric++;
    mctx mc = {.index = (uint32_t)d->out->nmetrics};
    osp_metric m = {.resource = sc->res->index, .scope = sc->index};
    osp_json_token k;
    osp__ojson_fault f = {""};
    uint32_t seen = 0;
    int rc, i;
    osp_buf_reset(&d->meta);
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->j, &k, names, M_DATA + 5, &seen, &i)) != 0)
            return rc;
        if (i >= M_DATA && m.type)
            return osp__ojson_invalid(&d->j, k.off, "Metric with more than one data member");
        if (i == M_NAME || i == M_DESC || i == M_UNIT) {
            osp_str *const dst[] = {&m.name, &m.description, &m.unit};
            rc = osp__ojson_get_str(&d->j, names[i].json, dst[i]);
        } else if (i == M_META) {
            rc = osp__ojson_get_attrs(&d->j, &d->meta, &f, "metadata");
        } else if (i >= M_DATA) {
            if ((rc = osp__ojson_open_value(&d->j, OSP_JSON_OBJECT_BEGIN, names[i].json)) == 1) {
                m.type = mc.type = types[i - M_DATA];
                rc = decode_data(d, &mc, &m);
            }
        } else {
            rc = osp__ojson_skip_value(&d->j);
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0 || !m.type)
        return rc; /* no data: nothing to keep or reject */
    sc->npoints += (int64_t)mc.npoints;
    if (m.name.n == 0)
        snprintf(f.msg, sizeof f.msg, "name is empty");
    if (f.msg[0]) {
        d->out->npoints = first;
        if (m.name.n)
            pend_add(&sc->p, (int64_t)mc.npoints, "metric \"%.*s\": %s", name_len(m.name), m.name.p,
                     f.msg);
        else
            pend_add(&sc->p, (int64_t)mc.npoints, "metric %zu: %s", index, f.msg);
        return 0;
    }
    pend_add(&sc->p, (int64_t)mc.nbad, "metric \"%.*s\" point %zu: %s", name_len(m.name), m.name.p,
             mc.bad_at, mc.bad.msg);
    if (d->out->npoints == first)
        return 0; /* no row refers to it */
    osp_metric *row;
    if ((rc = keep(d, &d->meta, &m.metadata)) < 0)
        return rc;
    if (!(row = osp_metric_batch_add_metric(d->out)))
        return OSP_ENOMEM;
    *row = m;
    return 0;
}

/* ---- Containers ---- */

static int decode_scope_metrics(osp__ojson *j, void *arg)
{
    dec *d = (dec *)j;
    static const osp__ojson_name names[] = {
        {"scope", NULL}, {"metrics", NULL}, {"schemaUrl", "schema_url"}};
    rctx *res = arg;
    sctx g = {.res = res, .index = (uint32_t)d->out->nscopes};
    size_t first_point = d->out->npoints, first_metric = d->out->nmetrics, first = d->nmetric;
    osp_json_token k;
    uint32_t seen = 0;
    int rc, m;
    osp_buf_reset(&d->j.scope_attrs);
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->j, &k, names, 3, &seen, &m)) != 0)
            return rc;
        if (m == 0 &&
            (rc = osp__ojson_open_value(&d->j, OSP_JSON_OBJECT_BEGIN, names[m].json)) == 1)
            rc = osp__ojson_decode_scope(&d->j, &g.sc, &g.f);
        else if (m == 1)
            rc = osp__ojson_each_object(&d->j, names[m].json, decode_metric, &g);
        else if (m == 2)
            rc = osp__ojson_get_str(&d->j, names[m].json, &g.sc.schema_url);
        else if (m < 0)
            rc = osp__ojson_skip_value(&d->j);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    size_t n = d->nmetric - first, last = first + n - (n > 0);
    res->npoints += g.npoints;
    if (g.npoints && !res->have_range) {
        res->have_range = 1;
        res->msg_first = first;
        res->msg_last = last;
    }
    if (g.f.msg[0]) {
        d->out->npoints = first_point;
        d->out->nmetrics = first_metric;
        pend_add(&res->p, g.npoints, "metrics %zu..%zu: scope: %s", first, last, g.f.msg);
        return 0;
    }
    pend_join(&res->p, &g.p);
    if (d->out->npoints == first_point)
        return 0; /* no row refers to it */
    osp_scope *row;
    if ((rc = keep(d, &d->j.scope_attrs, &g.sc.attributes)) < 0)
        return rc;
    if (!(row = osp_metric_batch_add_scope(d->out)))
        return OSP_ENOMEM;
    *row = g.sc;
    return 0;
}

static int decode_resource_metrics(osp__ojson *j, void *arg)
{
    dec *d = (dec *)j;
    static const osp__ojson_name names[] = {
        {"resource", NULL}, {"scopeMetrics", "scope_metrics"}, {"schemaUrl", "schema_url"}};
    rctx g = {.index = (uint32_t)d->out->nresources};
    size_t first_point = d->out->npoints, first_metric = d->out->nmetrics;
    size_t first_scope = d->out->nscopes;
    osp_json_token k;
    osp_value v;
    uint32_t seen = 0;
    int rc, m;
    (void)arg;
    osp_buf_reset(&d->j.res_attrs);
    osp_buf_reset(&d->j.res_refs);
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->j, &k, names, 3, &seen, &m)) != 0)
            return rc;
        if (m == 0 &&
            (rc = osp__ojson_open_value(&d->j, OSP_JSON_OBJECT_BEGIN, names[m].json)) == 1)
            rc = osp__ojson_decode_resource(&d->j, &g.res, &g.f);
        else if (m == 1)
            rc = osp__ojson_each_object(&d->j, names[m].json, decode_scope_metrics, &g);
        else if (m == 2)
            rc = osp__ojson_get_str(&d->j, names[m].json, &g.res.schema_url);
        else if (m < 0)
            rc = osp__ojson_skip_value(&d->j);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (g.f.msg[0]) {
        d->out->npoints = first_point;
        d->out->nmetrics = first_metric;
        d->out->nscopes = first_scope;
        g.p.n = 0;
        g.p.msg[0] = '\0';
        pend_add(&g.p, g.npoints, "metrics %zu..%zu: resource: %s", g.msg_first, g.msg_last,
                 g.f.msg);
    }
    d->c.rep->rejected += g.p.n;
    if (g.p.n)
        osp__otlp_report(&d->c, 0, "%s", g.p.msg);
    if (d->out->npoints == first_point)
        return 0; /* no row refers to it */
    osp_resource *row;
    osp_buf *const bufs[] = {&d->j.res_attrs, &d->j.res_refs};
    osp_str *const dst[] = {&g.res.attributes, &g.res.entity_refs};
    if ((rc = osp__otlp_keep_blobs(&d->c, bufs, dst, 2)) < 0)
        return rc;
    if (osp_attr_find(g.res.attributes, OSP_STR_LIT("service.name"), &v) == 1 &&
        v.type == OSP_VAL_STRING)
        g.res.service_name = v.s;
    if (!(row = osp_metric_batch_add_resource(d->out)))
        return OSP_ENOMEM;
    *row = g.res;
    return 0;
}

int osp_otlp_metrics_decode_json(osp_str body, osp_metric_batch *out, osp_decode_report *rep)
{
    /* Canonical blobs are never larger than the JSON they come from; a value given before
     * its key needs room for a second copy while it is wrapped. An array element takes at
     * least 2 bytes of JSON and 8 decoded (a quantile at least 16, and 16 decoded). */
    size_t cap = 2 * body.n + 4096;
    size_t nres = out->nresources, nscopes = out->nscopes, nmetrics = out->nmetrics;
    size_t npoints = out->npoints;
    dec d = {.c = {.rep = rep, .arena = &out->arena}, .out = out};
    osp_buf *own[] = {&d.meta, &d.exemplars, &d.c.attrs, &d.c.nested};
    osp__ojson_init(&d.j, body, rep, &out->arena, cap);
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        osp_buf_init(own[i], cap);
    for (size_t i = 0; i < OSP__ARR_N; i++)
        osp_buf_init(&d.arr[i], 4 * body.n + 4096);
    static const osp__ojson_name top = {"resourceMetrics", "resource_metrics"};
    int rc = osp__ojson_decode_body(&d.j, &top, decode_resource_metrics);
    if (rc == OSP_ETOOBIG) {
        osp__otlp_report(&d.c, 1, "invalid OTLP/JSON: decoded data too large");
        rc = OSP_EPARSE;
    }
    if (rc < 0) { /* leave out as it was */
        out->nresources = nres;
        out->nscopes = nscopes;
        out->nmetrics = nmetrics;
        out->npoints = npoints;
        rep->rejected = 0;
    }
    osp__ojson_cleanup(&d.j);
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        osp_buf_cleanup(own[i]);
    for (size_t i = 0; i < OSP__ARR_N; i++)
        osp_buf_cleanup(&d.arr[i]);
    return rc;
}
