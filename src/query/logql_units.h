/* Numbers, durations and byte sizes as Loki reads them: in queries (the LogQL lexer's
 * "5m", "10KB") and in label values at evaluation time (label filters, unwrap). */
#ifndef OSP_QUERY_LOGQL_UNITS_H
#define OSP_QUERY_LOGQL_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* Go's time.ParseDuration, in nanoseconds: an optional sign, then decimal numbers with
 * fractions, each with a unit among ns us µs μs ms s m h; "0" alone is 0. 0, or -1 with a
 * Go-style message in why (whylen bytes; why may be NULL). */
int osp_logql_parse_duration(osp_str s, int64_t *ns, char *why, size_t whylen);

/* go-humanize's ParseBytes: a number (commas ignored), optional spaces, then a unit, any
 * case (none, B, KB, KiB, K, Ki, ... up to EiB; SI units are powers of 1000, IEC ones of
 * 1024). 0, or -1 with a message in why. */
int osp_logql_parse_bytes(osp_str s, uint64_t *out, char *why, size_t whylen);

/* strconv.ParseFloat: 0, or -1 with Go's message in why. */
int osp_logql_parse_float(osp_str s, double *out, char *why, size_t whylen);

#endif
