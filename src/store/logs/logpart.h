/* One part file of the embedded log store: a streaming writer and a reader (layout:
 * logformat.h, choices: README.md beside this file).
 *
 * A part holds log records of one time partition sorted by (stream labels, time). Its
 * index keeps the label set of every stream in it ("local" stream numbers 0, 1, ... in
 * label order), so the store rebuilds its stream index from parts at open. Records are
 * cut into granules; each column of a granule is one checksummed zstd block, and each
 * granule carries the time range, the stream range, a bloom filter over the tokens and
 * trigrams of its lines (logtoken.h) and a bloom filter over its trace ids, so searches
 * skip granules without reading them. */
#ifndef OSP_STORE_LOGS_LOGPART_H
#define OSP_STORE_LOGS_LOGPART_H

#include <stddef.h>
#include <stdint.h>

#include "model/labels.h"
#include "model/log.h"

typedef struct osp_logpart osp_logpart;
typedef struct osp_logpart_writer osp_logpart_writer;

typedef struct osp_logpart_info {
    uint64_t nrows;
    uint64_t min_time, max_time; /* osp_log_time range of the records (0, 0 when empty) */
    uint64_t wal_lsn;            /* highest WAL sequence number of the rows */
    uint64_t bytes;              /* file size */
    uint64_t raw_bytes;          /* the records' uncompressed size (lines, attributes, ids),
                                    for the compression ratio */
    const uint64_t *replaces;    /* seqs of the parts this one was merged from */
    size_t nreplaces;
    size_t ngranules;
    size_t nstreams;
} osp_logpart_info;

typedef struct osp_logpart_writer_options {
    uint64_t wal_lsn;         /* recorded in the index */
    const uint64_t *replaces; /* seqs of merged inputs, recorded in the index (copied) */
    size_t nreplaces;
    int zstd_level; /* 0 picks the flush level of logformat.h */
} osp_logpart_writer_options;

/* Starts writing a part at tmp_path (created exclusively). 0, OSP_EIO, OSP_ENOMEM. A
 * writer is used by one thread at a time; from its second granule on it writes each
 * finished granule on a thread of its own (with the creating thread's scheduling policy
 * and niceness) while rows are added. */
int osp_logpart_writer_create(const char *tmp_path, const osp_logpart_writer_options *opt,
                              osp_logpart_writer **out);

/* Adds record i of b (with its resource and scope) under the stream whose sorted label
 * set is labels[0..n). Streams must come in ascending label-set order (compare name,
 * then value, label by label; a prefix sorts first), the records of a stream in
 * ascending osp_log_time order; a label set equal to the previous call's continues that
 * stream, as does labels NULL (which spares comparing them). OSP_EINVAL when out of order
 * (nothing written), for labels NULL in the first call, or when the record's resource
 * or scope index is out of range. b and labels are only read during the call.
 * 0, OSP_EINVAL, OSP_EIO, OSP_ENOMEM; after OSP_EIO or OSP_ENOMEM the writer only fails. */
int osp_logpart_writer_add(osp_logpart_writer *w, const osp_label *labels, size_t n,
                           const osp_log_batch *b, size_t i);

/* Writes the last granule, the index and the footer, fsyncs and closes the file; *bytes
 * gets its size. Destroys w in every case (removing the file on failure). A writer with
 * no rows fails with OSP_EINVAL. 0, OSP_EINVAL, OSP_EIO, OSP_ENOMEM. */
int osp_logpart_writer_finish(osp_logpart_writer *w, uint64_t *bytes);

/* Destroys w and removes its temporary file; safe with NULL. */
void osp_logpart_writer_abort(osp_logpart_writer *w);

/* Opens a part, verifying header, footer and index (checksums and structure); the index
 * stays in memory, blocks are read on demand. 0, OSP_ECORRUPT (reason logged with the
 * file name), OSP_EIO, OSP_ENOMEM. */
int osp_logpart_open(const char *path, osp_logpart **out);
/* Safe with NULL. */
void osp_logpart_close(osp_logpart *p);

const osp_logpart_info *osp_logpart_get_info(const osp_logpart *p);

/* The label set of local stream k (k < nstreams), sorted by name; slices point into the
 * part's index and live as long as the part. */
void osp_logpart_stream(const osp_logpart *p, size_t k, const osp_label **labels, size_t *n);
/* The time range of local stream k's records. */
void osp_logpart_stream_time(const osp_logpart *p, size_t k, uint64_t *min_time,
                             uint64_t *max_time);

/* The rows of local stream k and the bytes of their lines (a string body's text, any other
 * body's encoded bytes); 0, 0 for a part written before sizes were kept. */
void osp_logpart_stream_size(const osp_logpart *p, size_t k, uint64_t *rows, uint64_t *line_bytes);

/* What a read wants. Every field is optional (0/NULL: no condition). */
typedef struct osp_logpart_filter {
    const uint8_t *streams;    /* streams[k] != 0 selects local stream k (nstreams bytes) */
    uint64_t start_ns, end_ns; /* osp_log_time in [start_ns, end_ns); end_ns 0 = unbounded */
    const uint64_t *keys;      /* bloom keys (osp_logtok_needle_keys) that must all be in
                                  a granule's token bloom for it to be read */
    size_t nkeys;
    const uint8_t *trace_id; /* 16 bytes: only records with this trace id */
    const uint8_t *span_id;  /* 8 bytes: only records with this span id */
    int no_body;             /* read_granule leaves the BODY column unread: records come
                                with no body (has_body 0, body empty) */
} osp_logpart_filter;

typedef struct osp_logpart_granule {
    uint64_t min_time, max_time;
    uint32_t first_stream, last_stream; /* local stream numbers of its first and last row */
    uint32_t rows;
} osp_logpart_granule;

const osp_logpart_granule *osp_logpart_granule_at(const osp_logpart *p, size_t g);

/* 1 when granule g may hold a record f selects (stream range, time range and both bloom
 * filters agree), 0 when it certainly holds none. Reads nothing from disk. */
int osp_logpart_granule_may_match(const osp_logpart *p, size_t g, const osp_logpart_filter *f);

/* Appends the records of granule g that f's streams, time range, trace id and span id
 * select (keys are not checked here: the caller tests lines), in part order, to out
 * (deep copies into out's arena; resources and scopes added once per call), and their
 * local stream numbers to *streams (grown with osp_array_push conventions: *streams,
 * *nstreams, *cap). Reads only the columns it needs to reject rows before decoding the
 * rest. Returns the number of records appended, OSP_ECORRUPT (a block fails its checksum
 * or does not decode: logged with the file name), OSP_EIO, OSP_ENOMEM. Thread-safe. */
int osp_logpart_read_granule(osp_logpart *p, size_t g, const osp_logpart_filter *f,
                             osp_log_batch *out, uint32_t **streams, size_t *nstreams, size_t *cap);

/* Receives a row's local stream number and time (osp_log_time); non-zero stops the read. */
typedef int (*osp_logpart_time_fn)(uint32_t stream, uint64_t t_ns, void *ctx);

/* Calls fn with the local stream and time of each row of granule g that f's streams and
 * time range select, in part order, decoding those two columns and nothing else (f's keys,
 * trace_id and span_id are not applied). Returns 0, fn's non-zero result, or the errors
 * of osp_logpart_read_granule. Thread-safe. */
int osp_logpart_read_times(osp_logpart *p, size_t g, const osp_logpart_filter *f,
                           osp_logpart_time_fn fn, void *ctx);

/* Receives a run of rows of one local stream; non-zero stops the read. */
typedef int (*osp_logpart_run_fn)(uint32_t stream, uint32_t rows, void *ctx);

/* Calls fn with each run of rows of one stream in granule g that f's streams select, in
 * part order, decoding the stream column alone. Every row must lie in f's time range (the
 * granule's min_time and max_time do), else OSP_EINVAL; f's keys, trace_id and span_id
 * are not applied. Returns 0, fn's non-zero result, or the errors of
 * osp_logpart_read_granule. Thread-safe. */
int osp_logpart_read_runs(osp_logpart *p, size_t g, const osp_logpart_filter *f,
                          osp_logpart_run_fn fn, void *ctx);

/* Compares two sorted label sets in the order writers require. */
int osp_logpart_labels_cmp(const osp_label *a, size_t na, const osp_label *b, size_t nb);

#endif
