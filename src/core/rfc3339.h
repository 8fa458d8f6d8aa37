/* RFC 3339 timestamps ("2026-11-21T10:30:00.123Z", "2026-11-21 10:30:00+02:00"), as the
 * Prometheus API and log shippers write them. */
#ifndef OSP_CORE_RFC3339_H
#define OSP_CORE_RFC3339_H

#include <stdint.h>

#include "core/str.h"

/* Parses an RFC 3339 date-time (T, t or a space between date and time; fractional
 * seconds to the nanosecond, more digits cut off; Z, z or +hh:mm/-hh:mm; a leap second
 * :60 taken as the next second) into unix nanoseconds. 0, OSP_EINVAL (not an RFC 3339
 * date-time, or a field out of range), OSP_ETOOBIG (before 1970 or past 2^64-1 ns). */
int osp_rfc3339_parse(osp_str t, uint64_t *ns);

#endif
