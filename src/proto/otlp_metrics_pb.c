/* OTLP metrics in protobuf: ExportMetricsServiceRequest to canonical metric rows.
 *
 * Same approach and policies as the trace decoder (otlp_pb.c): one pass over each message
 * with core/pb.h; strings stay slices into the body; attribute lists, exemplars and
 * entity refs are re-encoded canonically into per-request scratch buffers and copied to
 * the arena once per row; bucket counts, bounds and quantiles are copied into aligned
 * arena arrays (packed and unpacked encodings accepted, even interleaved). Fields in any
 * order, unknown fields (and the reserved data point field 1) skipped by wire type, last
 * one wins for scalars, for the Metric.data and value oneofs and for non-repeated
 * messages (resource, scope, the data message, exponential buckets). A known field with
 * the wrong wire type, a malformed nested message, invalid UTF-8 or a failed semantic
 * check rejects the data point (or every point under a bad metric, scope or resource);
 * malformed framing of the request, ResourceMetrics or ScopeMetrics fails the whole
 * request with OSP_EPARSE. A malformed Metric whose points cannot be counted counts as
 * one rejected point.
 * What both decoders share (AnyValue, Resource, InstrumentationScope, ...) is in
 * otlp_common.c. */
#include "proto/otlp_metrics.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/pb.h"
#include "model/attr.h"
#include "proto/otlp_int.h"

/* Per-request decoder state. */
typedef struct dec {
    osp__otlp_dec c; /* report, arena, attrs and nested scratch, why */
    osp_metric_batch *out;
    osp_buf exemplars; /* blob of the row being decoded, besides c.attrs */
    osp_buf meta;      /* metadata of the metric being decoded */
    osp_buf arr[OSP__ARR_N]; /* arrays of the point (otlp_int.h) */
    size_t nmetric;    /* metrics seen so far: the index in messages */
} dec;


#define V OSP_PB_VARINT
#define L OSP_PB_LEN
#define F64 OSP_PB_I64
#define ANY OSP__OTLP_ANY

static const uint8_t metric_wires[] = {L, L, L, ANY, L, ANY, L, ANY, L, L, L, L};
static const uint8_t exemplar_wires[] = {ANY, F64, F64, L, L, F64, L};
static const uint8_t buckets_wires[] = {V, ANY};
static const uint8_t quantile_wires[] = {F64, F64};

/* What a data point field means; one table per point kind, indexed by field number - 1. */
enum role {
    R_SKIP, /* reserved: skipped like an unknown field */
    R_ATTRS,
    R_START,
    R_TIME,
    R_EXEMPLARS,
    R_FLAGS,
    R_DOUBLE,
    R_INT,
    R_COUNT,
    R_SUM,
    R_MIN,
    R_MAX,
    R_BUCKETS,
    R_BOUNDS,
    R_SCALE,
    R_ZERO_COUNT,
    R_ZERO_THRESHOLD,
    R_POS,
    R_NEG,
    R_QUANTILES,
};

typedef struct field_spec {
    uint8_t role, wire;
    const char *name;
} field_spec;

static const field_spec number_fields[] = {
    {R_SKIP, ANY, "labels"},         {R_START, F64, "start_time_unix_nano"},
    {R_TIME, F64, "time_unix_nano"}, {R_DOUBLE, F64, "as_double"},
    {R_EXEMPLARS, L, "exemplars"},   {R_INT, F64, "as_int"},
    {R_ATTRS, L, "attributes"},      {R_FLAGS, V, "flags"},
};
static const field_spec histogram_fields[] = {
    {R_SKIP, ANY, "labels"},
    {R_START, F64, "start_time_unix_nano"},
    {R_TIME, F64, "time_unix_nano"},
    {R_COUNT, F64, "count"},
    {R_SUM, F64, "sum"},
    {R_BUCKETS, ANY, "bucket_counts"},
    {R_BOUNDS, ANY, "explicit_bounds"},
    {R_EXEMPLARS, L, "exemplars"},
    {R_ATTRS, L, "attributes"},
    {R_FLAGS, V, "flags"},
    {R_MIN, F64, "min"},
    {R_MAX, F64, "max"},
};
static const field_spec exp_histogram_fields[] = {
    {R_ATTRS, L, "attributes"},
    {R_START, F64, "start_time_unix_nano"},
    {R_TIME, F64, "time_unix_nano"},
    {R_COUNT, F64, "count"},
    {R_SUM, F64, "sum"},
    {R_SCALE, V, "scale"},
    {R_ZERO_COUNT, F64, "zero_count"},
    {R_POS, L, "positive"},
    {R_NEG, L, "negative"},
    {R_FLAGS, V, "flags"},
    {R_EXEMPLARS, L, "exemplars"},
    {R_MIN, F64, "min"},
    {R_MAX, F64, "max"},
    {R_ZERO_THRESHOLD, F64, "zero_threshold"},
};
static const field_spec summary_fields[] = {
    {R_SKIP, ANY, "labels"},
    {R_START, F64, "start_time_unix_nano"},
    {R_TIME, F64, "time_unix_nano"},
    {R_COUNT, F64, "count"},
    {R_SUM, F64, "sum"},
    {R_QUANTILES, L, "quantile_values"},
    {R_ATTRS, L, "attributes"},
    {R_FLAGS, V, "flags"},
};

static int32_t sint32_of(uint64_t v)
{
    uint32_t u = (uint32_t)v;
    return (int32_t)((u >> 1) ^ (0u - (u & 1)));
}

/* Appends the values of a repeated fixed64/double field, packed (LEN) or not (I64). */
static int put_fixed64s(dec *d, const osp_pb_field *f, osp_buf *out, const char *what)
{
    if (f->wire == OSP_PB_I64)
        return osp_buf_append(out, &f->u64, sizeof f->u64);
    if (f->wire != OSP_PB_LEN)
        return osp__otlp_bad(&d->c, "%s has the wrong wire type", what);
    if (f->bytes.n % 8)
        return osp__otlp_bad(&d->c, "%s: packed length %zu is not a multiple of 8", what,
                             f->bytes.n);
    const uint8_t *p = (const uint8_t *)f->bytes.p;
    for (size_t i = 0; i < f->bytes.n; i += 8) {
        uint64_t v = 0;
        for (int k = 7; k >= 0; k--)
            v = v << 8 | p[i + (size_t)k];
        int rc = osp_buf_append(out, &v, sizeof v);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Appends the values of a repeated uint64 field, packed (LEN) or not (VARINT). */
static int put_varints(dec *d, const osp_pb_field *f, osp_buf *out, const char *what)
{
    if (f->wire == OSP_PB_VARINT)
        return osp_buf_append(out, &f->u64, sizeof f->u64);
    if (f->wire != OSP_PB_LEN)
        return osp__otlp_bad(&d->c, "%s has the wrong wire type", what);
    osp_pb_reader r = osp__otlp_reader(f->bytes);
    while (r.p < r.end) {
        uint64_t v;
        if (osp_pb_read_varint(&r, &v) < 0)
            return osp__otlp_bad(&d->c, "%s: malformed packed varint", what);
        int rc = osp_buf_append(out, &v, sizeof v);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Decodes an ExponentialHistogramDataPoint.Buckets (last one wins: the array restarts). */
static int decode_buckets(dec *d, osp_str wire, osp_buf *counts, int32_t *offset, const char *what)
{
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    int rc;
    osp_buf_reset(counts);
    *offset = 0;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, buckets_wires, sizeof buckets_wires))
            return osp__otlp_bad(&d->c, "%s: field %u has the wrong wire type", what, f.num);
        if (f.num == 1)
            *offset = sint32_of(f.u64);
        else if (f.num == 2 && (rc = put_varints(d, &f, counts, what)) < 0)
            return rc;
    }
    return rc < 0 ? osp__otlp_bad(&d->c, "%s: malformed Buckets: %s", what, osp_pb_reason(&r)) : 0;
}

/* Decodes a ValueAtQuantile onto the quantiles array. */
static int put_quantile(dec *d, osp_str wire)
{
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    osp_quantile q = {0, 0};
    int rc;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, quantile_wires, sizeof quantile_wires))
            return osp__otlp_bad(&d->c, "quantile_values: field %u has the wrong wire type", f.num);
        if (f.num == 1)
            q.quantile = osp_pb_as_double(f.u64);
        else if (f.num == 2)
            q.value = osp_pb_as_double(f.u64);
    }
    if (rc < 0)
        return osp__otlp_bad(&d->c, "quantile_values: malformed ValueAtQuantile: %s",
                             osp_pb_reason(&r));
    return osp_buf_append(&d->arr[OSP__ARR_QUANTILES], &q, sizeof q);
}

/* Decodes an Exemplar into d->exemplars (its attributes go through d->c.nested). */
static int put_exemplar(dec *d, osp_str wire)
{
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    osp_exemplar ex = {0};
    osp_str tid = OSP_STR_NULL, sid = OSP_STR_NULL;
    int rc;
    osp_buf_reset(&d->c.nested);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, exemplar_wires, sizeof exemplar_wires))
            return osp__otlp_bad(&d->c, "exemplars: field %u has the wrong wire type", f.num);
        switch (f.num) {
        case 2:
            ex.time_ns = f.u64;
            break;
        case 3:
            ex.has = (ex.has & ~(uint32_t)OSP_EXEMPLAR_VALUE_INT) | OSP_EXEMPLAR_VALUE;
            ex.value.d = osp_pb_as_double(f.u64);
            break;
        case 4:
            sid = f.bytes;
            break;
        case 5:
            tid = f.bytes;
            break;
        case 6:
            ex.has |= OSP_EXEMPLAR_VALUE | OSP_EXEMPLAR_VALUE_INT;
            ex.value.i = (int64_t)f.u64;
            break;
        case 7:
            rc = osp__otlp_put_keyvalue(&d->c, f.bytes, &d->c.nested, 1,
                                        "exemplars.filtered_attributes");
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return osp__otlp_bad(&d->c, "exemplars: malformed Exemplar: %s", osp_pb_reason(&r));
    if (tid.n != 0 && tid.n != sizeof ex.trace_id)
        return osp__otlp_bad(&d->c, "exemplars: trace_id must be empty or 16 bytes, got %zu",
                             tid.n);
    if (sid.n != 0 && sid.n != sizeof ex.span_id)
        return osp__otlp_bad(&d->c, "exemplars: span_id must be empty or 8 bytes, got %zu", sid.n);
    if (tid.n) {
        ex.has |= OSP_EXEMPLAR_TRACE_ID;
        memcpy(ex.trace_id, tid.p, sizeof ex.trace_id);
    }
    if (sid.n) {
        ex.has |= OSP_EXEMPLAR_SPAN_ID;
        memcpy(ex.span_id, sid.p, sizeof ex.span_id);
    }
    ex.filtered_attributes = osp_buf_str(&d->c.nested);
    return osp_exemplars_append(&d->exemplars, &ex);
}

/* Decodes one data point of a metric of `type` (row `metric`) and adds it to the batch:
 * 0, OSP_EPARSE (rejected, d->c.why says why) or a fatal error. */
static int decode_point(dec *d, osp_str wire, int32_t type, uint32_t metric)
{
    const field_spec *spec;
    size_t nspec;
    switch (type) {
    case OSP_METRIC_HISTOGRAM:
        spec = histogram_fields, nspec = sizeof histogram_fields / sizeof *spec;
        break;
    case OSP_METRIC_EXP_HISTOGRAM:
        spec = exp_histogram_fields, nspec = sizeof exp_histogram_fields / sizeof *spec;
        break;
    case OSP_METRIC_SUMMARY:
        spec = summary_fields, nspec = sizeof summary_fields / sizeof *spec;
        break;
    default:
        spec = number_fields, nspec = sizeof number_fields / sizeof *spec;
        break;
    }
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    osp_metric_point p = {.metric = metric};
    int rc;
    osp_buf_reset(&d->c.attrs);
    osp_buf_reset(&d->exemplars);
    for (size_t i = 0; i < sizeof d->arr / sizeof *d->arr; i++)
        osp_buf_reset(&d->arr[i]);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (f.num > nspec)
            continue;
        const field_spec *fs = &spec[f.num - 1];
        if (fs->wire != ANY && f.wire != fs->wire)
            return osp__otlp_bad(&d->c, "%s has the wrong wire type", fs->name);
        switch (fs->role) {
        case R_ATTRS:
            rc = osp__otlp_put_keyvalue(&d->c, f.bytes, &d->c.attrs, 1, "attributes");
            break;
        case R_START:
            p.start_ns = f.u64;
            break;
        case R_TIME:
            p.time_ns = f.u64;
            break;
        case R_EXEMPLARS:
            rc = put_exemplar(d, f.bytes);
            break;
        case R_FLAGS:
            p.flags = (uint32_t)f.u64;
            break;
        case R_DOUBLE:
            p.has = (p.has & ~(uint32_t)OSP_POINT_VALUE_INT) | OSP_POINT_VALUE;
            p.value.d = osp_pb_as_double(f.u64);
            break;
        case R_INT:
            p.has |= OSP_POINT_VALUE | OSP_POINT_VALUE_INT;
            p.value.i = (int64_t)f.u64;
            break;
        case R_COUNT:
            p.count = f.u64;
            break;
        case R_SUM:
            p.has |= OSP_POINT_SUM;
            p.sum = osp_pb_as_double(f.u64);
            break;
        case R_MIN:
            p.has |= OSP_POINT_MIN;
            p.min = osp_pb_as_double(f.u64);
            break;
        case R_MAX:
            p.has |= OSP_POINT_MAX;
            p.max = osp_pb_as_double(f.u64);
            break;
        case R_BUCKETS:
            rc = put_fixed64s(d, &f, &d->arr[OSP__ARR_BUCKETS], fs->name);
            break;
        case R_BOUNDS:
            rc = put_fixed64s(d, &f, &d->arr[OSP__ARR_BOUNDS], fs->name);
            break;
        case R_SCALE:
            p.scale = sint32_of(f.u64);
            break;
        case R_ZERO_COUNT:
            p.zero_count = f.u64;
            break;
        case R_ZERO_THRESHOLD:
            p.zero_threshold = osp_pb_as_double(f.u64);
            break;
        case R_POS:
            rc = decode_buckets(d, f.bytes, &d->arr[OSP__ARR_POS], &p.pos_offset, "positive");
            break;
        case R_NEG:
            rc = decode_buckets(d, f.bytes, &d->arr[OSP__ARR_NEG], &p.neg_offset, "negative");
            break;
        case R_QUANTILES:
            rc = put_quantile(d, f.bytes);
            break;
        default: /* R_SKIP */
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return osp__otlp_bad(&d->c, "malformed data point: %s", osp_pb_reason(&r));
    if (type == OSP_METRIC_SUMMARY)
        p.has |= OSP_POINT_SUM; /* SummaryDataPoint.sum has no presence: always there */

    if ((rc = osp__otlp_keep_point_arrays(&d->out->arena, d->arr, &p)) < 0)
        return rc;
    if ((p.nbuckets || p.nbounds) && p.nbuckets != p.nbounds + 1)
        return osp__otlp_bad(&d->c,
                             "bucket_counts has %zu entries, explicit_bounds %zu (want bounds + 1)",
                             p.nbuckets, p.nbounds);
    for (size_t i = 1; i < p.nbounds; i++)
        if (!(p.bounds[i - 1] < p.bounds[i]))
            return osp__otlp_bad(&d->c, "explicit_bounds not strictly increasing at index %zu", i);
    for (size_t i = 0; i < p.nbounds; i++)
        if (p.bounds[i] != p.bounds[i]) /* a single NaN bound */
            return osp__otlp_bad(&d->c, "explicit_bounds[%zu] is NaN", i);

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

/* Wire-type tables of the Metric.data messages, by osp_metric_type. */
static const uint8_t gauge_wires[] = {L};
static const uint8_t sum_wires[] = {L, V, V};
static const uint8_t histogram_wires[] = {L, V};

/* The parts of a Metric found by a first pass. */
typedef struct metric_scan {
    osp_metric m;
    osp_str data;   /* the last Metric.data member's body */
    size_t npoints; /* field-1 entries of data */
    int malformed;  /* the Metric or its data message is not decodable */
} metric_scan;

/* First pass over a Metric: names, data member, temporality, and the number of points
 * (at least 1 when malformed, so the rejection counts something). Sets d->c.why when the
 * metric is invalid as a whole; never fails. */
static void scan_metric(dec *d, osp_str wire, metric_scan *s)
{
    static const int32_t data_types[] = {[5] = OSP_METRIC_GAUGE,
                                         [7] = OSP_METRIC_SUM,
                                         [9] = OSP_METRIC_HISTOGRAM,
                                         [10] = OSP_METRIC_EXP_HISTOGRAM,
                                         [11] = OSP_METRIC_SUMMARY};
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    int rc;
    memset(s, 0, sizeof *s);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, metric_wires, sizeof metric_wires)) {
            osp__otlp_bad(&d->c, "field %u has the wrong wire type", f.num);
            continue; /* keep counting the points */
        }
        if (f.num == 1)
            s->m.name = f.bytes;
        else if (f.num == 2)
            s->m.description = f.bytes;
        else if (f.num == 3)
            s->m.unit = f.bytes;
        else if (f.num < sizeof data_types / sizeof *data_types && data_types[f.num]) {
            s->m.type = data_types[f.num];
            s->data = f.bytes;
        }
    }
    if (rc < 0) {
        osp__otlp_bad(&d->c, "malformed Metric: %s", osp_pb_reason(&r));
        s->malformed = 1;
    }
    if (!s->m.type)
        return s->malformed ? (void)(s->npoints = 1) : (void)0;
    const uint8_t *wires = gauge_wires;
    size_t nwires = sizeof gauge_wires;
    if (s->m.type == OSP_METRIC_SUM)
        wires = sum_wires, nwires = sizeof sum_wires;
    else if (s->m.type == OSP_METRIC_HISTOGRAM || s->m.type == OSP_METRIC_EXP_HISTOGRAM)
        wires = histogram_wires, nwires = sizeof histogram_wires;
    r = osp__otlp_reader(s->data);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, wires, nwires))
            osp__otlp_bad(&d->c, "%s: field %u has the wrong wire type",
                          osp_metric_type_name(s->m.type), f.num);
        else if (f.num == 1)
            s->npoints++;
        else if (f.num == 2)
            s->m.temporality = (int32_t)f.u64;
        else if (f.num == 3)
            s->m.monotonic = f.u64 != 0;
    }
    if (rc < 0) {
        osp__otlp_bad(&d->c, "%s: malformed: %s", osp_metric_type_name(s->m.type),
                      osp_pb_reason(&r));
        s->malformed = 1;
    }
    if (s->malformed && s->npoints == 0)
        s->npoints = 1;
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

/* Points a Metric holds, for rejecting it without decoding it. */
static size_t count_points(dec *d, osp_str wire)
{
    metric_scan s;
    scan_metric(d, wire, &s);
    return s.npoints;
}

/* Decodes a Metric and its points under resource and scope rows. Rejections are counted
 * here; returns 0 or a fatal error. */
static int decode_metric(dec *d, osp_str wire, uint32_t resource, uint32_t scope, size_t *kept)
{
    metric_scan s;
    char what[112];
    size_t index = d->nmetric++;
    int rc = 0;
    d->c.why[0] = '\0';
    scan_metric(d, wire, &s);
    *kept = 0;
    if (!d->c.why[0] && !s.m.type)
        return 0; /* no data: nothing to keep or reject */
    if (!d->c.why[0] && s.m.name.n == 0)
        osp__otlp_bad(&d->c, "name is empty");
    if (!d->c.why[0] && !osp__otlp_utf8_ok(s.m.name))
        osp__otlp_bad(&d->c, "name is not valid UTF-8");
    if (!d->c.why[0]) {
        osp__otlp_check_utf8(&d->c, s.m.description, "description");
        osp__otlp_check_utf8(&d->c, s.m.unit, "unit");
    }
    osp_buf_reset(&d->meta);
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    while (!d->c.why[0] && rc == 0 && osp_pb_next(&r, &f) == 1)
        if (f.num == 12)
            rc = osp__otlp_put_keyvalue(&d->c, f.bytes, &d->meta, 1, "metadata");
    if (rc < 0 && rc != OSP_EPARSE)
        return rc;
    if (d->c.why[0]) {
        if (s.m.name.n && osp__otlp_utf8_ok(s.m.name))
            snprintf(what, sizeof what, "metric \"%.*s\"", name_len(s.m.name), s.m.name.p);
        else
            snprintf(what, sizeof what, "metric %zu", index);
        osp__otlp_reject(&d->c, s.npoints, what);
        return 0;
    }
    s.m.resource = resource;
    s.m.scope = scope;
    osp_buf *const bufs[] = {&d->meta};
    osp_str *const dst[] = {&s.m.metadata};
    if ((rc = osp__otlp_keep_blobs(&d->c, bufs, dst, 1)) < 0)
        return rc;
    osp_metric *row = osp_metric_batch_add_metric(d->out);
    if (!row)
        return OSP_ENOMEM;
    *row = s.m;
    uint32_t metric = (uint32_t)(d->out->nmetrics - 1);
    size_t i = 0;
    r = osp__otlp_reader(s.data);
    while (osp_pb_next(&r, &f) == 1) {
        if (f.num != 1)
            continue;
        d->c.why[0] = '\0';
        rc = decode_point(d, f.bytes, s.m.type, metric);
        if (rc == OSP_EPARSE) {
            snprintf(what, sizeof what, "metric \"%.*s\" point %zu", name_len(s.m.name), s.m.name.p,
                     i);
            osp__otlp_reject(&d->c, 1, what);
        } else if (rc < 0) {
            return rc;
        } else {
            (*kept)++;
        }
        i++;
    }
    if (*kept == 0)
        d->out->nmetrics--; /* no row refers to it */
    return 0;
}

/* Counts the points of every metric of a ScopeMetrics as rejected with d->c.why (already
 * set by the scope or resource), naming `what`. */
static void reject_scope_metrics(dec *d, osp_str wire, const char *what)
{
    char why[sizeof d->c.why];
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    size_t n = 0;
    memcpy(why, d->c.why, sizeof why);
    while (osp_pb_next(&r, &f) == 1) {
        if (f.num != 2)
            continue;
        d->c.why[0] = '\0';
        n += count_points(d, f.bytes);
        d->nmetric++;
    }
    memcpy(d->c.why, why, sizeof why);
    osp__otlp_reject(&d->c, n, what);
}

/* Decodes a ScopeMetrics whose metrics belong to resource row `resource` (UINT32_MAX
 * when the resource was rejected: the points are only counted). */
static int decode_scope_metrics(dec *d, osp_str wire, uint32_t resource)
{
    osp_scope sc, *row = NULL;
    osp_str head, url;
    osp_pb_reader r;
    osp_pb_field f;
    size_t n, first = d->nmetric, kept = 0;
    char what[64];
    int rc = osp__otlp_scan_container(&d->c, wire, "scope_metrics", &head, &url, &n);
    if (rc < 0)
        return rc;
    if (resource == UINT32_MAX) {
        snprintf(what, sizeof what, "metrics %zu..%zu: resource", first, first + n - (n > 0));
        reject_scope_metrics(d, wire, what);
        return 0;
    }
    d->c.why[0] = '\0';
    rc = osp__otlp_decode_scope(&d->c, head, url, &sc);
    if (rc == 0 && !(row = osp_metric_batch_add_scope(d->out)))
        rc = OSP_ENOMEM;
    if (rc == OSP_EPARSE) {
        snprintf(what, sizeof what, "metrics %zu..%zu: scope", first, first + n - (n > 0));
        reject_scope_metrics(d, wire, what);
        return 0;
    }
    if (rc < 0)
        return rc;
    *row = sc;
    uint32_t scope = (uint32_t)(d->out->nscopes - 1);
    r = osp__otlp_reader(wire);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        size_t k;
        if (f.num != 2)
            continue;
        if ((rc = decode_metric(d, f.bytes, resource, scope, &k)) < 0)
            return rc;
        kept += k;
    }
    if (kept == 0)
        d->out->nscopes--; /* no row refers to it */
    return 0;
}

static int decode_resource_metrics(osp__otlp_dec *c, osp_str wire)
{
    dec *d = (dec *)c; /* c is its first member */
    osp_resource res, *row = NULL;
    osp_str head, url;
    osp_pb_reader r;
    osp_pb_field f;
    size_t nscope_metrics, before;
    int rc =
        osp__otlp_scan_container(&d->c, wire, "resource_metrics", &head, &url, &nscope_metrics);
    if (rc < 0)
        return rc;
    d->c.why[0] = '\0';
    rc = osp__otlp_decode_resource(&d->c, head, url, &res);
    if (rc == 0 && !(row = osp_metric_batch_add_resource(d->out)))
        rc = OSP_ENOMEM;
    if (rc < 0 && rc != OSP_EPARSE)
        return rc;
    if (row)
        *row = res;
    uint32_t resource = rc ? UINT32_MAX : (uint32_t)(d->out->nresources - 1);
    before = d->out->npoints;
    r = osp__otlp_reader(wire);
    while ((rc = osp_pb_next(&r, &f)) == 1)
        if (f.num == 2 && (rc = decode_scope_metrics(d, f.bytes, resource)) < 0)
            return rc;
    if (resource != UINT32_MAX && d->out->npoints == before)
        d->out->nresources--; /* no row refers to it */
    return 0;
}

int osp_otlp_metrics_decode_pb(osp_str body, osp_metric_batch *out, osp_decode_report *rep)
{
    dec d = {.c = {.rep = rep, .arena = &out->arena}, .out = out};
    size_t cap = body.n * 4 + 1024; /* canonical blobs never exceed 3x their wire size */
    size_t nres = out->nresources, nsc = out->nscopes, nm = out->nmetrics, np = out->npoints;
    int rc;
    osp_buf_init(&d.c.attrs, cap);
    osp_buf_init(&d.exemplars, cap);
    osp_buf_init(&d.c.nested, cap);
    osp_buf_init(&d.meta, cap);
    for (size_t i = 0; i < sizeof d.arr / sizeof *d.arr; i++)
        osp_buf_init(&d.arr[i], body.n * 8 + 1024); /* a 1-byte varint becomes 8 bytes */
    rc = osp__otlp_decode_request(&d.c, body, "resource_metrics", decode_resource_metrics);
    if (rc < 0) { /* leave the batch as it was */
        out->nresources = nres;
        out->nscopes = nsc;
        out->nmetrics = nm;
        out->npoints = np;
    }
    osp_buf_cleanup(&d.c.attrs);
    osp_buf_cleanup(&d.exemplars);
    osp_buf_cleanup(&d.c.nested);
    osp_buf_cleanup(&d.meta);
    for (size_t i = 0; i < sizeof d.arr / sizeof *d.arr; i++)
        osp_buf_cleanup(&d.arr[i]);
    return rc < 0 ? rc : 0;
}
