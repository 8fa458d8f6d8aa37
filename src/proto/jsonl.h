/* JSON lines log bodies (POST /api/v1/logs/jsonl, as plain shippers send them: Vector,
 * Fluent Bit's http output, curl --data-binary @app.log) decoded into canonical log rows.
 * The format and its field mapping are described for users in docs/logs.md, "JSON lines". */
#ifndef OSP_PROTO_JSONL_H
#define OSP_PROTO_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "model/log.h"

/* Longest line (or array element) decoded; longer ones are rejected. */
#define OSP_JSONL_MAX_LINE ((size_t)1 << 20)

/* What the decoder reports besides the rows. */
typedef struct osp_jsonl_report {
    int64_t rejected;  /* lines (array elements) left out */
    char message[256]; /* first problem found, e.g. "line 7: trace_id \"abc\" is not 32 hex
                          digits at offset 412"; "" if none */
} osp_jsonl_report;

/* Decodes a JSON lines body and appends rows to out.
 * The body is one JSON object per line ('\n', or "\r\n"; lines holding only spaces, tabs
 * or '\r' are skipped), or, when its first byte other than space, tab, CR or LF is '[', one
 * JSON array of such objects. Each object becomes one record: its time, body, severity,
 * trace context and event name from the members named in docs/logs.md (the first alias in
 * the documented order wins; the others stay attributes), every other member an attribute
 * with its JSON value as an AnyValue, in order. Resources: one per distinct attribute set
 * in the request (a "service.name" from the service aliases and the members of a "resource"
 * object), records without either sharing one with no attributes. One empty scope, added
 * with the first record, is shared by every record. Every row's bytes are copied into
 * out's arena: body need not outlive the call.
 * Rejected, counted in rep and the first one named in rep->message ("line N: .. at offset
 * OFF", lines counted from 1, or "element I: .. at offset OFF", elements from 0; OFF is a
 * byte offset in body), every other line kept: a line that is not one valid JSON object
 * (syntax, invalid UTF-8, anything after the object), a member name given twice in one
 * object (at any depth), a mapped member whose value does not parse (time, severity
 * number, ids, flags) or has the wrong JSON type, a value nested deeper than
 * OSP_MAX_ANYVALUE_DEPTH, a number past the double range, and a line longer than
 * OSP_JSONL_MAX_LINE.
 * Returns 0 (possibly with rejections); OSP_EPARSE when the body is an array but not
 * well-formed JSON (rep->message says what and where), out left as it was; OSP_ENOMEM
 * likewise. The caller caps the body's size. */
int osp_jsonl_logs_decode(osp_str body, osp_log_batch *out, osp_jsonl_report *rep);

#endif
