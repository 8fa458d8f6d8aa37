/* The store interface: the only place the write path and the read path meet. An engine
 * (embedded column store by default; ClickHouse later) is a descriptor of function
 * pointers; callers use the osp_store_* functions, which dispatch to it.
 *
 * Threading: every function may be called from any thread concurrently; calls block
 * (they run on worker threads, never on the network loop). */
#ifndef OSP_STORE_STORE_H
#define OSP_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/aicall.h"
#include "model/log.h"
#include "model/series.h"
#include "model/span.h"
#include "store/tsdb/index.h"

typedef struct osp_store osp_store;

enum osp_fsync_policy {
    OSP_FSYNC_ALWAYS,   /* fsync (group commit) before acknowledging: survives power loss */
    OSP_FSYNC_INTERVAL, /* write before acknowledging, fsync every fsync_interval_ms */
    OSP_FSYNC_NEVER,    /* leave it to the kernel */
};

typedef struct osp_store_options {
    const char *engine;    /* "embedded" (default when NULL) */
    const char *data_dir;  /* root directory; created if missing */
    uint64_t retention_ns; /* drop partitions whose newest span is older; 0 = keep forever */
    enum osp_fsync_policy fsync_policy;
    uint32_t fsync_interval_ms; /* for OSP_FSYNC_INTERVAL; 0 picks 1000 */
    size_t memtable_bytes;      /* flush the in-memory buffer to a part past this; 0 = default */
    size_t max_pending_bytes;   /* unflushed bytes past which appends fail OSP_EBUSY; 0 = default */
    size_t max_merge_backlog;   /* traces and logs: flushes wait while one day holds more parts
                                   awaiting merges (osp_partlist_merge_backlog); 0 = 128 */
    int64_t ooo_window_ms;      /* metrics: accept samples this far out of order; 0 = none */
    uint64_t max_series_per_metric; /* metrics: new series allowed per metric; 0 = no limit */
    size_t max_exemplars;        /* metrics: exemplars kept, the oldest dropped; 0 picks 100000 */
    size_t aicalls_memory_bytes; /* AI call index in memory: past it, whole old days leave
                                    it (they stay on disk); 0 = no limit */
} osp_store_options;

/* What a metrics append did with each sample; defined in store/tsdb/tsdb.h. */
typedef struct osp_tsdb_append_report osp_tsdb_append_report;
/* What an exemplar append did with each exemplar; defined in store/tsdb/exemplars.h. */
typedef struct osp_exemplar_report osp_exemplar_report;

/* Label matchers that must all hold (one PromQL vector selector). */
typedef struct osp_matcher_set {
    const osp_label_matcher *m;
    size_t n;
} osp_matcher_set;

typedef struct osp_attr_filter {
    osp_str key, value; /* matches a span or resource attribute whose text equals value */
} osp_attr_filter;

/* Trace search. A trace matches when one of its spans satisfies every given condition. */
typedef struct osp_trace_query {
    osp_str service;                           /* resource service.name; empty = any */
    osp_str operation;                         /* span name; empty = any */
    uint64_t min_duration_ns, max_duration_ns; /* 0 = unbounded */
    uint64_t start_ns, end_ns;                 /* span start within [start, end]; 0 = unbounded */
    int status;                                /* enum osp_status_code, or -1 for any */
    const osp_attr_filter *attrs;
    size_t nattrs;
    size_t limit; /* at most this many trace ids; 0 picks 20 */
} osp_trace_query;

typedef struct osp_trace_hit {
    uint8_t trace_id[16];
    uint64_t newest_start_ns; /* start of the newest matching span, for ordering */
} osp_trace_hit;

typedef struct osp_operation {
    osp_str name;
    int32_t kind; /* enum osp_span_kind */
} osp_operation;

/* Log query: which records to read (see osp_store_scan_logs and osp_store_select_logs). */
typedef struct osp_log_query {
    const osp_label_matcher *m; /* stream selector: every matcher must hold (Prometheus
                                   semantics over the stream labels); n >= 1 */
    size_t n;
    uint64_t start_ns, end_ns; /* records whose time (osp_log_time) is in [start_ns, end_ns);
                                  end_ns 0 = unbounded */
    const osp_str *needles;    /* every record's line contains each of these (case-sensitive
                                  substrings); engines skip blocks with them */
    size_t nneedles;
    const uint8_t *trace_id; /* NULL, or only records with this 16-byte trace id */
    const uint8_t *span_id;  /* NULL, or only records with this 8-byte span id */
    int forward;             /* select: oldest first (default: newest first) */
    size_t limit;            /* select: at most this many records; 0 picks 100 */
    int times_only;          /* scan: the caller needs each record's stream and time alone; engines
                                may give records that hold only their time (in time_ns), with no
                                body, ids, attributes, resource or scope. Ignored with needles,
                                trace_id or span_id */
    int no_lines;            /* scan: the caller reads no record's line; engines may give
                                records with no body (an empty line). Ignored with needles */
    int sizes;               /* scan: the caller reads osp_log_view.size, estimated where no
                                line is read (with times_only or no_lines) */
    /* scan with times_only: NULL, or the last time the caller treats alike with t_ns (counts
     * in the same slice of time), t_ns or later. Engines may then give one view for
     * several records of a stream with times alike (osp_log_view.more), and need not read
     * each time when they know all lie between t_ns and that last time. */
    uint64_t (*alike_until)(uint64_t t_ns, void *ctx);
    void *alike_ctx;
} osp_log_query;

/* A record in a scan, valid only during the callback. */
typedef struct osp_log_view {
    uint64_t stream;            /* the stream's id (osp_store_log_stream_labels) */
    const osp_log_batch *batch; /* holds the record, its resource and its scope */
    size_t index;               /* the record: batch->records[index] */
    osp_str line;               /* its line (model/logstream.h, osp_log_line) */
    uint64_t size;              /* its line's bytes: line.n, or where a scan with sizes but
                                   times_only or no_lines gives no line, an estimate (engines
                                   may spread what they know of a stream's lines, for example
                                   per block, evenly over its rows); with more, the sum over
                                   the records the view stands for */
    uint32_t more; /* with osp_log_query.alike_until: the records of the same stream this
                      view stands for besides its own, with times alike to its time */
} osp_log_view;

/* Receives the records of a scan; a non-zero return stops it and becomes its result. */
typedef int (*osp_log_fn)(const osp_log_view *v, void *ctx);
/* Decides whether select keeps a record: 1 keep, 0 pass over, < 0 stop with that error. */
typedef int (*osp_log_keep_fn)(const osp_log_view *v, void *ctx);

/* AI call index query (osp_store_select_aicalls): the traces to read. Candidates come from
 * the most specific filter given, in this order: trace_id, session, sessions, user, users,
 * agent; the filters after it are not applied. */
typedef struct osp_aicall_query {
    uint64_t start_ns, end_ns; /* traces whose records' starts reach into [start_ns, end_ns];
                                  end_ns 0 = unbounded */
    const uint8_t *trace_id;   /* NULL, or that trace */
    osp_str session;           /* non-empty: the traces with a record of this own session id */
    const osp_str *sessions;   /* nsessions > 0: the traces with a record of any of these */
    size_t nsessions;
    const osp_str *users; /* nusers > 0: the traces with a record of any of these own
                             user ids (not their sessions' other traces) */
    size_t nusers;
    osp_str user;       /* non-empty: the traces with a record of this own user id, and
                           every trace of the sessions those records name */
    osp_str agent;      /* non-empty: the traces with a record of this agent name */
    int with_text;      /* also read input and output texts (from disk) */
    size_t max_records; /* more records fail OSP_ETOOBIG; 0 picks 1 000 000 */
} osp_aicall_query;

/* What osp_store_aicall_bounds lists. */
enum osp_aicall_key { OSP_AICALL_SESSIONS, OSP_AICALL_USERS };

/* A session or user id of the AI call index, with the latest record end of the traces that
 * have a record naming it and reach into the range asked for: no record of the range
 * resolved to it (its own id or an inherited one: ids are inherited within a trace only)
 * ends later. Traces wholly outside the range (later data included) do not count. */
typedef struct osp_aicall_bound {
    osp_str id;
    uint64_t last_ns;
} osp_aicall_bound;

/* Called by osp_store_scan_aicalls once per trace with its records (n > 0), then once
 * with (NULL, 0). 0 goes on; anything else stops the scan and is its answer. */
typedef int (*osp_aicall_trace_fn)(void *ctx, const osp_aicall *const *calls, size_t n);

typedef struct osp_store_engine {
    const char *name;
    int (*open)(const osp_store_options *opt, void **impl);
    void (*close)(void *impl);
    int (*append_spans)(void *impl, const osp_span_batch *b);
    int (*get_trace)(void *impl, const uint8_t trace_id[16], unsigned flags, osp_span_batch *out);
    int (*search_traces)(void *impl, const osp_trace_query *q, osp_arena *arena,
                         osp_trace_hit **hits, size_t *nhits);
    int (*services)(void *impl, osp_arena *arena, osp_str **names, size_t *n);
    int (*operations)(void *impl, osp_str service, osp_arena *arena, osp_operation **ops,
                      size_t *n);
    int (*flush)(void *impl);
    /* Metrics: the semantics of the osp_store_*series* functions below. */
    int (*append_series)(void *impl, const osp_series_batch *b, osp_tsdb_append_report *rep);
    void (*known_series)(void *impl, const osp_series_key *keys, size_t n, uint64_t *refs);
    int (*select_series)(void *impl, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                         int64_t maxt_ms, int with_samples, osp_arena *arena, osp_series **out,
                         size_t *nout);
    int (*label_names)(void *impl, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                       int64_t maxt_ms, osp_arena *arena, osp_str **names, size_t *nnames);
    int (*label_values)(void *impl, osp_str name, const osp_label_matcher *m, size_t n,
                        int64_t mint_ms, int64_t maxt_ms, osp_arena *arena, osp_str **values,
                        size_t *nvalues);
    int (*metadata)(void *impl, osp_str family, osp_arena *arena, osp_metric_meta **out,
                    size_t *nout);
    /* Exemplars: the semantics of the osp_store_*exemplars functions below. */
    int (*append_exemplars)(void *impl, const osp_series_batch *b, osp_exemplar_report *rep);
    int (*select_exemplars)(void *impl, const osp_matcher_set *sets, size_t nsets, int64_t mint_ms,
                            int64_t maxt_ms, osp_arena *arena, osp_series_exemplars **out,
                            size_t *nout);
    /* Logs: the semantics of the osp_store_*log* functions below. */
    int (*append_logs)(void *impl, const osp_log_batch *b);
    int (*scan_logs)(void *impl, const osp_log_query *q, osp_log_fn fn, void *ctx);
    int (*select_logs)(void *impl, const osp_log_query *q, osp_log_keep_fn keep, void *ctx,
                       osp_log_batch *out, uint64_t **streams);
    int (*log_streams)(void *impl, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                       uint64_t end_ns, osp_arena *arena, uint64_t **ids, size_t *nids);
    int (*log_stream_labels)(void *impl, uint64_t stream, osp_arena *arena, osp_label **labels,
                             size_t *n);
    int (*log_label_names)(void *impl, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                           uint64_t end_ns, osp_arena *arena, osp_str **names, size_t *nnames);
    int (*log_label_values)(void *impl, osp_str name, const osp_label_matcher *m, size_t n,
                            uint64_t start_ns, uint64_t end_ns, osp_arena *arena, osp_str **values,
                            size_t *nvalues);
    /* AI calls: the semantics of the osp_store_*aicalls functions below. */
    int (*append_aicalls)(void *impl, const osp_aicall *calls, size_t n);
    int (*select_aicalls)(void *impl, const osp_aicall_query *q, osp_arena *arena, osp_aicall **out,
                          size_t *n);
    int (*scan_aicalls)(void *impl, const osp_aicall_query *q, osp_aicall_trace_fn fn, void *ctx);
    int (*aicall_bounds)(void *impl, enum osp_aicall_key key, uint64_t start_ns, uint64_t end_ns,
                         osp_arena *arena, osp_aicall_bound **out, size_t *n);
    uint64_t (*aicalls_indexed_from)(void *impl);
} osp_store_engine;

/* Opens the engine named in opt. 0, OSP_EINVAL (unknown engine), OSP_EIO, OSP_ENOMEM. */
int osp_store_open(const osp_store_options *opt, osp_store **out);
/* Flushes buffered data to parts and closes; safe with NULL. */
void osp_store_close(osp_store *s);

/* Appends every span of b. Returns 0 only once the spans are in the write-ahead log
 * (fsynced too under OSP_FSYNC_ALWAYS): that is the durability contract behind a success
 * response. OSP_EBUSY when the write path is behind (caller answers 503/UNAVAILABLE);
 * OSP_EIO on a write failure. The store copies what it keeps; b is not retained. */
int osp_store_append_spans(osp_store *s, const osp_span_batch *b);

/* Flags of osp_store_get_trace, or-ed (0: whole spans). */
enum osp_get_trace_flags {
    /* Spans without their detail: attributes, events, links, trace_state and
     * status_message come back empty; every other span field comes back, and so do the
     * spans' resources and scopes, in full. Enough for trace summaries, and an engine
     * reads only the columns that hold the rest. Spans equal in every returned field are
     * returned once. */
    OSP_TRACE_NO_DETAIL = 1u << 0,
};

/* Every stored span of a trace, appended to out (which the caller initialized); spans
 * come back in start-time order. flags: enum osp_get_trace_flags. 0 or OSP_ENOTFOUND
 * when no span has that id. */
int osp_store_get_trace(osp_store *s, const uint8_t trace_id[16], unsigned flags,
                        osp_span_batch *out);

/* Ids of matching traces, newest first, at most q->limit. Arrays live in arena. */
int osp_store_search_traces(osp_store *s, const osp_trace_query *q, osp_arena *arena,
                            osp_trace_hit **hits, size_t *nhits);

/* Distinct service names, sorted. */
int osp_store_services(osp_store *s, osp_arena *arena, osp_str **names, size_t *n);
/* Distinct (span name, kind) pairs of a service, sorted by name. */
int osp_store_operations(osp_store *s, osp_str service, osp_arena *arena, osp_operation **ops,
                         size_t *n);

/* Writes buffered rows and samples out to parts and blocks (tests and shutdown). */
int osp_store_flush(osp_store *s);

/* ---- Metrics (time series; semantics as store/tsdb/tsdb.h describes them) ----
 * Each returns OSP_EUNSUPPORTED on an engine without metrics. */

/* Appends the series of b. 0 once the accepted samples are in the write-ahead log, with
 * rep (may be NULL) counting what was rejected and why; OSP_EBUSY (retry later, nothing
 * stored), OSP_EIO, OSP_ENOMEM. */
int osp_store_append_series(osp_store *s, const osp_series_batch *b, osp_tsdb_append_report *rep);

/* refs[i] = what osp_series.ref takes for a series with key keys[i]: non-zero when the
 * store already holds labels appended under that key (they need no checking again), 0
 * when not or when the engine keeps no keys. */
void osp_store_known_series(osp_store *s, const osp_series_key *keys, size_t n, uint64_t *refs);

/* The series every matcher selects with a sample in [mint_ms, maxt_ms], sorted by label
 * set; with_samples: also their samples in the range, ascending (else nsamples is 0). */
int osp_store_select_series(osp_store *s, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                            int64_t maxt_ms, int with_samples, osp_arena *arena, osp_series **out,
                            size_t *nout);

/* Label names, and values of one label, over the selected series (n == 0: every series). */
int osp_store_label_names(osp_store *s, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                          int64_t maxt_ms, osp_arena *arena, osp_str **names, size_t *nnames);
int osp_store_label_values(osp_store *s, osp_str name, const osp_label_matcher *m, size_t n,
                           int64_t mint_ms, int64_t maxt_ms, osp_arena *arena, osp_str **values,
                           size_t *nvalues);

/* Metadata of a metric family (empty: all), sorted by family. */
int osp_store_metric_metadata(osp_store *s, osp_str family, osp_arena *arena, osp_metric_meta **out,
                              size_t *nout);

/* Appends the exemplars of b (b->exemplars; its series only name them), as Prometheus's
 * exemplar storage takes them: 0 once the accepted ones are in the write-ahead log, with
 * rep (may be NULL) counting the duplicates (ignored) and the rejections (out of order,
 * labels too long) and naming the first rejection; OSP_EIO, OSP_ENOMEM. */
int osp_store_append_exemplars(osp_store *s, const osp_series_batch *b, osp_exemplar_report *rep);

/* The exemplars in [mint_ms, maxt_ms] of the series that all matchers of at least one set
 * select, one entry per series with exemplars in the range, sorted by label set; exemplars
 * ascending by time. Everything lives in arena. OSP_EINVAL (an empty set), OSP_EPARSE (bad
 * regex), OSP_ENOMEM. */
int osp_store_select_exemplars(osp_store *s, const osp_matcher_set *sets, size_t nsets,
                               int64_t mint_ms, int64_t maxt_ms, osp_arena *arena,
                               osp_series_exemplars **out, size_t *nout);

/* ---- Logs ----
 * Records are filed under a stream: the label set model/logstream.h derives from their
 * resource (osp_log_stream_labels). Each returns OSP_EUNSUPPORTED on an engine without
 * logs. */

/* Appends every record of b. 0 once the records are in the write-ahead log (the
 * durability contract of osp_store_append_spans); OSP_EBUSY (retry later, nothing
 * stored), OSP_EIO, OSP_ENOMEM, OSP_EINVAL (a record's resource or scope index out of
 * range). Records are stored exactly as given (time 0 included: receivers fill
 * observed_ns with the arrival time when a record has neither time). b is not retained. */
int osp_store_append_logs(osp_store *s, const osp_log_batch *b);

/* Calls fn for every stored record that q selects (stream matchers, time range, needles,
 * trace and span id), in no particular order; q->forward and q->limit are ignored.
 * 0, fn's non-zero result, OSP_EINVAL (no matcher), OSP_EPARSE (a regex that does not
 * compile), OSP_ENOMEM, OSP_EIO. Blocks that fail their checksum are reported in the log
 * and skipped, as for traces. */
int osp_store_scan_logs(osp_store *s, const osp_log_query *q, osp_log_fn fn, void *ctx);

/* The q->limit newest records (oldest with q->forward) that q selects and keep (NULL:
 * every one) accepts, in that order, appended to out (initialized by the caller; rows
 * copied into its arena), with their stream ids in *streams (an array in out's arena,
 * one per appended record). Ties in time come in an unspecified but stable order. Errors
 * as osp_store_scan_logs, or keep's. */
int osp_store_select_logs(osp_store *s, const osp_log_query *q, osp_log_keep_fn keep, void *ctx,
                          osp_log_batch *out, uint64_t **streams);

/* Ids of the streams the matchers select (n == 0: all) that hold records in
 * [start_ns, end_ns) (end_ns 0 = unbounded; engines may include a stream whose records
 * only come near the range), ascending. Array in arena. */
int osp_store_log_streams(osp_store *s, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                          uint64_t end_ns, osp_arena *arena, uint64_t **ids, size_t *nids);

/* The labels of a stream, sorted by name (array and slices in arena). OSP_ENOTFOUND for
 * an unknown id, or for one the engine removed once retention left the stream without
 * records (the embedded engine waits five minutes after its last part goes, so the streams
 * of records a query read still resolve; an id only listed may be gone). */
int osp_store_log_stream_labels(osp_store *s, uint64_t stream, osp_arena *arena, osp_label **labels,
                                size_t *n);

/* Label names, and the values of one label, over the streams osp_store_log_streams would
 * return; sorted, unique, in arena. */
int osp_store_log_label_names(osp_store *s, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                              uint64_t end_ns, osp_arena *arena, osp_str **names, size_t *nnames);
int osp_store_log_label_values(osp_store *s, osp_str name, const osp_label_matcher *m, size_t n,
                               uint64_t start_ns, uint64_t end_ns, osp_arena *arena,
                               osp_str **values, size_t *nvalues);

/* ---- AI calls (the session and agent index; model/aicall.h) ----
 * Each returns OSP_EUNSUPPORTED on an engine without the index. */

/* Writes and indexes calls[0..n) (strings copied). 0 once they are written (fsynced as the
 * store's policy says; unlike spans, the last interval of records can be lost in a crash);
 * OSP_EIO, OSP_ENOMEM. */
int osp_store_append_aicalls(osp_store *s, const osp_aicall *calls, size_t n);

/* Every record of the traces q selects: trace after trace by their first record's start,
 * within a trace by start time; texts only with q->with_text. Array and strings in arena.
 * 0 (none: *n 0), OSP_ETOOBIG (more than q->max_records), OSP_ENOMEM, OSP_EIO. */
int osp_store_select_aicalls(osp_store *s, const osp_aicall_query *q, osp_arena *arena,
                             osp_aicall **out, size_t *n);

/* The records of the traces q selects, visited trace by trace, in the order of
 * osp_store_select_aicalls, without texts and without a limit: fn gets pointers to each
 * trace's records, by start time, valid for that call; their strings stay valid until fn's
 * last call, (NULL, 0), returns. For answers that aggregate more records than fit a copy.
 * 0, OSP_ENOMEM, or fn's first non-zero answer. */
int osp_store_scan_aicalls(osp_store *s, const osp_aicall_query *q, osp_aicall_trace_fn fn,
                           void *ctx);

/* The session or user ids (key) whose traces have a record starting in [start_ns, end_ns]
 * (end_ns 0: unbounded), each with its bound; in no order, ids in arena. Lets a newest-first
 * list read only the traces of the ids it shows. 0, OSP_ENOMEM. */
int osp_store_aicall_bounds(osp_store *s, enum osp_aicall_key key, uint64_t start_ns,
                            uint64_t end_ns, osp_arena *arena, osp_aicall_bound **out, size_t *n);

/* Where the AI call index starts when its memory budget left older days out (the start
 * of the oldest day it holds, ns since the epoch); 0 when it holds every day within
 * retention, or the engine keeps no such index. Reads over earlier times miss records. */
uint64_t osp_store_aicalls_indexed_from(osp_store *s);

#endif
