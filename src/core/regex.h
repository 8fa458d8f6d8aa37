/* POSIX extended regexes with guards for untrusted patterns (queries, configuration):
 * glibc's regcomp can take exponential memory on stacked or large counted repetitions,
 * so those are refused before compiling, as RE2 (Prometheus's engine) refuses them. */
#ifndef OSP_CORE_REGEX_H
#define OSP_CORE_REGEX_H

#include <regex.h>
#include <stddef.h>

#define OSP_REGEX_MAX_LEN 4096    /* pattern bytes */
#define OSP_REGEX_MAX_REPEAT 1000 /* largest {n,m} bound, as in RE2 */

/* Compiles pattern (NUL-terminated) with regcomp(flags) after checking it: no longer than
 * OSP_REGEX_MAX_LEN, no back-references, no repetition operator applied to another
 * (a++, a*{2}), counted bounds at most OSP_REGEX_MAX_REPEAT and their product over the
 * pattern at most 100000. Returns 0 (re must be regfree'd), or OSP_EINVAL with a message
 * in err (when errlen > 0) naming the problem. */
int osp_regex_compile(regex_t *re, const char *pattern, int flags, char *err, size_t errlen);

#endif
