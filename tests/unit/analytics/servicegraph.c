/* Unit tests for analytics/servicegraph: pairs in both arrival orders, cross-service edges
 * only, failed requests, messaging pairs, expiry into virtual nodes for each peer
 * attribute, late pairs minutes apart, root server spans from "user", the bound on waiting
 * spans, many pairs waiting at once, arriving interleaved, with repeated ids, and a batch
 * sent again and again. */
#include "testutil.h"

#include "analytics/servicegraph.h"
#include "core/metrics.h"
#include "derivetest.h"

#define MS 1000000ull
#define T0 (1767225600000ull * MS)
#define TOTAL "traces_service_graph_request_total"
#define FAILED "traces_service_graph_request_failed_total"
#define SERVER_B "traces_service_graph_request_server_seconds_bucket"
#define CLIENT_B "traces_service_graph_request_client_seconds_bucket"
#define CLIENT_N "traces_service_graph_request_client_seconds_count"
#define SERVER_N "traces_service_graph_request_server_seconds_count"

typedef struct fixture {
    void *g;
    osp_series_batch out;
    osp_genai none;
} fixture;

static int setup(void **state)
{
    static osp_derive_env env;
    fixture *f = calloc(1, sizeof *f);
    f->g = osp_servicegraph_deriver.create(&env);
    osp_series_batch_init(&f->out);
    *state = f;
    return f->g ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    osp_servicegraph_deriver.destroy(f->g);
    osp_series_batch_cleanup(&f->out);
    free(f);
    return 0;
}

/* Adds span s of service svc, arriving at now_ms. */
static void add(fixture *f, osp_span s, const char *svc, int64_t now_ms)
{
    osp_resource res = {.service_name = osp_str_c(svc)};
    osp_derived_span ds = {&s, &res, &f->none};
    osp_servicegraph_deriver.add(f->g, &ds, now_ms);
}

/* Flushes at t_ms into a fresh f->out. */
static void flush(fixture *f, int64_t t_ms)
{
    osp_series_batch_reset(&f->out);
    assert_int_equal(osp_servicegraph_deriver.flush(f->g, t_ms, &f->out), 0);
}

/* The value of series metric{client=..., [connection_type=...,] [le=...,] server=...}. */
static double edge(fixture *f, const char *metric, const char *client, const char *server,
                   const char *conn, const char *le)
{
    char want[512];
    snprintf(want, sizeof want, "%s{client=\"%s\"%s%s%s%s%s%s,server=\"%s\"}", metric, client,
             conn ? ",connection_type=\"" : "", conn ? conn : "", conn ? "\"" : "",
             le ? ",le=\"" : "", le ? le : "", le ? "\"" : "", server);
    return osp_test_series_value(&f->out, want);
}

static osp_span client_span(uint8_t trace, uint8_t id, int32_t status, uint64_t dur_ns)
{
    return osp_test_span(trace, id, 9, OSP_SPAN_KIND_CLIENT, status, T0, dur_ns, "call");
}

static osp_span server_span(uint8_t trace, uint8_t parent, int32_t status, uint64_t dur_ns)
{
    return osp_test_span(trace, 100 + parent, parent, OSP_SPAN_KIND_SERVER, status, T0, dur_ns,
                         "serve");
}

static void test_pairs_both_orders(void **state)
{
    fixture *f = *state;
    add(f, client_span(1, 1, OSP_STATUS_UNSET, 300 * MS), "a", 1000);
    add(f, server_span(1, 1, OSP_STATUS_UNSET, 200 * MS), "b", 1001);
    add(f, server_span(2, 2, OSP_STATUS_UNSET, 100 * MS), "b", 1002); /* server first */
    add(f, client_span(2, 2, OSP_STATUS_UNSET, 150 * MS), "a", 1003);
    flush(f, 2000);
    assert_true(edge(f, TOTAL, "a", "b", NULL, NULL) == 2);
    assert_true(isnan(edge(f, FAILED, "a", "b", NULL, NULL)));
    assert_true(edge(f, SERVER_B, "a", "b", NULL, "0.1") == 1);
    assert_true(edge(f, SERVER_B, "a", "b", NULL, "0.2") == 2);
    assert_true(edge(f, CLIENT_B, "a", "b", NULL, "0.2") == 1);
    assert_true(edge(f, CLIENT_B, "a", "b", NULL, "0.4") == 2);
    /* An exemplar with the pair's trace id. */
    const osp_prom_exemplar *ex = osp_test_exemplar_of(
        &f->out, osp_test_series_index(&f->out, TOTAL "{client=\"a\",server=\"b\"}"));
    assert_non_null(ex);
    assert_true(osp_str_eqz(ex->labels[0].value, "02020202020202020202020202020202"));
    /* Nothing is left waiting: a late expiry adds nothing. */
    flush(f, 1000000);
    assert_true(edge(f, TOTAL, "a", "b", NULL, NULL) == 2);
    assert_int_equal(f->out.nseries, 1 + 2 * (8 + 3));
}

static void test_same_service_and_others(void **state)
{
    fixture *f = *state;
    add(f, client_span(1, 1, OSP_STATUS_UNSET, MS), "a", 0);
    add(f, server_span(1, 1, OSP_STATUS_UNSET, MS), "a", 0);
    /* Internal spans, and a server whose client span is another trace's, pair with nothing. */
    add(f, osp_test_span(3, 3, 9, OSP_SPAN_KIND_INTERNAL, 0, T0, MS, "work"), "a", 0);
    add(f, client_span(4, 4, OSP_STATUS_UNSET, MS), "a", 0);
    add(f, server_span(5, 4, OSP_STATUS_UNSET, MS), "b", 0);
    flush(f, 20000);
    assert_int_equal(f->out.nseries, 0);
}

static void test_failed_and_messaging(void **state)
{
    fixture *f = *state;
    add(f, client_span(1, 1, OSP_STATUS_UNSET, MS), "a", 0);
    add(f, server_span(1, 1, OSP_STATUS_ERROR, MS), "b", 0);
    add(f, client_span(2, 2, OSP_STATUS_ERROR, MS), "a", 0);
    add(f, server_span(2, 2, OSP_STATUS_OK, MS), "b", 0);
    add(f, client_span(3, 3, OSP_STATUS_OK, MS), "a", 0);
    add(f, server_span(3, 3, OSP_STATUS_OK, MS), "b", 0);
    osp_span prod = osp_test_span(4, 4, 0, OSP_SPAN_KIND_PRODUCER, 0, T0, MS, "send");
    osp_span cons = osp_test_span(4, 5, 4, OSP_SPAN_KIND_CONSUMER, 0, T0, MS, "receive");
    add(f, cons, "worker", 0);
    add(f, prod, "a", 0);
    flush(f, 1);
    assert_true(edge(f, TOTAL, "a", "b", NULL, NULL) == 3);
    assert_true(edge(f, FAILED, "a", "b", NULL, NULL) == 2);
    assert_true(edge(f, TOTAL, "a", "worker", "messaging_system", NULL) == 1);
}

/* A client span naming its peer with key=value, unpaired until its window ends. */
static void add_peer_client(fixture *f, uint8_t id, const char *key, const char *value,
                            const char *key2, const char *value2)
{
    osp_buf attrs;
    osp_buf_init(&attrs, 0);
    osp_test_attr(&attrs, "http.method", "GET");
    osp_test_attr(&attrs, key, value);
    if (key2)
        osp_test_attr(&attrs, key2, value2);
    osp_span s = client_span(id, id, OSP_STATUS_UNSET, 50 * MS);
    s.attributes = osp_buf_str(&attrs);
    add(f, s, "app", 1000);
    osp_buf_cleanup(&attrs);
}

static void test_virtual_nodes(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *key, *value, *conn;
    } peers[] = {
        {"peer.service", "billing", "virtual_node"},
        {"db.system.name", "postgresql", "database"},
        {"db.system", "mysql", "database"},
        {"messaging.system", "kafka", "messaging_system"},
        {"gen_ai.provider.name", "openai", "virtual_node"},
        {"gen_ai.system", "anthropic", "virtual_node"},
        {"server.address", "api.example.com", "virtual_node"},
        {"net.peer.name", "cache", "virtual_node"},
    };
    size_t n = sizeof peers / sizeof peers[0];
    for (size_t i = 0; i < n; i++)
        add_peer_client(f, (uint8_t)(i + 1), peers[i].key, peers[i].value, NULL, NULL);
    /* The first attribute in precedence order names the peer, whatever the blob's order. */
    add_peer_client(f, 50, "server.address", "10.0.0.1", "peer.service", "ledger");
    add_peer_client(f, 51, "net.peer.name", "h", "db.system", "redis");
    add(f, client_span(60, 60, OSP_STATUS_UNSET, MS), "app", 1000); /* names no peer */
    flush(f, 1000 + OSP_SERVICEGRAPH_WINDOW_MS - 1);
    assert_int_equal(f->out.nseries, 0); /* still waiting */
    flush(f, 1000 + OSP_SERVICEGRAPH_WINDOW_MS);
    for (size_t i = 0; i < n; i++) {
        assert_true(edge(f, TOTAL, "app", peers[i].value, peers[i].conn, NULL) == 1);
        assert_true(edge(f, CLIENT_B, "app", peers[i].value, peers[i].conn, "0.1") == 1);
        assert_true(isnan(edge(f, SERVER_N, "app", peers[i].value, peers[i].conn, NULL)));
    }
    assert_true(edge(f, TOTAL, "app", "ledger", "virtual_node", NULL) == 1);
    assert_true(edge(f, TOTAL, "app", "redis", "database", NULL) == 1);
    /* n + 2 edges, each a total and a client histogram (8 buckets, +Inf, sum, count). */
    assert_int_equal(f->out.nseries, (n + 2) * (1 + 11));
    /* A server span arriving after its client's window, beyond the late window, pairs with
     * nothing. */
    add(f, server_span(60, 60, OSP_STATUS_UNSET, MS), "b",
        1000 + OSP_SERVICEGRAPH_WINDOW_MS + OSP_SERVICEGRAPH_LATE_MS);
    flush(f, 2000000);
    assert_true(isnan(edge(f, TOTAL, "app", "b", NULL, NULL)));
}

/* Spans whose peer arrives minutes later, after their window: still one pair each. */
static void test_late_pairs(void **state)
{
    enum { MIN = 60000 };
    fixture *f = *state;
    osp_metric *late_pairs = osp_counter("osprey_servicegraph_late_pairs_total", "", "");
    osp_metric *late = osp_gauge("osprey_servicegraph_late_spans", "", "");
    double pairs0 = osp_metric_value(late_pairs), late0 = osp_metric_value(late);
    /* client first, its server 3 minutes later */
    add(f, client_span(1, 1, OSP_STATUS_ERROR, 300 * MS), "a", 1000);
    flush(f, 1000 + OSP_SERVICEGRAPH_WINDOW_MS);
    assert_int_equal(f->out.nseries, 0); /* named no peer: no edge yet */
    assert_true(osp_metric_value(late) - late0 == 1);
    add(f, server_span(1, 1, OSP_STATUS_UNSET, 200 * MS), "b", 1000 + 3 * MIN);
    /* server first, its client 5 minutes later */
    add(f, server_span(2, 2, OSP_STATUS_UNSET, 100 * MS), "b", 2000);
    add(f, client_span(2, 2, OSP_STATUS_UNSET, 150 * MS), "a", 2000 + 5 * MIN);
    flush(f, 2000 + 5 * MIN);
    assert_true(edge(f, TOTAL, "a", "b", NULL, NULL) == 2);
    assert_true(edge(f, FAILED, "a", "b", NULL, NULL) == 1);
    assert_true(edge(f, SERVER_B, "a", "b", NULL, "0.1") == 1);
    assert_true(edge(f, SERVER_B, "a", "b", NULL, "0.2") == 2);
    assert_true(edge(f, CLIENT_B, "a", "b", NULL, "0.2") == 1);
    assert_true(edge(f, CLIENT_B, "a", "b", NULL, "0.4") == 2);
    assert_true(osp_metric_value(late_pairs) - pairs0 == 2);
    assert_true(osp_metric_value(late) == late0);
    /* a late span pairs once: a repeated server finds nothing */
    add(f, server_span(2, 2, OSP_STATUS_UNSET, 100 * MS), "b", 3000 + 5 * MIN);
    flush(f, 3000 + 5 * MIN + OSP_SERVICEGRAPH_WINDOW_MS);
    assert_true(edge(f, TOTAL, "a", "b", NULL, NULL) == 2);

    /* A client naming its peer counts on the virtual edge when its window ends, and on the
     * pair's edge when the server comes late. */
    osp_buf attrs;
    osp_buf_init(&attrs, 0);
    osp_test_attr(&attrs, "server.address", "c.internal");
    osp_span c = client_span(3, 3, OSP_STATUS_UNSET, MS);
    c.attributes = osp_buf_str(&attrs);
    add(f, c, "a", 10 * MIN);
    flush(f, 10 * MIN + OSP_SERVICEGRAPH_WINDOW_MS);
    assert_true(edge(f, TOTAL, "a", "c.internal", "virtual_node", NULL) == 1);
    add(f, server_span(3, 3, OSP_STATUS_UNSET, MS), "c", 12 * MIN);
    flush(f, 12 * MIN);
    assert_true(edge(f, TOTAL, "a", "c", NULL, NULL) == 1);
    assert_true(edge(f, TOTAL, "a", "c.internal", "virtual_node", NULL) == 1);
    /* past the late window, a peer pairs with nothing */
    add(f, client_span(4, 4, OSP_STATUS_UNSET, MS), "a", 20 * MIN);
    add(f, server_span(4, 4, OSP_STATUS_UNSET, MS), "d",
        20 * MIN + OSP_SERVICEGRAPH_WINDOW_MS + OSP_SERVICEGRAPH_LATE_MS);
    flush(f, 60 * MIN);
    assert_true(isnan(edge(f, TOTAL, "a", "d", NULL, NULL)));
    assert_true(osp_metric_value(late) == late0); /* all gone after the late window */
    osp_buf_cleanup(&attrs);
}

static void test_root_server_from_user(void **state)
{
    fixture *f = *state;
    add(f, osp_test_span(1, 1, 0, OSP_SPAN_KIND_SERVER, OSP_STATUS_ERROR, T0, 500 * MS, "GET /"),
        "frontend", 0);
    flush(f, 1);
    assert_true(edge(f, TOTAL, "user", "frontend", NULL, NULL) == 1);
    assert_true(edge(f, FAILED, "user", "frontend", NULL, NULL) == 1);
    assert_true(edge(f, SERVER_B, "user", "frontend", NULL, "0.8") == 1);
    assert_true(isnan(edge(f, CLIENT_N, "user", "frontend", NULL, NULL)));
}

static void test_eviction_bound(void **state)
{
    fixture *f = *state;
    osp_metric *evicted = osp_counter("osprey_servicegraph_evicted_total", "", "");
    osp_metric *pending = osp_gauge("osprey_servicegraph_pending_spans", "", "");
    double before = osp_metric_value(evicted), waiting = osp_metric_value(pending);
    osp_buf attrs;
    osp_buf_init(&attrs, 0);
    osp_test_attr(&attrs, "peer.service", "db");
    for (uint32_t i = 0; i < OSP_SERVICEGRAPH_MAX_PENDING + 10; i++) {
        osp_span s = client_span(1, 0, OSP_STATUS_UNSET, MS);
        memcpy(s.span_id, &i, sizeof i);
        s.attributes = osp_buf_str(&attrs);
        add(f, s, "app", 5000);
    }
    assert_true(osp_metric_value(evicted) - before == 10);
    assert_true(osp_metric_value(pending) - waiting == OSP_SERVICEGRAPH_MAX_PENDING);
    /* The evicted spans counted as requests to their peer at once; the rest at expiry. */
    flush(f, 5000);
    assert_true(edge(f, TOTAL, "app", "db", "virtual_node", NULL) == 10);
    flush(f, 5000 + OSP_SERVICEGRAPH_WINDOW_MS);
    assert_true(edge(f, TOTAL, "app", "db", "virtual_node", NULL) ==
                OSP_SERVICEGRAPH_MAX_PENDING + 10);
    assert_true(osp_metric_value(pending) == waiting);
    osp_buf_cleanup(&attrs);
}

/* Thousands of requests waiting at once (the table grows, and spans leave it in an order
 * unrelated to their slots): every pair still meets, each counted once. */
static void test_many_waiting(void **state)
{
    enum { N = 5000 };
    fixture *f = *state;
    for (uint32_t i = 1; i <= N; i += 2) { /* ids from 1: an all-zero parent is a root */
        osp_span c = client_span(2, 0, OSP_STATUS_UNSET, MS);
        memcpy(c.span_id, &i, sizeof i);
        add(f, c, "front", 1000);
    }
    /* every server, newest id first: the odd ones pair, the even ones wait for clients */
    for (uint32_t i = N; i > 0; i--) {
        osp_span s = server_span(2, 0, OSP_STATUS_UNSET, MS);
        memcpy(s.parent_span_id, &i, sizeof i);
        add(f, s, "back", 2000);
    }
    for (uint32_t i = 2; i <= N; i += 2) {
        osp_span c = client_span(2, 0, OSP_STATUS_ERROR, MS);
        memcpy(c.span_id, &i, sizeof i);
        add(f, c, "front", 3000);
    }
    flush(f, 3000);
    assert_true(edge(f, TOTAL, "front", "back", NULL, NULL) == N);
    assert_true(edge(f, FAILED, "front", "back", NULL, NULL) == N / 2);
    /* a repeated client id waits as a second copy; both pair with servers later */
    osp_span c = client_span(3, 1, OSP_STATUS_UNSET, MS);
    add(f, c, "front", 4000);
    add(f, c, "front", 4000);
    add(f, server_span(3, 1, OSP_STATUS_UNSET, MS), "back", 4000);
    add(f, server_span(3, 1, OSP_STATUS_UNSET, MS), "back", 4000);
    add(f, server_span(3, 1, OSP_STATUS_UNSET, MS), "back", 4000);
    flush(f, 4000 + OSP_SERVICEGRAPH_WINDOW_MS);
    assert_true(edge(f, TOTAL, "front", "back", NULL, NULL) == N + 2);
}

/* A batch sent again and again: the repeats of one key share a place (more of them than
 * may wait evict nothing), and every copy still counts, pairs and is kept late. */
static void test_repeats_share_an_entry(void **state)
{
    enum { COPIES = OSP_SERVICEGRAPH_MAX_PENDING + 10 };
    fixture *f = *state;
    osp_metric *evicted = osp_counter("osprey_servicegraph_evicted_total", "", "");
    osp_metric *pending = osp_gauge("osprey_servicegraph_pending_spans", "", "");
    osp_metric *late = osp_gauge("osprey_servicegraph_late_spans", "", "");
    double evicted0 = osp_metric_value(evicted), pending0 = osp_metric_value(pending),
           late0 = osp_metric_value(late);
    osp_buf attrs;
    osp_buf_init(&attrs, 0);
    osp_test_attr(&attrs, "db.system.name", "postgresql");
    osp_span c = client_span(7, 7, OSP_STATUS_UNSET, MS);
    c.attributes = osp_buf_str(&attrs);
    for (int i = 0; i < COPIES; i++)
        add(f, c, "app", 1000);
    assert_true(osp_metric_value(evicted) == evicted0);
    assert_true(osp_metric_value(pending) - pending0 == COPIES);
    /* two servers pair with two copies in the window */
    add(f, server_span(7, 7, OSP_STATUS_UNSET, MS), "db-proxy", 2000);
    add(f, server_span(7, 7, OSP_STATUS_UNSET, MS), "db-proxy", 2000);
    flush(f, 2000);
    assert_true(edge(f, TOTAL, "app", "db-proxy", NULL, NULL) == 2);
    assert_true(osp_metric_value(pending) - pending0 == COPIES - 2);
    /* the rest count on the database edge when the window ends, and are kept late */
    flush(f, 1000 + OSP_SERVICEGRAPH_WINDOW_MS);
    assert_true(edge(f, TOTAL, "app", "postgresql", "database", NULL) == COPIES - 2);
    assert_true(osp_metric_value(pending) == pending0);
    assert_true(osp_metric_value(late) - late0 == COPIES - 2);
    /* copies arriving after that wait anew, then join the kept entry */
    add(f, c, "app", 20000);
    add(f, c, "app", 20000);
    flush(f, 20000 + OSP_SERVICEGRAPH_WINDOW_MS);
    assert_true(osp_metric_value(late) - late0 == COPIES);
    /* late servers each pair with one copy */
    for (int i = 0; i < 3; i++)
        add(f, server_span(7, 7, OSP_STATUS_UNSET, MS), "db-proxy", 60000);
    flush(f, 60000);
    assert_true(edge(f, TOTAL, "app", "db-proxy", NULL, NULL) == 5);
    assert_true(osp_metric_value(late) - late0 == COPIES - 3);
    flush(f, 60000 + OSP_SERVICEGRAPH_LATE_MS);
    assert_true(osp_metric_value(late) == late0);
    osp_buf_cleanup(&attrs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pairs_both_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_service_and_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_and_messaging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtual_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_server_from_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eviction_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeats_share_an_entry, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
