/* LogQL pipelines on one entry: the label builder, line filters, label filters,
 * line_format, label_format, drop and keep, with Loki's semantics (pkg/logql/log). The
 * parsers live in logql_pipeline_parse.c, templates in logql_template.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "query/logql_eval_int.h"
#include "query/logql_literal.h"
#include "query/logql_units.h"
#include "query/parse_util.h"

/* ---- the label builder ---- */

/* Gives e room for cap labels and their categories (one allocation), keeping the ones it
 * has. 0 or OSP_ENOMEM. */
static int make_room(osp__lq_entry *e, size_t cap)
{
    osp_label *l = osp_arena_alloc(e->arena, cap * (sizeof *l + 1));
    if (!l)
        return OSP_ENOMEM;
    uint8_t *cat = (uint8_t *)(l + cap);
    if (e->n) {
        memcpy(l, e->l, e->n * sizeof *l);
        memcpy(cat, e->cat, e->n);
    }
    e->l = l;
    e->cat = cat;
    e->cap = cap;
    return 0;
}

int osp__lq_entry_init(osp__lq_entry *e, osp_arena *arena, const osp_label *stream, size_t nstream,
                       const osp_label *meta, size_t nmeta, osp_str line, uint64_t t_ns)
{
    memset(e, 0, sizeof *e);
    e->arena = arena;
    e->stream = stream;
    e->nstream = nstream;
    e->line = line;
    e->t_ns = t_ns;
    if (make_room(e, nstream + nmeta + 16))
        return OSP_ENOMEM;
    memcpy(e->l, stream, nstream * sizeof *stream);
    memset(e->cat, OSP__LQ_CAT_STREAM, nstream);
    e->n = nstream;
    for (size_t i = 0; i < nmeta; i++) /* the first of a name wins, stream labels first */
        if (!osp__lq_base_has(e, meta[i].name)) {
            e->cat[e->n] = OSP__LQ_CAT_META;
            e->l[e->n++] = meta[i];
        }
    return 0;
}

static long find(const osp__lq_entry *e, osp_str name)
{
    for (size_t i = 0; i < e->n; i++)
        if (osp_str_eq(e->l[i].name, name))
            return (long)i;
    return -1;
}

osp_str osp__lq_get(const osp__lq_entry *e, osp_str name, int *found)
{
    long i;
    *found = 1;
    if (osp_str_eqz(name, OSP__LQ_ERROR) && e->err.n)
        return e->err;
    if (osp_str_eqz(name, OSP__LQ_ERROR_DETAILS) && e->details.n)
        return e->details;
    if ((i = find(e, name)) >= 0)
        return e->l[i].value;
    *found = 0;
    return OSP_STR_LIT("");
}

int osp__lq_set(osp__lq_entry *e, osp_str name, osp_str value)
{
    long i = find(e, name);
    if (i >= 0) {
        e->l[i].value = value;
        e->cat[i] = OSP__LQ_CAT_PARSED; /* as Loki's builder: the last setter's category */
        return 0;
    }
    if (e->n == e->cap && make_room(e, 2 * e->cap))
        return OSP_ENOMEM;
    e->cat[e->n] = OSP__LQ_CAT_PARSED;
    e->l[e->n++] = (osp_label){name, value};
    return 0;
}

/* Removes label i (the last one takes its place). */
static void remove_at(osp__lq_entry *e, size_t i)
{
    e->n--;
    e->l[i] = e->l[e->n];
    e->cat[i] = e->cat[e->n];
}

void osp__lq_del(osp__lq_entry *e, osp_str name)
{
    long i;
    if (osp_str_eqz(name, OSP__LQ_ERROR))
        e->err = OSP_STR_LIT("");
    else if (osp_str_eqz(name, OSP__LQ_ERROR_DETAILS))
        e->details = OSP_STR_LIT("");
    else if ((i = find(e, name)) >= 0)
        remove_at(e, (size_t)i);
}

void osp__lq_set_error(osp__lq_entry *e, const char *err, osp_str details)
{
    e->err = osp_str_c(err);
    e->details = details;
}

int osp__lq_base_has(const osp__lq_entry *e, osp_str name)
{
    for (size_t i = 0; i < e->nstream; i++)
        if (osp_str_eq(e->stream[i].name, name))
            return 1;
    return 0;
}

/* Loki's sanitizeLabelKey(key, true): spaces trimmed, a leading digit prefixed with '_',
 * every character outside [a-zA-Z0-9_] (a whole UTF-8 sequence) turned into '_'. */
static osp_str sanitize(osp_arena *a, osp_str k)
{
    while (k.n && (unsigned char)k.p[0] <= ' ')
        k.p++, k.n--;
    while (k.n && (unsigned char)k.p[k.n - 1] <= ' ')
        k.n--;
    int clean = k.n && !(k.p[0] >= '0' && k.p[0] <= '9');
    for (size_t i = 0; clean && i < k.n; i++) {
        unsigned char c = (unsigned char)k.p[i];
        clean = osp__is_alpha(c) || osp__is_digit(c);
    }
    if (clean || k.n == 0)
        return k;
    char *o = osp_arena_alloc(a, k.n + 2);
    size_t n = 0;
    if (!o)
        return OSP_STR_NULL;
    if (k.p[0] >= '0' && k.p[0] <= '9')
        o[n++] = '_';
    for (size_t i = 0; i < k.n; i++) {
        unsigned char c = (unsigned char)k.p[i];
        if (osp__is_alpha(c) || osp__is_digit(c)) {
            o[n++] = (char)c;
            continue;
        }
        o[n++] = '_';
        if (c >= 0xc0) /* skip the continuation bytes of one character */
            while (i + 1 < k.n && ((unsigned char)k.p[i + 1] & 0xc0) == 0x80)
                i++;
    }
    return osp_str_make(o, n);
}

int osp__lq_may_want(const osp__lq_entry *e, char first)
{
    if (!e->wanted || !osp__is_alpha(first)) /* sanitizing makes another start */
        return 1;
    for (size_t i = 0; i < e->nwanted; i++)
        if (e->wanted[i].n && e->wanted[i].p[0] == first)
            return 1;
    return 0;
}

int osp__lq_set_extracted(osp__lq_entry *e, osp_str name, osp_str value, osp_str *as)
{
    osp_str k = sanitize(e->arena, name);
    if (as)
        *as = OSP_STR_NULL;
    if (!k.p && name.n)
        return OSP_ENOMEM;
    return k.n ? osp__lq_set_parsed(e, k, value, as) : 0;
}

/* 1 when e wants the label a parser extracts under name k: always without e->wanted, else
 * when it lists k, or k + "_extracted" when the stream labels hold k (extracted). */
static int wants(const osp__lq_entry *e, osp_str k, int extracted)
{
    for (size_t i = 0; e->wanted && i < e->nwanted; i++) {
        osp_str w = e->wanted[i];
        if (extracted ? w.n == k.n + 10 && memcmp(w.p, k.p, k.n) == 0 &&
                            memcmp(w.p + k.n, "_extracted", 10) == 0
                      : osp_str_eq(w, k))
            return 1;
    }
    return !e->wanted;
}

int osp__lq_set_parsed(osp__lq_entry *e, osp_str k, osp_str value, osp_str *as)
{
    int extracted = osp__lq_base_has(e, k);
    if (as)
        *as = OSP_STR_NULL;
    if (!wants(e, k, extracted))
        return 0;
    if (extracted) {
        char *o = osp_arena_alloc(e->arena, k.n + 10);
        if (!o)
            return OSP_ENOMEM;
        memcpy(o, k.p, k.n);
        memcpy(o + k.n, "_extracted", 10);
        k = osp_str_make(o, k.n + 10);
    }
    if (as)
        *as = k;
    return osp__lq_set(e, k, value);
}

static int cmp_label(const void *a, const void *b)
{
    const osp_label *x = a, *y = b;
    return osp_str_cmp(x->name, y->name);
}

/* Puts e's final labels (non-empty values, then __error__ and __error_details__ as parsed
 * labels) into l[c] for their category c, or all into l[0] unless split; sorts each. */
static void collect(const osp__lq_entry *e, int split, osp_label *l[OSP__LQ_NCATS],
                    size_t n[OSP__LQ_NCATS])
{
    int parsed = split ? OSP__LQ_CAT_PARSED : 0;
    memset(n, 0, OSP__LQ_NCATS * sizeof *n);
    for (size_t i = 0; i < e->n; i++) {
        int c = split ? e->cat[i] : 0;
        if (e->l[i].value.n && !osp_str_eqz(e->l[i].name, OSP__LQ_ERROR) &&
            !osp_str_eqz(e->l[i].name, OSP__LQ_ERROR_DETAILS))
            l[c][n[c]++] = e->l[i];
    }
    if (e->err.n) {
        l[parsed][n[parsed]++] = (osp_label){OSP_STR_LIT(OSP__LQ_ERROR), e->err};
        if (e->details.n)
            l[parsed][n[parsed]++] = (osp_label){OSP_STR_LIT(OSP__LQ_ERROR_DETAILS), e->details};
    }
    for (int c = 0; c < OSP__LQ_NCATS; c++)
        if (n[c] > 1)
            qsort(l[c], n[c], sizeof *l[c], cmp_label);
}

int osp__lq_labels_by_cat(const osp__lq_entry *e, osp_arena *arena, osp_label *l[OSP__LQ_NCATS],
                          size_t n[OSP__LQ_NCATS])
{
    for (int c = 0; c < OSP__LQ_NCATS; c++)
        if (!(l[c] = osp_arena_alloc(arena, (e->n + 2) * sizeof *l[c])))
            return OSP_ENOMEM;
    collect(e, 1, l, n);
    return 0;
}

osp_label *osp__lq_labels(const osp__lq_entry *e, osp_arena *arena, size_t *n)
{
    osp_label *l[OSP__LQ_NCATS] = {osp_arena_alloc(arena, (e->n + 2) * sizeof *l[0])};
    size_t counts[OSP__LQ_NCATS];
    if (!l[0]) {
        *n = 1;
        return NULL;
    }
    collect(e, 0, l, counts);
    *n = counts[0];
    return l[0];
}

/* ---- compiled stages ---- */

/* A label matcher with its regex compiled. */
typedef struct lq_matcher {
    const osp_label_matcher *m;
    osp_re2 *re; /* RE and NRE */
} lq_matcher;

/* A compiled label filter. */
typedef struct lq_filter {
    const osp_logql_filter *f;
    struct lq_filter *lhs, *rhs;
    lq_matcher m; /* STRING */
} lq_filter;

/* Where a named group of a regexp stage lands. */
typedef struct lq_group {
    size_t sub; /* RE2 group number */
    osp_str name;
} lq_group;

struct osp__lq_stage {
    const osp_logql_stage *ast; /* NULL for a filter compiled alone */
    osp_re2 **re;               /* line filter: one per value; regexp: one */
    osp_logql_literal *lits;    /* |~ and !~: per value, its text (alts NULL: a regex) */
    lq_group *groups;           /* regexp: its named groups */
    size_t ngroups;
    osp__lq_tmpl *tmpl;     /* line_format */
    osp__lq_tmpl **tmpls;   /* label_format: per entry, NULL for a rename */
    osp__lq_pattern *pat;   /* pattern */
    osp__lq_pattern **pats; /* pattern line filter: one per value */
    lq_filter *filter;      /* label filter */
    lq_matcher *sel;        /* drop/keep */
};

/* What compiling needs: the arena, every regex compiled (for cleanup) and the message. */
typedef struct lq_compile {
    osp_arena *arena;
    osp__lq_pipeline *p;
    char *err;
    size_t errlen;
} lq_compile;

static int compile_fail(lq_compile *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int compile_fail(lq_compile *c, int rc, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Makes room in the pipeline's list of regexes to release for one more. */
static int regex_room(lq_compile *c)
{
    osp__lq_pipeline *p = c->p;
    if (p->nre == p->recap) {
        size_t cap = p->recap ? 2 * p->recap : 8;
        osp_re2 **a = osp_arena_alloc(c->arena, cap * sizeof *a);
        if (!a)
            return OSP_ENOMEM;
        if (p->nre)
            memcpy(a, p->re, p->nre * sizeof *a);
        p->re = a;
        p->recap = cap;
    }
    return 0;
}

static int regex(lq_compile *c, osp_str pattern, int flags, osp_re2 **out)
{
    char why[256];
    osp__lq_pipeline *p = c->p;
    if (regex_room(c))
        return OSP_ENOMEM;
    osp_re2 *re = osp_arena_alloc(c->arena, sizeof *re);
    if (!re)
        return OSP_ENOMEM;
    int rc = osp_re2_compile(re, pattern, flags, why, sizeof why);
    if (rc == OSP_ENOMEM)
        return rc;
    if (rc)
        return compile_fail(c, OSP_EEXEC, "invalid regex %.*s: %s", OSP_STR_FMT(pattern), why);
    p->re[p->nre++] = re;
    *out = re;
    return 0;
}

static int matcher(lq_compile *c, const osp_label_matcher *m, lq_matcher *out)
{
    out->m = m;
    out->re = NULL;
    if (m->type == OSP_MATCH_RE || m->type == OSP_MATCH_NRE)
        return regex(c, m->value, OSP_RE2_ANCHORED | OSP_RE2_NOSUB, &out->re);
    return 0;
}

static int matches(const lq_matcher *m, osp_str v)
{
    switch (m->m->type) {
    case OSP_MATCH_EQ:
        return osp_str_eq(v, m->m->value);
    case OSP_MATCH_NEQ:
        return !osp_str_eq(v, m->m->value);
    case OSP_MATCH_RE:
        return osp_re2_match(m->re, v, NULL, 0) == 1;
    default:
        return osp_re2_match(m->re, v, NULL, 0) == 0;
    }
}

static int filter(lq_compile *c, const osp_logql_filter *f, lq_filter **out, int depth)
{
    lq_filter *n = osp_arena_calloc(c->arena, 1, sizeof *n);
    int rc;
    if (!n)
        return OSP_ENOMEM;
    n->f = f;
    *out = n;
    if (f->kind == OSP_LOGQL_FILTER_AND || f->kind == OSP_LOGQL_FILTER_OR) {
        if (depth > OSP_LOGQL_MAX_DEPTH)
            return compile_fail(c, OSP_EEXEC, "label filter nested too deeply");
        if ((rc = filter(c, f->u.bin.lhs, &n->lhs, depth + 1)))
            return rc;
        return filter(c, f->u.bin.rhs, &n->rhs, depth + 1);
    }
    if (f->kind == OSP_LOGQL_FILTER_STRING)
        return matcher(c, &f->u.m, &n->m);
    return 0;
}

/* Named groups of an RE2 pattern by group number: "(?P<name>" and "(?<name>"; other
 * "(?" forms do not capture; escapes and character classes are skipped. */
static int named_groups(lq_compile *c, osp_str re, osp__lq_stage *st)
{
    size_t group = 0, cap = 0;
    int in_class = 0;
    for (size_t i = 0; i < re.n; i++) {
        char ch = re.p[i];
        if (ch == '\\') {
            i++;
            continue;
        }
        if (in_class) {
            in_class = ch != ']';
            continue;
        }
        if (ch == '[') {
            in_class = 1;
            if (i + 1 < re.n && re.p[i + 1] == ']')
                i++;
            continue;
        }
        if (ch != '(')
            continue;
        size_t name_at = 0;
        if (i + 1 < re.n && re.p[i + 1] == '?') {
            if (i + 2 < re.n && re.p[i + 2] == '<')
                name_at = i + 3;
            else if (i + 3 < re.n && re.p[i + 2] == 'P' && re.p[i + 3] == '<')
                name_at = i + 4;
            else
                continue;
        }
        group++;
        if (!name_at)
            continue;
        size_t end = name_at;
        while (end < re.n && re.p[end] != '>')
            end++;
        if (st->ngroups == cap) {
            cap = cap ? 2 * cap : 8;
            lq_group *g = osp_arena_alloc(c->arena, cap * sizeof *g);
            if (!g)
                return OSP_ENOMEM;
            if (st->ngroups)
                memcpy(g, st->groups, st->ngroups * sizeof *g);
            st->groups = g;
        }
        st->groups[st->ngroups++] = (lq_group){group, osp_str_make(re.p + name_at, end - name_at)};
    }
    return 0;
}

static int template(lq_compile *c, osp_str text, const char *what, osp__lq_tmpl **out)
{
    char why[256];
    int rc = osp__lq_tmpl_compile(text, c->arena, out, why, sizeof why);
    if (rc == OSP_ENOMEM)
        return rc;
    if (rc)
        return compile_fail(c, OSP_EEXEC, "invalid %s template: %s", what, why);
    size_t n;
    osp_re2 *const *res = osp__lq_tmpl_regexes(*out, &n);
    for (size_t i = 0; i < n; i++) { /* the pipeline releases them */
        if (regex_room(c)) {
            for (size_t k = i; k < n; k++)
                osp_re2_cleanup(res[k]);
            return OSP_ENOMEM;
        }
        c->p->re[c->p->nre++] = res[i];
    }
    return 0;
}

static int stage(lq_compile *c, const osp_logql_stage *a, osp__lq_stage *st)
{
    int rc = 0;
    st->ast = a;
    switch (a->kind) {
    case OSP_LOGQL_STAGE_LINE_FILTER:
        if (a->u.line.op == OSP_LOGQL_LINE_PATTERN || a->u.line.op == OSP_LOGQL_LINE_NOT_PATTERN) {
            if (!(st->pats = osp_arena_calloc(c->arena, a->u.line.n + 1, sizeof *st->pats)))
                return OSP_ENOMEM;
            for (size_t i = 0; i < a->u.line.n && rc == 0; i++)
                rc = osp__lq_pattern_compile(a->u.line.values[i], c->arena, &st->pats[i]);
            return rc;
        }
        if (a->u.line.op != OSP_LOGQL_LINE_MATCH && a->u.line.op != OSP_LOGQL_LINE_NOT_MATCH)
            return 0;
        if (!(st->re = osp_arena_calloc(c->arena, a->u.line.n + 1, sizeof *st->re)) ||
            !(st->lits = osp_arena_calloc(c->arena, a->u.line.n + 1, sizeof *st->lits)))
            return OSP_ENOMEM;
        for (size_t i = 0; i < a->u.line.n && rc == 0; i++) {
            int text = osp_logql_literal_of(a->u.line.values[i], c->arena, &st->lits[i]);
            rc = text < 0 ? text
                 : text   ? 0
                          : regex(c, a->u.line.values[i], OSP_RE2_NOSUB, &st->re[i]);
        }
        return rc;
    case OSP_LOGQL_STAGE_REGEXP:
        if (!(st->re = osp_arena_calloc(c->arena, 1, sizeof *st->re)))
            return OSP_ENOMEM;
        if ((rc = regex(c, a->u.text, 0, &st->re[0])))
            return rc;
        return named_groups(c, a->u.text, st);
    case OSP_LOGQL_STAGE_PATTERN:
        rc = osp__lq_pattern_compile(a->u.text, c->arena, &st->pat);
        if (rc && rc != OSP_ENOMEM)
            return compile_fail(c, OSP_EEXEC, "invalid pattern %.*s", OSP_STR_FMT(a->u.text));
        return rc;
    case OSP_LOGQL_STAGE_LABEL_FILTER:
        return filter(c, a->u.filter, &st->filter, 0);
    case OSP_LOGQL_STAGE_LINE_FORMAT:
        return template(c, a->u.text, "line", &st->tmpl);
    case OSP_LOGQL_STAGE_LABEL_FORMAT:
        if (!(st->tmpls = osp_arena_calloc(c->arena, a->u.label_fmt.n + 1, sizeof *st->tmpls)))
            return OSP_ENOMEM;
        for (size_t i = 0; i < a->u.label_fmt.n && rc == 0; i++)
            if (a->u.label_fmt.a[i].is_template)
                rc = template(c, a->u.label_fmt.a[i].value, "label", &st->tmpls[i]);
        return rc;
    case OSP_LOGQL_STAGE_DROP:
    case OSP_LOGQL_STAGE_KEEP:
        if (!(st->sel = osp_arena_calloc(c->arena, a->u.sel.n + 1, sizeof *st->sel)))
            return OSP_ENOMEM;
        for (size_t i = 0; i < a->u.sel.n && rc == 0; i++)
            if (a->u.sel.a[i].has_value)
                rc = matcher(c, &a->u.sel.a[i].m, &st->sel[i]);
        return rc;
    default:
        return 0;
    }
}

/* Compiles n stages (stages) or n label filters alone (filters). */
static int compile(const osp_logql_stage *stages, osp_logql_filter *const *filters, size_t n,
                   osp_arena *arena, osp__lq_pipeline *p, char *err, size_t errlen)
{
    lq_compile c = {arena, p, err, errlen};
    int rc = 0;
    memset(p, 0, sizeof *p);
    if (!(p->st = osp_arena_calloc(arena, n + 1, sizeof *p->st)))
        return OSP_ENOMEM;
    p->n = n;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc =
            stages ? stage(&c, &stages[i], &p->st[i]) : filter(&c, filters[i], &p->st[i].filter, 0);
    return rc;
}

int osp__lq_pipeline_compile(const osp_logql_stage *stages, size_t n, osp_arena *arena,
                             osp__lq_pipeline *p, char *err, size_t errlen)
{
    return compile(stages, NULL, n, arena, p, err, errlen);
}

int osp__lq_filters_compile(osp_logql_filter *const *f, size_t n, osp_arena *arena,
                            osp__lq_pipeline *p, char *err, size_t errlen)
{
    return compile(NULL, f, n, arena, p, err, errlen);
}

void osp__lq_pipeline_cleanup(osp__lq_pipeline *p)
{
    for (size_t i = 0; i < p->nre; i++)
        osp_re2_cleanup(p->re[i]);
    p->nre = 0;
}

/* 1 when the label filter f (a tree of and/or) compares the label name. */
static int filter_reads(const osp_logql_filter *f, osp_str name)
{
    if (f->kind == OSP_LOGQL_FILTER_AND || f->kind == OSP_LOGQL_FILTER_OR)
        return filter_reads(f->u.bin.lhs, name) || filter_reads(f->u.bin.rhs, name);
    return osp_str_eq(osp_logql_filter_label(f), name);
}

int osp__lq_pipeline_reads(const osp__lq_pipeline *p, osp_str name)
{
    for (size_t i = 0; i < p->n; i++) {
        const osp__lq_stage *st = &p->st[i];
        if ((st->filter && filter_reads(st->filter->f, name)) ||
            (st->tmpl && osp__lq_tmpl_reads(st->tmpl, name)))
            return 1;
        if (!st->ast || st->ast->kind != OSP_LOGQL_STAGE_LABEL_FORMAT)
            continue;
        for (size_t k = 0; k < st->ast->u.label_fmt.n; k++) {
            const osp_logql_label_fmt *f = &st->ast->u.label_fmt.a[k];
            if (f->is_template ? osp__lq_tmpl_reads(st->tmpls[k], name)
                               : osp_str_eq(f->value, name))
                return 1;
        }
    }
    return 0;
}

int osp__lq_pipeline_template_names(const osp__lq_pipeline *p, void (*fn)(osp_str name, void *ctx),
                                    void *ctx)
{
    for (size_t i = 0; i < p->n; i++) {
        const osp__lq_stage *st = &p->st[i];
        if (st->tmpl && !osp__lq_tmpl_names(st->tmpl, fn, ctx))
            return 0;
        if (!st->ast || st->ast->kind != OSP_LOGQL_STAGE_LABEL_FORMAT)
            continue;
        for (size_t k = 0; k < st->ast->u.label_fmt.n; k++) {
            const osp_logql_label_fmt *f = &st->ast->u.label_fmt.a[k];
            if (!f->is_template)
                fn(f->value, ctx);
            else if (!osp__lq_tmpl_names(st->tmpls[k], fn, ctx))
                return 0;
        }
    }
    return 1;
}

/* ---- running stages ---- */

static int contains(osp_str line, osp_str v)
{
    return v.n == 0 || (line.n >= v.n && memmem(line.p, line.n, v.p, v.n) != NULL);
}

/* 1 when the line passes a line filter. */
static int line_passes(const osp__lq_stage *st, osp_str line)
{
    const osp_logql_stage *a = st->ast;
    int any = 0;
    for (size_t i = 0; i < a->u.line.n && !any; i++) {
        if (st->lits && st->lits[i].alts)
            any = osp_logql_literal_match(&st->lits[i], line);
        else if (st->re)
            any = osp_re2_match(st->re[i], line, NULL, 0) == 1;
        else if (st->pats)
            any = osp__lq_pattern_test(st->pats[i], line);
        else if (a->u.line.ips && a->u.line.ips[i])
            any = osp_logql_ip_find(a->u.line.ips[i], line);
        else
            any = contains(line, a->u.line.values[i]);
    }
    osp_logql_line_op op = a->u.line.op;
    return op == OSP_LOGQL_LINE_CONTAINS || op == OSP_LOGQL_LINE_MATCH ||
                   op == OSP_LOGQL_LINE_PATTERN
               ? any
               : !any;
}

static int cmp_holds(osp_logql_cmp op, int c)
{
    switch (op) {
    case OSP_LOGQL_CMP_EQ:
        return c == 0;
    case OSP_LOGQL_CMP_NE:
        return c != 0;
    case OSP_LOGQL_CMP_GT:
        return c > 0;
    case OSP_LOGQL_CMP_GE:
        return c >= 0;
    case OSP_LOGQL_CMP_LT:
        return c < 0;
    default:
        return c <= 0;
    }
}

#define CMP3(a, b) ((a) > (b) ? 1 : (a) < (b) ? -1 : 0)

/* A numeric, duration or bytes comparison, as Loki's NumericLabelFilter and friends: an
 * entry with an error passes, a missing label fails, a value that does not convert sets
 * LabelFilterErr and passes. */
static int cmp_filter(const osp_logql_filter *f, osp__lq_entry *e)
{
    char why[256];
    int found, c;
    if (e->err.n)
        return 1;
    osp_str v = osp__lq_get(e, f->u.cmp.name, &found);
    if (!found)
        return 0;
    if (f->kind == OSP_LOGQL_FILTER_NUMBER) {
        double d;
        if (osp_logql_parse_float(v, &d, why, sizeof why))
            goto bad;
        if (f->u.cmp.op == OSP_LOGQL_CMP_EQ || f->u.cmp.op == OSP_LOGQL_CMP_NE)
            return (d == f->u.cmp.number) == (f->u.cmp.op == OSP_LOGQL_CMP_EQ);
        c = CMP3(d, f->u.cmp.number);
        if (isnan(d) || isnan(f->u.cmp.number))
            return 0;
    } else if (f->kind == OSP_LOGQL_FILTER_DURATION) {
        int64_t ns;
        if (osp_logql_parse_duration(v, &ns, why, sizeof why))
            goto bad;
        c = CMP3(ns, f->u.cmp.duration_ns);
    } else {
        uint64_t b;
        if (osp_logql_parse_bytes(v, &b, why, sizeof why))
            goto bad;
        c = CMP3(b, f->u.cmp.bytes);
    }
    return cmp_holds(f->u.cmp.op, c);
bad:;
    osp_str d = osp_arena_strdup(e->arena, osp_str_c(why));
    if (!d.p)
        return OSP_ENOMEM;
    osp__lq_set_error(e, OSP__LQ_ERR_LABEL_FILTER, d);
    return 1;
}

/* 1 pass, 0 drop, < 0 error. Both sides of "and" run, as in Loki (either may set an
 * error); "or" stops at the first that holds. */
static int filter_run(const lq_filter *n, osp__lq_entry *e)
{
    int l, r, found;
    switch (n->f->kind) {
    case OSP_LOGQL_FILTER_AND:
        if ((l = filter_run(n->lhs, e)) < 0 || (r = filter_run(n->rhs, e)) < 0)
            return l < 0 ? l : r;
        return l && r;
    case OSP_LOGQL_FILTER_OR:
        if ((l = filter_run(n->lhs, e)) != 0)
            return l;
        return filter_run(n->rhs, e);
    case OSP_LOGQL_FILTER_STRING:
        if (osp_str_eqz(n->f->u.m.name, OSP__LQ_ERROR))
            return matches(&n->m, e->err);
        if (osp_str_eqz(n->f->u.m.name, OSP__LQ_ERROR_DETAILS))
            return matches(&n->m, e->details);
        return matches(&n->m, osp__lq_get(e, n->f->u.m.name, &found));
    case OSP_LOGQL_FILTER_IP: /* as Loki's IPLabelFilter: an entry with an error passes */
        if (e->err.n)
            return 1;
        osp_str v = osp__lq_get(e, n->f->u.ip.name, &found);
        return found && osp_logql_ip_find(n->f->u.ip.ip, v) != n->f->u.ip.negate;
    default:
        return cmp_filter(n->f, e);
    }
}

/* Runs a template over e's labels; *out is the text in e's arena, or a NULL slice when
 * the template failed (the entry then has TemplateFormatErr). */
static int format(const osp__lq_tmpl *t, osp__lq_entry *e, const osp_label *l, size_t n,
                  osp_str *out)
{
    char why[256];
    osp_buf b;
    osp_buf_init(&b, OSP__LQ_TMPL_MAX);
    int rc = osp__lq_tmpl_exec(t, l, n, e->line, e->t_ns, &b, &e->work, why, sizeof why);
    *out = OSP_STR_NULL;
    if (rc == 0) {
        *out = osp_arena_strdup(e->arena, osp_buf_str(&b));
        rc = out->p ? 0 : OSP_ENOMEM;
    } else if (rc != OSP_ENOMEM) {
        osp_str d = osp_arena_strdup(e->arena, osp_str_c(why));
        rc = d.p ? 0 : OSP_ENOMEM;
        osp__lq_set_error(e, OSP__LQ_ERR_TEMPLATE, d);
    }
    osp_buf_cleanup(&b);
    return rc;
}

static int regexp_run(const osp__lq_stage *st, osp__lq_entry *e)
{
    const osp_re2 *re = st->re[0];
    regmatch_t *m = osp_arena_alloc(e->arena, (re->ngroups + 1) * sizeof *m);
    int rc;
    if (!m)
        return OSP_ENOMEM;
    if ((rc = osp_re2_match(re, e->line, m, re->ngroups + 1)) != 1)
        return rc < 0 ? rc : 0;
    for (size_t i = 0; i < st->ngroups; i++) {
        const lq_group *g = &st->groups[i];
        osp_str v = OSP_STR_LIT("");
        if (g->sub <= re->ngroups && m[g->sub].rm_so >= 0)
            v = osp_str_make(e->line.p + m[g->sub].rm_so,
                             (size_t)(m[g->sub].rm_eo - m[g->sub].rm_so));
        if ((rc = osp__lq_set_extracted(e, g->name, v, NULL)))
            return rc;
    }
    return 0;
}

/* label_format: renames move a label (keeping nothing of the source), templates all see
 * the labels as they were at the first template, as Loki's LabelsFormatter does. */
static int label_format(const osp__lq_stage *st, osp__lq_entry *e)
{
    const osp_logql_stage *a = st->ast;
    osp_label *snap = NULL;
    size_t nsnap = 0;
    int rc, found;
    for (size_t i = 0; i < a->u.label_fmt.n; i++) {
        const osp_logql_label_fmt *f = &a->u.label_fmt.a[i];
        osp_str v;
        if (!f->is_template) {
            v = osp__lq_get(e, f->value, &found);
            if (!found)
                continue;
            if ((rc = osp__lq_set(e, f->dst, v)))
                return rc;
            osp__lq_del(e, f->value); /* as Loki: set, then delete (dst == src drops it) */
            continue;
        }
        if (!snap) {
            if (!(snap = osp_arena_memdup(e->arena, e->l, (e->n + 1) * sizeof *snap)))
                return OSP_ENOMEM;
            nsnap = e->n;
        }
        if ((rc = format(st->tmpls[i], e, snap, nsnap, &v)))
            return rc;
        if (v.p && (rc = osp__lq_set(e, f->dst, v)))
            return rc;
    }
    return 0;
}

static int special(osp_str name)
{
    return osp_str_eqz(name, OSP__LQ_ERROR) || osp_str_eqz(name, OSP__LQ_ERROR_DETAILS) ||
           osp_str_eqz(name, "__preserve_error__");
}

static void drop(const osp__lq_stage *st, osp__lq_entry *e)
{
    const osp_logql_stage *a = st->ast;
    int found;
    for (size_t i = 0; i < a->u.sel.n; i++) {
        const osp_logql_label_sel *s = &a->u.sel.a[i];
        if (!s->has_value || matches(&st->sel[i], osp__lq_get(e, s->m.name, &found)))
            osp__lq_del(e, s->m.name);
    }
}

static void keep(const osp__lq_stage *st, osp__lq_entry *e)
{
    const osp_logql_stage *a = st->ast;
    for (size_t j = 0; j < e->n;) {
        const osp_label *l = &e->l[j];
        int kept = special(l->name);
        for (size_t i = 0; i < a->u.sel.n && !kept; i++) {
            const osp_logql_label_sel *s = &a->u.sel.a[i];
            kept =
                osp_str_eq(s->m.name, l->name) && (!s->has_value || matches(&st->sel[i], l->value));
        }
        if (kept)
            j++;
        else
            remove_at(e, j);
    }
}

int osp__lq_pipeline_run(const osp__lq_pipeline *p, osp__lq_entry *e)
{
    int rc = 0;
    for (size_t i = 0; i < p->n && rc >= 0; i++) {
        const osp__lq_stage *st = &p->st[i];
        if (!st->ast) { /* a filter compiled alone */
            if ((rc = filter_run(st->filter, e)) <= 0)
                return rc;
            continue;
        }
        const osp_logql_stage *a = st->ast;
        switch (a->kind) {
        case OSP_LOGQL_STAGE_LINE_FILTER:
            if (!line_passes(st, e->line))
                return 0;
            break;
        case OSP_LOGQL_STAGE_JSON:
            rc = a->u.extract.n ? osp__lq_json_fields(e, a->u.extract.a, a->u.extract.n)
                                : osp__lq_json(e);
            break;
        case OSP_LOGQL_STAGE_LOGFMT:
            rc = osp__lq_logfmt(e, a->u.extract.a, a->u.extract.n, a->u.extract.flags);
            break;
        case OSP_LOGQL_STAGE_REGEXP:
            rc = regexp_run(st, e);
            break;
        case OSP_LOGQL_STAGE_PATTERN:
            rc = osp__lq_pattern_run(st->pat, e);
            break;
        case OSP_LOGQL_STAGE_UNPACK:
            rc = osp__lq_unpack(e);
            break;
        case OSP_LOGQL_STAGE_DECOLORIZE:
            rc = osp__lq_decolorize(e);
            break;
        case OSP_LOGQL_STAGE_LABEL_FILTER:
            if ((rc = filter_run(st->filter, e)) <= 0)
                return rc;
            break;
        case OSP_LOGQL_STAGE_LINE_FORMAT: {
            osp_str line;
            if ((rc = format(st->tmpl, e, e->l, e->n, &line)) == 0 && line.p)
                e->line = line;
            break;
        }
        case OSP_LOGQL_STAGE_LABEL_FORMAT:
            rc = label_format(st, e);
            break;
        case OSP_LOGQL_STAGE_DROP:
            drop(st, e);
            break;
        case OSP_LOGQL_STAGE_KEEP:
            keep(st, e);
            break;
        }
    }
    return rc < 0 ? rc : 1;
}
