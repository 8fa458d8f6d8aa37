/* AI call records: what the session and agent index (store/aicalls/) keeps of each stored
 * span that is an AI span (model/genai.h type not NONE) or carries a session or user id.
 * Built on the write path (pipeline/derive.c) from a span and its canonical fields; read
 * back by the session, user and agent analytics (analytics/sessions.h). */
#ifndef OSP_MODEL_AICALL_H
#define OSP_MODEL_AICALL_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/genai.h"
#include "model/span.h"

/* Longest kept string: texts and names are cut to this many bytes at a UTF-8 boundary. */
#define OSP_AICALL_MAX_TEXT 4096

/* One record. Strings live in the arena of the batch or query that holds it. Counts and
 * times are -1 when unknown. */
typedef struct osp_aicall {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8]; /* all zero for a root span */
    uint64_t start_ns, end_ns;
    osp_str service, name; /* resource service.name; span name */
    int type;              /* enum osp_genai_type */
    osp_str operation, provider, request_model, response_model;
    int64_t input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens;
    int cache_in_input; /* as osp_genai.cache_in_input */
    int64_t ttft_ns, tpot_ns;
    int streaming;               /* 1, 0, or -1 unknown */
    int64_t max_gap_ns;          /* largest gap between consecutive chunk events, -1 without two */
    osp_str session_id, user_id; /* the span's own (not inherited) */
    osp_str agent_name, tool_name;
    int is_error;
    osp_str error_type;
    osp_str input_text, output_text; /* empty when not captured, or not read back */
} osp_aicall;

/* A growable list of records and the arena holding their strings. Caller's memory. */
typedef struct osp_aicall_batch {
    osp_arena arena;
    osp_aicall *calls;
    size_t n, cap;
} osp_aicall_batch;

void osp_aicall_batch_init(osp_aicall_batch *b);
void osp_aicall_batch_cleanup(osp_aicall_batch *b);

/* 1 when a span with canonical fields g gets a record: an AI span, or one with its own
 * session or user id. */
int osp_aicall_wanted(const osp_genai *g);

/* Appends the record of span (of resource res, may be NULL) with canonical fields g to
 * b, copying every string into b's arena (cut to OSP_AICALL_MAX_TEXT bytes). Session and
 * user ids are kept only when the span carried them itself. 0 or OSP_ENOMEM (b unchanged
 * but for arena bytes). */
int osp_aicall_add(osp_aicall_batch *b, const osp_span *span, const osp_resource *res,
                   const osp_genai *g);

/* The largest gap between consecutive events of span whose name contains "chunk" or
 * "token" (case-insensitive), in event order; -1 with fewer than two such events. */
int64_t osp_aicall_max_chunk_gap(const osp_span *span);

/* The longest prefix of s no longer than max bytes that ends at a UTF-8 character
 * boundary. */
osp_str osp_aicall_cut(osp_str s, size_t max);

/* Sets the TTFT of the LLM call a from a serving engine's metric when it has none and
 * ttft_ns fits in its duration, and then its TPOT when it was streamed (as
 * osp_genai_set_server_ttft does for a span). */
void osp_aicall_set_server_ttft(osp_aicall *a, int64_t ttft_ns);

/* A record's counts and strings as pointers into it, in the order of the segment format
 * (store/aicalls/README.md): input, output, cache-read, cache-write and reasoning tokens,
 * TTFT, TPOT, largest gap; service, span name, operation, provider, request and response
 * model, session, user, agent, tool, error type, then the two texts. */
#define OSP_AICALL_NCOUNTS 8
enum osp_aicall_str {
    OSP_AS_SERVICE,
    OSP_AS_NAME,
    OSP_AS_OPERATION,
    OSP_AS_PROVIDER,
    OSP_AS_REQUEST_MODEL,
    OSP_AS_RESPONSE_MODEL,
    OSP_AS_SESSION,
    OSP_AS_USER,
    OSP_AS_AGENT,
    OSP_AS_TOOL,
    OSP_AS_ERROR_TYPE,
    OSP_AICALL_NNAMES, /* the strings before the texts */
    OSP_AS_INPUT_TEXT = OSP_AICALL_NNAMES,
    OSP_AS_OUTPUT_TEXT,
    OSP_AICALL_NSTRS
};
void osp_aicall_counts(osp_aicall *a, int64_t *c[OSP_AICALL_NCOUNTS]);
void osp_aicall_strs(osp_aicall *a, osp_str *s[OSP_AICALL_NSTRS]);

/* The uncached input tokens of a (input less cache reads and writes, never below 0; 0
 * when unknown): what osp_price_cost prices as input. */
int64_t osp_aicall_uncached_input(const osp_aicall *a);

#endif
