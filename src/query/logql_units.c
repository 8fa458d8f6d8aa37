/* Numbers, Go durations and byte sizes as Loki reads them (query/logql_units.h). */
#include "query/logql_units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void why_fmt(char *why, size_t whylen, const char *fmt, osp_str s)
{
    if (why && whylen)
        snprintf(why, whylen, fmt, OSP_STR_FMT(s));
}

int osp_logql_parse_float(osp_str s, double *out, char *why, size_t whylen)
{
    char buf[128], *end;
    if (s.n == 0 || s.n >= sizeof buf || (unsigned char)s.p[0] <= ' ') {
        why_fmt(why, whylen, "strconv.ParseFloat: parsing \"%.*s\": invalid syntax", s);
        return -1;
    }
    memcpy(buf, s.p, s.n);
    buf[s.n] = 0;
    errno = 0;
    *out = strtod(buf, &end);
    if (*end) {
        why_fmt(why, whylen, "strconv.ParseFloat: parsing \"%.*s\": invalid syntax", s);
        return -1;
    }
    if (errno == ERANGE && isinf(*out)) {
        why_fmt(why, whylen, "strconv.ParseFloat: parsing \"%.*s\": value out of range", s);
        return -1;
    }
    return 0;
}

int osp_logql_parse_duration(osp_str s, int64_t *ns, char *why, size_t whylen)
{
    static const struct {
        const char *u;
        uint64_t mult;
    } units[] = {
        {"ns", 1},       {"us", 1000},         {"\xc2\xb5s", 1000},   {"\xce\xbcs", 1000},
        {"ms", 1000000}, {"s", 1000000000ull}, {"m", 60000000000ull}, {"h", 3600000000000ull}};
    osp_str orig = s;
    int neg = 0;
    double total = 0;
    if (s.n && (s.p[0] == '-' || s.p[0] == '+')) {
        neg = s.p[0] == '-';
        s.p++, s.n--;
    }
    if (s.n == 1 && s.p[0] == '0') {
        *ns = 0;
        return 0;
    }
    if (s.n == 0)
        goto invalid;
    while (s.n) {
        size_t i = 0, digits = 0;
        double v = 0, scale = 1;
        for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++, digits++)
            v = v * 10 + (s.p[i] - '0');
        if (i < s.n && s.p[i] == '.')
            for (i++; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++, digits++)
                v += (s.p[i] - '0') * (scale /= 10);
        if (!digits)
            goto invalid;
        size_t u = i;
        while (i < s.n && s.p[i] != '.' && !(s.p[i] >= '0' && s.p[i] <= '9'))
            i++;
        osp_str unit = osp_str_make(s.p + u, i - u);
        size_t k = 0;
        if (unit.n == 0) {
            why_fmt(why, whylen, "time: missing unit in duration \"%.*s\"", orig);
            return -1;
        }
        while (k < sizeof units / sizeof units[0] && !osp_str_eqz(unit, units[k].u))
            k++;
        if (k == sizeof units / sizeof units[0]) {
            if (why && whylen)
                snprintf(why, whylen, "time: unknown unit \"%.*s\" in duration \"%.*s\"",
                         OSP_STR_FMT(unit), OSP_STR_FMT(orig));
            return -1;
        }
        total += v * (double)units[k].mult;
        s.p += i, s.n -= i;
    }
    if (total > 9223372036854775807.0)
        goto invalid;
    *ns = (int64_t)total * (neg ? -1 : 1);
    return 0;
invalid:
    why_fmt(why, whylen, "time: invalid duration \"%.*s\"", orig);
    return -1;
}

int osp_logql_parse_bytes(osp_str s, uint64_t *out, char *why, size_t whylen)
{
    static const struct {
        const char *u;
        double mult;
    } units[] = {{"", 1},        {"b", 1},        {"k", 1e3},  {"kb", 1e3},
                 {"ki", 1024.0}, {"kib", 1024.0}, {"m", 1e6},  {"mb", 1e6},
                 {"mi", 0x1p20}, {"mib", 0x1p20}, {"g", 1e9},  {"gb", 1e9},
                 {"gi", 0x1p30}, {"gib", 0x1p30}, {"t", 1e12}, {"tb", 1e12},
                 {"ti", 0x1p40}, {"tib", 0x1p40}, {"p", 1e15}, {"pb", 1e15},
                 {"pi", 0x1p50}, {"pib", 0x1p50}, {"e", 1e18}, {"eb", 1e18},
                 {"ei", 0x1p60}, {"eib", 0x1p60}};
    char num[128];
    size_t i = 0, n = 0;
    for (; i < s.n && ((s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == '.' || s.p[i] == ','); i++)
        if (s.p[i] != ',' && n + 1 < sizeof num)
            num[n++] = s.p[i];
    double v;
    if (osp_logql_parse_float(osp_str_make(num, n), &v, why, whylen))
        return -1;
    osp_str unit = osp_str_make(s.p + i, s.n - i);
    while (unit.n && (unsigned char)unit.p[0] <= ' ')
        unit.p++, unit.n--;
    while (unit.n && (unsigned char)unit.p[unit.n - 1] <= ' ')
        unit.n--;
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
        if (!osp_str_ieq(unit, osp_str_c(units[k].u)))
            continue;
        v *= units[k].mult;
        if (v >= 0x1p64) {
            why_fmt(why, whylen, "too large: %.*s", s);
            return -1;
        }
        *out = (uint64_t)v;
        return 0;
    }
    why_fmt(why, whylen, "unhandled size name: %.*s", unit);
    return -1;
}
