/* Unit tests for proto/otlp_logs_pb: hand-built ExportLogsServiceRequests covering every
 * LogRecord field, every body kind, resources and scopes, every rejection path, partial
 * acceptance, round trips and undecodable requests. */
#include "testutil.h"

#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"
#include "model/attr.h"
#include "proto/otlp_logs.h"

#include "proto/pbbuild.h"

static osp_decode_report rep;

/* b holds nrecords records under nresources resources and nscopes scopes. */
static void assert_counts(const osp_log_batch *b, size_t nrecords, size_t nresources,
                          size_t nscopes)
{
    assert_int_equal(b->nrecords, nrecords);
    assert_int_equal(b->nresources, nresources);
    assert_int_equal(b->nscopes, nscopes);
}

static const uint8_t TID[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
                                0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};
static const uint8_t SID[8] = {0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74};
#define T0 1700000000000000000ull

/* AnyValue `levels` deep: arrays around an int. */
static void nested_value(int levels)
{
    if (levels == 1) {
        U(3, 1);
        return;
    }
    O(5), O(1);
    nested_value(levels - 1);
    C(), C();
}

/* A LogRecord with every field set, unknown and reserved fields among them. */
static void full_record(void)
{
    O(2);
    X64(1, T0);
    U(2, 17);
    S(3, "ERROR");
    U(4, 7); /* reserved: skipped */
    O(5), S(1, "connection refused"), C();
    kv_s(6, "http.method", "GET");
    O(6), S(1, "retries"), O(2), U(3, (uint64_t)-2), C(), C();
    U(7, 3);
    X32(8, 0x01);
    B(9, TID, 16);
    B(10, SID, 8);
    X64(11, T0 + 5);
    S(12, "app.crash");
    U(900, 1), X64(901, 2), S(902, "?"), X32(903, 3); /* unknown */
    C();
}

static void resource_fields(const char *service)
{
    kv_s(1, "service.name", service);
    U(2, 1);
    O(3), S(1, "https://schema/entity"), S(2, "service"), S(3, "service.name"), C();
}

static void scope_fields(const char *name)
{
    S(1, name), S(2, "1.0"), kv_s(3, "scope.attr", "x"), U(4, 2);
}

/* One record with just an id so that rejections around it can be told apart. */
static void minimal_record(uint8_t tag)
{
    O(2), X64(1, T0 + tag), S(3, "I"), C();
}

/* decode -> encode -> decode gives equal rows, and encoding again the same bytes. */
static void check_round_trip(const osp_log_batch *a)
{
    osp_log_batch b;
    osp_buf enc1, enc2;
    osp_log_batch_init(&b);
    osp_buf_init(&enc1, 0);
    osp_buf_init(&enc2, 0);
    assert_int_equal(osp_otlp_logs_encode_pb(a, &enc1), 0);
    assert_int_equal(osp_otlp_logs_decode_pb(osp_buf_str(&enc1), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(b.nrecords, a->nrecords);
    for (size_t i = 0; i < a->nrecords; i++)
        assert_true(osp_log_record_equal(a, i, &b, i));
    assert_int_equal(osp_otlp_logs_encode_pb(&b, &enc2), 0);
    assert_int_equal(enc1.len, enc2.len);
    assert_memory_equal(enc1.data, enc2.data, enc1.len);
    osp_buf_cleanup(&enc1);
    osp_buf_cleanup(&enc2);
    osp_log_batch_cleanup(&b);
}

static void build_full(void)
{
    begin();
    O(1);
    O(1), resource_fields("checkout"), C();
    O(2), O(1), scope_fields("io.lib"), C(), full_record(), S(3, "https://scope"), C();
    S(3, "https://res");
    C();
}

static void test_every_field(void **state)
{
    (void)state;
    osp_log_batch b;
    osp_value v;
    osp_log_batch_init(&b);
    build_full();
    assert_int_equal(osp_otlp_logs_decode_pb(body(), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_string_equal(rep.message, "");
    assert_counts(&b, 1, 1, 1);
    const osp_log_record *lr = &b.records[0];
    assert_true(lr->time_ns == T0);
    assert_true(lr->observed_ns == T0 + 5);
    assert_int_equal(lr->severity_number, OSP_SEVERITY_ERROR);
    assert_true(osp_str_eqz(lr->severity_text, "ERROR"));
    assert_int_equal(lr->has_body, 1);
    assert_int_equal(osp_value_decode(lr->body, &v), 0);
    assert_int_equal(v.type, OSP_VAL_STRING);
    assert_true(osp_str_eqz(v.s, "connection refused"));
    assert_int_equal(osp_attr_count(lr->attributes), 2);
    assert_int_equal(osp_attr_find(lr->attributes, OSP_STR_LIT("retries"), &v), 1);
    assert_int_equal(v.type, OSP_VAL_INT);
    assert_int_equal(v.i, -2);
    assert_int_equal(lr->dropped_attributes, 3);
    assert_int_equal(lr->flags, 1);
    assert_memory_equal(lr->trace_id, TID, 16);
    assert_memory_equal(lr->span_id, SID, 8);
    assert_true(osp_str_eqz(lr->event_name, "app.crash"));
    assert_int_equal(lr->resource, 0);
    assert_int_equal(lr->scope, 0);
    const osp_resource *res = &b.resources[0];
    assert_true(osp_str_eqz(res->service_name, "checkout"));
    assert_true(osp_str_eqz(res->schema_url, "https://res"));
    assert_int_equal(res->dropped_attributes, 1);
    assert_true(res->entity_refs.n > 0);
    const osp_scope *sc = &b.scopes[0];
    assert_true(osp_str_eqz(sc->name, "io.lib"));
    assert_true(osp_str_eqz(sc->version, "1.0"));
    assert_true(osp_str_eqz(sc->schema_url, "https://scope"));
    assert_int_equal(osp_attr_count(sc->attributes), 1);
    assert_int_equal(sc->dropped_attributes, 2);
    check_round_trip(&b);
    osp_log_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

/* Bodies of every AnyValue kind, the empty value, and no body at all. */
static void test_body_kinds(void **state)
{
    (void)state;
    static const osp_value_type want[] = {OSP_VAL_STRING, OSP_VAL_BOOL,  OSP_VAL_INT,
                                          OSP_VAL_DOUBLE, OSP_VAL_BYTES, OSP_VAL_ARRAY,
                                          OSP_VAL_KVLIST, OSP_VAL_EMPTY, OSP_VAL_EMPTY};
    osp_log_batch b;
    osp_value v;
    osp_log_batch_init(&b);
    begin();
    O(1), O(2);
    O(2), O(5), S(1, "text"), C(), C();
    O(2), O(5), U(2, 1), C(), C();
    O(2), O(5), U(3, (uint64_t)INT64_MIN), C(), C();
    O(2), O(5), D(4, -0.5), C(), C();
    O(2), O(5), B(7, "\x00\xff", 2), C(), C();
    O(2), O(5), O(5), O(1), S(1, "a"), C(), O(1), U(3, 2), C(), C(), C(), C();
    O(2), O(5), O(6), kv_s(1, "k", "v"), C(), C(), C();
    O(2), O(5), C(), C();  /* empty AnyValue */
    O(2), X64(1, T0), C(); /* no body */
    O(2), U(3, 1), C();    /* severity_text as a varint: rejected */
    C(), C();
    assert_int_equal(osp_otlp_logs_decode_pb(body(), &b, &rep), 0);
    assert_int_equal(rep.rejected, 1);
    assert_string_equal(rep.message, "log record 9: severity_text has the wrong wire type");
    assert_int_equal(b.nrecords, 9);
    for (size_t i = 0; i < 9; i++) {
        assert_int_equal(b.records[i].has_body, i < 8);
        assert_int_equal(osp_value_decode(b.records[i].body, &v), 0);
        assert_int_equal(v.type, want[i]);
    }
    assert_int_equal(b.records[7].body.n, 0);
    assert_int_equal(osp_value_decode(b.records[2].body, &v), 0);
    assert_true(v.i == INT64_MIN);
    assert_int_equal(osp_value_decode(b.records[4].body, &v), 0);
    assert_int_equal(v.s.n, 2);
    check_round_trip(&b);
    osp_log_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

static void test_resources_and_scopes(void **state)
{
    (void)state;
    osp_log_batch b;
    osp_log_batch_init(&b);
    begin();
    for (int r = 0; r < 2; r++) {
        O(1), O(1), resource_fields(r ? "b" : "a"), C();
        for (int s = 0; s < 2; s++) {
            O(2), O(1), scope_fields(s ? "s1" : "s0"), C();
            minimal_record((uint8_t)(4 * r + 2 * s)), minimal_record((uint8_t)(4 * r + 2 * s + 1));
            C();
        }
        O(2), O(1), scope_fields("empty"), C(), C(); /* no records: no row */
        C();
    }
    O(1), O(1), resource_fields("none"), C(), C(); /* no scopes: no row */
    assert_int_equal(osp_otlp_logs_decode_pb(body(), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_counts(&b, 8, 2, 4);
    for (size_t i = 0; i < 8; i++) {
        assert_true(b.records[i].time_ns == T0 + i);
        assert_int_equal(b.records[i].resource, i / 4);
        assert_int_equal(b.records[i].scope, i / 2);
    }
    assert_true(osp_str_eqz(b.resources[1].service_name, "b"));
    assert_true(osp_str_eqz(b.scopes[3].name, "s1"));
    check_round_trip(&b);
    osp_log_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

/* Empty ids are valid and absent; all-zero ids are kept as zeros. */
static void test_optional_ids(void **state)
{
    (void)state;
    static const uint8_t zero[16];
    osp_log_batch b;
    osp_log_batch_init(&b);
    begin();
    O(1), O(2);
    O(2), B(9, "", 0), B(10, "", 0), S(3, "a"), C();
    O(2), B(9, zero, 16), B(10, zero, 8), S(3, "b"), C();
    O(2), B(9, TID, 16), S(3, "c"), C();
    C(), C();
    assert_int_equal(osp_otlp_logs_decode_pb(body(), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(b.nrecords, 3);
    assert_memory_equal(b.records[0].trace_id, zero, 16);
    assert_memory_equal(b.records[1].span_id, zero, 8);
    assert_memory_equal(b.records[2].trace_id, TID, 16);
    assert_memory_equal(b.records[2].span_id, zero, 8);
    check_round_trip(&b);
    osp_log_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

/* Record 1 of a request made invalid in one way. */
static void bad_record(int which)
{
    O(2);
    switch (which) {
    case 0:
        B(9, TID, 8);
        break;
    case 1:
        B(10, SID, 3);
        break;
    case 2:
        S(3, "\xc3\x28");
        break;
    case 3:
        S(12, "\xff");
        break;
    case 4:
        O(5), nested_value(33), C();
        break;
    case 5:
        O(6), S(1, "\xff"), C();
        break;
    case 6:
        O(5), S(1, "\xe2\x82"), C();
        break;
    case 7:
        U(5, 1);
        break;
    case 8:
        U(1, 1);
        break;
    case 9:
        S(8, "x");
        break;
    case 10:
        U(9, 1);
        break;
    case 11:
        O(5), U(1, 1), C();
        break;
    case 12:
        RAW("\x2a\x05\x0a\x09", 4), RAW("abc", 3); /* a string running past the body */
        break;
    case 13:
        O(6), O(2), O(6), U(1, 1), C(), C(), C();
        break;
    }
    C();
}

static void test_rejections(void **state)
{
    (void)state;
    static const char *msg[] = {
        "log record 1: trace_id must be empty or 16 bytes, got 8",
        "log record 1: span_id must be empty or 8 bytes, got 3",
        "log record 1: severity_text is not valid UTF-8",
        "log record 1: event_name is not valid UTF-8",
        "log record 1: body: value nested deeper than 32 levels",
        "log record 1: attributes: key is not valid UTF-8",
        "log record 1: body: string value is not valid UTF-8",
        "log record 1: body has the wrong wire type",
        "log record 1: time_unix_nano has the wrong wire type",
        "log record 1: flags has the wrong wire type",
        "log record 1: trace_id has the wrong wire type",
        "log record 1: body: AnyValue field 1 has the wrong wire type",
        "log record 1: body: malformed AnyValue: length past the end of the message",
        "log record 1: attributes: kvlist element has the wrong wire type",
    };
    for (int which = 0; which < (int)(sizeof msg / sizeof msg[0]); which++) {
        osp_log_batch b;
        osp_log_batch_init(&b);
        begin();
        O(1), O(1), kv_s(1, "service.name", "svc"), C();
        O(2), minimal_record(0);
        bad_record(which);
        minimal_record(2), C(), C();
        assert_int_equal(osp_otlp_logs_decode_pb(body(), &b, &rep), 0);
        if (rep.rejected != 1 || strcmp(rep.message, msg[which]) != 0)
            fail_msg("case %d: rejected %lld, message \"%s\"", which, (long long)rep.rejected,
                     rep.message);
        assert_int_equal(b.nrecords, 2); /* the good ones around it are kept */
        assert_true(b.records[1].time_ns == T0 + 2);
        osp_log_batch_cleanup(&b);
        osp_buf_cleanup(&W);
    }
}

static void test_rejected_resource_and_scope(void **state)
{
    (void)state;
    osp_log_batch b;
    osp_log_batch_init(&b);
    begin();
    /* resource 0: bad schema_url: its 3 records go */
    O(1), O(1), kv_s(1, "service.name", "bad"), C();
    O(2), minimal_record(0), minimal_record(1), C();
    O(2), minimal_record(2), C();
    S(3, "\xff"), C();
    /* resource 1: scope 0 has an invalid name, scope 1 is fine */
    O(1), O(1), kv_s(1, "service.name", "good"), C();
    O(2), O(1), S(1, "\xc0"), C(), minimal_record(3), minimal_record(4), C();
    O(2), O(1), S(1, "ok"), C(), minimal_record(5), C();
    C();
    assert_int_equal(osp_otlp_logs_decode_pb(body(), &b, &rep), 0);
    assert_int_equal(rep.rejected, 5);
    assert_string_equal(rep.message, "log records 0..2: resource: schema_url is not valid UTF-8");
    assert_counts(&b, 1, 1, 1);
    assert_true(b.records[0].time_ns == T0 + 5);
    assert_true(osp_str_eqz(b.resources[0].service_name, "good"));
    assert_true(osp_str_eqz(b.scopes[0].name, "ok"));
    osp_log_batch_cleanup(&b);
    osp_buf_cleanup(&W);

    osp_log_batch_init(&b);
    begin();
    O(1), O(2), O(1), S(2, "\xc0"), C(), minimal_record(0), minimal_record(1), C(), C();
    assert_int_equal(osp_otlp_logs_decode_pb(body(), &b, &rep), 0);
    assert_int_equal(rep.rejected, 2);
    assert_string_equal(rep.message, "log records 0..1: scope: version is not valid UTF-8");
    assert_int_equal(b.nrecords + b.nscopes + b.nresources, 0);
    osp_log_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

static void test_undecodable_requests(void **state)
{
    (void)state;
    static const struct {
        const char *p;
        size_t n;
        const char *msg;
    } cases[] = {
        {"\x0a\x05\x01", 3, "request: malformed protobuf at byte 0: "},
        {"\x08\x01", 2, "resource_logs has the wrong wire type"},
        {"\x0a\x02\x10\x01", 4, "resource_logs: field 2 has the wrong wire type"},
        {"\x0a\x04\x12\x02\x10\x01", 6, "scope_logs: field 2 has the wrong wire type"},
        {"\x0a\x03\x12\x05\x00", 5, "resource_logs: malformed: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        osp_log_batch b;
        osp_log_batch_init(&b);
        /* something decoded before stays; nothing of the failed request is added */
        begin();
        O(1), O(2), minimal_record(0), C(), C();
        assert_int_equal(osp_otlp_logs_decode_pb(body(), &b, &rep), 0);
        assert_int_equal(osp_otlp_logs_decode_pb(osp_str_make(cases[i].p, cases[i].n), &b, &rep),
                         OSP_EPARSE);
        if (strncmp(rep.message, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu: message \"%s\"", i, rep.message);
        assert_counts(&b, 1, 1, 1);
        osp_log_batch_cleanup(&b);
        osp_buf_cleanup(&W);
    }
}

static void test_empty_requests(void **state)
{
    (void)state;
    osp_log_batch b;
    osp_buf out;
    osp_log_batch_init(&b);
    osp_buf_init(&out, 0);
    assert_int_equal(osp_otlp_logs_decode_pb(OSP_STR_NULL, &b, &rep), 0);
    assert_int_equal(b.nrecords, 0);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(osp_otlp_logs_encode_pb(&b, &out), 0);
    assert_int_equal(out.len, 0);
    begin();
    O(1), O(2), C(), C(); /* envelopes only */
    assert_int_equal(osp_otlp_logs_decode_pb(body(), &b, &rep), 0);
    assert_int_equal(b.nrecords + b.nresources + b.nscopes, 0);
    osp_buf_cleanup(&W);
    osp_buf_cleanup(&out);
    osp_log_batch_cleanup(&b);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    build_full();
    int failures = 0;
    for (unsigned long n = 1; n < 30; n++) {
        osp_log_batch b;
        osp_log_batch_init(&b);
        osp_mem_fail_after(n);
        int rc = osp_otlp_logs_decode_pb(body(), &b, &rep);
        osp_mem_fail_after(0);
        if (rc) {
            assert_int_equal(rc, OSP_ENOMEM);
            assert_int_equal(b.nrecords + b.nresources + b.nscopes, 0);
            failures++;
        } else {
            assert_int_equal(b.nrecords, 1);
        }
        osp_log_batch_cleanup(&b);
    }
    assert_true(failures > 2);
    osp_buf_cleanup(&W);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_body_kinds),
        cmocka_unit_test(test_resources_and_scopes),
        cmocka_unit_test(test_optional_ids),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_rejected_resource_and_scope),
        cmocka_unit_test(test_undecodable_requests),
        cmocka_unit_test(test_empty_requests),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
