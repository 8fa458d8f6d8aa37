/* What the PromQL and LogQL parsers and printers share: token cursor, errors, matchers. */
#include "query/parse_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/re2.h"
#include "query/promql_parse.h"
#include "store/tsdb/index.h"

int osp__parse_start(osp__parser *p, int (*lex)(osp__parser *p), const char *empty_msg)
{
    if (p->err && p->errlen)
        p->err[0] = 0;
    if (lex(p))
        return p->rc;
    if (p->toks[0].kind == OSP__TK_EOF)
        return osp__parse_fail(p, 0, "%s", empty_msg);
    return 0;
}

int osp__parse_fail(osp__parser *p, size_t pos, const char *fmt, ...)
{
    if (p->rc)
        return p->rc;
    p->rc = OSP_EPARSE;
    if (!p->err || !p->errlen)
        return p->rc;
    va_list ap;
    va_start(ap, fmt);
    if (!p->line_col) {
        osp_vmsg_at_offset(p->err, p->errlen, pos, fmt, ap);
    } else {
        size_t line = 1, col = 1;
        for (size_t i = 0; i < pos && i < p->in.n; i++) {
            if (p->in.p[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        int n = snprintf(p->err, p->errlen, "%zu:%zu: ", line, col);
        if (n >= 0 && (size_t)n < p->errlen)
            vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    }
    va_end(ap);
    return p->rc;
}

int osp__parse_nomem(osp__parser *p)
{
    if (!p->rc) {
        p->rc = OSP_ENOMEM;
        if (p->err && p->errlen)
            snprintf(p->err, p->errlen, "out of memory");
    }
    return p->rc;
}

void *osp__parse_calloc(osp__parser *p, size_t size)
{
    void *v = osp_arena_calloc(p->arena, 1, size);
    if (!v)
        osp__parse_nomem(p);
    return v;
}

void *osp__parse_grow(osp__parser *p, void *a, size_t n, size_t *cap, size_t sz)
{
    if (n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        char *na = osp_arena_alloc(p->arena, ncap * sz);
        if (!na) {
            osp__parse_nomem(p);
            return NULL;
        }
        if (n)
            memcpy(na, a, n * sz);
        a = na;
        *cap = ncap;
    }
    memset((char *)a + n * sz, 0, sz);
    return a;
}

size_t osp__lex_space(osp_str in, size_t i)
{
    while (i < in.n) {
        char c = in.p[i];
        if (c == '#') {
            while (i < in.n && in.p[i] != '\n')
                i++;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            i++;
        } else {
            break;
        }
    }
    return i;
}

size_t osp__lex_decimal(osp_str in, size_t i, int *integer)
{
    const char *s = in.p;
    size_t n = in.n;
    int whole = 1;
    while (i < n && osp__is_digit((unsigned char)s[i]))
        i++;
    if (i < n && s[i] == '.') {
        whole = 0;
        i++;
        while (i < n && osp__is_digit((unsigned char)s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < n && osp__is_digit((unsigned char)s[j])) {
            whole = 0;
            i = j;
            while (i < n && osp__is_digit((unsigned char)s[i]))
                i++;
        }
    }
    if (integer)
        *integer = whole;
    return i;
}

int osp__lex_string(osp__parser *p, size_t *ip, int kind)
{
    const char *s = p->in.p;
    size_t n = p->in.n, st = *ip, i = st + 1;
    char q = s[st];
    for (;;) {
        if (i >= n || (q != '`' && s[i] == '\n'))
            return osp__parse_fail(p, st, "unterminated %s string", q == '`' ? "raw" : "quoted");
        if (s[i] == q)
            break;
        if (s[i] == '\\' && q != '`' && i + 1 < n)
            i++;
        i++;
    }
    *ip = i + 1;
    return osp__tok_push(p, kind, st, i + 1);
}

int osp__tok_push(osp__parser *p, int kind, size_t start, size_t end)
{
    if (p->ntoks == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 32;
        osp__tok *nt = osp_arena_alloc(p->arena, ncap * sizeof *nt);
        if (!nt)
            return osp__parse_nomem(p);
        if (p->ntoks)
            memcpy(nt, p->toks, p->ntoks * sizeof *nt);
        p->toks = nt;
        p->cap = ncap;
    }
    p->toks[p->ntoks++] =
        (osp__tok){.kind = kind, .pos = start, .text = osp_str_make(p->in.p + start, end - start)};
    return 0;
}

osp__tok *osp__tok_peek(osp__parser *p)
{
    return &p->toks[p->i];
}

osp__tok *osp__tok_peek2(osp__parser *p)
{
    return p->i + 1 < p->ntoks ? &p->toks[p->i + 1] : &p->toks[p->ntoks - 1];
}

osp__tok *osp__tok_next(osp__parser *p)
{
    osp__tok *t = &p->toks[p->i];
    if (t->kind != OSP__TK_EOF)
        p->i++;
    return t;
}

int osp__tok_is_kw(const osp__tok *t, const char *kw, int fold_case)
{
    if (t->kind != OSP__TK_IDENT)
        return 0;
    return fold_case ? osp_str_ieq(t->text, osp_str_c(kw)) : osp_str_eqz(t->text, kw);
}

int osp__tok_expect(osp__parser *p, int kind, const char *what)
{
    osp__tok *t = osp__tok_peek(p);
    if (t->kind != kind)
        return p->unexpected(p, t, what);
    osp__tok_next(p);
    return 0;
}

int osp__parse_unquote(osp__parser *p, const osp__tok *t, osp_str *out)
{
    char why[96];
    size_t bad = 0;
    int rc = osp_promql_unquote(t->text, p->arena, out, &bad, why, sizeof why);
    if (rc == OSP_ENOMEM)
        return osp__parse_nomem(p);
    if (rc)
        return osp__parse_fail(p, t->pos + bad, "%s", why);
    return 0;
}

int osp__parse_number(osp__parser *p, const osp__tok *t, size_t maxlen, double *out)
{
    char buf[512];
    if (t->text.n >= maxlen || t->text.n >= sizeof buf)
        return osp__parse_fail(p, t->pos, "number too long");
    memcpy(buf, t->text.p, t->text.n);
    buf[t->text.n] = 0;
    char *end;
    *out = strtod(buf, &end);
    if (*end)
        return osp__parse_fail(p, t->pos, "bad number syntax: \"%s\"", buf);
    return 0;
}

int osp__parse_regex(osp__parser *p, size_t pos, osp_str re, int flags, const char *what,
                     int *empty)
{
    char why[160];
    osp_re2 rx;
    int rc = osp_re2_compile(&rx, re, flags | OSP_RE2_NOSUB, why, sizeof why);
    if (rc == OSP_ENOMEM)
        return osp__parse_nomem(p);
    if (rc)
        return osp__parse_fail(p, pos, "%s: %s", what, why);
    if (empty)
        rc = osp_re2_match(&rx, OSP_STR_NULL, NULL, 0);
    osp_re2_cleanup(&rx);
    if (rc < 0)
        return osp__parse_nomem(p);
    if (empty)
        *empty = rc;
    return 0;
}

int osp__parse_matcher(osp__parser *p, size_t pos, int op, osp_str value, const char *what,
                       int *empty)
{
    switch (op) {
    case OSP_MATCH_EQ:
        *empty = value.n == 0;
        return 0;
    case OSP_MATCH_NEQ:
        *empty = value.n != 0;
        return 0;
    default:
        if (osp__parse_regex(p, pos, value, OSP_RE2_ANCHORED, what, empty))
            return p->rc;
        if (op == OSP_MATCH_NRE)
            *empty = !*empty;
        return 0;
    }
}

int osp__put_matcher(osp_buf *b, osp_str name, int op, osp_str value)
{
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    int rc = osp_buf_append_str(b, name);
    if (!rc)
        rc = osp_buf_puts(b, ops[op]);
    return rc ? rc : osp_promql_quote(b, value);
}

int osp__put_names(osp_buf *b, const osp_str *a, size_t n)
{
    int rc = osp_buf_putc(b, '(');
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = osp_buf_puts(b, ", ");
        if (!rc)
            rc = osp_buf_append_str(b, a[i]);
    }
    return rc ? rc : osp_buf_putc(b, ')');
}
