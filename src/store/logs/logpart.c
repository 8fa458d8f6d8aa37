/* Log part files: the streaming column writer and the verifying, on-demand granule reader
 * (layout: logformat.h). */
#include "store/logs/logpart.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>
#include <zstd.h>

#include "core/arena.h"
#include "core/checksum.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/intern.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/pb.h"
#include "core/thread.h"
#include "model/attr.h"
#include "model/loglevel.h"
#include "model/logstream.h"
#include "store/blockfile.h"
#include "store/logs/logformat.h"
#include "store/logs/logtoken.h"
#include "store/logs/logtpl.h"

#define MOD "logpart"

_Static_assert(OSP_LOGPART_MAGIC_LEN == OSP_BLOCKFILE_MAGIC_LEN &&
                   OSP_LOGPART_HEADER_SIZE == OSP_BLOCKFILE_HEADER_SIZE &&
                   OSP_LOGPART_FOOTER_SIZE == OSP_BLOCKFILE_FOOTER_SIZE &&
                   OSP_LGRANULE_COL == OSP_BLOCKFILE_SLOT_SIZE,
               "log parts are block files (store/blockfile.h)");
static const osp_blockfile_format logpart_format = {
    .magic = OSP_LOGPART_MAGIC,
    .footer_magic = OSP_LOGPART_FOOTER_MAGIC,
    .version = OSP_LOGPART_VERSION,
    .max_index_raw = OSP_LOGPART_MAX_INDEX_RAW,
    .max_block_raw = OSP_LOGPART_MAX_BLOCK_RAW,
    .what = "log part",
    .log_module = MOD,
};

static const uint8_t col_nstreams[OSP_LCOL_COUNT] = OSP_LCOL_STREAMS;

/* ---- Shared by writer and reader -------------------------------------------------------- */

int osp_logpart_labels_cmp(const osp_label *a, size_t na, const osp_label *b, size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++) {
        int c = osp_str_cmp(a[i].name, b[i].name);
        if (c == 0)
            c = osp_str_cmp(a[i].value, b[i].value);
        if (c)
            return c;
    }
    return (na > nb) - (na < nb);
}

/* 10^e for time scales e (logformat.h). */
static const uint64_t ten_pow[OSP_LOGPART_MAX_TIME_SCALE + 1] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};

/* Bit of probe i for hash h in a filter of nbits bits (logformat.h). */
static uint64_t probe_bit(uint64_t h, uint32_t i, uint64_t nbits)
{
    uint64_t step = ((h << 32) | (h >> 32)) | 1;
    return (h + (uint64_t)i * step) % nbits;
}

static int bloom_has(const uint8_t *bits, uint64_t nbits, uint32_t k, uint64_t h)
{
    if (nbits == 0)
        return 0;
    for (uint32_t i = 0; i < k; i++) {
        uint64_t bit = probe_bit(h, i, nbits);
        if (!(bits[bit >> 3] >> (bit & 7) & 1))
            return 0;
    }
    return 1;
}

static void bloom_set(uint8_t *bits, uint64_t nbits, uint32_t k, uint64_t h)
{
    for (uint32_t i = 0; i < k; i++) {
        uint64_t bit = probe_bit(h, i, nbits);
        bits[bit >> 3] |= (uint8_t)(1u << (bit & 7));
    }
}

/* Resources and scopes in the index: messages described by a table of their fields, so
 * one loop writes, parses and copies both kinds. */
typedef struct msg_field {
    uint32_t num;
    uint8_t is_u32; /* a uint32_t varint, else an osp_str LEN field */
    size_t off;
} msg_field;

static const msg_field res_fields[] = {
    {OSP_LRES_ATTRIBUTES, 0, offsetof(osp_resource, attributes)},
    {OSP_LRES_DROPPED, 1, offsetof(osp_resource, dropped_attributes)},
    {OSP_LRES_ENTITY_REFS, 0, offsetof(osp_resource, entity_refs)},
    {OSP_LRES_SCHEMA_URL, 0, offsetof(osp_resource, schema_url)},
    {OSP_LRES_SERVICE, 0, offsetof(osp_resource, service_name)},
};
static const msg_field scope_fields[] = {
    {OSP_LSCOPE_NAME, 0, offsetof(osp_scope, name)},
    {OSP_LSCOPE_VERSION, 0, offsetof(osp_scope, version)},
    {OSP_LSCOPE_ATTRIBUTES, 0, offsetof(osp_scope, attributes)},
    {OSP_LSCOPE_DROPPED, 1, offsetof(osp_scope, dropped_attributes)},
    {OSP_LSCOPE_SCHEMA_URL, 0, offsetof(osp_scope, schema_url)},
};
#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Appends obj's non-default fields as a message body. */
static int msg_put(osp_buf *b, const void *obj, const msg_field *fs, size_t n)
{
    const char *base = obj;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (fs[i].is_u32) {
            uint32_t v;
            memcpy(&v, base + fs[i].off, sizeof v);
            if (v)
                rc = osp_pb_put_uint(b, fs[i].num, v);
        } else {
            osp_str s;
            memcpy(&s, base + fs[i].off, sizeof s);
            if (s.n)
                rc = osp_pb_put_str(b, fs[i].num, s);
        }
    }
    return rc;
}

/* Parses a message into obj (zeroed first; size bytes); slices point into msg. 0, or -1
 * when it does not parse or a known field has the wrong type. */
static int msg_parse(osp_str msg, void *obj, size_t size, const msg_field *fs, size_t n)
{
    osp_pb_reader rd = osp_pb_reader_make(msg.n ? msg.p : "", msg.n);
    osp_pb_field f;
    int more;
    char *base = obj;
    memset(obj, 0, size);
    while ((more = osp_pb_next(&rd, &f)) == 1) {
        for (size_t i = 0; i < n; i++) {
            if (fs[i].num != f.num)
                continue;
            if (fs[i].is_u32) {
                if (f.wire != OSP_PB_VARINT || f.u64 > UINT32_MAX)
                    return -1;
                uint32_t v = (uint32_t)f.u64;
                memcpy(base + fs[i].off, &v, sizeof v);
            } else {
                if (f.wire != OSP_PB_LEN)
                    return -1;
                memcpy(base + fs[i].off, &f.bytes, sizeof f.bytes);
            }
        }
    }
    return more < 0 ? -1 : 0;
}

/* Copies obj's string fields into arena a. 0 or OSP_ENOMEM. */
static int msg_copy(osp_arena *a, void *obj, const msg_field *fs, size_t n)
{
    char *base = obj;
    for (size_t i = 0; i < n; i++) {
        osp_str s;
        if (fs[i].is_u32)
            continue;
        memcpy(&s, base + fs[i].off, sizeof s);
        if (s.n == 0)
            continue;
        s.p = osp_arena_memdup(a, s.p, s.n);
        if (!s.p)
            return OSP_ENOMEM;
        memcpy(base + fs[i].off, &s, sizeof s);
    }
    return 0;
}

/* ==== Writer ============================================================================ */

/* A set of 64-bit keys (open addressing; 0 is tracked apart). */
typedef struct keyset {
    uint64_t *slots;
    size_t n, cap; /* cap is 0 or a power of two */
    int has_zero;
} keyset;

/* Where the search for k begins in a table of cap (a power of two) slots. */
static size_t keyset_home(uint64_t k, size_t cap)
{
    return (size_t)(k * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
}

/* 1 when k is new to s, 0 when s held it, or OSP_ENOMEM. */
static int keyset_add(keyset *s, uint64_t k)
{
    if (k == 0) {
        int added = !s->has_zero;
        s->has_zero = 1;
        return added;
    }
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        uint64_t *slots = osp_calloc(cap, sizeof *slots);
        if (!slots)
            return OSP_ENOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            uint64_t x = s->slots[i];
            size_t j = keyset_home(x, cap);
            while (x && slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = x;
        }
        osp_free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    size_t j = keyset_home(k, s->cap);
    for (; s->slots[j]; j = (j + 1) & (s->cap - 1))
        if (s->slots[j] == k)
            return 0;
    s->slots[j] = k;
    s->n++;
    return 1;
}

/* Starts loading the slot where k's search in s begins, so that a run of adds waits for
 * memory once instead of once per key. */
static void keyset_prefetch(const keyset *s, uint64_t k)
{
    if (s->cap)
        __builtin_prefetch(&s->slots[keyset_home(k, s->cap)]);
}

static void keyset_clear(keyset *s)
{
    if (s->n)
        memset(s->slots, 0, s->cap * sizeof *s->slots);
    s->n = 0;
    s->has_zero = 0;
}

static size_t keyset_count(const keyset *s)
{
    return s->n + (size_t)s->has_zero;
}

/* Sets the keys of s in a filter. */
static void keyset_to_bloom(const keyset *s, uint8_t *bits, uint64_t nbits, uint32_t k)
{
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i])
            bloom_set(bits, nbits, k, s->slots[i]);
    if (s->has_zero)
        bloom_set(bits, nbits, k, 0);
}

typedef struct wstream {
    size_t first, n; /* its labels in the writer's label array */
    uint64_t min_t, max_t;
    uint64_t rows, line_bytes;
} wstream;

typedef struct key_value {
    uint32_t kid;
    osp_value v;
} key_value;

/* A granule's columns as rows are added, until its blocks and filters are written. */
typedef struct granule_build {
    uint32_t grows, gfirst, glast;          /* rows; first and last local stream */
    uint32_t run_base, run_stream, run_len; /* stream runs: previous run's stream, current */
    uint64_t gmin, gmax, gbody;
    uint8_t last_trace[16];
    int have_trace;
    uint64_t *gt, *gobs; /* per row: t, observed_ns - t (encoded at flush, scaled) */
    osp_buf st[OSP_LCOL_COUNT][OSP_LCOL_MAX_STREAMS];
    osp_buf *vals; /* per attribute key id: this granule's values of that key */
    size_t nvals, vals_cap;
    uint8_t *tri_seen; /* 2^24 bits: trigrams already in this granule */
    uint32_t *tris;    /* those trigrams */
    size_t ntris, tris_cap;
    keyset tokens, traces; /* token keys, trace id hashes of this granule */
    int scan_err;
    osp_logtpl tpls; /* the granule's template-split lines */
    uint64_t gtpl;   /* their bytes */
} granule_build;

/* The last resource (or scope) rows referred to, its fields by the table (msg_field, the
 * strings copied) and its id: the rows of a stream mostly share one, and comparing it is
 * cheaper than encoding and interning it again for every row. */
#define MEMO_FIELDS 5 /* the most fields of a table */
_Static_assert(NFIELDS(res_fields) <= MEMO_FIELDS && NFIELDS(scope_fields) <= MEMO_FIELDS,
               "an origin memo holds every field of a resource and of a scope");
typedef struct origin_memo {
    osp_buf bytes;
    osp_str strs[MEMO_FIELDS];
    uint32_t nums[MEMO_FIELDS];
    uint32_t id;
    int set;
} origin_memo;

/* 1 when the memo holds obj, as the table fs[0..n) reads it. */
static int memo_holds(const origin_memo *m, const void *obj, const msg_field *fs, size_t n)
{
    const char *base = obj;
    if (!m->set)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        osp_str str;
        if (fs[i].is_u32) {
            memcpy(&v, base + fs[i].off, sizeof v);
            if (v != m->nums[i])
                return 0;
        } else {
            memcpy(&str, base + fs[i].off, sizeof str);
            if (!osp_str_eq(str, m->strs[i]))
                return 0;
        }
    }
    return 1;
}

/* Remembers obj (read by the table fs[0..n)) as the origin of id. */
static int memo_keep(origin_memo *m, const void *obj, const msg_field *fs, size_t n, uint32_t id)
{
    const char *base = obj;
    int rc;
    m->set = 0;
    osp_buf_reset(&m->bytes);
    for (size_t i = 0; i < n; i++) {
        if (fs[i].is_u32) {
            memcpy(&m->nums[i], base + fs[i].off, sizeof m->nums[i]);
            continue;
        }
        memcpy(&m->strs[i], base + fs[i].off, sizeof m->strs[i]);
        if ((rc = osp_buf_append_str(&m->bytes, m->strs[i])))
            return rc;
    }
    const char *copy = m->bytes.len ? (const char *)m->bytes.data : "";
    for (size_t i = 0, at = 0; i < n; i++)
        if (!fs[i].is_u32) {
            m->strs[i].p = copy + at;
            at += m->strs[i].n;
        }
    m->id = id;
    m->set = 1;
    return 0;
}

/* Rows are added to one granule build while a thread of the writer's own compresses and
 * writes the previous one (started with the second granule, so a one-granule part never
 * starts it); the adding thread waits only when that write is still running. */
struct osp_logpart_writer {
    osp_blockfile_writer bf; /* the file; bf.offset is where the next block goes */
    int err;                 /* sticky failure */
    uint64_t wal_lsn;
    uint64_t *replaces;
    size_t nreplaces;
    osp_intern strings, keys, resources, scopes;
    osp_arena arena; /* label bytes */
    osp_label *labels;
    size_t nlabels, labels_cap;
    wstream *streams;
    size_t nstreams, streams_cap;
    uint64_t nrows, min_t, max_t, raw_bytes, last_t; /* nrows: of the granules handed on */
    key_value *kvs;
    size_t nkvs, kvs_cap;
    osp_buf scratch, line;
    origin_memo last_resource, last_scope;
    granule_build builds[2];
    granule_build *g; /* the one rows go to */
    /* written by the granule thread alone while it runs, then by finish */
    osp_buf granules; /* granule records of the index */
    osp_buf blooms;   /* the bloom block */
    osp_buf block;
    /* the granule thread; writing is the build it works on, under mu */
    pthread_t thread;
    int has_thread, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    granule_build *writing;
    int write_err;
};

static int build_init(granule_build *g)
{
    for (int c = 0; c < OSP_LCOL_COUNT; c++)
        for (int k = 0; k < OSP_LCOL_MAX_STREAMS; k++)
            osp_buf_init(&g->st[c][k], 0);
    osp_logtpl_init(&g->tpls);
    g->tri_seen = osp_calloc(1, (1u << 24) / 8);
    g->gt = osp_malloc(OSP_LOGPART_GRANULE_ROWS * sizeof *g->gt);
    g->gobs = osp_malloc(OSP_LOGPART_GRANULE_ROWS * sizeof *g->gobs);
    return g->tri_seen && g->gt && g->gobs ? 0 : OSP_ENOMEM;
}

static void build_cleanup(granule_build *g)
{
    for (int c = 0; c < OSP_LCOL_COUNT; c++)
        for (int k = 0; k < OSP_LCOL_MAX_STREAMS; k++)
            osp_buf_cleanup(&g->st[c][k]);
    for (size_t i = 0; i < g->nvals; i++)
        osp_buf_cleanup(&g->vals[i]);
    osp_free(g->vals);
    osp_free(g->tri_seen);
    osp_free(g->tris);
    osp_free(g->gt);
    osp_free(g->gobs);
    osp_free(g->tokens.slots);
    osp_free(g->traces.slots);
    osp_logtpl_cleanup(&g->tpls);
}

/* Waits until the granule thread is idle; its failure, if any. */
static int wait_written(osp_logpart_writer *w)
{
    if (!w->has_thread)
        return 0;
    pthread_mutex_lock(&w->mu);
    while (w->writing)
        pthread_cond_wait(&w->cv, &w->mu);
    int rc = w->write_err;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static void stop_thread(osp_logpart_writer *w)
{
    if (!w->has_thread)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    w->has_thread = 0;
}

static void writer_destroy(osp_logpart_writer *w, int remove_file)
{
    stop_thread(w);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    osp_blockfile_writer_cleanup(&w->bf, remove_file);
    osp_free(w->replaces);
    osp_intern_cleanup(&w->strings);
    osp_intern_cleanup(&w->keys);
    osp_intern_cleanup(&w->resources);
    osp_intern_cleanup(&w->scopes);
    osp_arena_cleanup(&w->arena);
    osp_free(w->labels);
    osp_free(w->streams);
    osp_buf *bufs[] = {
        &w->granules,        &w->blooms, &w->scratch, &w->line, &w->block, &w->last_resource.bytes,
        &w->last_scope.bytes};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        osp_buf_cleanup(bufs[i]);
    osp_free(w->kvs);
    build_cleanup(&w->builds[0]);
    build_cleanup(&w->builds[1]);
    osp_free(w);
}

int osp_logpart_writer_create(const char *tmp_path, const osp_logpart_writer_options *opt,
                              osp_logpart_writer **out)
{
    int rc = OSP_ENOMEM;
    osp_logpart_writer *w = osp_calloc(1, sizeof *w);
    if (!w)
        return OSP_ENOMEM;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    osp_blockfile_writer_init(&w->bf, &logpart_format,
                              opt->zstd_level ? opt->zstd_level : OSP_LOGPART_ZSTD_LEVEL);
    osp_intern_init(&w->strings, 1);
    osp_intern_init(&w->keys, 1);
    osp_intern_init(&w->resources, 1);
    osp_intern_init(&w->scopes, 1);
    osp_arena_init(&w->arena, 0, 0);
    osp_buf *bufs[] = {
        &w->granules,        &w->blooms, &w->scratch, &w->line, &w->block, &w->last_resource.bytes,
        &w->last_scope.bytes};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        osp_buf_init(bufs[i], 0);
    int built = build_init(&w->builds[0]) == 0;
    built &= build_init(&w->builds[1]) == 0;
    w->g = &w->builds[0];
    w->wal_lsn = opt->wal_lsn;
    w->nreplaces = opt->nreplaces;
    if (opt->nreplaces && (w->replaces = osp_malloc(opt->nreplaces * sizeof *w->replaces)))
        memcpy(w->replaces, opt->replaces, opt->nreplaces * sizeof *w->replaces);
    if (built && !(w->nreplaces && !w->replaces))
        rc = osp_blockfile_writer_create(&w->bf, tmp_path);
    if (rc)
        writer_destroy(w, 0);
    else
        *out = w;
    return rc;
}

/* ---- Row encoding ---------------------------------------------------------------------- */

static int put_value(osp_buf *b, const osp_value *v)
{
    uint8_t le[8];
    if (v->type == OSP_VAL_EMPTY)
        return 0;
    if (v->type == OSP_VAL_INT)
        return osp_pb_put_varint(b, osp_pb_zigzag_encode(v->i));
    if (v->type == OSP_VAL_BOOL)
        return osp_buf_putc(b, (char)(v->i != 0));
    if (v->type == OSP_VAL_DOUBLE) {
        osp_put_le64(le, osp_pb_double_bits(v->d));
        return osp_buf_append(b, le, sizeof le);
    }
    return osp_pb_put_lenstr(b, v->s);
}

/* The value stream of key kid, created on first use. */
static osp_buf *key_values(granule_build *g, uint32_t kid)
{
    while (g->nvals <= kid) {
        osp_buf *b = osp_array_push((void **)&g->vals, &g->nvals, &g->vals_cap, sizeof *b);
        if (!b)
            return NULL;
        osp_buf_init(b, 0);
    }
    return &g->vals[kid];
}

/* Adds a row's attrs blob to the attribute stream set: transcoded when re-encoding what
 * it parses to gives back the very bytes, else verbatim. */
static int put_attrs(osp_logpart_writer *w, osp_str blob)
{
    osp_buf *set = w->g->st[OSP_LCOL_ATTRS];
    osp_attr_iter it;
    osp_str key;
    osp_value v;
    int more, rc = 0;
    w->nkvs = 0;
    osp_buf_reset(&w->scratch);
    osp_attr_iter_init(&it, blob);
    while ((more = osp_attr_next(&it, &key, &v)) == 1) {
        key_value *kv = osp_array_push((void **)&w->kvs, &w->nkvs, &w->kvs_cap, sizeof *kv);
        if (!kv)
            return OSP_ENOMEM;
        kv->v = v;
        if ((rc = osp_intern_add(&w->keys, key, &kv->kid)) ||
            (rc = osp_attr_append(&w->scratch, key, &v)))
            return rc;
    }
    if (more < 0 || !osp_str_eq(osp_buf_str(&w->scratch), blob)) {
        rc = osp_pb_put_varint(&set[OSP_LSET_SHAPE], 1);
        return rc ? rc : osp_pb_put_lenstr(&set[OSP_LSET_RAW], blob);
    }
    rc = osp_pb_put_varint(&set[OSP_LSET_SHAPE], (uint64_t)w->nkvs * 2);
    for (size_t i = 0; i < w->nkvs && rc == 0; i++) {
        osp_buf *vb = key_values(w->g, w->kvs[i].kid);
        rc = vb ? osp_pb_put_varint(&set[OSP_LSET_SHAPE],
                                    (uint64_t)w->kvs[i].kid << 3 | (uint64_t)w->kvs[i].v.type)
                : OSP_ENOMEM;
        if (rc == 0)
            rc = put_value(vb, &w->kvs[i].v);
    }
    return rc;
}

/* 1 when body is the canonical AnyValue of a string (then v holds it). */
static int string_body(osp_str body, osp_value *v)
{
    uint8_t tmp[10];
    return osp_value_decode(body, v) == 0 && v->type == OSP_VAL_STRING &&
           body.n == 1 + osp_pb_encode_varint(tmp, v->s.n) + v->s.n;
}

static int put_ids(granule_build *g, const osp_log_record *r)
{
    static const uint8_t zero[16];
    osp_buf *st = g->st[OSP_LCOL_IDS];
    uint8_t code = 0;
    int rc = 0;
    if (memcmp(r->trace_id, zero, 16) != 0) {
        if (g->have_trace && memcmp(r->trace_id, g->last_trace, 16) == 0) {
            code |= OSP_LID_SAME;
        } else {
            code |= OSP_LID_TRACE;
            memcpy(g->last_trace, r->trace_id, 16);
            g->have_trace = 1;
            rc = osp_buf_append(&st[OSP_LIDS_TRACE], r->trace_id, 16);
            if (rc == 0 && keyset_add(&g->traces, XXH64(r->trace_id, 16, 0)) < 0)
                rc = OSP_ENOMEM;
        }
    }
    if (rc == 0 && memcmp(r->span_id, zero, 8) != 0) {
        code |= OSP_LID_SPAN;
        rc = osp_buf_append(&st[OSP_LIDS_SPAN], r->span_id, 8);
    }
    return rc ? rc : osp_buf_putc(&st[OSP_LIDS_CODES], (char)code);
}

static int end_run(granule_build *g)
{
    osp_buf *b = &g->st[OSP_LCOL_STREAM][0];
    int rc = osp_pb_put_varint(b, g->run_stream - g->run_base);
    if (rc == 0)
        rc = osp_pb_put_varint(b, g->run_len);
    g->run_base = g->run_stream;
    g->run_len = 0;
    return rc;
}

static void on_token(osp_str tok, void *ctx)
{
    granule_build *g = ctx;
    if (keyset_add(&g->tokens, osp_logtok_token_key(tok)) < 0)
        g->scan_err = OSP_ENOMEM;
}

static void on_trigram(uint32_t tri, void *ctx)
{
    granule_build *g = ctx;
    uint8_t *byte = &g->tri_seen[tri >> 3], bit = (uint8_t)(1u << (tri & 7));
    if (*byte & bit)
        return;
    uint32_t *slot = osp_array_push((void **)&g->tris, &g->ntris, &g->tris_cap, sizeof *slot);
    if (!slot) {
        g->scan_err = OSP_ENOMEM;
        return;
    }
    *byte |= bit;
    *slot = tri;
}

/* Adds the bloom keys of the templated line added last: its template's once per granule
 * (the line's tokens without a digit), then its variables (those with one). Together they
 * are the keys of the whole line, without scanning it again. A variable is one token, and
 * one whose token key the granule already has has had its trigrams added with it. */
static void template_keys(granule_build *g, uint32_t tid, int fresh)
{
    if (fresh)
        osp_logtok_line_scan(osp_logtpl_text(&g->tpls, tid), on_token, on_trigram, g);
    uint64_t keys[16];
    for (uint32_t at = 0, n = osp_logtpl_last_nvars(&g->tpls); at < n; at += 16) {
        uint32_t m = n - at < 16 ? n - at : 16;
        for (uint32_t i = 0; i < m; i++) {
            keys[i] = osp_logtok_token_key(osp_logtpl_last_var(&g->tpls, at + i));
            keyset_prefetch(&g->tokens, keys[i]);
        }
        for (uint32_t i = 0; i < m; i++) {
            int added = keyset_add(&g->tokens, keys[i]);
            if (added < 0)
                g->scan_err = OSP_ENOMEM;
            else if (added)
                osp_logtok_line_scan(osp_logtpl_last_var(&g->tpls, at + i), NULL, on_trigram, g);
        }
    }
}

/* A string line is split into a template when that gives it back exactly: it holds no
 * placeholder byte (and the granule's templated bytes stay within the readers' bound);
 * then its bloom keys are added from the split and *keyed is set. *line_bytes gets the
 * line's size as OSP_LSTREAM_LINE_BYTES counts it. */
static int put_body(granule_build *g, osp_str body, int *keyed, uint64_t *line_bytes)
{
    osp_buf *st = g->st[OSP_LCOL_BODY];
    osp_value v;
    *line_bytes = body.n;
    if (body.n == 0)
        return osp_pb_put_varint(&st[OSP_LBODY_CODES], OSP_LBODY_NONE);
    if (!string_body(body, &v)) {
        int rc = osp_pb_put_varint(&st[OSP_LBODY_CODES], OSP_LBODY_VERBATIM);
        return rc ? rc : osp_pb_put_lenstr(&st[OSP_LBODY_RAW], body);
    }
    uint32_t tid;
    int rc, fresh;
    *line_bytes = v.s.n;
    if (!memchr(v.s.p, OSP_LBODY_PLACEHOLDER, v.s.n) &&
        g->gtpl + v.s.n <= OSP_LOGPART_MAX_TEMPLATED_BYTES) {
        g->gtpl += v.s.n;
        if ((rc = osp_logtpl_add(&g->tpls, v.s, &tid, &fresh)))
            return rc;
        template_keys(g, tid, fresh);
        *keyed = 1;
        return osp_pb_put_varint(&st[OSP_LBODY_CODES], OSP_LBODY_TEMPLATE + (uint64_t)tid);
    }
    rc = osp_pb_put_varint(&st[OSP_LBODY_CODES], OSP_LBODY_STRING);
    return rc ? rc : osp_pb_put_lenstr(&st[OSP_LBODY_TEXT], v.s);
}

/* The part's id of a resource or scope, obj, whose fields the table fs[0..nfs) gives;
 * interned on first sight, the last one remembered in m. */
static int origin_id(osp_logpart_writer *w, origin_memo *m, osp_intern *t, const void *obj,
                     const msg_field *fs, size_t nfs, uint32_t *id)
{
    int rc;
    if (memo_holds(m, obj, fs, nfs)) {
        *id = m->id;
        return 0;
    }
    osp_buf_reset(&w->scratch);
    if ((rc = msg_put(&w->scratch, obj, fs, nfs)) ||
        (rc = osp_intern_add(t, osp_buf_str(&w->scratch), id)))
        return rc;
    return memo_keep(m, obj, fs, nfs, *id);
}

/* Writes every column of record r (filing time t) of local stream k. */
static int put_row(osp_logpart_writer *w, const osp_log_batch *b, const osp_log_record *r,
                   uint64_t t, uint32_t k)
{
    granule_build *g = w->g;
    uint32_t sev_id, event_id, res_id, scope_id;
    uint64_t line_bytes;
    osp_str line;
    int rc, keyed = 0;
    if (g->grows == 0) {
        g->gfirst = g->run_base = g->run_stream = k;
        g->gmin = g->gmax = t;
        g->have_trace = 0;
    }
    if (g->run_len && g->run_stream != k && (rc = end_run(g)))
        return rc;
    g->run_stream = k;
    g->run_len++;
    if ((rc = origin_id(w, &w->last_resource, &w->resources, &b->resources[r->resource], res_fields,
                        NFIELDS(res_fields), &res_id)) ||
        (rc = origin_id(w, &w->last_scope, &w->scopes, &b->scopes[r->scope], scope_fields,
                        NFIELDS(scope_fields), &scope_id)) ||
        (rc = osp_intern_add(&w->strings, r->severity_text, &sev_id)) ||
        (rc = osp_intern_add(&w->strings, r->event_name, &event_id)))
        return rc;
    uint64_t misc = (r->has_body ? OSP_LMISC_HAS_BODY : 0) | (r->time_ns ? 0 : OSP_LMISC_NO_TIME) |
                    (r->observed_ns ? 0 : OSP_LMISC_NO_OBSERVED) |
                    (uint64_t)r->labels_from << OSP_LMISC_LABELS_SHIFT |
                    (uint64_t)osp_log_level_to_keep(b, r, &w->line) << OSP_LMISC_LEVEL_SHIFT;
    const struct {
        int col;
        uint64_t v;
    } vs[] = {
        {OSP_LCOL_SEVERITY, osp_pb_zigzag_encode(r->severity_number)},
        {OSP_LCOL_SEVERITY, sev_id},
        {OSP_LCOL_MISC, misc},
        {OSP_LCOL_MISC, r->flags},
        {OSP_LCOL_MISC, r->dropped_attributes},
        {OSP_LCOL_EVENT, event_id},
        {OSP_LCOL_ORIGIN, res_id},
        {OSP_LCOL_ORIGIN, scope_id},
    };
    for (size_t i = 0; i < sizeof vs / sizeof vs[0] && rc == 0; i++)
        rc = osp_pb_put_varint(&g->st[vs[i].col][0], vs[i].v);
    if (rc || (rc = put_ids(g, r)) || (rc = put_attrs(w, r->attributes)) ||
        (rc = put_body(g, r->body, &keyed, &line_bytes)))
        return rc;
    w->streams[k].rows++;
    w->streams[k].line_bytes += line_bytes;
    /* A body that does not decode has no line, hence no keys (queries see it as ""). */
    if (!keyed && osp_log_line(r, &w->line, &line) == 0)
        osp_logtok_line_scan(line, on_token, on_trigram, g);
    if (g->scan_err)
        return g->scan_err;
    g->gt[g->grows] = t;
    g->gobs[g->grows] = r->observed_ns ? r->observed_ns - t : 0;
    g->gmin = t < g->gmin ? t : g->gmin;
    g->gmax = t > g->gmax ? t : g->gmax;
    g->gbody += r->body.n;
    g->grows++;
    w->raw_bytes += r->body.n + r->attributes.n + r->severity_text.n + r->event_name.n + 16 +
                    (memcmp(r->trace_id, (uint8_t[16]){0}, 16) ? 16 : 0) +
                    (memcmp(r->span_id, (uint8_t[8]){0}, 8) ? 8 : 0);
    return 0;
}

/* ---- Granules -------------------------------------------------------------------------- */
/* What follows writes a finished granule build to the file: on the granule thread while
 * rows go on being added, or on the adding thread when the thread is idle. */

/* Compresses column c's streams into one block, writes it and fills its granule slot. */
static int put_column(osp_logpart_writer *w, granule_build *g, int c, uint8_t *slot)
{
    int rc = 0;
    osp_buf_reset(&w->block);
    for (int k = 0; k < col_nstreams[c] && rc == 0; k++) {
        rc = osp_pb_put_lenbytes(&w->block, g->st[c][k].data, g->st[c][k].len);
        osp_buf_reset(&g->st[c][k]);
    }
    return rc ? rc : osp_blockfile_put_block(&w->bf, w->block.data, w->block.len, slot);
}

/* Appends a zeroed filter for nkeys keys to the bloom block; *bits points at it (valid
 * until the next append), *nbits and *off describe it. */
static int new_bloom(osp_logpart_writer *w, size_t nkeys, uint8_t **bits, uint64_t *nbits,
                     uint64_t *off)
{
    uint64_t n = ((uint64_t)nkeys * OSP_LOGPART_BLOOM_BITS_PER_KEY + 63) / 64 * 64;
    int rc = n > UINT32_MAX ? OSP_ETOOBIG : osp_buf_reserve(&w->blooms, n / 8);
    *off = w->blooms.len;
    *bits = NULL;
    *nbits = 0;
    if (rc || n == 0)
        return rc;
    *bits = (uint8_t *)w->blooms.data + w->blooms.len;
    *nbits = n;
    memset(*bits, 0, n / 8);
    w->blooms.len += n / 8;
    return 0;
}

/* Builds the granule's two filters and records them at rec + 36 (logformat.h). */
static int put_blooms(osp_logpart_writer *w, granule_build *g, uint8_t *rec)
{
    uint8_t *bits;
    uint64_t nbits, off;
    int rc = new_bloom(w, keyset_count(&g->tokens) + g->ntris, &bits, &nbits, &off);
    if (rc)
        return rc;
    keyset_to_bloom(&g->tokens, bits, nbits, OSP_LOGPART_BLOOM_HASHES);
    for (size_t i = 0; i < g->ntris; i++) {
        bloom_set(bits, nbits, OSP_LOGPART_BLOOM_HASHES, osp_logtok_trigram_key(g->tris[i]));
        g->tri_seen[g->tris[i] >> 3] = 0;
    }
    osp_put_le32(rec + 36, (uint32_t)nbits);
    osp_put_le64(rec + 40, off);
    if ((rc = new_bloom(w, keyset_count(&g->traces), &bits, &nbits, &off)))
        return rc;
    keyset_to_bloom(&g->traces, bits, nbits, OSP_LOGPART_BLOOM_HASHES);
    osp_put_le32(rec + 48, (uint32_t)nbits);
    osp_put_le64(rec + 52, off);
    g->ntris = 0;
    keyset_clear(&g->tokens);
    keyset_clear(&g->traces);
    return 0;
}

/* Writes v[0..n) (as int64 when signed) to b as the scale e, the largest power of ten 10^e
 * dividing them all, then per value a zz varint of v / 10^e, or with delta of
 * v / 10^e - the previous one's (logformat.h). */
static int put_scaled(osp_buf *b, const uint64_t *v, uint32_t n, int is_signed, int delta)
{
    int e = OSP_LOGPART_MAX_TIME_SCALE, rc;
    for (uint32_t i = 0; i < n && e > 0; i++) {
        uint64_t m = is_signed && (int64_t)v[i] < 0 ? -v[i] : v[i];
        while (e > 0 && m % ten_pow[e])
            e--;
    }
    rc = osp_pb_put_varint(b, (uint64_t)e);
    uint64_t prev = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        uint64_t x =
            is_signed ? (uint64_t)((int64_t)v[i] / (int64_t)ten_pow[e]) : v[i] / ten_pow[e];
        rc = osp_pb_put_varint(b, osp_pb_zigzag_encode((int64_t)(x - prev)));
        prev = delta ? x : 0;
    }
    return rc;
}

/* Writes granule build g (rows and last stream set) and empties it for reuse. */
static int write_granule(osp_logpart_writer *w, granule_build *g)
{
    uint8_t rec[OSP_LGRANULE_RECORD] = {0};
    int rc = end_run(g);
    if (rc == 0)
        rc = put_scaled(&g->st[OSP_LCOL_TIME][0], g->gt, g->grows, 0, 1);
    if (rc == 0)
        rc = put_scaled(&g->st[OSP_LCOL_OBSERVED][0], g->gobs, g->grows, 1, 0);
    for (size_t kid = 0; kid < g->nvals && rc == 0; kid++) {
        osp_buf *vb = &g->vals[kid], *values = &g->st[OSP_LCOL_ATTRS][OSP_LSET_VALUES];
        if (vb->len == 0)
            continue;
        rc = osp_pb_put_varint(values, kid);
        if (rc == 0)
            rc = osp_pb_put_lenbytes(values, vb->data, vb->len);
        osp_buf_reset(vb);
    }
    if (rc == 0)
        rc = osp_logtpl_flush(&g->tpls, &g->st[OSP_LCOL_BODY][OSP_LBODY_TEMPLATES],
                              &g->st[OSP_LCOL_BODY][OSP_LBODY_VARS]);
    osp_put_le64(rec, g->gmin);
    osp_put_le64(rec + 8, g->gmax);
    osp_put_le64(rec + 16, w->bf.offset);
    osp_put_le32(rec + 24, g->grows);
    osp_put_le32(rec + 28, g->gfirst);
    osp_put_le32(rec + 32, g->glast);
    for (int c = 0; c < OSP_LCOL_COUNT && rc == 0; c++)
        rc = put_column(w, g, c, rec + OSP_LGRANULE_FIXED + c * OSP_LGRANULE_COL);
    if (rc == 0)
        rc = put_blooms(w, g, rec);
    if (rc == 0)
        rc = osp_buf_append(&w->granules, rec, sizeof rec);
    g->grows = 0;
    g->gbody = 0;
    g->gtpl = 0;
    return rc;
}

static void *granule_thread_main(void *arg)
{
    osp_logpart_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->writing && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->writing)
            break;
        granule_build *g = w->writing;
        int rc = w->write_err; /* after a failure the rest is not written */
        pthread_mutex_unlock(&w->mu);
        if (rc == 0)
            rc = write_granule(w, g);
        pthread_mutex_lock(&w->mu);
        w->write_err = rc;
        w->writing = NULL;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Ends the granule rows are added to: hands it to the granule thread (started on first
 * use; without it, writes it here) and goes on with the other build. */
static int end_granule(osp_logpart_writer *w)
{
    granule_build *g = w->g;
    g->glast = (uint32_t)(w->nstreams - 1);
    w->nrows += g->grows;
    int rc = wait_written(w);
    if (rc)
        return rc;
    if (!w->has_thread &&
        osp_thread_start(&w->thread, "osp-log-granule", granule_thread_main, w) == 0)
        w->has_thread = 1;
    if (!w->has_thread)
        return write_granule(w, g);
    pthread_mutex_lock(&w->mu);
    w->writing = g;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    w->g = g == &w->builds[0] ? &w->builds[1] : &w->builds[0];
    return 0;
}

/* Registers a new stream (labels copied) as the current one. */
static int add_stream(osp_logpart_writer *w, const osp_label *labels, size_t n, uint64_t t)
{
    wstream *s = osp_array_push((void **)&w->streams, &w->nstreams, &w->streams_cap, sizeof *s);
    if (!s)
        return OSP_ENOMEM;
    *s = (wstream){.first = w->nlabels, .n = n, .min_t = t, .max_t = t};
    for (size_t i = 0; i < n; i++) {
        osp_label *l = osp_array_push((void **)&w->labels, &w->nlabels, &w->labels_cap, sizeof *l);
        if (!l)
            return OSP_ENOMEM;
        l->name = osp_arena_strdup(&w->arena, labels[i].name);
        l->value = osp_arena_strdup(&w->arena, labels[i].value);
        if (!l->name.p || !l->value.p)
            return OSP_ENOMEM;
    }
    return 0;
}

int osp_logpart_writer_add(osp_logpart_writer *w, const osp_label *labels, size_t n,
                           const osp_log_batch *b, size_t i)
{
    const osp_log_record *r = &b->records[i];
    uint64_t t = osp_log_time(r);
    int fresh = 1, rc = 0;
    if (w->err)
        return w->err;
    if (r->resource >= b->nresources || r->scope >= b->nscopes)
        return OSP_EINVAL;
    if (!labels && !w->nstreams)
        return OSP_EINVAL;
    if (w->nstreams) {
        const wstream *s = &w->streams[w->nstreams - 1];
        int c = labels ? osp_logpart_labels_cmp(w->labels + s->first, s->n, labels, n) : 0;
        if (c > 0 || (c == 0 && t < w->last_t))
            return OSP_EINVAL;
        fresh = c < 0;
    }
    if (w->g->grows == OSP_LOGPART_GRANULE_ROWS || w->g->gbody >= OSP_LOGPART_GRANULE_BODY_BYTES)
        rc = end_granule(w);
    if (rc == 0 && fresh)
        rc = add_stream(w, labels, n, t);
    if (rc == 0)
        rc = put_row(w, b, r, t, (uint32_t)(w->nstreams - 1));
    if (rc)
        return w->err = rc;
    wstream *s = &w->streams[w->nstreams - 1];
    s->max_t = t;
    w->min_t = (w->nrows + w->g->grows == 1 || t < w->min_t) ? t : w->min_t;
    w->max_t = t > w->max_t ? t : w->max_t;
    w->last_t = t;
    return 0;
}

/* ---- Index ----------------------------------------------------------------------------- */

static int put_dict(osp_buf *b, uint32_t field, const osp_intern *t)
{
    int rc = 0;
    for (uint32_t i = 0; i < t->n && rc == 0; i++)
        rc = osp_pb_put_str(b, field, t->strs[i]);
    return rc;
}

static int put_streams(osp_logpart_writer *w, osp_buf *b)
{
    int rc = 0;
    for (size_t k = 0; k < w->nstreams && rc == 0; k++) {
        const wstream *s = &w->streams[k];
        size_t smark, lmark;
        rc = osp_pb_begin(b, OSP_LIDX_STREAM, &smark);
        for (size_t i = 0; i < s->n && rc == 0; i++) {
            const osp_label *l = &w->labels[s->first + i];
            if ((rc = osp_pb_begin(b, OSP_LSTREAM_LABEL, &lmark)) ||
                (rc = osp_pb_put_str(b, OSP_LLABEL_NAME, l->name)) ||
                (rc = osp_pb_put_str(b, OSP_LLABEL_VALUE, l->value)))
                break;
            rc = osp_pb_end(b, lmark);
        }
        if (rc == 0)
            rc = osp_pb_put_uint(b, OSP_LSTREAM_MIN_TIME, s->min_t);
        if (rc == 0)
            rc = osp_pb_put_uint(b, OSP_LSTREAM_MAX_TIME, s->max_t);
        if (rc == 0)
            rc = osp_pb_put_uint(b, OSP_LSTREAM_ROWS, s->rows);
        if (rc == 0)
            rc = osp_pb_put_uint(b, OSP_LSTREAM_LINE_BYTES, s->line_bytes);
        if (rc == 0)
            rc = osp_pb_end(b, smark);
    }
    return rc;
}

/* Builds the index message into w->block; the bloom block starts at bloom_off. */
static int build_index(osp_logpart_writer *w, uint64_t bloom_off)
{
    osp_buf *b = &w->block;
    const struct {
        uint32_t num;
        uint64_t v;
    } scalars[] = {
        {OSP_LIDX_NROWS, w->nrows},
        {OSP_LIDX_MIN_TIME, w->min_t},
        {OSP_LIDX_MAX_TIME, w->max_t},
        {OSP_LIDX_WAL_LSN, w->wal_lsn},
        {OSP_LIDX_RAW_BYTES, w->raw_bytes},
        {OSP_LIDX_TOKEN_HASHES, OSP_LOGPART_BLOOM_HASHES},
        {OSP_LIDX_TRACE_HASHES, OSP_LOGPART_BLOOM_HASHES},
        {OSP_LIDX_BLOOM_OFFSET, bloom_off},
        {OSP_LIDX_BLOOM_BYTES, w->blooms.len},
        {OSP_LIDX_NCOLS, OSP_LCOL_COUNT},
    };
    int rc = 0;
    osp_buf_reset(b);
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0] && rc == 0; i++)
        rc = osp_pb_put_uint(b, scalars[i].num, scalars[i].v);
    for (size_t i = 0; i < w->nreplaces && rc == 0; i++)
        rc = osp_pb_put_uint(b, OSP_LIDX_REPLACES, w->replaces[i]);
    if (rc == 0)
        rc = osp_pb_put_fixed64(b, OSP_LIDX_BLOOM_SUM, XXH64(w->blooms.data, w->blooms.len, 0));
    if (rc == 0)
        rc = put_dict(b, OSP_LIDX_STRING, &w->strings);
    if (rc == 0)
        rc = put_dict(b, OSP_LIDX_KEY, &w->keys);
    if (rc == 0)
        rc = put_dict(b, OSP_LIDX_RESOURCE, &w->resources);
    if (rc == 0)
        rc = put_dict(b, OSP_LIDX_SCOPE, &w->scopes);
    if (rc == 0)
        rc = put_streams(w, b);
    if (rc == 0)
        rc = osp_pb_put_bytes(b, OSP_LIDX_GRANULES, w->granules.data, w->granules.len);
    return rc;
}

int osp_logpart_writer_finish(osp_logpart_writer *w, uint64_t *bytes)
{
    int rc = w->err;
    uint64_t bloom_off = 0;
    if (rc == 0 && w->nrows + w->g->grows == 0)
        rc = OSP_EINVAL;
    if (rc == 0)
        rc = wait_written(w);
    stop_thread(w);
    if (rc == 0 && w->g->grows) {
        w->g->glast = (uint32_t)(w->nstreams - 1);
        w->nrows += w->g->grows;
        rc = write_granule(w, w->g);
    }
    if (rc == 0) {
        bloom_off = w->bf.offset;
        rc = osp_blockfile_write(&w->bf, w->blooms.data ? w->blooms.data : "", w->blooms.len);
    }
    if (rc == 0)
        rc = build_index(w, bloom_off);
    if (rc == 0)
        rc = osp_blockfile_finish(&w->bf, w->block.data, w->block.len, bytes);
    writer_destroy(w, rc != 0);
    return rc;
}

void osp_logpart_writer_abort(osp_logpart_writer *w)
{
    if (w)
        writer_destroy(w, 1);
}

/* ==== Reader ============================================================================ */

typedef struct granule {
    osp_logpart_granule pub;
    uint64_t offset;               /* of its first block */
    uint64_t tok_bits, trace_bits; /* filter sizes */
    const uint8_t *tok, *trace;    /* filters, in the part's bloom block */
    osp_blockfile_block col[OSP_LCOL_COUNT];
} granule;

typedef struct rstream {
    size_t first, n; /* labels */
    uint64_t min_t, max_t;
    uint64_t rows, line_bytes; /* 0, 0 in parts written before sizes were kept */
} rstream;

struct osp_logpart {
    osp_blockfile bf;
    osp_logpart_info info;
    uint8_t *index;  /* decompressed index; dictionary and label slices point into it */
    uint8_t *blooms; /* the bloom block */
    uint64_t bloom_off, bloom_bytes, bloom_sum;
    osp_str *strings, *keys;
    size_t nstrings, nkeys, strings_cap, keys_cap;
    osp_resource *resources;
    osp_scope *scopes;
    size_t nresources, nscopes, resources_cap, scopes_cap;
    osp_label *labels;
    size_t nlabels, labels_cap;
    rstream *streams;
    size_t nstreams, streams_cap;
    uint64_t *replaces;
    size_t nreplaces, replaces_cap;
    uint32_t tok_k, trace_k;
    granule *granules;
};

static int corrupt(const osp_logpart *p, const char *why)
{
    return osp_blockfile_corrupt(&p->bf, why);
}

/* Parses one stream message of the index into p->streams and p->labels. */
static int parse_stream(osp_logpart *p, osp_str msg)
{
    osp_pb_reader rd = osp_pb_reader_make(msg.n ? msg.p : "", msg.n);
    osp_pb_field f, lf;
    int more;
    rstream *s = osp_array_push((void **)&p->streams, &p->nstreams, &p->streams_cap, sizeof *s);
    if (!s)
        return OSP_ENOMEM;
    *s = (rstream){.first = p->nlabels};
    while ((more = osp_pb_next(&rd, &f)) == 1) {
        uint64_t *scalar = f.num == OSP_LSTREAM_MIN_TIME     ? &s->min_t
                           : f.num == OSP_LSTREAM_MAX_TIME   ? &s->max_t
                           : f.num == OSP_LSTREAM_ROWS       ? &s->rows
                           : f.num == OSP_LSTREAM_LINE_BYTES ? &s->line_bytes
                                                             : NULL;
        if (scalar) {
            if (f.wire != OSP_PB_VARINT)
                return corrupt(p, "bad stream");
            *scalar = f.u64;
            continue;
        }
        if (f.num != OSP_LSTREAM_LABEL)
            continue;
        osp_label *l = osp_array_push((void **)&p->labels, &p->nlabels, &p->labels_cap, sizeof *l);
        if (!l)
            return OSP_ENOMEM;
        if (f.wire != OSP_PB_LEN)
            return corrupt(p, "bad stream label");
        osp_pb_reader lr = osp_pb_reader_make(f.bytes.n ? f.bytes.p : "", f.bytes.n);
        while ((more = osp_pb_next(&lr, &lf)) == 1) {
            if (lf.num != OSP_LLABEL_NAME && lf.num != OSP_LLABEL_VALUE)
                continue;
            if (lf.wire != OSP_PB_LEN)
                return corrupt(p, "bad stream label");
            *(lf.num == OSP_LLABEL_NAME ? &l->name : &l->value) = lf.bytes;
        }
        if (more < 0)
            return corrupt(p, "bad stream label");
    }
    if (more < 0)
        return corrupt(p, "bad stream");
    s->n = p->nlabels - s->first;
    if (s->min_t > s->max_t || s->min_t < p->info.min_time || s->max_t > p->info.max_time)
        return corrupt(p, "stream time range outside the part's");
    if (p->nstreams > 1) {
        const rstream *prev = s - 1;
        if (osp_logpart_labels_cmp(p->labels + prev->first, prev->n, p->labels + s->first, s->n) >=
            0)
            return corrupt(p, "streams out of order");
    }
    return 0;
}

/* The wire type each known index field must have; 1 for unknown fields (skipped). */
static int index_wire_ok(const osp_pb_field *f)
{
    switch (f->num) {
    case OSP_LIDX_STRING:
    case OSP_LIDX_KEY:
    case OSP_LIDX_RESOURCE:
    case OSP_LIDX_SCOPE:
    case OSP_LIDX_STREAM:
    case OSP_LIDX_GRANULES:
        return f->wire == OSP_PB_LEN;
    case OSP_LIDX_BLOOM_SUM:
        return f->wire == OSP_PB_I64;
    default:
        return f->num > OSP_LIDX_GRANULES || f->wire == OSP_PB_VARINT;
    }
}

/* Adds a repeated index field to its table. */
static int index_item(osp_logpart *p, const osp_pb_field *f)
{
    void *slot = NULL;
    switch (f->num) {
    case OSP_LIDX_REPLACES:
        slot = osp_array_push((void **)&p->replaces, &p->nreplaces, &p->replaces_cap,
                              sizeof *p->replaces);
        if (slot)
            *(uint64_t *)slot = f->u64;
        break;
    case OSP_LIDX_STRING:
    case OSP_LIDX_KEY:
        slot = f->num == OSP_LIDX_STRING
                   ? osp_array_push((void **)&p->strings, &p->nstrings, &p->strings_cap,
                                    sizeof(osp_str))
                   : osp_array_push((void **)&p->keys, &p->nkeys, &p->keys_cap, sizeof(osp_str));
        if (slot)
            *(osp_str *)slot = f->bytes;
        break;
    case OSP_LIDX_RESOURCE:
        slot = osp_array_push((void **)&p->resources, &p->nresources, &p->resources_cap,
                              sizeof *p->resources);
        if (slot &&
            msg_parse(f->bytes, slot, sizeof *p->resources, res_fields, NFIELDS(res_fields)))
            return corrupt(p, "bad resource");
        break;
    case OSP_LIDX_SCOPE:
        slot = osp_array_push((void **)&p->scopes, &p->nscopes, &p->scopes_cap, sizeof *p->scopes);
        if (slot &&
            msg_parse(f->bytes, slot, sizeof *p->scopes, scope_fields, NFIELDS(scope_fields)))
            return corrupt(p, "bad scope");
        break;
    case OSP_LIDX_STREAM:
        return parse_stream(p, f->bytes);
    default:
        return 0;
    }
    return slot ? 0 : OSP_ENOMEM;
}

static int parse_granules(osp_logpart *p, osp_str recs)
{
    size_t n = recs.n / OSP_LGRANULE_RECORD;
    uint64_t rows = 0, prev_end = OSP_LOGPART_HEADER_SIZE;
    if (recs.n % OSP_LGRANULE_RECORD)
        return corrupt(p, "bad granule table");
    if (!(p->granules = osp_calloc(n + 1, sizeof *p->granules)))
        return OSP_ENOMEM;
    p->info.ngranules = n;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *r = (const uint8_t *)recs.p + i * OSP_LGRANULE_RECORD;
        granule *g = &p->granules[i];
        uint64_t tok_off = osp_get_le64(r + 40), trace_off = osp_get_le64(r + 52), end;
        g->pub.min_time = osp_get_le64(r);
        g->pub.max_time = osp_get_le64(r + 8);
        g->offset = end = osp_get_le64(r + 16);
        g->pub.rows = osp_get_le32(r + 24);
        g->pub.first_stream = osp_get_le32(r + 28);
        g->pub.last_stream = osp_get_le32(r + 32);
        g->tok_bits = osp_get_le32(r + 36);
        g->trace_bits = osp_get_le32(r + 48);
        for (int c = 0; c < OSP_LCOL_COUNT; c++) {
            const uint8_t *slot = r + OSP_LGRANULE_FIXED + c * OSP_LGRANULE_COL;
            if (osp_blockfile_get_slot(&p->bf, slot, &g->col[c]))
                return corrupt(p, "bad block size");
            end += g->col[c].clen;
        }
        if (g->pub.rows == 0 || g->pub.rows > OSP_LOGPART_MAX_GRANULE_ROWS)
            return corrupt(p, "bad granule row count");
        if (g->offset < prev_end || end > p->bloom_off)
            return corrupt(p, "granule blocks out of bounds");
        if (g->pub.first_stream > g->pub.last_stream || g->pub.last_stream >= p->nstreams ||
            (i && g->pub.first_stream < p->granules[i - 1].pub.last_stream))
            return corrupt(p, "bad granule stream range");
        if (g->pub.min_time > g->pub.max_time || g->pub.min_time < p->info.min_time ||
            g->pub.max_time > p->info.max_time)
            return corrupt(p, "granule time range outside the part's");
        if (g->tok_bits % 64 || g->trace_bits % 64 || tok_off > p->bloom_bytes ||
            g->tok_bits / 8 > p->bloom_bytes - tok_off || trace_off > p->bloom_bytes ||
            g->trace_bits / 8 > p->bloom_bytes - trace_off)
            return corrupt(p, "bloom filter out of bounds");
        g->tok = p->blooms + tok_off;
        g->trace = p->blooms + trace_off;
        prev_end = end;
        rows += g->pub.rows;
    }
    return rows == p->info.nrows ? 0 : corrupt(p, "row counts disagree");
}

/* Parses and checks the decompressed index (n bytes at p->index), then reads and verifies
 * the bloom block it points at (which must end by index_off). */
static int parse_index(osp_logpart *p, size_t n, uint64_t index_off)
{
    osp_pb_reader rd = osp_pb_reader_make(p->index, n);
    osp_pb_field f;
    osp_str granules = OSP_STR_NULL;
    uint64_t ncols = 0;
    int more, rc = 0;
    /* Scalars first: streams are checked against the time range. */
    while ((more = osp_pb_next(&rd, &f)) == 1) {
        if (!index_wire_ok(&f))
            return corrupt(p, "bad index field");
        uint64_t *scalar[] = {
            [OSP_LIDX_NROWS] = &p->info.nrows,
            [OSP_LIDX_MIN_TIME] = &p->info.min_time,
            [OSP_LIDX_MAX_TIME] = &p->info.max_time,
            [OSP_LIDX_WAL_LSN] = &p->info.wal_lsn,
            [OSP_LIDX_RAW_BYTES] = &p->info.raw_bytes,
            [OSP_LIDX_BLOOM_OFFSET] = &p->bloom_off,
            [OSP_LIDX_BLOOM_BYTES] = &p->bloom_bytes,
            [OSP_LIDX_BLOOM_SUM] = &p->bloom_sum,
            [OSP_LIDX_NCOLS] = &ncols,
        };
        if (f.num < sizeof scalar / sizeof scalar[0] && scalar[f.num])
            *scalar[f.num] = f.u64;
        else if (f.num == OSP_LIDX_TOKEN_HASHES || f.num == OSP_LIDX_TRACE_HASHES)
            *(f.num == OSP_LIDX_TOKEN_HASHES ? &p->tok_k : &p->trace_k) =
                f.u64 > 64 ? 0 : (uint32_t)f.u64;
        else if (f.num == OSP_LIDX_GRANULES)
            granules = f.bytes;
    }
    if (more < 0)
        return corrupt(p, "index does not parse");
    if (ncols != OSP_LCOL_COUNT)
        return corrupt(p, "unexpected column count");
    if (p->tok_k == 0 || p->trace_k == 0)
        return corrupt(p, "bad bloom parameters");
    if (p->info.min_time > p->info.max_time)
        return corrupt(p, "bad time range");
    if (p->bloom_off < OSP_LOGPART_HEADER_SIZE || p->bloom_off > index_off ||
        p->bloom_bytes != index_off - p->bloom_off || p->bloom_bytes > OSP_LOGPART_MAX_BLOOM_BYTES)
        return corrupt(p, "bloom block out of bounds");
    rd = osp_pb_reader_make(p->index, n);
    while (rc == 0 && osp_pb_next(&rd, &f) == 1)
        rc = index_item(p, &f);
    if (rc)
        return rc;
    uint64_t rows = 0;
    for (size_t k = 0; k < p->nstreams; k++) {
        if (p->streams[k].rows > p->info.nrows)
            return corrupt(p, "stream row count out of range");
        rows += p->streams[k].rows;
    }
    if (rows && rows != p->info.nrows)
        return corrupt(p, "stream row counts disagree with the part's");
    p->info.replaces = p->replaces;
    p->info.nreplaces = p->nreplaces;
    p->info.nstreams = p->nstreams;
    if (!(p->blooms = osp_malloc(p->bloom_bytes + 1)))
        return OSP_ENOMEM;
    if ((rc = osp_blockfile_pread(&p->bf, p->blooms, p->bloom_bytes, p->bloom_off)))
        return rc;
    if (!osp_checksum_ok(p->blooms, p->bloom_bytes, p->bloom_sum))
        return corrupt(p, "bloom block checksum mismatch");
    return parse_granules(p, granules);
}

int osp_logpart_open(const char *path, osp_logpart **out)
{
    size_t n;
    uint64_t index_off;
    osp_logpart *p = osp_calloc(1, sizeof *p);
    if (!p)
        return OSP_ENOMEM;
    int rc = osp_blockfile_open(&p->bf, &logpart_format, path, &p->index, &n, &index_off);
    p->info.bytes = p->bf.size;
    if (rc == 0)
        rc = parse_index(p, n, index_off);
    if (rc)
        osp_logpart_close(p);
    else
        *out = p;
    return rc;
}

void osp_logpart_close(osp_logpart *p)
{
    if (!p)
        return;
    osp_blockfile_close(&p->bf);
    void *owned[] = {p->index,     p->blooms,   p->strings, p->keys,
                     p->resources, p->scopes,   p->labels,  p->streams,
                     p->replaces,  p->granules, p};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        osp_free(owned[i]);
}

const osp_logpart_info *osp_logpart_get_info(const osp_logpart *p)
{
    return &p->info;
}

void osp_logpart_stream(const osp_logpart *p, size_t k, const osp_label **labels, size_t *n)
{
    *labels = p->labels + p->streams[k].first;
    *n = p->streams[k].n;
}

void osp_logpart_stream_time(const osp_logpart *p, size_t k, uint64_t *min_time, uint64_t *max_time)
{
    *min_time = p->streams[k].min_t;
    *max_time = p->streams[k].max_t;
}

void osp_logpart_stream_size(const osp_logpart *p, size_t k, uint64_t *rows, uint64_t *line_bytes)
{
    *rows = p->streams[k].rows;
    *line_bytes = p->streams[k].line_bytes;
}

const osp_logpart_granule *osp_logpart_granule_at(const osp_logpart *p, size_t g)
{
    return &p->granules[g].pub;
}

static int time_overlaps(const osp_logpart_filter *f, uint64_t lo, uint64_t hi)
{
    return hi >= f->start_ns && (f->end_ns == 0 || lo < f->end_ns);
}

int osp_logpart_granule_may_match(const osp_logpart *p, size_t g, const osp_logpart_filter *f)
{
    const granule *gr = &p->granules[g];
    if (!time_overlaps(f, gr->pub.min_time, gr->pub.max_time))
        return 0;
    if (f->streams) {
        uint32_t k = gr->pub.first_stream;
        while (k <= gr->pub.last_stream && !f->streams[k])
            k++;
        if (k > gr->pub.last_stream)
            return 0;
    }
    for (size_t i = 0; i < f->nkeys; i++)
        if (!bloom_has(gr->tok, gr->tok_bits, p->tok_k, f->keys[i]))
            return 0;
    if (f->trace_id && !bloom_has(gr->trace, gr->trace_bits, p->trace_k, XXH64(f->trace_id, 16, 0)))
        return 0;
    return 1;
}

/* ---- Granule decoding ------------------------------------------------------------------ */

/* A template of the granule being read, and a variable stream (logformat.h). */
typedef struct rtpl {
    osp_str text;
    uint32_t first, n; /* its placeholders' offsets: ph[first .. first + n) */
} rtpl;
typedef struct rvar {
    osp_pb_reader r;
    uint8_t mode;  /* enum osp_logpart_var_mode */
    uint8_t width; /* FIXED, FIXED_DELTA: digits per value */
    uint64_t prev; /* the last number (DELTA, FIXED_DELTA) */
} rvar;

/* One read of one granule: its loaded columns and per-row state. */
typedef struct gscan {
    osp_logpart *p;
    const granule *g;
    size_t gi;
    ZSTD_DCtx *dctx;
    uint8_t *raw[OSP_LCOL_COUNT];
    osp_pb_reader st[OSP_LCOL_COUNT][OSP_LCOL_MAX_STREAMS];
    osp_pb_reader *vals; /* attribute values per key id */
    osp_buf io, attrs, body;
    osp_str row_body; /* the row's body: in body, or in the BODY column */
    rtpl *tpls;       /* the BODY column's templates */
    size_t ntpls, tpls_cap;
    uint32_t *ph; /* the offsets of their placeholders, template after template */
    size_t nph, ph_cap;
    rvar vars[OSP_LBODY_MAX_VAR_STREAMS];
    size_t nvars;
    uint64_t templated; /* bytes of TEMPLATE lines rebuilt so far */
    /* per row */
    uint32_t *stream;
    uint64_t *t;
    uint8_t *keep;
    const uint8_t **trace, **span;
    int ids_loaded;
    int no_body;        /* the BODY column is not read (osp_logpart_filter.no_body) */
    uint64_t obs_scale; /* 10^e of the OBSERVED column */
    /* output */
    osp_log_batch *out;
    uint32_t *res_map, *scope_map; /* part id -> index in out, UINT32_MAX until copied */
} gscan;

static int bad(const gscan *s, int c, const char *why)
{
    osp_error(MOD, "%s: corrupt log part: granule %zu column %d: %s", s->p->bf.path, s->gi, c, why);
    return OSP_ECORRUPT;
}

static int rd_var(osp_pb_reader *r, uint64_t *v)
{
    return osp_pb_read_varint(r, v) ? OSP_ECORRUPT : 0;
}

static int rd_take(osp_pb_reader *r, size_t n, const uint8_t **p)
{
    if ((size_t)(r->end - r->p) < n)
        return OSP_ECORRUPT;
    *p = r->p;
    r->p += n;
    return 0;
}

/* Reads a varint that must be below lim. */
static int rd_below(osp_pb_reader *r, uint64_t lim, uint32_t *v)
{
    uint64_t x;
    if (rd_var(r, &x) || x >= lim)
        return OSP_ECORRUPT;
    *v = (uint32_t)x;
    return 0;
}

static int rd_str(osp_pb_reader *r, osp_str *s)
{
    return osp_pb_read_lenbytes(r, s) ? OSP_ECORRUPT : 0;
}

/* Builds the template and variable stream tables of the BODY column. */
static int split_templates(gscan *s)
{
    osp_pb_reader tr = s->st[OSP_LCOL_BODY][OSP_LBODY_TEMPLATES];
    osp_pb_reader vr = s->st[OSP_LCOL_BODY][OSP_LBODY_VARS];
    while (tr.p < tr.end) {
        rtpl *t = osp_array_push((void **)&s->tpls, &s->ntpls, &s->tpls_cap, sizeof *t);
        if (!t)
            return OSP_ENOMEM;
        if (rd_str(&tr, &t->text))
            return bad(s, OSP_LCOL_BODY, "bad template");
        t->first = (uint32_t)s->nph;
        for (size_t i = 0; i < t->text.n; i++) {
            uint32_t *ph;
            if (t->text.p[i] != OSP_LBODY_PLACEHOLDER)
                continue;
            if (!(ph = osp_array_push((void **)&s->ph, &s->nph, &s->ph_cap, sizeof *ph)))
                return OSP_ENOMEM;
            *ph = (uint32_t)i;
        }
        t->n = (uint32_t)(s->nph - t->first);
    }
    while (vr.p < vr.end && s->nvars < OSP_LBODY_MAX_VAR_STREAMS) {
        osp_str x;
        uint64_t width = 0;
        if (rd_str(&vr, &x) || x.n == 0 || (uint8_t)x.p[0] > OSP_LVAR_FIXED_DELTA)
            return bad(s, OSP_LCOL_BODY, "bad variable stream");
        rvar *v = &s->vars[s->nvars++];
        *v = (rvar){.r = osp_pb_reader_make(x.p + 1, x.n - 1), .mode = (uint8_t)x.p[0]};
        if (v->mode >= OSP_LVAR_FIXED && (rd_var(&v->r, &width) || width < 1 || width > 19))
            return bad(s, OSP_LCOL_BODY, "bad variable width");
        v->width = (uint8_t)width;
    }
    return vr.p == vr.end ? 0 : bad(s, OSP_LCOL_BODY, "bytes after the variable streams");
}

/* Splits column c's raw bytes into its streams; builds the key table for ATTRS and the
 * template table for BODY. */
static int split(gscan *s, int c)
{
    osp_pb_reader r = osp_pb_reader_make(s->raw[c], s->g->col[c].rawlen);
    for (int k = 0; k < col_nstreams[c]; k++) {
        osp_str x;
        s->st[c][k] = osp_pb_reader_make("", 0);
        if (c == OSP_LCOL_BODY && k >= OSP_LBODY_TEMPLATES && r.p == r.end)
            continue; /* an older BODY block: no TEMPLATE rows (logformat.h) */
        if (rd_str(&r, &x))
            return bad(s, c, "bad stream table");
        s->st[c][k] = osp_pb_reader_make(x.n ? x.p : "", x.n);
    }
    if (r.p != r.end)
        return bad(s, c, "bytes after the streams");
    if (c == OSP_LCOL_BODY)
        return split_templates(s);
    if (c != OSP_LCOL_ATTRS)
        return 0;
    osp_pb_reader vr = s->st[c][OSP_LSET_VALUES];
    if (!(s->vals = osp_calloc(s->p->nkeys + 1, sizeof *s->vals)))
        return OSP_ENOMEM;
    while (vr.p < vr.end) {
        uint32_t kid;
        osp_str x;
        if (rd_below(&vr, s->p->nkeys, &kid) || rd_str(&vr, &x) || s->vals[kid].p)
            return bad(s, c, "bad attribute values");
        s->vals[kid] = osp_pb_reader_make(x.n ? x.p : "", x.n);
    }
    return 0;
}

/* Reads, verifies and splits columns c0..c1 with one pread. */
static int load_cols(gscan *s, int c0, int c1)
{
    const char *why;
    int rc = osp_blockfile_read_run(&s->p->bf, s->g->offset, s->g->col, c0, c1, &s->io);
    const uint8_t *src = (const uint8_t *)s->io.data;
    for (int c = c0; c <= c1 && rc == 0; src += s->g->col[c].clen, c++) {
        rc = osp_blockfile_unpack(s->dctx, src, &s->g->col[c], &s->raw[c], &why);
        if (rc == OSP_ECORRUPT)
            return bad(s, c, why);
        if (rc == 0)
            rc = split(s, c);
    }
    return rc;
}

/* Reads the STREAM run that starts at row i: its stream into *cur (the previous run's
 * on entry) and its rows into *len. 0 or OSP_ECORRUPT. */
static int next_run(const gscan *s, osp_pb_reader *runs, uint32_t i, uint64_t *cur, uint32_t *len)
{
    uint64_t delta, n;
    if (rd_var(runs, &delta) || rd_var(runs, &n) || n == 0 || n > s->g->pub.rows - i ||
        delta > s->g->pub.last_stream - *cur || (i && delta == 0))
        return bad(s, OSP_LCOL_STREAM, "bad stream run");
    *cur += delta;
    *len = (uint32_t)n;
    return 0;
}

/* Decodes STREAM and TIME and marks the rows f's streams and time range keep. Returns
 * the number kept or an error. */
static int scan_keys(gscan *s, const osp_logpart_filter *f)
{
    osp_pb_reader *runs = &s->st[OSP_LCOL_STREAM][0], *dt = &s->st[OSP_LCOL_TIME][0];
    const uint64_t lo = s->g->pub.min_time, hi = s->g->pub.max_time;
    const uint8_t *want = f->streams;
    uint32_t *stream = s->stream;
    uint64_t *times = s->t;
    uint8_t *keep = s->keep;
    uint32_t n = s->g->pub.rows, len = 0, kept = 0;
    uint64_t cur = s->g->pub.first_stream, prev = 0, e;
    if (rd_var(dt, &e) || e > OSP_LOGPART_MAX_TIME_SCALE)
        return bad(s, OSP_LCOL_TIME, "bad time scale");
    const uint64_t scale = ten_pow[e], most = UINT64_MAX / scale; /* prev past most overflows */
    for (uint32_t i = 0; i < n; i += len) {
        if (next_run(s, runs, i, &cur, &len))
            return OSP_ECORRUPT;
        uint8_t in = !want || want[cur];
        for (uint32_t k = i; k < i + len; k++) {
            uint64_t zz;
            if (rd_var(dt, &zz))
                return bad(s, OSP_LCOL_TIME, "bad time");
            prev += (uint64_t)osp_pb_zigzag_decode(zz);
            uint64_t t = prev * scale;
            if (prev > most || t < lo || t > hi)
                return bad(s, OSP_LCOL_TIME, "time outside the granule's range");
            stream[k] = (uint32_t)cur;
            times[k] = t;
            keep[k] = in && time_overlaps(f, t, t);
            kept += keep[k];
        }
    }
    if (cur != s->g->pub.last_stream || runs->p != runs->end || dt->p != dt->end)
        return bad(s, OSP_LCOL_STREAM, "streams and rows disagree");
    return (int)kept;
}

/* Decodes IDS into s->trace and s->span (NULL when absent) and drops the kept rows
 * whose ids f rejects. Returns the number still kept or an error. */
static int scan_ids(gscan *s, const osp_logpart_filter *f)
{
    osp_pb_reader *st = s->st[OSP_LCOL_IDS];
    const uint8_t *code, *last = NULL;
    int kept = 0;
    for (uint32_t i = 0; i < s->g->pub.rows; i++) {
        s->trace[i] = s->span[i] = NULL;
        if (rd_take(&st[OSP_LIDS_CODES], 1, &code) || *code > 7 ||
            (*code & OSP_LID_TRACE && *code & OSP_LID_SAME) || (*code & OSP_LID_SAME && !last))
            return bad(s, OSP_LCOL_IDS, "bad id code");
        if ((*code & OSP_LID_TRACE && rd_take(&st[OSP_LIDS_TRACE], 16, &last)) ||
            (*code & OSP_LID_SPAN && rd_take(&st[OSP_LIDS_SPAN], 8, &s->span[i])))
            return bad(s, OSP_LCOL_IDS, "ids missing");
        if (*code & (OSP_LID_TRACE | OSP_LID_SAME))
            s->trace[i] = last;
        if (f->trace_id && (!s->trace[i] || memcmp(s->trace[i], f->trace_id, 16) != 0))
            s->keep[i] = 0;
        if (f->span_id && (!s->span[i] || memcmp(s->span[i], f->span_id, 8) != 0))
            s->keep[i] = 0;
        kept += s->keep[i];
    }
    s->ids_loaded = 1;
    return kept;
}

/* Reads one value of the given type from a key's value stream (the inverse of
 * put_value). */
static int get_value(osp_pb_reader *r, uint64_t type, osp_value *v)
{
    const uint8_t *b = NULL;
    uint64_t x = 0;
    *v = (osp_value){.type = (osp_value_type)type};
    if (type > OSP_VAL_KVLIST)
        return OSP_ECORRUPT;
    if (type == OSP_VAL_EMPTY)
        return 0;
    if (type == OSP_VAL_INT) {
        int rc = rd_var(r, &x);
        v->i = osp_pb_zigzag_decode(x);
        return rc;
    }
    if (type == OSP_VAL_BOOL || type == OSP_VAL_DOUBLE) {
        if (rd_take(r, type == OSP_VAL_BOOL ? 1 : 8, &b) || (type == OSP_VAL_BOOL && *b > 1))
            return OSP_ECORRUPT;
        v->i = *b;
        v->d = type == OSP_VAL_DOUBLE ? osp_pb_as_double(osp_get_le64(b)) : 0;
        if (type == OSP_VAL_DOUBLE)
            v->i = 0;
        return 0;
    }
    return rd_str(r, &v->s);
}

/* Reads the next row's attrs blob into s->attrs (built even for rows skipped: the
 * value streams must advance either way). */
static int next_attrs(gscan *s)
{
    osp_pb_reader *set = s->st[OSP_LCOL_ATTRS];
    uint64_t h, code;
    osp_value v;
    osp_str raw;
    int rc = 0;
    osp_buf_reset(&s->attrs);
    if (rd_var(&set[OSP_LSET_SHAPE], &h))
        return bad(s, OSP_LCOL_ATTRS, "bad attribute shape");
    if (h & 1) {
        if (rd_str(&set[OSP_LSET_RAW], &raw))
            return bad(s, OSP_LCOL_ATTRS, "bad verbatim attributes");
        return osp_buf_append_str(&s->attrs, raw);
    }
    for (uint64_t i = 0; i < h / 2 && rc == 0; i++) {
        if (rd_var(&set[OSP_LSET_SHAPE], &code) || code >> 3 >= s->p->nkeys ||
            get_value(&s->vals[code >> 3], code & 7, &v))
            return bad(s, OSP_LCOL_ATTRS, "bad attribute");
        rc = osp_attr_append(&s->attrs, s->p->keys[code >> 3], &v);
    }
    return rc;
}

/* "00" .. "99" */
static const char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes x in decimal at out (room for 20 bytes); returns the bytes written. */
static size_t put_decimal(char *out, uint64_t x)
{
    char tmp[20];
    size_t n = sizeof tmp;
    for (; x >= 100; x /= 100)
        memcpy(tmp + (n -= 2), digit_pairs + 2 * (x % 100), 2);
    if (x >= 10)
        memcpy(tmp + (n -= 2), digit_pairs + 2 * x, 2);
    else
        tmp[--n] = (char)('0' + x);
    memcpy(out, tmp + n, sizeof tmp - n);
    return sizeof tmp - n;
}

/* Makes room for n more bytes in b. */
static int room(osp_buf *b, size_t n)
{
    return b->cap - b->len >= n ? 0 : osp_buf_reserve(b, n);
}

/* Appends x in decimal zero-padded to width digits (at most 20) to b, leaving room for
 * spare more bytes; OSP_ECORRUPT when x needs more digits. Without b, only checks. */
static int put_padded(osp_buf *b, uint64_t x, size_t width, size_t spare)
{
    char dec[20];
    size_t n = put_decimal(dec, x);
    int rc = width > sizeof dec || width < n ? OSP_ECORRUPT : 0;
    if (b && rc == 0 && (rc = room(b, width + spare)) == 0) {
        memset(b->data + b->len, '0', width - n);
        memcpy(b->data + b->len + width - n, dec, n);
        b->len += width;
    }
    return rc;
}

/* Reads the next value of variable stream v and, with b, appends it to b, leaving room
 * for spare more bytes. 0, OSP_ECORRUPT, OSP_ENOMEM. */
static int next_var(rvar *v, osp_buf *b, size_t spare)
{
    const uint8_t *text;
    uint64_t h, x;
    int rc;
    if (rd_var(&v->r, &h))
        return OSP_ECORRUPT;
    if (v->mode == OSP_LVAR_MIXED && (h & 3) == 1) {
        if (h >> 2 == 0 || rd_take(&v->r, h >> 2, &text))
            return OSP_ECORRUPT;
        rc = b ? room(b, (h >> 2) + spare) : 0;
        if (b && rc == 0) {
            memcpy(b->data + b->len, text, h >> 2);
            b->len += h >> 2;
        }
        return rc;
    }
    if (v->mode == OSP_LVAR_MIXED && (h & 3) == 3) /* zero-padded to width h >> 2 */
        return rd_var(&v->r, &x) ? OSP_ECORRUPT : put_padded(b, x, h >> 2, spare);
    x = v->mode == OSP_LVAR_MIXED ? h >> 1 : h;
    int delta = v->mode == OSP_LVAR_DELTA || v->mode == OSP_LVAR_FIXED_DELTA;
    v->prev = delta ? v->prev + (uint64_t)osp_pb_zigzag_decode(x) : x;
    if (v->mode >= OSP_LVAR_FIXED)
        return put_padded(b, v->prev, v->width, spare);
    if (b && (rc = room(b, 20 + spare)))
        return rc;
    if (b)
        b->len += put_decimal(b->data + b->len, v->prev);
    return 0;
}

/* Room left before a TEMPLATE line in s->body for its AnyValue header (0x0A, length). */
#define BODY_HEAD 11

/* Reads the variables of the next row of template t; with build, rebuilds the body in
 * s->body and points s->row_body at it. Every variable gives at least one byte, so the
 * line is at least as long as t. */
static int expand(gscan *s, const rtpl *t, int build)
{
    const uint32_t *ph = t->n ? s->ph + t->first : NULL; /* no placeholders: maybe no array */
    osp_buf *b = build ? &s->body : NULL;
    size_t at = 0, spare = t->text.n;
    int rc = 0;
    if (b && t->text.n > OSP_LOGPART_MAX_TEMPLATED_BYTES - s->templated)
        rc = OSP_ECORRUPT;
    else if (b)
        rc = osp_buf_reserve(b, BODY_HEAD + spare);
    if (b && rc == 0)
        b->len = BODY_HEAD;
    for (uint32_t i = 0; i < t->n && rc == 0; at = ph[i++] + 1) {
        uint32_t k = i < OSP_LBODY_MAX_VAR_STREAMS ? i : OSP_LBODY_MAX_VAR_STREAMS - 1;
        if (b) {
            memcpy(b->data + b->len, t->text.p + at, ph[i] - at);
            b->len += ph[i] - at;
        }
        rc = k < s->nvars ? next_var(&s->vars[k], b, spare) : OSP_ECORRUPT;
    }
    if (rc == 0 && b) {
        memcpy(b->data + b->len, t->text.p + at, t->text.n - at);
        b->len += t->text.n - at;
        uint8_t head[BODY_HEAD];
        size_t n = b->len - BODY_HEAD, hn = 1 + osp_pb_encode_varint(head + 1, n);
        head[0] = 0x0A; /* field 1 (string_value), LEN */
        memcpy(b->data + BODY_HEAD - hn, head, hn);
        s->row_body = osp_str_make(b->data + BODY_HEAD - hn, hn + n);
        s->templated += n;
        if (s->templated > OSP_LOGPART_MAX_TEMPLATED_BYTES)
            rc = OSP_ECORRUPT;
    }
    return rc == OSP_ECORRUPT ? bad(s, OSP_LCOL_BODY, "bad template variables") : rc;
}

/* Reads the next row's body into s->row_body (with build; else only advances). */
static int next_body(gscan *s, int build)
{
    osp_pb_reader *st = s->st[OSP_LCOL_BODY];
    uint64_t code;
    osp_str x;
    s->row_body = osp_str_make("", 0);
    osp_buf_reset(&s->body);
    if (rd_var(&st[OSP_LBODY_CODES], &code) ||
        (code >= OSP_LBODY_TEMPLATE && code - OSP_LBODY_TEMPLATE >= s->ntpls))
        return bad(s, OSP_LCOL_BODY, "bad body code");
    if (code >= OSP_LBODY_TEMPLATE)
        return expand(s, &s->tpls[code - OSP_LBODY_TEMPLATE], build);
    if (code == OSP_LBODY_NONE)
        return 0;
    if (rd_str(&st[code == OSP_LBODY_STRING ? OSP_LBODY_TEXT : OSP_LBODY_RAW], &x))
        return bad(s, OSP_LCOL_BODY, "bad body");
    if (code == OSP_LBODY_VERBATIM || !build) {
        s->row_body = x;
        return 0;
    }
    osp_value v = {.type = OSP_VAL_STRING, .s = x};
    int rc = osp_value_put(&s->body, &v);
    s->row_body = osp_buf_str(&s->body);
    return rc;
}

/* A row's scalar columns, as stored. */
typedef struct row_fields {
    uint64_t observed, sev, misc, flags, dropped;
    uint32_t sev_text, event, res, scope;
} row_fields;

static int next_fields(gscan *s, row_fields *r)
{
    osp_pb_reader *misc = &s->st[OSP_LCOL_MISC][0], *origin = &s->st[OSP_LCOL_ORIGIN][0];
    const osp_logpart *p = s->p;
    if (rd_var(&s->st[OSP_LCOL_OBSERVED][0], &r->observed) ||
        rd_var(&s->st[OSP_LCOL_SEVERITY][0], &r->sev) ||
        rd_below(&s->st[OSP_LCOL_SEVERITY][0], p->nstrings, &r->sev_text) ||
        rd_var(misc, &r->misc) || rd_var(misc, &r->flags) || rd_var(misc, &r->dropped) ||
        rd_below(&s->st[OSP_LCOL_EVENT][0], p->nstrings, &r->event) ||
        rd_below(origin, p->nresources, &r->res) || rd_below(origin, p->nscopes, &r->scope))
        return bad(s, OSP_LCOL_MISC, "bad row");
    int64_t sev = osp_pb_zigzag_decode(r->sev);
    if (sev < INT32_MIN || sev > INT32_MAX || r->flags > UINT32_MAX || r->dropped > UINT32_MAX ||
        r->misc >> OSP_LMISC_LEVEL_SHIFT >= OSP_LINE_LEVEL_COUNT)
        return bad(s, OSP_LCOL_MISC, "value out of range");
    return 0;
}

/* Copies s into out's arena (empty slices stay NULL). */
static int dup_str(osp_log_batch *out, osp_str *x)
{
    if (x->n == 0) {
        *x = OSP_STR_NULL;
        return 0;
    }
    x->p = osp_arena_memdup(&out->arena, x->p, x->n);
    return x->p ? 0 : OSP_ENOMEM;
}

/* The index in s->out of part resource (scope = 0) or scope (scope = 1) id, copied in on
 * first use. */
static int origin_index(gscan *s, int scope, uint32_t id, uint32_t *idx)
{
    uint32_t *map = scope ? s->scope_map : s->res_map;
    osp_arena *a = &s->out->arena;
    if (map[id] != UINT32_MAX) {
        *idx = map[id];
        return 0;
    }
    if (scope) {
        osp_scope *d = osp_log_batch_add_scope(s->out);
        if (!d)
            return OSP_ENOMEM;
        *d = s->p->scopes[id];
        map[id] = (uint32_t)(s->out->nscopes - 1);
        *idx = map[id];
        return msg_copy(a, d, scope_fields, NFIELDS(scope_fields));
    }
    osp_resource *d = osp_log_batch_add_resource(s->out);
    if (!d)
        return OSP_ENOMEM;
    *d = s->p->resources[id];
    map[id] = (uint32_t)(s->out->nresources - 1);
    *idx = map[id];
    return msg_copy(a, d, res_fields, NFIELDS(res_fields));
}

/* Builds row i from its decoded fields and appends it (and its stream) to the output. */
static int emit(gscan *s, uint32_t i, const row_fields *f, uint32_t **streams, size_t *nstreams,
                size_t *cap)
{
    osp_log_record r = {0}, *d;
    int rc;
    r.time_ns = f->misc & OSP_LMISC_NO_TIME ? 0 : s->t[i];
    r.observed_ns = f->misc & OSP_LMISC_NO_OBSERVED
                        ? 0
                        : s->t[i] + (uint64_t)osp_pb_zigzag_decode(f->observed) * s->obs_scale;
    if (s->trace[i])
        memcpy(r.trace_id, s->trace[i], 16);
    if (s->span[i])
        memcpy(r.span_id, s->span[i], 8);
    r.severity_number = (int32_t)osp_pb_zigzag_decode(f->sev);
    r.flags = (uint32_t)f->flags;
    r.dropped_attributes = (uint32_t)f->dropped;
    r.has_body = !s->no_body && (f->misc & OSP_LMISC_HAS_BODY) != 0;
    r.labels_from = (uint8_t)(f->misc >> OSP_LMISC_LABELS_SHIFT);
    r.level = (uint8_t)(f->misc >> OSP_LMISC_LEVEL_SHIFT);
    r.severity_text = s->p->strings[f->sev_text];
    r.event_name = s->p->strings[f->event];
    r.attributes = osp_buf_str(&s->attrs);
    r.body = s->row_body;
    if ((rc = dup_str(s->out, &r.severity_text)) || (rc = dup_str(s->out, &r.event_name)) ||
        (rc = dup_str(s->out, &r.attributes)) || (rc = dup_str(s->out, &r.body)) ||
        (rc = origin_index(s, 0, f->res, &r.resource)) ||
        (rc = origin_index(s, 1, f->scope, &r.scope)))
        return rc;
    uint32_t *k = osp_array_push((void **)streams, nstreams, cap, sizeof **streams);
    if (!k || !(d = osp_log_batch_add_record(s->out)))
        return OSP_ENOMEM;
    *k = s->stream[i];
    *d = r;
    return 0;
}

static int scan_init(gscan *s, osp_logpart *p, size_t g, osp_log_batch *out)
{
    uint32_t n = p->granules[g].pub.rows;
    memset(s, 0, sizeof *s);
    s->p = p;
    s->g = &p->granules[g];
    s->gi = g;
    s->out = out;
    osp_buf_init(&s->io, 0);
    osp_buf_init(&s->attrs, 0);
    osp_buf_init(&s->body, 0);
    s->dctx = osp_blockfile_dctx_take();
    s->stream = osp_malloc(n * sizeof *s->stream);
    s->t = osp_malloc(n * sizeof *s->t);
    s->keep = osp_malloc(n);
    s->trace = osp_malloc(n * sizeof *s->trace);
    s->span = osp_malloc(n * sizeof *s->span);
    s->res_map = osp_malloc((p->nresources + 1) * sizeof *s->res_map);
    s->scope_map = osp_malloc((p->nscopes + 1) * sizeof *s->scope_map);
    if (!s->dctx || !s->stream || !s->t || !s->keep || !s->trace || !s->span || !s->res_map ||
        !s->scope_map)
        return OSP_ENOMEM;
    memset(s->res_map, 0xff, (p->nresources + 1) * sizeof *s->res_map);
    memset(s->scope_map, 0xff, (p->nscopes + 1) * sizeof *s->scope_map);
    return 0;
}

static void scan_cleanup(gscan *s)
{
    osp_blockfile_dctx_give(s->dctx);
    for (int c = 0; c < OSP_LCOL_COUNT; c++)
        osp_free(s->raw[c]);
    void *owned[] = {s->vals, s->stream,  s->t,         s->keep, s->trace,
                     s->span, s->res_map, s->scope_map, s->tpls, s->ph};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        osp_free(owned[i]);
    osp_buf_cleanup(&s->io);
    osp_buf_cleanup(&s->attrs);
    osp_buf_cleanup(&s->body);
}

/* Decodes the rest of the columns row by row, emitting the kept rows. */
static int scan_rest(gscan *s, uint32_t **streams, size_t *nstreams, size_t *cap)
{
    static const osp_logpart_filter none;
    uint64_t e;
    int rc = load_cols(s, s->ids_loaded ? OSP_LCOL_OBSERVED : OSP_LCOL_IDS,
                       s->no_body ? OSP_LCOL_BODY - 1 : OSP_LCOL_BODY);
    if (rc == 0 && !s->ids_loaded && (rc = scan_ids(s, &none)) > 0)
        rc = 0;
    if (rc == 0 && (rd_var(&s->st[OSP_LCOL_OBSERVED][0], &e) || e > OSP_LOGPART_MAX_TIME_SCALE))
        rc = bad(s, OSP_LCOL_OBSERVED, "bad time scale");
    if (rc == 0)
        s->obs_scale = ten_pow[e];
    for (uint32_t i = 0; rc == 0 && i < s->g->pub.rows; i++) {
        row_fields f;
        if ((rc = next_fields(s, &f)) || (rc = next_attrs(s)) ||
            (!s->no_body && (rc = next_body(s, s->keep[i]))))
            break;
        if (s->keep[i])
            rc = emit(s, i, &f, streams, nstreams, cap);
    }
    return rc;
}

int osp_logpart_read_granule(osp_logpart *p, size_t g, const osp_logpart_filter *f,
                             osp_log_batch *out, uint32_t **streams, size_t *nstreams, size_t *cap)
{
    size_t nrec = out->nrecords, nres = out->nresources, nscopes = out->nscopes, nst = *nstreams;
    gscan s;
    int rc = scan_init(&s, p, g, out), kept = 0;
    s.no_body = f->no_body;
    if (rc == 0)
        rc = load_cols(&s, OSP_LCOL_STREAM, OSP_LCOL_TIME);
    if (rc == 0)
        rc = kept = scan_keys(&s, f);
    if (rc > 0 && (f->trace_id || f->span_id) &&
        (rc = load_cols(&s, OSP_LCOL_IDS, OSP_LCOL_IDS)) == 0)
        rc = kept = scan_ids(&s, f);
    if (rc > 0)
        rc = scan_rest(&s, streams, nstreams, cap);
    scan_cleanup(&s);
    if (rc < 0) {
        out->nrecords = nrec;
        out->nresources = nres;
        out->nscopes = nscopes;
        *nstreams = nst;
        return rc;
    }
    return kept;
}

/* Decodes STREAM's runs, checking them all before passing each one f's streams select to
 * fn (*stop its result): a corrupt column passes none. */
static int scan_runs(gscan *s, const osp_logpart_filter *f, osp_logpart_run_fn fn, void *ctx,
                     int *stop)
{
    for (int pass = 0; pass < 2; pass++) {
        osp_pb_reader runs = s->st[OSP_LCOL_STREAM][0];
        uint64_t cur = s->g->pub.first_stream;
        uint32_t len = 0;
        for (uint32_t i = 0; i < s->g->pub.rows && !*stop; i += len) {
            if (next_run(s, &runs, i, &cur, &len))
                return OSP_ECORRUPT;
            if (pass && (!f->streams || f->streams[cur]))
                *stop = fn((uint32_t)cur, len, ctx);
        }
        if (!pass && (cur != s->g->pub.last_stream || runs.p != runs.end))
            return bad(s, OSP_LCOL_STREAM, "streams and rows disagree");
    }
    return 0;
}

int osp_logpart_read_runs(osp_logpart *p, size_t g, const osp_logpart_filter *f,
                          osp_logpart_run_fn fn, void *ctx)
{
    const osp_logpart_granule *gr = &p->granules[g].pub;
    if (!time_overlaps(f, gr->min_time, gr->min_time) ||
        !time_overlaps(f, gr->max_time, gr->max_time))
        return OSP_EINVAL;
    gscan s;
    int rc = scan_init(&s, p, g, NULL), stop = 0;
    if (rc == 0)
        rc = load_cols(&s, OSP_LCOL_STREAM, OSP_LCOL_STREAM);
    if (rc == 0)
        rc = scan_runs(&s, f, fn, ctx, &stop);
    scan_cleanup(&s);
    return stop ? stop : rc;
}

int osp_logpart_read_times(osp_logpart *p, size_t g, const osp_logpart_filter *f,
                           osp_logpart_time_fn fn, void *ctx)
{
    gscan s;
    int rc = scan_init(&s, p, g, NULL), stop = 0;
    if (rc == 0)
        rc = load_cols(&s, OSP_LCOL_STREAM, OSP_LCOL_TIME);
    if (rc == 0)
        rc = scan_keys(&s, f);
    for (uint32_t i = 0; rc > 0 && !stop && i < s.g->pub.rows; i++)
        if (s.keep[i])
            stop = fn(s.stream[i], s.t[i], ctx);
    scan_cleanup(&s);
    return stop ? stop : rc < 0 ? rc : 0;
}
