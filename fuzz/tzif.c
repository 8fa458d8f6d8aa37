/* libFuzzer target for TZif zone files (src/query/tzone.c): the input is one file. Checks: a
 * refused file always says why; a zone that parses answers lookups, wall-clock conversions
 * and abbreviation lookups at assorted instants (the ends of time, every transition the
 * input's bytes could name, years 1800-2200) with offsets within 26 h, abbreviations that
 * fit, and wall-clock answers within a day of the reading. */
#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "fuzz_check.h"
#include "query/tzone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DAY_MAX (26 * 3600)

static void check_at(const osp_tzone *z, int64_t t)
{
    int32_t off, off2;
    const char *abbr = osp_tzone_lookup(z, t, &off);
    CHECK(off > -DAY_MAX && off < DAY_MAX);
    CHECK(strlen(abbr) < OSP_TZONE_ABBR_SIZE);
    int64_t at = osp_tzone_from_wall(z, t), diff;
    CHECK(__builtin_sub_overflow(t, at, &diff) || (diff > -DAY_MAX && diff < DAY_MAX));
    if (osp_tzone_abbr_offset(z, osp_str_c(abbr), t, &off2))
        CHECK(off2 > -DAY_MAX && off2 < DAY_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osp_tzone *z = NULL;
    char err[128] = "";
    int rc = osp_tzone_parse(data, size, &z, err, sizeof err);
    if (rc != 0) {
        CHECK(rc == OSP_ECORRUPT && err[0] != '\0');
        return 0;
    }
    static const int64_t ends[] = {
        INT64_MIN, INT64_MIN + 1, -((int64_t)1 << 59),    -62135596800,  -1,       0,
        1,         INT32_MAX,     ((int64_t)1 << 45) + 1, INT64_MAX - 1, INT64_MAX};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
        check_at(z, ends[i]);
    for (int64_t y = 1800; y <= 2200; y += 3) /* across the footer's years */
        for (int m = 1; m <= 12; m += 4)
            check_at(z, osp_tzone_days_from_civil(y, m, 1) * 86400 + y * 97 % 86400);
    for (size_t i = 0; i + 8 <= size; i += 8) { /* instants near whatever the bytes hold */
        uint64_t v = 0;
        for (int k = 0; k < 8; k++)
            v = v << 8 | data[i + k];
        check_at(z, (int64_t)v);
        check_at(z, (int64_t)(int32_t)(v >> 32));
        check_at(z, (int64_t)(int32_t)(v >> 32) - 1);
    }
    osp_tzone_destroy(z);
    return 0;
}
