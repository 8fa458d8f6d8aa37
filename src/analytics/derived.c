/* Bucket bounds of the derived histograms (analytics/derived.h): the OpenTelemetry
 * collector's and Tempo's defaults, and the GenAI semantic conventions' recommendations. */
#include "analytics/derived.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The spanmetrics connector's default explicit buckets. */
const double osp_derived_span_buckets[] = {0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2,
                                           0.4,   0.8,   1,     1.4,   2,    5,    10,  15};
const size_t osp_derived_span_nbuckets = COUNT(osp_derived_span_buckets);

/* Tempo's metrics-generator service-graph buckets. */
const double osp_derived_graph_buckets[] = {0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8};
const size_t osp_derived_graph_nbuckets = COUNT(osp_derived_graph_buckets);

/* gen_ai.client.operation.duration. */
const double osp_derived_genai_duration_buckets[] = {0.01, 0.02, 0.04, 0.08,  0.16,  0.32,  0.64,
                                                     1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
const size_t osp_derived_genai_duration_nbuckets = COUNT(osp_derived_genai_duration_buckets);

/* gen_ai.client.token.usage. */
const double osp_derived_genai_token_buckets[] = {
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
const size_t osp_derived_genai_token_nbuckets = COUNT(osp_derived_genai_token_buckets);

/* gen_ai.server.time_to_first_token. */
const double osp_derived_genai_ttft_buckets[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                                 0.25,  0.5,   0.75, 1,    2.5,  5,    7.5,  10};
const size_t osp_derived_genai_ttft_nbuckets = COUNT(osp_derived_genai_ttft_buckets);

/* gen_ai.server.time_per_output_token. */
const double osp_derived_genai_tpot_buckets[] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
                                                 0.3,  0.4,   0.5,  0.75,  1,   2.5};
const size_t osp_derived_genai_tpot_nbuckets = COUNT(osp_derived_genai_tpot_buckets);
