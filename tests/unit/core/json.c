/* Unit tests for the JSON pull parser: tokens, escapes, surrogates, limits, errors, numbers. */
#include "testutil.h"

#include <math.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/json.h"

/* Tokenizes text and renders the tokens compactly ("{ k:a s:b n:1 [ t f z ] }"), or
 * "ERR <message>" on failure. Returns the last return code. */
static int render(const char *text, size_t n, char *out, size_t cap, size_t scratch_max)
{
    osp_buf scratch;
    osp_buf_init(&scratch, scratch_max);
    osp_json_reader r;
    osp_json_reader_init(&r, osp_str_make(text, n), &scratch);
    osp_json_token t;
    size_t len = 0;
    int rc;
    out[0] = '\0';
    while ((rc = osp_json_next(&r, &t)) == 1) {
        const char *tag = NULL;
        switch (t.type) {
        case OSP_JSON_OBJECT_BEGIN:
            tag = "{";
            break;
        case OSP_JSON_OBJECT_END:
            tag = "}";
            break;
        case OSP_JSON_ARRAY_BEGIN:
            tag = "[";
            break;
        case OSP_JSON_ARRAY_END:
            tag = "]";
            break;
        case OSP_JSON_TRUE:
            tag = "t";
            break;
        case OSP_JSON_FALSE:
            tag = "f";
            break;
        case OSP_JSON_NULL:
            tag = "z";
            break;
        case OSP_JSON_KEY:
            len += (size_t)snprintf(out + len, cap - len, "%sk:%.*s", len ? " " : "",
                                    OSP_STR_FMT(t.s));
            break;
        case OSP_JSON_STRING:
            len += (size_t)snprintf(out + len, cap - len, "%ss:%.*s", len ? " " : "",
                                    OSP_STR_FMT(t.s));
            break;
        case OSP_JSON_NUMBER:
            len += (size_t)snprintf(out + len, cap - len, "%sn:%.*s", len ? " " : "",
                                    OSP_STR_FMT(t.s));
            break;
        }
        if (tag)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? " " : "", tag);
        assert_true(len < cap);
    }
    if (rc < 0) {
        snprintf(out, cap, "ERR %s", r.err);
        /* A failed reader keeps failing the same way. */
        assert_int_equal(osp_json_next(&r, &t), rc);
    }
    osp_buf_cleanup(&scratch);
    return rc;
}

static void expect(const char *text, const char *want)
{
    char got[512];
    render(text, strlen(text), got, sizeof got, 0);
    assert_string_equal(got, want);
}

static void test_every_token_kind(void **state)
{
    (void)state;
    expect("{\"a\":[true,false,null,-1.5e3,0,\"x\"],\"b\":{},\"c\":[]}",
           "{ k:a [ t f z n:-1.5e3 n:0 s:x ] k:b { } k:c [ ] }");
    expect(" \t\r\n 42 \n", "n:42");
    expect("\"top\"", "s:top");
    expect("[[[]],{\"k\":{\"k\":null}}]", "[ [ [ ] ] { k:k { k:k z } } ]");
    expect("[0.5,1E+2,2e-2,-0]", "[ n:0.5 n:1E+2 n:2e-2 n:-0 ]");
}

static void test_offsets_and_slices(void **state)
{
    (void)state;
    const char *text = "{\"ab\": \"cd\"}";
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    osp_json_reader r;
    osp_json_reader_init(&r, osp_str_c(text), &scratch);
    osp_json_token t;
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(t.off, 0);
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(t.type, OSP_JSON_KEY);
    assert_int_equal(t.off, 1);
    assert_int_equal(t.escaped, 0);
    assert_ptr_equal(t.s.p, text + 2); /* zero-copy: a slice of the input */
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(t.type, OSP_JSON_STRING);
    assert_int_equal(t.off, 7);
    assert_ptr_equal(t.s.p, text + 8);
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(t.type, OSP_JSON_OBJECT_END);
    assert_int_equal(osp_json_next(&r, &t), 0);
    assert_int_equal(osp_json_next(&r, &t), 0);
    assert_null(scratch.data); /* nothing was unescaped */
    osp_buf_cleanup(&scratch);
}

static void test_escapes(void **state)
{
    (void)state;
    const char *text =
        "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\","
        "\"\\u0000\", \"caf\xc3\xa9 \xf0\x9f\x98\x80\"]";
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    osp_json_reader r;
    osp_json_reader_init(&r, osp_str_c(text), &scratch);
    osp_json_token t;
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(t.escaped, 1);
    assert_true(osp_str_eq(t.s, OSP_STR_LIT("a\"b\\c/d\b\f\n\r\t")));
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(t.escaped, 1);
    assert_true(osp_str_eq(t.s, OSP_STR_LIT("A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")));
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(t.s.n, 1);
    assert_int_equal(t.s.p[0], '\0');
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(t.escaped, 0);
    assert_true(osp_str_eq(t.s, OSP_STR_LIT("caf\xc3\xa9 \xf0\x9f\x98\x80")));
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(osp_json_next(&r, &t), 0);
    osp_buf_cleanup(&scratch);
    /* Escaped keys are unescaped too. */
    expect("{\"\\u0074raceId\":1}", "{ k:traceId n:1 }");
}

/* Reads one JSON string token from text (n bytes): 1 with the token, or the error code
 * with the reader's message in err. */
static int read_one_string(const char *text, size_t n, osp_buf *scratch, osp_json_token *t,
                           char *err, size_t errcap)
{
    osp_json_reader r;
    osp_buf_reset(scratch);
    osp_json_reader_init(&r, osp_str_make(text, n), scratch);
    int rc = osp_json_next(&r, t);
    snprintf(err, errcap, "%s", r.err);
    return rc;
}

/* Strings are scanned 8 bytes at a time: a quote, an escape, a control byte and UTF-8
 * (valid or not) are each found wherever they fall, in a word or in the tail. */
static void test_string_special_byte_at_every_offset(void **state)
{
    (void)state;
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    char text[64], want[64], err[160], at[32];
    osp_json_token t;
    for (size_t pos = 0; pos < 24; pos++) {
        for (size_t len = pos; len < pos + 10; len++) {
            /* "aaa...a" of len bytes: the quote ends it wherever it falls */
            memset(text + 1, 'a', len);
            text[0] = '"';
            text[len + 1] = '"';
            assert_int_equal(read_one_string(text, len + 2, &scratch, &t, err, sizeof err), 1);
            assert_int_equal(t.s.n, len);
            assert_int_equal(t.escaped, 0);
            /* an escape at pos */
            memset(text + 1, 'a', len + 2);
            text[1 + pos] = '\\';
            text[2 + pos] = 'n';
            text[len + 3] = '"';
            memset(want, 'a', len + 1);
            want[pos] = '\n';
            assert_int_equal(read_one_string(text, len + 4, &scratch, &t, err, sizeof err), 1);
            assert_int_equal(t.escaped, 1);
            assert_true(osp_str_eq(t.s, osp_str_make(want, len + 1)));
            /* a two-byte UTF-8 character at pos, then the same with its first byte alone */
            memset(text + 1, 'a', len + 2);
            text[1 + pos] = '\xc3';
            text[2 + pos] = '\xa9';
            text[len + 3] = '"';
            assert_int_equal(read_one_string(text, len + 4, &scratch, &t, err, sizeof err), 1);
            assert_int_equal(t.s.n, len + 2);
            text[2 + pos] = 'a';
            assert_int_equal(read_one_string(text, len + 4, &scratch, &t, err, sizeof err),
                             OSP_EPARSE);
            assert_string_equal(err, "invalid UTF-8 in string at offset 0");
            /* a control byte at pos */
            memset(text + 1, 'a', len + 1);
            text[1 + pos] = '\t';
            text[len + 2] = '"';
            assert_int_equal(read_one_string(text, len + 3, &scratch, &t, err, sizeof err),
                             OSP_EPARSE);
            snprintf(at, sizeof at, "at offset %zu", 1 + pos);
            assert_non_null(strstr(err, "control character in string"));
            assert_non_null(strstr(err, at));
            /* no closing quote */
            assert_int_equal(read_one_string(text, 1 + pos, &scratch, &t, err, sizeof err),
                             OSP_EPARSE);
            assert_non_null(strstr(err, "unterminated string"));
        }
    }
    osp_buf_cleanup(&scratch);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "ERR unexpected end of input at offset 0"},
        {"   ", "ERR unexpected end of input at offset 3"},
        {"[1,]", "ERR expected a value at offset 3"},
        {"{\"a\":1,}", "ERR expected a string key at offset 7"},
        {"{\"a\" 1}", "ERR expected ':' at offset 5"},
        {"{\"a\":1 \"b\":2}", "ERR expected ',' or '}' at offset 7"},
        {"[1 2]", "ERR expected ',' or ']' at offset 3"},
        {"{1:2}", "ERR expected a string key at offset 1"},
        {"[1", "ERR unexpected end of input at offset 2"},
        {"{\"a\":", "ERR unexpected end of input at offset 5"},
        {"01", "ERR leading zero in number at offset 0"},
        {"[-01]", "ERR leading zero in number at offset 1"},
        {"-", "ERR digit expected in number at offset 0"},
        {"[-x]", "ERR digit expected in number at offset 1"},
        {"1.", "ERR digit expected after '.' at offset 0"},
        {"1.e5", "ERR digit expected after '.' at offset 0"},
        {"1e", "ERR digit expected in exponent at offset 0"},
        {"1e+", "ERR digit expected in exponent at offset 0"},
        {"+1", "ERR expected a value at offset 0"},
        {".5", "ERR expected a value at offset 0"},
        {"NaN", "ERR expected a value at offset 0"},
        {"[Infinity]", "ERR expected a value at offset 1"},
        {"[-Infinity]", "ERR digit expected in number at offset 1"},
        {"tru", "ERR expected a value at offset 0"},
        {"nul", "ERR expected a value at offset 0"},
        {"[falsy]", "ERR expected a value at offset 1"},
        {"truex", "ERR unexpected data after the value at offset 4"},
        {"1 2", "ERR unexpected data after the value at offset 2"},
        {"{} {}", "ERR unexpected data after the value at offset 3"},
        {"// c\n1", "ERR expected a value at offset 0"},
        {"[1/*c*/]", "ERR expected ',' or ']' at offset 2"},
        {"'a'", "ERR expected a value at offset 0"},
        {"\"abc", "ERR unterminated string at offset 0"},
        {"[\"a\\", "ERR unterminated escape at offset 3"},
        {"\"a\\x\"", "ERR invalid escape '\\x' at offset 2"},
        {"\"\\u12\"", "ERR invalid \\u escape at offset 1"},
        {"\"\\u12G4\"", "ERR invalid \\u escape at offset 1"},
        {"\"\\ud800\"", "ERR unpaired surrogate \\uD800 at offset 1"},
        {"\"\\ud800\\u0041\"", "ERR unpaired surrogate \\uD800 at offset 1"},
        {"\"\\ud800\\ud800\"", "ERR unpaired surrogate \\uD800 at offset 1"},
        {"\"x\\udc00\"", "ERR unpaired surrogate \\uDC00 at offset 2"},
        {"\"a\tb\"", "ERR control character in string at offset 2"},
        {"\"\xc3\"", "ERR invalid UTF-8 in string at offset 0"},
        {"[\"\xed\xa0\x80\"]", "ERR invalid UTF-8 in string at offset 1"},
        {"\"\xc0\xaf\"", "ERR invalid UTF-8 in string at offset 0"},
        {"\"\xff\"", "ERR invalid UTF-8 in string at offset 0"},
        {"}", "ERR expected a value at offset 0"},
        {"[}", "ERR expected a value at offset 1"},
        {"{]", "ERR expected a string key at offset 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[512];
        int rc = render(cases[i].text, strlen(cases[i].text), got, sizeof got, 0);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu %s: got \"%s\", want \"%s\"", i, cases[i].text, got, cases[i].want);
        assert_int_equal(rc, OSP_EPARSE);
    }
    /* A NUL byte inside a string is a control character. */
    char got[512];
    assert_int_equal(render("\"a\0b\"", 5, got, sizeof got, 0), OSP_EPARSE);
    assert_string_equal(got, "ERR control character in string at offset 2");
}

static void test_depth_limit(void **state)
{
    (void)state;
    char text[2 * OSP_JSON_MAX_DEPTH + 8], got[2048];
    size_t n = 0;
    for (int i = 0; i < OSP_JSON_MAX_DEPTH; i++)
        text[n++] = '[';
    for (int i = 0; i < OSP_JSON_MAX_DEPTH; i++)
        text[n++] = ']';
    assert_int_equal(render(text, n, got, sizeof got, 0), 0);

    n = 0;
    for (int i = 0; i <= OSP_JSON_MAX_DEPTH; i++)
        text[n++] = '[';
    assert_int_equal(render(text, n, got, sizeof got, 0), OSP_EPARSE);
    char want[64];
    snprintf(want, sizeof want, "ERR nesting deeper than %d at offset %d", OSP_JSON_MAX_DEPTH,
             OSP_JSON_MAX_DEPTH);
    assert_string_equal(got, want);
}

static void test_scratch_cap(void **state)
{
    (void)state;
    char got[512];
    /* 8 bytes of unescaped text fit a cap of 8; 9 do not. */
    const char *fits = "\"abcdefg\\n\"", *big = "\"abcdefgh\\n\"";
    assert_int_equal(render(fits, strlen(fits), got, sizeof got, 8), 0);
    assert_int_equal(render(big, strlen(big), got, sizeof got, 8), OSP_ETOOBIG);
    assert_string_equal(got, "ERR string too long at offset 9");
    const char *big_prefix = "\"abcdefghi\\n\"";
    assert_int_equal(render(big_prefix, strlen(big_prefix), got, sizeof got, 8), OSP_ETOOBIG);
    assert_string_equal(got, "ERR string too long at offset 0");
    /* Strings without escapes never touch the scratch buffer. */
    const char *plain = "\"abcdefghijklmnop\"";
    assert_int_equal(render(plain, strlen(plain), got, sizeof got, 8), 0);
    /* The scratch buffer's allocation failing is reported as such. */
    osp_mem_fail_after(1);
    assert_int_equal(render(fits, strlen(fits), got, sizeof got, 0), OSP_ENOMEM);
    osp_mem_fail_after(0);
    assert_string_equal(got, "ERR out of memory at offset 0");
}

static void test_skip(void **state)
{
    (void)state;
    const char *text =
        "{\"skip\":{\"a\":[1,{\"b\":[]}],\"c\":\"\\n\"},\"x\":7,\"s\":3,\"keep\":true}";
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    osp_json_reader r;
    osp_json_reader_init(&r, osp_str_c(text), &scratch);
    osp_json_token t;
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(osp_json_next(&r, &t), 1); /* key skip */
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(t.type, OSP_JSON_OBJECT_BEGIN);
    assert_int_equal(osp_json_skip(&r, &t), 0);
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_true(t.type == OSP_JSON_KEY && osp_str_eqz(t.s, "x"));
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(osp_json_skip(&r, &t), 0); /* a scalar: nothing more to read */
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_true(t.type == OSP_JSON_KEY && osp_str_eqz(t.s, "s"));
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_true(t.type == OSP_JSON_KEY && osp_str_eqz(t.s, "keep"));
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(t.type, OSP_JSON_TRUE);
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(t.type, OSP_JSON_OBJECT_END);
    assert_int_equal(osp_json_next(&r, &t), 0);

    /* Skipping into malformed input reports the error. */
    osp_json_reader_init(&r, osp_str_c("[[1,2,]]"), &scratch);
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(osp_json_skip(&r, &t), OSP_EPARSE);
    assert_string_equal(r.err, "expected a value at offset 6");
    assert_int_equal(r.err_off, 6);
    osp_buf_cleanup(&scratch);
}

static void test_int64(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(osp_json_int64(OSP_STR_LIT("0"), &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(osp_json_int64(OSP_STR_LIT("-0"), &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(osp_json_int64(OSP_STR_LIT("9223372036854775807"), &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(osp_json_int64(OSP_STR_LIT("-9223372036854775808"), &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(osp_json_int64(OSP_STR_LIT("-42"), &v), 0);
    assert_true(v == -42);
    /* 2^53 + 1 is exact (a double would round it). */
    assert_int_equal(osp_json_int64(OSP_STR_LIT("9007199254740993"), &v), 0);
    assert_true(v == 9007199254740993LL);
    static const char *bad[] = {"9223372036854775808",
                                "-9223372036854775809",
                                "1.0",
                                "1e3",
                                "01",
                                "",
                                "-",
                                "+1",
                                " 1",
                                "1 ",
                                "0x10",
                                "12a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(osp_json_int64(osp_str_c(bad[i]), &v), OSP_EPARSE);
}

static void test_uint64(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(osp_json_uint64(OSP_STR_LIT("18446744073709551615"), &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(osp_json_uint64(OSP_STR_LIT("1700000000123456789"), &v), 0);
    assert_true(v == 1700000000123456789ULL);
    assert_int_equal(osp_json_uint64(OSP_STR_LIT("0"), &v), 0);
    assert_true(v == 0);
    static const char *bad[] = {
        "18446744073709551616", "99999999999999999999", "-1", "-0", "1.5", "1E2", "", "00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(osp_json_uint64(osp_str_c(bad[i]), &v), OSP_EPARSE);
}

static void test_double(void **state)
{
    (void)state;
    double d = 0;
    assert_int_equal(osp_json_double(OSP_STR_LIT("1.5"), &d), 0);
    assert_true(d == 1.5);
    assert_int_equal(osp_json_double(OSP_STR_LIT("-2.5E-3"), &d), 0);
    assert_true(d == -2.5e-3);
    assert_int_equal(osp_json_double(OSP_STR_LIT("42"), &d), 0);
    assert_true(d == 42.0);
    assert_int_equal(osp_json_double(OSP_STR_LIT("-0"), &d), 0);
    assert_true(d == 0 && signbit(d));
    assert_int_equal(osp_json_double(OSP_STR_LIT("0.1"), &d), 0);
    assert_true(d == 0.1);
    assert_int_equal(osp_json_double(OSP_STR_LIT("1e-400"), &d), 0); /* underflow: 0 */
    assert_true(d == 0);
    static const char *bad[] = {"1e400", "-1e400", "NaN", "Infinity", "inf", "0x1p3",
                                " 1",    "1 ",     "1.",  ".5",       "",    "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(osp_json_double(osp_str_c(bad[i]), &d), OSP_EPARSE);
    /* Long literals are fine up to the bound, rejected past it. */
    char lit[600];
    memset(lit, '0', sizeof lit);
    lit[1] = '.';
    lit[2] = '1';
    assert_int_equal(osp_json_double(osp_str_make(lit, 511), &d), 0);
    assert_true(d == 0.1);
    assert_int_equal(osp_json_double(osp_str_make(lit, 512), &d), OSP_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_token_kind),
        cmocka_unit_test(test_offsets_and_slices),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_string_special_byte_at_every_offset),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_scratch_cap),
        cmocka_unit_test(test_skip),
        cmocka_unit_test(test_int64),
        cmocka_unit_test(test_uint64),
        cmocka_unit_test(test_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
