/* LogQL evaluator: runs a parsed query (logql.h) over stored log records with Loki's
 * semantics. A log query returns streams of entries after its pipeline; a metric query
 * returns a vector (instant) or a matrix (range). */
#ifndef OSP_QUERY_LOGQL_EVAL_H
#define OSP_QUERY_LOGQL_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/labels.h"
#include "model/series.h"
#include "query/logql.h"
#include "store/store.h"

/* Where records come from: the semantics of osp_store_scan_logs, osp_store_select_logs
 * and osp_store_log_stream_labels (store/store.h). */
typedef struct osp_logql_source {
    void *ctx;
    int (*scan)(void *ctx, const osp_log_query *q, osp_log_fn fn, void *fn_ctx);
    int (*select)(void *ctx, const osp_log_query *q, osp_log_keep_fn keep, void *keep_ctx,
                  osp_log_batch *out, uint64_t **streams);
    int (*stream_labels)(void *ctx, uint64_t stream, osp_arena *arena, osp_label **labels,
                         size_t *n);
    /* The ids of the streams the matchers select that may hold records in [start_ns,
     * end_ns), in arena (osp_store_log_streams); NULL when the source cannot list them.
     * With it a count that needs only stream labels scans with times_only. */
    int (*streams)(void *ctx, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                   uint64_t end_ns, osp_arena *arena, uint64_t **ids, size_t *nids);
} osp_logql_source;

/* The series a metric query's result may hold unless told otherwise (Loki's
 * max_query_series). */
#define OSP_LOGQL_DEFAULT_MAX_SERIES 500

typedef struct osp_logql_opts {
    size_t limit;        /* log queries: entries returned at most; 0 picks 100 */
    int forward;         /* log queries: oldest first (default newest first, "backward") */
    int categorize;      /* log queries: Loki's categorize-labels encoding (streams by their
                            stream labels alone, each entry with its structured metadata and
                            the labels its pipeline set) */
    size_t max_series;   /* metric queries: series a result may hold; 0 picks
                            OSP_LOGQL_DEFAULT_MAX_SERIES */
    int64_t deadline_ms; /* CLOCK_MONOTONIC ms after which evaluation stops with
                            OSP_ETIMEDOUT; 0 = none */
} osp_logql_opts;

typedef struct osp_logql_entry {
    uint64_t t_ns;
    osp_str line;
    uint64_t stream; /* the record's stream (osp_logql_source.stream_labels) */
    osp_label *meta; /* with opts.categorize: its structured metadata, sorted */
    size_t nmeta;
    osp_label *parsed; /* and the labels its pipeline set (__error__ among them), sorted */
    size_t nparsed;
} osp_logql_entry;

/* A stream of a log query's result: entries sharing one final label set (the stream
 * labels, the record's structured metadata and the labels its pipeline extracted, as Loki
 * returns them by default; with opts.categorize the stream labels alone), in the query's
 * direction. */
typedef struct osp_logql_stream {
    osp_label *labels; /* sorted by name */
    size_t nlabels;
    osp_logql_entry *entries;
    size_t n;
} osp_logql_stream;

typedef enum osp_logql_result_type {
    OSP_LOGQL_RESULT_STREAMS,
    OSP_LOGQL_RESULT_VECTOR, /* series with one sample each (at the evaluation time) */
    OSP_LOGQL_RESULT_MATRIX, /* series with their samples in time order */
    OSP_LOGQL_RESULT_SCALAR,
} osp_logql_result_type;

typedef struct osp_logql_stats {
    uint64_t lines;   /* records the pipeline ran over */
    uint64_t bytes;   /* bytes of their lines */
    uint64_t exec_ns; /* wall time of the evaluation */
} osp_logql_stats;

typedef struct osp_logql_result {
    osp_logql_result_type type;
    osp_logql_stream *streams; /* STREAMS: sorted by label set */
    size_t nstreams;
    osp_series *series; /* VECTOR, MATRIX: sorted by label set unless sort/topk orders them */
    size_t nseries;
    double scalar; /* SCALAR */
    osp_logql_stats stats;
} osp_logql_result;

/* Evaluates e over [start_ns, end_ns]:
 * - a log query (OSP_LOGQL_LOG) needs a range (step_ms > 0 or start_ns < end_ns; an
 *   instant query fails with OSP_EINVAL "log queries are not supported as an instant
 *   query type, please change your query to a range query type", as Loki words it) and
 *   returns at most opts->limit entries with time in [start_ns, end_ns), the newest (or
 *   oldest, forward) of all that pass the pipeline;
 * - a metric query is evaluated at start_ns, start_ns + step, ... <= end_ns (one point
 *   when step_ms is 0: an instant query at end_ns, giving a VECTOR or SCALAR; else a
 *   MATRIX), each range aggregation over the records in (t - range - offset, t - offset].
 * Everything in *res lives in arena. Returns 0; OSP_EINVAL (bad range, instant log query);
 * OSP_EEXEC with err naming the problem as Loki words it (too many series, a sample
 * that cannot be unwrapped is not an error: the record gets __error__ as in Loki);
 * OSP_ETIMEDOUT; OSP_ENOMEM; or the source's error. err (errlen bytes, NUL-terminated,
 * may be NULL) gets a message on every failure. */
int osp_logql_eval(const osp_logql_source *src, const osp_logql_expr *e, uint64_t start_ns,
                   uint64_t end_ns, int64_t step_ms, const osp_logql_opts *opts, osp_arena *arena,
                   osp_logql_result *res, char *err, size_t errlen);

#endif
