/* Unit tests for the memtable and the trace-id map (src/store/embedded/memtable.c). */
#include "testutil.h"

#include <pthread.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "model/span.h"
#include "store/embedded/memtable.h"
#include "store/embedded/rowcodec.h"

static void make_id(uint8_t id[16], uint32_t n)
{
    memset(id, 0, 16);
    memcpy(id, &n, sizeof n);
    id[15] = 0x5a;
}

/* A record of nspans spans: span k belongs to trace (first + k / per_trace), service
 * svc, name "op-<k % 3>", kind SERVER, start 1000 + k. */
static char *make_record(uint32_t first, int nspans, int per_trace, const char *svc, size_t *len)
{
    osp_span_batch b;
    osp_buf out;
    osp_span_batch_init(&b);
    osp_buf_init(&out, 0);
    osp_resource *r = osp_span_batch_add_resource(&b);
    r->service_name = osp_str_c(svc);
    osp_span_batch_add_scope(&b);
    static const char *names[] = {"op-0", "op-1", "op-2"};
    for (int k = 0; k < nspans; k++) {
        osp_span *s = osp_span_batch_add_span(&b);
        make_id(s->trace_id, first + (uint32_t)(k / per_trace));
        memset(s->span_id, 0, 8);
        memcpy(s->span_id, &k, sizeof k);
        s->start_ns = 1000 + (uint64_t)k;
        s->end_ns = s->start_ns + 10;
        s->kind = OSP_SPAN_KIND_SERVER;
        s->name = osp_str_c(names[k % 3]);
    }
    assert_int_equal(osp_rowcodec_encode(&b, &out), 0);
    osp_span_batch_cleanup(&b);
    return osp_buf_steal(&out, len);
}

static void insert(osp_memtable *m, uint32_t first, int nspans, int per_trace, const char *svc,
                   uint64_t lsn)
{
    size_t len;
    char *rec = make_record(first, nspans, per_trace, svc, &len);
    assert_int_equal(osp_memtable_insert(m, rec, len, lsn), 0);
}

static void test_tidmap(void **state)
{
    (void)state;
    osp_tidmap m;
    uint8_t id[16];
    uint64_t *v;
    osp_tidmap_init(&m, 0);
    make_id(id, 1);
    assert_null(osp_tidmap_find(&m, id));
    osp_tidmap_remove(&m, id); /* on an empty map */
    for (uint32_t i = 0; i < 3000; i++) {
        make_id(id, i);
        assert_int_equal(osp_tidmap_put(&m, id, &v), 0);
        *v = i * 7;
    }
    make_id(id, 5);
    assert_int_equal(osp_tidmap_put(&m, id, &v), 1);
    assert_int_equal(*v, 35);
    for (uint32_t i = 0; i < 3000; i += 2) {
        make_id(id, i);
        osp_tidmap_remove(&m, id);
    }
    assert_int_equal(m.n, 1500);
    for (uint32_t i = 0; i < 3000; i++) {
        make_id(id, i);
        v = osp_tidmap_find(&m, id);
        if (i % 2)
            assert_true(v && *v == i * 7);
        else
            assert_null(v);
    }
    make_id(id, 999999);
    osp_tidmap_remove(&m, id); /* absent */
    assert_int_equal(m.n, 1500);
    osp_tidmap_cleanup(&m);

    /* The cap. */
    osp_tidmap_init(&m, 2);
    make_id(id, 1);
    assert_int_equal(osp_tidmap_put(&m, id, &v), 0);
    make_id(id, 2);
    assert_int_equal(osp_tidmap_put(&m, id, &v), 0);
    make_id(id, 3);
    assert_int_equal(osp_tidmap_put(&m, id, &v), OSP_ETOOBIG);
    assert_int_equal(osp_tidmap_reserve(&m, 1), OSP_ETOOBIG);
    osp_tidmap_cleanup(&m);
}

static void test_get_trace(void **state)
{
    (void)state;
    osp_memtable *m;
    osp_span_batch out;
    uint8_t id[16];
    assert_int_equal(osp_memtable_create(&m), 0);
    assert_int_equal(osp_memtable_nspans(m), 0);
    assert_int_equal(osp_memtable_first_insert_ns(m), 0);
    insert(m, 100, 12, 4, "gateway", 7); /* traces 100..102, 4 spans each */
    insert(m, 101, 2, 2, "agent", 3);    /* trace 101 again */
    assert_int_equal(osp_memtable_nspans(m), 14);
    assert_int_equal(osp_memtable_max_lsn(m), 7);
    assert_true(osp_memtable_bytes(m) > 0);
    assert_true(osp_memtable_first_insert_ns(m) > 0);

    osp_span_batch_init(&out);
    make_id(id, 101);
    assert_int_equal(osp_memtable_get_trace(m, id, &out), 6);
    size_t agent = 0;
    for (size_t i = 0; i < out.nspans; i++) {
        assert_memory_equal(out.spans[i].trace_id, id, 16);
        agent += osp_str_eqz(out.resources[out.spans[i].resource].service_name, "agent");
    }
    assert_int_equal(agent, 2);
    make_id(id, 555);
    assert_int_equal(osp_memtable_get_trace(m, id, &out), 0);
    assert_int_equal(out.nspans, 6);
    osp_span_batch_cleanup(&out);
    osp_memtable_release(m);
}

typedef struct hits {
    int n;
    uint32_t traces[64];
    uint64_t starts[64];
} hits;

static void on_hit(const uint8_t trace_id[16], uint64_t start, void *ctx)
{
    hits *h = ctx;
    assert_true(h->n < 64);
    memcpy(&h->traces[h->n], trace_id, 4);
    h->starts[h->n++] = start;
}

static void test_search(void **state)
{
    (void)state;
    osp_memtable *m;
    hits h = {0};
    assert_int_equal(osp_memtable_create(&m), 0);
    insert(m, 100, 6, 3, "gateway", 1);
    insert(m, 200, 3, 1, "agent", 2);
    osp_trace_query q = {.service = OSP_STR_LIT("agent"), .status = -1};
    assert_int_equal(osp_memtable_search(m, &q, on_hit, &h), 0);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.traces[0], 200);
    assert_int_equal(h.traces[2], 202);
    assert_int_equal(h.starts[2], 1002);

    memset(&h, 0, sizeof h);
    q = (osp_trace_query){.operation = OSP_STR_LIT("op-1"), .status = -1};
    assert_int_equal(osp_memtable_search(m, &q, on_hit, &h), 0);
    assert_int_equal(h.n, 3); /* spans 1 and 4 of the first record, 1 of the second */

    memset(&h, 0, sizeof h);
    q = (osp_trace_query){.service = OSP_STR_LIT("nobody"), .status = -1};
    assert_int_equal(osp_memtable_search(m, &q, on_hit, &h), 0);
    assert_int_equal(h.n, 0);
    osp_memtable_release(m);
}

typedef struct cat {
    int n;
    char rows[16][64];
} cat;

static void on_cat(osp_str service, osp_str name, int32_t kind, void *ctx)
{
    cat *c = ctx;
    assert_true(c->n < 16);
    snprintf(c->rows[c->n++], 64, "%.*s/%.*s/%d", OSP_STR_FMT(service), OSP_STR_FMT(name), kind);
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_catalogue(void **state)
{
    (void)state;
    osp_memtable *m;
    cat c = {0};
    assert_int_equal(osp_memtable_create(&m), 0);
    insert(m, 1, 9, 3, "gateway", 1);
    insert(m, 9, 2, 1, "agent", 2);
    insert(m, 20, 5, 1, "gateway", 3);
    assert_int_equal(osp_memtable_catalogue(m, on_cat, &c), 0);
    assert_int_equal(c.n, 5);
    qsort(c.rows, (size_t)c.n, sizeof c.rows[0], cmp_row);
    assert_string_equal(c.rows[0], "agent/op-0/2");
    assert_string_equal(c.rows[1], "agent/op-1/2");
    assert_string_equal(c.rows[4], "gateway/op-2/2");
    osp_memtable_release(m);
}

static void test_rows(void **state)
{
    (void)state;
    osp_memtable *m, *held;
    osp_span_batch out;
    assert_int_equal(osp_memtable_create(&m), 0);
    insert(m, 1, 4, 2, "gateway", 1);
    insert(m, 5, 3, 1, "agent", 2);
    /* A reader's reference keeps the memtable alive after its owner lets go. */
    held = m;
    osp_memtable_acquire(held);
    osp_memtable_release(m);
    osp_span_batch_init(&out);
    assert_int_equal(osp_memtable_rows(held, &out), 0);
    assert_int_equal(out.nspans, 7);
    assert_int_equal(out.nresources, 2);
    assert_true(osp_str_eqz(out.resources[out.spans[6].resource].service_name, "agent"));
    osp_memtable_release(held);
    /* The copies outlive the memtable. */
    assert_true(osp_str_eqz(out.spans[6].name, "op-2"));
    osp_span_batch_cleanup(&out);
}

static void test_corrupt_record(void **state)
{
    (void)state;
    osp_memtable *m;
    size_t len;
    assert_int_equal(osp_memtable_create(&m), 0);
    insert(m, 1, 3, 1, "gateway", 1);
    char *rec = make_record(10, 3, 1, "agent", &len);
    assert_int_equal(osp_memtable_insert(m, rec, len - 1, 2), OSP_ECORRUPT);
    assert_int_equal(osp_memtable_nspans(m), 3);
    assert_int_equal(osp_memtable_max_lsn(m), 1);
    osp_memtable_release(m);
}

/* Every allocation failure during an insert leaves the memtable as it was. */
static void test_insert_nomem(void **state)
{
    (void)state;
    osp_memtable *m;
    osp_span_batch out;
    uint8_t id[16];
    assert_int_equal(osp_memtable_create(&m), 0);
    insert(m, 1, 3, 1, "gateway", 1);
    int rc = -1;
    for (unsigned long k = 1; rc != 0 && k < 50; k++) {
        size_t len;
        char *rec = make_record(100, 40, 1, "agent", &len);
        osp_mem_fail_after(k);
        rc = osp_memtable_insert(m, rec, len, 2);
        osp_mem_fail_after(0);
        if (rc) {
            assert_int_equal(rc, OSP_ENOMEM);
            assert_int_equal(osp_memtable_nspans(m), 3);
            make_id(id, 100);
            osp_span_batch_init(&out);
            assert_int_equal(osp_memtable_get_trace(m, id, &out), 0);
            osp_span_batch_cleanup(&out);
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(osp_memtable_nspans(m), 43);
    osp_memtable_release(m);
}

typedef struct worker_arg {
    osp_memtable *m;
    int id;
} worker_arg;

static void *inserter(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < 50; i++) {
        size_t len;
        char *rec = make_record((uint32_t)(a->id * 1000 + i), 4, 4, "svc", &len);
        if (osp_memtable_insert(a->m, rec, len, (uint64_t)(a->id * 1000 + i)))
            abort();
    }
    return NULL;
}

static void count_hit(const uint8_t trace_id[16], uint64_t start, void *ctx)
{
    (void)trace_id;
    (void)start;
    (*(int *)ctx)++;
}

static void test_concurrent(void **state)
{
    (void)state;
    osp_memtable *m;
    pthread_t tid[4];
    worker_arg args[4];
    assert_int_equal(osp_memtable_create(&m), 0);
    for (int t = 0; t < 4; t++) {
        args[t] = (worker_arg){m, t};
        assert_int_equal(pthread_create(&tid[t], NULL, inserter, &args[t]), 0);
    }
    osp_trace_query q = {.status = -1};
    int seen = 0;
    for (int i = 0; i < 20; i++) {
        seen = 0;
        osp_memtable_search(m, &q, count_hit, &seen);
    }
    for (int t = 0; t < 4; t++)
        pthread_join(tid[t], NULL);
    seen = 0;
    osp_memtable_search(m, &q, count_hit, &seen);
    assert_int_equal(seen, 4 * 50 * 4);
    assert_int_equal(osp_memtable_max_lsn(m), 3049);
    uint8_t id[16];
    osp_span_batch out;
    osp_span_batch_init(&out);
    make_id(id, 2017);
    assert_int_equal(osp_memtable_get_trace(m, id, &out), 4);
    osp_span_batch_cleanup(&out);
    osp_memtable_release(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tidmap),       cmocka_unit_test(test_get_trace),
        cmocka_unit_test(test_search),       cmocka_unit_test(test_catalogue),
        cmocka_unit_test(test_rows),         cmocka_unit_test(test_corrupt_record),
        cmocka_unit_test(test_insert_nomem), cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
