/* PromQL lexer and precedence-climbing parser with Prometheus's parse-time type checks. */
#include "query/promql_parse.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"
#include "core/err.h"
#include "query/parse_util.h"
#include "store/tsdb/index.h"

/* ---- function table ---- */

#define S OSP_PROMQL_T_SCALAR
#define V OSP_PROMQL_T_VECTOR
#define M OSP_PROMQL_T_MATRIX
#define T OSP_PROMQL_T_STRING

struct osp_promql_func {
    const char *name;
    osp_promql_type args[5];
    int nargs;
    int variadic; /* as Prometheus: 0 exact; else the last argument is optional and may
                   * repeat up to variadic times (-1: without limit) */
    osp_promql_type ret;
};

static const osp_promql_func funcs[] = {
    {"abs", {V}, 1, 0, V},
    {"absent", {V}, 1, 0, V},
    {"absent_over_time", {M}, 1, 0, V},
    {"acos", {V}, 1, 0, V},
    {"acosh", {V}, 1, 0, V},
    {"asin", {V}, 1, 0, V},
    {"asinh", {V}, 1, 0, V},
    {"atan", {V}, 1, 0, V},
    {"atanh", {V}, 1, 0, V},
    {"avg_over_time", {M}, 1, 0, V},
    {"ceil", {V}, 1, 0, V},
    {"changes", {M}, 1, 0, V},
    {"clamp", {V, S, S}, 3, 0, V},
    {"clamp_max", {V, S}, 2, 0, V},
    {"clamp_min", {V, S}, 2, 0, V},
    {"cos", {V}, 1, 0, V},
    {"cosh", {V}, 1, 0, V},
    {"count_over_time", {M}, 1, 0, V},
    {"day_of_month", {V}, 1, 1, V},
    {"day_of_week", {V}, 1, 1, V},
    {"day_of_year", {V}, 1, 1, V},
    {"days_in_month", {V}, 1, 1, V},
    {"deg", {V}, 1, 0, V},
    {"delta", {M}, 1, 0, V},
    {"deriv", {M}, 1, 0, V},
    {"exp", {V}, 1, 0, V},
    {"floor", {V}, 1, 0, V},
    {"histogram_count", {V}, 1, 0, V},
    {"histogram_fraction", {S, S, V}, 3, 0, V},
    {"histogram_quantile", {S, V}, 2, 0, V},
    {"histogram_stddev", {V}, 1, 0, V},
    {"histogram_stdvar", {V}, 1, 0, V},
    {"histogram_sum", {V}, 1, 0, V},
    {"holt_winters", {M, S, S}, 3, 0, V},
    {"hour", {V}, 1, 1, V},
    {"idelta", {M}, 1, 0, V},
    {"increase", {M}, 1, 0, V},
    {"irate", {M}, 1, 0, V},
    {"label_join", {V, T, T, T}, 4, -1, V},
    {"label_replace", {V, T, T, T, T}, 5, 0, V},
    {"last_over_time", {M}, 1, 0, V},
    {"ln", {V}, 1, 0, V},
    {"log10", {V}, 1, 0, V},
    {"log2", {V}, 1, 0, V},
    {"max_over_time", {M}, 1, 0, V},
    {"min_over_time", {M}, 1, 0, V},
    {"minute", {V}, 1, 1, V},
    {"month", {V}, 1, 1, V},
    {"pi", {0}, 0, 0, S},
    {"predict_linear", {M, S}, 2, 0, V},
    {"present_over_time", {M}, 1, 0, V},
    {"quantile_over_time", {S, M}, 2, 0, V},
    {"rad", {V}, 1, 0, V},
    {"rate", {M}, 1, 0, V},
    {"resets", {M}, 1, 0, V},
    {"round", {V, S}, 2, 1, V},
    {"scalar", {V}, 1, 0, S},
    {"sgn", {V}, 1, 0, V},
    {"sin", {V}, 1, 0, V},
    {"sinh", {V}, 1, 0, V},
    {"sort", {V}, 1, 0, V},
    {"sort_desc", {V}, 1, 0, V},
    {"sqrt", {V}, 1, 0, V},
    {"stddev_over_time", {M}, 1, 0, V},
    {"stdvar_over_time", {M}, 1, 0, V},
    {"sum_over_time", {M}, 1, 0, V},
    {"tan", {V}, 1, 0, V},
    {"tanh", {V}, 1, 0, V},
    {"time", {0}, 0, 0, S},
    {"timestamp", {V}, 1, 0, V},
    {"vector", {S}, 1, 0, V},
    {"year", {V}, 1, 1, V},
};

#undef S
#undef V
#undef M
#undef T

static const osp_promql_func *func_lookup(osp_str name)
{
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (osp_str_eqz(name, funcs[i].name))
            return &funcs[i];
    return NULL;
}

/* ---- tokens ---- */

typedef enum tok_kind {
    TK_EOF = OSP__TK_EOF,
    TK_IDENT = OSP__TK_IDENT,
    TK_NUMBER,
    TK_DURATION,
    TK_STRING,
    TK_LPAREN,
    TK_RPAREN,
    TK_LBRACE,
    TK_RBRACE,
    TK_LBRACKET,
    TK_RBRACKET,
    TK_COMMA,
    TK_COLON,
    TK_AT,
    TK_ASSIGN, /* = */
    TK_NEQ,    /* != */
    TK_EQLRE,  /* =~ */
    TK_NEQRE,  /* !~ */
    TK_EQLC,   /* == */
    TK_LSS,
    TK_LTE,
    TK_GTR,
    TK_GTE,
    TK_ADD,
    TK_SUB,
    TK_MUL,
    TK_DIV,
    TK_MOD,
    TK_POW,
} tok_kind;

static int is_hex(int c)
{
    return osp__is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_unit(int c)
{
    return c == 's' || c == 'm' || c == 'h' || c == 'd' || c == 'w' || c == 'y';
}

/* Splits the input into tokens; ':' is its own token only inside brackets. */
static int lex(osp__parser *p)
{
    const char *s = p->in.p;
    size_t n = p->in.n, i = 0;
    int brackets = 0;
    while ((i = osp__lex_space(p->in, i)) < n) {
        unsigned char c = (unsigned char)s[i];
        size_t st = i;
        if (osp__is_alpha(c) || (c == ':' && !brackets)) {
            while (i < n && (osp__is_alpha((unsigned char)s[i]) ||
                             osp__is_digit((unsigned char)s[i]) || s[i] == ':'))
                i++;
            if (osp__tok_push(p, TK_IDENT, st, i))
                return p->rc;
            continue;
        }
        if (osp__is_digit(c) || (c == '.' && i + 1 < n && osp__is_digit((unsigned char)s[i + 1]))) {
            tok_kind k = TK_NUMBER;
            if (c == '0' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
                i += 2;
                while (i < n && is_hex((unsigned char)s[i]))
                    i++;
            } else {
                int integer;
                i = osp__lex_decimal(p->in, i, &integer);
                if (integer && i < n && is_unit((unsigned char)s[i])) {
                    k = TK_DURATION;
                    while (i < n &&
                           (osp__is_digit((unsigned char)s[i]) || is_unit((unsigned char)s[i])))
                        i++;
                }
            }
            if (i < n &&
                (osp__is_alpha((unsigned char)s[i]) || osp__is_digit((unsigned char)s[i]))) {
                while (i < n &&
                       (osp__is_alpha((unsigned char)s[i]) || osp__is_digit((unsigned char)s[i])))
                    i++;
                return osp__parse_fail(p, st, "bad number or duration syntax: \"%.*s\"",
                                       (int)(i - st), s + st);
            }
            if (osp__tok_push(p, k, st, i))
                return p->rc;
            continue;
        }
        if (c == '"' || c == '\'' || c == '`') {
            if (osp__lex_string(p, &i, TK_STRING))
                return p->rc;
            continue;
        }
        tok_kind k;
        size_t len = 1;
        char c2 = i + 1 < n ? s[i + 1] : 0;
        switch (c) {
        case '(':
            k = TK_LPAREN;
            break;
        case ')':
            k = TK_RPAREN;
            break;
        case '{':
            k = TK_LBRACE;
            break;
        case '}':
            k = TK_RBRACE;
            break;
        case '[':
            k = TK_LBRACKET;
            brackets++;
            break;
        case ']':
            k = TK_RBRACKET;
            if (brackets > 0)
                brackets--;
            break;
        case ',':
            k = TK_COMMA;
            break;
        case ':':
            k = TK_COLON;
            break;
        case '@':
            k = TK_AT;
            break;
        case '+':
            k = TK_ADD;
            break;
        case '-':
            k = TK_SUB;
            break;
        case '*':
            k = TK_MUL;
            break;
        case '/':
            k = TK_DIV;
            break;
        case '%':
            k = TK_MOD;
            break;
        case '^':
            k = TK_POW;
            break;
        case '=':
            k = c2 == '=' ? TK_EQLC : c2 == '~' ? TK_EQLRE : TK_ASSIGN;
            len = k == TK_ASSIGN ? 1 : 2;
            break;
        case '!':
            if (c2 == '=')
                k = TK_NEQ;
            else if (c2 == '~')
                k = TK_NEQRE;
            else
                return osp__parse_fail(p, st, "unexpected character after '!': %s",
                                       c2 ? "'?'" : "end of input");
            len = 2;
            break;
        case '<':
            k = c2 == '=' ? TK_LTE : TK_LSS;
            len = k == TK_LTE ? 2 : 1;
            break;
        case '>':
            k = c2 == '=' ? TK_GTE : TK_GTR;
            len = k == TK_GTE ? 2 : 1;
            break;
        default:
            if (c >= 0x20 && c < 0x7f)
                return osp__parse_fail(p, st, "unexpected character: '%c'", c);
            return osp__parse_fail(p, st, "unexpected character: 0x%02x", c);
        }
        i += len;
        if (osp__tok_push(p, k, st, i))
            return p->rc;
    }
    return osp__tok_push(p, TK_EOF, n, n);
}

/* ---- token helpers ---- */

static int kw_is(const osp__tok *t, const char *kw)
{
    return osp__tok_is_kw(t, kw, 1);
}

static const char *const keywords[] = {
    "and",        "or",          "unless", "atan2",  "by",           "without", "on",   "ignoring",
    "group_left", "group_right", "bool",   "offset", "sum",          "min",     "max",  "avg",
    "group",      "stddev",      "stdvar", "count",  "count_values", "bottomk", "topk", "quantile",
};

static int is_keyword(const osp__tok *t)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (kw_is(t, keywords[i]))
            return 1;
    return 0;
}

static int unexpected(osp__parser *p, const osp__tok *t, const char *ctx)
{
    const char *in = ctx ? " in " : "";
    ctx = ctx ? ctx : "";
    switch (t->kind) {
    case TK_EOF:
        return osp__parse_fail(p, t->pos, "unexpected end of input%s%s", in, ctx);
    case TK_IDENT:
        if (is_keyword(t))
            return osp__parse_fail(p, t->pos, "unexpected '%.*s'%s%s", OSP_STR_FMT(t->text), in,
                                   ctx);
        return osp__parse_fail(p, t->pos, "unexpected identifier \"%.*s\"%s%s",
                               OSP_STR_FMT(t->text), in, ctx);
    case TK_NUMBER:
        return osp__parse_fail(p, t->pos, "unexpected number \"%.*s\"%s%s", OSP_STR_FMT(t->text),
                               in, ctx);
    case TK_DURATION:
        return osp__parse_fail(p, t->pos, "unexpected duration \"%.*s\"%s%s", OSP_STR_FMT(t->text),
                               in, ctx);
    case TK_STRING:
        return osp__parse_fail(p, t->pos, "unexpected string %.*s%s%s", OSP_STR_FMT(t->text), in,
                               ctx);
    default:
        return osp__parse_fail(p, t->pos, "unexpected '%.*s'%s%s", OSP_STR_FMT(t->text), in, ctx);
    }
}

const char *osp_promql_type_name(osp_promql_type t)
{
    switch (t) {
    case OSP_PROMQL_T_SCALAR:
        return "scalar";
    case OSP_PROMQL_T_VECTOR:
        return "instant vector";
    case OSP_PROMQL_T_MATRIX:
        return "range vector";
    case OSP_PROMQL_T_STRING:
        return "string";
    default:
        return "none";
    }
}

static osp_promql_expr *node(osp__parser *p, osp_promql_kind k, size_t pos)
{
    osp_promql_expr *e = osp__parse_calloc(p, sizeof *e);
    if (e) {
        e->kind = k;
        e->pos = pos;
    }
    return e;
}

/* ---- literals ---- */

static void put_utf8(char *o, size_t *n, uint32_t cp)
{
    if (cp < 0x80) {
        o[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*n)++] = (char)(0xc0 | (cp >> 6));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        o[(*n)++] = (char)(0xe0 | (cp >> 12));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        o[(*n)++] = (char)(0xf0 | (cp >> 18));
        o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static int hexval(int c)
{
    return osp__is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}

static int bad_escape(size_t at, size_t *bad, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int bad_escape(size_t at, size_t *bad, char *why, size_t whylen, const char *fmt, ...)
{
    *bad = at;
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return OSP_EPARSE;
}

int osp_promql_unquote(osp_str quoted, osp_arena *arena, osp_str *out, size_t *bad, char *why,
                       size_t whylen)
{
    const char *s = quoted.p;
    size_t n = quoted.n;
    char q = s[0];
    char *o = osp_arena_alloc(arena, n + 1);
    size_t on = 0;
    if (!o)
        return OSP_ENOMEM;
    if (q == '`') {
        memcpy(o, s + 1, n - 2);
        on = n - 2;
    } else {
        for (size_t i = 1; i + 1 < n; i++) {
            if (s[i] != '\\') {
                o[on++] = s[i];
                continue;
            }
            size_t at = i;
            char c = s[++i];
            int nd = 0;
            switch (c) {
            case 'a':
                o[on++] = '\a';
                continue;
            case 'b':
                o[on++] = '\b';
                continue;
            case 'f':
                o[on++] = '\f';
                continue;
            case 'n':
                o[on++] = '\n';
                continue;
            case 'r':
                o[on++] = '\r';
                continue;
            case 't':
                o[on++] = '\t';
                continue;
            case 'v':
                o[on++] = '\v';
                continue;
            case '\\':
                o[on++] = '\\';
                continue;
            case 'x':
                nd = 2;
                break;
            case 'u':
                nd = 4;
                break;
            case 'U':
                nd = 8;
                break;
            default:
                if (c == q) {
                    o[on++] = c;
                    continue;
                }
                if (c >= '0' && c <= '7') {
                    if (i + 2 >= n - 1 || s[i + 1] < '0' || s[i + 1] > '7' || s[i + 2] < '0' ||
                        s[i + 2] > '7')
                        return bad_escape(at, bad, why, whylen, "unknown escape sequence");
                    unsigned v = (unsigned)(c - '0') * 64 + (unsigned)(s[i + 1] - '0') * 8 +
                                 (unsigned)(s[i + 2] - '0');
                    i += 2;
                    if (v > 255)
                        return bad_escape(at, bad, why, whylen, "octal escape value > 255: %u", v);
                    o[on++] = (char)v;
                    continue;
                }
                return bad_escape(at, bad, why, whylen, "unknown escape sequence");
            }
            uint32_t v = 0;
            for (int k = 0; k < nd; k++) {
                i++;
                if (i + 1 >= n || !is_hex((unsigned char)s[i]))
                    return bad_escape(at, bad, why, whylen, "illegal character in escape sequence");
                v = v * 16 + (uint32_t)hexval((unsigned char)s[i]);
            }
            if (c == 'x') {
                o[on++] = (char)v;
            } else {
                if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000))
                    return bad_escape(at, bad, why, whylen,
                                      "escape sequence is an invalid Unicode code point");
                put_utf8(o, &on, v);
            }
        }
    }
    o[on] = 0;
    *out = osp_str_make(o, on);
    return 0;
}

static int parse_duration(osp__parser *p, const osp__tok *t, int64_t *out)
{
    int rc = osp_prom_duration_parse(t->text, out);
    if (rc == OSP_ETOOBIG)
        return osp__parse_fail(p, t->pos, "duration out of range: \"%.*s\"", OSP_STR_FMT(t->text));
    if (rc)
        return osp__parse_fail(p, t->pos, "not a valid duration string: \"%.*s\"",
                               OSP_STR_FMT(t->text));
    if (*out == 0)
        return osp__parse_fail(p, t->pos, "duration must be greater than 0");
    return 0;
}

static int parse_number(osp__parser *p, const osp__tok *t, double *out)
{
    if (t->kind == TK_IDENT) {
        *out = (t->text.p[0] | 0x20) == 'n' ? NAN : INFINITY;
        return 0;
    }
    if (osp__parse_number(p, t, 128, out))
        return p->rc;
    if (isinf(*out))
        return osp__parse_fail(p, t->pos, "error parsing number: \"%.*s\": value out of range",
                               OSP_STR_FMT(t->text));
    return 0;
}

static int is_inf_nan(const osp__tok *t)
{
    return kw_is(t, "inf") || kw_is(t, "nan");
}

/* ---- expressions ---- */

static int parse_expr(osp__parser *p, int minprec, osp_promql_expr **out);

static int label_name(osp__parser *p, osp_str *out, const char *ctx)
{
    osp__tok *t = osp__tok_peek(p);
    if (t->kind != TK_IDENT || memchr(t->text.p, ':', t->text.n))
        return unexpected(p, t, ctx);
    osp__tok_next(p);
    *out = osp_arena_strdup(p->arena, t->text);
    return out->p ? 0 : osp__parse_nomem(p);
}

/* "(" [name {"," name} [","]] ")" */
static int label_list(osp__parser *p, osp_promql_labels *l, const char *ctx)
{
    size_t cap = 0;
    l->a = NULL;
    l->n = 0;
    if (osp__tok_expect(p, TK_LPAREN, ctx))
        return p->rc;
    while (osp__tok_peek(p)->kind != TK_RPAREN) {
        osp_str *name = OSP__GROW(p, l->a, l->n, cap);
        if (!name || label_name(p, name, ctx))
            return p->rc;
        if (osp__tok_peek(p)->kind == TK_COMMA)
            osp__tok_next(p);
        else if (osp__tok_peek(p)->kind != TK_RPAREN)
            return unexpected(p, osp__tok_peek(p), ctx);
    }
    osp__tok_next(p);
    return 0;
}

_Static_assert((int)OSP_PROMQL_MATCH_EQ == OSP_MATCH_EQ &&
                   (int)OSP_PROMQL_MATCH_NE == OSP_MATCH_NEQ &&
                   (int)OSP_PROMQL_MATCH_RE == OSP_MATCH_RE &&
                   (int)OSP_PROMQL_MATCH_NRE == OSP_MATCH_NRE,
               "osp__parse_matcher and osp__put_matcher take PromQL's operators as OSP_MATCH_*");

/* [name] ["{" matchers "}"]; the name token (if any) is already consumed. */
static int vector_selector(osp__parser *p, const osp__tok *name, size_t pos, osp_promql_expr **out)
{
    osp_promql_expr *e = node(p, OSP_PROMQL_VECTOR, pos);
    size_t cap = 0;
    int nonempty = name != NULL;
    if (!e)
        return p->rc;
    e->type = OSP_PROMQL_T_VECTOR;
    if (name) {
        e->u.vs.name = osp_arena_strdup(p->arena, name->text);
        if (!e->u.vs.name.p)
            return osp__parse_nomem(p);
    }
    if (osp__tok_peek(p)->kind == TK_LBRACE) {
        osp__tok_next(p);
        while (osp__tok_peek(p)->kind != TK_RBRACE) {
            osp_promql_matcher m;
            if (label_name(p, &m.name, "label matching"))
                return p->rc;
            osp__tok *op = osp__tok_next(p);
            switch (op->kind) {
            case TK_ASSIGN:
                m.op = OSP_PROMQL_MATCH_EQ;
                break;
            case TK_NEQ:
                m.op = OSP_PROMQL_MATCH_NE;
                break;
            case TK_EQLRE:
                m.op = OSP_PROMQL_MATCH_RE;
                break;
            case TK_NEQRE:
                m.op = OSP_PROMQL_MATCH_NRE;
                break;
            default:
                return osp__parse_fail(
                    p, op->pos,
                    "unexpected %s in label matching, expected one of \"=\", \"!=\", "
                    "\"=~\" or \"!~\"",
                    op->kind == TK_EOF ? "end of input" : "token");
            }
            osp__tok *v = osp__tok_peek(p);
            if (v->kind != TK_STRING)
                return osp__parse_fail(p, v->pos,
                                       "unexpected %s in label matching, expected string",
                                       v->kind == TK_EOF ? "end of input" : "token");
            osp__tok_next(p);
            if (osp__parse_unquote(p, v, &m.value))
                return p->rc;
            int empty;
            if (osp__parse_matcher(p, v->pos, (int)m.op, m.value, "error parsing regexp", &empty))
                return p->rc;
            nonempty |= !empty;
            if (osp_str_eqz(m.name, "__name__") && m.op == OSP_PROMQL_MATCH_EQ && name)
                return osp__parse_fail(p, pos,
                                       "metric name must not be set twice: \"%.*s\" or \"%.*s\"",
                                       OSP_STR_FMT(name->text), OSP_STR_FMT(m.value));
            osp_promql_matcher *slot = OSP__GROW(p, e->u.vs.matchers, e->u.vs.nmatchers, cap);
            if (!slot)
                return p->rc;
            *slot = m;
            if (osp__tok_peek(p)->kind == TK_COMMA)
                osp__tok_next(p);
            else if (osp__tok_peek(p)->kind != TK_RBRACE)
                return unexpected(p, osp__tok_peek(p), "label matching");
        }
        osp__tok_next(p);
    }
    if (!nonempty)
        return osp__parse_fail(p, pos,
                               "vector selector must contain at least one non-empty matcher");
    *out = e;
    return 0;
}

static int agg_op(const osp__tok *t, osp_promql_agg_op *op)
{
    static const char *const names[] = {"sum",          "min",     "max",    "avg",
                                        "group",        "stddev",  "stdvar", "count",
                                        "count_values", "bottomk", "topk",   "quantile"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (kw_is(t, names[i])) {
            *op = (osp_promql_agg_op)i;
            return 1;
        }
    return 0;
}

static int aggregation(osp__parser *p, osp_promql_agg_op op, size_t pos, osp_promql_expr **out)
{
    osp_promql_expr *e = node(p, OSP_PROMQL_AGG, pos);
    osp_promql_expr *args[2];
    size_t nargs = 0;
    int grouped = 0;
    if (!e)
        return p->rc;
    e->type = OSP_PROMQL_T_VECTOR;
    e->u.agg.op = op;
    for (int pass = 0; pass < 2; pass++) {
        osp__tok *t = osp__tok_peek(p);
        if (!grouped && (kw_is(t, "by") || kw_is(t, "without"))) {
            osp__tok_next(p);
            e->u.agg.without = kw_is(t, "without");
            if (label_list(p, &e->u.agg.grouping, "grouping opts"))
                return p->rc;
            grouped = 1;
        }
        if (pass == 1)
            break;
        t = osp__tok_peek(p);
        if (t->kind != TK_LPAREN)
            return unexpected(p, t, "aggregation");
        osp__tok_next(p);
        if (osp__tok_peek(p)->kind == TK_RPAREN)
            return osp__parse_fail(p, pos, "no arguments for aggregate expression provided");
        for (;;) {
            osp_promql_expr *a;
            if (parse_expr(p, 0, &a))
                return p->rc;
            if (nargs < 2)
                args[nargs] = a;
            nargs++;
            if (osp__tok_peek(p)->kind == TK_COMMA) {
                osp__tok_next(p);
                continue;
            }
            if (osp__tok_expect(p, TK_RPAREN, "aggregation"))
                return p->rc;
            break;
        }
    }
    int want = op >= OSP_PROMQL_AGG_COUNT_VALUES ? 2 : 1;
    if ((int)nargs != want)
        return osp__parse_fail(
            p, pos,
            "wrong number of arguments for aggregate expression provided, expected %d, "
            "got %zu",
            want, nargs);
    e->u.agg.expr = args[want - 1];
    if (want == 2) {
        e->u.agg.param = args[0];
        osp_promql_type pt =
            op == OSP_PROMQL_AGG_COUNT_VALUES ? OSP_PROMQL_T_STRING : OSP_PROMQL_T_SCALAR;
        if (args[0]->type != pt)
            return osp__parse_fail(p, args[0]->pos,
                                   "expected type %s in aggregation parameter, got %s",
                                   osp_promql_type_name(pt), osp_promql_type_name(args[0]->type));
    }
    if (e->u.agg.expr->type != OSP_PROMQL_T_VECTOR)
        return osp__parse_fail(p, e->u.agg.expr->pos,
                               "expected type instant vector in aggregation expression, got %s",
                               osp_promql_type_name(e->u.agg.expr->type));
    *out = e;
    return 0;
}

static int call(osp__parser *p, const osp__tok *name, osp_promql_expr **out)
{
    const osp_promql_func *f = func_lookup(name->text);
    osp_promql_expr *e;
    osp_promql_expr *args[64];
    size_t nargs = 0;
    if (!f)
        return osp__parse_fail(p, name->pos, "unknown function with name \"%.*s\"",
                               OSP_STR_FMT(name->text));
    osp__tok_next(p); /* '(' */
    if (osp__tok_peek(p)->kind != TK_RPAREN) {
        for (;;) {
            osp_promql_expr *a;
            if (nargs == sizeof args / sizeof args[0])
                return osp__parse_fail(p, osp__tok_peek(p)->pos,
                                       "too many arguments in call to \"%s\"", f->name);
            if (parse_expr(p, 0, &a))
                return p->rc;
            args[nargs++] = a;
            if (osp__tok_peek(p)->kind == TK_COMMA) {
                osp__tok_next(p);
                if (osp__tok_peek(p)->kind == TK_RPAREN)
                    return osp__parse_fail(p, osp__tok_peek(p)->pos,
                                           "trailing commas not allowed in function call args");
                continue;
            }
            if (osp__tok_expect(p, TK_RPAREN, "function call"))
                return p->rc;
            break;
        }
    } else {
        osp__tok_next(p);
    }
    int min = f->variadic ? f->nargs - 1 : f->nargs;
    if (f->variadic == 0 && (int)nargs != f->nargs)
        return osp__parse_fail(p, name->pos, "expected %d argument(s) in call to \"%s\", got %zu",
                               f->nargs, f->name, nargs);
    if ((int)nargs < min)
        return osp__parse_fail(p, name->pos,
                               "expected at least %d argument(s) in call to \"%s\", got %zu", min,
                               f->name, nargs);
    if (f->variadic > 0 && (int)nargs > min + f->variadic)
        return osp__parse_fail(p, name->pos,
                               "expected at most %d argument(s) in call to \"%s\", got %zu",
                               min + f->variadic, f->name, nargs);
    for (size_t i = 0; i < nargs; i++) {
        osp_promql_type want = f->args[(int)i < f->nargs ? i : (size_t)f->nargs - 1];
        if (args[i]->type != want)
            return osp__parse_fail(
                p, args[i]->pos, "expected type %s in call to function \"%s\", got %s",
                osp_promql_type_name(want), f->name, osp_promql_type_name(args[i]->type));
    }
    e = node(p, OSP_PROMQL_CALL, name->pos);
    if (!e)
        return p->rc;
    e->type = f->ret;
    e->u.call.func = f;
    e->u.call.name = osp_str_c(f->name);
    e->u.call.nargs = nargs;
    if (nargs) {
        e->u.call.args = osp_arena_memdup(p->arena, args, nargs * sizeof args[0]);
        if (!e->u.call.args)
            return osp__parse_nomem(p);
    }
    *out = e;
    return 0;
}

static int primary(osp__parser *p, osp_promql_expr **out)
{
    osp__tok *t = osp__tok_peek(p);
    osp_promql_expr *e;
    switch (t->kind) {
    case TK_NUMBER:
        osp__tok_next(p);
        if (!(e = node(p, OSP_PROMQL_NUMBER, t->pos)))
            return p->rc;
        e->type = OSP_PROMQL_T_SCALAR;
        if (parse_number(p, t, &e->u.number))
            return p->rc;
        *out = e;
        return 0;
    case TK_STRING:
        osp__tok_next(p);
        if (!(e = node(p, OSP_PROMQL_STRING, t->pos)))
            return p->rc;
        e->type = OSP_PROMQL_T_STRING;
        if (osp__parse_unquote(p, t, &e->u.string))
            return p->rc;
        *out = e;
        return 0;
    case TK_LPAREN:
        osp__tok_next(p);
        if (!(e = node(p, OSP_PROMQL_PAREN, t->pos)))
            return p->rc;
        if (parse_expr(p, 0, &e->u.paren.expr) || osp__tok_expect(p, TK_RPAREN, "paren expression"))
            return p->rc;
        e->type = e->u.paren.expr->type;
        *out = e;
        return 0;
    case TK_LBRACE:
        return vector_selector(p, NULL, t->pos, out);
    case TK_IDENT: {
        osp_promql_agg_op op;
        osp__tok *t2 = osp__tok_peek2(p);
        /* An aggregation name not followed by its arguments is a metric name. */
        if (agg_op(t, &op) && (t2->kind == TK_LPAREN || kw_is(t2, "by") || kw_is(t2, "without"))) {
            osp__tok_next(p);
            return aggregation(p, op, t->pos, out);
        }
        if (osp__tok_peek2(p)->kind == TK_LPAREN && !is_keyword(t))
            return call(p, osp__tok_next(p), out);
        if (is_inf_nan(t)) {
            osp__tok_next(p);
            if (!(e = node(p, OSP_PROMQL_NUMBER, t->pos)))
                return p->rc;
            e->type = OSP_PROMQL_T_SCALAR;
            parse_number(p, t, &e->u.number);
            *out = e;
            return 0;
        }
        if (is_keyword(t) && !agg_op(t, &op))
            return unexpected(p, t, NULL);
        osp__tok_next(p);
        return vector_selector(p, t, t->pos, out);
    }
    default:
        return unexpected(p, t, NULL);
    }
}

static osp_promql_mods *mods_of(osp_promql_expr *e)
{
    if (e->kind == OSP_PROMQL_VECTOR)
        return &e->u.vs.mods;
    if (e->kind == OSP_PROMQL_MATRIX)
        return &e->u.ms.vs->u.vs.mods;
    if (e->kind == OSP_PROMQL_SUBQUERY)
        return &e->u.sq.mods;
    return NULL;
}

/* Range selectors, subqueries, offset and @ after a primary expression. */
static int postfix(osp__parser *p, osp_promql_expr **inout)
{
    osp_promql_expr *e = *inout;
    int has_offset = 0, has_at = 0;
    for (;;) {
        osp__tok *t = osp__tok_peek(p);
        if (t->kind == TK_LBRACKET) {
            osp__tok_next(p);
            osp__tok *d = osp__tok_peek(p);
            int64_t range = 0, step = 0;
            if (d->kind != TK_DURATION)
                return unexpected(p, d, "range or subquery");
            osp__tok_next(p);
            if (parse_duration(p, d, &range))
                return p->rc;
            if (osp__tok_peek(p)->kind == TK_COLON) {
                osp__tok_next(p);
                if (osp__tok_peek(p)->kind == TK_DURATION) {
                    osp__tok *s = osp__tok_next(p);
                    if (parse_duration(p, s, &step))
                        return p->rc;
                }
                if (osp__tok_expect(p, TK_RBRACKET, "subquery selector"))
                    return p->rc;
                if (e->type != OSP_PROMQL_T_VECTOR)
                    return osp__parse_fail(p, t->pos,
                                           "subquery is only allowed on instant vector, got %s",
                                           osp_promql_type_name(e->type));
                osp_promql_expr *sq = node(p, OSP_PROMQL_SUBQUERY, e->pos);
                if (!sq)
                    return p->rc;
                sq->type = OSP_PROMQL_T_MATRIX;
                sq->u.sq.expr = e;
                sq->u.sq.range_ms = range;
                sq->u.sq.step_ms = step;
                e = sq;
            } else {
                if (osp__tok_expect(p, TK_RBRACKET, "range selector"))
                    return p->rc;
                if (e->kind != OSP_PROMQL_VECTOR)
                    return osp__parse_fail(p, t->pos, "ranges only allowed for vector selectors");
                if (has_offset)
                    return osp__parse_fail(p, t->pos, "no offset modifiers allowed before range");
                if (has_at)
                    return osp__parse_fail(p, t->pos, "no @ modifiers allowed before range");
                osp_promql_expr *ms = node(p, OSP_PROMQL_MATRIX, e->pos);
                if (!ms)
                    return p->rc;
                ms->type = OSP_PROMQL_T_MATRIX;
                ms->u.ms.vs = e;
                ms->u.ms.range_ms = range;
                e = ms;
            }
            has_offset = has_at = 0;
            continue;
        }
        if (kw_is(t, "offset")) {
            osp__tok_next(p);
            osp_promql_mods *m = mods_of(e);
            if (!m)
                return osp__parse_fail(
                    p, t->pos,
                    "offset modifier must be preceded by an instant vector selector or "
                    "range vector selector or a subquery");
            if (has_offset)
                return osp__parse_fail(p, t->pos, "offset may not be set multiple times");
            int neg = 0;
            if (osp__tok_peek(p)->kind == TK_SUB)
                neg = osp__tok_next(p)->kind == TK_SUB;
            osp__tok *d = osp__tok_peek(p);
            if (d->kind != TK_DURATION)
                return unexpected(p, d, "offset");
            osp__tok_next(p);
            if (parse_duration(p, d, &m->offset_ms))
                return p->rc;
            if (neg)
                m->offset_ms = -m->offset_ms;
            has_offset = 1;
            continue;
        }
        if (t->kind == TK_AT) {
            osp__tok_next(p);
            osp_promql_mods *m = mods_of(e);
            if (!m)
                return osp__parse_fail(
                    p, t->pos,
                    "@ modifier must be preceded by an instant vector selector or range "
                    "vector selector or a subquery");
            if (has_at)
                return osp__parse_fail(p, t->pos, "@ modifier may not be set multiple times");
            osp__tok *a = osp__tok_peek(p);
            if ((kw_is(a, "start") || kw_is(a, "end")) && osp__tok_peek2(p)->kind == TK_LPAREN) {
                osp__tok_next(p);
                osp__tok_next(p);
                if (osp__tok_expect(p, TK_RPAREN, "@ modifier"))
                    return p->rc;
                m->at = kw_is(a, "start") ? OSP_PROMQL_AT_START : OSP_PROMQL_AT_END;
            } else {
                int neg = 0;
                if (osp__tok_peek(p)->kind == TK_SUB || osp__tok_peek(p)->kind == TK_ADD)
                    neg = osp__tok_next(p)->kind == TK_SUB;
                a = osp__tok_peek(p);
                double v;
                if (a->kind != TK_NUMBER && !is_inf_nan(a))
                    return unexpected(p, a, "@ modifier");
                osp__tok_next(p);
                if (parse_number(p, a, &v))
                    return p->rc;
                v = neg ? -v : v;
                if (!isfinite(v) || fabs(v) > 1e12)
                    return osp__parse_fail(p, a->pos, "timestamp out of bounds for @ modifier: %g",
                                           v);
                m->at = OSP_PROMQL_AT_TIME;
                m->at_ms = (int64_t)llround(v * 1000.0);
            }
            has_at = 1;
            continue;
        }
        break;
    }
    *inout = e;
    return 0;
}

static int unary(osp__parser *p, osp_promql_expr **out)
{
    osp__tok *t = osp__tok_peek(p);
    int rc;
    if (++p->depth > OSP_PROMQL_MAX_DEPTH)
        return osp__parse_fail(p, t->pos, "expression nested too deeply (limit %d)",
                               OSP_PROMQL_MAX_DEPTH);
    if (t->kind == TK_ADD || t->kind == TK_SUB) {
        osp_promql_expr *x;
        osp__tok_next(p);
        /* Unary operators bind like '*': tighter than '+', looser than '^'. */
        if ((rc = parse_expr(p, 6, &x)))
            return rc;
        if (x->type != OSP_PROMQL_T_SCALAR && x->type != OSP_PROMQL_T_VECTOR)
            return osp__parse_fail(p, t->pos,
                                   "unary expression only allowed on expressions of type scalar or "
                                   "instant vector, got %s",
                                   osp_promql_type_name(x->type));
        if (x->kind == OSP_PROMQL_NUMBER) {
            if (t->kind == TK_SUB)
                x->u.number = -x->u.number;
            x->pos = t->pos;
            *out = x;
        } else {
            osp_promql_expr *e = node(p, OSP_PROMQL_UNARY, t->pos);
            if (!e)
                return p->rc;
            e->type = x->type;
            e->u.unary.op = t->kind == TK_SUB ? OSP_PROMQL_OP_SUB : OSP_PROMQL_OP_ADD;
            e->u.unary.expr = x;
            *out = e;
        }
    } else {
        if ((rc = primary(p, out)) || (rc = postfix(p, out)))
            return rc;
    }
    p->depth--;
    return 0;
}

/* Binary operator of token t and its precedence (1 lowest); 0 when not one. */
static int binop(const osp__tok *t, osp_promql_op *op)
{
    switch (t->kind) {
    case TK_ADD:
        *op = OSP_PROMQL_OP_ADD;
        return 4;
    case TK_SUB:
        *op = OSP_PROMQL_OP_SUB;
        return 4;
    case TK_MUL:
        *op = OSP_PROMQL_OP_MUL;
        return 5;
    case TK_DIV:
        *op = OSP_PROMQL_OP_DIV;
        return 5;
    case TK_MOD:
        *op = OSP_PROMQL_OP_MOD;
        return 5;
    case TK_POW:
        *op = OSP_PROMQL_OP_POW;
        return 6;
    case TK_EQLC:
        *op = OSP_PROMQL_OP_EQL;
        return 3;
    case TK_NEQ:
        *op = OSP_PROMQL_OP_NEQ;
        return 3;
    case TK_GTR:
        *op = OSP_PROMQL_OP_GTR;
        return 3;
    case TK_LSS:
        *op = OSP_PROMQL_OP_LSS;
        return 3;
    case TK_GTE:
        *op = OSP_PROMQL_OP_GTE;
        return 3;
    case TK_LTE:
        *op = OSP_PROMQL_OP_LTE;
        return 3;
    case TK_IDENT:
        if (kw_is(t, "atan2")) {
            *op = OSP_PROMQL_OP_ATAN2;
            return 5;
        }
        if (kw_is(t, "and")) {
            *op = OSP_PROMQL_OP_AND;
            return 2;
        }
        if (kw_is(t, "unless")) {
            *op = OSP_PROMQL_OP_UNLESS;
            return 2;
        }
        if (kw_is(t, "or")) {
            *op = OSP_PROMQL_OP_OR;
            return 1;
        }
        return 0;
    default:
        return 0;
    }
}

static const char *const op_names[] = {
    "+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless"};

static int is_cmp(osp_promql_op op)
{
    return op >= OSP_PROMQL_OP_EQL && op <= OSP_PROMQL_OP_LTE;
}

static int is_set(osp_promql_op op)
{
    return op >= OSP_PROMQL_OP_AND;
}

static int check_binary(osp__parser *p, osp_promql_expr *e, size_t oppos)
{
    osp_promql_op op = e->u.bin.op;
    osp_promql_type lt = e->u.bin.lhs->type, rt = e->u.bin.rhs->type;
    const char *on = op_names[op];
    if ((lt != OSP_PROMQL_T_SCALAR && lt != OSP_PROMQL_T_VECTOR) ||
        (rt != OSP_PROMQL_T_SCALAR && rt != OSP_PROMQL_T_VECTOR))
        return osp__parse_fail(
            p, oppos, "binary expression must contain only scalar and instant vector types");
    if (e->u.bin.return_bool && !is_cmp(op))
        return osp__parse_fail(p, oppos, "bool modifier can only be used on comparison operators");
    if (is_cmp(op) && !e->u.bin.return_bool && lt == OSP_PROMQL_T_SCALAR &&
        rt == OSP_PROMQL_T_SCALAR)
        return osp__parse_fail(p, oppos, "comparisons between scalars must use BOOL modifier");
    if (lt != OSP_PROMQL_T_VECTOR || rt != OSP_PROMQL_T_VECTOR) {
        if (e->u.bin.labels.n > 0)
            return osp__parse_fail(p, oppos,
                                   "vector matching only allowed between instant vectors");
        if (is_set(op))
            return osp__parse_fail(
                p, oppos, "set operator \"%s\" not allowed in binary scalar expression", on);
        e->u.bin.matching = e->u.bin.on = 0;
        e->u.bin.card = OSP_PROMQL_CARD_ONE_TO_ONE;
        e->u.bin.include.n = 0;
    } else if (is_set(op)) {
        if (e->u.bin.card == OSP_PROMQL_CARD_MANY_TO_ONE ||
            e->u.bin.card == OSP_PROMQL_CARD_ONE_TO_MANY)
            return osp__parse_fail(p, oppos, "no grouping allowed for \"%s\" operation", on);
        e->u.bin.card = OSP_PROMQL_CARD_MANY_TO_MANY;
    }
    if (e->u.bin.on)
        for (size_t i = 0; i < e->u.bin.labels.n; i++)
            for (size_t j = 0; j < e->u.bin.include.n; j++)
                if (osp_str_eq(e->u.bin.labels.a[i], e->u.bin.include.a[j]))
                    return osp__parse_fail(
                        p, oppos, "label \"%.*s\" must not occur in ON and GROUP clause at once",
                        OSP_STR_FMT(e->u.bin.include.a[j]));
    e->type = lt == OSP_PROMQL_T_SCALAR && rt == OSP_PROMQL_T_SCALAR ? OSP_PROMQL_T_SCALAR
                                                                     : OSP_PROMQL_T_VECTOR;
    return 0;
}

static int parse_expr(osp__parser *p, int minprec, osp_promql_expr **out)
{
    osp_promql_expr *lhs = NULL;
    int rc;
    if ((rc = unary(p, &lhs)))
        return rc;
    for (;;) {
        osp__tok *t = osp__tok_peek(p);
        osp_promql_op op;
        int prec = binop(t, &op);
        if (prec == 0 || prec < minprec)
            break;
        osp__tok_next(p);
        osp_promql_expr *e = node(p, OSP_PROMQL_BINARY, lhs->pos);
        if (!e)
            return p->rc;
        e->u.bin.op = op;
        e->u.bin.lhs = lhs;
        if (kw_is(osp__tok_peek(p), "bool")) {
            osp__tok_next(p);
            e->u.bin.return_bool = 1;
        }
        osp__tok *m = osp__tok_peek(p);
        if (kw_is(m, "on") || kw_is(m, "ignoring")) {
            osp__tok_next(p);
            e->u.bin.matching = 1;
            e->u.bin.on = kw_is(m, "on");
            if (label_list(p, &e->u.bin.labels, "grouping opts"))
                return p->rc;
            osp__tok *g = osp__tok_peek(p);
            if (kw_is(g, "group_left") || kw_is(g, "group_right")) {
                osp__tok_next(p);
                e->u.bin.card = kw_is(g, "group_left") ? OSP_PROMQL_CARD_MANY_TO_ONE
                                                       : OSP_PROMQL_CARD_ONE_TO_MANY;
                if (osp__tok_peek(p)->kind == TK_LPAREN &&
                    label_list(p, &e->u.bin.include, "grouping opts"))
                    return p->rc;
            }
        } else if (kw_is(m, "group_left") || kw_is(m, "group_right")) {
            return unexpected(p, m, "binary expression");
        }
        if (++p->depth > OSP_PROMQL_MAX_DEPTH)
            return osp__parse_fail(p, t->pos, "expression nested too deeply (limit %d)",
                                   OSP_PROMQL_MAX_DEPTH);
        if ((rc = parse_expr(p, op == OSP_PROMQL_OP_POW ? prec : prec + 1, &e->u.bin.rhs)))
            return rc;
        p->depth--;
        if (check_binary(p, e, t->pos))
            return p->rc;
        lhs = e;
    }
    *out = lhs;
    return 0;
}

int osp_promql_parse(osp_str text, osp_arena *arena, osp_promql_expr **out, char *err,
                     size_t errlen)
{
    osp__parser p = {.in = text,
                     .arena = arena,
                     .err = err,
                     .errlen = errlen,
                     .line_col = 1,
                     .unexpected = unexpected};
    osp_promql_expr *e;
    if (osp__parse_start(&p, lex, "no expression found in input") || parse_expr(&p, 0, &e))
        return p.rc;
    if (osp__tok_peek(&p)->kind != TK_EOF)
        return unexpected(&p, osp__tok_peek(&p), NULL);
    *out = e;
    return 0;
}

/* ---- printer ---- */

int osp_promql_quote(osp_buf *b, osp_str s)
{
    int rc = osp_buf_putc(b, '"');
    for (size_t i = 0; i < s.n && !rc; i++) {
        unsigned char c = (unsigned char)s.p[i];
        switch (c) {
        case '"':
            rc = osp_buf_puts(b, "\\\"");
            break;
        case '\\':
            rc = osp_buf_puts(b, "\\\\");
            break;
        case '\a':
            rc = osp_buf_puts(b, "\\a");
            break;
        case '\b':
            rc = osp_buf_puts(b, "\\b");
            break;
        case '\f':
            rc = osp_buf_puts(b, "\\f");
            break;
        case '\n':
            rc = osp_buf_puts(b, "\\n");
            break;
        case '\r':
            rc = osp_buf_puts(b, "\\r");
            break;
        case '\t':
            rc = osp_buf_puts(b, "\\t");
            break;
        case '\v':
            rc = osp_buf_puts(b, "\\v");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                rc = osp_buf_printf(b, "\\x%02x", c);
            else
                rc = osp_buf_putc(b, (char)c);
        }
    }
    return rc ? rc : osp_buf_putc(b, '"');
}

/* Go's %v for float64: shortest round-trip digits, exponent form below 1e-4 or from 1e6.
 * Positive infinity is written "Inf", not Prometheus's "+Inf": a leading '+' would read
 * back as a unary plus, which binds looser than '^' ("+Inf ^ 2" is "+(Inf ^ 2)"). */
static int put_number(osp_buf *b, double v)
{
    char buf[64];
    if (isnan(v))
        return osp_buf_puts(b, "NaN");
    if (isinf(v))
        return osp_buf_puts(b, v > 0 ? "Inf" : "-Inf");
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
    int exp = atoi(strchr(buf, 'e') + 1);
    if (exp < -4 || exp >= 6)
        return osp_buf_puts(b, buf);
    int dec = prec - 1 - exp;
    snprintf(buf, sizeof buf, "%.*f", dec > 0 ? dec : 0, v);
    return osp_buf_puts(b, buf);
}

static int put_duration(osp_buf *b, int64_t ms)
{
    static const struct {
        const char *u;
        int64_t ms;
        int exact;
    } units[] = {{"y", 365LL * 86400000, 1},
                 {"w", 7LL * 86400000, 1},
                 {"d", 86400000, 0},
                 {"h", 3600000, 0},
                 {"m", 60000, 0},
                 {"s", 1000, 0},
                 {"ms", 1, 0}};
    int rc = 0;
    if (ms == 0)
        return osp_buf_puts(b, "0s");
    for (size_t i = 0; i < sizeof units / sizeof units[0] && !rc; i++) {
        if (units[i].exact && ms % units[i].ms != 0)
            continue;
        int64_t v = ms / units[i].ms;
        if (v > 0) {
            rc = osp_buf_printf(b, "%lld%s", (long long)v, units[i].u);
            ms -= v * units[i].ms;
        }
    }
    return rc;
}

static int put_labels(osp_buf *b, const osp_promql_labels *l)
{
    return osp__put_names(b, l->a, l->n);
}

static int put_mods(osp_buf *b, const osp_promql_mods *m)
{
    int rc = 0;
    if (m->at == OSP_PROMQL_AT_TIME) {
        int64_t a = m->at_ms;
        uint64_t mag = a < 0 ? (uint64_t)0 - (uint64_t)a : (uint64_t)a;
        rc = osp_buf_printf(b, " @ %s%llu.%03llu", a < 0 ? "-" : "",
                            (unsigned long long)(mag / 1000), (unsigned long long)(mag % 1000));
    } else if (m->at == OSP_PROMQL_AT_START) {
        rc = osp_buf_puts(b, " @ start()");
    } else if (m->at == OSP_PROMQL_AT_END) {
        rc = osp_buf_puts(b, " @ end()");
    }
    if (!rc && m->offset_ms > 0) {
        rc = osp_buf_puts(b, " offset ");
        if (!rc)
            rc = put_duration(b, m->offset_ms);
    } else if (!rc && m->offset_ms < 0) {
        rc = osp_buf_puts(b, " offset -");
        if (!rc)
            rc = put_duration(b, m->offset_ms == INT64_MIN ? INT64_MAX : -m->offset_ms);
    }
    return rc;
}

static int put_vs(osp_buf *b, const osp_promql_expr *e)
{
    int rc = osp_buf_append_str(b, e->u.vs.name);
    if (!rc && e->u.vs.nmatchers) {
        rc = osp_buf_putc(b, '{');
        for (size_t i = 0; i < e->u.vs.nmatchers && !rc; i++) {
            const osp_promql_matcher *m = &e->u.vs.matchers[i];
            if (i)
                rc = osp_buf_putc(b, ',');
            if (!rc)
                rc = osp__put_matcher(b, m->name, (int)m->op, m->value);
        }
        if (!rc)
            rc = osp_buf_putc(b, '}');
    }
    return rc;
}

static const char *const agg_names[] = {"sum",          "min",     "max",    "avg",
                                        "group",        "stddev",  "stdvar", "count",
                                        "count_values", "bottomk", "topk",   "quantile"};

int osp_promql_format(const osp_promql_expr *e, osp_buf *b)
{
    int rc = 0;
    switch (e->kind) {
    case OSP_PROMQL_NUMBER:
        return put_number(b, e->u.number);
    case OSP_PROMQL_STRING:
        return osp_promql_quote(b, e->u.string);
    case OSP_PROMQL_VECTOR:
        rc = put_vs(b, e);
        return rc ? rc : put_mods(b, &e->u.vs.mods);
    case OSP_PROMQL_MATRIX:
        if ((rc = put_vs(b, e->u.ms.vs)) || (rc = osp_buf_putc(b, '[')) ||
            (rc = put_duration(b, e->u.ms.range_ms)) || (rc = osp_buf_putc(b, ']')))
            return rc;
        return put_mods(b, &e->u.ms.vs->u.vs.mods);
    case OSP_PROMQL_SUBQUERY:
        if ((rc = osp_promql_format(e->u.sq.expr, b)) || (rc = osp_buf_putc(b, '[')) ||
            (rc = put_duration(b, e->u.sq.range_ms)) || (rc = osp_buf_putc(b, ':')))
            return rc;
        if (e->u.sq.step_ms && (rc = put_duration(b, e->u.sq.step_ms)))
            return rc;
        if ((rc = osp_buf_putc(b, ']')))
            return rc;
        return put_mods(b, &e->u.sq.mods);
    case OSP_PROMQL_CALL:
        if ((rc = osp_buf_append_str(b, e->u.call.name)) || (rc = osp_buf_putc(b, '(')))
            return rc;
        for (size_t i = 0; i < e->u.call.nargs && !rc; i++) {
            if (i)
                rc = osp_buf_puts(b, ", ");
            if (!rc)
                rc = osp_promql_format(e->u.call.args[i], b);
        }
        return rc ? rc : osp_buf_putc(b, ')');
    case OSP_PROMQL_AGG:
        if ((rc = osp_buf_puts(b, agg_names[e->u.agg.op])))
            return rc;
        if (e->u.agg.without || e->u.agg.grouping.n) {
            if ((rc = osp_buf_puts(b, e->u.agg.without ? " without " : " by ")) ||
                (rc = put_labels(b, &e->u.agg.grouping)) || (rc = osp_buf_putc(b, ' ')))
                return rc;
        }
        if ((rc = osp_buf_putc(b, '(')))
            return rc;
        if (e->u.agg.param &&
            ((rc = osp_promql_format(e->u.agg.param, b)) || (rc = osp_buf_puts(b, ", "))))
            return rc;
        if ((rc = osp_promql_format(e->u.agg.expr, b)))
            return rc;
        return osp_buf_putc(b, ')');
    case OSP_PROMQL_BINARY:
        if ((rc = osp_buf_putc(b, '(')) || (rc = osp_promql_format(e->u.bin.lhs, b)) ||
            (rc = osp_buf_printf(b, " %s", op_names[e->u.bin.op])))
            return rc;
        if (e->u.bin.return_bool && (rc = osp_buf_puts(b, " bool")))
            return rc;
        if (e->u.bin.matching) {
            if ((rc = osp_buf_puts(b, e->u.bin.on ? " on " : " ignoring ")) ||
                (rc = put_labels(b, &e->u.bin.labels)))
                return rc;
            if (e->u.bin.card == OSP_PROMQL_CARD_MANY_TO_ONE ||
                e->u.bin.card == OSP_PROMQL_CARD_ONE_TO_MANY) {
                if ((rc = osp_buf_puts(b, e->u.bin.card == OSP_PROMQL_CARD_MANY_TO_ONE
                                              ? " group_left "
                                              : " group_right ")) ||
                    (rc = put_labels(b, &e->u.bin.include)))
                    return rc;
            }
        }
        if ((rc = osp_buf_putc(b, ' ')) || (rc = osp_promql_format(e->u.bin.rhs, b)))
            return rc;
        return osp_buf_putc(b, ')');
    case OSP_PROMQL_UNARY:
        if ((rc = osp_buf_putc(b, e->u.unary.op == OSP_PROMQL_OP_SUB ? '-' : '+')))
            return rc;
        return osp_promql_format(e->u.unary.expr, b);
    case OSP_PROMQL_PAREN:
        if (e->u.paren.expr->kind == OSP_PROMQL_BINARY)
            return osp_promql_format(e->u.paren.expr, b);
        if ((rc = osp_buf_putc(b, '(')) || (rc = osp_promql_format(e->u.paren.expr, b)))
            return rc;
        return osp_buf_putc(b, ')');
    }
    return OSP_EINVAL;
}
