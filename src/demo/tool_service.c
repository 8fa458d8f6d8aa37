/* The demo's tool service: runs the agent's tools, some of which fail or hang. */
#include <string.h>

#include "demo/demo_int.h"

#define TOOL_MEDIAN_MS 80.0
#define TOOL_HANG_MS 4000.0 /* past the agent's tool timeout */

void osp_demo_tool_invoke(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    osp_demo_svc *svc = ctx;
    osp_demo_fleet *f = svc->fleet;
    osp_demo_req r;
    char tool[64] = "unknown";
    osp_demo_req_begin(&r, svc, req, "/tools/invoke");
    osp_demo_json_str(req->body, "name", tool, sizeof tool);
    osprey_span_set_attr(&r.span, OSPREY_STR("gen_ai.tool.name", tool));
    if (osp_demo_chance(f->opt.error_share * 0.5)) {
        osp_demo_pause(f, TOOL_MEDIAN_MS);
        osprey_log(svc->log, OSPREY_ERROR, "tool failed: upstream API returned an error",
                   &OSPREY_STR("gen_ai.tool.name", tool), 1);
        osp_demo_reply(res, 500, "{\"error\":\"%s: upstream API returned an error\"}", tool);
    } else {
        bool hang = osp_demo_chance(f->opt.error_share * 0.3);
        if (hang)
            osprey_log(svc->log, OSPREY_WARN, "tool is slow: upstream API not answering",
                       &OSPREY_STR("gen_ai.tool.name", tool), 1);
        osp_demo_pause(f, hang ? TOOL_HANG_MS : osp_demo_lognormal(TOOL_MEDIAN_MS, 0.5));
        osp_demo_reply(res, 200, "{\"name\":\"%s\",\"result\":\"ok\"}", tool);
    }
    osp_demo_req_end(&r, res->status);
}
