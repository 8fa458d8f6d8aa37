/* Example: a logger whose records carry the trace and span ids of the current span, sent
 * to the log exporter and printed as JSON lines on stderr. */
#include <osprey/osprey.h>

int main(void)
{
    osprey_options opt = {.service_name = "logging-example", .log_to_stderr = true};
    osprey_provider *p = osprey_provider_create(&opt);
    if (!p)
        return 1;
    osprey_tracer *t = osprey_tracer_get(p, "logging-example", NULL, OSPREY_DETAIL_BASE);
    osprey_logger *log = osprey_logger_get(p, "logging-example", OSPREY_INFO);

    osprey_log(log, OSPREY_INFO, "starting", NULL, 0); /* no span: no ids */
    osprey_span span = osprey_span_start(t, "process order", NULL);
    osprey_scope scope = osprey_span_attach(&span);
    osprey_attr attrs[] = {OSPREY_STR("order.id", "A-1001"), OSPREY_INT("order.items", 3)};
    osprey_log(log, OSPREY_INFO, "order accepted", attrs, 2);
    osprey_log(log, OSPREY_DEBUG, "dropped: below the logger's minimum", NULL, 0);
    osprey_logf(log, OSPREY_WARN, "stock low for %s: %d left", "widget", 2);
    osprey_detach(scope);
    osprey_span_end(&span, 0);
    return osprey_shutdown(p, 5000) == 0 ? 0 : 1;
}
