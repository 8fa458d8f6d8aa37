/* libosprey's internal contracts between its modules: the provider's state, owned
 * attribute copies, recorded spans and log records, the batch processor and the OTLP/HTTP
 * transport. Nothing here is part of the public API (sdk/include/osprey/osprey.h). */
#ifndef OSPREY_SDK_INT_H
#define OSPREY_SDK_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "osprey/osprey.h"

/* ---- Owned attributes (attrs.c) ----------------------------------------------------------- */

typedef struct osprey__kv {
    char *key;
    osprey_value_type type;
    union {
        char *s;
        bool b;
        int64_t i;
        double d;
        struct {
            void *items; /* char *[] for strings, else the values */
            size_t n;
        } array;
    } v;
} osprey__kv;

typedef struct osprey__attrs {
    osprey__kv *items;
    uint32_t n, cap;
    uint32_t dropped; /* set past the limit, or invalid (NULL key) */
} osprey__attrs;

/* Copies src[0..n) into a, replacing values of keys already there; at most limit keys
 * (0 = no limit), further new keys counted in dropped. 0 or OSPREY_ENOMEM. */
int osprey__attrs_set(osprey__attrs *a, const osprey_attr *src, size_t n, size_t limit);
void osprey__attrs_cleanup(osprey__attrs *a);
/* Borrowed views of a's items (for the public-API-typed helpers): the value of key or NULL. */
const osprey__kv *osprey__attrs_find(const osprey__attrs *a, const char *key);
/* Appends the protobuf KeyValue (common.proto) of every item as field num of b. */
int osprey__attrs_put_pb(osp_buf *b, uint32_t num, const osprey__attrs *a);
/* Appends the items as JSON object members ("k":v, comma-separated, no braces). */
int osprey__attrs_put_json(osp_buf *b, const osprey__attrs *a);

/* ---- Configuration (config.c) and resource (resource.c) --------------------------------- */

typedef enum osprey__signal { OSPREY__TRACES, OSPREY__METRICS, OSPREY__LOGS } osprey__signal;

typedef struct osprey__transport_config {
    char *url;      /* full URL, e.g. http://localhost:4318/v1/traces */
    char **headers; /* "Name: value" strings for libcurl */
    size_t nheaders;
    uint32_t timeout_ms; /* per request */
    bool gzip;
} osprey__transport_config;

typedef struct osprey__batch_config {
    size_t max_queue, max_batch;
    uint32_t delay_ms, export_timeout_ms;
} osprey__batch_config;

typedef struct osprey__config {
    char *service_name;          /* NULL: unknown_service:<exe> */
    osprey__attrs resource_env;  /* OTEL_RESOURCE_ATTRIBUTES then opt->resource */
    osprey_sampler_kind sampler; /* never DEFAULT */
    double sampler_ratio;
    osprey_exporter_kind exporter[3]; /* by osprey__signal; never DEFAULT */
    osprey__transport_config transport[3];
    osprey__batch_config span_batch, log_batch;
    uint32_t metric_interval_ms, metric_timeout_ms;
    bool log_to_stderr;
    bool capture_genai_content; /* OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT */
} osprey__config;

/* Resolves opt (may be NULL) over the environment; bad values are reported on stderr and
 * replaced by defaults. 0 or OSPREY_ENOMEM. */
int osprey__config_load(osprey__config *c, const osprey_options *opt);
void osprey__config_cleanup(osprey__config *c);

/* The resource: detected attributes, then the config's. 0 or OSPREY_ENOMEM. */
int osprey__resource_build(osprey__attrs *out, const osprey__config *c);

/* ---- Stats ----------------------------------------------------------------------------- */

typedef struct osprey__stats {
    atomic_uint_fast64_t spans_started, spans_sampled_out, spans_exported, spans_dropped;
    atomic_uint_fast64_t logs_emitted, logs_exported, logs_dropped;
    atomic_uint_fast64_t metric_exports, export_requests, export_retries, export_failures;
} osprey__stats;

/* ---- Batch processor (batch.c) ------------------------------------------------------------
 * A bounded queue of items and a thread that hands them to export in batches: when
 * max_batch items wait, every delay_ms, or on flush. Adding never blocks: a full queue
 * refuses the item (the caller frees and counts it). */

typedef struct osprey__batch osprey__batch;

typedef struct osprey__batch_ops {
    /* Exports items[0..n) (still owned by the batch) within deadline_ns (CLOCK_MONOTONIC).
     * Returns 0, or a negative code when they were lost (then counted as dropped). */
    int (*export)(void *ctx, void *const *items, size_t n, uint64_t deadline_ns);
    void (*free_item)(void *ctx, void *item);
    void *ctx;
    atomic_uint_fast64_t *exported, *dropped; /* stats to add to */
} osprey__batch_ops;

int osprey__batch_create(const osprey__batch_config *c, const osprey__batch_ops *ops,
                         osprey__batch **out);
/* Queues item (ownership passes in on success). 0, OSPREY_EFULL (item still the caller's;
 * counted as dropped here), OSPREY_ESHUTDOWN. */
int osprey__batch_add(osprey__batch *b, void *item);
/* Exports everything queued before the call; waits at most timeout_ms. 0, ETIMEDOUT, EIO. */
int osprey__batch_flush(osprey__batch *b, uint32_t timeout_ms);
/* Flushes (timeout_ms), stops the thread, drops and counts what is left, frees b. */
int osprey__batch_destroy(osprey__batch *b, uint32_t timeout_ms);

/* ---- OTLP/HTTP transport (otlp_http.c) ----------------------------------------------------
 * POSTs application/x-protobuf bodies with libcurl (gzip when configured), retrying 429,
 * 502, 503 and 504 (and connection failures) with exponential backoff from 100 ms, doubled
 * up to 5 s with jitter, honouring Retry-After (seconds or HTTP date), until deadline_ns. */

typedef struct osprey__transport osprey__transport;

int osprey__transport_create(const osprey__transport_config *c, osprey__stats *stats,
                             osprey__transport **out);
/* 0 (2xx; a partial success is logged on stderr once), OSPREY_EIO (a non-retryable
 * status, or retries gave out), OSPREY_ETIMEDOUT (deadline passed). */
int osprey__transport_post(osprey__transport *t, const void *body, size_t n, uint64_t deadline_ns);
void osprey__transport_destroy(osprey__transport *t);
/* Caps every post, in flight or to come, at deadline_ns (CLOCK_MONOTONIC; the earliest cap
 * given wins): retries stop, a backoff wait or a request in flight ends. For shutting down
 * within a time. NULL is a no-op. Thread-safe. */
void osprey__transport_limit(osprey__transport *t, uint64_t deadline_ns);

/* ---- Tracing (trace.c, sampler.c, context.c, propagation.c) ------------------------------- */

#define OSPREY__SPAN_ATTR_LIMIT 128
#define OSPREY__SPAN_EVENT_LIMIT 128
#define OSPREY__SPAN_LINK_LIMIT 128

struct osprey_tracer {
    osprey_provider *provider;
    char *name, *version;
    _Atomic int level; /* osprey_detail */
    struct osprey_tracer *next;
};

typedef struct osprey__event {
    char *name;
    uint64_t time_ns;
    osprey__attrs attrs;
} osprey__event;

typedef struct osprey__link {
    uint8_t trace_id[16], span_id[8];
    uint8_t flags;
    char *trace_state;
    osprey__attrs attrs;
} osprey__link;

struct osprey_span_data {
    osprey_tracer *tracer;
    uint8_t trace_id[16], span_id[8], parent_span_id[8]; /* parent all zero: root */
    uint8_t flags;
    bool parent_remote;
    char *name;
    char *trace_state; /* NULL: none */
    osprey_span_kind kind;
    uint64_t start_ns, end_ns;
    osprey__attrs attrs;
    osprey__event *events;
    uint32_t nevents, cap_events, dropped_events;
    osprey__link *links;
    uint32_t nlinks, cap_links, dropped_links;
    osprey_status_code status;
    char *status_message;
};

void osprey__span_data_free(struct osprey_span_data *d);

/* A random non-zero trace id / span id (thread-local generator seeded from getrandom). */
void osprey__new_trace_id(uint8_t id[16]);
void osprey__new_span_id(uint8_t id[8]);

/* Appends one ExportTraceServiceRequest for spans[0..n) under resource, grouped by tracer
 * into ScopeSpans. 0 or OSPREY_ENOMEM. */
int osprey__encode_spans(osp_buf *out, const osprey__attrs *resource,
                         struct osprey_span_data *const *spans, size_t n);

/* ---- Logs (logs.c) ------------------------------------------------------------------------- */

struct osprey_logger {
    osprey_provider *provider;
    char *name;
    osprey_severity min_severity;
    struct osprey_logger *next;
};

typedef struct osprey__log_record {
    osprey_logger *logger;
    uint64_t time_ns, observed_ns;
    osprey_severity severity;
    char *event_name; /* NULL: none */
    char *body;
    osprey__attrs attrs;
    uint8_t trace_id[16], span_id[8]; /* zero: none */
    uint8_t flags;
} osprey__log_record;

void osprey__log_record_free(osprey__log_record *r);
int osprey__encode_logs(osp_buf *out, const osprey__attrs *resource,
                        osprey__log_record *const *recs, size_t n);

/* ---- Metrics (metrics.c, prometheus.c, runtime.c) -------------------------------------------- */

typedef struct osprey__metrics osprey__metrics;

/* Creates the meter registry and, unless the exporter is NONE, its periodic export thread
 * (interval from c; collection -> OTLP over transport, or console). */
int osprey__metrics_create(osprey_provider *p, osprey__metrics **out);
/* Collects and exports once, at most timeout_ms. 0, ETIMEDOUT, EIO. */
int osprey__metrics_flush(osprey__metrics *m, uint32_t timeout_ms);
/* Stops the thread (after a final export within timeout_ms) and frees every meter and
 * instrument. */
void osprey__metrics_destroy(osprey__metrics *m, uint32_t timeout_ms);

/* ---- The provider (provider.c) --------------------------------------------------------------- */

struct osprey_provider {
    osprey__config config;
    osprey__attrs resource;
    uint64_t start_ns; /* creation time: start of the cumulative metric streams */
    osprey__stats stats;
    osprey__transport *transport[3]; /* by osprey__signal; NULL unless exporter is OTLP */
    osprey__batch *spans, *logs;     /* NULL when that exporter is NONE */
    osprey__metrics *metrics;
    pthread_mutex_t lock; /* guards the lists below */
    osprey_tracer *tracers;
    osprey_logger *loggers;
};

/* Hands an ended span to the span batch (or frees it when there is none), counting it. */
void osprey__provider_emit_span(osprey_provider *p, struct osprey_span_data *d);
/* The same for a log record. */
void osprey__provider_emit_log(osprey_provider *p, osprey__log_record *r);

/* Console exporters (console.c): one JSON line per item to stderr. */
int osprey__console_spans(struct osprey_span_data *const *spans, size_t n);
int osprey__console_logs(osprey__log_record *const *recs, size_t n);

/* Writes 32 or 16 lowercase hex digits of id and a NUL to out. */
void osprey__hex(const uint8_t *id, size_t n, char *out);

/* CLOCK_MONOTONIC nanoseconds, for deadlines. */
uint64_t osprey__mono_ns(void);

#endif
