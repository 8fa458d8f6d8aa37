/* Unit tests for the write-ahead-log row codec (src/store/embedded/rowcodec.c). */
#include "testutil.h"

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "model/span.h"
#include "store/embedded/rowcodec.h"

/* Two resources, two scopes, three spans with every field set, including odd values
 * (end before start, negative kind, large counters). */
static void make_batch(osp_span_batch *b)
{
    osp_span_batch_init(b);
    for (int i = 0; i < 2; i++) {
        osp_resource *r = osp_span_batch_add_resource(b);
        r->attributes = i ? OSP_STR_LIT("\x0a\x03k=v") : OSP_STR_NULL;
        r->dropped_attributes = 7u + (uint32_t)i;
        r->entity_refs = OSP_STR_LIT("\x0a\x02\x12\x00");
        r->schema_url = OSP_STR_LIT("https://opentelemetry.io/schemas/1.26.0");
        r->service_name = i ? OSP_STR_LIT("checkout") : OSP_STR_LIT("gateway");
        osp_scope *s = osp_span_batch_add_scope(b);
        s->name = OSP_STR_LIT("io.opentelemetry.http");
        s->version = i ? OSP_STR_LIT("1.2.3") : OSP_STR_NULL;
        s->attributes = OSP_STR_LIT("\x0a\x00");
        s->dropped_attributes = UINT32_MAX;
        s->schema_url = OSP_STR_LIT("scope-schema");
    }
    for (int i = 0; i < 3; i++) {
        osp_span *s = osp_span_batch_add_span(b);
        memset(s->trace_id, 0xA0 + i, 16);
        memset(s->span_id, 0xB0 + i, 8);
        if (i)
            memset(s->parent_span_id, 0xB0, 8);
        s->start_ns = 1700000000000000000ull + (uint64_t)i;
        s->end_ns = i == 2 ? s->start_ns - 5 : s->start_ns + 123456789;
        s->flags = 0x301;
        s->kind = i == 1 ? -3 : OSP_SPAN_KIND_SERVER;
        s->status_code = i == 2 ? 99 : OSP_STATUS_ERROR;
        s->dropped_attributes = 1;
        s->dropped_events = 2;
        s->dropped_links = UINT32_MAX;
        s->name = OSP_STR_LIT("GET /api/chat");
        s->trace_state = OSP_STR_LIT("vendor=x");
        s->status_message = i ? OSP_STR_NULL : OSP_STR_LIT("boom \xe2\x9c\x93");
        s->attributes = OSP_STR_LIT("\x0a\x05\x0a\x01k\x12\x00");
        s->events = OSP_STR_LIT("\x0a\x02\x12\x00");
        s->links = i == 1 ? OSP_STR_NULL : OSP_STR_LIT("\x0a\x00");
        s->resource = (uint32_t)(i % 2);
        s->scope = (uint32_t)(i == 0);
    }
}

static void encode(const osp_span_batch *b, osp_buf *out)
{
    osp_buf_init(out, 0);
    assert_int_equal(osp_rowcodec_encode(b, out), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    osp_span_batch b, d;
    osp_buf enc;
    make_batch(&b);
    encode(&b, &enc);
    osp_span_batch_init(&d);
    assert_int_equal(osp_rowcodec_decode(osp_buf_str(&enc), &d), 0);
    assert_int_equal(d.nresources, 2);
    assert_int_equal(d.nscopes, 2);
    assert_int_equal(d.nspans, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(osp_span_equal(&b, i, &d, i));
        assert_int_equal(d.spans[i].resource, b.spans[i].resource);
        assert_int_equal(d.spans[i].scope, b.spans[i].scope);
    }
    assert_true(d.spans[2].end_ns < d.spans[2].start_ns);
    assert_int_equal(d.spans[1].kind, -3);
    /* Zero-copy: slices point into the encoding. */
    assert_true(d.spans[0].name.p >= enc.data && d.spans[0].name.p < enc.data + enc.len);
    osp_span_batch_cleanup(&d);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&enc);
}

static void test_decode_appends_and_renumbers(void **state)
{
    (void)state;
    osp_span_batch b, d;
    osp_buf enc;
    make_batch(&b);
    encode(&b, &enc);
    osp_span_batch_init(&d);
    assert_int_equal(osp_rowcodec_decode(osp_buf_str(&enc), &d), 0);
    assert_int_equal(osp_rowcodec_decode(osp_buf_str(&enc), &d), 0);
    assert_int_equal(d.nspans, 6);
    assert_int_equal(d.nresources, 4);
    for (size_t i = 0; i < 3; i++) {
        assert_true(osp_span_equal(&b, i, &d, i + 3));
        assert_int_equal(d.spans[i + 3].resource, b.spans[i].resource + 2);
        assert_int_equal(d.spans[i + 3].scope, b.spans[i].scope + 2);
    }
    osp_span_batch_cleanup(&d);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&enc);
}

static void test_empty_batch(void **state)
{
    (void)state;
    osp_span_batch b, d;
    osp_buf enc;
    osp_span_batch_init(&b);
    encode(&b, &enc);
    assert_int_equal(enc.len, 4);
    osp_span_batch_init(&d);
    assert_int_equal(osp_rowcodec_decode(osp_buf_str(&enc), &d), 0);
    assert_int_equal(d.nspans, 0);
    osp_buf_cleanup(&enc);
    osp_span_batch_cleanup(&b);
    osp_span_batch_cleanup(&d);
}

/* Every strict prefix is rejected and leaves the batch as it was. */
static void test_truncated(void **state)
{
    (void)state;
    osp_span_batch b, d;
    osp_buf enc;
    make_batch(&b);
    encode(&b, &enc);
    osp_span_batch_init(&d);
    assert_int_equal(osp_rowcodec_decode(osp_buf_str(&enc), &d), 0);
    for (size_t n = 0; n < enc.len; n++) {
        assert_int_equal(osp_rowcodec_decode(osp_str_make(enc.data, n), &d), OSP_ECORRUPT);
        assert_int_equal(d.nspans, 3);
        assert_int_equal(d.nresources, 2);
        assert_int_equal(d.nscopes, 2);
    }
    osp_span_batch_cleanup(&d);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&enc);
}

static void expect_corrupt(const char *p, size_t n)
{
    osp_span_batch d;
    osp_span_batch_init(&d);
    assert_int_equal(osp_rowcodec_decode(osp_str_make(p, n), &d), OSP_ECORRUPT);
    assert_int_equal(d.nspans, 0);
    assert_int_equal(d.nresources, 0);
    osp_span_batch_cleanup(&d);
}

static void test_bad_bytes(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_buf enc;
    make_batch(&b);
    encode(&b, &enc);

    /* Trailing garbage. */
    assert_int_equal(osp_buf_putc(&enc, 0), 0);
    expect_corrupt(enc.data, enc.len);
    enc.len--;
    /* Unknown version. */
    enc.data[0] = 2;
    expect_corrupt(enc.data, enc.len);
    enc.data[0] = 1;
    /* The last span's scope index (final byte) out of range. */
    enc.data[enc.len - 1] = 2;
    expect_corrupt(enc.data, enc.len);
    /* Huge counts and lengths. */
    expect_corrupt("\x01\xff\xff\xff\xff\x7f", 6);
    expect_corrupt("\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
    expect_corrupt("\x01\x00\x00\xff\xff\xff\xff\x0f", 8);
    /* A varint longer than 10 bytes. */
    expect_corrupt("\x01\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 12);
    /* dropped_attributes past uint32. */
    expect_corrupt("\x01\x01\x00\x80\x80\x80\x80\x10\x00\x00\x00\x00\x00", 13);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&enc);
}

static void test_encode_cap(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_buf enc;
    make_batch(&b);
    osp_buf_init(&enc, 32);
    assert_int_equal(osp_rowcodec_encode(&b, &enc), OSP_ETOOBIG);
    osp_buf_cleanup(&enc);
    osp_span_batch_cleanup(&b);
}

static void test_decode_nomem(void **state)
{
    (void)state;
    osp_span_batch b, d;
    osp_buf enc;
    make_batch(&b);
    encode(&b, &enc);
    osp_span_batch_init(&d);
    osp_mem_fail_after(1);
    assert_int_equal(osp_rowcodec_decode(osp_buf_str(&enc), &d), OSP_ENOMEM);
    osp_mem_fail_after(0);
    assert_int_equal(d.nspans + d.nresources + d.nscopes, 0);
    osp_span_batch_cleanup(&d);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_decode_appends_and_renumbers),
        cmocka_unit_test(test_empty_batch),  cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_bytes),    cmocka_unit_test(test_encode_cap),
        cmocka_unit_test(test_decode_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
