/* The AI call segment format (README.md beside this file): a 16-byte header, then, in
 * version 2, zstd-compressed blocks of records, each block behind a 16-byte slot (stored
 * length, raw length, XXH64 of the stored bytes) and each record a length and the encoded
 * osp_aicall. Version 1 segments (records framed one by one with their own checksum, not
 * compressed) are still read. */
#ifndef OSP_STORE_AICALLS_AICSEG_H
#define OSP_STORE_AICALLS_AICSEG_H

#include <stddef.h>
#include <stdint.h>

#include <zstd.h>

#include "core/buf.h"
#include "model/aicall.h"

#define OSP_AICSEG_MAGIC "OSPAICS1"          /* 8 bytes */
#define OSP_AICSEG_VERSION 2                 /* written; version 1 is still read */
#define OSP_AICSEG_HEADER_SIZE 16            /* magic, u32 version, u32 reserved (0) */
#define OSP_AICSEG_FRAME_SIZE 12             /* version 1: u32 payload length, u64 XXH64 of it */
#define OSP_AICSEG_RECORD_HEAD 4             /* version 2: u32 payload length */
#define OSP_AICSEG_BLOCK_HEAD 16             /* version 2: a block's slot (store/blockfile.h) */
#define OSP_AICSEG_BLOCK_TARGET (256u << 10) /* raw bytes a writer puts in a block */
#define OSP_AICSEG_FIXED_SIZE 120            /* the fixed-width part of a payload */
#define OSP_AICSEG_NSTRS 13                  /* strings after it, each a u16 length and its bytes */
/* Longest payload a reader accepts: the fixed part and every string at its limit. */
#define OSP_AICSEG_MAX_PAYLOAD                                                                     \
    (OSP_AICSEG_FIXED_SIZE + OSP_AICSEG_NSTRS * (2 + OSP_AICALL_MAX_TEXT))
/* Largest raw block a reader accepts: the target, or one record alone past it. */
#define OSP_AICSEG_MAX_BLOCK_RAW                                                                   \
    (OSP_AICSEG_BLOCK_TARGET + OSP_AICSEG_RECORD_HEAD + OSP_AICSEG_MAX_PAYLOAD)

/* The segment header (version OSP_AICSEG_VERSION) into out. */
void osp_aicseg_header(uint8_t out[OSP_AICSEG_HEADER_SIZE]);

/* 0 with *version (1 or 2) when the n bytes at p start with a valid header, else
 * OSP_ECORRUPT (OSP_EAGAIN when shorter than a header). */
int osp_aicseg_check_header(const uint8_t *p, size_t n, uint32_t *version);

/* Appends a's version 2 record (length and payload) to out, strings cut to
 * OSP_AICALL_MAX_TEXT. 0 or OSP_ENOMEM. */
int osp_aicseg_encode(const osp_aicall *a, osp_buf *out);

/* Decodes the version 2 record at the start of p[0..n) (a block's raw bytes) into *a, its
 * strings pointing into p, and sets *used to its length. 0, or OSP_ECORRUPT on a bad or
 * cut length or field. */
int osp_aicseg_decode(const uint8_t *p, size_t n, osp_aicall *a, size_t *used);

/* Decodes the version 1 framed record at the start of p[0..n) as osp_aicseg_decode does.
 * 0; OSP_EAGAIN when p holds only part of a record (a torn write at the end of a segment);
 * OSP_ECORRUPT on a bad length, checksum or field. */
int osp_aicseg_decode_v1(const uint8_t *p, size_t n, osp_aicall *a, size_t *used);

/* Appends a block of the n raw bytes of whole records (at most OSP_AICSEG_MAX_BLOCK_RAW),
 * compressed with cctx, to out. 0 or OSP_ENOMEM. */
int osp_aicseg_block_pack(ZSTD_CCtx *cctx, const void *raw, size_t n, osp_buf *out);

/* Verifies and decompresses the block at the start of p[0..n) with dctx: *raw (caller
 * frees) gets its *rawlen bytes, *used its stored length with the slot. 0; OSP_EAGAIN
 * when p holds only part of it (a torn write at the end of a segment); OSP_ECORRUPT on a
 * bad length or checksum or bytes that do not decompress; OSP_ENOMEM. */
int osp_aicseg_block_unpack(ZSTD_DCtx *dctx, const uint8_t *p, size_t n, uint8_t **raw,
                            size_t *rawlen, size_t *used);

#endif
