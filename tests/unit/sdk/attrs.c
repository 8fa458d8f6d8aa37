/* Unit tests for sdk/src/attrs.c: owned attribute sets, protobuf and JSON output, pool. */
#include "testutil.h"

#include <math.h>

#include "core/mem.h"
#include "core/pb.h"
#include "osprey/osprey.h"
#include "trace_int.h"

/* One decoded KeyValue: its key and its AnyValue's single field. */
typedef struct kv_dec {
    osp_str key;
    osp_pb_field value;
} kv_dec;

/* Decodes an AnyValue that must hold exactly one field. */
static osp_pb_field decode_any(osp_str bytes)
{
    osp_pb_reader r = osp_pb_reader_make(bytes.p, bytes.n);
    osp_pb_field f, one = {0};
    int count = 0;
    while (osp_pb_next(&r, &f) == 1) {
        one = f;
        count++;
    }
    assert_int_equal(count, 1);
    assert_ptr_equal(r.p, r.end);
    return one;
}

/* Decodes every field-num KeyValue of buf into out (at most max); returns the count. */
static size_t decode_kvs(const osp_buf *buf, uint32_t num, kv_dec *out, size_t max)
{
    osp_pb_reader r = osp_pb_reader_make(buf->data, buf->len);
    osp_pb_field f;
    size_t n = 0;
    while (osp_pb_next(&r, &f) == 1) {
        assert_int_equal(f.num, num);
        assert_int_equal(f.wire, OSP_PB_LEN);
        assert_true(n < max);
        osp_pb_reader kr = osp_pb_reader_make(f.bytes.p, f.bytes.n);
        osp_pb_field kf;
        int seen = 0;
        while (osp_pb_next(&kr, &kf) == 1) {
            assert_int_equal(kf.wire, OSP_PB_LEN);
            if (kf.num == 1)
                out[n].key = kf.bytes;
            else if (kf.num == 2)
                out[n].value = decode_any(kf.bytes);
            else
                fail_msg("unexpected KeyValue field %u", kf.num);
            seen |= 1 << kf.num;
        }
        assert_int_equal(seen, 6);
        n++;
    }
    assert_ptr_equal(r.p, r.end);
    return n;
}

/* The AnyValues inside an ArrayValue field. */
static size_t decode_array(osp_pb_field f, osp_pb_field *out, size_t max)
{
    assert_int_equal(f.num, 5);
    osp_pb_reader r = osp_pb_reader_make(f.bytes.p, f.bytes.n);
    osp_pb_field e;
    size_t n = 0;
    while (osp_pb_next(&r, &e) == 1) {
        assert_int_equal(e.num, 1);
        assert_true(n < max);
        out[n++] = decode_any(e.bytes);
    }
    return n;
}

static void test_set_replace_find(void **state)
{
    osprey__attrs a = {0};
    osprey_attr in[] = {OSPREY_INT("a", 1), OSPREY_STR("b", "x"), OSPREY_STR("c", NULL)};
    assert_int_equal(osprey__attrs_set(&a, in, 3, 0), 0);
    osprey_attr again[] = {OSPREY_DOUBLE("a", 2.5), OSPREY_BOOL("d", true)};
    assert_int_equal(osprey__attrs_set(&a, again, 2, 0), 0);
    assert_int_equal(a.n, 4);
    assert_int_equal(a.dropped, 0);
    const osprey__kv *kv = osprey__attrs_find(&a, "a");
    assert_non_null(kv);
    assert_int_equal(kv->type, OSPREY_VALUE_DOUBLE);
    assert_true(kv->v.d == 2.5);
    assert_string_equal(osprey__attrs_find(&a, "b")->v.s, "x");
    assert_string_equal(osprey__attrs_find(&a, "c")->v.s, "");
    assert_true(osprey__attrs_find(&a, "d")->v.b);
    assert_null(osprey__attrs_find(&a, "zz"));
    assert_null(osprey__attrs_find(&a, NULL));
    osprey__attrs_cleanup(&a);
    assert_int_equal(a.n, 0);
    assert_null(a.items);
}

static void test_limit_and_dropped(void **state)
{
    osprey__attrs a = {0};
    osprey_attr in[] = {OSPREY_INT("k1", 1), OSPREY_INT("k2", 2), OSPREY_INT("k3", 3),
                        OSPREY_INT("k4", 4), OSPREY_INT("k5", 5)};
    assert_int_equal(osprey__attrs_set(&a, in, 5, 3), 0);
    assert_int_equal(a.n, 3);
    assert_int_equal(a.dropped, 2);
    assert_null(osprey__attrs_find(&a, "k4"));
    /* Replacing a key already there is fine at the limit. */
    osprey_attr repl = OSPREY_INT("k2", 22);
    assert_int_equal(osprey__attrs_set(&a, &repl, 1, 3), 0);
    assert_int_equal(osprey__attrs_find(&a, "k2")->v.i, 22);
    assert_int_equal(a.dropped, 2);
    /* A NULL key and an unknown type are dropped and counted. */
    osprey_attr bad[] = {OSPREY_INT(NULL, 1), {.key = "k1", .type = (osprey_value_type)99}};
    assert_int_equal(osprey__attrs_set(&a, bad, 2, 3), 0);
    assert_int_equal(a.dropped, 4);
    assert_int_equal(osprey__attrs_find(&a, "k1")->v.i, 1);
    osprey__attrs_cleanup(&a);
}

static void test_arrays_are_copied(void **state)
{
    const char *strs[] = {"x", "yy", NULL};
    int64_t ints[] = {-1, 2};
    osprey__attrs a = {0};
    osprey_attr in[] = {OSPREY_ARRAY("s", OSPREY_VALUE_STRING_ARRAY, strs, 3),
                        OSPREY_ARRAY("i", OSPREY_VALUE_INT_ARRAY, ints, 2),
                        OSPREY_ARRAY("e", OSPREY_VALUE_DOUBLE_ARRAY, NULL, 0)};
    assert_int_equal(osprey__attrs_set(&a, in, 3, 0), 0);
    strs[0] = "changed";
    ints[0] = 99;
    const osprey__kv *s = osprey__attrs_find(&a, "s");
    assert_int_equal(s->v.array.n, 3);
    assert_string_equal(((char **)s->v.array.items)[0], "x");
    assert_string_equal(((char **)s->v.array.items)[1], "yy");
    assert_string_equal(((char **)s->v.array.items)[2], "");
    assert_int_equal(((int64_t *)osprey__attrs_find(&a, "i")->v.array.items)[0], -1);
    assert_int_equal(osprey__attrs_find(&a, "e")->v.array.n, 0);
    osprey__attrs_cleanup(&a);
}

static void test_put_pb_decodes(void **state)
{
    const char *strs[] = {"p", "q"};
    bool bools[] = {true, false};
    int64_t ints[] = {-7, 1LL << 40};
    double dbls[] = {0.25, -3.0};
    osprey_attr in[] = {
        OSPREY_STR("s", "hello"),
        OSPREY_BOOL("b", false),
        OSPREY_INT("i", -42),
        OSPREY_DOUBLE("d", 1.5),
        OSPREY_ARRAY("sa", OSPREY_VALUE_STRING_ARRAY, strs, 2),
        OSPREY_ARRAY("ba", OSPREY_VALUE_BOOL_ARRAY, bools, 2),
        OSPREY_ARRAY("ia", OSPREY_VALUE_INT_ARRAY, ints, 2),
        OSPREY_ARRAY("da", OSPREY_VALUE_DOUBLE_ARRAY, dbls, 2),
    };
    osprey__attrs a = {0};
    assert_int_equal(osprey__attrs_set(&a, in, 8, 0), 0);
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osprey__attrs_put_pb(&b, 9, &a), 0);
    kv_dec kv[8];
    assert_int_equal(decode_kvs(&b, 9, kv, 8), 8);
    for (int i = 0; i < 8; i++)
        assert_true(osp_str_eqz(kv[i].key, in[i].key));
    assert_int_equal(kv[0].value.num, 1);
    assert_true(osp_str_eqz(kv[0].value.bytes, "hello"));
    assert_int_equal(kv[1].value.num, 2);
    assert_int_equal(kv[1].value.u64, 0);
    assert_int_equal(kv[2].value.num, 3);
    assert_int_equal((int64_t)kv[2].value.u64, -42);
    assert_int_equal(kv[3].value.num, 4);
    assert_int_equal(kv[3].value.wire, OSP_PB_I64);
    assert_true(osp_pb_as_double(kv[3].value.u64) == 1.5);
    osp_pb_field el[2];
    assert_int_equal(decode_array(kv[4].value, el, 2), 2);
    assert_true(el[0].num == 1 && osp_str_eqz(el[0].bytes, "p"));
    assert_true(el[1].num == 1 && osp_str_eqz(el[1].bytes, "q"));
    assert_int_equal(decode_array(kv[5].value, el, 2), 2);
    assert_true(el[0].num == 2 && el[0].u64 == 1 && el[1].num == 2 && el[1].u64 == 0);
    assert_int_equal(decode_array(kv[6].value, el, 2), 2);
    assert_true(el[0].num == 3 && (int64_t)el[0].u64 == -7);
    assert_true(el[1].num == 3 && (int64_t)el[1].u64 == 1LL << 40);
    assert_int_equal(decode_array(kv[7].value, el, 2), 2);
    assert_true(el[0].num == 4 && osp_pb_as_double(el[0].u64) == 0.25);
    assert_true(el[1].num == 4 && osp_pb_as_double(el[1].u64) == -3.0);
    osp_buf_cleanup(&b);
    osprey__attrs_cleanup(&a);
}

static void test_put_json(void **state)
{
    const char *strs[] = {"x", "y\n"};
    bool bools[] = {true};
    double dbls[] = {NAN, -INFINITY};
    osprey_attr in[] = {
        OSPREY_STR("s", "a\"b"),
        OSPREY_BOOL("b", true),
        OSPREY_INT("i", -5),
        OSPREY_DOUBLE("d", 0.1),
        OSPREY_DOUBLE("inf", INFINITY),
        OSPREY_ARRAY("sa", OSPREY_VALUE_STRING_ARRAY, strs, 2),
        OSPREY_ARRAY("ba", OSPREY_VALUE_BOOL_ARRAY, bools, 1),
        OSPREY_ARRAY("da", OSPREY_VALUE_DOUBLE_ARRAY, dbls, 2),
    };
    osprey__attrs a = {0};
    assert_int_equal(osprey__attrs_set(&a, in, 8, 0), 0);
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osprey__attrs_put_json(&b, &a), 0);
    assert_int_equal(osp_buf_putc(&b, '\0'), 0);
    assert_string_equal(b.data, "\"s\":\"a\\\"b\",\"b\":true,\"i\":-5,\"d\":0.1,"
                                "\"inf\":\"Infinity\",\"sa\":[\"x\",\"y\\n\"],\"ba\":[true],"
                                "\"da\":[\"NaN\",\"-Infinity\"]");
    osp_buf_cleanup(&b);
    osprey__attrs_cleanup(&a);
}

static void test_out_of_memory_counts(void **state)
{
    size_t before = osp_mem_in_use();
    osprey__attrs a = {0};
    osprey_attr one = OSPREY_STR("k", "v");
    assert_int_equal(osprey__attrs_set(&a, &one, 1, 0), 0);
    osprey_attr more[] = {OSPREY_STR("x", "1"), OSPREY_STR("y", "2")};
    osp_mem_fail_after(1);
    assert_int_equal(osprey__attrs_set(&a, more, 2, 0), OSPREY_ENOMEM);
    osp_mem_fail_after(0);
    assert_int_equal(a.dropped, 2);
    assert_string_equal(osprey__attrs_find(&a, "k")->v.s, "v");
    osprey__attrs_cleanup(&a);
    assert_int_equal(osp_mem_in_use(), before);
}

static void test_pool(void **state)
{
    size_t before = osp_mem_in_use();
    _Alignas(16) char region[96];
    osprey__pool pool = {region, 0, sizeof region};
    char *p1 = osprey__pool_alloc(&pool, 5);
    assert_ptr_equal(p1, region);
    assert_int_equal(pool.used, 8);
    char *big = osprey__pool_alloc(&pool, 200); /* does not fit: from the heap */
    assert_non_null(big);
    assert_true(big < region || big >= region + sizeof region);
    assert_true(osp_mem_in_use() > before);
    osprey__pool_free(&pool, p1);
    osprey__pool_free(&pool, big);
    assert_int_equal(osp_mem_in_use(), before);
    /* Attributes spill from the pool to the heap and clean up from both. */
    osprey__attrs a = {0};
    osprey_attr in[] = {OSPREY_STR("key-one", "value-one"), OSPREY_STR("key-two", "value-two"),
                        OSPREY_STR("key-three", "a longer value that will not fit")};
    assert_int_equal(osprey__attrs_set_pool(&a, in, 3, 0, &pool), 0);
    assert_int_equal(a.n, 3);
    assert_string_equal(osprey__attrs_find(&a, "key-three")->v.s,
                        "a longer value that will not fit");
    osprey__attrs_cleanup_pool(&a, &pool);
    assert_int_equal(osp_mem_in_use(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_replace_find),
        cmocka_unit_test(test_limit_and_dropped),
        cmocka_unit_test(test_arrays_are_copied),
        cmocka_unit_test(test_put_pb_decodes),
        cmocka_unit_test(test_put_json),
        cmocka_unit_test(test_out_of_memory_counts),
        cmocka_unit_test(test_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
