/* The AI call segment format (README.md beside this file): a 16-byte header, then framed
 * records, each a length, an XXH64 checksum and the encoded osp_aicall. */
#ifndef OSP_STORE_AICALLS_AICSEG_H
#define OSP_STORE_AICALLS_AICSEG_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "model/aicall.h"

#define OSP_AICSEG_MAGIC "OSPAICS1" /* 8 bytes */
#define OSP_AICSEG_VERSION 1
#define OSP_AICSEG_HEADER_SIZE 16 /* magic, u32 version, u32 reserved (0) */
#define OSP_AICSEG_FRAME_SIZE 12  /* u32 payload length, u64 XXH64 of the payload */
#define OSP_AICSEG_FIXED_SIZE 120 /* the fixed-width part of a payload */
#define OSP_AICSEG_NSTRS 13       /* strings after it, each a u16 length and its bytes */
/* Longest payload a reader accepts: the fixed part and every string at its limit. */
#define OSP_AICSEG_MAX_PAYLOAD                                                                     \
    (OSP_AICSEG_FIXED_SIZE + OSP_AICSEG_NSTRS * (2 + OSP_AICALL_MAX_TEXT))

/* The segment header into out. */
void osp_aicseg_header(uint8_t out[OSP_AICSEG_HEADER_SIZE]);

/* 0 when the n bytes at p start with a valid header, else OSP_ECORRUPT (OSP_EAGAIN when
 * shorter than a header). */
int osp_aicseg_check_header(const uint8_t *p, size_t n);

/* Appends a's framed record to out (strings cut to OSP_AICALL_MAX_TEXT). 0 or
 * OSP_ENOMEM. */
int osp_aicseg_encode(const osp_aicall *a, osp_buf *out);

/* Decodes the framed record at the start of p[0..n) into *a, its strings pointing into p,
 * and sets *used to its framed length. 0; OSP_EAGAIN when p holds only part of a record
 * (a torn write at the end of a segment); OSP_ECORRUPT on a bad length, checksum or
 * field. */
int osp_aicseg_decode(const uint8_t *p, size_t n, osp_aicall *a, size_t *used);

#endif
