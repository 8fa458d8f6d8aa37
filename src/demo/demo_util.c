/* The demo fleet's small helpers: per-thread randomness, scaled delays, JSON field reads. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "demo/demo_int.h"

#define PAUSE_STEP_MS 50.0 /* how often a long pause checks for the fleet stopping */

/* splitmix64, seeded per thread from the clock and a global sequence. */
static uint64_t next_random(void)
{
    static atomic_uint_fast64_t seq;
    static _Thread_local uint64_t state;
    if (!state)
        state = osp_clock_ns(CLOCK_MONOTONIC) ^ (atomic_fetch_add(&seq, 1) * 0x9e3779b97f4a7c15ull);
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double osp_demo_rand(void)
{
    return (double)(next_random() >> 11) / 9007199254740992.0;
}

bool osp_demo_chance(double p)
{
    return osp_demo_rand() < p;
}

int64_t osp_demo_between(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(osp_demo_rand() * (double)(hi - lo + 1));
}

double osp_demo_lognormal(double median, double sigma)
{
    double u1 = osp_demo_rand(), u2 = osp_demo_rand();
    double normal = sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
    return median * exp(sigma * normal);
}

static void sleep_ms(double ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(fmod(ms, 1000) * 1e6)};
    nanosleep(&ts, NULL);
}

void osp_demo_pause(const osp_demo_fleet *f, double ms)
{
    double left = ms * f->opt.delay_scale;
    while (left > 0 && !atomic_load(&f->stopping)) {
        double step = left < PAUSE_STEP_MS ? left : PAUSE_STEP_MS;
        sleep_ms(step);
        left -= step;
    }
}

uint32_t osp_demo_scaled_ms(const osp_demo_fleet *f, double ms, uint32_t floor_ms)
{
    double v = ms * f->opt.delay_scale;
    return v < floor_ms ? floor_ms : (uint32_t)v;
}

/* The start of the value of "key" (after the colon and blanks), or NULL. */
static const char *json_value(osp_str json, const char *key)
{
    size_t klen = strlen(key);
    const char *end = json.p + json.n;
    for (const char *p = json.p; p && p + klen + 2 < end; p++) {
        p = memchr(p, '"', (size_t)(end - p));
        if (!p || p + klen + 2 > end)
            return NULL;
        if (memcmp(p + 1, key, klen) || p[klen + 1] != '"')
            continue;
        const char *v = p + klen + 2;
        while (v < end && (*v == ' ' || *v == ':'))
            v++;
        return v < end ? v : NULL;
    }
    return NULL;
}

bool osp_demo_json_str(osp_str json, const char *key, char *out, size_t cap)
{
    const char *v = json_value(json, key), *end = json.p + json.n;
    if (!v || *v != '"' || cap == 0)
        return false;
    size_t n = 0;
    for (v++; v < end && *v != '"'; v++) {
        if (*v == '\\' && v + 1 < end && n + 1 < cap)
            out[n++] = *v++;
        if (n + 1 < cap)
            out[n++] = *v;
    }
    out[n] = '\0';
    return true;
}

int64_t osp_demo_json_int(osp_str json, const char *key, int64_t def)
{
    const char *v = json_value(json, key), *end = json.p + json.n;
    char digits[24];
    size_t n = 0;
    if (!v)
        return def;
    while (v < end && n + 1 < sizeof digits && (*v == '-' || (*v >= '0' && *v <= '9')))
        digits[n++] = *v++;
    digits[n] = '\0';
    return n ? strtoll(digits, NULL, 10) : def;
}
