/* Internal to the query-language parsers (promql_parse.c, logql_parse.c) and printers
 * (promql_parse.c, logql_format.c): the token cursor, error reporting, arena helpers,
 * label-matcher checks and printing that PromQL and LogQL share. Implemented in
 * parse_util.c. Not for use outside src/query. */
#ifndef OSP_QUERY_PARSE_UTIL_H
#define OSP_QUERY_PARSE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"

/* Token kinds every lexer numbers the same; each lexer's own kinds follow them. */
enum { OSP__TK_EOF = 0, OSP__TK_IDENT = 1 };

/* One token of the lexer's output. */
typedef struct osp__tok {
    int kind;     /* the lexer's token kind */
    size_t pos;   /* byte offset of its first byte in the input */
    osp_str text; /* the token's source bytes */
    union {
        int64_t dur_ns; /* LogQL durations */
        uint64_t bytes; /* LogQL byte sizes */
    };
} osp__tok;

typedef struct osp__parser osp__parser;

/* Parse state: the input, the tokens with the cursor, and the first failure. Callers set
 * in, arena, err, errlen, line_col and unexpected; the rest starts zeroed. */
struct osp__parser {
    osp_str in;
    osp_arena *arena;     /* tokens, nodes and strings */
    osp__tok *toks;       /* lexer output, the last token OSP__TK_EOF */
    size_t ntoks, cap, i; /* i: the cursor */
    int depth;            /* nesting, against the language's limit */
    char *err;            /* message buffer (errlen bytes); may be NULL */
    size_t errlen;
    int rc;       /* the first failure; 0 while none */
    int line_col; /* 1: messages start "LINE:COL: " (PromQL); 0: "offset N: " (LogQL) */
    /* Fails at t in the language's own words; what says what was expected (may be NULL
     * where the language allows it). Returns p->rc. */
    int (*unexpected)(osp__parser *p, const osp__tok *t, const char *what);
};

/* Starts a parse: empties the message, runs the language's lexer and fails at offset 0
 * with empty_msg when the input holds no token. 0 or p->rc. */
int osp__parse_start(osp__parser *p, int (*lex)(osp__parser *p), const char *empty_msg);

/* Records OSP_EPARSE with the message fmt at byte offset pos of the input, unless a
 * failure is already recorded (the first one wins). Returns p->rc. */
int osp__parse_fail(osp__parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records OSP_ENOMEM ("out of memory") unless a failure is already recorded. Returns p->rc. */
int osp__parse_nomem(osp__parser *p);

/* Zeroed arena memory of size bytes, or NULL with OSP_ENOMEM recorded. */
void *osp__parse_calloc(osp__parser *p, size_t size);

/* Makes room for element n of a (elements of sz bytes, *cap allocated) in the arena and
 * zeroes it; returns the array, moved when it grew, or NULL with OSP_ENOMEM recorded. */
void *osp__parse_grow(osp__parser *p, void *a, size_t n, size_t *cap, size_t sz);

/* Appends a zeroed element to arr (count n, capacity cap): its address, or NULL. */
#define OSP__GROW(p, arr, n, cap)                                                                  \
    (((arr) = osp__parse_grow((p), (arr), (n), &(cap), sizeof *(arr))) != NULL ? &(arr)[(n)++]     \
                                                                               : NULL)

/* Character classes of both lexers: ASCII letters and '_'; ASCII digits. */
static inline int osp__is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline int osp__is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* The offset of the first byte at or after i in the input that is neither white space nor
 * inside a '#' comment (which runs to the end of the line); in.n at the end. */
size_t osp__lex_space(osp_str in, size_t i);

/* The end of the decimal number at offset i of the input: digits, then optionally '.' and
 * digits, then optionally an exponent (e, sign, digits; only taken when a digit follows).
 * *integer (may be NULL) is 1 when neither '.' nor an exponent was taken. */
size_t osp__lex_decimal(osp_str in, size_t i, int *integer);

/* Lexes the string quoted by the byte at *ip ('"', '\'' or '`'; only raw strings span
 * lines, '\' escapes the next byte in the others) and appends it, quotes included, as a
 * token of kind; *ip moves past it. Fails "unterminated ..." at its start. 0 or p->rc. */
int osp__lex_string(osp__parser *p, size_t *ip, int kind);

/* Appends a token of kind covering input bytes [start, end). 0 or OSP_ENOMEM. */
int osp__tok_push(osp__parser *p, int kind, size_t start, size_t end);

/* The token at the cursor; the one after it (the EOF token at the end). */
osp__tok *osp__tok_peek(osp__parser *p);
osp__tok *osp__tok_peek2(osp__parser *p);

/* The token at the cursor, moving past it unless it is the EOF token. */
osp__tok *osp__tok_next(osp__parser *p);

/* 1 if t is the identifier kw; fold_case: ASCII case-insensitively (PromQL's keywords). */
int osp__tok_is_kw(const osp__tok *t, const char *kw, int fold_case);

/* Moves past a token of kind, or fails through p->unexpected with what. 0 or p->rc. */
int osp__tok_expect(osp__parser *p, int kind, const char *what);

/* Unescapes string token t (quotes included, PromQL's escapes) into the arena; a bad escape
 * fails at its offset. 0 or p->rc. */
int osp__parse_unquote(osp__parser *p, const osp__tok *t, osp_str *out);

/* Reads number token t with strtod; t must be shorter than maxlen bytes (maxlen at most
 * 512). Fails at t with "number too long" or "bad number syntax". A value out of range comes
 * back as an infinity, for the caller to reject in its own words. 0 or p->rc. */
int osp__parse_number(osp__parser *p, const osp__tok *t, size_t maxlen, double *out);

/* Compiles RE2 pattern re with flags (OSP_RE2_*) to check it; a bad one fails at pos with
 * "WHAT: reason". *empty (may be NULL) says whether it matches the empty string. 0 or
 * p->rc. */
int osp__parse_regex(osp__parser *p, size_t pos, osp_str re, int flags, const char *what,
                     int *empty);

/* Checks a label matcher (op one of OSP_MATCH_*, regexes anchored) and says in *empty
 * whether it selects the empty value; a bad regex fails at pos as osp__parse_regex does. 0
 * or p->rc. */
int osp__parse_matcher(osp__parser *p, size_t pos, int op, osp_str value, const char *what,
                       int *empty);

/* Appends name, the operator of op (OSP_MATCH_*) and value double-quoted: a="b". Returns 0
 * or the buffer's error. */
int osp__put_matcher(osp_buf *b, osp_str name, int op, osp_str value);

/* Appends the n names in parentheses, ", " between them: (a, b). Returns 0 or the buffer's
 * error. */
int osp__put_names(osp_buf *b, const osp_str *a, size_t n);

#endif
