/* Attribute values and attribute lists in Osprey's canonical encoding.
 *
 * Canonical encoding (the storage format of every attribute column; equal data gives
 * equal bytes, so rows compare with memcmp):
 *
 *   attrs blob   = KeyValueList body: zero or more records
 *                    tag 0x0A (field 1, LEN), length, KeyValue
 *   KeyValue     = tag 0x0A, length, key bytes            (always written, even "")
 *                  tag 0x12, length, AnyValue             (always written, even empty)
 *   AnyValue     = exactly one member, or no bytes at all for the empty value:
 *                    0x0A len bytes   string_value  (UTF-8; "" is written)
 *                    0x10 varint      bool_value    (0 or 1)
 *                    0x18 varint      int_value     (two's complement, 10 bytes if < 0)
 *                    0x21 8 bytes     double_value  (IEEE 754 little-endian)
 *                    0x2A len body    array_value   (body: ArrayValue, see below)
 *                    0x32 len body    kvlist_value  (body: an attrs blob)
 *                    0x3A len bytes   bytes_value
 *                  Members holding the default (0, false, 0.0, "") are written, since
 *                  oneof members have presence.
 *   ArrayValue   = zero or more records: tag 0x0A, length, AnyValue
 *
 * All lengths and varints are minimal (core/pb.h writers), and fields appear in the order
 * above, so the blob is also a valid OTLP KeyValueList / ArrayValue message. Attribute
 * order is kept as received; duplicate keys are kept (osp_attr_find returns the first). */
#include "model/attr.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/base64.h"
#include "core/err.h"

/* Deepest nesting osp_value_to_text follows; blobs deeper than this are corrupt (the
 * decoders accept far less). */
#define TEXT_MAX_DEPTH 100

/* A reader over s that never forms a pointer from NULL. */
static osp_pb_reader reader_of(osp_str s)
{
    return s.n ? osp_pb_reader_make(s.p, s.n) : osp_pb_reader_make("", 0);
}

int osp_value_decode(osp_str anyvalue, osp_value *v)
{
    osp_pb_reader r = reader_of(anyvalue);
    osp_pb_field f;
    *v = (osp_value){.type = OSP_VAL_EMPTY};
    int rc = osp_pb_next(&r, &f);
    if (rc == 0)
        return 0;
    if (rc < 0 || r.p != r.end)
        return OSP_ECORRUPT; /* malformed, or more than one member */
    enum osp_pb_wire want = OSP_PB_LEN;
    switch (f.num) {
    case 1:
        v->type = OSP_VAL_STRING;
        break;
    case 2:
        v->type = OSP_VAL_BOOL;
        v->i = f.u64 != 0;
        want = OSP_PB_VARINT;
        break;
    case 3:
        v->type = OSP_VAL_INT;
        v->i = (int64_t)f.u64;
        want = OSP_PB_VARINT;
        break;
    case 4:
        v->type = OSP_VAL_DOUBLE;
        v->d = osp_pb_as_double(f.u64);
        want = OSP_PB_I64;
        break;
    case 5:
        v->type = OSP_VAL_ARRAY;
        break;
    case 6:
        v->type = OSP_VAL_KVLIST;
        break;
    case 7:
        v->type = OSP_VAL_BYTES;
        break;
    default:
        return OSP_ECORRUPT;
    }
    if (f.wire != want)
        return OSP_ECORRUPT;
    v->s = f.bytes;
    return 0;
}

void osp_attr_iter_init(osp_attr_iter *it, osp_str attrs)
{
    it->r = reader_of(attrs);
}

/* ---- attribute iteration ----
 * The canonical layout (a KeyValue as tag 0x0A, key, then tag 0x12, value) is read
 * directly; anything else a protobuf reader accepts takes the general path. */

/* The key and AnyValue bytes of a KeyValue body laid out in any order osp_attr_next
 * accepts (the last key and value win). 0 or OSP_ECORRUPT. */
static int split_kv_general(osp_str body, osp_str *key, osp_str *val)
{
    osp_pb_reader r = osp_pb_reader_make(body.p, body.n);
    osp_pb_field f;
    int rc;
    *key = *val = OSP_STR_NULL;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (f.wire != OSP_PB_LEN || (f.num != 1 && f.num != 2))
            return OSP_ECORRUPT;
        *(f.num == 1 ? key : val) = f.bytes;
    }
    return rc < 0 ? OSP_ECORRUPT : 0;
}

/* Reads one length-prefixed field with one-byte tag `tag` from r into *s. 1 read, 0 not
 * that layout (r unchanged). */
static int take_len(osp_pb_reader *r, uint8_t tag, osp_str *s)
{
    osp_pb_reader t = *r;
    uint64_t n;
    if (t.p >= t.end || *t.p++ != tag || osp_pb_read_varint(&t, &n) || n > (uint64_t)(t.end - t.p))
        return 0;
    *s = osp_str_make((const char *)t.p, (size_t)n);
    r->p = t.p + n;
    return 1;
}

/* The key and AnyValue bytes of one KeyValue body. 0 or OSP_ECORRUPT. */
static int split_kv(osp_str body, osp_str *key, osp_str *val)
{
    osp_pb_reader r = osp_pb_reader_make(body.p, body.n);
    *val = OSP_STR_NULL;
    if (take_len(&r, 0x0A, key) && (r.p == r.end || take_len(&r, 0x12, val)) && r.p == r.end)
        return 0;
    return split_kv_general(body, key, val);
}

/* 1 when osp_value_decode accepts the AnyValue bytes v; the canonical one-byte tags are
 * checked without decoding. */
static int value_ok(osp_str v)
{
    osp_pb_reader r;
    uint64_t x;
    osp_value dummy;
    if (v.n == 0)
        return 1;
    r = osp_pb_reader_make(v.p, v.n);
    switch (*r.p++) {
    case 0x0A: /* string, array, kvlist, bytes: one length covering the rest */
    case 0x2A:
    case 0x32:
    case 0x3A:
        return osp_pb_read_varint(&r, &x) == 0 && x == (uint64_t)(r.end - r.p);
    case 0x10: /* bool, int */
    case 0x18:
        return osp_pb_read_varint(&r, &x) == 0 && r.p == r.end;
    case 0x21: /* double */
        return v.n == 9;
    default:
        return osp_value_decode(v, &dummy) == 0;
    }
}

int osp_attr_next_raw(osp_attr_iter *it, osp_str *key, osp_str *value)
{
    osp_pb_reader *r = &it->r;
    osp_pb_field f = {.num = 1, .wire = OSP_PB_LEN};
    if (r->p >= r->end)
        return 0;
    if (!take_len(r, 0x0A, &f.bytes) && osp_pb_next(r, &f) < 0)
        return OSP_ECORRUPT;
    if (f.num != 1 || f.wire != OSP_PB_LEN || split_kv(f.bytes, key, value) != 0 ||
        !value_ok(*value))
        return OSP_ECORRUPT;
    return 1;
}

int osp_attr_next(osp_attr_iter *it, osp_str *key, osp_value *v)
{
    osp_str raw;
    int rc = osp_attr_next_raw(it, key, &raw);
    if (rc <= 0)
        return rc;
    return osp_value_decode(raw, v) < 0 ? OSP_ECORRUPT : 1;
}

void osp_array_iter_init(osp_array_iter *it, osp_str array_body)
{
    it->r = reader_of(array_body);
}

int osp_array_next(osp_array_iter *it, osp_value *v)
{
    osp_pb_field f;
    int rc = osp_pb_next(&it->r, &f);
    if (rc <= 0)
        return rc < 0 ? OSP_ECORRUPT : 0;
    if (f.num != 1 || f.wire != OSP_PB_LEN || osp_value_decode(f.bytes, v) < 0)
        return OSP_ECORRUPT;
    return 1;
}

int osp_attr_find(osp_str attrs, osp_str key, osp_value *v)
{
    osp_attr_iter it;
    osp_str k;
    int rc;
    osp_attr_iter_init(&it, attrs);
    while ((rc = osp_attr_next(&it, &k, v)) == 1)
        if (osp_str_eq(k, key))
            return 1;
    return rc;
}

size_t osp_attr_count(osp_str attrs)
{
    osp_attr_iter it;
    osp_str k;
    osp_value v;
    size_t n = 0;
    int rc;
    osp_attr_iter_init(&it, attrs);
    while ((rc = osp_attr_next(&it, &k, &v)) == 1)
        n++;
    return rc < 0 ? 0 : n;
}

int osp_value_put(osp_buf *out, const osp_value *v)
{
    switch (v->type) {
    case OSP_VAL_EMPTY:
        return 0;
    case OSP_VAL_STRING:
        return osp_pb_put_str(out, 1, v->s);
    case OSP_VAL_BOOL:
        return osp_pb_put_uint(out, 2, v->i != 0);
    case OSP_VAL_INT:
        return osp_pb_put_uint(out, 3, (uint64_t)v->i);
    case OSP_VAL_DOUBLE:
        return osp_pb_put_double(out, 4, v->d);
    case OSP_VAL_ARRAY:
        return osp_pb_put_str(out, 5, v->s);
    case OSP_VAL_KVLIST:
        return osp_pb_put_str(out, 6, v->s);
    case OSP_VAL_BYTES:
        return osp_pb_put_str(out, 7, v->s);
    }
    return OSP_EINVAL;
}

int osp_value_begin_nested(osp_buf *out, osp_value_type type, size_t *mark)
{
    assert(type == OSP_VAL_ARRAY || type == OSP_VAL_KVLIST);
    return osp_pb_begin(out, type == OSP_VAL_ARRAY ? 5 : 6, mark);
}

int osp_value_end_nested(osp_buf *out, size_t mark)
{
    return osp_pb_end(out, mark);
}

int osp_attr_begin(osp_buf *attrs, osp_str key, osp_attr_mark *m)
{
    int rc = osp_pb_begin(attrs, 1, &m->kv);
    if (rc == 0)
        rc = osp_pb_put_str(attrs, 1, key);
    if (rc == 0)
        rc = osp_pb_begin(attrs, 2, &m->val);
    return rc;
}

int osp_attr_end(osp_buf *attrs, const osp_attr_mark *m)
{
    int rc = osp_pb_end(attrs, m->val);
    return rc ? rc : osp_pb_end(attrs, m->kv);
}

int osp_array_begin_elem(osp_buf *array_body, size_t *mark)
{
    return osp_pb_begin(array_body, 1, mark);
}

int osp_array_end_elem(osp_buf *array_body, size_t mark)
{
    return osp_pb_end(array_body, mark);
}

int osp_attr_append(osp_buf *attrs, osp_str key, const osp_value *v)
{
    osp_attr_mark m;
    int rc = osp_attr_begin(attrs, key, &m);
    if (rc == 0)
        rc = osp_value_put(attrs, v);
    return rc ? rc : osp_attr_end(attrs, &m);
}

int osp_array_append(osp_buf *array_body, const osp_value *v)
{
    size_t mark;
    int rc = osp_array_begin_elem(array_body, &mark);
    if (rc == 0)
        rc = osp_value_put(array_body, v);
    return rc ? rc : osp_array_end_elem(array_body, mark);
}

/* Shortest of %.15g, %.16g, %.17g that reads back as the same double. */
static int put_double(osp_buf *out, double d)
{
    char tmp[32];
    for (int prec = 15; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            return osp_buf_puts(out, tmp);
    }
    return osp_buf_printf(out, "%.17g", d);
}

static int put_bytes_b64(osp_buf *out, osp_str s)
{
    int rc = osp_buf_reserve(out, OSP_BASE64_LEN(s.n));
    if (rc == 0 && s.n)
        out->len += osp_base64_encode((const uint8_t *)s.p, s.n, out->data + out->len);
    return rc;
}

static int put_json(const osp_value *v, osp_buf *out, int depth);

/* Text form; `json` selects the form used for elements inside arrays and kvlists. */
static int put_text(const osp_value *v, osp_buf *out, int json, int depth)
{
    int rc = 0;
    if (depth > TEXT_MAX_DEPTH)
        return OSP_ECORRUPT;
    switch (v->type) {
    case OSP_VAL_EMPTY:
        return json ? osp_buf_puts(out, "null") : 0;
    case OSP_VAL_STRING:
        return json ? osp_buf_json_str(out, v->s.p, v->s.n) : osp_buf_append_str(out, v->s);
    case OSP_VAL_BOOL:
        return osp_buf_puts(out, v->i ? "true" : "false");
    case OSP_VAL_INT:
        return osp_buf_printf(out, "%" PRId64, v->i);
    case OSP_VAL_DOUBLE:
        if (isfinite(v->d))
            return put_double(out, v->d);
        if (json)
            rc = osp_buf_putc(out, '"');
        if (rc == 0)
            rc = osp_buf_puts(out, isnan(v->d) ? "NaN" : v->d > 0 ? "Infinity" : "-Infinity");
        if (rc == 0 && json)
            rc = osp_buf_putc(out, '"');
        return rc;
    case OSP_VAL_BYTES:
        if (json)
            rc = osp_buf_putc(out, '"');
        if (rc == 0)
            rc = put_bytes_b64(out, v->s);
        if (rc == 0 && json)
            rc = osp_buf_putc(out, '"');
        return rc;
    case OSP_VAL_ARRAY:
    case OSP_VAL_KVLIST:
        return put_json(v, out, depth);
    }
    return OSP_ECORRUPT;
}

/* Compact JSON for an ARRAY or KVLIST value. */
static int put_json(const osp_value *v, osp_buf *out, int depth)
{
    int array = v->type == OSP_VAL_ARRAY, rc, more;
    osp_array_iter ai;
    osp_attr_iter ki;
    osp_value e;
    osp_str k;
    osp_array_iter_init(&ai, v->s);
    osp_attr_iter_init(&ki, v->s);
    rc = osp_buf_putc(out, array ? '[' : '{');
    for (int n = 0; rc == 0; n++) {
        more = array ? osp_array_next(&ai, &e) : osp_attr_next(&ki, &k, &e);
        if (more <= 0) {
            rc = more;
            break;
        }
        if (n)
            rc = osp_buf_putc(out, ',');
        if (rc == 0 && !array) {
            rc = osp_buf_json_str(out, k.p, k.n);
            if (rc == 0)
                rc = osp_buf_putc(out, ':');
        }
        if (rc == 0)
            rc = put_text(&e, out, 1, depth + 1);
    }
    return rc ? rc : osp_buf_putc(out, array ? ']' : '}');
}

int osp_value_to_text(const osp_value *v, osp_buf *out)
{
    return put_text(v, out, 0, 0);
}

int osp_value_eq(const osp_value *a, const osp_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case OSP_VAL_EMPTY:
        return 1;
    case OSP_VAL_BOOL:
    case OSP_VAL_INT:
        return a->i == b->i;
    case OSP_VAL_DOUBLE:
        return memcmp(&a->d, &b->d, sizeof a->d) == 0;
    case OSP_VAL_STRING:
    case OSP_VAL_BYTES:
    case OSP_VAL_ARRAY:
    case OSP_VAL_KVLIST:
        return osp_str_eq(a->s, b->s);
    }
    return 0;
}
