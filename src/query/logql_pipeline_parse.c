/* LogQL parser stages on one entry, as Loki's pkg/logql/log/parser.go: json (every field
 * flattened, or field expressions), logfmt (go-logfmt's decoder, --strict,
 * --keep-empty), unpack, pattern and decolorize. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/logfmt.h"
#include "query/logql_eval_int.h"
#include "query/parse_util.h"

#define JSON_MAX_DEPTH 128

/* ---- a JSON reader over the line ---- */

typedef struct jr {
    const char *p;
    size_t n, i;
    int depth;
} jr;

enum { J_BAD = -100 }; /* malformed input */
enum { J_STRING, J_NUMBER, J_BOOL, J_NULL, J_OBJECT, J_ARRAY };

static void ws(jr *j)
{
    while (j->i < j->n &&
           (j->p[j->i] == ' ' || j->p[j->i] == '\t' || j->p[j->i] == '\n' || j->p[j->i] == '\r'))
        j->i++;
}

/* Bytes a string's scan stops at: control bytes, the quote and the backslash. */
static const unsigned char string_stop[256] = {[0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1};
/* Bytes a number's text takes (NUL too, as the reader always has). */
static const unsigned char number_byte[256] = {
    [0] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['e'] = 1, ['E'] = 1, ['0' ... '9'] = 1};

/* A string at j->i: *raw is its bytes between the quotes, escapes kept. */
static int jstring(jr *j, osp_str *raw)
{
    size_t st = ++j->i;
    for (;;) {
        while (j->i < j->n && !string_stop[(unsigned char)j->p[j->i]])
            j->i++;
        if (j->i >= j->n || j->p[j->i] == '"')
            break;
        if ((unsigned char)j->p[j->i] < 0x20)
            return J_BAD;
        j->i += 2; /* a backslash and the byte it escapes */
    }
    if (j->i >= j->n)
        return J_BAD;
    *raw = osp_str_make(j->p + st, j->i - st);
    j->i++;
    return 0;
}

static int jvalue(jr *j, int *type, osp_str *raw);

/* Skips the rest of an object or array after its opening byte. */
static int jcontainer(jr *j, char close)
{
    int type;
    osp_str raw;
    if (++j->depth > JSON_MAX_DEPTH)
        return J_BAD;
    ws(j);
    if (j->i < j->n && j->p[j->i] == close) {
        j->i++, j->depth--;
        return 0;
    }
    for (;;) {
        ws(j);
        if (close == '}') {
            if (j->i >= j->n || j->p[j->i] != '"' || jstring(j, &raw))
                return J_BAD;
            ws(j);
            if (j->i >= j->n || j->p[j->i++] != ':')
                return J_BAD;
        }
        if (jvalue(j, &type, &raw))
            return J_BAD;
        ws(j);
        if (j->i >= j->n)
            return J_BAD;
        char c = j->p[j->i++];
        if (c == close) {
            j->depth--;
            return 0;
        }
        if (c != ',')
            return J_BAD;
    }
}

/* Any value at j->i (after spaces): its type and raw text (a string's without quotes). */
static int jvalue(jr *j, int *type, osp_str *raw)
{
    ws(j);
    if (j->i >= j->n)
        return J_BAD;
    size_t st = j->i;
    char c = j->p[j->i];
    if (c == '"') {
        *type = J_STRING;
        return jstring(j, raw);
    }
    if (c == '{' || c == '[') {
        j->i++;
        *type = c == '{' ? J_OBJECT : J_ARRAY;
        if (jcontainer(j, c == '{' ? '}' : ']'))
            return J_BAD;
        *raw = osp_str_make(j->p + st, j->i - st);
        return 0;
    }
    static const char *const words[] = {"true", "false", "null"};
    for (size_t k = 0; k < 3; k++) {
        size_t wl = strlen(words[k]);
        if (j->n - j->i >= wl && memcmp(j->p + j->i, words[k], wl) == 0) {
            j->i += wl;
            *type = k < 2 ? J_BOOL : J_NULL;
            *raw = osp_str_make(j->p + st, wl);
            return 0;
        }
    }
    while (j->i < j->n && number_byte[(unsigned char)j->p[j->i]])
        j->i++;
    if (j->i == st)
        return J_BAD;
    *type = J_NUMBER;
    *raw = osp_str_make(j->p + st, j->i - st);
    return 0;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            v |= (unsigned)((c | 0x20) - 'a' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Loki's unescapeJSONString: the decoded string, or "" when an escape is bad or the
 * result holds U+FFFD (invalid UTF-8 included). *out may point into raw. */
static int junescape(osp_arena *a, osp_str raw, osp_str *out)
{
    if (!memchr(raw.p, '\\', raw.n)) {
        *out = osp_utf8_clean(raw.p, raw.n) ? raw : OSP_STR_LIT("");
        return 0;
    }
    char *o = osp_arena_alloc(a, raw.n + 1);
    size_t n = 0;
    if (!o)
        return OSP_ENOMEM;
    *out = OSP_STR_LIT("");
    for (size_t i = 0; i < raw.n; i++) {
        if (raw.p[i] != '\\') {
            o[n++] = raw.p[i];
            continue;
        }
        if (++i >= raw.n)
            return 0;
        const char *simple = strchr("\"\\/bfnrt", raw.p[i]);
        if (simple && raw.p[i]) {
            static const char to[] = "\"\\/\b\f\n\r\t";
            o[n++] = to[simple - "\"\\/bfnrt"];
            continue;
        }
        unsigned cp, lo;
        if (raw.p[i] != 'u' || i + 4 >= raw.n + 0 || hex4(raw.p + i + 1, &cp))
            return 0;
        i += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < raw.n && raw.p[i + 1] == '\\' &&
            raw.p[i + 2] == 'u' && hex4(raw.p + i + 3, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
        } else if (cp >= 0xd800 && cp < 0xe000) {
            return 0; /* a lone surrogate decodes to U+FFFD */
        }
        n += put_utf8(o + n, cp);
    }
    if (osp_utf8_clean(o, n))
        *out = osp_str_make(o, n);
    return 0;
}

static int json_error(osp__lq_entry *e, const char *details)
{
    osp__lq_set_error(e, OSP__LQ_ERR_JSON, osp_str_c(details));
    return 0;
}

/* ---- json: every field ---- */

typedef struct jflat {
    osp__lq_entry *e;
    char *prefix; /* the key path so far, sanitized and joined with '_' */
    size_t len, cap;
    osp__lq_json_path_fn on_path; /* NULL, or told each label's keys */
    void *ctx;
    osp_str *keys; /* with on_path: the raw keys down to the member */
    size_t nkeys;
} jflat;

/* Appends key sanitized as Loki's appendSanitized (a leading digit gets '_' only at the
 * start of the path). 0 or OSP_ENOMEM. */
static int prefix_add(jflat *f, osp_str key)
{
    while (key.n && (unsigned char)key.p[0] <= ' ')
        key.p++, key.n--;
    while (key.n && (unsigned char)key.p[key.n - 1] <= ' ')
        key.n--;
    if (f->len + key.n + 2 > f->cap) {
        size_t cap = 2 * (f->len + key.n + 2);
        char *p = osp_arena_alloc(f->e->arena, cap);
        if (!p)
            return OSP_ENOMEM;
        if (f->len)
            memcpy(p, f->prefix, f->len);
        f->prefix = p;
        f->cap = cap;
    }
    if (f->len && key.n)
        f->prefix[f->len++] = '_';
    if (f->len == 0 && key.n && key.p[0] >= '0' && key.p[0] <= '9')
        f->prefix[f->len++] = '_';
    for (size_t i = 0; i < key.n; i++) {
        unsigned char c = (unsigned char)key.p[i];
        if (osp__is_alpha(c) || osp__is_digit(c)) {
            f->prefix[f->len++] = (char)c;
            continue;
        }
        f->prefix[f->len++] = '_';
        if (c >= 0xc0)
            while (i + 1 < key.n && ((unsigned char)key.p[i + 1] & 0xc0) == 0x80)
                i++;
    }
    return 0;
}

/* 0 when the entry cannot want the label of member key under the current prefix, judged
 * by the first byte of its name (osp__lq_may_want). */
static int may_want(const jflat *f, osp_str key)
{
    while (key.n && (unsigned char)key.p[0] <= ' ')
        key.p++, key.n--;
    return osp__lq_may_want(f->e, f->len ? f->prefix[0] : key.n ? key.p[0] : 0);
}

/* With f->on_path, pushes member key (unescaped) on f->keys. 0 or OSP_ENOMEM. */
static int key_push(jflat *f, osp_str key)
{
    if (!f->on_path)
        return 0;
    osp_str *k = &f->keys[f->nkeys++];
    return junescape(f->e->arena, key, k);
}

/* Sets the label of a string, number or boolean member, named f->prefix, and tells
 * f->on_path. 0, OSP_ENOMEM or what on_path returns. */
static int flat_member(jflat *f, int type, osp_str raw)
{
    osp_str v = raw, as;
    int rc;
    if (type == J_STRING && (rc = junescape(f->e->arena, raw, &v)))
        return rc;
    osp_str name = osp_arena_strdup(f->e->arena, osp_str_make(f->prefix, f->len));
    if (!name.p)
        return OSP_ENOMEM;
    if ((rc = osp__lq_set_extracted(f->e, name, v, &as)) || !f->on_path || !as.n)
        return rc;
    return f->on_path(f->ctx, as, f->keys, f->nkeys);
}

/* Walks the members of the object at j->i (its '{' consumed), setting a label per string,
 * number and boolean and recursing into objects. J_BAD on malformed input. */
static int flatten(jr *j, jflat *f)
{
    int type, rc;
    osp_str key, raw;
    if (++j->depth > JSON_MAX_DEPTH)
        return J_BAD;
    ws(j);
    if (j->i < j->n && j->p[j->i] == '}') {
        j->i++, j->depth--;
        return 0;
    }
    for (;;) {
        ws(j);
        if (j->i >= j->n || j->p[j->i] != '"' || jstring(j, &key))
            return J_BAD;
        ws(j);
        if (j->i >= j->n || j->p[j->i++] != ':')
            return J_BAD;
        ws(j);
        size_t saved = f->len, saved_keys = f->nkeys;
        if (j->i < j->n && j->p[j->i] == '{') {
            j->i++;
            if ((rc = prefix_add(f, key)) || (rc = key_push(f, key)) || (rc = flatten(j, f)))
                return rc;
        } else {
            if (jvalue(j, &type, &raw))
                return J_BAD;
            if ((type == J_STRING || type == J_NUMBER || type == J_BOOL) && may_want(f, key) &&
                ((rc = prefix_add(f, key)) || (rc = key_push(f, key)) ||
                 (rc = flat_member(f, type, raw))))
                return rc;
        }
        f->len = saved;
        f->nkeys = saved_keys;
        ws(j);
        if (j->i >= j->n)
            return J_BAD;
        char c = j->p[j->i++];
        if (c == '}') {
            j->depth--;
            return 0;
        }
        if (c != ',')
            return J_BAD;
    }
}

int osp__lq_json_paths(osp__lq_entry *e, osp__lq_json_path_fn fn, void *ctx)
{
    jr j = {e->line.p, e->line.n, 0, 0};
    osp_str keys[JSON_MAX_DEPTH + 1]; /* left uninitialized: only pushed keys are read */
    jflat f = {.e = e, .on_path = fn, .ctx = ctx, .keys = keys};
    ws(&j);
    if (j.i >= j.n || j.p[j.i] != '{')
        return json_error(e, "Value looks like object, but can't find closing '}' symbol");
    j.i++;
    int rc = flatten(&j, &f);
    if (rc == J_BAD)
        return json_error(e, "Malformed JSON error");
    return rc;
}

int osp__lq_json(osp__lq_entry *e)
{
    return osp__lq_json_paths(e, NULL, NULL);
}

/* ---- json: field expressions ---- */

/* The next step of a field expression from *i: a key (*key) or an index (*idx, *key.p
 * NULL). 1 while there is one, 0 at the end, -1 when malformed. */
static int path_step(osp_str x, size_t *i, osp_str *key, long *idx)
{
    size_t k = *i;
    *key = OSP_STR_NULL;
    if (k >= x.n)
        return 0;
    if (x.p[k] == '.' && k > 0)
        k++;
    if (k < x.n && x.p[k] == '[') {
        k++;
        if (k < x.n && x.p[k] == '"') {
            size_t st = ++k;
            while (k < x.n && x.p[k] != '"')
                k++;
            if (k + 1 >= x.n || x.p[k + 1] != ']')
                return -1;
            *key = osp_str_make(x.p + st, k - st);
            *i = k + 2;
            return 1;
        }
        long v = 0;
        size_t st = k;
        while (k < x.n && x.p[k] >= '0' && x.p[k] <= '9' && v < 100000000)
            v = v * 10 + (x.p[k++] - '0');
        if (k == st || k >= x.n || x.p[k] != ']')
            return -1;
        *idx = v;
        *i = k + 1;
        return 1;
    }
    size_t st = k;
    while (k < x.n && x.p[k] != '.' && x.p[k] != '[')
        k++;
    if (k == st)
        return -1;
    *key = osp_str_make(x.p + st, k - st);
    *i = k;
    return 1;
}

/* The value expression x names in the JSON document at j (from its start): 1 with *type
 * and *raw, 0 when absent, J_BAD when the document is malformed on the way. */
static int json_find(jr *j, osp_str x, int *type, osp_str *raw)
{
    size_t xi = 0;
    osp_str key;
    long idx = 0;
    int r;
    while ((r = path_step(x, &xi, &key, &idx)) == 1) {
        ws(j);
        if (j->i >= j->n)
            return J_BAD;
        char open = j->p[j->i];
        if (open != (key.p ? '{' : '['))
            return jvalue(j, type, raw) ? J_BAD : 0;
        j->i++;
        ws(j);
        if (j->i < j->n && j->p[j->i] == (key.p ? '}' : ']'))
            return 0;
        for (long k = 0;; k++) {
            int hit;
            if (key.p) {
                osp_str mk;
                ws(j);
                if (j->i >= j->n || j->p[j->i] != '"' || jstring(j, &mk))
                    return J_BAD;
                ws(j);
                if (j->i >= j->n || j->p[j->i++] != ':')
                    return J_BAD;
                hit = osp_str_eq(mk, key);
            } else {
                hit = k == idx;
            }
            if (hit)
                break;
            if (jvalue(j, type, raw))
                return J_BAD;
            ws(j);
            if (j->i >= j->n)
                return J_BAD;
            char c = j->p[j->i++];
            if (c == (key.p ? '}' : ']'))
                return 0;
            if (c != ',')
                return J_BAD;
        }
    }
    if (r < 0)
        return 0;
    return jvalue(j, type, raw) ? J_BAD : 1;
}

int osp__lq_json_fields(osp__lq_entry *e, const osp_logql_extract *x, size_t n)
{
    int rc;
    if (e->line.n == 0)
        return 0;
    if (e->line.p[0] != '"' && e->line.p[0] != '{' && e->line.p[0] != '[')
        return json_error(e, "");
    for (size_t i = 0; i < n; i++) {
        jr j = {e->line.p, e->line.n, 0, 0};
        int type;
        osp_str raw, v = OSP_STR_LIT("");
        int r = json_find(&j, x[i].expr, &type, &raw);
        if (r == J_BAD)
            return json_error(e, "");
        if (r == 1 && type == J_STRING && (rc = junescape(e->arena, raw, &v)))
            return rc;
        if (r == 1 && type != J_STRING && type != J_NULL)
            v = raw;
        if ((rc = osp__lq_set_parsed(e, x[i].label, v, NULL)))
            return rc;
    }
    return 0;
}

/* ---- unpack ---- */

int osp__lq_unpack(osp__lq_entry *e)
{
    jr j = {e->line.p, e->line.n, 0, 0};
    osp_str key, raw, v, entry = OSP_STR_NULL;
    osp_label *found = NULL;
    size_t nfound = 0;
    int type, rc, packed = 0;
    if (e->line.n == 0)
        return 0;
    if (e->line.p[0] != '{')
        goto bad;
    j.i = 1;
    ws(&j);
    if (j.i < j.n && j.p[j.i] == '}')
        return 0;
    if (!(found = osp_arena_alloc(e->arena, (e->line.n / 4 + 1) * sizeof *found)))
        return OSP_ENOMEM;
    for (;;) {
        ws(&j);
        if (j.i >= j.n || j.p[j.i] != '"' || jstring(&j, &key))
            goto bad;
        ws(&j);
        if (j.i >= j.n || j.p[j.i++] != ':' || jvalue(&j, &type, &raw))
            goto bad;
        if (type == J_STRING) {
            if ((rc = junescape(e->arena, raw, &v)))
                return rc;
            if (osp_str_eqz(key, "_entry")) {
                entry = v;
                packed = 1;
            } else {
                found[nfound++] = (osp_label){key, v};
            }
        }
        ws(&j);
        if (j.i >= j.n)
            goto bad;
        char c = j.p[j.i++];
        if (c == '}')
            break;
        if (c != ',')
            goto bad;
    }
    if (!packed)
        return 0;
    for (size_t i = 0; i < nfound; i++)
        if ((rc = osp__lq_set_extracted(e, found[i].name, found[i].value, NULL)))
            return rc;
    e->line = entry;
    return 0;
bad:
    return json_error(e, "expecting json object(6), but it is not");
}

/* ---- logfmt ---- */

/* The last syntax error's message as go-logfmt words it, in a. */
static osp_str lf_why(const osp_logfmt *d, osp_arena *a)
{
    char u[] = "unexpected ' '", why[96];
    u[12] = d->err_c;
    int n = snprintf(why, sizeof why, "logfmt syntax error at pos %zu : %s", d->err_pos + 1,
                     d->err_msg ? d->err_msg : u);
    return osp_arena_strdup(a, osp_str_make(why, n < (int)sizeof why ? (size_t)n : sizeof why - 1));
}

/* The next pair of d as go-logfmt gives it: a quoted value unescaped into a (refused when
 * its escapes are bad), or OSP_ENOMEM. */
static int lf_scan(osp_logfmt *d, osp_arena *a)
{
    int r = osp_logfmt_scan(d);
    if (r != OSP_LOGFMT_PAIR || !d->escaped)
        return r;
    osp_str raw = d->value;
    if (junescape(a, raw, &d->value))
        return OSP_ENOMEM;
    return d->value.n == 0 && raw.n ? osp_logfmt_fail(d, "invalid quoted value") : r;
}

int osp__lq_logfmt(osp__lq_entry *e, const osp_logql_extract *x, size_t n, int flags)
{
    osp_logfmt d;
    osp_logfmt_init(&d, e->line);
    int r, rc;
    while ((r = lf_scan(&d, e->arena)) != OSP_LOGFMT_END) {
        if (r == OSP_ENOMEM)
            return r;
        if (r == OSP_LOGFMT_BAD) {
            if (flags & OSP_LOGQL_LOGFMT_STRICT) {
                osp_str why = lf_why(&d, e->arena);
                if (!why.p)
                    return OSP_ENOMEM;
                osp__lq_set_error(e, OSP__LQ_ERR_LOGFMT, why);
                return 0;
            }
            while (d.pos < d.line.n && (unsigned char)d.line.p[d.pos] > ' ')
                d.pos++; /* skip the bad pair and go on */
            continue;
        }
        osp_str v = d.value.p ? d.value : OSP_STR_LIT("");
        if ((v.n == 0 && !(flags & OSP_LOGQL_LOGFMT_KEEP_EMPTY)) ||
            (n == 0 && !osp__lq_may_want(e, d.key.n ? d.key.p[0] : 0)))
            continue;
        if (!osp_utf8_clean(v.p, v.n))
            v = OSP_STR_LIT("");
        if (n == 0) {
            if ((rc = osp__lq_set_extracted(e, d.key, v, NULL)))
                return rc;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (!osp_str_eq(x[i].expr, d.key))
                continue;
            if ((rc = osp__lq_set_parsed(e, x[i].label, v, NULL)))
                return rc;
        }
    }
    return 0;
}

/* ---- pattern ---- */

/* Parts alternate as the text gave them: literals and captures ("<name>", "<_>"). */
typedef struct pat_part {
    osp_str text; /* literal bytes, or the capture's name ("_" unnamed) */
    int capture;
} pat_part;

struct osp__lq_pattern {
    pat_part *a;
    size_t n;
};

static int is_ident_char(char c, int first)
{
    return osp__is_alpha(c) || (!first && osp__is_digit(c));
}

int osp__lq_pattern_compile(osp_str text, osp_arena *arena, osp__lq_pattern **out)
{
    osp__lq_pattern *p = osp_arena_calloc(arena, 1, sizeof *p);
    if (!p || !(p->a = osp_arena_calloc(arena, text.n + 1, sizeof *p->a)))
        return OSP_ENOMEM;
    size_t lit = 0;
    for (size_t i = 0; i < text.n;) {
        size_t j = i + 1;
        if (text.p[i] == '<') {
            while (j < text.n && is_ident_char(text.p[j], j == i + 1))
                j++;
            if (j > i + 1 && j < text.n && text.p[j] == '>') {
                if (i > lit)
                    p->a[p->n++] = (pat_part){osp_str_make(text.p + lit, i - lit), 0};
                p->a[p->n++] = (pat_part){osp_str_make(text.p + i + 1, j - i - 1), 1};
                i = lit = j + 1;
                continue;
            }
        }
        i++;
    }
    if (text.n > lit)
        p->a[p->n++] = (pat_part){osp_str_make(text.p + lit, text.n - lit), 0};
    *out = p;
    return 0;
}

static int pat_capture(osp__lq_entry *e, const pat_part *c, osp_str v)
{
    return osp_str_eqz(c->text, "_") ? 0 : osp__lq_set_extracted(e, c->text, v, NULL);
}

/* Loki's pattern matcher: a leading literal must start the line; each capture takes
 * the text up to the first occurrence of the next literal; a capture without its
 * literal, or the last one, takes the rest of the line. */
int osp__lq_pattern_run(const osp__lq_pattern *p, osp__lq_entry *e)
{
    osp_str in = e->line;
    size_t k = 0;
    int rc;
    if (in.n == 0 || p->n == 0)
        return 0;
    if (!p->a[0].capture) {
        osp_str ls = p->a[0].text;
        if (in.n < ls.n || memcmp(in.p, ls.p, ls.n) != 0)
            return 0;
        in.p += ls.n, in.n -= ls.n;
        k = 1;
    }
    while (k < p->n) {
        const pat_part *c = &p->a[k];
        if (k + 1 == p->n)
            return pat_capture(e, c, in);
        osp_str ls = p->a[k + 1].text;
        const char *at = ls.n <= in.n ? memmem(in.p, in.n, ls.p, ls.n) : NULL;
        if (!at)
            return pat_capture(e, c, in);
        if ((rc = pat_capture(e, c, osp_str_make(in.p, (size_t)(at - in.p)))))
            return rc;
        size_t skip = (size_t)(at - in.p) + ls.n;
        in.p += skip, in.n -= skip;
        k += 2;
    }
    return 0;
}

int osp__lq_pattern_test(const osp__lq_pattern *p, osp_str line)
{
    if (line.n == 0 || p->n == 0)
        return line.n == 0 && p->n == 0;
    size_t off = 0;
    for (size_t k = 0; k < p->n; k++) {
        osp_str lit = p->a[k].text;
        if (p->a[k].capture)
            continue;
        const char *at =
            lit.n <= line.n - off ? memmem(line.p + off, line.n - off, lit.p, lit.n) : NULL;
        if (!at || (k > 0 && at == line.p + off)) /* missing, or after an empty capture */
            return 0;
        off = (size_t)(at - line.p) + lit.n;
    }
    return p->a[p->n - 1].capture == (off != line.n);
}

size_t osp__lq_pattern_literals(const osp__lq_pattern *p, osp_str *lits, size_t max)
{
    size_t n = 0;
    for (size_t k = 0; k < p->n; k++)
        if (!p->a[k].capture && n++ < max)
            lits[n - 1] = p->a[k].text;
    return n;
}

/* ---- decolorize ---- */

static int is_alnum(char c)
{
    return osp__is_digit(c) || (osp__is_alpha(c) && c != '_');
}

/* Length of an ANSI escape sequence at s (the ansi-regex pattern Loki's decolorize
 * uses), or 0:
 * [\x1b\x9b][[\]()#;?]*(?:(?:[a-zA-Z\d]*(?:;[a-zA-Z\d]*)*)?\x07|(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PRZcf-ntqry=><~])
 */
static size_t ansi_len(const char *s, size_t n)
{
    size_t i;
    if (n && s[0] == '\x1b')
        i = 1;
    else if (n >= 2 && (unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0x9b)
        i = 2;
    else
        return 0;
    while (i < n && strchr("[]()#;?", s[i]) && s[i])
        i++;
    /* first alternative: [a-zA-Z\d;]* then BEL */
    size_t k = i;
    while (k < n && (is_alnum(s[k]) || s[k] == ';'))
        k++;
    if (k < n && s[k] == '\x07')
        return k + 1;
    /* second: (\d{1,4}(;\d{0,4})*)? then a final byte */
    k = i;
    size_t d = 0;
    while (k < n && d < 4 && osp__is_digit(s[k]))
        k++, d++;
    if (d)
        while (k < n && s[k] == ';') {
            k++;
            for (d = 0; k < n && d < 4 && osp__is_digit(s[k]); d++)
                k++;
        }
    if (k < n && s[k] &&
        (osp__is_digit(s[k]) || (s[k] >= 'A' && s[k] <= 'P') || s[k] == 'R' || s[k] == 'Z' ||
         s[k] == 'c' || (s[k] >= 'f' && s[k] <= 'n') || strchr("tqry=><~", s[k])))
        return k + 1;
    return 0;
}

int osp__lq_decolorize(osp__lq_entry *e)
{
    osp_str in = e->line;
    if (!memchr(in.p, '\x1b', in.n) && !memmem(in.p, in.n, "\xc2\x9b", 2))
        return 0;
    char *o = osp_arena_alloc(e->arena, in.n + 1);
    size_t n = 0;
    if (!o)
        return OSP_ENOMEM;
    for (size_t i = 0; i < in.n;) {
        size_t l = ansi_len(in.p + i, in.n - i);
        if (l) {
            i += l;
            continue;
        }
        o[n++] = in.p[i++];
    }
    e->line = osp_str_make(o, n);
    return 0;
}
