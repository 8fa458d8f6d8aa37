/* Receivers: each protocol that brings data in is a descriptor that contributes routes to
 * a listener. Adding a receiver is adding a file and one line in receiver.c. */
#ifndef OSP_RECEIVER_RECEIVER_H
#define OSP_RECEIVER_RECEIVER_H

#include <stddef.h>

#include "analytics/logpattern.h"
#include "core/metrics.h"
#include "model/otlp_prom.h"
#include "net/http.h"
#include "pipeline/derive.h"
#include "store/store.h"

enum osp_listener {
    OSP_LISTENER_OTLP_GRPC, /* --otlp-grpc-addr */
    OSP_LISTENER_OTLP_HTTP, /* --otlp-http-addr */
    OSP_LISTENER_API,       /* --http-addr */
};

/* What receivers write into and how; owned by the caller and outliving the routes. */
typedef struct osp_receiver_env {
    osp_store *store;
    osp_otlp_prom_options otlp_metrics; /* OTLP -> Prometheus naming and labels */
    osp_delta_state *delta;             /* delta -> cumulative accumulation of OTLP metrics */
    osp_logpattern *patterns;           /* log pattern miner fed by the log receivers; NULL:
                                           none */
    osp_derive *derive;                 /* derived series fed by the trace receivers; NULL: off */
} osp_receiver_env;

/* A receiver's self-metrics for one protocol: what it received, stored and refused. */
typedef struct osp_ingest_counters {
    osp_metric *received, *accepted, *rejected;
} osp_ingest_counters;

/* Names and help texts of those three counters (string literals). */
typedef struct osp_ingest_names {
    const char *received, *received_help;
    const char *accepted, *accepted_help;
    const char *rejected, *rejected_help;
} osp_ingest_names;

/* Looks up (registering on first use) the counters named by names with labels, e.g.
 * protocol="grpc". */
void osp_ingest_counters_get(osp_ingest_counters *c, const osp_ingest_names *names,
                             const char *labels);

typedef struct osp_receiver {
    const char *name; /* e.g. "otlp-traces" */
    /* Writes the receiver's routes for a listener into out[0..max) and returns how many
     * (0 when it does not serve that listener). Route contexts may point at env. */
    size_t (*routes)(enum osp_listener listener, const osp_receiver_env *env, osp_route *out,
                     size_t max);
} osp_receiver;

/* Appends the routes of every receiver for a listener; returns how many were written. */
size_t osp_receiver_routes(enum osp_listener listener, const osp_receiver_env *env, osp_route *out,
                           size_t max);

#endif
