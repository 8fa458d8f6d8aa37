/* Test helpers for the SDK's metrics, Prometheus and runtime tests: a provider made by hand
 * around the metrics module alone, and stream lookups in a collection. */
#ifndef OSPREY_TEST_HANDPROV_H
#define OSPREY_TEST_HANDPROV_H

#include "metrics_int.h"
#include "osprey/osprey.h"

/* A provider with the resource res[0..nres) and start time start_ns, metrics exporter NONE,
 * and no other signal; free with free_provider. */
static inline osprey_provider *hand_provider_with(const osprey_attr *res, size_t nres,
                                                  uint64_t start_ns)
{
    osprey_provider *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->config.exporter[OSPREY__METRICS] = OSPREY_EXPORTER_NONE;
    p->start_ns = start_ns;
    if (nres)
        assert_int_equal(osprey__attrs_set(&p->resource, res, nres, 0), 0);
    assert_int_equal(osprey__metrics_create(p, &p->metrics), 0);
    return p;
}

static inline void free_provider(osprey_provider *p)
{
    osprey__metrics_destroy(p->metrics, 0);
    osprey__attrs_cleanup(&p->resource);
    free(p);
}

/* The stream of the instrument named name in c, or NULL. */
static inline const osprey__mstream *find_stream(const osprey__collection *c, const char *name)
{
    for (size_t k = 0; k < c->n; k++)
        if (strcmp(c->streams[k].inst->name, name) == 0)
            return &c->streams[k];
    return NULL;
}

#endif
