/* Example: spans with attributes and events, a nested current context, and the W3C
 * propagation headers a client would send. Exports by OTEL_TRACES_EXPORTER (otlp by
 * default; console prints the spans on stderr). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <osprey/osprey.h>

/* A tiny header carrier: up to 4 name/value pairs. */
typedef struct headers {
    char name[4][32], value[4][OSPREY_BAGGAGE_MAX + 1];
    int n;
} headers;

static void header_set(void *carrier, const char *name, const char *value)
{
    headers *h = carrier;
    if (h->n < 4) {
        snprintf(h->name[h->n], sizeof h->name[0], "%s", name);
        snprintf(h->value[h->n], sizeof h->value[0], "%s", value);
        h->n++;
    }
}

static const char *header_get(void *carrier, const char *name)
{
    headers *h = carrier;
    for (int i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

/* A child of the current span: what a database call would record. */
static void query_db(osprey_tracer *t)
{
    osprey_attr attrs[] = {OSPREY_STR("db.system.name", "postgresql"),
                           OSPREY_STR("db.query.text", "SELECT name FROM users WHERE id = $1")};
    osprey_span_options opt = {.kind = OSPREY_SPAN_CLIENT, .attrs = attrs, .nattrs = 2};
    osprey_span span = osprey_span_start(t, "SELECT users", &opt);
    osprey_span_add_event(&span, "rows fetched", 0, (osprey_attr[]){OSPREY_INT("rows", 1)}, 1);
    osprey_span_end(&span, 0);
}

int main(void)
{
    osprey_options opt = {.service_name = "hello-trace"};
    osprey_provider *p = osprey_provider_create(&opt);
    if (!p)
        return 1;
    osprey_tracer *t = osprey_tracer_get(p, "hello", OSPREY_VERSION, OSPREY_DETAIL_BASE);

    osprey_attr attrs[] = {OSPREY_STR("http.request.method", "GET"),
                           OSPREY_STR("url.path", "/hello")};
    osprey_span_options opt_server = {.kind = OSPREY_SPAN_SERVER, .attrs = attrs, .nattrs = 2};
    osprey_span root = osprey_span_start(t, "GET /hello", &opt_server);
    osprey_scope scope = osprey_span_attach(&root); /* children nest under root */
    query_db(t);

    osprey_baggage *bag = osprey_baggage_create();
    osprey_baggage_set(bag, "tenant", "acme corp");
    headers out = {0};
    osprey_inject(&root.context, bag, header_set, &out);
    for (int i = 0; i < out.n; i++)
        printf("%s: %s\n", out.name[i], out.value[i]);

    osprey_carrier_context in;
    if (osprey_extract(header_get, &out, &in) == 0) {
        printf("extracted a %s context, tenant=%s\n",
               osprey_span_context_valid(&in.span) ? "valid" : "invalid",
               in.baggage ? osprey_baggage_get(in.baggage, "tenant") : "-");
        osprey_carrier_context_cleanup(&in);
    }
    osprey_baggage_destroy(bag);

    osprey_span_set_attr(&root, OSPREY_INT("http.response.status_code", 200));
    osprey_span_set_status(&root, OSPREY_STATUS_OK, NULL);
    osprey_detach(scope);
    osprey_span_end(&root, 0);
    return osprey_shutdown(p, 5000) == 0 ? 0 : 1;
}
