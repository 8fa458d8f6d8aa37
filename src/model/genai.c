/* GenAI normalization: the mapping table (docs/genai.md) and the rules of model/genai.h. */
#include "model/genai.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/rfc3339.h"
#include "model/attr.h"

/* How a row's value is read. */
enum kind {
    K_TYPE,         /* a span kind or operation name: the type vocabulary below */
    K_STR,          /* a non-empty string */
    K_PROVIDER,     /* a provider name, mapped onto the gen_ai.provider.name vocabulary */
    K_COUNT,        /* a token count: int, integral double or decimal string */
    K_ID,           /* a session or user id: string or int */
    K_BOOL,         /* bool, "true"/"false", 0/1 */
    K_REASONS,      /* a string or a string array, comma-joined */
    K_TIME,         /* an absolute completion-start time: RFC 3339 string or unix ns */
    K_SECONDS,      /* a duration in seconds since the span start */
    K_TEXT,         /* message text: a string, or a structured value rendered as JSON */
    K_FLAT_MSGS,    /* pattern PREFIX<i>SUB{role,content}: rebuilt as a JSON array */
    K_FLAT_REASONS, /* pattern PREFIX<i>SUFFIX: joined in index order */
    K_TL_AGENT,     /* a string, used only when traceloop.span.kind is "agent" */
    K_TL_TOOL,      /* a string, used only when traceloop.span.kind is "tool" */
};

typedef struct row {
    const char *key; /* the attribute; for K_FLAT_* a pattern with "<i>" for the index */
    uint8_t field;   /* enum osp_genai_field */
    uint8_t conv;    /* enum osp_genai_convention */
    uint8_t kind;    /* enum kind */
} row;

#define C_OTEL OSP_CONV_OTEL
#define C_DEP OSP_CONV_OTEL_DEPRECATED
#define C_OI OSP_CONV_OPENINFERENCE
#define C_TL OSP_CONV_TRACELOOP
#define C_EINO OSP_CONV_EINO
#define C_LF OSP_CONV_LANGFUSE

/* The mapping: for each field, its rows in order of precedence (first usable value wins).
 * Bump OSP_GENAI_MAPPING_VERSION and docs/genai.md with any change. */
static const row rows[] = {
    {"gen_ai.operation.name", OSP_GF_TYPE, C_OTEL, K_TYPE},
    {"openinference.span.kind", OSP_GF_TYPE, C_OI, K_TYPE},
    {"traceloop.span.kind", OSP_GF_TYPE, C_TL, K_TYPE},
    {"gen_ai.span.kind", OSP_GF_TYPE, C_EINO, K_TYPE},
    {"langfuse.observation.type", OSP_GF_TYPE, C_LF, K_TYPE},
    {"llm.request.type", OSP_GF_TYPE, C_TL, K_TYPE},
    {"gen_ai.operation.name", OSP_GF_OPERATION, C_OTEL, K_STR},
    {"gen_ai.provider.name", OSP_GF_PROVIDER, C_OTEL, K_PROVIDER},
    {"gen_ai.system", OSP_GF_PROVIDER, C_DEP, K_PROVIDER},
    {"llm.provider", OSP_GF_PROVIDER, C_OI, K_PROVIDER},
    {"llm.system", OSP_GF_PROVIDER, C_OI, K_PROVIDER},
    {"llm.vendor", OSP_GF_PROVIDER, C_TL, K_PROVIDER},
    {"gen_ai.request.model", OSP_GF_REQUEST_MODEL, C_OTEL, K_STR},
    {"llm.request.model", OSP_GF_REQUEST_MODEL, C_TL, K_STR},
    {"llm.model_name", OSP_GF_REQUEST_MODEL, C_OI, K_STR},
    {"embedding.model_name", OSP_GF_REQUEST_MODEL, C_OI, K_STR},
    {"langfuse.observation.model.name", OSP_GF_REQUEST_MODEL, C_LF, K_STR},
    {"gen_ai.response.model", OSP_GF_RESPONSE_MODEL, C_OTEL, K_STR},
    {"llm.response.model", OSP_GF_RESPONSE_MODEL, C_TL, K_STR},
    {"llm.response.model_name", OSP_GF_RESPONSE_MODEL, C_TL, K_STR},
    {"gen_ai.usage.input_tokens", OSP_GF_INPUT_TOKENS, C_OTEL, K_COUNT},
    {"gen_ai.usage.prompt_tokens", OSP_GF_INPUT_TOKENS, C_DEP, K_COUNT},
    {"llm.token_count.prompt", OSP_GF_INPUT_TOKENS, C_OI, K_COUNT},
    {"llm.usage.prompt_tokens", OSP_GF_INPUT_TOKENS, C_TL, K_COUNT},
    {"gen_ai.usage.output_tokens", OSP_GF_OUTPUT_TOKENS, C_OTEL, K_COUNT},
    {"gen_ai.usage.completion_tokens", OSP_GF_OUTPUT_TOKENS, C_DEP, K_COUNT},
    {"llm.token_count.completion", OSP_GF_OUTPUT_TOKENS, C_OI, K_COUNT},
    {"llm.usage.completion_tokens", OSP_GF_OUTPUT_TOKENS, C_TL, K_COUNT},
    {"gen_ai.usage.cache_read.input_tokens", OSP_GF_CACHE_READ_TOKENS, C_OTEL, K_COUNT},
    {"gen_ai.usage.cache_read_input_tokens", OSP_GF_CACHE_READ_TOKENS, C_TL, K_COUNT},
    {"llm.token_count.prompt_details.cache_read", OSP_GF_CACHE_READ_TOKENS, C_OI, K_COUNT},
    {"llm.usage.cache_read_input_tokens", OSP_GF_CACHE_READ_TOKENS, C_TL, K_COUNT},
    {"gen_ai.usage.cache_write.input_tokens", OSP_GF_CACHE_WRITE_TOKENS, C_OTEL, K_COUNT},
    {"gen_ai.usage.cache_creation.input_tokens", OSP_GF_CACHE_WRITE_TOKENS, C_OTEL, K_COUNT},
    {"gen_ai.usage.cache_creation_input_tokens", OSP_GF_CACHE_WRITE_TOKENS, C_TL, K_COUNT},
    {"llm.token_count.prompt_details.cache_write", OSP_GF_CACHE_WRITE_TOKENS, C_OI, K_COUNT},
    {"gen_ai.usage.reasoning.output_tokens", OSP_GF_REASONING_TOKENS, C_OTEL, K_COUNT},
    {"gen_ai.usage.reasoning_tokens", OSP_GF_REASONING_TOKENS, C_TL, K_COUNT},
    {"llm.token_count.completion_details.reasoning", OSP_GF_REASONING_TOKENS, C_OI, K_COUNT},
    {"llm.usage.reasoning_tokens", OSP_GF_REASONING_TOKENS, C_TL, K_COUNT},
    {"gen_ai.conversation.id", OSP_GF_SESSION, C_OTEL, K_ID},
    {"session.id", OSP_GF_SESSION, C_OI, K_ID},
    {"gen_ai.session.id", OSP_GF_SESSION, C_EINO, K_ID},
    {"langfuse.session.id", OSP_GF_SESSION, C_LF, K_ID},
    {"traceloop.association.properties.session_id", OSP_GF_SESSION, C_TL, K_ID},
    {"traceloop.association.properties.conversation_id", OSP_GF_SESSION, C_TL, K_ID},
    {"user.id", OSP_GF_USER, C_OI, K_ID},
    {"gen_ai.user.id", OSP_GF_USER, C_EINO, K_ID},
    {"langfuse.user.id", OSP_GF_USER, C_LF, K_ID},
    {"traceloop.association.properties.user_id", OSP_GF_USER, C_TL, K_ID},
    {"enduser.id", OSP_GF_USER, C_OTEL, K_ID},
    {"gen_ai.agent.name", OSP_GF_AGENT, C_OTEL, K_STR},
    {"agent.name", OSP_GF_AGENT, C_OI, K_STR},
    {"traceloop.entity.name", OSP_GF_AGENT, C_TL, K_TL_AGENT},
    {"gen_ai.tool.name", OSP_GF_TOOL, C_OTEL, K_STR},
    {"tool.name", OSP_GF_TOOL, C_OI, K_STR},
    {"traceloop.entity.name", OSP_GF_TOOL, C_TL, K_TL_TOOL},
    {"gen_ai.request.stream", OSP_GF_STREAMING, C_OTEL, K_BOOL},
    {"gen_ai.is_streaming", OSP_GF_STREAMING, C_EINO, K_BOOL},
    {"llm.is_streaming", OSP_GF_STREAMING, C_TL, K_BOOL},
    {"gen_ai.response.finish_reasons", OSP_GF_FINISH_REASONS, C_OTEL, K_REASONS},
    {"llm.finish_reason", OSP_GF_FINISH_REASONS, C_OI, K_REASONS},
    {"llm.response.finish_reason", OSP_GF_FINISH_REASONS, C_TL, K_REASONS},
    {"llm.response.stop_reason", OSP_GF_FINISH_REASONS, C_TL, K_REASONS},
    {"gen_ai.completion.<i>.finish_reason", OSP_GF_FINISH_REASONS, C_TL, K_FLAT_REASONS},
    {"langfuse.observation.completion_start_time", OSP_GF_TTFT, C_LF, K_TIME},
    {"gen_ai.completion_start_time", OSP_GF_TTFT, C_TL, K_TIME},
    {"llm.completion_start_time", OSP_GF_TTFT, C_TL, K_TIME},
    {"gen_ai.response.time_to_first_chunk", OSP_GF_TTFT, C_OTEL, K_SECONDS},
    {"gen_ai.input.messages", OSP_GF_INPUT_TEXT, C_OTEL, K_TEXT},
    {"gen_ai.prompt", OSP_GF_INPUT_TEXT, C_DEP, K_TEXT},
    {"input.value", OSP_GF_INPUT_TEXT, C_OI, K_TEXT},
    {"gen_ai.prompt.<i>.{role,content}", OSP_GF_INPUT_TEXT, C_TL, K_FLAT_MSGS},
    {"llm.input_messages.<i>.message.{role,content}", OSP_GF_INPUT_TEXT, C_OI, K_FLAT_MSGS},
    {"traceloop.entity.input", OSP_GF_INPUT_TEXT, C_TL, K_TEXT},
    {"langfuse.observation.input", OSP_GF_INPUT_TEXT, C_LF, K_TEXT},
    {"gen_ai.output.messages", OSP_GF_OUTPUT_TEXT, C_OTEL, K_TEXT},
    {"gen_ai.completion", OSP_GF_OUTPUT_TEXT, C_DEP, K_TEXT},
    {"output.value", OSP_GF_OUTPUT_TEXT, C_OI, K_TEXT},
    {"gen_ai.completion.<i>.{role,content}", OSP_GF_OUTPUT_TEXT, C_TL, K_FLAT_MSGS},
    {"llm.output_messages.<i>.message.{role,content}", OSP_GF_OUTPUT_TEXT, C_OI, K_FLAT_MSGS},
    {"traceloop.entity.output", OSP_GF_OUTPUT_TEXT, C_TL, K_TEXT},
    {"langfuse.observation.output", OSP_GF_OUTPUT_TEXT, C_LF, K_TEXT},
};
#define NROWS (sizeof rows / sizeof rows[0])
_Static_assert(NROWS <= 128, "row bits are two 64-bit words");

/* Prefixes of every key in rows[]: a key without one is skipped at the cost of a compare. */
#define PREFIX(z)                                                                                  \
    {                                                                                              \
        z, sizeof(z) - 1                                                                           \
    }
static const osp_str prefixes[] = {
    PREFIX("gen_ai."),  PREFIX("llm."),       PREFIX("openinference."), PREFIX("traceloop."),
    PREFIX("session."), PREFIX("user."),      PREFIX("langfuse."),      PREFIX("input."),
    PREFIX("output."),  PREFIX("embedding."), PREFIX("tool."),          PREFIX("agent."),
    PREFIX("enduser."),
};

/* The type vocabulary, shared by every K_TYPE row (values compare case-insensitively). */
static const struct {
    const char *word;
    uint8_t type;
} type_words[] = {
    {"chat", OSP_GENAI_LLM},
    {"text_completion", OSP_GENAI_LLM},
    {"generate_content", OSP_GENAI_LLM},
    {"completion", OSP_GENAI_LLM},
    {"llm", OSP_GENAI_LLM},
    {"chat_model", OSP_GENAI_LLM},
    {"chatmodel", OSP_GENAI_LLM},
    {"model", OSP_GENAI_LLM},
    {"generation", OSP_GENAI_LLM},
    {"fetch_response", OSP_GENAI_LLM},
    {"embeddings", OSP_GENAI_EMBEDDING},
    {"embedding", OSP_GENAI_EMBEDDING},
    {"embedder", OSP_GENAI_EMBEDDING},
    {"execute_tool", OSP_GENAI_TOOL},
    {"tool", OSP_GENAI_TOOL},
    {"invoke_agent", OSP_GENAI_AGENT},
    {"create_agent", OSP_GENAI_AGENT},
    {"agent", OSP_GENAI_AGENT},
    {"plan", OSP_GENAI_AGENT},
    {"retrieval", OSP_GENAI_RETRIEVER},
    {"retriever", OSP_GENAI_RETRIEVER},
    {"rerank", OSP_GENAI_RERANKER},
    {"reranker", OSP_GENAI_RERANKER},
    {"invoke_workflow", OSP_GENAI_WORKFLOW},
    {"workflow", OSP_GENAI_WORKFLOW},
    {"chain", OSP_GENAI_CHAIN},
    {"task", OSP_GENAI_CHAIN},
    {"graph", OSP_GENAI_CHAIN},
    {"prompt", OSP_GENAI_CHAIN},
    {"chat_template", OSP_GENAI_CHAIN},
    {"lambda", OSP_GENAI_CHAIN},
    {"guardrail", OSP_GENAI_GUARDRAIL},
    {"evaluator", OSP_GENAI_EVALUATOR},
};

/* Provider names of other vocabularies (compared case-insensitively); any other value is
 * kept, lowercased. */
static const struct {
    const char *from, *to;
} provider_aliases[] = {
    {"xai", "x_ai"},
    {"mistralai", "mistral_ai"},
    {"vertexai", "gcp.vertex_ai"},
    {"vertex_ai", "gcp.vertex_ai"},
    {"gemini", "gcp.gemini"},
    {"google", "gcp.gen_ai"},
    {"bedrock", "aws.bedrock"},
    {"aws", "aws.bedrock"},
    {"azure", "azure.ai.openai"},
    {"watsonx", "ibm.watsonx.ai"},
};

/* Event names (compared case-insensitively as substrings) that mark the first token. */
static const char *const ttft_events[] = {"first_token", "first token", "first_chunk"};
static const char *const ttft_event_attrs[] = {
    "span event *first_token*", "span event *first token*", "span event *first_chunk*"};

#define MAX_TOKENS ((int64_t)1 << 50) /* larger counts are taken as garbage */
#define TEXT_MAX ((size_t)64 << 20)   /* cap on one rendered text */

static const char *const type_names[OSP_GENAI_TYPE_COUNT] = {
    "none",     "llm",      "embedding", "tool",      "agent",    "retriever",
    "reranker", "workflow", "chain",     "guardrail", "evaluator"};

static const char *const conv_names[OSP_CONV_COUNT] = {
    "otel", "otel-deprecated", "openinference", "traceloop", "eino", "langfuse"};

static const char *const field_names[OSP_GF_COUNT] = {"type",
                                                      "operation",
                                                      "provider",
                                                      "request_model",
                                                      "response_model",
                                                      "input_tokens",
                                                      "output_tokens",
                                                      "cache_read_tokens",
                                                      "cache_write_tokens",
                                                      "reasoning_tokens",
                                                      "session_id",
                                                      "user_id",
                                                      "agent_name",
                                                      "tool_name",
                                                      "streaming",
                                                      "finish_reasons",
                                                      "ttft",
                                                      "tpot",
                                                      "error_type",
                                                      "input_text",
                                                      "output_text"};

const char *osp_genai_type_name(int type)
{
    return type >= 0 && type < OSP_GENAI_TYPE_COUNT ? type_names[type] : "unknown";
}

const char *osp_genai_convention_name(unsigned bit)
{
    if (bit == 0 || (bit & (bit - 1)) || bit >= 1u << OSP_CONV_COUNT)
        return "unknown";
    return conv_names[__builtin_ctz(bit)];
}

const char *osp_genai_field_name(int field)
{
    return field >= 0 && field < OSP_GF_COUNT ? field_names[field] : "unknown";
}

int osp_genai_field_value(const osp_genai *g, int f, osp_str *s, int64_t *i)
{
    const osp_str *strs[OSP_GF_COUNT] = {
        [OSP_GF_OPERATION] = &g->operation,
        [OSP_GF_PROVIDER] = &g->provider,
        [OSP_GF_REQUEST_MODEL] = &g->request_model,
        [OSP_GF_RESPONSE_MODEL] = &g->response_model,
        [OSP_GF_SESSION] = &g->session_id,
        [OSP_GF_USER] = &g->user_id,
        [OSP_GF_AGENT] = &g->agent_name,
        [OSP_GF_TOOL] = &g->tool_name,
        [OSP_GF_FINISH_REASONS] = &g->finish_reasons,
        [OSP_GF_ERROR_TYPE] = &g->error_type,
        [OSP_GF_INPUT_TEXT] = &g->input_text,
        [OSP_GF_OUTPUT_TEXT] = &g->output_text,
    };
    const int64_t nums[OSP_GF_COUNT] = {
        [OSP_GF_INPUT_TOKENS] = g->input_tokens,
        [OSP_GF_OUTPUT_TOKENS] = g->output_tokens,
        [OSP_GF_CACHE_READ_TOKENS] = g->cache_read_tokens,
        [OSP_GF_CACHE_WRITE_TOKENS] = g->cache_write_tokens,
        [OSP_GF_REASONING_TOKENS] = g->reasoning_tokens,
        [OSP_GF_STREAMING] = g->streaming,
        [OSP_GF_TTFT] = g->ttft_ns,
        [OSP_GF_TPOT] = g->tpot_ns,
    };
    if (f < 0 || f >= OSP_GF_COUNT)
        return OSP_GV_NONE;
    if (f == OSP_GF_TYPE) {
        *s = osp_str_c(osp_genai_type_name(g->type));
        return OSP_GV_STR;
    }
    if (strs[f]) {
        *s = *strs[f];
        return OSP_GV_STR;
    }
    if (nums[f] < 0)
        return OSP_GV_NONE;
    *i = nums[f];
    return f == OSP_GF_STREAMING                  ? OSP_GV_BOOL
           : f == OSP_GF_TTFT || f == OSP_GF_TPOT ? OSP_GV_NS
                                                  : OSP_GV_INT;
}

/* ---- the key index, built once ---- */

static uint8_t by_key[NROWS]; /* row numbers in key order */
static uint8_t key_len[NROWS];
static uint8_t flat_rows[NROWS]; /* the K_FLAT_* rows */
static size_t nflat_rows;
/* A K_FLAT_* row's key split at "<i>": the prefix, and the tail after it (for
 * K_FLAT_MSGS up to the "{role,content}"). */
static osp_str flat_prefix[NROWS], flat_tail[NROWS];
static osp_genai blank_ai, blank_plain; /* results before any row is applied */
static uint8_t prefix_first[256];       /* 1 for the first byte of each prefix */
#define KEY_SLOTS 256                   /* exact keys hashed, open addressing */
_Static_assert(KEY_SLOTS >= 2 * NROWS, "the key table stays at most half full");
static uint8_t key_slots[KEY_SLOTS]; /* 1 + the by_key position of a key's first row; 0 empty */
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void set_src(osp_genai *g, int field, int status, unsigned conv, const char *attr,
                    const char *reason)
{
    g->src[field] = (osp_genai_source){(uint8_t)status, (uint8_t)conv, attr, reason};
}

static void init_blank(osp_genai *g, const char *missing)
{
    memset(g, 0, sizeof *g);
    g->input_tokens = g->output_tokens = -1;
    g->cache_read_tokens = g->cache_write_tokens = g->reasoning_tokens = -1;
    g->cache_in_input = -1;
    g->streaming = -1;
    g->ttft_ns = g->tpot_ns = -1;
    for (int f = 0; f < OSP_GF_COUNT; f++)
        set_src(g, f, OSP_GS_MISSING, 0, NULL,
                f == OSP_GF_SESSION || f == OSP_GF_USER ? "no attribute of any convention"
                                                        : missing);
}

static int is_flat(const row *r)
{
    return r->kind == K_FLAT_MSGS || r->kind == K_FLAT_REASONS;
}

static int cmp_by_key(const void *a, const void *b)
{
    const row *x = &rows[*(const uint8_t *)a], *y = &rows[*(const uint8_t *)b];
    int c = strcmp(x->key, y->key);
    return c ? c : (x > y) - (x < y);
}

static size_t key_home(osp_str k)
{
    return (size_t)XXH3_64bits(k.p, k.n) % KEY_SLOTS;
}

static void build_index(void)
{
    for (size_t i = 0; i < NROWS; i++) {
        by_key[i] = (uint8_t)i;
        key_len[i] = (uint8_t)strlen(rows[i].key);
        if (!is_flat(&rows[i]))
            continue;
        const char *hole = strstr(rows[i].key, "<i>"), *tail = hole + 3;
        flat_rows[nflat_rows++] = (uint8_t)i;
        flat_prefix[i] = osp_str_make(rows[i].key, (size_t)(hole - rows[i].key));
        flat_tail[i] = osp_str_make(
            tail, rows[i].kind == K_FLAT_MSGS ? (size_t)(strchr(tail, '{') - tail) : strlen(tail));
    }
    qsort(by_key, NROWS, 1, cmp_by_key);
    for (size_t i = 0; i < NROWS; i++) {
        osp_str k = osp_str_make(rows[by_key[i]].key, key_len[by_key[i]]);
        size_t h = key_home(k);
        if (i && osp_str_eqz(k, rows[by_key[i - 1]].key))
            continue; /* a repeated key keeps its first row */
        while (key_slots[h])
            h = (h + 1) % KEY_SLOTS;
        key_slots[h] = (uint8_t)(i + 1);
    }
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        prefix_first[(uint8_t)prefixes[i].p[0]] = 1;
    init_blank(&blank_ai, "no attribute of any convention");
    init_blank(&blank_plain, "not an AI span");
}

/* Position in by_key of the first row whose key is k, or NROWS. */
static size_t find_key(osp_str k)
{
    for (size_t h = key_home(k); key_slots[h]; h = (h + 1) % KEY_SLOTS) {
        size_t at = key_slots[h] - 1u, r = by_key[at];
        if (key_len[r] == k.n && !memcmp(rows[r].key, k.p, k.n))
            return at;
    }
    return NROWS;
}

static int has_ai_prefix(osp_str k)
{
    if (k.n == 0 || !prefix_first[(uint8_t)k.p[0]])
        return 0;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (k.p[0] == prefixes[i].p[0] && osp_str_has_prefix(k, prefixes[i]))
            return 1;
    return 0;
}

/* Matches key against the pattern of flat row r. 1 with the element index and which part
 * (0 role, 1 content, 2 the K_FLAT_REASONS suffix), else 0. */
static int flat_match(const row *r, osp_str key, uint32_t *index, int *part)
{
    size_t at = (size_t)(r - rows), plen = flat_prefix[at].n, i = plen;
    osp_str tail = flat_tail[at];
    uint32_t n = 0;
    if (key.n <= plen || memcmp(key.p, flat_prefix[at].p, plen) != 0)
        return 0;
    for (; i < key.n && key.p[i] >= '0' && key.p[i] <= '9'; i++) {
        if (i - plen == 9)
            return 0; /* no index has ten digits */
        n = n * 10 + (uint32_t)(key.p[i] - '0');
    }
    osp_str rest = osp_str_make(key.p + i, key.n - i);
    *index = n;
    if (i == plen || !osp_str_has_prefix(rest, tail))
        return 0;
    if (r->kind == K_FLAT_REASONS) {
        *part = 2;
        return rest.n == tail.n;
    }
    rest = osp_str_make(rest.p + tail.n, rest.n - tail.n);
    *part = osp_str_eqz(rest, "role") ? 0 : osp_str_eqz(rest, "content") ? 1 : -1;
    return *part >= 0;
}

/* ---- one normalization ---- */

typedef struct scan {
    const osp_span *span;
    osp_genai *g;
    osp_arena *arena;
    osp_buf tmp;                /* scratch for rendered texts */
    uint64_t seen[2];           /* rows whose attribute the span carries */
    osp_value val[NROWS];       /* the value of each seen row (exact keys only) */
    size_t nflat;               /* attributes that matched a K_FLAT_* pattern */
    int ai;                     /* a row other than a session or user id matched */
    unsigned conventions;       /* of every row matched */
    uint8_t done[OSP_GF_COUNT]; /* field has its value */
} scan;

enum { APPLY_INVALID = 0, APPLY_OK = 1, APPLY_SKIP = 2 };

static int seen(const scan *s, size_t r)
{
    return (int)(s->seen[r / 64] >> (r % 64) & 1);
}

static void mark(scan *s, size_t r)
{
    s->seen[r / 64] |= (uint64_t)1 << (r % 64);
    s->conventions |= rows[r].conv;
    s->ai |= rows[r].field != OSP_GF_SESSION && rows[r].field != OSP_GF_USER;
}

static int has_digit(osp_str k)
{
    for (size_t i = 0; i < k.n; i++)
        if ((unsigned)(k.p[i] - '0') <= 9)
            return 1;
    return 0;
}

static void mark_key(scan *s, osp_str key, const osp_value *v)
{
    size_t at = find_key(key);
    if (at < NROWS) {
        for (; at < NROWS && key_len[by_key[at]] == key.n &&
               !memcmp(rows[by_key[at]].key, key.p, key.n);
             at++) {
            if (!seen(s, by_key[at]))
                s->val[by_key[at]] = *v;
            mark(s, by_key[at]);
        }
        return;
    }
    if (!has_digit(key))
        return; /* every pattern has an index */
    for (size_t i = 0; i < nflat_rows; i++) {
        uint32_t index;
        int part;
        if (flat_match(&rows[flat_rows[i]], key, &index, &part)) {
            mark(s, flat_rows[i]);
            s->nflat++;
        }
    }
}

/* ---- the raw pass over an attrs blob ----
 * Most attributes of most spans belong to no convention: their values are only checked
 * the way osp_attr_next would reject them, never decoded, so the pass reads a few bytes
 * per attribute (model/attr.c specifies the canonical layout taken as the fast path). */

/* Notes one attribute whose AnyValue bytes osp_attr_next_raw checked. 0, or
 * OSP_ECORRUPT. */
static int scan_attr(scan *s, osp_str key, osp_str raw)
{
    osp_value v;
    if (!has_ai_prefix(key))
        return 0;
    if (osp_value_decode(raw, &v) != 0)
        return OSP_ECORRUPT;
    mark_key(s, key, &v);
    return 0;
}

/* Pass over the span's attribute keys: which rows are present. Values are decoded only
 * under keys with a convention's prefix. */
static void scan_attrs(scan *s)
{
    osp_str key, raw;
    osp_attr_iter it;
    int more;
    osp_attr_iter_init(&it, s->span->attributes);
    while ((more = osp_attr_next_raw(&it, &key, &raw)) > 0)
        if ((more = scan_attr(s, key, raw)) < 0)
            break;
    if (more < 0) { /* corrupt: as if there were no attributes */
        s->seen[0] = s->seen[1] = 0;
        s->conventions = 0;
        s->nflat = 0;
        s->ai = 0;
    }
}

/* Where each string or count field lives in osp_genai. */
static const uint16_t field_offset[OSP_GF_COUNT] = {
    [OSP_GF_OPERATION] = offsetof(osp_genai, operation),
    [OSP_GF_PROVIDER] = offsetof(osp_genai, provider),
    [OSP_GF_REQUEST_MODEL] = offsetof(osp_genai, request_model),
    [OSP_GF_RESPONSE_MODEL] = offsetof(osp_genai, response_model),
    [OSP_GF_INPUT_TOKENS] = offsetof(osp_genai, input_tokens),
    [OSP_GF_OUTPUT_TOKENS] = offsetof(osp_genai, output_tokens),
    [OSP_GF_CACHE_READ_TOKENS] = offsetof(osp_genai, cache_read_tokens),
    [OSP_GF_CACHE_WRITE_TOKENS] = offsetof(osp_genai, cache_write_tokens),
    [OSP_GF_REASONING_TOKENS] = offsetof(osp_genai, reasoning_tokens),
    [OSP_GF_SESSION] = offsetof(osp_genai, session_id),
    [OSP_GF_USER] = offsetof(osp_genai, user_id),
    [OSP_GF_AGENT] = offsetof(osp_genai, agent_name),
    [OSP_GF_TOOL] = offsetof(osp_genai, tool_name),
    [OSP_GF_FINISH_REASONS] = offsetof(osp_genai, finish_reasons),
    [OSP_GF_INPUT_TEXT] = offsetof(osp_genai, input_text),
    [OSP_GF_OUTPUT_TEXT] = offsetof(osp_genai, output_text),
};

static osp_str *str_slot(osp_genai *g, int field)
{
    return (osp_str *)((char *)g + field_offset[field]);
}

static int64_t *count_slot(osp_genai *g, int field)
{
    return (int64_t *)((char *)g + field_offset[field]);
}

static uint64_t span_duration(const osp_span *span)
{
    return span->end_ns > span->start_ns ? span->end_ns - span->start_ns : 0;
}

/* Copies the scratch buffer into the arena as *out. 0 or OSP_ENOMEM. */
static int keep_tmp(scan *s, osp_str *out)
{
    const char *p = osp_arena_memdup(s->arena, s->tmp.data ? s->tmp.data : "", s->tmp.len);
    if (!p)
        return OSP_ENOMEM;
    *out = osp_str_make(p, s->tmp.len);
    return 0;
}

/* Maps a buffer failure: a value too big to render is unusable, no memory is an error. */
static int render_rc(int rc, const char **why)
{
    if (rc == OSP_ENOMEM)
        return rc;
    *why = rc == OSP_ETOOBIG ? "too large to render" : "malformed structured value";
    return APPLY_INVALID;
}

/* [-]digits into *out. */
static int parse_decimal(osp_str t, int64_t *out, const char **why)
{
    size_t i = t.n && t.p[0] == '-';
    int64_t n = 0;
    *why = "not an integer";
    if (i == t.n)
        return APPLY_INVALID;
    for (; i < t.n; i++) {
        int d = t.p[i] - '0';
        if (d < 0 || d > 9)
            return APPLY_INVALID;
        if (n > (INT64_MAX - d) / 10) {
            *why = "too large";
            return APPLY_INVALID;
        }
        n = n * 10 + d;
    }
    *out = t.p[0] == '-' ? -n : n;
    return APPLY_OK;
}

/* A non-negative integer no larger than max from an int, an integral double or a decimal
 * string. */
static int read_count(const osp_value *v, int64_t max, int64_t *out, const char **why)
{
    int64_t n = 0;
    if (v->type == OSP_VAL_INT) {
        n = v->i;
    } else if (v->type == OSP_VAL_DOUBLE) {
        if (!isfinite(v->d) || v->d != floor(v->d)) {
            *why = "not an integer";
            return APPLY_INVALID;
        }
        if (fabs(v->d) > (double)max) {
            *why = v->d < 0 ? "negative" : "too large";
            return APPLY_INVALID;
        }
        n = (int64_t)v->d;
    } else if (v->type == OSP_VAL_STRING) {
        if (parse_decimal(v->s, &n, why) != APPLY_OK)
            return APPLY_INVALID;
    } else {
        *why = "not a number";
        return APPLY_INVALID;
    }
    if (n < 0 || n > max) {
        *why = n < 0 ? "negative" : "too large";
        return APPLY_INVALID;
    }
    *out = n;
    return APPLY_OK;
}

static int lookup_type(osp_str w)
{
    for (size_t i = 0; i < sizeof type_words / sizeof type_words[0]; i++)
        if (osp_str_ieq(w, osp_str_c(type_words[i].word)))
            return type_words[i].type;
    return OSP_GENAI_NONE;
}

static int apply_type(scan *s, const osp_value *v, const char **why)
{
    int t = v->type == OSP_VAL_STRING ? lookup_type(v->s) : OSP_GENAI_NONE;
    if (t == OSP_GENAI_NONE) {
        *why = v->type == OSP_VAL_STRING ? "unrecognized value" : "not a string";
        return APPLY_INVALID;
    }
    s->g->type = t;
    return APPLY_OK;
}

static int apply_str(scan *s, int field, const osp_value *v, const char **why)
{
    if (v->type != OSP_VAL_STRING || v->s.n == 0) {
        *why = v->type == OSP_VAL_STRING ? "empty string" : "not a string";
        return APPLY_INVALID;
    }
    *str_slot(s->g, field) = v->s;
    return APPLY_OK;
}

static int apply_provider(scan *s, const osp_value *v, const char **why)
{
    int rc = apply_str(s, OSP_GF_PROVIDER, v, why);
    osp_str p = s->g->provider;
    if (rc != APPLY_OK)
        return rc;
    for (size_t i = 0; i < sizeof provider_aliases / sizeof provider_aliases[0]; i++)
        if (osp_str_ieq(p, osp_str_c(provider_aliases[i].from))) {
            s->g->provider = osp_str_c(provider_aliases[i].to);
            return APPLY_OK;
        }
    size_t i = 0;
    while (i < p.n && !(p.p[i] >= 'A' && p.p[i] <= 'Z'))
        i++;
    if (i == p.n)
        return APPLY_OK;
    char *low = osp_arena_memdup(s->arena, p.p, p.n);
    if (!low)
        return OSP_ENOMEM;
    for (; i < p.n; i++)
        if (low[i] >= 'A' && low[i] <= 'Z')
            low[i] = (char)(low[i] - 'A' + 'a');
    s->g->provider = osp_str_make(low, p.n);
    return APPLY_OK;
}

static int apply_id(scan *s, int field, const osp_value *v, const char **why)
{
    char num[24];
    if (v->type != OSP_VAL_INT)
        return apply_str(s, field, v, why);
    int n = snprintf(num, sizeof num, "%" PRId64, v->i);
    const char *p = osp_arena_memdup(s->arena, num, (size_t)n);
    if (!p)
        return OSP_ENOMEM;
    *str_slot(s->g, field) = osp_str_make(p, (size_t)n);
    return APPLY_OK;
}

static int apply_bool(scan *s, const osp_value *v, const char **why)
{
    int b = -1;
    if (v->type == OSP_VAL_BOOL || (v->type == OSP_VAL_INT && (v->i == 0 || v->i == 1)))
        b = (int)v->i;
    else if (v->type == OSP_VAL_STRING && osp_str_ieq(v->s, OSP_STR_LIT("true")))
        b = 1;
    else if (v->type == OSP_VAL_STRING && osp_str_ieq(v->s, OSP_STR_LIT("false")))
        b = 0;
    if (b < 0) {
        *why = "not a boolean";
        return APPLY_INVALID;
    }
    s->g->streaming = b;
    return APPLY_OK;
}

static int apply_reasons(scan *s, const osp_value *v, const char **why)
{
    osp_array_iter it;
    osp_value e;
    int more, rc = 0;
    size_t n = 0;
    if (v->type != OSP_VAL_ARRAY)
        return apply_str(s, OSP_GF_FINISH_REASONS, v, why);
    osp_buf_reset(&s->tmp);
    osp_array_iter_init(&it, v->s);
    while (rc == 0 && (more = osp_array_next(&it, &e)) > 0) {
        if (e.type != OSP_VAL_STRING || e.s.n == 0)
            continue;
        if (n++ == 0)
            s->g->finish_reasons = e.s; /* one reason: no copy */
        else if (n == 2)
            rc = osp_buf_append_str(&s->tmp, s->g->finish_reasons);
        if (rc == 0 && n >= 2)
            rc = osp_buf_putc(&s->tmp, ',');
        if (rc == 0 && n >= 2)
            rc = osp_buf_append_str(&s->tmp, e.s);
    }
    if (rc || n == 0) {
        s->g->finish_reasons = OSP_STR_NULL;
        *why = "no string reasons";
        return rc ? render_rc(rc, why) : APPLY_INVALID;
    }
    if (n > 1 && (rc = keep_tmp(s, &s->g->finish_reasons)) != 0)
        return rc;
    return APPLY_OK;
}

/* TTFT at absolute time t: checked against the span's bounds (and int64 nanoseconds). */
static int ttft_at(scan *s, uint64_t t, const char **why)
{
    if (t < s->span->start_ns || t > s->span->end_ns) {
        *why = t < s->span->start_ns ? "before the span start" : "after the span end";
        return APPLY_INVALID;
    }
    if (t - s->span->start_ns > INT64_MAX) {
        *why = "more than 292 years after the span start";
        return APPLY_INVALID;
    }
    s->g->ttft_ns = (int64_t)(t - s->span->start_ns);
    return APPLY_OK;
}

static int parse_time(osp_str t, uint64_t *ns)
{
    char z[64];
    if (osp_rfc3339_parse(t, ns) == 0)
        return 0;
    if (t.n + 2 > sizeof z) /* no zone: ISO 8601 local time, taken as UTC */
        return OSP_EINVAL;
    memcpy(z, t.p, t.n);
    z[t.n] = 'Z';
    return osp_rfc3339_parse(osp_str_make(z, t.n + 1), ns);
}

static int apply_time(scan *s, const osp_value *v, const char **why)
{
    int64_t n = 0;
    uint64_t t;
    if (v->type == OSP_VAL_INT || v->type == OSP_VAL_DOUBLE ||
        (v->type == OSP_VAL_STRING && v->s.n && v->s.p[v->s.n - 1] >= '0' &&
         v->s.p[v->s.n - 1] <= '9' && !memchr(v->s.p, ':', v->s.n))) {
        if (read_count(v, INT64_MAX, &n, why) != APPLY_OK)
            return APPLY_INVALID;
        t = (uint64_t)n;
    } else if (v->type != OSP_VAL_STRING || parse_time(v->s, &t) != 0) {
        *why = "not an RFC 3339 time or unix nanoseconds";
        return APPLY_INVALID;
    }
    if (ttft_at(s, t, why) != APPLY_OK)
        return APPLY_INVALID;
    s->g->ttft_source = OSP_TTFT_COMPLETION_START;
    return APPLY_OK;
}

static int apply_seconds(scan *s, const osp_value *v, const char **why)
{
    double d = v->type == OSP_VAL_INT ? (double)v->i : v->d;
    if (v->type != OSP_VAL_INT && v->type != OSP_VAL_DOUBLE) {
        *why = "not a number";
        return APPLY_INVALID;
    }
    /* 9.2e18 is below INT64_MAX as a double: llround cannot overflow */
    int64_t ns = d >= 0 && d * 1e9 <= 9.2e18 ? (int64_t)llround(d * 1e9) : -1;
    if (ns < 0 || (uint64_t)ns > span_duration(s->span)) {
        *why = d >= 0 ? "longer than the span" : "negative or not a number";
        return APPLY_INVALID;
    }
    s->g->ttft_ns = ns;
    s->g->ttft_source = OSP_TTFT_ATTRIBUTE;
    return APPLY_OK;
}

static int apply_text(scan *s, int field, const osp_value *v, const char **why)
{
    if (v->type != OSP_VAL_ARRAY && v->type != OSP_VAL_KVLIST) {
        int rc = apply_str(s, field, v, why);
        if (rc == APPLY_INVALID && v->type != OSP_VAL_STRING)
            *why = "not a string or structured value";
        return rc;
    }
    osp_buf_reset(&s->tmp);
    int rc = osp_value_to_text(v, &s->tmp);
    if (rc)
        return render_rc(rc, why);
    rc = keep_tmp(s, str_slot(s->g, field));
    return rc ? rc : APPLY_OK;
}

/* Appends v as a JSON value: strings, numbers, bools and structured values as JSON, the
 * empty value as null, bytes and non-finite doubles as quoted text. */
static int put_json_value(osp_buf *b, const osp_value *v)
{
    int quote = v->type == OSP_VAL_BYTES || (v->type == OSP_VAL_DOUBLE && !isfinite(v->d));
    int rc = 0;
    if (v->type == OSP_VAL_STRING)
        return osp_buf_json_str(b, v->s.p, v->s.n);
    if (v->type == OSP_VAL_EMPTY)
        return osp_buf_puts(b, "null");
    if (quote)
        rc = osp_buf_putc(b, '"');
    if (rc == 0)
        rc = osp_value_to_text(v, b);
    if (rc == 0 && quote)
        rc = osp_buf_putc(b, '"');
    return rc;
}

/* One attribute of a flattened list. */
typedef struct flat_item {
    uint32_t index, seq;
    int part; /* 0 role, 1 content, 2 reason */
    osp_value v;
} flat_item;

static int cmp_items(const void *a, const void *b)
{
    const flat_item *x = a, *y = b;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    if (x->part != y->part)
        return x->part - y->part;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The attributes of span that match flat row r, sorted by index and part. */
static size_t collect_flat(scan *s, const row *r, flat_item *items)
{
    osp_attr_iter it;
    osp_str key;
    osp_value v;
    size_t n = 0;
    osp_attr_iter_init(&it, s->span->attributes);
    while (n < s->nflat && osp_attr_next(&it, &key, &v) > 0)
        if (flat_match(r, key, &items[n].index, &items[n].part)) {
            items[n].seq = (uint32_t)n;
            items[n++].v = v;
        }
    qsort(items, n, sizeof *items, cmp_items);
    return n;
}

/* Renders sorted message items as a JSON array of {"role","content"} objects, one per
 * index (a repeated key: the first one counts). */
static int render_msgs(osp_buf *b, const flat_item *items, size_t n)
{
    int rc = osp_buf_putc(b, '[');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int first = i == 0 || items[i - 1].index != items[i].index;
        int last = i + 1 == n || items[i + 1].index != items[i].index;
        if (first)
            rc = osp_buf_puts(b, i ? ",{" : "{");
        if (rc == 0 && (first || items[i - 1].part != items[i].part)) {
            if (!first)
                rc = osp_buf_putc(b, ',');
            if (rc == 0)
                rc = osp_buf_puts(b, items[i].part == 0 ? "\"role\":" : "\"content\":");
            if (rc == 0)
                rc = put_json_value(b, &items[i].v);
        }
        if (rc == 0 && last)
            rc = osp_buf_putc(b, '}');
    }
    return rc ? rc : osp_buf_putc(b, ']');
}

/* Joins the string reasons of sorted items with commas, one per index. */
static int render_reasons(osp_buf *b, const flat_item *items, size_t n)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (items[i].v.type != OSP_VAL_STRING || (i && items[i - 1].index == items[i].index))
            continue;
        if (b->len)
            rc = osp_buf_putc(b, ',');
        if (rc == 0)
            rc = osp_buf_append_str(b, items[i].v.s);
    }
    return rc;
}

static int apply_flat(scan *s, const row *r, const char **why)
{
    flat_item *items = osp_malloc(s->nflat * sizeof *items);
    int rc = OSP_ENOMEM;
    if (!items)
        goto out;
    size_t n = collect_flat(s, r, items);
    osp_buf_reset(&s->tmp);
    rc =
        r->kind == K_FLAT_MSGS ? render_msgs(&s->tmp, items, n) : render_reasons(&s->tmp, items, n);
    if (rc) {
        rc = render_rc(rc, why);
        goto out;
    }
    if (s->tmp.len == 0) {
        *why = "no string reasons";
        rc = APPLY_INVALID;
        goto out;
    }
    rc = keep_tmp(s, str_slot(s->g, r->field));
    if (rc == 0)
        rc = APPLY_OK;
out:
    osp_free(items);
    return rc;
}

/* traceloop.entity.name names the agent or the tool when traceloop.span.kind says so. */
static int apply_entity(scan *s, const row *r, const osp_value *v, const char **why)
{
    size_t at = find_key(OSP_STR_LIT("traceloop.span.kind"));
    const osp_value *kind = &s->val[by_key[at]];
    const char *want = r->kind == K_TL_AGENT ? "agent" : "tool";
    if (!seen(s, by_key[at]) || kind->type != OSP_VAL_STRING ||
        !osp_str_ieq(kind->s, osp_str_c(want)))
        return APPLY_SKIP;
    return apply_str(s, r->field, v, why);
}

/* Reads row r's value into its field. APPLY_OK, APPLY_INVALID (*why set), APPLY_SKIP, or
 * OSP_ENOMEM. */
static int apply(scan *s, size_t r, const char **why)
{
    const row *rw = &rows[r];
    const osp_value *v = &s->val[r];
    switch (rw->kind) {
    case K_TYPE:
        return apply_type(s, v, why);
    case K_STR:
        return apply_str(s, rw->field, v, why);
    case K_PROVIDER:
        return apply_provider(s, v, why);
    case K_COUNT:
        return read_count(v, MAX_TOKENS, count_slot(s->g, rw->field), why);
    case K_ID:
        return apply_id(s, rw->field, v, why);
    case K_BOOL:
        return apply_bool(s, v, why);
    case K_REASONS:
        return apply_reasons(s, v, why);
    case K_TIME:
        return apply_time(s, v, why);
    case K_SECONDS:
        return apply_seconds(s, v, why);
    case K_TEXT:
        return apply_text(s, rw->field, v, why);
    case K_FLAT_MSGS:
    case K_FLAT_REASONS:
        return apply_flat(s, rw, why);
    default:
        return apply_entity(s, rw, v, why);
    }
}

/* Applies row r (present on the span) to its field unless the field has its value. 0 or
 * OSP_ENOMEM. */
static int resolve_row(scan *s, size_t r)
{
    int f = rows[r].field, rc;
    const char *why = NULL;
    if (s->done[f])
        return 0;
    rc = apply(s, r, &why);
    if (rc == APPLY_OK) {
        s->done[f] = 1;
        set_src(s->g, f, OSP_GS_FILLED, rows[r].conv, rows[r].key, NULL);
    } else if (rc == APPLY_INVALID && s->g->src[f].status != OSP_GS_INVALID) {
        set_src(s->g, f, OSP_GS_INVALID, rows[r].conv, rows[r].key, why);
    }
    return rc < 0 ? rc : 0;
}

/* Resolves every field from the rows present, in table order. only_ids limits it to the
 * session and user fields. 0 or OSP_ENOMEM. */
static int resolve_rows(scan *s, int only_ids)
{
    int rc = 0;
    for (size_t w = 0; w < 2; w++)
        for (uint64_t bits = s->seen[w]; rc == 0 && bits; bits &= bits - 1) {
            size_t r = w * 64 + (size_t)__builtin_ctzll(bits);
            if (!only_ids || rows[r].field == OSP_GF_SESSION || rows[r].field == OSP_GF_USER)
                rc = resolve_row(s, r);
        }
    return rc;
}

static int ttft_event(osp_str name)
{
    for (size_t i = 0; i < sizeof ttft_events / sizeof ttft_events[0]; i++) {
        size_t m = strlen(ttft_events[i]);
        for (size_t at = 0; at + m <= name.n; at++)
            if (osp_str_ieq(osp_str_make(name.p + at, m), osp_str_make(ttft_events[i], m)))
                return (int)i;
    }
    return -1;
}

/* Pass over the events: the first usable first-token event, and the first exception's
 * type (into *exception_type). */
static void scan_events(scan *s, osp_str *exception_type)
{
    osp_blob_iter it;
    osp_event ev;
    osp_value v;
    osp_blob_iter_init(&it, s->span->events);
    while (osp_events_next(&it, &ev) > 0) {
        int which = ttft_event(ev.name);
        const char *why = NULL;
        if (!exception_type->n && osp_str_eqz(ev.name, "exception") &&
            osp_attr_find(ev.attributes, OSP_STR_LIT("exception.type"), &v) == 1 &&
            v.type == OSP_VAL_STRING)
            *exception_type = v.s;
        if (which < 0 || s->done[OSP_GF_TTFT])
            continue;
        if (ttft_at(s, ev.time_ns, &why) == APPLY_OK) {
            s->done[OSP_GF_TTFT] = 1;
            s->g->ttft_source = OSP_TTFT_EVENT;
            set_src(s->g, OSP_GF_TTFT, OSP_GS_FILLED, 0, ttft_event_attrs[which], NULL);
        } else if (s->g->src[OSP_GF_TTFT].status != OSP_GS_INVALID) {
            set_src(s->g, OSP_GF_TTFT, OSP_GS_INVALID, 0, ttft_event_attrs[which], why);
        }
    }
}

static const char *implied_operation(int type)
{
    switch (type) {
    case OSP_GENAI_LLM:
        return "chat";
    case OSP_GENAI_EMBEDDING:
        return "embeddings";
    case OSP_GENAI_TOOL:
        return "execute_tool";
    case OSP_GENAI_AGENT:
        return "invoke_agent";
    case OSP_GENAI_RETRIEVER:
        return "retrieval";
    case OSP_GENAI_WORKFLOW:
        return "invoke_workflow";
    default:
        return NULL;
    }
}

/* Type from LLM evidence, and the operation implied by the type. */
static void derive_type(osp_genai *g)
{
    static const int evidence[] = {OSP_GF_REQUEST_MODEL, OSP_GF_RESPONSE_MODEL, OSP_GF_INPUT_TOKENS,
                                   OSP_GF_OUTPUT_TOKENS};
    for (size_t i = 0; g->type == OSP_GENAI_NONE && i < sizeof evidence / sizeof evidence[0]; i++)
        if (g->src[evidence[i]].status == OSP_GS_FILLED) {
            g->type = OSP_GENAI_LLM;
            set_src(g, OSP_GF_TYPE, OSP_GS_DERIVED, g->src[evidence[i]].convention,
                    g->src[evidence[i]].attr, "a model or token count without a span kind");
        }
    if (g->src[OSP_GF_TYPE].status == OSP_GS_MISSING)
        g->src[OSP_GF_TYPE].reason = "no span kind, operation, model or token count";
    const char *op = implied_operation(g->type);
    if (g->operation.n == 0 && op) {
        g->operation = osp_str_c(op);
        set_src(g, OSP_GF_OPERATION, OSP_GS_DERIVED, 0, "type", "implied by the type");
    }
}

/* A span without a provider takes the resource's. 0 or OSP_ENOMEM. */
static int provider_from_resource(scan *s, const osp_resource *res)
{
    static const struct {
        const char *key;
        unsigned conv;
    } keys[] = {{"gen_ai.provider.name", C_OTEL}, {"gen_ai.system", C_DEP}};
    osp_value v;
    const char *why;
    if (!res || s->g->provider.n)
        return 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (osp_attr_find(res->attributes, osp_str_c(keys[i].key), &v) != 1)
            continue;
        int rc = apply_provider(s, &v, &why);
        if (rc == APPLY_OK) {
            s->g->conventions |= keys[i].conv;
            set_src(s->g, OSP_GF_PROVIDER, OSP_GS_DERIVED, keys[i].conv, keys[i].key,
                    "from the resource attributes");
        }
        if (rc != APPLY_INVALID)
            return rc < 0 ? rc : 0;
    }
    return 0;
}

/* The cache rule of genai.h: input includes the cache counts unless they exceed it. */
static void apply_cache_rule(osp_genai *g)
{
    int64_t cache = (g->cache_read_tokens > 0 ? g->cache_read_tokens : 0) +
                    (g->cache_write_tokens > 0 ? g->cache_write_tokens : 0);
    if (g->cache_read_tokens < 0 && g->cache_write_tokens < 0)
        return;
    g->cache_in_input = 1;
    if (g->input_tokens < 0 || cache <= g->input_tokens)
        return;
    g->cache_in_input = 0;
    g->input_tokens += cache;
    set_src(g, OSP_GF_INPUT_TOKENS, OSP_GS_DERIVED, g->src[OSP_GF_INPUT_TOKENS].convention,
            g->src[OSP_GF_INPUT_TOKENS].attr,
            "cache tokens exceeded input: counted beside it, added");
}

int osp_genai_serves_call(const osp_genai *g, const osp_span *span)
{
    return span->kind == OSP_SPAN_KIND_SERVER &&
           (g->type == OSP_GENAI_LLM || g->type == OSP_GENAI_EMBEDDING);
}

int64_t osp_genai_tpot_ns(uint64_t duration_ns, int64_t ttft_ns, int64_t output_tokens)
{
    /* unsigned: a span longer than INT64_MAX ns (bad clocks) must not turn negative */
    uint64_t tpot = (duration_ns - (uint64_t)ttft_ns) / (uint64_t)(output_tokens - 1);
    return tpot > INT64_MAX ? INT64_MAX : (int64_t)tpot;
}

static void compute_tpot(osp_genai *g, const osp_span *span)
{
    const char *why = g->streaming != 1      ? "not streamed"
                      : g->ttft_ns < 0       ? "no TTFT"
                      : g->output_tokens < 2 ? "fewer than 2 output tokens"
                                             : NULL;
    g->tpot_ns = -1;
    if (why) {
        set_src(g, OSP_GF_TPOT, OSP_GS_NOT_APPLICABLE, 0, NULL, why);
        return;
    }
    g->tpot_ns = osp_genai_tpot_ns(span_duration(span), g->ttft_ns, g->output_tokens);
    set_src(g, OSP_GF_TPOT, OSP_GS_DERIVED, 0, "ttft, output_tokens, span duration",
            "(duration - TTFT) / (output tokens - 1)");
}

static void derive_streaming(osp_genai *g)
{
    if (g->src[OSP_GF_STREAMING].status == OSP_GS_FILLED || g->ttft_ns < 0)
        return;
    g->streaming = 1;
    set_src(g, OSP_GF_STREAMING, OSP_GS_DERIVED, g->src[OSP_GF_TTFT].convention,
            g->src[OSP_GF_TTFT].attr, "a first-token time was recorded");
}

static void derive_error(osp_genai *g, const osp_span *span, osp_str exception_type)
{
    osp_value v;
    g->is_error = span->status_code == OSP_STATUS_ERROR;
    if (!g->is_error) {
        set_src(g, OSP_GF_ERROR_TYPE, OSP_GS_NOT_APPLICABLE, 0, NULL, "the span did not fail");
    } else if (osp_attr_find(span->attributes, OSP_STR_LIT("error.type"), &v) == 1 &&
               v.type == OSP_VAL_STRING && v.s.n) {
        g->error_type = v.s;
        set_src(g, OSP_GF_ERROR_TYPE, OSP_GS_FILLED, C_OTEL, "error.type", NULL);
    } else if (exception_type.n) {
        g->error_type = exception_type;
        set_src(g, OSP_GF_ERROR_TYPE, OSP_GS_FILLED, C_OTEL, "exception event: exception.type",
                NULL);
    } else {
        g->error_type = OSP_STR_LIT("_OTHER");
        set_src(g, OSP_GF_ERROR_TYPE, OSP_GS_DERIVED, 0, NULL,
                "failed without error.type or an exception event");
    }
}

int osp_genai_normalize(const osp_span *span, const osp_resource *res, osp_arena *arena,
                        osp_genai *out)
{
    scan s;
    osp_str exception_type = OSP_STR_NULL;
    int rc;
    pthread_once(&index_once, build_index);
    s.span = span;
    s.g = out;
    s.arena = arena;
    s.seen[0] = s.seen[1] = 0;
    s.nflat = 0;
    s.ai = 0;
    s.conventions = 0;
    memset(s.done, 0, sizeof s.done);
    osp_buf_init(&s.tmp, TEXT_MAX);
    scan_attrs(&s);
    *out = s.ai ? blank_ai : blank_plain;
    out->conventions = s.conventions;
    if (!s.ai) {
        rc = resolve_rows(&s, 1);
        goto out;
    }
    scan_events(&s, &exception_type);
    rc = resolve_rows(&s, 0);
    if (rc == 0)
        rc = provider_from_resource(&s, res);
    if (rc)
        goto out;
    derive_type(out);
    apply_cache_rule(out);
    derive_streaming(out);
    compute_tpot(out, span);
    derive_error(out, span, exception_type);
out:
    osp_buf_cleanup(&s.tmp);
    return rc;
}

static void inherit_one(osp_str *c, osp_genai_source *cs, osp_str p, const osp_genai_source *ps)
{
    if (c->n || !p.n)
        return;
    *c = p;
    *cs = (osp_genai_source){OSP_GS_INHERITED, ps->convention, ps->attr, NULL};
}

void osp_genai_inherit(osp_genai *child, const osp_genai *parent)
{
    inherit_one(&child->session_id, &child->src[OSP_GF_SESSION], parent->session_id,
                &parent->src[OSP_GF_SESSION]);
    inherit_one(&child->user_id, &child->src[OSP_GF_USER], parent->user_id,
                &parent->src[OSP_GF_USER]);
}

void osp_genai_set_server_ttft(osp_genai *g, const osp_span *span, int64_t ttft_ns)
{
    if (g->ttft_ns >= 0 || ttft_ns < 0 || (uint64_t)ttft_ns > span_duration(span))
        return;
    g->ttft_ns = ttft_ns;
    g->ttft_source = OSP_TTFT_SERVER_METRIC;
    set_src(g, OSP_GF_TTFT, OSP_GS_DERIVED, 0, "gen_ai.server.time_to_first_token",
            "from the serving engine's TTFT metric");
    compute_tpot(g, span);
}
