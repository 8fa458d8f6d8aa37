/* PromQL parser: text to a type-checked AST in an arena, and a canonical printer. */
#ifndef OSP_QUERY_PROMQL_PARSE_H
#define OSP_QUERY_PROMQL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"

/* Maximum nesting (parentheses, calls, aggregations, unary and binary operands) the parser
 * accepts; deeper input fails with OSP_EPARSE instead of exhausting the stack. */
#define OSP_PROMQL_MAX_DEPTH 128

/* Value types, as Prometheus's parser assigns them. */
typedef enum osp_promql_type {
    OSP_PROMQL_T_NONE = 0,
    OSP_PROMQL_T_SCALAR,
    OSP_PROMQL_T_VECTOR, /* instant vector */
    OSP_PROMQL_T_MATRIX, /* range vector */
    OSP_PROMQL_T_STRING,
} osp_promql_type;

typedef enum osp_promql_kind {
    OSP_PROMQL_NUMBER,   /* u.number */
    OSP_PROMQL_STRING,   /* u.string (unescaped bytes) */
    OSP_PROMQL_VECTOR,   /* u.vs: instant vector selector */
    OSP_PROMQL_MATRIX,   /* u.ms: range selector over a u.ms.vs (which holds offset/@) */
    OSP_PROMQL_SUBQUERY, /* u.sq */
    OSP_PROMQL_CALL,     /* u.call */
    OSP_PROMQL_AGG,      /* u.agg */
    OSP_PROMQL_BINARY,   /* u.bin */
    OSP_PROMQL_UNARY,    /* u.unary: only '-' and '+' (a '-' on a number literal is folded) */
    OSP_PROMQL_PAREN,    /* u.paren */
} osp_promql_kind;

typedef enum osp_promql_match {
    OSP_PROMQL_MATCH_EQ,  /* = */
    OSP_PROMQL_MATCH_NE,  /* != */
    OSP_PROMQL_MATCH_RE,  /* =~ */
    OSP_PROMQL_MATCH_NRE, /* !~ */
} osp_promql_match;

/* Binary operators, also used for the unary ones (ADD, SUB). */
typedef enum osp_promql_op {
    OSP_PROMQL_OP_ADD,
    OSP_PROMQL_OP_SUB,
    OSP_PROMQL_OP_MUL,
    OSP_PROMQL_OP_DIV,
    OSP_PROMQL_OP_MOD,
    OSP_PROMQL_OP_POW,
    OSP_PROMQL_OP_ATAN2,
    OSP_PROMQL_OP_EQL, /* == */
    OSP_PROMQL_OP_NEQ,
    OSP_PROMQL_OP_GTR,
    OSP_PROMQL_OP_LSS,
    OSP_PROMQL_OP_GTE,
    OSP_PROMQL_OP_LTE,
    OSP_PROMQL_OP_AND,
    OSP_PROMQL_OP_OR,
    OSP_PROMQL_OP_UNLESS,
} osp_promql_op;

/* Aggregation operators. */
typedef enum osp_promql_agg_op {
    OSP_PROMQL_AGG_SUM,
    OSP_PROMQL_AGG_MIN,
    OSP_PROMQL_AGG_MAX,
    OSP_PROMQL_AGG_AVG,
    OSP_PROMQL_AGG_GROUP,
    OSP_PROMQL_AGG_STDDEV,
    OSP_PROMQL_AGG_STDVAR,
    OSP_PROMQL_AGG_COUNT,
    OSP_PROMQL_AGG_COUNT_VALUES, /* param: string */
    OSP_PROMQL_AGG_BOTTOMK,      /* param: scalar */
    OSP_PROMQL_AGG_TOPK,         /* param: scalar */
    OSP_PROMQL_AGG_QUANTILE,     /* param: scalar */
} osp_promql_agg_op;

typedef enum osp_promql_at {
    OSP_PROMQL_AT_NONE,
    OSP_PROMQL_AT_TIME,  /* at_ms holds the timestamp */
    OSP_PROMQL_AT_START, /* @ start() */
    OSP_PROMQL_AT_END,   /* @ end() */
} osp_promql_at;

/* Cardinality of vector matching in a binary expression. */
typedef enum osp_promql_card {
    OSP_PROMQL_CARD_ONE_TO_ONE,
    OSP_PROMQL_CARD_MANY_TO_ONE,  /* group_left */
    OSP_PROMQL_CARD_ONE_TO_MANY,  /* group_right */
    OSP_PROMQL_CARD_MANY_TO_MANY, /* set operators */
} osp_promql_card;

typedef struct osp_promql_matcher {
    osp_str name;
    osp_str value; /* unescaped */
    osp_promql_match op;
} osp_promql_matcher;

/* offset and @ as written on a selector or subquery. */
typedef struct osp_promql_mods {
    int64_t offset_ms; /* may be negative; 0 when absent */
    osp_promql_at at;
    int64_t at_ms; /* for OSP_PROMQL_AT_TIME: milliseconds since the epoch */
} osp_promql_mods;

typedef struct osp_promql_labels {
    osp_str *a; /* label names, in source order */
    size_t n;
} osp_promql_labels;

typedef struct osp_promql_func osp_promql_func; /* entry of the built-in function table */

typedef struct osp_promql_expr osp_promql_expr;
struct osp_promql_expr {
    osp_promql_kind kind;
    osp_promql_type type; /* result type after checking */
    size_t pos;           /* byte offset of the first token in the input */
    union {
        double number;
        osp_str string;
        struct {
            osp_str name;                 /* metric name; empty when only matchers were given */
            osp_promql_matcher *matchers; /* user matchers (the name is not repeated here) */
            size_t nmatchers;
            osp_promql_mods mods;
        } vs;
        struct {
            osp_promql_expr *vs; /* an OSP_PROMQL_VECTOR; its mods apply to the range */
            int64_t range_ms;
        } ms;
        struct {
            osp_promql_expr *expr; /* instant-vector expression */
            int64_t range_ms;
            int64_t step_ms; /* 0: default resolution ("[1h:]") */
            osp_promql_mods mods;
        } sq;
        struct {
            const osp_promql_func *func;
            osp_str name;
            osp_promql_expr **args;
            size_t nargs;
        } call;
        struct {
            osp_promql_agg_op op;
            osp_promql_expr *param; /* topk/bottomk/quantile/count_values; else NULL */
            osp_promql_expr *expr;
            osp_promql_labels grouping;
            int without; /* 1: grouping lists the labels to drop */
        } agg;
        struct {
            osp_promql_op op;
            osp_promql_expr *lhs, *rhs;
            int return_bool;          /* comparison with the bool modifier */
            int matching;             /* 1 when on/ignoring was written */
            int on;                   /* 1: on(...), 0: ignoring(...) */
            osp_promql_labels labels; /* on/ignoring labels */
            osp_promql_card card;
            osp_promql_labels include; /* group_left/group_right labels */
        } bin;
        struct {
            osp_promql_op op; /* OSP_PROMQL_OP_ADD or OSP_PROMQL_OP_SUB */
            osp_promql_expr *expr;
        } unary;
        struct {
            osp_promql_expr *expr;
        } paren;
    } u;
};

/* Parses text into *out, every node and string allocated in arena (the text itself is not
 * referenced afterwards). Returns 0, OSP_EPARSE with a message "LINE:COL: ..." written to
 * err (errlen bytes, NUL-terminated; err may be NULL) or OSP_ENOMEM. *out is untouched on
 * failure; the arena keeps whatever was allocated until the caller cleans it up. */
int osp_promql_parse(osp_str text, osp_arena *arena, osp_promql_expr **out, char *err,
                     size_t errlen);

/* Appends the canonical text of e to out: Prometheus's String() form, except that every
 * binary expression is wrapped in parentheses so the tree shape is visible (parentheses
 * around a binary expression in the input are not doubled). Parsing the output and
 * formatting again gives the same text. Returns 0 or the buffer's error. */
int osp_promql_format(const osp_promql_expr *e, osp_buf *out);

/* Unescapes a quoted string as the PromQL lexer reads it, quotes included: "..." and '...'
 * with Go's escapes (\a \b \f \n \r \t \v \\ \xHH \ooo \uHHHH \UHHHHHHHH and the own
 * quote), `...` raw. The caller has checked that quoted is at least two bytes, starts and
 * ends with the same quote. *out is NUL-terminated in arena. Returns 0, OSP_ENOMEM, or
 * OSP_EPARSE with *bad the byte offset in quoted of the bad escape and the reason in why
 * (whylen bytes, NUL-terminated; why may be NULL). */
int osp_promql_unquote(osp_str quoted, osp_arena *arena, osp_str *out, size_t *bad, char *why,
                       size_t whylen);

/* Appends s double-quoted as the printer writes strings: '"' and '\\' escaped, control
 * bytes as \n, \t, ... or \xHH, other bytes as they are. osp_promql_unquote reads it back.
 * Returns 0 or the buffer's error. */
int osp_promql_quote(osp_buf *b, osp_str s);

/* Name of a value type as Prometheus writes it in messages ("instant vector"). */
const char *osp_promql_type_name(osp_promql_type t);

#endif
