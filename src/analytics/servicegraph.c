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
#define PEER(z, conn)                                                                              \
    {                                                                                              \
        {z, sizeof(z) - 1}, conn                                                                   \
    }
static const struct {
    osp_str attr;
    enum conn conn;
} peer_attrs[] = {
    PEER("peer.service", CONN_VIRTUAL),         PEER("db.system.name", CONN_DATABASE),
    PEER("db.system", CONN_DATABASE),           PEER("messaging.system", CONN_MESSAGING),
    PEER("gen_ai.provider.name", CONN_VIRTUAL), PEER("gen_ai.system", CONN_VIRTUAL),
    PEER("server.address", CONN_VIRTUAL),       PEER("net.peer.name", CONN_VIRTUAL),
};
#define NPEER_ATTRS (sizeof peer_attrs / sizeof peer_attrs[0])

/* A span waiting for its peer. Clients are keyed by their span id, servers by their
 * parent's, so a pair shares one key. */
typedef struct pending {
    struct pending *older, *newer; /* arrival order; newer links the free list */
    uint64_t tag;                  /* its slot's tag (slot_tag) */
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

/* A slot of the pending table: open addressing with linear probing, the tag beside the
 * pointer so that a probe touches a pending span only when its tag matches. */
typedef struct slot {
    uint64_t tag; /* slot_tag of the span, 0 for an empty slot */
    pending *p;
} slot;

typedef struct graph {
    osp_family fam_total, fam_failed, fam_server, fam_client; /* the tables point at them */
    osp_seriestab *total, *failed, *server, *client;
    slot *slots; /* nslots a power of two, at most half full while it can grow */
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
    osp_seriestab_key k = OSP_SERIESTAB_KEY_INIT;
    osp_seriestab_key_push(&k, values, 3);
    /* Out of memory loses this observation only; the tables stay consistent. */
    (void)osp_seriestab_add_key(g->total, values, &k, 1, trace_id, t_ms);
    if (failed)
        (void)osp_seriestab_add_key(g->failed, values, &k, 1, trace_id, t_ms);
    if (server_s >= 0)
        (void)osp_seriestab_add_key(g->server, values, &k, server_s, trace_id, t_ms);
    if (client_s >= 0)
        (void)osp_seriestab_add_key(g->client, values, &k, client_s, trace_id, t_ms);
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

/* The tag of a pending span of key (trace id, span id) and role: never 0, the role in
 * its lowest bit. */
static uint64_t slot_tag(const uint8_t trace_id[16], const uint8_t span[8], int role)
{
    uint8_t k[24];
    memcpy(k, trace_id, 16);
    memcpy(k + 16, span, 8);
    return (XXH3_64bits(k, sizeof k) & ~(uint64_t)3) | 2 | (uint64_t)role;
}

static size_t home_of(const graph *g, uint64_t tag)
{
    return (size_t)(tag >> 2) & (g->nslots - 1);
}

/* The index of the slot holding the pending span of tag and key, or of the empty slot
 * where its probe ends. */
static size_t find(const graph *g, uint64_t tag, const uint8_t trace_id[16], const uint8_t span[8])
{
    size_t i = home_of(g, tag);
    for (; g->slots[i].tag; i = (i + 1) & (g->nslots - 1)) {
        const pending *p = g->slots[i].p;
        if (g->slots[i].tag == tag && !memcmp(p->trace_id, trace_id, 16) &&
            !memcmp(p->key_span, span, 8))
            break;
    }
    return i;
}

/* The index of the slot holding p (which waits in the table). */
static size_t slot_of(const graph *g, const pending *p)
{
    size_t i = home_of(g, p->tag);
    while (g->slots[i].p != p)
        i = (i + 1) & (g->nslots - 1);
    return i;
}

/* Empties slot i, moving later slots of its probe run back so every probe still finds
 * its span (backward-shift deletion). */
static void free_slot(graph *g, size_t i)
{
    size_t mask = g->nslots - 1;
    for (size_t j = (i + 1) & mask; g->slots[j].tag; j = (j + 1) & mask) {
        size_t home = home_of(g, g->slots[j].tag);
        /* slot j may move to i when its home is not in the cyclic range (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            g->slots[i] = g->slots[j];
            i = j;
        }
    }
    g->slots[i] = (slot){0, NULL};
}

/* Unlinks the span in slot i from the table and the arrival list and recycles it. */
static void drop(graph *g, size_t i)
{
    pending *p = g->slots[i].p;
    free_slot(g, i);
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
    p->newer = g->free;
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
    drop(g, slot_of(g, p));
}

static void expire(graph *g, int64_t now_ms)
{
    while (g->oldest && g->oldest->arrival_ms + OSP_SERVICEGRAPH_WINDOW_MS <= now_ms) {
        retire_oldest(g);
        osp_counter_inc(g->m_expired);
    }
}

/* Doubles the table (up to twice the pending bound); keeps it as is on failure. */
static void grow(graph *g)
{
    slot *old = g->slots;
    size_t nold = g->nslots;
    slot *slots =
        nold < 2 * OSP_SERVICEGRAPH_MAX_PENDING ? osp_calloc(2 * nold, sizeof *slots) : NULL;
    if (!slots)
        return;
    g->slots = slots;
    g->nslots = 2 * nold;
    for (size_t i = 0; i < nold; i++) {
        if (!old[i].tag)
            continue;
        size_t j = home_of(g, old[i].tag);
        while (slots[j].tag)
            j = (j + 1) & (g->nslots - 1);
        slots[j] = old[i];
    }
    osp_free(old);
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
 * when full. Out of memory drops it (so does a table that could not grow past 3/4 full). */
static void wait_for_peer(graph *g, const pending *w, osp_str service, osp_str peer)
{
    if (g->n >= OSP_SERVICEGRAPH_MAX_PENDING) {
        retire_oldest(g);
        osp_counter_inc(g->m_evicted);
    }
    if (2 * (g->n + 1) > g->nslots)
        grow(g);
    if (4 * (g->n + 1) > 3 * g->nslots)
        return;
    pending *p = g->free ? g->free : osp_malloc(sizeof *p);
    if (!p)
        return;
    if (p == g->free)
        g->free = p->newer;
    *p = *w;
    if (keep_names(p, service, peer) != 0) {
        p->newer = g->free;
        g->free = p;
        return;
    }
    /* a span repeating a waiting one's key and role waits beside it, in the first free
     * slot of the probe */
    size_t i = home_of(g, p->tag);
    while (g->slots[i].tag)
        i = (i + 1) & (g->nslots - 1);
    g->slots[i] = (slot){p->tag, p};
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
    size_t best = NPEER_ATTRS;
    osp_attr_iter it;
    osp_str key, raw;
    osp_value v;
    osp_attr_iter_init(&it, s->attributes);
    while (best > 0 && osp_attr_next_raw(&it, &key, &raw) == 1) {
        for (size_t i = 0; i < best; i++)
            if (key.n == peer_attrs[i].attr.n && key.p[0] == peer_attrs[i].attr.p[0] &&
                !memcmp(key.p, peer_attrs[i].attr.p, key.n)) {
                /* Only a named peer's value is decoded. */
                if (osp_value_decode(raw, &v) == 0 && v.type == OSP_VAL_STRING && v.s.n) {
                    best = i;
                    *peer = v.s;
                }
                break;
            }
    }
    return best < NPEER_ATTRS ? peer_attrs[best].conn : CONN_NONE;
}

/* ---- the deriver ---- */

static void graph_destroy(void *self)
{
    graph *g = self;
    if (!g)
        return;
    while (g->oldest)
        drop(g, slot_of(g, g->oldest));
    while (g->free) {
        pending *p = g->free;
        g->free = p->newer;
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
    g->fam_total = (osp_family){.name = OSP_DERIVED_GRAPH_TOTAL,
                                .kind = OSP_KIND_COUNTER,
                                .help = "Requests between two services.",
                                .unit = "",
                                .labels = graph_labels,
                                .nlabels = 3};
    g->fam_failed = g->fam_total;
    g->fam_failed.name = OSP_DERIVED_GRAPH_FAILED;
    g->fam_failed.help = "Failed requests between two services.";
    g->fam_server = (osp_family){.name = OSP_DERIVED_GRAPH_SERVER,
                                 .kind = OSP_KIND_HISTOGRAM,
                                 .help = "Request durations seen by the server.",
                                 .unit = "seconds",
                                 .labels = graph_labels,
                                 .nlabels = 3,
                                 .buckets = osp_derived_graph_buckets,
                                 .nbuckets = osp_derived_graph_nbuckets};
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
                 .tag = slot_tag(s->trace_id, key, client ? ROLE_CLIENT : ROLE_SERVER)};
    memcpy(w.trace_id, s->trace_id, 16);
    memcpy(w.key_span, key, 8);
    if (server && !memcmp(s->parent_span_id, zero, 8)) {
        count_edge(g, OSP_STR_LIT("user"), w.service, CONN_SERVICE, w.failed, -1, w.seconds,
                   w.trace_id, w.end_ms);
        return;
    }
    size_t i = find(g, w.tag ^ 1, w.trace_id, w.key_span); /* the other role */
    if (g->slots[i].tag) {
        count_pair(g, client ? &w : g->slots[i].p, client ? g->slots[i].p : &w, w.end_ms);
        drop(g, i);
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
