/* Detected labels and fields: what Grafana's log exploration (Logs Drilldown) offers to
 * filter and group by. Backs Loki's /loki/api/v1/detected_labels, /detected_fields and
 * /detected_field/{name}/values, with Loki's rules:
 * - labels: the stream labels of the selected streams with the number of their distinct
 *   values, leaving out labels whose every value is an id (a number or a UUID), unless
 *   the values are only 0 and 1; cluster, namespace, instance and pod always stay;
 * - fields: over the newest lines of a log query, the structured metadata and extracted
 *   labels that are not stream labels, and what parsing each line finds (JSON, else
 *   logfmt), with the type of their values and their number of distinct values. */
#ifndef OSP_QUERY_LOGDETECT_H
#define OSP_QUERY_LOGDETECT_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/labels.h"
#include "query/logql.h"
#include "query/logql_eval.h"

#define OSP_DETECT_DEFAULT_LINES 100  /* lines read by default */
#define OSP_DETECT_DEFAULT_LIMIT 1000 /* fields (or values) returned by default */

typedef struct osp_detected_label {
    osp_str label;
    uint64_t cardinality; /* distinct values */
} osp_detected_label;

/* The detected labels of the streams that m selects (none: every stream) with records in
 * [start_ns, end_ns), sorted by name, in arena. 0, OSP_ENOMEM or the source's error. */
int osp_log_detect_labels(const osp_logql_source *src, const osp_label_matcher *m, size_t n,
                          uint64_t start_ns, uint64_t end_ns, osp_arena *arena,
                          osp_detected_label **out, size_t *nout);

/* The types of fields, by the first rule their value meets: Go's ParseInt, ParseFloat,
 * ParseBool, time.ParseDuration, go-humanize's ParseBytes, else a string. */
typedef enum osp_field_type {
    OSP_FIELD_STRING,
    OSP_FIELD_INT,
    OSP_FIELD_FLOAT,
    OSP_FIELD_BOOLEAN,
    OSP_FIELD_DURATION,
    OSP_FIELD_BYTES,
} osp_field_type;

/* Loki's name of a field type ("string", "int", ...). */
const char *osp_field_type_name(osp_field_type t);

/* The type of one value. */
osp_field_type osp_field_type_of(osp_str value);

/* Value as the values list gives a parsed one, in *out: a byte size whose unit Loki's list
 * rewrites (its last letters b, k, m, g, t, p or e, or one of k to e and i, in any case) as
 * go-humanize's Bytes writes it, without its space (10KB is 10kB, 2048 KiB is 2.1MB);
 * else itself. 0 or OSP_ENOMEM. */
int osp_field_list_value(osp_arena *arena, osp_str value, osp_str *out);

/* Parsers that found a field. */
enum { OSP_FIELD_JSON = 1, OSP_FIELD_LOGFMT = 2 };

typedef struct osp_detected_field {
    osp_str label;
    osp_field_type type;  /* of its value in the newest line that has it */
    uint64_t cardinality; /* distinct values */
    unsigned parsers;     /* OSP_FIELD_* bits; 0 for structured metadata and labels the
                             query's own pipeline extracted */
    osp_str *json_path;   /* the raw JSON keys JSON parsing found it under in the newest
                             line it did, outermost first; NULL when it never did */
    size_t njson_path;
    osp_str *values; /* with values_of: its distinct values, newest first; parsed
                        byte sizes written as go-humanize's Bytes does ("10kB") */
    size_t nvalues;
} osp_detected_field;

typedef struct osp_log_detect_query {
    const osp_logql_expr *e;   /* a log query (not a metric query) */
    uint64_t start_ns, end_ns; /* as osp_logql_eval takes them */
    size_t line_limit;         /* the newest lines read; 0 picks the default */
    size_t limit;              /* fields kept, the first found (with values_of: values); 0
                                  picks the default */
    osp_str values_of;         /* non-empty: that field alone, with its values */
    int64_t deadline_ms;       /* as osp_logql_opts takes it */
} osp_log_detect_query;

/* The detected fields of q's lines, sorted by name, in arena. 0; OSP_EINVAL (with err) for
 * a metric query; or the errors of osp_logql_eval (with err). */
int osp_log_detect_fields(const osp_logql_source *src, const osp_log_detect_query *q,
                          osp_arena *arena, osp_detected_field **out, size_t *nout, char *err,
                          size_t errlen);

#endif
