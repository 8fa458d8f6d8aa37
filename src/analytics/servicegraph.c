/* The service graph from spans (servicegraph.h): pairs client and server spans across
 * services, keeps unpaired ones for a bounded window, and counts requests per edge. */
#include "analytics/servicegraph.h"

#include <xxhash.h>

#include "analytics/seriestab.h"
#include "analytics/spanmetrics.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "model/attr.h"

#define NAME_INLINE 112 /* service and peer bytes kept inside a pending span */

enum role { ROLE_CLIENT, ROLE_SERVER };

/* connection_type values; CONN_NONE: a client span that names no peer. */
enum conn { CONN_SERVICE, CONN_VIRTUAL, CONN_DATABASE, CONN_MESSAGING, CONN_NONE };

static const char *const conn_names[] = {"", "virtual_node", "database", "messaging_system"};

/* Attributes naming an uninstrumented peer, first found wins. */
static const struct {
    const char *attr;
    enum conn conn;
} peer_attrs[] = {
    {"peer.service", CONN_VIRTUAL},         {"db.system.name", CONN_DATABASE},
    {"db.system", CONN_DATABASE},           {"messaging.system", CONN_MESSAGING},
    {"gen_ai.provider.name", CONN_VIRTUAL}, {"gen_ai.system", CONN_VIRTUAL},
    {"server.address", CONN_VIRTUAL},       {"net.peer.name", CONN_VIRTUAL},
};

/* A span waiting for its peer. Clients are keyed by their span id, servers by their
 * parent's, so a pair shares one key. */
typedef struct pending {
    struct pending *next;          /* hash chain, or free list */
    struct pending *older, *newer; /* arrival order */
    uint64_t hash;
    uint8_t trace_id[16];
    uint8_t key_span[8];
    uint8_t role;      /* enum role */
    uint8_t conn;      /* clients: enum conn of the peer named */
    uint8_t failed;    /* status ERROR */
    uint8_t messaging; /* PRODUCER or CONSUMER */
    int64_t arrival_ms, end_ms;
    double seconds;
    osp_str service, peer; /* in text */
    char *text;            /* inline, or allocated when longer */
    char inline_text[NAME_INLINE];
} pending;

typedef struct graph {
    osp_family fam_total, fam_failed, fam_server, fam_client; /* the tables point at them */
    osp_seriestab *total, *failed, *server, *client;
    pending **slots; /* hash table, nslots a power of two */
    size_t nslots, n;
    pending *oldest, *newest;
    pending *free; /* recycled entries */
    osp_metric *m_pending, *m_evicted, *m_expired;
} graph;

static const char *const graph_labels[] = {"client", "server", "connection_type"};

/* ---- edges ---- */

/* One request on the edge client -> server; a negative duration is unknown. */
static void count_edge(graph *g, osp_str client, osp_str server, enum conn conn, int failed,
                       double client_s, double server_s, const uint8_t *trace_id, int64_t t_ms)
{
    osp_str values[3] = {client, server, osp_str_c(conn_names[conn])};
    /* Out of memory loses this observation only; the tables stay consistent. */
    (void)osp_seriestab_add(g->total, values, 1, trace_id, t_ms);
    if (failed)
        (void)osp_seriestab_add(g->failed, values, 1, trace_id, t_ms);
    if (server_s >= 0)
        (void)osp_seriestab_add(g->server, values, server_s, trace_id, t_ms);
    if (client_s >= 0)
        (void)osp_seriestab_add(g->client, values, client_s, trace_id, t_ms);
}

/* The edge of a client and a server span of one request, unless both are one service. */
static void count_pair(graph *g, const pending *c, const pending *s, int64_t t_ms)
{
    if (osp_str_eq(c->service, s->service))
        return;
    count_edge(g, c->service, s->service,
               c->messaging || s->messaging ? CONN_MESSAGING : CONN_SERVICE, c->failed || s->failed,
               c->seconds, s->seconds, c->trace_id, t_ms);
}

/* ---- pending spans ---- */

static uint64_t key_hash(const uint8_t trace_id[16], const uint8_t span[8])
{
    uint8_t k[24];
    memcpy(k, trace_id, 16);
    memcpy(k + 16, span, 8);
    return XXH3_64bits(k, sizeof k);
}

/* The slot holding the pending span of key and role, or the empty slot at its chain's end. */
static pending **find(graph *g, uint64_t h, const uint8_t trace_id[16], const uint8_t span[8],
                      int role)
{
    pending **pp = &g->slots[h & (g->nslots - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && (*pp)->role == role && !memcmp((*pp)->trace_id, trace_id, 16) &&
            !memcmp((*pp)->key_span, span, 8))
            break;
    return pp;
}

/* Unlinks p (found at pp) from the table and the arrival list and recycles it. */
static void drop(graph *g, pending **pp)
{
    pending *p = *pp;
    *pp = p->next;
    if (p->older)
        p->older->newer = p->newer;
    else
        g->oldest = p->newer;
    if (p->newer)
        p->newer->older = p->older;
    else
        g->newest = p->older;
    if (p->text != p->inline_text)
        osp_free(p->text);
    p->next = g->free;
    g->free = p;
    g->n--;
    osp_gauge_add(g->m_pending, -1);
}

/* The end of the oldest span's wait: a request to the peer it names, if any. */
static void retire_oldest(graph *g)
{
    pending *p = g->oldest;
    if (p->role == ROLE_CLIENT && p->conn != CONN_NONE && !osp_str_eq(p->service, p->peer))
        count_edge(g, p->service, p->peer, p->conn, p->failed, p->seconds, -1, p->trace_id,
                   p->end_ms);
    drop(g, find(g, p->hash, p->trace_id, p->key_span, p->role));
}

static void expire(graph *g, int64_t now_ms)
{
    while (g->oldest && g->oldest->arrival_ms + OSP_SERVICEGRAPH_WINDOW_MS <= now_ms) {
        retire_oldest(g);
        osp_counter_inc(g->m_expired);
    }
}

/* Doubles the hash table (up to twice the pending bound); keeps it as is on failure. */
static void grow(graph *g)
{
    size_t n = g->nslots * 2;
    pending **slots =
        g->nslots < 2 * OSP_SERVICEGRAPH_MAX_PENDING ? osp_calloc(n, sizeof *slots) : NULL;
    if (!slots)
        return;
    for (pending *p = g->oldest; p; p = p->newer) {
        p->next = slots[p->hash & (n - 1)];
        slots[p->hash & (n - 1)] = p;
    }
    osp_free(g->slots);
    g->slots = slots;
    g->nslots = n;
}

/* Copies service and peer into p's text. 0 or OSP_ENOMEM. */
static int keep_names(pending *p, osp_str service, osp_str peer)
{
    size_t n = service.n + peer.n;
    p->text = n <= NAME_INLINE ? p->inline_text : osp_malloc(n);
    if (!p->text)
        return OSP_ENOMEM;
    if (service.n)
        memcpy(p->text, service.p, service.n);
    if (peer.n)
        memcpy(p->text + service.n, peer.p, peer.n);
    p->service = osp_str_make(p->text, service.n);
    p->peer = osp_str_make(p->text + service.n, peer.n);
    return 0;
}

/* Files w (a filled-in entry on the stack) as the newest pending span, evicting the oldest
 * when full. Out of memory drops it. */
static void wait_for_peer(graph *g, const pending *w, osp_str service, osp_str peer)
{
    if (g->n >= OSP_SERVICEGRAPH_MAX_PENDING) {
        retire_oldest(g);
        osp_counter_inc(g->m_evicted);
    }
    if (g->n + 1 > g->nslots)
        grow(g);
    pending *p = g->free ? g->free : osp_malloc(sizeof *p);
    if (!p)
        return;
    if (p == g->free)
        g->free = p->next;
    *p = *w;
    if (keep_names(p, service, peer) != 0) {
        p->next = g->free;
        g->free = p;
        return;
    }
    pending **pp = find(g, p->hash, p->trace_id, p->key_span, p->role);
    p->next = *pp;
    *pp = p;
    p->older = g->newest;
    p->newer = NULL;
    if (g->newest)
        g->newest->newer = p;
    else
        g->oldest = p;
    g->newest = p;
    g->n++;
    osp_gauge_add(g->m_pending, 1);
}

/* The peer a client span names (first of peer_attrs found), CONN_NONE when none. */
static enum conn peer_of(const osp_span *s, osp_str *peer)
{
    size_t best = sizeof peer_attrs / sizeof peer_attrs[0];
    osp_attr_iter it;
    osp_str key;
    osp_value v;
    osp_attr_iter_init(&it, s->attributes);
    while (best > 0 && osp_attr_next(&it, &key, &v) == 1) {
        if (v.type != OSP_VAL_STRING || v.s.n == 0)
            continue;
        for (size_t i = 0; i < best; i++)
            if (osp_str_eqz(key, peer_attrs[i].attr)) {
                best = i;
                *peer = v.s;
                break;
            }
    }
    return best < sizeof peer_attrs / sizeof peer_attrs[0] ? peer_attrs[best].conn : CONN_NONE;
}

/* ---- the deriver ---- */

static void graph_destroy(void *self)
{
    graph *g = self;
    if (!g)
        return;
    while (g->oldest)
        drop(g,
             find(g, g->oldest->hash, g->oldest->trace_id, g->oldest->key_span, g->oldest->role));
    while (g->free) {
        pending *p = g->free;
        g->free = p->next;
        osp_free(p);
    }
    osp_free(g->slots);
    osp_seriestab_destroy(g->total);
    osp_seriestab_destroy(g->failed);
    osp_seriestab_destroy(g->server);
    osp_seriestab_destroy(g->client);
    osp_free(g);
}

static void *graph_create(const osp_derive_env *env)
{
    graph *g = osp_calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->fam_total = (osp_family){OSP_DERIVED_GRAPH_TOTAL,
                                OSP_KIND_COUNTER,
                                "Requests between two services.",
                                "",
                                graph_labels,
                                3,
                                NULL,
                                0};
    g->fam_failed = (osp_family){OSP_DERIVED_GRAPH_FAILED,
                                 OSP_KIND_COUNTER,
                                 "Failed requests between two services.",
                                 "",
                                 graph_labels,
                                 3,
                                 NULL,
                                 0};
    g->fam_server = (osp_family){OSP_DERIVED_GRAPH_SERVER,
                                 OSP_KIND_HISTOGRAM,
                                 "Request durations seen by the server.",
                                 "seconds",
                                 graph_labels,
                                 3,
                                 osp_derived_graph_buckets,
                                 osp_derived_graph_nbuckets};
    g->fam_client = g->fam_server;
    g->fam_client.name = OSP_DERIVED_GRAPH_CLIENT;
    g->fam_client.help = "Request durations seen by the client.";
    g->nslots = 1024;
    g->slots = osp_calloc(g->nslots, sizeof *g->slots);
    g->total = osp_seriestab_create(&g->fam_total);
    g->failed = osp_seriestab_create(&g->fam_failed);
    g->server = osp_seriestab_create(&g->fam_server);
    g->client = osp_seriestab_create(&g->fam_client);
    if (!g->slots || !g->total || !g->failed || !g->server || !g->client) {
        graph_destroy(g);
        return NULL;
    }
    g->m_pending = osp_gauge("osprey_servicegraph_pending_spans",
                             "Client and server spans waiting for their peer span.", "");
    g->m_evicted = osp_counter("osprey_servicegraph_evicted_total",
                               "Spans that stopped waiting for their peer early, to keep the "
                               "number waiting bounded.",
                               "");
    g->m_expired = osp_counter("osprey_servicegraph_expired_total",
                               "Spans whose peer span did not arrive within the window.", "");
    return g;
}

static void graph_add(void *self, const osp_derived_span *ds, int64_t now_ms)
{
    static const uint8_t zero[8];
    graph *g = self;
    const osp_span *s = ds->span;
    int client = s->kind == OSP_SPAN_KIND_CLIENT || s->kind == OSP_SPAN_KIND_PRODUCER;
    int server = s->kind == OSP_SPAN_KIND_SERVER || s->kind == OSP_SPAN_KIND_CONSUMER;
    osp_str peer = OSP_STR_NULL;
    expire(g, now_ms);
    if (!client && !server)
        return;
    const uint8_t *key = client ? s->span_id : s->parent_span_id;
    pending w = {.role = client ? ROLE_CLIENT : ROLE_SERVER,
                 .failed = s->status_code == OSP_STATUS_ERROR,
                 .messaging =
                     s->kind == OSP_SPAN_KIND_PRODUCER || s->kind == OSP_SPAN_KIND_CONSUMER,
                 .arrival_ms = now_ms,
                 .end_ms = s->end_ns ? (int64_t)(s->end_ns / 1000000) : now_ms,
                 .seconds = osp_span_seconds(s),
                 .service = osp_span_service(ds->resource),
                 .hash = key_hash(s->trace_id, key)};
    memcpy(w.trace_id, s->trace_id, 16);
    memcpy(w.key_span, key, 8);
    if (server && !memcmp(s->parent_span_id, zero, 8)) {
        count_edge(g, OSP_STR_LIT("user"), w.service, CONN_SERVICE, w.failed, -1, w.seconds,
                   w.trace_id, w.end_ms);
        return;
    }
    pending **pp = find(g, w.hash, w.trace_id, w.key_span, client ? ROLE_SERVER : ROLE_CLIENT);
    if (*pp) {
        count_pair(g, client ? &w : *pp, client ? *pp : &w, w.end_ms);
        drop(g, pp);
        return;
    }
    w.conn = client ? peer_of(s, &peer) : CONN_NONE;
    wait_for_peer(g, &w, w.service, peer);
}

static int graph_flush(void *self, int64_t t_ms, osp_series_batch *out)
{
    graph *g = self;
    int rc;
    expire(g, t_ms);
    if ((rc = osp_seriestab_flush(g->total, t_ms, out)) == 0 &&
        (rc = osp_seriestab_flush(g->failed, t_ms, out)) == 0 &&
        (rc = osp_seriestab_flush(g->server, t_ms, out)) == 0)
        rc = osp_seriestab_flush(g->client, t_ms, out);
    return rc;
}

const osp_deriver osp_servicegraph_deriver = {"servicegraph", graph_create, graph_add, graph_flush,
                                              graph_destroy};
