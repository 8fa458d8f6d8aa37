/* Derivations on the write path: every span batch the store accepted is normalized
 * (model/genai.h) and fed to the derivers (analytics/derived.h: RED, service graph, GenAI
 * metrics); a background thread flushes their cumulative series into the metrics engine
 * every interval, so they are queryable in PromQL. */
#ifndef OSP_PIPELINE_DERIVE_H
#define OSP_PIPELINE_DERIVE_H

#include <stdint.h>

#include "analytics/derived.h"
#include "model/span.h"

struct osp_store;

typedef struct osp_derive osp_derive;

typedef struct osp_derive_options {
    uint32_t interval_ms;           /* flush period; 0 picks 15000 */
    struct osp_price_table *prices; /* may be NULL: no cost series; refreshed at flushes */
} osp_derive_options;

/* Creates the pipeline writing into store and starts its flush thread. 0 or OSP_ENOMEM. */
int osp_derive_create(struct osp_store *store, const osp_derive_options *opt, osp_derive **out);

/* Feeds the spans of b, which the store has just accepted. Safe from any thread; never
 * blocks on I/O. Spans that fail to normalize are still counted by the RED and graph
 * derivers. */
void osp_derive_spans(osp_derive *d, const osp_span_batch *b);

/* Flushes every deriver's series into the store now (tests, shutdown). 0, or the store's
 * error. */
int osp_derive_flush(osp_derive *d);

/* Stops the thread after a last flush and frees d. NULL is a no-op. */
void osp_derive_destroy(osp_derive *d);

#endif
