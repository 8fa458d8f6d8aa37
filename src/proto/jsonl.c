/* JSON lines log decoder: one JSON object per line (or one array of objects) into canonical
 * log rows.
 *
 * Each line or array element is an item, read twice by its own JSON reader: a scan checks
 * that it is one object without repeated member names and finds which alias of each mapped
 * field it uses; the build pass then writes the record's fields, its attributes (the other
 * members, converted to AnyValues as they stream by) and its resource attributes. A problem
 * in an item rejects that item only; in the array form the array itself is read first, so
 * malformed JSON there fails the whole request. Rows are copied into the batch's arena;
 * resources are de-duplicated through a hash table of their attribute blobs. */
#include "proto/jsonl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/rfc3339.h"
#include "model/attr.h"
#include "core/json.h"
#include "proto/otlp.h"

/* Mapped fields, and their member names in order of preference. */
enum {
    F_TIME,
    F_BODY,
    F_LEVEL,
    F_SEVNUM,
    F_TRACE,
    F_SPAN,
    F_FLAGS,
    F_SERVICE,
    F_RESOURCE,
    F_EVENT,
    F_N
};

static const struct alias {
    const char *name;
    int field;
} aliases[] = {
    {"timestamp", F_TIME},
    {"time", F_TIME},
    {"ts", F_TIME},
    {"@timestamp", F_TIME},
    {"date", F_TIME},
    {"message", F_BODY},
    {"msg", F_BODY},
    {"log", F_BODY},
    {"body", F_BODY},
    {"text", F_BODY},
    {"level", F_LEVEL},
    {"severity", F_LEVEL},
    {"lvl", F_LEVEL},
    {"loglevel", F_LEVEL},
    {"severity_text", F_LEVEL},
    {"severity_number", F_SEVNUM},
    {"severityNumber", F_SEVNUM},
    {"trace_id", F_TRACE},
    {"traceId", F_TRACE},
    {"traceid", F_TRACE},
    {"span_id", F_SPAN},
    {"spanId", F_SPAN},
    {"spanid", F_SPAN},
    {"trace_flags", F_FLAGS},
    {"flags", F_FLAGS},
    {"service.name", F_SERVICE},
    {"service_name", F_SERVICE},
    {"service", F_SERVICE},
    {"app", F_SERVICE},
    {"application", F_SERVICE},
    {"resource", F_RESOURCE},
    {"event_name", F_EVENT},
    {"event.name", F_EVENT},
};
#define NALIASES (int)(sizeof aliases / sizeof aliases[0])

/* Severity names (any case) and their OTLP numbers. */
static const struct level {
    const char *name;
    int32_t number;
} levels[] = {
    {"trace", OSP_SEVERITY_TRACE},     {"debug", OSP_SEVERITY_DEBUG},
    {"info", OSP_SEVERITY_INFO},       {"information", OSP_SEVERITY_INFO},
    {"notice", OSP_SEVERITY_INFO},     {"warn", OSP_SEVERITY_WARN},
    {"warning", OSP_SEVERITY_WARN},    {"error", OSP_SEVERITY_ERROR},
    {"err", OSP_SEVERITY_ERROR},       {"fatal", OSP_SEVERITY_FATAL},
    {"critical", OSP_SEVERITY_FATAL},  {"crit", OSP_SEVERITY_FATAL},
    {"panic", OSP_SEVERITY_FATAL},     {"emerg", OSP_SEVERITY_FATAL},
    {"emergency", OSP_SEVERITY_FATAL}, {"alert", OSP_SEVERITY_FATAL},
};

/* An item being rejected unwinds with this (errors are negative; 1 is a token read). */
#define REJECTED 2

typedef struct item {
    osp_str text;  /* the line or element */
    size_t base;   /* its offset in the body */
    size_t number; /* line number (from 1) or element index (from 0) */
} item;

typedef struct dec {
    osp_log_batch *out;
    osp_jsonl_report *rep;
    int array;            /* the body is an array: items are elements */
    osp_json_reader r;    /* over the current item */
    osp_buf scratch;      /* r's unescaped strings */
    osp_buf keys;         /* the scan's member names (osp_str) of the open objects */
    osp_buf attrs, value; /* the record's attributes and body */
    osp_buf res_obj, res; /* the "resource" object's members; the resource's attributes */
    osp_arena tmp;        /* escaped names and strings of the current item */
    int winner[F_N];      /* per field: the alias the item uses, NALIASES if none */
    int res_has_service;  /* the "resource" object has a service.name member */
    uint32_t scope;       /* the shared scope's index */
    int scope_added;
    size_t first_resource; /* resources before it are not this decode's */
    uint32_t *slots;       /* hash table of this decode's resources: index + 1, 0 free */
    size_t nslots;         /* a power of two, or 0 */
} dec;

/* ---- messages ---- */

/* Rejects the item: "line N: <what> at offset OFF" (off within the item) becomes the
 * report's message unless it has one. Returns REJECTED. */
__attribute__((format(printf, 4, 5))) static int reject(dec *d, const item *it, size_t off,
                                                        const char *fmt, ...)
{
    char kind[40];
    if (d->rep->message[0])
        return REJECTED;
    snprintf(kind, sizeof kind, "%s %zu", d->array ? "element" : "line", it->number);
    va_list ap;
    va_start(ap, fmt);
    osp_json_vshape_error(d->rep->message, sizeof d->rep->message, kind, it->base + off, fmt, ap);
    va_end(ap);
    return REJECTED;
}

/* Passes the reader's rc on; malformed JSON rejects the item with the reader's reason. */
static int syntax(dec *d, const item *it, int rc)
{
    if (rc != OSP_EPARSE && rc != OSP_ETOOBIG)
        return rc;
    char why[sizeof d->r.err], *cut = NULL;
    memcpy(why, d->r.err, sizeof why);
    for (char *at = strstr(why, " at offset "); at; at = strstr(at + 1, " at offset "))
        cut = at;
    if (cut) /* the offset is put back, counted in the body */
        *cut = 0;
    return reject(d, it, d->r.err_off, "malformed JSON: %s", why);
}

static int next(dec *d, const item *it, osp_json_token *t)
{
    return syntax(d, it, osp_json_next(&d->r, t));
}

/* A key or string token's text, valid until the item's end: a slice of the body, or for
 * escaped text (which the next read overwrites) a copy in d->tmp. */
static int stable(dec *d, const osp_json_token *t, osp_str *out)
{
    if (!t->escaped) {
        *out = t->s;
        return 0;
    }
    *out = osp_arena_strdup(&d->tmp, t->s);
    return out->p ? 0 : OSP_ENOMEM;
}

/* ---- scan ---- */

static int alias_of(osp_str key)
{
    for (int i = 0; i < NALIASES; i++)
        if (osp_str_eqz(key, aliases[i].name))
            return i;
    return NALIASES;
}

static int by_str(const void *a, const void *b)
{
    return osp_str_cmp(*(const osp_str *)a, *(const osp_str *)b);
}

/* The object whose names start at index first of d->keys has closed: rejects a name given
 * twice, then drops its names. */
static int close_object(dec *d, const item *it, size_t first, size_t off)
{
    char tmp[OSP_STR_PRINTABLE_SIZE];
    size_t n = d->keys.len / sizeof(osp_str) - first;
    osp_str *k = n ? (osp_str *)(void *)d->keys.data + first : NULL;
    if (n > 1)
        qsort(k, n, sizeof *k, by_str);
    for (size_t i = 1; i < n; i++)
        if (osp_str_eq(k[i - 1], k[i]))
            return reject(d, it, off, "duplicate member \"%s\" in the object",
                          osp_str_printable(k[i], tmp));
    d->keys.len = first * sizeof(osp_str);
    return 0;
}

/* Reads the whole item once: one object, no repeated names, then which alias each field
 * uses and whether a "resource" object names the service. 0, REJECTED or an error. */
static int scan(dec *d, const item *it)
{
    size_t firsts[OSP_JSON_MAX_DEPTH], offs[OSP_JSON_MAX_DEPTH];
    osp_json_token t;
    osp_str key;
    int rc, top = NALIASES;
    for (int f = 0; f < F_N; f++)
        d->winner[f] = NALIASES;
    d->res_has_service = 0;
    osp_buf_reset(&d->keys);
    osp_json_reader_init(&d->r, it->text, &d->scratch);
    if ((rc = next(d, it, &t)) != 1)
        return rc;
    if (t.type != OSP_JSON_OBJECT_BEGIN)
        return reject(d, it, t.off, "expected a JSON object, not %s", osp_json_kind(t.type));
    firsts[0] = 0, offs[0] = t.off;
    while (d->r.depth > 0) {
        if ((rc = next(d, it, &t)) != 1)
            return rc;
        unsigned depth = d->r.depth;
        if (t.type == OSP_JSON_KEY) {
            if ((rc = stable(d, &t, &key)) != 0 ||
                (rc = osp_buf_append(&d->keys, &key, sizeof key)))
                return rc;
            if (depth == 1) {
                top = alias_of(key);
                if (top < NALIASES && top < d->winner[aliases[top].field])
                    d->winner[aliases[top].field] = top;
            } else if (depth == 2 && top < NALIASES && aliases[top].field == F_RESOURCE) {
                d->res_has_service |= osp_str_eqz(key, "service.name");
            }
        } else if (t.type == OSP_JSON_OBJECT_BEGIN) {
            firsts[depth - 1] = d->keys.len / sizeof(osp_str), offs[depth - 1] = t.off;
        } else if (t.type == OSP_JSON_OBJECT_END &&
                   (rc = close_object(d, it, firsts[depth], offs[depth])) != 0) {
            return rc;
        }
    }
    return next(d, it, &t); /* 0 at the end: the reader fails on anything after the object */
}

/* ---- values ---- */

static int put_members(dec *d, const item *it, osp_buf *out, int depth);

/* The JSON value t begins, at nesting depth (1 = a member's value), as a canonical AnyValue
 * body appended to out. */
static int put_value(dec *d, const item *it, osp_buf *out, const osp_json_token *t, int depth)
{
    char tmp[OSP_STR_PRINTABLE_SIZE];
    osp_value v = {.type = OSP_VAL_EMPTY};
    osp_json_token e;
    int rc;
    size_t mark;
    if (depth > OSP_MAX_ANYVALUE_DEPTH)
        return reject(d, it, t->off, "value nested deeper than %d levels", OSP_MAX_ANYVALUE_DEPTH);
    switch (t->type) {
    case OSP_JSON_STRING:
        v = (osp_value){.type = OSP_VAL_STRING, .s = t->s};
        break;
    case OSP_JSON_NUMBER:
        v.type = OSP_VAL_INT;
        if (osp_json_int64(t->s, &v.i) == 0)
            break;
        v.type = OSP_VAL_DOUBLE;
        if (osp_json_double(t->s, &v.d) == 0)
            break;
        return reject(d, it, t->off, "number %s is out of range", osp_str_printable(t->s, tmp));
    case OSP_JSON_TRUE:
    case OSP_JSON_FALSE:
        v = (osp_value){.type = OSP_VAL_BOOL, .i = t->type == OSP_JSON_TRUE};
        break;
    case OSP_JSON_OBJECT_BEGIN:
        if ((rc = osp_value_begin_nested(out, OSP_VAL_KVLIST, &mark)) != 0 ||
            (rc = put_members(d, it, out, depth + 1)) != 0)
            return rc;
        return osp_value_end_nested(out, mark);
    case OSP_JSON_ARRAY_BEGIN:
        if ((rc = osp_value_begin_nested(out, OSP_VAL_ARRAY, &mark)) != 0)
            return rc;
        while ((rc = next(d, it, &e)) == 1 && e.type != OSP_JSON_ARRAY_END) {
            size_t elem;
            if ((rc = osp_array_begin_elem(out, &elem)) != 0 ||
                (rc = put_value(d, it, out, &e, depth + 1)) != 0 ||
                (rc = osp_array_end_elem(out, elem)) != 0)
                return rc;
        }
        return rc != 1 ? rc : osp_value_end_nested(out, mark);
    default: /* null: the empty value */
        break;
    }
    return osp_value_put(out, &v);
}

/* The member whose name k was just read, as a KeyValue record appended to out, its value
 * at depth. */
static int put_member(dec *d, const item *it, osp_buf *out, const osp_json_token *k, int depth)
{
    osp_json_token t;
    osp_attr_mark m;
    int rc;
    if ((rc = osp_attr_begin(out, k->s, &m)) != 0 || (rc = next(d, it, &t)) != 1 ||
        (rc = put_value(d, it, out, &t, depth)) != 0)
        return rc;
    return osp_attr_end(out, &m);
}

/* The members of the object just opened, as KeyValue records appended to out, their values
 * at depth. */
static int put_members(dec *d, const item *it, osp_buf *out, int depth)
{
    osp_json_token k;
    int rc;
    while ((rc = next(d, it, &k)) == 1 && k.type == OSP_JSON_KEY)
        if ((rc = put_member(d, it, out, &k, depth)) != 0)
            return rc;
    return rc == 1 ? 0 : rc;
}

/* ---- mapped fields ---- */

/* Rejects a string or number member whose text does not parse: `name "text" is not
 * <want>` (numbers unquoted). */
static int bad_text(dec *d, const item *it, const osp_json_token *t, const char *name,
                    const char *want)
{
    char tmp[OSP_STR_PRINTABLE_SIZE];
    const char *q = t->type == OSP_JSON_STRING ? "\"" : "";
    return reject(d, it, t->off, "%s %s%s%s is not %s", name, q, osp_str_printable(t->s, tmp), q,
                  want);
}

/* A time in JSON number syntax: seconds, milliseconds, microseconds or nanoseconds by
 * magnitude, exact for plain decimals. 0, or -1 (negative), or -2 (past uint64 ns). */
static int number_time(osp_str s, double d, uint64_t *ns)
{
    uint64_t scale = d < 1e11 ? 1000000000u : d < 1e14 ? 1000000u : d < 1e17 ? 1000u : 1u;
    if (s.p[0] == '-')
        return -1;
    if (memchr(s.p, 'e', s.n) || memchr(s.p, 'E', s.n)) {
        double x = d * (double)scale;
        if (!(x < 18446744073709551616.0))
            return -2;
        *ns = (uint64_t)x;
        return 0;
    }
    const char *dot = memchr(s.p, '.', s.n);
    size_t nint = dot ? (size_t)(dot - s.p) : s.n;
    uint64_t whole, frac = 0, fscale = scale;
    if (osp_json_uint64(osp_str_make(s.p, nint), &whole) || whole > UINT64_MAX / scale)
        return -2;
    for (size_t i = nint + 1; dot && i < s.n && fscale > 1; i++) {
        fscale /= 10;
        frac += (uint64_t)(s.p[i] - '0') * fscale;
    }
    if (whole * scale > UINT64_MAX - frac)
        return -2;
    *ns = whole * scale + frac;
    return 0;
}

/* The time member's value t (not null). */
static int get_time(dec *d, const item *it, const osp_json_token *t, const char *name, uint64_t *ns)
{
    char tmp[OSP_STR_PRINTABLE_SIZE];
    double x;
    if (t->type != OSP_JSON_STRING && t->type != OSP_JSON_NUMBER)
        return reject(d, it, t->off, "%s must be a string or a number, not %s", name,
                      osp_json_kind(t->type));
    int rc = osp_json_double(t->s, &x) == 0 ? number_time(t->s, x, ns)
             : t->type == OSP_JSON_NUMBER   ? -2
                                            : 1;
    if (rc < 0)
        return reject(d, it, t->off, "%s %s is %s", name, osp_str_printable(t->s, tmp),
                      rc == -1 ? "negative" : "past the largest time");
    if (rc == 0 || osp_rfc3339_parse(t->s, ns) == 0)
        return 0;
    return bad_text(d, it, t, name, "an RFC 3339 time or a number");
}

/* The level member's value t (not null): its text, and its number from a known name (any
 * case) or a pino/bunyan numeric level (10, 20, .. 60). */
static int get_level(dec *d, const item *it, const osp_json_token *t, const char *name,
                     osp_str *text, int32_t *number)
{
    int64_t n;
    if (t->type != OSP_JSON_STRING && t->type != OSP_JSON_NUMBER)
        return reject(d, it, t->off, "%s must be a string or a number, not %s", name,
                      osp_json_kind(t->type));
    if (t->type == OSP_JSON_NUMBER) {
        if (osp_json_int64(t->s, &n) == 0 && n >= 10 && n <= 60 && n % 10 == 0)
            *number = (int32_t)(n / 10 - 1) * 4 + 1;
    } else {
        for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
            if (osp_str_ieq(t->s, osp_str_c(levels[i].name)))
                *number = levels[i].number;
    }
    return stable(d, t, text);
}

/* The severity number member's value t (not null): 1..24, as a number or decimal string. */
static int get_sevnum(dec *d, const item *it, const osp_json_token *t, const char *name,
                      int32_t *number)
{
    int64_t n;
    if (t->type == OSP_JSON_STRING || t->type == OSP_JSON_NUMBER) {
        if (osp_json_int64(t->s, &n) == 0 && n >= 1 && n <= 24) {
            *number = (int32_t)n;
            return 0;
        }
        return bad_text(d, it, t, name, "a severity number from 1 to 24");
    }
    return reject(d, it, t->off, "%s must be a number from 1 to 24, not %s", name,
                  osp_json_kind(t->type));
}

/* A trace or span id member's value t (not null): a string of 2 * n hex digits. */
static int get_id(dec *d, const item *it, const osp_json_token *t, const char *name, uint8_t *id,
                  size_t n)
{
    char tmp[OSP_STR_PRINTABLE_SIZE];
    if (t->type != OSP_JSON_STRING)
        return reject(d, it, t->off, "%s must be a string of %zu hex digits, not %s", name, 2 * n,
                      osp_json_kind(t->type));
    if (t->s.n != 2 * n || osp_hex_decode(t->s.p, n, id))
        return reject(d, it, t->off, "%s \"%s\" is not %zu hex digits", name,
                      osp_str_printable(t->s, tmp), 2 * n);
    return 0;
}

/* The trace flags member's value t (not null): a number 0..255 or two hex digits. */
static int get_flags(dec *d, const item *it, const osp_json_token *t, const char *name,
                     uint32_t *flags)
{
    uint64_t n;
    uint8_t b;
    if (t->type == OSP_JSON_NUMBER && osp_json_uint64(t->s, &n) == 0 && n <= 255) {
        *flags = (uint32_t)n;
        return 0;
    }
    if (t->type == OSP_JSON_STRING && t->s.n == 2 && osp_hex_decode(t->s.p, 1, &b) == 0) {
        *flags = b;
        return 0;
    }
    if (t->type == OSP_JSON_STRING || t->type == OSP_JSON_NUMBER)
        return bad_text(d, it, t, name, "a number from 0 to 255 or two hex digits");
    return reject(d, it, t->off, "%s must be a number or a string, not %s", name,
                  osp_json_kind(t->type));
}

/* A member whose value must be a string (service, event name); "" is absent. */
static int get_string(dec *d, const item *it, const osp_json_token *t, const char *name,
                      osp_str *out)
{
    if (t->type != OSP_JSON_STRING)
        return reject(d, it, t->off, "%s must be a string, not %s", name, osp_json_kind(t->type));
    return stable(d, t, out);
}

/* ---- rows ---- */

/* Copies a built blob (or a string) into the batch's arena. */
static int keep(dec *d, osp_str src, osp_str *out)
{
    *out = OSP_STR_NULL;
    if (src.n == 0)
        return 0;
    out->p = osp_arena_memdup(&d->out->arena, src.p, src.n);
    out->n = src.n;
    return out->p ? 0 : OSP_ENOMEM;
}

static int grow_slots(dec *d)
{
    size_t n = d->nslots ? 2 * d->nslots : 64;
    uint32_t *slots = osp_calloc(n, sizeof *slots);
    if (!slots)
        return OSP_ENOMEM;
    for (size_t i = 0; i < d->nslots; i++) {
        if (!d->slots[i])
            continue;
        osp_str a = d->out->resources[d->slots[i] - 1].attributes;
        size_t j = XXH3_64bits(a.p, a.n) & (n - 1);
        while (slots[j])
            j = (j + 1) & (n - 1);
        slots[j] = d->slots[i];
    }
    osp_free(d->slots);
    d->slots = slots;
    d->nslots = n;
    return 0;
}

/* The resource with the attributes in d->res, added unless this decode has one already. */
static int find_resource(dec *d, uint32_t *index)
{
    osp_str attrs = osp_buf_str(&d->res);
    size_t mine = d->out->nresources - d->first_resource;
    int rc;
    if (2 * (mine + 1) > d->nslots && (rc = grow_slots(d)) != 0)
        return rc;
    size_t j = XXH3_64bits(attrs.p, attrs.n) & (d->nslots - 1);
    for (; d->slots[j]; j = (j + 1) & (d->nslots - 1))
        if (osp_str_eq(d->out->resources[d->slots[j] - 1].attributes, attrs)) {
            *index = d->slots[j] - 1;
            return 0;
        }
    osp_resource res = {0};
    osp_value v;
    if ((rc = keep(d, attrs, &res.attributes)) != 0)
        return rc;
    if (osp_attr_find(res.attributes, OSP_STR_LIT("service.name"), &v) == 1 &&
        v.type == OSP_VAL_STRING)
        res.service_name = v.s;
    osp_resource *row = osp_log_batch_add_resource(d->out);
    if (!row)
        return OSP_ENOMEM;
    *row = res;
    *index = (uint32_t)(d->out->nresources - 1);
    d->slots[j] = *index + 1;
    return 0;
}

/* Adds the record built from the item. */
static int add_record(dec *d, osp_log_record *rec, osp_str service)
{
    osp_value v = {.type = OSP_VAL_STRING, .s = service};
    int rc;
    osp_buf_reset(&d->res);
    if ((service.n && (rc = osp_attr_append(&d->res, OSP_STR_LIT("service.name"), &v)) != 0) ||
        (rc = osp_buf_append_str(&d->res, osp_buf_str(&d->res_obj))) != 0 ||
        (rc = find_resource(d, &rec->resource)) != 0)
        return rc;
    if (!d->scope_added) {
        if (!osp_log_batch_add_scope(d->out))
            return OSP_ENOMEM;
        d->scope_added = 1;
    }
    rec->scope = d->scope;
    if ((rc = keep(d, osp_buf_str(&d->value), &rec->body)) != 0 ||
        (rc = keep(d, osp_buf_str(&d->attrs), &rec->attributes)) != 0 ||
        (rc = keep(d, rec->severity_text, &rec->severity_text)) != 0 ||
        (rc = keep(d, rec->event_name, &rec->event_name)) != 0)
        return rc;
    osp_log_record *row = osp_log_batch_add_record(d->out);
    if (!row)
        return OSP_ENOMEM;
    *row = *rec;
    return 0;
}

/* One mapped member's value t (not null) into rec. */
static int field(dec *d, const item *it, int a, const osp_json_token *t, osp_log_record *rec,
                 int32_t *sevnum, osp_str *service)
{
    const char *name = aliases[a].name;
    switch (aliases[a].field) {
    case F_TIME:
        return get_time(d, it, t, name, &rec->time_ns);
    case F_BODY:
        rec->has_body = 1;
        return put_value(d, it, &d->value, t, 1);
    case F_LEVEL:
        return get_level(d, it, t, name, &rec->severity_text, &rec->severity_number);
    case F_SEVNUM:
        return get_sevnum(d, it, t, name, sevnum);
    case F_TRACE:
        return get_id(d, it, t, name, rec->trace_id, sizeof rec->trace_id);
    case F_SPAN:
        return get_id(d, it, t, name, rec->span_id, sizeof rec->span_id);
    case F_FLAGS:
        return get_flags(d, it, t, name, &rec->flags);
    case F_SERVICE:
        return get_string(d, it, t, name, service);
    case F_EVENT:
        return get_string(d, it, t, name, &rec->event_name);
    default: /* F_RESOURCE */
        if (t->type != OSP_JSON_OBJECT_BEGIN)
            return reject(d, it, t->off, "resource must be an object, not %s",
                          osp_json_kind(t->type));
        return put_members(d, it, &d->res_obj, 2);
    }
}

/* Builds the record of a scanned item. 0, REJECTED or an error. */
static int build(dec *d, const item *it)
{
    osp_log_record rec = {0};
    osp_json_token k, t;
    osp_str service = OSP_STR_NULL;
    int32_t sevnum = 0;
    int rc;
    if (d->res_has_service) /* the resource object's service.name wins */
        d->winner[F_SERVICE] = NALIASES;
    osp_buf *all[] = {&d->attrs, &d->value, &d->res_obj};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        osp_buf_reset(all[i]);
    osp_json_reader_init(&d->r, it->text, &d->scratch);
    if ((rc = next(d, it, &t)) != 1)
        return rc;
    while ((rc = next(d, it, &k)) == 1 && k.type == OSP_JSON_KEY) {
        int a = alias_of(k.s);
        if (a == NALIASES || d->winner[aliases[a].field] != a)
            rc = put_member(d, it, &d->attrs, &k, 1);
        else if ((rc = next(d, it, &t)) == 1)
            rc = t.type == OSP_JSON_NULL ? 0 : field(d, it, a, &t, &rec, &sevnum, &service);
        if (rc != 0)
            return rc;
    }
    if (rc != 1)
        return rc;
    if (sevnum)
        rec.severity_number = sevnum;
    return add_record(d, &rec, service);
}

/* Decodes one line or element: a record, or a rejection counted. 0 or an error. */
static int decode_item(dec *d, const item *it)
{
    int rc;
    if (it->text.n > OSP_JSONL_MAX_LINE)
        rc = reject(d, it, 0, "longer than %zu bytes", OSP_JSONL_MAX_LINE);
    else if ((rc = scan(d, it)) == 0)
        rc = build(d, it);
    osp_arena_cleanup(&d->tmp);
    if (rc == OSP_ETOOBIG) /* item buffers hold any item within the line cap */
        rc = reject(d, it, 0, "decodes to too much data");
    d->rep->rejected += rc == REJECTED;
    return rc == REJECTED ? 0 : rc;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The body as lines: each non-blank one an item. */
static int decode_lines(dec *d, osp_str body)
{
    size_t pos = 0, number = 0;
    int rc = 0;
    while (pos < body.n && rc == 0) {
        const char *nl = memchr(body.p + pos, '\n', body.n - pos);
        size_t end = nl ? (size_t)(nl - body.p) : body.n, n = end - pos;
        item it = {osp_str_make(body.p + pos, n), pos, ++number};
        if (n && it.text.p[n - 1] == '\r')
            it.text.n--;
        size_t i = 0;
        while (i < it.text.n && is_space(it.text.p[i]))
            i++;
        if (i < it.text.n)
            rc = decode_item(d, &it);
        pos = end + 1;
    }
    return rc;
}

/* The body as one array: its syntax fails the request, each element is an item. */
static int decode_array(dec *d, osp_str body)
{
    osp_json_reader r;
    osp_json_token t;
    osp_buf scratch;
    size_t number = 0;
    int rc;
    osp_buf_init(&scratch, 2 * body.n + 4096);
    osp_json_reader_init(&r, body, &scratch);
    rc = osp_json_next(&r, &t); /* the '[' */
    while (rc == 1 && (rc = osp_json_next(&r, &t)) == 1 && t.type != OSP_JSON_ARRAY_END) {
        item it = {OSP_STR_NULL, t.off, number++};
        if ((rc = osp_json_skip(&r, &t)) < 0)
            break;
        it.text = osp_str_make(body.p + t.off, (size_t)(r.p - body.p) - t.off);
        if (t.type != OSP_JSON_OBJECT_BEGIN) {
            d->rep->rejected++;
            reject(d, &it, 0, "expected a JSON object, not %s", osp_json_kind(t.type));
        } else if ((rc = decode_item(d, &it)) < 0) {
            break;
        }
        rc = 1;
    }
    if (rc == 1) /* nothing may follow the array */
        rc = osp_json_next(&r, &t);
    if (rc == OSP_ETOOBIG) /* the scratch holds any string of the body */
        rc = OSP_EPARSE;
    if (rc == OSP_EPARSE)
        snprintf(d->rep->message, sizeof d->rep->message, "malformed JSON: %s", r.err);
    osp_buf_cleanup(&scratch);
    return rc;
}

int osp_jsonl_logs_decode(osp_str body, osp_log_batch *out, osp_jsonl_report *rep)
{
    size_t nres = out->nresources, nscopes = out->nscopes, nrec = out->nrecords;
    size_t cap = body.n < OSP_JSONL_MAX_LINE ? body.n : OSP_JSONL_MAX_LINE;
    size_t i = 0;
    dec d;
    memset(&d, 0, sizeof d);
    memset(rep, 0, sizeof *rep);
    d.out = out;
    d.rep = rep;
    d.scope = (uint32_t)nscopes;
    d.first_resource = nres;
    osp_arena_init(&d.tmp, 0, 0);
    /* an encoded item is at most a few times its text: numbers and nesting grow most */
    osp_buf *all[] = {&d.scratch, &d.keys, &d.attrs, &d.value, &d.res_obj, &d.res};
    for (size_t b = 0; b < sizeof all / sizeof all[0]; b++)
        osp_buf_init(all[b], 8 * cap + 4096);
    while (i < body.n && is_space(body.p[i]))
        i++;
    d.array = i < body.n && body.p[i] == '[';
    int rc = d.array ? decode_array(&d, body) : decode_lines(&d, body);
    if (rc == OSP_ENOMEM)
        snprintf(rep->message, sizeof rep->message, "out of memory");
    if (rc < 0) {
        out->nresources = nres;
        out->nscopes = nscopes;
        out->nrecords = nrec;
        rep->rejected = 0;
    }
    for (size_t b = 0; b < sizeof all / sizeof all[0]; b++)
        osp_buf_cleanup(all[b]);
    osp_arena_cleanup(&d.tmp);
    osp_free(d.slots);
    return rc < 0 ? rc : 0;
}
