/* Log levels as Loki 3 discovers them (its distributor's field detection): the words it
 * reads as levels, the field names it looks for, and what it reads in a log line. The
 * record-level rules (labels, then metadata, then the severity number, then the line) are
 * osp_log_detected_level's (model/logstream.h). */
#ifndef OSP_MODEL_LOGLEVEL_H
#define OSP_MODEL_LOGLEVEL_H

#include <stdint.h>

#include "core/str.h"

/* A level found in a line. 0 means none was looked for (it fits in 4 bits). */
typedef enum osp_line_level {
    OSP_LINE_LEVEL_UNSET = 0,
    OSP_LINE_LEVEL_UNKNOWN,
    OSP_LINE_LEVEL_TRACE,
    OSP_LINE_LEVEL_DEBUG,
    OSP_LINE_LEVEL_INFO,
    OSP_LINE_LEVEL_WARN,
    OSP_LINE_LEVEL_ERROR,
    OSP_LINE_LEVEL_CRITICAL,
    OSP_LINE_LEVEL_FATAL,
    OSP_LINE_LEVEL_COUNT
} osp_line_level;

/* Loki's name of a level ("unknown", "trace", ... "fatal"); NULL for UNSET and values out
 * of range. */
const char *osp_line_level_name(osp_line_level l);

/* The level a word names, ignoring case: trace/trc, debug/dbg, info/inf/information,
 * warn/wrn/warning, error/err, critical, fatal; UNSET for any other word. */
osp_line_level osp_level_of_word(osp_str word);

/* The level of an OTLP severity number, as Loki maps it: 0 unknown, up to 4 (negative
 * numbers included) trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 error, 21-24 fatal,
 * above that unknown. */
osp_line_level osp_level_of_severity(int32_t severity_number);

/* Where name stands in Loki's list of level fields (level, LEVEL, Level, log.level,
 * severity, SEVERITY, Severity, SeverityText, lvl, LVL, Lvl, severity_text, Severity_Text,
 * SEVERITY_TEXT): its index, or -1 when it is none of them. */
int osp_level_field_rank(osp_str name);
/* Loki's list of level fields, in that order (*fields); returns how many. */
size_t osp_level_fields(const char *const **fields);

/* The rank of severity_text, the name OTLP severity texts take as metadata. */
#define OSP_LEVEL_FIELD_SEVERITY_TEXT 11

/* 1 when text may hold one of the level fields' names: some 'v' or 'V' follows "le",
 * "se" or "l" (any case). A cheap filter before walking attributes. */
int osp_level_field_may_occur(osp_str text);

/* The level Loki reads in a line that nothing else gives a level: a JSON object's first
 * string member named as a level field, at most one object deep; else logfmt's (a line
 * holding '=') level field, the earliest in the list, names compared ignoring case; the
 * word it holds, else (or when the word names no level) the first level word standing
 * alone in the line, in any case: trace, debug, fatal, critical, error, err, warning,
 * warn or info, after the line's start or one of ` \t\n[({"=`, before its end or one of
 * ` \t\n[](){}:,!"=` (of two at one place, the first listed); else UNKNOWN. Never UNSET. */
osp_line_level osp_line_level_of(osp_str line);

#endif
