/* Trace-search predicates over canonical span rows (see match.h). */
#include "store/embedded/match.h"

#include "core/buf.h"
#include "model/attr.h"

/* 1 when v's text equals want. Strings compare in place; other kinds are rendered into
 * tmp, capped one byte past want so a longer text stops early and cannot match. */
static int value_text_eq(const osp_value *v, osp_str want, osp_buf *tmp)
{
    if (v->type == OSP_VAL_STRING)
        return osp_str_eq(v->s, want);
    osp_buf_reset(tmp);
    tmp->max = want.n + 1;
    return osp_value_to_text(v, tmp) == 0 && osp_str_eq(osp_buf_str(tmp), want);
}

/* 1 when some attribute of the blob named f->key has the text f->value; a corrupt blob
 * matches nothing past the corruption. */
static int attrs_have(osp_str attrs, const osp_attr_filter *f, osp_buf *tmp)
{
    osp_attr_iter it;
    osp_str key;
    osp_value v;
    osp_attr_iter_init(&it, attrs);
    while (osp_attr_next(&it, &key, &v) == 1)
        if (osp_str_eq(key, f->key) && value_text_eq(&v, f->value, tmp))
            return 1;
    return 0;
}

static int attrs_match(const osp_trace_query *q, const osp_span *s, const osp_resource *res)
{
    osp_buf tmp;
    int ok = 1;
    osp_buf_init(&tmp, 1);
    for (size_t i = 0; i < q->nattrs && ok; i++)
        ok = attrs_have(s->attributes, &q->attrs[i], &tmp) ||
             attrs_have(res->attributes, &q->attrs[i], &tmp);
    osp_buf_cleanup(&tmp);
    return ok;
}

int osp_span_matches(const osp_trace_query *q, const osp_span_batch *b, size_t i)
{
    const osp_span *s = &b->spans[i];
    const osp_resource *res = &b->resources[s->resource];
    uint64_t dur = s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
    if (q->service.n && !osp_str_eq(q->service, res->service_name))
        return 0;
    if (q->operation.n && !osp_str_eq(q->operation, s->name))
        return 0;
    if ((q->min_duration_ns && dur < q->min_duration_ns) ||
        (q->max_duration_ns && dur > q->max_duration_ns))
        return 0;
    if ((q->start_ns && s->start_ns < q->start_ns) || (q->end_ns && s->start_ns > q->end_ns))
        return 0;
    if (q->status >= 0 && s->status_code != q->status)
        return 0;
    return q->nattrs == 0 || attrs_match(q, s, res);
}
