/* Unit tests for core/regex: the guarded POSIX compile. */
#include "testutil.h"

#include "core/err.h"
#include "core/regex.h"

static void expect_ok(const char *pat)
{
    regex_t re;
    char err[128];
    assert_int_equal(osp_regex_compile(&re, pat, REG_EXTENDED | REG_NOSUB, err, sizeof err), 0);
    regfree(&re);
}

static void expect_refused(const char *pat, const char *why)
{
    regex_t re;
    char err[128] = "";
    assert_int_equal(osp_regex_compile(&re, pat, REG_EXTENDED, err, sizeof err), OSP_EINVAL);
    assert_non_null(strstr(err, why));
}

static void test_ordinary_patterns(void **state)
{
    (void)state;
    expect_ok("^(api|web)-[0-9]+$");
    expect_ok("[0-9]{3}-[0-9]{4}");
    expect_ok("a{1,1000}");
    expect_ok("[+*?{]+x");     /* operators inside brackets are literals */
    expect_ok("a\\+\\+b");     /* escaped operators are literals */
    expect_ok("[[:digit:]]+"); /* character classes */
}

static void test_refused_patterns(void **state)
{
    (void)state;
    expect_refused("a++", "nested repetition");
    expect_refused("(a)*{2}", "nested repetition");
    expect_refused("(x)\\1", "back-references");
    expect_refused("a{1001}", "above 1000");
    expect_refused("(a{1000}){1000}", "too large in total");
    expect_refused("(", "("); /* regcomp's own message: "Unmatched ( or \\(" */
    char *long_pat = malloc(OSP_REGEX_MAX_LEN + 2);
    memset(long_pat, 'a', OSP_REGEX_MAX_LEN + 1);
    long_pat[OSP_REGEX_MAX_LEN + 1] = 0;
    expect_refused(long_pat, "too long");
    free(long_pat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ordinary_patterns),
        cmocka_unit_test(test_refused_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
