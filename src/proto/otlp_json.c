/* OTLP/JSON trace decoder: ExportTraceServiceRequest / TracesData JSON into canonical rows.
 *
 * One streaming pass with proto/json.h; rows come out byte-identical to otlp_pb.c's for the
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
    osp__ojson j; /* first: the callbacks of osp__ojson_each_object get it */
    osp_span_batch *b;
    int64_t nspan;                                /* spans seen so far: the index in messages */
    osp_buf span_attrs, events, links, sub_attrs; /* sub_attrs: an event's or link's */
} dec;

enum id_rule { ID_NONZERO, ID_LENGTH, ID_OPTIONAL };

/* What a ResourceSpans or ScopeSpans being decoded passes down to its children. */
typedef struct group {
    uint32_t resource, scope; /* row indexes the spans under it get (for a resource: the
                                 index its first scope gets) */
    osp__ojson_fault f;
    osp_resource res;
    osp_scope sc;
} group;

/* Counts n rejected spans; the first problem becomes the report's message. */
__attribute__((format(printf, 3, 4))) static void reject(dec *d, int64_t n, const char *fmt, ...)
{
    d->j.rep->rejected += n;
    if (d->j.rep->message[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->j.rep->message, sizeof d->j.rep->message, fmt, ap);
    va_end(ap);
}

/* An enum: an integer number (names are not accepted), kept as received. */
static int get_enum(dec *d, const char *field, int32_t *out)
{
    osp_json_token t;
    int64_t v;
    int rc = osp__ojson_read_tok(&d->j, &t);
    if (rc <= 0)
        return rc;
    if (t.type != OSP_JSON_NUMBER || osp_json_int64(t.s, &v) || v < INT32_MIN || v > INT32_MAX)
        return osp__ojson_bad_value(&d->j, &t, field, "an integer enum value");
    *out = (int32_t)v;
    return 0;
}

/* Records why an id of len bytes (from get_id) is not a valid id of want bytes, with the
 * protobuf decoder's rules: span ids must not be all zero, link ids only need their
 * length, a parent id may also be empty. 1 when valid. */
static int check_id(osp__ojson_fault *f, const char *what, const uint8_t *id, size_t want,
                    size_t len, enum id_rule rule)
{
    static const uint8_t zero[16];
    if (len == SIZE_MAX)
        osp__ojson_set_fault(f, "%s is not a hex string", what);
    else if (rule == ID_OPTIONAL && len != 0 && len != want)
        osp__ojson_set_fault(f, "%s must be empty or %zu bytes, got %zu", what, want, len);
    else if (rule != ID_OPTIONAL && len != want)
        osp__ojson_set_fault(f, "%s must be %zu bytes, got %zu", what, want, len);
    else if (rule == ID_NONZERO && memcmp(id, zero, want) == 0)
        osp__ojson_set_fault(f, "%s is all zero", what);
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
    out->p = osp_arena_memdup(d->j.arena, src->data, src->len);
    out->n = src->len;
    return out->p ? 0 : OSP_ENOMEM;
}

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
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->j, &k, names, 4, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
            rc = osp__ojson_get_uint(&d->j, names[m].json, UINT64_MAX, &ev.time_ns);
            break;
        case 1:
            rc = osp__ojson_get_str(&d->j, names[m].json, &ev.name);
            break;
        case 2:
            rc = osp__ojson_get_attrs(&d->j, &d->sub_attrs, arg, "events.attributes");
            break;
        case 3:
            rc = osp__ojson_get_u32(&d->j, names[m].json, &ev.dropped_attributes);
            break;
        default:
            rc = osp__ojson_skip_value(&d->j);
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
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->j, &k, names, 6, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
            rc = osp__ojson_get_id(&d->j, names[m].json, ln.trace_id, sizeof ln.trace_id, &tlen);
            break;
        case 1:
            rc = osp__ojson_get_id(&d->j, names[m].json, ln.span_id, sizeof ln.span_id, &slen);
            break;
        case 2:
            rc = osp__ojson_get_str(&d->j, names[m].json, &ln.trace_state);
            break;
        case 3:
            rc = osp__ojson_get_attrs(&d->j, &d->sub_attrs, arg, "links.attributes");
            break;
        case 4:
        case 5:
            rc = osp__ojson_get_u32(&d->j, names[m].json,
                                    m == 4 ? &ln.dropped_attributes : &ln.flags);
            break;
        default:
            rc = osp__ojson_skip_value(&d->j);
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
    static const osp__ojson_name names[] = {{"message", NULL}, {"code", NULL}};
    osp_json_token k;
    uint32_t seen = 0;
    int rc, m;
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->j, &k, names, 2, &seen, &m)) != 0)
            return rc;
        if (m == 0)
            rc = osp__ojson_get_str(&d->j, names[m].json, &sp->status_message);
        else if (m == 1)
            rc = get_enum(d, names[m].json, &sp->status_code);
        else
            rc = osp__ojson_skip_value(&d->j);
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
    const group *g = arg;
    osp_json_token k;
    osp_span sp = {.resource = g->resource, .scope = g->scope};
    osp__ojson_fault f = {""};
    size_t tlen = 0, slen = 0, plen = 0;
    uint32_t seen = 0;
    int rc, m;
    int64_t idx = d->nspan++;
    osp_buf_reset(&d->span_attrs);
    osp_buf_reset(&d->events);
    osp_buf_reset(&d->links);
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->j, &k, names, N, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case TRACE_ID:
            rc = osp__ojson_get_id(&d->j, names[m].json, sp.trace_id, sizeof sp.trace_id, &tlen);
            break;
        case SPAN_ID:
            rc = osp__ojson_get_id(&d->j, names[m].json, sp.span_id, sizeof sp.span_id, &slen);
            break;
        case TRACE_STATE:
            rc = osp__ojson_get_str(&d->j, names[m].json, &sp.trace_state);
            break;
        case PARENT_SPAN_ID:
            rc = osp__ojson_get_id(&d->j, names[m].json, sp.parent_span_id,
                                   sizeof sp.parent_span_id, &plen);
            break;
        case FLAGS:
            rc = osp__ojson_get_u32(&d->j, names[m].json, &sp.flags);
            break;
        case NAME:
            rc = osp__ojson_get_str(&d->j, names[m].json, &sp.name);
            break;
        case KIND:
            rc = get_enum(d, names[m].json, &sp.kind);
            break;
        case START:
        case END:
            rc = osp__ojson_get_uint(&d->j, names[m].json, UINT64_MAX,
                                     m == START ? &sp.start_ns : &sp.end_ns);
            break;
        case ATTRIBUTES:
            rc = osp__ojson_get_attrs(&d->j, &d->span_attrs, &f, "attributes");
            break;
        case DROPPED_ATTRIBUTES:
            rc = osp__ojson_get_u32(&d->j, names[m].json, &sp.dropped_attributes);
            break;
        case EVENTS:
            rc = osp__ojson_each_object(&d->j, names[m].json, decode_event, &f);
            break;
        case DROPPED_EVENTS:
            rc = osp__ojson_get_u32(&d->j, names[m].json, &sp.dropped_events);
            break;
        case LINKS:
            rc = osp__ojson_each_object(&d->j, names[m].json, decode_link, &f);
            break;
        case DROPPED_LINKS:
            rc = osp__ojson_get_u32(&d->j, names[m].json, &sp.dropped_links);
            break;
        case STATUS:
            if ((rc = osp__ojson_open_value(&d->j, OSP_JSON_OBJECT_BEGIN, names[m].json)) == 1)
                rc = decode_status(d, &sp);
            break;
        default:
            rc = osp__ojson_skip_value(&d->j);
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
                         const char *what, const osp__ojson_fault *f)
{
    int64_t n = (int64_t)(d->b->nspans - first_span);
    d->b->nspans = first_span;
    d->b->nscopes = first_scope;
    if (n)
        reject(d, n, "spans %" PRId64 "..%" PRId64 ": %s: %s", first_idx, d->nspan - 1, what,
               f->msg);
}

static int decode_scope_spans(osp__ojson *j, void *arg)
{
    dec *d = (dec *)j;
    static const osp__ojson_name names[] = {
        {"scope", NULL}, {"spans", NULL}, {"schemaUrl", "schema_url"}};
    const group *parent = arg;
    group g = {.resource = parent->resource, .scope = (uint32_t)d->b->nscopes};
    osp_json_token k;
    size_t first = d->b->nspans;
    int64_t idx = d->nspan;
    uint32_t seen = 0;
    int rc, m;
    osp_buf_reset(&d->j.scope_attrs);
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->j, &k, names, 3, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
            if ((rc = osp__ojson_open_value(&d->j, OSP_JSON_OBJECT_BEGIN, names[m].json)) == 1)
                rc = osp__ojson_decode_scope(&d->j, &g.sc, &g.f);
            break;
        case 1:
            rc = osp__ojson_each_object(&d->j, names[m].json, decode_span, &g);
            break;
        case 2:
            rc = osp__ojson_get_str(&d->j, names[m].json, &g.sc.schema_url);
            break;
        default:
            rc = osp__ojson_skip_value(&d->j);
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
    if ((rc = keep_blob(d, &d->j.scope_attrs, &g.sc.attributes)) != 0)
        return rc;
    if (!(row = osp_span_batch_add_scope(d->b)))
        return OSP_ENOMEM;
    *row = g.sc;
    return 0;
}

static int decode_resource_spans(osp__ojson *j, void *arg)
{
    dec *d = (dec *)j;
    static const osp__ojson_name names[] = {
        {"resource", NULL}, {"scopeSpans", "scope_spans"}, {"schemaUrl", "schema_url"}};
    group g = {.resource = (uint32_t)d->b->nresources, .scope = (uint32_t)d->b->nscopes};
    osp_json_token k;
    osp_value v;
    size_t first = d->b->nspans;
    int64_t idx = d->nspan;
    uint32_t seen = 0;
    int rc, m;
    (void)arg;
    osp_buf_reset(&d->j.res_attrs);
    osp_buf_reset(&d->j.res_refs);
    while ((rc = osp__ojson_next_key(&d->j, &k)) == 1) {
        if ((rc = osp__ojson_member(&d->j, &k, names, 3, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case 0:
            if ((rc = osp__ojson_open_value(&d->j, OSP_JSON_OBJECT_BEGIN, names[m].json)) == 1)
                rc = osp__ojson_decode_resource(&d->j, &g.res, &g.f);
            break;
        case 1:
            rc = osp__ojson_each_object(&d->j, names[m].json, decode_scope_spans, &g);
            break;
        case 2:
            rc = osp__ojson_get_str(&d->j, names[m].json, &g.res.schema_url);
            break;
        default:
            rc = osp__ojson_skip_value(&d->j);
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
    if ((rc = keep_blob(d, &d->j.res_attrs, &g.res.attributes)) != 0 ||
        (rc = keep_blob(d, &d->j.res_refs, &g.res.entity_refs)) != 0)
        return rc;
    if (osp_attr_find(g.res.attributes, OSP_STR_LIT("service.name"), &v) == 1 &&
        v.type == OSP_VAL_STRING)
        g.res.service_name = v.s;
    if (!(row = osp_span_batch_add_resource(d->b)))
        return OSP_ENOMEM;
    *row = g.res;
    return 0;
}

int osp_otlp_traces_decode_json(osp_str body, osp_span_batch *out, osp_decode_report *rep)
{
    /* Canonical rows are never larger than the JSON they come from; a value given before
     * its key needs room for a second copy while it is wrapped. */
    size_t cap = 2 * body.n + 4096;
    size_t nres = out->nresources, nscopes = out->nscopes, nspans = out->nspans;
    dec d = {.b = out};
    osp_buf *own[] = {&d.span_attrs, &d.events, &d.links, &d.sub_attrs};
    osp__ojson_init(&d.j, body, rep, &out->arena, cap);
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        osp_buf_init(own[i], cap);
    static const osp__ojson_name top = {"resourceSpans", "resource_spans"};
    int rc = osp__ojson_decode_body(&d.j, &top, decode_resource_spans);
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
    osp__ojson_cleanup(&d.j);
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        osp_buf_cleanup(own[i]);
    return rc;
}
