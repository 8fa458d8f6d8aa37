/* Unit tests for analytics/pricing: the built-in table, user files laid over it, lookup
 * precedence (exact, pattern length, provider, effective date), file errors with their
 * line, refresh of a changed or broken file, and cost arithmetic. */
#include "testutil.h"

#include <math.h>
#include <time.h>

#include "analytics/pricing.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/rfc3339.h"

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = osp_test_tmpdir("pricing");
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    osp_test_rmdir(dir);
    free(dir);
    return 0;
}

/* Writes text to dir/name and returns the path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

static int64_t ms_at(const char *rfc3339)
{
    uint64_t ns;
    assert_int_equal(osp_rfc3339_parse(osp_str_c(rfc3339), &ns), 0);
    return (int64_t)(ns / 1000000);
}

static osp_price_table *load(const char *path)
{
    osp_price_table *t = NULL;
    char err[256] = "";
    int rc = osp_price_table_load(path, &t, err, sizeof err);
    if (rc != 0)
        fail_msg("load %s: %s", path ? path : "(built-in)", err);
    return t;
}

/* The price of model (of provider) at time at; fails the test when there is none. */
static osp_price price_of(const osp_price_table *t, const char *provider, const char *model,
                          const char *at)
{
    osp_price p = {0};
    if (osp_price_lookup(t, osp_str_c(provider), osp_str_c(model), ms_at(at), &p) != 1)
        fail_msg("no price for %s/%s at %s", provider, model, at);
    return p;
}

static int has_price(const osp_price_table *t, const char *provider, const char *model,
                     const char *at)
{
    osp_price p;
    return osp_price_lookup(t, osp_str_c(provider), osp_str_c(model), ms_at(at), &p);
}

static void test_builtin(void **state)
{
    (void)state;
    osp_price_table *t = load(NULL);
    const char *now = "2026-01-01T00:00:00Z";
    osp_price mini = price_of(t, "openai", "gpt-4o-mini", now);
    assert_true(mini.input > 0 && mini.output > mini.input);
    assert_true(mini.cache_read > 0 && mini.cache_read < mini.input);
    assert_true(mini.cache_write == mini.input); /* not in the file: defaults to input */
    /* A dated snapshot, a provider prefix and a cloud id fall under the family's price. */
    osp_price snap = price_of(t, "openai", "gpt-4o-mini-2024-07-18", now);
    assert_true(snap.input == mini.input && snap.output == mini.output);
    snap = price_of(t, "", "openai/gpt-4o-mini", now);
    assert_true(snap.input == mini.input);
    osp_price sonnet = price_of(t, "anthropic", "claude-3-5-sonnet-20241022", now);
    osp_price bedrock =
        price_of(t, "aws.bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", now);
    assert_true(sonnet.input == bedrock.input && sonnet.cache_write > sonnet.input);
    /* A longer pattern wins: the mini models are not priced as their big siblings. */
    assert_true(price_of(t, "", "gpt-4.1-mini-2025-04-14", now).input <
                price_of(t, "", "gpt-4.1-2025-04-14", now).input);
    assert_true(price_of(t, "", "claude-opus-4-5-20251101", now).input <
                price_of(t, "", "claude-opus-4-1-20250805", now).input);
    assert_false(has_price(t, "", "no-such-model", now));
    assert_false(has_price(t, "", "", now));
    /* Before a model's effective date there is no price for it. */
    assert_false(has_price(t, "", "gpt-4o-mini", "2024-01-01T00:00:00Z"));
    osp_price_table_destroy(t);
}

static void test_user_overrides_and_adds(void **state)
{
    (void)state;
    const char *path = write_file("user.yaml", "prices:\n"
                                               "  - model: gpt-4o-mini*\n"
                                               "    input: 1\n"
                                               "    output: 2\n"
                                               "    effective: 2024-07-18\n"
                                               "  - model: in-house-llm\n"
                                               "    provider: acme\n"
                                               "    input: 0.5\n"
                                               "    output: 0.7\n"
                                               "    cache_read: 0.1\n");
    osp_price_table *t = load(path);
    const char *now = "2026-01-01T00:00:00Z";
    osp_price p = price_of(t, "openai", "gpt-4o-mini-2024-07-18", now);
    assert_true(p.input == 1 && p.output == 2 && p.cache_read == 1 && p.cache_write == 1);
    p = price_of(t, "acme", "in-house-llm", now);
    assert_true(p.input == 0.5 && p.output == 0.7 && p.cache_read == 0.1 && p.cache_write == 0.5);
    /* Built-in entries the file does not name are still there. */
    assert_true(has_price(t, "anthropic", "claude-sonnet-4-20250514", now));
    osp_price_table_destroy(t);
}

static void test_exact_beats_pattern(void **state)
{
    (void)state;
    const char *path = write_file("exact.yaml", "prices:\n"
                                                "  - {model: \"acme-*\", input: 1, output: 1}\n"
                                                "  - {model: \"acme-l*\", input: 3, output: 3}\n"
                                                "  - {model: acme-large, input: 5, output: 5}\n"
                                                "  - {model: \"*-fast\", input: 7, output: 7}\n");
    osp_price_table *t = load(path);
    const char *now = "2026-01-01T00:00:00Z";
    assert_true(price_of(t, "", "acme-large", now).input == 5);
    assert_true(price_of(t, "", "ACME-Large", now).input == 5); /* case-insensitive */
    assert_true(price_of(t, "", "acme-lite", now).input == 3);
    assert_true(price_of(t, "", "acme-small", now).input == 1);
    assert_true(price_of(t, "", "acme-large-fast", now).input == 3);
    assert_true(price_of(t, "", "x-fast", now).input == 7);
    assert_false(has_price(t, "", "acme", now));
    osp_price_table_destroy(t);
}

static void test_provider_specific(void **state)
{
    (void)state;
    const char *path = write_file(
        "provider.yaml", "prices:\n"
                         "  - {model: acme-x, input: 1, output: 1}\n"
                         "  - {model: acme-x, provider: azure.ai.openai, input: 2, "
                         "output: 2}\n"
                         "  - {model: \"acme-y*\", provider: acme, input: 4, output: 4}\n");
    osp_price_table *t = load(path);
    const char *now = "2026-01-01T00:00:00Z";
    assert_true(price_of(t, "azure.ai.openai", "acme-x", now).input == 2);
    assert_true(price_of(t, "openai", "acme-x", now).input == 1);
    assert_true(price_of(t, "", "acme-x", now).input == 2);
    assert_true(price_of(t, "acme", "acme-y1", now).input == 4);
    assert_false(has_price(t, "other", "acme-y1", now));
    osp_price_table_destroy(t);
}

static void test_effective_dates(void **state)
{
    (void)state;
    const char *path = write_file("dates.yaml", "prices:\n"
                                                "  - model: acme-d\n"
                                                "    input: 2\n"
                                                "    output: 2\n"
                                                "    effective: 2025-01-01\n"
                                                "  - model: acme-d\n"
                                                "    input: 1\n"
                                                "    output: 1\n"
                                                "    effective: 2024-01-01\n"
                                                "  - model: acme-d\n"
                                                "    input: 3\n"
                                                "    output: 3\n"
                                                "    effective: 2025-06-01T12:00:00Z\n");
    osp_price_table *t = load(path);
    assert_false(has_price(t, "", "acme-d", "2023-12-31T23:59:59Z"));
    assert_true(price_of(t, "", "acme-d", "2024-01-01T00:00:00Z").input == 1);
    assert_true(price_of(t, "", "acme-d", "2024-12-31T23:59:59Z").input == 1);
    assert_true(price_of(t, "", "acme-d", "2025-01-01T00:00:00Z").input == 2);
    assert_true(price_of(t, "", "acme-d", "2025-06-01T11:59:59Z").input == 2);
    assert_true(price_of(t, "", "acme-d", "2030-01-01T00:00:00Z").input == 3);
    osp_price_table_destroy(t);
}

/* Loading text as a user file fails with OSP_EPARSE and a message "<path>:<line>: ...". */
static void expect_bad(const char *text, int line, const char *words)
{
    const char *path = write_file("bad.yaml", text);
    char want[4200], err[512] = "";
    osp_price_table *t = (osp_price_table *)1;
    assert_int_equal(osp_price_table_load(path, &t, err, sizeof err), OSP_EPARSE);
    assert_null(t);
    snprintf(want, sizeof want, "%s:%d: ", path, line);
    if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, words))
        fail_msg("want \"%s...%s\", got \"%s\"", want, words, err);
}

static void test_bad_files(void **state)
{
    (void)state;
    expect_bad("prices:\n  - model: a\n    input: [1\n", 4, "");
    expect_bad("prices:\n  - model: a\n    input: 1\n    output: 1\n    colour: red\n", 5,
               "unknown key \"colour\"");
    expect_bad("prices:\n  - model: a\n    input: 1\n", 2, "needs model, input and output");
    expect_bad("prices:\n  - {model: a, input: -1, output: 1}\n", 2, "is not a price");
    expect_bad("prices:\n  - {model: a, input: 1, output: lots}\n", 2, "is not a price");
    expect_bad("prices:\n  - {model: a, input: 1, output: 1, effective: 2024-13-01}\n", 2,
               "is not a date");
    expect_bad("prices:\n  - {model: a, input: 1, output: 1}\n"
               "  - {model: b, input: 1, output: 1}\n"
               "  - {model: a, input: 2, output: 2}\n",
               4, "first at line 2");
    expect_bad("prices:\n  - {model: a, input: 1, input: 2, output: 1}\n", 2,
               "duplicate key \"input\"");
    expect_bad("prices:\n  - {model: [a], input: 1, output: 1}\n", 2, "model must be");
    expect_bad("- model: a\n", 1, "must be a mapping");
    expect_bad("models:\n  - {model: a}\n", 1, "only key is \"prices\"");
    expect_bad("prices: 3\n", 1, "must be a list");
    expect_bad("prices:\n  - just-a-name\n", 2, "must be a mapping");

    char err[256] = "";
    osp_price_table *t;
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/none.yaml", dir);
    assert_int_equal(osp_price_table_load(missing, &t, err, sizeof err), OSP_EIO);
    assert_non_null(strstr(err, missing));
    /* An empty file is an empty overlay. */
    t = load(write_file("empty.yaml", ""));
    assert_true(has_price(t, "", "gpt-4o-mini", "2026-01-01T00:00:00Z"));
    osp_price_table_destroy(t);
}

static void sleep_past_refresh_interval(void)
{
    struct timespec ts = {1, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void test_refresh(void **state)
{
    (void)state;
    const char *now = "2026-01-01T00:00:00Z";
    const char *path = write_file("live.yaml", "prices:\n  - {model: live, input: 1, output: 1}\n");
    osp_price_table *t = load(path);
    assert_true(price_of(t, "", "live", now).input == 1);
    osp_price_table_refresh(t); /* unchanged: nothing happens */
    assert_true(price_of(t, "", "live", now).input == 1);

    write_file("live.yaml", "prices:\n  - {model: live, input: 25, output: 1}\n");
    sleep_past_refresh_interval();
    osp_price_table_refresh(t);
    assert_true(price_of(t, "", "live", now).input == 25);

    write_file("live.yaml", "prices:\n  - {model: live, input: oops, output: 1}\n");
    sleep_past_refresh_interval();
    osp_price_table_refresh(t);
    assert_true(price_of(t, "", "live", now).input == 25);

    assert_int_equal(remove(path), 0);
    sleep_past_refresh_interval();
    osp_price_table_refresh(t);
    assert_true(price_of(t, "", "live", now).input == 25);

    write_file("live.yaml", "prices:\n  - {model: live, input: 3, output: 1}\n");
    sleep_past_refresh_interval();
    osp_price_table_refresh(t);
    assert_true(price_of(t, "", "live", now).input == 3);
    osp_price_table_destroy(t);
}

static void test_cost(void **state)
{
    (void)state;
    const osp_price p = {.input = 2, .output = 8, .cache_read = 0.5, .cache_write = 2.5};
    /* 10k input tokens of which 4k cache reads and 1k cache writes, 2k output: the
     * uncached 5k at the input price, the cached ones at theirs. */
    double inside = osp_price_cost(&p, 10000 - 4000 - 1000, 4000, 1000, 2000);
    assert_true(fabs(inside - (5000 * 2 + 4000 * 0.5 + 1000 * 2.5 + 2000 * 8) / 1e6) < 1e-12);
    /* Counting the cache tokens as input too would overcharge them. */
    assert_true(osp_price_cost(&p, 10000, 4000, 1000, 2000) > inside);
    assert_true(osp_price_cost(&p, 0, 0, 0, 0) == 0);
    assert_true(fabs(osp_price_cost(&p, 1e6, 0, 0, 0) - p.input) < 1e-12);
}

/* Every allocation of a load failing in turn gives OSP_ENOMEM and leaks nothing. */
static void test_out_of_memory(void **state)
{
    (void)state;
    const char *path = write_file("oom.yaml", "prices:\n  - {model: a, input: 1, output: 1}\n");
    int failed = 0;
    for (unsigned long n = 1; n < 10000; n++) {
        osp_price_table *t = NULL;
        char err[256];
        osp_mem_fail_after(n);
        int rc = osp_price_table_load(path, &t, err, sizeof err);
        osp_mem_fail_after(0);
        if (rc == 0) {
            assert_true(has_price(t, "", "a", "2026-01-01T00:00:00Z"));
            osp_price_table_destroy(t);
            break;
        }
        assert_int_equal(rc, OSP_ENOMEM);
        assert_null(t);
        failed++;
    }
    assert_true(failed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_user_overrides_and_adds),
        cmocka_unit_test(test_exact_beats_pattern),
        cmocka_unit_test(test_provider_specific),
        cmocka_unit_test(test_effective_dates),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_refresh),
        cmocka_unit_test(test_cost),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
