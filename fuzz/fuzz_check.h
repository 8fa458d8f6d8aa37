/* The check every fuzz target uses: a failed condition aborts, which libFuzzer reports as
 * a crash with the input that caused it. */
#ifndef OSP_FUZZ_FUZZ_CHECK_H
#define OSP_FUZZ_FUZZ_CHECK_H

#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#endif
