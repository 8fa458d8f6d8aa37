/* Go's template builtins (printf, print, println, eq/ne/lt/le/gt/ge, and/or/not, len,
 * index, slice, html; urlquery is with urlencode) and Loki's __line__, __timestamp__ and the
 * strings functions it names after Go's (ToUpper, Trim, Replace, ...) with their Sprig twins
 * (upper, trim, replace, ...) and Sprig's default. String functions read any argument as text. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "query/logql_eval_int.h"
#include "query/logql_template_int.h"
#include "query/parse_util.h"

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
    *out = n > 1 && osp__lqt_truth(&a[n - 1]) ? a[n - 1] : a[0];
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

/* The length of a string (bytes), a JSON object or array, or the labels; *len -1 when v
 * has none (Go's message written then). */
static int length(xctx *x, const char *fn, const val *v, int64_t *len)
{
    switch (v->t) {
    case V_STR:
        *len = (int64_t)v->s.n;
        return 0;
    case V_MAP:
    case V_LIST:
        *len = (int64_t)v->c->n;
        return 0;
    case V_LABELS:
        *len = (int64_t)x->n;
        return 0;
    case V_NIL:
        return osp__lqt_fail(x, "error calling %s: %s of untyped nil", fn, fn);
    default:
        return osp__lqt_fail(x, "error calling %s: %s of type %s", fn, fn,
                             osp__lqt_type_name(v->t));
    }
}

static int f_len(xctx *x, val *a, size_t n, val *out)
{
    *out = (val){.t = V_INT};
    return length(x, "len", &a[0], &out->i);
}

/* An index argument of index or slice into [0, max]. */
static int index_arg(xctx *x, const char *fn, const val *v, int64_t max, int64_t *i)
{
    if (v->t != V_INT)
        return osp__lqt_fail(x, "error calling %s: cannot index slice/array with %s%s", fn,
                             v->t == V_NIL ? "" : "type ",
                             v->t == V_NIL ? "nil" : osp__lqt_type_name(v->t));
    if (v->i < 0 || v->i > max)
        return osp__lqt_fail(x, "error calling %s: index out of range: %" PRId64, fn, v->i);
    *i = v->i;
    return 0;
}

/* index(item, keys...) (Go's builtin): item[k1][k2]...: a string's byte, an array's
 * element, an object's member (nil when missing) or a label's value ("" when missing). */
static int f_index(xctx *x, val *a, size_t n, val *out)
{
    val item = a[0];
    int rc = 0;
    if (item.t == V_NIL)
        return osp__lqt_fail(x, "error calling index: index of untyped nil");
    for (size_t k = 1; k < n && rc == 0; k++) {
        int64_t i = 0, len = 0;
        if (item.t == V_STR || item.t == V_LIST) {
            if ((rc = length(x, "index", &item, &len)) ||
                (rc = index_arg(x, "index", &a[k], len - 1, &i)))
                break;
            item =
                item.t == V_STR ? (val){.t = V_INT, .i = (uint8_t)item.s.p[i]} : item.c->items[i];
        } else if (item.t == V_MAP || item.t == V_LABELS) {
            if (a[k].t != V_STR)
                return osp__lqt_fail(x, "error calling index: value has type %s; should be string",
                                     osp__lqt_type_name(a[k].t));
            if (item.t == V_LABELS) {
                item = vstr(osp__lqt_label(x, a[k].s));
                continue;
            }
            item = osp__lqt_member(item.c, a[k].s);
        } else if (item.t == V_NIL) {
            return osp__lqt_fail(x, "error calling index: index of nil pointer");
        } else {
            return osp__lqt_fail(x, "error calling index: can't index item of type %s",
                                 osp__lqt_type_name(item.t));
        }
    }
    *out = item;
    return rc;
}

/* slice(item, i, j) (Go's builtin): item[i:j] of a string (bytes) or an array; fewer
 * indexes mean item[i:] and item[:]. */
static int f_slice(xctx *x, val *a, size_t n, val *out)
{
    const val *item = &a[0];
    int64_t len = 0, idx[2] = {0, 0};
    int rc;
    if (item->t == V_NIL)
        return osp__lqt_fail(x, "error calling slice: slice of untyped nil");
    if (n > 3)
        return osp__lqt_fail(x, "error calling slice: %s",
                             item->t == V_STR ? "cannot 3-index slice a string"
                                              : "3-index slices are not supported");
    if (item->t != V_STR && item->t != V_LIST)
        return osp__lqt_fail(x, "error calling slice: can't slice item of type %s",
                             osp__lqt_type_name(item->t));
    if ((rc = length(x, "slice", item, &len)))
        return rc;
    idx[1] = len;
    for (size_t k = 1; k < n; k++)
        if ((rc = index_arg(x, "slice", &a[k], len, &idx[k - 1])))
            return rc;
    if (idx[0] > idx[1])
        return osp__lqt_fail(x, "error calling slice: invalid slice index: %" PRId64 " > %" PRId64,
                             idx[0], idx[1]);
    if (item->t == V_STR) {
        *out = vstr(osp_str_make(item->s.p + idx[0], (size_t)(idx[1] - idx[0])));
        return 0;
    }
    vcoll *c = osp_arena_alloc(x->arena, sizeof *c);
    if (!c)
        return OSP_ENOMEM;
    *c = (vcoll){.n = (size_t)(idx[1] - idx[0]),
                 .items = idx[1] > idx[0] ? item->c->items + idx[0] : NULL};
    *out = (val){.t = V_LIST, .c = c};
    return 0;
}

int osp__lqt_sprint(xctx *x, val *a, size_t n, osp_str *out)
{
    if (n == 1 && a[0].t == V_STR) {
        *out = a[0].s;
        return 0;
    }
    osp_buf b;
    osp_buf_init(&b, OSP__LQ_TMPL_MAX);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i && a[i - 1].t != V_STR && a[i].t != V_STR)
            rc = osp_buf_putc(&b, ' ');
        if (!rc)
            rc = osp__lqt_put_val(x, &b, &a[i]);
    }
    *out = rc ? OSP_STR_NULL : osp_arena_strdup(x->arena, osp_buf_str(&b));
    osp_buf_cleanup(&b);
    if (rc == OSP_ETOOBIG)
        return osp__lqt_fail(x, "error calling print: result too long");
    return rc ? rc : out->p ? 0 : OSP_ENOMEM;
}

/* print(args...): fmt.Sprint. */
static int f_print(xctx *x, val *a, size_t n, val *out)
{
    out->t = V_STR;
    return osp__lqt_sprint(x, a, n, &out->s);
}

/* println(args...): fmt.Sprintln, every operand followed by a space, the last by a
 * newline. */
static int f_println(xctx *x, val *a, size_t n, val *out)
{
    osp_buf b;
    osp_buf_init(&b, OSP__LQ_TMPL_MAX);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (!(rc = osp__lqt_put_val(x, &b, &a[i])))
            rc = osp_buf_putc(&b, i + 1 < n ? ' ' : '\n');
    osp_str s = rc ? OSP_STR_NULL : osp_arena_strdup(x->arena, osp_buf_str(&b));
    osp_buf_cleanup(&b);
    if (rc == OSP_ETOOBIG)
        return osp__lqt_fail(x, "error calling println: result too long");
    *out = vstr(s);
    return rc ? rc : s.p ? 0 : OSP_ENOMEM;
}

/* html(args...) (Go's builtin): the arguments as print joins them, with " ' & < > escaped
 * as HTML entities and NUL as U+FFFD. */
static int f_html(xctx *x, val *a, size_t n, val *out)
{
    static const char *const entity[] = {['"'] = "&#34;", ['\''] = "&#39;", ['&'] = "&amp;",
                                         ['<'] = "&lt;",  ['>'] = "&gt;",   [0] = "\xef\xbf\xbd"};
    osp_str s;
    int rc = osp__lqt_sprint(x, a, n, &s);
    char *o = rc ? NULL : osp_arena_alloc(x->arena, 5 * s.n + 1);
    if (!o)
        return rc ? rc : OSP_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        const char *e = c < sizeof entity / sizeof entity[0] ? entity[c] : NULL;
        if (!e) {
            o[k++] = (char)c;
            continue;
        }
        size_t len = strlen(e);
        memcpy(o + k, e, len);
        k += len;
    }
    *out = vstr(osp_str_make(o, k));
    return 0;
}

static int f_not(xctx *x, val *a, size_t n, val *out)
{
    *out = (val){.t = V_BOOL, .i = !osp__lqt_truth(&a[0])};
    return 0;
}

/* and/or: the first argument that decides, as Go's. */
static int f_and(xctx *x, val *a, size_t n, val *out)
{
    size_t i = 0;
    while (i + 1 < n && osp__lqt_truth(&a[i]))
        i++;
    *out = a[i];
    return 0;
}

static int f_or(xctx *x, val *a, size_t n, val *out)
{
    size_t i = 0;
    while (i + 1 < n && !osp__lqt_truth(&a[i]))
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
static int bad_verb(const xctx *x, osp_buf *b, char verb, const val *v)
{
    int rc = osp_buf_printf(b, "%%!%c(%s=", verb, osp__lqt_type_name(v->t));
    if (!rc)
        rc = osp__lqt_put_val(x, b, v);
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
                rc = bad_verb(x, &b, verb, v);
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
                rc = bad_verb(x, &b, verb, v);
                break;
            }
            spec[k++] = 'l', spec[k++] = 'l', spec[k++] = verb, spec[k] = 0;
            rc = osp_buf_printf(&b, spec, (long long)v->i);
            break;
        case 't':
            rc = v->t == V_BOOL ? osp_buf_puts(&b, v->i ? "true" : "false")
                                : bad_verb(x, &b, verb, v);
            break;
        case 'f':
        case 'F':
        case 'e':
        case 'g':
            if (v->t != V_FLOAT) {
                rc = bad_verb(x, &b, verb, v);
                break;
            }
            spec[k++] = verb, spec[k] = 0;
            rc = osp_buf_printf(&b, spec, v->f);
            break;
        default:
            rc = bad_verb(x, &b, verb, v);
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

const fn_def osp__lqt_go_fns[] = {
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
    {"index", f_index, -1},
    {"slice", f_slice, -1},
    {"print", f_print, -1},
    {"println", f_println, -1},
    {"html", f_html, -1},
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
const size_t osp__lqt_ngo_fns = sizeof osp__lqt_go_fns / sizeof osp__lqt_go_fns[0];
