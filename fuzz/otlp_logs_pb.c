/* libFuzzer target for the OTLP protobuf log codec: every input either decodes or fails
 * with OSP_EPARSE and a message; decoded rows re-encode to a request that decodes to equal
 * rows, and encoding those again gives the same bytes. */
#include <stddef.h>
#include <stdint.h>

#include "proto/otlp_logs.h"

#define ROWS_BATCH osp_log_batch
#define ROWS_INIT osp_log_batch_init
#define ROWS_CLEANUP osp_log_batch_cleanup
#define ROWS_DECODE_PB osp_otlp_logs_decode_pb
#define ROWS_ENCODE_PB osp_otlp_logs_encode_pb
#define ROWS_DECODE_JSON osp_otlp_logs_decode_json
#define ROWS_ENCODE_JSON osp_otlp_logs_encode_json
#define ROWS_N nrecords
#define ROWS_EQUAL osp_log_record_equal
#define ROWS_RENDER(b, i, tmp) render_record(&(b)->records[i], tmp)
static void render_record(const osp_log_record *lr, osp_buf *tmp);
#include "otlp_rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The body and every attribute value render as text (exercises the canonical readers). */
static void render_record(const osp_log_record *lr, osp_buf *tmp)
{
    osp_value v;
    CHECK(osp_value_decode(lr->body, &v) == 0);
    CHECK(lr->has_body || v.type == OSP_VAL_EMPTY);
    osp_buf_reset(tmp);
    CHECK(osp_value_to_text(&v, tmp) == 0);
    fuzz_render_attrs(lr->attributes, tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_rows_pb(data, size);
}
