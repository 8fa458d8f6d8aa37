/* Unit tests for model/genai: one span per convention, precedence, invalid values, TTFT and
 * TPOT rules, the cache rule, session inheritance, plain spans and message rendering. */
#include "testutil.h"

#include "core/err.h"
#include "core/mem.h"
#include "model/attr.h"
#include "model/genai.h"

#define T0 1700000000000000000ull /* span start */
#define SEC 1000000000ull
#define NBUFS 16

/* A span being built: its attribute and event blobs, nested values, and the result. */
typedef struct fx {
    osp_buf attrs, events, res_attrs;
    osp_buf nested[NBUFS]; /* bodies of structured values */
    size_t nnested;
    osp_span span;
    osp_resource res;
    osp_arena arena;
    osp_genai g;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    osp_buf_init(&f->attrs, 0);
    osp_buf_init(&f->events, 0);
    osp_buf_init(&f->res_attrs, 0);
    for (int i = 0; i < NBUFS; i++)
        osp_buf_init(&f->nested[i], 0);
    osp_arena_init(&f->arena, 0, 0);
    f->span.start_ns = T0;
    f->span.end_ns = T0 + 2 * SEC;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    osp_buf_cleanup(&f->attrs);
    osp_buf_cleanup(&f->events);
    osp_buf_cleanup(&f->res_attrs);
    for (int i = 0; i < NBUFS; i++)
        osp_buf_cleanup(&f->nested[i]);
    osp_arena_cleanup(&f->arena);
    free(f);
    return 0;
}

static osp_buf *nested(fx *f)
{
    assert_true(f->nnested < NBUFS);
    return &f->nested[f->nnested++];
}

static void put(osp_buf *b, const char *key, osp_value v)
{
    assert_int_equal(osp_attr_append(b, osp_str_c(key), &v), 0);
}

static osp_value vs(const char *s)
{
    return (osp_value){.type = OSP_VAL_STRING, .s = osp_str_c(s)};
}

static osp_value vi(int64_t i)
{
    return (osp_value){.type = OSP_VAL_INT, .i = i};
}

static osp_value vd(double d)
{
    return (osp_value){.type = OSP_VAL_DOUBLE, .d = d};
}

static osp_value vb(int b)
{
    return (osp_value){.type = OSP_VAL_BOOL, .i = b};
}

static void ps(fx *f, const char *key, const char *s)
{
    put(&f->attrs, key, vs(s));
}

static void pi(fx *f, const char *key, int64_t i)
{
    put(&f->attrs, key, vi(i));
}

/* A string array value of n elements. */
static osp_value varr(fx *f, const char *const *s, size_t n)
{
    osp_buf *b = nested(f);
    for (size_t i = 0; i < n; i++) {
        osp_value e = vs(s[i]);
        assert_int_equal(osp_array_append(b, &e), 0);
    }
    return (osp_value){.type = OSP_VAL_ARRAY, .s = osp_buf_str(b)};
}

static void add_event(fx *f, const char *name, uint64_t t, const char *exception_type)
{
    osp_buf *attrs = nested(f);
    if (exception_type)
        put(attrs, "exception.type", vs(exception_type));
    osp_event ev = {.time_ns = t, .name = osp_str_c(name), .attributes = osp_buf_str(attrs)};
    assert_int_equal(osp_events_append(&f->events, &ev), 0);
}

static const osp_genai *run(fx *f)
{
    f->span.attributes = osp_buf_str(&f->attrs);
    f->span.events = osp_buf_str(&f->events);
    f->res.attributes = osp_buf_str(&f->res_attrs);
    assert_int_equal(osp_genai_normalize(&f->span, &f->res, &f->arena, &f->g), 0);
    return &f->g;
}

static void str_is(osp_str s, const char *want)
{
    if (!osp_str_eqz(s, want))
        fail_msg("got \"%.*s\", want \"%s\"", OSP_STR_FMT(s), want);
}

/* The source of field: status, convention and attribute (NULL: none). */
static void src_is(const osp_genai *g, int field, int status, unsigned conv, const char *attr)
{
    const osp_genai_source *s = &g->src[field];
    if (s->status != status || s->convention != conv)
        fail_msg("%s: status %d conv %u, want %d %u (%s)", osp_genai_field_name(field), s->status,
                 s->convention, status, conv, s->reason ? s->reason : "");
    if (attr)
        assert_string_equal(s->attr, attr);
    else
        assert_null(s->attr);
}

static void filled(const osp_genai *g, int field, unsigned conv, const char *attr)
{
    src_is(g, field, OSP_GS_FILLED, conv, attr);
}

static void missing(const osp_genai *g, int field)
{
    src_is(g, field, OSP_GS_MISSING, 0, NULL);
}

/* {"role":role,"parts":[{"type":"text","content":text}]} */
static osp_value message(fx *f, const char *role, const char *text)
{
    osp_buf *part = nested(f), *parts = nested(f), *msg = nested(f);
    put(part, "type", vs("text"));
    put(part, "content", vs(text));
    osp_value pv = {.type = OSP_VAL_KVLIST, .s = osp_buf_str(part)};
    assert_int_equal(osp_array_append(parts, &pv), 0);
    put(msg, "role", vs(role));
    put(msg, "parts", (osp_value){.type = OSP_VAL_ARRAY, .s = osp_buf_str(parts)});
    return (osp_value){.type = OSP_VAL_KVLIST, .s = osp_buf_str(msg)};
}

/* One attribute of a test span and, when it fills a field, what the field must become
 * (status FILLED, attr = key). */
typedef struct sent {
    const char *key;
    char kind;        /* 's' string, 'i' int, 'b' bool, 'd' double */
    const char *text; /* the value (ints, bools and doubles in decimal) */
    int field;        /* the field it fills, or -1 */
    const char *want; /* the field as text (field_text); NULL: text */
    unsigned conv;
} sent;

#define NONE -1, NULL, 0

static void put_sent(fx *f, const sent *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        osp_value v = a[i].kind == 'i'   ? vi(atoll(a[i].text))
                      : a[i].kind == 'b' ? vb(atoi(a[i].text))
                      : a[i].kind == 'd' ? vd(strtod(a[i].text, NULL))
                                         : vs(a[i].text);
        put(&f->attrs, a[i].key, v);
    }
}

/* A field's value as text: the type's name, a string as is, numbers in decimal, -1 when
 * unknown. */
static const char *field_text(const osp_genai *g, int field, char *buf, size_t n)
{
    osp_str str;
    int64_t i = -1;
    if (osp_genai_field_value(g, field, &str, &i) == OSP_GV_STR)
        snprintf(buf, n, "%.*s", OSP_STR_FMT(str));
    else
        snprintf(buf, n, "%lld", (long long)i);
    return buf;
}

/* The field is text, with that status, convention and attribute. */
static void expect(const osp_genai *g, int field, const char *text, int status, unsigned conv,
                   const char *attr)
{
    char buf[1024];
    assert_string_equal(field_text(g, field, buf, sizeof buf), text);
    src_is(g, field, status, conv, attr);
}

/* Every attribute that fills a field did. */
static void check_sent(const osp_genai *g, const sent *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].field >= 0)
            expect(g, a[i].field, a[i].want ? a[i].want : a[i].text, OSP_GS_FILLED, a[i].conv,
                   a[i].key);
}

/* Builds a span of the attributes of a (and whatever f has already), normalizes it and
 * checks the fields they fill. */
#define RUN_SENT(f, a) run_sent((f), (a), sizeof(a) / sizeof((a)[0]))
static const osp_genai *run_sent(fx *f, const sent *a, size_t n)
{
    put_sent(f, a, n);
    const osp_genai *g = run(f);
    check_sent(g, a, n);
    return g;
}

#define C_OTEL OSP_CONV_OTEL
#define C_DEP OSP_CONV_OTEL_DEPRECATED
#define C_OI OSP_CONV_OPENINFERENCE
#define C_TL OSP_CONV_TRACELOOP
#define C_EINO OSP_CONV_EINO
#define C_LF OSP_CONV_LANGFUSE

static void test_otel_current(void **state)
{
    fx *f = *state;
    static const char *const reasons[] = {"stop", "length"};
    static const sent a[] = {
        {"http.method", 's', "POST", NONE},
        {"gen_ai.operation.name", 's', "chat", OSP_GF_TYPE, "llm", C_OTEL},
        {"gen_ai.provider.name", 's', "openai", OSP_GF_PROVIDER, NULL, C_OTEL},
        {"gen_ai.request.model", 's', "gpt-4o", OSP_GF_REQUEST_MODEL, NULL, C_OTEL},
        {"gen_ai.response.model", 's', "gpt-4o-0806", OSP_GF_RESPONSE_MODEL, NULL, C_OTEL},
        {"gen_ai.usage.input_tokens", 'i', "100", OSP_GF_INPUT_TOKENS, NULL, C_OTEL},
        {"gen_ai.usage.output_tokens", 'i', "21", OSP_GF_OUTPUT_TOKENS, NULL, C_OTEL},
        {"gen_ai.usage.cache_read.input_tokens", 'i', "30", OSP_GF_CACHE_READ_TOKENS, NULL, C_OTEL},
        {"gen_ai.usage.cache_write.input_tokens", 'i', "10", OSP_GF_CACHE_WRITE_TOKENS, NULL,
         C_OTEL},
        {"gen_ai.usage.reasoning.output_tokens", 'i', "5", OSP_GF_REASONING_TOKENS, NULL, C_OTEL},
        {"gen_ai.conversation.id", 's', "conv-1", OSP_GF_SESSION, NULL, C_OTEL},
        {"enduser.id", 's', "u-9", OSP_GF_USER, NULL, C_OTEL},
        {"gen_ai.agent.name", 's', "helper", OSP_GF_AGENT, NULL, C_OTEL},
        {"gen_ai.tool.name", 's', "search", OSP_GF_TOOL, NULL, C_OTEL},
        {"gen_ai.request.stream", 'b', "1", OSP_GF_STREAMING, NULL, C_OTEL},
        {"gen_ai.response.time_to_first_chunk", 'd', "0.5", OSP_GF_TTFT, "500000000", C_OTEL},
        {"gen_ai.output.messages", 's', "[{\"role\":\"assistant\"}]", OSP_GF_OUTPUT_TEXT, NULL,
         C_OTEL},
    };
    osp_buf *msgs = nested(f);
    osp_value m = message(f, "user", "hi \"there\"");
    assert_int_equal(osp_array_append(msgs, &m), 0);
    put(&f->attrs, "gen_ai.response.finish_reasons", varr(f, reasons, 2));
    put(&f->attrs, "gen_ai.input.messages",
        (osp_value){.type = OSP_VAL_ARRAY, .s = osp_buf_str(msgs)});
    const osp_genai *g = RUN_SENT(f, a);
    expect(g, OSP_GF_OPERATION, "chat", OSP_GS_FILLED, C_OTEL, "gen_ai.operation.name");
    expect(g, OSP_GF_FINISH_REASONS, "stop,length", OSP_GS_FILLED, C_OTEL,
           "gen_ai.response.finish_reasons");
    expect(g, OSP_GF_INPUT_TEXT,
           "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"hi \\\"there\\\"\"}]}]",
           OSP_GS_FILLED, C_OTEL, "gen_ai.input.messages");
    assert_int_equal(g->ttft_source, OSP_TTFT_ATTRIBUTE);
    assert_int_equal(g->tpot_ns, (2 * SEC - SEC / 2) / 20);
    assert_int_equal(g->src[OSP_GF_TPOT].status, OSP_GS_DERIVED);
    assert_int_equal(g->cache_in_input, 1);
    assert_int_equal(g->is_error, 0);
    expect(g, OSP_GF_ERROR_TYPE, "", OSP_GS_NOT_APPLICABLE, 0, NULL);
    assert_int_equal(g->conventions, C_OTEL);
}

/* Deprecated OTel names: gen_ai.system ("xai"), usage.prompt_tokens, gen_ai.prompt and
 * gen_ai.completion strings; no operation, so the type comes from the model. */
static void test_otel_deprecated(void **state)
{
    static const sent a[] = {
        {"gen_ai.system", 's', "xai", OSP_GF_PROVIDER, "x_ai", C_DEP},
        {"gen_ai.request.model", 's', "grok-2", OSP_GF_REQUEST_MODEL, NULL, C_OTEL},
        {"gen_ai.usage.prompt_tokens", 'i', "12", OSP_GF_INPUT_TOKENS, NULL, C_DEP},
        {"gen_ai.usage.completion_tokens", 's', "34", OSP_GF_OUTPUT_TOKENS, NULL, C_DEP},
        {"gen_ai.prompt", 's', "Tell me a joke", OSP_GF_INPUT_TEXT, NULL, C_DEP},
        {"gen_ai.completion", 's', "No.", OSP_GF_OUTPUT_TEXT, NULL, C_DEP},
    };
    const osp_genai *g = RUN_SENT(*state, a);
    expect(g, OSP_GF_TYPE, "llm", OSP_GS_DERIVED, C_OTEL, "gen_ai.request.model");
    expect(g, OSP_GF_OPERATION, "chat", OSP_GS_DERIVED, 0, "type");
    expect(g, OSP_GF_STREAMING, "-1", OSP_GS_MISSING, 0, NULL);
    expect(g, OSP_GF_TTFT, "-1", OSP_GS_MISSING, 0, NULL);
    expect(g, OSP_GF_TPOT, "-1", OSP_GS_NOT_APPLICABLE, 0, NULL);
    assert_string_equal(g->src[OSP_GF_TPOT].reason, "not streamed");
    expect(g, OSP_GF_SESSION, "", OSP_GS_MISSING, 0, NULL);
    expect(g, OSP_GF_RESPONSE_MODEL, "", OSP_GS_MISSING, 0, NULL);
    assert_int_equal(g->cache_in_input, -1);
    assert_int_equal(g->conventions, C_OTEL | C_DEP);
}

/* Flattened prompts and completions (OpenLLMetry): rebuilt in index order, whatever order
 * the attributes came in; finish reasons joined the same way. */
static void test_flattened_prompts(void **state)
{
    static const sent a[] = {
        {"gen_ai.request.model", 's', "gpt-3.5-turbo", NONE},
        {"gen_ai.prompt.1.role", 's', "user", NONE},
        {"gen_ai.prompt.1.content", 's', "Hello", NONE},
        {"gen_ai.prompt.0.content", 's', "Be brief.", NONE},
        {"gen_ai.prompt.0.role", 's', "system", NONE},
        {"gen_ai.prompt.10.role", 's', "user", NONE},
        {"gen_ai.prompt.10.content", 'i', "42", NONE},
        {"gen_ai.prompt.0.role", 's', "ignored duplicate", NONE},
        {"gen_ai.prompt.1234567890.role", 's', "ignored: index too long", NONE},
        {"gen_ai.completion.0.role", 's', "assistant", NONE},
        {"gen_ai.completion.0.content", 's', "Hi!", NONE},
        {"gen_ai.completion.0.finish_reason", 's', "stop", NONE},
        {"gen_ai.completion.1.finish_reason", 's', "length", NONE},
        {"gen_ai.completion.0.tool_calls.0.name", 's', "not a message part", NONE},
    };
    const osp_genai *g = RUN_SENT(*state, a);
    expect(g, OSP_GF_INPUT_TEXT,
           "[{\"role\":\"system\",\"content\":\"Be brief.\"},"
           "{\"role\":\"user\",\"content\":\"Hello\"},{\"role\":\"user\",\"content\":42}]",
           OSP_GS_FILLED, C_TL, "gen_ai.prompt.<i>.{role,content}");
    expect(g, OSP_GF_OUTPUT_TEXT, "[{\"role\":\"assistant\",\"content\":\"Hi!\"}]", OSP_GS_FILLED,
           C_TL, "gen_ai.completion.<i>.{role,content}");
    expect(g, OSP_GF_FINISH_REASONS, "stop,length", OSP_GS_FILLED, C_TL,
           "gen_ai.completion.<i>.finish_reason");
}

static void test_openinference(void **state)
{
    static const sent a[] = {
        {"openinference.span.kind", 's', "LLM", OSP_GF_TYPE, "llm", C_OI},
        {"llm.provider", 's', "openai", OSP_GF_PROVIDER, NULL, C_OI},
        {"llm.system", 's', "ignored: llm.provider wins", NONE},
        {"llm.model_name", 's', "gpt-4o-mini", OSP_GF_REQUEST_MODEL, NULL, C_OI},
        {"llm.token_count.prompt", 'i', "50", OSP_GF_INPUT_TOKENS, NULL, C_OI},
        {"llm.token_count.completion", 'i', "8", OSP_GF_OUTPUT_TOKENS, NULL, C_OI},
        {"llm.token_count.prompt_details.cache_read", 'i', "20", OSP_GF_CACHE_READ_TOKENS, NULL,
         C_OI},
        {"llm.token_count.prompt_details.cache_write", 'i', "3", OSP_GF_CACHE_WRITE_TOKENS, NULL,
         C_OI},
        {"llm.token_count.completion_details.reasoning", 'i', "2", OSP_GF_REASONING_TOKENS, NULL,
         C_OI},
        {"session.id", 's', "s-1", OSP_GF_SESSION, NULL, C_OI},
        {"user.id", 'i', "77", OSP_GF_USER, NULL, C_OI},
        {"agent.name", 's', "oi-agent", OSP_GF_AGENT, NULL, C_OI},
        {"tool.name", 's', "oi-tool", OSP_GF_TOOL, NULL, C_OI},
        {"llm.finish_reason", 's', "stop", OSP_GF_FINISH_REASONS, NULL, C_OI},
        {"input.value", 's', "{\"messages\":[]}", OSP_GF_INPUT_TEXT, NULL, C_OI},
        {"llm.input_messages.0.message.role", 's', "user", NONE},
        {"llm.input_messages.0.message.content", 's', "ignored: input.value wins", NONE},
        {"llm.output_messages.0.message.role", 's', "assistant", NONE},
        {"llm.output_messages.0.message.content", 's', "Sure", NONE},
    };
    const osp_genai *g = RUN_SENT(*state, a);
    expect(g, OSP_GF_OPERATION, "chat", OSP_GS_DERIVED, 0, "type");
    expect(g, OSP_GF_OUTPUT_TEXT, "[{\"role\":\"assistant\",\"content\":\"Sure\"}]", OSP_GS_FILLED,
           C_OI, "llm.output_messages.<i>.message.{role,content}");
    assert_int_equal(g->cache_in_input, 1);
    assert_int_equal(g->conventions, C_OI);
}

/* OpenLLMetry / Traceloop: an LLM span with Anthropic-style cache counts beside the input,
 * a streaming flag, association properties and a completion-start time. */
static void test_traceloop_llm(void **state)
{
    static const sent a[] = {
        {"llm.request.type", 's', "chat", OSP_GF_TYPE, "llm", C_TL},
        {"gen_ai.system", 's', "Anthropic", OSP_GF_PROVIDER, "anthropic", C_DEP},
        {"gen_ai.request.model", 's', "claude-sonnet-4", NONE},
        {"llm.response.model", 's', "claude-4-0514", OSP_GF_RESPONSE_MODEL, NULL, C_TL},
        {"gen_ai.usage.prompt_tokens", 'i', "100", NONE},
        {"gen_ai.usage.completion_tokens", 'i', "11", NONE},
        {"gen_ai.usage.cache_read_input_tokens", 'i', "500", OSP_GF_CACHE_READ_TOKENS, NULL, C_TL},
        {"gen_ai.usage.cache_creation_input_tokens", 'i', "40", OSP_GF_CACHE_WRITE_TOKENS, NULL,
         C_TL},
        {"gen_ai.usage.reasoning_tokens", 'i', "1", OSP_GF_REASONING_TOKENS, NULL, C_TL},
        {"llm.is_streaming", 'b', "1", OSP_GF_STREAMING, NULL, C_TL},
        {"llm.response.stop_reason", 's', "end_turn", OSP_GF_FINISH_REASONS, NULL, C_TL},
        {"traceloop.association.properties.session_id", 's', "tl-s", OSP_GF_SESSION, NULL, C_TL},
        {"traceloop.association.properties.user_id", 's', "tl-u", OSP_GF_USER, NULL, C_TL},
        {"traceloop.entity.name", 's', "not an agent: no span kind", NONE},
        /* T0 is 2023-11-14T22:13:20Z */
        {"gen_ai.completion_start_time", 's', "2023-11-14T22:13:20.25Z", OSP_GF_TTFT, "250000000",
         C_TL},
    };
    const osp_genai *g = RUN_SENT(*state, a);
    expect(g, OSP_GF_INPUT_TOKENS, "640", OSP_GS_DERIVED, C_DEP, "gen_ai.usage.prompt_tokens");
    assert_int_equal(g->cache_in_input, 0);
    expect(g, OSP_GF_AGENT, "", OSP_GS_MISSING, 0, NULL);
    expect(g, OSP_GF_TOOL, "", OSP_GS_MISSING, 0, NULL);
    assert_int_equal(g->ttft_source, OSP_TTFT_COMPLETION_START);
    assert_int_equal(g->tpot_ns, (2 * SEC - SEC / 4) / 10);
    assert_int_equal(g->conventions, C_TL | C_DEP | C_OTEL);
}

/* Traceloop decorators: the entity name is the agent's or tool's by traceloop.span.kind;
 * the oldest OpenLLMetry names (llm.vendor, llm.usage.*). */
static void test_traceloop_entities(void **state)
{
    fx *f = *state;
    static const sent agent[] = {
        {"traceloop.span.kind", 's', "agent", OSP_GF_TYPE, "agent", C_TL},
        {"traceloop.entity.name", 's', "planner", OSP_GF_AGENT, NULL, C_TL},
        {"traceloop.entity.input", 's', "{\"goal\":\"x\"}", OSP_GF_INPUT_TEXT, NULL, C_TL},
        {"traceloop.entity.output", 's', "done", OSP_GF_OUTPUT_TEXT, NULL, C_TL},
    };
    static const sent tool[] = {
        {"traceloop.span.kind", 's', "TOOL", OSP_GF_TYPE, "tool", C_TL},
        {"traceloop.entity.name", 's', "calculator", OSP_GF_TOOL, NULL, C_TL},
    };
    static const sent oldest[] = {
        {"traceloop.span.kind", 's', "task", OSP_GF_TYPE, "chain", C_TL},
        {"llm.vendor", 's', "OpenAI", OSP_GF_PROVIDER, "openai", C_TL},
        {"llm.request.model", 's', "text-davinci-003", OSP_GF_REQUEST_MODEL, NULL, C_TL},
        {"llm.usage.prompt_tokens", 'i', "7", OSP_GF_INPUT_TOKENS, NULL, C_TL},
        {"llm.usage.completion_tokens", 'i', "9", OSP_GF_OUTPUT_TOKENS, NULL, C_TL},
        {"llm.usage.cache_read_input_tokens", 'i', "2", OSP_GF_CACHE_READ_TOKENS, NULL, C_TL},
        {"llm.usage.reasoning_tokens", 'i', "4", OSP_GF_REASONING_TOKENS, NULL, C_TL},
    };
    const osp_genai *g = RUN_SENT(f, agent);
    expect(g, OSP_GF_OPERATION, "invoke_agent", OSP_GS_DERIVED, 0, "type");
    expect(g, OSP_GF_TOOL, "", OSP_GS_MISSING, 0, NULL);
    osp_buf_reset(&f->attrs);
    g = RUN_SENT(f, tool);
    expect(g, OSP_GF_OPERATION, "execute_tool", OSP_GS_DERIVED, 0, "type");
    expect(g, OSP_GF_AGENT, "", OSP_GS_MISSING, 0, NULL);
    osp_buf_reset(&f->attrs);
    g = RUN_SENT(f, oldest);
    expect(g, OSP_GF_OPERATION, "", OSP_GS_MISSING, 0, NULL); /* a chain implies none */
}

/* CloudWeGo Eino's APMPlus handler. */
static void test_eino(void **state)
{
    fx *f = *state;
    static const sent a[] = {
        {"gen_ai.span.kind", 's', "ChatModel", OSP_GF_TYPE, "llm", C_EINO},
        {"gen_ai.system", 's', "ark", OSP_GF_PROVIDER, NULL, C_DEP},
        {"gen_ai.request.model", 's', "doubao-pro", OSP_GF_REQUEST_MODEL, NULL, C_OTEL},
        {"gen_ai.usage.output_tokens", 'i', "3", OSP_GF_OUTPUT_TOKENS, NULL, C_OTEL},
        {"gen_ai.session.id", 's', "e-s", OSP_GF_SESSION, NULL, C_EINO},
        {"gen_ai.user.id", 's', "e-u", OSP_GF_USER, NULL, C_EINO},
        {"gen_ai.is_streaming", 's', "true", OSP_GF_STREAMING, "1", C_EINO},
    };
    static const struct {
        const char *kind;
        int type;
    } kinds[] = {{"tool", OSP_GENAI_TOOL},
                 {"Agent", OSP_GENAI_AGENT},
                 {"retriever", OSP_GENAI_RETRIEVER},
                 {"embedding", OSP_GENAI_EMBEDDING},
                 {"graph", OSP_GENAI_CHAIN},
                 {"workflow", OSP_GENAI_WORKFLOW},
                 {"model", OSP_GENAI_LLM}};
    add_event(f, "first_token", T0 + SEC, NULL);
    const osp_genai *g = RUN_SENT(f, a);
    expect(g, OSP_GF_TTFT, "1000000000", OSP_GS_FILLED, 0, "span event *first_token*");
    assert_int_equal(g->ttft_source, OSP_TTFT_EVENT);
    assert_int_equal(g->tpot_ns, SEC / 2);
    assert_int_equal(g->conventions, C_EINO | C_OTEL | C_DEP);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) { /* the other span kinds */
        osp_buf_reset(&f->attrs);
        ps(f, "gen_ai.span.kind", kinds[i].kind);
        assert_int_equal(run(f)->type, kinds[i].type);
    }
}

static void test_langfuse(void **state)
{
    static const sent a[] = {
        {"langfuse.observation.type", 's', "generation", OSP_GF_TYPE, "llm", C_LF},
        {"langfuse.observation.model.name", 's', "mistral-large", OSP_GF_REQUEST_MODEL, NULL, C_LF},
        {"langfuse.session.id", 's', "lf-s", OSP_GF_SESSION, NULL, C_LF},
        {"langfuse.user.id", 's', "lf-u", OSP_GF_USER, NULL, C_LF},
        /* no zone: UTC */
        {"langfuse.observation.completion_start_time", 's', "2023-11-14T22:13:20.5", OSP_GF_TTFT,
         "500000000", C_LF},
        {"langfuse.observation.input", 's', "question", OSP_GF_INPUT_TEXT, NULL, C_LF},
        {"langfuse.observation.output", 's', "answer", OSP_GF_OUTPUT_TEXT, NULL, C_LF},
    };
    const osp_genai *g = RUN_SENT(*state, a);
    expect(g, OSP_GF_STREAMING, "1", OSP_GS_DERIVED, C_LF,
           "langfuse.observation.completion_start_time");
    expect(g, OSP_GF_TPOT, "-1", OSP_GS_NOT_APPLICABLE, 0, NULL);
    assert_string_equal(g->src[OSP_GF_TPOT].reason, "fewer than 2 output tokens");
    assert_int_equal(g->conventions, C_LF);
}

/* When conventions disagree the table order decides; an unusable value gives way to the
 * next row; every matching convention is recorded. */
static void test_precedence(void **state)
{
    fx *f = *state;
    ps(f, "llm.model_name", "oi-model");
    ps(f, "gen_ai.request.model", "otel-model");
    pi(f, "gen_ai.usage.input_tokens", -5);
    pi(f, "llm.token_count.prompt", 7);
    ps(f, "gen_ai.operation.name", "dance");
    ps(f, "openinference.span.kind", "TOOL");
    ps(f, "llm.provider", "MistralAI");
    ps(f, "session.id", "oi");
    ps(f, "gen_ai.conversation.id", "otel");
    const osp_genai *g = run(f);
    str_is(g->request_model, "otel-model");
    filled(g, OSP_GF_REQUEST_MODEL, OSP_CONV_OTEL, "gen_ai.request.model");
    assert_int_equal(g->input_tokens, 7);
    filled(g, OSP_GF_INPUT_TOKENS, OSP_CONV_OPENINFERENCE, "llm.token_count.prompt");
    assert_int_equal(g->type, OSP_GENAI_TOOL);
    filled(g, OSP_GF_TYPE, OSP_CONV_OPENINFERENCE, "openinference.span.kind");
    str_is(g->operation, "dance"); /* as sent */
    filled(g, OSP_GF_OPERATION, OSP_CONV_OTEL, "gen_ai.operation.name");
    str_is(g->provider, "mistral_ai");
    str_is(g->session_id, "otel");
    assert_int_equal(g->conventions, OSP_CONV_OTEL | OSP_CONV_OPENINFERENCE);
}

/* Unusable values: INVALID with the reason, the field left empty. */
static void test_invalid_values(void **state)
{
    fx *f = *state;
    ps(f, "gen_ai.operation.name", "chat");
    pi(f, "gen_ai.usage.input_tokens", -1);
    put(&f->attrs, "gen_ai.usage.output_tokens", vd(3.5));
    put(&f->attrs, "gen_ai.usage.cache_read.input_tokens", vs("12x"));
    put(&f->attrs, "gen_ai.usage.reasoning.output_tokens", vb(1));
    put(&f->attrs, "gen_ai.usage.cache_write.input_tokens", vs("99999999999999999999"));
    ps(f, "gen_ai.request.model", "");
    pi(f, "gen_ai.provider.name", 3);
    ps(f, "gen_ai.request.stream", "maybe");
    put(&f->attrs, "gen_ai.response.time_to_first_chunk", vd(-0.1));
    put(&f->attrs, "gen_ai.input.messages", vd(1.0));
    static const char *const none[] = {""};
    put(&f->attrs, "gen_ai.response.finish_reasons", varr(f, none, 1));
    const osp_genai *g = run(f);
    static const struct {
        int field;
        const char *attr, *reason;
    } want[] = {
        {OSP_GF_INPUT_TOKENS, "gen_ai.usage.input_tokens", "negative"},
        {OSP_GF_OUTPUT_TOKENS, "gen_ai.usage.output_tokens", "not an integer"},
        {OSP_GF_CACHE_READ_TOKENS, "gen_ai.usage.cache_read.input_tokens", "not an integer"},
        {OSP_GF_REASONING_TOKENS, "gen_ai.usage.reasoning.output_tokens", "not a number"},
        {OSP_GF_CACHE_WRITE_TOKENS, "gen_ai.usage.cache_write.input_tokens", "too large"},
        {OSP_GF_REQUEST_MODEL, "gen_ai.request.model", "empty string"},
        {OSP_GF_PROVIDER, "gen_ai.provider.name", "not a string"},
        {OSP_GF_STREAMING, "gen_ai.request.stream", "not a boolean"},
        {OSP_GF_TTFT, "gen_ai.response.time_to_first_chunk", "negative or not a number"},
        {OSP_GF_INPUT_TEXT, "gen_ai.input.messages", "not a string or structured value"},
        {OSP_GF_FINISH_REASONS, "gen_ai.response.finish_reasons", "no string reasons"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        src_is(g, want[i].field, OSP_GS_INVALID, OSP_CONV_OTEL, want[i].attr);
        assert_string_equal(g->src[want[i].field].reason, want[i].reason);
    }
    assert_int_equal(g->input_tokens, -1);
    assert_int_equal(g->output_tokens, -1);
    assert_int_equal(g->request_model.n, 0);
    assert_int_equal(g->provider.n, 0);
    assert_int_equal(g->streaming, -1);
    assert_int_equal(g->ttft_ns, -1);
    assert_int_equal(g->finish_reasons.n, 0);
    assert_int_equal(g->cache_in_input, -1);

    /* integral doubles and decimal strings are counts */
    osp_buf_reset(&f->attrs);
    put(&f->attrs, "gen_ai.usage.input_tokens", vd(40.0));
    put(&f->attrs, "gen_ai.usage.output_tokens", vs("12"));
    g = run(f);
    assert_int_equal(g->input_tokens, 40);
    assert_int_equal(g->output_tokens, 12);
    assert_int_equal(g->type, OSP_GENAI_LLM);
}

/* TTFT: an event first, then a completion-start attribute, then time_to_first_chunk; a
 * source out of the span's bounds gives way to the next. */
static void test_ttft_sources(void **state)
{
    fx *f = *state;
    ps(f, "gen_ai.operation.name", "chat");
    put(&f->attrs, "gen_ai.response.time_to_first_chunk", vd(1.5));
    pi(f, "llm.completion_start_time", (int64_t)(T0 + SEC));
    add_event(f, "First Token Stream Event", T0 + SEC / 10, NULL);
    const osp_genai *g = run(f);
    assert_int_equal(g->ttft_ns, SEC / 10);
    assert_int_equal(g->ttft_source, OSP_TTFT_EVENT);
    filled(g, OSP_GF_TTFT, 0, "span event *first token*");

    osp_buf_reset(&f->events);
    add_event(f, "gen_ai.content.first_chunk", T0 - 1, NULL); /* before the start */
    g = run(f);
    assert_int_equal(g->ttft_ns, SEC);
    assert_int_equal(g->ttft_source, OSP_TTFT_COMPLETION_START);
    filled(g, OSP_GF_TTFT, OSP_CONV_TRACELOOP, "llm.completion_start_time");

    osp_buf_reset(&f->attrs);
    ps(f, "gen_ai.operation.name", "chat");
    put(&f->attrs, "gen_ai.response.time_to_first_chunk", vd(1.5));
    ps(f, "llm.completion_start_time", "2023-11-14T22:13:25Z"); /* after the end */
    g = run(f);
    assert_int_equal(g->ttft_ns, 3 * SEC / 2);
    assert_int_equal(g->ttft_source, OSP_TTFT_ATTRIBUTE);

    osp_buf_reset(&f->attrs);
    ps(f, "gen_ai.operation.name", "chat");
    put(&f->attrs, "gen_ai.response.time_to_first_chunk", vd(2.5));
    put(&f->attrs, "langfuse.observation.completion_start_time", vs("1700000000750000000"));
    g = run(f);
    assert_int_equal(g->ttft_ns, 3 * SEC / 4);

    /* every source unusable: INVALID with the first one's reason */
    osp_buf_reset(&f->attrs);
    ps(f, "gen_ai.operation.name", "chat");
    put(&f->attrs, "gen_ai.response.time_to_first_chunk", vd(2.5));
    ps(f, "gen_ai.completion_start_time", "soon");
    g = run(f);
    assert_int_equal(g->ttft_ns, -1);
    src_is(g, OSP_GF_TTFT, OSP_GS_INVALID, 0, "span event *first_chunk*");
    assert_string_equal(g->src[OSP_GF_TTFT].reason, "before the span start");

    osp_buf_reset(&f->events);
    g = run(f);
    src_is(g, OSP_GF_TTFT, OSP_GS_INVALID, OSP_CONV_TRACELOOP, "gen_ai.completion_start_time");
    assert_string_equal(g->src[OSP_GF_TTFT].reason, "not an RFC 3339 time or unix nanoseconds");
    assert_int_equal(g->ttft_source, OSP_TTFT_NONE);
}

/* A span whose end lies more than INT64_MAX ns after its start (a corrupt end time): no
 * source may give a TTFT that int64 nanoseconds cannot hold. */
static void test_ttft_beyond_int64(void **state)
{
    fx *f = *state;
    f->span.end_ns = UINT64_MAX;
    ps(f, "gen_ai.operation.name", "chat");
    add_event(f, "gen_ai.first_token", T0 + (uint64_t)INT64_MAX + 1, NULL);
    const osp_genai *g = run(f);
    assert_int_equal(g->ttft_ns, -1);
    assert_string_equal(g->src[OSP_GF_TTFT].reason, "more than 292 years after the span start");

    osp_buf_reset(&f->events);
    put(&f->attrs, "gen_ai.response.time_to_first_chunk", vd(1e10)); /* 317 years */
    g = run(f);
    assert_int_equal(g->ttft_ns, -1);
    assert_string_equal(g->src[OSP_GF_TTFT].reason, "longer than the span");

    add_event(f, "gen_ai.first_token", T0 + (uint64_t)INT64_MAX, NULL); /* the longest */
    g = run(f);
    assert_int_equal(g->ttft_ns, INT64_MAX);
}

/* TPOT needs a streamed call, a TTFT and two output tokens; a server TTFT fills in. */
static void test_tpot(void **state)
{
    fx *f = *state;
    ps(f, "gen_ai.operation.name", "chat");
    pi(f, "gen_ai.usage.output_tokens", 5);
    put(&f->attrs, "gen_ai.request.stream", vb(0));
    add_event(f, "gen_ai.first_token", T0 + SEC, NULL);
    const osp_genai *g = run(f);
    assert_int_equal(g->ttft_ns, SEC);
    assert_int_equal(g->streaming, 0); /* the flag wins over the event */
    assert_int_equal(g->tpot_ns, -1);
    src_is(g, OSP_GF_TPOT, OSP_GS_NOT_APPLICABLE, 0, NULL);
    assert_string_equal(g->src[OSP_GF_TPOT].reason, "not streamed");

    osp_buf_reset(&f->attrs);
    ps(f, "gen_ai.operation.name", "chat");
    pi(f, "gen_ai.usage.output_tokens", 5);
    g = run(f); /* streaming derived from the event */
    assert_int_equal(g->streaming, 1);
    src_is(g, OSP_GF_STREAMING, OSP_GS_DERIVED, 0, "span event *first_token*");
    assert_int_equal(g->tpot_ns, SEC / 4);

    osp_buf_reset(&f->events);
    put(&f->attrs, "gen_ai.request.stream", vb(1));
    g = run(f);
    assert_string_equal(g->src[OSP_GF_TPOT].reason, "no TTFT");
    osp_genai copy = *g;
    osp_genai_set_server_ttft(&copy, &f->span, 3 * SEC); /* past the end: ignored */
    assert_int_equal(copy.ttft_ns, -1);
    osp_genai_set_server_ttft(&copy, &f->span, SEC / 2);
    assert_int_equal(copy.ttft_ns, SEC / 2);
    assert_int_equal(copy.ttft_source, OSP_TTFT_SERVER_METRIC);
    assert_int_equal(copy.src[OSP_GF_TTFT].status, OSP_GS_DERIVED);
    assert_int_equal(copy.tpot_ns, (2 * SEC - SEC / 2) / 4);
    osp_genai_set_server_ttft(&copy, &f->span, SEC); /* the span's own TTFT stays */
    assert_int_equal(copy.ttft_ns, SEC / 2);

    osp_buf_reset(&f->attrs);
    ps(f, "gen_ai.operation.name", "chat");
    put(&f->attrs, "gen_ai.request.stream", vb(1));
    pi(f, "gen_ai.usage.output_tokens", 1);
    put(&f->attrs, "gen_ai.response.time_to_first_chunk", vi(1));
    g = run(f);
    assert_int_equal(g->ttft_ns, SEC);
    assert_string_equal(g->src[OSP_GF_TPOT].reason, "fewer than 2 output tokens");
}

/* cache_in_input: counts within the input stay; larger ones were counted beside it. */
static void test_cache_rule(void **state)
{
    fx *f = *state;
    pi(f, "gen_ai.usage.input_tokens", 100);
    pi(f, "gen_ai.usage.cache_read.input_tokens", 60);
    pi(f, "gen_ai.usage.cache_creation.input_tokens", 40);
    const osp_genai *g = run(f);
    assert_int_equal(g->cache_in_input, 1);
    assert_int_equal(g->input_tokens, 100);
    filled(g, OSP_GF_INPUT_TOKENS, OSP_CONV_OTEL, "gen_ai.usage.input_tokens");
    filled(g, OSP_GF_CACHE_WRITE_TOKENS, OSP_CONV_OTEL, "gen_ai.usage.cache_creation.input_tokens");

    osp_buf_reset(&f->attrs);
    pi(f, "gen_ai.usage.input_tokens", 100);
    pi(f, "gen_ai.usage.cache_read.input_tokens", 61);
    pi(f, "gen_ai.usage.cache_creation.input_tokens", 40);
    g = run(f);
    assert_int_equal(g->cache_in_input, 0);
    assert_int_equal(g->input_tokens, 201);
    assert_int_equal(g->src[OSP_GF_INPUT_TOKENS].status, OSP_GS_DERIVED);

    osp_buf_reset(&f->attrs);
    pi(f, "gen_ai.usage.input_tokens", 100);
    g = run(f);
    assert_int_equal(g->cache_in_input, -1);
}

/* Normalizes a span whose attributes are blob into *g. */
static void normalize_blob(fx *f, const osp_buf *blob, osp_genai *g)
{
    osp_span span = f->span;
    span.attributes = osp_buf_str(blob);
    assert_int_equal(osp_genai_normalize(&span, NULL, &f->arena, g), 0);
}

/* Session and user ids flow from a parent to children without their own. */
static void test_inherit(void **state)
{
    fx *f = *state;
    osp_buf *root = nested(f), *llm = nested(f), *tool = nested(f);
    osp_genai parent, child, grandchild;
    put(root, "http.route", vs("/chat"));
    put(root, "session.id", vs("root-session"));
    put(root, "langfuse.user.id", vs("root-user"));
    put(llm, "gen_ai.operation.name", vs("chat"));
    put(llm, "user.id", vs("own-user"));
    put(tool, "gen_ai.operation.name", vs("execute_tool"));
    normalize_blob(f, root, &parent);
    normalize_blob(f, llm, &child);
    normalize_blob(f, tool, &grandchild);
    assert_int_equal(parent.type, OSP_GENAI_NONE);
    str_is(parent.session_id, "root-session");
    filled(&parent, OSP_GF_USER, OSP_CONV_LANGFUSE, "langfuse.user.id");

    missing(&child, OSP_GF_SESSION);
    osp_genai_inherit(&child, &parent);
    str_is(child.session_id, "root-session");
    src_is(&child, OSP_GF_SESSION, OSP_GS_INHERITED, OSP_CONV_OPENINFERENCE, "session.id");
    str_is(child.user_id, "own-user");
    filled(&child, OSP_GF_USER, OSP_CONV_OPENINFERENCE, "user.id");

    osp_genai_inherit(&grandchild, &child);
    str_is(grandchild.session_id, "root-session");
    src_is(&grandchild, OSP_GF_SESSION, OSP_GS_INHERITED, OSP_CONV_OPENINFERENCE, "session.id");
    str_is(grandchild.user_id, "own-user");
    src_is(&grandchild, OSP_GF_USER, OSP_GS_INHERITED, OSP_CONV_OPENINFERENCE, "user.id");
}

/* A plain HTTP span: NONE, every field MISSING; so is a corrupt attribute blob. */
static void test_plain_span(void **state)
{
    fx *f = *state;
    ps(f, "http.request.method", "GET");
    ps(f, "url.full", "https://example.com/llm.html");
    pi(f, "http.response.status_code", 500);
    ps(f, "error.type", "500");
    ps(f, "server.address", "example.com");
    add_event(f, "exception", T0, "IOError");
    add_event(f, "first_token", T0 + 1, NULL);
    f->span.status_code = OSP_STATUS_ERROR;
    const osp_genai *g = run(f);
    assert_int_equal(g->type, OSP_GENAI_NONE);
    for (int i = 0; i < OSP_GF_COUNT; i++)
        missing(g, i);
    assert_int_equal(g->conventions, 0);
    assert_int_equal(g->input_tokens, -1);
    assert_int_equal(g->ttft_ns, -1);
    assert_int_equal(g->streaming, -1);
    assert_int_equal(g->error_type.n, 0);

    osp_buf_reset(&f->attrs);
    ps(f, "gen_ai.operation.name", "chat");
    assert_int_equal(osp_buf_append(&f->attrs, "\x0a\x10\x0a", 3), 0); /* cut short */
    g = run(f);
    assert_int_equal(g->type, OSP_GENAI_NONE);
    assert_int_equal(g->conventions, 0);
}

/* error_type: error.type, else the exception's type, else _OTHER. */
static void test_error_type(void **state)
{
    fx *f = *state;
    ps(f, "gen_ai.operation.name", "chat");
    add_event(f, "exception", T0, "RateLimitError");
    f->span.status_code = OSP_STATUS_ERROR;
    const osp_genai *g = run(f);
    assert_int_equal(g->is_error, 1);
    str_is(g->error_type, "RateLimitError");
    filled(g, OSP_GF_ERROR_TYPE, OSP_CONV_OTEL, "exception event: exception.type");

    ps(f, "error.type", "timeout");
    g = run(f);
    str_is(g->error_type, "timeout");
    filled(g, OSP_GF_ERROR_TYPE, OSP_CONV_OTEL, "error.type");

    osp_buf_reset(&f->attrs);
    osp_buf_reset(&f->events);
    ps(f, "gen_ai.operation.name", "chat");
    g = run(f);
    str_is(g->error_type, "_OTHER");
    src_is(g, OSP_GF_ERROR_TYPE, OSP_GS_DERIVED, 0, NULL);
}

/* The provider comes from the resource only when the span has none. */
static void test_provider_from_resource(void **state)
{
    fx *f = *state;
    put(&f->res_attrs, "gen_ai.system", vs("XAI"));
    ps(f, "gen_ai.operation.name", "chat");
    const osp_genai *g = run(f);
    str_is(g->provider, "x_ai");
    src_is(g, OSP_GF_PROVIDER, OSP_GS_DERIVED, OSP_CONV_OTEL_DEPRECATED, "gen_ai.system");
    assert_int_equal(g->conventions, OSP_CONV_OTEL | OSP_CONV_OTEL_DEPRECATED);

    ps(f, "gen_ai.provider.name", "anthropic");
    g = run(f);
    str_is(g->provider, "anthropic");
    filled(g, OSP_GF_PROVIDER, OSP_CONV_OTEL, "gen_ai.provider.name");

    osp_buf_reset(&f->attrs);
    ps(f, "http.route", "/");
    g = run(f); /* not an AI span: the resource alone does not make one */
    assert_int_equal(g->type, OSP_GENAI_NONE);
    missing(g, OSP_GF_PROVIDER);
}

/* Out of memory while rendering: OSP_ENOMEM, nothing leaked. */
static void test_out_of_memory(void **state)
{
    fx *f = *state;
    ps(f, "gen_ai.prompt.0.role", "user");
    ps(f, "gen_ai.prompt.0.content", "hi");
    f->span.attributes = osp_buf_str(&f->attrs);
    size_t before = osp_mem_in_use();
    for (unsigned long n = 1; n <= 3; n++) {
        osp_arena a;
        osp_arena_init(&a, 0, 0);
        osp_mem_fail_after(n);
        int rc = osp_genai_normalize(&f->span, NULL, &a, &f->g);
        osp_mem_fail_after(0);
        osp_arena_cleanup(&a);
        assert_true(rc == OSP_ENOMEM || rc == 0);
        assert_int_equal(osp_mem_in_use(), before);
    }
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_mem_fail_after(1);
    assert_int_equal(osp_genai_normalize(&f->span, NULL, &a, &f->g), OSP_ENOMEM);
    osp_mem_fail_after(0);
    osp_arena_cleanup(&a);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(osp_genai_type_name(OSP_GENAI_NONE), "none");
    assert_string_equal(osp_genai_type_name(OSP_GENAI_EVALUATOR), "evaluator");
    assert_string_equal(osp_genai_type_name(OSP_GENAI_TYPE_COUNT), "unknown");
    assert_string_equal(osp_genai_convention_name(OSP_CONV_OTEL), "otel");
    assert_string_equal(osp_genai_convention_name(OSP_CONV_LANGFUSE), "langfuse");
    assert_string_equal(osp_genai_convention_name(OSP_CONV_OTEL | OSP_CONV_EINO), "unknown");
    assert_string_equal(osp_genai_convention_name(0), "unknown");
    assert_string_equal(osp_genai_field_name(OSP_GF_TYPE), "type");
    assert_string_equal(osp_genai_field_name(OSP_GF_SESSION), "session_id");
    assert_string_equal(osp_genai_field_name(OSP_GF_OUTPUT_TEXT), "output_text");
    assert_string_equal(osp_genai_field_name(-1), "unknown");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_otel_current),
        T(test_otel_deprecated),
        T(test_flattened_prompts),
        T(test_openinference),
        T(test_traceloop_llm),
        T(test_traceloop_entities),
        T(test_eino),
        T(test_langfuse),
        T(test_precedence),
        T(test_invalid_values),
        T(test_ttft_sources),
        T(test_ttft_beyond_int64),
        T(test_tpot),
        T(test_cache_rule),
        T(test_inherit),
        T(test_plain_span),
        T(test_error_type),
        T(test_provider_from_resource),
        T(test_out_of_memory),
        T(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
