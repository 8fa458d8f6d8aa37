/* Unit tests for query/tzone: zones from the system's database looked up at known instants
 * (expected values from python3's zoneinfo and `date`, which read the same files), wall
 * clocks resolved as Go's time.Date resolves them (Go's own dateTests for Los Angeles, and
 * Go's algorithm worked by hand for the others), footer rules in hand-built TZif files, the
 * names refused, and corrupt files. */
#include "testutil.h"

#include <pthread.h>
#include <sys/stat.h>

#include "core/err.h"
#include "query/tzone.h"

static const osp_tzone *zone(const char *name)
{
    const osp_tzone *z = osp_tzone_find(osp_str_c(name));
    if (!z)
        fail_msg("zone %s not found (is tzdata installed?)", name);
    return z;
}

static void check_at(const osp_tzone *z, int64_t sec, int32_t off, const char *abbr)
{
    int32_t got;
    const char *name = osp_tzone_lookup(z, sec, &got);
    if (got != off || strcmp(name, abbr) != 0)
        fail_msg("at %lld: got %d %s, want %d %s", (long long)sec, got, name, off, abbr);
}

/* The seconds of a wall-clock reading taken as UTC. */
static int64_t wall(int64_t y, int mo, int d, int h, int mi, int s)
{
    return osp_tzone_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static void test_civil(void **state)
{
    (void)state;
    assert_int_equal(osp_tzone_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(osp_tzone_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(osp_tzone_days_from_civil(1, 1, 1) * 86400, -62135596800LL);
    assert_int_equal(osp_tzone_days_from_civil(0, 1, 1) * 86400, -62167219200LL);
    assert_int_equal(wall(9999, 12, 31, 23, 59, 59), 253402300799LL);
    osp_civil c = osp_tzone_civil(-1); /* 1969-12-31 23:59:59, a Wednesday */
    assert_true(c.year == 1969 && c.month == 12 && c.day == 31 && c.yday == 365 && c.wday == 3);
    assert_true(c.hour == 23 && c.min == 59 && c.sec == 59);
    c = osp_tzone_civil(wall(2024, 2, 29, 12, 0, 0)); /* a Thursday, day 60 */
    assert_true(c.year == 2024 && c.month == 2 && c.day == 29 && c.yday == 60 && c.wday == 4);
    c = osp_tzone_civil(wall(0, 3, 1, 0, 0, 0)); /* year 0 is a leap year */
    assert_true(c.year == 0 && c.month == 3 && c.day == 1 && c.yday == 61);
    c = osp_tzone_civil(wall(-1, 12, 31, 0, 0, 0));
    assert_true(c.year == -1 && c.month == 12 && c.day == 31 && c.yday == 365);
    assert_int_equal(osp_tzone_days_in_month(1900, 2), 28);
    assert_int_equal(osp_tzone_days_in_month(2000, 2), 29);
    /* the extremes do not overflow */
    c = osp_tzone_civil(INT64_MIN);
    assert_true(c.month >= 1 && c.month <= 12 && c.sec >= 0 && c.sec < 60);
    c = osp_tzone_civil(INT64_MAX);
    assert_true(c.month >= 1 && c.month <= 12 && c.sec >= 0 && c.sec < 60);
}

static void test_berlin(void **state)
{
    (void)state;
    const osp_tzone *z = zone("Europe/Berlin");
    check_at(z, 1610712000, 3600, "CET");    /* 2021-01-15 12:00Z */
    check_at(z, 1626350400, 7200, "CEST");   /* 2021-07-15 12:00Z */
    check_at(z, 1616893199, 3600, "CET");    /* 2021-03-28 00:59:59Z */
    check_at(z, 1616893200, 7200, "CEST");   /* 2021-03-28 01:00:00Z */
    check_at(z, 1635641999, 7200, "CEST");   /* 2021-10-31 00:59:59Z */
    check_at(z, 1635642000, 3600, "CET");    /* 2021-10-31 01:00:00Z */
    check_at(z, -775872000, 10800, "CEMT");  /* 1945-06-01, double summer time */
    check_at(z, -5364662400LL, 3208, "LMT"); /* 1800, before the first transition */
    /* long after the file's last transition (2037): the footer CET-1CEST,M3.5.0,M10.5.0/3 */
    check_at(z, 4102444800LL, 3600, "CET");  /* 2100-01-01 */
    check_at(z, 4118083200LL, 7200, "CEST"); /* 2100-07-01 */
    check_at(z, 4109878799LL, 3600, "CET");  /* 2100-03-28 00:59:59Z */
    check_at(z, 4109878800LL, 7200, "CEST"); /* 2100-03-28 01:00:00Z */
    check_at(z, 4128627599LL, 7200, "CEST"); /* 2100-10-31 00:59:59Z */
    check_at(z, 4128627600LL, 3600, "CET");  /* 2100-10-31 01:00:00Z */
    int32_t off;
    osp_tzone_lookup(z, INT64_MIN, &off);
    assert_int_equal(off, 3208);
    osp_tzone_lookup(z, INT64_MAX, &off);
    assert_true(off == 3600 || off == 7200);
}

static void test_new_york_kolkata(void **state)
{
    (void)state;
    const osp_tzone *z = zone("America/New_York");
    check_at(z, 1615705199, -18000, "EST");    /* 2021-03-14 06:59:59Z */
    check_at(z, 1615705200, -14400, "EDT");    /* 2021-03-14 07:00:00Z */
    check_at(z, -2745446400LL, -17762, "LMT"); /* 1883-01-01 */
    check_at(z, 7274059200LL, -14400, "EDT");  /* 2200-07-04 12:00Z, by the footer */
    check_at(z, 7289092800LL, -18000, "EST");  /* 2200-12-25 12:00Z */
    check_at(z, 7263932399LL, -18000, "EST");  /* 2200-03-09 06:59:59Z */
    check_at(z, 7263932400LL, -14400, "EDT");  /* 2200-03-09 07:00:00Z */
    z = zone("Asia/Kolkata");
    check_at(z, 1622505600, 19800, "IST");    /* 2021-06-01 */
    check_at(z, -852076800, 23400, "+0630");  /* 1943 */
    check_at(z, -3786825600LL, 21208, "LMT"); /* 1850 */
    check_at(z, 10413792000LL, 19800, "IST"); /* 2300: footer IST-5:30 */
}

static void test_lord_howe(void **state)
{
    (void)state;
    /* half-hour summer time; southern hemisphere, so the footer's rules are swapped */
    const osp_tzone *z = zone("Australia/Lord_Howe");
    check_at(z, 1610668800, 39600, "+11");     /* 2021-01-15 */
    check_at(z, 1626307200, 37800, "+1030");   /* 2021-07-15 */
    check_at(z, 1633188599, 37800, "+1030");   /* 2021-10-02 15:29:59Z */
    check_at(z, 1633188600, 39600, "+11");     /* 2021-10-02 15:30:00Z */
    check_at(z, 1617461999, 39600, "+11");     /* 2021-04-03 14:59:59Z */
    check_at(z, 1617462000, 37800, "+1030");   /* 2021-04-03 15:00:00Z */
    check_at(z, 5681491200LL, 39600, "+11");   /* 2150-01-15 */
    check_at(z, 5697129600LL, 37800, "+1030"); /* 2150-07-15 */
    check_at(z, 5688370799LL, 39600, "+11");   /* 2150-04-04 14:59:59Z */
    check_at(z, 5688370800LL, 37800, "+1030"); /* 2150-04-04 15:00:00Z */
    check_at(z, 5704097400LL, 39600, "+11");   /* 2150-10-03 15:30:00Z */
}

static void test_footer_times(void **state)
{
    (void)state;
    /* <-02>2<-01>,M3.5.0/-1,M10.5.0/0: a change at -1:00, the day before */
    const osp_tzone *z = zone("America/Nuuk");
    check_at(z, 5687801999LL, -7200, "-02"); /* 2150-03-29 00:59:59Z */
    check_at(z, 5687802000LL, -3600, "-01");
    check_at(z, 5705946000LL, -7200, "-02"); /* 2150-10-25 01:00Z */
    /* IST-2IDT,M3.4.4/26,M10.5.0: a change at 26:00, the day after */
    z = zone("Asia/Jerusalem");
    check_at(z, 5687625599LL, 7200, "IST"); /* 2150-03-26 23:59:59Z */
    check_at(z, 5687625600LL, 10800, "IDT");
    check_at(z, 5705938800LL, 7200, "IST"); /* 2150-10-24 23:00Z */
}

static void test_from_wall(void **state)
{
    (void)state;
    /* Go's time_test.go dateTests, run there with Local = America/Los_Angeles */
    const osp_tzone *z = zone("America/Los_Angeles");
    static const struct {
        int y, mo, d, h, mi, s;
        int64_t sec;
    } la[] = {
        {2011, 11, 6, 1, 0, 0, 1320566400},   /* 1:00:00 PDT, the first of two */
        {2011, 11, 6, 1, 59, 59, 1320569999}, /* 1:59:59 PDT */
        {2011, 11, 6, 2, 0, 0, 1320573600},   /* 2:00:00 PST */
        {2011, 3, 13, 1, 0, 0, 1300006800},   /* 1:00:00 PST */
        {2011, 3, 13, 1, 59, 59, 1300010399}, /* 1:59:59 PST */
        {2011, 3, 13, 3, 0, 0, 1300010400},   /* 3:00:00 PDT */
        {2011, 3, 13, 2, 30, 0, 1300008600},  /* 2:30:00 PDT, that is 1:30 PST */
        {2012, 12, 24, 0, 0, 0, 1356336000},
    };
    for (size_t i = 0; i < sizeof la / sizeof la[0]; i++)
        assert_int_equal(
            osp_tzone_from_wall(z, wall(la[i].y, la[i].mo, la[i].d, la[i].h, la[i].mi, la[i].s)),
            la[i].sec);
    /* Berlin (east of UTC), by Go's algorithm: the skipped 02:30 becomes 03:30 CEST; the
     * repeated 02:30 is the second one, in CET */
    z = zone("Europe/Berlin");
    assert_int_equal(osp_tzone_from_wall(z, wall(2021, 3, 28, 2, 30, 0)), 1616895000);
    assert_int_equal(osp_tzone_from_wall(z, wall(2021, 10, 31, 2, 30, 0)), 1635643800);
    assert_int_equal(osp_tzone_from_wall(z, wall(2021, 10, 31, 1, 30, 0)), 1635636600);
    assert_int_equal(osp_tzone_from_wall(z, wall(2100, 3, 28, 2, 30, 0)), 4109880600LL);
    /* Lord Howe's half-hour gap and overlap: 02:15 becomes 02:45 +11, 01:45 is in +1030 */
    z = zone("Australia/Lord_Howe");
    assert_int_equal(osp_tzone_from_wall(z, wall(2021, 10, 3, 2, 15, 0)), 1633189500);
    assert_int_equal(osp_tzone_from_wall(z, wall(2021, 4, 4, 1, 45, 0)), 1617462900);
    assert_int_equal(osp_tzone_from_wall(osp_tzone_utc(), 12345), 12345);
    /* no overflow at the ends */
    osp_tzone_from_wall(zone("Asia/Kolkata"), INT64_MIN);
    osp_tzone_from_wall(zone("America/New_York"), INT64_MAX);
}

static void test_abbr_offset(void **state)
{
    (void)state;
    const osp_tzone *z = zone("Europe/Berlin");
    int32_t off = 0;
    assert_true(osp_tzone_abbr_offset(z, OSP_STR_LIT("CEST"), wall(2021, 7, 1, 10, 0, 0), &off));
    assert_int_equal(off, 7200);
    /* not in effect then: any use of it */
    assert_true(osp_tzone_abbr_offset(z, OSP_STR_LIT("CEST"), wall(2021, 1, 1, 10, 0, 0), &off));
    assert_int_equal(off, 7200);
    assert_true(osp_tzone_abbr_offset(z, OSP_STR_LIT("CET"), wall(2021, 7, 1, 10, 0, 0), &off));
    assert_int_equal(off, 3600);
    assert_true(osp_tzone_abbr_offset(z, OSP_STR_LIT("LMT"), 0, &off));
    assert_int_equal(off, 3208);
    assert_false(osp_tzone_abbr_offset(z, OSP_STR_LIT("EST"), 0, &off));
    assert_false(osp_tzone_abbr_offset(z, OSP_STR_LIT("cet"), 0, &off));
    assert_false(osp_tzone_abbr_offset(osp_tzone_utc(), OSP_STR_LIT("UTC"), 0, &off));
    z = zone("Australia/Lord_Howe");
    assert_true(osp_tzone_abbr_offset(z, OSP_STR_LIT("+1030"), wall(2021, 7, 1, 0, 0, 0), &off));
    assert_int_equal(off, 37800);
}

static void test_names(void **state)
{
    (void)state;
    assert_ptr_equal(osp_tzone_find(OSP_STR_LIT("")), osp_tzone_utc());
    assert_ptr_equal(osp_tzone_find(OSP_STR_LIT("UTC")), osp_tzone_utc());
    assert_ptr_equal(osp_tzone_find(OSP_STR_LIT("Local")), osp_tzone_utc());
    check_at(osp_tzone_utc(), 1234567890, 0, "UTC");
    assert_ptr_equal(zone("Europe/Berlin"), zone("Europe/Berlin"));
    assert_ptr_not_equal(zone("Etc/UTC"), osp_tzone_utc()); /* a file, read as any other */
    check_at(zone("Etc/UTC"), 0, 0, "UTC");
    check_at(zone("Etc/GMT+5"), 0, -18000, "-05"); /* no transitions: the footer */
    const char *bad[] = {"Nowhere/Special",
                         "utc",
                         "local",
                         "Europe/Berlin/",
                         "zone.tab",
                         "Europe",
                         "../zoneinfo/Europe/Berlin",
                         "Europe/../Europe/Berlin",
                         "/usr/share/zoneinfo/Europe/Berlin",
                         "\\etc\\passwd",
                         "Europe\\Berlin",
                         "../../../../../../etc/passwd",
                         "Europe/Be rlin",
                         "Europe/Berlin\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (osp_tzone_find(osp_str_c(bad[i])))
            fail_msg("\"%s\" was found", bad[i]);
        assert_null(osp_tzone_find(osp_str_c(bad[i]))); /* and again, from the cache */
    }
    assert_null(osp_tzone_find(osp_str_make("Europe/Berlin\0x", 15)));
    char longname[300];
    memset(longname, 'A', sizeof longname);
    assert_null(osp_tzone_find(osp_str_make(longname, sizeof longname)));
}

/* Copies the file at from to to. */
static void copy_file(const char *from, const char *to)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

static void test_zoneinfo_dir(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("tzone");
    char path[512], db[256];
    snprintf(db, sizeof db, "%s/db", dir);
    snprintf(path, sizeof path, "%s/Test", db);
    assert_int_equal(mkdir(db, 0755) | mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/Test/Berlin", db);
    copy_file(OSP_TZONE_DIR "/Europe/Berlin", path);
    snprintf(path, sizeof path, "%s/Outside", dir); /* a real zone file, but outside the db */
    copy_file(OSP_TZONE_DIR "/Europe/Berlin", path);
    snprintf(path, sizeof path, "%s/Test/Junk", db);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("TZif2 and then nothing much\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/Test/Dir", db);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/Test/Null", db);
    assert_int_equal(symlink("/dev/null", path), 0);

    setenv("ZONEINFO", db, 1);
    const osp_tzone *z = osp_tzone_find(OSP_STR_LIT("Test/Berlin"));
    assert_non_null(z);
    check_at(z, 1626350400, 7200, "CEST");
    assert_null(osp_tzone_find(OSP_STR_LIT("Test/Junk")));
    assert_null(osp_tzone_find(OSP_STR_LIT("Test/Dir")));
    assert_null(osp_tzone_find(OSP_STR_LIT("Test/Null")));
    assert_null(osp_tzone_find(OSP_STR_LIT("../Outside")));
    assert_null(osp_tzone_find(OSP_STR_LIT("Test/../../Outside")));
    assert_null(osp_tzone_find(OSP_STR_LIT("Europe/Paris"))); /* not in this database */
    unsetenv("ZONEINFO");
    assert_ptr_equal(osp_tzone_find(OSP_STR_LIT("Test/Berlin")), z); /* still cached */
    osp_test_rmdir(dir);
    free(dir);
}

static void *find_many(void *arg)
{
    static const char *names[] = {"Europe/London", "Asia/Tokyo", "America/Chicago",
                                  "Africa/Cairo",  "No/Such",    "Pacific/Auckland"};
    const osp_tzone **seen = arg;
    for (int round = 0; round < 200; round++)
        for (size_t i = 0; i < 6; i++) {
            const osp_tzone *z = osp_tzone_find(osp_str_c(names[i]));
            if (round == 0)
                seen[i] = z;
            else if (seen[i] != z)
                return "changed";
        }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    const osp_tzone *seen[4][6];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, find_many, seen[i]), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    for (int i = 1; i < 4; i++)
        assert_memory_equal(seen[i], seen[0], sizeof seen[0]);
    assert_null(seen[0][4]);
    assert_non_null(seen[0][5]);
}

/* ---- hand-built TZif files ---- */

typedef struct tzif {
    uint8_t b[1024];
    size_t n;
} tzif;

static void put(tzif *f, const void *p, size_t n)
{
    assert_true(f->n + n <= sizeof f->b);
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void put_be(tzif *f, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        uint8_t byte = (uint8_t)(v >> (8 * i));
        put(f, &byte, 1);
    }
}

/* What a test file holds: transitions, types (offset, isdst, abbreviation index), the
 * abbreviations, and the footer's TZ string (NULL: no footer at all). */
typedef struct spec {
    char version; /* 0 (version 1), '2', '3' */
    size_t ntrans;
    int64_t when[4];
    uint8_t idx[4];
    size_t ntypes;
    int32_t off[4];
    uint8_t isdst[4], ai[4];
    const char *chars;
    size_t nchars;
    const char *footer;
} spec;

static void header(tzif *f, char version, uint32_t ntrans, uint32_t ntypes, uint32_t nchars)
{
    put(f, "TZif", 4);
    put(f, &version, 1);
    put(f, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15);
    uint32_t counts[6] = {0, 0, 0, ntrans, ntypes, nchars};
    for (int i = 0; i < 6; i++)
        put_be(f, counts[i], 4);
}

static void block(tzif *f, const spec *s, int tsize)
{
    for (size_t i = 0; i < s->ntrans; i++)
        put_be(f, (uint64_t)s->when[i], tsize);
    put(f, s->idx, s->ntrans);
    for (size_t i = 0; i < s->ntypes; i++) {
        put_be(f, (uint32_t)s->off[i], 4);
        put(f, &s->isdst[i], 1);
        put(f, &s->ai[i], 1);
    }
    put(f, s->chars, s->nchars);
}

/* The file s describes: with version 2+, a one-type version 1 block before the 64-bit one. */
static tzif build(const spec *s)
{
    tzif f = {.n = 0};
    if (s->version == 0) {
        header(&f, 0, (uint32_t)s->ntrans, (uint32_t)s->ntypes, (uint32_t)s->nchars);
        block(&f, s, 4);
        return f;
    }
    header(&f, s->version, 0, 1, 1);
    put(&f, "\0\0\0\0\0\0\0", 7);
    header(&f, s->version, (uint32_t)s->ntrans, (uint32_t)s->ntypes, (uint32_t)s->nchars);
    block(&f, s, 8);
    if (s->footer) {
        put(&f, "\n", 1);
        put(&f, s->footer, strlen(s->footer));
        put(&f, "\n", 1);
    }
    return f;
}

/* A small good file: LMT until 2021-03-28 01:00Z, CEST, then CET from 2021-10-31 01:00Z. */
static spec good(void)
{
    return (spec){.version = '2',
                  .ntrans = 2,
                  .when = {1616893200, 1635642000}, /* 2021-03-28 01:00Z, 2021-10-31 01:00Z */
                  .idx = {2, 1},
                  .ntypes = 3,
                  .off = {3208, 3600, 7200},
                  .isdst = {0, 0, 1},
                  .ai = {0, 4, 8},
                  .chars = "LMT\0CET\0CEST",
                  .nchars = 13,
                  .footer = "CET-1CEST,M3.5.0,M10.5.0/3"};
}

static osp_tzone *parse_ok(const spec *s)
{
    tzif f = build(s);
    osp_tzone *z = NULL;
    char err[128];
    int rc = osp_tzone_parse(f.b, f.n, &z, err, sizeof err);
    if (rc != 0)
        fail_msg("parse failed: %s", err);
    return z;
}

static void parse_bad(const spec *s, const char *why)
{
    tzif f = build(s);
    osp_tzone *z = NULL;
    char err[128] = "";
    assert_int_equal(osp_tzone_parse(f.b, f.n, &z, err, sizeof err), OSP_ECORRUPT);
    assert_null(z);
    if (!strstr(err, why))
        fail_msg("error \"%s\", want \"%s\"", err, why);
}

static void test_tzif_good(void **state)
{
    (void)state;
    spec s = good();
    osp_tzone *z = parse_ok(&s);
    check_at(z, 0, 3208, "LMT");
    check_at(z, 1616893199, 3208, "LMT");
    check_at(z, 1616893200, 7200, "CEST");
    check_at(z, 1635642000, 3600, "CET");
    check_at(z, 4118083200LL, 7200, "CEST"); /* 2100, by the footer */
    osp_tzone_destroy(z);
    s.version = '3';
    z = parse_ok(&s);
    check_at(z, 4118083200LL, 7200, "CEST");
    osp_tzone_destroy(z);
    /* version 1: 32-bit times, no footer; after the last transition, its type */
    s.version = 0;
    z = parse_ok(&s);
    check_at(z, 1635642000, 3600, "CET");
    check_at(z, 4118083200LL, 3600, "CET");
    osp_tzone_destroy(z);
    /* no footer, and an empty one: the last transition's type holds */
    s = good();
    s.footer = NULL;
    z = parse_ok(&s);
    check_at(z, 4118083200LL, 3600, "CET");
    osp_tzone_destroy(z);
    s.footer = "";
    z = parse_ok(&s);
    check_at(z, 4118083200LL, 3600, "CET");
    osp_tzone_destroy(z);
    /* before the first transition, when it is to summer time: the nearest standard type
     * before it (Go's lookupFirstZone) */
    s = good();
    s.idx[0] = 2, s.idx[1] = 0;
    z = parse_ok(&s);
    check_at(z, 0, 3600, "CET");
    osp_tzone_destroy(z);
    osp_tzone_destroy(NULL);
}

/* A zone of one type and a footer, so that every instant goes to the footer. */
static osp_tzone *footer_zone(const char *footer)
{
    spec s = {
        .version = '3', .ntypes = 1, .off = {0}, .chars = "XXX", .nchars = 4, .footer = footer};
    return parse_ok(&s);
}

static void test_tzif_footer_rules(void **state)
{
    (void)state;
    /* Jn: day n of 365, February 29 never counted (J60 is March 1) */
    osp_tzone *z = footer_zone("XST-2XDT,J60/0,J300/0");
    check_at(z, 1709243999, 7200, "XST"); /* 2024-02-29 21:59:59Z */
    check_at(z, 1709244000, 10800, "XDT");
    check_at(z, 1729976399, 10800, "XDT"); /* 2024-10-26 20:59:59Z */
    check_at(z, 1729976400, 7200, "XST");
    check_at(z, 1677621600, 10800, "XDT"); /* 2023-02-28 22:00Z */
    check_at(z, 1698354000, 7200, "XST");  /* 2023-10-26 21:00Z */
    osp_tzone_destroy(z);
    /* n: zero-based, February 29 counted (59 is February 29 in a leap year) */
    z = footer_zone("YST-2YDT,59/0,300/0");
    check_at(z, 1709157599, 7200, "YST"); /* 2024-02-28 21:59:59Z */
    check_at(z, 1709157600, 10800, "YDT");
    check_at(z, 1729976400, 7200, "YST");  /* 2024-10-26 21:00Z */
    check_at(z, 1677621600, 10800, "YDT"); /* 2023-02-28 22:00Z */
    check_at(z, 1698440399, 10800, "YDT"); /* 2023-10-27 20:59:59Z */
    check_at(z, 1698440400, 7200, "YST");
    osp_tzone_destroy(z);
    /* version 3 times: negative, and past 24 h */
    z = footer_zone("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1");
    check_at(z, 1901149199, -10800, "-03"); /* 2030-03-31 00:59:59Z */
    check_at(z, 1901149200, -7200, "-02");
    check_at(z, 1919293200, -10800, "-03"); /* 2030-10-27 01:00Z */
    osp_tzone_destroy(z);
    z = footer_zone("AAA-4BBB,M3.1.0/49,M10.1.0/-25");
    check_at(z, 1898888399, 14400, "AAA"); /* 2030-03-04 20:59:59Z */
    check_at(z, 1898888400, 18000, "BBB");
    check_at(z, 1917367199, 18000, "BBB"); /* 2030-10-04 17:59:59Z */
    check_at(z, 1917367200, 14400, "AAA");
    osp_tzone_destroy(z);
    /* no rules: tzcode's M3.2.0,M11.1.0 at 2:00, summer an hour ahead */
    z = footer_zone("EST5EDT");
    check_at(z, 7263932399LL, -18000, "EST"); /* 2200-03-09 06:59:59Z */
    check_at(z, 7263932400LL, -14400, "EDT");
    osp_tzone_destroy(z);
    /* no summer time, an offset with minutes, a quoted name */
    z = footer_zone("<+0530>-5:30");
    check_at(z, 0, 19800, "+0530");
    osp_tzone_destroy(z);
    z = footer_zone("ABC-1:02:03");
    check_at(z, 0, 3723, "ABC");
    osp_tzone_destroy(z);
    /* explicit summer offset, ';' before the rules as tzcode allows */
    z = footer_zone("NZST-12NZDT-13:45;M9.5.0,M4.1.0/3");
    check_at(z, 1610668800, 49500, "NZDT"); /* 2021-01-15 */
    check_at(z, 1626307200, 43200, "NZST"); /* 2021-07-15 */
    osp_tzone_destroy(z);
}

static void test_tzif_bad(void **state)
{
    (void)state;
    spec s = good();
    s.ntypes = 0, s.ntrans = 0;
    parse_bad(&s, "no local time types");
    s = good();
    s.idx[1] = 3;
    parse_bad(&s, "missing local time type");
    s = good();
    s.when[1] = s.when[0];
    parse_bad(&s, "ascending");
    s = good();
    s.off[1] = 26 * 3600;
    parse_bad(&s, "offset out of range");
    s.off[1] = INT32_MIN;
    parse_bad(&s, "offset out of range");
    s = good();
    s.isdst[0] = 2;
    parse_bad(&s, "isdst");
    s = good();
    s.ai[2] = 13;
    parse_bad(&s, "abbreviation index");
    s = good();
    s.nchars = 12; /* "CEST" loses its NUL */
    parse_bad(&s, "not NUL-terminated");
    s = good();
    s.chars = "LMT\0CET\0CESTCESTCEST", s.nchars = 21;
    parse_bad(&s, "too long");
    s = good();
    s.nchars = 0, s.ntypes = 0, s.ntrans = 0;
    parse_bad(&s, "no local time types");
    const char *footers[] = {"CET",
                             "CET-1CEST,M3.5.0",
                             "CET-1CEST,M13.5.0,M10.5.0",
                             "CET-1CEST,M3.6.0,M10.5.0",
                             "CET-1CEST,M3.5.7,M10.5.0",
                             "CET-1CEST,J0,J300",
                             "CET-1CEST,366,300",
                             "CET-1CEST,M3.5.0,M10.5.0/169",
                             "CET-1CEST,M3.5.0,M10.5.0x",
                             "CET-1CEST;M3.5.0,M10.5.0",
                             "CE-1",
                             "<+05-5",
                             "CET-26",
                             "XST-25XDT,J60/0,J300/0", /* summer time an hour past the bound */
                             "CET-1:60",
                             "<ABCDEFGHIJKL>1",
                             "CET-1CEST,M3.5.0,M10.5.0\nX"};
    for (size_t i = 0; i < sizeof footers / sizeof footers[0]; i++) {
        s = good();
        s.footer = footers[i];
        tzif f = build(&s);
        osp_tzone *z = NULL;
        if (osp_tzone_parse(f.b, f.n, &z, NULL, 0) != OSP_ECORRUPT)
            fail_msg("footer \"%s\" was accepted", footers[i]);
    }
    /* a header at odds with the file */
    s = good();
    tzif f = build(&s);
    osp_tzone *z = NULL;
    char err[128];
    f.b[0] = 'X';
    assert_int_equal(osp_tzone_parse(f.b, f.n, &z, err, sizeof err), OSP_ECORRUPT);
    assert_string_equal(err, "TZif: not a TZif file");
    f = build(&s);
    f.b[4] = '5';
    assert_int_equal(osp_tzone_parse(f.b, f.n, &z, err, sizeof err), OSP_ECORRUPT);
    f = build(&s);
    f.b[51 + 20 + 12] = 0x40; /* the 64-bit block's transition count */
    assert_int_equal(osp_tzone_parse(f.b, f.n, &z, err, sizeof err), OSP_ECORRUPT);
    assert_string_equal(err, "TZif: truncated data block");
    f = build(&s);
    f.b[20 + 16] = 0xff; /* the version 1 block's type count */
    assert_int_equal(osp_tzone_parse(f.b, f.n, &z, err, sizeof err), OSP_ECORRUPT);
    f = build(&s);
    f.b[51 + 23] = 5; /* five UT/local indicators for three types */
    assert_int_equal(osp_tzone_parse(f.b, f.n, &z, err, sizeof err), OSP_ECORRUPT);
    assert_string_equal(err, "TZif: indicator counts differ from the type count");
    /* every cut through the file fails, but for the one that drops the whole footer */
    f = build(&s);
    size_t footer_at = f.n - strlen(s.footer) - 2;
    for (size_t n = 0; n < f.n; n++) {
        int rc = osp_tzone_parse(f.b, n, &z, err, sizeof err);
        if (n == footer_at) {
            assert_int_equal(rc, 0);
            osp_tzone_destroy(z);
        } else if (rc != OSP_ECORRUPT)
            fail_msg("a cut at %zu of %zu bytes was accepted", n, f.n);
    }
}

static void test_tzif_system_files(void **state)
{
    (void)state;
    /* each zone's own file parses alone, as the fuzz target feeds it */
    const char *names[] = {"Europe/Berlin", "Asia/Kolkata",        "Australia/Lord_Howe",
                           "America/Nuuk",  "right/Europe/London", "Etc/GMT-14"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", OSP_TZONE_DIR, names[i]);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static uint8_t data[OSP_TZONE_FILE_MAX];
        size_t n = fread(data, 1, sizeof data, f);
        fclose(f);
        osp_tzone *z = NULL;
        char err[128];
        if (osp_tzone_parse(data, n, &z, err, sizeof err) != 0)
            fail_msg("%s: %s", names[i], err);
        int32_t a, b;
        const char *x = osp_tzone_lookup(z, 1626350400, &a);
        const char *y = osp_tzone_lookup(zone(names[i]), 1626350400, &b);
        assert_int_equal(a, b);
        assert_string_equal(x, y);
        osp_tzone_destroy(z);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil),
        cmocka_unit_test(test_berlin),
        cmocka_unit_test(test_new_york_kolkata),
        cmocka_unit_test(test_lord_howe),
        cmocka_unit_test(test_footer_times),
        cmocka_unit_test(test_from_wall),
        cmocka_unit_test(test_abbr_offset),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_zoneinfo_dir),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_tzif_good),
        cmocka_unit_test(test_tzif_footer_rules),
        cmocka_unit_test(test_tzif_bad),
        cmocka_unit_test(test_tzif_system_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
