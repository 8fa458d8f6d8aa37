/* OTLP/JSON trace decoder: ExportTraceServiceRequest / TracesData JSON into canonical rows.
 *
 * One streaming pass with proto/json.h; rows come out byte-identical to otlp_pb.c's for the
 * same data (attribute values stream straight into the canonical blobs). Policies:
 * - members in any order; unknown members skipped; null means absent (a null element of
 *   an ArrayValue is the empty value, a null element of any other list is skipped);
 * - a known member given twice, or an AnyValue with two values set, fails the request
 *   (the proto3 JSON mapping rejects both), as does a value of the wrong JSON type: an
 *   enum given by name, a string where an object belongs, bad base64, an integer out of
 *   range. The message gives the member and the byte offset;
 * - 64-bit integers as numbers or decimal strings, exactly; 32-bit ones likewise; enums
 *   only as numbers; doubles as numbers, numeric strings, "NaN", "Infinity", "-Infinity";
 * - ids are hex in either case; a bad id rejects the span with the protobuf decoder's
 *   rules and messages (field names in their JSON spelling), and so does AnyValue
 *   nesting past OSP_MAX_ANYVALUE_DEPTH (every span under a bad resource or scope);
 * - invalid UTF-8 or an unpaired \u surrogate makes the text invalid JSON, so it fails
 *   the request rather than one span. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/base64.h"
#include "core/err.h"
#include "model/attr.h"
#include "proto/json.h"
#include "proto/otlp.h"

/* The first problem that makes a resource, scope or span invalid; "" if none. */
typedef struct fault {
    char msg[160];
} fault;

typedef struct dec {
    osp_json_reader r;
    osp_buf scratch;
    osp_span_batch *b;
    osp_decode_report *rep;
    int64_t nspan; /* spans seen so far: the index in messages */
    osp_buf key;   /* an escaped attribute key until it is written */
    osp_buf bytes; /* a decoded bytesValue until it is written */
    osp_buf res_attrs, res_refs, idkeys, desckeys, scope_attrs;
    osp_buf span_attrs, events, links, sub_attrs; /* sub_attrs: an event's or link's */
} dec;

enum id_rule { ID_NONZERO, ID_LENGTH, ID_OPTIONAL };

/* What a ResourceSpans or ScopeSpans being decoded passes down to its children. */
typedef struct group {
    uint32_t resource, scope; /* row indexes the spans under it get (for a resource: the
                                 index its first scope gets) */
    fault f;
    osp_resource res;
    osp_scope sc;
} group;

__attribute__((format(printf, 2, 3))) static void set_fault(fault *f, const char *fmt, ...)
{
    if (f->msg[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
}

/* Counts n rejected spans; the first problem becomes the report's message. */
__attribute__((format(printf, 3, 4))) static void reject(dec *d, int64_t n, const char *fmt, ...)
{
    d->rep->rejected += n;
    if (d->rep->message[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->rep->message, sizeof d->rep->message, fmt, ap);
    va_end(ap);
}

/* Fails the whole body: "invalid OTLP/JSON: <what> at offset N". */
__attribute__((format(printf, 3, 4))) static int invalid(dec *d, size_t off, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(d->rep->message, sizeof d->rep->message, "invalid OTLP/JSON: %s at offset %zu", what,
             off);
    return OSP_EPARSE;
}

/* Fails the whole body: a member whose value has the wrong JSON type or form. */
static int bad_value(dec *d, const osp_json_token *t, const char *field, const char *want)
{
    return invalid(d, t->off, "%s must be %s", field, want);
}

/* Turns the reader's error into the report's message. */
static int syntax_error(dec *d, int rc)
{
    if (rc == OSP_EPARSE)
        snprintf(d->rep->message, sizeof d->rep->message, "malformed JSON: %s", d->r.err);
    return rc;
}

static int next(dec *d, osp_json_token *t)
{
    int rc = osp_json_next(&d->r, t);
    return rc < 0 ? syntax_error(d, rc) : rc;
}

/* Reads the next member of the current object: 1 with its key in *k (valid until the next
 * read), 0 at the object's end. */
static int next_key(dec *d, osp_json_token *k)
{
    int rc = next(d, k);
    return rc < 0 ? rc : k->type == OSP_JSON_KEY;
}

/* Reads a member's value token: 1 when present, 0 for null (the member is absent). */
static int read_tok(dec *d, osp_json_token *t)
{
    int rc = next(d, t);
    return rc < 0 ? rc : t->type != OSP_JSON_NULL;
}

/* Finds key k among names: *idx gets its index, or -1 for a member to ignore. A known
 * member given twice fails the body, as the protobuf JSON mapping requires. */
static int member(dec *d, const osp_json_token *k, const char *const *names, int n, unsigned *seen,
                  int *idx)
{
    *idx = -1;
    for (int i = 0; i < n; i++) {
        if (!osp_str_eqz(k->s, names[i]))
            continue;
        if (*seen & 1u << i)
            return invalid(d, k->off, "duplicate member \"%s\"", names[i]);
        *seen |= 1u << i;
        *idx = i;
        break;
    }
    return 0;
}

/* Skips the value of a member this decoder ignores. */
static int skip_value(dec *d)
{
    osp_json_token t;
    int rc = next(d, &t);
    return rc < 0 ? rc : syntax_error(d, osp_json_skip(&d->r, &t));
}

/* Reads a member that must be an object or array (type): 1 when opened, 0 for null. */
static int open_value(dec *d, osp_json_type type, const char *field)
{
    osp_json_token t;
    int rc = read_tok(d, &t);
    if (rc == 1 && t.type != type)
        return bad_value(d, &t, field, type == OSP_JSON_OBJECT_BEGIN ? "an object" : "an array");
    return rc;
}

/* Calls fn for each object of an array member (null elements are skipped). */
static int each_object(dec *d, const char *field, int (*fn)(dec *, void *), void *arg)
{
    osp_json_token t;
    int rc = open_value(d, OSP_JSON_ARRAY_BEGIN, field);
    while (rc == 1 && (rc = next(d, &t)) == 1 && t.type != OSP_JSON_ARRAY_END) {
        if (t.type == OSP_JSON_OBJECT_BEGIN)
            rc = fn(d, arg);
        else if (t.type != OSP_JSON_NULL)
            rc = bad_value(d, &t, field, "an array of objects");
        rc = rc < 0 ? rc : 1;
    }
    return rc < 0 ? rc : 0;
}

/* A string member: escaped text is copied into the batch's arena, plain text stays a
 * slice of the body. Null leaves *out as it was. */
static int get_str(dec *d, const char *field, osp_str *out)
{
    osp_json_token t;
    int rc = read_tok(d, &t);
    if (rc <= 0)
        return rc;
    if (t.type != OSP_JSON_STRING)
        return bad_value(d, &t, field, "a string");
    *out = t.escaped ? osp_arena_strdup(&d->b->arena, t.s) : t.s;
    return out->p || !t.escaped ? 0 : OSP_ENOMEM;
}

/* An unsigned integer given as a number or a decimal string, at most max. */
static int get_uint(dec *d, const char *field, uint64_t max, uint64_t *out)
{
    osp_json_token t;
    uint64_t v;
    int rc = read_tok(d, &t);
    if (rc <= 0)
        return rc;
    if ((t.type != OSP_JSON_NUMBER && t.type != OSP_JSON_STRING) || osp_json_uint64(t.s, &v) ||
        v > max)
        return bad_value(d, &t, field,
                         max == UINT32_MAX ? "a uint32 integer" : "a uint64 integer or string");
    *out = v;
    return 0;
}

static int get_u32(dec *d, const char *field, uint32_t *out)
{
    uint64_t v = *out;
    int rc = get_uint(d, field, UINT32_MAX, &v);
    *out = (uint32_t)v;
    return rc;
}

/* An enum: an integer number (names are not accepted), kept as received. */
static int get_enum(dec *d, const char *field, int32_t *out)
{
    osp_json_token t;
    int64_t v;
    int rc = read_tok(d, &t);
    if (rc <= 0)
        return rc;
    if (t.type != OSP_JSON_NUMBER || osp_json_int64(t.s, &v) || v < INT32_MIN || v > INT32_MAX)
        return bad_value(d, &t, field, "an integer enum value");
    *out = (int32_t)v;
    return 0;
}

/* A hex id (either case) of up to cap bytes into id. *len gets its length in bytes, or
 * SIZE_MAX when the text is not hex; check_id judges it. */
static int get_id(dec *d, const char *field, uint8_t *id, size_t cap, size_t *len)
{
    osp_json_token t;
    int rc = read_tok(d, &t);
    if (rc <= 0)
        return rc;
    if (t.type != OSP_JSON_STRING)
        return bad_value(d, &t, field, "a hex string");
    memset(id, 0, cap);
    if (t.s.n % 2)
        *len = SIZE_MAX;
    else if (t.s.n / 2 != cap)
        *len = t.s.n / 2;
    else
        *len = osp_hex_decode(t.s.p, cap, id) ? SIZE_MAX : cap;
    return 0;
}

/* Records why an id of len bytes (from get_id) is not a valid id of want bytes, with the
 * protobuf decoder's rules: span ids must not be all zero, link ids only need their
 * length, a parent id may also be empty. 1 when valid. */
static int check_id(fault *f, const char *what, const uint8_t *id, size_t want, size_t len,
                    enum id_rule rule)
{
    static const uint8_t zero[16];
    if (len == SIZE_MAX)
        set_fault(f, "%s is not a hex string", what);
    else if (rule == ID_OPTIONAL && len != 0 && len != want)
        set_fault(f, "%s must be empty or %zu bytes, got %zu", what, want, len);
    else if (rule != ID_OPTIONAL && len != want)
        set_fault(f, "%s must be %zu bytes, got %zu", what, want, len);
    else if (rule == ID_NONZERO && memcmp(id, zero, want) == 0)
        set_fault(f, "%s is all zero", what);
    else
        return 1;
    return 0;
}

/* Copies a built blob into the batch's arena. */
static int keep_blob(dec *d, const osp_buf *src, osp_str *out)
{
    *out = OSP_STR_NULL;
    if (src->len == 0)
        return 0;
    out->p = osp_arena_memdup(&d->b->arena, src->data, src->len);
    out->n = src->len;
    return out->p ? 0 : OSP_ENOMEM;
}

static int decode_elems(dec *d, int depth, int array, osp_buf *out, fault *f, const char *field);

/* AnyValue members, in the order of their protobuf field numbers. */
enum { AV_STRING, AV_BOOL, AV_INT, AV_DOUBLE, AV_BYTES, AV_ARRAY, AV_KVLIST, AV_N };
static const char *const anyvalue_names[AV_N] = {"stringValue", "boolValue",  "intValue",
                                                 "doubleValue", "bytesValue", "arrayValue",
                                                 "kvlistValue"};

/* Converts an AnyValue member's token (not null) to a scalar value; v's bytes may live in
 * the scratch or d->bytes until the next read. */
static int scalar_value(dec *d, int m, const osp_json_token *t, osp_value *v)
{
    int rc = 0;
    switch (m) {
    case AV_STRING:
        *v = (osp_value){.type = OSP_VAL_STRING, .s = t->s};
        return t->type == OSP_JSON_STRING ? 0 : bad_value(d, t, "stringValue", "a string");
    case AV_BOOL:
        *v = (osp_value){.type = OSP_VAL_BOOL, .i = t->type == OSP_JSON_TRUE};
        if (t->type != OSP_JSON_TRUE && t->type != OSP_JSON_FALSE)
            return bad_value(d, t, "boolValue", "true or false");
        return 0;
    case AV_INT:
        *v = (osp_value){.type = OSP_VAL_INT};
        if ((t->type != OSP_JSON_NUMBER && t->type != OSP_JSON_STRING) ||
            osp_json_int64(t->s, &v->i))
            return bad_value(d, t, "intValue", "an int64 integer or string");
        return 0;
    case AV_DOUBLE:
        *v = (osp_value){.type = OSP_VAL_DOUBLE};
        if (t->type == OSP_JSON_STRING && osp_str_eqz(t->s, "NaN"))
            v->d = NAN;
        else if (t->type == OSP_JSON_STRING && osp_str_eqz(t->s, "Infinity"))
            v->d = INFINITY;
        else if (t->type == OSP_JSON_STRING && osp_str_eqz(t->s, "-Infinity"))
            v->d = -INFINITY;
        else if ((t->type != OSP_JSON_NUMBER && t->type != OSP_JSON_STRING) ||
                 osp_json_double(t->s, &v->d))
            return bad_value(d, t, "doubleValue",
                             "a number, \"NaN\", \"Infinity\" or \"-Infinity\"");
        return 0;
    default: /* AV_BYTES */
        osp_buf_reset(&d->bytes);
        if (t->type != OSP_JSON_STRING || (rc = osp_base64_decode(t->s, &d->bytes)) == OSP_EPARSE)
            return bad_value(d, t, "bytesValue", "a base64 string");
        *v = (osp_value){.type = OSP_VAL_BYTES, .s = osp_buf_str(&d->bytes)};
        return rc;
    }
}

/* Decodes an ArrayValue or KeyValueList object (just opened) at depth into out, inside an
 * AnyValue body: its "values" are elements at depth + 1. */
static int decode_list(dec *d, int depth, osp_value_type type, osp_buf *out, fault *f,
                       const char *field)
{
    static const char *const names[] = {"values"};
    osp_json_token k;
    unsigned seen = 0;
    int rc, m;
    size_t mark;
    if ((rc = osp_value_begin_nested(out, type, &mark)) != 0)
        return rc;
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 1, &seen, &m)) != 0)
            return rc;
        if (m < 0)
            rc = skip_value(d);
        else if ((rc = open_value(d, OSP_JSON_ARRAY_BEGIN, "values")) == 1)
            rc = decode_elems(d, depth + 1, type == OSP_VAL_ARRAY, out, f, field);
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : osp_value_end_nested(out, mark);
}

/* Decodes the AnyValue object just opened, at nesting depth (1 = an attribute's value),
 * writing its canonical body to out. Values nested too deep make f's owner invalid. */
static int decode_anyvalue(dec *d, int depth, osp_buf *out, fault *f, const char *field)
{
    osp_json_token k, t;
    osp_value v;
    unsigned seen = 0;
    int rc, m, set = 0;
    if (depth > OSP_MAX_ANYVALUE_DEPTH) {
        set_fault(f, "%s: value nested deeper than %d levels", field, OSP_MAX_ANYVALUE_DEPTH);
        t.type = OSP_JSON_OBJECT_BEGIN;
        return syntax_error(d, osp_json_skip(&d->r, &t));
    }
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, anyvalue_names, AV_N, &seen, &m)) != 0)
            return rc;
        if (m < 0) {
            rc = skip_value(d);
        } else if ((rc = read_tok(d, &t)) == 1) {
            if (set++)
                return invalid(d, k.off, "AnyValue with more than one value");
            if (m != AV_ARRAY && m != AV_KVLIST) {
                if ((rc = scalar_value(d, m, &t, &v)) == 0)
                    rc = osp_value_put(out, &v);
            } else if (t.type != OSP_JSON_OBJECT_BEGIN) {
                rc = bad_value(d, &t, anyvalue_names[m], "an object");
            } else {
                rc = decode_list(d, depth, m == AV_ARRAY ? OSP_VAL_ARRAY : OSP_VAL_KVLIST, out, f,
                                 field);
            }
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* Reads an AnyValue member (null: the empty value) into out. */
static int read_anyvalue(dec *d, int depth, osp_buf *out, fault *f, const char *field)
{
    int rc = open_value(d, OSP_JSON_OBJECT_BEGIN, "value");
    return rc == 1 ? decode_anyvalue(d, depth, out, f, field) : rc;
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

/* Decodes the KeyValue object just opened, its value at depth, appending it to out. The
 * value streams into place after its key; a value given before its key is decoded at the
 * end of out and wrapped once the key is known (linear however deep such values nest). */
static int decode_keyvalue(dec *d, int depth, osp_buf *out, fault *f, const char *field)
{
    static const char *const names[] = {"key", "value"};
    osp_json_token k, t;
    osp_str key = OSP_STR_NULL;
    osp_attr_mark mark;
    size_t vstart = out->len;
    unsigned seen = 0;
    int rc, m, written = 0;
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 2, &seen, &m)) != 0)
            return rc;
        if (m < 0) {
            rc = skip_value(d);
        } else if (m == 0) {
            if ((rc = read_tok(d, &t)) == 1 && t.type != OSP_JSON_STRING)
                return bad_value(d, &t, "key", "a string");
            if (rc == 1) {
                key = t.s;
                osp_buf_reset(&d->key);
                if (t.escaped && (rc = osp_buf_append_str(&d->key, t.s)) == 0)
                    key = osp_buf_str(&d->key);
            }
        } else if (seen & 1u) {
            if ((rc = osp_attr_begin(out, key, &mark)) == 0 &&
                (rc = read_anyvalue(d, depth, out, f, field)) >= 0)
                rc = osp_attr_end(out, &mark);
            written = 1;
        } else {
            rc = read_anyvalue(d, depth, out, f, field);
        }
        if (rc < 0)
            return rc;
    }
    return rc < 0 || written ? rc : wrap_value(out, key, vstart);
}

/* Decodes the elements of the array just opened, at depth: AnyValues appended to an
 * ArrayValue body (null elements are empty values), or KeyValues appended to an attrs
 * blob (null elements are skipped). */
static int decode_elems(dec *d, int depth, int array, osp_buf *out, fault *f, const char *field)
{
    osp_json_token t;
    size_t mark;
    int rc;
    while ((rc = next(d, &t)) == 1 && t.type != OSP_JSON_ARRAY_END) {
        if (t.type != OSP_JSON_OBJECT_BEGIN && t.type != OSP_JSON_NULL)
            return bad_value(d, &t, field, "an array of objects");
        if (array) {
            if ((rc = osp_array_begin_elem(out, &mark)) == 0 && t.type == OSP_JSON_OBJECT_BEGIN)
                rc = decode_anyvalue(d, depth, out, f, field);
            if (rc == 0)
                rc = osp_array_end_elem(out, mark);
        } else if (t.type == OSP_JSON_OBJECT_BEGIN) {
            rc = decode_keyvalue(d, depth, out, f, field);
        }
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : 0;
}

/* Reads an attributes member (a KeyValue array) into out. */
static int get_attrs(dec *d, osp_buf *out, fault *f, const char *field)
{
    int rc = open_value(d, OSP_JSON_ARRAY_BEGIN, field);
    return rc == 1 ? decode_elems(d, 1, 0, out, f, field) : rc;
}

/* Reads a repeated string member of an EntityRef into out as canonical key fields. */
static int get_entity_keys(dec *d, const char *field, int description, osp_buf *out)
{
    osp_json_token t;
    int rc = open_value(d, OSP_JSON_ARRAY_BEGIN, field);
    while (rc == 1 && (rc = next(d, &t)) == 1 && t.type != OSP_JSON_ARRAY_END) {
        if (t.type == OSP_JSON_STRING)
            rc = osp_entity_ref_add_key(out, description, t.s);
        else if (t.type != OSP_JSON_NULL)
            rc = bad_value(d, &t, field, "an array of strings");
        rc = rc < 0 ? rc : 1;
    }
    return rc < 0 ? rc : 0;
}

static int decode_entity_ref(dec *d, void *arg)
{
    static const char *const names[] = {"schemaUrl", "type", "idKeys", "descriptionKeys"};
    osp_json_token k;
    osp_str schema_url = OSP_STR_NULL, type = OSP_STR_NULL;
    unsigned seen = 0;
    size_t mark;
    int rc, m;
    (void)arg;
    osp_buf_reset(&d->idkeys);
    osp_buf_reset(&d->desckeys);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 4, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
        case 1:
            rc = get_str(d, names[m], m == 0 ? &schema_url : &type);
            break;
        case 2:
        case 3:
            rc = get_entity_keys(d, names[m], m == 3, m == 3 ? &d->desckeys : &d->idkeys);
            break;
        default:
            rc = skip_value(d);
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc == 0)
        rc = osp_entity_ref_begin(&d->res_refs, schema_url, type, &mark);
    if (rc == 0)
        rc = osp_buf_append(&d->res_refs, d->idkeys.data, d->idkeys.len);
    if (rc == 0)
        rc = osp_buf_append(&d->res_refs, d->desckeys.data, d->desckeys.len);
    return rc ? rc : osp_entity_ref_end(&d->res_refs, mark);
}

static int decode_resource(dec *d, group *g)
{
    static const char *const names[] = {"attributes", "droppedAttributesCount", "entityRefs"};
    osp_json_token k;
    unsigned seen = 0;
    int rc, m;
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 3, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
            rc = get_attrs(d, &d->res_attrs, &g->f, "attributes");
            break;
        case 1:
            rc = get_u32(d, names[m], &g->res.dropped_attributes);
            break;
        case 2:
            rc = each_object(d, names[m], decode_entity_ref, NULL);
            break;
        default:
            rc = skip_value(d);
            break;
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int decode_scope(dec *d, group *g)
{
    static const char *const names[] = {"name", "version", "attributes", "droppedAttributesCount"};
    osp_json_token k;
    unsigned seen = 0;
    int rc, m;
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 4, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
        case 1:
            rc = get_str(d, names[m], m == 0 ? &g->sc.name : &g->sc.version);
            break;
        case 2:
            rc = get_attrs(d, &d->scope_attrs, &g->f, "attributes");
            break;
        case 3:
            rc = get_u32(d, names[m], &g->sc.dropped_attributes);
            break;
        default:
            rc = skip_value(d);
            break;
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int decode_event(dec *d, void *arg)
{
    static const char *const names[] = {"timeUnixNano", "name", "attributes",
                                        "droppedAttributesCount"};
    osp_json_token k;
    osp_event ev = {0};
    unsigned seen = 0;
    int rc, m;
    osp_buf_reset(&d->sub_attrs);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 4, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
            rc = get_uint(d, names[m], UINT64_MAX, &ev.time_ns);
            break;
        case 1:
            rc = get_str(d, names[m], &ev.name);
            break;
        case 2:
            rc = get_attrs(d, &d->sub_attrs, arg, "events.attributes");
            break;
        case 3:
            rc = get_u32(d, names[m], &ev.dropped_attributes);
            break;
        default:
            rc = skip_value(d);
            break;
        }
        if (rc < 0)
            return rc;
    }
    ev.attributes = osp_buf_str(&d->sub_attrs);
    return rc ? rc : osp_events_append(&d->events, &ev);
}

static int decode_link(dec *d, void *arg)
{
    static const char *const names[] = {
        "traceId", "spanId", "traceState", "attributes", "droppedAttributesCount", "flags"};
    osp_json_token k;
    osp_link ln = {0};
    size_t tlen = 0, slen = 0;
    unsigned seen = 0;
    int rc, m;
    osp_buf_reset(&d->sub_attrs);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 6, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
            rc = get_id(d, names[m], ln.trace_id, sizeof ln.trace_id, &tlen);
            break;
        case 1:
            rc = get_id(d, names[m], ln.span_id, sizeof ln.span_id, &slen);
            break;
        case 2:
            rc = get_str(d, names[m], &ln.trace_state);
            break;
        case 3:
            rc = get_attrs(d, &d->sub_attrs, arg, "links.attributes");
            break;
        case 4:
        case 5:
            rc = get_u32(d, names[m], m == 4 ? &ln.dropped_attributes : &ln.flags);
            break;
        default:
            rc = skip_value(d);
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0 || !check_id(arg, "links.traceId", ln.trace_id, 16, tlen, ID_LENGTH) ||
        !check_id(arg, "links.spanId", ln.span_id, 8, slen, ID_LENGTH))
        return rc;
    ln.attributes = osp_buf_str(&d->sub_attrs);
    return osp_links_append(&d->links, &ln);
}

static int decode_status(dec *d, osp_span *sp)
{
    static const char *const names[] = {"message", "code"};
    osp_json_token k;
    unsigned seen = 0;
    int rc, m;
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 2, &seen, &m)) != 0)
            return rc;
        if (m == 0)
            rc = get_str(d, names[m], &sp->status_message);
        else if (m == 1)
            rc = get_enum(d, names[m], &sp->status_code);
        else
            rc = skip_value(d);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* Spans are checked once complete (members come in any order) and added only if valid. */
static int decode_span(dec *d, void *arg)
{
    enum {
        TRACE_ID,
        SPAN_ID,
        TRACE_STATE,
        PARENT_SPAN_ID,
        FLAGS,
        NAME,
        KIND,
        START,
        END,
        ATTRIBUTES,
        DROPPED_ATTRIBUTES,
        EVENTS,
        DROPPED_EVENTS,
        LINKS,
        DROPPED_LINKS,
        STATUS,
        N
    };
    static const char *const names[N] = {
        [TRACE_ID] = "traceId",
        [SPAN_ID] = "spanId",
        [TRACE_STATE] = "traceState",
        [PARENT_SPAN_ID] = "parentSpanId",
        [FLAGS] = "flags",
        [NAME] = "name",
        [KIND] = "kind",
        [START] = "startTimeUnixNano",
        [END] = "endTimeUnixNano",
        [ATTRIBUTES] = "attributes",
        [DROPPED_ATTRIBUTES] = "droppedAttributesCount",
        [EVENTS] = "events",
        [DROPPED_EVENTS] = "droppedEventsCount",
        [LINKS] = "links",
        [DROPPED_LINKS] = "droppedLinksCount",
        [STATUS] = "status",
    };
    const group *g = arg;
    osp_json_token k;
    osp_span sp = {.resource = g->resource, .scope = g->scope};
    fault f = {""};
    size_t tlen = 0, slen = 0, plen = 0;
    unsigned seen = 0;
    int rc, m;
    int64_t idx = d->nspan++;
    osp_buf_reset(&d->span_attrs);
    osp_buf_reset(&d->events);
    osp_buf_reset(&d->links);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, N, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case TRACE_ID:
            rc = get_id(d, names[m], sp.trace_id, sizeof sp.trace_id, &tlen);
            break;
        case SPAN_ID:
            rc = get_id(d, names[m], sp.span_id, sizeof sp.span_id, &slen);
            break;
        case TRACE_STATE:
            rc = get_str(d, names[m], &sp.trace_state);
            break;
        case PARENT_SPAN_ID:
            rc = get_id(d, names[m], sp.parent_span_id, sizeof sp.parent_span_id, &plen);
            break;
        case FLAGS:
            rc = get_u32(d, names[m], &sp.flags);
            break;
        case NAME:
            rc = get_str(d, names[m], &sp.name);
            break;
        case KIND:
            rc = get_enum(d, names[m], &sp.kind);
            break;
        case START:
        case END:
            rc = get_uint(d, names[m], UINT64_MAX, m == START ? &sp.start_ns : &sp.end_ns);
            break;
        case ATTRIBUTES:
            rc = get_attrs(d, &d->span_attrs, &f, "attributes");
            break;
        case DROPPED_ATTRIBUTES:
            rc = get_u32(d, names[m], &sp.dropped_attributes);
            break;
        case EVENTS:
            rc = each_object(d, names[m], decode_event, &f);
            break;
        case DROPPED_EVENTS:
            rc = get_u32(d, names[m], &sp.dropped_events);
            break;
        case LINKS:
            rc = each_object(d, names[m], decode_link, &f);
            break;
        case DROPPED_LINKS:
            rc = get_u32(d, names[m], &sp.dropped_links);
            break;
        case STATUS:
            if ((rc = open_value(d, OSP_JSON_OBJECT_BEGIN, names[m])) == 1)
                rc = decode_status(d, &sp);
            break;
        default:
            rc = skip_value(d);
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    check_id(&f, "traceId", sp.trace_id, sizeof sp.trace_id, tlen, ID_NONZERO);
    check_id(&f, "spanId", sp.span_id, sizeof sp.span_id, slen, ID_NONZERO);
    check_id(&f, "parentSpanId", sp.parent_span_id, sizeof sp.parent_span_id, plen, ID_OPTIONAL);
    if (f.msg[0]) {
        reject(d, 1, "span %" PRId64 ": %s", idx, f.msg);
        return 0;
    }
    osp_span *row;
    if ((rc = keep_blob(d, &d->span_attrs, &sp.attributes)) != 0 ||
        (rc = keep_blob(d, &d->events, &sp.events)) != 0 ||
        (rc = keep_blob(d, &d->links, &sp.links)) != 0)
        return rc;
    if (!(row = osp_span_batch_add_span(d->b)))
        return OSP_ENOMEM;
    *row = sp;
    return 0;
}

/* Drops the rows decoded under an invalid resource or scope (spans from first_span on,
 * scopes from first_scope on); first_idx is the request-wide index of its first span. */
static void reject_group(dec *d, size_t first_span, size_t first_scope, int64_t first_idx,
                         const char *what, const fault *f)
{
    int64_t n = (int64_t)(d->b->nspans - first_span);
    d->b->nspans = first_span;
    d->b->nscopes = first_scope;
    if (n)
        reject(d, n, "spans %" PRId64 "..%" PRId64 ": %s: %s", first_idx, d->nspan - 1, what,
               f->msg);
}

static int decode_scope_spans(dec *d, void *arg)
{
    static const char *const names[] = {"scope", "spans", "schemaUrl"};
    const group *parent = arg;
    group g = {.resource = parent->resource, .scope = (uint32_t)d->b->nscopes};
    osp_json_token k;
    size_t first = d->b->nspans;
    int64_t idx = d->nspan;
    unsigned seen = 0;
    int rc, m;
    osp_buf_reset(&d->scope_attrs);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 3, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
            if ((rc = open_value(d, OSP_JSON_OBJECT_BEGIN, names[m])) == 1)
                rc = decode_scope(d, &g);
            break;
        case 1:
            rc = each_object(d, names[m], decode_span, &g);
            break;
        case 2:
            rc = get_str(d, names[m], &g.sc.schema_url);
            break;
        default:
            rc = skip_value(d);
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (g.f.msg[0]) {
        reject_group(d, first, d->b->nscopes, idx, "scope", &g.f);
        return 0;
    }
    if (d->b->nspans == first)
        return 0; /* no row for an empty scope */
    osp_scope *row;
    if ((rc = keep_blob(d, &d->scope_attrs, &g.sc.attributes)) != 0)
        return rc;
    if (!(row = osp_span_batch_add_scope(d->b)))
        return OSP_ENOMEM;
    *row = g.sc;
    return 0;
}

static int decode_resource_spans(dec *d, void *arg)
{
    static const char *const names[] = {"resource", "scopeSpans", "schemaUrl"};
    group g = {.resource = (uint32_t)d->b->nresources, .scope = (uint32_t)d->b->nscopes};
    osp_json_token k;
    osp_value v;
    size_t first = d->b->nspans;
    int64_t idx = d->nspan;
    unsigned seen = 0;
    int rc, m;
    (void)arg;
    osp_buf_reset(&d->res_attrs);
    osp_buf_reset(&d->res_refs);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 3, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
            if ((rc = open_value(d, OSP_JSON_OBJECT_BEGIN, names[m])) == 1)
                rc = decode_resource(d, &g);
            break;
        case 1:
            rc = each_object(d, names[m], decode_scope_spans, &g);
            break;
        case 2:
            rc = get_str(d, names[m], &g.res.schema_url);
            break;
        default:
            rc = skip_value(d);
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (g.f.msg[0]) {
        reject_group(d, first, g.scope, idx, "resource", &g.f);
        return 0;
    }
    if (d->b->nspans == first)
        return 0; /* no row for an empty resource */
    osp_resource *row;
    if ((rc = keep_blob(d, &d->res_attrs, &g.res.attributes)) != 0 ||
        (rc = keep_blob(d, &d->res_refs, &g.res.entity_refs)) != 0)
        return rc;
    if (osp_attr_find(g.res.attributes, OSP_STR_LIT("service.name"), &v) == 1 &&
        v.type == OSP_VAL_STRING)
        g.res.service_name = v.s;
    if (!(row = osp_span_batch_add_resource(d->b)))
        return OSP_ENOMEM;
    *row = g.res;
    return 0;
}

static int decode_body(dec *d)
{
    static const char *const names[] = {"resourceSpans"};
    osp_json_token k;
    unsigned seen = 0;
    int rc, m;
    if ((rc = next(d, &k)) < 0)
        return rc;
    if (k.type != OSP_JSON_OBJECT_BEGIN)
        return bad_value(d, &k, "the body", "an object");
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 1, &seen, &m)) != 0)
            return rc;
        rc = m == 0 ? each_object(d, names[m], decode_resource_spans, NULL) : skip_value(d);
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : next(d, &k); /* 0: nothing follows the object */
}

int osp_otlp_traces_decode_json(osp_str body, osp_span_batch *out, osp_decode_report *rep)
{
    /* Canonical rows are never larger than the JSON they come from; a value given before
     * its key needs room for a second copy while it is wrapped. */
    size_t cap = 2 * body.n + 4096;
    size_t nres = out->nresources, nscopes = out->nscopes, nspans = out->nspans;
    dec d = {.b = out, .rep = rep};
    osp_buf *all[] = {&d.scratch,    &d.key,    &d.bytes,    &d.res_attrs,
                      &d.res_refs,   &d.idkeys, &d.desckeys, &d.scope_attrs,
                      &d.span_attrs, &d.events, &d.links,    &d.sub_attrs};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        osp_buf_init(all[i], cap);
    rep->rejected = 0;
    rep->message[0] = '\0';
    osp_json_reader_init(&d.r, body, &d.scratch);
    int rc = decode_body(&d);
    if (rc == OSP_ETOOBIG) {
        snprintf(rep->message, sizeof rep->message, "invalid OTLP/JSON: decoded data too large");
        rc = OSP_EPARSE;
    }
    if (rc < 0) { /* leave out as it was */
        out->nresources = nres;
        out->nscopes = nscopes;
        out->nspans = nspans;
        rep->rejected = 0;
    }
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        osp_buf_cleanup(all[i]);
    return rc;
}
