/* The AI call index (aicalls.h): segment files written by one writer, replayed at open
 * into an in-memory index of record summaries grouped by trace, session, user and agent;
 * texts are read back from the segments on demand. */
#include "store/aicalls/aicalls.h"

#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/intern.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/aicalls/aicseg.h"
#include "store/blockfile.h"
#include "store/partdir.h"

#define MOD "aicalls"
#define WHAT "AI call segment"
#define READ_CHUNK ((size_t)1 << 20)
#define DEFAULT_FSYNC_MS 1000
#define DEFAULT_MAX_RECORDS 1000000
#define NO_SEG UINT32_MAX

/* Group kinds: the first byte of a group's key. */
enum { K_TRACE, K_SESSION, K_USER, K_AGENT, NKINDS };
#define NLINKS (NKINDS - 1) /* the kinds a trace links to */

typedef struct seg {
    uint32_t day;
    uint32_t version; /* of its format (aicseg.h) */
    uint64_t seq;
    char *path;
    int fd;           /* read-only, for texts */
    uint8_t resident; /* its records are in the index (the memory budget may leave old days
                       * out) */
} seg;

/* Where a record lies: the block (version 1: the frame) at off, len bytes long, in segment
 * seg, and the record's offset in the block's raw bytes. */
typedef struct loc {
    uint64_t off;
    uint32_t len;
    uint32_t seg;
    uint32_t in_block;
} loc;

/* A record's summary, compact: its strings as ids in the index's string table, texts left
 * on disk (rec_expand gives the osp_aicall). */
typedef struct rec {
    uint8_t trace_id[16], span_id[8], parent_span_id[8];
    uint64_t start_ns, end_ns;
    int64_t counts[OSP_AICALL_NCOUNTS]; /* in osp_aicall_counts order */
    uint32_t strs[OSP_AICALL_NNAMES];   /* string id + 1 (0: empty), by enum osp_aicall_str */
    uint8_t type, is_error;
    int8_t cache_in_input, streaming;
    loc at;
} rec;

/* The records of a trace (ids of recs), or the traces (group ids) of a session, user or
 * agent. */
typedef struct group {
    uint32_t *ids;
    uint32_t n, cap;
    uint64_t first, last;  /* earliest and latest record start */
    uint64_t end;          /* traces: the latest record end */
    uint32_t link[NLINKS]; /* traces: the group each kind last linked to, + 1 */
    uint8_t kind;
} group;

/* Everything rebuilt when days are dropped. */
typedef struct aic_index {
    osp_intern strs; /* record strings */
    osp_intern keys; /* group keys: kind byte and bytes; ids are group ids */
    rec *recs;
    size_t nrecs, rcap;
    group *groups;
    size_t ngroups, gcap;
    size_t ids_bytes; /* the groups' id arrays */
} aic_index;

struct osp_aicalls {
    char *dir, *qdir;
    uint64_t retention_ns;
    size_t memory_bytes;   /* the index's budget (0: none); whole old days leave past it */
    uint64_t indexed_from; /* osp_aicalls_indexed_from (atomic; changed under wmu) */
    enum osp_fsync_policy fsync_policy;
    uint32_t fsync_interval_ms;
    pthread_rwlock_t lock; /* ix and segs: readers shared, changes exclusive */
    aic_index ix;
    seg *segs;
    size_t nsegs, segcap;
    pthread_mutex_t wmu; /* the writer: the fields below, and changes to segs */
    int wfd;             /* today's segment, -1 before the first append */
    uint32_t wseg;       /* its index in segs, or NO_SEG */
    uint64_t wsize;      /* its length */
    uint64_t next_seq;
    int64_t synced_ms; /* last fsync (monotonic) */
    osp_buf raw;       /* encoded records of one append */
    osp_buf io;        /* their blocks */
    ZSTD_CCtx *cctx;
};

/* ---- the in-memory index ---- */

static void index_init(aic_index *ix)
{
    memset(ix, 0, sizeof *ix);
    osp_intern_init(&ix->strs, 1);
    osp_intern_init(&ix->keys, 1);
}

static void index_cleanup(aic_index *ix)
{
    for (size_t i = 0; i < ix->ngroups; i++)
        osp_free(ix->groups[i].ids);
    osp_free(ix->groups);
    osp_free(ix->recs);
    osp_intern_cleanup(&ix->strs);
    osp_intern_cleanup(&ix->keys);
}

static size_t intern_bytes(const osp_intern *t)
{
    size_t slots = t->mask ? (size_t)t->mask + 1 : 0;
    return t->n * (sizeof *t->strs + sizeof *t->hashes) + slots * sizeof *t->slots + t->arena.used;
}

/* About the bytes ix holds: its records and groups (the arrays' unused tails are only
 * reserved), the groups' id lists and its string tables. */
static size_t index_bytes(const aic_index *ix)
{
    return ix->nrecs * sizeof *ix->recs + ix->ngroups * sizeof *ix->groups + ix->ids_bytes +
           intern_bytes(&ix->strs) + intern_bytes(&ix->keys);
}

/* The group of (kind, key bytes), created when new: its id in *gid. */
static int group_get(aic_index *ix, int kind, const void *p, size_t n, uint32_t *gid)
{
    char key[1 + OSP_AICALL_MAX_TEXT];
    if (n > OSP_AICALL_MAX_TEXT)
        n = OSP_AICALL_MAX_TEXT;
    key[0] = (char)kind;
    memcpy(key + 1, p, n);
    int rc = osp_intern_add(&ix->keys, osp_str_make(key, n + 1), gid);
    if (rc || *gid < ix->ngroups)
        return rc;
    group *g = osp_array_push((void **)&ix->groups, &ix->ngroups, &ix->gcap, sizeof *g);
    if (!g)
        return OSP_ENOMEM;
    g->kind = (uint8_t)kind;
    g->first = UINT64_MAX;
    return 0;
}

/* 1 with *gid when the group exists. */
static int group_find(const aic_index *ix, int kind, osp_str k, uint32_t *gid)
{
    char key[1 + OSP_AICALL_MAX_TEXT];
    if (k.n > OSP_AICALL_MAX_TEXT)
        return 0;
    key[0] = (char)kind;
    memcpy(key + 1, k.p, k.n);
    return osp_intern_find(&ix->keys, osp_str_make(key, k.n + 1), gid);
}

static int group_add(aic_index *ix, group *g, uint32_t id, uint64_t t)
{
    if (g->n == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 4;
        uint32_t *ids = osp_realloc(g->ids, cap * sizeof *ids);
        if (!ids)
            return OSP_ENOMEM;
        ix->ids_bytes += (cap - g->cap) * sizeof *ids;
        g->ids = ids;
        g->cap = cap;
    }
    g->ids[g->n++] = id;
    g->first = t < g->first ? t : g->first;
    g->last = t > g->last ? t : g->last;
    return 0;
}

/* The string of id + 1 (0: empty). */
static osp_str str_of(const aic_index *ix, uint32_t id1)
{
    return id1 ? ix->strs.strs[id1 - 1] : osp_str_make("", 0);
}

/* The summary of a stored at where, its strings interned (texts are dropped: they stay on
 * disk). */
static int rec_compact(aic_index *ix, const osp_aicall *in, const loc *where, rec *r)
{
    osp_aicall a = *in;
    int64_t *c[OSP_AICALL_NCOUNTS];
    osp_str *str[OSP_AICALL_NSTRS];
    osp_aicall_counts(&a, c);
    osp_aicall_strs(&a, str);
    memset(r, 0, sizeof *r);
    memcpy(r->trace_id, a.trace_id, 16);
    memcpy(r->span_id, a.span_id, 8);
    memcpy(r->parent_span_id, a.parent_span_id, 8);
    r->start_ns = a.start_ns;
    r->end_ns = a.end_ns;
    for (int i = 0; i < OSP_AICALL_NCOUNTS; i++)
        r->counts[i] = *c[i];
    for (int i = 0; i < OSP_AICALL_NNAMES; i++) {
        uint32_t id;
        if (!str[i]->n)
            continue;
        if (osp_intern_add(&ix->strs, *str[i], &id))
            return OSP_ENOMEM;
        r->strs[i] = id + 1;
    }
    r->type = (uint8_t)a.type;
    r->is_error = (uint8_t)a.is_error;
    r->cache_in_input = (int8_t)a.cache_in_input;
    r->streaming = (int8_t)a.streaming;
    r->at = *where;
    return 0;
}

/* The record r summarizes, strings pointing into the index, texts empty. Field by field:
 * the lists expand every record of the range. */
static void rec_expand(const aic_index *ix, const rec *r, osp_aicall *a)
{
    const uint32_t *id = r->strs;
    memcpy(a->trace_id, r->trace_id, 16);
    memcpy(a->span_id, r->span_id, 8);
    memcpy(a->parent_span_id, r->parent_span_id, 8);
    a->start_ns = r->start_ns;
    a->end_ns = r->end_ns;
    a->input_tokens = r->counts[0];
    a->output_tokens = r->counts[1];
    a->cache_read_tokens = r->counts[2];
    a->cache_write_tokens = r->counts[3];
    a->reasoning_tokens = r->counts[4];
    a->ttft_ns = r->counts[5];
    a->tpot_ns = r->counts[6];
    a->max_gap_ns = r->counts[7];
    a->service = str_of(ix, id[OSP_AS_SERVICE]);
    a->name = str_of(ix, id[OSP_AS_NAME]);
    a->operation = str_of(ix, id[OSP_AS_OPERATION]);
    a->provider = str_of(ix, id[OSP_AS_PROVIDER]);
    a->request_model = str_of(ix, id[OSP_AS_REQUEST_MODEL]);
    a->response_model = str_of(ix, id[OSP_AS_RESPONSE_MODEL]);
    a->session_id = str_of(ix, id[OSP_AS_SESSION]);
    a->user_id = str_of(ix, id[OSP_AS_USER]);
    a->agent_name = str_of(ix, id[OSP_AS_AGENT]);
    a->tool_name = str_of(ix, id[OSP_AS_TOOL]);
    a->error_type = str_of(ix, id[OSP_AS_ERROR_TYPE]);
    a->input_text = a->output_text = osp_str_make("", 0);
    a->type = r->type;
    a->is_error = r->is_error;
    a->cache_in_input = r->cache_in_input;
    a->streaming = r->streaming;
}

/* Links trace group tg to the group of (kind, k), once in a row. */
static int link_trace(aic_index *ix, uint32_t tg, int kind, osp_str k, uint64_t t)
{
    uint32_t gid;
    if (!k.n)
        return 0;
    int rc = group_get(ix, kind, k.p, k.n, &gid);
    if (rc)
        return rc;
    group *g = &ix->groups[gid], *trace = &ix->groups[tg];
    if (trace->link[kind - 1] == gid + 1 && g->n && g->ids[g->n - 1] == tg) {
        g->first = t < g->first ? t : g->first;
        g->last = t > g->last ? t : g->last;
        return 0;
    }
    trace->link[kind - 1] = gid + 1;
    return group_add(ix, g, tg, t);
}

/* Adds a record (its strings interned), stored at where, to the index. */
static int index_record(aic_index *ix, const osp_aicall *a, const loc *where)
{
    rec r;
    uint32_t tg;
    int rc = rec_compact(ix, a, where, &r);
    if (rc == 0)
        rc = group_get(ix, K_TRACE, a->trace_id, 16, &tg);
    if (rc)
        return rc;
    rec *slot = osp_array_push((void **)&ix->recs, &ix->nrecs, &ix->rcap, sizeof *slot);
    if (!slot || ix->nrecs > UINT32_MAX)
        return OSP_ENOMEM;
    *slot = r;
    uint32_t id = (uint32_t)(ix->nrecs - 1);
    uint64_t t = a->start_ns;
    if (a->end_ns > ix->groups[tg].end)
        ix->groups[tg].end = a->end_ns;
    if ((rc = group_add(ix, &ix->groups[tg], id, t)) ||
        (rc = link_trace(ix, tg, K_SESSION, a->session_id, t)) ||
        (rc = link_trace(ix, tg, K_USER, a->user_id, t)))
        return rc;
    return link_trace(ix, tg, K_AGENT, a->agent_name, t);
}

/* ---- opening: replaying segments ---- */

static seg *add_seg(osp_aicalls *s, char *path, uint32_t day, uint64_t seq, int fd)
{
    seg *g = osp_array_push((void **)&s->segs, &s->nsegs, &s->segcap, sizeof *g);
    if (!g)
        return NULL;
    *g = (seg){.day = day,
               .version = OSP_AICSEG_VERSION,
               .seq = seq,
               .path = path,
               .fd = fd,
               .resident = 1};
    if (seq >= s->next_seq)
        s->next_seq = seq + 1;
    return g;
}

/* Indexes the version 1 records of buf[0..n) from file offset base; *used: bytes
 * consumed. 0, or OSP_EAGAIN (a record continues past n), OSP_ECORRUPT, OSP_ENOMEM. */
static int replay_frames(osp_aicalls *s, uint32_t segi, const uint8_t *buf, size_t n, uint64_t base,
                         size_t *used)
{
    size_t at = 0, len;
    osp_aicall a;
    int rc = 0;
    while (at < n && (rc = osp_aicseg_decode_v1(buf + at, n - at, &a, &len)) == 0) {
        loc where = {.off = base + at, .len = (uint32_t)len, .seg = segi};
        if ((rc = index_record(&s->ix, &a, &where)) != 0)
            break;
        at += len;
    }
    *used = at;
    return rc;
}

/* Indexes the records of the raw block raw[0..n), stored at where, once all of them
 * decode (a damaged block adds none). */
static int replay_block(osp_aicalls *s, const uint8_t *raw, size_t n, loc where)
{
    size_t len;
    osp_aicall a;
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += len)
        rc = osp_aicseg_decode(raw + at, n - at, &a, &len);
    for (size_t at = 0; at < n && rc == 0; at += len) {
        where.in_block = (uint32_t)at;
        (void)osp_aicseg_decode(raw + at, n - at, &a, &len);
        rc = index_record(&s->ix, &a, &where);
    }
    return rc;
}

/* replay_frames for the blocks of a version 2 segment. */
static int replay_blocks(osp_aicalls *s, uint32_t segi, ZSTD_DCtx *dctx, const uint8_t *buf,
                         size_t n, uint64_t base, size_t *used)
{
    size_t at = 0, len, rawlen;
    uint8_t *raw;
    int rc = 0;
    while (at < n &&
           (rc = osp_aicseg_block_unpack(dctx, buf + at, n - at, &raw, &rawlen, &len)) == 0) {
        rc = replay_block(s, raw, rawlen,
                          (loc){.off = base + at, .len = (uint32_t)len, .seg = segi});
        osp_free(raw);
        if (rc)
            break;
        at += len;
    }
    *used = at;
    return rc;
}

/* The most a replay must hold at once: a whole frame or block past a read's chunk. */
#define REPLAY_BUF                                                                                 \
    (READ_CHUNK + OSP_AICSEG_BLOCK_HEAD + ZSTD_COMPRESSBOUND(OSP_AICSEG_MAX_BLOCK_RAW))

/* Reads segment segi through, indexing its records. 0, OSP_ECORRUPT (a bad header, a
 * bad record or block, or a torn one at the end), OSP_EIO, OSP_ENOMEM. */
static int replay_seg(osp_aicalls *s, uint32_t segi, uint64_t *valid)
{
    seg *g = &s->segs[segi];
    uint8_t *buf = osp_malloc(REPLAY_BUF);
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    size_t have = 0, used;
    uint64_t base = OSP_AICSEG_HEADER_SIZE;
    int rc = buf && dctx ? 0 : OSP_ENOMEM, header = 0;
    ssize_t got = 1;
    while (rc == 0 && got > 0) {
        if ((got = read(g->fd, buf + have, READ_CHUNK)) < 0) {
            rc = OSP_EIO;
            break;
        }
        have += (size_t)got;
        if (!header) {
            if ((rc = osp_aicseg_check_header(buf, have, &g->version)) != 0) {
                rc = rc == OSP_EAGAIN ? 0 : rc; /* judged at the end */
                continue;
            }
            header = 1;
            have -= OSP_AICSEG_HEADER_SIZE;
            memmove(buf, buf + OSP_AICSEG_HEADER_SIZE, have);
        }
        rc = g->version == 1 ? replay_frames(s, segi, buf, have, base, &used)
                             : replay_blocks(s, segi, dctx, buf, have, base, &used);
        have -= used;
        memmove(buf, buf + used, have);
        base += used;
        if (rc == OSP_EAGAIN) /* the rest of the record comes with the next read */
            rc = 0;
    }
    if (rc == 0 && have) /* bytes left at the end: a torn record or header */
        rc = OSP_ECORRUPT;
    *valid = header ? base : 0;
    ZSTD_freeDCtx(dctx);
    osp_free(buf);
    return rc;
}

/* Copies the first n bytes of the file open as fd into a new file at path. */
static int copy_prefix(int fd, const char *path, uint64_t n)
{
    uint8_t *buf = osp_malloc(READ_CHUNK);
    int out = buf ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
    int rc = buf ? (out >= 0 ? 0 : OSP_EIO) : OSP_ENOMEM;
    for (uint64_t at = 0; rc == 0 && at < n;) {
        size_t want = n - at < READ_CHUNK ? (size_t)(n - at) : READ_CHUNK;
        ssize_t got = pread(fd, buf, want, (off_t)at);
        if (got <= 0 || osp_write_all(out, buf, (size_t)got))
            rc = OSP_EIO;
        at += got > 0 ? (uint64_t)got : 0;
    }
    if (rc == 0 && fsync(out))
        rc = OSP_EIO;
    if (out >= 0)
        close(out);
    osp_free(buf);
    return rc;
}

/* Keeps a damaged segment's first valid bytes under its name and moves the damaged file to
 * quarantine; where it cannot be moved, cuts it to those bytes. */
static void salvage(osp_aicalls *s, const seg *g, uint64_t valid)
{
    osp_warn(MOD, "%s: a corrupt or torn block or record ends its replay after %llu bytes", g->path,
             (unsigned long long)valid);
    osp_partdir_quarantine(g->path, s->qdir, g->day, WHAT, MOD);
    int rc = valid ? copy_prefix(g->fd, g->path, valid) : 0;
    if (rc && truncate(g->path, (off_t)valid))
        osp_error(MOD, "%s: keeping its valid records failed", g->path);
    else if (valid)
        (void)osp_fsync_dir(s->dir);
}

/* Scan callback: one segment file, or its removal when past retention. */
static int open_one(void *ctx, char *path, uint32_t day, uint64_t seq)
{
    osp_aicalls *s = ctx;
    uint64_t now = osp_clock_ns(CLOCK_REALTIME);
    if (s->retention_ns && ((uint64_t)day + 1) * OSP_PART_NS_PER_DAY + s->retention_ns <= now) {
        (void)unlink(path);
        osp_free(path);
        return 0;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    seg *g = fd >= 0 ? add_seg(s, path, day, seq, fd) : NULL;
    if (!g) {
        osp_error(MOD, "opening %s failed", path);
        if (fd >= 0)
            close(fd);
        osp_free(path);
        return fd >= 0 ? OSP_ENOMEM : OSP_EIO;
    }
    return 0;
}

static int cmp_seg(const void *pa, const void *pb)
{
    const seg *a = pa, *b = pb;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sets indexed_from from the segments (under wmu, or before the index is shared). */
static void note_indexed_from(osp_aicalls *s)
{
    uint32_t oldest = UINT32_MAX;
    int left_out = 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        if (!s->segs[i].resident)
            left_out = 1;
        else if (s->segs[i].day < oldest)
            oldest = s->segs[i].day;
    }
    uint64_t from = left_out && oldest != UINT32_MAX ? (uint64_t)oldest * OSP_PART_NS_PER_DAY : 0;
    __atomic_store_n(&s->indexed_from, from, __ATOMIC_RELAXED);
}

static void warn_left_out(const osp_aicalls *s, const char *when)
{
    time_t from = (time_t)(__atomic_load_n(&s->indexed_from, __ATOMIC_RELAXED) / 1000000000);
    struct tm tm;
    char day[16];
    if (!from || !gmtime_r(&from, &tm) || !strftime(day, sizeof day, "%Y-%m-%d", &tm))
        return;
    osp_warn(MOD,
             "%s: the memory budget (%zu MiB) holds the records from %s on; older days stay on "
             "disk but out of the session, user and agent lists",
             when, s->memory_bytes >> 20, day);
}

/* Replays the segments, sorted by day, newest day first, until the index has passed the
 * memory budget at the end of a day: the older days stay out of it. */
static int replay_all(osp_aicalls *s)
{
    int rc = 0;
    if (s->nsegs > 1)
        qsort(s->segs, s->nsegs, sizeof *s->segs, cmp_seg);
    for (size_t i = s->nsegs; i-- > 0 && rc == 0;) {
        seg *g = &s->segs[i];
        if (s->memory_bytes && i + 1 < s->nsegs && g->day != s->segs[i + 1].day &&
            index_bytes(&s->ix) > s->memory_bytes) {
            for (size_t k = 0; k <= i; k++)
                s->segs[k].resident = 0;
            break;
        }
        uint64_t valid;
        if ((rc = replay_seg(s, (uint32_t)i, &valid)) == OSP_ECORRUPT) {
            salvage(s, g, valid);
            rc = 0;
        }
    }
    note_indexed_from(s);
    warn_left_out(s, "at start-up");
    return rc;
}

static void close_seg(seg *g, int unlink_file)
{
    if (g->fd >= 0)
        close(g->fd);
    if (unlink_file)
        (void)unlink(g->path);
    osp_free(g->path);
}

void osp_aicalls_close(osp_aicalls *s)
{
    if (!s)
        return;
    if (s->wfd >= 0) {
        (void)fsync(s->wfd);
        close(s->wfd);
    }
    for (size_t i = 0; i < s->nsegs; i++)
        close_seg(&s->segs[i], 0);
    osp_free(s->segs);
    index_cleanup(&s->ix);
    osp_buf_cleanup(&s->raw);
    osp_buf_cleanup(&s->io);
    ZSTD_freeCCtx(s->cctx);
    pthread_rwlock_destroy(&s->lock);
    pthread_mutex_destroy(&s->wmu);
    osp_free(s->dir);
    osp_free(s->qdir);
    osp_free(s);
}

int osp_aicalls_open(const osp_aicalls_options *opt, osp_aicalls **out)
{
    if (!opt->dir || !*opt->dir)
        return OSP_EINVAL;
    osp_aicalls *s = osp_calloc(1, sizeof *s);
    if (!s)
        return OSP_ENOMEM;
    pthread_rwlock_init(&s->lock, NULL);
    pthread_mutex_init(&s->wmu, NULL);
    index_init(&s->ix);
    osp_buf_init(&s->raw, 0);
    osp_buf_init(&s->io, 0);
    s->cctx = ZSTD_createCCtx();
    s->wfd = -1;
    s->wseg = NO_SEG;
    s->next_seq = 1; /* seq 0 names the day directory (store/partdir.h) */
    s->retention_ns = opt->retention_ns;
    s->memory_bytes = opt->memory_bytes;
    s->fsync_policy = opt->fsync_policy;
    s->fsync_interval_ms = opt->fsync_interval_ms ? opt->fsync_interval_ms : DEFAULT_FSYNC_MS;
    s->dir = osp_strdup(opt->dir);
    s->qdir = osp_path_join(opt->dir, OSP_PART_QUARANTINE_DIR);
    int rc = s->dir && s->qdir && s->cctx ? 0 : OSP_ENOMEM;
    if (rc == 0 && (rc = osp_mkdirs(s->dir, MOD)) == 0 &&
        (rc = osp_partdir_make_dir(s->qdir, MOD)) == 0)
        rc = osp_partdir_scan(s->dir, NULL, WHAT, MOD, open_one, s);
    if (rc == 0)
        rc = replay_all(s);
    if (rc) {
        osp_error(MOD, "opening the AI call index in %s: %s", opt->dir, osp_strerror(rc));
        osp_aicalls_close(s);
        return rc;
    }
    if (s->ix.nrecs)
        osp_info(MOD, "indexed %zu AI call records from %zu segments (%zu MiB)", s->ix.nrecs,
                 s->nsegs, index_bytes(&s->ix) >> 20);
    *out = s;
    return 0;
}

uint64_t osp_aicalls_indexed_from(osp_aicalls *s)
{
    return __atomic_load_n(&s->indexed_from, __ATOMIC_RELAXED);
}

size_t osp_aicalls_count(osp_aicalls *s)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t n = s->ix.nrecs;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

/* ---- writing ---- */

/* Starts a new segment for day (under wmu): file, header, and its entry in segs. */
static int start_segment(osp_aicalls *s, uint32_t day)
{
    char *tmp = NULL, *path = NULL;
    uint8_t h[OSP_AICSEG_HEADER_SIZE];
    int rc = osp_partdir_new_part(s->dir, day, s->next_seq, &tmp, &path, MOD);
    int wfd = -1, rfd = -1;
    if (rc == 0 && ((wfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0 ||
                    (rfd = open(path, O_RDONLY | O_CLOEXEC)) < 0))
        rc = OSP_EIO;
    osp_aicseg_header(h);
    if (rc == 0 && osp_write_all(wfd, h, sizeof h))
        rc = OSP_EIO;
    if (rc == 0)
        (void)osp_fsync_dir(s->dir);
    pthread_rwlock_wrlock(&s->lock);
    if (rc == 0 && !add_seg(s, path, day, s->next_seq, rfd))
        rc = OSP_ENOMEM;
    pthread_rwlock_unlock(&s->lock);
    if (rc) {
        if (rc == OSP_EIO)
            osp_error(MOD, "creating a segment for day %u failed", day);
        if (wfd >= 0) {
            close(wfd);
            (void)unlink(path);
        }
        if (rfd >= 0)
            close(rfd);
        osp_free(path);
    } else {
        if (s->wfd >= 0)
            close(s->wfd);
        s->wfd = wfd;
        s->wseg = (uint32_t)(s->nsegs - 1);
        s->wsize = sizeof h;
    }
    osp_free(tmp);
    return rc;
}

/* fsync as the policy says (under wmu). */
static void sync_writer(osp_aicalls *s)
{
    int64_t now = osp_clock_ms(CLOCK_MONOTONIC);
    if (s->fsync_policy == OSP_FSYNC_NEVER ||
        (s->fsync_policy == OSP_FSYNC_INTERVAL && now - s->synced_ms < s->fsync_interval_ms))
        return;
    if (fsync(s->wfd))
        osp_warn(MOD, "fsync of the AI call segment failed");
    s->synced_ms = now;
}

/* Where the block of s->raw starting at record offset start ends: it takes records while
 * they fit in OSP_AICSEG_BLOCK_TARGET bytes, and at least one. */
static size_t block_end(const osp_aicalls *s, size_t start)
{
    const uint8_t *raw = (const uint8_t *)s->raw.data;
    size_t end = start;
    while (end < s->raw.len) {
        size_t len = OSP_AICSEG_RECORD_HEAD + osp_get_le32(raw + end);
        if (end > start && end + len - start > OSP_AICSEG_BLOCK_TARGET)
            break;
        end += len;
    }
    return end;
}

/* Packs the records in s->raw into blocks in s->io (under wmu). */
static int pack_blocks(osp_aicalls *s)
{
    int rc = 0;
    osp_buf_reset(&s->io);
    for (size_t start = 0, end; start < s->raw.len && rc == 0; start = end) {
        end = block_end(s, start);
        rc = osp_aicseg_block_pack(s->cctx, s->raw.data + start, end - start, &s->io);
    }
    return rc;
}

/* Indexes the records in s->raw, whose blocks were just written from offset base (under
 * wmu). */
static int index_written(osp_aicalls *s, const osp_aicall *calls, uint64_t base)
{
    int rc = 0;
    size_t i = 0, io_at = 0;
    pthread_rwlock_wrlock(&s->lock);
    for (size_t start = 0, end; start < s->raw.len && rc == 0; start = end) {
        end = block_end(s, start);
        uint32_t framed = OSP_AICSEG_BLOCK_HEAD + osp_get_le32((const uint8_t *)s->io.data + io_at);
        loc where = {.off = base + io_at, .len = framed, .seg = s->wseg};
        for (size_t at = start; at < end && rc == 0; i++) {
            where.in_block = (uint32_t)(at - start);
            rc = index_record(&s->ix, &calls[i], &where);
            at += OSP_AICSEG_RECORD_HEAD + osp_get_le32((const uint8_t *)s->raw.data + at);
        }
        io_at += framed;
    }
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

int osp_aicalls_append(osp_aicalls *s, const osp_aicall *calls, size_t n)
{
    int rc = 0;
    if (!n)
        return 0;
    uint32_t day = (uint32_t)(osp_clock_ns(CLOCK_REALTIME) / OSP_PART_NS_PER_DAY);
    pthread_mutex_lock(&s->wmu);
    osp_buf_reset(&s->raw);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = osp_aicseg_encode(&calls[i], &s->raw);
    if (rc == 0)
        rc = pack_blocks(s);
    if (rc == 0 && (s->wseg == NO_SEG || s->segs[s->wseg].day != day))
        rc = start_segment(s, day);
    if (rc)
        goto out;
    if (osp_write_all(s->wfd, s->io.data, s->io.len)) {
        osp_error(MOD, "writing AI call records to %s failed", s->segs[s->wseg].path);
        if (ftruncate(s->wfd, (off_t)s->wsize))
            osp_error(MOD, "cutting back %s failed", s->segs[s->wseg].path);
        rc = OSP_EIO;
        goto out;
    }
    uint64_t base = s->wsize;
    s->wsize += s->io.len;
    sync_writer(s);
    rc = index_written(s, calls, base);
out:
    if (s->raw.cap > READ_CHUNK) { /* a large append does not pin its buffers */
        osp_buf_cleanup(&s->raw);
        osp_buf_init(&s->raw, 0);
        osp_buf_cleanup(&s->io);
        osp_buf_init(&s->io, 0);
    }
    pthread_mutex_unlock(&s->wmu);
    return rc;
}

/* ---- reading ---- */

/* Trace group ids, collected for a query. */
typedef struct idlist {
    uint32_t *ids;
    size_t n, cap;
} idlist;

static int idlist_add(idlist *l, uint32_t id)
{
    uint32_t *slot = osp_array_push((void **)&l->ids, &l->n, &l->cap, sizeof *slot);
    if (!slot)
        return OSP_ENOMEM;
    *slot = id;
    return 0;
}

/* Appends the traces of group gid. */
static int add_traces_in(const aic_index *ix, uint32_t gid, idlist *l)
{
    const group *g = &ix->groups[gid];
    int rc = 0;
    for (uint32_t i = 0; i < g->n && rc == 0; i++)
        rc = idlist_add(l, g->ids[i]);
    return rc;
}

/* Appends the traces of group (kind, key), when it exists. */
static int add_traces_of(const aic_index *ix, int kind, osp_str key, idlist *l)
{
    uint32_t gid;
    return group_find(ix, kind, key, &gid) ? add_traces_in(ix, gid, l) : 0;
}

static int cmp_u32(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    return a < b ? -1 : a > b;
}

/* The traces of user's records, and every trace of the sessions those records name (each
 * session once, however many of the user's traces name it). */
static int add_user_traces(const aic_index *ix, osp_str user, idlist *l)
{
    idlist sessions = {0};
    int rc = add_traces_of(ix, K_USER, user, l);
    for (size_t i = 0, ntraces = l->n; i < ntraces && rc == 0; i++) {
        const group *t = &ix->groups[l->ids[i]];
        for (uint32_t k = 0; k < t->n && rc == 0; k++) {
            osp_str session = str_of(ix, ix->recs[t->ids[k]].strs[OSP_AS_SESSION]);
            uint32_t sid;
            if (session.n && group_find(ix, K_SESSION, session, &sid) &&
                (!sessions.n || sessions.ids[sessions.n - 1] != sid))
                rc = idlist_add(&sessions, sid);
        }
    }
    if (sessions.n > 1)
        qsort(sessions.ids, sessions.n, sizeof *sessions.ids, cmp_u32);
    for (size_t i = 0; i < sessions.n && rc == 0; i++)
        if (!i || sessions.ids[i] != sessions.ids[i - 1])
            rc = add_traces_in(ix, sessions.ids[i], l);
    osp_free(sessions.ids);
    return rc;
}

/* The candidate traces of q, before the time range. */
static int candidates(const aic_index *ix, const osp_aicall_query *q, idlist *l)
{
    uint32_t gid;
    if (q->trace_id)
        return group_find(ix, K_TRACE, osp_str_make((const char *)q->trace_id, 16), &gid)
                   ? idlist_add(l, gid)
                   : 0;
    if (q->session.n)
        return add_traces_of(ix, K_SESSION, q->session, l);
    if (q->nsessions) {
        int rc = 0;
        for (size_t i = 0; i < q->nsessions && rc == 0; i++)
            rc = add_traces_of(ix, K_SESSION, q->sessions[i], l);
        return rc;
    }
    if (q->user.n)
        return add_user_traces(ix, q->user, l);
    if (q->nusers) {
        int rc = 0;
        for (size_t i = 0; i < q->nusers && rc == 0; i++)
            rc = add_traces_of(ix, K_USER, q->users[i], l);
        return rc;
    }
    if (q->agent.n)
        return add_traces_of(ix, K_AGENT, q->agent, l);
    int rc = 0;
    for (size_t i = 0; i < ix->ngroups && rc == 0; i++)
        if (ix->groups[i].kind == K_TRACE)
            rc = idlist_add(l, (uint32_t)i);
    return rc;
}

static int cmp_trace(const void *pa, const void *pb, void *ctx)
{
    const aic_index *ix = ctx;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    uint64_t fa = ix->groups[a].first, fb = ix->groups[b].first;
    if (fa != fb)
        return fa < fb ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* Drops the traces outside q's range, then sorts the rest by first start and drops
 * duplicates. */
static void settle(const aic_index *ix, const osp_aicall_query *q, idlist *l)
{
    uint64_t end = q->end_ns ? q->end_ns : UINT64_MAX;
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        const group *g = &ix->groups[l->ids[i]];
        if (g->first <= end && g->last >= q->start_ns)
            l->ids[k++] = l->ids[i];
    }
    l->n = k;
    if (l->n > 1)
        qsort_r(l->ids, l->n, sizeof *l->ids, cmp_trace, (void *)ix);
    k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (!k || l->ids[k - 1] != l->ids[i])
            l->ids[k++] = l->ids[i];
    l->n = k;
}

static int cmp_call(const void *pa, const void *pb)
{
    const osp_aicall *a = pa, *b = pb;
    if (a->start_ns != b->start_ns)
        return a->start_ns < b->start_ns ? -1 : 1;
    return memcmp(a->span_id, b->span_id, 8);
}

/* The block last read for texts, kept for the next record of the same block. */
typedef struct text_cache {
    uint32_t seg;
    uint64_t off; /* of the block held; UINT64_MAX for none */
    uint8_t *raw;
    size_t rawlen;
    ZSTD_DCtx *dctx; /* taken at the first block (osp_blockfile_dctx_take) */
} text_cache;

static void text_cache_cleanup(text_cache *c)
{
    osp_free(c->raw);
    osp_blockfile_dctx_give(c->dctx);
}

/* Decodes r's record into *a, its strings pointing into memory that stays valid until the
 * cache's next use or buf is freed (*buf: the caller frees). */
static int read_record(const osp_aicalls *s, const rec *r, text_cache *c, uint8_t **buf,
                       osp_aicall *a)
{
    const loc *w = &r->at;
    size_t used, rawlen;
    uint8_t *raw;
    if (s->segs[w->seg].version != 1 && c->off == w->off && c->seg == w->seg)
        return osp_aicseg_decode(c->raw + w->in_block, c->rawlen - w->in_block, a, &used);
    if (!(*buf = osp_malloc(w->len)))
        return OSP_ENOMEM;
    if (pread(s->segs[w->seg].fd, *buf, w->len, (off_t)w->off) != (ssize_t)w->len)
        return OSP_EIO;
    if (s->segs[w->seg].version == 1)
        return osp_aicseg_decode_v1(*buf, w->len, a, &used);
    if (!c->dctx && !(c->dctx = osp_blockfile_dctx_take()))
        return OSP_ENOMEM;
    int rc = osp_aicseg_block_unpack(c->dctx, *buf, w->len, &raw, &rawlen, &used);
    if (rc)
        return rc;
    osp_free(c->raw);
    *c = (text_cache){.seg = w->seg, .off = w->off, .raw = raw, .rawlen = rawlen, .dctx = c->dctx};
    return osp_aicseg_decode(raw + w->in_block, rawlen - w->in_block, a, &used);
}

/* Reads r's texts from its segment into out (copies in arena). */
static int read_texts(const osp_aicalls *s, const rec *r, text_cache *c, osp_arena *arena,
                      osp_aicall *out)
{
    uint8_t *buf = NULL;
    osp_aicall a;
    int rc = read_record(s, r, c, &buf, &a);
    if (rc && rc != OSP_ENOMEM)
        rc = OSP_EIO; /* verified at replay: the file changed under us */
    if (rc == 0) {
        out->input_text = osp_arena_strdup(arena, a.input_text);
        out->output_text = osp_arena_strdup(arena, a.output_text);
        if ((a.input_text.n && !out->input_text.p) || (a.output_text.n && !out->output_text.p))
            rc = OSP_ENOMEM;
    }
    osp_free(buf);
    return rc;
}

/* A copy of r's record in out, strings in arena. */
static int copy_call(const osp_aicalls *s, const rec *r, text_cache *texts, osp_arena *arena,
                     osp_aicall *out)
{
    osp_str *str[OSP_AICALL_NSTRS];
    rec_expand(&s->ix, r, out);
    osp_aicall_strs(out, str);
    for (int i = 0; i < OSP_AICALL_NNAMES; i++) {
        if (!str[i]->n)
            continue;
        if (!(*str[i] = osp_arena_strdup(arena, *str[i])).p)
            return OSP_ENOMEM;
    }
    return texts ? read_texts(s, r, texts, arena, out) : 0;
}

/* The records of traces l into an array in arena. */
static int emit(const osp_aicalls *s, const osp_aicall_query *q, const idlist *l, osp_arena *arena,
                osp_aicall **out, size_t *nout)
{
    const aic_index *ix = &s->ix;
    size_t total = 0, max = q->max_records ? q->max_records : DEFAULT_MAX_RECORDS, k = 0;
    for (size_t i = 0; i < l->n; i++)
        total += ix->groups[l->ids[i]].n;
    if (total > max)
        return OSP_ETOOBIG;
    osp_aicall *calls = total ? osp_arena_alloc(arena, total * sizeof *calls) : NULL;
    if (total && !calls)
        return OSP_ENOMEM;
    int rc = 0;
    text_cache texts = {.off = UINT64_MAX};
    for (size_t i = 0; i < l->n && rc == 0; i++) {
        const group *g = &ix->groups[l->ids[i]];
        size_t from = k;
        for (uint32_t j = 0; j < g->n && rc == 0; j++)
            rc = copy_call(s, &ix->recs[g->ids[j]], q->with_text ? &texts : NULL, arena,
                           &calls[k++]);
        if (k - from > 1)
            qsort(calls + from, k - from, sizeof *calls, cmp_call);
    }
    text_cache_cleanup(&texts);
    *out = calls;
    *nout = rc ? 0 : total;
    return rc;
}

int osp_aicalls_select(osp_aicalls *s, const osp_aicall_query *q, osp_arena *arena,
                       osp_aicall **out, size_t *n)
{
    idlist l = {0};
    *out = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&s->lock);
    int rc = candidates(&s->ix, q, &l);
    if (rc == 0) {
        settle(&s->ix, q, &l);
        rc = emit(s, q, &l, arena, out, n);
    }
    pthread_rwlock_unlock(&s->lock);
    osp_free(l.ids);
    return rc;
}

/* 1 when record a comes before b (start, then span id). */
static int call_before(const osp_aicall *a, const osp_aicall *b)
{
    return a->start_ns != b->start_ns ? a->start_ns < b->start_ns
                                      : memcmp(a->span_id, b->span_id, 8) < 0;
}

static int cmp_call_ptr(const void *pa, const void *pb)
{
    return cmp_call(*(const osp_aicall *const *)pa, *(const osp_aicall *const *)pb);
}

/* Sorts calls[0..n) by start: in place when few (most traces), else qsort. */
static void sort_calls(const osp_aicall **calls, size_t n)
{
    if (n > 64) {
        qsort(calls, n, sizeof *calls, cmp_call_ptr);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        const osp_aicall *x = calls[i];
        size_t k = i;
        for (; k > 0 && call_before(x, calls[k - 1]); k--)
            calls[k] = calls[k - 1];
        calls[k] = x;
    }
}

/* How far ahead of its turn a scan fetches a trace's parts, in traces: its group, then its
 * record ids, then (up to SCAN_AHEAD_MAX_RECORDS of) its records, then the table slots of their
 * session and user ids (the strings with many values; the others stay cached). Each fetch
 * needs the one before it in memory, and the index is far larger than the caches, so
 * without this every record costs a few misses one after the other; with it the misses of
 * several traces overlap. */
#define SCAN_AHEAD_GROUP 12
#define SCAN_AHEAD_IDS 6
#define SCAN_AHEAD_RECORDS 3
#define SCAN_AHEAD_STRS 1
#define SCAN_AHEAD_MAX_RECORDS 64

static inline __attribute__((always_inline)) void prefetch_str(const aic_index *ix, uint32_t id1)
{
    if (id1)
        __builtin_prefetch(&ix->strs.strs[id1 - 1]);
}

/* Inlined by force: GCC takes a function of prefetches alone for pure and drops its calls. */
static inline __attribute__((always_inline)) void scan_prefetch(const aic_index *ix,
                                                                const idlist *l, size_t i)
{
    if (i + SCAN_AHEAD_GROUP < l->n)
        __builtin_prefetch(&ix->groups[l->ids[i + SCAN_AHEAD_GROUP]]);
    if (i + SCAN_AHEAD_IDS < l->n)
        __builtin_prefetch(ix->groups[l->ids[i + SCAN_AHEAD_IDS]].ids);
    if (i + SCAN_AHEAD_RECORDS < l->n) {
        const group *g = &ix->groups[l->ids[i + SCAN_AHEAD_RECORDS]];
        for (uint32_t j = 0; j < g->n && j < SCAN_AHEAD_MAX_RECORDS; j++) {
            const char *r = (const char *)&ix->recs[g->ids[j]];
            for (size_t off = 0; off < offsetof(rec, at); off += 64) /* what rec_expand reads */
                __builtin_prefetch(r + off);
            __builtin_prefetch(r + offsetof(rec, at) - 1);
        }
    }
    if (i + SCAN_AHEAD_STRS < l->n) {
        const group *g = &ix->groups[l->ids[i + SCAN_AHEAD_STRS]];
        for (uint32_t j = 0; j < g->n && j < SCAN_AHEAD_MAX_RECORDS; j++) {
            const rec *r = &ix->recs[g->ids[j]];
            prefetch_str(ix, r->strs[OSP_AS_SESSION]);
            prefetch_str(ix, r->strs[OSP_AS_USER]);
        }
    }
}

int osp_aicalls_scan(osp_aicalls *s, const osp_aicall_query *q, osp_aicall_trace_fn fn, void *ctx)
{
    idlist l = {0};
    const osp_aicall **calls = NULL;
    osp_aicall *vals = NULL;
    size_t cap = 0;
    pthread_rwlock_rdlock(&s->lock);
    int rc = candidates(&s->ix, q, &l);
    if (rc == 0)
        settle(&s->ix, q, &l);
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        const group *g = &s->ix.groups[l.ids[i]];
        scan_prefetch(&s->ix, &l, i);
        if (g->n > cap) {
            const osp_aicall **more = osp_realloc(calls, g->n * sizeof *calls);
            osp_aicall *more_vals = more ? osp_realloc(vals, g->n * sizeof *vals) : NULL;
            calls = more ? more : calls;
            vals = more_vals ? more_vals : vals;
            if (!more_vals) {
                rc = OSP_ENOMEM;
                break;
            }
            cap = g->n;
        }
        for (uint32_t j = 0; j < g->n; j++) {
            rec_expand(&s->ix, &s->ix.recs[g->ids[j]], &vals[j]);
            calls[j] = &vals[j];
        }
        sort_calls(calls, g->n);
        rc = fn(ctx, calls, g->n);
    }
    if (rc == 0)
        rc = fn(ctx, NULL, 0);
    pthread_rwlock_unlock(&s->lock);
    osp_free(calls);
    osp_free(vals);
    osp_free(l.ids);
    return rc;
}

int osp_aicalls_bounds(osp_aicalls *s, enum osp_aicall_key key, uint64_t start_ns, uint64_t end_ns,
                       osp_arena *arena, osp_aicall_bound **out, size_t *n)
{
    const aic_index *ix = &s->ix;
    uint64_t end = end_ns ? end_ns : UINT64_MAX;
    int kind = key == OSP_AICALL_USERS ? K_USER : K_SESSION;
    osp_aicall_bound *b = NULL;
    size_t k = 0;
    int rc = 0;
    *out = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&s->lock);
    size_t ngroups = 0;
    for (size_t i = 0; i < ix->ngroups; i++)
        ngroups += ix->groups[i].kind == kind;
    if (ngroups && !(b = osp_arena_alloc(arena, ngroups * sizeof *b)))
        rc = OSP_ENOMEM;
    for (size_t i = 0; i < ix->ngroups && rc == 0; i++) {
        const group *g = &ix->groups[i];
        if (g->kind != kind)
            continue;
        uint64_t last_end = 0;
        int in_range = 0;
        for (uint32_t t = 0; t < g->n; t++) {
            const group *trace = &ix->groups[g->ids[t]];
            if (trace->first > end || trace->last < start_ns)
                continue; /* no record starts in the range: its ends bound nothing */
            in_range = 1;
            last_end = trace->end > last_end ? trace->end : last_end;
        }
        if (!in_range)
            continue;
        osp_str gkey = ix->keys.strs[i]; /* the kind byte, then the id */
        b[k].id = osp_arena_strdup(arena, osp_str_make(gkey.p + 1, gkey.n - 1));
        b[k].last_ns = last_end;
        if (!b[k++].id.p)
            rc = OSP_ENOMEM;
    }
    pthread_rwlock_unlock(&s->lock);
    *out = rc ? NULL : b;
    *n = rc ? 0 : k;
    return rc;
}

/* ---- retention ---- */

static int expired(const osp_aicalls *s, uint32_t day, uint64_t now_ns)
{
    return s->retention_ns && ((uint64_t)day + 1) * OSP_PART_NS_PER_DAY + s->retention_ns <= now_ns;
}

/* The index of the records whose segments stay, with segment indexes renumbered by
 * newseg (NO_SEG: dropped). */
static int rebuild(const aic_index *old, const uint32_t *newseg, aic_index *ix)
{
    int rc = 0;
    index_init(ix);
    for (size_t i = 0; i < old->nrecs && rc == 0; i++) {
        const rec *r = &old->recs[i];
        loc where = r->at;
        osp_aicall a;
        where.seg = newseg[r->at.seg];
        if (where.seg == NO_SEG)
            continue;
        rec_expand(old, r, &a);
        rc = index_record(ix, &a, &where);
    }
    if (rc)
        index_cleanup(ix);
    return rc;
}

/* day_used for osp_partdir_remove_empty_days (under wmu). */
static int day_used(void *ctx, uint32_t day)
{
    const osp_aicalls *s = ctx;
    for (size_t i = 0; i < s->nsegs; i++)
        if (s->segs[i].day == day)
            return 1;
    return 0;
}

/* Drops the expired segments and their records (under wmu). 1 when some were dropped. */
static int drop_expired(osp_aicalls *s, uint64_t now_ns, int *rc)
{
    size_t ndrop = 0;
    uint32_t *newseg = osp_malloc((s->nsegs + 1) * sizeof *newseg);
    aic_index ix;
    *rc = newseg ? 0 : OSP_ENOMEM;
    for (size_t i = 0; newseg && i < s->nsegs; i++)
        newseg[i] = expired(s, s->segs[i].day, now_ns) ? (ndrop++, NO_SEG) : (uint32_t)(i - ndrop);
    if (*rc || !ndrop || (*rc = rebuild(&s->ix, newseg, &ix)) != 0) {
        osp_free(newseg);
        return 0;
    }
    pthread_rwlock_wrlock(&s->lock);
    index_cleanup(&s->ix);
    s->ix = ix;
    for (size_t i = 0; i < s->nsegs; i++) {
        if (newseg[i] == NO_SEG)
            close_seg(&s->segs[i], 1);
        else
            s->segs[newseg[i]] = s->segs[i];
    }
    if (s->wseg != NO_SEG && newseg[s->wseg] == NO_SEG) {
        close(s->wfd);
        s->wfd = -1;
    }
    s->wseg = s->wseg == NO_SEG ? NO_SEG : newseg[s->wseg];
    s->nsegs -= ndrop;
    pthread_rwlock_unlock(&s->lock);
    osp_free(newseg);
    return 1;
}

/* The oldest and newest days in the index (under wmu). 0 when it holds none. */
static int resident_days(const osp_aicalls *s, uint32_t *oldest, uint32_t *newest)
{
    int any = 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        const seg *g = &s->segs[i];
        if (!g->resident)
            continue;
        *oldest = !any || g->day < *oldest ? g->day : *oldest;
        *newest = !any || g->day > *newest ? g->day : *newest;
        any = 1;
    }
    return any;
}

/* Takes the records of day out of the index; its segments stay (under wmu). */
static int leave_out(osp_aicalls *s, uint32_t day)
{
    uint32_t *keep = osp_malloc((s->nsegs + 1) * sizeof *keep);
    aic_index ix;
    if (!keep)
        return OSP_ENOMEM;
    for (size_t i = 0; i < s->nsegs; i++)
        keep[i] = s->segs[i].resident && s->segs[i].day != day ? (uint32_t)i : NO_SEG;
    int rc = rebuild(&s->ix, keep, &ix);
    if (rc == 0) {
        pthread_rwlock_wrlock(&s->lock);
        index_cleanup(&s->ix);
        s->ix = ix;
        for (size_t i = 0; i < s->nsegs; i++)
            s->segs[i].resident = keep[i] != NO_SEG;
        pthread_rwlock_unlock(&s->lock);
    }
    osp_free(keep);
    return rc;
}

/* Leaves the oldest days out of the index while it is over its memory budget, the newest
 * day and the writer's always kept (under wmu). 1 when some were left out. */
static int fit_budget(osp_aicalls *s, int *rc)
{
    uint32_t oldest = 0, newest = 0;
    int left = 0;
    while (*rc == 0 && s->memory_bytes && index_bytes(&s->ix) > s->memory_bytes &&
           resident_days(s, &oldest, &newest) && oldest != newest &&
           (s->wseg == NO_SEG || s->segs[s->wseg].day != oldest))
        left = (*rc = leave_out(s, oldest)) == 0;
    return left;
}

int osp_aicalls_maintain(osp_aicalls *s, uint64_t now_ns)
{
    int rc, fit_rc = 0;
    pthread_mutex_lock(&s->wmu);
    int dropped = drop_expired(s, now_ns, &rc);
    int left = fit_budget(s, &fit_rc);
    if (dropped || left)
        note_indexed_from(s);
    pthread_mutex_unlock(&s->wmu);
    if (left)
        warn_left_out(s, "memory");
    if (dropped)
        osp_partdir_remove_empty_days(s->dir, &s->wmu, day_used, s, MOD);
    return rc ? rc : fit_rc;
}
