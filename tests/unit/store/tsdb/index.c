/* Unit tests for the in-memory series index (src/store/tsdb/index.c). */
#include "testutil.h"

#include <pthread.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/mem.h"
#include "store/tsdb/index.h"

#define L(n, v) ((osp_label){OSP_STR_LIT(n), OSP_STR_LIT(v)})
#define M(t, n, v) ((osp_label_matcher){(t), OSP_STR_LIT(n), OSP_STR_LIT(v)})

static uint64_t add(osp_series_index *idx, const osp_label *l, size_t n, int want_created)
{
    uint64_t id = ~(uint64_t)0;
    int created = -1;
    assert_int_equal(osp_series_index_get_or_create(idx, l, n, &id, &created), 0);
    assert_int_equal(created, want_created);
    return id;
}

static void test_create_dedup(void **state)
{
    osp_series_index *idx;
    assert_int_equal(osp_series_index_create(NULL, &idx), 0);
    osp_label a[] = {L("__name__", "up"), L("instance", "a:9100"), L("job", "node")};
    osp_label b[] = {L("__name__", "up"), L("instance", "b:9100"), L("job", "node")};
    assert_int_equal(add(idx, a, 3, 1), 0);
    assert_int_equal(add(idx, b, 3, 1), 1);
    assert_int_equal(add(idx, a, 3, 0), 0);
    assert_int_equal(add(idx, a, 2, 1), 2); /* a prefix is another set */

    /* validation */
    uint64_t id;
    osp_label unsorted[] = {L("job", "x"), L("instance", "y")};
    osp_label dup[] = {L("job", "x"), L("job", "y")};
    osp_label empty_v[] = {L("job", "")};
    osp_label empty_n[] = {L("", "x")};
    assert_int_equal(osp_series_index_get_or_create(idx, unsorted, 2, &id, NULL), OSP_EINVAL);
    assert_int_equal(osp_series_index_get_or_create(idx, dup, 2, &id, NULL), OSP_EINVAL);
    assert_int_equal(osp_series_index_get_or_create(idx, empty_v, 1, &id, NULL), OSP_EINVAL);
    assert_int_equal(osp_series_index_get_or_create(idx, empty_n, 1, &id, NULL), OSP_EINVAL);
    assert_int_equal(osp_series_index_get_or_create(idx, a, 0, &id, NULL), OSP_EINVAL);

    osp_arena ar;
    osp_arena_init(&ar, 0, 0);
    osp_label *got;
    size_t n;
    assert_int_equal(osp_series_labels(idx, 1, &ar, &got, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_true(osp_str_eq(got[i].name, b[i].name));
        assert_true(osp_str_eq(got[i].value, b[i].value));
    }
    assert_int_equal(osp_series_labels(idx, 3, &ar, &got, &n), OSP_ENOTFOUND);
    osp_series_index_stats st;
    osp_series_index_get_stats(idx, &st);
    assert_int_equal(st.nseries, 3);
    assert_int_equal(st.nstrings, 7); /* __name__ up instance a:9100 b:9100 job node */
    osp_arena_cleanup(&ar);
    osp_series_index_destroy(idx);
}

static void test_collisions(void **state)
{
    osp_series_index *idx;
    assert_int_equal(osp_series_index_create(NULL, &idx), 0);
    osp__series_index_set_hash_mask(idx, 0); /* every set hashes to 0 */
    char buf[32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 300; i++) {
            snprintf(buf, sizeof buf, "v%d", i);
            osp_label l[] = {L("__name__", "m"), {OSP_STR_LIT("k"), osp_str_c(buf)}};
            assert_int_equal(add(idx, l, 2, round == 0), (uint64_t)i);
        }
    }
    osp_series_index_destroy(idx);
}

/* Batch lookups find what get_or_create made, at every position of a batch longer than
 * the lookahead, and report absent and malformed sets as UINT64_MAX; also when every set
 * collides. */
static void test_lookup_batch(void **state)
{
    for (int mask = 0; mask < 2; mask++) {
        osp_series_index *idx;
        assert_int_equal(osp_series_index_create(NULL, &idx), 0);
        if (mask)
            osp__series_index_set_hash_mask(idx, 0);
        enum { N = 40 };
        char vals[N][16];
        osp_label ls[N][2];
        osp_series ser[N + 2];
        uint64_t ids[N + 2];
        osp_series_index_lookup_batch(idx, ser, 0, ids);
        for (int i = 0; i < N; i++) {
            snprintf(vals[i], sizeof vals[i], "v%d", i);
            ls[i][0] = L("__name__", "m");
            ls[i][1] = (osp_label){OSP_STR_LIT("k"), osp_str_c(vals[i])};
            ser[i] = (osp_series){.labels = ls[i], .nlabels = 2};
        }
        osp_series_index_lookup_batch(idx, ser, N, ids); /* empty index */
        for (int i = 0; i < N; i++)
            assert_int_equal(ids[i], UINT64_MAX);
        for (int i = 0; i < N; i += 2)
            assert_int_equal(add(idx, ls[i], 2, 1), (uint64_t)(i / 2));
        osp_label unsorted[] = {L("k", "v0"), L("__name__", "m")};
        ser[N] = (osp_series){.labels = unsorted, .nlabels = 2};
        ser[N + 1] = (osp_series){.labels = NULL};
        osp_series_index_lookup_batch(idx, ser, N + 2, ids);
        for (int i = 0; i < N; i++)
            assert_int_equal(ids[i], i % 2 ? UINT64_MAX : (uint64_t)(i / 2));
        assert_int_equal(ids[N], UINT64_MAX);
        assert_int_equal(ids[N + 1], UINT64_MAX);
        osp_series_index_destroy(idx);
    }
}

static void test_limit(void **state)
{
    osp_series_index *idx;
    osp_series_index_config cfg = {.max_series_per_metric = 3};
    assert_int_equal(osp_series_index_create(&cfg, &idx), 0);
    char buf[32];
    uint64_t id;
    for (int i = 0; i < 5; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        osp_label l[] = {L("__name__", "a"), {OSP_STR_LIT("i"), osp_str_c(buf)}};
        int rc = osp_series_index_get_or_create(idx, l, 2, &id, NULL);
        assert_int_equal(rc, i < 3 ? 0 : OSP_ETOOBIG);
        osp_label o[] = {L("__name__", "b"), {OSP_STR_LIT("i"), osp_str_c(buf)}};
        assert_int_equal(osp_series_index_get_or_create(idx, o, 2, &id, NULL),
                         i < 3 ? 0 : OSP_ETOOBIG);
    }
    /* existing series still resolve; series without __name__ are not limited */
    osp_label e[] = {L("__name__", "a"), L("i", "1")};
    assert_int_equal(add(idx, e, 2, 0), 2);
    for (int i = 0; i < 5; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        osp_label l[] = {{OSP_STR_LIT("i"), osp_str_c(buf)}};
        assert_int_equal(osp_series_index_get_or_create(idx, l, 1, &id, NULL), 0);
    }
    osp_series_index_set_limit(idx, 0);
    osp_label l[] = {L("__name__", "a"), L("i", "9")};
    assert_int_equal(osp_series_index_get_or_create(idx, l, 2, &id, NULL), 0);
    osp_series_index_destroy(idx);
}

/* Fixture for matcher tests:
 * 0 {__name__=up, job=api, env=prod}
 * 1 {__name__=up, job=api, env=dev}
 * 2 {__name__=up, job=db}
 * 3 {__name__=http, job=api, env=prod, code=200}
 * 4 {__name__=http, job=api, code=500} */
static osp_series_index *fixture(void)
{
    osp_series_index *idx;
    assert_int_equal(osp_series_index_create(NULL, &idx), 0);
    osp_label s0[] = {L("__name__", "up"), L("env", "prod"), L("job", "api")};
    osp_label s1[] = {L("__name__", "up"), L("env", "dev"), L("job", "api")};
    osp_label s2[] = {L("__name__", "up"), L("job", "db")};
    osp_label s3[] = {L("__name__", "http"), L("code", "200"), L("env", "prod"), L("job", "api")};
    osp_label s4[] = {L("__name__", "http"), L("code", "500"), L("job", "api")};
    add(idx, s0, 3, 1);
    add(idx, s1, 3, 1);
    add(idx, s2, 2, 1);
    add(idx, s3, 4, 1);
    add(idx, s4, 3, 1);
    return idx;
}

/* Runs a selection and compares it with a bitmask of expected ids. */
static void expect(osp_series_index *idx, const osp_label_matcher *m, size_t n, unsigned want)
{
    osp_arena ar;
    osp_arena_init(&ar, 0, 0);
    uint64_t *ids;
    size_t nids;
    assert_int_equal(osp_series_select(idx, m, n, &ar, &ids, &nids), 0);
    unsigned got = 0;
    for (size_t i = 0; i < nids; i++) {
        if (i)
            assert_true(ids[i - 1] < ids[i]);
        got |= 1u << ids[i];
    }
    if (got != want)
        fail_msg("selection %#x, want %#x", got, want);
    osp_arena_cleanup(&ar);
}

static void test_matchers(void **state)
{
    osp_series_index *idx = fixture();
    osp_label_matcher m[3];
    m[0] = M(OSP_MATCH_EQ, "__name__", "up");
    expect(idx, m, 1, 0x07);
    m[1] = M(OSP_MATCH_EQ, "job", "api");
    expect(idx, m, 2, 0x03);
    m[1] = M(OSP_MATCH_NEQ, "job", "api");
    expect(idx, m, 2, 0x04);
    m[1] = M(OSP_MATCH_NEQ, "env", "prod"); /* series without env pass != */
    expect(idx, m, 2, 0x06);
    m[1] = M(OSP_MATCH_EQ, "env", ""); /* no env label */
    expect(idx, m, 2, 0x04);
    m[1] = M(OSP_MATCH_NEQ, "env", ""); /* has env */
    expect(idx, m, 2, 0x03);
    m[1] = M(OSP_MATCH_EQ, "nosuch", "");
    expect(idx, m, 2, 0x07);
    m[1] = M(OSP_MATCH_EQ, "nosuch", "x");
    expect(idx, m, 2, 0x00);
    m[1] = M(OSP_MATCH_EQ, "env", "nosuch");
    expect(idx, m, 2, 0x00);

    /* regexes: anchored, alternation, empty match */
    m[0] = M(OSP_MATCH_RE, "job", "ap");
    expect(idx, m, 1, 0x00);
    m[0] = M(OSP_MATCH_RE, "job", "ap.*");
    expect(idx, m, 1, 0x1b);
    m[0] = M(OSP_MATCH_RE, "job", "api|db");
    expect(idx, m, 1, 0x1f);
    m[0] = M(OSP_MATCH_RE, "__name__", "u|h");
    expect(idx, m, 1, 0x00);
    m[0] = M(OSP_MATCH_RE, "env", "|dev"); /* no env, or dev */
    expect(idx, m, 1, 0x16);
    m[0] = M(OSP_MATCH_RE, "env", ".*");
    expect(idx, m, 1, 0x1f);
    m[0] = M(OSP_MATCH_RE, "env", ".+");
    expect(idx, m, 1, 0x0b);
    m[0] = M(OSP_MATCH_RE, "job", "(?i)API|\\w{2}"); /* RE2 syntax */
    expect(idx, m, 1, 0x1f);
    m[0] = M(OSP_MATCH_RE, "job", "a(?:p+?)i");
    expect(idx, m, 1, 0x1b);
    m[0] = M(OSP_MATCH_NRE, "env", "pro");
    expect(idx, m, 1, 0x1f);
    m[0] = M(OSP_MATCH_NRE, "env", "pr.*");
    expect(idx, m, 1, 0x16);
    m[0] = M(OSP_MATCH_NRE, "env", "|dev"); /* has env and it is not dev */
    expect(idx, m, 1, 0x09);
    m[0] = M(OSP_MATCH_NRE, "code", "5..");
    m[1] = M(OSP_MATCH_EQ, "__name__", "http");
    expect(idx, m, 2, 0x08);
    m[0] = M(OSP_MATCH_RE, "code", "[25]00");
    m[1] = M(OSP_MATCH_NEQ, "env", "prod");
    m[2] = M(OSP_MATCH_RE, "job", "a.i");
    expect(idx, m, 3, 0x10);

    /* errors */
    osp_arena ar;
    osp_arena_init(&ar, 0, 0);
    uint64_t *ids;
    size_t nids;
    m[0] = M(OSP_MATCH_RE, "job", "a)|(b");
    assert_int_equal(osp_series_select(idx, m, 1, &ar, &ids, &nids), OSP_EPARSE);
    m[0] = M(OSP_MATCH_RE, "job", "(");
    assert_int_equal(osp_series_select(idx, m, 1, &ar, &ids, &nids), OSP_EPARSE);
    m[0] = M(7, "job", "x");
    assert_int_equal(osp_series_select(idx, m, 1, &ar, &ids, &nids), OSP_EINVAL);
    m[0] = M(OSP_MATCH_EQ, "", "x");
    assert_int_equal(osp_series_select(idx, m, 1, &ar, &ids, &nids), OSP_EINVAL);
    assert_int_equal(osp_series_select(idx, m, 0, &ar, &ids, &nids), OSP_EINVAL);
    osp_arena_cleanup(&ar);
    osp_series_index_destroy(idx);
}

static void test_listings(void **state)
{
    osp_series_index *idx = fixture();
    osp_arena ar;
    osp_arena_init(&ar, 0, 0);
    osp_str *s;
    size_t n;
    assert_int_equal(osp_series_label_names(idx, &ar, &s, &n), 0);
    const char *names[] = {"__name__", "code", "env", "job"};
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_true(osp_str_eqz(s[i], names[i]));
    assert_int_equal(osp_series_label_values(idx, OSP_STR_LIT("job"), &ar, &s, &n), 0);
    assert_int_equal(n, 2);
    assert_true(osp_str_eqz(s[0], "api"));
    assert_true(osp_str_eqz(s[1], "db"));
    assert_int_equal(osp_series_label_values(idx, OSP_STR_LIT("__name__"), &ar, &s, &n), 0);
    assert_int_equal(n, 2);
    assert_true(osp_str_eqz(s[0], "http"));
    assert_true(osp_str_eqz(s[1], "up"));
    assert_int_equal(osp_series_label_values(idx, OSP_STR_LIT("nosuch"), &ar, &s, &n), 0);
    assert_int_equal(n, 0);
    osp_arena_cleanup(&ar);
    osp_series_index_destroy(idx);
}

/* Ids selected by one matcher, as a bit set of the first 64 ids. */
static uint64_t selected(osp_series_index *idx, osp_label_matcher m)
{
    osp_arena ar;
    uint64_t *ids, bits = 0;
    size_t n;
    osp_arena_init(&ar, 0, 0);
    assert_int_equal(osp_series_select(idx, &m, 1, &ar, &ids, &n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_true(ids[i] < 64 && (i == 0 || ids[i] > ids[i - 1]));
        bits |= (uint64_t)1 << ids[i];
    }
    osp_arena_cleanup(&ar);
    return bits;
}

static size_t values_of(osp_series_index *idx, const char *name, const char **want)
{
    osp_arena ar;
    osp_str *v;
    size_t n;
    osp_arena_init(&ar, 0, 0);
    assert_int_equal(osp_series_label_values(idx, osp_str_c(name), &ar, &v, &n), 0);
    for (size_t i = 0; i < n; i++)
        assert_true(osp_str_eqz(v[i], want[i]));
    osp_arena_cleanup(&ar);
    return n;
}

static void test_remove(void **state)
{
    osp_series_index_config cfg = {.max_series_per_metric = 3};
    osp_series_index *idx;
    assert_int_equal(osp_series_index_create(&cfg, &idx), 0);
    osp_label s0[] = {L("__name__", "up"), L("pod", "a")};
    osp_label s1[] = {L("__name__", "up"), L("pod", "b")};
    osp_label s2[] = {L("__name__", "up"), L("pod", "c"), L("zone", "x")};
    osp_label s3[] = {L("__name__", "http"), L("pod", "a")};
    osp_label s4[] = {L("__name__", "up"), L("pod", "d")};
    assert_int_equal(add(idx, s0, 2, 1), 0);
    assert_int_equal(add(idx, s1, 2, 1), 1);
    assert_int_equal(add(idx, s2, 3, 1), 2);
    assert_int_equal(add(idx, s3, 2, 1), 3);
    uint64_t id;
    assert_int_equal(osp_series_index_get_or_create(idx, s4, 2, &id, NULL), OSP_ETOOBIG);

    uint64_t gone[] = {1, 2, 2, 99}; /* a repeat and an id never assigned are skipped */
    assert_int_equal(osp_series_index_remove(idx, gone, 4), 0);
    osp_series_index_stats st;
    osp_series_index_get_stats(idx, &st);
    assert_int_equal(st.nseries, 4);
    assert_int_equal(st.nremoved, 2);

    osp_arena ar;
    osp_label *l;
    size_t n;
    osp_arena_init(&ar, 0, 0);
    assert_int_equal(osp_series_labels(idx, 1, &ar, &l, &n), OSP_ENOTFOUND);
    assert_int_equal(osp_series_labels(idx, 2, &ar, &l, &n), OSP_ENOTFOUND);
    assert_int_equal(osp_series_labels(idx, 3, &ar, &l, &n), 0); /* survivors keep their labels */
    assert_int_equal(n, 2);
    assert_true(osp_str_eqz(l[0].value, "http") && osp_str_eqz(l[1].value, "a"));
    osp_arena_cleanup(&ar);

    assert_int_equal(selected(idx, M(OSP_MATCH_EQ, "__name__", "up")), 1u << 0);
    assert_int_equal(selected(idx, M(OSP_MATCH_NEQ, "pod", "zzz")), 1u << 0 | 1u << 3);
    assert_int_equal(selected(idx, M(OSP_MATCH_EQ, "zone", "x")), 0);
    assert_int_equal(values_of(idx, "pod", (const char *[]){"a"}), 1);
    assert_int_equal(values_of(idx, "zone", NULL), 0);
    osp_arena_init(&ar, 0, 0);
    osp_str *names;
    assert_int_equal(osp_series_label_names(idx, &ar, &names, &n), 0);
    assert_int_equal(n, 2); /* zone went with the last series that had it */
    osp_arena_cleanup(&ar);

    /* The limit counts live series; a removed set comes back under a new id. */
    assert_int_equal(add(idx, s4, 2, 1), 4);
    assert_int_equal(add(idx, s1, 2, 1), 5);
    assert_int_equal(add(idx, s1, 2, 0), 5);
    assert_int_equal(osp_series_index_get_or_create(idx, s2, 3, &id, NULL), OSP_ETOOBIG);
    assert_int_equal(selected(idx, M(OSP_MATCH_EQ, "__name__", "up")), 1u << 0 | 1u << 4 | 1u << 5);

    uint64_t all[] = {0, 3, 4, 5};
    assert_int_equal(osp_series_index_remove(idx, all, 4), 0);
    assert_int_equal(selected(idx, M(OSP_MATCH_NEQ, "pod", "zzz")), 0);
    assert_int_equal(values_of(idx, "__name__", NULL), 0);
    assert_int_equal(add(idx, s0, 2, 1), 6);
    assert_int_equal(selected(idx, M(OSP_MATCH_RE, "pod", ".*")), 1u << 6);
    osp_series_index_destroy(idx);
}

/* Removal under allocation failure leaves the index whole; then it succeeds. */
static void test_remove_oom(void **state)
{
    char buf[32];
    for (unsigned long k = 1;; k++) {
        osp_series_index *idx;
        assert_int_equal(osp_series_index_create(NULL, &idx), 0);
        for (int i = 0; i < 40; i++) {
            snprintf(buf, sizeof buf, "v%d", i);
            osp_label l[] = {L("__name__", "m"), {OSP_STR_LIT("k"), osp_str_c(buf)}};
            uint64_t id;
            assert_int_equal(osp_series_index_get_or_create(idx, l, 2, &id, NULL), 0);
        }
        uint64_t odd[20];
        for (int i = 0; i < 20; i++)
            odd[i] = (uint64_t)(2 * i + 1);
        osp_mem_fail_after(k);
        int rc = osp_series_index_remove(idx, odd, 20);
        osp_mem_fail_after(0);
        osp_arena ar;
        uint64_t *ids;
        size_t nids;
        osp_label_matcher m = M(OSP_MATCH_EQ, "__name__", "m");
        osp_arena_init(&ar, 0, 0);
        assert_int_equal(osp_series_select(idx, &m, 1, &ar, &ids, &nids), 0);
        assert_int_equal(nids, rc == 0 ? 20 : 40);
        for (size_t i = 0; i < nids; i++)
            assert_int_equal(ids[i], rc == 0 ? 2 * i : i);
        osp_arena_cleanup(&ar);
        osp_series_index_destroy(idx);
        if (rc == 0)
            break;
        assert_int_equal(rc, OSP_ENOMEM);
    }
}

#define NTHREADS 4
#define PER_THREAD 5000

typedef struct worker {
    osp_series_index *idx;
    int seed;
    uint64_t ids[PER_THREAD];
} worker;

static void *insert_worker(void *arg)
{
    worker *w = arg;
    char buf[32];
    for (int i = 0; i < PER_THREAD; i++) {
        int k = (i * 7 + w->seed * 13) % PER_THREAD; /* same sets, different order */
        snprintf(buf, sizeof buf, "%d", k);
        osp_label l[] = {L("__name__", "m"), {OSP_STR_LIT("k"), osp_str_c(buf)}};
        if (osp_series_index_get_or_create(w->idx, l, 2, &w->ids[k], NULL) != 0)
            w->ids[k] = ~(uint64_t)0;
        if (i % 64 == 0) { /* a concurrent reader */
            osp_arena ar;
            uint64_t *ids;
            size_t nids;
            osp_label_matcher m = M(OSP_MATCH_RE, "k", "1.*");
            osp_arena_init(&ar, 0, 0);
            if (osp_series_select(w->idx, &m, 1, &ar, &ids, &nids) != 0)
                w->ids[k] = ~(uint64_t)0;
            osp_arena_cleanup(&ar);
        }
    }
    return NULL;
}

static void test_concurrency(void **state)
{
    osp_series_index *idx;
    assert_int_equal(osp_series_index_create(NULL, &idx), 0);
    static worker w[NTHREADS];
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i].idx = idx;
        w[i].seed = i;
        assert_int_equal(pthread_create(&t[i], NULL, insert_worker, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < PER_THREAD; k++) {
        assert_true(w[0].ids[k] < PER_THREAD);
        for (int i = 1; i < NTHREADS; i++)
            assert_int_equal(w[i].ids[k], w[0].ids[k]);
    }
    osp_series_index_stats st;
    osp_series_index_get_stats(idx, &st);
    assert_int_equal(st.nseries, PER_THREAD);
    osp_series_index_destroy(idx);
}

/* Fails the k-th allocation for every k until a run succeeds; each failure must leave an
 * index that still works and frees cleanly. */
static void test_oom(void **state)
{
    for (unsigned long k = 1;; k++) {
        osp_series_index *idx = NULL;
        osp_mem_fail_after(k);
        int rc = osp_series_index_create(NULL, &idx);
        char buf[32];
        for (int i = 0; rc == 0 && i < 40; i++) {
            snprintf(buf, sizeof buf, "v%d", i);
            osp_label l[] = {L("__name__", "m"), {OSP_STR_LIT("k"), osp_str_c(buf)}};
            uint64_t id;
            rc = osp_series_index_get_or_create(idx, l, 2, &id, NULL);
        }
        osp_arena ar;
        osp_arena_init(&ar, 0, 0);
        if (rc == 0) {
            uint64_t *ids;
            size_t nids;
            osp_label_matcher m[] = {M(OSP_MATCH_RE, "k", "v1.*|v2")};
            rc = osp_series_select(idx, m, 1, &ar, &ids, &nids);
            if (rc == 0)
                assert_int_equal(nids, 12);
        }
        osp_mem_fail_after(0);
        osp_arena_cleanup(&ar);
        if (rc) {
            assert_int_equal(rc, OSP_ENOMEM);
            if (idx) { /* still usable after the failure */
                osp_label l[] = {L("__name__", "m"), L("k", "again")};
                uint64_t id;
                assert_int_equal(osp_series_index_get_or_create(idx, l, 2, &id, NULL), 0);
                osp_label *got;
                size_t n;
                osp_arena_init(&ar, 0, 0);
                assert_int_equal(osp_series_labels(idx, id, &ar, &got, &n), 0);
                assert_int_equal(n, 2);
                assert_true(osp_str_eqz(got[1].value, "again"));
                osp_arena_cleanup(&ar);
            }
        }
        osp_series_index_destroy(idx);
        if (rc == 0)
            break;
    }
}

/* Prints memory per series for 100k realistic series; a figure, not an assertion. */
static void test_bytes_per_series(void **state)
{
    static const char *metrics[20] = {"node_cpu_seconds_total",
                                      "node_memory_MemFree_bytes",
                                      "node_load1",
                                      "node_network_receive_bytes_total",
                                      "node_network_transmit_bytes_total",
                                      "node_disk_read_bytes_total",
                                      "node_disk_written_bytes_total",
                                      "node_filesystem_avail_bytes",
                                      "http_requests_total",
                                      "http_request_duration_seconds_bucket",
                                      "process_cpu_seconds_total",
                                      "process_resident_memory_bytes",
                                      "go_goroutines",
                                      "go_gc_duration_seconds",
                                      "up",
                                      "scrape_duration_seconds",
                                      "container_cpu_usage_seconds_total",
                                      "container_memory_working_set_bytes",
                                      "kube_pod_status_phase",
                                      "grpc_server_handled_total"};
    size_t before = osp_mem_in_use();
    osp_series_index *idx;
    assert_int_equal(osp_series_index_create(NULL, &idx), 0);
    char inst[64], pod[64], code[16];
    size_t n = 0;
    for (int i = 0; n < 100000; i++) {
        int host = i % 1000, metric = (i / 1000) % 20, variant = i / 20000;
        snprintf(inst, sizeof inst, "10.%d.%d.%d:9100", host / 250, host % 250, variant);
        snprintf(pod, sizeof pod, "api-%08x-%05d", (unsigned)(host * 2654435761u), host);
        snprintf(code, sizeof code, "%d", 200 + variant * 100);
        osp_label l[] = {
            {OSP_STR_LIT("__name__"), osp_str_c(metrics[metric])},
            {OSP_STR_LIT("cluster"), osp_str_c(host < 500 ? "eu-west-1" : "us-east-1")},
            {OSP_STR_LIT("code"), osp_str_c(code)},
            {OSP_STR_LIT("instance"), osp_str_c(inst)},
            {OSP_STR_LIT("job"), osp_str_c(metric < 8 ? "node" : "api")},
            {OSP_STR_LIT("namespace"), osp_str_c(host % 3 ? "prod" : "staging")},
            {OSP_STR_LIT("pod"), osp_str_c(pod)}};
        uint64_t id;
        int created;
        assert_int_equal(osp_series_index_get_or_create(idx, l, 7, &id, &created), 0);
        n += created;
    }
    osp_series_index_stats st;
    osp_series_index_get_stats(idx, &st);
    size_t used = osp_mem_in_use() - before;
    printf("index: %zu series, 7 labels each, %llu strings, %llu postings lists: "
           "%.1f bytes/series (heap), %.1f by capacity count\n",
           n, (unsigned long long)st.nstrings, (unsigned long long)st.npairs,
           (double)used / (double)n, (double)st.bytes / (double)n);
    osp_arena ar;
    osp_arena_init(&ar, 0, 0);
    uint64_t *ids;
    size_t nids;
    osp_label_matcher m[] = {M(OSP_MATCH_EQ, "__name__", "up"),
                             M(OSP_MATCH_RE, "instance", "10\\.1\\..*"),
                             M(OSP_MATCH_NEQ, "namespace", "staging")};
    assert_int_equal(osp_series_select(idx, m, 3, &ar, &ids, &nids), 0);
    assert_true(nids > 0);
    osp_arena_cleanup(&ar);
    osp_series_index_destroy(idx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_dedup),     cmocka_unit_test(test_collisions),
        cmocka_unit_test(test_lookup_batch),     cmocka_unit_test(test_limit),
        cmocka_unit_test(test_matchers),         cmocka_unit_test(test_listings),
        cmocka_unit_test(test_concurrency),      cmocka_unit_test(test_oom),
        cmocka_unit_test(test_remove),           cmocka_unit_test(test_remove_oom),
        cmocka_unit_test(test_bytes_per_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
