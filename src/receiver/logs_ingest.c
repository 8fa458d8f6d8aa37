/* The last step of the log receivers (receiver/logs_ingest.h). */
#include "receiver/logs_ingest.h"

#include <stdio.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "model/logstream.h"

const osp_ingest_names osp_log_ingest_names = {
    "osprey_log_records_received_total", "Log records received by protocol, before validation.",
    "osprey_log_records_accepted_total", "Log records stored (acknowledged after the WAL write).",
    "osprey_log_records_rejected_total", "Log records refused: invalid, too large or not stored.",
};

static void refuse(osp_log_refusals *ref, size_t i, const char *why)
{
    if (ref->rejected++ == 0)
        snprintf(ref->message, sizeof ref->message, "log record %zu: %s", i, why);
}

/* Keeps the records within the limits, in order. */
static void hold_to_limits(osp_log_batch *b, osp_log_refusals *ref)
{
    osp_buf scratch;
    osp_buf_init(&scratch, OSP_LOG_MAX_LINE + 1);
    uint64_t now = osp_clock_ns(CLOCK_REALTIME);
    size_t kept = 0;
    for (size_t i = 0; i < b->nrecords; i++) {
        osp_log_record *r = &b->records[i];
        osp_str line;
        int rc = osp_log_line(r, &scratch, &line);
        if (rc == OSP_ETOOBIG || (rc == 0 && line.n > OSP_LOG_MAX_LINE)) {
            char why[128];
            snprintf(why, sizeof why, "line exceeds the limit of %zu bytes", OSP_LOG_MAX_LINE);
            refuse(ref, i, why);
            continue;
        }
        if (rc) {
            refuse(ref, i, "body cannot be rendered as a line");
            continue;
        }
        if (!r->time_ns && !r->observed_ns)
            r->observed_ns = now;
        b->records[kept++] = *r;
    }
    b->nrecords = kept;
    osp_buf_cleanup(&scratch);
}

/* The service a resource's records are mined under: its stream's service_name. */
static osp_str service_of(const osp_log_batch *b, const osp_log_record *r, osp_arena *arena)
{
    osp_label *labels;
    size_t n;
    if (osp_log_stream_labels(&b->resources[r->resource], r->labels_from, arena, &labels, &n))
        return osp_str_c(OSP_LOG_UNKNOWN_SERVICE);
    for (size_t i = 0; i < n; i++)
        if (osp_str_eqz(labels[i].name, "service_name"))
            return labels[i].value;
    return osp_str_c(OSP_LOG_UNKNOWN_SERVICE);
}

static void mine(osp_logpattern *lp, const osp_log_batch *b)
{
    osp_arena arena;
    osp_buf scratch;
    osp_arena_init(&arena, 0, 0);
    osp_buf_init(&scratch, 0);
    osp_str service = {0};
    for (size_t i = 0; i < b->nrecords; i++) {
        const osp_log_record *r = &b->records[i];
        const osp_log_record *prev = i ? &b->records[i - 1] : NULL;
        if (!prev || prev->resource != r->resource || prev->labels_from != r->labels_from)
            service = service_of(b, r, &arena);
        osp_str line;
        if (osp_log_line(r, &scratch, &line) == 0)
            osp_logpattern_add(lp, service, line, osp_log_time(r), NULL);
    }
    osp_buf_cleanup(&scratch);
    osp_arena_cleanup(&arena);
}

int osp_logs_ingest(const osp_receiver_env *env, osp_log_batch *b, osp_log_refusals *ref)
{
    hold_to_limits(b, ref);
    if (b->nrecords == 0)
        return 0;
    int rc = osp_store_append_logs(env->store, b);
    if (rc == 0 && env->patterns)
        mine(env->patterns, b);
    return rc;
}
