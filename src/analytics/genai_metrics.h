/* GenAI metrics derived from AI spans: call duration, token usage, time to first token,
 * time per output token, token and cost counters and errors (the OSP_DERIVED_GENAI_*
 * families of analytics/derived.h), without double counting what applications send. */
#ifndef OSP_ANALYTICS_GENAI_METRICS_H
#define OSP_ANALYTICS_GENAI_METRICS_H

#include "analytics/derived.h"

/* The GenAI deriver. LLM and embedding calls feed every family; tool and agent spans feed
 * the duration and error families. Labels: service_name, gen_ai_operation_name,
 * gen_ai_provider_name, gen_ai_request_model, gen_ai_response_model, plus error_type (on
 * durations of failed calls and on errors) or gen_ai_token_type (token and cost families).
 *
 * No double counting: when the store holds, over the last hour, a series of an
 * application-sent GenAI metric (OTLP-translated, job = the service) of the duration,
 * token-usage, TTFT or TPOT kind for a service, that service gets no derived series of
 * that kind (checked per service at most once a minute). Token and cost counters are
 * always derived. Calls whose model has no price in env->prices get no cost series and
 * are counted in osprey_genai_unpriced_calls_total. */
extern const osp_deriver osp_genai_deriver;

#endif
