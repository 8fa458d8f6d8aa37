/* Parsing of query-API parameters (durations, times, limits, ids, tag filters) with error
 * messages that name the parameter, ready to send back in a 400 response. */
#ifndef OSP_QUERY_PARAMS_H
#define OSP_QUERY_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "store/store.h"

/* Longest echo of a bad value inside a message; longer values are cut and marked "...". */
#define OSP_PARAM_ECHO_MAX 64

/* Why a parameter was rejected, e.g. `invalid minDuration "5x": expected a duration like
 * 250ms, 1.5s, 2m or 1h`. */
typedef struct osp_param_err {
    char msg[256];
} osp_param_err;

/* Every parser below takes the parameter's name (used only in the message), its text (not
 * NUL-terminated; empty text is an error, callers treat empty parameters as absent) and
 * the error to fill. Each returns 0 with the result, or OSP_EINVAL with err->msg set. */

/* A Go-style duration: one or more decimal numbers, each with an optional fraction and a
 * unit, e.g. "250ms", "1.5s", "2m", "1h30m", "100us", "100µs", "10ns"; "0" alone is
 * allowed. Units: ns, us, µs (U+00B5 or U+03BC), ms, s, m, h. Negative durations and
 * values past UINT64_MAX nanoseconds are rejected. */
int osp_param_duration(const char *name, osp_str text, uint64_t *ns, osp_param_err *err);

/* Jaeger's lookback: a duration as above that may also use d (24h) and w (7d), e.g. "1h",
 * "2d". */
int osp_param_lookback(const char *name, osp_str text, uint64_t *ns, osp_param_err *err);

/* A point in time as unix nanoseconds: either a decimal integer of nanoseconds, or RFC 3339
 * ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.250+02:00"; 'T' may be 't' or a space,
 * 'Z' may be 'z', fraction up to nanoseconds, more digits are truncated). Times before
 * 1970 or past the uint64 range are rejected. */
int osp_param_time(const char *name, osp_str text, uint64_t *ns, osp_param_err *err);

/* Jaeger's time: unix microseconds as a decimal integer, returned in nanoseconds. */
int osp_param_time_us(const char *name, osp_str text, uint64_t *ns, osp_param_err *err);

/* A result limit: a decimal integer from 1 to max. */
int osp_param_limit(const char *name, osp_str text, size_t max, size_t *limit, osp_param_err *err);

/* A span status filter: "ok", "error" or "unset" (any case) as enum osp_status_code. */
int osp_param_status(const char *name, osp_str text, int *status, osp_param_err *err);

/* A trace id: 32 hex characters, or 16 (a 64-bit Jaeger id, left-padded with zeros). */
int osp_param_trace_id(const char *name, osp_str text, uint8_t id[16], osp_param_err *err);

/* Jaeger's tag filter: a JSON object whose members map keys to strings (numbers and
 * booleans are taken as written), e.g. {"http.status_code":"500","error":"true"}; or
 * logfmt-style pairs separated by spaces, e.g. `error=true http.route="/a b"` (values may
 * be double-quoted with backslash escapes; a bare key means key=true). Appends filters at
 * filters[*n], never past filters[max - 1], and advances *n; keys and values are copied
 * into arena. OSP_EINVAL on bad syntax or more than max filters in all; OSP_ENOMEM when
 * the arena is exhausted. */
int osp_param_tags(const char *name, osp_str text, osp_arena *arena, osp_attr_filter *filters,
                   size_t max, size_t *n, osp_param_err *err);

#endif
