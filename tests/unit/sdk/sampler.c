/* Unit tests for sdk/src/sampler.c: every sampler kind and the parent-based rules. */
#include "testutil.h"

#include "osprey/osprey.h"
#include "trace_int.h"

#define TWO_56 72057594037927936.0

/* A trace id whose 56 low bits (last 7 bytes, big endian) are r; the high bytes are noise
 * that must not matter. */
static void trace_id_with_r(uint8_t id[16], uint64_t r)
{
    for (int i = 0; i < 9; i++)
        id[i] = (uint8_t)(0xa5 + i);
    for (int i = 15; i >= 9; i--, r >>= 8)
        id[i] = (uint8_t)r;
}

static osprey_span_context parent_ctx(bool sampled, bool remote)
{
    osprey_span_context c = {.trace_flags = sampled ? 1 : 0, .is_remote = remote};
    memset(c.trace_id, 0x11, 16);
    memset(c.span_id, 0x22, 8);
    return c;
}

static bool decide(osprey_sampler_kind k, double ratio, const osprey_span_context *parent,
                   uint64_t r)
{
    uint8_t id[16];
    trace_id_with_r(id, r);
    return osprey__sampler_should_sample(k, ratio, parent, id);
}

static void test_always(void **state)
{
    osprey_span_context unsampled = parent_ctx(false, true);
    for (uint64_t r = 0; r < (1ull << 56); r += 1ull << 52) {
        assert_true(decide(OSPREY_SAMPLER_ALWAYS_ON, 0, NULL, r));
        assert_true(decide(OSPREY_SAMPLER_ALWAYS_ON, 0, &unsampled, r));
        assert_false(decide(OSPREY_SAMPLER_ALWAYS_OFF, 1, NULL, r));
    }
}

static void test_ratio_bounds(void **state)
{
    uint64_t max = (1ull << 56) - 1;
    assert_false(decide(OSPREY_SAMPLER_TRACEIDRATIO, 0, NULL, max));
    assert_false(decide(OSPREY_SAMPLER_TRACEIDRATIO, -1, NULL, max));
    assert_true(decide(OSPREY_SAMPLER_TRACEIDRATIO, 1, NULL, 0));
    assert_true(decide(OSPREY_SAMPLER_TRACEIDRATIO, 2, NULL, 0));
}

static void test_ratio_threshold(void **state)
{
    double ratios[] = {0.5, 0.25, 0.001, 0.999};
    for (size_t i = 0; i < sizeof ratios / sizeof ratios[0]; i++) {
        uint64_t t = (uint64_t)((1.0 - ratios[i]) * TWO_56);
        assert_true(decide(OSPREY_SAMPLER_TRACEIDRATIO, ratios[i], NULL, t));
        assert_true(decide(OSPREY_SAMPLER_TRACEIDRATIO, ratios[i], NULL, t + 1));
        assert_false(decide(OSPREY_SAMPLER_TRACEIDRATIO, ratios[i], NULL, t - 1));
        assert_false(decide(OSPREY_SAMPLER_TRACEIDRATIO, ratios[i], NULL, 0));
    }
    /* The ratio sampler ignores the parent. */
    osprey_span_context sampled = parent_ctx(true, false);
    assert_false(decide(OSPREY_SAMPLER_TRACEIDRATIO, 0.5, &sampled, 1));
}

static void test_parent_based(void **state)
{
    osprey_sampler_kind kinds[] = {OSPREY_SAMPLER_PARENTBASED_ALWAYS_ON,
                                   OSPREY_SAMPLER_PARENTBASED_ALWAYS_OFF,
                                   OSPREY_SAMPLER_PARENTBASED_TRACEIDRATIO, OSPREY_SAMPLER_DEFAULT};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        osprey_span_context remote_s = parent_ctx(true, true);
        osprey_span_context remote_u = parent_ctx(false, true);
        osprey_span_context local_s = parent_ctx(true, false);
        osprey_span_context local_u = parent_ctx(false, false);
        /* r = 0 would be dropped by any ratio < 1; the parent must win. */
        assert_true(decide(kinds[i], 0.5, &remote_s, 0));
        assert_false(decide(kinds[i], 0.5, &remote_u, (1ull << 56) - 1));
        assert_true(decide(kinds[i], 0.5, &local_s, 0));
        assert_false(decide(kinds[i], 0.5, &local_u, (1ull << 56) - 1));
    }
}

static void test_parent_based_roots(void **state)
{
    osprey_span_context invalid = {0};
    uint64_t high = (1ull << 56) - 1;
    assert_true(decide(OSPREY_SAMPLER_PARENTBASED_ALWAYS_ON, 0, NULL, 0));
    assert_true(decide(OSPREY_SAMPLER_DEFAULT, 0, &invalid, 0));
    assert_false(decide(OSPREY_SAMPLER_PARENTBASED_ALWAYS_OFF, 1, NULL, high));
    assert_false(decide(OSPREY_SAMPLER_PARENTBASED_ALWAYS_OFF, 1, &invalid, high));
    assert_true(decide(OSPREY_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.5, NULL, high));
    assert_false(decide(OSPREY_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.5, &invalid, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_always),
        cmocka_unit_test(test_ratio_bounds),
        cmocka_unit_test(test_ratio_threshold),
        cmocka_unit_test(test_parent_based),
        cmocka_unit_test(test_parent_based_roots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
