/* Tests for src/store/logs/logcodec.c: the log store's WAL payload round-trips every
 * field and refuses corrupt bytes without reading past them. */
#include "testutil.h"

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "model/log.h"
#include "store/embedded/rowcodec.h"
#include "store/logs/logcodec.h"

#include "loggen.h"

/* A batch using every field, odd values included. */
static void make_batch(osp_log_batch *b)
{
    osp_log_batch_init(b);
    lg_generate(b, 40, LG_DAY0, 7);
    osp_resource *r = osp_log_batch_add_resource(b);
    r->dropped_attributes = 5;
    r->schema_url = osp_str_c("https://opentelemetry.io/schemas/1.26.0");
    r->entity_refs = osp_str_make("\x0a\x01x", 3);
    osp_scope *sc = osp_log_batch_add_scope(b);
    sc->dropped_attributes = 2;
    sc->schema_url = osp_str_c("scope-schema");
    osp_log_record *rec = lg_record(b, (uint32_t)b->nresources - 1, 0, "");
    rec->observed_ns = UINT64_MAX;
    rec->scope = (uint32_t)b->nscopes - 1;
    rec->severity_number = INT32_MIN;
    rec->flags = UINT32_MAX;
    rec->dropped_attributes = 77;
    rec->has_body = 0;
    rec->body = OSP_STR_NULL;
    rec->event_name = osp_str_c("session.start");
    rec->attributes = b->resources[0].attributes;
    rec->labels_from = 1;
    rec = lg_record(b, 0, UINT64_MAX, "last");
    rec->severity_number = INT32_MAX;
}

static void assert_same(const osp_log_batch *a, const osp_log_batch *b, size_t b_from)
{
    assert_int_equal(b->nrecords - b_from, a->nrecords);
    for (size_t i = 0; i < a->nrecords; i++)
        assert_true(osp_log_record_equal(a, i, b, b_from + i));
}

static void test_roundtrip(void **state)
{
    osp_log_batch in, out;
    osp_buf enc;
    make_batch(&in);
    osp_log_batch_init(&out);
    osp_buf_init(&enc, 0);
    assert_int_equal(osp_logcodec_encode(&in, &enc), 0);
    assert_int_equal(osp_logcodec_decode(osp_buf_str(&enc), &out), 0);
    assert_same(&in, &out, 0);
    /* A second decode appends, renumbering resources and scopes past the first. */
    assert_int_equal(osp_logcodec_decode(osp_buf_str(&enc), &out), 0);
    assert_int_equal(out.nresources, 2 * in.nresources);
    assert_int_equal(out.nscopes, 2 * in.nscopes);
    assert_same(&in, &out, in.nrecords);
    /* Zero-copy: slices point into the encoding. */
    assert_true(out.records[0].body.p >= enc.data && out.records[0].body.p < enc.data + enc.len);
    osp_buf_cleanup(&enc);
    osp_log_batch_cleanup(&in);
    osp_log_batch_cleanup(&out);
}

static void test_empty_batch(void **state)
{
    osp_log_batch in, out;
    osp_buf enc;
    osp_log_batch_init(&in);
    osp_log_batch_init(&out);
    osp_buf_init(&enc, 0);
    assert_int_equal(osp_logcodec_encode(&in, &enc), 0);
    assert_int_equal(osp_logcodec_decode(osp_buf_str(&enc), &out), 0);
    assert_int_equal(out.nrecords, 0);
    osp_buf_cleanup(&enc);
}

static void test_encode_rejects_bad_index(void **state)
{
    osp_log_batch in;
    osp_buf enc;
    make_batch(&in);
    osp_buf_init(&enc, 0);
    in.records[3].scope = (uint32_t)in.nscopes;
    assert_int_equal(osp_logcodec_encode(&in, &enc), OSP_EINVAL);
    osp_buf_cleanup(&enc);
    osp_log_batch_cleanup(&in);
}

/* Decodes bytes that must be refused, checking out keeps what it held. */
static void assert_corrupt(osp_str bytes, osp_log_batch *out)
{
    size_t nrec = out->nrecords, nres = out->nresources, nsc = out->nscopes;
    char *copy = osp_malloc(bytes.n ? bytes.n : 1); /* exact size: ASan catches overreads */
    memcpy(copy, bytes.p, bytes.n);
    assert_int_equal(osp_logcodec_decode(osp_str_make(copy, bytes.n), out), OSP_ECORRUPT);
    assert_int_equal(out->nrecords, nrec);
    assert_int_equal(out->nresources, nres);
    assert_int_equal(out->nscopes, nsc);
    osp_free(copy);
}

static void test_corrupt_inputs(void **state)
{
    osp_log_batch in, out;
    osp_buf enc;
    make_batch(&in);
    osp_log_batch_init(&out);
    osp_buf_init(&enc, 0);
    assert_int_equal(osp_logcodec_encode(&in, &enc), 0);
    assert_int_equal(osp_logcodec_decode(osp_buf_str(&enc), &out), 0); /* something to keep */
    /* Every truncation. */
    for (size_t n = 0; n < enc.len; n++)
        assert_corrupt(osp_str_make(enc.data, n), &out);
    /* Trailing bytes, a wrong version. */
    osp_buf_putc(&enc, 0);
    assert_corrupt(osp_buf_str(&enc), &out);
    enc.len--;
    enc.data[0] = 2;
    assert_corrupt(osp_buf_str(&enc), &out);
    osp_buf_cleanup(&enc);

    /* A record whose resource index is past the resources the payload carries: patch
     * the index (the second-last byte before the origins, which are the row codec's
     * encoding of the resources and scopes). */
    osp_log_batch one;
    osp_buf origins;
    osp_log_batch_init(&one);
    lg_record(&one, lg_resource(&one, "svc", "pod"), 1, "x");
    osp_span_batch view = {.resources = one.resources,
                           .nresources = one.nresources,
                           .scopes = one.scopes,
                           .nscopes = one.nscopes};
    osp_buf_init(&enc, 0);
    osp_buf_init(&origins, 0);
    assert_int_equal(osp_logcodec_encode(&one, &enc), 0);
    assert_int_equal(osp_rowcodec_encode(&view, &origins), 0);
    size_t at = enc.len - origins.len - 2;
    assert_int_equal(enc.data[at], 0);
    enc.data[at] = 1;
    assert_corrupt(osp_buf_str(&enc), &out);
    enc.data[at] = 0;
    enc.data[at + 1] = 1; /* the scope index */
    assert_corrupt(osp_buf_str(&enc), &out);
    osp_log_batch_cleanup(&one);
    osp_buf_cleanup(&origins);
    osp_buf_cleanup(&enc);

    /* A count far larger than the bytes. */
    const char huge[] = {1, (char)0xff, (char)0xff, (char)0xff, (char)0xff, 0x0f};
    assert_corrupt(osp_str_make(huge, sizeof huge), &out);
    /* has_body other than 0 or 1. */
    osp_log_batch_cleanup(&in);
    osp_log_batch_init(&in);
    lg_record(&in, lg_resource(&in, "svc", "pod"), 1, "x");
    osp_buf_init(&enc, 0);
    assert_int_equal(osp_logcodec_encode(&in, &enc), 0);
    /* has_body follows version, count, time (1 byte), observed time 501 (2 bytes), the
     * ids and three one-byte varints. */
    size_t off = 1 + 1 + 1 + 2 + 16 + 8 + 3;
    assert_int_equal((uint8_t)enc.data[off], 1);
    enc.data[off] = 2;
    assert_corrupt(osp_buf_str(&enc), &out);
    osp_buf_cleanup(&enc);
    osp_log_batch_cleanup(&in);
    osp_log_batch_cleanup(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_empty_batch),
        cmocka_unit_test(test_encode_rejects_bad_index),
        cmocka_unit_test(test_corrupt_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
