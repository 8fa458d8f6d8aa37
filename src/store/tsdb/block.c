/* Block files of the time-series engine: writer (format 03) and verified, mmap-backed reader
 * (formats 03 and 02). */
#define XXH_STATIC_LINKING_ONLY
#include "store/tsdb/block.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "core/buf.h"
#include "core/checksum.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/intern.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/pb.h"
#include "model/series.h"
#include "store/tsdb/chunk.h"
#include "store/tsdb/hchunk.h"

#define MOD "tsdb"

#define ZSTD_LEVEL 3
#define ENTRY_MAX (10 + OSP_BLOCK_MAX_LABELS * 10 + 8 * 10 + 8) /* one series entry */

/* Footer fields, as byte offsets into the footer (README.md). */
enum {
    F_COFF = 0,
    F_CLEN = 8,
    F_CSUM = 16,
    F_YOFF = 24,
    F_YLEN = 32,
    F_YSUM = 40,
    F_YRAW = 48,
    F_NSYM = 56,
    F_SOFF = 64,
    F_SLEN = 72,
    F_SSUM = 80,
    F_SRAW = 88,
    F_NSERIES = 96,
    F_NSAMPLES = 104,
    F_MINT = 112,
    F_MAXT = 120,
    F_LSN = 128,
    F_AGE = 136,
    F_NREP = 144,
    F_SUM = 152,
    F_MAGIC = 160
};

typedef struct sym {
    uint32_t off, len; /* of the string's bytes in the decoded table */
} sym;

struct osp_block {
    uint8_t *map;
    size_t size;
    int version; /* 2 or 3, from the magic */
    osp_block_info info;
    uint64_t replaces[OSP_BLOCK_MAX_REPLACES];
    osp_block_series *series;
    osp_buf symtab; /* decoded symbol table */
    sym *syms;
    uint64_t nsyms;
    osp_buf refs;          /* per series its (name, value) symbol references, varints */
    osp_block_hist *hists; /* the series that have histograms, ascending by series */
    size_t nhists, hists_cap;
};

/* The zstd frames of one compressed section being written. */
typedef struct framer {
    osp_buf raw;    /* the frame being filled (< OSP_BLOCK_FRAME_MAX bytes) */
    osp_buf z;      /* its compressed form */
    uint64_t total; /* decoded bytes of the section so far */
} framer;

struct osp_block_writer {
    FILE *f;
    char *path;
    uint64_t off;      /* bytes written so far */
    XXH64_state_t sum; /* of the section being written */
    osp_buf entries;   /* series entries with interned ids, encoded at finish */
    osp_buf chunk;     /* one chunk being framed */
    osp_chunk_appender app;
    osp_hchunk_writer hw; /* the histogram chunk being filled */
    osp_buf hrec;         /* one encoded histogram */
    osp_intern in;        /* every distinct label name and value, copied */
    uint64_t sym_bytes;   /* their total length */
    ZSTD_CCtx *cctx;
    framer fr;
    uint64_t nseries, nsamples;
    int64_t mint, maxt;
};

/* ==== Reader ============================================================================ */

/* Decodes the next frame of a section at r, appending it to out. */
static int read_frame(ZSTD_DCtx *d, osp_pb_reader *r, osp_buf *out)
{
    uint64_t raw, zlen;
    int rc;
    if (osp_pb_read_varint(r, &raw) || raw == 0 || raw > OSP_BLOCK_FRAME_MAX ||
        osp_pb_read_varint(r, &zlen) || zlen > (uint64_t)(r->end - r->p) ||
        ZSTD_getFrameContentSize(r->p, (size_t)zlen) != raw)
        return OSP_ECORRUPT;
    if ((rc = osp_buf_reserve(out, (size_t)raw)) != 0)
        return rc == OSP_ETOOBIG ? OSP_ECORRUPT : rc;
    size_t n = ZSTD_decompressDCtx(d, out->data + out->len, (size_t)raw, r->p, (size_t)zlen);
    if (ZSTD_isError(n) || n != raw)
        return OSP_ECORRUPT;
    out->len += n;
    r->p += zlen;
    return 0;
}

/* Decodes the symbol table (every frame of the section) and indexes its strings, checking
 * they are non-empty and strictly ascending. */
static int parse_symbols(osp_block *b, ZSTD_DCtx *d, const uint8_t *f)
{
    uint64_t raw = osp_get_le64(f + F_YRAW), nsyms = osp_get_le64(f + F_NSYM);
    osp_pb_reader r =
        osp_pb_reader_make(b->map + osp_get_le64(f + F_YOFF), (size_t)osp_get_le64(f + F_YLEN));
    int rc;
    if (raw > OSP_BLOCK_MAX_SYMBOL_BYTES || nsyms > raw / 2 || (raw == 0) != (r.p == r.end))
        return OSP_ECORRUPT;
    osp_buf_init(&b->symtab, (size_t)raw);
    while (r.p < r.end)
        if ((rc = read_frame(d, &r, &b->symtab)) != 0)
            return rc;
    if (b->symtab.len != raw)
        return OSP_ECORRUPT;
    b->syms = osp_malloc((nsyms ? nsyms : 1) * sizeof *b->syms);
    if (!b->syms)
        return OSP_ENOMEM;
    r = osp_pb_reader_make(b->symtab.data, b->symtab.len);
    for (b->nsyms = 0; b->nsyms < nsyms; b->nsyms++) {
        uint64_t n;
        if (osp_pb_read_varint(&r, &n) || n == 0 || n > (uint64_t)(r.end - r.p))
            return OSP_ECORRUPT;
        sym *y = &b->syms[b->nsyms];
        *y = (sym){(uint32_t)(r.p - (const uint8_t *)b->symtab.data), (uint32_t)n};
        r.p += n;
        if (b->nsyms && osp_str_cmp(osp_str_make(b->symtab.data + y[-1].off, y[-1].len),
                                    osp_str_make(b->symtab.data + y->off, y->len)) >= 0)
            return OSP_ECORRUPT;
    }
    return r.p == r.end ? 0 : OSP_ECORRUPT;
}

/* Compares two label sets given as (name, value) symbol references; symbols are sorted,
 * so this is osp_labels_compare on the strings. */
static int refs_compare(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    for (size_t i = 0; i < 2 * (na < nb ? na : nb); i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return na < nb ? -1 : na > nb;
}

/* Parses one series entry at r into s, its references into cur (2 * nlabels) and b->refs,
 * its histogram part (format 03) into b->hists; i is its number. *coff is the entry's chunk
 * offset and advances past its chunks. */
static int parse_entry(osp_block *b, osp_pb_reader *r, uint64_t i, osp_block_series *s,
                       uint32_t *cur, uint64_t *coff, uint64_t chunks_off, uint64_t chunks_len)
{
    uint64_t nl, dmint, span, ns, clen, nh = 0, hdmint = 0, hspan = 0, hclen = 0;
    int rc;
    if (osp_pb_read_varint(r, &nl) || nl == 0 || nl > OSP_BLOCK_MAX_LABELS)
        return OSP_ECORRUPT;
    const uint8_t *lab = r->p;
    for (uint64_t j = 0; j < 2 * nl; j++) {
        uint64_t ref;
        if (osp_pb_read_varint(r, &ref) || ref >= b->nsyms)
            return OSP_ECORRUPT;
        cur[j] = (uint32_t)ref;
        if (j % 2 == 0 && j && cur[j - 2] >= cur[j])
            return OSP_ECORRUPT; /* names sorted and unique */
    }
    s->lab_off = b->refs.len;
    s->nlabels = (uint32_t)nl;
    if ((rc = osp_buf_append(&b->refs, lab, (size_t)(r->p - lab))) != 0)
        return rc == OSP_ETOOBIG ? OSP_ECORRUPT : rc;
    if (osp_pb_read_varint(r, &dmint) || osp_pb_read_varint(r, &span) || r->end - r->p < 8)
        return OSP_ECORRUPT;
    s->last_v = osp_get_le64(r->p);
    r->p += 8;
    if (osp_pb_read_varint(r, &ns) || osp_pb_read_varint(r, &clen))
        return OSP_ECORRUPT;
    if (b->version == 3 && osp_pb_read_varint(r, &nh))
        return OSP_ECORRUPT;
    if (nh && (osp_pb_read_varint(r, &hdmint) || osp_pb_read_varint(r, &hspan) ||
               osp_pb_read_varint(r, &hclen)))
        return OSP_ECORRUPT;
    uint64_t width = (uint64_t)b->info.maxt - (uint64_t)b->info.mint;
    if (dmint > width || span > width - dmint || ns > UINT32_MAX || nh > UINT32_MAX ||
        ns + nh == 0 || (ns == 0) != (clen == 0) || clen > chunks_len - *coff)
        return OSP_ECORRUPT;
    /* Histograms lie within the series' range; a series of histograms only spans theirs. */
    if (nh && (hdmint > span || hspan > span - hdmint || hclen == 0 ||
               hclen > chunks_len - *coff - clen || (ns == 0 && (hdmint || hspan != span))))
        return OSP_ECORRUPT;
    s->mint = (int64_t)((uint64_t)b->info.mint + dmint);
    s->maxt = (int64_t)((uint64_t)s->mint + span);
    s->nsamples = (uint32_t)ns;
    s->chunk_off = chunks_off + *coff;
    s->chunk_len = clen;
    *coff += clen;
    if (nh) {
        osp_block_hist *hs =
            osp_array_push((void **)&b->hists, &b->nhists, &b->hists_cap, sizeof *hs);
        if (!hs)
            return OSP_ENOMEM;
        hs->mint = (int64_t)((uint64_t)s->mint + hdmint);
        hs->maxt = (int64_t)((uint64_t)hs->mint + hspan);
        hs->series = (uint32_t)i;
        hs->nsamples = (uint32_t)nh;
        hs->chunk_off = chunks_off + *coff;
        hs->chunk_len = hclen;
        *coff += hclen;
    }
    return 0;
}

/* Decodes the series section frame by frame (entries never cross frames) into b->series
 * and b->refs: bounds, label order and series order. */
static int parse_series(osp_block *b, ZSTD_DCtx *d, const uint8_t *f)
{
    uint64_t chunks_off = osp_get_le64(f + F_COFF), chunks_len = osp_get_le64(f + F_CLEN);
    uint64_t raw = osp_get_le64(f + F_SRAW), total = 0, nsamples = 0, coff = 0, i = 0;
    osp_pb_reader r =
        osp_pb_reader_make(b->map + osp_get_le64(f + F_SOFF), (size_t)osp_get_le64(f + F_SLEN));
    uint32_t refs[2][2 * OSP_BLOCK_MAX_LABELS];
    osp_buf frame;
    int rc;
    if (b->info.nseries > chunks_len || b->info.nseries > raw / 12 ||
        b->info.nseries > UINT32_MAX || (raw == 0) != (r.p == r.end))
        return OSP_ECORRUPT; /* every series has chunk bytes and a 12-byte entry at least */
    osp_buf_init(&b->refs, (size_t)raw); /* a part of the decoded section */
    b->series = osp_calloc(b->info.nseries ? b->info.nseries : 1, sizeof *b->series);
    if (!b->series)
        return OSP_ENOMEM;
    osp_buf_init(&frame, OSP_BLOCK_FRAME_MAX);
    while (r.p < r.end) {
        osp_buf_reset(&frame);
        if ((rc = read_frame(d, &r, &frame)) != 0)
            goto out;
        total += frame.len;
        osp_pb_reader e = osp_pb_reader_make(frame.data, frame.len);
        while (e.p < e.end) {
            osp_block_series *s = &b->series[i];
            uint32_t *cur = refs[i % 2], *prev = refs[(i + 1) % 2];
            rc = OSP_ECORRUPT;
            if (i == b->info.nseries ||
                (rc = parse_entry(b, &e, i, s, cur, &coff, chunks_off, chunks_len)) != 0)
                goto out;
            rc = OSP_ECORRUPT;
            if (i && refs_compare(prev, s[-1].nlabels, cur, s->nlabels) >= 0)
                goto out;
            nsamples += s->nsamples;
            if (b->nhists && b->hists[b->nhists - 1].series == i)
                nsamples += b->hists[b->nhists - 1].nsamples;
            i++;
        }
    }
    rc = i == b->info.nseries && total == raw && coff == chunks_len && nsamples == b->info.nsamples
             ? 0
             : OSP_ECORRUPT;
out:
    osp_buf_cleanup(&frame);
    return rc;
}

/* Checks the footer and the sections it describes. */
static int verify(osp_block *b)
{
    const size_t fl = OSP_BLOCK_FOOTER_LEN;
    if (b->size < OSP_BLOCK_MAGIC_LEN + fl ||
        memcmp(b->map, b->map + b->size - OSP_BLOCK_MAGIC_LEN, OSP_BLOCK_MAGIC_LEN))
        return OSP_ECORRUPT;
    if (!memcmp(b->map, OSP_BLOCK_MAGIC, OSP_BLOCK_MAGIC_LEN))
        b->version = 3;
    else if (!memcmp(b->map, OSP_BLOCK_MAGIC_V2, OSP_BLOCK_MAGIC_LEN))
        b->version = 2;
    else
        return OSP_ECORRUPT;
    const uint8_t *f = b->map + b->size - fl;
    uint64_t nrep = osp_get_le64(f + F_NREP);
    size_t foot_off = b->size - fl;
    if (nrep > OSP_BLOCK_MAX_REPLACES || nrep * 8 > foot_off - OSP_BLOCK_MAGIC_LEN)
        return OSP_ECORRUPT;
    const uint8_t *rep = f - nrep * 8;
    if (!osp_checksum_ok(rep, (size_t)(nrep * 8 + F_SUM), osp_get_le64(f + F_SUM)))
        return OSP_ECORRUPT;
    uint64_t coff = osp_get_le64(f + F_COFF), clen = osp_get_le64(f + F_CLEN);
    uint64_t yoff = osp_get_le64(f + F_YOFF), ylen = osp_get_le64(f + F_YLEN);
    uint64_t soff = osp_get_le64(f + F_SOFF), slen = osp_get_le64(f + F_SLEN);
    uint64_t end = (uint64_t)(rep - b->map);
    if (coff != OSP_BLOCK_MAGIC_LEN || clen > end - coff || yoff != coff + clen ||
        ylen > end - yoff || soff != yoff + ylen || slen != end - soff)
        return OSP_ECORRUPT;
    if (!osp_checksum_ok(b->map + coff, (size_t)clen, osp_get_le64(f + F_CSUM)) ||
        !osp_checksum_ok(b->map + yoff, (size_t)ylen, osp_get_le64(f + F_YSUM)) ||
        !osp_checksum_ok(b->map + soff, (size_t)slen, osp_get_le64(f + F_SSUM)))
        return OSP_ECORRUPT;
    b->info.nseries = osp_get_le64(f + F_NSERIES);
    b->info.nsamples = osp_get_le64(f + F_NSAMPLES);
    b->info.mint = (int64_t)osp_get_le64(f + F_MINT);
    b->info.maxt = (int64_t)osp_get_le64(f + F_MAXT);
    b->info.wal_lsn = osp_get_le64(f + F_LSN);
    b->info.age = osp_get_le64(f + F_AGE);
    b->info.bytes = b->size;
    b->info.nreplaces = (size_t)nrep;
    for (uint64_t i = 0; i < nrep; i++)
        b->replaces[i] = osp_get_le64(rep + 8 * i);
    b->info.replaces = b->replaces;
    if (b->info.mint > b->info.maxt || (b->info.nseries == 0) != (b->info.nsamples == 0))
        return OSP_ECORRUPT;
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d)
        return OSP_ENOMEM;
    /* Frames are at most OSP_BLOCK_FRAME_MAX bytes: refuse windows beyond that. */
    int rc = ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 17)) ? OSP_ENOMEM : 0;
    if (rc == 0 && (rc = parse_symbols(b, d, f)) == 0)
        rc = parse_series(b, d, f);
    ZSTD_freeDCtx(d);
    return rc;
}

int osp_block_open(const char *path, osp_block **out)
{
    struct stat st;
    int rc = OSP_EIO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    osp_block *b = osp_calloc(1, sizeof *b);
    if (!b) {
        rc = OSP_ENOMEM;
        goto out;
    }
    if (fd < 0 || fstat(fd, &st) != 0) {
        osp_error(MOD, "%s: %s", path, strerror(errno));
        goto out;
    }
    b->size = (size_t)st.st_size;
    if (b->size == 0) {
        rc = OSP_ECORRUPT;
        goto out;
    }
    b->map = mmap(NULL, b->size, PROT_READ, MAP_SHARED, fd, 0);
    if (b->map == MAP_FAILED) {
        b->map = NULL;
        osp_error(MOD, "%s: mmap: %s", path, strerror(errno));
        goto out;
    }
    rc = verify(b);
out:
    if (fd >= 0)
        close(fd);
    if (rc) {
        osp_block_close(b);
        return rc;
    }
    *out = b;
    return 0;
}

void osp_block_close(osp_block *b)
{
    if (!b)
        return;
    if (b->map)
        munmap(b->map, b->size);
    osp_free(b->series);
    osp_buf_cleanup(&b->symtab);
    osp_free(b->syms);
    osp_buf_cleanup(&b->refs);
    osp_free(b->hists);
    osp_free(b);
}

const osp_block_info *osp_block_get_info(const osp_block *b)
{
    return &b->info;
}

const osp_block_series *osp_block_get_series(const osp_block *b, size_t i)
{
    return &b->series[i];
}

size_t osp_block_series_labels(const osp_block *b, size_t i, osp_label *out)
{
    const osp_block_series *s = &b->series[i];
    osp_pb_reader r = osp_pb_reader_make(b->refs.data + s->lab_off, b->refs.len - s->lab_off);
    for (uint32_t j = 0; j < s->nlabels; j++) {
        uint64_t name = 0, value = 0;
        int rc = osp_pb_read_varint(&r, &name) | osp_pb_read_varint(&r, &value);
        assert(rc == 0 && name < b->nsyms && value < b->nsyms); /* verified at open */
        (void)rc;
        out[j].name = osp_str_make(b->symtab.data + b->syms[name].off, b->syms[name].len);
        out[j].value = osp_str_make(b->symtab.data + b->syms[value].off, b->syms[value].len);
    }
    return s->nlabels;
}

int osp_block_series_samples(const osp_block *b, size_t i, int64_t mint, int64_t maxt,
                             osp_block_sample_fn fn, void *ctx)
{
    const osp_block_series *s = &b->series[i];
    osp_pb_reader r = osp_pb_reader_make(b->map + s->chunk_off, (size_t)s->chunk_len);
    uint64_t seen = 0;
    int64_t last = 0;
    if (s->maxt < mint || s->mint > maxt)
        return 0;
    while (r.p < r.end) {
        uint64_t len;
        osp_chunk_iter it;
        osp_sample a[OSP_CHUNK_MAX_SAMPLES];
        if (osp_pb_read_varint(&r, &len) || len > (uint64_t)(r.end - r.p))
            return OSP_ECORRUPT;
        osp_chunk_iter_init(&it, r.p, (size_t)len);
        r.p += len;
        size_t n = osp_chunk_iter_read(&it, a, OSP_CHUNK_MAX_SAMPLES);
        for (size_t j = 0; j < n; j++) {
            if ((seen && a[j].t_ms <= last) || a[j].t_ms < s->mint || a[j].t_ms > s->maxt)
                return OSP_ECORRUPT;
            last = a[j].t_ms;
            seen++;
            if (a[j].t_ms < mint)
                continue;
            if (a[j].t_ms > maxt)
                return 0;
            int rc = fn(ctx, a[j].t_ms, a[j].v);
            if (rc)
                return rc;
        }
        if (osp_chunk_iter_err(&it))
            return OSP_ECORRUPT;
    }
    return seen == s->nsamples ? 0 : OSP_ECORRUPT;
}

const osp_block_hist *osp_block_series_hist(const osp_block *b, size_t i)
{
    size_t lo = 0, hi = b->nhists;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b->hists[mid].series == i)
            return &b->hists[mid];
        if (b->hists[mid].series < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int osp_block_series_hsamples(const osp_block *b, size_t i, int64_t mint, int64_t maxt,
                              osp_arena *arena, osp_block_hsample_fn fn, void *ctx)
{
    const osp_block_hist *hs = osp_block_series_hist(b, i);
    if (!hs || hs->maxt < mint || hs->mint > maxt)
        return 0;
    osp_pb_reader r = osp_pb_reader_make(b->map + hs->chunk_off, (size_t)hs->chunk_len);
    uint64_t seen = 0;
    int64_t last = 0;
    while (r.p < r.end) {
        uint64_t len;
        osp_hchunk_iter it;
        const uint8_t *rec;
        size_t rlen;
        int64_t t;
        if (osp_pb_read_varint(&r, &len) || len > (uint64_t)(r.end - r.p))
            return OSP_ECORRUPT;
        osp_hchunk_iter_init(&it, r.p, (size_t)len);
        r.p += len;
        while (osp_hchunk_iter_next(&it, &t, &rec, &rlen)) {
            osp_histogram *h = NULL;
            int rc = 0;
            if ((seen && t <= last) || t < hs->mint || t > hs->maxt)
                return OSP_ECORRUPT;
            last = t;
            seen++;
            if (t < mint)
                continue;
            if (t > maxt)
                return 0;
            if (arena && !(h = osp_arena_alloc(arena, sizeof *h)))
                return OSP_ENOMEM;
            if ((h && (rc = osp_hchunk_decode(rec, rlen, arena, h)) != 0) ||
                (rc = fn(ctx, t, h)) != 0)
                return rc;
        }
        if (osp_hchunk_iter_err(&it))
            return OSP_ECORRUPT;
    }
    return seen == hs->nsamples ? 0 : OSP_ECORRUPT;
}

/* ==== Writer ============================================================================ */

int osp_block_writer_create(const char *tmp_path, osp_block_writer **out)
{
    osp_block_writer *w = osp_calloc(1, sizeof *w);
    if (!w || !(w->path = osp_strdup(tmp_path)) || !(w->cctx = ZSTD_createCCtx())) {
        if (w)
            osp_free(w->path);
        osp_free(w);
        return OSP_ENOMEM;
    }
    osp_buf_init(&w->entries, 0);
    osp_buf_init(&w->chunk, 0);
    osp_buf_init(&w->hrec, 0);
    osp_hchunk_writer_init(&w->hw);
    osp_intern_init(&w->in, 1);
    osp_buf_init(&w->fr.raw, 0);
    osp_buf_init(&w->fr.z, 0);
    osp_chunk_appender_init(&w->app, 0, 0);
    XXH64_reset(&w->sum, 0);
    w->f = fopen(tmp_path, "wbe");
    if (!w->f || fwrite(OSP_BLOCK_MAGIC, 1, OSP_BLOCK_MAGIC_LEN, w->f) != OSP_BLOCK_MAGIC_LEN) {
        osp_error(MOD, "%s: %s", tmp_path, strerror(errno));
        osp_block_writer_abort(w);
        return OSP_EIO;
    }
    w->off = OSP_BLOCK_MAGIC_LEN;
    *out = w;
    return 0;
}

void osp_block_writer_abort(osp_block_writer *w)
{
    if (!w)
        return;
    if (w->f) {
        fclose(w->f);
        unlink(w->path);
    }
    osp_buf_cleanup(&w->entries);
    osp_buf_cleanup(&w->chunk);
    osp_buf_cleanup(&w->hrec);
    osp_hchunk_writer_cleanup(&w->hw);
    osp_buf_cleanup(&w->fr.raw);
    osp_buf_cleanup(&w->fr.z);
    osp_intern_cleanup(&w->in);
    ZSTD_freeCCtx(w->cctx);
    osp_free(w->path);
    osp_free(w);
}

/* Writes n bytes, adding them to the running section checksum. */
static int write_out(osp_block_writer *w, const void *p, size_t n)
{
    if (fwrite(p, 1, n, w->f) != n) {
        osp_error(MOD, "%s: write: %s", w->path, strerror(errno));
        return OSP_EIO;
    }
    XXH64_update(&w->sum, p, n);
    w->off += n;
    return 0;
}

/* Frames the appender's chunk (uvarint length + bytes) into the chunk section. */
static int emit_chunk(osp_block_writer *w)
{
    int rc;
    osp_buf_reset(&w->chunk);
    if ((rc = osp_pb_put_varint(&w->chunk, osp_chunk_appender_size(&w->app))) ||
        (rc = osp_chunk_appender_finish(&w->app, &w->chunk)))
        return rc;
    return write_out(w, w->chunk.data, w->chunk.len);
}

/* Writes the histogram chunk being filled (uvarint length + bytes) and empties it. */
static int emit_hchunk(osp_block_writer *w)
{
    uint8_t len[10];
    int rc;
    if ((rc = write_out(w, len, osp_pb_encode_varint(len, w->hw.b.len))) == 0)
        rc = write_out(w, w->hw.b.data, w->hw.b.len);
    osp_hchunk_writer_reset(&w->hw);
    return rc;
}

/* Writes the chunks of float samples s[0..n). */
static int write_float_chunks(osp_block_writer *w, const osp_sample *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = osp_chunk_append(&w->app, s[i].t_ms, s[i].v);
        if (rc == OSP_ETOOBIG && (rc = emit_chunk(w)) == 0)
            rc = osp_chunk_append(&w->app, s[i].t_ms, s[i].v);
    }
    return rc == 0 && n ? emit_chunk(w) : rc;
}

/* Writes the chunks of histogram samples hs[0..nh). */
static int write_hist_chunks(osp_block_writer *w, const osp_hsample *hs, size_t nh)
{
    int rc = 0;
    for (size_t i = 0; i < nh && rc == 0; i++) {
        osp_buf_reset(&w->hrec);
        if ((rc = osp_hist_encode(&w->hrec, hs[i].h)) != 0)
            break;
        rc = osp_hchunk_writer_append(&w->hw, hs[i].t_ms, w->hrec.data, w->hrec.len);
        if (rc == OSP_ETOOBIG && (rc = emit_hchunk(w)) == 0)
            rc = osp_hchunk_writer_append(&w->hw, hs[i].t_ms, w->hrec.data, w->hrec.len);
    }
    return rc == 0 && nh ? emit_hchunk(w) : rc;
}

int osp_block_writer_add(osp_block_writer *w, const osp_label *labels, size_t nlabels,
                         const osp_sample *s, size_t n, const osp_hsample *hs, size_t nh)
{
    int rc;
    uint8_t v[8];
    if (n + nh == 0 || nlabels == 0 || nlabels > OSP_BLOCK_MAX_LABELS)
        return OSP_EINVAL;
    uint64_t start = w->off;
    if ((rc = write_float_chunks(w, s, n)) != 0)
        return rc;
    uint64_t hstart = w->off;
    if ((rc = write_hist_chunks(w, hs, nh)) != 0)
        return rc;
    int64_t mint = n ? s[0].t_ms : hs[0].t_ms, maxt = n ? s[n - 1].t_ms : hs[nh - 1].t_ms;
    uint64_t bits = 0;
    if (nh && hs[0].t_ms < mint)
        mint = hs[0].t_ms;
    if (nh && hs[nh - 1].t_ms > maxt)
        maxt = hs[nh - 1].t_ms;
    if (n && s[n - 1].t_ms == maxt)
        memcpy(&bits, &s[n - 1].v, 8);
    osp_put_le64(v, bits);
    osp_buf *b = &w->entries;
    if ((rc = osp_pb_put_varint(b, nlabels)))
        return rc;
    for (size_t i = 0; i < 2 * nlabels; i++) {
        osp_str str = i % 2 ? labels[i / 2].value : labels[i / 2].name;
        uint32_t id, n0 = w->in.n;
        if ((rc = osp_intern_add(&w->in, str, &id)) || (rc = osp_pb_put_varint(b, id)))
            return rc;
        if (w->in.n != n0 && (w->sym_bytes += str.n) > OSP_BLOCK_MAX_SYMBOL_BYTES / 2)
            return OSP_ETOOBIG; /* the table also holds each length: stay within the cap */
    }
    /* As the final entry (README.md), with interned ids for symbols and absolute times. */
    if ((rc = osp_pb_put_varint(b, osp_pb_zigzag_encode(mint))) ||
        (rc = osp_pb_put_varint(b, (uint64_t)maxt - (uint64_t)mint)) ||
        (rc = osp_buf_append(b, v, 8)) || (rc = osp_pb_put_varint(b, n)) ||
        (rc = osp_pb_put_varint(b, hstart - start)) || (rc = osp_pb_put_varint(b, nh)))
        return rc;
    if (nh && ((rc = osp_pb_put_varint(b, (uint64_t)hs[0].t_ms - (uint64_t)mint)) ||
               (rc = osp_pb_put_varint(b, (uint64_t)hs[nh - 1].t_ms - (uint64_t)hs[0].t_ms)) ||
               (rc = osp_pb_put_varint(b, w->off - hstart))))
        return rc;
    if (w->nseries == 0 || mint < w->mint)
        w->mint = mint;
    if (w->nseries == 0 || maxt > w->maxt)
        w->maxt = maxt;
    w->nseries++;
    w->nsamples += n + nh;
    return 0;
}

/* Compresses and writes the frame being filled, if any. */
static int frame_flush(osp_block_writer *w)
{
    framer *fr = &w->fr;
    uint8_t hdr[20];
    int rc;
    if (fr->raw.len == 0)
        return 0;
    osp_buf_reset(&fr->z);
    if ((rc = osp_buf_reserve(&fr->z, ZSTD_compressBound(fr->raw.len))) != 0)
        return rc;
    size_t z =
        ZSTD_compressCCtx(w->cctx, fr->z.data, fr->z.cap, fr->raw.data, fr->raw.len, ZSTD_LEVEL);
    if (ZSTD_isError(z))
        return OSP_ENOMEM;
    size_t h = osp_pb_encode_varint(hdr, fr->raw.len);
    h += osp_pb_encode_varint(hdr + h, z);
    if ((rc = write_out(w, hdr, h)) || (rc = write_out(w, fr->z.data, z)))
        return rc;
    fr->total += fr->raw.len;
    osp_buf_reset(&fr->raw);
    return 0;
}

/* Adds n bytes to the section; split lets them cross into the next frame. */
static int frame_put(osp_block_writer *w, const void *p, size_t n, int split)
{
    framer *fr = &w->fr;
    int rc;
    if (!split && fr->raw.len + n > OSP_BLOCK_FRAME_MAX && (rc = frame_flush(w)) != 0)
        return rc;
    while (n) {
        size_t k = OSP_BLOCK_FRAME_MAX - fr->raw.len;
        k = k < n ? k : n;
        if ((rc = osp_buf_append(&fr->raw, p, k)) != 0)
            return rc;
        p = (const uint8_t *)p + k;
        n -= k;
        if (fr->raw.len == OSP_BLOCK_FRAME_MAX && (rc = frame_flush(w)) != 0)
            return rc;
    }
    return 0;
}

static int cmp_interned(const void *pa, const void *pb, void *ctx)
{
    const osp_str *strs = ctx;
    return osp_str_cmp(strs[*(const uint32_t *)pa], strs[*(const uint32_t *)pb]);
}

/* Writes the symbol table (interned strings, ascending) and fills rank: id -> symbol. */
static int write_symbols(osp_block_writer *w, uint32_t *rank)
{
    uint32_t *order = osp_malloc((w->in.n ? w->in.n : 1) * sizeof *order);
    uint8_t len[10];
    int rc = 0;
    if (!order)
        return OSP_ENOMEM;
    for (uint32_t i = 0; i < w->in.n; i++)
        order[i] = i;
    qsort_r(order, w->in.n, sizeof *order, cmp_interned, w->in.strs);
    for (uint32_t i = 0; i < w->in.n && rc == 0; i++) {
        osp_str s = w->in.strs[order[i]];
        rank[order[i]] = i;
        if ((rc = frame_put(w, len, osp_pb_encode_varint(len, s.n), 1)) == 0)
            rc = frame_put(w, s.p, s.n, 1);
    }
    osp_free(order);
    return rc ? rc : frame_flush(w);
}

/* Re-encodes the series entries with symbol numbers and block-relative times into frames
 * that no entry crosses. */
static int write_series(osp_block_writer *w, const uint32_t *rank)
{
    osp_pb_reader r = osp_pb_reader_make(w->entries.data, w->entries.len);
    uint8_t e[ENTRY_MAX];
    while (r.p < r.end) {
        uint64_t nl, x, zmint, span, ns, clen, nh;
        size_t n;
        osp_pb_read_varint(&r, &nl);
        n = osp_pb_encode_varint(e, nl);
        for (uint64_t j = 0; j < 2 * nl; j++) {
            osp_pb_read_varint(&r, &x);
            n += osp_pb_encode_varint(e + n, rank[x]);
        }
        osp_pb_read_varint(&r, &zmint);
        osp_pb_read_varint(&r, &span);
        n += osp_pb_encode_varint(e + n, (uint64_t)osp_pb_zigzag_decode(zmint) - (uint64_t)w->mint);
        n += osp_pb_encode_varint(e + n, span);
        memcpy(e + n, r.p, 8);
        r.p += 8;
        n += 8;
        osp_pb_read_varint(&r, &ns);
        osp_pb_read_varint(&r, &clen);
        n += osp_pb_encode_varint(e + n, ns);
        n += osp_pb_encode_varint(e + n, clen);
        osp_pb_read_varint(&r, &nh);
        n += osp_pb_encode_varint(e + n, nh);
        for (int j = 0; nh && j < 3; j++) { /* histogram mint - mint, span, chunk bytes */
            osp_pb_read_varint(&r, &x);
            n += osp_pb_encode_varint(e + n, x);
        }
        int rc = frame_put(w, e, n, 0);
        if (rc)
            return rc;
    }
    return frame_flush(w);
}

/* Ends the current section: its checksum and (raw not NULL) decoded size; starts the next. */
static void end_section(osp_block_writer *w, uint64_t *sum, uint64_t *raw)
{
    *sum = XXH64_digest(&w->sum);
    if (raw)
        *raw = w->fr.total;
    w->fr.total = 0;
    XXH64_reset(&w->sum, 0);
}

int osp_block_writer_finish(osp_block_writer *w, uint64_t wal_lsn, uint64_t age,
                            const uint64_t *replaces, size_t nreplaces, uint64_t *bytes)
{
    uint8_t tail[OSP_BLOCK_MAX_REPLACES * 8 + OSP_BLOCK_FOOTER_LEN];
    uint64_t csum, ysum, yraw, ssum, sraw;
    uint32_t *rank = NULL;
    int rc = OSP_EINVAL;
    if (nreplaces > OSP_BLOCK_MAX_REPLACES)
        goto fail;
    uint8_t *f = tail + nreplaces * 8;
    uint64_t yoff = w->off;
    end_section(w, &csum, NULL);
    rc = OSP_ENOMEM;
    if (!(rank = osp_malloc((w->in.n ? w->in.n : 1) * sizeof *rank)) ||
        (rc = write_symbols(w, rank)) != 0)
        goto fail;
    uint64_t soff = w->off;
    end_section(w, &ysum, &yraw);
    if ((rc = write_series(w, rank)) != 0)
        goto fail;
    uint64_t end = w->off;
    end_section(w, &ssum, &sraw);
    for (size_t i = 0; i < nreplaces; i++)
        osp_put_le64(tail + 8 * i, replaces[i]);
    const uint64_t fields[F_SUM / 8] = {OSP_BLOCK_MAGIC_LEN,
                                        yoff - OSP_BLOCK_MAGIC_LEN,
                                        csum,
                                        yoff,
                                        soff - yoff,
                                        ysum,
                                        yraw,
                                        w->in.n,
                                        soff,
                                        end - soff,
                                        ssum,
                                        sraw,
                                        w->nseries,
                                        w->nsamples,
                                        (uint64_t)w->mint,
                                        (uint64_t)w->maxt,
                                        wal_lsn,
                                        age,
                                        nreplaces};
    for (size_t i = 0; i < F_SUM / 8; i++)
        osp_put_le64(f + 8 * i, fields[i]);
    osp_put_le64(f + F_SUM, XXH64(tail, nreplaces * 8 + F_SUM, 0));
    memcpy(f + F_MAGIC, OSP_BLOCK_MAGIC, OSP_BLOCK_MAGIC_LEN);
    if ((rc = write_out(w, tail, nreplaces * 8 + OSP_BLOCK_FOOTER_LEN)) != 0)
        goto fail;
    if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0) {
        osp_error(MOD, "%s: sync: %s", w->path, strerror(errno));
        rc = OSP_EIO;
        goto fail;
    }
    FILE *f0 = w->f;
    w->f = NULL;
    if (fclose(f0) != 0) {
        unlink(w->path);
        rc = OSP_EIO;
        goto fail;
    }
    if (bytes)
        *bytes = w->off;
    osp_free(rank);
    osp_block_writer_abort(w); /* file closed: frees only */
    return 0;
fail:
    osp_free(rank);
    osp_block_writer_abort(w);
    return rc;
}
