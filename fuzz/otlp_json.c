/* libFuzzer target for the OTLP/JSON trace codec: any input decodes or fails cleanly; what
 * decodes encodes to JSON that decodes to the same rows (regrouped by resource and scope)
 * and to the same text when encoded again, and gives the same rows through protobuf. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "proto/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* Every span of a has its own equal span in b, and b has no others. */
static void check_same_spans(const osp_span_batch *a, const osp_span_batch *b)
{
    CHECK(a->nspans == b->nspans);
    char *used = osp_calloc(b->nspans + 1, 1);
    CHECK(used);
    for (size_t i = 0; i < a->nspans; i++) {
        size_t j = 0;
        while (j < b->nspans && (used[j] || !osp_span_equal(a, i, b, j)))
            j++;
        CHECK(j < b->nspans);
        used[j] = 1;
    }
    osp_free(used);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osp_span_batch a, b, c;
    osp_buf json1, json2, pb;
    osp_decode_report rep;
    osp_span_batch_init(&a);
    osp_span_batch_init(&b);
    osp_span_batch_init(&c);
    osp_buf_init(&json1, 0);
    osp_buf_init(&json2, 0);
    osp_buf_init(&pb, 0);
    int rc = osp_otlp_traces_decode_json(osp_str_make((const char *)data, size), &a, &rep);
    CHECK(rc == 0 || rc == OSP_EPARSE);
    if (rc == 0) {
        CHECK(osp_otlp_traces_encode_json(&a, &json1) == 0);
        CHECK(osp_otlp_traces_decode_json(osp_buf_str(&json1), &b, &rep) == 0);
        CHECK(rep.rejected == 0);
        check_same_spans(&a, &b);
        CHECK(osp_otlp_traces_encode_json(&b, &json2) == 0);
        CHECK(json1.len == json2.len && !memcmp(json1.data, json2.data, json1.len));

        CHECK(osp_otlp_traces_encode_pb(&a, &pb) == 0);
        CHECK(osp_otlp_traces_decode_pb(osp_buf_str(&pb), &c, &rep) == 0);
        CHECK(rep.rejected == 0);
        check_same_spans(&a, &c);
    } else {
        CHECK(a.nspans == 0 && rep.message[0]);
    }
    osp_buf_cleanup(&json1);
    osp_buf_cleanup(&json2);
    osp_buf_cleanup(&pb);
    osp_span_batch_cleanup(&a);
    osp_span_batch_cleanup(&b);
    osp_span_batch_cleanup(&c);
    return 0;
}
