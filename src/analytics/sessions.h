/* Sessions, users, agents and streaming quality computed from AI call records
 * (model/aicall.h) read from the store's index (osp_store_scan_aicalls for the lists,
 * osp_store_select_aicalls for a session's detail). No HTTP here:
 * api/sessions.c renders the results.
 *
 * Resolution, per trace (the records of a trace must come together, as the store gives
 * them): a record's recorded parent is the record of its parent span, else (a plain span
 * between them) the innermost record of the trace whose time strictly contains its own.
 * A record takes its own session and user ids, else those of its nearest recorded
 * ancestor that has one, else its trace's (the earliest record of the trace that has
 * one). A turn is an AI record with no AI record among its recorded ancestors (an agent
 * run, or an LLM call made outside any): it belongs to its own resolved session, and
 * counts the AI records below it. Roles of agent transitions: an LLM call is "agent", a
 * tool call "tool"; a run starts and ends at "user". Costs are priced at query time
 * (analytics/pricing.h) at each call's start. */
#ifndef OSP_ANALYTICS_SESSIONS_H
#define OSP_ANALYTICS_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/golden.h"
#include "analytics/pricing.h"
#include "core/arena.h"
#include "model/aicall.h"
#include "store/store.h"

/* Records as the store returns them: whole traces, each contiguous, by start within. */
typedef struct osp_aicall_set {
    const osp_aicall *calls;
    size_t n;
} osp_aicall_set;

/* Reads the records q selects into *set (arena), LLM calls without a TTFT taking one from
 * the serving engine's metric where it has one (analytics/server_ttft.h). Errors as
 * osp_store_select_aicalls and osp_store_select_exemplars. */
int osp_sessions_load(osp_store *store, const osp_aicall_query *q, osp_arena *arena,
                      osp_aicall_set *set);

/* Where an aggregation's records come from: a set in memory, or the store's index, read
 * in place trace by trace (osp_store_scan_aicalls), so that an answer over millions of
 * records holds one trace at a time. For the answers that read TTFT (LLM usage by user,
 * streaming), LLM calls without one take the serving engine's, as osp_sessions_load does. */
typedef struct osp_aicall_source {
    const osp_aicall_set *set; /* when not NULL; else: */
    osp_store *store;          /* the traces q selects */
    const osp_aicall_query *q;
} osp_aicall_source;

/* A time window [start_ns, end_ns] of record starts; end_ns 0 = unbounded. */
typedef struct osp_sessions_window {
    uint64_t start_ns, end_ns;
} osp_sessions_window;

typedef struct osp_session_summary {
    osp_str id, user;  /* user: the first resolved user id of its records ("" none) */
    osp_str *services; /* sorted, distinct */
    size_t nservices;
    uint64_t turns, traces;
    int64_t input_tokens, output_tokens; /* of its LLM and embedding calls */
    double cost;                         /* USD */
    uint64_t errors;                     /* AI records that failed */
    uint64_t first_ns, last_ns;          /* earliest start, latest end */
} osp_session_summary;

typedef struct osp_sessions_filter {
    osp_sessions_window w; /* records outside it are not counted */
    osp_str user;          /* non-empty: sessions of this user only */
    osp_str service;       /* non-empty: sessions with a record of this service */
    size_t limit;          /* at most this many, newest first; 0 picks 100 */
} osp_sessions_filter;

/* The sessions of src, newest (latest last_ns) first, at most f->limit. Results in arena.
 * 0 or OSP_ENOMEM. prices may be NULL (cost 0). */
int osp_sessions_list(const osp_aicall_source *src, const osp_sessions_filter *f,
                      const osp_price_table *prices, osp_arena *arena, osp_session_summary **out,
                      size_t *n);

typedef struct osp_session_tool {
    osp_str name; /* tool name, else the span name */
    int error;
} osp_session_tool;

typedef struct osp_session_turn {
    uint8_t trace_id[16];
    uint64_t start_ns, end_ns; /* of the turn's root record */
    osp_str model;             /* of its first LLM call ("" none) */
    int64_t input_tokens, output_tokens, cache_read_tokens;
    double cost;
    int64_t ttft_ns; /* of its first LLM call; -1 unknown */
    uint64_t errors;
    osp_str input, output; /* the root's texts, else the first LLM call's input and the
                              last one's output ("" when not captured) */
    uint64_t llm_calls;
    osp_session_tool *tools; /* in start order */
    size_t ntools;
} osp_session_turn;

typedef struct osp_session_detail {
    osp_str id, user;
    osp_session_turn *turns; /* in start order */
    size_t nturns;
} osp_session_detail;

/* Session id's turns among set (read with texts). 0, OSP_ENOTFOUND (no turn), OSP_ENOMEM. */
int osp_session_get(const osp_aicall_set *set, osp_str id, const osp_price_table *prices,
                    osp_arena *arena, osp_session_detail *out);

typedef struct osp_user_usage {
    osp_str id;
    uint64_t sessions, traces, llm_calls;
    int64_t input_tokens, output_tokens;
    double cost;
    uint64_t errors;
    uint64_t first_ns, last_ns;
} osp_user_usage;

/* Usage per resolved user id within w (records without a user left out), the newest
 * (latest last_ns) first, at most limit (0 picks 100). */
int osp_users_list(const osp_aicall_source *src, const osp_sessions_window *w, size_t limit,
                   const osp_price_table *prices, osp_arena *arena, osp_user_usage **out,
                   size_t *n);

/* LLM usage per resolved user id within w, as /api/v1/llm/models?groupBy=user gives it:
 * key is the user; quantiles are exact (nearest rank) over the calls. By key. */
int osp_sessions_usage_by_user(const osp_aicall_source *src, const osp_sessions_window *w,
                               const osp_price_table *prices, osp_arena *arena,
                               osp_golden_usage **out, size_t *n);

typedef struct osp_agent_tool {
    osp_str name;
    uint64_t calls, errors;
    double p95_ms; /* nearest rank over the calls' durations */
} osp_agent_tool;

enum osp_agent_role { OSP_ROLE_USER, OSP_ROLE_AGENT, OSP_ROLE_TOOL, OSP_ROLE_COUNT };

/* "user", "agent", "tool". */
const char *osp_agent_role_name(int role);

typedef struct osp_agent_stats {
    osp_str name;
    uint64_t runs, llm_calls, errors; /* errors: runs that failed */
    double llm_calls_per_run;
    osp_agent_tool *tools; /* tool calls inside its runs, by name */
    size_t ntools;
    uint64_t transitions[OSP_ROLE_COUNT][OSP_ROLE_COUNT]; /* [from][to] counts */
} osp_agent_stats;

/* Per agent name, the runs (agent records) starting within w, by name. */
int osp_agents_list(const osp_aicall_source *src, const osp_sessions_window *w, osp_arena *arena,
                    osp_agent_stats **out, size_t *n);

typedef struct osp_streaming_stats {
    osp_str provider, model;
    uint64_t streamed, failed_after_first_token, stalls; /* stalls: calls whose largest
                                                            inter-chunk gap passed the limit */
    double failed_share;                                 /* failed / streamed */
    int64_t max_gap_ns;                                  /* -1: no chunk events */
} osp_streaming_stats;

/* Streaming quality per (provider, model) of the streamed LLM calls within w; a call
 * failed after its first token when it failed with a known TTFT. By provider, model. */
int osp_streaming_list(const osp_aicall_source *src, const osp_sessions_window *w, int64_t stall_ns,
                       osp_arena *arena, osp_streaming_stats **out, size_t *n);

#endif
