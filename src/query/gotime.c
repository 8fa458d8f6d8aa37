/* Go's time.Time.Format (contract in gotime.h). The layout is read as Go's
 * nextStdChunk reads it: at each byte the longest element that starts there, in Go's order
 * of checks, so "Jan" before "January" is decided the same way ("Janx" is Jan then x, "Jana"
 * is text). */
#include "query/gotime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum elem {
    E_NONE,
    E_LONG_MONTH, /* January */
    E_MONTH,      /* Jan */
    E_NUM_MONTH,  /* 1 */
    E_ZERO_MONTH, /* 01 */
    E_LONG_WDAY,  /* Monday */
    E_WDAY,       /* Mon */
    E_DAY,        /* 2 */
    E_UNDER_DAY,  /* _2 */
    E_ZERO_DAY,   /* 02 */
    E_UNDER_YDAY, /* __2 */
    E_ZERO_YDAY,  /* 002 */
    E_HOUR,       /* 15 */
    E_HOUR12,     /* 3 */
    E_ZERO_HOUR12,
    E_MINUTE, /* 4 */
    E_ZERO_MINUTE,
    E_SECOND, /* 5 */
    E_ZERO_SECOND,
    E_LONG_YEAR, /* 2006 */
    E_YEAR,      /* 06 */
    E_PM,        /* PM */
    E_pm,        /* pm */
    E_TZ,        /* MST */
    E_NUM_ZONE,  /* -0700 and the like */
    E_ISO_ZONE,  /* Z0700 and the like: Z at offset 0 */
    E_FRAC,      /* .000 or .999 */
};

typedef struct chunk {
    enum elem e;
    size_t len;    /* layout bytes it takes */
    char sep;      /* E_FRAC: '.' or ',' */
    int digits;    /* E_FRAC: how many */
    int trim;      /* E_FRAC: .999 (trailing zeros dropped) */
    int zone_form; /* E_NUM_ZONE, E_ISO_ZONE: ZF_ flags */
} chunk;

enum { ZF_COLON = 1, ZF_SHORT = 2, ZF_SECONDS = 4 }; /* -07:00, -07, -070000 */

static int has(osp_str l, size_t i, const char *s)
{
    size_t n = strlen(s);
    return l.n - i >= n && memcmp(l.p + i, s, n) == 0;
}

static int lower_at(osp_str l, size_t i)
{
    return i < l.n && l.p[i] >= 'a' && l.p[i] <= 'z';
}

static int digit_at(osp_str l, size_t i)
{
    return i < l.n && l.p[i] >= '0' && l.p[i] <= '9';
}

/* The element starting at layout byte i, or E_NONE. */
static chunk element(osp_str l, size_t i)
{
    static const struct {
        const char *text; /* after the '-' or 'Z' */
        int form;
    } zones[] = {{"070000", ZF_SECONDS},
                 {"07:00:00", ZF_SECONDS | ZF_COLON},
                 {"0700", 0},
                 {"07:00", ZF_COLON},
                 {"07", ZF_SHORT}};
    static const enum elem zero[] = {E_ZERO_MONTH,  E_ZERO_DAY,    E_ZERO_HOUR12,
                                     E_ZERO_MINUTE, E_ZERO_SECOND, E_YEAR};
    chunk c = {E_NONE, 0, 0, 0, 0, 0};
    switch (l.p[i]) {
    case 'J':
        if (has(l, i, "January"))
            c = (chunk){.e = E_LONG_MONTH, .len = 7};
        else if (has(l, i, "Jan") && !lower_at(l, i + 3))
            c = (chunk){.e = E_MONTH, .len = 3};
        break;
    case 'M':
        if (has(l, i, "Monday"))
            c = (chunk){.e = E_LONG_WDAY, .len = 6};
        else if (has(l, i, "Mon") && !lower_at(l, i + 3))
            c = (chunk){.e = E_WDAY, .len = 3};
        else if (has(l, i, "MST"))
            c = (chunk){.e = E_TZ, .len = 3};
        break;
    case '0':
        if (i + 1 < l.n && l.p[i + 1] >= '1' && l.p[i + 1] <= '6')
            c = (chunk){.e = zero[l.p[i + 1] - '1'], .len = 2};
        else if (has(l, i, "002"))
            c = (chunk){.e = E_ZERO_YDAY, .len = 3};
        break;
    case '1':
        c = has(l, i, "15") ? (chunk){.e = E_HOUR, .len = 2} : (chunk){.e = E_NUM_MONTH, .len = 1};
        break;
    case '2':
        c = has(l, i, "2006") ? (chunk){.e = E_LONG_YEAR, .len = 4} : (chunk){.e = E_DAY, .len = 1};
        break;
    case '_': /* "_2006" is a literal _ then the year: left to the next byte */
        if (has(l, i, "_2") && !has(l, i, "_2006"))
            c = (chunk){.e = E_UNDER_DAY, .len = 2};
        else if (has(l, i, "__2"))
            c = (chunk){.e = E_UNDER_YDAY, .len = 3};
        break;
    case '3':
    case '4':
    case '5':
        c = (chunk){.e = l.p[i] == '3' ? E_HOUR12 : l.p[i] == '4' ? E_MINUTE : E_SECOND, .len = 1};
        break;
    case 'P':
        if (has(l, i, "PM"))
            c = (chunk){.e = E_PM, .len = 2};
        break;
    case 'p':
        if (has(l, i, "pm"))
            c = (chunk){.e = E_pm, .len = 2};
        break;
    case '-':
    case 'Z':
        for (size_t k = 0; k < sizeof zones / sizeof zones[0] && c.e == E_NONE; k++)
            if (has(l, i + 1, zones[k].text))
                c = (chunk){.e = l.p[i] == 'Z' ? E_ISO_ZONE : E_NUM_ZONE,
                            .len = 1 + strlen(zones[k].text),
                            .zone_form = zones[k].form};
        break;
    case '.':
    case ',':
        if (i + 1 < l.n && (l.p[i + 1] == '0' || l.p[i + 1] == '9')) {
            size_t j = i + 1;
            while (j < l.n && l.p[j] == l.p[i + 1])
                j++;
            if (!digit_at(l, j)) /* only digits of one kind up to here */
                c = (chunk){.e = E_FRAC,
                            .len = j - i,
                            .sep = l.p[i],
                            .digits = (int)(j - i - 1),
                            .trim = l.p[i + 1] == '9'};
        }
        break;
    default:
        break;
    }
    return c;
}

static const char *const months[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
static const char *const wdays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                    "Thursday", "Friday", "Saturday"};

/* Appends the fraction of a second: digits of the nanoseconds, trailing zeros dropped
 * when trim (and nothing at all when they are all zero). */
static int put_frac(osp_buf *b, const chunk *c, unsigned nanos)
{
    char d[16];
    snprintf(d, sizeof d, "%09u", nanos);
    int n = c->digits > 9 ? 9 : c->digits;
    if (c->trim)
        while (n > 0 && d[n - 1] == '0')
            n--;
    if (n == 0 && c->trim)
        return 0;
    int rc = osp_buf_putc(b, c->sep);
    return rc ? rc : osp_buf_append(b, d, (size_t)n);
}

/* The numeric elements: which value of the time each prints, and how. */
enum field {
    F_MONTH,
    F_MDAY,
    F_YDAY,
    F_HOUR,
    F_HOUR12,
    F_MINUTE,
    F_SECOND,
    F_YEAR,
    F_YEAR2,
    NFIELDS
};
static const struct {
    enum elem e;
    enum field f;
    const char *fmt;
} numbers[] = {
    {E_NUM_MONTH, F_MONTH, "%d"},  {E_ZERO_MONTH, F_MONTH, "%02d"},
    {E_DAY, F_MDAY, "%d"},         {E_UNDER_DAY, F_MDAY, "%2d"},
    {E_ZERO_DAY, F_MDAY, "%02d"},  {E_UNDER_YDAY, F_YDAY, "%3d"},
    {E_ZERO_YDAY, F_YDAY, "%03d"}, {E_HOUR, F_HOUR, "%02d"},
    {E_HOUR12, F_HOUR12, "%d"},    {E_ZERO_HOUR12, F_HOUR12, "%02d"},
    {E_MINUTE, F_MINUTE, "%d"},    {E_ZERO_MINUTE, F_MINUTE, "%02d"},
    {E_SECOND, F_SECOND, "%d"},    {E_ZERO_SECOND, F_SECOND, "%02d"},
    {E_LONG_YEAR, F_YEAR, "%04d"}, {E_YEAR, F_YEAR2, "%02d"},
};

/* Appends a zone offset of off seconds in form (ZF_ flags), as Go prints -07:00 and its
 * kin: hours, then minutes unless short, then seconds when asked. */
static int put_offset(osp_buf *b, int32_t off, int form)
{
    unsigned a = (unsigned)(off < 0 ? -(int64_t)off : off);
    const char *colon = form & ZF_COLON ? ":" : "";
    int rc = osp_buf_printf(b, "%c%02u", off < 0 ? '-' : '+', a / 3600);
    if (!rc && !(form & ZF_SHORT))
        rc = osp_buf_printf(b, "%s%02u", colon, a / 60 % 60);
    if (!rc && form & ZF_SECONDS)
        rc = osp_buf_printf(b, "%s%02u", colon, a % 60);
    return rc;
}

osp_gotime osp_gotime_utc(int64_t ns)
{
    int64_t sec = ns / 1000000000, rem = ns % 1000000000;
    if (rem < 0)
        sec--, rem += 1000000000;
    return (osp_gotime){.sec = sec, .nsec = (int32_t)rem, .off = 0, .zone = "UTC"};
}

int osp_gotime_format(osp_buf *out, osp_str layout, const osp_gotime *t)
{
    time_t sec = (time_t)(t->sec + t->off);
    unsigned nanos = (unsigned)t->nsec;
    struct tm tm;
    gmtime_r(&sec, &tm);
    const int fields[NFIELDS] = {tm.tm_mon + 1,
                                 tm.tm_mday,
                                 tm.tm_yday + 1,
                                 tm.tm_hour,
                                 tm.tm_hour % 12 ? tm.tm_hour % 12 : 12,
                                 tm.tm_min,
                                 tm.tm_sec,
                                 tm.tm_year + 1900,
                                 (tm.tm_year + 1900) % 100};
    int rc = 0;
    for (size_t i = 0; i < layout.n && rc == 0;) {
        chunk c = element(layout, i);
        if (c.e == E_NONE) {
            rc = osp_buf_putc(out, layout.p[i++]);
            continue;
        }
        i += c.len;
        size_t k = 0;
        while (k < sizeof numbers / sizeof numbers[0] && numbers[k].e != c.e)
            k++;
        if (k < sizeof numbers / sizeof numbers[0]) {
            rc = osp_buf_printf(out, numbers[k].fmt, fields[numbers[k].f]);
            continue;
        }
        switch (c.e) {
        case E_LONG_MONTH:
        case E_MONTH:
            rc = osp_buf_append(out, months[tm.tm_mon],
                                c.e == E_MONTH ? 3 : strlen(months[tm.tm_mon]));
            break;
        case E_LONG_WDAY:
        case E_WDAY:
            rc = osp_buf_append(out, wdays[tm.tm_wday],
                                c.e == E_WDAY ? 3 : strlen(wdays[tm.tm_wday]));
            break;
        case E_PM:
        case E_pm:
            rc = osp_buf_puts(out, tm.tm_hour >= 12 ? (c.e == E_PM ? "PM" : "pm")
                                                    : (c.e == E_PM ? "AM" : "am"));
            break;
        case E_TZ:
            rc = t->zone[0] ? osp_buf_puts(out, t->zone) : put_offset(out, t->off, 0);
            break;
        case E_ISO_ZONE:
            if (t->off == 0) {
                rc = osp_buf_putc(out, 'Z');
                break;
            }
            /* fall through */
        case E_NUM_ZONE:
            rc = put_offset(out, t->off, c.zone_form);
            break;
        case E_FRAC:
            rc = put_frac(out, &c, nanos);
            break;
        default:
            break;
        }
    }
    return rc;
}
