/* Trace search with per-trace summaries, and the summaries' JSON form. */
#include "query/traces.h"

#include <inttypes.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/mem.h"

static int is_root(const osp_span *s)
{
    static const uint8_t zero[8];
    return memcmp(s->parent_span_id, zero, sizeof zero) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return osp_str_cmp(*(const osp_str *)a, *(const osp_str *)b);
}

/* Distinct non-empty service names of the resources the spans use, sorted, copied into
 * arena. */
static int collect_services(const osp_span_batch *b, osp_arena *arena, osp_trace_summary *out)
{
    int rc = 0;
    size_t n = 0;
    unsigned char *used = osp_calloc(b->nresources ? b->nresources : 1, 1);
    osp_str *names = osp_arena_calloc(arena, b->nresources ? b->nresources : 1, sizeof *names);
    if (!used || !names) {
        rc = OSP_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < b->nspans; i++)
        used[b->spans[i].resource] = 1;
    for (size_t i = 0; i < b->nresources; i++)
        if (used[i] && b->resources[i].service_name.n)
            names[n++] = b->resources[i].service_name;
    qsort(names, n, sizeof *names, cmp_str);
    out->nservices = 0;
    for (size_t i = 0; i < n; i++) {
        if (out->nservices && osp_str_eq(names[out->nservices - 1], names[i]))
            continue;
        names[out->nservices++] = names[i];
    }
    for (size_t i = 0; i < out->nservices; i++) {
        names[i] = osp_arena_strdup(arena, names[i]);
        if (!names[i].p) {
            rc = OSP_ENOMEM;
            goto out;
        }
    }
    out->services = names;
out:
    osp_free(used);
    return rc;
}

int osp_trace_summarize(const osp_span_batch *b, osp_arena *arena, osp_trace_summary *out)
{
    const osp_span *root = NULL, *first = NULL;
    uint64_t end = 0;
    if (b->nspans == 0)
        return OSP_ENOTFOUND;
    memset(out, 0, sizeof *out);
    memcpy(out->trace_id, b->spans[0].trace_id, sizeof out->trace_id);
    out->start_ns = UINT64_MAX;
    for (size_t i = 0; i < b->nspans; i++) {
        const osp_span *s = &b->spans[i];
        if (s->resource >= b->nresources)
            return OSP_ECORRUPT;
        if (!first || s->start_ns < first->start_ns)
            first = s;
        if (is_root(s) && (!root || s->start_ns < root->start_ns))
            root = s;
        if (s->start_ns < out->start_ns)
            out->start_ns = s->start_ns;
        if (s->end_ns > end)
            end = s->end_ns;
        out->nerrors += s->status_code == OSP_STATUS_ERROR;
    }
    if (!root)
        root = first;
    out->nspans = b->nspans;
    out->duration_ns = end > out->start_ns ? end - out->start_ns : 0;
    out->root_service = osp_arena_strdup(arena, b->resources[root->resource].service_name);
    out->root_name = osp_arena_strdup(arena, root->name);
    if (!out->root_service.p || !out->root_name.p)
        return OSP_ENOMEM;
    return collect_services(b, arena, out);
}

/* Newest first, then by trace id so the order is total. */
static int cmp_summary(const void *a, const void *b)
{
    const osp_trace_summary *x = a, *y = b;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? 1 : -1;
    return memcmp(x->trace_id, y->trace_id, sizeof x->trace_id);
}

int osp_trace_search(osp_store *store, const osp_trace_query *q, osp_arena *arena,
                     osp_trace_summary **out, size_t *n)
{
    osp_trace_hit *hits = NULL;
    osp_trace_summary *sums = NULL;
    size_t nhits = 0, k = 0;
    osp_span_batch batch;
    int rc;
    osp_span_batch_init(&batch);
    rc = osp_store_search_traces(store, q, arena, &hits, &nhits);
    if (rc)
        goto out;
    sums = osp_arena_calloc(arena, nhits ? nhits : 1, sizeof *sums);
    if (!sums) {
        rc = OSP_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nhits; i++) {
        osp_span_batch_reset(&batch);
        rc = osp_store_get_trace(store, hits[i].trace_id, OSP_TRACE_NO_DETAIL, &batch);
        if (rc == OSP_ENOTFOUND)
            continue;
        if (rc == 0)
            rc = osp_trace_summarize(&batch, arena, &sums[k]);
        if (rc)
            goto out;
        k++;
    }
    rc = 0;
    qsort(sums, k, sizeof *sums, cmp_summary);
    *out = sums;
    *n = k;
out:
    osp_span_batch_cleanup(&batch);
    return rc;
}

static int put_summary(osp_buf *out, const osp_trace_summary *s)
{
    char hex[32];
    int rc;
    osp_hex_encode(s->trace_id, sizeof s->trace_id, hex);
    rc = osp_buf_printf(out, "{\"traceId\":\"%.32s\",\"rootServiceName\":", hex);
    if (rc == 0)
        rc = osp_buf_json_str(out, s->root_service.p, s->root_service.n);
    if (rc == 0)
        rc = osp_buf_puts(out, ",\"rootSpanName\":");
    if (rc == 0)
        rc = osp_buf_json_str(out, s->root_name.p, s->root_name.n);
    if (rc == 0)
        rc = osp_buf_printf(out,
                            ",\"startTimeUnixNano\":\"%" PRIu64 "\",\"durationNanos\":\"%" PRIu64
                            "\",\"spanCount\":%zu,\"errorCount\":%zu,\"services\":[",
                            s->start_ns, s->duration_ns, s->nspans, s->nerrors);
    for (size_t i = 0; rc == 0 && i < s->nservices; i++) {
        if (i)
            rc = osp_buf_putc(out, ',');
        if (rc == 0)
            rc = osp_buf_json_str(out, s->services[i].p, s->services[i].n);
    }
    return rc ? rc : osp_buf_puts(out, "]}");
}

int osp_trace_summaries_json(const osp_trace_summary *s, size_t n, osp_buf *out)
{
    int rc = osp_buf_puts(out, "{\"traces\":[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i)
            rc = osp_buf_putc(out, ',');
        if (rc == 0)
            rc = put_summary(out, &s[i]);
    }
    return rc ? rc : osp_buf_puts(out, "]}");
}
