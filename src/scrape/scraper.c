/* The scrape manager: target discovery and one scrape thread driving libcurl's multi interface. */
#include "scrape/scraper.h"

#include <glob.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <xxhash.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/thread.h"
#include "scrape/scraper_int.h"

#define LOG "scrape"
#define USER_AGENT "Osprey"
#define MAX_WAIT_MS 1000 /* the thread wakes at least this often */

/* A file matched by a file_sd pattern, with the groups of its last good read. */
typedef struct sd_file {
    char *path;
    struct timespec mtime;
    off_t size;
    ino_t ino;
    int seen;
    osp_arena arena; /* groups */
    osp_target_group *groups;
    size_t ngroups;
} sd_file;

typedef struct file_sd {
    const osp_file_sd_config *cfg;
    int64_t next_refresh_ms; /* monotonic */
    sd_file *files;
    size_t nfiles, cap;
} file_sd;

struct osp__pool {
    osp_scraper *s;
    const osp_scrape_job *job;
    file_sd *sds;
    size_t nsds;
    osp__target **targets; /* active, sorted by hash; the list is guarded by s->mu */
    size_t ntargets;
};

struct osp_scraper {
    const osp_scrape_config *cfg;
    osp_scraper_opts opts;
    osp__pool *pools;
    size_t npools;
    uint64_t offset_seed;
    pthread_mutex_t mu; /* target lists and target status */
    pthread_t thread;
    int running;
    atomic_int stopping;
    CURLM *multi;
    osp__target **heap; /* targets waiting for their next scrape, by next_ms */
    size_t nheap, heapcap;
    osp_series_batch batch;
    int64_t next_sd_check_ms;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
    return mono_ns() / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- scheduling heap ---- */

static void heap_swap(osp_scraper *s, size_t i, size_t j)
{
    osp__target *t = s->heap[i];
    s->heap[i] = s->heap[j];
    s->heap[j] = t;
    s->heap[i]->heap_idx = i;
    s->heap[j]->heap_idx = j;
}

static void heap_fix(osp_scraper *s, size_t i)
{
    while (i > 0 && s->heap[(i - 1) / 2]->next_ms > s->heap[i]->next_ms) {
        heap_swap(s, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nheap && s->heap[l]->next_ms < s->heap[m]->next_ms)
            m = l;
        if (r < s->nheap && s->heap[r]->next_ms < s->heap[m]->next_ms)
            m = r;
        if (m == i)
            return;
        heap_swap(s, i, m);
        i = m;
    }
}

static int heap_push(osp_scraper *s, osp__target *t)
{
    osp__target **slot = osp_array_push((void **)&s->heap, &s->nheap, &s->heapcap, sizeof *s->heap);
    if (!slot)
        return OSP_ENOMEM;
    *slot = t;
    t->heap_idx = s->nheap - 1;
    heap_fix(s, t->heap_idx);
    return 0;
}

static void heap_remove(osp_scraper *s, osp__target *t)
{
    size_t i = t->heap_idx;
    if (i == SIZE_MAX)
        return;
    t->heap_idx = SIZE_MAX;
    if (i != --s->nheap) {
        s->heap[i] = s->heap[s->nheap];
        s->heap[i]->heap_idx = i;
        heap_fix(s, i);
    }
}

/* ---- targets ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    osp__target *t = ud;
    int rc = osp_buf_append(&t->body, p, size * n);
    if (rc != 0) {
        t->body_rc = rc;
        return 0;
    }
    return size * n;
}

/* Keeps the reason phrase of the last status line ("HTTP/1.1 500 Internal Server Error"). */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    osp__target *t = ud;
    size_t len = size * n, i = 0;
    if (len < 5 || memcmp(p, "HTTP/", 5) != 0)
        return len;
    while (i < len && p[i] != ' ')
        i++;
    while (i < len && p[i] == ' ')
        i++;
    while (i < len && p[i] != ' ' && p[i] != '\r' && p[i] != '\n')
        i++;
    while (i < len && p[i] == ' ')
        i++;
    size_t end = len;
    while (end > i && (p[end - 1] == '\r' || p[end - 1] == '\n' || p[end - 1] == ' '))
        end--;
    size_t m = end - i < sizeof t->reason - 1 ? end - i : sizeof t->reason - 1;
    memcpy(t->reason, p + i, m);
    t->reason[m] = '\0';
    return len;
}

static void target_free(osp__target *t)
{
    if (!t)
        return;
    if (t->easy)
        curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    osp_buf_cleanup(&t->body);
    osp__scrape_cache_cleanup(&t->cache);
    osp_arena_cleanup(&t->arena);
    osp_free(t);
}

/* Sets up the target's curl handle; 0 or OSP_ENOMEM. */
static int target_transport(osp_scraper *s, osp__target *t)
{
    char hdr[96];
    struct curl_slist *l;

    osp_buf_init(&t->body, s->opts.body_size_limit);
    if (!(t->easy = curl_easy_init()))
        return OSP_ENOMEM;
    if (!(l = curl_slist_append(NULL, "Accept: " OSP_SCRAPE_ACCEPT)))
        return OSP_ENOMEM;
    t->headers = l;
    /* Seconds as Go's strconv.FormatFloat(..., 'f', -1, 64) writes them: "10", "0.15". */
    int w = snprintf(hdr, sizeof hdr, "X-Prometheus-Scrape-Timeout-Seconds: %" PRId64,
                     t->timeout_ms / 1000);
    if (t->timeout_ms % 1000) {
        w += snprintf(hdr + w, sizeof hdr - (size_t)w, ".%03" PRId64, t->timeout_ms % 1000);
        while (hdr[w - 1] == '0')
            hdr[--w] = '\0';
    }
    if (!(l = curl_slist_append(t->headers, hdr)))
        return OSP_ENOMEM;
    t->headers = l;

    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->curl_err);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    return 0;
}

/* Prometheus's offset: a fixed point in each interval chosen by the target's hash. */
static void target_first_due(osp_scraper *s, osp__target *t)
{
    int64_t iv = t->interval_ms;
    int64_t base = iv - wall_ms() % iv;
    int64_t off = (int64_t)((t->hash ^ s->offset_seed) % (uint64_t)iv);
    int64_t next = base + off;
    if (next > iv)
        next -= iv;
    t->next_ms = mono_ms() + next;
}

static void append_batch(osp_scraper *s, const osp__target *t)
{
    char err[256] = "";
    if (s->batch.nseries == 0)
        return;
    int rc = s->opts.append(s->opts.ctx, &s->batch, err, sizeof err);
    if (rc != 0)
        osp_warn(LOG, "appending scrape of %s failed: %s", t->url, err[0] ? err : osp_strerror(rc));
}

/* Writes staleness markers for a target that went away and unschedules it. */
static void target_retire(osp_scraper *s, osp__target *t)
{
    if (t->inflight) {
        curl_multi_remove_handle(s->multi, t->easy);
        t->inflight = 0;
    }
    heap_remove(s, t);
    osp_series_batch_reset(&s->batch);
    if (osp__scrape_batch_stale(t, wall_ms(), &s->batch) == 0)
        append_batch(s, t);
    else
        osp_warn(LOG, "out of memory writing staleness markers for %s", t->url);
}

static int cmp_target_hash(const void *x, const void *y)
{
    const osp__target *a = *(osp__target *const *)x, *b = *(osp__target *const *)y;
    return a->hash < b->hash ? -1 : a->hash > b->hash;
}

/* Adds the targets of group g to *cand. 0 or OSP_ENOMEM; invalid targets are logged. */
static int collect_group(osp__pool *p, const osp_target_group *g, osp__target ***cand, size_t *n,
                         size_t *cap)
{
    for (size_t i = 0; i < g->ntargets; i++) {
        char err[256] = "";
        int keep;
        osp__target *t = osp_calloc(1, sizeof *t);
        if (!t)
            return OSP_ENOMEM;
        osp_arena_init(&t->arena, 4096, 0);
        osp__scrape_cache_init(&t->cache);
        t->pool = p;
        t->heap_idx = SIZE_MAX;
        int rc = osp__target_build(t, p->job, g, i, &keep, err, sizeof err);
        if (rc == OSP_EINVAL)
            osp_warn(LOG, "job %s: target %s: %s", p->job->job_name, g->targets[i], err);
        if (rc != 0 || !keep) {
            target_free(t);
            if (rc == OSP_ENOMEM)
                return rc;
            continue;
        }
        osp__target **slot = osp_array_push((void **)cand, n, cap, sizeof **cand);
        if (!slot) {
            target_free(t);
            return OSP_ENOMEM;
        }
        *slot = t;
    }
    return 0;
}

/* Replaces the pool's targets with the ones its groups describe now: targets that stay keep
 * their state, new ones are scheduled, gone ones get staleness markers (when live is set). */
static int pool_sync(osp__pool *p, int live)
{
    osp_scraper *s = p->s;
    osp__target **cand = NULL, **next = NULL;
    size_t ncand = 0, candcap = 0, nnext = 0;
    int rc = 0;

    for (size_t i = 0; i < p->job->nstatic_configs && rc == 0; i++)
        rc = collect_group(p, &p->job->static_configs[i], &cand, &ncand, &candcap);
    for (size_t i = 0; i < p->nsds && rc == 0; i++)
        for (size_t j = 0; j < p->sds[i].nfiles && rc == 0; j++)
            for (size_t k = 0; k < p->sds[i].files[j].ngroups && rc == 0; k++)
                rc = collect_group(p, &p->sds[i].files[j].groups[k], &cand, &ncand, &candcap);
    if (rc == 0 && !(next = osp_malloc((ncand + 1) * sizeof *next)))
        rc = OSP_ENOMEM;
    if (rc != 0)
        goto out;

    qsort(cand, ncand, sizeof *cand, cmp_target_hash);
    for (size_t i = 0; i < p->ntargets; i++)
        p->targets[i]->seen = 0;
    for (size_t i = 0; i < ncand; i++) {
        osp__target *t = cand[i];
        cand[i] = NULL;
        if (nnext && next[nnext - 1]->hash == t->hash) {
            target_free(t); /* a duplicate */
            continue;
        }
        osp__target **old =
            p->ntargets ? bsearch(&t, p->targets, p->ntargets, sizeof t, cmp_target_hash) : NULL;
        if (old) {
            (*old)->seen = 1;
            next[nnext++] = *old;
            target_free(t);
            continue;
        }
        if ((rc = target_transport(s, t)) != 0) {
            target_free(t);
            goto out;
        }
        target_first_due(s, t);
        if ((rc = heap_push(s, t)) != 0) {
            target_free(t);
            goto out;
        }
        t->seen = 1;
        next[nnext++] = t;
    }

    pthread_mutex_lock(&s->mu);
    osp__target **gone = p->targets;
    size_t ngone = p->ntargets;
    p->targets = next;
    p->ntargets = nnext;
    pthread_mutex_unlock(&s->mu);
    next = NULL;
    for (size_t i = 0; i < ngone; i++) {
        if (gone[i]->seen)
            continue;
        if (live)
            target_retire(s, gone[i]);
        else
            heap_remove(s, gone[i]);
        target_free(gone[i]);
    }
    osp_free(gone);

out:
    if (next) /* on failure: the new targets go, the old ones stay as they were */
        for (size_t i = 0; i < nnext; i++)
            if (!p->ntargets ||
                !bsearch(&next[i], p->targets, p->ntargets, sizeof *next, cmp_target_hash)) {
                heap_remove(s, next[i]);
                target_free(next[i]);
            }
    for (size_t i = 0; i < ncand; i++)
        target_free(cand[i]);
    osp_free(cand);
    osp_free(next);
    return rc;
}

/* ---- file_sd ---- */

static void sd_file_cleanup(sd_file *f)
{
    osp_free(f->path);
    osp_arena_cleanup(&f->arena);
}

static void sd_reload(file_sd *sd, sd_file *f)
{
    osp_arena a;
    osp_target_group *groups;
    size_t n;
    char err[512] = "";

    osp_arena_init(&a, 0, 0);
    int rc = osp_file_sd_load(f->path, &a, &groups, &n, err, sizeof err);
    if (rc != 0) {
        osp_warn(LOG, "file_sd: %s (keeping the targets of its last good read)",
                 err[0] ? err : osp_strerror(rc));
        osp_arena_cleanup(&a);
        return;
    }
    osp_arena_cleanup(&f->arena);
    f->arena = a;
    f->groups = groups;
    f->ngroups = n;
}

/* Globs the patterns and reloads every file when one appeared, vanished or changed, or the
 * refresh interval passed. Returns 1 when the files were reloaded. */
static int sd_check(file_sd *sd, int64_t now, int force)
{
    int changed = force || now >= sd->next_refresh_ms;

    for (size_t i = 0; i < sd->nfiles; i++)
        sd->files[i].seen = 0;
    for (size_t i = 0; i < sd->cfg->nfiles; i++) {
        glob_t g;
        if (glob(sd->cfg->files[i], 0, NULL, &g) != 0)
            continue;
        for (size_t j = 0; j < g.gl_pathc; j++) {
            struct stat st;
            const char *path = g.gl_pathv[j];
            if (stat(path, &st) != 0)
                continue;
            sd_file *f = NULL;
            for (size_t k = 0; k < sd->nfiles && !f; k++)
                if (strcmp(sd->files[k].path, path) == 0)
                    f = &sd->files[k];
            if (!f) {
                char *dup = osp_strdup(path);
                if (!dup ||
                    !(f = osp_array_push((void **)&sd->files, &sd->nfiles, &sd->cap, sizeof *f))) {
                    osp_free(dup);
                    continue; /* out of memory: try again next time */
                }
                f->path = dup;
                osp_arena_init(&f->arena, 0, 0);
                changed = 1;
            }
            if (f->mtime.tv_sec != st.st_mtim.tv_sec || f->mtime.tv_nsec != st.st_mtim.tv_nsec ||
                f->size != st.st_size || f->ino != st.st_ino)
                changed = 1;
            f->mtime = st.st_mtim;
            f->size = st.st_size;
            f->ino = st.st_ino;
            f->seen = 1;
        }
        globfree(&g);
    }
    for (size_t i = 0; i < sd->nfiles;) {
        if (sd->files[i].seen) {
            i++;
            continue;
        }
        sd_file_cleanup(&sd->files[i]);
        sd->files[i] = sd->files[--sd->nfiles];
        changed = 1;
    }
    if (!changed)
        return 0;
    for (size_t i = 0; i < sd->nfiles; i++)
        sd_reload(sd, &sd->files[i]);
    sd->next_refresh_ms = now + sd->cfg->refresh_interval_ms;
    return 1;
}

static void pools_check_sd(osp_scraper *s, int force)
{
    int64_t now = mono_ms();
    for (size_t i = 0; i < s->npools; i++) {
        osp__pool *p = &s->pools[i];
        int changed = force;
        for (size_t j = 0; j < p->nsds; j++)
            changed |= sd_check(&p->sds[j], now, force);
        if (changed && pool_sync(p, !force) != 0)
            osp_warn(LOG, "job %s: out of memory updating targets", p->job->job_name);
    }
}

/* ---- scraping ---- */

static void scrape_begin(osp_scraper *s, osp__target *t)
{
    osp_buf_reset(&t->body);
    t->body_rc = 0;
    t->reason[0] = '\0';
    t->curl_err[0] = '\0';
    t->start_wall_ms = wall_ms();
    t->start_ns = mono_ns();
    int64_t now = t->start_ns / 1000000;
    t->next_ms += t->interval_ms;
    if (t->next_ms <= now) /* missed ticks are skipped, as a Go ticker does */
        t->next_ms += ((now - t->next_ms) / t->interval_ms + 1) * t->interval_ms;
    if (curl_multi_add_handle(s->multi, t->easy) != CURLM_OK) {
        osp_warn(LOG, "cannot start scrape of %s", t->url);
        heap_push(s, t); /* cannot fail: t just left the heap */
        return;
    }
    t->inflight = 1;
}

static void scrape_end(osp_scraper *s, osp__target *t, CURLcode res)
{
    char emsg[512] = "", serr[256] = "";
    osp__scrape_input in = {OSP_STR_NULL, OSP_STR_NULL, NULL, t->start_wall_ms, t->start_ns};
    long code = 0;
    int up = 0;

    curl_multi_remove_handle(s->multi, t->easy);
    t->inflight = 0;
    if (res != CURLE_OK) {
        if (t->body_rc == OSP_ETOOBIG)
            snprintf(emsg, sizeof emsg, "body size limit exceeded");
        else if (t->body_rc != 0)
            snprintf(emsg, sizeof emsg, "reading body: %s", osp_strerror(t->body_rc));
        else
            snprintf(emsg, sizeof emsg, "Get \"%s\": %s", t->url,
                     t->curl_err[0] ? t->curl_err : curl_easy_strerror(res));
    } else if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
               code != 200) {
        snprintf(emsg, sizeof emsg, "server returned HTTP status %ld%s%s", code,
                 t->reason[0] ? " " : "", t->reason);
    } else {
        char *ct = NULL;
        curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ct);
        in.content_type = osp_str_c(ct);
        in.body = osp_buf_str(&t->body);
    }
    in.error = emsg[0] ? emsg : NULL;

    osp_series_batch_reset(&s->batch);
    int rc = osp__scrape_batch(t, t->pool->job, s->opts.sample_limit, &in, &s->batch, &up, serr,
                               sizeof serr);
    if (rc)
        snprintf(serr, sizeof serr, "%s", osp_strerror(rc));
    double dur = (double)(mono_ns() - t->start_ns) / 1e9;
    if (serr[0])
        osp_debug(LOG, "scrape of %s failed: %s", t->url, serr);

    /* The target's status first: whoever sees this scrape's `up` sample sees it too. */
    pthread_mutex_lock(&s->mu);
    snprintf(t->last_error, sizeof t->last_error, "%s", serr);
    t->last_scrape_ms = t->start_wall_ms;
    t->last_duration = dur;
    t->health = up ? OSP_TARGET_UP : OSP_TARGET_DOWN;
    pthread_mutex_unlock(&s->mu);
    if (rc == 0)
        append_batch(s, t);

    if (t->body.cap > 4 * t->body.len + 64 * 1024) /* let an unusually large body go */
        osp_buf_cleanup(&t->body);
    if (heap_push(s, t) != 0)
        osp_error(LOG, "out of memory: %s is no longer scraped", t->url);
}

static void *scrape_thread(void *arg)
{
    osp_scraper *s = arg;
    int64_t check = s->opts.file_sd_check_ms;

    s->next_sd_check_ms = mono_ms() + check;
    while (!atomic_load(&s->stopping)) {
        int64_t now = mono_ms();
        if (now >= s->next_sd_check_ms) {
            pools_check_sd(s, 0);
            s->next_sd_check_ms = now + check;
        }
        while (s->nheap && s->heap[0]->next_ms <= now) {
            osp__target *t = s->heap[0];
            heap_remove(s, t);
            scrape_begin(s, t);
        }
        int running, left;
        curl_multi_perform(s->multi, &running);
        CURLMsg *m;
        while ((m = curl_multi_info_read(s->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            char *priv = NULL;
            CURLcode res = m->data.result;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
            scrape_end(s, (osp__target *)priv, res);
        }
        now = mono_ms();
        int64_t wait = s->next_sd_check_ms - now;
        if (s->nheap && s->heap[0]->next_ms - now < wait)
            wait = s->heap[0]->next_ms - now;
        wait = wait < 0 ? 0 : wait > MAX_WAIT_MS ? MAX_WAIT_MS : wait;
        curl_multi_poll(s->multi, NULL, 0, (int)wait, NULL);
    }
    return NULL;
}

/* ---- lifecycle ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int osp_scraper_create(const osp_scrape_config *cfg, const osp_scraper_opts *opts,
                       osp_scraper **out, char *err, size_t errlen)
{
    osp_scraper *s;

    *out = NULL;
    if (!cfg || !opts || !opts->append) {
        snprintf(err, errlen, "scraper: a configuration and an append callback are required");
        return OSP_EINVAL;
    }
    if (!(s = osp_calloc(1, sizeof *s)))
        return OSP_ENOMEM;
    s->cfg = cfg;
    s->opts = *opts;
    if (!s->opts.body_size_limit)
        s->opts.body_size_limit = OSP_SCRAPE_DEFAULT_BODY_LIMIT;
    if (s->opts.file_sd_check_ms <= 0)
        s->opts.file_sd_check_ms = 1000;
    uint64_t seed = 0;
    for (size_t i = 0; i < cfg->nexternal_labels; i++) {
        seed = XXH3_64bits_withSeed(cfg->external_labels[i].name.p, cfg->external_labels[i].name.n,
                                    seed);
        seed = XXH3_64bits_withSeed(cfg->external_labels[i].value.p,
                                    cfg->external_labels[i].value.n, seed);
    }
    s->offset_seed = seed;
    pthread_mutex_init(&s->mu, NULL);
    osp_series_batch_init(&s->batch);
    if (cfg->njobs && !(s->pools = osp_calloc(cfg->njobs, sizeof *s->pools)))
        goto nomem;
    s->npools = cfg->njobs;
    for (size_t i = 0; i < cfg->njobs; i++) {
        osp__pool *p = &s->pools[i];
        p->s = s;
        p->job = &cfg->jobs[i];
        p->nsds = p->job->nfile_sd_configs;
        if (p->nsds && !(p->sds = osp_calloc(p->nsds, sizeof *p->sds)))
            goto nomem;
        for (size_t j = 0; j < p->nsds; j++)
            p->sds[j].cfg = &p->job->file_sd_configs[j];
    }
    *out = s;
    return 0;
nomem:
    osp_scraper_destroy(s);
    return OSP_ENOMEM;
}

int osp_scraper_start(osp_scraper *s)
{
    if (s->running)
        return OSP_EBUSY;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return OSP_EIO;
    if (!(s->multi = curl_multi_init()))
        return OSP_ENOMEM;
    atomic_store(&s->stopping, 0);
    pools_check_sd(s, 1);
    if (osp_thread_start(&s->thread, "osp-scrape", scrape_thread, s) != 0) {
        osp_scraper_stop(s); /* not running: only frees the targets */
        return OSP_EIO;
    }
    s->running = 1;
    return 0;
}

void osp_scraper_stop(osp_scraper *s)
{
    if (!s || !s->multi)
        return;
    if (s->running) {
        atomic_store(&s->stopping, 1);
        curl_multi_wakeup(s->multi);
        pthread_join(s->thread, NULL);
        s->running = 0;
    }
    for (size_t i = 0; i < s->npools; i++) {
        osp__pool *p = &s->pools[i];
        pthread_mutex_lock(&s->mu);
        osp__target **ts = p->targets;
        size_t n = p->ntargets;
        p->targets = NULL;
        p->ntargets = 0;
        pthread_mutex_unlock(&s->mu);
        for (size_t j = 0; j < n; j++) {
            if (ts[j]->inflight)
                curl_multi_remove_handle(s->multi, ts[j]->easy);
            target_free(ts[j]);
        }
        osp_free(ts);
        for (size_t j = 0; j < p->nsds; j++) {
            for (size_t k = 0; k < p->sds[j].nfiles; k++)
                sd_file_cleanup(&p->sds[j].files[k]);
            osp_free(p->sds[j].files);
            p->sds[j].files = NULL;
            p->sds[j].nfiles = p->sds[j].cap = 0;
        }
    }
    osp_free(s->heap);
    s->heap = NULL;
    s->nheap = s->heapcap = 0;
    curl_multi_cleanup(s->multi);
    s->multi = NULL;
    osp_series_batch_reset(&s->batch);
}

void osp_scraper_destroy(osp_scraper *s)
{
    if (!s)
        return;
    osp_scraper_stop(s);
    for (size_t i = 0; i < s->npools; i++)
        osp_free(s->pools[i].sds);
    osp_free(s->pools);
    osp_series_batch_cleanup(&s->batch);
    pthread_mutex_destroy(&s->mu);
    osp_free(s);
}

/* ---- status ---- */

static const char *arena_z(osp_arena *a, const char *z)
{
    return osp_arena_strdup(a, osp_str_c(z)).p;
}

static osp_label *arena_labels(osp_arena *a, const osp_label *in, size_t n)
{
    osp_label *out = osp_arena_alloc(a, (n ? n : 1) * sizeof *out);
    for (size_t i = 0; out && i < n; i++) {
        out[i].name = osp_arena_strdup(a, in[i].name);
        out[i].value = osp_arena_strdup(a, in[i].value);
        if (!out[i].name.p || !out[i].value.p)
            return NULL;
    }
    return out;
}

static int cmp_status_url(const void *x, const void *y)
{
    const osp_target_status *a = x, *b = y;
    return strcmp(a->scrape_url, b->scrape_url);
}

int osp_scraper_targets(osp_scraper *s, osp_arena *arena, osp_target_status **out, size_t *nout)
{
    size_t n = 0, k = 0;
    int rc = 0;

    *out = NULL;
    *nout = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->npools; i++)
        n += s->pools[i].ntargets;
    osp_target_status *st = osp_arena_calloc(arena, n ? n : 1, sizeof *st);
    if (!st)
        rc = OSP_ENOMEM;
    for (size_t i = 0; i < s->npools && rc == 0; i++) {
        const osp__pool *p = &s->pools[i];
        size_t first = k;
        for (size_t j = 0; j < p->ntargets && rc == 0; j++, k++) {
            const osp__target *t = p->targets[j];
            osp_target_status *o = &st[k];
            o->scrape_pool = arena_z(arena, p->job->job_name);
            o->scrape_url = o->global_url = arena_z(arena, t->url);
            o->labels = arena_labels(arena, t->labels, t->nlabels);
            o->nlabels = t->nlabels;
            o->discovered_labels = arena_labels(arena, t->discovered, t->ndiscovered);
            o->ndiscovered_labels = t->ndiscovered;
            o->last_error = arena_z(arena, t->last_error);
            o->last_scrape_ms = t->last_scrape_ms;
            o->last_scrape_duration = t->last_duration;
            o->interval_ms = t->interval_ms;
            o->timeout_ms = t->timeout_ms;
            o->health = t->health;
            if (!o->scrape_pool || !o->scrape_url || !o->labels || !o->discovered_labels ||
                !o->last_error)
                rc = OSP_ENOMEM;
        }
        if (rc == 0)
            qsort(st + first, k - first, sizeof *st, cmp_status_url);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == 0) {
        *out = st;
        *nout = n;
    }
    return rc;
}
