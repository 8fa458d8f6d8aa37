/* Fuzz target: the AI call segment reader (store/aicalls/aicseg.c) accepts or refuses any
 * bytes without reading past them, as the index's replay walks a segment: a header, then
 * (version 2) blocks until the first incomplete or corrupt one, each decompressed and its
 * records decoded, or (version 1) framed records. What it accepts re-encodes to a record
 * that decodes to the same fields.
 *
 * Input: a segment file's bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
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

/* The records of a raw block, every one decoded and round-tripped. */
static int walk_block(const uint8_t *raw, size_t n)
{
    size_t at = 0, used;
    osp_aicall a;
    while (at < n) {
        int rc = osp_aicseg_decode(raw + at, n - at, &a, &used);
        if (rc != 0)
            return rc;
        if (used < OSP_AICSEG_RECORD_HEAD + OSP_AICSEG_FIXED_SIZE || used > n - at)
            abort();
        check_round_trip(&a);
        at += used;
    }
    return 0;
}

static int walk_blocks(const uint8_t *data, size_t size)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    size_t at = OSP_AICSEG_HEADER_SIZE, used, rawlen;
    uint8_t *raw;
    int rc;
    if (!dctx)
        abort();
    while ((rc = osp_aicseg_block_unpack(dctx, data + at, size - at, &raw, &rawlen, &used)) == 0) {
        if (used <= OSP_AICSEG_BLOCK_HEAD || used > size - at || rawlen > OSP_AICSEG_MAX_BLOCK_RAW)
            abort();
        rc = walk_block(raw, rawlen);
        osp_free(raw);
        if (rc)
            break;
        at += used;
    }
    ZSTD_freeDCtx(dctx);
    return rc;
}

static int walk_frames(const uint8_t *data, size_t size)
{
    size_t at = OSP_AICSEG_HEADER_SIZE, used;
    osp_aicall a;
    int rc;
    while ((rc = osp_aicseg_decode_v1(data + at, size - at, &a, &used)) == 0) {
        if (used < OSP_AICSEG_FRAME_SIZE + OSP_AICSEG_FIXED_SIZE || used > size - at)
            abort();
        check_round_trip(&a);
        at += used;
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t version;
    if (osp_aicseg_check_header(data, size, &version) != 0)
        return 0;
    int rc = version == 1 ? walk_frames(data, size) : walk_blocks(data, size);
    if (rc != OSP_EAGAIN && rc != OSP_ECORRUPT && rc != OSP_ENOMEM)
        abort();
    return 0;
}
