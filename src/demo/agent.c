/* The demo's agent orchestrator: for each chat turn it retrieves documents, asks a model
 * for a plan, calls a tool when the plan says so, and asks for the answer; each step is a
 * component run reported through the callbacks API (osprey_run_*). */
#include <stdio.h>
#include <string.h>

#include "demo/demo_int.h"

#define STEP_TIMEOUT_MS 30000.0
#define TOOL_TIMEOUT_MS 1500.0
#define TEXT_MAX 512

static const char *const TOOLS[] = {"lookup_order", "get_weather", "search_web"};

/* One turn's state: the request and what the steps learnt. */
typedef struct turn {
    osp_demo_svc *svc;
    osp_demo_req *req;
    const char *message;
    const char *conversation_id;
    char finish[32]; /* the last model answer's finish reason */
} turn;

/* POSTs a JSON object {"key":text,...extra} to path on target; the status (0: none). */
static long call(turn *t, int target, const char *path, const char *key, const char *text,
                 const char *extra, uint32_t timeout_ms, osp_buf *out)
{
    osp_buf body;
    long status = 0;
    osp_buf_init(&body, OSP_DEMO_MAX_BODY);
    int rc = osp_buf_printf(&body, "{%s\"%s\":", extra, key);
    rc = rc ? rc : osp_buf_json_str(&body, text, strlen(text));
    rc = rc ? rc : osp_buf_putc(&body, '}');
    if (rc == 0)
        status = osp_demo_post(t->svc, &t->svc->fleet->svc[target], path, osp_buf_str(&body),
                               t->req->cc.baggage, timeout_ms, out);
    else
        osp_buf_init(out, OSP_DEMO_MAX_BODY);
    osp_buf_cleanup(&body);
    return status;
}

/* A response body as NUL-terminated text for a run's payload, cut to cap bytes. */
static const char *text_of(const osp_buf *b, char *out, size_t cap)
{
    snprintf(out, cap, "%.*s", (int)b->len, b->data ? b->data : "");
    return out;
}

/* Ends a component run: on_end with output on success, on_error otherwise. */
static long finish_run(osprey_run *run, long status, const osprey_cb_payload *output)
{
    char error[48];
    if (status == 200) {
        osprey_run_end(run, output, NULL);
    } else {
        snprintf(error, sizeof error, status ? "HTTP %ld" : "timeout", status);
        osprey_run_error(run, error);
    }
    return status;
}

static long retrieve(turn *t)
{
    osprey_run_info info = {OSPREY_COMPONENT_RETRIEVER, "support-docs", "qdrant"};
    osprey_cb_payload in = {.content = t->message, .input_tokens = -1, .output_tokens = -1};
    osp_buf out;
    osprey_run *run = osprey_run_start(&info, &in, NULL);
    long status = call(t, OSP_DEMO_VECTOR, "/query", "query", t->message, "\"top_k\":4,",
                       osp_demo_scaled_ms(t->svc->fleet, STEP_TIMEOUT_MS, 1000), &out);
    char text[TEXT_MAX];
    osprey_cb_payload result = {
        .content = text_of(&out, text, sizeof text), .input_tokens = -1, .output_tokens = -1};
    finish_run(run, status, &result);
    osp_buf_cleanup(&out);
    return status;
}

/* Asks the model router; purpose "plan" offers tools. */
static long ask_model(turn *t, const char *purpose)
{
    char extra[48];
    osp_buf out;
    snprintf(extra, sizeof extra, "\"purpose\":\"%s\",", purpose);
    long status = call(t, OSP_DEMO_ROUTER, "/v1/chat", "prompt", t->message, extra,
                       osp_demo_scaled_ms(t->svc->fleet, STEP_TIMEOUT_MS, 2000), &out);
    t->finish[0] = '\0';
    if (status == 200)
        osp_demo_json_str(osp_buf_str(&out), "finish_reason", t->finish, sizeof t->finish);
    osp_buf_cleanup(&out);
    return status;
}

/* Runs the tool the plan asked for. A failed tool does not fail the turn: the agent
 * answers without it, as agents do, and says so in a warning. */
static void use_tool(turn *t)
{
    const char *tool = TOOLS[osp_demo_between(0, sizeof TOOLS / sizeof TOOLS[0] - 1)];
    char call_id[32], extra[64], text[TEXT_MAX];
    osp_buf out;
    snprintf(call_id, sizeof call_id, "call_%08llx",
             (unsigned long long)osp_demo_between(0, 0xffffffffll));
    osprey_run_info info = {OSPREY_COMPONENT_TOOL, tool, "function"};
    osprey_cb_payload in = {.content = "{\"query\":\"status\"}",
                            .tool_call_id = call_id,
                            .conversation_id = t->conversation_id,
                            .input_tokens = -1,
                            .output_tokens = -1};
    osprey_run *run = osprey_run_start(&info, &in, NULL);
    snprintf(extra, sizeof extra, "\"call_id\":\"%s\",", call_id);
    long status = call(t, OSP_DEMO_TOOL, "/tools/invoke", "name", tool, extra,
                       osp_demo_scaled_ms(t->svc->fleet, TOOL_TIMEOUT_MS, 200), &out);
    osprey_cb_payload result = {.content = text_of(&out, text, sizeof text),
                                .tool_call_id = call_id,
                                .input_tokens = -1,
                                .output_tokens = -1};
    if (finish_run(run, status, &result) != 200)
        osprey_log(t->svc->log, OSPREY_WARN, "tool call failed; answering without it",
                   &OSPREY_STR("gen_ai.tool.name", tool), 1);
    osp_buf_cleanup(&out);
}

/* retrieve, plan, maybe a tool, answer: the first failing status, or 200. */
static long run_turn(turn *t)
{
    long status = retrieve(t);
    if (status == 200)
        status = ask_model(t, "plan");
    if (status == 200 && !strcmp(t->finish, "tool_calls"))
        use_tool(t);
    if (status == 200)
        status = ask_model(t, "answer");
    return status;
}

void osp_demo_agent_run(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    osp_demo_svc *svc = ctx;
    osp_demo_req r;
    char message[TEXT_MAX] = "hello";
    osp_demo_req_begin(&r, svc, req, "/run");
    osp_demo_json_str(req->body, "message", message, sizeof message);
    turn t = {.svc = svc,
              .req = &r,
              .message = message,
              .conversation_id = osp_demo_req_baggage(&r, "conversation.id")};
    osprey_run_info info = {OSPREY_COMPONENT_AGENT, "support-agent", "react"};
    osprey_cb_payload in = {.content = message,
                            .conversation_id = t.conversation_id,
                            .input_tokens = -1,
                            .output_tokens = -1};
    osprey_run *run = osprey_run_start(&info, &in, NULL);
    long status = run_turn(&t);
    osprey_cb_payload out = {.content = "answered",
                             .conversation_id = t.conversation_id,
                             .input_tokens = -1,
                             .output_tokens = -1,
                             .finish_reason = t.finish};
    if (finish_run(run, status, &out) == 200) {
        osprey_log(svc->log, OSPREY_INFO, "turn answered", NULL, 0);
        osp_demo_reply(res, 200, "{\"answer\":\"done\",\"finish_reason\":\"%s\"}", t.finish);
    } else {
        osprey_logf(svc->log, OSPREY_ERROR, "turn failed: a step answered %ld", status);
        osp_demo_reply(res,
                       status == 429 ? 429
                       : status      ? 502
                                     : 504,
                       "{\"error\":\"agent step failed\"}");
    }
    osp_demo_req_end(&r, res->status);
}
