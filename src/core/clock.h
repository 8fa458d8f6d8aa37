/* Clock readings as integers: nanoseconds or milliseconds of CLOCK_REALTIME (wall time,
 * for timestamps) or CLOCK_MONOTONIC (for intervals and deadlines). */
#ifndef OSP_CORE_CLOCK_H
#define OSP_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t osp_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int64_t osp_clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
