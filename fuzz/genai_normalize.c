/* libFuzzer target for GenAI normalization: the input is decoded as an OTLP protobuf trace
 * request and every span normalized; the input is also cut into start and end times, an
 * attrs blob and an events blob (split at FUZZ_RECORD_SEP) normalized as one raw span.
 * No crash, no leak, every filled string readable and, for decoded spans, valid UTF-8
 * (within the request's bytes or rendered into the arena), every source consistent. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/str.h"
#include "fuzz_check.h"
#include "model/genai.h"
#include "proto/otlp.h"

#define FUZZ_RECORD_SEP "\xfe\xfeRS"
#define FUZZ_RECORD_SEP_LEN 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every byte (ASan checks they are addressable) and, when utf8, checks the text. */
static void check_str(osp_str s, int utf8)
{
    volatile unsigned sum = 0;
    for (size_t i = 0; i < s.n; i++)
        sum += (unsigned char)s.p[i];
    CHECK(s.n == 0 || s.p);
    CHECK(!utf8 || osp_utf8_valid(s.p, s.n));
}

static void check_genai(const osp_genai *g, const osp_span *span, int utf8)
{
    const osp_str strs[] = {g->operation,      g->provider,   g->request_model, g->response_model,
                            g->session_id,     g->user_id,    g->agent_name,    g->tool_name,
                            g->finish_reasons, g->error_type, g->input_text,    g->output_text};
    const int64_t counts[] = {g->input_tokens,       g->output_tokens,    g->cache_read_tokens,
                              g->cache_write_tokens, g->reasoning_tokens, g->tpot_ns};
    uint64_t duration = span->end_ns > span->start_ns ? span->end_ns - span->start_ns : 0;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        check_str(strs[i], utf8);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        CHECK(counts[i] >= -1);
    CHECK(g->type >= 0 && g->type < OSP_GENAI_TYPE_COUNT);
    CHECK(g->ttft_ns == -1 || (g->ttft_ns >= 0 && (uint64_t)g->ttft_ns <= duration));
    CHECK((g->ttft_ns >= 0) == (g->ttft_source != OSP_TTFT_NONE));
    CHECK(g->streaming >= -1 && g->streaming <= 1);
    CHECK((g->conventions & ~((1u << OSP_CONV_COUNT) - 1)) == 0);
    for (int f = 0; f < OSP_GF_COUNT; f++) {
        const osp_genai_source *s = &g->src[f];
        CHECK(s->status <= OSP_GS_NOT_APPLICABLE);
        CHECK(s->status != OSP_GS_FILLED || (s->attr && !s->reason));
        CHECK(s->status == OSP_GS_FILLED || s->status == OSP_GS_INHERITED || s->reason);
        CHECK((s->convention & g->conventions) == s->convention || s->status == OSP_GS_INHERITED ||
              f == OSP_GF_ERROR_TYPE);
        CHECK(g->conventions || s->status == OSP_GS_MISSING || s->status == OSP_GS_INHERITED ||
              f == OSP_GF_TTFT || f == OSP_GF_TPOT); /* a server TTFT */
    }
    CHECK(g->type == OSP_GENAI_NONE || g->conventions);
}

/* Normalizes span into arena, then, on a copy, inherits from *prev (the span before, as if
 * it were the parent) and sets a server TTFT. *prev becomes this span's result. */
static void normalize(const osp_span *span, const osp_resource *res, osp_arena *arena,
                      osp_genai *prev, int utf8)
{
    osp_genai g;
    if (osp_genai_normalize(span, res, arena, &g) != 0)
        return;
    check_genai(&g, span, utf8);
    osp_genai copy = g;
    osp_genai_inherit(&copy, prev);
    osp_genai_set_server_ttft(&copy, span, (int64_t)(span->start_ns % 5000000000u));
    check_genai(&copy, span, utf8);
    *prev = g;
}

static void fuzz_decoded(const uint8_t *data, size_t size)
{
    osp_span_batch b;
    osp_decode_report rep;
    osp_arena arena;
    osp_genai prev = {0};
    osp_span_batch_init(&b);
    osp_arena_init(&arena, 0, 0);
    if (osp_otlp_traces_decode_pb(osp_str_make((const char *)data, size), &b, &rep) == 0)
        for (size_t i = 0; i < b.nspans; i++)
            normalize(&b.spans[i], &b.resources[b.spans[i].resource], &arena, &prev, 1);
    osp_arena_cleanup(&arena);
    osp_span_batch_cleanup(&b);
}

static void fuzz_raw(const uint8_t *data, size_t size)
{
    osp_span span = {0};
    osp_arena arena;
    if (size < 16)
        return;
    memcpy(&span.start_ns, data, 8);
    memcpy(&span.end_ns, data + 8, 8);
    osp_str rest = osp_str_make((const char *)data + 16, size - 16);
    const char *sep = memmem(rest.p, rest.n, FUZZ_RECORD_SEP, FUZZ_RECORD_SEP_LEN);
    span.attributes = sep ? osp_str_make(rest.p, (size_t)(sep - rest.p)) : rest;
    if (sep)
        span.events = osp_str_make(sep + FUZZ_RECORD_SEP_LEN,
                                   rest.n - span.attributes.n - FUZZ_RECORD_SEP_LEN);
    span.status_code = data[0] & 3;
    osp_arena_init(&arena, 0, 0);
    normalize(&span, NULL, &arena, &(osp_genai){0}, 0);
    osp_arena_cleanup(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_decoded(data, size);
    fuzz_raw(data, size);
    return 0;
}
