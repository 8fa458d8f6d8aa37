/* Unit tests for RFC 3339 timestamps (src/core/rfc3339.c). */
#include "testutil.h"

#include "core/err.h"
#include "core/rfc3339.h"

static void test_valid(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t ns;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-11-21T10:30:00Z", 1795257000000000000ull},
        {"2026-11-21t10:30:00.5z", 1795257000500000000ull},
        {"2026-11-21 12:30:00+02:00", 1795257000000000000ull},
        {"2026-11-21T05:00:00.000000001-05:30", 1795257000000000001ull},
        {"2026-11-21T10:30:00.1234567891Z", 1795257000123456789ull}, /* cut, not rounded */
        {"2024-02-29T00:00:00Z", 1709164800000000000ull},
        {"2016-12-31T23:59:60Z", 1483228800000000000ull}, /* a leap second */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t ns = 0;
        if (osp_rfc3339_parse(osp_str_c(cases[i].text), &ns) != 0 || ns != cases[i].ns)
            fail_msg("%s: got %llu", cases[i].text, (unsigned long long)ns);
    }
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026-11-21",
        "2026-11-21T10:30:00",
        "2026-11-21T10:30Z",
        "2026-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2026-11-21T24:00:00Z",
        "2026-11-21T10:60:00Z",
        "2026-11-21T10:30:61Z",
        "2026-11-21T10:30:00.Z",
        "2026-11-21T10:30:00+0200",
        "2026-11-21T10:30:00+24:00",
        "2026-11-21T10:30:00Z ",
        "2026/11/21T10:30:00Z",
        "1700000000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ns;
        if (osp_rfc3339_parse(osp_str_c(bad[i]), &ns) != OSP_EINVAL)
            fail_msg("%s: accepted", bad[i]);
    }
    uint64_t ns;
    assert_int_equal(osp_rfc3339_parse(osp_str_c("1969-12-31T23:59:59Z"), &ns), OSP_ETOOBIG);
    assert_int_equal(osp_rfc3339_parse(osp_str_c("2600-01-01T00:00:00Z"), &ns), OSP_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
