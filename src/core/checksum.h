/* Checksums of on-disk blocks: XXH64 with seed 0. Fuzzing builds accept any stored sum so
 * that mutated inputs reach the decoders behind the check. */
#ifndef OSP_CORE_CHECKSUM_H
#define OSP_CORE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <xxhash.h>

/* 1 when the n bytes at p hash to want (always 1 in fuzzing builds), else 0. */
static inline int osp_checksum_ok(const void *p, size_t n, uint64_t want)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)p;
    (void)n;
    (void)want;
    return 1;
#else
    return XXH64(p, n, 0) == want;
#endif
}

#endif
