/* Unit tests for the trace-search predicate (src/store/embedded/match.c). */
#include "testutil.h"

#include "core/buf.h"
#include "model/attr.h"
#include "model/span.h"
#include "store/embedded/match.h"

typedef struct fixture {
    osp_span_batch b;
    osp_buf span_attrs, res_attrs;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    osp_value v;
    osp_span_batch_init(&f->b);
    osp_buf_init(&f->span_attrs, 0);
    osp_buf_init(&f->res_attrs, 0);

    v = (osp_value){.type = OSP_VAL_STRING, .s = OSP_STR_LIT("gpt-4o")};
    osp_attr_append(&f->span_attrs, OSP_STR_LIT("gen_ai.request.model"), &v);
    v = (osp_value){.type = OSP_VAL_INT, .i = 42};
    osp_attr_append(&f->span_attrs, OSP_STR_LIT("http.status_code"), &v);
    v = (osp_value){.type = OSP_VAL_BOOL, .i = 1};
    osp_attr_append(&f->span_attrs, OSP_STR_LIT("cache.hit"), &v);
    v = (osp_value){.type = OSP_VAL_DOUBLE, .d = 0.5};
    osp_attr_append(&f->span_attrs, OSP_STR_LIT("temperature"), &v);
    v = (osp_value){.type = OSP_VAL_STRING, .s = OSP_STR_LIT("span-side")};
    osp_attr_append(&f->span_attrs, OSP_STR_LIT("shared"), &v);
    v = (osp_value){.type = OSP_VAL_STRING, .s = OSP_STR_LIT("prod")};
    osp_attr_append(&f->res_attrs, OSP_STR_LIT("deployment.environment"), &v);
    v = (osp_value){.type = OSP_VAL_STRING, .s = OSP_STR_LIT("resource-side")};
    osp_attr_append(&f->res_attrs, OSP_STR_LIT("shared"), &v);

    osp_resource *r = osp_span_batch_add_resource(&f->b);
    r->service_name = OSP_STR_LIT("agent");
    r->attributes = osp_buf_str(&f->res_attrs);
    osp_span_batch_add_scope(&f->b);
    osp_span *s = osp_span_batch_add_span(&f->b);
    s->name = OSP_STR_LIT("chat gpt-4o");
    s->start_ns = 1000;
    s->end_ns = 1000 + 250000000; /* 250 ms */
    s->status_code = OSP_STATUS_ERROR;
    s->attributes = osp_buf_str(&f->span_attrs);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    osp_span_batch_cleanup(&f->b);
    osp_buf_cleanup(&f->span_attrs);
    osp_buf_cleanup(&f->res_attrs);
    free(f);
    return 0;
}

static osp_trace_query any(void)
{
    return (osp_trace_query){.status = -1};
}

static void test_empty_query_matches(void **state)
{
    fixture *f = *state;
    osp_trace_query q = any();
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 1);
}

static void test_service_and_operation(void **state)
{
    fixture *f = *state;
    osp_trace_query q = any();
    q.service = OSP_STR_LIT("agent");
    q.operation = OSP_STR_LIT("chat gpt-4o");
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 1);
    q.service = OSP_STR_LIT("agen");
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 0);
    q.service = OSP_STR_LIT("agent");
    q.operation = OSP_STR_LIT("chat");
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 0);
}

static void test_duration_and_time(void **state)
{
    fixture *f = *state;
    osp_trace_query q = any();
    q.min_duration_ns = 250000000;
    q.max_duration_ns = 250000000;
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 1);
    q.min_duration_ns = 250000001;
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 0);
    q = any();
    q.max_duration_ns = 249999999;
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 0);
    q = any();
    q.start_ns = 1000;
    q.end_ns = 1000;
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 1);
    q.start_ns = 1001;
    q.end_ns = 0;
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 0);
    q.start_ns = 0;
    q.end_ns = 999;
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 0);
    /* A span ending before it starts has duration 0. */
    f->b.spans[0].end_ns = 10;
    q = any();
    q.max_duration_ns = 1;
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 1);
}

static void test_status(void **state)
{
    fixture *f = *state;
    osp_trace_query q = any();
    q.status = OSP_STATUS_ERROR;
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 1);
    q.status = OSP_STATUS_OK;
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 0);
    q.status = OSP_STATUS_UNSET;
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 0);
}

static int match_attr(fixture *f, const char *key, const char *value)
{
    osp_attr_filter a = {osp_str_c(key), osp_str_c(value)};
    osp_trace_query q = any();
    q.attrs = &a;
    q.nattrs = 1;
    return osp_span_matches(&q, &f->b, 0);
}

static void test_attributes(void **state)
{
    fixture *f = *state;
    assert_int_equal(match_attr(f, "gen_ai.request.model", "gpt-4o"), 1);
    assert_int_equal(match_attr(f, "gen_ai.request.model", "gpt-4"), 0);
    assert_int_equal(match_attr(f, "http.status_code", "42"), 1);
    assert_int_equal(match_attr(f, "http.status_code", "4"), 0);
    assert_int_equal(match_attr(f, "http.status_code", "420"), 0);
    assert_int_equal(match_attr(f, "cache.hit", "true"), 1);
    assert_int_equal(match_attr(f, "temperature", "0.5"), 1);
    assert_int_equal(match_attr(f, "temperature", ""), 0);
    assert_int_equal(match_attr(f, "missing", "x"), 0);
    /* Resource attributes are consulted too, and for a key on both sides either text. */
    assert_int_equal(match_attr(f, "deployment.environment", "prod"), 1);
    assert_int_equal(match_attr(f, "shared", "span-side"), 1);
    assert_int_equal(match_attr(f, "shared", "resource-side"), 1);
    assert_int_equal(match_attr(f, "shared", "other"), 0);

    /* Every filter must hold. */
    osp_attr_filter two[] = {{OSP_STR_LIT("cache.hit"), OSP_STR_LIT("true")},
                             {OSP_STR_LIT("deployment.environment"), OSP_STR_LIT("dev")}};
    osp_trace_query q = any();
    q.attrs = two;
    q.nattrs = 2;
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 0);
    two[1].value = OSP_STR_LIT("prod");
    assert_int_equal(osp_span_matches(&q, &f->b, 0), 1);
}

static void test_corrupt_attributes(void **state)
{
    fixture *f = *state;
    f->b.spans[0].attributes = OSP_STR_LIT("\x0a\xff\x01");
    f->b.resources[0].attributes = OSP_STR_LIT("\x07");
    assert_int_equal(match_attr(f, "gen_ai.request.model", "gpt-4o"), 0);
    assert_int_equal(match_attr(f, "deployment.environment", "prod"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_query_matches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_and_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duration_and_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_attributes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
