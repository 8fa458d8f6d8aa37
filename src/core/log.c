/* stderr logger: "2026-01-02T03:04:05.678Z level module: message". */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int current_level = -1;

void osp_log_set_level(enum osp_log_level level)
{
    current_level = (int)level;
}

static int level_from_env(void)
{
    const char *z = getenv("OSP_LOG_LEVEL");
    if (!z)
        return OSP_LOG_INFO;
    if (!strcmp(z, "debug"))
        return OSP_LOG_DEBUG;
    if (!strcmp(z, "warn"))
        return OSP_LOG_WARN;
    if (!strcmp(z, "error"))
        return OSP_LOG_ERROR;
    return OSP_LOG_INFO;
}

void osp_log(enum osp_log_level level, const char *module, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (current_level < 0)
        current_level = level_from_env();
    if ((int)level < current_level)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[level], module);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line); /* one write per line keeps threads from interleaving */
}
