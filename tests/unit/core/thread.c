/* Unit tests for core/thread: a started thread has its name from the start, cut to the
 * kernel's 15 bytes, and runs its function with its argument. */
#include <string.h>

#include "testutil.h"

#include "core/thread.h"

typedef struct probe {
    pthread_barrier_t checked; /* the creator has looked at the name */
    char name[16];             /* the thread's own name, as it sees it */
} probe;

/* Waits for the creator's look (it needs the thread alive), then reads its own name. */
static void *own_name(void *arg)
{
    probe *p = arg;
    pthread_barrier_wait(&p->checked);
    pthread_getname_np(pthread_self(), p->name, sizeof p->name);
    return arg;
}

static void test_named_from_the_start(void **state)
{
    (void)state;
    const char *names[] = {"osp-test", "osp-a-longer-name-than-fits"};
    const char *want[] = {"osp-test", "osp-a-longer-na"};
    for (size_t i = 0; i < 2; i++) {
        char seen[16] = "";
        probe p = {.name = ""};
        pthread_t t;
        void *ret = NULL;
        pthread_barrier_init(&p.checked, NULL, 2);
        assert_int_equal(osp_thread_start(&t, names[i], own_name, &p), 0);
        /* the creator sees the name before the thread may have run at all */
        assert_int_equal(pthread_getname_np(t, seen, sizeof seen), 0);
        assert_string_equal(seen, want[i]);
        pthread_barrier_wait(&p.checked);
        assert_int_equal(pthread_join(t, &ret), 0);
        assert_ptr_equal(ret, &p);
        assert_string_equal(p.name, want[i]);
        pthread_barrier_destroy(&p.checked);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_from_the_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
