/* Log records as Loki sees them: the stream labels a record is indexed under, the
 * structured metadata it carries, its body as a log line, and the time it is filed at.
 * The log store indexes streams by these labels; LogQL and the Loki API read records
 * through the same functions, so ingest and query agree on one mapping (docs/logs.md). */
#ifndef OSP_MODEL_LOGSTREAM_H
#define OSP_MODEL_LOGSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "model/labels.h"
#include "model/log.h"
#include "model/loglevel.h"

/* Which resource attributes become stream labels (osp_log_record.labels_from). */
enum osp_log_labels_from {
    /* OTLP and JSON lines: the resource attributes Loki promotes by default (service.name,
     * service.namespace, service.instance.id, deployment.environment[.name], cloud.region,
     * cloud.availability_zone, container.name and the k8s.* workload names), their names
     * with every character outside [a-zA-Z0-9_] turned into '_'. The other resource
     * attributes become structured metadata. */
    OSP_LOG_LABELS_PROMOTED = 0,
    /* Loki push: every resource attribute is a stream label, named as it is. */
    OSP_LOG_LABELS_ALL = 1,
};

/* The label service_name takes when nothing names the service, as in Loki. */
#define OSP_LOG_UNKNOWN_SERVICE "unknown_service"

/* The stream labels of resource r: sorted by name, names unique (the first attribute of a
 * name wins), empty values left out. Always holds service_name: the resource's service
 * name, else (OSP_LOG_LABELS_ALL) the first of the labels service, app, application, name,
 * app_kubernetes_io_name, container, container_name, k8s_container_name, component,
 * workload, job that is set (Loki's service discovery), else "unknown_service". Non-string
 * values are rendered as osp_value_to_text renders them. Array and slices in arena.
 * 0, OSP_ECORRUPT (a corrupt attrs blob) or OSP_ENOMEM. */
int osp_log_stream_labels(const osp_resource *r, int labels_from, osp_arena *arena,
                          osp_label **labels, size_t *n);

/* The labels Loki looks at for a service name when none is given, in that order
 * (*names); returns how many. */
size_t osp_log_service_labels(const char *const **names);

/* The structured metadata of record i of b, sorted by name, names unique (the first
 * wins), every value non-empty:
 * - the record's attributes, names sanitized as for promoted labels (kept as sent for
 *   OSP_LOG_LABELS_ALL);
 * - for OSP_LOG_LABELS_PROMOTED, the resource attributes not promoted to stream labels
 *   (sanitized), and scope_name and scope_version;
 * - trace_id and span_id in lowercase hex when set, severity_text, severity_number and
 *   flags when non-zero, event_name when set, observed_timestamp (decimal ns) when set;
 * - detected_level, always (osp_log_detected_level), in place of any the record carries.
 * Array and slices in arena. 0, OSP_ECORRUPT or OSP_ENOMEM. */
int osp_log_metadata(const osp_log_batch *b, size_t i, osp_arena *arena, osp_label **labels,
                     size_t *n);

/* The value of the metadata label name of record i of b, as osp_log_metadata would give
 * it ("" when it has none), without building the others: attribute blobs that cannot hold
 * the name are not walked, and only its value is decoded. Slices in arena. 0, OSP_ECORRUPT
 * (a corrupt blob that may hold the name) or OSP_ENOMEM. */
int osp_log_metadata_value(const osp_log_batch *b, size_t i, osp_arena *arena, osp_str name,
                           osp_str *value);

/* A metadata name prepared for looking up in many records: what depends on the name alone
 * (which of a record's own fields it is, what an attribute blob must contain to hold it)
 * is worked out once, and the last resource found not to give it is remembered (records
 * come in runs of one resource). name is borrowed and must outlive the lookup. */
typedef struct osp_log_meta_name {
    osp_str name;
    osp_str needle;  /* its longest run without '_', which sanitizing cannot write */
    int field;       /* the record field it names (logstream.c), or 0: attributes only */
    osp_buf lacking; /* a copy of the last resource attribute blob that gave no value
                        (empty: none yet) */
} osp_log_meta_name;

void osp_log_meta_name_init(osp_log_meta_name *m, osp_str name);
void osp_log_meta_name_cleanup(osp_log_meta_name *m);

/* osp_log_metadata_value for the prepared name m (which it may update: not thread-safe). */
int osp_log_meta_name_value(osp_log_meta_name *m, const osp_log_batch *b, size_t i,
                            osp_arena *arena, osp_str *value);

/* The body of r as a log line: a string body as it is (a slice of the record, nothing
 * copied), no body or the empty value as "", any other value as osp_value_to_text renders
 * it, written into scratch (which is reset first). 0, OSP_ECORRUPT or scratch's error. */
int osp_log_line(const osp_log_record *r, osp_buf *scratch, osp_str *line);

/* The time a record is filed and queried at: time_ns, else observed_ns (receivers set
 * observed_ns to the arrival time when both are 0). */
static inline uint64_t osp_log_time(const osp_log_record *r)
{
    return r->time_ns ? r->time_ns : r->observed_ns;
}

/* Loki 3's detected_level of record i of b (its distributor's discover_log_levels):
 * - a detected_level among its metadata;
 * - else the value of the first level field (osp_level_field_rank) among its stream labels,
 *   else among its metadata (severity_text included);
 * - each of those normalized: a level word (osp_level_of_word) becomes its level's name,
 *   any other value stays as it is;
 * - else the level of its severity number, when set (osp_level_of_severity);
 * - else the level of its line, osp_line_level_of (a record read without its body has the
 *   line "", hence "unknown").
 * A record that has a kept level (r->level, from osp_log_level_to_keep) takes it instead.
 * A static string or a slice in arena. 0, OSP_ECORRUPT or OSP_ENOMEM. */
int osp_log_detected_level(const osp_log_batch *b, size_t i, osp_arena *arena, osp_str *level);

/* The level a store keeps with record r of b (r->level), so that a reader finds its
 * detected_level without looking again, and without its line: r's kept level when it has
 * one, else its detected_level when that is one of Loki's names, else UNSET (a field's
 * other text, a value that is not a string, a corrupt attribute blob: readers then work it
 * out). scratch renders a body that is not a string. */
osp_line_level osp_log_level_to_keep(const osp_log_batch *b, const osp_log_record *r,
                                     osp_buf *scratch);

#endif
