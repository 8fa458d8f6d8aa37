/* Unit tests for query/params: every accepted format and every kind of rejection. */
#include "testutil.h"

#include "core/err.h"
#include "query/params.h"

static uint64_t dur_ok(const char *z)
{
    uint64_t ns = 12345;
    osp_param_err err = {{0}};
    int rc = osp_param_duration("minDuration", osp_str_c(z), &ns, &err);
    if (rc)
        fail_msg("%s: %s", z, err.msg);
    return ns;
}

static const char *dur_bad(const char *z)
{
    static osp_param_err err;
    uint64_t ns = 7;
    assert_int_equal(osp_param_duration("minDuration", osp_str_c(z), &ns, &err), OSP_EINVAL);
    assert_int_equal(ns, 7); /* untouched on failure */
    return err.msg;
}

static void test_duration(void **state)
{
    (void)state;
    assert_int_equal(dur_ok("250ms"), 250000000ULL);
    assert_int_equal(dur_ok("1.5s"), 1500000000ULL);
    assert_int_equal(dur_ok("2m"), 120000000000ULL);
    assert_int_equal(dur_ok("1h"), 3600000000000ULL);
    assert_int_equal(dur_ok("100us"), 100000ULL);
    assert_int_equal(dur_ok("100\xc2\xb5s"), 100000ULL); /* micro sign */
    assert_int_equal(dur_ok("100\xce\xbcs"), 100000ULL); /* greek mu */
    assert_int_equal(dur_ok("10ns"), 10ULL);
    assert_int_equal(dur_ok("0"), 0ULL);
    assert_int_equal(dur_ok("+3s"), 3000000000ULL);
    assert_int_equal(dur_ok("1h30m"), 5400000000000ULL);
    assert_int_equal(dur_ok("1h2m3s4ms5us6ns"), 3723004005006ULL);
    assert_int_equal(dur_ok(".5s"), 500000000ULL);
    assert_int_equal(dur_ok("1.s"), 1000000000ULL);
    assert_int_equal(dur_ok("0.000000001s"), 1ULL);
    assert_int_equal(dur_ok("1.0000000000000000000009s"), 1000000000ULL); /* long fraction */
    assert_int_equal(dur_ok("2.25ms"), 2250000ULL);
    assert_int_equal(dur_ok("18446744073709551615ns"), UINT64_MAX);

    assert_string_equal(dur_bad("5x"),
                        "invalid minDuration \"5x\": expected a duration like 250ms, 1.5s, 2m "
                        "or 1h");
    assert_string_equal(dur_bad("-1s"), "invalid minDuration \"-1s\": must not be negative");
    assert_string_equal(dur_bad("18446744073709551616ns"),
                        "invalid minDuration \"18446744073709551616ns\": out of range");
    assert_string_equal(dur_bad("6000000h"), "invalid minDuration \"6000000h\": out of range");
    assert_non_null(strstr(dur_bad(""), "expected a duration"));
    assert_non_null(strstr(dur_bad("+"), "expected a duration"));
    assert_non_null(strstr(dur_bad("10"), "expected a duration")); /* missing unit */
    assert_non_null(strstr(dur_bad("s"), "expected a duration"));  /* missing number */
    assert_non_null(strstr(dur_bad(".s"), "expected a duration"));
    assert_non_null(strstr(dur_bad("1d"), "expected a duration")); /* lookback only */
    assert_non_null(strstr(dur_bad("1s "), "expected a duration"));
    assert_non_null(strstr(dur_bad("1 s"), "expected a duration"));
}

static void test_echo_is_bounded(void **state)
{
    (void)state;
    char long_value[200];
    memset(long_value, '9', sizeof long_value - 2);
    long_value[sizeof long_value - 2] = 'x';
    long_value[sizeof long_value - 1] = '\0';
    const char *msg = dur_bad(long_value);
    char expect[128];
    snprintf(expect, sizeof expect, "invalid minDuration \"%.*s...\": ", OSP_PARAM_ECHO_MAX,
             long_value);
    assert_memory_equal(msg, expect, strlen(expect));
}

static void test_lookback(void **state)
{
    (void)state;
    osp_param_err err;
    uint64_t ns;
    assert_int_equal(osp_param_lookback("lookback", osp_str_c("1h"), &ns, &err), 0);
    assert_int_equal(ns, 3600000000000ULL);
    assert_int_equal(osp_param_lookback("lookback", osp_str_c("2d"), &ns, &err), 0);
    assert_int_equal(ns, 2 * 86400000000000ULL);
    assert_int_equal(osp_param_lookback("lookback", osp_str_c("1w"), &ns, &err), 0);
    assert_int_equal(ns, 7 * 86400000000000ULL);
    assert_int_equal(osp_param_lookback("lookback", osp_str_c("90m"), &ns, &err), 0);
    assert_int_equal(ns, 5400000000000ULL);
    assert_int_equal(osp_param_lookback("lookback", osp_str_c("custom"), &ns, &err), OSP_EINVAL);
    assert_string_equal(err.msg, "invalid lookback \"custom\": expected a duration like 1h or 2d");
}

static uint64_t time_ok(const char *z)
{
    uint64_t ns = 0;
    osp_param_err err = {{0}};
    if (osp_param_time("start", osp_str_c(z), &ns, &err))
        fail_msg("%s: %s", z, err.msg);
    return ns;
}

static const char *time_bad(const char *z)
{
    static osp_param_err err;
    uint64_t ns;
    assert_int_equal(osp_param_time("start", osp_str_c(z), &ns, &err), OSP_EINVAL);
    return err.msg;
}

static void test_time(void **state)
{
    (void)state;
    assert_int_equal(time_ok("1714564800000000000"), 1714564800000000000ULL);
    assert_int_equal(time_ok("0"), 0);
    assert_int_equal(time_ok("18446744073709551615"), UINT64_MAX);
    assert_int_equal(time_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(time_ok("2024-05-01T12:00:00Z"), 1714564800000000000ULL);
    assert_int_equal(time_ok("2024-05-01t12:00:00z"), 1714564800000000000ULL);
    assert_int_equal(time_ok("2024-05-01 12:00:00Z"), 1714564800000000000ULL);
    assert_int_equal(time_ok("2024-05-01T12:00:00.25Z"), 1714564800250000000ULL);
    assert_int_equal(time_ok("2024-05-01T12:00:00.123456789Z"), 1714564800123456789ULL);
    assert_int_equal(time_ok("2024-05-01T12:00:00.1234567891234Z"), 1714564800123456789ULL);
    assert_int_equal(time_ok("2024-05-01T14:00:00+02:00"), 1714564800000000000ULL);
    assert_int_equal(time_ok("2024-05-01T06:30:00-05:30"), 1714564800000000000ULL);
    assert_int_equal(time_ok("2024-02-29T00:00:00Z"), 1709164800000000000ULL); /* leap day */
    assert_int_equal(time_ok("2000-02-29T00:00:00Z"), 951782400000000000ULL);
    assert_int_equal(time_ok("2554-07-21T23:34:33.709551615Z"), UINT64_MAX);

    const char *hint = "expected unix nanoseconds or an RFC 3339 time";
    assert_string_equal(time_bad("yesterday"),
                        "invalid start \"yesterday\": expected unix nanoseconds or an RFC 3339 "
                        "time like 2024-05-01T12:00:00Z");
    assert_non_null(strstr(time_bad(""), hint));
    assert_non_null(strstr(time_bad("-5"), hint));
    assert_non_null(strstr(time_bad("2024-05-01"), hint));
    assert_non_null(strstr(time_bad("2024-05-01T12:00:00"), hint));       /* no offset */
    assert_non_null(strstr(time_bad("2024-05-01T12:00:00.Z"), hint));     /* empty fraction */
    assert_non_null(strstr(time_bad("2024-13-01T12:00:00Z"), hint));      /* month */
    assert_non_null(strstr(time_bad("2023-02-29T12:00:00Z"), hint));      /* not a leap year */
    assert_non_null(strstr(time_bad("1900-02-29T12:00:00Z"), hint));      /* not a leap year */
    assert_non_null(strstr(time_bad("2024-04-31T12:00:00Z"), hint));      /* day */
    assert_non_null(strstr(time_bad("2024-05-01T24:00:00Z"), hint));      /* hour */
    assert_non_null(strstr(time_bad("2024-05-01T12:60:00Z"), hint));      /* minute */
    assert_non_null(strstr(time_bad("2024-05-01T12:00:61Z"), hint));      /* second */
    assert_non_null(strstr(time_bad("2024-05-01T12:00:00+2:00"), hint));  /* offset form */
    assert_non_null(strstr(time_bad("2024-05-01T12:00:00+24:00"), hint)); /* offset hour */
    assert_non_null(strstr(time_bad("2024-05-01T12:00:00Zjunk"), hint));
    assert_non_null(strstr(time_bad("2024/05/01T12:00:00Z"), hint));
    assert_string_equal(time_bad("1969-12-31T23:59:59Z"),
                        "invalid start \"1969-12-31T23:59:59Z\": out of range");
    assert_string_equal(time_bad("2554-07-21T23:34:34Z"),
                        "invalid start \"2554-07-21T23:34:34Z\": out of range");
    assert_string_equal(time_bad("18446744073709551616"),
                        "invalid start \"18446744073709551616\": out of range");
}

static void test_time_us(void **state)
{
    (void)state;
    osp_param_err err;
    uint64_t ns;
    assert_int_equal(osp_param_time_us("end", osp_str_c("1714564800123456"), &ns, &err), 0);
    assert_int_equal(ns, 1714564800123456000ULL);
    assert_int_equal(osp_param_time_us("end", osp_str_c("1.5"), &ns, &err), OSP_EINVAL);
    assert_string_equal(err.msg, "invalid end \"1.5\": expected unix microseconds");
    assert_int_equal(osp_param_time_us("end", osp_str_c("18446744073709552"), &ns, &err),
                     OSP_EINVAL);
    assert_string_equal(err.msg, "invalid end \"18446744073709552\": out of range");
}

static void test_limit(void **state)
{
    (void)state;
    osp_param_err err;
    size_t n;
    assert_int_equal(osp_param_limit("limit", osp_str_c("1"), 1000, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(osp_param_limit("limit", osp_str_c("1000"), 1000, &n, &err), 0);
    assert_int_equal(n, 1000);
    const char *bad[] = {"0", "1001", "-1", "ten", "", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(osp_param_limit("limit", osp_str_c(bad[i]), 1000, &n, &err), OSP_EINVAL);
        assert_non_null(strstr(err.msg, "expected an integer from 1 to 1000"));
    }
    assert_string_equal(err.msg, "invalid limit \"99999999999999999999999\": expected an "
                                 "integer from 1 to 1000");
}

static void test_status(void **state)
{
    (void)state;
    osp_param_err err;
    int st = -1;
    assert_int_equal(osp_param_status("status", osp_str_c("ok"), &st, &err), 0);
    assert_int_equal(st, OSP_STATUS_OK);
    assert_int_equal(osp_param_status("status", osp_str_c("ERROR"), &st, &err), 0);
    assert_int_equal(st, OSP_STATUS_ERROR);
    assert_int_equal(osp_param_status("status", osp_str_c("Unset"), &st, &err), 0);
    assert_int_equal(st, OSP_STATUS_UNSET);
    assert_int_equal(osp_param_status("status", osp_str_c("failed"), &st, &err), OSP_EINVAL);
    assert_string_equal(err.msg, "invalid status \"failed\": expected ok, error or unset");
}

static void test_trace_id(void **state)
{
    (void)state;
    osp_param_err err;
    uint8_t id[16];
    static const uint8_t full[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
                                     0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};
    static const uint8_t half[16] = {0,    0,    0,    0,    0,    0,    0,    0,
                                     0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};
    assert_int_equal(
        osp_param_trace_id("traceId", osp_str_c("5B8EFFF798038103d269b633813fc60c"), id, &err), 0);
    assert_memory_equal(id, full, 16);
    assert_int_equal(osp_param_trace_id("traceId", osp_str_c("d269b633813fc60c"), id, &err), 0);
    assert_memory_equal(id, half, 16);
    const char *bad[] = {"", "abc", "5b8efff798038103d269b633813fc60", "zz8efff798038103",
                         "5b8efff798038103d269b633813fc60c0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(osp_param_trace_id("traceId", osp_str_c(bad[i]), id, &err), OSP_EINVAL);
        assert_non_null(strstr(err.msg, "expected 32 hex characters (or 16 for a 64-bit id)"));
    }
    assert_string_equal(err.msg, "invalid traceId \"5b8efff798038103d269b633813fc60c0\": "
                                 "expected 32 hex characters (or 16 for a 64-bit id)");
}

typedef struct tags_case {
    osp_arena arena;
    osp_attr_filter f[4];
    size_t n;
    osp_param_err err;
} tags_case;

static int tags(tags_case *c, const char *z)
{
    return osp_param_tags("tags", osp_str_c(z), &c->arena, c->f, 4, &c->n, &c->err);
}

static void assert_filter(const osp_attr_filter *f, const char *key, const char *value)
{
    assert_true(osp_str_eqz(f->key, key));
    assert_true(osp_str_eqz(f->value, value));
}

static void test_tags_json(void **state)
{
    (void)state;
    tags_case c = {.n = 0};
    osp_arena_init(&c.arena, 0, 0);
    assert_int_equal(tags(&c, "{\"http.status_code\":\"500\",\"error\":true,\"n\":42,"
                              "\"k\\u00e9y\":\"a\\\"b\"}"),
                     0);
    assert_int_equal(c.n, 4);
    assert_filter(&c.f[0], "http.status_code", "500");
    assert_filter(&c.f[1], "error", "true");
    assert_filter(&c.f[2], "n", "42");
    assert_filter(&c.f[3], "k\xc3\xa9y", "a\"b");

    c.n = 0;
    assert_int_equal(tags(&c, " {}"), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(tags(&c, "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\"}"),
                     OSP_EINVAL);
    assert_non_null(strstr(c.err.msg, "at most 4 tag filters are allowed"));

    c.n = 0;
    assert_int_equal(tags(&c, "{\"a\":{\"b\":1}}"), OSP_EINVAL);
    assert_non_null(strstr(c.err.msg, "(values must be strings)"));
    assert_int_equal(tags(&c, "{\"a\":null}"), OSP_EINVAL);
    assert_non_null(strstr(c.err.msg, "(values must be strings)"));
    assert_int_equal(tags(&c, "{\"\":\"x\"}"), OSP_EINVAL);
    assert_non_null(strstr(c.err.msg, "(keys must not be empty)"));
    assert_int_equal(tags(&c, "{\"a\":\"1\""), OSP_EINVAL);
    assert_non_null(strstr(c.err.msg, "invalid tags \"{\"a\":\"1\"\": expected a JSON object "
                                      "of strings or key=value pairs ("));
    assert_int_equal(tags(&c, "{\"a\":\"1\"} x"), OSP_EINVAL);
    assert_int_equal(tags(&c, "{\"a\" \"1\"}"), OSP_EINVAL);
    osp_arena_cleanup(&c.arena);
}

static void test_tags_logfmt(void **state)
{
    (void)state;
    tags_case c = {.n = 0};
    osp_arena_init(&c.arena, 0, 0);
    assert_int_equal(tags(&c, "error=true  http.route=\"/a \\\"b\\\"\" empty= bare"), 0);
    assert_int_equal(c.n, 4);
    assert_filter(&c.f[0], "error", "true");
    assert_filter(&c.f[1], "http.route", "/a \"b\"");
    assert_filter(&c.f[2], "empty", "");
    assert_filter(&c.f[3], "bare", "true");

    c.n = 0;
    assert_int_equal(tags(&c, "   "), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(tags(&c, "=x"), OSP_EINVAL);
    assert_string_equal(c.err.msg, "invalid tags \"=x\": expected a JSON object of strings or "
                                   "key=value pairs (keys must not be empty or quoted)");
    assert_int_equal(tags(&c, "a=\"open"), OSP_EINVAL);
    assert_non_null(strstr(c.err.msg, "(unterminated or malformed quoted value)"));
    assert_int_equal(tags(&c, "a=\"x\"y"), OSP_EINVAL);
    assert_non_null(strstr(c.err.msg, "(unterminated or malformed quoted value)"));
    c.n = 0;
    assert_int_equal(tags(&c, "a=1 b=2 c=3 d=4 e=5"), OSP_EINVAL);
    assert_non_null(strstr(c.err.msg, "at most 4 tag filters are allowed"));
    osp_arena_cleanup(&c.arena);
}

static void test_tags_out_of_memory(void **state)
{
    (void)state;
    tags_case c = {.n = 0};
    osp_arena_init(&c.arena, 0, 1); /* a cap too small for any copy */
    assert_int_equal(tags(&c, "a=1"), OSP_ENOMEM);
    assert_int_equal(tags(&c, "{\"a\":\"1\"}"), OSP_ENOMEM);
    assert_int_equal(c.n, 0);
    osp_arena_cleanup(&c.arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_echo_is_bounded),
        cmocka_unit_test(test_lookback),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_time_us),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_trace_id),
        cmocka_unit_test(test_tags_json),
        cmocka_unit_test(test_tags_logfmt),
        cmocka_unit_test(test_tags_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
