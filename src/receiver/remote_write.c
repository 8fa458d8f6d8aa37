/* Prometheus remote write 1.0 receiver: POST /api/v1/write on the API listener, as
 * Prometheus serves it. Answers as the protocol asks of a receiver: 204 once the samples
 * are in the write-ahead log; 400 (never retried by senders) for data that can never be
 * stored, naming the first problem, after storing whatever in the request was valid; 413
 * past the size caps; 503 with Retry-After only when retrying can help. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "model/series.h"
#include "proto/remote_write.h"
#include "receiver/receiver.h"
#include "store/tsdb/exemplars.h"
#include "store/tsdb/tsdb.h"

#define WRITE_PATH "/api/v1/write"
#define MAX_DECODED ((size_t)256 << 20) /* decompressed WriteRequest */
#define MAX_LABELS 128                  /* label pairs per series, __name__ included */
#define MAX_NAME_BYTES 1024             /* label name */
#define MAX_VALUE_BYTES (16u << 10)     /* label value */

static const osp_ingest_names names = {
    "osprey_samples_received_total", "Metric samples received by protocol, before validation.",
    "osprey_samples_accepted_total", "Metric samples stored (acknowledged after the WAL write).",
    "osprey_samples_rejected_total", "Metric samples refused: invalid, out of order or not stored.",
};

static void text(osp_http_response *res, int status, const char *msg)
{
    osp_buf_reset(&res->body);
    res->status = status;
    res->content_type = "text/plain; charset=utf-8";
    if (osp_buf_puts(&res->body, msg) || osp_buf_putc(&res->body, '\n'))
        osp_buf_reset(&res->body);
}

/* Why a decoded series is still refused (label limits), or NULL. */
static const char *series_problem(const osp_rw_series *s, char *buf, size_t len)
{
    if (s->nlabels > MAX_LABELS) {
        snprintf(buf, len, "has %zu labels, more than the limit of %d", s->nlabels, MAX_LABELS);
        return buf;
    }
    for (size_t i = 0; i < s->nlabels; i++) {
        if (s->labels[i].name.n > MAX_NAME_BYTES) {
            snprintf(buf, len, "has a label name of %zu bytes, more than the limit of %d",
                     s->labels[i].name.n, MAX_NAME_BYTES);
            return buf;
        }
        if (s->labels[i].value.n > MAX_VALUE_BYTES) {
            snprintf(buf, len, "label %.*s has a value of %zu bytes, more than the limit of %u",
                     (int)(s->labels[i].name.n > 64 ? 64 : s->labels[i].name.n),
                     s->labels[i].name.p, s->labels[i].value.n, MAX_VALUE_BYTES);
            return buf;
        }
    }
    return NULL;
}

/* Counts what the request holds that will not be stored, keeping the first reason. */
typedef struct refusals {
    uint64_t samples;
    char first[320];
} refusals;

static void refuse(refusals *r, uint64_t samples, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refuse(refusals *r, uint64_t samples, const char *fmt, ...)
{
    r->samples += samples;
    if (r->first[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->first, sizeof r->first, fmt, ap);
    va_end(ap);
}

/* The native histogram samples of s in arena, in request order (*out NULL when it has
 * none). 0, 0 with the first histogram's problem in why (the series is to be refused), or
 * OSP_ENOMEM. */
static int series_histograms(const osp_rw_series *s, osp_arena *arena, osp_hsample **out, char *why,
                             size_t len)
{
    *out = NULL;
    why[0] = '\0';
    if (s->nhistograms == 0)
        return 0;
    osp_hsample *hs = osp_arena_alloc(arena, s->nhistograms * sizeof *hs);
    osp_histogram *h = osp_arena_alloc(arena, s->nhistograms * sizeof *h);
    if (!hs || !h)
        return OSP_ENOMEM;
    for (size_t k = 0; k < s->nhistograms; k++) {
        const char *problem;
        int rc = osp_rw_histogram_convert(&s->histograms[k], arena, &h[k], &problem);
        if (rc)
            return rc;
        if (problem) {
            snprintf(why, len, "histogram %zu: %s", k, problem);
            return 0;
        }
        hs[k] = (osp_hsample){s->histograms[k].t_ms, &h[k]};
    }
    *out = hs;
    return 0;
}

/* Builds the batch from the decoded request: valid series by reference (those with only
 * exemplars too, without samples), their native histograms converted into arena, their
 * exemplars, metadata. */
static int build_batch(const osp_rw_request *rw, osp_arena *arena, osp_series_batch *b, refusals *r)
{
    char why[160], name[160];
    for (size_t i = 0; i < rw->nseries; i++) {
        const osp_rw_series *s = &rw->series[i];
        uint64_t nsamples = s->nsamples + s->nhistograms;
        osp_hsample *hs;
        if (nsamples == 0 && s->nexemplars == 0)
            continue;
        const char *problem = series_problem(s, why, sizeof why);
        if (problem) {
            refuse(r, nsamples, "series %zu %s", i, problem);
            continue;
        }
        int rc = series_histograms(s, arena, &hs, why, sizeof why);
        if (rc)
            return rc;
        if (why[0]) {
            osp_labels_format(name, sizeof name, s->labels, s->nlabels);
            refuse(r, nsamples, "series %zu %s: %s", i, name, why);
            continue;
        }
        osp_series *out = osp_series_batch_add(b);
        if (!out)
            return OSP_ENOMEM;
        *out = (osp_series){.labels = s->labels,
                            .nlabels = s->nlabels,
                            .samples = s->samples,
                            .nsamples = s->nsamples,
                            .hsamples = hs,
                            .nhsamples = s->nhistograms,
                            .key = s->key,
                            .ref = s->ref};
        for (size_t k = 0; k < s->nexemplars; k++) {
            const osp_rw_exemplar *e = &s->exemplars[k];
            osp_batch_exemplar *x = osp_series_batch_add_exemplar(b);
            if (!x)
                return OSP_ENOMEM;
            *x = (osp_batch_exemplar){b->nseries - 1, {e->labels, e->nlabels, e->value, e->t_ms}};
        }
    }
    for (size_t i = 0; i < rw->nmetadata; i++) {
        const osp_rw_metadata *m = &rw->metadata[i];
        osp_metric_meta *out;
        if (m->family.n == 0)
            continue;
        if (!(out = osp_series_batch_add_meta(b)))
            return OSP_ENOMEM;
        *out = (osp_metric_meta){m->family, m->type <= OSP_KIND_STATESET ? (int)m->type : 0,
                                 m->help, m->unit};
    }
    return 0;
}

static void known_series(void *store, const osp_series_key *keys, size_t n, uint64_t *refs)
{
    osp_store_known_series(store, keys, n, refs);
}

static void handle_write(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    const osp_receiver_env *env = ctx;
    osp_rw_request rw;
    osp_series_batch batch;
    osp_tsdb_append_report rep = {0};
    osp_exemplar_report xrep = {0};
    refusals ref = {0};
    osp_ingest_counters c;
    char err[320], msg[900];
    osp_ingest_counters_get(&c, &names, "protocol=\"remote_write\"");
    osp_rw_known known = {known_series, env->store};
    int rc =
        osp_remote_write_decode(req->body, MAX_DECODED, req->arena, &known, &rw, err, sizeof err);
    if (rc == OSP_ETOOBIG) {
        snprintf(msg, sizeof msg, "request too large: %s", err);
        text(res, 413, msg);
        return;
    }
    if (rc == OSP_EPARSE) {
        snprintf(msg, sizeof msg, "cannot decode WriteRequest: %s", err);
        text(res, 400, msg);
        return;
    }
    if (rc) {
        text(res, 500, osp_strerror(rc));
        return;
    }
    if (rw.nrejected)
        refuse(&ref, 0, "%s", err);
    osp_series_batch_init(&batch);
    rc = build_batch(&rw, req->arena, &batch, &ref);
    uint64_t samples = osp_series_batch_samples(&batch);
    osp_counter_add(c.received, samples + ref.samples);
    if (rc == 0 && (batch.nseries || batch.nmeta))
        rc = osp_store_append_series(env->store, &batch, &rep);
    size_t nexemplars = batch.nexemplars;
    int xrc = rc == 0 && nexemplars ? osp_store_append_exemplars(env->store, &batch, &xrep) : 0;
    osp_series_batch_cleanup(&batch);
    if (rc == OSP_EBUSY) {
        osp_counter_add(c.rejected, samples + ref.samples);
        osp_http_response_header(res, "retry-after", OSP_STR_LIT("1"));
        text(res, 503, "write path is behind, retry later");
        return;
    }
    if (rc) {
        osp_counter_add(c.rejected, samples + ref.samples);
        osp_error("remote-write", "storing %llu samples failed: %s", (unsigned long long)samples,
                  osp_strerror(rc));
        osp_http_response_header(res, "retry-after", OSP_STR_LIT("1"));
        text(res, rc == OSP_ENOMEM ? 503 : 500, "storage write failed, retry later");
        return;
    }
    uint64_t stored_refused = samples - rep.accepted;
    osp_counter_add(c.accepted, rep.accepted);
    osp_counter_add(c.rejected, ref.samples + stored_refused);
    if (xrc && xrc != OSP_EUNSUPPORTED) {
        osp_error("remote-write", "storing %zu exemplars failed: %s", nexemplars,
                  osp_strerror(xrc));
        osp_http_response_header(res, "retry-after", OSP_STR_LIT("1"));
        text(res, xrc == OSP_ENOMEM ? 503 : 500, "storage write failed, retry later");
        return;
    }
    if (!ref.first[0] && !stored_refused && !rw.nrejected && !xrep.error[0]) {
        res->status = 204;
        return;
    }
    snprintf(msg, sizeof msg, "%s%s%s%s%s", ref.first, ref.first[0] && rep.error[0] ? "; " : "",
             rep.error, (ref.first[0] || rep.error[0]) && xrep.error[0] ? "; " : "", xrep.error);
    text(res, 400, msg);
}

static size_t remote_write_routes(enum osp_listener listener, const osp_receiver_env *env,
                                  osp_route *out, size_t max)
{
    if (listener != OSP_LISTENER_API || max < 1)
        return 0;
    out[0] = (osp_route){.method = "POST",
                         .path = WRITE_PATH,
                         .handler = handle_write,
                         .ctx = (void *)env,
                         .snappy_body = 1};
    return 1;
}

const osp_receiver osp_remote_write_receiver = {"remote-write", remote_write_routes};
