/* What the OTLP/JSON trace and metrics decoders share (proto/otlp_json_int.h): members,
 * scalars, ids, AnyValue and KeyValue lists streamed into canonical blobs, Resource,
 * InstrumentationScope and EntityRef. */
#include "proto/otlp_json_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/base64.h"
#include "core/err.h"
#include "model/attr.h"

void osp__ojson_init(osp__ojson *j, osp_str body, osp_decode_report *rep, osp_arena *arena,
                     size_t cap)
{
    osp_buf *all[] = {&j->scratch,  &j->key,         &j->bytes,  &j->res_attrs,
                      &j->res_refs, &j->scope_attrs, &j->idkeys, &j->desckeys};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        osp_buf_init(all[i], cap);
    j->rep = rep;
    j->arena = arena;
    rep->rejected = 0;
    rep->message[0] = '\0';
    osp_json_reader_init(&j->r, body, &j->scratch);
}

void osp__ojson_cleanup(osp__ojson *j)
{
    osp_buf *all[] = {&j->scratch,  &j->key,         &j->bytes,  &j->res_attrs,
                      &j->res_refs, &j->scope_attrs, &j->idkeys, &j->desckeys};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        osp_buf_cleanup(all[i]);
}

void osp__ojson_set_fault(osp__ojson_fault *f, const char *fmt, ...)
{
    if (f->msg[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
}

int osp__ojson_invalid(osp__ojson *j, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = osp_json_vshape_error(j->rep->message, sizeof j->rep->message, "invalid OTLP/JSON",
                                   off, fmt, ap);
    va_end(ap);
    return rc;
}

int osp__ojson_bad_value(osp__ojson *j, const osp_json_token *t, const char *field,
                         const char *want)
{
    return osp__ojson_invalid(j, t->off, "%s must be %s", field, want);
}

int osp__ojson_syntax_error(osp__ojson *j, int rc)
{
    return osp_json_syntax_error(&j->r, rc, j->rep->message, sizeof j->rep->message);
}

int osp__ojson_next(osp__ojson *j, osp_json_token *t)
{
    int rc = osp_json_next(&j->r, t);
    return rc < 0 ? osp__ojson_syntax_error(j, rc) : rc;
}

int osp__ojson_next_key(osp__ojson *j, osp_json_token *k)
{
    int rc = osp__ojson_next(j, k);
    return rc < 0 ? rc : k->type == OSP_JSON_KEY;
}

int osp__ojson_read_tok(osp__ojson *j, osp_json_token *t)
{
    int rc = osp__ojson_next(j, t);
    return rc < 0 ? rc : t->type != OSP_JSON_NULL;
}

int osp__ojson_member_of(osp__ojson *j, const osp_json_token *k, const osp__ojson_name *names,
                         int n, uint32_t allowed, uint32_t *seen, int *idx)
{
    *idx = -1;
    for (int i = 0; i < n; i++) {
        if (!osp_str_eqz(k->s, names[i].json) &&
            !(names[i].proto && osp_str_eqz(k->s, names[i].proto)))
            continue;
        if (!(allowed & 1u << i))
            break;
        if (*seen & 1u << i)
            return osp__ojson_invalid(j, k->off, "duplicate member \"%s\"", names[i].json);
        *seen |= 1u << i;
        *idx = i;
        break;
    }
    return 0;
}

int osp__ojson_skip_value(osp__ojson *j)
{
    osp_json_token t;
    int rc = osp__ojson_next(j, &t);
    return rc < 0 ? rc : osp__ojson_syntax_error(j, osp_json_skip(&j->r, &t));
}

int osp__ojson_open_value(osp__ojson *j, osp_json_type type, const char *field)
{
    osp_json_token t;
    int rc = osp__ojson_read_tok(j, &t);
    if (rc == 1 && t.type != type)
        return osp__ojson_bad_value(j, &t, field,
                                    type == OSP_JSON_OBJECT_BEGIN ? "an object" : "an array");
    return rc;
}

int osp__ojson_each_object(osp__ojson *j, const char *field, int (*fn)(osp__ojson *, void *),
                           void *arg)
{
    osp_json_token t;
    int rc = osp__ojson_open_value(j, OSP_JSON_ARRAY_BEGIN, field);
    while (rc == 1 && (rc = osp__ojson_next(j, &t)) == 1 && t.type != OSP_JSON_ARRAY_END) {
        if (t.type == OSP_JSON_OBJECT_BEGIN)
            rc = fn(j, arg);
        else if (t.type != OSP_JSON_NULL)
            rc = osp__ojson_bad_value(j, &t, field, "an array of objects");
        rc = rc < 0 ? rc : 1;
    }
    return rc < 0 ? rc : 0;
}

int osp__ojson_tok_int(const osp_json_token *t, int64_t min, uint64_t max, int sign, uint64_t *out)
{
    if (t->type != OSP_JSON_NUMBER && t->type != OSP_JSON_STRING)
        return -1;
    if (!sign)
        return osp_json_uint64(t->s, out) || *out > max ? -1 : 0;
    int64_t v;
    if (osp_json_int64(t->s, &v) || v < min || (v > 0 && (uint64_t)v > max))
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int osp__ojson_tok_double(const osp_json_token *t, double *v)
{
    if (t->type == OSP_JSON_STRING && osp_str_eqz(t->s, "NaN"))
        *v = NAN;
    else if (t->type == OSP_JSON_STRING && osp_str_eqz(t->s, "Infinity"))
        *v = INFINITY;
    else if (t->type == OSP_JSON_STRING && osp_str_eqz(t->s, "-Infinity"))
        *v = -INFINITY;
    else if ((t->type != OSP_JSON_NUMBER && t->type != OSP_JSON_STRING) || osp_json_double(t->s, v))
        return -1;
    return 0;
}

int osp__ojson_get_str(osp__ojson *j, const char *field, osp_str *out)
{
    osp_json_token t;
    int rc = osp__ojson_read_tok(j, &t);
    if (rc <= 0)
        return rc;
    if (t.type != OSP_JSON_STRING)
        return osp__ojson_bad_value(j, &t, field, "a string");
    *out = t.escaped ? osp_arena_strdup(j->arena, t.s) : t.s;
    return out->p || !t.escaped ? 0 : OSP_ENOMEM;
}

int osp__ojson_get_uint(osp__ojson *j, const char *field, uint64_t max, uint64_t *out)
{
    osp_json_token t;
    uint64_t v;
    int rc = osp__ojson_read_tok(j, &t);
    if (rc <= 0)
        return rc;
    if (osp__ojson_tok_int(&t, 0, max, 0, &v))
        return osp__ojson_bad_value(
            j, &t, field, max == UINT32_MAX ? "a uint32 integer" : "a uint64 integer or string");
    *out = v;
    return 0;
}

int osp__ojson_get_u32(osp__ojson *j, const char *field, uint32_t *out)
{
    uint64_t v = *out;
    int rc = osp__ojson_get_uint(j, field, UINT32_MAX, &v);
    *out = (uint32_t)v;
    return rc;
}

int osp__ojson_get_id(osp__ojson *j, const char *field, uint8_t *id, size_t cap, size_t *len)
{
    osp_json_token t;
    int rc = osp__ojson_read_tok(j, &t);
    if (rc <= 0)
        return rc;
    if (t.type != OSP_JSON_STRING)
        return osp__ojson_bad_value(j, &t, field, "a hex string");
    memset(id, 0, cap);
    if (t.s.n % 2)
        *len = SIZE_MAX;
    else if (t.s.n / 2 != cap)
        *len = t.s.n / 2;
    else
        *len = osp_hex_decode(t.s.p, cap, id) ? SIZE_MAX : cap;
    return 0;
}

int osp__ojson_get_enum(osp__ojson *j, const char *field, int32_t *out)
{
    osp_json_token t;
    int64_t v;
    int rc = osp__ojson_read_tok(j, &t);
    if (rc <= 0)
        return rc;
    if (t.type != OSP_JSON_NUMBER || osp_json_int64(t.s, &v) || v < INT32_MIN || v > INT32_MAX)
        return osp__ojson_bad_value(j, &t, field, "an integer enum value");
    *out = (int32_t)v;
    return 0;
}

int osp__ojson_check_id(osp__ojson_fault *f, const char *what, const uint8_t *id, size_t want,
                        size_t len, enum osp__ojson_id_rule rule)
{
    static const uint8_t zero[16];
    if (len == SIZE_MAX)
        osp__ojson_set_fault(f, "%s is not a hex string", what);
    else if (rule == OSP__OJSON_ID_OPTIONAL && len != 0 && len != want)
        osp__ojson_set_fault(f, "%s must be empty or %zu bytes, got %zu", what, want, len);
    else if (rule != OSP__OJSON_ID_OPTIONAL && len != want)
        osp__ojson_set_fault(f, "%s must be %zu bytes, got %zu", what, want, len);
    else if (rule == OSP__OJSON_ID_NONZERO && memcmp(id, zero, want) == 0)
        osp__ojson_set_fault(f, "%s is all zero", what);
    else
        return 1;
    return 0;
}

void osp__ojson_reject(osp__ojson *j, int64_t n, const char *fmt, ...)
{
    j->rep->rejected += n;
    if (j->rep->message[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->rep->message, sizeof j->rep->message, fmt, ap);
    va_end(ap);
}

int osp__ojson_keep_blob(osp__ojson *j, const osp_buf *src, osp_str *out)
{
    *out = OSP_STR_NULL;
    if (src->len == 0)
        return 0;
    out->p = osp_arena_memdup(j->arena, src->data, src->len);
    out->n = src->len;
    return out->p ? 0 : OSP_ENOMEM;
}

/* ---- AnyValue and KeyValue lists ---- */

static int decode_elems(osp__ojson *j, int depth, int array, osp_buf *out, osp__ojson_fault *f,
                        const char *field);

/* AnyValue members, in the order of their protobuf field numbers. */
enum { AV_STRING, AV_BOOL, AV_INT, AV_DOUBLE, AV_BYTES, AV_ARRAY, AV_KVLIST, AV_N };
static const osp__ojson_name anyvalue_names[AV_N] = {
    {"stringValue", "string_value"}, {"boolValue", "bool_value"},   {"intValue", "int_value"},
    {"doubleValue", "double_value"}, {"bytesValue", "bytes_value"}, {"arrayValue", "array_value"},
    {"kvlistValue", "kvlist_value"},
};

/* An AnyValue member's token (not null) as a scalar value; v's bytes may live in the
 * scratch or j->bytes until the next read. */
static int scalar_value(osp__ojson *j, int m, const osp_json_token *t, osp_value *v)
{
    int rc = 0;
    switch (m) {
    case AV_STRING:
        *v = (osp_value){.type = OSP_VAL_STRING, .s = t->s};
        return t->type == OSP_JSON_STRING ? 0
                                          : osp__ojson_bad_value(j, t, "stringValue", "a string");
    case AV_BOOL:
        *v = (osp_value){.type = OSP_VAL_BOOL, .i = t->type == OSP_JSON_TRUE};
        if (t->type != OSP_JSON_TRUE && t->type != OSP_JSON_FALSE)
            return osp__ojson_bad_value(j, t, "boolValue", "true or false");
        return 0;
    case AV_INT:
        *v = (osp_value){.type = OSP_VAL_INT};
        if ((t->type != OSP_JSON_NUMBER && t->type != OSP_JSON_STRING) ||
            osp_json_int64(t->s, &v->i))
            return osp__ojson_bad_value(j, t, "intValue", "an int64 integer or string");
        return 0;
    case AV_DOUBLE:
        *v = (osp_value){.type = OSP_VAL_DOUBLE};
        return osp__ojson_tok_double(t, &v->d)
                   ? osp__ojson_bad_value(j, t, "doubleValue", OSP__OJSON_WANT_DOUBLE)
                   : 0;
    default: /* AV_BYTES */
        osp_buf_reset(&j->bytes);
        if (t->type != OSP_JSON_STRING || (rc = osp_base64_decode(t->s, &j->bytes)) == OSP_EPARSE)
            return osp__ojson_bad_value(j, t, "bytesValue", "a base64 string");
        *v = (osp_value){.type = OSP_VAL_BYTES, .s = osp_buf_str(&j->bytes)};
        return rc;
    }
}

/* An ArrayValue or KeyValueList object (just opened) at depth, inside an AnyValue body:
 * its "values" are elements at depth + 1. */
static int decode_list(osp__ojson *j, int depth, osp_value_type type, osp_buf *out,
                       osp__ojson_fault *f, const char *field)
{
    static const osp__ojson_name names[] = {{"values", NULL}};
    osp_json_token k;
    uint32_t seen = 0;
    int rc, m;
    size_t mark;
    if ((rc = osp_value_begin_nested(out, type, &mark)) != 0)
        return rc;
    while ((rc = osp__ojson_next_key(j, &k)) == 1) {
        if ((rc = osp__ojson_member(j, &k, names, 1, &seen, &m)) != 0)
            return rc;
        if (m < 0)
            rc = osp__ojson_skip_value(j);
        else if ((rc = osp__ojson_open_value(j, OSP_JSON_ARRAY_BEGIN, "values")) == 1)
            rc = decode_elems(j, depth + 1, type == OSP_VAL_ARRAY, out, f, field);
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : osp_value_end_nested(out, mark);
}

/* The AnyValue object just opened, at nesting depth (1 = an attribute's value), its
 * canonical body written to out. Values nested too deep make f's owner invalid. */
static int decode_anyvalue(osp__ojson *j, int depth, osp_buf *out, osp__ojson_fault *f,
                           const char *field)
{
    osp_json_token k, t;
    osp_value v;
    uint32_t seen = 0;
    int rc, m, set = 0;
    if (depth > OSP_MAX_ANYVALUE_DEPTH) {
        osp__ojson_set_fault(f, "%s: value nested deeper than %d levels", field,
                             OSP_MAX_ANYVALUE_DEPTH);
        t.type = OSP_JSON_OBJECT_BEGIN;
        return osp__ojson_syntax_error(j, osp_json_skip(&j->r, &t));
    }
    while ((rc = osp__ojson_next_key(j, &k)) == 1) {
        if ((rc = osp__ojson_member(j, &k, anyvalue_names, AV_N, &seen, &m)) != 0)
            return rc;
        if (m < 0) {
            rc = osp__ojson_skip_value(j);
        } else if ((rc = osp__ojson_read_tok(j, &t)) == 1) {
            if (set++)
                return osp__ojson_invalid(j, k.off, "AnyValue with more than one value");
            if (m != AV_ARRAY && m != AV_KVLIST) {
                if ((rc = scalar_value(j, m, &t, &v)) == 0)
                    rc = osp_value_put(out, &v);
            } else if (t.type != OSP_JSON_OBJECT_BEGIN) {
                rc = osp__ojson_bad_value(j, &t, anyvalue_names[m].json, "an object");
            } else {
                rc = decode_list(j, depth, m == AV_ARRAY ? OSP_VAL_ARRAY : OSP_VAL_KVLIST, out, f,
                                 field);
            }
        }
        if (rc < 0)
            return rc;
    }
    return rc; /* no member: the empty value, which has no bytes */
}

/* An AnyValue member (null: the empty value) into out. */
static int read_anyvalue(osp__ojson *j, int depth, osp_buf *out, osp__ojson_fault *f,
                         const char *field)
{
    int rc = osp__ojson_open_value(j, OSP_JSON_OBJECT_BEGIN, "value");
    return rc == 1 ? decode_anyvalue(j, depth, out, f, field) : rc;
}

int osp__ojson_get_anyvalue(osp__ojson *j, osp_buf *out, osp__ojson_fault *f, const char *field)
{
    int rc = osp__ojson_open_value(j, OSP_JSON_OBJECT_BEGIN, field);
    if (rc == 1 && (rc = decode_anyvalue(j, 1, out, f, field)) == 0)
        rc = 1;
    return rc;
}

/* Turns the AnyValue body at the end of out (from vstart on) into a KeyValue record named
 * key, in place: the record is built after the body, then moved down over it. */
static int wrap_value(osp_buf *out, osp_str key, size_t vstart)
{
    size_t vlen = out->len - vstart, rlen;
    osp_attr_mark mark;
    int rc = osp_attr_begin(out, key, &mark);
    if (rc == 0)
        rc = osp_buf_reserve(out, vlen);
    if (rc)
        return rc;
    memcpy(out->data + out->len, out->data + vstart, vlen);
    out->len += vlen;
    if ((rc = osp_attr_end(out, &mark)) != 0)
        return rc;
    rlen = out->len - vstart - vlen;
    memmove(out->data + vstart, out->data + vstart + vlen, rlen);
    out->len = vstart + rlen;
    return 0;
}

/* The KeyValue object just opened, its value at depth, appended to out. The value streams
 * into place after its key; a value given before its key is decoded at the end of out and
 * wrapped once the key is known (linear however deep such values nest). */
static int decode_keyvalue(osp__ojson *j, int depth, osp_buf *out, osp__ojson_fault *f,
                           const char *field)
{
    static const osp__ojson_name names[] = {{"key", NULL}, {"value", NULL}};
    osp_json_token k, t;
    osp_str key = OSP_STR_NULL;
    osp_attr_mark mark;
    size_t vstart = out->len;
    uint32_t seen = 0;
    int rc, m, written = 0;
    while ((rc = osp__ojson_next_key(j, &k)) == 1) {
        if ((rc = osp__ojson_member(j, &k, names, 2, &seen, &m)) != 0)
            return rc;
        if (m < 0) {
            rc = osp__ojson_skip_value(j);
        } else if (m == 0) {
            if ((rc = osp__ojson_read_tok(j, &t)) == 1 && t.type != OSP_JSON_STRING)
                return osp__ojson_bad_value(j, &t, "key", "a string");
            if (rc == 1) {
                key = t.s;
                osp_buf_reset(&j->key);
                if (t.escaped && (rc = osp_buf_append_str(&j->key, t.s)) == 0)
                    key = osp_buf_str(&j->key);
            }
        } else if (seen & 1u) {
            if ((rc = osp_attr_begin(out, key, &mark)) == 0 &&
                (rc = read_anyvalue(j, depth, out, f, field)) >= 0)
                rc = osp_attr_end(out, &mark);
            written = 1;
        } else {
            rc = read_anyvalue(j, depth, out, f, field);
        }
        if (rc < 0)
            return rc;
    }
    return rc < 0 || written ? rc : wrap_value(out, key, vstart);
}

/* The elements of the array just opened, at depth: AnyValues appended to an ArrayValue
 * body (null elements are empty values), or KeyValues appended to an attrs blob (null
 * elements are skipped). */
static int decode_elems(osp__ojson *j, int depth, int array, osp_buf *out, osp__ojson_fault *f,
                        const char *field)
{
    osp_json_token t;
    size_t mark;
    int rc;
    while ((rc = osp__ojson_next(j, &t)) == 1 && t.type != OSP_JSON_ARRAY_END) {
        if (t.type != OSP_JSON_OBJECT_BEGIN && t.type != OSP_JSON_NULL)
            return osp__ojson_bad_value(j, &t, field, "an array of objects");
        if (array) {
            if ((rc = osp_array_begin_elem(out, &mark)) == 0 && t.type == OSP_JSON_OBJECT_BEGIN)
                rc = decode_anyvalue(j, depth, out, f, field);
            if (rc == 0)
                rc = osp_array_end_elem(out, mark);
        } else if (t.type == OSP_JSON_OBJECT_BEGIN) {
            rc = decode_keyvalue(j, depth, out, f, field);
        }
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : 0;
}

int osp__ojson_get_attrs(osp__ojson *j, osp_buf *out, osp__ojson_fault *f, const char *field)
{
    int rc = osp__ojson_open_value(j, OSP_JSON_ARRAY_BEGIN, field);
    return rc == 1 ? decode_elems(j, 1, 0, out, f, field) : rc;
}

/* ---- Resource, EntityRef, InstrumentationScope ---- */

/* A repeated string member of an EntityRef appended to out as canonical key fields. */
static int get_entity_keys(osp__ojson *j, const char *field, int description, osp_buf *out)
{
    osp_json_token t;
    int rc = osp__ojson_open_value(j, OSP_JSON_ARRAY_BEGIN, field);
    while (rc == 1 && (rc = osp__ojson_next(j, &t)) == 1 && t.type != OSP_JSON_ARRAY_END) {
        if (t.type == OSP_JSON_STRING)
            rc = osp_entity_ref_add_key(out, description, t.s);
        else if (t.type != OSP_JSON_NULL)
            rc = osp__ojson_bad_value(j, &t, field, "an array of strings");
        rc = rc < 0 ? rc : 1;
    }
    return rc < 0 ? rc : 0;
}

static int decode_entity_ref(osp__ojson *j, void *arg)
{
    static const osp__ojson_name names[] = {{"schemaUrl", "schema_url"},
                                            {"type", NULL},
                                            {"idKeys", "id_keys"},
                                            {"descriptionKeys", "description_keys"}};
    osp_json_token k;
    osp_str url = OSP_STR_NULL, type = OSP_STR_NULL;
    uint32_t seen = 0;
    size_t mark;
    int rc, m;
    (void)arg;
    osp_buf_reset(&j->idkeys);
    osp_buf_reset(&j->desckeys);
    while ((rc = osp__ojson_next_key(j, &k)) == 1) {
        if ((rc = osp__ojson_member(j, &k, names, 4, &seen, &m)) != 0)
            return rc;
        if (m == 0 || m == 1)
            rc = osp__ojson_get_str(j, names[m].json, m == 0 ? &url : &type);
        else if (m == 2 || m == 3)
            rc = get_entity_keys(j, names[m].json, m == 3, m == 3 ? &j->desckeys : &j->idkeys);
        else
            rc = osp__ojson_skip_value(j);
        if (rc < 0)
            return rc;
    }
    if (rc == 0)
        rc = osp_entity_ref_begin(&j->res_refs, url, type, &mark);
    if (rc == 0)
        rc = osp_buf_append(&j->res_refs, j->idkeys.data, j->idkeys.len);
    if (rc == 0)
        rc = osp_buf_append(&j->res_refs, j->desckeys.data, j->desckeys.len);
    return rc ? rc : osp_entity_ref_end(&j->res_refs, mark);
}

int osp__ojson_decode_resource(osp__ojson *j, osp_resource *res, osp__ojson_fault *f)
{
    static const osp__ojson_name names[] = {{"attributes", NULL},
                                            {"droppedAttributesCount", "dropped_attributes_count"},
                                            {"entityRefs", "entity_refs"}};
    osp_json_token k;
    uint32_t seen = 0;
    int rc, m;
    while ((rc = osp__ojson_next_key(j, &k)) == 1) {
        if ((rc = osp__ojson_member(j, &k, names, 3, &seen, &m)) != 0)
            return rc;
        if (m == 0)
            rc = osp__ojson_get_attrs(j, &j->res_attrs, f, "attributes");
        else if (m == 1)
            rc = osp__ojson_get_u32(j, names[m].json, &res->dropped_attributes);
        else if (m == 2)
            rc = osp__ojson_each_object(j, names[m].json, decode_entity_ref, NULL);
        else
            rc = osp__ojson_skip_value(j);
        if (rc < 0)
            return rc;
    }
    return rc;
}

int osp__ojson_decode_scope(osp__ojson *j, osp_scope *sc, osp__ojson_fault *f)
{
    static const osp__ojson_name names[] = {{"name", NULL},
                                            {"version", NULL},
                                            {"attributes", NULL},
                                            {"droppedAttributesCount", "dropped_attributes_count"}};
    osp_json_token k;
    uint32_t seen = 0;
    int rc, m;
    while ((rc = osp__ojson_next_key(j, &k)) == 1) {
        if ((rc = osp__ojson_member(j, &k, names, 4, &seen, &m)) != 0)
            return rc;
        if (m == 0 || m == 1)
            rc = osp__ojson_get_str(j, names[m].json, m == 0 ? &sc->name : &sc->version);
        else if (m == 2)
            rc = osp__ojson_get_attrs(j, &j->scope_attrs, f, "attributes");
        else if (m == 3)
            rc = osp__ojson_get_u32(j, names[m].json, &sc->dropped_attributes);
        else
            rc = osp__ojson_skip_value(j);
        if (rc < 0)
            return rc;
    }
    return rc;
}

int osp__ojson_decode_body(osp__ojson *j, const osp__ojson_name *list,
                           int (*each)(osp__ojson *, void *))
{
    osp_json_token k;
    uint32_t seen = 0;
    int rc, m;
    if ((rc = osp__ojson_next(j, &k)) < 0)
        return rc;
    if (k.type != OSP_JSON_OBJECT_BEGIN)
        return osp__ojson_bad_value(j, &k, "the body", "an object");
    while ((rc = osp__ojson_next_key(j, &k)) == 1) {
        if ((rc = osp__ojson_member(j, &k, list, 1, &seen, &m)) != 0)
            return rc;
        rc = m == 0 ? osp__ojson_each_object(j, list->json, each, NULL) : osp__ojson_skip_value(j);
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : osp__ojson_next(j, &k); /* 0: nothing follows the object */
}

/* ---- Signals whose rows sit directly in their Scope* objects (traces, logs) ---- */

/* Drops the rows decoded under an invalid resource or scope (rows from first_row on,
 * scopes from first_scope on); first_idx is the request-wide index of its first row. */
static void reject_group(osp__ojson_rowdec *d, size_t first_row, size_t first_scope,
                         int64_t first_idx, const char *what, const osp__ojson_fault *f)
{
    int64_t n = (int64_t)(*d->b.nrows - first_row);
    *d->b.nrows = first_row;
    *d->b.nscopes = first_scope;
    if (n)
        osp__ojson_reject(&d->j, n, "%s %" PRId64 "..%" PRId64 ": %s: %s", d->rows, first_idx,
                          d->nrow - 1, what, f->msg);
}

/* Reads the members of a Resource* object (resource: 1) or a Scope* object (0) into g:
 * names[0], its Resource or InstrumentationScope; names[1], its array of children, each
 * passed to each(j, g); names[2], its schemaUrl. 0 or the first error. */
static int decode_group(osp__ojson *j, const osp__ojson_name *names, int resource,
                        int (*each)(osp__ojson *, void *), osp__ojson_group *g)
{
    osp_json_token k;
    uint32_t seen = 0;
    int rc, m;
    while ((rc = osp__ojson_next_key(j, &k)) == 1) {
        if ((rc = osp__ojson_member(j, &k, names, 3, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
            if ((rc = osp__ojson_open_value(j, OSP_JSON_OBJECT_BEGIN, names[m].json)) == 1)
                rc = resource ? osp__ojson_decode_resource(j, &g->res, &g->f)
                              : osp__ojson_decode_scope(j, &g->sc, &g->f);
            break;
        case 1:
            rc = osp__ojson_each_object(j, names[m].json, each, g);
            break;
        case 2:
            rc = osp__ojson_get_str(j, names[m].json,
                                    resource ? &g->res.schema_url : &g->sc.schema_url);
            break;
        default:
            rc = osp__ojson_skip_value(j);
            break;
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int decode_scope_rows(osp__ojson *j, void *arg)
{
    osp__ojson_rowdec *d = (osp__ojson_rowdec *)j;
    static const osp__ojson_name scope = {"scope", NULL}, url = {"schemaUrl", "schema_url"};
    const osp__ojson_name names[] = {scope, d->names[2], url};
    const osp__ojson_group *parent = arg;
    osp__ojson_group g = {.resource = parent->resource, .scope = (uint32_t)*d->b.nscopes};
    size_t first = *d->b.nrows;
    int64_t idx = d->nrow;
    int rc;
    osp_buf_reset(&j->scope_attrs);
    if ((rc = decode_group(j, names, 0, d->decode_row, &g)) < 0)
        return rc;
    if (g.f.msg[0]) {
        reject_group(d, first, *d->b.nscopes, idx, "scope", &g.f);
        return 0;
    }
    if (*d->b.nrows == first)
        return 0; /* no row for an empty scope */
    osp_scope *row;
    if ((rc = osp__ojson_keep_blob(j, &j->scope_attrs, &g.sc.attributes)) != 0)
        return rc;
    if (!(row = d->b.add_scope(d->b.batch)))
        return OSP_ENOMEM;
    *row = g.sc;
    return 0;
}

static int decode_resource_rows(osp__ojson *j, void *arg)
{
    osp__ojson_rowdec *d = (osp__ojson_rowdec *)j;
    static const osp__ojson_name resource = {"resource", NULL}, url = {"schemaUrl", "schema_url"};
    const osp__ojson_name names[] = {resource, d->names[1], url};
    osp__ojson_group g = {.resource = (uint32_t)*d->b.nresources, .scope = (uint32_t)*d->b.nscopes};
    osp_value v;
    size_t first = *d->b.nrows;
    int64_t idx = d->nrow;
    int rc;
    (void)arg;
    osp_buf_reset(&j->res_attrs);
    osp_buf_reset(&j->res_refs);
    if ((rc = decode_group(j, names, 1, decode_scope_rows, &g)) < 0)
        return rc;
    if (g.f.msg[0]) {
        reject_group(d, first, g.scope, idx, "resource", &g.f);
        return 0;
    }
    if (*d->b.nrows == first)
        return 0; /* no row for an empty resource */
    osp_resource *row;
    if ((rc = osp__ojson_keep_blob(j, &j->res_attrs, &g.res.attributes)) != 0 ||
        (rc = osp__ojson_keep_blob(j, &j->res_refs, &g.res.entity_refs)) != 0)
        return rc;
    if (osp_attr_find(g.res.attributes, OSP_STR_LIT("service.name"), &v) == 1 &&
        v.type == OSP_VAL_STRING)
        g.res.service_name = v.s;
    if (!(row = d->b.add_resource(d->b.batch)))
        return OSP_ENOMEM;
    *row = g.res;
    return 0;
}

int osp__ojson_end_row(osp__ojson *j, const osp__ojson_fault *f, const char *what, int64_t idx,
                       osp_buf *const *bufs, osp_str *const *dst, size_t n)
{
    int rc = 0;
    if (f->msg[0]) {
        osp__ojson_reject(j, 1, "%s %" PRId64 ": %s", what, idx, f->msg);
        return 1;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = osp__ojson_keep_blob(j, bufs[i], dst[i]);
    return rc;
}

int osp__ojson_decode_rows(osp__ojson_rowdec *d)
{
    size_t nres = *d->b.nresources, nscopes = *d->b.nscopes, nrows = *d->b.nrows;
    osp_decode_report *rep = d->j.rep;
    int rc = osp__ojson_decode_body(&d->j, &d->names[0], decode_resource_rows);
    if (rc == OSP_ETOOBIG) {
        snprintf(rep->message, sizeof rep->message, "invalid OTLP/JSON: decoded data too large");
        rc = OSP_EPARSE;
    }
    if (rc < 0) { /* leave the batch as it was */
        *d->b.nresources = nres;
        *d->b.nscopes = nscopes;
        *d->b.nrows = nrows;
        rep->rejected = 0;
    }
    return rc;
}
