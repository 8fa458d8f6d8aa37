/* Attribute values (OTLP AnyValue) and attribute lists in Osprey's canonical encoding.
 *
 * Canonical encoding (private to model/, documented in src/store/embedded/README.md):
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

/* Renders a scalar value as text for matching and display: strings as-is, ints in
 * decimal, doubles in shortest round-trip form, bools true/false, bytes as base64,
 * arrays and kvlists as compact JSON. Appends to out. */
int osp_value_to_text(const osp_value *v, osp_buf *out);

/* Value equality (same type and same bytes/number). */
int osp_value_eq(const osp_value *a, const osp_value *b);

#endif
