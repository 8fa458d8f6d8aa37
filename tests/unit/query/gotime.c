/* Unit tests for query/gotime: Go's time.ParseInLocation and Time.Format. Most cases and
 * their expected results are those of Go's src/time/format_test.go (run there with Local =
 * America/Los_Angeles); instants were worked out with python3 and `date -u -d @...`. */
#include "testutil.h"

#include "core/buf.h"
#include "core/err.h"
#include "query/gotime.h"
#include "query/tzone.h"

static const osp_tzone *zone(const char *name)
{
    const osp_tzone *z = osp_tzone_find(osp_str_c(name));
    if (!z)
        fail_msg("zone %s not found (is tzdata installed?)", name);
    return z;
}

static osp_gotime parse_in(const char *layout, const char *value, const osp_tzone *loc)
{
    osp_gotime t;
    char err[256];
    if (osp_gotime_parse(osp_str_c(layout), osp_str_c(value), loc, &t, err, sizeof err) != 0)
        fail_msg("%s", err);
    return t;
}

static void check_time(const osp_gotime *t, int64_t sec, int32_t nsec, int32_t off,
                       const char *zone_name)
{
    if (t->sec != sec || t->nsec != nsec || t->off != off || strcmp(t->zone, zone_name) != 0)
        fail_msg("got %lld.%09d %d \"%s\", want %lld.%09d %d \"%s\"", (long long)t->sec, t->nsec,
                 t->off, t->zone, (long long)sec, nsec, off, zone_name);
}

static void check_format(const osp_gotime *t, const char *layout, const char *want)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_gotime_format(&b, osp_str_c(layout), t), 0);
    assert_int_equal(osp_buf_putc(&b, '\0'), 0);
    if (strcmp(b.data, want) != 0)
        fail_msg("\"%s\" gave \"%s\", want \"%s\"", layout, b.data, want);
    osp_buf_cleanup(&b);
}

static void check_error(const char *layout, const char *value, const char *want)
{
    osp_gotime t;
    char err[256];
    assert_int_equal(
        osp_gotime_parse(osp_str_c(layout), osp_str_c(value), NULL, &t, err, sizeof err),
        OSP_EPARSE);
    if (strcmp(err, want) != 0)
        fail_msg("got  %s\nwant %s", err, want);
    check_time(&t, OSP_GOTIME_ZERO_SEC, 0, 0, "UTC");
}

#define ANSIC "Mon Jan _2 15:04:05 2006"
#define UNIXDATE "Mon Jan _2 15:04:05 MST 2006"
#define RUBYDATE "Mon Jan 02 15:04:05 -0700 2006"
#define RFC850 "Monday, 02-Jan-06 15:04:05 MST"
#define RFC1123 "Mon, 02 Jan 2006 15:04:05 MST"
#define RFC1123Z "Mon, 02 Jan 2006 15:04:05 -0700"
#define RFC3339 "2006-01-02T15:04:05Z07:00"
#define STAMPNANO "Jan _2 15:04:05.000000000"

/* Go's parseTests: each is Thu Feb 4 21:00:57 PST 2010, 2010-02-05 05:00:57Z. */
static void test_go_parse_tests(void **state)
{
    (void)state;
    static const struct {
        const char *layout, *value;
        int32_t nsec;
        const char *zone;
    } cases[] = {
        {ANSIC, "Thu Feb  4 21:00:57 2010", 0, "PST"},
        {UNIXDATE, "Thu Feb  4 21:00:57 PST 2010", 0, "PST"},
        {RUBYDATE, "Thu Feb 04 21:00:57 -0800 2010", 0, "PST"},
        {RFC850, "Thursday, 04-Feb-10 21:00:57 PST", 0, "PST"},
        {RFC1123, "Thu, 04 Feb 2010 21:00:57 PST", 0, "PST"},
        {RFC1123, "Thu, 04 Feb 2010 22:00:57 PDT", 0, "PST"},
        {RFC1123Z, "Thu, 04 Feb 2010 21:00:57 -0800", 0, "PST"},
        {RFC3339, "2010-02-04T21:00:57-08:00", 0, "PST"},
        {"2006-01-02 15:04:05-07", "2010-02-04 21:00:57-08", 0, "PST"},
        /* a fraction after the seconds, though the layout has none */
        {ANSIC, "Thu Feb  4 21:00:57.0 2010", 0, "PST"},
        {UNIXDATE, "Thu Feb  4 21:00:57.01 PST 2010", 10000000, "PST"},
        {RUBYDATE, "Thu Feb 04 21:00:57.012 -0800 2010", 12000000, "PST"},
        {RFC850, "Thursday, 04-Feb-10 21:00:57.0123 PST", 12300000, "PST"},
        {RFC1123, "Thu, 04 Feb 2010 21:00:57.01234 PST", 12340000, "PST"},
        {RFC1123Z, "Thu, 04 Feb 2010 21:00:57.01234 -0800", 12340000, "PST"},
        {RFC3339, "2010-02-04T21:00:57.012345678-08:00", 12345678, "PST"},
        {"2006-01-02 15:04:05", "2010-02-04 21:00:57.0", 0, "PST"},
        /* spaces and case */
        {ANSIC, "Thu Feb 4 21:00:57 2010", 0, "PST"},
        {ANSIC, "Thu      Feb     4     21:00:57     2010", 0, "PST"},
        {ANSIC, "THU FEB 4 21:00:57 2010", 0, "PST"},
        {ANSIC, "thu feb 4 21:00:57 2010", 0, "PST"},
        /* fractions in the layout */
        {"Mon Jan _2 15:04:05.000 2006", "Thu Feb  4 21:00:57.012 2010", 12000000, "PST"},
        {"Mon Jan _2 15:04:05.000000 2006", "Thu Feb  4 21:00:57.012345 2010", 12345000, "PST"},
        {"Mon Jan _2 15:04:05.000000000 2006", "Thu Feb  4 21:00:57.012345678 2010", 12345678,
         "PST"},
        {"Mon Jan _2 15:04:05,000 2006", "Thu Feb  4 21:00:57.012 2010", 12000000, "PST"},
        {"Mon Jan _2 15:04:05,000000 2006", "Thu Feb  4 21:00:57.012345 2010", 12345000, "PST"},
        {"Mon Jan _2 15:04:05,000000000 2006", "Thu Feb  4 21:00:57.012345678 2010", 12345678,
         "PST"},
        {"2006.01.02.15.04.05.0", "2010.02.04.21.00.57.0", 0, "PST"},
        {"2006.01.02.15.04.05.00", "2010.02.04.21.00.57.01", 10000000, "PST"},
        {"Hi Janet, the Month is January: Jan _2 15:04:05 2006",
         "Hi Janet, the Month is February: Feb  4 21:00:57 2010", 0, "PST"},
        /* GMT with an offset: the reading taken as UTC, shown at -8 h */
        {UNIXDATE, "Fri Feb  5 05:00:57 GMT-8 2010", 0, "GMT-8"},
        /* .999 takes any number of digits, or none */
        {"2006-01-02 15:04:05.9999 -0700 MST", "2010-02-04 21:00:57 -0800 PST", 0, "PST"},
        {"2006-01-02 15:04:05.999999999 -0700 MST", "2010-02-04 21:00:57 -0800 PST", 0, "PST"},
        {"2006-01-02 15:04:05.9999 -0700 MST", "2010-02-04 21:00:57.0123 -0800 PST", 12300000,
         "PST"},
        {"2006-01-02 15:04:05.9999 -0700 MST", "2010-02-04 21:00:57.012345678 -0800 PST", 12345678,
         "PST"},
        {"2006-01-02 15:04:05,9999 -0700 MST", "2010-02-04 21:00:57.0123 -0800 PST", 12300000,
         "PST"},
        {"2006-01-02 15:04:05,999999999 -0700 MST", "2010-02-04 21:00:57.012345678 -0800 PST",
         12345678, "PST"},
        /* day of the year */
        {"2006-01-02 002 15:04:05", "2010-02-04 035 21:00:57", 0, "PST"},
        {"2006-01 002 15:04:05", "2010-02 035 21:00:57", 0, "PST"},
        {"2006-002 15:04:05", "2010-035 21:00:57", 0, "PST"},
        {"200600201 15:04:05", "201003502 21:00:57", 0, "PST"},
        {"200600204 15:04:05", "201003504 21:00:57", 0, "PST"},
    };
    const osp_tzone *la = zone("America/Los_Angeles");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        osp_gotime t = parse_in(cases[i].layout, cases[i].value, la);
        check_time(&t, 1265346057, cases[i].nsec, -28800, cases[i].zone);
    }
    /* without a year (issue 4502): year 0, here in UTC */
    static const struct {
        const char *layout, *value;
        int32_t nsec;
    } stamps[] = {
        {STAMPNANO, "Feb  4 21:00:57.012345678", 12345678},
        {"Jan _2 15:04:05.999", "Feb  4 21:00:57.012300000", 12300000},
        {"Jan _2 15:04:05.999", "Feb  4 21:00:57.012345678", 12345678},
        {"Jan _2 15:04:05.999999999", "Feb  4 21:00:57.0123", 12300000},
    };
    for (size_t i = 0; i < sizeof stamps / sizeof stamps[0]; i++) {
        osp_gotime t = parse_in(stamps[i].layout, stamps[i].value, NULL);
        check_time(&t, -62164205943LL, stamps[i].nsec, 0, "UTC");
    }
}

static void test_parse_fields(void **state)
{
    (void)state;
    osp_gotime t = parse_in("15:04_20060102", "14:38_20150618", NULL); /* issue 11334 */
    check_time(&t, 1434638280, 0, 0, "UTC");
    t = parse_in("2006-01-02", "0000-01-01", NULL);
    check_time(&t, -62167219200LL, 0, 0, "UTC");
    t = parse_in("2006-01-02 15:04:05", "9999-12-31 23:59:59", NULL);
    check_time(&t, 253402300799LL, 0, 0, "UTC");
    t = parse_in("06", "69", NULL); /* two-digit years: 69-99 are 19xx, 00-68 20xx */
    check_time(&t, -31536000, 0, 0, "UTC");
    t = parse_in("06", "68", NULL);
    check_time(&t, 3092601600LL, 0, 0, "UTC");
    t = parse_in("3:04PM", "12:00PM", NULL); /* noon; year 0 */
    check_time(&t, -62167176000LL, 0, 0, "UTC");
    t = parse_in("03:04pm", "12:00am", NULL); /* midnight */
    check_time(&t, -62167219200LL, 0, 0, "UTC");
    t = parse_in("2006 3PM", "2010 9PM", NULL);
    check_time(&t, 1262379600, 0, 0, "UTC");
    t = parse_in("__2 2006", "  5 2010", NULL);
    check_time(&t, 1262649600, 0, 0, "UTC");
    t = parse_in("2006-002", "2024-060", NULL); /* February 29 of a leap year */
    check_time(&t, 1709164800, 0, 0, "UTC");
    t = parse_in("2006-002", "2023-365", NULL);
    check_time(&t, 1703980800, 0, 0, "UTC");
    t = parse_in("2006-01-02", "2000-02-29", NULL);
    check_time(&t, 951782400, 0, 0, "UTC");
    t = parse_in("January 2 2006", "FEBRUARY 4 2010", NULL);
    check_time(&t, 1265241600, 0, 0, "UTC");
    t = parse_in("2006-01-02 15:04:05", "2010-02-04 21:00:57,5", NULL);
    check_time(&t, 1265317257, 500000000, 0, "UTC");
    t = parse_in("15:04:05.999", "21:00:57.1234567891234", NULL); /* cut to nanoseconds */
    assert_int_equal(t.nsec, 123456789);
    t = parse_in("Mon 2006", "Sun 2010", NULL); /* a weekday is checked, not believed */
    check_time(&t, 1262304000, 0, 0, "UTC");
    assert_int_equal(osp_gotime_parse(OSP_STR_NULL, OSP_STR_NULL, NULL, &t, NULL, 0), 0);
    check_time(&t, -62167219200LL, 0, 0, "UTC"); /* nothing read: January 1 of year 0 */
}

static void test_parse_zones(void **state)
{
    (void)state;
    const osp_tzone *berlin = zone("Europe/Berlin");
    /* an abbreviation the location uses: its offset then, or any use of it */
    osp_gotime t = parse_in("2006-01-02 15:04 MST", "2021-07-01 10:00 CEST", berlin);
    check_time(&t, 1625126400, 0, 7200, "CEST");
    t = parse_in("2006-01-02 15:04 MST", "2021-01-01 10:00 CEST", berlin);
    check_time(&t, 1609488000, 0, 3600, "CET");
    /* UTC, whatever the location */
    t = parse_in("2006-01-02 15:04 MST", "2021-07-01 10:00 UTC", berlin);
    check_time(&t, 1625133600, 0, 0, "UTC");
    t = parse_in(RFC3339, "2021-07-01T10:00:00Z", berlin);
    check_time(&t, 1625133600, 0, 0, "UTC");
    /* an unknown abbreviation: kept, at offset 0, the reading taken as UTC */
    t = parse_in("2006-01-02 15:04 MST", "2021-07-01 10:00 XYZ", berlin);
    check_time(&t, 1625133600, 0, 0, "XYZ");
    t = parse_in("2006-01-02 15:04 MST", "2021-07-01 10:00 +03", NULL);
    check_time(&t, 1625133600, 0, 0, "+03");
    /* an offset the location has then: the location's zone; else one without a name */
    t = parse_in("2006-01-02 15:04 -0700", "2021-11-02 00:00 +0100", berlin);
    check_time(&t, 1635807600, 0, 3600, "CET");
    t = parse_in("2006-01-02 15:04 -0700", "2021-11-02 00:00 +0200", berlin);
    check_time(&t, 1635804000, 0, 7200, "");
    t = parse_in("2006-01-02 15:04 -0700 MST", "2021-11-02 00:00 +0100 XYZ", berlin);
    check_time(&t, 1635807600, 0, 3600, "XYZ"); /* the name must match too */
    t = parse_in("2006-01-02 15:04 -0700", "2021-11-02 00:00 +0100", NULL);
    check_time(&t, 1635807600, 0, 3600, "");
    t = parse_in(RUBYDATE, "Mon Jan 02 15:04:05 +0123 2006", NULL);
    check_time(&t, 1136209265, 0, 4980, "");
    /* Go's sentinel for "no offset" is -1 s, so -00:00:01 reads as none */
    t = parse_in("2006-01-02 15:04 -07:00:00", "2021-07-01 10:00 -00:00:01", berlin);
    check_time(&t, 1625126400, 0, 7200, "CEST");
    /* offsets with seconds (TestParseSecondsInTimeZone) */
    static const struct {
        const char *layout, *value;
        int32_t off;
    } secs[] = {
        {"2006-01-02T15:04:05-070000", "1871-01-01T05:33:02-003408", -(34 * 60 + 8)},
        {"2006-01-02T15:04:05-07:00:00", "1871-01-01T05:33:02-00:34:08", -(34 * 60 + 8)},
        {"2006-01-02T15:04:05-070000", "1871-01-01T05:33:02+003408", 34 * 60 + 8},
        {"2006-01-02T15:04:05-07:00:00", "1871-01-01T05:33:02+00:34:08", 34 * 60 + 8},
        {"2006-01-02T15:04:05Z070000", "1871-01-01T05:33:02-003408", -(34 * 60 + 8)},
        {"2006-01-02T15:04:05Z07:00:00", "1871-01-01T05:33:02+00:34:08", 34 * 60 + 8},
        {"2006-01-02T15:04:05-07", "1871-01-01T05:33:02+01", 1 * 60 * 60},
        {"2006-01-02T15:04:05-07", "1871-01-01T05:33:02-02", -2 * 60 * 60},
        {"2006-01-02T15:04:05Z07", "1871-01-01T05:33:02-02", -2 * 60 * 60},
    };
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
        t = parse_in(secs[i].layout, secs[i].value, NULL);
        check_time(&t, -3124117618LL - secs[i].off, 0, secs[i].off, "");
        /* and Go's TestFormatSecondsInTimeZone: the same time prints the same text */
        osp_gotime lmt = {.sec = -3124117618LL - secs[i].off, .off = secs[i].off, .zone = "LMT"};
        check_format(&lmt, secs[i].layout, secs[i].value);
    }
    /* America/Blanc-Sablon's AST is Atlantic Standard Time (TestParseInLocation) */
    t = parse_in("Jan 02 2006 MST", "Feb 01 2013 AST", zone("America/Blanc-Sablon"));
    check_time(&t, 1359691200, 0, -14400, "AST");
    /* no zone in the value: the location's wall clock, gaps and overlaps as Go's Date */
    t = parse_in("2006-01-02 15:04", "2021-03-28 02:30", berlin);
    check_time(&t, 1616895000, 0, 7200, "CEST");
    t = parse_in("2006-01-02 15:04", "2021-10-31 02:30", berlin);
    check_time(&t, 1635643800, 0, 3600, "CET");
    t = parse_in("2006-01-02 15:04", "2011-03-13 02:30", zone("America/Los_Angeles"));
    check_time(&t, 1300008600, 0, -28800, "PST");
    t = parse_in("2006-01-02 15:04", "2021-06-01 05:30", zone("Asia/Kolkata"));
    check_time(&t, 1622505600, 0, 19800, "IST");
}

/* Go's parseTimeZone: how much of a value reads as an abbreviation. */
static void test_parse_zone_names(void **state)
{
    (void)state;
    static const struct {
        const char *value; /* then '|' */
        const char *zone;  /* NULL: refused */
        int32_t off;
    } cases[] = {
        {"GMT", "GMT", 0},          {"GMT+12", "GMT+12", 43200},
        {"GMT+00", "GMT+00", 0},    {"GMT+3", "GMT+3", 10800},
        {"GMT-5", "GMT-5", -18000}, {"GMT-51", NULL, 0},
        {"GMT+", NULL, 0},          {"ChST", "ChST", 0},
        {"MeST", "MeST", 0},        {"MSD", "MSD", 0},
        {"MSDY", NULL, 0},          {"ESAST", "ESAST", 0},
        {"ESASTT", NULL, 0},        {"ESATY", NULL, 0},
        {"WITA", "WITA", 0},        {"+03", "+03", 0},
        {"-04", "-04", 0},          {"-23", "-23", 0},
        {"-24", NULL, 0},           {"+24", NULL, 0},
        {"gmt", NULL, 0},           {"GMT+0000000000023", "GMT+0000000", 82800},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char value[64];
        snprintf(value, sizeof value, "%s|", cases[i].value);
        osp_gotime t;
        int rc = osp_gotime_parse(OSP_STR_LIT("MST|"), osp_str_c(value), NULL, &t, NULL, 0);
        if (!cases[i].zone) {
            if (rc != OSP_EPARSE)
                fail_msg("\"%s\" was read as \"%s\"", cases[i].value, t.zone);
            continue;
        }
        if (rc != 0)
            fail_msg("\"%s\" was refused", cases[i].value);
        check_time(&t, -62167219200LL, 0, cases[i].off, cases[i].zone);
    }
}

static void test_parse_errors(void **state)
{
    (void)state;
    check_error(ANSIC, "Feb  4 21:00:60 2010",
                "parsing time \"Feb  4 21:00:60 2010\" as \"Mon Jan _2 15:04:05 2006\": cannot "
                "parse \"Feb  4 21:00:60 2010\" as \"Mon\"");
    check_error(ANSIC, "Thu Feb  4 21:00:57 @2010",
                "parsing time \"Thu Feb  4 21:00:57 @2010\" as \"Mon Jan _2 15:04:05 2006\": "
                "cannot parse \"@2010\" as \"2006\"");
    check_error(ANSIC, "Thu Feb  4 21:00:60 2010",
                "parsing time \"Thu Feb  4 21:00:60 2010\": second out of range");
    check_error(ANSIC, "Thu Feb  4 21:61:57 2010",
                "parsing time \"Thu Feb  4 21:61:57 2010\": minute out of range");
    check_error(ANSIC, "Thu Feb  4 24:00:60 2010",
                "parsing time \"Thu Feb  4 24:00:60 2010\": hour out of range");
    check_error("Mon Jan _2 15:04:05.000 2006", "Thu Feb  4 23:00:59x01 2010",
                "parsing time \"Thu Feb  4 23:00:59x01 2010\" as \"Mon Jan _2 15:04:05.000 "
                "2006\": cannot parse \"x01 2010\" as \".000\"");
    check_error("Mon Jan _2 15:04:05.000 2006", "Thu Feb  4 23:00:59.xxx 2010",
                "parsing time \"Thu Feb  4 23:00:59.xxx 2010\" as \"Mon Jan _2 15:04:05.000 "
                "2006\": cannot parse \".xxx 2010\" as \".000\"");
    check_error("Mon Jan _2 15:04:05.000 2006", "Thu Feb  4 23:00:59.-123 2010",
                "parsing time \"Thu Feb  4 23:00:59.-123 2010\": fractional second out of range");
    check_error(STAMPNANO, "Dec  7 11:22:01.000000",
                "parsing time \"Dec  7 11:22:01.000000\" as \"Jan _2 15:04:05.000000000\": "
                "cannot parse \".000000\" as \".000000000\"");
    check_error(STAMPNANO, "Dec  7 11:22:01.0000000000",
                "parsing time \"Dec  7 11:22:01.0000000000\": extra text: \"0\"");
    check_error(RFC3339, "2006-01-02T15:04:05Z07:00",
                "parsing time \"2006-01-02T15:04:05Z07:00\": extra text: \"07:00\"");
    check_error(RFC3339, "2006-01-02T15:04_abc",
                "parsing time \"2006-01-02T15:04_abc\" as \"2006-01-02T15:04:05Z07:00\": cannot "
                "parse \"_abc\" as \":\"");
    check_error(RFC3339, "2006-01-02T15:04:05_abc",
                "parsing time \"2006-01-02T15:04:05_abc\" as \"2006-01-02T15:04:05Z07:00\": "
                "cannot parse \"_abc\" as \"Z07:00\"");
    check_error(RFC3339, "2006-01-02T15:04:05Z_abc",
                "parsing time \"2006-01-02T15:04:05Z_abc\": extra text: \"_abc\"");
    check_error(RFC3339, "2010-02-04T21:00:67.012345678-08:00",
                "parsing time \"2010-02-04T21:00:67.012345678-08:00\": second out of range");
    check_error(RFC3339, "2010-02-04T21:00:07+25:00",
                "parsing time \"2010-02-04T21:00:07+25:00\": time zone offset hour out of range");
    check_error("_2 Jan 06 15:04 MST", "4 --- 00 00:00 GMT",
                "parsing time \"4 --- 00 00:00 GMT\" as \"_2 Jan 06 15:04 MST\": cannot parse "
                "\"--- 00 00:00 GMT\" as \"Jan\"");
    check_error("Jan _2 002 2006", "Feb  4 034 2006",
                "parsing time \"Feb  4 034 2006\": day-of-year does not match day");
    check_error("Jan _2 002 2006", "Feb  4 004 2006",
                "parsing time \"Feb  4 004 2006\": day-of-year does not match month");
    check_error("2006-002", "2023-366", "parsing time \"2023-366\": day-of-year out of range");
    check_error("01-02", "00-01", "parsing time \"00-01\": month out of range");
    check_error("01-02", "13-01", "parsing time \"13-01\": month out of range");
    check_error("01 MST", "0 MST",
                "parsing time \"0 MST\" as \"01 MST\": cannot parse \"0 MST\" as \"01\"");
    check_error("2006-01-02", "2023-02-29", "parsing time \"2023-02-29\": day out of range");
    check_error("2006-01-02", "1900-02-29", "parsing time \"1900-02-29\": day out of range");
    check_error("2006-01-02", "2021-04-31", "parsing time \"2021-04-31\": day out of range");
    check_error("2006-01-02", "2021-01-00", "parsing time \"2021-01-00\": day out of range");
    check_error("2006-01-02", "2021-1-01",
                "parsing time \"2021-1-01\" as \"2006-01-02\": cannot parse \"1-01\" as \"01\"");
    check_error("Mon 2006", "Son 2010",
                "parsing time \"Son 2010\" as \"Mon 2006\": cannot parse \"Son 2010\" as \"Mon\"");
    check_error("3PM", "3XM", "parsing time \"3XM\" as \"3PM\": cannot parse \"XM\" as \"PM\"");
    check_error("2006", "-001",
                "parsing time \"-001\" as \"2006\": cannot parse \"-001\" as "
                "\"2006\"");
    check_error("", "x", "parsing time \"x\": extra text: \"x\"");
    /* values quoted as Go quotes them */
    check_error("2006", "x\"\\\t\xc3\xa9",
                "parsing time \"x\\\"\\\\\\x09\\xc3\\xa9\" as \"2006\": cannot parse "
                "\"x\\\"\\\\\\x09\\xc3\\xa9\" as \"2006\"");
    /* cut to fit */
    osp_gotime t;
    char err[16];
    assert_int_equal(
        osp_gotime_parse(OSP_STR_LIT("2006"), OSP_STR_LIT("20x6"), NULL, &t, err, sizeof err),
        OSP_EPARSE);
    assert_string_equal(err, "parsing time \"2");
    assert_int_equal(osp_gotime_parse(OSP_STR_LIT("2006"), OSP_STR_LIT("20x6"), NULL, &t, NULL, 0),
                     OSP_EPARSE);
}

/* Go's formatTests, at Thu Feb 4 21:00:57.0123456 PST 2009 in Los Angeles. */
static void test_format_go(void **state)
{
    (void)state;
    osp_gotime t = osp_gotime_in(1233810057, 12345600, zone("America/Los_Angeles"));
    static const struct {
        const char *layout, *want;
    } cases[] = {
        {ANSIC, "Wed Feb  4 21:00:57 2009"},
        {UNIXDATE, "Wed Feb  4 21:00:57 PST 2009"},
        {RUBYDATE, "Wed Feb 04 21:00:57 -0800 2009"},
        {"02 Jan 06 15:04 MST", "04 Feb 09 21:00 PST"},
        {RFC850, "Wednesday, 04-Feb-09 21:00:57 PST"},
        {RFC1123, "Wed, 04 Feb 2009 21:00:57 PST"},
        {RFC1123Z, "Wed, 04 Feb 2009 21:00:57 -0800"},
        {RFC3339, "2009-02-04T21:00:57-08:00"},
        {"2006-01-02T15:04:05.999999999Z07:00", "2009-02-04T21:00:57.0123456-08:00"},
        {"3:04PM", "9:00PM"},
        {"3pm", "9pm"},
        {"3PM", "9PM"},
        {"06 01 02", "09 02 04"},
        {"Hi Janet, the Month is January", "Hi Janet, the Month is February"},
        {"Jan _2 15:04:05", "Feb  4 21:00:57"},
        {"Jan _2 15:04:05.000", "Feb  4 21:00:57.012"},
        {"Jan _2 15:04:05.000000", "Feb  4 21:00:57.012345"},
        {STAMPNANO, "Feb  4 21:00:57.012345600"},
        {"Jan  2 002 __2 2", "Feb  4 035  35 4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_format(&t, cases[i].layout, cases[i].want);
}

static void test_format_zones(void **state)
{
    (void)state;
    /* a zone without an abbreviation prints its offset for MST */
    osp_gotime t = parse_in("2006-01-02 15:04 -0700", "2021-11-02 00:00 +0100", NULL);
    check_format(&t, "2006-01-02 15:04:05.999999999 -0700 MST", "2021-11-02 00:00:00 +0100 +0100");
    t = parse_in(RUBYDATE, "Thu Feb 02 16:10:03 -0500 2006", NULL); /* TestMissingZone */
    check_format(&t, UNIXDATE, "Thu Feb  2 16:10:03 -0500 2006");
    t = osp_gotime_in(1622505600, 0, zone("Asia/Kolkata"));
    check_format(&t, RFC3339 " MST Z0700 Z07", "2021-06-01T05:30:00+05:30 IST +0530 +05");
    t = osp_gotime_in(1626307200, 0, zone("Australia/Lord_Howe"));
    check_format(&t, "15:04 MST -07:00", "10:30 +1030 +10:30");
    t = osp_gotime_in(1626307200, 0, zone("America/New_York"));
    check_format(&t, "Z07:00 Z0700 Z07:00:00 -07 MST", "-04:00 -0400 -04:00:00 -04 EDT");
    t = osp_gotime_in(1626307200, 0, NULL);
    check_format(&t, "Z07:00 Z0700 -07:00 MST", "Z Z +00:00 UTC");
    t = osp_gotime_in(-2745446400LL, 0, zone("America/New_York")); /* LMT -4:56:02 */
    check_format(&t, "2006-01-02 15:04:05 -07:00:00 -0700 MST",
                 "1882-12-31 19:03:58 -04:56:02 -0456 LMT");
}

static void test_format_fields(void **state)
{
    (void)state;
    osp_gotime t = osp_gotime_in(981173106, 700000000, NULL); /* 2001-02-03 04:05:06.7 */
    check_format(&t, "3:4:5", "4:5:6");                       /* TestFormatSingleDigits */
    check_format(&t, ".9 .99 .000 ,0", ".7 .7 .700 ,7");
    t = osp_gotime_in(-62167176000LL, 0, NULL); /* noon of year 0 */
    check_format(&t, "3:04PM 03:04PM", "12:00PM 12:00PM");
    t = osp_gotime_in(-62167219200LL, 0, NULL); /* midnight */
    check_format(&t, "3:04PM 03:04PM", "12:00AM 12:00AM");
    /* TestFormatShortYear: four digits at least, a '-' before; 06 from the year's size */
    static const struct {
        int64_t year;
        const char *want;
    } years[] = {{-10001, "-10001.01.01 01"}, {-1000, "-1000.01.01 00"}, {-1, "-0001.01.01 01"},
                 {0, "0000.01.01 00"},        {1, "0001.01.01 01"},      {99, "0099.01.01 99"},
                 {9999, "9999.01.01 99"},     {10000, "10000.01.01 00"}};
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
        t = osp_gotime_in(osp_tzone_days_from_civil(years[i].year, 1, 1) * 86400, 0, NULL);
        check_format(&t, "2006.01.02 06", years[i].want);
    }
    t = osp_gotime_in(OSP_GOTIME_ZERO_SEC, 0, NULL);
    check_format(&t, "2006-01-02 15:04:05 -0700 MST Monday",
                 "0001-01-01 00:00:00 +0000 UTC Monday");
}

/* Formatting a parsed time with its layout and parsing that again gives the same time. */
static void test_round_trip(void **state)
{
    (void)state;
    const char *layouts[] = {RFC3339, RUBYDATE, "2006-01-02 15:04:05.000000000 -07:00:00",
                             "Monday, 02-Jan-2006 03:04:05.999 PM Z0700", "2006 002 15:04:05"};
    const char *zones[] = {"UTC", "Europe/Berlin", "Australia/Lord_Howe", "America/St_Johns"};
    int64_t instants[] = {0, 1616893200, 1633188600, 4118083200LL, -1000000000};
    for (size_t z = 0; z < 4; z++)
        for (size_t i = 0; i < 5; i++)
            for (size_t l = 0; l < 5; l++) {
                osp_gotime t = osp_gotime_in(instants[i], 123456789, zone(zones[z])), back;
                osp_buf b;
                osp_buf_init(&b, 0);
                assert_int_equal(osp_gotime_format(&b, osp_str_c(layouts[l]), &t), 0);
                char err[256];
                if (osp_gotime_parse(osp_str_c(layouts[l]), osp_buf_str(&b), zone(zones[z]), &back,
                                     err, sizeof err))
                    fail_msg("%s", err);
                assert_int_equal(back.sec, t.sec);
                assert_int_equal(back.off, t.off);
                osp_buf_cleanup(&b);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_parse_tests), cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_parse_zones),    cmocka_unit_test(test_parse_zone_names),
        cmocka_unit_test(test_parse_errors),   cmocka_unit_test(test_format_go),
        cmocka_unit_test(test_format_zones),   cmocka_unit_test(test_format_fields),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
