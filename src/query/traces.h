/* Trace search for the query API: the store's search plus a summary of every hit (root
 * service and span, time span, counts, services), and its JSON form. */
#ifndef OSP_QUERY_TRACES_H
#define OSP_QUERY_TRACES_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "model/span.h"
#include "store/store.h"

typedef struct osp_trace_summary {
    uint8_t trace_id[16];
    osp_str root_service; /* service.name of the root span's resource; "" when absent */
    osp_str root_name;    /* root span's name; root = the earliest span without a parent,
                             else the earliest span */
    uint64_t start_ns;    /* earliest span start */
    uint64_t duration_ns; /* latest span end - earliest span start (0 if negative) */
    size_t nspans;
    size_t nerrors;    /* spans with status ERROR */
    osp_str *services; /* distinct non-empty service names, sorted bytewise */
    size_t nservices;
} osp_trace_summary;

/* Summarizes the spans of b, which must all belong to one trace (the id is taken from the
 * first span); their detail (OSP_TRACE_NO_DETAIL) is not looked at. Strings and the
 * services array are copied into arena. 0, OSP_ENOTFOUND when b has no spans,
 * OSP_ECORRUPT when a span names a resource b does not have, OSP_ENOMEM. */
int osp_trace_summarize(const osp_span_batch *b, osp_arena *arena, osp_trace_summary *out);

/* Runs q against the store and summarizes each hit (one osp_store_get_trace without
 * detail each). Traces that vanish between search and fetch (retention) are left out.
 * Results are ordered by start_ns, newest first (ties by trace id), at most q->limit of
 * them; the array lives in arena. 0 or the store's error (OSP_EBUSY, OSP_EIO, ...) or
 * OSP_ENOMEM. */
int osp_trace_search(osp_store *store, const osp_trace_query *q, osp_arena *arena,
                     osp_trace_summary **out, size_t *n);

/* Appends {"traces":[{"traceId","rootServiceName","rootSpanName","startTimeUnixNano",
 * "durationNanos","spanCount","errorCount","services":[...]}]}: ids in lowercase hex,
 * 64-bit times as decimal strings (as OTLP/JSON does), counts as numbers. 0 or the
 * buffer's error. */
int osp_trace_summaries_json(const osp_trace_summary *s, size_t n, osp_buf *out);

#endif
