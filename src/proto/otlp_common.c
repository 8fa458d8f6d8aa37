/* The helpers the OTLP protobuf codecs share (see otlp_int.h): AnyValue, KeyValue,
 * Resource, InstrumentationScope and EntityRef decoding, UTF-8 checks, rejections, and the
 * resource/scope walk and grouping encoder of traces and logs. */
#include "proto/otlp_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

#define V OSP_PB_VARINT
#define L OSP_PB_LEN
#define F64 OSP_PB_I64

/* Notes why the current element is invalid (the innermost reason is kept) and returns
 * OSP_EPARSE, which means "reject this element"; other errors abort the request. */
int osp__otlp_bad(osp__otlp_dec *d, const char *fmt, ...)
{
    if (!d->why[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->why, sizeof d->why, fmt, ap);
        va_end(ap);
    }
    return OSP_EPARSE;
}

/* Records the request's message: the first rejection's, unless `fatal` (the request
 * cannot be decoded at all), whose message replaces any other. */
void osp__otlp_report(osp__otlp_dec *d, int fatal, const char *fmt, ...)
{
    if (fatal || !d->rep->message[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->rep->message, sizeof d->rep->message, fmt, ap);
        va_end(ap);
    }
}

int osp__otlp_check_utf8(osp__otlp_dec *d, osp_str s, const char *what)
{
    return osp__otlp_utf8_ok(s) ? 0 : osp__otlp_bad(d, "%s is not valid UTF-8", what);
}

static const uint8_t anyvalue_wires[] = {L, V, V, F64, L, L, L, V};
static const uint8_t keyvalue_wires[] = {L, L, V};
static const uint8_t scope_wires[] = {L, L, L, V};
static const uint8_t resource_wires[] = {L, V, L};
static const uint8_t entity_ref_wires[] = {L, L, L, L};
static const uint8_t container_wires[] = {L, L, L}; /* Resource/Scope Spans/Metrics */
#undef V
#undef L
#undef F64

/* Re-encodes one wire AnyValue canonically into out (depth 1 = an attribute's value). */
int osp__otlp_put_anyvalue(osp__otlp_dec *d, osp_str wire, osp_buf *out, int depth,
                           const char *where)
{
    if (depth > OSP_MAX_ANYVALUE_DEPTH)
        return osp__otlp_bad(d, "%s: value nested deeper than %d levels", where,
                             OSP_MAX_ANYVALUE_DEPTH);
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f, last = {0};
    int rc;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, anyvalue_wires, sizeof anyvalue_wires))
            return osp__otlp_bad(d, "%s: AnyValue field %u has the wrong wire type", where, f.num);
        if (f.num <= sizeof anyvalue_wires)
            last = f;
    }
    if (rc < 0)
        return osp__otlp_bad(d, "%s: malformed AnyValue: %s", where, osp_pb_reason(&r));

    osp_value v = {.type = OSP_VAL_EMPTY};
    size_t mark;
    switch (last.num) {
    case 1:
        if (!osp__otlp_utf8_ok(last.bytes))
            return osp__otlp_bad(d, "%s: string value is not valid UTF-8", where);
        v.type = OSP_VAL_STRING;
        v.s = last.bytes;
        break;
    case 2:
        v.type = OSP_VAL_BOOL;
        v.i = last.u64 != 0;
        break;
    case 3:
        v.type = OSP_VAL_INT;
        v.i = (int64_t)last.u64;
        break;
    case 4:
        v.type = OSP_VAL_DOUBLE;
        v.d = osp_pb_as_double(last.u64);
        break;
    case 7:
        v.type = OSP_VAL_BYTES;
        v.s = last.bytes;
        break;
    case 5:
    case 6:
        /* ArrayValue {1: AnyValue} and KeyValueList {1: KeyValue} alike */
        rc = osp_value_begin_nested(out, last.num == 5 ? OSP_VAL_ARRAY : OSP_VAL_KVLIST, &mark);
        r = osp__otlp_reader(last.bytes);
        while (rc == 0 && (rc = osp_pb_next(&r, &f)) == 1) {
            rc = 0;
            if (f.num != 1)
                continue;
            if (f.wire != OSP_PB_LEN)
                return osp__otlp_bad(d, "%s: %s element has the wrong wire type", where,
                                     last.num == 5 ? "array" : "kvlist");
            if (last.num == 6) {
                rc = osp__otlp_put_keyvalue(d, f.bytes, out, depth + 1, where);
                continue;
            }
            size_t elem;
            rc = osp_array_begin_elem(out, &elem);
            if (rc == 0)
                rc = osp__otlp_put_anyvalue(d, f.bytes, out, depth + 1, where);
            if (rc == 0)
                rc = osp_array_end_elem(out, elem);
        }
        if (rc < 0)
            return rc == OSP_EPARSE ? osp__otlp_bad(d, "%s: malformed nested value", where) : rc;
        return osp_value_end_nested(out, mark);
    default: /* absent, or string_value_strindex: the empty value */
        break;
    }
    return osp_value_put(out, &v);
}

/* Re-encodes one wire KeyValue as a canonical record appended to out. */
int osp__otlp_put_keyvalue(osp__otlp_dec *d, osp_str wire, osp_buf *out, int depth,
                           const char *where)
{
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    osp_str key = OSP_STR_NULL, val = OSP_STR_NULL;
    int rc;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, keyvalue_wires, sizeof keyvalue_wires))
            return osp__otlp_bad(d, "%s: KeyValue field %u has the wrong wire type", where, f.num);
        if (f.num == 1)
            key = f.bytes;
        else if (f.num == 2)
            val = f.bytes;
    }
    if (rc < 0)
        return osp__otlp_bad(d, "%s: malformed KeyValue: %s", where, osp_pb_reason(&r));
    if (!osp__otlp_utf8_ok(key))
        return osp__otlp_bad(d, "%s: key is not valid UTF-8", where);
    osp_attr_mark m;
    rc = osp_attr_begin(out, key, &m);
    if (rc == 0)
        rc = osp__otlp_put_anyvalue(d, val, out, depth, where);
    return rc ? rc : osp_attr_end(out, &m);
}

/* Copies the scratch blobs into the batch arena, one allocation for all of them. */
int osp__otlp_keep_blobs(osp__otlp_dec *d, osp_buf *const *bufs, osp_str *const *dst, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += bufs[i]->len;
    char *p = osp_arena_alloc(d->arena, total ? total : 1);
    if (!p)
        return OSP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        *dst[i] = OSP_STR_NULL;
        if (bufs[i]->len) {
            memcpy(p, bufs[i]->data, bufs[i]->len);
            *dst[i] = osp_str_make(p, bufs[i]->len);
            p += bufs[i]->len;
        }
    }
    return 0;
}

/* Decodes one EntityRef into d->nested (id keys, then description keys). */
static int put_entity_ref(osp__otlp_dec *d, osp_str wire)
{
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    osp_str url = OSP_STR_NULL, type = OSP_STR_NULL;
    int rc;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, entity_ref_wires, sizeof entity_ref_wires))
            return osp__otlp_bad(d, "entity_refs: field %u has the wrong wire type", f.num);
        if (f.num <= 4 && !osp__otlp_utf8_ok(f.bytes))
            return osp__otlp_bad(d, "entity_refs: a string is not valid UTF-8");
        if (f.num == 1)
            url = f.bytes;
        else if (f.num == 2)
            type = f.bytes;
    }
    if (rc < 0)
        return osp__otlp_bad(d, "entity_refs: malformed EntityRef: %s", osp_pb_reason(&r));
    size_t mark;
    rc = osp_entity_ref_begin(&d->nested, url, type, &mark);
    for (uint32_t num = 3; num <= 4 && rc == 0; num++) {
        r = osp__otlp_reader(wire);
        while (rc == 0 && osp_pb_next(&r, &f) == 1)
            if (f.num == num)
                rc = osp_entity_ref_add_key(&d->nested, num == 4, f.bytes);
    }
    return rc ? rc : osp_entity_ref_end(&d->nested, mark);
}

int osp__otlp_decode_resource(osp__otlp_dec *d, osp_str wire, osp_str schema_url, osp_resource *res)
{
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    int rc;
    *res = (osp_resource){.schema_url = schema_url};
    osp_buf_reset(&d->attrs);
    osp_buf_reset(&d->nested);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, resource_wires, sizeof resource_wires))
            return osp__otlp_bad(d, "field %u has the wrong wire type", f.num);
        if (f.num == 1)
            rc = osp__otlp_put_keyvalue(d, f.bytes, &d->attrs, 1, "attributes");
        else if (f.num == 2)
            res->dropped_attributes = (uint32_t)f.u64;
        else if (f.num == 3)
            rc = put_entity_ref(d, f.bytes);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return osp__otlp_bad(d, "malformed Resource: %s", osp_pb_reason(&r));
    if ((rc = osp__otlp_check_utf8(d, schema_url, "schema_url")) < 0)
        return rc;
    osp_buf *const bufs[] = {&d->attrs, &d->nested};
    osp_str *const dst[] = {&res->attributes, &res->entity_refs};
    if ((rc = osp__otlp_keep_blobs(d, bufs, dst, 2)) < 0)
        return rc;
    osp_value v;
    if (osp_attr_find(res->attributes, OSP_STR_LIT("service.name"), &v) == 1 &&
        v.type == OSP_VAL_STRING)
        res->service_name = v.s;
    return 0;
}

int osp__otlp_decode_scope(osp__otlp_dec *d, osp_str wire, osp_str schema_url, osp_scope *sc)
{
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    int rc;
    *sc = (osp_scope){.schema_url = schema_url};
    osp_buf_reset(&d->attrs);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, scope_wires, sizeof scope_wires))
            return osp__otlp_bad(d, "field %u has the wrong wire type", f.num);
        if (f.num == 1)
            sc->name = f.bytes;
        else if (f.num == 2)
            sc->version = f.bytes;
        else if (f.num == 3)
            rc = osp__otlp_put_keyvalue(d, f.bytes, &d->attrs, 1, "attributes");
        else if (f.num == 4)
            sc->dropped_attributes = (uint32_t)f.u64;
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return osp__otlp_bad(d, "malformed InstrumentationScope: %s", osp_pb_reason(&r));
    if ((rc = osp__otlp_check_utf8(d, sc->name, "name")) < 0 ||
        (rc = osp__otlp_check_utf8(d, sc->version, "version")) < 0 ||
        (rc = osp__otlp_check_utf8(d, schema_url, "schema_url")) < 0)
        return rc;
    osp_buf *const bufs[] = {&d->attrs};
    osp_str *const dst[] = {&sc->attributes};
    return osp__otlp_keep_blobs(d, bufs, dst, 1);
}

int osp__otlp_scan_container(osp__otlp_dec *d, osp_str wire, const char *what, osp_str *head,
                             osp_str *url, size_t *nchildren)
{
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    int rc;
    *head = *url = OSP_STR_NULL;
    *nchildren = 0;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, container_wires, sizeof container_wires)) {
            osp__otlp_report(d, 1, "%s: field %u has the wrong wire type", what, f.num);
            return OSP_EPARSE;
        }
        if (f.num == 1)
            *head = f.bytes;
        else if (f.num == 2)
            (*nchildren)++;
        else if (f.num == 3)
            *url = f.bytes;
    }
    if (rc < 0)
        osp__otlp_report(d, 1, "%s: malformed: %s", what, osp_pb_reason(&r));
    return rc;
}

/* Counts a rejection: the elements' message, or the enclosing resource's or scope's. */
void osp__otlp_reject(osp__otlp_dec *d, size_t n, const char *what)
{
    d->rep->rejected += (int64_t)n;
    if (n)
        osp__otlp_report(d, 0, "%s: %s", what, d->why);
}

int osp__otlp_decode_request(osp__otlp_dec *d, osp_str body, const char *what,
                             int (*each)(osp__otlp_dec *d, osp_str wire))
{
    osp_pb_reader r = osp__otlp_reader(body);
    osp_pb_field f;
    int rc;
    d->rep->rejected = 0;
    d->rep->message[0] = '\0';
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (f.num != 1)
            continue;
        if (f.wire != OSP_PB_LEN) {
            osp__otlp_report(d, 1, "%s has the wrong wire type", what);
            return OSP_EPARSE;
        }
        if ((rc = each(d, f.bytes)) < 0)
            return rc;
    }
    if (rc < 0)
        osp__otlp_report(d, 1, "request: malformed protobuf at byte %zu: %s",
                         (size_t)(r.p - (const uint8_t *)body.p), osp_pb_reason(&r));
    return rc;
}

/* One scratch array into the arena; NULL and 0 when empty. */
static int keep_array(osp_arena *arena, const osp_buf *b, size_t elem, const void **dst, size_t *n)
{
    *dst = NULL;
    *n = b->len / elem;
    if (!b->len)
        return 0;
    *dst = osp_arena_memdup(arena, b->data, b->len);
    return *dst ? 0 : OSP_ENOMEM;
}

int osp__otlp_keep_point_arrays(osp_arena *arena, const osp_buf arr[OSP__ARR_N],
                                osp_metric_point *p)
{
    int rc;
    if ((rc = keep_array(arena, &arr[OSP__ARR_BUCKETS], sizeof(uint64_t),
                         (const void **)&p->bucket_counts, &p->nbuckets)) ||
        (rc = keep_array(arena, &arr[OSP__ARR_BOUNDS], sizeof(double), (const void **)&p->bounds,
                         &p->nbounds)) ||
        (rc = keep_array(arena, &arr[OSP__ARR_POS], sizeof(uint64_t), (const void **)&p->pos_counts,
                         &p->npos)) ||
        (rc = keep_array(arena, &arr[OSP__ARR_NEG], sizeof(uint64_t), (const void **)&p->neg_counts,
                         &p->nneg)))
        return rc;
    return keep_array(arena, &arr[OSP__ARR_QUANTILES], sizeof(osp_quantile),
                      (const void **)&p->quantiles, &p->nquantiles);
}

/* ---- Signals whose rows sit directly in their Scope* messages (traces, logs) ---- */

/* Decodes a Scope* message whose rows belong to resource row `resource` (UINT32_MAX when
 * the resource was rejected: the rows are only counted). */
static int decode_scope_rows(osp__otlp_rowdec *d, osp_str wire, uint32_t resource, size_t *nrows)
{
    osp_scope sc, *row = NULL;
    osp_str head, url;
    osp_pb_reader r;
    osp_pb_field f;
    size_t n, first = d->nrow, kept = 0;
    int rc = osp__otlp_scan_container(&d->c, wire, d->scope_field, &head, &url, &n);
    if (rc < 0)
        return rc;
    *nrows = n;
    if (resource == UINT32_MAX) {
        d->nrow += n;
        return 0;
    }
    d->c.why[0] = '\0';
    rc = osp__otlp_decode_scope(&d->c, head, url, &sc);
    if (rc == 0 && !(row = d->b.add_scope(d->b.batch)))
        rc = OSP_ENOMEM;
    if (rc == OSP_EPARSE) {
        char what[48];
        snprintf(what, sizeof what, "%s %zu..%zu: scope", d->rows, first, first + n - (n > 0));
        osp__otlp_reject(&d->c, n, what);
        d->nrow += n;
        return 0;
    }
    if (rc < 0)
        return rc;
    *row = sc;
    uint32_t scope = (uint32_t)(*d->b.nscopes - 1);
    r = osp__otlp_reader(wire);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (f.num != 2)
            continue;
        d->c.why[0] = '\0';
        rc = d->decode_row(d, f.bytes, resource, scope);
        if (rc == OSP_EPARSE) {
            char what[32];
            snprintf(what, sizeof what, "%s %zu", d->row, d->nrow);
            osp__otlp_reject(&d->c, 1, what);
        } else if (rc < 0) {
            return rc;
        } else {
            kept++;
        }
        d->nrow++;
    }
    if (kept == 0)
        (*d->b.nscopes)--; /* no row refers to it */
    return 0;
}

static int decode_resource_rows(osp__otlp_dec *c, osp_str wire)
{
    osp__otlp_rowdec *d = (osp__otlp_rowdec *)c; /* c is its first member */
    osp_resource res, *row = NULL;
    osp_str head, url;
    osp_pb_reader r;
    osp_pb_field f;
    size_t nscopes, first = d->nrow, nrows = 0, before;
    int rc = osp__otlp_scan_container(&d->c, wire, d->resource_field, &head, &url, &nscopes);
    if (rc < 0)
        return rc;
    d->c.why[0] = '\0';
    rc = osp__otlp_decode_resource(&d->c, head, url, &res);
    if (rc == 0 && !(row = d->b.add_resource(d->b.batch)))
        rc = OSP_ENOMEM;
    if (rc < 0 && rc != OSP_EPARSE)
        return rc;
    if (row)
        *row = res;
    uint32_t resource = rc ? UINT32_MAX : (uint32_t)(*d->b.nresources - 1);
    before = *d->b.nrows;
    r = osp__otlp_reader(wire);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        size_t n;
        if (f.num == 2 && (rc = decode_scope_rows(d, f.bytes, resource, &n)) < 0)
            return rc;
        if (f.num == 2)
            nrows += n;
    }
    if (resource == UINT32_MAX) {
        char what[48];
        snprintf(what, sizeof what, "%s %zu..%zu: resource", d->rows, first,
                 first + nrows - (nrows > 0));
        osp__otlp_reject(&d->c, nrows, what);
    } else if (*d->b.nrows == before) {
        (*d->b.nresources)--; /* no row refers to it */
    }
    return 0;
}

int osp__otlp_decode_rows(osp__otlp_rowdec *d, osp_str body)
{
    return osp__otlp_decode_request(&d->c, body, d->resource_field, decode_resource_rows);
}

int osp__otlp_put_records(osp_buf *out, uint32_t num, osp_str blob)
{
    osp_pb_reader r = osp__otlp_reader(blob);
    osp_pb_field f;
    int rc;
    while ((rc = osp_pb_next(&r, &f)) == 1)
        if (f.num != 1 || f.wire != OSP_PB_LEN || (rc = osp_pb_put_str(out, num, f.bytes)) < 0)
            return rc < 0 ? rc : OSP_ECORRUPT;
    return rc < 0 ? OSP_ECORRUPT : 0;
}

int osp__otlp_put_uint_nz(osp_buf *out, uint32_t num, uint64_t v)
{
    return v ? osp_pb_put_uint(out, num, v) : 0;
}

int osp__otlp_put_str_nz(osp_buf *out, uint32_t num, osp_str s)
{
    return s.n ? osp_pb_put_str(out, num, s) : 0;
}

static int put_resource(osp_buf *out, const osp_resource *res)
{
    size_t mark;
    int rc = osp_pb_begin(out, 1, &mark);
    if (rc == 0)
        rc = osp_buf_append_str(out, res->attributes); /* already field-1 KeyValues */
    if (rc == 0)
        rc = osp__otlp_put_uint_nz(out, 2, res->dropped_attributes);
    if (rc == 0)
        rc = osp__otlp_put_records(out, 3, res->entity_refs);
    return rc ? rc : osp_pb_end(out, mark);
}

static int put_scope(osp_buf *out, const osp_scope *sc)
{
    size_t mark;
    int rc = osp_pb_begin(out, 1, &mark);
    if (rc == 0)
        rc = osp__otlp_put_str_nz(out, 1, sc->name);
    if (rc == 0)
        rc = osp__otlp_put_str_nz(out, 2, sc->version);
    if (rc == 0)
        rc = osp__otlp_put_records(out, 3, sc->attributes);
    if (rc == 0)
        rc = osp__otlp_put_uint_nz(out, 4, sc->dropped_attributes);
    return rc ? rc : osp_pb_end(out, mark);
}

/* Closes an open Scope* or Resource* message: its schema_url (field 3), then the length. */
static int close_group(osp_buf *out, osp_str schema_url, size_t mark)
{
    int rc = osp__otlp_put_str_nz(out, 3, schema_url);
    return rc ? rc : osp_pb_end(out, mark);
}

int osp__otlp_encode_rows(const osp__otlp_view *v, osp_buf *out,
                          int (*put_row)(osp_buf *out, const void *batch, size_t i))
{
    const osp_resource *res = NULL;
    const osp_scope *sc = NULL;
    size_t rs_mark = 0, ss_mark = 0;
    int rc = 0;
    for (size_t i = 0; i < v->nrows && rc == 0; i++) {
        uint32_t ri, si;
        v->place(v->batch, i, &ri, &si);
        const osp_resource *r = &v->resources[ri];
        const osp_scope *c = &v->scopes[si];
        int new_res = !res || (r != res && !osp_resource_equal(r, res));
        if (sc && (new_res || (c != sc && !osp_scope_equal(c, sc)))) {
            rc = close_group(out, sc->schema_url, ss_mark);
            sc = NULL;
        }
        if (rc == 0 && res && new_res)
            rc = close_group(out, res->schema_url, rs_mark);
        if (rc == 0 && new_res) {
            res = r;
            rc = osp_pb_begin(out, 1, &rs_mark);
            if (rc == 0)
                rc = put_resource(out, r);
        }
        if (rc == 0 && !sc) {
            sc = c;
            rc = osp_pb_begin(out, 2, &ss_mark);
            if (rc == 0)
                rc = put_scope(out, c);
        }
        if (rc == 0)
            rc = put_row(out, v->batch, i);
    }
    if (rc == 0 && sc)
        rc = close_group(out, sc->schema_url, ss_mark);
    if (rc == 0 && res)
        rc = close_group(out, res->schema_url, rs_mark);
    return rc;
}

static osp_resource *span_add_resource(void *b)
{
    return osp_span_batch_add_resource(b);
}

static osp_scope *span_add_scope(void *b)
{
    return osp_span_batch_add_scope(b);
}

static osp_resource *log_add_resource(void *b)
{
    return osp_log_batch_add_resource(b);
}

static osp_scope *log_add_scope(void *b)
{
    return osp_log_batch_add_scope(b);
}

osp__otlp_rowbatch osp__otlp_span_rows(osp_span_batch *b)
{
    return (osp__otlp_rowbatch){b,          &b->nresources,    &b->nscopes,
                                &b->nspans, span_add_resource, span_add_scope};
}

osp__otlp_rowbatch osp__otlp_log_rows(osp_log_batch *b)
{
    return (osp__otlp_rowbatch){
        b, &b->nresources, &b->nscopes, &b->nrecords, log_add_resource, log_add_scope};
}

static void span_place(const void *b, size_t i, uint32_t *resource, uint32_t *scope)
{
    const osp_span *s = &((const osp_span_batch *)b)->spans[i];
    *resource = s->resource;
    *scope = s->scope;
}

static void log_place(const void *b, size_t i, uint32_t *resource, uint32_t *scope)
{
    const osp_log_record *lr = &((const osp_log_batch *)b)->records[i];
    *resource = lr->resource;
    *scope = lr->scope;
}

osp__otlp_view osp__otlp_span_view(const osp_span_batch *b)
{
    return (osp__otlp_view){b,          b->resources, b->scopes, b->nresources,
                            b->nscopes, b->nspans,    span_place};
}

osp__otlp_view osp__otlp_log_view(const osp_log_batch *b)
{
    return (osp__otlp_view){b,          b->resources, b->scopes, b->nresources,
                            b->nscopes, b->nrecords,  log_place};
}
