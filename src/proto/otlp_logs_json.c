/* OTLP/JSON logs: ExportLogsServiceRequest / LogsData JSON into canonical log rows, and
 * log rows back into a LogsData document.
 *
 * Decoding is the trace decoder's walk over resources and scopes (otlp_json_common.c)
 * with a LogRecord decoder under it, so the policies are otlp_json.c's; rows come out
 * byte-identical to otlp_logs_pb.c's (the body AnyValue streams straight into its
 * canonical form). As in protobuf an empty traceId or spanId is valid and means "not
 * correlated". Encoding is the trace encoder's grouping (otlp_json_encode.c) with a
 * LogRecord writer. */
#include "proto/otlp_logs.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "model/attr.h"
#include "proto/otlp_int.h"
#include "proto/otlp_json_int.h"

typedef struct dec {
    osp__ojson_rowdec rd; /* first: the callbacks of osp__ojson_each_object get it */
    osp_log_batch *b;
    osp_buf attrs, body; /* blobs of the record being decoded */
} dec;

/* Records are checked once complete (members come in any order) and added only if valid. */
static int decode_record(osp__ojson *j, void *arg)
{
    dec *d = (dec *)j;
    enum {
        TIME,
        OBSERVED,
        SEVERITY_NUMBER,
        SEVERITY_TEXT,
        BODY,
        ATTRIBUTES,
        DROPPED_ATTRIBUTES,
        FLAGS,
        TRACE_ID,
        SPAN_ID,
        EVENT_NAME,
        N
    };
    static const osp__ojson_name names[N] = {
        [TIME] = {"timeUnixNano", "time_unix_nano"},
        [OBSERVED] = {"observedTimeUnixNano", "observed_time_unix_nano"},
        [SEVERITY_NUMBER] = {"severityNumber", "severity_number"},
        [SEVERITY_TEXT] = {"severityText", "severity_text"},
        [BODY] = {"body", NULL},
        [ATTRIBUTES] = {"attributes", NULL},
        [DROPPED_ATTRIBUTES] = {"droppedAttributesCount", "dropped_attributes_count"},
        [FLAGS] = {"flags", NULL},
        [TRACE_ID] = {"traceId", "trace_id"},
        [SPAN_ID] = {"spanId", "span_id"},
        [EVENT_NAME] = {"eventName", "event_name"},
    };
    const osp__ojson_group *g = arg;
    osp_json_token k;
    osp_log_record lr = {.resource = g->resource, .scope = g->scope};
    osp__ojson_fault f = {""};
    size_t tlen = 0, slen = 0;
    uint32_t seen = 0;
    int rc, m;
    int64_t idx = d->rd.nrow++;
    osp_buf_reset(&d->attrs);
    osp_buf_reset(&d->body);
    while ((rc = osp__ojson_next_key(j, &k)) == 1) {
        if ((rc = osp__ojson_member(j, &k, names, N, &seen, &m)) != 0)
            return rc;
        switch (m) {
        case TIME:
        case OBSERVED:
            rc = osp__ojson_get_uint(j, names[m].json, UINT64_MAX,
                                     m == TIME ? &lr.time_ns : &lr.observed_ns);
            break;
        case SEVERITY_NUMBER:
            rc = osp__ojson_get_enum(j, names[m].json, &lr.severity_number);
            break;
        case SEVERITY_TEXT:
            rc = osp__ojson_get_str(j, names[m].json, &lr.severity_text);
            break;
        case BODY:
            if ((rc = osp__ojson_get_anyvalue(j, &d->body, &f, "body")) == 1)
                lr.has_body = 1;
            break;
        case ATTRIBUTES:
            rc = osp__ojson_get_attrs(j, &d->attrs, &f, "attributes");
            break;
        case DROPPED_ATTRIBUTES:
        case FLAGS:
            rc = osp__ojson_get_u32(j, names[m].json,
                                    m == FLAGS ? &lr.flags : &lr.dropped_attributes);
            break;
        case TRACE_ID:
            rc = osp__ojson_get_id(j, names[m].json, lr.trace_id, sizeof lr.trace_id, &tlen);
            break;
        case SPAN_ID:
            rc = osp__ojson_get_id(j, names[m].json, lr.span_id, sizeof lr.span_id, &slen);
            break;
        case EVENT_NAME:
            rc = osp__ojson_get_str(j, names[m].json, &lr.event_name);
            break;
        default:
            rc = osp__ojson_skip_value(j);
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    osp__ojson_check_id(&f, "traceId", lr.trace_id, sizeof lr.trace_id, tlen,
                        OSP__OJSON_ID_OPTIONAL);
    osp__ojson_check_id(&f, "spanId", lr.span_id, sizeof lr.span_id, slen, OSP__OJSON_ID_OPTIONAL);
    osp_buf *const bufs[] = {&d->attrs, &d->body};
    osp_str *const blobs[] = {&lr.attributes, &lr.body};
    osp_log_record *row;
    if ((rc = osp__ojson_end_row(j, &f, "log record", idx, bufs, blobs, 2)) != 0)
        return rc < 0 ? rc : 0;
    if (!(row = osp_log_batch_add_record(d->b)))
        return OSP_ENOMEM;
    *row = lr;
    return 0;
}

int osp_otlp_logs_decode_json(osp_str body, osp_log_batch *out, osp_decode_report *rep)
{
    size_t cap = osp__ojson_cap(body);
    dec d = {.rd = {.names = {{"resourceLogs", "resource_logs"},
                              {"scopeLogs", "scope_logs"},
                              {"logRecords", "log_records"}},
                    .rows = "log records",
                    .b = osp__otlp_log_rows(out),
                    .decode_row = decode_record},
             .b = out};
    osp__ojson_init(&d.rd.j, body, rep, &out->arena, cap);
    osp_buf_init(&d.attrs, cap);
    osp_buf_init(&d.body, cap);
    int rc = osp__ojson_decode_rows(&d.rd);
    osp__ojson_cleanup(&d.rd.j);
    osp_buf_cleanup(&d.attrs);
    osp_buf_cleanup(&d.body);
    return rc;
}

static void record(osp__ojw *w, const osp_log_record *lr)
{
    osp_value v;
    int n = 0;
    osp__ojw_raw(w, "{");
    osp__ojw_u64_member(w, &n, "timeUnixNano", lr->time_ns);
    osp__ojw_num_member(w, &n, "severityNumber", lr->severity_number);
    osp__ojw_str_member(w, &n, "severityText", lr->severity_text);
    if (lr->has_body) {
        osp__ojw_key(w, &n, "body");
        if (osp_value_decode(lr->body, &v) == 0)
            osp__ojw_anyvalue(w, &v, 1);
        else
            osp__ojw_fail(w, OSP_ECORRUPT);
    }
    osp__ojw_attrs_member(w, &n, "attributes", lr->attributes, 1);
    osp__ojw_num_member(w, &n, "droppedAttributesCount", lr->dropped_attributes);
    osp__ojw_num_member(w, &n, "flags", lr->flags);
    if (!osp__otlp_is_zero(lr->trace_id, sizeof lr->trace_id))
        osp__ojw_hex_member(w, &n, "traceId", lr->trace_id, sizeof lr->trace_id);
    if (!osp__otlp_is_zero(lr->span_id, sizeof lr->span_id))
        osp__ojw_hex_member(w, &n, "spanId", lr->span_id, sizeof lr->span_id);
    osp__ojw_u64_member(w, &n, "observedTimeUnixNano", lr->observed_ns);
    osp__ojw_str_member(w, &n, "eventName", lr->event_name);
    osp__ojw_raw(w, "}");
}

static void record_row(osp__ojw *w, const void *b, size_t i)
{
    record(w, &((const osp_log_batch *)b)->records[i]);
}

int osp_otlp_logs_encode_json(const osp_log_batch *b, osp_buf *out)
{
    static const char *const lists[3] = {"resourceLogs", "scopeLogs", "logRecords"};
    osp__otlp_view v = osp__otlp_log_view(b);
    return osp__ojw_encode_rows(&v, lists, record_row, out);
}
