/* Unit tests for the pattern line filter's matcher (|> and !>, osp__lq_pattern_test):
 * Loki's rules, case by case. */
#include "testutil.h"

#include "core/arena.h"
#include "query/logql_eval_int.h"

static int test_line(osp_arena *a, const char *pattern, const char *line)
{
    osp__lq_pattern *p;
    assert_int_equal(osp__lq_pattern_compile(osp_str_c(pattern), a, &p), 0);
    return osp__lq_pattern_test(p, osp_str_c(line));
}

static void test_rules(void **state)
{
    (void)state;
    static const struct {
        const char *pattern, *line;
        int match;
    } cases[] = {
        /* literals in order, captures between them */
        {"GET <_> 200", "GET /cart 200", 1},
        {"GET <_> 200", "GET /cart 500", 0},
        {"<_> msg=\"<_>\" <_>", "level=info msg=\"done\" took=3ms", 1},
        /* a capture takes at least one byte */
        {"<_>bar<_>", " bar ", 1},
        {"<_> bar<_>", " bar ", 0},
        {"<_>bar <_>", " bar ", 0},
        {"<_>10.0.0.1<_>", "10.0.0.1 - GET", 0},
        {"<_>.0.0.1 <_>", "10.0.0.1 - GET", 1},
        /* a trailing literal ends the line; a trailing capture needs what is left */
        {"<_> status=200", "a status=200", 1},
        {"<_> status=200", "a status=200 b", 0},
        {"GET <_>", "GET ", 0},
        {"GET <_>", "GET /", 1},
        /* the first literal is looked for, not anchored, as Loki's matcher does */
        {"GET <_>", "x GET /", 1},
        /* only text */
        {"abc", "abc", 1},
        {"abc", "xabc", 1},
        {"abc", "abcx", 0},
        /* a lone capture matches any line with text; the empty pattern the empty line */
        {"<_>", "anything", 1},
        {"<_>", "", 0},
        {"", "", 1},
        {"", "x", 0},
        {"x", "", 0},
        /* "<" without a capture's shape is text */
        {"<a-b> <_>", "<a-b> c", 1},
        {"a <1> <_>", "a <1> b", 1},
        /* bytes, not characters */
        {"unicode \xe2\x96\xb6 <_>", "unicode \xe2\x96\xb6 arrow", 1},
    };
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (test_line(&a, cases[i].pattern, cases[i].line) != cases[i].match)
            fail_msg("pattern \"%s\" on \"%s\": want %d", cases[i].pattern, cases[i].line,
                     cases[i].match);
    osp_arena_cleanup(&a);
}

static void test_literals(void **state)
{
    (void)state;
    osp_arena a;
    osp__lq_pattern *p;
    osp_str lits[4];
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp__lq_pattern_compile(osp_str_c("<_> GET <_> HTTP/1.1\" <_>"), &a, &p), 0);
    assert_int_equal(osp__lq_pattern_literals(p, lits, 4), 2);
    assert_true(osp_str_eqz(lits[0], " GET "));
    assert_true(osp_str_eqz(lits[1], " HTTP/1.1\" "));
    /* a short array takes the first ones and still counts them all */
    assert_int_equal(osp__lq_pattern_literals(p, lits, 1), 2);
    assert_int_equal(osp__lq_pattern_compile(osp_str_c("<_>"), &a, &p), 0);
    assert_int_equal(osp__lq_pattern_literals(p, lits, 4), 0);
    osp_arena_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_literals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
