/* Strict RFC 8259 pull parser: tokens, string unescaping, exact number conversion. */
#include "core/json.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

/* What the grammar expects next; a negative state is the error code of a failed reader. */
enum { ST_VALUE, ST_FIRST_KEY, ST_FIRST_ELEM, ST_AFTER, ST_DONE };

void osp_json_reader_init(osp_json_reader *r, osp_str in, osp_buf *scratch)
{
    assert(scratch);
    r->start = r->p = in.n ? in.p : "";
    r->end = r->start + in.n;
    r->scratch = scratch;
    r->state = ST_VALUE;
    r->depth = 0;
    r->err_off = 0;
    r->err[0] = '\0';
}

/* Records the first error as "<reason> at offset N" and fails the reader with rc. */
__attribute__((format(printf, 4, 5))) static int fail(osp_json_reader *r, int rc, const char *at,
                                                      const char *fmt, ...)
{
    char why[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    r->err_off = (size_t)(at - r->start);
    snprintf(r->err, sizeof r->err, "%s at offset %zu", why, r->err_off);
    r->state = rc;
    return rc;
}

/* Fails with a scratch buffer's error (OSP_ETOOBIG or OSP_ENOMEM). */
static int buf_fail(osp_json_reader *r, int rc, const char *at)
{
    return fail(r, rc, at, "%s", rc == OSP_ETOOBIG ? "string too long" : "out of memory");
}

/* Fails with "expected <what>", or "unexpected end of input" when nothing is left. */
static int expected(osp_json_reader *r, const char *what)
{
    if (r->p >= r->end)
        return fail(r, OSP_EPARSE, r->p, "unexpected end of input");
    return fail(r, OSP_EPARSE, r->p, "expected %s", what);
}

static void skip_ws(osp_json_reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Scans a JSON number starting at p. Returns its end, or NULL with *why set. *is_int says
 * whether it has neither fraction nor exponent. */
static const char *scan_number(const char *p, const char *end, int *is_int, const char **why)
{
    *is_int = 1;
    if (p < end && *p == '-')
        p++;
    if (p >= end || !is_digit(*p)) {
        *why = "digit expected in number";
        return NULL;
    }
    if (*p == '0') {
        p++;
        if (p < end && is_digit(*p)) {
            *why = "leading zero in number";
            return NULL;
        }
    } else {
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && *p == '.') {
        *is_int = 0;
        p++;
        if (p >= end || !is_digit(*p)) {
            *why = "digit expected after '.'";
            return NULL;
        }
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *is_int = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p)) {
            *why = "digit expected in exponent";
            return NULL;
        }
        while (p < end && is_digit(*p))
            p++;
    }
    return p;
}

/* Appends code point cp (not a surrogate, <= U+10FFFF) as UTF-8. */
static int put_utf8(osp_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return osp_buf_append(b, u, n);
}

/* Reads "\uXXXX" at q into *cp. 0 or -1 when malformed or cut short. */
static int read_u_escape(const char *q, const char *end, uint32_t *cp)
{
    uint8_t v[2];
    if (end - q < 6 || q[0] != '\\' || q[1] != 'u' || osp_hex_decode(q + 2, 2, v))
        return -1;
    *cp = (uint32_t)v[0] << 8 | v[1];
    return 0;
}

/* Decodes the escape sequence at *pq into sb and advances *pq past it. */
static int unescape(osp_json_reader *r, const char **pq, osp_buf *sb)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *q = *pq;
    if (r->end - q < 2)
        return fail(r, OSP_EPARSE, q, "unterminated escape");
    const char *simple = memchr(from, q[1], sizeof from - 1);
    int rc;
    if (simple) {
        rc = osp_buf_putc(sb, to[simple - from]);
        *pq = q + 2;
    } else if (q[1] == 'u') {
        uint32_t cp, lo;
        if (read_u_escape(q, r->end, &cp))
            return fail(r, OSP_EPARSE, q, "invalid \\u escape");
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return fail(r, OSP_EPARSE, q, "unpaired surrogate \\u%04X", (unsigned)cp);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (read_u_escape(q + 6, r->end, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return fail(r, OSP_EPARSE, q, "unpaired surrogate \\u%04X", (unsigned)cp);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            q += 6;
        }
        rc = put_utf8(sb, cp);
        *pq = q + 6;
    } else {
        return fail(r, OSP_EPARSE, q, "invalid escape '\\%c'",
                    q[1] >= 0x20 && q[1] < 0x7F ? q[1] : '?');
    }
    return rc ? buf_fail(r, rc, q) : 0;
}

/* Where the run of string bytes that need no attention, from q on, ends: at the first
 * quote, backslash, control byte or byte >= 0x80, or near end (8 bytes at a time, SWAR). */
static const char *plain_end(const char *q, const char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (end - q >= 8) {
        uint64_t x, quote, backslash;
        memcpy(&x, q, 8);
        quote = x ^ ones * '"';
        backslash = x ^ ones * '\\';
        /* each term flags its bytes exactly up to the first one it flags */
        uint64_t stop = ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) |
                        ((x - ones * 0x20) & ~x) | x;
        if ((stop &= highs) != 0)
            return q + __builtin_ctzll(stop) / 8;
        q += 8;
    }
#endif
    return q;
}

/* Reads the string whose opening quote is at r->p into t. */
static int read_string(osp_json_reader *r, osp_json_token *t)
{
    const char *open = r->p, *q = open + 1, *run = q;
    osp_buf *sb = NULL; /* set once an escape is seen */
    int high = 0;       /* any byte >= 0x80 (UTF-8 check needed) */
    int rc;
    for (;;) {
        q = plain_end(q, r->end);
        if (q >= r->end)
            return fail(r, OSP_EPARSE, open, "unterminated string");
        unsigned char c = (unsigned char)*q;
        if (c == '"')
            break;
        if (c == '\\') {
            if (!sb) {
                sb = r->scratch;
                osp_buf_reset(sb);
            }
            if ((rc = osp_buf_append(sb, run, (size_t)(q - run))) != 0)
                return buf_fail(r, rc, open);
            if ((rc = unescape(r, &q, sb)) != 0)
                return rc;
            run = q;
            continue;
        }
        if (c < 0x20)
            return fail(r, OSP_EPARSE, q, "control character in string");
        high |= c >= 0x80;
        q++;
    }
    /* Escapes are ASCII, so checking the raw text checks every literal byte sequence. */
    if (high && !osp_utf8_valid(open + 1, (size_t)(q - open - 1)))
        return fail(r, OSP_EPARSE, open, "invalid UTF-8 in string");
    if (sb) {
        if ((rc = osp_buf_append(sb, run, (size_t)(q - run))) != 0)
            return buf_fail(r, rc, open);
        t->s = osp_buf_str(sb);
        t->escaped = 1;
    } else {
        t->s = osp_str_make(open + 1, (size_t)(q - open - 1));
    }
    r->p = q + 1;
    return 0;
}

static void after_value(osp_json_reader *r)
{
    r->state = r->depth ? ST_AFTER : ST_DONE;
}

static int open_container(osp_json_reader *r, osp_json_token *t, char c)
{
    if (r->depth == OSP_JSON_MAX_DEPTH)
        return fail(r, OSP_EPARSE, r->p, "nesting deeper than %d", OSP_JSON_MAX_DEPTH);
    r->stack[r->depth++] = c;
    r->p++;
    t->type = c == '{' ? OSP_JSON_OBJECT_BEGIN : OSP_JSON_ARRAY_BEGIN;
    r->state = c == '{' ? ST_FIRST_KEY : ST_FIRST_ELEM;
    return 1;
}

static int close_container(osp_json_reader *r, osp_json_token *t)
{
    t->type = r->stack[--r->depth] == '{' ? OSP_JSON_OBJECT_END : OSP_JSON_ARRAY_END;
    r->p++;
    after_value(r);
    return 1;
}

static int read_literal(osp_json_reader *r, osp_json_token *t, const char *word, osp_json_type type)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return expected(r, "a value");
    r->p += n;
    t->type = type;
    after_value(r);
    return 1;
}

static int read_value(osp_json_reader *r, osp_json_token *t)
{
    if (r->p >= r->end)
        return expected(r, "a value");
    int rc, is_int;
    const char *why, *e;
    switch (*r->p) {
    case '{':
    case '[':
        return open_container(r, t, *r->p);
    case '"':
        if ((rc = read_string(r, t)) != 0)
            return rc;
        t->type = OSP_JSON_STRING;
        after_value(r);
        return 1;
    case 't':
        return read_literal(r, t, "true", OSP_JSON_TRUE);
    case 'f':
        return read_literal(r, t, "false", OSP_JSON_FALSE);
    case 'n':
        return read_literal(r, t, "null", OSP_JSON_NULL);
    default:
        if (*r->p != '-' && !is_digit(*r->p))
            return expected(r, "a value");
        if (!(e = scan_number(r->p, r->end, &is_int, &why)))
            return fail(r, OSP_EPARSE, r->p, "%s", why);
        t->type = OSP_JSON_NUMBER;
        t->s = osp_str_make(r->p, (size_t)(e - r->p));
        r->p = e;
        after_value(r);
        return 1;
    }
}

static int read_key(osp_json_reader *r, osp_json_token *t)
{
    if (r->p >= r->end || *r->p != '"')
        return expected(r, "a string key");
    int rc = read_string(r, t);
    if (rc)
        return rc;
    skip_ws(r);
    if (r->p >= r->end || *r->p != ':')
        return expected(r, "':'");
    r->p++;
    t->type = OSP_JSON_KEY;
    r->state = ST_VALUE;
    return 1;
}

int osp_json_next(osp_json_reader *r, osp_json_token *t)
{
    if (r->state < 0)
        return r->state;
    skip_ws(r);
    t->s = OSP_STR_NULL;
    t->escaped = 0;
    t->off = (size_t)(r->p - r->start);
    switch (r->state) {
    case ST_DONE:
        if (r->p == r->end)
            return 0;
        return fail(r, OSP_EPARSE, r->p, "unexpected data after the value");
    case ST_AFTER: {
        char close = r->stack[r->depth - 1] == '{' ? '}' : ']';
        if (r->p < r->end && *r->p == close)
            return close_container(r, t);
        if (r->p >= r->end || *r->p != ',')
            return expected(r, close == '}' ? "',' or '}'" : "',' or ']'");
        r->p++;
        skip_ws(r);
        t->off = (size_t)(r->p - r->start);
        return close == '}' ? read_key(r, t) : read_value(r, t);
    }
    case ST_FIRST_KEY:
        if (r->p < r->end && *r->p == '}')
            return close_container(r, t);
        return read_key(r, t);
    case ST_FIRST_ELEM:
        if (r->p < r->end && *r->p == ']')
            return close_container(r, t);
        return read_value(r, t);
    default:
        return read_value(r, t);
    }
}

int osp_json_skip(osp_json_reader *r, const osp_json_token *t)
{
    if (t->type != OSP_JSON_OBJECT_BEGIN && t->type != OSP_JSON_ARRAY_BEGIN)
        return 0;
    unsigned depth = r->depth;
    osp_json_token tok;
    while (r->depth >= depth) {
        int rc = osp_json_next(r, &tok);
        if (rc < 0)
            return rc;
        assert(rc == 1); /* the text cannot end inside a container */
    }
    return 0;
}

/* Checks that all of num is one JSON number; sets *is_int. 0 or OSP_EPARSE. */
static int whole_number(osp_str num, int *is_int)
{
    const char *why;
    const char *e = num.n ? scan_number(num.p, num.p + num.n, is_int, &why) : NULL;
    return e && e == num.p + num.n ? 0 : OSP_EPARSE;
}

/* Magnitude of the decimal digits of an integer literal; OSP_EPARSE past UINT64_MAX. */
static int digits_u64(const char *p, const char *end, uint64_t *v)
{
    uint64_t x = 0;
    for (; p < end; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return OSP_EPARSE;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

int osp_json_uint64(osp_str num, uint64_t *v)
{
    int is_int;
    if (whole_number(num, &is_int) || !is_int || num.p[0] == '-')
        return OSP_EPARSE;
    return digits_u64(num.p, num.p + num.n, v);
}

int osp_json_int64(osp_str num, int64_t *v)
{
    int is_int;
    uint64_t mag;
    if (whole_number(num, &is_int) || !is_int)
        return OSP_EPARSE;
    int neg = num.p[0] == '-';
    if (digits_u64(num.p + neg, num.p + num.n, &mag))
        return OSP_EPARSE;
    if (mag > (uint64_t)INT64_MAX + neg)
        return OSP_EPARSE;
    *v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

int osp_json_double(osp_str num, double *v)
{
    char copy[512];
    int is_int;
    if (num.n >= sizeof copy || whole_number(num, &is_int))
        return OSP_EPARSE;
    memcpy(copy, num.p, num.n);
    copy[num.n] = '\0';
    char *e;
    double d = strtod(copy, &e);
    if (e != copy + num.n || isinf(d))
        return OSP_EPARSE;
    *v = d;
    return 0;
}

int osp_json_vshape_error(char *msg, size_t cap, const char *kind, size_t off, const char *fmt,
                          va_list ap)
{
    char what[160];
    vsnprintf(what, sizeof what, fmt, ap);
    snprintf(msg, cap, "%s: %s at offset %zu", kind, what, off);
    return OSP_EPARSE;
}

int osp_json_syntax_error(const osp_json_reader *r, int rc, char *msg, size_t cap)
{
    if (rc == OSP_EPARSE)
        snprintf(msg, cap, "malformed JSON: %s", r->err);
    return rc;
}

const char *osp_json_kind(osp_json_type t)
{
    static const char *const kinds[] = {
        [OSP_JSON_OBJECT_BEGIN] = "an object",
        [OSP_JSON_ARRAY_BEGIN] = "an array",
        [OSP_JSON_STRING] = "a string",
        [OSP_JSON_NUMBER] = "a number",
        [OSP_JSON_TRUE] = "a boolean",
        [OSP_JSON_FALSE] = "a boolean",
        [OSP_JSON_NULL] = "null",
    };
    return t < sizeof kinds / sizeof kinds[0] && kinds[t] ? kinds[t] : "a value";
}
