/* libFuzzer target for the OTLP protobuf trace decoder: any input decodes or fails cleanly;
 * what decodes re-encodes to a request that decodes to the same rows, and to the same
 * bytes when encoded again. */
#include <stddef.h>
#include <stdint.h>

#include "proto/otlp.h"

#define ROWS_BATCH osp_span_batch
#define ROWS_INIT osp_span_batch_init
#define ROWS_CLEANUP osp_span_batch_cleanup
#define ROWS_DECODE_PB osp_otlp_traces_decode_pb
#define ROWS_ENCODE_PB osp_otlp_traces_encode_pb
#define ROWS_DECODE_JSON osp_otlp_traces_decode_json
#define ROWS_ENCODE_JSON osp_otlp_traces_encode_json
#define ROWS_N nspans
#define ROWS_EQUAL osp_span_equal
#define ROWS_RENDER(b, i, tmp) fuzz_render_attrs((b)->spans[i].attributes, tmp)
#include "otlp_rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_rows_pb(data, size);
}
