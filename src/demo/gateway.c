/* The demo's API gateway: the front door that forwards chats to the agent orchestrator and
 * checkouts to the orders service. */
#include "demo/demo_int.h"

#define AGENT_TIMEOUT_MS 30000.0
#define ORDERS_TIMEOUT_MS 5000.0

/* Forwards the request body to path on target and answers with its response: 504 when
 * no answer came in time, 502 when the target failed. */
static void forward(osp_demo_svc *svc, const osp_http_request *req, osp_http_response *res,
                    const char *route, int target, const char *path, double timeout_ms)
{
    osp_demo_req r;
    osp_buf out;
    osp_demo_req_begin(&r, svc, req, route);
    const char *user = osp_demo_req_baggage(&r, "user.id");
    const char *conv = osp_demo_req_baggage(&r, "conversation.id");
    if (user)
        osprey_span_set_attr(&r.span, OSPREY_STR("user.id", user));
    if (conv)
        osprey_span_set_attr(&r.span, OSPREY_STR("gen_ai.conversation.id", conv));
    osp_demo_svc *to = &svc->fleet->svc[target];
    long status = osp_demo_post(svc, to, path, req->body, r.cc.baggage,
                                osp_demo_scaled_ms(svc->fleet, timeout_ms, 1000), &out);
    if (status == 200) {
        osp_demo_reply(res, 200, "%.*s", (int)out.len, out.data ? out.data : "");
    } else if (status == 0) {
        osprey_logf(svc->log, OSPREY_ERROR, "%s gave no answer (timed out or unreachable)",
                    to->name);
        osp_demo_reply(res, 504, "{\"error\":\"%s gave no answer\"}", to->name);
    } else {
        osprey_logf(svc->log, OSPREY_WARN, "%s answered %ld", to->name, status);
        osp_demo_reply(res, status == 429 ? 429 : 502, "{\"error\":\"%s failed with %ld\"}",
                       to->name, status);
    }
    osp_buf_cleanup(&out);
    osp_demo_req_end(&r, res->status);
}

void osp_demo_gateway_chat(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    forward(ctx, req, res, "/chat", OSP_DEMO_AGENT, "/run", AGENT_TIMEOUT_MS);
}

void osp_demo_gateway_checkout(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    forward(ctx, req, res, "/checkout", OSP_DEMO_ORDERS, "/orders", ORDERS_TIMEOUT_MS);
}
