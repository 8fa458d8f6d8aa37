/* OTLP/JSON trace decoder: ExportTraceServiceRequest / TracesData JSON into canonical rows.
 *
 * One streaming pass with core/json.h; rows come out byte-identical to otlp_pb.c's for the
 * same data (attribute values stream straight into the canonical blobs). Policies:
 * - members in any order, by their lowerCamelCase name or their original proto name (as
 *   the proto3 JSON mapping asks of parsers); unknown members skipped; null means absent
 *   (a null element of an ArrayValue is the empty value, of any other list it is skipped);
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
 *   the request rather than one span.
 * What both JSON decoders read alike (members, scalars, AnyValue, KeyValue, Resource,
 * InstrumentationScope, EntityRef) is in otlp_json_common.c (otlp_json_int.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "model/attr.h"
#include "proto/otlp_json_int.h"

typedef struct dec {
    osp__ojson_rowdec rd; /* first: the callbacks of osp__ojson_each_object get it */
    osp_span_batch *b;
    osp_buf span_attrs, events, links, sub_attrs; /* sub_attrs: an event's or link's */
} dec;

static int decode_event(osp__ojson *j, void *arg)
{
    dec *d = (dec *)j;
    static const osp__ojson_name names[] = {{"timeUnixNano", "time_unix_nano"},
                                            {"name", NULL},
                                            {"attributes", NULL},
                                            {"droppedAttributesCount", "dropped_attributes_count"}};
    osp_json_token k;
    osp_event ev = {0};
    uint32_t seen = 0;
    int rc, m;
    osp_buf_reset(&d->sub_attrs);
    while ((rc = osp__ojson_next_key(&d->rd.j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->rd.j, &k, names, 4, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
            rc = osp__ojson_get_uint(&d->rd.j, names[m].json, UINT64_MAX, &ev.time_ns);
            break;
        case 1:
            rc = osp__ojson_get_str(&d->rd.j, names[m].json, &ev.name);
            break;
        case 2:
            rc = osp__ojson_get_attrs(&d->rd.j, &d->sub_attrs, arg, "events.attributes");
            break;
        case 3:
            rc = osp__ojson_get_u32(&d->rd.j, names[m].json, &ev.dropped_attributes);
            break;
        default:
            rc = osp__ojson_skip_value(&d->rd.j);
            break;
        }
        if (rc < 0)
            return rc;
    }
    ev.attributes = osp_buf_str(&d->sub_attrs);
    return rc ? rc : osp_events_append(&d->events, &ev);
}

static int decode_link(osp__ojson *j, void *arg)
{
    dec *d = (dec *)j;
    static const osp__ojson_name names[] = {{"traceId", "trace_id"},
                                            {"spanId", "span_id"},
                                            {"traceState", "trace_state"},
                                            {"attributes", NULL},
                                            {"droppedAttributesCount", "dropped_attributes_count"},
                                            {"flags", NULL}};
    osp_json_token k;
    osp_link ln = {0};
    size_t tlen = 0, slen = 0;
    uint32_t seen = 0;
    int rc, m;
    osp_buf_reset(&d->sub_attrs);
    while ((rc = osp__ojson_next_key(&d->rd.j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->rd.j, &k, names, 6, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
            rc = osp__ojson_get_id(&d->rd.j, names[m].json, ln.trace_id, sizeof ln.trace_id, &tlen);
            break;
        case 1:
            rc = osp__ojson_get_id(&d->rd.j, names[m].json, ln.span_id, sizeof ln.span_id, &slen);
            break;
        case 2:
            rc = osp__ojson_get_str(&d->rd.j, names[m].json, &ln.trace_state);
            break;
        case 3:
            rc = osp__ojson_get_attrs(&d->rd.j, &d->sub_attrs, arg, "links.attributes");
            break;
        case 4:
        case 5:
            rc = osp__ojson_get_u32(&d->rd.j, names[m].json,
                                    m == 4 ? &ln.dropped_attributes : &ln.flags);
            break;
        default:
            rc = osp__ojson_skip_value(&d->rd.j);
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0 ||
        !osp__ojson_check_id(arg, "links.traceId", ln.trace_id, 16, tlen, OSP__OJSON_ID_LENGTH) ||
        !osp__ojson_check_id(arg, "links.spanId", ln.span_id, 8, slen, OSP__OJSON_ID_LENGTH))
        return rc;
    ln.attributes = osp_buf_str(&d->sub_attrs);
    return osp_links_append(&d->links, &ln);
}

static int decode_status(dec *d, osp_span *sp)
{
    static const osp__ojson_name names[] = {{"message", NULL}, {"code", NULL}};
    osp_json_token k;
    uint32_t seen = 0;
    int rc, m;
    while ((rc = osp__ojson_next_key(&d->rd.j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->rd.j, &k, names, 2, &seen, &m)) != 0)
            return rc;
        if (m == 0)
            rc = osp__ojson_get_str(&d->rd.j, names[m].json, &sp->status_message);
        else if (m == 1)
            rc = osp__ojson_get_enum(&d->rd.j, names[m].json, &sp->status_code);
        else
            rc = osp__ojson_skip_value(&d->rd.j);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* Spans are checked once complete (members come in any order) and added only if valid. */
static int decode_span(osp__ojson *j, void *arg)
{
    dec *d = (dec *)j;
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
    static const osp__ojson_name names[N] = {
        [TRACE_ID] = {"traceId", "trace_id"},
        [SPAN_ID] = {"spanId", "span_id"},
        [TRACE_STATE] = {"traceState", "trace_state"},
        [PARENT_SPAN_ID] = {"parentSpanId", "parent_span_id"},
        [FLAGS] = {"flags", NULL},
        [NAME] = {"name", NULL},
        [KIND] = {"kind", NULL},
        [START] = {"startTimeUnixNano", "start_time_unix_nano"},
        [END] = {"endTimeUnixNano", "end_time_unix_nano"},
        [ATTRIBUTES] = {"attributes", NULL},
        [DROPPED_ATTRIBUTES] = {"droppedAttributesCount", "dropped_attributes_count"},
        [EVENTS] = {"events", NULL},
        [DROPPED_EVENTS] = {"droppedEventsCount", "dropped_events_count"},
        [LINKS] = {"links", NULL},
        [DROPPED_LINKS] = {"droppedLinksCount", "dropped_links_count"},
        [STATUS] = {"status", NULL},
    };
    const osp__ojson_group *g = arg;
    osp_json_token k;
    osp_span sp = {.resource = g->resource, .scope = g->scope};
    osp__ojson_fault f = {""};
    size_t tlen = 0, slen = 0, plen = 0;
    uint32_t seen = 0;
    int rc, m;
    int64_t idx = d->rd.nrow++;
    osp_buf_reset(&d->span_attrs);
    osp_buf_reset(&d->events);
    osp_buf_reset(&d->links);
    while ((rc = osp__ojson_next_key(&d->rd.j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->rd.j, &k, names, N, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case TRACE_ID:
            rc = osp__ojson_get_id(&d->rd.j, names[m].json, sp.trace_id, sizeof sp.trace_id, &tlen);
            break;
        case SPAN_ID:
            rc = osp__ojson_get_id(&d->rd.j, names[m].json, sp.span_id, sizeof sp.span_id, &slen);
            break;
        case TRACE_STATE:
            rc = osp__ojson_get_str(&d->rd.j, names[m].json, &sp.trace_state);
            break;
        case PARENT_SPAN_ID:
            rc = osp__ojson_get_id(&d->rd.j, names[m].json, sp.parent_span_id,
                                   sizeof sp.parent_span_id, &plen);
            break;
        case FLAGS:
            rc = osp__ojson_get_u32(&d->rd.j, names[m].json, &sp.flags);
            break;
        case NAME:
            rc = osp__ojson_get_str(&d->rd.j, names[m].json, &sp.name);
            break;
        case KIND:
            rc = osp__ojson_get_enum(&d->rd.j, names[m].json, &sp.kind);
            break;
        case START:
        case END:
            rc = osp__ojson_get_uint(&d->rd.j, names[m].json, UINT64_MAX,
                                     m == START ? &sp.start_ns : &sp.end_ns);
            break;
        case ATTRIBUTES:
            rc = osp__ojson_get_attrs(&d->rd.j, &d->span_attrs, &f, "attributes");
            break;
        case DROPPED_ATTRIBUTES:
            rc = osp__ojson_get_u32(&d->rd.j, names[m].json, &sp.dropped_attributes);
            break;
        case EVENTS:
            rc = osp__ojson_each_object(&d->rd.j, names[m].json, decode_event, &f);
            break;
        case DROPPED_EVENTS:
            rc = osp__ojson_get_u32(&d->rd.j, names[m].json, &sp.dropped_events);
            break;
        case LINKS:
            rc = osp__ojson_each_object(&d->rd.j, names[m].json, decode_link, &f);
            break;
        case DROPPED_LINKS:
            rc = osp__ojson_get_u32(&d->rd.j, names[m].json, &sp.dropped_links);
            break;
        case STATUS:
            if ((rc = osp__ojson_open_value(&d->rd.j, OSP_JSON_OBJECT_BEGIN, names[m].json)) == 1)
                rc = decode_status(d, &sp);
            break;
        default:
            rc = osp__ojson_skip_value(&d->rd.j);
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    osp__ojson_check_id(&f, "traceId", sp.trace_id, sizeof sp.trace_id, tlen,
                        OSP__OJSON_ID_NONZERO);
    osp__ojson_check_id(&f, "spanId", sp.span_id, sizeof sp.span_id, slen, OSP__OJSON_ID_NONZERO);
    osp__ojson_check_id(&f, "parentSpanId", sp.parent_span_id, sizeof sp.parent_span_id, plen,
                        OSP__OJSON_ID_OPTIONAL);
    osp_buf *const bufs[] = {&d->span_attrs, &d->events, &d->links};
    osp_str *const blobs[] = {&sp.attributes, &sp.events, &sp.links};
    osp_span *row;
    if ((rc = osp__ojson_end_row(&d->rd.j, &f, "span", idx, bufs, blobs, 3)) != 0)
        return rc < 0 ? rc : 0;
    if (!(row = osp_span_batch_add_span(d->b)))
        return OSP_ENOMEM;
    *row = sp;
    return 0;
}

int osp_otlp_traces_decode_json(osp_str body, osp_span_batch *out, osp_decode_report *rep)
{
    size_t cap = osp__ojson_cap(body);
    dec d = {.rd = {.names = {{"resourceSpans", "resource_spans"},
                              {"scopeSpans", "scope_spans"},
                              {"spans", NULL}},
                    .rows = "spans",
                    .b = osp__otlp_span_rows(out),
                    .decode_row = decode_span},
             .b = out};
    osp_buf *own[] = {&d.span_attrs, &d.events, &d.links, &d.sub_attrs};
    osp__ojson_init(&d.rd.j, body, rep, &out->arena, cap);
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        osp_buf_init(own[i], cap);
    int rc = osp__ojson_decode_rows(&d.rd);
    osp__ojson_cleanup(&d.rd.j);
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        osp_buf_cleanup(own[i]);
    return rc;
}
