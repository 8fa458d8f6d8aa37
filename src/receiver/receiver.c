/* The table of receivers. */
#include "receiver/receiver.h"

extern const osp_receiver osp_otlp_traces_receiver;

static const osp_receiver *const receivers[] = {&osp_otlp_traces_receiver};

size_t osp_receiver_routes(enum osp_listener listener, osp_store *store, osp_route *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof receivers / sizeof receivers[0]; i++)
        n += receivers[i]->routes(listener, store, out + n, max - n);
    return n;
}
