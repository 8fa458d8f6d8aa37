/* Tests for the scrape configuration parser and the file_sd loader. */
#include "testutil.h"

#include "core/err.h"
#include "core/mem.h"
#include "core/duration.h"
#include "scrape/config.h"

static const char realistic[] =
    "# Osprey config\n"
    "server:\n"
    "  http_addr: 127.0.0.1:8080\n"
    "global:\n"
    "  scrape_interval: 15s\n"
    "  evaluation_interval: 30s\n"
    "  external_labels:\n"
    "    region: eu-west-1\n"
    "    cluster: prod\n"
    "scrape_configs:\n"
    "  - job_name: osprey\n"
    "    static_configs:\n"
    "      - targets: ['127.0.0.1:8080']\n"
    "  - job_name: node\n"
    "    scrape_interval: 1m\n"
    "    scrape_timeout: 1m\n"
    "    metrics_path: /probe\n"
    "    scheme: http\n"
    "    honor_labels: true\n"
    "    honor_timestamps: false\n"
    "    params:\n"
    "      module: [http_2xx, tcp]\n"
    "      debug: ['1']\n"
    "    static_configs:\n"
    "      - targets: [10.0.0.1:9100, 10.0.0.2:9100]\n"
    "        labels: {env: prod, team: core}\n"
    "      - targets: [10.0.1.1:9100]\n"
    "    file_sd_configs:\n"
    "      - files: [/etc/osprey/targets/*.json, nodes.yml]\n"
    "        refresh_interval: 1h30m\n"
    "      - files: [more.yaml]\n"
    "    relabel_configs:\n"
    "      - source_labels: [__address__]\n"
    "        regex: '([^:]+):.*'\n"
    "        target_label: host\n"
    "      - action: hashmod\n"
    "        source_labels: [__address__]\n"
    "        modulus: 4\n"
    "        target_label: __tmp_hash\n"
    "      - action: keep\n"
    "        source_labels: [__tmp_hash]\n"
    "        regex: 0|1\n"
    "      - action: labelmap\n"
    "        regex: __meta_(.+)\n"
    "      - {action: labeldrop, regex: tmp_.*}\n"
    "      - {action: labelkeep, regex: '.*'}\n"
    "      - {action: keepequal, source_labels: [a], target_label: b}\n"
    "      - {action: dropequal, source_labels: [env], target_label: c}\n"
    "      - {action: lowercase, source_labels: [team], target_label: team}\n"
    "      - {action: uppercase, source_labels: [env], target_label: ENV}\n"
    "      - {action: drop, source_labels: [env], regex: dev}\n"
    "      - {action: replace, source_labels: [a, b], separator: '/', target_label: ab, "
    "replacement: 'x-$1'}\n"
    "    metric_relabel_configs:\n"
    "      - source_labels: [__name__]\n"
    "        regex: go_.*\n"
    "        action: drop\n"
    "  - job_name: fast\n"
    "    scrape_interval: 5s\n"
    "    relabel_configs: []\n"
    "rule_files: [rules.yml]\n";

static void test_realistic(void **state)
{
    osp_scrape_config *c;
    char err[512] = "";
    int rc =
        osp_scrape_config_parse("osprey.yaml", realistic, strlen(realistic), &c, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    assert_int_equal(c->scrape_interval_ms, 15000);
    assert_int_equal(c->scrape_timeout_ms, 10000);
    assert_int_equal(c->evaluation_interval_ms, 30000);
    assert_int_equal(c->nexternal_labels, 2);
    assert_true(osp_str_eqz(c->external_labels[0].name, "cluster")); /* sorted */
    assert_true(osp_str_eqz(c->external_labels[1].value, "eu-west-1"));
    assert_int_equal(c->njobs, 3);

    osp_scrape_job *j = &c->jobs[0];
    assert_string_equal(j->job_name, "osprey");
    assert_int_equal(j->line, 11);
    assert_int_equal(j->scrape_interval_ms, 15000);
    assert_int_equal(j->scrape_timeout_ms, 10000);
    assert_string_equal(j->metrics_path, "/metrics");
    assert_string_equal(j->scheme, "http");
    assert_int_equal(j->honor_labels, 0);
    assert_int_equal(j->honor_timestamps, 1);
    assert_int_equal(j->nstatic_configs, 1);
    assert_int_equal(j->static_configs[0].ntargets, 1);
    assert_string_equal(j->static_configs[0].targets[0], "127.0.0.1:8080");

    j = &c->jobs[1];
    assert_string_equal(j->job_name, "node");
    assert_int_equal(j->scrape_interval_ms, 60000);
    assert_int_equal(j->scrape_timeout_ms, 60000);
    assert_string_equal(j->metrics_path, "/probe");
    assert_int_equal(j->honor_labels, 1);
    assert_int_equal(j->honor_timestamps, 0);
    assert_int_equal(j->nparams, 3);
    assert_true(osp_str_eqz(j->params[0].name, "module"));
    assert_true(osp_str_eqz(j->params[1].value, "tcp"));
    assert_true(osp_str_eqz(j->params[2].name, "debug"));
    assert_int_equal(j->nstatic_configs, 2);
    assert_int_equal(j->static_configs[0].ntargets, 2);
    assert_int_equal(j->static_configs[0].nlabels, 2);
    assert_true(osp_str_eqz(j->static_configs[0].labels[0].name, "env"));
    assert_true(osp_str_eqz(j->static_configs[0].labels[1].value, "core"));
    assert_int_equal(j->static_configs[1].nlabels, 0);
    assert_int_equal(j->nfile_sd_configs, 2);
    assert_int_equal(j->file_sd_configs[0].nfiles, 2);
    assert_string_equal(j->file_sd_configs[0].files[0], "/etc/osprey/targets/*.json");
    assert_int_equal(j->file_sd_configs[0].refresh_interval_ms, 5400000);
    assert_int_equal(j->file_sd_configs[1].refresh_interval_ms, 300000);
    assert_int_equal(j->nrelabel_configs, 12);
    assert_int_equal(j->relabel_configs[0].action, OSP_RELABEL_REPLACE);
    assert_string_equal(j->relabel_configs[0].replacement, "$1");
    assert_int_equal(j->relabel_configs[1].action, OSP_RELABEL_HASHMOD);
    assert_int_equal(j->relabel_configs[1].modulus, 4);
    assert_string_equal(j->relabel_configs[11].separator, "/");
    assert_int_equal(j->nmetric_relabel_configs, 1);
    assert_int_equal(j->metric_relabel_configs[0].action, OSP_RELABEL_DROP);

    /* The parsed rules run. */
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_label in[] = {{OSP_STR_LIT("__address__"), OSP_STR_LIT("10.0.0.1:9100")},
                      {OSP_STR_LIT("__meta_zone"), OSP_STR_LIT("a")},
                      {OSP_STR_LIT("team"), OSP_STR_LIT("Core")},
                      {OSP_STR_LIT("env"), OSP_STR_LIT("prod")}};
    osp_label *out;
    size_t nout;
    int keep;
    assert_int_equal(
        osp_relabel_apply(j->relabel_configs, j->nrelabel_configs, in, 4, &a, &out, &nout, &keep),
        0);
    /* md5("10.0.0.1:9100") mod 4 is 1, so the target is kept. */
    assert_int_equal(keep, 1);
    const char *want[][2] = {{"ENV", "PROD"},      {"__address__", "10.0.0.1:9100"},
                             {"__meta_zone", "a"}, {"__tmp_hash", "1"},
                             {"ab", "x-/"},        {"env", "prod"},
                             {"host", "10.0.0.1"}, {"team", "core"},
                             {"zone", "a"}};
    assert_int_equal(nout, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < nout; i++) {
        assert_true(osp_str_eqz(out[i].name, want[i][0]));
        assert_true(osp_str_eqz(out[i].value, want[i][1]));
    }
    osp_arena_cleanup(&a);

    j = &c->jobs[2];
    assert_int_equal(j->scrape_interval_ms, 5000);
    assert_int_equal(j->scrape_timeout_ms, 5000); /* capped at the interval */
    assert_int_equal(j->nrelabel_configs, 0);
    osp_scrape_config_destroy(c);
}

static void test_defaults(void **state)
{
    const char *docs[] = {"", "# nothing\n", "scrape_configs:\n", "global:\nscrape_configs: []\n",
                          "other: 1\n"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        osp_scrape_config *c;
        char err[256] = "";
        int rc = osp_scrape_config_parse("c.yaml", docs[i], strlen(docs[i]), &c, err, sizeof err);
        if (rc)
            fail_msg("doc %zu: %s", i, err);
        assert_int_equal(c->scrape_interval_ms, 60000);
        assert_int_equal(c->scrape_timeout_ms, 10000);
        assert_int_equal(c->evaluation_interval_ms, 60000);
        assert_int_equal(c->njobs, 0);
        assert_int_equal(c->nexternal_labels, 0);
        osp_scrape_config_destroy(c);
    }
}

static void test_global_timeout_capped(void **state)
{
    const char *doc = "global: {scrape_interval: 5s}\nscrape_configs:\n  - job_name: a\n"
                      "  - job_name: b\n    scrape_interval: 1s\n";
    osp_scrape_config *c;
    char err[256] = "";
    assert_int_equal(osp_scrape_config_parse("c.yaml", doc, strlen(doc), &c, err, sizeof err), 0);
    assert_int_equal(c->scrape_timeout_ms, 5000);
    assert_int_equal(c->jobs[0].scrape_interval_ms, 5000);
    assert_int_equal(c->jobs[0].scrape_timeout_ms, 5000);
    assert_int_equal(c->jobs[1].scrape_timeout_ms, 1000);
    osp_scrape_config_destroy(c);
}

typedef struct err_case {
    const char *doc;
    const char *want;
} err_case;

#define JOB "scrape_configs:\n  - job_name: j\n"

static const err_case err_cases[] = {
    {"scrape_configs: [\n", "c.yaml:2: did not find expected node content while parsing a flow "
                            "node"},
    {"- 1\n", "c.yaml:1: must be a mapping, not a list"},
    {"scrape_configs: {a: 1}\n", "c.yaml:1: scrape_configs: must be a list, not a mapping"},
    {"global: 1\n", "c.yaml:1: global: must be a mapping, not a scalar"},
    {"global:\n  scrape_intervall: 1m\n",
     "c.yaml:2: global: unknown or unsupported key \"scrape_intervall\""},
    {"global:\n  scrape_interval: 10s\n  scrape_timeout: 11s\n",
     "c.yaml:3: global.scrape_timeout: must not be greater than scrape_interval"},
    {"global:\n  scrape_interval: 5x\n",
     "c.yaml:2: global.scrape_interval: not a valid duration string: \"5x\""},
    {"global:\n  external_labels:\n    bad-name: x\n",
     "c.yaml:3: global.external_labels: \"bad-name\" is not a valid label name"},
    {"global:\n  external_labels: [a]\n",
     "c.yaml:2: global.external_labels: must be a mapping, not a list"},
    {"global: {}\nglobal: {}\n", "c.yaml:2: duplicate key \"global\" (first at line 1)"},
    {"scrape_configs:\n  - scrape_interval: 1m\n",
     "c.yaml:2: scrape_configs[0]: job_name is required"},
    {JOB "  - job_name: j\n",
     "c.yaml:3: scrape_configs[1].job_name: duplicate job_name \"j\" (first at line 2)"},
    {"scrape_configs:\n  - job_name: x\n    scrape_interval: 30s\n    scrape_timeout: 1m\n",
     "c.yaml:4: scrape_configs[0].scrape_timeout: must not be greater than scrape_interval"},
    {"global: {scrape_interval: 1m, scrape_timeout: 30s}\nscrape_configs:\n  - job_name: x\n"
     "    scrape_interval: 10s\n    scrape_timeout: 20s\n",
     "c.yaml:5: scrape_configs[0].scrape_timeout: must not be greater than scrape_interval"},
    {JOB "    job_name: k\n",
     "c.yaml:3: scrape_configs[0]: duplicate key \"job_name\" (first at line 2)"},
    {JOB "    tls_config: {}\n", "c.yaml:3: scrape_configs[0]: unknown or unsupported key "
                                 "\"tls_config\""},
    {JOB "    scheme: https\n",
     "c.yaml:3: scrape_configs[0].scheme: https is not supported yet; use http"},
    {JOB "    scheme: ftp\n",
     "c.yaml:3: scrape_configs[0].scheme: unknown scheme \"ftp\"; only http is supported"},
    {JOB "    scrape_timeout: 1h30\n",
     "c.yaml:3: scrape_configs[0].scrape_timeout: not a valid duration string: \"1h30\""},
    {JOB "    honor_labels: 'true'\n",
     "c.yaml:3: scrape_configs[0].honor_labels: \"true\" is not a boolean (true or false)"},
    {JOB "    honor_timestamps: maybe\n",
     "c.yaml:3: scrape_configs[0].honor_timestamps: \"maybe\" is not a boolean (true or false)"},
    {JOB "    metrics_path: [a]\n",
     "c.yaml:3: scrape_configs[0].metrics_path: must be a scalar, not a list"},
    {JOB "    params: {module: x}\n",
     "c.yaml:3: scrape_configs[0].params.module: must be a list, not a scalar"},
    {JOB "    static_configs:\n      - targets: ['http://a:80']\n",
     "c.yaml:4: scrape_configs[0].static_configs[0].targets[0]: \"http://a:80\" is not a valid "
     "hostname"},
    {JOB "    static_configs:\n      - targets: [a:1]\n        labels: {0x: y}\n",
     "c.yaml:5: scrape_configs[0].static_configs[0].labels: \"0x\" is not a valid label name"},
    {JOB "    static_configs:\n      - target: [a:1]\n",
     "c.yaml:4: scrape_configs[0].static_configs[0]: unknown or unsupported key \"target\""},
    {JOB "    static_configs: {targets: []}\n",
     "c.yaml:3: scrape_configs[0].static_configs: must be a list, not a mapping"},
    {JOB "    file_sd_configs:\n      - files: [targets.txt]\n",
     "c.yaml:4: scrape_configs[0].file_sd_configs[0].files[0]: path name \"targets.txt\" is not "
     "valid for file discovery"},
    {JOB "    file_sd_configs:\n      - files: ['a/*/b.json']\n",
     "c.yaml:4: scrape_configs[0].file_sd_configs[0].files[0]: path name \"a/*/b.json\" is not "
     "valid for file discovery"},
    {JOB "    file_sd_configs:\n      - refresh_interval: 1m\n",
     "c.yaml:4: scrape_configs[0].file_sd_configs[0]: file service discovery config must contain "
     "at least one path name"},
    {JOB "    file_sd_configs:\n      - {files: [a.yml], refresh: 1m}\n",
     "c.yaml:4: scrape_configs[0].file_sd_configs[0]: unknown or unsupported key \"refresh\""},
    {JOB "    relabel_configs:\n      - action: rewrite\n",
     "c.yaml:4: scrape_configs[0].relabel_configs[0].action: unknown relabel action \"rewrite\""},
    {JOB "    relabel_configs:\n      - source_labels: [a]\n",
     "c.yaml:4: scrape_configs[0].relabel_configs[0]: relabel configuration for replace action "
     "requires 'target_label' value"},
    {JOB "    relabel_configs:\n      - {target_label: x}\n      - {action: hashmod, "
         "target_label: x, modulus: -1}\n",
     "c.yaml:5: scrape_configs[0].relabel_configs[1].modulus: \"-1\" is not an unsigned integer"},
    {JOB "    metric_relabel_configs:\n      - {target_label: x, regex: '(a'}\n",
     "c.yaml:4: scrape_configs[0].metric_relabel_configs[0]: invalid regex \"(a\": *"},
    {JOB "    metric_relabel_configs:\n      - {target_label: x, if: y}\n",
     "c.yaml:4: scrape_configs[0].metric_relabel_configs[0]: unknown or unsupported key \"if\""},
    {JOB "    relabel_configs:\n      - {action: labelmap, regex: '(.*)', replacement: 'a b'}\n",
     "c.yaml:4: scrape_configs[0].relabel_configs[0]: \"a b\" is invalid 'replacement' for "
     "labelmap action"},
};

static void test_errors(void **state)
{
    for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
        osp_scrape_config *c = (osp_scrape_config *)1;
        char err[512] = "";
        int rc = osp_scrape_config_parse("c.yaml", err_cases[i].doc, strlen(err_cases[i].doc), &c,
                                         err, sizeof err);
        if (rc != OSP_EINVAL)
            fail_msg("case %zu: rc %d, err %s", i, rc, err);
        assert_null(c);
        /* A trailing '*' matches any rest (regerror's wording is the C library's). */
        size_t wn = strlen(err_cases[i].want);
        int prefix = wn && err_cases[i].want[wn - 1] == '*';
        if (prefix ? strncmp(err, err_cases[i].want, wn - 1) != 0
                   : strcmp(err, err_cases[i].want) != 0)
            fail_msg("case %zu:\n got: %s\nwant: %s", i, err, err_cases[i].want);
    }
}

static void test_durations(void **state)
{
    static const struct {
        const char *z;
        int64_t ms;
    } ok[] = {{"0", 0},           {"1s", 1000},      {"1m", 60000},
              {"1h30m", 5400000}, {"500ms", 500},    {"1m30s500ms", 90500},
              {"2d", 172800000},  {"1w", 604800000}, {"1y", 31536000000},
              {"0s", 0}};
    static const char *const bad[] = {"",    "1",    "s",   "1m1h", "1s1s",
                                      "-1s", "1.5s", "1 s", "1S",   "99999999999999999999y"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = -1;
        assert_int_equal(osp_prom_duration_parse(osp_str_c(ok[i].z), &ms), 0);
        assert_int_equal(ms, ok[i].ms);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        if (osp_prom_duration_parse(osp_str_c(bad[i]), &ms) == 0)
            fail_msg("accepted \"%s\"", bad[i]);
    }
}

static void test_file_sd(void **state)
{
    const char *yaml = "- targets: [a:1, b:2]\n  labels: {env: prod}\n- targets: [c:3]\n";
    const char *json = "[{\"targets\": [\"x:9\"], \"labels\": {\"k\": \"v\"}, \"extra\": 1}]";
    osp_arena a;
    osp_target_group *g;
    size_t n;
    char err[256] = "";
    osp_arena_init(&a, 0, 0);
    assert_int_equal(osp_file_sd_parse("t.yml", yaml, strlen(yaml), 0, &a, &g, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(g[0].ntargets, 2);
    assert_string_equal(g[0].targets[1], "b:2");
    assert_int_equal(g[0].nlabels, 1);
    assert_int_equal(g[1].line, 3);
    assert_int_equal(
        osp_file_sd_parse("t.json", json, strlen(json), 1, &a, &g, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(g[0].targets[0], "x:9");
    /* YAML is strict, JSON is not (as in Prometheus). */
    assert_int_equal(osp_file_sd_parse("t.yml", json, strlen(json), 0, &a, &g, &n, err, sizeof err),
                     OSP_EINVAL);
    assert_string_equal(err, "t.yml:1: [0]: unknown or unsupported key \"extra\"");
    const char *notlist = "targets: [a]\n";
    assert_int_equal(
        osp_file_sd_parse("t.yml", notlist, strlen(notlist), 0, &a, &g, &n, err, sizeof err),
        OSP_EINVAL);
    assert_string_equal(err, "t.yml:1: must be a list, not a mapping");
    assert_int_equal(osp_file_sd_parse("t.yml", "", 0, 0, &a, &g, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    osp_arena_cleanup(&a);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load_files(void **state)
{
    char *dir = osp_test_tmpdir("scrapecfg");
    char path[512], err[512];
    osp_arena a;
    osp_target_group *g;
    size_t n;
    assert_non_null(dir);
    osp_arena_init(&a, 0, 0);

    snprintf(path, sizeof path, "%s/targets.json", dir);
    write_file(path, "[{\"targets\": [\"x:9\"], \"labels\": {\"z\": \"1\", \"a\": \"2\"}}]");
    assert_int_equal(osp_file_sd_load(path, &a, &g, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(g[0].nlabels, 3);
    assert_true(osp_str_eqz(g[0].labels[0].name, "__meta_filepath"));
    assert_true(osp_str_eqz(g[0].labels[0].value, path));
    assert_true(osp_str_eqz(g[0].labels[1].name, "a"));

    snprintf(path, sizeof path, "%s/osprey.yaml", dir);
    write_file(path, "scrape_configs:\n  - job_name: x\n");
    osp_scrape_config *c;
    assert_int_equal(osp_scrape_config_load(path, &c, err, sizeof err), 0);
    assert_int_equal(c->njobs, 1);
    osp_scrape_config_destroy(c);

    write_file(path, "scrape_configs:\n  - job_name: x\n    bogus: 1\n");
    assert_int_equal(osp_scrape_config_load(path, &c, err, sizeof err), OSP_EINVAL);
    char want[600];
    snprintf(want, sizeof want, "%s:3: scrape_configs[0]: unknown or unsupported key \"bogus\"",
             path);
    assert_string_equal(err, want);

    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    assert_int_equal(osp_scrape_config_load(path, &c, err, sizeof err), OSP_EIO);
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(osp_file_sd_load(path, &a, &g, &n, err, sizeof err), OSP_EIO);

    osp_arena_cleanup(&a);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_no_leaks(void **state)
{
    size_t before = osp_mem_in_use();
    osp_scrape_config *c;
    char err[512];
    assert_int_equal(
        osp_scrape_config_parse("c.yaml", realistic, strlen(realistic), &c, err, sizeof err), 0);
    osp_scrape_config_destroy(c);
    for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++)
        osp_scrape_config_parse("c.yaml", err_cases[i].doc, strlen(err_cases[i].doc), &c, err,
                                sizeof err);
    assert_int_equal(osp_mem_in_use(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_realistic),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_global_timeout_capped),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_file_sd),
        cmocka_unit_test(test_load_files),
        cmocka_unit_test(test_no_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
