/* Canonical log rows: what the OTLP logs decoders and the Loki push decoder produce, what
 * the store keeps and what log queries return. Resources and scopes are the trace model's
 * (model/span.h): a log batch holds them the same way, records refer to them by index. A
 * batch owns an arena; rows point into it (or, for rows fresh out of a decoder, possibly
 * into the request body, which must outlive the batch's use). */
#ifndef OSP_MODEL_LOG_H
#define OSP_MODEL_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/span.h"

/* OTLP SeverityNumber: 0 unspecified, then four steps per level. */
enum osp_severity {
    OSP_SEVERITY_UNSPECIFIED = 0,
    OSP_SEVERITY_TRACE = 1,  /* TRACE..TRACE4 = 1..4 */
    OSP_SEVERITY_DEBUG = 5,  /* 5..8 */
    OSP_SEVERITY_INFO = 9,   /* 9..12 */
    OSP_SEVERITY_WARN = 13,  /* 13..16 */
    OSP_SEVERITY_ERROR = 17, /* 17..20 */
    OSP_SEVERITY_FATAL = 21, /* 21..24 */
};

/* An OTLP LogRecord. */
typedef struct osp_log_record {
    uint64_t time_ns;        /* time_unix_nano; 0 when unknown */
    uint64_t observed_ns;    /* observed_time_unix_nano; 0 when unknown */
    uint8_t trace_id[16];    /* all zero when absent */
    uint8_t span_id[8];      /* all zero when absent */
    int32_t severity_number; /* enum osp_severity; other values kept as received */
    uint32_t flags;          /* LogRecord.flags as received (W3C trace flags in bits 0-7) */
    uint32_t dropped_attributes;
    uint8_t has_body; /* a body was sent (it may still be the empty AnyValue) */
    osp_str body;     /* canonical AnyValue message (model/attr.h, osp_value_decode) */
    osp_str severity_text;
    osp_str event_name;
    osp_str attributes;  /* attrs blob */
    uint8_t labels_from; /* enum osp_log_labels_from (model/logstream.h): how its resource
                            maps to stream labels; 0 (OTLP) unless the Loki decoder set it */
    uint8_t level;       /* enum osp_line_level (model/loglevel.h): its detected_level when
                            a store kept it (osp_log_level_to_keep), 0 when not known;
                            derived, so not compared by osp_log_record_equal */
    uint32_t resource;   /* index into the batch's resources */
    uint32_t scope;      /* index into the batch's scopes */
} osp_log_record;

typedef struct osp_log_batch {
    osp_arena arena; /* owns rows' bytes that were copied in */
    osp_resource *resources;
    size_t nresources, resources_cap;
    osp_scope *scopes;
    size_t nscopes, scopes_cap;
    osp_log_record *records;
    size_t nrecords, records_cap;
} osp_log_batch;

/* Initializes an empty batch. */
void osp_log_batch_init(osp_log_batch *b);
/* Frees the arrays and the arena (the batch is empty and usable again). */
void osp_log_batch_cleanup(osp_log_batch *b);

/* Adds a zeroed row and returns it (NULL when out of memory). The pointer is valid until
 * the next add of the same kind; use the index (n - 1) to refer to it later. */
osp_resource *osp_log_batch_add_resource(osp_log_batch *b);
osp_scope *osp_log_batch_add_scope(osp_log_batch *b);
osp_log_record *osp_log_batch_add_record(osp_log_batch *b);
/* Makes room for n more records, so that adding them does not regrow the array (and copy
 * it) step by step. 0 or OSP_ENOMEM (the batch unchanged). */
int osp_log_batch_reserve_records(osp_log_batch *b, size_t n);

/* Byte-for-byte equality of two records' contents including their resource and scope
 * (tests and de-duplication). */
int osp_log_record_equal(const osp_log_batch *a, size_t ia, const osp_log_batch *b, size_t ib);

#endif
