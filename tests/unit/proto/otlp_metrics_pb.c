/* Unit tests for proto/otlp_metrics_pb: hand-built ExportMetricsServiceRequests covering
 * every point kind and field, packed and unpacked arrays, optional presence, oneof and
 * last-one-wins rules, every rejection path, truncated input and allocation failure. */
#include "testutil.h"

#include <math.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"
#include "model/attr.h"
#include "proto/otlp_metrics.h"

#include "proto/pbbuild.h"

static void Z(uint32_t num, int32_t v) /* sint32 */
{
    U(num, (uint64_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)));
}
/* Packed repeated fixed64 / double / varint. */
static void PX64(uint32_t num, const uint64_t *v, size_t n)
{
    O(num);
    for (size_t i = 0; i < n; i++) {
        uint8_t le[8];
        for (int k = 0; k < 8; k++)
            le[k] = (uint8_t)(v[i] >> (8 * k));
        assert_int_equal(osp_buf_append(&W, le, 8), 0);
    }
    C();
}
static void PD(uint32_t num, const double *v, size_t n)
{
    uint64_t u[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++)
        memcpy(&u[i], &v[i], 8);
    PX64(num, u, n);
}
static void PV(uint32_t num, const uint64_t *v, size_t n)
{
    O(num);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(osp_pb_put_varint(&W, v[i]), 0);
    C();
}
/* Unknown fields of every wire type. */
static void UNKNOWN(void)
{
    U(900, 1);
    X64(901, 2);
    S(902, "?");
    assert_int_equal(osp_pb_put_fixed32(&W, 903, 3), 0);
}
static void kv_i(uint32_t f, const char *k, int64_t v)
{
    O(f), S(1, k), O(2), U(3, (uint64_t)v), C(), C();
}

static const uint8_t TID[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t SID[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
#define T0 1700000000000000000ull

static osp_decode_report rep;

/* Opens ResourceMetrics { resource, ScopeMetrics { scope, ... and closes them. */
static void open_groups(void)
{
    O(1);
    O(1), kv_s(1, "service.name", "checkout"), U(2, 1), C();
    O(2);
    O(1), S(1, "meter"), S(2, "1.0"), kv_s(3, "scope.k", "v"), U(4, 2), C();
}
static void close_groups(void)
{
    S(3, "https://scope/schema");
    C();
    S(3, "https://resource/schema");
    C();
}

static void exemplar_full(uint32_t f)
{
    O(f), X64(2, T0 + 5), D(3, 0.25), B(4, SID, 8), B(5, TID, 16);
    kv_s(7, "user", "u1"), UNKNOWN(), C();
}

/* Gauge (double, int, last-one-wins value), Sum (int, monotonic delta). */
static void build_numbers(void)
{
    begin();
    open_groups();
    O(2); /* Metric: gauge */
    S(1, "cpu.temp"), S(2, "Temperature"), S(3, "Cel"), kv_s(12, "meta.k", "m");
    O(5);
    O(1), X64(2, T0), X64(3, T0 + 10), D(4, 41.5), exemplar_full(5);
    kv_s(7, "core", "0"), U(8, 1), UNKNOWN(), C();
    O(1), U(8, 0), kv_i(7, "core", 1), X64(3, T0 + 20), X64(6, (uint64_t)-7), C(); /* int */
    O(1), X64(6, 3), D(4, 2.5), C(); /* double after int: double wins */
    O(1), C();                       /* no value */
    C();
    UNKNOWN();
    C();
    O(2); /* Metric: sum, gauge first then sum (oneof: last wins) */
    S(1, "requests");
    O(5), O(1), D(4, 1), C(), C();
    O(7), U(2, 1), U(3, 1), O(1), X64(6, 12), C(), C();
    C();
    close_groups();
}

static void test_numbers(void **state)
{
    (void)state;
    osp_metric_batch b;
    osp_metric_batch_init(&b);
    build_numbers();
    assert_int_equal(osp_otlp_metrics_decode_pb(body(), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_string_equal(rep.message, "");
    assert_int_equal(b.nresources, 1);
    assert_int_equal(b.nscopes, 1);
    assert_int_equal(b.nmetrics, 2);
    assert_int_equal(b.npoints, 5);
    assert_true(osp_str_eqz(b.resources[0].service_name, "checkout"));
    assert_int_equal(b.resources[0].dropped_attributes, 1);
    assert_true(osp_str_eqz(b.resources[0].schema_url, "https://resource/schema"));
    assert_true(osp_str_eqz(b.scopes[0].name, "meter"));
    assert_true(osp_str_eqz(b.scopes[0].version, "1.0"));
    assert_true(osp_str_eqz(b.scopes[0].schema_url, "https://scope/schema"));
    assert_int_equal(b.scopes[0].dropped_attributes, 2);
    assert_int_equal(osp_attr_count(b.scopes[0].attributes), 1);

    const osp_metric *m = &b.metrics[0];
    assert_true(osp_str_eqz(m->name, "cpu.temp"));
    assert_true(osp_str_eqz(m->description, "Temperature"));
    assert_true(osp_str_eqz(m->unit, "Cel"));
    assert_int_equal(m->type, OSP_METRIC_GAUGE);
    assert_int_equal(m->temporality, 0);
    osp_value v;
    assert_int_equal(osp_attr_find(m->metadata, OSP_STR_LIT("meta.k"), &v), 1);
    assert_true(osp_str_eqz(v.s, "m"));

    const osp_metric_point *p = &b.points[0];
    assert_int_equal(p->metric, 0);
    assert_int_equal(p->start_ns, T0);
    assert_int_equal(p->time_ns, T0 + 10);
    assert_int_equal(p->has, OSP_POINT_VALUE);
    assert_true(p->value.d == 41.5);
    assert_int_equal(p->flags, OSP_DATA_POINT_NO_RECORDED_VALUE);
    assert_int_equal(osp_attr_find(p->attributes, OSP_STR_LIT("core"), &v), 1);
    assert_true(osp_str_eqz(v.s, "0"));
    assert_int_equal(osp_exemplars_count(p->exemplars), 1);
    osp_blob_iter it;
    osp_exemplar ex;
    osp_blob_iter_init(&it, p->exemplars);
    assert_int_equal(osp_exemplars_next(&it, &ex), 1);
    assert_int_equal(ex.time_ns, T0 + 5);
    assert_int_equal(ex.has, OSP_EXEMPLAR_VALUE | OSP_EXEMPLAR_TRACE_ID | OSP_EXEMPLAR_SPAN_ID);
    assert_true(ex.value.d == 0.25);
    assert_memory_equal(ex.trace_id, TID, 16);
    assert_memory_equal(ex.span_id, SID, 8);
    assert_int_equal(osp_attr_find(ex.filtered_attributes, OSP_STR_LIT("user"), &v), 1);
    assert_int_equal(osp_exemplars_next(&it, &ex), 0);

    p = &b.points[1];
    assert_int_equal(p->has, OSP_POINT_VALUE | OSP_POINT_VALUE_INT);
    assert_int_equal(p->value.i, -7);
    assert_int_equal(p->flags, 0);
    assert_int_equal(osp_attr_find(p->attributes, OSP_STR_LIT("core"), &v), 1);
    assert_int_equal(v.i, 1);
    assert_int_equal(b.points[2].has, OSP_POINT_VALUE);
    assert_true(b.points[2].value.d == 2.5);
    assert_int_equal(b.points[3].has, 0); /* no value set */
    assert_int_equal(b.points[3].attributes.n, 0);

    m = &b.metrics[1];
    assert_true(osp_str_eqz(m->name, "requests"));
    assert_int_equal(m->type, OSP_METRIC_SUM);
    assert_int_equal(m->temporality, OSP_TEMPORALITY_DELTA);
    assert_int_equal(m->monotonic, 1);
    assert_int_equal(b.points[4].metric, 1);
    assert_int_equal(b.points[4].value.i, 12);
    assert_int_equal(m->resource, 0);
    assert_int_equal(m->scope, 0);
    osp_metric_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

static void build_histograms(void)
{
    static const uint64_t counts[] = {1, 2, 3, 4};
    static const double bounds[] = {0.5, 1, 2.5};
    begin();
    open_groups();
    O(2), S(1, "http.duration"), S(3, "s");
    O(9), U(2, 2);
    /* packed, with sum/min/max and an int exemplar */
    O(1), X64(2, T0), X64(3, T0 + 1), X64(4, 10), D(5, 12.5), PX64(6, counts, 4);
    PD(7, bounds, 3), O(8), X64(6, 9), C(), kv_s(9, "route", "/a"), U(10, 0), D(11, 0.1);
    D(12, 3), C();
    /* unpacked and interleaved with packed; sum present as 0; no min/max */
    O(1), X64(6, 1), D(7, -1), PX64(6, counts, 1), D(5, 0), PD(7, bounds + 1, 1), X64(6, 5);
    C();
    /* no buckets at all */
    O(1), X64(4, 0), C();
    C();
    C();
    close_groups();
}

static void test_histograms(void **state)
{
    (void)state;
    osp_metric_batch b;
    osp_metric_batch_init(&b);
    build_histograms();
    assert_int_equal(osp_otlp_metrics_decode_pb(body(), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(b.nmetrics, 1);
    assert_int_equal(b.metrics[0].type, OSP_METRIC_HISTOGRAM);
    assert_int_equal(b.metrics[0].temporality, OSP_TEMPORALITY_CUMULATIVE);
    assert_int_equal(b.npoints, 3);
    const osp_metric_point *p = &b.points[0];
    assert_int_equal(p->count, 10);
    assert_int_equal(p->has, OSP_POINT_SUM | OSP_POINT_MIN | OSP_POINT_MAX);
    assert_true(p->sum == 12.5 && p->min == 0.1 && p->max == 3);
    assert_int_equal(p->nbuckets, 4);
    assert_int_equal(p->nbounds, 3);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(p->bucket_counts[i], i + 1);
    assert_true(p->bounds[0] == 0.5 && p->bounds[1] == 1 && p->bounds[2] == 2.5);
    assert_int_equal((uintptr_t)p->bucket_counts % 8, 0);
    osp_blob_iter it;
    osp_exemplar ex;
    osp_blob_iter_init(&it, p->exemplars);
    assert_int_equal(osp_exemplars_next(&it, &ex), 1);
    assert_int_equal(ex.has, OSP_EXEMPLAR_VALUE | OSP_EXEMPLAR_VALUE_INT);
    assert_int_equal(ex.value.i, 9);

    p = &b.points[1];
    assert_int_equal(p->has, OSP_POINT_SUM); /* present even though 0 */
    assert_true(p->sum == 0);
    assert_int_equal(p->nbuckets, 3);
    assert_int_equal(p->bucket_counts[0], 1);
    assert_int_equal(p->bucket_counts[1], 1);
    assert_int_equal(p->bucket_counts[2], 5);
    assert_int_equal(p->nbounds, 2);
    assert_true(p->bounds[0] == -1 && p->bounds[1] == 1);

    p = &b.points[2];
    assert_int_equal(p->has, 0);
    assert_null(p->bucket_counts);
    assert_null(p->bounds);
    assert_int_equal(p->nbuckets + p->nbounds, 0);
    osp_metric_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

static void test_exponential_and_summary(void **state)
{
    (void)state;
    static const uint64_t pos[] = {1, 300, 0, 5};
    osp_metric_batch b;
    osp_metric_batch_init(&b);
    begin();
    open_groups();
    O(2), S(1, "latency"), O(10), U(2, 1);
    O(1), kv_s(1, "k", "v"), X64(2, T0), X64(3, T0 + 2), X64(4, 20), D(5, 7.5), Z(6, -3);
    X64(7, 2), O(8), Z(1, -2), PV(2, pos, 4), C(), O(9), Z(1, 5), U(2, 7), U(2, 8), C();
    U(10, 1), exemplar_full(11), D(12, -1), D(13, 9), D(14, 1e-9), C();
    /* Buckets twice: the last wins; scale positive */
    O(1), Z(6, 20), O(8), Z(1, 1), U(2, 4), C(), O(8), Z(1, 3), U(2, 6), C(), C();
    C(), C();
    O(2), S(1, "rpc.quantiles"), O(11);
    O(1), X64(2, T0), X64(3, T0 + 3), X64(4, 100), D(5, 250.5);
    O(6), D(1, 0.5), D(2, 2), C(), O(6), D(1, 0.99), D(2, 9), UNKNOWN(), C();
    kv_s(7, "svc", "a"), U(8, 1), C();
    O(1), C(); /* empty summary point: sum 0 still "present" */
    C(), C();
    close_groups();
    assert_int_equal(osp_otlp_metrics_decode_pb(body(), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(b.nmetrics, 2);
    assert_int_equal(b.npoints, 4);
    assert_int_equal(b.metrics[0].type, OSP_METRIC_EXP_HISTOGRAM);
    assert_int_equal(b.metrics[0].temporality, OSP_TEMPORALITY_DELTA);
    const osp_metric_point *p = &b.points[0];
    assert_int_equal(osp_attr_count(p->attributes), 1);
    assert_int_equal(p->start_ns, T0);
    assert_int_equal(p->time_ns, T0 + 2);
    assert_int_equal(p->count, 20);
    assert_int_equal(p->has, OSP_POINT_SUM | OSP_POINT_MIN | OSP_POINT_MAX);
    assert_true(p->sum == 7.5 && p->min == -1 && p->max == 9);
    assert_int_equal(p->scale, -3);
    assert_int_equal(p->zero_count, 2);
    assert_true(p->zero_threshold == 1e-9);
    assert_int_equal(p->pos_offset, -2);
    assert_int_equal(p->npos, 4);
    assert_int_equal(p->pos_counts[1], 300);
    assert_int_equal(p->pos_counts[3], 5);
    assert_int_equal(p->neg_offset, 5);
    assert_int_equal(p->nneg, 2);
    assert_int_equal(p->neg_counts[0], 7);
    assert_int_equal(p->neg_counts[1], 8);
    assert_int_equal(p->flags, 1);
    assert_int_equal(osp_exemplars_count(p->exemplars), 1);
    p = &b.points[1];
    assert_int_equal(p->scale, 20);
    assert_int_equal(p->pos_offset, 3);
    assert_int_equal(p->npos, 1);
    assert_int_equal(p->pos_counts[0], 6);
    assert_int_equal(p->has, 0);

    assert_int_equal(b.metrics[1].type, OSP_METRIC_SUMMARY);
    p = &b.points[2];
    assert_int_equal(p->metric, 1);
    assert_int_equal(p->count, 100);
    assert_int_equal(p->has, OSP_POINT_SUM);
    assert_true(p->sum == 250.5);
    assert_int_equal(p->nquantiles, 2);
    assert_true(p->quantiles[0].quantile == 0.5 && p->quantiles[0].value == 2);
    assert_true(p->quantiles[1].quantile == 0.99 && p->quantiles[1].value == 9);
    assert_int_equal(p->flags, 1);
    assert_int_equal(osp_attr_count(p->attributes), 1);
    assert_int_equal(b.points[3].has, OSP_POINT_SUM);
    assert_int_equal(b.points[3].nquantiles, 0);
    osp_metric_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

/* Decodes the request built since begin() and checks rejected count, rows and message. */
static void expect(size_t rejected, size_t points, const char *message)
{
    osp_metric_batch b;
    osp_metric_batch_init(&b);
    assert_int_equal(osp_otlp_metrics_decode_pb(body(), &b, &rep), 0);
    if (strcmp(rep.message, message) != 0)
        fail_msg("message \"%s\", want \"%s\"", rep.message, message);
    assert_int_equal(rep.rejected, rejected);
    assert_int_equal(b.npoints, points);
    if (points == 0)
        assert_int_equal(b.nmetrics + b.nscopes + b.nresources, 0);
    osp_metric_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

static void good_gauge(const char *name)
{
    O(2), S(1, name), O(5), O(1), D(4, 1), C(), C(), C();
}

static void test_rejections(void **state)
{
    (void)state;
    static const uint64_t c3[] = {1, 2, 3};
    static const double b3[] = {1, 2, 3}, dec[] = {1, 3, 2}, dup[] = {1, 1};

    begin(), open_groups(); /* bucket count mismatch, next to a good point */
    O(2), S(1, "h"), O(9);
    O(1), PX64(6, c3, 3), PD(7, b3, 3), C();
    O(1), PX64(6, c3, 3), PD(7, b3, 2), C();
    C(), C(), close_groups();
    expect(
        1, 1,
        "metric \"h\" point 0: bucket_counts has 3 entries, explicit_bounds 3 (want bounds + 1)");

    begin(), open_groups(); /* buckets without bounds */
    O(2), S(1, "h"), O(9), O(1), PX64(6, c3, 3), C(), C(), C(), close_groups();
    expect(
        1, 0,
        "metric \"h\" point 0: bucket_counts has 3 entries, explicit_bounds 0 (want bounds + 1)");

    begin(), open_groups(); /* bounds not increasing */
    O(2), S(1, "h"), O(9), O(1), PX64(6, c3, 3), PD(7, dec + 1, 2), C();
    O(1), PX64(6, c3, 3), PD(7, dup, 2), C(), C(), C(), close_groups();
    expect(2, 0, "metric \"h\" point 0: explicit_bounds not strictly increasing at index 1");

    begin(), open_groups(); /* NaN bound */
    O(2), S(1, "h"), O(9), O(1), PX64(6, c3, 2), D(7, NAN), C(), C(), C(), close_groups();
    expect(1, 0, "metric \"h\" point 0: explicit_bounds[0] is NaN");

    begin(), open_groups(); /* packed fixed64 of a bad length */
    O(2), S(1, "h"), O(9), O(1), B(6, "1234567", 7), C(), C(), C(), close_groups();
    expect(1, 0, "metric \"h\" point 0: bucket_counts: packed length 7 is not a multiple of 8");

    begin(), open_groups(); /* bucket_counts as a varint: wrong wire type */
    O(2), S(1, "h"), O(9), O(1), U(6, 3), C(), C(), C(), close_groups();
    expect(1, 0, "metric \"h\" point 0: bucket_counts has the wrong wire type");

    begin(), open_groups(); /* exemplar ids */
    O(2), S(1, "g"), O(5);
    O(1), O(5), B(5, SID, 8), C(), C();
    O(1), O(5), B(4, TID, 16), C(), C();
    O(1), O(5), C(), C(); /* no ids: fine */
    C(), C(), close_groups();
    expect(2, 1, "metric \"g\" point 0: exemplars: trace_id must be empty or 16 bytes, got 8");

    begin(), open_groups(); /* as_double as a varint */
    O(2), S(1, "g"), O(5), O(1), U(4, 1), C(), C(), C(), close_groups();
    expect(1, 0, "metric \"g\" point 0: as_double has the wrong wire type");

    begin(), open_groups(); /* attribute key not UTF-8, value nested too deep */
    O(2), S(1, "g"), O(5), O(1), kv_s(7, "\xff", "x"), C();
    O(1), O(7), S(1, "deep"), O(2);
    for (int i = 0; i < 33; i++)
        O(5), O(1);
    U(3, 1);
    for (int i = 0; i < 33; i++)
        C(), C();
    C(), C(), C(), C(), C(), close_groups();
    expect(2, 0, "metric \"g\" point 0: attributes: key is not valid UTF-8");

    begin(), open_groups(); /* malformed exponential Buckets */
    O(2), S(1, "e"), O(10), O(1), O(8), B(2, "\xff", 1), C(), C(), C(), C(), close_groups();
    expect(1, 0, "metric \"e\" point 0: positive: malformed packed varint");

    begin(), open_groups(); /* empty name rejects all 3 points, the next metric survives */
    O(2), O(5), O(1), C(), O(1), C(), O(1), C(), C(), C();
    good_gauge("ok");
    O(2), S(1, "\xc3"), O(7), O(1), C(), C(), C(); /* truncated UTF-8 */
    close_groups();
    expect(4, 1, "metric 0: name is empty");

    begin(), open_groups(); /* bad unit, named; bad metadata */
    O(2), S(1, "u"), S(3, "\xfe"), O(5), O(1), C(), C(), C();
    O(2), S(1, "md"), O(12), S(1, "\xfe"), C(), O(11), O(1), C(), C(), C();
    close_groups();
    expect(2, 0, "metric \"u\": unit is not valid UTF-8");

    begin(), open_groups(); /* data message with a wrong wire type; metric with no data */
    O(2), S(1, "s"), O(7), X64(2, 1), O(1), C(), C(), C();
    O(2), S(1, "nodata"), C();
    close_groups();
    expect(1, 0, "metric \"s\": sum: field 2 has the wrong wire type");

    begin(); /* a bad resource rejects every point under it */
    O(1);
    O(1), kv_s(1, "service.name", "a"), C();
    O(2), good_gauge("x"), good_gauge("y"), C();
    O(2), O(2), S(1, "z"), O(9), O(1), C(), O(1), C(), C(), C(), C();
    S(3, "\xff");
    C();
    O(1), O(2), good_gauge("kept"), C(), C();
    expect(4, 1, "metrics 0..1: resource: schema_url is not valid UTF-8");

    begin(); /* a bad scope */
    O(1), O(2), O(1), S(1, "\xff"), C(), good_gauge("x"), C(), C();
    expect(1, 0, "metrics 0..0: scope: name is not valid UTF-8");
}

static void test_undecodable(void **state)
{
    (void)state;
    osp_metric_batch b;
    osp_metric_batch_init(&b);
    /* rows from an earlier request stay; a failed request adds none */
    build_numbers();
    assert_int_equal(osp_otlp_metrics_decode_pb(body(), &b, &rep), 0);
    size_t np = b.npoints;
    osp_buf_cleanup(&W);
    assert_int_equal(osp_otlp_metrics_decode_pb(OSP_STR_LIT("\x08\x01"), &b, &rep), OSP_EPARSE);
    assert_string_equal(rep.message, "resource_metrics has the wrong wire type");
    begin(), O(1), O(2), U(2, 1), C(), C();
    assert_int_equal(osp_otlp_metrics_decode_pb(body(), &b, &rep), OSP_EPARSE);
    assert_string_equal(rep.message, "scope_metrics: field 2 has the wrong wire type");
    osp_buf_cleanup(&W);
    assert_int_equal(osp_otlp_metrics_decode_pb(OSP_STR_LIT("\x0a\x05\x12"), &b, &rep), OSP_EPARSE);
    assert_true(strstr(rep.message, "request: malformed protobuf at byte 0") != NULL);
    assert_int_equal(b.npoints, np);

    /* a malformed Metric inside good framing is one rejected point */
    begin(), O(1), O(2), O(2), S(1, "m");
    assert_int_equal(osp_buf_append(&W, "\x2a\x05\x0a", 3), 0); /* gauge past its end */
    C(), C(), C();
    osp_metric_batch_reset(&b);
    assert_int_equal(osp_otlp_metrics_decode_pb(body(), &b, &rep), 0);
    assert_int_equal(rep.rejected, 1);
    assert_int_equal(b.npoints, 0);
    osp_metric_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

static void test_empty_and_truncated(void **state)
{
    (void)state;
    osp_metric_batch b;
    osp_metric_batch_init(&b);
    assert_int_equal(osp_otlp_metrics_decode_pb(OSP_STR_NULL, &b, &rep), 0);
    assert_int_equal(b.npoints, 0);
    assert_int_equal(osp_otlp_metrics_decode_pb(OSP_STR_LIT("\x0a\x00\x0a\x02\x12\x00"), &b, &rep),
                     0);
    assert_int_equal(b.npoints + b.nmetrics + b.nresources + b.nscopes, 0);
    build_histograms();
    osp_str full = body();
    int failed = 0;
    for (size_t n = 0; n < full.n; n++) {
        osp_metric_batch_reset(&b);
        int rc = osp_otlp_metrics_decode_pb(osp_str_make(full.p, n), &b, &rep);
        assert_true(rc == 0 || rc == OSP_EPARSE);
        if (rc)
            assert_int_equal(b.npoints + b.nmetrics + b.nresources + b.nscopes, 0);
        failed += rc != 0;
    }
    assert_true(failed > (int)full.n / 2);
    osp_metric_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

/* Every allocation failing in turn: OSP_ENOMEM and the batch as it was, or success. */
static void test_out_of_memory(void **state)
{
    (void)state;
    build_numbers();
    int failures = 0;
    for (unsigned long n = 1; n < 40; n++) {
        osp_metric_batch b;
        osp_metric_batch_init(&b);
        osp_mem_fail_after(n);
        int rc = osp_otlp_metrics_decode_pb(body(), &b, &rep);
        osp_mem_fail_after(0);
        if (rc) {
            assert_int_equal(rc, OSP_ENOMEM);
            assert_int_equal(b.npoints, 0);
            failures++;
        }
        osp_metric_batch_cleanup(&b);
    }
    assert_true(failures > 0);
    osp_buf_cleanup(&W);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_histograms),
        cmocka_unit_test(test_exponential_and_summary),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_undecodable),
        cmocka_unit_test(test_empty_and_truncated),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
