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

#include <stdarg.h>
#include <stdio.h>

#include "core/err.h"
#include "core/pb.h"
#include "model/attr.h"

/* Per-request decoder state. */
typedef struct dec {
    osp_span_batch *out;
    osp_decode_report *rep;
    osp_buf attrs, events, links; /* blobs of the row being decoded */
    osp_buf nested;               /* event/link attributes, entity refs */
    size_t nspan;                 /* spans seen so far: the index in messages */
    char why[160];                /* first problem in the element being decoded */
} dec;

/* A reader over s that never forms a pointer from NULL (absent fields are NULL slices). */
static osp_pb_reader reader_of(osp_str s)
{
    return s.n ? osp_pb_reader_make(s.p, s.n) : osp_pb_reader_make("", 0);
}

static int utf8_ok(osp_str s)
{
    return s.n == 0 || osp_utf8_valid(s.p, s.n);
}

/* Notes why the current element is invalid (the innermost reason is kept) and returns
 * OSP_EPARSE, which means "reject this element"; other errors abort the request. */
__attribute__((format(printf, 2, 3))) static int bad(dec *d, const char *fmt, ...)
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
__attribute__((format(printf, 3, 4))) static void report(dec *d, int fatal, const char *fmt, ...)
{
    if (fatal || !d->rep->message[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->rep->message, sizeof d->rep->message, fmt, ap);
        va_end(ap);
    }
}

static int check_utf8(dec *d, osp_str s, const char *what)
{
    return utf8_ok(s) ? 0 : bad(d, "%s is not valid UTF-8", what);
}

/* Expected wire type of fields 1..n of a message, for the known-field check. */
static int wrong_wire(const osp_pb_field *f, const uint8_t *wires, size_t n)
{
    return f->num <= n && f->wire != wires[f->num - 1];
}

#define V OSP_PB_VARINT
#define L OSP_PB_LEN
#define F64 OSP_PB_I64
#define F32 OSP_PB_I32
static const uint8_t anyvalue_wires[] = {L, V, V, F64, L, L, L, V};
static const uint8_t keyvalue_wires[] = {L, L, V};
static const uint8_t span_wires[] = {L, L, L, L, L, V, F64, F64, L, V, L, V, L, V, L, F32};
static const uint8_t event_wires[] = {F64, L, L, V};
static const uint8_t link_wires[] = {L, L, L, L, V, F32};
static const uint8_t status_wires[] = {V, L, V};
static const uint8_t scope_wires[] = {L, L, L, V};
static const uint8_t resource_wires[] = {L, V, L};
static const uint8_t entity_ref_wires[] = {L, L, L, L};
static const uint8_t container_wires[] = {L, L, L}; /* ResourceSpans and ScopeSpans */
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

static int put_keyvalue(dec *d, osp_str wire, osp_buf *out, int depth, const char *where);

/* Re-encodes one wire AnyValue canonically into out (depth 1 = an attribute's value). */
static int put_anyvalue(dec *d, osp_str wire, osp_buf *out, int depth, const char *where)
{
    if (depth > OSP_MAX_ANYVALUE_DEPTH)
        return bad(d, "%s: value nested deeper than %d levels", where, OSP_MAX_ANYVALUE_DEPTH);
    osp_pb_reader r = reader_of(wire);
    osp_pb_field f, last = {0};
    int rc;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (wrong_wire(&f, anyvalue_wires, sizeof anyvalue_wires))
            return bad(d, "%s: AnyValue field %u has the wrong wire type", where, f.num);
        if (f.num <= sizeof anyvalue_wires)
            last = f;
    }
    if (rc < 0)
        return bad(d, "%s: malformed AnyValue: %s", where, r.error ? r.error : "bad field");

    osp_value v = {.type = OSP_VAL_EMPTY};
    size_t mark;
    switch (last.num) {
    case 1:
        if (!utf8_ok(last.bytes))
            return bad(d, "%s: string value is not valid UTF-8", where);
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
        r = reader_of(last.bytes);
        while (rc == 0 && (rc = osp_pb_next(&r, &f)) == 1) {
            rc = 0;
            if (f.num != 1)
                continue;
            if (f.wire != OSP_PB_LEN)
                return bad(d, "%s: %s element has the wrong wire type", where,
                           last.num == 5 ? "array" : "kvlist");
            if (last.num == 6) {
                rc = put_keyvalue(d, f.bytes, out, depth + 1, where);
                continue;
            }
            size_t elem;
            rc = osp_array_begin_elem(out, &elem);
            if (rc == 0)
                rc = put_anyvalue(d, f.bytes, out, depth + 1, where);
            if (rc == 0)
                rc = osp_array_end_elem(out, elem);
        }
        if (rc < 0)
            return rc == OSP_EPARSE ? bad(d, "%s: malformed nested value", where) : rc;
        return osp_value_end_nested(out, mark);
    default: /* absent, or string_value_strindex: the empty value */
        break;
    }
    return osp_value_put(out, &v);
}

/* Re-encodes one wire KeyValue as a canonical record appended to out. */
static int put_keyvalue(dec *d, osp_str wire, osp_buf *out, int depth, const char *where)
{
    osp_pb_reader r = reader_of(wire);
    osp_pb_field f;
    osp_str key = OSP_STR_NULL, val = OSP_STR_NULL;
    int rc;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (wrong_wire(&f, keyvalue_wires, sizeof keyvalue_wires))
            return bad(d, "%s: KeyValue field %u has the wrong wire type", where, f.num);
        if (f.num == 1)
            key = f.bytes;
        else if (f.num == 2)
            val = f.bytes;
    }
    if (rc < 0)
        return bad(d, "%s: malformed KeyValue: %s", where, r.error ? r.error : "bad field");
    if (!utf8_ok(key))
        return bad(d, "%s: key is not valid UTF-8", where);
    osp_attr_mark m;
    rc = osp_attr_begin(out, key, &m);
    if (rc == 0)
        rc = put_anyvalue(d, val, out, depth, where);
    return rc ? rc : osp_attr_end(out, &m);
}

/* Decodes an Event into d->events (its attributes go through d->nested). */
static int put_event(dec *d, osp_str wire)
{
    osp_pb_reader r = reader_of(wire);
    osp_pb_field f;
    osp_event ev = {0};
    int rc;
    osp_buf_reset(&d->nested);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (wrong_wire(&f, event_wires, sizeof event_wires))
            return bad(d, "events: field %u has the wrong wire type", f.num);
        switch (f.num) {
        case 1:
            ev.time_ns = f.u64;
            break;
        case 2:
            ev.name = f.bytes;
            break;
        case 3:
            rc = put_keyvalue(d, f.bytes, &d->nested, 1, "events.attributes");
            break;
        case 4:
            ev.dropped_attributes = (uint32_t)f.u64;
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return bad(d, "events: malformed Event: %s", r.error ? r.error : "bad field");
    if ((rc = check_utf8(d, ev.name, "events.name")) < 0)
        return rc;
    ev.attributes = osp_buf_str(&d->nested);
    return osp_events_append(&d->events, &ev);
}

/* Decodes a Link into d->links (its attributes go through d->nested). */
static int put_link(dec *d, osp_str wire)
{
    osp_pb_reader r = reader_of(wire);
    osp_pb_field f;
    osp_link ln = {0};
    osp_str tid = OSP_STR_NULL, sid = OSP_STR_NULL;
    int rc;
    osp_buf_reset(&d->nested);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (wrong_wire(&f, link_wires, sizeof link_wires))
            return bad(d, "links: field %u has the wrong wire type", f.num);
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
            rc = put_keyvalue(d, f.bytes, &d->nested, 1, "links.attributes");
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
        return bad(d, "links: malformed Link: %s", r.error ? r.error : "bad field");
    if (tid.n != sizeof ln.trace_id)
        return bad(d, "links: trace_id must be 16 bytes, got %zu", tid.n);
    if (sid.n != sizeof ln.span_id)
        return bad(d, "links: span_id must be 8 bytes, got %zu", sid.n);
    if ((rc = check_utf8(d, ln.trace_state, "links.trace_state")) < 0)
        return rc;
    memcpy(ln.trace_id, tid.p, sizeof ln.trace_id);
    memcpy(ln.span_id, sid.p, sizeof ln.span_id);
    ln.attributes = osp_buf_str(&d->nested);
    return osp_links_append(&d->links, &ln);
}

static int decode_status(dec *d, osp_str wire, osp_span *s)
{
    osp_pb_reader r = reader_of(wire);
    osp_pb_field f;
    int rc;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (wrong_wire(&f, status_wires, sizeof status_wires))
            return bad(d, "status: field %u has the wrong wire type", f.num);
        if (f.num == 2)
            s->status_message = f.bytes;
        else if (f.num == 3)
            s->status_code = (int32_t)f.u64;
    }
    return rc < 0 ? bad(d, "status: malformed Status: %s", r.error ? r.error : "bad field")
                  : check_utf8(d, s->status_message, "status.message");
}

static int is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Copies the scratch blobs into the batch arena, one allocation for all of them. */
static int keep_blobs(dec *d, osp_buf *const *bufs, osp_str *const *dst, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += bufs[i]->len;
    char *p = osp_arena_alloc(&d->out->arena, total ? total : 1);
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

/* Decodes one Span and adds it to the batch: 0, OSP_EPARSE (rejected, d->why says
 * why) or a fatal error. */
static int decode_span(dec *d, osp_str wire, uint32_t resource, uint32_t scope)
{
    osp_pb_reader r = reader_of(wire);
    osp_pb_field f;
    osp_span s = {.resource = resource, .scope = scope};
    osp_str tid = OSP_STR_NULL, sid = OSP_STR_NULL, pid = OSP_STR_NULL, status = OSP_STR_NULL;
    int rc;
    osp_buf_reset(&d->attrs);
    osp_buf_reset(&d->events);
    osp_buf_reset(&d->links);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (wrong_wire(&f, span_wires, sizeof span_wires))
            return bad(d, "%s has the wrong wire type", span_fields[f.num - 1]);
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
            rc = put_keyvalue(d, f.bytes, &d->attrs, 1, "attributes");
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
        return bad(d, "malformed Span: %s", r.error ? r.error : "bad field");
    if (tid.n != sizeof s.trace_id)
        return bad(d, "trace_id must be 16 bytes, got %zu", tid.n);
    if (is_zero((const uint8_t *)tid.p, tid.n))
        return bad(d, "trace_id is all zero");
    if (sid.n != sizeof s.span_id)
        return bad(d, "span_id must be 8 bytes, got %zu", sid.n);
    if (is_zero((const uint8_t *)sid.p, sid.n))
        return bad(d, "span_id is all zero");
    if (pid.n != 0 && pid.n != sizeof s.parent_span_id)
        return bad(d, "parent_span_id must be empty or 8 bytes, got %zu", pid.n);
    if ((status.p && (rc = decode_status(d, status, &s)) < 0) ||
        (rc = check_utf8(d, s.name, "name")) < 0 ||
        (rc = check_utf8(d, s.trace_state, "trace_state")) < 0)
        return rc;
    memcpy(s.trace_id, tid.p, sizeof s.trace_id);
    memcpy(s.span_id, sid.p, sizeof s.span_id);
    if (pid.n)
        memcpy(s.parent_span_id, pid.p, sizeof s.parent_span_id);

    osp_buf *const bufs[] = {&d->attrs, &d->events, &d->links};
    osp_str *const dst[] = {&s.attributes, &s.events, &s.links};
    if ((rc = keep_blobs(d, bufs, dst, 3)) < 0)
        return rc;
    osp_span *row = osp_span_batch_add_span(d->out);
    if (!row)
        return OSP_ENOMEM;
    *row = s;
    return 0;
}

/* Decodes one EntityRef into d->nested (id keys, then description keys). */
static int put_entity_ref(dec *d, osp_str wire)
{
    osp_pb_reader r = reader_of(wire);
    osp_pb_field f;
    osp_str url = OSP_STR_NULL, type = OSP_STR_NULL;
    int rc;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (wrong_wire(&f, entity_ref_wires, sizeof entity_ref_wires))
            return bad(d, "entity_refs: field %u has the wrong wire type", f.num);
        if (f.num <= 4 && !utf8_ok(f.bytes))
            return bad(d, "entity_refs: a string is not valid UTF-8");
        if (f.num == 1)
            url = f.bytes;
        else if (f.num == 2)
            type = f.bytes;
    }
    if (rc < 0)
        return bad(d, "entity_refs: malformed EntityRef: %s", r.error ? r.error : "bad field");
    size_t mark;
    rc = osp_entity_ref_begin(&d->nested, url, type, &mark);
    for (uint32_t num = 3; num <= 4 && rc == 0; num++) {
        r = reader_of(wire);
        while (rc == 0 && osp_pb_next(&r, &f) == 1)
            if (f.num == num)
                rc = osp_entity_ref_add_key(&d->nested, num == 4, f.bytes);
    }
    return rc ? rc : osp_entity_ref_end(&d->nested, mark);
}

/* Decodes a Resource (plus the ResourceSpans schema_url) into a new resource row. */
static int decode_resource(dec *d, osp_str wire, osp_str schema_url)
{
    osp_pb_reader r = reader_of(wire);
    osp_pb_field f;
    osp_resource res = {.schema_url = schema_url};
    int rc;
    osp_buf_reset(&d->attrs);
    osp_buf_reset(&d->nested);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (wrong_wire(&f, resource_wires, sizeof resource_wires))
            return bad(d, "field %u has the wrong wire type", f.num);
        if (f.num == 1)
            rc = put_keyvalue(d, f.bytes, &d->attrs, 1, "attributes");
        else if (f.num == 2)
            res.dropped_attributes = (uint32_t)f.u64;
        else if (f.num == 3)
            rc = put_entity_ref(d, f.bytes);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return bad(d, "malformed Resource: %s", r.error ? r.error : "bad field");
    if ((rc = check_utf8(d, schema_url, "schema_url")) < 0)
        return rc;
    osp_buf *const bufs[] = {&d->attrs, &d->nested};
    osp_str *const dst[] = {&res.attributes, &res.entity_refs};
    if ((rc = keep_blobs(d, bufs, dst, 2)) < 0)
        return rc;
    osp_value v;
    if (osp_attr_find(res.attributes, OSP_STR_LIT("service.name"), &v) == 1 &&
        v.type == OSP_VAL_STRING)
        res.service_name = v.s;
    osp_resource *row = osp_span_batch_add_resource(d->out);
    if (!row)
        return OSP_ENOMEM;
    *row = res;
    return 0;
}

/* Decodes an InstrumentationScope (plus the ScopeSpans schema_url) into a new scope row. */
static int decode_scope(dec *d, osp_str wire, osp_str schema_url)
{
    osp_pb_reader r = reader_of(wire);
    osp_pb_field f;
    osp_scope sc = {.schema_url = schema_url};
    int rc;
    osp_buf_reset(&d->attrs);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (wrong_wire(&f, scope_wires, sizeof scope_wires))
            return bad(d, "field %u has the wrong wire type", f.num);
        if (f.num == 1)
            sc.name = f.bytes;
        else if (f.num == 2)
            sc.version = f.bytes;
        else if (f.num == 3)
            rc = put_keyvalue(d, f.bytes, &d->attrs, 1, "attributes");
        else if (f.num == 4)
            sc.dropped_attributes = (uint32_t)f.u64;
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return bad(d, "malformed InstrumentationScope: %s", r.error ? r.error : "bad field");
    if ((rc = check_utf8(d, sc.name, "name")) < 0 ||
        (rc = check_utf8(d, sc.version, "version")) < 0 ||
        (rc = check_utf8(d, schema_url, "schema_url")) < 0)
        return rc;
    osp_buf *const bufs[] = {&d->attrs};
    osp_str *const dst[] = {&sc.attributes};
    if ((rc = keep_blobs(d, bufs, dst, 1)) < 0)
        return rc;
    osp_scope *row = osp_span_batch_add_scope(d->out);
    if (!row)
        return OSP_ENOMEM;
    *row = sc;
    return 0;
}

/* First pass over a ResourceSpans or ScopeSpans: the last field 1 (resource or scope),
 * the last schema_url and the number of field-2 children. OSP_EPARSE when malformed. */
static int scan_container(dec *d, osp_str wire, const char *what, osp_str *head, osp_str *url,
                          size_t *nchildren)
{
    osp_pb_reader r = reader_of(wire);
    osp_pb_field f;
    int rc;
    *head = *url = OSP_STR_NULL;
    *nchildren = 0;
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (wrong_wire(&f, container_wires, sizeof container_wires)) {
            report(d, 1, "%s: field %u has the wrong wire type", what, f.num);
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
        report(d, 1, "%s: malformed: %s", what, r.error ? r.error : "bad field");
    return rc;
}

/* Counts a rejection: the spans' message, or the enclosing resource's or scope's. */
static void reject(dec *d, size_t nspans, const char *what)
{
    d->rep->rejected += (int64_t)nspans;
    if (nspans)
        report(d, 0, "%s: %s", what, d->why);
}

/* Decodes a ScopeSpans whose spans belong to resource row `resource` (UINT32_MAX when
 * the resource was rejected: the spans are only counted). */
static int decode_scope_spans(dec *d, osp_str wire, uint32_t resource, size_t *nspans)
{
    osp_str head, url;
    osp_pb_reader r;
    osp_pb_field f;
    size_t n, first = d->nspan, kept = 0;
    int rc = scan_container(d, wire, "scope_spans", &head, &url, &n);
    if (rc < 0)
        return rc;
    *nspans = n;
    if (resource == UINT32_MAX) {
        d->nspan += n;
        return 0;
    }
    d->why[0] = '\0';
    rc = decode_scope(d, head, url);
    if (rc == OSP_EPARSE) {
        char what[48];
        snprintf(what, sizeof what, "spans %zu..%zu: scope", first, first + n - (n > 0));
        reject(d, n, what);
        d->nspan += n;
        return 0;
    }
    if (rc < 0)
        return rc;
    uint32_t scope = (uint32_t)(d->out->nscopes - 1);
    r = reader_of(wire);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (f.num != 2)
            continue;
        d->why[0] = '\0';
        rc = decode_span(d, f.bytes, resource, scope);
        if (rc == OSP_EPARSE) {
            char what[32];
            snprintf(what, sizeof what, "span %zu", d->nspan);
            reject(d, 1, what);
        } else if (rc < 0) {
            return rc;
        } else {
            kept++;
        }
        d->nspan++;
    }
    if (kept == 0)
        d->out->nscopes--; /* no row refers to it */
    return 0;
}

static int decode_resource_spans(dec *d, osp_str wire)
{
    osp_str head, url;
    osp_pb_reader r;
    osp_pb_field f;
    size_t nscope_spans, first = d->nspan, nspans = 0, before;
    int rc = scan_container(d, wire, "resource_spans", &head, &url, &nscope_spans);
    if (rc < 0)
        return rc;
    d->why[0] = '\0';
    rc = decode_resource(d, head, url);
    if (rc < 0 && rc != OSP_EPARSE)
        return rc;
    uint32_t resource = rc ? UINT32_MAX : (uint32_t)(d->out->nresources - 1);
    before = d->out->nspans;
    r = reader_of(wire);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        size_t n;
        if (f.num == 2 && (rc = decode_scope_spans(d, f.bytes, resource, &n)) < 0)
            return rc;
        if (f.num == 2)
            nspans += n;
    }
    if (resource == UINT32_MAX) {
        char what[48];
        snprintf(what, sizeof what, "spans %zu..%zu: resource", first,
                 first + nspans - (nspans > 0));
        reject(d, nspans, what);
    } else if (d->out->nspans == before) {
        d->out->nresources--; /* no row refers to it */
    }
    return 0;
}

int osp_otlp_traces_decode_pb(osp_str body, osp_span_batch *out, osp_decode_report *rep)
{
    dec d = {.out = out, .rep = rep};
    size_t cap = body.n * 4 + 1024; /* canonical blobs never exceed 3x their wire size */
    size_t nres = out->nresources, nsc = out->nscopes, nsp = out->nspans;
    osp_pb_reader r = reader_of(body);
    osp_pb_field f;
    int rc;
    rep->rejected = 0;
    rep->message[0] = '\0';
    osp_buf_init(&d.attrs, cap);
    osp_buf_init(&d.events, cap);
    osp_buf_init(&d.links, cap);
    osp_buf_init(&d.nested, cap);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (f.num != 1)
            continue;
        if (f.wire != OSP_PB_LEN) {
            report(&d, 1, "resource_spans has the wrong wire type");
            rc = OSP_EPARSE;
            goto out;
        }
        if ((rc = decode_resource_spans(&d, f.bytes)) < 0)
            goto out;
    }
    if (rc < 0)
        report(&d, 1, "request: malformed protobuf at byte %zu: %s",
               (size_t)(r.p - (const uint8_t *)body.p), r.error ? r.error : "bad field");
out:
    if (rc < 0) { /* leave the batch as it was */
        out->nresources = nres;
        out->nscopes = nsc;
        out->nspans = nsp;
    }
    osp_buf_cleanup(&d.attrs);
    osp_buf_cleanup(&d.events);
    osp_buf_cleanup(&d.links);
    osp_buf_cleanup(&d.nested);
    return rc < 0 ? rc : 0;
}

/* Writes each field-1 record of a canonical blob as field `num` (attribute lists and
 * entity refs are stored as the OTLP repeated fields they came from, renumbered). */
static int put_records(osp_buf *out, uint32_t num, osp_str blob)
{
    osp_pb_reader r = reader_of(blob);
    osp_pb_field f;
    int rc;
    while ((rc = osp_pb_next(&r, &f)) == 1)
        if (f.num != 1 || f.wire != OSP_PB_LEN || (rc = osp_pb_put_str(out, num, f.bytes)) < 0)
            return rc < 0 ? rc : OSP_ECORRUPT;
    return rc < 0 ? OSP_ECORRUPT : 0;
}

static int put_uint_nz(osp_buf *out, uint32_t num, uint64_t v)
{
    return v ? osp_pb_put_uint(out, num, v) : 0;
}

static int put_str_nz(osp_buf *out, uint32_t num, osp_str s)
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
        rc = put_uint_nz(out, 2, res->dropped_attributes);
    if (rc == 0)
        rc = put_records(out, 3, res->entity_refs);
    return rc ? rc : osp_pb_end(out, mark);
}

static int put_scope(osp_buf *out, const osp_scope *sc)
{
    size_t mark;
    int rc = osp_pb_begin(out, 1, &mark);
    if (rc == 0)
        rc = put_str_nz(out, 1, sc->name);
    if (rc == 0)
        rc = put_str_nz(out, 2, sc->version);
    if (rc == 0)
        rc = put_records(out, 3, sc->attributes);
    if (rc == 0)
        rc = put_uint_nz(out, 4, sc->dropped_attributes);
    return rc ? rc : osp_pb_end(out, mark);
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
            rc = put_str_nz(out, 2, ev.name);
        if (rc == 0)
            rc = put_records(out, 3, ev.attributes);
        if (rc == 0)
            rc = put_uint_nz(out, 4, ev.dropped_attributes);
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
            rc = put_str_nz(out, 3, ln.trace_state);
        if (rc == 0)
            rc = put_records(out, 4, ln.attributes);
        if (rc == 0)
            rc = put_uint_nz(out, 5, ln.dropped_attributes);
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
        rc = put_str_nz(out, 3, s->trace_state);
    if (rc == 0 && memcmp(s->parent_span_id, zero, sizeof zero) != 0)
        rc = osp_pb_put_bytes(out, 4, s->parent_span_id, sizeof s->parent_span_id);
    if (rc == 0)
        rc = put_str_nz(out, 5, s->name);
    if (rc == 0)
        rc = put_uint_nz(out, 6, (uint64_t)(int64_t)s->kind);
    if (rc == 0 && s->start_ns)
        rc = osp_pb_put_fixed64(out, 7, s->start_ns);
    if (rc == 0 && s->end_ns)
        rc = osp_pb_put_fixed64(out, 8, s->end_ns);
    if (rc == 0)
        rc = put_records(out, 9, s->attributes);
    if (rc == 0)
        rc = put_uint_nz(out, 10, s->dropped_attributes);
    if (rc == 0)
        rc = put_events(out, s->events);
    if (rc == 0)
        rc = put_uint_nz(out, 12, s->dropped_events);
    if (rc == 0)
        rc = put_links(out, s->links);
    if (rc == 0)
        rc = put_uint_nz(out, 14, s->dropped_links);
    if (rc == 0 && (s->status_code || s->status_message.n)) {
        rc = osp_pb_begin(out, 15, &status);
        if (rc == 0)
            rc = put_str_nz(out, 2, s->status_message);
        if (rc == 0)
            rc = put_uint_nz(out, 3, (uint64_t)(int64_t)s->status_code);
        if (rc == 0)
            rc = osp_pb_end(out, status);
    }
    if (rc == 0 && s->flags)
        rc = osp_pb_put_fixed32(out, 16, s->flags);
    return rc ? rc : osp_pb_end(out, mark);
}

/* Closes an open ScopeSpans or ResourceSpans: its schema_url (field 3), then the length. */
static int close_group(osp_buf *out, osp_str schema_url, size_t mark)
{
    int rc = put_str_nz(out, 3, schema_url);
    return rc ? rc : osp_pb_end(out, mark);
}

int osp_otlp_traces_encode_pb(const osp_span_batch *b, osp_buf *out)
{
    const osp_resource *res = NULL;
    const osp_scope *sc = NULL;
    size_t rs_mark = 0, ss_mark = 0;
    int rc = 0;
    for (size_t i = 0; i < b->nspans && rc == 0; i++) {
        const osp_span *s = &b->spans[i];
        const osp_resource *r = &b->resources[s->resource];
        const osp_scope *c = &b->scopes[s->scope];
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
            rc = put_span(out, s);
    }
    if (rc == 0 && sc)
        rc = close_group(out, sc->schema_url, ss_mark);
    if (rc == 0 && res)
        rc = close_group(out, res->schema_url, rs_mark);
    return rc;
}
