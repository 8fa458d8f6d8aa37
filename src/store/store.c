/* Store dispatch: picks an engine by name and forwards calls to it. */
#include "store/store.h"

#include <string.h>

#include "core/err.h"
#include "core/mem.h"

extern const osp_store_engine osp_embedded_engine;

static const osp_store_engine *const engines[] = {&osp_embedded_engine};

struct osp_store {
    const osp_store_engine *engine;
    void *impl;
};

int osp_store_open(const osp_store_options *opt, osp_store **out)
{
    const char *name = opt->engine ? opt->engine : "embedded";
    const osp_store_engine *engine = NULL;
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++)
        if (!strcmp(engines[i]->name, name))
            engine = engines[i];
    if (!engine)
        return OSP_EINVAL;
    osp_store *s = osp_calloc(1, sizeof *s);
    if (!s)
        return OSP_ENOMEM;
    s->engine = engine;
    int rc = engine->open(opt, &s->impl);
    if (rc) {
        osp_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void osp_store_close(osp_store *s)
{
    if (!s)
        return;
    s->engine->close(s->impl);
    osp_free(s);
}

int osp_store_append_spans(osp_store *s, const osp_span_batch *b)
{
    return s->engine->append_spans(s->impl, b);
}

int osp_store_get_trace(osp_store *s, const uint8_t trace_id[16], unsigned flags,
                        osp_span_batch *out)
{
    return s->engine->get_trace(s->impl, trace_id, flags, out);
}

int osp_store_search_traces(osp_store *s, const osp_trace_query *q, osp_arena *arena,
                            osp_trace_hit **hits, size_t *nhits)
{
    return s->engine->search_traces(s->impl, q, arena, hits, nhits);
}

int osp_store_services(osp_store *s, osp_arena *arena, osp_str **names, size_t *n)
{
    return s->engine->services(s->impl, arena, names, n);
}

int osp_store_operations(osp_store *s, osp_str service, osp_arena *arena, osp_operation **ops,
                         size_t *n)
{
    return s->engine->operations(s->impl, service, arena, ops, n);
}

int osp_store_flush(osp_store *s)
{
    return s->engine->flush(s->impl);
}

int osp_store_append_series(osp_store *s, const osp_series_batch *b, osp_tsdb_append_report *rep)
{
    if (!s->engine->append_series)
        return OSP_EUNSUPPORTED;
    return s->engine->append_series(s->impl, b, rep);
}

void osp_store_known_series(osp_store *s, const osp_series_key *keys, size_t n, uint64_t *refs)
{
    if (s->engine->known_series)
        s->engine->known_series(s->impl, keys, n, refs);
    else
        memset(refs, 0, n * sizeof *refs);
}

int osp_store_select_series(osp_store *s, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                            int64_t maxt_ms, int with_samples, osp_arena *arena, osp_series **out,
                            size_t *nout)
{
    if (!s->engine->select_series)
        return OSP_EUNSUPPORTED;
    return s->engine->select_series(s->impl, m, n, mint_ms, maxt_ms, with_samples, arena, out,
                                    nout);
}

int osp_store_label_names(osp_store *s, const osp_label_matcher *m, size_t n, int64_t mint_ms,
                          int64_t maxt_ms, osp_arena *arena, osp_str **names, size_t *nnames)
{
    if (!s->engine->label_names)
        return OSP_EUNSUPPORTED;
    return s->engine->label_names(s->impl, m, n, mint_ms, maxt_ms, arena, names, nnames);
}

int osp_store_label_values(osp_store *s, osp_str name, const osp_label_matcher *m, size_t n,
                           int64_t mint_ms, int64_t maxt_ms, osp_arena *arena, osp_str **values,
                           size_t *nvalues)
{
    if (!s->engine->label_values)
        return OSP_EUNSUPPORTED;
    return s->engine->label_values(s->impl, name, m, n, mint_ms, maxt_ms, arena, values, nvalues);
}

int osp_store_metric_metadata(osp_store *s, osp_str family, osp_arena *arena, osp_metric_meta **out,
                              size_t *nout)
{
    if (!s->engine->metadata)
        return OSP_EUNSUPPORTED;
    return s->engine->metadata(s->impl, family, arena, out, nout);
}

int osp_store_append_exemplars(osp_store *s, const osp_series_batch *b, osp_exemplar_report *rep)
{
    if (!s->engine->append_exemplars)
        return OSP_EUNSUPPORTED;
    return s->engine->append_exemplars(s->impl, b, rep);
}

int osp_store_select_exemplars(osp_store *s, const osp_matcher_set *sets, size_t nsets,
                               int64_t mint_ms, int64_t maxt_ms, osp_arena *arena,
                               osp_series_exemplars **out, size_t *nout)
{
    if (!s->engine->select_exemplars)
        return OSP_EUNSUPPORTED;
    return s->engine->select_exemplars(s->impl, sets, nsets, mint_ms, maxt_ms, arena, out, nout);
}

int osp_store_append_logs(osp_store *s, const osp_log_batch *b)
{
    if (!s->engine->append_logs)
        return OSP_EUNSUPPORTED;
    return s->engine->append_logs(s->impl, b);
}

int osp_store_scan_logs(osp_store *s, const osp_log_query *q, osp_log_fn fn, void *ctx)
{
    if (!s->engine->scan_logs)
        return OSP_EUNSUPPORTED;
    return s->engine->scan_logs(s->impl, q, fn, ctx);
}

int osp_store_select_logs(osp_store *s, const osp_log_query *q, osp_log_keep_fn keep, void *ctx,
                          osp_log_batch *out, uint64_t **streams)
{
    if (!s->engine->select_logs)
        return OSP_EUNSUPPORTED;
    return s->engine->select_logs(s->impl, q, keep, ctx, out, streams);
}

int osp_store_log_streams(osp_store *s, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                          uint64_t end_ns, osp_arena *arena, uint64_t **ids, size_t *nids)
{
    if (!s->engine->log_streams)
        return OSP_EUNSUPPORTED;
    return s->engine->log_streams(s->impl, m, n, start_ns, end_ns, arena, ids, nids);
}

int osp_store_log_stream_labels(osp_store *s, uint64_t stream, osp_arena *arena, osp_label **labels,
                                size_t *n)
{
    if (!s->engine->log_stream_labels)
        return OSP_EUNSUPPORTED;
    return s->engine->log_stream_labels(s->impl, stream, arena, labels, n);
}

int osp_store_log_label_names(osp_store *s, const osp_label_matcher *m, size_t n, uint64_t start_ns,
                              uint64_t end_ns, osp_arena *arena, osp_str **names, size_t *nnames)
{
    if (!s->engine->log_label_names)
        return OSP_EUNSUPPORTED;
    return s->engine->log_label_names(s->impl, m, n, start_ns, end_ns, arena, names, nnames);
}

int osp_store_log_label_values(osp_store *s, osp_str name, const osp_label_matcher *m, size_t n,
                               uint64_t start_ns, uint64_t end_ns, osp_arena *arena,
                               osp_str **values, size_t *nvalues)
{
    if (!s->engine->log_label_values)
        return OSP_EUNSUPPORTED;
    return s->engine->log_label_values(s->impl, name, m, n, start_ns, end_ns, arena, values,
                                       nvalues);
}

int osp_store_append_aicalls(osp_store *s, const osp_aicall *calls, size_t n)
{
    if (!s->engine->append_aicalls)
        return OSP_EUNSUPPORTED;
    return s->engine->append_aicalls(s->impl, calls, n);
}

int osp_store_select_aicalls(osp_store *s, const osp_aicall_query *q, osp_arena *arena,
                             osp_aicall **out, size_t *n)
{
    if (!s->engine->select_aicalls)
        return OSP_EUNSUPPORTED;
    return s->engine->select_aicalls(s->impl, q, arena, out, n);
}

int osp_store_scan_aicalls(osp_store *s, const osp_aicall_query *q, osp_aicall_trace_fn fn,
                           void *ctx)
{
    if (!s->engine->scan_aicalls)
        return OSP_EUNSUPPORTED;
    return s->engine->scan_aicalls(s->impl, q, fn, ctx);
}

int osp_store_aicall_bounds(osp_store *s, enum osp_aicall_key key, uint64_t start_ns,
                            uint64_t end_ns, osp_arena *arena, osp_aicall_bound **out, size_t *n)
{
    if (!s->engine->aicall_bounds)
        return OSP_EUNSUPPORTED;
    return s->engine->aicall_bounds(s->impl, key, start_ns, end_ns, arena, out, n);
}

uint64_t osp_store_aicalls_indexed_from(osp_store *s)
{
    return s->engine->aicalls_indexed_from ? s->engine->aicalls_indexed_from(s->impl) : 0;
}
