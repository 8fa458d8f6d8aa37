/* Round-trip checks shared by the fuzz targets of the OTLP trace and log codecs, whose
 * batches have the same shape (rows under resources and scopes). A target defines these
 * for its signal, includes this file and returns fuzz_rows_pb() or fuzz_rows_json() from
 * LLVMFuzzerTestOneInput:
 *   ROWS_BATCH              the batch type, e.g. osp_span_batch
 *   ROWS_INIT, ROWS_CLEANUP its init and cleanup functions
 *   ROWS_DECODE_PB, ROWS_ENCODE_PB, ROWS_DECODE_JSON, ROWS_ENCODE_JSON  the codec
 *   ROWS_N                  the batch's row count member, e.g. nspans
 *   ROWS_EQUAL              row equality, e.g. osp_span_equal
 *   ROWS_RENDER(b, i, tmp)  (fuzz_rows_pb only) renders row i's values as text */
#ifndef OSP_FUZZ_OTLP_ROWS_H
#define OSP_FUZZ_OTLP_ROWS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "fuzz_check.h"
#include "model/attr.h"

#define ROWS_COUNT(b) ((b)->ROWS_N)

/* Every stored attribute value renders as text (exercises the canonical readers). */
static inline void fuzz_render_attrs(osp_str attrs, osp_buf *tmp)
{
    osp_attr_iter it;
    osp_str key;
    osp_value v;
    int rc;
    osp_attr_iter_init(&it, attrs);
    while ((rc = osp_attr_next(&it, &key, &v)) == 1) {
        osp_buf_reset(tmp);
        CHECK(osp_value_to_text(&v, tmp) == 0);
    }
    CHECK(rc == 0);
}

/* Every row of a has its own equal row in b, and b has no others. */
static inline void fuzz_same_rows(const ROWS_BATCH *a, const ROWS_BATCH *b)
{
    CHECK(ROWS_COUNT(a) == ROWS_COUNT(b));
    char *used = osp_calloc(ROWS_COUNT(b) + 1, 1);
    CHECK(used);
    for (size_t i = 0; i < ROWS_COUNT(a); i++) {
        size_t j = 0;
        while (j < ROWS_COUNT(b) && (used[j] || !ROWS_EQUAL(a, i, b, j)))
            j++;
        CHECK(j < ROWS_COUNT(b));
        used[j] = 1;
    }
    osp_free(used);
}

#ifdef ROWS_RENDER
/* Any input decodes or fails cleanly with a message; decoded rows render as text and
 * re-encode to a request that decodes to equal rows, and encoding those again gives the
 * same bytes. */
static inline int fuzz_rows_pb(const uint8_t *data, size_t size)
{
    ROWS_BATCH a, b;
    osp_buf enc1, enc2, tmp;
    osp_decode_report rep;
    ROWS_INIT(&a);
    ROWS_INIT(&b);
    osp_buf_init(&enc1, 0);
    osp_buf_init(&enc2, 0);
    osp_buf_init(&tmp, 0);
    int rc = ROWS_DECODE_PB(osp_str_make((const char *)data, size), &a, &rep);
    CHECK(rc == 0 || rc == OSP_EPARSE);
    if (rc == 0) {
        for (size_t i = 0; i < ROWS_COUNT(&a); i++)
            ROWS_RENDER(&a, i, &tmp);
        CHECK(ROWS_ENCODE_PB(&a, &enc1) == 0);
        CHECK(ROWS_DECODE_PB(osp_buf_str(&enc1), &b, &rep) == 0);
        CHECK(rep.rejected == 0);
        CHECK(ROWS_COUNT(&b) == ROWS_COUNT(&a));
        for (size_t i = 0; i < ROWS_COUNT(&a); i++)
            CHECK(ROWS_EQUAL(&a, i, &b, i));
        CHECK(ROWS_ENCODE_PB(&b, &enc2) == 0);
        CHECK(enc1.len == enc2.len && (enc1.len == 0 || !memcmp(enc1.data, enc2.data, enc1.len)));
    } else {
        CHECK(ROWS_COUNT(&a) == 0 && rep.message[0]);
    }
    osp_buf_cleanup(&tmp);
    osp_buf_cleanup(&enc1);
    osp_buf_cleanup(&enc2);
    ROWS_CLEANUP(&a);
    ROWS_CLEANUP(&b);
    return 0;
}
#endif

/* Any input decodes or fails cleanly with a message; decoded rows encode to JSON that
 * decodes to equal rows (they may be regrouped by resource and scope) and to the same text
 * when encoded again, and give equal rows through the protobuf codec too. */
static inline int fuzz_rows_json(const uint8_t *data, size_t size)
{
    ROWS_BATCH a, b, c;
    osp_buf json1, json2, pb;
    osp_decode_report rep;
    ROWS_INIT(&a);
    ROWS_INIT(&b);
    ROWS_INIT(&c);
    osp_buf_init(&json1, 0);
    osp_buf_init(&json2, 0);
    osp_buf_init(&pb, 0);
    int rc = ROWS_DECODE_JSON(osp_str_make((const char *)data, size), &a, &rep);
    CHECK(rc == 0 || rc == OSP_EPARSE);
    if (rc == 0) {
        CHECK(ROWS_ENCODE_JSON(&a, &json1) == 0);
        CHECK(ROWS_DECODE_JSON(osp_buf_str(&json1), &b, &rep) == 0);
        CHECK(rep.rejected == 0);
        fuzz_same_rows(&a, &b);
        CHECK(ROWS_ENCODE_JSON(&b, &json2) == 0);
        CHECK(json1.len == json2.len && !memcmp(json1.data, json2.data, json1.len));

        CHECK(ROWS_ENCODE_PB(&a, &pb) == 0);
        CHECK(ROWS_DECODE_PB(osp_buf_str(&pb), &c, &rep) == 0);
        CHECK(rep.rejected == 0);
        fuzz_same_rows(&a, &c);
    } else {
        CHECK(ROWS_COUNT(&a) == 0 && rep.message[0]);
    }
    osp_buf_cleanup(&json1);
    osp_buf_cleanup(&json2);
    osp_buf_cleanup(&pb);
    ROWS_CLEANUP(&a);
    ROWS_CLEANUP(&b);
    ROWS_CLEANUP(&c);
    return 0;
}

#endif
