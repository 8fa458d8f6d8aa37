/* Golden signals computed from the derived series (analytics/golden.h): a range is walked
 * step by step, each step in sub-ranges of at most an hour; the series of the families a
 * computation reads are selected an hour at a time, each routed once to a group and to
 * what it adds there (a count, a histogram bucket, tokens to price), and their exact
 * increases over every sub-range are added up per group. */
#include "analytics/golden.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "analytics/derived.h"
#include "core/err.h"
#include "core/mem.h"

#define CHUNK_MS ((int64_t)3600 * 1000)
#define DEFAULT_INTERVAL_MS 15000
#define MAX_HOT_STEPS 100000 /* edges the hot-path search may follow */
#define MAX_KEY 3            /* labels in a group key */

/* Operations that are not model calls (their spans get duration series too). */
#define NOT_MODEL_CALLS "execute_tool|invoke_agent|create_agent|invoke_workflow"

/* Scalar sums kept per group. */
enum slot {
    S_CALLS,
    S_ERRORS,
    S_INPUT, /* uncached input tokens */
    S_CACHE_READ,
    S_CACHE_WRITE,
    S_OUTPUT,
    S_COST,
    S_TTFT_CALLS,
    NSLOTS
};

/* Histograms kept per group. */
enum hist { H_LATENCY, H_CLIENT, H_TTFT, H_TPOT, NHISTS };

typedef struct hist_acc {
    osp_golden_bucket *b; /* ascending by le; counts are summed increases */
    size_t n, cap;
} hist_acc;

typedef struct group {
    osp_str key[MAX_KEY]; /* label values, in the result arena */
    uint64_t hash;
    double v[NSLOTS];
    hist_acc h[NHISTS];
    double *points; /* time series: the value at each step */
} group;

/* What one series adds to its group. */
typedef struct role {
    size_t group;
    int slot, slot2; /* scalar slots, or -1 */
    int hist;        /* histogram, or -1 */
    double le;
    int priced; /* a token count: its slot is priced into S_COST */
    osp_str provider, model;
} role;

/* A family read by a computation: the metric, an extra matcher, and what the route
 * takes it for. */
typedef struct family {
    const char *metric;
    int kind; /* the route's own enum */
    osp_label_matcher extra;
    int has_extra;
    /* A GenAI family an application may send itself (drop_derived_twins): metric is then a
     * regular expression naming the derived series and the application's equivalents. */
    int app_first;
} family;

/* A loaded series and its role. */
typedef struct loaded {
    osp_series s;
    role r;
} loaded;

/* The series of an hour or so, with their samples. */
typedef struct chunk {
    osp_arena arena;
    loaded *series;
    size_t n, cap;
} chunk;

typedef struct query query;
/* Fills r for series s of family fam: r->group and what it adds; 0, or OSP_ENOMEM. A
 * series that adds nothing keeps r->group SIZE_MAX. */
typedef int (*route_fn)(query *q, size_t fam, const osp_series *s, role *r);
/* Called after each step k with the groups' sums for that step. */
typedef void (*step_fn)(query *q, size_t k);

struct query {
    const osp_golden_env *env;
    osp_arena *arena; /* results */
    const family *fam;
    size_t nfam;
    route_fn route;
    step_fn step_done;
    int by;         /* enum osp_golden_group, for the routes that group by it */
    int timeseries; /* groups keep a value per step */
    int metric;     /* enum osp_golden_metric, for time series */
    int64_t start, step;
    size_t nsteps;
    /* groups: an open-addressing table of indexes + 1 into g */
    group *g;
    size_t ng, gcap;
    size_t *table;
    size_t tcap;
    /* the series loaded: the current chunk, and the previous one */
    chunk chunks[2];
    int cur;
    int64_t chunk_hi; /* the end of the current chunk */
    int loaded;       /* whether chunks[cur] holds one */
};

/* ---- building blocks ---- */

double osp_golden_increase(const osp_sample *s, size_t n, int64_t start_ms, int64_t end_ms)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid].t_ms <= start_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    double prev = 0, inc = 0;
    for (size_t i = lo; i-- > 0;)
        if (!isnan(s[i].v)) {
            prev = s[i].v;
            break;
        }
    for (size_t i = lo; i < n && s[i].t_ms <= end_ms; i++) {
        double v = s[i].v;
        if (isnan(v))
            continue;
        inc += v >= prev ? v - prev : v;
        prev = v;
    }
    return inc;
}

double osp_golden_quantile(double q, const osp_golden_bucket *b, size_t n)
{
    if (n < 2 || !(isinf(b[n - 1].le) && b[n - 1].le > 0))
        return NAN;
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total = b[i].count > total ? b[i].count : total;
    if (total == 0)
        return NAN;
    double rank = q * total, below = 0, max = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        max = b[i].count > max ? b[i].count : max;
        if (max >= rank) {
            if (i == 0 && b[0].le <= 0)
                return b[0].le;
            double lo = i ? b[i - 1].le : 0;
            return lo + (b[i].le - lo) * ((rank - below) / (max - below));
        }
        below = max;
    }
    return b[n - 2].le;
}

/* Adds count to the bucket le of h (in arena). 0 or OSP_ENOMEM. */
static int hist_add(hist_acc *h, osp_arena *arena, double le, double count)
{
    size_t i = 0;
    while (i < h->n && h->b[i].le < le)
        i++;
    if (i < h->n && h->b[i].le == le) {
        h->b[i].count += count;
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 32;
        osp_golden_bucket *b = osp_arena_alloc(arena, cap * sizeof *b);
        if (!b)
            return OSP_ENOMEM;
        if (h->n)
            memcpy(b, h->b, h->n * sizeof *b);
        h->b = b;
        h->cap = cap;
    }
    memmove(h->b + i + 1, h->b + i, (h->n - i) * sizeof *h->b);
    h->b[i] = (osp_golden_bucket){le, count};
    h->n++;
    return 0;
}

static int hist_merge(hist_acc *dst, osp_arena *arena, const hist_acc *src)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < src->n; i++)
        rc = hist_add(dst, arena, src->b[i].le, src->b[i].count);
    return rc;
}

static double hist_quantile(const hist_acc *h, double q)
{
    return osp_golden_quantile(q, h->b, h->n);
}

static osp_str label(const osp_series *s, const char *name)
{
    return osp_labels_get(s->labels, s->nlabels, osp_str_c(name));
}

/* The bound of an le label: 0, or -1 when it is not a number. */
static int parse_le(osp_str text, double *le)
{
    char buf[64], *end;
    if (text.n == 0 || text.n >= sizeof buf)
        return -1;
    memcpy(buf, text.p, text.n);
    buf[text.n] = 0;
    *le = strtod(buf, &end);
    return *end || isnan(*le) ? -1 : 0;
}

/* ---- groups ---- */

static uint64_t key_hash(const osp_str *key, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = XXH64(key[i].p, key[i].n, h + i);
    return h;
}

static int key_eq(const osp_str *a, const osp_str *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!osp_str_eq(a[i], b[i]))
            return 0;
    return 1;
}

static int table_grow(query *q)
{
    size_t cap = q->tcap ? 2 * q->tcap : 64;
    size_t *t = osp_calloc(cap, sizeof *t);
    if (!t)
        return OSP_ENOMEM;
    for (size_t i = 0; i < q->ng; i++) {
        size_t j = q->g[i].hash & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = i + 1;
    }
    osp_free(q->table);
    q->table = t;
    q->tcap = cap;
    return 0;
}

/* The group of key[0..MAX_KEY) (unused entries empty), created when new. 0, OSP_ENOMEM. */
static int group_of(query *q, const osp_str *key, size_t *out)
{
    uint64_t h = key_hash(key, MAX_KEY);
    if (2 * (q->ng + 1) > q->tcap && table_grow(q))
        return OSP_ENOMEM;
    size_t j = h & (q->tcap - 1);
    for (; q->table[j]; j = (j + 1) & (q->tcap - 1)) {
        group *g = &q->g[q->table[j] - 1];
        if (g->hash == h && key_eq(g->key, key, MAX_KEY)) {
            *out = q->table[j] - 1;
            return 0;
        }
    }
    group *g = osp_array_push((void **)&q->g, &q->ng, &q->gcap, sizeof *g);
    if (!g)
        return OSP_ENOMEM;
    g->hash = h;
    for (size_t i = 0; i < MAX_KEY; i++) {
        g->key[i] = osp_arena_strdup(q->arena, key[i]);
        if (!g->key[i].p) {
            q->ng--;
            return OSP_ENOMEM;
        }
    }
    if (q->timeseries) {
        g->points = osp_arena_alloc(q->arena, q->nsteps * sizeof *g->points);
        if (!g->points) {
            q->ng--;
            return OSP_ENOMEM;
        }
        for (size_t k = 0; k < q->nsteps; k++)
            g->points[k] = NAN;
    }
    q->table[j] = q->ng;
    *out = q->ng - 1;
    return 0;
}

static void groups_reset(query *q)
{
    for (size_t i = 0; i < q->ng; i++) {
        memset(q->g[i].v, 0, sizeof q->g[i].v);
        for (size_t k = 0; k < NHISTS; k++)
            q->g[i].h[k].n = 0;
    }
}

/* ---- walking the range ---- */

static int cmp_loaded(const void *pa, const void *pb)
{
    const loaded *a = *(const loaded *const *)pa, *b = *(const loaded *const *)pb;
    return osp_labels_compare(a->s.labels, a->s.nlabels, b->s.labels, b->s.nlabels);
}

static int64_t margin_ms(const query *q)
{
    /* one derive interval, twice over for flush jitter */
    return 2 * (q->env->interval_ms > 0 ? q->env->interval_ms : DEFAULT_INTERVAL_MS);
}

/* The loaded series sorted by label set, for carry_baseline (array in arena). */
static const loaded **by_labels(const chunk *c, osp_arena *arena)
{
    const loaded **a = osp_arena_alloc(arena, (c->n + 1) * sizeof *a);
    for (size_t i = 0; a && i < c->n; i++)
        a[i] = &c->series[i];
    if (a)
        qsort(a, c->n, sizeof *a, cmp_loaded);
    return a;
}

/* Gives s, loaded anew from a, the baseline the previous chunk had for it: its last sample
 * at or before a that comes before s's own samples. Series are thus followed across
 * chunks whatever the gaps between their samples. 0 or OSP_ENOMEM. */
static int carry_baseline(const loaded **prev, size_t nprev, osp_series *s, int64_t a,
                          osp_arena *arena)
{
    loaded key = {.s = *s};
    const loaded *kp = &key, **hit = bsearch(&kp, prev, nprev, sizeof *prev, cmp_loaded);
    if (!hit)
        return 0;
    const osp_series *old = &(*hit)->s;
    int64_t before = s->nsamples ? s->samples[0].t_ms : INT64_MAX;
    size_t i = old->nsamples;
    while (i > 0 && (old->samples[i - 1].t_ms > a || old->samples[i - 1].t_ms >= before ||
                     isnan(old->samples[i - 1].v)))
        i--;
    if (i == 0)
        return 0;
    osp_sample *v = osp_arena_alloc(arena, (s->nsamples + 1) * sizeof *v);
    if (!v)
        return OSP_ENOMEM;
    v[0] = old->samples[i - 1];
    if (s->nsamples)
        memcpy(v + 1, s->samples, s->nsamples * sizeof *v);
    s->samples = v;
    s->nsamples++;
    return 0;
}

/* Routes series s of family f into chunk c. */
static int keep_series(query *q, size_t f, osp_series *s, chunk *c)
{
    role r = {.group = SIZE_MAX, .slot = -1, .slot2 = -1, .hist = -1};
    int rc = q->route(q, f, s, &r);
    if (rc || r.group == SIZE_MAX)
        return rc;
    loaded *l = osp_array_push((void **)&c->series, &c->n, &c->cap, sizeof *l);
    if (!l)
        return OSP_ENOMEM;
    *l = (loaded){*s, r};
    return 0;
}

static osp_str genai_service(const osp_series *s);

/* Keeps, of the series s[0..n) of a GenAI family, the application's own (labelled by job)
 * and the derived ones (labelled by service_name) of services that send none: the deriver
 * stops once it sees an application's series, but not before their first export, so both
 * may be stored for a while. The new count. */
static size_t drop_derived_twins(osp_series *s, size_t n, osp_arena *arena)
{
    osp_str *apps = osp_arena_alloc(arena, (n + 1) * sizeof *apps);
    size_t napps = 0, kept = 0;
    if (!apps)
        return n; /* out of memory: counted twice rather than not at all */
    for (size_t i = 0; i < n; i++)
        if (!label(&s[i], "service_name").n) {
            osp_str svc = genai_service(&s[i]);
            size_t k = 0;
            while (k < napps && !osp_str_eq(apps[k], svc))
                k++;
            if (k == napps)
                apps[napps++] = svc;
        }
    for (size_t i = 0; i < n; i++) {
        osp_str svc = label(&s[i], "service_name");
        size_t k = 0;
        while (svc.n && k < napps && !osp_str_eq(apps[k], svc))
            k++;
        if (!svc.n || k == napps)
            s[kept++] = s[i];
    }
    return kept;
}

/* Loads the series of every family with samples in [a - margin, hi] for the sub-ranges
 * from a on, routes them, and makes them the current chunk. */
static int load_chunk(query *q, int64_t a, int64_t hi)
{
    chunk *old = &q->chunks[q->cur], *c = &q->chunks[!q->cur];
    osp_arena_cleanup(&c->arena);
    c->n = 0;
    const loaded **prev = q->loaded ? by_labels(old, &c->arena) : NULL;
    int rc = q->loaded && !prev ? OSP_ENOMEM : 0;
    for (size_t f = 0; rc == 0 && f < q->nfam; f++) {
        osp_label_matcher m[2] = {{q->fam[f].app_first ? OSP_MATCH_RE : OSP_MATCH_EQ,
                                   OSP_STR_LIT(OSP_METRIC_NAME_LABEL), osp_str_c(q->fam[f].metric)},
                                  q->fam[f].extra};
        osp_series *s = NULL;
        size_t n = 0;
        rc = osp_store_select_series(q->env->store, m, q->fam[f].has_extra ? 2 : 1,
                                     a - margin_ms(q), hi, 1, &c->arena, &s, &n);
        if (rc == 0 && q->fam[f].app_first)
            n = drop_derived_twins(s, n, &c->arena);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            rc = prev ? carry_baseline(prev, old->n, &s[i], a, &c->arena) : 0;
            if (rc == 0)
                rc = keep_series(q, f, &s[i], c);
        }
    }
    q->cur = !q->cur;
    q->chunk_hi = hi;
    q->loaded = rc == 0;
    return rc;
}

/* The price of series r's tokens over a sub-range ending at t_ms. */
static double token_cost(const query *q, const role *r, double tokens, int64_t t_ms)
{
    osp_price p;
    if (!q->env->prices || !osp_price_lookup(q->env->prices, r->provider, r->model, t_ms, &p))
        return 0;
    return osp_price_cost(&p, r->slot == S_INPUT ? tokens : 0, r->slot == S_CACHE_READ ? tokens : 0,
                          r->slot == S_CACHE_WRITE ? tokens : 0, r->slot == S_OUTPUT ? tokens : 0);
}

/* Adds every loaded series' increase over (a, b] to its group. */
static int accumulate(query *q, int64_t a, int64_t b)
{
    const chunk *c = &q->chunks[q->cur];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < c->n; i++) {
        const role *r = &c->series[i].r;
        double inc = osp_golden_increase(c->series[i].s.samples, c->series[i].s.nsamples, a, b);
        group *g = &q->g[r->group];
        if (r->hist >= 0) /* empty buckets too: they bound the ones above */
            rc = hist_add(&g->h[r->hist], q->arena, r->le, inc);
        if (inc == 0)
            continue;
        if (r->slot >= 0)
            g->v[r->slot] += inc;
        if (r->slot2 >= 0)
            g->v[r->slot2] += inc;
        if (r->priced)
            g->v[S_COST] += token_cost(q, r, inc, b);
    }
    return rc;
}

/* Walks the steps of q: each step's sums are ready when step_done is called (and, for the
 * last step, when this returns). */
static int run(query *q, int64_t end)
{
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < q->nsteps; k++) {
        int64_t ws = q->start + (int64_t)k * q->step, we = ws + q->step;
        groups_reset(q);
        for (int64_t a = ws; rc == 0 && a < we;) {
            int64_t b = we - a > CHUNK_MS ? a + CHUNK_MS : we;
            if (!q->loaded || b > q->chunk_hi)
                rc = load_chunk(q, a, a + CHUNK_MS < end ? a + CHUNK_MS : end);
            if (rc == 0)
                rc = accumulate(q, a, b);
            a = b;
        }
        if (rc == 0 && q->step_done)
            q->step_done(q, k);
    }
    return rc;
}

static int check_range(int64_t start, int64_t end)
{
    return end > start && end - start <= OSP_GOLDEN_MAX_RANGE_MS ? 0 : OSP_EINVAL;
}

static void query_init(query *q, const osp_golden_env *env, osp_arena *arena, int64_t start,
                       int64_t end)
{
    memset(q, 0, sizeof *q);
    q->env = env;
    q->arena = arena;
    q->start = start;
    q->step = end - start;
    q->nsteps = 1;
    osp_arena_init(&q->chunks[0].arena, 0, 0);
    osp_arena_init(&q->chunks[1].arena, 0, 0);
}

/* Runs one step over (start, end] (OSP_EINVAL when that is no range) reading families fam[0..nfam)
 * through route, grouping by by where the route asks; q holds the sums after. The caller cleans q
 * up, on failure too. */
static int run_range(query *q, const osp_golden_env *env, osp_arena *arena, int64_t start,
                     int64_t end, const family *fam, size_t nfam, route_fn route, int by)
{
    query_init(q, env, arena, start, end);
    if (check_range(start, end))
        return OSP_EINVAL;
    q->fam = fam;
    q->nfam = nfam;
    q->route = route;
    q->by = by;
    return run(q, end);
}

#define NFAM(a) (sizeof(a) / sizeof(a)[0])

static void query_cleanup(query *q)
{
    for (size_t i = 0; i < 2; i++) {
        osp_arena_cleanup(&q->chunks[i].arena);
        osp_free(q->chunks[i].series);
    }
    osp_free(q->table);
    osp_free(q->g);
}

static int cmp_group(const void *pa, const void *pb)
{
    const group *a = *(group *const *)pa, *b = *(group *const *)pb;
    for (size_t i = 0; i < MAX_KEY; i++) {
        int c = osp_str_cmp(a->key[i], b->key[i]);
        if (c)
            return c;
    }
    return 0;
}

/* Groups sorted by key: an array of pointers in arena, or NULL (OSP_ENOMEM). */
static group **sorted_groups(query *q)
{
    group **s = osp_arena_alloc(q->arena, (q->ng ? q->ng : 1) * sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < q->ng; i++)
        s[i] = &q->g[i];
    qsort(s, q->ng, sizeof *s, cmp_group);
    return s;
}

/* The figures of group g over seconds, quantiles from h. */
static void red_of(const group *g, const hist_acc *h, double seconds, osp_golden_red *r)
{
    r->calls = g->v[S_CALLS];
    r->errors = g->v[S_ERRORS];
    r->rate = r->calls / seconds;
    r->error_rate = r->calls > 0 ? r->errors / r->calls : 0;
    r->p50 = hist_quantile(h, 0.5);
    r->p95 = hist_quantile(h, 0.95);
    r->p99 = hist_quantile(h, 0.99);
}

static double range_s(int64_t start, int64_t end)
{
    return (double)(end - start) / 1000;
}

/* ---- routes ---- */

/* A histogram bucket series into hist h; its +Inf bucket also counts calls into slot (and
 * errors into S_ERRORS when error is set) when slot >= 0. */
static void route_bucket(const osp_series *s, int h, int slot, int error, role *r)
{
    if (parse_le(label(s, "le"), &r->le)) {
        r->group = SIZE_MAX;
        return;
    }
    r->hist = h;
    if (slot >= 0 && isinf(r->le)) {
        r->slot = slot;
        r->slot2 = error ? S_ERRORS : -1;
    }
}

static int is_entry_kind(osp_str kind)
{
    return osp_str_eqz(kind, "SPAN_KIND_SERVER") || osp_str_eqz(kind, "SPAN_KIND_CONSUMER");
}

/* RED per service: calls_total and duration_bucket, grouped by (service, entry span). */
static int route_service(query *q, size_t fam, const osp_series *s, role *r)
{
    osp_str key[MAX_KEY] = {label(s, "service_name"),
                            is_entry_kind(label(s, "span_kind")) ? OSP_STR_LIT("1")
                                                                 : OSP_STR_LIT("0"),
                            OSP_STR_LIT("")};
    if (q->fam[fam].kind == 0) {
        r->slot = S_CALLS;
        r->slot2 = osp_str_eqz(label(s, "status_code"), "STATUS_CODE_ERROR") ? S_ERRORS : -1;
    } else {
        route_bucket(s, H_LATENCY, -1, 0, r);
        if (r->hist < 0)
            return 0;
    }
    return group_of(q, key, &r->group);
}

/* The model a GenAI series is about: the request model, else the response model. */
static osp_str genai_model(const osp_series *s)
{
    osp_str m = label(s, "gen_ai_request_model");
    return m.n ? m : label(s, "gen_ai_response_model");
}

/* The service of a GenAI series: service_name on derived series; on a series the
 * application sent itself, the service.name in its job ("service.namespace/service.name",
 * or "service.name"). */
static osp_str genai_service(const osp_series *s)
{
    osp_str svc = label(s, "service_name");
    if (svc.n)
        return svc;
    svc = label(s, "job");
    const char *slash = memchr(svc.p, '/', svc.n);
    return slash ? osp_str_make(slash + 1, svc.n - (size_t)(slash + 1 - svc.p)) : svc;
}

/* The group key of a GenAI series under q->by (model: with its provider, but for a time
 * series). An empty key: the series has no such label. */
static void genai_key(const query *q, const osp_series *s, osp_str key[MAX_KEY])
{
    key[0] = key[1] = key[2] = OSP_STR_LIT("");
    if (q->by == OSP_GOLDEN_BY_MODEL) {
        key[0] = genai_model(s);
        if (!q->timeseries)
            key[1] = label(s, "gen_ai_provider_name");
    } else if (q->by == OSP_GOLDEN_BY_PROVIDER) {
        key[0] = label(s, "gen_ai_provider_name");
    } else {
        key[0] = genai_service(s);
    }
}

/* The GenAI families, in the order the queries below list them. */
enum { F_DURATION, F_TTFT, F_TPOT, F_TOKENS };

static int route_tokens(const osp_series *s, role *r)
{
    static const struct {
        const char *type;
        int slot;
    } types[] = {{"input", S_INPUT},
                 {"cache_read", S_CACHE_READ},
                 {"cache_write", S_CACHE_WRITE},
                 {"output", S_OUTPUT}};
    osp_str type = label(s, "gen_ai_token_type");
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (osp_str_eqz(type, types[i].type)) {
            r->slot = types[i].slot;
            r->priced = 1;
            r->provider = label(s, "gen_ai_provider_name");
            r->model = genai_model(s);
            return 1;
        }
    return 0; /* reasoning tokens are part of the output */
}

/* LLM usage: families of the F_* kinds. */
static int route_genai(query *q, size_t fam, const osp_series *s, role *r)
{
    osp_str key[MAX_KEY];
    genai_key(q, s, key);
    if (key[0].n == 0)
        return 0;
    int f = q->fam[fam].kind;
    if (f == F_DURATION)
        route_bucket(s, H_LATENCY, S_CALLS, label(s, "error_type").n > 0, r);
    else if (f == F_TTFT)
        route_bucket(s, H_TTFT, S_TTFT_CALLS, 0, r);
    else if (f == F_TPOT)
        route_bucket(s, H_TPOT, -1, 0, r);
    else if (!route_tokens(s, r))
        return 0;
    if (r->hist < 0 && r->slot < 0)
        return 0;
    return group_of(q, key, &r->group);
}

/* The service graph families. */
enum { E_TOTAL, E_FAILED, E_SERVER, E_CLIENT };

/* The service graph: request totals, failures, server and client latency. */
static int route_edge(query *q, size_t fam, const osp_series *s, role *r)
{
    osp_str key[MAX_KEY] = {label(s, "client"), label(s, "server"), label(s, "connection_type")};
    int kind = q->fam[fam].kind;
    if (kind == E_SERVER || kind == E_CLIENT)
        route_bucket(s, kind == E_SERVER ? H_LATENCY : H_CLIENT, -1, 0, r);
    else
        r->slot = kind == E_TOTAL ? S_CALLS : S_ERRORS;
    if (r->hist < 0 && r->slot < 0)
        return 0;
    return group_of(q, key, &r->group);
}

static double metric_value(int metric, const group *g)
{
    switch (metric) {
    case OSP_GOLDEN_CALLS:
        return g->v[S_CALLS];
    case OSP_GOLDEN_ERRORS:
        return g->v[S_ERRORS];
    case OSP_GOLDEN_TOKENS:
        return g->v[S_INPUT] + g->v[S_CACHE_READ] + g->v[S_CACHE_WRITE] + g->v[S_OUTPUT];
    case OSP_GOLDEN_COST:
        return g->v[S_COST];
    case OSP_GOLDEN_LATENCY_P95:
        return hist_quantile(&g->h[H_LATENCY], 0.95);
    case OSP_GOLDEN_TTFT_P95:
        return hist_quantile(&g->h[H_TTFT], 0.95);
    default:
        return hist_quantile(&g->h[H_TPOT], 0.95);
    }
}

/* ---- LLM usage ---- */

static void usage_of(const group *g, osp_golden_usage *u)
{
    u->calls = g->v[S_CALLS];
    u->errors = g->v[S_ERRORS];
    u->cache_read_tokens = g->v[S_CACHE_READ];
    u->cache_write_tokens = g->v[S_CACHE_WRITE];
    u->input_tokens = g->v[S_INPUT] + u->cache_read_tokens + u->cache_write_tokens;
    u->output_tokens = g->v[S_OUTPUT];
    u->cost = g->v[S_COST];
    u->latency_p50 = hist_quantile(&g->h[H_LATENCY], 0.5);
    u->latency_p95 = hist_quantile(&g->h[H_LATENCY], 0.95);
    u->ttft_p50 = hist_quantile(&g->h[H_TTFT], 0.5);
    u->ttft_p95 = hist_quantile(&g->h[H_TTFT], 0.95);
    u->tpot_p50 = hist_quantile(&g->h[H_TPOT], 0.5);
    u->tpot_p95 = hist_quantile(&g->h[H_TPOT], 0.95);
    u->streaming_share = u->calls > 0 ? g->v[S_TTFT_CALLS] / u->calls : 0;
}

/* The usage rows of q's groups with calls or tokens, by key. */
static int usage_rows(query *q, osp_golden_usage **out, size_t *n)
{
    group **s = sorted_groups(q);
    osp_golden_usage *u = osp_arena_calloc(q->arena, q->ng ? q->ng : 1, sizeof *u);
    if (!s || !u)
        return OSP_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < q->ng; i++) {
        const group *g = s[i];
        if (g->v[S_CALLS] == 0 && metric_value(OSP_GOLDEN_TOKENS, g) == 0)
            continue;
        u[k].key = g->key[0];
        if (q->by == OSP_GOLDEN_BY_MODEL) {
            u[k].model = g->key[0];
            u[k].provider = g->key[1];
        }
        usage_of(g, &u[k]);
        k++;
    }
    *out = u;
    *n = k;
    return 0;
}

#define MODEL_CALLS                                                                                \
    {                                                                                              \
        OSP_MATCH_NRE, OSP_STR_LIT("gen_ai_operation_name"), OSP_STR_LIT(NOT_MODEL_CALLS)          \
    }

/* The derived GenAI histograms and what applications send instead (genai_metrics.c). */
#define APP_DURATION "gen_ai_client_(operation|inference)_duration_seconds_bucket"
#define APP_TTFT                                                                                   \
    "(" OSP_DERIVED_GENAI_TTFT "|gen_ai_client_(operation|inference)_time_to_first_chunk_seconds)" \
    "_bucket"
#define APP_TPOT                                                                                   \
    "(" OSP_DERIVED_GENAI_TPOT                                                                     \
    "|gen_ai_client_(operation|inference)_time_per_output_chunk_seconds)_bucket"

static const family model_families[] = {
    {APP_DURATION, F_DURATION, MODEL_CALLS, 1, 1},
    {APP_TTFT, F_TTFT, {0}, 0, 1},
    {APP_TPOT, F_TPOT, {0}, 0, 1},
    {OSP_DERIVED_GENAI_TOKENS_TOTAL, F_TOKENS, {0}, 0, 0},
};

int osp_golden_models_get(const osp_golden_env *env, int by, int64_t start_ms, int64_t end_ms,
                          osp_arena *arena, osp_golden_usage **out, size_t *n)
{
    query q;
    int rc = run_range(&q, env, arena, start_ms, end_ms, model_families, NFAM(model_families),
                       route_genai, by);
    if (rc == 0)
        rc = usage_rows(&q, out, n);
    query_cleanup(&q);
    return rc;
}

/* ---- overview ---- */

static const family service_families[] = {
    {OSP_DERIVED_CALLS, 0, {0}, 0, 0},
    {OSP_DERIVED_DURATION "_bucket", 1, {0}, 0, 0},
};

/* One service per name from q's (service, entry) groups, sorted: its entry spans' figures
 * when it has entry calls, else those of its other spans. */
static int services_of(query *q, double seconds, osp_golden_overview *out)
{
    group **s = sorted_groups(q);
    out->services = osp_arena_calloc(q->arena, q->ng ? q->ng : 1, sizeof *out->services);
    if (!s || !out->services)
        return OSP_ENOMEM;
    for (size_t i = 0; i < q->ng;) {
        size_t j = i + 1;
        while (j < q->ng && osp_str_eq(s[j]->key[0], s[i]->key[0]))
            j++;
        /* "0" (other spans) sorts before "1" (entry spans) */
        const group *entry = osp_str_eqz(s[j - 1]->key[1], "1") ? s[j - 1] : NULL;
        const group *other = osp_str_eqz(s[i]->key[1], "0") ? s[i] : NULL;
        const group *g = entry && entry->v[S_CALLS] > 0 ? entry : other;
        if (g && g->v[S_CALLS] > 0) {
            osp_golden_service *svc = &out->services[out->nservices++];
            svc->name = g->key[0];
            red_of(g, &g->h[H_LATENCY], seconds, &svc->red);
        }
        i = j;
    }
    return 0;
}

static int cmp_busiest(const void *pa, const void *pb)
{
    const osp_golden_usage *a = pa, *b = pb;
    if (a->calls != b->calls)
        return a->calls > b->calls ? -1 : 1;
    if (a->cost != b->cost)
        return a->cost > b->cost ? -1 : 1;
    int c = osp_str_cmp(a->model, b->model);
    return c ? c : osp_str_cmp(a->provider, b->provider);
}

static const family overview_model_families[] = {
    {APP_DURATION, F_DURATION, MODEL_CALLS, 1, 1},
    {OSP_DERIVED_GENAI_TOKENS_TOTAL, F_TOKENS, {0}, 0, 0},
};

int osp_golden_overview_get(const osp_golden_env *env, int64_t start_ms, int64_t end_ms,
                            osp_arena *arena, osp_golden_overview *out)
{
    query q;
    memset(out, 0, sizeof *out);
    int rc = run_range(&q, env, arena, start_ms, end_ms, service_families, NFAM(service_families),
                       route_service, 0);
    if (rc == 0)
        rc = services_of(&q, range_s(start_ms, end_ms), out);
    query_cleanup(&q);
    if (rc)
        return rc;
    rc = run_range(&q, env, arena, start_ms, end_ms, overview_model_families,
                   NFAM(overview_model_families), route_genai, OSP_GOLDEN_BY_MODEL);
    if (rc == 0)
        rc = usage_rows(&q, &out->models, &out->nmodels);
    query_cleanup(&q);
    if (rc == 0) {
        qsort(out->models, out->nmodels, sizeof *out->models, cmp_busiest);
        if (out->nmodels > OSP_GOLDEN_TOP_MODELS)
            out->nmodels = OSP_GOLDEN_TOP_MODELS;
    }
    return rc;
}

/* ---- topology ---- */

unsigned osp_golden_health(const osp_golden_thresholds *t, const osp_golden_red *r)
{
    unsigned h = 0;
    if (r->rate >= t->busy_rps)
        h |= OSP_HEALTH_BUSY;
    if (r->p95 >= t->slow_p95_s)
        h |= OSP_HEALTH_SLOW;
    if (r->error_rate >= t->failing_error_rate)
        h |= OSP_HEALTH_FAILING;
    return h;
}

static const family edge_families[] = {
    {OSP_DERIVED_GRAPH_TOTAL, E_TOTAL, {0}, 0, 0},
    {OSP_DERIVED_GRAPH_FAILED, E_FAILED, {0}, 0, 0},
    {OSP_DERIVED_GRAPH_SERVER "_bucket", E_SERVER, {0}, 0, 0},
    {OSP_DERIVED_GRAPH_CLIENT "_bucket", E_CLIENT, {0}, 0, 0},
};

/* The latency histogram of edge g: the server side, the client side when the server did
 * not report (an uninstrumented peer). */
static const hist_acc *edge_hist(const group *g)
{
    return isnan(hist_quantile(&g->h[H_LATENCY], 1)) ? &g->h[H_CLIENT] : &g->h[H_LATENCY];
}

static int cmp_str(const void *a, const void *b)
{
    return osp_str_cmp(*(const osp_str *)a, *(const osp_str *)b);
}

static size_t node_index(const osp_golden_topology *t, osp_str id)
{
    size_t lo = 0, hi = t->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = osp_str_cmp(t->nodes[mid].id, id);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* The nodes of the edges among q's groups (e[0..ne)), sorted and unique. */
static int topo_nodes(query *q, group **e, size_t ne, osp_golden_topology *t)
{
    osp_str *ids = osp_arena_alloc(q->arena, (2 * ne + 1) * sizeof *ids);
    if (!ids)
        return OSP_ENOMEM;
    for (size_t i = 0; i < ne; i++) {
        ids[2 * i] = e[i]->key[0];
        ids[2 * i + 1] = e[i]->key[1];
    }
    qsort(ids, 2 * ne, sizeof *ids, cmp_str);
    t->nodes = osp_arena_calloc(q->arena, 2 * ne + 1, sizeof *t->nodes);
    if (!t->nodes)
        return OSP_ENOMEM;
    for (size_t i = 0; i < 2 * ne; i++)
        if (i == 0 || !osp_str_eq(ids[i], ids[i - 1]))
            t->nodes[t->nnodes++].id = ids[i];
    return 0;
}

/* Adds edge e's requests to node figures acc, with latency from h. */
static int add_requests(group *acc, osp_arena *arena, const group *e, const hist_acc *h)
{
    acc->v[S_CALLS] += e->v[S_CALLS];
    acc->v[S_ERRORS] += e->v[S_ERRORS];
    return hist_merge(&acc->h[H_LATENCY], arena, h);
}

/* Figures of every node: the requests it served, or for a root those it sent. */
static int topo_node_figures(query *q, group **e, osp_golden_topology *t, double seconds)
{
    group *acc = osp_arena_calloc(q->arena, t->nnodes + 1, sizeof *acc);
    unsigned char *served = osp_arena_calloc(q->arena, t->nnodes + 1, 1);
    int rc = acc && served ? 0 : OSP_ENOMEM;
    for (size_t i = 0; rc == 0 && i < t->nedges; i++) {
        served[t->edges[i].server] = 1;
        rc = add_requests(&acc[t->edges[i].server], q->arena, e[i], edge_hist(e[i]));
    }
    for (size_t i = 0; rc == 0 && i < t->nedges; i++)
        if (!served[t->edges[i].client])
            rc = add_requests(&acc[t->edges[i].client], q->arena, e[i], edge_hist(e[i]));
    for (size_t i = 0; rc == 0 && i < t->nnodes; i++)
        red_of(&acc[i], &acc[i].h[H_LATENCY], seconds, &t->nodes[i].red);
    return rc;
}

/* Marks the nodes that are not services with spans in the range. */
static int topo_virtual(query *q, int64_t start, int64_t end, osp_golden_topology *t)
{
    osp_label_matcher m = {OSP_MATCH_EQ, OSP_STR_LIT(OSP_METRIC_NAME_LABEL),
                           OSP_STR_LIT(OSP_DERIVED_CALLS)};
    osp_str *svc = NULL;
    size_t n = 0;
    int rc = osp_store_label_values(q->env->store, OSP_STR_LIT("service_name"), &m, 1,
                                    start - margin_ms(q), end, q->arena, &svc, &n);
    for (size_t i = 0; rc == 0 && i < t->nnodes; i++)
        t->nodes[i].is_virtual = !bsearch(&t->nodes[i].id, svc, n, sizeof *svc, cmp_str);
    return rc;
}

static int topology_of(query *q, const osp_golden_thresholds *th, int64_t start, int64_t end,
                       osp_golden_topology *t)
{
    double seconds = range_s(start, end);
    group **s = sorted_groups(q);
    if (!s)
        return OSP_ENOMEM;
    size_t ne = 0;
    for (size_t i = 0; i < q->ng; i++)
        if (s[i]->v[S_CALLS] > 0 && s[i]->key[0].n && s[i]->key[1].n)
            s[ne++] = s[i];
    int rc = topo_nodes(q, s, ne, t);
    t->edges = rc ? NULL : osp_arena_calloc(q->arena, ne + 1, sizeof *t->edges);
    if (rc == 0 && !t->edges)
        rc = OSP_ENOMEM;
    for (size_t i = 0; rc == 0 && i < ne; i++) {
        osp_golden_edge *e = &t->edges[t->nedges++];
        e->client = node_index(t, s[i]->key[0]);
        e->server = node_index(t, s[i]->key[1]);
        e->connection_type = s[i]->key[2];
        red_of(s[i], edge_hist(s[i]), seconds, &e->red);
        e->health = osp_golden_health(th, &e->red);
    }
    if (rc == 0)
        rc = topo_node_figures(q, s, t, seconds);
    if (rc == 0)
        rc = topo_virtual(q, start, end, t);
    for (size_t i = 0; rc == 0 && i < t->nnodes; i++)
        t->nodes[i].health = osp_golden_health(th, &t->nodes[i].red);
    return rc ? rc : osp_golden_hot_path(t, q->arena);
}

int osp_golden_topology_get(const osp_golden_env *env, const osp_golden_thresholds *t,
                            int64_t start_ms, int64_t end_ms, osp_arena *arena,
                            osp_golden_topology *out)
{
    query q;
    memset(out, 0, sizeof *out);
    int rc = run_range(&q, env, arena, start_ms, end_ms, edge_families, NFAM(edge_families),
                       route_edge, 0);
    if (rc == 0)
        rc = topology_of(&q, t, start_ms, end_ms, out);
    query_cleanup(&q);
    return rc;
}

/* ---- hot path ---- */

/* The search state: the chain being extended, and the best one found. */
typedef struct hot_search {
    const osp_golden_topology *t;
    size_t *first; /* first[v] .. first[v + 1]: the edges out of v (edges sort by client) */
    size_t *path, *next;
    double *sum;
    unsigned char *on;
    size_t *best;
    size_t nbest;
    double best_sum;
    size_t steps;
} hot_search;

static double edge_weight(const osp_golden_edge *e)
{
    double w = e->red.rate * e->red.p95;
    return isnan(w) ? 0 : w;
}

/* Depth-first from root, never revisiting a node of the chain. */
static void hot_from(hot_search *h, size_t root)
{
    size_t d = 1;
    h->path[0] = root;
    h->next[0] = h->first[root];
    h->sum[0] = 0;
    h->on[root] = 1;
    while (d > 0) {
        size_t v = h->path[d - 1];
        if (h->next[d - 1] == h->first[v + 1] || h->steps == MAX_HOT_STEPS) {
            h->on[v] = 0;
            d--;
            continue;
        }
        const osp_golden_edge *e = &h->t->edges[h->next[d - 1]++];
        h->steps++;
        if (h->on[e->server])
            continue;
        h->path[d] = e->server;
        h->next[d] = h->first[e->server];
        h->sum[d] = h->sum[d - 1] + edge_weight(e);
        h->on[e->server] = 1;
        d++;
        if (h->sum[d - 1] > h->best_sum) {
            h->best_sum = h->sum[d - 1];
            memcpy(h->best, h->path, d * sizeof *h->path);
            h->nbest = d;
        }
    }
}

int osp_golden_hot_path(osp_golden_topology *t, osp_arena *arena)
{
    size_t n = t->nnodes;
    hot_search h = {.t = t, .best_sum = -1};
    h.first = osp_arena_calloc(arena, n + 2, sizeof *h.first);
    h.path = osp_arena_alloc(arena, (n + 1) * sizeof *h.path);
    h.next = osp_arena_alloc(arena, (n + 1) * sizeof *h.next);
    h.sum = osp_arena_alloc(arena, (n + 1) * sizeof *h.sum);
    h.on = osp_arena_calloc(arena, n + 1, 1);
    h.best = osp_arena_alloc(arena, (n + 1) * sizeof *h.best);
    unsigned char *served = osp_arena_calloc(arena, n + 1, 1);
    t->hot_path = NULL;
    t->nhot = 0;
    if (!h.first || !h.path || !h.next || !h.sum || !h.on || !h.best || !served)
        return OSP_ENOMEM;
    for (size_t i = 0; i < t->nedges; i++) {
        h.first[t->edges[i].client + 1]++;
        served[t->edges[i].server] = 1;
    }
    for (size_t v = 0; v < n; v++)
        h.first[v + 1] += h.first[v];
    for (size_t v = 0; v < n; v++)
        if (!served[v])
            hot_from(&h, v);
    t->hot_path = h.best;
    t->nhot = h.nbest;
    return 0;
}

/* ---- time series ---- */

static void series_step(query *q, size_t k)
{
    for (size_t i = 0; i < q->ng; i++)
        q->g[i].points[k] = metric_value(q->metric, &q->g[i]);
}

static int is_quantile(int metric)
{
    return metric == OSP_GOLDEN_LATENCY_P95 || metric == OSP_GOLDEN_TTFT_P95 ||
           metric == OSP_GOLDEN_TPOT_P95;
}

/* The series with at least one value, by key; counts are 0 where a group had none. */
static int series_of(query *q, osp_golden_series **out, size_t *n)
{
    group **s = sorted_groups(q);
    osp_golden_series *r = osp_arena_calloc(q->arena, q->ng + 1, sizeof *r);
    if (!s || !r)
        return OSP_ENOMEM;
    *n = 0;
    for (size_t i = 0; i < q->ng; i++) {
        int any = 0;
        for (size_t k = 0; k < q->nsteps; k++) {
            double *v = &s[i]->points[k];
            if (isnan(*v) && !is_quantile(q->metric))
                *v = 0;
            any |= !isnan(*v) && *v != 0;
        }
        if (any)
            r[(*n)++] = (osp_golden_series){s[i]->key[0], s[i]->points};
    }
    *out = r;
    return 0;
}

/* The one family a time series of metric reads. */
static const family *series_family(int metric)
{
    static const family calls = {APP_DURATION, F_DURATION, MODEL_CALLS, 1, 1};
    switch (metric) {
    case OSP_GOLDEN_TOKENS:
    case OSP_GOLDEN_COST:
        return &model_families[3];
    case OSP_GOLDEN_TTFT_P95:
        return &model_families[1];
    case OSP_GOLDEN_TPOT_P95:
        return &model_families[2];
    default:
        return &calls;
    }
}

int osp_golden_timeseries_get(const osp_golden_env *env, int metric, int by, int64_t start_ms,
                              int64_t end_ms, int64_t step_ms, osp_arena *arena,
                              osp_golden_series **out, size_t *n, size_t *nsteps)
{
    query q;
    *n = *nsteps = 0;
    if (check_range(start_ms, end_ms) || step_ms <= 0 || step_ms > end_ms - start_ms ||
        (end_ms - start_ms) / step_ms > OSP_GOLDEN_MAX_STEPS)
        return OSP_EINVAL;
    query_init(&q, env, arena, start_ms, end_ms);
    q.step = step_ms;
    q.nsteps = (size_t)((end_ms - start_ms) / step_ms);
    q.timeseries = 1;
    q.metric = metric;
    q.by = by;
    q.fam = series_family(metric);
    q.nfam = 1;
    q.route = route_genai;
    q.step_done = series_step;
    int rc = run(&q, start_ms + (int64_t)q.nsteps * step_ms);
    if (rc == 0)
        rc = series_of(&q, out, n);
    if (rc == 0)
        *nsteps = q.nsteps;
    query_cleanup(&q);
    return rc;
}

/* ---- diagnostic ---- */

typedef struct span_ref {
    const uint8_t *id;
    size_t index;
} span_ref;

static int cmp_span_ref(const void *a, const void *b)
{
    return memcmp(((const span_ref *)a)->id, ((const span_ref *)b)->id, 8);
}

/* parent[i]: the index of span i's parent in b, or SIZE_MAX. */
static int parents_of(const osp_span_batch *b, osp_arena *arena, size_t *parent)
{
    static const uint8_t none[8];
    span_ref *refs = osp_arena_alloc(arena, (b->nspans + 1) * sizeof *refs);
    if (!refs)
        return OSP_ENOMEM;
    for (size_t i = 0; i < b->nspans; i++)
        refs[i] = (span_ref){b->spans[i].span_id, i};
    qsort(refs, b->nspans, sizeof *refs, cmp_span_ref);
    for (size_t i = 0; i < b->nspans; i++) {
        span_ref key = {b->spans[i].parent_span_id, 0};
        const span_ref *p = memcmp(key.id, none, 8)
                                ? bsearch(&key, refs, b->nspans, sizeof *refs, cmp_span_ref)
                                : NULL;
        parent[i] = p && p->index != i ? p->index : SIZE_MAX;
    }
    return 0;
}

/* Session and user inheritance down every parent chain, ancestors first. */
static void inherit_all(size_t n, const size_t *parent, unsigned char *state, size_t *chain,
                        osp_genai *g)
{
    enum { TODO, ON_CHAIN, DONE };
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        for (size_t j = i; j != SIZE_MAX && state[j] == TODO; j = parent[j]) {
            state[j] = ON_CHAIN;
            chain[len++] = j;
        }
        while (len > 0) {
            size_t c = chain[--len];
            if (parent[c] != SIZE_MAX && state[parent[c]] == DONE)
                osp_genai_inherit(&g[c], &g[parent[c]]);
            state[c] = DONE;
        }
    }
}

int osp_golden_diagnose(const osp_span_batch *b, osp_arena *arena, osp_genai **out)
{
    size_t n = b->nspans;
    osp_genai *g = osp_arena_calloc(arena, n + 1, sizeof *g);
    size_t *parent = osp_arena_alloc(arena, (n + 1) * sizeof *parent);
    size_t *chain = osp_arena_alloc(arena, (n + 1) * sizeof *chain);
    unsigned char *state = osp_arena_calloc(arena, n + 1, 1);
    if (!g || !parent || !chain || !state)
        return OSP_ENOMEM;
    int rc = parents_of(b, arena, parent);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const osp_span *s = &b->spans[i];
        const osp_resource *res = s->resource < b->nresources ? &b->resources[s->resource] : NULL;
        rc = osp_genai_normalize(s, res, arena, &g[i]);
    }
    if (rc == 0) {
        inherit_all(n, parent, state, chain, g);
        *out = g;
    }
    return rc;
}
