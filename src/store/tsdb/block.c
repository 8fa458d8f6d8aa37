/* Block files of the time-series engine: writer and verified, mmap-backed reader. */
#define XXH_STATIC_LINKING_ONLY
#include "store/tsdb/block.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/buf.h"
#include "core/checksum.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/pb.h"
#include "model/series.h"
#include "store/tsdb/chunk.h"

#define MOD "tsdb"

struct osp_block {
    uint8_t *map;
    size_t size;
    osp_block_info info;
    uint64_t replaces[OSP_BLOCK_MAX_REPLACES];
    osp_block_series *series;
};

struct osp_block_writer {
    FILE *f;
    char *path;
    uint64_t off; /* bytes written so far */
    XXH64_state_t chunk_sum;
    osp_buf series; /* the series section, written after the chunks */
    osp_buf chunk;  /* one chunk being framed */
    osp_chunk_appender app;
    uint64_t nseries, nsamples;
    int64_t mint, maxt;
};

/* ==== Reader ============================================================================ */

static int read_str(osp_pb_reader *r, osp_str *s)
{
    uint64_t n;
    if (osp_pb_read_varint(r, &n) || n == 0 || n > (uint64_t)(r->end - r->p))
        return OSP_ECORRUPT;
    *s = osp_str_make((const char *)r->p, (size_t)n);
    r->p += n;
    return 0;
}

/* Decodes labels at r into l (cap entries), checking they are sorted and unique. */
static int read_labels(osp_pb_reader *r, osp_label *l, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (read_str(r, &l[i].name) || read_str(r, &l[i].value))
            return OSP_ECORRUPT;
        if (i && osp_str_cmp(l[i - 1].name, l[i].name) >= 0)
            return OSP_ECORRUPT;
    }
    return 0;
}

/* Parses the series section: entries, bounds, label order and series order. */
static int parse_series(osp_block *b, uint64_t off, uint64_t len, uint64_t chunks_off,
                        uint64_t chunks_len)
{
    osp_pb_reader r = osp_pb_reader_make(b->map + off, (size_t)len);
    osp_label prev[OSP_BLOCK_MAX_LABELS], cur[OSP_BLOCK_MAX_LABELS];
    uint32_t nprev = 0;
    uint64_t nsamples = 0;
    if (b->info.nseries > len / 8 + 1)
        return OSP_ECORRUPT;
    b->series = osp_calloc(b->info.nseries ? b->info.nseries : 1, sizeof *b->series);
    if (!b->series)
        return OSP_ENOMEM;
    for (uint64_t i = 0; i < b->info.nseries; i++) {
        osp_block_series *s = &b->series[i];
        uint64_t nl, zmint, span, ns, coff, clen;
        if (osp_pb_read_varint(&r, &nl) || nl == 0 || nl > OSP_BLOCK_MAX_LABELS)
            return OSP_ECORRUPT;
        s->lab_off = (uint64_t)(r.p - b->map);
        s->nlabels = (uint32_t)nl;
        if (read_labels(&r, cur, s->nlabels))
            return OSP_ECORRUPT;
        if (i && osp_labels_compare(prev, nprev, cur, s->nlabels) >= 0)
            return OSP_ECORRUPT;
        memcpy(prev, cur, nl * sizeof *cur);
        nprev = s->nlabels;
        if (osp_pb_read_varint(&r, &zmint) || osp_pb_read_varint(&r, &span) || r.end - r.p < 8)
            return OSP_ECORRUPT;
        s->last_v = osp_get_le64(r.p);
        r.p += 8;
        if (osp_pb_read_varint(&r, &ns) || osp_pb_read_varint(&r, &coff) ||
            osp_pb_read_varint(&r, &clen))
            return OSP_ECORRUPT;
        s->mint = osp_pb_zigzag_decode(zmint);
        s->maxt = (int64_t)((uint64_t)s->mint + span);
        if (s->maxt < s->mint || s->mint < b->info.mint || s->maxt > b->info.maxt || ns == 0 ||
            ns > UINT32_MAX || coff > chunks_len || clen > chunks_len - coff || clen == 0)
            return OSP_ECORRUPT;
        s->nsamples = (uint32_t)ns;
        s->chunk_off = chunks_off + coff;
        s->chunk_len = clen;
        nsamples += ns;
    }
    if (r.p != r.end || nsamples != b->info.nsamples)
        return OSP_ECORRUPT;
    return 0;
}

/* Checks the footer and the sections it describes. */
static int verify(osp_block *b)
{
    const size_t fl = OSP_BLOCK_FOOTER_LEN;
    if (b->size < OSP_BLOCK_MAGIC_LEN + fl ||
        memcmp(b->map, OSP_BLOCK_MAGIC, OSP_BLOCK_MAGIC_LEN) ||
        memcmp(b->map + b->size - OSP_BLOCK_MAGIC_LEN, OSP_BLOCK_MAGIC, OSP_BLOCK_MAGIC_LEN))
        return OSP_ECORRUPT;
    const uint8_t *f = b->map + b->size - fl;
    uint64_t nrep = osp_get_le64(f + 96);
    size_t foot_off = b->size - fl;
    if (nrep > OSP_BLOCK_MAX_REPLACES || nrep * 8 > foot_off - OSP_BLOCK_MAGIC_LEN)
        return OSP_ECORRUPT;
    const uint8_t *rep = f - nrep * 8;
    if (!osp_checksum_ok(rep, (size_t)(nrep * 8 + 104), osp_get_le64(f + 104)))
        return OSP_ECORRUPT;
    uint64_t coff = osp_get_le64(f), clen = osp_get_le64(f + 8), soff = osp_get_le64(f + 24),
             slen = osp_get_le64(f + 32);
    uint64_t end = (uint64_t)(rep - b->map);
    if (coff != OSP_BLOCK_MAGIC_LEN || clen > end - coff || soff != coff + clen ||
        slen != end - soff)
        return OSP_ECORRUPT;
    if (!osp_checksum_ok(b->map + coff, (size_t)clen, osp_get_le64(f + 16)) ||
        !osp_checksum_ok(b->map + soff, (size_t)slen, osp_get_le64(f + 40)))
        return OSP_ECORRUPT;
    b->info.nseries = osp_get_le64(f + 48);
    b->info.nsamples = osp_get_le64(f + 56);
    b->info.mint = (int64_t)osp_get_le64(f + 64);
    b->info.maxt = (int64_t)osp_get_le64(f + 72);
    b->info.wal_lsn = osp_get_le64(f + 80);
    b->info.age = osp_get_le64(f + 88);
    b->info.bytes = b->size;
    b->info.nreplaces = (size_t)nrep;
    for (uint64_t i = 0; i < nrep; i++)
        b->replaces[i] = osp_get_le64(rep + 8 * i);
    b->info.replaces = b->replaces;
    if (b->info.mint > b->info.maxt || (b->info.nseries == 0) != (b->info.nsamples == 0))
        return OSP_ECORRUPT;
    return parse_series(b, soff, slen, coff, clen);
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
    osp_pb_reader r = osp_pb_reader_make(b->map + s->lab_off, b->size - s->lab_off);
    int rc = read_labels(&r, out, s->nlabels);
    assert(rc == 0); /* verified at open */
    (void)rc;
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
        osp_sample smp;
        if (osp_pb_read_varint(&r, &len) || len > (uint64_t)(r.end - r.p))
            return OSP_ECORRUPT;
        osp_chunk_iter_init(&it, r.p, (size_t)len);
        r.p += len;
        while (osp_chunk_iter_next(&it, &smp)) {
            if ((seen && smp.t_ms <= last) || smp.t_ms < s->mint || smp.t_ms > s->maxt)
                return OSP_ECORRUPT;
            last = smp.t_ms;
            seen++;
            if (smp.t_ms < mint)
                continue;
            if (smp.t_ms > maxt)
                return 0;
            int rc = fn(ctx, smp.t_ms, smp.v);
            if (rc)
                return rc;
        }
        if (osp_chunk_iter_err(&it))
            return OSP_ECORRUPT;
    }
    return seen == s->nsamples ? 0 : OSP_ECORRUPT;
}

/* ==== Writer ============================================================================ */

int osp_block_writer_create(const char *tmp_path, osp_block_writer **out)
{
    osp_block_writer *w = osp_calloc(1, sizeof *w);
    if (!w || !(w->path = osp_strdup(tmp_path))) {
        osp_free(w);
        return OSP_ENOMEM;
    }
    w->f = fopen(tmp_path, "wbe");
    if (!w->f || fwrite(OSP_BLOCK_MAGIC, 1, OSP_BLOCK_MAGIC_LEN, w->f) != OSP_BLOCK_MAGIC_LEN) {
        osp_error(MOD, "%s: %s", tmp_path, strerror(errno));
        osp_block_writer_abort(w);
        return OSP_EIO;
    }
    w->off = OSP_BLOCK_MAGIC_LEN;
    XXH64_reset(&w->chunk_sum, 0);
    osp_buf_init(&w->series, 0);
    osp_buf_init(&w->chunk, 0);
    osp_chunk_appender_init(&w->app, 0, 0);
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
    osp_buf_cleanup(&w->series);
    osp_buf_cleanup(&w->chunk);
    osp_free(w->path);
    osp_free(w);
}

static int write_out(osp_block_writer *w, const void *p, size_t n, int hash)
{
    if (fwrite(p, 1, n, w->f) != n) {
        osp_error(MOD, "%s: write: %s", w->path, strerror(errno));
        return OSP_EIO;
    }
    if (hash)
        XXH64_update(&w->chunk_sum, p, n);
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
    return write_out(w, w->chunk.data, w->chunk.len, 1);
}

int osp_block_writer_add(osp_block_writer *w, const osp_label *labels, size_t nlabels,
                         const osp_sample *s, size_t n)
{
    int rc;
    uint8_t v[8];
    if (n == 0 || nlabels == 0 || nlabels > OSP_BLOCK_MAX_LABELS)
        return OSP_EINVAL;
    uint64_t start = w->off - OSP_BLOCK_MAGIC_LEN;
    for (size_t i = 0; i < n; i++) {
        rc = osp_chunk_append(&w->app, s[i].t_ms, s[i].v);
        if (rc == OSP_ETOOBIG) {
            if ((rc = emit_chunk(w)) != 0)
                return rc;
            rc = osp_chunk_append(&w->app, s[i].t_ms, s[i].v);
        }
        if (rc)
            return rc;
    }
    if ((rc = emit_chunk(w)) != 0)
        return rc;
    osp_buf *b = &w->series;
    uint64_t bits;
    memcpy(&bits, &s[n - 1].v, 8);
    osp_put_le64(v, bits);
    if ((rc = osp_pb_put_varint(b, nlabels)))
        return rc;
    for (size_t i = 0; i < nlabels; i++)
        if ((rc = osp_pb_put_varint(b, labels[i].name.n)) ||
            (rc = osp_buf_append_str(b, labels[i].name)) ||
            (rc = osp_pb_put_varint(b, labels[i].value.n)) ||
            (rc = osp_buf_append_str(b, labels[i].value)))
            return rc;
    if ((rc = osp_pb_put_varint(b, osp_pb_zigzag_encode(s[0].t_ms))) ||
        (rc = osp_pb_put_varint(b, (uint64_t)s[n - 1].t_ms - (uint64_t)s[0].t_ms)) ||
        (rc = osp_buf_append(b, v, 8)) || (rc = osp_pb_put_varint(b, n)) ||
        (rc = osp_pb_put_varint(b, start)) ||
        (rc = osp_pb_put_varint(b, w->off - OSP_BLOCK_MAGIC_LEN - start)))
        return rc;
    if (w->nseries == 0 || s[0].t_ms < w->mint)
        w->mint = s[0].t_ms;
    if (w->nseries == 0 || s[n - 1].t_ms > w->maxt)
        w->maxt = s[n - 1].t_ms;
    w->nseries++;
    w->nsamples += n;
    return 0;
}

int osp_block_writer_finish(osp_block_writer *w, uint64_t wal_lsn, uint64_t age,
                            const uint64_t *replaces, size_t nreplaces, uint64_t *bytes)
{
    uint8_t tail[OSP_BLOCK_MAX_REPLACES * 8 + OSP_BLOCK_FOOTER_LEN];
    int rc = OSP_EINVAL;
    if (nreplaces > OSP_BLOCK_MAX_REPLACES)
        goto fail;
    uint64_t clen = w->off - OSP_BLOCK_MAGIC_LEN, csum = XXH64_digest(&w->chunk_sum);
    uint64_t soff = w->off;
    if ((rc = write_out(w, w->series.data, w->series.len, 0)) != 0)
        goto fail;
    uint8_t *f = tail + nreplaces * 8;
    for (size_t i = 0; i < nreplaces; i++)
        osp_put_le64(tail + 8 * i, replaces[i]);
    osp_put_le64(f, OSP_BLOCK_MAGIC_LEN);
    osp_put_le64(f + 8, clen);
    osp_put_le64(f + 16, csum);
    osp_put_le64(f + 24, soff);
    osp_put_le64(f + 32, w->series.len);
    osp_put_le64(f + 40, XXH64(w->series.data, w->series.len, 0));
    osp_put_le64(f + 48, w->nseries);
    osp_put_le64(f + 56, w->nsamples);
    osp_put_le64(f + 64, (uint64_t)w->mint);
    osp_put_le64(f + 72, (uint64_t)w->maxt);
    osp_put_le64(f + 80, wal_lsn);
    osp_put_le64(f + 88, age);
    osp_put_le64(f + 96, nreplaces);
    osp_put_le64(f + 104, XXH64(tail, nreplaces * 8 + 104, 0));
    memcpy(f + 112, OSP_BLOCK_MAGIC, OSP_BLOCK_MAGIC_LEN);
    if ((rc = write_out(w, tail, nreplaces * 8 + OSP_BLOCK_FOOTER_LEN, 0)) != 0)
        goto fail;
    if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0) {
        osp_error(MOD, "%s: sync: %s", w->path, strerror(errno));
        rc = OSP_EIO;
        goto fail;
    }
    FILE *f0 = w->f;
    w->f = NULL;
    if (fclose(f0) != 0) {
        w->f = NULL;
        unlink(w->path);
        rc = OSP_EIO;
        goto fail;
    }
    if (bytes)
        *bytes = w->off;
    osp_block_writer_abort(w); /* file closed: frees only */
    return 0;
fail:
    osp_block_writer_abort(w);
    return rc;
}
