/* Agent callbacks: the handler registry, run dispatch, and the tracing handler that turns
 * agent, chat model, tool, retriever and workflow runs into GenAI spans. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "genai_int.h"

#define MAX_HANDLERS 16
#define RUN_NAME_MAX 256 /* run names and types are cut here */

/* The registry; runs copy it under the lock, so registration never races a run. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static osprey_callback_handler g_handlers[MAX_HANDLERS];
static size_t g_nhandlers;

struct osprey_run {
    osprey_run_info info; /* name and type point into strings */
    size_t n;
    osprey_callback_handler handlers[MAX_HANDLERS]; /* the registry when the run started */
    void *state[MAX_HANDLERS];                      /* each handler's run state */
    char strings[];
};

int osprey_callbacks_register(const osprey_callback_handler *h)
{
    if (!h)
        return OSPREY_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&g_lock);
    if (g_nhandlers == MAX_HANDLERS)
        rc = OSPREY_EFULL;
    else
        g_handlers[g_nhandlers++] = *h;
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void osprey_callbacks_reset(void)
{
    pthread_mutex_lock(&g_lock);
    g_nhandlers = 0;
    pthread_mutex_unlock(&g_lock);
}

/* Copies z (cut at RUN_NAME_MAX) to *cursor and advances it; NULL stays NULL. */
static const char *pack(char **cursor, const char *z)
{
    if (!z)
        return NULL;
    size_t n = strnlen(z, RUN_NAME_MAX);
    char *s = *cursor;
    memcpy(s, z, n);
    s[n] = '\0';
    *cursor = s + n + 1;
    return s;
}

/* A new run holding a copy of info and of the registry; NULL on ENOMEM. */
static osprey_run *run_new(const osprey_run_info *info)
{
    size_t size = sizeof(osprey_run) + 2;
    size += info->name ? strnlen(info->name, RUN_NAME_MAX) : 0;
    size += info->type ? strnlen(info->type, RUN_NAME_MAX) : 0;
    osprey_run *r = osp_calloc(1, size);
    if (!r)
        return NULL;
    char *cursor = r->strings;
    r->info.component = info->component;
    r->info.name = pack(&cursor, info->name);
    r->info.type = pack(&cursor, info->type);
    pthread_mutex_lock(&g_lock);
    r->n = g_nhandlers;
    memcpy(r->handlers, g_handlers, g_nhandlers * sizeof g_handlers[0]);
    pthread_mutex_unlock(&g_lock);
    return r;
}

osprey_run *osprey_run_start(const osprey_run_info *info, const osprey_cb_payload *input,
                             const osprey_cb_stream *stream_input)
{
    if (!info)
        return NULL;
    osprey_run *r = run_new(info);
    if (!r)
        return NULL;
    for (size_t i = 0; i < r->n; i++) {
        const osprey_callback_handler *h = &r->handlers[i];
        if (stream_input && h->on_start_with_stream_input)
            r->state[i] = h->on_start_with_stream_input(h->self, &r->info, stream_input);
        else if (!stream_input && h->on_start)
            r->state[i] = h->on_start(h->self, &r->info, input);
    }
    return r;
}

/* Ends are reported in reverse registration order, so handlers that attach contexts
 * detach them in the reverse order of attaching. */
void osprey_run_end(osprey_run *r, const osprey_cb_payload *output,
                    const osprey_cb_stream *stream_output)
{
    if (!r)
        return;
    for (size_t i = r->n; i-- > 0;) {
        const osprey_callback_handler *h = &r->handlers[i];
        if (stream_output && h->on_end_with_stream_output)
            h->on_end_with_stream_output(h->self, r->state[i], &r->info, stream_output);
        else if (!stream_output && h->on_end)
            h->on_end(h->self, r->state[i], &r->info, output);
    }
    osp_free(r);
}

void osprey_run_error(osprey_run *r, const char *error)
{
    if (!r)
        return;
    for (size_t i = r->n; i-- > 0;) {
        const osprey_callback_handler *h = &r->handlers[i];
        if (h->on_error)
            h->on_error(h->self, r->state[i], &r->info, error);
    }
    osp_free(r);
}

/* ---- The tracing handler ------------------------------------------------------------------ */

/* A tracing handler's self: where its spans and metrics go. */
typedef struct tracing_self {
    osprey_tracer *t;
    osprey_meter *m;
} tracing_self;

/* Selves live in a static table (handlers are plain values with no destroy call): one per
 * distinct (t, m), at most MAX_HANDLERS; past that a slot no registered handler uses is
 * taken over. Guarded by g_lock. */
static tracing_self g_tracing[MAX_HANDLERS];
static size_t g_ntracing;

/* A tracing handler's state for one run. */
typedef struct tracing_run {
    osprey_span span;     /* the run's span, except for chat models */
    osprey_llm_call *llm; /* chat models: the GenAI call */
    osprey_scope scope;   /* the run's context attached on thread */
    pthread_t thread;
} tracing_run;

/* How each non-chat component's span is named and attributed. */
typedef struct component_desc {
    const char *operation; /* gen_ai.operation.name and span name prefix */
    osprey_span_kind kind;
    const char *name_key; /* the attribute that carries info->name */
} component_desc;

static const component_desc *component_of(osprey_component c)
{
    static const component_desc descs[] = {
        [OSPREY_COMPONENT_AGENT] = {"invoke_agent", OSPREY_SPAN_INTERNAL, "gen_ai.agent.name"},
        [OSPREY_COMPONENT_TOOL] = {"execute_tool", OSPREY_SPAN_INTERNAL, "gen_ai.tool.name"},
        [OSPREY_COMPONENT_RETRIEVER] = {"retrieval", OSPREY_SPAN_CLIENT, "gen_ai.data_source.id"},
        [OSPREY_COMPONENT_WORKFLOW] = {"invoke_workflow", OSPREY_SPAN_INTERNAL,
                                       "gen_ai.workflow.name"},
    };
    if ((size_t)c >= sizeof descs / sizeof descs[0] || !descs[c].operation)
        return NULL;
    return &descs[c];
}

/* Starts the span of a non-chat run (a non-recording one for an unknown component). */
static osprey_span start_component_span(osprey_tracer *t, const osprey_run_info *info,
                                        const osprey_cb_payload *in)
{
    const component_desc *d = component_of(info->component);
    if (!d || !t)
        return (osprey_span){0};
    osprey_attr a[6];
    size_t n = 0;
    a[n++] = OSPREY_STR("gen_ai.operation.name", d->operation);
    if (info->name)
        a[n++] = OSPREY_STR(d->name_key, info->name);
    if (info->component == OSPREY_COMPONENT_TOOL) {
        a[n++] = OSPREY_STR("gen_ai.tool.type", info->type ? info->type : "function");
        if (in && in->tool_call_id)
            a[n++] = OSPREY_STR("gen_ai.tool.call.id", in->tool_call_id);
    }
    if (in && in->conversation_id)
        a[n++] = OSPREY_STR("gen_ai.conversation.id", in->conversation_id);
    char name[RUN_NAME_MAX + 32];
    snprintf(name, sizeof name, "%s%s%s", d->operation, info->name ? " " : "",
             info->name ? info->name : "");
    osprey_span_options o = {.kind = d->kind, .attrs = a, .nattrs = n};
    return osprey_span_start(t, name, &o);
}

/* Begins the GenAI call of a chat model run; NULL on ENOMEM. */
static osprey_llm_call *begin_chat(const tracing_self *ts, const osprey_run_info *info,
                                   const osprey_cb_payload *in)
{
    osprey_llm_request req = {
        .operation = "chat",
        .provider = info->type,
        .request_model = info->name,
        .conversation_id = in ? in->conversation_id : NULL,
        .temperature = -1,
        .input_messages = in ? in->content : NULL,
    };
    return osprey_llm_begin(ts->t, ts->m, &req);
}

static void *tracing_start(void *self, const osprey_run_info *info, const osprey_cb_payload *in)
{
    const tracing_self *ts = self;
    tracing_run *tr = osp_calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    const osprey_span_context *ctx = &tr->span.context;
    if (info->component == OSPREY_COMPONENT_CHAT_MODEL) {
        tr->llm = begin_chat(ts, info, in);
        if (!tr->llm) {
            osp_free(tr);
            return NULL;
        }
        ctx = osprey_llm_context(tr->llm);
    } else {
        tr->span = start_component_span(ts->t, info, in);
    }
    tr->scope = osprey_attach(ctx);
    tr->thread = pthread_self();
    return tr;
}

static void *tracing_start_stream(void *self, const osprey_run_info *info,
                                  const osprey_cb_stream *in)
{
    return tracing_start(self, info, in ? in->summary : NULL);
}

/* Detaches the run's context when it ends on the thread that attached it. */
static void tracing_detach(const tracing_run *tr)
{
    if (pthread_equal(tr->thread, pthread_self()))
        osprey_detach(tr->scope);
}

/* Ends the run with out (may be NULL) and frees tr. */
static void tracing_finish(tracing_run *tr, const osprey_cb_payload *out)
{
    tracing_detach(tr);
    if (tr->llm) {
        osprey_llm_response resp = {.input_tokens = -1,
                                    .output_tokens = -1,
                                    .cache_read_tokens = -1,
                                    .cache_creation_tokens = -1};
        const char *reason = out ? out->finish_reason : NULL;
        if (out) {
            resp.input_tokens = out->input_tokens;
            resp.output_tokens = out->output_tokens;
            resp.output_messages = out->content;
        }
        if (reason) {
            resp.finish_reasons = &reason;
            resp.nfinish_reasons = 1;
        }
        osprey_llm_end(tr->llm, &resp);
    } else {
        osprey_span_end(&tr->span, 0);
    }
    osp_free(tr);
}

static void tracing_end(void *self, void *run, const osprey_run_info *info,
                        const osprey_cb_payload *out)
{
    if (run)
        tracing_finish(run, out);
}

static void tracing_end_stream(void *self, void *run, const osprey_run_info *info,
                               const osprey_cb_stream *out)
{
    tracing_run *tr = run;
    if (!tr)
        return;
    if (tr->llm && out) {
        osprey_span_set_attr(osprey__llm_span(tr->llm), OSPREY_BOOL("gen_ai.request.stream", true));
        for (size_t i = 0; i < out->n; i++)
            osprey__llm_chunk_at(tr->llm, out->chunks[i].time_ns);
    }
    tracing_finish(tr, out ? out->summary : NULL);
}

static void tracing_error(void *self, void *run, const osprey_run_info *info, const char *error)
{
    tracing_run *tr = run;
    if (!tr)
        return;
    tracing_detach(tr);
    if (tr->llm) {
        osprey_llm_response resp = {.input_tokens = -1,
                                    .output_tokens = -1,
                                    .cache_read_tokens = -1,
                                    .cache_creation_tokens = -1,
                                    .error_type = "_OTHER",
                                    .error_message = error};
        osprey_llm_end(tr->llm, &resp);
    } else {
        osprey_span_set_attr(&tr->span, OSPREY_STR("error.type", "_OTHER"));
        osprey_span_set_status(&tr->span, OSPREY_STATUS_ERROR, error);
        osprey_span_end(&tr->span, 0);
    }
    osp_free(tr);
}

/* True when a registered handler has self as its self. Called with g_lock held. */
static bool self_registered(const void *self)
{
    for (size_t i = 0; i < g_nhandlers; i++)
        if (g_handlers[i].self == self)
            return true;
    return false;
}

/* The self slot for (t, m), or NULL when every slot is held by a registered handler.
 * Called with g_lock held. */
static tracing_self *tracing_slot(osprey_tracer *t, osprey_meter *m)
{
    for (size_t i = 0; i < g_ntracing; i++)
        if (g_tracing[i].t == t && g_tracing[i].m == m)
            return &g_tracing[i];
    tracing_self *slot = NULL;
    if (g_ntracing < MAX_HANDLERS)
        slot = &g_tracing[g_ntracing++];
    for (size_t i = 0; !slot && i < MAX_HANDLERS; i++)
        if (!self_registered(&g_tracing[i]))
            slot = &g_tracing[i];
    if (slot)
        *slot = (tracing_self){t, m};
    return slot;
}

osprey_callback_handler osprey_tracing_handler(osprey_tracer *t, osprey_meter *m)
{
    pthread_mutex_lock(&g_lock);
    tracing_self *self = tracing_slot(t, m);
    pthread_mutex_unlock(&g_lock);
    if (!self)
        return (osprey_callback_handler){0};
    return (osprey_callback_handler){
        .self = self,
        .on_start = tracing_start,
        .on_end = tracing_end,
        .on_error = tracing_error,
        .on_start_with_stream_input = tracing_start_stream,
        .on_end_with_stream_output = tracing_end_stream,
    };
}
