/* Unit tests for core/numfmt: Go's strconv 'f' and 'g' shortest forms, as Prometheus
 * writes sample values and le/quantile labels. Expected strings are what Go prints. */
#include <math.h>
#include <stdio.h>

#include "testutil.h"

#include "core/numfmt.h"

static void f_is(double v, const char *want)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_buf_float(&b, v), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    osp_buf_cleanup(&b);
}

static void g_is(double v, const char *want)
{
    char out[OSP_FLOAT_G_MAX];
    size_t n = osp_format_float_g(v, out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_f(void **state)
{
    (void)state;
    f_is(0, "0");
    f_is(-0.0, "-0");
    f_is(1, "1");
    f_is(-2.5, "-2.5");
    f_is(0.1, "0.1");
    f_is(1.0 / 3, "0.3333333333333333");
    f_is(1e21, "1000000000000000000000");
    f_is(123456789012, "123456789012");
    f_is(1435781451.781, "1435781451.781");
    char want[400];
    snprintf(want, sizeof want, "0.%0323d5", 0); /* 5e-324: 323 zeros after the point */
    f_is(5e-324, want);
    f_is(0.000123, "0.000123");
    snprintf(want, sizeof want, "17976931348623157%0292d", 0); /* 309 digits */
    f_is(1.7976931348623157e308, want);
    f_is(NAN, "NaN");
    f_is(INFINITY, "+Inf");
    f_is(-INFINITY, "-Inf");
}

static void prom_is(double v, const char *want)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_buf_float_prom(&b, v), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    osp_buf_cleanup(&b);
}

/* Prometheus 2.42's marshalValue: 'f' between 1e-6 and 1e21, 'e' outside. */
static void test_prom(void **state)
{
    (void)state;
    prom_is(0, "0");
    prom_is(1e-6, "0.000001");
    prom_is(1e-7, "1e-07");
    prom_is(-2.5e-9, "-2.5e-09");
    prom_is(1e21, "1e+21");
    prom_is(123456789012345678901.0, "123456789012345680000");
    prom_is(1.7976931348623157e308, "1.7976931348623157e+308");
    prom_is(5e-324, "5e-324");
    prom_is(NAN, "NaN");
    prom_is(-INFINITY, "-Inf");
}

static void test_g(void **state)
{
    (void)state;
    g_is(0.25, "0.25");
    g_is(1, "1");
    g_is(100000, "100000");
    g_is(1e6, "1e+06");
    g_is(1234567, "1.234567e+06");
    g_is(0.0001, "0.0001");
    g_is(0.00001, "1e-05");
    g_is(-0.5, "-0.5");
    g_is(0.1 + 0.2, "0.30000000000000004");
    g_is(1e100, "1e+100");
    g_is(INFINITY, "+Inf");
    g_is(NAN, "NaN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f),
        cmocka_unit_test(test_g),
        cmocka_unit_test(test_prom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
