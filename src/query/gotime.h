/* Go's time.Time.Format for templates: a layout written with Go's reference time
 * (Mon Jan 2 15:04:05 MST 2006) applied to a time in its zone. */
#ifndef OSP_QUERY_GOTIME_H
#define OSP_QUERY_GOTIME_H

#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"

/* A time as Go's time.Time holds it: an instant and the zone it is shown in. */
typedef struct osp_gotime {
    int64_t sec;   /* seconds since 1970-01-01 UTC (Go's zero time is -62135596800) */
    int32_t nsec;  /* [0, 999999999] */
    int32_t off;   /* the zone's offset east of UTC, in seconds */
    char zone[12]; /* its abbreviation ("UTC", "CET"); "" prints as the offset, as in Go */
} osp_gotime;

/* t at Unix nanoseconds ns, in UTC. */
osp_gotime osp_gotime_utc(int64_t ns);

/* Appends t formatted by layout, as Go's Format does: the layout's elements (2006 06
 * January Jan 01 1 Monday Mon 02 2 _2 002 __2 15 03 3 04 4 05 5 PM pm MST, the -07:00 and
 * Z07:00 zone forms and .000 / .999 / ,000 fractions) are replaced, everything else is
 * copied. 0 or the buffer's error. */
int osp_gotime_format(osp_buf *out, osp_str layout, const osp_gotime *t);

#endif
