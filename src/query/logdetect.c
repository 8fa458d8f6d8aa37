/* Detected labels and fields (query/logdetect.h). Labels come from the stream catalogue;
 * fields from a log query's newest lines, each line parsed again as Loki's detection does
 * (the query pipeline's JSON and logfmt parsers, logql_pipeline_parse.c). Distinct values
 * are counted exactly. */
#include "query/logdetect.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "core/err.h"
#include "core/intern.h"
#include "core/mem.h"
#include "query/logql_eval_int.h"
#include "query/logql_units.h"

/* ---- value types ---- */

const char *osp_field_type_name(osp_field_type t)
{
    static const char *const names[] = {"string", "int", "float", "boolean", "duration", "bytes"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "string";
}

/* strconv.ParseInt(s, 10, 64) accepts it. */
static int is_int(osp_str s)
{
    size_t i = s.n && (s.p[0] == '+' || s.p[0] == '-');
    uint64_t v = 0, max = s.n && s.p[0] == '-' ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
    if (i == s.n)
        return 0;
    for (; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9' || v > (max - (uint64_t)(s.p[i] - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    }
    return 1;
}

/* strconv.ParseBool accepts it. */
static int is_bool(osp_str s)
{
    static const char *const forms[] = {"1", "t", "T", "TRUE",  "true",  "True",
                                        "0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++)
        if (osp_str_eqz(s, forms[i]))
            return 1;
    return 0;
}

osp_field_type osp_field_type_of(osp_str v)
{
    double d;
    int64_t ns;
    uint64_t bytes;
    if (is_int(v))
        return OSP_FIELD_INT;
    if (osp_logql_parse_float(v, &d, NULL, 0) == 0)
        return OSP_FIELD_FLOAT;
    if (is_bool(v))
        return OSP_FIELD_BOOLEAN;
    if (osp_logql_parse_duration(v, &ns, NULL, 0) == 0)
        return OSP_FIELD_DURATION;
    if (osp_logql_parse_bytes(v, &bytes, NULL, 0) == 0)
        return OSP_FIELD_BYTES;
    return OSP_FIELD_STRING;
}

int osp_field_list_value(osp_arena *a, osp_str value, osp_str *out)
{
    static const char *const si[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    int last = value.n ? tolower((unsigned char)value.p[value.n - 1]) : 0;
    int before = value.n > 1 ? tolower((unsigned char)value.p[value.n - 2]) : 0;
    int unit =
        (last && strchr("bkmgtpe", last)) || (last == 'i' && before && strchr("kmgtpe", before));
    uint64_t bytes;
    *out = value;
    if (!unit || osp_logql_parse_bytes(value, &bytes, NULL, 0))
        return 0;
    char text[32];
    int n;
    if (bytes < 10) {
        n = snprintf(text, sizeof text, "%uB", (unsigned)bytes);
    } else {
        int e = (int)floor(log((double)bytes) / log(1000.0));
        double v = floor((double)bytes / pow(1000.0, e) * 10 + 0.5) / 10;
        n = snprintf(text, sizeof text, v < 10 ? "%.1f%s" : "%.0f%s", v, si[e]);
    }
    *out = osp_arena_strdup(a, osp_str_make(text, (size_t)n));
    return out->p ? 0 : OSP_ENOMEM;
}

/* ---- labels ---- */

/* google/uuid's Parse accepts it: 32 hex digits, with dashes at 8-4-4-4-12, in braces, or
 * after "urn:uuid:". */
static int is_uuid(osp_str s)
{
    if (s.n == 45 && !strncasecmp(s.p, "urn:uuid:", 9))
        s = osp_str_make(s.p + 9, 36);
    else if (s.n == 38 && s.p[0] == '{' && s.p[37] == '}')
        s = osp_str_make(s.p + 1, 36);
    if (s.n != 32 && s.n != 36)
        return 0;
    for (size_t i = 0; i < s.n; i++) {
        int dash = s.n == 36 && (i == 8 || i == 13 || i == 18 || i == 23);
        char c = s.p[i];
        int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex)
            return 0;
    }
    return 1;
}

/* 1 when Loki leaves label name out given its distinct values. */
static int rejected(osp_str name, const osp_intern *values)
{
    static const char *const kept[] = {"cluster", "namespace", "instance", "pod"};
    int ids = 1, bits = values->n <= 2;
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
        if (osp_str_eqz(name, kept[i]))
            return values->n == 0;
    for (uint32_t i = 0; i < values->n; i++) {
        osp_str v = values->strs[i];
        double d;
        ids &= osp_logql_parse_float(v, &d, NULL, 0) == 0 || is_uuid(v);
        bits &= osp_str_eqz(v, "0") || osp_str_eqz(v, "1");
    }
    return values->n == 0 || (ids && !bits);
}

static int cmp_detected_label(const void *a, const void *b)
{
    return osp_str_cmp(((const osp_detected_label *)a)->label,
                       ((const osp_detected_label *)b)->label);
}

int osp_log_detect_labels(const osp_logql_source *src, const osp_label_matcher *m, size_t n,
                          uint64_t start_ns, uint64_t end_ns, osp_arena *arena,
                          osp_detected_label **out, size_t *nout)
{
    static const osp_label_matcher every = {OSP_MATCH_RE, OSP_STR_LIT("service_name"),
                                            OSP_STR_LIT(".+")}; /* every stream has one */
    osp_intern names, *values = NULL;
    osp_arena scratch;
    uint64_t *ids;
    size_t nids = 0, cap = 0;
    *out = NULL;
    *nout = 0;
    osp_intern_init(&names, 1);
    osp_arena_init(&scratch, 4096, 0);
    int rc = src->streams ? src->streams(src->ctx, n ? m : &every, n ? n : 1, start_ns, end_ns,
                                         &scratch, &ids, &nids)
                          : OSP_EUNSUPPORTED;
    for (size_t i = 0; rc == 0 && i < nids; i++) {
        osp_label *l;
        size_t nl;
        if ((rc = src->stream_labels(src->ctx, ids[i], &scratch, &l, &nl)) == OSP_ENOTFOUND) {
            rc = 0; /* removed since it was listed */
            continue;
        }
        for (size_t k = 0; rc == 0 && k < nl; k++) {
            uint32_t id, vid;
            if ((rc = osp_intern_add(&names, l[k].name, &id)))
                break;
            if (id == cap) {
                osp_intern *grown = osp_realloc(values, (cap + 16) * sizeof *grown);
                if (!grown) {
                    rc = OSP_ENOMEM;
                    break;
                }
                values = grown;
                for (size_t j = cap; j < cap + 16; j++)
                    osp_intern_init(&values[j], 1);
                cap += 16;
            }
            if (l[k].value.n)
                rc = osp_intern_add(&values[id], l[k].value, &vid);
        }
    }
    osp_detected_label *d = rc ? NULL : osp_arena_alloc(arena, (names.n + 1) * sizeof *d);
    if (rc == 0 && !d)
        rc = OSP_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < names.n; i++) {
        if (rejected(names.strs[i], &values[i]))
            continue;
        d[*nout] = (osp_detected_label){osp_arena_strdup(arena, names.strs[i]), values[i].n};
        if (!d[(*nout)++].label.p)
            rc = OSP_ENOMEM;
    }
    if (rc == 0) {
        qsort(d, *nout, sizeof *d, cmp_detected_label);
        *out = d;
    } else {
        *nout = 0;
    }
    for (size_t j = 0; j < cap; j++)
        osp_intern_cleanup(&values[j]);
    osp_free(values);
    osp_intern_cleanup(&names);
    osp_arena_cleanup(&scratch);
    return rc;
}

/* ---- fields ---- */

typedef struct field {
    osp_detected_field pub;
    int typed;
    osp_intern values;
} field;

/* The labels of a stream an entry came from. */
typedef struct stream_base {
    osp_label *l;
    size_t n;
} stream_base;

/* A label JSON parsing set on the current line, and the keys it found it under. */
typedef struct json_path {
    osp_str label;
    osp_str *keys;
    size_t nkeys;
    size_t order; /* of setting: the last of a name is the label's */
} json_path;

/* Where a value of a field came from. */
typedef struct source {
    unsigned parsers;      /* OSP_FIELD_* bits */
    int parsed;            /* from the line, by any parser (not structured metadata) */
    const json_path *path; /* found by JSON parsing there */
} source;

typedef struct detect {
    const osp_logql_source *src;
    const osp_log_detect_query *q;
    size_t limit;
    osp_intern names; /* field name -> index */
    field *fields;
    size_t nfields, cap;
    osp_intern streams; /* stream id (8 bytes) -> index into bases */
    stream_base *bases;
    size_t nbases, bases_cap;
    json_path *paths; /* the current line's, then sorted by label and order */
    size_t npaths, paths_cap;
    osp_arena arena; /* stream labels, parsed entries and their JSON keys */
} detect;

/* Notes a value of field name. */
static int add_field(detect *d, osp_str name, osp_str value, const source *from)
{
    const osp_log_detect_query *q = d->q;
    uint32_t id, vid;
    int rc;
    if (!name.n || !value.n || osp_str_eqz(name, OSP__LQ_ERROR) ||
        osp_str_eqz(name, OSP__LQ_ERROR_DETAILS) || osp_str_eqz(name, "__preserve_error__") ||
        (q->values_of.n && !osp_str_eq(name, q->values_of)))
        return 0;
    if (!osp_intern_find(&d->names, name, &id)) {
        if (d->nfields == (q->values_of.n ? 1 : d->limit))
            return 0;
        if ((rc = osp_intern_add(&d->names, name, &id)))
            return rc;
        field *f = osp_array_push((void **)&d->fields, &d->nfields, &d->cap, sizeof *f);
        if (!f)
            return OSP_ENOMEM;
        memset(f, 0, sizeof *f);
        osp_intern_init(&f->values, 1);
    }
    field *f = &d->fields[id];
    f->pub.parsers |= from->parsers;
    if (!f->typed) {
        f->pub.type = osp_field_type_of(value);
        f->typed = 1;
    }
    if (from->path && !f->pub.json_path) {
        f->pub.json_path = from->path->keys;
        f->pub.njson_path = from->path->nkeys;
    }
    if (q->values_of.n && from->parsed && (rc = osp_field_list_value(&d->arena, value, &value)))
        return rc;
    if (q->values_of.n && f->values.n == d->limit && !osp_intern_find(&f->values, value, &vid))
        return 0;
    return osp_intern_add(&f->values, value, &vid);
}

/* The stream labels of stream id, fetched once. */
static int base_of(detect *d, uint64_t stream, const stream_base **b)
{
    uint8_t key[8];
    uint32_t idx;
    memcpy(key, &stream, sizeof key);
    int rc = osp_intern_add(&d->streams, osp_str_make((const char *)key, sizeof key), &idx);
    if (rc)
        return rc;
    if (idx == d->nbases) {
        stream_base *nb = osp_array_push((void **)&d->bases, &d->nbases, &d->bases_cap, sizeof *nb);
        if (!nb)
            return OSP_ENOMEM;
        *nb = (stream_base){0};
        rc = d->src->stream_labels(d->src->ctx, stream, &d->arena, &nb->l, &nb->n);
        if (rc == OSP_ENOTFOUND) { /* removed meanwhile: no labels */
            nb->n = 0;
            rc = 0;
        }
        if (rc)
            return rc;
    }
    *b = &d->bases[idx];
    return 0;
}

/* 1 when labels l hold name with value v. */
static int holds(const osp_label *l, size_t n, osp_str name, osp_str v)
{
    osp_str have = osp_labels_get(l, n, name);
    return have.n && osp_str_eq(have, v);
}

/* osp__lq_json_path_fn: keeps the keys of a label JSON parsing set. */
static int note_path(void *ctx, osp_str label, const osp_str *keys, size_t nkeys)
{
    detect *d = ctx;
    osp_str *copy = osp_arena_memdup(&d->arena, keys, nkeys * sizeof *keys);
    json_path *p = osp_array_push((void **)&d->paths, &d->npaths, &d->paths_cap, sizeof *p);
    if (!copy || !p)
        return OSP_ENOMEM;
    *p = (json_path){label, copy, nkeys, d->npaths};
    return 0;
}

static int cmp_path(const void *a, const void *b)
{
    const json_path *x = a, *y = b;
    int c = osp_str_cmp(x->label, y->label);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* The keys of the label name as JSON parsing last set it on this line (d->paths sorted);
 * NULL when it did not. */
static const json_path *path_of(const detect *d, osp_str name)
{
    size_t lo = 0, hi = d->npaths;
    while (lo < hi) { /* the first path whose label sorts after name */
        size_t mid = lo + (hi - lo) / 2;
        if (osp_str_cmp(d->paths[mid].label, name) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && osp_str_eq(d->paths[lo - 1].label, name) ? &d->paths[lo - 1] : NULL;
}

/* The fields of one result entry (its labels categorized): its structured metadata and
 * the labels the query's pipeline extracted, then what parsing its line finds (JSON
 * first, logfmt when that fails). */
static int detect_entry(detect *d, const osp_logql_entry *ent)
{
    static const source metadata = {0, 0, NULL}, extracted = {0, 1, NULL};
    const stream_base *b;
    osp__lq_entry pe;
    osp_label *l;
    size_t n;
    int rc = base_of(d, ent->stream, &b);
    for (size_t i = 0; rc == 0 && i < ent->nmeta; i++)
        rc = add_field(d, ent->meta[i].name, ent->meta[i].value, &metadata);
    for (size_t i = 0; rc == 0 && i < ent->nparsed; i++)
        rc = add_field(d, ent->parsed[i].name, ent->parsed[i].value, &extracted);
    unsigned parser = OSP_FIELD_JSON;
    d->npaths = 0;
    if (rc == 0 &&
        !(rc = osp__lq_entry_init(&pe, &d->arena, b->l, b->n, NULL, 0, ent->line, ent->t_ns)) &&
        !(rc = osp__lq_json_paths(&pe, note_path, d)) && pe.err.n) {
        parser = OSP_FIELD_LOGFMT;
        d->npaths = 0;
        if (!(rc = osp__lq_entry_init(&pe, &d->arena, b->l, b->n, NULL, 0, ent->line, ent->t_ns)))
            rc = osp__lq_logfmt(&pe, NULL, 0, 0);
    }
    if (rc || pe.err.n || (!(l = osp__lq_labels(&pe, &d->arena, &n)) && n))
        return rc ? rc : pe.err.n ? 0 : OSP_ENOMEM;
    if (d->npaths > 1)
        qsort(d->paths, d->npaths, sizeof *d->paths, cmp_path);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (holds(b->l, b->n, l[i].name, l[i].value))
            continue; /* a stream label */
        source from = {parser, 1, path_of(d, l[i].name)};
        rc = add_field(d, l[i].name, l[i].value, &from);
    }
    return rc;
}

static int cmp_newest(const void *a, const void *b)
{
    uint64_t x = (*(const osp_logql_entry *const *)a)->t_ns;
    uint64_t y = (*(const osp_logql_entry *const *)b)->t_ns;
    return (x < y) - (x > y);
}

static int cmp_detected_field(const void *a, const void *b)
{
    return osp_str_cmp(((const osp_detected_field *)a)->label,
                       ((const osp_detected_field *)b)->label);
}

/* Copies the fields into the result's arena, sorted by name. */
static int finish(detect *d, osp_arena *arena, osp_detected_field **out, size_t *nout)
{
    osp_detected_field *r = osp_arena_alloc(arena, (d->nfields + 1) * sizeof *r);
    if (!r)
        return OSP_ENOMEM;
    for (size_t i = 0; i < d->nfields; i++) {
        field *f = &d->fields[i];
        r[i] = f->pub;
        r[i].label = osp_arena_strdup(arena, d->names.strs[i]);
        r[i].cardinality = f->values.n;
        if (!r[i].label.p ||
            (f->pub.json_path && !(r[i].json_path = osp_arena_alloc(
                                       arena, f->pub.njson_path * sizeof *r[i].json_path))))
            return OSP_ENOMEM;
        for (size_t k = 0; k < f->pub.njson_path; k++)
            if (!(r[i].json_path[k] = osp_arena_strdup(arena, f->pub.json_path[k])).p)
                return OSP_ENOMEM;
        if (!d->q->values_of.n)
            continue;
        if (!(r[i].values = osp_arena_alloc(arena, (f->values.n + 1) * sizeof *r[i].values)))
            return OSP_ENOMEM;
        for (uint32_t k = 0; k < f->values.n; k++)
            if (!(r[i].values[k] = osp_arena_strdup(arena, f->values.strs[k])).p)
                return OSP_ENOMEM;
        r[i].nvalues = f->values.n;
    }
    qsort(r, d->nfields, sizeof *r, cmp_detected_field);
    *out = r;
    *nout = d->nfields;
    return 0;
}

int osp_log_detect_fields(const osp_logql_source *src, const osp_log_detect_query *q,
                          osp_arena *arena, osp_detected_field **out, size_t *nout, char *err,
                          size_t errlen)
{
    osp_logql_opts opts = {.limit = q->line_limit ? q->line_limit : OSP_DETECT_DEFAULT_LINES,
                           .deadline_ms = q->deadline_ms,
                           .categorize = 1};
    osp_logql_result res;
    detect d = {.src = src, .q = q, .limit = q->limit ? q->limit : OSP_DETECT_DEFAULT_LIMIT};
    const osp_logql_entry **refs = NULL;
    size_t nrefs = 0;
    *out = NULL;
    *nout = 0;
    if (q->e->kind != OSP_LOGQL_LOG) {
        snprintf(err, errlen, "detected fields need a log query, not a metric query");
        return OSP_EINVAL;
    }
    int rc = osp_logql_eval(src, q->e, q->start_ns, q->end_ns, 0, &opts, arena, &res, err, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; i < res.nstreams; i++)
        nrefs += res.streams[i].n;
    if (!(refs = osp_malloc((nrefs + 1) * sizeof *refs)))
        return OSP_ENOMEM;
    nrefs = 0;
    for (size_t i = 0; i < res.nstreams; i++)
        for (size_t k = 0; k < res.streams[i].n; k++)
            refs[nrefs++] = &res.streams[i].entries[k];
    qsort(refs, nrefs, sizeof *refs, cmp_newest);
    osp_intern_init(&d.names, 1);
    osp_intern_init(&d.streams, 1);
    osp_arena_init(&d.arena, 8192, 0);
    for (size_t i = 0; rc == 0 && i < nrefs; i++)
        rc = detect_entry(&d, refs[i]);
    if (rc == 0)
        rc = finish(&d, arena, out, nout);
    for (size_t i = 0; i < d.nfields; i++)
        osp_intern_cleanup(&d.fields[i].values);
    osp_free(d.fields);
    osp_free(d.bases);
    osp_free(d.paths);
    osp_free(refs);
    osp_intern_cleanup(&d.names);
    osp_intern_cleanup(&d.streams);
    osp_arena_cleanup(&d.arena);
    return rc;
}
