/* The on-disk format of trace parts: every constant and layout in one place (README.md
 * beside this file explains the choices). All integers are little-endian. */
#ifndef OSP_STORE_EMBEDDED_FORMAT_H
#define OSP_STORE_EMBEDDED_FORMAT_H

/* ---- Directory layout -------------------------------------------------------------------
 *   DIR/<yyyymmdd>/<seq>.part      one part: spans whose start falls on that UTC day
 *   DIR/<yyyymmdd>/<seq>.part.tmp  a part being written (deleted on open if left over)
 *   DIR/quarantine/<yyyymmdd>-<seq>.part   parts that failed verification
 * seq is a 16-digit lowercase hex number, unique across the whole DIR and increasing: a
 * merged part always has a higher seq than its inputs. */
#define OSP_PART_SUFFIX ".part"
#define OSP_PART_TMP_SUFFIX ".tmp"
#define OSP_PART_QUARANTINE_DIR "quarantine"
#define OSP_PART_SEQ_DIGITS 16
#define OSP_PART_DAY_DIGITS 8
#define OSP_PART_NS_PER_DAY 86400000000000ull

/* ---- File layout ------------------------------------------------------------------------
 *   header (32 bytes) | granule 0 blocks | granule 1 blocks | ... | index block | footer
 *
 * Header:
 *   0  magic "OSPRPART"
 *   8  u32 format version (OSP_PART_VERSION)
 *  12  u32 header size (32)
 *  16  u64 reserved, 0
 *  24  u64 XXH64 (seed 0) of bytes 0..23
 *
 * Footer (last 48 bytes of the file):
 *   0  u64 index offset
 *   8  u64 index stored (compressed) length
 *  16  u64 index raw length
 *  24  u64 XXH64 of the index's stored bytes
 *  32  magic "OSPRFOOT"
 *  40  u64 XXH64 of footer bytes 0..39
 * The index ends exactly where the footer begins. */
#define OSP_PART_MAGIC "OSPRPART"
#define OSP_PART_FOOTER_MAGIC "OSPRFOOT"
#define OSP_PART_MAGIC_LEN 8
#define OSP_PART_VERSION 1
#define OSP_PART_HEADER_SIZE 32
#define OSP_PART_FOOTER_SIZE 48

/* ---- Blocks -----------------------------------------------------------------------------
 * Every block (each column of each granule, and the index) is one zstd frame whose
 * content size is recorded in the frame header; its XXH64 (seed 0) over the stored bytes
 * sits in the index (for column blocks) or in the footer (for the index) and is verified
 * before the block is decompressed. */
#define OSP_PART_ZSTD_LEVEL 3               /* parts flushed from memory */
#define OSP_PART_ZSTD_LEVEL_MERGED 6        /* merged parts: written once, kept long */
#define OSP_PART_MAX_BLOCK_RAW (256u << 20) /* readers refuse larger blocks as corrupt */
#define OSP_PART_MAX_INDEX_RAW (1u << 30)

/* ---- Granules ---------------------------------------------------------------------------
 * Rows are sorted by (trace id, start, span id) and cut into granules of at most
 * OSP_PART_GRANULE_ROWS rows; a granule's columns are stored back to back in the order of
 * enum osp_part_column, so the cheap columns a search reads first form one contiguous run,
 * and so do the columns of a trace read without detail (TRACE .. PARENT, see
 * OSP_TRACE_NO_DETAIL in store.h).
 *
 * A column block's raw bytes are a list of streams: for each stream, a varint length and
 * the bytes. Varints are protobuf base-128 varints; "zz" marks zigzag-encoded signed
 * values. Per-part dictionaries (strings, attribute keys, resources, scopes) live in the
 * index and are referred to by id (position in the dictionary). */
#define OSP_PART_GRANULE_ROWS 2048      /* what writers produce */
#define OSP_PART_MAX_GRANULE_ROWS 65536 /* what readers accept */

enum osp_part_column {
    OSP_COL_TRACE,    /* 1 stream: runs of (varint run length >= 1, 16-byte trace id) */
    OSP_COL_START,    /* 1: zz varint start_ns - previous row's start_ns (0 before row 0) */
    OSP_COL_DURATION, /* 1: zz varint (int64)(end_ns - start_ns) */
    OSP_COL_NAME,     /* 1: varint string id of the span name */
    OSP_COL_ORIGIN,   /* 1: varint resource id, varint scope id */
    OSP_COL_STATE,    /* 1: zz kind, zz status code, varint flags, dropped attributes,
                         dropped events, dropped links */
    OSP_COL_SPAN_ID,  /* 1: 8 bytes per row */
    OSP_COL_PARENT,   /* 2: codes (varint per row: 0 no parent (all zero), 1 the next
                         8 bytes of stream 1, k >= 2 the span id of row (row - k + 1) of
                         this granule), raw 8-byte ids */
    OSP_COL_TEXT,     /* 1: varint string id of trace_state, of status message */
    OSP_COL_ATTRS,    /* 3: an attribute stream set (below) for span attributes */
    OSP_COL_EVENTS,   /* 6: counts, fields, raw blobs, then an attribute stream set */
    OSP_COL_LINKS,    /* 7: counts, ids, fields, raw blobs, then an attribute stream set */
    OSP_NCOLS
};
/* Streams per column, in enum osp_part_column order. */
#define OSP_COL_STREAMS                                                                            \
    {                                                                                              \
        1, 1, 1, 1, 1, 1, 1, 2, 1, 3, 6, 7                                                         \
    }
#define OSP_COL_MAX_STREAMS 7
/* Stream positions inside the multi-stream columns. */
enum osp_part_stream {
    OSP_PARENT_CODES = 0,
    OSP_PARENT_RAW = 1,
    OSP_ATTRS_SET = 0, /* ATTRS: the attribute stream set starts at stream 0 */
    OSP_EV_COUNTS = 0,
    OSP_EV_FIELDS = 1,
    OSP_EV_RAW = 2,
    OSP_EV_ATTRS = 3,
    OSP_LN_COUNTS = 0,
    OSP_LN_IDS = 1,
    OSP_LN_FIELDS = 2,
    OSP_LN_RAW = 3,
    OSP_LN_ATTRS = 4,
    OSP_SET_SHAPE = 0, /* offsets inside an attribute stream set */
    OSP_SET_VALUES = 1,
    OSP_SET_RAW = 2,
};
/* Parent codes: the first code that refers back to an earlier row of the granule. */
#define OSP_PARENT_NONE 0
#define OSP_PARENT_INLINE 1
#define OSP_PARENT_BACKREF 2

/* Attribute stream set (3 streams) encoding a sequence of attrs blobs:
 *   shape:  per blob a varint h. h odd: the blob is stored verbatim in the raw stream
 *           (varint length, bytes); h even: h/2 attributes follow, each a varint
 *           (key id << 3 | value type).
 *   values: groups of (varint key id, varint length, bytes): the values of that key in
 *           row order, each encoded by type: EMPTY nothing; STRING, BYTES, ARRAY, KVLIST
 *           varint length + bytes (ARRAY and KVLIST hold their canonical bodies); BOOL one
 *           byte; INT zz varint; DOUBLE 8 bytes. A key appears at most once.
 *   raw:    verbatim blobs.
 * A blob is stored verbatim when re-encoding its attributes would not give back the very
 * same bytes (non-canonical or corrupt input), so reads always return what was written.
 *
 * Events column: counts (per row varint h: odd = verbatim events blob in the raw stream,
 * even = h/2 events), fields (per event: zz time_ns - span start_ns, varint string id of
 * the name, varint dropped attributes), raw, then the attribute set of the events.
 * Links column: counts (as for events), ids (per link 16-byte trace id + 8-byte span id),
 * fields (per link: varint string id of trace_state, varint flags, varint dropped
 * attributes), raw, then the attribute set of the links. */
#define OSP_ATTR_STREAMS 3
enum osp_part_value_type { /* value type codes in attribute shapes (= enum osp_value_type) */
                           OSP_FMT_VAL_EMPTY = 0,
                           OSP_FMT_VAL_STRING = 1,
                           OSP_FMT_VAL_BOOL = 2,
                           OSP_FMT_VAL_INT = 3,
                           OSP_FMT_VAL_DOUBLE = 4,
                           OSP_FMT_VAL_BYTES = 5,
                           OSP_FMT_VAL_ARRAY = 6,
                           OSP_FMT_VAL_KVLIST = 7
};

/* ---- Index ------------------------------------------------------------------------------
 * A protobuf wire-format message (unknown fields are skipped, so fields can be added): */
enum osp_part_index_field {
    OSP_IDX_NROWS = 1,         /* varint: rows in the part */
    OSP_IDX_MIN_START = 2,     /* varint: smallest start_ns */
    OSP_IDX_MAX_START = 3,     /* varint: largest start_ns */
    OSP_IDX_WAL_LSN = 4,       /* varint: highest WAL sequence number of the rows */
    OSP_IDX_REPLACES = 5,      /* varint, repeated: seqs of the parts this one merged */
    OSP_IDX_STRING = 6,        /* LEN, repeated: string dictionary (names, status messages,
                                  trace states, event names); id = position */
    OSP_IDX_KEY = 7,           /* LEN, repeated: attribute key dictionary */
    OSP_IDX_RESOURCE = 8,      /* LEN, repeated: resource message (below) */
    OSP_IDX_SCOPE = 9,         /* LEN, repeated: scope message (below) */
    OSP_IDX_CATALOGUE = 10,    /* LEN: varint triples (resource id, name string id, zz kind),
                                  one per distinct triple */
    OSP_IDX_BLOOM_HASHES = 11, /* varint: k */
    OSP_IDX_BLOOM = 12,        /* LEN: bloom filter bits (bit i = byte i/8, bit i%8) */
    OSP_IDX_NCOLS = 13,        /* varint: columns per granule record (OSP_NCOLS) */
    OSP_IDX_GRANULES = 14,     /* LEN: granule records (below), back to back */
};
enum osp_part_resource_field { /* resource message */
                               OSP_RES_ATTRIBUTES = 1,
                               OSP_RES_DROPPED = 2,
                               OSP_RES_ENTITY_REFS = 3,
                               OSP_RES_SCHEMA_URL = 4,
                               OSP_RES_SERVICE = 5
};
enum osp_part_scope_field { /* scope message */
                            OSP_SCOPE_NAME = 1,
                            OSP_SCOPE_VERSION = 2,
                            OSP_SCOPE_ATTRIBUTES = 3,
                            OSP_SCOPE_DROPPED = 4,
                            OSP_SCOPE_SCHEMA_URL = 5
};

/* Granule record:
 *   0  first trace id (16 bytes)
 *  16  u64 min start_ns    24  u64 max start_ns
 *  32  u64 file offset of the first block
 *  40  u32 rows
 *  44  per column: u32 stored length, u32 raw length, u64 XXH64 of the stored bytes */
#define OSP_GRANULE_FIXED 44
#define OSP_GRANULE_COL 16
#define OSP_GRANULE_RECORD (OSP_GRANULE_FIXED + OSP_NCOLS * OSP_GRANULE_COL)

/* Bloom filter over the distinct trace ids: h = XXH64(trace id, 16, seed 0), probe i
 * (0 <= i < k) tests bit (h + i * (rotl64(h, 32) | 1)) mod nbits. */
#define OSP_BLOOM_BITS_PER_KEY 10
#define OSP_BLOOM_HASHES 7

#endif
