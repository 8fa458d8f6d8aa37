/* Osprey's own metrics: a process-wide registry of counters, gauges and histograms,
 * rendered in the Prometheus text format for GET /metrics. Updates are lock-free. */
#ifndef OSP_CORE_METRICS_H
#define OSP_CORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

typedef struct osp_metric osp_metric;

/* Each registration returns the series for (name, labels), creating it on first use, so
 * modules may register the same series independently. `labels` is the inside of the
 * braces, e.g. `protocol="grpc"`, or "" for none. Names and help must be string literals
 * or otherwise outlive the process. Returns NULL only when out of memory; every update
 * function accepts NULL and does nothing. */
osp_metric *osp_counter(const char *name, const char *help, const char *labels);
osp_metric *osp_gauge(const char *name, const char *help, const char *labels);
/* bounds: ascending upper bounds (the +Inf bucket is implicit), copied. */
osp_metric *osp_metric_histogram(const char *name, const char *help, const char *labels,
                                 const double *bounds, size_t nbounds);

void osp_counter_add(osp_metric *m, uint64_t n);
static inline void osp_counter_inc(osp_metric *m)
{
    osp_counter_add(m, 1);
}
void osp_gauge_set(osp_metric *m, double v);
void osp_gauge_add(osp_metric *m, double delta);
void osp_histogram_observe(osp_metric *m, double v);

/* Value of a counter or gauge (tests and internal decisions). */
double osp_metric_value(const osp_metric *m);

/* Appends every registered series in text format 0.0.4, grouped by name with one
 * HELP/TYPE pair each. Returns 0 or the buffer's error. */
int osp_metrics_render(osp_buf *out);

#endif
