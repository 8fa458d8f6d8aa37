/* Unit tests for query/logql_ip: the patterns ip() takes and how addresses are found in a
 * text, against the examples and rules of Loki's documentation and implementation. */
#include "testutil.h"

#include "core/err.h"
#include "query/logql_ip.h"

static osp_logql_ip parse(const char *pattern)
{
    osp_logql_ip ip;
    assert_int_equal(osp_logql_ip_parse(osp_str_c(pattern), &ip), 0);
    return ip;
}

static int find(const char *pattern, const char *text)
{
    osp_logql_ip ip = parse(pattern);
    return osp_logql_ip_find(&ip, osp_str_c(text));
}

static void test_patterns(void **state)
{
    (void)state;
    const char *good[] = {"192.0.2.0",
                          "::1",
                          "192.168.0.1-192.189.10.12",
                          "2001:db8::1-2001:db8::8",
                          "192.51.100.0/24",
                          "2001:db8::/32",
                          "0.0.0.0/0",
                          "10.1.2.3/32",
                          "::ffff:1.2.3.4",
                          "10.0.0.1-10.0.0.1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        parse(good[i]);
    const char *bad[] = {"",
                         "1.2.3",
                         "1.2.3.4.5",
                         "256.1.1.1",
                         "01.2.3.4",
                         "1.2.3.4/33",
                         "1.2.3.4/",
                         "1.2.3.4/08",
                         "::1/129",
                         "10.0.0.9-10.0.0.1",
                         "::1-10.0.0.1",
                         "10.0.0.1-",
                         "fe80::1%eth0",
                         "host",
                         "1.2.3.4 ",
                         "1.2.3.4/-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        osp_logql_ip ip;
        if (osp_logql_ip_parse(osp_str_c(bad[i]), &ip) != OSP_EPARSE)
            fail_msg("pattern \"%s\" was accepted", bad[i]);
    }
    /* A prefix's address need not be masked: 10.1.2.3/8 is 10.0.0.0-10.255.255.255. */
    osp_logql_ip ip = parse("10.1.2.3/8");
    assert_memory_equal(ip.lo, ((uint8_t[]){10, 0, 0, 0}), 4);
    assert_memory_equal(ip.hi, ((uint8_t[]){10, 255, 255, 255}), 4);
    ip = parse("2001:db8::/31");
    assert_int_equal(ip.v6, 1);
    assert_int_equal(ip.hi[3], 0xb9);
    assert_int_equal(ip.hi[15], 0xff);
}

/* Loki's documented example: a substring filter for 3.180.71.3 also matches 93.180.71.3;
 * ip() does not. */
static void test_whole_addresses(void **state)
{
    (void)state;
    const char *lines[] = {
        "3.180.71.3 - - [17/May/2015:08:05:32 +0000] \"GET /downloads/product_1 HTTP/1.1\" 304 0",
        "80.91.33.133 - - [17/May/2015:08:05:14 +0000] \"GET /downloads/product_1 HTTP/1.1\" 304 0",
        "93.180.71.3 - - [17/May/2015:08:05:26 +0000] \"GET /downloads/product_1 HTTP/1.1\" 404 "
        "324",
    };
    assert_int_equal(find("3.180.71.3", lines[0]), 1);
    assert_int_equal(find("3.180.71.3", lines[1]), 0);
    assert_int_equal(find("3.180.71.3", lines[2]), 0);
    assert_int_equal(find("93.180.71.0/24", lines[2]), 1);
    assert_int_equal(find("80.91.33.100-80.91.33.200", lines[1]), 1);
    assert_int_equal(find("80.91.33.100-80.91.33.132", lines[1]), 0);
}

static void test_found_in_text(void **state)
{
    (void)state;
    /* With a port, in brackets, after a key, at the very end. */
    assert_int_equal(find("10.0.0.0/8", "upstream=10.2.3.4:8080 ok"), 1);
    assert_int_equal(find("10.0.0.0/8", "client [10.9.9.9] said hi"), 1);
    assert_int_equal(find("10.0.0.0/8", "from 10.1.1.1"), 1);
    assert_int_equal(find("10.0.0.0/8", "10.1.1.1"), 1);
    /* The second address of a line. */
    assert_int_equal(find("172.16.0.1", "forwarded 10.0.0.1 for 172.16.0.1"), 1);
    /* A version or a date is no address; a longer run is not cut to fit. */
    assert_int_equal(find("1.2.3.4", "v1.2.3.4.5"), 0);
    assert_int_equal(find("1.2.3.4", "build 11.2.3.4"), 0);
    assert_int_equal(find("0.0.0.0/0", "took 1.5 s"), 0);
    assert_int_equal(find("0.0.0.0/0", ""), 0);
    /* IPv6, compressed and full, and families kept apart. */
    assert_int_equal(find("2001:db8::/32", "peer 2001:db8::42 connected"), 1);
    assert_int_equal(find("2001:db8::/32", "peer 2001:0db8:0000:0000:0000:0000:0000:0042 up"), 1);
    assert_int_equal(find("::1", "listening on ::1 port 80"), 1);
    assert_int_equal(find("2001:db8::1-2001:db8::8", "a 2001:db8::9 b"), 0);
    assert_int_equal(find("0.0.0.0/0", "peer 2001:db8::42"), 0);
    assert_int_equal(find("::/0", "peer 10.0.0.1"), 0);
    assert_int_equal(find("::ffff:0:0/96", "mapped ::ffff:10.0.0.1 here"), 1);
    assert_int_equal(find("10.0.0.1", "mapped ::ffff:10.0.0.1 here"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_whole_addresses),
        cmocka_unit_test(test_found_in_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
