/* Unit tests for model/loglevel: Loki 3's level words, severity numbers, level field
 * names, and the level it reads in a line (JSON, logfmt, then words standing alone). The
 * line cases follow the behaviour of Loki's distributor (pkg/distributor/field_detection). */
#include "testutil.h"

#include "model/loglevel.h"

static void test_words_and_severities(void **state)
{
    (void)state;
    static const struct {
        const char *word;
        osp_line_level want;
    } words[] = {
        {"warn", OSP_LINE_LEVEL_WARN},
        {"Wrn", OSP_LINE_LEVEL_WARN},
        {"WARNING", OSP_LINE_LEVEL_WARN},
        {"InFo", OSP_LINE_LEVEL_INFO},
        {"inf", OSP_LINE_LEVEL_INFO},
        {"Information", OSP_LINE_LEVEL_INFO},
        {"tRaCe", OSP_LINE_LEVEL_TRACE},
        {"TRC", OSP_LINE_LEVEL_TRACE},
        {"dbg", OSP_LINE_LEVEL_DEBUG},
        {"ERR", OSP_LINE_LEVEL_ERROR},
        {"CRITICAL", OSP_LINE_LEVEL_CRITICAL},
        {"FaTaL", OSP_LINE_LEVEL_FATAL},
        {"notice", OSP_LINE_LEVEL_UNSET},
        {"errors", OSP_LINE_LEVEL_UNSET},
        {"", OSP_LINE_LEVEL_UNSET},
        {"in", OSP_LINE_LEVEL_UNSET},
    };
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (osp_level_of_word(osp_str_c(words[i].word)) != words[i].want)
            fail_msg("word %s", words[i].word);
    static const struct {
        int32_t n;
        osp_line_level want;
    } sev[] = {
        {0, OSP_LINE_LEVEL_UNKNOWN}, {1, OSP_LINE_LEVEL_TRACE},  {4, OSP_LINE_LEVEL_TRACE},
        {-3, OSP_LINE_LEVEL_TRACE},  {5, OSP_LINE_LEVEL_DEBUG},  {7, OSP_LINE_LEVEL_DEBUG},
        {9, OSP_LINE_LEVEL_INFO},    {13, OSP_LINE_LEVEL_WARN},  {20, OSP_LINE_LEVEL_ERROR},
        {21, OSP_LINE_LEVEL_FATAL},  {24, OSP_LINE_LEVEL_FATAL}, {25, OSP_LINE_LEVEL_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof sev / sizeof *sev; i++)
        if (osp_level_of_severity(sev[i].n) != sev[i].want)
            fail_msg("severity %d", sev[i].n);
    assert_string_equal(osp_line_level_name(OSP_LINE_LEVEL_UNKNOWN), "unknown");
    assert_string_equal(osp_line_level_name(OSP_LINE_LEVEL_CRITICAL), "critical");
    assert_null(osp_line_level_name(OSP_LINE_LEVEL_UNSET));
    assert_null(osp_line_level_name(OSP_LINE_LEVEL_COUNT));
}

static void test_field_names(void **state)
{
    (void)state;
    assert_int_equal(osp_level_field_rank(osp_str_c("level")), 0);
    assert_int_equal(osp_level_field_rank(osp_str_c("Level")), 2);
    assert_int_equal(osp_level_field_rank(osp_str_c("log.level")), 3);
    assert_int_equal(osp_level_field_rank(osp_str_c("SeverityText")), 7);
    assert_int_equal(osp_level_field_rank(osp_str_c("severity_text")), 11);
    /* exact names only: other cases and sanitized dots are not level fields */
    assert_int_equal(osp_level_field_rank(osp_str_c("lEvEl")), -1);
    assert_int_equal(osp_level_field_rank(osp_str_c("log_level")), -1);
    assert_int_equal(osp_level_field_rank(osp_str_c("levels")), -1);
    /* the filter lets every level field through, and most other text not */
    const char *const fields[] = {"level",         "LEVEL",        "Level",    "log.level",
                                  "severity",      "SEVERITY",     "Severity", "SeverityText",
                                  "lvl",           "LVL",          "Lvl",      "severity_text",
                                  "Severity_Text", "SEVERITY_TEXT"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        assert_int_equal(osp_level_field_rank(osp_str_c(fields[i])), (int)i);
        assert_true(osp_level_field_may_occur(osp_str_c(fields[i])));
    }
    /* every field the store lists is found (the lookup's shortcut on first bytes holds) */
    const char *const *listed;
    size_t nlisted = osp_level_fields(&listed);
    assert_int_equal(nlisted, sizeof fields / sizeof *fields);
    for (size_t i = 0; i < nlisted; i++)
        assert_int_equal(osp_level_field_rank(osp_str_c(listed[i])), (int)i);
    assert_int_equal(osp_level_field_rank(osp_str_c("status")), -1);
    assert_false(osp_level_field_may_occur(osp_str_c("service.version=1.2 host.name=h1")));
    assert_false(osp_level_field_may_occur(osp_str_c("")));
}

static void test_line_levels(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        osp_line_level want;
    } cases[] = {
        /* words standing alone */
        {"foo", OSP_LINE_LEVEL_UNKNOWN},
        {"", OSP_LINE_LEVEL_UNKNOWN},
        {"this is a warning log", OSP_LINE_LEVEL_WARN},
        {"this is a DEBUG message", OSP_LINE_LEVEL_DEBUG},
        {"debug: something happened", OSP_LINE_LEVEL_DEBUG},
        {"this is a critical message", OSP_LINE_LEVEL_CRITICAL},
        {"[ERR] this is an error message", OSP_LINE_LEVEL_ERROR},
        {"[WARNING] disk almost full", OSP_LINE_LEVEL_WARN},
        {"[info] started", OSP_LINE_LEVEL_INFO},
        {"2024-01-01T00:00:00Z ERROR(db): lost", OSP_LINE_LEVEL_ERROR},
        /* the earliest word wins, whatever its level */
        {"info: retrying after error", OSP_LINE_LEVEL_INFO},
        {"error: retrying, info follows", OSP_LINE_LEVEL_ERROR},
        /* not standing alone: inside a word, after a colon, before a dot */
        {"terrorists, informant, debugger", OSP_LINE_LEVEL_UNKNOWN},
        {"misc:error happened", OSP_LINE_LEVEL_UNKNOWN},
        {"ends in error.", OSP_LINE_LEVEL_UNKNOWN},
        {"GET /index.html 200 12", OSP_LINE_LEVEL_UNKNOWN},
        /* JSON: the first string member named as a level field, one object deep at most */
        {"{\"foo\":\"bar\",\"msg\":\"with keyword error\",\"level\":\"critical\"}",
         OSP_LINE_LEVEL_CRITICAL},
        {"{\"FOO\":\"bar\",\"LEVEL\":\"Critical\"}", OSP_LINE_LEVEL_CRITICAL},
        {"{\"msg\":\"x\",\"SEVERITY\":\"FATAL\"}", OSP_LINE_LEVEL_FATAL},
        {"{\"level\":\"ERR\"}", OSP_LINE_LEVEL_ERROR},
        {"  {\"meta\":{\"lvl\":\"warn\"},\"level\":\"info\"}\n", OSP_LINE_LEVEL_WARN},
        {"{\"a\":{\"b\":{\"level\":\"dbg\"}},\"msg\":\"x\"}", OSP_LINE_LEVEL_UNKNOWN},
        {"{\"a\":[{\"level\":\"error\"}],\"level\":\"debug\"}", OSP_LINE_LEVEL_DEBUG},
        {"{\"level\":3,\"msg\":\"a trace of it\"}", OSP_LINE_LEVEL_TRACE},
        {"{\"lEvEl\":\"information\"}", OSP_LINE_LEVEL_UNKNOWN},
        {"{\"msg\":\"message with keyword INFO\"}", OSP_LINE_LEVEL_INFO},
        /* a level field naming no level: the words decide */
        {"{\"level\":\"NA\",\"msg\":\"warn: x\"}", OSP_LINE_LEVEL_WARN},
        /* JSON that breaks: what was read before the break counts */
        {"{\"level\":\"wrn\", \"msg\": broken}", OSP_LINE_LEVEL_WARN},
        {"{\"msg\": broken, \"level\":\"wrn\"}", OSP_LINE_LEVEL_UNKNOWN},
        /* logfmt: level fields ignoring case, the earliest listed wins */
        {"foo=bar msg=\"with info and no level\"", OSP_LINE_LEVEL_INFO},
        {"foo=bar msg=\"with keyword error\" level=warn", OSP_LINE_LEVEL_WARN},
        {"foo=bar level=Trace", OSP_LINE_LEVEL_TRACE},
        {"foo=bar msg=\"no level word\" level=NA", OSP_LINE_LEVEL_UNKNOWN},
        {"Foo=bar MSG=\"x\" Severity=critical", OSP_LINE_LEVEL_CRITICAL},
        {"FOO=bar LEVEL=inFO", OSP_LINE_LEVEL_INFO},
        {"LEVEL=Inf", OSP_LINE_LEVEL_INFO},
        {"LEVEL=Information", OSP_LINE_LEVEL_INFO},
        {"severity=error lvl=debug", OSP_LINE_LEVEL_ERROR},
        {"lvl=debug severity=error", OSP_LINE_LEVEL_ERROR},
        {"lvl=debug level=warn severity=error", OSP_LINE_LEVEL_WARN},
        {"level=\"error\" msg=x", OSP_LINE_LEVEL_ERROR},
        {"level= msg=\"warn: x\"", OSP_LINE_LEVEL_WARN},
        /* a syntax error ends the pairs: the words decide */
        {"msg=\"a \"b level=error", OSP_LINE_LEVEL_ERROR},
        {"a=\"b level=info", OSP_LINE_LEVEL_INFO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        osp_line_level got = osp_line_level_of(osp_str_c(cases[i].line));
        if (got != cases[i].want)
            fail_msg("%s: %s, want %s", cases[i].line, osp_line_level_name(got),
                     osp_line_level_name(cases[i].want));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_and_severities),
        cmocka_unit_test(test_field_names),
        cmocka_unit_test(test_line_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
