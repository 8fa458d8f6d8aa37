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
#include "proto/otlp_int.h"
#include "proto/otlp_json_int.h"

/* Where a row goes: its resource group and scope group (numbered in order of first
 * appearance), its index in the batch, and the key it is sorted by within its resource
 * group: first the scope group, then the index of the scope group's first row there
 * (scopes are listed within a resource in that order, so that encoding what was decoded
 * gives the same text again). */
typedef struct slot {
    uint32_t rg, sg;
    size_t i, order;
} slot;

void osp__ojw_fail(osp__ojw *w, int rc)
{
    if (!w->rc)
        w->rc = rc;
}

void osp__ojw_raw(osp__ojw *w, const char *z)
{
    if (!w->rc)
        w->rc = osp_buf_puts(w->out, z);
}

void osp__ojw_str(osp__ojw *w, osp_str s)
{
    if (!w->rc)
        w->rc = osp_buf_json_str(w->out, s.p, s.n);
}

/* Starts member `name` of an object that has *n members so far. */
void osp__ojw_key(osp__ojw *w, int *n, const char *name)
{
    if ((*n)++)
        osp__ojw_raw(w, ",");
    osp__ojw_raw(w, "\"");
    osp__ojw_raw(w, name);
    osp__ojw_raw(w, "\":");
}

/* A string member, omitted when empty. */
void osp__ojw_str_member(osp__ojw *w, int *n, const char *name, osp_str s)
{
    if (s.n == 0)
        return;
    osp__ojw_key(w, n, name);
    osp__ojw_str(w, s);
}

/* A 32-bit integer member as a JSON number, omitted when zero. */
void osp__ojw_num_member(osp__ojw *w, int *n, const char *name, int64_t v)
{
    if (v == 0)
        return;
    osp__ojw_key(w, n, name);
    if (!w->rc)
        w->rc = osp_buf_printf(w->out, "%" PRId64, v);
}

/* A 64-bit unsigned member as a decimal string, omitted when zero. */
void osp__ojw_u64_member(osp__ojw *w, int *n, const char *name, uint64_t v)
{
    if (v == 0)
        return;
    osp__ojw_key(w, n, name);
    if (!w->rc)
        w->rc = osp_buf_printf(w->out, "\"%" PRIu64 "\"", v);
}

/* An id member as lowercase hex. */
void osp__ojw_hex_member(osp__ojw *w, int *n, const char *name, const uint8_t *id, size_t len)
{
    char hex[32];
    assert(len <= sizeof hex / 2);
    osp_hex_encode(id, len, hex);
    osp__ojw_key(w, n, name);
    osp__ojw_raw(w, "\"");
    if (!w->rc)
        w->rc = osp_buf_append(w->out, hex, 2 * len);
    osp__ojw_raw(w, "\"");
}

/* A value's text form (osp_value_to_text), quoted when asked. */
static void text(osp__ojw *w, const osp_value *v, int quoted)
{
    if (quoted)
        osp__ojw_raw(w, "\"");
    if (!w->rc)
        w->rc = osp_value_to_text(v, w->out);
    if (quoted)
        osp__ojw_raw(w, "\"");
}

/* An AnyValue object at nesting depth (1 = an attribute's value). */
void osp__ojw_anyvalue(osp__ojw *w, const osp_value *v, int depth)
{
    osp_array_iter it;
    osp_value e;
    int n = 0, more, elems = 0;
    if (depth > OSP_MAX_ANYVALUE_DEPTH) {
        osp__ojw_fail(w, OSP_ECORRUPT); /* the decoders never store deeper values */
        return;
    }
    osp__ojw_raw(w, "{");
    switch (v->type) {
    case OSP_VAL_EMPTY:
        break;
    case OSP_VAL_STRING:
        osp__ojw_key(w, &n, "stringValue");
        osp__ojw_str(w, v->s);
        break;
    case OSP_VAL_BOOL:
        osp__ojw_key(w, &n, "boolValue");
        text(w, v, 0);
        break;
    case OSP_VAL_INT:
        osp__ojw_key(w, &n, "intValue");
        text(w, v, 1);
        break;
    case OSP_VAL_DOUBLE:
        osp__ojw_key(w, &n, "doubleValue");
        text(w, v, !isfinite(v->d)); /* "NaN", "Infinity", "-Infinity" */
        break;
    case OSP_VAL_BYTES:
        osp__ojw_key(w, &n, "bytesValue");
        text(w, v, 1);
        break;
    case OSP_VAL_ARRAY:
        osp__ojw_key(w, &n, "arrayValue");
        osp__ojw_raw(w, "{");
        osp_array_iter_init(&it, v->s);
        while (!w->rc && (more = osp_array_next(&it, &e)) != 0) {
            if (more < 0) {
                osp__ojw_fail(w, OSP_ECORRUPT);
                break;
            }
            osp__ojw_raw(w, elems++ ? "," : "\"values\":[");
            osp__ojw_anyvalue(w, &e, depth + 1);
        }
        osp__ojw_raw(w, elems ? "]}" : "}");
        break;
    case OSP_VAL_KVLIST:
        osp__ojw_key(w, &n, "kvlistValue");
        osp__ojw_raw(w, "{");
        osp__ojw_attrs_member(w, &elems, "values", v->s, depth + 1);
        osp__ojw_raw(w, "}");
        break;
    }
    osp__ojw_raw(w, "}");
}

/* A KeyValue array member, omitted when the blob is empty; values at depth. */
void osp__ojw_attrs_member(osp__ojw *w, int *n, const char *name, osp_str attrs, int depth)
{
    osp_attr_iter it;
    osp_str k;
    osp_value v;
    int more, count = 0;
    if (attrs.n == 0)
        return;
    osp__ojw_key(w, n, name);
    osp__ojw_raw(w, "[");
    osp_attr_iter_init(&it, attrs);
    while (!w->rc && (more = osp_attr_next(&it, &k, &v)) != 0) {
        int m = 0;
        if (more < 0) {
            osp__ojw_fail(w, OSP_ECORRUPT);
            break;
        }
        osp__ojw_raw(w, count++ ? ",{" : "{");
        osp__ojw_str_member(w, &m, "key", k);
        osp__ojw_key(w, &m, "value");
        osp__ojw_anyvalue(w, &v, depth);
        osp__ojw_raw(w, "}");
    }
    osp__ojw_raw(w, "]");
}

static void entity_refs_member(osp__ojw *w, int *n, osp_str refs)
{
    osp_blob_iter it, keys;
    osp_entity_ref er;
    osp_str k;
    int more = 0, count = 0, description;
    if (refs.n == 0)
        return;
    osp__ojw_key(w, n, "entityRefs");
    osp__ojw_raw(w, "[");
    osp_blob_iter_init(&it, refs);
    while (!w->rc && (more = osp_entity_refs_next(&it, &er)) == 1) {
        int m = 0, nkeys[2] = {0, 0};
        osp__ojw_raw(w, count++ ? ",{" : "{");
        osp__ojw_str_member(w, &m, "schemaUrl", er.schema_url);
        osp__ojw_str_member(w, &m, "type", er.type);
        osp_blob_iter_init(&keys, er.keys);
        while (!w->rc && (more = osp_entity_ref_next_key(&keys, &k, &description)) == 1) {
            if (!description && nkeys[1]) {
                osp__ojw_fail(w, OSP_ECORRUPT); /* id keys come first */
                break;
            }
            if (nkeys[description]++ == 0) {
                if (description && nkeys[0])
                    osp__ojw_raw(w, "]");
                osp__ojw_key(w, &m, description ? "descriptionKeys" : "idKeys");
                osp__ojw_raw(w, "[");
            } else {
                osp__ojw_raw(w, ",");
            }
            osp__ojw_str(w, k);
        }
        if (more < 0)
            osp__ojw_fail(w, OSP_ECORRUPT);
        if (nkeys[0] || nkeys[1])
            osp__ojw_raw(w, "]");
        osp__ojw_raw(w, "}");
    }
    if (more < 0)
        osp__ojw_fail(w, OSP_ECORRUPT);
    osp__ojw_raw(w, "]");
}

static void resource(osp__ojw *w, const osp_resource *r, const char *scopes)
{
    int n = 0;
    osp__ojw_raw(w, "{\"resource\":{");
    osp__ojw_attrs_member(w, &n, "attributes", r->attributes, 1);
    osp__ojw_num_member(w, &n, "droppedAttributesCount", r->dropped_attributes);
    entity_refs_member(w, &n, r->entity_refs);
    osp__ojw_raw(w, "},\"");
    osp__ojw_raw(w, scopes);
    osp__ojw_raw(w, "\":[");
}

static void scope(osp__ojw *w, const osp_scope *s, const char *rows)
{
    int n = 0;
    osp__ojw_raw(w, "{\"scope\":{");
    osp__ojw_str_member(w, &n, "name", s->name);
    osp__ojw_str_member(w, &n, "version", s->version);
    osp__ojw_attrs_member(w, &n, "attributes", s->attributes, 1);
    osp__ojw_num_member(w, &n, "droppedAttributesCount", s->dropped_attributes);
    osp__ojw_raw(w, "},\"");
    osp__ojw_raw(w, rows);
    osp__ojw_raw(w, "\":[");
}

/* Closes a Scope* or Resource* object: its list, then its schemaUrl. */
static void close_group(osp__ojw *w, osp_str schema_url)
{
    int n = 1;
    osp__ojw_raw(w, "]");
    osp__ojw_str_member(w, &n, "schemaUrl", schema_url);
    osp__ojw_raw(w, "}");
}

static void events_member(osp__ojw *w, int *n, osp_str events)
{
    osp_blob_iter it;
    osp_event ev;
    int more = 0, count = 0;
    if (events.n == 0)
        return;
    osp__ojw_key(w, n, "events");
    osp__ojw_raw(w, "[");
    osp_blob_iter_init(&it, events);
    while (!w->rc && (more = osp_events_next(&it, &ev)) == 1) {
        int m = 0;
        osp__ojw_raw(w, count++ ? ",{" : "{");
        osp__ojw_u64_member(w, &m, "timeUnixNano", ev.time_ns);
        osp__ojw_str_member(w, &m, "name", ev.name);
        osp__ojw_attrs_member(w, &m, "attributes", ev.attributes, 1);
        osp__ojw_num_member(w, &m, "droppedAttributesCount", ev.dropped_attributes);
        osp__ojw_raw(w, "}");
    }
    if (more < 0)
        osp__ojw_fail(w, OSP_ECORRUPT);
    osp__ojw_raw(w, "]");
}

static void links_member(osp__ojw *w, int *n, osp_str links)
{
    osp_blob_iter it;
    osp_link ln;
    int more = 0, count = 0;
    if (links.n == 0)
        return;
    osp__ojw_key(w, n, "links");
    osp__ojw_raw(w, "[");
    osp_blob_iter_init(&it, links);
    while (!w->rc && (more = osp_links_next(&it, &ln)) == 1) {
        int m = 0;
        osp__ojw_raw(w, count++ ? ",{" : "{");
        osp__ojw_hex_member(w, &m, "traceId", ln.trace_id, sizeof ln.trace_id);
        osp__ojw_hex_member(w, &m, "spanId", ln.span_id, sizeof ln.span_id);
        osp__ojw_str_member(w, &m, "traceState", ln.trace_state);
        osp__ojw_attrs_member(w, &m, "attributes", ln.attributes, 1);
        osp__ojw_num_member(w, &m, "droppedAttributesCount", ln.dropped_attributes);
        osp__ojw_num_member(w, &m, "flags", ln.flags);
        osp__ojw_raw(w, "}");
    }
    if (more < 0)
        osp__ojw_fail(w, OSP_ECORRUPT);
    osp__ojw_raw(w, "]");
}

static void span(osp__ojw *w, const osp_span *s)
{
    static const uint8_t zero[8];
    int n = 0, m = 0;
    osp__ojw_raw(w, "{");
    osp__ojw_hex_member(w, &n, "traceId", s->trace_id, sizeof s->trace_id);
    osp__ojw_hex_member(w, &n, "spanId", s->span_id, sizeof s->span_id);
    osp__ojw_str_member(w, &n, "traceState", s->trace_state);
    if (memcmp(s->parent_span_id, zero, sizeof zero) != 0)
        osp__ojw_hex_member(w, &n, "parentSpanId", s->parent_span_id, sizeof s->parent_span_id);
    osp__ojw_num_member(w, &n, "flags", s->flags);
    osp__ojw_str_member(w, &n, "name", s->name);
    osp__ojw_num_member(w, &n, "kind", s->kind);
    osp__ojw_u64_member(w, &n, "startTimeUnixNano", s->start_ns);
    osp__ojw_u64_member(w, &n, "endTimeUnixNano", s->end_ns);
    osp__ojw_attrs_member(w, &n, "attributes", s->attributes, 1);
    osp__ojw_num_member(w, &n, "droppedAttributesCount", s->dropped_attributes);
    events_member(w, &n, s->events);
    osp__ojw_num_member(w, &n, "droppedEventsCount", s->dropped_events);
    links_member(w, &n, s->links);
    osp__ojw_num_member(w, &n, "droppedLinksCount", s->dropped_links);
    osp__ojw_key(w, &n, "status");
    osp__ojw_raw(w, "{");
    osp__ojw_str_member(w, &m, "message", s->status_message);
    osp__ojw_num_member(w, &m, "code", s->status_code);
    osp__ojw_raw(w, "}}");
}

/* By resource group, order, then batch order. */
static int cmp_slot(const void *pa, const void *pb)
{
    const slot *a = pa, *b = pb;
    if (a->rg != b->rg)
        return a->rg < b->rg ? -1 : 1;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* Numbers the resource rows (is_scope 0) or scope rows (1) by content: rows with equal
 * contents get the same group, groups are numbered in order of first use by a row. */
static int number_groups(const osp__otlp_view *v, int is_scope, uint32_t *group, uint32_t *rep)
{
    size_t nrows = is_scope ? v->nscopes : v->nresources;
    uint32_t ngroups = 0;
    for (size_t r = 0; r < nrows; r++)
        group[r] = UINT32_MAX;
    for (size_t i = 0; i < v->nrows; i++) {
        uint32_t res, sc;
        v->place(v->batch, i, &res, &sc);
        uint32_t r = is_scope ? sc : res;
        if (r >= nrows)
            return OSP_EINVAL;
        for (uint32_t g = 0; g < ngroups && group[r] == UINT32_MAX; g++)
            if (is_scope ? osp_scope_equal(&v->scopes[rep[g]], &v->scopes[r])
                         : osp_resource_equal(&v->resources[rep[g]], &v->resources[r]))
                group[r] = g;
        if (group[r] == UINT32_MAX) {
            rep[ngroups] = r;
            group[r] = ngroups++;
        }
    }
    return 0;
}

int osp__ojw_encode_rows(const osp__otlp_view *v, const char *const lists[3],
                         void (*row)(osp__ojw *w, const void *batch, size_t i), osp_buf *out)
{
    osp__ojw w = {.out = out};
    size_t start = out->len, nrows = v->nresources + v->nscopes;
    uint32_t *rows = osp_malloc((2 * nrows + 1) * sizeof *rows);
    slot *slots = osp_malloc((v->nrows + 1) * sizeof *slots);
    uint32_t *rgroup = rows, *rrep = rows + v->nresources;
    uint32_t *sgroup = rows + 2 * v->nresources, *srep = sgroup + v->nscopes;
    if (!rows || !slots) {
        w.rc = OSP_ENOMEM;
        goto out;
    }
    if ((w.rc = number_groups(v, 0, rgroup, rrep)) != 0 ||
        (w.rc = number_groups(v, 1, sgroup, srep)) != 0)
        goto out;
    for (size_t i = 0; i < v->nrows; i++) {
        uint32_t res, sc;
        v->place(v->batch, i, &res, &sc);
        slots[i] = (slot){rgroup[res], sgroup[sc], i, sgroup[sc]};
    }
    qsort(slots, v->nrows, sizeof *slots, cmp_slot); /* runs of one scope group */
    for (size_t k = 0; k < v->nrows; k++)            /* a run's first row comes first in it */
        slots[k].order = k && slots[k].rg == slots[k - 1].rg && slots[k].sg == slots[k - 1].sg
                             ? slots[k - 1].order
                             : slots[k].i;
    qsort(slots, v->nrows, sizeof *slots, cmp_slot);

    osp__ojw_raw(&w, "{\"");
    osp__ojw_raw(&w, lists[0]);
    osp__ojw_raw(&w, "\":[");
    for (size_t k = 0; k < v->nrows && !w.rc;) {
        uint32_t res, sc, rg = slots[k].rg;
        v->place(v->batch, slots[k].i, &res, &sc);
        const osp_resource *r = &v->resources[res];
        if (k)
            osp__ojw_raw(&w, ",");
        resource(&w, r, lists[1]);
        for (int nscopes = 0; k < v->nrows && slots[k].rg == rg && !w.rc; nscopes++) {
            v->place(v->batch, slots[k].i, &res, &sc);
            const osp_scope *s = &v->scopes[sc];
            uint32_t sg = slots[k].sg;
            if (nscopes)
                osp__ojw_raw(&w, ",");
            scope(&w, s, lists[2]);
            for (int n = 0; k < v->nrows && slots[k].rg == rg && slots[k].sg == sg; k++, n++) {
                if (n)
                    osp__ojw_raw(&w, ",");
                row(&w, v->batch, slots[k].i);
            }
            close_group(&w, s->schema_url);
        }
        close_group(&w, r->schema_url);
    }
    osp__ojw_raw(&w, "]}");
out:
    if (w.rc)
        out->len = start; /* nothing half-written */
    osp_free(rows);
    osp_free(slots);
    return w.rc;
}

static void span_row(osp__ojw *w, const void *b, size_t i)
{
    span(w, &((const osp_span_batch *)b)->spans[i]);
}

int osp_otlp_traces_encode_json(const osp_span_batch *b, osp_buf *out)
{
    static const char *const lists[3] = {"resourceSpans", "scopeSpans", "spans"};
    osp__otlp_view v = osp__otlp_span_view(b);
    return osp__ojw_encode_rows(&v, lists, span_row, out);
}
