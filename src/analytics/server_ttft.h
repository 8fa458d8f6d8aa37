/* TTFT of LLM calls from a serving engine's own metric, the last TTFT source of
 * docs/genai.md: the exemplars of gen_ai.server.time_to_first_token (Prometheus name
 * gen_ai_server_time_to_first_token_seconds) that name a trace measure one request of
 * that trace. Read at query time, so the metric may arrive before or after the spans. */
#ifndef OSP_ANALYTICS_SERVER_TTFT_H
#define OSP_ANALYTICS_SERVER_TTFT_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/aicall.h"
#include "model/genai.h"
#include "model/span.h"
#include "store/store.h"

/* The metric whose exemplars are read, with or without the histogram's suffixes. */
#define OSP_SERVER_TTFT_METRIC "gen_ai_server_time_to_first_token_seconds"

/* One exemplar with a trace id: what it measured and when. */
typedef struct osp_server_ttft {
    uint8_t trace_id[16];
    uint8_t span_id[8]; /* all zero when the exemplar names no span */
    int64_t t_ms;
    int64_t ttft_ns;
} osp_server_ttft;

/* The exemplars of a time range, sorted by trace id. */
typedef struct osp_server_ttfts {
    osp_server_ttft *x;
    size_t n;
} osp_server_ttfts;

/* Reads the exemplars in [mint_ms, maxt_ms] into *out (arena). An engine without
 * exemplars gives none. 0 or an error of osp_store_select_exemplars. */
int osp_server_ttft_load(osp_store *store, int64_t mint_ms, int64_t maxt_ms, osp_arena *arena,
                         osp_server_ttfts *out);

/* The TTFT the exemplars give the LLM call span (trace_id, span_id) that ran over
 * [start_ns, end_ns], or -1: the exemplar of that span, else one of the same trace whose
 * time falls within the call (the serving engine's own span is the call's child). A
 * value longer than the call is no TTFT of it. */
int64_t osp_server_ttft_find(const osp_server_ttfts *t, const uint8_t trace_id[16],
                             const uint8_t span_id[8], uint64_t start_ns, uint64_t end_ns);

/* Fills the TTFT (and TPOT, osp_aicall_set_server_ttft) of the LLM calls of
 * calls[0..n) that have none from the exemplars of their time range. 0 or an error of
 * osp_server_ttft_load. */
int osp_server_ttft_fill(osp_store *store, osp_aicall *calls, size_t n, osp_arena *arena);

/* The same for the LLM spans of b, whose canonical fields are g[0..b->nspans)
 * (osp_genai_set_server_ttft). */
int osp_server_ttft_fill_spans(osp_store *store, const osp_span_batch *b, osp_genai *g,
                               osp_arena *arena);

#endif
