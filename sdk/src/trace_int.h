/* Tracing internals shared by attrs.c, sampler.c, context.c, propagation.c and trace.c:
 * the sampling decision, the trace state copy rule, and the bump pool that lets a span
 * keep its strings and small arrays inside its one allocation. */
#ifndef OSPREY_TRACE_INT_H
#define OSPREY_TRACE_INT_H

#include "sdk_int.h"

/* A bump region inside a larger block; allocations past it fall back to osp_malloc. */
typedef struct osprey__pool {
    char *base;
    uint32_t used, cap;
} osprey__pool;

/* n bytes (8-byte aligned) from pool, else from osp_malloc; pool may be NULL. NULL when
 * out of memory. */
void *osprey__pool_alloc(osprey__pool *pool, size_t n);
/* Frees p unless it lies inside pool (then it goes with the block). NULL is fine. */
void osprey__pool_free(osprey__pool *pool, void *p);
/* A copy of the n bytes of s plus a NUL from pool; NULL when out of memory. */
char *osprey__pool_strndup(osprey__pool *pool, const char *s, size_t n);

/* osprey__attrs_set and osprey__attrs_cleanup with the copies made from pool. */
int osprey__attrs_set_pool(osprey__attrs *a, const osprey_attr *src, size_t n, size_t limit,
                           osprey__pool *pool);
void osprey__attrs_cleanup_pool(osprey__attrs *a, osprey__pool *pool);

/* The sampling decision for a new span with trace_id under parent (NULL or invalid: a
 * root span), by the OpenTelemetry SDK rules for kind (DEFAULT acts as
 * PARENTBASED_ALWAYS_ON) and ratio (TRACEIDRATIO's probability, clamped to [0, 1]). */
bool osprey__sampler_should_sample(osprey_sampler_kind kind, double ratio,
                                   const osprey_span_context *parent, const uint8_t trace_id[16]);

/* Copies the trace state text s (NULL: empty) into out, whole list-members only, at most
 * OSPREY_TRACESTATE_MAX bytes; returns the length kept. */
size_t osprey__tracestate_copy(char out[OSPREY_TRACESTATE_MAX + 1], const char *s);

#endif
