/* Loki push API (POST /loki/api/v1/push): decoders of JSON and snappy-compressed protobuf
 * PushRequest bodies into canonical log rows, and the parser of Prometheus-style label sets
 * ({job="x", level="info"}) that the protobuf form carries its stream labels in. */
#ifndef OSP_PROTO_LOKI_H
#define OSP_PROTO_LOKI_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/labels.h"
#include "model/log.h"

/* What a decoder reports besides the rows. */
typedef struct osp_loki_report {
    int64_t rejected;         /* entries left out, those of rejected streams included */
    int64_t rejected_streams; /* streams left out whole for their labels */
    char message[256];        /* first problem found, e.g. "stream 2 entry 5: timestamp \"12a\"
                                 is not a decimal number of nanoseconds"; "" if none */
} osp_loki_report;

/* Both decoders set every record's labels_from to OSP_LOG_LABELS_ALL (model/logstream.h):
 * a Loki stream's labels are all stream labels. */

/* Decodes a JSON push body {"streams":[{"stream":{..},"values":[["<ns>","<line>"],
 * ["<ns>","<line>",{..}]]}]} and appends rows to out:
 * - one resource per stream that keeps an entry: its attributes are the stream labels as
 *   string values in the order given, its service_name the value of the label
 *   "service_name" ("" without one; label names cannot hold the dot of "service.name",
 *   and guessing a service from other labels is left to the receiver);
 * - one empty scope, added when the first record is kept, shared by every record;
 * - one record per kept entry: time_ns from the timestamp, body the line as a string
 *   AnyValue (has_body 1), attributes the structured metadata as string values in order,
 *   every other field zero.
 * Every row's bytes are copied into out's arena: body need not outlive the call.
 * Rejected, counted in rep and named in rep->message ("stream I: .." or "stream I entry
 * J: ..", indexes from 0), valid parts kept:
 * - a stream whose labels break Loki's rules (none at all, a name outside
 *   [a-zA-Z_][a-zA-Z0-9_]*, a name given twice), with all its entries;
 * - an entry whose timestamp is not a string of decimal digits (a JSON number included)
 *   or is past 2^63-1 ns (INT64_MAX: Loki parses it as an int64), or whose structured
 *   metadata has an invalid name (metadata names may repeat: the pairs are kept as sent).
 * Values, lines and metadata are valid UTF-8 by the JSON grammar. Members may come in any
 * order; unknown ones are skipped; null is absent. Returns 0 (possibly with rejections),
 * OSP_EPARSE when the text is not JSON or not shaped like a push (a member given twice, a
 * label or metadata value that is not a string, an entry that is not an array of 2 or 3
 * elements with a string line): rep->message names the problem and the byte offset, out
 * is left as it was; OSP_ENOMEM likewise. */
int osp_loki_decode_json(osp_str body, osp_log_batch *out, osp_loki_report *rep);

/* Decodes a protobuf push body: snappy block format around a logproto.PushRequest
 * (streams = 1 {labels = 1, entries = 2 {timestamp = 1 {seconds = 1, nanos = 2}, line = 2,
 * structuredMetadata = 3 {name = 1, value = 2}}}), into the same rows as
 * osp_loki_decode_json gives for the same data, appended to out (rows in out's arena; body
 * is not referenced after the call).
 * max_len: cap on the uncompressed length from the snappy preamble, checked before any
 *   allocation (0 = no cap beyond snappy's own).
 * Rejected as in the JSON decoder, plus: labels that do not parse
 * (osp_loki_parse_labels), a label value, line or metadata that is not valid UTF-8, a
 * Timestamp with nanos outside 0..999999999, negative seconds, or past 2^63-1 ns. A
 * missing timestamp is time 0.
 * Returns 0 (possibly with rejections); OSP_ETOOBIG past max_len ("snappy: .."); OSP_EPARSE
 * for corrupt snappy ("snappy: ..") or malformed protobuf, a known field with the wrong
 * wire type included ("offset N: .." with N the offset in the uncompressed message), out
 * left as it was; OSP_ENOMEM. Unknown fields (hash, parsed, format) are skipped. */
int osp_loki_decode_pb(osp_str body, size_t max_len, osp_log_batch *out, osp_loki_report *rep);

/* Parses a label set in Prometheus selector syntax: '{', then name="value" pairs separated
 * by commas (a trailing comma allowed), then '}', with spaces, tabs and newlines allowed
 * between tokens. Names are [a-zA-Z_][a-zA-Z0-9_]*; only '=' is accepted; values are
 * double-quoted with the escapes of the PromQL lexer: \a \b \f \n \r \t \v \\ \", octal
 * \NNN (up to \377), \xNN, \uNNNN and \UNNNNNNNN (no surrogates, up to U+10FFFF). "{}" is
 * the empty set. Values are not checked for UTF-8 and names may repeat: those are the
 * caller's rules.
 * *labels gets an array of *n labels in arena (NULL when empty): names are slices of text,
 * values slices of text or, when escaped, copies in arena (text and arena must outlive
 * the labels). Returns 0, OSP_EPARSE with err saying what and at which byte offset of text
 * ("offset 5: expected '=' after label name"), or OSP_ENOMEM. err may be NULL/0. */
int osp_loki_parse_labels(osp_str text, osp_arena *arena, osp_label **labels, size_t *n, char *err,
                          size_t errlen);

#endif
