/* Template functions beyond Go's basics that Loki's line_format and label_format offer
 * (Loki's own and the Sprig ones it exports): text (trunc, substr, title, repeat, indent,
 * nindent, alignLeft, alignRight), regular expressions (regexReplaceAll,
 * regexReplaceAllLiteral, count), URL and base64 coding, fromJson, numbers (int, float64,
 * add ... divf, max, min, ceil, floor, round), durations and byte sizes as numbers, and
 * times (unixEpoch..., unixToTime, toDate, toDateInZone, date, now: Go's time layouts,
 * gotime.h). Each follows the Go function it stands for; see logql_template_int.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/re2.h"
#include "core/json.h"
#include "query/logql_eval_int.h"
#include "query/gotime.h"
#include "query/logql_template_int.h"
#include "query/logql_units.h"

/* ---- arguments ---- */

/* An int parameter, as Go's template checks it. */
static int int_arg(xctx *x, const char *fn, const val *v, int64_t *out)
{
    if (v->t != V_INT)
        return osp__lqt_fail(x, "error calling %s: wrong type for value; expected int; got %s", fn,
                             osp__lqt_type_name(v->t));
    *out = v->i;
    return 0;
}

/* Sprig's toInt64 (spf13/cast): strings parsed as integers ("1.0" as 1), floats truncated,
 * booleans 0 or 1, anything that does not convert 0. */
static int64_t cast_int(const val *v)
{
    switch (v->t) {
    case V_STR: {
        char buf[64];
        if (v->s.n == 0 || v->s.n >= sizeof buf)
            return 0;
        memcpy(buf, v->s.p, v->s.n);
        buf[v->s.n] = 0;
        char *dot = strchr(buf, '.');
        if (dot && strspn(dot + 1, "0") == strlen(dot + 1)) /* trailing ".000" */
            *dot = 0;
        char *end;
        long long r = strtoll(buf, &end, 0);
        return *end ? 0 : (int64_t)r;
    }
    case V_FLOAT:
        return isfinite(v->f) && fabs(v->f) < 9.2e18 ? (int64_t)v->f : 0;
    default:
        return v->i;
    }
}

/* Sprig's toFloat64: strings parsed as floats, anything that does not convert 0. */
static double cast_float(const val *v)
{
    switch (v->t) {
    case V_STR: {
        char buf[64], *end;
        if (v->s.n == 0 || v->s.n >= sizeof buf)
            return 0;
        memcpy(buf, v->s.p, v->s.n);
        buf[v->s.n] = 0;
        double d = strtod(buf, &end);
        return *end ? 0 : d;
    }
    case V_FLOAT:
        return v->f;
    default:
        return (double)v->i;
    }
}

static val vint(int64_t i)
{
    return (val){.t = V_INT, .i = i};
}

static val vfloat(double f)
{
    return (val){.t = V_FLOAT, .f = f};
}

/* A new string of n bytes in x's arena; NULL when out of memory. */
static char *new_str(xctx *x, size_t n)
{
    return osp_arena_alloc(x->arena, n + 1);
}

/* ---- text ---- */

/* The byte offset of rune k of s (UTF-8; a byte that starts no rune counts as one). */
static size_t rune_at(osp_str s, int64_t k)
{
    size_t i = 0;
    for (; i < s.n && k > 0; k--)
        for (i++; i < s.n && ((uint8_t)s.p[i] & 0xC0) == 0x80; i++)
            ;
    return i;
}

static int64_t rune_count(osp_str s)
{
    int64_t n = 0;
    for (size_t i = 0; i < s.n; i++)
        n += ((uint8_t)s.p[i] & 0xC0) != 0x80;
    return n;
}

/* trunc(c, s): the first c runes, or the last -c when c < 0. */
static int f_trunc(xctx *x, val *a, size_t n, val *out)
{
    int64_t c = 0;
    osp_str s;
    int rc = int_arg(x, "trunc", &a[0], &c);
    if (rc || (rc = osp__lqt_str(x, &a[1], &s)))
        return rc;
    int64_t l = rune_count(s);
    if (c < 0 && l + c > 0)
        s = osp_str_make(s.p + rune_at(s, l + c), s.n - rune_at(s, l + c));
    else if (c >= 0 && l > c)
        s.n = rune_at(s, c);
    *out = vstr(s);
    return 0;
}

/* substr(start, end, s) in runes: s[:end] when start < 0, s[start:] when end < 0. */
static int f_substr(xctx *x, val *a, size_t n, val *out)
{
    int64_t start = 0, end = 0;
    osp_str s;
    int rc = int_arg(x, "substr", &a[0], &start);
    if (rc || (rc = int_arg(x, "substr", &a[1], &end)) || (rc = osp__lqt_str(x, &a[2], &s)))
        return rc;
    int64_t l = rune_count(s);
    end = end > l ? l : end;
    start = start > l ? l : start;
    if ((start < 0 && end < 0) || (start >= 0 && end >= 0 && start > end)) {
        *out = vstr(osp_str_make("", 0));
        return 0;
    }
    size_t from = start < 0 ? 0 : rune_at(s, start), to = end < 0 ? s.n : rune_at(s, end);
    *out = vstr(osp_str_make(s.p + from, to - from));
    return 0;
}

/* alignLeft(count, s) and alignRight: s cut or padded with spaces to count runes, kept
 * from its start (left) or its end (right); s itself when count is negative. */
static int align(xctx *x, const char *fn, val *a, int right, val *out)
{
    int64_t count = 0, l;
    osp_str s;
    int rc = int_arg(x, fn, &a[0], &count);
    if (rc || (rc = osp__lqt_str(x, &a[1], &s)))
        return rc;
    l = rune_count(s);
    if (count < 0 || count == l) {
        *out = vstr(s);
    } else if (count < l) {
        size_t from = right ? rune_at(s, l - count) : 0, to = right ? s.n : rune_at(s, count);
        *out = vstr(osp_str_make(s.p + from, to - from));
    } else {
        size_t pad = (size_t)(count - l);
        char *o = pad <= OSP__LQ_TMPL_MAX ? new_str(x, s.n + pad) : NULL;
        if (!o)
            return pad > OSP__LQ_TMPL_MAX
                       ? osp__lqt_fail(x, "error calling %s: result too long", fn)
                       : OSP_ENOMEM;
        memset(o + (right ? 0 : s.n), ' ', pad);
        if (s.n)
            memcpy(o + (right ? pad : 0), s.p, s.n);
        *out = vstr(osp_str_make(o, s.n + pad));
    }
    return 0;
}

static int f_align_left(xctx *x, val *a, size_t n, val *out)
{
    return align(x, "alignLeft", a, 0, out);
}

static int f_align_right(xctx *x, val *a, size_t n, val *out)
{
    return align(x, "alignRight", a, 1, out);
}

/* title(s): strings.Title, the first letter of every word upper case (ASCII). */
static int f_title(xctx *x, val *a, size_t n, val *out)
{
    osp_str s;
    int rc = osp__lqt_str(x, &a[0], &s);
    char *o = rc ? NULL : new_str(x, s.n);
    if (!o)
        return rc ? rc : OSP_ENOMEM;
    int after_sep = 1;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        o[i] = (char)(after_sep && c >= 'a' && c <= 'z' ? c - 32 : c);
        after_sep = c < 0x80 &&
                    !(c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z'));
    }
    *out = vstr(osp_str_make(o, s.n));
    return 0;
}

/* Appends count copies of s to b. */
static int put_repeat(osp_buf *b, osp_str s, int64_t count)
{
    int rc = 0;
    for (int64_t i = 0; i < count && rc == 0; i++)
        rc = osp_buf_append_str(b, s);
    return rc;
}

/* Moves b's text into x's arena as the result, or fails as too long. */
static int result(xctx *x, const char *fn, osp_buf *b, int rc, val *out)
{
    if (rc == 0) {
        osp_str r = osp_arena_strdup(x->arena, osp_buf_str(b));
        rc = r.p ? 0 : OSP_ENOMEM;
        *out = vstr(r);
    }
    osp_buf_cleanup(b);
    if (rc == OSP_ETOOBIG)
        return osp__lqt_fail(x, "error calling %s: result too long", fn);
    return rc;
}

/* repeat(count, s): strings.Repeat. */
static int f_repeat(xctx *x, val *a, size_t n, val *out)
{
    int64_t count = 0;
    osp_str s;
    osp_buf b;
    int rc = int_arg(x, "repeat", &a[0], &count);
    if (rc || (rc = osp__lqt_str(x, &a[1], &s)))
        return rc;
    if (count < 0)
        return osp__lqt_fail(x, "error calling repeat: strings: negative Repeat count");
    osp_buf_init(&b, OSP__LQ_TMPL_MAX);
    return result(x, "repeat", &b, put_repeat(&b, s, count), out);
}

/* indent(spaces, s): every line of s after that many spaces; nindent adds a newline first. */
static int indent(xctx *x, val *a, int newline, val *out)
{
    const char *fn = newline ? "nindent" : "indent";
    const osp_str space = osp_str_make(" ", 1);
    int64_t spaces = 0;
    osp_str s;
    osp_buf b;
    int rc = int_arg(x, fn, &a[0], &spaces);
    if (rc || (rc = osp__lqt_str(x, &a[1], &s)))
        return rc;
    osp_buf_init(&b, OSP__LQ_TMPL_MAX);
    rc = newline ? osp_buf_putc(&b, '\n') : 0;
    if (rc == 0)
        rc = put_repeat(&b, space, spaces);
    for (size_t i = 0; i < s.n && rc == 0; i++)
        if ((rc = osp_buf_putc(&b, s.p[i])) == 0 && s.p[i] == '\n')
            rc = put_repeat(&b, space, spaces);
    return result(x, fn, &b, rc, out);
}

static int f_indent(xctx *x, val *a, size_t n, val *out)
{
    return indent(x, a, 0, out);
}

static int f_nindent(xctx *x, val *a, size_t n, val *out)
{
    return indent(x, a, 1, out);
}

/* ---- regular expressions ---- */

/* The regex argument v: the one compiled with the template, else v compiled into own
 * (*re == own: clean it up). Fails the template as Go's regexp would. */
static int compile(xctx *x, const char *fn, const val *v, osp_re2 *own, const osp_re2 **re)
{
    char why[256];
    osp_str pat;
    if ((*re = x->re))
        return 0;
    int rc = osp__lqt_str(x, v, &pat);
    if (rc)
        return rc;
    rc = osp_re2_compile(own, pat, 0, why, sizeof why);
    if (rc == OSP_EINVAL)
        return osp__lqt_fail(x, "error calling %s: error parsing regexp: %s", fn, why);
    *re = own;
    return rc;
}

/* The width of the rune at s[i] (1 for a byte that starts none, or at the end). */
static size_t rune_width(osp_str s, size_t i)
{
    size_t j = i + 1;
    while (j < s.n && ((uint8_t)s.p[j] & 0xC0) == 0x80)
        j++;
    return j - i;
}

/* Go's Regexp.ReplaceAllString (expand) or ReplaceAllLiteralString, and with count set
 * only counting the matches (FindAllStringIndex). */
static int replace_all(xctx *x, const char *fn, val *a, int expand, int64_t *count, val *out)
{
    osp_re2 own;
    const osp_re2 *re;
    osp_str s = osp_str_make("", 0), repl = s;
    osp_buf b;
    int rc = compile(x, fn, &a[0], &own, &re);
    if (rc)
        return rc;
    rc = osp__lqt_str(x, &a[1], &s);
    if (rc == 0 && !count)
        rc = osp__lqt_str(x, &a[2], &repl);
    osp_buf_init(&b, OSP__LQ_TMPL_MAX);
    osp_re2_subject sub;
    regmatch_t *m = osp_arena_alloc(x->arena, (re->ngroups + 1) * sizeof *m);
    size_t last = 0, pos = 0;
    long prev_end = -1;
    if (!m && rc == 0)
        rc = OSP_ENOMEM;
    if (osp_re2_subject_init(&sub, s) && rc == 0)
        rc = OSP_ENOMEM;
    while (rc == 0 && pos <= s.n && (rc = osp__lqt_spend(x, 1)) == 0) {
        int hit = osp_re2_search_in(re, &sub, pos, m, re->ngroups + 1);
        if (hit <= 0) {
            rc = hit < 0 ? hit : 0;
            break;
        }
        size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
        /* no empty match right after the previous match */
        int accept = !(so == eo && (long)so == prev_end);
        if (count) {
            *count += accept;
        } else {
            rc = osp_buf_append(&b, s.p + last, so - last);
            if (rc == 0 && (eo > last || so == 0)) {
                osp_str r = repl;
                if (expand)
                    rc = osp_re2_expand(re, repl, s, m, x->arena, &r);
                if (rc == 0)
                    rc = osp_buf_append_str(&b, r);
            }
            last = eo;
        }
        prev_end = (long)eo;
        pos = pos + rune_width(s, pos) > eo ? pos + rune_width(s, pos)
              : pos + 1 > eo                ? pos + 1
                                            : eo;
    }
    osp_re2_subject_cleanup(&sub);
    if (re == &own)
        osp_re2_cleanup(&own);
    if (count) {
        osp_buf_cleanup(&b);
        return rc;
    }
    if (rc == 0)
        rc = osp_buf_append(&b, s.p + last, s.n - last);
    return result(x, fn, &b, rc, out);
}

static int f_regex_replace_all(xctx *x, val *a, size_t n, val *out)
{
    return replace_all(x, "regexReplaceAll", a, 1, NULL, out);
}

static int f_regex_replace_literal(xctx *x, val *a, size_t n, val *out)
{
    return replace_all(x, "regexReplaceAllLiteral", a, 0, NULL, out);
}

/* count(regex, s): how many times regex matches in s. */
static int f_count(xctx *x, val *a, size_t n, val *out)
{
    int64_t c = 0;
    int rc = replace_all(x, "count", a, 0, &c, out);
    *out = vint(c);
    return rc;
}

/* ---- URL and base64 coding ---- */

static const char hexdig[] = "0123456789ABCDEF";

/* url.QueryEscape of s. */
static int query_escape(xctx *x, osp_str s, val *out)
{
    char *o = new_str(x, 3 * s.n);
    if (!o)
        return OSP_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        int unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved) {
            o[k++] = (char)c;
        } else if (c == ' ') {
            o[k++] = '+';
        } else {
            o[k++] = '%';
            o[k++] = hexdig[c >> 4];
            o[k++] = hexdig[c & 15];
        }
    }
    *out = vstr(osp_str_make(o, k));
    return 0;
}

/* urlencode(s) (Loki's): url.QueryEscape. */
static int f_urlencode(xctx *x, val *a, size_t n, val *out)
{
    osp_str s;
    int rc = osp__lqt_str(x, &a[0], &s);
    return rc ? rc : query_escape(x, s, out);
}

/* urlquery(args...) (Go's builtin): url.QueryEscape of the arguments as fmt.Sprint joins
 * them. */
static int f_urlquery(xctx *x, val *a, size_t n, val *out)
{
    osp_str s;
    int rc = osp__lqt_sprint(x, a, n, &s);
    return rc ? rc : query_escape(x, s, out);
}

static int unhex(char c)
{
    return c >= '0' && c <= '9'                 ? c - '0'
           : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10
                                                : -1;
}

/* urldecode(s): url.QueryUnescape. */
static int f_urldecode(xctx *x, val *a, size_t n, val *out)
{
    osp_str s;
    int rc = osp__lqt_str(x, &a[0], &s);
    char *o = rc ? NULL : new_str(x, s.n);
    if (!o)
        return rc ? rc : OSP_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] == '+') {
            o[k++] = ' ';
        } else if (s.p[i] != '%') {
            o[k++] = s.p[i];
        } else if (i + 2 < s.n && unhex(s.p[i + 1]) >= 0 && unhex(s.p[i + 2]) >= 0) {
            o[k++] = (char)(unhex(s.p[i + 1]) << 4 | unhex(s.p[i + 2]));
            i += 2;
        } else {
            size_t bad = s.n - i < 3 ? s.n - i : 3;
            return osp__lqt_fail(x, "error calling urldecode: invalid URL escape \"%.*s\"",
                                 (int)bad, s.p + i);
        }
    }
    *out = vstr(osp_str_make(o, k));
    return 0;
}

/* b64enc(s): standard alphabet, padded. */
static int f_b64enc(xctx *x, val *a, size_t n, val *out)
{
    osp_str s;
    int rc = osp__lqt_str(x, &a[0], &s);
    char *o = rc ? NULL : new_str(x, OSP_BASE64_LEN(s.n));
    if (!o)
        return rc ? rc : OSP_ENOMEM;
    *out = vstr(osp_str_make(o, osp_base64_encode((const uint8_t *)s.p, s.n, o)));
    return 0;
}

/* b64dec(s): the decoded text; on bad input Sprig's result, the error's own text. */
static int f_b64dec(xctx *x, val *a, size_t n, val *out)
{
    osp_str s;
    osp_buf b;
    int rc = osp__lqt_str(x, &a[0], &s);
    if (rc)
        return rc;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t bad = 0;
    while (bad < s.n && s.p[bad] && strchr(alphabet, s.p[bad]))
        bad++;
    osp_buf_init(&b, OSP__LQ_TMPL_MAX);
    if (bad < s.n && s.p[bad] != '=')
        rc = osp_buf_printf(&b, "illegal base64 data at input byte %zu", bad);
    else if (s.n % 4 || (rc = osp_base64_decode(s, &b)) == OSP_EPARSE)
        rc = osp_buf_printf(&b, "illegal base64 data at input byte %zu", s.n / 4 * 4);
    return result(x, "b64dec", &b, rc, out);
}

/* ---- numbers ---- */

static int f_int(xctx *x, val *a, size_t n, val *out)
{
    *out = vint(cast_int(&a[0]));
    return 0;
}

static int f_float64(xctx *x, val *a, size_t n, val *out)
{
    *out = vfloat(cast_float(&a[0]));
    return 0;
}

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_MAX, OP_MIN };

/* Sprig's integer arithmetic: add, sub, mul, div, mod take two values; max and min any
 * number (at least one). Go's wrapping arithmetic; division by zero fails as Go's. */
static int int_op(xctx *x, const char *fn, int op, val *a, size_t n, val *out)
{
    int64_t r = cast_int(&a[0]);
    for (size_t i = 1; i < n; i++) {
        int64_t v = cast_int(&a[i]);
        if ((op == OP_DIV || op == OP_MOD) && v == 0)
            return osp__lqt_fail(x, "error calling %s: runtime error: integer divide by zero", fn);
        uint64_t ur = (uint64_t)r, uv = (uint64_t)v;
        r = op == OP_ADD   ? (int64_t)(ur + uv)
            : op == OP_SUB ? (int64_t)(ur - uv)
            : op == OP_MUL ? (int64_t)(ur * uv)
            : op == OP_DIV ? (r == INT64_MIN && v == -1 ? r : r / v)
            : op == OP_MOD ? (v == -1 ? 0 : r % v)
            : op == OP_MAX ? (v > r ? v : r)
                           : (v < r ? v : r);
    }
    *out = vint(r);
    return 0;
}

static int f_add(xctx *x, val *a, size_t n, val *out)
{
    return int_op(x, "add", OP_ADD, a, n, out);
}

static int f_sub(xctx *x, val *a, size_t n, val *out)
{
    return int_op(x, "sub", OP_SUB, a, n, out);
}

static int f_mul(xctx *x, val *a, size_t n, val *out)
{
    return int_op(x, "mul", OP_MUL, a, n, out);
}

static int f_div(xctx *x, val *a, size_t n, val *out)
{
    return int_op(x, "div", OP_DIV, a, n, out);
}

static int f_mod(xctx *x, val *a, size_t n, val *out)
{
    return int_op(x, "mod", OP_MOD, a, n, out);
}

static int f_max(xctx *x, val *a, size_t n, val *out)
{
    return n ? int_op(x, "max", OP_MAX, a, n, out)
             : osp__lqt_fail(x, "wrong number of args for max: want at least 1 got 0");
}

static int f_min(xctx *x, val *a, size_t n, val *out)
{
    return n ? int_op(x, "min", OP_MIN, a, n, out)
             : osp__lqt_fail(x, "wrong number of args for min: want at least 1 got 0");
}

/* Sprig's float arithmetic, over any number of values (addf with none is 0). */
static int float_op(xctx *x, const char *fn, int op, val *a, size_t n, val *out)
{
    if (n == 0 && op != OP_ADD && op != OP_MUL)
        return osp__lqt_fail(x, "wrong number of args for %s: want at least 1 got 0", fn);
    double r = n ? cast_float(&a[0]) : op == OP_MUL ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        double v = cast_float(&a[i]);
        if (op == OP_DIV && v == 0)
            return osp__lqt_fail(x, "error calling %s: division by zero", fn);
        r = op == OP_ADD   ? r + v
            : op == OP_SUB ? r - v
            : op == OP_MUL ? r * v
            : op == OP_DIV ? r / v
            : op == OP_MAX ? fmax(r, v)
                           : fmin(r, v);
    }
    *out = vfloat(r);
    return 0;
}

static int f_addf(xctx *x, val *a, size_t n, val *out)
{
    return float_op(x, "addf", OP_ADD, a, n, out);
}

static int f_subf(xctx *x, val *a, size_t n, val *out)
{
    return float_op(x, "subf", OP_SUB, a, n, out);
}

static int f_mulf(xctx *x, val *a, size_t n, val *out)
{
    return float_op(x, "mulf", OP_MUL, a, n, out);
}

static int f_divf(xctx *x, val *a, size_t n, val *out)
{
    return float_op(x, "divf", OP_DIV, a, n, out);
}

static int f_maxf(xctx *x, val *a, size_t n, val *out)
{
    return float_op(x, "maxf", OP_MAX, a, n, out);
}

static int f_minf(xctx *x, val *a, size_t n, val *out)
{
    return float_op(x, "minf", OP_MIN, a, n, out);
}

static int f_ceil(xctx *x, val *a, size_t n, val *out)
{
    *out = vfloat(ceil(cast_float(&a[0])));
    return 0;
}

static int f_floor(xctx *x, val *a, size_t n, val *out)
{
    *out = vfloat(floor(cast_float(&a[0])));
    return 0;
}

/* round(v, places[, roundOn]): Sprig's, rounding up from roundOn (0.5). */
static int f_round(xctx *x, val *a, size_t n, val *out)
{
    int64_t places = 0;
    if (n < 2 || n > 3)
        return osp__lqt_fail(x, "wrong number of args for round: want 2 or 3 got %zu", n);
    int rc = int_arg(x, "round", &a[1], &places);
    if (rc)
        return rc;
    double v = cast_float(&a[0]), on = n == 3 ? cast_float(&a[2]) : 0.5;
    double pow10 = pow(10, (double)places), digit = pow10 * v, whole;
    double frac = copysign(modf(digit, &whole), v);
    double r = frac >= copysign(on, v) ? ceil(digit) : floor(digit);
    *out = vfloat(r / pow10);
    return 0;
}

/* duration(s), duration_seconds(s): Go's time.ParseDuration in seconds; bytes(s):
 * go-humanize's ParseBytes. As Loki's, a value that does not parse fails the template. */
static int units(xctx *x, const char *fn, val *a, int bytes, val *out)
{
    char why[256];
    osp_str s;
    int64_t ns;
    uint64_t b;
    int rc = osp__lqt_str(x, &a[0], &s);
    if (rc)
        return rc;
    if (bytes ? osp_logql_parse_bytes(s, &b, why, sizeof why)
              : osp_logql_parse_duration(s, &ns, why, sizeof why))
        return osp__lqt_fail(x, "error calling %s: %s", fn, why);
    *out = vfloat(bytes ? (double)b : (double)ns / 1e9);
    return 0;
}

static int f_duration(xctx *x, val *a, size_t n, val *out)
{
    return units(x, "duration", a, 0, out);
}

static int f_duration_seconds(xctx *x, val *a, size_t n, val *out)
{
    return units(x, "duration_seconds", a, 0, out);
}

static int f_bytes(xctx *x, val *a, size_t n, val *out)
{
    return units(x, "bytes", a, 1, out);
}

/* ---- JSON ---- */

static int json_value(xctx *x, osp_json_reader *r, const osp_json_token *t, val *out);

/* A token's text, in x's arena when it lives in the reader's scratch buffer. */
static int json_text(xctx *x, const osp_json_token *t, osp_str *out)
{
    *out = t->escaped ? osp_arena_strdup(x->arena, t->s) : t->s;
    return out->p || t->s.n == 0 ? 0 : OSP_ENOMEM;
}

typedef struct member_order {
    const osp_str *keys;
} member_order;

/* Orders member indexes by key, then by position (qsort_r). */
static int by_key(const void *a, const void *b, void *arg)
{
    const osp_str *keys = ((const member_order *)arg)->keys;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = osp_str_cmp(keys[i], keys[j]);
    return c ? c : (i > j) - (i < j);
}

/* Sorts an object's n members by key, keeping the last of a repeated key (Go's
 * json.Unmarshal into a map), into c. */
static int json_object(xctx *x, osp_str *keys, val *items, size_t n, vcoll *c)
{
    size_t *order = n ? osp_arena_alloc(x->arena, n * sizeof *order) : NULL;
    osp_str *k = n ? osp_arena_alloc(x->arena, n * sizeof *k) : NULL;
    val *v = n ? osp_arena_alloc(x->arena, n * sizeof *v) : NULL;
    if (n && (!order || !k || !v))
        return OSP_ENOMEM;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    if (n > 1)
        qsort_r(order, n, sizeof *order, by_key, &(member_order){keys});
    c->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && osp_str_eq(keys[order[i]], keys[order[i + 1]]))
            continue;
        k[c->n] = keys[order[i]];
        v[c->n++] = items[order[i]];
    }
    c->keys = k;
    c->items = v;
    return 0;
}

/* The members of an object or elements of an array, its opening token read, into *out. */
static int json_container(xctx *x, osp_json_reader *r, int object, val *out)
{
    osp_str *keys = NULL;
    val *items = NULL;
    size_t n = 0, cap = 0;
    vcoll *c = osp_arena_calloc(x->arena, 1, sizeof *c);
    osp_json_token t;
    int rc;
    if (!c)
        return OSP_ENOMEM;
    while ((rc = osp_json_next(r, &t)) == 1 && t.type != OSP_JSON_OBJECT_END &&
           t.type != OSP_JSON_ARRAY_END) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            osp_str *nk = osp_arena_alloc(x->arena, ncap * sizeof *nk);
            val *nv = osp_arena_alloc(x->arena, ncap * sizeof *nv);
            if (!nk || !nv)
                return OSP_ENOMEM;
            if (n)
                memcpy(nk, keys, n * sizeof *nk), memcpy(nv, items, n * sizeof *nv);
            keys = nk, items = nv, cap = ncap;
        }
        if (object && ((rc = json_text(x, &t, &keys[n])) || (rc = osp_json_next(r, &t)) != 1))
            return rc ? rc : OSP_EPARSE;
        if ((rc = json_value(x, r, &t, &items[n++])))
            return rc;
    }
    if (rc != 1)
        return rc ? rc : OSP_EPARSE;
    *out = (val){.t = object ? V_MAP : V_LIST, .c = c};
    if (object)
        return json_object(x, keys, items, n, c);
    c->n = n;
    c->items = items;
    return 0;
}

/* One value, its first token t read, as Go's json.Unmarshal into an interface{} makes it:
 * objects maps, arrays lists, numbers float64, null nil. */
static int json_value(xctx *x, osp_json_reader *r, const osp_json_token *t, val *out)
{
    switch (t->type) {
    case OSP_JSON_OBJECT_BEGIN:
    case OSP_JSON_ARRAY_BEGIN:
        return json_container(x, r, t->type == OSP_JSON_OBJECT_BEGIN, out);
    case OSP_JSON_STRING:
        out->t = V_STR;
        return json_text(x, t, &out->s);
    case OSP_JSON_NUMBER:
        *out = (val){.t = V_FLOAT};
        return osp_json_double(t->s, &out->f);
    case OSP_JSON_NULL:
        *out = (val){.t = V_NIL};
        return 0;
    default:
        *out = (val){.t = V_BOOL, .i = t->type == OSP_JSON_TRUE};
        return 0;
    }
}

/* fromJson(s) (Sprig's): the JSON document s as a value, or nil when it does not parse. */
static int f_from_json(xctx *x, val *a, size_t n, val *out)
{
    osp_str s;
    osp_buf scratch;
    osp_json_reader r;
    osp_json_token t;
    int rc = osp__lqt_str(x, &a[0], &s);
    if (rc)
        return rc;
    osp_buf_init(&scratch, OSP__LQ_TMPL_MAX);
    osp_json_reader_init(&r, s, &scratch);
    rc = osp_json_next(&r, &t);
    rc = rc == 1 ? json_value(x, &r, &t, out) : rc ? rc : OSP_EPARSE;
    if (rc == 0 && osp_json_next(&r, &t) != 0) /* more after the value */
        rc = OSP_EPARSE;
    osp_buf_cleanup(&scratch);
    if (rc == OSP_ENOMEM)
        return rc;
    if (rc)
        *out = (val){.t = V_NIL};
    return 0;
}

/* ---- times ---- */

/* unixEpoch, unixEpochMillis, unixEpochNanos of a time (__timestamp__), as text. */
static int epoch(xctx *x, const char *fn, const val *v, uint64_t per_sec, val *out)
{
    char buf[24];
    if (v->t != V_TIME)
        return osp__lqt_fail(x,
                             "error calling %s: wrong type for value; expected time.Time; got %s",
                             fn, osp__lqt_type_name(v->t));
    /* Go's Unix, UnixMilli and UnixNano; out of int64's range the last wraps, as in Go */
    uint64_t units = (uint64_t)v->tm.sec * per_sec + (uint64_t)v->tm.nsec / (1000000000u / per_sec);
    int k = snprintf(buf, sizeof buf, "%" PRId64, (int64_t)units);
    osp_str r = osp_arena_strdup(x->arena, osp_str_make(buf, (size_t)k));
    *out = vstr(r);
    return r.p ? 0 : OSP_ENOMEM;
}

static int f_unix_epoch(xctx *x, val *a, size_t n, val *out)
{
    return epoch(x, "unixEpoch", &a[0], 1, out);
}

static int f_unix_epoch_millis(xctx *x, val *a, size_t n, val *out)
{
    return epoch(x, "unixEpochMillis", &a[0], 1000, out);
}

static int f_unix_epoch_nanos(xctx *x, val *a, size_t n, val *out)
{
    return epoch(x, "unixEpochNanos", &a[0], 1000000000u, out);
}

/* date(layout, t): Go's Format of a time (__timestamp__, now) or Unix seconds, in UTC (Loki
 * formats in the server's zone); anything else formats the current time, as Sprig's. */
static int f_date(xctx *x, val *a, size_t n, val *out)
{
    osp_str layout;
    osp_buf b;
    int rc = osp__lqt_str(x, &a[0], &layout);
    if (rc)
        return rc;
    osp_gotime t = a[1].t == V_TIME  ? a[1].tm
                   : a[1].t == V_INT ? (osp_gotime){.sec = a[1].i, .zone = "UTC"}
                                     : osp_gotime_utc((int64_t)osp_clock_ns(CLOCK_REALTIME));
    t.off = 0; /* shown in the server's zone, UTC */
    strcpy(t.zone, "UTC");
    osp_buf_init(&b, OSP__LQ_TMPL_MAX);
    return result(x, "date", &b, osp_gotime_format(&b, layout, &t), out);
}

/* strconv.ParseInt(s, 10, 64): an optional sign and decimal digits. 0 or -1. */
static int parse_decimal(osp_str s, int64_t *out)
{
    size_t i = s.n && (s.p[0] == '-' || s.p[0] == '+');
    uint64_t v = 0, lim = (uint64_t)INT64_MAX + (s.n && s.p[0] == '-');
    if (i == s.n)
        return -1;
    for (; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9' || v > (lim - (uint64_t)(s.p[i] - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    }
    *out = s.p[0] == '-' ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* unixToTime(epoch) (Loki's): a decimal Unix time read by its length: 5 digits days, 10
 * seconds, 13 milliseconds, 16 microseconds, 19 nanoseconds. */
static int f_unix_to_time(xctx *x, val *a, size_t n, val *out)
{
    static const struct {
        size_t digits;
        int64_t sec_per, per_sec; /* seconds per unit, or units per second */
    } units[] = {{5, 86400, 1}, {10, 1, 1}, {13, 1, 1000}, {16, 1, 1000000}, {19, 1, 1000000000}};
    osp_str s;
    int64_t v;
    int rc = osp__lqt_str(x, &a[0], &s);
    if (rc)
        return rc;
    if (parse_decimal(s, &v) != 0)
        return osp__lqt_fail(x, "error calling unixToTime: unable to parse time '%.*s'",
                             OSP_STR_FMT(s));
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (units[i].digits != s.n)
            continue;
        int64_t sec = v / units[i].per_sec * units[i].sec_per, rem = v % units[i].per_sec;
        if (rem < 0)
            sec--, rem += units[i].per_sec;
        *out = (val){.t = V_TIME,
                     .tm = {.sec = sec,
                            .nsec = (int32_t)(rem * (1000000000 / units[i].per_sec)),
                            .zone = "UTC"}};
        return 0;
    }
    return osp__lqt_fail(x,
                         "error calling unixToTime: unable to parse time '%.*s' length %zu did "
                         "not match any expected formats",
                         OSP_STR_FMT(s), s.n);
}

/* Sprig's toDate(layout, s) and Loki's toDateInZone(layout, zone, s): Go's
 * ParseInLocation in the zone (UTC, Osprey's local zone, for toDate and for a zone name Go
 * cannot load); Go's zero time when s does not parse, as both ignore the error. */
static int parse_date(xctx *x, val *layout, val *zone, val *s, val *out)
{
    osp_str l, z = OSP_STR_LIT("UTC"), v;
    int rc = osp__lqt_str(x, layout, &l);
    if (rc || (zone && (rc = osp__lqt_str(x, zone, &z))) || (rc = osp__lqt_str(x, s, &v)))
        return rc;
    const osp_tzone *loc = osp_tzone_find(z);
    out->t = V_TIME;
    osp_gotime_parse(l, v, loc ? loc : osp_tzone_utc(), &out->tm, NULL, 0);
    return 0;
}

static int f_to_date(xctx *x, val *a, size_t n, val *out)
{
    return parse_date(x, &a[0], NULL, &a[1], out);
}

static int f_to_date_in_zone(xctx *x, val *a, size_t n, val *out)
{
    return parse_date(x, &a[0], &a[1], &a[2], out);
}

static int f_now(xctx *x, val *a, size_t n, val *out)
{
    *out = (val){.t = V_TIME, .tm = osp_gotime_utc((int64_t)osp_clock_ns(CLOCK_REALTIME))};
    return 0;
}

const fn_def osp__lqt_more_fns[] = {
    {"trunc", f_trunc, 2},
    {"substr", f_substr, 3},
    {"title", f_title, 1},
    {"repeat", f_repeat, 2},
    {"indent", f_indent, 2},
    {"nindent", f_nindent, 2},
    {"regexReplaceAll", f_regex_replace_all, 3},
    {"regexReplaceAllLiteral", f_regex_replace_literal, 3},
    {"count", f_count, 2},
    {"alignLeft", f_align_left, 2},
    {"alignRight", f_align_right, 2},
    {"urlencode", f_urlencode, 1},
    {"urlquery", f_urlquery, -1},
    {"urldecode", f_urldecode, 1},
    {"b64enc", f_b64enc, 1},
    {"b64dec", f_b64dec, 1},
    {"int", f_int, 1},
    {"float64", f_float64, 1},
    {"add", f_add, 2},
    {"sub", f_sub, 2},
    {"mul", f_mul, 2},
    {"div", f_div, 2},
    {"mod", f_mod, 2},
    {"max", f_max, -1},
    {"min", f_min, -1},
    {"addf", f_addf, -1},
    {"subf", f_subf, -1},
    {"mulf", f_mulf, -1},
    {"divf", f_divf, -1},
    {"maxf", f_maxf, -1},
    {"minf", f_minf, -1},
    {"ceil", f_ceil, 1},
    {"floor", f_floor, 1},
    {"round", f_round, -1},
    {"unixEpoch", f_unix_epoch, 1},
    {"unixEpochMillis", f_unix_epoch_millis, 1},
    {"unixEpochNanos", f_unix_epoch_nanos, 1},
    {"date", f_date, 2},
    {"now", f_now, 0},
    {"fromJson", f_from_json, 1},
    {"unixToTime", f_unix_to_time, 1},
    {"toDate", f_to_date, 2},
    {"toDateInZone", f_to_date_in_zone, 3},
    {"duration", f_duration, 1},
    {"duration_seconds", f_duration_seconds, 1},
    {"bytes", f_bytes, 1},
};
const size_t osp__lqt_nmore_fns = sizeof osp__lqt_more_fns / sizeof osp__lqt_more_fns[0];

int osp__lqt_takes_regex(const fn_def *f)
{
    return f->fn == f_regex_replace_all || f->fn == f_regex_replace_literal || f->fn == f_count;
}
