/* The provider's configuration: osprey_options over the OpenTelemetry SDK environment
 * variables, with defaults, and a one-line warning on stderr for each bad value. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "sdk_int.h"

#define DEFAULT_ENDPOINT "http://localhost:4318"
#define MAX_LIST_ITEMS 64       /* k=v pairs taken from one variable */
#define MAX_VALUE_LEN 8192      /* longer variables are refused as bad */
#define MAX_QUEUE_ITEMS 1000000 /* queue and batch sizes */
#define MAX_MS 86400000u        /* one day: the largest delay or timeout */

static const char *const signal_names[3] = {"TRACES", "METRICS", "LOGS"};
static const char *const signal_paths[3] = {"v1/traces", "v1/metrics", "v1/logs"};

/* The variable's value, or NULL when unset or empty. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void warn_bad(const char *name, const char *value, const char *fallback)
{
    fprintf(stderr, "osprey: %s: bad value \"%.64s\", using %s\n", name, value, fallback);
}

/* An integer variable in [1, max]; def when unset or bad (with a warning). */
static uint64_t env_uint(const char *name, uint64_t def, uint64_t max)
{
    const char *v = env(name);
    if (!v)
        return def;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || !isdigit((unsigned char)*v) || x < 1 || x > max) {
        char fallback[32];
        snprintf(fallback, sizeof fallback, "%llu", (unsigned long long)def);
        warn_bad(name, v, fallback);
        return def;
    }
    return x;
}

/* a, sep and b concatenated into a new string; NULL on ENOMEM. */
static char *join(const char *a, const char *sep, const char *b)
{
    size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);
    char *out = osp_malloc(na + ns + nb + 1);
    if (out) {
        memcpy(out, a, na);
        memcpy(out + na, sep, ns);
        memcpy(out + na + ns, b, nb + 1);
    }
    return out;
}

/* "OTEL_EXPORTER_OTLP_<SIGNAL>_<suffix>" into out. */
static void signal_var(char *out, size_t cap, osprey__signal s, const char *suffix)
{
    snprintf(out, cap, "OTEL_EXPORTER_OTLP_%s_%s", signal_names[s], suffix);
}

/* ---- k=v lists (OTEL_RESOURCE_ATTRIBUTES, headers) -------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A copy of p[0..n) with surrounding spaces trimmed and %XX decoded (a '%' not followed
 * by two hex digits is kept as is). NULL on ENOMEM. */
static char *decode_trimmed(const char *p, size_t n)
{
    while (n && isspace((unsigned char)*p))
        p++, n--;
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    char *out = osp_malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (p[i] == '%' && i + 2 < n && (hi = hexval(p[i + 1])) >= 0 &&
            (lo = hexval(p[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = p[i];
        }
    }
    out[o] = '\0';
    return out;
}

typedef struct kv_list {
    char *keys[MAX_LIST_ITEMS], *values[MAX_LIST_ITEMS];
    size_t n;
} kv_list;

static void kv_list_cleanup(kv_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        osp_free(l->keys[i]);
        osp_free(l->values[i]);
    }
    l->n = 0;
}

/* Adds the member p[0..len) ("k=v") to l. 0, OSPREY_EINVAL (no '=', an empty key, or
 * too many members) or OSPREY_ENOMEM; what was copied is in l either way. */
static int kv_list_add(kv_list *l, const char *p, size_t len)
{
    const char *eq = memchr(p, '=', len);
    if (!eq || l->n == MAX_LIST_ITEMS)
        return OSPREY_EINVAL;
    char *key = decode_trimmed(p, (size_t)(eq - p));
    char *value = decode_trimmed(eq + 1, (size_t)(p + len - eq - 1));
    l->keys[l->n] = key;
    l->values[l->n++] = value;
    if (!key || !value)
        return OSPREY_ENOMEM;
    return *key ? 0 : OSPREY_EINVAL;
}

/* Parses "k=v,k2=v2" (percent-decoded, spaces trimmed, blank members skipped) into l. A
 * bad member makes the whole value bad: OSPREY_EINVAL and l empty, as the OTel
 * specification asks. 0 or OSPREY_ENOMEM too. */
static int kv_list_parse(kv_list *l, const char *s)
{
    int rc = 0;
    l->n = 0;
    if (strlen(s) > MAX_VALUE_LEN)
        return OSPREY_EINVAL;
    for (const char *p = s; *p && rc == 0;) {
        size_t len = strcspn(p, ",");
        if (strspn(p, " \t") < len)
            rc = kv_list_add(l, p, len);
        p += len;
        if (*p == ',')
            p++;
    }
    if (rc)
        kv_list_cleanup(l);
    return rc;
}

/* Parses the list in variable name into l; a bad value is reported and leaves l empty. */
static int env_kv_list(kv_list *l, const char *name)
{
    l->n = 0;
    const char *v = env(name);
    if (!v)
        return 0;
    int rc = kv_list_parse(l, v);
    if (rc == OSPREY_EINVAL) {
        warn_bad(name, v, "none of it");
        return 0;
    }
    return rc;
}

/* ---- Resource attributes and the service name ------------------------------------------ */

static int load_resource(osprey__config *c, const osprey_options *opt)
{
    kv_list l;
    int rc = env_kv_list(&l, "OTEL_RESOURCE_ATTRIBUTES");
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        rc = osprey__attrs_set(&c->resource_env, &OSPREY_STR(l.keys[i], l.values[i]), 1, 0);
    kv_list_cleanup(&l);
    if (rc == 0 && opt->nresource)
        rc = osprey__attrs_set(&c->resource_env, opt->resource, opt->nresource, 0);
    const char *name = opt->service_name ? opt->service_name : env("OTEL_SERVICE_NAME");
    if (rc == 0 && name && !(c->service_name = osp_strdup(name)))
        rc = OSPREY_ENOMEM;
    return rc;
}

/* ---- Sampler and exporters --------------------------------------------------------------- */

static const struct {
    const char *name;
    osprey_sampler_kind kind;
} samplers[] = {
    {"always_on", OSPREY_SAMPLER_ALWAYS_ON},
    {"always_off", OSPREY_SAMPLER_ALWAYS_OFF},
    {"traceidratio", OSPREY_SAMPLER_TRACEIDRATIO},
    {"parentbased_always_on", OSPREY_SAMPLER_PARENTBASED_ALWAYS_ON},
    {"parentbased_always_off", OSPREY_SAMPLER_PARENTBASED_ALWAYS_OFF},
    {"parentbased_traceidratio", OSPREY_SAMPLER_PARENTBASED_TRACEIDRATIO},
};

static bool ratio_valid(double r)
{
    return r >= 0.0 && r <= 1.0; /* false for NaN too */
}

static void load_sampler(osprey__config *c, const osprey_options *opt)
{
    c->sampler = OSPREY_SAMPLER_PARENTBASED_ALWAYS_ON;
    c->sampler_ratio = 1.0;
    if (opt->sampler) {
        c->sampler = opt->sampler;
        if (ratio_valid(opt->sampler_ratio))
            c->sampler_ratio = opt->sampler_ratio;
        else
            fprintf(stderr, "osprey: osprey_options.sampler_ratio not in [0, 1], using 1.0\n");
        return;
    }
    const char *v = env("OTEL_TRACES_SAMPLER");
    if (v) {
        size_t i = 0;
        while (i < sizeof samplers / sizeof samplers[0] && strcasecmp(v, samplers[i].name))
            i++;
        if (i < sizeof samplers / sizeof samplers[0])
            c->sampler = samplers[i].kind;
        else
            warn_bad("OTEL_TRACES_SAMPLER", v, "parentbased_always_on");
    }
    const char *arg = env("OTEL_TRACES_SAMPLER_ARG");
    if (arg) {
        char *end;
        double r = strtod(arg, &end);
        if (end != arg && !*end && ratio_valid(r))
            c->sampler_ratio = r;
        else
            warn_bad("OTEL_TRACES_SAMPLER_ARG", arg, "1.0");
    }
}

/* otlp, console or none; a comma list takes its first member. */
static osprey_exporter_kind env_exporter(const char *name)
{
    const char *v = env(name);
    if (!v)
        return OSPREY_EXPORTER_OTLP;
    size_t n = strcspn(v, ",");
    while (n && isspace((unsigned char)v[n - 1]))
        n--;
    const char *p = v;
    while (n && isspace((unsigned char)*p))
        p++, n--;
    if (n == 4 && !strncasecmp(p, "otlp", 4))
        return OSPREY_EXPORTER_OTLP;
    if (n == 7 && !strncasecmp(p, "console", 7))
        return OSPREY_EXPORTER_CONSOLE;
    if (n == 4 && !strncasecmp(p, "none", 4))
        return OSPREY_EXPORTER_NONE;
    warn_bad(name, v, "otlp");
    return OSPREY_EXPORTER_OTLP;
}

static void load_exporters(osprey__config *c, const osprey_options *opt)
{
    static const char *const vars[3] = {"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER",
                                        "OTEL_LOGS_EXPORTER"};
    const osprey_exporter_kind set[3] = {opt->traces_exporter, opt->metrics_exporter,
                                         opt->logs_exporter};
    for (int s = 0; s < 3; s++)
        c->exporter[s] = set[s] ? set[s] : env_exporter(vars[s]);
}

/* ---- OTLP transports ------------------------------------------------------------------- */

/* The per-signal variable when set, else the general one, else NULL; *which names it. */
static const char *env_signal(osprey__signal s, const char *suffix, char *which, size_t cap)
{
    signal_var(which, cap, s, suffix);
    const char *v = env(which);
    if (v)
        return v;
    snprintf(which, cap, "OTEL_EXPORTER_OTLP_%s", suffix);
    return env(which);
}

/* The signal's URL: opt->endpoint or OTEL_EXPORTER_OTLP_ENDPOINT with the signal's path
 * appended, unless the per-signal endpoint variable gives it whole. */
static char *signal_url(osprey__signal s, const osprey_options *opt)
{
    char var[64];
    signal_var(var, sizeof var, s, "ENDPOINT");
    const char *whole = opt->endpoint ? NULL : env(var);
    if (whole)
        return osp_strdup(whole);
    const char *base = opt->endpoint ? opt->endpoint : env("OTEL_EXPORTER_OTLP_ENDPOINT");
    if (!base)
        base = DEFAULT_ENDPOINT;
    size_t n = strlen(base);
    return join(base, n && base[n - 1] == '/' ? "" : "/", signal_paths[s]);
}

/* A header name or value that could not be sent as is (it would split the header). */
static bool header_bad(const char *k, const char *v)
{
    return strpbrk(k, ":\r\n \t") || strpbrk(v, "\r\n");
}

static int load_headers(osprey__transport_config *t, osprey__signal s)
{
    char var[64];
    const char *v = env_signal(s, "HEADERS", var, sizeof var);
    if (!v)
        return 0;
    kv_list l;
    int rc = kv_list_parse(&l, v);
    if (rc == 0) {
        for (size_t i = 0; i < l.n; i++)
            if (header_bad(l.keys[i], l.values[i]))
                rc = OSPREY_EINVAL;
    }
    if (rc == OSPREY_EINVAL) {
        warn_bad(var, v, "no headers");
        kv_list_cleanup(&l);
        return 0;
    }
    if (rc == 0 && l.n && !(t->headers = osp_calloc(l.n, sizeof *t->headers)))
        rc = OSPREY_ENOMEM;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        if (!(t->headers[i] = join(l.keys[i], ": ", l.values[i])))
            rc = OSPREY_ENOMEM;
        t->nheaders = i + 1;
    }
    kv_list_cleanup(&l);
    return rc;
}

static int load_transport(osprey__transport_config *t, osprey__signal s, const osprey_options *opt)
{
    char var[64];
    if (!(t->url = signal_url(s, opt)))
        return OSPREY_ENOMEM;
    t->timeout_ms = 10000;
    if (env_signal(s, "TIMEOUT", var, sizeof var))
        t->timeout_ms = (uint32_t)env_uint(var, t->timeout_ms, MAX_MS);
    if (opt->export_timeout_ms)
        t->timeout_ms = opt->export_timeout_ms;
    const char *z = env_signal(s, "COMPRESSION", var, sizeof var);
    if (z && !strcasecmp(z, "gzip"))
        t->gzip = true;
    else if (z && strcasecmp(z, "none"))
        warn_bad(var, z, "none");
    return load_headers(t, s);
}

/* ---- Batches, metrics, GenAI --------------------------------------------------------------- */

static void load_batch(osprey__batch_config *b, const char *prefix, const osprey_options *opt)
{
    char var[64];
    snprintf(var, sizeof var, "%s_MAX_QUEUE_SIZE", prefix);
    b->max_queue =
        opt->max_queue_size ? opt->max_queue_size : (size_t)env_uint(var, 2048, MAX_QUEUE_ITEMS);
    snprintf(var, sizeof var, "%s_MAX_EXPORT_BATCH_SIZE", prefix);
    b->max_batch = opt->max_export_batch_size ? opt->max_export_batch_size
                                              : (size_t)env_uint(var, 512, MAX_QUEUE_ITEMS);
    snprintf(var, sizeof var, "%s_SCHEDULE_DELAY", prefix);
    b->delay_ms =
        opt->schedule_delay_ms ? opt->schedule_delay_ms : (uint32_t)env_uint(var, 5000, MAX_MS);
    snprintf(var, sizeof var, "%s_EXPORT_TIMEOUT", prefix);
    b->export_timeout_ms = (uint32_t)env_uint(var, 30000, MAX_MS);
    if (b->max_batch > b->max_queue)
        b->max_batch = b->max_queue;
}

static bool env_bool(const char *name)
{
    const char *v = env(name);
    if (!v)
        return false;
    if (!strcasecmp(v, "true"))
        return true;
    if (strcasecmp(v, "false"))
        warn_bad(name, v, "false");
    return false;
}

int osprey__config_load(osprey__config *c, const osprey_options *opt)
{
    static const osprey_options none;
    if (!opt)
        opt = &none;
    memset(c, 0, sizeof *c);
    int rc = load_resource(c, opt);
    if (rc)
        goto out;
    load_sampler(c, opt);
    load_exporters(c, opt);
    for (int s = 0; s < 3; s++)
        if ((rc = load_transport(&c->transport[s], (osprey__signal)s, opt)))
            goto out;
    load_batch(&c->span_batch, "OTEL_BSP", opt);
    load_batch(&c->log_batch, "OTEL_BLRP", opt);
    c->metric_interval_ms = opt->metric_interval_ms
                                ? opt->metric_interval_ms
                                : (uint32_t)env_uint("OTEL_METRIC_EXPORT_INTERVAL", 60000, MAX_MS);
    c->metric_timeout_ms = (uint32_t)env_uint("OTEL_METRIC_EXPORT_TIMEOUT", 30000, MAX_MS);
    c->log_to_stderr = opt->log_to_stderr;
    c->capture_genai_content = env_bool("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
out:
    if (rc)
        osprey__config_cleanup(c);
    return rc;
}

void osprey__config_cleanup(osprey__config *c)
{
    osp_free(c->service_name);
    osprey__attrs_cleanup(&c->resource_env);
    for (int s = 0; s < 3; s++) {
        osprey__transport_config *t = &c->transport[s];
        osp_free(t->url);
        for (size_t i = 0; i < t->nheaders; i++)
            osp_free(t->headers[i]);
        osp_free(t->headers);
    }
    memset(c, 0, sizeof *c);
}
