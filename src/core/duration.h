/* Prometheus durations, as its configuration, PromQL and HTTP API write them: "1h30m",
 * "500ms", "2w", "0". */
#ifndef OSP_CORE_DURATION_H
#define OSP_CORE_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* Parses text into milliseconds: decimal numbers each followed by a unit, units among
 * y w d h m s ms in that order and each at most once, or "0" alone. 0, OSP_EINVAL
 * (malformed), OSP_ETOOBIG (past the int64 range). */
int osp_prom_duration_parse(osp_str text, int64_t *ms);

/* Writes ms as Prometheus prints a duration ("1m30s", "90d", "2w", "0s"; years and weeks
 * only when they divide it exactly) into buf (n bytes, NUL-terminated, cut to fit). */
void osp_prom_duration_format(int64_t ms, char *buf, size_t n);

#endif
