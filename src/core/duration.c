/* Prometheus durations (core/duration.h). */
#include "core/duration.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

int osp_prom_duration_parse(osp_str text, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"y", 365LL * 24 * 3600 * 1000},
                 {"w", 7LL * 24 * 3600 * 1000},
                 {"d", 24LL * 3600 * 1000},
                 {"h", 3600LL * 1000},
                 {"m", 60LL * 1000},
                 {"s", 1000},
                 {"ms", 1}};
    const char *z = text.p, *end = text.p + text.n;
    int64_t total = 0;
    size_t next = 0; /* units must appear in this order, each at most once */

    if (osp_str_eqz(text, "0")) {
        *ms = 0;
        return 0;
    }
    if (text.n == 0)
        return OSP_EINVAL;
    while (z < end) {
        if (*z < '0' || *z > '9')
            return OSP_EINVAL;
        int64_t v = 0;
        while (z < end && *z >= '0' && *z <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return OSP_ETOOBIG;
            v = v * 10 + (*z++ - '0');
        }
        size_t u;
        if (z == end)
            return OSP_EINVAL;
        if (z + 1 < end && z[0] == 'm' && z[1] == 's')
            u = 6;
        else {
            for (u = 0; u < 6; u++)
                if (*z == units[u].unit[0])
                    break;
            if (u == 6)
                return OSP_EINVAL;
        }
        if (u < next)
            return OSP_EINVAL;
        next = u + 1;
        z += strlen(units[u].unit);
        if (v > (INT64_MAX - total) / units[u].ms)
            return OSP_ETOOBIG;
        total += v * units[u].ms;
    }
    *ms = total;
    return 0;
}

void osp_prom_duration_format(int64_t ms, char *buf, size_t n)
{
    static const struct {
        const char *unit;
        int64_t mult;
        int exact; /* years and weeks only when nothing smaller remains */
    } units[] = {
        {"y", 365LL * 24 * 3600 * 1000, 1},
        {"w", 7LL * 24 * 3600 * 1000, 1},
        {"d", 24LL * 3600 * 1000, 0},
        {"h", 3600LL * 1000, 0},
        {"m", 60LL * 1000, 0},
        {"s", 1000, 0},
        {"ms", 1, 0},
    };
    size_t used = 0;

    if (n == 0)
        return;
    buf[0] = '\0';
    if (ms <= 0) {
        snprintf(buf, n, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (units[i].exact && ms % units[i].mult != 0)
            continue;
        int64_t v = ms / units[i].mult;
        if (v > 0 && used < n) {
            int w = snprintf(buf + used, n - used, "%" PRId64 "%s", v, units[i].unit);
            used += w > 0 ? (size_t)w : 0;
            ms -= v * units[i].mult;
        }
    }
}
