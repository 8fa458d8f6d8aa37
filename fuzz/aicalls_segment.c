/* Fuzz target: the AI call segment reader (store/aicalls/aicseg.c) accepts or refuses any
 * bytes without reading past them, as the index's replay walks a segment: a header, then
 * records until the first incomplete or corrupt one. What it accepts re-encodes to a
 * record that decodes to the same fields.
 *
 * Input: a segment file's bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/aicalls/aicseg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a re-encodes, decodes back, and encodes to the same bytes again. */
static void check_round_trip(const osp_aicall *a)
{
    osp_buf one, two;
    osp_aicall back;
    size_t used;
    osp_buf_init(&one, 0);
    osp_buf_init(&two, 0);
    if (osp_aicseg_encode(a, &one) != 0)
        abort();
    if (osp_aicseg_decode((const uint8_t *)one.data, one.len, &back, &used) != 0 || used != one.len)
        abort();
    if (osp_aicseg_encode(&back, &two) != 0 || two.len != one.len ||
        memcmp(one.data, two.data, one.len) != 0)
        abort();
    osp_buf_cleanup(&one);
    osp_buf_cleanup(&two);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (osp_aicseg_check_header(data, size) != 0)
        return 0;
    size_t at = OSP_AICSEG_HEADER_SIZE, used;
    osp_aicall a;
    int rc;
    while ((rc = osp_aicseg_decode(data + at, size - at, &a, &used)) == 0) {
        if (used < OSP_AICSEG_FRAME_SIZE + OSP_AICSEG_FIXED_SIZE || used > size - at)
            abort();
        check_round_trip(&a);
        at += used;
    }
    if (rc != OSP_EAGAIN && rc != OSP_ECORRUPT)
        abort();
    return 0;
}
