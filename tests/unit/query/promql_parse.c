/* Unit tests for query/promql_parse: valid expressions against their canonical form, invalid
 * ones against their error messages. Cases follow Prometheus's promql/parser/parse_test.go. */
#include "testutil.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "query/promql_parse.h"

typedef struct ok_case {
    const char *in;
    const char *want; /* canonical form; NULL: same as in */
} ok_case;

static const ok_case ok_cases[] = {
    /* literals */
    {"1", NULL},
    {"+Inf", "Inf"},
    {"-Inf", NULL},
    {"Inf", NULL},
    {"Inf ^ 2", "(Inf ^ 2)"}, /* found by fuzzing: "+Inf ^ 2" would read back as +(Inf ^ 2) */
    {"-Inf ^ 2", "-(Inf ^ 2)"},
    {"nan", "NaN"},
    {".5", "0.5"},
    {"5.", "5"},
    {"123.4567", NULL},
    {"5e-3", "0.005"},
    {"5e3", "5000"},
    {"1e6", "1e+06"},
    {"0x123", "291"},
    {"0755", "755"},
    {"-0.00001", "-1e-05"},
    {"+5", "5"},
    {"-5", NULL},
    {"- - 1", "1"},
    {"\"double-quoted\"", "\"double-quoted\""},
    {"'single-quoted'", "\"single-quoted\""},
    {"`raw \\n string`", "\"raw \\\\n string\""},
    {"\"a\\tb\\\"c\\\\\"", NULL},
    {"'it\\'s'", "\"it's\""},
    {"\"\\x41\\101\\u00e9\\U0001F600\"", "\"AA\xc3\xa9\xf0\x9f\x98\x80\""},
    {"\"\\a\\b\\f\\n\\r\\v\"", NULL},
    {"`a\nb`", "\"a\\nb\""},
    /* arithmetic and precedence */
    {"1 + 1", "(1 + 1)"},
    {"1 - 1", "(1 - 1)"},
    {"1 * 1", "(1 * 1)"},
    {"1 % 1", "(1 % 1)"},
    {"1 / 1", "(1 / 1)"},
    {"1 == bool 1", "(1 == bool 1)"},
    {"1 != bool 1", "(1 != bool 1)"},
    {"1 > bool 1", "(1 > bool 1)"},
    {"1 >= bool 1", "(1 >= bool 1)"},
    {"1 < bool 1", "(1 < bool 1)"},
    {"1 <= bool 1", "(1 <= bool 1)"},
    {"+1 + -2 * 1", "(1 + (-2 * 1))"},
    {"1 + 2/(3*1)", "(1 + (2 / (3 * 1)))"},
    {"1 < bool 2 - 1 * 2", "(1 < bool (2 - (1 * 2)))"},
    {"2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"},
    {"2 * 3 ^ 2", "(2 * (3 ^ 2))"},
    {"-2 ^ 2", "-(2 ^ 2)"},
    {"-a ^ 2", "-(a ^ 2)"},
    {"-a * 2", "(-a * 2)"},
    {"2 ^ -1", "(2 ^ -1)"},
    {"1 - 2 - 3", "((1 - 2) - 3)"},
    {"8 / 4 / 2", "((8 / 4) / 2)"},
    {"a atan2 b", "(a atan2 b)"},
    {"a + b atan2 c", "(a + (b atan2 c))"},
    {"-some_metric", NULL},
    {"+some_metric", NULL},
    {"- some_metric", "-some_metric"},
    {"-(a + b)", "-(a + b)"},
    {"((a))", NULL},
    {"(1 + 2) * 3", "((1 + 2) * 3)"},
    {"foo * bar", "(foo * bar)"},
    {"foo == 1", "(foo == 1)"},
    {"foo == bool 1", "(foo == bool 1)"},
    {"2.5 / bar", "(2.5 / bar)"},
    {"foo and bar", "(foo and bar)"},
    {"foo or bar", "(foo or bar)"},
    {"foo unless bar", "(foo unless bar)"},
    {"foo + bar or bla and blub", "((foo + bar) or (bla and blub))"},
    {"foo and bar unless baz or qux", "(((foo and bar) unless baz) or qux)"},
    {"a == b and c", "((a == b) and c)"},
    {"a or b > c + d * e ^ f", "(a or (b > (c + (d * (e ^ f)))))"},
    {"foo AND bar", "(foo and bar)"},
    /* vector matching */
    {"bar + on(foo) bla / on(baz, buz) group_right(test) blub",
     "(bar + on (foo) (bla / on (baz, buz) group_right (test) blub))"},
    {"foo * on(test,blub) bar", "(foo * on (test, blub) bar)"},
    {"foo * on(test,blub) group_left bar", "(foo * on (test, blub) group_left () bar)"},
    {"foo and on(test,blub) bar", "(foo and on (test, blub) bar)"},
    {"foo and on() bar", "(foo and on () bar)"},
    {"foo and ignoring(test,blub) bar", "(foo and ignoring (test, blub) bar)"},
    {"foo unless on(bar) baz", "(foo unless on (bar) baz)"},
    {"foo / on(test,blub) group_left(bar) bar", "(foo / on (test, blub) group_left (bar) bar)"},
    {"foo / ignoring(test,blub) group_left(blub) bar",
     "(foo / ignoring (test, blub) group_left (blub) bar)"},
    {"foo - on(test,blub) group_right(bar,foo) bar",
     "(foo - on (test, blub) group_right (bar, foo) bar)"},
    {"foo > bool on(a) bar", "(foo > bool on (a) bar)"},
    {"foo + ignoring(x,) bar", "(foo + ignoring (x) bar)"},
    /* selectors */
    {"foo", NULL},
    {"min", NULL},
    {"sum{job=\"a\"}", NULL},
    {"max by (a) (min)", "max by (a) (min)"},
    {"foo offset 5m", NULL},
    {"foo offset -7m", NULL},
    {"foo OFFSET 1h30m", "foo offset 1h30m"},
    {"foo OFFSET 1m30ms", "foo offset 1m30ms"},
    {"foo offset 90m", "foo offset 1h30m"},
    {"foo offset 14d", "foo offset 2w"},
    {"foo offset 365d", "foo offset 1y"},
    {"foo @ 1603774568", "foo @ 1603774568.000"},
    {"foo @ -100", "foo @ -100.000"},
    {"foo @ .3", "foo @ 0.300"},
    {"foo @ 3.", "foo @ 3.000"},
    {"foo @ 3.33", "foo @ 3.330"},
    {"foo @ start()", NULL},
    {"foo @ end()", NULL},
    {"foo @ 10 offset 5m", "foo @ 10.000 offset 5m"},
    {"foo offset 5m @ 10", "foo @ 10.000 offset 5m"},
    {"foo:bar{a=\"bc\"}", NULL},
    {"foo{NaN='bc'}", "foo{NaN=\"bc\"}"},
    {"foo{bar='}'}", "foo{bar=\"}\"}"},
    {"foo{a=\"b\", foo!=\"bar\", test=~\"test\", bar!~\"baz\"}",
     "foo{a=\"b\",foo!=\"bar\",test=~\"test\",bar!~\"baz\"}"},
    {"foo{a=\"b\", foo!~\"bar\", test=~\"test\", bar!~\"baz\",}",
     "foo{a=\"b\",foo!~\"bar\",test=~\"test\",bar!~\"baz\"}"},
    {"{__name__=~\"foo.+\"}", NULL},
    {"{a=~\"(?i)get\",b!~\"(?P<n>\\\\d+?)\\\\s\"}", NULL},
    {"{__name__=\"bar\"}", NULL},
    {"{foo=\"bar\", a!=\"\"}", "{foo=\"bar\",a!=\"\"}"},
    {"{x!=\"\"}", NULL},
    {"foo{on=\"x\",offset=\"y\"}", NULL},
    {"test[5s]", NULL},
    {"test[5m]", NULL},
    {"test[5m30s]", NULL},
    {"test[5h] OFFSET 5m", "test[5h] offset 5m"},
    {"test[5d] OFFSET 10s", "test[5d] offset 10s"},
    {"test[5w] offset 2w", NULL},
    {"foo[5y] offset -1y", NULL},
    {"test[5m] @ 123", "test[5m] @ 123.000"},
    {"test[5m] @ start() offset 1m", NULL},
    {"foo[10m:6s]", NULL},
    {"foo[10m:]", NULL},
    {"foo[10m:5s] offset 1m", NULL},
    {"foo @ 5 [10m:5s] @ end()", "foo @ 5.000[10m:5s] @ end()"},
    {"min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:5s])", NULL},
    {"min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:])[4m:3s]", NULL},
    {"sum without(and, by, avg, count, alert, annotations)(some_metric) [30m:10s]",
     "sum without (and, by, avg, count, alert, annotations) (some_metric)[30m:10s]"},
    {"(foo + bar{nm=\"val\"})[5m:]", "(foo + bar{nm=\"val\"})[5m:]"},
    {"(foo + bar{nm=\"val\"})[5m:] offset 10m", NULL},
    {"(foo + bar{nm=\"val\"} @ 1234)[5m:] @ 1603775019",
     "(foo + bar{nm=\"val\"} @ 1234.000)[5m:] @ 1603775019.000"},
    {"foo # comment\n + bar", "(foo + bar)"},
    /* aggregations */
    {"sum by (foo)(some_metric)", "sum by (foo) (some_metric)"},
    {"avg by (foo)(some_metric)", "avg by (foo) (some_metric)"},
    {"max by (foo)(some_metric)", "max by (foo) (some_metric)"},
    {"sum without (foo) (some_metric)", NULL},
    {"sum (some_metric) without (foo)", "sum without (foo) (some_metric)"},
    {"stddev(some_metric)", NULL},
    {"stdvar by (foo)(some_metric)", "stdvar by (foo) (some_metric)"},
    {"sum by ()(some_metric)", "sum(some_metric)"},
    {"sum by (foo,bar,)(some_metric)", "sum by (foo, bar) (some_metric)"},
    {"sum by (foo,)(some_metric)", "sum by (foo) (some_metric)"},
    {"topk(5, some_metric)", NULL},
    {"count_values(\"value\", some_metric)", NULL},
    {"sum without(and, by, avg, count, alert, annotations)(some_metric)",
     "sum without (and, by, avg, count, alert, annotations) (some_metric)"},
    {"sum without(on) (some_metric)", "sum without (on) (some_metric)"},
    {"bottomk by (a) (3, x)", NULL},
    {"quantile(0.9, x) by (job)", "quantile by (job) (0.9, x)"},
    {"group(x)", NULL},
    {"count(x)", NULL},
    {"min(x) + max(y)", "(min(x) + max(y))"},
    {"SUM(x)", "sum(x)"},
    {"sum(rate(http_requests_total[5m])) by (job) > 10",
     "(sum by (job) (rate(http_requests_total[5m])) > 10)"},
    /* functions */
    {"time()", NULL},
    {"pi()", NULL},
    {"floor(some_metric{foo!=\"bar\"})", NULL},
    {"rate(some_metric[5m])", NULL},
    {"round(some_metric)", NULL},
    {"round(some_metric, 5)", NULL},
    {"day_of_month()", NULL},
    {"day_of_month(foo)", NULL},
    {"label_join(x, \"dst\", \",\")", NULL},
    {"label_join(x, \"dst\", \",\", \"a\", \"b\", \"c\")", NULL},
    {"label_replace(up, \"foo\", \"$1\", \"job\", \"(.*)\")", NULL},
    {"histogram_quantile(0.9, rate(x_bucket[5m]))", NULL},
    {"quantile_over_time(0.5, x[1h])", NULL},
    {"predict_linear(x[1h], 3600)", NULL},
    {"holt_winters(x[1h], 0.5, 0.5)", NULL},
    {"clamp(x, 0, 1)", NULL},
    {"vector(1)", NULL},
    {"scalar(x) + 1", "(scalar(x) + 1)"},
    {"absent(nonexistent{job=\"myjob\"})", NULL},
    {"present_over_time(x[5m])", NULL},
    {"sort_desc(sum by (a) (b))", NULL},
    {"time() - timestamp(up)", "(time() - timestamp(up))"},
};

typedef struct bad_case {
    const char *in;
    const char *want; /* substring of the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"", "no expression found in input"},
    {"# just a comment", "no expression found in input"},
    {"1+", "1:3: unexpected end of input"},
    {".", "1:1: unexpected character: '.'"},
    {"2.5.", "unexpected character: '.'"},
    {"100..4", "unexpected number"},
    {"0deadbeef", "bad number or duration syntax"},
    {"1 /", "unexpected end of input"},
    {"*1", "1:1: unexpected '*'"},
    {"(1))", "1:4: unexpected ')'"},
    {"((1)", "unexpected end of input"},
    {"(", "unexpected end of input"},
    {"1 and 1", "set operator \"and\" not allowed in binary scalar expression"},
    {"1 == 1", "comparisons between scalars must use BOOL modifier"},
    {"1 or 1", "set operator \"or\" not allowed in binary scalar expression"},
    {"1 unless 1", "set operator \"unless\" not allowed in binary scalar expression"},
    {"1 !~ 1", "unexpected '!~'"},
    {"1 =~ 1", "unexpected '=~'"},
    {"-\"string\"",
     "unary expression only allowed on expressions of type scalar or instant vector, got string"},
    {"-test[5m]", "unary expression only allowed on expressions of type scalar or instant vector, "
                  "got range vector"},
    {"*test", "unexpected '*'"},
    {"1 offset 1d", "offset modifier must be preceded by an instant vector selector or range "
                    "vector selector or a subquery"},
    {"foo offset 1s offset 2s", "offset may not be set multiple times"},
    {"a - on(b) ignoring(c) d", "unexpected 'ignoring'"},
    {"foo + bool bar", "bool modifier can only be used on comparison operators"},
    {"foo + bool 10", "bool modifier can only be used on comparison operators"},
    {"foo and bool 10", "bool modifier can only be used on comparison operators"},
    {"foo and 1", "set operator \"and\" not allowed in binary scalar expression"},
    {"1 and foo", "set operator \"and\" not allowed in binary scalar expression"},
    {"foo and on(bar) group_left(baz) bar", "no grouping allowed for \"and\" operation"},
    {"foo or on(bar) group_right(baz) bar", "no grouping allowed for \"or\" operation"},
    {"foo + on(bar) group_left(bar) baz",
     "label \"bar\" must not occur in ON and GROUP clause at once"},
    {"foo + group_left baz", "unexpected 'group_left'"},
    {"1 + on(a) foo", "vector matching only allowed between instant vectors"},
    {"{", "unexpected end of input"},
    {"}", "unexpected '}'"},
    {"some{", "unexpected end of input"},
    {"some}", "unexpected '}'"},
    {"some_metric{a=b}", "expected string"},
    {"some_metric{a:b=\"b\"}", "unexpected identifier \"a:b\""},
    {"foo{a*\"b\"}", "expected one of \"=\", \"!=\", \"=~\" or \"!~\""},
    {"foo{a>=\"b\"}", "expected one of"},
    {"foo{gibberish}", "expected one of"},
    {"foo{1}", "unexpected number"},
    {"{}", "vector selector must contain at least one non-empty matcher"},
    {"{x=\"\"}", "vector selector must contain at least one non-empty matcher"},
    {"{x=~\".*\"}", "vector selector must contain at least one non-empty matcher"},
    {"{x!~\".+\"}", "vector selector must contain at least one non-empty matcher"},
    {"{x=~\"(?i)|a\"}", "vector selector must contain at least one non-empty matcher"},
    {"{x=~\"(\"}", "error parsing regexp: missing closing ): `(`"},
    {"{x=~\"a)|(b\"}", "error parsing regexp: unexpected ): `a)|(b`"},
    {"{x=~\"\\\\bx\"}", "error parsing regexp: word boundaries are not supported"},
    {"{x!=\"a\"}", "vector selector must contain at least one non-empty matcher"},
    {"foo{__name__=\"bar\"}", "metric name must not be set twice: \"foo\" or \"bar\""},
    {"foo{__name__= =}", "expected string"},
    {"foo{,}", "unexpected ','"},
    {"foo[5mm]", "not a valid duration string"},
    {"foo[5m1h]", "not a valid duration string"},
    {"foo[0.5m]", "bad number or duration syntax"},
    {"foo[\"5m\"]", "unexpected string"},
    {"foo[]", "unexpected ']'"},
    {"foo[1]", "unexpected number \"1\""},
    {"some_metric[5m] OFFSET 1", "unexpected number \"1\" in offset"},
    {"some_metric[5m] OFFSET 1mm", "not a valid duration string"},
    {"some_metric OFFSET", "unexpected end of input in offset"},
    {"foo offset 5m[5m]", "no offset modifiers allowed before range"},
    {"foo @ 1 [5m]", "no @ modifiers allowed before range"},
    {"(foo + bar)[5m]", "ranges only allowed for vector selectors"},
    {"foo @ 1 @ 2", "@ modifier may not be set multiple times"},
    {"foo @ Inf", "timestamp out of bounds for @ modifier"},
    {"foo @ NaN", "timestamp out of bounds for @ modifier"},
    {"foo @ start", "unexpected identifier \"start\" in @ modifier"},
    {"rate(foo) @ 1", NULL}, /* type error first */
    {"sum(foo) @ 1", "@ modifier must be preceded by an instant vector selector"},
    {"foo[5m][5m:1m]", "subquery is only allowed on instant vector, got range vector"},
    {"test[5d] OFFSET 10s [10m:5s]", NULL},
    {"foo[5m:1m:1m]", "unexpected ':'"},
    {"sum without(==)(some_metric)", "unexpected '=='"},
    {"sum some_metric by (test)", "1:5: unexpected identifier \"some_metric\""},
    {"sum (some_metric) by test", "unexpected identifier \"test\" in grouping opts"},
    {"sum () by (test)", "no arguments for aggregate expression provided"},
    {"sum (some_metric) without (test) by (test)", "unexpected 'by'"},
    {"sum without (test) (some_metric) by (test)", "unexpected 'by'"},
    {"topk(some_metric)",
     "wrong number of arguments for aggregate expression provided, expected 2, got 1"},
    {"topk(some_metric,)", "unexpected ')'"},
    {"sum(a, b)", "wrong number of arguments for aggregate expression provided, expected 1, got 2"},
    {"topk(\"5\", some_metric)", "expected type scalar in aggregation parameter, got string"},
    {"count_values(5, other_metric)", "expected type string in aggregation parameter, got scalar"},
    {"sum(foo[5m])", "expected type instant vector in aggregation expression, got range vector"},
    {"sum(1)", "expected type instant vector in aggregation expression, got scalar"},
    {"sum(", "1:5: unexpected end of input"},
    {"non_existent_function_far_bar()",
     "unknown function with name \"non_existent_function_far_bar\""},
    {"rate(some_metric)",
     "expected type range vector in call to function \"rate\", got instant vector"},
    {"foo offset -", "unexpected end of input in offset"},
    {"floor()", "expected 1 argument(s) in call to \"floor\", got 0"},
    {"floor(some_metric, other_metric)", "expected 1 argument(s) in call to \"floor\", got 2"},
    {"floor(some_metric, 1)", "expected 1 argument(s) in call to \"floor\", got 2"},
    {"floor(1)", "expected type instant vector in call to function \"floor\", got scalar"},
    {"hour(some_metric, some_metric, some_metric)",
     "expected at most 1 argument(s) in call to \"hour\", got 3"},
    {"label_join(x, \"a\")", "expected at least 3 argument(s) in call to \"label_join\", got 2"},
    {"label_join(x, \"a\", \",\", 5)",
     "expected type string in call to function \"label_join\", got scalar"},
    {"round(x, 1, 2)", "expected at most 2 argument(s) in call to \"round\", got 3"},
    {"rate(x[5m],)", "trailing commas not allowed in function call args"},
    {"time(1)", "expected 0 argument(s) in call to \"time\", got 1"},
    {"\"x\" + 1", "binary expression must contain only scalar and instant vector types"},
    {"foo[5m] + 1", "binary expression must contain only scalar and instant vector types"},
    {"\"unterminated", "unterminated quoted string"},
    {"'a\nb'", "unterminated quoted string"},
    {"`raw", "unterminated raw string"},
    {"\"\\q\"", "unknown escape sequence"},
    {"'\\\"'", "unknown escape sequence"},
    {"\"\\xZZ\"", "illegal character in escape sequence"},
    {"\"\\ud800\"", "invalid Unicode code point"},
    {"\"\\400\"", "octal escape value > 255"},
    {"foo !bar", "unexpected character after '!'"},
    {"foo $ bar", "unexpected character: '$'"},
    {"5m", "unexpected duration \"5m\""},
    {"1e400", "value out of range"},
    {"foo\n  + )", "2:5: unexpected ')'"},
};

static char *fmt_ok(const char *in)
{
    osp_arena a;
    osp_promql_expr *e = NULL;
    char err[256];
    osp_buf b;
    osp_arena_init(&a, 0, 0);
    osp_buf_init(&b, 0);
    int rc = osp_promql_parse(osp_str_c(in), &a, &e, err, sizeof err);
    if (rc != 0) {
        osp_arena_cleanup(&a);
        fail_msg("parse of %s failed: %s", in, err);
    }
    assert_int_equal(osp_promql_format(e, &b), 0);
    assert_int_equal(osp_buf_putc(&b, 0), 0);
    osp_arena_cleanup(&a);
    size_t n;
    return osp_buf_steal(&b, &n);
}

static void test_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        const char *in = ok_cases[i].in;
        const char *want = ok_cases[i].want ? ok_cases[i].want : in;
        char *got = fmt_ok(in);
        if (strcmp(got, want) != 0)
            fail_msg("%s: got %s, want %s", in, got, want);
        /* the canonical form is a fixed point */
        char *again = fmt_ok(got);
        if (strcmp(got, again) != 0)
            fail_msg("%s: reformatted %s as %s", in, got, again);
        osp_free(again);
        osp_free(got);
    }
}

static void test_invalid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        osp_arena a;
        osp_promql_expr *e = NULL;
        char err[256];
        osp_arena_init(&a, 0, 0);
        int rc = osp_promql_parse(osp_str_c(bad_cases[i].in), &a, &e, err, sizeof err);
        osp_arena_cleanup(&a);
        if (bad_cases[i].want == NULL) {
            if (rc != OSP_EPARSE)
                fail_msg("%s: parsed, want an error", bad_cases[i].in);
            continue;
        }
        if (rc != OSP_EPARSE)
            fail_msg("%s: parsed, want error %s", bad_cases[i].in, bad_cases[i].want);
        if (!strstr(err, bad_cases[i].want))
            fail_msg("%s: error %s, want %s", bad_cases[i].in, err, bad_cases[i].want);
        assert_non_null(strchr(err, ':')); /* line:col prefix */
        assert_null(e);
    }
}

static void test_ast(void **state)
{
    (void)state;
    osp_arena a;
    osp_promql_expr *e;
    char err[128];
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp_promql_parse(osp_str_c("sum by (job) (rate(x{a=~\"b\"}[5m] offset -1m))"),
                                      &a, &e, err, sizeof err),
                     0);
    assert_int_equal(e->kind, OSP_PROMQL_AGG);
    assert_int_equal(e->type, OSP_PROMQL_T_VECTOR);
    assert_int_equal(e->u.agg.op, OSP_PROMQL_AGG_SUM);
    assert_int_equal(e->u.agg.grouping.n, 1);
    const osp_promql_expr *c = e->u.agg.expr;
    assert_int_equal(c->kind, OSP_PROMQL_CALL);
    assert_true(osp_str_eqz(c->u.call.name, "rate"));
    assert_int_equal(c->u.call.nargs, 1);
    const osp_promql_expr *m = c->u.call.args[0];
    assert_int_equal(m->kind, OSP_PROMQL_MATRIX);
    assert_int_equal(m->type, OSP_PROMQL_T_MATRIX);
    assert_int_equal(m->u.ms.range_ms, 300000);
    assert_int_equal(m->u.ms.vs->u.vs.mods.offset_ms, -60000);
    assert_int_equal(m->u.ms.vs->u.vs.nmatchers, 1);
    assert_int_equal(m->u.ms.vs->u.vs.matchers[0].op, OSP_PROMQL_MATCH_RE);
    assert_int_equal(m->pos, 19);

    assert_int_equal(osp_promql_parse(osp_str_c("1 + 2 > bool 3"), &a, &e, err, sizeof err), 0);
    assert_int_equal(e->kind, OSP_PROMQL_BINARY);
    assert_int_equal(e->type, OSP_PROMQL_T_SCALAR);
    assert_int_equal(e->u.bin.op, OSP_PROMQL_OP_GTR);
    assert_true(e->u.bin.return_bool);
    assert_int_equal(osp_promql_parse(osp_str_c("a and b"), &a, &e, err, sizeof err), 0);
    assert_int_equal(e->u.bin.card, OSP_PROMQL_CARD_MANY_TO_MANY);
    osp_arena_cleanup(&a);
}

/* Nesting past the limit fails cleanly; just under it parses. */
static void test_depth(void **state)
{
    (void)state;
    char err[128];
    size_t deep = 100000;
    char *z = malloc(2 * deep + 2);
    osp_arena a;
    osp_promql_expr *e;
    const char *shapes[] = {"(", "-", "abs(", "sum(", "2^"};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t n = 0, k = strlen(shapes[s]);
        char *big = malloc(deep * k + deep + 8);
        for (size_t i = 0; i < deep; i++, n += k)
            memcpy(big + n, shapes[s], k);
        big[n++] = 'x';
        if (shapes[s][k - 1] == '(')
            for (size_t i = 0; i < deep; i++)
                big[n++] = ')';
        osp_arena_init(&a, 0, 0);
        assert_int_equal(osp_promql_parse(osp_str_make(big, n), &a, &e, err, sizeof err),
                         OSP_EPARSE);
        assert_non_null(strstr(err, "nested too deeply"));
        osp_arena_cleanup(&a);
        free(big);
    }
    /* a long flat chain is not nesting */
    size_t n = 0;
    for (size_t i = 0; i < deep / 2; i++) {
        z[n++] = 'x';
        z[n++] = '+';
    }
    z[n++] = 'x';
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp_promql_parse(osp_str_make(z, n), &a, &e, err, sizeof err), 0);
    osp_arena_cleanup(&a);
    /* (((x))) at the limit's edge */
    n = 0;
    for (size_t i = 0; i < OSP_PROMQL_MAX_DEPTH - 1; i++)
        z[n++] = '(';
    z[n++] = 'x';
    for (size_t i = 0; i < OSP_PROMQL_MAX_DEPTH - 1; i++)
        z[n++] = ')';
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp_promql_parse(osp_str_make(z, n), &a, &e, err, sizeof err), 0);
    osp_arena_cleanup(&a);
    free(z);
}

/* Allocation failure in the arena is reported as OSP_ENOMEM, never a crash. */
static void test_nomem(void **state)
{
    (void)state;
    const char *q = "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m])) / on (job) "
                    "group_left sum by (job) (rate(http_requests_total[5m]))";
    int saw_nomem = 0;
    for (size_t cap = 16; cap < 65536; cap *= 2) {
        osp_arena a;
        osp_promql_expr *e;
        char err[128];
        osp_arena_init(&a, 256, cap);
        int rc = osp_promql_parse(osp_str_c(q), &a, &e, err, sizeof err);
        assert_true(rc == 0 || rc == OSP_ENOMEM);
        saw_nomem |= rc == OSP_ENOMEM;
        osp_arena_cleanup(&a);
    }
    assert_true(saw_nomem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid), cmocka_unit_test(test_invalid), cmocka_unit_test(test_ast),
        cmocka_unit_test(test_depth), cmocka_unit_test(test_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
