/* Guarded POSIX regular expressions for untrusted patterns (queries, configuration).
 *
 * glibc's regcomp can take exponential memory on stacked or large counted repetitions, so
 * those are refused before compiling, as RE2 (Prometheus's engine) refuses them. RE2 syntax
 * on top of these guards is core/re2.h. */
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

/* Internal, for core/re2.c: osp_regex_compile's checks and regcomp on p (NUL-terminated,
 * n bytes) without the OSP_REGEX_MAX_LEN limit, for translated patterns that may be longer
 * than their source (the caller bounds them). Same returns as osp_regex_compile. */
int osp__regex_compile_n(regex_t *re, const char *p, size_t n, int flags, char *err, size_t errlen);

#endif
