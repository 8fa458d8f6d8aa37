/* PromQL label_replace and label_join.
 *
 * label_replace's regex is POSIX extended (osp_regex_compile), anchored as "^(" re ")$",
 * where Prometheus uses RE2: matching is leftmost-longest and bytewise, so submatch
 * boundaries can differ where alternatives overlap; there are no named groups, lazy
 * quantifiers, flags or \d-style classes (such patterns fail as invalid, and "$name" in the
 * replacement always expands to ""); and a pattern must be valid on its own, so "a)|(b"
 * is refused where RE2 would accept it inside Prometheus's wrapping. */
#include <regex.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/regex.h"
#include "query/promql_func_int.h"

/* Prometheus's label name syntax: [a-zA-Z_][a-zA-Z0-9_]*. */
static int valid_label_name(osp_str s)
{
    if (s.n == 0)
        return 0;
    for (size_t i = 0; i < s.n; i++) {
        char ch = s.p[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
                 (i > 0 && ch >= '0' && ch <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* A copy of labels with name set to value, or removed when value is empty (as
 * labels.Builder), still sorted; in arena. 0 or OSP_ENOMEM. */
static int with_label(osp_arena *arena, const osp_promql_elem *e, osp_str name, osp_str value,
                      osp_label **out, size_t *nout)
{
    osp_label *l = osp_arena_alloc(arena, (e->nlabels + 1) * sizeof *l);
    if (!l)
        return OSP_ENOMEM;
    size_t n = 0;
    int placed = value.n == 0;
    for (size_t i = 0; i < e->nlabels; i++) {
        int c = osp_str_cmp(e->labels[i].name, name);
        if (c == 0)
            continue;
        if (c > 0 && !placed) {
            l[n++] = (osp_label){name, value};
            placed = 1;
        }
        l[n++] = e->labels[i];
    }
    if (!placed)
        l[n++] = (osp_label){name, value};
    *out = l;
    *nout = n;
    return 0;
}

static int name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* Go's Regexp.Expand of tmpl: $n and ${n} are the user's groups (m[n + 1]: the anchoring
 * adds group 1), $0 the whole match, $$ a dollar; a reference to a missing group or a name
 * expands to nothing, a malformed one is literal text. The result is in arena. */
static int expand(osp_arena *arena, osp_str tmpl, osp_str src, const regmatch_t *m, size_t ngroups,
                  osp_str *out)
{
    size_t cap = tmpl.n + 1;
    for (size_t i = 0; i < tmpl.n; i++)
        if (tmpl.p[i] == '$')
            cap += src.n;
    char *buf = osp_arena_alloc(arena, cap);
    if (!buf)
        return OSP_ENOMEM;
    size_t len = 0, i = 0;
    while (i < tmpl.n) {
        if (tmpl.p[i] != '$') {
            buf[len++] = tmpl.p[i++];
            continue;
        }
        i++;
        if (i < tmpl.n && tmpl.p[i] == '$') {
            buf[len++] = '$';
            i++;
            continue;
        }
        int brace = i < tmpl.n && tmpl.p[i] == '{';
        size_t s = i + (size_t)brace, e = s;
        while (e < tmpl.n && name_char(tmpl.p[e]))
            e++;
        if (e == s || (brace && (e >= tmpl.n || tmpl.p[e] != '}'))) {
            buf[len++] = '$';
            continue;
        }
        i = brace ? e + 1 : e;
        long num = 0;
        for (size_t k = s; k < e; k++) {
            if (tmpl.p[k] < '0' || tmpl.p[k] > '9' || num >= 100000000) {
                num = -1;
                break;
            }
            num = num * 10 + (tmpl.p[k] - '0');
        }
        if (tmpl.p[s] == '0' && e - s > 1)
            num = -1; /* no leading zeros */
        if (num < 0 || (size_t)num >= ngroups)
            continue;
        const regmatch_t *g = num == 0 ? &m[0] : &m[num + 1];
        if (g->rm_so < 0)
            continue;
        memcpy(buf + len, src.p + g->rm_so, (size_t)(g->rm_eo - g->rm_so));
        len += (size_t)(g->rm_eo - g->rm_so);
    }
    *out = osp_str_make(buf, len);
    return 0;
}

/* Compiles "^(" pattern ")$" after checking the pattern alone compiles. 0 or OSP_EINVAL. */
static int compile_anchored(regex_t *re, osp_str pattern)
{
    if (pattern.n && memchr(pattern.p, 0, pattern.n))
        return OSP_EINVAL;
    char *z = osp_malloc(pattern.n + 5);
    if (!z)
        return OSP_ENOMEM;
    if (pattern.n)
        memcpy(z, pattern.p, pattern.n);
    z[pattern.n] = 0;
    int rc = osp_regex_compile(re, z, REG_EXTENDED, NULL, 0);
    if (rc == 0) {
        regfree(re);
        memcpy(z, "^(", 2);
        if (pattern.n)
            memcpy(z + 2, pattern.p, pattern.n);
        memcpy(z + 2 + pattern.n, ")$", 3);
        rc = osp_regex_compile(re, z, REG_EXTENDED, NULL, 0);
    }
    osp_free(z);
    return rc;
}

/* label_replace(v, dst, replacement, src, regex): where regex matches the whole of src's
 * value, dst becomes the expanded replacement (removed when empty); other elements pass
 * unchanged. Checked even for an empty vector: the regex, then dst's syntax. */
static int fn_label_replace(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                            osp_promql_vec *out)
{
    (void)nargs;
    const osp_promql_vec *in = &args[0].vec;
    osp_str dst = args[1].string, repl = args[2].string, src = args[3].string;
    osp_str pattern = args[4].string;
    regex_t re;
    int rc = compile_anchored(&re, pattern);
    if (rc == OSP_ENOMEM)
        return rc;
    if (rc)
        return osp__fn_fail(c, "invalid regular expression in label_replace(): %.*s",
                            OSP_STR_FMT(pattern));
    if (!valid_label_name(dst)) {
        regfree(&re);
        return osp__fn_fail(c, "invalid destination label name in label_replace(): %.*s",
                            OSP_STR_FMT(dst));
    }
    size_t ngroups = re.re_nsub; /* $0 and the user's groups */
    regmatch_t *m = osp_arena_alloc(c->arena, (re.re_nsub + 1) * sizeof *m);
    rc = m ? osp__fn_out(c, out, in->n) : OSP_ENOMEM;
    for (size_t i = 0; rc == 0 && i < in->n; i++) {
        const osp_promql_elem *e = &in->a[i];
        osp_str val = osp_labels_get(e->labels, e->nlabels, src);
        m[0].rm_so = 0;
        m[0].rm_eo = (regoff_t)val.n;
        out->a[i] = *e;
        out->a[i].t_ms = c->t_ms;
        out->n++;
        if (regexec(&re, val.p ? val.p : "", re.re_nsub + 1, m, REG_STARTEND) != 0)
            continue;
        osp_str res;
        rc = expand(c->arena, repl, val, m, ngroups, &res);
        if (rc == 0)
            rc = with_label(c->arena, e, dst, res, &out->a[i].labels, &out->a[i].nlabels);
    }
    regfree(&re);
    return rc;
}

/* label_join(v, dst, sep, src...): dst becomes the src values joined by sep (removed when
 * that is empty). */
static int fn_label_join(const osp_promql_call_ctx *c, const osp_promql_arg *args, size_t nargs,
                         osp_promql_vec *out)
{
    const osp_promql_vec *in = &args[0].vec;
    osp_str dst = args[1].string, sep = args[2].string;
    for (size_t k = 3; k < nargs; k++)
        if (!valid_label_name(args[k].string))
            return osp__fn_fail(c, "invalid source label name in label_join(): %.*s",
                                OSP_STR_FMT(args[k].string));
    if (!valid_label_name(dst))
        return osp__fn_fail(c, "invalid destination label name in label_join(): %.*s",
                            OSP_STR_FMT(dst));
    int rc = osp__fn_out(c, out, in->n);
    for (size_t i = 0; rc == 0 && i < in->n; i++) {
        const osp_promql_elem *e = &in->a[i];
        size_t len = 0;
        for (size_t k = 3; k < nargs; k++)
            len += osp_labels_get(e->labels, e->nlabels, args[k].string).n + (k > 3 ? sep.n : 0);
        char *buf = osp_arena_alloc(c->arena, len + 1);
        if (!buf)
            return OSP_ENOMEM;
        size_t off = 0;
        for (size_t k = 3; k < nargs; k++) {
            osp_str v = osp_labels_get(e->labels, e->nlabels, args[k].string);
            if (k > 3 && sep.n) {
                memcpy(buf + off, sep.p, sep.n);
                off += sep.n;
            }
            if (v.n)
                memcpy(buf + off, v.p, v.n);
            off += v.n;
        }
        out->a[i] = *e;
        out->a[i].t_ms = c->t_ms;
        out->n++;
        rc = with_label(c->arena, e, dst, osp_str_make(buf, off), &out->a[i].labels,
                        &out->a[i].nlabels);
    }
    return rc;
}

const osp__fn_def osp__fn_label_defs[] = {
    {"label_replace", fn_label_replace},
    {"label_join", fn_label_join},
    {NULL, NULL},
};
