/* PromQL function library (promql_int.h calling convention). */
#include <string.h>

#include "query/promql_int.h"

osp_label *osp_promql_drop_name(osp_arena *arena, osp_label *labels, size_t *nlabels)
{
    size_t n = *nlabels;
    for (size_t i = 0; i < n; i++) {
        if (!osp_str_eqz(labels[i].name, OSP_METRIC_NAME_LABEL))
            continue;
        osp_label *out = osp_arena_alloc(arena, (n - 1) * sizeof *out + 1);
        if (!out)
            return NULL;
        memcpy(out, labels, i * sizeof *out);
        memcpy(out + i, labels + i + 1, (n - i - 1) * sizeof *out);
        *nlabels = n - 1;
        return out;
    }
    return labels;
}

osp_promql_fn osp_promql_fn_lookup(osp_str name)
{
    (void)name;
    return NULL;
}
