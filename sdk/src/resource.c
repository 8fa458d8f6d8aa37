/* The resource: attributes detected from the SDK, the host and the process, then the
 * configured ones over them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/mem.h"
#include "sdk_int.h"

/* The semantic conventions' host.arch for a uname machine name (itself when unknown). */
static const char *host_arch(const char *machine)
{
    static const char *const map[][2] = {
        {"x86_64", "amd64"}, {"aarch64", "arm64"}, {"i386", "x86"},      {"i686", "x86"},
        {"armv7l", "arm32"}, {"armv6l", "arm32"},  {"ppc64le", "ppc64"}, {"ppc64", "ppc64"},
        {"ppc", "ppc32"},    {"s390x", "s390x"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(machine, map[i][0]))
            return map[i][1];
    return machine;
}

/* What the process is: its executable's path (empty when unreadable) and name. */
typedef struct process_info {
    char path[PATH_MAX];
    const char *name;
} process_info;

static void process_detect(process_info *pi)
{
    ssize_t n = readlink("/proc/self/exe", pi->path, sizeof pi->path - 1);
    pi->path[n > 0 ? n : 0] = '\0';
    const char *slash = strrchr(pi->path, '/');
    pi->name = slash ? slash + 1 : program_invocation_short_name;
}

/* The C library as the process runtime: "glibc" and its version where confstr knows them,
 * else "c" and no version. */
static void runtime_detect(char *buf, size_t cap, const char **name, const char **version)
{
    size_t n = confstr(_CS_GNU_LIBC_VERSION, buf, cap);
    char *space = n > 0 && n <= cap ? strchr(buf, ' ') : NULL;
    if (space) {
        *space = '\0';
        *name = buf;
        *version = space + 1;
    } else {
        *name = "c";
        *version = NULL;
    }
}

static int set_detected(osprey__attrs *out, const process_info *pi, const char *service)
{
    struct utsname u;
    char host[HOST_NAME_MAX + 1] = "";
    char libc[64];
    const char *runtime, *runtime_version;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    runtime_detect(libc, sizeof libc, &runtime, &runtime_version);
    osprey_attr a[13];
    size_t n = 0;
    a[n++] = OSPREY_STR("service.name", service);
    a[n++] = OSPREY_STR("telemetry.sdk.name", "osprey");
    a[n++] = OSPREY_STR("telemetry.sdk.language", "c");
    a[n++] = OSPREY_STR("telemetry.sdk.version", OSPREY_VERSION);
    if (host[0])
        a[n++] = OSPREY_STR("host.name", host);
    if (u.machine[0])
        a[n++] = OSPREY_STR("host.arch", host_arch(u.machine));
    a[n++] = OSPREY_STR("os.type", "linux");
    a[n++] = OSPREY_INT("process.pid", (int64_t)getpid());
    a[n++] = OSPREY_STR("process.executable.name", pi->name);
    if (pi->path[0])
        a[n++] = OSPREY_STR("process.executable.path", pi->path);
    a[n++] = OSPREY_STR("process.runtime.name", runtime);
    if (runtime_version)
        a[n++] = OSPREY_STR("process.runtime.version", runtime_version);
    return osprey__attrs_set(out, a, n, 0);
}

/* A borrowed osprey_attr view of an owned attribute. */
static osprey_attr kv_view(const osprey__kv *kv)
{
    osprey_attr a = {.key = kv->key, .type = kv->type};
    switch (kv->type) {
    case OSPREY_VALUE_STRING:
        a.v.s = kv->v.s;
        break;
    case OSPREY_VALUE_BOOL:
        a.v.b = kv->v.b;
        break;
    case OSPREY_VALUE_INT:
        a.v.i = kv->v.i;
        break;
    case OSPREY_VALUE_DOUBLE:
        a.v.d = kv->v.d;
        break;
    default: /* the arrays */
        a.v.array.items = kv->v.array.items;
        a.v.array.n = kv->v.array.n;
    }
    return a;
}

int osprey__resource_build(osprey__attrs *out, const osprey__config *c)
{
    static const char prefix[] = "unknown_service:";
    process_info pi;
    process_detect(&pi);
    char service[sizeof prefix + 256];
    snprintf(service, sizeof service, "%s%s", prefix, pi.name);
    int rc = set_detected(out, &pi, service);
    for (uint32_t i = 0; rc == 0 && i < c->resource_env.n; i++) {
        osprey_attr a = kv_view(&c->resource_env.items[i]);
        rc = osprey__attrs_set(out, &a, 1, 0);
    }
    if (rc == 0 && c->service_name)
        rc = osprey__attrs_set(out, &OSPREY_STR("service.name", c->service_name), 1, 0);
    if (rc)
        osprey__attrs_cleanup(out);
    return rc;
}
