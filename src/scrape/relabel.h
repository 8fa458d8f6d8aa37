/* Prometheus relabeling (relabel_config): compiled rules applied to a label set. */
#ifndef OSP_SCRAPE_RELABEL_H
#define OSP_SCRAPE_RELABEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/re2.h"
#include "model/labels.h"

/* The actions Prometheus documents for relabel_config, in its spelling. */
#define OSP_RELABEL_ACTION_MAP(X)                                                                  \
    X(REPLACE, "replace")                                                                          \
    X(KEEP, "keep")                                                                                \
    X(DROP, "drop")                                                                                \
    X(KEEPEQUAL, "keepequal")                                                                      \
    X(DROPEQUAL, "dropequal")                                                                      \
    X(HASHMOD, "hashmod")                                                                          \
    X(LABELMAP, "labelmap")                                                                        \
    X(LABELDROP, "labeldrop")                                                                      \
    X(LABELKEEP, "labelkeep")                                                                      \
    X(LOWERCASE, "lowercase")                                                                      \
    X(UPPERCASE, "uppercase")

typedef enum osp_relabel_action {
#define OSP_RELABEL_ENUM(name, z) OSP_RELABEL_##name,
    OSP_RELABEL_ACTION_MAP(OSP_RELABEL_ENUM)
#undef OSP_RELABEL_ENUM
} osp_relabel_action;

/* One relabel_config. Strings are borrowed (NUL-terminated) and must outlive the rule. Fill
 * it with osp_relabel_rule_defaults(), set what the configuration says, then compile. */
typedef struct osp_relabel_rule {
    osp_relabel_action action;
    const char **source_labels; /* label names whose values are joined */
    size_t nsource_labels;
    const char *separator;    /* default ";" */
    const char *target_label; /* default "" (unset) */
    const char *regex;        /* as written, unanchored; default "(.*)" */
    const char *replacement;  /* default "$1" */
    uint64_t modulus;         /* hashmod only; 0 = unset */
    osp_re2 re;               /* regex, anchored; valid once compiled */
    int compiled;             /* 1 after a successful osp_relabel_rule_compile */
} osp_relabel_rule;

/* Parses an action name ("replace", ...); 0 or OSP_EINVAL. Case-sensitive, as Prometheus. */
int osp_relabel_action_parse(const char *z, osp_relabel_action *out);
/* The configuration spelling of an action. */
const char *osp_relabel_action_name(osp_relabel_action a);

/* Sets the Prometheus defaults: action replace, separator ";", regex "(.*)", replacement "$1",
 * no source labels, no target, modulus 0. */
void osp_relabel_rule_defaults(osp_relabel_rule *r);

/* Checks the rule as Prometheus's Config.Validate does (required target_label, fields that an
 * action forbids, label-name syntax, non-zero hashmod modulus) and compiles the regex.
 * Returns 0, or OSP_EINVAL with a one-line message (no location) written to err.
 *
 * Regular expressions are RE2, fully anchored as Prometheus anchors them, through core/re2
 * (osp_re2_*: see there what is supported); replacements expand as Go's Regexp.Expand
 * ($1, ${1}, $name, ${name}, $$). Submatch boundaries follow POSIX leftmost-longest rules, so
 * they can differ from Prometheus's where alternatives overlap or repetitions are
 * non-greedy. */
int osp_relabel_rule_compile(osp_relabel_rule *r, char *err, size_t errlen);

/* Frees the compiled regex; the rule's strings are the caller's. Safe on an uncompiled rule. */
void osp_relabel_rule_cleanup(osp_relabel_rule *r);

/* Applies n compiled rules in order to the label set in[0..nin) (names unique, any order),
 * as Prometheus's relabel.Process does. *keep is 0 when a keep/drop/keepequal/dropequal rule
 * dropped the set (then *out is NULL and *nout 0), else 1 and *out holds the result sorted by
 * name with empty-valued labels removed. Result slices point into in, the rules or the arena.
 * Returns 0 or OSP_ENOMEM (arena exhausted). */
int osp_relabel_apply(const osp_relabel_rule *rules, size_t n, const osp_label *in, size_t nin,
                      osp_arena *arena, osp_label **out, size_t *nout, int *keep);

/* 1 if z is a valid (legacy) Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*. */
int osp_label_name_valid(osp_str z);

#endif
