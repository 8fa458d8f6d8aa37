/* The provider: wires the configuration, the resource, the OTLP transports, the span and
 * log batches and the metrics registry together, and takes them down again. */
#include <string.h>

#include "core/mem.h"
#include "sdk_int.h"

static uint64_t deadline_after(uint32_t timeout_ms)
{
    return osprey__mono_ns() + (uint64_t)timeout_ms * 1000000u;
}

/* Milliseconds from now to deadline (CLOCK_MONOTONIC ns), 0 once passed. */
static uint32_t ms_left(uint64_t deadline)
{
    uint64_t now = osprey__mono_ns();
    return now < deadline ? (uint32_t)((deadline - now) / 1000000u) : 0;
}

/* ---- Export ops the batches call ----------------------------------------------------------- */

/* How one batched signal is encoded (OTLP) or written (console). */
typedef struct signal_ops {
    osprey__signal signal;
    int (*encode)(osp_buf *out, const osprey__attrs *resource, void *const *items, size_t n);
    int (*console)(void *const *items, size_t n);
} signal_ops;

/* The batch hands items as void *; the encoders take arrays of their own pointer type. */
static int encode_spans(osp_buf *out, const osprey__attrs *resource, void *const *items, size_t n)
{
    return osprey__encode_spans(out, resource, (struct osprey_span_data *const *)items, n);
}

static int console_spans(void *const *items, size_t n)
{
    return osprey__console_spans((struct osprey_span_data *const *)items, n);
}

static int encode_logs(osp_buf *out, const osprey__attrs *resource, void *const *items, size_t n)
{
    return osprey__encode_logs(out, resource, (osprey__log_record *const *)items, n);
}

static int console_logs(void *const *items, size_t n)
{
    return osprey__console_logs((osprey__log_record *const *)items, n);
}

static const signal_ops span_ops = {OSPREY__TRACES, encode_spans, console_spans};
static const signal_ops log_ops = {OSPREY__LOGS, encode_logs, console_logs};

/* Encodes items and posts them over the signal's transport, or writes them to the
 * console. 0 or a negative code (the items are then counted as dropped). */
static int export_items(osprey_provider *p, const signal_ops *ops, void *const *items, size_t n,
                        uint64_t deadline_ns)
{
    if (p->config.exporter[ops->signal] == OSPREY_EXPORTER_CONSOLE)
        return ops->console(items, n);
    osp_buf b;
    osp_buf_init(&b, 0);
    int rc = ops->encode(&b, &p->resource, items, n);
    if (rc == 0)
        rc = osprey__transport_post(p->transport[ops->signal], b.data, b.len, deadline_ns);
    osp_buf_cleanup(&b);
    return rc;
}

static int export_spans(void *ctx, void *const *items, size_t n, uint64_t deadline_ns)
{
    return export_items(ctx, &span_ops, items, n, deadline_ns);
}

static int export_logs(void *ctx, void *const *items, size_t n, uint64_t deadline_ns)
{
    return export_items(ctx, &log_ops, items, n, deadline_ns);
}

static void free_span(void *ctx, void *item)
{
    osprey__span_data_free(item);
}

static void free_log(void *ctx, void *item)
{
    osprey__log_record_free(item);
}

/* ---- Create ---------------------------------------------------------------------------------- */

static int start_batches(osprey_provider *p)
{
    int rc = 0;
    if (p->config.exporter[OSPREY__TRACES] != OSPREY_EXPORTER_NONE) {
        osprey__batch_ops ops = {export_spans, free_span, p, &p->stats.spans_exported,
                                 &p->stats.spans_dropped};
        rc = osprey__batch_create(&p->config.span_batch, &ops, &p->spans);
    }
    if (rc == 0 && p->config.exporter[OSPREY__LOGS] != OSPREY_EXPORTER_NONE) {
        osprey__batch_ops ops = {export_logs, free_log, p, &p->stats.logs_exported,
                                 &p->stats.logs_dropped};
        rc = osprey__batch_create(&p->config.log_batch, &ops, &p->logs);
    }
    return rc;
}

static int start_transports(osprey_provider *p)
{
    for (int s = 0; s < 3; s++) {
        if (p->config.exporter[s] != OSPREY_EXPORTER_OTLP)
            continue;
        int rc = osprey__transport_create(&p->config.transport[s], &p->stats, &p->transport[s]);
        if (rc)
            return rc;
    }
    return 0;
}

/* Stops whatever runs and frees p and everything it owns; the fields not yet made are
 * NULL or empty. The first error of the batches' final flushes. */
static int provider_free(osprey_provider *p, uint32_t timeout_ms)
{
    uint64_t deadline = deadline_after(timeout_ms);
    for (int s = 0; s < 3; s++) /* exports in flight, the threads' own too, end by then */
        osprey__transport_limit(p->transport[s], deadline);
    int rc = osprey__batch_destroy(p->spans, timeout_ms);
    int rc2 = osprey__batch_destroy(p->logs, ms_left(deadline));
    rc = rc ? rc : rc2;
    osprey__metrics_destroy(p->metrics, ms_left(deadline));
    for (int s = 0; s < 3; s++)
        osprey__transport_destroy(p->transport[s]);
    while (p->tracers) {
        osprey_tracer *t = p->tracers;
        p->tracers = t->next;
        osp_free(t->name);
        osp_free(t->version);
        osp_free(t);
    }
    while (p->loggers) {
        osprey_logger *l = p->loggers;
        p->loggers = l->next;
        osp_free(l->name);
        osp_free(l);
    }
    osprey__attrs_cleanup(&p->resource);
    osprey__config_cleanup(&p->config);
    pthread_mutex_destroy(&p->lock);
    osp_free(p);
    return rc;
}

osprey_provider *osprey_provider_create(const osprey_options *opt)
{
    osprey_provider *p = osp_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->start_ns = osprey_now_ns();
    int rc = osprey__config_load(&p->config, opt);
    if (rc == 0)
        rc = osprey__resource_build(&p->resource, &p->config);
    if (rc == 0)
        rc = start_transports(p);
    if (rc == 0)
        rc = start_batches(p);
    if (rc == 0)
        rc = osprey__metrics_create(p, &p->metrics);
    if (rc) {
        provider_free(p, 0);
        return NULL;
    }
    return p;
}

/* ---- Flush, shutdown, stats ------------------------------------------------------------- */

int osprey_flush(osprey_provider *p, uint32_t timeout_ms)
{
    if (!p)
        return OSPREY_EINVAL;
    uint64_t deadline = deadline_after(timeout_ms);
    int rc = p->spans ? osprey__batch_flush(p->spans, timeout_ms) : 0;
    int rc2 = p->logs ? osprey__batch_flush(p->logs, ms_left(deadline)) : 0;
    int rc3 = osprey__metrics_flush(p->metrics, ms_left(deadline));
    return rc ? rc : rc2 ? rc2 : rc3;
}

int osprey_shutdown(osprey_provider *p, uint32_t timeout_ms)
{
    return p ? provider_free(p, timeout_ms) : OSPREY_EINVAL;
}

void osprey_get_stats(osprey_provider *p, osprey_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!p)
        return;
    const osprey__stats *s = &p->stats;
    *out = (osprey_stats){
        .spans_started = atomic_load(&s->spans_started),
        .spans_sampled_out = atomic_load(&s->spans_sampled_out),
        .spans_exported = atomic_load(&s->spans_exported),
        .spans_dropped = atomic_load(&s->spans_dropped),
        .logs_emitted = atomic_load(&s->logs_emitted),
        .logs_exported = atomic_load(&s->logs_exported),
        .logs_dropped = atomic_load(&s->logs_dropped),
        .metric_exports = atomic_load(&s->metric_exports),
        .export_requests = atomic_load(&s->export_requests),
        .export_retries = atomic_load(&s->export_retries),
        .export_failures = atomic_load(&s->export_failures),
    };
}

/* ---- Emit ---------------------------------------------------------------------------------- */

/* Queues item on b, or frees it (with the exporter NONE, b is NULL: nothing is counted; a
 * full queue counted the drop itself; after shutdown began the drop is counted here). */
static void emit(osprey__batch *b, void *item, void (*free_item)(void *, void *),
                 atomic_uint_fast64_t *dropped)
{
    int rc = b ? osprey__batch_add(b, item) : OSPREY_ESHUTDOWN;
    if (rc == 0)
        return;
    free_item(NULL, item);
    if (b && rc == OSPREY_ESHUTDOWN)
        atomic_fetch_add(dropped, 1);
}

void osprey__provider_emit_span(osprey_provider *p, struct osprey_span_data *d)
{
    emit(p->spans, d, free_span, &p->stats.spans_dropped);
}

void osprey__provider_emit_log(osprey_provider *p, osprey__log_record *r)
{
    emit(p->logs, r, free_log, &p->stats.logs_dropped);
}
