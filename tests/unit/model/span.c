/* Unit tests for model/span: batch growth, deep copy with de-duplication, equality, and
 * the events, links and entity-ref blobs. */
#include "testutil.h"

#include "core/err.h"
#include "core/mem.h"
#include "model/attr.h"
#include "model/span.h"

#define BYTES(b, lit) assert_bytes((b), (const uint8_t *)(lit), sizeof(lit) - 1)

static void assert_bytes(const osp_buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->len, n);
    if (n)
        assert_memory_equal(b->data, want, n);
}

static void test_batch_growth(void **state)
{
    (void)state;
    osp_span_batch b;
    osp_span_batch_init(&b);
    for (uint32_t i = 0; i < 100; i++) {
        osp_span *s = osp_span_batch_add_span(&b);
        assert_non_null(s);
        assert_int_equal(s->start_ns, 0); /* zeroed */
        s->start_ns = i;
    }
    for (int i = 0; i < 40; i++)
        assert_non_null(osp_span_batch_add_resource(&b));
    for (int i = 0; i < 20; i++)
        assert_non_null(osp_span_batch_add_scope(&b));
    assert_int_equal(b.nspans, 100);
    assert_int_equal(b.spans_cap, 128);
    assert_int_equal(b.nresources, 40);
    assert_int_equal(b.nscopes, 20);
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal(b.spans[i].start_ns, i);
    osp_span_batch_reset(&b);
    assert_int_equal(b.nspans, 0);
    assert_int_equal(b.nresources, 0);
    assert_non_null(osp_span_batch_add_span(&b));
    osp_span_batch_cleanup(&b);

    osp_span_batch_init(&b);
    osp_mem_fail_after(1);
    assert_null(osp_span_batch_add_span(&b));
    assert_int_equal(b.nspans, 0);
    osp_span_batch_cleanup(&b);
}

static void test_events_blob(void **state)
{
    (void)state;
    osp_buf blob, attrs;
    osp_buf_init(&blob, 0);
    osp_buf_init(&attrs, 0);
    osp_event only_name = {.name = OSP_STR_LIT("x")};
    assert_int_equal(osp_events_append(&blob, &only_name), 0);
    BYTES(&blob, "\x0a\x03\x12\x01x"); /* defaults omitted */
    osp_event none = {0};
    assert_int_equal(osp_events_append(&blob, &none), 0);
    BYTES(&blob, "\x0a\x03\x12\x01x\x0a\x00");

    osp_value v = {.type = OSP_VAL_STRING, .s = OSP_STR_LIT("boom")};
    assert_int_equal(osp_attr_append(&attrs, OSP_STR_LIT("exception.message"), &v), 0);
    osp_event full = {.time_ns = 1700000000123456789ull,
                      .name = OSP_STR_LIT("exception"),
                      .attributes = osp_buf_str(&attrs),
                      .dropped_attributes = 7};
    assert_int_equal(osp_events_append(&blob, &full), 0);
    assert_int_equal(osp_events_count(osp_buf_str(&blob)), 3);

    osp_blob_iter it;
    osp_event ev;
    osp_blob_iter_init(&it, osp_buf_str(&blob));
    assert_int_equal(osp_events_next(&it, &ev), 1);
    assert_true(osp_str_eqz(ev.name, "x"));
    assert_int_equal(ev.time_ns, 0);
    assert_int_equal(osp_events_next(&it, &ev), 1);
    assert_int_equal(ev.name.n, 0);
    assert_int_equal(osp_events_next(&it, &ev), 1);
    assert_int_equal(ev.time_ns, full.time_ns);
    assert_true(osp_str_eqz(ev.name, "exception"));
    assert_true(osp_str_eq(ev.attributes, osp_buf_str(&attrs)));
    assert_int_equal(ev.dropped_attributes, 7);
    assert_int_equal(osp_events_next(&it, &ev), 0);

    /* corrupt: wrong wire type for time, unknown field, truncated record */
    osp_blob_iter_init(&it, OSP_STR_LIT("\x0a\x02\x08\x01"));
    assert_int_equal(osp_events_next(&it, &ev), OSP_ECORRUPT);
    osp_blob_iter_init(&it, OSP_STR_LIT("\x0a\x02\x28\x01"));
    assert_int_equal(osp_events_next(&it, &ev), OSP_ECORRUPT);
    assert_int_equal(osp_events_count(OSP_STR_LIT("\x0a\x03\x12\x01")), 0);
    assert_int_equal(osp_events_count(OSP_STR_NULL), 0);
    osp_buf_cleanup(&blob);
    osp_buf_cleanup(&attrs);
}

static void test_links_blob(void **state)
{
    (void)state;
    osp_buf blob;
    osp_buf_init(&blob, 0);
    osp_link ln = {.trace_state = OSP_STR_LIT("a=b"),
                   .attributes = OSP_STR_LIT("\x0a\x04\x0a\x00\x12\x00"),
                   .dropped_attributes = 2,
                   .flags = 0x301};
    memset(ln.trace_id, 0xab, 16);
    memset(ln.span_id, 0xcd, 8);
    assert_int_equal(osp_links_append(&blob, &ln), 0);
    osp_link zero = {0};
    assert_int_equal(osp_links_append(&blob, &zero), 0);
    /* the second record: ids always written, everything else omitted */
    const uint8_t *second = (const uint8_t *)blob.data + blob.len - 30;
    assert_memory_equal(
        second, "\x0a\x1c\x0a\x10\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x12\x08\0\0\0\0\0\0\0\0", 30);
    assert_int_equal(osp_links_count(osp_buf_str(&blob)), 2);

    osp_blob_iter it;
    osp_link got;
    osp_blob_iter_init(&it, osp_buf_str(&blob));
    assert_int_equal(osp_links_next(&it, &got), 1);
    assert_memory_equal(got.trace_id, ln.trace_id, 16);
    assert_memory_equal(got.span_id, ln.span_id, 8);
    assert_true(osp_str_eqz(got.trace_state, "a=b"));
    assert_true(osp_str_eq(got.attributes, ln.attributes));
    assert_int_equal(got.dropped_attributes, 2);
    assert_int_equal(got.flags, 0x301);
    assert_int_equal(osp_links_next(&it, &got), 1);
    assert_int_equal(got.flags, 0);
    assert_int_equal(osp_links_next(&it, &got), 0);

    /* a trace id of the wrong length is corrupt */
    osp_blob_iter_init(&it, OSP_STR_LIT("\x0a\x03\x0a\x01\x01"));
    assert_int_equal(osp_links_next(&it, &got), OSP_ECORRUPT);
    osp_blob_iter_init(&it, OSP_STR_LIT("\x0a\x02\x30\x01")); /* flags as varint */
    assert_int_equal(osp_links_next(&it, &got), OSP_ECORRUPT);
    osp_buf_cleanup(&blob);
}

static void test_entity_refs_blob(void **state)
{
    (void)state;
    osp_buf blob;
    osp_buf_init(&blob, 0);
    size_t mark;
    assert_int_equal(osp_entity_ref_begin(&blob, OSP_STR_LIT("u"), OSP_STR_LIT("service"), &mark),
                     0);
    assert_int_equal(osp_entity_ref_add_key(&blob, 0, OSP_STR_LIT("service.name")), 0);
    assert_int_equal(osp_entity_ref_add_key(&blob, 0, OSP_STR_LIT("")), 0);
    assert_int_equal(osp_entity_ref_add_key(&blob, 1, OSP_STR_LIT("host")), 0);
    assert_int_equal(osp_entity_ref_end(&blob, mark), 0);
    assert_int_equal(osp_entity_ref_begin(&blob, OSP_STR_NULL, OSP_STR_NULL, &mark), 0);
    assert_int_equal(osp_entity_ref_end(&blob, mark), 0);

    osp_blob_iter it, keys;
    osp_entity_ref er;
    osp_str key;
    int desc;
    osp_blob_iter_init(&it, osp_buf_str(&blob));
    assert_int_equal(osp_entity_refs_next(&it, &er), 1);
    assert_true(osp_str_eqz(er.schema_url, "u"));
    assert_true(osp_str_eqz(er.type, "service"));
    osp_blob_iter_init(&keys, er.keys);
    assert_int_equal(osp_entity_ref_next_key(&keys, &key, &desc), 1);
    assert_true(osp_str_eqz(key, "service.name") && desc == 0);
    assert_int_equal(osp_entity_ref_next_key(&keys, &key, &desc), 1);
    assert_true(key.n == 0 && desc == 0);
    assert_int_equal(osp_entity_ref_next_key(&keys, &key, &desc), 1);
    assert_true(osp_str_eqz(key, "host") && desc == 1);
    assert_int_equal(osp_entity_ref_next_key(&keys, &key, &desc), 0);
    assert_int_equal(osp_entity_refs_next(&it, &er), 1);
    assert_int_equal(er.schema_url.n + er.type.n + er.keys.n, 0);
    assert_int_equal(osp_entity_refs_next(&it, &er), 0);

    /* type after a key is not canonical */
    osp_blob_iter_init(&it, OSP_STR_LIT("\x0a\x06\x1a\x01k\x12\x01t"));
    assert_int_equal(osp_entity_refs_next(&it, &er), OSP_ECORRUPT);
    osp_blob_iter_init(&keys, OSP_STR_LIT("\x0a\x01k"));
    assert_int_equal(osp_entity_ref_next_key(&keys, &key, &desc), OSP_ECORRUPT);
    osp_buf_cleanup(&blob);
}

static const char source_text[] = "svc-a svc-b lib 1.0 GET /a trace=1 message attrs";

/* Fills a source batch: spans 0 and 1 share resource 0 / scope 0, span 2 has others. The
 * slices point into `text`, a copy of source_text the test may overwrite. */
static void fill_source(osp_span_batch *src, char *text)
{
    osp_span_batch_init(src);
    for (int i = 0; i < 2; i++) {
        osp_resource *r = osp_span_batch_add_resource(src);
        r->service_name = osp_str_make(text + 6 * i, 5);
        r->attributes = osp_str_make(text + 43, 5);
        r->schema_url = osp_str_make(text, 11);
        r->dropped_attributes = (uint32_t)i;
        osp_scope *s = osp_span_batch_add_scope(src);
        s->name = osp_str_make(text + 12, 3);
        s->version = osp_str_make(text + 16, 3 - 2 * (size_t)i);
    }
    for (int i = 0; i < 3; i++) {
        osp_span *s = osp_span_batch_add_span(src);
        memset(s->trace_id, 1, 16);
        memset(s->span_id, i + 1, 8);
        s->name = osp_str_make(text + 20, 6);
        s->trace_state = osp_str_make(text + 27, 7);
        s->status_message = osp_str_make(text + 35, 7);
        s->attributes = osp_str_make(text + 43, 5);
        s->start_ns = 10;
        s->end_ns = 20 + (uint64_t)i;
        s->resource = s->scope = i == 2;
    }
}

static void test_copy_dedup_and_equal(void **state)
{
    (void)state;
    char text[sizeof source_text];
    memcpy(text, source_text, sizeof text);
    osp_span_batch src, dst;
    fill_source(&src, text);
    osp_span_batch_init(&dst);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(osp_span_batch_copy_span(&dst, &src, i), 0);
    assert_int_equal(dst.nspans, 3);
    assert_int_equal(dst.nresources, 2); /* spans 0 and 1 share the first */
    assert_int_equal(dst.nscopes, 2);
    assert_int_equal(dst.spans[1].resource, 0);
    assert_int_equal(dst.spans[2].resource, 1);
    assert_int_equal(dst.spans[2].scope, 1);
    for (size_t i = 0; i < 3; i++)
        assert_true(osp_span_equal(&src, i, &dst, i));
    assert_false(osp_span_equal(&src, 0, &dst, 2));

    /* deep copies: the rows survive the source's bytes changing */
    memset(text, '#', sizeof text - 1);
    assert_false(osp_span_equal(&src, 0, &dst, 0));
    assert_true(osp_str_eqz(dst.spans[0].name, "GET /a"));
    assert_true(osp_str_eqz(dst.spans[2].status_message, "message"));
    assert_true(osp_str_eqz(dst.resources[1].service_name, "svc-b"));
    assert_true(osp_str_eqz(dst.scopes[1].version, "1"));
    assert_true(osp_str_eqz(dst.scopes[0].name, "lib"));
    memcpy(text, source_text, sizeof text);

    /* every compared field matters */
    osp_span saved = src.spans[0];
    src.spans[0].end_ns++;
    assert_false(osp_span_equal(&src, 0, &dst, 0));
    src.spans[0] = saved;
    src.spans[0].parent_span_id[7] = 1;
    assert_false(osp_span_equal(&src, 0, &dst, 0));
    src.spans[0] = saved;
    src.spans[0].trace_state.n--;
    assert_false(osp_span_equal(&src, 0, &dst, 0));
    src.spans[0] = saved;
    src.spans[0].dropped_links = 1;
    assert_false(osp_span_equal(&src, 0, &dst, 0));
    src.spans[0] = saved;
    src.spans[0].kind = 3;
    assert_false(osp_span_equal(&src, 0, &dst, 0));
    src.spans[0] = saved;
    assert_true(osp_span_equal(&src, 0, &dst, 0));
    src.resources[0].dropped_attributes = 9;
    assert_false(osp_span_equal(&src, 0, &dst, 0));
    src.resources[0].dropped_attributes = 0;
    src.scopes[0].version.n = 0;
    assert_false(osp_span_equal(&src, 0, &dst, 0));
    assert_false(osp_scope_equal(&src.scopes[0], &dst.scopes[0]));
    assert_true(osp_resource_equal(&src.resources[0], &dst.resources[0]));
    osp_span_batch_cleanup(&src);
    osp_span_batch_cleanup(&dst);
}

/* Each allocation of a copy into an empty batch fails in turn: the batch stays empty. */
static void test_copy_out_of_memory(void **state)
{
    (void)state;
    char text[sizeof source_text];
    memcpy(text, source_text, sizeof text);
    osp_span_batch src, dst;
    fill_source(&src, text);
    /* arena chunk, resources array, scopes array, spans array */
    for (unsigned long n = 1; n <= 4; n++) {
        osp_span_batch_init(&dst);
        osp_mem_fail_after(n);
        assert_int_equal(osp_span_batch_copy_span(&dst, &src, 2), OSP_ENOMEM);
        osp_mem_fail_after(0);
        assert_int_equal(dst.nspans, 0);
        assert_int_equal(dst.nresources, 0);
        assert_int_equal(dst.nscopes, 0);
        assert_int_equal(osp_span_batch_copy_span(&dst, &src, 2), 0);
        assert_true(osp_span_equal(&src, 2, &dst, 0));
        osp_span_batch_cleanup(&dst);
    }
    osp_span_batch_cleanup(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_growth),         cmocka_unit_test(test_events_blob),
        cmocka_unit_test(test_links_blob),           cmocka_unit_test(test_entity_refs_blob),
        cmocka_unit_test(test_copy_dedup_and_equal), cmocka_unit_test(test_copy_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
