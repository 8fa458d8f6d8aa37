/* libFuzzer target: the exemplar store's log records (src/store/tsdb/README.md,
 * "Exemplars") replayed at open never crash; what the replay keeps fits the ring, reads
 * back in order, and is the same after a reopen (which may have rewritten the log).
 *
 * Input: byte 0 picks the ring's capacity (1 + byte % 16, small so that the ring wraps and
 * the log is rewritten); the rest are the record payloads, separated by FUZZ_RECORD_SEP
 * (fuzz_util.h), written through the real log and replayed by osp_exemplar_store_open. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/pb.h"
#include "fuzz_util.h"
#include "store/tsdb/exemplars.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct view {
    osp_arena arena;
    osp_series_exemplars *r;
    size_t n;
} view;

static void check(int ok)
{
    if (!ok)
        abort();
}

static int labels_equal(const osp_label *a, size_t na, const osp_label *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (!osp_str_eq(a[i].name, b[i].name) || !osp_str_eq(a[i].value, b[i].value))
            return 0;
    return 1;
}

static void look(osp_exemplar_store *st, size_t capacity, view *v)
{
    osp_label_matcher all = {OSP_MATCH_RE, OSP_STR_LIT("__name__"), OSP_STR_LIT(".*")};
    osp_matcher_set set = {&all, 1};
    size_t total = 0;
    osp_arena_init(&v->arena, 0, 0);
    check(osp_exemplar_store_select(st, &set, 1, INT64_MIN, INT64_MAX, &v->arena, &v->r, &v->n) ==
          0);
    for (size_t i = 0; i < v->n; i++) {
        const osp_series_exemplars *r = &v->r[i];
        check(r->nexemplars > 0);
        for (size_t j = 1; j < r->nexemplars; j++)
            check(r->exemplars[j - 1].t_ms < r->exemplars[j].t_ms);
        if (i)
            check(osp_labels_compare(v->r[i - 1].labels, v->r[i - 1].nlabels, r->labels,
                                     r->nlabels) < 0);
        total += r->nexemplars;
    }
    /* Series label slices live as long as the store: keep copies for the comparison. */
    for (size_t i = 0; i < v->n; i++) {
        osp_label *l = osp_arena_calloc(&v->arena, v->r[i].nlabels + 1, sizeof *l);
        check(l != NULL);
        for (size_t k = 0; k < v->r[i].nlabels; k++)
            l[k] = (osp_label){osp_arena_strdup(&v->arena, v->r[i].labels[k].name),
                               osp_arena_strdup(&v->arena, v->r[i].labels[k].value)};
        v->r[i].labels = l;
    }
    check(total <= capacity);
    /* A narrower range and a selecting matcher take the other paths. */
    if (v->n && v->r[0].nlabels) {
        osp_label_matcher eq = {OSP_MATCH_EQ, v->r[0].labels[0].name, v->r[0].labels[0].value};
        osp_matcher_set one = {&eq, 1};
        osp_series_exemplars *r;
        size_t n;
        int64_t t = v->r[0].exemplars[0].t_ms;
        check(osp_exemplar_store_select(st, &one, 1, t, t, &v->arena, &r, &n) == 0 && n >= 1);
    }
}

static void compare(const view *a, const view *b)
{
    check(a->n == b->n);
    for (size_t i = 0; i < a->n; i++) {
        const osp_series_exemplars *x = &a->r[i], *y = &b->r[i];
        check(labels_equal(x->labels, x->nlabels, y->labels, y->nlabels) &&
              x->nexemplars == y->nexemplars);
        for (size_t j = 0; j < x->nexemplars; j++) {
            const osp_prom_exemplar *p = &x->exemplars[j], *q = &y->exemplars[j];
            check(p->t_ms == q->t_ms &&
                  osp_pb_double_bits(p->value) == osp_pb_double_bits(q->value) &&
                  labels_equal(p->labels, p->nlabels, q->labels, q->nlabels));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = fuzz_scratch_dir("exemplar-wal");
    if (size < 1)
        return 0;
    osp_exemplar_store_options opt = {
        .dir = dir, .capacity = 1 + data[0] % 16, .fsync_policy = OSP_FSYNC_NEVER};
    osp_exemplar_store *st;
    view first, second;
    fuzz_clear_dir(dir);
    fuzz_write_records(dir, data + 1, size - 1);

    check(osp_exemplar_store_open(&opt, &st) == 0); /* bad records are skipped, never fatal */
    look(st, opt.capacity, &first);
    osp_exemplar_store_close(st);

    check(osp_exemplar_store_open(&opt, &st) == 0);
    look(st, opt.capacity, &second);
    compare(&first, &second);
    osp_exemplar_store_close(st);
    osp_arena_cleanup(&first.arena);
    osp_arena_cleanup(&second.arena);
    return 0;
}
