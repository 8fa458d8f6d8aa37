/* Go's time.Time.Format and time.ParseInLocation for templates: a layout written with Go's
 * reference time (Mon Jan 2 15:04:05 MST 2006) applied to a time in its zone, or read back. */
#ifndef OSP_QUERY_GOTIME_H
#define OSP_QUERY_GOTIME_H

#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"
#include "query/tzone.h"

/* A time as Go's time.Time holds it: an instant and the zone it is shown in. */
typedef struct osp_gotime {
    int64_t sec;   /* seconds since 1970-01-01 UTC (Go's zero time is -62135596800) */
    int32_t nsec;  /* [0, 999999999] */
    int32_t off;   /* the zone's offset east of UTC, in seconds */
    char zone[12]; /* its abbreviation ("UTC", "CET"); "" prints as the offset, as in Go */
} osp_gotime;

/* Go's zero time, 0001-01-01 00:00:00 UTC, in seconds since 1970. */
#define OSP_GOTIME_ZERO_SEC INT64_C(-62135596800)

/* t at Unix nanoseconds ns, in UTC. */
osp_gotime osp_gotime_utc(int64_t ns);

/* The instant sec + nsec/1e9 (nsec in [0, 999999999]) shown in zone z, NULL meaning UTC, as
 * Go's t.In(z). */
osp_gotime osp_gotime_in(int64_t sec, int32_t nsec, const osp_tzone *z);

/* Appends t formatted by layout, as Go's Format does: the layout's elements (2006 06
 * January Jan 01 1 Monday Mon 02 2 _2 002 __2 15 03 3 04 4 05 5 PM pm MST, the -07:00 and
 * Z07:00 zone forms and .000 / .999 / ,000 fractions) are replaced, everything else is
 * copied. 0 or the buffer's error. */
int osp_gotime_format(osp_buf *out, osp_str layout, const osp_gotime *t);

/* Reads value as layout describes it, as Go's time.ParseInLocation(layout, value, loc) does
 * (loc NULL: UTC). The layout's elements are those osp_gotime_format writes; spaces in it
 * match any run of spaces; names match in any case; a fraction of a second may follow the
 * seconds even when the layout has none; what the layout leaves out is 0, or 1 for month
 * and day (the year is 0). The zone: 'Z' or "UTC" is UTC; a numeric offset takes loc's zone
 * when loc has that offset then, else a zone with no abbreviation (printed as the offset);
 * an abbreviation takes the offset loc gives it, else is kept with offset 0 ("GMT+3" with
 * +3 h, though the time read is then taken as UTC, as in Go); with neither the reading is
 * loc's wall clock (see osp_tzone_from_wall). Abbreviations are cut to 11 bytes. 0 with
 * *out; OSP_EPARSE with *out Go's zero time (OSP_GOTIME_ZERO_SEC, UTC) and Go's message in
 * err (errlen bytes, NUL-terminated, cut to fit; err may be NULL): for layout "2006-01-02",
 *   parsing time "2021-1-01" as "2006-01-02": cannot parse "1-01" as "01"
 *   parsing time "2021-13-01": month out of range */
int osp_gotime_parse(osp_str layout, osp_str value, const osp_tzone *loc, osp_gotime *out,
                     char *err, size_t errlen);

#endif
