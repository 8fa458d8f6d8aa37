/* Immutable block files of the time-series engine: the label sets of a set of series (as
 * references into a symbol table, both zstd-compressed) and their float and histogram sample
 * chunks over a time range, with a checksum per section. Format: README.md. */
#ifndef OSP_STORE_TSDB_BLOCK_H
#define OSP_STORE_TSDB_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/histogram.h"
#include "model/labels.h"

#define OSP_BLOCK_MAGIC "OSPTSB03"    /* what the writer writes */
#define OSP_BLOCK_MAGIC_V2 "OSPTSB02" /* still read: float samples only */
#define OSP_BLOCK_MAGIC_LEN 8
#define OSP_BLOCK_FOOTER_LEN 168              /* fixed footer, trailing magic included */
#define OSP_BLOCK_FRAME_MAX 65536             /* decoded bytes of one zstd frame of a section */
#define OSP_BLOCK_MAX_SYMBOL_BYTES (1u << 30) /* decoded symbol table, held while open */
#define OSP_BLOCK_MAX_REPLACES 64
#define OSP_BLOCK_MAX_LABELS 256 /* labels of one series; the engine rejects larger sets */

typedef struct osp_block osp_block;
typedef struct osp_block_writer osp_block_writer;

/* Block-wide facts, from the footer. */
typedef struct osp_block_info {
    uint64_t nseries, nsamples; /* samples: floats and histograms */
    int64_t mint, maxt;         /* over every sample; 0, 0 when empty */
    uint64_t wal_lsn;           /* every WAL record up to this lsn is in this block or older ones */
    uint64_t age;               /* write order: a higher age wins a timestamp held by two blocks */
    uint64_t bytes;             /* file size */
    const uint64_t *replaces;   /* sequence numbers of the blocks this one was merged from */
    size_t nreplaces;
} osp_block_info;

/* One series of a block (parsed at open). */
typedef struct osp_block_series {
    uint64_t lab_off;           /* offset of its symbol references in the decoded copy */
    uint64_t chunk_off;         /* file offset of its float chunks */
    uint64_t chunk_len;         /* 0 when it has no float samples */
    int64_t mint, maxt;         /* its first and last timestamps, floats and histograms */
    uint64_t last_v;            /* bits of the value at maxt when that sample is a float, else 0 */
    uint32_t nlabels, nsamples; /* nsamples: float samples (may be 0 in format 03) */
} osp_block_series;

/* The histogram samples of one series of a block (parsed at open). */
typedef struct osp_block_hist {
    uint64_t chunk_off, chunk_len; /* file offset and length of its histogram chunks */
    int64_t mint, maxt;            /* their first and last timestamps */
    uint32_t series;               /* the block series they belong to */
    uint32_t nsamples;             /* >= 1 */
} osp_block_hist;

/* Opens and verifies the block at path, format 03 or 02 (mmap for the chunks; the symbol
 * table and the series' symbol references are decoded and held in memory). Returns 0;
 * OSP_ECORRUPT when a magic, checksum, bound or ordering check fails or a frame does not
 * decompress (the caller quarantines the file); OSP_EIO; OSP_ENOMEM. */
int osp_block_open(const char *path, osp_block **out);
/* Unmaps and frees; NULL is a no-op. */
void osp_block_close(osp_block *b);
const osp_block_info *osp_block_get_info(const osp_block *b);
/* Series i (0 <= i < nseries), in label order. */
const osp_block_series *osp_block_get_series(const osp_block *b, size_t i);
/* Decodes the labels of series i into out (room for OSP_BLOCK_MAX_LABELS); the slices
 * point into the block's symbol table (valid until close). Returns their count. */
size_t osp_block_series_labels(const osp_block *b, size_t i, osp_label *out);

/* The histogram samples of series i, NULL when it has none. */
const osp_block_hist *osp_block_series_hist(const osp_block *b, size_t i);

/* Receives one sample; non-zero stops the walk and becomes its result. */
typedef int (*osp_block_sample_fn)(void *ctx, int64_t t_ms, double v);
/* Calls fn for every float sample of series i in [mint, maxt], ascending. 0, fn's result,
 * or OSP_ECORRUPT when a chunk does not decode or disagrees with the series entry. */
int osp_block_series_samples(const osp_block *b, size_t i, int64_t mint, int64_t maxt,
                             osp_block_sample_fn fn, void *ctx);

/* Receives one histogram sample (h lives in the walk's arena; NULL when not decoded);
 * non-zero stops the walk and becomes its result. */
typedef int (*osp_block_hsample_fn)(void *ctx, int64_t t_ms, const osp_histogram *h);
/* Calls fn for every histogram sample of series i in [mint, maxt], ascending, each decoded
 * into arena; with arena NULL nothing is decoded and fn gets NULL (the chunks' framing is
 * still checked). 0, fn's result, OSP_ENOMEM, or OSP_ECORRUPT when a chunk or a histogram
 * does not decode or disagrees with the series entry. */
int osp_block_series_hsamples(const osp_block *b, size_t i, int64_t mint, int64_t maxt,
                              osp_arena *arena, osp_block_hsample_fn fn, void *ctx);

/* Starts a block at tmp_path (created or truncated). 0, OSP_EIO, OSP_ENOMEM. */
int osp_block_writer_create(const char *tmp_path, osp_block_writer **out);
/* Adds a series: labels sorted by name and strictly after the previous series' set
 * (osp_labels_compare; the caller keeps that order, and the reader rejects a file that
 * breaks it); float samples s[0..n) and histogram samples hs[0..nh) (valid, as
 * osp_hist_check says), each ascending, no timestamp in both. 0, OSP_EIO, OSP_ENOMEM,
 * OSP_EINVAL (no samples, no labels or more than OSP_BLOCK_MAX_LABELS), OSP_ETOOBIG (the
 * block's distinct label strings would pass OSP_BLOCK_MAX_SYMBOL_BYTES / 2 bytes). */
int osp_block_writer_add(osp_block_writer *w, const osp_label *labels, size_t nlabels,
                         const osp_sample *s, size_t n, const osp_hsample *hs, size_t nh);
/* Writes the footer, fsyncs and closes the file and frees w. The caller renames it into
 * place. replaces: at most OSP_BLOCK_MAX_REPLACES. *bytes (may be NULL) gets the size.
 * 0 or OSP_EIO / OSP_EINVAL (w is freed and the file removed either way on error). */
int osp_block_writer_finish(osp_block_writer *w, uint64_t wal_lsn, uint64_t age,
                            const uint64_t *replaces, size_t nreplaces, uint64_t *bytes);
/* Drops an unfinished block and removes its file. NULL is a no-op. */
void osp_block_writer_abort(osp_block_writer *w);

#endif
