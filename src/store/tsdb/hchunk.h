/* Per-series histogram chunk codec: native histogram samples (osp_hist_encode records with
 * delta timestamps) packed into one byte block, the head's and the block files' unit.
 * Format: README.md. */
#ifndef OSP_STORE_TSDB_HCHUNK_H
#define OSP_STORE_TSDB_HCHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "model/histogram.h"

#define OSP_HCHUNK_MAX_SAMPLES 120 /* most samples one chunk holds (as float chunks) */
#define OSP_HCHUNK_BYTES 4096      /* a chunk this large takes no further sample */

/* Builds one chunk in a growable buffer; the bytes are a valid chunk whenever it holds a
 * sample, so readers can iterate the open chunk in place. */
typedef struct osp_hchunk_writer {
    osp_buf b;     /* the chunk so far; empty before the first sample */
    int64_t tlast; /* timestamp of the last sample */
} osp_hchunk_writer;

/* Prepares an empty writer (allocates nothing). */
void osp_hchunk_writer_init(osp_hchunk_writer *w);
/* Frees the buffer. */
void osp_hchunk_writer_cleanup(osp_hchunk_writer *w);
/* Adds the encoded histogram rec (len bytes, from osp_hist_encode) at t_ms. OSP_EINVAL when
 * t_ms is not above the last sample's; OSP_ETOOBIG when the chunk is full (it holds
 * OSP_HCHUNK_MAX_SAMPLES or at least OSP_HCHUNK_BYTES): take its bytes, reset it and add
 * the sample again; OSP_ENOMEM. The chunk is unchanged on error. */
int osp_hchunk_writer_append(osp_hchunk_writer *w, int64_t t_ms, const void *rec, size_t len);
/* Samples in the chunk. */
static inline uint32_t osp_hchunk_writer_count(const osp_hchunk_writer *w)
{
    return w->b.len ? (uint8_t)w->b.data[0] : 0;
}
/* Empties the chunk, keeping its buffer for the next one. */
static inline void osp_hchunk_writer_reset(osp_hchunk_writer *w)
{
    osp_buf_reset(&w->b);
}

/* Walks a chunk sample by sample without decoding the histograms. Reads only [p, p+n). */
typedef struct osp_hchunk_iter {
    const uint8_t *p, *end; /* next byte to read, end of the chunk (borrowed) */
    uint32_t count, i;      /* samples the header declares, returned so far */
    int64_t t;              /* last timestamp */
    int err;                /* 0 or OSP_ECORRUPT */
} osp_hchunk_iter;

/* Starts walking the n bytes at p, which must stay valid while iterating. A malformed
 * header sets the error at once. */
void osp_hchunk_iter_init(osp_hchunk_iter *it, const void *p, size_t n);
/* The next sample's timestamp and encoded histogram (a slice of the chunk); false at the
 * end or on corrupt data (then osp_hchunk_iter_err says OSP_ECORRUPT). The end is clean only
 * once every byte of the chunk has been accounted for. */
bool osp_hchunk_iter_next(osp_hchunk_iter *it, int64_t *t_ms, const uint8_t **rec, size_t *len);
/* 0, or OSP_ECORRUPT once the iterator met bad data. */
static inline int osp_hchunk_iter_err(const osp_hchunk_iter *it)
{
    return it->err;
}

/* Decodes one histogram record (from osp_hchunk_iter_next, or a write-ahead-log record)
 * into *out, its arrays in arena: 0, OSP_ENOMEM, or OSP_ECORRUPT when the len bytes at rec
 * are not exactly one valid histogram. */
int osp_hchunk_decode(const uint8_t *rec, size_t len, osp_arena *arena, osp_histogram *out);

#endif
