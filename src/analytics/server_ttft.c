/* TTFT from a serving engine's metric exemplars (server_ttft.h). */
#include "analytics/server_ttft.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/tsdb/index.h"

static int cmp_trace(const void *a, const void *b)
{
    return memcmp(((const osp_server_ttft *)a)->trace_id, ((const osp_server_ttft *)b)->trace_id,
                  16);
}

/* The value of label name of e, or an empty string. */
static osp_str label_of(const osp_prom_exemplar *e, const char *name)
{
    for (size_t i = 0; i < e->nlabels; i++)
        if (osp_str_eqz(e->labels[i].name, name))
            return e->labels[i].value;
    return OSP_STR_LIT("");
}

/* Fills x from e: 1 when e names a trace and holds a TTFT, else 0. */
static int exemplar_ttft(const osp_prom_exemplar *e, osp_server_ttft *x)
{
    osp_str trace = label_of(e, "trace_id"), span = label_of(e, "span_id");
    if (trace.n != 32 || osp_hex_decode(trace.p, 16, x->trace_id) != 0 ||
        !(e->value >= 0 && e->value < 1e6)) /* also rejects NaN */
        return 0;
    memset(x->span_id, 0, sizeof x->span_id);
    if (span.n == 16 && osp_hex_decode(span.p, 8, x->span_id) != 0)
        memset(x->span_id, 0, sizeof x->span_id);
    x->t_ms = e->t_ms;
    x->ttft_ns = (int64_t)(e->value * 1e9 + 0.5);
    return 1;
}

int osp_server_ttft_load(osp_store *store, int64_t mint_ms, int64_t maxt_ms, osp_arena *arena,
                         osp_server_ttfts *out)
{
    static const osp_label_matcher m = {
        OSP_MATCH_RE, OSP_STR_LIT(OSP_METRIC_NAME_LABEL),
        OSP_STR_LIT(OSP_SERVER_TTFT_METRIC "(_bucket|_count|_sum)?")};
    osp_matcher_set set = {&m, 1};
    osp_series_exemplars *se = NULL;
    size_t nse = 0, total = 0;
    *out = (osp_server_ttfts){NULL, 0};
    int rc = osp_store_select_exemplars(store, &set, 1, mint_ms, maxt_ms, arena, &se, &nse);
    if (rc == OSP_EUNSUPPORTED)
        return 0;
    if (rc)
        return rc;
    for (size_t i = 0; i < nse; i++)
        total += se[i].nexemplars;
    out->x = osp_arena_alloc(arena, (total + 1) * sizeof *out->x);
    if (!out->x)
        return OSP_ENOMEM;
    for (size_t i = 0; i < nse; i++)
        for (size_t k = 0; k < se[i].nexemplars; k++)
            out->n += (size_t)exemplar_ttft(&se[i].exemplars[k], &out->x[out->n]);
    if (out->n)
        qsort(out->x, out->n, sizeof *out->x, cmp_trace);
    return 0;
}

int64_t osp_server_ttft_find(const osp_server_ttfts *t, const uint8_t trace_id[16],
                             const uint8_t span_id[8], uint64_t start_ns, uint64_t end_ns)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) { /* the first exemplar of the trace */
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(t->x[mid].trace_id, trace_id, 16) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint64_t duration = end_ns > start_ns ? end_ns - start_ns : 0;
    int64_t from_ms = (int64_t)(start_ns / 1000000), to_ms = (int64_t)((end_ns + 999999) / 1000000);
    int64_t within = -1;
    for (size_t i = lo; i < t->n && !memcmp(t->x[i].trace_id, trace_id, 16); i++) {
        const osp_server_ttft *x = &t->x[i];
        if ((uint64_t)x->ttft_ns > duration)
            continue;
        if (!memcmp(x->span_id, span_id, 8))
            return x->ttft_ns;
        if (within < 0 && x->t_ms >= from_ms && x->t_ms <= to_ms)
            within = x->ttft_ns;
    }
    return within;
}

/* Loads the exemplars of [first_ns, last_ns] into *t; none when first_ns > last_ns. */
static int load_span(osp_store *store, uint64_t first_ns, uint64_t last_ns, osp_arena *arena,
                     osp_server_ttfts *t)
{
    *t = (osp_server_ttfts){NULL, 0};
    if (first_ns > last_ns)
        return 0;
    return osp_server_ttft_load(store, (int64_t)(first_ns / 1000000),
                                (int64_t)(last_ns / 1000000) + 1, arena, t);
}

static void widen(uint64_t *first, uint64_t *last, uint64_t start_ns, uint64_t end_ns)
{
    *first = start_ns < *first ? start_ns : *first;
    *last = end_ns > *last ? end_ns : *last;
}

int osp_server_ttft_fill(osp_store *store, osp_aicall *calls, size_t n, osp_arena *arena)
{
    uint64_t first = UINT64_MAX, last = 0;
    for (size_t i = 0; i < n; i++)
        if (calls[i].type == OSP_GENAI_LLM && calls[i].ttft_ns < 0)
            widen(&first, &last, calls[i].start_ns, calls[i].end_ns);
    osp_server_ttfts t;
    int rc = load_span(store, first, last, arena, &t);
    for (size_t i = 0; rc == 0 && t.n && i < n; i++) {
        osp_aicall *a = &calls[i];
        if (a->type == OSP_GENAI_LLM && a->ttft_ns < 0)
            osp_aicall_set_server_ttft(
                a, osp_server_ttft_find(&t, a->trace_id, a->span_id, a->start_ns, a->end_ns));
    }
    return rc;
}

int osp_server_ttft_fill_spans(osp_store *store, const osp_span_batch *b, osp_genai *g,
                               osp_arena *arena)
{
    uint64_t first = UINT64_MAX, last = 0;
    for (size_t i = 0; i < b->nspans; i++)
        if (g[i].type == OSP_GENAI_LLM && g[i].ttft_ns < 0)
            widen(&first, &last, b->spans[i].start_ns, b->spans[i].end_ns);
    osp_server_ttfts t;
    int rc = load_span(store, first, last, arena, &t);
    for (size_t i = 0; rc == 0 && t.n && i < b->nspans; i++) {
        const osp_span *s = &b->spans[i];
        if (g[i].type == OSP_GENAI_LLM && g[i].ttft_ns < 0)
            osp_genai_set_server_ttft(
                &g[i], s,
                osp_server_ttft_find(&t, s->trace_id, s->span_id, s->start_ns, s->end_ns));
    }
    return rc;
}
