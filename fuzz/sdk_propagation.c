/* libFuzzer target for libosprey's propagation parsers: traceparent, baggage and
 * osprey_extract over headers cut from the input. No crash; a traceparent that parses
 * formats back to a value that parses to the same context; baggage formatted and parsed
 * again gives the same entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "osprey/osprey.h"

/* The input as up to three NUL-terminated header values, split at '\n'. */
typedef struct headers {
    char *value[3];
    char *buf;
} headers;

static const char *get_header(void *carrier, const char *name)
{
    const headers *h = carrier;
    if (!strcmp(name, "traceparent"))
        return h->value[0];
    if (!strcmp(name, "tracestate"))
        return h->value[1];
    if (!strcmp(name, "baggage"))
        return h->value[2];
    return NULL;
}

static void check_traceparent(const char *s)
{
    osprey_span_context c, again;
    if (osprey_traceparent_parse(s, &c))
        return;
    CHECK(osprey_span_context_valid(&c));
    char out[OSPREY_TRACEPARENT_LEN + 1];
    osprey_traceparent_format(&c, out);
    CHECK(strlen(out) == OSPREY_TRACEPARENT_LEN);
    CHECK(osprey_traceparent_parse(out, &again) == 0);
    CHECK(!memcmp(c.trace_id, again.trace_id, 16) && !memcmp(c.span_id, again.span_id, 8));
    CHECK(c.trace_flags == again.trace_flags);
}

static void check_baggage(const char *s)
{
    osprey_baggage *b = osprey_baggage_create(), *again = osprey_baggage_create();
    if (!b || !again)
        goto out;
    if (osprey_baggage_parse(b, s))
        goto out;
    size_t need = osprey_baggage_format(b, NULL, 0);
    char *text = malloc(need + 1);
    if (!text)
        goto out;
    CHECK(osprey_baggage_format(b, text, need + 1) == need);
    if (osprey_baggage_parse(again, text) == 0 && need <= OSPREY_BAGGAGE_MAX) {
        CHECK(osprey_baggage_count(again) == osprey_baggage_count(b));
        for (size_t i = 0; i < osprey_baggage_count(b); i++) {
            const char *name, *value;
            osprey_baggage_at(b, i, &name, &value);
            const char *v2 = osprey_baggage_get(again, name);
            CHECK(v2 && !strcmp(v2, value));
        }
    }
    free(text);
out:
    osprey_baggage_destroy(b);
    osprey_baggage_destroy(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    headers h = {.buf = malloc(size + 1)};
    if (!h.buf)
        return 0;
    memcpy(h.buf, data, size);
    h.buf[size] = 0;
    char *p = h.buf;
    for (int i = 0; i < 3 && p; i++) {
        h.value[i] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = 0;
    }
    for (int i = 0; i < 3; i++)
        if (h.value[i]) {
            check_traceparent(h.value[i]);
            check_baggage(h.value[i]);
        }
    osprey_carrier_context c;
    if (osprey_extract(get_header, &h, &c) == 0) {
        CHECK(!c.span.trace_state || strlen(c.span.trace_state) <= OSPREY_TRACESTATE_MAX);
        osprey_carrier_context_cleanup(&c);
    }
    free(h.buf);
    return 0;
}
