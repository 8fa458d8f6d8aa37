/* Unit tests for the OTLP/JSON trace codec: decode of every field, parity with the
 * protobuf decoder, encode/decode round trips, grouping, and every rejection path. */
#include "testutil.h"

#include <math.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"
#include "model/attr.h"
#include "proto/otlp.h"

/* snprintf that fails the test rather than truncate. */
__attribute__((format(printf, 3, 4))) static void format(char *buf, size_t cap, const char *fmt,
                                                         ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap);
}

/* Test documents are written with ' for " to stay readable; this swaps them back. The
 * result is static storage, valid until the next call. */
static osp_str q(const char *text)
{
    static char buf[16384];
    size_t n = strlen(text);
    assert_true(n < sizeof buf);
    for (size_t i = 0; i <= n; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    return osp_str_make(buf, n);
}

/* Every field of the OTLP data model, with ids in upper case, 64-bit integers both as
 * strings and as numbers, escapes, nulls, members in unusual orders and unknown members. */
static const char full_doc[] =
    "{'resourceSpans':[{"
    " 'resource':{"
    "  'attributes':["
    "   {'key':'service.name','value':{'stringValue':'checkout'}},"
    "   {'key':'host.cores','value':{'intValue':'8'}}],"
    "  'droppedAttributesCount':2,"
    "  'entityRefs':[{'type':'service','schemaUrl':'https://e','descriptionKeys':['host.cores',"
    "'x'],'idKeys':['service.name']}],"
    "  'unknownResourceField':{'a':[1,2,{'b':null}]}},"
    " 'schemaUrl':'https://opentelemetry.io/schemas/1.30.0',"
    " 'scopeSpans':[{"
    "  'scope':{'name':'lib','version':'1.2.3','attributes':[{'key':'s','value':{'boolValue':"
    "true}}],'droppedAttributesCount':1},"
    "  'schemaUrl':'https://scope',"
    "  'spans':[{"
    "   'traceId':'5B8EFFF798038103D269B633813FC60C',"
    "   'spanId':'EEE19B7EC3C1B174',"
    "   'parentSpanId':'eee19b7ec3c1b173',"
    "   'traceState':'k=v',"
    "   'name':'GET \\/cart',"
    "   'kind':2,"
    "   'flags':769,"
    "   'startTimeUnixNano':'1544712660000000000',"
    "   'endTimeUnixNano':1544712661000000000,"
    "   'attributes':["
    "    {'key':'str','value':{'stringValue':'a\\'b\\u00e9'}},"
    "    {'key':'bool','value':{'boolValue':false}},"
    "    {'key':'int','value':{'intValue':-9223372036854775808}},"
    "    {'key':'dbl','value':{'doubleValue':1.5}},"
    "    {'key':'nan','value':{'doubleValue':'NaN'}},"
    "    {'key':'inf','value':{'doubleValue':'-Infinity'}},"
    "    {'key':'bytes','value':{'bytesValue':'AAEC/w=='}},"
    "    {'key':'arr','value':{'arrayValue':{'values':[{'intValue':'1'},{'stringValue':'two'},"
    "{},null,{'arrayValue':{}}]}}},"
    "    {'key':'kv','value':{'kvlistValue':{'values':[{'key':'inner','value':{'doubleValue':2,"
    "'ignored':1}}]}}},"
    "    {'key':'empty','value':{}},"
    "    {'key':'nullv','value':null},"
    "    {'value':{'stringValue':'late\\n'},'other':[1],'key':'l\\u0061te'},"
    "    {'key':'','value':{'stringValue':''}}],"
    "   'droppedAttributesCount':3,"
    "   'events':[{'timeUnixNano':'1544712660500000000','name':'first-token','attributes':"
    "[{'key':'e','value':{'intValue':7}}],'droppedAttributesCount':4},{}],"
    "   'droppedEventsCount':5,"
    "   'links':[{'traceId':'0102030405060708090a0b0c0d0e0f10','spanId':'1112131415161718',"
    "'traceState':'l=1','attributes':[{'key':'la','value':{'boolValue':true}}],"
    "'droppedAttributesCount':6,'flags':1}],"
    "   'droppedLinksCount':7,"
    "   'status':{'message':'boom','code':2},"
    "   'futureField':[null,true,{'x':'y'}]"
    "  },{"
    "   'traceId':'5b8efff798038103d269b633813fc60c','spanId':'0000000000000001',"
    "   'parentSpanId':'','name':'root','status':{}"
    "  }]}]},"
    " {'resource':null,'scopeSpans':[{'spans':[{'traceId':'00000000000000000000000000000001',"
    "'spanId':'0000000000000002','name':null,'kind':null}]}]}"
    "], 'extra':{}}";

static int decode(const char *text, osp_span_batch *b, osp_decode_report *rep)
{
    return osp_otlp_traces_decode_json(q(text), b, rep);
}

static void assert_str(osp_str s, const char *want)
{
    if (!osp_str_eq(s, osp_str_c(want)))
        fail_msg("got \"%.*s\", want \"%s\"", OSP_STR_FMT(s), want);
}

static osp_value attr(osp_str attrs, const char *key)
{
    osp_value v;
    if (osp_attr_find(attrs, osp_str_c(key), &v) != 1)
        fail_msg("attribute %s missing", key);
    return v;
}

static void test_decode_every_field(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_decode_report rep;
    osp_span_batch_init(&b);
    assert_int_equal(decode(full_doc, &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_string_equal(rep.message, "");
    assert_int_equal(b.nspans, 3);
    assert_int_equal(b.nresources, 2);
    assert_int_equal(b.nscopes, 2);

    const osp_resource *r = &b.resources[b.spans[0].resource];
    assert_str(r->service_name, "checkout");
    assert_str(r->schema_url, "https://opentelemetry.io/schemas/1.30.0");
    assert_int_equal(r->dropped_attributes, 2);
    assert_int_equal(osp_attr_count(r->attributes), 2);
    osp_value v = attr(r->attributes, "host.cores");
    assert_true(v.type == OSP_VAL_INT && v.i == 8);
    /* Entity refs: canonical order whatever the JSON order was. */
    osp_blob_iter it, keys;
    osp_entity_ref er;
    osp_str k;
    int desc;
    osp_blob_iter_init(&it, r->entity_refs);
    assert_int_equal(osp_entity_refs_next(&it, &er), 1);
    assert_str(er.schema_url, "https://e");
    assert_str(er.type, "service");
    osp_blob_iter_init(&keys, er.keys);
    assert_int_equal(osp_entity_ref_next_key(&keys, &k, &desc), 1);
    assert_true(desc == 0 && osp_str_eqz(k, "service.name"));
    assert_int_equal(osp_entity_ref_next_key(&keys, &k, &desc), 1);
    assert_true(desc == 1 && osp_str_eqz(k, "host.cores"));
    assert_int_equal(osp_entity_ref_next_key(&keys, &k, &desc), 1);
    assert_true(desc == 1 && osp_str_eqz(k, "x"));
    assert_int_equal(osp_entity_ref_next_key(&keys, &k, &desc), 0);
    assert_int_equal(osp_entity_refs_next(&it, &er), 0);

    const osp_scope *sc = &b.scopes[b.spans[0].scope];
    assert_str(sc->name, "lib");
    assert_str(sc->version, "1.2.3");
    assert_str(sc->schema_url, "https://scope");
    assert_int_equal(sc->dropped_attributes, 1);
    v = attr(sc->attributes, "s");
    assert_true(v.type == OSP_VAL_BOOL && v.i == 1);

    const osp_span *s = &b.spans[0];
    static const uint8_t tid[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
                                    0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};
    static const uint8_t sid[8] = {0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74};
    static const uint8_t pid[8] = {0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73};
    assert_memory_equal(s->trace_id, tid, 16);
    assert_memory_equal(s->span_id, sid, 8);
    assert_memory_equal(s->parent_span_id, pid, 8);
    assert_str(s->trace_state, "k=v");
    assert_str(s->name, "GET /cart");
    assert_int_equal(s->kind, OSP_SPAN_KIND_SERVER);
    assert_int_equal(s->flags, 769);
    assert_true(s->start_ns == 1544712660000000000ULL);
    assert_true(s->end_ns == 1544712661000000000ULL);
    assert_int_equal(s->dropped_attributes, 3);
    assert_int_equal(s->dropped_events, 5);
    assert_int_equal(s->dropped_links, 7);
    assert_int_equal(s->status_code, OSP_STATUS_ERROR);
    assert_str(s->status_message, "boom");

    assert_int_equal(osp_attr_count(s->attributes), 13);
    v = attr(s->attributes, "str");
    assert_true(v.type == OSP_VAL_STRING);
    assert_str(v.s, "a\"b\xc3\xa9");
    v = attr(s->attributes, "bool");
    assert_true(v.type == OSP_VAL_BOOL && v.i == 0);
    v = attr(s->attributes, "int");
    assert_true(v.type == OSP_VAL_INT && v.i == INT64_MIN);
    v = attr(s->attributes, "dbl");
    assert_true(v.type == OSP_VAL_DOUBLE && v.d == 1.5);
    v = attr(s->attributes, "nan");
    assert_true(v.type == OSP_VAL_DOUBLE && isnan(v.d));
    v = attr(s->attributes, "inf");
    assert_true(v.type == OSP_VAL_DOUBLE && isinf(v.d) && v.d < 0);
    v = attr(s->attributes, "bytes");
    assert_true(v.type == OSP_VAL_BYTES);
    assert_true(osp_str_eq(v.s, osp_str_make("\x00\x01\x02\xff", 4)));
    v = attr(s->attributes, "empty");
    assert_true(v.type == OSP_VAL_EMPTY);
    v = attr(s->attributes, "nullv");
    assert_true(v.type == OSP_VAL_EMPTY);
    v = attr(s->attributes, "late");
    assert_true(v.type == OSP_VAL_STRING);
    assert_str(v.s, "late\n");
    v = attr(s->attributes, "");
    assert_true(v.type == OSP_VAL_STRING && v.s.n == 0);

    /* arr: [1, "two", empty, empty (null), []] */
    v = attr(s->attributes, "arr");
    assert_true(v.type == OSP_VAL_ARRAY);
    osp_array_iter ai;
    osp_value e;
    osp_array_iter_init(&ai, v.s);
    assert_int_equal(osp_array_next(&ai, &e), 1);
    assert_true(e.type == OSP_VAL_INT && e.i == 1);
    assert_int_equal(osp_array_next(&ai, &e), 1);
    assert_true(e.type == OSP_VAL_STRING && osp_str_eqz(e.s, "two"));
    assert_int_equal(osp_array_next(&ai, &e), 1);
    assert_true(e.type == OSP_VAL_EMPTY);
    assert_int_equal(osp_array_next(&ai, &e), 1);
    assert_true(e.type == OSP_VAL_EMPTY);
    assert_int_equal(osp_array_next(&ai, &e), 1);
    assert_true(e.type == OSP_VAL_ARRAY && e.s.n == 0);
    assert_int_equal(osp_array_next(&ai, &e), 0);
    v = attr(s->attributes, "kv");
    assert_true(v.type == OSP_VAL_KVLIST);
    e = attr(v.s, "inner");
    assert_true(e.type == OSP_VAL_DOUBLE && e.d == 2.0);

    osp_event ev;
    osp_blob_iter_init(&it, s->events);
    assert_int_equal(osp_events_next(&it, &ev), 1);
    assert_true(ev.time_ns == 1544712660500000000ULL);
    assert_str(ev.name, "first-token");
    assert_int_equal(ev.dropped_attributes, 4);
    e = attr(ev.attributes, "e");
    assert_true(e.type == OSP_VAL_INT && e.i == 7);
    assert_int_equal(osp_events_next(&it, &ev), 1); /* {} is an event with defaults */
    assert_true(ev.time_ns == 0 && ev.name.n == 0 && ev.attributes.n == 0);
    assert_int_equal(osp_events_next(&it, &ev), 0);

    osp_link ln;
    osp_blob_iter_init(&it, s->links);
    assert_int_equal(osp_links_next(&it, &ln), 1);
    assert_int_equal(ln.trace_id[0], 1);
    assert_int_equal(ln.trace_id[15], 0x10);
    assert_int_equal(ln.span_id[7], 0x18);
    assert_str(ln.trace_state, "l=1");
    assert_int_equal(ln.dropped_attributes, 6);
    assert_int_equal(ln.flags, 1);
    e = attr(ln.attributes, "la");
    assert_true(e.type == OSP_VAL_BOOL && e.i == 1);
    assert_int_equal(osp_links_next(&it, &ln), 0);

    /* A root span (empty parent) with defaults everywhere, in the same scope. */
    s = &b.spans[1];
    static const uint8_t zero[8];
    assert_memory_equal(s->parent_span_id, zero, 8);
    assert_int_equal(s->scope, b.spans[0].scope);
    assert_str(s->name, "root");
    assert_true(s->attributes.n == 0 && s->events.n == 0 && s->links.n == 0);
    assert_int_equal(s->status_code, 0);

    /* A null resource is an empty one. */
    s = &b.spans[2];
    assert_int_not_equal(s->resource, b.spans[0].resource);
    assert_true(b.resources[s->resource].attributes.n == 0);
    assert_true(b.resources[s->resource].service_name.n == 0);
    assert_int_equal(s->name.n, 0);
    osp_span_batch_cleanup(&b);
}

/* Every span of a has an equal span in b (the encoder may regroup), and counts match. */
static void assert_same_spans(const osp_span_batch *a, const osp_span_batch *b)
{
    assert_int_equal(a->nspans, b->nspans);
    char used[64] = {0};
    assert_true(b->nspans <= sizeof used);
    for (size_t i = 0; i < a->nspans; i++) {
        size_t j = 0;
        while (j < b->nspans && (used[j] || !osp_span_equal(a, i, b, j)))
            j++;
        if (j == b->nspans)
            fail_msg("span %zu has no equal", i);
        used[j] = 1;
    }
}

static void test_json_matches_protobuf(void **state)
{
    (void)state;
    osp_span_batch a, b;
    osp_decode_report rep;
    osp_buf pb;
    osp_span_batch_init(&a);
    osp_span_batch_init(&b);
    osp_buf_init(&pb, 0);
    assert_int_equal(decode(full_doc, &a, &rep), 0);
    assert_int_equal(osp_otlp_traces_encode_pb(&a, &pb), 0);
    assert_int_equal(osp_otlp_traces_decode_pb(osp_buf_str(&pb), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_same_spans(&a, &b);
    osp_span_batch_cleanup(&a);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&pb);
}

/* A protobuf request built field by field, independently of the codecs under test. */
static void build_pb(osp_buf *pb)
{
    static const uint8_t tid[16] = {[0] = 0xab, [15] = 0xcd}, sid[8] = {[7] = 9};
    size_t rs, res, kv, val, ss, scope, span, arr, ev, st;
    assert_int_equal(osp_pb_begin(pb, 1, &rs), 0);
    assert_int_equal(osp_pb_begin(pb, 1, &res), 0);
    assert_int_equal(osp_pb_begin(pb, 1, &kv), 0);
    assert_int_equal(osp_pb_put_str(pb, 1, OSP_STR_LIT("service.name")), 0);
    assert_int_equal(osp_pb_begin(pb, 2, &val), 0);
    assert_int_equal(osp_pb_put_str(pb, 1, OSP_STR_LIT("svc")), 0);
    assert_int_equal(osp_pb_end(pb, val), 0);
    assert_int_equal(osp_pb_end(pb, kv), 0);
    assert_int_equal(osp_pb_end(pb, res), 0);
    assert_int_equal(osp_pb_begin(pb, 2, &ss), 0);
    assert_int_equal(osp_pb_begin(pb, 1, &scope), 0);
    assert_int_equal(osp_pb_put_str(pb, 1, OSP_STR_LIT("lib")), 0);
    assert_int_equal(osp_pb_end(pb, scope), 0);
    assert_int_equal(osp_pb_begin(pb, 2, &span), 0);
    assert_int_equal(osp_pb_put_bytes(pb, 1, tid, 16), 0);
    assert_int_equal(osp_pb_put_bytes(pb, 2, sid, 8), 0);
    assert_int_equal(osp_pb_put_str(pb, 5, OSP_STR_LIT("op")), 0);
    assert_int_equal(osp_pb_put_uint(pb, 6, 3), 0);
    assert_int_equal(osp_pb_put_fixed64(pb, 7, 1000), 0);
    assert_int_equal(osp_pb_put_fixed64(pb, 8, 2000), 0);
    assert_int_equal(osp_pb_begin(pb, 9, &kv), 0);
    assert_int_equal(osp_pb_put_str(pb, 1, OSP_STR_LIT("arr")), 0);
    assert_int_equal(osp_pb_begin(pb, 2, &val), 0);
    assert_int_equal(osp_pb_begin(pb, 5, &arr), 0);
    size_t elem;
    assert_int_equal(osp_pb_begin(pb, 1, &elem), 0);
    assert_int_equal(osp_pb_put_uint(pb, 3, (uint64_t)-5), 0);
    assert_int_equal(osp_pb_end(pb, elem), 0);
    assert_int_equal(osp_pb_begin(pb, 1, &elem), 0);
    assert_int_equal(osp_pb_put_str(pb, 7, OSP_STR_LIT("\x01\x02")), 0);
    assert_int_equal(osp_pb_end(pb, elem), 0);
    assert_int_equal(osp_pb_end(pb, arr), 0);
    assert_int_equal(osp_pb_end(pb, val), 0);
    assert_int_equal(osp_pb_end(pb, kv), 0);
    assert_int_equal(osp_pb_begin(pb, 9, &kv), 0);
    assert_int_equal(osp_pb_put_str(pb, 1, OSP_STR_LIT("d")), 0);
    assert_int_equal(osp_pb_begin(pb, 2, &val), 0);
    assert_int_equal(osp_pb_put_double(pb, 4, 0.25), 0);
    assert_int_equal(osp_pb_end(pb, val), 0);
    assert_int_equal(osp_pb_end(pb, kv), 0);
    assert_int_equal(osp_pb_begin(pb, 11, &ev), 0);
    assert_int_equal(osp_pb_put_fixed64(pb, 1, 1500), 0);
    assert_int_equal(osp_pb_put_str(pb, 2, OSP_STR_LIT("ev")), 0);
    assert_int_equal(osp_pb_end(pb, ev), 0);
    assert_int_equal(osp_pb_begin(pb, 15, &st), 0);
    assert_int_equal(osp_pb_put_str(pb, 2, OSP_STR_LIT("m")), 0);
    assert_int_equal(osp_pb_put_uint(pb, 3, 1), 0);
    assert_int_equal(osp_pb_end(pb, st), 0);
    assert_int_equal(osp_pb_put_fixed32(pb, 16, 1), 0);
    assert_int_equal(osp_pb_end(pb, span), 0);
    assert_int_equal(osp_pb_end(pb, ss), 0);
    assert_int_equal(osp_pb_end(pb, rs), 0);
}

static void test_same_rows_as_handmade_protobuf(void **state)
{
    (void)state;
    static const char json[] =
        "{'resourceSpans':[{'resource':{'attributes':[{'key':'service.name','value':{"
        "'stringValue':'svc'}}]},'scopeSpans':[{'scope':{'name':'lib'},'spans':[{"
        "'flags':1,'status':{'code':1,'message':'m'},'events':[{'name':'ev','timeUnixNano':"
        "1500}],'attributes':[{'key':'arr','value':{'arrayValue':{'values':[{'intValue':-5},"
        "{'bytesValue':'AQI'}]}}},{'key':'d','value':{'doubleValue':'0.25'}}],"
        "'endTimeUnixNano':'2000','startTimeUnixNano':1000,'kind':3,'name':'op',"
        "'spanId':'0000000000000009','traceId':'AB0000000000000000000000000000CD'}]}]}]}";
    osp_span_batch a, b;
    osp_decode_report rep;
    osp_buf pb;
    osp_span_batch_init(&a);
    osp_span_batch_init(&b);
    osp_buf_init(&pb, 0);
    build_pb(&pb);
    assert_int_equal(osp_otlp_traces_decode_pb(osp_buf_str(&pb), &a, &rep), 0);
    assert_int_equal(decode(json, &b, &rep), 0);
    assert_int_equal(a.nspans, 1);
    assert_int_equal(b.nspans, 1);
    assert_true(osp_span_equal(&a, 0, &b, 0));
    osp_span_batch_cleanup(&a);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&pb);
}

static void test_round_trip(void **state)
{
    (void)state;
    osp_span_batch a, b;
    osp_decode_report rep;
    osp_buf j1, j2;
    osp_span_batch_init(&a);
    osp_span_batch_init(&b);
    osp_buf_init(&j1, 0);
    osp_buf_init(&j2, 0);
    assert_int_equal(decode(full_doc, &a, &rep), 0);
    assert_int_equal(osp_otlp_traces_encode_json(&a, &j1), 0);
    assert_int_equal(osp_otlp_traces_decode_json(osp_buf_str(&j1), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_same_spans(&a, &b);
    /* Encoding is deterministic: the decoded copy encodes to the same text. */
    assert_int_equal(osp_otlp_traces_encode_json(&b, &j2), 0);
    assert_int_equal(j1.len, j2.len);
    assert_memory_equal(j1.data, j2.data, j1.len);
    osp_span_batch_cleanup(&a);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&j1);
    osp_buf_cleanup(&j2);
}

static void assert_encodes_to(const char *in, const char *want)
{
    osp_span_batch b;
    osp_decode_report rep;
    osp_buf out;
    osp_span_batch_init(&b);
    osp_buf_init(&out, 0);
    assert_int_equal(decode(in, &b, &rep), 0);
    assert_int_equal(osp_otlp_traces_encode_json(&b, &out), 0);
    osp_str want_s = q(want);
    if (!osp_str_eq(osp_buf_str(&out), want_s))
        fail_msg("got  %.*s\nwant %.*s", OSP_STR_FMT(osp_buf_str(&out)), OSP_STR_FMT(want_s));
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&out);
}

static void test_encode_shape(void **state)
{
    (void)state;
    /* Everything set: field order, hex ids, strings for 64-bit integers, numbers for
     * enums and flags, base64 bytes, non-finite doubles as strings. */
    assert_encodes_to(
        "{'resourceSpans':[{'resource':{'attributes':[{'key':'service.name','value':{"
        "'stringValue':'a'}}],'droppedAttributesCount':1,'entityRefs':[{'schemaUrl':'u','type':"
        "'t','idKeys':['i'],'descriptionKeys':['d1','d2']},{'type':'t2','descriptionKeys':"
        "['d']}]},'schemaUrl':'rs','scopeSpans':[{'scope':{'name':'n','version':'v',"
        "'attributes':[{'key':'k','value':{'boolValue':false}}],'droppedAttributesCount':2},"
        "'schemaUrl':'ss','spans':[{'traceId':'0102030405060708090A0B0C0D0E0F10','spanId':"
        "'0102030405060708','traceState':'ts','parentSpanId':'0807060504030201','flags':257,"
        "'name':'op','kind':5,'startTimeUnixNano':1,'endTimeUnixNano':18446744073709551615,"
        "'attributes':[{'key':'i','value':{'intValue':-1}},{'key':'d','value':{'doubleValue':"
        "0.1}},{'key':'n','value':{'doubleValue':'Infinity'}},{'key':'b','value':{'bytesValue':"
        "'/w'}},{'key':'e','value':{}},{'key':'a','value':{'arrayValue':{'values':[{'kvlistValue'"
        ":{'values':[{'key':'x','value':{'stringValue':'\\u0001\\''}}]}},{'kvlistValue':{}}]}}}],"
        "'droppedAttributesCount':3,'events':[{'timeUnixNano':'5','name':'ev','attributes':"
        "[{'key':'z','value':{'intValue':0}}],'droppedAttributesCount':4}],'droppedEventsCount':"
        "6,'links':[{'traceId':'00000000000000000000000000000000','spanId':'0000000000000000',"
        "'traceState':'lt','attributes':[{'key':'y','value':{'doubleValue':-0}}],"
        "'droppedAttributesCount':7,'flags':512}],'droppedLinksCount':8,'status':{'code':2,"
        "'message':'bad'}}]}]}]}",
        "{'resourceSpans':[{'resource':{'attributes':[{'key':'service.name','value':{"
        "'stringValue':'a'}}],'droppedAttributesCount':1,'entityRefs':[{'schemaUrl':'u','type':"
        "'t','idKeys':['i'],'descriptionKeys':['d1','d2']},{'type':'t2','descriptionKeys':"
        "['d']}]},'scopeSpans':[{'scope':{'name':'n','version':'v','attributes':[{'key':'k',"
        "'value':{'boolValue':false}}],'droppedAttributesCount':2},'spans':[{'traceId':"
        "'0102030405060708090a0b0c0d0e0f10','spanId':'0102030405060708','traceState':'ts',"
        "'parentSpanId':'0807060504030201','flags':257,'name':'op','kind':5,"
        "'startTimeUnixNano':'1','endTimeUnixNano':'18446744073709551615','attributes':[{'key':"
        "'i','value':{'intValue':'-1'}},{'key':'d','value':{'doubleValue':0.1}},{'key':'n',"
        "'value':{'doubleValue':'Infinity'}},{'key':'b','value':{'bytesValue':'/w=='}},{'key':"
        "'e','value':{}},{'key':'a','value':{'arrayValue':{'values':[{'kvlistValue':{'values':"
        "[{'key':'x','value':{'stringValue':'\\u0001\\''}}]}},{'kvlistValue':{}}]}}}],"
        "'droppedAttributesCount':3,'events':[{'timeUnixNano':'5','name':'ev','attributes':"
        "[{'key':'z','value':{'intValue':'0'}}],'droppedAttributesCount':4}],"
        "'droppedEventsCount':6,'links':[{'traceId':'00000000000000000000000000000000',"
        "'spanId':'0000000000000000','traceState':'lt','attributes':[{'key':'y','value':{"
        "'doubleValue':-0}}],'droppedAttributesCount':7,'flags':512}],'droppedLinksCount':8,"
        "'status':{'message':'bad','code':2}}],'schemaUrl':'ss'}],'schemaUrl':'rs'}]}");
    /* Defaults omitted; status is an empty object. */
    assert_encodes_to("{'resourceSpans':[{'scopeSpans':[{'spans':[{'traceId':"
                      "'00000000000000000000000000000001','spanId':'0000000000000001',"
                      "'kind':0,'flags':0,'name':'','droppedLinksCount':'0'}]}]}]}",
                      "{'resourceSpans':[{'resource':{},'scopeSpans':[{'scope':{},'spans':[{"
                      "'traceId':'00000000000000000000000000000001','spanId':"
                      "'0000000000000001','status':{}}]}]}]}");
    /* An empty batch. */
    assert_encodes_to("{}", "{'resourceSpans':[]}");
}

static void test_encode_groups_by_content(void **state)
{
    (void)state;
    /* Resource a appears twice (not adjacent) with the same contents; its spans end up in
     * one ResourceSpans, and equal scopes share one ScopeSpans. */
    static const char in[] =
        "{'resourceSpans':["
        "{'resource':{'attributes':[{'key':'service.name','value':{'stringValue':'a'}}]},"
        " 'scopeSpans':[{'scope':{'name':'s1'},'spans':[{'traceId':"
        "'00000000000000000000000000000001','spanId':'0000000000000001'}]}]},"
        "{'resource':{'attributes':[{'key':'service.name','value':{'stringValue':'b'}}]},"
        " 'scopeSpans':[{'scope':{'name':'s1'},'spans':[{'traceId':"
        "'00000000000000000000000000000001','spanId':'0000000000000002'}]}]},"
        "{'resource':{'attributes':[{'key':'service.name','value':{'stringValue':'a'}}]},"
        " 'scopeSpans':[{'scope':{'name':'s2'},'spans':[{'traceId':"
        "'00000000000000000000000000000001','spanId':'0000000000000003'}]},"
        "{'scope':{'name':'s1'},'spans':[{'traceId':"
        "'00000000000000000000000000000001','spanId':'0000000000000004'}]}]}]}";
    assert_encodes_to(
        in,
        "{'resourceSpans':["
        "{'resource':{'attributes':[{'key':'service.name','value':{'stringValue':'a'}}]},"
        "'scopeSpans':[{'scope':{'name':'s1'},'spans':["
        "{'traceId':'00000000000000000000000000000001','spanId':'0000000000000001','status':{}},"
        "{'traceId':'00000000000000000000000000000001','spanId':'0000000000000004','status':{}}"
        "]},{'scope':{'name':'s2'},'spans':["
        "{'traceId':'00000000000000000000000000000001','spanId':'0000000000000003','status':{}}"
        "]}]},"
        "{'resource':{'attributes':[{'key':'service.name','value':{'stringValue':'b'}}]},"
        "'scopeSpans':[{'scope':{'name':'s1'},'spans':["
        "{'traceId':'00000000000000000000000000000001','spanId':'0000000000000002','status':{}}"
        "]}]}]}");
}

/* A document holding one span whose members are `span`. */
static const char *one_span(const char *span)
{
    static char doc[4096];
    format(doc, sizeof doc, "{'resourceSpans':[{'scopeSpans':[{'spans':[{%s}]}]}]}", span);
    return doc;
}

#define IDS "'traceId':'0102030405060708090a0b0c0d0e0f10','spanId':'0102030405060708'"

static void test_rejected_spans(void **state)
{
    (void)state;
    static const struct {
        const char *span, *message;
    } cases[] = {
        {"'traceId':'ZZ02030405060708090a0b0c0d0e0f10','spanId':'0102030405060708'",
         "span 0: traceId is not a hex string"},
        {"'traceId':'102030405060708090a0b0c0d0e0f10','spanId':'0102030405060708'",
         "span 0: traceId is not a hex string"},
        {"'traceId':'0102030405060708','spanId':'0102030405060708'",
         "span 0: traceId must be 16 bytes, got 8"},
        {"'traceId':'','spanId':'0102030405060708'", "span 0: traceId must be 16 bytes, got 0"},
        {"'spanId':'0102030405060708'", "span 0: traceId must be 16 bytes, got 0"},
        {"'traceId':'00000000000000000000000000000000','spanId':'0102030405060708'",
         "span 0: traceId is all zero"},
        {"'traceId':'0102030405060708090a0b0c0d0e0f10','spanId':'010203040506070809'",
         "span 0: spanId must be 8 bytes, got 9"},
        {"'traceId':'0102030405060708090a0b0c0d0e0f10','spanId':'0000000000000000'",
         "span 0: spanId is all zero"},
        {IDS ",'parentSpanId':'01020304'", "span 0: parentSpanId must be empty or 8 bytes, got 4"},
        {IDS ",'parentSpanId':'010203040506070g'", "span 0: parentSpanId is not a hex string"},
        {IDS ",'links':[{'traceId':'01','spanId':'0102030405060708'}]",
         "span 0: links.traceId must be 16 bytes, got 1"},
        {IDS ",'links':[{'traceId':'0102030405060708090a0b0c0d0e0f10'}]",
         "span 0: links.spanId must be 8 bytes, got 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        osp_span_batch b;
        osp_decode_report rep;
        osp_span_batch_init(&b);
        assert_int_equal(decode(one_span(cases[i].span), &b, &rep), 0);
        assert_int_equal(rep.rejected, 1);
        assert_int_equal(b.nspans, 0);
        assert_int_equal(b.nresources, 0);
        assert_int_equal(b.nscopes, 0);
        if (strcmp(rep.message, cases[i].message) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, rep.message, cases[i].message);
        osp_span_batch_cleanup(&b);
    }
}

/* Nested arrays: depth levels of arrayValue around an int. */
static const char *nested(int depth)
{
    static char buf[8192];
    size_t n = 0;
    for (int i = 1; i < depth; i++, n += strlen(buf + n))
        format(buf + n, sizeof buf - n, "{'arrayValue':{'values':[");
    format(buf + n, sizeof buf - n, "{'intValue':1}");
    n += strlen(buf + n);
    for (int i = 1; i < depth; i++, n += strlen(buf + n))
        format(buf + n, sizeof buf - n, "]}}");
    return buf;
}

static void test_value_depth(void **state)
{
    (void)state;
    char span[8192], doc[16384];
    osp_span_batch b;
    osp_decode_report rep;
    osp_span_batch_init(&b);
    /* An attribute value nested exactly to the limit is fine, one more level is not. */
    format(span, sizeof span, IDS ",'attributes':[{'key':'k','value':%s}]",
           nested(OSP_MAX_ANYVALUE_DEPTH));
    assert_int_equal(decode(one_span(span), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(b.nspans, 1);
    format(span, sizeof span, IDS ",'attributes':[{'key':'k','value':%s}]",
           nested(OSP_MAX_ANYVALUE_DEPTH + 1));
    assert_int_equal(decode(one_span(span), &b, &rep), 0);
    assert_int_equal(rep.rejected, 1);
    assert_int_equal(b.nspans, 1);
    assert_string_equal(rep.message, "span 0: attributes: value nested deeper than 32 levels");
    /* In an event's attributes, with kvlists. */
    format(span, sizeof span,
           IDS ",'events':[{'attributes':[{'key':'k','value':{'kvlistValue':{'values':[{'key':"
               "'x','value':%s}]}}}]}]",
           nested(OSP_MAX_ANYVALUE_DEPTH));
    assert_int_equal(decode(one_span(span), &b, &rep), 0);
    assert_int_equal(rep.rejected, 1);
    assert_string_equal(rep.message,
                        "span 0: events.attributes: value nested deeper than 32 levels");

    /* A bad resource rejects every span under it; the other resource is kept. */
    format(doc, sizeof doc,
           "{'resourceSpans':[{'resource':{'attributes':[{'key':'k','value':%s}]},"
           "'scopeSpans':[{'spans':[{" IDS "},{" IDS "}]},{'spans':[{" IDS "}]}]},"
           "{'scopeSpans':[{'spans':[{" IDS "}]}]}]}",
           nested(OSP_MAX_ANYVALUE_DEPTH + 1));
    osp_span_batch_reset(&b);
    assert_int_equal(decode(doc, &b, &rep), 0);
    assert_int_equal(rep.rejected, 3);
    assert_int_equal(b.nspans, 1);
    assert_int_equal(b.nresources, 1);
    assert_int_equal(b.nscopes, 1);
    assert_int_equal(b.spans[0].resource, 0);
    assert_int_equal(b.spans[0].scope, 0);
    assert_string_equal(rep.message,
                        "spans 0..2: resource: attributes: value nested deeper than 32 levels");

    /* Likewise a bad scope. */
    format(doc, sizeof doc,
           "{'resourceSpans':[{'scopeSpans':[{'spans':[{" IDS "}]},{'scope':{'attributes':"
           "[{'key':'k','value':%s}]},'spans':[{" IDS "},{'traceId':'1'}]}]}]}",
           nested(OSP_MAX_ANYVALUE_DEPTH + 1));
    osp_span_batch_reset(&b);
    assert_int_equal(decode(doc, &b, &rep), 0);
    assert_int_equal(rep.rejected, 2);
    assert_int_equal(b.nspans, 1);
    assert_int_equal(b.nscopes, 1);
    /* The span's own problem came first. */
    assert_string_equal(rep.message, "span 2: traceId is not a hex string");
    osp_span_batch_cleanup(&b);
}

static void test_undecodable(void **state)
{
    (void)state;
    static const struct {
        const char *doc, *message;
    } cases[] = {
        {"", "malformed JSON: unexpected end of input at offset 0"},
        {"{'resourceSpans':[}", "malformed JSON: expected a value at offset 18"},
        {"{'resourceSpans':[{'scopeSpans':[{'spans':[{'name':'a',}]}]}]}",
         "malformed JSON: expected a string key at offset 55"},
        {"{} x", "malformed JSON: unexpected data after the value at offset 3"},
        {"{'a':'\\ud800'}", "malformed JSON: unpaired surrogate \\uD800 at offset 6"},
        {"[]", "invalid OTLP/JSON: the body must be an object at offset 0"},
        {"{'resourceSpans':{}}", "invalid OTLP/JSON: resourceSpans must be an array at offset 17"},
        {"{'resourceSpans':[1]}",
         "invalid OTLP/JSON: resourceSpans must be an array of objects at offset 18"},
        {"{'resourceSpans':[],'resourceSpans':[]}",
         "invalid OTLP/JSON: duplicate member \"resourceSpans\" at offset 20"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        osp_span_batch b;
        osp_decode_report rep;
        osp_span_batch_init(&b);
        assert_int_equal(decode(cases[i].doc, &b, &rep), OSP_EPARSE);
        if (strcmp(rep.message, cases[i].message) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, rep.message, cases[i].message);
        osp_span_batch_cleanup(&b);
    }
}

static void test_wrong_types(void **state)
{
    (void)state;
    static const struct {
        const char *span, *message; /* message: up to " at offset" */
    } cases[] = {
        {IDS ",'kind':'SPAN_KIND_SERVER'", "kind must be an integer enum value"},
        {IDS ",'kind':2.5", "kind must be an integer enum value"},
        {IDS ",'kind':4294967296", "kind must be an integer enum value"},
        {IDS ",'status':{'code':'STATUS_CODE_ERROR'}", "code must be an integer enum value"},
        {IDS ",'status':[]", "status must be an object"},
        {IDS ",'name':5", "name must be a string"},
        {IDS ",'traceState':true", "traceState must be a string"},
        {"'traceId':1,'spanId':'0102030405060708'", "traceId must be a hex string"},
        {IDS ",'attributes':{}", "attributes must be an array"},
        {IDS ",'attributes':['k']", "attributes must be an array of objects"},
        {IDS ",'attributes':[{'key':1}]", "key must be a string"},
        {IDS ",'attributes':[{'key':'k','value':'v'}]", "value must be an object"},
        {IDS ",'droppedAttributesCount':-1", "droppedAttributesCount must be a uint32 integer"},
        {IDS ",'droppedEventsCount':4294967296", "droppedEventsCount must be a uint32 integer"},
        {IDS ",'flags':'x'", "flags must be a uint32 integer"},
        {IDS ",'startTimeUnixNano':'1.5'", "startTimeUnixNano must be a uint64 integer or string"},
        {IDS ",'endTimeUnixNano':-1", "endTimeUnixNano must be a uint64 integer or string"},
        {IDS ",'events':[{'timeUnixNano':true}]",
         "timeUnixNano must be a uint64 integer or string"},
        {IDS ",'events':{}", "events must be an array"},
        {IDS ",'links':[[]]", "links must be an array of objects"},
        {IDS ",'attributes':[{'key':'k','value':{'intValue':1.5}}]",
         "intValue must be an int64 integer or string"},
        {IDS ",'attributes':[{'key':'k','value':{'intValue':'9223372036854775808'}}]",
         "intValue must be an int64 integer or string"},
        {IDS ",'attributes':[{'key':'k','value':{'boolValue':'true'}}]",
         "boolValue must be true or false"},
        {IDS ",'attributes':[{'key':'k','value':{'stringValue':1}}]",
         "stringValue must be a string"},
        {IDS ",'attributes':[{'key':'k','value':{'doubleValue':'nan'}}]",
         "doubleValue must be a number, \"NaN\", \"Infinity\" or \"-Infinity\""},
        {IDS ",'attributes':[{'key':'k','value':{'doubleValue':true}}]",
         "doubleValue must be a number, \"NaN\", \"Infinity\" or \"-Infinity\""},
        {IDS ",'attributes':[{'key':'k','value':{'bytesValue':'@@@@'}}]",
         "bytesValue must be a base64 string"},
        {IDS ",'attributes':[{'key':'k','value':{'bytesValue':1}}]",
         "bytesValue must be a base64 string"},
        {IDS ",'attributes':[{'key':'k','value':{'arrayValue':[]}}]",
         "arrayValue must be an object"},
        {IDS ",'attributes':[{'key':'k','value':{'kvlistValue':{'values':{}}}}]",
         "values must be an array"},
        {IDS ",'attributes':[{'key':'k','value':{'arrayValue':{'values':[1]}}}]",
         "attributes must be an array of objects"},
        {IDS ",'attributes':[{'key':'k','value':{'stringValue':'a','intValue':1}}]",
         "AnyValue with more than one value"},
        {IDS ",'name':'a','name':'b'", "duplicate member \"name\""},
        {IDS ",'attributes':[{'key':'a','key':'b'}]", "duplicate member \"key\""},
        {IDS ",'links':[{'traceId':'0102030405060708090a0b0c0d0e0f10','flags':-2}]",
         "flags must be a uint32 integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        osp_span_batch b;
        osp_decode_report rep;
        char want[256];
        osp_span_batch_init(&b);
        assert_int_equal(decode(one_span(cases[i].span), &b, &rep), OSP_EPARSE);
        format(want, sizeof want, "invalid OTLP/JSON: %s at offset ", cases[i].message);
        if (strncmp(rep.message, want, strlen(want)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, rep.message, want);
        assert_int_equal(b.nspans, 0);
        osp_span_batch_cleanup(&b);
    }
    /* The offset points at the offending value. */
    osp_span_batch b;
    osp_decode_report rep;
    osp_span_batch_init(&b);
    assert_int_equal(decode(one_span(IDS ",'kind':'x'"), &b, &rep), OSP_EPARSE);
    assert_string_equal(rep.message,
                        "invalid OTLP/JSON: kind must be an integer enum value at offset 124");
    assert_memory_equal(q(one_span(IDS ",'kind':'x'")).p + 124, "\"x\"", 3);
    osp_span_batch_cleanup(&b);
}

static void test_nulls_and_unknowns(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_decode_report rep;
    osp_span_batch_init(&b);
    assert_int_equal(decode("{'resourceSpans':null}", &b, &rep), 0);
    assert_int_equal(decode("{'resourceSpans':[null,{'scopeSpans':null},{'scopeSpans':[null,"
                            "{'spans':[null]}]}]}",
                            &b, &rep),
                     0);
    assert_int_equal(decode("{'resourceSpanz':[1,2,{}],'x':{'y':[null,{'z':'\\n'}]}}", &b, &rep),
                     0);
    assert_int_equal(b.nspans, 0);
    assert_int_equal(b.nresources, 0);
    assert_int_equal(b.nscopes, 0);
    /* the proto field names are accepted beside the JSON ones (the proto3 JSON mapping);
     * both spellings of one member are a duplicate */
    assert_int_equal(decode("{'resource_spans':[{'scope_spans':[{'spans':[{'trace_id':"
                            "'0102030405060708090a0b0c0d0e0f10','span_id':'0102030405060708',"
                            "'start_time_unix_nano':'5'}]}]}]}",
                            &b, &rep),
                     0);
    assert_int_equal(b.nspans, 1);
    assert_int_equal(b.spans[0].start_ns, 5);
    assert_int_equal(decode("{'resourceSpans':[],'resource_spans':[]}", &b, &rep), OSP_EPARSE);
    assert_string_equal(rep.message,
                        "invalid OTLP/JSON: duplicate member \"resourceSpans\" at offset 20");
    osp_span_batch_reset(&b);
    /* Every member null: a span that only lacks its ids. */
    assert_int_equal(
        decode(one_span("'traceId':null,'spanId':null,'traceState':null,'parentSpanId':null,"
                        "'flags':null,'name':null,'kind':null,'startTimeUnixNano':null,"
                        "'endTimeUnixNano':null,'attributes':null,'droppedAttributesCount':null,"
                        "'events':[null],'droppedEventsCount':null,'links':null,"
                        "'droppedLinksCount':null,'status':null"),
               &b, &rep),
        0);
    assert_int_equal(rep.rejected, 1);
    assert_string_equal(rep.message, "span 0: traceId must be 16 bytes, got 0");
    osp_span_batch_cleanup(&b);
}

/* kvlists nested depth levels deep, each KeyValue with its value first or its key first. */
static const char *nested_kv(int depth, int value_first)
{
    static char buf[8192];
    size_t n = 0;
    for (int i = 1; i < depth; i++, n += strlen(buf + n))
        format(buf + n, sizeof buf - n,
               value_first ? "{'kvlistValue':{'values':[{'value':"
                           : "{'kvlistValue':{'values':[{'key':'k%d','value':",
               i);
    format(buf + n, sizeof buf - n, "{'stringValue':'leaf'}");
    n += strlen(buf + n);
    for (int i = depth - 1; i >= 1; i--, n += strlen(buf + n))
        format(buf + n, sizeof buf - n, value_first ? ",'key':'k%d'}]}}" : "}]}}", i);
    return buf;
}

static void test_value_before_key(void **state)
{
    (void)state;
    char span[8192];
    osp_span_batch a, b;
    osp_decode_report rep;
    osp_span_batch_init(&a);
    osp_span_batch_init(&b);
    /* As deep as values may nest: wrapping stays linear, the rows are the same. */
    format(span, sizeof span, IDS ",'attributes':[{'value':%s,'key':'top'}]",
           nested_kv(OSP_MAX_ANYVALUE_DEPTH, 1));
    assert_int_equal(decode(one_span(span), &a, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    format(span, sizeof span, IDS ",'attributes':[{'key':'top','value':%s}]",
           nested_kv(OSP_MAX_ANYVALUE_DEPTH, 0));
    assert_int_equal(decode(one_span(span), &b, &rep), 0);
    assert_int_equal(a.nspans, 1);
    assert_int_equal(b.nspans, 1);
    assert_true(osp_span_equal(&a, 0, &b, 0));
    /* The deepest place values sit, an event's attributes, fits the JSON depth limit. */
    format(span, sizeof span, IDS ",'events':[{'attributes':[{'key':'top','value':%s}]}]",
           nested_kv(OSP_MAX_ANYVALUE_DEPTH, 0));
    assert_int_equal(decode(one_span(span), &b, &rep), 0);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(b.nspans, 2);
    osp_value v = attr(a.spans[0].attributes, "top");
    assert_true(v.type == OSP_VAL_KVLIST);
    v = attr(v.s, "k1");
    assert_true(v.type == OSP_VAL_KVLIST);
    osp_span_batch_cleanup(&a);
    osp_span_batch_cleanup(&b);
}

static void test_appends_to_batch_and_restores_on_error(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_decode_report rep;
    osp_span_batch_init(&b);
    assert_int_equal(decode(full_doc, &b, &rep), 0);
    assert_int_equal(decode("{'resourceSpans':[{'resource':{'attributes':[{'key':"
                            "'service.name','value':{'stringValue':'second'}}]},'scopeSpans':"
                            "[{'spans':[{" IDS "}]}]}]}",
                            &b, &rep),
                     0);
    assert_int_equal(b.nspans, 4);
    assert_str(b.resources[b.spans[3].resource].service_name, "second");
    assert_str(b.resources[b.spans[0].resource].service_name, "checkout");
    /* A body that fails half way leaves the batch as it was. */
    assert_int_equal(decode("{'resourceSpans':[{'scopeSpans':[{'spans':[{" IDS "},{" IDS
                            ",'kind':'x'}]}]}]}",
                            &b, &rep),
                     OSP_EPARSE);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(b.nspans, 4);
    assert_int_equal(b.nresources, 3);
    assert_int_equal(b.nscopes, 3);
    osp_span_batch_cleanup(&b);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_decode_report rep;
    osp_buf out;
    int rc = OSP_ENOMEM;
    /* Fail each allocation in turn until decoding succeeds. */
    for (unsigned long n = 1; rc == OSP_ENOMEM; n++) {
        osp_span_batch_init(&b);
        osp_mem_fail_after(n);
        rc = decode(full_doc, &b, &rep);
        osp_mem_fail_after(0);
        assert_true(rc == 0 || rc == OSP_ENOMEM);
        if (rc)
            assert_int_equal(b.nspans, 0);
        if (rc == 0)
            break;
        osp_span_batch_cleanup(&b);
    }
    assert_int_equal(b.nspans, 3);
    /* Likewise for encoding; a failed encode leaves out as it was. */
    osp_buf_init(&out, 0);
    assert_int_equal(osp_buf_puts(&out, "x"), 0);
    rc = OSP_ENOMEM;
    for (unsigned long n = 1; rc == OSP_ENOMEM; n++) {
        osp_mem_fail_after(n);
        rc = osp_otlp_traces_encode_json(&b, &out);
        osp_mem_fail_after(0);
        assert_true(rc == 0 || (rc == OSP_ENOMEM && out.len == 1));
    }
    osp_buf_cleanup(&out);
    /* An output cap is reported, not overrun. */
    osp_buf_init(&out, 100);
    assert_int_equal(osp_otlp_traces_encode_json(&b, &out), OSP_ETOOBIG);
    assert_int_equal(out.len, 0);
    osp_buf_cleanup(&out);
    osp_span_batch_cleanup(&b);
}

static void test_encode_corrupt_rows(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_decode_report rep;
    osp_buf out;
    osp_span_batch_init(&b);
    osp_buf_init(&out, 0);
    assert_int_equal(
        decode(one_span(IDS ",'attributes':[{'key':'k','value':{'intValue':1}}]"), &b, &rep), 0);
    b.spans[0].attributes.n--; /* truncated blob */
    assert_int_equal(osp_otlp_traces_encode_json(&b, &out), OSP_ECORRUPT);
    assert_int_equal(out.len, 0);
    b.spans[0].attributes.n++;
    b.spans[0].resource = 7; /* no such resource row */
    assert_int_equal(osp_otlp_traces_encode_json(&b, &out), OSP_EINVAL);
    osp_buf_cleanup(&out);
    osp_span_batch_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_every_field),
        cmocka_unit_test(test_json_matches_protobuf),
        cmocka_unit_test(test_same_rows_as_handmade_protobuf),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_encode_shape),
        cmocka_unit_test(test_encode_groups_by_content),
        cmocka_unit_test(test_rejected_spans),
        cmocka_unit_test(test_value_depth),
        cmocka_unit_test(test_value_before_key),
        cmocka_unit_test(test_undecodable),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_nulls_and_unknowns),
        cmocka_unit_test(test_appends_to_batch_and_restores_on_error),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_encode_corrupt_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
