/* Block files: the container shared by trace parts (store/embedded/format.h) and log parts
 * (store/logs/logformat.h). A block file is a checksummed header, zstd-compressed blocks
 * each checksummed with XXH64 (seed 0), a compressed index block, and a checksummed footer
 * that locates the index. Each part format names its own magic strings and version in an
 * osp_blockfile_format; the byte layout is the same for both (sizes below):
 *
 * Header (OSP_BLOCKFILE_HEADER_SIZE bytes):
 *   0  magic (8 bytes)   8  u32 version   12  u32 header size   16  u64 reserved, 0
 *  24  u64 XXH64 of bytes 0..23
 * Footer (the last OSP_BLOCKFILE_FOOTER_SIZE bytes):
 *   0  u64 index offset  8  u64 index stored length  16  u64 index raw length
 *  24  u64 XXH64 of the index's stored bytes  32  footer magic (8 bytes)
 *  40  u64 XXH64 of footer bytes 0..39
 * The index ends exactly where the footer begins. A block's location is a 16-byte slot
 * (u32 stored length, u32 raw length, u64 XXH64 of the stored bytes) that the format keeps
 * in its index. */
#ifndef OSP_STORE_BLOCKFILE_H
#define OSP_STORE_BLOCKFILE_H

#include <stddef.h>
#include <stdint.h>

#include <zstd.h>

#include "core/buf.h"

#define OSP_BLOCKFILE_MAGIC_LEN 8
#define OSP_BLOCKFILE_HEADER_SIZE 32
#define OSP_BLOCKFILE_FOOTER_SIZE 48
#define OSP_BLOCKFILE_SLOT_SIZE 16

/* What tells one part format from another. */
typedef struct osp_blockfile_format {
    const char *magic;        /* OSP_BLOCKFILE_MAGIC_LEN bytes at the start of the header */
    const char *footer_magic; /* OSP_BLOCKFILE_MAGIC_LEN bytes at footer offset 32 */
    uint32_t version;
    uint64_t max_index_raw; /* readers refuse larger indexes as corrupt */
    uint32_t max_block_raw; /* and larger blocks */
    const char *what;       /* in messages: "corrupt <what>: ..." */
    const char *log_module; /* the module messages are logged under */
} osp_blockfile_format;

/* Where a block is and what it must hash to (the slot, decoded). */
typedef struct osp_blockfile_block {
    uint32_t clen, rawlen; /* stored (compressed) and raw lengths */
    uint64_t sum;          /* XXH64 of the stored bytes */
} osp_blockfile_block;

/* ---- Writing ---------------------------------------------------------------------------- */

/* A block file being written under a temporary name. Caller's memory. */
typedef struct osp_blockfile_writer {
    const osp_blockfile_format *fmt;
    int fd;          /* -1 when not open */
    char *path;      /* the temporary path */
    int level;       /* zstd level */
    uint64_t offset; /* bytes written so far: where the next block starts */
    ZSTD_CCtx *cctx;
    osp_buf zbuf; /* compressed bytes of the last block */
} osp_blockfile_writer;

/* Readies w for fmt, its blocks compressed at zstd level; nothing is open yet. */
void osp_blockfile_writer_init(osp_blockfile_writer *w, const osp_blockfile_format *fmt, int level);

/* Creates path exclusively (an existing file is an error) and writes the header. On
 * failure (OSP_ENOMEM, or OSP_EIO logged) nothing is left on disk. */
int osp_blockfile_writer_create(osp_blockfile_writer *w, const char *path);

/* Appends n bytes as they are. 0 or OSP_EIO (logged). */
int osp_blockfile_write(osp_blockfile_writer *w, const void *p, size_t n);

/* Compresses n raw bytes at zstd level with cctx, appends the stored bytes to out and fills
 * slot (OSP_BLOCKFILE_SLOT_SIZE bytes) for them. 0 or OSP_ENOMEM. */
int osp_blockfile_pack(ZSTD_CCtx *cctx, int level, const void *raw, size_t n, osp_buf *out,
                       uint8_t *slot);

/* Compresses n raw bytes into one block, appends it and fills slot (OSP_BLOCKFILE_SLOT_SIZE
 * bytes). 0, OSP_ENOMEM or OSP_EIO. */
int osp_blockfile_put_block(osp_blockfile_writer *w, const void *raw, size_t n, uint8_t *slot);

/* Appends the index (n raw bytes, compressed) and the footer, then fsyncs and closes the
 * file; *bytes is the file size. The file keeps its temporary name (osp_blockfile_publish).
 * 0, OSP_ENOMEM or OSP_EIO; either way only cleanup is left to do. */
int osp_blockfile_finish(osp_blockfile_writer *w, const void *index, size_t n, uint64_t *bytes);

/* Frees what init and create took; with remove_file, unlinks the temporary file (a write
 * that did not finish). Safe on a writer that was only initialized. */
void osp_blockfile_writer_cleanup(osp_blockfile_writer *w, int remove_file);

/* Renames a finished file from tmp_path to path and fsyncs the directory. 0, OSP_ENOMEM or
 * OSP_EIO (logged under log_module). */
int osp_blockfile_publish(const char *tmp_path, const char *path, const char *log_module);

/* ---- Reading ---------------------------------------------------------------------------- */

/* An open block file. Caller's memory. */
typedef struct osp_blockfile {
    const osp_blockfile_format *fmt;
    int fd; /* -1 when not open */
    char *path;
    uint64_t size; /* bytes, at open */
} osp_blockfile;

/* Opens path read-only, verifies header and footer, and reads, verifies and decompresses
 * the index: *index (caller frees; one byte more than *n allocated) holds *n bytes, stored
 * from *index_off. 0, OSP_ENOMEM, OSP_EIO or OSP_ECORRUPT (logged); call
 * osp_blockfile_close either way. */
int osp_blockfile_open(osp_blockfile *f, const osp_blockfile_format *fmt, const char *path,
                       uint8_t **index, size_t *n, uint64_t *index_off);

/* Closes the file and frees the path (f may be only zeroed with fd -1). */
void osp_blockfile_close(osp_blockfile *f);

/* Logs "<path>: corrupt <what>: <why>" and returns OSP_ECORRUPT. */
int osp_blockfile_corrupt(const osp_blockfile *f, const char *why);

/* Reads exactly n bytes at off. 0, OSP_EIO (logged) or OSP_ECORRUPT past the end. */
int osp_blockfile_pread(const osp_blockfile *f, void *buf, size_t n, uint64_t off);

/* Decodes a slot; OSP_ECORRUPT (unlogged) when the lengths are out of the format's bounds
 * (a stored length of 0, or a raw length past max_block_raw). */
int osp_blockfile_get_slot(const osp_blockfile *f, const uint8_t *slot, osp_blockfile_block *b);
/* osp_blockfile_get_slot for a slot outside a block file, with its own bound on raw length. */
int osp_blockfile_decode_slot(const uint8_t *slot, uint32_t max_block_raw, osp_blockfile_block *b);

/* Reads blocks b[i0..i1] of a run of blocks stored back to back from off (where b[0]
 * starts) into io (reset first) with one pread. 0, OSP_ENOMEM, OSP_EIO or OSP_ECORRUPT. */
int osp_blockfile_read_run(const osp_blockfile *f, uint64_t off, const osp_blockfile_block *b,
                           int i0, int i1, osp_buf *io);

/* A decompression context: the calling thread's cached one, or a new one (NULL when out
 * of memory). Creating one costs more than decompressing a small block, so readers take
 * one per read and give it back. */
ZSTD_DCtx *osp_blockfile_dctx_take(void);
/* Gives dctx (may be NULL) back: kept for the thread's next take, or freed. */
void osp_blockfile_dctx_give(ZSTD_DCtx *dctx);

/* Verifies the stored bytes of block b at src and decompresses them into *out (caller
 * frees; b->rawlen bytes and one more allocated). 0, OSP_ENOMEM, or OSP_ECORRUPT
 * (unlogged) with *why set. */
int osp_blockfile_unpack(ZSTD_DCtx *dctx, const uint8_t *src, const osp_blockfile_block *b,
                         uint8_t **out, const char **why);

#endif
