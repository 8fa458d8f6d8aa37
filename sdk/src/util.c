/* Small shared helpers of libosprey: error messages, hex ids and clock readings. */
#include "sdk_int.h"

#include "core/clock.h"

const char *osprey_strerror(int rc)
{
    switch (rc) {
    case 0:
        return "success";
    case OSPREY_EINVAL:
        return "invalid argument";
    case OSPREY_ENOMEM:
        return "out of memory";
    case OSPREY_EFULL:
        return "queue full, item dropped";
    case OSPREY_EIO:
        return "export failed";
    case OSPREY_ETIMEDOUT:
        return "timed out";
    case OSPREY_ESHUTDOWN:
        return "provider shut down";
    default:
        return "unknown error";
    }
}

void osprey__hex(const uint8_t *id, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
    out[2 * n] = '\0';
}

uint64_t osprey_now_ns(void)
{
    return osp_clock_ns(CLOCK_REALTIME);
}

uint64_t osprey__mono_ns(void)
{
    return osp_clock_ns(CLOCK_MONOTONIC);
}
