/* libFuzzer target for the OTLP protobuf trace decoder: any input decodes or fails cleanly;
 * what decodes re-encodes to a request that decodes to the same rows, and to the same
 * bytes when encoded again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "model/attr.h"
#include "proto/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* Every stored attribute value renders as text (exercises the canonical readers). */
static void render_attrs(osp_str attrs, osp_buf *tmp)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osp_span_batch a, b;
    osp_buf enc1, enc2, tmp;
    osp_decode_report rep;
    osp_span_batch_init(&a);
    osp_span_batch_init(&b);
    osp_buf_init(&enc1, 0);
    osp_buf_init(&enc2, 0);
    osp_buf_init(&tmp, 0);
    int rc = osp_otlp_traces_decode_pb(osp_str_make((const char *)data, size), &a, &rep);
    CHECK(rc == 0 || rc == OSP_EPARSE);
    if (rc == 0) {
        for (size_t i = 0; i < a.nspans; i++)
            render_attrs(a.spans[i].attributes, &tmp);
        CHECK(osp_otlp_traces_encode_pb(&a, &enc1) == 0);
        CHECK(osp_otlp_traces_decode_pb(osp_buf_str(&enc1), &b, &rep) == 0);
        CHECK(rep.rejected == 0);
        CHECK(b.nspans == a.nspans);
        for (size_t i = 0; i < a.nspans; i++)
            CHECK(osp_span_equal(&a, i, &b, i));
        CHECK(osp_otlp_traces_encode_pb(&b, &enc2) == 0);
        CHECK(enc1.len == enc2.len && (enc1.len == 0 || !memcmp(enc1.data, enc2.data, enc1.len)));
    } else {
        CHECK(a.nspans == 0 && rep.message[0]);
    }
    osp_buf_cleanup(&tmp);
    osp_buf_cleanup(&enc1);
    osp_buf_cleanup(&enc2);
    osp_span_batch_cleanup(&a);
    osp_span_batch_cleanup(&b);
    return 0;
}
