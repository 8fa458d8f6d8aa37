/* Trace and span id generation: a per-thread xoshiro256** generator seeded from
 * getrandom(), reseeded in a child after fork so parent and child never share ids. */
#include "sdk_int.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"

typedef struct id_rng {
    uint64_t s[4];
    unsigned generation; /* fork_generation when seeded; 0: not seeded */
} id_rng;

static __thread id_rng rng;
static atomic_uint fork_generation = 1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void after_fork_child(void)
{
    atomic_fetch_add(&fork_generation, 1);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Seeds from the kernel; should getrandom fail, from the clocks and the thread's address
 * spread by splitmix64 (unique enough per thread, never all-zero state). */
static void rng_seed(id_rng *r, unsigned generation)
{
    pthread_once(&atfork_once, register_atfork);
    if (getrandom(r->s, sizeof r->s, 0) != (ssize_t)sizeof r->s) {
        uint64_t x =
            osp_clock_ns(CLOCK_REALTIME) ^ osp_clock_ns(CLOCK_MONOTONIC) ^ (uint64_t)(uintptr_t)r;
        for (int i = 0; i < 4; i++)
            r->s[i] = splitmix64(&x);
    }
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1;
    r->generation = generation;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(void)
{
    unsigned generation = atomic_load_explicit(&fork_generation, memory_order_relaxed);
    if (rng.generation != generation)
        rng_seed(&rng, generation);
    uint64_t *s = rng.s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void osprey__new_trace_id(uint8_t id[16])
{
    uint64_t hi, lo;
    do {
        hi = rng_next();
        lo = rng_next();
    } while (!(hi | lo));
    memcpy(id, &hi, 8);
    memcpy(id + 8, &lo, 8);
}

void osprey__new_span_id(uint8_t id[8])
{
    uint64_t v;
    do {
        v = rng_next();
    } while (!v);
    memcpy(id, &v, 8);
}
