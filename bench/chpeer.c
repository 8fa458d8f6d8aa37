/* ClickHouse peer: schema (SQL that ClickHouse 18.16 accepts), RowBinary rows, queries. */
#include "chpeer.h"

#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"
#include "core/str.h"
#include "model/attr.h"

/* The spans table keeps everything a span row holds. Its layout follows the OpenTelemetry
 * Collector's ClickHouse exporter: one wide table ordered by (service, span name, time),
 * attributes as parallel key/value arrays of text, and a trace-id -> time-range lookup
 * table filled by a materialized view so that a trace fetch reads only the time range of
 * that trace. 18.16 has no DateTime64, Map, LowCardinality or per-column codecs: times are
 * UInt64 nanoseconds and the server compresses every part with zstd (see run.sh). */
static const char *const stmts[] = {
    "CREATE DATABASE IF NOT EXISTS %s",

    "CREATE TABLE %s.spans ("
    "trace_id FixedString(16), span_id FixedString(8), parent_span_id FixedString(8), "
    "trace_state String, span_name String, span_kind Int32, "
    "start_ns UInt64, duration_ns UInt64, flags UInt32, "
    "status_code Int32, status_message String, "
    "service_name String, resource_keys Array(String), resource_values Array(String), "
    "resource_dropped UInt32, resource_schema_url String, "
    "scope_name String, scope_version String, scope_keys Array(String), "
    "scope_values Array(String), scope_dropped UInt32, scope_schema_url String, "
    "attr_keys Array(String), attr_values Array(String), dropped_attributes UInt32, "
    "event_times Array(UInt64), event_names Array(String), "
    "event_attr_keys Array(Array(String)), event_attr_values Array(Array(String)), "
    "event_dropped Array(UInt32), dropped_events UInt32, "
    "link_trace_ids Array(FixedString(16)), link_span_ids Array(FixedString(8)), "
    "link_trace_states Array(String), link_flags Array(UInt32), "
    "link_attr_keys Array(Array(String)), link_attr_values Array(Array(String)), "
    "link_dropped Array(UInt32), dropped_links UInt32"
    ") ENGINE = MergeTree() PARTITION BY intDiv(start_ns, 86400000000000) "
    "ORDER BY (service_name, span_name, start_ns) SETTINGS index_granularity = 8192",

    "CREATE TABLE %s.trace_id_ts (trace_id FixedString(16), first_ns UInt64, last_ns UInt64) "
    "ENGINE = MergeTree() ORDER BY (trace_id, first_ns) SETTINGS index_granularity = 8192",

    "CREATE MATERIALIZED VIEW %s.trace_id_ts_mv TO %s.trace_id_ts AS "
    "SELECT trace_id, min(start_ns) AS first_ns, max(start_ns + duration_ns) AS last_ns "
    "FROM %s.spans GROUP BY trace_id",
};

/* Statement i of the n in list, every %s naming db (at most three). */
static int schema_stmt(const char *const *list, size_t n, const char *db, int i, osp_buf *out)
{
    if (i < 0 || (size_t)i >= n)
        return 0;
    osp_buf_reset(out);
    int rc = osp_buf_printf(out, list[i], db, db, db);
    return rc ? rc : 1;
}

int osp_ch_schema_stmt(const char *db, int i, osp_buf *out)
{
    return schema_stmt(stmts, sizeof stmts / sizeof stmts[0], db, i, out);
}

/* ---- RowBinary: LEB128 lengths (the protobuf varint), little-endian numbers ---- */

static int put_u64(osp_buf *o, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return osp_buf_append(o, b, 8);
}

static int put_u32(osp_buf *o, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return osp_buf_append(o, b, 4);
}

static int put_string(osp_buf *o, osp_str s)
{
    int rc = osp_pb_put_varint(o, s.n);
    return rc ? rc : osp_buf_append(o, s.p, s.n);
}

/* Scratch space for encoding one attrs blob. */
typedef struct rb_scratch {
    osp_buf text, keys, vals;
} rb_scratch;

/* Encodes an attrs blob's keys and its values as text, each as a run of RowBinary
 * strings, into s->keys and s->vals; *n receives the number of attributes. */
static int attr_runs(osp_str attrs, rb_scratch *s, size_t *n)
{
    osp_attr_iter it;
    osp_str key;
    osp_value v;
    int rc;
    osp_buf_reset(&s->keys);
    osp_buf_reset(&s->vals);
    *n = 0;
    osp_attr_iter_init(&it, attrs);
    while ((rc = osp_attr_next(&it, &key, &v)) == 1) {
        osp_buf_reset(&s->text);
        rc = put_string(&s->keys, key);
        if (rc == 0)
            rc = osp_value_to_text(&v, &s->text);
        if (rc == 0)
            rc = put_string(&s->vals, osp_buf_str(&s->text));
        if (rc)
            return rc;
        (*n)++;
    }
    return rc;
}

/* Parallel Array(String) key and value columns of one attrs blob. */
static int put_attrs(osp_buf *o, osp_str attrs, rb_scratch *s)
{
    size_t n;
    int rc = attr_runs(attrs, s, &n);
    if (rc == 0)
        rc = osp_pb_put_varint(o, n);
    if (rc == 0)
        rc = osp_buf_append(o, s->keys.data, s->keys.len);
    if (rc == 0)
        rc = osp_pb_put_varint(o, n);
    if (rc == 0)
        rc = osp_buf_append(o, s->vals.data, s->vals.len);
    return rc;
}

/* Array(Array(String)) of keys, then of values, for the attrs blobs of n events or links. */
static int put_nested_attrs(osp_buf *o, const osp_str *blobs, size_t n, rb_scratch *s)
{
    int rc = 0;
    for (int values = 0; values <= 1 && rc == 0; values++) {
        rc = osp_pb_put_varint(o, n);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            size_t k;
            rc = attr_runs(blobs[i], s, &k);
            const osp_buf *run = values ? &s->vals : &s->keys;
            if (rc == 0)
                rc = osp_pb_put_varint(o, k);
            if (rc == 0)
                rc = osp_buf_append(o, run->data, run->len);
        }
    }
    return rc;
}

#define MAX_NESTED 64 /* events or links per span written to ClickHouse */

static int put_events(osp_buf *o, osp_str blob, rb_scratch *text)
{
    osp_event ev[MAX_NESTED];
    osp_str attrs[MAX_NESTED];
    size_t n = 0;
    osp_blob_iter it;
    int rc;
    osp_blob_iter_init(&it, blob);
    while (n < MAX_NESTED && (rc = osp_events_next(&it, &ev[n])) == 1) {
        attrs[n] = ev[n].attributes;
        n++;
    }
    if (rc < 0)
        return rc;
    rc = osp_pb_put_varint(o, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_u64(o, ev[i].time_ns);
    if (rc == 0)
        rc = osp_pb_put_varint(o, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_string(o, ev[i].name);
    if (rc == 0)
        rc = put_nested_attrs(o, attrs, n, text);
    if (rc == 0)
        rc = osp_pb_put_varint(o, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_u32(o, ev[i].dropped_attributes);
    return rc;
}

static int put_links(osp_buf *o, osp_str blob, rb_scratch *text)
{
    osp_link ln[MAX_NESTED];
    osp_str attrs[MAX_NESTED];
    size_t n = 0;
    osp_blob_iter it;
    int rc;
    osp_blob_iter_init(&it, blob);
    while (n < MAX_NESTED && (rc = osp_links_next(&it, &ln[n])) == 1) {
        attrs[n] = ln[n].attributes;
        n++;
    }
    if (rc < 0)
        return rc;
    rc = osp_pb_put_varint(o, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = osp_buf_append(o, ln[i].trace_id, 16);
    if (rc == 0)
        rc = osp_pb_put_varint(o, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = osp_buf_append(o, ln[i].span_id, 8);
    if (rc == 0)
        rc = osp_pb_put_varint(o, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_string(o, ln[i].trace_state);
    if (rc == 0)
        rc = osp_pb_put_varint(o, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_u32(o, ln[i].flags);
    if (rc == 0)
        rc = put_nested_attrs(o, attrs, n, text);
    if (rc == 0)
        rc = osp_pb_put_varint(o, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_u32(o, ln[i].dropped_attributes);
    return rc;
}

/* The resource columns (service_name .. resource_schema_url) of one resource, or the
 * scope columns (scope_name .. scope_schema_url) of one scope: the same for every span
 * that shares it, so encoded once per batch. */
static int put_resource(osp_buf *o, const osp_resource *r, rb_scratch *s)
{
    int rc = put_string(o, r->service_name);
    if (rc == 0)
        rc = put_attrs(o, r->attributes, s);
    if (rc == 0)
        rc = put_u32(o, r->dropped_attributes);
    return rc ? rc : put_string(o, r->schema_url);
}

static int put_scope(osp_buf *o, const osp_scope *sc, rb_scratch *s)
{
    int rc = put_string(o, sc->name);
    if (rc == 0)
        rc = put_string(o, sc->version);
    if (rc == 0)
        rc = put_attrs(o, sc->attributes, s);
    if (rc == 0)
        rc = put_u32(o, sc->dropped_attributes);
    return rc ? rc : put_string(o, sc->schema_url);
}

/* Encodes each resource (or scope) of a batch once: offsets[i]..offsets[i+1] in cache. */
static int encode_shared(const osp_span_batch *b, int scopes, osp_buf *cache, size_t **offsets,
                         rb_scratch *s)
{
    size_t n = scopes ? b->nscopes : b->nresources;
    size_t *off = osp_malloc((n + 1) * sizeof *off);
    int rc = off ? 0 : OSP_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        off[i] = cache->len;
        rc = scopes ? put_scope(cache, &b->scopes[i], s) : put_resource(cache, &b->resources[i], s);
    }
    if (off)
        off[n] = cache->len;
    *offsets = off;
    return rc;
}

static int put_span(osp_buf *out, const osp_span *sp, const osp_buf *res, const size_t *roff,
                    const osp_buf *scp, const size_t *soff, rb_scratch *s)
{
    int rc = osp_buf_append(out, sp->trace_id, 16);
    if (rc == 0)
        rc = osp_buf_append(out, sp->span_id, 8);
    if (rc == 0)
        rc = osp_buf_append(out, sp->parent_span_id, 8);
    if (rc == 0)
        rc = put_string(out, sp->trace_state);
    if (rc == 0)
        rc = put_string(out, sp->name);
    if (rc == 0)
        rc = put_u32(out, (uint32_t)sp->kind);
    if (rc == 0)
        rc = put_u64(out, sp->start_ns);
    if (rc == 0)
        rc = put_u64(out, sp->end_ns >= sp->start_ns ? sp->end_ns - sp->start_ns : 0);
    if (rc == 0)
        rc = put_u32(out, sp->flags);
    if (rc == 0)
        rc = put_u32(out, (uint32_t)sp->status_code);
    if (rc == 0)
        rc = put_string(out, sp->status_message);
    if (rc == 0)
        rc = osp_buf_append(out, res->data + roff[sp->resource],
                            roff[sp->resource + 1] - roff[sp->resource]);
    if (rc == 0)
        rc =
            osp_buf_append(out, scp->data + soff[sp->scope], soff[sp->scope + 1] - soff[sp->scope]);
    if (rc == 0)
        rc = put_attrs(out, sp->attributes, s);
    if (rc == 0)
        rc = put_u32(out, sp->dropped_attributes);
    if (rc == 0)
        rc = put_events(out, sp->events, s);
    if (rc == 0)
        rc = put_u32(out, sp->dropped_events);
    if (rc == 0)
        rc = put_links(out, sp->links, s);
    if (rc == 0)
        rc = put_u32(out, sp->dropped_links);
    return rc;
}

int osp_ch_rowbinary(const osp_span_batch *b, osp_buf *out)
{
    rb_scratch s;
    osp_buf res, scp;
    size_t *roff = NULL, *soff = NULL;
    osp_buf_init(&s.text, 0);
    osp_buf_init(&s.keys, 0);
    osp_buf_init(&s.vals, 0);
    osp_buf_init(&res, 0);
    osp_buf_init(&scp, 0);
    int rc = encode_shared(b, 0, &res, &roff, &s);
    if (rc == 0)
        rc = encode_shared(b, 1, &scp, &soff, &s);
    for (size_t i = 0; rc == 0 && i < b->nspans; i++) {
        const osp_span *sp = &b->spans[i];
        if (sp->resource >= b->nresources || sp->scope >= b->nscopes)
            rc = OSP_EINVAL;
        else
            rc = put_span(out, sp, &res, roff, &scp, soff, &s);
    }
    osp_free(roff);
    osp_free(soff);
    osp_buf_cleanup(&s.text);
    osp_buf_cleanup(&s.keys);
    osp_buf_cleanup(&s.vals);
    osp_buf_cleanup(&res);
    osp_buf_cleanup(&scp);
    return rc;
}

int osp_ch_trace_query(const char *db, const uint8_t trace_id[16], osp_buf *out)
{
    char hex[33];
    osp_hex_encode(trace_id, 16, hex);
    hex[32] = 0;
    osp_buf_reset(out);
    return osp_buf_printf(
        out,
        "SELECT * FROM %s.spans WHERE trace_id = unhex('%s') "
        "AND start_ns >= (SELECT min(first_ns) FROM %s.trace_id_ts WHERE trace_id = unhex('%s')) "
        "AND start_ns <= (SELECT max(last_ns) FROM %s.trace_id_ts WHERE trace_id = unhex('%s')) "
        "ORDER BY start_ns FORMAT TSV",
        db, hex, db, hex, db, hex);
}

/* Appends s as a single-quoted SQL string literal. */
static int put_sql_str(osp_buf *out, const char *s)
{
    int rc = osp_buf_putc(out, '\'');
    for (; rc == 0 && *s; s++) {
        if (*s == '\'' || *s == '\\')
            rc = osp_buf_putc(out, '\\');
        if (rc == 0)
            rc = osp_buf_putc(out, *s);
    }
    return rc ? rc : osp_buf_putc(out, '\'');
}

int osp_ch_search_query(const char *db, const char *service, const char *operation,
                        uint64_t min_duration_ns, uint64_t start_ns, uint64_t end_ns,
                        unsigned limit, osp_buf *out)
{
    osp_buf_reset(out);
    int rc = osp_buf_printf(out,
                            "SELECT lower(hex(trace_id)), max(start_ns) AS t FROM %s.spans "
                            "WHERE service_name = ",
                            db);
    if (rc == 0)
        rc = put_sql_str(out, service);
    if (rc == 0)
        rc = osp_buf_puts(out, " AND span_name = ");
    if (rc == 0)
        rc = put_sql_str(out, operation);
    if (rc == 0)
        rc = osp_buf_printf(out, " AND duration_ns >= %llu AND start_ns >= %llu",
                            (unsigned long long)min_duration_ns, (unsigned long long)start_ns);
    if (rc == 0 && end_ns)
        rc = osp_buf_printf(out, " AND start_ns <= %llu", (unsigned long long)end_ns);
    if (rc == 0)
        rc = osp_buf_printf(out, " GROUP BY trace_id ORDER BY t DESC LIMIT %u FORMAT TSV", limit);
    return rc;
}

/* ---- logs ---- */

/* One wide table as ClickHouse-based log stores keep logs (the OpenTelemetry Collector
 * exporter's otel_logs, within 18.16): stream labels as columns, ids as hex text (empty
 * when absent), the line as String, sorted by service then time. */
static const char *const log_stmts[] = {
    "CREATE DATABASE IF NOT EXISTS %s",

    "CREATE TABLE %s.logs (ts UInt64, service String, namespace String, env String, "
    "pod String, level String, trace_id String, span_id String, line String) "
    "ENGINE = MergeTree() PARTITION BY intDiv(ts, 86400000000000) ORDER BY (service, ts) "
    "SETTINGS index_granularity = 8192",
};

int osp_ch_logs_schema_stmt(const char *db, int i, osp_buf *out)
{
    return schema_stmt(log_stmts, sizeof log_stmts / sizeof log_stmts[0], db, i, out);
}

int osp_ch_logs_query(const char *db, const char *needle, const char *service,
                      const char *trace_hex, unsigned limit, osp_buf *out)
{
    osp_buf_reset(out);
    int rc =
        osp_buf_printf(out, "SELECT ts, service, pod, trace_id, line FROM %s.logs WHERE 1", db);
    if (rc == 0 && service) {
        rc = osp_buf_puts(out, " AND service = ");
        rc = rc ? rc : put_sql_str(out, service);
    }
    if (rc == 0 && trace_hex) {
        rc = osp_buf_puts(out, " AND trace_id = ");
        rc = rc ? rc : put_sql_str(out, trace_hex);
    }
    if (rc == 0 && needle) {
        rc = osp_buf_puts(out, " AND position(line, ");
        rc = rc ? rc : put_sql_str(out, needle);
        rc = rc ? rc : osp_buf_puts(out, ") > 0");
    }
    return rc ? rc : osp_buf_printf(out, " ORDER BY ts DESC LIMIT %u FORMAT TSV", limit);
}
