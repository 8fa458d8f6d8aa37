/* Base64 (RFC 4648) encoding and decoding, used for bytes values in JSON and text forms. */
#ifndef OSP_CORE_BASE64_H
#define OSP_CORE_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"

/* Characters osp_base64_encode writes for n input bytes. */
#define OSP_BASE64_LEN(n) (4 * (((n) + 2) / 3))

/* Encodes n bytes with the standard alphabet and '=' padding into out, which must hold
 * OSP_BASE64_LEN(n) chars (no NUL is written). Returns the number of chars written. */
size_t osp_base64_encode(const uint8_t *in, size_t n, char *out);

/* Decodes base64 text and appends the bytes to out. Accepts the standard and the URL-safe
 * alphabet, with or without '=' padding (as the protobuf JSON mapping does); bits left
 * over in the last character are ignored. Returns 0, OSP_EPARSE on a character outside
 * the alphabet, misplaced padding or an impossible length (out unchanged), or the
 * buffer's error (OSP_ENOMEM, OSP_ETOOBIG). */
int osp_base64_decode(osp_str in, osp_buf *out);

#endif
