/* Unit tests for proto/otlp_metrics_json: a request using every field decodes to the same
 * batch as the same request in protobuf; snake_case names, enum names, 64-bit strings;
 * rejections counted like the protobuf decoder's; malformed JSON and wrong types fail the
 * request with a position; truncated input and allocation failure. */
#include "testutil.h"

#include <math.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"
#include "model/attr.h"
#include "proto/otlp_metrics.h"

#include "proto/pbbuild.h"

/* Documents are written with ' for "; this swaps them back (static storage). */
static osp_str q(const char *text)
{
    static char buf[16384];
    size_t n = strlen(text);
    assert_true(n < sizeof buf);
    for (size_t i = 0; i <= n; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    return osp_str_make(buf, n);
}

static osp_decode_report rep;

static int decode(const char *text, osp_metric_batch *b)
{
    return osp_otlp_metrics_decode_json(q(text), b, &rep);
}

#define T0 1700000000000000000ull
static const uint8_t TID[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t SID[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};

/* Every field of every point kind, members in unusual orders, both name spellings. */
static const char rich_doc[] =
    "{'resourceMetrics':[{"
    " 'scopeMetrics':[{"
    "  'metrics':["
    "   {'gauge':{'dataPoints':["
    "     {'startTimeUnixNano':'1700000000000000000','timeUnixNano':1700000000000000010,"
    "      'asDouble':41.5,'flags':1,'attributes':[{'key':'core','value':{'stringValue':'0'}}],"
    "      'exemplars':[{'timeUnixNano':'1700000000000000005','asDouble':0.25,"
    "        'spanId':'00F067AA0BA902B7','traceId':'4bf92f3577b34da6a3ce929d0e0e4736',"
    "        'filteredAttributes':[{'value':{'stringValue':'u1'},'key':'user'}],'future':1}]},"
    "     {'asInt':'-7','time_unix_nano':'1700000000000000020',"
    "      'attributes':[{'key':'core','value':{'intValue':1}}]},"
    "     {'asDouble':'Infinity'},{}]},"
    "    'name':'cpu.temp','description':'Temperature','unit':'Cel',"
    "    'metadata':[{'key':'meta.k','value':{'stringValue':'m'}}]},"
    "   {'name':'requests','sum':{'aggregationTemporality':'AGGREGATION_TEMPORALITY_DELTA',"
    "    'is_monotonic':true,'data_points':[{'asInt':12}]}},"
    "   {'name':'http.duration','unit':'s','histogram':{'aggregationTemporality':2,"
    "    'dataPoints':[{'startTimeUnixNano':'1700000000000000000',"
    "     'timeUnixNano':'1700000000000000001','count':'10','sum':12.5,"
    "     'bucketCounts':['1',2,'3',4],'explicitBounds':[0.5,1,2.5],"
    "     'exemplars':[{'asInt':'9'}],'attributes':[{'key':'route','value':{'stringValue':'/a'}}],"
    "     'flags':0,'min':0.1,'max':3},"
    "     {'count':0,'sum':0,'explicit_bounds':[],'bucket_counts':[]}]}},"
    "   {'name':'latency','exponential_histogram':{'aggregationTemporality':1,'dataPoints':[{"
    "     'attributes':[{'key':'k','value':{'stringValue':'v'}}],"
    "     'startTimeUnixNano':'1700000000000000000','timeUnixNano':'1700000000000000002',"
    "     'count':20,'sum':7.5,'scale':-3,'zeroCount':'2',"
    "     'positive':{'offset':-2,'bucketCounts':[1,'300',0,5]},"
    "     'negative':{'bucketCounts':[7,8],'offset':5},'flags':1,"
    "     'exemplars':[{'timeUnixNano':'1700000000000000005','asDouble':0.25,"
    "       'spanId':'00f067aa0ba902b7','traceId':'4BF92F3577B34DA6A3CE929D0E0E4736',"
    "       'filteredAttributes':[{'key':'user','value':{'stringValue':'u1'}}]}],"
    "     'min':-1,'max':9,'zeroThreshold':1e-9}]}},"
    "   {'name':'rpc.quantiles','summary':{'dataPoints':[{'startTimeUnixNano':"
    "'1700000000000000000','timeUnixNano':'1700000000000000003','count':'100','sum':250.5,"
    "     'quantileValues':[{'quantile':0.5,'value':2},{'value':9,'quantile':0.99}],"
    "     'attributes':[{'key':'svc','value':{'stringValue':'a'}}],'flags':1},{}]}},"
    "   {'name':'nodata','description':'no points'}],"
    "  'schemaUrl':'https://scope/schema',"
    "  'scope':{'name':'meter','version':'1.0','droppedAttributesCount':2,"
    "   'attributes':[{'key':'scope.k','value':{'stringValue':'v'}}]}}],"
    " 'resource':{'attributes':["
    "   {'key':'service.name','value':{'stringValue':'checkout'}},"
    "   {'key':'arr','value':{'arrayValue':{'values':[{'intValue':'1'},{'stringValue':'x'},"
    "null,{'doubleValue':'NaN'},{'boolValue':true}]}}},"
    "   {'key':'map','value':{'kvlistValue':{'values':[{'key':'b','value':{'bytesValue':"
    "'aGk='}}]}}}],"
    "  'dropped_attributes_count':1,"
    "  'entityRefs':[{'type':'service','schemaUrl':'https://e','idKeys':['service.name'],"
    "'descriptionKeys':['arr']}]},"
    " 'schemaUrl':'https://resource/schema'}]}";

static void exemplar_full(uint32_t f)
{
    O(f), X64(2, T0 + 5), D(3, 0.25), B(4, SID, 8), B(5, TID, 16), kv_s(7, "user", "u1"), C();
}

static void packed64(uint32_t num, const uint64_t *v, size_t n)
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

/* rich_doc in protobuf. */
static osp_str rich_pb(void)
{
    static const uint64_t counts[] = {1, 2, 3, 4}, pos[] = {1, 300, 0, 5};
    osp_buf_init(&W, 0);
    sp = 0;
    O(1);
    O(1); /* Resource */
    kv_s(1, "service.name", "checkout");
    O(1), S(1, "arr"), O(2), O(5);
    O(1), U(3, 1), C(), O(1), S(1, "x"), C(), O(1), C(), O(1), D(4, NAN), C(), O(1), U(2, 1), C();
    C(), C(), C();
    O(1), S(1, "map"), O(2), O(6), O(1), S(1, "b"), O(2), B(7, "hi", 2), C(), C(), C(), C(), C();
    U(2, 1);
    O(3), S(1, "https://e"), S(2, "service"), S(3, "service.name"), S(4, "arr"), C();
    C();
    O(2); /* ScopeMetrics */
    O(1), S(1, "meter"), S(2, "1.0"), kv_s(3, "scope.k", "v"), U(4, 2), C();
    O(2), S(1, "cpu.temp"), S(2, "Temperature"), S(3, "Cel"), kv_s(12, "meta.k", "m"), O(5);
    O(1), X64(2, T0), X64(3, T0 + 10), D(4, 41.5), exemplar_full(5), kv_s(7, "core", "0");
    U(8, 1), C();
    O(1), X64(6, (uint64_t)-7), X64(3, T0 + 20), O(7), S(1, "core"), O(2), U(3, 1), C(), C(), C();
    O(1), D(4, INFINITY), C(), O(1), C();
    C(), C();
    O(2), S(1, "requests"), O(7), U(2, 1), U(3, 1), O(1), X64(6, 12), C(), C(), C();
    O(2), S(1, "http.duration"), S(3, "s"), O(9), U(2, 2);
    O(1), X64(2, T0), X64(3, T0 + 1), X64(4, 10), D(5, 12.5), packed64(6, counts, 4);
    O(7);
    for (int i = 0; i < 3; i++) {
        double b = i == 0 ? 0.5 : i == 1 ? 1 : 2.5;
        assert_int_equal(osp_buf_append(&W, &b, 8), 0);
    }
    C();
    O(8), X64(6, 9), C(), kv_s(9, "route", "/a"), D(11, 0.1), D(12, 3), C();
    O(1), X64(4, 0), D(5, 0), C();
    C(), C();
    O(2), S(1, "latency"), O(10), U(2, 1), O(1), kv_s(1, "k", "v"), X64(2, T0), X64(3, T0 + 2);
    X64(4, 20), D(5, 7.5), U(6, 5) /* zigzag -3 */, X64(7, 2);
    O(8), U(1, 3) /* -2 */, O(2);
    for (int i = 0; i < 4; i++)
        assert_int_equal(osp_pb_put_varint(&W, pos[i]), 0);
    C(), C();
    O(9), U(1, 10) /* 5 */, U(2, 7), U(2, 8), C();
    U(10, 1), exemplar_full(11), D(12, -1), D(13, 9), D(14, 1e-9), C();
    C(), C();
    O(2), S(1, "rpc.quantiles"), O(11);
    O(1), X64(2, T0), X64(3, T0 + 3), X64(4, 100), D(5, 250.5);
    O(6), D(1, 0.5), D(2, 2), C(), O(6), D(1, 0.99), D(2, 9), C();
    kv_s(7, "svc", "a"), U(8, 1), C();
    O(1), C();
    C(), C();
    O(2), S(1, "nodata"), S(2, "no points"), C();
    S(3, "https://scope/schema");
    C();
    S(3, "https://resource/schema");
    C();
    assert_int_equal(sp, 0);
    return osp_buf_str(&W);
}

static void assert_same_str(osp_str a, osp_str b, const char *what)
{
    if (!osp_str_eq(a, b))
        fail_msg("%s differs: \"%.*s\" vs \"%.*s\"", what, OSP_STR_FMT(a), OSP_STR_FMT(b));
}

static void assert_same_mem(const void *a, const void *b, size_t n, const char *what)
{
    if (n && memcmp(a, b, n) != 0)
        fail_msg("%s differs", what);
}

/* Row-by-row equality of two batches (contents, not pointers). */
static void assert_same_batch(const osp_metric_batch *a, const osp_metric_batch *b)
{
    assert_int_equal(a->nresources, b->nresources);
    assert_int_equal(a->nscopes, b->nscopes);
    assert_int_equal(a->nmetrics, b->nmetrics);
    assert_int_equal(a->npoints, b->npoints);
    for (size_t i = 0; i < a->nresources; i++) {
        const osp_resource *x = &a->resources[i], *y = &b->resources[i];
        assert_same_str(x->attributes, y->attributes, "resource attributes");
        assert_same_str(x->entity_refs, y->entity_refs, "entity refs");
        assert_same_str(x->schema_url, y->schema_url, "resource schema_url");
        assert_same_str(x->service_name, y->service_name, "service_name");
        assert_int_equal(x->dropped_attributes, y->dropped_attributes);
    }
    for (size_t i = 0; i < a->nscopes; i++) {
        const osp_scope *x = &a->scopes[i], *y = &b->scopes[i];
        assert_same_str(x->name, y->name, "scope name");
        assert_same_str(x->version, y->version, "scope version");
        assert_same_str(x->attributes, y->attributes, "scope attributes");
        assert_same_str(x->schema_url, y->schema_url, "scope schema_url");
        assert_int_equal(x->dropped_attributes, y->dropped_attributes);
    }
    for (size_t i = 0; i < a->nmetrics; i++) {
        const osp_metric *x = &a->metrics[i], *y = &b->metrics[i];
        assert_same_str(x->name, y->name, "metric name");
        assert_same_str(x->description, y->description, "description");
        assert_same_str(x->unit, y->unit, "unit");
        assert_same_str(x->metadata, y->metadata, "metadata");
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->temporality, y->temporality);
        assert_int_equal(x->monotonic, y->monotonic);
        assert_int_equal(x->resource, y->resource);
        assert_int_equal(x->scope, y->scope);
    }
    for (size_t i = 0; i < a->npoints; i++) {
        const osp_metric_point *x = &a->points[i], *y = &b->points[i];
        assert_int_equal(x->metric, y->metric);
        assert_int_equal(x->flags, y->flags);
        assert_int_equal(x->has, y->has);
        assert_int_equal(x->start_ns, y->start_ns);
        assert_int_equal(x->time_ns, y->time_ns);
        assert_same_str(x->attributes, y->attributes, "point attributes");
        assert_same_str(x->exemplars, y->exemplars, "exemplars");
        assert_same_mem(&x->value, &y->value, sizeof x->value, "value");
        assert_int_equal(x->count, y->count);
        assert_same_mem(&x->sum, &y->sum, sizeof x->sum, "sum");
        assert_same_mem(&x->min, &y->min, sizeof x->min, "min");
        assert_same_mem(&x->max, &y->max, sizeof x->max, "max");
        assert_int_equal(x->nbuckets, y->nbuckets);
        assert_int_equal(x->nbounds, y->nbounds);
        assert_same_mem(x->bucket_counts, y->bucket_counts, x->nbuckets * 8, "bucket_counts");
        assert_same_mem(x->bounds, y->bounds, x->nbounds * 8, "bounds");
        assert_int_equal(x->scale, y->scale);
        assert_int_equal(x->zero_count, y->zero_count);
        assert_same_mem(&x->zero_threshold, &y->zero_threshold, 8, "zero_threshold");
        assert_int_equal(x->pos_offset, y->pos_offset);
        assert_int_equal(x->neg_offset, y->neg_offset);
        assert_int_equal(x->npos, y->npos);
        assert_int_equal(x->nneg, y->nneg);
        assert_same_mem(x->pos_counts, y->pos_counts, x->npos * 8, "positive");
        assert_same_mem(x->neg_counts, y->neg_counts, x->nneg * 8, "negative");
        assert_int_equal(x->nquantiles, y->nquantiles);
        assert_same_mem(x->quantiles, y->quantiles, x->nquantiles * sizeof *x->quantiles,
                        "quantiles");
    }
}

static void test_same_as_protobuf(void **state)
{
    (void)state;
    osp_metric_batch j, p;
    osp_decode_report prep;
    osp_metric_batch_init(&j);
    osp_metric_batch_init(&p);
    assert_int_equal(decode(rich_doc, &j), 0);
    if (rep.message[0])
        fail_msg("%s", rep.message);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(osp_otlp_metrics_decode_pb(rich_pb(), &p, &prep), 0);
    assert_int_equal(prep.rejected, 0);
    assert_int_equal(j.npoints, 10);
    assert_int_equal(j.nmetrics, 5);
    assert_same_batch(&j, &p);
    assert_true(isinf(j.points[2].value.d));
    osp_metric_batch_cleanup(&j);
    osp_metric_batch_cleanup(&p);
    osp_buf_cleanup(&W);
}

/* Decodes a document that must succeed with `rejected` rejections, `points` rows left and
 * the report's message. */
static void expect(const char *doc, int64_t rejected, size_t points, const char *message)
{
    osp_metric_batch b;
    osp_metric_batch_init(&b);
    assert_int_equal(decode(doc, &b), 0);
    if (strcmp(rep.message, message) != 0)
        fail_msg("message \"%s\", want \"%s\"", rep.message, message);
    assert_int_equal(rep.rejected, rejected);
    assert_int_equal(b.npoints, points);
    if (points == 0)
        assert_int_equal(b.nmetrics + b.nscopes + b.nresources, 0);
    osp_metric_batch_cleanup(&b);
}

#define RM(res, metrics) "{'resourceMetrics':[{" res "'scopeMetrics':[{'metrics':[" metrics "]}]}]}"
#define GOOD(name) "{'name':'" name "','gauge':{'dataPoints':[{'asDouble':1}]}}"

static void test_rejections(void **state)
{
    (void)state;
    expect(RM("", "{'name':'h','histogram':{'dataPoints':["
                  "{'bucketCounts':[1,2,3],'explicitBounds':[1,2,3]},"
                  "{'bucketCounts':[1,2,3],'explicitBounds':[1,2]}]}}"),
           1, 1,
           "metric \"h\" point 0: bucketCounts has 3 entries, explicitBounds 3 (want bounds + 1)");
    expect(RM("", "{'name':'h','histogram':{'dataPoints':["
                  "{'bucketCounts':[1,2,3],'explicitBounds':[3,2]},"
                  "{'bucketCounts':[1,2],'explicitBounds':['NaN']}]}}"),
           2, 0, "metric \"h\" point 0: explicitBounds not strictly increasing at index 1");
    expect(RM("",
              "{'name':'g','gauge':{'dataPoints':[{'exemplars':[{'traceId':'00f067aa0ba902b7'}]},"
              "{'exemplars':[{'spanId':'zz'}]},{'exemplars':[{}]}]}}"),
           2, 1, "metric \"g\" point 0: exemplars: traceId must be empty or 16 bytes, got 8");
    expect(RM("", "{'gauge':{'dataPoints':[{},{},{}]}}," GOOD(
                      "ok") ",{'gauge':{'dataPoints':[{}]},'name':''}"),
           4, 1, "metric 0: name is empty");
    /* the name comes last: the points are taken back */
    expect(RM("", "{'gauge':{'dataPoints':[{'asDouble':1},{'asDouble':2}]},'name':''}"), 2, 0,
           "metric 0: name is empty");
    /* a resource found invalid after its metrics rejects all of them, counted once */
    char deep[4096] = "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[" GOOD(
        "x") ","
             "{'name':'h','histogram':{'dataPoints':[{'bucketCounts':[1]}]}}]}],"
             "'resource':{'attributes':[{'key':'deep','value':";
    for (int i = 0; i < 33; i++)
        strcat(deep, "{'arrayValue':{'values':[");
    strcat(deep, "{}");
    for (int i = 0; i < 33; i++)
        strcat(deep, "]}}");
    strcat(deep, "}]}},{'scopeMetrics':[{'metrics':[" GOOD("kept") "]}]}]}");
    expect(deep, 2, 1, "metrics 0..1: resource: attributes: value nested deeper than 32 levels");
    /* an invalid scope: its metrics' own rejections are not counted twice */
    expect("{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'name':'h','histogram':"
           "{'dataPoints':[{'bucketCounts':[1]},{}]}}],'scope':{'attributes':[{'key':'k',"
           "'value':{'kvlistValue':{'values':[{'key':'a','value':{'kvlistValue':{'values':[]}}}]}}}"
           "]}}]}]}",
           0, 2, "");
    expect(RM("",
              "{'name':'s','sum':{'aggregation_temporality':'AGGREGATION_TEMPORALITY_CUMULATIVE',"
              "'dataPoints':[{'asDouble':1}]}},{'name':'nodata'}"),
           0, 1, "");
}

/* Compares the rejection counts of a document with those of the same data in protobuf. */
static void test_counts_match_protobuf(void **state)
{
    (void)state;
    osp_metric_batch b;
    osp_decode_report prep;
    osp_metric_batch_init(&b);
    /* resource with an empty-named metric of 2 points and a bad point in another */
    assert_int_equal(
        decode(RM("", "{'name':'','gauge':{'dataPoints':[{},{}]}},"
                      "{'name':'h','histogram':{'dataPoints':[{'bucketCounts':[1]},{}]}}"),
               &b),
        0);
    int64_t json_rejected = rep.rejected;
    size_t json_points = b.npoints;
    osp_metric_batch_reset(&b);
    osp_buf_init(&W, 0);
    sp = 0;
    O(1), O(2), O(2), O(5), O(1), C(), O(1), C(), C(), C();
    O(2), S(1, "h"), O(9), O(1), X64(6, 1), C(), O(1), C(), C(), C();
    C(), C();
    assert_int_equal(osp_otlp_metrics_decode_pb(osp_buf_str(&W), &b, &prep), 0);
    assert_int_equal(prep.rejected, json_rejected);
    assert_int_equal(b.npoints, json_points);
    assert_string_equal(prep.message, "metric 0: name is empty");
    osp_metric_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

/* A document that must fail the whole request with a message containing `want`. */
static void expect_invalid(const char *doc, const char *want)
{
    osp_metric_batch b;
    osp_metric_batch_init(&b);
    assert_int_equal(decode(doc, &b), OSP_EPARSE);
    if (!strstr(rep.message, want))
        fail_msg("message \"%s\" lacks \"%s\"", rep.message, want);
    assert_int_equal(b.npoints + b.nmetrics + b.nscopes + b.nresources, 0);
    assert_int_equal(rep.rejected, 0);
    osp_metric_batch_cleanup(&b);
}

static void test_invalid(void **state)
{
    (void)state;
    expect_invalid("{'resourceMetrics':[}", "malformed JSON:");
    expect_invalid("{'resourceMetrics':[}", "offset 20");
    expect_invalid("[]", "invalid OTLP/JSON: the body must be an object at offset 0");
    expect_invalid(RM("", "{'name':5}"), "name must be a string at offset");
    expect_invalid(RM("", "{'name':'a','gauge':[]}"), "gauge must be an object");
    expect_invalid(RM("", "{'name':'a','gauge':{},'sum':{}}"), "Metric with more than one data");
    expect_invalid(RM("", "{'name':'a','name':'b'}"), "duplicate member \"name\"");
    expect_invalid(RM("", "{'sum':{'dataPoints':[],'data_points':[]}}"),
                   "duplicate member \"dataPoints\"");
    expect_invalid(RM("", "{'sum':{'aggregationTemporality':'DELTA'}}"),
                   "aggregationTemporality must be an AggregationTemporality number or name");
    expect_invalid(RM("", "{'sum':{'isMonotonic':1}}"), "isMonotonic must be true or false");
    expect_invalid(RM("", "{'gauge':{'dataPoints':[{'asDouble':1,'asInt':2}]}}"),
                   "data point with more than one value");
    expect_invalid(RM("", "{'gauge':{'dataPoints':[{'asInt':1.5}]}}"),
                   "asInt must be an int64 integer");
    expect_invalid(RM("", "{'gauge':{'dataPoints':[{'timeUnixNano':-1}]}}"),
                   "timeUnixNano must be a uint64 integer");
    expect_invalid(RM("", "{'gauge':{'dataPoints':[{'flags':4294967296}]}}"),
                   "flags must be a uint32 integer");
    expect_invalid(RM("", "{'gauge':{'dataPoints':[{'asDouble':'x'}]}}"),
                   "asDouble must be a number");
    expect_invalid(RM("", "{'histogram':{'dataPoints':[{'bucketCounts':[null]}]}}"),
                   "bucketCounts must be an array of uint64 integers");
    expect_invalid(RM("", "{'histogram':{'dataPoints':[{'explicitBounds':[true]}]}}"),
                   "explicitBounds must be an array of numbers");
    expect_invalid(RM("", "{'exponentialHistogram':{'dataPoints':[{'scale':2147483648}]}}"),
                   "scale must be an int32 integer");
    expect_invalid(RM("", "{'gauge':{'dataPoints':[{'exemplars':[{'asInt':1,'asDouble':1}]}]}}"),
                   "Exemplar with more than one value");
    expect_invalid(RM("", "{'gauge':{'dataPoints':[{'exemplars':[{'traceId':5}]}]}}"),
                   "traceId must be a hex string");
    expect_invalid(RM("", "{'gauge':{'dataPoints':[{'attributes':[{'key':'a','value':"
                          "{'intValue':1,'stringValue':'x'}}]}]}}"),
                   "AnyValue with more than one value");
    expect_invalid(RM("", "{'gauge':{'dataPoints':[{'attributes':[{'key':'a','value':"
                          "{'bytesValue':'***'}}]}]}}"),
                   "bytesValue must be a base64 string");
    expect_invalid(RM("'resource':{'attributes':5},", ""), "attributes must be an array");
    expect_invalid("{} x", "malformed JSON");
}

/* Every prefix of the rich document fails cleanly, leaving the batch as it was. */
static void test_truncated(void **state)
{
    (void)state;
    osp_metric_batch b;
    osp_metric_batch_init(&b);
    osp_str full = q(rich_doc);
    char *copy = malloc(full.n);
    assert_non_null(copy);
    memcpy(copy, full.p, full.n);
    for (size_t n = 0; n < full.n; n++) {
        int rc = osp_otlp_metrics_decode_json(osp_str_make(copy, n), &b, &rep);
        assert_int_equal(rc, OSP_EPARSE);
        assert_int_equal(b.npoints + b.nmetrics + b.nscopes + b.nresources, 0);
    }
    free(copy);
    osp_metric_batch_cleanup(&b);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    int failures = 0;
    for (unsigned long n = 1; n < 60; n++) {
        osp_metric_batch b;
        osp_metric_batch_init(&b);
        osp_mem_fail_after(n);
        int rc = decode(rich_doc, &b);
        osp_mem_fail_after(0);
        if (rc) {
            assert_int_equal(rc, OSP_ENOMEM);
            assert_int_equal(b.npoints, 0);
            failures++;
        }
        osp_metric_batch_cleanup(&b);
    }
    assert_true(failures > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_protobuf),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_counts_match_protobuf),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
