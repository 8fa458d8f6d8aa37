/* The demo's orders service: stores an order, then charges it through payments. */
#include <stdio.h>

#include "demo/demo_int.h"

#define DB_MEDIAN_MS 8.0
#define PAYMENTS_TIMEOUT_MS 1000.0

/* The order's INSERT, as a database CLIENT span. */
static void store_order(osp_demo_svc *svc)
{
    osprey_attr attrs[] = {
        OSPREY_STR("db.system.name", "postgresql"),
        OSPREY_STR("db.operation.name", "INSERT"),
        OSPREY_STR("db.collection.name", "orders"),
        OSPREY_STR("db.query.text", "INSERT INTO orders (user_id, amount_cents) VALUES ($1, $2)"),
    };
    osprey_span_options so = {
        .kind = OSPREY_SPAN_CLIENT, .attrs = attrs, .nattrs = sizeof attrs / sizeof attrs[0]};
    osprey_span db = osprey_span_start(svc->tracer, "INSERT orders", &so);
    osp_demo_pause(svc->fleet, osp_demo_lognormal(DB_MEDIAN_MS, 0.5));
    osprey_span_end(&db, 0);
}

void osp_demo_orders_create(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    osp_demo_svc *svc = ctx;
    osp_demo_req r;
    osp_buf out;
    char body[96];
    osp_demo_req_begin(&r, svc, req, "/orders");
    int64_t cents = osp_demo_json_int(req->body, "amount_cents", 1000);
    store_order(svc);
    snprintf(body, sizeof body, "{\"amount_cents\":%lld}", (long long)cents);
    long status =
        osp_demo_post(svc, &svc->fleet->svc[OSP_DEMO_PAYMENTS], "/charge", osp_str_c(body),
                      r.cc.baggage, osp_demo_scaled_ms(svc->fleet, PAYMENTS_TIMEOUT_MS, 200), &out);
    if (status == 200) {
        osprey_log(svc->log, OSPREY_INFO, "order placed", &OSPREY_INT("amount_cents", cents), 1);
        osp_demo_reply(res, 200, "{\"status\":\"placed\",\"amount_cents\":%lld}", (long long)cents);
    } else {
        osprey_logf(svc->log, OSPREY_ERROR, "payment failed (status %ld): order cancelled", status);
        osp_demo_reply(res, 502, "{\"error\":\"payment failed\"}");
    }
    osp_buf_cleanup(&out);
    osp_demo_req_end(&r, res->status);
}
