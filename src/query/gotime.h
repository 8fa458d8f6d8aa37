/* Go's time.Time.Format for templates: a layout written with Go's reference time
 * (Mon Jan 2 15:04:05 MST 2006) applied to a time, in UTC. */
#ifndef OSP_QUERY_GOTIME_H
#define OSP_QUERY_GOTIME_H

#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"

/* Appends the time ns (nanoseconds since the Unix epoch, UTC) formatted by layout, as Go's
 * Format does: the layout's elements (2006 06 January Jan 01 1 Monday Mon 02 2 _2 002 __2
 * 15 03 3 04 4 05 5 PM pm MST, the -07:00 and Z07:00 zone forms and .000 / .999 / ,000
 * fractions) are replaced, everything else is copied. The zone is UTC ("UTC", +00:00, Z).
 * 0 or the buffer's error. */
int osp_gotime_format(osp_buf *out, osp_str layout, uint64_t ns);

#endif
