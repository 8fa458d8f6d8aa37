/* Prometheus text 0.0.4 / OpenMetrics 1.0 pull parser: one line per call, slices into the body. */
#include "proto/promtext.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

/* The rest of the current line. */
typedef struct cursor {
    const char *s, *e;
} cursor;

static const char *const type_names[] = {
    [OSP_PROMTEXT_COUNTER] = "counter",     [OSP_PROMTEXT_GAUGE] = "gauge",
    [OSP_PROMTEXT_HISTOGRAM] = "histogram", [OSP_PROMTEXT_SUMMARY] = "summary",
    [OSP_PROMTEXT_UNTYPED] = "untyped",     [OSP_PROMTEXT_INFO] = "info",
    [OSP_PROMTEXT_STATESET] = "stateset",   [OSP_PROMTEXT_GAUGEHISTOGRAM] = "gaugehistogram",
    [OSP_PROMTEXT_UNKNOWN] = "unknown",
};

const char *osp_promtext_type_name(osp_promtext_type t)
{
    if ((int)t < OSP_PROMTEXT_COUNTER || (int)t > OSP_PROMTEXT_UNKNOWN)
        return "?";
    return type_names[t];
}

osp_promtext_format osp_promtext_format_from_content_type(osp_str ct)
{
    size_t i = 0;
    while (i < ct.n && (ct.p[i] == ' ' || ct.p[i] == '\t'))
        i++;
    osp_str mt = OSP_STR_LIT("application/openmetrics-text");
    if (ct.n - i >= mt.n && osp_str_ieq(osp_str_make(ct.p + i, mt.n), mt) &&
        (ct.n - i == mt.n || ct.p[i + mt.n] == ';' || ct.p[i + mt.n] == ' '))
        return OSP_PROMTEXT_OPENMETRICS;
    return OSP_PROMTEXT_PROM;
}

void osp_promtext_init(osp_promtext *p, osp_str body, osp_promtext_format format, osp_arena *arena,
                       size_t max_line, size_t max_labels)
{
    memset(p, 0, sizeof *p);
    p->start = p->p = body.p;
    p->end = body.p ? body.p + body.n : body.p;
    p->format = format;
    p->arena = arena;
    p->max_line = max_line ? max_line : OSP_PROMTEXT_DEFAULT_MAX_LINE;
    p->max_labels = max_labels ? max_labels : OSP_PROMTEXT_DEFAULT_MAX_LABELS;
}

/* Records the first error as "line N: ..." and makes it sticky. */
static int fail(osp_promtext *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(osp_promtext *p, int rc, const char *fmt, ...)
{
    int n = snprintf(p->err, sizeof p->err, "line %zu: ", p->line);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof p->err)
        vsnprintf(p->err + n, sizeof p->err - (size_t)n, fmt, ap);
    va_end(ap);
    p->rc = rc;
    return rc;
}

static int om(const osp_promtext *p)
{
    return p->format == OSP_PROMTEXT_OPENMETRICS;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_alpha_(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Skips blanks in 0.0.4; nothing in OpenMetrics, where separators are single spaces. */
static void skip_ws(const osp_promtext *p, cursor *c)
{
    if (!om(p))
        while (c->s < c->e && is_blank(*c->s))
            c->s++;
}

/* Consumes the separator before a token: one or more blanks (0.0.4), exactly one space (OM).
 * 0 when there is none. */
static int sep(const osp_promtext *p, cursor *c)
{
    if (om(p)) {
        if (c->s < c->e && *c->s == ' ' && (c->s + 1 == c->e || c->s[1] != ' ')) {
            c->s++;
            return 1;
        }
        return 0;
    }
    if (c->s >= c->e || !is_blank(*c->s))
        return 0;
    skip_ws(p, c);
    return 1;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
static osp_str metric_name(cursor *c)
{
    const char *b = c->s;
    if (c->s < c->e && (is_alpha_(*c->s) || *c->s == ':'))
        for (c->s++; c->s < c->e && (is_alpha_(*c->s) || is_digit(*c->s) || *c->s == ':');)
            c->s++;
    return osp_str_make(b, (size_t)(c->s - b));
}

/* [a-zA-Z_][a-zA-Z0-9_]* */
static osp_str label_name(cursor *c)
{
    const char *b = c->s;
    if (c->s < c->e && is_alpha_(*c->s))
        for (c->s++; c->s < c->e && (is_alpha_(*c->s) || is_digit(*c->s));)
            c->s++;
    return osp_str_make(b, (size_t)(c->s - b));
}

/* A token up to the next blank (0.0.4) or space (OM). */
static osp_str word(const osp_promtext *p, cursor *c)
{
    const char *b = c->s;
    while (c->s < c->e && !(om(p) ? *c->s == ' ' : is_blank(*c->s)))
        c->s++;
    return osp_str_make(b, (size_t)(c->s - b));
}

/* Go ParseFloat syntax (decimal, hex, NaN, Inf, Infinity in any case, signed). OpenMetrics
 * has no hex floats. 0 or -1. */
static int parse_double(const osp_promtext *p, osp_str t, double *v)
{
    char tmp[64];
    if (t.n == 0 || t.n >= sizeof tmp)
        return -1;
    for (size_t i = 0; i < t.n; i++) {
        char ch = t.p[i];
        if (!(is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '.' ||
              ch == '+' || ch == '-'))
            return -1;
        if (om(p) && (ch == 'x' || ch == 'X'))
            return -1;
    }
    memcpy(tmp, t.p, t.n);
    tmp[t.n] = '\0';
    char *endp;
    *v = strtod(tmp, &endp);
    return endp == tmp + t.n ? 0 : -1;
}

/* 0.0.4 timestamp: a signed decimal int64 of milliseconds. 0 or -1. */
static int parse_ms(osp_str t, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < t.n && (t.p[i] == '-' || t.p[i] == '+'))
        neg = t.p[i++] == '-';
    if (i == t.n)
        return -1;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < t.n; i++) {
        if (!is_digit(t.p[i]))
            return -1;
        unsigned d = (unsigned)(t.p[i] - '0');
        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* A timestamp in the line's format into milliseconds. 0 or -1. */
static int parse_ts(const osp_promtext *p, osp_str t, int64_t *ms)
{
    if (!om(p))
        return parse_ms(t, ms);
    double s;
    if (parse_double(p, t, &s) < 0 || !isfinite(s))
        return -1;
    double m = s * 1000.0;
    if (!(m > -9.2e18 && m < 9.2e18))
        return -1;
    *ms = llround(m);
    return 0;
}

/* Unescapes raw into the arena when it holds a backslash; otherwise returns the slice itself.
 * quote: \" is an escape; strict: an unknown escape or a trailing backslash is an error
 * (otherwise kept as written). Returns 0, OSP_EPARSE or OSP_ENOMEM. */
static int unescape(osp_promtext *p, osp_str raw, int quote, int strict, const char *what,
                    osp_str *out)
{
    if (!memchr(raw.p, '\\', raw.n)) {
        *out = raw;
        return 0;
    }
    char *d = osp_arena_alloc(p->arena, raw.n);
    if (!d)
        return fail(p, OSP_ENOMEM, "out of memory unescaping %s", what);
    size_t n = 0;
    for (size_t i = 0; i < raw.n; i++) {
        char ch = raw.p[i];
        if (ch != '\\') {
            d[n++] = ch;
            continue;
        }
        char nx = i + 1 < raw.n ? raw.p[i + 1] : '\0';
        if (i + 1 < raw.n && (nx == '\\' || nx == 'n' || (quote && nx == '"'))) {
            d[n++] = nx == 'n' ? '\n' : nx;
            i++;
        } else if (strict) {
            return fail(p, OSP_EPARSE, "invalid escape sequence in %s", what);
        } else {
            d[n++] = ch;
        }
    }
    *out = osp_str_make(d, n);
    return 0;
}

/* Code points in s (s is valid UTF-8). */
static size_t runes(osp_str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++)
        n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

/* Parses "{" [name="value" {"," name="value"} [","]] "}" into arr (cap p->max_labels).
 * OpenMetrics: no blanks and no trailing comma. */
static int parse_labels(osp_promtext *p, cursor *c, osp_label *arr, size_t *nout, const char *what)
{
    size_t n = 0;
    c->s++; /* '{' */
    skip_ws(p, c);
    if (c->s < c->e && *c->s == '}') {
        c->s++;
        *nout = 0;
        return 0;
    }
    for (;;) {
        skip_ws(p, c);
        if (!om(p) && n > 0 && c->s < c->e && *c->s == '}') {
            c->s++;
            break;
        }
        osp_str name = label_name(c);
        if (name.n == 0)
            return fail(p, OSP_EPARSE, "expected label name in %s", what);
        skip_ws(p, c);
        if (c->s >= c->e || *c->s != '=')
            return fail(p, OSP_EPARSE, "expected '=' after label name");
        c->s++;
        skip_ws(p, c);
        if (c->s >= c->e || *c->s != '"')
            return fail(p, OSP_EPARSE, "expected '\"' to open the value of label '%.*s'",
                        OSP_STR_FMT(name));
        const char *vb = ++c->s;
        while (c->s < c->e && *c->s != '"')
            c->s += *c->s == '\\' && c->s + 1 < c->e ? 2 : 1;
        if (c->s >= c->e)
            return fail(p, OSP_EPARSE, "unterminated value of label '%.*s'", OSP_STR_FMT(name));
        osp_str value;
        int rc =
            unescape(p, osp_str_make(vb, (size_t)(c->s - vb)), 1, om(p), "label value", &value);
        if (rc < 0)
            return rc;
        c->s++; /* closing quote */
        if (n == p->max_labels)
            return fail(p, OSP_ETOOBIG, "more than %zu labels in %s", p->max_labels, what);
        for (size_t i = 0; i < n; i++)
            if (osp_str_eq(arr[i].name, name))
                return fail(p, OSP_EPARSE, "duplicate label name '%.*s' in %s", OSP_STR_FMT(name),
                            what);
        arr[n].name = name;
        arr[n].value = value;
        n++;
        skip_ws(p, c);
        if (c->s < c->e && *c->s == ',') {
            c->s++;
            continue;
        }
        if (c->s < c->e && *c->s == '}') {
            c->s++;
            break;
        }
        return fail(p, OSP_EPARSE, "expected ',' or '}' after label value");
    }
    *nout = n;
    return 0;
}

static int alloc_labels(osp_promtext *p)
{
    if (p->labels)
        return 0;
    if (p->max_labels > SIZE_MAX / sizeof(osp_label))
        return fail(p, OSP_ETOOBIG, "label limit %zu too large", p->max_labels);
    p->labels = osp_arena_alloc(p->arena, p->max_labels * sizeof(osp_label));
    p->ex_labels = osp_arena_alloc(p->arena, p->max_labels * sizeof(osp_label));
    if (!p->labels || !p->ex_labels) {
        p->labels = NULL;
        return fail(p, OSP_ENOMEM, "out of memory for labels");
    }
    return 0;
}

/* OpenMetrics exemplar after " # ": {labels} value [timestamp], to the end of the line. */
static int parse_exemplar(osp_promtext *p, cursor *c, osp_promtext_exemplar *x)
{
    if (c->s >= c->e || *c->s != '{')
        return fail(p, OSP_EPARSE, "expected '{' to open exemplar labels");
    int rc = parse_labels(p, c, p->ex_labels, &x->nlabels, "exemplar");
    if (rc < 0)
        return rc;
    x->labels = p->ex_labels;
    size_t total = 0;
    for (size_t i = 0; i < x->nlabels; i++)
        total += runes(x->labels[i].name) + runes(x->labels[i].value);
    if (total > OSP_PROMTEXT_EXEMPLAR_MAX_RUNES)
        return fail(p, OSP_EPARSE, "exemplar labels longer than %d code points",
                    OSP_PROMTEXT_EXEMPLAR_MAX_RUNES);
    if (!sep(p, c))
        return fail(p, OSP_EPARSE, "expected ' ' before exemplar value");
    osp_str t = word(p, c);
    if (parse_double(p, t, &x->value) < 0)
        return fail(p, OSP_EPARSE, "invalid exemplar value '%.*s'", (int)(t.n > 32 ? 32 : t.n),
                    t.p);
    x->has_ts = 0;
    if (c->s < c->e) {
        if (!sep(p, c))
            return fail(p, OSP_EPARSE, "expected ' ' before exemplar timestamp");
        t = word(p, c);
        if (parse_ts(p, t, &x->t_ms) < 0)
            return fail(p, OSP_EPARSE, "invalid exemplar timestamp '%.*s'",
                        (int)(t.n > 32 ? 32 : t.n), t.p);
        x->has_ts = 1;
    }
    if (c->s < c->e)
        return fail(p, OSP_EPARSE, "unexpected text after exemplar");
    return 0;
}

static int parse_sample(osp_promtext *p, cursor *c, osp_promtext_entry *e)
{
    e->kind = OSP_PROMTEXT_SAMPLE;
    e->name = metric_name(c);
    if (e->name.n == 0)
        return fail(p, OSP_EPARSE, "expected metric name");
    int rc = alloc_labels(p);
    if (rc < 0)
        return rc;
    e->labels = p->labels;
    e->nlabels = 0;
    cursor k = *c; /* 0.0.4 allows blanks before '{' */
    skip_ws(p, &k);
    if (k.s < k.e && *k.s == '{') {
        *c = k;
        rc = parse_labels(p, c, p->labels, &e->nlabels, "sample");
        if (rc < 0)
            return rc;
    }
    if (!sep(p, c))
        return fail(p, OSP_EPARSE, "expected ' ' before the value of '%.*s'", OSP_STR_FMT(e->name));
    osp_str t = word(p, c);
    if (parse_double(p, t, &e->value) < 0)
        return fail(p, OSP_EPARSE, "invalid value '%.*s'", (int)(t.n > 32 ? 32 : t.n), t.p);
    /* Optional timestamp, then (OpenMetrics) an optional exemplar. */
    if (sep(p, c) && c->s < c->e && *c->s != '#') {
        t = word(p, c);
        if (parse_ts(p, t, &e->t_ms) < 0)
            return fail(p, OSP_EPARSE, "invalid timestamp '%.*s'", (int)(t.n > 32 ? 32 : t.n), t.p);
        e->has_ts = 1;
        if (c->s < c->e && (!sep(p, c) || (c->s < c->e && *c->s != '#')))
            return fail(p, OSP_EPARSE, "unexpected text after timestamp");
    }
    if (c->s < c->e && *c->s == '#') {
        if (!om(p))
            return fail(p, OSP_EPARSE, "exemplars need OpenMetrics");
        c->s++;
        if (!sep(p, c))
            return fail(p, OSP_EPARSE, "expected ' ' after '#' of exemplar");
        e->has_exemplar = 1;
        return parse_exemplar(p, c, &e->exemplar);
    }
    if (c->s < c->e)
        return fail(p, OSP_EPARSE, "unexpected text after value");
    if (om(p) && c->s[-1] == ' ')
        return fail(p, OSP_EPARSE, "trailing space");
    return 0;
}

static int parse_type(osp_promtext *p, osp_str t, osp_promtext_type *out)
{
    int last = om(p) ? OSP_PROMTEXT_UNKNOWN : OSP_PROMTEXT_UNTYPED;
    for (int i = OSP_PROMTEXT_COUNTER; i <= last; i++) {
        if (om(p) && i == OSP_PROMTEXT_UNTYPED)
            continue;
        if (osp_str_eqz(t, type_names[i])) {
            *out = (osp_promtext_type)i;
            return 0;
        }
    }
    return fail(p, OSP_EPARSE, "unknown metric type '%.*s'", (int)(t.n > 32 ? 32 : t.n), t.p);
}

/* A line starting with '#'. */
static int parse_comment(osp_promtext *p, cursor *c, osp_promtext_entry *e)
{
    c->s++; /* '#' */
    cursor k = *c;
    osp_str kw = OSP_STR_NULL;
    if (sep(p, &k))
        kw = word(p, &k);
    int help = osp_str_eqz(kw, "HELP"), type = osp_str_eqz(kw, "TYPE");
    int unit = om(p) && osp_str_eqz(kw, "UNIT"), eof = om(p) && osp_str_eqz(kw, "EOF");
    if (eof && k.s == k.e) {
        p->eof_seen = 1;
        return 0;
    }
    if (!help && !type && !unit) {
        if (om(p))
            return fail(p, OSP_EPARSE,
                        "unexpected comment (OpenMetrics allows only HELP, TYPE, "
                        "UNIT and EOF)");
        e->kind = OSP_PROMTEXT_COMMENT;
        e->text = osp_str_make(c->s, (size_t)(c->e - c->s));
        return 1;
    }
    *c = k;
    if (!sep(p, c))
        return fail(p, OSP_EPARSE, "expected ' ' and a metric name after %.*s", OSP_STR_FMT(kw));
    e->name = metric_name(c);
    if (e->name.n == 0)
        return fail(p, OSP_EPARSE, "expected metric name after %.*s", OSP_STR_FMT(kw));
    if (c->s < c->e && !sep(p, c))
        return fail(p, OSP_EPARSE, "invalid character in metric name after %.*s", OSP_STR_FMT(kw));
    osp_str rest = osp_str_make(c->s, (size_t)(c->e - c->s));
    if (help) {
        e->kind = OSP_PROMTEXT_HELP;
        int rc = unescape(p, rest, om(p), om(p), "help text", &e->text);
        return rc < 0 ? rc : 1;
    }
    if (type) {
        e->kind = OSP_PROMTEXT_TYPE;
        osp_str t = word(p, c);
        skip_ws(p, c);
        if (c->s < c->e)
            return fail(p, OSP_EPARSE, "unexpected text after type");
        int rc = parse_type(p, t, &e->type);
        return rc < 0 ? rc : 1;
    }
    e->kind = OSP_PROMTEXT_UNIT;
    e->text = rest;
    for (size_t i = 0; i < rest.n; i++)
        if (!is_alpha_(rest.p[i]) && !is_digit(rest.p[i]) && rest.p[i] != ':')
            return fail(p, OSP_EPARSE, "invalid character in unit");
    if (rest.n > 0 && !(e->name.n > rest.n && e->name.p[e->name.n - rest.n - 1] == '_' &&
                        memcmp(e->name.p + e->name.n - rest.n, rest.p, rest.n) == 0))
        return fail(p, OSP_EPARSE, "unit '%.*s' is not a suffix of '%.*s'",
                    (int)(rest.n > 32 ? 32 : rest.n), rest.p, OSP_STR_FMT(e->name));
    return 1;
}

int osp_promtext_next(osp_promtext *p, osp_promtext_entry *e)
{
    memset(e, 0, sizeof *e);
    if (p->rc < 0)
        return p->rc;
    for (;;) {
        if (p->rc == 1 || p->p >= p->end) {
            e->kind = OSP_PROMTEXT_EOF;
            e->line = p->line;
            if (p->rc != 1 && om(p) && !p->eof_seen) {
                p->line++;
                return fail(p, OSP_EPARSE, "missing '# EOF' at the end");
            }
            p->rc = 1;
            return 0;
        }
        if (p->eof_seen) {
            p->line++;
            return fail(p, OSP_EPARSE, "content after '# EOF'");
        }
        size_t left = (size_t)(p->end - p->p);
        size_t scan = left < p->max_line + 1 ? left : p->max_line + 1;
        const char *nl = memchr(p->p, '\n', scan);
        p->line++;
        if (!nl && scan == p->max_line + 1)
            return fail(p, OSP_ETOOBIG, "line longer than %zu bytes", p->max_line);
        cursor c = {p->p, nl ? nl : p->end};
        p->p = nl ? nl + 1 : p->end;
        if (!osp_utf8_valid(c.s, (size_t)(c.e - c.s)))
            return fail(p, OSP_EPARSE, "invalid UTF-8");
        e->line = p->line;
        skip_ws(p, &c);
        if (c.s == c.e) {
            if (om(p))
                return fail(p, OSP_EPARSE, "empty line");
            continue;
        }
        int rc;
        if (*c.s == '#') {
            rc = parse_comment(p, &c, e);
            if (rc == 0) /* # EOF */
                continue;
            if (rc < 0)
                return rc;
        } else {
            rc = parse_sample(p, &c, e);
            if (rc < 0)
                return rc;
        }
        return 1;
    }
}
