/* Per-series sample chunk codec: Gorilla-style delta-of-delta timestamps with XOR or
 * integer delta-of-delta values, packed into one immutable byte block. Format: README.md. */
#ifndef OSP_STORE_TSDB_CHUNK_H
#define OSP_STORE_TSDB_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "model/labels.h"

#define OSP_CHUNK_MAX_SAMPLES 120    /* most samples one chunk holds (Prometheus's figure) */
#define OSP_CHUNK_DEFAULT_BYTES 1024 /* default byte cap of an encoded chunk */
#define OSP_CHUNK_MIN_BYTES 64       /* smallest byte cap accepted; fits any single sample */

/* The chunk's first byte: the value encoding in bits 0-1, the bucket sets in bit 2.
 * Finished chunks carry OSP_CHUNK_V2; chunks of earlier releases and the head's open
 * stream use the first sets (README.md). */
enum {
    OSP_CHUNK_ENC_XOR = 0, /* Gorilla XOR of the IEEE-754 bits */
    OSP_CHUNK_ENC_INT = 1, /* zigzag delta-of-delta of integral values, raw escapes */
    OSP_CHUNK_ENC_DEC = 2, /* INT of the values times 10^scale (scale in the header) */
    OSP_CHUNK_V2 = 4,      /* flag: the second timestamp and integer bucket sets */
};

#define OSP_CHUNK_MAX_SCALE 6 /* most decimal digits DEC keeps after the point */

/* Encoder state for one value encoding; private to chunk.c. */
typedef struct osp__chunk_venc {
    uint64_t bits;  /* bits written so far (values and timestamps) */
    uint64_t prev;  /* XOR: previous value bits; INT, DEC: previous integer */
    uint64_t dprev; /* INT, DEC: previous integer delta */
    uint32_t nint;  /* INT, DEC: integral values seen so far */
    uint8_t lead;   /* XOR: leading zeros of the current window; 0xff: none yet */
    uint8_t trail;  /* XOR: trailing zeros of the current window */
    uint8_t scale;  /* DEC: decimal digits kept (values are stored times 10^scale) */
} osp__chunk_venc;

/* Builds one chunk. Lives in the caller's memory and allocates nothing, so there is
 * nothing to clean up. Samples are kept until finish, which encodes them with whichever
 * value encoding is smaller. */
typedef struct osp_chunk_appender {
    osp_sample a[OSP_CHUNK_MAX_SAMPLES]; /* samples appended so far */
    uint32_t n;                          /* samples in a */
    uint32_t max_samples;                /* cap on n */
    size_t max_bytes;                    /* cap on the encoded size */
    uint64_t dprev;                      /* previous timestamp delta (wrapping) */
    osp__chunk_venc enc[3];              /* size tracking per value encoding (DEC once its
                                          * scale is known: enc[2].scale > 0) */
} osp_chunk_appender;

/* Prepares an empty appender. max_samples 0 or above OSP_CHUNK_MAX_SAMPLES means
 * OSP_CHUNK_MAX_SAMPLES; max_bytes 0 means OSP_CHUNK_DEFAULT_BYTES and anything below
 * OSP_CHUNK_MIN_BYTES is raised to it. */
void osp_chunk_appender_init(osp_chunk_appender *a, uint32_t max_samples, size_t max_bytes);

/* Adds one sample. Timestamps must strictly increase: t_ms <= the last one appended is
 * OSP_EINVAL. OSP_ETOOBIG when the chunk is full (sample cap, or the encoded size would
 * pass the byte cap); finish it and start another. The appender is unchanged on error. */
int osp_chunk_append(osp_chunk_appender *a, int64_t t_ms, double v);

/* Samples appended so far. */
static inline uint32_t osp_chunk_appender_count(const osp_chunk_appender *a)
{
    return a->n;
}

/* Exact encoded size in bytes that finish would append now. */
size_t osp_chunk_appender_size(const osp_chunk_appender *a);

/* Appends the encoded chunk (osp_chunk_appender_size bytes) to out. The bytes are an
 * immutable chunk from then on. On success the appender is emptied for the next chunk,
 * keeping its caps. 0, or OSP_ENOMEM / OSP_ETOOBIG from out (out and the appender then
 * unchanged). An appender with no samples writes a valid empty chunk. */
int osp_chunk_appender_finish(osp_chunk_appender *a, osp_buf *out);

/* Decodes a chunk sample by sample. Reads only [p, p+n); never past it. */
typedef struct osp_chunk_iter {
    const uint8_t *p;  /* chunk bytes (borrowed) */
    size_t n, pos;     /* length and next byte to load */
    uint64_t acc;      /* buffered bits, most significant first */
    uint32_t nacc;     /* valid bits in acc */
    uint32_t count;    /* samples in the chunk */
    uint32_t i;        /* samples returned so far */
    int err;           /* 0 or OSP_ECORRUPT */
    uint8_t enc;       /* OSP_CHUNK_ENC_* (the value encoding) */
    uint8_t v2;        /* the chunk uses the OSP_CHUNK_V2 bucket sets */
    uint64_t t, d;     /* last timestamp and delta (wrapping) */
    uint64_t d1;       /* first delta, from the header */
    osp__chunk_venc v; /* value decoder state (bits unused) */
} osp_chunk_iter;

/* Starts decoding the n bytes at p, which must stay valid while iterating. A malformed
 * header sets osp_chunk_iter_err to OSP_ECORRUPT at once; next then returns false. */
void osp_chunk_iter_init(osp_chunk_iter *it, const void *p, size_t n);

/* Stores the next sample in *out and returns true; false at the end of the chunk or on
 * corrupt data (then osp_chunk_iter_err is OSP_ECORRUPT and *out is unspecified). The end
 * is only clean once every byte of the chunk has been accounted for. */
bool osp_chunk_iter_next(osp_chunk_iter *it, osp_sample *out);

/* Decodes up to max samples into out, as osp_chunk_iter_next would one by one, and returns
 * how many: fewer than max only at the end of the chunk or on corrupt data (then
 * osp_chunk_iter_err says OSP_ECORRUPT). The faster way through a whole chunk. */
size_t osp_chunk_iter_read(osp_chunk_iter *it, osp_sample *out, size_t max);

/* 0, or OSP_ECORRUPT once the iterator met bad data. */
static inline int osp_chunk_iter_err(const osp_chunk_iter *it)
{
    return it->err;
}

/* Samples the chunk header declares (0 when the header is corrupt). */
static inline uint32_t osp_chunk_iter_count(const osp_chunk_iter *it)
{
    return it->err ? 0 : it->count;
}

/* Incremental XOR encoder for the open chunk of a series in the in-memory head: each
 * sample's bits are written into a small growable buffer as it arrives, so an open chunk
 * costs this struct (64 bytes) plus its encoded bytes, not an appender. The bits are
 * exactly those of an XOR chunk (README.md), so an osp_chunk_iter reads them in place.
 * Zero it with osp_chunk_stream_init; free with osp_chunk_stream_cleanup. Not
 * thread-safe. */
typedef struct osp_chunk_stream {
    uint8_t *buf;   /* encoded bits, zero past nbits; NULL until the first sample */
    int64_t t0;     /* first timestamp */
    int64_t tlast;  /* last timestamp */
    uint64_t d1;    /* first delta (header field) */
    uint64_t dprev; /* last delta (wrapping) */
    uint64_t vprev; /* last value's bits */
    uint32_t nbits; /* bits used in buf */
    uint16_t cap;   /* bytes allocated for buf */
    uint8_t n;      /* samples */
    uint8_t lead;   /* XOR window: leading zeros; 0xff: none yet */
    uint8_t trail;  /* XOR window: trailing zeros */
} osp_chunk_stream;

/* Prepares an empty stream (allocates nothing). */
void osp_chunk_stream_init(osp_chunk_stream *s);
/* Frees the buffer; the stream is empty again. */
void osp_chunk_stream_cleanup(osp_chunk_stream *s);
/* Adds one sample. OSP_EINVAL when t_ms is not above the last one; OSP_ETOOBIG when the
 * stream holds OSP_CHUNK_MAX_SAMPLES or the encoded chunk would pass
 * OSP_CHUNK_DEFAULT_BYTES (finish it and start another); OSP_ENOMEM. The stream is
 * unchanged on error. */
int osp_chunk_stream_append(osp_chunk_stream *s, int64_t t_ms, double v);
/* Heap bytes the stream holds. */
static inline size_t osp_chunk_stream_heap(const osp_chunk_stream *s)
{
    return s->cap;
}
/* Appends the samples as one chunk to out, in whichever value encoding is smaller (the
 * bytes osp_chunk_appender_finish would write), and empties the stream (buffer freed).
 * 0, or OSP_ENOMEM / OSP_ETOOBIG from out (stream then unchanged). */
int osp_chunk_stream_finish(osp_chunk_stream *s, osp_buf *out);
/* Starts decoding the stream's samples in place; s must not change while iterating. */
void osp_chunk_iter_init_stream(osp_chunk_iter *it, const osp_chunk_stream *s);

#endif
