/* Guarded regcomp: POSIX extended regexes from untrusted patterns, with the repetitions
 * that make glibc's regcomp take exponential memory refused before compiling. */
#include "core/regex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define MAX_REPEAT_PRODUCT 100000

static int refuse(char *err, size_t errlen, const char *why)
{
    if (errlen)
        snprintf(err, errlen, "%s", why);
    return OSP_EINVAL;
}

/* Index just past the bracket expression starting at p[i] == '['. */
static size_t skip_bracket(const char *p, size_t i, size_t n)
{
    i++;
    if (i < n && p[i] == '^')
        i++;
    if (i < n && p[i] == ']')
        i++;
    while (i < n && p[i] != ']') {
        if (p[i] == '[' && i + 1 < n && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
            const char *close = strstr(p + i + 2, (char[]){p[i + 1], ']', 0});
            i = close ? (size_t)(close - p) + 2 : n;
        } else {
            i++;
        }
    }
    return i < n ? i + 1 : n;
}

/* Checks the pattern's repetitions; 0 or OSP_EINVAL with err set. */
static int check(const char *p, size_t n, char *err, size_t errlen)
{
    unsigned long long product = 1;
    int after_repeat = 0; /* the previous token was a repetition operator */
    for (size_t i = 0; i < n;) {
        char c = p[i];
        if (c == '\\') {
            if (i + 1 < n && p[i + 1] >= '1' && p[i + 1] <= '9')
                return refuse(err, errlen, "back-references are not supported");
            i += 2;
            after_repeat = 0;
        } else if (c == '[') {
            i = skip_bracket(p, i, n);
            after_repeat = 0;
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (after_repeat)
                return refuse(err, errlen, "invalid nested repetition operator");
            if (c == '{') {
                char *end;
                unsigned long lo = strtoul(p + i + 1, &end, 10), hi = lo;
                if (*end == ',')
                    hi = end[1] == '}' ? lo : strtoul(end + 1, &end, 10);
                if (lo > OSP_REGEX_MAX_REPEAT || hi > OSP_REGEX_MAX_REPEAT)
                    return refuse(err, errlen, "repetition count above 1000");
                product *= hi ? hi : 1;
                if (product > MAX_REPEAT_PRODUCT)
                    return refuse(err, errlen, "counted repetitions too large in total");
                const char *close = memchr(p + i, '}', n - i);
                i = close ? (size_t)(close - p) + 1 : n;
            } else {
                i++;
            }
            after_repeat = 1;
        } else {
            i++;
            after_repeat = 0;
        }
    }
    return 0;
}

int osp__regex_compile_n(regex_t *re, const char *p, size_t n, int flags, char *err, size_t errlen)
{
    int rc = check(p, n, err, errlen);
    if (rc)
        return rc;
    rc = regcomp(re, p, flags);
    if (rc) {
        if (errlen)
            regerror(rc, re, err, errlen);
        return OSP_EINVAL;
    }
    return 0;
}

int osp_regex_compile(regex_t *re, const char *pattern, int flags, char *err, size_t errlen)
{
    size_t n = strlen(pattern);
    if (n > OSP_REGEX_MAX_LEN)
        return refuse(err, errlen, "regular expression too long");
    return osp__regex_compile_n(re, pattern, n, flags, err, errlen);
}
