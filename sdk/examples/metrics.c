/* Example: a counter, a histogram and a gauge, process runtime metrics, and the Prometheus
 * text a service would serve on its own /metrics. */
#include <stdio.h>
#include <stdlib.h>

#include <osprey/osprey.h>

int main(void)
{
    osprey_options opt = {.service_name = "metrics-example"};
    osprey_provider *p = osprey_provider_create(&opt);
    if (!p)
        return 1;
    osprey_meter *m = osprey_meter_get(p, "metrics-example", OSPREY_VERSION);
    osprey_instrument *requests =
        osprey_counter(m, "http.server.requests", "{request}", "Requests served");
    static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
    osprey_instrument *latency =
        osprey_histogram(m, "http.server.request.duration", "s", "Request duration", bounds, 8);
    osprey_instrument *queue = osprey_gauge(m, "app.queue.depth", "{item}", "Items waiting");
    if (osprey_runtime_metrics_start(p) != 0)
        fprintf(stderr, "runtime metrics unavailable\n");

    for (int i = 0; i < 10; i++) {
        osprey_attr attrs[] = {OSPREY_STR("http.request.method", i % 3 ? "GET" : "POST"),
                               OSPREY_INT("http.response.status_code", i == 7 ? 500 : 200)};
        osprey_record(requests, 1, attrs, 2);
        osprey_record(latency, 0.003 * (i + 1), attrs, 2);
    }
    osprey_record(queue, 17, NULL, 0);

    char *text = NULL;
    size_t len = 0;
    if (osprey_metrics_prometheus(p, &text, &len) == 0) {
        fwrite(text, 1, len, stdout);
        free(text);
    }
    return osprey_shutdown(p, 5000) == 0 ? 0 : 1;
}
