/* The demo's vector store: answers similarity searches for the agent's retriever. */
#include "demo/demo_int.h"

#define SEARCH_MEDIAN_MS 25.0
#define MAX_TOP_K 16

void osp_demo_vector_query(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    osp_demo_svc *svc = ctx;
    osp_demo_req r;
    osp_demo_req_begin(&r, svc, req, "/query");
    int64_t k = osp_demo_json_int(req->body, "top_k", 4);
    k = k < 1 ? 1 : k > MAX_TOP_K ? MAX_TOP_K : k;
    osprey_attr attrs[] = {
        OSPREY_STR("db.system.name", "qdrant"),
        OSPREY_STR("db.collection.name", "support-docs"),
        OSPREY_STR("db.operation.name", "search"),
        OSPREY_INT("db.vector.query.top_k", k),
    };
    osprey_span_options so = {.attrs = attrs, .nattrs = sizeof attrs / sizeof attrs[0]};
    osprey_span search = osprey_span_start(svc->tracer, "search support-docs", &so);
    osp_demo_pause(svc->fleet, osp_demo_lognormal(SEARCH_MEDIAN_MS, 0.4));
    osprey_span_end(&search, 0);
    osp_demo_reply(res, 200, "{\"documents\":%lld,\"collection\":\"support-docs\"}", (long long)k);
    osp_demo_req_end(&r, res->status);
}
