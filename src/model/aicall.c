/* AI call records (model/aicall.h): built from a span and its canonical fields. */
#include "model/aicall.h"

#include <string.h>

#include "core/err.h"
#include "core/mem.h"

void osp_aicall_batch_init(osp_aicall_batch *b)
{
    memset(b, 0, sizeof *b);
    osp_arena_init(&b->arena, 0, 0);
}

void osp_aicall_batch_cleanup(osp_aicall_batch *b)
{
    osp_arena_cleanup(&b->arena);
    osp_free(b->calls);
    memset(b, 0, sizeof *b);
}

int osp_aicall_wanted(const osp_genai *g)
{
    return g->type != OSP_GENAI_NONE ||
           (g->session_id.n && g->src[OSP_GF_SESSION].status == OSP_GS_FILLED) ||
           (g->user_id.n && g->src[OSP_GF_USER].status == OSP_GS_FILLED);
}

osp_str osp_aicall_cut(osp_str s, size_t max)
{
    if (s.n <= max)
        return s;
    size_t n = max;
    /* Step back over continuation bytes (10xxxxxx) to the start of the cut character. */
    while (n > 0 && ((unsigned char)s.p[n] & 0xC0) == 0x80)
        n--;
    return osp_str_make(s.p, n);
}

/* 1 when name contains needle (lowercase ASCII), ignoring case. */
static int contains_ci(osp_str name, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t at = 0; at + m <= name.n; at++)
        if (osp_str_ieq(osp_str_make(name.p + at, m), osp_str_make(needle, m)))
            return 1;
    return 0;
}

int64_t osp_aicall_max_chunk_gap(const osp_span *span)
{
    osp_blob_iter it;
    osp_event ev;
    int64_t max = -1;
    uint64_t prev = 0;
    int seen = 0;
    osp_blob_iter_init(&it, span->events);
    while (osp_events_next(&it, &ev) > 0) {
        if (!contains_ci(ev.name, "chunk") && !contains_ci(ev.name, "token"))
            continue;
        if (seen++ && ev.time_ns >= prev && (int64_t)(ev.time_ns - prev) > max)
            max = (int64_t)(ev.time_ns - prev);
        prev = ev.time_ns;
    }
    return max;
}

void osp_aicall_counts(osp_aicall *a, int64_t *c[OSP_AICALL_NCOUNTS])
{
    int64_t *v[OSP_AICALL_NCOUNTS] = {
        &a->input_tokens,     &a->output_tokens, &a->cache_read_tokens, &a->cache_write_tokens,
        &a->reasoning_tokens, &a->ttft_ns,       &a->tpot_ns,           &a->max_gap_ns};
    memcpy(c, v, sizeof v);
}

void osp_aicall_strs(osp_aicall *a, osp_str *s[OSP_AICALL_NSTRS])
{
    osp_str *v[OSP_AICALL_NSTRS] = {
        &a->service,        &a->name,       &a->operation,  &a->provider,   &a->request_model,
        &a->response_model, &a->session_id, &a->user_id,    &a->agent_name, &a->tool_name,
        &a->error_type,     &a->input_text, &a->output_text};
    memcpy(s, v, sizeof v);
}

int64_t osp_aicall_uncached_input(const osp_aicall *a)
{
    int64_t n = a->input_tokens > 0 ? a->input_tokens : 0;
    n -= a->cache_read_tokens > 0 ? a->cache_read_tokens : 0;
    n -= a->cache_write_tokens > 0 ? a->cache_write_tokens : 0;
    return n > 0 ? n : 0;
}

void osp_aicall_set_server_ttft(osp_aicall *a, int64_t ttft_ns)
{
    uint64_t duration = a->end_ns > a->start_ns ? a->end_ns - a->start_ns : 0;
    if (a->type != OSP_GENAI_LLM || a->ttft_ns >= 0 || ttft_ns < 0 || (uint64_t)ttft_ns > duration)
        return;
    a->ttft_ns = ttft_ns;
    if (a->streaming == 1 && a->output_tokens >= 2)
        a->tpot_ns = osp_genai_tpot_ns(duration, ttft_ns, a->output_tokens);
}

/* A copy of s (cut) in arena; 0 or OSP_ENOMEM. */
static int copy_str(osp_arena *arena, osp_str s, osp_str *out)
{
    s = osp_aicall_cut(s, OSP_AICALL_MAX_TEXT);
    *out = s.n ? osp_arena_strdup(arena, s) : osp_str_make("", 0);
    return s.n && !out->p ? OSP_ENOMEM : 0;
}

/* The field's value when the span itself carried it, else empty. */
static osp_str own(const osp_genai *g, int field, osp_str v)
{
    return g->src[field].status == OSP_GS_FILLED ? v : osp_str_make("", 0);
}

int osp_aicall_add(osp_aicall_batch *b, const osp_span *span, const osp_resource *res,
                   const osp_genai *g)
{
    osp_aicall a = {
        .start_ns = span->start_ns,
        .end_ns = span->end_ns,
        .type = g->type,
        .input_tokens = g->input_tokens,
        .output_tokens = g->output_tokens,
        .cache_read_tokens = g->cache_read_tokens,
        .cache_write_tokens = g->cache_write_tokens,
        .reasoning_tokens = g->reasoning_tokens,
        .cache_in_input = g->cache_in_input,
        .ttft_ns = g->ttft_ns,
        .tpot_ns = g->tpot_ns,
        .streaming = g->streaming,
        .max_gap_ns = osp_aicall_max_chunk_gap(span),
        .is_error = g->is_error,
    };
    memcpy(a.trace_id, span->trace_id, 16);
    memcpy(a.span_id, span->span_id, 8);
    memcpy(a.parent_span_id, span->parent_span_id, 8);
    const struct {
        osp_str from;
        osp_str *to;
    } strs[] = {
        {res ? res->service_name : osp_str_make("", 0), &a.service},
        {span->name, &a.name},
        {g->operation, &a.operation},
        {g->provider, &a.provider},
        {g->request_model, &a.request_model},
        {g->response_model, &a.response_model},
        {own(g, OSP_GF_SESSION, g->session_id), &a.session_id},
        {own(g, OSP_GF_USER, g->user_id), &a.user_id},
        {g->agent_name, &a.agent_name},
        {g->tool_name, &a.tool_name},
        {g->error_type, &a.error_type},
        {g->input_text, &a.input_text},
        {g->output_text, &a.output_text},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (copy_str(&b->arena, strs[i].from, strs[i].to))
            return OSP_ENOMEM;
    osp_aicall *slot = osp_array_push((void **)&b->calls, &b->n, &b->cap, sizeof *slot);
    if (!slot)
        return OSP_ENOMEM;
    *slot = a;
    return 0;
}
