/* Canonical trace rows: span batches and the events, links and entity-ref blobs.
 *
 * Canonical blob encodings (the storage format of these columns; protobuf wire format,
 * fields in the order listed, fields holding their default omitted unless said otherwise,
 * minimal varints, so equal data gives equal bytes). Each blob is a sequence of records
 * "tag 0x0A (field 1, LEN), length, message":
 *
 *   events blob, message = Event in Osprey form:
 *     1  time_unix_nano            fixed64  (tag 0x09)
 *     2  name                      bytes    (tag 0x12)
 *     3  attributes                LEN      (tag 0x1A) one field holding a whole attrs
 *                                           blob (see attr.c), unlike OTLP's repeated field
 *     4  dropped_attributes_count  varint   (tag 0x20)
 *
 *   links blob, message = Link in Osprey form:
 *     1  trace_id                  16 bytes (tag 0x0A) always written
 *     2  span_id                   8 bytes  (tag 0x12) always written
 *     3  trace_state               bytes    (tag 0x1A)
 *     4  attributes                LEN      (tag 0x22) one field holding an attrs blob
 *     5  dropped_attributes_count  varint   (tag 0x28)
 *     6  flags                     fixed32  (tag 0x35)
 *
 *   entity refs blob, message = OTLP EntityRef:
 *     1  schema_url                bytes    (tag 0x0A)
 *     2  type                      bytes    (tag 0x12)
 *     3  id_keys                   bytes    (tag 0x1A) one field per key, in order,
 *                                           empty keys written
 *     4  description_keys          bytes    (tag 0x22) likewise, after all id keys
 *
 * Batches: rows live in arrays that grow by doubling; copied slices live in the batch's
 * arena. A zero-length slice may have a NULL pointer. */
#include "model/span.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"

#define INITIAL_ROWS 16

void osp_span_batch_init(osp_span_batch *b)
{
    memset(b, 0, sizeof *b);
    osp_arena_init(&b->arena, 0, 0);
}

void osp_span_batch_cleanup(osp_span_batch *b)
{
    osp_free(b->resources);
    osp_free(b->scopes);
    osp_free(b->spans);
    osp_arena_cleanup(&b->arena);
    osp_span_batch_init(b);
}

void osp_span_batch_reset(osp_span_batch *b)
{
    osp_span_batch_cleanup(b);
}

/* Doubles an array's capacity; returns the new array or NULL (old one untouched). */
static void *grow(void *arr, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : INITIAL_ROWS;
    if (ncap > SIZE_MAX / elem)
        return NULL;
    void *p = osp_realloc(arr, ncap * elem);
    if (p)
        *cap = ncap;
    return p;
}

osp_resource *osp_span_batch_add_resource(osp_span_batch *b)
{
    if (b->nresources == b->resources_cap) {
        osp_resource *a = grow(b->resources, &b->resources_cap, sizeof *a);
        if (!a)
            return NULL;
        b->resources = a;
    }
    osp_resource *r = &b->resources[b->nresources++];
    memset(r, 0, sizeof *r);
    return r;
}

osp_scope *osp_span_batch_add_scope(osp_span_batch *b)
{
    if (b->nscopes == b->scopes_cap) {
        osp_scope *a = grow(b->scopes, &b->scopes_cap, sizeof *a);
        if (!a)
            return NULL;
        b->scopes = a;
    }
    osp_scope *s = &b->scopes[b->nscopes++];
    memset(s, 0, sizeof *s);
    return s;
}

osp_span *osp_span_batch_add_span(osp_span_batch *b)
{
    if (b->nspans == b->spans_cap) {
        osp_span *a = grow(b->spans, &b->spans_cap, sizeof *a);
        if (!a)
            return NULL;
        b->spans = a;
    }
    osp_span *s = &b->spans[b->nspans++];
    memset(s, 0, sizeof *s);
    return s;
}

int osp_resource_equal(const osp_resource *a, const osp_resource *b)
{
    return osp_str_eq(a->attributes, b->attributes) &&
           a->dropped_attributes == b->dropped_attributes &&
           osp_str_eq(a->entity_refs, b->entity_refs) && osp_str_eq(a->schema_url, b->schema_url) &&
           osp_str_eq(a->service_name, b->service_name);
}

int osp_scope_equal(const osp_scope *a, const osp_scope *b)
{
    return osp_str_eq(a->name, b->name) && osp_str_eq(a->version, b->version) &&
           osp_str_eq(a->attributes, b->attributes) &&
           a->dropped_attributes == b->dropped_attributes &&
           osp_str_eq(a->schema_url, b->schema_url);
}

/* Points *s at a copy of its bytes at *cur and advances *cur. */
static void relocate(osp_str *s, char **cur)
{
    if (s->n == 0) {
        *s = OSP_STR_NULL;
        return;
    }
    memcpy(*cur, s->p, s->n);
    s->p = *cur;
    *cur += s->n;
}

int osp_span_batch_copy_span(osp_span_batch *dst, const osp_span_batch *src, size_t i)
{
    assert(i < src->nspans);
    osp_span sp = src->spans[i];
    osp_resource res = src->resources[sp.resource];
    osp_scope sc = src->scopes[sp.scope];
    int new_res =
        !(dst->nresources && osp_resource_equal(&dst->resources[dst->nresources - 1], &res));
    int new_sc = !(dst->nscopes && osp_scope_equal(&dst->scopes[dst->nscopes - 1], &sc));
    osp_str *slices[14];
    size_t n = 0, total = 0;
    slices[n++] = &sp.name;
    slices[n++] = &sp.trace_state;
    slices[n++] = &sp.status_message;
    slices[n++] = &sp.attributes;
    slices[n++] = &sp.events;
    slices[n++] = &sp.links;
    if (new_res) {
        slices[n++] = &res.attributes;
        slices[n++] = &res.entity_refs;
        slices[n++] = &res.schema_url;
        slices[n++] = &res.service_name;
    }
    if (new_sc) {
        slices[n++] = &sc.name;
        slices[n++] = &sc.version;
        slices[n++] = &sc.attributes;
        slices[n++] = &sc.schema_url;
    }
    for (size_t k = 0; k < n; k++)
        total += slices[k]->n;
    char *cur = osp_arena_alloc(&dst->arena, total ? total : 1);
    if (!cur)
        return OSP_ENOMEM;
    for (size_t k = 0; k < n; k++)
        relocate(slices[k], &cur);

    int rc = OSP_ENOMEM;
    osp_resource *r = NULL;
    osp_scope *s = NULL;
    osp_span *d = NULL;
    if (new_res && !(r = osp_span_batch_add_resource(dst)))
        goto out;
    if (new_sc && !(s = osp_span_batch_add_scope(dst)))
        goto out;
    if (!(d = osp_span_batch_add_span(dst)))
        goto out;
    if (r)
        *r = res;
    if (s)
        *s = sc;
    *d = sp;
    d->resource = (uint32_t)(dst->nresources - 1);
    d->scope = (uint32_t)(dst->nscopes - 1);
    rc = 0;
out:
    if (rc) { /* leave dst as it was (the arena bytes are simply unused) */
        dst->nscopes -= s != NULL;
        dst->nresources -= r != NULL;
    }
    return rc;
}

int osp_span_equal(const osp_span_batch *a, size_t ia, const osp_span_batch *b, size_t ib)
{
    const osp_span *x = &a->spans[ia], *y = &b->spans[ib];
    return memcmp(x->trace_id, y->trace_id, 16) == 0 && memcmp(x->span_id, y->span_id, 8) == 0 &&
           memcmp(x->parent_span_id, y->parent_span_id, 8) == 0 && x->start_ns == y->start_ns &&
           x->end_ns == y->end_ns && x->flags == y->flags && x->kind == y->kind &&
           x->status_code == y->status_code && x->dropped_attributes == y->dropped_attributes &&
           x->dropped_events == y->dropped_events && x->dropped_links == y->dropped_links &&
           osp_str_eq(x->name, y->name) && osp_str_eq(x->trace_state, y->trace_state) &&
           osp_str_eq(x->status_message, y->status_message) &&
           osp_str_eq(x->attributes, y->attributes) && osp_str_eq(x->events, y->events) &&
           osp_str_eq(x->links, y->links) &&
           osp_resource_equal(&a->resources[x->resource], &b->resources[y->resource]) &&
           osp_scope_equal(&a->scopes[x->scope], &b->scopes[y->scope]);
}

void osp_blob_iter_init(osp_blob_iter *it, osp_str blob)
{
    it->p = blob.n ? (const uint8_t *)blob.p : (const uint8_t *)"";
    it->end = it->p + blob.n;
}

/* Reads the next field from the iterator: 1, 0 at the end, OSP_ECORRUPT. */
static int next_field(osp_blob_iter *it, osp_pb_field *f)
{
    osp_pb_reader r = osp_pb_reader_make(it->p, (size_t)(it->end - it->p));
    int rc = osp_pb_next(&r, f);
    it->p = r.p;
    return rc < 0 ? OSP_ECORRUPT : rc;
}

/* Reads the next field-1 record of a blob and opens an iterator over its body. */
static int next_record(osp_blob_iter *it, osp_blob_iter *rec)
{
    osp_pb_field f;
    int rc = next_field(it, &f);
    if (rc <= 0)
        return rc;
    if (f.num != 1 || f.wire != OSP_PB_LEN)
        return OSP_ECORRUPT;
    osp_blob_iter_init(rec, f.bytes);
    return 1;
}

/* Reads the next field of a record, checking it against the expected wire types
 * (wires[num - 1] for num in 1..nwires). */
static int next_member(osp_blob_iter *rec, osp_pb_field *f, const enum osp_pb_wire *wires,
                       uint32_t nwires)
{
    int rc = next_field(rec, f);
    if (rc == 1 && (f->num > nwires || f->wire != wires[f->num - 1]))
        return OSP_ECORRUPT;
    return rc;
}

int osp_events_next(osp_blob_iter *it, osp_event *ev)
{
    static const enum osp_pb_wire wires[] = {OSP_PB_I64, OSP_PB_LEN, OSP_PB_LEN, OSP_PB_VARINT};
    osp_blob_iter rec;
    osp_pb_field f;
    int rc = next_record(it, &rec);
    if (rc <= 0)
        return rc;
    memset(ev, 0, sizeof *ev);
    while ((rc = next_member(&rec, &f, wires, 4)) == 1) {
        switch (f.num) {
        case 1:
            ev->time_ns = f.u64;
            break;
        case 2:
            ev->name = f.bytes;
            break;
        case 3:
            ev->attributes = f.bytes;
            break;
        default:
            ev->dropped_attributes = (uint32_t)f.u64;
            break;
        }
    }
    return rc < 0 ? rc : 1;
}

int osp_links_next(osp_blob_iter *it, osp_link *ln)
{
    static const enum osp_pb_wire wires[] = {OSP_PB_LEN, OSP_PB_LEN,    OSP_PB_LEN,
                                             OSP_PB_LEN, OSP_PB_VARINT, OSP_PB_I32};
    osp_blob_iter rec;
    osp_pb_field f;
    int rc = next_record(it, &rec);
    if (rc <= 0)
        return rc;
    memset(ln, 0, sizeof *ln);
    while ((rc = next_member(&rec, &f, wires, 6)) == 1) {
        switch (f.num) {
        case 1:
            if (f.bytes.n != sizeof ln->trace_id)
                return OSP_ECORRUPT;
            memcpy(ln->trace_id, f.bytes.p, sizeof ln->trace_id);
            break;
        case 2:
            if (f.bytes.n != sizeof ln->span_id)
                return OSP_ECORRUPT;
            memcpy(ln->span_id, f.bytes.p, sizeof ln->span_id);
            break;
        case 3:
            ln->trace_state = f.bytes;
            break;
        case 4:
            ln->attributes = f.bytes;
            break;
        case 5:
            ln->dropped_attributes = (uint32_t)f.u64;
            break;
        default:
            ln->flags = (uint32_t)f.u64;
            break;
        }
    }
    return rc < 0 ? rc : 1;
}

int osp_events_append(osp_buf *events, const osp_event *ev)
{
    size_t mark;
    int rc = osp_pb_begin(events, 1, &mark);
    if (rc == 0 && ev->time_ns)
        rc = osp_pb_put_fixed64(events, 1, ev->time_ns);
    if (rc == 0 && ev->name.n)
        rc = osp_pb_put_str(events, 2, ev->name);
    if (rc == 0 && ev->attributes.n)
        rc = osp_pb_put_str(events, 3, ev->attributes);
    if (rc == 0 && ev->dropped_attributes)
        rc = osp_pb_put_uint(events, 4, ev->dropped_attributes);
    return rc ? rc : osp_pb_end(events, mark);
}

int osp_links_append(osp_buf *links, const osp_link *ln)
{
    size_t mark;
    int rc = osp_pb_begin(links, 1, &mark);
    if (rc == 0)
        rc = osp_pb_put_bytes(links, 1, ln->trace_id, sizeof ln->trace_id);
    if (rc == 0)
        rc = osp_pb_put_bytes(links, 2, ln->span_id, sizeof ln->span_id);
    if (rc == 0 && ln->trace_state.n)
        rc = osp_pb_put_str(links, 3, ln->trace_state);
    if (rc == 0 && ln->attributes.n)
        rc = osp_pb_put_str(links, 4, ln->attributes);
    if (rc == 0 && ln->dropped_attributes)
        rc = osp_pb_put_uint(links, 5, ln->dropped_attributes);
    if (rc == 0 && ln->flags)
        rc = osp_pb_put_fixed32(links, 6, ln->flags);
    return rc ? rc : osp_pb_end(links, mark);
}

size_t osp_events_count(osp_str events)
{
    osp_blob_iter it;
    osp_event ev;
    size_t n = 0;
    int rc;
    osp_blob_iter_init(&it, events);
    while ((rc = osp_events_next(&it, &ev)) == 1)
        n++;
    return rc < 0 ? 0 : n;
}

size_t osp_links_count(osp_str links)
{
    osp_blob_iter it;
    osp_link ln;
    size_t n = 0;
    int rc;
    osp_blob_iter_init(&it, links);
    while ((rc = osp_links_next(&it, &ln)) == 1)
        n++;
    return rc < 0 ? 0 : n;
}

int osp_entity_refs_next(osp_blob_iter *it, osp_entity_ref *er)
{
    static const enum osp_pb_wire wires[] = {OSP_PB_LEN, OSP_PB_LEN, OSP_PB_LEN, OSP_PB_LEN};
    osp_blob_iter rec;
    osp_pb_field f;
    int rc = next_record(it, &rec);
    if (rc <= 0)
        return rc;
    memset(er, 0, sizeof *er);
    const uint8_t *keys = rec.end;
    for (const uint8_t *at = rec.p; (rc = next_member(&rec, &f, wires, 4)) == 1; at = rec.p) {
        if (f.num >= 3 && keys == rec.end)
            keys = at;
        else if (f.num < 3 && keys != rec.end)
            return OSP_ECORRUPT; /* schema_url or type after a key */
        if (f.num == 1)
            er->schema_url = f.bytes;
        else if (f.num == 2)
            er->type = f.bytes;
    }
    er->keys = osp_str_make((const char *)keys, (size_t)(rec.end - keys));
    return rc < 0 ? rc : 1;
}

int osp_entity_ref_next_key(osp_blob_iter *it, osp_str *key, int *description)
{
    osp_pb_field f;
    int rc = next_field(it, &f);
    if (rc <= 0)
        return rc;
    if ((f.num != 3 && f.num != 4) || f.wire != OSP_PB_LEN)
        return OSP_ECORRUPT;
    *key = f.bytes;
    *description = f.num == 4;
    return 1;
}

int osp_entity_ref_begin(osp_buf *refs, osp_str schema_url, osp_str type, size_t *mark)
{
    int rc = osp_pb_begin(refs, 1, mark);
    if (rc == 0 && schema_url.n)
        rc = osp_pb_put_str(refs, 1, schema_url);
    if (rc == 0 && type.n)
        rc = osp_pb_put_str(refs, 2, type);
    return rc;
}

int osp_entity_ref_add_key(osp_buf *refs, int description, osp_str key)
{
    return osp_pb_put_str(refs, description ? 4 : 3, key);
}

int osp_entity_ref_end(osp_buf *refs, size_t mark)
{
    return osp_pb_end(refs, mark);
}
