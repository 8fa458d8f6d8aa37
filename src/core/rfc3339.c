/* RFC 3339 timestamps (core/rfc3339.h). */
#include "core/rfc3339.h"

#include "core/err.h"

#define NS_PER_S 1000000000ULL

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Exactly n digits at p. 0 or -1. */
static int fixed_digits(const char *p, size_t n, unsigned *v)
{
    unsigned x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return -1;
        x = x * 10 + (unsigned)(p[i] - '0');
    }
    *v = x;
    return 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned char days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

/* Days from 1970-01-01 to a proleptic Gregorian date (negative before). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int osp_rfc3339_parse(osp_str t, uint64_t *ns)
{
    const char *p = t.p;
    unsigned y, mo, d, h, mi, s, oh = 0, om = 0;
    if (t.n < 20 || fixed_digits(p, 4, &y) || p[4] != '-' || fixed_digits(p + 5, 2, &mo) ||
        p[7] != '-' || fixed_digits(p + 8, 2, &d) ||
        (p[10] != 'T' && p[10] != 't' && p[10] != ' ') || fixed_digits(p + 11, 2, &h) ||
        p[13] != ':' || fixed_digits(p + 14, 2, &mi) || p[16] != ':' || fixed_digits(p + 17, 2, &s))
        return OSP_EINVAL;
    size_t i = 19;
    uint64_t frac = 0, scale = NS_PER_S;
    if (p[i] == '.') {
        size_t first = ++i;
        for (; i < t.n && is_digit(p[i]); i++)
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t)(p[i] - '0') * scale;
            }
        if (i == first)
            return OSP_EINVAL;
    }
    int sign = 0;
    if (i + 1 == t.n && (p[i] == 'Z' || p[i] == 'z')) {
        i++;
    } else if (i + 6 == t.n && (p[i] == '+' || p[i] == '-') && !fixed_digits(p + i + 1, 2, &oh) &&
               p[i + 3] == ':' && !fixed_digits(p + i + 4, 2, &om)) {
        sign = p[i] == '+' ? 1 : -1;
        i += 6;
    }
    if (i != t.n)
        return OSP_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 ||
        oh > 23 || om > 59)
        return OSP_EINVAL;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
                   sign * (int64_t)(oh * 3600 + om * 60);
    if (secs < 0 || (uint64_t)secs > (UINT64_MAX - frac) / NS_PER_S)
        return OSP_ETOOBIG;
    *ns = (uint64_t)secs * NS_PER_S + frac;
    return 0;
}
