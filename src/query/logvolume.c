/* Log volume (query/logvolume.h): one times-only scan; each stream is mapped to its series
 * once, when its first record arrives, and every record adds its size to them (a view
 * for a stream's records within one step, as the store may give, adds theirs at once). */
#include "query/logvolume.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/intern.h"
#include "core/mem.h"
#include "core/pb.h"
#include "model/log.h"
#include "model/logstream.h"
#include "model/series.h"

/* The series a stream adds to: series_of[first .. first + n). */
typedef struct stream_slot {
    uint32_t first, n;
} stream_slot;

typedef struct volume_scan {
    const osp_logql_source *src;
    const osp_log_volume_query *q;
    osp_arena *arena; /* the result's */
    osp_str *targets; /* sorted, distinct */
    size_t ntargets;
    osp_intern streams; /* stream id (8 bytes) -> slot */
    stream_slot *slots;
    size_t nslots, slots_cap;
    uint32_t *series_of;
    size_t nseries_of, series_of_cap;
    osp_intern keys; /* a series' labels, encoded -> series */
    osp_log_volume_series *series;
    size_t nseries, series_cap;
    osp_arena scratch; /* a stream's labels while its series are found */
    osp_buf key;
    uint64_t last_stream; /* of the last record, plus one (0: none yet) */
    uint32_t last_slot;
    osp_log_volume *out;
} volume_scan;

static int cmp_str(const void *a, const void *b)
{
    return osp_str_cmp(*(const osp_str *)a, *(const osp_str *)b);
}

/* The target names, sorted and distinct, in the result's arena. */
static int targets_init(volume_scan *s)
{
    const osp_log_volume_query *q = s->q;
    size_t n = q->ntargets ? q->ntargets : q->n, k = 0;
    osp_str *t = osp_arena_alloc(s->arena, (n + 1) * sizeof *t);
    if (!t)
        return OSP_ENOMEM;
    for (size_t i = 0; i < n; i++)
        t[i] = q->ntargets ? q->targets[i] : q->m[i].name;
    qsort(t, n, sizeof *t, cmp_str);
    for (size_t i = 0; i < n; i++)
        if (t[i].n && (k == 0 || !osp_str_eq(t[k - 1], t[i])))
            t[k++] = t[i];
    s->targets = t;
    s->ntargets = k;
    return 0;
}

/* The index of the series with these labels (sorted; value "" for a by-labels series),
 * added when new. */
static int series_index(volume_scan *s, const osp_label *l, size_t n, uint32_t *idx)
{
    int rc = 0;
    osp_buf_reset(&s->key);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = osp_pb_put_varint(&s->key, l[i].name.n) || osp_buf_append_str(&s->key, l[i].name) ||
             osp_pb_put_varint(&s->key, l[i].value.n) || osp_buf_append_str(&s->key, l[i].value);
    if (rc)
        return OSP_ENOMEM;
    if ((rc = osp_intern_add(&s->keys, osp_buf_str(&s->key), idx)) || *idx < s->nseries)
        return rc;
    size_t steps = s->out->nsteps;
    if (steps && (s->nseries + 1) * steps > OSP_LOG_VOLUME_MAX_CELLS)
        return OSP_ETOOBIG;
    osp_log_volume_series *v =
        osp_array_push((void **)&s->series, &s->nseries, &s->series_cap, sizeof *v);
    if (!v)
        return OSP_ENOMEM;
    *v = (osp_log_volume_series){.nlabels = n};
    v->labels = osp_arena_alloc(s->arena, (n + 1) * sizeof *v->labels);
    if (!v->labels || (steps && !(v->step_bytes = osp_calloc(steps, sizeof *v->step_bytes))))
        return OSP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        v->labels[i].name = osp_arena_strdup(s->arena, l[i].name);
        v->labels[i].value = osp_arena_strdup(s->arena, l[i].value);
        if ((l[i].name.n && !v->labels[i].name.p) || (l[i].value.n && !v->labels[i].value.p))
            return OSP_ENOMEM;
    }
    return 0;
}

static int add_series_of(volume_scan *s, uint32_t series)
{
    uint32_t *to =
        osp_array_push((void **)&s->series_of, &s->nseries_of, &s->series_of_cap, sizeof *to);
    if (!to)
        return OSP_ENOMEM;
    *to = series;
    return 0;
}

/* Finds the series of a stream seen for the first time and files them in a new slot. */
static int map_stream(volume_scan *s, uint64_t stream, stream_slot *slot)
{
    osp_label *l = NULL, *key;
    size_t n = 0, k = 0;
    uint32_t idx;
    osp_arena_reset(&s->scratch);
    int rc = s->src->stream_labels(s->src->ctx, stream, &s->scratch, &l, &n);
    if (rc && rc != OSP_ENOTFOUND) /* a stream removed meanwhile: no labels */
        return rc;
    if (rc)
        n = 0;
    if (!(key = osp_arena_alloc(&s->scratch, (s->ntargets + 1) * sizeof *key)))
        return OSP_ENOMEM;
    slot->first = (uint32_t)s->nseries_of;
    for (size_t i = 0; i < s->ntargets; i++) {
        osp_str v = osp_labels_get(l, n, s->targets[i]);
        if (!v.n)
            continue;
        if (s->q->by_labels) {
            osp_label one = {s->targets[i], OSP_STR_LIT("")};
            if ((rc = series_index(s, &one, 1, &idx)) || (rc = add_series_of(s, idx)))
                return rc;
        } else {
            key[k++] = (osp_label){s->targets[i], v};
        }
    }
    if (!s->q->by_labels && ((rc = series_index(s, key, k, &idx)) || (rc = add_series_of(s, idx))))
        return rc;
    slot->n = (uint32_t)(s->nseries_of - slot->first);
    return 0;
}

/* The slot of a stream, mapped on its first record. */
static int slot_of(volume_scan *s, uint64_t stream, uint32_t *slot)
{
    uint8_t id[8];
    memcpy(id, &stream, sizeof id);
    int rc = osp_intern_add(&s->streams, osp_str_make((const char *)id, sizeof id), slot);
    if (rc || *slot < s->nslots)
        return rc;
    stream_slot *to = osp_array_push((void **)&s->slots, &s->nslots, &s->slots_cap, sizeof *to);
    return to ? map_stream(s, stream, to) : OSP_ENOMEM;
}

static int on_record(const osp_log_view *v, void *ctx)
{
    volume_scan *s = ctx;
    const osp_log_volume_query *q = s->q;
    uint64_t t = osp_log_time(&v->batch->records[v->index]);
    int rc;
    if (t < q->start_ns || t >= q->end_ns)
        return 0;
    if (s->last_stream != v->stream + 1) {
        if ((rc = slot_of(s, v->stream, &s->last_slot)))
            return rc;
        s->last_stream = v->stream + 1;
        s->out->chunks++;
    }
    s->out->entries += 1 + (uint64_t)v->more; /* v->size covers them all */
    s->out->bytes += v->size;
    const stream_slot *slot = &s->slots[s->last_slot];
    size_t step = q->step_ns ? (size_t)((t - q->start_ns) / q->step_ns) : 0;
    for (uint32_t i = 0; i < slot->n; i++) {
        osp_log_volume_series *series = &s->series[s->series_of[slot->first + i]];
        series->bytes += v->size;
        if (series->step_bytes)
            series->step_bytes[step] += v->size;
    }
    return 0;
}

/* osp_log_query.alike_until: the last time of t's step. */
static uint64_t step_end(uint64_t t_ns, void *ctx)
{
    const osp_log_volume_query *q = ctx;
    if (t_ns < q->start_ns || t_ns >= q->end_ns) /* not counted: alike with itself alone */
        return t_ns;
    if (!q->step_ns)
        return q->end_ns - 1;
    uint64_t next = q->start_ns + ((t_ns - q->start_ns) / q->step_ns + 1) * q->step_ns;
    return (next < q->end_ns ? next : q->end_ns) - 1;
}

static int cmp_largest(const void *a, const void *b)
{
    const osp_log_volume_series *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return osp_labels_compare(x->labels, x->nlabels, y->labels, y->nlabels);
}

/* Sorts the series largest first and keeps the limit's worth in the result's arena. */
static int finish(volume_scan *s)
{
    size_t limit = s->q->limit ? s->q->limit : OSP_LOG_VOLUME_DEFAULT_LIMIT, n;
    if (s->nseries)
        qsort(s->series, s->nseries, sizeof *s->series, cmp_largest);
    n = s->nseries < limit ? s->nseries : limit;
    osp_log_volume_series *out = osp_arena_alloc(s->arena, (n + 1) * sizeof *out);
    if (!out)
        return OSP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        out[i] = s->series[i];
        if (out[i].step_bytes) {
            size_t bytes = s->out->nsteps * sizeof *out[i].step_bytes;
            if (!(out[i].step_bytes = osp_arena_memdup(s->arena, s->series[i].step_bytes, bytes)))
                return OSP_ENOMEM;
        }
    }
    s->out->series = out;
    s->out->nseries = n;
    s->out->streams = s->nslots;
    return 0;
}

static void scan_cleanup(volume_scan *s)
{
    for (size_t i = 0; i < s->nseries; i++)
        osp_free(s->series[i].step_bytes);
    osp_free(s->series);
    osp_free(s->slots);
    osp_free(s->series_of);
    osp_intern_cleanup(&s->streams);
    osp_intern_cleanup(&s->keys);
    osp_arena_cleanup(&s->scratch);
    osp_buf_cleanup(&s->key);
}

int osp_log_volume_compute(const osp_logql_source *src, const osp_log_volume_query *q,
                           osp_arena *arena, osp_log_volume *out)
{
    memset(out, 0, sizeof *out);
    if (q->n == 0 || q->end_ns < q->start_ns)
        return OSP_EINVAL;
    if (q->step_ns) {
        if (q->end_ns - q->start_ns > UINT64_MAX - q->step_ns)
            return OSP_EINVAL;
        uint64_t steps = (q->end_ns - q->start_ns + q->step_ns - 1) / q->step_ns;
        if (steps > OSP_LOG_VOLUME_MAX_CELLS)
            return OSP_EINVAL;
        out->nsteps = (size_t)steps;
    }
    volume_scan s = {.src = src, .q = q, .arena = arena, .out = out};
    osp_intern_init(&s.streams, 1);
    osp_intern_init(&s.keys, 1);
    osp_arena_init(&s.scratch, 4096, 0);
    osp_buf_init(&s.key, 0);
    osp_log_query lq = {.m = q->m,
                        .n = q->n,
                        .start_ns = q->start_ns,
                        .end_ns = q->end_ns,
                        .times_only = 1,
                        .no_lines = 1,
                        .sizes = 1,
                        .alike_until = step_end,
                        .alike_ctx = (void *)q};
    int rc = targets_init(&s);
    if (rc == 0 && q->end_ns > q->start_ns)
        rc = src->scan(src->ctx, &lq, on_record, &s);
    if (rc == 0)
        rc = finish(&s);
    scan_cleanup(&s);
    return rc;
}
