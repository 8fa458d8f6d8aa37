/* Unit tests for query/logdetect: the types of field values and which stream labels are
 * detected (fields over real lines are covered end to end, tests/e2e/logs.test.mjs). */
#include "testutil.h"

#include "core/err.h"
#include "query/logdetect.h"

#include "labeltext.h"

static void test_value_types(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        osp_field_type want;
    } cases[] = {
        {"42", OSP_FIELD_INT},
        {"-9223372036854775808", OSP_FIELD_INT},
        {"+7", OSP_FIELD_INT},
        {"9223372036854775808", OSP_FIELD_FLOAT}, /* past int64: ParseFloat takes it */
        {"1.5", OSP_FIELD_FLOAT},
        {"1e5", OSP_FIELD_FLOAT},
        {"Inf", OSP_FIELD_FLOAT},
        {"1", OSP_FIELD_INT}, /* before boolean */
        {"true", OSP_FIELD_BOOLEAN},
        {"T", OSP_FIELD_BOOLEAN},
        {"FALSE", OSP_FIELD_BOOLEAN},
        {"yes", OSP_FIELD_STRING},
        {"150ms", OSP_FIELD_DURATION},
        {"1h2m3.5s", OSP_FIELD_DURATION},
        {"10KB", OSP_FIELD_BYTES},
        {"42 MiB", OSP_FIELD_BYTES},
        {"1,024 kb", OSP_FIELD_BYTES},
        {"GET", OSP_FIELD_STRING},
        {"10.0.0.1", OSP_FIELD_STRING},
        {"-", OSP_FIELD_STRING},
        {"12abc", OSP_FIELD_STRING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        osp_field_type t = osp_field_type_of(osp_str_c(cases[i].value));
        if (t != cases[i].want)
            fail_msg("%s: %s, want %s", cases[i].value, osp_field_type_name(t),
                     osp_field_type_name(cases[i].want));
    }
    assert_string_equal(osp_field_type_name(OSP_FIELD_DURATION), "duration");
    assert_string_equal(osp_field_type_name(OSP_FIELD_BOOLEAN), "boolean");
}

static void test_listed_byte_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *value, *want;
    } cases[] = {
        {"10KB", "10kB"},     {"10 kb", "10kB"},      {"2048 KiB", "2.1MB"},
        {"1m", "1.0MB"},      {"5b", "5B"},           {"9B", "9B"},
        {"12B", "12B"},       {"999999 b", "1000kB"}, {"1,536 kb", "1.5MB"},
        {"3 Gi", "3.2GB"},    {"1e", "1.0EB"},        {"100", "100"}, /* no unit */
        {"10 KB ", "10 KB "}, /* ends in a space, as Loki's suffix test sees it */
        {"2s", "2s"},         {"bob", "bob"},         {"10 kbit", "10 kbit"},
    };
    osp_arena a;
    osp_arena_init(&a, 1024, 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        osp_str out;
        assert_int_equal(osp_field_list_value(&a, osp_str_c(cases[i].value), &out), 0);
        if (!osp_str_eqz(out, cases[i].want))
            fail_msg("%s: %.*s, want %s", cases[i].value, (int)out.n, out.p, cases[i].want);
    }
    osp_arena_cleanup(&a);
}

/* Streams as label text; the fixture lists them all, whatever the matchers. */
static const char *const streams[] = {
    "app=web,pod=web-1,request=17,trace=0b7c6e9a-4f1e-4e8a-9d3e-1a2b3c4d5e6f,ok=1,status=200",
    "app=web,pod=web-2,request=18.5,trace={0B7C6E9A-4F1E-4E8A-9D3E-1A2B3C4D5E6F},ok=0,status=404",
    "app=api,pod=7,request=19,trace=0b7c6e9a4f1e4e8a9d3e1a2b3c4d5e6f,region=eu,namespace=42",
    "app=api,gone=1", /* removed before its labels are read */
};
#define NSTREAMS (sizeof streams / sizeof *streams)

static int fx_streams(void *ctx, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                      uint64_t end_ns, osp_arena *arena, uint64_t **ids, size_t *nids)
{
    int *calls = ctx;
    (*calls)++;
    assert_true(n >= 1 && m);
    *ids = osp_arena_alloc(arena, NSTREAMS * sizeof **ids);
    for (size_t i = 0; i < NSTREAMS; i++)
        (*ids)[i] = i;
    *nids = NSTREAMS;
    return 0;
}

static int fx_labels(void *ctx, uint64_t stream, osp_arena *arena, osp_label **labels, size_t *n)
{
    (void)ctx;
    if (stream == NSTREAMS - 1)
        return OSP_ENOTFOUND;
    *labels = test_labels(arena, streams[stream], n);
    return 0;
}

static void test_labels_left_out_as_loki_does(void **state)
{
    (void)state;
    int calls = 0;
    osp_logql_source src = {.ctx = &calls, .stream_labels = fx_labels, .streams = fx_streams};
    osp_arena a;
    osp_detected_label *l;
    size_t n;
    osp_arena_init(&a, 0, 0);
    /* no selector: every stream */
    assert_int_equal(osp_log_detect_labels(&src, NULL, 0, 0, 100, &a, &l, &n), 0);
    assert_int_equal(calls, 1);
    /* request (numbers), trace (UUIDs in three forms) and status (numbers) are ids and
     * left out; ok holds only 0 and 1; namespace and pod are kept whatever their values;
     * the removed stream adds nothing (gone) */
    static const struct {
        const char *label;
        uint64_t cardinality;
    } want[] = {{"app", 2}, {"namespace", 1}, {"ok", 2}, {"pod", 3}, {"region", 1}};
    assert_int_equal(n, sizeof want / sizeof *want);
    for (size_t i = 0; i < n; i++) {
        assert_true(osp_str_eqz(l[i].label, want[i].label));
        assert_int_equal(l[i].cardinality, want[i].cardinality);
    }
    /* the source's error */
    src.streams = NULL;
    assert_int_equal(osp_log_detect_labels(&src, NULL, 0, 0, 100, &a, &l, &n), OSP_EUNSUPPORTED);
    assert_int_equal(n, 0);
    osp_arena_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_types),
        cmocka_unit_test(test_listed_byte_sizes),
        cmocka_unit_test(test_labels_left_out_as_loki_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
