/* Row codec for write-ahead-log payloads.
 *
 * Layout (all integers are unsigned LEB128 varints unless said otherwise; "str" is a varint
 * length followed by that many bytes; signed values are zigzag-encoded):
 *   version (1 byte, = 1)
 *   nresources, then per resource: str attributes, dropped_attributes, str entity_refs,
 *                                  str schema_url, str service_name
 *   nscopes, then per scope:       str name, str version, str attributes,
 *                                  dropped_attributes, str schema_url
 *   nspans, then per span:         trace_id (16 bytes), span_id (8), parent_span_id (8),
 *                                  start_ns, osp_pb_zigzag_encode(end_ns - start_ns) (wrapping),
 *                                  flags, osp_pb_zigzag_encode(kind),
 * osp_pb_zigzag_encode(status_code), dropped_attributes, dropped_events, dropped_links, str name,
 * str trace_state, str status_message, str attributes, str events, str links, resource index, scope
 * index Nothing may follow the last span. */
#include "store/embedded/rowcodec.h"

#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/pb.h"

#define ROWCODEC_VERSION 1

static int put_varints(osp_buf *out, const uint64_t *v, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = osp_pb_put_varint(out, v[i]);
    return rc;
}

static int put_strs(osp_buf *out, const osp_str *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = osp_pb_put_lenstr(out, s[i]);
    return rc;
}

static int encode_resource(osp_buf *out, const osp_resource *r)
{
    int rc = osp_pb_put_lenstr(out, r->attributes);
    if (rc == 0)
        rc = osp_pb_put_varint(out, r->dropped_attributes);
    osp_str tail[] = {r->entity_refs, r->schema_url, r->service_name};
    return rc ? rc : put_strs(out, tail, 3);
}

static int encode_scope(osp_buf *out, const osp_scope *s)
{
    osp_str head[] = {s->name, s->version, s->attributes};
    int rc = put_strs(out, head, 3);
    if (rc == 0)
        rc = osp_pb_put_varint(out, s->dropped_attributes);
    return rc ? rc : osp_pb_put_lenstr(out, s->schema_url);
}

static int encode_span(osp_buf *out, const osp_span *s)
{
    int rc = osp_buf_append(out, s->trace_id, 16);
    if (rc == 0)
        rc = osp_buf_append(out, s->span_id, 8);
    if (rc == 0)
        rc = osp_buf_append(out, s->parent_span_id, 8);
    uint64_t nums[] = {s->start_ns,
                       osp_pb_zigzag_encode((int64_t)(s->end_ns - s->start_ns)),
                       s->flags,
                       osp_pb_zigzag_encode(s->kind),
                       osp_pb_zigzag_encode(s->status_code),
                       s->dropped_attributes,
                       s->dropped_events,
                       s->dropped_links};
    if (rc == 0)
        rc = put_varints(out, nums, sizeof nums / sizeof nums[0]);
    osp_str strs[] = {s->name,       s->trace_state, s->status_message,
                      s->attributes, s->events,      s->links};
    if (rc == 0)
        rc = put_strs(out, strs, sizeof strs / sizeof strs[0]);
    uint64_t refs[] = {s->resource, s->scope};
    return rc ? rc : put_varints(out, refs, 2);
}

int osp_rowcodec_encode(const osp_span_batch *b, osp_buf *out)
{
    int rc = osp_buf_putc(out, ROWCODEC_VERSION);
    if (rc == 0)
        rc = osp_pb_put_varint(out, b->nresources);
    for (size_t i = 0; i < b->nresources && rc == 0; i++)
        rc = encode_resource(out, &b->resources[i]);
    if (rc == 0)
        rc = osp_pb_put_varint(out, b->nscopes);
    for (size_t i = 0; i < b->nscopes && rc == 0; i++)
        rc = encode_scope(out, &b->scopes[i]);
    if (rc == 0)
        rc = osp_pb_put_varint(out, b->nspans);
    for (size_t i = 0; i < b->nspans && rc == 0; i++)
        rc = encode_span(out, &b->spans[i]);
    return rc;
}

/* Decoding: every reader returns 0 or OSP_ECORRUPT and never reads past r->end. */

static int get_varint(osp_pb_reader *r, uint64_t *v)
{
    return osp_pb_read_varint(r, v) ? OSP_ECORRUPT : 0;
}

static int get_u32(osp_pb_reader *r, uint32_t *v)
{
    uint64_t x;
    if (get_varint(r, &x) || x > UINT32_MAX)
        return OSP_ECORRUPT;
    *v = (uint32_t)x;
    return 0;
}

static int get_i32(osp_pb_reader *r, int32_t *v)
{
    uint64_t x;
    if (get_varint(r, &x))
        return OSP_ECORRUPT;
    int64_t s = osp_pb_zigzag_decode(x);
    if (s < INT32_MIN || s > INT32_MAX)
        return OSP_ECORRUPT;
    *v = (int32_t)s;
    return 0;
}

static int get_str(osp_pb_reader *r, osp_str *s)
{
    return osp_pb_read_lenbytes(r, s) ? OSP_ECORRUPT : 0;
}

static int get_strs(osp_pb_reader *r, osp_str *const *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = get_str(r, s[i]);
    return rc;
}

static int get_u32s(osp_pb_reader *r, uint32_t *const *v, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = get_u32(r, v[i]);
    return rc;
}

static int get_bytes(osp_pb_reader *r, uint8_t *dst, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return OSP_ECORRUPT;
    memcpy(dst, r->p, n);
    r->p += n;
    return 0;
}

static int decode_resource(osp_pb_reader *r, osp_resource *res)
{
    int rc = get_str(r, &res->attributes);
    if (rc == 0)
        rc = get_u32(r, &res->dropped_attributes);
    osp_str *tail[] = {&res->entity_refs, &res->schema_url, &res->service_name};
    return rc ? rc : get_strs(r, tail, 3);
}

static int decode_scope(osp_pb_reader *r, osp_scope *sc)
{
    osp_str *head[] = {&sc->name, &sc->version, &sc->attributes};
    int rc = get_strs(r, head, 3);
    if (rc == 0)
        rc = get_u32(r, &sc->dropped_attributes);
    return rc ? rc : get_str(r, &sc->schema_url);
}

/* Decodes one span; resource and scope indexes are checked against this encoding's
 * counts and moved past the rows the batch held before (res_base, scope_base). */
static int decode_span(osp_pb_reader *r, osp_span *s, size_t nres, size_t nscopes, size_t res_base,
                       size_t scope_base)
{
    uint64_t start, delta;
    int rc = get_bytes(r, s->trace_id, 16);
    if (rc == 0)
        rc = get_bytes(r, s->span_id, 8);
    if (rc == 0)
        rc = get_bytes(r, s->parent_span_id, 8);
    if (rc == 0)
        rc = get_varint(r, &start);
    if (rc == 0)
        rc = get_varint(r, &delta);
    if (rc == 0)
        rc = get_u32(r, &s->flags);
    if (rc == 0)
        rc = get_i32(r, &s->kind);
    if (rc == 0)
        rc = get_i32(r, &s->status_code);
    uint32_t *dropped[] = {&s->dropped_attributes, &s->dropped_events, &s->dropped_links};
    if (rc == 0)
        rc = get_u32s(r, dropped, 3);
    osp_str *strs[] = {&s->name,       &s->trace_state, &s->status_message,
                       &s->attributes, &s->events,      &s->links};
    if (rc == 0)
        rc = get_strs(r, strs, sizeof strs / sizeof strs[0]);
    uint32_t *refs[] = {&s->resource, &s->scope};
    if (rc == 0)
        rc = get_u32s(r, refs, 2);
    if (rc == 0 && (s->resource >= nres || s->scope >= nscopes))
        rc = OSP_ECORRUPT;
    if (rc)
        return rc;
    s->start_ns = start;
    s->end_ns = start + (uint64_t)osp_pb_zigzag_decode(delta);
    s->resource += (uint32_t)res_base;
    s->scope += (uint32_t)scope_base;
    return 0;
}

int osp_rowcodec_decode(osp_str in, osp_span_batch *b)
{
    size_t res_base = b->nresources, scope_base = b->nscopes, span_base = b->nspans;
    osp_pb_reader r = osp_pb_reader_make(in.p, in.n);
    uint64_t nres = 0, nscopes = 0, nspans = 0;
    int rc = OSP_ECORRUPT;
    if (in.n == 0 || (uint8_t)in.p[0] != ROWCODEC_VERSION)
        goto out;
    r.p++;
    /* Row indexes are uint32 in the batch. */
    if (get_varint(&r, &nres) || nres > UINT32_MAX - res_base)
        goto out;
    for (uint64_t i = 0; i < nres; i++) {
        osp_resource *res = osp_span_batch_add_resource(b);
        rc = res ? decode_resource(&r, res) : OSP_ENOMEM;
        if (rc)
            goto out;
    }
    rc = OSP_ECORRUPT;
    if (get_varint(&r, &nscopes) || nscopes > UINT32_MAX - scope_base)
        goto out;
    for (uint64_t i = 0; i < nscopes; i++) {
        osp_scope *sc = osp_span_batch_add_scope(b);
        rc = sc ? decode_scope(&r, sc) : OSP_ENOMEM;
        if (rc)
            goto out;
    }
    rc = OSP_ECORRUPT;
    if (get_varint(&r, &nspans))
        goto out;
    for (uint64_t i = 0; i < nspans; i++) {
        osp_span *s = osp_span_batch_add_span(b);
        rc = s ? decode_span(&r, s, nres, nscopes, res_base, scope_base) : OSP_ENOMEM;
        if (rc)
            goto out;
    }
    rc = r.p == r.end ? 0 : OSP_ECORRUPT;
out:
    if (rc) {
        b->nresources = res_base;
        b->nscopes = scope_base;
        b->nspans = span_base;
    }
    return rc;
}
