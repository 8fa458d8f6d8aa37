/* Tests for Prometheus relabeling: every action, table-driven, and rule validation. */
#include "testutil.h"

#include "core/err.h"
#include "scrape/relabel.h"

/* A rule as a test writes it; NULL fields keep the Prometheus default. */
typedef struct rule_spec {
    const char *action;
    const char *sources; /* comma-separated, NULL = none */
    const char *separator;
    const char *target;
    const char *regex;
    const char *replacement;
    uint64_t modulus;
} rule_spec;

#define MAX_RULES 6

typedef struct relabel_case {
    const char *what;
    const char *in; /* "a=1,b=2" (values may be empty) */
    rule_spec rules[MAX_RULES];
    const char *want; /* expected "a=1,b=2", or NULL when the set is dropped */
} relabel_case;

/* Splits "a=1,b=2" into labels in the arena. */
static size_t labels_from(osp_arena *a, const char *z, osp_label **out)
{
    size_t n = 0, cap = 32;
    osp_label *l = osp_arena_calloc(a, cap, sizeof *l);
    assert_non_null(l);
    while (z && *z) {
        const char *eq = strchr(z, '=');
        assert_non_null(eq);
        const char *end = strchr(eq, ',');
        if (!end)
            end = eq + strlen(eq);
        l[n].name = osp_arena_strdup(a, osp_str_make(z, (size_t)(eq - z)));
        l[n].value = osp_arena_strdup(a, osp_str_make(eq + 1, (size_t)(end - eq - 1)));
        n++;
        z = *end ? end + 1 : end;
    }
    *out = l;
    return n;
}

static char *labels_str(const osp_label *l, size_t n, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%.*s=%.*s", i ? "," : "", OSP_STR_FMT(l[i].name),
                              OSP_STR_FMT(l[i].value));
    return buf;
}

/* Builds and compiles a rule from a spec; source names live in the arena. */
static int build_rule(osp_arena *a, const rule_spec *s, osp_relabel_rule *r, char *err,
                      size_t errlen)
{
    osp_relabel_rule_defaults(r);
    if (s->action)
        assert_int_equal(osp_relabel_action_parse(s->action, &r->action), 0);
    if (s->sources) {
        const char **src = osp_arena_calloc(a, 16, sizeof *src);
        size_t n = 0;
        const char *z = s->sources;
        while (*z) {
            const char *end = strchr(z, ',');
            if (!end)
                end = z + strlen(z);
            src[n++] = osp_arena_strdup(a, osp_str_make(z, (size_t)(end - z))).p;
            z = *end ? end + 1 : end;
        }
        r->source_labels = src;
        r->nsource_labels = n;
    }
    if (s->separator)
        r->separator = s->separator;
    if (s->target)
        r->target_label = s->target;
    if (s->regex)
        r->regex = s->regex;
    if (s->replacement)
        r->replacement = s->replacement;
    r->modulus = s->modulus;
    return osp_relabel_rule_compile(r, err, errlen);
}

static const relabel_case cases[] = {
    {"replace with groups",
     "a=foo,b=bar,c=baz",
     {{"replace", "a", NULL, "d", "f(.*)", "ch${1}-ch${1}", 0}},
     "a=foo,b=bar,c=baz,d=choo-choo"},
    {"replace joins sources with separator",
     "a=foo,b=bar,c=baz",
     {{"replace", "a,b", ";", "a", "f(.*);(.*)r", "b${1}${2}m", 0}},
     "a=boobam,b=bar,c=baz"},
    {"replace custom separator and $0",
     "a=foo,b=bar",
     {{NULL, "a,b", "/", "x", NULL, "<$0>", 0}},
     "a=foo,b=bar,x=<foo/bar>"},
    {"replace without match leaves labels",
     "a=foo",
     {{"replace", "a", NULL, "b", "x(.*)", NULL, 0}},
     "a=foo"},
    {"default regex copies a value",
     "__address__=10.0.0.1:9100",
     {{NULL, "__address__", NULL, "instance", NULL, NULL, 0}},
     "__address__=10.0.0.1:9100,instance=10.0.0.1:9100"},
    {"$1x is the group named 1x: empty, deletes target",
     "a=foo,b=bar",
     {{"replace", "a", NULL, "b", "(f).*", "$1x", 0}},
     "a=foo"},
    {"${1}x and $$", "a=foo", {{"replace", "a", NULL, "b", "(f).*", "${1}x$$", 0}}, "a=foo,b=fx$"},
    {"named reference expands to empty",
     "a=foo",
     {{"replace", "a", NULL, "b", "(f).*", "pre$name-${1}", 0}},
     "a=foo,b=pre-f"},
    {"RE2 syntax: flags, named groups, Perl classes, non-greedy",
     "a=Foo-123",
     {{"replace", "a", NULL, "b", "(?i)(?P<word>f\\w+)-\\d+?", "${word}_$word", 0}},
     "a=Foo-123,b=Foo_Foo"},
    {"dot does not match a newline", "a=x\ny", {{"keep", "a", NULL, NULL, ".*", NULL, 0}}, NULL},
    {"target from groups",
     "a=some-name-value",
     {{"replace", "a", NULL, "${1}", "some-([^-]+)-([^,]+)", "${2}", 0}},
     "a=some-name-value,name=value"},
    {"invalid expanded target is skipped",
     "a=some-2-value",
     {{"replace", "a", NULL, "${1}", "some-([^-]+)-([^,]+)", "${2}", 0}},
     "a=some-2-value"},
    {"missing source label reads as empty",
     "a=foo",
     {{"replace", "missing", NULL, "b", "", "was-empty", 0}},
     "a=foo,b=was-empty"},
    {"regex is fully anchored",
     "a=foobar",
     {{"replace", "a", NULL, "b", "oo", "hit", 0}},
     "a=foobar"},
    {"drop on match", "a=foo", {{"drop", "a", NULL, NULL, "f.*", NULL, 0}}, NULL},
    {"drop without match keeps", "a=foo", {{"drop", "a", NULL, NULL, "g.*", NULL, 0}}, "a=foo"},
    {"keep on match", "a=foo", {{"keep", "a", NULL, NULL, "f.*", NULL, 0}}, "a=foo"},
    {"keep without match drops", "a=foo", {{"keep", "a", NULL, NULL, "g.*", NULL, 0}}, NULL},
    {"keep on a missing label drops", "a=foo", {{"keep", "b", NULL, NULL, "f.*", NULL, 0}}, NULL},
    {"keepequal equal",
     "a=foo,b=foo",
     {{"keepequal", "a", NULL, "b", NULL, NULL, 0}},
     "a=foo,b=foo"},
    {"keepequal different", "a=foo,b=bar", {{"keepequal", "a", NULL, "b", NULL, NULL, 0}}, NULL},
    {"dropequal equal", "a=foo,b=foo", {{"dropequal", "a", NULL, "b", NULL, NULL, 0}}, NULL},
    {"dropequal different",
     "a=foo,b=bar",
     {{"dropequal", "a", NULL, "b", NULL, NULL, 0}},
     "a=foo,b=bar"},
    {"hashmod", "a=foo", {{"hashmod", "a", NULL, "shard", NULL, NULL, 1000}}, "a=foo,shard=696"},
    {"hashmod joined",
     "a=foo,b=bar",
     {{"hashmod", "a,b", NULL, "shard", NULL, NULL, 16}},
     "a=foo,b=bar,shard=14"},
    {"hashmod of empty",
     "a=foo",
     {{"hashmod", "zz", NULL, "shard", NULL, NULL, 7}},
     "a=foo,shard=1"},
    {"hashmod multi-block md5",
     "a=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxx",
     {{"hashmod", "a", NULL, "s", NULL, NULL, 1000000007}},
     "a=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxx,s=595152452"},
    {"hashmod 56-byte padding edge",
     "a=yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
     {{"hashmod", "a", NULL, "s", NULL, NULL, 97}},
     "a=yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy,s=95"},
    {"labelmap",
     "__meta_my_bar=aaa,__meta_my_baz=bbb,__meta_other=ccc,a=x",
     {{"labelmap", NULL, NULL, NULL, "__meta_(my.*)", "$1", 0}},
     "__meta_my_bar=aaa,__meta_my_baz=bbb,__meta_other=ccc,a=x,my_bar=aaa,my_baz=bbb"},
    {"labelmap with template",
     "__meta_x=1,b=2",
     {{"labelmap", NULL, NULL, NULL, "__meta_(.*)", "${1}_copy", 0}},
     "__meta_x=1,b=2,x_copy=1"},
    {"labelmap overwrites",
     "__meta_a=new,a=old",
     {{"labelmap", NULL, NULL, NULL, "__meta_(.*)", NULL, 0}},
     "__meta_a=new,a=new"},
    {"labeldrop",
     "__meta_x=1,__meta_y=2,a=3",
     {{"labeldrop", NULL, NULL, NULL, "__meta_.*", NULL, 0}},
     "a=3"},
    {"labelkeep", "a=1,b=2,c=3", {{"labelkeep", NULL, NULL, NULL, "a|b", NULL, 0}}, "a=1,b=2"},
    {"lowercase", "a=FoO,b=x", {{"lowercase", "a", NULL, "b", NULL, NULL, 0}}, "a=FoO,b=foo"},
    {"uppercase joined",
     "a=foo,b=Bar",
     {{"uppercase", "a,b", "-", "c", NULL, NULL, 0}},
     "a=foo,b=Bar,c=FOO-BAR"},
    {"lowercase of empty deletes target",
     "b=x",
     {{"lowercase", "a", NULL, "b", NULL, NULL, 0}},
     ""},
    {"empty values removed, sorted", "z=1,e=,a=2", {{NULL}}, "a=2,z=1"},
    {"target pipeline",
     "__address__=10.0.0.7:9100,__meta_env=prod,__meta_team=Core,__scheme__=http",
     {{"keep", "__meta_env", NULL, NULL, "prod|staging", NULL, 0},
      {"replace", "__address__", NULL, "host", "([^:]+):.*", "$1", 0},
      {"lowercase", "__meta_team", NULL, "team", NULL, NULL, 0},
      {"hashmod", "__address__", NULL, "__tmp_shard", NULL, NULL, 3},
      {"labeldrop", NULL, NULL, NULL, "__meta_.*", NULL, 0},
      {"labelmap", NULL, NULL, NULL, "__(tmp)_(shard)", "${1}_$2", 0}},
     "__address__=10.0.0.7:9100,__scheme__=http,__tmp_shard=2,host=10.0.0.7,team=core,tmp_"
     "shard=2"},
    {"pipeline stops at drop",
     "a=1",
     {{"drop", "a", NULL, NULL, "1", NULL, 0}, {"replace", NULL, NULL, "b", NULL, "x", 0}},
     NULL},
};

static void test_relabel_table(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const relabel_case *c = &cases[i];
        osp_arena a;
        osp_arena_init(&a, 0, 0);
        osp_relabel_rule rules[MAX_RULES];
        size_t n = 0;
        char err[256];
        for (; n < MAX_RULES && (c->rules[n].action || c->rules[n].sources || c->rules[n].target);
             n++) {
            if (build_rule(&a, &c->rules[n], &rules[n], err, sizeof err) != 0)
                fail_msg("%s: rule %zu: %s", c->what, n, err);
        }
        osp_label *in, *out;
        size_t nin = labels_from(&a, c->in, &in), nout;
        int keep;
        assert_int_equal(osp_relabel_apply(rules, n, in, nin, &a, &out, &nout, &keep), 0);
        char got[1024];
        if (!c->want) {
            if (keep)
                fail_msg("%s: kept %s", c->what, labels_str(out, nout, got, sizeof got));
            assert_null(out);
            assert_int_equal(nout, 0);
        } else {
            if (!keep)
                fail_msg("%s: dropped", c->what);
            labels_str(out, nout, got, sizeof got);
            if (strcmp(got, c->want) != 0)
                fail_msg("%s: got %s, want %s", c->what, got, c->want);
        }
        for (size_t k = 0; k < n; k++)
            osp_relabel_rule_cleanup(&rules[k]);
        osp_arena_cleanup(&a);
    }
}

typedef struct error_case {
    rule_spec rule;
    const char *want;
} error_case;

static const error_case errors[] = {
    {{"hashmod", "a", NULL, "t", NULL, NULL, 0},
     "relabel configuration for hashmod requires non-zero modulus"},
    {{"replace", "a", NULL, NULL, NULL, NULL, 0},
     "relabel configuration for replace action requires 'target_label' value"},
    {{"lowercase", "a", NULL, NULL, NULL, NULL, 0},
     "relabel configuration for lowercase action requires 'target_label' value"},
    {{"keepequal", "a", NULL, NULL, NULL, NULL, 0},
     "relabel configuration for keepequal action requires 'target_label' value"},
    {{"replace", "a", NULL, "1bad", NULL, NULL, 0},
     "\"1bad\" is invalid 'target_label' for replace action"},
    {{"replace", "a", NULL, "x-$1", NULL, NULL, 0},
     "\"x-$1\" is invalid 'target_label' for replace action"},
    {{"hashmod", "a", NULL, "a-b", NULL, NULL, 3},
     "\"a-b\" is invalid 'target_label' for hashmod action"},
    {{"uppercase", "a", NULL, "b", NULL, "x", 0},
     "'replacement' can not be set for uppercase action"},
    {{"labelmap", NULL, NULL, NULL, "(.*)", "a-$1", 0},
     "\"a-$1\" is invalid 'replacement' for labelmap action"},
    {{"dropequal", "a", NULL, "b", "x", NULL, 0},
     "dropequal action requires only 'source_labels' and `target_label`, and no other fields"},
    {{"keepequal", "a", "-", "b", NULL, NULL, 0},
     "keepequal action requires only 'source_labels' and `target_label`, and no other fields"},
    {{"labeldrop", "a", NULL, NULL, "x", NULL, 0},
     "labeldrop action requires only 'regex', and no other fields"},
    {{"labelkeep", NULL, NULL, "t", "x", NULL, 0},
     "labelkeep action requires only 'regex', and no other fields"},
    {{"replace", "a-b", NULL, "t", NULL, NULL, 0},
     "source_labels: \"a-b\" is not a valid label name"},
};

static void test_relabel_errors(void **state)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        osp_arena a;
        osp_arena_init(&a, 0, 0);
        osp_relabel_rule r;
        char err[256] = "";
        assert_int_equal(build_rule(&a, &errors[i].rule, &r, err, sizeof err), OSP_EINVAL);
        assert_string_equal(err, errors[i].want);
        assert_int_equal(r.compiled, 0);
        osp_relabel_rule_cleanup(&r);
        osp_arena_cleanup(&a);
    }
}

static void test_bad_regex(void **state)
{
    osp_relabel_rule r;
    char err[256];
    osp_relabel_rule_defaults(&r);
    r.target_label = "t";
    r.regex = "a(b";
    assert_int_equal(osp_relabel_rule_compile(&r, err, sizeof err), OSP_EINVAL);
    assert_non_null(strstr(err, "invalid regex \"a(b\": missing closing ): `a(b`"));
    osp_relabel_rule_cleanup(&r);
    r.regex = "\\bx";
    assert_int_equal(osp_relabel_rule_compile(&r, err, sizeof err), OSP_EINVAL);
    assert_non_null(strstr(err, "word boundaries are not supported"));
    osp_relabel_rule_cleanup(&r);
}

static void test_actions(void **state)
{
    osp_relabel_action a;
    assert_int_equal(osp_relabel_action_parse("labelmap", &a), 0);
    assert_int_equal(a, OSP_RELABEL_LABELMAP);
    assert_string_equal(osp_relabel_action_name(OSP_RELABEL_DROPEQUAL), "dropequal");
    assert_int_equal(osp_relabel_action_parse("Replace", &a), OSP_EINVAL);
    assert_int_equal(osp_relabel_action_parse("", &a), OSP_EINVAL);
}

static void test_uncompiled_rule_rejected(void **state)
{
    osp_relabel_rule r;
    osp_arena a;
    osp_label *out;
    size_t nout;
    int keep;
    osp_relabel_rule_defaults(&r);
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp_relabel_apply(&r, 1, NULL, 0, &a, &out, &nout, &keep), OSP_EINVAL);
    osp_arena_cleanup(&a);
}

static void test_arena_exhausted(void **state)
{
    osp_arena a, big;
    osp_relabel_rule r;
    char err[128];
    osp_arena_init(&big, 0, 0);
    osp_arena_init(&a, 64, 64);
    rule_spec s = {"replace", "a", NULL, "b", NULL, NULL, 0};
    assert_int_equal(build_rule(&big, &s, &r, err, sizeof err), 0);
    osp_label *in, *out;
    size_t nin = labels_from(&big, "a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9", &in), nout;
    int keep;
    assert_int_equal(osp_relabel_apply(&r, 1, in, nin, &a, &out, &nout, &keep), OSP_ENOMEM);
    osp_relabel_rule_cleanup(&r);
    osp_arena_cleanup(&a);
    osp_arena_cleanup(&big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relabel_table),
        cmocka_unit_test(test_relabel_errors),
        cmocka_unit_test(test_bad_regex),
        cmocka_unit_test(test_actions),
        cmocka_unit_test(test_uncompiled_rule_rejected),
        cmocka_unit_test(test_arena_exhausted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
