/* libFuzzer target for the JSON lines log decoder. Each decode succeeds (possibly with
 * rejected lines, then with a message) or fails cleanly with a NUL-terminated message and
 * the batch untouched; kept rows live past the input (freed before they are read), their
 * bodies and attributes decode at every depth, their resources and scope exist, and their
 * fields keep the input rules: severity numbers 0..24, flags 0..255, an id that is set is
 * written in the input as hex (unless the input has escapes). */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "model/attr.h"
#include "proto/jsonl.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_attrs(osp_str blob);

/* A value and everything nested in it decodes. */
static void check_value(const osp_value *v)
{
    if (v->type == OSP_VAL_KVLIST) {
        check_attrs(v->s);
    } else if (v->type == OSP_VAL_ARRAY) {
        osp_array_iter it;
        osp_value e;
        int rc;
        osp_array_iter_init(&it, v->s);
        while ((rc = osp_array_next(&it, &e)) == 1)
            check_value(&e);
        CHECK(rc == 0);
    } else if (v->type == OSP_VAL_STRING) {
        CHECK(osp_utf8_valid(v->s.p, v->s.n));
    }
}

static void check_attrs(osp_str blob)
{
    osp_attr_iter it;
    osp_str k;
    osp_value v;
    int rc;
    osp_attr_iter_init(&it, blob);
    while ((rc = osp_attr_next(&it, &k, &v)) == 1) {
        CHECK(osp_utf8_valid(k.p, k.n));
        check_value(&v);
    }
    CHECK(rc == 0);
}

/* A set id's hex is in the input (lowercased copy), unless the input has escapes. */
static void check_id(const uint8_t *id, size_t n, const char *lower, size_t size)
{
    char hex[32];
    size_t i = 0;
    while (i < n && !id[i])
        i++;
    if (i == n || memchr(lower, '\\', size))
        return;
    osp_hex_encode(id, n, hex);
    CHECK(memmem(lower, size, hex, 2 * n) != NULL);
}

static void check_batch(const osp_log_batch *b, const char *lower, size_t size)
{
    osp_value v;
    for (size_t i = 0; i < b->nresources; i++) {
        const osp_resource *r = &b->resources[i];
        check_attrs(r->attributes);
        int found = osp_attr_find(r->attributes, OSP_STR_LIT("service.name"), &v);
        CHECK(found == 1 && v.type == OSP_VAL_STRING ? osp_str_eq(r->service_name, v.s)
                                                     : r->service_name.n == 0);
        for (size_t j = 0; j < i; j++) /* one resource per distinct attribute set */
            CHECK(!osp_str_eq(r->attributes, b->resources[j].attributes));
    }
    CHECK(b->nscopes <= 1 && (b->nrecords == 0) == (b->nscopes == 0));
    for (size_t i = 0; i < b->nrecords; i++) {
        const osp_log_record *r = &b->records[i];
        CHECK(r->resource < b->nresources && r->scope < b->nscopes);
        if (r->has_body) {
            CHECK(osp_value_decode(r->body, &v) == 0);
            check_value(&v);
        } else {
            CHECK(r->body.n == 0);
        }
        check_attrs(r->attributes);
        CHECK(r->severity_number >= 0 && r->severity_number <= 24 && r->flags <= 255);
        CHECK(r->observed_ns == 0 && r->dropped_attributes == 0);
        CHECK(osp_utf8_valid(r->severity_text.p, r->severity_text.n));
        CHECK(osp_utf8_valid(r->event_name.p, r->event_name.n));
        check_id(r->trace_id, sizeof r->trace_id, lower, size);
        check_id(r->span_id, sizeof r->span_id, lower, size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osp_log_batch b;
    osp_jsonl_report rep;
    char *copy = malloc(size ? size : 1), *lower = malloc(size ? size : 1);
    CHECK(copy && lower);
    memcpy(copy, data, size);
    for (size_t i = 0; i < size; i++)
        lower[i] = (char)tolower(data[i]);
    osp_log_batch_init(&b);
    int rc = osp_jsonl_logs_decode(osp_str_make(copy, size), &b, &rep);
    free(copy);
    CHECK(memchr(rep.message, 0, sizeof rep.message) != NULL);
    CHECK(rc == 0 || rc == OSP_EPARSE || rc == OSP_ENOMEM);
    CHECK(rep.rejected >= 0);
    if (rc == 0) {
        CHECK((rep.rejected == 0) == (rep.message[0] == 0));
        check_batch(&b, lower, size);
    } else {
        CHECK(rep.message[0] && rep.rejected == 0);
        CHECK(b.nrecords == 0 && b.nresources == 0 && b.nscopes == 0);
    }
    osp_log_batch_cleanup(&b);
    free(lower);
    return 0;
}
