/* Sessions, users, agents and streaming quality (analytics/sessions.h): resolution of
 * sessions, users and turns along each trace's parent links, then one aggregation per
 * answer. */
#include "analytics/sessions.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/server_ttft.h"
#include "core/err.h"
#include "core/intern.h"
#include "core/mem.h"

#define DEFAULT_LIMIT 100
#define MAX_DEPTH 256 /* parent links followed from one record */
#define NS_PER_MS 1e6
/* Store scans read the serving engine's TTFT exemplars of the window widened by this
 * much on each side: a trace's records may start before the window or end after it. */
#define TTFT_MARGIN_NS (15 * 60 * (uint64_t)1000000000)

/* ---- resolution ---- */

/* What a record resolves to. */
typedef struct resolved {
    osp_str session, user;
    int32_t parent; /* the parent's record index, -1 when not recorded */
    int32_t root;   /* the turn it belongs to (a record index), -1 outside any */
} resolved;

typedef struct analysis {
    const osp_aicall *const *c; /* the records, by start within each trace */
    size_t n;
    resolved *r;
} analysis;

static int is_ai(const osp_aicall *a)
{
    return a->type != OSP_GENAI_NONE;
}

static int is_model_call(const osp_aicall *a)
{
    return a->type == OSP_GENAI_LLM || a->type == OSP_GENAI_EMBEDDING;
}

static osp_str model_of(const osp_aicall *a)
{
    return a->response_model.n ? a->response_model : a->request_model;
}

static int in_window(const osp_sessions_window *w, const osp_aicall *a)
{
    return a->start_ns >= w->start_ns && (!w->end_ns || a->start_ns <= w->end_ns);
}

/* A record of a trace by its span id, as a number (any fixed order does for lookups). */
typedef struct span_ref {
    uint64_t key;
    uint32_t rec;
} span_ref;

static uint64_t span_key(const uint8_t id[8])
{
    uint64_t k;
    memcpy(&k, id, 8);
    return k;
}

static int cmp_span_ref(const void *pa, const void *pb)
{
    uint64_t a = ((const span_ref *)pa)->key, b = ((const span_ref *)pb)->key;
    return (a > b) - (a < b);
}

/* Traces of up to this many records are searched from end to end, unsorted (most are). */
#define LINEAR_SPANS 16

/* Readies refs[0..n) for find_span: sorted by key when there are many. */
static void sort_refs(span_ref *refs, size_t n)
{
    if (n > LINEAR_SPANS)
        qsort(refs, n, sizeof *refs, cmp_span_ref);
}

/* The record with span id key in refs[0..n) (as sort_refs left them), or -1. */
static int32_t find_span(const span_ref *refs, size_t n, uint64_t key)
{
    if (n <= LINEAR_SPANS) {
        for (size_t i = 0; i < n; i++)
            if (refs[i].key == key)
                return (int32_t)refs[i].rec;
        return -1;
    }
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (refs[mid].key == key)
            return (int32_t)refs[mid].rec;
        if (refs[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int is_root_span(const osp_aicall *a)
{
    static const uint8_t zero[8];
    return !memcmp(a->parent_span_id, zero, 8);
}

/* The innermost record of c[from..to) (one trace) whose time strictly contains record
 * i's, or -1: the recorded ancestor of a record whose parent was not recorded (a plain
 * span between them), as far as the spans' times tell. Strict containment keeps the
 * parent links acyclic. */
static int32_t container_of(const osp_aicall *const *c, size_t from, size_t to, size_t i)
{
    int32_t best = -1;
    for (size_t k = from; k < to; k++) {
        if (k == i || c[k]->start_ns > c[i]->start_ns || c[k]->end_ns < c[i]->end_ns ||
            (c[k]->start_ns == c[i]->start_ns && c[k]->end_ns == c[i]->end_ns))
            continue;
        /* a later start, or the same start and an earlier end, is further in */
        if (best < 0 || c[k]->start_ns > c[best]->start_ns ||
            (c[k]->start_ns == c[best]->start_ns && c[k]->end_ns < c[best]->end_ns))
            best = (int32_t)k;
    }
    return best;
}

/* Resolves node from its parent p (already resolved, or -1) and the trace's ids. */
static void resolve_one(analysis *an, int32_t node, int32_t p, osp_str tsession, osp_str tuser)
{
    const osp_aicall *a = an->c[node];
    resolved *r = &an->r[node];
    r->session = a->session_id.n ? a->session_id : p >= 0 ? an->r[p].session : tsession;
    r->user = a->user_id.n ? a->user_id : p >= 0 ? an->r[p].user : tuser;
    r->root = p >= 0 ? an->r[p].root : -1;
    if (r->root < 0 && is_ai(a))
        r->root = node;
}

/* Links each record of one trace, c[from..to), to its recorded parent (r->parent); refs: a
 * scratch array of to - from. */
static void link_parents(analysis *an, size_t from, size_t to, span_ref *refs)
{
    for (size_t i = from; i < to; i++)
        refs[i - from] = (span_ref){span_key(an->c[i]->span_id), (uint32_t)i};
    sort_refs(refs, to - from);
    for (size_t i = from; i < to; i++) {
        const osp_aicall *a = an->c[i];
        int32_t p = find_span(refs, to - from, span_key(a->parent_span_id));
        an->r[i].parent = p == (int32_t)i ? -1 : p;
    }
    for (size_t i = from; i < to; i++)
        if (an->r[i].parent < 0 && !is_root_span(an->c[i]))
            an->r[i].parent = container_of(an->c, from, to, i);
}

/* Resolves the records of one trace, c[from..to), refs a scratch array of to - from. */
static void resolve_trace(analysis *an, size_t from, size_t to, span_ref *refs, uint8_t *done)
{
    osp_str tsession = {0}, tuser = {0};
    int32_t path[MAX_DEPTH];
    for (size_t i = from; i < to && !(tsession.n && tuser.n); i++) {
        if (!tsession.n)
            tsession = an->c[i]->session_id;
        if (!tuser.n)
            tuser = an->c[i]->user_id;
    }
    link_parents(an, from, to, refs);
    for (size_t i = from; i < to; i++) {
        int depth = 0;
        int32_t cur = (int32_t)i;
        while (!done[cur] && depth < MAX_DEPTH) {
            path[depth++] = cur;
            cur = an->r[cur].parent;
            if (cur < 0)
                break;
        }
        while (depth--) { /* from the top down: each parent is resolved first */
            int32_t node = path[depth], p = an->r[node].parent;
            resolve_one(an, node, p >= 0 && done[p] ? p : -1, tsession, tuser);
            done[node] = 1;
        }
    }
}

static int same_trace(const osp_aicall *a, const osp_aicall *b)
{
    return !memcmp(a->trace_id, b->trace_id, 16);
}

/* Resolves every record of set into an->r (arena). 0 or OSP_ENOMEM. */
static int resolve(const osp_aicall_set *set, osp_arena *arena, analysis *an)
{
    const osp_aicall **c = set->n ? osp_arena_alloc(arena, set->n * sizeof *c) : NULL;
    for (size_t i = 0; c && i < set->n; i++)
        c[i] = &set->calls[i];
    an->c = c;
    an->n = set->n;
    an->r = set->n ? osp_arena_calloc(arena, set->n, sizeof *an->r) : NULL;
    span_ref *refs = set->n ? osp_malloc(set->n * sizeof *refs) : NULL;
    uint8_t *done = set->n ? osp_calloc(set->n, 1) : NULL;
    int rc = set->n && (!c || !an->r || !refs || !done) ? OSP_ENOMEM : 0;
    for (size_t from = 0, to; rc == 0 && from < set->n; from = to) {
        for (to = from + 1; to < set->n && same_trace(&set->calls[to], &set->calls[from]); to++)
            ;
        resolve_trace(an, from, to, refs, done);
    }
    osp_free(refs);
    osp_free(done);
    return rc;
}

/* ---- feeding resolved traces to an aggregation ---- */

/* How much of an analysis an aggregation reads. */
enum resolution {
    RESOLVE_ALL,     /* parents, sessions, users and turns */
    RESOLVE_PARENTS, /* r->parent only */
    RESOLVE_NONE,    /* the records only */
};

/* An aggregation over traces: add counts one trace, resolved as it needs; end runs after
 * the last one, while the records' strings are still valid (it copies what it keeps). */
typedef struct consumer {
    int (*add)(void *self, const analysis *an);
    int (*end)(void *self);
    void *self;
    enum resolution needs;
    int ttft; /* reads LLM calls' TTFT: a store's scan fills the missing ones from the engine's */
} consumer;

/* Scratch for resolving one trace at a time, grown to the largest trace. */
typedef struct feed {
    consumer *c;
    resolved *r;
    span_ref *refs;
    uint8_t *done;
    const osp_aicall **ptrs; /* a set's trace as pointers */
    osp_aicall *copy;        /* a scanned trace whose LLM calls take the engine's TTFT */
    size_t cap;
    osp_server_ttfts ttft; /* store scans: the serving engine's TTFT exemplars */
} feed;

/* Grows f's scratch to n records. 0 or OSP_ENOMEM. */
static int feed_reserve(feed *f, size_t n)
{
    if (n <= f->cap)
        return 0;
    resolved *r = osp_realloc(f->r, n * sizeof *r);
    f->r = r ? r : f->r;
    span_ref *refs = r ? osp_realloc(f->refs, n * sizeof *refs) : NULL;
    f->refs = refs ? refs : f->refs;
    uint8_t *done = refs ? osp_realloc(f->done, n) : NULL;
    f->done = done ? done : f->done;
    const osp_aicall **ptrs = done ? osp_realloc(f->ptrs, n * sizeof *ptrs) : NULL;
    f->ptrs = ptrs ? ptrs : f->ptrs;
    osp_aicall *copy = ptrs ? osp_realloc(f->copy, n * sizeof *copy) : NULL;
    f->copy = copy ? copy : f->copy;
    if (!copy)
        return OSP_ENOMEM;
    f->cap = n;
    return 0;
}

/* Resolves the trace calls[0..n) and hands it to f's consumer. */
static int feed_trace(feed *f, const osp_aicall *const *calls, size_t n)
{
    int rc = feed_reserve(f, n);
    if (rc)
        return rc;
    analysis an = {calls, n, f->r};
    if (f->c->needs != RESOLVE_NONE)
        memset(f->r, 0, n * sizeof *f->r);
    if (f->c->needs == RESOLVE_PARENTS)
        link_parents(&an, 0, n, f->refs);
    if (f->c->needs == RESOLVE_ALL) {
        memset(f->done, 0, n);
        resolve_trace(&an, 0, n, f->refs, f->done);
    }
    return f->c->add(f->c->self, &an);
}

static int needs_ttft(const osp_aicall *a)
{
    return a->type == OSP_GENAI_LLM && a->ttft_ns < 0;
}

/* osp_store_scan_aicalls's callback: a trace, or the end. LLM calls without a TTFT take
 * the engine's, in a copy of the trace. */
static int feed_scanned(void *ctx, const osp_aicall *const *calls, size_t n)
{
    feed *f = ctx;
    if (!n)
        return f->c->end ? f->c->end(f->c->self) : 0;
    size_t k = 0;
    while (f->ttft.n && k < n && !needs_ttft(calls[k]))
        k++;
    if (k == n || !f->ttft.n)
        return feed_trace(f, calls, n);
    int rc = feed_reserve(f, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        osp_aicall *a = &f->copy[i];
        *a = *calls[i];
        if (needs_ttft(a))
            osp_aicall_set_server_ttft(
                a, osp_server_ttft_find(&f->ttft, a->trace_id, a->span_id, a->start_ns, a->end_ns));
        f->ptrs[i] = a;
    }
    return rc ? rc : feed_trace(f, f->ptrs, n);
}

/* Feeds the traces of src to c, one at a time, then ends it. */
static int run(const osp_aicall_source *src, consumer *c, osp_arena *arena)
{
    feed f = {.c = c};
    int rc = 0;
    if (src->set) {
        const osp_aicall *calls = src->set->calls;
        for (size_t from = 0, to; rc == 0 && from < src->set->n; from = to) {
            for (to = from + 1; to < src->set->n && same_trace(&calls[to], &calls[from]); to++)
                ;
            rc = feed_reserve(&f, to - from);
            for (size_t i = from; rc == 0 && i < to; i++)
                f.ptrs[i - from] = &calls[i];
            if (rc == 0)
                rc = feed_trace(&f, f.ptrs, to - from);
        }
        if (rc == 0 && c->end)
            rc = c->end(c->self);
    } else {
        const osp_aicall_query *q = src->q;
        uint64_t from = q->start_ns > TTFT_MARGIN_NS ? q->start_ns - TTFT_MARGIN_NS : 0;
        uint64_t to = q->end_ns ? q->end_ns + TTFT_MARGIN_NS : UINT64_MAX / 2;
        if (c->ttft)
            rc = osp_server_ttft_load(src->store, (int64_t)(from / 1000000),
                                      (int64_t)(to / 1000000), arena, &f.ttft);
        if (rc == 0)
            rc = osp_store_scan_aicalls(src->store, q, feed_scanned, &f);
    }
    osp_free(f.r);
    osp_free(f.refs);
    osp_free(f.done);
    osp_free(f.ptrs);
    osp_free(f.copy);
    return rc;
}

/* s copied into arena (empty stays empty). */
static int keep_str(osp_arena *arena, osp_str *s)
{
    if (!s->n)
        return 0;
    *s = osp_arena_strdup(arena, *s);
    return s->p ? 0 : OSP_ENOMEM;
}

/* ---- keyed rows: aggregates by one or two strings ---- */

#define KEY_MEMO 128 /* keys up to this long are remembered for the next lookup */

typedef struct keyed {
    osp_intern keys; /* copies of the keys; ids index rows */
    char *rows;
    size_t n, cap, elem;
    char last[KEY_MEMO]; /* the last key looked up (records of a trace repeat theirs) */
    size_t nlast;        /* 0: none */
    uint32_t last_id;
} keyed;

static void keyed_init(keyed *k, size_t elem)
{
    memset(k, 0, sizeof *k);
    osp_intern_init(&k->keys, 1);
    k->elem = elem;
}

static void keyed_cleanup(keyed *k)
{
    osp_intern_cleanup(&k->keys);
    osp_free(k->rows);
}

/* The row of (a, b) (b may be empty), zeroed when new (*fresh 1). NULL when out of memory. */
static void *keyed_get(keyed *k, osp_str a, osp_str b, int *fresh)
{
    char key[2 * OSP_AICALL_MAX_TEXT + 2];
    uint32_t id;
    size_t na = a.n < OSP_AICALL_MAX_TEXT ? a.n : OSP_AICALL_MAX_TEXT;
    size_t nb = b.n < OSP_AICALL_MAX_TEXT + 1 ? b.n : OSP_AICALL_MAX_TEXT + 1;
    if (na)
        memcpy(key, a.p, na);
    key[na] = 0;
    if (nb)
        memcpy(key + na + 1, b.p, nb);
    size_t len = na + 1 + nb;
    if (len == k->nlast && !memcmp(key, k->last, len)) {
        *fresh = 0;
        return k->rows + (size_t)k->last_id * k->elem;
    }
    if (osp_intern_add(&k->keys, osp_str_make(key, len), &id))
        return NULL;
    *fresh = id == k->n;
    if (*fresh) {
        void *row = osp_array_push((void **)&k->rows, &k->n, &k->cap, k->elem);
        if (!row)
            return NULL;
    }
    k->nlast = len <= KEY_MEMO ? len : 0;
    memcpy(k->last, key, k->nlast);
    k->last_id = id;
    return k->rows + (size_t)id * k->elem;
}

/* 1 when (a, b) was not seen before in k (a distinct-pair counter), 0 when it was, -1
 * when out of memory. */
static int keyed_first(keyed *k, osp_str a, osp_str b)
{
    int fresh;
    return keyed_get(k, a, b, &fresh) ? fresh : -1;
}

/* Copies k's rows into an array in arena. */
static int keyed_out(const keyed *k, osp_arena *arena, void **out, size_t *n)
{
    *n = k->n;
    *out = k->n ? osp_arena_memdup(arena, k->rows, k->n * k->elem) : NULL;
    return k->n && !*out ? OSP_ENOMEM : 0;
}

/* The distinct strings met in one trace (it names a few sessions or users). */
typedef struct seen {
    osp_str *v;
    size_t n, cap;
} seen;

/* 1 when s is new to l (and now in it), 0 when l has it, -1 when out of memory. */
static int seen_first(seen *l, osp_str s)
{
    for (size_t i = 0; i < l->n; i++)
        if (osp_str_eq(l->v[i], s))
            return 0;
    osp_str *slot = osp_array_push((void **)&l->v, &l->n, &l->cap, sizeof *slot);
    if (!slot)
        return -1;
    *slot = s;
    return 1;
}

/* ---- figures ---- */

/* Prices as looked up for one answer, remembered per provider, model and UTC day (the
 * table's effective dates are days), so that a million calls of a few models cost a few
 * lookups. */
typedef struct price_slot {
    osp_str provider, model; /* as the first call that filled the slot gave them */
    int64_t day;             /* -1: empty */
    int found;
    osp_price p;
} price_slot;

#define PRICE_SLOTS 64 /* a power of two */

typedef struct pricer {
    const osp_price_table *table; /* NULL: every cost is 0 */
    price_slot slot[PRICE_SLOTS];
} pricer;

static void pricer_init(pricer *pr, const osp_price_table *table)
{
    pr->table = table;
    for (size_t i = 0; i < PRICE_SLOTS; i++)
        pr->slot[i].day = -1;
}

static int same_str(osp_str a, osp_str b)
{
    return a.n == b.n && (a.p == b.p || !memcmp(a.p, b.p, a.n));
}

/* The price of provider's model at t_ms, through the remembered slots. 1 found, 0 none. */
static int price_at(pricer *pr, osp_str provider, osp_str model, int64_t t_ms, osp_price *out)
{
    int64_t day = t_ms / (24 * 3600 * 1000);
    size_t h = provider.n * 31 + model.n * 7 + (size_t)day;
    if (model.n)
        h += (unsigned char)model.p[model.n - 1] * 131u + (unsigned char)model.p[0];
    price_slot *sl = &pr->slot[h & (PRICE_SLOTS - 1)];
    if (sl->day != day || !same_str(sl->provider, provider) || !same_str(sl->model, model)) {
        *sl = (price_slot){.provider = provider, .model = model, .day = day};
        sl->found = osp_price_lookup(pr->table, provider, model, t_ms, &sl->p);
    }
    *out = sl->p;
    return sl->found;
}

static double cost_of(pricer *pr, const osp_aicall *a)
{
    osp_price p;
    if (!pr->table || !price_at(pr, a->provider, model_of(a), (int64_t)(a->start_ns / 1000000), &p))
        return 0;
    return osp_price_cost(&p, (double)osp_aicall_uncached_input(a),
                          (double)(a->cache_read_tokens > 0 ? a->cache_read_tokens : 0),
                          (double)(a->cache_write_tokens > 0 ? a->cache_write_tokens : 0),
                          (double)(a->output_tokens > 0 ? a->output_tokens : 0));
}

static int64_t known(int64_t v)
{
    return v > 0 ? v : 0;
}

/* qsort that takes an empty (possibly NULL) array. */
static void sort_n(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

/* The nearest-rank q-quantile of v[0..n) (sorted here); NaN when n is 0. */
static double quantile(double *v, size_t n, double q)
{
    if (!n)
        return NAN;
    sort_n(v, n, sizeof *v, cmp_double);
    size_t rank = (size_t)ceil(q * (double)n);
    return v[rank ? rank - 1 : 0];
}

static void widen(uint64_t *first, uint64_t *last, const osp_aicall *a)
{
    if (!*first || a->start_ns < *first)
        *first = a->start_ns;
    if (a->end_ns > *last)
        *last = a->end_ns;
}

int osp_sessions_load(osp_store *store, const osp_aicall_query *q, osp_arena *arena,
                      osp_aicall_set *set)
{
    osp_aicall *calls;
    int rc = osp_store_select_aicalls(store, q, arena, &calls, &set->n);
    if (rc == 0)
        rc = osp_server_ttft_fill(store, calls, set->n, arena);
    set->calls = calls;
    return rc;
}

/* ---- sessions ---- */

typedef struct sess_row {
    osp_session_summary s;
    uint64_t user_at; /* start of the record the user came from */
    osp_str *svc;     /* services (osp_malloc) */
    size_t nsvc, svccap;
} sess_row;

static int add_service(sess_row *row, osp_str service)
{
    for (size_t i = 0; i < row->nsvc; i++)
        if (osp_str_eq(row->svc[i], service))
            return 0;
    osp_str *slot = osp_array_push((void **)&row->svc, &row->nsvc, &row->svccap, sizeof *slot);
    if (!slot)
        return OSP_ENOMEM;
    *slot = service;
    return 0;
}

/* Counts record i into its session's row; in_trace: the sessions its trace counted so far. */
static int sess_add(const analysis *an, size_t i, pricer *prices, keyed *rows, seen *in_trace)
{
    const osp_aicall *a = an->c[i];
    const resolved *r = &an->r[i];
    int fresh;
    sess_row *row = keyed_get(rows, r->session, osp_str_make("", 0), &fresh);
    int first_trace = seen_first(in_trace, r->session);
    if (!row || first_trace < 0)
        return OSP_ENOMEM;
    row->s.id = r->session;
    row->s.traces += (uint64_t)first_trace;
    row->s.turns += r->root == (int32_t)i;
    row->s.errors += is_ai(a) && a->is_error;
    if (is_model_call(a)) {
        row->s.input_tokens += known(a->input_tokens);
        row->s.output_tokens += known(a->output_tokens);
        row->s.cost += cost_of(prices, a);
    }
    if (r->user.n && (!row->s.user.n || a->start_ns < row->user_at)) {
        row->s.user = r->user;
        row->user_at = a->start_ns;
    }
    widen(&row->s.first_ns, &row->s.last_ns, a);
    return a->service.n ? add_service(row, a->service) : 0;
}

static int cmp_str(const void *pa, const void *pb)
{
    return osp_str_cmp(*(const osp_str *)pa, *(const osp_str *)pb);
}

/* Summaries newest first. */
static int cmp_summary(const void *pa, const void *pb)
{
    const osp_session_summary *a = pa, *b = pb;
    if (a->last_ns != b->last_ns)
        return a->last_ns > b->last_ns ? -1 : 1;
    return osp_str_cmp(a->id, b->id);
}

/* Rows (pointers) newest first. */
static int cmp_newest(const void *pa, const void *pb)
{
    return cmp_summary(&(*(sess_row *const *)pa)->s, &(*(sess_row *const *)pb)->s);
}

/* 1 when row passes f's user and service filters, and is one of only (NULL: any). */
static int sess_wanted(const sess_row *row, const osp_sessions_filter *f, const osp_intern *only)
{
    uint32_t id;
    if (only && !osp_intern_find(only, row->s.id, &id))
        return 0;
    if (f->user.n && !osp_str_eq(row->s.user, f->user))
        return 0;
    for (size_t i = 0; f->service.n && i < row->nsvc; i++)
        if (osp_str_eq(row->svc[i], f->service))
            return 1;
    return !f->service.n;
}

/* The wanted rows, newest first, at most f's limit: summaries with their strings copied
 * into arena. */
static int sess_out(keyed *rows, const osp_sessions_filter *f, const osp_intern *only,
                    osp_arena *arena, osp_session_summary **out, size_t *n)
{
    sess_row **w = rows->n ? osp_malloc(rows->n * sizeof *w) : NULL;
    size_t k = 0, limit = f->limit ? f->limit : DEFAULT_LIMIT;
    if (rows->n && !w)
        return OSP_ENOMEM;
    for (size_t i = 0; i < rows->n; i++) {
        sess_row *row = (sess_row *)(rows->rows + i * rows->elem);
        if (sess_wanted(row, f, only))
            w[k++] = row;
    }
    sort_n(w, k, sizeof *w, cmp_newest);
    k = k < limit ? k : limit;
    osp_session_summary *s = k ? osp_arena_alloc(arena, k * sizeof *s) : NULL;
    int rc = k && !s ? OSP_ENOMEM : 0;
    for (size_t i = 0; rc == 0 && i < k; i++) {
        sess_row *row = w[i];
        sort_n(row->svc, row->nsvc, sizeof *row->svc, cmp_str);
        s[i] = row->s;
        s[i].nservices = row->nsvc;
        s[i].services = row->nsvc ? osp_arena_alloc(arena, row->nsvc * sizeof *row->svc) : NULL;
        rc = row->nsvc && !s[i].services ? OSP_ENOMEM : 0;
        for (size_t j = 0; rc == 0 && j < row->nsvc; j++) {
            s[i].services[j] = row->svc[j];
            rc = keep_str(arena, &s[i].services[j]);
        }
        if (rc == 0)
            rc = keep_str(arena, &s[i].id);
        if (rc == 0)
            rc = keep_str(arena, &s[i].user);
    }
    osp_free(w);
    *out = rc ? NULL : s;
    *n = rc ? 0 : k;
    return rc;
}

typedef struct sess_list {
    const osp_sessions_filter *f;
    const osp_intern *only; /* NULL, or the sessions to answer for */
    pricer prices;
    osp_arena *arena;
    keyed rows;
    seen in_trace; /* sessions of the trace at hand */
    osp_session_summary **out;
    size_t *n;
} sess_list;

static int sess_list_add(void *self, const analysis *an)
{
    sess_list *l = self;
    int rc = 0;
    l->in_trace.n = 0;
    for (size_t i = 0; rc == 0 && i < an->n; i++)
        if (an->r[i].session.n && in_window(&l->f->w, an->c[i]))
            rc = sess_add(an, i, &l->prices, &l->rows, &l->in_trace);
    return rc;
}

static int sess_list_end(void *self)
{
    sess_list *l = self;
    return sess_out(&l->rows, l->f, l->only, l->arena, l->out, l->n);
}

/* The sessions of src that f and only want, newest first, at most f's limit. */
static int sessions_of(const osp_aicall_source *src, const osp_sessions_filter *f,
                       const osp_intern *only, const osp_price_table *prices, osp_arena *arena,
                       osp_session_summary **out, size_t *n)
{
    sess_list l = {.f = f, .only = only, .arena = arena, .out = out, .n = n};
    consumer c = {sess_list_add, sess_list_end, &l, RESOLVE_ALL, 0};
    pricer_init(&l.prices, prices);
    keyed_init(&l.rows, sizeof(sess_row));
    *out = NULL;
    *n = 0;
    int rc = run(src, &c, arena);
    for (size_t i = 0; i < l.rows.n; i++)
        osp_free(((sess_row *)(l.rows.rows + i * l.rows.elem))->svc);
    keyed_cleanup(&l.rows);
    osp_free(l.in_trace.v);
    if (rc) {
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- newest first, from candidates ---- */

/* What a newest-first list answered from candidates (newest) needs of its rows. */
typedef struct newest_list {
    enum osp_aicall_key key; /* sessions or users */
    size_t limit, elem;      /* rows wanted; the size of one */
    uint64_t (*last_of)(const void *row);
    int (*cmp)(const void *a, const void *b); /* newest first */
    /* Every row of src's records that is one of only, in arena. */
    int (*rows_of)(void *ctx, const osp_aicall_source *src, const osp_intern *only,
                   osp_arena *arena, void **rows, size_t *n);
    void *ctx;
} newest_list;

static int cmp_bound(const void *pa, const void *pb)
{
    const osp_aicall_bound *a = pa, *b = pb;
    if (a->last_ns != b->last_ns)
        return a->last_ns > b->last_ns ? -1 : 1;
    return osp_str_cmp(a->id, b->id);
}

/* The rows of candidates b[0..m): those of the traces that name them (src's window). */
static int newest_chunk(const osp_aicall_source *src, const newest_list *l,
                        const osp_aicall_bound *b, size_t m, osp_arena *arena, void **rows,
                        size_t *n)
{
    osp_str *ids = osp_arena_alloc(arena, m * sizeof *ids);
    osp_intern only;
    int rc = ids ? 0 : OSP_ENOMEM;
    osp_intern_init(&only, 0);
    for (size_t i = 0; rc == 0 && i < m; i++) {
        uint32_t id;
        ids[i] = b[i].id;
        rc = osp_intern_add(&only, ids[i], &id);
    }
    osp_aicall_query q = {.start_ns = src->q->start_ns, .end_ns = src->q->end_ns};
    if (l->key == OSP_AICALL_USERS) {
        q.users = ids;
        q.nusers = m;
    } else {
        q.sessions = ids;
        q.nsessions = m;
    }
    osp_aicall_source chunk = {.store = src->store, .q = &q};
    if (rc == 0)
        rc = l->rows_of(l->ctx, &chunk, &only, arena, rows, n);
    osp_intern_cleanup(&only);
    return rc;
}

/* The newest l->limit rows (by last_ns, their records' latest end) of a store, reading only
 * the traces of the ids that may be among them: candidates in order of their bound
 * (osp_store_aicall_bounds), a chunk at a time, until the rows known are all newer than the
 * next candidate's bound. Exact: no row ends after its candidate's bound. Rows in arena. */
static int newest(const osp_aicall_source *src, const newest_list *l, osp_arena *arena, void **out,
                  size_t *n)
{
    osp_aicall_bound *b;
    size_t nb, chunk = 2 * l->limit, nbest = 0;
    char *best = NULL;
    int rc = osp_store_aicall_bounds(src->store, l->key, src->q->start_ns, src->q->end_ns, arena,
                                     &b, &nb);
    sort_n(b, rc ? 0 : nb, sizeof *b, cmp_bound);
    for (size_t at = 0; rc == 0 && at < nb;) {
        size_t m = nb - at < chunk ? nb - at : chunk, got = 0;
        void *rows = NULL;
        char *merged = NULL;
        rc = newest_chunk(src, l, b + at, m, arena, &rows, &got);
        if (rc == 0 && !(merged = osp_arena_alloc(arena, (nbest + got + 1) * l->elem)))
            rc = OSP_ENOMEM;
        if (rc)
            break;
        if (nbest)
            memcpy(merged, best, nbest * l->elem);
        if (got)
            memcpy(merged + nbest * l->elem, rows, got * l->elem);
        sort_n(merged, nbest + got, l->elem, l->cmp);
        best = merged;
        nbest = nbest + got < l->limit ? nbest + got : l->limit;
        at += m;
        if (nbest == l->limit &&
            (at == nb || l->last_of(best + (nbest - 1) * l->elem) > b[at].last_ns))
            break;
    }
    *out = rc ? NULL : best;
    *n = rc ? 0 : nbest;
    return rc;
}

/* ---- the sessions list ---- */

static uint64_t summary_last(const void *row)
{
    return ((const osp_session_summary *)row)->last_ns;
}

typedef struct sessions_ctx {
    const osp_sessions_filter *all; /* the filter, without a limit */
    const osp_price_table *prices;
} sessions_ctx;

static int session_rows(void *ctx, const osp_aicall_source *src, const osp_intern *only,
                        osp_arena *arena, void **rows, size_t *n)
{
    sessions_ctx *c = ctx;
    return sessions_of(src, c->all, only, c->prices, arena, (osp_session_summary **)rows, n);
}

int osp_sessions_list(const osp_aicall_source *src, const osp_sessions_filter *f,
                      const osp_price_table *prices, osp_arena *arena, osp_session_summary **out,
                      size_t *n)
{
    /* A user's sessions come from that user's traces; the newest of all from candidates. */
    if (src->set || f->user.n || src->q->user.n)
        return sessions_of(src, f, NULL, prices, arena, out, n);
    osp_sessions_filter all = *f;
    all.limit = SIZE_MAX;
    sessions_ctx c = {&all, prices};
    newest_list l = {OSP_AICALL_SESSIONS,
                     f->limit ? f->limit : DEFAULT_LIMIT,
                     sizeof **out,
                     summary_last,
                     cmp_summary,
                     session_rows,
                     &c};
    return newest(src, &l, arena, (void **)out, n);
}

/* ---- one session's turns ---- */

/* Counts record a of the turn t of root record root into t. */
static void turn_add(osp_session_turn *t, const osp_aicall *a, const osp_aicall *root,
                     pricer *prices)
{
    t->errors += a->is_error;
    if (!is_model_call(a))
        return;
    if (!t->llm_calls++) {
        t->model = model_of(a);
        t->ttft_ns = a->ttft_ns;
        if (!t->input.n)
            t->input = a->input_text;
    }
    if (a->output_text.n && !root->output_text.n)
        t->output = a->output_text;
    t->input_tokens += known(a->input_tokens);
    t->output_tokens += known(a->output_tokens);
    t->cache_read_tokens += known(a->cache_read_tokens);
    t->cost += cost_of(prices, a);
}

static int cmp_turn(const void *pa, const void *pb)
{
    const osp_session_turn *a = pa, *b = pb;
    if (a->start_ns != b->start_ns)
        return a->start_ns < b->start_ns ? -1 : 1;
    return memcmp(a->trace_id, b->trace_id, 16);
}

/* The turns of session id: one per root record of it (turn_of[i] its turn or -1). A
 * session whose records hold no AI span (ids on plain spans only) has none; one with no
 * record is not found. */
static int make_turns(const analysis *an, osp_str id, osp_arena *arena, int32_t *turn_of,
                      osp_session_detail *out)
{
    size_t nturns = 0, nrecords = 0;
    for (size_t i = 0; i < an->n; i++) {
        int in_session = osp_str_eq(an->r[i].session, id);
        nrecords += in_session;
        nturns += in_session && an->r[i].root == (int32_t)i;
    }
    if (!nrecords)
        return OSP_ENOTFOUND;
    out->turns = osp_arena_calloc(arena, nturns + 1, sizeof *out->turns);
    if (!out->turns)
        return OSP_ENOMEM;
    for (size_t i = 0; i < an->n; i++) {
        turn_of[i] = -1;
        if (!osp_str_eq(an->r[i].session, id))
            continue;
        if (!out->user.n)
            out->user = an->r[i].user;
        if (an->r[i].root != (int32_t)i)
            continue;
        const osp_aicall *a = an->c[i];
        osp_session_turn *t = &out->turns[out->nturns];
        turn_of[i] = (int32_t)out->nturns++;
        memcpy(t->trace_id, a->trace_id, 16);
        t->start_ns = a->start_ns;
        t->end_ns = a->end_ns;
        t->ttft_ns = -1;
        t->input = a->input_text;
        t->output = a->output_text;
    }
    return 0;
}

/* The tool calls of each turn, in record order. */
static int fill_tools(const analysis *an, const int32_t *turn_of, osp_arena *arena,
                      osp_session_detail *out)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < an->n; i++) {
            int32_t root = an->r[i].root;
            if (root < 0 || turn_of[root] < 0 || an->c[i]->type != OSP_GENAI_TOOL)
                continue;
            osp_session_turn *t = &out->turns[turn_of[root]];
            if (pass == 1) {
                const osp_aicall *a = an->c[i];
                t->tools[t->ntools++] =
                    (osp_session_tool){a->tool_name.n ? a->tool_name : a->name, a->is_error};
            } else {
                t->ntools++;
            }
        }
        for (size_t k = 0; pass == 0 && k < out->nturns; k++) {
            osp_session_turn *t = &out->turns[k];
            if (t->ntools && !(t->tools = osp_arena_alloc(arena, t->ntools * sizeof *t->tools)))
                return OSP_ENOMEM;
            t->ntools = 0;
        }
    }
    return 0;
}

int osp_session_get(const osp_aicall_set *set, osp_str id, const osp_price_table *prices,
                    osp_arena *arena, osp_session_detail *out)
{
    analysis an;
    pricer pr;
    pricer_init(&pr, prices);
    memset(out, 0, sizeof *out);
    out->id = id;
    int rc = resolve(set, arena, &an);
    int32_t *turn_of = an.n ? osp_malloc(an.n * sizeof *turn_of) : NULL;
    if (rc == 0 && an.n && !turn_of)
        rc = OSP_ENOMEM;
    if (rc == 0)
        rc = make_turns(&an, id, arena, turn_of, out);
    for (size_t i = 0; rc == 0 && i < an.n; i++) {
        int32_t root = an.r[i].root;
        if (root >= 0 && turn_of[root] >= 0)
            turn_add(&out->turns[turn_of[root]], an.c[i], an.c[root], &pr);
    }
    if (rc == 0)
        rc = fill_tools(&an, turn_of, arena, out);
    if (rc == 0)
        sort_n(out->turns, out->nturns, sizeof *out->turns, cmp_turn);
    osp_free(turn_of);
    return rc;
}

/* ---- users ---- */

/* Counts record i into its user's row; in_trace: the users its trace counted so far,
 * sessions: the distinct (user, session) pairs. */
static int user_add(const analysis *an, size_t i, pricer *prices, keyed *rows, seen *in_trace,
                    keyed *sessions)
{
    const osp_aicall *a = an->c[i];
    const resolved *r = &an->r[i];
    int fresh, first_session = 0;
    osp_user_usage *u = keyed_get(rows, r->user, osp_str_make("", 0), &fresh);
    int first_trace = seen_first(in_trace, r->user);
    if (r->session.n)
        first_session = keyed_first(sessions, r->user, r->session);
    if (!u || first_trace < 0 || first_session < 0)
        return OSP_ENOMEM;
    u->id = r->user;
    u->traces += (uint64_t)first_trace;
    u->sessions += (uint64_t)first_session;
    u->errors += is_ai(a) && a->is_error;
    if (is_model_call(a)) {
        u->llm_calls++;
        u->input_tokens += known(a->input_tokens);
        u->output_tokens += known(a->output_tokens);
        u->cost += cost_of(prices, a);
    }
    widen(&u->first_ns, &u->last_ns, a);
    return 0;
}

/* Newest (latest lastSeen) first. */
static int cmp_user(const void *pa, const void *pb)
{
    const osp_user_usage *a = pa, *b = pb;
    if (a->last_ns != b->last_ns)
        return a->last_ns > b->last_ns ? -1 : 1;
    return osp_str_cmp(a->id, b->id);
}

static uint64_t user_last(const void *row)
{
    return ((const osp_user_usage *)row)->last_ns;
}

typedef struct users {
    const osp_sessions_window *w;
    const osp_intern *only; /* NULL, or the users to answer for */
    pricer prices;
    osp_arena *arena;
    keyed rows, sessions; /* sessions: distinct (user, session) */
    seen in_trace;        /* users of the trace at hand */
    osp_user_usage **out;
    size_t *n;
} users;

static int users_add(void *self, const analysis *an)
{
    users *u = self;
    int rc = 0;
    u->in_trace.n = 0;
    for (size_t i = 0; rc == 0 && i < an->n; i++)
        if (an->r[i].user.n && in_window(u->w, an->c[i]))
            rc = user_add(an, i, &u->prices, &u->rows, &u->in_trace, &u->sessions);
    return rc;
}

static int users_end(void *self)
{
    users *u = self;
    osp_user_usage *out = u->rows.n ? osp_arena_alloc(u->arena, u->rows.n * sizeof *out) : NULL;
    int rc = u->rows.n && !out ? OSP_ENOMEM : 0;
    size_t k = 0;
    for (size_t i = 0; rc == 0 && i < u->rows.n; i++) {
        const osp_user_usage *row = (const osp_user_usage *)(u->rows.rows + i * u->rows.elem);
        uint32_t id;
        if (u->only && !osp_intern_find(u->only, row->id, &id))
            continue;
        out[k] = *row;
        rc = keep_str(u->arena, &out[k++].id);
    }
    if (rc == 0) {
        sort_n(out, k, sizeof *out, cmp_user);
        *u->out = out;
        *u->n = k;
    }
    return rc;
}

/* Every user of src's records (one of only, when not NULL), newest first. */
static int users_of(const osp_aicall_source *src, const osp_sessions_window *w,
                    const osp_intern *only, const osp_price_table *prices, osp_arena *arena,
                    osp_user_usage **out, size_t *n)
{
    users u = {.w = w, .only = only, .arena = arena, .out = out, .n = n};
    consumer c = {users_add, users_end, &u, RESOLVE_ALL, 0};
    pricer_init(&u.prices, prices);
    keyed_init(&u.rows, sizeof(osp_user_usage));
    keyed_init(&u.sessions, 1);
    *out = NULL;
    *n = 0;
    int rc = run(src, &c, arena);
    keyed_cleanup(&u.rows);
    keyed_cleanup(&u.sessions);
    osp_free(u.in_trace.v);
    if (rc) {
        *out = NULL;
        *n = 0;
    }
    return rc;
}

typedef struct users_ctx {
    const osp_sessions_window *w;
    const osp_price_table *prices;
} users_ctx;

static int user_rows(void *ctx, const osp_aicall_source *src, const osp_intern *only,
                     osp_arena *arena, void **rows, size_t *n)
{
    users_ctx *c = ctx;
    return users_of(src, c->w, only, c->prices, arena, (osp_user_usage **)rows, n);
}

int osp_users_list(const osp_aicall_source *src, const osp_sessions_window *w, size_t limit,
                   const osp_price_table *prices, osp_arena *arena, osp_user_usage **out, size_t *n)
{
    limit = limit ? limit : DEFAULT_LIMIT;
    if (!src->set) {
        users_ctx c = {w, prices};
        newest_list l = {OSP_AICALL_USERS, limit, sizeof **out, user_last, cmp_user, user_rows, &c};
        return newest(src, &l, arena, (void **)out, n);
    }
    int rc = users_of(src, w, NULL, prices, arena, out, n);
    *n = *n < limit ? *n : limit;
    return rc;
}

/* ---- LLM usage by user ---- */

static int cmp_usage(const void *pa, const void *pb)
{
    return osp_str_cmp(((const osp_golden_usage *)pa)->key, ((const osp_golden_usage *)pb)->key);
}

/* Numbers, growing (osp_malloc). */
typedef struct values {
    double *v;
    size_t n, cap;
} values;

static int values_add(values *v, double x)
{
    double *slot = osp_array_push((void **)&v->v, &v->n, &v->cap, sizeof *slot);
    if (slot)
        *slot = x;
    return slot ? 0 : OSP_ENOMEM;
}

/* One user's figures and the values its quantiles come from. */
typedef struct usage_row {
    osp_golden_usage u;
    values latency, ttft, tpot;
} usage_row;

typedef struct usage {
    const osp_sessions_window *w;
    pricer prices;
    osp_arena *arena;
    keyed rows;
    osp_golden_usage **out;
    size_t *n;
} usage;

static int usage_add(void *self, const analysis *an)
{
    usage *g = self;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < an->n; i++) {
        const osp_aicall *a = an->c[i];
        int fresh;
        if (!an->r[i].user.n || !is_model_call(a) || !in_window(g->w, a))
            continue;
        usage_row *row = keyed_get(&g->rows, an->r[i].user, osp_str_make("", 0), &fresh);
        if (!row)
            return OSP_ENOMEM;
        osp_golden_usage *u = &row->u;
        u->key = an->r[i].user;
        u->calls++;
        u->errors += a->is_error;
        u->input_tokens += (double)known(a->input_tokens);
        u->output_tokens += (double)known(a->output_tokens);
        u->cache_read_tokens += (double)known(a->cache_read_tokens);
        u->cache_write_tokens += (double)known(a->cache_write_tokens);
        u->cost += cost_of(&g->prices, a);
        rc = values_add(&row->latency, (double)(a->end_ns - a->start_ns) / 1e9);
        if (rc == 0 && a->ttft_ns >= 0)
            rc = values_add(&row->ttft, (double)a->ttft_ns / 1e9);
        if (rc == 0 && a->tpot_ns >= 0)
            rc = values_add(&row->tpot, (double)a->tpot_ns / 1e9);
    }
    return rc;
}

static int usage_end(void *self)
{
    usage *g = self;
    osp_golden_usage *out = g->rows.n ? osp_arena_calloc(g->arena, g->rows.n, sizeof *out) : NULL;
    int rc = g->rows.n && !out ? OSP_ENOMEM : 0;
    for (size_t i = 0; rc == 0 && i < g->rows.n; i++) {
        usage_row *row = (usage_row *)(g->rows.rows + i * g->rows.elem);
        osp_golden_usage *u = &out[i];
        *u = row->u;
        u->latency_p50 = quantile(row->latency.v, row->latency.n, 0.5);
        u->latency_p95 = quantile(row->latency.v, row->latency.n, 0.95);
        u->streaming_share = (double)row->ttft.n / (double)row->latency.n;
        u->ttft_p50 = quantile(row->ttft.v, row->ttft.n, 0.5);
        u->ttft_p95 = quantile(row->ttft.v, row->ttft.n, 0.95);
        u->tpot_p50 = quantile(row->tpot.v, row->tpot.n, 0.5);
        u->tpot_p95 = quantile(row->tpot.v, row->tpot.n, 0.95);
        rc = keep_str(g->arena, &u->key);
    }
    if (rc == 0) {
        sort_n(out, g->rows.n, sizeof *out, cmp_usage);
        *g->out = out;
        *g->n = g->rows.n;
    }
    return rc;
}

int osp_sessions_usage_by_user(const osp_aicall_source *src, const osp_sessions_window *w,
                               const osp_price_table *prices, osp_arena *arena,
                               osp_golden_usage **out, size_t *n)
{
    usage g = {.w = w, .arena = arena, .out = out, .n = n};
    consumer c = {usage_add, usage_end, &g, RESOLVE_ALL, 1};
    pricer_init(&g.prices, prices);
    keyed_init(&g.rows, sizeof(usage_row));
    *out = NULL;
    *n = 0;
    int rc = run(src, &c, arena);
    for (size_t i = 0; i < g.rows.n; i++) {
        usage_row *row = (usage_row *)(g.rows.rows + i * g.rows.elem);
        osp_free(row->latency.v);
        osp_free(row->ttft.v);
        osp_free(row->tpot.v);
    }
    keyed_cleanup(&g.rows);
    if (rc) {
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- agents ---- */

const char *osp_agent_role_name(int role)
{
    static const char *const names[OSP_ROLE_COUNT] = {"user", "agent", "tool"};
    return role >= 0 && role < OSP_ROLE_COUNT ? names[role] : "";
}

/* An LLM or tool call inside an agent run. */
typedef struct run_item {
    uint32_t run, rec;
} run_item;

typedef struct item_list {
    run_item *v;
    size_t n, cap;
} item_list;

/* The run's role of a record: agent (an LLM call), tool, or -1 (not a step). */
static int role_of(const osp_aicall *a)
{
    return a->type == OSP_GENAI_LLM    ? OSP_ROLE_AGENT
           : a->type == OSP_GENAI_TOOL ? OSP_ROLE_TOOL
                                       : -1;
}

static osp_str agent_key(const osp_aicall *a)
{
    return a->agent_name.n ? a->agent_name : a->name;
}

/* For every step record, an item per agent run above it that starts within w. */
static int collect_steps(const analysis *an, const osp_sessions_window *w, item_list *l)
{
    for (size_t j = 0; j < an->n; j++) {
        if (role_of(an->c[j]) < 0)
            continue;
        int32_t p = an->r[j].parent;
        for (int depth = 0; p >= 0 && depth < MAX_DEPTH; depth++, p = an->r[p].parent) {
            const osp_aicall *a = an->c[p];
            if (a->type != OSP_GENAI_AGENT || !in_window(w, a))
                continue;
            run_item *it = osp_array_push((void **)&l->v, &l->n, &l->cap, sizeof *it);
            if (!it)
                return OSP_ENOMEM;
            *it = (run_item){(uint32_t)p, (uint32_t)j};
        }
    }
    return 0;
}

static int cmp_item(const void *pa, const void *pb, void *ctx)
{
    const analysis *an = ctx;
    const run_item *a = pa, *b = pb;
    if (a->run != b->run)
        return a->run < b->run ? -1 : 1;
    uint64_t sa = an->c[a->rec]->start_ns, sb = an->c[b->rec]->start_ns;
    if (sa != sb)
        return sa < sb ? -1 : 1;
    return a->rec < b->rec ? -1 : a->rec > b->rec;
}

/* A tool of an agent, with its call durations. */
typedef struct tool_row {
    osp_agent_tool t;
    uint32_t agent; /* row of the agent */
    values ms;
} tool_row;

/* Counts the steps its[0..n) of one run into agent row ag (row id agid) and tools. */
static int run_add(const analysis *an, const run_item *its, size_t n, osp_agent_stats *ag,
                   uint32_t agid, keyed *tools)
{
    int prev = OSP_ROLE_USER;
    for (size_t k = 0; k < n; k++) {
        const osp_aicall *a = an->c[its[k].rec];
        int role = role_of(a) == OSP_ROLE_TOOL ? OSP_ROLE_TOOL : OSP_ROLE_AGENT, fresh;
        ag->transitions[prev][role]++;
        prev = role;
        if (role == OSP_ROLE_AGENT) {
            ag->llm_calls++;
            continue;
        }
        osp_str name = a->tool_name.n ? a->tool_name : a->name;
        tool_row *t = keyed_get(tools, ag->name, name, &fresh);
        if (!t || values_add(&t->ms, (double)(a->end_ns - a->start_ns) / NS_PER_MS))
            return OSP_ENOMEM;
        t->t.name = name;
        t->agent = agid;
        t->t.calls++;
        t->t.errors += a->is_error;
    }
    ag->transitions[prev][OSP_ROLE_USER] += n > 0;
    return 0;
}

static int cmp_tool(const void *pa, const void *pb)
{
    return osp_str_cmp(((const osp_agent_tool *)pa)->name, ((const osp_agent_tool *)pb)->name);
}

static int cmp_agent(const void *pa, const void *pb)
{
    return osp_str_cmp(((const osp_agent_stats *)pa)->name, ((const osp_agent_stats *)pb)->name);
}

/* Hands every tool row to its agent's array (in arena), with its p95. */
static int tools_out(keyed *tools, osp_agent_stats *ag, size_t nag, osp_arena *arena)
{
    tool_row *rows = (tool_row *)tools->rows;
    for (size_t i = 0; i < tools->n; i++)
        ag[rows[i].agent].ntools++;
    for (size_t a = 0; a < nag; a++) {
        if (ag[a].ntools &&
            !(ag[a].tools = osp_arena_alloc(arena, ag[a].ntools * sizeof(osp_agent_tool))))
            return OSP_ENOMEM;
        ag[a].ntools = 0;
    }
    for (size_t i = 0; i < tools->n; i++) {
        rows[i].t.p95_ms = quantile(rows[i].ms.v, rows[i].ms.n, 0.95);
        osp_agent_stats *s = &ag[rows[i].agent];
        s->tools[s->ntools++] = rows[i].t;
    }
    for (size_t a = 0; a < nag; a++)
        sort_n(ag[a].tools, ag[a].ntools, sizeof *ag[a].tools, cmp_tool);
    return 0;
}

/* Every run's figures into the agent rows and tools. */
static int agents_add(const analysis *an, const osp_sessions_window *w, const item_list *l,
                      keyed *rows, keyed *tools)
{
    size_t k = 0;
    for (size_t i = 0; i < an->n; i++) {
        const osp_aicall *a = an->c[i];
        if (a->type != OSP_GENAI_AGENT || !in_window(w, a))
            continue;
        int fresh;
        osp_agent_stats *ag = keyed_get(rows, agent_key(a), osp_str_make("", 0), &fresh);
        if (!ag)
            return OSP_ENOMEM;
        uint32_t agid = (uint32_t)(((char *)ag - rows->rows) / rows->elem);
        ag->name = agent_key(a);
        ag->runs++;
        ag->errors += a->is_error;
        while (k < l->n && l->v[k].run < i)
            k++;
        size_t from = k;
        while (k < l->n && l->v[k].run == i)
            k++;
        int rc = run_add(an, l->v + from, k - from, ag, agid, tools);
        if (rc)
            return rc;
    }
    return 0;
}

typedef struct agents {
    const osp_sessions_window *w;
    osp_arena *arena;
    item_list steps; /* of the trace at hand */
    keyed rows, tools;
    osp_agent_stats **out;
    size_t *n;
} agents;

static int agents_trace(void *self, const analysis *an)
{
    agents *g = self;
    g->steps.n = 0;
    int rc = collect_steps(an, g->w, &g->steps);
    if (rc == 0 && g->steps.n > 1)
        qsort_r(g->steps.v, g->steps.n, sizeof *g->steps.v, cmp_item, (void *)an);
    return rc ? rc : agents_add(an, g->w, &g->steps, &g->rows, &g->tools);
}

static int agents_end(void *self)
{
    agents *g = self;
    int rc = keyed_out(&g->rows, g->arena, (void **)g->out, g->n);
    if (rc == 0)
        rc = tools_out(&g->tools, *g->out, *g->n, g->arena);
    for (size_t i = 0; rc == 0 && i < *g->n; i++) {
        osp_agent_stats *a = &(*g->out)[i];
        a->llm_calls_per_run = (double)a->llm_calls / (double)a->runs;
        rc = keep_str(g->arena, &a->name);
        for (size_t t = 0; rc == 0 && t < a->ntools; t++)
            rc = keep_str(g->arena, &a->tools[t].name);
    }
    if (rc == 0)
        sort_n(*g->out, *g->n, sizeof **g->out, cmp_agent);
    return rc;
}

int osp_agents_list(const osp_aicall_source *src, const osp_sessions_window *w, osp_arena *arena,
                    osp_agent_stats **out, size_t *n)
{
    agents g = {.w = w, .arena = arena, .out = out, .n = n};
    consumer c = {agents_trace, agents_end, &g, RESOLVE_PARENTS, 0};
    keyed_init(&g.rows, sizeof(osp_agent_stats));
    keyed_init(&g.tools, sizeof(tool_row));
    *out = NULL;
    *n = 0;
    int rc = run(src, &c, arena);
    for (size_t i = 0; i < g.tools.n; i++)
        osp_free(((tool_row *)g.tools.rows)[i].ms.v);
    keyed_cleanup(&g.rows);
    keyed_cleanup(&g.tools);
    osp_free(g.steps.v);
    if (rc) {
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- streaming quality ---- */

static int cmp_streaming(const void *pa, const void *pb)
{
    const osp_streaming_stats *a = pa, *b = pb;
    int d = osp_str_cmp(a->provider, b->provider);
    return d ? d : osp_str_cmp(a->model, b->model);
}

typedef struct streaming {
    const osp_sessions_window *w;
    int64_t stall_ns;
    osp_arena *arena;
    keyed rows;
    osp_streaming_stats **out;
    size_t *n;
} streaming;

static int streaming_add(void *self, const analysis *an)
{
    streaming *g = self;
    for (size_t i = 0; i < an->n; i++) {
        const osp_aicall *a = an->c[i];
        int fresh;
        if (a->type != OSP_GENAI_LLM || a->streaming != 1 || !in_window(g->w, a))
            continue;
        osp_streaming_stats *s = keyed_get(&g->rows, a->provider, model_of(a), &fresh);
        if (!s)
            return OSP_ENOMEM;
        if (fresh)
            *s = (osp_streaming_stats){
                .provider = a->provider, .model = model_of(a), .max_gap_ns = -1};
        s->streamed++;
        s->failed_after_first_token += a->is_error && a->ttft_ns >= 0;
        s->stalls += a->max_gap_ns > g->stall_ns;
        s->max_gap_ns = a->max_gap_ns > s->max_gap_ns ? a->max_gap_ns : s->max_gap_ns;
    }
    return 0;
}

static int streaming_end(void *self)
{
    streaming *g = self;
    int rc = keyed_out(&g->rows, g->arena, (void **)g->out, g->n);
    for (size_t i = 0; rc == 0 && i < *g->n; i++) {
        osp_streaming_stats *s = &(*g->out)[i];
        s->failed_share = (double)s->failed_after_first_token / (double)s->streamed;
        rc = keep_str(g->arena, &s->provider);
        if (rc == 0)
            rc = keep_str(g->arena, &s->model);
    }
    if (rc == 0)
        sort_n(*g->out, *g->n, sizeof **g->out, cmp_streaming);
    return rc;
}

int osp_streaming_list(const osp_aicall_source *src, const osp_sessions_window *w, int64_t stall_ns,
                       osp_arena *arena, osp_streaming_stats **out, size_t *n)
{
    streaming g = {.w = w, .stall_ns = stall_ns, .arena = arena, .out = out, .n = n};
    consumer c = {streaming_add, streaming_end, &g, RESOLVE_NONE, 1};
    keyed_init(&g.rows, sizeof(osp_streaming_stats));
    *out = NULL;
    *n = 0;
    int rc = run(src, &c, arena);
    keyed_cleanup(&g.rows);
    if (rc) {
        *out = NULL;
        *n = 0;
    }
    return rc;
}
