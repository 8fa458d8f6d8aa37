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

#define MAX_DEPTH 64 /* nesting of if, with, range and parentheses */
#define MAX_ARGS 16
#define MAX_VARS 64  /* variables a template declares */
#define MAX_CHAIN 16 /* fields in a chain: .a.b.c */
/* The work an execution may do, in steps: a range iteration, a function call, 64 bytes of
 * the strings a call takes or returns, a regex search. {{range 1e12}} ends, and so does a
 * loop that copies a long line each time, in bounded time and memory. */
#define MAX_WORK (1u << 20)

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

int osp__lqt_spend(xctx *x, size_t steps)
{
    if (steps <= MAX_WORK - x->work) {
        x->work += steps;
        return 0;
    }
    x->work = MAX_WORK;
    return osp__lqt_fail(x, "the template does too much work (more than %u steps)", MAX_WORK);
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

const char *osp__lqt_type_name(int t)
{
    static const char *const names[] = {"string",
                                        "int",
                                        "float64",
                                        "bool",
                                        "time.Time",
                                        "<nil>",
                                        "map[string]interface {}",
                                        "[]interface {}",
                                        "map[string]string"};
    return names[t];
}

osp_str osp__lqt_label(const xctx *x, osp_str name)
{
    osp_str v = OSP_STR_LIT(""); /* missingkey=zero */
    for (size_t i = 0; i < x->n; i++)
        if (osp_str_eq(x->l[i].name, name))
            v = x->l[i].value;
    return v;
}

static int label_order(const void *a, const void *b)
{
    return osp_str_cmp(((const osp_label *)a)->name, ((const osp_label *)b)->name);
}

/* Appends a map's "k:v" pairs, as fmt prints a map: map[a:1 b:2]. */
static int put_map(const xctx *x, osp_buf *b, const vcoll *c)
{
    int rc = osp_buf_puts(b, "map[");
    for (size_t i = 0; i < c->n && rc == 0; i++) {
        if (i)
            rc = osp_buf_putc(b, ' ');
        if (!rc)
            rc = osp_buf_append_str(b, c->keys[i]);
        if (!rc)
            rc = osp_buf_putc(b, ':');
        if (!rc)
            rc = osp__lqt_put_val(x, b, &c->items[i]);
    }
    return rc ? rc : osp_buf_putc(b, ']');
}

/* Appends the labels as fmt prints a map[string]string, sorted by name. */
static int put_labels(osp_buf *b, const osp_label *l, size_t n)
{
    osp_label *sorted = n ? malloc(n * sizeof *sorted) : NULL;
    if (n && !sorted)
        return OSP_ENOMEM;
    if (n) {
        memcpy(sorted, l, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, label_order);
    }
    int rc = osp_buf_puts(b, "map[");
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i + 1 < n && osp_str_eq(sorted[i].name, sorted[i + 1].name))
            continue; /* a name set twice: the later value is the label's */
        rc = osp_buf_printf(b, "%s%.*s:%.*s", i ? " " : "", OSP_STR_FMT(sorted[i].name),
                            OSP_STR_FMT(sorted[i].value));
    }
    free(sorted);
    return rc ? rc : osp_buf_putc(b, ']');
}

/* Appends v as fmt's %v prints it. */
int osp__lqt_put_val(const xctx *x, osp_buf *b, const val *v)
{
    char g[OSP_FLOAT_G_MAX];
    int rc = 0;
    switch (v->t) {
    case V_STR:
        return osp_buf_append_str(b, v->s);
    case V_INT:
        return osp_buf_printf(b, "%" PRId64, v->i);
    case V_FLOAT:
        return osp_buf_append(b, g, osp_format_float_g(v->f, g));
    case V_BOOL:
        return osp_buf_puts(b, v->i ? "true" : "false");
    case V_TIME:
        return put_time(b, &v->tm);
    case V_NIL:
        return osp_buf_puts(b, "<nil>");
    case V_MAP:
        return put_map(x, b, v->c);
    case V_LIST:
        rc = osp_buf_putc(b, '[');
        for (size_t i = 0; i < v->c->n && rc == 0; i++)
            if (!(rc = i ? osp_buf_putc(b, ' ') : 0))
                rc = osp__lqt_put_val(x, b, &v->c->items[i]);
        return rc ? rc : osp_buf_putc(b, ']');
    default:
        return put_labels(b, x->l, x->n);
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
    int rc = osp__lqt_put_val(x, &b, v);
    *out = rc ? OSP_STR_NULL : osp_arena_strdup(x->arena, osp_buf_str(&b));
    osp_buf_cleanup(&b);
    return rc ? rc : out->p ? 0 : OSP_ENOMEM;
}

int osp__lqt_truth(const val *v)
{
    switch (v->t) {
    case V_STR:
        return v->s.n > 0;
    case V_FLOAT:
        return v->f != 0;
    case V_TIME:
        return 1; /* a struct */
    case V_NIL:
        return 0;
    case V_MAP:
    case V_LIST:
        return v->c->n > 0;
    case V_LABELS:
        return 1; /* Loki's label map always holds the stream's labels */
    default:
        return v->i != 0;
    }
}

/* ---- the parsed template ---- */

typedef struct pipe pipe;

/* An argument: .a.b (fields of dot), . itself, $x.a (a variable and fields), a literal, a
 * function, or a parenthesized pipeline (then fields, as (pipe).a). */
enum { A_FIELD, A_LIT, A_FN, A_PIPE, A_DOT, A_VAR };

typedef struct arg {
    int kind;
    const osp_str *chain; /* A_FIELD, A_VAR, A_PIPE: the field names that follow */
    size_t nchain;
    int var;          /* A_VAR: the variable's slot */
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
    int nvars;   /* variables it declares or assigns: $x := ..., or range's $i, $e := ... */
    int vars[2]; /* their slots */
};

enum { N_TEXT, N_ACTION, N_IF, N_WITH, N_RANGE, N_BREAK, N_CONTINUE };

typedef struct node node;
struct node {
    int kind;
    osp_str text;     /* N_TEXT */
    pipe *p;          /* N_ACTION; N_IF, N_WITH: the condition; N_RANGE: what it ranges over */
    node *then, *els; /* the lists to run when it holds (for each element), and when not */
    node *elif;       /* N_IF, N_WITH: the "else if" / "else with" tried when it does not hold */
    node *next;
};

struct osp__lq_tmpl {
    node *root;
    int nvars;     /* variable slots; slot 0 is $, the labels */
    osp_re2 **res; /* the regexes its commands compiled (cmd.re) */
    size_t nres;
};

static const fn_def *fn_find(osp_str name)
{
    for (size_t i = 0; i < osp__lqt_ngo_fns; i++)
        if (osp_str_eqz(name, osp__lqt_go_fns[i].name))
            return &osp__lqt_go_fns[i];
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
    osp__lq_tmpl *t; /* the template being parsed: its regexes, its variable slots */
    size_t res_cap;
    struct {
        osp_str name; /* "$x" */
        int slot;
    } vars[MAX_VARS]; /* the variables in scope, innermost last */
    int nvars;
    int ranges; /* the {{range}} bodies being parsed, around the read position */
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

static int parse_pipe(tp *p, pipe **out, char close, int max_vars);

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

/* Field names at the read position (.a.b: each '.' and a name) into a->chain. */
static int parse_chain(tp *p, arg *a)
{
    osp_str names[MAX_CHAIN];
    size_t n = 0;
    while (p->ai < p->action.n && p->action.p[p->ai] == '.') {
        p->ai++;
        osp_str w = peek_word(p);
        if (w.n == 0 || osp__is_digit(w.p[0]))
            return pfail(p, "bad field name after \".\"");
        if (n == MAX_CHAIN)
            return pfail(p, "more than %d fields in a chain", MAX_CHAIN);
        names[n++] = w;
        p->ai += w.n;
    }
    osp_str *chain = n ? osp_arena_alloc(p->arena, n * sizeof *chain) : NULL;
    if (n && !chain)
        return OSP_ENOMEM;
    if (n)
        memcpy(chain, names, n * sizeof *chain);
    a->chain = chain;
    a->nchain = n;
    return 0;
}

/* A variable's name at the read position ("$" and a word, maybe empty), consumed. */
static osp_str var_name(tp *p)
{
    size_t st = p->ai++;
    p->ai += peek_word(p).n;
    return osp_str_make(p->action.p + st, p->ai - st);
}

/* The slot of the innermost variable in scope named name, or -1. */
static int var_slot(const tp *p, osp_str name)
{
    for (int i = p->nvars - 1; i >= 0; i--)
        if (osp_str_eq(p->vars[i].name, name))
            return p->vars[i].slot;
    return -1;
}

/* Brings a new variable named name into scope; its slot in *slot. */
static int declare(tp *p, osp_str name, int *slot)
{
    if (p->nvars == MAX_VARS || p->t->nvars == MAX_VARS)
        return pfail(p, "more than %d variables", MAX_VARS);
    *slot = p->t->nvars++;
    p->vars[p->nvars].name = name;
    p->vars[p->nvars++].slot = *slot;
    return 0;
}

static int parse_number(tp *p, arg *a)
{
    const char *s = p->action.p;
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

static int parse_arg(tp *p, arg *a)
{
    const char *s = p->action.p;
    char c = s[p->ai];
    int digit_next = p->ai + 1 < p->action.n && osp__is_digit(s[p->ai + 1]);
    int rc;
    memset(a, 0, sizeof *a);
    if (c == '.' && !digit_next) {
        a->kind = p->ai + 1 < p->action.n && ident_char(s[p->ai + 1]) ? A_FIELD : A_DOT;
        if (a->kind == A_DOT)
            p->ai++;
        return a->kind == A_FIELD ? parse_chain(p, a) : 0;
    }
    if (c == '$') {
        osp_str name = var_name(p);
        if ((a->var = var_slot(p, name)) < 0)
            return pfail(p, "undefined variable \"%.*s\"", OSP_STR_FMT(name));
        a->kind = A_VAR;
        return parse_chain(p, a);
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
        if ((rc = parse_pipe(p, &a->sub, ')', 0)))
            return rc;
        p->depth--;
        p->ai++;
        return parse_chain(p, a);
    }
    if (osp__is_digit(c) || c == '-' || c == '+' || c == '.')
        return parse_number(p, a);
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

/* A pipeline's declaration at the read position, if it has one: "$x :=" or "$x =" (and
 * "$i, $e :=" when max_vars is 2, for range), into pp. Without one, nothing is consumed. */
static int parse_decl(tp *p, pipe *pp, int max_vars)
{
    size_t start = p->ai;
    osp_str names[2];
    int n = 0;
    const char *s = p->action.p;
    while (p->ai < p->action.n && s[p->ai] == '$' && n < 2) {
        names[n++] = var_name(p);
        aws(p);
        if (p->ai < p->action.n && s[p->ai] == ',' && n == 1) {
            p->ai++;
            aws(p);
            continue;
        }
        break;
    }
    int assign = p->ai + 1 < p->action.n && s[p->ai] == '=' && s[p->ai + 1] != '=';
    int define = p->ai + 1 < p->action.n && s[p->ai] == ':' && s[p->ai + 1] == '=';
    if (n == 0 || (!assign && !define)) {
        p->ai = start; /* a variable used, not declared */
        return 0;
    }
    if (n > max_vars)
        return pfail(p, "too many declarations in %s", max_vars == 2 ? "range" : "command");
    p->ai += define ? 2 : 1;
    for (int i = 0; i < n; i++) {
        int rc;
        if (define && (rc = declare(p, names[i], &pp->vars[i])))
            return rc;
        if (!define && (pp->vars[i] = var_slot(p, names[i])) < 0)
            return pfail(p, "undefined variable \"%.*s\"", OSP_STR_FMT(names[i]));
    }
    pp->nvars = n;
    return 0;
}

/* Commands separated by '|' up to close (0: the end of the action; ')' not consumed),
 * after a declaration of up to max_vars variables (0: none may be declared). */
static int parse_pipe(tp *p, pipe **out, char close, int max_vars)
{
    pipe *pp = osp_arena_calloc(p->arena, 1, sizeof *pp);
    size_t cap = 0;
    int rc;
    if (!pp)
        return OSP_ENOMEM;
    if (max_vars && (rc = parse_decl(p, pp, max_vars)))
        return rc;
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

static int parse_list(tp *p, node **out, int *how);

/* The rest of an if, with or range whose keyword kw begins the current action, through
 * its {{end}}: the pipeline (which may declare variables, in scope up to the {{end}}),
 * the lists, and the chain of {{else if}} or {{else with}}. */
static int parse_control(tp *p, node *n, osp_str kw)
{
    int kind = kw.n == 2 ? N_IF : kw.p[0] == 'w' ? N_WITH : N_RANGE;
    int scope = p->nvars, rc, h;
    if (++p->depth > MAX_DEPTH)
        return pfail(p, "nested too deeply");
    for (node *cur = n;;) {
        p->ai += kw.n;
        aws(p);
        cur->kind = kind;
        if (p->ai >= p->action.n)
            return pfail(p, "missing value for %.*s", OSP_STR_FMT(kw));
        if ((rc = parse_pipe(p, &cur->p, 0, kind == N_RANGE ? 2 : 1)))
            return rc;
        p->ranges += kind == N_RANGE;
        rc = parse_list(p, &cur->then, &h);
        p->ranges -= kind == N_RANGE;
        if (rc)
            return rc;
        if (h == END_EOF)
            return pfail(p, "unexpected EOF");
        if (h == END_END)
            break;
        if (kind != N_RANGE && osp_str_eq(peek_word(p), kw)) { /* else if, else with */
            if (!(cur->elif = osp_arena_calloc(p->arena, 1, sizeof *cur->elif)))
                return OSP_ENOMEM;
            cur = cur->elif;
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
    p->depth--;
    p->nvars = scope;
    return 0;
}

/* {{break}} or {{continue}} (the keyword kw begins the current action), inside a range. */
static int parse_loop_jump(tp *p, node *n, osp_str kw)
{
    if (!p->ranges)
        return pfail(p, "{{%.*s}} outside {{range}}", OSP_STR_FMT(kw));
    p->ai += kw.n;
    aws(p);
    if (p->ai < p->action.n)
        return pfail(p, "unexpected content in {{%.*s}}", OSP_STR_FMT(kw));
    n->kind = kw.p[0] == 'b' ? N_BREAK : N_CONTINUE;
    return 0;
}

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
        static const char *const unsupported[] = {"define", "template", "block"};
        for (size_t k = 0; k < sizeof unsupported / sizeof unsupported[0]; k++)
            if (osp_str_eqz(w, unsupported[k]))
                return pfail(p, "{{%s}} is not supported", unsupported[k]);
        node *n = osp_arena_calloc(p->arena, 1, sizeof *n);
        if (!n)
            return OSP_ENOMEM;
        tail = tail->next = n;
        if (osp_str_eqz(w, "if") || osp_str_eqz(w, "with") || osp_str_eqz(w, "range")) {
            if ((rc = parse_control(p, n, w)))
                return rc;
        } else if (osp_str_eqz(w, "break") || osp_str_eqz(w, "continue")) {
            if ((rc = parse_loop_jump(p, n, w)))
                return rc;
        } else {
            n->kind = N_ACTION;
            if (p->ai >= p->action.n)
                return pfail(p, "missing value for command");
            if ((rc = parse_pipe(p, &n->p, 0, 1)))
                return rc;
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
    tp p = {.in = text, .arena = arena, .err = err, .errlen = errlen, .nvars = 1};
    osp__lq_tmpl *t = osp_arena_calloc(arena, 1, sizeof *t);
    int how, rc;
    if (!t)
        return OSP_ENOMEM;
    p.t = t;
    p.vars[0].name = OSP_STR_LIT("$");
    t->nvars = 1;
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

static int pipe_reads(const pipe *pp, osp_str name);

/* 1 when a list's actions name field name (as Loki's listNodeFields lists them: every
 * name of a .a.b chain, in pipelines and control structures alike). */
static int list_reads(const node *n, osp_str name)
{
    for (; n; n = n->next)
        if ((n->p && pipe_reads(n->p, name)) || list_reads(n->then, name) ||
            list_reads(n->els, name) || (n->elif && list_reads(n->elif, name)))
            return 1;
    return 0;
}

static int pipe_reads(const pipe *pp, osp_str name)
{
    for (size_t i = 0; i < pp->n; i++)
        for (size_t k = 0; k < pp->c[i].n; k++) {
            const arg *a = &pp->c[i].a[k];
            for (size_t f = 0; a->kind == A_FIELD && f < a->nchain; f++)
                if (osp_str_eq(a->chain[f], name))
                    return 1;
            if (a->kind == A_PIPE && pipe_reads(a->sub, name))
                return 1;
        }
    return 0;
}

int osp__lq_tmpl_reads(const osp__lq_tmpl *t, osp_str name)
{
    return list_reads(t->root, name);
}

static int pipe_names(const pipe *pp, void (*fn)(osp_str name, void *ctx), void *ctx);

/* osp__lq_tmpl_names over a list: 0 as soon as an action reads the labels whole. */
static int list_names(const node *n, void (*fn)(osp_str name, void *ctx), void *ctx)
{
    for (; n; n = n->next)
        if ((n->p && !pipe_names(n->p, fn, ctx)) || !list_names(n->then, fn, ctx) ||
            !list_names(n->els, fn, ctx) || (n->elif && !list_names(n->elif, fn, ctx)))
            return 0;
    return 1;
}

static int pipe_names(const pipe *pp, void (*fn)(osp_str name, void *ctx), void *ctx)
{
    for (size_t i = 0; i < pp->n; i++)
        for (size_t k = 0; k < pp->c[i].n; k++) {
            const arg *a = &pp->c[i].a[k];
            if (a->kind == A_DOT || (a->kind == A_VAR && a->var == 0 && a->nchain == 0))
                return 0; /* . or $ as a value: every label, or what dot holds */
            for (size_t f = 0; (a->kind == A_FIELD || a->kind == A_VAR) && f < a->nchain; f++)
                fn(a->chain[f], ctx);
            if (a->kind == A_PIPE && !pipe_names(a->sub, fn, ctx))
                return 0;
        }
    return 1;
}

int osp__lq_tmpl_names(const osp__lq_tmpl *t, void (*fn)(osp_str name, void *ctx), void *ctx)
{
    return list_names(t->root, fn, ctx);
}

osp_re2 *const *osp__lq_tmpl_regexes(const osp__lq_tmpl *t, size_t *n)
{
    *n = t->nres;
    return t->res;
}

/* ---- execution ---- */

enum { JUMP_BREAK = 1, JUMP_CONTINUE = 2 }; /* run_list's results besides 0 and errors */

static int run_pipe(xctx *x, const pipe *pp, val *out);

/* Calls f with n arguments, checking their number as Go does when it executes. */
static int call_fn(xctx *x, const fn_def *f, val *args, size_t n, val *out)
{
    val none;
    if ((f->nargs >= 0 && n != (size_t)f->nargs) || (f->nargs < 0 && n == 0))
        return osp__lqt_fail(x, "wrong number of args for %s: want %d got %zu", f->name,
                             f->nargs < 0 ? 1 : f->nargs, n);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += args[i].t == V_STR ? args[i].s.n : 0;
    int rc = osp__lqt_spend(x, 1 + bytes / 64);
    if (rc == 0)
        rc = f->fn(x, n ? args : &none, n, out);
    return rc ? rc : osp__lqt_spend(x, out->t == V_STR ? out->s.n / 64 : 0);
}

val osp__lqt_member(const vcoll *m, osp_str name)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = osp_str_cmp(m->keys[mid], name);
        if (c == 0)
            return m->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (val){.t = V_NIL};
}

/* The field name of v, as Go's evalField reads a map with missingkey=zero: a label's value
 * or "", a JSON object's member or nil. */
static int field(xctx *x, const val *v, osp_str name, val *out)
{
    switch (v->t) {
    case V_LABELS:
        *out = vstr(osp__lqt_label(x, name));
        return 0;
    case V_MAP:
        *out = osp__lqt_member(v->c, name);
        return 0;
    case V_NIL:
        return osp__lqt_fail(x, "nil pointer evaluating interface {}.%.*s", OSP_STR_FMT(name));
    default:
        return osp__lqt_fail(x, "can't evaluate field %.*s in type %s", OSP_STR_FMT(name),
                             osp__lqt_type_name(v->t));
    }
}

/* v's fields a->chain, one after the other, into *out. */
static int follow(xctx *x, const arg *a, val v, val *out)
{
    int rc = 0;
    for (size_t i = 0; i < a->nchain && rc == 0; i++)
        rc = field(x, &v, a->chain[i], &v);
    *out = v;
    return rc;
}

static int eval_arg(xctx *x, const arg *a, val *out)
{
    int rc;
    switch (a->kind) {
    case A_FIELD:
        return follow(x, a, x->dot, out);
    case A_VAR:
        return follow(x, a, x->vars[a->var], out);
    case A_LIT:
        *out = a->lit;
        return 0;
    case A_PIPE:
        return (rc = run_pipe(x, a->sub, out)) ? rc : follow(x, a, *out, out);
    case A_DOT:
        *out = x->dot;
        return 0;
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

/* The pipeline's value; a variable it declares or assigns ($x := ...) is set to it. */
static int run_pipe(xctx *x, const pipe *pp, val *out)
{
    int rc = 0;
    for (size_t i = 0; i < pp->n && rc == 0; i++)
        rc = run_cmd(x, &pp->c[i], i ? out : NULL, out);
    if (rc == 0 && pp->nvars == 1)
        x->vars[pp->vars[0]] = *out;
    return rc;
}

static int run_list(xctx *x, const node *n, osp_buf *b);

/* One element of a range: its key or index k and value v into the range's variables
 * and dot, then the body. */
static int range_step(xctx *x, const node *n, val k, val v, osp_buf *b)
{
    const pipe *pp = n->p;
    int rc = osp__lqt_spend(x, 1);
    if (rc)
        return rc;
    if (pp->nvars == 2)
        x->vars[pp->vars[0]] = k;
    if (pp->nvars)
        x->vars[pp->vars[pp->nvars - 1]] = v;
    x->dot = v;
    return run_list(x, n->then, b);
}

/* {{range}}: the body for each element of a JSON array, each member of a JSON object or
 * the labels in key order, or each integer below an int; the else list when none. */
static int run_range(xctx *x, const node *n, osp_buf *b)
{
    val v, dot = x->dot;
    int rc = run_pipe(x, n->p, &v);
    if (rc)
        return rc;
    size_t count = v.t == V_MAP || v.t == V_LIST ? v.c->n
                   : v.t == V_INT                ? (size_t)(v.i > 0 ? v.i : 0)
                   : v.t == V_LABELS             ? x->n
                                                 : 0;
    if (v.t != V_MAP && v.t != V_LIST && v.t != V_INT && v.t != V_LABELS && v.t != V_NIL) {
        osp_str s;
        rc = osp__lqt_str(x, &v, &s);
        return rc ? rc : osp__lqt_fail(x, "range can't iterate over %.*s", OSP_STR_FMT(s));
    }
    osp_label *sorted = NULL;
    if (v.t == V_LABELS && count) {
        if (!(sorted = osp_arena_alloc(x->arena, count * sizeof *sorted)))
            return OSP_ENOMEM;
        memcpy(sorted, x->l, count * sizeof *sorted);
        qsort(sorted, count, sizeof *sorted, label_order);
    }
    for (size_t i = 0; i < count && rc == 0; i++) {
        val k = {.t = V_INT, .i = (int64_t)i}, e = k;
        if (v.t == V_MAP || v.t == V_LIST) {
            e = v.c->items[i];
            if (v.t == V_MAP)
                k = vstr(v.c->keys[i]);
        } else if (v.t == V_LABELS) {
            k = vstr(sorted[i].name);
            e = vstr(sorted[i].value);
        }
        rc = range_step(x, n, k, e, b);
        if (rc == JUMP_CONTINUE)
            rc = 0;
    }
    x->dot = dot;
    if (rc == JUMP_BREAK)
        return 0;
    return rc == 0 && count == 0 ? run_list(x, n->els, b) : rc;
}

/* {{if}} and {{with}} with their else-if / else-with chain: the first branch whose
 * pipeline holds runs (with dot set to its value for with), else the else list. */
static int run_branch(xctx *x, const node *n, osp_buf *b)
{
    for (const node *c = n;; c = c->elif) {
        val v, dot = x->dot;
        int rc = run_pipe(x, c->p, &v);
        if (rc)
            return rc;
        if (osp__lqt_truth(&v)) {
            if (c->kind == N_WITH)
                x->dot = v;
            rc = run_list(x, c->then, b);
            x->dot = dot;
            return rc;
        }
        if (!c->elif)
            return run_list(x, c->els, b);
    }
}

/* An action's value, printed: nothing when it declares a variable, "<no value>" for nil. */
static int run_action(xctx *x, const pipe *pp, osp_buf *b)
{
    val v;
    int rc = run_pipe(x, pp, &v);
    if (rc || pp->nvars)
        return rc;
    return v.t == V_NIL ? osp_buf_puts(b, "<no value>") : osp__lqt_put_val(x, b, &v);
}

static int run_list(xctx *x, const node *n, osp_buf *b)
{
    int rc = 0;
    for (; n && rc == 0; n = n->next) {
        switch (n->kind) {
        case N_TEXT:
            rc = osp_buf_append_str(b, n->text);
            break;
        case N_ACTION:
            rc = run_action(x, n->p, b);
            break;
        case N_RANGE:
            rc = run_range(x, n, b);
            break;
        case N_BREAK:
            return JUMP_BREAK;
        case N_CONTINUE:
            return JUMP_CONTINUE;
        default:
            rc = run_branch(x, n, b);
        }
    }
    return rc;
}

int osp__lq_tmpl_exec(const osp__lq_tmpl *t, const osp_label *l, size_t n, osp_str line,
                      uint64_t t_ns, osp_buf *out, size_t *work, char *err, size_t errlen)
{
    osp_arena scratch;
    val vars[MAX_VARS];
    osp_arena_init(&scratch, 4096, 0);
    xctx x = {.l = l,
              .n = n,
              .line = line,
              .t_ns = t_ns,
              .arena = &scratch,
              .err = err,
              .errlen = errlen,
              .dot = {.t = V_LABELS},
              .vars = vars};
    vars[0] = x.dot; /* $ */
    for (int i = 1; i < t->nvars; i++)
        vars[i] = (val){.t = V_NIL};
    int rc = run_list(&x, t->root, out);
    osp_arena_cleanup(&scratch);
    if (work)
        *work += x.work;
    if (rc == OSP_ETOOBIG)
        return osp__lqt_fail(&x, "the result is longer than %u bytes", OSP__LQ_TMPL_MAX);
    return rc;
}
