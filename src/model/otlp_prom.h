/* OTLP metric rows (model/metric.h) to Prometheus series (model/series.h), following the
 * OpenTelemetry "Prometheus and OpenMetrics Compatibility" spec, OTLP-to-Prometheus part.
 * Implemented in otlp_prom.c (translation), prom_names.c (names and units) and
 * otlp_delta.c (delta-to-cumulative state).
 *
 * Mapping, per data point:
 * - gauge -> gauge; cumulative monotonic sum -> counter "<name>_total"; cumulative
 *   non-monotonic sum -> gauge; delta sums (monotonic or not) are accumulated into
 *   cumulative values first (see osp_delta_state) and map the same way;
 * - histogram -> "<name>_bucket"{le} with cumulative counts ending with le="+Inf" (= count),
 *   "<name>_sum" when the point has a sum, "<name>_count"; delta histograms are accumulated;
 * - exponential histogram -> one series "<name>" (no _bucket/_sum/_count suffix) with a
 *   native histogram sample per point, as Prometheus's OTLP receiver writes it: schema =
 *   scale, a scale above OSP_HIST_SCHEMA_MAX (8) brought down to it by merging buckets
 *   (each step halves the resolution: bucket i goes to floor(i / 2)), a scale below
 *   OSP_HIST_SCHEMA_MIN (-4) rejected; OTLP's bucket i is (base^i, base^(i+1)], which is
 *   Prometheus's bucket i + 1 (negative buckets mirror it); zero threshold and zero count
 *   as sent, count, sum (0 for a point without one, as Prometheus's translator writes),
 *   hint UNKNOWN; spans cover only the buckets with counts. A point osp_hist_check refuses
 *   (a count below the bucket total, a negative or NaN zero threshold) is rejected. Delta
 *   points are accumulated first (osp_hist_add), so the series is a cumulative one with
 *   hint UNKNOWN too (Prometheus stores delta points as they are, marked GAUGE);
 * - summary -> "<name>"{quantile}, "<name>_sum", "<name>_count";
 * - a point flagged NO_RECORDED_VALUE gives the stale marker (OSP_STALE_NAN_BITS) on each of
 *   its series (an exponential histogram's: a histogram whose sum has those bits);
 *   timestamps are time_unix_nano / 1e6 (ms).
 * Labels: the point's attributes, the resource attributes listed in opt->promote, job
 * (service.namespace "/" service.name, or service.name), instance (service.instance.id),
 * otel_scope_name / otel_scope_version (unless opt->no_scope_labels), and le / quantile;
 * the later ones in that list win over attributes of the same label name. Attribute keys
 * that map to one label name have their values joined with ';' in the order of the
 * original keys. Values are osp_value_to_text's (arrays and kvlists as JSON); labels with
 * empty values are left out; labels are sorted by name.
 * target_info: one gauge series of value 1 per distinct (job, instance) whose resource has
 * attributes besides service.name, service.namespace and service.instance.id, labelled
 * with those attributes plus job and instance, at the newest point time of the resource.
 * Metadata: one osp_metric_meta per metric family (name without _total/_bucket/...), with
 * the family's kind, help from the description and the Prometheus unit word, as the spec
 * converts it for the UNIT metadata and the name suffix (osp_prom_unit; "ratio" for a
 * gauge of unit "1", as its name gets; also when the name already holds the unit).
 * Each converted point adds its own series (a label set may repeat within the batch when
 * several points share it). */
#ifndef OSP_MODEL_OTLP_PROM_H
#define OSP_MODEL_OTLP_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"
#include "model/metric.h"
#include "model/series.h"

/* How metric names and label names are translated (the spec's translation strategies). */
enum osp_prom_naming {
    /* Default ("UnderscoreEscapingWithSuffixes"): characters outside [a-zA-Z0-9_:] become
     * '_' (label names: outside [a-zA-Z0-9_]), runs of them one '_' in metric names, the
     * unit and _total / _ratio suffixes are added. */
    OSP_PROM_UNDERSCORE_SUFFIXES = 0,
    /* "NoTranslation": metric names and label names kept as they are (any UTF-8), no unit
     * or type suffixes (classic histograms' _bucket/_sum/_count suffixes are still added). */
    OSP_PROM_NO_TRANSLATION,
};

typedef struct osp_otlp_prom_options {
    int naming;             /* enum osp_prom_naming */
    const osp_str *promote; /* resource attribute keys copied to labels of every series */
    size_t npromote;
    int no_scope_labels; /* 1: no otel_scope_name / otel_scope_version labels */
    int no_target_info;  /* 1: no target_info series */
} osp_otlp_prom_options;

/* Points that could not be converted, for OTLP partial_success.rejected_data_points. */
typedef struct osp_otlp_prom_report {
    int64_t rejected;
    char message[256]; /* the first, e.g. "metric \"http.duration\": data point without
                          a value"; "" if none */
} osp_otlp_prom_report;

/* The most buckets (positive and negative) an accumulated delta exponential histogram
 * keeps: past it, its resolution is halved (schema - 1) until it fits, as Prometheus
 * reduces a histogram past its bucket limit. Schema -4 always fits (it covers the doubles
 * in under 300 buckets). */
#define OSP_PROM_HIST_MAX_BUCKETS 1024

/* Delta-to-cumulative state: one stream per output series identity (the key callers
 * build: family, kind and labels), holding the running totals of a delta sum or histogram,
 * as the collector's deltatocumulative processor does. A point adds to its stream when its
 * start time is 0 or not earlier than the stream's last time: a later start is a gap (SDKs
 * send no point for a cycle without measurements), which means no increments, so the
 * totals carry on. A start earlier than the stream's last time (an overlap: out of order
 * or a duplicate) or a time not newer than the last is refused. At most max_streams
 * streams are kept; adding one more evicts the least recently updated, whose next point
 * then starts afresh. Memory: the streams plus one hash slot per stream. All functions are
 * safe to call from several threads at once on one state. */
typedef struct osp_delta_state osp_delta_state;

/* A state for at most max_streams streams (0 picks 100000); NULL when out of memory. */
osp_delta_state *osp_delta_state_create(size_t max_streams);
/* Frees the state and its streams; NULL is a no-op. */
void osp_delta_state_destroy(osp_delta_state *s);
/* Streams currently kept. */
size_t osp_delta_state_streams(osp_delta_state *s);

/* A delta observation, and the cumulative totals osp_delta_add gives back. */
typedef struct osp_delta_point {
    uint64_t start_ns, time_ns;
    double value;   /* sums */
    uint64_t count; /* classic histograms: count, sum, buckets (nbuckets = nbounds + 1, or 0) */
    double sum;
    const uint64_t *buckets;
    const double *bounds;
    size_t nbuckets;
    const osp_histogram *hist; /* exponential histograms: the point as a native histogram */
} osp_delta_point;

/* Adds p to the stream named key (created on first use; a classic histogram whose bounds
 * differ from the stream's, or a change between classic and exponential, restarts it) and
 * writes the totals to *cum: start_ns is the stream's start, bounds are p's, the classic
 * bucket counts are in arena, and hist is p->hist when p (re)started the stream, else the
 * sum of the stream's histogram and p's (osp_hist_add: the coarser schema, the larger zero
 * threshold) in arena; a histogram past OSP_PROM_HIST_MAX_BUCKETS buckets is reduced first.
 * The stream keeps a copy of its own. Returns 0 when p added to the stream, 1 when it
 * (re)started it, OSP_EINVAL when p overlaps the stream's last point (nothing changes),
 * OSP_ENOMEM. */
int osp_delta_add(osp_delta_state *s, osp_str key, const osp_delta_point *p, osp_arena *arena,
                  osp_delta_point *cum);
/* Drops the stream named key, if any (its series went stale). */
void osp_delta_forget(osp_delta_state *s, osp_str key);

/* Names (prom_names.c). Each appends to out and returns 0 or the buffer's error. le and
 * quantile values are written with core/numfmt.h's osp_buf_float (Go's 'f', -1 format,
 * as the Prometheus OTLP translator writes them). */

/* The Prometheus metric family name of an OTLP metric: with OSP_PROM_UNDERSCORE_SUFFIXES,
 * name tokens (runs of [a-zA-Z0-9:]) joined by '_', the unit suffix (osp_prom_unit's
 * words, each part left out when the name already has it as a token), then "total" for
 * counters (any "total" token moved last) and "ratio" for gauges of unit "1"; '_' first
 * when it would start with a digit. With OSP_PROM_NO_TRANSLATION, the name as it is.
 * counter and gauge say which of the two the family is. Appends nothing when no token is
 * left. The family of a counter is returned without "_total": *total is set to 1 when
 * "_total" is to be appended to its series name. */
int osp_prom_metric_name(osp_str name, osp_str unit, int counter, int gauge, int naming,
                         osp_buf *out, int *total);
/* A label name for an attribute key: characters outside [a-zA-Z0-9_] to '_' (one per
 * character), "key_" before a leading digit, "key" before a leading '_' (so no attribute
 * reaches the reserved "__" names). Appends nothing for an empty key. With
 * OSP_PROM_NO_TRANSLATION, the key as it is. */
int osp_prom_label_name(osp_str key, int naming, osp_buf *out);
/* The Prometheus unit of a UCUM unit: annotations ({...}) dropped, known units as words
 * (s -> seconds, By -> bytes, KiBy -> kibibytes, % -> percent, 1 -> nothing, ...), "a/b"
 * as "<a>_per_<b>" with b singular (s -> second, h -> hour, ...), other text cleaned to
 * [a-zA-Z0-9_:]. */
int osp_prom_unit(osp_str unit, osp_buf *out);
/* Converts every point of in and appends series and metadata to out (strings copied into
 * out's arena, so in may be released afterwards). opt NULL means the defaults. delta may
 * be NULL: delta sums and histograms are then rejected. Rejected points (no value, an
 * unspecified temporality, classic bucket counts that do not add up to count, an
 * exponential histogram of a scale below -4 or one osp_hist_check refuses, a delta point
 * overlapping the last one of its stream, a name that translates to nothing, an unknown type) are
 * counted in rep. Returns 0 (possibly with rejections), OSP_ENOMEM, or OSP_ECORRUPT for an attrs
 * blob the decoders would not have produced (out may then hold part of the series). */
int osp_otlp_to_prom(const osp_metric_batch *in, const osp_otlp_prom_options *opt,
                     osp_delta_state *delta, osp_series_batch *out, osp_otlp_prom_report *rep);

#endif
