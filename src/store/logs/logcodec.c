/* Log codec for write-ahead-log payloads.
 *
 * Layout (integers are unsigned LEB128 varints unless said otherwise; "str" is a varint
 * length followed by that many bytes; signed values are zigzag-encoded):
 *   version (1 byte, = 1)
 *   nrecords, then per record: time_ns, observed_ns, trace_id (16 bytes), span_id (8),
 *                              severity_number (signed), flags, dropped_attributes,
 *                              has_body (1 byte, 0 or 1), labels_from (1 byte),
 *                              str body, str severity_text, str event_name,
 *                              str attributes, resource index, scope index
 *   origins: the row codec's encoding (store/embedded/rowcodec.h) of a span batch holding
 *            the batch's resources and scopes and no span, up to the end of the payload.
 * Sharing the row codec keeps one encoding of resources and scopes for both stores. */
#include "store/logs/logcodec.h"

#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/pb.h"
#include "model/span.h"
#include "store/embedded/rowcodec.h"

#define LOGCODEC_VERSION 1

static int encode_record(osp_buf *out, const osp_log_record *r)
{
    uint64_t head[] = {r->time_ns, r->observed_ns};
    uint64_t nums[] = {osp_pb_zigzag_encode(r->severity_number), r->flags, r->dropped_attributes};
    osp_str strs[] = {r->body, r->severity_text, r->event_name, r->attributes};
    uint64_t refs[] = {r->resource, r->scope};
    int rc = 0;
    for (size_t i = 0; i < 2 && rc == 0; i++)
        rc = osp_pb_put_varint(out, head[i]);
    if (rc == 0)
        rc = osp_buf_append(out, r->trace_id, sizeof r->trace_id);
    if (rc == 0)
        rc = osp_buf_append(out, r->span_id, sizeof r->span_id);
    for (size_t i = 0; i < 3 && rc == 0; i++)
        rc = osp_pb_put_varint(out, nums[i]);
    if (rc == 0)
        rc = osp_buf_putc(out, (char)(r->has_body != 0));
    if (rc == 0)
        rc = osp_buf_putc(out, (char)r->labels_from);
    for (size_t i = 0; i < 4 && rc == 0; i++)
        rc = osp_pb_put_lenstr(out, strs[i]);
    for (size_t i = 0; i < 2 && rc == 0; i++)
        rc = osp_pb_put_varint(out, refs[i]);
    return rc;
}

/* The most a record's fields other than its four strings take: five varints of up to 64
 * bits and four lengths, the ids, the two flag bytes and two varints of up to 32 bits. */
#define RECORD_FIXED_MAX (9 * 10 + 16 + 8 + 2 + 2 * 5)

/* Reserves what the records will take, so that out is not regrown (and copied) as it
 * fills. Only an optimization: the appends report what does not fit. */
static void reserve_records(const osp_log_batch *b, osp_buf *out)
{
    size_t n = 1 + 10;
    for (size_t i = 0; i < b->nrecords; i++) {
        const osp_log_record *r = &b->records[i];
        n += RECORD_FIXED_MAX + r->body.n + r->severity_text.n + r->event_name.n + r->attributes.n;
    }
    (void)osp_buf_reserve(out, n);
}

int osp_logcodec_encode(const osp_log_batch *b, osp_buf *out)
{
    osp_span_batch origins = {.resources = b->resources,
                              .nresources = b->nresources,
                              .scopes = b->scopes,
                              .nscopes = b->nscopes};
    reserve_records(b, out);
    int rc = osp_buf_putc(out, LOGCODEC_VERSION);
    if (rc == 0)
        rc = osp_pb_put_varint(out, b->nrecords);
    for (size_t i = 0; i < b->nrecords && rc == 0; i++) {
        const osp_log_record *r = &b->records[i];
        rc = r->resource < b->nresources && r->scope < b->nscopes ? encode_record(out, r)
                                                                  : OSP_EINVAL;
    }
    return rc ? rc : osp_rowcodec_encode(&origins, out);
}

/* Decoding: every reader returns 0 or OSP_ECORRUPT and never reads past r->end. */

static int get_u32(osp_pb_reader *r, uint32_t *v)
{
    uint64_t x;
    if (osp_pb_read_varint(r, &x) || x > UINT32_MAX)
        return OSP_ECORRUPT;
    *v = (uint32_t)x;
    return 0;
}

/* n raw bytes into dst. */
static int get_raw(osp_pb_reader *r, void *dst, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return OSP_ECORRUPT;
    memcpy(dst, r->p, n);
    r->p += n;
    return 0;
}

static int decode_record(osp_pb_reader *r, osp_log_record *rec)
{
    uint64_t sev = 0;
    uint8_t flags[2] = {0, 0}; /* has_body, labels_from */
    osp_str *strs[] = {&rec->body, &rec->severity_text, &rec->event_name, &rec->attributes};
    int rc = osp_pb_read_varint(r, &rec->time_ns) || osp_pb_read_varint(r, &rec->observed_ns) ||
                     get_raw(r, rec->trace_id, sizeof rec->trace_id) ||
                     get_raw(r, rec->span_id, sizeof rec->span_id) || osp_pb_read_varint(r, &sev) ||
                     get_u32(r, &rec->flags) || get_u32(r, &rec->dropped_attributes) ||
                     get_raw(r, flags, 2)
                 ? OSP_ECORRUPT
                 : 0;
    int64_t s = osp_pb_zigzag_decode(sev);
    if (rc || s < INT32_MIN || s > INT32_MAX || flags[0] > 1)
        return OSP_ECORRUPT;
    rec->severity_number = (int32_t)s;
    rec->has_body = flags[0];
    rec->labels_from = flags[1];
    for (size_t i = 0; i < 4; i++)
        if (osp_pb_read_lenbytes(r, strs[i]))
            return OSP_ECORRUPT;
    return get_u32(r, &rec->resource) || get_u32(r, &rec->scope) ? OSP_ECORRUPT : 0;
}

/* Appends the resources and scopes of a decoded origins batch to b. */
static int add_origins(osp_log_batch *b, const osp_span_batch *o)
{
    for (size_t i = 0; i < o->nresources; i++) {
        osp_resource *res = osp_log_batch_add_resource(b);
        if (!res)
            return OSP_ENOMEM;
        *res = o->resources[i];
    }
    for (size_t i = 0; i < o->nscopes; i++) {
        osp_scope *sc = osp_log_batch_add_scope(b);
        if (!sc)
            return OSP_ENOMEM;
        *sc = o->scopes[i];
    }
    return 0;
}

int osp_logcodec_decode(osp_str in, osp_log_batch *b)
{
    size_t res_base = b->nresources, scope_base = b->nscopes, rec_base = b->nrecords;
    osp_pb_reader r = osp_pb_reader_make(in.p, in.n);
    osp_span_batch origins;
    uint64_t nrecords = 0;
    int rc = OSP_ECORRUPT;
    osp_span_batch_init(&origins);
    if (in.n == 0 || (uint8_t)in.p[0] != LOGCODEC_VERSION)
        goto out;
    r.p++;
    /* Each record takes at least 37 bytes: a count past that is corrupt, not a reason to
     * allocate. */
    if (osp_pb_read_varint(&r, &nrecords) || nrecords > (size_t)(r.end - r.p) / 37)
        goto out;
    if (osp_log_batch_reserve_records(b, nrecords)) {
        rc = OSP_ENOMEM;
        goto out;
    }
    for (uint64_t i = 0; i < nrecords; i++) {
        osp_log_record *rec = osp_log_batch_add_record(b);
        rc = rec ? decode_record(&r, rec) : OSP_ENOMEM;
        if (rc)
            goto out;
    }
    rc = osp_rowcodec_decode(osp_str_make((const char *)r.p, (size_t)(r.end - r.p)), &origins);
    if (rc == 0 && (origins.nspans || origins.nresources > UINT32_MAX - res_base ||
                    origins.nscopes > UINT32_MAX - scope_base))
        rc = OSP_ECORRUPT;
    for (size_t i = rec_base; i < b->nrecords && rc == 0; i++) {
        osp_log_record *rec = &b->records[i];
        if (rec->resource >= origins.nresources || rec->scope >= origins.nscopes)
            rc = OSP_ECORRUPT;
        rec->resource += (uint32_t)res_base;
        rec->scope += (uint32_t)scope_base;
    }
    if (rc == 0)
        rc = add_origins(b, &origins);
out:
    if (rc) {
        b->nresources = res_base;
        b->nscopes = scope_base;
        b->nrecords = rec_base;
    }
    osp_span_batch_cleanup(&origins);
    return rc;
}
