/* Protobuf wire format primitives: a bounds-checked zero-copy reader and an appending
 * writer. Used by the OTLP decoders, the canonical row encoding and response encoders. */
#ifndef OSP_CORE_PB_H
#define OSP_CORE_PB_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"

enum osp_pb_wire {
    OSP_PB_VARINT = 0,
    OSP_PB_I64 = 1,
    OSP_PB_LEN = 2,
    OSP_PB_SGROUP = 3, /* proto2 groups: never valid here, named for error reporting */
    OSP_PB_EGROUP = 4,
    OSP_PB_I32 = 5,
};

/* A cursor over one message's bytes. Never reads past end. */
typedef struct osp_pb_reader {
    const uint8_t *p, *end;
    const char *error; /* after OSP_EPARSE: what was wrong, e.g. "length past the end" */
} osp_pb_reader;

/* One decoded field. For LEN fields `bytes` is a slice into the input; for VARINT,
 * I64 and I32 the raw value is in `u64` (reinterpret for double/fixed/signed). */
typedef struct osp_pb_field {
    uint32_t num;
    enum osp_pb_wire wire;
    uint64_t u64;
    osp_str bytes;
} osp_pb_field;

static inline osp_pb_reader osp_pb_reader_make(const void *p, size_t n)
{
    return (osp_pb_reader){(const uint8_t *)p, (const uint8_t *)p + n, NULL};
}

/* Reads the next field. Returns 1 when a field was read, 0 at the clean end of the
 * message, OSP_EPARSE on a truncated or malformed field (bad varint, length past the end,
 * field number 0, group or reserved wire type), with r->error saying which and r->p left
 * at the start of the bad field. */
int osp_pb_next(osp_pb_reader *r, osp_pb_field *f);
/* Reads a bare length-delimited body (a varint length, then that many bytes, no tag) as a
 * slice into the input; OSP_EPARSE (r->error set) when truncated. */
int osp_pb_read_lenbytes(osp_pb_reader *r, osp_str *s);
/* The general case of osp_pb_read_varint (two or more bytes). */
int osp__pb_read_varint_long(osp_pb_reader *r, uint64_t *v);

/* Why the last read failed, for messages: r->error, or "bad field" when none was set. */
static inline const char *osp_pb_reason(const osp_pb_reader *r)
{
    return r->error ? r->error : "bad field";
}

/* Reads a varint; OSP_EPARSE (r->error set) if truncated or longer than 10 bytes. The
 * one-byte case, by far the most common (tags, small values), is inline. */
static inline int osp_pb_read_varint(osp_pb_reader *r, uint64_t *v)
{
    if (r->p < r->end && *r->p < 0x80) {
        *v = *r->p++;
        return 0;
    }
    return osp__pb_read_varint_long(r, v);
}

/* Zigzag (sint32/sint64): small magnitudes of either sign become small varints. */
static inline uint64_t osp_pb_zigzag_encode(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t osp_pb_zigzag_decode(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}
/* A double's IEEE 754 bits and back, as fixed64 fields carry them. */
static inline uint64_t osp_pb_double_bits(double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    return v;
}
static inline double osp_pb_as_double(uint64_t v)
{
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

/* Writes v as a varint at out, which has room for it (10 bytes at the most); returns the
 * bytes written. */
static inline size_t osp_pb_encode_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Writers append to a buffer; each returns 0 or the buffer's error. Zero values are
 * written as given (callers skip proto3 defaults themselves). */
static inline int osp_pb_put_varint(osp_buf *b, uint64_t v)
{
    if (b->cap - b->len >= 10 && b->len + 10 <= b->max) { /* room for any varint */
        b->len += osp_pb_encode_varint((uint8_t *)b->data + b->len, v);
        return 0;
    }
    uint8_t tmp[10];
    return osp_buf_append(b, tmp, osp_pb_encode_varint(tmp, v));
}
int osp_pb_put_tag(osp_buf *b, uint32_t num, enum osp_pb_wire wire);
int osp_pb_put_uint(osp_buf *b, uint32_t num, uint64_t v);               /* VARINT field */
int osp_pb_put_fixed64(osp_buf *b, uint32_t num, uint64_t v);            /* I64 field */
int osp_pb_put_fixed32(osp_buf *b, uint32_t num, uint32_t v);            /* I32 field */
int osp_pb_put_double(osp_buf *b, uint32_t num, double v);               /* I64 field */
int osp_pb_put_bytes(osp_buf *b, uint32_t num, const void *p, size_t n); /* LEN field */
/* A bare length-delimited body: the varint length and the bytes, no tag. */
int osp_pb_put_lenbytes(osp_buf *b, const void *p, size_t n);
static inline int osp_pb_put_lenstr(osp_buf *b, osp_str s)
{
    return osp_pb_put_lenbytes(b, s.p, s.n);
}
static inline int osp_pb_put_str(osp_buf *b, uint32_t num, osp_str s)
{
    return osp_pb_put_bytes(b, num, s.p, s.n);
}

/* Nested messages whose length is unknown up front: begin writes the tag and reserves a
 * length slot, end fills it in with a minimal varint (moving the body down), so output
 * is canonical. Nesting is fine; end the inner before the outer. */
int osp_pb_begin(osp_buf *b, uint32_t num, size_t *mark);
int osp_pb_end(osp_buf *b, size_t mark);

#endif
