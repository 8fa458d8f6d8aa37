/* OTLP/JSON trace encoder: canonical rows to a TracesData document, grouped by resource
 * and scope, with the proto3 JSON mapping's defaults omitted. */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/mem.h"
#include "model/attr.h"
#include "proto/otlp.h"

/* Appends to out; after the first failure every write does nothing and rc keeps it. */
typedef struct writer {
    osp_buf *out;
    int rc;
} writer;

/* Where a span goes: its resource group and scope group (numbered in order of first
 * appearance) and its index in the batch. */
typedef struct slot {
    uint32_t rg, sg;
    size_t i;
} slot;

static void fail(writer *w, int rc)
{
    if (!w->rc)
        w->rc = rc;
}

static void raw(writer *w, const char *z)
{
    if (!w->rc)
        w->rc = osp_buf_puts(w->out, z);
}

static void str(writer *w, osp_str s)
{
    if (!w->rc)
        w->rc = osp_buf_json_str(w->out, s.p, s.n);
}

/* Starts member `name` of an object that has *n members so far. */
static void key(writer *w, int *n, const char *name)
{
    if ((*n)++)
        raw(w, ",");
    raw(w, "\"");
    raw(w, name);
    raw(w, "\":");
}

/* A string member, omitted when empty. */
static void str_member(writer *w, int *n, const char *name, osp_str s)
{
    if (s.n == 0)
        return;
    key(w, n, name);
    str(w, s);
}

/* A 32-bit integer member as a JSON number, omitted when zero. */
static void num_member(writer *w, int *n, const char *name, int64_t v)
{
    if (v == 0)
        return;
    key(w, n, name);
    if (!w->rc)
        w->rc = osp_buf_printf(w->out, "%" PRId64, v);
}

/* A 64-bit unsigned member as a decimal string, omitted when zero. */
static void u64_member(writer *w, int *n, const char *name, uint64_t v)
{
    if (v == 0)
        return;
    key(w, n, name);
    if (!w->rc)
        w->rc = osp_buf_printf(w->out, "\"%" PRIu64 "\"", v);
}

/* An id member as lowercase hex. */
static void hex_member(writer *w, int *n, const char *name, const uint8_t *id, size_t len)
{
    char hex[32];
    assert(len <= sizeof hex / 2);
    osp_hex_encode(id, len, hex);
    key(w, n, name);
    raw(w, "\"");
    if (!w->rc)
        w->rc = osp_buf_append(w->out, hex, 2 * len);
    raw(w, "\"");
}

/* A value's text form (osp_value_to_text), quoted when asked. */
static void text(writer *w, const osp_value *v, int quoted)
{
    if (quoted)
        raw(w, "\"");
    if (!w->rc)
        w->rc = osp_value_to_text(v, w->out);
    if (quoted)
        raw(w, "\"");
}

static void attrs_member(writer *w, int *n, const char *name, osp_str attrs, int depth);

/* An AnyValue object at nesting depth (1 = an attribute's value). */
static void anyvalue(writer *w, const osp_value *v, int depth)
{
    osp_array_iter it;
    osp_value e;
    int n = 0, more, elems = 0;
    if (depth > OSP_MAX_ANYVALUE_DEPTH) {
        fail(w, OSP_ECORRUPT); /* the decoders never store deeper values */
        return;
    }
    raw(w, "{");
    switch (v->type) {
    case OSP_VAL_EMPTY:
        break;
    case OSP_VAL_STRING:
        key(w, &n, "stringValue");
        str(w, v->s);
        break;
    case OSP_VAL_BOOL:
        key(w, &n, "boolValue");
        text(w, v, 0);
        break;
    case OSP_VAL_INT:
        key(w, &n, "intValue");
        text(w, v, 1);
        break;
    case OSP_VAL_DOUBLE:
        key(w, &n, "doubleValue");
        text(w, v, !isfinite(v->d)); /* "NaN", "Infinity", "-Infinity" */
        break;
    case OSP_VAL_BYTES:
        key(w, &n, "bytesValue");
        text(w, v, 1);
        break;
    case OSP_VAL_ARRAY:
        key(w, &n, "arrayValue");
        raw(w, "{");
        osp_array_iter_init(&it, v->s);
        while (!w->rc && (more = osp_array_next(&it, &e)) != 0) {
            if (more < 0) {
                fail(w, OSP_ECORRUPT);
                break;
            }
            raw(w, elems++ ? "," : "\"values\":[");
            anyvalue(w, &e, depth + 1);
        }
        raw(w, elems ? "]}" : "}");
        break;
    case OSP_VAL_KVLIST:
        key(w, &n, "kvlistValue");
        raw(w, "{");
        attrs_member(w, &elems, "values", v->s, depth + 1);
        raw(w, "}");
        break;
    }
    raw(w, "}");
}

/* A KeyValue array member, omitted when the blob is empty; values at depth. */
static void attrs_member(writer *w, int *n, const char *name, osp_str attrs, int depth)
{
    osp_attr_iter it;
    osp_str k;
    osp_value v;
    int more, count = 0;
    if (attrs.n == 0)
        return;
    key(w, n, name);
    raw(w, "[");
    osp_attr_iter_init(&it, attrs);
    while (!w->rc && (more = osp_attr_next(&it, &k, &v)) != 0) {
        int m = 0;
        if (more < 0) {
            fail(w, OSP_ECORRUPT);
            break;
        }
        raw(w, count++ ? ",{" : "{");
        str_member(w, &m, "key", k);
        key(w, &m, "value");
        anyvalue(w, &v, depth);
        raw(w, "}");
    }
    raw(w, "]");
}

static void entity_refs_member(writer *w, int *n, osp_str refs)
{
    osp_blob_iter it, keys;
    osp_entity_ref er;
    osp_str k;
    int more = 0, count = 0, description;
    if (refs.n == 0)
        return;
    key(w, n, "entityRefs");
    raw(w, "[");
    osp_blob_iter_init(&it, refs);
    while (!w->rc && (more = osp_entity_refs_next(&it, &er)) == 1) {
        int m = 0, nkeys[2] = {0, 0};
        raw(w, count++ ? ",{" : "{");
        str_member(w, &m, "schemaUrl", er.schema_url);
        str_member(w, &m, "type", er.type);
        osp_blob_iter_init(&keys, er.keys);
        while (!w->rc && (more = osp_entity_ref_next_key(&keys, &k, &description)) == 1) {
            if (!description && nkeys[1]) {
                fail(w, OSP_ECORRUPT); /* id keys come first */
                break;
            }
            if (nkeys[description]++ == 0) {
                if (description && nkeys[0])
                    raw(w, "]");
                key(w, &m, description ? "descriptionKeys" : "idKeys");
                raw(w, "[");
            } else {
                raw(w, ",");
            }
            str(w, k);
        }
        if (more < 0)
            fail(w, OSP_ECORRUPT);
        if (nkeys[0] || nkeys[1])
            raw(w, "]");
        raw(w, "}");
    }
    if (more < 0)
        fail(w, OSP_ECORRUPT);
    raw(w, "]");
}

static void resource(writer *w, const osp_resource *r)
{
    int n = 0;
    raw(w, "{\"resource\":{");
    attrs_member(w, &n, "attributes", r->attributes, 1);
    num_member(w, &n, "droppedAttributesCount", r->dropped_attributes);
    entity_refs_member(w, &n, r->entity_refs);
    raw(w, "},\"scopeSpans\":[");
}

static void scope(writer *w, const osp_scope *s)
{
    int n = 0;
    raw(w, "{\"scope\":{");
    str_member(w, &n, "name", s->name);
    str_member(w, &n, "version", s->version);
    attrs_member(w, &n, "attributes", s->attributes, 1);
    num_member(w, &n, "droppedAttributesCount", s->dropped_attributes);
    raw(w, "},\"spans\":[");
}

/* Closes a ScopeSpans or ResourceSpans: its list, then its schemaUrl. */
static void close_group(writer *w, osp_str schema_url)
{
    int n = 1;
    raw(w, "]");
    str_member(w, &n, "schemaUrl", schema_url);
    raw(w, "}");
}

static void events_member(writer *w, int *n, osp_str events)
{
    osp_blob_iter it;
    osp_event ev;
    int more = 0, count = 0;
    if (events.n == 0)
        return;
    key(w, n, "events");
    raw(w, "[");
    osp_blob_iter_init(&it, events);
    while (!w->rc && (more = osp_events_next(&it, &ev)) == 1) {
        int m = 0;
        raw(w, count++ ? ",{" : "{");
        u64_member(w, &m, "timeUnixNano", ev.time_ns);
        str_member(w, &m, "name", ev.name);
        attrs_member(w, &m, "attributes", ev.attributes, 1);
        num_member(w, &m, "droppedAttributesCount", ev.dropped_attributes);
        raw(w, "}");
    }
    if (more < 0)
        fail(w, OSP_ECORRUPT);
    raw(w, "]");
}

static void links_member(writer *w, int *n, osp_str links)
{
    osp_blob_iter it;
    osp_link ln;
    int more = 0, count = 0;
    if (links.n == 0)
        return;
    key(w, n, "links");
    raw(w, "[");
    osp_blob_iter_init(&it, links);
    while (!w->rc && (more = osp_links_next(&it, &ln)) == 1) {
        int m = 0;
        raw(w, count++ ? ",{" : "{");
        hex_member(w, &m, "traceId", ln.trace_id, sizeof ln.trace_id);
        hex_member(w, &m, "spanId", ln.span_id, sizeof ln.span_id);
        str_member(w, &m, "traceState", ln.trace_state);
        attrs_member(w, &m, "attributes", ln.attributes, 1);
        num_member(w, &m, "droppedAttributesCount", ln.dropped_attributes);
        num_member(w, &m, "flags", ln.flags);
        raw(w, "}");
    }
    if (more < 0)
        fail(w, OSP_ECORRUPT);
    raw(w, "]");
}

static void span(writer *w, const osp_span *s)
{
    static const uint8_t zero[8];
    int n = 0, m = 0;
    raw(w, "{");
    hex_member(w, &n, "traceId", s->trace_id, sizeof s->trace_id);
    hex_member(w, &n, "spanId", s->span_id, sizeof s->span_id);
    str_member(w, &n, "traceState", s->trace_state);
    if (memcmp(s->parent_span_id, zero, sizeof zero) != 0)
        hex_member(w, &n, "parentSpanId", s->parent_span_id, sizeof s->parent_span_id);
    num_member(w, &n, "flags", s->flags);
    str_member(w, &n, "name", s->name);
    num_member(w, &n, "kind", s->kind);
    u64_member(w, &n, "startTimeUnixNano", s->start_ns);
    u64_member(w, &n, "endTimeUnixNano", s->end_ns);
    attrs_member(w, &n, "attributes", s->attributes, 1);
    num_member(w, &n, "droppedAttributesCount", s->dropped_attributes);
    events_member(w, &n, s->events);
    num_member(w, &n, "droppedEventsCount", s->dropped_events);
    links_member(w, &n, s->links);
    num_member(w, &n, "droppedLinksCount", s->dropped_links);
    key(w, &n, "status");
    raw(w, "{");
    str_member(w, &m, "message", s->status_message);
    num_member(w, &m, "code", s->status_code);
    raw(w, "}}");
}

static int cmp_slot(const void *pa, const void *pb)
{
    const slot *a = pa, *b = pb;
    if (a->rg != b->rg)
        return a->rg < b->rg ? -1 : 1;
    if (a->sg != b->sg)
        return a->sg < b->sg ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* Numbers the resource rows (is_scope 0) or scope rows (1) by content: rows with equal
 * contents get the same group, groups are numbered in order of first use by a span. */
static int number_groups(const osp_span_batch *b, int is_scope, uint32_t *group, uint32_t *rep)
{
    size_t nrows = is_scope ? b->nscopes : b->nresources;
    uint32_t ngroups = 0;
    for (size_t r = 0; r < nrows; r++)
        group[r] = UINT32_MAX;
    for (size_t i = 0; i < b->nspans; i++) {
        uint32_t r = is_scope ? b->spans[i].scope : b->spans[i].resource;
        if (r >= nrows)
            return OSP_EINVAL;
        for (uint32_t g = 0; g < ngroups && group[r] == UINT32_MAX; g++)
            if (is_scope ? osp_scope_equal(&b->scopes[rep[g]], &b->scopes[r])
                         : osp_resource_equal(&b->resources[rep[g]], &b->resources[r]))
                group[r] = g;
        if (group[r] == UINT32_MAX) {
            rep[ngroups] = r;
            group[r] = ngroups++;
        }
    }
    return 0;
}

int osp_otlp_traces_encode_json(const osp_span_batch *b, osp_buf *out)
{
    writer w = {.out = out};
    size_t start = out->len, nrows = b->nresources + b->nscopes;
    uint32_t *rows = osp_malloc((2 * nrows + 1) * sizeof *rows);
    slot *slots = osp_malloc((b->nspans + 1) * sizeof *slots);
    uint32_t *rgroup = rows, *rrep = rows + b->nresources;
    uint32_t *sgroup = rows + 2 * b->nresources, *srep = sgroup + b->nscopes;
    if (!rows || !slots) {
        w.rc = OSP_ENOMEM;
        goto out;
    }
    if ((w.rc = number_groups(b, 0, rgroup, rrep)) != 0 ||
        (w.rc = number_groups(b, 1, sgroup, srep)) != 0)
        goto out;
    for (size_t i = 0; i < b->nspans; i++)
        slots[i] = (slot){rgroup[b->spans[i].resource], sgroup[b->spans[i].scope], i};
    qsort(slots, b->nspans, sizeof *slots, cmp_slot);

    raw(&w, "{\"resourceSpans\":[");
    for (size_t k = 0; k < b->nspans && !w.rc;) {
        const osp_span *first = &b->spans[slots[k].i];
        const osp_resource *r = &b->resources[first->resource];
        uint32_t rg = slots[k].rg;
        if (k)
            raw(&w, ",");
        resource(&w, r);
        for (int nscopes = 0; k < b->nspans && slots[k].rg == rg && !w.rc; nscopes++) {
            const osp_scope *s = &b->scopes[b->spans[slots[k].i].scope];
            uint32_t sg = slots[k].sg;
            if (nscopes)
                raw(&w, ",");
            scope(&w, s);
            for (int nspans = 0; k < b->nspans && slots[k].rg == rg && slots[k].sg == sg;
                 k++, nspans++) {
                if (nspans)
                    raw(&w, ",");
                span(&w, &b->spans[slots[k].i]);
            }
            close_group(&w, s->schema_url);
        }
        close_group(&w, r->schema_url);
    }
    raw(&w, "]}");
out:
    if (w.rc)
        out->len = start; /* nothing half-written */
    osp_free(rows);
    osp_free(slots);
    return w.rc;
}
