/* Unit tests for query/jaeger: a hand-built batch rendered as Jaeger JSON, checked text
 * for text, plus the envelope, error and failure paths. */
#include "testutil.h"

#include <math.h>

#include "core/err.h"
#include "model/attr.h"
#include "query/jaeger.h"

static const uint8_t T1[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
                               0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};
static const uint8_t T2[16] = {0,    0,    0,    0,    0,    0,    0,    0,
                               0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static const uint8_t SA[8] = {0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1};
static const uint8_t SB[8] = {0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2};
static const uint8_t SC[8] = {0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3};
static const uint8_t SD[8] = {0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4};
static const uint8_t SX[8] = {1, 2, 3, 4, 5, 6, 7, 8};

#define T0 1714564800123456789ULL

static osp_value vstr(const char *z)
{
    return (osp_value){.type = OSP_VAL_STRING, .s = osp_str_c(z)};
}

static osp_value vint(int64_t i)
{
    return (osp_value){.type = OSP_VAL_INT, .i = i};
}

/* Moves what buf holds into the batch's arena and empties buf. */
static osp_str keep(osp_span_batch *b, osp_buf *buf)
{
    osp_str s = {osp_arena_memdup(&b->arena, buf->data, buf->len), buf->len};
    assert_non_null(s.p);
    osp_buf_reset(buf);
    return s;
}

static void add(osp_buf *attrs, const char *key, osp_value v)
{
    assert_int_equal(osp_attr_append(attrs, osp_str_c(key), &v), 0);
}

static void add_resource(osp_span_batch *b, osp_buf *buf, const char *service, int host)
{
    if (service)
        add(buf, "service.name", vstr(service));
    if (host)
        add(buf, "host.name", vstr("h1"));
    osp_str attrs = keep(b, buf);
    osp_resource *r = osp_span_batch_add_resource(b);
    assert_non_null(r);
    r->attributes = attrs;
    r->service_name = osp_str_c(service ? service : "");
}

static osp_span *add_span(osp_span_batch *b, const uint8_t trace[16], const uint8_t id[8],
                          const uint8_t parent[8], const char *name)
{
    osp_span *s = osp_span_batch_add_span(b);
    assert_non_null(s);
    memcpy(s->trace_id, trace, 16);
    memcpy(s->span_id, id, 8);
    if (parent)
        memcpy(s->parent_span_id, parent, 8);
    s->name = osp_str_c(name);
    return s;
}

static void add_link(osp_buf *links, const uint8_t trace[16], const uint8_t span[8], osp_str attrs)
{
    osp_link ln = {.attributes = attrs};
    memcpy(ln.trace_id, trace, 16);
    memcpy(ln.span_id, span, 8);
    assert_int_equal(osp_links_append(links, &ln), 0);
}

static void add_event(osp_buf *events, uint64_t t, const char *name, osp_str attrs)
{
    osp_event ev = {.time_ns = t, .name = osp_str_c(name), .attributes = attrs};
    assert_int_equal(osp_events_append(events, &ev), 0);
}

/* Two traces: T1 with three spans over three resources (two of them equal) and T2, whose
 * id has a zero high half, with one span on a resource without attributes. */
static void build(osp_span_batch *b)
{
    osp_buf buf, blob;
    osp_buf_init(&buf, 0);
    osp_buf_init(&blob, 0);
    osp_span_batch_init(b);

    add_resource(b, &buf, "checkout", 1); /* r0 */
    add_resource(b, &buf, "checkout", 1); /* r1: same process as r0 */
    add_resource(b, &buf, "llm", 0);      /* r2 */
    add_resource(b, &buf, NULL, 0);       /* r3: no attributes */
    osp_scope *sc = osp_span_batch_add_scope(b);
    sc->name = OSP_STR_LIT("io.osprey");
    sc->version = OSP_STR_LIT("1.2.0");
    osp_span_batch_add_scope(b); /* empty scope */

    /* Span A: every value type, events, links. */
    static const uint8_t raw[3] = {0x01, 0x02, 0xff};
    osp_value v;
    add(&buf, "s", vstr("a\"b"));
    add(&buf, "b", (osp_value){.type = OSP_VAL_BOOL, .i = 1});
    add(&buf, "i", vint(42));
    add(&buf, "big", vint(9007199254740993LL));
    add(&buf, "neg", vint(-9007199254740991LL));
    add(&buf, "d", (osp_value){.type = OSP_VAL_DOUBLE, .d = 1.5});
    add(&buf, "nan", (osp_value){.type = OSP_VAL_DOUBLE, .d = NAN});
    add(&buf, "bytes", (osp_value){.type = OSP_VAL_BYTES, .s = {(const char *)raw, 3}});
    v = vint(1);
    assert_int_equal(osp_array_append(&blob, &v), 0);
    v = vstr("x");
    assert_int_equal(osp_array_append(&blob, &v), 0);
    add(&buf, "arr", (osp_value){.type = OSP_VAL_ARRAY, .s = keep(b, &blob)});
    add(&blob, "k", (osp_value){.type = OSP_VAL_BOOL, .i = 1});
    add(&buf, "kv", (osp_value){.type = OSP_VAL_KVLIST, .s = keep(b, &blob)});
    add(&buf, "empty", (osp_value){.type = OSP_VAL_EMPTY});
    osp_str a_attrs = keep(b, &buf);

    add(&blob, "gen_ai.tokens", vint(3));
    add_event(&buf, T0 + 1000000, "first-token", keep(b, &blob));
    add(&blob, "msg", vstr("hi"));
    add_event(&buf, T0 + 2000000, "", keep(b, &blob));
    add(&blob, "event", vstr("custom"));
    add_event(&buf, T0 + 3000000, "shadowed", keep(b, &blob));
    osp_str a_events = keep(b, &buf);

    add_link(&buf, T2, SX, OSP_STR_NULL);
    add(&blob, "opentracing.ref_type", vstr("child_of"));
    add_link(&buf, T1, SC, keep(b, &blob));
    osp_str a_links = keep(b, &buf);

    add(&blob, "opentracing.ref_type", vstr("follows_from"));
    add_link(&buf, T1, SA, keep(b, &blob));
    osp_str b_links = keep(b, &buf);

    osp_span *s = add_span(b, T1, SA, NULL, "POST /checkout");
    s->kind = OSP_SPAN_KIND_SERVER;
    s->start_ns = T0;
    s->end_ns = T0 + 1500000;
    s->flags = 0x301;
    s->status_code = OSP_STATUS_OK;
    s->trace_state = OSP_STR_LIT("vendor=x");
    s->attributes = a_attrs;
    s->events = a_events;
    s->links = a_links;

    s = add_span(b, T1, SB, SA, "GET /price");
    s->kind = OSP_SPAN_KIND_CLIENT;
    s->start_ns = T0 + 100000;
    s->end_ns = T0 + 600000;
    s->status_code = OSP_STATUS_ERROR;
    s->status_message = OSP_STR_LIT("boom");
    s->resource = 1;
    s->scope = 1;
    s->links = b_links;

    s = add_span(b, T1, SC, SA, "chat");
    s->start_ns = T0 + 200000;
    s->end_ns = T0 + 200999; /* under a microsecond: duration 0 */
    s->resource = 2;
    s->scope = 1;

    s = add_span(b, T2, SD, NULL, "orphan");
    s->kind = OSP_SPAN_KIND_INTERNAL;
    s->start_ns = 5000;
    s->end_ns = 4000; /* end before start: duration 0 */
    s->resource = 3;
    s->scope = 1;

    osp_buf_cleanup(&buf);
    osp_buf_cleanup(&blob);
}

static const char EXPECTED[] =
    "{\"data\":["
    /* trace T1 */
    "{\"traceID\":\"5b8efff798038103d269b633813fc60c\",\"spans\":["
    "{\"traceID\":\"5b8efff798038103d269b633813fc60c\",\"spanID\":\"a1a1a1a1a1a1a1a1\","
    "\"flags\":1,\"operationName\":\"POST /checkout\",\"references\":["
    "{\"refType\":\"FOLLOWS_FROM\",\"traceID\":\"0123456789abcdef\","
    "\"spanID\":\"0102030405060708\"},"
    "{\"refType\":\"CHILD_OF\",\"traceID\":\"5b8efff798038103d269b633813fc60c\","
    "\"spanID\":\"c3c3c3c3c3c3c3c3\"}],"
    "\"startTime\":1714564800123456,\"duration\":1500,\"tags\":["
    "{\"key\":\"otel.scope.name\",\"type\":\"string\",\"value\":\"io.osprey\"},"
    "{\"key\":\"otel.scope.version\",\"type\":\"string\",\"value\":\"1.2.0\"},"
    "{\"key\":\"s\",\"type\":\"string\",\"value\":\"a\\\"b\"},"
    "{\"key\":\"b\",\"type\":\"bool\",\"value\":true},"
    "{\"key\":\"i\",\"type\":\"int64\",\"value\":42},"
    "{\"key\":\"big\",\"type\":\"int64\",\"value\":\"9007199254740993\"},"
    "{\"key\":\"neg\",\"type\":\"int64\",\"value\":-9007199254740991},"
    "{\"key\":\"d\",\"type\":\"float64\",\"value\":1.5},"
    "{\"key\":\"nan\",\"type\":\"float64\",\"value\":\"NaN\"},"
    "{\"key\":\"bytes\",\"type\":\"binary\",\"value\":\"AQL/\"},"
    "{\"key\":\"arr\",\"type\":\"string\",\"value\":\"[1,\\\"x\\\"]\"},"
    "{\"key\":\"kv\",\"type\":\"string\",\"value\":\"{\\\"k\\\":true}\"},"
    "{\"key\":\"empty\",\"type\":\"string\",\"value\":\"\"},"
    "{\"key\":\"span.kind\",\"type\":\"string\",\"value\":\"server\"},"
    "{\"key\":\"otel.status_code\",\"type\":\"string\",\"value\":\"OK\"},"
    "{\"key\":\"w3c.tracestate\",\"type\":\"string\",\"value\":\"vendor=x\"}],"
    "\"logs\":["
    "{\"timestamp\":1714564800124456,\"fields\":["
    "{\"key\":\"event\",\"type\":\"string\",\"value\":\"first-token\"},"
    "{\"key\":\"gen_ai.tokens\",\"type\":\"int64\",\"value\":3}]},"
    "{\"timestamp\":1714564800125456,\"fields\":["
    "{\"key\":\"msg\",\"type\":\"string\",\"value\":\"hi\"}]},"
    "{\"timestamp\":1714564800126456,\"fields\":["
    "{\"key\":\"event\",\"type\":\"string\",\"value\":\"custom\"}]}],"
    "\"processID\":\"p1\",\"warnings\":null},"
    /* span B: the link to its parent only changes the parent reference's type */
    "{\"traceID\":\"5b8efff798038103d269b633813fc60c\",\"spanID\":\"b2b2b2b2b2b2b2b2\","
    "\"flags\":0,\"operationName\":\"GET /price\",\"references\":["
    "{\"refType\":\"FOLLOWS_FROM\",\"traceID\":\"5b8efff798038103d269b633813fc60c\","
    "\"spanID\":\"a1a1a1a1a1a1a1a1\"}],"
    "\"startTime\":1714564800123556,\"duration\":500,\"tags\":["
    "{\"key\":\"span.kind\",\"type\":\"string\",\"value\":\"client\"},"
    "{\"key\":\"otel.status_code\",\"type\":\"string\",\"value\":\"ERROR\"},"
    "{\"key\":\"error\",\"type\":\"bool\",\"value\":true},"
    "{\"key\":\"otel.status_description\",\"type\":\"string\",\"value\":\"boom\"}],"
    "\"logs\":[],\"processID\":\"p1\",\"warnings\":null},"
    /* span C */
    "{\"traceID\":\"5b8efff798038103d269b633813fc60c\",\"spanID\":\"c3c3c3c3c3c3c3c3\","
    "\"flags\":0,\"operationName\":\"chat\",\"references\":["
    "{\"refType\":\"CHILD_OF\",\"traceID\":\"5b8efff798038103d269b633813fc60c\","
    "\"spanID\":\"a1a1a1a1a1a1a1a1\"}],"
    "\"startTime\":1714564800123656,\"duration\":0,\"tags\":[],\"logs\":[],"
    "\"processID\":\"p2\",\"warnings\":null}],"
    "\"processes\":{"
    "\"p1\":{\"serviceName\":\"checkout\",\"tags\":["
    "{\"key\":\"host.name\",\"type\":\"string\",\"value\":\"h1\"}]},"
    "\"p2\":{\"serviceName\":\"llm\",\"tags\":[]}},"
    "\"warnings\":null},"
    /* trace T2 */
    "{\"traceID\":\"0123456789abcdef\",\"spans\":["
    "{\"traceID\":\"0123456789abcdef\",\"spanID\":\"d4d4d4d4d4d4d4d4\",\"flags\":0,"
    "\"operationName\":\"orphan\",\"references\":[],\"startTime\":5,\"duration\":0,"
    "\"tags\":[{\"key\":\"span.kind\",\"type\":\"string\",\"value\":\"internal\"}],"
    "\"logs\":[],\"processID\":\"p1\",\"warnings\":null}],"
    "\"processes\":{\"p1\":{\"serviceName\":\"OTLP_ResourceNoServiceName\",\"tags\":[]}},"
    "\"warnings\":null}],"
    "\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}";

static void test_render(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_buf out;
    build(&b);
    osp_buf_init(&out, 0);
    assert_int_equal(osp_jaeger_render(&b, &out), 0);
    assert_int_equal(osp_buf_putc(&out, '\0'), 0);
    assert_string_equal(out.data, EXPECTED);
    osp_buf_cleanup(&out);
    osp_span_batch_cleanup(&b);
}

static void test_empty_batch(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_buf out;
    osp_span_batch_init(&b);
    osp_buf_init(&out, 0);
    assert_int_equal(osp_jaeger_render(&b, &out), 0);
    assert_int_equal(osp_buf_putc(&out, '\0'), 0);
    assert_string_equal(out.data,
                        "{\"data\":[],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}");
    assert_int_equal(osp_jaeger_trace(&b, 0, 0, &out), OSP_EINVAL);
    osp_buf_cleanup(&out);
    osp_span_batch_cleanup(&b);
}

static void test_envelope_and_error(void **state)
{
    (void)state;
    osp_buf out;
    osp_buf_init(&out, 0);
    assert_int_equal(osp_jaeger_begin(&out), 0);
    assert_int_equal(osp_buf_puts(&out, "[\"a\"]"), 0);
    assert_int_equal(osp_jaeger_end(&out, 1), 0);
    assert_int_equal(osp_buf_putc(&out, '\0'), 0);
    assert_string_equal(out.data,
                        "{\"data\":[\"a\"],\"total\":1,\"limit\":0,\"offset\":0,\"errors\":null}");
    osp_buf_reset(&out);
    assert_int_equal(osp_jaeger_error(&out, 404, "trace \"x\" not found"), 0);
    assert_int_equal(osp_buf_putc(&out, '\0'), 0);
    assert_string_equal(out.data, "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,"
                                  "\"errors\":[{\"code\":404,\"msg\":\"trace \\\"x\\\" not "
                                  "found\"}]}");
    osp_buf_cleanup(&out);
}

static void test_span_kinds(void **state)
{
    (void)state;
    assert_string_equal(osp_jaeger_span_kind(OSP_SPAN_KIND_SERVER), "server");
    assert_string_equal(osp_jaeger_span_kind(OSP_SPAN_KIND_CLIENT), "client");
    assert_string_equal(osp_jaeger_span_kind(OSP_SPAN_KIND_PRODUCER), "producer");
    assert_string_equal(osp_jaeger_span_kind(OSP_SPAN_KIND_CONSUMER), "consumer");
    assert_string_equal(osp_jaeger_span_kind(OSP_SPAN_KIND_INTERNAL), "internal");
    assert_null(osp_jaeger_span_kind(OSP_SPAN_KIND_UNSPECIFIED));
    assert_null(osp_jaeger_span_kind(9));
}

static void test_output_cap(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_buf out;
    build(&b);
    osp_buf_init(&out, 100);
    assert_int_equal(osp_jaeger_render(&b, &out), OSP_ETOOBIG);
    assert_true(out.len <= 100);
    osp_buf_cleanup(&out);
    osp_span_batch_cleanup(&b);
}

static void test_corrupt_rows(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_buf out;
    build(&b);
    osp_buf_init(&out, 0);
    b.spans[1].resource = 17; /* no such resource */
    assert_int_equal(osp_jaeger_trace(&b, 0, 3, &out), OSP_ECORRUPT);
    b.spans[1].resource = 1;
    static const char junk[] = {0x0a, 0x7f}; /* a record longer than the blob */
    b.spans[2].attributes = osp_str_make(junk, sizeof junk);
    osp_buf_reset(&out);
    assert_int_equal(osp_jaeger_trace(&b, 0, 3, &out), OSP_ECORRUPT);
    b.spans[2].attributes = OSP_STR_NULL;
    b.spans[2].events = osp_str_make(junk, sizeof junk);
    osp_buf_reset(&out);
    assert_int_equal(osp_jaeger_trace(&b, 0, 3, &out), OSP_ECORRUPT);
    b.spans[2].events = OSP_STR_NULL;
    b.spans[2].links = osp_str_make(junk, sizeof junk);
    osp_buf_reset(&out);
    assert_int_equal(osp_jaeger_trace(&b, 0, 3, &out), OSP_ECORRUPT);
    assert_int_equal(osp_jaeger_trace(&b, 3, 2, &out), OSP_EINVAL); /* past the end */
    osp_buf_cleanup(&out);
    osp_span_batch_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_empty_batch),
        cmocka_unit_test(test_envelope_and_error),
        cmocka_unit_test(test_span_kinds),
        cmocka_unit_test(test_output_cap),
        cmocka_unit_test(test_corrupt_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
