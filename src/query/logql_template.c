/* The Go text/template subset line_format and label_format take, run as Loki runs them
 * (missingkey=zero over the entry's labels). Supported: text, {{ pipeline }} with "|",
 * fields (.name), string, raw-string, number and boolean literals, parenthesized
 * pipelines, {{- and -}} trimming, comments, if / else if / else / end, and the
 * functions in the table below (Go's strings functions by their Loki names, Sprig's
 * lowercase ones with Sprig's argument order, printf, eq/ne/lt/le/gt/ge, and/or/not, len,
 * __line__, __timestamp__) and in logql_template_fns.c. range, with, variables, define and template
 * are refused when the template is compiled. String functions read any argument as text. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/numfmt.h"
#include "query/logql_eval_int.h"
#include "query/logql_template_int.h"
#include "query/parse_util.h"

#define MAX_DEPTH 64 /* nesting of if and parentheses */
#define MAX_ARGS 16

/* ---- values ---- */

/* Writes prefix then the formatted message into err; returns rc. */
static int vfail(char *err, size_t errlen, int rc, const char *prefix, const char *fmt, va_list ap)
{
    if (err && errlen) {
        int k = snprintf(err, errlen, "%s", prefix);
        if (k >= 0 && (size_t)k < errlen)
            vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
    }
    return rc;
}

int osp__lqt_fail(xctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(x->err, x->errlen, OSP_EEXEC, "template: line:1: executing \"\": ", fmt, ap);
    va_end(ap);
    return rc;
}

/* Go's time.Time.String(). */
static int put_time(osp_buf *b, const osp_gotime *t)
{
    return osp_gotime_format(b, OSP_STR_LIT("2006-01-02 15:04:05.999999999 -0700 MST"), t);
}

/* Appends v as fmt's %v prints it. */
static int put_val(osp_buf *b, const val *v)
{
    char g[OSP_FLOAT_G_MAX];
    switch (v->t) {
    case V_STR:
        return osp_buf_append_str(b, v->s);
    case V_INT:
        return osp_buf_printf(b, "%" PRId64, v->i);
    case V_FLOAT:
        return osp_buf_append(b, g, osp_format_float_g(v->f, g));
    case V_BOOL:
        return osp_buf_puts(b, v->i ? "true" : "false");
    default:
        return put_time(b, &v->tm);
    }
}

/* v as text in x's arena. */
int osp__lqt_str(xctx *x, const val *v, osp_str *out)
{
    if (v->t == V_STR) {
        *out = v->s;
        return 0;
    }
    osp_buf b;
    osp_buf_init(&b, 256);
    int rc = put_val(&b, v);
    *out = rc ? OSP_STR_NULL : osp_arena_strdup(x->arena, osp_buf_str(&b));
    osp_buf_cleanup(&b);
    return rc ? rc : out->p ? 0 : OSP_ENOMEM;
}

static int truth(const val *v)
{
    switch (v->t) {
    case V_STR:
        return v->s.n > 0;
    case V_FLOAT:
        return v->f != 0;
    case V_TIME:
        return 1; /* a struct */
    default:
        return v->i != 0;
    }
}

/* ---- the parsed template ---- */

typedef struct pipe pipe;

enum { A_FIELD, A_LIT, A_FN, A_PIPE, A_DOT };

typedef struct arg {
    int kind;
    osp_str name;     /* A_FIELD */
    val lit;          /* A_LIT */
    const fn_def *fn; /* A_FN */
    pipe *sub;        /* A_PIPE */
} arg;

typedef struct cmd {
    arg a[MAX_ARGS];
    size_t n;
    osp_re2 *re; /* a regex function's literal first argument, compiled */
} cmd;

struct pipe {
    cmd *c;
    size_t n;
};

enum { N_TEXT, N_ACTION, N_IF };

typedef struct node node;
struct node {
    int kind;
    osp_str text;     /* N_TEXT */
    pipe *p;          /* N_ACTION, N_IF condition */
    node *then, *els; /* N_IF: the lists to run when it holds, and when not */
    node *elif;       /* N_IF: the "else if" tried when it does not hold */
    node *next;
};

struct osp__lq_tmpl {
    node *root;
    osp_re2 **res; /* the regexes its commands compiled (cmd.re) */
    size_t nres;
};

/* ---- functions ---- */

/* Every argument as text, into s (n entries). */
int osp__lqt_strs(xctx *x, val *a, size_t n, osp_str *s)
{
    for (size_t i = 0; i < n; i++) {
        int rc = osp__lqt_str(x, &a[i], &s[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static int map_case(xctx *x, val *a, val *out, int upper)
{
    osp_str s;
    int rc = osp__lqt_str(x, a, &s);
    char *o = rc ? NULL : osp_arena_alloc(x->arena, s.n + 1);
    if (!o)
        return rc ? rc : OSP_ENOMEM;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        o[i] = upper ? (c >= 'a' && c <= 'z' ? (char)(c - 32) : c)
                     : (c >= 'A' && c <= 'Z' ? (char)(c + 32) : c);
    }
    *out = vstr(osp_str_make(o, s.n));
    return 0;
}

static int f_upper(xctx *x, val *a, size_t n, val *out)
{
    return map_case(x, a, out, 1);
}

static int f_lower(xctx *x, val *a, size_t n, val *out)
{
    return map_case(x, a, out, 0);
}

static int in_set(osp_str set, char c)
{
    return memchr(set.p, c, set.n) != NULL;
}

/* Trims bytes of cutset from the left and/or right of s. */
static osp_str trim_set(osp_str s, osp_str cutset, int left, int right)
{
    while (left && s.n && in_set(cutset, s.p[0]))
        s.p++, s.n--;
    while (right && s.n && in_set(cutset, s.p[s.n - 1]))
        s.n--;
    return s;
}

static const osp_str spaces = {" \t\n\r\v\f", 6};

static int f_trimspace(xctx *x, val *a, size_t n, val *out)
{
    osp_str s;
    int rc = osp__lqt_str(x, a, &s);
    *out = vstr(trim_set(s, spaces, 1, 1));
    return rc;
}

/* Trim(s, cutset), TrimLeft, TrimRight (Go); trimAll(cutset, s) (Sprig). */
static int trim_common(xctx *x, val *a, int left, int right, int sprig, val *out)
{
    osp_str s[2];
    int rc = osp__lqt_strs(x, a, 2, s);
    *out = vstr(trim_set(s[sprig], s[!sprig], left, right));
    return rc;
}

static int f_trim(xctx *x, val *a, size_t n, val *out)
{
    return trim_common(x, a, 1, 1, 0, out);
}

static int f_trimleft(xctx *x, val *a, size_t n, val *out)
{
    return trim_common(x, a, 1, 0, 0, out);
}

static int f_trimright(xctx *x, val *a, size_t n, val *out)
{
    return trim_common(x, a, 0, 1, 0, out);
}

static int f_trimall(xctx *x, val *a, size_t n, val *out)
{
    return trim_common(x, a, 1, 1, 1, out);
}

/* TrimPrefix(s, p) / TrimSuffix(s, p) (Go); trimPrefix(p, s) / trimSuffix(p, s) (Sprig). */
static int affix(xctx *x, val *a, int suffix, int sprig, val *out)
{
    osp_str s[2];
    int rc = osp__lqt_strs(x, a, 2, s);
    osp_str str = s[sprig], fix = s[!sprig];
    if (str.n >= fix.n && memcmp(str.p + (suffix ? str.n - fix.n : 0), fix.p, fix.n) == 0) {
        if (!suffix)
            str.p += fix.n;
        str.n -= fix.n;
    }
    *out = vstr(str);
    return rc;
}

static int f_TrimPrefix(xctx *x, val *a, size_t n, val *out)
{
    return affix(x, a, 0, 0, out);
}

static int f_TrimSuffix(xctx *x, val *a, size_t n, val *out)
{
    return affix(x, a, 1, 0, out);
}

static int f_trimPrefix(xctx *x, val *a, size_t n, val *out)
{
    return affix(x, a, 0, 1, out);
}

static int f_trimSuffix(xctx *x, val *a, size_t n, val *out)
{
    return affix(x, a, 1, 1, out);
}

/* strings.Replace(s, old, new, n), n < 0: all. */
static int replace(xctx *x, osp_str s, osp_str old, osp_str rep, long max, val *out)
{
    osp_buf b;
    osp_buf_init(&b, OSP__LQ_TMPL_MAX);
    int rc = 0;
    size_t i = 0;
    long done = 0;
    while (rc == 0 && i <= s.n && (max < 0 || done < max)) {
        const char *at = old.n == 0
                             ? (i == 0 || i < s.n ? s.p + i : NULL)
                             : (s.n - i >= old.n ? memmem(s.p + i, s.n - i, old.p, old.n) : NULL);
        if (!at)
            break;
        size_t k = (size_t)(at - s.p);
        if (old.n == 0 && i > 0) /* empty old: after each UTF-8 character */
            k = i;
        rc = osp_buf_append(&b, s.p + i, k - i);
        if (!rc)
            rc = osp_buf_append_str(&b, rep);
        if (old.n == 0) {
            if (k < s.n) {
                size_t len = 1;
                while (k + len < s.n && ((unsigned char)s.p[k + len] & 0xc0) == 0x80)
                    len++;
                if (!rc)
                    rc = osp_buf_append(&b, s.p + k, len);
                i = k + len;
            } else {
                i = s.n + 1;
            }
        } else {
            i = k + old.n;
        }
        done++;
    }
    if (!rc && i < s.n)
        rc = osp_buf_append(&b, s.p + i, s.n - i);
    if (!rc) {
        osp_str r = osp_arena_strdup(x->arena, osp_buf_str(&b));
        rc = r.p ? 0 : OSP_ENOMEM;
        *out = vstr(r);
    }
    osp_buf_cleanup(&b);
    return rc;
}

static int f_Replace(xctx *x, val *a, size_t n, val *out)
{
    osp_str s[3];
    int rc = osp__lqt_strs(x, a, 3, s);
    if (rc)
        return rc;
    if (a[3].t != V_INT)
        return osp__lqt_fail(x, "error calling Replace: wrong type for value; expected int");
    return replace(x, s[0], s[1], s[2], (long)a[3].i, out);
}

static int f_replace(xctx *x, val *a, size_t n, val *out)
{
    osp_str s[3];
    int rc = osp__lqt_strs(x, a, 3, s);
    return rc ? rc : replace(x, s[2], s[0], s[1], -1, out);
}

static int sub_test(xctx *x, val *a, int mode, val *out)
{
    osp_str s[2];
    int rc = osp__lqt_strs(x, a, 2, s);
    osp_str needle = s[0], str = s[1];
    int r = 0;
    if (mode == 0)
        r = needle.n == 0 || (str.n >= needle.n && memmem(str.p, str.n, needle.p, needle.n));
    else if (str.n >= needle.n)
        r = memcmp(str.p + (mode == 2 ? str.n - needle.n : 0), needle.p, needle.n) == 0;
    *out = (val){.t = V_BOOL, .i = r};
    return rc;
}

static int f_contains(xctx *x, val *a, size_t n, val *out)
{
    return sub_test(x, a, 0, out);
}

static int f_hasPrefix(xctx *x, val *a, size_t n, val *out)
{
    return sub_test(x, a, 1, out);
}

static int f_hasSuffix(xctx *x, val *a, size_t n, val *out)
{
    return sub_test(x, a, 2, out);
}

/* Sprig's default: the first argument when the second (the piped value) is empty. */
static int f_default(xctx *x, val *a, size_t n, val *out)
{
    *out = n > 1 && truth(&a[n - 1]) ? a[n - 1] : a[0];
    return 0;
}

static int f_line(xctx *x, val *a, size_t n, val *out)
{
    *out = vstr(x->line);
    return 0;
}

static int f_timestamp(xctx *x, val *a, size_t n, val *out)
{
    *out = (val){.t = V_TIME, .tm = osp_gotime_utc((int64_t)x->t_ns)};
    return 0;
}

static int f_len(xctx *x, val *a, size_t n, val *out)
{
    if (a[0].t != V_STR)
        return osp__lqt_fail(x, "error calling len: len of type %s",
                             a[0].t == V_BOOL ? "bool" : "int");
    *out = (val){.t = V_INT, .i = (int64_t)a[0].s.n};
    return 0;
}

static int f_not(xctx *x, val *a, size_t n, val *out)
{
    *out = (val){.t = V_BOOL, .i = !truth(&a[0])};
    return 0;
}

/* and/or: the first argument that decides, as Go's. */
static int f_and(xctx *x, val *a, size_t n, val *out)
{
    size_t i = 0;
    while (i + 1 < n && truth(&a[i]))
        i++;
    *out = a[i];
    return 0;
}

static int f_or(xctx *x, val *a, size_t n, val *out)
{
    size_t i = 0;
    while (i + 1 < n && !truth(&a[i]))
        i++;
    *out = a[i];
    return 0;
}

static int is_num(const val *v)
{
    return v->t == V_INT || v->t == V_FLOAT;
}

/* Go's comparison of two basic values: *c -1/0/1. OSP_EEXEC when incompatible. */
static int compare(xctx *x, const char *fn, const val *a, const val *b, int *c)
{
    if (a->t == V_STR && b->t == V_STR) {
        int r = osp_str_cmp(a->s, b->s);
        *c = r < 0 ? -1 : r > 0;
        return 0;
    }
    if (a->t == V_INT && b->t == V_INT) {
        *c = a->i < b->i ? -1 : a->i > b->i;
        return 0;
    }
    if (is_num(a) && is_num(b) && a->t == b->t) {
        *c = a->f < b->f ? -1 : a->f > b->f;
        return 0;
    }
    if (a->t == V_BOOL && b->t == V_BOOL && fn[0] == 'e') {
        *c = a->i != b->i;
        return 0;
    }
    return osp__lqt_fail(x, "error calling %s: incompatible types for comparison", fn);
}

static int f_eq(xctx *x, val *a, size_t n, val *out)
{
    int c, rc;
    if (n < 2)
        return osp__lqt_fail(x, "error calling eq: missing argument for comparison");
    for (size_t i = 1; i < n; i++) {
        if ((rc = compare(x, "eq", &a[0], &a[i], &c)))
            return rc;
        if (c == 0) {
            *out = (val){.t = V_BOOL, .i = 1};
            return 0;
        }
    }
    *out = (val){.t = V_BOOL, .i = 0};
    return 0;
}

static int ordered(xctx *x, const char *fn, val *a, val *out, int (*holds)(int))
{
    int c, rc = compare(x, fn, &a[0], &a[1], &c);
    *out = (val){.t = V_BOOL, .i = rc == 0 && holds(c)};
    return rc;
}

static int h_ne(int c)
{
    return c != 0;
}
static int h_lt(int c)
{
    return c < 0;
}
static int h_le(int c)
{
    return c <= 0;
}
static int h_gt(int c)
{
    return c > 0;
}
static int h_ge(int c)
{
    return c >= 0;
}

static int f_ne(xctx *x, val *a, size_t n, val *out)
{
    return ordered(x, "ne", a, out, h_ne);
}
static int f_lt(xctx *x, val *a, size_t n, val *out)
{
    return ordered(x, "lt", a, out, h_lt);
}
static int f_le(xctx *x, val *a, size_t n, val *out)
{
    return ordered(x, "le", a, out, h_le);
}
static int f_gt(xctx *x, val *a, size_t n, val *out)
{
    return ordered(x, "gt", a, out, h_gt);
}
static int f_ge(xctx *x, val *a, size_t n, val *out)
{
    return ordered(x, "ge", a, out, h_ge);
}

/* Go's %!v(type=value) for a verb that does not fit the argument. */
static int bad_verb(osp_buf *b, char verb, const val *v)
{
    static const char *const types[] = {"string", "int", "float64", "bool", "time.Time"};
    int rc = osp_buf_printf(b, "%%!%c(%s=", verb, types[v->t]);
    if (!rc)
        rc = put_val(b, v);
    return rc ? rc : osp_buf_putc(b, ')');
}

/* fmt.Sprintf for verbs %s %v %d %f %F %e %g %q %x %X %t %% with flags, width and
 * precision; other verbs print as %!verb(type=value). */
static int f_printf(xctx *x, val *a, size_t n, val *out)
{
    osp_str f;
    osp_buf b;
    int rc = osp__lqt_str(x, &a[0], &f);
    size_t next = 1;
    if (rc)
        return rc;
    osp_buf_init(&b, OSP__LQ_TMPL_MAX);
    for (size_t i = 0; i < f.n && rc == 0; i++) {
        if (f.p[i] != '%') {
            rc = osp_buf_putc(&b, f.p[i]);
            continue;
        }
        char spec[32];
        size_t k = 0;
        spec[k++] = '%';
        while (++i < f.n && strchr("+-# 0", f.p[i]) && f.p[i] && k < 8)
            spec[k++] = f.p[i];
        size_t lim = k + 3; /* widths and precisions up to 999 */
        while (i < f.n && f.p[i] >= '0' && f.p[i] <= '9' && k < lim)
            spec[k++] = f.p[i++];
        if (i < f.n && f.p[i] == '.')
            for (spec[k++] = f.p[i++], lim = k + 3; i < f.n && osp__is_digit(f.p[i]) && k < lim;)
                spec[k++] = f.p[i++];
        if (i >= f.n) {
            rc = osp_buf_puts(&b, "%!(NOVERB)");
            break;
        }
        char verb = f.p[i];
        if (verb == '%') {
            rc = osp_buf_putc(&b, '%');
            continue;
        }
        if (next >= n) {
            rc = osp_buf_printf(&b, "%%!%c(MISSING)", verb);
            continue;
        }
        const val *v = &a[next++];
        osp_str s;
        switch (verb) {
        case 'v':
        case 's':
            if (verb == 's' && v->t != V_STR && v->t != V_TIME) {
                rc = bad_verb(&b, verb, v);
                break;
            }
            if ((rc = osp__lqt_str(x, v, &s)) == 0) {
                spec[k++] = '.', spec[k++] = '*', spec[k++] = 's', spec[k] = 0;
                if (strchr(spec, '.') != strrchr(spec, '.')) /* a precision was given */
                    k -= 3, spec[k++] = 's', spec[k] = 0;
                rc = strchr(spec, '*') ? osp_buf_printf(&b, spec, (int)s.n, s.p)
                                       : osp_buf_printf(&b, spec, s.p);
            }
            break;
        case 'q':
            rc = osp__lqt_str(x, v, &s) || osp_buf_putc(&b, '"') || osp_buf_append_str(&b, s) ||
                 osp_buf_putc(&b, '"');
            break;
        case 'd':
        case 'x':
        case 'X':
            if (v->t != V_INT) {
                rc = bad_verb(&b, verb, v);
                break;
            }
            spec[k++] = 'l', spec[k++] = 'l', spec[k++] = verb, spec[k] = 0;
            rc = osp_buf_printf(&b, spec, (long long)v->i);
            break;
        case 't':
            rc = v->t == V_BOOL ? osp_buf_puts(&b, v->i ? "true" : "false") : bad_verb(&b, verb, v);
            break;
        case 'f':
        case 'F':
        case 'e':
        case 'g':
            if (v->t != V_FLOAT) {
                rc = bad_verb(&b, verb, v);
                break;
            }
            spec[k++] = verb, spec[k] = 0;
            rc = osp_buf_printf(&b, spec, v->f);
            break;
        default:
            rc = bad_verb(&b, verb, v);
        }
    }
    if (rc == 0 && next < n)
        rc = osp_buf_puts(&b, "%!(EXTRA)");
    if (rc == 0) {
        osp_str r = osp_arena_strdup(x->arena, osp_buf_str(&b));
        rc = r.p ? 0 : OSP_ENOMEM;
        *out = vstr(r);
    }
    osp_buf_cleanup(&b);
    if (rc == OSP_ETOOBIG || rc == OSP_EINVAL)
        return osp__lqt_fail(x, "error calling printf: %s",
                             rc == OSP_EINVAL ? "bad format" : "result too long");
    return rc;
}

static const fn_def fns[] = {
    {"ToUpper", f_upper, 1},
    {"ToLower", f_lower, 1},
    {"upper", f_upper, 1},
    {"lower", f_lower, 1},
    {"TrimSpace", f_trimspace, 1},
    {"trim", f_trimspace, 1},
    {"trimSpace", f_trimspace, 1},
    {"Trim", f_trim, 2},
    {"TrimLeft", f_trimleft, 2},
    {"TrimRight", f_trimright, 2},
    {"trimAll", f_trimall, 2},
    {"TrimPrefix", f_TrimPrefix, 2},
    {"TrimSuffix", f_TrimSuffix, 2},
    {"trimPrefix", f_trimPrefix, 2},
    {"trimSuffix", f_trimSuffix, 2},
    {"Replace", f_Replace, 4},
    {"replace", f_replace, 3},
    {"contains", f_contains, 2},
    {"hasPrefix", f_hasPrefix, 2},
    {"hasSuffix", f_hasSuffix, 2},
    {"default", f_default, -1},
    {"printf", f_printf, -1},
    {"__line__", f_line, 0},
    {"__timestamp__", f_timestamp, 0},
    {"len", f_len, 1},
    {"not", f_not, 1},
    {"and", f_and, -1},
    {"or", f_or, -1},
    {"eq", f_eq, -1},
    {"ne", f_ne, 2},
    {"lt", f_lt, 2},
    {"le", f_le, 2},
    {"gt", f_gt, 2},
    {"ge", f_ge, 2},
};

static const fn_def *fn_find(osp_str name)
{
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (osp_str_eqz(name, fns[i].name))
            return &fns[i];
    for (size_t i = 0; i < osp__lqt_nmore_fns; i++)
        if (osp_str_eqz(name, osp__lqt_more_fns[i].name))
            return &osp__lqt_more_fns[i];
    return NULL;
}

/* ---- parsing ---- */

typedef struct tp {
    osp_str in;
    size_t i;       /* read position */
    osp_str action; /* the current action's text, trim markers removed */
    size_t ai;      /* read position in action */
    osp_arena *arena;
    char *err;
    size_t errlen;
    int depth;
    osp__lq_tmpl *t; /* the template being parsed: its regexes */
    size_t res_cap;
} tp;

static int pfail(tp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pfail(tp *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(p->err, p->errlen, OSP_EPARSE, "template: line:1: ", fmt, ap);
    va_end(ap);
    return rc;
}

static void aws(tp *p)
{
    while (p->ai < p->action.n && strchr(" \t\r\n", p->action.p[p->ai]) && p->action.p[p->ai])
        p->ai++;
}

static int ident_char(char c)
{
    return osp__is_alpha(c) || osp__is_digit(c);
}

/* A word at the action's read position (not consumed). */
static osp_str peek_word(tp *p)
{
    size_t k = p->ai;
    while (k < p->action.n && ident_char(p->action.p[k]))
        k++;
    return osp_str_make(p->action.p + p->ai, k - p->ai);
}

static int parse_pipe(tp *p, pipe **out, char close);

/* Compiles the first argument of command c, a regex function's, when it is a string
 * literal, so that running the template does not compile it for every line. A pattern
 * that does not compile is left to fail when the template runs, as in Go. */
static int precompile_regex(tp *p, cmd *c)
{
    const arg *pat = &c->a[1];
    c->re = NULL;
    if (c->a[0].kind != A_FN || !osp__lqt_takes_regex(c->a[0].fn) || c->n < 2 ||
        pat->kind != A_LIT || pat->lit.t != V_STR)
        return 0;
    osp__lq_tmpl *t = p->t;
    if (t->nres == p->res_cap) {
        size_t cap = p->res_cap ? 2 * p->res_cap : 4;
        osp_re2 **a = osp_arena_alloc(p->arena, cap * sizeof *a);
        if (!a)
            return OSP_ENOMEM;
        if (t->nres)
            memcpy(a, t->res, t->nres * sizeof *a);
        t->res = a;
        p->res_cap = cap;
    }
    osp_re2 *re = osp_arena_alloc(p->arena, sizeof *re);
    if (!re)
        return OSP_ENOMEM;
    int rc = osp_re2_compile(re, pat->lit.s, 0, NULL, 0);
    if (rc == OSP_EINVAL)
        return 0;
    if (rc)
        return rc;
    t->res[t->nres++] = c->re = re;
    return 0;
}

/* A Go string literal at the read position, unescaped into arena. */
static int string_lit(tp *p, osp_str *out)
{
    const char *s = p->action.p;
    char q = s[p->ai];
    size_t st = ++p->ai;
    char *o;
    size_t n = 0;
    while (p->ai < p->action.n && s[p->ai] != q)
        p->ai += q == '"' && s[p->ai] == '\\' ? 2 : 1;
    if (p->ai >= p->action.n)
        return pfail(p, "unterminated quoted string");
    if (!(o = osp_arena_alloc(p->arena, p->ai - st + 1)))
        return OSP_ENOMEM;
    for (size_t i = st; i < p->ai; i++) {
        if (q == '`' || s[i] != '\\') {
            o[n++] = s[i];
            continue;
        }
        const char *from = "nrt\\\"'", *to = "\n\r\t\\\"'";
        const char *k = strchr(from, s[++i]);
        if (!k || !s[i])
            return pfail(p, "invalid syntax in quoted string");
        o[n++] = to[k - from];
    }
    p->ai++;
    *out = osp_str_make(o, n);
    return 0;
}

static int parse_arg(tp *p, arg *a)
{
    const char *s = p->action.p;
    char c = s[p->ai];
    int rc;
    memset(a, 0, sizeof *a);
    if (c == '.') {
        p->ai++;
        osp_str w = peek_word(p);
        p->ai += w.n;
        if (p->ai < p->action.n && s[p->ai] == '.')
            return pfail(p, "nested fields (.a.b) are not supported");
        a->kind = w.n ? A_FIELD : A_DOT;
        a->name = w;
        return 0;
    }
    if (c == '"' || c == '`') {
        a->kind = A_LIT;
        a->lit.t = V_STR;
        return string_lit(p, &a->lit.s);
    }
    if (c == '(') {
        p->ai++;
        if (++p->depth > MAX_DEPTH)
            return pfail(p, "nested too deeply");
        a->kind = A_PIPE;
        if ((rc = parse_pipe(p, &a->sub, ')')))
            return rc;
        p->depth--;
        p->ai++;
        return 0;
    }
    if (c == '$')
        return pfail(p, "variables are not supported");
    if ((c >= '0' && c <= '9') || c == '-' || c == '+') {
        size_t st = p->ai;
        while (p->ai < p->action.n && (ident_char(s[p->ai]) || strchr(".+-", s[p->ai])) && s[p->ai])
            p->ai++;
        char buf[64], *end;
        size_t n = p->ai - st < sizeof buf - 1 ? p->ai - st : sizeof buf - 1;
        memcpy(buf, s + st, n);
        buf[n] = 0;
        a->kind = A_LIT;
        if (!memchr(buf, '.', n) && !memchr(buf, 'e', n) && !memchr(buf, 'E', n)) {
            a->lit = (val){.t = V_INT, .i = strtoll(buf, &end, 0)};
        } else {
            a->lit = (val){.t = V_FLOAT, .f = strtod(buf, &end)};
        }
        if (*end)
            return pfail(p, "bad number syntax: \"%s\"", buf);
        return 0;
    }
    osp_str w = peek_word(p);
    if (w.n == 0)
        return pfail(p, "unexpected \"%c\" in command", c);
    p->ai += w.n;
    if (osp_str_eqz(w, "true") || osp_str_eqz(w, "false")) {
        a->kind = A_LIT;
        a->lit = (val){.t = V_BOOL, .i = osp_str_eqz(w, "true")};
        return 0;
    }
    if (osp_str_eqz(w, "nil"))
        return pfail(p, "nil is not a command");
    if (!(a->fn = fn_find(w)))
        return pfail(p, "function \"%.*s\" not defined", OSP_STR_FMT(w));
    a->kind = A_FN;
    return 0;
}

/* Commands separated by '|' up to close (0: the end of the action; ')' not consumed). */
static int parse_pipe(tp *p, pipe **out, char close)
{
    pipe *pp = osp_arena_calloc(p->arena, 1, sizeof *pp);
    size_t cap = 0;
    int rc;
    if (!pp)
        return OSP_ENOMEM;
    for (;;) {
        if (pp->n == cap) {
            cap = cap ? 2 * cap : 4;
            cmd *c = osp_arena_alloc(p->arena, cap * sizeof *c);
            if (!c)
                return OSP_ENOMEM;
            if (pp->n)
                memcpy(c, pp->c, pp->n * sizeof *c);
            pp->c = c;
        }
        cmd *c = &pp->c[pp->n++];
        c->n = 0;
        for (;;) {
            aws(p);
            if (p->ai >= p->action.n || p->action.p[p->ai] == '|' ||
                (close && p->action.p[p->ai] == close))
                break;
            if (p->action.p[p->ai] == ')')
                return pfail(p, "unexpected right paren");
            if (c->n == MAX_ARGS)
                return pfail(p, "too many arguments");
            if ((rc = parse_arg(p, &c->a[c->n++])))
                return rc;
            if (p->ai < p->action.n && !strchr(" \t\r\n|)", p->action.p[p->ai]))
                return pfail(p, "unexpected \"%c\" in operand", p->action.p[p->ai]);
        }
        if (c->n == 0)
            return pfail(p, "missing value for command");
        if (c->n > 1 && c->a[0].kind != A_FN)
            return pfail(p, "can't give argument to non-function");
        if ((rc = precompile_regex(p, c)))
            return rc;
        if (p->ai >= p->action.n) {
            if (close)
                return pfail(p, "unclosed left paren");
            break;
        }
        if (p->action.p[p->ai] == close)
            break;
        p->ai++; /* '|' */
    }
    for (size_t i = 1; i < pp->n; i++)
        if (pp->c[i].a[0].kind != A_FN)
            return pfail(p, "non executable command in pipeline stage %zu", i + 1);
    *out = pp;
    return 0;
}

/* Reads the next action's text into p->action (its '{{' at p->i), applying trims to the
 * text node before it (*prev, may be NULL). 0, or OSP_EPARSE. */
static int next_action(tp *p, node *prev)
{
    const char *s = p->in.p;
    size_t st = p->i + 2, end;
    if (st < p->in.n && s[st] == '-' && st + 1 < p->in.n && strchr(" \t\r\n", s[st + 1])) {
        st++;
        if (prev && prev->kind == N_TEXT)
            while (prev->text.n && strchr(" \t\r\n", prev->text.p[prev->text.n - 1]))
                prev->text.n--;
    }
    const char *close = NULL;
    for (size_t k = st; k + 1 < p->in.n && !close; k++) {
        if (s[k] == '"' || s[k] == '`') { /* skip strings: they may hold "}}" */
            char q = s[k];
            for (k++; k < p->in.n && s[k] != q; k++)
                if (q == '"' && s[k] == '\\')
                    k++;
            continue;
        }
        if (s[k] == '}' && s[k + 1] == '}')
            close = s + k;
    }
    if (!close)
        return pfail(p, "unclosed action");
    end = (size_t)(close - s);
    p->i = end + 2;
    if (end > st && s[end - 1] == '-' && end - 1 > st && strchr(" \t\r\n", s[end - 2])) {
        end--;
        while (p->i < p->in.n && strchr(" \t\r\n", s[p->i]) && s[p->i])
            p->i++;
    }
    p->action = osp_str_make(s + st, end - st);
    p->ai = 0;
    aws(p);
    return 0;
}

enum { END_EOF, END_END, END_ELSE };

/* Nodes up to the end of input or an {{end}} / {{else}} (*how says which). */
static int parse_list(tp *p, node **out, int *how)
{
    node head = {0}, *tail = &head;
    int rc;
    while (p->i < p->in.n) {
        const char *s = p->in.p + p->i;
        const char *open = memmem(s, p->in.n - p->i, "{{", 2);
        size_t tn = open ? (size_t)(open - s) : p->in.n - p->i;
        if (tn) {
            node *t = osp_arena_calloc(p->arena, 1, sizeof *t);
            if (!t)
                return OSP_ENOMEM;
            t->kind = N_TEXT;
            t->text = osp_str_make(s, tn);
            tail = tail->next = t;
            p->i += tn;
        }
        if (!open)
            break;
        if ((rc = next_action(p, tail != &head ? tail : NULL)))
            return rc;
        if (p->action.n - p->ai >= 2 && memcmp(p->action.p + p->ai, "/*", 2) == 0)
            continue;
        osp_str w = peek_word(p);
        if (osp_str_eqz(w, "end") || osp_str_eqz(w, "else")) {
            *how = w.n == 3 ? END_END : END_ELSE;
            p->ai += w.n;
            aws(p);
            *out = head.next;
            return 0;
        }
        static const char *const unsupported[] = {"range", "with",  "define",  "template",
                                                  "block", "break", "continue"};
        for (size_t k = 0; k < sizeof unsupported / sizeof unsupported[0]; k++)
            if (osp_str_eqz(w, unsupported[k]))
                return pfail(p, "{{%s}} is not supported", unsupported[k]);
        node *n = osp_arena_calloc(p->arena, 1, sizeof *n);
        if (!n)
            return OSP_ENOMEM;
        tail = tail->next = n;
        if (!osp_str_eqz(w, "if")) {
            n->kind = N_ACTION;
            if (p->ai >= p->action.n)
                return pfail(p, "missing value for command");
            if ((rc = parse_pipe(p, &n->p, 0)))
                return rc;
            continue;
        }
        /* if / else if / else / end */
        node *cur = n;
        for (;;) {
            int h;
            p->ai += 2;
            aws(p);
            cur->kind = N_IF;
            if (p->ai >= p->action.n)
                return pfail(p, "missing value for if");
            if (++p->depth > MAX_DEPTH)
                return pfail(p, "nested too deeply");
            if ((rc = parse_pipe(p, &cur->p, 0)) || (rc = parse_list(p, &cur->then, &h)))
                return rc;
            p->depth--;
            if (h == END_EOF)
                return pfail(p, "unexpected EOF");
            if (h == END_END)
                break;
            if (osp_str_eqz(peek_word(p), "if")) { /* else if */
                node *nx = osp_arena_calloc(p->arena, 1, sizeof *nx);
                if (!nx)
                    return OSP_ENOMEM;
                cur->elif = nx;
                cur = nx;
                continue;
            }
            if (p->ai < p->action.n)
                return pfail(p, "unexpected content after else");
            if ((rc = parse_list(p, &cur->els, &h)))
                return rc;
            if (h != END_END)
                return pfail(p, h == END_EOF ? "unexpected EOF" : "expected end; found else");
            break;
        }
    }
    *how = END_EOF;
    *out = head.next;
    return 0;
}

/* Releases the regexes of a template that failed to compile. */
static void release_regexes(osp__lq_tmpl *t)
{
    for (size_t i = 0; i < t->nres; i++)
        osp_re2_cleanup(t->res[i]);
    t->nres = 0;
}

int osp__lq_tmpl_compile(osp_str text, osp_arena *arena, osp__lq_tmpl **out, char *err,
                         size_t errlen)
{
    tp p = {.in = text, .arena = arena, .err = err, .errlen = errlen};
    osp__lq_tmpl *t = osp_arena_calloc(arena, 1, sizeof *t);
    int how, rc;
    if (!t)
        return OSP_ENOMEM;
    p.t = t;
    if ((rc = parse_list(&p, &t->root, &how))) {
        release_regexes(t);
        return rc;
    }
    if (how != END_EOF) {
        release_regexes(t);
        return pfail(&p, "unexpected {{%s}}", how == END_END ? "end" : "else");
    }
    *out = t;
    return 0;
}

osp_re2 *const *osp__lq_tmpl_regexes(const osp__lq_tmpl *t, size_t *n)
{
    *n = t->nres;
    return t->res;
}

/* ---- execution ---- */

static int run_pipe(xctx *x, const pipe *pp, val *out);

/* Calls f with n arguments, checking their number as Go does when it executes. */
static int call_fn(xctx *x, const fn_def *f, val *args, size_t n, val *out)
{
    val none;
    if ((f->nargs >= 0 && n != (size_t)f->nargs) || (f->nargs < 0 && n == 0))
        return osp__lqt_fail(x, "wrong number of args for %s: want %d got %zu", f->name,
                             f->nargs < 0 ? 1 : f->nargs, n);
    return f->fn(x, n ? args : &none, n, out);
}

static int eval_arg(xctx *x, const arg *a, val *out)
{
    switch (a->kind) {
    case A_FIELD:
        *out = vstr(OSP_STR_LIT("")); /* missingkey=zero */
        for (size_t i = 0; i < x->n; i++)
            if (osp_str_eq(x->l[i].name, a->name))
                *out = vstr(x->l[i].value);
        return 0;
    case A_LIT:
        *out = a->lit;
        return 0;
    case A_PIPE:
        return run_pipe(x, a->sub, out);
    case A_DOT:
        return osp__lqt_fail(x, "printing the whole label map (.) is not supported");
    default:
        return call_fn(x, a->fn, NULL, 0, out);
    }
}

static int run_cmd(xctx *x, const cmd *c, const val *piped, val *out)
{
    val args[MAX_ARGS + 1];
    size_t n = 0;
    int rc;
    if (c->a[0].kind != A_FN) {
        if (piped)
            return osp__lqt_fail(x, "can't give argument to non-function");
        return eval_arg(x, &c->a[0], out);
    }
    const fn_def *f = c->a[0].fn;
    for (size_t i = 1; i < c->n; i++)
        if ((rc = eval_arg(x, &c->a[i], &args[n++])))
            return rc;
    if (piped)
        args[n++] = *piped;
    x->re = c->re; /* set after the arguments ran their own commands */
    return call_fn(x, f, args, n, out);
}

static int run_pipe(xctx *x, const pipe *pp, val *out)
{
    int rc = 0;
    for (size_t i = 0; i < pp->n && rc == 0; i++)
        rc = run_cmd(x, &pp->c[i], i ? out : NULL, out);
    return rc;
}

static int run_list(xctx *x, const node *n, osp_buf *b)
{
    int rc = 0;
    for (; n && rc == 0; n = n->next) {
        val v;
        switch (n->kind) {
        case N_TEXT:
            rc = osp_buf_append_str(b, n->text);
            break;
        case N_ACTION:
            if ((rc = run_pipe(x, n->p, &v)) == 0)
                rc = put_val(b, &v);
            break;
        default:
            for (const node *c = n; c && rc == 0; c = c->elif) {
                if ((rc = run_pipe(x, c->p, &v)))
                    break;
                if (truth(&v) || !c->elif) {
                    rc = run_list(x, truth(&v) ? c->then : c->els, b);
                    break;
                }
            }
        }
    }
    return rc;
}

int osp__lq_tmpl_exec(const osp__lq_tmpl *t, const osp_label *l, size_t n, osp_str line,
                      uint64_t t_ns, osp_buf *out, char *err, size_t errlen)
{
    osp_arena scratch;
    osp_arena_init(&scratch, 4096, 0);
    xctx x = {l, n, line, t_ns, &scratch, err, errlen, NULL};
    int rc = run_list(&x, t->root, out);
    osp_arena_cleanup(&scratch);
    if (rc == OSP_ETOOBIG)
        return osp__lqt_fail(&x, "the result is longer than %u bytes", OSP__LQ_TMPL_MAX);
    return rc;
}
