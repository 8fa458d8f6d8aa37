/* Internal to the OTLP/JSON codecs (otlp_json.c and otlp_json_encode.c for traces,
 * otlp_metrics_json.c, otlp_logs_json.c): the shared reader state and the helpers for what
 * the signals have in common: members, scalars, ids, AnyValue and KeyValue lists, Resource,
 * InstrumentationScope, EntityRef, the resource/scope walk of traces and logs; and the
 * writer the trace and log encoders share. Decoding is implemented in otlp_json_common.c
 * (the policies are otlp_json.c's), encoding in otlp_json_encode.c. Each decoder embeds an
 * osp__ojson as the first member of its own state, so that a callback given an osp__ojson
 * can get back to the decoder's state. Not for use outside src/proto. */
#ifndef OSP_PROTO_OTLP_JSON_INT_H
#define OSP_PROTO_OTLP_JSON_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "model/attr.h"
#include "model/span.h"
#include "core/json.h"
#include "proto/otlp.h"
#include "proto/otlp_int.h"

/* Why a resource, scope or row is invalid; "" while it is valid. */
typedef struct osp__ojson_fault {
    char msg[160];
} osp__ojson_fault;

/* A member name in its JSON (lowerCamelCase) spelling and its proto name (NULL when the
 * same). Both spellings are accepted, as the proto3 JSON mapping asks of parsers; the two
 * spellings of one member given together count as a duplicate. */
typedef struct osp__ojson_name {
    const char *json, *proto;
} osp__ojson_name;

typedef struct osp__ojson {
    osp_json_reader r;
    osp_buf scratch; /* the reader's unescaped strings */
    osp_decode_report *rep;
    osp_arena *arena;            /* the output batch's: escaped strings are copied there */
    osp_buf key;                 /* an escaped attribute key until it is written */
    osp_buf bytes;               /* a decoded bytesValue until it is written */
    osp_buf res_attrs, res_refs; /* the Resource being decoded */
    osp_buf scope_attrs;         /* the InstrumentationScope being decoded */
    osp_buf idkeys, desckeys;    /* an EntityRef's keys */
} osp__ojson;

/* The message for a double that does not parse. */
#define OSP__OJSON_WANT_DOUBLE "a number, \"NaN\", \"Infinity\" or \"-Infinity\""

/* Starts decoding body: every buffer gets the hard cap `cap`, rep is cleared. */
void osp__ojson_init(osp__ojson *j, osp_str body, osp_decode_report *rep, osp_arena *arena,
                     size_t cap);
/* Frees the buffers. */
void osp__ojson_cleanup(osp__ojson *j);

/* Sets f's message unless it already has one. */
__attribute__((format(printf, 2, 3))) void osp__ojson_set_fault(osp__ojson_fault *f,
                                                                const char *fmt, ...);

/* Fails the whole body: the report's message becomes "invalid OTLP/JSON: <what> at offset
 * N". Returns OSP_EPARSE. */
__attribute__((format(printf, 3, 4))) int osp__ojson_invalid(osp__ojson *j, size_t off,
                                                             const char *fmt, ...);
/* osp__ojson_invalid for a member whose value is not `want`: "<field> must be <want>". */
int osp__ojson_bad_value(osp__ojson *j, const osp_json_token *t, const char *field,
                         const char *want);
/* Passes rc on; for OSP_EPARSE the report's message becomes the reader's error. */
int osp__ojson_syntax_error(osp__ojson *j, int rc);

/* The next token (osp_json_next), reader errors reported. */
int osp__ojson_next(osp__ojson *j, osp_json_token *t);
/* The next member of the current object: 1 with its key in *k (valid until the next
 * read), 0 at the object's end, or an error. */
int osp__ojson_next_key(osp__ojson *j, osp_json_token *k);
/* A member's value token: 1 when present, 0 for null (the member is absent). */
int osp__ojson_read_tok(osp__ojson *j, osp_json_token *t);
/* Finds key k among the n names (either spelling) whose bit is set in `allowed`: *idx gets
 * its index, or -1 for a member to ignore. A member given twice fails the body. */
int osp__ojson_member_of(osp__ojson *j, const osp_json_token *k, const osp__ojson_name *names,
                         int n, uint32_t allowed, uint32_t *seen, int *idx);
static inline int osp__ojson_member(osp__ojson *j, const osp_json_token *k,
                                    const osp__ojson_name *names, int n, uint32_t *seen, int *idx)
{
    return osp__ojson_member_of(j, k, names, n, UINT32_MAX, seen, idx);
}
/* Skips the value of a member the decoder ignores. */
int osp__ojson_skip_value(osp__ojson *j);
/* Reads a member that must be an object or an array (type): 1 when opened, 0 for null. */
int osp__ojson_open_value(osp__ojson *j, osp_json_type type, const char *field);
/* Calls fn(j, arg) for each object of an array member (null elements are skipped); fn
 * reads the object up to its end. 0 or the first error. */
int osp__ojson_each_object(osp__ojson *j, const char *field, int (*fn)(osp__ojson *, void *),
                           void *arg);

/* An integer token (number or decimal string) within [min, max]; sign: parsed as signed.
 * 0, or -1 when it is not one. */
int osp__ojson_tok_int(const osp_json_token *t, int64_t min, uint64_t max, int sign, uint64_t *out);
/* A double token: a number, a numeric string, "NaN", "Infinity" or "-Infinity"; 0 or -1. */
int osp__ojson_tok_double(const osp_json_token *t, double *v);

/* A string member: escaped text is copied into the arena, plain text stays a slice of the
 * body. Null leaves *out as it was. */
int osp__ojson_get_str(osp__ojson *j, const char *field, osp_str *out);
/* An unsigned integer member (a number or a decimal string) of at most max; null leaves
 * *out as it was. */
int osp__ojson_get_uint(osp__ojson *j, const char *field, uint64_t max, uint64_t *out);
int osp__ojson_get_u32(osp__ojson *j, const char *field, uint32_t *out);
/* A hex id member (either case) of up to cap bytes into id: *len gets its length in bytes,
 * or SIZE_MAX when the text is not hex; the caller judges it. */
int osp__ojson_get_id(osp__ojson *j, const char *field, uint8_t *id, size_t cap, size_t *len);
/* An attributes member (a KeyValue array) appended to the attrs blob out; values nested
 * deeper than OSP_MAX_ANYVALUE_DEPTH set f (`field` names it) and are skipped. */
int osp__ojson_get_attrs(osp__ojson *j, osp_buf *out, osp__ojson_fault *f, const char *field);

/* The Resource object just opened: attributes appended to j->res_attrs, entity refs to
 * j->res_refs (the caller resets both), dropped_attributes into *res; f as above. */
int osp__ojson_decode_resource(osp__ojson *j, osp_resource *res, osp__ojson_fault *f);
/* The InstrumentationScope object just opened: name and version into *sc, attributes
 * appended to j->scope_attrs (the caller resets it); f as above. */
int osp__ojson_decode_scope(osp__ojson *j, osp_scope *sc, osp__ojson_fault *f);

/* An enum member: an integer number (names are not accepted), kept as received. */
int osp__ojson_get_enum(osp__ojson *j, const char *field, int32_t *out);

/* An AnyValue member (an object) at depth 1, its canonical body appended to out; nesting
 * past OSP_MAX_ANYVALUE_DEPTH sets f as for attributes. 1 when present, 0 for null (the
 * member is absent), or an error. */
int osp__ojson_get_anyvalue(osp__ojson *j, osp_buf *out, osp__ojson_fault *f, const char *field);

/* How an id is judged, with the protobuf decoders' rules: a span's ids must have their
 * length and not be all zero, a link's only need their length, a parent span's or a log
 * record's may also be empty. */
enum osp__ojson_id_rule { OSP__OJSON_ID_NONZERO, OSP__OJSON_ID_LENGTH, OSP__OJSON_ID_OPTIONAL };
/* Records in f why an id of len bytes (from osp__ojson_get_id) is not a valid id of want
 * bytes under rule, naming it `what`. 1 when valid. */
int osp__ojson_check_id(osp__ojson_fault *f, const char *what, const uint8_t *id, size_t want,
                        size_t len, enum osp__ojson_id_rule rule);

/* Counts n rejected rows; the first problem becomes the report's message. */
__attribute__((format(printf, 3, 4))) void osp__ojson_reject(osp__ojson *j, int64_t n,
                                                             const char *fmt, ...);
/* Copies a built blob into the batch's arena (a NULL slice when empty). 0 or OSP_ENOMEM. */
int osp__ojson_keep_blob(osp__ojson *j, const osp_buf *src, osp_str *out);

/* What a ResourceSpans/ResourceLogs or ScopeSpans/ScopeLogs being decoded passes down to
 * its children. */
typedef struct osp__ojson_group {
    uint32_t resource, scope; /* row indexes the rows under it get (for a resource: the
                                 index its first scope gets) */
    osp__ojson_fault f;
    osp_resource res;
    osp_scope sc;
} osp__ojson_group;

/* Decoder state for a signal whose rows sit directly in its Scope* objects (traces: spans;
 * logs: logRecords). The signal's decoder embeds it first in its own state, fills it in
 * and calls osp__ojson_decode_rows, which walks resources and scopes (adding, rejecting
 * and dropping their rows as the trace decoder always has) and calls decode_row for each
 * row object with the osp__ojson_group it belongs to. */
typedef struct osp__ojson_rowdec {
    osp__ojson j;             /* first: the callbacks of osp__ojson_each_object get it */
    osp__ojson_name names[3]; /* resourceSpans, scopeSpans, spans */
    const char *rows;         /* "spans": rows in messages */
    osp__otlp_rowbatch b;
    int (*decode_row)(osp__ojson *j, void *group);
    int64_t nrow; /* rows seen so far: the index in messages */
} osp__ojson_rowdec;

/* Decodes the body with d (osp__ojson_decode_body). When it fails the batch's counts are
 * restored and nothing counts as rejected; data past the buffers' cap fails as OSP_EPARSE
 * with its message. 0 or the first error. */
int osp__ojson_decode_rows(osp__ojson_rowdec *d);

/* Ends a row object of decode_row, idx its index in the request: when f holds a fault,
 * rejects the row (named `what` in the message) and returns 1; else copies each of the n
 * blobs bufs[i] into the arena as *dst[i] (osp__ojson_keep_blob) and returns 0, or
 * OSP_ENOMEM. */
int osp__ojson_end_row(osp__ojson *j, const osp__ojson_fault *f, const char *what, int64_t idx,
                       osp_buf *const *bufs, osp_str *const *dst, size_t n);

/* The hard cap of a row decoder's buffers for a body: canonical rows are never larger than
 * the JSON they come from; a value given before its key needs room for a second copy while
 * it is wrapped. */
static inline size_t osp__ojson_cap(osp_str body)
{
    return 2 * body.n + 4096;
}

/* Decodes the body, an object whose only known member is *list (resourceSpans,
 * resourceMetrics), an array of objects each passed to each(j, NULL); nothing may follow
 * the object. 0 or the first error. */
int osp__ojson_decode_body(osp__ojson *j, const osp__ojson_name *list,
                           int (*each)(osp__ojson *, void *));

/* ---- Encoding (otlp_json_encode.c) ---- */

/* Appends to out; after the first failure every write does nothing and rc keeps it. */
typedef struct osp__ojw {
    osp_buf *out;
    int rc;
} osp__ojw;

/* Keeps rc as w's error unless it already has one. */
void osp__ojw_fail(osp__ojw *w, int rc);
/* Raw text; a JSON string. */
void osp__ojw_raw(osp__ojw *w, const char *z);
void osp__ojw_str(osp__ojw *w, osp_str s);
/* Starts member `name` of an object that has *n members so far. */
void osp__ojw_key(osp__ojw *w, int *n, const char *name);
/* A string member, omitted when empty. */
void osp__ojw_str_member(osp__ojw *w, int *n, const char *name, osp_str s);
/* A 32-bit integer member as a JSON number, omitted when zero. */
void osp__ojw_num_member(osp__ojw *w, int *n, const char *name, int64_t v);
/* A 64-bit unsigned member as a decimal string, omitted when zero. */
void osp__ojw_u64_member(osp__ojw *w, int *n, const char *name, uint64_t v);
/* An id member as lowercase hex (len at most 16). */
void osp__ojw_hex_member(osp__ojw *w, int *n, const char *name, const uint8_t *id, size_t len);
/* An AnyValue object at nesting depth (1 = an attribute's value). */
void osp__ojw_anyvalue(osp__ojw *w, const osp_value *v, int depth);
/* A KeyValue array member, omitted when the blob is empty; values at depth. */
void osp__ojw_attrs_member(osp__ojw *w, int *n, const char *name, osp_str attrs, int depth);

/* Encodes v's rows as an OTLP/JSON document {"<lists[0]>":[...]}: rows grouped under their
 * resource and scope (rows with equal contents share one Resource* object, whose rows go
 * in lists[1], and one Scope* object, whose rows go in lists[2]), groups in order of first
 * use, rows in batch order within a group; row() writes row i as an object. On failure
 * nothing is left in out. 0, OSP_EINVAL for a row index out of range, OSP_ENOMEM, or the
 * first write error. */
int osp__ojw_encode_rows(const osp__otlp_view *v, const char *const lists[3],
                         void (*row)(osp__ojw *w, const void *batch, size_t i), osp_buf *out);

#endif
