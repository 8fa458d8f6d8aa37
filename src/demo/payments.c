/* The demo's payments service: the second half of the plain (non-AI) microservice pair. */
#include "demo/demo_int.h"

#define CHARGE_MEDIAN_MS 40.0
#define CHARGE_HANG_MS 3000.0 /* past the orders service's timeout */

void osp_demo_payments_charge(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    osp_demo_svc *svc = ctx;
    osp_demo_fleet *f = svc->fleet;
    osp_demo_req r;
    osp_demo_req_begin(&r, svc, req, "/charge");
    int64_t cents = osp_demo_json_int(req->body, "amount_cents", 0);
    osprey_span_set_attr(&r.span, OSPREY_INT("payment.amount_cents", cents));
    if (osp_demo_chance(f->opt.error_share * 0.5)) {
        osprey_log(svc->log, OSPREY_ERROR, "card processor unavailable", NULL, 0);
        osp_demo_reply(res, 503, "{\"error\":\"card processor unavailable\"}");
    } else {
        bool hang = osp_demo_chance(f->opt.error_share * 0.3);
        osp_demo_pause(f, hang ? CHARGE_HANG_MS : osp_demo_lognormal(CHARGE_MEDIAN_MS, 0.5));
        osp_demo_reply(res, 200, "{\"charged\":%lld}", (long long)cents);
    }
    osp_demo_req_end(&r, res->status);
}
