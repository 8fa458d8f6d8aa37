/* Unit tests for analytics/logpattern: masking, recovery of known templates from a generated
 * service log, the similarity threshold, max children, caps, services, time buckets, the new
 * flag, truncation, empty messages, allocation failures and concurrent mining and querying. */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>

#include "analytics/logpattern.h"
#include "core/err.h"
#include "core/mem.h"

#define SEC 1000000000ull
#define MIN (60 * SEC)
#define T0 (1700000040ull * SEC) /* a bucket boundary at the default width */

static osp_logpattern *make(const osp_logpattern_config *cfg)
{
    osp_logpattern *lp = NULL;
    assert_int_equal(osp_logpattern_create(cfg, &lp), 0);
    return lp;
}

static uint64_t add(osp_logpattern *lp, const char *svc, const char *msg, uint64_t t)
{
    uint64_t id = 99;
    assert_int_equal(osp_logpattern_add(lp, osp_str_c(svc), osp_str_c(msg), t, &id), 0);
    return id;
}

/* Runs a query of svc (NULL: all) over [start, end] into a. */
static osp_logpattern_result query(osp_logpattern *lp, const char *svc, uint64_t start,
                                   uint64_t end, osp_arena *a)
{
    osp_logpattern_query q = {
        .service = svc ? osp_str_c(svc) : OSP_STR_NULL, .start_ns = start, .end_ns = end};
    osp_logpattern_result res;
    assert_int_equal(osp_logpattern_query_run(lp, &q, a, &res), 0);
    return res;
}

/* Asserts that every counter of the miner's stats equals want's. */
static void check_stats(osp_logpattern *lp, osp_logpattern_stats want)
{
    osp_logpattern_stats st;
    osp_logpattern_stats_get(lp, &st);
    assert_int_equal(st.services, want.services);
    assert_int_equal(st.templates, want.templates);
    assert_int_equal(st.messages, want.messages);
    assert_int_equal(st.other, want.other);
    assert_int_equal(st.empty, want.empty);
    assert_int_equal(st.truncated, want.truncated);
    assert_int_equal(st.dropped, want.dropped);
}

static const osp_logpattern_row *find_row(const osp_logpattern_result *res, const char *text)
{
    for (size_t i = 0; i < res->nrows; i++)
        if (strcmp(res->rows[i].text.p, text) == 0)
            return &res->rows[i];
    return NULL;
}

static void test_mask(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"took 12ms", "took <*>"},
        {"1.5s 250us 3\xc2\xb5s 1h30m 2d", "<*> <*> <*> <*> <*>"},
        {"42 -7 +3 3.14 6.02e23 1e-3 0x1f 0XFF", "<*> <*> <*> <*> <*> <*> <*> <*>"},
        {"99.5% 512KiB 3MB 10B", "<*> <*> <*> <*>"},
        {"from 10.0.0.1 and 192.168.1.20:8080", "from <*> and <*>"},
        {"10.0.0.256 1.2.3 10.0.0.1:70000 0x 1. -", "10.0.0.256 1.2.3 10.0.0.1:70000 0x <*>. -"},
        {"id 123e4567-e89b-12d3-a456-426614174000", "id <*>"},
        {"trace 4bf92f3577b34da6a3ce929d0e0e4736 span deadbeef", "trace <*> span deadbeef"},
        {"status=200 latency=12ms user=bob key= =5", "status=<*> latency=<*> user=bob key= =5"},
        {"(12ms), [0x1f] \"42\" 'abc' 7:", "(<*>), [<*>] \"<*>\" 'abc' <*>:"},
        {"v1.2 12abc abc12 /api/users/123 -", "v1.2 12abc abc12 /api/users/123 -"},
        {"  a\t\tb \r\n c  ", "a b c"},
        /* tokens across the eight-byte steps of the tokenizer, control and high bytes */
        {"abcdefg=12345678 abcdefgh=1 abcdefghijklmno7",
         "abcdefg=<*> abcdefgh=<*> abcdefghijklmno7"},
        {"abcdefgh\x01=12 abcd\x7f\x80\xff=9 \x1f"
         "42",
         "abcdefgh\x01=<*> abcd\x7f\x80\xff=<*> \x1f"
         "42"},
        {"aaaaaaa\vbbbbbbbb\fcccccccc 1234567", "aaaaaaa bbbbbbbb cccccccc <*>"},
        {"deadbeefdeadbeef abcdefabcdefabc", "<*> abcdefabcdefabc"},
        {"", ""},
        {" \t\n ", ""},
    };
    char out[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = osp_logpattern_mask(osp_str_c(cases[i][0]), 0, out, sizeof out);
        assert_true(n >= 0);
        assert_string_equal(out, cases[i][1]);
    }
    assert_int_equal(osp_logpattern_mask(osp_str_c("a b c"), 0, out, 3), OSP_ETOOBIG);
    assert_int_equal(osp_logpattern_mask(osp_str_c("a b c"), 0, out, 6), 3);
    /* a cut inside a token drops it, unless it is the only one */
    assert_int_equal(osp_logpattern_mask(osp_str_c("aaaa bbbb cccc dddd"), 12, out, 64), 2);
    assert_string_equal(out, "aaaa bbbb");
    assert_int_equal(osp_logpattern_mask(osp_str_c("aaaa bbbb cccc dddd"), 10, out, 64), 2);
    assert_string_equal(out, "aaaa bbbb");
    assert_int_equal(osp_logpattern_mask(osp_str_c("abcdefghij"), 4, out, 64), 1);
    assert_string_equal(out, "abcd");
    /* the worst case for the output size: every token one byte that becomes "<*>" */
    char worst[3 * 7 + 1];
    assert_int_equal(osp_logpattern_mask(osp_str_c("1 2 3 4"), 0, worst, sizeof worst), 4);
    assert_string_equal(worst, "<*> <*> <*> <*>");
}

/* ---- a generated service log with known templates ---- */

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t next(rng *r, uint32_t n)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s % n);
}

static const char *pick(rng *r, const char *const *a, size_t n)
{
    return a[next(r, (uint32_t)n)];
}
#define PICK(r, a) pick(r, a, sizeof a / sizeof a[0])

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
static const char *const paths[] = {"/api/v1/orders", "/api/v1/users", "/healthz",
                                    "/api/v1/cart",   "/login",        "/api/v1/search"};
static const char *const tables[] = {"users", "orders", "sessions", "payments"};
static const char *const pools[] = {"primary", "replica", "analytics"};
static const char *const frames[] = {
    "com.example.orders.OrderService.submit(OrderService.java:142)",
    "com.example.orders.OrderController.post(OrderController.java:57)",
    "com.example.db.Pool.acquire(Pool.java:311)",
    "java.base/java.lang.Thread.run(Thread.java:833)",
};
static const char *const hosts[] = {"inventory.internal", "payments.internal", "auth.internal"};

#define NKNOWN 15

/* The templates the generator draws from, as the miner should recover them. */
static const char *const known[NKNOWN] = {
    "<*> - - <*> <*> HTTP/1.1\" <*> <*> <*>",
    "db query <*> rows=<*> took <*>",
    "slow query detected on table <*> <*> exceeds threshold <*>",
    "cache hit <*> ttl=<*>",
    "cache miss for key <*> loading from database",
    "user <*> logged in from <*>",
    "session <*> expired after <*> idle",
    "WARN connection pool <*> exhausted: active=<*> idle=<*> waiting=<*>",
    "WARN connection acquire took <*> <*>",
    "ERROR request failed: java.lang.IllegalStateException: connection reset by peer",
    "at <*>",
    "Caused by: java.net.SocketTimeoutException: Read timed out after <*>",
    "GC pause <*> heap <*>",
    "shutting down",
    "retrying upstream <*> after status <*> in <*>",
};

/* Writes a line of known template k with random values into buf (256 bytes). */
static void gen_line(rng *r, int k, char *buf)
{
    unsigned a = next(r, 100000), b = next(r, 1000), c = next(r, 256);
    switch (k) {
    case 0:
        snprintf(buf, 256, "10.%u.%u.%u - - \"%s %s HTTP/1.1\" %u %u %u.%ums", c, b % 256, a % 256,
                 PICK(r, methods), PICK(r, paths), 200 + next(r, 4) * 100, a, b, c % 10);
        break;
    case 1:
        snprintf(buf, 256, "db query table=%s rows=%u took %ums", PICK(r, tables), b, c);
        break;
    case 2:
        snprintf(buf, 256, "slow query detected on table %s: %u.%us exceeds threshold 500ms",
                 PICK(r, tables), b % 10, c);
        break;
    case 3:
        snprintf(buf, 256, "cache hit key=user:%u ttl=%us", a, b);
        break;
    case 4:
        snprintf(buf, 256, "cache miss for key session:%u, loading from database", a);
        break;
    case 5:
        snprintf(buf, 256, "user %u logged in from 172.16.%u.%u", a, b % 256, c);
        break;
    case 6:
        snprintf(buf, 256, "session %08x-%04x-4%03x-a%03x-%012x expired after %um idle", a * 7919,
                 b, c, b, a, 1 + c % 30);
        break;
    case 7:
        snprintf(buf, 256, "WARN connection pool %s exhausted: active=%u idle=0 waiting=%u",
                 PICK(r, pools), 10 + b % 50, c);
        break;
    case 8:
        snprintf(buf, 256, "WARN connection acquire took %ums (pool=%s)", b, PICK(r, pools));
        break;
    case 9:
        snprintf(buf, 256,
                 "ERROR request failed: java.lang.IllegalStateException: connection reset by "
                 "peer");
        break;
    case 10:
        snprintf(buf, 256, "\tat %s", PICK(r, frames));
        break;
    case 11:
        snprintf(buf, 256, "Caused by: java.net.SocketTimeoutException: Read timed out after %ums",
                 b);
        break;
    case 12:
        snprintf(buf, 256, "GC pause %u.%ums heap %uMB->%uMB", b % 100, c, 256 + b, 128 + c);
        break;
    case 13:
        snprintf(buf, 256, "shutting down");
        break;
    default:
        snprintf(buf, 256, "retrying upstream %s after status %u in %ums", PICK(r, hosts),
                 500 + next(r, 4), b);
        break;
    }
}

/* Mines n generated lines of service svc from seed; adds each template's count to counts. */
static void mine_known(osp_logpattern *lp, const char *svc, uint64_t seed, size_t n,
                       uint64_t counts[NKNOWN])
{
    rng r = {seed};
    char line[256];
    for (size_t i = 0; i < n; i++) {
        int k = (int)next(&r, NKNOWN);
        gen_line(&r, k, line);
        uint64_t t = T0 + (uint64_t)next(&r, 3600) * SEC;
        assert_int_not_equal(add(lp, svc, line, t), 0);
        counts[k]++;
    }
}

/* Asserts that svc's templates are exactly the known ones with the given counts. */
static void check_known(osp_logpattern *lp, const char *svc, const uint64_t counts[NKNOWN])
{
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_logpattern_result res = query(lp, svc, T0, T0 + 3600 * SEC, &a);
    assert_int_equal(res.nrows, NKNOWN);
    uint64_t ids[NKNOWN];
    for (int k = 0; k < NKNOWN; k++) {
        const osp_logpattern_row *row = find_row(&res, known[k]);
        if (!row)
            fail_msg("template %d not recovered: %s", k, known[k]);
        assert_int_equal(row->count, counts[k]);
        assert_int_equal(row->total, counts[k]);
        ids[k] = row->id;
        for (int j = 0; j < k; j++)
            assert_int_not_equal(ids[j], ids[k]);
    }
    for (size_t i = 1; i < res.nrows; i++)
        assert_true(res.rows[i - 1].count >= res.rows[i].count);
    osp_arena_cleanup(&a);
}

static void test_known_templates(void **state)
{
    (void)state;
    osp_logpattern *lp = make(NULL);
    uint64_t counts[NKNOWN] = {0};
    mine_known(lp, "checkout", 0x9e3779b97f4a7c15ull, 6000, counts);
    for (int k = 0; k < NKNOWN; k++)
        assert_true(counts[k] > 300); /* every template well represented */
    check_known(lp, "checkout", counts);
    check_stats(lp, (osp_logpattern_stats){.services = 1, .templates = NKNOWN, .messages = 6000});
    assert_int_equal(osp_logpattern_seq(lp), NKNOWN);
    osp_logpattern_destroy(lp);
}

static void test_similarity_threshold(void **state)
{
    (void)state;
    /* 2 of the 5 positions agree: 0.4 joins at the default threshold */
    osp_logpattern *lp = make(NULL);
    uint64_t id = add(lp, "s", "alpha beta c d e", T0);
    assert_int_equal(add(lp, "s", "alpha beta x y z", T0), id);
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_logpattern_result res = query(lp, "s", T0, T0, &a);
    assert_int_equal(res.nrows, 1);
    assert_string_equal(res.rows[0].text.p, "alpha beta <*> <*> <*>");
    assert_int_equal(res.rows[0].id, id); /* the id outlives the generalization */
    /* positions where both sides are "<*>" count for neither side */
    assert_int_equal(add(lp, "s", "alpha beta 1 2 3", T0), id);
    assert_int_equal(add(lp, "s", "7 8 9", T0), add(lp, "s", "1.5 2.5 3.5", T0));
    osp_logpattern_destroy(lp);

    osp_logpattern_config cfg = {.sim_threshold = 0.5};
    lp = make(&cfg);
    id = add(lp, "s", "alpha beta c d e", T0);
    assert_int_not_equal(add(lp, "s", "alpha beta x y z", T0), id);
    assert_int_equal(add(lp, "s", "alpha beta c d q", T0), id); /* 0.8 */
    /* a message joins the most similar template of its leaf */
    uint64_t id2 = add(lp, "s", "alpha beta x y w", T0);
    assert_int_not_equal(id2, id);
    res = query(lp, "s", T0, T0, &a);
    assert_int_equal(res.nrows, 2);
    assert_non_null(find_row(&res, "alpha beta c d <*>"));
    assert_non_null(find_row(&res, "alpha beta x y <*>"));
    osp_arena_cleanup(&a);
    osp_logpattern_destroy(lp);

    cfg.sim_threshold = 1.5;
    osp_logpattern *bad = NULL;
    assert_int_equal(osp_logpattern_create(&cfg, &bad), OSP_EINVAL);
    cfg = (osp_logpattern_config){.depth = 2};
    assert_int_equal(osp_logpattern_create(&cfg, &bad), OSP_EINVAL);
    assert_null(bad);
}

static void test_max_children(void **state)
{
    (void)state;
    /* depth 3: one prefix token; two named children, then the wildcard branch */
    osp_logpattern_config cfg = {.depth = 3, .max_children = 2};
    osp_logpattern *lp = make(&cfg);
    uint64_t alpha = add(lp, "s", "alpha x", T0);
    uint64_t beta = add(lp, "s", "beta x", T0);
    uint64_t gamma = add(lp, "s", "gamma x", T0);
    assert_int_equal(add(lp, "s", "delta x", T0), gamma); /* both in the wildcard leaf */
    assert_int_equal(add(lp, "s", "alpha x", T0), alpha);
    assert_int_not_equal(alpha, beta);
    /* tokens with digits take the wildcard branch even with room for named ones */
    assert_int_equal(add(lp, "t", "a1 y", T0), add(lp, "t", "b2 y", T0));
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_logpattern_result res = query(lp, "s", T0, T0, &a);
    assert_int_equal(res.nrows, 3);
    assert_int_equal(find_row(&res, "alpha x")->count, 2);
    assert_int_equal(find_row(&res, "beta x")->count, 1);
    assert_int_equal(find_row(&res, "<*> x")->count, 2);
    osp_logpattern_destroy(lp);

    /* with the default, each first token has its own leaf */
    lp = make(&(osp_logpattern_config){.depth = 3});
    static const char *const lines[] = {"alpha x", "beta x", "gamma x", "delta x"};
    for (size_t i = 0; i < 4; i++)
        add(lp, "s", lines[i], T0);
    res = query(lp, "s", T0, T0, &a);
    assert_int_equal(res.nrows, 4);
    osp_arena_cleanup(&a);
    osp_logpattern_destroy(lp);
}

static void test_caps_and_other(void **state)
{
    (void)state;
    osp_logpattern_config cfg = {.max_templates = 3, .max_services = 2};
    osp_logpattern *lp = make(&cfg);
    /* token counts differ, so each would be a template of its own */
    static const char *const lines[] = {"one", "two words", "three words here",
                                        "four words are here", "five words are here now"};
    uint64_t ids[5];
    for (size_t i = 0; i < 5; i++)
        ids[i] = add(lp, "s", lines[i], i < 4 ? T0 : T0 + MIN);
    assert_true(ids[0] && ids[1] && ids[2]);
    assert_int_equal(ids[3], 0); /* past the cap: "other" */
    assert_int_equal(ids[4], 0);
    assert_int_equal(add(lp, "s", "one", T0), ids[0]); /* known templates still count */
    assert_int_not_equal(add(lp, "t", "four words are here", T0), 0); /* per service */
    assert_int_equal(add(lp, "u", "a third service", T0), 0);
    check_stats(lp, (osp_logpattern_stats){
                        .services = 2, .templates = 4, .messages = 5, .other = 2, .dropped = 1});
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_logpattern_result res = query(lp, "s", T0, T0 + MIN, &a);
    assert_int_equal(res.nrows, 3);
    assert_int_equal(res.other, 2);
    assert_int_equal(query(lp, "s", T0, T0, &a).other, 1);
    assert_int_equal(query(lp, "t", T0, T0 + MIN, &a).other, 0);
    osp_logpattern_destroy(lp);

    /* the cap over all services */
    lp = make(&(osp_logpattern_config){.max_total = 2});
    add(lp, "a", "x", T0);
    add(lp, "b", "y", T0);
    assert_int_equal(add(lp, "c", "z", T0), 0);
    check_stats(lp,
                (osp_logpattern_stats){.services = 3, .templates = 2, .messages = 2, .other = 1});
    osp_arena_cleanup(&a);
    osp_logpattern_destroy(lp);
}

static void test_services(void **state)
{
    (void)state;
    osp_logpattern *lp = make(NULL);
    uint64_t a1 = add(lp, "api", "request served in 5ms", T0);
    uint64_t b1 = add(lp, "worker", "request served in 7ms", T0);
    uint64_t u1 = add(lp, "", "request served in 9ms", T0);
    add(lp, "worker", "request served in 8ms", T0);
    assert_true(a1 && b1 && u1);
    assert_int_not_equal(a1, b1);
    assert_int_not_equal(a1, u1);
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_logpattern_result res = query(lp, NULL, T0, T0, &a);
    assert_int_equal(res.nrows, 3);
    assert_string_equal(res.rows[0].service.p, "worker"); /* highest count first */
    assert_int_equal(res.rows[0].count, 2);
    res = query(lp, "api", T0, T0, &a);
    assert_int_equal(res.nrows, 1);
    assert_int_equal(res.rows[0].id, a1);
    assert_string_equal(res.rows[0].text.p, "request served in <*>");
    res = query(lp, "", T0, T0, &a);
    assert_int_equal(res.nrows, 1);
    assert_int_equal(res.rows[0].id, u1);
    assert_int_equal(query(lp, "nope", T0, T0, &a).nrows, 0);
    /* the same text in a fresh miner gets the same id */
    osp_logpattern *again = make(NULL);
    assert_int_equal(add(again, "api", "request served in 1ms", T0), a1);
    osp_logpattern_destroy(again);
    osp_arena_cleanup(&a);
    osp_logpattern_destroy(lp);
}

static void test_buckets_and_ranges(void **state)
{
    (void)state;
    osp_logpattern *lp = make(NULL);
    add(lp, "s", "tick 1", T0 + 10 * SEC);
    add(lp, "s", "tick 2", T0);
    add(lp, "s", "tick 3", T0 + 70 * SEC);
    add(lp, "s", "tick 4", T0 + 130 * SEC);
    add(lp, "s", "tick 5", T0 + 179 * SEC);
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_logpattern_result res = query(lp, "s", T0, T0 + 179 * SEC, &a);
    assert_int_equal(res.nbuckets, 3);
    assert_int_equal(res.first_bucket_ns, T0);
    assert_int_equal(res.bucket_ns, MIN);
    assert_int_equal(res.nrows, 1);
    const osp_logpattern_row *r = &res.rows[0];
    assert_int_equal(r->count, 5);
    assert_int_equal(r->buckets[0], 2);
    assert_int_equal(r->buckets[1], 1);
    assert_int_equal(r->buckets[2], 2);
    assert_int_equal(r->first_seen_ns, T0);
    assert_int_equal(r->last_seen_ns, T0 + 179 * SEC);
    /* a range inside one bucket is widened to it */
    res = query(lp, "s", T0 + 61 * SEC, T0 + 62 * SEC, &a);
    assert_int_equal(res.nbuckets, 1);
    assert_int_equal(res.first_bucket_ns, T0 + MIN);
    assert_int_equal(res.rows[0].count, 1);
    assert_int_equal(res.rows[0].total, 5);
    assert_int_equal(query(lp, "s", T0 + 10 * MIN, T0 + 20 * MIN, &a).nrows, 0);
    osp_logpattern_query q = {.start_ns = T0 + 1, .end_ns = T0};
    assert_int_equal(osp_logpattern_query_run(lp, &q, &a, &res), OSP_EINVAL);
    osp_logpattern_destroy(lp);

    /* a ring of 4 buckets: older counts fall out, the total keeps them */
    lp = make(&(osp_logpattern_config){.nbuckets = 4});
    add(lp, "s", "tock", T0);
    add(lp, "s", "tock", T0 + 10 * MIN);
    add(lp, "s", "tock", T0 + 8 * MIN);
    add(lp, "s", "tock", T0 + 2 * MIN); /* older than the ring */
    res = query(lp, "s", T0, T0 + 10 * MIN, &a);
    assert_int_equal(res.nbuckets, 4); /* clipped to the ring */
    assert_int_equal(res.first_bucket_ns, T0 + 7 * MIN);
    assert_int_equal(res.rows[0].count, 2);
    assert_int_equal(res.rows[0].buckets[1], 1);
    assert_int_equal(res.rows[0].buckets[3], 1);
    assert_int_equal(res.rows[0].total, 4);
    assert_int_equal(res.rows[0].first_seen_ns, T0);
    /* a jump past the whole ring clears it */
    add(lp, "s", "tock", T0 + 100 * MIN);
    res = query(lp, "s", T0 + 97 * MIN, T0 + 100 * MIN, &a);
    assert_int_equal(res.rows[0].count, 1);
    assert_int_equal(query(lp, "s", T0, T0 + 10 * MIN, &a).nrows, 0);
    osp_arena_cleanup(&a);
    osp_logpattern_destroy(lp);
}

static void test_new_flag_and_seq(void **state)
{
    (void)state;
    osp_logpattern *lp = make(NULL);
    assert_int_equal(osp_logpattern_seq(lp), 0);
    uint64_t old = add(lp, "s", "old pattern", T0);
    add(lp, "s", "old pattern", T0 + 30 * MIN);
    uint64_t fresh = add(lp, "s", "fresh pattern here", T0 + 30 * MIN);
    assert_int_equal(osp_logpattern_seq(lp), 2);
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_logpattern_result res = query(lp, "s", T0, T0 + 35 * MIN, &a);
    assert_int_equal(res.nrows, 2);
    assert_false(find_row(&res, "old pattern")->is_new);
    assert_true(find_row(&res, "fresh pattern here")->is_new);
    assert_int_equal(find_row(&res, "old pattern")->seq, 1);
    /* the window ends at the query's end: at T0 + 5 min the old one was new */
    res = query(lp, "s", T0, T0 + 5 * MIN, &a);
    assert_int_equal(res.nrows, 1);
    assert_int_equal(res.rows[0].id, old);
    assert_true(res.rows[0].is_new);
    /* 10 min after, still new; later, not */
    res = query(lp, "s", T0 + 30 * MIN, T0 + 40 * MIN, &a);
    assert_true(find_row(&res, "fresh pattern here")->is_new);
    res = query(lp, "s", T0 + 30 * MIN, T0 + 41 * MIN, &a);
    assert_false(find_row(&res, "fresh pattern here")->is_new);
    /* polling: templates created after a sequence number */
    osp_logpattern_query q = {
        .service = OSP_STR_NULL, .start_ns = T0, .end_ns = T0 + 35 * MIN, .after_seq = 1};
    assert_int_equal(osp_logpattern_query_run(lp, &q, &a, &res), 0);
    assert_int_equal(res.nrows, 1);
    assert_int_equal(res.rows[0].id, fresh);
    q.after_seq = 2;
    assert_int_equal(osp_logpattern_query_run(lp, &q, &a, &res), 0);
    assert_int_equal(res.nrows, 0);
    /* limit keeps the highest counts */
    q.after_seq = 0;
    q.limit = 1;
    assert_int_equal(osp_logpattern_query_run(lp, &q, &a, &res), 0);
    assert_int_equal(res.nrows, 1);
    assert_int_equal(res.rows[0].id, old);
    assert_int_equal(res.rows[0].count, 2);
    /* a full arena */
    osp_arena small;
    osp_arena_init(&small, 64, 64);
    q.limit = 0;
    assert_int_equal(osp_logpattern_query_run(lp, &q, &small, &res), OSP_ENOMEM);
    osp_arena_cleanup(&small);
    osp_arena_cleanup(&a);
    osp_logpattern_destroy(lp);
}

static void test_truncation_and_empty(void **state)
{
    (void)state;
    osp_logpattern *lp = make(&(osp_logpattern_config){.max_message = 16});
    uint64_t id = add(lp, "s", "aaaa bbbb cccc dddd eeee", T0);
    assert_int_equal(add(lp, "s", "aaaa bbbb cccc ddd", T0), id); /* cut at the space */
    assert_int_equal(add(lp, "s", "", T0), 0);
    assert_int_equal(add(lp, "s", " \t\r\n  ", T0), 0);
    check_stats(lp, (osp_logpattern_stats){
                        .services = 1, .templates = 1, .messages = 2, .empty = 2, .truncated = 2});
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_logpattern_result res = query(lp, "s", T0, T0, &a);
    assert_int_equal(res.nrows, 1);
    assert_string_equal(res.rows[0].text.p, "aaaa bbbb cccc");
    osp_logpattern_destroy(lp);

    /* the default cap on a long line */
    lp = make(NULL);
    size_t n = 10000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = i % 5 == 4 ? ' ' : 'w';
    big[n] = '\0';
    add(lp, "s", big, T0);
    res = query(lp, "s", T0, T0, &a);
    assert_int_equal(res.nrows, 1);
    assert_int_equal(res.rows[0].text.n, 4094); /* 819 tokens of "wwww" */
    free(big);
    osp_arena_cleanup(&a);
    osp_logpattern_destroy(lp);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    /* fail each allocation in turn: calls fail cleanly and leak nothing (ASan) */
    for (unsigned long k = 1; k < 150; k++) {
        osp_logpattern *lp = NULL;
        osp_mem_fail_after(k);
        int rc = osp_logpattern_create(NULL, &lp);
        if (rc != 0) {
            assert_int_equal(rc, OSP_ENOMEM);
            continue;
        }
        const char *lines[] = {"user 1 logged in", "user 2 logged in", "disk full on sda1",
                               "user 3 logged out"};
        for (size_t i = 0; i < 4; i++) {
            rc =
                osp_logpattern_add(lp, osp_str_c(i % 2 ? "a" : "b"), osp_str_c(lines[i]), T0, NULL);
            assert_true(rc == 0 || rc == OSP_ENOMEM);
        }
        osp_arena a;
        osp_arena_init(&a, 0, 0);
        osp_logpattern_query q = {.service = OSP_STR_NULL, .start_ns = T0, .end_ns = T0};
        osp_logpattern_result res;
        rc = osp_logpattern_query_run(lp, &q, &a, &res);
        assert_true(rc == 0 || rc == OSP_ENOMEM);
        osp_arena_cleanup(&a);
        osp_mem_fail_after(0);
        osp_logpattern_destroy(lp);
    }
}

/* One mining thread: 3000 lines of svc from seed, counted per template. */
typedef struct job {
    osp_logpattern *lp;
    const char *svc;
    uint64_t seed, counts[NKNOWN];
} job;

static void *worker(void *arg)
{
    job *j = arg;
    mine_known(j->lp, j->svc, j->seed, 3000, j->counts);
    return NULL;
}

static atomic_int mining_done;

/* Queries while the workers mine: every answer is well formed. */
static void *reader(void *arg)
{
    osp_logpattern *lp = arg;
    osp_logpattern_query q = {.service = OSP_STR_NULL, .start_ns = T0, .end_ns = T0 + 3600 * SEC};
    while (!atomic_load(&mining_done)) {
        osp_arena a;
        osp_arena_init(&a, 0, 0);
        osp_logpattern_result res;
        assert_int_equal(osp_logpattern_query_run(lp, &q, &a, &res), 0);
        for (size_t i = 1; i < res.nrows; i++)
            assert_true(res.rows[i - 1].count >= res.rows[i].count);
        osp_arena_cleanup(&a);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    enum { NTHREADS = 8 };
    osp_logpattern *lp = make(NULL);
    job jobs[NTHREADS];
    pthread_t th[NTHREADS], rd;
    atomic_store(&mining_done, 0);
    assert_int_equal(pthread_create(&rd, NULL, reader, lp), 0);
    for (int i = 0; i < NTHREADS; i++) {
        jobs[i] = (job){.lp = lp, .svc = i % 2 ? "odd" : "even", .seed = 1000 + (uint64_t)i};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
    }
    uint64_t odd[NKNOWN] = {0}, even[NKNOWN] = {0};
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        for (int k = 0; k < NKNOWN; k++)
            (i % 2 ? odd : even)[k] += jobs[i].counts[k];
    }
    atomic_store(&mining_done, 1);
    assert_int_equal(pthread_join(rd, NULL), 0);
    check_known(lp, "odd", odd);
    check_known(lp, "even", even);
    check_stats(lp, (osp_logpattern_stats){
                        .services = 2, .templates = 2 * NKNOWN, .messages = NTHREADS * 3000});
    assert_int_equal(osp_logpattern_seq(lp), 2 * NKNOWN);
    osp_logpattern_destroy(lp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_known_templates),
        cmocka_unit_test(test_similarity_threshold),
        cmocka_unit_test(test_max_children),
        cmocka_unit_test(test_caps_and_other),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_buckets_and_ranges),
        cmocka_unit_test(test_new_flag_and_seq),
        cmocka_unit_test(test_truncation_and_empty),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
