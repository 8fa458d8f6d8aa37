/* LogQL ip() matching (contract in logql_ip.h). */
#include "query/logql_ip.h"

#include <arpa/inet.h>
#include <string.h>

#include "core/err.h"

/* Parses one address of s (not NUL-terminated) into a[16]; 4 or 6 for its family, 0 when
 * it is none. */
static int parse_addr(const char *s, size_t n, uint8_t a[16])
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (memchr(buf, ':', n))
        return inet_pton(AF_INET6, buf, a) == 1 ? 6 : 0;
    return inet_pton(AF_INET, buf, a) == 1 ? 4 : 0;
}

int osp_logql_ip_parse(osp_str pattern, osp_logql_ip *out)
{
    const char *slash = memchr(pattern.p, '/', pattern.n),
               *dash = memchr(pattern.p, '-', pattern.n);
    uint8_t hi[16];
    int fam;
    memset(out, 0, sizeof *out);
    if (slash) { /* a/n */
        fam = parse_addr(pattern.p, (size_t)(slash - pattern.p), out->lo);
        const char *d = slash + 1, *end = pattern.p + pattern.n;
        unsigned bits = 0, max = fam == 6 ? 128 : 32;
        if (!fam || d == end || end - d > 3 || (*d == '0' && end - d > 1))
            return OSP_EPARSE;
        for (; d < end; d++) {
            if (*d < '0' || *d > '9')
                return OSP_EPARSE;
            bits = bits * 10 + (unsigned)(*d - '0');
        }
        if (bits > max)
            return OSP_EPARSE;
        for (unsigned i = 0; i < max / 8; i++) {
            unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
            uint8_t mask = (uint8_t)(0xff00u >> keep);
            out->hi[i] = out->lo[i] | (uint8_t)~mask;
            out->lo[i] &= mask;
        }
    } else if (dash) { /* a-b */
        fam = parse_addr(pattern.p, (size_t)(dash - pattern.p), out->lo);
        size_t rest = (size_t)(pattern.p + pattern.n - dash - 1);
        if (!fam || parse_addr(dash + 1, rest, hi) != fam ||
            memcmp(out->lo, hi, fam == 6 ? 16 : 4) > 0)
            return OSP_EPARSE;
        memcpy(out->hi, hi, sizeof hi);
    } else {
        fam = parse_addr(pattern.p, pattern.n, out->lo);
        if (!fam)
            return OSP_EPARSE;
        memcpy(out->hi, out->lo, sizeof out->hi);
    }
    out->v6 = fam == 6;
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The length of the run at s[0..n) of bytes in set. */
static size_t span(const char *s, size_t n, const char *set)
{
    size_t i = 0;
    while (i < n && s[i] && strchr(set, s[i]))
        i++;
    return i;
}

/* 1 when s[0..n) is an address within ip. */
static int within(const osp_logql_ip *ip, const char *s, size_t n)
{
    uint8_t a[16];
    int fam = parse_addr(s, n, a);
    size_t k = ip->v6 ? 16 : 4;
    return fam == (ip->v6 ? 6 : 4) && memcmp(ip->lo, a, k) <= 0 && memcmp(a, ip->hi, k) <= 0;
}

/* Loki's hints: where an IPv4 or IPv6 candidate may start. */
static int v4_hint(const char *s)
{
    return is_digit(s[0]) && (s[1] == '.' || s[2] == '.' || s[3] == '.');
}

static int v6_hint(const char *s)
{
    if (s[0] == ':' && s[1] == ':' && is_hex(s[2]))
        return 1;
    for (int k = 1; k <= 4; k++) {
        if (!is_hex(s[k - 1]))
            return 0;
        if (s[k] == ':')
            return 1;
    }
    return 0;
}

int osp_logql_ip_find(const osp_logql_ip *ip, osp_str text)
{
    const char *s = text.p;
    size_t n = text.n;
    for (size_t i = 0; i < n; i++) {
        const char *set = i + 3 < n && v4_hint(s + i)   ? "0123456789."
                          : i + 4 < n && v6_hint(s + i) ? "0123456789abcdefABCDEF:."
                                                        : NULL;
        if (!set)
            continue;
        size_t len = span(s + i, n - i, set);
        if (within(ip, s + i, len))
            return 1;
        i += len; /* the loop's step then passes the byte that ended it, as Loki's does */
    }
    return 0;
}
