/* libosprey: OpenTelemetry instrumentation for C services and LLM applications.
 *
 * One provider holds the resource, the sampler, the exporters and the background threads
 * for the three signals: spans (tracer), metrics (meter) and logs (logger). Everything it
 * sends is OTLP/HTTP protobuf, so any OpenTelemetry backend receives it.
 *
 * Threading: every function is safe to call from any thread, except that a span handle
 * (osprey_span) is used by one thread at a time, and osprey_shutdown runs once, after
 * every other call on that provider has returned.
 *
 * Strings passed in are copied when a call keeps them (attributes, names, bodies); the
 * caller keeps ownership of its memory. Times are nanoseconds since the Unix epoch; 0 means
 * "now". Functions that can fail return 0 or a negative OSPREY_E* code. */
#ifndef OSPREY_OSPREY_H
#define OSPREY_OSPREY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OSPREY_API __attribute__((visibility("default")))

#define OSPREY_VERSION "0.1.0"

/* ---- Errors ----------------------------------------------------------------------------- */

enum {
    OSPREY_EINVAL = -1, /* a bad argument or an unparsable value */
    OSPREY_ENOMEM = -2, /* out of memory */
    OSPREY_EFULL = -3,  /* a bounded queue or buffer is full; the item was dropped */
    OSPREY_EIO = -4,    /* an export failed for good (after its retries) */
    OSPREY_ETIMEDOUT = -5,
    OSPREY_ESHUTDOWN = -6, /* the provider is shut down */
};

/* A static description of an OSPREY_E* code. */
OSPREY_API const char *osprey_strerror(int rc);

/* ---- Attributes -------------------------------------------------------------------------- */

typedef enum osprey_value_type {
    OSPREY_VALUE_STRING,
    OSPREY_VALUE_BOOL,
    OSPREY_VALUE_INT,
    OSPREY_VALUE_DOUBLE,
    OSPREY_VALUE_STRING_ARRAY, /* items: const char *const[] */
    OSPREY_VALUE_BOOL_ARRAY,   /* items: const bool[] */
    OSPREY_VALUE_INT_ARRAY,    /* items: const int64_t[] */
    OSPREY_VALUE_DOUBLE_ARRAY, /* items: const double[] */
} osprey_value_type;

/* A typed key/value. The key and the pointed-to values are borrowed for the call only. */
typedef struct osprey_attr {
    const char *key;
    osprey_value_type type;
    union {
        const char *s; /* NULL is an empty string */
        bool b;
        int64_t i;
        double d;
        struct {
            const void *items;
            size_t n;
        } array;
    } v;
} osprey_attr;

/* Builders for osprey_attr literals: osprey_attr a[] = {OSPREY_STR("k", "v"), ...}. */
#define OSPREY_STR(k, x) ((osprey_attr){.key = (k), .type = OSPREY_VALUE_STRING, .v.s = (x)})
#define OSPREY_BOOL(k, x) ((osprey_attr){.key = (k), .type = OSPREY_VALUE_BOOL, .v.b = (x)})
#define OSPREY_INT(k, x) ((osprey_attr){.key = (k), .type = OSPREY_VALUE_INT, .v.i = (x)})
#define OSPREY_DOUBLE(k, x) ((osprey_attr){.key = (k), .type = OSPREY_VALUE_DOUBLE, .v.d = (x)})
#define OSPREY_ARRAY(k, t, p, count)                                                               \
    ((osprey_attr){.key = (k), .type = (t), .v.array = {.items = (p), .n = (count)}})

/* ---- Provider ------------------------------------------------------------------------------
 * Configuration follows the OpenTelemetry SDK environment variables; a field of
 * osprey_options that is set (non-zero, non-NULL) wins over its variable:
 *   OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES (k=v,k2=v2, percent-decoded);
 *   OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG (below);
 *   OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_LOGS_EXPORTER: otlp (default),
 *     console, none;
 *   OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318; /v1/traces, /v1/metrics,
 *     /v1/logs appended), OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT (used as is),
 *     OTEL_EXPORTER_OTLP_HEADERS (k=v,...), OTEL_EXPORTER_OTLP_TIMEOUT (ms, default 10000),
 *     OTEL_EXPORTER_OTLP_COMPRESSION (gzip or none), and the per-signal forms of the last
 *     three;
 *   OTEL_BSP_MAX_QUEUE_SIZE (2048), OTEL_BSP_MAX_EXPORT_BATCH_SIZE (512),
 *     OTEL_BSP_SCHEDULE_DELAY (ms, 5000), OTEL_BSP_EXPORT_TIMEOUT (ms, 30000), and the
 *     OTEL_BLRP_* forms of the same for logs;
 *   OTEL_METRIC_EXPORT_INTERVAL (ms, 60000), OTEL_METRIC_EXPORT_TIMEOUT (ms, 30000).
 * The resource always holds service.name ("unknown_service:<process name>" when unset),
 * telemetry.sdk.{name,language,version}, host.name, process.pid,
 * process.executable.name and process.runtime.name. */

typedef struct osprey_provider osprey_provider;

typedef enum osprey_exporter_kind {
    OSPREY_EXPORTER_DEFAULT = 0, /* from the environment variable, else OTLP */
    OSPREY_EXPORTER_OTLP,
    OSPREY_EXPORTER_CONSOLE, /* one JSON line per item on stderr, for debugging */
    OSPREY_EXPORTER_NONE,
} osprey_exporter_kind;

typedef enum osprey_sampler_kind {
    OSPREY_SAMPLER_DEFAULT = 0, /* from OTEL_TRACES_SAMPLER, else parentbased_always_on */
    OSPREY_SAMPLER_ALWAYS_ON,
    OSPREY_SAMPLER_ALWAYS_OFF,
    OSPREY_SAMPLER_TRACEIDRATIO,
    OSPREY_SAMPLER_PARENTBASED_ALWAYS_ON,
    OSPREY_SAMPLER_PARENTBASED_ALWAYS_OFF,
    OSPREY_SAMPLER_PARENTBASED_TRACEIDRATIO,
} osprey_sampler_kind;

typedef struct osprey_options {
    const char *service_name;
    const osprey_attr *resource; /* added to (and overriding) the detected resource */
    size_t nresource;
    osprey_sampler_kind sampler;
    double sampler_ratio; /* traceidratio's probability in [0, 1]; with the sampler set */
    osprey_exporter_kind traces_exporter, metrics_exporter, logs_exporter;
    const char *endpoint; /* base OTLP/HTTP endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT */
    uint32_t export_timeout_ms;
    size_t max_queue_size;        /* spans and log records each */
    size_t max_export_batch_size; /* spans and log records each */
    uint32_t schedule_delay_ms;
    uint32_t metric_interval_ms;
    bool log_to_stderr; /* osprey_log also writes JSON lines to stderr */
} osprey_options;

/* Creates a provider from opt (NULL: all from the environment) and starts its export
 * threads. A bad environment value is reported on stderr and its default used. NULL on
 * out of memory. */
OSPREY_API osprey_provider *osprey_provider_create(const osprey_options *opt);

/* Exports everything queued so far (spans, log records, and one metric collection) and
 * waits for it, at most timeout_ms. 0, OSPREY_ETIMEDOUT, OSPREY_EIO (some export failed;
 * osprey_stats says how much). */
OSPREY_API int osprey_flush(osprey_provider *p, uint32_t timeout_ms);

/* Flushes (at most timeout_ms), stops the threads and frees p and every tracer, meter,
 * instrument and logger it made. End spans before: a span ended after its provider shut
 * down uses freed memory. Returns as osprey_flush. */
OSPREY_API int osprey_shutdown(osprey_provider *p, uint32_t timeout_ms);

typedef struct osprey_stats {
    uint64_t spans_started, spans_sampled_out, spans_exported, spans_dropped;
    uint64_t logs_emitted, logs_exported, logs_dropped;
    uint64_t metric_exports, export_requests, export_retries, export_failures;
} osprey_stats;

/* Counters since creation. Dropped = refused by a full queue, failed for good in export,
 * or lost at shutdown; never silent. */
OSPREY_API void osprey_get_stats(osprey_provider *p, osprey_stats *out);

/* ---- Span context and propagation ----------------------------------------------------- */

typedef struct osprey_span_context {
    uint8_t trace_id[16]; /* all zero: no context */
    uint8_t span_id[8];
    uint8_t trace_flags; /* bit 0: sampled */
    bool is_remote;      /* came from osprey_extract */
    /* W3C tracestate (list-members text) or NULL. Borrowed: it lives as long as the span
     * or the osprey_carrier_context it came from. A span that is not recorded has none
     * (it owns no memory to keep it in). */
    const char *trace_state;
} osprey_span_context;

/* True when c holds a trace id and a span id (both non-zero). */
OSPREY_API bool osprey_span_context_valid(const osprey_span_context *c);

#define OSPREY_TRACEPARENT_LEN 55 /* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define OSPREY_TRACESTATE_MAX 512
#define OSPREY_BAGGAGE_MAX 8192

/* Writes c as a traceparent value and a NUL to out (OSPREY_TRACEPARENT_LEN + 1 bytes). */
OSPREY_API void osprey_traceparent_format(const osprey_span_context *c, char *out);

/* Parses a traceparent value by W3C Trace Context level 2: version 00 exactly, or a
 * higher version's first four fields; lowercase hex; non-zero ids. 0 or OSPREY_EINVAL. */
OSPREY_API int osprey_traceparent_parse(const char *s, osprey_span_context *out);

/* Baggage: a W3C baggage list (name=value;properties,...), values percent-decoded. */
typedef struct osprey_baggage osprey_baggage;
OSPREY_API osprey_baggage *osprey_baggage_create(void);
OSPREY_API void osprey_baggage_destroy(osprey_baggage *b);
/* Sets (replaces) name; value is stored decoded. 0, OSPREY_EINVAL (bad name), ENOMEM. */
OSPREY_API int osprey_baggage_set(osprey_baggage *b, const char *name, const char *value);
/* The decoded value of name, or NULL. Valid until b changes. */
OSPREY_API const char *osprey_baggage_get(const osprey_baggage *b, const char *name);
OSPREY_API size_t osprey_baggage_count(const osprey_baggage *b);
/* Entry i (0 <= i < count): its name and decoded value. */
OSPREY_API void osprey_baggage_at(const osprey_baggage *b, size_t i, const char **name,
                                  const char **value);
/* Adds the members of a baggage header value; malformed members are skipped, a header past
 * OSPREY_BAGGAGE_MAX bytes or 180 members is cut there. 0 or OSPREY_ENOMEM. */
OSPREY_API int osprey_baggage_parse(osprey_baggage *b, const char *header);
/* Writes the header value (values percent-encoded) and a NUL to out; the length it needed
 * (without the NUL), which is > cap - 1 when it did not fit. */
OSPREY_API size_t osprey_baggage_format(const osprey_baggage *b, char *out, size_t cap);

/* HTTP header access for inject/extract: set adds or replaces a header; get returns the
 * value of a header (case-insensitive name) or NULL. */
typedef void (*osprey_header_set_fn)(void *carrier, const char *name, const char *value);
typedef const char *(*osprey_header_get_fn)(void *carrier, const char *name);

/* A context received from a carrier: owns the trace state and baggage text. */
typedef struct osprey_carrier_context {
    osprey_span_context span; /* invalid when no (valid) traceparent came */
    char trace_state[OSPREY_TRACESTATE_MAX + 1];
    osprey_baggage *baggage; /* NULL when no baggage header came; owned, see below */
} osprey_carrier_context;

/* Writes traceparent (and tracestate when c has one) for c, and baggage for b (may be
 * NULL), through set. */
OSPREY_API void osprey_inject(const osprey_span_context *c, const osprey_baggage *b,
                              osprey_header_set_fn set, void *carrier);

/* Reads traceparent, tracestate and baggage through get into out (is_remote set). A
 * missing or bad traceparent gives an invalid span context, not an error. 0, or
 * OSPREY_ENOMEM. Release with osprey_carrier_context_cleanup. */
OSPREY_API int osprey_extract(osprey_header_get_fn get, void *carrier, osprey_carrier_context *out);
OSPREY_API void osprey_carrier_context_cleanup(osprey_carrier_context *c);

/* ---- Current context (per thread) ----------------------------------------------------------
 * Each thread has a stack of span contexts; a span started without an explicit parent is a
 * child of the top. Event-loop code that hops between requests passes contexts
 * explicitly instead (osprey_span_options.parent) or attaches and detaches around each
 * callback. Contexts are copied in by value (the trace_state text too, cut at
 * OSPREY_TRACESTATE_MAX), so ending a span that is current is safe. */

typedef struct osprey_scope {
    uint32_t depth; /* the stack depth to go back to */
} osprey_scope;

/* Makes c the thread's current context until osprey_detach(the returned scope). Scopes
 * nest and must be detached in reverse order; the stack holds 64 contexts, deeper
 * attaches are ignored (and their detach is a no-op). */
OSPREY_API osprey_scope osprey_attach(const osprey_span_context *c);
OSPREY_API void osprey_detach(osprey_scope s);

/* Copies the thread's current context to *out; false (and an invalid *out) when none. */
OSPREY_API bool osprey_current_context(osprey_span_context *out);

/* ---- Tracing ------------------------------------------------------------------------------ */

/* Detail levels, as Kitex's stats levels: a tracer at DISABLED records nothing (its spans
 * still carry and propagate context); at BASE it records spans (request start and finish);
 * at DETAILED it also records the detail events (osprey_span_detail_event) and the spans
 * started with detail = OSPREY_DETAIL_DETAILED. */
typedef enum osprey_detail {
    OSPREY_DETAIL_DISABLED = 0,
    OSPREY_DETAIL_BASE = 1,
    OSPREY_DETAIL_DETAILED = 2,
} osprey_detail;

typedef struct osprey_tracer osprey_tracer;

/* The tracer for an instrumentation scope (name required, version may be NULL) at detail
 * level. Tracers are owned by p and live until osprey_shutdown; asking twice for the same
 * name and version gives the same tracer (its level set to the latest). NULL on ENOMEM. */
OSPREY_API osprey_tracer *osprey_tracer_get(osprey_provider *p, const char *name,
                                            const char *version, osprey_detail level);
OSPREY_API void osprey_tracer_set_detail(osprey_tracer *t, osprey_detail level);

typedef enum osprey_span_kind {
    OSPREY_SPAN_INTERNAL = 1, /* OTLP's numbering */
    OSPREY_SPAN_SERVER = 2,
    OSPREY_SPAN_CLIENT = 3,
    OSPREY_SPAN_PRODUCER = 4,
    OSPREY_SPAN_CONSUMER = 5,
} osprey_span_kind;

typedef enum osprey_status_code {
    OSPREY_STATUS_UNSET = 0,
    OSPREY_STATUS_OK = 1,
    OSPREY_STATUS_ERROR = 2,
} osprey_status_code;

typedef struct osprey_link {
    osprey_span_context context;
    const osprey_attr *attrs;
    size_t nattrs;
} osprey_link;

typedef struct osprey_span_options {
    osprey_span_kind kind; /* 0: INTERNAL */
    /* The parent: NULL for the thread's current context; an invalid context (or root =
     * true) starts a new trace. */
    const osprey_span_context *parent;
    bool root;
    uint64_t start_ns;        /* 0: now */
    const osprey_attr *attrs; /* available to the sampler, then set on the span */
    size_t nattrs;
    const osprey_link *links;
    size_t nlinks;
    osprey_detail detail; /* 0 or BASE: a base span; DETAILED: only at DETAILED level */
} osprey_span_options;

struct osprey_span_data; /* internal: the recorded span */

/* A span handle, by value. A span that is not recorded (sampled out, or below the tracer's
 * detail level) has data == NULL and costs no allocation; every osprey_span_* call accepts
 * it and does nothing, and its context still propagates (flags without the sampled bit,
 * no tracestate). */
typedef struct osprey_span {
    osprey_span_context context; /* read-only */
    struct osprey_span_data *data;
} osprey_span;

/* Starts a span named name (copied) under opt (NULL: INTERNAL, current parent, now). */
OSPREY_API osprey_span osprey_span_start(osprey_tracer *t, const char *name,
                                         const osprey_span_options *opt);

OSPREY_API bool osprey_span_is_recording(const osprey_span *s);

/* Sets attributes; a key set again replaces its value. At most 128 attributes, 128 events
 * and 128 links per span (OTel's default limits): past them items are dropped and counted
 * in the span's dropped_*_count. */
OSPREY_API void osprey_span_set_attrs(osprey_span *s, const osprey_attr *attrs, size_t n);
OSPREY_API void osprey_span_set_attr(osprey_span *s, osprey_attr a);

OSPREY_API void osprey_span_add_event(osprey_span *s, const char *name, uint64_t time_ns,
                                      const osprey_attr *attrs, size_t n);
/* An event recorded only when the span's tracer is at OSPREY_DETAIL_DETAILED (connect,
 * serialize, first byte ...). */
OSPREY_API void osprey_span_detail_event(osprey_span *s, const char *name);
OSPREY_API void osprey_span_add_link(osprey_span *s, const osprey_span_context *c,
                                     const osprey_attr *attrs, size_t n);

/* Sets the status; message (may be NULL) is kept only for ERROR. OK is final: later UNSET
 * or ERROR are ignored, as the OTel API says. */
OSPREY_API void osprey_span_set_status(osprey_span *s, osprey_status_code code,
                                       const char *message);
/* Records an error the OTel way: an "exception" event with exception.type and
 * exception.message, error.type = type, status ERROR with message. */
OSPREY_API void osprey_span_record_error(osprey_span *s, const char *type, const char *message);
OSPREY_API void osprey_span_update_name(osprey_span *s, const char *name);

/* Ends the span at end_ns (0: now) and hands it to the batch processor; s->data becomes
 * NULL. Ending twice, or a non-recording span, does nothing. */
OSPREY_API void osprey_span_end(osprey_span *s, uint64_t end_ns);

/* Shortcut: attach the span's context (osprey_attach(&s->context)). */
OSPREY_API osprey_scope osprey_span_attach(const osprey_span *s);

/* ---- Metrics ----------------------------------------------------------------------------
 * Instruments aggregate in memory per attribute set (at most 2000 sets per instrument,
 * past that into one set with otel.metric.overflow = true) and are exported every
 * metric_interval_ms with cumulative temporality. Names follow OTel's instrument-name
 * syntax; a bad name gives NULL. Asking twice for the same name gives the same
 * instrument. */

typedef struct osprey_meter osprey_meter;
typedef struct osprey_instrument osprey_instrument;
typedef struct osprey_observer osprey_observer;

OSPREY_API osprey_meter *osprey_meter_get(osprey_provider *p, const char *name,
                                          const char *version);

/* Monotonic sum: osprey_record adds (negative values are ignored). */
OSPREY_API osprey_instrument *osprey_counter(osprey_meter *m, const char *name, const char *unit,
                                             const char *description);
/* Non-monotonic sum: osprey_record adds any value. */
OSPREY_API osprey_instrument *osprey_updown_counter(osprey_meter *m, const char *name,
                                                    const char *unit, const char *description);
/* Explicit-bucket histogram over bounds[0..n) (strictly increasing, copied); bounds NULL
 * gives OTel's defaults (0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500,
 * 10000). A value v falls in the first bucket i with v <= bounds[i]. */
OSPREY_API osprey_instrument *osprey_histogram(osprey_meter *m, const char *name, const char *unit,
                                               const char *description, const double *bounds,
                                               size_t nbounds);
/* Last value wins. */
OSPREY_API osprey_instrument *osprey_gauge(osprey_meter *m, const char *name, const char *unit,
                                           const char *description);

/* Records v for the attribute set attrs (order does not matter). */
OSPREY_API void osprey_record(osprey_instrument *i, double v, const osprey_attr *attrs, size_t n);

/* Observable instruments: cb runs on the export thread at each collection (and for
 * osprey_metrics_prometheus) and reports the current values with osprey_observe. */
typedef void (*osprey_observe_fn)(osprey_observer *o, void *arg);
typedef enum osprey_observable_kind {
    OSPREY_OBSERVABLE_COUNTER,        /* reports monotonic cumulative totals */
    OSPREY_OBSERVABLE_UPDOWN_COUNTER, /* reports cumulative totals */
    OSPREY_OBSERVABLE_GAUGE,
} osprey_observable_kind;
OSPREY_API osprey_instrument *osprey_observable(osprey_meter *m, osprey_observable_kind kind,
                                                const char *name, const char *unit,
                                                const char *description, osprey_observe_fn cb,
                                                void *arg);
OSPREY_API void osprey_observe(osprey_observer *o, double v, const osprey_attr *attrs, size_t n);

/* Renders every metric of p in the Prometheus text format 0.0.4 (names with units and
 * _total as OTel's Prometheus exporter does, resource as target_info), for a service's
 * own /metrics. *out is malloc'd, NUL-terminated; the caller frees it. 0 or ENOMEM. */
OSPREY_API int osprey_metrics_prometheus(osprey_provider *p, char **out, size_t *len);

/* Registers process runtime metrics on p, read from /proc at each collection:
 * process.cpu.time (s, by cpu.mode user/system), process.memory.usage (RSS, bytes),
 * process.memory.virtual, process.thread.count, process.open_file_descriptor.count; and,
 * when libnvidia-ml.so.1 loads (dlopen; absent is fine), per GPU the process uses:
 * process.gpu.memory.usage (bytes) and hw.gpu.utilization (ratio), by hw.id. 0 or
 * ENOMEM. */
OSPREY_API int osprey_runtime_metrics_start(osprey_provider *p);

/* ---- Logs -------------------------------------------------------------------------------- */

typedef enum osprey_severity {
    OSPREY_TRACE = 1, /* OTel SeverityNumber values */
    OSPREY_DEBUG = 5,
    OSPREY_INFO = 9,
    OSPREY_WARN = 13,
    OSPREY_ERROR = 17,
    OSPREY_FATAL = 21,
} osprey_severity;

typedef struct osprey_logger osprey_logger;

/* A logger for an instrumentation scope, dropping records below min_severity. */
OSPREY_API osprey_logger *osprey_logger_get(osprey_provider *p, const char *name,
                                            osprey_severity min_severity);

/* Emits a record with body text and attributes, stamped with the time and with the trace
 * and span ids of the thread's current context. It goes to the log exporter's batch queue
 * (OTLP) and, with log_to_stderr, as one JSON line to stderr:
 *   {"time":"2026-...Z","level":"INFO","msg":"...","trace_id":"..","span_id":"..",k:v...} */
OSPREY_API void osprey_log(osprey_logger *l, osprey_severity sev, const char *body,
                           const osprey_attr *attrs, size_t n);
OSPREY_API void osprey_logf(osprey_logger *l, osprey_severity sev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with an explicit context (event-loop code) and event name (may be NULL). */
OSPREY_API void osprey_log_ctx(osprey_logger *l, osprey_severity sev,
                               const osprey_span_context *ctx, const char *event_name,
                               const char *body, const osprey_attr *attrs, size_t n);

/* ---- GenAI ----------------------------------------------------------------------------------
 * An LLM call as the OpenTelemetry gen_ai conventions (v1.41) describe it: a CLIENT span
 * named "{operation} {request_model}" with gen_ai.* attributes, a "gen_ai.first_token"
 * event at the first token, and the metrics gen_ai.client.operation.duration,
 * gen_ai.client.token.usage, gen_ai.client.operation.time_to_first_chunk and
 * gen_ai.client.operation.time_per_output_chunk with the recommended buckets. Message
 * content (gen_ai.input.messages / gen_ai.output.messages, JSON text) is recorded only
 * when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true, cut to
 * OSPREY_GENAI_CONTENT_MAX bytes (at a UTF-8 boundary). */

#define OSPREY_GENAI_CONTENT_MAX 16384

typedef struct osprey_llm_request {
    const char *operation;             /* gen_ai.operation.name; NULL: "chat" */
    const char *provider;              /* gen_ai.provider.name (openai, anthropic, ...) */
    const char *request_model;         /* gen_ai.request.model */
    const char *conversation_id;       /* gen_ai.conversation.id, or NULL */
    const char *user_id;               /* user.id, or NULL */
    const char *server_address;        /* server.address, or NULL */
    int server_port;                   /* server.port, 0 = unset */
    bool streaming;                    /* gen_ai.request.stream */
    int64_t max_tokens;                /* gen_ai.request.max_tokens, 0 = unset */
    double temperature;                /* gen_ai.request.temperature, < 0 = unset */
    const char *input_messages;        /* JSON (§6.5 input messages), opt-in, or NULL */
    const osprey_span_context *parent; /* NULL: the thread's current context */
} osprey_llm_request;

typedef struct osprey_llm_response {
    const char *response_model;        /* gen_ai.response.model */
    const char *response_id;           /* gen_ai.response.id */
    const char *const *finish_reasons; /* gen_ai.response.finish_reasons */
    size_t nfinish_reasons;
    int64_t input_tokens;          /* gen_ai.usage.input_tokens (cached included), < 0 unset */
    int64_t output_tokens;         /* gen_ai.usage.output_tokens, < 0 unset */
    int64_t cache_read_tokens;     /* gen_ai.usage.cache_read.input_tokens, < 0 unset */
    int64_t cache_creation_tokens; /* gen_ai.usage.cache_creation.input_tokens, < 0 unset */
    const char *output_messages;   /* JSON (§6.5 output messages), opt-in, or NULL */
    const char *error_type;        /* error.type on failure (e.g. "timeout", "429"), or NULL */
    const char *error_message;
} osprey_llm_response;

typedef struct osprey_llm_call osprey_llm_call;

/* Begins a call: starts its span (recorded or not, by the sampler) and its clock. NULL
 * only on ENOMEM; every other function accepts NULL and does nothing. */
OSPREY_API osprey_llm_call *osprey_llm_begin(osprey_tracer *t, osprey_meter *m,
                                             const osprey_llm_request *r);
/* The call's span context, for propagation to the model server. */
OSPREY_API const osprey_span_context *osprey_llm_context(const osprey_llm_call *c);
/* Marks the first token (or chunk) now: the event, gen_ai.response.time_to_first_chunk and
 * the time-to-first-chunk metric. Later calls are ignored. */
OSPREY_API void osprey_llm_first_token(osprey_llm_call *c);
/* Records a streamed chunk now (the first one also marks the first token); each chunk after
 * the first records time_per_output_chunk. */
OSPREY_API void osprey_llm_chunk(osprey_llm_call *c);
/* Ends the call with r (may be NULL), records its metrics, ends the span and frees c. */
OSPREY_API void osprey_llm_end(osprey_llm_call *c, const osprey_llm_response *r);

/* ---- Agent callbacks ---------------------------------------------------------------------
 * As Eino's callback handlers: components report their runs to every registered handler;
 * a run's state comes from on_start and goes back to on_end / on_error. Streams are handed
 * over complete, each chunk with its arrival time. */

typedef enum osprey_component {
    OSPREY_COMPONENT_AGENT,
    OSPREY_COMPONENT_CHAT_MODEL,
    OSPREY_COMPONENT_TOOL,
    OSPREY_COMPONENT_RETRIEVER,
    OSPREY_COMPONENT_WORKFLOW,
} osprey_component;

typedef struct osprey_run_info {
    osprey_component component;
    const char *name; /* agent, tool, workflow or retriever name; chat model: the model */
    const char *type; /* implementation (e.g. provider "openai", tool type "function") */
} osprey_run_info;

/* What a run takes or gives; fields unset are NULL or < 0. */
typedef struct osprey_cb_payload {
    const char *content;      /* text or JSON: messages, tool arguments or result, query */
    const char *tool_call_id; /* tools */
    const char *conversation_id;
    int64_t input_tokens, output_tokens; /* chat models */
    const char *finish_reason;
} osprey_cb_payload;

typedef struct osprey_cb_chunk {
    const char *content;
    uint64_t time_ns;
} osprey_cb_chunk;

typedef struct osprey_cb_stream {
    const osprey_cb_chunk *chunks;
    size_t n;
    const osprey_cb_payload *summary; /* totals (tokens ...) once the stream ended, or NULL */
} osprey_cb_stream;

typedef struct osprey_callback_handler {
    void *self;
    void *(*on_start)(void *self, const osprey_run_info *info, const osprey_cb_payload *input);
    void (*on_end)(void *self, void *run, const osprey_run_info *info,
                   const osprey_cb_payload *output);
    void (*on_error)(void *self, void *run, const osprey_run_info *info, const char *error);
    void *(*on_start_with_stream_input)(void *self, const osprey_run_info *info,
                                        const osprey_cb_stream *input);
    void (*on_end_with_stream_output)(void *self, void *run, const osprey_run_info *info,
                                      const osprey_cb_stream *output);
} osprey_callback_handler;

/* Registers h (copied) for every later run in the process; at most 16 handlers. 0 or
 * OSPREY_EFULL. */
OSPREY_API int osprey_callbacks_register(const osprey_callback_handler *h);
/* Unregisters every handler (tests, shutdown). */
OSPREY_API void osprey_callbacks_reset(void);

/* A component run as reported to the handlers. */
typedef struct osprey_run osprey_run;
/* Reports a run's start to every handler (on_start, or on_start_with_stream_input when
 * stream_input is not NULL). NULL on ENOMEM; the other calls accept NULL. */
OSPREY_API osprey_run *osprey_run_start(const osprey_run_info *info, const osprey_cb_payload *input,
                                        const osprey_cb_stream *stream_input);
/* Reports the end (on_end, or on_end_with_stream_output when stream_output is not NULL)
 * and frees r. */
OSPREY_API void osprey_run_end(osprey_run *r, const osprey_cb_payload *output,
                               const osprey_cb_stream *stream_output);
/* Reports a failure (on_error) and frees r. */
OSPREY_API void osprey_run_error(osprey_run *r, const char *error);

/* The ready handler: turns runs into spans on t, children of the thread's current context
 * (and current themselves while they run, on the thread that started them):
 * agent "invoke_agent {name}" (gen_ai.agent.name), tool "execute_tool {name}"
 * (gen_ai.tool.name, gen_ai.tool.type, gen_ai.tool.call.id), chat model "chat {name}"
 * (a GenAI call as osprey_llm_*, TTFT from the first stream chunk), retriever
 * "retrieval {name}" (gen_ai.data_source.id), workflow "invoke_workflow {name}"
 * (gen_ai.workflow.name); errors set error.type and status ERROR. m may be NULL (no GenAI
 * metrics). */
OSPREY_API osprey_callback_handler osprey_tracing_handler(osprey_tracer *t, osprey_meter *m);

/* ---- Clock ------------------------------------------------------------------------------- */

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME). */
OSPREY_API uint64_t osprey_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif
