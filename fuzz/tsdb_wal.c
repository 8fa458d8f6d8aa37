/* libFuzzer target: the time-series engine's write-ahead-log records (definitions, metadata,
 * float and histogram sample groups, session records; src/store/tsdb/README.md) replayed at
 * open never crash, and what the replay keeps reads back the same after a flush to a block
 * and a reopen.
 *
 * Input: the payloads of the records, separated by FUZZ_RECORD_SEP (fuzz_util.h); they are
 * written through the real log (valid framing and checksums) into DIR/wal, then
 * osp_tsdb_open replays them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/pb.h"
#include "fuzz_util.h"
#include "model/histogram.h"
#include "store/tsdb/tsdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a reader sees: every series with its samples, and the metadata. */
typedef struct view {
    osp_arena arena;
    osp_series *s;
    size_t ns;
    osp_metric_meta *m;
    size_t nm;
} view;

static void check(int ok)
{
    if (!ok)
        abort();
}

static void look(osp_tsdb *db, view *v)
{
    osp_label_matcher all = {OSP_MATCH_RE, OSP_STR_LIT("__name__"), OSP_STR_LIT(".*")};
    osp_str *names, *values;
    size_t nnames, nvalues;
    osp_tsdb_stats st;
    osp_arena_init(&v->arena, 0, 0);
    check(osp_tsdb_select(db, &all, 1, INT64_MIN, INT64_MAX, &v->arena, &v->s, &v->ns) == 0);
    check(osp_tsdb_metadata(db, OSP_STR_LIT(""), &v->arena, &v->m, &v->nm) == 0);
    for (size_t i = 0; i < v->ns; i++) {
        const osp_series *s = &v->s[i];
        check(s->nsamples + s->nhsamples > 0);
        for (size_t j = 1; j < s->nsamples; j++)
            check(s->samples[j - 1].t_ms < s->samples[j].t_ms);
        for (size_t j = 0, k = 0; j < s->nhsamples; j++) {
            check(osp_hist_check(s->hsamples[j].h) == NULL);
            check(j == 0 || s->hsamples[j - 1].t_ms < s->hsamples[j].t_ms);
            while (k < s->nsamples && s->samples[k].t_ms < s->hsamples[j].t_ms)
                k++;
            check(k == s->nsamples || s->samples[k].t_ms != s->hsamples[j].t_ms); /* one kind */
        }
        if (i)
            check(osp_labels_compare(v->s[i - 1].labels, v->s[i - 1].nlabels, s->labels,
                                     s->nlabels) < 0);
    }
    for (size_t i = 1; i < v->nm; i++)
        check(osp_str_cmp(v->m[i - 1].family, v->m[i].family) < 0);
    /* The other read paths, on a narrower range too. */
    check(osp_tsdb_label_names(db, NULL, 0, INT64_MIN, INT64_MAX, &v->arena, &names, &nnames) == 0);
    for (size_t i = 0; i < nnames && i < 8; i++)
        check(osp_tsdb_label_values(db, names[i], &all, 1, -1000, 1000, &v->arena, &values,
                                    &nvalues) == 0);
    osp_series *s;
    size_t ns;
    check(osp_tsdb_series(db, &all, 1, 0, INT64_MAX, &v->arena, &s, &ns) == 0 && ns <= v->ns);
    osp_tsdb_get_stats(db, &st);
    check(st.series >= v->ns);
}

static int same_series(const osp_series *a, const osp_series *b)
{
    if (osp_labels_compare(a->labels, a->nlabels, b->labels, b->nlabels) != 0 ||
        a->nsamples != b->nsamples || a->nhsamples != b->nhsamples)
        return 0;
    for (size_t j = 0; j < a->nhsamples; j++)
        if (a->hsamples[j].t_ms != b->hsamples[j].t_ms ||
            !osp_hist_equal(a->hsamples[j].h, b->hsamples[j].h))
            return 0;
    for (size_t j = 0; j < a->nsamples; j++)
        if (a->samples[j].t_ms != b->samples[j].t_ms ||
            osp_pb_double_bits(a->samples[j].v) != osp_pb_double_bits(b->samples[j].v))
            return 0;
    return 1;
}

static void compare(const view *a, const view *b)
{
    check(a->ns == b->ns && a->nm == b->nm);
    for (size_t i = 0; i < a->ns; i++)
        check(same_series(&a->s[i], &b->s[i]));
    for (size_t i = 0; i < a->nm; i++)
        check(osp_str_eq(a->m[i].family, b->m[i].family) && a->m[i].kind == b->m[i].kind &&
              osp_str_eq(a->m[i].help, b->m[i].help) && osp_str_eq(a->m[i].unit, b->m[i].unit));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char waldir[4200];
    const char *dir = fuzz_scratch_dir("tsdb-wal");
    osp_tsdb_options opt = {.dir = dir, .fsync_policy = OSP_FSYNC_NEVER};
    osp_tsdb *db;
    view first, second;
    fuzz_clear_dir(dir);
    snprintf(waldir, sizeof waldir, "%s/wal", dir);
    fuzz_write_records(waldir, data, size);

    check(osp_tsdb_open(&opt, &db) == 0); /* corrupt records are skipped, never fatal */
    look(db, &first);
    osp_tsdb_close(db); /* writes the head out as a block, truncates the log */

    check(osp_tsdb_open(&opt, &db) == 0);
    look(db, &second);
    compare(&first, &second);
    osp_tsdb_close(db);
    osp_arena_cleanup(&first.arena);
    osp_arena_cleanup(&second.arena);
    return 0;
}
