/* Scrape configuration parser: libyaml document tree -> osp_scrape_config, Prometheus rules. */
#include "scrape/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/duration.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/mem.h"

#define DEFAULT_SCRAPE_INTERVAL_MS (60 * 1000)
#define DEFAULT_SCRAPE_TIMEOUT_MS (10 * 1000)
#define DEFAULT_EVAL_INTERVAL_MS (60 * 1000)
#define DEFAULT_FILE_SD_REFRESH_MS (5 * 60 * 1000)
#define MAX_CONFIG_BYTES (64u << 20)
#define PATH_MAX_LEN 256

/* Parsing context: the document, where results go, and where the error message goes. */
typedef struct parser {
    const char *name; /* file name for messages */
    yaml_document_t *doc;
    osp_arena *arena;
    char *err;
    size_t errlen;
    int strict; /* unknown keys are errors */
} parser;

static int line_of(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 0;
}

static int fail(parser *p, const yaml_node_t *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes "name:line: path: message" to the error buffer; returns OSP_EINVAL. */
static int fail(parser *p, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && *path)
        snprintf(p->err, p->errlen, "%s:%d: %s: %s", p->name, line_of(n), path, msg);
    else
        snprintf(p->err, p->errlen, "%s:%d: %s", p->name, line_of(n), msg);
    return OSP_EINVAL;
}

static int nomem(parser *p)
{
    snprintf(p->err, p->errlen, "%s: out of memory", p->name);
    return OSP_ENOMEM;
}

static yaml_node_t *node(parser *p, int id)
{
    return yaml_document_get_node(p->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int is_null(const yaml_node_t *n)
{
    if (!n)
        return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *z = scalar(n);
    return !*z || !strcmp(z, "~") || !strcmp(z, "null") || !strcmp(z, "Null") || !strcmp(z, "NULL");
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "a scalar";
    }
}

/* Message paths are cosmetic: one deeper than PATH_MAX_LEN is cut short, never overflows. */
static void subpath(char *out, const char *path, const char *key)
{
    int n = *path ? snprintf(out, PATH_MAX_LEN, "%s.%s", path, key)
                  : snprintf(out, PATH_MAX_LEN, "%s", key);
    if (n >= PATH_MAX_LEN)
        memcpy(out + PATH_MAX_LEN - 4, "...", 4);
}

static void indexpath(char *out, const char *path, size_t i)
{
    int n = snprintf(out, PATH_MAX_LEN, "%s[%zu]", path, i);
    if (n >= PATH_MAX_LEN)
        memcpy(out + PATH_MAX_LEN - 4, "...", 4);
}

static int want(parser *p, const yaml_node_t *n, const char *path, yaml_node_type_t t)
{
    if (n->type == t)
        return 0;
    const char *w = t == YAML_SEQUENCE_NODE  ? "a list"
                    : t == YAML_MAPPING_NODE ? "a mapping"
                                             : "a scalar";
    return fail(p, n, path, "must be %s, not %s", w, kind_name(n));
}

/* Checks keys of a mapping are scalars and unique. */
static int check_keys(parser *p, const yaml_node_t *m, const char *path)
{
    for (yaml_node_pair_t *a = m->data.mapping.pairs.start; a < m->data.mapping.pairs.top; a++) {
        yaml_node_t *k = node(p, a->key);
        if (k->type != YAML_SCALAR_NODE)
            return fail(p, k, path, "mapping keys must be scalars");
        for (yaml_node_pair_t *b = m->data.mapping.pairs.start; b < a; b++) {
            yaml_node_t *kb = node(p, b->key);
            if (kb->type == YAML_SCALAR_NODE && !strcmp(scalar(kb), scalar(k)))
                return fail(p, k, path, "duplicate key \"%s\" (first at line %d)", scalar(k),
                            line_of(kb));
        }
    }
    return 0;
}

static int unknown_key(parser *p, const yaml_node_t *k, const char *path)
{
    return fail(p, k, path, "unknown or unsupported key \"%s\"", scalar(k));
}

static int get_str(parser *p, const yaml_node_t *n, const char *path, const char **out)
{
    int rc = want(p, n, path, YAML_SCALAR_NODE);
    if (rc)
        return rc;
    osp_str s = osp_arena_strdup(p->arena, osp_str_make(scalar(n), n->data.scalar.length));
    if (!s.p)
        return nomem(p);
    if (strlen(s.p) != s.n)
        return fail(p, n, path, "must not contain NUL characters");
    *out = s.p;
    return 0;
}

static int get_bool(parser *p, const yaml_node_t *n, const char *path, int *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    int rc = want(p, n, path, YAML_SCALAR_NODE);
    if (rc)
        return rc;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
            if (!strcmp(scalar(n), yes[i])) {
                *out = 1;
                return 0;
            }
            if (!strcmp(scalar(n), no[i])) {
                *out = 0;
                return 0;
            }
        }
    }
    return fail(p, n, path, "\"%s\" is not a boolean (true or false)", scalar(n));
}

static int get_duration(parser *p, const yaml_node_t *n, const char *path, int64_t *ms)
{
    int rc = want(p, n, path, YAML_SCALAR_NODE);
    if (rc)
        return rc;
    if (osp_prom_duration_parse(osp_str_c(scalar(n)), ms) != 0)
        return fail(p, n, path, "not a valid duration string: \"%s\"", scalar(n));
    return 0;
}

static int get_uint64(parser *p, const yaml_node_t *n, const char *path, uint64_t *out)
{
    int rc = want(p, n, path, YAML_SCALAR_NODE);
    if (rc)
        return rc;
    const char *z = scalar(n);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(z, &end, 10);
    if (!*z || *z < '0' || *z > '9' || *end || errno)
        return fail(p, n, path, "\"%s\" is not an unsigned integer", z);
    *out = v;
    return 0;
}

/* A list of strings. Null gives an empty list. */
static int get_str_list(parser *p, const yaml_node_t *n, const char *path, const char ***out,
                        size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (is_null(n))
        return 0;
    int rc = want(p, n, path, YAML_SEQUENCE_NODE);
    if (rc)
        return rc;
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    const char **a = osp_arena_calloc(p->arena, cnt ? cnt : 1, sizeof *a);
    if (!a)
        return nomem(p);
    for (size_t i = 0; i < cnt; i++) {
        char sub[PATH_MAX_LEN];
        indexpath(sub, path, i);
        if ((rc = get_str(p, node(p, n->data.sequence.items.start[i]), sub, &a[i])) != 0)
            return rc;
    }
    *out = a;
    *nout = cnt;
    return 0;
}

static int label_cmp(const void *a, const void *b)
{
    return osp_str_cmp(((const osp_label *)a)->name, ((const osp_label *)b)->name);
}

/* A mapping of label name -> value, sorted by name. */
static int get_labels(parser *p, const yaml_node_t *n, const char *path, osp_label **out,
                      size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (is_null(n))
        return 0;
    int rc = want(p, n, path, YAML_MAPPING_NODE);
    if (rc || (rc = check_keys(p, n, path)) != 0)
        return rc;
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    osp_label *a = osp_arena_calloc(p->arena, cnt ? cnt : 1, sizeof *a);
    if (!a)
        return nomem(p);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *k = node(p, n->data.mapping.pairs.start[i].key);
        yaml_node_t *v = node(p, n->data.mapping.pairs.start[i].value);
        const char *name, *value = "";
        char sub[PATH_MAX_LEN];
        if ((rc = get_str(p, k, path, &name)) != 0)
            return rc;
        if (!osp_label_name_valid(osp_str_c(name)))
            return fail(p, k, path, "\"%s\" is not a valid label name", name);
        subpath(sub, path, name);
        if (!is_null(v) && (rc = get_str(p, v, sub, &value)) != 0)
            return rc;
        if (!osp_utf8_valid(value, strlen(value)))
            return fail(p, v, sub, "label value is not valid UTF-8");
        a[i].name = osp_str_c(name);
        a[i].value = osp_str_c(value);
    }
    qsort(a, cnt, sizeof *a, label_cmp);
    *out = a;
    *nout = cnt;
    return 0;
}

/* One {targets, labels} group. check_hosts rejects addresses with a "/", as Prometheus does
 * for static targets. */
static int parse_group(parser *p, const yaml_node_t *n, const char *path, int check_hosts,
                       osp_target_group *g)
{
    int rc = want(p, n, path, YAML_MAPPING_NODE);
    if (rc || (rc = check_keys(p, n, path)) != 0)
        return rc;
    g->line = line_of(n);
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        char sub[PATH_MAX_LEN];
        subpath(sub, path, scalar(k));
        if (!strcmp(scalar(k), "targets")) {
            if ((rc = get_str_list(p, v, sub, &g->targets, &g->ntargets)) != 0)
                return rc;
            for (size_t i = 0; check_hosts && i < g->ntargets; i++) {
                if (strchr(g->targets[i], '/') || !*g->targets[i]) {
                    char isub[PATH_MAX_LEN];
                    indexpath(isub, sub, i);
                    return fail(p, node(p, v->data.sequence.items.start[i]), isub,
                                "\"%s\" is not a valid hostname", g->targets[i]);
                }
            }
        } else if (!strcmp(scalar(k), "labels")) {
            if ((rc = get_labels(p, v, sub, &g->labels, &g->nlabels)) != 0)
                return rc;
        } else if (p->strict) {
            return unknown_key(p, k, path);
        }
    }
    return 0;
}

/* Prometheus's patFileSDName: ^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$ */
static int file_sd_name_valid(const char *z)
{
    static const char *const ext[] = {".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"};
    const char *star = strchr(z, '*');
    if (star && (strchr(star + 1, '*') || strchr(star + 1, '/')))
        return 0;
    size_t n = strlen(z);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t en = strlen(ext[i]);
        if (n >= en && !strcmp(z + n - en, ext[i]))
            return 1;
    }
    return 0;
}

static int parse_file_sd(parser *p, const yaml_node_t *n, const char *path, osp_file_sd_config *f)
{
    int rc = want(p, n, path, YAML_MAPPING_NODE);
    if (rc || (rc = check_keys(p, n, path)) != 0)
        return rc;
    f->refresh_interval_ms = DEFAULT_FILE_SD_REFRESH_MS;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        char sub[PATH_MAX_LEN];
        subpath(sub, path, scalar(k));
        if (!strcmp(scalar(k), "files")) {
            if ((rc = get_str_list(p, v, sub, &f->files, &f->nfiles)) != 0)
                return rc;
            for (size_t i = 0; i < f->nfiles; i++) {
                if (!file_sd_name_valid(f->files[i])) {
                    char isub[PATH_MAX_LEN];
                    indexpath(isub, sub, i);
                    return fail(p, node(p, v->data.sequence.items.start[i]), isub,
                                "path name \"%s\" is not valid for file discovery", f->files[i]);
                }
            }
        } else if (!strcmp(scalar(k), "refresh_interval")) {
            if (!is_null(v) && (rc = get_duration(p, v, sub, &f->refresh_interval_ms)) != 0)
                return rc;
        } else {
            return unknown_key(p, k, path);
        }
    }
    if (f->nfiles == 0)
        return fail(p, n, path,
                    "file service discovery config must contain at least one path name");
    return 0;
}

static int parse_relabel(parser *p, const yaml_node_t *n, const char *path, osp_relabel_rule *r)
{
    int rc = want(p, n, path, YAML_MAPPING_NODE);
    if (rc || (rc = check_keys(p, n, path)) != 0)
        return rc;
    osp_relabel_rule_defaults(r);
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        const char *key = scalar(k);
        char sub[PATH_MAX_LEN];
        subpath(sub, path, key);
        if (is_null(v))
            continue;
        if (!strcmp(key, "source_labels"))
            rc = get_str_list(p, v, sub, &r->source_labels, &r->nsource_labels);
        else if (!strcmp(key, "separator"))
            rc = get_str(p, v, sub, &r->separator);
        else if (!strcmp(key, "target_label"))
            rc = get_str(p, v, sub, &r->target_label);
        else if (!strcmp(key, "regex"))
            rc = get_str(p, v, sub, &r->regex);
        else if (!strcmp(key, "replacement"))
            rc = get_str(p, v, sub, &r->replacement);
        else if (!strcmp(key, "modulus"))
            rc = get_uint64(p, v, sub, &r->modulus);
        else if (!strcmp(key, "action")) {
            const char *a;
            if ((rc = get_str(p, v, sub, &a)) == 0 && osp_relabel_action_parse(a, &r->action))
                rc = fail(p, v, sub, "unknown relabel action \"%s\"", a);
        } else
            rc = unknown_key(p, k, path);
        if (rc)
            return rc;
    }
    char msg[256];
    rc = osp_relabel_rule_compile(r, msg, sizeof msg);
    if (rc == OSP_ENOMEM)
        return nomem(p);
    if (rc)
        return fail(p, n, path, "%s", msg);
    return 0;
}

/* A list of relabel rules; *nout counts only compiled rules, so cleanup is exact. */
static int parse_relabel_list(parser *p, const yaml_node_t *n, const char *path,
                              osp_relabel_rule **out, size_t *nout)
{
    if (is_null(n))
        return 0;
    int rc = want(p, n, path, YAML_SEQUENCE_NODE);
    if (rc)
        return rc;
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    *out = osp_arena_calloc(p->arena, cnt ? cnt : 1, sizeof **out);
    if (!*out)
        return nomem(p);
    for (size_t i = 0; i < cnt; i++) {
        char sub[PATH_MAX_LEN];
        indexpath(sub, path, i);
        if ((rc = parse_relabel(p, node(p, n->data.sequence.items.start[i]), sub, &(*out)[i])))
            return rc;
        (*nout)++;
    }
    return 0;
}

static int parse_params(parser *p, const yaml_node_t *n, const char *path, osp_scrape_job *j)
{
    if (is_null(n))
        return 0;
    int rc = want(p, n, path, YAML_MAPPING_NODE);
    if (rc || (rc = check_keys(p, n, path)) != 0)
        return rc;
    size_t total = 0;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *v = node(p, pr->value);
        char sub[PATH_MAX_LEN];
        subpath(sub, path, scalar(node(p, pr->key)));
        if (!is_null(v) && (rc = want(p, v, sub, YAML_SEQUENCE_NODE)) != 0)
            return rc;
        if (!is_null(v))
            total += (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    }
    j->params = osp_arena_calloc(p->arena, total ? total : 1, sizeof *j->params);
    if (!j->params)
        return nomem(p);
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const char *name, **vals;
        size_t nvals;
        char sub[PATH_MAX_LEN];
        if ((rc = get_str(p, node(p, pr->key), path, &name)) != 0)
            return rc;
        subpath(sub, path, name);
        if ((rc = get_str_list(p, node(p, pr->value), sub, &vals, &nvals)) != 0)
            return rc;
        for (size_t i = 0; i < nvals; i++) {
            j->params[j->nparams].name = osp_str_c(name);
            j->params[j->nparams].value = osp_str_c(vals[i]);
            j->nparams++;
        }
    }
    return 0;
}

static int parse_job(parser *p, const osp_scrape_config *c, const yaml_node_t *n, const char *path,
                     osp_scrape_job *j)
{
    int rc = want(p, n, path, YAML_MAPPING_NODE);
    if (rc || (rc = check_keys(p, n, path)) != 0)
        return rc;
    const yaml_node_t *timeout_node = NULL, *interval_node = NULL;
    j->line = line_of(n);
    j->metrics_path = "/metrics";
    j->scheme = "http";
    j->honor_timestamps = 1;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        const char *key = scalar(k);
        char sub[PATH_MAX_LEN];
        subpath(sub, path, key);
        if (!strcmp(key, "job_name")) {
            rc = is_null(v) ? 0 : get_str(p, v, sub, &j->job_name);
        } else if (!strcmp(key, "scrape_interval")) {
            interval_node = v;
            rc = is_null(v) ? 0 : get_duration(p, v, sub, &j->scrape_interval_ms);
        } else if (!strcmp(key, "scrape_timeout")) {
            timeout_node = v;
            rc = is_null(v) ? 0 : get_duration(p, v, sub, &j->scrape_timeout_ms);
        } else if (!strcmp(key, "metrics_path")) {
            rc = is_null(v) ? 0 : get_str(p, v, sub, &j->metrics_path);
        } else if (!strcmp(key, "scheme")) {
            const char *s = "http";
            rc = is_null(v) ? 0 : get_str(p, v, sub, &s);
            if (!rc && !strcmp(s, "https"))
                rc = fail(p, v, sub, "https is not supported yet; use http");
            else if (!rc && strcmp(s, "http") != 0)
                rc = fail(p, v, sub, "unknown scheme \"%s\"; only http is supported", s);
        } else if (!strcmp(key, "honor_labels")) {
            rc = is_null(v) ? 0 : get_bool(p, v, sub, &j->honor_labels);
        } else if (!strcmp(key, "honor_timestamps")) {
            rc = is_null(v) ? 0 : get_bool(p, v, sub, &j->honor_timestamps);
        } else if (!strcmp(key, "params")) {
            rc = parse_params(p, v, sub, j);
        } else if (!strcmp(key, "static_configs")) {
            if (is_null(v))
                continue;
            if ((rc = want(p, v, sub, YAML_SEQUENCE_NODE)) != 0)
                return rc;
            size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
            j->static_configs = osp_arena_calloc(p->arena, cnt ? cnt : 1, sizeof(osp_target_group));
            if (!j->static_configs)
                return nomem(p);
            j->nstatic_configs = cnt;
            for (size_t i = 0; i < cnt && !rc; i++) {
                char isub[PATH_MAX_LEN];
                indexpath(isub, sub, i);
                rc = parse_group(p, node(p, v->data.sequence.items.start[i]), isub, 1,
                                 &j->static_configs[i]);
            }
        } else if (!strcmp(key, "file_sd_configs")) {
            if (is_null(v))
                continue;
            if ((rc = want(p, v, sub, YAML_SEQUENCE_NODE)) != 0)
                return rc;
            size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
            j->file_sd_configs =
                osp_arena_calloc(p->arena, cnt ? cnt : 1, sizeof(osp_file_sd_config));
            if (!j->file_sd_configs)
                return nomem(p);
            j->nfile_sd_configs = cnt;
            for (size_t i = 0; i < cnt && !rc; i++) {
                char isub[PATH_MAX_LEN];
                indexpath(isub, sub, i);
                rc = parse_file_sd(p, node(p, v->data.sequence.items.start[i]), isub,
                                   &j->file_sd_configs[i]);
            }
        } else if (!strcmp(key, "relabel_configs")) {
            rc = parse_relabel_list(p, v, sub, &j->relabel_configs, &j->nrelabel_configs);
        } else if (!strcmp(key, "metric_relabel_configs")) {
            rc = parse_relabel_list(p, v, sub, &j->metric_relabel_configs,
                                    &j->nmetric_relabel_configs);
        } else {
            rc = unknown_key(p, k, path);
        }
        if (rc)
            return rc;
    }
    if (!j->job_name || !*j->job_name)
        return fail(p, n, path, "job_name is required");
    if (j->scrape_interval_ms == 0)
        j->scrape_interval_ms = c->scrape_interval_ms;
    if (j->scrape_timeout_ms > j->scrape_interval_ms) {
        char sub[PATH_MAX_LEN];
        subpath(sub, path, "scrape_timeout");
        return fail(p, timeout_node ? timeout_node : interval_node, sub,
                    "must not be greater than scrape_interval");
    }
    if (j->scrape_timeout_ms == 0)
        j->scrape_timeout_ms = c->scrape_timeout_ms > j->scrape_interval_ms ? j->scrape_interval_ms
                                                                            : c->scrape_timeout_ms;
    return 0;
}

static int parse_global(parser *p, const yaml_node_t *n, osp_scrape_config *c)
{
    const char *path = "global";
    const yaml_node_t *timeout_node = NULL;
    int rc = want(p, n, path, YAML_MAPPING_NODE);
    if (rc || (rc = check_keys(p, n, path)) != 0)
        return rc;
    int64_t interval = 0, timeout = 0, eval = 0;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        const char *key = scalar(k);
        char sub[PATH_MAX_LEN];
        subpath(sub, path, key);
        if (!strcmp(key, "scrape_interval")) {
            rc = is_null(v) ? 0 : get_duration(p, v, sub, &interval);
        } else if (!strcmp(key, "scrape_timeout")) {
            timeout_node = v;
            rc = is_null(v) ? 0 : get_duration(p, v, sub, &timeout);
        } else if (!strcmp(key, "evaluation_interval")) {
            rc = is_null(v) ? 0 : get_duration(p, v, sub, &eval);
        } else if (!strcmp(key, "external_labels")) {
            rc = get_labels(p, v, sub, &c->external_labels, &c->nexternal_labels);
        } else {
            rc = unknown_key(p, k, path);
        }
        if (rc)
            return rc;
    }
    if (interval)
        c->scrape_interval_ms = interval;
    if (eval)
        c->evaluation_interval_ms = eval;
    if (timeout > c->scrape_interval_ms)
        return fail(p, timeout_node, "global.scrape_timeout",
                    "must not be greater than scrape_interval");
    if (timeout)
        c->scrape_timeout_ms = timeout;
    else if (c->scrape_timeout_ms > c->scrape_interval_ms)
        c->scrape_timeout_ms = c->scrape_interval_ms;
    return 0;
}

static int parse_config(parser *p, osp_scrape_config *c)
{
    yaml_node_t *root = yaml_document_get_root_node(p->doc);
    yaml_node_t *global = NULL, *jobs = NULL;
    int rc;

    if (is_null(root))
        return 0;
    if ((rc = want(p, root, "", YAML_MAPPING_NODE)) || (rc = check_keys(p, root, "")))
        return rc;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        const char *key = scalar(node(p, pr->key));
        if (!strcmp(key, "global"))
            global = node(p, pr->value);
        else if (!strcmp(key, "scrape_configs"))
            jobs = node(p, pr->value);
    }
    if (!is_null(global) && (rc = parse_global(p, global, c)) != 0)
        return rc;
    if (is_null(jobs))
        return 0;
    if ((rc = want(p, jobs, "scrape_configs", YAML_SEQUENCE_NODE)) != 0)
        return rc;
    size_t cnt = (size_t)(jobs->data.sequence.items.top - jobs->data.sequence.items.start);
    c->jobs = osp_arena_calloc(&c->arena, cnt ? cnt : 1, sizeof *c->jobs);
    if (!c->jobs)
        return nomem(p);
    for (size_t i = 0; i < cnt; i++) {
        char sub[PATH_MAX_LEN];
        yaml_node_t *jn = node(p, jobs->data.sequence.items.start[i]);
        indexpath(sub, "scrape_configs", i);
        c->njobs = i + 1; /* counted before parsing so cleanup sees partial rules */
        if ((rc = parse_job(p, c, jn, sub, &c->jobs[i])) != 0)
            return rc;
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(c->jobs[k].job_name, c->jobs[i].job_name)) {
                char jsub[PATH_MAX_LEN];
                subpath(jsub, sub, "job_name");
                return fail(p, jn, jsub, "duplicate job_name \"%s\" (first at line %d)",
                            c->jobs[i].job_name, c->jobs[k].line);
            }
        }
    }
    return 0;
}

/* Loads text as a YAML document; message on a syntax error. */
static int load_doc(const char *name, const char *text, size_t len, yaml_document_t *doc, char *err,
                    size_t errlen)
{
    yaml_parser_t yp;
    if (!yaml_parser_initialize(&yp)) {
        snprintf(err, errlen, "%s: out of memory", name);
        return OSP_ENOMEM;
    }
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    int ok = yaml_parser_load(&yp, doc);
    if (!ok) {
        if (yp.error == YAML_MEMORY_ERROR) {
            snprintf(err, errlen, "%s: out of memory", name);
            yaml_parser_delete(&yp);
            return OSP_ENOMEM;
        }
        snprintf(err, errlen, "%s:%d: %s%s%s", name, (int)yp.problem_mark.line + 1,
                 yp.problem ? yp.problem : "YAML syntax error", yp.context ? " " : "",
                 yp.context ? yp.context : "");
        yaml_parser_delete(&yp);
        return OSP_EINVAL;
    }
    yaml_parser_delete(&yp);
    return 0;
}

int osp_scrape_config_parse(const char *name, const char *text, size_t len, osp_scrape_config **out,
                            char *err, size_t errlen)
{
    yaml_document_t doc;
    osp_scrape_config *c = osp_calloc(1, sizeof *c);
    int rc;

    *out = NULL;
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", name);
        return OSP_ENOMEM;
    }
    osp_arena_init(&c->arena, 0, 0);
    c->scrape_interval_ms = DEFAULT_SCRAPE_INTERVAL_MS;
    c->scrape_timeout_ms = DEFAULT_SCRAPE_TIMEOUT_MS;
    c->evaluation_interval_ms = DEFAULT_EVAL_INTERVAL_MS;
    if ((rc = load_doc(name, text, len, &doc, err, errlen)) != 0)
        goto out;
    parser p = {name, &doc, &c->arena, err, errlen, 1};
    rc = parse_config(&p, c);
    yaml_document_delete(&doc);
out:
    if (rc) {
        osp_scrape_config_destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Reads a whole file (at most MAX_CONFIG_BYTES) into b, words the error in err. */
static int read_file(const char *path, osp_buf *b, char *err, size_t errlen)
{
    osp_buf_init(b, MAX_CONFIG_BYTES);
    int rc = osp_read_file(path, b);
    if (rc == OSP_ETOOBIG)
        snprintf(err, errlen, "%s: file larger than %u bytes", path, MAX_CONFIG_BYTES);
    else if (rc == OSP_ENOMEM)
        snprintf(err, errlen, "%s: out of memory", path);
    else if (rc)
        snprintf(err, errlen, "%s: %s", path, strerror(rc == OSP_ENOTFOUND ? ENOENT : errno));
    if (rc)
        osp_buf_cleanup(b);
    return rc == OSP_ENOTFOUND ? OSP_EIO : rc;
}

int osp_scrape_config_load(const char *path, osp_scrape_config **out, char *err, size_t errlen)
{
    osp_buf text;
    *out = NULL;
    int rc = read_file(path, &text, err, errlen);
    if (rc)
        return rc;
    rc = osp_scrape_config_parse(path, text.data, text.len, out, err, errlen);
    osp_buf_cleanup(&text);
    return rc;
}

void osp_scrape_config_destroy(osp_scrape_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->njobs; i++) {
        osp_scrape_job *j = &c->jobs[i];
        for (size_t k = 0; k < j->nrelabel_configs; k++)
            osp_relabel_rule_cleanup(&j->relabel_configs[k]);
        for (size_t k = 0; k < j->nmetric_relabel_configs; k++)
            osp_relabel_rule_cleanup(&j->metric_relabel_configs[k]);
    }
    osp_arena_cleanup(&c->arena);
    osp_free(c);
}

int osp_file_sd_parse(const char *name, const char *text, size_t len, int json, osp_arena *arena,
                      osp_target_group **out, size_t *nout, char *err, size_t errlen)
{
    yaml_document_t doc;
    int rc;

    *out = NULL;
    *nout = 0;
    if ((rc = load_doc(name, text, len, &doc, err, errlen)) != 0)
        return rc;
    parser p = {name, &doc, arena, err, errlen, !json};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (is_null(root))
        goto done;
    if ((rc = want(&p, root, "", YAML_SEQUENCE_NODE)) != 0)
        goto done;
    size_t cnt = (size_t)(root->data.sequence.items.top - root->data.sequence.items.start);
    osp_target_group *g = osp_arena_calloc(arena, cnt ? cnt : 1, sizeof *g);
    if (!g) {
        rc = nomem(&p);
        goto done;
    }
    for (size_t i = 0; i < cnt; i++) {
        char sub[PATH_MAX_LEN];
        indexpath(sub, "", i);
        if ((rc = parse_group(&p, node(&p, root->data.sequence.items.start[i]), sub, 0, &g[i])))
            goto done;
    }
    *out = g;
    *nout = cnt;
done:
    yaml_document_delete(&doc);
    return rc;
}

int osp_file_sd_load(const char *path, osp_arena *arena, osp_target_group **out, size_t *nout,
                     char *err, size_t errlen)
{
    osp_buf text;
    size_t n = strlen(path);
    int json = n >= 5 && !strcasecmp(path + n - 5, ".json");
    *out = NULL;
    *nout = 0;
    int rc = read_file(path, &text, err, errlen);
    if (rc)
        return rc;
    rc = osp_file_sd_parse(path, text.data, text.len, json, arena, out, nout, err, errlen);
    osp_buf_cleanup(&text);
    if (rc)
        return rc;
    osp_str fp = osp_arena_strdup(arena, osp_str_c(path));
    if (!fp.p) {
        snprintf(err, errlen, "%s: out of memory", path);
        return OSP_ENOMEM;
    }
    for (size_t i = 0; i < *nout; i++) {
        osp_target_group *g = &(*out)[i];
        osp_label *l = osp_arena_calloc(arena, g->nlabels + 1, sizeof *l);
        if (!l) {
            snprintf(err, errlen, "%s: out of memory", path);
            return OSP_ENOMEM;
        }
        size_t k = 0;
        for (size_t m = 0; m < g->nlabels; m++)
            if (!osp_str_eqz(g->labels[m].name, "__meta_filepath"))
                l[k++] = g->labels[m];
        l[k].name = OSP_STR_LIT("__meta_filepath");
        l[k].value = fp;
        g->labels = l;
        g->nlabels = k + 1;
        qsort(l, g->nlabels, sizeof *l, label_cmp);
    }
    return 0;
}
