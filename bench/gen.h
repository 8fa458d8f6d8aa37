/* Deterministic generator of a realistic AI-microservice trace workload, as canonical rows. */
#ifndef OSP_BENCH_GEN_H
#define OSP_BENCH_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "model/span.h"

typedef struct osp_gen osp_gen;

typedef struct osp_gen_options {
    uint64_t seed;         /* same seed, same options: byte-identical rows */
    uint64_t base_ns;      /* start time of the first trace (unix nanoseconds) */
    double traces_per_sec; /* spacing of successive trace start times; 0 picks 100 */
} osp_gen_options;

/* A search the workload makes meaningful: spans of `service` named `operation` that
 * last at least min_duration_ns exist, but are a minority. */
typedef struct osp_gen_search {
    const char *service, *operation;
    uint64_t min_duration_ns;
} osp_gen_search;

/* Creates a generator. 0 or OSP_ENOMEM. */
int osp_gen_create(const osp_gen_options *opt, osp_gen **out);
void osp_gen_destroy(osp_gen *g);

/* Appends one whole trace to b: a gateway request through auth, an agent with retrieval
 * (embeddings and a vector-DB query), LLM chat calls with a first-token event, tool calls
 * and occasional errors with exception events; about 18 spans and 15 attributes per span.
 * The trace starts at start_ns, or at the next scheduled time when start_ns is 0. b must
 * be empty or filled only by this generator since it was last emptied (resources and
 * scopes are added to it once and shared by later spans). When trace_ids is not NULL a
 * record is appended to it: the trace's 16-byte id, then its number of spans as a 4-byte
 * little-endian integer. Returns 0 or OSP_ENOMEM. */
int osp_gen_trace(osp_gen *g, osp_span_batch *b, uint64_t start_ns, osp_buf *trace_ids);

/* Appends whole traces to b until it holds at least min_spans spans. Same contract. */
int osp_gen_fill(osp_gen *g, osp_span_batch *b, size_t min_spans, osp_buf *trace_ids);

/* Moves every span from index `first` on, and their events, by delta_ns (live demo data
 * is generated, then shifted so that each trace ends now). 0 or OSP_ENOMEM. */
int osp_gen_shift(osp_span_batch *b, size_t first, int64_t delta_ns);

/* Orders b's spans by resource, then scope, keeping their order otherwise, so that a
 * request carries one ResourceSpans per service instance as SDK and collector exports do.
 * 0 or OSP_ENOMEM. */
int osp_gen_group(osp_span_batch *b);

/* The searches worth running against this workload; *n receives their number. */
const osp_gen_search *osp_gen_searches(size_t *n);

#endif
