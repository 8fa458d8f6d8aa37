/* Unit tests for core/cond: timed waits on CLOCK_MONOTONIC time out and wake on signals. */
#include <time.h>

#include "testutil.h"

#include "core/cond.h"

typedef struct waker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int flag;
} waker;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_times_out(void **state)
{
    (void)state;
    waker w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    osp_cond_init_monotonic(&w.cv);
    pthread_mutex_lock(&w.mu);
    uint64_t t0 = mono_ms();
    osp_cond_wait_ms(&w.cv, &w.mu, 50);
    uint64_t took = mono_ms() - t0;
    pthread_mutex_unlock(&w.mu);
    assert_true(took < 5000); /* came back; spurious wake-ups may make it early */
    pthread_cond_destroy(&w.cv);
}

static void *wake(void *arg)
{
    waker *w = arg;
    pthread_mutex_lock(&w->mu);
    w->flag = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void test_signal_wakes(void **state)
{
    (void)state;
    waker w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    pthread_t t;
    osp_cond_init_monotonic(&w.cv);
    pthread_mutex_lock(&w.mu);
    assert_int_equal(pthread_create(&t, NULL, wake, &w), 0);
    uint64_t t0 = mono_ms();
    while (!w.flag && mono_ms() - t0 < 60000)
        osp_cond_wait_ms(&w.cv, &w.mu, 60000);
    uint64_t took = mono_ms() - t0;
    pthread_mutex_unlock(&w.mu);
    pthread_join(t, NULL);
    assert_int_equal(w.flag, 1);
    assert_true(took < 30000); /* woken by the signal, not the minute-long timeout */
    pthread_cond_destroy(&w.cv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times_out),
        cmocka_unit_test(test_signal_wakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
