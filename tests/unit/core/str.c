/* Unit tests for core/str: printable copies of slices and offset-prefixed messages for
 * parsers' errors. */
#include "testutil.h"

#include "core/str.h"

static void test_printable(void **state)
{
    (void)state;
    char out[OSP_STR_PRINTABLE_SIZE];
    assert_string_equal(osp_str_printable(OSP_STR_NULL, out), "");
    assert_string_equal(osp_str_printable(OSP_STR_LIT("job_1"), out), "job_1");
    /* control bytes, DEL, non-ASCII and double quotes become '?' */
    assert_string_equal(osp_str_printable(OSP_STR_LIT("a\"b\n\x7f\xc3\xa9 ~"), out), "a?b???? ~");
    /* 48 bytes are shown; longer slices get "..." */
    const char *z = "0123456789abcdef0123456789abcdef0123456789abcdefXYZ";
    assert_ptr_equal(osp_str_printable(osp_str_make(z, 48), out), out);
    assert_string_equal(out, "0123456789abcdef0123456789abcdef0123456789abcdef");
    osp_str_printable(osp_str_c(z), out);
    assert_string_equal(out, "0123456789abcdef0123456789abcdef0123456789abcdef...");
    assert_int_equal(strlen(out) + 1, OSP_STR_PRINTABLE_SIZE);
}

static void msg_at(char *err, size_t errlen, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    osp_vmsg_at_offset(err, errlen, off, fmt, ap);
    va_end(ap);
}

static void test_msg_at_offset(void **state)
{
    (void)state;
    char err[24];
    msg_at(err, sizeof err, 17, "expected '%c'", '}');
    assert_string_equal(err, "offset 17: expected '}'");
    msg_at(err, sizeof err, 3, "%s", "a message too long for it");
    assert_string_equal(err, "offset 3: a message too"); /* cut to fit */
    msg_at(err, 8, 123456, "x");
    assert_string_equal(err, "offset "); /* even the prefix */
    msg_at(NULL, 0, 1, "nothing");       /* no buffer: nothing written */
    err[0] = 'k';
    msg_at(err, 0, 1, "nothing");
    assert_int_equal(err[0], 'k');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printable),
        cmocka_unit_test(test_msg_at_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
