/* The on-disk format of log parts: every constant and layout in one place (README.md
 * beside this file explains the choices). All integers are little-endian; "varint" is a
 * protobuf base-128 varint and "zz" marks a zigzag-encoded signed value (core/pb.h). */
#ifndef OSP_STORE_LOGS_LOGFORMAT_H
#define OSP_STORE_LOGS_LOGFORMAT_H

/* ---- File layout ------------------------------------------------------------------------
 *   header (32 B) | granule 0 blocks | granule 1 blocks | ... | bloom block | index block |
 *   footer (48 B)
 *
 * Header:
 *   0  magic "OSPRLOGP"
 *   8  u32 format version (OSP_LOGPART_VERSION)
 *  12  u32 header size (32)
 *  16  u64 reserved, 0
 *  24  u64 XXH64 (seed 0) of bytes 0..23
 *
 * Footer (last 48 bytes of the file):
 *   0  u64 index offset
 *   8  u64 index stored (compressed) length
 *  16  u64 index raw length
 *  24  u64 XXH64 of the index's stored bytes
 *  32  magic "OSPRLFOT"
 *  40  u64 XXH64 of footer bytes 0..39
 * The index ends exactly where the footer begins. */
#define OSP_LOGPART_MAGIC "OSPRLOGP"
#define OSP_LOGPART_FOOTER_MAGIC "OSPRLFOT"
#define OSP_LOGPART_MAGIC_LEN 8
#define OSP_LOGPART_VERSION 1
#define OSP_LOGPART_HEADER_SIZE 32
#define OSP_LOGPART_FOOTER_SIZE 48

/* ---- Blocks -----------------------------------------------------------------------------
 * Every column block and the index is one zstd frame with its content size in the frame
 * header; its XXH64 (seed 0) over the stored bytes sits in the granule table (column
 * blocks) or the footer (index) and is verified before the frame is decompressed. The
 * bloom block is stored as it is (bit arrays do not compress); its XXH64 is in the index. */
#define OSP_LOGPART_ZSTD_LEVEL 3               /* parts flushed from memory */
#define OSP_LOGPART_ZSTD_LEVEL_MERGED 6        /* merged parts: written once, kept long */
#define OSP_LOGPART_MAX_BLOCK_RAW (256u << 20) /* readers refuse larger blocks as corrupt */
#define OSP_LOGPART_MAX_INDEX_RAW (1u << 30)   /* and larger indexes */
#define OSP_LOGPART_MAX_BLOOM_BYTES (1u << 30) /* and larger bloom blocks */

/* ---- Granules ---------------------------------------------------------------------------
 * Rows are sorted by (stream label set, osp_log_time) and cut into granules of at most
 * OSP_LOGPART_GRANULE_ROWS rows, or earlier once a granule's body bytes pass
 * OSP_LOGPART_GRANULE_BODY_BYTES. A granule's column blocks are stored back to back in
 * the order of enum osp_logpart_column: the columns a read filters on come first, so a
 * read loads STREAM and TIME with one pread, IDS when it filters on ids, then the rest
 * with one more.
 *
 * A column block's raw bytes are a list of streams: for each, a varint length and the
 * bytes. Per-part dictionaries (strings, attribute keys, resources, scopes) live in the
 * index and are referred to by id (position in the dictionary). "t" below is a row's
 * filing time, osp_log_time(): time_ns, else observed_ns. Differences are taken modulo
 * 2^64, so any value round-trips. */
#define OSP_LOGPART_GRANULE_ROWS 8192             /* what writers produce */
#define OSP_LOGPART_GRANULE_BODY_BYTES (4u << 20) /* writers cut a granule past this */
#define OSP_LOGPART_MAX_GRANULE_ROWS 65536        /* what readers accept */
/* Time scale: a varint e <= OSP_LOGPART_MAX_TIME_SCALE, the largest such that 10^e divides
 * every value of the column in the granule (timestamps of ms or us precision then cost no
 * trailing zeros). */
#define OSP_LOGPART_MAX_TIME_SCALE 9

enum osp_logpart_column {
    OSP_LCOL_STREAM,   /* 1 stream: runs of (varint local stream - the previous run's
                          stream, or - the granule's first stream for the first run;
                          varint run length >= 1) */
    OSP_LCOL_TIME,     /* 1: a time scale e, then per row zz varint t / 10^e - the
                          previous row's t / 10^e (0 before row 0) */
    OSP_LCOL_IDS,      /* 3: codes (one byte per row, enum osp_logpart_id_code bits),
                          trace ids (16 bytes per OSP_LID_TRACE row), span ids (8 bytes
                          per OSP_LID_SPAN row) */
    OSP_LCOL_OBSERVED, /* 1: a time scale e, then per row zz varint
                          (int64)(observed_ns - t) / 10^e, or 0 for a row with
                          OSP_LMISC_NO_OBSERVED (senders that set no observed time would
                          otherwise cost a varint of -t per row) */
    OSP_LCOL_SEVERITY, /* 1: zz varint severity_number, varint string id of severity_text */
    OSP_LCOL_MISC,     /* 1: varint bits (enum osp_logpart_misc_bit, labels_from above
                          them), varint flags, varint dropped_attributes */
    OSP_LCOL_EVENT,    /* 1: varint string id of event_name */
    OSP_LCOL_ORIGIN,   /* 1: varint resource id, varint scope id */
    OSP_LCOL_ATTRS,    /* 3: an attribute stream set (below) */
    OSP_LCOL_BODY,     /* 5: codes (a varint per row, enum osp_logpart_body_kind), text
                          (varint length + bytes per STRING row: the line itself), raw
                          (varint length + bytes per VERBATIM row: the body as it was),
                          templates and variables of the TEMPLATE rows (below). Parts
                          written before TEMPLATE rows existed end the block after raw
                          (codes 0-2 were one byte each, the same bytes as varints):
                          readers take that as no templates. */
    OSP_LCOL_COUNT
};
/* Streams per column, in enum osp_logpart_column order. */
#define OSP_LCOL_STREAMS                                                                           \
    {                                                                                              \
        1, 1, 3, 1, 1, 1, 1, 1, 3, 5                                                               \
    }
#define OSP_LCOL_MAX_STREAMS 5

enum osp_logpart_id_code {                    /* bits of an IDS code byte */
                           OSP_LID_TRACE = 1, /* a trace id follows in the trace stream */
                           OSP_LID_SAME = 2,  /* the trace id of the last row with one */
                           OSP_LID_SPAN = 4   /* a span id follows in the span stream */
};
enum osp_logpart_misc_bit {
    OSP_LMISC_HAS_BODY = 1,       /* has_body */
    OSP_LMISC_NO_TIME = 2,        /* time_ns is 0 (t is observed_ns) */
    OSP_LMISC_LABELS_SHIFT = 2,   /* labels_from (8 bits) << this */
    OSP_LMISC_NO_OBSERVED = 1024, /* observed_ns is 0 (its OBSERVED value is 0): above
                                     the labels_from byte, so earlier parts read the same */
    OSP_LMISC_LEVEL_SHIFT = 11,   /* the row's kept level (osp_log_level_to_keep: enum
                                     osp_line_level, below OSP_LINE_LEVEL_COUNT) << this;
                                     0 when it has none. Earlier writers kept only
                                     levels found in lines, or none */
};
/* A row's BODY code. */
enum osp_logpart_body_kind {
    OSP_LBODY_NONE = 0,     /* body is empty (no bytes) */
    OSP_LBODY_STRING = 1,   /* body is the canonical string AnyValue of the text stream's
                               next entry: 0x0A, varint length, the bytes */
    OSP_LBODY_VERBATIM = 2, /* body is the raw stream's next entry, byte for byte (other
                               value kinds, and anything non-canonical) */
    OSP_LBODY_TEMPLATE = 3, /* code 3 + t: the canonical string AnyValue of the line
                               rebuilt from template t and the variable streams */
};
/* Stream positions inside the multi-stream columns. */
enum osp_logpart_stream {
    OSP_LIDS_CODES = 0,
    OSP_LIDS_TRACE = 1,
    OSP_LIDS_SPAN = 2,
    OSP_LBODY_CODES = 0,
    OSP_LBODY_TEXT = 1,
    OSP_LBODY_RAW = 2,
    OSP_LBODY_TEMPLATES = 3,
    OSP_LBODY_VARS = 4,
    OSP_LSET_SHAPE = 0, /* the attribute stream set */
    OSP_LSET_VALUES = 1,
    OSP_LSET_RAW = 2,
};

/* Template-split lines (BODY column). A line's tokens (maximal runs of [A-Za-z0-9_] and
 * bytes >= 0x80, logtoken.h) that hold a digit are its variables; its template is the line
 * with each variable replaced by one OSP_LBODY_PLACEHOLDER byte. A line holding that byte
 * is a STRING row instead, so the split always gives the line back, byte for byte (it
 * works on bytes: UTF-8 or not makes no difference). Writers then write back into a
 * template every variable that is the same in all of the granule's lines of that template
 * (logtpl.h); readers need not know: placeholders are what is left.
 *   templates: the granule's distinct templates (varint length + bytes each); template
 *              id = position, in order of first use.
 *   vars:      variable streams 0, 1, ... (varint length + bytes each, at most
 *              OSP_LBODY_MAX_VAR_STREAMS): stream p holds the value of placeholder #p of
 *              every TEMPLATE row, in row order, and the last stream also every value
 *              past it. A variable stream is a mode byte (enum osp_logpart_var_mode), then
 *              its values.
 * A line is rebuilt by copying its template with placeholder #p replaced by the next value
 * of stream min(p, OSP_LBODY_MAX_VAR_STREAMS - 1). Values:
 *   number:        digits without a leading zero ("0" is one), below 2^63: written in
 *                  decimal;
 *   padded number: digits with a leading zero ("007", "00"), below 2^63: its value
 *                  written in decimal, zero-padded to the width it had;
 *   text:          any other variable (12ms, 0x1f, 2^63 and more, 20 digits or more) as it
 *                  was. A sign is not part of a token: "-5" is "-" in the template and 5.
 * Readers refuse a granule whose rebuilt TEMPLATE lines add up to more than
 * OSP_LOGPART_MAX_TEMPLATED_BYTES (writers keep the lines past it as STRING rows), which
 * bounds what a small corrupt block can expand to. */
#define OSP_LBODY_PLACEHOLDER 0x11 /* ASCII DC1: not found in log text */
#define OSP_LBODY_MAX_VAR_STREAMS 16
#define OSP_LOGPART_MAX_TEMPLATED_BYTES (8u << 20)
enum osp_logpart_var_mode {
    OSP_LVAR_PLAIN = 0,       /* numbers only: a varint each */
    OSP_LVAR_DELTA = 1,       /* numbers only: zz varint of each - the previous one (0 before
                                 the first), modulo 2^64 */
    OSP_LVAR_MIXED = 2,       /* per value a varint h: h even, the number h / 2; h % 4 = 1, text
                                 of h / 4 (>= 1) bytes; h % 4 = 3, a padded number of width
                                 h / 4 (<= 20) whose value follows as a varint */
    OSP_LVAR_FIXED = 3,       /* digits of one width: a varint width w (1 to 19), then as
                                 PLAIN, each value written zero-padded to w digits (the minutes
                                 and seconds of a timestamp in the text) */
    OSP_LVAR_FIXED_DELTA = 4, /* the same, with DELTA's values */
};

/* Attribute stream set (3 streams) encoding the attrs blob of each row:
 *   shape:  per row a varint h. h odd: the blob is the raw stream's next entry (varint
 *           length, bytes), verbatim; h even: h/2 attributes, each a varint
 *           (key id << 3 | value type, enum osp_value_type of model/attr.h).
 *   values: groups of (varint key id, varint length, bytes): the values of that key in
 *           row order, each by type: EMPTY nothing; STRING, BYTES, ARRAY, KVLIST varint
 *           length + bytes (ARRAY and KVLIST their canonical bodies); BOOL one byte; INT
 *           zz varint; DOUBLE 8 bytes. A key appears at most once.
 *   raw:    verbatim blobs.
 * A blob is kept verbatim when re-encoding its attributes would not give back the same
 * bytes (non-canonical or corrupt input), so reads return exactly what was written. */

/* ---- Bloom block ------------------------------------------------------------------------
 * The bit arrays of every granule's two bloom filters, back to back (bit i of a filter =
 * byte i/8, bit i%8; each filter a multiple of 64 bits). Read and verified at open, kept in
 * memory, so granule_may_match reads nothing from disk.
 *   token bloom: the distinct keys of the granule's lines (logtoken.h: token and trigram
 *                keys), OSP_LOGPART_BLOOM_BITS_PER_KEY bits per key, k probes from the key
 *                itself;
 *   trace bloom: XXH64 (seed 0) of each distinct non-zero trace id of the granule, the
 *                same sizing.
 * Probe i (0 <= i < k) of 64-bit hash h tests bit (h + i * (rotl64(h, 32) | 1)) mod nbits.
 * A filter of 0 bits holds nothing. */
#define OSP_LOGPART_BLOOM_BITS_PER_KEY 10
#define OSP_LOGPART_BLOOM_HASHES 7

/* ---- Index ------------------------------------------------------------------------------
 * A protobuf wire-format message (unknown fields are skipped, so fields can be added): */
enum osp_logpart_index_field {
    OSP_LIDX_NROWS = 1,         /* varint: rows in the part */
    OSP_LIDX_MIN_TIME = 2,      /* varint: smallest t */
    OSP_LIDX_MAX_TIME = 3,      /* varint: largest t */
    OSP_LIDX_WAL_LSN = 4,       /* varint: highest WAL sequence number of the rows */
    OSP_LIDX_REPLACES = 5,      /* varint, repeated: seqs of the parts this one merged */
    OSP_LIDX_RAW_BYTES = 6,     /* varint: the rows' uncompressed size (osp_logpart_info) */
    OSP_LIDX_STRING = 7,        /* LEN, repeated: string dictionary (severity texts, event
                                   names); id = position */
    OSP_LIDX_KEY = 8,           /* LEN, repeated: attribute key dictionary */
    OSP_LIDX_RESOURCE = 9,      /* LEN, repeated: resource message (below) */
    OSP_LIDX_SCOPE = 10,        /* LEN, repeated: scope message (below) */
    OSP_LIDX_STREAM = 11,       /* LEN, repeated: stream message (below), in local stream
                                   order, which is ascending label-set order */
    OSP_LIDX_TOKEN_HASHES = 12, /* varint: k of the token blooms */
    OSP_LIDX_TRACE_HASHES = 13, /* varint: k of the trace blooms */
    OSP_LIDX_BLOOM_OFFSET = 14, /* varint: file offset of the bloom block */
    OSP_LIDX_BLOOM_BYTES = 15,  /* varint: its length */
    OSP_LIDX_BLOOM_SUM = 16,    /* I64: XXH64 of it */
    OSP_LIDX_NCOLS = 17,        /* varint: columns per granule record (OSP_LCOL_COUNT) */
    OSP_LIDX_GRANULES = 18,     /* LEN: granule records (below), back to back */
};
enum osp_logpart_stream_field {                           /* stream message */
                                OSP_LSTREAM_LABEL = 1,    /* LEN, repeated: label message */
                                OSP_LSTREAM_MIN_TIME = 2, /* varint */
                                OSP_LSTREAM_MAX_TIME = 3, /* varint */
                                OSP_LSTREAM_ROWS =
                                    4, /* varint: its rows (absent in parts written before
                                          sizes were kept; then in none of the streams) */
                                OSP_LSTREAM_LINE_BYTES =
                                    5 /* varint: the bytes of its lines (the text of a body
                                         that is one string value, written canonically;
                                         any other body's encoded bytes) */
};
enum osp_logpart_label_field { /* label message */
                               OSP_LLABEL_NAME = 1,
                               OSP_LLABEL_VALUE = 2
};
enum osp_logpart_resource_field { /* resource message (defaults omitted) */
                                  OSP_LRES_ATTRIBUTES = 1,
                                  OSP_LRES_DROPPED = 2,
                                  OSP_LRES_ENTITY_REFS = 3,
                                  OSP_LRES_SCHEMA_URL = 4,
                                  OSP_LRES_SERVICE = 5
};
enum osp_logpart_scope_field { /* scope message (defaults omitted) */
                               OSP_LSCOPE_NAME = 1,
                               OSP_LSCOPE_VERSION = 2,
                               OSP_LSCOPE_ATTRIBUTES = 3,
                               OSP_LSCOPE_DROPPED = 4,
                               OSP_LSCOPE_SCHEMA_URL = 5
};

/* Granule record:
 *   0  u64 min t            8  u64 max t
 *  16  u64 file offset of its first column block
 *  24  u32 rows            28  u32 first local stream     32  u32 last local stream
 *  36  u32 token bloom bits                               40  u64 its offset in the bloom block
 *  48  u32 trace bloom bits                               52  u64 its offset in the bloom block
 *  60  per column: u32 stored length, u32 raw length, u64 XXH64 of the stored bytes */
#define OSP_LGRANULE_FIXED 60
#define OSP_LGRANULE_COL 16
#define OSP_LGRANULE_RECORD (OSP_LGRANULE_FIXED + OSP_LCOL_COUNT * OSP_LGRANULE_COL)

#endif
