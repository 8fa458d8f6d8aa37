/* Prometheus remote write 1.0 decoder: snappy block format, then prometheus.WriteRequest
 * decoded zero-copy into arena arrays.
 *
 * Each message is read twice with core/pb.h: once to count its repeated fields (so arrays
 * are allocated at their exact size in the arena), once to fill them. Framing errors and
 * known fields with the wrong wire type fail the whole request, as a protobuf unmarshal
 * does in Prometheus; label and histogram rule violations reject just their series. A
 * decoded histogram becomes model/histogram.h's with osp_rw_histogram_convert. */
#include "proto/remote_write.h"

#include <snappy-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/endian.h"
#include "core/err.h"
#include "core/pb.h"
#include "model/series.h"

/* Where a problem is, formatted only when one is reported: "series I" or
 * "series I: PART K". */
typedef struct loc {
    size_t series;    /* index of the TimeSeries in the request */
    const char *part; /* "exemplar", "histogram" or NULL for the series itself */
    size_t sub;       /* index of the part */
} loc;

typedef struct dec {
    const char *base; /* start of the decompressed message, for offsets */
    osp_arena *arena;
    const osp_rw_known *known; /* NULL: no keys, every label set checked */
    char *err;
    size_t errlen;
    size_t err_series; /* index of the series err names (SIZE_MAX: none yet) */
    char why[320];     /* first problem in the series being decoded */
} dec;

__attribute__((format(printf, 4, 5))) static void msg(char *err, size_t errlen, int keep,
                                                      const char *fmt, ...)
{
    if (!err || !errlen || (keep && err[0]))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* A malformed message: names the byte offset of `at` in the decompressed body. */
__attribute__((format(printf, 3, 4))) static int fail(dec *d, const void *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    osp_vmsg_at_offset(d->err, d->errlen, (size_t)((const char *)at - d->base), fmt, ap);
    va_end(ap);
    return OSP_EPARSE;
}

/* An invalid series: keeps the first reason, prefixed with where it is. Returns 1
 * ("rejected"). */
__attribute__((format(printf, 3, 4))) static int bad(dec *d, const loc *where, const char *fmt, ...)
{
    if (!d->why[0]) {
        int k = where->part ? snprintf(d->why, sizeof d->why, "series %zu: %s %zu: ", where->series,
                                       where->part, where->sub)
                            : snprintf(d->why, sizeof d->why, "series %zu: ", where->series);
        if (k < 0 || (size_t)k >= sizeof d->why)
            return 1;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->why + k, sizeof d->why - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return 1;
}

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
        return fail(d, r->p, "%s: %s", what, r->error ? r->error : "malformed field");
    return rc;
}

static const char *const wire_names[] = {"varint", "i64", "len", "sgroup", "egroup", "i32"};

static int wrong_wire(dec *d, const void *at, const char *what, const osp_pb_field *f,
                      enum osp_pb_wire want)
{
    return fail(d, at, "%s field %u has wire type %s, want %s", what, f->num,
                wire_names[f->wire <= 5 ? f->wire : 0], wire_names[want]);
}

/* Zeroed array of n elements in the arena; NULL (and *rc = OSP_ENOMEM) on failure. A
 * count of 0 gives NULL with *rc untouched. */
static void *array(osp_arena *arena, size_t n, size_t size, int *rc)
{
    if (n == 0)
        return NULL;
    void *p = osp_arena_calloc(arena, n, size);
    if (!p)
        *rc = OSP_ENOMEM;
    return p;
}

/* Counts the occurrences of fields 1..nc-1 of a message (any wire type). */
static int count_fields(dec *d, osp_str m, const char *what, size_t *counts, size_t nc)
{
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    int rc;
    memset(counts, 0, nc * sizeof *counts);
    while ((rc = next(d, &r, &f, &at, what)) == 1)
        if (f.num < nc)
            counts[f.num]++;
    return rc;
}

/* ---- labels ---- */

/* Character classes of label and metric names. */
enum { C_ALPHA = 1, C_DIGIT = 2, C_COLON = 4 };
static const uint8_t name_class[256] = {
    ['a' ... 'z'] = C_ALPHA, ['A' ... 'Z'] = C_ALPHA, ['_'] = C_ALPHA,
    ['0' ... '9'] = C_DIGIT, [':'] = C_COLON,
};

/* [A-Za-z_][A-Za-z0-9_]* ; with colon, ':' is allowed anywhere as well. */
static int name_ok(osp_str s, unsigned colon)
{
    if (s.n == 0)
        return 0;
    const uint8_t *p = (const uint8_t *)s.p;
    if (!(name_class[p[0]] & (C_ALPHA | colon)))
        return 0;
    for (size_t i = 1; i < s.n; i++)
        if (!(name_class[p[i]] & (C_ALPHA | C_DIGIT | colon)))
            return 0;
    return 1;
}

static int label_name_ok(osp_str s)
{
    return name_ok(s, 0);
}

static int metric_name_ok(osp_str s)
{
    return name_ok(s, C_COLON);
}

/* Reads one Label message into *l. */
static int decode_label(dec *d, osp_str m, osp_label *l)
{
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    int rc;
    /* The usual encoding, name then value with one-byte lengths, read directly. */
    const uint8_t *p = (const uint8_t *)m.p;
    if (m.n >= 6 && p[0] == 0x0a && p[1] - 1u < 0x7f && (size_t)p[1] + 5 <= m.n &&
        p[2 + p[1]] == 0x12 && p[3 + p[1]] - 1u < 0x7f && (size_t)p[1] + p[3 + p[1]] + 4 == m.n) {
        l->name = osp_str_make(m.p + 2, p[1]);
        l->value = osp_str_make(m.p + 4 + p[1], p[3 + p[1]]);
        return 0;
    }
    *l = (osp_label){OSP_STR_NULL, OSP_STR_NULL};
    while ((rc = next(d, &r, &f, &at, "Label")) == 1) {
        if (f.num != 1 && f.num != 2)
            continue;
        if (f.wire != OSP_PB_LEN)
            return wrong_wire(d, at, "Label", &f, OSP_PB_LEN);
        if (f.num == 1)
            l->name = f.bytes;
        else
            l->value = f.bytes;
    }
    return rc;
}

/* Drops pairs with an empty value and checks names and values. `series` adds the series
 * rules (sorted, unique, __name__ present, metric name). Returns 0 valid, 1 rejected. */
static int check_labels(dec *d, osp_label *ls, size_t *n, int series, const loc *where)
{
    size_t k = 0;
    int has_name = 0;
    char tmp[OSP_STR_PRINTABLE_SIZE], tmp2[OSP_STR_PRINTABLE_SIZE];
    for (size_t i = 0; i < *n; i++) {
        osp_label l = ls[i];
        if (l.value.n == 0)
            continue;
        if (!label_name_ok(l.name))
            return bad(d, where, "invalid label name \"%s\"", osp_str_printable(l.name, tmp));
        if (!osp_utf8_valid(l.value.p, l.value.n))
            return bad(d, where, "label %s has a value that is not valid UTF-8",
                       osp_str_printable(l.name, tmp));
        if (series && k > 0) {
            int c = osp_str_cmp(ls[k - 1].name, l.name);
            if (c == 0)
                return bad(d, where, "duplicate label name \"%s\"", osp_str_printable(l.name, tmp));
            if (c > 0)
                return bad(d, where, "labels not sorted by name (\"%s\" after \"%s\")",
                           osp_str_printable(l.name, tmp), osp_str_printable(ls[k - 1].name, tmp2));
        }
        if (series && osp_str_eqz(l.name, OSP_METRIC_NAME_LABEL)) {
            has_name = 1;
            if (!metric_name_ok(l.value))
                return bad(d, where, "invalid metric name \"%s\"", osp_str_printable(l.value, tmp));
        }
        ls[k++] = l;
    }
    *n = k;
    if (series && !has_name)
        return bad(d, where, "no " OSP_METRIC_NAME_LABEL " label");
    return 0;
}

/* Fills a label array from the Label fields (number `num`) of message m. */
static int decode_labels(dec *d, osp_str m, uint32_t num, const char *what, osp_label *ls,
                         size_t *n)
{
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    int rc;
    *n = 0;
    while ((rc = next(d, &r, &f, &at, what)) == 1) {
        if (f.num != num)
            continue;
        if (f.wire != OSP_PB_LEN)
            return wrong_wire(d, at, what, &f, OSP_PB_LEN);
        if ((rc = decode_label(d, f.bytes, &ls[(*n)++])) < 0)
            return rc;
    }
    return rc;
}

/* ---- samples, exemplars, histograms ---- */

static int decode_sample(dec *d, osp_str m, osp_sample *s)
{
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    int rc;
    /* The usual encoding, value then a timestamp that ends the message, read directly. */
    const uint8_t *p = (const uint8_t *)m.p;
    if (m.n >= 11 && p[0] == 0x09 && p[9] == 0x10) {
        osp_pb_reader tr = osp_pb_reader_make(p + 10, m.n - 10);
        uint64_t t;
        if (osp_pb_read_varint(&tr, &t) == 0 && tr.p == tr.end) {
            s->v = osp_pb_as_double(osp_get_le64(p + 1));
            s->t_ms = (int64_t)t;
            return 0;
        }
    }
    *s = (osp_sample){0, 0};
    while ((rc = next(d, &r, &f, &at, "Sample")) == 1) {
        if (f.num == 1) {
            if (f.wire != OSP_PB_I64)
                return wrong_wire(d, at, "Sample", &f, OSP_PB_I64);
            s->v = osp_pb_as_double(f.u64);
        } else if (f.num == 2) {
            if (f.wire != OSP_PB_VARINT)
                return wrong_wire(d, at, "Sample", &f, OSP_PB_VARINT);
            s->t_ms = (int64_t)f.u64;
        }
    }
    return rc;
}

static int decode_exemplar(dec *d, osp_str m, osp_rw_exemplar *e, int *rejected, const loc *where)
{
    size_t cnt[4];
    int rc = count_fields(d, m, "Exemplar", cnt, 4);
    if (rc < 0)
        return rc;
    rc = 0;
    e->labels = array(d->arena, cnt[1], sizeof *e->labels, &rc);
    if (rc < 0)
        return rc;
    if ((rc = decode_labels(d, m, 1, "Exemplar", e->labels, &e->nlabels)) < 0)
        return rc;
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    while ((rc = next(d, &r, &f, &at, "Exemplar")) == 1) {
        if (f.num == 2) {
            if (f.wire != OSP_PB_I64)
                return wrong_wire(d, at, "Exemplar", &f, OSP_PB_I64);
            e->value = osp_pb_as_double(f.u64);
        } else if (f.num == 3) {
            if (f.wire != OSP_PB_VARINT)
                return wrong_wire(d, at, "Exemplar", &f, OSP_PB_VARINT);
            e->t_ms = (int64_t)f.u64;
        }
    }
    if (rc < 0)
        return rc;
    if (!*rejected)
        *rejected = check_labels(d, e->labels, &e->nlabels, 0, where);
    return 0;
}

static int decode_span(dec *d, osp_str m, osp_rw_span *s)
{
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    int rc;
    *s = (osp_rw_span){0, 0};
    while ((rc = next(d, &r, &f, &at, "BucketSpan")) == 1) {
        if (f.num != 1 && f.num != 2)
            continue;
        if (f.wire != OSP_PB_VARINT)
            return wrong_wire(d, at, "BucketSpan", &f, OSP_PB_VARINT);
        if (f.num == 1)
            s->offset = (int32_t)osp_pb_zigzag_decode(f.u64);
        else
            s->length = (uint32_t)f.u64;
    }
    return rc;
}

/* Field numbers of the Histogram's repeated fields. */
enum {
    H_NSPANS = 8,
    H_NDELTAS = 9,
    H_NCOUNTS = 10,
    H_PSPANS = 11,
    H_PDELTAS = 12,
    H_PCOUNTS = 13,
    H_CUSTOM = 16,
    H_NFIELDS = 17
};

static int is_delta_field(uint32_t n)
{
    return n == H_NDELTAS || n == H_PDELTAS;
}
static int is_double_list(uint32_t n)
{
    return n == H_NCOUNTS || n == H_PCOUNTS || n == H_CUSTOM;
}

/* Element counts of the repeated fields, packed or not. Packed varints are counted by
 * their final bytes (a truncated last varint is caught when filling). */
static int count_histogram(dec *d, osp_str m, size_t cnt[H_NFIELDS])
{
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    int rc;
    memset(cnt, 0, H_NFIELDS * sizeof *cnt);
    while ((rc = next(d, &r, &f, &at, "Histogram")) == 1) {
        if (f.num >= H_NFIELDS)
            continue;
        if (f.wire == OSP_PB_LEN && is_delta_field(f.num)) {
            for (size_t i = 0; i < f.bytes.n; i++)
                cnt[f.num] += ((uint8_t)f.bytes.p[i] < 0x80);
        } else if (f.wire == OSP_PB_LEN && is_double_list(f.num)) {
            cnt[f.num] += f.bytes.n / 8;
        } else {
            cnt[f.num]++;
        }
    }
    return rc;
}

/* Expected wire types of the Histogram's scalar fields 1..15; REP marks the repeated
 * fields, checked apart. */
#define REP 0xff
#define V OSP_PB_VARINT
#define F64 OSP_PB_I64
static const uint8_t hist_wires[16] = {REP, V,   F64, F64, V,   F64, V, F64,
                                       REP, REP, REP, REP, REP, REP, V, V};
#undef V
#undef F64

static int decode_histogram(dec *d, osp_str m, osp_rw_histogram *h, int *rejected, const loc *where)
{
    size_t cnt[H_NFIELDS];
    int rc = count_histogram(d, m, cnt);
    if (rc < 0)
        return rc;
    rc = 0;
    memset(h, 0, sizeof *h);
    h->neg_spans = array(d->arena, cnt[H_NSPANS], sizeof *h->neg_spans, &rc);
    h->pos_spans = array(d->arena, cnt[H_PSPANS], sizeof *h->pos_spans, &rc);
    h->neg_deltas = array(d->arena, cnt[H_NDELTAS], sizeof *h->neg_deltas, &rc);
    h->pos_deltas = array(d->arena, cnt[H_PDELTAS], sizeof *h->pos_deltas, &rc);
    h->neg_counts = array(d->arena, cnt[H_NCOUNTS], sizeof *h->neg_counts, &rc);
    h->pos_counts = array(d->arena, cnt[H_PCOUNTS], sizeof *h->pos_counts, &rc);
    h->custom_values = array(d->arena, cnt[H_CUSTOM], sizeof *h->custom_values, &rc);
    if (rc < 0)
        return rc;

    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    while ((rc = next(d, &r, &f, &at, "Histogram")) == 1) {
        if (f.num >= H_NFIELDS)
            continue;
        if (f.num < 16 && hist_wires[f.num] != REP) {
            if (f.wire != hist_wires[f.num])
                return wrong_wire(d, at, "Histogram", &f, hist_wires[f.num]);
        } else if (f.num == H_NSPANS || f.num == H_PSPANS) {
            if (f.wire != OSP_PB_LEN)
                return wrong_wire(d, at, "Histogram", &f, OSP_PB_LEN);
        } else if (is_delta_field(f.num)) {
            if (f.wire != OSP_PB_LEN && f.wire != OSP_PB_VARINT)
                return wrong_wire(d, at, "Histogram", &f, OSP_PB_LEN);
        } else if (f.wire != OSP_PB_LEN && f.wire != OSP_PB_I64) {
            return wrong_wire(d, at, "Histogram", &f, OSP_PB_LEN);
        }
        switch (f.num) {
        case 1:
            h->is_float = 0, h->count_int = f.u64;
            break;
        case 2:
            h->is_float = 1, h->count_float = osp_pb_as_double(f.u64);
            break;
        case 3:
            h->sum = osp_pb_as_double(f.u64);
            break;
        case 4:
            h->schema = (int32_t)osp_pb_zigzag_decode(f.u64);
            break;
        case 5:
            h->zero_threshold = osp_pb_as_double(f.u64);
            break;
        case 6:
            h->zero_is_float = 0, h->zero_count_int = f.u64;
            break;
        case 7:
            h->zero_is_float = 1, h->zero_count_float = osp_pb_as_double(f.u64);
            break;
        case H_NSPANS:
        case H_PSPANS: {
            int pos = f.num == H_PSPANS;
            osp_rw_span *s = pos ? &h->pos_spans[h->npos_spans++] : &h->neg_spans[h->nneg_spans++];
            if ((rc = decode_span(d, f.bytes, s)) < 0)
                return rc;
            break;
        }
        case H_NDELTAS:
        case H_PDELTAS: {
            int pos = f.num == H_PDELTAS;
            int64_t *a = pos ? h->pos_deltas : h->neg_deltas;
            size_t *n = pos ? &h->npos_deltas : &h->nneg_deltas;
            if (f.wire == OSP_PB_VARINT) {
                a[(*n)++] = osp_pb_zigzag_decode(f.u64);
                break;
            }
            osp_pb_reader pr = reader_of(f.bytes);
            while (pr.p < pr.end) {
                uint64_t v;
                const void *vat = pr.p;
                if (osp_pb_read_varint(&pr, &v) < 0)
                    return fail(d, vat, "Histogram field %u: packed sint64: %s", f.num,
                                pr.error ? pr.error : "bad varint");
                a[(*n)++] = osp_pb_zigzag_decode(v);
            }
            break;
        }
        case H_NCOUNTS:
        case H_PCOUNTS:
        case H_CUSTOM: {
            double *a = f.num == H_NCOUNTS   ? h->neg_counts
                        : f.num == H_PCOUNTS ? h->pos_counts
                                             : h->custom_values;
            size_t *n = f.num == H_NCOUNTS   ? &h->nneg_counts
                        : f.num == H_PCOUNTS ? &h->npos_counts
                                             : &h->ncustom_values;
            if (f.wire == OSP_PB_I64) {
                a[(*n)++] = osp_pb_as_double(f.u64);
                break;
            }
            if (f.bytes.n % 8)
                return fail(d, at, "Histogram field %u: packed doubles of %zu bytes", f.num,
                            f.bytes.n);
            for (size_t i = 0; i < f.bytes.n; i += 8) {
                uint64_t v;
                memcpy(&v, f.bytes.p + i, 8);
                a[(*n)++] = osp_pb_as_double(v); /* protobuf fixed64 is little-endian */
            }
            break;
        }
        case 14:
            h->reset_hint = (uint32_t)f.u64;
            break;
        case 15:
            h->t_ms = (int64_t)f.u64;
            break;
        default:
            break;
        }
    }
    if (rc < 0 || *rejected)
        return rc;

    /* Consistency, as Prometheus checks before appending a native histogram. */
    if (!(h->schema >= -4 && h->schema <= 8) && h->schema != -53)
        *rejected = bad(d, where, "schema %d out of range", (int)h->schema);
    else if ((h->nneg_deltas || h->npos_deltas) && (h->nneg_counts || h->npos_counts))
        *rejected = bad(d, where, "both integer deltas and float counts");
    else {
        for (int pos = 0; pos < 2 && !*rejected; pos++) {
            const osp_rw_span *s = pos ? h->pos_spans : h->neg_spans;
            size_t ns = pos ? h->npos_spans : h->nneg_spans;
            size_t nb = pos ? h->npos_deltas + h->npos_counts : h->nneg_deltas + h->nneg_counts;
            uint64_t want = 0;
            for (size_t i = 0; i < ns; i++)
                want += s[i].length;
            if (want != nb)
                *rejected = bad(d, where, "%s spans cover %llu buckets but %zu are given",
                                pos ? "positive" : "negative", (unsigned long long)want, nb);
        }
    }
    return 0;
}

/* ---- series and metadata ---- */

/* Puts the label set of s, valid, after "series I" in d->why: a problem in one of its parts
 * then names the series. */
static void name_series(dec *d, const osp_rw_series *s, size_t index)
{
    char name[160], why[sizeof d->why];
    int k = snprintf(NULL, 0, "series %zu", index);
    osp_labels_format(name, sizeof name, s->labels, s->nlabels);
    snprintf(why, sizeof why, "series %zu %s%s", index, name, d->why + k);
    memcpy(d->why, why, sizeof why);
}

/* Decodes one TimeSeries into *s. Returns 0 and sets *rejected (with d->why) when the series
 * breaks a rule, or a negative code when the request cannot be decoded. */
static int decode_series(dec *d, osp_str m, size_t index, osp_rw_series *s, int *rejected)
{
    static const char *const what = "TimeSeries";
    /* The usual series (labels and a few samples) is read in one pass into local arrays;
     * any other is counted first and read into arrays of its exact size. */
    enum { LOCAL_LABELS = 32, LOCAL_SAMPLES = 16 };
    osp_label local_labels[LOCAL_LABELS];
    osp_sample local_samples[LOCAL_SAMPLES];
    size_t cap[5] = {0, LOCAL_LABELS, LOCAL_SAMPLES, 0, 0};
    int counted = 0, rc;
    const char *labels_from, *labels_to; /* the Label fields, when adjacent */
    int scattered;
restart:
    memset(s, 0, sizeof *s);
    *rejected = 0;
    labels_from = labels_to = NULL;
    scattered = 0;
    rc = 0;
    if (counted) {
        s->labels = array(d->arena, cap[1], sizeof *s->labels, &rc);
        s->samples = array(d->arena, cap[2], sizeof *s->samples, &rc);
        s->exemplars = array(d->arena, cap[3], sizeof *s->exemplars, &rc);
        s->histograms = array(d->arena, cap[4], sizeof *s->histograms, &rc);
        if (rc < 0)
            return rc;
    } else {
        s->labels = local_labels;
        s->samples = local_samples;
    }

    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    loc where;
    while ((rc = next(d, &r, &f, &at, what)) == 1) {
        if (f.num < 1 || f.num > 4)
            continue;
        if (f.wire != OSP_PB_LEN)
            return wrong_wire(d, at, what, &f, OSP_PB_LEN);
        size_t held[5] = {0, s->nlabels, s->nsamples, s->nexemplars, s->nhistograms};
        if (held[f.num] == cap[f.num]) { /* only before counting: local arrays full */
            if ((rc = count_fields(d, m, what, cap, 5)) < 0)
                return rc;
            counted = 1;
            goto restart;
        }
        switch (f.num) {
        case 1:
            if (!labels_from)
                labels_from = at;
            scattered |= labels_to && labels_to != (const char *)at;
            labels_to = f.bytes.p + f.bytes.n;
            rc = decode_label(d, f.bytes, &s->labels[s->nlabels++]);
            break;
        case 2:
            rc = decode_sample(d, f.bytes, &s->samples[s->nsamples++]);
            break;
        case 3:
            where = (loc){index, "exemplar", s->nexemplars};
            rc = decode_exemplar(d, f.bytes, &s->exemplars[s->nexemplars++], rejected, &where);
            break;
        case 4:
            where = (loc){index, "histogram", s->nhistograms};
            rc = decode_histogram(d, f.bytes, &s->histograms[s->nhistograms++], rejected, &where);
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (!counted) {
        s->labels = osp_arena_memdup(d->arena, local_labels, s->nlabels * sizeof *s->labels);
        s->samples = osp_arena_memdup(d->arena, local_samples, s->nsamples * sizeof *s->samples);
        if ((s->nlabels && !s->labels) || (s->nsamples && !s->samples))
            return OSP_ENOMEM;
    }
    if (d->known && labels_from && !scattered)
        s->key =
            osp_series_key_of(OSP_KEY_REMOTE_WRITE, labels_from, (size_t)(labels_to - labels_from));
    if (*rejected) { /* its labels are checked now only to name it */
        where = (loc){index, NULL, 0};
        if (!check_labels(d, s->labels, &s->nlabels, 1, &where))
            name_series(d, s, index);
    }
    return 0;
}

/* Keeps d->why as the request's message when it is about the first bad series so far. */
static void report(dec *d, size_t index)
{
    if (!d->err || !d->errlen || (d->err_series != SIZE_MAX && d->err_series < index))
        return;
    snprintf(d->err, d->errlen, "%s", d->why);
    d->err_series = index;
}

/* Drops pairs with an empty value, as check_labels does for a set that passed it. */
static void drop_empty_values(osp_rw_series *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->nlabels; i++)
        if (s->labels[i].value.n)
            s->labels[k++] = s->labels[i];
    s->nlabels = k;
}

/* Settles the label sets of the n series decoded (at request positions index[]): those the
 * store knows by key are taken as they are, the others are checked; the series that fail
 * are left out. */
static int settle_labels(dec *d, osp_rw_request *out, const size_t *index)
{
    size_t n = out->nseries, k = 0;
    if (d->known && n) {
        osp_series_key *keys = osp_arena_alloc(d->arena, n * sizeof *keys);
        uint64_t *refs = osp_arena_alloc(d->arena, n * sizeof *refs);
        if (!keys || !refs)
            return OSP_ENOMEM;
        for (size_t i = 0; i < n; i++)
            keys[i] = out->series[i].key;
        d->known->lookup(d->known->ctx, keys, n, refs);
        for (size_t i = 0; i < n; i++)
            out->series[i].ref = (keys[i].lo | keys[i].hi) ? refs[i] : 0;
    }
    for (size_t i = 0; i < n; i++) {
        osp_rw_series *s = &out->series[i];
        loc where = {index[i], NULL, 0};
        if (s->ref) {
            drop_empty_values(s);
        } else {
            d->why[0] = 0;
            if (check_labels(d, s->labels, &s->nlabels, 1, &where)) {
                out->nrejected++;
                report(d, index[i]);
                continue;
            }
        }
        out->series[k++] = *s;
    }
    out->nseries = k;
    return 0;
}

static int decode_metadata(dec *d, osp_str m, osp_rw_metadata *md)
{
    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    int rc;
    memset(md, 0, sizeof *md);
    while ((rc = next(d, &r, &f, &at, "MetricMetadata")) == 1) {
        if (f.num == 1) {
            if (f.wire != OSP_PB_VARINT)
                return wrong_wire(d, at, "MetricMetadata", &f, OSP_PB_VARINT);
            md->type = (uint32_t)f.u64;
        } else if (f.num == 2 || f.num == 4 || f.num == 5) {
            if (f.wire != OSP_PB_LEN)
                return wrong_wire(d, at, "MetricMetadata", &f, OSP_PB_LEN);
            osp_str *dst = f.num == 2 ? &md->family : f.num == 4 ? &md->help : &md->unit;
            *dst = f.bytes;
        }
    }
    return rc;
}

static int decode_request(dec *d, osp_str m, osp_rw_request *out)
{
    size_t cnt[4];
    int rc = count_fields(d, m, "WriteRequest", cnt, 4);
    if (rc < 0)
        return rc;
    rc = 0;
    out->series = array(d->arena, cnt[1], sizeof *out->series, &rc);
    out->metadata = array(d->arena, cnt[3], sizeof *out->metadata, &rc);
    size_t *at_index = array(d->arena, cnt[1], sizeof *at_index, &rc);
    if (rc < 0)
        return rc;

    osp_pb_reader r = reader_of(m);
    osp_pb_field f;
    const void *at;
    size_t index = 0;
    while ((rc = next(d, &r, &f, &at, "WriteRequest")) == 1) {
        if (f.num != 1 && f.num != 3)
            continue;
        if (f.wire != OSP_PB_LEN)
            return wrong_wire(d, at, "WriteRequest", &f, OSP_PB_LEN);
        if (f.num == 3) {
            if ((rc = decode_metadata(d, f.bytes, &out->metadata[out->nmetadata++])) < 0)
                return rc;
            continue;
        }
        int rejected;
        d->why[0] = 0;
        if ((rc = decode_series(d, f.bytes, index, &out->series[out->nseries], &rejected)) < 0)
            return rc;
        if (rejected) {
            out->nrejected++;
            report(d, index);
        } else {
            at_index[out->nseries++] = index;
        }
        index++;
    }
    return rc < 0 ? rc : settle_labels(d, out, at_index);
}

int osp_remote_write_decode(osp_str body, size_t max_len, osp_arena *arena,
                            const osp_rw_known *known, osp_rw_request *out, char *err,
                            size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = 0;
    const char *in = body.n ? body.p : "";
    size_t n;
    if (snappy_uncompressed_length(in, body.n, &n) != SNAPPY_OK) {
        msg(err, errlen, 0, "snappy: bad uncompressed length preamble");
        return OSP_EPARSE;
    }
    if (max_len && n > max_len) {
        msg(err, errlen, 0, "snappy: uncompressed length %zu exceeds the limit of %zu bytes", n,
            max_len);
        return OSP_ETOOBIG;
    }
    char *raw = osp_arena_alloc(arena, n ? n : 1);
    if (!raw) {
        msg(err, errlen, 0, "out of memory for %zu uncompressed bytes", n);
        return OSP_ENOMEM;
    }
    size_t got = n;
    if (snappy_uncompress(in, body.n, raw, &got) != SNAPPY_OK || got != n) {
        msg(err, errlen, 0, "snappy: corrupt compressed data");
        return OSP_EPARSE;
    }
    dec d = {.base = raw,
             .arena = arena,
             .known = known,
             .err = err,
             .errlen = errlen,
             .err_series = SIZE_MAX};
    int rc = decode_request(&d, osp_str_make(raw, n), out);
    if (rc < 0) {
        if (rc == OSP_ENOMEM)
            msg(err, errlen, 0, "out of memory decoding the request");
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->raw = osp_str_make(raw, n);
    return 0;
}

/* Absolute bucket counts from integer deltas (the first against 0), in arena, wrapping as
 * Prometheus's int64 sums do. NULL for none; *rc set when out of memory. */
static double *counts_of_deltas(osp_arena *arena, const int64_t *deltas, size_t n, int *rc)
{
    double *out = array(arena, n, sizeof *out, rc);
    uint64_t acc = 0;
    for (size_t i = 0; out && i < n; i++) {
        acc += (uint64_t)deltas[i];
        out[i] = (double)(int64_t)acc;
    }
    return out;
}

static osp_hist_span *spans_of(osp_arena *arena, const osp_rw_span *in, size_t n, int *rc)
{
    osp_hist_span *out = array(arena, n, sizeof *out, rc);
    for (size_t i = 0; out && i < n; i++)
        out[i] = (osp_hist_span){in[i].offset, in[i].length};
    return out;
}

static uint8_t hint_of(uint32_t reset_hint)
{
    switch (reset_hint) {
    case OSP_RW_RESET_YES:
        return OSP_HIST_HINT_RESET;
    case OSP_RW_RESET_NO:
        return OSP_HIST_HINT_NOT_RESET;
    case OSP_RW_RESET_GAUGE:
        return OSP_HIST_HINT_GAUGE;
    default:
        return OSP_HIST_HINT_UNKNOWN;
    }
}

int osp_rw_histogram_convert(const osp_rw_histogram *in, osp_arena *arena, osp_histogram *out,
                             const char **problem)
{
    int f = in->is_float, rc = 0;
    *problem = NULL;
    if (in->schema == -53) {
        *problem = "custom-bucket histograms (schema -53) are not supported";
        return 0;
    }
    *out = (osp_histogram){
        .schema = in->schema,
        .hint = hint_of(in->reset_hint),
        .zero_threshold = in->zero_threshold,
        .zero_count = f != in->zero_is_float ? 0
                      : f                    ? in->zero_count_float
                                             : (double)in->zero_count_int,
        .count = f ? in->count_float : (double)in->count_int,
        .sum = in->sum,
        .pspans = spans_of(arena, in->pos_spans, in->npos_spans, &rc),
        .nspans = spans_of(arena, in->neg_spans, in->nneg_spans, &rc),
        .npspans = (uint32_t)in->npos_spans,
        .nnspans = (uint32_t)in->nneg_spans,
        .pbuckets =
            f ? in->pos_counts : counts_of_deltas(arena, in->pos_deltas, in->npos_deltas, &rc),
        .nbuckets =
            f ? in->neg_counts : counts_of_deltas(arena, in->neg_deltas, in->nneg_deltas, &rc),
        .npbuckets = (uint32_t)(f ? in->npos_counts : in->npos_deltas),
        .nnbuckets = (uint32_t)(f ? in->nneg_counts : in->nneg_deltas),
    };
    if (rc == 0)
        *problem = osp_hist_check(out);
    return rc;
}
