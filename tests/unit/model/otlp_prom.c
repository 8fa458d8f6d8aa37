/* Unit tests for model/otlp_prom: the spec's naming examples, units, label names and
 * numbers; every metric kind and temporality converted to series; job/instance,
 * target_info, promotion, scope labels, UTF-8 names; metadata units; exponential
 * histograms as native histograms (downscaling past schema 8, negative and zero buckets,
 * the scale limit); delta accumulation (gaps, overlaps, exponential histograms across
 * scales and zero thresholds, the bucket limit), eviction; rejections; exemplars onto their
 * series. (le/quantile numbers: core/numfmt's tests.) Inputs are OTLP/JSON documents
 * decoded with the JSON decoder. */
#include "testutil.h"

#include "core/err.h"
#include "core/mem.h"
#include "model/otlp_prom.h"
#include "proto/otlp_metrics.h"

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

static void assert_name(const char *name, const char *unit, int counter, int gauge, int naming,
                        const char *want, int want_total)
{
    osp_buf b;
    int total = -1;
    osp_buf_init(&b, 0);
    assert_int_equal(
        osp_prom_metric_name(osp_str_c(name), osp_str_c(unit), counter, gauge, naming, &b, &total),
        0);
    if (!osp_str_eq(osp_buf_str(&b), osp_str_c(want)))
        fail_msg("%s [%s]: got \"%.*s\", want \"%s\"", name, unit, (int)b.len, b.data, want);
    assert_int_equal(total, want_total);
    osp_buf_cleanup(&b);
}

static void test_metric_names(void **state)
{
    (void)state;
    enum { U = OSP_PROM_UNDERSCORE_SUFFIXES, N = OSP_PROM_NO_TRANSLATION };
    assert_name("system.network.io", "By", 1, 0, U, "system_network_io_bytes", 1);
    assert_name("system.cpu.utilization", "1", 0, 1, U, "system_cpu_utilization_ratio", 0);
    assert_name("http.requests", "{requests}", 1, 0, U, "http_requests", 1);
    assert_name("queue.size", "{items}", 0, 0, U, "queue_size", 0);
    assert_name("io.throughput", "By/s", 0, 1, U, "io_throughput_bytes_per_second", 0);
    assert_name("latency_seconds", "s", 0, 1, U, "latency_seconds", 0);
    assert_name("requests.total", "", 1, 0, U, "requests", 1);
    assert_name("total.requests", "1", 1, 0, U, "requests", 1); /* "1": no unit, no ratio */
    assert_name("ratio.of.x", "1", 0, 1, U, "of_x_ratio", 0);
    assert_name("2xx.count", "", 0, 1, U, "_2xx_count", 0);
    assert_name("memory.usage", "MiBy", 0, 1, U, "memory_usage_mebibytes", 0);
    assert_name("rpc.duration", "ms", 0, 0, U, "rpc_duration_milliseconds", 0);
    assert_name("x", "foo/bar", 0, 0, U, "x_foo_per_bar", 0);
    assert_name("x", "{req}/s", 0, 0, U, "x_per_second", 0);
    assert_name("x", "m/{y}", 0, 0, U, "x_meters", 0);
    assert_name("temp", "Cel", 0, 1, U, "temp_celsius", 0);
    assert_name("a..b__c:d", "%", 0, 1, U, "a_b_c:d_percent", 0);
    assert_name("métrique.é", "", 0, 1, U, "m_trique", 0);
    assert_name("...", "", 0, 1, U, "", 0);
    assert_name("http.server.duration", "s", 1, 0, N, "http.server.duration", 0);
}

static void assert_label(const char *key, int naming, const char *want)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_prom_label_name(osp_str_c(key), naming, &b), 0);
    if (!osp_str_eq(osp_buf_str(&b), osp_str_c(want)))
        fail_msg("%s: got \"%.*s\", want \"%s\"", key, (int)b.len, b.data, want);
    osp_buf_cleanup(&b);
}

static void assert_unit(const char *unit, const char *want)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_prom_unit(osp_str_c(unit), &b), 0);
    if (!osp_str_eq(osp_buf_str(&b), osp_str_c(want)))
        fail_msg("%s: got \"%.*s\", want \"%s\"", unit, (int)b.len, b.data, want);
    osp_buf_cleanup(&b);
}

static void test_labels_and_units(void **state)
{
    (void)state;
    assert_label("http.method", OSP_PROM_UNDERSCORE_SUFFIXES, "http_method");
    assert_label("123abc", OSP_PROM_UNDERSCORE_SUFFIXES, "key_123abc");
    assert_label("_foo", OSP_PROM_UNDERSCORE_SUFFIXES, "key_foo");
    assert_label("__name__", OSP_PROM_UNDERSCORE_SUFFIXES, "key__name__");
    assert_label("a:b-é", OSP_PROM_UNDERSCORE_SUFFIXES, "a_b__");
    assert_label("", OSP_PROM_UNDERSCORE_SUFFIXES, "");
    assert_label("http.method", OSP_PROM_NO_TRANSLATION, "http.method");
    assert_unit("By/s", "bytes_per_second");
    assert_unit("1", "");
    assert_unit("{packet}", "");
    assert_unit("%", "percent");
    assert_unit("KiBy", "kibibytes");
    assert_unit("1/h", "per_hour");
}

/* ---- conversions ---- */

static osp_otlp_prom_report prep;
static char lines[64][256];
static size_t nlines;

/* Appends " +[i:c ...]" (or -) for the buckets of one side of h, by absolute index. */
static size_t render_side(char *out, size_t cap, char sign, const osp_hist_span *spans,
                          uint32_t nspans, const double *buckets)
{
    size_t n = 0, k = 0;
    int64_t idx = 0;
    if (nspans == 0)
        return 0;
    n += (size_t)snprintf(out + n, cap - n, " %c[", sign);
    for (uint32_t s = 0; s < nspans; s++) {
        idx += spans[s].offset;
        for (uint32_t j = 0; j < spans[s].length; j++, idx++, k++)
            n += (size_t)snprintf(out + n, cap - n, "%s%lld:%g", k ? " " : "", (long long)idx,
                                  buckets[k]);
    }
    return n + (size_t)snprintf(out + n, cap - n, "]");
}

/* Renders a series as `name{k="v",...} value @t`, a native histogram's value as
 * `hist schema=S count=C sum=X zero=ZC/ZT +[i:c ...] -[i:c ...]` (hint=H when not UNKNOWN;
 * stale markers as "stale"). */
static void render(const osp_series *s, char *out, size_t cap)
{
    size_t n = 0;
    osp_str name = osp_labels_get(s->labels, s->nlabels, OSP_STR_LIT("__name__"));
    n += (size_t)snprintf(out + n, cap - n, "%.*s{", OSP_STR_FMT(name));
    int first = 1;
    for (size_t i = 0; i < s->nlabels; i++) {
        if (i > 0)
            assert_true(osp_str_cmp(s->labels[i - 1].name, s->labels[i].name) < 0);
        assert_true(s->labels[i].value.n > 0);
        if (osp_str_eqz(s->labels[i].name, "__name__"))
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s%.*s=\"%.*s\"", first ? "" : ",",
                              OSP_STR_FMT(s->labels[i].name), OSP_STR_FMT(s->labels[i].value));
        first = 0;
    }
    assert_int_equal(s->nsamples + s->nhsamples, 1);
    if (s->nhsamples) {
        const osp_histogram *h = s->hsamples[0].h;
        assert_null(osp_hist_check(h));
        if (osp_hist_is_stale(h)) {
            snprintf(out + n, cap - n, "} stale @%lld", (long long)s->hsamples[0].t_ms);
            return;
        }
        n += (size_t)snprintf(out + n, cap - n, "} hist schema=%d count=%g sum=%g zero=%g/%g",
                              (int)h->schema, h->count, h->sum, h->zero_count, h->zero_threshold);
        if (h->hint != OSP_HIST_HINT_UNKNOWN)
            n += (size_t)snprintf(out + n, cap - n, " hint=%d", (int)h->hint);
        n += render_side(out + n, cap - n, '+', h->pspans, h->npspans, h->pbuckets);
        n += render_side(out + n, cap - n, '-', h->nspans, h->nnspans, h->nbuckets);
        snprintf(out + n, cap - n, " @%lld", (long long)s->hsamples[0].t_ms);
    } else if (osp_is_stale_nan(s->samples[0].v)) {
        snprintf(out + n, cap - n, "} stale @%lld", (long long)s->samples[0].t_ms);
    } else {
        snprintf(out + n, cap - n, "} %g @%lld", s->samples[0].v, (long long)s->samples[0].t_ms);
    }
}

/* Converts doc into lines[]; returns the batch (caller cleans up). */
static void convert(const char *doc, const osp_otlp_prom_options *opt, osp_delta_state *delta,
                    osp_series_batch *out)
{
    osp_metric_batch in;
    osp_decode_report rep;
    osp_metric_batch_init(&in);
    osp_series_batch_init(out);
    assert_int_equal(osp_otlp_metrics_decode_json(q(doc), &in, &rep), 0);
    if (rep.rejected)
        fail_msg("decode: %s", rep.message);
    assert_int_equal(osp_otlp_to_prom(&in, opt, delta, out, &prep), 0);
    osp_metric_batch_cleanup(&in); /* the series must not point into it */
    assert_true(out->nseries <= 64);
    nlines = out->nseries;
    for (size_t i = 0; i < out->nseries; i++)
        render(&out->series[i], lines[i], sizeof lines[i]);
}

static void has(const char *line)
{
    for (size_t i = 0; i < nlines; i++)
        if (strcmp(lines[i], line) == 0)
            return;
    for (size_t i = 0; i < nlines; i++)
        fprintf(stderr, "  %s\n", lines[i]);
    fail_msg("missing: %s", line);
}

static const osp_metric_meta *meta(const osp_series_batch *b, const char *family)
{
    for (size_t i = 0; i < b->nmeta; i++)
        if (osp_str_eqz(b->meta[i].family, family))
            return &b->meta[i];
    fail_msg("no metadata for %s", family);
    return NULL;
}

#define RES                                                                                        \
    "'resource':{'attributes':[{'key':'service.name','value':{'stringValue':'svc'}},"              \
    "{'key':'service.namespace','value':{'stringValue':'ns'}},"                                    \
    "{'key':'service.instance.id','value':{'stringValue':'i1'}},"                                  \
    "{'key':'host.name','value':{'stringValue':'h1'}},"                                            \
    "{'key':'k8s.pod','value':{'stringValue':'p'}}]},"
#define DOC(metrics)                                                                               \
    "{'resourceMetrics':[{" RES "'scopeMetrics':[{'scope':{'name':'meter','version':'1.0'},"       \
    "'metrics':[" metrics "]}]}]}"
#define T(ms) "'timeUnixNano':'" #ms "000000'"

static void test_every_kind(void **state)
{
    (void)state;
    osp_series_batch b;
    convert(
        DOC("{'name':'system.cpu.utilization','unit':'1','description':'CPU',"
            "'gauge':{'dataPoints':[{" T(
                1000) ",'asDouble':0.5,'attributes':["
                      "{'key':'a_b','value':{'stringValue':'2'}},{'key':'a.b','value':{'intValue':"
                      "1}},"
                      "{'key':'empty','value':{'stringValue':''}},"
                      "{'key':'arr','value':{'arrayValue':{'values':[{'intValue':1},{'stringValue':"
                      "'x'}]}}}]},"
                      "{" T(
                          2000) ",'flags':1}]}},"
                                "{'name':'system.network.io','unit':'By','sum':{'"
                                "aggregationTemporality':2,"
                                "'isMonotonic':true,'dataPoints':[{" T(
                                    1000) ",'asInt':5}]}},"
                                          "{'name':'queue.size','unit':'{items}','sum':{'"
                                          "aggregationTemporality':2,"
                                          "'dataPoints':[{" T(
                                              1000) ",'asInt':-3}]}},"
                                                    "{'name':'http.duration','unit':'s','histogram'"
                                                    ":{'aggregationTemporality':2,"
                                                    "'dataPoints':[{" T(
                                                        1000) ",'count':6,'sum':4.5,'bucketCounts':"
                                                              "[1,2,3],"
                                                              "'explicitBounds':[0.5,1]},{" T(
                                                                  2000) ",'count':2}]}},"
                                                                        "{'name':'rpc.latency','"
                                                                        "unit':'ms','summary':{'"
                                                                        "dataPoints':[{" T(
                                                                            1000) ",'count':10,"
                                                                                  "'sum':25,'"
                                                                                  "quantileValues':"
                                                                                  "[{'quantile':0."
                                                                                  "5,'value':2},{'"
                                                                                  "quantile':0.99,'"
                                                                                  "value':9}]}]}},"
                                                                                  "{'name':'size','"
                                                                                  "unit':'By','"
                                                                                  "exponentialHisto"
                                                                                  "gram':{'"
                                                                                  "aggregationTempo"
                                                                                  "rality':2,"
                                                                                  "'dataPoints':["
                                                                                  "{" T(
                                                                                      1000) ",'"
                                                                                            "count'"
                                                                                            ":10,'"
                                                                                            "sum':"
                                                                                            "3,'"
                                                                                            "scale'"
                                                                                            ":0,'"
                                                                                            "zeroCo"
                                                                                            "unt':"
                                                                                            "1,"
                                                                                            "'posit"
                                                                                            "ive':{"
                                                                                            "'offse"
                                                                                            "t':0,'"
                                                                                            "bucket"
                                                                                            "Counts"
                                                                                            "':[2,"
                                                                                            "3]},"
                                                                                            "'negat"
                                                                                            "ive':{"
                                                                                            "'offse"
                                                                                            "t':0,'"
                                                                                            "bucket"
                                                                                            "Counts"
                                                                                            "':[4]}"
                                                                                            "}]}}"),
        NULL, NULL, &b);
    assert_int_equal(prep.rejected, 0);
#define IJ "instance=\"i1\",job=\"ns/svc\""
#define SC "otel_scope_name=\"meter\",otel_scope_version=\"1.0\""
#define ID IJ "," SC
    has("system_cpu_utilization_ratio{a_b=\"1;2\",arr=\"[1,\"x\"]\"," ID "} 0.5 @1000");
    has("system_cpu_utilization_ratio{" ID "} stale @2000");
    has("system_network_io_bytes_total{" ID "} 5 @1000");
    has("queue_size{" ID "} -3 @1000");
    has("http_duration_seconds_bucket{" IJ ",le=\"0.5\"," SC "} 1 @1000");
    has("http_duration_seconds_bucket{" IJ ",le=\"1\"," SC "} 3 @1000");
    has("http_duration_seconds_bucket{" IJ ",le=\"+Inf\"," SC "} 6 @1000");
    has("http_duration_seconds_sum{" ID "} 4.5 @1000");
    has("http_duration_seconds_count{" ID "} 6 @1000");
    has("http_duration_seconds_bucket{" IJ ",le=\"+Inf\"," SC "} 2 @2000"); /* no buckets, no sum */
    has("http_duration_seconds_count{" ID "} 2 @2000");
    has("rpc_latency_milliseconds{" ID ",quantile=\"0.5\"} 2 @1000");
    has("rpc_latency_milliseconds{" ID ",quantile=\"0.99\"} 9 @1000");
    has("rpc_latency_milliseconds_sum{" ID "} 25 @1000");
    has("rpc_latency_milliseconds_count{" ID "} 10 @1000");
    /* one native histogram series: OTLP bucket i is Prometheus's i + 1 on both sides */
    has("size_bytes{" ID "} hist schema=0 count=10 sum=3 zero=1/0 +[1:2 2:3] -[1:4] @1000");
    has("target_info{host_name=\"h1\",instance=\"i1\",job=\"ns/svc\",k8s_pod=\"p\"} 1 @2000");
    assert_int_equal(nlines, 17);
    const osp_metric_meta *m = meta(&b, "system_network_io_bytes");
    assert_int_equal(m->kind, OSP_KIND_COUNTER);
    assert_true(osp_str_eqz(m->unit, "bytes"));
    m = meta(&b, "system_cpu_utilization_ratio");
    assert_int_equal(m->kind, OSP_KIND_GAUGE);
    assert_true(osp_str_eqz(m->help, "CPU"));
    assert_int_equal(meta(&b, "queue_size")->kind, OSP_KIND_GAUGE);
    assert_int_equal(meta(&b, "http_duration_seconds")->kind, OSP_KIND_HISTOGRAM);
    assert_int_equal(meta(&b, "size_bytes")->kind, OSP_KIND_HISTOGRAM);
    assert_int_equal(meta(&b, "rpc_latency_milliseconds")->kind, OSP_KIND_SUMMARY);
    assert_int_equal(meta(&b, "target_info")->kind, OSP_KIND_GAUGE);
    assert_int_equal(b.nmeta, 7);
    osp_series_batch_cleanup(&b);
}

static void test_options(void **state)
{
    (void)state;
    osp_series_batch b;
    static const osp_str promote[] = {OSP_STR_LIT("k8s.pod"), OSP_STR_LIT("absent")};
    osp_otlp_prom_options opt = {
        .promote = promote, .npromote = 2, .no_scope_labels = 1, .no_target_info = 1};
    const char *doc =
        DOC("{'name':'http.server.duration','unit':'s','sum':{'aggregationTemporality':"
            "2,'isMonotonic':true,'dataPoints':[{" T(
                1000) ",'asDouble':1,'attributes':"
                      "[{'key':'http.method','value':{'stringValue':'GET'}},"
                      "{'key':'k8s.pod','value':{'stringValue':'mine'}}]}]}}");
    convert(doc, &opt, NULL, &b);
    /* the point's attribute and the promoted one collide: joined by original key order */
    has("http_server_duration_seconds_total{http_method=\"GET\",instance=\"i1\",job=\"ns/svc\","
        "k8s_pod=\"p;mine\"} 1 @1000");
    assert_int_equal(nlines, 1);
    osp_series_batch_cleanup(&b);

    opt = (osp_otlp_prom_options){.naming = OSP_PROM_NO_TRANSLATION, .no_target_info = 1};
    convert(doc, &opt, NULL, &b);
    has("http.server.duration{http.method=\"GET\",instance=\"i1\",job=\"ns/svc\",k8s.pod=\"mine\","
        "otel_scope_name=\"meter\",otel_scope_version=\"1.0\"} 1 @1000");
    osp_series_batch_cleanup(&b);

    /* no service attributes: no job, instance or target_info of them */
    convert("{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'name':'g','gauge':"
            "{'dataPoints':[{'asDouble':1}]}}]}]}]}",
            NULL, NULL, &b);
    has("g{} 1 @0");
    assert_int_equal(nlines, 1);
    osp_series_batch_cleanup(&b);
}

static void delta_sum(osp_delta_state *st, const char *attrs, uint64_t start_ms, uint64_t t_ms,
                      int value, const char *want)
{
    char doc[1024];
    osp_series_batch b;
    snprintf(doc, sizeof doc,
             "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'name':'req','sum':{"
             "'aggregationTemporality':1,'isMonotonic':true,'dataPoints':[{"
             "'startTimeUnixNano':'%llu','timeUnixNano':'%llu','asInt':%d,"
             "'attributes':[{'key':'a','value':{'stringValue':'%s'}}]}]}}]}]}]}",
             (unsigned long long)start_ms * 1000000u, (unsigned long long)t_ms * 1000000u, value,
             attrs);
    convert(doc, NULL, st, &b);
    if (want) {
        assert_int_equal(prep.rejected, 0);
        has(want);
    } else {
        assert_int_equal(prep.rejected, 1);
        assert_int_equal(nlines, 0);
    }
    osp_series_batch_cleanup(&b);
}

static void test_delta(void **state)
{
    (void)state;
    osp_delta_state *st = osp_delta_state_create(0);
    assert_non_null(st);
    delta_sum(st, "x", 1000, 2000, 5, "req_total{a=\"x\"} 5 @2000");
    delta_sum(st, "x", 2000, 3000, 3, "req_total{a=\"x\"} 8 @3000");
    delta_sum(st, "x", 3000, 4000, 2, "req_total{a=\"x\"} 10 @4000");
    /* a gap (no point for a cycle without measurements) means no increments: it goes on */
    delta_sum(st, "x", 5000, 6000, 7, "req_total{a=\"x\"} 17 @6000");
    delta_sum(st, "x", 6000, 6000, 1, NULL); /* not newer: refused */
    assert_string_equal(prep.message,
                        "metric \"req\": delta point overlaps the last one of its series (its "
                        "start is before that point's time: out of order or a duplicate)");
    delta_sum(st, "x", 5500, 7000, 1, NULL); /* starts before the last time: refused */
    delta_sum(st, "x", 0, 7000, 1, "req_total{a=\"x\"} 18 @7000"); /* no start: adds */
    delta_sum(st, "x", 7000, 8000, 2, "req_total{a=\"x\"} 20 @8000");
    delta_sum(st, "y", 1000, 2000, 4, "req_total{a=\"y\"} 4 @2000");
    assert_int_equal(osp_delta_state_streams(st), 2);

    /* delta histograms add per bucket; a change of bounds starts again */
    osp_series_batch b;
    const char *h1 = "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'name':'h','histogram':{"
                     "'aggregationTemporality':1,'dataPoints':[{'startTimeUnixNano':'1000000000',"
                     "'timeUnixNano':'2000000000','count':3,'sum':1.5,'bucketCounts':[1,2],"
                     "'explicitBounds':[1]}]}}]}]}]}";
    const char *h2 = "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'name':'h','histogram':{"
                     "'aggregationTemporality':1,'dataPoints':[{'startTimeUnixNano':'2000000000',"
                     "'timeUnixNano':'3000000000','count':1,'sum':0.5,'bucketCounts':[1,0],"
                     "'explicitBounds':[1]}]}}]}]}]}";
    convert(h1, NULL, st, &b);
    osp_series_batch_cleanup(&b);
    convert(h2, NULL, st, &b);
    has("h_bucket{le=\"1\"} 2 @3000");
    has("h_bucket{le=\"+Inf\"} 4 @3000");
    has("h_sum{} 2 @3000");
    has("h_count{} 4 @3000");
    osp_series_batch_cleanup(&b);

    /* non-monotonic delta sums accumulate into a gauge; a stale point ends the stream */
    const char *g = "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'name':'inflight','sum':{"
                    "'aggregationTemporality':1,'dataPoints':[{'startTimeUnixNano':'1000000000',"
                    "'timeUnixNano':'2000000000','asInt':4},{'startTimeUnixNano':'2000000000',"
                    "'timeUnixNano':'3000000000','asInt':-1},{'timeUnixNano':'4000000000',"
                    "'flags':1}]}}]}]}]}";
    size_t before = osp_delta_state_streams(st);
    convert(g, NULL, st, &b);
    has("inflight{} 4 @2000");
    has("inflight{} 3 @3000");
    has("inflight{} stale @4000");
    assert_int_equal(osp_delta_state_streams(st), before);
    assert_int_equal(meta(&b, "inflight")->kind, OSP_KIND_GAUGE);
    osp_series_batch_cleanup(&b);
    osp_delta_state_destroy(st);
}

/* One exponential histogram point of metric "e" (unit By) converted into lines[]:
 * temporality, start and time in seconds, then the point's other members. */
static void exp_point(osp_delta_state *st, int temporality, int start_s, int time_s,
                      const char *members)
{
    static char doc[4096];
    osp_series_batch b;
    snprintf(doc, sizeof doc,
             "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'name':'e','unit':'By',"
             "'exponentialHistogram':{'aggregationTemporality':%d,'dataPoints':[{"
             "'startTimeUnixNano':'%lld','timeUnixNano':'%lld',%s}]}}]}]}]}",
             temporality, start_s * 1000000000ll, time_s * 1000000000ll, members);
    convert(doc, NULL, st, &b);
    osp_series_batch_cleanup(&b);
}

/* exp_point, which must give the one series want. */
static void exp_ok(osp_delta_state *st, int temporality, int start_s, int time_s,
                   const char *members, const char *want)
{
    exp_point(st, temporality, start_s, time_s, members);
    if (prep.rejected)
        fail_msg("rejected: %s", prep.message);
    has(want);
    assert_int_equal(nlines, 1);
}

/* exp_point, which must be rejected with message why. */
static void exp_bad(osp_delta_state *st, int temporality, int start_s, int time_s,
                    const char *members, const char *why)
{
    exp_point(st, temporality, start_s, time_s, members);
    assert_int_equal(prep.rejected, 1);
    assert_string_equal(prep.message, why);
    assert_int_equal(nlines, 0);
}

#define E "e_bytes{} hist "

static void test_exp_native(void **state)
{
    (void)state;
    /* Scale 20 down to 8: 2^12 OTLP buckets make one. OTLP bucket i is (base^i,
     * base^(i+1)], Prometheus's i + 1: positive 4095 -> floor(4095 / 4096) + 1 = 1, 4096 ->
     * 2; negative -4097 -> floor(-4097 / 4096) + 1 = -1, -4095 -> 0 (-4096 is empty). */
    exp_ok(NULL, 2, 0, 1,
           "'count':12,'sum':3.5,'scale':20,'zeroCount':2,'zeroThreshold':0.001,"
           "'positive':{'offset':4095,'bucketCounts':[1,2]},"
           "'negative':{'offset':-4097,'bucketCounts':[3,0,4]}",
           E "schema=8 count=12 sum=3.5 zero=2/0.001 +[1:1 2:2] -[-1:3 0:4] @1000");
    /* Scale 10: four make one. OTLP -3..-1 -> 0 (3), 0 and 1 -> 1 (2), 9 -> 3 (5), with a
     * gap at 2; empty OTLP buckets leave no empty Prometheus buckets. */
    exp_ok(NULL, 2, 0, 2,
           "'count':10,'sum':1,'scale':10,"
           "'positive':{'offset':-3,'bucketCounts':[1,1,1,1,1,0,0,0,0,0,0,0,5]}",
           E "schema=8 count=10 sum=1 zero=0/0 +[0:3 1:2 3:5] @2000");
    /* Scale 21 (past OTLP's 20): 2^13 make one. */
    exp_ok(NULL, 2, 0, 3,
           "'count':2,'sum':1,'scale':21,'positive':{'offset':8191,'bucketCounts':[1,1]}",
           E "schema=8 count=2 sum=1 zero=0/0 +[1:1 2:1] @3000");
    /* Scales -4..8 are kept; no sum reads as 0, as Prometheus's translator writes it. */
    exp_ok(NULL, 2, 0, 4, "'count':3,'scale':3,'positive':{'offset':8,'bucketCounts':[1,2]}",
           E "schema=3 count=3 sum=0 zero=0/0 +[9:1 10:2] @4000");
    exp_ok(NULL, 2, 0, 5,
           "'count':1,'sum':-2,'scale':-4,'negative':{'offset':-1,'bucketCounts':[1]}",
           E "schema=-4 count=1 sum=-2 zero=0/0 -[0:1] @5000");
    /* A count above the bucket total (NaN observations) is allowed, as in Prometheus. */
    exp_ok(NULL, 2, 0, 6, "'count':5,'scale':0,'zeroCount':1",
           E "schema=0 count=5 sum=0 zero=1/0 @6000");
    /* No recorded value: the stale marker. */
    exp_ok(NULL, 2, 0, 7, "'flags':1", "e_bytes{} stale @7000");
    /* What a native histogram cannot hold. */
    exp_bad(NULL, 2, 0, 8, "'count':1,'scale':-5,'positive':{'offset':0,'bucketCounts':[1]}",
            "metric \"e\": exponential histogram scale -5 is below -4, the coarsest native "
            "histogram schema");
    exp_bad(NULL, 2, 0, 8,
            "'count':2,'scale':0,'zeroCount':1,'positive':{'offset':0,'bucketCounts':[2]}",
            "metric \"e\": exponential histogram: count 2 below the bucket total 3");
    exp_bad(NULL, 2, 0, 8, "'count':0,'scale':0,'zeroThreshold':-1",
            "metric \"e\": exponential histogram: zero threshold -1 negative or NaN");
    exp_bad(NULL, 2, 0, 8,
            "'count':1,'scale':0,'positive':{'offset':2147483647,'bucketCounts':[1]}",
            "metric \"e\": exponential histogram bucket index past int32");
}

static void test_delta_exp(void **state)
{
    (void)state;
    osp_delta_state *st = osp_delta_state_create(0);
    assert_non_null(st);
    /* scale 5: OTLP 32 and 36 are Prometheus 33 and 37 */
    exp_ok(st, 1, 1, 2,
           "'count':3,'sum':6.5,'scale':5,'positive':{'offset':32,'bucketCounts':[1,0,0,0,2]}",
           E "schema=5 count=3 sum=6.5 zero=0/0 +[33:1 37:2] @2000");
    /* scale 4 (OTLP 20 -> 21): the total at the coarser schema, index j at schema 5 being
     * (j - 1) / 2 + 1 at schema 4: 33 -> 17, 37 -> 19 */
    exp_ok(st, 1, 2, 3, "'count':1,'sum':2.5,'scale':4,'positive':{'offset':20,'bucketCounts':[1]}",
           E "schema=4 count=4 sum=9 zero=0/0 +[17:1 19:2 21:1] @3000");
    /* after a gap, scale 1 with a negative bucket and the zero bucket: 17, 19 and 21 go to
     * (j - 1) / 8 + 1 = 3, beside the point's own 3 (OTLP 2) */
    exp_ok(st, 1, 5, 6,
           "'count':3,'sum':1,'scale':1,'zeroCount':1,'positive':{'offset':2,'bucketCounts':[1]},"
           "'negative':{'offset':0,'bucketCounts':[1]}",
           E "schema=1 count=7 sum=10 zero=1/0 +[3:5] -[1:1] @6000");
    /* a finer point goes to the stream's schema (34 at schema 5 -> 33 / 16 + 1 = 3); its
     * larger zero threshold, below every bucket (the lowest starts at 1), is the total's */
    exp_ok(st, 1, 6, 7,
           "'count':2,'sum':3,'scale':5,'zeroCount':1,'zeroThreshold':0.5,"
           "'positive':{'offset':33,'bucketCounts':[1]}",
           E "schema=1 count=9 sum=13 zero=2/0.5 +[3:6] -[1:1] @7000");
    /* an overlapping point is refused and changes nothing */
    exp_bad(st, 1, 6, 8, "'count':1,'scale':3,'positive':{'offset':8,'bucketCounts':[1]}",
            "metric \"e\": delta point overlaps the last one of its series (its start is "
            "before that point's time: out of order or a duplicate)");
    exp_ok(st, 1, 7, 8, "'count':1,'scale':3,'positive':{'offset':8,'bucketCounts':[1]}",
           E "schema=1 count=10 sum=13 zero=2/0.5 +[3:7] -[1:1] @8000");
    /* a stale point ends the stream; the next one starts afresh */
    size_t before = osp_delta_state_streams(st);
    exp_ok(st, 1, 8, 9, "'flags':1", "e_bytes{} stale @9000");
    assert_int_equal(osp_delta_state_streams(st), before - 1);
    exp_ok(st, 1, 9, 10, "'count':1,'scale':3,'positive':{'offset':8,'bucketCounts':[1]}",
           E "schema=3 count=1 sum=0 zero=0/0 +[9:1] @10000");
    osp_delta_state_destroy(st);
}

/* A point of 1100 buckets of 1 at scale 8 (Prometheus 1..1100), delta or cumulative. */
static void convert_wide(osp_delta_state *st, int temporality, osp_series_batch *b)
{
    static char doc[8192];
    int n = snprintf(doc, sizeof doc,
                     "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'name':'w',"
                     "'exponentialHistogram':{'aggregationTemporality':%d,'dataPoints':[{"
                     "'timeUnixNano':'1000000000','count':1100,'scale':8,"
                     "'positive':{'offset':0,'bucketCounts':[1",
                     temporality);
    for (int i = 1; i < 1100; i++)
        n += snprintf(doc + n, sizeof doc - (size_t)n, ",1");
    snprintf(doc + n, sizeof doc - (size_t)n, "]}}]}}]}]}]}");
    osp_metric_batch in;
    osp_decode_report rep;
    osp_metric_batch_init(&in);
    osp_series_batch_init(b);
    assert_int_equal(osp_otlp_metrics_decode_json(q(doc), &in, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(osp_otlp_to_prom(&in, NULL, st, b, &prep), 0);
    assert_int_equal(prep.rejected, 0);
    assert_int_equal(b->nseries, 1);
    assert_int_equal(b->series[0].nhsamples, 1);
    osp_metric_batch_cleanup(&in);
}

static void test_delta_exp_bucket_limit(void **state)
{
    (void)state;
    osp_delta_state *st = osp_delta_state_create(0);
    osp_series_batch b;
    /* A delta stream keeps at most OSP_PROM_HIST_MAX_BUCKETS (1024): 1100 buckets at schema
     * 8 become 550 at schema 7, buckets 2k - 1 and 2k merged into k. */
    convert_wide(st, 1, &b);
    const osp_histogram *h = b.series[0].hsamples[0].h;
    assert_null(osp_hist_check(h));
    assert_int_equal(h->schema, 7);
    assert_true(h->count == 1100);
    assert_int_equal(h->npbuckets, 550);
    uint32_t covered = 0;
    for (uint32_t i = 0; i < h->npspans; i++)
        covered += h->pspans[i].length;
    assert_int_equal(covered, 550);
    assert_int_equal(h->pspans[0].offset, 1);
    for (uint32_t i = 0; i < h->npbuckets; i++)
        assert_true(h->pbuckets[i] == 2);
    osp_series_batch_cleanup(&b);
    /* A cumulative point is stored as sent. */
    convert_wide(NULL, 2, &b);
    h = b.series[0].hsamples[0].h;
    assert_int_equal(h->schema, 8);
    assert_int_equal(h->npbuckets, 1100);
    assert_int_equal(h->npspans, 1);
    osp_series_batch_cleanup(&b);
    osp_delta_state_destroy(st);
}

static void test_metadata_units(void **state)
{
    (void)state;
    osp_series_batch b;
    convert(DOC("{'name':'cpu.utilization','unit':'1','gauge':{'dataPoints':[{'asDouble':0.5}]}},"
                "{'name':'things','unit':'1','sum':{'aggregationTemporality':2,'isMonotonic':true,"
                "'dataPoints':[{'asInt':1}]}},"
                "{'name':'latency_seconds','unit':'s','gauge':{'dataPoints':[{'asDouble':1}]}},"
                "{'name':'rpc.duration','unit':'ms','histogram':{'aggregationTemporality':2,"
                "'dataPoints':[{'count':0}]}},"
                "{'name':'io','unit':'By/s','gauge':{'dataPoints':[{'asDouble':1}]}},"
                "{'name':'pkts','unit':'{packet}','gauge':{'dataPoints':[{'asDouble':1}]}}"),
            NULL, NULL, &b);
    assert_int_equal(prep.rejected, 0);
    assert_string_equal(meta(&b, "cpu_utilization_ratio")->unit.p, "ratio");
    assert_int_equal(meta(&b, "things")->unit.n, 0);
    assert_true(osp_str_eqz(meta(&b, "latency_seconds")->unit, "seconds"));
    assert_true(osp_str_eqz(meta(&b, "rpc_duration_milliseconds")->unit, "milliseconds"));
    assert_true(osp_str_eqz(meta(&b, "io_bytes_per_second")->unit, "bytes_per_second"));
    assert_int_equal(meta(&b, "pkts")->unit.n, 0);
    osp_series_batch_cleanup(&b);
    /* the names kept as sent: the unit word all the same */
    osp_otlp_prom_options opt = {.naming = OSP_PROM_NO_TRANSLATION};
    convert(DOC("{'name':'cpu.utilization','unit':'1','gauge':{'dataPoints':[{'asDouble':0.5}]}}"),
            &opt, NULL, &b);
    assert_true(osp_str_eqz(meta(&b, "cpu.utilization")->unit, "ratio"));
    osp_series_batch_cleanup(&b);
}

static void test_eviction(void **state)
{
    (void)state;
    osp_delta_state *st = osp_delta_state_create(2);
    delta_sum(st, "1", 1000, 2000, 1, "req_total{a=\"1\"} 1 @2000");
    delta_sum(st, "2", 1000, 2000, 1, "req_total{a=\"2\"} 1 @2000");
    delta_sum(st, "1", 2000, 3000, 1, "req_total{a=\"1\"} 2 @3000"); /* 1 is now the newest */
    delta_sum(st, "3", 1000, 2000, 1, "req_total{a=\"3\"} 1 @2000"); /* evicts 2 */
    assert_int_equal(osp_delta_state_streams(st), 2);
    delta_sum(st, "1", 3000, 4000, 1, "req_total{a=\"1\"} 3 @4000");
    delta_sum(st, "2", 2000, 3000, 5, "req_total{a=\"2\"} 5 @3000"); /* started afresh */
    assert_int_equal(osp_delta_state_streams(st), 2);
    osp_delta_state_destroy(st);
    osp_delta_state_destroy(NULL);
}

static void test_rejections(void **state)
{
    (void)state;
    osp_series_batch b;
    convert(
        "{'resourceMetrics':[{'scopeMetrics':[{'metrics':["
        "{'name':'nov','gauge':{'dataPoints':[{},{'asDouble':1}]}},"
        "{'name':'h','histogram':{'aggregationTemporality':2,'dataPoints':[{'count':5,"
        "'bucketCounts':[1,1],'explicitBounds':[1]}]}},"
        "{'name':'e','exponentialHistogram':{'aggregationTemporality':1,'dataPoints':[{},{}]}},"
        "{'name':'e2','exponentialHistogram':{'aggregationTemporality':2,'dataPoints':[{'count':1,"
        "'zeroCount':3}]}},"
        "{'name':'u','sum':{'dataPoints':[{'asInt':1}]}},"
        "{'name':'d','sum':{'aggregationTemporality':1,'dataPoints':[{'asInt':1}]}},"
        "{'name':'...','gauge':{'dataPoints':[{'asInt':1}]}}]}]}]}",
        NULL, NULL, &b);
    assert_string_equal(prep.message, "metric \"nov\": data point without a value");
    assert_int_equal(prep.rejected, 8);
    has("nov{} 1 @0");
    assert_int_equal(nlines, 1);
    osp_series_batch_cleanup(&b);
}

/* Exemplar i of b as `series-line | k=v,... value @t`. */
static void exemplar_line(const osp_series_batch *b, size_t i, char *out, size_t cap)
{
    const osp_batch_exemplar *x = &b->exemplars[i];
    assert_true(x->series < b->nseries);
    size_t n = strlen(strcpy(out, lines[x->series]));
    n += (size_t)snprintf(out + n, cap - n, " |");
    for (size_t k = 0; k < x->ex.nlabels; k++)
        n +=
            (size_t)snprintf(out + n, cap - n, "%s%.*s=%.*s", k ? "," : " ",
                             OSP_STR_FMT(x->ex.labels[k].name), OSP_STR_FMT(x->ex.labels[k].value));
    snprintf(out + n, cap - n, " %g @%lld", x->ex.value, (long long)x->ex.t_ms);
}

static void has_exemplar(const osp_series_batch *b, const char *want)
{
    char got[512];
    for (size_t i = 0; i < b->nexemplars; i++) {
        exemplar_line(b, i, got, sizeof got);
        if (strcmp(got, want) == 0)
            return;
    }
    for (size_t i = 0; i < b->nexemplars; i++) {
        exemplar_line(b, i, got, sizeof got);
        fprintf(stderr, "  %s\n", got);
    }
    fail_msg("missing exemplar: %s", want);
}

#define TRACE "'traceId':'5b8efff798038103d269b633813fc60c'"
#define SPAN "'spanId':'eee19b7ec3c1b174'"
#define EX_T "'timeUnixNano':'1500000000'"

static void test_exemplars(void **state)
{
    (void)state;
    osp_series_batch b;
    osp_delta_state *delta = osp_delta_state_create(0);
    char long_value[140];
    memset(long_value, 'v', 125); /* with "room": 129 characters */
    long_value[125] = '\0';
    static char doc[8192];
    snprintf(
        doc, sizeof doc,
        "{'resourceMetrics':[{'scopeMetrics':[{'metrics':["
        "{'name':'req','sum':{'aggregationTemporality':2,'isMonotonic':true,'dataPoints':[{" T(
            1000) ",'asInt':5,'exemplars':[{" EX_T ",'asInt':3," TRACE "," SPAN ","
                  "'filteredAttributes':[{'key':'http.route','value':{'stringValue':'/a'}}]}]}]}},"
                  "{'name':'dreq','sum':{'aggregationTemporality':1,'isMonotonic':true,'dataPoints'"
                  ":[{" T(
                      1000) ",'asInt':2,'exemplars':[{" EX_T ",'asDouble':1.5," TRACE "}]}]}},"
                            "{'name':'temp','gauge':{'dataPoints':[{" T(
                                1000) ",'asDouble':20,'exemplars':[{" EX_T
                                      ",'asDouble':21,'filteredAttributes':[{'key':'room','value':{"
                                      "'stringValue':'%s'}}]}]},"
                                      "{" T(
                                          2000) ",'flags':1,'exemplars':[{" EX_T
                                                ",'asDouble':1}]}]}},"
                                                "{'name':'lat','histogram':{'"
                                                "aggregationTemporality':2,'dataPoints':[{" T(
                                                    1000) ",'count':4,'sum':9,'bucketCounts':[1,2,"
                                                          "1],'explicitBounds':[0.5,1],"
                                                          "'exemplars':[{" EX_T
                                                          ",'asDouble':0.7," TRACE "},{" EX_T
                                                          ",'asDouble':0.5},"
                                                          "{" EX_T ",'asDouble':7}]}]}},"
                                                          "{'name':'size','exponentialHistogram':{'"
                                                          "aggregationTemporality':2,'dataPoints':["
                                                          "{" T(
                                                              1000) ",'count':2,'scale':3,'"
                                                                    "positive':{'offset':8,'"
                                                                    "bucketCounts':[2]},"
                                                                    "'exemplars':[{" EX_T
                                                                    ",'asDouble':2.1}]}]}},"
                                                                    "{'name':'rpc','summary':{'"
                                                                    "dataPoints':[{" T(
                                                                        1000) ",'count':1,'sum':1,"
                                                                              "'exemplars':[{" EX_T
                                                                              ",'asDouble':1}]}]}}]"
                                                                              "}]}]}",
        long_value);
    convert(doc, &(osp_otlp_prom_options){.no_scope_labels = 1, .no_target_info = 1}, delta, &b);
    assert_int_equal(prep.rejected, 0);
    /* sums onto the _total series: trace_id, span_id, then the filtered attributes */
    has_exemplar(&b, "req_total{} 5 @1000 | trace_id=5b8efff798038103d269b633813fc60c,"
                     "span_id=eee19b7ec3c1b174,http_route=/a 3 @1500");
    has_exemplar(&b, "dreq_total{} 2 @1000 | trace_id=5b8efff798038103d269b633813fc60c 1.5 @1500");
    /* attributes that would pass 128 characters are all left out */
    has_exemplar(&b, "temp{} 20 @1000 | 21 @1500");
    /* histograms: the first bucket whose le is not below the value */
    has_exemplar(&b, "lat_bucket{le=\"1\"} 3 @1000 | trace_id=5b8efff798038103d269b633813fc60c "
                     "0.7 @1500");
    has_exemplar(&b, "lat_bucket{le=\"0.5\"} 1 @1000 | 0.5 @1500");
    has_exemplar(&b, "lat_bucket{le=\"+Inf\"} 4 @1000 | 7 @1500");
    has_exemplar(&b, "size{} hist schema=3 count=2 sum=0 zero=0/0 +[9:2] @1000 | 2.1 @1500");
    /* none on stale points or summaries */
    assert_int_equal(b.nexemplars, 7);
    osp_series_batch_cleanup(&b);

    /* short attributes are kept */
    convert("{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'name':'g','gauge':{'dataPoints':"
            "[{'asDouble':1,'exemplars':[{'asDouble':2,'filteredAttributes':[{'key':'k',"
            "'value':{'intValue':'7'}},{'key':'e','value':{'stringValue':''}}]}]}]}}]}]}]}",
            &(osp_otlp_prom_options){.no_scope_labels = 1, .no_target_info = 1}, NULL, &b);
    has_exemplar(&b, "g{} 1 @0 | k=7 2 @0");
    osp_series_batch_cleanup(&b);
    osp_delta_state_destroy(delta);
}

/* Two delta points (a classic and an exponential histogram) at time t seconds. */
static void decode_delta_pair(osp_metric_batch *in, int t)
{
    char doc[1024];
    osp_decode_report rep;
    snprintf(doc, sizeof doc,
             DOC("{'name':'h','unit':'s','histogram':{'aggregationTemporality':1,'dataPoints':[{"
                 "'timeUnixNano':'%d000000000','count':3,'sum':1,'bucketCounts':[1,2],"
                 "'explicitBounds':[1],'attributes':[{'key':'a','value':{'stringValue':'b'}}]}]}},"
                 "{'name':'e','exponentialHistogram':{'aggregationTemporality':1,'dataPoints':[{"
                 "'timeUnixNano':'%d000000000','count':3,'sum':1,'scale':%d,'zeroCount':1,"
                 "'positive':{'offset':1,'bucketCounts':[1]},"
                 "'negative':{'offset':-2,'bucketCounts':[1]}}]}}"),
             t, t, 4 - t);
    osp_metric_batch_init(in);
    assert_int_equal(osp_otlp_metrics_decode_json(q(doc), in, &rep), 0);
    assert_int_equal(rep.rejected, 0);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    osp_metric_batch first, second;
    decode_delta_pair(&first, 1);
    decode_delta_pair(&second, 2); /* adds to the streams the first starts, at a new scale */
    int failures = 0, rc = 0;
    for (unsigned long n = 1; n < 120; n++) {
        osp_series_batch out;
        osp_delta_state *st = osp_delta_state_create(4);
        rc = st ? 0 : OSP_ENOMEM;
        for (int k = 0; k < 2 && rc == 0; k++) {
            osp_series_batch_init(&out);
            osp_mem_fail_after(n);
            rc = osp_otlp_to_prom(k ? &second : &first, NULL, st, &out, &prep);
            osp_mem_fail_after(0);
            assert_true(rc == 0 || rc == OSP_ENOMEM);
            osp_series_batch_cleanup(&out);
        }
        failures += rc != 0;
        osp_delta_state_destroy(st);
    }
    assert_true(failures > 0);
    assert_int_equal(rc, 0); /* the last run had room for every allocation of both */
    osp_metric_batch_cleanup(&first);
    osp_metric_batch_cleanup(&second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_names),
        cmocka_unit_test(test_labels_and_units),
        cmocka_unit_test(test_every_kind),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_delta),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_exp_native),
        cmocka_unit_test(test_delta_exp),
        cmocka_unit_test(test_delta_exp_bucket_limit),
        cmocka_unit_test(test_metadata_units),
        cmocka_unit_test(test_exemplars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
