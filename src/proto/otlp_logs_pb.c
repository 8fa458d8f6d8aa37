/* OTLP logs in protobuf: ExportLogsServiceRequest to canonical log rows and back.
 *
 * The trace decoder's walk over resources and scopes (otlp_common.c) with a LogRecord
 * decoder under it, so the policies are otlp_pb.c's: one pass per message, strings slices
 * into the body, attributes and the body AnyValue re-encoded canonically (one arena copy
 * per row), last one wins for scalars and for a repeated body, unknown fields skipped. For
 * logs an empty trace_id or span_id is valid (the record is not correlated); any other
 * length rejects the record. */
#include "proto/otlp_logs.h"

#include <string.h>

#include "core/err.h"
#include "core/pb.h"
#include "proto/otlp_int.h"

/* Per-request decoder state. */
typedef struct dec {
    osp__otlp_rowdec rd; /* first: the shared walk's callbacks get it */
    osp_log_batch *out;
} dec;

#define V OSP_PB_VARINT
#define L OSP_PB_LEN
#define F64 OSP_PB_I64
#define F32 OSP_PB_I32
#define ANY OSP__OTLP_ANY
static const uint8_t record_wires[] = {F64, V, L, ANY, L, L, V, F32, L, L, F64, L};
#undef V
#undef L
#undef F64
#undef F32
#undef ANY

static const char *const record_fields[] = {"time_unix_nano",
                                            "severity_number",
                                            "severity_text",
                                            "field 4",
                                            "body",
                                            "attributes",
                                            "dropped_attributes_count",
                                            "flags",
                                            "trace_id",
                                            "span_id",
                                            "observed_time_unix_nano",
                                            "event_name"};

/* Decodes one LogRecord and adds it to the batch: 0, OSP_EPARSE (rejected, d->rd.c.why
 * says why) or a fatal error. The body goes through d->rd.c.nested. */
static int decode_record(osp__otlp_rowdec *rd, osp_str wire, uint32_t resource, uint32_t scope)
{
    dec *d = (dec *)rd; /* rd is its first member */
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    osp_log_record lr = {.resource = resource, .scope = scope};
    osp_str tid = OSP_STR_NULL, sid = OSP_STR_NULL, body = OSP_STR_NULL;
    int rc;
    osp_buf_reset(&d->rd.c.attrs);
    osp_buf_reset(&d->rd.c.nested);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, record_wires, sizeof record_wires))
            return osp__otlp_bad(&d->rd.c, "%s has the wrong wire type", record_fields[f.num - 1]);
        switch (f.num) {
        case 1:
            lr.time_ns = f.u64;
            break;
        case 2:
            lr.severity_number = (int32_t)f.u64;
            break;
        case 3:
            lr.severity_text = f.bytes;
            break;
        case 5:
            lr.has_body = 1;
            body = f.bytes;
            break;
        case 6:
            rc = osp__otlp_put_keyvalue(&d->rd.c, f.bytes, &d->rd.c.attrs, 1, "attributes");
            break;
        case 7:
            lr.dropped_attributes = (uint32_t)f.u64;
            break;
        case 8:
            lr.flags = (uint32_t)f.u64;
            break;
        case 9:
            tid = f.bytes;
            break;
        case 10:
            sid = f.bytes;
            break;
        case 11:
            lr.observed_ns = f.u64;
            break;
        case 12:
            lr.event_name = f.bytes;
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return osp__otlp_bad(&d->rd.c, "malformed LogRecord: %s", osp_pb_reason(&r));
    if (tid.n != 0 && tid.n != sizeof lr.trace_id)
        return osp__otlp_bad(&d->rd.c, "trace_id must be empty or 16 bytes, got %zu", tid.n);
    if (sid.n != 0 && sid.n != sizeof lr.span_id)
        return osp__otlp_bad(&d->rd.c, "span_id must be empty or 8 bytes, got %zu", sid.n);
    if ((lr.has_body &&
         (rc = osp__otlp_put_anyvalue(&d->rd.c, body, &d->rd.c.nested, 1, "body")) < 0) ||
        (rc = osp__otlp_check_utf8(&d->rd.c, lr.severity_text, "severity_text")) < 0 ||
        (rc = osp__otlp_check_utf8(&d->rd.c, lr.event_name, "event_name")) < 0)
        return rc;
    if (tid.n)
        memcpy(lr.trace_id, tid.p, sizeof lr.trace_id);
    if (sid.n)
        memcpy(lr.span_id, sid.p, sizeof lr.span_id);

    osp_buf *const bufs[] = {&d->rd.c.attrs, &d->rd.c.nested};
    osp_str *const dst[] = {&lr.attributes, &lr.body};
    if ((rc = osp__otlp_keep_blobs(&d->rd.c, bufs, dst, 2)) < 0)
        return rc;
    osp_log_record *row = osp_log_batch_add_record(d->out);
    if (!row)
        return OSP_ENOMEM;
    *row = lr;
    return 0;
}

int osp_otlp_logs_decode_pb(osp_str body, osp_log_batch *out, osp_decode_report *rep)
{
    dec d = {.rd = {.c = {.rep = rep, .arena = &out->arena},
                    .resource_field = "resource_logs",
                    .scope_field = "scope_logs",
                    .row = "log record",
                    .rows = "log records",
                    .b = osp__otlp_log_rows(out),
                    .decode_row = decode_record},
             .out = out};
    size_t cap = body.n * 4 + 1024; /* canonical blobs never exceed 3x their wire size */
    size_t nres = out->nresources, nsc = out->nscopes, nrec = out->nrecords;
    int rc;
    osp_buf_init(&d.rd.c.attrs, cap);
    osp_buf_init(&d.rd.c.nested, cap);
    rc = osp__otlp_decode_rows(&d.rd, body);
    if (rc < 0) { /* leave the batch as it was */
        out->nresources = nres;
        out->nscopes = nsc;
        out->nrecords = nrec;
    }
    osp_buf_cleanup(&d.rd.c.attrs);
    osp_buf_cleanup(&d.rd.c.nested);
    return rc < 0 ? rc : 0;
}

static int put_record(osp_buf *out, const osp_log_record *lr)
{
    size_t mark;
    int rc = osp_pb_begin(out, 2, &mark);
    if (rc == 0 && lr->time_ns)
        rc = osp_pb_put_fixed64(out, 1, lr->time_ns);
    if (rc == 0)
        rc = osp__otlp_put_uint_nz(out, 2, (uint64_t)(int64_t)lr->severity_number);
    if (rc == 0)
        rc = osp__otlp_put_str_nz(out, 3, lr->severity_text);
    if (rc == 0 && lr->has_body)
        rc = osp_pb_put_str(out, 5, lr->body); /* canonical AnyValue: valid on the wire */
    if (rc == 0)
        rc = osp__otlp_put_records(out, 6, lr->attributes);
    if (rc == 0)
        rc = osp__otlp_put_uint_nz(out, 7, lr->dropped_attributes);
    if (rc == 0 && lr->flags)
        rc = osp_pb_put_fixed32(out, 8, lr->flags);
    if (rc == 0 && !osp__otlp_is_zero(lr->trace_id, sizeof lr->trace_id))
        rc = osp_pb_put_bytes(out, 9, lr->trace_id, sizeof lr->trace_id);
    if (rc == 0 && !osp__otlp_is_zero(lr->span_id, sizeof lr->span_id))
        rc = osp_pb_put_bytes(out, 10, lr->span_id, sizeof lr->span_id);
    if (rc == 0 && lr->observed_ns)
        rc = osp_pb_put_fixed64(out, 11, lr->observed_ns);
    if (rc == 0)
        rc = osp__otlp_put_str_nz(out, 12, lr->event_name);
    return rc ? rc : osp_pb_end(out, mark);
}

static int put_row(osp_buf *out, const void *b, size_t i)
{
    return put_record(out, &((const osp_log_batch *)b)->records[i]);
}

int osp_otlp_logs_encode_pb(const osp_log_batch *b, osp_buf *out)
{
    osp__otlp_view v = osp__otlp_log_view(b);
    return osp__otlp_encode_rows(&v, out, put_row);
}
