/* The service graph from spans (servicegraph.h): pairs client and server spans across
 * services, keeps unpaired ones for a bounded window and then, compactly, for a late one,
 * and counts requests per edge. */
#include "analytics/servicegraph.h"

#include <xxhash.h>

#include "analytics/seriestab.h"
#include "analytics/spanmetrics.h"
#include "core/err.h"
#include "core/intern.h"
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
 * parent's, so a pair shares one key. Repeats of a key and role (a batch sent again) share
 * one entry: copies counts them, and each pairs or counts on its own. */
typedef struct pending {
    struct pending *older, *newer; /* arrival order; newer links the free list */
    uint64_t tag;                  /* its slot's tag (slot_tag) */
    uint8_t trace_id[16];
    uint8_t key_span[8];
    uint8_t role;      /* enum role */
    uint8_t conn;      /* clients: enum conn of the peer named */
    uint8_t failed;    /* status ERROR */
    uint8_t messaging; /* PRODUCER or CONSUMER */
    uint32_t copies;   /* arrivals of this key and role waiting, at least 1 */
    int64_t arrival_ms, end_ms;
    double seconds;
    osp_str service, peer; /* in text */
    char *text;            /* inline, or allocated when longer */
    char inline_text[NAME_INLINE];
} pending;

/* A slot of a table: open addressing with linear probing, the tag beside the pointer so
 * that a probe touches an entry only when its tag matches. */
typedef struct slot {
    uint64_t tag; /* slot_tag of the span, 0 for an empty slot */
    void *p;      /* a pending or a late span */
} slot;

/* A span that stopped waiting but may still meet its peer (OSP_SERVICEGRAPH_LATE_MS):
 * what a pair needs of it, with its copies. Its tag alone identifies it (62 bits of hash). */
typedef struct late {
    struct late *newer; /* the late list, oldest first; links the free list too */
    uint64_t tag;       /* 0 once it has paired (it leaves the list when it comes first) */
    int64_t since_ms;   /* arrival time it stopped waiting */
    osp_str service;    /* interned */
    double seconds;
    uint8_t failed, messaging;
    uint8_t counted; /* a client already counted on the edge to the peer it names */
    uint32_t copies; /* unpaired copies */
} late;

/* Open-addressing tables of slots: the pending spans by tag and key, the late ones by
 * tag, one entry each. nslots is a power of two, at most half full while it can grow. */
typedef struct table {
    slot *slots;
    size_t nslots, n, max_slots;
} table;

typedef struct graph {
    osp_family fam_total, fam_failed, fam_server, fam_client; /* the tables point at them */
    osp_seriestab *total, *failed, *server, *client;
    table pend;
    pending *oldest, *newest;
    pending *free; /* recycled entries */
    table late_tab;
    late *late_oldest, *late_newest, *late_free;
    size_t nlate;        /* in the late list, paired or not */
    osp_intern services; /* names of late spans */
    osp_metric *m_pending, *m_evicted, *m_expired, *m_late, *m_late_pairs;
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

static size_t home_of(const table *t, uint64_t tag)
{
    return (size_t)(tag >> 2) & (t->nslots - 1);
}

/* The index of the slot holding the pending span of tag and key, or of the empty slot
 * where its probe ends. */
static size_t find(const table *t, uint64_t tag, const uint8_t trace_id[16], const uint8_t span[8])
{
    size_t i = home_of(t, tag);
    for (; t->slots[i].tag; i = (i + 1) & (t->nslots - 1)) {
        const pending *p = t->slots[i].p;
        if (t->slots[i].tag == tag && !memcmp(p->trace_id, trace_id, 16) &&
            !memcmp(p->key_span, span, 8))
            break;
    }
    return i;
}

/* The index of the slot holding entry p of tag (which waits in the table). */
static size_t slot_of(const table *t, uint64_t tag, const void *p)
{
    size_t i = home_of(t, tag);
    while (t->slots[i].p != p)
        i = (i + 1) & (t->nslots - 1);
    return i;
}

/* Empties slot i, moving later slots of its probe run back so every probe still finds
 * its entry (backward-shift deletion). */
static void free_slot(table *t, size_t i)
{
    size_t mask = t->nslots - 1;
    for (size_t j = (i + 1) & mask; t->slots[j].tag; j = (j + 1) & mask) {
        size_t home = home_of(t, t->slots[j].tag);
        /* slot j may move to i when its home is not in the cyclic range (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i] = (slot){0, NULL};
    t->n--;
}

/* Doubles the table (up to max_slots); keeps it as is on failure. */
static void grow(table *t)
{
    slot *old = t->slots;
    size_t nold = t->nslots;
    slot *slots = nold < t->max_slots ? osp_calloc(2 * nold, sizeof *slots) : NULL;
    if (!slots)
        return;
    t->slots = slots;
    t->nslots = 2 * nold;
    for (size_t i = 0; i < nold; i++) {
        if (!old[i].tag)
            continue;
        size_t j = home_of(t, old[i].tag);
        while (slots[j].tag)
            j = (j + 1) & (t->nslots - 1);
        slots[j] = old[i];
    }
    osp_free(old);
}

/* Files entry p of tag, whose key the table does not hold, in the first free slot of its
 * probe. 0, or -1 when the table is 3/4 full and could not grow. */
static int table_put(table *t, uint64_t tag, void *p)
{
    if (2 * (t->n + 1) > t->nslots)
        grow(t);
    if (4 * (t->n + 1) > 3 * t->nslots)
        return -1;
    size_t i = home_of(t, tag);
    while (t->slots[i].tag)
        i = (i + 1) & (t->nslots - 1);
    t->slots[i] = (slot){tag, p};
    t->n++;
    return 0;
}

static int table_init(table *t, size_t max_entries)
{
    t->nslots = 1024;
    t->n = 0;
    t->max_slots = 2 * max_entries;
    t->slots = osp_calloc(t->nslots, sizeof *t->slots);
    return t->slots ? 0 : OSP_ENOMEM;
}

/* ---- late spans ---- */

/* The index of the slot of the late span of tag, or of the empty slot ending its probe. */
static size_t find_late(const table *t, uint64_t tag)
{
    size_t i = home_of(t, tag);
    while (t->slots[i].tag && t->slots[i].tag != tag)
        i = (i + 1) & (t->nslots - 1);
    return i;
}

/* Frees the oldest late span, which pairs with nothing any more. */
static void retire_late(graph *g)
{
    late *l = g->late_oldest;
    if (l->tag) {
        free_slot(&g->late_tab, slot_of(&g->late_tab, l->tag, l));
        osp_gauge_add(g->m_late, -(double)l->copies);
    }
    g->late_oldest = l->newer;
    if (!g->late_oldest)
        g->late_newest = NULL;
    l->newer = g->late_free;
    g->late_free = l;
    g->nlate--;
}

static void expire_late(graph *g, int64_t now_ms)
{
    while (g->late_oldest && g->late_oldest->since_ms + OSP_SERVICEGRAPH_LATE_MS <= now_ms)
        retire_late(g);
}

/* Keeps what a pair needs of p, which stopped waiting at since_ms; counted: p was counted
 * on the edge to the peer it names. Copies of a kept key join it. Out of memory forgets p. */
static void keep_late(graph *g, const pending *p, int counted, int64_t since_ms)
{
    uint32_t id;
    size_t i = find_late(&g->late_tab, p->tag);
    if (g->late_tab.slots[i].tag) {
        late *kept = g->late_tab.slots[i].p;
        kept->copies += p->copies;
        osp_gauge_add(g->m_late, p->copies);
        return;
    }
    if (g->nlate >= OSP_SERVICEGRAPH_MAX_LATE)
        retire_late(g);
    if (osp_intern_add(&g->services, p->service, &id) != 0)
        return;
    late *l = g->late_free ? g->late_free : osp_malloc(sizeof *l);
    if (!l)
        return;
    if (l == g->late_free)
        g->late_free = l->newer;
    *l = (late){.tag = p->tag,
                .since_ms = since_ms,
                .service = g->services.strs[id],
                .seconds = p->seconds,
                .failed = p->failed,
                .messaging = p->messaging,
                .counted = (uint8_t)counted,
                .copies = p->copies};
    if (table_put(&g->late_tab, l->tag, l) != 0) {
        l->newer = g->late_free;
        g->late_free = l;
        return;
    }
    if (g->late_newest)
        g->late_newest->newer = l;
    else
        g->late_oldest = l;
    g->late_newest = l;
    g->nlate++;
    osp_gauge_add(g->m_late, p->copies);
}

/* Pairs w with a late copy of the other role of its key, if one is kept: 1 when it did. */
static int pair_late(graph *g, const pending *w, int64_t t_ms)
{
    size_t i = find_late(&g->late_tab, w->tag ^ 1);
    if (!g->late_tab.slots[i].tag)
        return 0;
    late *l = g->late_tab.slots[i].p;
    pending other = {.failed = l->failed,
                     .messaging = l->messaging,
                     .seconds = l->seconds,
                     .service = l->service};
    memcpy(other.trace_id, w->trace_id, 16);
    int client = w->role == ROLE_CLIENT;
    count_pair(g, client ? w : &other, client ? &other : w, t_ms);
    if (--l->copies == 0) {
        free_slot(&g->late_tab, i);
        l->tag = 0;
    }
    osp_gauge_add(g->m_late, -1);
    osp_counter_inc(g->m_late_pairs);
    return 1;
}

/* Unlinks the span in slot i from the table and the arrival list and recycles it. */
static void drop(graph *g, size_t i)
{
    pending *p = g->pend.slots[i].p;
    free_slot(&g->pend, i);
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
    osp_gauge_add(g->m_pending, -(double)p->copies);
}

/* The end of the oldest span's wait, noticed at now_ms: a request per copy to the peer it
 * names, if any; then it is kept as a late span. */
static void retire_oldest(graph *g, int64_t now_ms)
{
    pending *p = g->oldest;
    int counted =
        p->role == ROLE_CLIENT && p->conn != CONN_NONE && !osp_str_eq(p->service, p->peer);
    for (uint32_t n = 0; counted && n < p->copies; n++)
        count_edge(g, p->service, p->peer, p->conn, p->failed, p->seconds, -1, p->trace_id,
                   p->end_ms);
    int64_t window_end = p->arrival_ms + OSP_SERVICEGRAPH_WINDOW_MS;
    keep_late(g, p, counted, now_ms < window_end ? now_ms : window_end);
    drop(g, slot_of(&g->pend, p->tag, p));
}

static void expire(graph *g, int64_t now_ms)
{
    while (g->oldest && g->oldest->arrival_ms + OSP_SERVICEGRAPH_WINDOW_MS <= now_ms) {
        retire_oldest(g, now_ms);
        osp_counter_inc(g->m_expired);
    }
    expire_late(g, now_ms);
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
    if (g->pend.n >= OSP_SERVICEGRAPH_MAX_PENDING) {
        retire_oldest(g, w->arrival_ms);
        osp_counter_inc(g->m_evicted);
    }
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
    if (table_put(&g->pend, p->tag, p) != 0) {
        if (p->text != p->inline_text)
            osp_free(p->text);
        p->newer = g->free;
        g->free = p;
        return;
    }
    p->older = g->newest;
    p->newer = NULL;
    if (g->newest)
        g->newest->newer = p;
    else
        g->oldest = p;
    g->newest = p;
    osp_gauge_add(g->m_pending, 1);
}

/* One copy of the span waiting in slot i paired: it leaves when it was the last. */
static void pair_pending(graph *g, size_t i)
{
    pending *p = g->pend.slots[i].p;
    if (p->copies > 1) {
        p->copies--;
        osp_gauge_add(g->m_pending, -1);
    } else {
        drop(g, i);
    }
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
        drop(g, slot_of(&g->pend, g->oldest->tag, g->oldest));
    while (g->free) {
        pending *p = g->free;
        g->free = p->newer;
        osp_free(p);
    }
    while (g->late_oldest)
        retire_late(g);
    while (g->late_free) {
        late *l = g->late_free;
        g->late_free = l->newer;
        osp_free(l);
    }
    osp_free(g->pend.slots);
    osp_free(g->late_tab.slots);
    osp_intern_cleanup(&g->services);
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
    osp_intern_init(&g->services, 1);
    int rc = table_init(&g->pend, OSP_SERVICEGRAPH_MAX_PENDING);
    rc |= table_init(&g->late_tab, OSP_SERVICEGRAPH_MAX_LATE);
    g->total = osp_seriestab_create(&g->fam_total);
    g->failed = osp_seriestab_create(&g->fam_failed);
    g->server = osp_seriestab_create(&g->fam_server);
    g->client = osp_seriestab_create(&g->fam_client);
    if (rc || !g->total || !g->failed || !g->server || !g->client) {
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
    g->m_late = osp_gauge("osprey_servicegraph_late_spans",
                          "Spans past their window still kept for a late peer.", "");
    g->m_late_pairs = osp_counter("osprey_servicegraph_late_pairs_total",
                                  "Requests paired after the window, within the late window.", "");
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
                 .copies = 1,
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
    size_t i = find(&g->pend, w.tag ^ 1, w.trace_id, w.key_span); /* the other role */
    if (g->pend.slots[i].tag) {
        count_pair(g, client ? &w : g->pend.slots[i].p, client ? g->pend.slots[i].p : &w, w.end_ms);
        pair_pending(g, i);
        return;
    }
    if (pair_late(g, &w, w.end_ms))
        return;
    i = find(&g->pend, w.tag, w.trace_id, w.key_span); /* a copy waiting */
    if (g->pend.slots[i].tag) {
        ((pending *)g->pend.slots[i].p)->copies++;
        osp_gauge_add(g->m_pending, 1);
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
