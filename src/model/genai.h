/* GenAI normalization: reads the AI-telemetry conventions found in the wild on a span
 * (current OpenTelemetry gen_ai.*, its deprecated names, OpenInference, OpenLLMetry /
 * Traceloop, CloudWeGo Eino's APMPlus handler, Langfuse) into one set of canonical fields,
 * once, on ingest and in the diagnostic. The span's own attributes are never changed.
 *
 * The mapping (which attribute fills which field, and in which order of precedence) is one
 * table in genai.c, versioned by OSP_GENAI_MAPPING_VERSION and documented in
 * docs/genai.md; every field records where its value came from, or why it has none, so
 * GET /api/v1/llm/diagnose can explain each span. */
#ifndef OSP_MODEL_GENAI_H
#define OSP_MODEL_GENAI_H

#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/span.h"

/* Bumped whenever a mapping row is added, removed or reordered. */
#define OSP_GENAI_MAPPING_VERSION "2026-11-21.1"

/* What a span does, in the vocabulary of the conventions (OpenInference span kinds,
 * gen_ai.operation.name, Traceloop and Eino span kinds). */
enum osp_genai_type {
    OSP_GENAI_NONE = 0, /* not an AI span: no convention recognized */
    OSP_GENAI_LLM,      /* chat, text completion, generate_content */
    OSP_GENAI_EMBEDDING,
    OSP_GENAI_TOOL,
    OSP_GENAI_AGENT,
    OSP_GENAI_RETRIEVER,
    OSP_GENAI_RERANKER,
    OSP_GENAI_WORKFLOW, /* invoke_workflow, Traceloop workflow */
    OSP_GENAI_CHAIN,    /* OpenInference CHAIN, Traceloop task */
    OSP_GENAI_GUARDRAIL,
    OSP_GENAI_EVALUATOR,
    OSP_GENAI_TYPE_COUNT
};

/* "none", "llm", "embedding", "tool", "agent", "retriever", "reranker", "workflow",
 * "chain", "guardrail", "evaluator". */
const char *osp_genai_type_name(int type);

/* The conventions a mapping row belongs to (bits of osp_genai.conventions). */
enum osp_genai_convention {
    OSP_CONV_OTEL = 1u << 0,            /* gen_ai.* as of semantic conventions v1.41 */
    OSP_CONV_OTEL_DEPRECATED = 1u << 1, /* gen_ai.system, usage.prompt_tokens, prompt.N ... */
    OSP_CONV_OPENINFERENCE = 1u << 2,   /* llm.*, openinference.span.kind, session.id ... */
    OSP_CONV_TRACELOOP = 1u << 3,       /* traceloop.*, llm.usage.*, gen_ai.prompt.N ... */
    OSP_CONV_EINO = 1u << 4,            /* gen_ai.span.kind, gen_ai.session.id ... */
    OSP_CONV_LANGFUSE = 1u << 5,        /* langfuse.session.id, langfuse.user.id ... */
};
#define OSP_CONV_COUNT 6

/* "otel", "otel-deprecated", "openinference", "traceloop", "eino", "langfuse" for one bit. */
const char *osp_genai_convention_name(unsigned bit);

/* The canonical fields, as indexes of osp_genai.src. */
enum osp_genai_field {
    OSP_GF_TYPE,
    OSP_GF_OPERATION,
    OSP_GF_PROVIDER,
    OSP_GF_REQUEST_MODEL,
    OSP_GF_RESPONSE_MODEL,
    OSP_GF_INPUT_TOKENS,
    OSP_GF_OUTPUT_TOKENS,
    OSP_GF_CACHE_READ_TOKENS,
    OSP_GF_CACHE_WRITE_TOKENS,
    OSP_GF_REASONING_TOKENS,
    OSP_GF_SESSION,
    OSP_GF_USER,
    OSP_GF_AGENT,
    OSP_GF_TOOL,
    OSP_GF_STREAMING,
    OSP_GF_FINISH_REASONS,
    OSP_GF_TTFT,
    OSP_GF_TPOT,
    OSP_GF_ERROR_TYPE,
    OSP_GF_INPUT_TEXT,
    OSP_GF_OUTPUT_TEXT,
    OSP_GF_COUNT
};

/* The field's name in APIs and docs: "type", "operation", "provider", "request_model",
 * "response_model", "input_tokens", "output_tokens", "cache_read_tokens",
 * "cache_write_tokens", "reasoning_tokens", "session_id", "user_id", "agent_name",
 * "tool_name", "streaming", "finish_reasons", "ttft", "tpot", "error_type", "input_text",
 * "output_text". */
const char *osp_genai_field_name(int field);

enum osp_genai_status {
    OSP_GS_MISSING = 0,    /* no attribute of any convention carried it */
    OSP_GS_FILLED,         /* from the span itself (attr names the attribute or event) */
    OSP_GS_INHERITED,      /* session or user from an ancestor span (osp_genai_inherit) */
    OSP_GS_DERIVED,        /* computed: TPOT, a type from the operation name, ... */
    OSP_GS_INVALID,        /* an attribute was there but its value was unusable */
    OSP_GS_NOT_APPLICABLE, /* e.g. TPOT of a call that was not streamed */
};

/* Where one canonical field came from, or why it is empty. */
typedef struct osp_genai_source {
    uint8_t status;     /* enum osp_genai_status */
    uint8_t convention; /* the osp_genai_convention bit of the row used (0: none) */
    const char *attr;   /* the attribute, event or rule used (static string), or NULL */
    const char *reason; /* for MISSING, INVALID, NOT_APPLICABLE, DERIVED: why (static
                           string); else NULL */
} osp_genai_source;

/* TTFT sources, in the order they are tried. */
enum osp_genai_ttft_source {
    OSP_TTFT_NONE = 0,
    OSP_TTFT_EVENT,            /* a first-token / first-chunk span event */
    OSP_TTFT_COMPLETION_START, /* a completion-start time attribute (Langfuse, Traceloop) */
    OSP_TTFT_ATTRIBUTE,        /* gen_ai.response.time_to_first_chunk (seconds) */
    OSP_TTFT_SERVER_METRIC,    /* a matching server TTFT metric (set by the caller) */
};

/* Canonical fields of one span. Strings point into the span's bytes or the arena given to
 * osp_genai_normalize; counts are -1 when unknown. */
typedef struct osp_genai {
    int type;          /* enum osp_genai_type */
    osp_str operation; /* gen_ai.operation.name as sent, or the one implied by the type */
    osp_str provider;  /* gen_ai.provider.name vocabulary (deprecated "xai" -> "x_ai") */
    osp_str request_model, response_model;
    int64_t input_tokens;  /* total input, cached tokens included (OTel semantics) */
    int64_t output_tokens; /* total output, reasoning included */
    int64_t cache_read_tokens, cache_write_tokens, reasoning_tokens;
    /* 1 when input_tokens already includes the cache reads and writes (the OTel and
     * OpenInference rule), 0 when the span counted them beside (cache tokens larger than
     * input, as some instrumentations report Anthropic's usage): input_tokens is then
     * corrected to include them. -1 when there are no cache counts. */
    int cache_in_input;
    osp_str session_id, user_id, agent_name, tool_name;
    int streaming;                   /* 1, 0, or -1 unknown */
    osp_str finish_reasons;          /* comma-separated, in choice order; empty when unknown */
    int64_t ttft_ns;                 /* time to first token, -1 unknown */
    int ttft_source;                 /* enum osp_genai_ttft_source */
    int64_t tpot_ns;                 /* (duration - TTFT) / (output tokens - 1), streamed calls with
                                        two or more output tokens; -1 otherwise */
    osp_str error_type;              /* error.type, or the exception type, when the span failed */
    int is_error;                    /* status ERROR */
    osp_str input_text, output_text; /* captured messages (JSON text), empty when not sent */
    unsigned conventions;            /* osp_genai_convention bits of every row that matched */
    osp_genai_source src[OSP_GF_COUNT];
} osp_genai;

/* How field f of an osp_genai holds its value (osp_genai_field_value). */
enum osp_genai_value_kind {
    OSP_GV_NONE = 0, /* unknown: a count or flag of -1 */
    OSP_GV_STR,      /* *s: strings, and the type as its name */
    OSP_GV_INT,      /* *i: token counts */
    OSP_GV_BOOL,     /* *i 0 or 1: streaming */
    OSP_GV_NS,       /* *i nanoseconds: TTFT, TPOT */
};

/* The value of field f (enum osp_genai_field) of g, through *s or *i; returns its kind. */
int osp_genai_field_value(const osp_genai *g, int f, osp_str *s, int64_t *i);

/* Normalizes span (of resource res, may be NULL) into *out. Attribute values, events and the
 * span's name are read, never changed; structured values (message arrays, kvlists) are
 * rendered as JSON text into arena. A span with no recognized convention gets type NONE
 * and every field MISSING. 0, or OSP_ENOMEM; a corrupt attribute blob counts as no
 * attributes (the store validated it). */
int osp_genai_normalize(const osp_span *span, const osp_resource *res, osp_arena *arena,
                        osp_genai *out);

/* Session propagation: child takes parent's session and user ids where it has none
 * (status INHERITED, attr naming the parent's source). */
void osp_genai_inherit(osp_genai *child, const osp_genai *parent);

/* Sets TTFT from a server metric when the span had none (source SERVER_METRIC) and
 * recomputes TPOT. */
void osp_genai_set_server_ttft(osp_genai *g, const osp_span *span, int64_t ttft_ns);

/* 1 when span (of canonical fields g) is a serving engine's own span of a model call: an
 * LLM or embedding span of kind SERVER. The caller's span already counts that call, so it
 * is no call of its own in the derived metrics and the session index (docs/genai.md). */
int osp_genai_serves_call(const osp_genai *g, const osp_span *span);

/* TPOT of a streamed call of duration_ns with TTFT ttft_ns (0 <= ttft_ns) and
 * output_tokens >= 2: (duration - TTFT) / (output tokens - 1), capped at INT64_MAX. */
int64_t osp_genai_tpot_ns(uint64_t duration_ns, int64_t ttft_ns, int64_t output_tokens);

#endif
