/* Process runtime metrics read from /proc at each collection, and per-GPU metrics of this
 * process through NVML (libnvidia-ml.so.1, loaded with dlopen when present). */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "metrics_int.h"

/* The few NVML types used, as NVIDIA's API documentation describes them. */
typedef int nvml_return; /* nvmlReturn_t */
enum { NVML_SUCCESS = 0, NVML_ERROR_INSUFFICIENT_SIZE = 7 };
typedef struct nvml_device_st *nvml_device; /* nvmlDevice_t */
typedef struct nvml_utilization {           /* nvmlUtilization_t */
    unsigned int gpu, memory;               /* percent of the last sample period */
} nvml_utilization;
typedef struct nvml_process_v1 { /* nvmlProcessInfo_v1_t */
    unsigned int pid;
    unsigned long long used_memory;
} nvml_process_v1;
typedef struct nvml_process_v2 { /* nvmlProcessInfo_v2_t, of the _v2 and _v3 queries */
    unsigned int pid;
    unsigned long long used_memory;
    unsigned int gpu_instance_id, compute_instance_id;
} nvml_process_v2;
#define NVML_VALUE_NOT_AVAILABLE (~0ull)
#define NVML_UUID_SIZE 96
#define NVML_PROCESS_MAX 4096

typedef struct nvml {
    void *lib; /* NULL: no GPU metrics */
    nvml_return (*shutdown)(void);
    nvml_return (*count)(unsigned int *n);
    nvml_return (*handle)(unsigned int index, nvml_device *dev);
    nvml_return (*uuid)(nvml_device dev, char *out, unsigned int len);
    nvml_return (*utilization)(nvml_device dev, nvml_utilization *out);
    nvml_return (*processes)(nvml_device dev, unsigned int *n, void *infos);
    size_t process_size; /* the entry size of the processes query found */
} nvml;

typedef struct runtime {
    nvml gpu;
    double tick_s;  /* seconds per clock tick */
    double page_by; /* bytes per page */
    unsigned int pid;
} runtime;

/* ---- /proc ----------------------------------------------------------------------------------- */

/* Reads a small /proc file into buf (NUL-terminated). 0 or -1. */
static int read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

typedef struct proc_stat {
    unsigned long long utime, stime; /* clock ticks */
    long threads;
} proc_stat;

/* Fields 14, 15 and 20 of /proc/self/stat, counted after the ")" that ends the name. */
static int read_stat(proc_stat *s)
{
    char buf[1024];
    if (read_small("/proc/self/stat", buf, sizeof buf) != 0)
        return -1;
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* Skip fields 3-13, read 14 and 15, skip 16-19, read 20. */
    int n =
        sscanf(p + 1, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu %*s %*s %*s %*s %ld",
               &s->utime, &s->stime, &s->threads);
    return n == 3 ? 0 : -1;
}

static void observe_cpu(osprey_observer *o, void *arg)
{
    const runtime *rt = arg;
    proc_stat s;
    if (read_stat(&s) != 0)
        return;
    osprey_attr user = OSPREY_STR("cpu.mode", "user"), system = OSPREY_STR("cpu.mode", "system");
    osprey_observe(o, (double)s.utime * rt->tick_s, &user, 1);
    osprey_observe(o, (double)s.stime * rt->tick_s, &system, 1);
}

static void observe_threads(osprey_observer *o, void *arg)
{
    proc_stat s;
    if (read_stat(&s) == 0)
        osprey_observe(o, (double)s.threads, NULL, 0);
}

/* Field (0: size, 1: resident) of /proc/self/statm, in bytes. */
static void observe_statm(osprey_observer *o, const runtime *rt, int field)
{
    char buf[256];
    unsigned long long size, resident;
    if (read_small("/proc/self/statm", buf, sizeof buf) == 0 &&
        sscanf(buf, "%llu %llu", &size, &resident) == 2)
        osprey_observe(o, (double)(field ? resident : size) * rt->page_by, NULL, 0);
}

static void observe_rss(osprey_observer *o, void *arg)
{
    observe_statm(o, arg, 1);
}

static void observe_virtual(osprey_observer *o, void *arg)
{
    observe_statm(o, arg, 0);
}

static void observe_fds(osprey_observer *o, void *arg)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    long n = 0, own = dirfd(d);
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && atol(e->d_name) != own)
            n++;
    closedir(d);
    osprey_observe(o, (double)n, NULL, 0);
}

/* ---- NVML ------------------------------------------------------------------------------------ */

static void *nvml_sym(void *lib, const char *name, const char *fallback)
{
    void *f = dlsym(lib, name);
    return f || !fallback ? f : dlsym(lib, fallback);
}

static void nvml_unload(nvml *g)
{
    if (g->lib) {
        if (g->shutdown)
            g->shutdown();
        dlclose(g->lib);
    }
    memset(g, 0, sizeof *g);
}

/* Loads and initializes NVML; leaves g->lib NULL when it is absent or unusable. */
static void nvml_load(nvml *g)
{
    g->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!g->lib)
        return;
    nvml_return (*init)(void) = (nvml_return(*)(void))nvml_sym(g->lib, "nvmlInit_v2", NULL);
    g->count = (nvml_return(*)(unsigned int *))nvml_sym(g->lib, "nvmlDeviceGetCount_v2", NULL);
    g->handle = (nvml_return(*)(unsigned int, nvml_device *))nvml_sym(
        g->lib, "nvmlDeviceGetHandleByIndex_v2", NULL);
    g->uuid = (nvml_return(*)(nvml_device, char *, unsigned int))nvml_sym(
        g->lib, "nvmlDeviceGetUUID", NULL);
    g->utilization = (nvml_return(*)(nvml_device, nvml_utilization *))nvml_sym(
        g->lib, "nvmlDeviceGetUtilizationRates", NULL);
    void *v1 = dlsym(g->lib, "nvmlDeviceGetComputeRunningProcesses");
    void *v2 = nvml_sym(g->lib, "nvmlDeviceGetComputeRunningProcesses_v3",
                        "nvmlDeviceGetComputeRunningProcesses_v2");
    g->processes = (nvml_return(*)(nvml_device, unsigned int *, void *))(v2 ? v2 : v1);
    g->process_size = v2 ? sizeof(nvml_process_v2) : sizeof(nvml_process_v1);
    if (!init || !g->count || !g->handle || !g->processes || init() != NVML_SUCCESS) {
        dlclose(g->lib);
        memset(g, 0, sizeof *g);
        return;
    }
    g->shutdown = (nvml_return(*)(void))nvml_sym(g->lib, "nvmlShutdown", NULL);
}

/* The GPU memory this process uses on dev; false when it uses none or it is unknown. */
static bool gpu_used(const nvml *g, nvml_device dev, unsigned int pid, double *bytes)
{
    unsigned int n = 64;
    unsigned char *infos = NULL;
    nvml_return r = NVML_ERROR_INSUFFICIENT_SIZE;
    for (int tries = 0; r == NVML_ERROR_INSUFFICIENT_SIZE && tries < 2; tries++) {
        unsigned int cap = n < NVML_PROCESS_MAX ? n + 16 : NVML_PROCESS_MAX;
        osp_free(infos);
        if (!(infos = osp_malloc(cap * g->process_size)))
            break;
        n = cap;
        r = g->processes(dev, &n, infos);
    }
    bool found = false;
    for (unsigned int k = 0; infos && r == NVML_SUCCESS && k < n && !found; k++) {
        nvml_process_v1 e; /* pid and used_memory lead both layouts */
        memcpy(&e, infos + k * g->process_size, sizeof e);
        found = e.pid == pid && e.used_memory != NVML_VALUE_NOT_AVAILABLE;
        *bytes = (double)e.used_memory;
    }
    osp_free(infos);
    return found;
}

typedef void (*gpu_fn)(osprey_observer *o, const nvml *g, nvml_device dev, const char *hw_id,
                       double used);

/* Calls fn for every GPU this process uses, with its hw.id (UUID, else the index). */
static void each_gpu(osprey_observer *o, const runtime *rt, gpu_fn fn)
{
    const nvml *g = &rt->gpu;
    unsigned int n = 0;
    if (!g->lib || g->count(&n) != NVML_SUCCESS)
        return;
    for (unsigned int k = 0; k < n; k++) {
        nvml_device dev;
        char id[NVML_UUID_SIZE];
        double used;
        if (g->handle(k, &dev) != NVML_SUCCESS || !gpu_used(g, dev, rt->pid, &used))
            continue;
        if (!g->uuid || g->uuid(dev, id, sizeof id) != NVML_SUCCESS)
            snprintf(id, sizeof id, "%u", k);
        fn(o, g, dev, id, used);
    }
}

static void report_gpu_memory(osprey_observer *o, const nvml *g, nvml_device dev, const char *hw_id,
                              double used)
{
    osprey_attr a = OSPREY_STR("hw.id", hw_id);
    osprey_observe(o, used, &a, 1);
}

static void report_gpu_utilization(osprey_observer *o, const nvml *g, nvml_device dev,
                                   const char *hw_id, double used)
{
    nvml_utilization u;
    osprey_attr a = OSPREY_STR("hw.id", hw_id);
    if (g->utilization && g->utilization(dev, &u) == NVML_SUCCESS)
        osprey_observe(o, u.gpu / 100.0, &a, 1);
}

static void observe_gpu_memory(osprey_observer *o, void *arg)
{
    each_gpu(o, arg, report_gpu_memory);
}

static void observe_gpu_utilization(osprey_observer *o, void *arg)
{
    each_gpu(o, arg, report_gpu_utilization);
}

/* ---- Registration ------------------------------------------------------------------------------
 */

static void runtime_free(void *arg)
{
    runtime *rt = arg;
    nvml_unload(&rt->gpu);
    osp_free(rt);
}

typedef struct runtime_metric {
    osprey_observable_kind kind;
    const char *name, *unit, *description;
    osprey_observe_fn cb;
    bool gpu;
} runtime_metric;

static const runtime_metric runtime_metrics[] = {
    {OSPREY_OBSERVABLE_COUNTER, "process.cpu.time", "s", "Total CPU seconds broken down by mode",
     observe_cpu, false},
    {OSPREY_OBSERVABLE_UPDOWN_COUNTER, "process.memory.usage", "By",
     "The amount of physical memory in use", observe_rss, false},
    {OSPREY_OBSERVABLE_UPDOWN_COUNTER, "process.memory.virtual", "By",
     "The amount of committed virtual memory", observe_virtual, false},
    {OSPREY_OBSERVABLE_UPDOWN_COUNTER, "process.thread.count", "{thread}", "Process threads count",
     observe_threads, false},
    {OSPREY_OBSERVABLE_UPDOWN_COUNTER, "process.open_file_descriptor.count", "{file_descriptor}",
     "Number of file descriptors in use by the process", observe_fds, false},
    {OSPREY_OBSERVABLE_UPDOWN_COUNTER, "process.gpu.memory.usage", "By",
     "GPU memory used by the process", observe_gpu_memory, true},
    {OSPREY_OBSERVABLE_GAUGE, "hw.gpu.utilization", "1", "Fraction of time the GPU was busy",
     observe_gpu_utilization, true},
};

int osprey_runtime_metrics_start(osprey_provider *p)
{
    osprey_meter *m = osprey_meter_get(p, "osprey.runtime", OSPREY_VERSION);
    if (!m)
        return p && p->metrics ? OSPREY_ENOMEM : OSPREY_EINVAL;
    runtime *rt = osp_calloc(1, sizeof *rt);
    if (!rt)
        return OSPREY_ENOMEM;
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    rt->tick_s = 1.0 / (double)(ticks > 0 ? ticks : 100);
    rt->page_by = (double)(page > 0 ? page : 4096);
    rt->pid = (unsigned int)getpid();
    nvml_load(&rt->gpu);
    if (osprey__metrics_on_destroy(p->metrics, runtime_free, rt) != 0) {
        runtime_free(rt);
        return OSPREY_ENOMEM;
    }
    int rc = 0;
    for (size_t k = 0; k < sizeof runtime_metrics / sizeof runtime_metrics[0]; k++) {
        const runtime_metric *d = &runtime_metrics[k];
        if (d->gpu && !rt->gpu.lib)
            continue;
        if (!osprey_observable(m, d->kind, d->name, d->unit, d->description, d->cb, rt))
            rc = OSPREY_ENOMEM;
    }
    return rc;
}
