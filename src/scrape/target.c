/* Scrape targets from discovered groups: Prometheus's label population, relabeling and URL. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "core/duration.h"
#include "core/err.h"
#include "scrape/scraper_int.h"

#define MAX_LABELS 512 /* labels of one target while it is being built */


/* A small label set under construction, names unique. */
typedef struct lbuild {
    osp_label a[MAX_LABELS];
    size_t n;
} lbuild;

static osp_str lb_get(const lbuild *b, osp_str name)
{
    for (size_t i = 0; i < b->n; i++)
        if (osp_str_eq(b->a[i].name, name))
            return b->a[i].value;
    return OSP_STR_NULL;
}

/* Sets name=value (replacing); an empty value deletes. OSP_ETOOBIG past MAX_LABELS. */
static int lb_set(lbuild *b, osp_str name, osp_str value)
{
    for (size_t i = 0; i < b->n; i++) {
        if (osp_str_eq(b->a[i].name, name)) {
            if (value.n)
                b->a[i].value = value;
            else
                b->a[i] = b->a[--b->n];
            return 0;
        }
    }
    if (!value.n)
        return 0;
    if (b->n == MAX_LABELS)
        return OSP_ETOOBIG;
    b->a[b->n++] = (osp_label){name, value};
    return 0;
}

static osp_label *copy_labels(osp_arena *a, const osp_label *in, size_t n)
{
    osp_label *out = osp_arena_alloc(a, (n ? n : 1) * sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i].name = osp_arena_strdup(a, in[i].name);
        out[i].value = osp_arena_strdup(a, in[i].value);
        if (!out[i].name.p || !out[i].value.p)
            return NULL;
    }
    osp_labels_sort(out, n);
    return out;
}

/* Appends s query-escaped as Go's url.QueryEscape does. */
static int query_escape(osp_buf *b, osp_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            rc = osp_buf_putc(b, (char)c);
        else if (c == ' ')
            rc = osp_buf_putc(b, '+');
        else
            rc = osp_buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
    return rc;
}

typedef struct qparam {
    osp_str name, value;
} qparam;

static int qparam_cmp(const void *x, const void *y)
{
    const qparam *a = x, *b = y;
    return osp_str_cmp(a->name, b->name);
}

/* scheme://address/path?params: the job's params in order, where a __param_<name> label
 * replaces the first value of <name> or adds it; names sorted as url.Values.Encode sorts them. */
static int build_url(osp__target *t, const osp_scrape_job *job, const lbuild *lb)
{
    const osp_str pfx = OSP_STR_LIT("__param_");
    size_t nq = 0, cap = job->nparams + lb->n;
    qparam *q = osp_arena_alloc(&t->arena, (cap ? cap : 1) * sizeof *q);
    osp_buf b;
    int rc = 0;

    if (!q)
        return OSP_ENOMEM;
    for (size_t i = 0; i < job->nparams; i++)
        q[nq++] = (qparam){job->params[i].name, job->params[i].value};
    for (size_t i = 0; i < lb->n; i++) {
        if (!osp_str_has_prefix(lb->a[i].name, pfx))
            continue;
        osp_str name = osp_str_make(lb->a[i].name.p + pfx.n, lb->a[i].name.n - pfx.n);
        size_t j = 0;
        while (j < nq && !osp_str_eq(q[j].name, name))
            j++;
        if (j < nq)
            q[j].value = lb->a[i].value;
        else
            q[nq++] = (qparam){name, lb->a[i].value};
    }
    /* Stable by name: keep equal names in their order. */
    for (size_t i = 1; i < nq; i++)
        for (size_t j = i; j > 0 && qparam_cmp(&q[j - 1], &q[j]) > 0; j--) {
            qparam tmp = q[j];
            q[j] = q[j - 1];
            q[j - 1] = tmp;
        }

    osp_str path = lb_get(lb, OSP_STR_LIT("__metrics_path__"));
    osp_buf_init(&b, 64 * 1024);
    rc = osp_buf_printf(&b, "%.*s://%.*s", OSP_STR_FMT(lb_get(lb, OSP_STR_LIT("__scheme__"))),
                        OSP_STR_FMT(lb_get(lb, OSP_STR_LIT("__address__"))));
    if (rc == 0 && (path.n == 0 || path.p[0] != '/'))
        rc = osp_buf_putc(&b, '/');
    if (rc == 0)
        rc = osp_buf_append_str(&b, path);
    for (size_t i = 0; i < nq && rc == 0; i++) {
        rc = osp_buf_putc(&b, i ? '&' : '?');
        if (rc == 0)
            rc = query_escape(&b, q[i].name);
        if (rc == 0)
            rc = osp_buf_putc(&b, '=');
        if (rc == 0)
            rc = query_escape(&b, q[i].value);
    }
    if (rc == 0) {
        osp_str u = osp_arena_strdup(&t->arena, osp_buf_str(&b));
        t->url = u.p;
        if (!u.p)
            rc = OSP_ENOMEM;
    }
    osp_buf_cleanup(&b);
    return rc == OSP_ETOOBIG ? OSP_EINVAL : rc;
}

/* Adds :80 or :443 when the address has no port (net.SplitHostPort of address+":1234" works). */
static int add_default_port(osp__target *t, lbuild *lb)
{
    osp_str addr = lb_get(lb, OSP_STR_LIT("__address__"));
    osp_str scheme = lb_get(lb, OSP_STR_LIT("__scheme__"));
    int need;

    if (addr.p[0] == '[')
        need = addr.p[addr.n - 1] == ']';
    else
        need = memchr(addr.p, ':', addr.n) == NULL;
    if (!need)
        return 0;
    const char *port = osp_str_eqz(scheme, "https")  ? ":443"
                       : osp_str_eqz(scheme, "http") ? ":80"
                                                     : NULL;
    if (!port)
        return 0;
    char *p = osp_arena_alloc(&t->arena, addr.n + 5);
    if (!p)
        return OSP_ENOMEM;
    memcpy(p, addr.p, addr.n);
    memcpy(p + addr.n, port, strlen(port));
    return lb_set(lb, OSP_STR_LIT("__address__"), osp_str_make(p, addr.n + strlen(port)));
}

/* Parses the interval or timeout label; message in err on failure. */
static int parse_duration_label(lbuild *lb, const char *name, const char *what, int64_t *ms,
                                char *err, size_t errlen)
{
    osp_str v = lb_get(lb, osp_str_c(name));
    char z[64];
    if (v.n >= sizeof z) {
        snprintf(err, errlen, "error parsing %s: too long", what);
        return OSP_EINVAL;
    }
    memcpy(z, v.p ? v.p : "", v.n);
    z[v.n] = '\0';
    if (osp_prom_duration_parse(osp_str_c(z), ms) != 0) {
        snprintf(err, errlen, "error parsing %s: not a valid duration string: \"%s\"", what, z);
        return OSP_EINVAL;
    }
    if (*ms == 0) {
        snprintf(err, errlen, "%s cannot be 0", what);
        return OSP_EINVAL;
    }
    return 0;
}

int osp__target_build(osp__target *t, const osp_scrape_job *job, const osp_target_group *g,
                      size_t i, int *keep, char *err, size_t errlen)
{
    lbuild lb;
    char ivl[32], tmo[32];
    osp_label *rl;
    size_t nrl;
    int rc;

    *keep = 0;
    lb.n = 0;
    for (size_t j = 0; j < g->nlabels; j++)
        if ((rc = lb_set(&lb, g->labels[j].name, g->labels[j].value)) != 0)
            goto toobig;
    if ((rc = lb_set(&lb, OSP_STR_LIT("__address__"), osp_str_c(g->targets[i]))) != 0)
        goto toobig;
    osp_prom_duration_format(job->scrape_interval_ms, ivl, sizeof ivl);
    osp_prom_duration_format(job->scrape_timeout_ms, tmo, sizeof tmo);
    const osp_label defaults[] = {
        {OSP_STR_LIT("job"), osp_str_c(job->job_name)},
        {OSP_STR_LIT("__scrape_interval__"), osp_str_c(ivl)},
        {OSP_STR_LIT("__scrape_timeout__"), osp_str_c(tmo)},
        {OSP_STR_LIT("__metrics_path__"), osp_str_c(job->metrics_path)},
        {OSP_STR_LIT("__scheme__"), osp_str_c(job->scheme)},
    };
    for (size_t j = 0; j < sizeof defaults / sizeof defaults[0]; j++)
        if (lb_get(&lb, defaults[j].name).n == 0 &&
            (rc = lb_set(&lb, defaults[j].name, defaults[j].value)) != 0)
            goto toobig;
    for (size_t j = 0; j < job->nparams; j++) {
        size_t k = 0;
        while (k < j && !osp_str_eq(job->params[k].name, job->params[j].name))
            k++;
        if (k < j)
            continue; /* only the first value of a name */
        size_t n = 8 + job->params[j].name.n;
        char *name = osp_arena_alloc(&t->arena, n);
        if (!name)
            return OSP_ENOMEM;
        memcpy(name, "__param_", 8);
        memcpy(name + 8, job->params[j].name.p, job->params[j].name.n);
        if ((rc = lb_set(&lb, osp_str_make(name, n), job->params[j].value)) != 0)
            goto toobig;
    }

    t->ndiscovered = lb.n;
    if (!(t->discovered = copy_labels(&t->arena, lb.a, lb.n)))
        return OSP_ENOMEM;
    if ((rc = osp_relabel_apply(job->relabel_configs, job->nrelabel_configs, t->discovered,
                                t->ndiscovered, &t->arena, &rl, &nrl, keep)) != 0)
        return rc;
    if (!*keep)
        return 0;
    if (nrl > MAX_LABELS)
        goto toobig;
    memcpy(lb.a, rl, nrl * sizeof *rl);
    lb.n = nrl;

    osp_str addr = lb_get(&lb, OSP_STR_LIT("__address__"));
    if (addr.n == 0) {
        snprintf(err, errlen, "no address");
        return OSP_EINVAL;
    }
    if ((rc = add_default_port(t, &lb)) != 0)
        return rc;
    addr = lb_get(&lb, OSP_STR_LIT("__address__"));
    if (memchr(addr.p, '/', addr.n)) {
        snprintf(err, errlen, "\"%.*s\" is not a valid hostname", OSP_STR_FMT(addr));
        return OSP_EINVAL;
    }
    if ((rc = parse_duration_label(&lb, "__scrape_interval__", "scrape interval", &t->interval_ms,
                                   err, errlen)) != 0 ||
        (rc = parse_duration_label(&lb, "__scrape_timeout__", "scrape timeout", &t->timeout_ms, err,
                                   errlen)) != 0)
        return rc;
    if (t->timeout_ms > t->interval_ms) {
        snprintf(err, errlen,
                 "scrape timeout cannot be greater than scrape interval (\"%.*s\" > \"%.*s\")",
                 OSP_STR_FMT(lb_get(&lb, OSP_STR_LIT("__scrape_timeout__"))),
                 OSP_STR_FMT(lb_get(&lb, OSP_STR_LIT("__scrape_interval__"))));
        return OSP_EINVAL;
    }
    for (size_t j = 0; j < lb.n;)
        if (osp_str_has_prefix(lb.a[j].name, OSP_STR_LIT("__meta_")))
            lb.a[j] = lb.a[--lb.n];
        else
            j++;
    if (lb_get(&lb, OSP_STR_LIT("instance")).n == 0 &&
        (rc = lb_set(&lb, OSP_STR_LIT("instance"), addr)) != 0)
        goto toobig;
    for (size_t j = 0; j < lb.n; j++) {
        if (!osp_utf8_valid(lb.a[j].value.p, lb.a[j].value.n)) {
            snprintf(err, errlen, "invalid label value for \"%.*s\"", OSP_STR_FMT(lb.a[j].name));
            return OSP_EINVAL;
        }
    }
    if ((rc = build_url(t, job, &lb)) != 0) {
        if (rc == OSP_EINVAL)
            snprintf(err, errlen, "scrape URL too long");
        return rc;
    }

    t->nall = lb.n;
    if (!(t->all = copy_labels(&t->arena, lb.a, lb.n)))
        return OSP_ENOMEM;
    if (!(t->labels = osp_arena_alloc(&t->arena, (lb.n ? lb.n : 1) * sizeof *t->labels)))
        return OSP_ENOMEM;
    t->nlabels = 0;
    uint64_t h = 0;
    for (size_t j = 0; j < t->nall; j++) {
        if (!osp_str_has_prefix(t->all[j].name, OSP_STR_LIT("__")))
            t->labels[t->nlabels++] = t->all[j];
        h = XXH3_64bits_withSeed(t->all[j].name.p, t->all[j].name.n, h);
        h = XXH3_64bits_withSeed(t->all[j].value.p, t->all[j].value.n, h ^ 0xff);
    }
    t->hash = XXH3_64bits_withSeed(t->url, strlen(t->url), h);
    return 0;

toobig:
    snprintf(err, errlen, "more than %d labels", MAX_LABELS);
    return OSP_EINVAL;
}
