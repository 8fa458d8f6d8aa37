/* Snapshots of the log pattern miner (logpattern.h): every service's templates and counts,
 * saved to a file and loaded at start, so that templates, their ids and their counts over
 * the last day survive a restart. The format is in README.md ("Log patterns"). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "analytics/logpattern.h"
#include "analytics/logpattern_int.h"
#include "core/buf.h"
#include "core/cond.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/pb.h"
#include "core/thread.h"

#define MOD "logpattern"
#define MAGIC "OSPLPAT1"
#define MAGIC_LEN 8
#define SUM_LEN 8

/* ---- writing ---- */

/* total, first, last, head, then the non-zero buckets as (head - bucket, count). */
static int put_counts(osp_buf *b, const counts *c, uint64_t nb)
{
    uint64_t nz = 0;
    for (uint64_t age = 0; c->total && age < nb && age <= c->head; age++)
        nz += c->ring[(c->head - age) % nb] != 0;
    const uint64_t head[] = {c->total, c->first_ns, c->last_ns, c->head, nz};
    int rc = 0;
    for (size_t i = 0; i < sizeof head / sizeof head[0] && rc == 0; i++)
        rc = osp_pb_put_varint(b, head[i]);
    for (uint64_t age = 0; nz && age < nb && age <= c->head && rc == 0; age++) {
        uint32_t n = c->ring[(c->head - age) % nb];
        if (n && (rc = osp_pb_put_varint(b, age)) == 0)
            rc = osp_pb_put_varint(b, n);
    }
    return rc;
}

static int put_service(osp_buf *b, service *s, uint64_t nb)
{
    pthread_mutex_lock(&s->mu);
    int rc = osp_pb_put_lenbytes(b, s->name, s->nname);
    if (rc == 0)
        rc = put_counts(b, &s->other, nb);
    if (rc == 0)
        rc = osp_pb_put_varint(b, s->messages);
    if (rc == 0)
        rc = osp_pb_put_varint(b, s->nclusters);
    for (size_t i = 0; i < s->nclusters && rc == 0; i++) { /* in creation order */
        const cluster *c = s->clusters[i];
        if ((rc = osp_pb_put_varint(b, c->id)) == 0 && (rc = osp_pb_put_varint(b, c->seq)) == 0 &&
            (rc = osp_pb_put_lenbytes(b, c->text, c->ntext)) == 0)
            rc = put_counts(b, &c->c, nb);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int osp_logpattern_snapshot(osp_logpattern *lp, osp_buf *out)
{
    size_t start = out->len;
    int rc = osp_buf_append(out, MAGIC, MAGIC_LEN);
    if (rc == 0)
        rc = osp_pb_put_varint(out, lp->cfg.bucket_ns);
    if (rc == 0)
        rc = osp_pb_put_varint(out, lp->cfg.nbuckets);
    pthread_rwlock_rdlock(&lp->lock);
    if (rc == 0)
        rc = osp_pb_put_varint(out, lp->nservices);
    for (size_t i = 0; i < lp->nservices && rc == 0; i++)
        rc = put_service(out, lp->list[i], lp->cfg.nbuckets);
    pthread_rwlock_unlock(&lp->lock);
    uint8_t sum[SUM_LEN];
    osp_put_le64(sum, XXH64(out->data + start, out->len - start, 0));
    return rc ? rc : osp_buf_append(out, sum, SUM_LEN);
}

/* ---- reading ---- */

static int get_counts(osp_pb_reader *r, counts *c, uint64_t nb)
{
    uint64_t nz, age, n;
    if (osp_pb_read_varint(r, &c->total) || osp_pb_read_varint(r, &c->first_ns) ||
        osp_pb_read_varint(r, &c->last_ns) || osp_pb_read_varint(r, &c->head) ||
        osp_pb_read_varint(r, &nz) || nz > nb)
        return OSP_ECORRUPT;
    for (uint64_t i = 0; i < nz; i++) {
        if (osp_pb_read_varint(r, &age) || osp_pb_read_varint(r, &n) || age >= nb ||
            age > c->head || n == 0 || n > UINT32_MAX)
            return OSP_ECORRUPT;
        c->ring[(c->head - age) % nb] = (uint32_t)n;
    }
    return 0;
}

/* Splits a template's text into its tokens (single spaces between non-empty tokens, as
 * the miner joins them) into toks (room for text.n / 2 + 1). 0 tokens when malformed. */
static size_t split_text(osp_str text, osp_str *toks)
{
    size_t n = 0, at = 0;
    for (size_t i = 0; i <= text.n; i++) {
        if (i < text.n && text.p[i] != ' ')
            continue;
        if (i == at)
            return 0;
        toks[n++] = osp_str_make(text.p + at, i - at);
        at = i + 1;
    }
    return n;
}

/* Reads one template into s; one that a cap no longer allows is read into skip (a ring of
 * nbuckets) and left out. */
static int get_cluster(osp_logpattern *lp, service *s, osp_pb_reader *r, osp_str *toks,
                       uint32_t *skip)
{
    uint64_t id, seq;
    osp_str text;
    cluster *c = NULL;
    if (osp_pb_read_varint(r, &id) || osp_pb_read_varint(r, &seq) ||
        osp_pb_read_lenbytes(r, &text) || text.n == 0 || text.n > 3 * lp->cfg.max_message)
        return OSP_ECORRUPT;
    size_t ntok = split_text(text, toks);
    if (ntok == 0)
        return OSP_ECORRUPT;
    int rc = osp__logpattern_restore(lp, s, toks, ntok, id, seq, &c);
    if (rc == OSP_ETOOBIG) {
        counts left_out = {.ring = skip};
        return get_counts(r, &left_out, lp->cfg.nbuckets);
    }
    return rc ? rc : get_counts(r, &c->c, lp->cfg.nbuckets);
}

int osp_logpattern_restore(osp_logpattern *lp, osp_str data)
{
    uint64_t bucket_ns, nbuckets, nservices, messages, nclusters;
    if (data.n < MAGIC_LEN + SUM_LEN || memcmp(data.p, MAGIC, MAGIC_LEN) != 0 ||
        osp_get_le64((const uint8_t *)data.p + data.n - SUM_LEN) !=
            XXH64(data.p, data.n - SUM_LEN, 0))
        return OSP_ECORRUPT;
    osp_pb_reader r = osp_pb_reader_make(data.p + MAGIC_LEN, data.n - MAGIC_LEN - SUM_LEN);
    if (osp_pb_read_varint(&r, &bucket_ns) || osp_pb_read_varint(&r, &nbuckets) ||
        osp_pb_read_varint(&r, &nservices))
        return OSP_ECORRUPT;
    if (bucket_ns != lp->cfg.bucket_ns || nbuckets != lp->cfg.nbuckets)
        return OSP_EINVAL;
    /* A template's text is at most 3 * max_message bytes (every byte masked), so it has
     * at most half as many tokens plus one. */
    osp_str *toks = osp_malloc((3 * lp->cfg.max_message / 2 + 1) * sizeof *toks);
    uint32_t *skip = osp_calloc(nbuckets, sizeof *skip);
    int rc = toks && skip ? 0 : OSP_ENOMEM;
    for (uint64_t i = 0; i < nservices && rc == 0; i++) {
        osp_str name;
        service *s = NULL;
        if (osp_pb_read_lenbytes(&r, &name))
            rc = OSP_ECORRUPT;
        else if ((rc = osp__logpattern_service(lp, name, &s)) == 0 && (!s || s->nclusters))
            rc = OSP_ECORRUPT; /* past max_services, or named twice */
        if (rc == 0 && (get_counts(&r, &s->other, nbuckets) || osp_pb_read_varint(&r, &messages) ||
                        osp_pb_read_varint(&r, &nclusters)))
            rc = OSP_ECORRUPT;
        if (rc == 0)
            s->messages = messages;
        for (uint64_t k = 0; k < nclusters && rc == 0; k++)
            rc = get_cluster(lp, s, &r, toks, skip);
    }
    osp_free(toks);
    osp_free(skip);
    return rc == 0 && r.p != r.end ? OSP_ECORRUPT : rc;
}

/* ---- files ---- */

int osp_logpattern_save(osp_logpattern *lp, const char *path)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    int rc = osp_logpattern_snapshot(lp, &b);
    if (rc == 0 && (rc = osp_write_file_atomic(path, b.data, b.len)) != 0)
        osp_error(MOD, "%s: cannot save the log patterns: %s", path,
                  rc == OSP_EIO ? strerror(errno) : osp_strerror(rc));
    osp_buf_cleanup(&b);
    return rc;
}

int osp_logpattern_open(const osp_logpattern_config *cfg, const char *path, osp_logpattern **out)
{
    osp_buf b;
    osp_logpattern *lp = NULL;
    int rc = osp_logpattern_create(cfg, &lp);
    if (rc)
        return rc;
    osp_buf_init(&b, 0);
    int lrc = osp_read_file(path, &b);
    if (lrc == 0)
        lrc = osp_logpattern_restore(lp, osp_buf_str(&b));
    osp_buf_cleanup(&b);
    if (lrc == OSP_ENOMEM) {
        osp_logpattern_destroy(lp);
        return lrc;
    }
    if (lrc == 0) {
        osp_info(MOD, "%s: %llu log patterns loaded", path,
                 (unsigned long long)atomic_load(&lp->ntemplates));
    } else if (lrc != OSP_ENOTFOUND) {
        char aside[PATH_MAX];
        snprintf(aside, sizeof aside, "%s.bad", path);
        osp_warn(MOD, "%s: log patterns not loaded (%s), set aside as %s; mining starts afresh",
                 path, lrc == OSP_EIO ? strerror(errno) : osp_strerror(lrc), aside);
        (void)rename(path, aside);
        osp_logpattern_destroy(lp);
        if ((rc = osp_logpattern_create(cfg, &lp)) != 0)
            return rc;
    }
    *out = lp;
    return 0;
}

/* ---- saving in the background ---- */

struct osp_logpattern_saver {
    osp_logpattern *lp;
    char *path;
    uint32_t interval_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    uint64_t saved; /* messages counted at the last save */
};

/* Messages counted so far, templates and "other" alike: what changes when anything is
 * mined. */
static uint64_t counted(osp_logpattern *lp)
{
    uint64_t n = 0;
    pthread_rwlock_rdlock(&lp->lock);
    for (size_t i = 0; i < lp->nservices; i++) {
        service *s = lp->list[i];
        pthread_mutex_lock(&s->mu);
        n += s->messages + s->other.total;
        pthread_mutex_unlock(&s->mu);
    }
    pthread_rwlock_unlock(&lp->lock);
    return n;
}

/* Saves when something was mined since the last save. */
static void save_if_changed(osp_logpattern_saver *sv)
{
    uint64_t now = counted(sv->lp);
    if (now != sv->saved && osp_logpattern_save(sv->lp, sv->path) == 0)
        sv->saved = now;
}

static void *saver_main(void *arg)
{
    osp_logpattern_saver *sv = arg;
    pthread_mutex_lock(&sv->mu);
    while (!sv->stop) {
        osp_cond_wait_ms(&sv->cv, &sv->mu, sv->interval_ms);
        if (sv->stop)
            break;
        pthread_mutex_unlock(&sv->mu);
        save_if_changed(sv);
        pthread_mutex_lock(&sv->mu);
    }
    pthread_mutex_unlock(&sv->mu);
    return NULL;
}

int osp_logpattern_saver_start(osp_logpattern *lp, const char *path, uint32_t interval_ms,
                               osp_logpattern_saver **out)
{
    osp_logpattern_saver *sv = osp_calloc(1, sizeof *sv);
    if (!sv || !(sv->path = osp_strndup(path, strlen(path)))) {
        osp_free(sv);
        return OSP_ENOMEM;
    }
    sv->lp = lp;
    sv->interval_ms = interval_ms ? interval_ms : 60000;
    sv->saved = counted(lp);
    pthread_mutex_init(&sv->mu, NULL);
    osp_cond_init_monotonic(&sv->cv);
    if (osp_thread_start(&sv->thread, "osp-patterns", saver_main, sv) != 0) {
        pthread_cond_destroy(&sv->cv);
        pthread_mutex_destroy(&sv->mu);
        osp_free(sv->path);
        osp_free(sv);
        return OSP_ENOMEM;
    }
    *out = sv;
    return 0;
}

void osp_logpattern_saver_stop(osp_logpattern_saver *sv)
{
    if (!sv)
        return;
    pthread_mutex_lock(&sv->mu);
    sv->stop = 1;
    pthread_cond_signal(&sv->cv);
    pthread_mutex_unlock(&sv->mu);
    pthread_join(sv->thread, NULL);
    save_if_changed(sv);
    pthread_cond_destroy(&sv->cv);
    pthread_mutex_destroy(&sv->mu);
    osp_free(sv->path);
    osp_free(sv);
}
