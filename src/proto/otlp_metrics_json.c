/* OTLP/JSON metrics decoder: ExportMetricsServiceRequest / MetricsData JSON into canonical
 * metric rows, the same rows otlp_metrics_pb.c gives for the same data.
 *
 * One streaming pass with proto/json.h, with the trace JSON decoder's policies (otlp_json.c):
 * members in any order, unknown members skipped, null = absent (a null element of an
 * ArrayValue is the empty value, of any other object list it is skipped); a member given
 * twice, a oneof with two members set, or a value of the wrong JSON type fails the request
 * with a message naming the member and byte offset. Beyond that decoder, as the proto3
 * JSON mapping allows: the original snake_case names are accepted beside lowerCamelCase
 * (both spellings of one member count as a duplicate), 32-bit integers and enums may also
 * be strings, and enums may be given by name ("AGGREGATION_TEMPORALITY_DELTA").
 *
 * Rows are added as their objects close (members come in any order, so a Metric's name
 * may follow its points): point rows as each point closes, then the metric, scope and
 * resource rows, whose indexes are known when they open. Rejections are held per level
 * (see `pend`) until the enclosing ResourceMetrics closes, so that an invalid metric,
 * scope or resource found late takes back its rows and counts its points once, exactly
 * as the protobuf decoder counts them; messages match that decoder's, with field names in
 * their JSON spelling. The canonical blobs are built with model/attr.h and copied to the
 * arena with the shared osp__otlp_keep_blobs (otlp_int.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/base64.h"
#include "core/err.h"
#include "model/attr.h"
#include "proto/json.h"
#include "proto/otlp_int.h"
#include "proto/otlp_metrics.h"

/* Why a resource, scope, metric or point is invalid; "" while it is valid. */
typedef struct fault {
    char msg[160];
} fault;

/* Rejected points not yet reported: their count and the first message. A level's pending
 * rejections join its parent's when it closes valid, and are dropped when it is invalid
 * (the parent then rejects all its points at once). */
typedef struct pend {
    int64_t n;
    char msg[256];
} pend;

enum arr { A_BUCKETS, A_BOUNDS, A_POS, A_NEG, A_QUANTILES, A_N };

typedef struct dec {
    osp__otlp_dec c; /* rep, arena; attrs: the point's; nested: an exemplar's attributes */
    osp_json_reader r;
    osp_buf scratch;
    osp_metric_batch *out;
    size_t nmetric; /* Metric objects seen so far: the index in messages */
    osp_buf key;    /* an escaped attribute key until it is written */
    osp_buf bytes;  /* a decoded bytesValue until it is written */
    osp_buf res_attrs, res_refs, idkeys, desckeys, scope_attrs, meta, exemplars;
    osp_buf arr[A_N];
} dec;

/* A member name in its JSON spelling and its proto name (NULL when the same). */
typedef struct fname {
    const char *json, *proto;
} fname;

__attribute__((format(printf, 2, 3))) static void set_fault(fault *f, const char *fmt, ...)
{
    if (f->msg[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
}

/* Adds n rejected points to p; the message is kept if it is p's first. */
__attribute__((format(printf, 3, 4))) static void pend_add(pend *p, int64_t n, const char *fmt,
                                                           ...)
{
    if (n <= 0)
        return;
    p->n += n;
    if (p->msg[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
}

static void pend_join(pend *into, const pend *from)
{
    if (from->n)
        pend_add(into, from->n, "%s", from->msg);
}

/* Fails the whole body: "invalid OTLP/JSON: <what> at offset N". */
__attribute__((format(printf, 3, 4))) static int invalid(dec *d, size_t off, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    osp__otlp_report(&d->c, 1, "invalid OTLP/JSON: %s at offset %zu", what, off);
    return OSP_EPARSE;
}

static int bad_value(dec *d, const osp_json_token *t, const char *field, const char *want)
{
    return invalid(d, t->off, "%s must be %s", field, want);
}

static int syntax_error(dec *d, int rc)
{
    if (rc == OSP_EPARSE)
        osp__otlp_report(&d->c, 1, "malformed JSON: %s", d->r.err);
    return rc;
}

static int next(dec *d, osp_json_token *t)
{
    int rc = osp_json_next(&d->r, t);
    return rc < 0 ? syntax_error(d, rc) : rc;
}

/* 1 with the next member's key in *k, 0 at the end of the object. */
static int next_key(dec *d, osp_json_token *k)
{
    int rc = next(d, k);
    return rc < 0 ? rc : k->type == OSP_JSON_KEY;
}

/* A member's value token: 1 when present, 0 for null. */
static int read_tok(dec *d, osp_json_token *t)
{
    int rc = next(d, t);
    return rc < 0 ? rc : t->type != OSP_JSON_NULL;
}

/* Finds key k among names (either spelling) whose bit is set in `allowed`: *idx gets its
 * index or -1 (a member to ignore). A member given twice fails the body. */
static int member_of(dec *d, const osp_json_token *k, const fname *names, int n,
                     uint32_t allowed, uint32_t *seen, int *idx)
{
    *idx = -1;
    for (int i = 0; i < n; i++) {
        if (!osp_str_eqz(k->s, names[i].json) &&
            !(names[i].proto && osp_str_eqz(k->s, names[i].proto)))
            continue;
        if (!(allowed & 1u << i))
            break;
        if (*seen & 1u << i)
            return invalid(d, k->off, "duplicate member \"%s\"", names[i].json);
        *seen |= 1u << i;
        *idx = i;
        break;
    }
    return 0;
}

/* member_of with every name allowed. */
static int member(dec *d, const osp_json_token *k, const fname *names, int n, uint32_t *seen,
                  int *idx)
{
    return member_of(d, k, names, n, UINT32_MAX, seen, idx);
}

static int skip_value(dec *d)
{
    osp_json_token t;
    int rc = next(d, &t);
    return rc < 0 ? rc : syntax_error(d, osp_json_skip(&d->r, &t));
}

/* A member that must be an object or array: 1 when opened, 0 for null. */
static int open_value(dec *d, osp_json_type type, const char *field)
{
    osp_json_token t;
    int rc = read_tok(d, &t);
    if (rc == 1 && t.type != type)
        return bad_value(d, &t, field, type == OSP_JSON_OBJECT_BEGIN ? "an object" : "an array");
    return rc;
}

/* Calls fn for each object of an array member (null elements skipped); *n counts them. */
static int each_object(dec *d, const char *field, int (*fn)(dec *, void *), void *arg, size_t *n)
{
    osp_json_token t;
    int rc = open_value(d, OSP_JSON_ARRAY_BEGIN, field);
    while (rc == 1 && (rc = next(d, &t)) == 1 && t.type != OSP_JSON_ARRAY_END) {
        if (t.type == OSP_JSON_OBJECT_BEGIN) {
            rc = fn(d, arg);
            if (n)
                (*n)++;
        } else if (t.type != OSP_JSON_NULL) {
            rc = bad_value(d, &t, field, "an array of objects");
        }
        rc = rc < 0 ? rc : 1;
    }
    return rc < 0 ? rc : 0;
}

/* A string member; escaped text is copied into the arena. Null leaves *out alone. */
static int get_str(dec *d, const char *field, osp_str *out)
{
    osp_json_token t;
    int rc = read_tok(d, &t);
    if (rc <= 0)
        return rc;
    if (t.type != OSP_JSON_STRING)
        return bad_value(d, &t, field, "a string");
    *out = t.escaped ? osp_arena_strdup(d->c.arena, t.s) : t.s;
    return out->p || !t.escaped ? 0 : OSP_ENOMEM;
}

/* An integer token (number or decimal string) within [min, max]; sign says which parser. */
static int tok_int(const osp_json_token *t, int64_t min, uint64_t max, int sign, uint64_t *out)
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

static int get_uint(dec *d, const char *field, uint64_t max, uint64_t *out)
{
    osp_json_token t;
    int rc = read_tok(d, &t);
    if (rc == 1 && tok_int(&t, 0, max, 0, out))
        return bad_value(d, &t, field, max == UINT32_MAX ? "a uint32 integer" : "a uint64 integer");
    return rc < 0 ? rc : 0;
}

static int get_u32(dec *d, const char *field, uint32_t *out)
{
    uint64_t v = *out;
    int rc = get_uint(d, field, UINT32_MAX, &v);
    *out = (uint32_t)v;
    return rc;
}

/* A signed integer member within [min, max]: 1 when present, 0 for null. */
static int get_int(dec *d, const char *field, int64_t min, int64_t max, int64_t *out)
{
    osp_json_token t;
    uint64_t v;
    int rc = read_tok(d, &t);
    if (rc == 1 && tok_int(&t, min, (uint64_t)max, 1, &v))
        return bad_value(d, &t, field, max == INT32_MAX ? "an int32 integer" : "an int64 integer");
    if (rc == 1)
        *out = (int64_t)v;
    return rc;
}

/* A double token: a number, a numeric string, "NaN", "Infinity" or "-Infinity". */
static int tok_double(const osp_json_token *t, double *v)
{
    if (t->type == OSP_JSON_STRING && osp_str_eqz(t->s, "NaN"))
        *v = NAN;
    else if (t->type == OSP_JSON_STRING && osp_str_eqz(t->s, "Infinity"))
        *v = INFINITY;
    else if (t->type == OSP_JSON_STRING && osp_str_eqz(t->s, "-Infinity"))
        *v = -INFINITY;
    else if ((t->type != OSP_JSON_NUMBER && t->type != OSP_JSON_STRING) ||
             osp_json_double(t->s, v))
        return -1;
    return 0;
}

static const char want_double[] = "a number, \"NaN\", \"Infinity\" or \"-Infinity\"";

/* A double member: 1 when present (the value in *out), 0 for null. */
static int get_double(dec *d, const char *field, double *out)
{
    osp_json_token t;
    int rc = read_tok(d, &t);
    if (rc == 1 && tok_double(&t, out))
        return bad_value(d, &t, field, want_double);
    return rc;
}

static int get_bool(dec *d, const char *field, uint8_t *out)
{
    osp_json_token t;
    int rc = read_tok(d, &t);
    if (rc == 1 && t.type != OSP_JSON_TRUE && t.type != OSP_JSON_FALSE)
        return bad_value(d, &t, field, "true or false");
    if (rc == 1)
        *out = t.type == OSP_JSON_TRUE;
    return rc < 0 ? rc : 0;
}

/* AggregationTemporality as an integer (kept as received) or by name. */
static int get_temporality(dec *d, const char *field, int32_t *out)
{
    static const char *const names[] = {"AGGREGATION_TEMPORALITY_UNSPECIFIED",
                                        "AGGREGATION_TEMPORALITY_DELTA",
                                        "AGGREGATION_TEMPORALITY_CUMULATIVE"};
    osp_json_token t;
    uint64_t v;
    int rc = read_tok(d, &t);
    if (rc <= 0)
        return rc;
    for (int32_t i = 0; t.type == OSP_JSON_STRING && i < 3; i++)
        if (osp_str_eqz(t.s, names[i])) {
            *out = i;
            return 0;
        }
    if (tok_int(&t, INT32_MIN, INT32_MAX, 1, &v))
        return bad_value(d, &t, field, "an AggregationTemporality number or name");
    *out = (int32_t)(int64_t)v;
    return 0;
}

/* A hex id member into id (cap bytes): *len gets its length in bytes, or SIZE_MAX when
 * the text is not hex. */
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

/* Copies a built blob into the arena. */
static int keep(dec *d, osp_buf *b, osp_str *dst)
{
    osp_buf *const bufs[] = {b};
    osp_str *const dsts[] = {dst};
    return osp__otlp_keep_blobs(&d->c, bufs, dsts, 1);
}

/* ---- AnyValue and KeyValue lists ---- */

static int decode_elems(dec *d, int depth, int array, osp_buf *out, fault *f, const char *field);

enum { AV_STRING, AV_BOOL, AV_INT, AV_DOUBLE, AV_BYTES, AV_ARRAY, AV_KVLIST, AV_N };
static const fname anyvalue_names[AV_N] = {
    {"stringValue", "string_value"}, {"boolValue", "bool_value"},
    {"intValue", "int_value"},       {"doubleValue", "double_value"},
    {"bytesValue", "bytes_value"},   {"arrayValue", "array_value"},
    {"kvlistValue", "kvlist_value"},
};

/* A scalar AnyValue member's token as a value; bytes live in d->bytes until the next. */
static int scalar_value(dec *d, int m, const osp_json_token *t, osp_value *v)
{
    int rc = 0;
    *v = (osp_value){.type = OSP_VAL_EMPTY};
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
        v->type = OSP_VAL_INT;
        if ((t->type != OSP_JSON_NUMBER && t->type != OSP_JSON_STRING) ||
            osp_json_int64(t->s, &v->i))
            return bad_value(d, t, "intValue", "an int64 integer");
        return 0;
    case AV_DOUBLE:
        v->type = OSP_VAL_DOUBLE;
        return tok_double(t, &v->d) ? bad_value(d, t, "doubleValue", want_double) : 0;
    default: /* AV_BYTES */
        osp_buf_reset(&d->bytes);
        if (t->type != OSP_JSON_STRING || (rc = osp_base64_decode(t->s, &d->bytes)) == OSP_EPARSE)
            return bad_value(d, t, "bytesValue", "a base64 string");
        *v = (osp_value){.type = OSP_VAL_BYTES, .s = osp_buf_str(&d->bytes)};
        return rc;
    }
}

/* An ArrayValue or KeyValueList object (just opened) inside an AnyValue body. */
static int decode_list(dec *d, int depth, osp_value_type type, osp_buf *out, fault *f,
                       const char *field)
{
    static const fname names[] = {{"values", NULL}};
    osp_json_token k;
    uint32_t seen = 0;
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

/* The AnyValue object just opened, at depth (1 = an attribute's value), into out. */
static int decode_anyvalue(dec *d, int depth, osp_buf *out, fault *f, const char *field)
{
    osp_json_token k, t;
    osp_value v;
    uint32_t seen = 0;
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
                rc = bad_value(d, &t, anyvalue_names[m].json, "an object");
            } else {
                rc = decode_list(d, depth, m == AV_ARRAY ? OSP_VAL_ARRAY : OSP_VAL_KVLIST, out, f,
                                 field);
            }
        }
        if (rc < 0)
            return rc;
    }
    return rc; /* no member: the empty value, which has no bytes */
}

/* Moves the AnyValue body at the end of out (from vstart on) into a KeyValue record named
 * key: the record is built after the body, then moved down over it. */
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

/* The KeyValue object just opened, appended to out. A value that comes before its key is
 * decoded at the end of out and wrapped once the key is known. */
static int decode_keyvalue(dec *d, int depth, osp_buf *out, fault *f, const char *field)
{
    static const fname names[] = {{"key", NULL}, {"value", NULL}};
    osp_json_token k, t;
    osp_str key = OSP_STR_NULL;
    osp_attr_mark mark;
    size_t vstart = out->len;
    uint32_t seen = 0;
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
        } else {
            if (seen & 1u && (rc = osp_attr_begin(out, key, &mark)) != 0)
                return rc;
            if ((rc = open_value(d, OSP_JSON_OBJECT_BEGIN, "value")) == 1)
                rc = decode_anyvalue(d, depth, out, f, field);
            if (rc == 0 && seen & 1u) {
                rc = osp_attr_end(out, &mark);
                written = 1;
            }
        }
        if (rc < 0)
            return rc;
    }
    return rc < 0 || written ? rc : wrap_value(out, key, vstart);
}

/* The elements of the array just opened: AnyValues of an ArrayValue body (null: the empty
 * value), or KeyValues of an attrs blob (null skipped). */
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

/* An attributes member (a KeyValue array) appended to out. */
static int get_attrs(dec *d, osp_buf *out, fault *f, const char *field)
{
    int rc = open_value(d, OSP_JSON_ARRAY_BEGIN, field);
    return rc == 1 ? decode_elems(d, 1, 0, out, f, field) : rc;
}

/* ---- Resource and InstrumentationScope ---- */

/* What an open ResourceMetrics passes down. */
typedef struct rctx {
    uint32_t index; /* the row index its metrics get */
    osp_resource res;
    fault f;
    pend p;
    int64_t npoints;       /* point objects seen under it */
    size_t msg_first;      /* metric range of its first scope with points, for messages */
    size_t msg_last;
    int have_range;
} rctx;

/* What an open ScopeMetrics passes down. */
typedef struct sctx {
    rctx *res;
    uint32_t index;
    osp_scope sc;
    fault f;
    pend p;
    int64_t npoints;
} sctx;

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
    static const fname names[] = {{"schemaUrl", "schema_url"},
                                  {"type", NULL},
                                  {"idKeys", "id_keys"},
                                  {"descriptionKeys", "description_keys"}};
    osp_json_token k;
    osp_str url = OSP_STR_NULL, type = OSP_STR_NULL;
    uint32_t seen = 0;
    size_t mark;
    int rc, m;
    (void)arg;
    osp_buf_reset(&d->idkeys);
    osp_buf_reset(&d->desckeys);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 4, &seen, &m)) != 0)
            return rc;
        if (m == 0 || m == 1)
            rc = get_str(d, names[m].json, m == 0 ? &url : &type);
        else if (m == 2 || m == 3)
            rc = get_entity_keys(d, names[m].json, m == 3, m == 3 ? &d->desckeys : &d->idkeys);
        else
            rc = skip_value(d);
        if (rc < 0)
            return rc;
    }
    if (rc == 0)
        rc = osp_entity_ref_begin(&d->res_refs, url, type, &mark);
    if (rc == 0)
        rc = osp_buf_append(&d->res_refs, d->idkeys.data, d->idkeys.len);
    if (rc == 0)
        rc = osp_buf_append(&d->res_refs, d->desckeys.data, d->desckeys.len);
    return rc ? rc : osp_entity_ref_end(&d->res_refs, mark);
}

static int decode_resource(dec *d, rctx *g)
{
    static const fname names[] = {{"attributes", NULL},
                                  {"droppedAttributesCount", "dropped_attributes_count"},
                                  {"entityRefs", "entity_refs"}};
    osp_json_token k;
    uint32_t seen = 0;
    int rc, m;
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 3, &seen, &m)) != 0)
            return rc;
        if (m == 0)
            rc = get_attrs(d, &d->res_attrs, &g->f, "attributes");
        else if (m == 1)
            rc = get_u32(d, names[m].json, &g->res.dropped_attributes);
        else if (m == 2)
            rc = each_object(d, names[m].json, decode_entity_ref, NULL, NULL);
        else
            rc = skip_value(d);
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int decode_scope(dec *d, sctx *g)
{
    static const fname names[] = {{"name", NULL},
                                  {"version", NULL},
                                  {"attributes", NULL},
                                  {"droppedAttributesCount", "dropped_attributes_count"}};
    osp_json_token k;
    uint32_t seen = 0;
    int rc, m;
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 4, &seen, &m)) != 0)
            return rc;
        if (m == 0 || m == 1)
            rc = get_str(d, names[m].json, m == 0 ? &g->sc.name : &g->sc.version);
        else if (m == 2)
            rc = get_attrs(d, &d->scope_attrs, &g->f, "attributes");
        else if (m == 3)
            rc = get_u32(d, names[m].json, &g->sc.dropped_attributes);
        else
            rc = skip_value(d);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* ---- Data points ---- */

/* What an open Metric passes down to its points. */
typedef struct mctx {
    int32_t type;        /* enum osp_metric_type of the data member being read */
    uint32_t index;      /* the row index its points get */
    size_t npoints;      /* point objects seen */
    size_t nbad, bad_at; /* points rejected, index of the first */
    fault bad;           /* why the first was */
} mctx;

enum {
    P_ATTRS,
    P_START,
    P_TIME,
    P_DOUBLE,
    P_INT,
    P_EXEMPLARS,
    P_FLAGS,
    P_COUNT,
    P_SUM,
    P_MIN,
    P_MAX,
    P_BUCKETS,
    P_BOUNDS,
    P_SCALE,
    P_ZERO_COUNT,
    P_ZERO_THRESHOLD,
    P_POS,
    P_NEG,
    P_QUANTILES,
    P_N
};
static const fname point_names[P_N] = {
    [P_ATTRS] = {"attributes", NULL},
    [P_START] = {"startTimeUnixNano", "start_time_unix_nano"},
    [P_TIME] = {"timeUnixNano", "time_unix_nano"},
    [P_DOUBLE] = {"asDouble", "as_double"},
    [P_INT] = {"asInt", "as_int"},
    [P_EXEMPLARS] = {"exemplars", NULL},
    [P_FLAGS] = {"flags", NULL},
    [P_COUNT] = {"count", NULL},
    [P_SUM] = {"sum", NULL},
    [P_MIN] = {"min", NULL},
    [P_MAX] = {"max", NULL},
    [P_BUCKETS] = {"bucketCounts", "bucket_counts"},
    [P_BOUNDS] = {"explicitBounds", "explicit_bounds"},
    [P_SCALE] = {"scale", NULL},
    [P_ZERO_COUNT] = {"zeroCount", "zero_count"},
    [P_ZERO_THRESHOLD] = {"zeroThreshold", "zero_threshold"},
    [P_POS] = {"positive", NULL},
    [P_NEG] = {"negative", NULL},
    [P_QUANTILES] = {"quantileValues", "quantile_values"},
};
#define BIT(x) (1u << (x))
#define P_COMMON (BIT(P_ATTRS) | BIT(P_START) | BIT(P_TIME) | BIT(P_FLAGS))
/* The members of each kind of point, by enum osp_metric_type. */
static const uint32_t point_members[] = {
    [OSP_METRIC_GAUGE] = P_COMMON | BIT(P_DOUBLE) | BIT(P_INT) | BIT(P_EXEMPLARS),
    [OSP_METRIC_SUM] = P_COMMON | BIT(P_DOUBLE) | BIT(P_INT) | BIT(P_EXEMPLARS),
    [OSP_METRIC_HISTOGRAM] = P_COMMON | BIT(P_COUNT) | BIT(P_SUM) | BIT(P_MIN) | BIT(P_MAX) |
                             BIT(P_BUCKETS) | BIT(P_BOUNDS) | BIT(P_EXEMPLARS),
    [OSP_METRIC_EXP_HISTOGRAM] = P_COMMON | BIT(P_COUNT) | BIT(P_SUM) | BIT(P_MIN) | BIT(P_MAX) |
                                 BIT(P_SCALE) | BIT(P_ZERO_COUNT) | BIT(P_ZERO_THRESHOLD) |
                                 BIT(P_POS) | BIT(P_NEG) | BIT(P_EXEMPLARS),
    [OSP_METRIC_SUMMARY] = P_COMMON | BIT(P_COUNT) | BIT(P_SUM) | BIT(P_QUANTILES),
};

/* A repeated uint64 (doubles when `doubles`) member appended to out as 8-byte values. */
static int get_numbers(dec *d, const char *field, int doubles, osp_buf *out)
{
    osp_json_token t;
    int rc = open_value(d, OSP_JSON_ARRAY_BEGIN, field);
    while (rc == 1 && (rc = next(d, &t)) == 1 && t.type != OSP_JSON_ARRAY_END) {
        uint64_t u;
        double v;
        if (doubles && tok_double(&t, &v) == 0)
            rc = osp_buf_append(out, &v, sizeof v);
        else if (!doubles && tok_int(&t, 0, UINT64_MAX, 0, &u) == 0)
            rc = osp_buf_append(out, &u, sizeof u);
        else
            rc = bad_value(d, &t, field,
                           doubles ? "an array of numbers" : "an array of uint64 integers");
        rc = rc < 0 ? rc : 1;
    }
    return rc < 0 ? rc : 0;
}

/* An ExponentialHistogramDataPoint.Buckets object. */
static int get_buckets(dec *d, const char *field, osp_buf *counts, int32_t *offset)
{
    static const fname names[] = {{"offset", NULL}, {"bucketCounts", "bucket_counts"}};
    osp_json_token k;
    uint32_t seen = 0;
    int64_t off = 0;
    int rc = open_value(d, OSP_JSON_OBJECT_BEGIN, field), m;
    while (rc > 0 && (rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 2, &seen, &m)) != 0)
            return rc;
        if (m == 0)
            rc = get_int(d, "offset", INT32_MIN, INT32_MAX, &off);
        else if (m == 1)
            rc = get_numbers(d, "bucketCounts", 0, counts);
        else
            rc = skip_value(d);
        rc = rc < 0 ? rc : 1;
    }
    *offset = (int32_t)off;
    return rc;
}

static int decode_quantile(dec *d, void *arg)
{
    static const fname names[] = {{"quantile", NULL}, {"value", NULL}};
    osp_json_token k;
    osp_quantile q = {0, 0};
    uint32_t seen = 0;
    int rc, m;
    (void)arg;
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 2, &seen, &m)) != 0)
            return rc;
        if (m >= 0)
            rc = get_double(d, names[m].json, m == 0 ? &q.quantile : &q.value);
        else
            rc = skip_value(d);
        if (rc < 0)
            return rc;
    }
    return rc ? rc : osp_buf_append(&d->arr[A_QUANTILES], &q, sizeof q);
}

/* Records in f why an exemplar id of len bytes (from get_id) is not valid: not empty nor
 * want bytes, or not hex. */
static void check_id(fault *f, const char *what, size_t want, size_t len)
{
    if (len == SIZE_MAX)
        set_fault(f, "exemplars: %s is not a hex string", what);
    else if (len != 0 && len != want)
        set_fault(f, "exemplars: %s must be empty or %zu bytes, got %zu", what, want, len);
}

static int decode_exemplar(dec *d, void *arg)
{
    static const fname names[] = {{"timeUnixNano", "time_unix_nano"},
                                  {"asDouble", "as_double"},
                                  {"asInt", "as_int"},
                                  {"traceId", "trace_id"},
                                  {"spanId", "span_id"},
                                  {"filteredAttributes", "filtered_attributes"}};
    fault *f = arg;
    osp_json_token k;
    osp_exemplar ex = {0};
    size_t tlen = 0, slen = 0;
    uint32_t seen = 0;
    int rc, m;
    osp_buf_reset(&d->c.nested);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 6, &seen, &m)) != 0)
            return rc;
        if ((m == 1 || m == 2) && ex.has & OSP_EXEMPLAR_VALUE)
            return invalid(d, k.off, "Exemplar with more than one value");
        switch (m) {
        case 0:
            rc = get_uint(d, names[m].json, UINT64_MAX, &ex.time_ns);
            break;
        case 1:
            if ((rc = get_double(d, names[m].json, &ex.value.d)) == 1)
                ex.has |= OSP_EXEMPLAR_VALUE;
            break;
        case 2:
            if ((rc = get_int(d, names[m].json, INT64_MIN, INT64_MAX, &ex.value.i)) == 1)
                ex.has |= OSP_EXEMPLAR_VALUE | OSP_EXEMPLAR_VALUE_INT;
            break;
        case 3:
            rc = get_id(d, names[m].json, ex.trace_id, sizeof ex.trace_id, &tlen);
            break;
        case 4:
            rc = get_id(d, names[m].json, ex.span_id, sizeof ex.span_id, &slen);
            break;
        case 5:
            rc = get_attrs(d, &d->c.nested, f, "exemplars.filteredAttributes");
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
    check_id(f, "traceId", sizeof ex.trace_id, tlen);
    check_id(f, "spanId", sizeof ex.span_id, slen);
    if (tlen == sizeof ex.trace_id)
        ex.has |= OSP_EXEMPLAR_TRACE_ID;
    if (slen == sizeof ex.span_id)
        ex.has |= OSP_EXEMPLAR_SPAN_ID;
    ex.filtered_attributes = osp_buf_str(&d->c.nested);
    return osp_exemplars_append(&d->exemplars, &ex);
}

/* Copies a scratch array into the arena; NULL and 0 when empty. */
static int keep_array(dec *d, const osp_buf *b, size_t elem, const void **dst, size_t *n)
{
    *dst = NULL;
    *n = b->len / elem;
    if (!b->len)
        return 0;
    *dst = osp_arena_memdup(d->c.arena, b->data, b->len);
    return *dst ? 0 : OSP_ENOMEM;
}

/* The histogram checks of the protobuf decoder, in its order. */
static void check_histogram(const osp_metric_point *p, fault *f)
{
    if ((p->nbuckets || p->nbounds) && p->nbuckets != p->nbounds + 1)
        set_fault(f, "bucketCounts has %zu entries, explicitBounds %zu (want bounds + 1)",
                  p->nbuckets, p->nbounds);
    for (size_t i = 1; i < p->nbounds; i++)
        if (!(p->bounds[i - 1] < p->bounds[i]))
            set_fault(f, "explicitBounds not strictly increasing at index %zu", i);
    for (size_t i = 0; i < p->nbounds; i++)
        if (isnan(p->bounds[i]))
            set_fault(f, "explicitBounds[%zu] is NaN", i);
}

/* A data point object (just opened) of the metric in arg; added when valid. */
static int decode_point(dec *d, void *arg)
{
    mctx *mc = arg;
    osp_json_token k;
    osp_metric_point p = {.metric = mc->index};
    fault f = {""};
    uint32_t seen = 0;
    int64_t i64;
    int rc, m;
    osp_buf_reset(&d->c.attrs);
    osp_buf_reset(&d->exemplars);
    for (size_t i = 0; i < A_N; i++)
        osp_buf_reset(&d->arr[i]);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member_of(d, &k, point_names, P_N, point_members[mc->type], &seen, &m)) != 0)
            return rc;
        if ((m == P_DOUBLE || m == P_INT) && p.has & OSP_POINT_VALUE)
            return invalid(d, k.off, "data point with more than one value");
        const char *name = m >= 0 ? point_names[m].json : "";
        switch (m) {
        case P_ATTRS:
            rc = get_attrs(d, &d->c.attrs, &f, name);
            break;
        case P_START:
        case P_TIME:
            rc = get_uint(d, name, UINT64_MAX, m == P_START ? &p.start_ns : &p.time_ns);
            break;
        case P_DOUBLE:
            if ((rc = get_double(d, name, &p.value.d)) == 1)
                p.has |= OSP_POINT_VALUE;
            break;
        case P_INT:
            if ((rc = get_int(d, name, INT64_MIN, INT64_MAX, &p.value.i)) == 1)
                p.has |= OSP_POINT_VALUE | OSP_POINT_VALUE_INT;
            break;
        case P_EXEMPLARS:
            rc = each_object(d, name, decode_exemplar, &f, NULL);
            break;
        case P_FLAGS:
            rc = get_u32(d, name, &p.flags);
            break;
        case P_COUNT:
        case P_ZERO_COUNT:
            rc = get_uint(d, name, UINT64_MAX, m == P_COUNT ? &p.count : &p.zero_count);
            break;
        case P_SUM:
        case P_MIN:
        case P_MAX: {
            static const uint32_t bits[] = {OSP_POINT_SUM, OSP_POINT_MIN, OSP_POINT_MAX};
            double *const dst[] = {&p.sum, &p.min, &p.max};
            if ((rc = get_double(d, name, dst[m - P_SUM])) == 1)
                p.has |= bits[m - P_SUM];
            break;
        }
        case P_BUCKETS:
        case P_BOUNDS:
            rc = get_numbers(d, name, m == P_BOUNDS, &d->arr[m == P_BOUNDS ? A_BOUNDS : A_BUCKETS]);
            break;
        case P_SCALE:
            i64 = 0;
            rc = get_int(d, name, INT32_MIN, INT32_MAX, &i64);
            p.scale = (int32_t)i64;
            break;
        case P_ZERO_THRESHOLD:
            rc = get_double(d, name, &p.zero_threshold);
            break;
        case P_POS:
            rc = get_buckets(d, name, &d->arr[A_POS], &p.pos_offset);
            break;
        case P_NEG:
            rc = get_buckets(d, name, &d->arr[A_NEG], &p.neg_offset);
            break;
        case P_QUANTILES:
            rc = each_object(d, name, decode_quantile, NULL, NULL);
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
    if (mc->type == OSP_METRIC_SUMMARY)
        p.has |= OSP_POINT_SUM; /* SummaryDataPoint.sum has no presence */
    if ((rc = keep_array(d, &d->arr[A_BUCKETS], sizeof(uint64_t), (const void **)&p.bucket_counts,
                         &p.nbuckets)) < 0 ||
        (rc = keep_array(d, &d->arr[A_BOUNDS], sizeof(double), (const void **)&p.bounds,
                         &p.nbounds)) < 0 ||
        (rc = keep_array(d, &d->arr[A_POS], sizeof(uint64_t), (const void **)&p.pos_counts,
                         &p.npos)) < 0 ||
        (rc = keep_array(d, &d->arr[A_NEG], sizeof(uint64_t), (const void **)&p.neg_counts,
                         &p.nneg)) < 0 ||
        (rc = keep_array(d, &d->arr[A_QUANTILES], sizeof(osp_quantile), (const void **)&p.quantiles,
                         &p.nquantiles)) < 0)
        return rc;
    check_histogram(&p, &f);
    size_t index = mc->npoints++;
    if (f.msg[0]) {
        if (mc->nbad++ == 0) {
            mc->bad_at = index;
            mc->bad = f;
        }
        return 0;
    }
    osp_buf *const bufs[] = {&d->c.attrs, &d->exemplars};
    osp_str *const dst[] = {&p.attributes, &p.exemplars};
    if ((rc = osp__otlp_keep_blobs(&d->c, bufs, dst, 2)) < 0)
        return rc;
    osp_metric_point *row = osp_metric_batch_add_point(d->out);
    if (!row)
        return OSP_ENOMEM;
    *row = p;
    return 0;
}

/* The Gauge, Sum, Histogram, ExponentialHistogram or Summary object (just opened). */
static int decode_data(dec *d, mctx *mc, osp_metric *m)
{
    static const fname names[] = {{"dataPoints", "data_points"},
                                  {"aggregationTemporality", "aggregation_temporality"},
                                  {"isMonotonic", "is_monotonic"}};
    uint32_t allowed = BIT(0);
    osp_json_token k;
    uint32_t seen = 0;
    int rc, i;
    if (mc->type == OSP_METRIC_SUM)
        allowed |= BIT(1) | BIT(2);
    else if (mc->type == OSP_METRIC_HISTOGRAM || mc->type == OSP_METRIC_EXP_HISTOGRAM)
        allowed |= BIT(1);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member_of(d, &k, names, 3, allowed, &seen, &i)) != 0)
            return rc;
        if (i == 0)
            rc = each_object(d, names[i].json, decode_point, mc, NULL);
        else if (i == 1)
            rc = get_temporality(d, names[i].json, &m->temporality);
        else if (i == 2)
            rc = get_bool(d, names[i].json, &m->monotonic);
        else
            rc = skip_value(d);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* The metric's name for messages: at most 64 bytes, cut on a character boundary. */
static int name_len(osp_str name)
{
    size_t n = name.n;
    if (n > 64) {
        n = 64;
        while (n > 0 && ((unsigned char)name.p[n] & 0xc0) == 0x80)
            n--;
    }
    return (int)n;
}

static int decode_metric(dec *d, void *arg)
{
    enum { M_NAME, M_DESC, M_UNIT, M_META, M_DATA };
    static const fname names[] = {
        [M_NAME] = {"name", NULL},
        [M_DESC] = {"description", NULL},
        [M_UNIT] = {"unit", NULL},
        [M_META] = {"metadata", NULL},
        [M_DATA + 0] = {"gauge", NULL},
        [M_DATA + 1] = {"sum", NULL},
        [M_DATA + 2] = {"histogram", NULL},
        [M_DATA + 3] = {"exponentialHistogram", "exponential_histogram"},
        [M_DATA + 4] = {"summary", NULL},
    };
    static const int32_t types[] = {OSP_METRIC_GAUGE, OSP_METRIC_SUM, OSP_METRIC_HISTOGRAM,
                                    OSP_METRIC_EXP_HISTOGRAM, OSP_METRIC_SUMMARY};
    sctx *sc = arg;
    size_t first = d->out->npoints, index = d->nmetric++;
    mctx mc = {.index = (uint32_t)d->out->nmetrics};
    osp_metric m = {.resource = sc->res->index, .scope = sc->index};
    osp_json_token k;
    fault f = {""};
    uint32_t seen = 0;
    int rc, i;
    osp_buf_reset(&d->meta);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, M_DATA + 5, &seen, &i)) != 0)
            return rc;
        if (i >= M_DATA && m.type)
            return invalid(d, k.off, "Metric with more than one data member");
        if (i == M_NAME || i == M_DESC || i == M_UNIT) {
            osp_str *const dst[] = {&m.name, &m.description, &m.unit};
            rc = get_str(d, names[i].json, dst[i]);
        } else if (i == M_META) {
            rc = get_attrs(d, &d->meta, &f, "metadata");
        } else if (i >= M_DATA) {
            if ((rc = open_value(d, OSP_JSON_OBJECT_BEGIN, names[i].json)) == 1) {
                m.type = mc.type = types[i - M_DATA];
                rc = decode_data(d, &mc, &m);
            }
        } else {
            rc = skip_value(d);
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0 || !m.type)
        return rc; /* no data: nothing to keep or reject */
    sc->npoints += (int64_t)mc.npoints;
    if (m.name.n == 0)
        snprintf(f.msg, sizeof f.msg, "name is empty");
    if (f.msg[0]) {
        d->out->npoints = first;
        if (m.name.n)
            pend_add(&sc->p, (int64_t)mc.npoints, "metric \"%.*s\": %s", name_len(m.name),
                     m.name.p, f.msg);
        else
            pend_add(&sc->p, (int64_t)mc.npoints, "metric %zu: %s", index, f.msg);
        return 0;
    }
    pend_add(&sc->p, (int64_t)mc.nbad, "metric \"%.*s\" point %zu: %s", name_len(m.name),
             m.name.p, mc.bad_at, mc.bad.msg);
    if (d->out->npoints == first)
        return 0; /* no row refers to it */
    osp_metric *row;
    if ((rc = keep(d, &d->meta, &m.metadata)) < 0)
        return rc;
    if (!(row = osp_metric_batch_add_metric(d->out)))
        return OSP_ENOMEM;
    *row = m;
    return 0;
}

/* ---- Containers ---- */

static int decode_scope_metrics(dec *d, void *arg)
{
    static const fname names[] = {{"scope", NULL}, {"metrics", NULL}, {"schemaUrl", "schema_url"}};
    rctx *res = arg;
    sctx g = {.res = res, .index = (uint32_t)d->out->nscopes};
    size_t first_point = d->out->npoints, first_metric = d->out->nmetrics, first = d->nmetric;
    osp_json_token k;
    uint32_t seen = 0;
    int rc, m;
    osp_buf_reset(&d->scope_attrs);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 3, &seen, &m)) != 0)
            return rc;
        if (m == 0 && (rc = open_value(d, OSP_JSON_OBJECT_BEGIN, names[m].json)) == 1)
            rc = decode_scope(d, &g);
        else if (m == 1)
            rc = each_object(d, names[m].json, decode_metric, &g, NULL);
        else if (m == 2)
            rc = get_str(d, names[m].json, &g.sc.schema_url);
        else if (m < 0)
            rc = skip_value(d);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    size_t n = d->nmetric - first, last = first + n - (n > 0);
    res->npoints += g.npoints;
    if (g.npoints && !res->have_range) {
        res->have_range = 1;
        res->msg_first = first;
        res->msg_last = last;
    }
    if (g.f.msg[0]) {
        d->out->npoints = first_point;
        d->out->nmetrics = first_metric;
        pend_add(&res->p, g.npoints, "metrics %zu..%zu: scope: %s", first, last, g.f.msg);
        return 0;
    }
    pend_join(&res->p, &g.p);
    if (d->out->npoints == first_point)
        return 0; /* no row refers to it */
    osp_scope *row;
    if ((rc = keep(d, &d->scope_attrs, &g.sc.attributes)) < 0)
        return rc;
    if (!(row = osp_metric_batch_add_scope(d->out)))
        return OSP_ENOMEM;
    *row = g.sc;
    return 0;
}

static int decode_resource_metrics(dec *d, void *arg)
{
    static const fname names[] = {
        {"resource", NULL}, {"scopeMetrics", "scope_metrics"}, {"schemaUrl", "schema_url"}};
    rctx g = {.index = (uint32_t)d->out->nresources};
    size_t first_point = d->out->npoints, first_metric = d->out->nmetrics;
    size_t first_scope = d->out->nscopes;
    osp_json_token k;
    osp_value v;
    uint32_t seen = 0;
    int rc, m;
    (void)arg;
    osp_buf_reset(&d->res_attrs);
    osp_buf_reset(&d->res_refs);
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 3, &seen, &m)) != 0)
            return rc;
        if (m == 0 && (rc = open_value(d, OSP_JSON_OBJECT_BEGIN, names[m].json)) == 1)
            rc = decode_resource(d, &g);
        else if (m == 1)
            rc = each_object(d, names[m].json, decode_scope_metrics, &g, NULL);
        else if (m == 2)
            rc = get_str(d, names[m].json, &g.res.schema_url);
        else if (m < 0)
            rc = skip_value(d);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (g.f.msg[0]) {
        d->out->npoints = first_point;
        d->out->nmetrics = first_metric;
        d->out->nscopes = first_scope;
        g.p.n = 0;
        g.p.msg[0] = '\0';
        pend_add(&g.p, g.npoints, "metrics %zu..%zu: resource: %s", g.msg_first, g.msg_last,
                 g.f.msg);
    }
    d->c.rep->rejected += g.p.n;
    if (g.p.n)
        osp__otlp_report(&d->c, 0, "%s", g.p.msg);
    if (d->out->npoints == first_point)
        return 0; /* no row refers to it */
    osp_resource *row;
    osp_buf *const bufs[] = {&d->res_attrs, &d->res_refs};
    osp_str *const dst[] = {&g.res.attributes, &g.res.entity_refs};
    if ((rc = osp__otlp_keep_blobs(&d->c, bufs, dst, 2)) < 0)
        return rc;
    if (osp_attr_find(g.res.attributes, OSP_STR_LIT("service.name"), &v) == 1 &&
        v.type == OSP_VAL_STRING)
        g.res.service_name = v.s;
    if (!(row = osp_metric_batch_add_resource(d->out)))
        return OSP_ENOMEM;
    *row = g.res;
    return 0;
}

static int decode_body(dec *d)
{
    static const fname names[] = {{"resourceMetrics", "resource_metrics"}};
    osp_json_token k;
    uint32_t seen = 0;
    int rc, m;
    if ((rc = next(d, &k)) < 0)
        return rc;
    if (k.type != OSP_JSON_OBJECT_BEGIN)
        return bad_value(d, &k, "the body", "an object");
    while ((rc = next_key(d, &k)) == 1) {
        if ((rc = member(d, &k, names, 1, &seen, &m)) != 0)
            return rc;
        rc = m == 0 ? each_object(d, names[m].json, decode_resource_metrics, NULL, NULL)
                    : skip_value(d);
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : next(d, &k); /* 0: nothing follows the object */
}

int osp_otlp_metrics_decode_json(osp_str body, osp_metric_batch *out, osp_decode_report *rep)
{
    /* Canonical blobs are never larger than the JSON they come from; a value given before
     * its key needs room for a second copy while it is wrapped. An array element takes at
     * least 2 bytes of JSON and 8 decoded (a quantile at least 16, and 16 decoded). */
    size_t cap = 2 * body.n + 4096;
    size_t nres = out->nresources, nscopes = out->nscopes, nmetrics = out->nmetrics;
    size_t npoints = out->npoints;
    dec d = {.c = {.rep = rep, .arena = &out->arena}, .out = out};
    osp_buf *all[] = {&d.scratch,   &d.key,         &d.bytes,    &d.res_attrs, &d.res_refs,
                      &d.idkeys,    &d.desckeys,    &d.scope_attrs, &d.meta,   &d.exemplars,
                      &d.c.attrs,   &d.c.nested};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        osp_buf_init(all[i], cap);
    for (size_t i = 0; i < A_N; i++)
        osp_buf_init(&d.arr[i], 4 * body.n + 4096);
    rep->rejected = 0;
    rep->message[0] = '\0';
    osp_json_reader_init(&d.r, body, &d.scratch);
    int rc = decode_body(&d);
    if (rc == OSP_ETOOBIG) {
        osp__otlp_report(&d.c, 1, "invalid OTLP/JSON: decoded data too large");
        rc = OSP_EPARSE;
    }
    if (rc < 0) { /* leave out as it was */
        out->nresources = nres;
        out->nscopes = nscopes;
        out->nmetrics = nmetrics;
        out->npoints = npoints;
        rep->rejected = 0;
    }
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        osp_buf_cleanup(all[i]);
    for (size_t i = 0; i < A_N; i++)
        osp_buf_cleanup(&d.arr[i]);
    return rc;
}
