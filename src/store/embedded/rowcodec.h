/* Row codec: a compact byte form of a span batch, used as the write-ahead log's record
 * payload (varints and length-prefixed slices; see rowcodec.c for the layout). */
#ifndef OSP_STORE_EMBEDDED_ROWCODEC_H
#define OSP_STORE_EMBEDDED_ROWCODEC_H

#include "core/buf.h"
#include "core/str.h"
#include "model/span.h"

/* Appends the encoding of every resource, scope and span of b to out. Returns 0, or
 * OSP_ENOMEM / OSP_ETOOBIG from the buffer (out may then hold a partial encoding). */
int osp_rowcodec_encode(const osp_span_batch *b, osp_buf *out);

/* Decodes one encoding and appends its rows to b, renumbering resource and scope indexes
 * past the rows b already holds. Zero-copy: the rows' slices point into `in`, which must
 * outlive b's use of them. Lengths, counts and indexes are all checked: returns 0,
 * OSP_ECORRUPT for bytes that are not a valid encoding, or OSP_ENOMEM; on failure b holds
 * the rows it held before. */
int osp_rowcodec_decode(osp_str in, osp_span_batch *b);

#endif
