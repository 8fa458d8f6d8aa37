/* OTLP protobuf encoding of log records: one ExportLogsServiceRequest per batch, with a
 * ScopeLogs per logger (field numbers: logs.proto v1.11.0). */
#include <string.h>

#include "core/mem.h"
#include "core/pb.h"
#include "logs_int.h"

/* ExportLogsServiceRequest / ResourceLogs / ScopeLogs / InstrumentationScope. */
enum { REQ_RESOURCE_LOGS = 1 };
enum { RL_RESOURCE = 1, RL_SCOPE_LOGS = 2 };
enum { RES_ATTRIBUTES = 1 };
enum { SL_SCOPE = 1, SL_LOG_RECORDS = 2 };
enum { SCOPE_NAME = 1 };
enum { ANY_STRING = 1 };

/* LogRecord (field 4 is reserved). */
enum {
    LR_TIME = 1,
    LR_SEVERITY_NUMBER = 2,
    LR_SEVERITY_TEXT = 3,
    LR_BODY = 5,
    LR_ATTRIBUTES = 6,
    LR_DROPPED_ATTRIBUTES = 7,
    LR_FLAGS = 8,
    LR_TRACE_ID = 9,
    LR_SPAN_ID = 10,
    LR_OBSERVED_TIME = 11,
    LR_EVENT_NAME = 12,
};

static bool all_zero(const uint8_t *p, size_t n)
{
    static const uint8_t zero[16];
    return memcmp(p, zero, n) == 0;
}

/* Appends the body AnyValue{string_value}. */
static int put_body(osp_buf *b, const char *body)
{
    size_t mark;
    int rc = osp_pb_begin(b, LR_BODY, &mark);
    rc = rc ? rc : osp_pb_put_str(b, ANY_STRING, osp_str_c(body));
    return rc ? rc : osp_pb_end(b, mark);
}

/* Appends the trace correlation fields when r has ids. */
static int put_ids(osp_buf *b, const osprey__log_record *r)
{
    if (all_zero(r->trace_id, sizeof r->trace_id))
        return 0;
    int rc = osp_pb_put_fixed32(b, LR_FLAGS, r->flags);
    rc = rc ? rc : osp_pb_put_bytes(b, LR_TRACE_ID, r->trace_id, sizeof r->trace_id);
    return rc ? rc : osp_pb_put_bytes(b, LR_SPAN_ID, r->span_id, sizeof r->span_id);
}

/* Appends one LogRecord as field num (proto3 defaults skipped). */
static int put_record(osp_buf *b, uint32_t num, const osprey__log_record *r)
{
    size_t mark;
    int rc = osp_pb_begin(b, num, &mark);
    rc = rc ? rc : osp_pb_put_fixed64(b, LR_TIME, r->time_ns);
    rc = rc ? rc : osp_pb_put_uint(b, LR_SEVERITY_NUMBER, (uint64_t)r->severity);
    rc = rc ? rc
            : osp_pb_put_str(b, LR_SEVERITY_TEXT, osp_str_c(osprey__severity_text(r->severity)));
    if (!rc && r->body)
        rc = put_body(b, r->body);
    rc = rc ? rc : osprey__attrs_put_pb(b, LR_ATTRIBUTES, &r->attrs);
    if (!rc && r->attrs.dropped)
        rc = osp_pb_put_uint(b, LR_DROPPED_ATTRIBUTES, r->attrs.dropped);
    rc = rc ? rc : put_ids(b, r);
    rc = rc ? rc : osp_pb_put_fixed64(b, LR_OBSERVED_TIME, r->observed_ns);
    if (!rc && r->event_name)
        rc = osp_pb_put_str(b, LR_EVENT_NAME, osp_str_c(r->event_name));
    return rc ? rc : osp_pb_end(b, mark);
}

/* Appends the ScopeLogs of recs[first]'s logger: every record from first on with that
 * logger, each marked in done. */
static int put_scope(osp_buf *b, osprey__log_record *const *recs, size_t n, size_t first,
                     bool *done)
{
    const osprey_logger *l = recs[first]->logger;
    size_t sl, scope;
    int rc = osp_pb_begin(b, RL_SCOPE_LOGS, &sl);
    rc = rc ? rc : osp_pb_begin(b, SL_SCOPE, &scope);
    rc = rc ? rc : osp_pb_put_str(b, SCOPE_NAME, osp_str_c(l->name));
    rc = rc ? rc : osp_pb_end(b, scope);
    for (size_t i = first; i < n && !rc; i++) {
        if (done[i] || recs[i]->logger != l)
            continue;
        done[i] = true;
        rc = put_record(b, SL_LOG_RECORDS, recs[i]);
    }
    return rc ? rc : osp_pb_end(b, sl);
}

/* Appends the ResourceLogs of recs[0..n). */
static int put_resource_logs(osp_buf *b, const osprey__attrs *resource,
                             osprey__log_record *const *recs, size_t n, bool *done)
{
    size_t rl, res;
    int rc = osp_pb_begin(b, REQ_RESOURCE_LOGS, &rl);
    rc = rc ? rc : osp_pb_begin(b, RL_RESOURCE, &res);
    rc = rc ? rc : osprey__attrs_put_pb(b, RES_ATTRIBUTES, resource);
    rc = rc ? rc : osp_pb_end(b, res);
    for (size_t i = 0; i < n && !rc; i++)
        if (!done[i])
            rc = put_scope(b, recs, n, i, done);
    return rc ? rc : osp_pb_end(b, rl);
}

int osprey__encode_logs(osp_buf *out, const osprey__attrs *resource,
                        osprey__log_record *const *recs, size_t n)
{
    size_t start = out->len;
    int rc = 0;
    bool *done = osp_calloc(n ? n : 1, sizeof *done);
    if (!done) {
        rc = OSPREY_ENOMEM;
        goto out;
    }
    if (put_resource_logs(out, resource, recs, n, done) != 0) {
        rc = OSPREY_ENOMEM;
        out->len = start;
    }
out:
    osp_free(done);
    return rc;
}
