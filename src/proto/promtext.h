/* Zero-copy pull parser for scraped metrics: Prometheus text format 0.0.4 and OpenMetrics 1.0. */
#ifndef OSP_PROTO_PROMTEXT_H
#define OSP_PROTO_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/labels.h"

/* Limits used when osp_promtext_init is given 0. */
#define OSP_PROMTEXT_DEFAULT_MAX_LINE (64 * 1024)
#define OSP_PROMTEXT_DEFAULT_MAX_LABELS 256
/* OpenMetrics: label names and values of one exemplar together, in code points. */
#define OSP_PROMTEXT_EXEMPLAR_MAX_RUNES 128

typedef enum osp_promtext_format {
    OSP_PROMTEXT_PROM = 1,    /* text/plain; version=0.0.4 */
    OSP_PROMTEXT_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
} osp_promtext_format;

typedef enum osp_promtext_kind {
    OSP_PROMTEXT_HELP = 1, /* name, text */
    OSP_PROMTEXT_TYPE,     /* name, type */
    OSP_PROMTEXT_UNIT,     /* name, text (OpenMetrics only) */
    OSP_PROMTEXT_SAMPLE,   /* name, labels, value, timestamp, exemplar */
    OSP_PROMTEXT_COMMENT,  /* text: the line after '#' (0.0.4 only; OpenMetrics forbids them) */
    OSP_PROMTEXT_EOF,      /* set when osp_promtext_next returns 0 */
} osp_promtext_kind;

typedef enum osp_promtext_type {
    OSP_PROMTEXT_COUNTER = 1,
    OSP_PROMTEXT_GAUGE,
    OSP_PROMTEXT_HISTOGRAM,
    OSP_PROMTEXT_SUMMARY,
    OSP_PROMTEXT_UNTYPED, /* 0.0.4 only */
    OSP_PROMTEXT_INFO,    /* OpenMetrics only, from here on */
    OSP_PROMTEXT_STATESET,
    OSP_PROMTEXT_GAUGEHISTOGRAM,
    OSP_PROMTEXT_UNKNOWN,
} osp_promtext_type;

typedef struct osp_promtext_exemplar {
    const osp_label *labels; /* nlabels entries, valid until the next call */
    size_t nlabels;
    double value;
    int has_ts;   /* 1 when a timestamp was given */
    int64_t t_ms; /* milliseconds since the epoch */
} osp_promtext_exemplar;

typedef struct osp_promtext_entry {
    osp_promtext_kind kind;
    size_t line;             /* 1-based line number of the entry */
    osp_str name;            /* family name (HELP, TYPE, UNIT) or metric name (SAMPLE) */
    osp_str text;            /* HELP: unescaped text; UNIT: the unit; COMMENT: after '#' */
    osp_promtext_type type;  /* TYPE */
    const osp_label *labels; /* SAMPLE: nlabels entries in input order; array valid until the
                                next call, the slices as long as the body and the arena */
    size_t nlabels;
    double value;     /* SAMPLE: may be NaN or +-Inf */
    int has_ts;       /* SAMPLE: 1 when a timestamp was given */
    int64_t t_ms;     /* SAMPLE: milliseconds since the epoch (OpenMetrics seconds * 1000,
                         rounded to the nearest millisecond) */
    int has_exemplar; /* SAMPLE, OpenMetrics only */
    osp_promtext_exemplar exemplar;
} osp_promtext_entry;

/* A cursor over one scraped body. Fields are private; err is the message of the first error. */
typedef struct osp_promtext {
    const char *start, *p, *end;
    osp_promtext_format format;
    osp_arena *arena;     /* unescaped strings and the label arrays */
    size_t max_line;      /* bytes per line, '\n' excluded */
    size_t max_labels;    /* labels per sample and per exemplar */
    size_t line;          /* number of the last line read */
    osp_label *labels;    /* max_labels, allocated on first use */
    osp_label *ex_labels; /* max_labels, allocated on first use */
    int rc;               /* sticky: 0 running, 1 finished, < 0 the error */
    int eof_seen;         /* OpenMetrics: "# EOF" read */
    char err[160];        /* "line 12: expected '=' after label name"; "" while no error */
} osp_promtext;

/* Picks the format from a scrape's Content-Type: application/openmetrics-text gives
 * OSP_PROMTEXT_OPENMETRICS, anything else (text/plain, missing) OSP_PROMTEXT_PROM. */
osp_promtext_format osp_promtext_format_from_content_type(osp_str content_type);

/* Starts parsing body in the given format. Label values and HELP text that contain escapes
 * are unescaped into arena, which also holds two arrays of max_labels labels; all of it is
 * bounded by the body's length plus those arrays, and the arena's cap bounds it further.
 * max_line caps a line's length in bytes, max_labels the labels of one sample or exemplar;
 * 0 picks the defaults above. body and arena must outlive the parser; it owns nothing, so
 * there is no cleanup. */
void osp_promtext_init(osp_promtext *p, osp_str body, osp_promtext_format format, osp_arena *arena,
                       size_t max_line, size_t max_labels);

/* Reads the next entry into *e. Returns 1 with an entry, 0 at the clean end (e->kind is
 * OSP_PROMTEXT_EOF; in OpenMetrics only after "# EOF", which nothing may follow), or a
 * negative error with p->err naming the line and the problem: OSP_EPARSE for malformed input
 * (bad syntax, invalid UTF-8, duplicate label names, an unknown type, a bad escape in
 * OpenMetrics, a missing "# EOF"), OSP_ETOOBIG past max_line or max_labels, OSP_ENOMEM when
 * the arena fails. Errors are sticky: later calls return the same code.
 * Not checked here (the scrape layer's job): family grouping and order, suffixes matching the
 * TYPE, histogram bucket order, duplicate series. Empty lines are skipped in 0.0.4; leading
 * and repeated blanks and a trailing ',' in a label set are accepted in 0.0.4 only, and an
 * unknown escape is kept as written there (as Prometheus does). */
int osp_promtext_next(osp_promtext *p, osp_promtext_entry *e);

/* The name of a type as written after "# TYPE" ("counter"). */
const char *osp_promtext_type_name(osp_promtext_type t);

#endif
