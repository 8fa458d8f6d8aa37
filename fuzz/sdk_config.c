/* libFuzzer target for libosprey's configuration parsers: the input, cut at '\n', becomes
 * the values of the OTEL_* variables that take lists, numbers and URLs; loading the
 * configuration and building the resource must not crash, leak or exceed their limits. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_check.h"
#include "sdk_int.h"

static const char *const vars[] = {
    "OTEL_RESOURCE_ATTRIBUTES",        "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_TRACES_SAMPLER_ARG",         "OTEL_TRACES_SAMPLER",        "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_EXPORTER_OTLP_TIMEOUT",      "OTEL_SERVICE_NAME",          "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
};
#define NVARS (sizeof vars / sizeof vars[0])

/* Bad values are reported on stderr by design: around the calls it goes to /dev/null, so
 * the fuzzer's own output stays readable (a crash still fails the run and saves the input). */
static int quiet(void)
{
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, 2);
        close(null);
    }
    return saved;
}

static void loud(int saved)
{
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *p = buf;
    for (size_t i = 0; i < NVARS; i++) {
        char *end = p ? strchr(p, '\n') : NULL;
        if (end)
            *end = 0;
        if (p)
            setenv(vars[i], p, 1);
        else
            unsetenv(vars[i]);
        p = end ? end + 1 : NULL;
    }
    osprey__config c;
    int saved = quiet();
    int rc = osprey__config_load(&c, NULL);
    loud(saved);
    if (rc == 0) {
        CHECK(c.sampler != OSPREY_SAMPLER_DEFAULT);
        CHECK(c.sampler_ratio >= 0 && c.sampler_ratio <= 1);
        CHECK(c.span_batch.max_batch <= c.span_batch.max_queue);
        for (int s = 0; s < 3; s++)
            CHECK(c.exporter[s] != OSPREY_EXPORTER_DEFAULT && c.transport[s].url);
        osprey__attrs res = {0};
        saved = quiet();
        rc = osprey__resource_build(&res, &c);
        loud(saved);
        if (rc == 0)
            CHECK(osprey__attrs_find(&res, "service.name") != NULL);
        osprey__attrs_cleanup(&res);
        osprey__config_cleanup(&c);
    }
    free(buf);
    return 0;
}
