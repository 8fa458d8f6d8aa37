/* Canonical metric rows: metric batches and the exemplars blob.
 *
 * Exemplars blob (protobuf wire format, fields in the order listed, defaults omitted,
 * minimal varints, so equal data gives equal bytes): a sequence of records "tag 0x0A
 * (field 1, LEN), length, message", message = Exemplar in Osprey form:
 *     1  time_unix_nano       fixed64  (tag 0x09)
 *     2  as_double            double   (tag 0x11) when a double value was set
 *     3  as_int               sfixed64 (tag 0x19) when an int value was set
 *     4  trace_id             16 bytes (tag 0x22) when present
 *     5  span_id              8 bytes  (tag 0x2A) when present
 *     6  filtered_attributes  LEN      (tag 0x32) one field holding a whole attrs blob
 *
 * Batches: rows live in arrays that grow by doubling; copied bytes live in the arena. */
#include "model/metric.h"

#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"


void osp_metric_batch_init(osp_metric_batch *b)
{
    memset(b, 0, sizeof *b);
    osp_arena_init(&b->arena, 0, 0);
}

void osp_metric_batch_cleanup(osp_metric_batch *b)
{
    osp_free(b->resources);
    osp_free(b->scopes);
    osp_free(b->metrics);
    osp_free(b->points);
    osp_arena_cleanup(&b->arena);
    osp_metric_batch_init(b);
}

void osp_metric_batch_reset(osp_metric_batch *b)
{
    osp_metric_batch_cleanup(b);
}

osp_resource *osp_metric_batch_add_resource(osp_metric_batch *b)
{
    return osp_array_push((void **)&b->resources, &b->nresources, &b->resources_cap, sizeof *b->resources);
}

osp_scope *osp_metric_batch_add_scope(osp_metric_batch *b)
{
    return osp_array_push((void **)&b->scopes, &b->nscopes, &b->scopes_cap, sizeof *b->scopes);
}

osp_metric *osp_metric_batch_add_metric(osp_metric_batch *b)
{
    return osp_array_push((void **)&b->metrics, &b->nmetrics, &b->metrics_cap, sizeof *b->metrics);
}

osp_metric_point *osp_metric_batch_add_point(osp_metric_batch *b)
{
    return osp_array_push((void **)&b->points, &b->npoints, &b->points_cap, sizeof *b->points);
}

const char *osp_metric_type_name(int32_t type)
{
    switch (type) {
    case OSP_METRIC_GAUGE:
        return "gauge";
    case OSP_METRIC_SUM:
        return "sum";
    case OSP_METRIC_HISTOGRAM:
        return "histogram";
    case OSP_METRIC_EXP_HISTOGRAM:
        return "exponential_histogram";
    case OSP_METRIC_SUMMARY:
        return "summary";
    }
    return "unknown";
}

int osp_exemplars_append(osp_buf *exemplars, const osp_exemplar *ex)
{
    size_t mark;
    int rc = osp_pb_begin(exemplars, 1, &mark);
    if (rc == 0 && ex->time_ns)
        rc = osp_pb_put_fixed64(exemplars, 1, ex->time_ns);
    if (rc == 0 && (ex->has & OSP_EXEMPLAR_VALUE))
        rc = (ex->has & OSP_EXEMPLAR_VALUE_INT)
                 ? osp_pb_put_fixed64(exemplars, 3, (uint64_t)ex->value.i)
                 : osp_pb_put_double(exemplars, 2, ex->value.d);
    if (rc == 0 && (ex->has & OSP_EXEMPLAR_TRACE_ID))
        rc = osp_pb_put_bytes(exemplars, 4, ex->trace_id, sizeof ex->trace_id);
    if (rc == 0 && (ex->has & OSP_EXEMPLAR_SPAN_ID))
        rc = osp_pb_put_bytes(exemplars, 5, ex->span_id, sizeof ex->span_id);
    if (rc == 0 && ex->filtered_attributes.n)
        rc = osp_pb_put_str(exemplars, 6, ex->filtered_attributes);
    return rc ? rc : osp_pb_end(exemplars, mark);
}

int osp_exemplars_next(osp_blob_iter *it, osp_exemplar *ex)
{
    static const enum osp_pb_wire wires[] = {OSP_PB_I64, OSP_PB_I64, OSP_PB_I64,
                                             OSP_PB_LEN, OSP_PB_LEN, OSP_PB_LEN};
    osp_pb_reader r = osp_pb_reader_make(it->p, (size_t)(it->end - it->p));
    osp_pb_field f;
    int rc = osp_pb_next(&r, &f);
    it->p = r.p;
    if (rc <= 0)
        return rc < 0 ? OSP_ECORRUPT : 0;
    if (f.num != 1 || f.wire != OSP_PB_LEN)
        return OSP_ECORRUPT;
    memset(ex, 0, sizeof *ex);
    r = osp_pb_reader_make(f.bytes.n ? f.bytes.p : "", f.bytes.n);
    while ((rc = osp_pb_next(&r, &f)) == 1) {
        if (f.num > 6 || f.wire != wires[f.num - 1])
            return OSP_ECORRUPT;
        switch (f.num) {
        case 1:
            ex->time_ns = f.u64;
            break;
        case 2:
            ex->has |= OSP_EXEMPLAR_VALUE;
            ex->value.d = osp_pb_as_double(f.u64);
            break;
        case 3:
            ex->has |= OSP_EXEMPLAR_VALUE | OSP_EXEMPLAR_VALUE_INT;
            ex->value.i = (int64_t)f.u64;
            break;
        case 4:
            if (f.bytes.n != sizeof ex->trace_id)
                return OSP_ECORRUPT;
            ex->has |= OSP_EXEMPLAR_TRACE_ID;
            memcpy(ex->trace_id, f.bytes.p, sizeof ex->trace_id);
            break;
        case 5:
            if (f.bytes.n != sizeof ex->span_id)
                return OSP_ECORRUPT;
            ex->has |= OSP_EXEMPLAR_SPAN_ID;
            memcpy(ex->span_id, f.bytes.p, sizeof ex->span_id);
            break;
        case 6:
            ex->filtered_attributes = f.bytes;
            break;
        }
    }
    return rc < 0 ? OSP_ECORRUPT : 1;
}

size_t osp_exemplars_count(osp_str exemplars)
{
    osp_blob_iter it;
    osp_exemplar ex;
    size_t n = 0;
    int rc;
    osp_blob_iter_init(&it, exemplars);
    while ((rc = osp_exemplars_next(&it, &ex)) == 1)
        n++;
    return rc < 0 ? 0 : n;
}
