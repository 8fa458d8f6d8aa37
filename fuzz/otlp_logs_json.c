/* libFuzzer target for the OTLP/JSON log codec: every input either decodes or fails with
 * OSP_EPARSE and a message; decoded rows encode to JSON that decodes to equal rows (they
 * may be regrouped by resource and scope) and to the same text when encoded again, and
 * give equal rows through the protobuf codec too. */
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
#include "otlp_rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_rows_json(data, size);
}
