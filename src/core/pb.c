/* Protobuf wire reader and writer. */
#include "core/pb.h"

#include <string.h>

#include "core/err.h"

static int fail(osp_pb_reader *r, const char *why)
{
    r->error = why;
    return OSP_EPARSE;
}

int osp__pb_read_varint_long(osp_pb_reader *r, uint64_t *v)
{
    const uint8_t *p = r->p;
    /* With room for the longest, the loop has a constant bound the compiler unrolls; one
     * loop bounded by what remains took 5% more instructions in a count that decodes a
     * block's times (varints all). Near the end, the loop below checks each byte. */
    if (r->end - p >= 10) {
        uint64_t x = 0;
        for (int i = 0; i < 10; i++) {
            uint64_t c = p[i];
            x |= (c & 0x7F) << (7 * i);
            if (c < 0x80) {
                if (i == 9 && c > 1)
                    break;
                r->p = p + i + 1;
                *v = x;
                return 0;
            }
        }
        return fail(r, "varint longer than 64 bits");
    }
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end)
            return fail(r, "truncated varint");
        uint8_t c = *r->p++;
        if (shift == 63 && c > 1)
            return fail(r, "varint longer than 64 bits");
        x |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return fail(r, "varint longer than 64 bits");
}

int osp_pb_read_lenbytes(osp_pb_reader *r, osp_str *s)
{
    uint64_t n;
    if (osp_pb_read_varint(r, &n))
        return OSP_EPARSE;
    if (n > (uint64_t)(r->end - r->p))
        return fail(r, "length past the end of the message");
    *s = osp_str_make((const char *)r->p, (size_t)n);
    r->p += n;
    return 0;
}

/* Reads one field; on failure r->error says why (r->p is reset by osp_pb_next). */
static int next_field(osp_pb_reader *r, osp_pb_field *f)
{
    uint64_t key;
    if (osp_pb_read_varint(r, &key))
        return OSP_EPARSE;
    if (key >> 32)
        return fail(r, "field number out of range");
    f->num = (uint32_t)(key >> 3);
    f->wire = (enum osp_pb_wire)(key & 7);
    if (f->num == 0)
        return fail(r, "field number 0");
    f->bytes = OSP_STR_NULL;
    switch (f->wire) {
    case OSP_PB_VARINT:
        return osp_pb_read_varint(r, &f->u64) ? OSP_EPARSE : 1;
    case OSP_PB_I64:
        if (r->end - r->p < 8)
            return fail(r, "truncated 64-bit field");
        memcpy(&f->u64, r->p, 8); /* little-endian host assumed (x86_64, aarch64) */
        r->p += 8;
        return 1;
    case OSP_PB_I32: {
        uint32_t v;
        if (r->end - r->p < 4)
            return fail(r, "truncated 32-bit field");
        memcpy(&v, r->p, 4);
        f->u64 = v;
        r->p += 4;
        return 1;
    }
    case OSP_PB_LEN:
        if (osp_pb_read_lenbytes(r, &f->bytes))
            return OSP_EPARSE;
        f->u64 = f->bytes.n;
        return 1;
    case OSP_PB_SGROUP:
    case OSP_PB_EGROUP:
        return fail(r, "group wire type (3/4) is not supported");
    default:
        return fail(r, "invalid wire type");
    }
}

int osp_pb_next(osp_pb_reader *r, osp_pb_field *f)
{
    if (r->p >= r->end)
        return 0;
    const uint8_t *start = r->p;
    int rc = next_field(r, f);
    if (rc < 0)
        r->p = start;
    return rc;
}

int osp_pb_put_tag(osp_buf *b, uint32_t num, enum osp_pb_wire wire)
{
    return osp_pb_put_varint(b, (uint64_t)num << 3 | (uint64_t)wire);
}

int osp_pb_put_uint(osp_buf *b, uint32_t num, uint64_t v)
{
    int rc = osp_pb_put_tag(b, num, OSP_PB_VARINT);
    return rc ? rc : osp_pb_put_varint(b, v);
}

int osp_pb_put_fixed64(osp_buf *b, uint32_t num, uint64_t v)
{
    int rc = osp_pb_put_tag(b, num, OSP_PB_I64);
    return rc ? rc : osp_buf_append(b, &v, 8);
}

int osp_pb_put_fixed32(osp_buf *b, uint32_t num, uint32_t v)
{
    int rc = osp_pb_put_tag(b, num, OSP_PB_I32);
    return rc ? rc : osp_buf_append(b, &v, 4);
}

int osp_pb_put_double(osp_buf *b, uint32_t num, double v)
{
    return osp_pb_put_fixed64(b, num, osp_pb_double_bits(v));
}

int osp_pb_put_lenbytes(osp_buf *b, const void *p, size_t n)
{
    int rc = osp_pb_put_varint(b, n);
    return rc ? rc : osp_buf_append(b, p, n);
}

int osp_pb_put_bytes(osp_buf *b, uint32_t num, const void *p, size_t n)
{
    int rc = osp_pb_put_tag(b, num, OSP_PB_LEN);
    if (rc == 0)
        rc = osp_pb_put_lenbytes(b, p, n);
    return rc;
}

#define SLOT 5 /* enough for any length below 2^35 */

int osp_pb_begin(osp_buf *b, uint32_t num, size_t *mark)
{
    int rc = osp_pb_put_tag(b, num, OSP_PB_LEN);
    if (rc == 0)
        rc = osp_buf_reserve(b, SLOT);
    if (rc)
        return rc;
    *mark = b->len;
    b->len += SLOT;
    return 0;
}

int osp_pb_end(osp_buf *b, size_t mark)
{
    size_t body = b->len - mark - SLOT;
    uint8_t tmp[10];
    size_t n = osp_pb_encode_varint(tmp, body);
    memcpy(b->data + mark, tmp, n);
    if (n < SLOT) {
        memmove(b->data + mark + n, b->data + mark + SLOT, body);
        b->len -= SLOT - n;
    }
    return 0;
}
