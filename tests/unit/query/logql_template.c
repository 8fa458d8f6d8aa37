/* Unit tests for query/logql_template: Go's text/template actions beyond if (range, with,
 * break, continue, variables), field chains over fromJson's values, how Go's fmt prints
 * maps, arrays and nil, and Go's builtins index, slice, print, println, html and urlquery.
 * Every expected output is what Go's text/template gives for the same template over a
 * map[string]string with missingkey=zero, worked out from its documented rules; errors
 * are Go's messages, but for the constructs Osprey refuses. */
#include "testutil.h"

#include "tmplcase.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "query/logql_eval_int.h"

static const tcase cases[] = {
    /* range over fromJson's values, with variables and fields of the elements */
    {"{{ range $q := fromJson .queries }}{{ $q.query }};{{ end }}", "sum(rate(x[1m]));up;", 0},
    {"{{ range $i, $q := fromJson .queries }}{{ $i }}={{ .took }} {{ end }}", "0=1.5 1=0.25 ", 0},
    {"{{- range $q := fromJson .queries }} {{ $q.query }} {{ end -}}", " sum(rate(x[1m]))  up ", 0},
    {"{{ range fromJson \"[]\" }}x{{ else }}empty{{ end }}", "empty", 0},
    {"{{ range fromJson \"oops\" }}x{{ else }}nil{{ end }}", "nil", 0},
    {"{{ range fromJson `{\"b\":2,\"a\":1,\"b\":3}` }}{{ . }},{{ end }}", "1,3,", 0},
    {"{{ range $k, $v := fromJson `{\"b\":2,\"a\":1}` }}{{ $k }}:{{ $v }} {{ end }}", "a:1 b:2 ",
     0},
    {"{{ range fromJson \"[1,2,3,4]\" }}{{ if eq . 3.0 }}{{ break }}{{ end }}{{ . }}{{ end }}",
     "12", 0},
    {"{{ range fromJson \"[1,2,3]\" }}{{ if eq . 2.0 }}{{ continue }}{{ end }}{{ . }}{{ end }}",
     "13", 0},
    {"{{ range 3 }}{{ . }}{{ end }}", "012", 0},
    {"{{ range $k, $v := . }}{{ $k }};{{ end }}", "level;path;queries;user;", 0},
    {"{{ range .level }}x{{ end }}", "range can't iterate over info", OSP_EEXEC},
    {"{{ range $k, $v := fromJson }}{{ $v }}{{ end }}", "wrong number of args for fromJson",
     OSP_EEXEC},
    /* an execution's work is bounded: range iterations, calls, the bytes calls take and
     * give, regex searches */
    {"{{ range 1000 }}{{ range 1000000 }}{{ end }}{{ end }}",
     "the template does too much work (more than 1048576 steps)", OSP_EEXEC},
    {"{{ range 300000 }}{{ $x := add 1 2 }}{{ end }}done", "done", 0},
    {"{{ $s := repeat 100000 \"x\" }}{{ range 100000 }}{{ $t := print $s $s }}{{ end }}",
     "too much work", OSP_EEXEC},
    {"{{ count \".\" (repeat 1000 \"ab\") }}", "2000", 0},
    {"{{ range 1000 }}{{ $c := count \".\" (repeat 1000 \"ab\") }}{{ end }}", "too much work",
     OSP_EEXEC},
    /* with, else with */
    {"{{ with fromJson .user }}{{ .name }} {{ index .roles 1 }} {{ len .roles }}{{ end }}",
     "ann dev 2", 0},
    {"{{ with .nope }}x{{ else }}none{{ end }}", "none", 0},
    {"{{ with .nope }}a{{ else with .level }}{{ . }}{{ end }}", "info", 0},
    {"{{ with $u := fromJson .user }}{{ $u.name }}{{ end }}", "ann", 0},
    /* variables: $ is the labels; := declares, = assigns; the scope ends at {{end}} */
    {"{{ $u := fromJson .user }}{{ $u.name }}/{{ $.level }}", "ann/info", 0},
    {"{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2", 0},
    {"{{ $n := len (fromJson .queries) }}{{ $n }}", "2", 0},
    {"{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}", "undefined variable \"$y\"", OSP_EPARSE},
    {"{{ $z = 1 }}", "undefined variable \"$z\"", OSP_EPARSE},
    {"{{ $a, $b := 1 }}", "too many declarations in command", OSP_EPARSE},
    {"{{ break }}", "{{break}} outside {{range}}", OSP_EPARSE},
    {"{{ range 2 }}{{ continue 1 }}{{ end }}", "unexpected content in {{continue}}", OSP_EPARSE},
    {"{{ define \"x\" }}{{ end }}", "{{define}} is not supported", OSP_EPARSE},
    /* fields and how values print */
    {"{{ (fromJson .user).name }}", "ann", 0},
    {"{{ fromJson .user }}", "map[n:<nil> name:ann roles:[admin dev]]", 0},
    {"{{ (fromJson .user).missing }}|{{ (fromJson .user).n }}", "<no value>|<no value>", 0},
    {"{{ (fromJson `{\"a\":{\"b\":[10,20]}}`).a.b }}", "[10 20]", 0},
    {"{{ fromJson \"1e6\" }} {{ fromJson \"true\" }} {{ fromJson `\"s\"` }}", "1e+06 true s", 0},
    {"{{ fromJson \"not json\" }}|{{ fromJson \"[1] 2\" }}", "<no value>|<no value>", 0},
    {"{{ if fromJson \"[]\" }}y{{ else }}n{{ end }}", "n", 0},
    {"{{ (fromJson .user).missing.x }}", "nil pointer evaluating interface {}.x", OSP_EEXEC},
    {"{{ .level.x }}", "can't evaluate field x in type string", OSP_EEXEC},
    {"{{ .nope }}|{{ len . }}", "|4", 0},
    /* index and slice */
    {"{{ index . \"level\" }}|{{ index . \"nope\" }}", "info|", 0},
    {"{{ index \"abc\" 1 }} {{ index (fromJson .user) \"roles\" 0 }}", "98 admin", 0},
    {"{{ index (fromJson .queries) 5 }}", "index out of range: 5", OSP_EEXEC},
    {"{{ index (fromJson .user) 1 }}", "value has type int; should be string", OSP_EEXEC},
    {"{{ index 3 1 }}", "can't index item of type int", OSP_EEXEC},
    {"{{ index (fromJson .user) \"n\" 0 }}", "index of nil pointer", OSP_EEXEC},
    {"{{ slice \"hello\" 1 3 }} {{ slice \"hello\" 2 }} {{ slice (fromJson \"[1,2,3]\") 1 }}",
     "el llo [2 3]", 0},
    {"{{ slice \"hello\" 3 1 }}", "invalid slice index: 3 > 1", OSP_EEXEC},
    {"{{ slice (fromJson \"[]\") 0 }}|{{ fromJson \"{}\" }}|{{ range fromJson \"{}\" }}x{{ end }}",
     "[]|map[]|", 0},
    /* print, println, html, urlquery */
    {"{{ print 1 2 \"a\" 3 }}", "1 2a3", 0},
    {"{{ println \"a\" 1 }}", "a 1\n", 0},
    {"{{ html \"<a href='x'>&\\\"\" }}", "&lt;a href=&#39;x&#39;&gt;&amp;&#34;", 0},
    {"{{ urlquery \"a b\" \"c\" }}", "a+bc", 0},
    {"{{ addf .5 1 }}", "1.5", 0},
};

static void test_templates(void **state)
{
    (void)state;
    const osp_label labels[] = {
        {OSP_STR_LIT("level"), OSP_STR_LIT("info")},
        {OSP_STR_LIT("path"), OSP_STR_LIT("/a")},
        {OSP_STR_LIT("queries"),
         OSP_STR_LIT(
             "[{\"query\":\"sum(rate(x[1m]))\",\"took\":1.5},{\"query\":\"up\",\"took\":0.25}]")},
        {OSP_STR_LIT("user"),
         OSP_STR_LIT("{\"name\":\"ann\",\"roles\":[\"admin\",\"dev\"],\"n\":null}")},
    };
    assert_int_equal(tmpl_run_cases(cases, sizeof cases / sizeof cases[0], labels, 4, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_templates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
