/* OTLP traces in protobuf: ExportTraceServiceRequest to canonical rows (the zero-copy
 * ingest hot path) and back.
 *
 * Decoding is one pass over each message with core/pb.h. Strings and ids stay slices into
 * the body; only attribute lists, events, links and entity refs are re-encoded (into
 * per-request scratch buffers, then one arena copy per row). Policies:
 * - fields in any order, repeated fields interleaved, unknown fields skipped by wire type
 *   (so the old instrumentation_library_spans, field 1000, is ignored);
 * - last one wins for scalars, for oneof members of AnyValue, and also for the
 *   non-repeated messages resource, scope and status (protobuf would merge two
 *   occurrences; producers never send two, and last-wins keeps decoding single-pass);
 * - a known field with the wrong wire type, a malformed nested message, a bad id, invalid
 *   UTF-8 in any string (bytes values excepted) or AnyValue nesting past
 *   OSP_MAX_ANYVALUE_DEPTH rejects the span (or every span under a bad resource or
 *   scope); malformed framing of the request, ResourceSpans or ScopeSpans fails the whole
 *   request with OSP_EPARSE;
 * - profiles-only key_strindex / string_value_strindex are read as an absent key / an
 *   empty value. */
#include "proto/otlp.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/pb.h"
#include "model/attr.h"
#include "proto/otlp_int.h"

/* Per-request decoder state. */
typedef struct dec {
    osp__otlp_rowdec rd; /* first: the shared walk's callbacks get it */
    osp_span_batch *out;
    osp_buf events, links; /* blobs of the row being decoded, besides rd.c.attrs */
} dec;

#define V OSP_PB_VARINT
#define L OSP_PB_LEN
#define F64 OSP_PB_I64
#define F32 OSP_PB_I32
static const uint8_t span_wires[] = {L, L, L, L, L, V, F64, F64, L, V, L, V, L, V, L, F32};
static const uint8_t event_wires[] = {F64, L, L, V};
static const uint8_t link_wires[] = {L, L, L, L, V, F32};
static const uint8_t status_wires[] = {V, L, V};
#undef V
#undef L
#undef F64
#undef F32

static const char *const span_fields[] = {"trace_id",    "span_id",
                                          "trace_state", "parent_span_id",
                                          "name",        "kind",
                                          "start_time",  "end_time",
                                          "attributes",  "dropped_attributes_count",
                                          "events",      "dropped_events_count",
                                          "links",       "dropped_links_count",
                                          "status",      "flags"};

/* Decodes an Event into d->events (its attributes go through d->rd.c.nested). */
static int put_event(dec *d, osp_str wire)
{
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    osp_event ev = {0};
    int rc;
    osp_buf_reset(&d->rd.c.nested);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, event_wires, sizeof event_wires))
            return osp__otlp_bad(&d->rd.c, "events: field %u has the wrong wire type", f.num);
        switch (f.num) {
        case 1:
            ev.time_ns = f.u64;
            break;
        case 2:
            ev.name = f.bytes;
            break;
        case 3:
            rc = osp__otlp_put_keyvalue(&d->rd.c, f.bytes, &d->rd.c.nested, 1, "events.attributes");
            break;
        case 4:
            ev.dropped_attributes = (uint32_t)f.u64;
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return osp__otlp_bad(&d->rd.c, "events: malformed Event: %s", osp_pb_reason(&r));
    if ((rc = osp__otlp_check_utf8(&d->rd.c, ev.name, "events.name")) < 0)
        return rc;
    ev.attributes = osp_buf_str(&d->rd.c.nested);
    return osp_events_append(&d->events, &ev);
}

/* Decodes a Link into d->links (its attributes go through d->rd.c.nested). */
static int put_link(dec *d, osp_str wire)
{
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    osp_link ln = {0};
    osp_str tid = OSP_STR_NULL, sid = OSP_STR_NULL;
    int rc;
    osp_buf_reset(&d->rd.c.nested);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, link_wires, sizeof link_wires))
            return osp__otlp_bad(&d->rd.c, "links: field %u has the wrong wire type", f.num);
        switch (f.num) {
        case 1:
            tid = f.bytes;
            break;
        case 2:
            sid = f.bytes;
            break;
        case 3:
            ln.trace_state = f.bytes;
            break;
        case 4:
            rc = osp__otlp_put_keyvalue(&d->rd.c, f.bytes, &d->rd.c.nested, 1, "links.attributes");
            break;
        case 5:
            ln.dropped_attributes = (uint32_t)f.u64;
            break;
        case 6:
            ln.flags = (uint32_t)f.u64;
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return osp__otlp_bad(&d->rd.c, "links: malformed Link: %s", osp_pb_reason(&r));
    if (tid.n != sizeof ln.trace_id)
        return osp__otlp_bad(&d->rd.c, "links: trace_id must be 16 bytes, got %zu", tid.n);
    if (sid.n != sizeof ln.span_id)
        return osp__otlp_bad(&d->rd.c, "links: span_id must be 8 bytes, got %zu", sid.n);
    if ((rc = osp__otlp_check_utf8(&d->rd.c, ln.trace_state, "links.trace_state")) < 0)
        return rc;
    memcpy(ln.trace_id, tid.p, sizeof ln.trace_id);
    memcpy(ln.span_id, sid.p, sizeof ln.span_id);
    ln.attributes = osp_buf_str(&d->rd.c.nested);
    return osp_links_append(&d->links, &ln);
}

static int decode_status(dec *d, osp_str wire, osp_span *s)
{
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    int rc;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, status_wires, sizeof status_wires))
            return osp__otlp_bad(&d->rd.c, "status: field %u has the wrong wire type", f.num);
        if (f.num == 2)
            s->status_message = f.bytes;
        else if (f.num == 3)
            s->status_code = (int32_t)f.u64;
    }
    return rc < 0 ? osp__otlp_bad(&d->rd.c, "status: malformed Status: %s", osp_pb_reason(&r))
                  : osp__otlp_check_utf8(&d->rd.c, s->status_message, "status.message");
}

/* Decodes one Span and adds it to the batch: 0, OSP_EPARSE (rejected, d->rd.c.why says
 * why) or a fatal error. */
static int decode_span(osp__otlp_rowdec *rd, osp_str wire, uint32_t resource, uint32_t scope)
{
    dec *d = (dec *)rd; /* rd is its first member */
    osp_pb_reader r = osp__otlp_reader(wire);
    osp_pb_field f;
    osp_span s = {.resource = resource, .scope = scope};
    osp_str tid = OSP_STR_NULL, sid = OSP_STR_NULL, pid = OSP_STR_NULL, status = OSP_STR_NULL;
    int rc;
    osp_buf_reset(&d->rd.c.attrs);
    osp_buf_reset(&d->events);
    osp_buf_reset(&d->links);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (osp__otlp_wrong_wire(&f, span_wires, sizeof span_wires))
            return osp__otlp_bad(&d->rd.c, "%s has the wrong wire type", span_fields[f.num - 1]);
        switch (f.num) {
        case 1:
            tid = f.bytes;
            break;
        case 2:
            sid = f.bytes;
            break;
        case 3:
            s.trace_state = f.bytes;
            break;
        case 4:
            pid = f.bytes;
            break;
        case 5:
            s.name = f.bytes;
            break;
        case 6:
            s.kind = (int32_t)f.u64;
            break;
        case 7:
            s.start_ns = f.u64;
            break;
        case 8:
            s.end_ns = f.u64;
            break;
        case 9:
            rc = osp__otlp_put_keyvalue(&d->rd.c, f.bytes, &d->rd.c.attrs, 1, "attributes");
            break;
        case 10:
            s.dropped_attributes = (uint32_t)f.u64;
            break;
        case 11:
            rc = put_event(d, f.bytes);
            break;
        case 12:
            s.dropped_events = (uint32_t)f.u64;
            break;
        case 13:
            rc = put_link(d, f.bytes);
            break;
        case 14:
            s.dropped_links = (uint32_t)f.u64;
            break;
        case 15:
            status = f.bytes;
            break;
        case 16:
            s.flags = (uint32_t)f.u64;
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return osp__otlp_bad(&d->rd.c, "malformed Span: %s", osp_pb_reason(&r));
    if (tid.n != sizeof s.trace_id)
        return osp__otlp_bad(&d->rd.c, "trace_id must be 16 bytes, got %zu", tid.n);
    if (osp__otlp_is_zero((const uint8_t *)tid.p, tid.n))
        return osp__otlp_bad(&d->rd.c, "trace_id is all zero");
    if (sid.n != sizeof s.span_id)
        return osp__otlp_bad(&d->rd.c, "span_id must be 8 bytes, got %zu", sid.n);
    if (osp__otlp_is_zero((const uint8_t *)sid.p, sid.n))
        return osp__otlp_bad(&d->rd.c, "span_id is all zero");
    if (pid.n != 0 && pid.n != sizeof s.parent_span_id)
        return osp__otlp_bad(&d->rd.c, "parent_span_id must be empty or 8 bytes, got %zu", pid.n);
    if ((status.p && (rc = decode_status(d, status, &s)) < 0) ||
        (rc = osp__otlp_check_utf8(&d->rd.c, s.name, "name")) < 0 ||
        (rc = osp__otlp_check_utf8(&d->rd.c, s.trace_state, "trace_state")) < 0)
        return rc;
    memcpy(s.trace_id, tid.p, sizeof s.trace_id);
    memcpy(s.span_id, sid.p, sizeof s.span_id);
    if (pid.n)
        memcpy(s.parent_span_id, pid.p, sizeof s.parent_span_id);

    osp_buf *const bufs[] = {&d->rd.c.attrs, &d->events, &d->links};
    osp_str *const dst[] = {&s.attributes, &s.events, &s.links};
    if ((rc = osp__otlp_keep_blobs(&d->rd.c, bufs, dst, 3)) < 0)
        return rc;
    osp_span *row = osp_span_batch_add_span(d->out);
    if (!row)
        return OSP_ENOMEM;
    *row = s;
    return 0;
}

int osp_otlp_traces_decode_pb(osp_str body, osp_span_batch *out, osp_decode_report *rep)
{
    dec d = {.rd = {.c = {.rep = rep, .arena = &out->arena},
                    .resource_field = "resource_spans",
                    .scope_field = "scope_spans",
                    .row = "span",
                    .rows = "spans",
                    .b = osp__otlp_span_rows(out),
                    .decode_row = decode_span},
             .out = out};
    size_t cap = body.n * 4 + 1024; /* canonical blobs never exceed 3x their wire size */
    size_t nres = out->nresources, nsc = out->nscopes, nsp = out->nspans;
    int rc;
    osp_buf_init(&d.rd.c.attrs, cap);
    osp_buf_init(&d.events, cap);
    osp_buf_init(&d.links, cap);
    osp_buf_init(&d.rd.c.nested, cap);
    rc = osp__otlp_decode_rows(&d.rd, body);
    if (rc < 0) { /* leave the batch as it was */
        out->nresources = nres;
        out->nscopes = nsc;
        out->nspans = nsp;
    }
    osp_buf_cleanup(&d.rd.c.attrs);
    osp_buf_cleanup(&d.events);
    osp_buf_cleanup(&d.links);
    osp_buf_cleanup(&d.rd.c.nested);
    return rc < 0 ? rc : 0;
}

static int put_events(osp_buf *out, osp_str events)
{
    osp_blob_iter it;
    osp_event ev;
    int rc;
    osp_blob_iter_init(&it, events);
    while ((rc = osp_events_next(&it, &ev)) == 1) {
        size_t mark;
        rc = osp_pb_begin(out, 11, &mark);
        if (rc == 0 && ev.time_ns)
            rc = osp_pb_put_fixed64(out, 1, ev.time_ns);
        if (rc == 0)
            rc = osp__otlp_put_str_nz(out, 2, ev.name);
        if (rc == 0)
            rc = osp__otlp_put_records(out, 3, ev.attributes);
        if (rc == 0)
            rc = osp__otlp_put_uint_nz(out, 4, ev.dropped_attributes);
        if (rc == 0)
            rc = osp_pb_end(out, mark);
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int put_links(osp_buf *out, osp_str links)
{
    osp_blob_iter it;
    osp_link ln;
    int rc;
    osp_blob_iter_init(&it, links);
    while ((rc = osp_links_next(&it, &ln)) == 1) {
        size_t mark;
        rc = osp_pb_begin(out, 13, &mark);
        if (rc == 0)
            rc = osp_pb_put_bytes(out, 1, ln.trace_id, sizeof ln.trace_id);
        if (rc == 0)
            rc = osp_pb_put_bytes(out, 2, ln.span_id, sizeof ln.span_id);
        if (rc == 0)
            rc = osp__otlp_put_str_nz(out, 3, ln.trace_state);
        if (rc == 0)
            rc = osp__otlp_put_records(out, 4, ln.attributes);
        if (rc == 0)
            rc = osp__otlp_put_uint_nz(out, 5, ln.dropped_attributes);
        if (rc == 0 && ln.flags)
            rc = osp_pb_put_fixed32(out, 6, ln.flags);
        if (rc == 0)
            rc = osp_pb_end(out, mark);
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int put_span(osp_buf *out, const osp_span *s)
{
    static const uint8_t zero[8];
    size_t mark, status;
    int rc = osp_pb_begin(out, 2, &mark);
    if (rc == 0)
        rc = osp_pb_put_bytes(out, 1, s->trace_id, sizeof s->trace_id);
    if (rc == 0)
        rc = osp_pb_put_bytes(out, 2, s->span_id, sizeof s->span_id);
    if (rc == 0)
        rc = osp__otlp_put_str_nz(out, 3, s->trace_state);
    if (rc == 0 && memcmp(s->parent_span_id, zero, sizeof zero) != 0)
        rc = osp_pb_put_bytes(out, 4, s->parent_span_id, sizeof s->parent_span_id);
    if (rc == 0)
        rc = osp__otlp_put_str_nz(out, 5, s->name);
    if (rc == 0)
        rc = osp__otlp_put_uint_nz(out, 6, (uint64_t)(int64_t)s->kind);
    if (rc == 0 && s->start_ns)
        rc = osp_pb_put_fixed64(out, 7, s->start_ns);
    if (rc == 0 && s->end_ns)
        rc = osp_pb_put_fixed64(out, 8, s->end_ns);
    if (rc == 0)
        rc = osp__otlp_put_records(out, 9, s->attributes);
    if (rc == 0)
        rc = osp__otlp_put_uint_nz(out, 10, s->dropped_attributes);
    if (rc == 0)
        rc = put_events(out, s->events);
    if (rc == 0)
        rc = osp__otlp_put_uint_nz(out, 12, s->dropped_events);
    if (rc == 0)
        rc = put_links(out, s->links);
    if (rc == 0)
        rc = osp__otlp_put_uint_nz(out, 14, s->dropped_links);
    if (rc == 0 && (s->status_code || s->status_message.n)) {
        rc = osp_pb_begin(out, 15, &status);
        if (rc == 0)
            rc = osp__otlp_put_str_nz(out, 2, s->status_message);
        if (rc == 0)
            rc = osp__otlp_put_uint_nz(out, 3, (uint64_t)(int64_t)s->status_code);
        if (rc == 0)
            rc = osp_pb_end(out, status);
    }
    if (rc == 0 && s->flags)
        rc = osp_pb_put_fixed32(out, 16, s->flags);
    return rc ? rc : osp_pb_end(out, mark);
}

static int put_row(osp_buf *out, const void *b, size_t i)
{
    return put_span(out, &((const osp_span_batch *)b)->spans[i]);
}

int osp_otlp_traces_encode_pb(const osp_span_batch *b, osp_buf *out)
{
    osp__otlp_view v = osp__otlp_span_view(b);
    return osp__otlp_encode_rows(&v, out, put_row);
}
