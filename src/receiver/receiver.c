/* The table of receivers. */
#include "receiver/receiver.h"

extern const osp_receiver osp_otlp_traces_receiver;
extern const osp_receiver osp_otlp_metrics_receiver;
extern const osp_receiver osp_remote_write_receiver;
extern const osp_receiver osp_otlp_logs_receiver;
extern const osp_receiver osp_logs_http_receiver;

static const osp_receiver *const receivers[] = {
    &osp_otlp_traces_receiver, &osp_otlp_metrics_receiver, &osp_remote_write_receiver,
    &osp_otlp_logs_receiver, &osp_logs_http_receiver};

size_t osp_receiver_routes(enum osp_listener listener, const osp_receiver_env *env, osp_route *out,
                           size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof receivers / sizeof receivers[0]; i++)
        n += receivers[i]->routes(listener, env, out + n, max - n);
    return n;
}

void osp_ingest_counters_get(osp_ingest_counters *c, const osp_ingest_names *names,
                             const char *labels)
{
    c->received = osp_counter(names->received, names->received_help, labels);
    c->accepted = osp_counter(names->accepted, names->accepted_help, labels);
    c->rejected = osp_counter(names->rejected, names->rejected_help, labels);
}
