/* The template engine's values and function calls (logql_template.c), shared with the
 * functions beyond Go's basics in logql_template_fns.c. Not for other modules. */
#ifndef OSP_QUERY_LOGQL_TEMPLATE_INT_H
#define OSP_QUERY_LOGQL_TEMPLATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/re2.h"
#include "core/str.h"
#include "model/labels.h"
#include "query/gotime.h"

/* A value's kind, as Go's reflection would see it: fromJson gives V_MAP, V_LIST, V_NIL
 * (and V_FLOAT, V_STR, V_BOOL); V_LABELS is the entry's labels, the template's data. */
enum { V_STR, V_INT, V_FLOAT, V_BOOL, V_TIME, V_NIL, V_MAP, V_LIST, V_LABELS };

typedef struct vcoll vcoll;

typedef struct val {
    int t;
    osp_str s;      /* V_STR */
    int64_t i;      /* V_INT, V_BOOL */
    double f;       /* V_FLOAT */
    osp_gotime tm;  /* V_TIME */
    const vcoll *c; /* V_MAP, V_LIST */
} val;

/* A JSON object (keys sorted, unique, as Go prints and ranges over a map) or array. */
struct vcoll {
    size_t n;
    const osp_str *keys; /* NULL for an array */
    val *items;
};

/* The member name of a JSON object (keys sorted), or nil when it has none. */
val osp__lqt_member(const vcoll *m, osp_str name);

/* Go's name of a value's type, for messages ("string", "map[string]interface {}"). */
const char *osp__lqt_type_name(int t);

typedef struct xctx {
    const osp_label *l; /* the entry's labels: the template's data */
    size_t n;
    osp_str line;
    uint64_t t_ns;
    osp_arena *arena; /* scratch for intermediate strings */
    char *err;
    size_t errlen;
    const osp_re2 *re; /* for the function being called: its regex argument compiled
                          when the template was, else NULL */
    val dot;           /* "." : the labels, or what range or with set */
    val *vars;         /* the variables' values by slot; slot 0 is $ */
    size_t work;       /* steps of work done, bounded per execution (osp__lqt_spend) */
} xctx;

static inline val vstr(osp_str s)
{
    return (val){.t = V_STR, .s = s};
}

typedef int (*fn_impl)(xctx *x, val *a, size_t n, val *out);

typedef struct fn_def {
    const char *name;
    fn_impl fn;
    int nargs; /* -1: variadic */
} fn_def;

/* Counts steps of work (see MAX_WORK in logql_template.c): 0, or the run fails once an
 * execution has done too much (OSP_EEXEC). */
int osp__lqt_spend(xctx *x, size_t steps);
/* Fails the template run with Go's "executing" prefix; returns OSP_EEXEC. */
int osp__lqt_fail(xctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* v as text (fmt's %v) in x's arena. 0 or OSP_ENOMEM. */
int osp__lqt_str(xctx *x, const val *v, osp_str *out);
/* Every argument as text, into s (n entries). */
int osp__lqt_strs(xctx *x, val *a, size_t n, osp_str *s);
/* The arguments as fmt.Sprint joins them (a space between two operands neither of which
 * is a string); a single string is itself. */
int osp__lqt_sprint(xctx *x, val *a, size_t n, osp_str *out);
/* Label name's value in the entry, or "" (missingkey=zero). */
osp_str osp__lqt_label(const xctx *x, osp_str name);

/* Appends v as fmt's %v prints it (map[k:v ...], [a b], <nil>). */
int osp__lqt_put_val(const xctx *x, osp_buf *b, const val *v);
/* Go's truth of a value: non-zero, non-empty. */
int osp__lqt_truth(const val *v);

/* The functions of logql_template_go.c (Go's builtins, strings functions). */
extern const fn_def osp__lqt_go_fns[];
extern const size_t osp__lqt_ngo_fns;
/* The functions of logql_template_fns.c (Sprig's, Loki's own). */
extern const fn_def osp__lqt_more_fns[];
extern const size_t osp__lqt_nmore_fns;
/* 1 when f's first argument is a regex (x->re holds it compiled when it is a literal). */
int osp__lqt_takes_regex(const fn_def *f);

#endif
