/* Unit tests for sdk/src/runtime.c: the process metrics read for this test process are
 * plausible, CPU time grows with work, and GPU metrics need NVML. */
#include "testutil.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <time.h>

#include "handprov.h"
#include "metrics_int.h"
#include "osprey/osprey.h"

static osprey_provider *hand_provider(void)
{
    return hand_provider_with(NULL, 0, 0);
}

/* The single value of a stream without attributes. */
static double single(const osprey__collection *c, const char *name)
{
    const osprey__mstream *s = find_stream(c, name);
    assert_non_null(s);
    assert_int_equal(s->npoints, 1);
    assert_int_equal(s->points[0].attrs->n, 0);
    return s->points[0].value;
}

/* User plus system CPU seconds, checking the two cpu.mode points. */
static double cpu_total(const osprey__collection *c)
{
    const osprey__mstream *s = find_stream(c, "process.cpu.time");
    assert_non_null(s);
    assert_int_equal(s->npoints, 2);
    assert_true(osprey__inst_is_monotonic(s->inst->kind));
    bool user = false, system = false;
    double total = 0;
    for (size_t k = 0; k < 2; k++) {
        const osprey__kv *mode = osprey__attrs_find(s->points[k].attrs, "cpu.mode");
        assert_non_null(mode);
        user |= strcmp(mode->v.s, "user") == 0;
        system |= strcmp(mode->v.s, "system") == 0;
        assert_true(s->points[k].value >= 0);
        total += s->points[k].value;
    }
    assert_true(user && system);
    return total;
}

/* Burns at least 50 ms of this process's CPU time (several clock ticks). */
static void burn_cpu(void)
{
    clock_t until = clock() + CLOCKS_PER_SEC / 20;
    volatile double x = 1;
    while (clock() < until)
        for (int k = 0; k < 10000; k++)
            x = x * 1.0000001 + 1e-9;
}

static void test_process_values(void **state)
{
    osprey_provider *p = hand_provider();
    assert_int_equal(osprey_runtime_metrics_start(p), 0);
    osprey__collection c;
    assert_int_equal(osprey__metrics_collect(p->metrics, &c), 0);
    assert_true(single(&c, "process.thread.count") >= 1);
    double rss = single(&c, "process.memory.usage");
    assert_true(rss > 0);
    assert_true(single(&c, "process.memory.virtual") >= rss);
    double fds = single(&c, "process.open_file_descriptor.count");
    assert_true(fds > 0);
    double cpu = cpu_total(&c);
    osprey__collection_cleanup(&c);

    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    burn_cpu();
    assert_int_equal(osprey__metrics_collect(p->metrics, &c), 0);
    assert_true(single(&c, "process.open_file_descriptor.count") == fds + 1);
    assert_true(cpu_total(&c) > cpu);
    osprey__collection_cleanup(&c);
    close(fd);
    free_provider(p);
}

static void test_gpu_needs_nvml(void **state)
{
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib) {
        dlclose(lib);
        skip(); /* with NVML the GPU metrics depend on what this process runs */
    }
    osprey_provider *p = hand_provider();
    assert_int_equal(osprey_runtime_metrics_start(p), 0);
    osprey__collection c;
    assert_int_equal(osprey__metrics_collect(p->metrics, &c), 0);
    assert_null(find_stream(&c, "process.gpu.memory.usage"));
    assert_null(find_stream(&c, "hw.gpu.utilization"));
    assert_non_null(find_stream(&c, "process.cpu.time"));
    osprey__collection_cleanup(&c);
    free_provider(p);
}

static void test_prometheus_names(void **state)
{
    osprey_provider *p = hand_provider();
    assert_int_equal(osprey_runtime_metrics_start(p), 0);
    char *text = NULL;
    assert_int_equal(osprey_metrics_prometheus(p, &text, NULL), 0);
    const char *want[] = {
        "# TYPE process_cpu_time_seconds_total counter\n",
        "process_cpu_time_seconds_total{cpu_mode=\"user\",otel_scope_name=\"osprey.runtime\"",
        "# TYPE process_memory_usage_bytes gauge\n",
        "# TYPE process_memory_virtual_bytes gauge\n",
        "# TYPE process_thread_count gauge\n",
        "# TYPE process_open_file_descriptor_count gauge\n",
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if (!strstr(text, want[k]))
            fail_msg("missing %s in:\n%s", want[k], text);
    free(text);
    assert_int_equal(osprey_runtime_metrics_start(NULL), OSPREY_EINVAL);
    free_provider(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_process_values),
        cmocka_unit_test(test_gpu_needs_nvml),
        cmocka_unit_test(test_prometheus_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
