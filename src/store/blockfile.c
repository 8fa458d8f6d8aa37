/* Block files: header, zstd blocks checksummed with XXH64, index and footer (blockfile.h). */
#include "store/blockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "core/checksum.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"

/* ---- Writing ---------------------------------------------------------------------------- */

/* Ends the n bytes of a header or footer with the XXH64 of the bytes before; returns n. */
static size_t seal(uint8_t *b, size_t n)
{
    osp_put_le64(b + n - 8, XXH64(b, n - 8, 0));
    return n;
}

void osp_blockfile_writer_init(osp_blockfile_writer *w, const osp_blockfile_format *fmt, int level)
{
    memset(w, 0, sizeof *w);
    w->fmt = fmt;
    w->fd = -1;
    w->level = level;
    osp_buf_init(&w->zbuf, 0);
}

int osp_blockfile_writer_create(osp_blockfile_writer *w, const char *path)
{
    uint8_t hdr[OSP_BLOCKFILE_HEADER_SIZE] = {0};
    const osp_blockfile_format *fmt = w->fmt;
    if (!(w->path = osp_strdup(path)) || !(w->cctx = ZSTD_createCCtx()))
        return OSP_ENOMEM;
    if ((w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
        osp_error(fmt->log_module, "%s: create: %s", path, strerror(errno));
        return OSP_EIO;
    }
    memcpy(hdr, fmt->magic, OSP_BLOCKFILE_MAGIC_LEN);
    osp_put_le32(hdr + 8, fmt->version);
    osp_put_le32(hdr + 12, OSP_BLOCKFILE_HEADER_SIZE);
    int rc = osp_blockfile_write(w, hdr, seal(hdr, sizeof hdr));
    if (rc) {
        close(w->fd);
        w->fd = -1;
        unlink(path);
    }
    return rc;
}

int osp_blockfile_write(osp_blockfile_writer *w, const void *p, size_t n)
{
    if (osp_write_all(w->fd, p, n) != 0) {
        osp_error(w->fmt->log_module, "%s: write: %s", w->path, strerror(errno));
        return OSP_EIO;
    }
    w->offset += n;
    return 0;
}

/* Compresses n raw bytes at level, appending them to out; returns the compressed length or
 * 0 on failure. */
static size_t compress_into(ZSTD_CCtx *cctx, int level, const void *raw, size_t n, osp_buf *out)
{
    size_t cap = ZSTD_compressBound(n);
    if (osp_buf_reserve(out, cap))
        return 0;
    size_t k = ZSTD_compressCCtx(cctx, out->data + out->len, cap, raw, n, level);
    if (ZSTD_isError(k))
        return 0; /* a zstd frame is never empty */
    out->len += k;
    return k;
}

/* Compresses n raw bytes into w->zbuf; returns the compressed length or 0 on failure. */
static size_t compress(osp_blockfile_writer *w, const void *raw, size_t n)
{
    osp_buf_reset(&w->zbuf);
    return compress_into(w->cctx, w->level, raw, n, &w->zbuf);
}

int osp_blockfile_pack(ZSTD_CCtx *cctx, int level, const void *raw, size_t n, osp_buf *out,
                       uint8_t *slot)
{
    size_t at = out->len, k = compress_into(cctx, level, raw, n, out);
    if (k == 0)
        return OSP_ENOMEM;
    osp_put_le32(slot, (uint32_t)k);
    osp_put_le32(slot + 4, (uint32_t)n);
    osp_put_le64(slot + 8, XXH64(out->data + at, k, 0));
    return 0;
}

int osp_blockfile_put_block(osp_blockfile_writer *w, const void *raw, size_t n, uint8_t *slot)
{
    osp_buf_reset(&w->zbuf);
    int rc = osp_blockfile_pack(w->cctx, w->level, raw, n, &w->zbuf, slot);
    return rc ? rc : osp_blockfile_write(w, w->zbuf.data, w->zbuf.len);
}

int osp_blockfile_finish(osp_blockfile_writer *w, const void *index, size_t n, uint64_t *bytes)
{
    uint8_t foot[OSP_BLOCKFILE_FOOTER_SIZE];
    uint64_t index_off = w->offset;
    size_t k = compress(w, index, n);
    int rc = k ? 0 : OSP_ENOMEM;
    osp_put_le64(foot, index_off);
    osp_put_le64(foot + 8, k);
    osp_put_le64(foot + 16, n);
    osp_put_le64(foot + 24, k ? XXH64(w->zbuf.data, k, 0) : 0);
    memcpy(foot + 32, w->fmt->footer_magic, OSP_BLOCKFILE_MAGIC_LEN);
    if (rc == 0)
        rc = osp_blockfile_write(w, w->zbuf.data, k);
    if (rc == 0)
        rc = osp_blockfile_write(w, foot, seal(foot, sizeof foot));
    if (rc == 0 && fsync(w->fd) != 0) {
        osp_error(w->fmt->log_module, "%s: fsync: %s", w->path, strerror(errno));
        rc = OSP_EIO;
    }
    if (rc == 0) {
        int fd = w->fd;
        w->fd = -1;
        if (close(fd) != 0) {
            osp_error(w->fmt->log_module, "%s: close: %s", w->path, strerror(errno));
            rc = OSP_EIO;
        }
    }
    if (rc == 0)
        *bytes = w->offset;
    return rc;
}

void osp_blockfile_writer_cleanup(osp_blockfile_writer *w, int remove_file)
{
    if (w->fd >= 0)
        close(w->fd);
    if (remove_file && w->path)
        unlink(w->path);
    osp_free(w->path);
    ZSTD_freeCCtx(w->cctx);
    osp_buf_cleanup(&w->zbuf);
    w->fd = -1;
    w->path = NULL;
    w->cctx = NULL;
}

int osp_blockfile_publish(const char *tmp_path, const char *path, const char *log_module)
{
    int rc = 0;
    const char *slash = strrchr(path, '/');
    char *dir = slash ? osp_strndup(path, (size_t)(slash - path)) : osp_strdup(".");
    if (!dir)
        return OSP_ENOMEM;
    if (rename(tmp_path, path) != 0) {
        osp_error(log_module, "%s: rename to %s: %s", tmp_path, path, strerror(errno));
        rc = OSP_EIO;
        goto out;
    }
    if (osp_fsync_dir(dir) != 0) {
        osp_error(log_module, "%s: fsync directory: %s", dir, strerror(errno));
        rc = OSP_EIO;
    }
out:
    osp_free(dir);
    return rc;
}

/* ---- Reading ---------------------------------------------------------------------------- */

void osp_blockfile_close(osp_blockfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    osp_free(f->path);
    f->fd = -1;
    f->path = NULL;
}

int osp_blockfile_corrupt(const osp_blockfile *f, const char *why)
{
    osp_error(f->fmt->log_module, "%s: corrupt %s: %s", f->path, f->fmt->what, why);
    return OSP_ECORRUPT;
}

int osp_blockfile_pread(const osp_blockfile *f, void *buf, size_t n, uint64_t off)
{
    char *c = buf;
    while (n) {
        ssize_t k = pread(f->fd, c, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            osp_error(f->fmt->log_module, "%s: read: %s", f->path, strerror(errno));
            return OSP_EIO;
        }
        if (k == 0)
            return osp_blockfile_corrupt(f, "truncated");
        c += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* Checks the header and footer; *ft gets the footer. */
static int check_ends(const osp_blockfile *f, uint8_t ft[OSP_BLOCKFILE_FOOTER_SIZE])
{
    uint8_t h[OSP_BLOCKFILE_HEADER_SIZE];
    int rc;
    if (f->size < OSP_BLOCKFILE_HEADER_SIZE + OSP_BLOCKFILE_FOOTER_SIZE)
        return osp_blockfile_corrupt(f, "too short");
    if ((rc = osp_blockfile_pread(f, h, sizeof h, 0)))
        return rc;
    if (memcmp(h, f->fmt->magic, OSP_BLOCKFILE_MAGIC_LEN) != 0)
        return osp_blockfile_corrupt(f, "bad magic");
    if (!osp_checksum_ok(h, 24, osp_get_le64(h + 24)))
        return osp_blockfile_corrupt(f, "header checksum mismatch");
    if (osp_get_le32(h + 8) != f->fmt->version || osp_get_le32(h + 12) != OSP_BLOCKFILE_HEADER_SIZE)
        return osp_blockfile_corrupt(f, "unsupported format version");
    if ((rc = osp_blockfile_pread(f, ft, OSP_BLOCKFILE_FOOTER_SIZE,
                                  f->size - OSP_BLOCKFILE_FOOTER_SIZE)))
        return rc;
    if (memcmp(ft + 32, f->fmt->footer_magic, OSP_BLOCKFILE_MAGIC_LEN) != 0)
        return osp_blockfile_corrupt(f, "bad footer magic (truncated?)");
    if (!osp_checksum_ok(ft, 40, osp_get_le64(ft + 40)))
        return osp_blockfile_corrupt(f, "footer checksum mismatch");
    return 0;
}

/* Decompresses a zstd frame that must hold exactly rawlen bytes into *out (caller frees;
 * one byte more allocated). 0, OSP_ENOMEM or OSP_ECORRUPT (unlogged). */
static int inflate(ZSTD_DCtx *dctx, const uint8_t *src, size_t clen, size_t rawlen, uint8_t **out)
{
    if (ZSTD_getFrameContentSize(src, clen) != rawlen)
        return OSP_ECORRUPT;
    uint8_t *raw = osp_malloc(rawlen + 1);
    if (!raw)
        return OSP_ENOMEM;
    size_t got = ZSTD_decompressDCtx(dctx, raw, rawlen, src, clen);
    if (ZSTD_isError(got) || got != rawlen) {
        osp_free(raw);
        return OSP_ECORRUPT;
    }
    *out = raw;
    return 0;
}

/* Verifies header and footer, then reads the index (osp_blockfile_open). */
static int load_index(const osp_blockfile *f, uint8_t **index, size_t *n, uint64_t *index_off)
{
    uint8_t ft[OSP_BLOCKFILE_FOOTER_SIZE];
    uint8_t *stored = NULL;
    ZSTD_DCtx *dctx = NULL;
    int rc = check_ends(f, ft);
    if (rc)
        return rc;
    uint64_t off = osp_get_le64(ft), clen = osp_get_le64(ft + 8), rawlen = osp_get_le64(ft + 16);
    if (off < OSP_BLOCKFILE_HEADER_SIZE || off > f->size - OSP_BLOCKFILE_FOOTER_SIZE || clen == 0 ||
        clen != f->size - OSP_BLOCKFILE_FOOTER_SIZE - off || rawlen > f->fmt->max_index_raw)
        return osp_blockfile_corrupt(f, "index out of bounds");
    if (!(stored = osp_malloc(clen)) || !(dctx = ZSTD_createDCtx()))
        rc = OSP_ENOMEM;
    if (rc == 0)
        rc = osp_blockfile_pread(f, stored, clen, off);
    if (rc == 0 && !osp_checksum_ok(stored, clen, osp_get_le64(ft + 24)))
        rc = osp_blockfile_corrupt(f, "index checksum mismatch");
    if (rc == 0 && (rc = inflate(dctx, stored, clen, rawlen, index)) == OSP_ECORRUPT)
        rc = osp_blockfile_corrupt(f, "index does not decompress");
    osp_free(stored);
    ZSTD_freeDCtx(dctx);
    if (rc == 0) {
        *n = rawlen;
        *index_off = off;
    }
    return rc;
}

int osp_blockfile_open(osp_blockfile *f, const osp_blockfile_format *fmt, const char *path,
                       uint8_t **index, size_t *n, uint64_t *index_off)
{
    struct stat sb;
    memset(f, 0, sizeof *f);
    f->fmt = fmt;
    f->fd = -1;
    if (!(f->path = osp_strdup(path)))
        return OSP_ENOMEM;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0 || fstat(f->fd, &sb) != 0) {
        osp_error(fmt->log_module, "%s: open: %s", path, strerror(errno));
        return OSP_EIO;
    }
    f->size = (uint64_t)sb.st_size;
    return load_index(f, index, n, index_off);
}

int osp_blockfile_decode_slot(const uint8_t *slot, uint32_t max_block_raw, osp_blockfile_block *b)
{
    b->clen = osp_get_le32(slot);
    b->rawlen = osp_get_le32(slot + 4);
    b->sum = osp_get_le64(slot + 8);
    return b->clen == 0 || b->rawlen > max_block_raw ? OSP_ECORRUPT : 0;
}

int osp_blockfile_get_slot(const osp_blockfile *f, const uint8_t *slot, osp_blockfile_block *b)
{
    return osp_blockfile_decode_slot(slot, f->fmt->max_block_raw, b);
}

int osp_blockfile_read_run(const osp_blockfile *f, uint64_t off, const osp_blockfile_block *b,
                           int i0, int i1, osp_buf *io)
{
    size_t len = 0;
    int rc;
    for (int i = 0; i < i0; i++)
        off += b[i].clen;
    for (int i = i0; i <= i1; i++)
        len += b[i].clen;
    osp_buf_reset(io);
    if ((rc = osp_buf_reserve(io, len)))
        return rc;
    return osp_blockfile_pread(f, io->data, len, off);
}

int osp_blockfile_unpack(ZSTD_DCtx *dctx, const uint8_t *src, const osp_blockfile_block *b,
                         uint8_t **out, const char **why)
{
    *why = "checksum mismatch";
    if (!osp_checksum_ok(src, b->clen, b->sum))
        return OSP_ECORRUPT;
    *why = "block does not decompress";
    return inflate(dctx, src, b->clen, b->rawlen, out);
}

/* ---- Decompression contexts ---------------------------------------------------------- */

static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;
static pthread_key_t dctx_key;
static int dctx_key_ok;

static void dctx_free(void *dctx)
{
    ZSTD_freeDCtx(dctx);
}

static void dctx_key_init(void)
{
    dctx_key_ok = pthread_key_create(&dctx_key, dctx_free) == 0;
}

ZSTD_DCtx *osp_blockfile_dctx_take(void)
{
    pthread_once(&dctx_once, dctx_key_init);
    ZSTD_DCtx *dctx = dctx_key_ok ? pthread_getspecific(dctx_key) : NULL;
    if (!dctx)
        return ZSTD_createDCtx();
    pthread_setspecific(dctx_key, NULL);
    return dctx;
}

void osp_blockfile_dctx_give(ZSTD_DCtx *dctx)
{
    if (dctx && dctx_key_ok && !pthread_getspecific(dctx_key) &&
        pthread_setspecific(dctx_key, dctx) == 0)
        return;
    ZSTD_freeDCtx(dctx);
}
