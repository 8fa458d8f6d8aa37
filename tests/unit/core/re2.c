/* Unit tests for core/re2: RE2 patterns translated, matched and expanded as Go's regexp
 * does. */
#include "testutil.h"

#include "core/arena.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/re2.h"

static int re2_full(const char *pat, const char *subject, size_t n)
{
    osp_re2 re;
    char err[160];
    int rc =
        osp_re2_compile(&re, osp_str_c(pat), OSP_RE2_ANCHORED | OSP_RE2_NOSUB, err, sizeof err);
    if (rc)
        fail_msg("%s: %s", pat, err);
    int hit = osp_re2_match(&re, osp_str_make(subject, n), NULL, 0);
    osp_re2_cleanup(&re);
    return hit;
}

/* Whole-subject matches, as Prometheus's "^(?:" re ")$" in Go. */
static const struct {
    const char *pat, *subject;
    int want;
} full_cases[] = {
    /* anchoring and alternation */
    {"GET", "GET", 1},
    {"GE", "GET", 0},
    {"GET|POST", "POST", 1},
    {"a|b", "ab", 0},
    {"^GET$", "GET", 1},
    {"", "", 1},
    {"", "a", 0},
    {"a^b", "ab", 0},
    {"\\Aab\\z", "ab", 1},
    /* flags */
    {"(?i)get", "GET", 1},
    {"(?i)get", "gEt", 1},
    {"(?i)gét", "GÉT", 1}, /* whole pattern under (?i): folded beyond ASCII */
    {"(?i:g)et", "Get", 1},
    {"(?i:g)et", "GEt", 0},
    {"G(?i)et", "GET", 1},
    {"g(?i)et", "GET", 0},
    {"(?i)g(?-i)et", "Get", 1},
    {"(?i)g(?-i)et", "gET", 0},
    {"(?i)[a-c]x", "BX", 1},
    {"(?i)[^a]", "A", 0},
    {"a(?i:[^b])", "aB", 0},
    {"(?i)[[:upper:]]", "a", 1},
    {"(?U)a+", "aaa", 1},
    /* dot and newline */
    {"(.*)", "line1\nline2", 0},
    {".*", "line1", 1},
    {"(?s).*", "line1\nline2", 1},
    {"(?s:.)x", "\nx", 1},
    {"[^a]", "\n", 1},
    {"a\\nb", "a\nb", 1},
    {"\\s", "\n", 1},
    /* UTF-8: one character, not one byte */
    {".", "ü", 1},
    {"..", "ü", 0},
    {".{3}", "日本語", 1},
    {"[^a]", "ü", 1},
    {"[üö]+", "öü", 1},
    {"[à-ÿ]", "ü", 1},
    {"[à-ÿ]", "Ü", 0},
    {"ü*", "üü", 1},
    {"\\x{65E5}本", "日本", 1},
    {"\\xFC", "ü", 1},
    /* Perl and POSIX classes */
    {"\\d+", "0123", 1},
    {"\\d", "a", 0},
    {"\\D", "a", 1},
    {"\\D", "ü", 1},
    {"\\w+", "a_Z9", 1},
    {"\\W", "_", 0},
    {"\\s", "\v", 0},
    {"[[:space:]]", "\v", 1},
    {"\\S+", "ab", 1},
    {"[\\d\\s]+", "1 2", 1},
    {"[\\D]", "5", 0},
    {"[^\\D]", "5", 1},
    {"[a\\D]", "5", 0},
    {"[5\\D]", "5", 1},
    {"[^\\d\\s]+", "ab", 1},
    {"[^\\d\\s]", " ", 0},
    {"[[:alpha:]]+", "abc", 1},
    {"[[:alpha:]]", "ü", 0}, /* ASCII, as in RE2 */
    {"[[:^alpha:]]", "ü", 1},
    {"[[:word:]]+", "a_1", 1},
    {"[[:punct:]]+", "!]\\-^[", 1},
    /* brackets with special characters */
    {"[]a]+", "]a", 1},
    {"[a-]+", "-a", 1},
    {"[-^]+", "^-", 1},
    {"[\\^]", "^", 1},
    {"[\\]\\[]+", "[]", 1},
    {"[.]", "a", 0},
    {"[*+?{}()|$]+", "*+?{}()|$", 1},
    {"[\\x00-\\x{10FFFF}]", "ü", 1},
    {"[^\\x00-\\x{10FFFF}]", "a", 0},
    {"[^\\x00-\\x{10FFFF}]?", "", 1},
    /* escapes and literals */
    {"\\Q.*\\E", ".*", 1},
    {"\\Q.*\\E", "ab", 0},
    {"\\Qa.b", "a.b", 1},
    {"a\\.b", "a.b", 1},
    {"a\\.b", "axb", 0},
    {"\\t\\x41\\101\\x{42}", "\tAAB", 1},
    {"C:\\\\.*", "C:\\dir", 1},
    {"a{,2}", "a{,2}", 1}, /* not a repetition in RE2: literal */
    {"a{", "a{", 1},
    {"}", "}", 1},
    {"]", "]", 1},
    {"10\\.0\\.0\\.[12]:8080", "10.0.0.2:8080", 1},
    /* groups and repetitions */
    {"(?P<name>.*)", "api", 1},
    {"(?<name>a)b", "ab", 1},
    {"(?:ab)+", "abab", 1},
    {"(?:ab)+", "aba", 0},
    {"a*?b+?c??", "aabb", 1},
    {"a{2,3}?", "aaa", 1},
    {"a{2}", "aaa", 0},
    {"a{2,}", "aaaa", 1},
    {"^*a", "a", 1},
    {"()", "", 1},
    {"a||b", "", 1},
    {"(|a)+", "aa", 1},
};

static void test_re2_full_match(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof full_cases / sizeof full_cases[0]; k++) {
        int got = re2_full(full_cases[k].pat, full_cases[k].subject, strlen(full_cases[k].subject));
        if (got != full_cases[k].want)
            fail_msg("%s on \"%s\": %d, want %d", full_cases[k].pat, full_cases[k].subject, got,
                     full_cases[k].want);
    }
    assert_int_equal(re2_full("a.c", "a\0c", 3), 1); /* the subject's length, not its NUL */
}

/* Patterns RE2 refuses, or that Osprey does not support: the message names the problem. */
static const struct {
    const char *pat, *why;
} bad_cases[] = {
    {"(", "missing closing ): `(`"},
    {"a)|(b", "unexpected ): `a)|(b`"},
    {"[a", "missing closing ]: `[a`"},
    {"*", "missing argument to repetition operator: `*`"},
    {"(*)", "missing argument to repetition operator: `*`"},
    {"a|+", "missing argument to repetition operator: `+`"},
    {"a**", "invalid nested repetition operator: `**`"},
    {"a*??", "invalid nested repetition operator: `*??`"},
    {"a{2}{3}", "invalid nested repetition operator: `{2}{3}`"},
    {"a{1001}", "invalid repeat count: `{1001}`"},
    {"a{3,2}", "invalid repeat count: `{3,2}`"},
    {"z-a", NULL},
    {"[z-a]", "invalid character class range: `z-a`"},
    {"[[:foo:]]", "invalid character class: `[:foo:]`"},
    {"[[:d:]]", "invalid character class: `[:d:]`"},
    {"\\q", "invalid escape sequence: `\\q`"},
    {"\\1", "invalid escape sequence: `\\1`"},
    {"\\8", "invalid escape sequence: `\\8`"},
    {"\\xZ1", "invalid escape sequence"},
    {"\\x{110000}", "invalid escape sequence"},
    {"a\\", "trailing backslash at end of expression"},
    {"(?P<>a)", "invalid named capture: `(?P<>`"},
    {"(?P<a-b>a)", "invalid named capture: `(?P<a-b>`"},
    {"(?P<name", "invalid named capture"},
    {"(?=a)", "invalid or unsupported Perl syntax: `(?=`"},
    {"(?<=a)", "invalid or unsupported Perl syntax: `(?<`"},
    {"(?i-)", "invalid or unsupported Perl syntax: `(?i-)`"},
    {"(?x)", "invalid or unsupported Perl syntax: `(?x`"},
    {"(?P=n)", "invalid or unsupported Perl syntax: `(?P`"},
    {"\\bword\\b", "word boundaries are not supported: `\\b`"},
    {"\\pL", "Unicode character classes are not supported: `\\pL`"},
    {"[\\p{Greek}]", "Unicode character classes are not supported: `\\p{Greek}`"},
    {"(?m)^a$", "multi-line mode"},
    {"\\x00", "NUL characters are not supported"},
    {"[\\x{100}-\\x{FFFF}]", "too many characters above U+007F"},
    {"\xff", "invalid UTF-8"},
    {"(a{1000}){1000}", "too large in total"},
};

static void test_re2_errors(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof bad_cases / sizeof bad_cases[0]; k++) {
        osp_re2 re;
        char err[160] = "";
        int rc =
            osp_re2_compile(&re, osp_str_c(bad_cases[k].pat), OSP_RE2_ANCHORED, err, sizeof err);
        if (!bad_cases[k].why) { /* valid after all */
            assert_int_equal(rc, 0);
            osp_re2_cleanup(&re);
            continue;
        }
        if (rc != OSP_EINVAL || !strstr(err, bad_cases[k].why))
            fail_msg("%s: rc %d \"%s\", want \"%s\"", bad_cases[k].pat, rc, err, bad_cases[k].why);
    }
    osp_re2 re;
    char err[64];
    char *long_pat = malloc(OSP_REGEX_MAX_LEN + 1);
    memset(long_pat, 'a', OSP_REGEX_MAX_LEN + 1);
    assert_int_equal(
        osp_re2_compile(&re, osp_str_make(long_pat, OSP_REGEX_MAX_LEN + 1), 0, err, sizeof err),
        OSP_EINVAL);
    assert_non_null(strstr(err, "too long"));
    free(long_pat);
    assert_int_equal(osp_re2_compile(&re, osp_str_make("a\0b", 3), 0, err, sizeof err), OSP_EINVAL);
    char deep[2 * 1001 + 1] = "";
    memset(deep, '(', 1001);
    memset(deep + 1001, ')', 1001);
    assert_int_equal(osp_re2_compile(&re, osp_str_c(deep), 0, err, sizeof err), OSP_EINVAL);
    assert_non_null(strstr(err, "nests too deeply"));
}

/* Matches pat on subject and expands tmpl; "<no match>" when it does not match. */
static const char *expand(const char *pat, const char *subject, const char *tmpl, osp_arena *arena)
{
    osp_re2 re;
    char err[160];
    if (osp_re2_compile(&re, osp_str_c(pat), OSP_RE2_ANCHORED, err, sizeof err))
        fail_msg("%s: %s", pat, err);
    regmatch_t m[10];
    const char *res = "<no match>";
    osp_str out;
    assert_true(re.ngroups + 1 <= 10);
    if (osp_re2_match(&re, osp_str_c(subject), m, re.ngroups + 1)) {
        assert_int_equal(osp_re2_expand(&re, osp_str_c(tmpl), osp_str_c(subject), m, arena, &out),
                         0);
        res = out.p;
    }
    osp_re2_cleanup(&re);
    return res;
}

static void test_re2_groups_and_expand(void **state)
{
    (void)state;
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    static const struct {
        const char *pat, *subject, *tmpl, *want;
    } cases[] = {
        {"(.*):(.*)", "host:9090", "$1 ${2}_x $0", "host 9090_x host:9090"},
        {"(?P<name>.*)", "api", "$name", "api"},
        {"(?P<name>.*)", "api", "${name}-x", "api-x"},
        {"(?<name>a)(b)", "ab", "$2$name$1", "baa"},
        {"(a)", "a", "$1x|${1}x", "|ax"}, /* $1x names group "1x": empty */
        {"(a)", "a", "$$1 $ ${1 $9 $01 ${}", "$1 $ ${1   ${}"},
        {"(?:x)(a)", "xa", "$1", "a"},      /* (?:...) takes no number */
        {"(?i:x)(a)", "Xa", "$1", "a"},     /* nor a flag group */
        {"(?i)(x)(A)", "xa", "$1$2", "xa"}, /* REG_ICASE keeps the numbering */
        {"(x)|(y)", "y", "[$1][$2]", "[][y]"},
        {"(?P<n>x)|(?P<n>y)", "y", "$n", "y"}, /* the leftmost group of that name that took part */
        {"^*(a)", "a", "$1", "a"},             /* a grouped anchor takes no number */
        {"(.)(.*)", "üx", "$1|$2", "ü|x"},
        {"(.*)", "line1\nline2", "$1", "<no match>"},
        {"a*?(a*)", "aaa", "$1", ""}, /* POSIX leftmost-longest; RE2 gives "aaa" */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *got = expand(cases[k].pat, cases[k].subject, cases[k].tmpl, &arena);
        if (strcmp(got, cases[k].want) != 0)
            fail_msg("%s on \"%s\" with \"%s\": \"%s\", want \"%s\"", cases[k].pat,
                     cases[k].subject, cases[k].tmpl, got, cases[k].want);
    }
    osp_arena_cleanup(&arena);
}

static void test_re2_match_details(void **state)
{
    (void)state;
    osp_re2 re;
    char err[160];
    regmatch_t m[3];
    /* Unanchored: the leftmost match. */
    assert_int_equal(osp_re2_compile(&re, osp_str_c("b(c+)"), 0, err, sizeof err), 0);
    assert_int_equal(re.ngroups, 1);
    assert_int_equal(osp_re2_match(&re, osp_str_c("abccd"), m, 3), 1);
    assert_int_equal(m[0].rm_so, 1);
    assert_int_equal(m[0].rm_eo, 4);
    assert_int_equal(m[1].rm_so, 2);
    assert_int_equal(m[2].rm_so, -1); /* past ngroups */
    assert_int_equal(osp_re2_match(&re, osp_str_c("xyz"), m, 3), 0);
    osp_re2_cleanup(&re);
    /* Ill-formed UTF-8 reads as U+FFFD, one per byte; offsets are the subject's. */
    assert_int_equal(osp_re2_compile(&re, osp_str_c("a(.)(.)b"), OSP_RE2_ANCHORED, err, sizeof err),
                     0);
    assert_int_equal(osp_re2_match(&re,
                                   osp_str_c("a\xff\xc3"
                                             "b"),
                                   m, 3),
                     1);
    assert_int_equal(m[1].rm_so, 1);
    assert_int_equal(m[1].rm_eo, 2);
    assert_int_equal(m[2].rm_so, 2);
    assert_int_equal(m[2].rm_eo, 3);
    osp_re2_cleanup(&re);
    assert_int_equal(re2_full("a\\x{FFFD}b",
                              "a\xff"
                              "b",
                              3),
                     1);
    /* Long subjects and many groups take the heap. */
    char big[1000];
    memset(big, 'x', sizeof big);
    assert_int_equal(re2_full("x+", big, sizeof big), 1);
    big[500] = (char)0xff;
    assert_int_equal(re2_full("x+.x+", big, sizeof big), 1);
    assert_int_equal(
        osp_re2_compile(&re, osp_str_c("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)(q)"),
                        OSP_RE2_ANCHORED, err, sizeof err),
        0);
    assert_int_equal(osp_re2_match(&re, osp_str_c("abcdefghijklmnopq"), m, 2), 1);
    assert_int_equal(m[1].rm_so, 0);
    osp_re2_cleanup(&re);
    osp_re2_cleanup(&re); /* safe twice */
}

/* A subject prepared once gives each search from any offset, invalid bytes and runes of
 * several bytes included, the match a search on the raw subject would. */
static void test_re2_prepared_subject(void **state)
{
    (void)state;
    osp_re2 re;
    osp_re2_subject sub;
    char err[160];
    regmatch_t m[2];
    /* bytes: a, ill-formed ff, b, é (c3 a9), c, ill-formed ff: one match per rune */
    static const char text[] = "a\xff"
                               "b\xc3\xa9"
                               "c\xff";
    static const int want_so[] = {0, 1, 2, 3, 5, 5, 6, -1}, want_eo[] = {1, 2, 3, 5, 6, 6, 7, -1};
    assert_int_equal(osp_re2_compile(&re, osp_str_c("(.)"), 0, err, sizeof err), 0);
    assert_int_equal(osp_re2_subject_init(&sub, osp_str_c(text)), 0);
    for (size_t from = 0; from <= 7; from++) {
        int hit = osp_re2_search_in(&re, &sub, from, m, 2);
        /* from 4, inside é, the search starts at the next rune */
        assert_int_equal(hit, want_so[from] >= 0);
        assert_int_equal(m[0].rm_so, want_so[from]);
        assert_int_equal(m[0].rm_eo, want_eo[from]);
        assert_int_equal(m[1].rm_so, want_so[from]);
        assert_int_equal(osp_re2_search(&re, osp_str_c(text), from, m, 2), hit);
        assert_int_equal(m[0].rm_so, want_so[from]);
    }
    osp_re2_subject_cleanup(&sub);
    osp_re2_subject_cleanup(&sub); /* safe twice */
    osp_re2_cleanup(&re);
    /* a long subject takes the heap; ^ matches only at its start */
    char big[1000];
    memset(big, 'x', sizeof big);
    big[700] = (char)0xff;
    assert_int_equal(osp_re2_compile(&re, osp_str_c("^x|\\x{FFFD}x"), 0, err, sizeof err), 0);
    assert_int_equal(osp_re2_subject_init(&sub, osp_str_make(big, sizeof big)), 0);
    assert_int_equal(osp_re2_search_in(&re, &sub, 0, m, 1), 1);
    assert_int_equal(m[0].rm_so, 0);
    assert_int_equal(osp_re2_search_in(&re, &sub, 1, m, 1), 1);
    assert_int_equal(m[0].rm_so, 700);
    assert_int_equal(m[0].rm_eo, 702);
    assert_int_equal(osp_re2_search_in(&re, &sub, 701, m, 1), 0);
    osp_re2_subject_cleanup(&sub);
    osp_re2_cleanup(&re);
}

static void test_re2_out_of_memory(void **state)
{
    (void)state;
    osp_re2 re;
    char err[64];
    int rc = OSP_ENOMEM;
    for (unsigned long k = 1; rc == OSP_ENOMEM; k++) {
        osp_mem_fail_after(k);
        rc =
            osp_re2_compile(&re, osp_str_c("(?P<x>[a-z]+)-(b)"), OSP_RE2_ANCHORED, err, sizeof err);
        osp_mem_fail_after(0);
    }
    assert_int_equal(rc, 0);
    osp_re2_cleanup(&re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_re2_full_match),        cmocka_unit_test(test_re2_errors),
        cmocka_unit_test(test_re2_groups_and_expand), cmocka_unit_test(test_re2_match_details),
        cmocka_unit_test(test_re2_prepared_subject),  cmocka_unit_test(test_re2_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
