/* Unit tests for proto/otlp_logs_json: OTLP/JSON log requests giving the same rows as the
 * protobuf decoder, every field and body kind, the encoder's text, round trips, rejections
 * with their messages, partial acceptance and requests that fail whole. */
#include "testutil.h"

#include <math.h>

#include "core/err.h"
#include "core/pb.h"
#include "model/attr.h"
#include "proto/otlp_logs.h"

#include "proto/pbbuild.h"

static osp_decode_report rep;

static int decode_json(const char *text, osp_log_batch *b)
{
    return osp_otlp_logs_decode_json(osp_str_c(text), b, &rep);
}

/* The rows of a and b are equal, one for one. */
static void assert_same_rows(const osp_log_batch *a, const osp_log_batch *b)
{
    assert_int_equal(a->nrecords, b->nrecords);
    for (size_t i = 0; i < a->nrecords; i++)
        if (!osp_log_record_equal(a, i, b, i))
            fail_msg("record %zu differs", i);
}

/* Every record of a has its own equal record in b, and b has no others (the JSON encoder
 * regroups records by resource and scope). */
static void assert_same_rows_any_order(const osp_log_batch *a, const osp_log_batch *b)
{
    char used[64] = {0};
    assert_int_equal(a->nrecords, b->nrecords);
    assert_true(b->nrecords <= sizeof used);
    for (size_t i = 0; i < a->nrecords; i++) {
        size_t j = 0;
        while (j < b->nrecords && (used[j] || !osp_log_record_equal(a, i, b, j)))
            j++;
        if (j == b->nrecords)
            fail_msg("record %zu has no equal", i);
        used[j] = 1;
    }
}

/* decode -> encode -> decode gives equal rows and the same text again. */
static void check_round_trip(const osp_log_batch *a)
{
    osp_log_batch b;
    osp_buf j1, j2;
    osp_log_batch_init(&b);
    osp_buf_init(&j1, 0);
    osp_buf_init(&j2, 0);
    assert_int_equal(osp_otlp_logs_encode_json(a, &j1), 0);
    assert_int_equal(osp_otlp_logs_decode_json(osp_buf_str(&j1), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_same_rows_any_order(a, &b);
    assert_int_equal(osp_otlp_logs_encode_json(&b, &j2), 0);
    assert_int_equal(j1.len, j2.len);
    assert_memory_equal(j1.data, j2.data, j1.len);
    osp_buf_cleanup(&j1);
    osp_buf_cleanup(&j2);
    osp_log_batch_cleanup(&b);
}

/* a equals what the protobuf request in W decodes to, and round-trips; frees W and a. */
static void check_same_as_pb(osp_log_batch *a)
{
    osp_log_batch b;
    osp_log_batch_init(&b);
    assert_int_equal(osp_otlp_logs_decode_pb(body(), &b, &rep), 0);
    assert_same_rows(a, &b);
    check_round_trip(a);
    osp_buf_cleanup(&W);
    osp_log_batch_cleanup(a);
    osp_log_batch_cleanup(&b);
}

static const uint8_t TID[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
                                0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};
static const uint8_t SID[8] = {0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74};
#define T0 1700000000000000000ull

static const char FULL[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"checkout\"}}],\"droppedAttributesCount\":1},"
    "\"scopeLogs\":[{\"scope\":{\"name\":\"io.lib\",\"version\":\"1.0\",\"attributes\":[{"
    "\"key\":\"scope.attr\",\"value\":{\"stringValue\":\"x\"}}],\"droppedAttributesCount\":2},"
    "\"logRecords\":[{\"timeUnixNano\":\"1700000000000000000\",\"observedTimeUnixNano\":"
    "1700000000000000005,\"severityNumber\":17,\"severityText\":\"ERROR\",\"body\":{"
    "\"stringValue\":\"connection refused\"},\"attributes\":[{\"key\":\"http.method\","
    "\"value\":{\"stringValue\":\"GET\"}},{\"key\":\"retries\",\"value\":{\"intValue\":\"-2\"}}],"
    "\"droppedAttributesCount\":3,\"flags\":1,\"traceId\":\"5B8EFFF798038103D269B633813FC60C\","
    "\"spanId\":\"eee19b7ec3c1b174\",\"eventName\":\"app.crash\",\"unknown\":[1,{}]}],"
    "\"schemaUrl\":\"https://scope\"}],\"schemaUrl\":\"https://res\"}]}";

/* FULL in protobuf. */
static void build_full_pb(void)
{
    begin();
    O(1);
    O(1), O(1), S(1, "service.name"), O(2), S(1, "checkout"), C(), C(), U(2, 1), C();
    O(2), O(1), S(1, "io.lib"), S(2, "1.0");
    O(3), S(1, "scope.attr"), O(2), S(1, "x"), C(), C(), U(4, 2), C();
    O(2), X64(1, T0), U(2, 17), S(3, "ERROR"), O(5), S(1, "connection refused"), C();
    O(6), S(1, "http.method"), O(2), S(1, "GET"), C(), C();
    O(6), S(1, "retries"), O(2), U(3, (uint64_t)-2), C(), C();
    U(7, 3), X32(8, 1), B(9, TID, 16), B(10, SID, 8), X64(11, T0 + 5), S(12, "app.crash"), C();
    S(3, "https://scope"), C();
    S(3, "https://res");
    C();
}

static void test_every_field_same_as_pb(void **state)
{
    (void)state;
    osp_log_batch a;
    osp_log_batch_init(&a);
    assert_int_equal(decode_json(FULL, &a), 0);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(a.nrecords, 1);
    assert_true(a.records[0].observed_ns == T0 + 5);
    assert_memory_equal(a.records[0].trace_id, TID, 16);
    build_full_pb();
    check_same_as_pb(&a);
}

/* Every body kind, through JSON and through protobuf. */
static void test_body_kinds(void **state)
{
    (void)state;
    static const char text[] =
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":["
        "{\"body\":{\"stringValue\":\"word\"}},"
        "{\"body\":{\"boolValue\":false}},"
        "{\"body\":{\"intValue\":-9223372036854775808}},"
        "{\"body\":{\"doubleValue\":\"Infinity\"}},"
        "{\"body\":{\"bytesValue\":\"AP8=\"}},"
        "{\"body\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\"},{\"intValue\":\"2\"},"
        "null]}}},"
        "{\"body\":{\"kvlistValue\":{\"values\":[{\"value\":{\"stringValue\":\"v\"},"
        "\"key\":\"k\"}]}}},"
        "{\"body\":{}},"
        "{\"body\":null},"
        "{}]}]}]}";
    osp_log_batch a;
    osp_value v;
    osp_log_batch_init(&a);
    assert_int_equal(decode_json(text, &a), 0);
    assert_int_equal(a.nrecords, 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(a.records[i].has_body, i < 8);
    assert_int_equal(osp_value_decode(a.records[6].body, &v), 0);
    assert_int_equal(v.type, OSP_VAL_KVLIST);

    begin();
    O(1), O(2);
    O(2), O(5), S(1, "word"), C(), C();
    O(2), O(5), U(2, 0), C(), C();
    O(2), O(5), U(3, (uint64_t)INT64_MIN), C(), C();
    O(2), O(5), D(4, INFINITY), C(), C();
    O(2), O(5), B(7, "\x00\xff", 2), C(), C();
    O(2), O(5), O(5), O(1), S(1, "a"), C(), O(1), U(3, 2), C(), O(1), C(), C(), C(), C();
    O(2), O(5), O(6), O(1), S(1, "k"), O(2), S(1, "v"), C(), C(), C(), C(), C();
    O(2), O(5), C(), C();
    O(2), C();
    O(2), C();
    C(), C();
    check_same_as_pb(&a);
}

/* The encoder's text: defaults omitted, ids lowercase hex, 64-bit ints as strings, an
 * empty body as {}, records grouped by resource and scope contents. */
static void test_encode_text(void **state)
{
    (void)state;
    static const char in[] =
        "{\"resourceLogs\":["
        "{\"resource\":{},\"scopeLogs\":[{\"scope\":{\"name\":\"s\"},\"logRecords\":["
        "{\"timeUnixNano\":5,\"body\":{},\"traceId\":\"5B8EFFF798038103D269B633813FC60C\"}]}]},"
        "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
        "\"x\"}}]},\"scopeLogs\":[{\"logRecords\":[{\"severityNumber\":9}]}]},"
        "{\"resource\":{},\"scopeLogs\":[{\"scope\":{\"name\":\"s\"},\"logRecords\":["
        "{\"spanId\":\"\",\"eventName\":\"e\"}]}]}]}";
    static const char want[] =
        "{\"resourceLogs\":["
        "{\"resource\":{},\"scopeLogs\":[{\"scope\":{\"name\":\"s\"},\"logRecords\":["
        "{\"timeUnixNano\":\"5\",\"body\":{},\"traceId\":\"5b8efff798038103d269b633813fc60c\"},"
        "{\"eventName\":\"e\"}]}]},"
        "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
        "\"x\"}}]},\"scopeLogs\":[{\"scope\":{},\"logRecords\":[{\"severityNumber\":9}]}]}]}";
    osp_log_batch a;
    osp_buf out;
    osp_log_batch_init(&a);
    osp_buf_init(&out, 0);
    assert_int_equal(decode_json(in, &a), 0);
    assert_int_equal(a.nrecords, 3);
    assert_int_equal(osp_otlp_logs_encode_json(&a, &out), 0);
    if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
        fail_msg("got %.*s", (int)out.len, out.data);
    check_round_trip(&a);
    osp_buf_reset(&out);
    osp_log_batch_cleanup(&a);
    osp_log_batch_init(&a);
    assert_int_equal(osp_otlp_logs_encode_json(&a, &out), 0);
    assert_int_equal(out.len, strlen("{\"resourceLogs\":[]}"));
    assert_memory_equal(out.data, "{\"resourceLogs\":[]}", out.len);
    osp_buf_cleanup(&out);
    osp_log_batch_cleanup(&a);
}

/* Nesting `levels` deep: arrays around an int, as JSON text. */
static void nested_json(osp_buf *b, int levels)
{
    for (int i = 1; i < levels; i++)
        assert_int_equal(osp_buf_puts(b, "{\"arrayValue\":{\"values\":["), 0);
    assert_int_equal(osp_buf_puts(b, "{\"intValue\":1}"), 0);
    for (int i = 1; i < levels; i++)
        assert_int_equal(osp_buf_puts(b, "]}}"), 0);
}

static void test_rejections(void **state)
{
    (void)state;
    static const struct {
        const char *record, *msg;
    } cases[] = {
        {"{\"traceId\":\"5b8efff798038103\"}",
         "log record 1: traceId must be empty or 16 bytes, got 8"},
        {"{\"spanId\":\"eee19b\"}", "log record 1: spanId must be empty or 8 bytes, got 3"},
        {"{\"spanId\":\"zzzzzzzzzzzzzzzz\"}", "log record 1: spanId is not a hex string"},
        {"{\"traceId\":\"abc\"}", "log record 1: traceId is not a hex string"},
        {NULL, "log record 1: body: value nested deeper than 32 levels"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        osp_log_batch b;
        osp_buf text;
        osp_log_batch_init(&b);
        osp_buf_init(&text, 0);
        assert_int_equal(osp_buf_puts(&text, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":["
                                             "{\"severityText\":\"a\"},"),
                         0);
        if (cases[i].record) {
            assert_int_equal(osp_buf_puts(&text, cases[i].record), 0);
        } else {
            assert_int_equal(osp_buf_puts(&text, "{\"body\":"), 0);
            nested_json(&text, 33);
            assert_int_equal(osp_buf_puts(&text, "}"), 0);
        }
        assert_int_equal(osp_buf_puts(&text, ",{\"severityText\":\"c\"}]}]}]}"), 0);
        assert_int_equal(osp_otlp_logs_decode_json(osp_buf_str(&text), &b, &rep), 0);
        if (rep.rejected != 1 || strcmp(rep.message, cases[i].msg) != 0)
            fail_msg("case %zu: rejected %lld, message \"%s\"", i, (long long)rep.rejected,
                     rep.message);
        assert_int_equal(b.nrecords, 2); /* the good ones around it are kept */
        assert_true(osp_str_eqz(b.records[1].severity_text, "c"));
        osp_buf_cleanup(&text);
        osp_log_batch_cleanup(&b);
    }
}

/* The deepest body allowed is kept, and equals the protobuf decoder's. */
static void test_deepest_body(void **state)
{
    (void)state;
    osp_log_batch b;
    osp_buf text;
    osp_log_batch_init(&b);
    osp_buf_init(&text, 0);
    assert_int_equal(
        osp_buf_puts(&text, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":"), 0);
    nested_json(&text, 32);
    assert_int_equal(osp_buf_puts(&text, "}]}]}]}"), 0);
    assert_int_equal(osp_otlp_logs_decode_json(osp_buf_str(&text), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(b.nrecords, 1);
    check_round_trip(&b);
    osp_buf_cleanup(&text);
    osp_log_batch_cleanup(&b);
}

static void test_rejected_resource_and_scope(void **state)
{
    (void)state;
    osp_log_batch b;
    osp_buf text;
    osp_log_batch_init(&b);
    osp_buf_init(&text, 0);
    assert_int_equal(osp_buf_puts(&text, "{\"resourceLogs\":[{\"resource\":{\"attributes\":["
                                         "{\"key\":\"deep\",\"value\":"),
                     0);
    nested_json(&text, 33);
    assert_int_equal(osp_buf_puts(&text, "}]},\"scopeLogs\":[{\"logRecords\":[{},{}]},"
                                         "{\"logRecords\":[{}]}]},"
                                         "{\"scopeLogs\":[{\"scope\":{\"attributes\":["
                                         "{\"key\":\"deep\",\"value\":"),
                     0);
    nested_json(&text, 33);
    assert_int_equal(osp_buf_puts(&text, "}]},\"logRecords\":[{},{}]},"
                                         "{\"scope\":{\"name\":\"ok\"},\"logRecords\":[{}]}]}]}"),
                     0);
    assert_int_equal(osp_otlp_logs_decode_json(osp_buf_str(&text), &b, &rep), 0);
    assert_int_equal(rep.rejected, 5);
    assert_string_equal(rep.message,
                        "log records 0..2: resource: attributes: value nested deeper than 32 "
                        "levels");
    assert_int_equal(b.nrecords, 1);
    assert_int_equal(b.nscopes, 1);
    assert_int_equal(b.nresources, 1);
    assert_true(osp_str_eqz(b.scopes[0].name, "ok"));
    assert_int_equal(b.records[0].scope, 0);
    assert_int_equal(b.records[0].resource, 0);
    osp_buf_cleanup(&text);
    osp_log_batch_cleanup(&b);
}

static void test_invalid_requests(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"{\"resourceLogs\":[", "malformed JSON"},
        {"[]", "invalid OTLP/JSON: the body must be an object at offset 0"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityNumber\":"
         "\"SEVERITY_NUMBER_INFO\"}]}]}]}",
         "invalid OTLP/JSON: severityNumber must be an integer enum value"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"flags\":1,\"flags\":2}]}]}]}",
         "invalid OTLP/JSON: duplicate member \"flags\""},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":\"text\"}]}]}]}",
         "invalid OTLP/JSON: body must be an object"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":-1}]}]}]}",
         "invalid OTLP/JSON: timeUnixNano must be a uint64 integer or string"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"a\","
         "\"intValue\":1}}]}]}]}",
         "invalid OTLP/JSON: AnyValue with more than one value"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"eventName\":\"\xff\"}]}]}]}",
         "malformed JSON"},
        {"{\"resourceLogs\":[]} x", "malformed JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        osp_log_batch b;
        osp_log_batch_init(&b);
        assert_int_equal(
            decode_json("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{}]}]}]}", &b), 0);
        assert_int_equal(decode_json(cases[i].text, &b), OSP_EPARSE);
        if (strncmp(rep.message, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu: message \"%s\"", i, rep.message);
        assert_int_equal(rep.rejected, 0);
        assert_int_equal(b.nrecords, 1); /* the batch is left as it was */
        assert_int_equal(b.nscopes, 1);
        assert_int_equal(b.nresources, 1);
        osp_log_batch_cleanup(&b);
    }
}

/* Proto member names, unknown members and nulls are accepted. */
static void test_spellings(void **state)
{
    (void)state;
    osp_log_batch a, b;
    osp_log_batch_init(&a);
    osp_log_batch_init(&b);
    assert_int_equal(decode_json("{\"resource_logs\":[{\"scope_logs\":[{\"log_records\":[{"
                                 "\"time_unix_nano\":\"7\",\"severity_number\":5,"
                                 "\"severity_text\":\"D\",\"trace_id\":null,\"event_name\":\"e\","
                                 "\"observed_time_unix_nano\":8,\"dropped_attributes_count\":1,"
                                 "\"x\":{\"y\":[]}}]}]}],\"other\":1}",
                                 &a),
                     0);
    assert_int_equal(decode_json("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{"
                                 "\"timeUnixNano\":7,\"severityNumber\":5,\"severityText\":\"D\","
                                 "\"eventName\":\"e\",\"observedTimeUnixNano\":\"8\","
                                 "\"droppedAttributesCount\":\"1\"}]}]}]}",
                                 &b),
                     0);
    assert_int_equal(a.nrecords, 1);
    assert_same_rows(&a, &b);
    osp_log_batch_cleanup(&a);
    osp_log_batch_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field_same_as_pb),
        cmocka_unit_test(test_body_kinds),
        cmocka_unit_test(test_encode_text),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_deepest_body),
        cmocka_unit_test(test_rejected_resource_and_scope),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_spellings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
