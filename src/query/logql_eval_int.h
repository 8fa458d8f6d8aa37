/* Private to the LogQL evaluator (logql_eval.c, logql_pipeline.c, logql_pipeline_parse.c,
 * logql_template.c, logql_metric.c): the per-entry label builder, compiled pipelines,
 * Go templates and the bridge from metric expressions to the PromQL engine.
 *
 * A pipeline runs on one entry at a time, as Loki's LabelsBuilder does: the labels start
 * as the stream labels plus the record's structured metadata; parsers add extracted
 * labels (a name the stream labels already hold gets the suffix "_extracted"); __error__
 * and __error_details__ are kept apart and only join the label set at the end. */
#ifndef OSP_QUERY_LOGQL_EVAL_INT_H
#define OSP_QUERY_LOGQL_EVAL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/re2.h"
#include "query/logql_eval.h"
#include "query/promql_eval_int.h"

#define OSP__LQ_ERROR "__error__"
#define OSP__LQ_ERROR_DETAILS "__error_details__"

/* Loki's __error__ values. */
#define OSP__LQ_ERR_JSON "JSONParserErr"
#define OSP__LQ_ERR_LOGFMT "LogfmtParserErr"
#define OSP__LQ_ERR_LABEL_FILTER "LabelFilterErr"
#define OSP__LQ_ERR_TEMPLATE "TemplateFormatErr"
#define OSP__LQ_ERR_SAMPLE "SampleExtractionErr"

/* Longest line or label value a template may produce; past it the stage fails with
 * TemplateFormatErr. */
#define OSP__LQ_TMPL_MAX (1u << 20)

/* The labels of one entry while its pipeline runs. */
/* Where a label of an entry comes from, as Loki's categorize-labels encoding tells them
 * apart: the stream's labels, the record's structured metadata, or set by a stage (a
 * parser or label_format). */
enum { OSP__LQ_CAT_STREAM, OSP__LQ_CAT_META, OSP__LQ_CAT_PARSED, OSP__LQ_NCATS };

typedef struct osp__lq_entry {
    osp_arena *arena; /* scratch for this entry's strings and arrays */
    osp_label *l;     /* current labels, names unique, in no order */
    uint8_t *cat;     /* per label, where it comes from (OSP__LQ_CAT_*) */
    size_t n, cap;
    const osp_label *stream; /* the stream labels (Loki's base, for "_extracted") */
    size_t nstream;
    osp_str err, details;  /* __error__ and __error_details__ ("" when unset) */
    osp_str line;          /* the current line */
    uint64_t t_ns;         /* the entry's time */
    const osp_str *wanted; /* NULL, or the only labels parsers set (as named in the end,
                            * "_extracted" included), as Loki's parser hints: what a
                            * query that reads no other labels needs */
    size_t nwanted;
    size_t work; /* the templates' steps of work on this entry (osp__lq_tmpl_exec) */
} osp__lq_entry;

/* Starts e over stream labels and metadata (both sorted, referenced). 0 or OSP_ENOMEM. */
int osp__lq_entry_init(osp__lq_entry *e, osp_arena *arena, const osp_label *stream, size_t nstream,
                       const osp_label *meta, size_t nmeta, osp_str line, uint64_t t_ns);
/* The value of name (also __error__ and __error_details__); *found says whether it is set. */
osp_str osp__lq_get(const osp__lq_entry *e, osp_str name, int *found);
/* Sets name to value (both referenced, not copied). 0 or OSP_ENOMEM. */
int osp__lq_set(osp__lq_entry *e, osp_str name, osp_str value);
/* Removes name (__error__ and __error_details__ included). */
void osp__lq_del(osp__lq_entry *e, osp_str name);
/* Sets __error__ and __error_details__ (details may be empty). */
void osp__lq_set_error(osp__lq_entry *e, const char *err, osp_str details);
/* 1 when the stream labels hold name. */
int osp__lq_base_has(const osp__lq_entry *e, osp_str name);
/* 0 when e cannot want a label whose name, before sanitizing, starts with first (a
 * letter or '_', which sanitizing keeps): a shortcut for parsers past building the name
 * and its value; osp__lq_set_parsed decides. */
int osp__lq_may_want(const osp__lq_entry *e, char first);
/* Sets a label a parser extracted under name as given, with "_extracted" appended when
 * the stream labels hold it (a copy of the name then), unless e->wanted leaves it out.
 * *as, unless NULL, gets the name it was set under (empty when left out). 0 or
 * OSP_ENOMEM. */
int osp__lq_set_parsed(osp__lq_entry *e, osp_str name, osp_str value, osp_str *as);
/* Sets an extracted label: the name sanitized as Loki's sanitizeLabelKey does (empty names
 * dropped), then as osp__lq_set_parsed. The name is copied when it changes; value is
 * referenced. 0 or OSP_ENOMEM. */
int osp__lq_set_extracted(osp__lq_entry *e, osp_str name, osp_str value, osp_str *as);
/* The final label set: labels with non-empty values plus __error__ and __error_details__
 * when set, sorted by name, in arena (names and values referenced). NULL only when out
 * of memory with *n > 0. */
osp_label *osp__lq_labels(const osp__lq_entry *e, osp_arena *arena, size_t *n);
/* The same labels split by where they come from: l[c] (n[c] of them, sorted) for each
 * OSP__LQ_CAT_*, __error__ and __error_details__ among the parsed ones. 0 or OSP_ENOMEM. */
int osp__lq_labels_by_cat(const osp__lq_entry *e, osp_arena *arena, osp_label *l[OSP__LQ_NCATS],
                          size_t n[OSP__LQ_NCATS]);

/* ---- templates (logql_template.c) ---- */

typedef struct osp__lq_tmpl osp__lq_tmpl;

/* Compiles a Go text/template in Loki's subset (see logql_template.c), everything in
 * arena. A regex function's literal pattern is compiled with it, once; the caller
 * releases those regexes (osp__lq_tmpl_regexes). 0, OSP_ENOMEM, or OSP_EPARSE with Go's
 * style of message in err (nothing to release then). */
int osp__lq_tmpl_compile(osp_str text, osp_arena *arena, osp__lq_tmpl **out, char *err,
                         size_t errlen);
/* 1 when t reads the label name as a field (.name, or a name in a chain .a.name). */
int osp__lq_tmpl_reads(const osp__lq_tmpl *t, osp_str name);
/* Calls fn with every name t reads as a field (those osp__lq_tmpl_reads answers 1 for,
 * and those of $.a chains) and returns 1; returns 0 when t uses . or $ as a value
 * ({{ range . }}, {{ toJson $ }}), which may read every label. */
int osp__lq_tmpl_names(const osp__lq_tmpl *t, void (*fn)(osp_str name, void *ctx), void *ctx);
/* The regexes t compiled, *n of them (release each with osp_re2_cleanup). */
osp_re2 *const *osp__lq_tmpl_regexes(const osp__lq_tmpl *t, size_t *n);
/* Executes t over the labels l[0..n) (the template's "." map, missing keys read as ""),
 * the entry's line and time (__line__, __timestamp__), appending to out, and adding to
 * *work (when not NULL) the steps of work it did (at most about a million: past them it
 * fails). 0, OSP_ENOMEM, or OSP_EEXEC with the message in err (Loki then sets
 * TemplateFormatErr). */
int osp__lq_tmpl_exec(const osp__lq_tmpl *t, const osp_label *l, size_t n, osp_str line,
                      uint64_t t_ns, osp_buf *out, size_t *work, char *err, size_t errlen);

/* ---- pipelines (logql_pipeline.c, logql_pipeline_parse.c) ---- */

typedef struct osp__lq_stage osp__lq_stage;

typedef struct osp__lq_pipeline {
    osp__lq_stage *st;
    size_t n;
    osp_re2 **re; /* every regex compiled, for cleanup */
    size_t nre, recap;
} osp__lq_pipeline;

/* Compiles stages (regexes, templates, patterns) into p, in arena. 0, OSP_ENOMEM, or
 * OSP_EEXEC with a message in err (a template or regex Loki would refuse). */
int osp__lq_pipeline_compile(const osp_logql_stage *stages, size_t n, osp_arena *arena,
                             osp__lq_pipeline *p, char *err, size_t errlen);
/* Compiles label filters (unwrap's post filters) as a pipeline of filter stages. */
int osp__lq_filters_compile(osp_logql_filter *const *f, size_t n, osp_arena *arena,
                            osp__lq_pipeline *p, char *err, size_t errlen);
/* Releases the regexes of p. */
void osp__lq_pipeline_cleanup(osp__lq_pipeline *p);
/* 1 when a stage of p reads the label name: a label filter on it, a template field, a
 * label_format rename from it (Loki's RequiredLabelNames). */
int osp__lq_pipeline_reads(const osp__lq_pipeline *p, osp_str name);
/* Calls fn with every label name p's templates and label_format renames read (see
 * osp__lq_tmpl_names) and returns 1; 0 when a template may read every label. */
int osp__lq_pipeline_template_names(const osp__lq_pipeline *p, void (*fn)(osp_str name, void *ctx),
                                    void *ctx);
/* Runs p over e. 1 when the entry passes, 0 when a stage drops it, OSP_ENOMEM. */
int osp__lq_pipeline_run(const osp__lq_pipeline *p, osp__lq_entry *e);

/* The parsers, on e->line (logql_pipeline_parse.c). 0 or OSP_ENOMEM; failures set __error__. */
int osp__lq_json(osp__lq_entry *e);
/* Told, for each label osp__lq_json_paths sets, its name as set ("_extracted" included)
 * and the raw keys it was found under, outermost first (unescaped, before sanitizing).
 * Non-zero stops the walk and is returned. */
typedef int (*osp__lq_json_path_fn)(void *ctx, osp_str label, const osp_str *keys, size_t nkeys);
/* osp__lq_json, telling fn where each label came from. */
int osp__lq_json_paths(osp__lq_entry *e, osp__lq_json_path_fn fn, void *ctx);
int osp__lq_json_fields(osp__lq_entry *e, const osp_logql_extract *x, size_t n);
int osp__lq_logfmt(osp__lq_entry *e, const osp_logql_extract *x, size_t n, int flags);
int osp__lq_unpack(osp__lq_entry *e);
/* A compiled pattern: literal text between captures. */
typedef struct osp__lq_pattern osp__lq_pattern;
int osp__lq_pattern_compile(osp_str text, osp_arena *arena, osp__lq_pattern **out);
int osp__lq_pattern_run(const osp__lq_pattern *p, osp__lq_entry *e);
/* 1 when line matches p as a pattern line filter (|>), as Loki's: its literals come in
 * order, each capture takes at least one byte, a trailing literal ends the line; an empty
 * line matches only the empty pattern. */
int osp__lq_pattern_test(const osp__lq_pattern *p, osp_str line);
/* Stores p's literals in order, at most max of them, and returns how many it has. */
size_t osp__lq_pattern_literals(const osp__lq_pattern *p, osp_str *lits, size_t max);
/* Removes ANSI escape sequences from e->line. 0 or OSP_ENOMEM. */
int osp__lq_decolorize(osp__lq_entry *e);

/* ---- metric queries (logql_metric.c) ---- */

/* One range aggregation evaluated over every step: its series with a sample at each step
 * where it has a value, times in ms. */
typedef struct osp__lq_leaf {
    osp_series *s;
    size_t n;
} osp__lq_leaf;

/* State of one evaluation, shared by logql_eval.c and logql_metric.c. */
typedef struct osp__lq_query {
    const osp_logql_source *src;
    osp_arena *arena;
    uint64_t start_ns, end_ns; /* the steps: start_ns + k*step_ns <= end_ns */
    int64_t step_ns;           /* 0: one step at end_ns */
    size_t nsteps;
    osp_logql_opts opts;
    osp_logql_stats *stats;
    osp__pq_query pq;          /* err, errlen and the deadline, for the PromQL engine's helpers */
    const osp_logql_expr *top; /* the metric query's whole expression */
} osp__lq_query;

/* Fails q with Loki's error for a result of more than opts.max_series series. */
int osp__lq_too_many_series(osp__lq_query *q);

/* Message into q's err and rc back. */
#define osp__lq_fail(q, rc, ...) osp__pq_fail(&(q)->pq, (rc), __VA_ARGS__)
/* Checks the deadline every so many calls; OSP_ETIMEDOUT once it passed. */
#define osp__lq_tick(q) osp__pq_tick(&(q)->pq)
/* Evaluates the range aggregation e into leaf (logql_eval.c). */
int osp__lq_eval_range(osp__lq_query *q, const osp_logql_expr *e, osp__lq_leaf *leaf);
/* Evaluates a metric expression into res (logql_metric.c). */
int osp__lq_eval_metric(osp__lq_query *q, const osp_logql_expr *e, osp_logql_result *res);

#endif
