/* Canonical trace rows: what both OTLP decoders produce, what the store keeps and what
 * queries return. A batch owns an arena; rows point into it (or, for rows fresh out of a
 * decoder, possibly into the request body, which must outlive the batch's use). */
#ifndef OSP_MODEL_SPAN_H
#define OSP_MODEL_SPAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"

enum osp_span_kind {
    OSP_SPAN_KIND_UNSPECIFIED = 0,
    OSP_SPAN_KIND_INTERNAL = 1,
    OSP_SPAN_KIND_SERVER = 2,
    OSP_SPAN_KIND_CLIENT = 3,
    OSP_SPAN_KIND_PRODUCER = 4,
    OSP_SPAN_KIND_CONSUMER = 5,
};

enum osp_status_code { OSP_STATUS_UNSET = 0, OSP_STATUS_OK = 1, OSP_STATUS_ERROR = 2 };

/* Resource of a ResourceSpans. */
typedef struct osp_resource {
    osp_str attributes;          /* attrs blob */
    uint32_t dropped_attributes; /* Resource.dropped_attributes_count */
    osp_str entity_refs;         /* canonical EntityRef records (field 1 each), usually empty */
    osp_str schema_url;          /* ResourceSpans.schema_url */
    osp_str service_name;        /* service.name string value, "" when absent */
} osp_resource;

/* InstrumentationScope of a ScopeSpans. */
typedef struct osp_scope {
    osp_str name, version;
    osp_str attributes; /* attrs blob */
    uint32_t dropped_attributes;
    osp_str schema_url; /* ScopeSpans.schema_url */
} osp_scope;

typedef struct osp_event {
    uint64_t time_ns;
    osp_str name;
    osp_str attributes; /* attrs blob */
    uint32_t dropped_attributes;
} osp_event;

typedef struct osp_link {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    osp_str trace_state;
    osp_str attributes; /* attrs blob */
    uint32_t dropped_attributes;
    uint32_t flags;
} osp_link;

typedef struct osp_span {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8]; /* all zero for a root span */
    uint64_t start_ns, end_ns;
    uint32_t flags; /* W3C trace flags + is-remote bits, as received */
    int32_t kind;   /* enum osp_span_kind; unknown values kept as received */
    int32_t status_code;
    uint32_t dropped_attributes, dropped_events, dropped_links;
    osp_str name, trace_state, status_message;
    osp_str attributes; /* attrs blob */
    osp_str events;     /* events blob: see osp_events_* */
    osp_str links;      /* links blob: see osp_links_* */
    uint32_t resource;  /* index into the batch's resources */
    uint32_t scope;     /* index into the batch's scopes */
} osp_span;

typedef struct osp_span_batch {
    osp_arena arena; /* owns rows' bytes that were copied in */
    osp_resource *resources;
    size_t nresources, resources_cap;
    osp_scope *scopes;
    size_t nscopes, scopes_cap;
    osp_span *spans;
    size_t nspans, spans_cap;
} osp_span_batch;

/* Initializes an empty batch. */
void osp_span_batch_init(osp_span_batch *b);
/* Frees the arrays and the arena. */
void osp_span_batch_cleanup(osp_span_batch *b);
/* Empties the batch, keeping nothing. */
void osp_span_batch_reset(osp_span_batch *b);
/* Adds a zeroed row and returns it (NULL when out of memory). The pointer is valid until
 * the next add of the same kind; use the index (n - 1) to refer to it later. */
osp_resource *osp_span_batch_add_resource(osp_span_batch *b);
osp_scope *osp_span_batch_add_scope(osp_span_batch *b);
osp_span *osp_span_batch_add_span(osp_span_batch *b);
/* Copies span `i` of src, with its resource and scope, into dst (deep copy into dst's
 * arena; resources and scopes are de-duplicated against the last one added).
 * 0 or OSP_ENOMEM. */
int osp_span_batch_copy_span(osp_span_batch *dst, const osp_span_batch *src, size_t i);

/* Events blob: a sequence of canonical Event records. */
typedef struct osp_blob_iter {
    const uint8_t *p, *end;
} osp_blob_iter;
void osp_blob_iter_init(osp_blob_iter *it, osp_str blob);
/* 1 with the next element, 0 at the end, OSP_ECORRUPT on bad bytes. */
int osp_events_next(osp_blob_iter *it, osp_event *ev);
int osp_links_next(osp_blob_iter *it, osp_link *ln);
/* Append one element to a blob being built. 0 or buffer error. */
int osp_events_append(osp_buf *events, const osp_event *ev);
int osp_links_append(osp_buf *links, const osp_link *ln);

/* Number of elements in a blob (0 if corrupt). */
size_t osp_events_count(osp_str events);
size_t osp_links_count(osp_str links);

/* Entity refs blob (osp_resource.entity_refs): canonical EntityRef records, see span.c. */
typedef struct osp_entity_ref {
    osp_str schema_url, type;
    osp_str keys; /* id and description keys: iterate with osp_entity_ref_next_key */
} osp_entity_ref;
/* 1 with the next record, 0 at the end, OSP_ECORRUPT on bad bytes. */
int osp_entity_refs_next(osp_blob_iter *it, osp_entity_ref *er);
/* Over an osp_blob_iter initialized with er.keys: 1 with the next key and *description
 * (0 for an id key, 1 for a description key), 0 at the end, OSP_ECORRUPT. */
int osp_entity_ref_next_key(osp_blob_iter *it, osp_str *key, int *description);
/* Builds one record: begin writes schema_url and type, then add every id key (in order)
 * before every description key (in order), then end. 0 or buffer error. */
int osp_entity_ref_begin(osp_buf *refs, osp_str schema_url, osp_str type, size_t *mark);
int osp_entity_ref_add_key(osp_buf *refs, int description, osp_str key);
int osp_entity_ref_end(osp_buf *refs, size_t mark);

/* Content equality of two resources / two scopes (every field compared). */
int osp_resource_equal(const osp_resource *a, const osp_resource *b);
int osp_scope_equal(const osp_scope *a, const osp_scope *b);

/* Byte-for-byte equality of two spans' contents including their resource and scope
 * (used by tests and de-duplication). */
int osp_span_equal(const osp_span_batch *a, size_t ia, const osp_span_batch *b, size_t ib);

#endif
