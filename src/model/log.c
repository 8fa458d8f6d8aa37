/* Log batches (model/log.h). */
#include "model/log.h"

#include <string.h>

#include "core/mem.h"

void osp_log_batch_init(osp_log_batch *b)
{
    memset(b, 0, sizeof *b);
    osp_arena_init(&b->arena, 0, 0);
}

void osp_log_batch_cleanup(osp_log_batch *b)
{
    osp_free(b->resources);
    osp_free(b->scopes);
    osp_free(b->records);
    osp_arena_cleanup(&b->arena);
    osp_log_batch_init(b);
}

osp_resource *osp_log_batch_add_resource(osp_log_batch *b)
{
    return osp_array_push((void **)&b->resources, &b->nresources, &b->resources_cap,
                          sizeof *b->resources);
}

osp_scope *osp_log_batch_add_scope(osp_log_batch *b)
{
    return osp_array_push((void **)&b->scopes, &b->nscopes, &b->scopes_cap, sizeof *b->scopes);
}

osp_log_record *osp_log_batch_add_record(osp_log_batch *b)
{
    return osp_array_push((void **)&b->records, &b->nrecords, &b->records_cap, sizeof *b->records);
}

int osp_log_batch_reserve_records(osp_log_batch *b, size_t n)
{
    return osp_array_reserve((void **)&b->records, b->nrecords, &b->records_cap, n,
                             sizeof *b->records);
}

int osp_log_record_equal(const osp_log_batch *a, size_t ia, const osp_log_batch *b, size_t ib)
{
    const osp_log_record *x = &a->records[ia], *y = &b->records[ib];
    return x->time_ns == y->time_ns && x->observed_ns == y->observed_ns &&
           !memcmp(x->trace_id, y->trace_id, sizeof x->trace_id) &&
           !memcmp(x->span_id, y->span_id, sizeof x->span_id) &&
           x->severity_number == y->severity_number && x->flags == y->flags &&
           x->dropped_attributes == y->dropped_attributes && x->has_body == y->has_body &&
           x->labels_from == y->labels_from && osp_str_eq(x->body, y->body) &&
           osp_str_eq(x->severity_text, y->severity_text) &&
           osp_str_eq(x->event_name, y->event_name) && osp_str_eq(x->attributes, y->attributes) &&
           osp_resource_equal(&a->resources[x->resource], &b->resources[y->resource]) &&
           osp_scope_equal(&a->scopes[x->scope], &b->scopes[y->scope]);
}
