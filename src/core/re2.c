/* RE2 syntax on top of the guarded regcomp (core/regex): a translator to POSIX extended
 * regexes, matching in a UTF-8 locale, and Go's template expansion.
 *
 * The translation keeps the set of strings a pattern matches. Supported: alternation,
 * groups (capturing, (?:...), (?P<name>...) and (?<name>...)), flags (?imsU) and
 * (?imsU:...) with "-" negation, repetitions * + ? {n} {n,} {n,m} and their non-greedy
 * forms (matching the same strings; only submatch boundaries follow POSIX rules), . (no
 * "\n" without s), ^ and $ (text anchors, as RE2 without m), \A \z, brackets with ranges,
 * negation, [:alpha:]-style ASCII classes and their [:^alpha:] negations, \d \s \w and
 * their negations in and out of brackets, escapes \a \f \t \n \r \v, octal \123, \x7F,
 * \x{10FFFF}, escaped punctuation, and \Q...\E. Case-insensitivity is REG_ICASE when every
 * letter of the pattern is under (?i) (Unicode folding by glibc), else ASCII letters become
 * [aA] classes. Refused with a message: \b \B, \pL-style Unicode classes, ^ or $ under
 * (?m), NUL characters, and non-ASCII class ranges beyond MAX_CLASS_RUNES characters.
 *
 * Matching runs under the C.UTF-8 locale so that . and [^a] match one character; without
 * that locale on the system it is bytewise. Every POSIX parenthesis is a subexpression, so
 * groups keep a map from RE2 group numbers to POSIX subexpressions. */
#include "core/re2.h"

#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/regex.h"

#define MAX_NEST 1000                    /* group depth, as Go's parser */
#define MAX_OUT (16 * OSP_REGEX_MAX_LEN) /* translated pattern bytes */
#define MAX_CLASS_RUNES 512              /* non-ASCII characters listed in one class */

/* ---- UTF-8 ---- */

static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_loc;

static void utf8_init(void)
{
    utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* The C.UTF-8 locale, or (locale_t)0 where the system has none. */
static locale_t utf8_locale(void)
{
    pthread_once(&utf8_once, utf8_init);
    return utf8_loc;
}

/* The code point of the well-formed UTF-8 character at p[0..n) (n > 0) with its length in
 * *len, or -1 (with *len = 1) for an ill-formed byte. */
static int32_t utf8_decode(const char *p, size_t n, size_t *len)
{
    const unsigned char *s = (const unsigned char *)p;
    *len = 1;
    if (s[0] < 0x80)
        return s[0];
    size_t k;
    uint32_t c, min;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        k = 2, c = s[0] & 0x1F, min = 0x80;
    else if ((s[0] & 0xF0) == 0xE0)
        k = 3, c = s[0] & 0x0F, min = 0x800;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        k = 4, c = s[0] & 0x07, min = 0x10000;
    else
        return -1;
    if (n < k)
        return -1;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        c = c << 6 | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *len = k;
    return (int32_t)c;
}

/* Writes c (at most U+10FFFF) as UTF-8 into out; returns its length. */
static size_t utf8_encode(uint32_t c, char out[4])
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | c >> 6);
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | c >> 12);
        out[1] = (char)(0x80 | (c >> 6 & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | c >> 18);
    out[1] = (char)(0x80 | (c >> 12 & 0x3F));
    out[2] = (char)(0x80 | (c >> 6 & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* ---- RE2 to POSIX translation ---- */

struct osp_re2_group {
    size_t sub;   /* POSIX subexpression holding the group */
    osp_str name; /* "" for an unnamed group */
};

enum { F_I = 1, F_M = 2, F_S = 4, F_U = 8 }; /* RE2 flags */

enum { L_NONE, L_ATOM, L_ANCHOR, L_REPEAT }; /* what the last token was, for repetitions */

typedef struct tr {
    const char *p; /* the RE2 pattern */
    size_t n, i;   /* its length, the cursor */
    int fold;      /* write (?i) letters as [aA]; 0 when REG_ICASE folds */
    unsigned fl;   /* flags in effect */
    char *out;     /* the POSIX pattern, NUL-terminated */
    size_t len, cap;
    size_t nsub;              /* POSIX subexpressions opened */
    osp_re2_group *g;         /* RE2 groups; [0] the whole match */
    size_t ng, gcap;          /* groups recorded (with [0]), allocated */
    unsigned stack[MAX_NEST]; /* flags to restore at each open group's ")" */
    size_t depth;
    int last;         /* L_* */
    size_t atom;      /* out offset of the last atom */
    size_t rep_start; /* pattern offset of the last repetition operator */
    int cased_plain;  /* a case-sensitive atom outside (?i) */
    int cased_fold;   /* a case-sensitive atom under (?i) */
    int rc;           /* first error */
    char *err;
    size_t errlen;
} tr;

/* Records the first error: message "what" with the pattern excerpt in backquotes, as Go
 * words it, when expr is given. */
static void fail(tr *t, int rc, const char *what, const char *expr, size_t n)
{
    if (t->rc)
        return;
    t->rc = rc;
    if (!t->errlen)
        return;
    if (expr)
        snprintf(t->err, t->errlen, "%s: `%.*s`", what, (int)n, expr);
    else
        snprintf(t->err, t->errlen, "%s", what);
}

static void put(tr *t, const char *s, size_t n)
{
    if (t->rc)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        if (cap > MAX_OUT) {
            fail(t, OSP_EINVAL, "regular expression too large", NULL, 0);
            return;
        }
        char *o = osp_realloc(t->out, cap);
        if (!o) {
            fail(t, OSP_ENOMEM, "out of memory", NULL, 0);
            return;
        }
        t->out = o;
        t->cap = cap;
    }
    memcpy(t->out + t->len, s, n);
    t->len += n;
    t->out[t->len] = 0;
}

static void put_z(tr *t, const char *z)
{
    put(t, z, strlen(z));
}

static void mark_cased(tr *t)
{
    if (t->fl & F_I)
        t->cased_fold = 1;
    else
        t->cased_plain = 1;
}

static int is_letter(uint32_t c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* A literal character (not NUL) as one atom. */
static void emit_char(tr *t, uint32_t c)
{
    t->atom = t->len;
    t->last = L_ATOM;
    if (c >= 0x80 || is_letter(c))
        mark_cased(t);
    if (is_letter(c) && (t->fl & F_I) && t->fold) {
        char b[4] = {'[', (char)(c | 0x20), (char)(c & ~0x20u), ']'};
        put(t, b, 4);
        return;
    }
    if (c < 0x80 && strchr(".[]()*+?{}|^$\\", (int)c))
        put(t, "\\", 1);
    char b[4];
    put(t, b, utf8_encode(c, b));
}

/* Opens a POSIX subexpression; returns its index. */
static size_t open_sub(tr *t)
{
    put(t, "(", 1);
    return ++t->nsub;
}

/* ---- character classes ---- */

typedef struct cls {
    uint8_t pos[16];  /* ASCII members */
    uint8_t excl[16]; /* ASCII characters that every negated item (\D, [:^alpha:]) excludes */
    int all_wide;     /* every non-ASCII character is a member (a negated item, a range) */
    uint32_t wide[MAX_CLASS_RUNES]; /* else the non-ASCII members */
    size_t nwide;
} cls;

static int bit(const uint8_t set[16], unsigned c)
{
    return set[c >> 3] >> (c & 7) & 1;
}

static void set_bit(uint8_t set[16], unsigned c)
{
    set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

/* Adds to set the other case of each ASCII letter in it. */
static void fold_set(uint8_t set[16])
{
    for (unsigned c = 'A'; c <= 'Z'; c++)
        if (bit(set, c) || bit(set, c | 0x20)) {
            set_bit(set, c);
            set_bit(set, c | 0x20);
        }
}

/* 1 if membership in set differs between some letter and its other case. */
static int set_cased(const uint8_t set[16])
{
    for (unsigned c = 'A'; c <= 'Z'; c++)
        if (bit(set, c) != bit(set, c | 0x20))
            return 1;
    return 0;
}

/* RE2's POSIX classes (all ASCII) as lo,hi byte pairs. */
static const struct {
    const char *name;
    const char *pairs;
} ascii_classes[] = {
    {"alnum", "09AZaz"},
    {"alpha", "AZaz"},
    {"ascii", "\x01\x7f"},
    {"blank", "\t\t  "},
    {"cntrl", "\x01\x1f\x7f\x7f"},
    {"digit", "09"},
    {"graph", "!~"},
    {"lower", "az"},
    {"print", " ~"},
    {"punct", "!/:@[`{~"},
    {"space", "\t\r  "},
    {"upper", "AZ"},
    {"word", "09AZaz__"},
    {"xdigit", "09AFaf"},
};

/* Adds the ASCII class given as pairs (of ascii_classes), negated or not, to c. */
static void cls_add_named(tr *t, cls *c, const char *pairs, int negated)
{
    uint8_t set[16] = {0};
    for (const char *q = pairs; *q; q += 2)
        for (unsigned ch = (unsigned char)q[0]; ch <= (unsigned char)q[1]; ch++)
            set_bit(set, ch);
    if (t->fl & F_I && t->fold)
        fold_set(set);
    for (int k = 0; k < 16; k++) {
        if (negated)
            c->excl[k] &= set[k];
        else
            c->pos[k] |= set[k];
    }
    c->all_wide |= negated;
}

static int cls_add_range(tr *t, cls *c, uint32_t lo, uint32_t hi)
{
    for (uint32_t ch = lo; ch <= hi && ch < 0x80; ch++) {
        set_bit(c->pos, ch);
        if (t->fl & F_I && t->fold && is_letter(ch))
            set_bit(c->pos, ch ^ 0x20);
    }
    if (hi < 0x80)
        return 0;
    if (lo < 0x80)
        lo = 0x80;
    if (lo == 0x80 && hi == 0x10FFFF) {
        c->all_wide = 1;
        return 0;
    }
    if (hi - lo + 1 > MAX_CLASS_RUNES - c->nwide)
        return OSP_EINVAL;
    for (uint32_t ch = lo; ch <= hi; ch++)
        c->wide[c->nwide++] = ch;
    return 0;
}

/* An empty class (osp_free it), or NULL after failing. */
static cls *cls_create(tr *t)
{
    cls *c = osp_calloc(1, sizeof *c);
    if (!c)
        fail(t, OSP_ENOMEM, "out of memory", NULL, 0);
    else
        memset(c->excl, 0xFF, sizeof c->excl);
    return c;
}

/* Writes the bracket expression of the ASCII set (without NUL) and wide characters;
 * negated with "^". The set must not be empty unless negated or wide. */
static void put_bracket(tr *t, const uint8_t set[16], const uint32_t *wide, size_t nwide,
                        int negated)
{
    int has_rest = nwide > 0;
    for (unsigned ch = 1; ch < 0x80 && !has_rest; ch++)
        has_rest = bit(set, ch) && ch != '^' && ch != '-';
    if (!negated && !has_rest) { /* only '^' and '-': "^" may not come first */
        put_z(t, bit(set, '-') ? (bit(set, '^') ? "[-^]" : "[-]") : "\\^");
        return;
    }
    put_z(t, negated ? "[^" : "[");
    if (bit(set, ']'))
        put(t, "]", 1);
    for (unsigned lo = 1; lo < 0x80;) {
        if (!bit(set, lo) || lo == ']' || lo == '^' || lo == '-') {
            lo++;
            continue;
        }
        unsigned hi = lo;
        while (hi + 1 < 0x80 && bit(set, hi + 1) && hi + 1 != ']' && hi + 1 != '^' && hi + 1 != '-')
            hi++;
        char b[3] = {(char)lo, '-', (char)hi};
        if (hi - lo >= 2)
            put(t, b, 3);
        else
            for (unsigned ch = lo; ch <= hi; ch++)
                put(t, (char[]){(char)ch}, 1);
        lo = hi + 1;
    }
    for (size_t k = 0; k < nwide; k++) {
        char b[4];
        put(t, b, utf8_encode(wide[k], b));
    }
    if (bit(set, '^'))
        put(t, "^", 1);
    if (bit(set, '-'))
        put(t, "-", 1);
    put(t, "]", 1);
}

/* Emits class c, negated or not, as one atom. */
static void emit_class(tr *t, cls *c, int negated)
{
    uint8_t set[16];
    int complement;
    size_t nwide = 0;
    if (c->all_wide) { /* c is everything but excl \ pos */
        for (int k = 0; k < 16; k++)
            set[k] = c->excl[k] & (uint8_t)~c->pos[k];
        complement = !negated;
    } else {
        memcpy(set, c->pos, 16);
        nwide = c->nwide;
        complement = negated;
    }
    set[0] &= 0xFE; /* NUL cannot be written into a POSIX pattern */
    int empty = 1;
    for (int k = 0; k < 16; k++)
        empty &= set[k] == 0;
    if (nwide || set_cased(set))
        mark_cased(t);
    t->atom = t->len;
    t->last = L_ATOM;
    if (empty && !nwide) {
        if (complement) {
            put(t, ".", 1); /* any character */
        } else {
            open_sub(t);
            put(t, "$.)", 3); /* nothing */
        }
        return;
    }
    put_bracket(t, set, c->wide, nwide, complement);
}

/* ---- escapes ---- */

/* Parses the escape at p[i] == '\\' that stands for one character (octal, \x, control
 * letters, punctuation); returns it, or -1 after failing. */
static int32_t parse_escape(tr *t)
{
    size_t start = t->i;
    if (t->i + 1 >= t->n) {
        fail(t, OSP_EINVAL, "trailing backslash at end of expression", "", 0);
        return -1;
    }
    char c = t->p[t->i + 1];
    t->i += 2;
    const char *ctl = strchr("a\af\ft\tn\nr\rv\v", c);
    if (c && ctl && (ctl - "a\af\ft\tn\nr\rv\v") % 2 == 0)
        return (unsigned char)ctl[1];
    if (c >= '0' && c <= '7' &&
        (c == '0' || (t->i < t->n && t->p[t->i] >= '0' && t->p[t->i] <= '7'))) {
        int32_t r = c - '0';
        for (int k = 0; k < 2 && t->i < t->n && t->p[t->i] >= '0' && t->p[t->i] <= '7'; k++)
            r = r * 8 + (t->p[t->i++] - '0');
        return r;
    }
    if (c == 'x') {
        int32_t r = 0;
        size_t ndig = 0;
        int brace = t->i < t->n && t->p[t->i] == '{';
        size_t k = t->i + (size_t)brace;
        for (; k < t->n && (brace || ndig < 2); k++, ndig++) {
            char h = t->p[k];
            int v = h >= '0' && h <= '9'                     ? h - '0'
                    : (h | 0x20) >= 'a' && (h | 0x20) <= 'f' ? (h | 0x20) - 'a' + 10
                                                             : -1;
            if (v < 0)
                break;
            r = r * 16 + v;
            if (r > 0x10FFFF)
                break;
        }
        if (ndig == 0 || (brace ? k >= t->n || t->p[k] != '}' : ndig != 2) ||
            (r >= 0xD800 && r <= 0xDFFF)) {
            size_t end = k < t->n ? k + 1 : t->n;
            fail(t, OSP_EINVAL, "invalid escape sequence", t->p + start, end - start);
            return -1;
        }
        t->i = brace ? k + 1 : k;
        return r;
    }
    if ((unsigned char)c < 0x80 && !is_letter((unsigned char)c) && !(c >= '0' && c <= '9'))
        return (unsigned char)c;
    size_t len;
    utf8_decode(t->p + start + 1, t->n - start - 1, &len);
    fail(t, OSP_EINVAL, "invalid escape sequence", t->p + start, len + 1);
    return -1;
}

/* The pairs of the Perl class escape at p[i..] ("\d"), or NULL. */
static const char *perl_class(const tr *t)
{
    if (t->i + 1 >= t->n || t->p[t->i] != '\\')
        return NULL;
    switch (t->p[t->i + 1] | 0x20) {
    case 'd':
        return "09";
    case 's':
        return "\t\n\f\r  ";
    case 'w':
        return "09AZaz__";
    default:
        return NULL;
    }
}

/* Refuses \p and \P classes at p[i]; returns 1 after failing. */
static int unicode_class(tr *t)
{
    if (t->i + 1 >= t->n || t->p[t->i] != '\\' || (t->p[t->i + 1] | 0x20) != 'p')
        return 0;
    size_t end = t->i + 3;
    if (end - 1 < t->n && t->p[end - 1] == '{') {
        const char *close = memchr(t->p + end, '}', t->n - end);
        end = close ? (size_t)(close - t->p) + 1 : t->n;
    }
    if (end > t->n)
        end = t->n;
    fail(t, OSP_EINVAL, "Unicode character classes are not supported", t->p + t->i, end - t->i);
    return 1;
}

/* One character inside brackets (escape or literal); -1 after failing. */
static int32_t class_char(tr *t, size_t class_start)
{
    if (t->i >= t->n) {
        fail(t, OSP_EINVAL, "missing closing ]", t->p + class_start, t->n - class_start);
        return -1;
    }
    if (t->p[t->i] == '\\')
        return parse_escape(t);
    size_t len;
    int32_t c = utf8_decode(t->p + t->i, t->n - t->i, &len);
    if (c < 0)
        fail(t, OSP_EINVAL, "invalid UTF-8", t->p + t->i, t->n - t->i);
    t->i += len;
    return c;
}

/* The bracket expression at p[i] == '['. */
static void bracket(tr *t)
{
    size_t start = t->i++;
    cls *c = cls_create(t);
    if (!c)
        return;
    int negated = t->i < t->n && t->p[t->i] == '^';
    t->i += (size_t)negated;
    for (int first = 1; !t->rc && (t->i >= t->n || t->p[t->i] != ']' || first); first = 0) {
        const char *q = t->p + t->i, *pairs;
        size_t left = t->n - t->i;
        if (left > 2 && q[0] == '[' && q[1] == ':') {
            const char *end = memmem(q + 2, left - 2, ":]", 2);
            if (end) {
                size_t nlen = (size_t)(end - q) + 2;
                int neg = q[2] == '^';
                const char *name = q + 2 + neg;
                size_t k = 0, want = (size_t)(end - name);
                while (k < sizeof ascii_classes / sizeof ascii_classes[0] &&
                       (strlen(ascii_classes[k].name) != want ||
                        memcmp(ascii_classes[k].name, name, want) != 0))
                    k++;
                if (k == sizeof ascii_classes / sizeof ascii_classes[0]) {
                    fail(t, OSP_EINVAL, "invalid character class", q, nlen);
                    break;
                }
                cls_add_named(t, c, ascii_classes[k].pairs, neg);
                t->i += nlen;
                continue;
            }
        }
        if (unicode_class(t))
            break;
        if ((pairs = perl_class(t)) != NULL) {
            cls_add_named(t, c, pairs, t->p[t->i + 1] < 'a');
            t->i += 2;
            continue;
        }
        size_t rstart = t->i;
        int32_t lo = class_char(t, start), hi = lo;
        if (lo < 0)
            break;
        if (t->i + 1 < t->n && t->p[t->i] == '-' && t->p[t->i + 1] != ']') {
            t->i++;
            if ((hi = class_char(t, start)) < 0)
                break;
            if (hi < lo) {
                fail(t, OSP_EINVAL, "invalid character class range", t->p + rstart, t->i - rstart);
                break;
            }
        }
        if (cls_add_range(t, c, (uint32_t)lo, (uint32_t)hi)) {
            fail(t, OSP_EINVAL, "too many characters above U+007F in character class", t->p + start,
                 t->i - start);
            break;
        }
    }
    if (!t->rc) {
        t->i++; /* ']' */
        emit_class(t, c, negated);
    }
    osp_free(c);
}

/* A Perl class escape outside brackets, at p[i]. */
static void perl_escape(tr *t, const char *pairs)
{
    cls *c = cls_create(t);
    if (!c)
        return;
    cls_add_named(t, c, pairs, t->p[t->i + 1] < 'a');
    t->i += 2;
    emit_class(t, c, 0);
    osp_free(c);
}

/* ---- operators ---- */

static void anchor(tr *t, const char *posix, size_t skip)
{
    t->atom = t->len;
    t->last = L_ANCHOR;
    t->i += skip;
    put_z(t, posix);
}

/* A repetition operator spanning p[start..i) (a trailing non-greedy '?' is consumed here),
 * written in POSIX as op. */
static void repeat(tr *t, size_t start, const char *op)
{
    if (t->i < t->n && t->p[t->i] == '?')
        t->i++; /* non-greedy: the same strings match */
    if (t->last == L_REPEAT) {
        fail(t, OSP_EINVAL, "invalid nested repetition operator", t->p + t->rep_start,
             t->i - t->rep_start);
        return;
    }
    if (t->last == L_NONE) {
        fail(t, OSP_EINVAL, "missing argument to repetition operator", t->p + start, t->i - start);
        return;
    }
    if (t->last == L_ANCHOR) { /* POSIX repeats no bare anchor: group it */
        size_t an = t->len - t->atom;
        put(t, "()", 2);
        if (t->rc)
            return;
        memmove(t->out + t->atom + 1, t->out + t->atom, an);
        t->out[t->atom] = '(';
        t->out[t->atom + an + 1] = ')';
        t->nsub++;
    }
    put_z(t, op);
    t->last = L_REPEAT;
    t->rep_start = start;
}

/* Reads a decimal bound at p[*k] (no leading zeros); -1 if there is none, 1001 if it is
 * larger than 1000. */
static long bound(const tr *t, size_t *k)
{
    size_t s = *k;
    long v = 0;
    while (*k < t->n && t->p[*k] >= '0' && t->p[*k] <= '9') {
        if (v <= OSP_REGEX_MAX_REPEAT)
            v = v * 10 + (t->p[*k] - '0');
        (*k)++;
    }
    if (*k == s || (t->p[s] == '0' && *k - s > 1))
        return -1;
    return v > OSP_REGEX_MAX_REPEAT ? OSP_REGEX_MAX_REPEAT + 1 : v;
}

/* A counted repetition {n}, {n,} or {n,m} at p[i] == '{'; 0 if it is not one (then '{' is
 * a literal, as in RE2). */
static int counted(tr *t)
{
    size_t start = t->i, k = t->i + 1;
    long lo = bound(t, &k), hi = lo;
    if (lo < 0)
        return 0;
    if (k < t->n && t->p[k] == ',') {
        k++;
        hi = k < t->n && t->p[k] == '}' ? -1 : bound(t, &k);
        if (hi == -1 && !(k < t->n && t->p[k] == '}'))
            return 0;
    }
    if (k >= t->n || t->p[k] != '}')
        return 0;
    t->i = k + 1;
    if (t->i < t->n && t->p[t->i] == '?')
        t->i++;
    if (lo > OSP_REGEX_MAX_REPEAT || hi > OSP_REGEX_MAX_REPEAT || (hi >= 0 && hi < lo)) {
        fail(t, OSP_EINVAL, "invalid repeat count", t->p + start, t->i - start);
        return 1;
    }
    if (t->p[t->i - 1] == '?')
        t->i--; /* repeat() consumes it */
    char op[32];
    if (hi == lo)
        snprintf(op, sizeof op, "{%ld}", lo);
    else if (hi < 0)
        snprintf(op, sizeof op, "{%ld,}", lo);
    else
        snprintf(op, sizeof op, "{%ld,%ld}", lo, hi);
    repeat(t, start, op);
    return 1;
}

/* Parses flags after "(?" at p[start]; sets them for the rest of the group or, with ':',
 * opens a group that restores them. */
static void flag_group(tr *t, size_t start)
{
    unsigned fl = t->fl;
    int sign = 1, saw = 0;
    size_t k = start + 2;
    while (k < t->n) {
        char c = t->p[k++];
        unsigned b = c == 'i' ? F_I : c == 'm' ? F_M : c == 's' ? F_S : c == 'U' ? F_U : 0;
        if (b) {
            fl = sign > 0 ? fl | b : fl & ~b;
            saw = 1;
        } else if (c == '-' && sign > 0) {
            sign = -1;
            saw = 0;
        } else if ((c == ':' || c == ')') && (sign > 0 || saw)) {
            t->i = k;
            if (c == ':') {
                t->stack[t->depth++] = t->fl;
                open_sub(t);
                t->last = L_NONE;
            }
            t->fl = fl;
            return;
        } else {
            size_t len;
            utf8_decode(t->p + k - 1, t->n - k + 1, &len);
            k += len - 1;
            break;
        }
    }
    fail(t, OSP_EINVAL, "invalid or unsupported Perl syntax", t->p + start, k - start);
}

static int name_char(char c)
{
    return is_letter((unsigned char)c) || (c >= '0' && c <= '9') || c == '_';
}

/* An opening parenthesis at p[i]. */
static void open_group(tr *t)
{
    size_t start = t->i;
    if (t->depth == MAX_NEST) {
        fail(t, OSP_EINVAL, "expression nests too deeply", t->p, t->n);
        return;
    }
    osp_str name = OSP_STR_NULL;
    const char *q = t->p + start;
    size_t left = t->n - start;
    if (left > 1 && q[1] == '?') {
        size_t nb = 0; /* length of "(?P<" or "(?<" */
        if (left > 3 && q[2] == 'P' && q[3] == '<')
            nb = 4;
        else if (left > 2 && q[2] == '<' && !(left > 3 && (q[3] == '=' || q[3] == '!')))
            nb = 3;
        if (!nb) {
            flag_group(t, start);
            return;
        }
        const char *gt = memchr(q + nb, '>', left - nb);
        if (!gt) {
            fail(t, OSP_EINVAL, "invalid named capture", q, left);
            return;
        }
        name = osp_str_make(q + nb, (size_t)(gt - q) - nb);
        int ok = name.n > 0;
        for (size_t k = 0; k < name.n; k++)
            ok &= name_char(name.p[k]);
        if (!ok) {
            fail(t, OSP_EINVAL, "invalid named capture", q, (size_t)(gt - q) + 1);
            return;
        }
        t->i = (size_t)(gt - t->p) + 1;
    } else {
        t->i++;
    }
    osp_re2_group *g = osp_array_push((void **)&t->g, &t->ng, &t->gcap, sizeof *g);
    if (!g) {
        fail(t, OSP_ENOMEM, "out of memory", NULL, 0);
        return;
    }
    g->name = name;
    g->sub = open_sub(t);
    t->stack[t->depth++] = t->fl;
    t->last = L_NONE;
}

static void close_group(tr *t)
{
    if (t->depth == 0) {
        fail(t, OSP_EINVAL, "unexpected )", t->p, t->n);
        return;
    }
    t->fl = t->stack[--t->depth];
    t->i++;
    put(t, ")", 1);
    t->last = L_ATOM;
}

/* Emits the UTF-8 character at t->i (reading no further than end) as a literal and moves
 * past it; invalid UTF-8 and NUL fail. */
static void literal_char(tr *t, size_t end)
{
    size_t len;
    int32_t r = utf8_decode(t->p + t->i, end - t->i, &len);
    if (r <= 0)
        fail(t, OSP_EINVAL, r ? "invalid UTF-8" : "NUL characters are not supported",
             r ? t->p + t->i : NULL, t->n - t->i);
    else
        emit_char(t, (uint32_t)r);
    t->i += len;
}

/* An escape sequence outside brackets, at p[i] == '\\'. */
static void escape(tr *t)
{
    char c = t->i + 1 < t->n ? t->p[t->i + 1] : 0;
    const char *pairs;
    if (c == 'A' || c == 'z') {
        anchor(t, c == 'A' ? "^" : "$", 2);
    } else if (c == 'b' || c == 'B') {
        fail(t, OSP_EINVAL, "word boundaries are not supported", t->p + t->i, 2);
    } else if (c == 'Q') {
        size_t s = t->i + 2, e = s;
        while (e < t->n && !(t->p[e] == '\\' && e + 1 < t->n && t->p[e + 1] == 'E'))
            e++;
        for (t->i = s; t->i < e && !t->rc;)
            literal_char(t, e);
        t->i = e < t->n ? e + 2 : e;
    } else if ((pairs = perl_class(t)) != NULL) {
        perl_escape(t, pairs);
    } else if (!unicode_class(t)) {
        int32_t r = parse_escape(t);
        if (r == 0)
            fail(t, OSP_EINVAL, "NUL characters are not supported", NULL, 0);
        else if (r > 0)
            emit_char(t, (uint32_t)r);
    }
}

/* Translates the whole pattern into t->out. 0 or the error code. */
static int translate(tr *t, int anchored)
{
    t->nsub = 0;
    put_z(t, anchored ? "^" : "");
    osp_re2_group *g0 = osp_array_push((void **)&t->g, &t->ng, &t->gcap, sizeof *g0);
    if (!g0)
        fail(t, OSP_ENOMEM, "out of memory", NULL, 0);
    open_sub(t); /* [0] is POSIX match 0; this wrapper is subexpression 1 */
    while (t->i < t->n && !t->rc) {
        size_t start = t->i;
        char c = t->p[t->i];
        switch (c) {
        case '(':
            open_group(t);
            break;
        case ')':
            close_group(t);
            break;
        case '|':
            t->i++;
            put(t, "|", 1);
            t->last = L_NONE;
            break;
        case '*':
        case '+':
        case '?':
            t->i++;
            repeat(t, start, (char[]){c, 0});
            break;
        case '{':
            if (!counted(t)) {
                t->i++;
                emit_char(t, '{');
            }
            break;
        case '^':
        case '$':
            if (t->fl & F_M)
                fail(t, OSP_EINVAL, "^ and $ in multi-line mode (?m) are not supported",
                     t->p + t->i, 1);
            else
                anchor(t, c == '^' ? "^" : "$", 1);
            break;
        case '.':
            t->i++;
            t->atom = t->len;
            t->last = L_ATOM;
            put_z(t, t->fl & F_S ? "." : "[^\n]");
            break;
        case '[':
            bracket(t);
            break;
        case '\\':
            escape(t);
            break;
        default:
            literal_char(t, t->n);
        }
    }
    if (!t->rc && t->depth)
        fail(t, OSP_EINVAL, "missing closing )", t->p, t->n);
    put_z(t, anchored ? ")$" : ")");
    return t->rc;
}

int osp_re2_compile(osp_re2 *re, osp_str pattern, int flags, char *err, size_t errlen)
{
    memset(re, 0, sizeof *re);
    if (errlen)
        err[0] = 0;
    if (pattern.n > OSP_REGEX_MAX_LEN) {
        if (errlen)
            snprintf(err, errlen, "%s", "regular expression too long");
        return OSP_EINVAL;
    }
    tr *t = osp_calloc(1, sizeof *t);
    if (!t)
        return OSP_ENOMEM;
    int icase = 0, rc;
    for (int pass = 0;; pass++) {
        *t = (tr){.p = pattern.p,
                  .n = pattern.n,
                  .fold = !icase,
                  .out = t->out,
                  .cap = t->cap,
                  .g = t->g,
                  .gcap = t->gcap,
                  .err = err,
                  .errlen = errlen};
        rc = translate(t, flags & OSP_RE2_ANCHORED);
        /* Every letter under (?i): let REG_ICASE fold them (beyond ASCII too). */
        if (rc || pass || t->cased_plain || !t->cased_fold)
            break;
        icase = 1;
    }
    if (rc == 0) {
        locale_t loc = utf8_locale(), old = loc ? uselocale(loc) : (locale_t)0;
        rc = osp__regex_compile_n(&re->re, t->out, t->len,
                                  REG_EXTENDED | (icase ? REG_ICASE : 0) |
                                      (flags & OSP_RE2_NOSUB ? REG_NOSUB : 0),
                                  err, errlen);
        if (loc)
            uselocale(old);
    }
    if (rc == 0 && !(re->names = osp_malloc(pattern.n + 1))) {
        regfree(&re->re);
        rc = OSP_ENOMEM;
    }
    if (rc == 0) {
        if (pattern.n)
            memcpy(re->names, pattern.p, pattern.n);
        t->g[0] = (osp_re2_group){0, OSP_STR_NULL};
        for (size_t k = 1; k < t->ng; k++)
            if (t->g[k].name.n)
                t->g[k].name.p = re->names + (t->g[k].name.p - pattern.p);
        re->groups = t->g;
        re->ngroups = t->ng - 1;
        re->flags = flags;
        t->g = NULL;
    }
    osp_free(t->g);
    osp_free(t->out);
    osp_free(t);
    return rc;
}

void osp_re2_cleanup(osp_re2 *re)
{
    if (!re->groups)
        return;
    regfree(&re->re);
    osp_free(re->groups);
    osp_free(re->names);
    memset(re, 0, sizeof *re);
}

/* ---- matching ---- */

int osp_re2_subject_init(osp_re2_subject *sub, osp_str subject)
{
    int bad = utf8_locale() && subject.n && !osp_utf8_valid(subject.p, subject.n);
    size_t zn = bad ? 3 * subject.n : subject.n;
    *sub = (osp_re2_subject){.s = subject};
    sub->z = zn < sizeof sub->zbuf ? sub->zbuf : osp_malloc(zn + 1);
    sub->at = bad ? osp_malloc((zn + 1) * sizeof *sub->at) : NULL;
    if (!sub->z || (bad && !sub->at)) {
        osp_re2_subject_cleanup(sub);
        return OSP_ENOMEM;
    }
    if (bad) { /* each ill-formed byte becomes U+FFFD, as RE2 reads it */
        zn = 0;
        for (size_t i = 0, len; i < subject.n; i += len) {
            int ok = utf8_decode(subject.p + i, subject.n - i, &len) >= 0;
            const char *src = ok ? subject.p + i : "\xEF\xBF\xBD";
            for (size_t k = 0; k < (ok ? len : 3); k++) {
                sub->at[zn] = i;
                sub->z[zn++] = src[k];
            }
        }
        sub->at[zn] = subject.n;
    } else if (subject.n) {
        memcpy(sub->z, subject.p, subject.n);
    }
    sub->z[zn] = 0; /* regexec interceptors of sanitizers read up to a NUL */
    sub->zn = zn;
    return 0;
}

void osp_re2_subject_cleanup(osp_re2_subject *sub)
{
    if (sub->z != sub->zbuf)
        osp_free(sub->z);
    osp_free(sub->at);
    sub->z = NULL;
    sub->at = NULL;
}

int osp_re2_search_in(const osp_re2 *re, const osp_re2_subject *sub, size_t from, regmatch_t *m,
                      size_t nm)
{
    regmatch_t pbuf[16];
    size_t npm = re->flags & OSP_RE2_NOSUB ? 1 : re->re.re_nsub + 1;
    regmatch_t *pm = npm <= 16 ? pbuf : osp_malloc(npm * sizeof *pm);
    if (!pm)
        return OSP_ENOMEM;
    size_t zfrom = from < sub->s.n ? from : sub->s.n; /* from, in z's offsets */
    if (sub->at) { /* the first z offset at or past from: at[] never decreases */
        size_t lo = 0, hi = sub->zn;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (sub->at[mid] < from)
                lo = mid + 1;
            else
                hi = mid;
        }
        zfrom = lo;
    }
    pm[0].rm_so = (regoff_t)zfrom; /* regexec sees the bytes before: ^ and \b stay right */
    pm[0].rm_eo = (regoff_t)sub->zn;
    locale_t loc = utf8_locale(), old = loc ? uselocale(loc) : (locale_t)0;
    int rc = regexec(&re->re, sub->z, npm, pm, REG_STARTEND) == 0;
    if (loc)
        uselocale(old);
    for (size_t k = 0; m && k < nm; k++) {
        regmatch_t g = {-1, -1};
        if (rc && k <= re->ngroups && (k == 0 || !(re->flags & OSP_RE2_NOSUB)) &&
            pm[re->groups[k].sub].rm_so >= 0) {
            g = pm[re->groups[k].sub];
            if (sub->at) {
                g.rm_so = (regoff_t)sub->at[g.rm_so];
                g.rm_eo = (regoff_t)sub->at[g.rm_eo];
            }
        }
        m[k] = g;
    }
    if (pm != pbuf)
        osp_free(pm);
    return rc;
}

int osp_re2_search(const osp_re2 *re, osp_str subject, size_t from, regmatch_t *m, size_t nm)
{
    osp_re2_subject sub;
    int rc = osp_re2_subject_init(&sub, subject);
    if (rc == 0)
        rc = osp_re2_search_in(re, &sub, from, m, nm);
    osp_re2_subject_cleanup(&sub);
    return rc;
}

int osp_re2_match(const osp_re2 *re, osp_str subject, regmatch_t *m, size_t nm)
{
    return osp_re2_search(re, subject, 0, m, nm);
}

/* ---- expansion ---- */

int osp_re2_expand(const osp_re2 *re, osp_str tmpl, osp_str subject, const regmatch_t *m,
                   osp_arena *arena, osp_str *out)
{
    size_t cap = tmpl.n + 1;
    for (size_t i = 0; i < tmpl.n; i++)
        if (tmpl.p[i] == '$')
            cap += subject.n;
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
            buf[len++] = '$'; /* malformed: the "$" is text */
            continue;
        }
        i = brace ? e + 1 : e;
        osp_str name = osp_str_make(tmpl.p + s, e - s);
        long num = 0;
        for (size_t k = 0; k < name.n && num >= 0; k++)
            num = name.p[k] < '0' || name.p[k] > '9' || num >= 100000000
                      ? -1
                      : num * 10 + (name.p[k] - '0');
        if (name.p[0] == '0' && name.n > 1)
            num = -1;
        const regmatch_t *g = NULL;
        if (num >= 0 && (size_t)num <= re->ngroups)
            g = &m[num];
        for (size_t k = 1; num < 0 && k <= re->ngroups && !g; k++)
            if (osp_str_eq(re->groups[k].name, name) && m[k].rm_so >= 0)
                g = &m[k];
        if (!g || g->rm_so < 0)
            continue;
        memcpy(buf + len, subject.p + g->rm_so, (size_t)(g->rm_eo - g->rm_so));
        len += (size_t)(g->rm_eo - g->rm_so);
    }
    buf[len] = 0;
    *out = osp_str_make(buf, len);
    return 0;
}
