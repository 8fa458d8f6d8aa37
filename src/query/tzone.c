/* IANA time zones (contract in tzone.h): a TZif reader over a byte buffer, the footer's POSIX
 * TZ rule, Go's Location.lookup / lookupName and time.Date's wall-clock resolution, and the
 * process-wide cache of zones loaded from the zone database. */
#include "query/tzone.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/intern.h"
#include "core/mem.h"

/* Offsets a local time type may have: RFC 8536's range, more than -25 h and less than 26 h. */
#define OFF_MIN (-89999)
#define OFF_MAX 93599

/* Instants past this many seconds from 1970 are taken as this far when the footer's rule
 * is worked out, so that its year arithmetic cannot overflow (that is a million years). */
#define RULE_SEC_MAX ((int64_t)1 << 45)

/* A local time type. */
typedef struct ttype {
    int32_t off; /* seconds east of UTC */
    uint8_t isdst;
    char abbr[OSP_TZONE_ABBR_SIZE];
} ttype;

/* When a footer rule's change happens in a year. */
typedef struct tzrule {
    char kind;    /* 'J': Jn (1-365, Feb 29 never counted); 'D': n (0-365); 'M': Mm.w.d */
    int day;      /* J and D: the day; M: the weekday (0 Sunday) */
    int week;     /* M: 1-5, 5 the last */
    int mon;      /* M: 1-12 */
    int32_t time; /* seconds after local midnight; version 3 allows -168 h to 168 h */
} tzrule;

/* The footer's POSIX TZ string, for instants after the last transition. */
typedef struct footer {
    int present;
    int has_dst;
    ttype std, dst;
    tzrule start, end; /* when summer time starts and ends */
} footer;

struct osp_tzone {
    size_t ntrans;
    int64_t *when; /* transition instants, strictly ascending */
    uint8_t *idx;  /* the type each transition starts */
    size_t ntypes; /* 0 only for UTC */
    ttype *types;
    size_t first; /* the type before the first transition (Go's lookupFirstZone) */
    footer rule;
};

static const osp_tzone utc_zone = {0};
static const ttype utc_type = {0, 0, "UTC"};

const osp_tzone *osp_tzone_utc(void)
{
    return &utc_zone;
}

/* ---- civil calendar ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

int osp_tzone_is_leap(int64_t year)
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int osp_tzone_days_in_month(int64_t year, int month)
{
    static const unsigned char days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return days[month - 1] + (month == 2 && osp_tzone_is_leap(year));
}

int64_t osp_tzone_days_from_civil(int64_t year, int month, int day)
{
    int64_t y = year - (month <= 2);
    int64_t era = floor_div(y, 400), yoe = y - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

osp_civil osp_tzone_civil(int64_t wall)
{
    int64_t secs = wall % 86400, days = wall / 86400;
    if (secs < 0)
        secs += 86400, days--;
    int64_t z = days + 719468, era = floor_div(z, 146097), doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    osp_civil c = {.day = (int)(doy - (153 * mp + 2) / 5 + 1),
                   .month = (int)(mp < 10 ? mp + 3 : mp - 9),
                   .hour = (int)(secs / 3600),
                   .min = (int)(secs / 60 % 60),
                   .sec = (int)(secs % 60)};
    c.year = yoe + era * 400 + (c.month <= 2);
    c.yday = (int)(days - osp_tzone_days_from_civil(c.year, 1, 1)) + 1;
    c.wday = (int)floor_mod(days + 4, 7); /* 1970-01-01 was a Thursday */
    return c;
}

/* ---- lookups ---- */

static int64_t sub_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

/* A type found for an instant, and the instants around it while it holds, as Go's lookup
 * gives them (those from the footer's rule may be narrower than the truth). */
typedef struct span {
    const ttype *t;
    int64_t start, end;
} span;

/* Seconds from the start of year to when rule r's change happens, on a clock off east of
 * UTC (Go's tzruleTime). */
static int64_t rule_time(int64_t year, const tzrule *r, int32_t off)
{
    int64_t day = r->day;
    if (r->kind == 'J')
        day = r->day - 1 + (osp_tzone_is_leap(year) && r->day >= 60);
    else if (r->kind == 'M') {
        int64_t first = osp_tzone_days_from_civil(year, r->mon, 1);
        int d = (int)floor_mod(r->day - (first + 4), 7), n = osp_tzone_days_in_month(year, r->mon);
        for (int w = 1; w < r->week && d + 7 < n; w++)
            d += 7;
        day = first - osp_tzone_days_from_civil(year, 1, 1) + d;
    }
    return day * 86400 + r->time - off;
}

/* The footer's answer for sec, which is at or after the last transition (at last), worked
 * out in sec's UTC year as Go's tzset does. */
static span footer_span(const footer *f, int64_t sec, int64_t last)
{
    if (!f->has_dst)
        return (span){&f->std, last, INT64_MAX};
    int64_t t = sec < -RULE_SEC_MAX ? -RULE_SEC_MAX : sec > RULE_SEC_MAX ? RULE_SEC_MAX : sec;
    int64_t year = osp_tzone_civil(t).year;
    int64_t ystart = osp_tzone_days_from_civil(year, 1, 1) * 86400, ysec = t - ystart;
    int64_t on = rule_time(year, &f->start, f->std.off), off = rule_time(year, &f->end, f->dst.off);
    const ttype *outside = &f->std, *inside = &f->dst;
    if (off < on) { /* southern hemisphere: the year starts in summer time */
        int64_t x = on;
        on = off, off = x;
        outside = &f->dst, inside = &f->std;
    }
    if (ysec < on)
        return (span){outside, ystart, ystart + on};
    if (ysec >= off)
        return (span){outside, ystart + off, ystart + 365 * 86400};
    return (span){inside, ystart + on, ystart + off};
}

/* Go's Location.lookup. */
static span find(const osp_tzone *z, int64_t sec)
{
    if (z->ntypes == 0)
        return (span){&utc_type, INT64_MIN, INT64_MAX};
    if (z->ntrans == 0) /* Go's stand-in transition at the start of time, to type 0 */
        return z->rule.present ? footer_span(&z->rule, sec, INT64_MIN)
                               : (span){&z->types[0], INT64_MIN, INT64_MAX};
    if (sec < z->when[0])
        return (span){&z->types[z->first], INT64_MIN, z->when[0]};
    size_t lo = 0, hi = z->ntrans; /* when[lo] <= sec < when[hi] */
    while (hi - lo > 1) {
        size_t m = lo + (hi - lo) / 2;
        if (sec < z->when[m])
            hi = m;
        else
            lo = m;
    }
    if (hi == z->ntrans && z->rule.present)
        return footer_span(&z->rule, sec, z->when[lo]);
    return (span){&z->types[z->idx[lo]], z->when[lo], hi < z->ntrans ? z->when[hi] : INT64_MAX};
}

const char *osp_tzone_lookup(const osp_tzone *z, int64_t sec, int32_t *off)
{
    span s = find(z, sec);
    *off = s.t->off;
    return s.t->abbr;
}

int64_t osp_tzone_from_wall(const osp_tzone *z, int64_t wall)
{
    span s = find(z, wall);
    int32_t off = s.t->off;
    if (off != 0) {
        int64_t utc = sub_sat(wall, off);
        if (utc < s.start || utc >= s.end)
            off = find(z, utc).t->off;
    }
    return sub_sat(wall, off);
}

int osp_tzone_abbr_offset(const osp_tzone *z, osp_str abbr, int64_t wall, int32_t *off)
{
    for (size_t i = 0; i < z->ntypes; i++) {
        const ttype *t = &z->types[i];
        if (osp_str_eqz(abbr, t->abbr)) {
            span s = find(z, sub_sat(wall, t->off));
            if (strcmp(s.t->abbr, t->abbr) == 0) {
                *off = s.t->off;
                return 1;
            }
        }
    }
    for (size_t i = 0; i < z->ntypes; i++)
        if (osp_str_eqz(abbr, z->types[i].abbr)) {
            *off = z->types[i].off;
            return 1;
        }
    return 0;
}

/* ---- the footer: a POSIX TZ string as Go's tzset reads it ---- */

typedef struct cursor {
    const char *p, *end;
} cursor;

static int at(const cursor *c, char ch)
{
    return c->p < c->end && *c->p == ch;
}

/* Steps over ch when it comes next. */
static int eat(cursor *c, char ch)
{
    return at(c, ch) ? (c->p++, 1) : 0;
}

/* A number in [min, max] (Go's tzsetNum). */
static int tz_num(cursor *c, int min, int max, int *out)
{
    const char *start = c->p;
    int v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        v = v * 10 + (*c->p++ - '0');
        if (v > max)
            return -1;
    }
    if (c->p == start || v < min)
        return -1;
    *out = v;
    return 0;
}

/* A zone abbreviation: three or more bytes up to a digit, sign or comma, or <...>. */
static int tz_name(cursor *c, char out[OSP_TZONE_ABBR_SIZE])
{
    const char *start = c->p, *stop;
    if (at(c, '<')) {
        stop = memchr(c->p, '>', (size_t)(c->end - c->p));
        if (!stop)
            return -1;
        start++;
        c->p = stop + 1;
    } else {
        stop = c->p;
        while (stop < c->end && !strchr("0123456789,-+", *stop))
            stop++;
        if (stop - start < 3)
            return -1;
        c->p = stop;
    }
    if (stop - start >= OSP_TZONE_ABBR_SIZE)
        return -1;
    memcpy(out, start, (size_t)(stop - start));
    out[stop - start] = '\0';
    return 0;
}

/* [+-]hh[:mm[:ss]] with hh up to 168 (Go's tzsetOffset), in seconds. */
static int tz_offset(cursor *c, int32_t *out)
{
    int neg = at(c, '-'), h, m = 0, s = 0;
    if (!eat(c, '-'))
        eat(c, '+');
    if (tz_num(c, 0, 24 * 7, &h) || (eat(c, ':') && tz_num(c, 0, 59, &m)) ||
        (eat(c, ':') && tz_num(c, 0, 59, &s)))
        return -1;
    *out = (h * 3600 + m * 60 + s) * (neg ? -1 : 1);
    return 0;
}

/* Jn, n or Mm.w.d, then an optional /time (2:00 when left out). */
static int tz_rule(cursor *c, tzrule *r)
{
    *r = (tzrule){.kind = 'D', .time = 2 * 3600};
    int bad;
    if (eat(c, 'J')) {
        r->kind = 'J';
        bad = tz_num(c, 1, 365, &r->day);
    } else if (eat(c, 'M')) {
        r->kind = 'M';
        bad = tz_num(c, 1, 12, &r->mon) || !eat(c, '.') || tz_num(c, 1, 5, &r->week) ||
              !eat(c, '.') || tz_num(c, 0, 6, &r->day);
    } else
        bad = tz_num(c, 0, 365, &r->day);
    if (bad)
        return -1;
    return eat(c, '/') ? tz_offset(c, &r->time) : 0;
}

static int off_ok(int32_t off)
{
    return off >= OFF_MIN && off <= OFF_MAX;
}

/* Reads TZ string s into f. The offsets in it count west of UTC; ours count east. */
static int parse_footer(const char *s, size_t n, footer *f)
{
    cursor c = {s, s + n};
    int32_t off;
    if (tz_name(&c, f->std.abbr) || tz_offset(&c, &off) || !off_ok(-off))
        return -1;
    f->present = 1, f->std.off = -off;
    if (c.p == c.end || at(&c, ','))
        return 0; /* no summer time; Go reads no further */
    if (tz_name(&c, f->dst.abbr))
        return -1;
    f->dst.off = f->std.off + 3600, f->dst.isdst = 1, f->has_dst = 1;
    if (c.p < c.end && !at(&c, ',')) {
        if (tz_offset(&c, &off))
            return -1;
        f->dst.off = -off;
    }
    if (!off_ok(f->dst.off)) /* given, or an hour past a standard offset at the bound */
        return -1;
    if (c.p == c.end) { /* tzcode's default rules */
        f->start = (tzrule){'M', 0, 2, 3, 2 * 3600};
        f->end = (tzrule){'M', 0, 1, 11, 2 * 3600};
        return 0;
    }
    if (!eat(&c, ',') && !eat(&c, ';'))
        return -1;
    if (tz_rule(&c, &f->start) || !eat(&c, ',') || tz_rule(&c, &f->end))
        return -1;
    return c.p == c.end ? 0 : -1;
}

/* ---- TZif ---- */

typedef struct hdr {
    int version; /* 1-4 */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} hdr;

#define HDR_SIZE 44

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The header at data[0..n). NULL or what is wrong. */
static const char *read_header(const uint8_t *data, size_t n, hdr *h)
{
    if (n < HDR_SIZE)
        return "truncated header";
    if (memcmp(data, "TZif", 4) != 0)
        return "not a TZif file";
    if (data[4] != 0 && (data[4] < '2' || data[4] > '4'))
        return "unknown TZif version";
    uint32_t cnt[6];
    for (int i = 0; i < 6; i++)
        cnt[i] = be32(data + 20 + 4 * i);
    *h = (hdr){data[4] ? data[4] - '0' : 1, cnt[0], cnt[1], cnt[2], cnt[3], cnt[4], cnt[5]};
    return NULL;
}

/* Bytes of the data block after header h, with times of tsize bytes. */
static uint64_t block_size(const hdr *h, int tsize)
{
    return (uint64_t)h->timecnt * (uint64_t)(tsize + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (uint64_t)(tsize + 4) + h->isstdcnt + h->isutcnt;
}

static const char *check_counts(const hdr *h)
{
    if (h->typecnt == 0)
        return "no local time types";
    if (h->charcnt == 0)
        return "no abbreviations";
    if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return "indicator counts differ from the type count";
    return NULL;
}

static const char *read_transitions(osp_tzone *z, const uint8_t *p, const hdr *h, int tsize)
{
    const uint8_t *idx = p + (size_t)h->timecnt * (size_t)tsize;
    for (size_t i = 0; i < h->timecnt; i++, p += tsize) {
        z->when[i] = tsize == 8 ? (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4))
                                : (int64_t)(int32_t)be32(p);
        if (i > 0 && z->when[i] <= z->when[i - 1])
            return "transition times not in ascending order";
        if (idx[i] >= h->typecnt)
            return "transition to a missing local time type";
        z->idx[i] = idx[i];
    }
    return NULL;
}

static const char *read_types(osp_tzone *z, const uint8_t *p, const uint8_t *chars, const hdr *h)
{
    for (size_t i = 0; i < h->typecnt; i++, p += 6) {
        ttype *t = &z->types[i];
        t->off = (int32_t)be32(p);
        if (!off_ok(t->off))
            return "local time type offset out of range";
        if (p[4] > 1)
            return "local time type with a bad isdst";
        t->isdst = p[4];
        if (p[5] >= h->charcnt)
            return "abbreviation index past the abbreviations";
        const uint8_t *nul = memchr(chars + p[5], 0, h->charcnt - p[5]);
        if (!nul)
            return "abbreviation not NUL-terminated";
        if (nul - (chars + p[5]) >= OSP_TZONE_ABBR_SIZE)
            return "abbreviation too long";
        memcpy(t->abbr, chars + p[5], (size_t)(nul - (chars + p[5])) + 1);
    }
    return NULL;
}

/* Go's lookupFirstZone: type 0 when no transition uses it; else the nearest standard type
 * before the first transition's when that one is summer time; else the first standard
 * type; else type 0. */
static size_t first_type(const osp_tzone *z)
{
    size_t i = 0;
    while (i < z->ntrans && z->idx[i] != 0)
        i++;
    if (i == z->ntrans)
        return 0;
    if (z->ntrans > 0 && z->types[z->idx[0]].isdst)
        for (size_t k = z->idx[0]; k-- > 0;)
            if (!z->types[k].isdst)
                return k;
    for (size_t k = 0; k < z->ntypes; k++)
        if (!z->types[k].isdst)
            return k;
    return 0;
}

/* The footer after a version 2+ data block: nothing, or one line between newlines holding
 * a TZ string (empty: no rule). */
static const char *read_footer(osp_tzone *z, const uint8_t *p, size_t n)
{
    if (n == 0)
        return NULL;
    if (n < 2 || p[0] != '\n' || memchr(p + 1, '\n', n - 1) != p + n - 1)
        return "footer is not one line between newlines";
    if (n > 2 && parse_footer((const char *)p + 1, n - 2, &z->rule))
        return "footer TZ string not understood";
    return NULL;
}

static osp_tzone *zone_alloc(const hdr *h)
{
    osp_tzone *z = osp_calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->ntrans = h->timecnt, z->ntypes = h->typecnt;
    z->when = osp_calloc(z->ntrans + 1, sizeof *z->when); /* + 1: never a zero-size request */
    z->idx = osp_calloc(z->ntrans + 1, 1);
    z->types = osp_calloc(z->ntypes, sizeof *z->types);
    if (!z->when || !z->idx || !z->types) {
        osp_tzone_destroy(z);
        return NULL;
    }
    return z;
}

/* The data block of header h at p (its size checked), and the footer after it. */
static const char *read_zone(osp_tzone *z, const uint8_t *p, size_t n, const hdr *h, int tsize)
{
    const uint8_t *types = p + (size_t)h->timecnt * (size_t)(tsize + 1);
    const uint8_t *chars = types + (size_t)h->typecnt * 6;
    const char *why = read_transitions(z, p, h, tsize);
    if (!why)
        why = read_types(z, types, chars, h);
    if (!why && h->version > 1) {
        size_t used = (size_t)block_size(h, tsize);
        why = read_footer(z, p + used, n - used);
    }
    z->first = why ? 0 : first_type(z);
    return why;
}

/* Finds the data block to read: version 1's, or the 64-bit one after it. */
static const char *locate(const uint8_t *data, size_t n, hdr *h, size_t *at, int *tsize)
{
    const char *why = read_header(data, n, h);
    *at = HDR_SIZE, *tsize = 4;
    if (!why && h->version > 1) {
        uint64_t skip = block_size(h, 4);
        if (skip > n - HDR_SIZE)
            return "truncated version 1 data block";
        *at += (size_t)skip, *tsize = 8;
        int version = h->version;
        why = read_header(data + *at, n - *at, h);
        *at += HDR_SIZE;
        h->version = version;
    }
    if (!why)
        why = check_counts(h);
    if (!why && block_size(h, *tsize) > n - *at)
        why = "truncated data block";
    return why;
}

int osp_tzone_parse(const uint8_t *data, size_t n, osp_tzone **out, char *err, size_t errlen)
{
    hdr h;
    size_t at;
    int tsize;
    osp_tzone *z = NULL;
    const char *why = locate(data, n, &h, &at, &tsize);
    if (!why) {
        if (!(z = zone_alloc(&h)))
            return OSP_ENOMEM;
        why = read_zone(z, data + at, n - at, &h, tsize);
    }
    if (why) {
        osp_tzone_destroy(z);
        if (err && errlen)
            snprintf(err, errlen, "TZif: %s", why);
        return OSP_ECORRUPT;
    }
    *out = z;
    return 0;
}

void osp_tzone_destroy(osp_tzone *z)
{
    if (!z)
        return;
    osp_free(z->when);
    osp_free(z->idx);
    osp_free(z->types);
    osp_free(z);
}

/* ---- the zone database and the cache ---- */

/* Whether name may be looked up as a file: Go's checks, and only the bytes zone names use. */
static int name_ok(osp_str name)
{
    if (name.n > 255 || name.p[0] == '/')
        return 0;
    for (size_t i = 0; i < name.n; i++) {
        char ch = name.p[i];
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || (ch && strchr("/_+-.", ch));
        if (!plain || (ch == '.' && i + 1 < name.n && name.p[i + 1] == '.'))
            return 0;
    }
    return 1;
}

/* The zone in the database's file name, or NULL. */
static osp_tzone *load(osp_str name)
{
    const char *dir = getenv("ZONEINFO");
    char path[PATH_MAX];
    osp_buf data;
    osp_tzone *z = NULL;
    if (!dir || !*dir)
        dir = OSP_TZONE_DIR;
    if ((size_t)snprintf(path, sizeof path, "%s/%.*s", dir, OSP_STR_FMT(name)) >= sizeof path)
        return NULL;
    osp_buf_init(&data, OSP_TZONE_FILE_MAX);
    if (osp_read_file(path, &data) == 0)
        osp_tzone_parse((const uint8_t *)data.data, data.len, &z, NULL, 0);
    osp_buf_cleanup(&data);
    return z;
}

/* Names looked up, each with its zone (NULL: unknown). Never shrinks, so zones handed out
 * stay valid; bounded, so that queries naming made-up zones cannot grow it forever. */
enum { CACHE_MAX = 3072, CACHE_UNKNOWN_MAX = 512 };

static osp_intern cache_names; /* name -> index into cache_zones */
static osp_tzone *cache_zones[CACHE_MAX];
static size_t nunknown;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

/* Loads name and remembers the answer while there is room. Called with cache_mu held. */
static const osp_tzone *cache_fill(osp_str name)
{
    uint32_t id;
    if (cache_names.n >= CACHE_MAX)
        return NULL;
    osp_tzone *z = load(name);
    if ((!z && nunknown >= CACHE_UNKNOWN_MAX) || osp_intern_add(&cache_names, name, &id)) {
        osp_tzone_destroy(z);
        return NULL;
    }
    cache_zones[id] = z;
    nunknown += !z;
    return z;
}

const osp_tzone *osp_tzone_find(osp_str name)
{
    uint32_t id;
    if (name.n == 0 || osp_str_eqz(name, "UTC") || osp_str_eqz(name, "Local"))
        return &utc_zone;
    if (!name_ok(name))
        return NULL;
    pthread_mutex_lock(&cache_mu);
    if (!cache_names.copy)
        osp_intern_init(&cache_names, 1);
    const osp_tzone *z =
        osp_intern_find(&cache_names, name, &id) ? cache_zones[id] : cache_fill(name);
    pthread_mutex_unlock(&cache_mu);
    return z;
}
