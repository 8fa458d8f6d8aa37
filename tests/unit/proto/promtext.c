/* Unit tests for the Prometheus text / OpenMetrics parser: documents, escapes, limits, errors. */
#include "testutil.h"

#include <math.h>

#include "core/arena.h"
#include "core/err.h"
#include "proto/promtext.h"

/* Parses text and renders every entry on its own line ("S name{a=b} 1 @5 # {t=x} 2 @7",
 * "H name text", "T name type", "U name unit", "C text"), then "ERR <code> <message>" on an
 * error. Returns the last return code. Slices are checked to lie in the body or the arena. */
static int render(const char *text, size_t n, osp_promtext_format fmt, size_t max_line,
                  size_t max_labels, char *out, size_t cap)
{
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    osp_promtext p;
    osp_promtext_init(&p, osp_str_make(text, n), fmt, &arena, max_line, max_labels);
    osp_promtext_entry e;
    size_t len = 0;
    int rc;
    out[0] = '\0';
#define PUT(...) len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, __VA_ARGS__)
    while ((rc = osp_promtext_next(&p, &e)) == 1) {
        switch (e.kind) {
        case OSP_PROMTEXT_HELP:
            PUT("H %.*s %.*s\n", OSP_STR_FMT(e.name), OSP_STR_FMT(e.text));
            break;
        case OSP_PROMTEXT_TYPE:
            PUT("T %.*s %s\n", OSP_STR_FMT(e.name), osp_promtext_type_name(e.type));
            break;
        case OSP_PROMTEXT_UNIT:
            PUT("U %.*s %.*s\n", OSP_STR_FMT(e.name), OSP_STR_FMT(e.text));
            break;
        case OSP_PROMTEXT_COMMENT:
            PUT("C %.*s\n", OSP_STR_FMT(e.text));
            break;
        case OSP_PROMTEXT_SAMPLE:
            PUT("S %.*s{", OSP_STR_FMT(e.name));
            for (size_t i = 0; i < e.nlabels; i++)
                PUT("%s%.*s=%.*s", i ? "," : "", OSP_STR_FMT(e.labels[i].name),
                    OSP_STR_FMT(e.labels[i].value));
            PUT("} %g", e.value);
            if (e.has_ts)
                PUT(" @%lld", (long long)e.t_ms);
            if (e.has_exemplar) {
                PUT(" # {");
                for (size_t i = 0; i < e.exemplar.nlabels; i++)
                    PUT("%s%.*s=%.*s", i ? "," : "", OSP_STR_FMT(e.exemplar.labels[i].name),
                        OSP_STR_FMT(e.exemplar.labels[i].value));
                PUT("} %g", e.exemplar.value);
                if (e.exemplar.has_ts)
                    PUT(" @%lld", (long long)e.exemplar.t_ms);
            }
            PUT("\n");
            break;
        default:
            fail_msg("unexpected kind %d", (int)e.kind);
        }
        assert_true(e.line >= 1 && e.line <= p.line);
        if (e.name.n)
            assert_true(e.name.p >= text && e.name.p + e.name.n <= text + n);
    }
    if (rc == 0)
        assert_int_equal(e.kind, OSP_PROMTEXT_EOF);
    else
        PUT("ERR %s %s", osp_err_name(rc), p.err);
#undef PUT
    /* Sticky: the same result again. */
    assert_int_equal(osp_promtext_next(&p, &e), rc);
    osp_arena_cleanup(&arena);
    return rc;
}

static char out[16384];

static void expect(osp_promtext_format fmt, const char *text, const char *want)
{
    render(text, strlen(text), fmt, 0, 0, out, sizeof out);
    if (strcmp(out, want) != 0)
        fail_msg("input:\n%s\ngot:\n%s\nwant:\n%s", text, out, want);
}

#define PROM OSP_PROMTEXT_PROM
#define OM OSP_PROMTEXT_OPENMETRICS

static void test_prometheus_exposition(void **state)
{
    (void)state;
    const char *text =
        "# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection "
        "cycles.\n"
        "# TYPE go_gc_duration_seconds summary\n"
        "go_gc_duration_seconds{quantile=\"0\"} 2.1e-05\n"
        "go_gc_duration_seconds{quantile=\"0.5\"} 4.5e-05\n"
        "go_gc_duration_seconds{quantile=\"1\"} NaN\n"
        "go_gc_duration_seconds_sum 0.0123\n"
        "go_gc_duration_seconds_count 42\n"
        "\n"
        "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
        "# TYPE node_cpu_seconds_total counter\n"
        "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 123456.78 1700000000000\n"
        "node_cpu_seconds_total{cpu=\"0\",mode=\"user\",} 42 -5\n"
        "# HELP node_filesystem_avail_bytes Escaped \\\\ backslash\\nand newline, \\\"kept\\\"\n"
        "# TYPE node_filesystem_avail_bytes gauge\n"
        "node_filesystem_avail_bytes{mountpoint=\"C:\\\\data\",label=\"say \\\"hi\\\"\\n\"} "
        "1.5e+10\n"
        "# TYPE http_request_duration_seconds histogram\n"
        "http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n"
        "http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n"
        "http_request_duration_seconds_sum 53423\n"
        "http_request_duration_seconds_count 144320\n"
        "# TYPE weird untyped\n"
        "weird +Inf\n"
        "weird_neg -Inf\n"
        "   weird_spaced  {  a = \"1\" ,\tb=\"2\"  }\t3   \t\n"
        "weird_empty{} 0x1p-2\n"
        "# just a comment\n"
        "#HELP not_help\n"
        "# EOF\n"
        "last_without_newline 7";
    expect(PROM, text,
           "H go_gc_duration_seconds A summary of the pause duration of garbage collection "
           "cycles.\n"
           "T go_gc_duration_seconds summary\n"
           "S go_gc_duration_seconds{quantile=0} 2.1e-05\n"
           "S go_gc_duration_seconds{quantile=0.5} 4.5e-05\n"
           "S go_gc_duration_seconds{quantile=1} nan\n"
           "S go_gc_duration_seconds_sum{} 0.0123\n"
           "S go_gc_duration_seconds_count{} 42\n"
           "H node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
           "T node_cpu_seconds_total counter\n"
           "S node_cpu_seconds_total{cpu=0,mode=idle} 123457 @1700000000000\n"
           "S node_cpu_seconds_total{cpu=0,mode=user} 42 @-5\n"
           "H node_filesystem_avail_bytes Escaped \\ backslash\nand newline, \\\"kept\\\"\n"
           "T node_filesystem_avail_bytes gauge\n"
           "S node_filesystem_avail_bytes{mountpoint=C:\\data,label=say \"hi\"\n} 1.5e+10\n"
           "T http_request_duration_seconds histogram\n"
           "S http_request_duration_seconds_bucket{le=0.05} 24054\n"
           "S http_request_duration_seconds_bucket{le=+Inf} 144320\n"
           "S http_request_duration_seconds_sum{} 53423\n"
           "S http_request_duration_seconds_count{} 144320\n"
           "T weird untyped\n"
           "S weird{} inf\n"
           "S weird_neg{} -inf\n"
           "S weird_spaced{a=1,b=2} 3\n"
           "S weird_empty{} 0.25\n"
           "C  just a comment\n"
           "C HELP not_help\n"
           "C  EOF\n"
           "S last_without_newline{} 7\n");
}

static void test_prometheus_values_exact(void **state)
{
    (void)state;
    const char *text = "a NaN\nb +Inf\nc -Inf\nd 1 9223372036854775807\ne 2 -9223372036854775808\n"
                       "f{x=\"\\q\"} 1\n";
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    osp_promtext p;
    osp_promtext_entry e;
    osp_promtext_init(&p, osp_str_c(text), PROM, &arena, 0, 0);
    assert_int_equal(osp_promtext_next(&p, &e), 1);
    assert_true(isnan(e.value));
    assert_int_equal(osp_promtext_next(&p, &e), 1);
    assert_true(isinf(e.value) && e.value > 0);
    assert_int_equal(osp_promtext_next(&p, &e), 1);
    assert_true(isinf(e.value) && e.value < 0);
    assert_int_equal(osp_promtext_next(&p, &e), 1);
    assert_true(e.has_ts && e.t_ms == INT64_MAX);
    assert_int_equal(osp_promtext_next(&p, &e), 1);
    assert_true(e.has_ts && e.t_ms == INT64_MIN);
    assert_int_equal(osp_promtext_next(&p, &e), 1);
    /* 0.0.4 keeps unknown escapes as written, as Prometheus does. */
    assert_true(osp_str_eqz(e.labels[0].value, "\\q"));
    assert_int_equal(osp_promtext_next(&p, &e), 0);
    assert_int_equal(e.kind, OSP_PROMTEXT_EOF);
    osp_arena_cleanup(&arena);
}

static void test_openmetrics_document(void **state)
{
    (void)state;
    const char *text =
        "# TYPE acme_http_router_request_seconds summary\n"
        "# UNIT acme_http_router_request_seconds seconds\n"
        "# HELP acme_http_router_request_seconds Latency \\\"quoted\\\" \\\\ and\\nnewline\n"
        "acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32\n"
        "acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283.0\n"
        "acme_http_router_request_seconds_created{path=\"/api/v1\",method=\"GET\"} "
        "1605281325.0\n"
        "# TYPE foo histogram\n"
        "foo_bucket{le=\"0.0\"} 0\n"
        "foo_bucket{le=\"1e-05\"} 0 123.456\n"
        "foo_bucket{le=\"1\"} 11 # {trace_id=\"KOO5S4vxi0o\"} 0.67 1520879607.789\n"
        "foo_bucket{le=\"+Inf\"} 17 1520879607.5 # {} 2\n"
        "foo_count 17\n"
        "foo_sum 324789.3\n"
        "# TYPE c counter\n"
        "c_total -0 -1.5 # {a=\"\\\"x\\\"\"} +Inf\n"
        "# TYPE i info\n"
        "i_info{version=\"1.0\"} 1\n"
        "# TYPE s stateset\n"
        "s{s=\"a\"} 1\n"
        "# TYPE g gaugehistogram\n"
        "g_gcount 1\n"
        "# TYPE u unknown\n"
        "u nan\n"
        "u2 -infinity\n"
        "# HELP empty\n"
        "# EOF\n";
    expect(OM, text,
           "T acme_http_router_request_seconds summary\n"
           "U acme_http_router_request_seconds seconds\n"
           "H acme_http_router_request_seconds Latency \"quoted\" \\ and\nnewline\n"
           "S acme_http_router_request_seconds_sum{path=/api/v1,method=GET} 9036.32\n"
           "S acme_http_router_request_seconds_count{path=/api/v1,method=GET} 807283\n"
           "S acme_http_router_request_seconds_created{path=/api/v1,method=GET} 1.60528e+09\n"
           "T foo histogram\n"
           "S foo_bucket{le=0.0} 0\n"
           "S foo_bucket{le=1e-05} 0 @123456\n"
           "S foo_bucket{le=1} 11 # {trace_id=KOO5S4vxi0o} 0.67 @1520879607789\n"
           "S foo_bucket{le=+Inf} 17 @1520879607500 # {} 2\n"
           "S foo_count{} 17\n"
           "S foo_sum{} 324789\n"
           "T c counter\n"
           "S c_total{} -0 @-1500 # {a=\"x\"} inf\n"
           "T i info\n"
           "S i_info{version=1.0} 1\n"
           "T s stateset\n"
           "S s{s=a} 1\n"
           "T g gaugehistogram\n"
           "S g_gcount{} 1\n"
           "T u unknown\n"
           "S u{} nan\n"
           "S u2{} -inf\n"
           "H empty \n");
    /* "# EOF" without a newline is fine; nothing at all is fine in 0.0.4. */
    expect(OM, "a 1\n# EOF", "S a{} 1\n");
    expect(PROM, "", "");
    expect(PROM, "\n\n", "");
}

static void test_content_type(void **state)
{
    (void)state;
    assert_int_equal(osp_promtext_format_from_content_type(
                         osp_str_c("application/openmetrics-text; version=1.0.0; charset=utf-8")),
                     OM);
    assert_int_equal(
        osp_promtext_format_from_content_type(osp_str_c("Application/OpenMetrics-Text")), OM);
    assert_int_equal(osp_promtext_format_from_content_type(osp_str_c("text/plain; version=0.0.4")),
                     PROM);
    assert_int_equal(osp_promtext_format_from_content_type(OSP_STR_NULL), PROM);
    assert_int_equal(
        osp_promtext_format_from_content_type(osp_str_c("application/openmetrics-textx")), PROM);
}

/* Each case: format, input, the rendered output up to and including the error. */
static void test_errors(void **state)
{
    (void)state;
    static const struct {
        osp_promtext_format fmt;
        const char *in, *want;
    } cases[] = {
        {PROM, "a{b} 1\n", "ERR OSP_EPARSE line 1: expected '=' after label name"},
        {PROM, "ok 1\n\na{b=1} 1\n",
         "S ok{} 1\nERR OSP_EPARSE line 3: expected '\"' to open the value of label 'b'"},
        {PROM, "a{b=\"1} 1\n", "ERR OSP_EPARSE line 1: unterminated value of label 'b'"},
        {PROM, "a{b=\"1\" c=\"2\"} 1\n",
         "ERR OSP_EPARSE line 1: expected ',' or '}' after label value"},
        {PROM, "a{,} 1\n", "ERR OSP_EPARSE line 1: expected label name in sample"},
        {PROM, "a{b=\"1\",b=\"2\"} 1\n",
         "ERR OSP_EPARSE line 1: duplicate label name 'b' in sample"},
        {PROM, "a{b=\"1\"}\n", "ERR OSP_EPARSE line 1: expected ' ' before the value of 'a'"},
        {PROM, "a\n", "ERR OSP_EPARSE line 1: expected ' ' before the value of 'a'"},
        {PROM, "a 1x\n", "ERR OSP_EPARSE line 1: invalid value '1x'"},
        {PROM, "a nan(1)\n", "ERR OSP_EPARSE line 1: invalid value 'nan(1)'"},
        {PROM, "a 1 1.5\n", "ERR OSP_EPARSE line 1: invalid timestamp '1.5'"},
        {PROM, "a 1 9223372036854775808\n",
         "ERR OSP_EPARSE line 1: invalid timestamp '9223372036854775808'"},
        {PROM, "a 1 2 3\n", "ERR OSP_EPARSE line 1: unexpected text after timestamp"},
        {PROM, "a 1 # {} 1\n", "ERR OSP_EPARSE line 1: exemplars need OpenMetrics"},
        {PROM, "1a 1\n", "ERR OSP_EPARSE line 1: expected metric name"},
        {PROM, "a-b 1\n", "ERR OSP_EPARSE line 1: expected ' ' before the value of 'a'"},
        {PROM, "a{b=\"\xff\"} 1\n", "ERR OSP_EPARSE line 1: invalid UTF-8"},
        {PROM, "a{b=\"\xc0\xaf\"} 1\n", "ERR OSP_EPARSE line 1: invalid UTF-8"},
        {PROM, "# TYPE a foo\n", "ERR OSP_EPARSE line 1: unknown metric type 'foo'"},
        {PROM, "# TYPE a info\n", "ERR OSP_EPARSE line 1: unknown metric type 'info'"},
        {PROM, "# TYPE a counter x\n", "ERR OSP_EPARSE line 1: unexpected text after type"},
        {PROM, "# HELP\n", "ERR OSP_EPARSE line 1: expected ' ' and a metric name after HELP"},
        {PROM, "# HELP 1a x\n", "ERR OSP_EPARSE line 1: expected metric name after HELP"},
        {PROM, "# TYPE a-b counter\n",
         "ERR OSP_EPARSE line 1: invalid character in metric name after TYPE"},
        {OM, "a 1\n", "S a{} 1\nERR OSP_EPARSE line 2: missing '# EOF' at the end"},
        {OM, "", "ERR OSP_EPARSE line 1: missing '# EOF' at the end"},
        {OM, "# EOF\na 1\n", "ERR OSP_EPARSE line 2: content after '# EOF'"},
        {OM, "# EOF\n\n", "ERR OSP_EPARSE line 2: content after '# EOF'"},
        {OM, "\n# EOF\n", "ERR OSP_EPARSE line 1: empty line"},
        {OM, "# random\n# EOF\n",
         "ERR OSP_EPARSE line 1: unexpected comment (OpenMetrics allows only HELP, TYPE, UNIT "
         "and EOF)"},
        {OM, "a  1\n# EOF\n", "ERR OSP_EPARSE line 1: expected ' ' before the value of 'a'"},
        {OM, " a 1\n# EOF\n", "ERR OSP_EPARSE line 1: expected metric name"},
        {OM, "a 1 \n# EOF\n", "ERR OSP_EPARSE line 1: trailing space"},
        {OM, "a 1\r\n# EOF\n", "ERR OSP_EPARSE line 1: invalid value '1\r'"},
        {OM, "a 0x10\n# EOF\n", "ERR OSP_EPARSE line 1: invalid value '0x10'"},
        {OM, "a{b=\"1\",} 1\n# EOF\n", "ERR OSP_EPARSE line 1: expected label name in sample"},
        {OM, "a{b = \"1\"} 1\n# EOF\n", "ERR OSP_EPARSE line 1: expected '=' after label name"},
        {OM, "a{b=\"\\t\"} 1\n# EOF\n",
         "ERR OSP_EPARSE line 1: invalid escape sequence in label value"},
        {OM, "# HELP a x\\\n# EOF\n",
         "ERR OSP_EPARSE line 1: invalid escape sequence in help text"},
        {OM, "# TYPE a untyped\n# EOF\n", "ERR OSP_EPARSE line 1: unknown metric type 'untyped'"},
        {OM, "# UNIT a_bytes seconds\n# EOF\n",
         "ERR OSP_EPARSE line 1: unit 'seconds' is not a suffix of 'a_bytes'"},
        {OM, "# UNIT a_bytes by-tes\n# EOF\n", "ERR OSP_EPARSE line 1: invalid character in unit"},
        {OM, "a 1 inf\n# EOF\n", "ERR OSP_EPARSE line 1: invalid timestamp 'inf'"},
        {OM, "a 1 # x\n# EOF\n", "ERR OSP_EPARSE line 1: expected '{' to open exemplar labels"},
        {OM, "a 1 #{} 1\n# EOF\n", "ERR OSP_EPARSE line 1: expected ' ' after '#' of exemplar"},
        {OM, "a 1 # {}\n# EOF\n", "ERR OSP_EPARSE line 1: expected ' ' before exemplar value"},
        {OM, "a 1 # {} z\n# EOF\n", "ERR OSP_EPARSE line 1: invalid exemplar value 'z'"},
        {OM, "a 1 # {} 1 z\n# EOF\n", "ERR OSP_EPARSE line 1: invalid exemplar timestamp 'z'"},
        {OM, "a 1 # {} 1 2 3\n# EOF\n", "ERR OSP_EPARSE line 1: unexpected text after exemplar"},
        {OM, "a 1 # {} 1  2\n# EOF\n",
         "ERR OSP_EPARSE line 1: expected ' ' before exemplar timestamp"},
        {OM, "a 1 # {b=\"1\",b=\"2\"} 1\n# EOF\n",
         "ERR OSP_EPARSE line 1: duplicate label name 'b' in exemplar"},
        {OM,
         "a 1 # {trace_id=\"0123456789012345678901234567890123456789012345678901234567890123"
         "456789012345678901234567890123456789012345678901234567890\"} 1\n# EOF\n",
         "ERR OSP_EPARSE line 1: exemplar labels longer than 128 code points"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect(cases[i].fmt, cases[i].in, cases[i].want);
}

static void test_limits(void **state)
{
    (void)state;
    /* Line length: exactly max_line bytes is fine, one more is not, with or without '\n'. */
    render("abc 1\nabcd 1\n", 13, PROM, 5, 0, out, sizeof out);
    assert_string_equal(out, "S abc{} 1\nERR OSP_ETOOBIG line 2: line longer than 5 bytes");
    render("abcd 12", 7, PROM, 6, 0, out, sizeof out);
    assert_string_equal(out, "ERR OSP_ETOOBIG line 1: line longer than 6 bytes");
    render("abcd 1", 6, PROM, 6, 0, out, sizeof out);
    assert_string_equal(out, "S abcd{} 1\n");
    /* Labels per sample and per exemplar. */
    const char *two = "a{x=\"1\",y=\"2\"} 1\n";
    render(two, strlen(two), PROM, 0, 2, out, sizeof out);
    assert_string_equal(out, "S a{x=1,y=2} 1\n");
    const char *three = "a{x=\"1\",y=\"2\",z=\"3\"} 1\n";
    assert_int_equal(render(three, strlen(three), PROM, 0, 2, out, sizeof out), OSP_ETOOBIG);
    assert_string_equal(out, "ERR OSP_ETOOBIG line 1: more than 2 labels in sample");
    const char *ex = "a 1 # {x=\"1\",y=\"2\",z=\"3\"} 1\n# EOF\n";
    render(ex, strlen(ex), OM, 0, 2, out, sizeof out);
    assert_string_equal(out, "ERR OSP_ETOOBIG line 1: more than 2 labels in exemplar");
}

static void test_arena_exhausted(void **state)
{
    (void)state;
    osp_arena arena;
    osp_arena_init(&arena, 1024, 1); /* no allocation fits */
    osp_promtext p;
    osp_promtext_entry e;
    osp_promtext_init(&p, osp_str_c("# HELP a x\\ny\n"), PROM, &arena, 0, 4);
    assert_int_equal(osp_promtext_next(&p, &e), OSP_ENOMEM);
    assert_string_equal(p.err, "line 1: out of memory unescaping help text");
    osp_promtext_init(&p, osp_str_c("a 1\n"), PROM, &arena, 0, 4);
    assert_int_equal(osp_promtext_next(&p, &e), OSP_ENOMEM);
    assert_string_equal(p.err, "line 1: out of memory for labels");
    osp_arena_cleanup(&arena);
}

/* A NUL-free body that is not NUL-terminated: the parser must not read past its end. */
static void test_no_overread(void **state)
{
    (void)state;
    const char src[] = "a{b=\"c\\\\\"} 1 2";
    size_t n = sizeof src - 1;
    char *body = malloc(n);
    assert_non_null(body);
    memcpy(body, src, n);
    render(body, n, PROM, 0, 0, out, sizeof out);
    assert_string_equal(out, "S a{b=c\\} 1 @2\n");
    for (size_t k = 0; k < n; k++) /* every prefix ends cleanly or with an error */
        render(body, k, PROM, 0, 0, out, sizeof out);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_exposition),
        cmocka_unit_test(test_prometheus_values_exact),
        cmocka_unit_test(test_openmetrics_document),
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_arena_exhausted),
        cmocka_unit_test(test_no_overread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
