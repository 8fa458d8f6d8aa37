/* Request-body decompression (gzip, zlib and raw deflate) with a hard output cap. */
#ifndef OSP_CORE_GZIP_H
#define OSP_CORE_GZIP_H

#include <stddef.h>

#include "core/buf.h"
#include "core/str.h"

/* Inflates `in` (gzip, possibly several concatenated members, or zlib; raw deflate when
 * neither header is present) and appends the result to `out`.
 * Returns 0, OSP_ETOOBIG when the output would pass max_out bytes (decompression bombs
 * stop there), OSP_EPARSE on corrupt or truncated data, OSP_ENOMEM. On failure out->len
 * is restored to what it was; its storage stays owned by the caller. */
int osp_gzip_inflate(osp_str in, size_t max_out, osp_buf *out);

#endif
