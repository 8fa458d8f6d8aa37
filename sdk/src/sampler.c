/* The head sampling decision, by the OpenTelemetry SDK's built-in samplers. */
#include "trace_int.h"

/* TraceIdRatioBased, as the current OTel spec defines it (consistent probability
 * sampling): R is the 56 least-significant bits of the trace id (its last 7 bytes, big
 * endian, random by W3C level 2), the rejection threshold is T = (1 - ratio) * 2^56, and
 * the span is sampled iff R >= T. So ratio 0 never samples (T = 2^56 > every R), ratio 1
 * always does (T = 0), and every SDK with the same ratio agrees on the same trace. */
static bool ratio_sample(double ratio, const uint8_t trace_id[16])
{
    if (!(ratio > 0))
        return false;
    if (ratio >= 1)
        return true;
    uint64_t r = 0;
    for (int i = 9; i < 16; i++)
        r = (r << 8) | trace_id[i];
    uint64_t t = (uint64_t)((1.0 - ratio) * 72057594037927936.0); /* 2^56 */
    return r >= t;
}

bool osprey__sampler_should_sample(osprey_sampler_kind kind, double ratio,
                                   const osprey_span_context *parent, const uint8_t trace_id[16])
{
    bool has_parent = parent && osprey_span_context_valid(parent);
    switch (kind) {
    case OSPREY_SAMPLER_ALWAYS_ON:
        return true;
    case OSPREY_SAMPLER_ALWAYS_OFF:
        return false;
    case OSPREY_SAMPLER_TRACEIDRATIO:
        return ratio_sample(ratio, trace_id);
    default:
        break;
    }
    /* ParentBased: a parent, remote or local, decides by its sampled flag (the spec's
     * default delegates: sampled -> AlwaysOn, not sampled -> AlwaysOff); none: the root. */
    if (has_parent)
        return parent->trace_flags & 1;
    if (kind == OSPREY_SAMPLER_PARENTBASED_ALWAYS_OFF)
        return false;
    if (kind == OSPREY_SAMPLER_PARENTBASED_TRACEIDRATIO)
        return ratio_sample(ratio, trace_id);
    return true;
}
