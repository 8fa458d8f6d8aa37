/* Unit tests for model/attr: canonical bytes, iteration, streaming writers, text forms,
 * equality and corrupt blobs. */
#include "testutil.h"

#include <math.h>

#include "core/err.h"
#include "model/attr.h"

#define BYTES(b, lit) assert_bytes((b), (const uint8_t *)(lit), sizeof(lit) - 1)

static void assert_bytes(const osp_buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->len, n);
    if (n)
        assert_memory_equal(b->data, want, n);
}

static osp_value vstr(const char *s)
{
    return (osp_value){.type = OSP_VAL_STRING, .s = osp_str_c(s)};
}

static osp_value vint(int64_t i)
{
    return (osp_value){.type = OSP_VAL_INT, .i = i};
}

static osp_value vdbl(double d)
{
    return (osp_value){.type = OSP_VAL_DOUBLE, .d = d};
}

static void text_is(const osp_value *v, const char *want)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_value_to_text(v, &b), 0);
    assert_int_equal(b.len, strlen(want));
    if (b.len)
        assert_memory_equal(b.data, want, b.len);
    osp_buf_cleanup(&b);
}

/* Defaults are written: oneof members have presence; the empty value has no member. */
static void test_canonical_bytes(void **state)
{
    (void)state;
    osp_buf b;
    osp_buf_init(&b, 0);
    osp_value v = vstr("");
    assert_int_equal(osp_attr_append(&b, OSP_STR_LIT("a"), &v), 0);
    BYTES(&b, "\x0a\x07\x0a\x01"
              "a\x12\x02\x0a\x00");
    osp_buf_reset(&b);
    v = (osp_value){.type = OSP_VAL_EMPTY};
    assert_int_equal(osp_attr_append(&b, OSP_STR_LIT(""), &v), 0);
    BYTES(&b, "\x0a\x04\x0a\x00\x12\x00");
    osp_buf_reset(&b);
    v = (osp_value){.type = OSP_VAL_BOOL, .i = 0};
    assert_int_equal(osp_value_put(&b, &v), 0);
    BYTES(&b, "\x10\x00");
    osp_buf_reset(&b);
    v = vint(0);
    assert_int_equal(osp_value_put(&b, &v), 0);
    BYTES(&b, "\x18\x00");
    osp_buf_reset(&b);
    v = vint(-1);
    assert_int_equal(osp_value_put(&b, &v), 0);
    BYTES(&b, "\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
    osp_buf_reset(&b);
    v = vdbl(0.0);
    assert_int_equal(osp_value_put(&b, &v), 0);
    BYTES(&b, "\x21\x00\x00\x00\x00\x00\x00\x00\x00");
    osp_buf_reset(&b);
    v = (osp_value){.type = OSP_VAL_BYTES, .s = OSP_STR_LIT("\x01\x02")};
    assert_int_equal(osp_value_put(&b, &v), 0);
    BYTES(&b, "\x3a\x02\x01\x02");
    osp_buf_reset(&b);
    v = (osp_value){.type = OSP_VAL_ARRAY};
    assert_int_equal(osp_value_put(&b, &v), 0);
    BYTES(&b, "\x2a\x00");
    osp_buf_cleanup(&b);
}

/* Builds [1, "x", [true], {}] and {"k": <that array>} both ways: same bytes. */
static void test_streaming_matches_append(void **state)
{
    (void)state;
    osp_buf inner, arr, kv, stream;
    osp_buf_init(&inner, 0);
    osp_buf_init(&arr, 0);
    osp_buf_init(&kv, 0);
    osp_buf_init(&stream, 0);
    osp_value t = {.type = OSP_VAL_BOOL, .i = 1}, one = vint(1), x = vstr("x");
    assert_int_equal(osp_array_append(&inner, &t), 0);
    osp_value inner_v = {.type = OSP_VAL_ARRAY, .s = osp_buf_str(&inner)};
    osp_value empty_kv = {.type = OSP_VAL_KVLIST};
    assert_int_equal(osp_array_append(&arr, &one), 0);
    assert_int_equal(osp_array_append(&arr, &x), 0);
    assert_int_equal(osp_array_append(&arr, &inner_v), 0);
    assert_int_equal(osp_array_append(&arr, &empty_kv), 0);
    osp_value arr_v = {.type = OSP_VAL_ARRAY, .s = osp_buf_str(&arr)};
    assert_int_equal(osp_attr_append(&kv, OSP_STR_LIT("k"), &arr_v), 0);

    osp_attr_mark m;
    size_t a, e, in, ie, kvm;
    assert_int_equal(osp_attr_begin(&stream, OSP_STR_LIT("k"), &m), 0);
    assert_int_equal(osp_value_begin_nested(&stream, OSP_VAL_ARRAY, &a), 0);
    assert_int_equal(osp_array_append(&stream, &one), 0);
    assert_int_equal(osp_array_append(&stream, &x), 0);
    assert_int_equal(osp_array_begin_elem(&stream, &e), 0);
    assert_int_equal(osp_value_begin_nested(&stream, OSP_VAL_ARRAY, &in), 0);
    assert_int_equal(osp_array_begin_elem(&stream, &ie), 0);
    assert_int_equal(osp_value_put(&stream, &t), 0);
    assert_int_equal(osp_array_end_elem(&stream, ie), 0);
    assert_int_equal(osp_value_end_nested(&stream, in), 0);
    assert_int_equal(osp_array_end_elem(&stream, e), 0);
    assert_int_equal(osp_array_begin_elem(&stream, &e), 0);
    assert_int_equal(osp_value_begin_nested(&stream, OSP_VAL_KVLIST, &kvm), 0);
    assert_int_equal(osp_value_end_nested(&stream, kvm), 0);
    assert_int_equal(osp_array_end_elem(&stream, e), 0);
    assert_int_equal(osp_value_end_nested(&stream, a), 0);
    assert_int_equal(osp_attr_end(&stream, &m), 0);
    assert_int_equal(stream.len, kv.len);
    assert_memory_equal(stream.data, kv.data, kv.len);

    osp_value got;
    assert_int_equal(osp_attr_find(osp_buf_str(&kv), OSP_STR_LIT("k"), &got), 1);
    text_is(&got, "[1,\"x\",[true],{}]");
    osp_buf_cleanup(&inner);
    osp_buf_cleanup(&arr);
    osp_buf_cleanup(&kv);
    osp_buf_cleanup(&stream);
}

static void test_iterate_find_count(void **state)
{
    (void)state;
    osp_buf b;
    osp_buf_init(&b, 0);
    osp_value vals[] = {vstr("svc"),
                        vint(-42),
                        vdbl(2.5),
                        {.type = OSP_VAL_BOOL, .i = 1},
                        {.type = OSP_VAL_BYTES, .s = OSP_STR_LIT("\xff\x00")},
                        {.type = OSP_VAL_EMPTY}};
    const char *keys[] = {"service.name", "i", "d", "b", "raw", "nothing"};
    for (int i = 0; i < 6; i++)
        assert_int_equal(osp_attr_append(&b, osp_str_c(keys[i]), &vals[i]), 0);
    osp_value dup = vstr("second");
    assert_int_equal(osp_attr_append(&b, OSP_STR_LIT("i"), &dup), 0);

    osp_attr_iter it;
    osp_str k;
    osp_value v;
    osp_attr_iter_init(&it, osp_buf_str(&b));
    for (int i = 0; i < 6; i++) {
        assert_int_equal(osp_attr_next(&it, &k, &v), 1);
        assert_true(osp_str_eqz(k, keys[i]));
        assert_true(osp_value_eq(&v, &vals[i]));
    }
    assert_int_equal(osp_attr_next(&it, &k, &v), 1);
    assert_int_equal(osp_attr_next(&it, &k, &v), 0);
    assert_int_equal(osp_attr_count(osp_buf_str(&b)), 7);
    assert_int_equal(osp_attr_count(OSP_STR_NULL), 0);

    assert_int_equal(osp_attr_find(osp_buf_str(&b), OSP_STR_LIT("i"), &v), 1); /* first wins */
    assert_int_equal(v.type, OSP_VAL_INT);
    assert_int_equal(v.i, -42);
    assert_int_equal(osp_attr_find(osp_buf_str(&b), OSP_STR_LIT("nope"), &v), 0);
    assert_int_equal(osp_attr_find(osp_buf_str(&b), OSP_STR_LIT("d"), &v), 1);
    assert_true(v.d == 2.5);
    osp_buf_cleanup(&b);
}

static void test_value_text(void **state)
{
    (void)state;
    osp_value v = vstr("héllo \"q\"");
    text_is(&v, "héllo \"q\"");
    v = vint(INT64_MIN);
    text_is(&v, "-9223372036854775808");
    v = (osp_value){.type = OSP_VAL_BOOL, .i = 0};
    text_is(&v, "false");
    v = (osp_value){.type = OSP_VAL_EMPTY};
    text_is(&v, "");
    v = (osp_value){.type = OSP_VAL_BYTES, .s = OSP_STR_LIT("foob")};
    text_is(&v, "Zm9vYg==");

    static const struct {
        double d;
        const char *text;
    } dbl[] = {{0.1, "0.1"},
               {2.5, "2.5"},
               {1e21, "1e+21"},
               {-0.0, "-0"},
               {100, "100"},
               {1.0 / 3, "0.3333333333333333"},
               {0.1 + 0.2, "0.30000000000000004"},
               {5e-324, "4.94065645841247e-324"},
               {1.7976931348623157e308, "1.7976931348623157e+308"}};
    for (size_t i = 0; i < sizeof dbl / sizeof dbl[0]; i++) {
        v = vdbl(dbl[i].d);
        text_is(&v, dbl[i].text);
    }
    v = vdbl(NAN);
    text_is(&v, "NaN");
    v = vdbl(-INFINITY);
    text_is(&v, "-Infinity");
}

static void test_compound_text(void **state)
{
    (void)state;
    osp_buf arr, kv;
    osp_buf_init(&arr, 0);
    osp_buf_init(&kv, 0);
    osp_value elems[] = {vint(1),
                         vstr("a\"b"),
                         {.type = OSP_VAL_BOOL, .i = 1},
                         {.type = OSP_VAL_EMPTY},
                         vdbl(2.5),
                         vdbl(INFINITY),
                         {.type = OSP_VAL_BYTES, .s = OSP_STR_LIT("\x01\x02")}};
    for (size_t i = 0; i < sizeof elems / sizeof elems[0]; i++)
        assert_int_equal(osp_array_append(&arr, &elems[i]), 0);
    osp_value a = {.type = OSP_VAL_ARRAY, .s = osp_buf_str(&arr)};
    text_is(&a, "[1,\"a\\\"b\",true,null,2.5,\"Infinity\",\"AQI=\"]");
    osp_value s = vstr("v");
    assert_int_equal(osp_attr_append(&kv, OSP_STR_LIT("k"), &s), 0);
    assert_int_equal(osp_attr_append(&kv, OSP_STR_LIT("list"), &a), 0);
    osp_value k = {.type = OSP_VAL_KVLIST, .s = osp_buf_str(&kv)};
    text_is(&k, "{\"k\":\"v\",\"list\":[1,\"a\\\"b\",true,null,2.5,\"Infinity\",\"AQI=\"]}");
    osp_value empty = {.type = OSP_VAL_ARRAY};
    text_is(&empty, "[]");
    osp_buf_cleanup(&arr);
    osp_buf_cleanup(&kv);
}

static void test_value_eq(void **state)
{
    (void)state;
    osp_value a = vint(1), b = vint(1), c = vdbl(1.0);
    assert_true(osp_value_eq(&a, &b));
    assert_false(osp_value_eq(&a, &c)); /* different types */
    osp_value n1 = vdbl(NAN), n2 = vdbl(NAN), z = vdbl(0.0), nz = vdbl(-0.0);
    assert_true(osp_value_eq(&n1, &n2));
    assert_false(osp_value_eq(&z, &nz));
    osp_value s1 = vstr("x"), s2 = vstr("y"), by = {.type = OSP_VAL_BYTES, .s = OSP_STR_LIT("x")};
    assert_false(osp_value_eq(&s1, &s2));
    assert_false(osp_value_eq(&s1, &by));
    osp_value e1 = {.type = OSP_VAL_EMPTY}, e2 = {.type = OSP_VAL_EMPTY};
    assert_true(osp_value_eq(&e1, &e2));
}

static void corrupt_value(const char *p, size_t n)
{
    osp_value v;
    assert_int_equal(osp_value_decode(osp_str_make(p, n), &v), OSP_ECORRUPT);
}

static void test_corrupt(void **state)
{
    (void)state;
    osp_value v;
    osp_str k;
    assert_int_equal(osp_value_decode(OSP_STR_LIT("\x18\x01"), &v), 0);
    corrupt_value("\x0a\x05"
                  "ab",
                  4);                                         /* length past the end */
    corrupt_value("\x18\x01\x18\x02", 4);                     /* two members */
    corrupt_value("\x10\x05\x00", 3);                         /* trailing garbage */
    corrupt_value("\x09\x00\x00\x00\x00\x00\x00\x00\x00", 9); /* string as I64 */
    corrupt_value("\x48\x01", 2);                             /* unknown member */
    corrupt_value("\x0b", 1);                                 /* group wire type */

    osp_attr_iter it;
    osp_attr_iter_init(&it, OSP_STR_LIT("\x0a\x09\x0a\x01"
                                        "a"));
    assert_int_equal(osp_attr_next(&it, &k, &v), OSP_ECORRUPT);
    osp_attr_iter_init(&it, OSP_STR_LIT("\x12\x00")); /* record is not field 1 */
    assert_int_equal(osp_attr_next(&it, &k, &v), OSP_ECORRUPT);
    osp_attr_iter_init(&it, OSP_STR_LIT("\x0a\x02\x18\x01")); /* unknown KeyValue field */
    assert_int_equal(osp_attr_next(&it, &k, &v), OSP_ECORRUPT);
    osp_attr_iter_init(&it, OSP_STR_LIT("\x0a\x04\x0a\x00\x12\x02")); /* bad nested length */
    assert_int_equal(osp_attr_next(&it, &k, &v), OSP_ECORRUPT);
    osp_str trailing = OSP_STR_LIT("\x0a\x04\x0a\x00\x12\x00\x0a");
    assert_int_equal(osp_attr_count(trailing), 0);
    assert_int_equal(osp_attr_find(trailing, OSP_STR_LIT("x"), &v), OSP_ECORRUPT);

    osp_array_iter ai;
    osp_array_iter_init(&ai, OSP_STR_LIT("\x12\x00"));
    assert_int_equal(osp_array_next(&ai, &v), OSP_ECORRUPT);

    osp_buf out;
    osp_buf_init(&out, 0);
    osp_value arr = {.type = OSP_VAL_ARRAY, .s = OSP_STR_LIT("\x0a\x02\x18")};
    assert_int_equal(osp_value_to_text(&arr, &out), OSP_ECORRUPT);
    osp_value kvl = {.type = OSP_VAL_KVLIST, .s = OSP_STR_LIT("\x0a")};
    assert_int_equal(osp_value_to_text(&kvl, &out), OSP_ECORRUPT);
    osp_buf_cleanup(&out);
}

/* [[[...]]] `levels` deep as an ARRAY value whose body lives in *body. */
static osp_value nested_arrays(osp_buf *body, int levels)
{
    osp_buf next;
    for (int i = 1; i < levels; i++) {
        osp_value inner = {.type = OSP_VAL_ARRAY, .s = osp_buf_str(body)};
        osp_buf_init(&next, 0);
        assert_int_equal(osp_array_append(&next, &inner), 0);
        osp_buf_cleanup(body);
        *body = next;
    }
    return (osp_value){.type = OSP_VAL_ARRAY, .s = osp_buf_str(body)};
}

/* Nesting past the text renderer's limit is reported, not followed into a stack overflow. */
static void test_text_depth_limit(void **state)
{
    (void)state;
    osp_buf body, out;
    osp_buf_init(&body, 0);
    osp_buf_init(&out, 0);
    osp_value v = nested_arrays(&body, 5);
    assert_int_equal(osp_value_to_text(&v, &out), 0);
    assert_int_equal(out.len, 10);
    assert_memory_equal(out.data, "[[[[[]]]]]", 10);
    osp_buf_cleanup(&body);
    osp_buf_init(&body, 0);
    v = nested_arrays(&body, 150);
    assert_int_equal(osp_value_to_text(&v, &out), OSP_ECORRUPT);
    osp_buf_cleanup(&body);
    osp_buf_cleanup(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_bytes),
        cmocka_unit_test(test_streaming_matches_append),
        cmocka_unit_test(test_iterate_find_count),
        cmocka_unit_test(test_value_text),
        cmocka_unit_test(test_compound_text),
        cmocka_unit_test(test_value_eq),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_text_depth_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
