/* OTLP response bodies: Export*ServiceResponse and google.rpc.Status, protobuf and JSON. */
#include "proto/otlp.h"

#include <inttypes.h>

#include "core/pb.h"

int osp_otlp_response_pb(int64_t rejected, osp_str message, osp_buf *out)
{
    size_t mark;
    int rc = 0;
    if (rejected == 0 && message.n == 0)
        return 0;                     /* full success: the empty message */
    rc = osp_pb_begin(out, 1, &mark); /* partial_success */
    if (rc == 0 && rejected)
        rc = osp_pb_put_uint(out, 1, (uint64_t)rejected);
    if (rc == 0 && message.n)
        rc = osp_pb_put_str(out, 2, message);
    return rc ? rc : osp_pb_end(out, mark);
}

int osp_otlp_response_json(enum osp_otlp_signal signal, int64_t rejected, osp_str message,
                           osp_buf *out)
{
    static const char *const fields[] = {"rejectedSpans", "rejectedDataPoints",
                                         "rejectedLogRecords"};
    int rc;
    if (rejected == 0 && message.n == 0)
        return osp_buf_puts(out, "{}");
    rc = osp_buf_puts(out, "{\"partialSuccess\":{");
    if (rc == 0 && rejected)
        rc = osp_buf_printf(out, "\"%s\":\"%" PRId64 "\"%s", fields[signal], rejected,
                            message.n ? "," : "");
    if (rc == 0 && message.n) {
        rc = osp_buf_puts(out, "\"errorMessage\":");
        if (rc == 0)
            rc = osp_buf_json_str(out, message.p, message.n);
    }
    return rc ? rc : osp_buf_puts(out, "}}");
}

int osp_rpc_status_pb(int32_t code, osp_str message, osp_buf *out)
{
    int rc = 0;
    if (code)
        rc = osp_pb_put_uint(out, 1, (uint64_t)(int64_t)code);
    if (rc == 0 && message.n)
        rc = osp_pb_put_str(out, 2, message);
    return rc;
}

int osp_rpc_status_json(int32_t code, osp_str message, osp_buf *out)
{
    int rc = osp_buf_printf(out, "{\"code\":%" PRId32 ",\"message\":", code);
    if (rc == 0)
        rc = osp_buf_json_str(out, message.p, message.n);
    return rc ? rc : osp_buf_putc(out, '}');
}
