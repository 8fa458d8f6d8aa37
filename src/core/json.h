/* Zero-copy JSON pull parser (RFC 8259, strict) for request bodies: OTLP/JSON, Loki, Zipkin. */
#ifndef OSP_PROTO_JSON_H
#define OSP_PROTO_JSON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"

/* Objects and arrays nested deeper than this are rejected. OTLP/JSON needs it above 140: 12
 * levels of envelope down to an event attribute, then 4 per AnyValue kvlist level (32). */
#define OSP_JSON_MAX_DEPTH 256

typedef enum osp_json_type {
    OSP_JSON_OBJECT_BEGIN = 1,
    OSP_JSON_OBJECT_END,
    OSP_JSON_ARRAY_BEGIN,
    OSP_JSON_ARRAY_END,
    OSP_JSON_KEY, /* an object member's name; its value is the next token */
    OSP_JSON_STRING,
    OSP_JSON_NUMBER,
    OSP_JSON_TRUE,
    OSP_JSON_FALSE,
    OSP_JSON_NULL,
} osp_json_type;

typedef struct osp_json_token {
    osp_json_type type;
    osp_str s;   /* KEY, STRING: the unescaped text; NUMBER: the literal as written */
    int escaped; /* KEY, STRING: 1 when s lives in the scratch buffer, not the input */
    size_t off;  /* byte offset of the token in the input */
} osp_json_token;

/* A cursor over one JSON text. Keeps the container stack; allocates nothing itself. */
typedef struct osp_json_reader {
    const char *start, *p, *end;
    osp_buf *scratch;               /* receives strings that contain escapes */
    int state;                      /* what the grammar expects next (private) */
    unsigned depth;                 /* open containers */
    char stack[OSP_JSON_MAX_DEPTH]; /* '{' or '[' per open container */
    size_t err_off;                 /* byte offset of the first error */
    char err[96];                   /* "expected ':' at offset 123"; "" while no error */
} osp_json_reader;

/* Starts reading the text in. Strings with escapes are unescaped into scratch (reset for
 * each such string), which must be non-NULL; its cap bounds the longest escaped string.
 * in and scratch must outlive the reader. */
void osp_json_reader_init(osp_json_reader *r, osp_str in, osp_buf *scratch);

/* Reads the next token. Returns 1 with a token in *t, 0 at the clean end of the text (one
 * complete value followed only by whitespace), OSP_EPARSE on malformed input (r->err and
 * r->err_off say what and where; every later call fails the same way), OSP_ETOOBIG when an
 * escaped string does not fit the scratch buffer, OSP_ENOMEM. A token's s is valid until
 * the next call when escaped, otherwise as long as the input. Rejected: trailing commas,
 * comments, leading zeros, NaN/Infinity literals, control characters in strings, invalid
 * UTF-8, unpaired \u surrogates, nesting past OSP_JSON_MAX_DEPTH, data after the value. */
int osp_json_next(osp_json_reader *r, osp_json_token *t);

/* Skips the rest of the value that t (the token just read) begins: nothing for a scalar,
 * through the matching end for an object or array. 0 or osp_json_next's errors. */
int osp_json_skip(osp_json_reader *r, const osp_json_token *t);

/* Parses text in JSON number syntax as an exact integer (no fraction, no exponent, no
 * rounding through double). Accepts a NUMBER token's text or the contents of a string
 * holding a number. 0, or OSP_EPARSE for other syntax or a value out of range. */
int osp_json_int64(osp_str num, int64_t *v);
int osp_json_uint64(osp_str num, uint64_t *v);

/* Parses text in JSON number syntax as a double: the nearest value, by strtod on a bounded
 * copy (Osprey keeps the C numeric locale). 0, or OSP_EPARSE for other syntax, text longer
 * than 511 characters, or a magnitude that overflows to infinity. */
int osp_json_double(osp_str num, double *v);

/* Messages for decoders' reports, written into msg (cap bytes, NUL-terminated, cut to fit).
 * osp_json_vshape_error: "<kind>: <what> at offset OFF", what being fmt formatted with ap,
 * for JSON that is well formed but not shaped like the document expected (kind, e.g.
 * "invalid Loki push", names the document); returns OSP_EPARSE.
 * osp_json_syntax_error: when rc (from osp_json_next or osp_json_skip on r) is OSP_EPARSE,
 * "malformed JSON: <r->err>"; msg untouched otherwise; returns rc. */
int osp_json_vshape_error(char *msg, size_t cap, const char *kind, size_t off, const char *fmt,
                          va_list ap);
int osp_json_syntax_error(const osp_json_reader *r, int rc, char *msg, size_t cap);

/* What a value token of type t begins, for messages: "an object", "an array", "a string",
 * "a number", "a boolean" or "null" ("a value" for other types). */
const char *osp_json_kind(osp_json_type t);

#endif
