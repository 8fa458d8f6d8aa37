/* The log pattern miner's insides, shared by its parts: logpattern.c (mining and queries)
 * and logpattern_snap.c (saving and loading). Not for other modules. */
#ifndef OSP_ANALYTICS_LOGPATTERN_INT_H
#define OSP_ANALYTICS_LOGPATTERN_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/logpattern.h"
#include "core/str.h"

/* Counts of one template (or of a service's "other") over time. */
typedef struct counts {
    uint64_t total;
    uint64_t first_ns, last_ns;
    uint64_t head; /* newest bucket index; slot b % nbuckets holds bucket b for the nbuckets
                    * buckets ending at head */
    uint32_t *ring;
} counts;

typedef struct cluster {
    uint64_t id, seq;
    counts c;
    size_t ntok;
    osp_str *tok; /* ntok tokens, pointing into text */
    char *text;   /* tokens joined by one space, NUL-terminated */
    size_t ntext;
} cluster;

/* A tree node: the root's children are keyed by token count, deeper ones by a token. */
typedef struct node {
    char *key; /* NULL on the token-count level and for wildcard children */
    size_t nkey;
    size_t ntok;        /* token count (token-count level only) */
    struct node **kids; /* named children */
    size_t nkids, kids_cap;
    struct node *wild;  /* the "<*>" child */
    cluster **clusters; /* leaf only */
    size_t nclusters, clusters_cap;
} node;

typedef struct service {
    pthread_mutex_t mu; /* guards everything below but name and hash */
    char *name;
    size_t nname;
    uint64_t hash;
    node root;
    cluster **clusters; /* in creation order */
    size_t nclusters, clusters_cap;
    counts other;
    uint64_t messages;
} service;

struct osp_logpattern {
    osp_logpattern_config cfg;
    pthread_rwlock_t lock; /* guards the service table */
    service **slots;       /* open addressing by name hash, nslots (a power of two) */
    size_t nslots;
    service **list; /* nservices in creation order, max_services allocated */
    size_t nservices;
    _Atomic uint64_t seq, ntemplates, empty, truncated, dropped;
};

/* Finds or creates the service named name; *out is NULL when max_services are taken.
 * 0 or OSP_ENOMEM. */
int osp__logpattern_service(osp_logpattern *lp, osp_str name, service **out);

/* Adds a template of s (s->mu held, or s not yet shared) with these tokens, id and seq,
 * placed in the tree as a message with those tokens would have made it: templates restored
 * in their creation order give back the tree they were mined into. *out gets it, counts
 * empty. 0, OSP_ETOOBIG (a template cap), OSP_ENOMEM. */
int osp__logpattern_restore(osp_logpattern *lp, service *s, const osp_str *toks, size_t ntok,
                            uint64_t id, uint64_t seq, cluster **out);

#endif
