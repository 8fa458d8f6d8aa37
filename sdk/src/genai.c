/* LLM calls as the OpenTelemetry GenAI conventions (v1.41) describe them: the CLIENT span
 * with its gen_ai.* attributes and the gen_ai.client.* histograms. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "genai_int.h"

#define GENAI_NAME_MAX 256 /* request strings kept for the metrics are cut here */

enum { H_DURATION, H_TOKENS, H_TTFC, H_TPOC, H_COUNT };

struct osprey_llm_call {
    osprey_span span;
    osprey_instrument *hist[H_COUNT];     /* NULL without a meter */
    uint64_t start_ns, first_ns, last_ns; /* first_ns 0: no token yet; last_ns: last chunk */
    bool capture;                         /* record message content */
    const char *operation, *provider, *request_model, *server_address; /* in strings */
    int server_port;
    char strings[]; /* the request strings above, NUL-terminated one after another */
};

/* The recommended bucket boundaries (protocols.md §6.7). */
static const double seconds_bounds[] = {0.01, 0.02, 0.04, 0.08,  0.16,  0.32,  0.64,
                                        1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
static const double token_bounds[] = {1,     4,     16,     64,      256,     1024,     4096,
                                      16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
#define NBOUNDS(a) (sizeof(a) / sizeof(a)[0])

/* The call's histograms on m (existing ones when m already has them). */
static void get_instruments(osprey_meter *m, osprey_instrument *out[H_COUNT])
{
    if (!m)
        return;
    out[H_DURATION] =
        osprey_histogram(m, "gen_ai.client.operation.duration", "s", "GenAI operation duration",
                         seconds_bounds, NBOUNDS(seconds_bounds));
    out[H_TOKENS] = osprey_histogram(m, "gen_ai.client.token.usage", "{token}",
                                     "Number of input and output tokens used", token_bounds,
                                     NBOUNDS(token_bounds));
    out[H_TTFC] = osprey_histogram(m, "gen_ai.client.operation.time_to_first_chunk", "s",
                                   "Time to receive the first chunk of a streamed response",
                                   seconds_bounds, NBOUNDS(seconds_bounds));
    out[H_TPOC] = osprey_histogram(m, "gen_ai.client.operation.time_per_output_chunk", "s",
                                   "Time between consecutive chunks of a streamed response",
                                   seconds_bounds, NBOUNDS(seconds_bounds));
}

static size_t bounded_len(const char *z)
{
    return z ? strnlen(z, GENAI_NAME_MAX) : 0;
}

/* Copies z (cut at GENAI_NAME_MAX) to *cursor and advances it; NULL stays NULL. */
static const char *pack(char **cursor, const char *z)
{
    if (!z)
        return NULL;
    size_t n = bounded_len(z);
    char *s = *cursor;
    memcpy(s, z, n);
    s[n] = '\0';
    *cursor = s + n + 1;
    return s;
}

/* A new call holding copies of r's strings; NULL on ENOMEM. */
static osprey_llm_call *call_new(const osprey_llm_request *r, const char *operation)
{
    size_t size = sizeof(osprey_llm_call) + bounded_len(operation) + bounded_len(r->provider) +
                  bounded_len(r->request_model) + bounded_len(r->server_address) + 4;
    osprey_llm_call *c = osp_calloc(1, size);
    if (!c)
        return NULL;
    char *cursor = c->strings;
    c->operation = pack(&cursor, operation);
    c->provider = pack(&cursor, r->provider);
    c->request_model = pack(&cursor, r->request_model);
    c->server_address = pack(&cursor, r->server_address);
    c->server_port = r->server_port;
    return c;
}

/* The metric attributes every GenAI histogram carries; a holds at least 7. */
static size_t common_attrs(const osprey_llm_call *c, const char *response_model,
                           const char *error_type, osprey_attr *a)
{
    size_t n = 0;
    a[n++] = OSPREY_STR("gen_ai.operation.name", c->operation);
    if (c->provider)
        a[n++] = OSPREY_STR("gen_ai.provider.name", c->provider);
    if (c->request_model)
        a[n++] = OSPREY_STR("gen_ai.request.model", c->request_model);
    if (response_model)
        a[n++] = OSPREY_STR("gen_ai.response.model", response_model);
    if (c->server_address) {
        a[n++] = OSPREY_STR("server.address", c->server_address);
        if (c->server_port > 0)
            a[n++] = OSPREY_INT("server.port", c->server_port);
    }
    if (error_type)
        a[n++] = OSPREY_STR("error.type", error_type);
    return n;
}

/* Seconds from..to, 0 when to is earlier. */
static double seconds(uint64_t from, uint64_t to)
{
    return to > from ? (double)(to - from) / 1e9 : 0;
}

/* Records the seconds from..to on histogram h of c. */
static void record_seconds(const osprey_llm_call *c, int h, uint64_t from, uint64_t to,
                           const char *response_model, const char *error_type)
{
    if (!c->hist[h])
        return;
    osprey_attr a[8];
    size_t n = common_attrs(c, response_model, error_type, a);
    osprey_record(c->hist[h], seconds(from, to), a, n);
}

/* Records a token count (when set, >= 0) of type "input" or "output". */
static void record_tokens(const osprey_llm_call *c, int64_t tokens, const char *type,
                          const osprey_llm_response *r)
{
    if (!c->hist[H_TOKENS] || tokens < 0)
        return;
    osprey_attr a[8];
    size_t n = common_attrs(c, r->response_model, r->error_type, a);
    a[n++] = OSPREY_STR("gen_ai.token.type", type);
    osprey_record(c->hist[H_TOKENS], (double)tokens, a, n);
}

/* The length of z's longest prefix of at most max bytes that ends at a UTF-8 boundary. */
static size_t utf8_cut(const char *z, size_t max)
{
    size_t n = strnlen(z, max + 1);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)z[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* Sets message content (JSON text) as key, cut to OSPREY_GENAI_CONTENT_MAX bytes; left out
 * when the copy cannot be made. */
static void set_content(osprey_span *s, const char *key, const char *json)
{
    size_t n = utf8_cut(json, OSPREY_GENAI_CONTENT_MAX);
    if (json[n] == '\0') {
        osprey_span_set_attr(s, OSPREY_STR(key, json));
        return;
    }
    char *cut = osp_strndup(json, n);
    if (cut)
        osprey_span_set_attr(s, OSPREY_STR(key, cut));
    osp_free(cut);
}

/* The request attributes set at span start (available to the sampler); a holds 10. */
static size_t request_attrs(const osprey_llm_call *c, const osprey_llm_request *r, osprey_attr *a)
{
    size_t n = common_attrs(c, NULL, NULL, a);
    if (r->conversation_id)
        a[n++] = OSPREY_STR("gen_ai.conversation.id", r->conversation_id);
    if (r->user_id)
        a[n++] = OSPREY_STR("user.id", r->user_id);
    if (r->streaming)
        a[n++] = OSPREY_BOOL("gen_ai.request.stream", true);
    if (r->max_tokens > 0)
        a[n++] = OSPREY_INT("gen_ai.request.max_tokens", r->max_tokens);
    if (r->temperature >= 0)
        a[n++] = OSPREY_DOUBLE("gen_ai.request.temperature", r->temperature);
    return n;
}

osprey_llm_call *osprey_llm_begin(osprey_tracer *t, osprey_meter *m, const osprey_llm_request *r)
{
    static const osprey_llm_request no_request = {.temperature = -1};
    r = r ? r : &no_request;
    osprey_llm_call *c = call_new(r, r->operation ? r->operation : "chat");
    if (!c)
        return NULL;
    c->start_ns = osprey_now_ns();
    c->capture = t && t->provider->config.capture_genai_content;
    get_instruments(m, c->hist);
    char name[2 * GENAI_NAME_MAX + 2];
    snprintf(name, sizeof name, "%s%s%s", c->operation, c->request_model ? " " : "",
             c->request_model ? c->request_model : "");
    osprey_attr a[12];
    osprey_span_options o = {
        .kind = OSPREY_SPAN_CLIENT, .parent = r->parent, .start_ns = c->start_ns, .attrs = a};
    o.nattrs = request_attrs(c, r, a);
    if (t)
        c->span = osprey_span_start(t, name, &o);
    if (c->capture && r->input_messages)
        set_content(&c->span, "gen_ai.input.messages", r->input_messages);
    return c;
}

const osprey_span_context *osprey_llm_context(const osprey_llm_call *c)
{
    return c ? &c->span.context : NULL;
}

osprey_span *osprey__llm_span(osprey_llm_call *c)
{
    return c ? &c->span : NULL;
}

void osprey__llm_first_token_at(osprey_llm_call *c, uint64_t time_ns)
{
    if (!c || c->first_ns)
        return;
    c->first_ns = c->last_ns = time_ns ? time_ns : osprey_now_ns();
    osprey_span_add_event(&c->span, "gen_ai.first_token", c->first_ns, NULL, 0);
    record_seconds(c, H_TTFC, c->start_ns, c->first_ns, NULL, NULL);
}

void osprey__llm_chunk_at(osprey_llm_call *c, uint64_t time_ns)
{
    if (!c)
        return;
    time_ns = time_ns ? time_ns : osprey_now_ns();
    if (!c->first_ns) {
        osprey__llm_first_token_at(c, time_ns);
        return;
    }
    record_seconds(c, H_TPOC, c->last_ns, time_ns, NULL, NULL);
    c->last_ns = time_ns;
}

void osprey_llm_first_token(osprey_llm_call *c)
{
    osprey__llm_first_token_at(c, 0);
}

void osprey_llm_chunk(osprey_llm_call *c)
{
    osprey__llm_chunk_at(c, 0);
}

/* Sets r's attributes (and the error status) on the span. */
static void set_response(osprey_llm_call *c, const osprey_llm_response *r)
{
    osprey_attr a[8];
    size_t n = 0;
    if (r->response_model)
        a[n++] = OSPREY_STR("gen_ai.response.model", r->response_model);
    if (r->response_id)
        a[n++] = OSPREY_STR("gen_ai.response.id", r->response_id);
    if (r->finish_reasons && r->nfinish_reasons > 0)
        a[n++] = OSPREY_ARRAY("gen_ai.response.finish_reasons", OSPREY_VALUE_STRING_ARRAY,
                              r->finish_reasons, r->nfinish_reasons);
    if (r->input_tokens >= 0)
        a[n++] = OSPREY_INT("gen_ai.usage.input_tokens", r->input_tokens);
    if (r->output_tokens >= 0)
        a[n++] = OSPREY_INT("gen_ai.usage.output_tokens", r->output_tokens);
    if (r->cache_read_tokens >= 0)
        a[n++] = OSPREY_INT("gen_ai.usage.cache_read.input_tokens", r->cache_read_tokens);
    if (r->cache_creation_tokens >= 0)
        a[n++] = OSPREY_INT("gen_ai.usage.cache_creation.input_tokens", r->cache_creation_tokens);
    if (r->error_type)
        a[n++] = OSPREY_STR("error.type", r->error_type);
    osprey_span_set_attrs(&c->span, a, n);
    if (c->capture && r->output_messages)
        set_content(&c->span, "gen_ai.output.messages", r->output_messages);
    if (r->error_type)
        osprey_span_set_status(&c->span, OSPREY_STATUS_ERROR, r->error_message);
}

void osprey_llm_end(osprey_llm_call *c, const osprey_llm_response *r)
{
    if (!c)
        return;
    static const osprey_llm_response no_response = {.input_tokens = -1,
                                                    .output_tokens = -1,
                                                    .cache_read_tokens = -1,
                                                    .cache_creation_tokens = -1};
    r = r ? r : &no_response;
    uint64_t end_ns = osprey_now_ns();
    set_response(c, r);
    if (c->first_ns)
        osprey_span_set_attr(&c->span, OSPREY_DOUBLE("gen_ai.response.time_to_first_chunk",
                                                     seconds(c->start_ns, c->first_ns)));
    record_seconds(c, H_DURATION, c->start_ns, end_ns, r->response_model, r->error_type);
    record_tokens(c, r->input_tokens, "input", r);
    record_tokens(c, r->output_tokens, "output", r);
    osprey_span_end(&c->span, end_ns);
    osp_free(c);
}
