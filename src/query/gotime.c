/* Go's time.Time.Format and time.ParseInLocation (contract in gotime.h). The layout is read
 * as Go's nextStdChunk reads it: at each byte the longest element that starts there, in Go's
 * order of checks, so "Jan" before "January" is decided the same way ("Janx" is Jan then x,
 * "Jana" is text). Both directions use that one reading. */
#include "query/gotime.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"

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
    int digits;    /* E_FRAC: how many, modulo 4096 as Go keeps them */
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
                            .digits = (int)((j - i - 1) & 0xfff),
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
enum field { F_MONTH, F_MDAY, F_YDAY, F_HOUR, F_HOUR12, F_MINUTE, F_SECOND, NFIELDS };
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

/* Appends the year as 2006 (at least four digits, a '-' before) or 06 prints it. */
static int put_year(osp_buf *b, enum elem e, int64_t year)
{
    long long a = year < 0 ? -(long long)year : (long long)year;
    if (e == E_YEAR)
        return osp_buf_printf(b, "%02lld", a % 100);
    return osp_buf_printf(b, "%s%04lld", year < 0 ? "-" : "", a);
}

/* Sets t's abbreviation to the n bytes at p, cut to fit. */
static void set_zone(osp_gotime *t, const char *p, size_t n)
{
    n = n < sizeof t->zone - 1 ? n : sizeof t->zone - 1;
    if (n > 0)
        memcpy(t->zone, p, n);
    t->zone[n] = '\0';
}

osp_gotime osp_gotime_utc(int64_t ns)
{
    int64_t sec = ns / 1000000000, rem = ns % 1000000000;
    if (rem < 0)
        sec--, rem += 1000000000;
    return (osp_gotime){.sec = sec, .nsec = (int32_t)rem, .off = 0, .zone = "UTC"};
}

osp_gotime osp_gotime_in(int64_t sec, int32_t nsec, const osp_tzone *z)
{
    osp_gotime t = {.sec = sec, .nsec = nsec};
    const char *abbr = osp_tzone_lookup(z ? z : osp_tzone_utc(), sec, &t.off);
    set_zone(&t, abbr, strlen(abbr));
    return t;
}

/* Appends what element c prints for t, whose wall clock reads w. */
static int put_elem(osp_buf *out, const chunk *c, const osp_gotime *t, const osp_civil *w)
{
    const int fields[NFIELDS] = {
        w->month, w->day, w->yday, w->hour, w->hour % 12 ? w->hour % 12 : 12, w->min, w->sec};
    for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++)
        if (numbers[k].e == c->e)
            return osp_buf_printf(out, numbers[k].fmt, fields[numbers[k].f]);
    switch (c->e) {
    case E_LONG_YEAR:
    case E_YEAR:
        return put_year(out, c->e, w->year);
    case E_LONG_MONTH:
    case E_MONTH:
        return osp_buf_append(out, months[w->month - 1],
                              c->e == E_MONTH ? 3 : strlen(months[w->month - 1]));
    case E_LONG_WDAY:
    case E_WDAY:
        return osp_buf_append(out, wdays[w->wday], c->e == E_WDAY ? 3 : strlen(wdays[w->wday]));
    case E_PM:
    case E_pm:
        return osp_buf_puts(out, w->hour >= 12 ? (c->e == E_PM ? "PM" : "pm")
                                               : (c->e == E_PM ? "AM" : "am"));
    case E_TZ:
        return t->zone[0] ? osp_buf_puts(out, t->zone) : put_offset(out, t->off, 0);
    case E_ISO_ZONE:
        if (t->off == 0)
            return osp_buf_putc(out, 'Z');
        return put_offset(out, t->off, c->zone_form);
    case E_NUM_ZONE:
        return put_offset(out, t->off, c->zone_form);
    case E_FRAC:
        return put_frac(out, c, (unsigned)t->nsec);
    default:
        return 0;
    }
}

int osp_gotime_format(osp_buf *out, osp_str layout, const osp_gotime *t)
{
    int64_t wall;
    if (__builtin_add_overflow(t->sec, (int64_t)t->off, &wall))
        wall = t->off > 0 ? INT64_MAX : INT64_MIN;
    osp_civil w = osp_tzone_civil(wall);
    int rc = 0;
    for (size_t i = 0; i < layout.n && rc == 0;) {
        chunk c = element(layout, i);
        if (c.e == E_NONE) {
            rc = osp_buf_putc(out, layout.p[i++]);
            continue;
        }
        i += c.len;
        rc = put_elem(out, &c, t, &w);
    }
    return rc;
}

/* ---- parsing ---- */

/* What a parse has read so far (Go's parse locals). */
typedef struct reading {
    int64_t year;
    int month, day, yday; /* -1 until read */
    int hour, min, sec, nsec;
    int am, pm;
    int utc;      /* 'Z' or "UTC" read */
    int zoff;     /* offset read; -1 for none, so that "-000001" reads as none, as in Go */
    osp_str zone; /* abbreviation read (into the value) */
} reading;

/* The first element in l at or after *at, which is left at its start (l.n and E_NONE when
 * there is none). */
static chunk next_chunk(osp_str l, size_t *at)
{
    for (; *at < l.n; ++*at) {
        chunk c = element(l, *at);
        if (c.e != E_NONE)
            return c;
    }
    return (chunk){.e = E_NONE};
}

static void drop(osp_str *v, size_t n)
{
    v->p += n, v->n -= n;
}

/* Go's atoi: an optional sign, then decimal digits (none is 0), and nothing else. */
static int go_atoi(osp_str s, int64_t *out)
{
    size_t i = s.n > 0 && (s.p[0] == '-' || s.p[0] == '+');
    uint64_t x = 0;
    for (size_t k = i; k < s.n; k++) {
        if (!digit_at(s, k) || x > (UINT64_C(1) << 63) / 10)
            return -1;
        x = x * 10 + (uint64_t)(s.p[k] - '0');
        if (x > UINT64_C(1) << 63)
            return -1;
    }
    *out = i && s.p[0] == '-' ? (int64_t)(0 - x) : (int64_t)x;
    return 0;
}

/* One or two digits (exactly two when fixed), as Go's getnum. */
static int getnum(osp_str *v, int fixed, int *out)
{
    if (!digit_at(*v, 0) || (fixed && !digit_at(*v, 1)))
        return -1;
    size_t n = digit_at(*v, 1) ? 2 : 1;
    *out = n == 2 ? (v->p[0] - '0') * 10 + (v->p[1] - '0') : v->p[0] - '0';
    drop(v, n);
    return 0;
}

/* One to three digits (exactly three when fixed), as Go's getnum3. */
static int getnum3(osp_str *v, int fixed, int *out)
{
    size_t i = 0;
    int n = 0;
    for (; i < 3 && digit_at(*v, i); i++)
        n = n * 10 + (v->p[i] - '0');
    if (i == 0 || (fixed && i != 3))
        return -1;
    *out = n;
    drop(v, i);
    return 0;
}

/* ASCII letters equal in any case, other bytes exactly (Go's match). */
static int name_match(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i] | 0x20, y = b[i] | 0x20;
        if (a[i] != b[i] && (x != y || x < 'a' || x > 'z'))
            return 0;
    }
    return 1;
}

/* Which of the names (whole, or their first three letters when short) v starts with. */
static int lookup_name(const char *const *names, int count, int short_, osp_str *v)
{
    for (int k = 0; k < count; k++) {
        size_t n = short_ ? 3 : strlen(names[k]);
        if (v->n >= n && name_match(v->p, names[k], n)) {
            drop(v, n);
            return k;
        }
    }
    return -1;
}

/* Go's parseNanoseconds: a '.' or ',' and up to nine digits of the nbytes at v (the
 * digits may carry a sign, as Go's atoi allows). 0, -1 (not a fraction) or 1 (negative). */
static int read_nanos(osp_str v, size_t nbytes, int *nsec)
{
    int64_t ns;
    if (v.p[0] != '.' && v.p[0] != ',')
        return -1;
    nbytes = nbytes > 10 ? 10 : nbytes;
    if (go_atoi(osp_str_make(v.p + 1, nbytes - 1), &ns))
        return -1;
    if (ns < 0)
        return 1;
    for (size_t k = nbytes; k < 10; k++)
        ns *= 10;
    *nsec = (int)ns;
    return 0;
}

/* The optional fraction after the seconds when the layout has no fraction next. */
static int read_sec_frac(reading *r, osp_str *v, osp_str layout, size_t rest, const char **range)
{
    if (v->n < 2 || (v->p[0] != '.' && v->p[0] != ',') || !digit_at(*v, 1) ||
        next_chunk(layout, &rest).e == E_FRAC)
        return 0;
    size_t n = 2;
    while (digit_at(*v, n))
        n++;
    int rc = read_nanos(*v, n, &r->nsec);
    if (rc > 0)
        *range = "fractional second";
    drop(v, n);
    return rc < 0 ? -1 : 0;
}

/* A fraction element: .000 wants its digits exactly, .999 any number or none. */
static int read_frac(reading *r, const chunk *c, osp_str *v, const char **range)
{
    size_t n;
    if (c->trim) {
        if (v->n < 2 || (v->p[0] != '.' && v->p[0] != ',') || !digit_at(*v, 1))
            return 0;
        for (n = 2; digit_at(*v, n); n++)
            ;
    } else {
        n = 1 + (size_t)c->digits;
        if (v->n < n)
            return -1;
    }
    int rc = read_nanos(*v, n, &r->nsec);
    if (rc > 0)
        *range = "fractional second";
    drop(v, n);
    return rc < 0 ? -1 : 0;
}

/* Two digits at v[i], or -1. */
static int two_digits(osp_str v, size_t i)
{
    return digit_at(v, i) && digit_at(v, i + 1) ? (v.p[i] - '0') * 10 + (v.p[i + 1] - '0') : -1;
}

/* A numeric offset in form (ZF_ flags): a sign, hours, minutes unless short, seconds when
 * the form has them; 24 h, 60 min and 60 s pass, as in Go. */
static int read_offset(reading *r, int form, osp_str *v, const char **range)
{
    size_t colon = form & ZF_COLON ? 1 : 0, m_at = 3 + colon, s_at = m_at + 2 + colon;
    size_t need = form & ZF_SHORT ? 3 : form & ZF_SECONDS ? s_at + 2 : m_at + 2;
    if (v->n < need || (colon && (v->p[3] != ':' || (form & ZF_SECONDS && v->p[6] != ':'))))
        return -1;
    int h = two_digits(*v, 1), m = 0, s = 0;
    if (h >= 0 && !(form & ZF_SHORT))
        m = two_digits(*v, m_at);
    if (h >= 0 && m >= 0 && form & ZF_SECONDS)
        s = two_digits(*v, s_at);
    if (h > 24)
        *range = "time zone offset hour";
    if (m > 60)
        *range = "time zone offset minute";
    if (s > 60)
        *range = "time zone offset second";
    char sign = v->p[0];
    drop(v, need);
    if (h < 0 || m < 0 || s < 0 || (sign != '+' && sign != '-'))
        return -1;
    r->zoff = (h * 3600 + m * 60 + s) * (sign == '-' ? -1 : 1);
    return 0;
}

/* Go's parseSignedOffset: a sign and a number up to 23; its length, or 0. */
static size_t signed_offset_len(osp_str v)
{
    if (v.n == 0 || (v.p[0] != '+' && v.p[0] != '-'))
        return 0;
    uint64_t x = 0;
    size_t i = 1;
    for (; digit_at(v, i); i++) {
        if (x > (UINT64_C(1) << 63) / 10)
            return 0;
        x = x * 10 + (uint64_t)(v.p[i] - '0');
        if (x > UINT64_C(1) << 63)
            return 0;
    }
    return i > 1 && x <= 23 ? i : 0;
}

/* Go's parseTimeZone: the length of the abbreviation v starts with, or 0. */
static size_t zone_len(osp_str v)
{
    if (v.n < 3)
        return 0;
    if (v.n >= 4 && (memcmp(v.p, "ChST", 4) == 0 || memcmp(v.p, "MeST", 4) == 0))
        return 4;
    if (memcmp(v.p, "GMT", 3) == 0)
        return 3 + signed_offset_len(osp_str_make(v.p + 3, v.n - 3));
    if (v.p[0] == '+' || v.p[0] == '-')
        return signed_offset_len(v);
    size_t up = 0;
    while (up < 6 && up < v.n && v.p[up] >= 'A' && v.p[up] <= 'Z')
        up++;
    if (up == 3)
        return 3;
    if (up == 4 && (v.p[3] == 'T' || memcmp(v.p, "WITA", 4) == 0))
        return 4;
    return up == 5 && v.p[4] == 'T' ? 5 : 0;
}

static int read_zone(reading *r, osp_str *v)
{
    if (v->n >= 3 && memcmp(v->p, "UTC", 3) == 0) {
        r->utc = 1;
        drop(v, 3);
        return 0;
    }
    size_t n = zone_len(*v);
    if (n == 0)
        return -1;
    r->zone = osp_str_make(v->p, n);
    drop(v, n);
    return 0;
}

static int read_ampm(reading *r, int lower, osp_str *v)
{
    if (v->n < 2)
        return -1;
    int pm = memcmp(v->p, lower ? "pm" : "PM", 2) == 0,
        am = memcmp(v->p, lower ? "am" : "AM", 2) == 0;
    drop(v, 2);
    r->pm |= pm, r->am |= am;
    return pm || am ? 0 : -1;
}

static int read_year(reading *r, int two, osp_str *v)
{
    size_t n = two ? 2 : 4;
    if (v->n < n || (!two && !digit_at(*v, 0)) || go_atoi(osp_str_make(v->p, n), &r->year))
        return -1;
    if (two)
        r->year += r->year >= 69 ? 1900 : 2000;
    drop(v, n);
    return 0;
}

/* Reads element c, which ends at byte rest of the layout, from v into r. -1 when v does not
 * hold it; a value out of range sets *range to what it is. */
static int read_elem(reading *r, const chunk *c, osp_str *v, osp_str layout, size_t rest,
                     const char **range)
{
    int bad = 0, fixed = c->e == E_ZERO_MONTH || c->e == E_ZERO_DAY || c->e == E_ZERO_HOUR12 ||
                         c->e == E_ZERO_MINUTE || c->e == E_ZERO_SECOND || c->e == E_ZERO_YDAY;
    switch (c->e) {
    case E_YEAR:
    case E_LONG_YEAR:
        return read_year(r, c->e == E_YEAR, v);
    case E_MONTH:
    case E_LONG_MONTH:
        r->month = lookup_name(months, 12, c->e == E_MONTH, v) + 1;
        return r->month > 0 ? 0 : -1;
    case E_NUM_MONTH:
    case E_ZERO_MONTH:
        bad = getnum(v, fixed, &r->month);
        if (!bad && (r->month < 1 || r->month > 12))
            *range = "month";
        return bad;
    case E_WDAY:
    case E_LONG_WDAY: /* checked, then ignored */
        return lookup_name(wdays, 7, c->e == E_WDAY, v) < 0 ? -1 : 0;
    case E_UNDER_DAY:
        if (v->n > 0 && v->p[0] == ' ')
            drop(v, 1);
        /* fall through */
    case E_DAY:
    case E_ZERO_DAY:
        return getnum(v, fixed, &r->day);
    case E_UNDER_YDAY:
        for (int k = 0; k < 2 && v->n > 0 && v->p[0] == ' '; k++)
            drop(v, 1);
        /* fall through */
    case E_ZERO_YDAY:
        return getnum3(v, fixed, &r->yday);
    case E_HOUR:
    case E_HOUR12:
    case E_ZERO_HOUR12:
        r->hour = 0;
        bad = getnum(v, fixed, &r->hour);
        if (r->hour > (c->e == E_HOUR ? 23 : 12))
            *range = "hour";
        return bad;
    case E_MINUTE:
    case E_ZERO_MINUTE:
        r->min = 0;
        bad = getnum(v, fixed, &r->min);
        if (r->min >= 60)
            *range = "minute";
        return bad;
    case E_SECOND:
    case E_ZERO_SECOND:
        if (getnum(v, fixed, &r->sec))
            return -1;
        if (r->sec >= 60) {
            *range = "second";
            return 0;
        }
        return read_sec_frac(r, v, layout, rest, range);
    case E_PM:
    case E_pm:
        return read_ampm(r, c->e == E_pm, v);
    case E_ISO_ZONE:
        if (v->n > 0 && v->p[0] == 'Z') {
            r->utc = 1;
            drop(v, 1);
            return 0;
        }
        /* fall through */
    case E_NUM_ZONE:
        return read_offset(r, c->zone_form, v, range);
    case E_TZ:
        return read_zone(r, v);
    case E_FRAC:
        return read_frac(r, c, v, range);
    default:
        return 0;
    }
}

/* A parse under way: its input, and where its error goes. */
typedef struct parser {
    osp_str layout, value;
    char *err;
    size_t errlen, len; /* bytes written to err */
} parser;

static void say(parser *ps, const char *p, size_t n)
{
    if (!ps->err || ps->errlen == 0)
        return;
    size_t room = ps->errlen - 1 - ps->len;
    n = n < room ? n : room;
    memcpy(ps->err + ps->len, p, n);
    ps->len += n;
    ps->err[ps->len] = '\0';
}

/* s in double quotes as Go's time package quotes it: bytes outside ' '..0x7f as \xNN,
 * '"' and '\\' escaped. */
static void say_quoted(parser *ps, osp_str s)
{
    say(ps, "\"", 1);
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        char esc[5];
        if (ch < ' ' || ch >= 0x80) {
            snprintf(esc, sizeof esc, "\\x%02x", ch);
            say(ps, esc, 4);
        } else {
            esc[0] = '\\', esc[1] = (char)ch;
            say(ps, ch == '"' || ch == '\\' ? esc : esc + 1, ch == '"' || ch == '\\' ? 2 : 1);
        }
    }
    say(ps, "\"", 1);
}

/* Fails the parse with Go's message: "cannot parse REST as ELEM" when msg is NULL, else msg
 * (and REST quoted after it when given). */
static int fail(parser *ps, osp_gotime *out, const char *msg, const osp_str *rest, osp_str elem)
{
    *out = (osp_gotime){.sec = OSP_GOTIME_ZERO_SEC, .zone = "UTC"};
    ps->len = 0;
    if (ps->err && ps->errlen)
        ps->err[0] = '\0';
    say(ps, "parsing time ", 13);
    say_quoted(ps, ps->value);
    if (msg) {
        say(ps, msg, strlen(msg));
        if (rest)
            say_quoted(ps, *rest);
    } else {
        say(ps, " as ", 4);
        say_quoted(ps, ps->layout);
        say(ps, ": cannot parse ", 15);
        say_quoted(ps, *rest);
        say(ps, " as ", 4);
        say_quoted(ps, elem);
    }
    return OSP_EPARSE;
}

/* Go's skip: steps v over the literal text lit, any run of spaces in lit matching any run
 * (at least one, unless v is used up) in v. -1 with v where they part. */
static int skip_literal(osp_str *v, osp_str lit)
{
    size_t i = 0;
    while (i < lit.n) {
        if (lit.p[i] == ' ') {
            if (v->n > 0 && v->p[0] != ' ')
                return -1;
            while (i < lit.n && lit.p[i] == ' ')
                i++;
            while (v->n > 0 && v->p[0] == ' ')
                drop(v, 1);
            continue;
        }
        if (v->n == 0 || v->p[0] != lit.p[i])
            return -1;
        i++;
        drop(v, 1);
    }
    return 0;
}

/* Month and day from the day of the year, checked against those read (Go's rules). NULL
 * or the message. */
static const char *apply_yday(reading *r)
{
    static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};
    int yday = r->yday, m = 0, d = 0;
    if (osp_tzone_is_leap(r->year)) {
        if (yday == 31 + 29)
            m = 2, d = 29;
        else if (yday > 31 + 29)
            yday--;
    }
    if (yday < 1 || yday > 365)
        return ": day-of-year out of range";
    if (m == 0) { /* the month holding day yday of a common year */
        m = 1;
        while (m < 12 && before[m] < yday)
            m++;
        d = yday - before[m - 1];
    }
    if (r->month >= 0 && r->month != m)
        return ": day-of-year does not match month";
    if (r->day >= 0 && r->day != d)
        return ": day-of-year does not match day";
    r->month = m, r->day = d;
    return NULL;
}

/* Fills in what the layout left out and checks the date, as Go does after reading. NULL
 * or the message. */
static const char *complete(reading *r)
{
    if (r->pm && r->hour < 12)
        r->hour += 12;
    else if (r->am && r->hour == 12)
        r->hour = 0;
    const char *msg = r->yday >= 0 ? apply_yday(r) : NULL;
    r->month = r->month < 0 ? 1 : r->month;
    r->day = r->day < 0 ? 1 : r->day;
    if (!msg && (r->day < 1 || r->day > osp_tzone_days_in_month(r->year, r->month)))
        msg = ": day out of range";
    return msg;
}

/* The time r names, in loc, as Go's parse settles the zone. */
static osp_gotime settle(const reading *r, const osp_tzone *loc)
{
    int64_t wall = osp_tzone_days_from_civil(r->year, r->month, r->day) * 86400 + r->hour * 3600 +
                   r->min * 60 + r->sec;
    osp_gotime t = {.sec = wall, .nsec = r->nsec, .zone = "UTC"};
    int32_t off = 0;
    if (r->utc)
        return t;
    if (r->zoff != -1) {
        t = osp_gotime_in(wall - r->zoff, r->nsec, loc);
        if (t.off == r->zoff && (r->zone.n == 0 || osp_str_eqz(r->zone, t.zone)))
            return t;
        t.off = r->zoff;
        set_zone(&t, r->zone.p, r->zone.n);
        return t;
    }
    if (r->zone.n == 0)
        return osp_gotime_in(osp_tzone_from_wall(loc, wall), r->nsec, loc);
    if (osp_tzone_abbr_offset(loc, r->zone, wall, &off))
        return osp_gotime_in(wall - off, r->nsec, loc);
    int64_t hours = 0;
    if (r->zone.n > 3 && memcmp(r->zone.p, "GMT", 3) == 0)
        go_atoi(osp_str_make(r->zone.p + 3, r->zone.n - 3), &hours);
    t.off = (int32_t)hours * 3600;
    set_zone(&t, r->zone.p, r->zone.n);
    return t;
}

int osp_gotime_parse(osp_str layout, osp_str value, const osp_tzone *loc, osp_gotime *out,
                     char *err, size_t errlen)
{
    if (!layout.p) /* empty slices may come without a pointer */
        layout = OSP_STR_LIT("");
    if (!value.p)
        value = OSP_STR_LIT("");
    parser ps = {layout, value, err, errlen, 0};
    reading r = {.month = -1, .day = -1, .yday = -1, .zoff = -1};
    osp_str v = value;
    for (size_t i = 0;;) {
        size_t at = i;
        chunk c = next_chunk(layout, &at);
        osp_str lit = osp_str_make(layout.p + i, at - i), elem = osp_str_make(layout.p + at, c.len);
        if (skip_literal(&v, lit))
            return fail(&ps, out, NULL, &v, lit);
        if (c.e == E_NONE) {
            if (v.n)
                return fail(&ps, out, ": extra text: ", &v, elem);
            break;
        }
        i = at + c.len;
        osp_str hold = v;
        const char *range = NULL;
        int bad = read_elem(&r, &c, &v, layout, i, &range);
        if (range) {
            char msg[64];
            snprintf(msg, sizeof msg, ": %s out of range", range);
            return fail(&ps, out, msg, NULL, elem);
        }
        if (bad)
            return fail(&ps, out, NULL, &hold, elem);
    }
    const char *msg = complete(&r);
    if (msg)
        return fail(&ps, out, msg, NULL, OSP_STR_NULL);
    *out = settle(&r, loc ? loc : osp_tzone_utc());
    return 0;
}
