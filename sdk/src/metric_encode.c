/* Metric collections as an OTLP ExportMetricsServiceRequest (protobuf) and as console JSON
 * lines, and the shortest round-trip text of a double they and Prometheus share. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/endian.h"
#include "core/pb.h"
#include "metrics_int.h"

/* Field numbers (protocols.md §2.3, §2.5). */
enum { REQ_RESOURCE_METRICS = 1 };
enum { RM_RESOURCE = 1, RM_SCOPE_METRICS = 2 };
enum { RES_ATTRIBUTES = 1 };
enum { SM_SCOPE = 1, SM_METRICS = 2 };
enum { SCOPE_NAME = 1, SCOPE_VERSION = 2 };
enum { M_NAME = 1, M_DESCRIPTION = 2, M_UNIT = 3, M_GAUGE = 5, M_SUM = 7, M_HISTOGRAM = 9 };
enum { DATA_POINTS = 1, DATA_TEMPORALITY = 2, SUM_MONOTONIC = 3 };
enum { DP_START = 2, DP_TIME = 3 }; /* the same in NumberDataPoint and HistogramDataPoint */
enum { NDP_AS_DOUBLE = 4, NDP_ATTRIBUTES = 7 };
enum {
    HDP_COUNT = 4,
    HDP_SUM = 5,
    HDP_BUCKETS = 6,
    HDP_BOUNDS = 7,
    HDP_ATTRIBUTES = 9,
    HDP_MIN = 11,
    HDP_MAX = 12,
};
enum { TEMPORALITY_CUMULATIVE = 2 };

char *osprey__fmt_double(double v, char out[32])
{
    if (isnan(v) || isinf(v)) {
        strcpy(out, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        return out;
    }
    /* The fewest significant digits that read back exactly, laid out as Go's
     * strconv.FormatFloat(v, 'g', -1, 64) does: exponent form below 1e-4 and from 1e6. */
    char e[32];
    int digits = 1;
    for (; digits < 17; digits++) {
        snprintf(e, sizeof e, "%.*e", digits - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof e, "%.*e", digits - 1, v);
    int exp = atoi(strchr(e, 'e') + 1);
    if (exp < -4 || exp >= 6)
        strcpy(out, e);
    else
        snprintf(out, 32, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, v);
    return out;
}

/* ---- OTLP protobuf ----------------------------------------------------------------------- */

static int put_str(osp_buf *b, uint32_t num, const char *s)
{
    return *s ? osp_pb_put_str(b, num, osp_str_c(s)) : 0;
}

/* Opens a data point (its end mark in *dp) with its attributes (field attrs_num), start
 * and time, which number and histogram points share. */
static int begin_point(osp_buf *b, const osprey__collection *c, const osprey__mpoint *p,
                       uint32_t attrs_num, size_t *dp)
{
    int rc = osp_pb_begin(b, DATA_POINTS, dp);
    rc = rc ? rc : osprey__attrs_put_pb(b, attrs_num, p->attrs);
    rc = rc ? rc : osp_pb_put_fixed64(b, DP_START, c->start_ns);
    return rc ? rc : osp_pb_put_fixed64(b, DP_TIME, c->time_ns);
}

static int put_number_point(osp_buf *b, const osprey__collection *c, const osprey__mpoint *p)
{
    size_t dp;
    int rc = begin_point(b, c, p, NDP_ATTRIBUTES, &dp);
    rc = rc ? rc : osp_pb_put_double(b, NDP_AS_DOUBLE, p->value);
    return rc ? rc : osp_pb_end(b, dp);
}

/* A packed repeated fixed64 (or double bits) field of n little-endian values. */
static int put_packed(osp_buf *b, uint32_t num, const void *values, size_t n)
{
    size_t mark;
    int rc = osp_pb_begin(b, num, &mark);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        uint64_t v;
        uint8_t le[8];
        memcpy(&v, (const char *)values + k * 8, 8);
        osp_put_le64(le, v);
        rc = osp_buf_append(b, le, sizeof le);
    }
    return rc ? rc : osp_pb_end(b, mark);
}

static int put_histogram_point(osp_buf *b, const osprey__collection *c, const osprey_instrument *i,
                               const osprey__mpoint *p)
{
    size_t dp;
    int rc = begin_point(b, c, p, HDP_ATTRIBUTES, &dp);
    rc = rc ? rc : osp_pb_put_fixed64(b, HDP_COUNT, p->count);
    rc = rc ? rc : osp_pb_put_double(b, HDP_SUM, p->sum);
    rc = rc ? rc : put_packed(b, HDP_BUCKETS, p->buckets, i->nbounds + 1);
    if (i->nbounds)
        rc = rc ? rc : put_packed(b, HDP_BOUNDS, i->bounds, i->nbounds);
    if (p->count) {
        rc = rc ? rc : osp_pb_put_double(b, HDP_MIN, p->min);
        rc = rc ? rc : osp_pb_put_double(b, HDP_MAX, p->max);
    }
    return rc ? rc : osp_pb_end(b, dp);
}

/* The Sum, Gauge or Histogram message of s. */
static int put_data(osp_buf *b, const osprey__collection *c, const osprey__mstream *s)
{
    const osprey_instrument *i = s->inst;
    bool hist = i->kind == OSPREY__INST_HISTOGRAM, sum = osprey__inst_is_sum(i->kind);
    size_t mark;
    int rc = osp_pb_begin(b, hist ? M_HISTOGRAM : sum ? M_SUM : M_GAUGE, &mark);
    for (size_t k = 0; rc == 0 && k < s->npoints; k++)
        rc = hist ? put_histogram_point(b, c, i, &s->points[k])
                  : put_number_point(b, c, &s->points[k]);
    if (hist || sum)
        rc = rc ? rc : osp_pb_put_uint(b, DATA_TEMPORALITY, TEMPORALITY_CUMULATIVE);
    if (osprey__inst_is_monotonic(i->kind))
        rc = rc ? rc : osp_pb_put_uint(b, SUM_MONOTONIC, 1);
    return rc ? rc : osp_pb_end(b, mark);
}

static int put_metric(osp_buf *b, const osprey__collection *c, const osprey__mstream *s)
{
    size_t mark;
    int rc = osp_pb_begin(b, SM_METRICS, &mark);
    rc = rc ? rc : put_str(b, M_NAME, s->inst->name);
    rc = rc ? rc : put_str(b, M_DESCRIPTION, s->inst->description);
    rc = rc ? rc : put_str(b, M_UNIT, s->inst->unit);
    rc = rc ? rc : put_data(b, c, s);
    return rc ? rc : osp_pb_end(b, mark);
}

/* One ScopeMetrics for streams [from, to), which share a meter. */
static int put_scope(osp_buf *b, const osprey__collection *c, size_t from, size_t to)
{
    const osprey_meter *m = c->streams[from].inst->meter;
    size_t sm, scope;
    int rc = osp_pb_begin(b, RM_SCOPE_METRICS, &sm);
    rc = rc ? rc : osp_pb_begin(b, SM_SCOPE, &scope);
    rc = rc ? rc : put_str(b, SCOPE_NAME, m->name);
    rc = rc ? rc : put_str(b, SCOPE_VERSION, m->version);
    rc = rc ? rc : osp_pb_end(b, scope);
    for (size_t k = from; rc == 0 && k < to; k++)
        rc = put_metric(b, c, &c->streams[k]);
    return rc ? rc : osp_pb_end(b, sm);
}

int osprey__encode_metrics(osp_buf *b, const osprey__collection *c)
{
    size_t rm, res;
    int rc = osp_pb_begin(b, REQ_RESOURCE_METRICS, &rm);
    rc = rc ? rc : osp_pb_begin(b, RM_RESOURCE, &res);
    rc = rc ? rc : osprey__attrs_put_pb(b, RES_ATTRIBUTES, c->resource);
    rc = rc ? rc : osp_pb_end(b, res);
    for (size_t from = 0, to; rc == 0 && from < c->n; from = to) {
        for (to = from + 1;
             to < c->n && c->streams[to].inst->meter == c->streams[from].inst->meter;)
            to++;
        rc = put_scope(b, c, from, to);
    }
    rc = rc ? rc : osp_pb_end(b, rm);
    return rc ? OSPREY_ENOMEM : 0;
}

/* ---- Console JSON -------------------------------------------------------------------------- */

static int put_json_str(osp_buf *b, const char *s)
{
    return osp_buf_json_str(b, s, strlen(s));
}

static int put_json_double(osp_buf *b, double v)
{
    char tmp[32];
    return osp_buf_puts(b, osprey__fmt_double(v, tmp));
}

/* A JSON array of n doubles or (counts) uint64 values. */
static int put_json_array(osp_buf *b, const double *d, const uint64_t *u, size_t n)
{
    int rc = osp_buf_putc(b, '[');
    for (size_t k = 0; rc == 0 && k < n; k++) {
        rc = k ? osp_buf_putc(b, ',') : 0;
        if (rc == 0)
            rc = d ? put_json_double(b, d[k]) : osp_buf_printf(b, "%llu", (unsigned long long)u[k]);
    }
    return rc ? rc : osp_buf_putc(b, ']');
}

static int put_json_point(osp_buf *b, const osprey_instrument *i, const osprey__mpoint *p)
{
    int rc = osp_buf_puts(b, "{\"attributes\":{");
    rc = rc ? rc : osprey__attrs_put_json(b, p->attrs);
    if (i->kind != OSPREY__INST_HISTOGRAM) {
        rc = rc ? rc : osp_buf_puts(b, "},\"value\":");
        rc = rc ? rc : put_json_double(b, p->value);
        return rc ? rc : osp_buf_putc(b, '}');
    }
    rc = rc ? rc : osp_buf_printf(b, "},\"count\":%llu,\"sum\":", (unsigned long long)p->count);
    rc = rc ? rc : put_json_double(b, p->sum);
    rc = rc ? rc : osp_buf_puts(b, ",\"min\":");
    rc = rc ? rc : put_json_double(b, p->count ? p->min : 0);
    rc = rc ? rc : osp_buf_puts(b, ",\"max\":");
    rc = rc ? rc : put_json_double(b, p->count ? p->max : 0);
    rc = rc ? rc : osp_buf_puts(b, ",\"bounds\":");
    rc = rc ? rc : put_json_array(b, i->bounds, NULL, i->nbounds);
    rc = rc ? rc : osp_buf_puts(b, ",\"buckets\":");
    rc = rc ? rc : put_json_array(b, NULL, p->buckets, i->nbounds + 1);
    return rc ? rc : osp_buf_putc(b, '}');
}

static const char *json_type(osprey__inst_kind k)
{
    if (k == OSPREY__INST_HISTOGRAM)
        return "histogram";
    return osprey__inst_is_sum(k) ? "sum" : "gauge";
}

static int put_json_stream(osp_buf *b, const osprey__collection *c, const osprey__mstream *s)
{
    const osprey_instrument *i = s->inst;
    int rc = osp_buf_puts(b, "{\"name\":");
    rc = rc ? rc : put_json_str(b, i->name);
    rc = rc ? rc : osp_buf_puts(b, ",\"description\":");
    rc = rc ? rc : put_json_str(b, i->description);
    rc = rc ? rc : osp_buf_puts(b, ",\"unit\":");
    rc = rc ? rc : put_json_str(b, i->unit);
    rc = rc ? rc : osp_buf_puts(b, ",\"scope\":");
    rc = rc ? rc : put_json_str(b, i->meter->name);
    rc = rc ? rc
            : osp_buf_printf(b, ",\"type\":\"%s\",\"monotonic\":%s,\"time_unix_nano\":%llu",
                             json_type(i->kind),
                             osprey__inst_is_monotonic(i->kind) ? "true" : "false",
                             (unsigned long long)c->time_ns);
    rc = rc ? rc : osp_buf_puts(b, ",\"points\":[");
    for (size_t k = 0; rc == 0 && k < s->npoints; k++) {
        rc = k ? osp_buf_putc(b, ',') : 0;
        rc = rc ? rc : put_json_point(b, i, &s->points[k]);
    }
    return rc ? rc : osp_buf_puts(b, "]}\n");
}

int osprey__encode_metrics_json(osp_buf *b, const osprey__collection *c)
{
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < c->n; k++)
        rc = put_json_stream(b, c, &c->streams[k]);
    return rc ? OSPREY_ENOMEM : 0;
}
