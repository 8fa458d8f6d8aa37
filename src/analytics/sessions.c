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

/* ---- resolution ---- */

/* What a record resolves to. */
typedef struct resolved {
    osp_str session, user;
    int32_t parent; /* the parent's record index, -1 when not recorded */
    int32_t root;   /* the turn it belongs to (a record index), -1 outside any */
} resolved;

typedef struct analysis {
    const osp_aicall *c;
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

static int cmp_span_id(const void *pa, const void *pb, void *ctx)
{
    const osp_aicall *c = ctx;
    return memcmp(c[*(const uint32_t *)pa].span_id, c[*(const uint32_t *)pb].span_id, 8);
}

/* The record of trace slice ids[0..n) (sorted by span id) with span id, or -1. */
static int32_t find_span(const osp_aicall *c, const uint32_t *ids, size_t n, const uint8_t id[8])
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = memcmp(c[ids[mid]].span_id, id, 8);
        if (d == 0)
            return (int32_t)ids[mid];
        if (d < 0)
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
static int32_t container_of(const osp_aicall *c, size_t from, size_t to, size_t i)
{
    int32_t best = -1;
    for (size_t k = from; k < to; k++) {
        if (k == i || c[k].start_ns > c[i].start_ns || c[k].end_ns < c[i].end_ns ||
            (c[k].start_ns == c[i].start_ns && c[k].end_ns == c[i].end_ns))
            continue;
        /* a later start, or the same start and an earlier end, is further in */
        if (best < 0 || c[k].start_ns > c[best].start_ns ||
            (c[k].start_ns == c[best].start_ns && c[k].end_ns < c[best].end_ns))
            best = (int32_t)k;
    }
    return best;
}

/* Resolves node from its parent p (already resolved, or -1) and the trace's ids. */
static void resolve_one(analysis *an, int32_t node, int32_t p, osp_str tsession, osp_str tuser)
{
    const osp_aicall *a = &an->c[node];
    resolved *r = &an->r[node];
    r->session = a->session_id.n ? a->session_id : p >= 0 ? an->r[p].session : tsession;
    r->user = a->user_id.n ? a->user_id : p >= 0 ? an->r[p].user : tuser;
    r->root = p >= 0 ? an->r[p].root : -1;
    if (r->root < 0 && is_ai(a))
        r->root = node;
}

/* Resolves the records of one trace, c[from..to), ids a scratch array of to - from. */
static void resolve_trace(analysis *an, size_t from, size_t to, uint32_t *ids, uint8_t *done)
{
    osp_str tsession = {0}, tuser = {0};
    int32_t path[MAX_DEPTH];
    for (size_t i = from; i < to; i++) {
        ids[i - from] = (uint32_t)i;
        if (!tsession.n)
            tsession = an->c[i].session_id;
        if (!tuser.n)
            tuser = an->c[i].user_id;
    }
    if (to - from > 1)
        qsort_r(ids, to - from, sizeof *ids, cmp_span_id, (void *)an->c);
    for (size_t i = from; i < to; i++) {
        const osp_aicall *a = &an->c[i];
        int32_t p = find_span(an->c, ids, to - from, a->parent_span_id);
        an->r[i].parent = p == (int32_t)i ? -1 : p;
    }
    for (size_t i = from; i < to; i++)
        if (an->r[i].parent < 0 && !is_root_span(&an->c[i]))
            an->r[i].parent = container_of(an->c, from, to, i);
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
    an->c = set->calls;
    an->n = set->n;
    an->r = set->n ? osp_arena_calloc(arena, set->n, sizeof *an->r) : NULL;
    uint32_t *ids = set->n ? osp_malloc(set->n * sizeof *ids) : NULL;
    uint8_t *done = set->n ? osp_calloc(set->n, 1) : NULL;
    int rc = set->n && (!an->r || !ids || !done) ? OSP_ENOMEM : 0;
    for (size_t from = 0, to; rc == 0 && from < set->n; from = to) {
        for (to = from + 1; to < set->n && same_trace(&set->calls[to], &set->calls[from]); to++)
            ;
        resolve_trace(an, from, to, ids, done);
    }
    osp_free(ids);
    osp_free(done);
    return rc;
}

/* ---- keyed rows: aggregates by one or two strings ---- */

typedef struct keyed {
    osp_intern keys; /* copies of the keys; ids index rows */
    char *rows;
    size_t n, cap, elem;
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
    if (osp_intern_add(&k->keys, osp_str_make(key, na + 1 + nb), &id))
        return NULL;
    *fresh = id == k->n;
    if (*fresh) {
        void *row = osp_array_push((void **)&k->rows, &k->n, &k->cap, k->elem);
        if (!row)
            return NULL;
    }
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

/* ---- figures ---- */

static double cost_of(const osp_price_table *prices, const osp_aicall *a)
{
    osp_price p;
    if (!prices ||
        !osp_price_lookup(prices, a->provider, model_of(a), (int64_t)(a->start_ns / 1000000), &p))
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

static osp_str trace_key(const osp_aicall *a)
{
    return osp_str_make((const char *)a->trace_id, 16);
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

/* Counts record i into its session's row. */
static int sess_add(const analysis *an, size_t i, const osp_price_table *prices, keyed *rows,
                    keyed *pairs)
{
    const osp_aicall *a = &an->c[i];
    const resolved *r = &an->r[i];
    int fresh;
    sess_row *row = keyed_get(rows, r->session, osp_str_make("", 0), &fresh);
    int first_trace = keyed_first(pairs, r->session, trace_key(a));
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

static int cmp_newest(const void *pa, const void *pb)
{
    const osp_session_summary *a = pa, *b = pb;
    if (a->last_ns != b->last_ns)
        return a->last_ns > b->last_ns ? -1 : 1;
    return osp_str_cmp(a->id, b->id);
}

/* 1 when row passes f's user and service filters. */
static int sess_wanted(const sess_row *row, const osp_sessions_filter *f)
{
    if (f->user.n && !osp_str_eq(row->s.user, f->user))
        return 0;
    for (size_t i = 0; f->service.n && i < row->nsvc; i++)
        if (osp_str_eq(row->svc[i], f->service))
            return 1;
    return !f->service.n;
}

/* The wanted rows' summaries, services copied into arena. */
static int sess_out(keyed *rows, const osp_sessions_filter *f, osp_arena *arena,
                    osp_session_summary **out, size_t *n)
{
    osp_session_summary *s = rows->n ? osp_arena_alloc(arena, rows->n * sizeof *s) : NULL;
    size_t k = 0;
    if (rows->n && !s)
        return OSP_ENOMEM;
    for (size_t i = 0; i < rows->n; i++) {
        sess_row *row = (sess_row *)(rows->rows + i * rows->elem);
        if (!sess_wanted(row, f))
            continue;
        sort_n(row->svc, row->nsvc, sizeof *row->svc, cmp_str);
        s[k] = row->s;
        s[k].nservices = row->nsvc;
        s[k].services =
            row->nsvc ? osp_arena_memdup(arena, row->svc, row->nsvc * sizeof *row->svc) : NULL;
        if (row->nsvc && !s[k].services)
            return OSP_ENOMEM;
        k++;
    }
    sort_n(s, k, sizeof *s, cmp_newest);
    size_t limit = f->limit ? f->limit : DEFAULT_LIMIT;
    *out = s;
    *n = k < limit ? k : limit;
    return 0;
}

int osp_sessions_list(const osp_aicall_set *set, const osp_sessions_filter *f,
                      const osp_price_table *prices, osp_arena *arena, osp_session_summary **out,
                      size_t *n)
{
    analysis an;
    keyed rows, pairs;
    keyed_init(&rows, sizeof(sess_row));
    keyed_init(&pairs, 1);
    *out = NULL;
    *n = 0;
    int rc = resolve(set, arena, &an);
    for (size_t i = 0; rc == 0 && i < an.n; i++)
        if (an.r[i].session.n && in_window(&f->w, &an.c[i]))
            rc = sess_add(&an, i, prices, &rows, &pairs);
    if (rc == 0)
        rc = sess_out(&rows, f, arena, out, n);
    for (size_t i = 0; i < rows.n; i++)
        osp_free(((sess_row *)(rows.rows + i * rows.elem))->svc);
    keyed_cleanup(&rows);
    keyed_cleanup(&pairs);
    return rc;
}

/* ---- one session's turns ---- */

/* Counts record a of the turn t of root record root into t. */
static void turn_add(osp_session_turn *t, const osp_aicall *a, const osp_aicall *root,
                     const osp_price_table *prices)
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
        const osp_aicall *a = &an->c[i];
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
            if (root < 0 || turn_of[root] < 0 || an->c[i].type != OSP_GENAI_TOOL)
                continue;
            osp_session_turn *t = &out->turns[turn_of[root]];
            if (pass == 1) {
                const osp_aicall *a = &an->c[i];
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
            turn_add(&out->turns[turn_of[root]], &an.c[i], &an.c[root], prices);
    }
    if (rc == 0)
        rc = fill_tools(&an, turn_of, arena, out);
    if (rc == 0)
        sort_n(out->turns, out->nturns, sizeof *out->turns, cmp_turn);
    osp_free(turn_of);
    return rc;
}

/* ---- users ---- */

/* Counts record i into its user's row. */
static int user_add(const analysis *an, size_t i, const osp_price_table *prices, keyed *rows,
                    keyed *traces, keyed *sessions)
{
    const osp_aicall *a = &an->c[i];
    const resolved *r = &an->r[i];
    int fresh, first_session = 0;
    osp_user_usage *u = keyed_get(rows, r->user, osp_str_make("", 0), &fresh);
    int first_trace = keyed_first(traces, r->user, trace_key(a));
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

static int cmp_user(const void *pa, const void *pb)
{
    return osp_str_cmp(((const osp_user_usage *)pa)->id, ((const osp_user_usage *)pb)->id);
}

int osp_users_list(const osp_aicall_set *set, const osp_sessions_window *w,
                   const osp_price_table *prices, osp_arena *arena, osp_user_usage **out, size_t *n)
{
    analysis an;
    keyed rows, traces, sessions; /* the last two: distinct (user, trace), (user, session) */
    keyed_init(&rows, sizeof(osp_user_usage));
    keyed_init(&traces, 1);
    keyed_init(&sessions, 1);
    *out = NULL;
    *n = 0;
    int rc = resolve(set, arena, &an);
    for (size_t i = 0; rc == 0 && i < an.n; i++)
        if (an.r[i].user.n && in_window(w, &an.c[i]))
            rc = user_add(&an, i, prices, &rows, &traces, &sessions);
    if (rc == 0 && (rc = keyed_out(&rows, arena, (void **)out, n)) == 0)
        sort_n(*out, *n, sizeof **out, cmp_user);
    keyed_cleanup(&rows);
    keyed_cleanup(&traces);
    keyed_cleanup(&sessions);
    return rc;
}

/* ---- LLM usage by user ---- */

static int cmp_usage(const void *pa, const void *pb)
{
    return osp_str_cmp(((const osp_golden_usage *)pa)->key, ((const osp_golden_usage *)pb)->key);
}

/* The model calls within w that resolve to a user, grouped by user (sorted by key). */
static int calls_by_user(const analysis *an, const osp_sessions_window *w, uint32_t **ids,
                         size_t *n)
{
    *n = 0;
    *ids = an->n ? osp_malloc(an->n * sizeof **ids) : NULL;
    if (an->n && !*ids)
        return OSP_ENOMEM;
    for (size_t i = 0; i < an->n; i++)
        if (an->r[i].user.n && is_model_call(&an->c[i]) && in_window(w, &an->c[i]))
            (*ids)[(*n)++] = (uint32_t)i;
    return 0;
}

static int cmp_by_user(const void *pa, const void *pb, void *ctx)
{
    const analysis *an = ctx;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int d = osp_str_cmp(an->r[a].user, an->r[b].user);
    return d ? d : (a < b ? -1 : a > b);
}

/* Figures of the calls ids[0..n) (one user's) into u; v: scratch of n doubles. */
static void usage_of(const analysis *an, const uint32_t *ids, size_t n,
                     const osp_price_table *prices, double *v, osp_golden_usage *u)
{
    size_t nt = 0;
    u->key = an->r[ids[0]].user;
    for (size_t k = 0; k < n; k++) {
        const osp_aicall *a = &an->c[ids[k]];
        u->calls++;
        u->errors += a->is_error;
        u->input_tokens += (double)known(a->input_tokens);
        u->output_tokens += (double)known(a->output_tokens);
        u->cache_read_tokens += (double)known(a->cache_read_tokens);
        u->cache_write_tokens += (double)known(a->cache_write_tokens);
        u->cost += cost_of(prices, a);
        v[k] = (double)(a->end_ns - a->start_ns) / 1e9;
    }
    u->latency_p50 = quantile(v, n, 0.5);
    u->latency_p95 = quantile(v, n, 0.95);
    for (size_t k = 0; k < n; k++)
        if (an->c[ids[k]].ttft_ns >= 0)
            v[nt++] = (double)an->c[ids[k]].ttft_ns / 1e9;
    u->streaming_share = (double)nt / (double)n;
    u->ttft_p50 = quantile(v, nt, 0.5);
    u->ttft_p95 = quantile(v, nt, 0.95);
    nt = 0;
    for (size_t k = 0; k < n; k++)
        if (an->c[ids[k]].tpot_ns >= 0)
            v[nt++] = (double)an->c[ids[k]].tpot_ns / 1e9;
    u->tpot_p50 = quantile(v, nt, 0.5);
    u->tpot_p95 = quantile(v, nt, 0.95);
}

int osp_sessions_usage_by_user(const osp_aicall_set *set, const osp_sessions_window *w,
                               const osp_price_table *prices, osp_arena *arena,
                               osp_golden_usage **out, size_t *n)
{
    analysis an;
    uint32_t *ids = NULL;
    double *v = NULL;
    size_t nids = 0, k = 0;
    *out = NULL;
    *n = 0;
    int rc = resolve(set, arena, &an);
    if (rc == 0)
        rc = calls_by_user(&an, w, &ids, &nids);
    if (rc == 0 && nids) {
        v = osp_malloc(nids * sizeof *v);
        *out = osp_arena_calloc(arena, nids, sizeof **out);
        rc = v && *out ? 0 : OSP_ENOMEM;
    }
    if (rc == 0 && nids > 1)
        qsort_r(ids, nids, sizeof *ids, cmp_by_user, &an);
    for (size_t from = 0, to; rc == 0 && from < nids; from = to) {
        for (to = from + 1; to < nids && osp_str_eq(an.r[ids[to]].user, an.r[ids[from]].user); to++)
            ;
        usage_of(&an, ids + from, to - from, prices, v, &(*out)[k++]);
    }
    *n = rc ? 0 : k;
    if (rc == 0)
        sort_n(*out, k, sizeof **out, cmp_usage);
    osp_free(ids);
    osp_free(v);
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
        if (role_of(&an->c[j]) < 0)
            continue;
        int32_t p = an->r[j].parent;
        for (int depth = 0; p >= 0 && depth < MAX_DEPTH; depth++, p = an->r[p].parent) {
            const osp_aicall *a = &an->c[p];
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
    uint64_t sa = an->c[a->rec].start_ns, sb = an->c[b->rec].start_ns;
    if (sa != sb)
        return sa < sb ? -1 : 1;
    return a->rec < b->rec ? -1 : a->rec > b->rec;
}

/* A tool of an agent, with its call durations. */
typedef struct tool_row {
    osp_agent_tool t;
    uint32_t agent; /* row of the agent */
    double *ms;     /* osp_malloc */
    size_t nms, cap;
} tool_row;

/* Counts the steps its[0..n) of one run into agent row ag (row id agid) and tools. */
static int run_add(const analysis *an, const run_item *its, size_t n, osp_agent_stats *ag,
                   uint32_t agid, keyed *tools)
{
    int prev = OSP_ROLE_USER;
    for (size_t k = 0; k < n; k++) {
        const osp_aicall *a = &an->c[its[k].rec];
        int role = role_of(a) == OSP_ROLE_TOOL ? OSP_ROLE_TOOL : OSP_ROLE_AGENT, fresh;
        ag->transitions[prev][role]++;
        prev = role;
        if (role == OSP_ROLE_AGENT) {
            ag->llm_calls++;
            continue;
        }
        osp_str name = a->tool_name.n ? a->tool_name : a->name;
        tool_row *t = keyed_get(tools, ag->name, name, &fresh);
        double *slot = t ? osp_array_push((void **)&t->ms, &t->nms, &t->cap, sizeof *slot) : NULL;
        if (!slot)
            return OSP_ENOMEM;
        *slot = (double)(a->end_ns - a->start_ns) / NS_PER_MS;
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
        rows[i].t.p95_ms = quantile(rows[i].ms, rows[i].nms, 0.95);
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
        const osp_aicall *a = &an->c[i];
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

int osp_agents_list(const osp_aicall_set *set, const osp_sessions_window *w, osp_arena *arena,
                    osp_agent_stats **out, size_t *n)
{
    analysis an;
    item_list l = {0};
    keyed rows, tools;
    keyed_init(&rows, sizeof(osp_agent_stats));
    keyed_init(&tools, sizeof(tool_row));
    *out = NULL;
    *n = 0;
    int rc = resolve(set, arena, &an);
    if (rc == 0)
        rc = collect_steps(&an, w, &l);
    if (rc == 0) {
        if (l.n > 1)
            qsort_r(l.v, l.n, sizeof *l.v, cmp_item, &an);
        rc = agents_add(&an, w, &l, &rows, &tools);
    }
    if (rc == 0 && (rc = keyed_out(&rows, arena, (void **)out, n)) == 0)
        rc = tools_out(&tools, *out, *n, arena);
    for (size_t i = 0; rc == 0 && i < *n; i++)
        (*out)[i].llm_calls_per_run = (double)(*out)[i].llm_calls / (double)(*out)[i].runs;
    if (rc == 0)
        sort_n(*out, *n, sizeof **out, cmp_agent);
    for (size_t i = 0; i < tools.n; i++)
        osp_free(((tool_row *)tools.rows)[i].ms);
    keyed_cleanup(&rows);
    keyed_cleanup(&tools);
    osp_free(l.v);
    if (rc)
        *n = 0;
    return rc;
}

/* ---- streaming quality ---- */

static int cmp_streaming(const void *pa, const void *pb)
{
    const osp_streaming_stats *a = pa, *b = pb;
    int d = osp_str_cmp(a->provider, b->provider);
    return d ? d : osp_str_cmp(a->model, b->model);
}

int osp_streaming_list(const osp_aicall_set *set, const osp_sessions_window *w, int64_t stall_ns,
                       osp_arena *arena, osp_streaming_stats **out, size_t *n)
{
    keyed rows;
    int rc = 0;
    keyed_init(&rows, sizeof(osp_streaming_stats));
    *out = NULL;
    *n = 0;
    for (size_t i = 0; rc == 0 && i < set->n; i++) {
        const osp_aicall *a = &set->calls[i];
        int fresh;
        if (a->type != OSP_GENAI_LLM || a->streaming != 1 || !in_window(w, a))
            continue;
        osp_streaming_stats *s = keyed_get(&rows, a->provider, model_of(a), &fresh);
        if (!s) {
            rc = OSP_ENOMEM;
            break;
        }
        if (fresh)
            *s = (osp_streaming_stats){
                .provider = a->provider, .model = model_of(a), .max_gap_ns = -1};
        s->streamed++;
        s->failed_after_first_token += a->is_error && a->ttft_ns >= 0;
        s->stalls += a->max_gap_ns > stall_ns;
        s->max_gap_ns = a->max_gap_ns > s->max_gap_ns ? a->max_gap_ns : s->max_gap_ns;
    }
    if (rc == 0 && (rc = keyed_out(&rows, arena, (void **)out, n)) == 0) {
        for (size_t i = 0; i < *n; i++)
            (*out)[i].failed_share =
                (double)(*out)[i].failed_after_first_token / (double)(*out)[i].streamed;
        sort_n(*out, *n, sizeof **out, cmp_streaming);
    }
    keyed_cleanup(&rows);
    return rc;
}
