/* Spans as an OTLP ExportTraceServiceRequest (protobuf, trace.proto field numbers). */
#include "sdk_int.h"

#include "core/pb.h"

/* Field numbers (opentelemetry-proto trace.proto, common.proto, resource.proto). */
enum { REQ_RESOURCE_SPANS = 1 };
enum { RS_RESOURCE = 1, RS_SCOPE_SPANS = 2 };
enum { RESOURCE_ATTRS = 1, RESOURCE_DROPPED = 2 };
enum { SS_SCOPE = 1, SS_SPANS = 2 };
enum { SCOPE_NAME = 1, SCOPE_VERSION = 2 };
enum {
    SPAN_TRACE_ID = 1,
    SPAN_SPAN_ID = 2,
    SPAN_TRACE_STATE = 3,
    SPAN_PARENT_SPAN_ID = 4,
    SPAN_NAME = 5,
    SPAN_KIND = 6,
    SPAN_START = 7,
    SPAN_END = 8,
    SPAN_ATTRS = 9,
    SPAN_DROPPED_ATTRS = 10,
    SPAN_EVENTS = 11,
    SPAN_DROPPED_EVENTS = 12,
    SPAN_LINKS = 13,
    SPAN_DROPPED_LINKS = 14,
    SPAN_STATUS = 15,
    SPAN_FLAGS = 16,
};
enum { EVENT_TIME = 1, EVENT_NAME = 2, EVENT_ATTRS = 3, EVENT_DROPPED_ATTRS = 4 };
enum {
    LINK_TRACE_ID = 1,
    LINK_SPAN_ID = 2,
    LINK_TRACE_STATE = 3,
    LINK_ATTRS = 4,
    LINK_DROPPED_ATTRS = 5,
    LINK_FLAGS = 6,
};
enum { STATUS_MESSAGE = 2, STATUS_CODE = 3 };

/* SpanFlags: the parent's remoteness is known (bit 8) and remote (bit 9). */
#define FLAG_HAS_IS_REMOTE 0x100u
#define FLAG_IS_REMOTE 0x200u

static const uint8_t zero_id[8];

/* Each put_* returns 0 or the buffer's error; proto3 defaults (0, "") are left out. */

static int put_uint_nz(osp_buf *b, uint32_t num, uint64_t v)
{
    return v ? osp_pb_put_uint(b, num, v) : 0;
}

static int put_str_nz(osp_buf *b, uint32_t num, const char *s)
{
    return s && *s ? osp_pb_put_str(b, num, osp_str_c(s)) : 0;
}

static int put_attrs(osp_buf *b, uint32_t num, uint32_t dropped_num, const osprey__attrs *a)
{
    int rc = osprey__attrs_put_pb(b, num, a);
    return rc ? rc : put_uint_nz(b, dropped_num, a->dropped);
}

static int put_event(osp_buf *b, const osprey__event *e)
{
    size_t mark;
    int rc = osp_pb_begin(b, SPAN_EVENTS, &mark);
    if (rc == 0 && (rc = osp_pb_put_fixed64(b, EVENT_TIME, e->time_ns)) == 0 &&
        (rc = put_str_nz(b, EVENT_NAME, e->name)) == 0 &&
        (rc = put_attrs(b, EVENT_ATTRS, EVENT_DROPPED_ATTRS, &e->attrs)) == 0)
        rc = osp_pb_end(b, mark);
    return rc;
}

static int put_link(osp_buf *b, const osprey__link *l)
{
    size_t mark;
    int rc = osp_pb_begin(b, SPAN_LINKS, &mark);
    if (rc == 0 && (rc = osp_pb_put_bytes(b, LINK_TRACE_ID, l->trace_id, 16)) == 0 &&
        (rc = osp_pb_put_bytes(b, LINK_SPAN_ID, l->span_id, 8)) == 0 &&
        (rc = put_str_nz(b, LINK_TRACE_STATE, l->trace_state)) == 0 &&
        (rc = put_attrs(b, LINK_ATTRS, LINK_DROPPED_ATTRS, &l->attrs)) == 0 &&
        (rc = osp_pb_put_fixed32(b, LINK_FLAGS, l->flags)) == 0)
        rc = osp_pb_end(b, mark);
    return rc;
}

static int put_status(osp_buf *b, const struct osprey_span_data *d)
{
    if (d->status == OSPREY_STATUS_UNSET && !d->status_message)
        return 0;
    size_t mark;
    int rc = osp_pb_begin(b, SPAN_STATUS, &mark);
    if (rc == 0 && (rc = put_str_nz(b, STATUS_MESSAGE, d->status_message)) == 0 &&
        (rc = put_uint_nz(b, STATUS_CODE, (uint64_t)d->status)) == 0)
        rc = osp_pb_end(b, mark);
    return rc;
}

/* The fields of one Span message, in field-number order. */
static int put_span_fields(osp_buf *b, const struct osprey_span_data *d)
{
    uint32_t flags = d->flags | FLAG_HAS_IS_REMOTE | (d->parent_remote ? FLAG_IS_REMOTE : 0);
    int rc = osp_pb_put_bytes(b, SPAN_TRACE_ID, d->trace_id, 16);
    if (rc == 0 && (rc = osp_pb_put_bytes(b, SPAN_SPAN_ID, d->span_id, 8)) == 0 &&
        (rc = put_str_nz(b, SPAN_TRACE_STATE, d->trace_state)) == 0 &&
        memcmp(d->parent_span_id, zero_id, 8) != 0)
        rc = osp_pb_put_bytes(b, SPAN_PARENT_SPAN_ID, d->parent_span_id, 8);
    if (rc == 0 && (rc = put_str_nz(b, SPAN_NAME, d->name)) == 0 &&
        (rc = osp_pb_put_uint(b, SPAN_KIND, (uint64_t)d->kind)) == 0 &&
        (rc = osp_pb_put_fixed64(b, SPAN_START, d->start_ns)) == 0 &&
        (rc = osp_pb_put_fixed64(b, SPAN_END, d->end_ns)) == 0)
        rc = put_attrs(b, SPAN_ATTRS, SPAN_DROPPED_ATTRS, &d->attrs);
    for (uint32_t i = 0; rc == 0 && i < d->nevents; i++)
        rc = put_event(b, &d->events[i]);
    if (rc == 0)
        rc = put_uint_nz(b, SPAN_DROPPED_EVENTS, d->dropped_events);
    for (uint32_t i = 0; rc == 0 && i < d->nlinks; i++)
        rc = put_link(b, &d->links[i]);
    if (rc == 0 && (rc = put_uint_nz(b, SPAN_DROPPED_LINKS, d->dropped_links)) == 0 &&
        (rc = put_status(b, d)) == 0)
        rc = osp_pb_put_fixed32(b, SPAN_FLAGS, flags);
    return rc;
}

/* One ScopeSpans with spans[first] and every later span of the same tracer. */
static int put_scope_spans(osp_buf *b, struct osprey_span_data *const *spans, size_t first,
                           size_t n)
{
    const osprey_tracer *t = spans[first]->tracer;
    size_t ss, scope;
    int rc = osp_pb_begin(b, RS_SCOPE_SPANS, &ss);
    if (rc == 0 && (rc = osp_pb_begin(b, SS_SCOPE, &scope)) == 0 &&
        (rc = put_str_nz(b, SCOPE_NAME, t->name)) == 0 &&
        (rc = put_str_nz(b, SCOPE_VERSION, t->version)) == 0)
        rc = osp_pb_end(b, scope);
    for (size_t i = first; rc == 0 && i < n; i++) {
        size_t span;
        if (spans[i]->tracer != t)
            continue;
        if ((rc = osp_pb_begin(b, SS_SPANS, &span)) == 0 &&
            (rc = put_span_fields(b, spans[i])) == 0)
            rc = osp_pb_end(b, span);
    }
    return rc ? rc : osp_pb_end(b, ss);
}

/* Whether a span before spans[i] has its tracer (its ScopeSpans is already written). */
static bool tracer_seen(struct osprey_span_data *const *spans, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (spans[j]->tracer == spans[i]->tracer)
            return true;
    return false;
}

int osprey__encode_spans(osp_buf *out, const osprey__attrs *resource,
                         struct osprey_span_data *const *spans, size_t n)
{
    size_t rs, res;
    int rc = osp_pb_begin(out, REQ_RESOURCE_SPANS, &rs);
    if (rc == 0 && (rc = osp_pb_begin(out, RS_RESOURCE, &res)) == 0 &&
        (rc = put_attrs(out, RESOURCE_ATTRS, RESOURCE_DROPPED, resource)) == 0)
        rc = osp_pb_end(out, res);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!tracer_seen(spans, i))
            rc = put_scope_spans(out, spans, i, n);
    if (rc == 0)
        rc = osp_pb_end(out, rs);
    return rc ? OSPREY_ENOMEM : 0;
}
