/* The demo's model router: picks a model, streams its answer from the mock LLM server as
 * a GenAI client call (osprey_llm_*), and falls back to another model when rate-limited. */
#include <stdio.h>
#include <string.h>

#include "demo/demo_int.h"

#define LLM_TIMEOUT_MS 60000.0
#define MAX_TOKENS 256
#define PROMPT_MAX 512

typedef struct model {
    const char *provider, *name;
} model;

static const model MODELS[] = {
    {"openai", "gpt-4o-mini"},
    {"anthropic", "claude-3-5-sonnet"},
    {"openai", "gpt-4o"},
};
#define NMODELS (sizeof MODELS / sizeof MODELS[0])

/* What one streamed completion brought back. */
typedef struct stream_state {
    osprey_llm_call *call;
    osp_buf pending; /* received bytes not yet split into events */
    char id[64], model[64], finish[32];
    int64_t input_tokens, output_tokens; /* -1 until the usage event */
} stream_state;

/* One Server-Sent Event's data: a chunk, the usage summary, or [DONE]. */
static void on_event(stream_state *s, osp_str data)
{
    if (data.n == 6 && !memcmp(data.p, "[DONE]", 6))
        return;
    osprey_llm_chunk(s->call);
    if (!s->id[0])
        osp_demo_json_str(data, "id", s->id, sizeof s->id);
    if (!s->model[0])
        osp_demo_json_str(data, "model", s->model, sizeof s->model);
    osp_demo_json_str(data, "finish_reason", s->finish, sizeof s->finish);
    s->input_tokens = osp_demo_json_int(data, "prompt_tokens", s->input_tokens);
    s->output_tokens = osp_demo_json_int(data, "completion_tokens", s->output_tokens);
}

/* curl write callback: splits the stream into events at blank lines. */
static size_t on_stream(char *p, size_t size, size_t n, void *arg)
{
    stream_state *s = arg;
    if (size * n == 0 || osp_buf_append(&s->pending, p, size * n))
        return 0;
    size_t used = 0;
    for (;;) {
        const char *start = s->pending.data + used;
        const char *end = memmem(start, s->pending.len - used, "\n\n", 2);
        if (!end)
            break;
        if (end - start > 6 && !memcmp(start, "data: ", 6))
            on_event(s, (osp_str){start + 6, (size_t)(end - start - 6)});
        used = (size_t)(end - s->pending.data) + 2;
    }
    memmove(s->pending.data, s->pending.data + used, s->pending.len - used);
    s->pending.len -= used;
    return size * n;
}

/* The request body for the mock: the prompt, with tools offered when planning. */
static int completion_body(osp_buf *b, const model *m, const char *prompt, bool tools)
{
    int rc = osp_buf_printf(b, "{\"model\":\"%s\",\"stream\":true,\"max_tokens\":%d,", m->name,
                            MAX_TOKENS);
    rc = rc ? rc : osp_buf_puts(b, "\"messages\":[{\"role\":\"user\",\"content\":");
    rc = rc ? rc : osp_buf_json_str(b, prompt, strlen(prompt));
    rc = rc ? rc
            : osp_buf_puts(b, tools ? "}],\"tools\":[\"lookup_order\",\"get_weather\"]}" : "}]}");
    return rc;
}

/* error.type for a failed call, or NULL. */
static const char *error_type(CURLcode rc, long status, char *code, size_t cap)
{
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return "timeout";
    if (rc != CURLE_OK && status == 0)
        return "connection_error";
    if (status == 200)
        return NULL;
    snprintf(code, cap, "%ld", status);
    return code;
}

/* One streamed chat completion against the mock as a GenAI call. Returns the HTTP
 * status, 0 when none came in time. */
static long call_model(osp_demo_svc *svc, osp_demo_req *r, const model *m, const char *prompt,
                       bool tools, stream_state *s)
{
    osp_demo_fleet *f = svc->fleet;
    const osp_demo_svc *llm = &f->svc[OSP_DEMO_LLM];
    char url[96], code[24];
    long status = 0;
    osp_buf body;
    *s = (stream_state){.input_tokens = -1, .output_tokens = -1};
    osp_buf_init(&s->pending, OSP_DEMO_MAX_BODY);
    osp_buf_init(&body, OSP_DEMO_MAX_BODY);
    osprey_llm_request lr = {
        .provider = m->provider,
        .request_model = m->name,
        .conversation_id = osp_demo_req_baggage(r, "conversation.id"),
        .user_id = osp_demo_req_baggage(r, "user.id"),
        .server_address = "127.0.0.1",
        .server_port = llm->port,
        .streaming = true,
        .max_tokens = MAX_TOKENS,
        .temperature = 0.7,
    };
    s->call = osprey_llm_begin(svc->tracer, svc->meter, &lr);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/chat/completions", (unsigned)llm->port);
    struct curl_slist *headers = osp_demo_headers(osprey_llm_context(s->call), r->cc.baggage);
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (headers && !completion_body(&body, m, prompt, tools))
        rc = osp_demo_curl_post(url, headers, osp_buf_str(&body),
                                osp_demo_scaled_ms(f, LLM_TIMEOUT_MS, 2000), on_stream, s, &status);
    const char *finish[] = {s->finish};
    osprey_llm_response resp = {
        .response_model = s->model[0] ? s->model : NULL,
        .response_id = s->id[0] ? s->id : NULL,
        .finish_reasons = finish,
        .nfinish_reasons = s->finish[0] ? 1 : 0,
        .input_tokens = s->input_tokens,
        .output_tokens = s->output_tokens,
        .cache_read_tokens = -1,
        .cache_creation_tokens = -1,
        .error_type = error_type(rc, status, code, sizeof code),
        .error_message = status == 429 ? "rate limited" : NULL,
    };
    osprey_llm_end(s->call, &resp);
    curl_slist_free_all(headers);
    osp_buf_cleanup(&body);
    osp_buf_cleanup(&s->pending);
    return rc == CURLE_OK ? status : 0;
}

void osp_demo_router_chat(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    osp_demo_svc *svc = ctx;
    osp_demo_req r;
    stream_state s;
    char prompt[PROMPT_MAX] = "hello", purpose[16] = "answer";
    osp_demo_req_begin(&r, svc, req, "/v1/chat");
    osp_demo_json_str(req->body, "prompt", prompt, sizeof prompt);
    osp_demo_json_str(req->body, "purpose", purpose, sizeof purpose);
    bool tools = !strcmp(purpose, "plan");
    size_t pick = (size_t)osp_demo_between(0, NMODELS - 1);
    long status = call_model(svc, &r, &MODELS[pick], prompt, tools, &s);
    if (status == 429) {
        const model *alt = &MODELS[(pick + 1) % NMODELS];
        osprey_logf(svc->log, OSPREY_WARN, "%s rate-limited, falling back to %s", MODELS[pick].name,
                    alt->name);
        status = call_model(svc, &r, alt, prompt, tools, &s);
    }
    if (status == 200)
        osp_demo_reply(res, 200,
                       "{\"model\":\"%s\",\"finish_reason\":\"%s\",\"input_tokens\":%lld,"
                       "\"output_tokens\":%lld}",
                       s.model, s.finish, (long long)s.input_tokens, (long long)s.output_tokens);
    else if (status == 429)
        osp_demo_reply(res, 429, "{\"error\":\"every model is rate-limited\"}");
    else
        osp_demo_reply(res, status ? 502 : 504, "{\"error\":\"model call failed\"}");
    osp_demo_req_end(&r, res->status);
}
