/* Part files: the streaming column writer and the verifying, on-demand block reader. */
#include "store/embedded/part.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>
#include <zstd.h>

#include "core/checksum.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/intern.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/pb.h"
#include "model/attr.h"
#include "store/blockfile.h"
#include "store/embedded/format.h"
#include "store/embedded/match.h"

#define MOD "part"

#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(OSP_FMT_VAL_EMPTY, OSP_VAL_EMPTY) && SAME(OSP_FMT_VAL_STRING, OSP_VAL_STRING) &&
                   SAME(OSP_FMT_VAL_BOOL, OSP_VAL_BOOL) && SAME(OSP_FMT_VAL_INT, OSP_VAL_INT) &&
                   SAME(OSP_FMT_VAL_DOUBLE, OSP_VAL_DOUBLE) &&
                   SAME(OSP_FMT_VAL_BYTES, OSP_VAL_BYTES) &&
                   SAME(OSP_FMT_VAL_ARRAY, OSP_VAL_ARRAY) &&
                   SAME(OSP_FMT_VAL_KVLIST, OSP_VAL_KVLIST),
               "attribute value type codes are part of the format");
#undef SAME

static const uint8_t col_streams[OSP_NCOLS] = OSP_COL_STREAMS;

_Static_assert(OSP_PART_MAGIC_LEN == OSP_BLOCKFILE_MAGIC_LEN &&
                   OSP_PART_HEADER_SIZE == OSP_BLOCKFILE_HEADER_SIZE &&
                   OSP_PART_FOOTER_SIZE == OSP_BLOCKFILE_FOOTER_SIZE &&
                   OSP_GRANULE_COL == OSP_BLOCKFILE_SLOT_SIZE,
               "trace parts are block files (store/blockfile.h)");
static const osp_blockfile_format part_format = {
    .magic = OSP_PART_MAGIC,
    .footer_magic = OSP_PART_FOOTER_MAGIC,
    .version = OSP_PART_VERSION,
    .max_index_raw = OSP_PART_MAX_INDEX_RAW,
    .max_block_raw = OSP_PART_MAX_BLOCK_RAW,
    .what = "part",
    .log_module = MOD,
};

/* A writer flushes a granule early once its rows carry this many blob bytes, which keeps
 * every block far below OSP_PART_MAX_BLOCK_RAW. */
#define GRANULE_BLOB_BYTES (64u << 20)
/* Parent lookup table of the granule being written: span id -> row + 1. */
#define PMAP_SLOTS (2 * OSP_PART_GRANULE_ROWS)

static osp_metric *blocks_read;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void)
{
    blocks_read =
        osp_counter("osprey_part_blocks_read_total", "Part column blocks read and verified.", "");
}

/* ---- Little helpers shared by writer and reader ---------------------------------------- */

static uint64_t bloom_probe(uint64_t h, uint32_t i, uint64_t nbits)
{
    uint64_t step = (h << 32 | h >> 32) | 1;
    return (h + i * step) % nbits;
}

int osp_part_row_cmp(const osp_span *a, const osp_span *b)
{
    int c = memcmp(a->trace_id, b->trace_id, sizeof a->trace_id);
    if (c)
        return c;
    if (a->start_ns != b->start_ns)
        return a->start_ns < b->start_ns ? -1 : 1;
    return memcmp(a->span_id, b->span_id, sizeof a->span_id);
}

/* ==== Writer ============================================================================ */

typedef struct attr_enc {
    osp_buf *shape, *values, *raw; /* streams of the owning column */
    osp_buf *vals;                 /* per key id: this granule's values of that key */
    uint32_t nvals;
} attr_enc;

typedef struct key_value {
    uint32_t kid;
    osp_value v;
} key_value;

struct osp_part_writer {
    osp_blockfile_writer bf; /* the file; bf.offset is where the next block goes */
    int err;                 /* sticky failure */
    uint64_t wal_lsn;
    uint64_t *replaces;
    size_t nreplaces;
    osp_intern strings, keys, resources, scopes, catalogue;
    uint64_t nrows, min_start, max_start;
    osp_span last;    /* ordering key of the previous row */
    osp_buf granules; /* granule records of the index */
    osp_buf traces;   /* XXH64 of every distinct trace id, for the bloom filter */
    /* the granule being built */
    uint32_t grows, run; /* rows; rows in the current trace-id run */
    uint8_t run_trace[16], first_trace[16];
    uint64_t gmin, gmax, prev_start, gblob;
    osp_buf st[OSP_NCOLS][OSP_COL_MAX_STREAMS];
    attr_enc attrs, ev_attrs, ln_attrs;
    uint32_t pmap[PMAP_SLOTS];
    osp_buf scratch, block;
    key_value *kvs;
    size_t nkvs, kvs_cap;
};

static void attr_enc_init(attr_enc *e, osp_buf *set)
{
    e->shape = &set[OSP_SET_SHAPE];
    e->values = &set[OSP_SET_VALUES];
    e->raw = &set[OSP_SET_RAW];
    e->vals = NULL;
    e->nvals = 0;
}

static void attr_enc_cleanup(attr_enc *e)
{
    for (uint32_t i = 0; i < e->nvals; i++)
        osp_buf_cleanup(&e->vals[i]);
    osp_free(e->vals);
}

static void writer_destroy(osp_part_writer *w, int remove_file)
{
    osp_blockfile_writer_cleanup(&w->bf, remove_file);
    osp_free(w->replaces);
    osp_intern_cleanup(&w->strings);
    osp_intern_cleanup(&w->keys);
    osp_intern_cleanup(&w->resources);
    osp_intern_cleanup(&w->scopes);
    osp_intern_cleanup(&w->catalogue);
    osp_buf_cleanup(&w->granules);
    osp_buf_cleanup(&w->traces);
    for (int c = 0; c < OSP_NCOLS; c++)
        for (int k = 0; k < OSP_COL_MAX_STREAMS; k++)
            osp_buf_cleanup(&w->st[c][k]);
    attr_enc_cleanup(&w->attrs);
    attr_enc_cleanup(&w->ev_attrs);
    attr_enc_cleanup(&w->ln_attrs);
    osp_buf_cleanup(&w->scratch);
    osp_buf_cleanup(&w->block);
    osp_free(w->kvs);
    osp_free(w);
}

int osp_part_writer_create(const char *tmp_path, const osp_part_writer_options *opt,
                           osp_part_writer **out)
{
    int rc = OSP_ENOMEM;
    uint32_t empty_id;
    osp_part_writer *w = osp_calloc(1, sizeof *w);
    if (!w)
        return OSP_ENOMEM;
    osp_blockfile_writer_init(&w->bf, &part_format,
                              opt->zstd_level ? opt->zstd_level : OSP_PART_ZSTD_LEVEL);
    osp_intern_init(&w->strings, 1);
    osp_intern_init(&w->keys, 1);
    osp_intern_init(&w->resources, 1);
    osp_intern_init(&w->scopes, 1);
    osp_intern_init(&w->catalogue, 1);
    osp_buf_init(&w->granules, 0);
    osp_buf_init(&w->traces, 0);
    for (int c = 0; c < OSP_NCOLS; c++)
        for (int k = 0; k < OSP_COL_MAX_STREAMS; k++)
            osp_buf_init(&w->st[c][k], 0);
    attr_enc_init(&w->attrs, &w->st[OSP_COL_ATTRS][OSP_ATTRS_SET]);
    attr_enc_init(&w->ev_attrs, &w->st[OSP_COL_EVENTS][OSP_EV_ATTRS]);
    attr_enc_init(&w->ln_attrs, &w->st[OSP_COL_LINKS][OSP_LN_ATTRS]);
    osp_buf_init(&w->scratch, 0);
    osp_buf_init(&w->block, 0);
    w->wal_lsn = opt->wal_lsn;
    if (opt->nreplaces) {
        w->replaces = osp_malloc(opt->nreplaces * sizeof *opt->replaces);
        if (w->replaces)
            memcpy(w->replaces, opt->replaces, opt->nreplaces * sizeof *opt->replaces);
    }
    w->nreplaces = opt->nreplaces;
    if (w->nreplaces && !w->replaces)
        goto out;
    /* String id 0 is always "", the common trace_state and status message. */
    if ((rc = osp_intern_add(&w->strings, OSP_STR_LIT(""), &empty_id)) == 0)
        rc = osp_blockfile_writer_create(&w->bf, tmp_path);
out:
    if (rc)
        writer_destroy(w, 0);
    else
        *out = w;
    return rc;
}

static int put_value(osp_buf *b, const osp_value *v)
{
    uint8_t tmp[8];
    uint64_t bits;
    switch (v->type) {
    case OSP_VAL_EMPTY:
        return 0;
    case OSP_VAL_BOOL:
        return osp_buf_putc(b, v->i ? 1 : 0);
    case OSP_VAL_INT:
        return osp_pb_put_varint(b, osp_pb_zigzag_encode(v->i));
    case OSP_VAL_DOUBLE:
        memcpy(&bits, &v->d, sizeof bits);
        osp_put_le64(tmp, bits);
        return osp_buf_append(b, tmp, sizeof tmp);
    case OSP_VAL_STRING:
    case OSP_VAL_BYTES:
    case OSP_VAL_ARRAY:
    case OSP_VAL_KVLIST:
        return osp_pb_put_lenbytes(b, v->s.p, v->s.n);
    }
    return OSP_EINVAL;
}

/* Marks a blob as stored verbatim: an odd count in the shape stream, bytes in raw. */
static int put_verbatim(osp_buf *shape, osp_buf *raw, osp_str blob)
{
    int rc = osp_pb_put_varint(shape, 1);
    return rc ? rc : osp_pb_put_lenbytes(raw, blob.p, blob.n);
}

static int grow_vals(attr_enc *e, uint32_t kid)
{
    uint32_t n = e->nvals ? e->nvals : 16;
    while (n <= kid)
        n *= 2;
    osp_buf *v = osp_realloc(e->vals, n * sizeof *v);
    if (!v)
        return OSP_ENOMEM;
    for (uint32_t i = e->nvals; i < n; i++)
        osp_buf_init(&v[i], 0);
    e->vals = v;
    e->nvals = n;
    return 0;
}

static int push_kv(osp_part_writer *w, uint32_t kid, const osp_value *v)
{
    if (w->nkvs == w->kvs_cap) {
        size_t cap = w->kvs_cap ? w->kvs_cap * 2 : 32;
        key_value *a = osp_realloc(w->kvs, cap * sizeof *a);
        if (!a)
            return OSP_ENOMEM;
        w->kvs = a;
        w->kvs_cap = cap;
    }
    w->kvs[w->nkvs++] = (key_value){kid, *v};
    return 0;
}

/* Adds one attrs blob to an attribute stream set: key ids and types to the shape, values
 * to their key's stream; verbatim when re-encoding would not reproduce the bytes. */
static int attr_encode(osp_part_writer *w, attr_enc *e, osp_str blob)
{
    osp_attr_iter it;
    osp_str key;
    osp_value v;
    uint32_t kid;
    int rc, more;
    w->nkvs = 0;
    osp_buf_reset(&w->scratch);
    osp_attr_iter_init(&it, blob);
    while ((more = osp_attr_next(&it, &key, &v)) == 1) {
        if ((rc = osp_intern_add(&w->keys, key, &kid)) || (rc = push_kv(w, kid, &v)) ||
            (rc = osp_attr_append(&w->scratch, key, &v)))
            return rc;
    }
    if (more < 0 || !osp_str_eq(osp_buf_str(&w->scratch), blob))
        return put_verbatim(e->shape, e->raw, blob);
    rc = osp_pb_put_varint(e->shape, (uint64_t)w->nkvs << 1);
    for (size_t i = 0; i < w->nkvs && rc == 0; i++) {
        const key_value *kv = &w->kvs[i];
        rc = osp_pb_put_varint(e->shape, (uint64_t)kv->kid << 3 | (uint64_t)kv->v.type);
        if (rc == 0 && kv->kid >= e->nvals)
            rc = grow_vals(e, kv->kid);
        if (rc == 0)
            rc = put_value(&e->vals[kv->kid], &kv->v);
    }
    return rc;
}

/* Moves the per-key value streams into the set's values stream. */
static int attr_enc_flush(attr_enc *e)
{
    int rc = 0;
    for (uint32_t kid = 0; kid < e->nvals && rc == 0; kid++) {
        osp_buf *v = &e->vals[kid];
        if (v->len == 0)
            continue;
        rc = osp_pb_put_varint(e->values, kid);
        if (rc == 0)
            rc = osp_pb_put_lenbytes(e->values, v->data, v->len);
        osp_buf_reset(v);
    }
    return rc;
}

static int events_encode(osp_part_writer *w, const osp_span *sp)
{
    osp_buf *st = w->st[OSP_COL_EVENTS];
    osp_blob_iter it;
    osp_event ev;
    uint64_t n = 0;
    uint32_t nid;
    int rc, more;
    osp_buf_reset(&w->scratch);
    osp_blob_iter_init(&it, sp->events);
    while ((more = osp_events_next(&it, &ev)) == 1) {
        n++;
        if ((rc = osp_events_append(&w->scratch, &ev)))
            return rc;
    }
    if (more < 0 || !osp_str_eq(osp_buf_str(&w->scratch), sp->events))
        return put_verbatim(&st[OSP_EV_COUNTS], &st[OSP_EV_RAW], sp->events);
    rc = osp_pb_put_varint(&st[OSP_EV_COUNTS], n << 1);
    osp_blob_iter_init(&it, sp->events);
    while (rc == 0 && osp_events_next(&it, &ev) == 1) {
        rc = osp_pb_put_varint(&st[OSP_EV_FIELDS],
                               osp_pb_zigzag_encode((int64_t)(ev.time_ns - sp->start_ns)));
        if (rc == 0)
            rc = osp_intern_add(&w->strings, ev.name, &nid);
        if (rc == 0)
            rc = osp_pb_put_varint(&st[OSP_EV_FIELDS], nid);
        if (rc == 0)
            rc = osp_pb_put_varint(&st[OSP_EV_FIELDS], ev.dropped_attributes);
        if (rc == 0)
            rc = attr_encode(w, &w->ev_attrs, ev.attributes);
    }
    return rc;
}

static int links_encode(osp_part_writer *w, const osp_span *sp)
{
    osp_buf *st = w->st[OSP_COL_LINKS];
    osp_blob_iter it;
    osp_link ln;
    uint64_t n = 0;
    uint32_t sid;
    int rc, more;
    osp_buf_reset(&w->scratch);
    osp_blob_iter_init(&it, sp->links);
    while ((more = osp_links_next(&it, &ln)) == 1) {
        n++;
        if ((rc = osp_links_append(&w->scratch, &ln)))
            return rc;
    }
    if (more < 0 || !osp_str_eq(osp_buf_str(&w->scratch), sp->links))
        return put_verbatim(&st[OSP_LN_COUNTS], &st[OSP_LN_RAW], sp->links);
    rc = osp_pb_put_varint(&st[OSP_LN_COUNTS], n << 1);
    osp_blob_iter_init(&it, sp->links);
    while (rc == 0 && osp_links_next(&it, &ln) == 1) {
        rc = osp_buf_append(&st[OSP_LN_IDS], ln.trace_id, sizeof ln.trace_id);
        if (rc == 0)
            rc = osp_buf_append(&st[OSP_LN_IDS], ln.span_id, sizeof ln.span_id);
        if (rc == 0)
            rc = osp_intern_add(&w->strings, ln.trace_state, &sid);
        if (rc == 0)
            rc = osp_pb_put_varint(&st[OSP_LN_FIELDS], sid);
        if (rc == 0)
            rc = osp_pb_put_varint(&st[OSP_LN_FIELDS], ln.flags);
        if (rc == 0)
            rc = osp_pb_put_varint(&st[OSP_LN_FIELDS], ln.dropped_attributes);
        if (rc == 0)
            rc = attr_encode(w, &w->ln_attrs, ln.attributes);
    }
    return rc;
}

/* Interns the index form of a resource (fields in OSP_RES_* order, defaults omitted). */
static int resource_id(osp_part_writer *w, const osp_resource *r, uint32_t *id)
{
    osp_buf *b = &w->scratch;
    int rc = 0;
    osp_buf_reset(b);
    if (r->attributes.n)
        rc = osp_pb_put_str(b, OSP_RES_ATTRIBUTES, r->attributes);
    if (rc == 0 && r->dropped_attributes)
        rc = osp_pb_put_uint(b, OSP_RES_DROPPED, r->dropped_attributes);
    if (rc == 0 && r->entity_refs.n)
        rc = osp_pb_put_str(b, OSP_RES_ENTITY_REFS, r->entity_refs);
    if (rc == 0 && r->schema_url.n)
        rc = osp_pb_put_str(b, OSP_RES_SCHEMA_URL, r->schema_url);
    if (rc == 0 && r->service_name.n)
        rc = osp_pb_put_str(b, OSP_RES_SERVICE, r->service_name);
    return rc ? rc : osp_intern_add(&w->resources, osp_buf_str(b), id);
}

static int scope_id(osp_part_writer *w, const osp_scope *s, uint32_t *id)
{
    osp_buf *b = &w->scratch;
    int rc = 0;
    osp_buf_reset(b);
    if (s->name.n)
        rc = osp_pb_put_str(b, OSP_SCOPE_NAME, s->name);
    if (rc == 0 && s->version.n)
        rc = osp_pb_put_str(b, OSP_SCOPE_VERSION, s->version);
    if (rc == 0 && s->attributes.n)
        rc = osp_pb_put_str(b, OSP_SCOPE_ATTRIBUTES, s->attributes);
    if (rc == 0 && s->dropped_attributes)
        rc = osp_pb_put_uint(b, OSP_SCOPE_DROPPED, s->dropped_attributes);
    if (rc == 0 && s->schema_url.n)
        rc = osp_pb_put_str(b, OSP_SCOPE_SCHEMA_URL, s->schema_url);
    return rc ? rc : osp_intern_add(&w->scopes, osp_buf_str(b), id);
}

static uint32_t pmap_slot(const uint8_t id[8])
{
    uint64_t x;
    memcpy(&x, id, sizeof x);
    return (uint32_t)((x * 0x9E3779B97F4A7C15ull) >> 40) & (PMAP_SLOTS - 1);
}

/* Writes the parent code of sp and records sp's span id for the rows after it. */
static int put_parent(osp_part_writer *w, const osp_span *sp)
{
    static const uint8_t zero[8];
    osp_buf *st = w->st[OSP_COL_PARENT];
    const uint8_t *ids = (const uint8_t *)w->st[OSP_COL_SPAN_ID][0].data;
    uint64_t code = OSP_PARENT_NONE;
    uint32_t slot;
    int rc = 0;
    if (memcmp(sp->parent_span_id, zero, sizeof zero) != 0) {
        code = OSP_PARENT_INLINE;
        for (slot = pmap_slot(sp->parent_span_id); w->pmap[slot];
             slot = (slot + 1) & (PMAP_SLOTS - 1)) {
            uint32_t row = w->pmap[slot] - 1;
            if (memcmp(ids + (size_t)row * 8, sp->parent_span_id, 8) == 0) {
                code = OSP_PARENT_BACKREF + (w->grows - 1 - row);
                break;
            }
        }
    }
    rc = osp_pb_put_varint(&st[OSP_PARENT_CODES], code);
    if (rc == 0 && code == OSP_PARENT_INLINE)
        rc = osp_buf_append(&st[OSP_PARENT_RAW], sp->parent_span_id, 8);
    if (rc)
        return rc;
    for (slot = pmap_slot(sp->span_id); w->pmap[slot]; slot = (slot + 1) & (PMAP_SLOTS - 1))
        if (memcmp(ids + (size_t)(w->pmap[slot] - 1) * 8, sp->span_id, 8) == 0)
            break;
    w->pmap[slot] = w->grows + 1;
    return 0;
}

static int end_run(osp_part_writer *w)
{
    osp_buf *b = &w->st[OSP_COL_TRACE][0];
    int rc = osp_pb_put_varint(b, w->run);
    w->run = 0;
    return rc ? rc : osp_buf_append(b, w->run_trace, sizeof w->run_trace);
}

/* Compresses one column's streams into a block, appends it to the file, and fills the
 * column's slot of the granule record. */
static int write_column(osp_part_writer *w, int c, uint8_t *slot)
{
    int rc = 0;
    osp_buf_reset(&w->block);
    for (int k = 0; k < col_streams[c] && rc == 0; k++) {
        rc = osp_pb_put_lenbytes(&w->block, w->st[c][k].data, w->st[c][k].len);
        osp_buf_reset(&w->st[c][k]);
    }
    return rc ? rc : osp_blockfile_put_block(&w->bf, w->block.data, w->block.len, slot);
}

static int flush_granule(osp_part_writer *w)
{
    uint8_t rec[OSP_GRANULE_RECORD];
    int rc = end_run(w);
    if (rc == 0)
        rc = attr_enc_flush(&w->attrs);
    if (rc == 0)
        rc = attr_enc_flush(&w->ev_attrs);
    if (rc == 0)
        rc = attr_enc_flush(&w->ln_attrs);
    memcpy(rec, w->first_trace, 16);
    osp_put_le64(rec + 16, w->gmin);
    osp_put_le64(rec + 24, w->gmax);
    osp_put_le64(rec + 32, w->bf.offset);
    osp_put_le32(rec + 40, w->grows);
    for (int c = 0; c < OSP_NCOLS && rc == 0; c++)
        rc = write_column(w, c, rec + OSP_GRANULE_FIXED + c * OSP_GRANULE_COL);
    if (rc == 0)
        rc = osp_buf_append(&w->granules, rec, sizeof rec);
    w->grows = 0;
    w->gblob = 0;
    memset(w->pmap, 0, sizeof w->pmap);
    return rc;
}

static int put_catalogue(osp_part_writer *w, uint32_t rid, uint32_t nid, int32_t kind)
{
    osp_buf *b = &w->scratch;
    uint32_t id;
    int rc;
    osp_buf_reset(b);
    rc = osp_pb_put_varint(b, rid);
    if (rc == 0)
        rc = osp_pb_put_varint(b, nid);
    if (rc == 0)
        rc = osp_pb_put_varint(b, osp_pb_zigzag_encode(kind));
    return rc ? rc : osp_intern_add(&w->catalogue, osp_buf_str(b), &id);
}

/* A row's dictionary ids in the writer's dictionaries. */
typedef struct row_ids {
    uint32_t name, resource, scope, trace_state, status_message;
} row_ids;

/* Writes every column of a row but attributes, events and links. sp supplies the scalar
 * fields (its string and index fields are ignored in favour of ids). */
static int put_head(osp_part_writer *w, const osp_span *sp, const row_ids *ids)
{
    osp_buf(*st)[OSP_COL_MAX_STREAMS] = w->st;
    int rc = 0;
    if (w->nrows == 0 || memcmp(w->last.trace_id, sp->trace_id, 16) != 0) {
        uint64_t h = XXH64(sp->trace_id, 16, 0);
        rc = osp_buf_append(&w->traces, &h, sizeof h);
    }
    if (w->grows == 0) {
        memcpy(w->first_trace, sp->trace_id, 16);
        w->gmin = w->gmax = sp->start_ns;
        w->prev_start = 0;
    }
    if (rc == 0 && w->run && memcmp(w->run_trace, sp->trace_id, 16) != 0)
        rc = end_run(w);
    if (w->run++ == 0)
        memcpy(w->run_trace, sp->trace_id, 16);
    const uint64_t state[] = {osp_pb_zigzag_encode(sp->kind),
                              osp_pb_zigzag_encode(sp->status_code),
                              sp->flags,
                              sp->dropped_attributes,
                              sp->dropped_events,
                              sp->dropped_links};
    const struct {
        int col;
        uint64_t v;
    } fields[] = {
        {OSP_COL_START, osp_pb_zigzag_encode((int64_t)(sp->start_ns - w->prev_start))},
        {OSP_COL_DURATION, osp_pb_zigzag_encode((int64_t)(sp->end_ns - sp->start_ns))},
        {OSP_COL_NAME, ids->name},
        {OSP_COL_ORIGIN, ids->resource},
        {OSP_COL_ORIGIN, ids->scope},
        {OSP_COL_TEXT, ids->trace_state},
        {OSP_COL_TEXT, ids->status_message},
    };
    for (size_t k = 0; k < sizeof fields / sizeof fields[0] && rc == 0; k++)
        rc = osp_pb_put_varint(&st[fields[k].col][0], fields[k].v);
    for (size_t k = 0; k < sizeof state / sizeof state[0] && rc == 0; k++)
        rc = osp_pb_put_varint(&st[OSP_COL_STATE][0], state[k]);
    if (rc == 0)
        rc = put_parent(w, sp);
    if (rc == 0)
        rc = osp_buf_append(&st[OSP_COL_SPAN_ID][0], sp->span_id, 8);
    return rc ? rc : put_catalogue(w, ids->resource, ids->name, sp->kind);
}

/* Checks a row's place in the sort order and starts a new granule when this one is full. */
static int begin_row(osp_part_writer *w, const osp_span *key)
{
    if (w->err)
        return w->err;
    if (w->nrows && osp_part_row_cmp(&w->last, key) > 0)
        return OSP_EINVAL;
    if (w->grows == OSP_PART_GRANULE_ROWS || w->gblob >= GRANULE_BLOB_BYTES)
        return w->err = flush_granule(w);
    return 0;
}

/* Accounts for a row whose columns were all written; blob_bytes approximates its size. */
static void end_row(osp_part_writer *w, const osp_span *sp, size_t blob_bytes)
{
    w->prev_start = sp->start_ns;
    if (sp->start_ns < w->gmin)
        w->gmin = sp->start_ns;
    if (sp->start_ns > w->gmax)
        w->gmax = sp->start_ns;
    if (w->nrows == 0 || sp->start_ns < w->min_start)
        w->min_start = sp->start_ns;
    if (w->nrows == 0 || sp->start_ns > w->max_start)
        w->max_start = sp->start_ns;
    w->gblob += blob_bytes;
    w->grows++;
    w->nrows++;
    memcpy(w->last.trace_id, sp->trace_id, 16);
    memcpy(w->last.span_id, sp->span_id, 8);
    w->last.start_ns = sp->start_ns;
}

int osp_part_writer_add(osp_part_writer *w, const osp_span_batch *b, size_t i)
{
    const osp_span *sp = &b->spans[i];
    row_ids ids;
    if (sp->resource >= b->nresources || sp->scope >= b->nscopes)
        return OSP_EINVAL;
    int rc = begin_row(w, sp);
    if (rc)
        return rc;
    if ((rc = osp_intern_add(&w->strings, sp->name, &ids.name)) == 0 &&
        (rc = resource_id(w, &b->resources[sp->resource], &ids.resource)) == 0 &&
        (rc = scope_id(w, &b->scopes[sp->scope], &ids.scope)) == 0 &&
        (rc = osp_intern_add(&w->strings, sp->trace_state, &ids.trace_state)) == 0 &&
        (rc = osp_intern_add(&w->strings, sp->status_message, &ids.status_message)) == 0 &&
        (rc = put_head(w, sp, &ids)) == 0 &&
        (rc = attr_encode(w, &w->attrs, sp->attributes)) == 0 && (rc = events_encode(w, sp)) == 0 &&
        (rc = links_encode(w, sp)) == 0)
        end_row(w, sp,
                sp->attributes.n + sp->events.n + sp->links.n + sp->name.n + sp->status_message.n +
                    sp->trace_state.n);
    return w->err = rc;
}

static int put_strings(osp_buf *b, uint32_t field, const osp_intern *t)
{
    int rc = 0;
    for (uint32_t i = 0; i < t->n && rc == 0; i++)
        rc = osp_pb_put_str(b, field, t->strs[i]);
    return rc;
}

/* Builds the index message into w->block. */
static int build_index(osp_part_writer *w)
{
    osp_buf *b = &w->block;
    size_t ntraces = w->traces.len / sizeof(uint64_t), mark;
    uint64_t nbits = ntraces ? ((ntraces * OSP_BLOOM_BITS_PER_KEY + 63) / 64) * 64 : 0;
    int rc;
    osp_buf_reset(b);
    rc = osp_pb_put_uint(b, OSP_IDX_NROWS, w->nrows);
    if (rc == 0)
        rc = osp_pb_put_uint(b, OSP_IDX_MIN_START, w->min_start);
    if (rc == 0)
        rc = osp_pb_put_uint(b, OSP_IDX_MAX_START, w->max_start);
    if (rc == 0)
        rc = osp_pb_put_uint(b, OSP_IDX_WAL_LSN, w->wal_lsn);
    for (size_t i = 0; i < w->nreplaces && rc == 0; i++)
        rc = osp_pb_put_uint(b, OSP_IDX_REPLACES, w->replaces[i]);
    if (rc == 0)
        rc = put_strings(b, OSP_IDX_STRING, &w->strings);
    if (rc == 0)
        rc = put_strings(b, OSP_IDX_KEY, &w->keys);
    if (rc == 0)
        rc = put_strings(b, OSP_IDX_RESOURCE, &w->resources);
    if (rc == 0)
        rc = put_strings(b, OSP_IDX_SCOPE, &w->scopes);
    if (rc == 0)
        rc = osp_pb_begin(b, OSP_IDX_CATALOGUE, &mark);
    for (uint32_t i = 0; i < w->catalogue.n && rc == 0; i++)
        rc = osp_buf_append_str(b, w->catalogue.strs[i]);
    if (rc == 0)
        rc = osp_pb_end(b, mark);
    if (rc == 0)
        rc = osp_pb_put_uint(b, OSP_IDX_BLOOM_HASHES, OSP_BLOOM_HASHES);
    if (rc == 0)
        rc = osp_pb_begin(b, OSP_IDX_BLOOM, &mark);
    if (rc == 0)
        rc = osp_buf_reserve(b, nbits / 8);
    if (rc)
        return rc;
    uint8_t *bits = (uint8_t *)b->data + b->len;
    memset(bits, 0, nbits / 8);
    for (size_t t = 0; t < ntraces; t++) {
        uint64_t h;
        memcpy(&h, w->traces.data + t * sizeof h, sizeof h);
        for (uint32_t i = 0; i < OSP_BLOOM_HASHES; i++) {
            uint64_t bit = bloom_probe(h, i, nbits);
            bits[bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
    }
    b->len += nbits / 8;
    rc = osp_pb_end(b, mark);
    if (rc == 0)
        rc = osp_pb_put_uint(b, OSP_IDX_NCOLS, OSP_NCOLS);
    if (rc == 0)
        rc = osp_pb_put_bytes(b, OSP_IDX_GRANULES, w->granules.data, w->granules.len);
    return rc;
}

int osp_part_writer_finish(osp_part_writer *w, uint64_t *bytes)
{
    int rc = w->err;
    if (rc == 0 && w->grows)
        rc = flush_granule(w);
    if (rc == 0)
        rc = build_index(w);
    if (rc == 0)
        rc = osp_blockfile_finish(&w->bf, w->block.data, w->block.len, bytes);
    writer_destroy(w, rc != 0);
    return rc;
}

void osp_part_writer_abort(osp_part_writer *w)
{
    if (w)
        writer_destroy(w, 1);
}

int osp_part_publish(const char *tmp_path, const char *path)
{
    return osp_blockfile_publish(tmp_path, path, MOD);
}

/* ==== Reader ============================================================================ */

typedef struct granule {
    uint8_t first_trace[16];
    uint64_t min_start, max_start, offset;
    uint32_t nrows;
    osp_blockfile_block col[OSP_NCOLS];
} granule;

struct osp_part {
    osp_blockfile bf;
    osp_part_info info;
    uint8_t *index; /* decompressed index; dictionary slices point into it */
    osp_str *strings, *keys;
    uint32_t nstrings, nkeys;
    osp_resource *resources;
    osp_scope *scopes;
    uint32_t nresources, nscopes;
    osp_str catalogue;
    const uint8_t *bloom;
    uint64_t bloom_bits;
    uint32_t bloom_k;
    granule *granules;
    uint64_t *replaces;
    osp_intern string_ids, key_ids; /* lookups by value (borrowing) */
};

static int corrupt(const osp_part *p, const char *why)
{
    return osp_blockfile_corrupt(&p->bf, why);
}

static int parse_resource(const osp_part *p, osp_str msg, osp_resource *r)
{
    osp_pb_reader rd = osp_pb_reader_make(msg.p, msg.n);
    osp_pb_field f;
    int more;
    memset(r, 0, sizeof *r);
    while ((more = osp_pb_next(&rd, &f)) == 1) {
        int len = f.wire == OSP_PB_LEN;
        if (f.num == OSP_RES_DROPPED) {
            if (f.wire != OSP_PB_VARINT)
                return corrupt(p, "bad resource");
            r->dropped_attributes = (uint32_t)f.u64;
        } else if (f.num <= OSP_RES_SERVICE && !len) {
            return corrupt(p, "bad resource");
        } else if (f.num == OSP_RES_ATTRIBUTES) {
            r->attributes = f.bytes;
        } else if (f.num == OSP_RES_ENTITY_REFS) {
            r->entity_refs = f.bytes;
        } else if (f.num == OSP_RES_SCHEMA_URL) {
            r->schema_url = f.bytes;
        } else if (f.num == OSP_RES_SERVICE) {
            r->service_name = f.bytes;
        }
    }
    return more < 0 ? corrupt(p, "bad resource") : 0;
}

static int parse_scope(const osp_part *p, osp_str msg, osp_scope *s)
{
    osp_pb_reader rd = osp_pb_reader_make(msg.p, msg.n);
    osp_pb_field f;
    int more;
    memset(s, 0, sizeof *s);
    while ((more = osp_pb_next(&rd, &f)) == 1) {
        int len = f.wire == OSP_PB_LEN;
        if (f.num == OSP_SCOPE_DROPPED) {
            if (f.wire != OSP_PB_VARINT)
                return corrupt(p, "bad scope");
            s->dropped_attributes = (uint32_t)f.u64;
        } else if (f.num <= OSP_SCOPE_SCHEMA_URL && !len) {
            return corrupt(p, "bad scope");
        } else if (f.num == OSP_SCOPE_NAME) {
            s->name = f.bytes;
        } else if (f.num == OSP_SCOPE_VERSION) {
            s->version = f.bytes;
        } else if (f.num == OSP_SCOPE_ATTRIBUTES) {
            s->attributes = f.bytes;
        } else if (f.num == OSP_SCOPE_SCHEMA_URL) {
            s->schema_url = f.bytes;
        }
    }
    return more < 0 ? corrupt(p, "bad scope") : 0;
}

/* The wire type each known index field must have. */
static int index_wire_ok(const osp_pb_field *f)
{
    switch (f->num) {
    case OSP_IDX_NROWS:
    case OSP_IDX_MIN_START:
    case OSP_IDX_MAX_START:
    case OSP_IDX_WAL_LSN:
    case OSP_IDX_REPLACES:
    case OSP_IDX_BLOOM_HASHES:
    case OSP_IDX_NCOLS:
        return f->wire == OSP_PB_VARINT;
    case OSP_IDX_STRING:
    case OSP_IDX_KEY:
    case OSP_IDX_RESOURCE:
    case OSP_IDX_SCOPE:
    case OSP_IDX_CATALOGUE:
    case OSP_IDX_BLOOM:
    case OSP_IDX_GRANULES:
        return f->wire == OSP_PB_LEN;
    default:
        return 1; /* unknown fields are skipped */
    }
}

static int parse_granules(osp_part *p, osp_str recs, uint64_t index_offset)
{
    size_t n = recs.n / OSP_GRANULE_RECORD;
    uint64_t rows = 0, prev_end = OSP_PART_HEADER_SIZE;
    if (recs.n % OSP_GRANULE_RECORD)
        return corrupt(p, "bad granule table");
    p->granules = osp_calloc(n ? n : 1, sizeof *p->granules);
    if (!p->granules)
        return OSP_ENOMEM;
    p->info.ngranules = n;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *r = (const uint8_t *)recs.p + i * OSP_GRANULE_RECORD;
        granule *g = &p->granules[i];
        memcpy(g->first_trace, r, 16);
        g->min_start = osp_get_le64(r + 16);
        g->max_start = osp_get_le64(r + 24);
        g->offset = osp_get_le64(r + 32);
        g->nrows = osp_get_le32(r + 40);
        uint64_t end = g->offset;
        for (int c = 0; c < OSP_NCOLS; c++) {
            const uint8_t *slot = r + OSP_GRANULE_FIXED + c * OSP_GRANULE_COL;
            if (osp_blockfile_get_slot(&p->bf, slot, &g->col[c]))
                return corrupt(p, "bad block size");
            end += g->col[c].clen;
        }
        if (g->nrows == 0 || g->nrows > OSP_PART_MAX_GRANULE_ROWS)
            return corrupt(p, "bad granule row count");
        if (g->offset < prev_end || end > index_offset || end < g->offset)
            return corrupt(p, "granule blocks out of bounds");
        if (g->min_start > g->max_start || g->min_start < p->info.min_start ||
            g->max_start > p->info.max_start)
            return corrupt(p, "granule time range outside the part's");
        if (i && memcmp(p->granules[i - 1].first_trace, g->first_trace, 16) > 0)
            return corrupt(p, "granules out of order");
        prev_end = end;
        rows += g->nrows;
    }
    return rows == p->info.nrows ? 0 : corrupt(p, "row counts disagree");
}

/* Parses and checks the decompressed index (n bytes at p->index). */
static int parse_index(osp_part *p, size_t n, uint64_t index_offset)
{
    osp_pb_reader rd = osp_pb_reader_make(p->index, n);
    osp_pb_field f;
    osp_str granules = OSP_STR_NULL;
    size_t nreplaces = 0;
    uint64_t ncols = 0, nstr = 0, nkey = 0, nres = 0, nscope = 0;
    int more, rc = 0;
    /* First pass: sizes, scalars and singular fields. */
    while ((more = osp_pb_next(&rd, &f)) == 1) {
        if (!index_wire_ok(&f))
            return corrupt(p, "bad index field");
        switch (f.num) {
        case OSP_IDX_NROWS:
            p->info.nrows = f.u64;
            break;
        case OSP_IDX_MIN_START:
            p->info.min_start = f.u64;
            break;
        case OSP_IDX_MAX_START:
            p->info.max_start = f.u64;
            break;
        case OSP_IDX_WAL_LSN:
            p->info.wal_lsn = f.u64;
            break;
        case OSP_IDX_REPLACES:
            nreplaces++;
            break;
        case OSP_IDX_STRING:
            nstr++;
            break;
        case OSP_IDX_KEY:
            nkey++;
            break;
        case OSP_IDX_RESOURCE:
            nres++;
            break;
        case OSP_IDX_SCOPE:
            nscope++;
            break;
        case OSP_IDX_CATALOGUE:
            p->catalogue = f.bytes;
            break;
        case OSP_IDX_BLOOM_HASHES:
            p->bloom_k = f.u64 > 64 ? 0 : (uint32_t)f.u64;
            break;
        case OSP_IDX_BLOOM:
            p->bloom = (const uint8_t *)f.bytes.p;
            p->bloom_bits = (uint64_t)f.bytes.n * 8;
            break;
        case OSP_IDX_NCOLS:
            ncols = f.u64;
            break;
        case OSP_IDX_GRANULES:
            granules = f.bytes;
            break;
        }
    }
    if (more < 0)
        return corrupt(p, "index does not parse");
    if (ncols != OSP_NCOLS)
        return corrupt(p, "unexpected column count");
    if (p->info.nrows && (p->bloom_bits == 0 || p->bloom_k == 0))
        return corrupt(p, "missing bloom filter");
    if (p->info.min_start > p->info.max_start)
        return corrupt(p, "bad time range");
    /* Counts are bounded by the index size, so these products cannot overflow. */
    p->replaces = osp_calloc(nreplaces + 1, sizeof *p->replaces);
    p->strings = osp_calloc(nstr + 1, sizeof *p->strings);
    p->keys = osp_calloc(nkey + 1, sizeof *p->keys);
    p->resources = osp_calloc(nres + 1, sizeof *p->resources);
    p->scopes = osp_calloc(nscope + 1, sizeof *p->scopes);
    if (!p->replaces || !p->strings || !p->keys || !p->resources || !p->scopes)
        return OSP_ENOMEM;
    /* Second pass: repeated fields. */
    rd = osp_pb_reader_make(p->index, n);
    while (rc == 0 && osp_pb_next(&rd, &f) == 1) {
        switch (f.num) {
        case OSP_IDX_REPLACES:
            p->replaces[p->info.nreplaces++] = f.u64;
            break;
        case OSP_IDX_STRING:
            p->strings[p->nstrings++] = f.bytes;
            break;
        case OSP_IDX_KEY:
            p->keys[p->nkeys++] = f.bytes;
            break;
        case OSP_IDX_RESOURCE:
            rc = parse_resource(p, f.bytes, &p->resources[p->nresources++]);
            break;
        case OSP_IDX_SCOPE:
            rc = parse_scope(p, f.bytes, &p->scopes[p->nscopes++]);
            break;
        }
    }
    p->info.replaces = p->replaces;
    for (uint32_t i = 0; i < p->nstrings && rc == 0; i++) {
        uint32_t id;
        rc = osp_intern_add(&p->string_ids, p->strings[i], &id);
    }
    for (uint32_t i = 0; i < p->nkeys && rc == 0; i++) {
        uint32_t id;
        rc = osp_intern_add(&p->key_ids, p->keys[i], &id);
    }
    return rc ? rc : parse_granules(p, granules, index_offset);
}

int osp_part_open(const char *path, osp_part **out)
{
    size_t n;
    uint64_t index_off;
    osp_part *p = osp_calloc(1, sizeof *p);
    pthread_once(&metrics_once, metrics_init);
    if (!p)
        return OSP_ENOMEM;
    osp_intern_init(&p->string_ids, 0);
    osp_intern_init(&p->key_ids, 0);
    int rc = osp_blockfile_open(&p->bf, &part_format, path, &p->index, &n, &index_off);
    p->info.bytes = p->bf.size;
    if (rc == 0)
        rc = parse_index(p, n, index_off);
    if (rc)
        osp_part_close(p);
    else
        *out = p;
    return rc;
}

void osp_part_close(osp_part *p)
{
    if (!p)
        return;
    osp_blockfile_close(&p->bf);
    osp_intern_cleanup(&p->string_ids);
    osp_intern_cleanup(&p->key_ids);
    osp_free(p->granules);
    osp_free(p->replaces);
    osp_free(p->strings);
    osp_free(p->keys);
    osp_free(p->resources);
    osp_free(p->scopes);
    osp_free(p->index);
    osp_free(p);
}

const osp_part_info *osp_part_get_info(const osp_part *p)
{
    return &p->info;
}

int osp_part_may_contain(const osp_part *p, const uint8_t trace_id[16])
{
    if (p->bloom_bits == 0)
        return 0;
    uint64_t h = XXH64(trace_id, 16, 0);
    for (uint32_t i = 0; i < p->bloom_k; i++) {
        uint64_t bit = bloom_probe(h, i, p->bloom_bits);
        if (!(p->bloom[bit / 8] & (1u << (bit % 8))))
            return 0;
    }
    return 1;
}

/* ---- Granule decoding ------------------------------------------------------------------ */

typedef struct attr_dec {
    osp_pb_reader *shape, *raw; /* cursors of the owning column */
    osp_pb_reader *vals;        /* per key id */
} attr_dec;

/* Cursor over one granule's decoded columns. */
typedef struct gread {
    osp_part *p;
    const granule *g;
    ZSTD_DCtx *dctx;
    uint8_t *raw[OSP_NCOLS];
    osp_pb_reader st0[OSP_NCOLS][OSP_COL_MAX_STREAMS]; /* each stream from its start */
    osp_pb_reader st[OSP_NCOLS][OSP_COL_MAX_STREAMS];  /* read positions */
    attr_dec attrs, ev_attrs, ln_attrs;
    uint32_t row, run_left; /* rows read; rows left in the current trace run */
    uint8_t trace[16];
    uint64_t prev_start;
    osp_buf io, blob, sub;
} gread;

/* A row's cheap columns (TRACE .. STATE). */
typedef struct cheap_row {
    uint8_t trace[16];
    uint64_t start, end;
    uint32_t name, resource, scope;
    int32_t kind, status;
    uint32_t flags, dropped_attributes, dropped_events, dropped_links;
} cheap_row;

static void gread_init(gread *gr, osp_part *p, size_t g, ZSTD_DCtx *dctx)
{
    memset(gr, 0, sizeof *gr);
    gr->p = p;
    gr->g = &p->granules[g];
    gr->dctx = dctx;
    osp_buf_init(&gr->io, 0);
    osp_buf_init(&gr->blob, 0);
    osp_buf_init(&gr->sub, 0);
}

static void gread_cleanup(gread *gr)
{
    for (int c = 0; c < OSP_NCOLS; c++)
        osp_free(gr->raw[c]);
    osp_free(gr->attrs.vals);
    osp_free(gr->ev_attrs.vals);
    osp_free(gr->ln_attrs.vals);
    osp_buf_cleanup(&gr->io);
    osp_buf_cleanup(&gr->blob);
    osp_buf_cleanup(&gr->sub);
}

static int bad_block(const gread *gr, int c, const char *why)
{
    osp_error(MOD, "%s: granule %zu column %d: %s", gr->p->bf.path,
              (size_t)(gr->g - gr->p->granules), c, why);
    return OSP_ECORRUPT;
}

static int rd_varint(osp_pb_reader *r, uint64_t *v)
{
    if (r->p < r->end && *r->p < 0x80) { /* most values fit one byte */
        *v = *r->p++;
        return 0;
    }
    return osp_pb_read_varint(r, v) ? OSP_ECORRUPT : 0;
}

static int rd_bytes(osp_pb_reader *r, size_t n, const uint8_t **p)
{
    if ((size_t)(r->end - r->p) < n)
        return OSP_ECORRUPT;
    *p = r->p;
    r->p += n;
    return 0;
}

static int rd_lenbytes(osp_pb_reader *r, osp_str *s)
{
    uint64_t n;
    const uint8_t *p;
    if (rd_varint(r, &n) || n > (uint64_t)(r->end - r->p) || rd_bytes(r, (size_t)n, &p))
        return OSP_ECORRUPT;
    *s = osp_str_make((const char *)p, (size_t)n);
    return 0;
}

/* Reads a dictionary id, which must be below n. */
static int rd_id(osp_pb_reader *r, uint32_t n, uint32_t *id)
{
    uint64_t v;
    if (rd_varint(r, &v) || v >= n)
        return OSP_ECORRUPT;
    *id = (uint32_t)v;
    return 0;
}

static int rd_u32(osp_pb_reader *r, uint32_t *out)
{
    uint64_t v;
    if (rd_varint(r, &v) || v > UINT32_MAX)
        return OSP_ECORRUPT;
    *out = (uint32_t)v;
    return 0;
}

static int rd_i32(osp_pb_reader *r, int32_t *out)
{
    uint64_t v;
    if (rd_varint(r, &v))
        return OSP_ECORRUPT;
    int64_t s = osp_pb_zigzag_decode(v);
    if (s < INT32_MIN || s > INT32_MAX)
        return OSP_ECORRUPT;
    *out = (int32_t)s;
    return 0;
}

static int attr_dec_init(gread *gr, attr_dec *d, int c, int base)
{
    uint32_t nkeys = gr->p->nkeys;
    osp_pb_reader vr = gr->st0[c][base + OSP_SET_VALUES];
    d->shape = &gr->st[c][base + OSP_SET_SHAPE];
    d->raw = &gr->st[c][base + OSP_SET_RAW];
    d->vals = osp_calloc(nkeys ? nkeys : 1, sizeof *d->vals);
    if (!d->vals)
        return OSP_ENOMEM;
    while (vr.p < vr.end) {
        uint32_t kid;
        osp_str s;
        if (rd_id(&vr, nkeys, &kid) || rd_lenbytes(&vr, &s) || d->vals[kid].p)
            return bad_block(gr, c, "bad attribute values");
        d->vals[kid] = osp_pb_reader_make(s.p, s.n);
    }
    return 0;
}

/* Splits a decompressed column into its streams. */
static int split_streams(gread *gr, int c, uint32_t rawlen)
{
    osp_pb_reader r = osp_pb_reader_make(gr->raw[c], rawlen);
    for (int k = 0; k < col_streams[c]; k++) {
        osp_str s;
        if (rd_lenbytes(&r, &s))
            return bad_block(gr, c, "bad stream table");
        gr->st0[c][k] = gr->st[c][k] = osp_pb_reader_make(s.n ? s.p : "", s.n);
    }
    if (r.p != r.end)
        return bad_block(gr, c, "bytes after the streams");
    if (c == OSP_COL_ATTRS)
        return attr_dec_init(gr, &gr->attrs, c, OSP_ATTRS_SET);
    if (c == OSP_COL_EVENTS)
        return attr_dec_init(gr, &gr->ev_attrs, c, OSP_EV_ATTRS);
    if (c == OSP_COL_LINKS)
        return attr_dec_init(gr, &gr->ln_attrs, c, OSP_LN_ATTRS);
    return 0;
}

/* The set of columns c0..c1, for load_cols. */
#define COLS(c0, c1) ((2u << (c1)) - (1u << (c0)))

/* Reads, verifies and decodes the columns in set (bit c = column c) with one pread over
 * the span from the first to the last of them; columns in between are read, not decoded. */
static int load_cols(gread *gr, uint32_t set)
{
    const granule *g = gr->g;
    const char *why;
    int c0 = __builtin_ctz(set), c1 = 31 - __builtin_clz(set);
    int rc = osp_blockfile_read_run(&gr->p->bf, g->offset, g->col, c0, c1, &gr->io);
    const uint8_t *src = (const uint8_t *)gr->io.data;
    for (int c = c0; c <= c1 && rc == 0; src += g->col[c++].clen) {
        if (!(set >> c & 1))
            continue;
        osp_counter_inc(blocks_read);
        rc = osp_blockfile_unpack(gr->dctx, src, &g->col[c], &gr->raw[c], &why);
        if (rc == OSP_ECORRUPT)
            return bad_block(gr, c, why);
        if (rc == 0)
            rc = split_streams(gr, c, g->col[c].rawlen);
    }
    return rc;
}

/* Reads the next row's cheap columns (all of them loaded), for reads of whole rows. */
static int read_cheap(gread *gr, cheap_row *r)
{
    osp_part *p = gr->p;
    uint64_t dt, dur;
    const uint8_t *id;
    if (gr->run_left == 0) {
        uint64_t n;
        if (rd_varint(&gr->st[OSP_COL_TRACE][0], &n) || n == 0 || n > gr->g->nrows ||
            rd_bytes(&gr->st[OSP_COL_TRACE][0], 16, &id))
            return bad_block(gr, OSP_COL_TRACE, "bad trace id run");
        memcpy(gr->trace, id, 16);
        gr->run_left = (uint32_t)n;
    }
    gr->run_left--;
    memcpy(r->trace, gr->trace, 16);
    osp_pb_reader *state = &gr->st[OSP_COL_STATE][0];
    if (rd_varint(&gr->st[OSP_COL_START][0], &dt) ||
        rd_varint(&gr->st[OSP_COL_DURATION][0], &dur) ||
        rd_id(&gr->st[OSP_COL_NAME][0], p->nstrings, &r->name) ||
        rd_id(&gr->st[OSP_COL_ORIGIN][0], p->nresources, &r->resource) ||
        rd_id(&gr->st[OSP_COL_ORIGIN][0], p->nscopes, &r->scope) || rd_i32(state, &r->kind) ||
        rd_i32(state, &r->status) || rd_u32(state, &r->flags) ||
        rd_u32(state, &r->dropped_attributes) || rd_u32(state, &r->dropped_events) ||
        rd_u32(state, &r->dropped_links))
        return bad_block(gr, OSP_COL_STATE, "bad row");
    r->start = gr->prev_start + (uint64_t)osp_pb_zigzag_decode(dt);
    r->end = r->start + (uint64_t)osp_pb_zigzag_decode(dur);
    gr->prev_start = r->start;
    return 0;
}

/* Skips the cheap columns back to row 0 (trace runs only; the others are read once). */
static void rewind_trace(gread *gr)
{
    gr->st[OSP_COL_TRACE][0] = gr->st0[OSP_COL_TRACE][0];
    gr->run_left = 0;
}

static int get_value(osp_pb_reader *r, int type, osp_value *v)
{
    const uint8_t *p;
    uint64_t u;
    memset(v, 0, sizeof *v);
    v->type = (osp_value_type)type;
    switch (type) {
    case OSP_VAL_EMPTY:
        return 0;
    case OSP_VAL_BOOL:
        if (rd_bytes(r, 1, &p) || *p > 1)
            return OSP_ECORRUPT;
        v->i = *p;
        return 0;
    case OSP_VAL_INT:
        if (rd_varint(r, &u))
            return OSP_ECORRUPT;
        v->i = osp_pb_zigzag_decode(u);
        return 0;
    case OSP_VAL_DOUBLE:
        if (rd_bytes(r, 8, &p))
            return OSP_ECORRUPT;
        u = osp_get_le64(p);
        memcpy(&v->d, &u, sizeof u);
        return 0;
    default: /* STRING, BYTES, ARRAY, KVLIST */
        return rd_lenbytes(r, &v->s);
    }
}

/* Reads the next attrs blob of a set, appending it to dst (NULL: skip it). */
static int attrs_read(gread *gr, attr_dec *d, int c, osp_buf *dst)
{
    uint64_t h, code;
    osp_value v;
    osp_str s;
    int rc = 0;
    if (rd_varint(d->shape, &h))
        return bad_block(gr, c, "bad attribute shape");
    if (h & 1) {
        if (rd_lenbytes(d->raw, &s))
            return bad_block(gr, c, "bad verbatim attributes");
        return dst ? osp_buf_append_str(dst, s) : 0;
    }
    for (uint64_t i = 0; i < h >> 1 && rc == 0; i++) {
        if (rd_varint(d->shape, &code) || (code >> 3) >= gr->p->nkeys ||
            get_value(&d->vals[code >> 3], (int)(code & 7), &v))
            return bad_block(gr, c, "bad attribute");
        if (dst)
            rc = osp_attr_append(dst, gr->p->keys[code >> 3], &v);
    }
    return rc;
}

static int events_read(gread *gr, uint64_t start, osp_buf *dst)
{
    osp_pb_reader *st = gr->st[OSP_COL_EVENTS];
    uint64_t h, dt;
    uint32_t nid;
    osp_str s;
    int rc = 0;
    if (rd_varint(&st[OSP_EV_COUNTS], &h))
        return bad_block(gr, OSP_COL_EVENTS, "bad event count");
    if (h & 1) {
        if (rd_lenbytes(&st[OSP_EV_RAW], &s))
            return bad_block(gr, OSP_COL_EVENTS, "bad verbatim events");
        return dst ? osp_buf_append_str(dst, s) : 0;
    }
    for (uint64_t i = 0; i < h >> 1 && rc == 0; i++) {
        osp_event ev = {0};
        if (rd_varint(&st[OSP_EV_FIELDS], &dt) ||
            rd_id(&st[OSP_EV_FIELDS], gr->p->nstrings, &nid) ||
            rd_u32(&st[OSP_EV_FIELDS], &ev.dropped_attributes))
            return bad_block(gr, OSP_COL_EVENTS, "bad event");
        osp_buf_reset(&gr->sub);
        rc = attrs_read(gr, &gr->ev_attrs, OSP_COL_EVENTS, dst ? &gr->sub : NULL);
        if (rc == 0 && dst) {
            ev.time_ns = start + (uint64_t)osp_pb_zigzag_decode(dt);
            ev.name = gr->p->strings[nid];
            ev.attributes = osp_buf_str(&gr->sub);
            rc = osp_events_append(dst, &ev);
        }
    }
    return rc;
}

static int links_read(gread *gr, osp_buf *dst)
{
    osp_pb_reader *st = gr->st[OSP_COL_LINKS];
    const uint8_t *ids;
    uint64_t h;
    uint32_t sid;
    osp_str s;
    int rc = 0;
    if (rd_varint(&st[OSP_LN_COUNTS], &h))
        return bad_block(gr, OSP_COL_LINKS, "bad link count");
    if (h & 1) {
        if (rd_lenbytes(&st[OSP_LN_RAW], &s))
            return bad_block(gr, OSP_COL_LINKS, "bad verbatim links");
        return dst ? osp_buf_append_str(dst, s) : 0;
    }
    for (uint64_t i = 0; i < h >> 1 && rc == 0; i++) {
        osp_link ln = {0};
        if (rd_bytes(&st[OSP_LN_IDS], 24, &ids) ||
            rd_id(&st[OSP_LN_FIELDS], gr->p->nstrings, &sid) ||
            rd_u32(&st[OSP_LN_FIELDS], &ln.flags) ||
            rd_u32(&st[OSP_LN_FIELDS], &ln.dropped_attributes))
            return bad_block(gr, OSP_COL_LINKS, "bad link");
        osp_buf_reset(&gr->sub);
        rc = attrs_read(gr, &gr->ln_attrs, OSP_COL_LINKS, dst ? &gr->sub : NULL);
        if (rc == 0 && dst) {
            memcpy(ln.trace_id, ids, 16);
            memcpy(ln.span_id, ids + 16, 8);
            ln.trace_state = gr->p->strings[sid];
            ln.attributes = osp_buf_str(&gr->sub);
            rc = osp_links_append(dst, &ln);
        }
    }
    return rc;
}

/* Where decoded rows go: out, with the part's resources and scopes copied in once. */
typedef struct emitter {
    osp_span_batch *out;
    uint32_t *res_map, *scope_map; /* part id -> index in out, UINT32_MAX until copied */
} emitter;

static int emitter_init(emitter *e, const osp_part *p, osp_span_batch *out)
{
    e->out = out;
    e->res_map = osp_malloc((p->nresources + 1) * sizeof *e->res_map);
    e->scope_map = osp_malloc((p->nscopes + 1) * sizeof *e->scope_map);
    if (!e->res_map || !e->scope_map)
        return OSP_ENOMEM;
    memset(e->res_map, 0xff, (p->nresources + 1) * sizeof *e->res_map);
    memset(e->scope_map, 0xff, (p->nscopes + 1) * sizeof *e->scope_map);
    return 0;
}

static void emitter_cleanup(emitter *e)
{
    osp_free(e->res_map);
    osp_free(e->scope_map);
}

/* Copies s into the out batch's arena (empty slices stay NULL). */
static int copy_str(osp_span_batch *out, osp_str *s)
{
    if (s->n == 0) {
        *s = OSP_STR_NULL;
        return 0;
    }
    const char *c = osp_arena_memdup(&out->arena, s->p, s->n);
    if (!c)
        return OSP_ENOMEM;
    s->p = c;
    return 0;
}

static int map_resource(emitter *e, const osp_part *p, uint32_t rid, uint32_t *idx)
{
    if (e->res_map[rid] == UINT32_MAX) {
        osp_resource r = p->resources[rid], *d;
        if (copy_str(e->out, &r.attributes) || copy_str(e->out, &r.entity_refs) ||
            copy_str(e->out, &r.schema_url) || copy_str(e->out, &r.service_name) ||
            !(d = osp_span_batch_add_resource(e->out)))
            return OSP_ENOMEM;
        *d = r;
        e->res_map[rid] = (uint32_t)(e->out->nresources - 1);
    }
    *idx = e->res_map[rid];
    return 0;
}

static int map_scope(emitter *e, const osp_part *p, uint32_t sid, uint32_t *idx)
{
    if (e->scope_map[sid] == UINT32_MAX) {
        osp_scope s = p->scopes[sid], *d;
        if (copy_str(e->out, &s.name) || copy_str(e->out, &s.version) ||
            copy_str(e->out, &s.attributes) || copy_str(e->out, &s.schema_url) ||
            !(d = osp_span_batch_add_scope(e->out)))
            return OSP_ENOMEM;
        *d = s;
        e->scope_map[sid] = (uint32_t)(e->out->nscopes - 1);
    }
    *idx = e->scope_map[sid];
    return 0;
}

/* Reads the row's blob of one kind into gr->blob and copies it into the out arena. */
static int read_blob(gread *gr, emitter *e, int c, uint64_t start, osp_str *dst)
{
    osp_buf *b = e ? &gr->blob : NULL;
    int rc;
    osp_buf_reset(&gr->blob);
    if (c == OSP_COL_ATTRS)
        rc = attrs_read(gr, &gr->attrs, c, b);
    else if (c == OSP_COL_EVENTS)
        rc = events_read(gr, start, b);
    else
        rc = links_read(gr, b);
    if (rc || !e)
        return rc;
    *dst = osp_buf_str(&gr->blob);
    return copy_str(e->out, dst);
}

/* Reads the next row's span id and parent id. */
static int read_ids(gread *gr, osp_span *sp)
{
    osp_pb_reader *parent = gr->st[OSP_COL_PARENT];
    const uint8_t *ids0 = gr->st0[OSP_COL_SPAN_ID][0].p, *id;
    uint64_t code;
    if (rd_bytes(&gr->st[OSP_COL_SPAN_ID][0], 8, &id))
        return bad_block(gr, OSP_COL_SPAN_ID, "bad span id");
    memcpy(sp->span_id, id, 8);
    memset(sp->parent_span_id, 0, 8);
    if (rd_varint(&parent[OSP_PARENT_CODES], &code))
        return bad_block(gr, OSP_COL_PARENT, "bad parent code");
    if (code == OSP_PARENT_INLINE) {
        if (rd_bytes(&parent[OSP_PARENT_RAW], 8, &id))
            return bad_block(gr, OSP_COL_PARENT, "bad parent id");
        memcpy(sp->parent_span_id, id, 8);
    } else if (code >= OSP_PARENT_BACKREF) {
        uint64_t back = code - OSP_PARENT_BACKREF + 1;
        if (back > gr->row)
            return bad_block(gr, OSP_COL_PARENT, "bad parent reference");
        memcpy(sp->parent_span_id, ids0 + (gr->row - back) * 8, 8);
    }
    gr->row++;
    return 0;
}

/* Reads the next row's string ids of trace_state and status message. */
static int read_text(gread *gr, uint32_t *ts, uint32_t *msg)
{
    if (rd_id(&gr->st[OSP_COL_TEXT][0], gr->p->nstrings, ts) ||
        rd_id(&gr->st[OSP_COL_TEXT][0], gr->p->nstrings, msg))
        return bad_block(gr, OSP_COL_TEXT, "bad text");
    return 0;
}

_Static_assert(OSP_COL_TEXT == OSP_COL_PARENT + 1 && OSP_COL_LINKS == OSP_NCOLS - 1,
               "the detail columns (OSP_TRACE_NO_DETAIL leaves them unread) come last");

/* Reads the next row's detail columns (TEXT .. LINKS) into sp: its blobs copied into
 * e->out's arena, or only skipped when e is NULL. */
static int read_detail(gread *gr, uint64_t start, emitter *e, osp_span *sp)
{
    uint32_t ts, msg;
    int rc = read_text(gr, &ts, &msg);
    if (rc)
        return rc;
    sp->trace_state = gr->p->strings[ts];
    sp->status_message = gr->p->strings[msg];
    if ((rc = read_blob(gr, e, OSP_COL_ATTRS, start, &sp->attributes)) ||
        (rc = read_blob(gr, e, OSP_COL_EVENTS, start, &sp->events)))
        return rc;
    return read_blob(gr, e, OSP_COL_LINKS, start, &sp->links);
}

/* Copies a row's scalar fields from its cheap columns. */
static void cheap_to_span(const cheap_row *c, osp_span *sp)
{
    memcpy(sp->trace_id, c->trace, 16);
    sp->start_ns = c->start;
    sp->end_ns = c->end;
    sp->flags = c->flags;
    sp->kind = c->kind;
    sp->status_code = c->status;
    sp->dropped_attributes = c->dropped_attributes;
    sp->dropped_events = c->dropped_events;
    sp->dropped_links = c->dropped_links;
}

/* Reads the rest of a row whose cheap columns are in c: with detail, every column (all
 * loaded); without, only the span and parent ids (loaded up to OSP_COL_PARENT), the
 * detail left empty. Appends the row to e->out unless e is NULL. */
static int read_rest(gread *gr, const cheap_row *c, int detail, emitter *e)
{
    osp_part *p = gr->p;
    osp_span sp = {0}, *d;
    int rc = read_ids(gr, &sp);
    if (rc == 0 && detail)
        rc = read_detail(gr, c->start, e, &sp);
    if (rc || !e)
        return rc;
    cheap_to_span(c, &sp);
    sp.name = p->strings[c->name];
    if (copy_str(e->out, &sp.name) || copy_str(e->out, &sp.trace_state) ||
        copy_str(e->out, &sp.status_message) || map_resource(e, p, c->resource, &sp.resource) ||
        map_scope(e, p, c->scope, &sp.scope) || !(d = osp_span_batch_add_span(e->out)))
        return OSP_ENOMEM;
    *d = sp;
    return 0;
}

/* Reads the next row, with or without its detail (as read_rest); appends it to e->out
 * unless e is NULL. */
static int read_row(gread *gr, int detail, emitter *e)
{
    cheap_row c;
    int rc = read_cheap(gr, &c);
    return rc ? rc : read_rest(gr, &c, detail, e);
}

/* Granules that can hold the trace: from the last one starting before it (the trace may
 * continue from there) to the last one starting at or before it. 0 when none. */
static int granule_range(const osp_part *p, const uint8_t id[16], size_t *lo, size_t *hi)
{
    size_t n = p->info.ngranules, a = 0, b = n;
    while (a < b) { /* first granule whose first trace is >= id */
        size_t m = a + (b - a) / 2;
        if (memcmp(p->granules[m].first_trace, id, 16) < 0)
            a = m + 1;
        else
            b = m;
    }
    size_t first_ge = a;
    b = n;
    while (a < b) { /* first granule whose first trace is > id */
        size_t m = a + (b - a) / 2;
        if (memcmp(p->granules[m].first_trace, id, 16) <= 0)
            a = m + 1;
        else
            b = m;
    }
    if (a == 0)
        return 0;
    *lo = first_ge ? first_ge - 1 : 0;
    *hi = a - 1;
    return 1;
}

/* Appends the rows of trace id held by granule g, with or without their detail (the
 * detail columns are then not read). Returns the count or an error. */
static int granule_trace(osp_part *p, size_t g, const uint8_t id[16], int detail, ZSTD_DCtx *dctx,
                         emitter *e)
{
    osp_pb_reader *runs;
    gread gr;
    uint32_t a = 0, b = 0, row = 0;
    int rc;
    gread_init(&gr, p, g, dctx);
    rc = load_cols(&gr, COLS(OSP_COL_TRACE, OSP_COL_TRACE));
    runs = &gr.st[OSP_COL_TRACE][0];
    /* Only the trace column is loaded: walk its runs up to the trace. */
    while (rc == 0 && row < gr.g->nrows) {
        uint64_t n;
        const uint8_t *tid;
        if (rd_varint(runs, &n) || n == 0 || n > gr.g->nrows - row || rd_bytes(runs, 16, &tid)) {
            rc = bad_block(&gr, OSP_COL_TRACE, "bad trace id run");
            break;
        }
        int cmp = memcmp(tid, id, 16);
        if (cmp == 0) {
            a = row;
            b = row + (uint32_t)n;
        }
        if (cmp >= 0)
            break;
        row += (uint32_t)n;
    }
    if (rc == 0 && b > a) {
        rc = load_cols(&gr, COLS(OSP_COL_START, detail ? OSP_NCOLS - 1 : OSP_COL_PARENT));
        rewind_trace(&gr);
        for (row = 0; rc == 0 && row < b; row++)
            rc = read_row(&gr, detail, row >= a ? e : NULL);
    }
    gread_cleanup(&gr);
    return rc ? rc : (int)(b - a);
}

/* Drops rows added to out since a failed read began (arena bytes stay unused). */
static void roll_back(osp_span_batch *out, size_t nspans, size_t nres, size_t nscopes)
{
    out->nspans = nspans;
    out->nresources = nres;
    out->nscopes = nscopes;
}

int osp_part_get_trace(osp_part *p, const uint8_t trace_id[16], unsigned flags, osp_span_batch *out)
{
    size_t lo, hi, nspans = out->nspans, nres = out->nresources, nscopes = out->nscopes;
    uint8_t id[16]; /* trace_id may point into out, which grows */
    emitter e = {0};
    int rc, total = 0;
    memcpy(id, trace_id, sizeof id);
    if (!osp_part_may_contain(p, id) || !granule_range(p, id, &lo, &hi))
        return 0;
    ZSTD_DCtx *dctx = osp_blockfile_dctx_take();
    rc = dctx ? emitter_init(&e, p, out) : OSP_ENOMEM;
    for (size_t g = lo; g <= hi && rc == 0; g++) {
        int n = granule_trace(p, g, id, !(flags & OSP_TRACE_NO_DETAIL), dctx, &e);
        if (n < 0)
            rc = n;
        else
            total += n;
    }
    emitter_cleanup(&e);
    osp_blockfile_dctx_give(dctx);
    if (rc)
        roll_back(out, nspans, nres, nscopes);
    return rc ? rc : total;
}

int osp_part_read_granule(osp_part *p, size_t g, osp_span_batch *out)
{
    size_t nspans = out->nspans, nres = out->nresources, nscopes = out->nscopes;
    emitter e = {0};
    gread gr;
    int rc;
    ZSTD_DCtx *dctx = osp_blockfile_dctx_take();
    gread_init(&gr, p, g, dctx);
    rc = dctx ? emitter_init(&e, p, out) : OSP_ENOMEM;
    if (rc == 0)
        rc = load_cols(&gr, COLS(0, OSP_NCOLS - 1));
    for (uint32_t row = 0; rc == 0 && row < gr.g->nrows; row++)
        rc = read_row(&gr, 1, &e);
    gread_cleanup(&gr);
    emitter_cleanup(&e);
    osp_blockfile_dctx_give(dctx);
    if (rc)
        roll_back(out, nspans, nres, nscopes);
    return rc ? rc : (int)gr.g->nrows;
}

/* ---- Merge cursor ---------------------------------------------------------------------- */

struct osp_part_cursor {
    osp_part *p;
    ZSTD_DCtx *dctx;
    gread gr;
    int loaded, done;
    size_t next_granule;
    uint32_t left;      /* rows of the loaded granule not consumed yet, the head included */
    cheap_row head;     /* cheap columns of the current row */
    osp_span key;       /* its trace id, start and span id */
    osp_part_writer *w; /* the writer the id maps below refer to */
    uint32_t *smap, *kmap, *rmap, *scmap; /* part id -> writer id, UINT32_MAX unmapped */
};

/* Reads the head row's cheap columns, loading the next granule when needed. */
static int cursor_fill(osp_part_cursor *c)
{
    int rc;
    if (c->left == 0) {
        if (c->loaded)
            gread_cleanup(&c->gr);
        c->loaded = 0;
        if (c->next_granule == c->p->info.ngranules) {
            c->done = 1;
            return 0;
        }
        gread_init(&c->gr, c->p, c->next_granule++, c->dctx);
        c->loaded = 1;
        if ((rc = load_cols(&c->gr, COLS(0, OSP_NCOLS - 1))))
            return rc;
        c->left = c->gr.g->nrows;
    }
    const osp_pb_reader *ids = &c->gr.st0[OSP_COL_SPAN_ID][0];
    if ((size_t)(ids->end - ids->p) < ((size_t)c->gr.row + 1) * 8)
        return bad_block(&c->gr, OSP_COL_SPAN_ID, "bad span id");
    if ((rc = read_cheap(&c->gr, &c->head)))
        return rc;
    memcpy(c->key.trace_id, c->head.trace, 16);
    memcpy(c->key.span_id, ids->p + (size_t)c->gr.row * 8, 8);
    c->key.start_ns = c->head.start;
    return 0;
}

int osp_part_cursor_open(osp_part *p, osp_part_cursor **out)
{
    osp_part_cursor *c = osp_calloc(1, sizeof *c);
    int rc = OSP_ENOMEM;
    if (!c)
        return OSP_ENOMEM;
    c->p = p;
    c->dctx = ZSTD_createDCtx();
    c->smap = osp_malloc((p->nstrings + 1) * sizeof *c->smap);
    c->kmap = osp_malloc((p->nkeys + 1) * sizeof *c->kmap);
    c->rmap = osp_malloc((p->nresources + 1) * sizeof *c->rmap);
    c->scmap = osp_malloc((p->nscopes + 1) * sizeof *c->scmap);
    if (c->dctx && c->smap && c->kmap && c->rmap && c->scmap)
        rc = cursor_fill(c);
    if (rc)
        osp_part_cursor_close(c);
    else
        *out = c;
    return rc;
}

void osp_part_cursor_close(osp_part_cursor *c)
{
    if (!c)
        return;
    if (c->loaded)
        gread_cleanup(&c->gr);
    ZSTD_freeDCtx(c->dctx);
    osp_free(c->smap);
    osp_free(c->kmap);
    osp_free(c->rmap);
    osp_free(c->scmap);
    osp_free(c);
}

const osp_span *osp_part_cursor_key(const osp_part_cursor *c)
{
    return c->done ? NULL : &c->key;
}

static int cursor_next(osp_part_cursor *c)
{
    c->left--;
    return cursor_fill(c);
}

int osp_part_cursor_read(osp_part_cursor *c, osp_span_batch *out)
{
    size_t nspans = out->nspans, nres = out->nresources, nscopes = out->nscopes;
    emitter e;
    int rc = emitter_init(&e, c->p, out);
    if (rc == 0)
        rc = read_rest(&c->gr, &c->head, 1, &e);
    emitter_cleanup(&e);
    if (rc)
        roll_back(out, nspans, nres, nscopes);
    return rc ? rc : cursor_next(c);
}

/* Points the id maps at writer w (all unmapped when it changes). */
static void cursor_bind(osp_part_cursor *c, osp_part_writer *w)
{
    if (c->w == w)
        return;
    c->w = w;
    memset(c->smap, 0xff, (c->p->nstrings + 1) * sizeof *c->smap);
    memset(c->kmap, 0xff, (c->p->nkeys + 1) * sizeof *c->kmap);
    memset(c->rmap, 0xff, (c->p->nresources + 1) * sizeof *c->rmap);
    memset(c->scmap, 0xff, (c->p->nscopes + 1) * sizeof *c->scmap);
}

static int remap_string(osp_part_cursor *c, uint32_t sid, uint32_t *out)
{
    int rc = 0;
    if (c->smap[sid] == UINT32_MAX)
        rc = osp_intern_add(&c->w->strings, c->p->strings[sid], &c->smap[sid]);
    *out = c->smap[sid];
    return rc;
}

/* Copies the next attrs blob of a set from the cursor's granule into a writer's set,
 * moving the encoded values as they are with key ids remapped. */
static int attr_copy(osp_part_cursor *c, attr_dec *d, int col, attr_enc *e, size_t *bytes)
{
    gread *gr = &c->gr;
    uint64_t h, code;
    osp_value v;
    osp_str s;
    if (rd_varint(d->shape, &h))
        return bad_block(gr, col, "bad attribute shape");
    if (h & 1) {
        if (rd_lenbytes(d->raw, &s))
            return bad_block(gr, col, "bad verbatim attributes");
        *bytes += s.n;
        return put_verbatim(e->shape, e->raw, s);
    }
    int rc = osp_pb_put_varint(e->shape, h);
    for (uint64_t i = 0; i < h >> 1 && rc == 0; i++) {
        uint32_t kid;
        if (rd_varint(d->shape, &code) || (kid = (uint32_t)(code >> 3)) >= c->p->nkeys)
            return bad_block(gr, col, "bad attribute");
        osp_pb_reader *vals = &d->vals[kid];
        const uint8_t *from = vals->p;
        if (get_value(vals, (int)(code & 7), &v))
            return bad_block(gr, col, "bad attribute");
        if (c->kmap[kid] == UINT32_MAX &&
            (rc = osp_intern_add(&c->w->keys, c->p->keys[kid], &c->kmap[kid])))
            return rc;
        uint32_t nk = c->kmap[kid];
        rc = osp_pb_put_varint(e->shape, (uint64_t)nk << 3 | (code & 7));
        if (rc == 0 && nk >= e->nvals)
            rc = grow_vals(e, nk);
        if (rc == 0)
            rc = osp_buf_append(&e->vals[nk], from, (size_t)(vals->p - from));
        *bytes += (size_t)(vals->p - from);
    }
    return rc;
}

static int events_copy(osp_part_cursor *c, size_t *bytes)
{
    gread *gr = &c->gr;
    osp_pb_reader *in = gr->st[OSP_COL_EVENTS];
    osp_buf *out = c->w->st[OSP_COL_EVENTS];
    uint64_t h, dt;
    uint32_t nid, dropped;
    osp_str s;
    if (rd_varint(&in[OSP_EV_COUNTS], &h))
        return bad_block(gr, OSP_COL_EVENTS, "bad event count");
    if (h & 1) {
        if (rd_lenbytes(&in[OSP_EV_RAW], &s))
            return bad_block(gr, OSP_COL_EVENTS, "bad verbatim events");
        *bytes += s.n;
        return put_verbatim(&out[OSP_EV_COUNTS], &out[OSP_EV_RAW], s);
    }
    int rc = osp_pb_put_varint(&out[OSP_EV_COUNTS], h);
    for (uint64_t i = 0; i < h >> 1 && rc == 0; i++) {
        if (rd_varint(&in[OSP_EV_FIELDS], &dt) || rd_id(&in[OSP_EV_FIELDS], c->p->nstrings, &nid) ||
            rd_u32(&in[OSP_EV_FIELDS], &dropped))
            return bad_block(gr, OSP_COL_EVENTS, "bad event");
        rc = remap_string(c, nid, &nid);
        if (rc == 0)
            rc = osp_pb_put_varint(&out[OSP_EV_FIELDS], dt);
        if (rc == 0)
            rc = osp_pb_put_varint(&out[OSP_EV_FIELDS], nid);
        if (rc == 0)
            rc = osp_pb_put_varint(&out[OSP_EV_FIELDS], dropped);
        if (rc == 0)
            rc = attr_copy(c, &gr->ev_attrs, OSP_COL_EVENTS, &c->w->ev_attrs, bytes);
    }
    return rc;
}

static int links_copy(osp_part_cursor *c, size_t *bytes)
{
    gread *gr = &c->gr;
    osp_pb_reader *in = gr->st[OSP_COL_LINKS];
    osp_buf *out = c->w->st[OSP_COL_LINKS];
    const uint8_t *ids;
    uint64_t h;
    uint32_t sid, flags, dropped;
    osp_str s;
    if (rd_varint(&in[OSP_LN_COUNTS], &h))
        return bad_block(gr, OSP_COL_LINKS, "bad link count");
    if (h & 1) {
        if (rd_lenbytes(&in[OSP_LN_RAW], &s))
            return bad_block(gr, OSP_COL_LINKS, "bad verbatim links");
        *bytes += s.n;
        return put_verbatim(&out[OSP_LN_COUNTS], &out[OSP_LN_RAW], s);
    }
    int rc = osp_pb_put_varint(&out[OSP_LN_COUNTS], h);
    for (uint64_t i = 0; i < h >> 1 && rc == 0; i++) {
        if (rd_bytes(&in[OSP_LN_IDS], 24, &ids) ||
            rd_id(&in[OSP_LN_FIELDS], c->p->nstrings, &sid) || rd_u32(&in[OSP_LN_FIELDS], &flags) ||
            rd_u32(&in[OSP_LN_FIELDS], &dropped))
            return bad_block(gr, OSP_COL_LINKS, "bad link");
        rc = remap_string(c, sid, &sid);
        if (rc == 0)
            rc = osp_buf_append(&out[OSP_LN_IDS], ids, 24);
        if (rc == 0)
            rc = osp_pb_put_varint(&out[OSP_LN_FIELDS], sid);
        if (rc == 0)
            rc = osp_pb_put_varint(&out[OSP_LN_FIELDS], flags);
        if (rc == 0)
            rc = osp_pb_put_varint(&out[OSP_LN_FIELDS], dropped);
        if (rc == 0)
            rc = attr_copy(c, &gr->ln_attrs, OSP_COL_LINKS, &c->w->ln_attrs, bytes);
    }
    return rc;
}

int osp_part_cursor_copy(osp_part_cursor *c, osp_part_writer *w)
{
    osp_span sp = {0};
    row_ids ids;
    uint32_t ts, msg;
    size_t bytes = 0;
    int rc = begin_row(w, &c->key);
    if (rc)
        return rc;
    cursor_bind(c, w);
    cheap_to_span(&c->head, &sp);
    if ((rc = read_ids(&c->gr, &sp)) == 0 && (rc = read_text(&c->gr, &ts, &msg)) == 0 &&
        (rc = remap_string(c, c->head.name, &ids.name)) == 0 &&
        (rc = remap_string(c, ts, &ids.trace_state)) == 0 &&
        (rc = remap_string(c, msg, &ids.status_message)) == 0) {
        uint32_t rid = c->head.resource, scid = c->head.scope;
        if (c->rmap[rid] == UINT32_MAX)
            rc = resource_id(w, &c->p->resources[rid], &c->rmap[rid]);
        if (rc == 0 && c->scmap[scid] == UINT32_MAX)
            rc = scope_id(w, &c->p->scopes[scid], &c->scmap[scid]);
        ids.resource = c->rmap[rid];
        ids.scope = c->scmap[scid];
    }
    if (rc == 0 && (rc = put_head(w, &sp, &ids)) == 0 &&
        (rc = attr_copy(c, &c->gr.attrs, OSP_COL_ATTRS, &w->attrs, &bytes)) == 0 &&
        (rc = events_copy(c, &bytes)) == 0 && (rc = links_copy(c, &bytes)) == 0)
        end_row(w, &sp, bytes);
    w->err = rc;
    return rc ? rc : cursor_next(c);
}

/* ---- Search ----------------------------------------------------------------------------
 * Column at a time: per granule, the query is turned into a keep mask over the rows, one
 * column after the other (name, origin, start, duration, state), each decoding only the
 * values of rows still kept and skipping the others' varints by counting terminator bytes.
 * Trace ids are read from their runs only for rows that pass; attributes only when the
 * query filters on them. */

/* Search state for one part: the query's conditions resolved against its dictionaries,
 * per-granule scratch arrays, and a one-row batch for osp_span_matches (resources
 * borrowed). */
typedef struct searcher {
    osp_part *p;
    const osp_trace_query *q;
    uint8_t *res_ok; /* per resource: service matches */
    uint32_t name_id;
    int by_name, by_res; /* filter on the name id; on res_ok (some resource fails) */
    uint32_t cols;       /* cheap columns the query needs, as a load_cols set */
    uint64_t floor_ns;   /* rows starting before this cannot change the caller's result */
    uint8_t *keep;       /* scratch, per row of the granule: still a candidate */
    uint32_t *res;       /* resource id (when ORIGIN is loaded) */
    uint64_t *start, *end;
    int32_t *status;
    osp_span_batch mb;
    osp_hit_fn fn;
    osp_floor_fn floor;
    void *ctx;
    uint8_t hit_trace[16]; /* pending hit, reported when the trace changes */
    uint64_t hit_start;
    int hit;
} searcher;

static void report(searcher *s, const uint8_t trace[16], uint64_t start)
{
    if (s->hit && memcmp(s->hit_trace, trace, 16) == 0) {
        if (start > s->hit_start)
            s->hit_start = start;
        return;
    }
    if (s->hit)
        s->fn(s->hit_trace, s->hit_start, s->ctx);
    memcpy(s->hit_trace, trace, 16);
    s->hit_start = start;
    s->hit = 1;
}

/* 1 when some span or resource attribute of the part could carry every filter's key. */
static int keys_possible(const osp_part *p, const osp_trace_query *q)
{
    for (size_t i = 0; i < q->nattrs; i++) {
        uint32_t id;
        osp_value v;
        int found = osp_intern_find(&p->key_ids, q->attrs[i].key, &id);
        for (uint32_t r = 0; r < p->nresources && !found; r++)
            found = osp_attr_find(p->resources[r].attributes, q->attrs[i].key, &v) == 1;
        if (!found)
            return 0;
    }
    return 1;
}

/* Allocates the per-row scratch arrays for the part's largest granule. */
static int scratch_init(searcher *s)
{
    size_t n = 1;
    for (size_t g = 0; g < s->p->info.ngranules; g++)
        n = s->p->granules[g].nrows > n ? s->p->granules[g].nrows : n;
    s->keep = osp_malloc(n);
    s->res = osp_malloc(n * sizeof *s->res);
    s->start = osp_malloc(n * sizeof *s->start);
    s->end = osp_malloc(n * sizeof *s->end);
    s->status = osp_malloc(n * sizeof *s->status);
    return s->keep && s->res && s->start && s->end && s->status ? 0 : OSP_ENOMEM;
}

/* Prepares s; returns 0 with s->p == NULL when the part cannot match at all. */
static int searcher_init(searcher *s, osp_part *p, const osp_trace_query *q)
{
    memset(s, 0, sizeof *s);
    osp_span_batch_init(&s->mb);
    s->q = q;
    if (p->info.nrows == 0 || (q->end_ns && p->info.min_start > q->end_ns) ||
        (q->start_ns && p->info.max_start < q->start_ns))
        return 0;
    if (q->operation.n) {
        if (!osp_intern_find(&p->string_ids, q->operation, &s->name_id))
            return 0;
        s->by_name = 1;
    }
    if (!keys_possible(p, q))
        return 0;
    s->res_ok = osp_calloc(p->nresources + 1, 1);
    if (!s->res_ok)
        return OSP_ENOMEM;
    int any = 0;
    for (uint32_t r = 0; r < p->nresources; r++) {
        s->res_ok[r] = !q->service.n || osp_str_eq(q->service, p->resources[r].service_name);
        any |= s->res_ok[r];
        s->by_res |= !s->res_ok[r];
        osp_resource *d = osp_span_batch_add_resource(&s->mb);
        if (!d)
            return OSP_ENOMEM;
        *d = p->resources[r];
    }
    if (!osp_span_batch_add_span(&s->mb))
        return OSP_ENOMEM;
    s->cols = 1u << OSP_COL_START;
    if (s->by_name)
        s->cols |= 1u << OSP_COL_NAME;
    if (s->by_res || q->nattrs)
        s->cols |= 1u << OSP_COL_ORIGIN;
    if (q->min_duration_ns || q->max_duration_ns)
        s->cols |= 1u << OSP_COL_DURATION;
    if (q->status >= 0)
        s->cols |= 1u << OSP_COL_STATE;
    s->p = p;
    int rc = scratch_init(s);
    if (rc == 0 && !any)
        s->p = NULL;
    return rc;
}

static void searcher_cleanup(searcher *s)
{
    osp_free(s->res_ok);
    osp_free(s->keep);
    osp_free(s->res);
    osp_free(s->start);
    osp_free(s->end);
    osp_free(s->status);
    osp_span_batch_cleanup(&s->mb);
}

/* Decodes one varint at *pp (before end). Varints of up to 8 bytes with 8 bytes left to
 * read are decoded without a loop: the first byte with its high bit clear ends them.
 * 0 or OSP_ECORRUPT. */
static inline int get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t x = 0, w, stops;
    if (end - p >= 8 && (stops = ~(w = osp_get_le64(p)) & 0x8080808080808080ull)) {
        int len = __builtin_ctzll(stops) / 8 + 1;
        w &= ~0ull >> (64 - 8 * len);
        for (int k = 0; k < 8; k++) /* unrolled: gathers the 7-bit groups */
            x |= (w >> k) & (0x7full << 7 * k);
        *v = x;
        *pp = p + len;
        return 0;
    }
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t b = *p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *v = x;
            *pp = p;
            return 0;
        }
    }
    return OSP_ECORRUPT;
}

/* Skips k varints by counting their last bytes (high bit clear), eight bytes at a time
 * while more than eight remain to be found. 0 or OSP_ECORRUPT when the stream ends first. */
static int skip_varints(osp_pb_reader *r, size_t k)
{
    const uint64_t lows = 0x0101010101010101ull;
    const uint8_t *p = r->p, *end = r->end;
    while (k > 8 && end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        k -= (size_t)((((~w >> 7) & lows) * lows) >> 56); /* at most 8 < k */
        p += 8;
    }
    for (; k && p < end; p++)
        k -= *p < 0x80;
    r->p = p;
    return k ? OSP_ECORRUPT : 0;
}

/* Rows to look at from now on: one past the last row still kept (0 when none). */
static uint32_t kept_limit(const uint8_t *keep, uint32_t lim)
{
    while (lim && !keep[lim - 1])
        lim--;
    return lim;
}

/* Keeps rows whose span name is the query's (all rows when it names none). */
static int filter_name(searcher *s, osp_pb_reader *r, uint32_t n)
{
    uint64_t v;
    if (!s->by_name) {
        memset(s->keep, 1, n);
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (get_varint(&r->p, r->end, &v) || v >= s->p->nstrings)
            return OSP_ECORRUPT;
        s->keep[i] = v == s->name_id;
    }
    return 0;
}

/* Reads the resource id of kept rows (the scope is skipped) and keeps those whose
 * service matches. */
static int filter_origin(searcher *s, osp_pb_reader *r, uint32_t lim)
{
    size_t skip = 0;
    uint64_t v;
    for (uint32_t i = 0; i < lim; i++) {
        if (!s->keep[i]) {
            skip += 2;
            continue;
        }
        if (skip_varints(r, skip) || get_varint(&r->p, r->end, &v) || v >= s->p->nresources)
            return OSP_ECORRUPT;
        s->res[i] = (uint32_t)v;
        s->keep[i] = s->res_ok[v];
        skip = 1;
    }
    return 0;
}

/* Sums the start deltas up to row lim and keeps rows inside the query's time window and
 * not older than the floor. */
static int filter_start(searcher *s, osp_pb_reader *r, uint32_t lim)
{
    const osp_trace_query *q = s->q;
    uint64_t lo = q->start_ns > s->floor_ns ? q->start_ns : s->floor_ns;
    uint64_t hi = q->end_ns ? q->end_ns : UINT64_MAX, acc = 0, v;
    for (uint32_t i = 0; i < lim; i++) {
        if (get_varint(&r->p, r->end, &v))
            return OSP_ECORRUPT;
        acc += (uint64_t)osp_pb_zigzag_decode(v);
        s->start[i] = s->end[i] = acc;
        s->keep[i] &= acc >= lo && acc <= hi;
    }
    return 0;
}

/* Reads the end of kept rows and keeps those whose duration is within the bounds
 * (computed as osp_span_matches does). */
static int filter_duration(searcher *s, osp_pb_reader *r, uint32_t lim)
{
    const osp_trace_query *q = s->q;
    uint64_t max = q->max_duration_ns ? q->max_duration_ns : UINT64_MAX, v;
    size_t skip = 0;
    for (uint32_t i = 0; i < lim; i++) {
        if (!s->keep[i]) {
            skip++;
            continue;
        }
        if (skip_varints(r, skip) || get_varint(&r->p, r->end, &v))
            return OSP_ECORRUPT;
        skip = 0;
        uint64_t end = s->start[i] + (uint64_t)osp_pb_zigzag_decode(v);
        uint64_t dur = end > s->start[i] ? end - s->start[i] : 0;
        s->end[i] = end;
        s->keep[i] = dur >= q->min_duration_ns && dur <= max;
    }
    return 0;
}

/* Reads the status code of kept rows (second of the six state values) and keeps those
 * with the query's. */
static int filter_status(searcher *s, osp_pb_reader *r, uint32_t lim)
{
    size_t skip = 0;
    uint64_t v;
    for (uint32_t i = 0; i < lim; i++) {
        if (!s->keep[i]) {
            skip += 6;
            continue;
        }
        if (skip_varints(r, skip + 1) || get_varint(&r->p, r->end, &v))
            return OSP_ECORRUPT;
        int64_t code = osp_pb_zigzag_decode(v);
        if (code < INT32_MIN || code > INT32_MAX)
            return OSP_ECORRUPT;
        s->status[i] = (int32_t)code;
        s->keep[i] = code == s->q->status;
        skip = 4;
    }
    return 0;
}

/* Runs the column filters the query needs over rows 0..n-1 of the loaded granule; *lim
 * gets one past the last kept row. */
static int filter_cheap(searcher *s, gread *gr, uint32_t n, uint32_t *lim)
{
    int rc = filter_name(s, &gr->st[OSP_COL_NAME][0], n);
    if (rc)
        return bad_block(gr, OSP_COL_NAME, "bad span name");
    *lim = kept_limit(s->keep, n);
    if (*lim && (s->cols >> OSP_COL_ORIGIN & 1) &&
        filter_origin(s, &gr->st[OSP_COL_ORIGIN][0], *lim))
        return bad_block(gr, OSP_COL_ORIGIN, "bad origin");
    if ((*lim = kept_limit(s->keep, *lim)) && filter_start(s, &gr->st[OSP_COL_START][0], *lim))
        return bad_block(gr, OSP_COL_START, "bad start");
    *lim = kept_limit(s->keep, *lim);
    if (*lim && (s->cols >> OSP_COL_DURATION & 1) &&
        filter_duration(s, &gr->st[OSP_COL_DURATION][0], *lim))
        return bad_block(gr, OSP_COL_DURATION, "bad duration");
    *lim = kept_limit(s->keep, *lim);
    if (*lim && (s->cols >> OSP_COL_STATE & 1) && filter_status(s, &gr->st[OSP_COL_STATE][0], *lim))
        return bad_block(gr, OSP_COL_STATE, "bad state");
    *lim = kept_limit(s->keep, *lim);
    return 0;
}

/* Fills the match batch's row i from the decoded columns. */
static void fill_row(searcher *s, uint32_t i)
{
    osp_span *sp = &s->mb.spans[0];
    memset(sp, 0, sizeof *sp);
    sp->start_ns = s->start[i];
    sp->end_ns = s->end[i];
    sp->status_code = s->cols >> OSP_COL_STATE & 1 ? s->status[i] : 0;
    sp->name = s->by_name ? s->p->strings[s->name_id] : OSP_STR_NULL;
    sp->resource = s->res[i];
}

/* Keeps the rows below lim whose attributes (or resource's) pass the filters:
 * osp_span_matches with the whole query is the final word. */
static int filter_attrs(searcher *s, gread *gr, uint32_t lim)
{
    int rc = load_cols(gr, 1u << OSP_COL_ATTRS);
    for (uint32_t i = 0; rc == 0 && i < lim; i++) {
        osp_buf_reset(&gr->blob);
        rc = attrs_read(gr, &gr->attrs, OSP_COL_ATTRS, s->keep[i] ? &gr->blob : NULL);
        if (rc || !s->keep[i])
            continue;
        fill_row(s, i);
        s->mb.spans[0].attributes = osp_buf_str(&gr->blob);
        s->keep[i] = (uint8_t)osp_span_matches(s->q, &s->mb, 0);
    }
    return rc;
}

/* Reports the trace of every kept row below lim, walking the trace id runs. */
static int report_kept(searcher *s, gread *gr, uint32_t n, uint32_t lim)
{
    osp_pb_reader *runs = &gr->st[OSP_COL_TRACE][0];
    for (uint32_t row = 0; row < lim;) {
        uint64_t k, newest = 0;
        const uint8_t *id;
        int any = 0;
        if (rd_varint(runs, &k) || k == 0 || k > n - row || rd_bytes(runs, 16, &id))
            return bad_block(gr, OSP_COL_TRACE, "bad trace id run");
        uint32_t stop = row + (uint32_t)k < lim ? row + (uint32_t)k : lim;
        for (; row < stop; row++)
            if (s->keep[row]) {
                newest = !any || s->start[row] > newest ? s->start[row] : newest;
                any = 1;
            }
        if (any)
            report(s, id, newest);
        row = stop;
    }
    return 0;
}

static int search_granule(searcher *s, size_t g, ZSTD_DCtx *dctx)
{
    gread gr;
    uint32_t lim = 0;
    int rc;
    gread_init(&gr, s->p, g, dctx);
    rc = load_cols(&gr, s->cols);
    if (rc == 0)
        rc = filter_cheap(s, &gr, gr.g->nrows, &lim);
    if (rc == 0 && lim && s->q->nattrs && (rc = filter_attrs(s, &gr, lim)) == 0)
        lim = kept_limit(s->keep, lim);
    if (rc == 0 && lim && (rc = load_cols(&gr, 1u << OSP_COL_TRACE)) == 0)
        rc = report_kept(s, &gr, gr.g->nrows, lim);
    gread_cleanup(&gr);
    return rc;
}

int osp_part_search(osp_part *p, const osp_trace_query *q, osp_hit_fn fn, osp_floor_fn floor,
                    void *ctx)
{
    searcher s;
    ZSTD_DCtx *dctx = NULL;
    int rc = searcher_init(&s, p, q);
    s.fn = fn;
    s.floor = floor;
    s.ctx = ctx;
    if (rc == 0 && s.p && !(dctx = osp_blockfile_dctx_take()))
        rc = OSP_ENOMEM;
    for (size_t g = 0; rc == 0 && s.p && g < p->info.ngranules; g++) {
        const granule *gr = &p->granules[g];
        s.floor_ns = floor ? floor(ctx) : 0;
        if ((q->end_ns && gr->min_start > q->end_ns) ||
            (q->start_ns && gr->max_start < q->start_ns) || gr->max_start < s.floor_ns)
            continue;
        rc = search_granule(&s, g, dctx);
    }
    if (rc == 0 && s.hit)
        fn(s.hit_trace, s.hit_start, ctx);
    osp_blockfile_dctx_give(dctx);
    searcher_cleanup(&s);
    return rc;
}

int osp_part_catalogue(osp_part *p, osp_catalogue_fn fn, void *ctx)
{
    osp_pb_reader r = osp_pb_reader_make(p->catalogue.n ? p->catalogue.p : "", p->catalogue.n);
    while (r.p < r.end) {
        uint32_t rid, nid;
        int32_t kind;
        if (rd_id(&r, p->nresources, &rid) || rd_id(&r, p->nstrings, &nid) || rd_i32(&r, &kind))
            return corrupt(p, "bad catalogue");
        fn(p->resources[rid].service_name, p->strings[nid], kind, ctx);
    }
    return 0;
}
