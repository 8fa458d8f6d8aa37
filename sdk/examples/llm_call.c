/* Example: a streamed LLM call recorded with the GenAI helpers, then an agent run reported
 * through the callbacks and turned into spans by the tracing handler. Set
 * OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true to record message content. */
#include <stdio.h>

#include <osprey/osprey.h>

/* Stands in for a model server streaming three chunks. */
static void stream_completion(osprey_llm_call *call)
{
    const char *chunks[] = {"Hello", ", ", "world"};
    for (int i = 0; i < 3; i++) {
        osprey_llm_chunk(call); /* the first one also marks the first token */
        printf("%s", chunks[i]);
    }
    printf("\n");
}

static void direct_call(osprey_tracer *t, osprey_meter *m)
{
    osprey_llm_request req = {
        .provider = "openai",
        .request_model = "gpt-4o",
        .server_address = "api.openai.com",
        .server_port = 443,
        .streaming = true,
        .max_tokens = 128,
        .temperature = 0.2,
        .input_messages =
            "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Hi\"}]}]",
    };
    osprey_llm_call *call = osprey_llm_begin(t, m, &req);
    char traceparent[OSPREY_TRACEPARENT_LEN + 1];
    osprey_traceparent_format(osprey_llm_context(call), traceparent);
    printf("traceparent sent to the model server: %s\n", traceparent);
    stream_completion(call);
    const char *reasons[] = {"stop"};
    osprey_llm_response resp = {
        .response_model = "gpt-4o-2024-08-06",
        .response_id = "chatcmpl-123",
        .finish_reasons = reasons,
        .nfinish_reasons = 1,
        .input_tokens = 9,
        .output_tokens = 3,
        .cache_read_tokens = 0,
        .cache_creation_tokens = -1,
    };
    osprey_llm_end(call, &resp);
}

/* An agent that asks a model, which calls a tool. */
static void agent_run(void)
{
    osprey_run *agent = osprey_run_start(
        &(osprey_run_info){.component = OSPREY_COMPONENT_AGENT, .name = "weather-agent"},
        &(osprey_cb_payload){.conversation_id = "conv-42", .input_tokens = -1, .output_tokens = -1},
        NULL);
    osprey_run *model = osprey_run_start(
        &(osprey_run_info){.component = OSPREY_COMPONENT_CHAT_MODEL,
                           .name = "claude-sonnet-4",
                           .type = "anthropic"},
        &(osprey_cb_payload){.content = "[]", .input_tokens = -1, .output_tokens = -1}, NULL);
    osprey_run *tool = osprey_run_start(
        &(osprey_run_info){.component = OSPREY_COMPONENT_TOOL, .name = "get_weather"},
        &(osprey_cb_payload){.content = "{\"city\":\"Oslo\"}",
                             .tool_call_id = "call-1",
                             .input_tokens = -1,
                             .output_tokens = -1},
        NULL);
    osprey_run_end(tool, &(osprey_cb_payload){.content = "{\"temp_c\":4}"}, NULL);
    uint64_t now = osprey_now_ns();
    osprey_cb_chunk chunks[] = {{"It is ", now}, {"4 degrees.", now + 40000000}};
    osprey_cb_payload summary = {.input_tokens = 120, .output_tokens = 8, .finish_reason = "stop"};
    osprey_run_end(model, NULL, &(osprey_cb_stream){.chunks = chunks, .n = 2, .summary = &summary});
    osprey_run_end(agent, NULL, NULL);
}

int main(void)
{
    osprey_options opt = {.service_name = "llm-example"};
    osprey_provider *p = osprey_provider_create(&opt);
    if (!p)
        return 1;
    osprey_tracer *t = osprey_tracer_get(p, "llm-example", OSPREY_VERSION, OSPREY_DETAIL_BASE);
    osprey_meter *m = osprey_meter_get(p, "llm-example", OSPREY_VERSION);
    direct_call(t, m);

    osprey_callback_handler tracing = osprey_tracing_handler(t, m);
    osprey_callbacks_register(&tracing);
    agent_run();
    osprey_callbacks_reset();
    return osprey_shutdown(p, 5000) == 0 ? 0 : 1;
}
