/* Unit tests for query/logql_template_fns: each of Loki's template functions beyond Go's
 * basics against the result of the Go or Sprig function it stands for (worked out from
 * their documented behaviour), and the errors Go's template gives; regexes given as
 * literals are compiled once, with the template. */
#include "testutil.h"

#include "tmplcase.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "query/logql_eval_int.h"

/* 2026-11-21T10:00:01.5Z */
#define TS 1795255201500000000ull

static const tcase cases[] = {
    /* text */
    {"{{ trunc 5 .path }}", "/api/", 0},
    {"{{ .path | trunc -4 }}", "/v42", 0},
    {"{{ trunc 99 .path }}", "/api/users/v42", 0},
    {"{{ trunc 2 \"h\xc3\xa9llo\" }}", "h\xc3\xa9", 0},
    {"{{ substr 1 4 .path }}", "api", 0},
    {"{{ substr -1 4 .path }}", "/api", 0},
    {"{{ substr 5 -1 .path }}", "users/v42", 0},
    {"{{ substr 5 2 .path }}", "", 0},
    {"{{ title \"hello wide_world-x 9lives\" }}", "Hello Wide_world-X 9lives", 0},
    {"{{ repeat 3 \"ab\" }}", "ababab", 0},
    {"{{ repeat -1 \"ab\" }}", "negative Repeat count", OSP_EEXEC},
    {"{{ indent 2 \"a\\nb\" }}", "  a\n  b", 0},
    {"{{ nindent 1 \"a\" }}", "\n a", 0},
    {"{{ .path | replace \"/\" \"_\" | trunc 5 | upper }}", "_API_", 0},
    {"{{ trunc .n .path }}", "wrong type for value; expected int; got string", OSP_EEXEC},
    {"{{ alignLeft 5 \"hello world\" }}|{{ alignLeft 5 \"hi\" }}|{{ alignLeft -1 \"x\" }}",
     "hello|hi   |x", 0},
    {"{{ alignRight 5 \"hello world\" }}|{{ alignRight 5 \"hi\" }}|{{ alignRight 2 "
     "\"h\xc3\xa9llo\" }}",
     "world|   hi|lo", 0},
    {"{{ alignRight 3 \"h\xc3\xa9llo\" }}", "llo", 0},
    {"{{ alignLeft 2 \"h\xc3\xa9llo\" }}", "h\xc3\xa9", 0},
    /* regular expressions */
    {"{{ regexReplaceAll \"(\\\\w+)@(\\\\w+)\" .email \"${2}:$1\" }}", "example:ann at home", 0},
    {"{{ regexReplaceAllLiteral \"a(x*)b\" \"-ab-axxb-\" \"${1}\" }}", "-${1}-${1}-", 0},
    {"{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}", "-W-xxW-", 0},
    {"{{ regexReplaceAll \"^a\" \"aaa\" \"b\" }}", "baa", 0},
    {"{{ regexReplaceAll \"x*\" \"abc\" \"-\" }}", "-a-b-c-", 0},
    {"{{ regexReplaceAll \"(\" \"a\" \"b\" }}", "error parsing regexp", OSP_EEXEC},
    {"{{ count \"o\" \"foo boo\" }}", "4", 0},
    {"{{ count \"x*\" \"abc\" }}", "4", 0},
    /* URLs and base64 */
    {"{{ urlencode \"a b&c=d/\xc3\xa9~\" }}", "a+b%26c%3Dd%2F%C3%A9~", 0},
    {"{{ urldecode \"a+b%26c%3dd\" }}", "a b&c=d", 0},
    {"{{ urldecode \"100%\" }}", "invalid URL escape \"%\"", OSP_EEXEC},
    {"{{ b64enc \"hello\" }}", "aGVsbG8=", 0},
    {"{{ b64dec \"aGVsbG8=\" }}", "hello", 0},
    {"{{ b64dec \"aGV$bG8=\" }}", "illegal base64 data at input byte 3", 0},
    /* numbers */
    {"{{ add 1 2 }} {{ sub 1 5 }} {{ mul 6 7 }} {{ div 7 2 }} {{ mod 7 3 }}", "3 -4 42 3 1", 0},
    {"{{ add .n 1 }} {{ add \"1.0\" 1 }} {{ add \"1.5\" 1 }}", "13 2 1", 0},
    {"{{ div 1 0 }}", "integer divide by zero", OSP_EEXEC},
    {"{{ max 3 9 4 }} {{ min 3 9 -4 }}", "9 -4", 0},
    {"{{ addf 1.5 2 \"0.25\" }} {{ subf 10 0.5 }} {{ mulf 1.5 2 }} {{ divf 1 4 }}",
     "3.75 9.5 3 0.25", 0},
    {"{{ maxf 1 2.5 }} {{ minf 1 2.5 }}", "2.5 1", 0},
    {"{{ ceil 1.2 }} {{ floor \"1.8\" }} {{ round 3.14159 2 }} {{ round 2.5 0 }} {{ round -2.5 0 "
     "}}",
     "2 1 3.14 3 -2", 0}, /* Sprig rounds -2.5 up */
    {"{{ int \"42\" }} {{ int 3.9 }} {{ float64 \"2.5\" }} {{ int \"x\" }}", "42 3 2.5 0", 0},
    {"{{ if gt (int .n) 10 }}big{{ end }}", "big", 0},
    /* durations and byte sizes, as numbers */
    {"{{ duration \"1h30m\" }} {{ duration_seconds \"250ms\" }} {{ bytes \"2 KiB\" }}",
     "5400 0.25 2048", 0},
    {"{{ if gt (duration .d) 1.0 }}slow{{ end }}", "slow", 0},
    {"{{ duration \"5 apples\" }}", "error calling duration: time: ", OSP_EEXEC},
    {"{{ bytes \"lots\" }}", "error calling bytes: ", OSP_EEXEC},
    /* times */
    {"{{ __timestamp__ | unixEpoch }}", "1795255201", 0},
    {"{{ __timestamp__ | unixEpochMillis }}", "1795255201500", 0},
    {"{{ __timestamp__ | unixEpochNanos }}", "1795255201500000000", 0},
    {"{{ unixEpoch .n }}", "expected time.Time; got string", OSP_EEXEC},
    /* Go time layouts */
    {"{{ __timestamp__ | date \"2006-01-02T15:04:05.000Z07:00\" }}", "2026-11-21T10:00:01.500Z", 0},
    {"{{ date \"Mon Jan _2 3:04:05 PM MST 2006\" __timestamp__ }}",
     "Sat Nov 21 10:00:01 AM UTC 2026", 0},
    {"{{ date \"Monday, 02-January-06 15h04 .999 ,000 -07:00 002 __2 _2006\" __timestamp__ }}",
     "Saturday, 21-November-26 10h00 .5 ,500 +00:00 325 325 _2026", 0},
    /* "Jan" before a lower-case letter is text; ".0001" is no fraction (a 1 ends it), but
     * its "01" is the month */
    {"{{ date \"Jan! Janx 1/2 .9 .0001\" __timestamp__ }}", "Nov! Janx 11/21 .5 .0011", 0},
    {"{{ date \"2006-01-02 15:04:05.999999999\" 0 }}", "1970-01-01 00:00:00", 0},
    {"{{ unixToTime \"1679577215\" | date \"2006-01-02T15:04:05Z07:00\" }}", "2023-03-23T13:13:35Z",
     0},
    {"{{ unixToTime \"19373\" }}", "2023-01-16 00:00:00 +0000 UTC", 0},
    {"{{ unixToTime \"1679577215123\" | unixEpochMillis }}", "1679577215123", 0},
    {"{{ unixToTime \"1679577215123456\" }}", "2023-03-23 13:13:35.123456 +0000 UTC", 0},
    {"{{ unixToTime \"1679577215123456789\" | unixEpochNanos }}", "1679577215123456789", 0},
    {"{{ unixToTime \"123\" }}", "length 3 did not match any expected formats", OSP_EEXEC},
    /* toDate parses in UTC (Osprey's local zone), toDateInZone in an IANA zone; both give
     * Go's zero time for what does not parse, and an unknown zone is UTC */
    {"{{ toDate \"2006-01-02\" \"2021-11-02\" }}", "2021-11-02 00:00:00 +0000 UTC", 0},
    {"{{ toDate \"2006-01-02\" \"2021-13-02\" }} {{ toDate \"2006-01-02\" \"x\" | unixEpoch }}",
     "0001-01-01 00:00:00 +0000 UTC -62135596800", 0},
    {"{{ toDateInZone \"2006-01-02\" \"Europe/Berlin\" \"2021-11-02\" }}|{{ toDateInZone "
     "\"2006-01-02\" \"Europe/Berlin\" \"2021-11-02\" | unixEpoch }}",
     "2021-11-02 00:00:00 +0100 CET|1635807600", 0},
    {"{{ \"2021-07-02T13:04:05\" | toDateInZone \"2006-01-02T15:04:05\" \"America/New_York\" | "
     "unixEpoch }} {{ toDateInZone \"2006-01-02T15:04:05Z07:00\" \"Nowhere/City\" "
     "\"2021-07-02T13:04:05+02:00\" }}",
     "1625245445 2021-07-02 13:04:05 +0200 +0200", 0},
    {"{{ toDateInZone \"2006-01-02 15:04\" \"../../etc/passwd\" \"2021-07-02 13:04\" | date "
     "\"2006-01-02T15:04Z07:00\" }}",
     "2021-07-02T13:04Z", 0},
    {"{{ unixToTime \"12x45\" }}", "unable to parse time '12x45'", OSP_EEXEC},
};

static void test_functions(void **state)
{
    (void)state;
    const osp_label labels[] = {{OSP_STR_LIT("path"), OSP_STR_LIT("/api/users/v42")},
                                {OSP_STR_LIT("email"), OSP_STR_LIT("ann@example at home")},
                                {OSP_STR_LIT("n"), OSP_STR_LIT("12")},
                                {OSP_STR_LIT("d"), OSP_STR_LIT("1.5s")}};
    assert_int_equal(tmpl_run_cases(cases, sizeof cases / sizeof cases[0], labels, 4, TS), 0);
}

/* A regex given as a literal is compiled with the template, once, and serves every run; a
 * pattern from a label, or one that does not compile, is compiled when the template runs
 * (and fails then, as in Go). */
static void test_regex_compiled_once(void **state)
{
    (void)state;
    static const struct {
        const char *tmpl;
        size_t compiled;
        const char *want[2]; /* for the lines "a-1" and "bb-22" */
    } rc_cases[] = {
        {"{{ regexReplaceAll \"([a-z]+)-([0-9]+)\" __line__ \"$2=$1\" }}", 1, {"1=a", "22=bb"}},
        {"{{ __line__ | count \"[0-9]\" }}/{{ count \"b\" __line__ }}", 2, {"1/0", "2/2"}},
        {"{{ regexReplaceAllLiteral .pat __line__ \"$1\" }}", 0, {"a$1", "bb$1"}},
        {"{{ regexReplaceAll (printf \"%s\" \"-\") __line__ \"+\" }}", 0, {"a+1", "bb+22"}},
        {"{{ regexReplaceAll \"(\" __line__ \"\" }}", 0, {NULL, NULL}},
    };
    const osp_label labels[] = {{OSP_STR_LIT("pat"), OSP_STR_LIT("-[0-9]+")}};
    const char *lines[] = {"a-1", "bb-22"};
    for (size_t i = 0; i < sizeof rc_cases / sizeof rc_cases[0]; i++) {
        osp_arena a;
        osp__lq_tmpl *t = NULL;
        char err[512] = "";
        size_t n;
        osp_arena_init(&a, 0, 0);
        assert_int_equal(osp__lq_tmpl_compile(osp_str_c(rc_cases[i].tmpl), &a, &t, err, sizeof err),
                         0);
        osp__lq_tmpl_regexes(t, &n);
        assert_int_equal(n, rc_cases[i].compiled);
        for (size_t k = 0; k < 2; k++) {
            osp_buf out;
            osp_buf_init(&out, 0);
            int rc = osp__lq_tmpl_exec(t, labels, 1, osp_str_c(lines[k]), TS, &out, NULL, err,
                                       sizeof err);
            if (!rc_cases[i].want[k]) {
                assert_int_equal(rc, OSP_EEXEC);
                assert_non_null(strstr(err, "error calling regexReplaceAll: error parsing regexp"));
            } else {
                assert_int_equal(rc, 0);
                assert_int_equal(out.len, strlen(rc_cases[i].want[k]));
                assert_memory_equal(out.data, rc_cases[i].want[k], out.len);
            }
            osp_buf_cleanup(&out);
        }
        tmpl_release(t);
        osp_arena_cleanup(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_functions),
        cmocka_unit_test(test_regex_compiled_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
