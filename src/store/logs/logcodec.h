/* Log codec: a compact byte form of a log batch, the write-ahead-log record payload of the
 * log store (varints and length-prefixed slices; see logcodec.c for the layout). */
#ifndef OSP_STORE_LOGS_LOGCODEC_H
#define OSP_STORE_LOGS_LOGCODEC_H

#include "core/buf.h"
#include "core/str.h"
#include "model/log.h"

/* Appends the encoding of every record, resource and scope of b to out. Returns 0,
 * OSP_EINVAL (a record's resource or scope index out of range; out may then hold a
 * partial encoding), or OSP_ENOMEM / OSP_ETOOBIG from the buffer. */
int osp_logcodec_encode(const osp_log_batch *b, osp_buf *out);

/* Decodes one encoding and appends its rows to b, renumbering resource and scope indexes
 * past the rows b already holds. Zero-copy: the rows' slices point into `in`, which must
 * outlive b's use of them. Every length, count and index is checked: returns 0,
 * OSP_ECORRUPT for bytes that are not a valid encoding, or OSP_ENOMEM; on failure b holds
 * the rows it held before. */
int osp_logcodec_decode(osp_str in, osp_log_batch *b);

#endif
