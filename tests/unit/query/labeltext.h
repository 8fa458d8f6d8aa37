/* Label sets written as text in the query engines' unit tests. */
#ifndef OSP_TEST_LABELTEXT_H
#define OSP_TEST_LABELTEXT_H

#include <string.h>

#include "core/arena.h"
#include "model/labels.h"
#include "model/series.h"

/* The labels of "a=b,c=d" ("" and NULL give none), copied into arena and sorted by name. */
static inline osp_label *test_labels(osp_arena *arena, const char *text, size_t *n)
{
    size_t cap = 1;
    for (const char *c = text; c && *c; c++)
        cap += *c == ',';
    osp_label *l = osp_arena_alloc(arena, cap * sizeof *l);
    assert_non_null(l);
    *n = 0;
    for (const char *p = text; p && *p;) {
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        assert_non_null(eq);
        if (!end)
            end = p + strlen(p);
        l[*n].name = osp_arena_strdup(arena, osp_str_make(p, (size_t)(eq - p)));
        l[*n].value = osp_arena_strdup(arena, osp_str_make(eq + 1, (size_t)(end - eq - 1)));
        (*n)++;
        p = *end ? end + 1 : end;
    }
    osp_labels_sort(l, *n);
    return l;
}

#endif
