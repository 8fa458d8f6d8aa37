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

/* Appends whole generated traces (a gateway request through auth, an agent with retrieval,
 * LLM chat calls, tool calls, occasional errors; about 18 spans each) to b until it holds
 * at least min_spans spans. b must be empty or filled only by this generator since it was
 * last emptied (resources and scopes are added to it once and shared by later spans). When
 * trace_ids is not NULL, per trace its 16-byte id and its number of spans as a 4-byte
 * little-endian integer are appended to it. 0 or OSP_ENOMEM. */
int osp_gen_fill(osp_gen *g, osp_span_batch *b, size_t min_spans, osp_buf *trace_ids);

/* Orders b's spans by resource, then scope, keeping their order otherwise, so that a
 * request carries one ResourceSpans per service instance as SDK and collector exports do.
 * 0 or OSP_ENOMEM. */
int osp_gen_group(osp_span_batch *b);

/* The searches worth running against this workload; *n receives their number. */
const osp_gen_search *osp_gen_searches(size_t *n);

#endif
