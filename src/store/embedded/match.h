/* Trace-search predicates evaluated on canonical span rows; shared by the memtable and
 * the part readers so both apply exactly the same rules. */
#ifndef OSP_STORE_EMBEDDED_MATCH_H
#define OSP_STORE_EMBEDDED_MATCH_H

#include "model/span.h"
#include "store/store.h"

/* 1 when span i of b satisfies every condition of q: service equals the resource's
 * service.name, operation equals the span name, duration (end - start) within
 * [min, max], start within [start_ns, end_ns], status equal, and each attribute filter
 * equal to the text (osp_value_to_text) of a span attribute or, failing that, a resource
 * attribute with that key. 0 otherwise. */
int osp_span_matches(const osp_trace_query *q, const osp_span_batch *b, size_t i);

#endif
