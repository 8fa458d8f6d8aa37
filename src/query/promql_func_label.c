/* PromQL label_replace and label_join.
 *
 * label_replace's regex is RE2 through core/re2 (osp_re2_*), anchored as Prometheus
 * anchors it; submatch boundaries follow POSIX leftmost-longest rules, so they can differ
 * from Prometheus's where alternatives overlap or repetitions are non-greedy. */
#include <string.h>

#include "core/err.h"
#include "core/re2.h"
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
    osp_re2 re;
    int rc = osp_re2_compile(&re, pattern, OSP_RE2_ANCHORED, NULL, 0);
    if (rc == OSP_ENOMEM)
        return rc;
    if (rc)
        return osp__fn_fail(c, "invalid regular expression in label_replace(): %.*s",
                            OSP_STR_FMT(pattern));
    if (!valid_label_name(dst)) {
        osp_re2_cleanup(&re);
        return osp__fn_fail(c, "invalid destination label name in label_replace(): %.*s",
                            OSP_STR_FMT(dst));
    }
    regmatch_t *m = osp_arena_alloc(c->arena, (re.ngroups + 1) * sizeof *m);
    rc = m ? osp__fn_out(c, out, in->n) : OSP_ENOMEM;
    for (size_t i = 0; rc == 0 && i < in->n; i++) {
        const osp_promql_elem *e = &in->a[i];
        osp_str val = osp_labels_get(e->labels, e->nlabels, src);
        out->a[i] = *e;
        out->a[i].t_ms = c->t_ms;
        out->n++;
        int hit = osp_re2_match(&re, val, m, re.ngroups + 1);
        if (hit <= 0) {
            rc = hit;
            continue;
        }
        osp_str res;
        rc = osp_re2_expand(&re, repl, val, m, c->arena, &res);
        if (rc == 0)
            rc = with_label(c->arena, e, dst, res, &out->a[i].labels, &out->a[i].nlabels);
    }
    osp_re2_cleanup(&re);
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
    {"label_replace", fn_label_replace, 1},
    {"label_join", fn_label_join, 1},
    {NULL, NULL, 0},
};
