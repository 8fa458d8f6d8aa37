/* The metrics modules' shared internals: meters, instruments, their per-attribute-set
 * aggregation, and the collection snapshot that the OTLP, console and Prometheus
 * renderers read (metrics.c, metric_encode.c, prometheus.c, runtime.c). */
#ifndef OSPREY_METRICS_INT_H
#define OSPREY_METRICS_INT_H

#include "sdk_int.h"

#define OSPREY__METRIC_SET_LIMIT 2000 /* attribute sets per instrument before overflow */
#define OSPREY__METRIC_ATTR_MAX 64    /* attributes per recorded set; more are ignored */
#define OSPREY__METRIC_NAME_MAX 255
#define OSPREY__METRIC_UNIT_MAX 63
#define OSPREY__METRIC_DESC_MAX 1023
#define OSPREY__METRIC_BOUNDS_MAX 256

typedef enum osprey__inst_kind {
    OSPREY__INST_COUNTER,
    OSPREY__INST_UPDOWN,
    OSPREY__INST_HISTOGRAM,
    OSPREY__INST_GAUGE,
    OSPREY__INST_OBS_COUNTER,
    OSPREY__INST_OBS_UPDOWN,
    OSPREY__INST_OBS_GAUGE,
} osprey__inst_kind;

/* One attribute set's aggregate, owned by its instrument until destroy. */
typedef struct osprey__agg {
    osprey__attrs attrs; /* sorted by key; never changes after creation */
    uint64_t hash;
    uint64_t epoch; /* observables: the collection that last observed it */
    double value;   /* sums: the total; gauges: the last value */
    uint64_t count; /* histograms: count, sum, min, max and the bucket counts */
    double sum, min, max;
    uint64_t buckets[]; /* nbounds + 1 for histograms, else none */
} osprey__agg;

struct osprey_instrument {
    osprey_meter *meter;
    osprey__inst_kind kind;
    char *name, *unit, *description;
    double *bounds; /* histograms */
    size_t nbounds;
    osprey_observe_fn cb; /* observables */
    void *cb_arg;
    atomic_bool warned;   /* a conflicting re-registration was reported */
    pthread_mutex_t lock; /* guards everything below */
    osprey__agg **aggs;   /* in creation order */
    size_t naggs, cap_aggs;
    osprey__agg **slots; /* open-addressing hash table over aggs, nslots a power of 2 */
    size_t nslots;
    osprey__agg *overflow; /* the otel.metric.overflow = true set, once needed */
    uint64_t epoch;
    struct osprey_instrument *next;
};

struct osprey_meter {
    osprey__metrics *metrics;
    char *name, *version;     /* version "" when none */
    osprey_instrument *insts; /* in creation order, guarded by the registry lock */
    struct osprey_meter *next;
};

/* One data point of a collection: values copied, attributes borrowed from the instrument. */
typedef struct osprey__mpoint {
    const osprey__attrs *attrs;
    double value;
    uint64_t count;
    double sum, min, max;
    uint64_t *buckets; /* nbounds + 1 counts (not cumulative), histograms only */
} osprey__mpoint;

typedef struct osprey__mstream {
    const osprey_instrument *inst;
    osprey__mpoint *points;
    size_t npoints;
} osprey__mstream;

/* A snapshot of every instrument with at least one point, in meter then creation order. */
typedef struct osprey__collection {
    osprey__mstream *streams;
    size_t n;
    uint64_t start_ns, time_ns;
    const osprey__attrs *resource;
} osprey__collection;

/* Runs the observable callbacks and snapshots every instrument into out (cleanup with
 * osprey__collection_cleanup, also after a failure). 0 or OSPREY_ENOMEM. Collections are
 * serialized, so callbacks never run concurrently. */
int osprey__metrics_collect(osprey__metrics *m, osprey__collection *out);
void osprey__collection_cleanup(osprey__collection *c);

/* Registers fn(arg) to run when m is destroyed, after the last collection (runtime state).
 * 0 or OSPREY_ENOMEM. */
int osprey__metrics_on_destroy(osprey__metrics *m, void (*fn)(void *), void *arg);

/* The instrument kind's traits. */
bool osprey__inst_is_sum(osprey__inst_kind k);
bool osprey__inst_is_monotonic(osprey__inst_kind k);

/* Appends one OTLP ExportMetricsServiceRequest for c. 0 or OSPREY_ENOMEM. */
int osprey__encode_metrics(osp_buf *out, const osprey__collection *c);
/* Appends one JSON line (newline included) per stream of c. 0 or OSPREY_ENOMEM. */
int osprey__encode_metrics_json(osp_buf *out, const osprey__collection *c);

/* Writes v as the shortest text that reads back to the same double ("NaN", "+Inf",
 * "-Inf" for the non-finite) and a NUL to out; returns out. */
char *osprey__fmt_double(double v, char out[32]);

#endif
