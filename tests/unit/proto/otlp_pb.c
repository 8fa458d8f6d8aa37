/* Unit tests for proto/otlp_pb: hand-built ExportTraceServiceRequests covering every field,
 * field order and unknown fields, every rejection path, round trips, and decode speed. */
#include "testutil.h"

#include <time.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"
#include "model/attr.h"
#include "proto/otlp.h"

#include "proto/pbbuild.h"

/* Unknown fields of every wire type. */
static void UNKNOWN(void)
{
    U(900, 1);
    X64(901, 2);
    S(902, "?");
    X32(903, 3);
}

static void kv_i(uint32_t f, const char *k, int64_t v)
{
    O(f), S(1, k), O(2), U(3, (uint64_t)v), C(), C();
}

static const uint8_t TID[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t SID[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
static const uint8_t PID[8] = {0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8};
static const uint8_t LTID[16] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 1};
static const uint8_t LSID[8] = {7, 7, 7, 7, 7, 7, 7, 1};
static const uint8_t ZERO[16];
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

/* The span with every field set, in proto order. */
static void full_span_fields(void)
{
    B(1, TID, 16);
    B(2, SID, 8);
    S(3, "rojo=00f067aa0ba902b7");
    B(4, PID, 8);
    S(5, "chat gpt-4o");
    U(6, 3);
    X64(7, T0);
    X64(8, T0 + 250000000);
    kv_s(9, "gen_ai.system", "openai");
    O(9), S(1, "ok"), O(2), U(2, 0), C(), C(); /* false */
    kv_i(9, "neg", -5);                        /* negative */
    O(9), S(1, "temp"), O(2), D(4, 0.7), C(), C();
    O(9), S(1, "raw"), O(2), B(7, "\x00\xff\xfe", 3), C(), C(); /* not UTF-8 */
    O(9), S(1, "arr"), O(2), O(5);                              /* [1,"x",[true,[]]] */
    O(1), U(3, 1), C();
    O(1), S(1, "x"), C();
    O(1), O(5), O(1), U(2, 1), C(), O(1), O(5), C(), C(), C(), C();
    C(), C(), C();
    O(9), S(1, "kv"), O(2), O(6), O(1), S(1, "in"), O(2), O(6); /* {"in":{"deep":1}} */
    kv_i(1, "deep", 1);
    C(), C(), C(), C(), C(), C();
    O(9), S(1, "none"), C();                             /* no value field */
    O(9), S(1, "none2"), O(2), C(), C();                 /* empty AnyValue */
    kv_s(9, "es", "");                                   /* empty string, still a string */
    O(9), S(1, "d32"), O(2), nested_value(32), C(), C(); /* deepest allowed */
    U(10, 3);
    O(11), X64(1, T0 + 1000), S(2, "exception"), kv_s(3, "exception.message", "boom");
    kv_s(3, "exception.type", "E"), U(4, 1), C();
    O(11), S(2, "gen_ai.first_token"), C();
    U(12, 4);
    O(13), B(1, LTID, 16), B(2, LSID, 8), S(3, "a=b"), kv_s(4, "link.kind", "follows");
    U(5, 2), X32(6, 0x301), C();
    U(14, 5);
    O(15), S(2, "rate limited"), U(3, 2), C();
    X32(16, 0x101);
}

static void resource_fields(void)
{
    kv_s(1, "service.name", "checkout");
    kv_i(1, "host.pid", 4242);
    U(2, 2);
    O(3), S(1, "https://schema/entity"), S(2, "service"), S(3, "service.name");
    S(4, "host.pid"), S(3, "service.instance.id"), C(); /* keys interleaved */
}

static void scope_fields(void)
{
    S(1, "io.opentelemetry.lib"), S(2, "1.2.3");
    O(3), S(1, "scope.flag"), O(2), U(2, 1), C(), C();
    U(4, 1);
}

static void minimal_span(uint8_t id)
{
    uint8_t sid[8] = {1, 2, 3, 4, 5, 6, 7, id};
    O(2), B(1, TID, 16), B(2, sid, 8), S(5, "minimal"), C();
}

static void build_full(void)
{
    begin();
    O(1);
    O(1), resource_fields(), C();
    O(2);
    O(1), scope_fields(), C();
    O(2), full_span_fields(), C();
    minimal_span(1);
    S(3, "https://opentelemetry.io/schemas/1.26.0");
    C();
    S(3, "https://opentelemetry.io/schemas/1.25.0");
    C();
    O(1); /* a second service, without a scope message */
    O(1), kv_s(1, "service.name", "payments"), C();
    O(2), minimal_span(2), C();
    C();
}

static osp_decode_report rep;

static void decode_ok(osp_str b, osp_span_batch *out)
{
    assert_int_equal(osp_otlp_traces_decode_pb(b, out, &rep), 0);
}

static int text_eq(const osp_value *v, const char *want)
{
    osp_buf t;
    osp_buf_init(&t, 0);
    assert_int_equal(osp_value_to_text(v, &t), 0);
    int eq = osp_str_eqz(osp_buf_str(&t), want);
    if (!eq)
        fprintf(stderr, "got %.*s want %s\n", (int)t.len, t.data, want);
    osp_buf_cleanup(&t);
    return eq;
}

static void check_full_span(const osp_span_batch *b, const osp_span *s)
{
    assert_memory_equal(s->trace_id, TID, 16);
    assert_memory_equal(s->span_id, SID, 8);
    assert_memory_equal(s->parent_span_id, PID, 8);
    assert_true(osp_str_eqz(s->trace_state, "rojo=00f067aa0ba902b7"));
    assert_true(osp_str_eqz(s->name, "chat gpt-4o"));
    assert_int_equal(s->kind, OSP_SPAN_KIND_CLIENT);
    assert_int_equal(s->start_ns, T0);
    assert_int_equal(s->end_ns, T0 + 250000000);
    assert_int_equal(s->dropped_attributes, 3);
    assert_int_equal(s->dropped_events, 4);
    assert_int_equal(s->dropped_links, 5);
    assert_int_equal(s->status_code, OSP_STATUS_ERROR);
    assert_true(osp_str_eqz(s->status_message, "rate limited"));
    assert_int_equal(s->flags, 0x101);

    /* attributes, in order, with canonical kinds */
    static const char *keys[] = {"gen_ai.system", "ok",    "neg", "temp", "raw", "arr", "kv",
                                 "none",          "none2", "es",  "d32"};
    static const osp_value_type types[] = {
        OSP_VAL_STRING, OSP_VAL_BOOL,  OSP_VAL_INT,   OSP_VAL_DOUBLE, OSP_VAL_BYTES, OSP_VAL_ARRAY,
        OSP_VAL_KVLIST, OSP_VAL_EMPTY, OSP_VAL_EMPTY, OSP_VAL_STRING, OSP_VAL_ARRAY};
    osp_attr_iter it;
    osp_str k;
    osp_value v;
    osp_attr_iter_init(&it, s->attributes);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        assert_int_equal(osp_attr_next(&it, &k, &v), 1);
        assert_true(osp_str_eqz(k, keys[i]));
        assert_int_equal(v.type, types[i]);
        switch (i) {
        case 0:
            assert_true(osp_str_eqz(v.s, "openai"));
            break;
        case 1:
            assert_int_equal(v.i, 0);
            break;
        case 2:
            assert_int_equal(v.i, -5);
            break;
        case 3:
            assert_true(v.d == 0.7);
            break;
        case 4:
            assert_true(osp_str_eq(v.s, osp_str_make("\x00\xff\xfe", 3)));
            break;
        case 5:
            assert_true(text_eq(&v, "[1,\"x\",[true,[]]]"));
            break;
        case 6:
            assert_true(text_eq(&v, "{\"in\":{\"deep\":1}}"));
            break;
        case 9:
            assert_int_equal(v.s.n, 0);
            break;
        }
    }
    assert_int_equal(osp_attr_next(&it, &k, &v), 0);

    osp_blob_iter bi;
    osp_event ev;
    osp_blob_iter_init(&bi, s->events);
    assert_int_equal(osp_events_next(&bi, &ev), 1);
    assert_int_equal(ev.time_ns, T0 + 1000);
    assert_true(osp_str_eqz(ev.name, "exception"));
    assert_int_equal(osp_attr_count(ev.attributes), 2);
    assert_int_equal(osp_attr_find(ev.attributes, OSP_STR_LIT("exception.message"), &v), 1);
    assert_true(osp_str_eqz(v.s, "boom"));
    assert_int_equal(ev.dropped_attributes, 1);
    assert_int_equal(osp_events_next(&bi, &ev), 1);
    assert_true(osp_str_eqz(ev.name, "gen_ai.first_token"));
    assert_int_equal(ev.time_ns, 0);
    assert_int_equal(ev.attributes.n, 0);
    assert_int_equal(osp_events_next(&bi, &ev), 0);

    osp_link ln;
    osp_blob_iter_init(&bi, s->links);
    assert_int_equal(osp_links_next(&bi, &ln), 1);
    assert_memory_equal(ln.trace_id, LTID, 16);
    assert_memory_equal(ln.span_id, LSID, 8);
    assert_true(osp_str_eqz(ln.trace_state, "a=b"));
    assert_int_equal(osp_attr_find(ln.attributes, OSP_STR_LIT("link.kind"), &v), 1);
    assert_true(osp_str_eqz(v.s, "follows"));
    assert_int_equal(ln.dropped_attributes, 2);
    assert_int_equal(ln.flags, 0x301);
    assert_int_equal(osp_links_next(&bi, &ln), 0);

    const osp_resource *r = &b->resources[s->resource];
    assert_true(osp_str_eqz(r->service_name, "checkout"));
    assert_int_equal(osp_attr_count(r->attributes), 2);
    assert_int_equal(r->dropped_attributes, 2);
    assert_true(osp_str_eqz(r->schema_url, "https://opentelemetry.io/schemas/1.25.0"));
    osp_entity_ref er;
    osp_str key;
    int desc;
    osp_blob_iter_init(&bi, r->entity_refs);
    assert_int_equal(osp_entity_refs_next(&bi, &er), 1);
    assert_true(osp_str_eqz(er.schema_url, "https://schema/entity"));
    assert_true(osp_str_eqz(er.type, "service"));
    osp_blob_iter keys_it;
    osp_blob_iter_init(&keys_it, er.keys);
    static const char *want_keys[] = {"service.name", "service.instance.id", "host.pid"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(osp_entity_ref_next_key(&keys_it, &key, &desc), 1);
        assert_true(osp_str_eqz(key, want_keys[i]));
        assert_int_equal(desc, i == 2);
    }
    assert_int_equal(osp_entity_ref_next_key(&keys_it, &key, &desc), 0);
    assert_int_equal(osp_entity_refs_next(&bi, &er), 0);

    const osp_scope *sc = &b->scopes[s->scope];
    assert_true(osp_str_eqz(sc->name, "io.opentelemetry.lib"));
    assert_true(osp_str_eqz(sc->version, "1.2.3"));
    assert_int_equal(sc->dropped_attributes, 1);
    assert_true(osp_str_eqz(sc->schema_url, "https://opentelemetry.io/schemas/1.26.0"));
    assert_int_equal(osp_attr_find(sc->attributes, OSP_STR_LIT("scope.flag"), &v), 1);
    assert_int_equal(v.type, OSP_VAL_BOOL);
    assert_int_equal(v.i, 1);
}

static void test_every_field(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_span_batch_init(&b);
    build_full();
    decode_ok(body(), &b);
    assert_int_equal(rep.rejected, 0);
    assert_string_equal(rep.message, "");
    assert_int_equal(b.nspans, 3);
    assert_int_equal(b.nresources, 2);
    assert_int_equal(b.nscopes, 2);
    check_full_span(&b, &b.spans[0]);

    const osp_span *m = &b.spans[1];
    assert_true(osp_str_eqz(m->name, "minimal"));
    assert_memory_equal(m->parent_span_id, ZERO, 8);
    assert_int_equal(m->attributes.n + m->events.n + m->links.n + m->trace_state.n, 0);
    assert_int_equal(m->status_code, 0);
    assert_int_equal(m->resource, 0);
    assert_int_equal(m->scope, 0);
    const osp_span *p = &b.spans[2];
    assert_int_equal(p->resource, 1);
    assert_true(osp_str_eqz(b.resources[1].service_name, "payments"));
    assert_int_equal(b.scopes[p->scope].name.n, 0);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

/* The attrs blob equals what the model API builds for the same values. */
static void test_canonical_attrs(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_span_batch_init(&b);
    begin();
    O(1), O(2), O(2), B(1, TID, 16), B(2, SID, 8);
    /* non-canonical input: oneof given twice (last wins), bool as a long varint,
     * key_strindex instead of key, string_value_strindex, value before key */
    O(9), S(1, "a"), O(2), S(1, "first"), U(3, 7), C(), C();
    O(9), S(1, "b"), O(2), RAW("\x10\x81\x00", 3), C(), C();
    O(9), U(3, 5), O(2), S(1, "v"), C(), C();
    O(9), S(1, "c"), O(2), U(8, 3), C(), C();
    O(9), O(2), S(1, "x"), C(), S(1, "d"), C();
    C(), C(), C();
    decode_ok(body(), &b);
    assert_int_equal(b.nspans, 1);

    osp_buf want;
    osp_buf_init(&want, 0);
    osp_value vals[] = {{.type = OSP_VAL_INT, .i = 7},
                        {.type = OSP_VAL_BOOL, .i = 1},
                        {.type = OSP_VAL_STRING, .s = OSP_STR_LIT("v")},
                        {.type = OSP_VAL_EMPTY},
                        {.type = OSP_VAL_STRING, .s = OSP_STR_LIT("x")}};
    const char *keys[] = {"a", "b", "", "c", "d"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(osp_attr_append(&want, osp_str_c(keys[i]), &vals[i]), 0);
    assert_true(osp_str_eq(b.spans[0].attributes, osp_buf_str(&want)));
    osp_buf_cleanup(&want);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

/* Same data with fields reordered, repeated fields interleaved, earlier duplicates that
 * the last occurrence overrides, and unknown fields everywhere: the same rows. */
static void test_any_order_and_unknown_fields(void **state)
{
    (void)state;
    osp_span_batch a, b;
    osp_span_batch_init(&a);
    osp_span_batch_init(&b);
    begin();
    O(1), O(1), resource_fields(), C(), O(2), O(1), scope_fields(), C(), O(2);
    full_span_fields();
    C(), S(3, "https://opentelemetry.io/schemas/1.26.0"), C();
    S(3, "https://opentelemetry.io/schemas/1.25.0"), C();
    decode_ok(body(), &a);
    osp_buf first = W;

    begin();
    UNKNOWN();
    O(1);
    S(3, "https://ignored/first");
    O(1000), S(1, "old instrumentation_library_spans"), C();
    UNKNOWN();
    O(1), kv_s(1, "service.name", "an earlier resource, replaced"), C();
    O(2);
    UNKNOWN();
    O(2); /* the span, fields reversed and interleaved */
    X32(16, 0x101);
    O(15), S(2, "an earlier status, replaced"), C();
    UNKNOWN();
    O(15), U(3, 2), UNKNOWN(), S(2, "rate limited"), C();
    U(14, 5);
    U(12, 4);
    O(13), X32(6, 0x301), U(5, 2), kv_s(4, "link.kind", "follows"), S(3, "a=b"), B(2, LSID, 8);
    B(1, LTID, 16), UNKNOWN(), C();
    U(10, 99);
    kv_s(9, "gen_ai.system", "openai");
    O(11), U(4, 1), kv_s(3, "exception.message", "boom"), UNKNOWN(), S(2, "exception");
    kv_s(3, "exception.type", "E"), X64(1, T0 + 1000), C();
    O(9), S(1, "ok"), O(2), U(2, 0), UNKNOWN(), C(), UNKNOWN(), C();
    kv_i(9, "neg", -5);
    U(10, 3);
    O(9), S(1, "temp"), O(2), D(4, 0.7), C(), C();
    O(11), S(2, "gen_ai.first_token"), C();
    O(9), S(1, "raw"), O(2), B(7, "\x00\xff\xfe", 3), C(), C();
    O(9), S(1, "arr"), O(2), O(5), UNKNOWN();
    O(1), U(3, 1), C();
    O(1), S(1, "x"), C();
    O(1), O(5), O(1), U(2, 1), C(), O(1), O(5), C(), C(), C(), C();
    C(), C(), C();
    O(9), S(1, "kv"), O(2), O(6), O(1), S(1, "in"), O(2), O(6), UNKNOWN();
    kv_i(1, "deep", 1);
    C(), C(), C(), C(), C(), C();
    O(9), S(1, "none"), C();
    O(9), S(1, "none2"), O(2), C(), C();
    kv_s(9, "es", "");
    O(9), S(1, "d32"), O(2), nested_value(32), C(), C();
    X64(8, T0 + 250000000);
    X64(7, 1);
    X64(7, T0);
    U(6, 3);
    S(5, "an earlier name");
    S(5, "chat gpt-4o");
    B(4, PID, 8);
    S(3, "rojo=00f067aa0ba902b7");
    B(2, SID, 8);
    B(1, ZERO, 16); /* overridden below */
    B(1, TID, 16);
    UNKNOWN();
    C();
    O(1), UNKNOWN(), U(4, 1), O(3), S(1, "scope.flag"), O(2), U(2, 1), C(), C(), S(2, "1.2.3");
    S(1, "io.opentelemetry.lib"), C();
    S(3, "https://opentelemetry.io/schemas/1.26.0");
    C();
    O(1), UNKNOWN(), resource_fields(), C();
    S(3, "https://opentelemetry.io/schemas/1.25.0");
    C();
    decode_ok(body(), &b);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(a.nspans, 1);
    assert_int_equal(b.nspans, 1);
    check_full_span(&b, &b.spans[0]);
    assert_true(osp_span_equal(&a, 0, &b, 0));
    osp_buf_cleanup(&first);
    osp_buf_cleanup(&W);
    osp_span_batch_cleanup(&a);
    osp_span_batch_cleanup(&b);
}

static void test_round_trip(void **state)
{
    (void)state;
    osp_span_batch a, b;
    osp_buf enc1, enc2;
    osp_span_batch_init(&a);
    osp_span_batch_init(&b);
    osp_buf_init(&enc1, 0);
    osp_buf_init(&enc2, 0);
    build_full();
    decode_ok(body(), &a);
    assert_int_equal(osp_otlp_traces_encode_pb(&a, &enc1), 0);
    decode_ok(osp_buf_str(&enc1), &b);
    assert_int_equal(b.nspans, a.nspans);
    assert_int_equal(b.nresources, a.nresources);
    assert_int_equal(b.nscopes, a.nscopes);
    for (size_t i = 0; i < a.nspans; i++)
        assert_true(osp_span_equal(&a, i, &b, i));
    assert_int_equal(osp_otlp_traces_encode_pb(&b, &enc2), 0);
    assert_int_equal(enc1.len, enc2.len); /* the encoding is canonical too */
    assert_memory_equal(enc1.data, enc2.data, enc1.len);

    /* grouping: consecutive spans with content-equal resources share a ResourceSpans;
     * A, B, A gives three */
    osp_span_batch c;
    osp_span_batch_init(&c);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(osp_span_batch_copy_span(&c, &a, i == 1 ? 2 : 0), 0);
    osp_buf_reset(&enc1);
    assert_int_equal(osp_otlp_traces_encode_pb(&c, &enc1), 0);
    osp_pb_reader r = osp_pb_reader_make(enc1.data, enc1.len);
    osp_pb_field f;
    int groups = 0;
    while (osp_pb_next(&r, &f) == 1)
        groups += f.num == 1;
    assert_int_equal(groups, 3);
    osp_span_batch_reset(&b);
    decode_ok(osp_buf_str(&enc1), &b);
    for (size_t i = 0; i < 3; i++)
        assert_true(osp_span_equal(&b, i, &c, i));

    /* an empty batch encodes to the empty request */
    osp_span_batch_reset(&c);
    osp_buf_reset(&enc1);
    assert_int_equal(osp_otlp_traces_encode_pb(&c, &enc1), 0);
    assert_int_equal(enc1.len, 0);
    osp_span_batch_cleanup(&c);
    osp_span_batch_cleanup(&a);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&enc1);
    osp_buf_cleanup(&enc2);
    osp_buf_cleanup(&W);
}

/* A span with one thing wrong, chosen by `which`. */
static void bad_span(int which)
{
    static const uint8_t sid4[4] = {1, 2, 3, 4};
    O(2);
    if (which == 0)
        B(1, TID, 8);
    else if (which == 1)
        B(1, ZERO, 16);
    else if (which != 2)
        B(1, TID, 16);
    if (which == 3)
        B(2, sid4, 4);
    else if (which == 4)
        B(2, ZERO, 8);
    else
        B(2, SID, 8);
    switch (which) {
    case 5:
        B(4, PID, 3);
        break;
    case 6:
        O(13), B(1, LTID, 8), B(2, LSID, 8), C();
        break;
    case 7:
        O(13), B(1, LTID, 16), B(2, LSID, 3), C();
        break;
    case 8:
        S(5, "\xc3\x28");
        break;
    case 9:
        kv_s(9, "k\xff", "v");
        break;
    case 10:
        kv_s(9, "k", "\xc0\xaf"); /* overlong */
        break;
    case 11:
        S(3, "\xed\xa0\x80"); /* surrogate */
        break;
    case 12:
        O(15), S(2, "\xf4\x90\x80\x80"), C(); /* past U+10FFFF */
        break;
    case 13:
        O(11), S(2, "\x80"), C();
        break;
    case 14:
        O(13), B(1, LTID, 16), B(2, LSID, 8), S(3, "\xfe"), C();
        break;
    case 15:
        O(11), kv_s(3, "k", "\xe2\x82"), C(); /* truncated sequence */
        break;
    case 16:
        O(9), S(1, "deep"), O(2), nested_value(33), C(), C();
        break;
    case 17:
        U(5, 1);
        break;
    case 18:
        X32(9, 1);
        break;
    case 19:
        U(16, 1);
        break;
    case 20:
        O(9), S(1, "k"), O(2), U(1, 1), C(), C();
        break;
    case 21:
        RAW("\x1b", 1); /* field 3, start-group wire type */
        break;
    case 22:
        RAW("\x2a\x05"
            "ab",
            4); /* name claims 5 bytes, the span has 2 left */
        break;
    case 23:
        S(6, "x");
        break;
    case 24:
        U(7, 1);
        break;
    case 25:
        O(11), U(1, 5), C();
        break;
    case 26:
        O(15), S(3, "2"), C();
        break;
    case 27:
        O(9), S(1, "k"), O(2), O(6), U(1, 1), C(), C(), C();
        break;
    case 28:
        O(9), S(1, "k"), O(2), O(5), O(1), RAW("\x0a\x05", 2), C(), C(), C(), C();
        break;
    case 29:
        O(9), RAW("\x0a\x05", 2), C();
        break;
    case 30:
        O(9), S(1, "k"), O(2), O(6), kv_s(1, "\xc1\x81", "v"), C(), C(), C();
        break;
    case 31:
        O(9), S(1, "k"), O(2), O(5), U(1, 1), C(), C(), C();
        break;
    case 32:
        O(13), B(1, LTID, 16), B(2, LSID, 8), O(4), S(1, "\xff"), C(), C();
        break;
    case 33:
        O(15), RAW("\x12\x09", 2), C();
        break;
    case 34:
        O(9), S(1, "k"), O(2), O(5), RAW("\x0a\x05", 2), C(), C(), C();
        break;
    }
    C();
}

static void test_rejections(void **state)
{
    (void)state;
    static const char *msg[] = {
        "span 1: trace_id must be 16 bytes, got 8",
        "span 1: trace_id is all zero",
        "span 1: trace_id must be 16 bytes, got 0",
        "span 1: span_id must be 8 bytes, got 4",
        "span 1: span_id is all zero",
        "span 1: parent_span_id must be empty or 8 bytes, got 3",
        "span 1: links: trace_id must be 16 bytes, got 8",
        "span 1: links: span_id must be 8 bytes, got 3",
        "span 1: name is not valid UTF-8",
        "span 1: attributes: key is not valid UTF-8",
        "span 1: attributes: string value is not valid UTF-8",
        "span 1: trace_state is not valid UTF-8",
        "span 1: status.message is not valid UTF-8",
        "span 1: events.name is not valid UTF-8",
        "span 1: links.trace_state is not valid UTF-8",
        "span 1: events.attributes: string value is not valid UTF-8",
        "span 1: attributes: value nested deeper than 32 levels",
        "span 1: name has the wrong wire type",
        "span 1: attributes has the wrong wire type",
        "span 1: flags has the wrong wire type",
        "span 1: attributes: AnyValue field 1 has the wrong wire type",
        "span 1: malformed Span: group wire type (3/4) is not supported",
        "span 1: malformed Span: length past the end of the message",
        "span 1: kind has the wrong wire type",
        "span 1: start_time has the wrong wire type",
        "span 1: events: field 1 has the wrong wire type",
        "span 1: status: field 3 has the wrong wire type",
        "span 1: attributes: kvlist element has the wrong wire type",
        "span 1: attributes: malformed AnyValue: length past the end of the message",
        "span 1: attributes: malformed KeyValue: length past the end of the message",
        "span 1: attributes: key is not valid UTF-8",
        "span 1: attributes: array element has the wrong wire type",
        "span 1: links.attributes: key is not valid UTF-8",
        "span 1: status: malformed Status: length past the end of the message",
        "span 1: attributes: malformed nested value",
    };
    for (int which = 0; which < (int)(sizeof msg / sizeof msg[0]); which++) {
        osp_span_batch b;
        osp_span_batch_init(&b);
        begin();
        O(1), O(1), kv_s(1, "service.name", "svc"), C();
        O(2), minimal_span(1), bad_span(which), minimal_span(3), C(), C();
        assert_int_equal(osp_otlp_traces_decode_pb(body(), &b, &rep), 0);
        if (rep.rejected != 1 || strcmp(rep.message, msg[which]) != 0)
            fail_msg("case %d: rejected %lld, message \"%s\"", which, (long long)rep.rejected,
                     rep.message);
        assert_int_equal(b.nspans, 2); /* the good ones around it are kept */
        assert_int_equal(b.spans[1].span_id[7], 3);
        osp_span_batch_cleanup(&b);
        osp_buf_cleanup(&W);
    }
}

/* A bad resource or scope rejects every span under it; the first message is kept. */
static void test_rejected_resource_and_scope(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_span_batch_init(&b);
    begin();
    O(1), O(1), kv_s(1, "k", "\xff"), C(); /* spans 0-2: bad resource */
    O(2), minimal_span(1), minimal_span(2), C(), O(2), minimal_span(3), C(), C();
    O(1), O(1), kv_s(1, "service.name", "ok"), C(); /* spans 3-5: bad scope, then good */
    O(2), O(1), S(2, "\xc0"), C(), minimal_span(4), minimal_span(5), C();
    O(2), minimal_span(6), C(), C();
    O(1), O(1), U(2, 1), O(3), S(2, "\xff"), C(), C(), O(2), minimal_span(7), C(), C();
    O(1), O(1), S(2, "wrong wire"), C(), O(2), minimal_span(8), C(), C();
    O(1), O(1), RAW("\x0a\x09", 2), C(), O(2), minimal_span(9), C(), C();
    O(1), O(1), kv_s(1, "service.name", "empty"), C(), C(); /* no spans: no rows */
    O(1), S(3, "\xff"), O(2), minimal_span(10), C(), C();
    O(1), O(2), O(1), U(1, 1), C(), minimal_span(11), C(), C();
    assert_int_equal(osp_otlp_traces_decode_pb(body(), &b, &rep), 0);
    assert_int_equal(rep.rejected, 10);
    assert_string_equal(rep.message, "spans 0..2: resource: attributes: string value is not "
                                     "valid UTF-8");
    assert_int_equal(b.nspans, 1);
    assert_int_equal(b.spans[0].span_id[7], 6);
    assert_int_equal(b.nresources, 1); /* rows without spans are dropped */
    assert_int_equal(b.nscopes, 1);
    assert_int_equal(b.spans[0].resource, 0);
    assert_int_equal(b.spans[0].scope, 0);
    assert_true(osp_str_eqz(b.resources[0].service_name, "ok"));
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&W);

    static const char *msgs[] = {
        "spans 0..0: scope: version is not valid UTF-8",
        "spans 0..0: resource: entity_refs: a string is not valid UTF-8",
        "spans 0..0: resource: field 2 has the wrong wire type",
        "spans 0..0: resource: malformed Resource: length past the end of the message",
        "spans 0..0: resource: schema_url is not valid UTF-8",
        "spans 0..0: scope: field 1 has the wrong wire type",
    };
    for (int i = 0; i < 6; i++) {
        osp_span_batch_init(&b);
        begin();
        if (i == 0)
            O(1), O(2), O(1), S(2, "\xc0"), C(), minimal_span(1), C(), C();
        else if (i == 1)
            O(1), O(1), O(3), S(3, "\xff"), C(), C(), O(2), minimal_span(1), C(), C();
        else if (i == 2)
            O(1), O(1), S(2, "x"), C(), O(2), minimal_span(1), C(), C();
        else if (i == 3)
            O(1), O(1), RAW("\x0a\x09", 2), C(), O(2), minimal_span(1), C(), C();
        else if (i == 4)
            O(1), S(3, "\xff"), O(2), minimal_span(1), C(), C();
        else
            O(1), O(2), O(1), U(1, 1), C(), minimal_span(1), C(), C();
        assert_int_equal(osp_otlp_traces_decode_pb(body(), &b, &rep), 0);
        assert_int_equal(rep.rejected, 1);
        assert_string_equal(rep.message, msgs[i]);
        assert_int_equal(b.nspans + b.nresources + b.nscopes, 0);
        osp_span_batch_cleanup(&b);
        osp_buf_cleanup(&W);
    }
}

static void request_fails(const char *p, size_t n, const char *msg_prefix)
{
    osp_span_batch b;
    osp_span_batch_init(&b);
    build_full();
    decode_ok(body(), &b); /* rows already in the batch stay as they are */
    assert_int_equal(osp_otlp_traces_decode_pb(osp_str_make(p, n), &b, &rep), OSP_EPARSE);
    if (strncmp(rep.message, msg_prefix, strlen(msg_prefix)) != 0)
        fail_msg("message \"%s\", want \"%s...\"", rep.message, msg_prefix);
    assert_int_equal(b.nspans, 3);
    assert_int_equal(b.nresources, 2);
    assert_int_equal(b.nscopes, 2);
    check_full_span(&b, &b.spans[0]);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

#define FAILS(lit, msg) request_fails((lit), sizeof(lit) - 1, (msg))

static void test_undecodable_requests(void **state)
{
    (void)state;
    FAILS("\x08\x01", "resource_spans has the wrong wire type");
    FAILS("\x0a\x02\x10\x01", "resource_spans: field 2 has the wrong wire type");
    FAILS("\x0a\x02\x18\x01", "resource_spans: field 3 has the wrong wire type");
    FAILS("\x0a\x04\x12\x02\x10\x01", "scope_spans: field 2 has the wrong wire type");
    FAILS("\x0a\x07\x12\x05\x15\x00\x00\x00\x00", "scope_spans: field 2 has the wrong wire type");
    FAILS("\x0a\x04\x12\x02\x08\x01", "scope_spans: field 1 has the wrong wire type");
    FAILS("\x0a\x05\x0a", "request: malformed protobuf at byte 0");
    FAILS("\x0b", "request: malformed protobuf");
    FAILS("\x0a\x02\x12\x05", "resource_spans: malformed");
    FAILS("\x0a\x04\x12\x02\x12\x05", "scope_spans: malformed");
    FAILS("\x0a\x01\x0f", "resource_spans: malformed");           /* wire type 7 */
    FAILS("\x0a\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", /* 11-byte varint */
          "request: malformed protobuf at byte 2");
    FAILS("\x0a\x00\x00", "request: malformed protobuf"); /* field number 0 */
    /* a rejected span's message gives way to the fatal one */
    osp_span_batch b;
    osp_span_batch_init(&b);
    begin();
    O(1), O(2), bad_span(0), C(), C();
    RAW("\x0a\x05", 2);
    assert_int_equal(osp_otlp_traces_decode_pb(body(), &b, &rep), OSP_EPARSE);
    char want[128];
    snprintf(want, sizeof want,
             "request: malformed protobuf at byte %zu: length past the end of the message",
             W.len - 2);
    assert_string_equal(rep.message, want);
    assert_int_equal(b.nspans, 0);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

static void test_empty_and_truncated(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_span_batch_init(&b);
    decode_ok(OSP_STR_NULL, &b);
    assert_int_equal(b.nspans, 0);
    assert_int_equal(rep.rejected, 0);
    decode_ok(OSP_STR_LIT("\x0a\x00\x0a\x02\x12\x00"), &b); /* empty groups: no rows */
    assert_int_equal(b.nspans + b.nresources + b.nscopes, 0);

    /* every prefix of a full request decodes or fails cleanly, never half-way */
    build_full();
    osp_str full = body();
    int failed = 0;
    for (size_t n = 0; n < full.n; n++) {
        osp_span_batch_reset(&b);
        int rc = osp_otlp_traces_decode_pb(osp_str_make(full.p, n), &b, &rep);
        assert_true(rc == 0 || rc == OSP_EPARSE);
        if (rc)
            assert_int_equal(b.nspans + b.nresources + b.nscopes, 0);
        failed += rc != 0;
    }
    assert_true(failed > (int)full.n / 2);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

/* Every allocation failing in turn: OSP_ENOMEM and the batch as it was, or success. */
static void test_out_of_memory(void **state)
{
    (void)state;
    build_full();
    int failures = 0;
    for (unsigned long n = 1; n < 40; n++) {
        osp_span_batch b;
        osp_span_batch_init(&b);
        osp_mem_fail_after(n);
        int rc = osp_otlp_traces_decode_pb(body(), &b, &rep);
        osp_mem_fail_after(0);
        if (rc) {
            assert_int_equal(rc, OSP_ENOMEM);
            assert_int_equal(b.nspans + b.nresources + b.nscopes, 0);
            failures++;
        } else {
            assert_int_equal(b.nspans, 3);
            check_full_span(&b, &b.spans[0]);
        }
        osp_span_batch_cleanup(&b);
    }
    assert_true(failures > 5);
    osp_buf_cleanup(&W);
}

/* A realistic request: 10 services x 100 spans, ~15 attributes each, some events. */
static void build_realistic(void)
{
    static const char *ops[] = {"POST /v1/chat/completions", "agent.plan", "tool.search",
                                "vector.query", "chat gpt-4o"};
    begin();
    for (int s = 0; s < 10; s++) {
        char svc[32];
        snprintf(svc, sizeof svc, "service-%d", s);
        O(1), O(1), kv_s(1, "service.name", svc), kv_s(1, "service.version", "1.4.2");
        kv_s(1, "deployment.environment", "prod"), kv_s(1, "host.name", "node-17.internal");
        kv_s(1, "telemetry.sdk.language", "python"), C();
        O(2), O(1), S(1, "opentelemetry.instrumentation.openai"), S(2, "0.48b0"), C();
        for (int i = 0; i < 100; i++) {
            uint8_t tid[16], sid[8];
            for (int k = 0; k < 16; k++)
                tid[k] = (uint8_t)(s * 31 + i * 7 + k + 1);
            for (int k = 0; k < 8; k++)
                sid[k] = (uint8_t)(i + k + 1);
            O(2), B(1, tid, 16), B(2, sid, 8), B(4, sid, 8), S(5, ops[i % 5]), U(6, 3);
            X64(7, T0 + (uint64_t)i * 1000000), X64(8, T0 + (uint64_t)i * 1000000 + 350000000);
            kv_s(9, "gen_ai.system", "openai"), kv_s(9, "gen_ai.operation.name", "chat");
            kv_s(9, "gen_ai.request.model", "gpt-4o"),
                kv_s(9, "gen_ai.response.model", "gpt-4o-2024-08-06");
            kv_i(9, "gen_ai.usage.input_tokens", 1200 + i),
                kv_i(9, "gen_ai.usage.output_tokens", 300 + i);
            O(9), S(1, "gen_ai.request.temperature"), O(2);
            D(4, 0.2);
            C(), C();
            kv_s(9, "gen_ai.response.id", "chatcmpl-9x8Yv2kq3T1a"),
                kv_s(9, "session.id", "sess-4f2a9c");
            kv_s(9, "server.address", "api.openai.com"), kv_i(9, "server.port", 443);
            kv_s(9, "http.request.method", "POST"), kv_i(9, "http.response.status_code", 200);
            kv_s(9, "url.full", "https://api.openai.com/v1/chat/completions");
            O(9), S(1, "gen_ai.response.finish_reasons"), O(2), O(5), O(1), S(1, "stop"), C();
            C(), C(), C();
            if (i % 5 == 0)
                O(11), X64(1, T0 + 90000000), S(2, "gen_ai.first_token"), C();
            O(15), U(3, 1), C();
            C();
        }
        C(), C();
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_decode_throughput(void **state)
{
    (void)state;
    build_realistic();
    osp_str req = body();
    osp_span_batch b;
    osp_span_batch_init(&b);
    int iters = 0;
    double t0 = now_s(), t;
    do {
        osp_span_batch_reset(&b);
        decode_ok(req, &b);
        iters++;
        t = now_s() - t0;
    } while (t < 0.5 && iters < 200);
    assert_int_equal(b.nspans, 1000);
    assert_int_equal(rep.rejected, 0);
    printf("otlp_pb decode: %.1f MB/s, %.0f spans/s (%zu-byte request, 1000 spans, %d runs)\n",
           (double)req.n * iters / t / 1e6, 1000.0 * iters / t, req.n, iters);

    osp_buf enc;
    osp_buf_init(&enc, 0);
    assert_int_equal(osp_otlp_traces_encode_pb(&b, &enc), 0);
    osp_span_batch c;
    osp_span_batch_init(&c);
    decode_ok(osp_buf_str(&enc), &c);
    for (size_t i = 0; i < b.nspans; i++)
        assert_true(osp_span_equal(&b, i, &c, i));
    osp_buf_cleanup(&enc);
    osp_span_batch_cleanup(&c);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&W);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_canonical_attrs),
        cmocka_unit_test(test_any_order_and_unknown_fields),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_rejected_resource_and_scope),
        cmocka_unit_test(test_undecodable_requests),
        cmocka_unit_test(test_empty_and_truncated),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_decode_throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
