/* Attribute values (OTLP AnyValue) and attribute lists in Osprey's canonical encoding.
 *
 * Canonical encoding (private to model/, specified at the top of attr.c):
 * an attribute list ("attrs blob") is the bytes of an OTLP KeyValueList message, i.e. a
 * sequence of field-1 KeyValue records; each KeyValue holds key (1) and value (2, an
 * AnyValue with exactly one oneof member set, or none for the empty value). Arrays are
 * ArrayValue bodies, kvlists are attrs blobs. Both decoders (protobuf and JSON) produce
 * byte-identical blobs for the same data, so rows compare with memcmp. */
#ifndef OSP_MODEL_ATTR_H
#define OSP_MODEL_ATTR_H

#include <stdint.h>

#include "core/buf.h"
#include "core/pb.h"
#include "core/str.h"

typedef enum osp_value_type {
    OSP_VAL_EMPTY = 0,
    OSP_VAL_STRING,
    OSP_VAL_BOOL,
    OSP_VAL_INT,
    OSP_VAL_DOUBLE,
    OSP_VAL_BYTES,
    OSP_VAL_ARRAY,  /* s = canonical ArrayValue body (field-1 AnyValue records) */
    OSP_VAL_KVLIST, /* s = attrs blob */
} osp_value_type;

typedef struct osp_value {
    osp_value_type type;
    osp_str s; /* STRING, BYTES (raw bytes), ARRAY, KVLIST */
    int64_t i; /* INT; BOOL as 0/1 */
    double d;  /* DOUBLE */
} osp_value;

/* Decodes one canonical AnyValue message. 0 or OSP_ECORRUPT. */
int osp_value_decode(osp_str anyvalue, osp_value *v);

/* Iterates an attrs blob (or a KVLIST value's s). */
typedef struct osp_attr_iter {
    osp_pb_reader r;
} osp_attr_iter;
void osp_attr_iter_init(osp_attr_iter *it, osp_str attrs);
/* Returns 1 with the next key and value, 0 at the end, OSP_ECORRUPT on bad bytes. */
int osp_attr_next(osp_attr_iter *it, osp_str *key, osp_value *v);
/* The same without decoding the value: *value is its AnyValue bytes, already checked to be
 * what osp_value_decode accepts (decode them only when needed). Same returns. */
int osp_attr_next_raw(osp_attr_iter *it, osp_str *key, osp_str *value);

/* Iterates the elements of an ARRAY value's s. Same returns as osp_attr_next. */
typedef struct osp_array_iter {
    osp_pb_reader r;
} osp_array_iter;
void osp_array_iter_init(osp_array_iter *it, osp_str array_body);
int osp_array_next(osp_array_iter *it, osp_value *v);

/* Finds the first attribute named key. 1 found, 0 absent, OSP_ECORRUPT. */
int osp_attr_find(osp_str attrs, osp_str key, osp_value *v);

/* Number of attributes in a blob (0 for a corrupt blob). */
size_t osp_attr_count(osp_str attrs);

/* Appends one canonical KeyValue record (key, value) to an attrs blob being built. For
 * ARRAY and KVLIST values, v->s must already be a canonical body. 0 or buffer error. */
int osp_attr_append(osp_buf *attrs, osp_str key, const osp_value *v);
/* Appends one element to an ArrayValue body being built. */
int osp_array_append(osp_buf *array_body, const osp_value *v);

/* Streaming construction, for decoders that re-encode nested values in one pass without
 * intermediate buffers. Between a begin and its end exactly one value is written: either
 * osp_value_put, or osp_value_begin_nested ... osp_value_end_nested around the elements
 * (osp_array_begin_elem/osp_array_end_elem for an ARRAY, osp_attr_begin/osp_attr_end for a
 * KVLIST). Ends close in reverse order of begins. All return 0 or the buffer's error. */
typedef struct osp_attr_mark {
    size_t kv, val; /* length slots of the KeyValue record and of its value */
} osp_attr_mark;
int osp_attr_begin(osp_buf *attrs, osp_str key, osp_attr_mark *m);
int osp_attr_end(osp_buf *attrs, const osp_attr_mark *m);
int osp_array_begin_elem(osp_buf *array_body, size_t *mark);
int osp_array_end_elem(osp_buf *array_body, size_t mark);
/* Writes the canonical AnyValue body of v (no tag or length of its own). */
int osp_value_put(osp_buf *out, const osp_value *v);
/* Opens an ARRAY or KVLIST member inside an AnyValue body; the elements follow. */
int osp_value_begin_nested(osp_buf *out, osp_value_type type, size_t *mark);
int osp_value_end_nested(osp_buf *out, size_t mark);

/* Renders a scalar value as text for matching and display: strings as-is, ints in
 * decimal, doubles in shortest round-trip form (NaN, Infinity, -Infinity for the
 * non-finite), bools true/false, bytes as base64, the empty value as "", arrays and
 * kvlists as compact JSON (elements as JSON values: empty as null, bytes and non-finite
 * doubles as strings). Appends to out. 0, OSP_ECORRUPT for a bad nested body, or the
 * buffer's error. */
int osp_value_to_text(const osp_value *v, osp_buf *out);

/* Value equality (same type and same bytes/number; doubles compare bit for bit, so NaN
 * equals the same NaN and 0.0 differs from -0.0, as their encodings do). */
int osp_value_eq(const osp_value *a, const osp_value *b);

#endif
