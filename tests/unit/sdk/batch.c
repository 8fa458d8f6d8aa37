/* Unit tests for sdk/batch: batching by size and by delay, flush ordering, overflow while a
 * slow export holds the thread, destroy counting what is left, failures, and producers on
 * several threads. Items are tagged integers; the ops record what they receive. */
#include "testutil.h"

#include <pthread.h>
#include <sched.h>

#include "osprey/osprey.h"
#include "sdk_int.h"

#define MAX_RECORDED 20000
#define LONG_MS 3600000u /* a delay that never fires during a test */
#define WAIT_MS 10000u   /* how long a test waits for an expected event before failing */

typedef struct recorder {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uintptr_t items[MAX_RECORDED]; /* exported items in arrival order */
    size_t nitems;
    size_t batches[MAX_RECORDED]; /* the size of each export */
    size_t nbatches;
    size_t frees;
    bool gate_closed;  /* exports wait while set */
    bool in_export;    /* an export is waiting at the gate */
    bool fail;         /* exports return OSPREY_EIO */
    bool bad_deadline; /* an export got a deadline already past */
    atomic_uint_fast64_t exported, dropped;
} recorder;

static recorder rec;

static void *item(uintptr_t v)
{
    return (void *)(v + 1);
}

static uintptr_t value(void *p)
{
    return (uintptr_t)p - 1;
}

static int rec_export(void *ctx, void *const *items, size_t n, uint64_t deadline_ns)
{
    recorder *r = ctx;
    pthread_mutex_lock(&r->mu);
    r->bad_deadline |= deadline_ns <= osprey__mono_ns();
    r->in_export = true;
    pthread_cond_broadcast(&r->cv);
    while (r->gate_closed)
        pthread_cond_wait(&r->cv, &r->mu);
    r->in_export = false;
    for (size_t i = 0; i < n && r->nitems < MAX_RECORDED; i++)
        r->items[r->nitems++] = value(items[i]);
    r->batches[r->nbatches++] = n;
    int rc = r->fail ? OSPREY_EIO : 0;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static void rec_free(void *ctx, void *it)
{
    recorder *r = ctx;
    pthread_mutex_lock(&r->mu);
    r->frees++;
    pthread_mutex_unlock(&r->mu);
}

static int setup(void **state)
{
    (void)state;
    memset(&rec, 0, sizeof rec);
    pthread_mutex_init(&rec.mu, NULL);
    pthread_cond_init(&rec.cv, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_false(rec.bad_deadline);
    pthread_cond_destroy(&rec.cv);
    pthread_mutex_destroy(&rec.mu);
    return 0;
}

static osprey__batch *make(size_t queue, size_t batch, uint32_t delay_ms)
{
    osprey__batch_config c = {queue, batch, delay_ms, 5000};
    osprey__batch_ops ops = {rec_export, rec_free, &rec, &rec.exported, &rec.dropped};
    osprey__batch *b;
    assert_int_equal(osprey__batch_create(&c, &ops, &b), 0);
    return b;
}

/* Waits (at most WAIT_MS) until at least n items were exported. */
static void wait_items(size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&rec.mu);
    while (rec.nitems < n)
        if (pthread_cond_timedwait(&rec.cv, &rec.mu, &ts) != 0)
            break;
    size_t got = rec.nitems;
    pthread_mutex_unlock(&rec.mu);
    assert_true(got >= n);
}

/* Waits until an export is held at the closed gate. */
static void wait_in_export(void)
{
    pthread_mutex_lock(&rec.mu);
    while (!rec.in_export)
        pthread_cond_wait(&rec.cv, &rec.mu);
    pthread_mutex_unlock(&rec.mu);
}

static void open_gate(void)
{
    pthread_mutex_lock(&rec.mu);
    rec.gate_closed = false;
    pthread_cond_broadcast(&rec.cv);
    pthread_mutex_unlock(&rec.mu);
}

static void test_create_rejects_bad_config(void **state)
{
    (void)state;
    osprey__batch_ops ops = {rec_export, rec_free, &rec, NULL, NULL};
    osprey__batch *b = (osprey__batch *)&rec;
    osprey__batch_config zero_queue = {0, 1, 10, 10};
    assert_int_equal(osprey__batch_create(&zero_queue, &ops, &b), OSPREY_EINVAL);
    assert_null(b);
    osprey__batch_config zero_delay = {4, 1, 0, 10};
    assert_int_equal(osprey__batch_create(&zero_delay, &ops, &b), OSPREY_EINVAL);
    assert_int_equal(osprey__batch_destroy(NULL, 0), 0);
}

static void test_by_size(void **state)
{
    (void)state;
    osprey__batch *b = make(100, 4, LONG_MS);
    for (uintptr_t i = 0; i < 8; i++)
        assert_int_equal(osprey__batch_add(b, item(i)), 0);
    wait_items(8);
    assert_int_equal(rec.nbatches, 2);
    assert_int_equal(rec.batches[0], 4);
    assert_int_equal(rec.batches[1], 4);
    for (uintptr_t i = 0; i < 8; i++)
        assert_int_equal(rec.items[i], i);
    assert_int_equal(osprey__batch_destroy(b, 1000), 0);
    assert_int_equal(rec.frees, 8);
    assert_int_equal(atomic_load(&rec.exported), 8);
    assert_int_equal(atomic_load(&rec.dropped), 0);
}

static void test_by_delay(void **state)
{
    (void)state;
    osprey__batch *b = make(100, 50, 20);
    for (uintptr_t i = 0; i < 3; i++)
        assert_int_equal(osprey__batch_add(b, item(i)), 0);
    wait_items(3); /* no flush, not a full batch: only the delay exports them */
    for (uintptr_t i = 0; i < 3; i++)
        assert_int_equal(rec.items[i], i);
    assert_int_equal(osprey__batch_destroy(b, 1000), 0);
    assert_int_equal(atomic_load(&rec.exported), 3);
}

static void test_flush_ordering(void **state)
{
    (void)state;
    osprey__batch *b = make(100, 3, LONG_MS);
    for (uintptr_t i = 0; i < 5; i++)
        assert_int_equal(osprey__batch_add(b, item(i)), 0);
    assert_int_equal(osprey__batch_flush(b, WAIT_MS), 0);
    assert_int_equal(rec.nitems, 5); /* all exported before flush returned */
    for (uintptr_t i = 5; i < 7; i++)
        assert_int_equal(osprey__batch_add(b, item(i)), 0);
    assert_int_equal(osprey__batch_flush(b, WAIT_MS), 0);
    assert_int_equal(rec.nitems, 7);
    for (uintptr_t i = 0; i < 7; i++)
        assert_int_equal(rec.items[i], i);
    for (size_t i = 0; i < rec.nbatches; i++)
        assert_true(rec.batches[i] <= 3);
    assert_int_equal(osprey__batch_flush(b, 0), 0); /* nothing queued: done at once */
    assert_int_equal(osprey__batch_destroy(b, 1000), 0);
    assert_int_equal(atomic_load(&rec.exported), 7);
}

static void test_overflow_while_export_blocks(void **state)
{
    (void)state;
    rec.gate_closed = true;
    osprey__batch *b = make(4, 2, LONG_MS);
    assert_int_equal(osprey__batch_add(b, item(0)), 0);
    assert_int_equal(osprey__batch_add(b, item(1)), 0); /* a full batch: the thread takes it */
    wait_in_export();
    for (uintptr_t i = 2; i < 6; i++)
        assert_int_equal(osprey__batch_add(b, item(i)), 0);
    assert_int_equal(osprey__batch_add(b, item(6)), OSPREY_EFULL);
    assert_int_equal(osprey__batch_add(b, item(7)), OSPREY_EFULL);
    assert_int_equal(atomic_load(&rec.dropped), 2);
    assert_int_equal(osprey__batch_flush(b, 0), OSPREY_ETIMEDOUT);
    open_gate();
    assert_int_equal(osprey__batch_flush(b, WAIT_MS), 0);
    assert_int_equal(rec.nitems, 6);
    for (uintptr_t i = 0; i < 6; i++)
        assert_int_equal(rec.items[i], i);
    assert_int_equal(osprey__batch_destroy(b, 1000), 0);
    assert_int_equal(rec.frees, 6); /* the refused items stayed the caller's */
    assert_int_equal(atomic_load(&rec.exported), 6);
    assert_int_equal(atomic_load(&rec.dropped), 2);
}

typedef struct destroy_arg {
    osprey__batch *b;
    int rc;
} destroy_arg;

static void *destroy_thread(void *p)
{
    destroy_arg *a = p;
    a->rc = osprey__batch_destroy(a->b, 0);
    return NULL;
}

static void test_destroy_counts_the_rest(void **state)
{
    (void)state;
    rec.gate_closed = true;
    osprey__batch *b = make(6, 2, LONG_MS);
    assert_int_equal(osprey__batch_add(b, item(0)), 0);
    assert_int_equal(osprey__batch_add(b, item(1)), 0);
    wait_in_export();
    for (uintptr_t i = 2; i < 8; i++)
        assert_int_equal(osprey__batch_add(b, item(i)), 0);
    destroy_arg a = {b, 1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, destroy_thread, &a), 0);
    /* Adds are refused as full until destroy marks the batch stopped; the thread is still
     * held in its export, so b stays alive until the gate opens. */
    uint64_t refused = 0;
    int rc;
    while ((rc = osprey__batch_add(b, item(100))) == OSPREY_EFULL) {
        refused++;
        sched_yield();
    }
    assert_int_equal(rc, OSPREY_ESHUTDOWN);
    open_gate();
    pthread_join(t, NULL);
    assert_int_equal(a.rc, OSPREY_ETIMEDOUT);
    assert_int_equal(rec.nitems, 2);
    assert_int_equal(rec.frees, 8);
    assert_int_equal(atomic_load(&rec.exported), 2);
    assert_int_equal(atomic_load(&rec.dropped), 6 + refused);
}

static void test_failed_export(void **state)
{
    (void)state;
    rec.fail = true;
    osprey__batch *b = make(10, 10, LONG_MS);
    for (uintptr_t i = 0; i < 3; i++)
        assert_int_equal(osprey__batch_add(b, item(i)), 0);
    assert_int_equal(osprey__batch_flush(b, WAIT_MS), OSPREY_EIO);
    assert_int_equal(atomic_load(&rec.dropped), 3);
    assert_int_equal(atomic_load(&rec.exported), 0);
    assert_int_equal(rec.frees, 3);
    rec.fail = false;
    assert_int_equal(osprey__batch_add(b, item(3)), 0);
    assert_int_equal(osprey__batch_flush(b, WAIT_MS), 0); /* a new flush, a new verdict */
    assert_int_equal(osprey__batch_destroy(b, 1000), 0);
    assert_int_equal(atomic_load(&rec.exported), 1);
}

#define PRODUCERS 4
#define PER_PRODUCER 2000

typedef struct producer {
    osprey__batch *b;
    uintptr_t id;
    uint64_t refused;
} producer;

static void *produce(void *p)
{
    producer *pr = p;
    for (uintptr_t i = 0; i < PER_PRODUCER; i++) {
        int rc = osprey__batch_add(pr->b, item(pr->id * PER_PRODUCER + i));
        if (rc == OSPREY_EFULL)
            pr->refused++;
        else if (rc != 0)
            return p;
        if (i % 64 == 0)
            sched_yield();
    }
    return NULL;
}

static void test_concurrent_producers(void **state)
{
    (void)state;
    osprey__batch *b = make(256, 32, 1);
    producer pr[PRODUCERS];
    pthread_t t[PRODUCERS];
    for (uintptr_t i = 0; i < PRODUCERS; i++) {
        pr[i] = (producer){b, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, produce, &pr[i]), 0);
    }
    uint64_t refused = 0;
    for (int i = 0; i < PRODUCERS; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
        refused += pr[i].refused;
    }
    assert_int_equal(osprey__batch_destroy(b, WAIT_MS), 0);
    uint64_t total = PRODUCERS * PER_PRODUCER;
    assert_int_equal(rec.nitems + refused, total);
    assert_int_equal(atomic_load(&rec.exported), rec.nitems);
    assert_int_equal(atomic_load(&rec.dropped), refused);
    assert_int_equal(rec.frees, rec.nitems);
    /* Every item at most once, and each producer's items in the order it added them. */
    static bool seen[PRODUCERS * PER_PRODUCER];
    memset(seen, 0, sizeof seen);
    intptr_t last[PRODUCERS] = {-1, -1, -1, -1};
    for (size_t i = 0; i < rec.nitems; i++) {
        uintptr_t v = rec.items[i];
        assert_true(v < total);
        assert_false(seen[v]);
        seen[v] = true;
        intptr_t seq = (intptr_t)(v % PER_PRODUCER);
        assert_true(seq > last[v / PER_PRODUCER]);
        last[v / PER_PRODUCER] = seq;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_rejects_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_by_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_by_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_ordering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_while_export_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_counts_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_producers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
