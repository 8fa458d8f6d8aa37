/* Loki push API decoders: JSON and snappy-compressed protobuf PushRequest bodies into
 * canonical log rows, and the Prometheus-style label set parser.
 *
 * Both decoders walk their input once and share the row building: a stream's labels are
 * checked and become its resource's attrs blob, each entry becomes one record whose body is
 * the line as a string AnyValue. Rows are canonical encodings, so every byte they hold is
 * built in scratch buffers and copied into the batch's arena; nothing points into the
 * request. Framing errors fail the whole request (as an unmarshal does in Loki); rule
 * violations reject just their stream or entry, the first one named in the report. */
#include "proto/loki.h"

#include <assert.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"
#include "model/attr.h"
#include "model/logstream.h"
#include "core/json.h"

/* ---- label set text ---- */

static int is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* [a-zA-Z_][a-zA-Z0-9_]* */
static int label_name_ok(osp_str s)
{
    if (s.n == 0 || !is_name_start(s.p[0]))
        return 0;
    for (size_t i = 1; i < s.n; i++)
        if (!is_name_char(s.p[i]))
            return 0;
    return 1;
}

/* Where a parse error is reported: "offset N: .." into err, N counted from start. */
typedef struct where {
    const char *start;
    char *err; /* may be NULL */
    size_t errlen;
} where;

__attribute__((format(printf, 3, 4))) static int fail_at(const where *w, const void *at,
                                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    osp_vmsg_at_offset(w->err, w->errlen, (size_t)((const char *)at - w->start), fmt, ap);
    va_end(ap);
    return OSP_EPARSE;
}

typedef struct lparse {
    where w;
    const char *p, *end;
} lparse;

static void skip_space(lparse *lp)
{
    while (lp->p < lp->end && (*lp->p == ' ' || *lp->p == '\t' || *lp->p == '\n' || *lp->p == '\r'))
        lp->p++;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Writes code point cp (valid, not a surrogate) as UTF-8 at o; returns the bytes written. */
static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escape sequence at *pq (its backslash; the sequence lies before end) into o,
 * advancing both. */
static int unescape(lparse *lp, const char **pq, const char *end, char **o)
{
    static const char from[] = "abfnrtv\\\"", to[] = "\a\b\f\n\r\t\v\\\"";
    const char *q = *pq;
    char c = q[1];
    const char *simple = memchr(from, c, sizeof from - 1);
    if (simple) {
        *(*o)++ = to[simple - from];
        *pq = q + 2;
        return 0;
    }
    if (c >= '0' && c <= '7') {
        unsigned v = 0;
        for (int i = 1; i <= 3; i++) {
            if (q + i >= end || q[i] < '0' || q[i] > '7')
                return fail_at(&lp->w, q, "octal escape needs 3 digits");
            v = v * 8 + (unsigned)(q[i] - '0');
        }
        if (v > 255)
            return fail_at(&lp->w, q, "octal escape value > 255");
        *(*o)++ = (char)v;
        *pq = q + 4;
        return 0;
    }
    int ndig = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (!ndig)
        return fail_at(&lp->w, q, "unknown escape sequence '\\%c'",
                       c >= 0x20 && c < 0x7f ? c : '?');
    uint32_t v = 0;
    for (int i = 2; i < 2 + ndig; i++) {
        int h = q + i < end ? hex_digit(q[i]) : -1;
        if (h < 0)
            return fail_at(&lp->w, q, "\\%c escape needs %d hex digits", c, ndig);
        v = v << 4 | (uint32_t)h;
    }
    if (c == 'x')
        *(*o)++ = (char)v;
    else if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return fail_at(&lp->w, q, "escape sequence is an invalid Unicode code point");
    else
        *o += put_utf8(*o, v);
    *pq = q + 2 + ndig;
    return 0;
}

/* Reads the double-quoted string whose opening quote is at lp->p into *out: a slice of the
 * text, or a copy in arena when it has escapes. */
static int read_quoted(lparse *lp, osp_arena *arena, osp_str *out)
{
    const char *open = lp->p, *q = open + 1;
    int escaped = 0;
    for (;; q++) {
        if (q >= lp->end || *q == '\n')
            return fail_at(&lp->w, open, "unterminated quoted string");
        if (*q == '"')
            break;
        if (*q == '\\') {
            escaped = 1;
            if (++q >= lp->end)
                return fail_at(&lp->w, open, "unterminated quoted string");
        }
    }
    const char *close = q;
    lp->p = close + 1;
    if (!escaped) {
        *out = osp_str_make(open + 1, (size_t)(close - open - 1));
        return 0;
    }
    /* An escape never decodes to more bytes than it is written with. */
    char *buf = osp_arena_alloc(arena, (size_t)(close - open)), *o = buf;
    if (!buf)
        return OSP_ENOMEM;
    for (q = open + 1; q < close;) {
        if (*q != '\\') {
            *o++ = *q++;
            continue;
        }
        int rc = unescape(lp, &q, close, &o);
        if (rc)
            return rc;
    }
    *out = osp_str_make(buf, (size_t)(o - buf));
    return 0;
}

int osp_loki_parse_labels(osp_str text, osp_arena *arena, osp_label **labels, size_t *n, char *err,
                          size_t errlen)
{
    const char *base = text.n ? text.p : "";
    lparse lp = {{base, err, errlen}, base, base + text.n};
    size_t cap = 0, k = 0;
    osp_label *ls = NULL;
    int rc;
    *labels = NULL;
    *n = 0;
    if (err && errlen)
        err[0] = 0;
    /* Every pair holds one '=' outside its value: the count bounds the pairs. */
    for (size_t i = 0; i < text.n; i++)
        cap += base[i] == '=';
    skip_space(&lp);
    if (lp.p >= lp.end || *lp.p != '{')
        return fail_at(&lp.w, lp.p, "expected '{'");
    lp.p++;
    if (cap && !(ls = osp_arena_calloc(arena, cap, sizeof *ls)))
        return OSP_ENOMEM;
    for (;;) {
        skip_space(&lp);
        if (lp.p < lp.end && *lp.p == '}')
            break;
        if (lp.p >= lp.end || !is_name_start(*lp.p))
            return fail_at(&lp.w, lp.p, "expected a label name or '}'");
        const char *name = lp.p;
        while (lp.p < lp.end && is_name_char(*lp.p))
            lp.p++;
        osp_str nm = osp_str_make(name, (size_t)(lp.p - name));
        skip_space(&lp);
        if (lp.p >= lp.end || *lp.p != '=')
            return fail_at(&lp.w, lp.p,
                           lp.p < lp.end && *lp.p == '!' ? "only '=' is allowed in a label set"
                                                         : "expected '=' after label name");
        lp.p++;
        if (lp.p < lp.end && *lp.p == '~')
            return fail_at(&lp.w, lp.p - 1, "only '=' is allowed in a label set");
        skip_space(&lp);
        if (lp.p >= lp.end || *lp.p != '"')
            return fail_at(&lp.w, lp.p, "expected a double-quoted label value");
        assert(k < cap);
        ls[k].name = nm;
        if ((rc = read_quoted(&lp, arena, &ls[k].value)) != 0)
            return rc;
        k++;
        skip_space(&lp);
        if (lp.p < lp.end && *lp.p == ',') {
            lp.p++;
            continue;
        }
        if (lp.p >= lp.end || *lp.p != '}')
            return fail_at(&lp.w, lp.p, "expected ',' or '}'");
    }
    lp.p++;
    skip_space(&lp);
    if (lp.p != lp.end)
        return fail_at(&lp.w, lp.p, "unexpected text after '}'");
    *labels = k ? ls : NULL;
    *n = k;
    return 0;
}

/* ---- rows, shared by both decoders ---- */

typedef struct dec {
    osp_log_batch *out;
    osp_loki_report *rep;
    osp_arena tmp;   /* label arrays and unescaped labels of the request */
    osp_buf attrs;   /* an attrs blob being built */
    osp_buf value;   /* a record body being built */
    osp_buf sorted;  /* a copy of a label set sorted by name (duplicate check) */
    osp_buf labels;  /* JSON: the labels (osp_label) of the stream being read */
    osp_buf key;     /* JSON: an escaped metadata name until its value is read */
    osp_buf scratch; /* JSON: the reader's unescaped strings */
    osp_json_reader r;
    where w;            /* protobuf: framing errors, at offsets in the uncompressed body */
    uint32_t scope;     /* index of the scope every record refers to */
    int scope_added;    /* it is in the batch */
    int64_t stream_bad; /* entries rejected on their own in the current stream */
    char why[64 + 160]; /* an entry's first problem until it is reported */
} dec;

/* Starts decoding an (uncompressed) body of n bytes: scratch buffers get hard caps that no
 * valid body of that size reaches. */
static void dec_init(dec *d, osp_log_batch *out, osp_loki_report *rep, size_t n)
{
    size_t cap = 2 * n + 4096, label_cap = (n / 4 + 1) * sizeof(osp_label);
    memset(d, 0, sizeof *d);
    d->out = out;
    d->rep = rep;
    d->scope = (uint32_t)out->nscopes;
    osp_arena_init(&d->tmp, 0, 0);
    osp_buf *all[] = {&d->attrs, &d->value, &d->key, &d->scratch};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        osp_buf_init(all[i], cap);
    /* a label takes at least 4 bytes of text ("a=\"\"", "a":"") */
    osp_buf_init(&d->labels, label_cap);
    osp_buf_init(&d->sorted, label_cap);
    memset(rep, 0, sizeof *rep);
}

static void dec_cleanup(dec *d)
{
    osp_buf *all[] = {&d->attrs, &d->value, &d->sorted, &d->labels, &d->key, &d->scratch};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        osp_buf_cleanup(all[i]);
    osp_arena_cleanup(&d->tmp);
}

/* Keeps the first problem as the report's message: "stream I: .." when entry is SIZE_MAX,
 * else "stream I entry J: ..". */
__attribute__((format(printf, 4, 5))) static void problem(dec *d, size_t stream, size_t entry,
                                                          const char *fmt, ...)
{
    char *m = d->rep->message;
    size_t cap = sizeof d->rep->message;
    if (m[0])
        return;
    int k = entry == SIZE_MAX ? snprintf(m, cap, "stream %zu: ", stream)
                              : snprintf(m, cap, "stream %zu entry %zu: ", stream, entry);
    if (k < 0 || (size_t)k >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m + k, cap - (size_t)k, fmt, ap);
    va_end(ap);
}

/* Records why the entry being read is invalid unless it has a reason already. */
__attribute__((format(printf, 2, 3))) static void entry_bad(dec *d, const char *fmt, ...)
{
    if (d->why[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->why, sizeof d->why, fmt, ap);
    va_end(ap);
}

static int by_name(const void *a, const void *b)
{
    return osp_str_cmp(((const osp_label *)a)->name, ((const osp_label *)b)->name);
}

/* Checks a stream's label set by Loki's rules. 0 valid, 1 rejected (problem reported). */
static int check_stream_labels(dec *d, size_t si, const osp_label *ls, size_t n, int utf8)
{
    char tmp[OSP_STR_PRINTABLE_SIZE];
    if (n == 0) {
        problem(d, si, SIZE_MAX, "stream has no labels");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!label_name_ok(ls[i].name)) {
            problem(d, si, SIZE_MAX, "invalid label name \"%s\"",
                    osp_str_printable(ls[i].name, tmp));
            return 1;
        }
        if (utf8 && !osp_utf8_valid(ls[i].value.p, ls[i].value.n)) {
            problem(d, si, SIZE_MAX, "label %s has a value that is not valid UTF-8",
                    osp_str_printable(ls[i].name, tmp));
            return 1;
        }
    }
    osp_buf_reset(&d->sorted);
    int rc = osp_buf_append(&d->sorted, ls, n * sizeof *ls);
    if (rc)
        return rc;
    osp_label *s = (osp_label *)(void *)d->sorted.data;
    qsort(s, n, sizeof *s, by_name);
    for (size_t i = 1; i < n; i++)
        if (osp_str_eq(s[i - 1].name, s[i].name)) {
            problem(d, si, SIZE_MAX, "duplicate label name \"%s\"",
                    osp_str_printable(s[i].name, tmp));
            return 1;
        }
    return 0;
}

/* Copies a built blob into the batch's arena. */
static int keep(dec *d, const osp_buf *src, osp_str *out)
{
    *out = OSP_STR_NULL;
    if (src->len == 0)
        return 0;
    out->p = osp_arena_memdup(&d->out->arena, src->data, src->len);
    out->n = src->len;
    return out->p ? 0 : OSP_ENOMEM;
}

/* Adds the resource of a stream that kept records: its labels as attributes. */
static int add_resource(dec *d, const osp_label *ls, size_t n)
{
    osp_resource res = {0};
    osp_value v;
    int rc = 0;
    osp_buf_reset(&d->attrs);
    for (size_t i = 0; i < n && rc == 0; i++) {
        v = (osp_value){.type = OSP_VAL_STRING, .s = ls[i].value};
        rc = osp_attr_append(&d->attrs, ls[i].name, &v);
    }
    if (rc || (rc = keep(d, &d->attrs, &res.attributes)) != 0)
        return rc;
    if (osp_attr_find(res.attributes, OSP_STR_LIT("service_name"), &v) == 1 &&
        v.type == OSP_VAL_STRING)
        res.service_name = v.s;
    osp_resource *row = osp_log_batch_add_resource(d->out);
    if (!row)
        return OSP_ENOMEM;
    *row = res;
    if (!d->scope_added) {
        osp_scope *sc = osp_log_batch_add_scope(d->out);
        if (!sc)
            return OSP_ENOMEM;
        d->scope_added = 1;
    }
    return 0;
}

/* Puts the line, as a string AnyValue, in d->value: the body of the entry being read. */
static int put_line(dec *d, osp_str line)
{
    osp_value v = {.type = OSP_VAL_STRING, .s = line};
    osp_buf_reset(&d->value);
    return osp_value_put(&d->value, &v);
}

/* Adds a record: d->value (put_line) as its body, d->attrs (the metadata) as attributes. */
static int add_record(dec *d, uint64_t t_ns, uint32_t resource)
{
    osp_log_record rec = {.time_ns = t_ns,
                          .has_body = 1,
                          .labels_from = OSP_LOG_LABELS_ALL,
                          .resource = resource,
                          .scope = d->scope};
    int rc;
    if ((rc = keep(d, &d->value, &rec.body)) != 0 ||
        (rc = keep(d, &d->attrs, &rec.attributes)) != 0)
        return rc;
    osp_log_record *row = osp_log_batch_add_record(d->out);
    if (!row)
        return OSP_ENOMEM;
    *row = rec;
    return 0;
}

/* Appends one structured metadata pair to d->attrs, or records why the entry is invalid. */
static int add_metadata(dec *d, osp_str name, osp_str value, int utf8)
{
    char tmp[OSP_STR_PRINTABLE_SIZE];
    osp_value v = {.type = OSP_VAL_STRING, .s = value};
    if (!label_name_ok(name))
        entry_bad(d, "invalid structured metadata name \"%s\"", osp_str_printable(name, tmp));
    else if (utf8 && !osp_utf8_valid(value.p, value.n))
        entry_bad(d, "structured metadata %s has a value that is not valid UTF-8",
                  osp_str_printable(name, tmp));
    return d->why[0] ? 0 : osp_attr_append(&d->attrs, name, &v);
}

/* Ends an entry read while its stream is being kept: a record, or a rejection. */
static int end_entry(dec *d, size_t si, size_t ei, uint64_t t_ns, uint32_t resource)
{
    if (!d->why[0])
        return add_record(d, t_ns, resource);
    problem(d, si, ei, "%s", d->why);
    d->rep->rejected++;
    d->stream_bad++;
    return 0;
}

/* Ends a stream: one whose labels are bad loses the records it added and counts all its
 * entries as rejected; one that kept records gets its resource. */
static int end_stream(dec *d, int bad, size_t first, size_t nentries, const osp_label *ls, size_t n)
{
    if (bad) {
        d->out->nrecords = first;
        d->rep->rejected += (int64_t)nentries - d->stream_bad;
        d->rep->rejected_streams++;
        return 0;
    }
    return d->out->nrecords > first ? add_resource(d, ls, n) : 0;
}

/* The nanoseconds of a JSON timestamp (a string of decimal digits, at most INT64_MAX as
 * Loki parses it as an int64), or why it is invalid. */
static void parse_ns(dec *d, osp_str s, uint64_t *v)
{
    char tmp[OSP_STR_PRINTABLE_SIZE];
    uint64_t x = 0;
    int digits = s.n > 0;
    for (size_t i = 0; i < s.n && digits; i++)
        digits = s.p[i] >= '0' && s.p[i] <= '9';
    if (!digits) {
        entry_bad(d, "timestamp \"%s\" is not a decimal number of nanoseconds",
                  osp_str_printable(s, tmp));
        return;
    }
    for (size_t i = 0; i < s.n; i++) {
        unsigned dg = (unsigned)(s.p[i] - '0');
        if (x > ((uint64_t)INT64_MAX - dg) / 10) {
            entry_bad(d, "timestamp \"%s\" is past the largest time (2^63-1 ns)",
                      osp_str_printable(s, tmp));
            return;
        }
        x = x * 10 + dg;
    }
    *v = x;
}

/* Ends a decode: out goes back to how it was on failure. */
static int finish(dec *d, int rc, size_t nres, size_t nscopes, size_t nrec)
{
    if (rc == OSP_ETOOBIG) { /* scratch buffers are sized for any valid input */
        snprintf(d->rep->message, sizeof d->rep->message, "decoded data too large");
        rc = OSP_EPARSE;
    }
    if (rc == OSP_ENOMEM)
        snprintf(d->rep->message, sizeof d->rep->message, "out of memory");
    if (rc < 0) {
        d->out->nresources = nres;
        d->out->nscopes = nscopes;
        d->out->nrecords = nrec;
        d->rep->rejected = d->rep->rejected_streams = 0;
    }
    return rc;
}

/* ---- JSON ---- */

/* Fails the request for JSON that is not shaped like a push. */
__attribute__((format(printf, 3, 4))) static int jinvalid(dec *d, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = osp_json_vshape_error(d->rep->message, sizeof d->rep->message, "invalid Loki push",
                                   off, fmt, ap);
    va_end(ap);
    return rc;
}

static int jsyntax(dec *d, int rc)
{
    return osp_json_syntax_error(&d->r, rc, d->rep->message, sizeof d->rep->message);
}

static int jnext(dec *d, osp_json_token *t)
{
    return jsyntax(d, osp_json_next(&d->r, t));
}

/* Skips the rest of the value t begins. */
static int jskip(dec *d, const osp_json_token *t)
{
    return jsyntax(d, osp_json_skip(&d->r, t));
}

/* A key or string token's text, kept past the next read (escaped text is copied). */
static int stable(dec *d, const osp_json_token *t, osp_str *out)
{
    *out = t->escaped ? osp_arena_strdup(&d->tmp, t->s) : t->s;
    return out->p || !t->escaped ? 0 : OSP_ENOMEM;
}

/* The "stream" object just opened: its labels into d->labels. */
static int json_labels(dec *d)
{
    osp_json_token k, t;
    osp_label l;
    int rc;
    osp_buf_reset(&d->labels);
    while ((rc = jnext(d, &k)) == 1 && k.type == OSP_JSON_KEY) {
        if ((rc = stable(d, &k, &l.name)) != 0 || (rc = jnext(d, &t)) < 0)
            return rc;
        if (t.type != OSP_JSON_STRING)
            return jinvalid(d, t.off, "stream label values must be strings");
        if ((rc = stable(d, &t, &l.value)) != 0 ||
            (rc = osp_buf_append(&d->labels, &l, sizeof l)) != 0)
            return rc;
    }
    return rc < 0 ? rc : 0;
}

/* A structured metadata object just opened, into d->attrs (checked when check is set). */
static int json_metadata(dec *d, int check)
{
    osp_json_token k, t;
    osp_str name;
    int rc;
    while ((rc = jnext(d, &k)) == 1 && k.type == OSP_JSON_KEY) {
        name = k.s;
        if (k.escaped) { /* the value may be unescaped into the same scratch */
            osp_buf_reset(&d->key);
            if ((rc = osp_buf_append_str(&d->key, k.s)) != 0)
                return rc;
            name = osp_buf_str(&d->key);
        }
        if ((rc = jnext(d, &t)) < 0)
            return rc;
        if (t.type != OSP_JSON_STRING)
            return jinvalid(d, t.off, "structured metadata values must be strings");
        if (check && (rc = add_metadata(d, name, t.s, 0)) != 0)
            return rc;
    }
    return rc < 0 ? rc : 0;
}

#define JSON_ENTRY_SHAPE "an entry must be [timestamp, line] or [timestamp, line, metadata]"

/* The entry array just opened at off: a record unless its stream is known bad (check 0). */
static int json_entry(dec *d, size_t si, size_t ei, uint32_t resource, int check, size_t off)
{
    osp_json_token t;
    uint64_t t_ns = 0;
    int rc;
    d->why[0] = 0;
    osp_buf_reset(&d->attrs);
    if ((rc = jnext(d, &t)) < 0)
        return rc;
    if (t.type == OSP_JSON_ARRAY_END)
        return jinvalid(d, off, JSON_ENTRY_SHAPE);
    if (t.type == OSP_JSON_STRING) {
        parse_ns(d, t.s, &t_ns);
    } else {
        entry_bad(d, "timestamp must be a string of decimal nanoseconds, not %s",
                  osp_json_kind(t.type));
        if ((rc = jskip(d, &t)) < 0)
            return rc;
    }
    if ((rc = jnext(d, &t)) < 0)
        return rc;
    if (t.type != OSP_JSON_STRING)
        return t.type == OSP_JSON_ARRAY_END
                   ? jinvalid(d, off, JSON_ENTRY_SHAPE)
                   : jinvalid(d, t.off, "an entry's line must be a string");
    if (check && (rc = put_line(d, t.s)) != 0)
        return rc;
    if ((rc = jnext(d, &t)) < 0)
        return rc;
    if (t.type == OSP_JSON_OBJECT_BEGIN || t.type == OSP_JSON_NULL) {
        if ((t.type == OSP_JSON_OBJECT_BEGIN && (rc = json_metadata(d, check)) < 0) ||
            (rc = jnext(d, &t)) < 0)
            return rc;
        if (t.type != OSP_JSON_ARRAY_END)
            return jinvalid(d, off, JSON_ENTRY_SHAPE);
    } else if (t.type != OSP_JSON_ARRAY_END) {
        return jinvalid(d, t.off, "structured metadata must be an object");
    }
    return check ? end_entry(d, si, ei, t_ns, resource) : 0;
}

/* The stream object just opened, index si. Its members may come in any order: entries
 * read before the labels are added, and taken back if the labels turn out bad. */
static int json_stream(dec *d, size_t si)
{
    static const char *const names[] = {"stream", "values"};
    osp_json_token k, t;
    size_t first = d->out->nrecords, nentries = 0;
    uint32_t resource = (uint32_t)d->out->nresources;
    int rc, m, seen = 0, have_labels = 0, bad = 0;
    d->stream_bad = 0;
    osp_buf_reset(&d->labels);
    while ((rc = jnext(d, &k)) == 1 && k.type == OSP_JSON_KEY) {
        m = osp_str_eqz(k.s, names[0]) ? 0 : osp_str_eqz(k.s, names[1]) ? 1 : -1;
        if (m >= 0 && (seen & 1 << m))
            return jinvalid(d, k.off, "duplicate member \"%s\"", names[m]);
        if (m >= 0)
            seen |= 1 << m;
        if ((rc = jnext(d, &t)) < 0)
            return rc;
        if (m < 0 || t.type == OSP_JSON_NULL) {
            rc = jskip(d, &t);
        } else if (m == 0) {
            if (t.type != OSP_JSON_OBJECT_BEGIN)
                return jinvalid(d, t.off, "stream must be an object of labels");
            if ((rc = json_labels(d)) < 0)
                return rc;
            have_labels = 1;
            rc = bad = check_stream_labels(d, si, (const osp_label *)(void *)d->labels.data,
                                           d->labels.len / sizeof(osp_label), 0);
        } else {
            if (t.type != OSP_JSON_ARRAY_BEGIN)
                return jinvalid(d, t.off, "values must be an array");
            while ((rc = jnext(d, &t)) == 1 && t.type != OSP_JSON_ARRAY_END) {
                if (t.type != OSP_JSON_ARRAY_BEGIN)
                    return jinvalid(d, t.off, "values must be an array of entry arrays");
                if ((rc = json_entry(d, si, nentries++, resource, !bad, t.off)) < 0)
                    return rc;
            }
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (!have_labels && (bad = check_stream_labels(d, si, NULL, 0, 0)) < 0)
        return bad;
    return end_stream(d, bad, first, nentries, (const osp_label *)(void *)d->labels.data,
                      d->labels.len / sizeof(osp_label));
}

static int json_body(dec *d)
{
    osp_json_token t, k;
    int rc, seen = 0;
    size_t si = 0;
    if ((rc = jnext(d, &t)) < 0)
        return rc;
    if (t.type != OSP_JSON_OBJECT_BEGIN)
        return jinvalid(d, t.off, "a push must be a JSON object");
    while ((rc = jnext(d, &k)) == 1 && k.type == OSP_JSON_KEY) {
        int streams = osp_str_eqz(k.s, "streams");
        if (streams && seen++)
            return jinvalid(d, k.off, "duplicate member \"streams\"");
        if ((rc = jnext(d, &t)) < 0)
            return rc;
        if (!streams || t.type == OSP_JSON_NULL) {
            if ((rc = jskip(d, &t)) < 0)
                return rc;
            continue;
        }
        if (t.type != OSP_JSON_ARRAY_BEGIN)
            return jinvalid(d, t.off, "streams must be an array");
        while ((rc = jnext(d, &t)) == 1 && t.type != OSP_JSON_ARRAY_END) {
            if (t.type != OSP_JSON_OBJECT_BEGIN)
                return jinvalid(d, t.off, "streams must be an array of objects");
            if ((rc = json_stream(d, si++)) < 0)
                return rc;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    rc = jnext(d, &t); /* nothing may follow the object */
    return rc < 0 ? rc : 0;
}

int osp_loki_decode_json(osp_str body, osp_log_batch *out, osp_loki_report *rep)
{
    size_t nres = out->nresources, nscopes = out->nscopes, nrec = out->nrecords;
    dec d;
    dec_init(&d, out, rep, body.n);
    osp_json_reader_init(&d.r, body, &d.scratch);
    int rc = finish(&d, json_body(&d), nres, nscopes, nrec);
    dec_cleanup(&d);
    return rc;
}

/* ---- protobuf ---- */

static osp_pb_reader reader_of(osp_str s)
{
    return s.n ? osp_pb_reader_make(s.p, s.n) : osp_pb_reader_make("", 0);
}

/* Next field; on a framing error reports r's problem at its position. */
static int next(dec *d, osp_pb_reader *r, osp_pb_field *f, const void **at, const char *what)
{
    *at = r->p;
    int rc = osp_pb_next(r, f);
    if (rc < 0)
        return fail_at(&d->w, r->p, "%s: %s", what, osp_pb_reason(r));
    return rc;
}

/* Checks a known field's wire type. 0, or OSP_EPARSE naming the field. */
static int want_wire(dec *d, const void *at, const char *what, const osp_pb_field *f,
                     enum osp_pb_wire want)
{
    static const char *const wire_names[] = {"varint", "i64", "len", "sgroup", "egroup", "i32"};
    if (f->wire == want)
        return 0;
    return fail_at(&d->w, at, "%s field %u has wire type %s, want %s", what, f->num,
                   wire_names[f->wire <= 5 ? f->wire : 0], wire_names[want]);
}

/* A google.protobuf.Timestamp as nanoseconds (at most INT64_MAX, as in the JSON form), or
 * why the entry is invalid. */
static int pb_timestamp(dec *d, osp_str m, uint64_t *t_ns)
{
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    int64_t sec = 0, nanos = 0;
    int rc;
    while ((rc = next(d, &r, &f, &at, "Timestamp")) == 1) {
        if (f.num != 1 && f.num != 2)
            continue;
        if ((rc = want_wire(d, at, "Timestamp", &f, OSP_PB_VARINT)) != 0)
            return rc;
        if (f.num == 1)
            sec = (int64_t)f.u64;
        else
            nanos = (int64_t)f.u64;
    }
    if (rc < 0)
        return rc;
    if (nanos < 0 || nanos > 999999999)
        entry_bad(d, "timestamp nanos %lld outside 0..999999999", (long long)nanos);
    else if (sec < 0)
        entry_bad(d, "timestamp seconds %lld is negative", (long long)sec);
    else if (sec > (INT64_MAX - nanos) / 1000000000)
        entry_bad(d, "timestamp seconds %lld is past the largest time (2^63-1 ns)", (long long)sec);
    else
        *t_ns = (uint64_t)sec * 1000000000u + (uint64_t)nanos;
    return 0;
}

/* A LabelPairAdapter of structured metadata, appended to d->attrs when check is set. */
static int pb_metadata(dec *d, osp_str m, int check)
{
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    osp_str name = OSP_STR_NULL, value = OSP_STR_NULL;
    int rc;
    while ((rc = next(d, &r, &f, &at, "LabelPairAdapter")) == 1) {
        if (f.num != 1 && f.num != 2)
            continue;
        if ((rc = want_wire(d, at, "LabelPairAdapter", &f, OSP_PB_LEN)) != 0)
            return rc;
        if (f.num == 1)
            name = f.bytes;
        else
            value = f.bytes;
    }
    return rc < 0 || !check ? rc : add_metadata(d, name, value, 1);
}

/* An EntryAdapter: a record unless its stream is bad (check 0; then only its framing is
 * read). */
static int pb_entry(dec *d, osp_str m, size_t si, size_t ei, uint32_t resource, int check)
{
    static const char *const what = "EntryAdapter";
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    osp_str line = OSP_STR_NULL;
    uint64_t t_ns = 0;
    int rc;
    d->why[0] = 0;
    osp_buf_reset(&d->attrs);
    while ((rc = next(d, &r, &f, &at, what)) == 1) {
        if (f.num < 1 || f.num > 3)
            continue;
        if ((rc = want_wire(d, at, what, &f, OSP_PB_LEN)) != 0)
            return rc;
        if (f.num == 1)
            rc = pb_timestamp(d, f.bytes, &t_ns);
        else if (f.num == 2)
            line = f.bytes;
        else
            rc = pb_metadata(d, f.bytes, check);
        if (rc < 0)
            return rc;
    }
    if (rc < 0 || !check)
        return rc;
    if (!osp_utf8_valid(line.p, line.n))
        entry_bad(d, "line is not valid UTF-8");
    if ((rc = put_line(d, line)) != 0)
        return rc;
    return end_entry(d, si, ei, t_ns, resource);
}

/* A StreamAdapter, index si: its labels first (wherever they are), then its entries. */
static int pb_stream(dec *d, osp_str m, size_t si)
{
    static const char *const what = "StreamAdapter";
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    osp_str text = OSP_STR_NULL;
    osp_label *ls = NULL;
    size_t n = 0, nentries = 0, first = d->out->nrecords;
    uint32_t resource = (uint32_t)d->out->nresources;
    int rc, bad, have_text = 0;
    char err[128];
    while ((rc = next(d, &r, &f, &at, what)) == 1) {
        if (f.num < 1 || f.num > 3)
            continue;
        if ((rc = want_wire(d, at, what, &f, f.num == 3 ? OSP_PB_VARINT : OSP_PB_LEN)) != 0)
            return rc;
        if (f.num == 1)
            text = f.bytes, have_text = 1;
        nentries += f.num == 2;
    }
    if (rc < 0)
        return rc;
    rc = have_text ? osp_loki_parse_labels(text, &d->tmp, &ls, &n, err, sizeof err) : 0;
    if (rc == OSP_EPARSE) {
        problem(d, si, SIZE_MAX, "cannot parse labels: %s", err);
        bad = 1;
    } else if (rc < 0) {
        return rc;
    } else if ((bad = check_stream_labels(d, si, ls, n, 1)) < 0) {
        return bad;
    }
    d->stream_bad = 0;
    r = reader_of(m);
    size_t ei = 0;
    while ((rc = next(d, &r, &f, &at, what)) == 1)
        if (f.num == 2 && (rc = pb_entry(d, f.bytes, si, ei++, resource, !bad)) < 0)
            return rc;
    return rc < 0 ? rc : end_stream(d, bad, first, nentries, ls, n);
}

static int pb_request(dec *d, osp_str m)
{
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    size_t si = 0;
    int rc;
    while ((rc = next(d, &r, &f, &at, "PushRequest")) == 1) {
        if (f.num != 1)
            continue;
        if ((rc = want_wire(d, at, "PushRequest", &f, OSP_PB_LEN)) != 0 ||
            (rc = pb_stream(d, f.bytes, si++)) < 0)
            return rc;
    }
    return rc;
}

int osp_loki_decode_pb(osp_str body, size_t max_len, osp_log_batch *out, osp_loki_report *rep)
{
    size_t nres = out->nresources, nscopes = out->nscopes, nrec = out->nrecords, n;
    const char *in = body.n ? body.p : "";
    memset(rep, 0, sizeof *rep);
    if (snappy_uncompressed_length(in, body.n, &n) != SNAPPY_OK) {
        snprintf(rep->message, sizeof rep->message, "snappy: bad uncompressed length preamble");
        return OSP_EPARSE;
    }
    if (max_len && n > max_len) {
        snprintf(rep->message, sizeof rep->message,
                 "snappy: uncompressed length %zu exceeds the limit of %zu bytes", n, max_len);
        return OSP_ETOOBIG;
    }
    char *raw = osp_malloc(n ? n : 1);
    if (!raw) {
        snprintf(rep->message, sizeof rep->message, "out of memory for %zu uncompressed bytes", n);
        return OSP_ENOMEM;
    }
    size_t got = n;
    if (snappy_uncompress(in, body.n, raw, &got) != SNAPPY_OK || got != n) {
        snprintf(rep->message, sizeof rep->message, "snappy: corrupt compressed data");
        osp_free(raw);
        return OSP_EPARSE;
    }
    dec d;
    dec_init(&d, out, rep, n);
    d.w = (where){raw, rep->message, sizeof rep->message};
    int rc = finish(&d, pb_request(&d, osp_str_make(raw, n)), nres, nscopes, nrec);
    dec_cleanup(&d);
    osp_free(raw);
    return rc;
}
