/* libFuzzer target for the Loki push decoders: the input is decoded as a JSON push, as a
 * snappy-compressed protobuf push, and (compressed here first) as an uncompressed protobuf
 * PushRequest. Each decode succeeds or fails cleanly with a NUL-terminated message and the
 * batch untouched; kept rows live past the input (which is freed before they are read),
 * hold valid labels, metadata and string bodies, and come back equal when written out as
 * a JSON push and decoded again. */
#include <snappy-c.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "model/attr.h"
#include "proto/loki.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MODE_JSON, MODE_PB };

static int name_ok(osp_str s)
{
    if (s.n == 0)
        return 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

/* An attrs blob of string pairs with valid names and UTF-8 values; returns the count. */
static size_t check_attrs(osp_str blob)
{
    osp_attr_iter it;
    osp_str k;
    osp_value v;
    size_t n = 0;
    int rc;
    osp_attr_iter_init(&it, blob);
    while ((rc = osp_attr_next(&it, &k, &v)) == 1) {
        CHECK(name_ok(k) && v.type == OSP_VAL_STRING && osp_utf8_valid(v.s.p, v.s.n));
        n++;
    }
    CHECK(rc == 0);
    return n;
}

static void check_batch(const osp_log_batch *b)
{
    for (size_t i = 0; i < b->nresources; i++) {
        const osp_resource *r = &b->resources[i];
        CHECK(check_attrs(r->attributes) > 0);
        osp_attr_iter it, it2;
        osp_str k, k2;
        osp_value v;
        osp_attr_iter_init(&it, r->attributes);
        while (osp_attr_next(&it, &k, &v) == 1) { /* names are unique */
            int same = 0;
            osp_attr_iter_init(&it2, r->attributes);
            while (osp_attr_next(&it2, &k2, &v) == 1)
                same += osp_str_eq(k, k2);
            CHECK(same == 1);
        }
        int found = osp_attr_find(r->attributes, OSP_STR_LIT("service_name"), &v);
        CHECK(found ? osp_str_eq(r->service_name, v.s) : r->service_name.n == 0);
    }
    CHECK(b->nscopes <= 1 && (b->nrecords == 0) == (b->nscopes == 0));
    for (size_t i = 0; i < b->nrecords; i++) {
        const osp_log_record *r = &b->records[i];
        osp_value v;
        CHECK(r->resource < b->nresources && r->scope < b->nscopes && r->has_body);
        CHECK(osp_value_decode(r->body, &v) == 0 && v.type == OSP_VAL_STRING);
        CHECK(osp_utf8_valid(v.s.p, v.s.n));
        check_attrs(r->attributes);
        CHECK(r->time_ns <= (uint64_t)INT64_MAX); /* Loki's timestamps are int64 */
        CHECK(r->observed_ns == 0 && r->severity_number == 0 && r->flags == 0);
    }
}

/* Writes an attrs blob of string values as the members of a JSON object. */
static void put_members(osp_buf *out, osp_str blob)
{
    osp_attr_iter it;
    osp_str k;
    osp_value v;
    osp_attr_iter_init(&it, blob);
    for (int n = 0; osp_attr_next(&it, &k, &v) == 1; n++) {
        CHECK((!n || osp_buf_putc(out, ',') == 0) && osp_buf_json_str(out, k.p, k.n) == 0);
        CHECK(osp_buf_putc(out, ':') == 0 && osp_buf_json_str(out, v.s.p, v.s.n) == 0);
    }
}

/* Writes the rows as a JSON push, one stream per record. */
static void to_json(const osp_log_batch *b, osp_buf *out)
{
    osp_value v;
    CHECK(osp_buf_puts(out, "{\"streams\":[") == 0);
    for (size_t i = 0; i < b->nrecords; i++) {
        const osp_log_record *r = &b->records[i];
        CHECK(osp_buf_puts(out, i ? ",{\"stream\":{" : "{\"stream\":{") == 0);
        put_members(out, b->resources[r->resource].attributes);
        CHECK(osp_buf_printf(out, "},\"values\":[[\"%llu\",", (unsigned long long)r->time_ns) == 0);
        CHECK(osp_value_decode(r->body, &v) == 0 && osp_buf_json_str(out, v.s.p, v.s.n) == 0);
        CHECK(osp_buf_puts(out, ",{") == 0);
        put_members(out, r->attributes);
        CHECK(osp_buf_puts(out, "}]]}") == 0);
    }
    CHECK(osp_buf_puts(out, "]}") == 0);
}

/* The kept rows, written out as JSON, decode to equal records with nothing rejected. */
static void round_trip(const osp_log_batch *b)
{
    osp_buf json;
    osp_log_batch again;
    osp_loki_report rep;
    osp_buf_init(&json, 0);
    to_json(b, &json);
    osp_log_batch_init(&again);
    int rc = osp_loki_decode_json(osp_buf_str(&json), &again, &rep);
    CHECK(rc == 0 || rc == OSP_ENOMEM);
    if (rc == 0) {
        CHECK(rep.rejected == 0 && rep.message[0] == 0 && again.nrecords == b->nrecords);
        for (size_t i = 0; i < b->nrecords; i++)
            CHECK(osp_log_record_equal(b, i, &again, i));
    }
    osp_log_batch_cleanup(&again);
    osp_buf_cleanup(&json);
}

/* Decodes a heap copy of the input (freed before the rows are read). */
static void decode(int mode, const uint8_t *data, size_t size)
{
    osp_log_batch b;
    osp_loki_report rep;
    char *copy = malloc(size ? size : 1);
    CHECK(copy);
    memcpy(copy, data, size);
    osp_log_batch_init(&b);
    osp_str body = osp_str_make(copy, size);
    int rc = mode == MODE_JSON ? osp_loki_decode_json(body, &b, &rep)
                               : osp_loki_decode_pb(body, 4u << 20, &b, &rep);
    free(copy);
    CHECK(memchr(rep.message, 0, sizeof rep.message) != NULL);
    CHECK(rc == 0 || rc == OSP_EPARSE || rc == OSP_ETOOBIG || rc == OSP_ENOMEM);
    CHECK(rep.rejected >= 0 && rep.rejected_streams >= 0);
    if (rc == 0) {
        CHECK((rep.rejected == 0 && rep.rejected_streams == 0) || rep.message[0]);
        check_batch(&b);
        round_trip(&b);
    } else {
        CHECK(rep.message[0] && b.nrecords == 0 && b.nresources == 0 && b.nscopes == 0);
        CHECK(rep.rejected == 0 && rep.rejected_streams == 0);
    }
    osp_log_batch_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode(MODE_JSON, data, size);
    decode(MODE_PB, data, size);
    /* the input as an uncompressed PushRequest */
    size_t n = snappy_max_compressed_length(size);
    char *c = malloc(n);
    CHECK(c);
    CHECK(snappy_compress(size ? (const char *)data : "", size, c, &n) == SNAPPY_OK);
    decode(MODE_PB, (const uint8_t *)c, n);
    free(c);
    return 0;
}
